//! `wirelab tcp transfer`: a bulk transfer over the lab's emulated link, with the sender's
//! congestion window read from the kernel while it runs.
//!
//! # Two brakes on a TCP sender
//!
//! A TCP sender may have only so many bytes *in flight* (sent, not yet acknowledged). Two
//! limits decide how many, and the smaller one wins:
//!
//! * **Flow control** protects the *receiver*. Every segment the receiver sends carries its
//!   *advertised window* (`rwnd`): how much more its socket buffer can take. A program that
//!   reads slowly lets the buffer fill, the window shrinks, and at zero the sender must stop.
//!   It then sends a one-byte *zero-window probe* now and then, until a *window update* says
//!   there is room again. `--recv-buf` makes the buffer small, `--read-rate` the reader slow.
//! * **Congestion control** protects the *network*. The sender keeps a *congestion window*
//!   (`cwnd`, counted in segments by Linux) that no packet carries: it is the sender's own
//!   guess of what the path holds. It starts small (10 segments) and, in **slow start**, grows
//!   by one segment per segment acknowledged, so it doubles every round trip, until it reaches
//!   the *slow-start threshold* (`ssthresh`) or a loss. Then **congestion avoidance** grows it
//!   by about one segment per round trip. A loss seen through three duplicate ACKs means the
//!   path still delivers: **fast retransmit** sends the missing segment again and **fast
//!   recovery** halves the window (Reno; CUBIC keeps 70 %) instead of starting over. A loss
//!   that no duplicate ACKs reveal ends in a **retransmission timeout**: cwnd falls to one
//!   segment and slow start begins again. BBR works differently: it measures the path's
//!   bottleneck rate and minimum RTT and paces its packets to match, with no ssthresh.
//!
//! # Reading the kernel's state
//!
//! Linux answers `getsockopt(IPPROTO_TCP, TCP_INFO)` with a `struct tcp_info`: the connection's
//! congestion state, cwnd, ssthresh, smoothed RTT and its variation, retransmissions, the
//! peer's window and more. The struct grew over the years; the kernel copies as much as the
//! caller asks for and says how much it filled, so a field is shown only where this kernel has
//! it. The sender's socket is sampled every few milliseconds (`--sample-ms`) from a second
//! thread while the first one writes. The *phase* of each sample is named from the kernel's
//! congestion state (`tcpi_ca_state`: Open, Disorder, CWR, Recovery, Loss) and, in Open,
//! from cwnd against ssthresh; a peer window of zero is named "zero window".

use std::fmt::Write as _;

use serde_json::{Value, json};

/// The congestion-control algorithms the demo offers (`TCP_CONGESTION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Cc {
    Reno,
    Cubic,
    Bbr,
}

impl Cc {
    pub fn name(self) -> &'static str {
        match self {
            Cc::Reno => "reno",
            Cc::Cubic => "cubic",
            Cc::Bbr => "bbr",
        }
    }
}

/// The part of Linux's `struct tcp_info` (include/uapi/linux/tcp.h) the demo shows, read at
/// the byte offsets the kernel lays it out at. Fields added to the struct later than Linux 4.9
/// are `None` when the kernel filled fewer bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpInfo {
    pub state: u8,
    /// TCP_CA_Open 0, Disorder 1, CWR 2, Recovery 3, Loss 4.
    pub ca_state: u8,
    /// Retransmission timeouts in a row for the segment now at the front.
    pub retransmits: u8,
    /// Zero-window probes sent without an answer.
    pub probes: u8,
    pub backoff: u8,
    pub rto_us: u32,
    pub snd_mss: u32,
    /// Segments sent and not yet acknowledged.
    pub unacked: u32,
    pub sacked: u32,
    pub lost: u32,
    pub retrans: u32,
    pub rtt_us: u32,
    pub rttvar_us: u32,
    /// 0x7fffffff or more: not set yet ("infinite": slow start has not ended).
    pub snd_ssthresh: u32,
    /// In segments.
    pub snd_cwnd: u32,
    pub total_retrans: u32,
    pub pacing_rate: Option<u64>,
    pub bytes_acked: Option<u64>,
    pub min_rtt_us: Option<u32>,
    pub delivery_rate: Option<u64>,
    pub bytes_retrans: Option<u64>,
    /// The peer's advertised window, scaled, in bytes.
    pub snd_wnd: Option<u32>,
    /// The window this side advertises.
    pub rcv_wnd: Option<u32>,
}

/// The kernel's "no threshold yet".
pub const SSTHRESH_INFINITE: u32 = 0x7fff_ffff;

#[rustfmt::skip]
mod off {
    //! Byte offsets in `struct tcp_info` (x86-64 and every other Linux ABI alike: the
    //! struct has only fixed-size fields, 64-bit ones 8-aligned).
    pub const STATE: usize         = 0;   // u8
    pub const CA_STATE: usize      = 1;   // u8
    pub const RETRANSMITS: usize   = 2;   // u8
    pub const PROBES: usize        = 3;   // u8
    pub const BACKOFF: usize       = 4;   // u8  (then options, wscale, flags: 3 × u8)
    pub const RTO: usize           = 8;   // u32 µs
    pub const SND_MSS: usize       = 16;  // u32 (ato at 12)
    pub const UNACKED: usize       = 24;  // u32 (rcv_mss at 20)
    pub const SACKED: usize        = 28;  // u32
    pub const LOST: usize          = 32;  // u32
    pub const RETRANS: usize       = 36;  // u32 (fackets at 40, four times 44–59, pmtu 60,
    pub const RTT: usize           = 68;  // u32 µs      rcv_ssthresh 64)
    pub const RTTVAR: usize        = 72;  // u32 µs
    pub const SND_SSTHRESH: usize  = 76;  // u32
    pub const SND_CWND: usize      = 80;  // u32 (advmss 84, reordering 88, rcv_rtt 92,
    pub const TOTAL_RETRANS: usize = 100; // u32   rcv_space 96)
    pub const PACING_RATE: usize   = 104; // u64 bytes/s (max_pacing_rate 112)
    pub const BYTES_ACKED: usize   = 120; // u64 (bytes_received 128, segs 136/140, notsent 144)
    pub const MIN_RTT: usize       = 148; // u32 µs (data_segs 152/156)
    pub const DELIVERY_RATE: usize = 160; // u64 bytes/s (busy 168, rwnd_limited 176,
    pub const BYTES_RETRANS: usize = 208; // u64   sndbuf_limited 184, delivered 192/196, sent 200)
    pub const SND_WND: usize       = 228; // u32 (dsack_dups 216, reord_seen 220, ooopack 224)
    pub const RCV_WND: usize       = 232; // u32
    /// The bytes the demo asks the kernel for.
    pub const WANT: usize          = 240;
}

/// How many bytes of `struct tcp_info` to ask the kernel for.
pub const TCP_INFO_LEN: usize = off::WANT;

impl TcpInfo {
    /// Read the struct from the bytes the kernel filled; `None` if even the oldest layout's
    /// fields (104 bytes) are not there.
    pub fn parse(b: &[u8]) -> Option<TcpInfo> {
        let u8_at = |o: usize| b.get(o).copied();
        let u32_at = |o: usize| {
            b.get(o..o + 4)
                .map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
        };
        let u64_at = |o: usize| {
            b.get(o..o + 8)
                .map(|s| u64::from_ne_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
        };
        Some(TcpInfo {
            state: u8_at(off::STATE)?,
            ca_state: u8_at(off::CA_STATE)?,
            retransmits: u8_at(off::RETRANSMITS)?,
            probes: u8_at(off::PROBES)?,
            backoff: u8_at(off::BACKOFF)?,
            rto_us: u32_at(off::RTO)?,
            snd_mss: u32_at(off::SND_MSS)?,
            unacked: u32_at(off::UNACKED)?,
            sacked: u32_at(off::SACKED)?,
            lost: u32_at(off::LOST)?,
            retrans: u32_at(off::RETRANS)?,
            rtt_us: u32_at(off::RTT)?,
            rttvar_us: u32_at(off::RTTVAR)?,
            snd_ssthresh: u32_at(off::SND_SSTHRESH)?,
            snd_cwnd: u32_at(off::SND_CWND)?,
            total_retrans: u32_at(off::TOTAL_RETRANS)?,
            pacing_rate: u64_at(off::PACING_RATE),
            bytes_acked: u64_at(off::BYTES_ACKED),
            min_rtt_us: u32_at(off::MIN_RTT),
            delivery_rate: u64_at(off::DELIVERY_RATE),
            bytes_retrans: u64_at(off::BYTES_RETRANS),
            snd_wnd: u32_at(off::SND_WND),
            rcv_wnd: u32_at(off::RCV_WND),
        })
    }

    /// ssthresh, or `None` while it is "infinite".
    pub fn ssthresh(&self) -> Option<u32> {
        (self.snd_ssthresh < SSTHRESH_INFINITE).then_some(self.snd_ssthresh)
    }

    /// Segments the kernel counts as in the network: sent, less those SACKed or judged lost,
    /// plus retransmissions (its `tcp_packets_in_flight`).
    pub fn in_flight(&self) -> u32 {
        (self.unacked.saturating_sub(self.sacked + self.lost)) + self.retrans
    }
}

/// The phases textbooks name, as worked out from one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    SlowStart,
    CongestionAvoidance,
    /// Duplicate ACKs or SACKs seen, not yet a loss (Linux's Disorder).
    Disorder,
    /// Fast retransmit done, fast recovery under way (Recovery).
    FastRecovery,
    /// The window was cut for an ECN mark or a local reason (CWR).
    WindowReduced,
    /// A retransmission timeout (Loss): cwnd back to one segment.
    Timeout,
    /// The receiver's window is zero: flow control stops the sender.
    ZeroWindow,
    /// BBR in its ordinary state: paced at the rate it measured, no ssthresh.
    Bbr,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::SlowStart => "slow start",
            Phase::CongestionAvoidance => "congestion avoidance",
            Phase::Disorder => "duplicate ACKs (disorder)",
            Phase::FastRecovery => "fast retransmit / fast recovery",
            Phase::WindowReduced => "window reduced (CWR)",
            Phase::Timeout => "retransmission timeout",
            Phase::ZeroWindow => "zero window",
            Phase::Bbr => "bbr (paced at the measured rate)",
        }
    }

    /// One character for the terminal plot.
    pub fn mark(self) -> char {
        match self {
            Phase::SlowStart => '/',
            Phase::CongestionAvoidance => '*',
            Phase::Disorder => 'd',
            Phase::FastRecovery => 'R',
            Phase::WindowReduced => 'c',
            Phase::Timeout => 'T',
            Phase::ZeroWindow => 'Z',
            Phase::Bbr => 'b',
        }
    }

    /// Name the phase of a sample.
    pub fn of(i: &TcpInfo, cc: Cc) -> Phase {
        // The peer's window is zero, or the sender is probing it (persist timer: tcpi_probes
        // counts window probes sent without the window opening), in a state where data may
        // still be on its way: ESTABLISHED, FIN-WAIT-1 (the program has called shutdown()
        // while the send buffer still drains), CLOSE-WAIT, LAST-ACK, CLOSING.
        let sending = matches!(i.state, 1 | 4 | 8 | 9 | 11);
        if sending && (i.snd_wnd == Some(0) || (i.probes > 0 && i.ca_state == 0)) {
            return Phase::ZeroWindow;
        }
        match i.ca_state {
            4 => Phase::Timeout,
            3 => Phase::FastRecovery,
            2 => Phase::WindowReduced,
            1 => Phase::Disorder,
            _ if cc == Cc::Bbr => Phase::Bbr,
            _ if i.snd_cwnd < i.snd_ssthresh => Phase::SlowStart,
            _ => Phase::CongestionAvoidance,
        }
    }
}

/// One reading of the sender's `tcp_info`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Seconds since `connect()` returned.
    pub t: f64,
    /// The wall clock (seconds since 1970), to line the sample up with captured packets.
    pub unix: f64,
    pub info: TcpInfo,
    pub phase: Phase,
}

impl Sample {
    /// The sample as one JSON object, with the kernel's names (less their `tcpi_` prefix).
    pub fn json(&self, cc: Cc) -> Value {
        let i = &self.info;
        json!({
            "type": "tcp_info",
            "cc": cc.name(),
            "t": (self.t * 1e6).round() / 1e6,
            "phase": self.phase.name(),
            "ca_state": i.ca_state,
            "cwnd": i.snd_cwnd,
            "ssthresh": i.ssthresh(),
            "mss": i.snd_mss,
            "srtt_us": i.rtt_us,
            "rttvar_us": i.rttvar_us,
            "rto_us": i.rto_us,
            "min_rtt_us": i.min_rtt_us,
            "retransmits": i.total_retrans,
            "unacked": i.unacked,
            "in_flight": i.in_flight(),
            "bytes_in_flight": u64::from(i.in_flight()) * u64::from(i.snd_mss),
            "bytes_acked": i.bytes_acked,
            "bytes_retrans": i.bytes_retrans,
            "delivery_rate": i.delivery_rate,
            "pacing_rate": i.pacing_rate,
            "snd_wnd": i.snd_wnd,
            "rcv_wnd": i.rcv_wnd,
            "probes": i.probes,
        })
    }
}

/// What one transfer did, from the sender's samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CwndStory {
    pub first_cwnd: u32,
    /// The largest cwnd before slow start first ended (or before the end, if it never did).
    pub slow_start_peak: u32,
    /// When slow start first ended (seconds since connect), and ssthresh just after.
    pub slow_start_end: Option<f64>,
    pub ssthresh_after: Option<u32>,
    /// Why it ended: a loss, or (CUBIC's HyStart) the RTT rising before any loss.
    pub slow_start_why: Option<&'static str>,
    pub max_cwnd: u32,
    /// Each phase met, with the time spent in it (seconds, sample to sample).
    pub phases: Vec<(Phase, f64)>,
    /// The sender's own count of retransmitted segments, at the end.
    pub retransmits: u32,
    /// The last smoothed RTT and the smallest RTT the kernel measured, in µs.
    pub last_srtt_us: u32,
    pub min_rtt_us: Option<u32>,
}

impl CwndStory {
    pub fn of(samples: &[Sample]) -> CwndStory {
        let mut s = CwndStory::default();
        let Some(first) = samples.first() else {
            return s;
        };
        s.first_cwnd = first.info.snd_cwnd;
        let mut in_ss = true;
        for (k, x) in samples.iter().enumerate() {
            s.max_cwnd = s.max_cwnd.max(x.info.snd_cwnd);
            if in_ss {
                if x.phase == Phase::SlowStart {
                    s.slow_start_peak = s.slow_start_peak.max(x.info.snd_cwnd);
                } else if x.phase != Phase::ZeroWindow {
                    in_ss = false;
                    s.slow_start_end = Some(x.t);
                    s.ssthresh_after = x.info.ssthresh();
                    let lost = x.info.total_retrans > first.info.total_retrans
                        || matches!(
                            x.phase,
                            Phase::Disorder | Phase::FastRecovery | Phase::Timeout
                        );
                    s.slow_start_why = Some(if lost {
                        " (a loss)"
                    } else {
                        " (before any loss: CUBIC's HyStart saw the RTT rise)"
                    });
                }
            }
            let dt = samples.get(k + 1).map_or(0.0, |n| n.t - x.t);
            match s.phases.iter_mut().find(|(p, _)| *p == x.phase) {
                Some((_, d)) => *d += dt,
                None => s.phases.push((x.phase, dt)),
            }
        }
        let last = samples.last().map(|x| x.info).unwrap_or_default();
        s.retransmits = last.total_retrans;
        s.last_srtt_us = last.rtt_us;
        s.min_rtt_us = last.min_rtt_us;
        s
    }

    /// How many times cwnd grew during slow start.
    pub fn slow_start_growth(&self) -> f64 {
        if self.first_cwnd == 0 {
            0.0
        } else {
            f64::from(self.slow_start_peak) / f64::from(self.first_cwnd)
        }
    }
}

/// cwnd over time, drawn with characters: each column the last sample in it, marked with its
/// phase; ssthresh as `-` where it is set.
pub fn cwnd_plot(samples: &[Sample], title: &str, width: usize, out: &mut String) {
    let _ = writeln!(out, "{title}");
    let Some(last) = samples.last() else {
        let _ = writeln!(out, "  (no samples)");
        return;
    };
    let rows = 14usize;
    let t_max = last.t.max(1e-3);
    let y_max = samples
        .iter()
        .map(|s| s.info.snd_cwnd)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let label_w = format!("{y_max:.0}").len().max(3) + 1;
    let cols = width.max(40) - label_w - 2;
    let mut grid = vec![vec![' '; cols]; rows];
    let y_of = |v: f64| {
        let r = ((v / y_max) * (rows - 1) as f64).round() as usize;
        rows - 1 - r.min(rows - 1)
    };
    for s in samples {
        let x = ((s.t / t_max) * (cols - 1) as f64).round() as usize;
        let x = x.min(cols - 1);
        if let Some(th) = s.info.ssthresh()
            && f64::from(th) <= y_max
            && grid[y_of(f64::from(th))][x] == ' '
        {
            grid[y_of(f64::from(th))][x] = '-';
        }
        grid[y_of(f64::from(s.info.snd_cwnd))][x] = s.phase.mark();
    }
    for (r, row) in grid.iter().enumerate() {
        let v = y_max * (rows - 1 - r) as f64 / (rows - 1) as f64;
        let label = if r % 3 == 0 || r == rows - 1 {
            format!("{v:.0}")
        } else {
            String::new()
        };
        let line: String = row.iter().collect();
        let _ = writeln!(out, "{label:>label_w$} ┤{}", line.trim_end());
    }
    let _ = writeln!(out, "{:>label_w$} └{}", "", "─".repeat(cols));
    let _ = writeln!(
        out,
        "{:>label_w$}  0 s{:>w$}",
        "",
        format!("{t_max:.2} s"),
        w = cols.saturating_sub(3)
    );
    let _ = writeln!(
        out,
        "  y: cwnd (segments)   / slow start   * congestion avoidance   R fast recovery   T timeout\n  \
         d duplicate ACKs   c window reduced   Z zero window   b bbr   - ssthresh"
    );
}

/// The summary as text lines and as JSON, from the parts the command measured.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub cc: Option<Cc>,
    pub bytes: u64,
    pub complete: bool,
    /// From the capture: bytes the receiver acknowledged and the time from the first data
    /// segment to the ACK of the last (dissect --stats' definition).
    pub acked: Option<(u64, f64)>,
    /// The sender's wall time from connect() to the receiver's close.
    pub elapsed: f64,
    /// From the capture: retransmissions, fast retransmissions, zero windows, window updates,
    /// zero-window probes.
    pub retrans_capture: Option<u64>,
    pub fast_retrans_capture: Option<u64>,
    /// Data segments in the capture whose bytes had been sent before (the sender's
    /// retransmissions, however the analysis names them).
    pub resent_capture: Option<u64>,
    /// Segments the analysis calls out of order: on a sender's capture, copies resent so soon
    /// after the original that tshark's rule does not count them as retransmissions.
    pub out_of_order_capture: Option<u64>,
    pub zero_windows: Option<u64>,
    pub window_updates: Option<u64>,
    /// ACK round-trip times measured in the capture (tcp.analysis.ack_rtt, Karn), seconds:
    /// min, mean, max, samples.
    pub rtt: Option<(f64, f64, f64, u64)>,
    pub story: CwndStory,
    /// The link's rate (bits/s) and the path's base RTT (2 × its one-way delay), if set.
    pub link_rate: Option<u64>,
    pub base_rtt: Option<f64>,
}

impl Summary {
    pub fn throughput_bps(&self) -> Option<f64> {
        self.acked
            .filter(|(_, t)| *t > 0.0)
            .map(|(b, t)| b as f64 * 8.0 / t)
    }

    pub fn json(&self) -> Value {
        json!({
            "type": "summary",
            "cc": self.cc.map(Cc::name),
            "bytes": self.bytes,
            "complete": self.complete,
            "bytes_acked": self.acked.map(|a| a.0),
            "transfer_seconds": self.acked.map(|a| a.1),
            "throughput_bps": self.throughput_bps(),
            "throughput_definition": "bytes the receiver acknowledged ÷ time from the first data segment to the ACK of the last (as dissect --stats)",
            "elapsed_seconds": self.elapsed,
            "retransmissions_capture": self.retrans_capture,
            "fast_retransmissions_capture": self.fast_retrans_capture,
            "out_of_order_capture": self.out_of_order_capture,
            "resent_capture": self.resent_capture,
            "retransmissions_sender": self.story.retransmits,
            "zero_windows": self.zero_windows,
            "window_updates": self.window_updates,
            "rtt_min_ms": self.rtt.map(|r| r.0 * 1e3),
            "rtt_avg_ms": self.rtt.map(|r| r.1 * 1e3),
            "rtt_max_ms": self.rtt.map(|r| r.2 * 1e3),
            "rtt_samples": self.rtt.map(|r| r.3),
            "first_cwnd": self.story.first_cwnd,
            "slow_start_peak_cwnd": self.story.slow_start_peak,
            "slow_start_growth": self.story.slow_start_growth(),
            "slow_start_end_seconds": self.story.slow_start_end,
            "ssthresh_after_slow_start": self.story.ssthresh_after,
            "max_cwnd": self.story.max_cwnd,
            "phases": self.story.phases.iter().map(|(p, d)| json!({"phase": p.name(), "seconds": d})).collect::<Vec<_>>(),
            "link_rate_bps": self.link_rate,
            "base_rtt_ms": self.base_rtt.map(|r| r * 1e3),
        })
    }

    /// The summary as lines of `(label, value)`, the same labels for every run, so that
    /// several can stand side by side. What the numbers mean is said once, under the table
    /// ([`summary_table`]).
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let mut r = Vec::new();
        let ms = |s: f64| format!("{:.1}", s * 1e3);
        r.push((
            "algorithm",
            self.cc.map_or("-".into(), |c| c.name().to_string()),
        ));
        r.push((
            "bytes sent",
            format!(
                "{}{}",
                self.bytes,
                if self.complete {
                    " (all acked)"
                } else {
                    " (NOT finished)"
                }
            ),
        ));
        match (self.acked, self.throughput_bps()) {
            (Some((_, t)), Some(bps)) => {
                r.push(("transfer time", format!("{t:.3} s")));
                let of = self.link_rate.map_or(String::new(), |l| {
                    format!(" ({:.0} % of the link)", bps / l as f64 * 100.0)
                });
                r.push(("throughput", format!("{}{of}", mbit(bps))));
            }
            _ => {
                r.push((
                    "transfer time",
                    format!("{:.3} s (connect → close)", self.elapsed),
                ));
                r.push(("throughput", "? (nothing captured)".into()));
            }
        }
        r.push((
            "retransmissions",
            format!(
                "{} ({} fast); sender {}",
                opt(self.retrans_capture),
                opt(self.fast_retrans_capture),
                self.story.retransmits
            ),
        ));
        r.push(("out of order", opt(self.out_of_order_capture)));
        r.push(("resent segments", opt(self.resent_capture)));
        r.push((
            "RTT min/avg/max",
            self.rtt.map_or("?".into(), |(min, avg, max, n)| {
                format!("{}/{}/{} ms ({n})", ms(min), ms(avg), ms(max))
            }),
        ));
        r.push((
            "queueing delay",
            match (self.rtt, self.base_rtt) {
                (Some((_, avg, _, _)), Some(b)) => format!("avg {} ms", ms((avg - b).max(0.0))),
                _ => "?".into(),
            },
        ));
        if self.story.slow_start_peak == 0 {
            // BBR: no ssthresh, so no slow start in TCP_INFO's terms (its STARTUP state,
            // which also doubles the rate each round trip, is not in TCP_INFO).
            r.push(("slow start cwnd", "- (no ssthresh: BBR)".into()));
            r.push(("slow start ended", "-".into()));
        } else {
            r.push((
                "slow start cwnd",
                format!(
                    "{} → {} ({:.1}×)",
                    self.story.first_cwnd,
                    self.story.slow_start_peak,
                    self.story.slow_start_growth()
                ),
            ));
            r.push((
                "slow start ended",
                match (self.story.slow_start_end, self.story.ssthresh_after) {
                    (Some(t), Some(th)) => format!(
                        "{t:.3} s, ssthresh {th}{}",
                        self.story.slow_start_why.map_or("", |w| w)
                    ),
                    (Some(t), None) => format!("{t:.3} s"),
                    _ => "never".into(),
                },
            ));
        }
        r.push(("largest cwnd", self.story.max_cwnd.to_string()));
        r.push((
            "zero windows",
            format!(
                "{} (updates {})",
                opt(self.zero_windows),
                opt(self.window_updates)
            ),
        ));
        for p in [
            Phase::SlowStart,
            Phase::CongestionAvoidance,
            Phase::Disorder,
            Phase::FastRecovery,
            Phase::Timeout,
            Phase::ZeroWindow,
            Phase::Bbr,
        ] {
            let label = match p {
                Phase::SlowStart => "  slow start",
                Phase::CongestionAvoidance => "  cong. avoidance",
                Phase::Disorder => "  dup ACKs",
                Phase::FastRecovery => "  fast recovery",
                Phase::Timeout => "  timeout",
                Phase::ZeroWindow => "  zero window",
                _ => "  bbr",
            };
            let d = self
                .story
                .phases
                .iter()
                .find(|(q, _)| *q == p)
                .map(|(_, d)| *d);
            if p == Phase::SlowStart {
                r.push(("time in phase", String::new()));
            }
            r.push((label, d.map_or("-".into(), |d| format!("{d:.2} s"))));
        }
        r
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or("?".into(), |v| v.to_string())
}

/// Bits per second in Mbit/s.
pub fn mbit(bps: f64) -> String {
    format!("{:.2} Mbit/s", bps / 1e6)
}

/// One summary, or several side by side, then what the numbers mean.
pub fn summary_table(sums: &[&Summary], out: &mut String) {
    let rows: Vec<Vec<(&str, String)>> = sums.iter().map(|s| s.rows()).collect();
    let Some(first) = rows.first() else { return };
    let label_w = first.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let col_w = rows
        .iter()
        .flatten()
        .map(|(_, v)| v.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    for (k, (l, _)) in first.iter().enumerate() {
        let mut line = format!("  {l:<label_w$}");
        for r in &rows {
            let v = r.get(k).map_or("", |(_, v)| v.as_str());
            let _ = write!(line, "  {v:<col_w$}");
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let s = sums[0];
    let mut notes = vec![
        "throughput: bytes the receiver acknowledged ÷ time from the first data segment to the \
         ACK of the last (as dissect --stats)"
            .to_string(),
    ];
    if let (Some(l), Some(b)) = (s.link_rate, s.base_rtt) {
        notes.push(format!(
            "the link: {}; base RTT = 2 × the path's one-way delay = {:.1} ms; queueing delay = \
             average RTT − base RTT",
            mbit(l as f64),
            b * 1e3
        ));
    }
    notes.push(
        "RTT: tcp.analysis.ack_rtt in the capture (taken next to the sender), no sample from a \
         segment sent twice (Karn)"
            .into(),
    );
    notes.push(
        "retransmissions: as tshark counts them in the capture, then the sender's own count \
         (TCP_INFO); out of order: copies resent so soon after the original that tshark's rule \
         calls them out of order instead; resent segments: data segments of the capture whose \
         bytes had been sent before, whatever the name"
            .into(),
    );
    notes.push("cwnd in segments (of the MSS); phases from the sender's TCP_INFO".into());
    for n in notes {
        let _ = writeln!(out, "  · {n}");
    }
}

#[cfg(target_os = "linux")]
pub use linux::{TransferOptions, TransferReport, run};

#[cfg(target_os = "linux")]
mod linux {
    use std::io::{self, Read, Write};
    use std::net::{Shutdown, SocketAddrV4, TcpListener, TcpStream};
    use std::os::fd::{AsFd, AsRawFd, RawFd};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use socket2::{Domain, Socket, Type};

    use super::*;
    use crate::source::lab::{Host, Lab};

    /// The most samples one transfer keeps (at 1 ms, over a minute's worth).
    const MAX_SAMPLES: usize = 100_000;

    /// What to transfer, and how.
    #[derive(Clone, Debug)]
    pub struct TransferOptions {
        pub bytes: u64,
        pub cc: Cc,
        /// SO_RCVBUF on the receiver (the kernel doubles it for its bookkeeping).
        pub recv_buf: Option<u32>,
        /// The receiving program reads at most this many bytes per second.
        pub read_rate: Option<u64>,
        pub sample_every: Duration,
        pub port: u16,
        /// The whole transfer must end within this.
        pub timeout: Duration,
    }

    /// What happened.
    #[derive(Clone, Debug, Default)]
    pub struct TransferReport {
        pub sent: u64,
        pub received: u64,
        pub complete: bool,
        /// Seconds from connect() returning to the receiver's close.
        pub elapsed: f64,
        pub samples: Vec<Sample>,
        /// The receive buffer the kernel gave the receiver (SO_RCVBUF read back).
        pub rcvbuf: Option<usize>,
    }

    fn now_unix() -> f64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }

    /// `getsockopt(IPPROTO_TCP, TCP_INFO)`. Unsafe code: neither socket2 nor nix wraps
    /// `TCP_INFO`, and libc's `tcp_info` stops before the fields added since Linux 4.9 (delivery
    /// rate, the peer's window), so the call fills a byte buffer that [`TcpInfo::parse`] reads.
    #[allow(unsafe_code)]
    pub fn tcp_info(fd: RawFd) -> io::Result<TcpInfo> {
        let mut buf = [0u8; TCP_INFO_LEN];
        let mut len = buf.len() as libc::socklen_t;
        // SAFETY: the buffer and its length are ours and valid for the call.
        let r = unsafe {
            libc::getsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                buf.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        TcpInfo::parse(&buf[..(len as usize).min(buf.len())])
            .ok_or_else(|| io::Error::other(format!("TCP_INFO returned only {len} bytes")))
    }

    fn set_congestion(s: &Socket, cc: Cc) -> io::Result<()> {
        if let Err(e) = s.set_tcp_congestion(cc.name().as_bytes()) {
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "setsockopt(TCP_CONGESTION, {}): {e} (the kernel lists what it has in \
                     /proc/sys/net/ipv4/tcp_available_congestion_control)",
                    cc.name()
                ),
            ));
        }
        Ok(())
    }

    /// Run one transfer from the lab's client to its server.
    pub fn run(lab: &Lab, o: &TransferOptions) -> io::Result<TransferReport> {
        let addr = SocketAddrV4::new(lab.topology().server_ip(), o.port);
        // Linux remembers ssthresh and RTT per destination when a connection closes (the
        // tcp_metrics cache) and starts the next connection from them: a second run would
        // skip slow start. Switched off in the client's namespace, so every run starts fresh.
        lab.run_in(Host::Client, || {
            std::fs::write("/proc/sys/net/ipv4/tcp_no_metrics_save", "1")
        })??;
        let deadline = Instant::now() + o.timeout;
        let (srv, cli) = std::thread::scope(|s| {
            let (ready_tx, ready_rx) = std::sync::mpsc::channel();
            let server = s.spawn(move || {
                lab.run_in(Host::Server, move || sink(addr, o, deadline, ready_tx))?
            });
            let client = s.spawn(move || {
                lab.run_in(Host::Client, move || {
                    ready_rx
                        .recv_timeout(Duration::from_secs(5))
                        .map_err(|_| io::Error::other("the receiver did not start listening"))?;
                    source(addr, o, deadline)
                })?
            });
            (join(server), join(client))
        });
        let (received, rcvbuf) = srv?;
        let mut report = cli?;
        report.received = received;
        report.rcvbuf = rcvbuf;
        report.complete = report.complete && received == o.bytes;
        Ok(report)
    }

    fn join<T>(h: std::thread::ScopedJoinHandle<'_, io::Result<T>>) -> io::Result<T> {
        h.join()
            .unwrap_or_else(|_| Err(io::Error::other("a transfer thread panicked")))
    }

    /// The receiver: accept one connection and read it to the end (slowly, with a read
    /// rate), then close.
    fn sink(
        addr: SocketAddrV4,
        o: &TransferOptions,
        deadline: Instant,
        ready: std::sync::mpsc::Sender<()>,
    ) -> io::Result<(u64, Option<usize>)> {
        let l = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        l.set_reuse_address(true)?;
        if let Some(b) = o.recv_buf {
            // Set on the listener so the accepted socket starts with it (the window scale
            // is chosen in the handshake from the buffer size).
            l.set_recv_buffer_size(b as usize)?;
        }
        l.bind(&addr.into())?;
        l.listen(1)?;
        let l: TcpListener = l.into();
        let _ = ready.send(());
        let mut fds = [PollFd::new(l.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(5000u16)).map_err(io::Error::from)? == 0 {
            return Err(io::Error::other(
                "no connection came to the receiver within 5 s",
            ));
        }
        let (mut c, _) = l.accept()?;
        let rcvbuf = Socket::from(c.try_clone()?).recv_buffer_size().ok();
        c.set_read_timeout(Some(Duration::from_millis(200)))?;
        let start = Instant::now();
        let chunk = if o.read_rate.is_some() { 1024 } else { 65536 };
        let mut buf = vec![0u8; chunk];
        let mut total = 0u64;
        loop {
            if Instant::now() >= deadline {
                break;
            }
            if let Some(rate) = o.read_rate {
                // Read no faster than the rate: wait until the bytes so far are due.
                let due = Duration::from_secs_f64(total as f64 / rate.max(1) as f64);
                let el = start.elapsed();
                if due > el {
                    std::thread::sleep((due - el).min(deadline - Instant::now()));
                }
            }
            match c.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => total += n as u64,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        drop(c);
        Ok((total, rcvbuf))
    }

    /// The sender: connect, write `bytes` while a second thread samples TCP_INFO, shut down
    /// the sending side and wait for the receiver's close (every byte acknowledged).
    fn source(
        addr: SocketAddrV4,
        o: &TransferOptions,
        deadline: Instant,
    ) -> io::Result<TransferReport> {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        set_congestion(&s, o.cc)?;
        s.connect_timeout(&addr.into(), Duration::from_secs(5))?;
        let fd = s.as_raw_fd();
        let mut stream: TcpStream = s.into();
        stream.set_write_timeout(Some(Duration::from_millis(200)))?;
        stream.set_read_timeout(Some(Duration::from_millis(200)))?;
        let t0 = Instant::now();
        let stop = AtomicBool::new(false);
        let every = o.sample_every;
        let cc = o.cc;
        let (samples, sent, complete) = std::thread::scope(|sc| {
            let sampler = sc.spawn(|| {
                let mut v: Vec<Sample> = Vec::new();
                loop {
                    let done = stop.load(Ordering::Relaxed);
                    if let Ok(info) = tcp_info(fd) {
                        v.push(Sample {
                            t: t0.elapsed().as_secs_f64(),
                            unix: now_unix(),
                            info,
                            phase: Phase::of(&info, cc),
                        });
                    }
                    if done || v.len() >= MAX_SAMPLES || Instant::now() >= deadline {
                        break;
                    }
                    std::thread::sleep(every);
                }
                v
            });
            let block = vec![b'w'; 65536];
            let mut sent = 0u64;
            let mut failed = None;
            while sent < o.bytes && Instant::now() < deadline {
                let n = (o.bytes - sent).min(block.len() as u64) as usize;
                match stream.write(&block[..n]) {
                    Ok(k) => sent += k as u64,
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) => {}
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            let mut complete = false;
            if failed.is_none() && sent == o.bytes {
                let _ = stream.shutdown(Shutdown::Write);
                // The receiver closes after reading everything: its FIN means every byte
                // arrived (and was acknowledged).
                let mut b = [0u8; 64];
                while Instant::now() < deadline {
                    match stream.read(&mut b) {
                        Ok(0) => {
                            complete = true;
                            break;
                        }
                        Ok(_) => {}
                        Err(e)
                            if matches!(
                                e.kind(),
                                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                            ) => {}
                        Err(_) => break,
                    }
                }
            }
            stop.store(true, Ordering::Relaxed);
            let samples = sampler.join().unwrap_or_default();
            (samples, sent, complete)
        });
        let elapsed = t0.elapsed().as_secs_f64();
        drop(stream);
        Ok(TransferReport {
            sent,
            complete,
            elapsed,
            samples,
            ..TransferReport::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(cwnd: u32, ssthresh: u32, ca: u8) -> TcpInfo {
        TcpInfo {
            state: 1,
            ca_state: ca,
            snd_cwnd: cwnd,
            snd_ssthresh: ssthresh,
            snd_mss: 1448,
            ..TcpInfo::default()
        }
    }

    #[test]
    fn parse_reads_the_kernel_offsets() {
        let mut b = vec![0u8; 240];
        b[0] = 1;
        b[1] = 3;
        b[80..84].copy_from_slice(&42u32.to_ne_bytes());
        b[76..80].copy_from_slice(&SSTHRESH_INFINITE.to_ne_bytes());
        b[68..72].copy_from_slice(&40_123u32.to_ne_bytes());
        b[228..232].copy_from_slice(&65_535u32.to_ne_bytes());
        b[160..168].copy_from_slice(&1_250_000u64.to_ne_bytes());
        let i = TcpInfo::parse(&b).unwrap();
        assert_eq!(
            (i.state, i.ca_state, i.snd_cwnd, i.rtt_us),
            (1, 3, 42, 40_123)
        );
        assert_eq!(i.ssthresh(), None);
        assert_eq!(i.snd_wnd, Some(65_535));
        assert_eq!(i.delivery_rate, Some(1_250_000));
        // An older kernel's shorter struct: the newer fields are absent, not zero.
        let old = TcpInfo::parse(&b[..104]).unwrap();
        assert_eq!(
            (old.snd_cwnd, old.snd_wnd, old.delivery_rate),
            (42, None, None)
        );
        assert!(TcpInfo::parse(&b[..50]).is_none());
    }

    #[test]
    fn phases_follow_the_congestion_state() {
        assert_eq!(
            Phase::of(&info(10, SSTHRESH_INFINITE, 0), Cc::Reno),
            Phase::SlowStart
        );
        assert_eq!(
            Phase::of(&info(30, 20, 0), Cc::Reno),
            Phase::CongestionAvoidance
        );
        assert_eq!(Phase::of(&info(30, 20, 3), Cc::Reno), Phase::FastRecovery);
        assert_eq!(Phase::of(&info(1, 20, 4), Cc::Cubic), Phase::Timeout);
        assert_eq!(
            Phase::of(&info(30, SSTHRESH_INFINITE, 0), Cc::Bbr),
            Phase::Bbr
        );
        let mut z = info(30, 20, 0);
        z.snd_wnd = Some(0);
        assert_eq!(Phase::of(&z, Cc::Reno), Phase::ZeroWindow);
    }

    #[test]
    fn story_finds_the_end_of_slow_start() {
        let mk = |t, cwnd, ss, ca| {
            let i = info(cwnd, ss, ca);
            Sample {
                t,
                unix: t,
                info: i,
                phase: Phase::of(&i, Cc::Reno),
            }
        };
        let v = vec![
            mk(0.0, 10, SSTHRESH_INFINITE, 0),
            mk(0.1, 40, SSTHRESH_INFINITE, 0),
            mk(0.2, 80, SSTHRESH_INFINITE, 0),
            mk(0.3, 40, 40, 3),
            mk(0.4, 41, 40, 0),
        ];
        let s = CwndStory::of(&v);
        assert_eq!((s.first_cwnd, s.slow_start_peak, s.max_cwnd), (10, 80, 80));
        assert_eq!(s.slow_start_end, Some(0.3));
        assert_eq!(s.ssthresh_after, Some(40));
        assert!((s.slow_start_growth() - 8.0).abs() < 1e-9);
        let mut out = String::new();
        cwnd_plot(&v, "cwnd", 60, &mut out);
        assert!(
            out.contains('/') && out.contains('R') && out.contains('*'),
            "{out}"
        );
    }
}
