//! TCP sequence analysis: what a segment means given everything seen before it.
//!
//! # The idea
//!
//! One TCP header on its own says little: "sequence number 2847395812" means nothing until
//! you know the connection started at 2847395800, and then it means "byte 12". Whether a
//! segment is new data, a copy sent again, or an acknowledgment that repeats the last one,
//! can only be told by remembering the connection so far. For each direction this module
//! remembers:
//!
//! * the *initial sequence number* (ISN), so sequence and acknowledgment numbers can be shown
//!   *relative* to it, as small numbers starting at 0 (the SYN) or 1 (the first data byte);
//! * the highest sequence number sent so far (`nextseq`): a segment that starts below it
//!   carries bytes that were sent before, so it is a *retransmission*;
//! * the segments not yet acknowledged, with the time each was sent: when an acknowledgment
//!   covers one exactly, the time between them is a *round-trip time* sample, and the bytes
//!   still unacknowledged are the *bytes in flight*;
//! * the last acknowledgment number and window sent: repeating both with no data is a
//!   *duplicate ACK*, the receiver's way of saying "I am still missing byte N". Three of
//!   them make the sender retransmit at once (*fast retransmit*, RFC 5681) instead of waiting
//!   for its timeout;
//! * the *window scale* each side asked for in its SYN (RFC 7323): later windows are
//!   multiplied by 2^shift, so that a 16-bit field can advertise more than 64 KiB.
//!
//! The rules below are the ones Wireshark 4.0 applies (its TCP "SEQ/ACK analysis"), so that
//! `tcp.analysis.*` fields mean exactly what they mean in Wireshark, and the corpus test can
//! compare them with tshark's output frame by frame. Each rule is written out in words where
//! it is applied. The sequence arithmetic is modulo 2^32 ([`Seq`]): "a is after b" means the
//! 32-bit difference `a - b`, read as a signed number, is positive (RFC 9293 § 3.4), so numbers
//! keep working after they wrap from 4294967295 back to 0. The flags are [`Flags`], and the
//! relative numbering ([`TcpConn::number`]) is the part every view needs.

use crate::dissect::model::Timestamp;
use crate::dissect::tcp::{Flags, Seq, TcpAnalysis, WindowScale};

/// Wireshark keeps at most this many unacknowledged segments per direction.
pub const MAX_UNACKED: usize = 10_000;
/// SACK blocks remembered from one segment, for the bytes-in-flight count.
const MAX_SACK: usize = 3;

/// Time in nanoseconds since the Unix epoch (or, for a difference, nanoseconds).
pub type Nanos = i128;

pub fn nanos(ts: Timestamp) -> Nanos {
    ts.secs as i128 * 1_000_000_000 + ts.nanos as i128
}

/// The analysis flags, one bit each (Wireshark's `TCP_A_*`), defined with the typed view
/// that carries them.
pub use crate::dissect::tcp::analysis::flag;

/// A window scale not known yet (no SYN seen).
pub const WSCALE_UNKNOWN: i8 = -1;
/// Window scaling known not to be in use (a SYN without the option).
pub const WSCALE_NONE: i8 = -2;

/// One segment sent and not yet acknowledged.
#[derive(Clone, Copy, Debug)]
struct Unacked {
    frame: u64,
    seq: Seq,
    nextseq: Seq,
    ts: Nanos,
    /// Sent before (Karn's rule: its acknowledgment gives no RTT sample for the estimator).
    again: bool,
    /// Carried data (not only a SYN or FIN).
    data: bool,
}

/// What one direction of the connection remembers.
#[derive(Clone, Debug)]
pub struct Flow {
    /// The sequence number relative numbers count from: the ISN, or one before the first
    /// sequence number seen when the SYN was missed (so data starts at 1 either way).
    pub base_seq: Seq,
    pub base_set: bool,
    /// The shift this side asked for, or [`WSCALE_UNKNOWN`] / [`WSCALE_NONE`].
    pub win_scale: i8,
    /// The last window this side advertised, as written in the header (unscaled).
    pub window: u32,
    is_first_ack: bool,
    closing_initiator: bool,
    valid_bif: bool,
    push_bytes_sent: u32,
    push_set_last: bool,
    /// The sequence number just past the highest byte (or SYN/FIN) sent so far; 0 = none yet
    /// (Wireshark's convention, kept so the rules read as its do).
    pub nextseq: Seq,
    nextseq_frame: u64,
    nextseq_time: Nanos,
    maxseqtobeacked: Seq,
    /// The acknowledgment number this side sent last.
    pub lastack: Seq,
    lastack_time: Nanos,
    lastnondupack: u64,
    dupacknum: i32,
    /// Unacknowledged segments, oldest first.
    segments: Vec<Unacked>,
    lastsegmentflags: u32,
    sack: [(u32, u32); MAX_SACK],
    num_sack: usize,
}

impl Default for Flow {
    fn default() -> Flow {
        Flow {
            base_seq: Seq(0),
            base_set: false,
            win_scale: WSCALE_UNKNOWN,
            window: u32::MAX,
            is_first_ack: false,
            closing_initiator: false,
            valid_bif: true,
            push_bytes_sent: 0,
            push_set_last: false,
            nextseq: Seq(0),
            nextseq_frame: 0,
            nextseq_time: 0,
            maxseqtobeacked: Seq(0),
            lastack: Seq(0),
            lastack_time: 0,
            lastnondupack: 0,
            dupacknum: 0,
            segments: Vec::new(),
            lastsegmentflags: 0,
            sack: [(0, 0); MAX_SACK],
            num_sack: 0,
        }
    }
}

impl Flow {
    /// How many unacknowledged segments this direction holds (for the memory bound).
    pub fn unacked(&self) -> usize {
        self.segments.len()
    }

    /// Forget the unacknowledged segments (when a finished connection's state is dropped).
    pub fn forget_segments(&mut self) {
        self.segments = Vec::new();
    }
}

/// One segment as the analysis needs it, read from the TCP header.
#[derive(Clone, Debug, Default)]
pub struct SegmentIn {
    pub frame: u64,
    pub ts: Nanos,
    pub seq: Seq,
    pub ack: Seq,
    pub flags: Flags,
    /// The window field as written.
    pub window: u16,
    /// The data length, when it can be known: not for the header an ICMP error quotes, nor
    /// for an IP fragment, nor when the header claims more bytes than the packet has.
    pub seglen: Option<u32>,
    /// The header length is at least 20 bytes (otherwise the header is bogus and Wireshark
    /// stops right after the sequence number).
    pub header_ok: bool,
    /// Part of an ICMP error message.
    pub quoted: bool,
    /// The window scale option's shift, if the segment carries one.
    pub wscale: Option<u8>,
    /// SACK blocks (left, right edges as written): the first `n_sack` of `sacks`.
    pub sacks: [(Seq, Seq); 4],
    pub n_sack: u8,
}

impl SegmentIn {
    /// The SACK blocks the segment carries.
    pub fn sack(&self) -> &[(Seq, Seq)] {
        &self.sacks[..(self.n_sack as usize).min(4)]
    }
}

/// What the analysis found about one segment: Wireshark's per-frame analysis record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Findings {
    /// Wireshark made an analysis record for this frame (only then does it show the
    /// `tcp.analysis` subtree, iRTT included).
    pub present: bool,
    pub flags: u32,
    /// The frame whose segment this one acknowledges exactly.
    pub acks_frame: Option<u64>,
    /// Time since that frame, in nanoseconds (0: none).
    pub ack_rtt: Nanos,
    /// The segment acknowledged was itself sent more than once (Karn: no RTT sample).
    pub ack_of_retransmission: bool,
    /// The segment acknowledged carried data (else only a SYN or a FIN).
    pub ack_of_data: bool,
    pub bytes_in_flight: u32,
    pub push_bytes_sent: u32,
    pub dupack_num: u32,
    pub dupack_frame: u64,
    /// For a retransmission: time since the segment it repeats was first sent, and its frame.
    pub rto: Nanos,
    pub rto_frame: u64,
}

impl Findings {
    fn touch(&mut self) -> &mut Findings {
        self.present = true;
        self
    }

    fn set(&mut self, f: u32) {
        self.present = true;
        self.flags |= f;
    }

    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }
}

/// The analysis of one segment, ready to be shown.
#[derive(Clone, Debug, Default)]
pub struct SegmentOut {
    pub stream: u32,
    /// `tcp.seq`: relative to the sender's ISN (raw where no analysis ran).
    pub seq: u32,
    /// `tcp.ack`: relative to the receiver's ISN when ACK is set, else as written.
    pub ack: u32,
    /// `tcp.nxtseq`: the sequence number after this segment (SYN and FIN count one).
    pub nxtseq: Option<u32>,
    /// `tcp.window_size`: the window in bytes, scaled where scaling is known.
    pub window: u32,
    /// `tcp.window_size_scalefactor`: 2^shift, or -1 unknown, -2 not used; none for a SYN.
    pub scalefactor: Option<i32>,
    pub findings: Findings,
    /// `tcp.analysis.initial_rtt`, in nanoseconds.
    pub initial_rtt: Option<Nanos>,
    /// `tcp.time_relative`, `tcp.time_delta`.
    pub time_relative: Nanos,
    pub time_delta: Nanos,
    /// What to subtract from SACK edges to make them relative (the receiver's base).
    pub sack_base: u32,
    /// The segment's length was known, so the analysis ran and the numbers are relative.
    pub analysed: bool,
    /// The header length is at least 20 bytes (Wireshark shows nothing after `tcp.seq`
    /// otherwise).
    pub header_ok: bool,
}

impl SegmentOut {
    /// The result as the typed view carries it.
    pub fn analysis(&self) -> TcpAnalysis {
        TcpAnalysis {
            stream: self.stream,
            seq: self.seq,
            ack: self.ack,
            relative: self.analysed,
            nxtseq: self.nxtseq,
            window: self.window,
            scale: WindowScale::from_factor(self.scalefactor),
            flags: self.findings.flags,
        }
    }
}

/// One TCP connection's analysis state.
#[derive(Clone, Debug)]
pub struct TcpConn {
    pub stream: u32,
    /// Flows by side: index 0 is A → B.
    pub flows: [Flow; 2],
    ts_first: Nanos,
    ts_prev: Nanos,
    ts_mru_syn: Nanos,
    ts_first_rtt: Nanos,
}

impl TcpConn {
    pub fn new(stream: u32, ts: Nanos) -> TcpConn {
        TcpConn {
            stream,
            flows: [Flow::default(), Flow::default()],
            ts_first: ts,
            ts_prev: ts,
            ts_mru_syn: 0,
            ts_first_rtt: 0,
        }
    }

    /// Wireshark's iRTT: from the last SYN to the first ACK after it. 0 until then.
    pub fn initial_rtt(&self) -> Nanos {
        self.ts_first_rtt
    }

    /// A SYN from `side`: does it open a new connection on the same ports? It does when this
    /// side's ISN is already known and the SYN carries a different one.
    pub fn syn_reuses_ports(&self, side: usize, seq: Seq) -> bool {
        let f = &self.flows[side];
        f.base_set && seq != f.base_seq
    }

    /// Analyse one segment sent by `side` (0 or 1). `reused` says the segment was the SYN that
    /// opened this connection on ports used before.
    pub fn segment(&mut self, side: usize, s: &SegmentIn, reused: bool) -> SegmentOut {
        let (fwd_i, rev_i) = (side, 1 - side);
        let mut ta = Findings::default();

        // A new connection on old ports (the tracker made this connection for it).
        if reused {
            ta.set(flag::REUSED_PORTS);
        } else if s.flags.is_syn_only()
            && self.flows[fwd_i].base_set
            && s.seq == self.flows[fwd_i].base_seq
        {
            // The same SYN again: a retransmitted SYN. Put `nextseq` back where the
            // acknowledged data ended, as a RST may have moved it.
            let f = &mut self.flows[fwd_i];
            f.nextseq = f.maxseqtobeacked;
            ta.touch();
        }
        if self.synack_with_new_isn(fwd_i, s) {
            ta.set(flag::REUSED_PORTS);
        }
        // SACK blocks are counted afresh for every segment.
        self.flows[fwd_i].num_sack = 0;

        // Times relative to this conversation.
        let time_delta = s.ts - self.ts_prev;
        self.ts_prev = s.ts;
        let time_relative = s.ts - self.ts_first;

        let mut out = SegmentOut {
            time_relative,
            time_delta,
            ..self.raw_out(s)
        };
        if let Some(seglen) = s.seglen {
            self.learn_isns(fwd_i, s);
            self.analyze(fwd_i, s, seglen, &mut ta);
            self.relative(fwd_i, s, seglen, &mut out);
        }
        out.scalefactor = self.scalefactor(fwd_i, s);
        if !s.header_ok {
            // Wireshark stops here for a bogus header length: no ACK number, no options.
            out.nxtseq = None;
            out.findings = ta;
            out.sack_base = self.flows[rev_i].base_seq.0;
            return out;
        }

        if s.flags.syn() {
            if !s.flags.ack() {
                self.ts_mru_syn = s.ts;
            }
            self.flows[fwd_i].is_first_ack = true;
        }
        if s.flags.fin() && !self.flows[rev_i].closing_initiator {
            self.flows[fwd_i].closing_initiator = true;
        }
        // The initial RTT: from the most recent SYN to the first ACK without SYN after it.
        let plain_ack = s.flags.ack() && !s.flags.syn();
        if plain_ack && self.ts_mru_syn != 0 && self.ts_first_rtt == 0 {
            self.ts_first_rtt = s.ts - self.ts_mru_syn;
        }
        if plain_ack {
            self.flows[fwd_i].is_first_ack = false;
        }

        // SACK blocks, for bytes in flight (the left and right edges are in the other side's
        // sequence space).
        let sack_base = self.flows[rev_i].base_seq;
        {
            let fwd = &mut self.flows[fwd_i];
            fwd.num_sack = 0;
            for (i, &(l, r)) in s.sack().iter().enumerate() {
                if i >= MAX_SACK {
                    break;
                }
                fwd.sack[i] = (l.since(sack_base), r.since(sack_base));
                fwd.num_sack = i + 1;
            }
        }

        if ta.present && self.ts_first_rtt != 0 {
            out.initial_rtt = Some(self.ts_first_rtt);
        }
        self.settle_window_scale(fwd_i, s);
        out.findings = ta;
        out.sack_base = sack_base.0;
        out
    }

    /// Only the numbering of [`TcpConn::segment`]: relative sequence and acknowledgment
    /// numbers and the scaled window, without the SEQ/ACK analysis (what the one-line summary
    /// needs, at a fraction of the cost). The numbers are those `segment` gives, step for
    /// step, because both run the same four steps below.
    pub fn number(&mut self, side: usize, s: &SegmentIn) -> SegmentOut {
        self.synack_with_new_isn(side, s);
        let mut out = self.raw_out(s);
        if let Some(seglen) = s.seglen {
            self.learn_isns(side, s);
            self.relative(side, s, seglen, &mut out);
        }
        out.scalefactor = self.scalefactor(side, s);
        if !s.header_ok {
            out.nxtseq = None;
            return out;
        }
        self.settle_window_scale(side, s);
        out.sack_base = self.flows[1 - side].base_seq.0;
        out
    }

    /// The numbers as written, before any are made relative.
    fn raw_out(&self, s: &SegmentIn) -> SegmentOut {
        SegmentOut {
            stream: self.stream,
            seq: s.seq.0,
            ack: s.ack.0,
            window: s.window as u32,
            header_ok: s.header_ok,
            ..SegmentOut::default()
        }
    }

    /// A SYN-ACK with a different ISN than the one recorded: take the new one (the ports
    /// were reused for a new connection). Returns whether it did.
    fn synack_with_new_isn(&mut self, fwd_i: usize, s: &SegmentIn) -> bool {
        let f = &mut self.flows[fwd_i];
        if s.flags.is_syn_ack() && f.base_set && s.seq != f.base_seq {
            f.base_seq = s.seq;
            return true;
        }
        false
    }

    /// Relative numbers count from each side's ISN. Without the SYN, pretend the ISN was one
    /// before the first sequence number seen, so data still starts at 1. The other side's ISN
    /// is one less than the first acknowledgment number it gets (that acknowledgment covers
    /// its SYN).
    fn learn_isns(&mut self, fwd_i: usize, s: &SegmentIn) {
        let fwd = &mut self.flows[fwd_i];
        if !fwd.base_set {
            fwd.base_seq = if s.flags.syn() { s.seq } else { s.seq - 1 };
            fwd.base_set = true;
        }
        let rev = &mut self.flows[1 - fwd_i];
        if !rev.base_set && s.flags.ack() {
            rev.base_seq = s.ack - 1;
            rev.base_set = true;
        }
    }

    /// `tcp.seq`, `tcp.ack`, `tcp.window_size` and `tcp.nxtseq` for a segment whose length is
    /// known.
    fn relative(&self, fwd_i: usize, s: &SegmentIn, seglen: u32, out: &mut SegmentOut) {
        let (fwd, rev) = (&self.flows[fwd_i], &self.flows[1 - fwd_i]);
        out.analysed = true;
        out.seq = s.seq.since(fwd.base_seq);
        if s.flags.ack() {
            out.ack = s.ack.since(rev.base_seq);
        }
        // SYNs are never scaled; later windows are multiplied by 2^shift.
        if !s.flags.syn() && fwd.win_scale >= 0 {
            out.window = (s.window as u32).wrapping_shl(fwd.win_scale as u32);
        }
        out.nxtseq = Some(
            out.seq
                .wrapping_add(seglen)
                .wrapping_add(s.flags.intersects(Flags::SYN | Flags::FIN) as u32),
        );
    }

    /// `tcp.window_size_scalefactor`: 2^shift, -1 unknown, -2 not used; none for a SYN.
    fn scalefactor(&self, fwd_i: usize, s: &SegmentIn) -> Option<i32> {
        if s.flags.syn() {
            return None;
        }
        let ws = self.flows[fwd_i].win_scale;
        Some(if ws >= 0 { 1 << ws } else { ws as i32 })
    }

    /// The window scale option is remembered for its side; a SYN settles whether window
    /// scaling is used at all: both SYNs must carry the option (RFC 7323 § 2.2).
    fn settle_window_scale(&mut self, fwd_i: usize, s: &SegmentIn) {
        let rev_i = 1 - fwd_i;
        if let Some(shift) = s.wscale {
            self.flows[fwd_i].win_scale = shift.min(14) as i8;
        }
        if s.flags.syn() {
            let (fwd_ws, rev_ws) = (self.flows[fwd_i].win_scale, self.flows[rev_i].win_scale);
            if fwd_ws == WSCALE_UNKNOWN {
                self.flows[fwd_i].win_scale = WSCALE_NONE;
                self.flows[rev_i].win_scale = WSCALE_NONE;
            } else if s.flags.is_syn_ack() && rev_ws == WSCALE_NONE {
                self.flows[fwd_i].win_scale = WSCALE_NONE;
            }
        }
    }

    /// The sequence analysis proper, run on every segment whose length is known. `seq`, `ack`
    /// and the window are the raw values from the header.
    fn analyze(&mut self, fwd_i: usize, s: &SegmentIn, seglen: u32, ta: &mut Findings) {
        let (seq, ack, flags, window, now) = (s.seq, s.ack, s.flags, s.window as u32, s.ts);
        let [f0, f1] = &mut self.flows;
        let (fwd, rev) = if fwd_i == 0 { (f0, f1) } else { (f1, f0) };

        if flags.ack() {
            rev.valid_bif = true;
        }

        'fwd: {
            // Zero window probe: one byte, exactly at the next expected sequence number,
            // sent while the receiver's window is zero.
            if seglen == 1 && seq == fwd.nextseq && rev.window == 0 {
                ta.set(flag::ZERO_WINDOW_PROBE);
                break 'fwd;
            }
            // Zero window: "I have no room at all" (not on SYN, FIN or RST).
            if window == 0 && !flags.intersects(Flags::RST | Flags::FIN | Flags::SYN) {
                ta.set(flag::ZERO_WINDOW);
            }
            // Lost segment: this one starts beyond everything sent so far, so something in
            // between was never captured.
            if fwd.nextseq != Seq(0) && seq > fwd.nextseq && !flags.rst() {
                ta.set(flag::LOST_PACKET);
                fwd.valid_bif = false;
            }
            // Keep-alive: 0 or 1 byte starting one before the next sequence number.
            if seglen <= 1
                && seq == (fwd.nextseq - 1)
                && !flags.intersects(Flags::SYN | Flags::FIN | Flags::RST)
            {
                ta.set(flag::KEEP_ALIVE);
            }
            // Window update: no data, same seq and ack as before, a new (non-zero) window.
            if seglen == 0
                && window != 0
                && window != fwd.window
                && seq == fwd.nextseq
                && ack == fwd.lastack
                && !flags.intersects(Flags::SYN | Flags::FIN | Flags::RST)
            {
                ta.set(flag::WINDOW_UPDATE);
            }
            // Window full: the data reaches exactly the right edge of the receiver's window.
            if seglen > 0
                && rev.win_scale != WSCALE_UNKNOWN
                && !flags.intersects(Flags::SYN | Flags::FIN | Flags::RST)
            {
                let shift = if rev.is_first_ack || rev.win_scale == WSCALE_NONE {
                    0
                } else {
                    rev.win_scale as u32
                };
                let edge = rev.lastack + rev.window.wrapping_shl(shift);
                if (seq + seglen) == edge {
                    ta.set(flag::WINDOW_FULL);
                }
            }
            let same_as_before = seglen == 0
                && window == fwd.window
                && seq == fwd.nextseq
                && ack == fwd.lastack
                && !flags.intersects(Flags::SYN | Flags::FIN | Flags::RST);
            // Keep-alive ACK: repeats the last ACK right after the other side's keep-alive.
            if same_as_before && window != 0 && rev.lastsegmentflags & flag::KEEP_ALIVE != 0 {
                ta.set(flag::KEEP_ALIVE_ACK);
                break 'fwd;
            }
            // Zero window probe ACK: repeats a zero window right after a probe.
            if same_as_before && window == 0 && rev.lastsegmentflags & flag::ZERO_WINDOW_PROBE != 0
            {
                ta.set(flag::ZERO_WINDOW_PROBE_ACK);
                break 'fwd;
            }
            // Duplicate ACK: no data, and window, seq and ack all the same as last time.
            if same_as_before && window != 0 {
                fwd.dupacknum = if fwd.dupacknum == -1 {
                    1
                } else {
                    fwd.dupacknum + 1
                };
                ta.set(flag::DUPLICATE_ACK);
                ta.dupack_num = fwd.dupacknum.max(0) as u32;
                ta.dupack_frame = fwd.lastnondupack;
            }
        }

        // A new acknowledgment number resets the duplicate count.
        if ack != fwd.lastack {
            fwd.lastnondupack = s.frame;
            fwd.dupacknum = 0;
        }

        // ACKed unseen segment: the acknowledgment covers bytes the other side was never seen
        // sending (the capture missed them).
        if rev.maxseqtobeacked != Seq(0) && ack > rev.maxseqtobeacked && flags.ack() {
            ta.touch();
            if rev.maxseqtobeacked < rev.nextseq {
                rev.maxseqtobeacked = rev.nextseq;
                ta.set(flag::ACK_LOST_PACKET);
            } else {
                if rev.dupacknum == 0 {
                    ta.set(flag::ACK_LOST_PACKET);
                }
                rev.dupacknum = -1;
            }
        }

        // Retransmission, fast retransmission, out of order: a segment with data (or a SYN
        // or FIN) that does not move the sequence number forward.
        if seglen > 0 || flags.intersects(Flags::SYN | Flags::FIN) {
            'kind: {
                let mut not_advanced = fwd.nextseq != Seq(0) && seq < fwd.nextseq;
                if ta.has(flag::KEEP_ALIVE) {
                    break 'kind;
                }
                // More than one byte starting one before nextseq is new data after a zero
                // window probe, not a retransmission.
                if seglen > 1 && (fwd.nextseq - 1) == seq {
                    not_advanced = false;
                }
                // Spurious: every byte was already acknowledged by the other side.
                if seglen > 0 && rev.lastack != Seq(0) && (seq + seglen) <= rev.lastack {
                    ta.set(flag::SPURIOUS_RETRANSMISSION);
                    break 'kind;
                }
                // Fast retransmission: at least two duplicate ACKs asked for exactly this
                // sequence number, the last of them less than 20 ms ago.
                let since_ack = now - rev.lastack_time;
                if not_advanced
                    && rev.dupacknum >= 2
                    && rev.lastack == seq
                    && (0..20_000_000).contains(&since_ack)
                {
                    ta.set(flag::FAST_RETRANSMISSION);
                    break 'kind;
                }
                // Out of order: arrives soon (within the initial RTT, or 3 ms) after the
                // highest segment, and does not simply end where that one started.
                let since_next = now - fwd.nextseq_time;
                let threshold = if self.ts_first_rtt == 0 {
                    3_000_000
                } else {
                    self.ts_first_rtt
                };
                let syn_fin = u32::from(flags.intersects(Flags::SYN | Flags::FIN));
                if not_advanced
                    && since_next >= 0
                    && since_next < threshold
                    && fwd.nextseq != seq + seglen + syn_fin
                {
                    ta.set(flag::OUT_OF_ORDER);
                    break 'kind;
                }
                if not_advanced {
                    ta.set(flag::RETRANSMISSION);
                    // The timeout it waited: since the oldest unacknowledged segment was
                    // sent (or since the highest one, if none is waiting).
                    ta.rto = now - fwd.nextseq_time;
                    ta.rto_frame = fwd.nextseq_frame;
                    if let Some(oldest) = fwd.segments.first() {
                        ta.rto = now - oldest.ts;
                        ta.rto_frame = oldest.frame;
                    }
                }
            }
        }

        // Remember the segment until it is acknowledged.
        let mut nextseq = seq + seglen;
        if (seglen > 0 || flags.intersects(Flags::SYN | Flags::FIN))
            && fwd.segments.len() < MAX_UNACKED
        {
            if flags.intersects(Flags::SYN | Flags::FIN) {
                nextseq += 1;
            }
            let again = ta.has(
                flag::RETRANSMISSION
                    | flag::FAST_RETRANSMISSION
                    | flag::SPURIOUS_RETRANSMISSION
                    | flag::OUT_OF_ORDER,
            );
            fwd.segments.push(Unacked {
                frame: s.frame,
                seq,
                nextseq,
                ts: now,
                again,
                data: seglen > 0,
            });
        }
        let probe = ta.has(flag::ZERO_WINDOW_PROBE);
        if (nextseq > fwd.nextseq || fwd.nextseq == Seq(0)) && !probe {
            fwd.nextseq = nextseq;
            fwd.nextseq_frame = s.frame;
            fwd.nextseq_time = now;
        }
        if (seq == fwd.maxseqtobeacked || fwd.maxseqtobeacked == Seq(0)) && !probe {
            fwd.maxseqtobeacked = fwd.nextseq;
        }
        fwd.window = window;
        fwd.lastack = ack;
        fwd.lastack_time = now;
        fwd.lastsegmentflags = ta.flags;

        // The acknowledgment removes the other side's segments it covers. One it covers
        // exactly gives the round-trip time (the oldest such segment, if sent twice).
        let mut acked: Option<Unacked> = None;
        rev.segments.retain_mut(|u| {
            if ack == u.nextseq {
                if acked.is_none() {
                    acked = Some(*u);
                }
                false
            } else if ack > u.seq && ack <= u.nextseq {
                // Part of it: the rest stays unacknowledged.
                u.seq = ack;
                true
            } else {
                u.nextseq > ack
            }
        });
        if let Some(u) = acked {
            ta.touch();
            ta.acks_frame = Some(u.frame);
            ta.ack_rtt = now - u.ts;
            ta.ack_of_retransmission = u.again;
            ta.ack_of_data = u.data;
        }

        // Bytes in flight: from the lowest to the highest unacknowledged byte this side has
        // sent, less what the other side reported receiving out of order (SACK).
        if seglen != 0 && fwd.valid_bif && !fwd.segments.is_empty() {
            let base = fwd.base_seq;
            let mut first = u32::MAX;
            let mut last = 0u32;
            for u in &fwd.segments {
                first = first.min(u.seq.since(base));
                last = last.max(u.nextseq.since(base));
            }
            let mut in_flight = last.wrapping_sub(first);
            let delivered = rev.sack[..rev.num_sack]
                .iter()
                .fold(0u32, |acc, (l, r)| acc.wrapping_add(r.wrapping_sub(*l)));
            in_flight = in_flight.wrapping_sub(delivered);
            if in_flight > 0 && in_flight < 2_000_000_000 {
                ta.touch().bytes_in_flight = in_flight;
                if flags.intersects(Flags::SYN | Flags::FIN) {
                    ta.bytes_in_flight -= 1;
                }
            }
            // Bytes sent since the last segment with PSH set.
            let psh = flags.psh();
            if psh && !fwd.push_set_last {
                fwd.push_bytes_sent = fwd.push_bytes_sent.wrapping_add(seglen);
            } else if psh || fwd.push_set_last {
                fwd.push_bytes_sent = seglen;
            } else {
                fwd.push_bytes_sent = fwd.push_bytes_sent.wrapping_add(seglen);
            }
            fwd.push_set_last = psh;
            ta.touch().push_bytes_sent = fwd.push_bytes_sent;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Nanos = 1_000_000;
    const SYN: Flags = Flags::SYN;
    const ACK: Flags = Flags::ACK;
    const PSH: Flags = Flags::PSH;

    fn seg(frame: u64, t_ms: i128, seq: u32, ack: u32, flags: Flags, len: u32) -> SegmentIn {
        SegmentIn {
            frame,
            ts: (1000 + t_ms) * MS, // Wireshark treats time 0 as "not set"
            seq: Seq(seq),
            ack: Seq(ack),
            flags,
            window: 1000,
            seglen: Some(len),
            header_ok: true,
            ..SegmentIn::default()
        }
    }

    /// Handshake, one data segment and its ACK: relative numbers, iRTT, ACK RTT.
    #[test]
    fn segment_handshake_and_data() {
        let isn_a = 1_000;
        let isn_b = 5_000;
        let mut c = TcpConn::new(0, 0);
        let o = c.segment(0, &seg(1, 0, isn_a, 0, SYN, 0), false);
        assert_eq!((o.seq, o.ack, o.nxtseq), (0, 0, Some(1)));
        let o = c.segment(1, &seg(2, 10, isn_b, isn_a + 1, SYN | ACK, 0), false);
        assert_eq!((o.seq, o.ack), (0, 1));
        assert_eq!(o.findings.acks_frame, Some(1));
        assert_eq!(o.findings.ack_rtt, 10 * MS);
        let o = c.segment(0, &seg(3, 12, isn_a + 1, isn_b + 1, ACK, 0), false);
        assert_eq!((o.seq, o.ack), (1, 1));
        assert_eq!(o.initial_rtt, Some(12 * MS));
        let o = c.segment(0, &seg(4, 13, isn_a + 1, isn_b + 1, ACK | PSH, 100), false);
        assert_eq!(o.nxtseq, Some(101));
        assert_eq!(o.findings.bytes_in_flight, 100);
        let o = c.segment(1, &seg(5, 23, isn_b + 1, isn_a + 101, ACK, 0), false);
        assert_eq!(o.ack, 101);
        assert_eq!(o.findings.acks_frame, Some(4));
        assert_eq!(o.findings.ack_rtt, 10 * MS);
    }

    /// Relative numbering keeps counting across the wrap from 2^32 - 1 to 0.
    #[test]
    fn segment_relative_numbers_across_wraparound() {
        let isn = u32::MAX - 9; // data starts at u32::MAX - 8
        let mut c = TcpConn::new(0, 0);
        c.segment(0, &seg(1, 0, isn, 0, SYN, 0), false);
        c.segment(1, &seg(2, 1, 77, isn.wrapping_add(1), SYN | ACK, 0), false);
        let o = c.segment(0, &seg(3, 2, isn.wrapping_add(1), 78, ACK, 20), false);
        assert_eq!(o.seq, 1);
        assert_eq!(o.nxtseq, Some(21));
        // The next segment's raw sequence number has wrapped past zero.
        let wrapped = isn.wrapping_add(21);
        assert!(wrapped < 100, "raw {wrapped} wrapped");
        let o = c.segment(0, &seg(4, 3, wrapped, 78, ACK, 20), false);
        assert_eq!(o.seq, 21);
        assert!(!o.findings.has(flag::RETRANSMISSION));
        assert!(!o.findings.has(flag::LOST_PACKET));
        // The receiver acknowledges across the wrap too.
        let o = c.segment(1, &seg(5, 4, 78, isn.wrapping_add(41), ACK, 0), false);
        assert_eq!(o.ack, 41);
        assert_eq!(o.findings.acks_frame, Some(4));
    }

    #[test]
    fn segment_retransmission_and_dup_acks() {
        let mut c = TcpConn::new(0, 1000 * MS);
        c.segment(0, &seg(1, 0, 100, 0, SYN, 0), false);
        c.segment(1, &seg(2, 1, 900, 101, SYN | ACK, 0), false);
        c.segment(0, &seg(3, 2, 101, 901, ACK, 0), false);
        c.segment(0, &seg(4, 3, 101, 901, ACK, 10), false);
        let o = c.segment(1, &seg(5, 4, 901, 111, ACK, 0), false);
        assert!(!o.findings.has(flag::DUPLICATE_ACK), "a new ACK number");
        // Bytes 111..121 get lost; 121..131 arrive, and the receiver asks again for 111.
        c.segment(0, &seg(6, 5, 111, 901, ACK, 10), false);
        c.segment(0, &seg(7, 5, 121, 901, ACK, 10), false);
        let o = c.segment(1, &seg(8, 6, 901, 111, ACK, 0), false);
        assert!(o.findings.has(flag::DUPLICATE_ACK));
        assert_eq!((o.findings.dupack_num, o.findings.dupack_frame), (1, 5));
        let o = c.segment(1, &seg(9, 7, 901, 111, ACK, 0), false);
        assert_eq!(o.findings.dupack_num, 2);
        // Sent again within 20 ms of the second duplicate: a fast retransmission.
        let o = c.segment(0, &seg(10, 8, 111, 901, ACK, 10), false);
        assert!(o.findings.has(flag::FAST_RETRANSMISSION));
        // Much later, once more: a plain retransmission, timed from the oldest unacked.
        let o = c.segment(0, &seg(11, 500, 111, 901, ACK, 10), false);
        assert!(o.findings.has(flag::RETRANSMISSION));
        assert_eq!(o.findings.rto_frame, 6);
        assert_eq!(o.findings.rto, 495 * MS);
        // The ACK for all of it acknowledges frame 7's segment exactly.
        let o = c.segment(1, &seg(12, 501, 901, 131, ACK, 0), false);
        assert_eq!(o.findings.acks_frame, Some(7));
    }

    #[test]
    fn segment_window_scale_needs_both_syns() {
        let mut c = TcpConn::new(0, 0);
        let mut s = seg(1, 0, 1, 0, SYN, 0);
        s.wscale = Some(7);
        c.segment(0, &s, false);
        let mut s = seg(2, 1, 1, 2, SYN | ACK, 0);
        s.wscale = Some(2);
        c.segment(1, &s, false);
        let o = c.segment(0, &seg(3, 2, 2, 2, ACK, 0), false);
        assert_eq!((o.window, o.scalefactor), (1000 << 7, Some(128)));
        // Without the option in the SYN-ACK, neither side scales.
        let mut c = TcpConn::new(0, 0);
        let mut s = seg(1, 0, 1, 0, SYN, 0);
        s.wscale = Some(7);
        c.segment(0, &s, false);
        c.segment(1, &seg(2, 1, 1, 2, SYN | ACK, 0), false);
        let o = c.segment(0, &seg(3, 2, 2, 2, ACK, 0), false);
        assert_eq!((o.window, o.scalefactor), (1000, Some(-2)));
    }

    #[test]
    fn segment_zero_window_and_update() {
        let mut c = TcpConn::new(0, 0);
        c.segment(0, &seg(1, 0, 1, 0, SYN, 0), false);
        c.segment(1, &seg(2, 1, 1, 2, SYN | ACK, 0), false);
        let mut z = seg(3, 2, 2, 2, ACK, 0);
        z.window = 0;
        let o = c.segment(0, &z, false);
        assert!(o.findings.has(flag::ZERO_WINDOW));
        let o = c.segment(0, &seg(4, 3, 2, 2, ACK, 0), false);
        assert!(o.findings.has(flag::WINDOW_UPDATE));
    }
}
