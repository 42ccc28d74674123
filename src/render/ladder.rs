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
use crate::dissect::model::{Dissection, Layer, Proto, Timestamp};
use crate::stream::state::Machines;

/// Characters taken by the frame and time columns: `{:>5} {:>10}  `.
const PREFIX: usize = 18;

/// One TCP conversation's lanes.
struct Lane {
    /// `address:port` of the left end (the one that sent first) and the right end.
    left: String,
    right: String,
    stream: Option<u64>,
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
    /// Show the sequence numbers as written next to the relative ones.
    pub absolute: bool,
}

/// What the ladder needs from one TCP segment.
struct Seg {
    src: String,
    dst: String,
    stream: Option<u64>,
    flags: u16,
    seq: u64,
    ack: u64,
    seq_raw: u64,
    ack_raw: u64,
    relative: bool,
    win: Option<u64>,
    len: u64,
    payload: std::ops::Range<usize>,
    marks: Vec<&'static str>,
}

/// `address:port` of both ends, from the IP header just outside the TCP header.
fn endpoints(d: &Dissection, tcp: usize, sport: u64, dport: u64) -> (String, String) {
    let ip = d.layers[..tcp]
        .iter()
        .rev()
        .find(|l| matches!(l.proto, Proto::Ipv4 | Proto::Ipv6));
    match ip {
        Some(l) => {
            let v6 = l.proto == Proto::Ipv6;
            let (s, t) = ip_pair(d, l);
            (
                join(s.as_deref().unwrap_or("?"), sport, v6),
                join(t.as_deref().unwrap_or("?"), dport, v6),
            )
        }
        None => (format!("?:{sport}"), format!("?:{dport}")),
    }
}

fn ip_pair(d: &Dissection, l: &Layer) -> (Option<String>, Option<String>) {
    let (s, t) = match l.proto {
        Proto::Ipv4 => ("ip.src", "ip.dst"),
        _ => ("ipv6.src", "ipv6.dst"),
    };
    (
        d.layer_field(l, s).map(|f| f.tshark(&d.data)),
        d.layer_field(l, t).map(|f| f.tshark(&d.data)),
    )
}

fn join(addr: &str, port: u64, v6: bool) -> String {
    if v6 {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

/// Read the segment from the first TCP layer that is not inside an ICMP error.
fn segment(d: &Dissection) -> Option<Seg> {
    let ti = d.layers.iter().position(|l| l.proto == Proto::Tcp)?;
    if d.layers[..ti]
        .iter()
        .any(|l| matches!(l.proto, Proto::Icmp | Proto::Icmpv6))
    {
        return None;
    }
    let l = &d.layers[ti];
    let num = |n: &str| d.layer_field(l, n).and_then(|f| f.value.as_u64());
    let has = |n: &str| d.layer_field(l, n).is_some();
    let sport = num("tcp.srcport")?;
    let dport = num("tcp.dstport")?;
    let flags = num("tcp.flags")? as u16;
    let seq_raw = num("tcp.seq_raw")?;
    let ack_raw = num("tcp.ack_raw").unwrap_or(0);
    let relative = has("tcp.nxtseq");
    let len = num("tcp.len").unwrap_or(0);
    let hdr = num("tcp.hdr_len").unwrap_or(20) as usize;
    let start = l.at as usize + hdr;
    let payload = start.min(d.data.len())..(start + len as usize).min(d.data.len());
    let mut marks = Vec::new();
    for (name, word) in [
        ("tcp.analysis.reused_ports", "ports reused"),
        ("tcp.analysis.fast_retransmission", "fast retransmission"),
        (
            "tcp.analysis.spurious_retransmission",
            "spurious retransmission",
        ),
        ("tcp.analysis.retransmission", "retransmission"),
        ("tcp.analysis.out_of_order", "out of order"),
        ("tcp.analysis.lost_segment", "previous segment not captured"),
        ("tcp.analysis.ack_lost_segment", "ACKs unseen data"),
        ("tcp.analysis.duplicate_ack", "dup ACK"),
        ("tcp.analysis.zero_window_probe", "zero window probe"),
        (
            "tcp.analysis.zero_window_probe_ack",
            "zero window probe ACK",
        ),
        ("tcp.analysis.zero_window", "zero window"),
        ("tcp.analysis.window_update", "window update"),
        ("tcp.analysis.window_full", "window full"),
        ("tcp.analysis.keep_alive", "keep-alive"),
        ("tcp.analysis.keep_alive_ack", "keep-alive ACK"),
    ] {
        if has(name) {
            // A fast or spurious retransmission also carries the plain marker.
            if name == "tcp.analysis.retransmission"
                && (marks.contains(&"fast retransmission")
                    || marks.contains(&"spurious retransmission"))
            {
                continue;
            }
            marks.push(word);
        }
    }
    let (src, dst) = endpoints(d, ti, sport, dport);
    Some(Seg {
        src,
        dst,
        stream: num("tcp.stream"),
        flags,
        seq: if relative {
            num("tcp.seq").unwrap_or(seq_raw)
        } else {
            seq_raw
        },
        ack: if relative {
            num("tcp.ack").unwrap_or(ack_raw)
        } else {
            ack_raw
        },
        seq_raw,
        ack_raw,
        relative,
        win: num("tcp.window_size").or_else(|| num("tcp.window_size_value")),
        len,
        payload,
        marks,
    })
}

/// The flags in words, in Wireshark's order: `SYN, ACK`, `PSH, ACK`, `FIN, ACK`.
pub(crate) fn flag_words(flags: u16) -> String {
    if flags & 0x1ff == 0 {
        "no flags".into()
    } else {
        crate::dissect::tcp::flags_words(flags)
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
            self.first = d.ts;
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
        let mut numbers = String::new();
        let show = |rel: u64, raw: u64| {
            if self.absolute && seg.relative {
                format!("{rel} [{raw}]")
            } else if self.absolute {
                format!("{raw}")
            } else {
                format!("{rel}")
            }
        };
        let _ = write!(numbers, "seq={}", show(seg.seq, seg.seq_raw));
        if seg.flags & 0x010 != 0 {
            let _ = write!(numbers, " ack={}", show(seg.ack, seg.ack_raw));
        }
        if let Some(w) = seg.win {
            let _ = write!(numbers, " win={w}");
        }
        if seg.len > 0 || seg.flags & 0x002 == 0 {
            let _ = write!(numbers, " len={}", seg.len);
        }
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
                f if f & 0x004 != 0 => f_txt.red().bold().to_string(),
                f if f & 0x002 != 0 => f_txt.green().bold().to_string(),
                f if f & 0x001 != 0 => f_txt.magenta().bold().to_string(),
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
        let time = match (d.ts, self.first) {
            (Some(t), Some(f)) => format!("{:.6}", t.since(f)),
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
        if lines.is_empty() && seg.len > 0 && !seg.payload.is_empty() {
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
        let (seq, ack) = (seg.seq as u32, seg.ack as u32);
        let changed = lane
            .machines
            .segment(from, seg.flags, seq, ack, seg.len as u32);
        if changed[0] || changed[1] {
            let left = if changed[0] {
                lane.machines.states[0].name()
            } else {
                ""
            };
            let right = if changed[1] {
                lane.machines.states[1].name()
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
        let [l, r] = lane.machines.states;
        state_line(l.name(), r.name(), lane_w, opts, out);
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
        assert_eq!(flag_words(0x012), "SYN, ACK");
        assert_eq!(flag_words(0x018), "PSH, ACK");
        assert_eq!(flag_words(0x011), "FIN, ACK");
        assert_eq!(flag_words(0), "no flags");
    }

    #[test]
    fn cut_adds_ellipsis() {
        assert_eq!(cut("hello", 10), "hello");
        assert_eq!(cut("hello", 3), "he…");
    }
}
