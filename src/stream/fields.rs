//! The analysis written into each packet: the fields the stream analysis adds to a TCP or UDP
//! layer, with Wireshark's names, tshark's formatting and an explanation for learners.
//!
//! The fields go where Wireshark puts them, so the layer tree reads the same in both tools:
//! `tcp.stream` after the ports, the relative `tcp.seq` and `tcp.ack` just before the raw
//! numbers they are worked out from, the scaled window after the window as written, and the
//! timestamps and the "SEQ/ACK analysis" at the end of the layer.

use std::borrow::Cow;

use super::tcp::{Nanos, SegmentOut, flag};
use crate::dissect::model::{Dissection, Field, Timestamp, Value};
use crate::dissect::tcp::Flags;

/// A field worked out by the analysis: no bytes of its own in the frame, so it points at
/// `at` with length 0 (or at the bytes it is about, where there are some).
fn field(
    name: &'static str,
    label: &'static str,
    at: u32,
    value: Value,
    explain: &'static str,
) -> Field {
    Field {
        name,
        label,
        value,
        meaning: Cow::Borrowed(""),
        at,
        len: 0,
        mask: 0,
        depth: 0,
        explain,
    }
}

fn with_depth(mut f: Field, depth: u8) -> Field {
    f.depth = depth;
    f
}

fn with_meaning(mut f: Field, meaning: impl Into<Cow<'static, str>>) -> Field {
    f.meaning = meaning.into();
    f
}

/// A length of time, written as tshark writes relative times: seconds with nine decimals.
pub fn duration(ns: Nanos) -> Value {
    if ns >= 0 {
        Value::Time(Timestamp {
            secs: (ns / 1_000_000_000) as i64,
            nanos: (ns % 1_000_000_000) as u32,
        })
    } else {
        let a = -ns;
        Value::Text(format!("-{}.{:09}", a / 1_000_000_000, a % 1_000_000_000))
    }
}

/// Human wording for a round-trip time: `12.3 ms`.
pub fn human_duration(ns: Nanos) -> String {
    let s = ns as f64 / 1e9;
    human_seconds(s)
}

pub fn human_seconds(s: f64) -> String {
    let a = s.abs();
    if a == 0.0 {
        "0 s".to_string()
    } else if a >= 1.0 {
        fixed(s, 3) + " s"
    } else if a >= 1e-3 {
        fixed(s * 1e3, 3) + " ms"
    } else {
        fixed(s * 1e6, 1) + " µs"
    }
}

/// `x` with `decimals` digits after the point: the same text as `format!("{x:.decimals$}")`
/// (the exact binary value rounded), found faster where that is safe. `x · 10^decimals` is
/// one multiplication away from exact, an error below 2^-53 of it (under 10^-7 for the values
/// let through here); unless its fraction is that close to one half, rounding it gives the
/// integer the exact value rounds to. Else, and for negative or big values, `format!` decides.
/// (`format!` is exact but slow on the many times `--stats` prints that lie just beside a round
/// number, such as 99.99999999999996 µs.)
pub fn fixed(x: f64, decimals: usize) -> String {
    const SCALE: [f64; 4] = [1.0, 10.0, 100.0, 1000.0];
    let Some(&scale) = SCALE.get(decimals) else {
        return format!("{x:.decimals$}");
    };
    let y = x * scale;
    if x.is_sign_negative()
        || !(0.0..1e9).contains(&y)
        || decimals == 0
        || ((y - y.floor()) - 0.5).abs() < 1e-6
    {
        return format!("{x:.decimals$}");
    }
    let n = y.round() as u64;
    let p = 10u64.pow(decimals as u32);
    format!("{}.{:0decimals$}", n / p, n % p)
}

/// Position (in `d.fields`) of the first field named `name` in layer `li`.
fn position(d: &Dissection, li: usize, name: &str) -> Option<usize> {
    let l = &d.layers[li];
    (l.fields.start as usize..l.fields.end as usize).find(|&i| d.fields[i].name == name)
}

/// Insert `f` just before the field named `before` (or at the layer's end when absent).
fn insert_before(d: &mut Dissection, li: usize, before: &str, f: Field) {
    let at = position(d, li, before).unwrap_or(d.layers[li].fields.end as usize);
    d.insert_fields(li, at, [f]);
}

/// Insert `f` just after the field named `after` (or at the layer's end when absent).
fn insert_after(d: &mut Dissection, li: usize, after: &str, f: Field) {
    let at = position(d, li, after).map_or(d.layers[li].fields.end as usize, |i| i + 1);
    d.insert_fields(li, at, [f]);
}

/// Add `udp.stream` to a UDP layer.
pub fn annotate_udp(d: &mut Dissection, li: usize, stream: u32) {
    let at = d.layers[li].at;
    insert_after(
        d,
        li,
        "udp.dstport",
        field(
            "udp.stream",
            "Stream index",
            at,
            Value::Uint(stream as u64),
            "Which UDP conversation (pair of address:port ends) this datagram belongs to, numbered from 0 in the order they first appear, as Wireshark's udp.stream.",
        ),
    );
}

/// Add the TCP analysis of one segment to its TCP layer (`li`, an index into `d.layers`).
pub fn annotate_tcp(d: &mut Dissection, li: usize, o: &SegmentOut, flags: Flags) {
    let at = d.layers[li].at;
    let seq_at = at + 4;
    let ack_at = at + 8;
    let win_at = at + 14;

    insert_after(
        d,
        li,
        "tcp.dstport",
        field(
            "tcp.stream",
            "Stream index",
            at,
            Value::Uint(o.stream as u64),
            "Which TCP connection this segment belongs to, numbered from 0 in the order connections first appear (Wireshark's tcp.stream); `--stream N` shows one.",
        ),
    );
    let seq = if o.analysed {
        field(
            "tcp.seq",
            "Sequence number (relative)",
            seq_at,
            Value::Uint(o.seq as u64),
            "The sequence number counted from this side's initial sequence number (ISN): the SYN is 0 and the first data byte is 1. Easier to read than the raw number below, which starts at a value no one off the path can guess.",
        )
    } else {
        field(
            "tcp.seq",
            "Sequence number",
            seq_at,
            Value::Uint(o.seq as u64),
            "The sequence number as written: this segment's length is not known here (it is quoted in an ICMP error, or an IP fragment), so it cannot be placed in its connection.",
        )
    };
    insert_before(d, li, "tcp.seq_raw", seq);
    if !o.header_ok {
        // Wireshark stops after the sequence number when the header length is bogus.
        return;
    }
    if let Some(next) = o.nxtseq {
        insert_after(
            d,
            li,
            "tcp.seq_raw",
            field(
                "tcp.nxtseq",
                "Next sequence number",
                seq_at,
                Value::Uint(next as u64),
                "The sequence number this side's next new segment will carry: this one plus the data length, plus one for a SYN or a FIN (each takes one number).",
            ),
        );
    }
    {
        let ack = if flags.ack() && o.analysed {
            field(
                "tcp.ack",
                "Acknowledgment number (relative)",
                ack_at,
                Value::Uint(o.ack as u64),
                "Counted from the other side's initial sequence number: the next byte this side expects, so every byte before it has arrived.",
            )
        } else {
            field(
                "tcp.ack",
                "Acknowledgment number",
                ack_at,
                Value::Uint(o.ack as u64),
                "The acknowledgment field as written; it means nothing unless the ACK flag is set.",
            )
        };
        insert_before(d, li, "tcp.ack_raw", ack);
    }
    if position(d, li, "tcp.window_size_value").is_some() {
        insert_after(
            d,
            li,
            "tcp.window_size_value",
            field(
                "tcp.window_size",
                "Calculated window size",
                win_at,
                Value::Uint(o.window as u64),
                "The receive window in bytes: the value written, multiplied by 2^shift when both SYNs agreed on window scaling (RFC 7323). SYNs themselves are never scaled.",
            ),
        );
        if let Some(sf) = o.scalefactor {
            let meaning: Cow<'static, str> = match sf {
                -1 => "unknown: the SYNs were not captured".into(),
                -2 => "no window scaling used".into(),
                _ => "".into(),
            };
            let f = field(
                "tcp.window_size_scalefactor",
                "Window size scaling factor",
                win_at,
                Value::Text(sf.to_string()),
                "What the written window is multiplied by (2^shift from the window scale options in the SYNs).",
            );
            insert_after(d, li, "tcp.window_size", with_meaning(f, meaning));
        }
    }

    // Timestamps and analysis go at the end of the layer, in Wireshark's order.
    let mut tail: Vec<Field> = Vec::new();
    tail.push(field(
        "tcp.time_relative",
        "Time since first frame in this TCP stream",
        at,
        duration(o.time_relative),
        "Seconds since the first packet of this connection was captured.",
    ));
    tail.push(field(
        "tcp.time_delta",
        "Time since previous frame in this TCP stream",
        at,
        duration(o.time_delta),
        "Seconds since the previous packet of this connection, in either direction.",
    ));
    let ta = &o.findings;
    if ta.present {
        tail.push(field(
            "tcp.analysis",
            "SEQ/ACK analysis",
            at,
            Value::None,
            "What wirelab worked out about this segment from the ones before it.",
        ));
        if let Some(frame) = ta.acks_frame {
            tail.push(with_depth(
                field(
                    "tcp.analysis.acks_frame",
                    "This is an ACK to the segment in frame",
                    ack_at,
                    Value::Uint(frame),
                    "The frame whose data (or SYN or FIN) this acknowledgment covers exactly.",
                ),
                1,
            ));
            if ta.ack_rtt != 0 {
                tail.push(with_meaning(
                    with_depth(
                        field(
                            "tcp.analysis.ack_rtt",
                            "Round-trip time to ACK the segment",
                            ack_at,
                            duration(ta.ack_rtt),
                            "Time from that segment to this acknowledgment: one sample of the round-trip time, as seen where the capture was taken. TCP smooths such samples into its retransmission timeout (RFC 6298; see --stats).",
                        ),
                        1,
                    ),
                    human_duration(ta.ack_rtt),
                ));
            }
        }
        if let Some(irtt) = o.initial_rtt {
            tail.push(with_meaning(
                with_depth(
                    field(
                        "tcp.analysis.initial_rtt",
                        "Initial round-trip time (iRTT)",
                        at,
                        duration(irtt),
                        "Time from the SYN to the ACK that completed the three-way handshake: the connection's first round trip.",
                    ),
                    1,
                ),
                human_duration(irtt),
            ));
        }
        if ta.bytes_in_flight != 0 {
            tail.push(with_depth(
                field(
                    "tcp.analysis.bytes_in_flight",
                    "Bytes in flight",
                    at,
                    Value::Uint(ta.bytes_in_flight as u64),
                    "Data this side has sent that the other side has not acknowledged yet. The sender may not have more in flight than the receiver's window (and its own congestion window) allows.",
                ),
                1,
            ));
            tail.push(with_depth(
                field(
                    "tcp.analysis.push_bytes_sent",
                    "Bytes sent since last PSH flag",
                    at,
                    Value::Uint(ta.push_bytes_sent as u64),
                    "Data sent since the last segment with PSH (push) set; an application's write usually ends with PSH.",
                ),
                1,
            ));
        }
        if ta.flags != 0 {
            tail.push(with_depth(
                field(
                    "tcp.analysis.flags",
                    "Analysis flags",
                    at,
                    Value::Bool(true),
                    "Something about this segment is worth a look (listed below). In Wireshark the filter `tcp.analysis.flags` finds all such segments.",
                ),
                1,
            ));
            flag_fields(ta, at, &mut tail);
        }
    }
    let end = d.layers[li].fields.end as usize;
    d.insert_fields(li, end, tail);

    // SACK edges are shown relative to the receiver's ISN, as the sequence numbers are.
    if o.analysed || o.sack_base != 0 {
        let l = &d.layers[li];
        for i in l.fields.start as usize..l.fields.end as usize {
            let f = &mut d.fields[i];
            if matches!(f.name, "tcp.options.sack_le" | "tcp.options.sack_re") {
                if let Value::Uint(raw) = f.value {
                    f.value = Value::Uint((raw as u32).wrapping_sub(o.sack_base) as u64);
                    f.meaning = format!("relative; {raw} as written").into();
                }
            }
        }
    }
}

/// One field per analysis flag, as tshark lists them (each is a present/absent marker that
/// tshark prints as `1`).
fn flag_fields(ta: &super::tcp::Findings, at: u32, out: &mut Vec<Field>) {
    let mark =
        |name, label, explain| with_depth(field(name, label, at, Value::Bool(true), explain), 2);
    if ta.has(flag::REUSED_PORTS) {
        out.push(mark(
            "tcp.analysis.reused_ports",
            "Ports reused",
            "A new connection starts on the same addresses and ports as an earlier one in this capture (a new SYN with a new initial sequence number).",
        ));
    }
    if ta.has(flag::RETRANSMISSION) {
        out.push(mark(
            "tcp.analysis.retransmission",
            "Retransmission",
            "This segment carries bytes (or a SYN or FIN) that were sent before: the sender heard no acknowledgment in time and sent them again.",
        ));
        if ta.rto != 0 {
            out.push(with_depth(
                field(
                    "tcp.analysis.rto",
                    "Retransmission timeout waited",
                    at,
                    duration(ta.rto),
                    "How long after the first copy this one was sent: roughly the sender's retransmission timeout (RTO).",
                ),
                2,
            ));
            out.push(with_depth(
                field(
                    "tcp.analysis.rto_frame",
                    "Frame of the first copy",
                    at,
                    Value::Uint(ta.rto_frame),
                    "The frame the retransmission timeout is counted from.",
                ),
                2,
            ));
        }
    }
    if ta.has(flag::FAST_RETRANSMISSION) {
        out.push(mark(
            "tcp.analysis.fast_retransmission",
            "Fast retransmission",
            "Sent again right after duplicate ACKs asked for it, without waiting for the timeout (fast retransmit, RFC 5681).",
        ));
        out.push(mark(
            "tcp.analysis.retransmission",
            "Retransmission",
            "A fast retransmission is also a retransmission.",
        ));
    }
    if ta.has(flag::SPURIOUS_RETRANSMISSION) {
        out.push(mark(
            "tcp.analysis.spurious_retransmission",
            "Spurious retransmission",
            "Sent again although the receiver had already acknowledged every byte of it: the copy was not needed.",
        ));
        out.push(mark(
            "tcp.analysis.retransmission",
            "Retransmission",
            "A spurious retransmission is also a retransmission.",
        ));
    }
    if ta.has(flag::OUT_OF_ORDER) {
        out.push(mark(
            "tcp.analysis.out_of_order",
            "Out of order",
            "Arrived after a segment with higher sequence numbers, too soon to be a retransmission: the network reordered them.",
        ));
    }
    if ta.has(flag::LOST_PACKET) {
        out.push(mark(
            "tcp.analysis.lost_segment",
            "Previous segment not captured",
            "This segment starts beyond the last byte seen from this side: something in between was lost, or the capture missed it (common at the start of a capture).",
        ));
    }
    if ta.has(flag::ACK_LOST_PACKET) {
        out.push(mark(
            "tcp.analysis.ack_lost_segment",
            "ACKed segment that was not captured",
            "This acknowledges bytes the capture never saw: they passed by without being captured.",
        ));
    }
    if ta.has(flag::WINDOW_UPDATE) {
        out.push(mark(
            "tcp.analysis.window_update",
            "Window update",
            "No data, same sequence and acknowledgment numbers: only the window changed, to tell the sender there is room again.",
        ));
    }
    if ta.has(flag::WINDOW_FULL) {
        out.push(mark(
            "tcp.analysis.window_full",
            "Window full",
            "This data fills the receiver's advertised window exactly: the sender must now wait for an acknowledgment.",
        ));
    }
    if ta.has(flag::KEEP_ALIVE) {
        out.push(mark(
            "tcp.analysis.keep_alive",
            "Keep-alive",
            "Zero or one byte just before the next sequence number: a probe asking 'are you still there?' on an idle connection.",
        ));
    }
    if ta.has(flag::KEEP_ALIVE_ACK) {
        out.push(mark(
            "tcp.analysis.keep_alive_ack",
            "Keep-alive ACK",
            "The answer to a keep-alive: the same acknowledgment again.",
        ));
    }
    if ta.has(flag::DUPLICATE_ACK) {
        out.push(mark(
            "tcp.analysis.duplicate_ack",
            "Duplicate ACK",
            "No data and the same acknowledgment number and window as before: the receiver got a segment after a hole and asks again for the missing bytes.",
        ));
    }
    if ta.dupack_num != 0 {
        out.push(with_depth(
            field(
                "tcp.analysis.duplicate_ack_num",
                "Duplicate ACK number",
                at,
                Value::Uint(ta.dupack_num as u64),
                "How many times in a row this acknowledgment has been repeated; at three the sender retransmits at once (fast retransmit).",
            ),
            1,
        ));
        out.push(with_depth(
            field(
                "tcp.analysis.duplicate_ack_frame",
                "Duplicate to the ACK in frame",
                at,
                Value::Uint(ta.dupack_frame),
                "The frame with the first copy of this acknowledgment.",
            ),
            1,
        ));
        // Wireshark attaches its "Duplicate ACK (#n)" expert note under the frame number with
        // the same field name, so tshark prints `tcp.analysis.duplicate_ack` twice (`1,1`).
        out.push(with_meaning(
            with_depth(
                field(
                    "tcp.analysis.duplicate_ack",
                    "Duplicate ACK (note)",
                    at,
                    Value::Bool(true),
                    "Wireshark's expert note for the same finding.",
                ),
                2,
            ),
            format!("Duplicate ACK (#{})", ta.dupack_num),
        ));
    }
    if ta.has(flag::ZERO_WINDOW_PROBE) {
        out.push(mark(
            "tcp.analysis.zero_window_probe",
            "Zero window probe",
            "One byte sent into a zero window, to find out when the receiver has room again.",
        ));
    }
    if ta.has(flag::ZERO_WINDOW) {
        out.push(mark(
            "tcp.analysis.zero_window",
            "Zero window",
            "The receiver advertises a window of 0: its buffer is full and the sender must stop until it opens again.",
        ));
    }
    if ta.has(flag::ZERO_WINDOW_PROBE_ACK) {
        out.push(mark(
            "tcp.analysis.zero_window_probe_ack",
            "Zero window probe ACK",
            "The answer to a zero window probe: still no room.",
        ));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixed_is_format_s_text() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut values = vec![
            0.0,
            -0.0,
            0.05,
            0.15,
            0.25,
            0.45,
            0.95,
            0.9999,
            99.95,
            99.99999999999996,
            100.0,
            3000.5,
            2.5e-7,
            1e-300,
            999_999.95,
            1e8,
            1e9,
            1e12,
            -1.25,
            -99.99,
            f64::NAN,
            f64::INFINITY,
            f64::MIN_POSITIVE,
            0.0005,
            0.0015,
            1.0005,
        ];
        for _ in 0..200_000 {
            // xorshift: spread over magnitudes, and times a little off round numbers.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let m = (x >> 11) as f64 / (1u64 << 53) as f64;
            values.push(m * 10f64.powi((x % 13) as i32 - 4));
            values.push((x % 100_000) as f64 / 1e6 * 1e6);
            values.push(((x % 5000) as f64 + 0.5) / 1000.0);
        }
        for v in values {
            for d in 0..5 {
                assert_eq!(
                    super::fixed(v, d),
                    format!("{v:.d$}"),
                    "{v:?} to {d} places"
                );
            }
        }
    }

    use super::*;

    #[test]
    fn duration_writes_nine_decimals() {
        let f = |v: Value| match v {
            Value::Time(t) => t.to_string(),
            Value::Text(s) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(f(duration(73_000)), "0.000073000");
        assert_eq!(f(duration(60_164_767_000)), "60.164767000");
        assert_eq!(f(duration(-73_000)), "-0.000073000");
    }

    #[test]
    fn human_duration_picks_unit() {
        assert_eq!(human_duration(12_345_000), "12.345 ms");
        assert_eq!(human_duration(56_000), "56.0 µs");
        assert_eq!(human_duration(2_500_000_000), "2.500 s");
    }
}
