//! `--stats`: the conversations of a capture, and what TCP did in each.
//!
//! First one table of every conversation (TCP and UDP): who talked to whom, how many packets
//! and bytes each way, for how long, and how far each TCP connection got. Then, for each TCP
//! connection, its two directions side by side: windows, retransmissions, duplicate ACKs,
//! zero windows, round-trip times with the RFC 6298 estimate worked out, bytes acknowledged
//! per ACK, throughput. The formulas are printed once at the end, so a student can redo the
//! arithmetic.

use std::fmt::Write;

use tabled::builder::Builder;
use tabled::settings::formatting::AlignmentStrategy;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style, Width};

use crate::stream::conversation::{Conversation, TcpDirSummary, Transport};
use crate::stream::fields::{fixed, human_seconds};
use crate::stream::rtt::{ALPHA, BETA, K, MIN_RTO};
use crate::stream::{Evicted, StreamTracker};

/// Everything `--stats` prints, handed to `emit` a section at a time (a capture may hold
/// thousands of conversations). `only` limits it to one conversation.
pub fn report(
    tracker: &StreamTracker,
    only: Option<crate::stream::StreamId>,
    width: usize,
    emit: &mut dyn FnMut(&str) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let convs: Vec<&Conversation> = tracker
        .conversations()
        .into_iter()
        .filter(|c| only.is_none_or(|id| id.transport == c.transport && id.index == c.index))
        .collect();
    let mut out = String::new();
    conversations(&convs, tracker.evicted(), width, &mut out);
    emit(&out)?;
    let tcp: Vec<&Conversation> = convs
        .iter()
        .copied()
        .filter(|c| c.transport == Transport::Tcp)
        .collect();
    for c in &tcp {
        out.clear();
        out.push('\n');
        tcp_detail(c, width, &mut out);
        emit(&out)?;
    }
    if !tcp.is_empty() {
        out.clear();
        out.push('\n');
        formulas(&mut out);
        emit(&out)?;
    }
    Ok(())
}

/// `1 234 567`: big numbers in groups of three, easier to read aloud.
fn grouped(n: u64) -> String {
    let s = n.to_string();
    if s.len() <= 3 {
        return s;
    }
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// The table of conversations.
pub fn conversations(convs: &[&Conversation], evicted: Evicted, width: usize, out: &mut String) {
    let tcp = convs
        .iter()
        .filter(|c| c.transport == Transport::Tcp)
        .count();
    let udp = convs.len() - tcp;
    let _ = writeln!(
        out,
        "Conversations: {tcp} TCP, {udp} UDP (numbered in order of first appearance, as Wireshark's tcp.stream / udp.stream)"
    );
    if convs.is_empty() {
        let _ = writeln!(out, "  (none: no TCP or UDP packets)");
        return;
    }
    // Two lines a conversation, one per end (A above, B below), to fit a terminal.
    let mut records: Vec<[String; 6]> = vec![[
        "stream".into(),
        "ends (A sent first)".into(),
        "packets".into(),
        "bytes".into(),
        "duration".into(),
        "state reached".into(),
    ]];
    for c in convs {
        let state = match &c.tcp {
            Some(t) => t.state(),
            None => "(UDP: no connection)".to_string(),
        };
        records.push([
            format!("{} {}", c.transport.name().to_lowercase(), c.index),
            format!("A {}\nB {}", c.a, c.b),
            format!(
                "A→B {}\nB→A {}",
                grouped(c.dirs[0].packets),
                grouped(c.dirs[1].packets)
            ),
            format!("{}\n{}", grouped(c.dirs[0].bytes), grouped(c.dirs[1].bytes)),
            human_seconds(c.duration()),
            state,
        ]);
    }
    // The state column takes what the terminal has left.
    let widest = |col: usize| {
        records
            .iter()
            .flat_map(|r| {
                r[col]
                    .lines()
                    .map(|l| l.chars().count())
                    .collect::<Vec<_>>()
            })
            .max()
            .unwrap_or(0)
    };
    let others: usize = (0..5).map(widest).sum();
    let room = width.max(60).saturating_sub(others + 17).max(16);
    let wraps = widest(5) > room;
    conversation_rows(records, wraps, room, out);
    if evicted.conversations > 0 {
        let _ = writeln!(
            out,
            "  + {} older finished conversations not listed ({} packets, {} bytes): the table keeps at most the newest ones to bound memory",
            evicted.conversations, evicted.packets, evicted.bytes
        );
    }
}

/// The rows of the table, written by hand (a capture of 20,000 connections makes a table of
/// 40,000 lines, and `tabled` took a sixth of the time of `--stats` on it) unless a state needs
/// wrapping: then `tabled` lays the table out.
fn conversation_rows(records: Vec<[String; 6]>, wraps: bool, room: usize, out: &mut String) {
    let (header, rows) = records.split_first().expect("the header row");
    let right = [false, false, false, true, false, false];
    if wraps || !psql_table(header, rows, right, out) {
        tabled_conversations(records, room, out);
    }
}

/// The table of conversations as the `tabled` crate lays it out (`Style::psql()`, the bytes
/// column right-aligned line by line, the state column wrapped at word breaks to `room`).
fn tabled_conversations(records: Vec<[String; 6]>, room: usize, out: &mut String) {
    let mut b = Builder::new();
    for r in records {
        b.push_record(r);
    }
    let mut t = b.build();
    t.with(Style::psql());
    t.modify(
        Columns::new(3..4),
        (Alignment::right(), AlignmentStrategy::PerLine),
    );
    t.modify(Columns::new(5..6), Width::wrap(room).keep_words(true));
    let _ = writeln!(out, "{t}");
}

fn rtt_cell(d: &TcpDirSummary, f: impl Fn(&TcpDirSummary) -> Option<f64>) -> String {
    f(d).map(human_seconds).unwrap_or_else(|| "-".into())
}

/// One TCP connection's two directions side by side.
pub fn tcp_detail(c: &Conversation, width: usize, out: &mut String) {
    let Some(t) = &c.tcp else { return };
    let _ = writeln!(out, "TCP stream {}: A = {}, B = {}", c.index, c.a, c.b);
    let mut line = format!("  {}", t.state());
    if let Some(irtt) = t.initial_rtt {
        let _ = write!(
            line,
            "; initial RTT {} (SYN to the ACK completing the handshake)",
            human_seconds(irtt)
        );
    }
    let _ = writeln!(out, "{line}");
    let dur = c.duration();
    let [a, b] = &t.dirs;
    let mut rows: Vec<[String; 3]> = Vec::new();
    let mut row = |label: &str, f: &dyn Fn(usize, &TcpDirSummary) -> String| {
        rows.push([label.to_string(), f(0, a), f(1, b)]);
    };
    row("packets", &|i, _| grouped(c.dirs[i].packets));
    row("bytes in frames", &|i, _| grouped(c.dirs[i].bytes));
    row("new payload bytes (not resent)", &|_, d| {
        grouped(d.unique_payload)
    });
    row("MSS / window scale in its SYN", &|_, d| {
        format!(
            "{} / {}",
            d.mss.map_or("-".into(), |m| m.to_string()),
            d.wscale.map_or("-".into(), |w| format!("×{}", 1u32 << w))
        )
    });
    row(
        "window advertised min … max",
        &|_, d| match (d.win_min, d.win_max) {
            (Some(lo), Some(hi)) => format!("{} … {}", grouped(lo), grouped(hi)),
            _ => "-".into(),
        },
    );
    row("retransmissions (fast, spurious)", &|_, d| {
        format!(
            "{} ({}, {})",
            d.retransmissions, d.fast_retransmissions, d.spurious_retransmissions
        )
    });
    row("out of order / not captured", &|_, d| {
        format!("{} / {}", d.out_of_order, d.lost_segments)
    });
    row("duplicate ACKs sent", &|_, d| d.dup_acks.to_string());
    row("zero windows / window updates", &|_, d| {
        format!("{} / {}", d.zero_windows, d.window_updates)
    });
    row("RTT samples: data + SYN/FIN", &|_, d| {
        let control = d.rtt.samples.saturating_sub(d.rtt_data_samples);
        let mut s = format!("{} + {control}", d.rtt_data_samples);
        if d.karn_skipped > 0 {
            let _ = write!(s, " (+{} skipped, Karn)", d.karn_skipped);
        }
        s
    });
    row("RTT min / avg / max", &|_, d| {
        if d.rtt.samples == 0 {
            "-".into()
        } else {
            three_times(d.rtt.min, d.rtt.mean().unwrap_or(0.0), d.rtt.max)
        }
    });
    row("EstimatedRTT (SRTT)", &|_, d| {
        rtt_cell(d, |d| d.rtt.estimated)
    });
    row("DevRTT (RTTVAR)", &|_, d| {
        rtt_cell(d, |d| d.rtt.estimated.map(|_| d.rtt.dev))
    });
    row(
        "RTO = EstimatedRTT + 4·DevRTT",
        &|_, d| match (d.rtt.rto_raw(), d.rtt.rto()) {
            (Some(raw), Some(rto)) if rto > raw => {
                format!("{} → {}", human_seconds(raw), human_seconds(rto))
            }
            (Some(raw), _) => human_seconds(raw),
            _ => "-".into(),
        },
    );
    row("ACKs moving forward / bytes each", &|_, d| {
        // (a FIN counts as one byte here, as it takes one sequence number)
        if d.advancing_acks == 0 {
            "0 / -".into()
        } else {
            format!(
                "{} / {}",
                d.advancing_acks,
                fixed(d.acked_bytes as f64 / d.advancing_acks as f64, 1)
            )
        }
    });
    row("data acked / transfer time", &|_, d| match throughput(d) {
        Some((bytes, secs)) => format!("{} B / {}", grouped(bytes), human_seconds(secs)),
        None => "-".into(),
    });
    row("throughput: acked ÷ time", &|_, d| match throughput(d) {
        Some((bytes, secs)) if secs > 0.0 => rate(bytes as f64 / secs),
        _ => "-".into(),
    });
    row("payload ÷ whole connection", &|_, d| {
        if dur > 0.0 {
            rate(d.unique_payload as f64 / dur)
        } else {
            "-".into()
        }
    });
    let header = ["".to_string(), "A → B".into(), "B → A".into()];
    if !psql_three_columns(&header, &rows, width.max(60), out) {
        tabled_three_columns(header, rows, width, out);
    }
}

/// The per-connection table as the `tabled` crate lays it out (`Style::psql()`, the two value
/// columns right-aligned, words wrapped to the width).
fn tabled_three_columns(
    header: [String; 3],
    rows: Vec<[String; 3]>,
    width: usize,
    out: &mut String,
) {
    let mut bld = Builder::new();
    bld.push_record(header);
    for r in rows {
        bld.push_record(r);
    }
    let mut tbl = bld.build();
    tbl.with(Style::psql());
    tbl.modify(Columns::new(1..), Alignment::right());
    tbl.with(Width::wrap(width.max(60)).keep_words(true));
    let _ = writeln!(out, "{tbl}");
}

/// The same table written by hand, for the common case where it fits in `max` columns
/// without wrapping and every cell is one line: a capture of 20,000 connections prints 20,000
/// of these tables, and building each through `tabled` (a grid of cells, each measured and
/// padded through its own `String`) took half the time of `--stats`. The layout is `tabled`'s
/// psql style exactly (a unit test compares the two): each cell between one space on either
/// side, columns joined by `|`, a `-+-` rule under the header, no outer border. Returns false,
/// writing nothing, where the table would need wrapping (then `tabled` lays it out).
fn psql_three_columns(
    header: &[String; 3],
    rows: &[[String; 3]],
    max: usize,
    out: &mut String,
) -> bool {
    // Every text here is the program's own (labels, numbers, units): characters one column wide.
    let cols = |c: &str| {
        if c.is_ascii() {
            c.len()
        } else {
            c.chars().count()
        }
    };
    let mut w = [0usize; 3];
    for r in std::iter::once(header).chain(rows) {
        for (i, c) in r.iter().enumerate() {
            if c.contains('\n') {
                return false;
            }
            w[i] = w[i].max(cols(c));
        }
    }
    if w.iter().map(|x| x + 2).sum::<usize>() + 2 > max {
        return false;
    }
    const SPACES: &str = "                                                                ";
    let pad = |out: &mut String, n: usize| match SPACES.get(..n) {
        Some(s) => out.push_str(s),
        None => out.extend(std::iter::repeat_n(' ', n)),
    };
    let line = |out: &mut String, r: &[String; 3]| {
        out.push(' ');
        out.push_str(&r[0]);
        pad(out, w[0] - cols(&r[0]));
        for i in 1..3 {
            out.push_str(" | ");
            pad(out, w[i] - cols(&r[i]));
            out.push_str(&r[i]);
        }
        out.push_str(" \n");
    };
    line(out, header);
    for (i, x) in w.iter().enumerate() {
        if i > 0 {
            out.push('+');
        }
        out.extend(std::iter::repeat_n('-', x + 2));
    }
    out.push('\n');
    for r in rows {
        line(out, r);
    }
    true
}

/// Columns a text takes. Every text in these tables is the program's own (labels, numbers,
/// units, addresses): characters one column wide, no tabs or control characters.
fn text_columns(c: &str) -> usize {
    if c.is_ascii() {
        c.len()
    } else {
        c.chars().count()
    }
}

/// A table in `tabled`'s psql layout, written by hand (unit tests compare the two): each cell
/// between one space on either side, columns joined by `|`, a `-+-` rule under the header, no
/// outer border; a cell of several lines makes its row as tall, the other cells of the row
/// padded with blank lines below; `right` columns aligned right line by line, the others left.
/// Returns false, writing nothing, for a text that is not one column a character (the caller
/// then leaves the table to `tabled`).
fn psql_table<const N: usize>(
    header: &[String; N],
    rows: &[[String; N]],
    right: [bool; N],
    out: &mut String,
) -> bool {
    let mut w = [0usize; N];
    for r in std::iter::once(header).chain(rows) {
        for (i, c) in r.iter().enumerate() {
            if c.chars().any(|ch| ch.is_control() && ch != '\n') {
                return false;
            }
            for l in c.split('\n') {
                w[i] = w[i].max(text_columns(l));
            }
        }
    }
    const SPACES: &str = "                                                                ";
    let pad = |out: &mut String, n: usize| match SPACES.get(..n) {
        Some(s) => out.push_str(s),
        None => out.extend(std::iter::repeat_n(' ', n)),
    };
    let row = |out: &mut String, r: &[String; N]| {
        let mut lines: [std::str::Split<'_, char>; N] = std::array::from_fn(|i| r[i].split('\n'));
        let height = r.iter().map(|c| c.split('\n').count()).max().unwrap_or(1);
        for _ in 0..height {
            for (i, it) in lines.iter_mut().enumerate() {
                out.push_str(if i == 0 { " " } else { " | " });
                let l = it.next().unwrap_or("");
                let gap = w[i] - text_columns(l);
                if right[i] {
                    pad(out, gap);
                    out.push_str(l);
                } else {
                    out.push_str(l);
                    pad(out, gap);
                }
            }
            out.push_str(" \n");
        }
    };
    row(out, header);
    for (i, x) in w.iter().enumerate() {
        if i > 0 {
            out.push('+');
        }
        out.extend(std::iter::repeat_n('-', x + 2));
    }
    out.push('\n');
    for r in rows {
        row(out, r);
    }
    true
}

/// Three times in the unit that suits them: `12.1 / 30.5 / 61.0 ms` when one unit suits all
/// three, else each in its own, `10.1 µs / 4.0 ms / 41.0 ms` (one unit for all would show a
/// 10 µs minimum beside a 41 ms maximum as "0.0 ms").
fn three_times(a: f64, b: f64, c: f64) -> String {
    let unit = |x: f64| match x.abs() {
        x if x >= 1.0 => (1.0, "s", 3),
        x if x >= 1e-3 => (1e3, "ms", 1),
        _ => (1e6, "µs", 1),
    };
    let (ua, ub, uc) = (unit(a), unit(b), unit(c));
    if ua.1 == ub.1 && ub.1 == uc.1 {
        let (scale, name, decimals) = ua;
        return format!(
            "{} / {} / {} {name}",
            fixed(a * scale, decimals),
            fixed(b * scale, decimals),
            fixed(c * scale, decimals)
        );
    }
    let one = |x: f64, (scale, name, decimals): (f64, &str, usize)| {
        format!("{} {name}", fixed(x * scale, decimals))
    };
    format!("{} / {} / {}", one(a, ua), one(b, ub), one(c, uc))
}

/// Throughput of one direction as courses define it: the bytes of data the other side
/// acknowledged, over the time from the first data segment to the acknowledgment of the last
/// of them. `(bytes, seconds)`, or `None` without acknowledged data.
pub fn throughput(d: &TcpDirSummary) -> Option<(u64, f64)> {
    let (t0, first) = d.data_first?;
    let (acked, t1) = d.data_acked?;
    let bytes = acked.wrapping_sub(first) as u64;
    Some((bytes, t1.since(t0).max(0.0)))
}

/// Bytes per second in the unit that reads best.
fn rate(bps: f64) -> String {
    let bits = bps * 8.0;
    if bits >= 1e9 {
        fixed(bits / 1e9, 2) + " Gbit/s"
    } else if bits >= 1e6 {
        fixed(bits / 1e6, 2) + " Mbit/s"
    } else if bits >= 1e3 {
        fixed(bits / 1e3, 2) + " kbit/s"
    } else {
        format!("{bits:.0} bit/s")
    }
}

/// How the numbers above are worked out.
pub fn formulas(out: &mut String) {
    let _ = writeln!(
        out,
        "How the RTT and throughput figures are worked out (RFC 6298; α = {ALPHA}, β = {BETA}, K = {K}):"
    );
    let lines = [
        "  sample R       = time from a segment (data, or a SYN or FIN) to the ACK that covers it exactly",
        "                   (tcp.analysis.ack_rtt); a segment sent more than once gives no sample (Karn)",
        "  first sample:    EstimatedRTT = R            DevRTT = R / 2",
        "  each later R:    DevRTT       = (1 - β)·DevRTT + β·|EstimatedRTT - R|   (with the old EstimatedRTT)",
        "                   EstimatedRTT = (1 - α)·EstimatedRTT + α·R",
        "  timeout:         RTO = EstimatedRTT + K·DevRTT, raised to at least 1 s (→ shows the raise)",
    ];
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
    let _ = writeln!(
        out,
        "  Each side's RTT is timed where the capture was taken: near the sender a sample is the whole\n  round trip, near the receiver only the receiver's delay in answering. Minimum RTO: {MIN_RTO} s."
    );
    for l in [
        "Throughput = bytes of data the receiver acknowledged ÷ time from the first data segment to the",
        "  ACK of the last of them (retransmitted copies count once; handshake and teardown left out).",
        "  The whole-connection figure divides the new payload by the connection's whole duration.",
    ] {
        let _ = writeln!(out, "{l}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1 000");
        assert_eq!(grouped(1234567), "1 234 567");
    }

    #[test]
    fn three_times_each_in_its_unit() {
        assert_eq!(
            three_times(0.000047, 0.00006, 0.000073),
            "47.0 / 60.0 / 73.0 µs"
        );
        assert_eq!(
            three_times(0.185385, 0.305107, 0.424829),
            "185.4 / 305.1 / 424.8 ms"
        );
        // A 10.1 µs minimum is not "0.0 ms".
        assert_eq!(
            three_times(0.0000101, 0.004, 0.041),
            "10.1 µs / 4.0 ms / 41.0 ms"
        );
    }

    #[test]
    fn hand_written_table_is_tabled_s_layout() {
        let header = ["".to_string(), "A → B".into(), "B → A".into()];
        let rows: Vec<[String; 3]> = vec![
            ["packets".into(), "6".into(), "8".into()],
            [
                "window advertised min … max".into(),
                "502 … 64 240".into(),
                "-".into(),
            ],
            [
                "RTT min / avg / max".into(),
                "100.0 / 100.0 / 100.0 µs".into(),
                "".into(),
            ],
        ];
        let mut a = String::new();
        assert!(psql_three_columns(&header, &rows, 100, &mut a));
        let mut b = String::new();
        tabled_three_columns(header.clone(), rows.clone(), 100, &mut b);
        // `tcp_detail` ends the table with a newline after tabled's last line.
        assert_eq!(a, b);
        // Too wide for 60 columns: left to tabled, which wraps.
        let wide = vec![["x".repeat(40), "y".repeat(20), "z".repeat(20)]];
        assert!(!psql_three_columns(&header, &wide, 60, &mut String::new()));
    }

    fn conversation_records(state: &str) -> Vec<[String; 6]> {
        let r = |c: [&str; 6]| c.map(String::from);
        vec![
            r([
                "stream",
                "ends (A sent first)",
                "packets",
                "bytes",
                "duration",
                "state reached",
            ]),
            r([
                "tcp 0",
                "A 127.0.0.1:40000\nB 127.0.0.1:8080",
                "A→B 1 234\nB→A 6",
                "1 234 567\n480",
                "1.2 s",
                state,
            ]),
            r([
                "udp 12",
                "A [::1]:5353\nB [2001:db8::1]:53",
                "A→B 1\nB→A 0",
                "75\n0",
                "0 s",
                "(UDP: no connection)",
            ]),
        ]
    }

    #[test]
    fn hand_written_conversations_are_tabled_s_layout() {
        // Two-line cells, a right-aligned column, a non-ASCII arrow: the same bytes.
        let records = conversation_records("handshake, data, FIN both ways");
        let mut a = String::new();
        conversation_rows(records.clone(), false, 40, &mut a);
        let mut b = String::new();
        tabled_conversations(records, 40, &mut b);
        assert_eq!(a, b);
        assert!(a.contains(" | A→B 1 234 |"), "{a}");
        // A state wider than its room is wrapped by tabled, over three lines of the row.
        let records = conversation_records("handshake, data, FIN both ways, reset by B");
        let mut a = String::new();
        conversation_rows(records.clone(), true, 16, &mut a);
        let mut b = String::new();
        tabled_conversations(records.clone(), 16, &mut b);
        assert_eq!(a, b);
        assert!(
            a.contains(
                "\n        |                     |           |           |          | reset by B"
            ),
            "{a}"
        );
        // The hand-written layout of a cell that is already wrapped is tabled's too.
        let records = conversation_records("handshake, data,\nFIN both ways,\nreset by B");
        let mut a = String::new();
        conversation_rows(records.clone(), false, 40, &mut a);
        let mut b = String::new();
        tabled_conversations(records, 40, &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn rate_units() {
        assert_eq!(rate(100.0), "800 bit/s");
        assert_eq!(rate(125_000.0), "1.00 Mbit/s");
    }
}
