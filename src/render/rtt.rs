//! `dissect --rtt`: one row per RTT sample, with TCP's estimate after it: the table a classic
//! TCP lab asks students to work out by hand.
//!
//! Each acknowledgment that covers a data segment exactly gives a *sample* of the round-trip
//! time, `SampleRTT`: the time from the segment to its ACK (Wireshark's
//! `tcp.analysis.ack_rtt`). After each sample the sender updates `EstimatedRTT` (α = 1/8),
//! `DevRTT` (β = 1/4) and the `TimeoutInterval` it would wait before retransmitting
//! (RFC 6298; see [`crate::stream::rtt`] for the idea). *Karn's rule*: a segment sent more than
//! once before its ACK came gives no sample, since nobody can tell which copy the ACK answers;
//! its row says so and the estimate does not move. An ACK that covers several segments at once
//! (the receiver delays its ACKs and acknowledges every other segment) times only the last of
//! them: the row says how many it covered.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;

use serde_json::json;

use crate::dissect::Dissection;
use crate::dissect::model::{Timestamp, Value};
use crate::dissect::tcp::analysis::flag;
use crate::stream::rtt::{ALPHA, BETA, K, MIN_RTO, RttEstimator};

/// The most rows kept (the rest are counted).
pub const MAX_ROWS: usize = 200_000;

/// A data segment seen, by frame number.
#[derive(Clone, Copy, Debug)]
struct Seg {
    stream: u32,
    src_port: u16,
    seq: u32,
    len: u32,
    t: Timestamp,
}

/// One sample (or one ACK that gave none, by Karn's rule).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub stream: u32,
    /// The ACK's frame, and the frame of the segment it covers exactly.
    pub ack_frame: u64,
    pub acked_frame: u64,
    /// The segment's relative sequence number and length.
    pub seq: u32,
    pub len: u32,
    /// Seconds since the first packet of the capture.
    pub sent: f64,
    pub acked: f64,
    /// How many data segments this ACK acknowledged for the first time.
    pub covers: u32,
    /// `None`: the segment was retransmitted before this ACK came (Karn).
    pub sample: Option<f64>,
    pub estimated: Option<f64>,
    pub dev: f64,
    /// EstimatedRTT + 4 · DevRTT, before and after RFC 6298's 1-second floor.
    pub timeout_raw: Option<f64>,
    pub timeout: Option<f64>,
}

/// One direction of one connection: its estimator, what it retransmitted, what is waiting
/// for an ACK.
#[derive(Default)]
struct Dir {
    est: RttEstimator,
    /// Sequence ranges sent more than once.
    retransmitted: Vec<(u32, u32)>,
    /// Data segments not yet acknowledged, in order: (seq, end).
    waiting: VecDeque<(u32, u32)>,
}

/// Builds the rows while a capture is read.
#[derive(Default)]
pub struct RttTable {
    segs: HashMap<u64, Seg>,
    dirs: HashMap<(u32, u16), Dir>,
    pub rows: Vec<Row>,
    pub dropped: u64,
    start: Option<Timestamp>,
}

fn secs(v: &Value) -> Option<f64> {
    match v {
        Value::Time(t) => Some(t.as_f64()),
        _ => None,
    }
}

impl RttTable {
    pub fn new() -> RttTable {
        RttTable::default()
    }

    /// Take in one dissected frame (after the stream analysis).
    pub fn observe(&mut self, d: &Dissection) {
        let Some(t) = d.ts else {
            return;
        };
        let start = *self.start.get_or_insert(t);
        let Some(seg) = d.tcp_segment() else { return };
        let Some(a) = seg.analysis.filter(|a| a.relative) else {
            return;
        };
        let len = seg.len.unwrap_or(0);
        if len > 0 {
            let dir = self.dirs.entry((a.stream, seg.src_port)).or_default();
            let end = a.seq.wrapping_add(len);
            if a.has(flag::ANY_RETRANSMISSION) {
                if dir.retransmitted.len() < MAX_ROWS {
                    dir.retransmitted.push((a.seq, end));
                }
            } else if dir.waiting.len() < MAX_ROWS {
                dir.waiting.push_back((a.seq, end));
            }
            if self.segs.len() < 4 * MAX_ROWS {
                self.segs.insert(
                    d.number,
                    Seg {
                        stream: a.stream,
                        src_port: seg.src_port,
                        seq: a.seq,
                        len,
                        t,
                    },
                );
            }
        }
        if !seg.flags.ack() {
            return;
        }
        // The data this ACK covers: the other direction's segments up to its number.
        let ack = a.ack;
        let other = (a.stream, seg.dst_port);
        let mut covers = 0;
        if let Some(dir) = self.dirs.get_mut(&other) {
            while let Some(&(s, e)) = dir.waiting.front() {
                if crate::dissect::tcp::Seq(e) <= crate::dissect::tcp::Seq(ack) {
                    dir.waiting.pop_front();
                    covers += 1;
                } else {
                    let _ = s;
                    break;
                }
            }
        }
        let Some(Value::Uint(acked_frame)) = d.field("tcp.analysis.acks_frame").map(|f| &f.value)
        else {
            return;
        };
        let Some(rtt) = d.field("tcp.analysis.ack_rtt").and_then(|f| secs(&f.value)) else {
            return;
        };
        let Some(s) = self.segs.get(acked_frame).copied() else {
            return;
        };
        if s.stream != a.stream || s.src_port != seg.dst_port {
            return;
        }
        let dir = self.dirs.entry(other).or_default();
        let end = s.seq.wrapping_add(s.len);
        let ambiguous = dir
            .retransmitted
            .iter()
            .any(|&(rs, re)| rs < end && s.seq < re);
        let sample = (!ambiguous).then_some(rtt);
        if let Some(r) = sample {
            dir.est.sample(r);
        }
        if self.rows.len() >= MAX_ROWS {
            self.dropped += 1;
            return;
        }
        self.rows.push(Row {
            stream: a.stream,
            ack_frame: d.number,
            acked_frame: *acked_frame,
            seq: s.seq,
            len: s.len,
            sent: s.t.since(start),
            acked: t.since(start),
            covers,
            sample,
            estimated: dir.est.estimated,
            dev: dir.est.dev,
            timeout_raw: dir.est.rto_raw(),
            timeout: dir.est.rto(),
        });
    }

    /// The formulas, once.
    pub fn formulas(out: &mut String) {
        let _ = writeln!(
            out,
            "RTT samples and TCP's estimate after each (RFC 6298; α = {ALPHA}, β = {BETA}):\n  \
             SampleRTT       = time from a data segment to the ACK that covers it exactly \
             (tcp.analysis.ack_rtt);\n                    none if the segment was sent more \
             than once before that ACK (Karn's rule)\n  first sample:     EstimatedRTT = \
             SampleRTT, DevRTT = SampleRTT / 2\n  each later one:   DevRTT = (1 - β)·DevRTT + \
             β·|SampleRTT - EstimatedRTT|   (with the old EstimatedRTT)\n                    \
             EstimatedRTT = (1 - α)·EstimatedRTT + α·SampleRTT\n  TimeoutInterval = \
             EstimatedRTT + {K}·DevRTT (RFC 6298 then raises it to at least {MIN_RTO} s: shown \
             in brackets)\n  Times in ms; sent and acked in seconds since the capture's first \
             packet. \"covers N\": the ACK acknowledged N segments\n  at once (a delayed ACK), \
             and only the one it covers exactly is timed."
        );
    }

    /// The table, for people.
    pub fn text(&self, out: &mut String) {
        Self::formulas(out);
        let _ = writeln!(out);
        if self.rows.is_empty() {
            let _ = writeln!(
                out,
                "No RTT samples: no ACK in the capture covers a data segment exactly."
            );
            return;
        }
        let _ = writeln!(
            out,
            "{:>6} {:>7} {:>7} {:>10} {:>5} {:>10} {:>10} {:>10} {:>12} {:>9} {:>17}  note",
            "stream",
            "ack fr",
            "data fr",
            "seq",
            "len",
            "sent",
            "acked",
            "SampleRTT",
            "EstimatedRTT",
            "DevRTT",
            "TimeoutInterval"
        );
        let ms = |s: f64| format!("{:.3}", s * 1e3);
        for r in &self.rows {
            let timeout = match (r.timeout_raw, r.timeout) {
                (Some(raw), Some(t)) if t > raw => format!("{} [{}]", ms(raw), ms(t)),
                (Some(raw), _) => ms(raw),
                _ => "-".into(),
            };
            let mut note = String::new();
            if r.sample.is_none() {
                note.push_str("retransmitted: no sample (Karn)");
            }
            if r.covers > 1 {
                if !note.is_empty() {
                    note.push_str("; ");
                }
                let _ = write!(note, "covers {}", r.covers);
            }
            let _ = writeln!(
                out,
                "{:>6} {:>7} {:>7} {:>10} {:>5} {:>10.6} {:>10.6} {:>10} {:>12} {:>9} {:>17}  {note}",
                r.stream,
                r.ack_frame,
                r.acked_frame,
                r.seq,
                r.len,
                r.sent,
                r.acked,
                r.sample.map_or("-".into(), ms),
                r.estimated.map_or("-".into(), ms),
                ms(r.dev),
                timeout
            );
        }
        if self.dropped > 0 {
            let _ = writeln!(
                out,
                "({} more samples not listed: at most {MAX_ROWS} rows are kept)",
                self.dropped
            );
        }
    }

    /// One JSON line per row.
    pub fn json_lines(&self, out: &mut String) {
        for r in &self.rows {
            let v = json!({
                "type": "rtt",
                "stream": r.stream,
                "ack_frame": r.ack_frame,
                "acks_frame": r.acked_frame,
                "seq": r.seq,
                "len": r.len,
                "sent": (r.sent * 1e9).round() / 1e9,
                "acked": (r.acked * 1e9).round() / 1e9,
                "covers": r.covers,
                "sample_rtt": r.sample,
                "karn_skipped": r.sample.is_none(),
                "estimated_rtt": r.estimated,
                "dev_rtt": r.dev,
                "timeout_interval": r.timeout_raw,
                "rto": r.timeout,
            });
            let _ = writeln!(out, "{v}");
        }
    }
}
