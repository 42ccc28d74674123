//! The ladder view: a TCP conversation as a sequence diagram.
//!
//! ```text
//! TCP stream 0: 10.0.0.1:52000 ⇄ 10.0.0.2:80
//! frame   time (s)  10.0.0.1:52000                                   10.0.0.2:80
//!                   CLOSED                                                LISTEN
//!     2   0.001200  │── SYN  seq=0 win=64240 ──────────────────────────────────▶│
//!                   SYN-SENT
//!     3   0.011200  │◀────────────────────── SYN, ACK  seq=0 ack=1 win=65160 ──│
//!                   ESTABLISHED                                     SYN-RECEIVED
//! ```
//!
//! Each end of the connection is a vertical line, and each segment an arrow from the end
//! that sent it to the other, labelled with its flags, its sequence and acknowledgment
//! numbers (relative to each side's initial sequence number, as the stream analysis works
//! them out), the window it advertised and the bytes it carried. Time runs down the page.
//! Under the arrows, each end's socket state as the segments imply it (RFC 9293's state
//! names, the ones `ss` and `netstat` print). Data segments show the start of their bytes.
//!
//! Everything reads without colour; colour only helps (each direction its own colour, SYN,
//! FIN and RST highlighted, problems in red). Packets that are not TCP are counted in one
//! short line rather than drawn.

use std::collections::BTreeSet;
use std::collections::HashMap;
use std::fmt::Write;

use colored::Colorize;

use super::Options;
use std::net::IpAddr;

use crate::dissect::model::{Dissection, Proto, Timestamp};
use crate::dissect::tcp::{Flags, Seq, WindowScale};
use crate::stream::state::Machines;

/// Characters taken by the frame and time columns: `{:>5} {:>10}  `.
const PREFIX: usize = 18;

/// One TCP conversation's lanes.
struct Lane {
    /// `address:port` of the left end (the one that sent first) and the right end.
    left: String,
    right: String,
    stream: Option<u32>,
    machines: Machines,
}

/// The ladder's memory between packets.
#[derive(Default)]
pub struct Ladder {
    lanes: HashMap<(String, String), Lane>,
    /// The lane whose heading was printed last.
    current: Option<(String, String)>,
    first: Option<Timestamp>,
    /// Packets not drawn since the last arrow, and their protocols.
    skipped: u64,
    skipped_protos: BTreeSet<&'static str>,
}

/// What both ladders (this one and the SVG one, [`super::export::ladder_svg`]) draw of one
/// TCP segment, read from its typed view and the stream analysis' numbers.
pub(crate) struct Seg {
    /// `address:port` of the sender and of the receiver.
    pub src: String,
    pub dst: String,
    /// `tcp.stream`, once the tracker numbered the connection.
    pub stream: Option<u32>,
    pub flags: Flags,
    /// Sequence and acknowledgment numbers, relative when `relative`.
    pub seq: u32,
    pub ack: u32,
    /// The same, as written on the wire.
    pub seq_raw: u32,
    pub ack_raw: u32,
    pub relative: bool,
    /// The window in bytes (scaled where the scale is known).
    pub win: u32,
    /// The connection's SYNs were not captured: `win` is the field as written.
    pub scale_unknown: bool,
    /// The data length, where known (not in the first piece of a fragmented packet).
    pub len: Option<u32>,
    /// The data bytes in the frame.
    pub payload: std::ops::Range<usize>,
    /// What the analysis noticed, in words.
    pub marks: Vec<&'static str>,
}

impl Seg {
    /// `seq=1 ack=1 win=64512 len=0`: the numbers as the label shows them (`absolute` adds
    /// the numbers as written, in brackets).
    pub fn numbers(&self, absolute: bool) -> String {
        let show = |rel: u32, raw: u32| match (absolute, self.relative) {
            (true, true) => format!("{rel} [{raw}]"),
            (true, false) => format!("{raw}"),
            _ => format!("{rel}"),
        };
        let mut s = format!("seq={}", show(self.seq, self.seq_raw));
        if self.flags.ack() {
            let _ = write!(s, " ack={}", show(self.ack, self.ack_raw));
        }
        let _ = write!(s, " win={}", self.win);
        if self.scale_unknown {
            s.push_str("×?");
        }
        // (A SYN without data needs no `len=0`.)
        if let Some(len) = self.len.filter(|&l| l > 0 || !self.flags.syn()) {
            let _ = write!(s, " len={len}");
        }
        s
    }
}

/// `address:port`, IPv6 addresses in brackets.
fn join(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// The frame's own TCP segment (not one an ICMP error quotes), as the ladders draw it.
pub(crate) fn segment(d: &Dissection) -> Option<Seg> {
    let t = d.tcp_segment()?;
    let (src, dst) = match d.ip_around(t.layer as usize) {
        Some(ip) => (join(ip.src, t.src_port), join(ip.dst, t.dst_port)),
        None => (format!("?:{}", t.src_port), format!("?:{}", t.dst_port)),
    };
    let a = t.analysis;
    let relative = a.is_some_and(|a| a.relative);
    let (seq, ack) = match a {
        Some(a) if relative => (a.seq, a.ack),
        _ => (t.seq.0, t.ack_raw.0),
    };
    Some(Seg {
        src,
        dst,
        stream: a.map(|a| a.stream),
        flags: t.flags,
        seq,
        ack,
        seq_raw: t.seq.0,
        ack_raw: t.ack_raw.0,
        relative,
        win: t.shown_window(),
        scale_unknown: a.is_some_and(|a| a.scale == WindowScale::Unknown),
        len: t.len,
        payload: t.payload_range(d.data.len()),
        marks: a.map(|a| a.marks().collect()).unwrap_or_default(),
    })
}

/// The flags in words, in Wireshark's order: `SYN, ACK`, `PSH, ACK`, `FIN, ACK`.
pub(crate) fn flag_words(flags: Flags) -> String {
    if flags.is_empty() {
        "no flags".into()
    } else {
        flags.words()
    }
}

/// The first bytes of a payload, as text with everything unprintable escaped (by
/// [`crate::escape`]), cut to `max` characters.
pub(crate) fn preview(bytes: &[u8], max: usize) -> String {
    let mut s = String::from("\"");
    let mut piece = String::new();
    for &b in bytes {
        piece.clear();
        crate::escape::push_byte(&mut piece, b, crate::escape::Style::Quoted);
        if s.chars().count() + piece.len() + 1 > max {
            s.push('…');
            return s;
        }
        s.push_str(&piece);
    }
    s.push('"');
    s
}

fn pad_to(s: &mut String, width: usize) {
    let n = s.chars().count();
    if n < width {
        s.extend(std::iter::repeat_n(' ', width - n));
    }
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else if max == 0 {
        String::new()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

impl Ladder {
    pub fn new() -> Ladder {
        Ladder::default()
    }

    /// Draw one packet (or count it, if it is not TCP).
    pub fn packet(&mut self, d: &Dissection, opts: &Options, out: &mut String) {
        if self.first.is_none() {
            self.first = d.capture_start.or(d.ts);
        }
        let Some(seg) = segment(d) else {
            self.skipped += 1;
            let top = d
                .layers
                .iter()
                .rev()
                .find(|l| l.proto != Proto::Data && l.proto != Proto::Frame)
                .map_or("frame", |l| l.proto.short());
            self.skipped_protos.insert(top);
            return;
        };
        self.flush_skipped(opts, out);
        let width = opts.width.max(60);
        let lane_w = width - PREFIX;
        let inner = lane_w - 2;

        let key = if seg.src <= seg.dst {
            (seg.src.clone(), seg.dst.clone())
        } else {
            (seg.dst.clone(), seg.src.clone())
        };
        let new_lane = !self.lanes.contains_key(&key);
        let lane = self.lanes.entry(key.clone()).or_insert_with(|| Lane {
            left: seg.src.clone(),
            right: seg.dst.clone(),
            stream: seg.stream,
            machines: Machines::new(seg.flags),
        });
        if new_lane || self.current.as_ref() != Some(&key) {
            self.current = Some(key.clone());
            heading(lane, new_lane, opts, lane_w, out);
        }
        let to_right = seg.src == lane.left;
        let from = usize::from(!to_right);

        // The label: flags, numbers, window, length, and what the analysis noticed.
        let numbers = seg.numbers(opts.absolute);
        let flags = flag_words(seg.flags);
        let marks = if seg.marks.is_empty() {
            String::new()
        } else {
            format!(" [{}]", seg.marks.join(", "))
        };
        let room = inner.saturating_sub(6);
        let (f_txt, n_txt, m_txt) = split_label(&flags, &numbers, &marks, room);
        let label_len = f_txt.chars().count() + n_txt.chars().count() + m_txt.chars().count();
        let label = if opts.color {
            let f = match seg.flags {
                f if f.rst() => f_txt.red().bold().to_string(),
                f if f.syn() => f_txt.green().bold().to_string(),
                f if f.fin() => f_txt.magenta().bold().to_string(),
                _ => f_txt.bold().to_string(),
            };
            format!("{f}{n_txt}{}", m_txt.red())
        } else {
            format!("{f_txt}{n_txt}{m_txt}")
        };
        let dashes = inner.saturating_sub(label_len + 6);
        let (pre, post) = if to_right {
            ("── ".to_string(), format!(" {}▶", "─".repeat(dashes + 1)))
        } else {
            (format!("◀{} ", "─".repeat(dashes + 1)), " ──".to_string())
        };
        let (pre, post) = if opts.color {
            // Each direction its own colour; the label keeps its own.
            if to_right {
                (pre.cyan().to_string(), post.cyan().to_string())
            } else {
                (pre.yellow().to_string(), post.yellow().to_string())
            }
        } else {
            (pre, post)
        };
        let line = format!("{pre}{label}{post}");
        let time = match (d.ts, d.capture_start.or(self.first)) {
            (Some(t), Some(f)) => super::seconds_since(t, f),
            _ => "-".into(),
        };
        let _ = writeln!(out, "{:>5} {:>10}  │{line}│", d.number, time);

        // What the segment carried, on the sender's side: the messages it completed (an
        // HTTP request, a WebSocket frame, a Socket.IO packet), else its first bytes.
        let messages = super::summary::stream_messages(d);
        let mut lines: Vec<String> = messages
            .iter()
            .map(|(_, s)| cut(s, inner.saturating_sub(6)))
            .collect();
        if lines.is_empty() && seg.len.unwrap_or(0) > 0 && !seg.payload.is_empty() {
            let bytes = &d.data[seg.payload.clone()];
            // Bytes the stream reader keeps for a message that a later segment completes.
            let part = d.field("data.data").is_some_and(|f| !f.meaning.is_empty());
            if part {
                let p = preview(bytes, inner.saturating_sub(40));
                lines.push(format!("part of a message completed later: {p}"));
            } else {
                lines.push(preview(bytes, inner.saturating_sub(6)));
            }
        }
        for p in lines {
            let mut row = String::new();
            if to_right {
                row.push_str("   ");
                row.push_str(&p);
                pad_to(&mut row, inner);
            } else {
                let n = p.chars().count();
                row.extend(std::iter::repeat_n(' ', inner.saturating_sub(n + 3)));
                row.push_str(&p);
                row.push_str("   ");
            }
            let row = if opts.color {
                row.dimmed().to_string()
            } else {
                row
            };
            let _ = writeln!(out, "{:PREFIX$}│{row}│", "");
        }

        // Socket states that changed.
        let changed = lane.machines.segment(
            from,
            seg.flags,
            Seq(seg.seq),
            Seq(seg.ack),
            seg.len.unwrap_or(0),
        );
        if changed[0] || changed[1] {
            let left = if changed[0] {
                lane.machines.name(0)
            } else {
                ""
            };
            let right = if changed[1] {
                lane.machines.name(1)
            } else {
                ""
            };
            state_line(left, right, lane_w, opts, out);
        }
    }

    /// Say how many packets were not drawn since the last arrow.
    fn flush_skipped(&mut self, opts: &Options, out: &mut String) {
        if self.skipped == 0 {
            return;
        }
        let protos: Vec<&str> = self.skipped_protos.iter().copied().collect();
        let text = format!(
            "· {} other packet{} not drawn ({})",
            self.skipped,
            if self.skipped == 1 { "" } else { "s" },
            protos.join(", ")
        );
        let text = if opts.color {
            text.dimmed().to_string()
        } else {
            text
        };
        let _ = writeln!(out, "{:PREFIX$}{text}", "");
        self.skipped = 0;
        self.skipped_protos.clear();
    }

    /// The end of the packets: report what was not drawn.
    pub fn finish(&mut self, opts: &Options, out: &mut String) {
        self.flush_skipped(opts, out);
    }
}

/// Split the label into its three coloured parts, cut to `room` characters in all.
fn split_label(flags: &str, numbers: &str, marks: &str, room: usize) -> (String, String, String) {
    let f = cut(flags, room);
    let left = room - f.chars().count();
    let n = cut(&format!("  {numbers}"), left);
    let left = left - n.chars().count();
    let m = cut(marks, left);
    (f, n, m)
}

fn heading(lane: &Lane, first_time: bool, opts: &Options, lane_w: usize, out: &mut String) {
    let title = match lane.stream {
        Some(s) => format!("TCP stream {s}: {} ⇄ {}", lane.left, lane.right),
        None => format!("TCP: {} ⇄ {}", lane.left, lane.right),
    };
    let title = if opts.color {
        title.bold().to_string()
    } else {
        title
    };
    let _ = writeln!(out, "{title}");
    let mut ends = lane.left.clone();
    let right_len = lane.right.chars().count();
    let at = lane_w
        .saturating_sub(right_len)
        .max(ends.chars().count() + 1);
    pad_to(&mut ends, at);
    ends.push_str(&lane.right);
    let _ = writeln!(out, "{:>5} {:>10}  {ends}", "frame", "time (s)");
    if first_time {
        state_line(
            lane.machines.name(0),
            lane.machines.name(1),
            lane_w,
            opts,
            out,
        );
    }
}

fn state_line(left: &str, right: &str, lane_w: usize, opts: &Options, out: &mut String) {
    let mut s = left.to_string();
    pad_to(&mut s, lane_w.saturating_sub(right.chars().count()));
    s.push_str(right);
    let s = s.trim_end().to_string();
    let s = if opts.color { s.green().to_string() } else { s };
    let _ = writeln!(out, "{:PREFIX$}{s}", "");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_escapes_and_cuts() {
        assert_eq!(preview(b"GET /\r\n", 40), "\"GET /\\r\\n\"");
        assert_eq!(preview(&[0, 255], 40), "\"\\x00\\xff\"");
        assert_eq!(preview(b"abcdefghij", 6), "\"abcd…");
    }

    #[test]
    fn flag_words_in_wiresharks_order() {
        let f = Flags::from_bits;
        assert_eq!(flag_words(f(0x012)), "SYN, ACK");
        assert_eq!(flag_words(f(0x018)), "PSH, ACK");
        assert_eq!(flag_words(f(0x011)), "FIN, ACK");
        assert_eq!(flag_words(Flags::NONE), "no flags");
    }

    #[test]
    fn cut_adds_ellipsis() {
        assert_eq!(cut("hello", 10), "hello");
        assert_eq!(cut("hello", 3), "he…");
    }
}
