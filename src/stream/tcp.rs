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
//! it is applied. The sequence arithmetic is modulo 2^32: "a is after b" means the 32-bit
//! difference `a - b`, read as a signed number, is positive (RFC 9293 § 3.4), so numbers keep
//! working after they wrap from 4294967295 back to 0.

use crate::dissect::model::Timestamp;

/// TCP flag bits as they sit in the header's flags field.
pub const FIN: u16 = 0x001;
pub const SYN: u16 = 0x002;
pub const RST: u16 = 0x004;
pub const PSH: u16 = 0x008;
pub const ACK: u16 = 0x010;

/// Wireshark keeps at most this many unacknowledged segments per direction.
pub const MAX_UNACKED: usize = 10_000;
/// SACK blocks remembered from one segment, for the bytes-in-flight count.
const MAX_SACK: usize = 3;

/// Time in nanoseconds since the Unix epoch (or, for a difference, nanoseconds).
pub type Nanos = i128;

pub fn nanos(ts: Timestamp) -> Nanos {
    ts.secs as i128 * 1_000_000_000 + ts.nanos as i128
}

/// Is sequence number `a` after `b`, modulo 2^32?
pub fn seq_gt(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) < 0
}

/// Is `a` before `b`?
pub fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Is `a` at or before `b`?
pub fn seq_le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

/// The analysis flags, one bit each (Wireshark's `TCP_A_*`).
pub mod flag {
    pub const RETRANSMISSION: u32 = 0x0001;
    pub const LOST_PACKET: u32 = 0x0002;
    pub const ACK_LOST_PACKET: u32 = 0x0004;
    pub const KEEP_ALIVE: u32 = 0x0008;
    pub const DUPLICATE_ACK: u32 = 0x0010;
    pub const ZERO_WINDOW: u32 = 0x0020;
    pub const ZERO_WINDOW_PROBE: u32 = 0x0040;
    pub const ZERO_WINDOW_PROBE_ACK: u32 = 0x0080;
    pub const KEEP_ALIVE_ACK: u32 = 0x0100;
    pub const OUT_OF_ORDER: u32 = 0x0200;
    pub const FAST_RETRANSMISSION: u32 = 0x0400;
    pub const WINDOW_UPDATE: u32 = 0x0800;
    pub const WINDOW_FULL: u32 = 0x1000;
    pub const REUSED_PORTS: u32 = 0x2000;
    pub const SPURIOUS_RETRANSMISSION: u32 = 0x4000;
}

/// A window scale not known yet (no SYN seen).
pub const WSCALE_UNKNOWN: i8 = -1;
/// Window scaling known not to be in use (a SYN without the option).
pub const WSCALE_NONE: i8 = -2;

/// One segment sent and not yet acknowledged.
#[derive(Clone, Copy, Debug)]
struct Unacked {
    frame: u64,
    seq: u32,
    nextseq: u32,
    ts: Nanos,
    /// Sent before (Karn's rule: its acknowledgment gives no RTT sample for the estimator).
    again: bool,
}

/// What one direction of the connection remembers.
#[derive(Clone, Debug)]
pub struct Flow {
    /// The sequence number relative numbers count from: the ISN, or one before the first
    /// sequence number seen when the SYN was missed (so data starts at 1 either way).
    pub base_seq: u32,
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
    /// The sequence number just past the highest byte (or SYN/FIN) sent so far; 0 = none yet.
    pub nextseq: u32,
    nextseq_frame: u64,
    nextseq_time: Nanos,
    maxseqtobeacked: u32,
    /// The acknowledgment number this side sent last.
    pub lastack: u32,
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
            base_seq: 0,
            base_set: false,
            win_scale: WSCALE_UNKNOWN,
            window: u32::MAX,
            is_first_ack: false,
            closing_initiator: false,
            valid_bif: true,
            push_bytes_sent: 0,
            push_set_last: false,
            nextseq: 0,
            nextseq_frame: 0,
            nextseq_time: 0,
            maxseqtobeacked: 0,
            lastack: 0,
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
    pub seq: u32,
    pub ack: u32,
    pub flags: u16,
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
    /// SACK blocks (left, right edges as written).
    pub sack: Vec<(u32, u32)>,
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
    pub fn syn_reuses_ports(&self, side: usize, seq: u32) -> bool {
        let f = &self.flows[side];
        f.base_set && seq != f.base_seq
    }

    /// Analyse one segment sent by `side` (0 or 1). `reused` says the segment was the SYN that
    /// opened this connection on ports used before.
    pub fn segment(&mut self, side: usize, s: &SegmentIn, reused: bool) -> SegmentOut {
        let (fwd_i, rev_i) = (side, 1 - side);
        let mut ta = Findings::default();
        let syn_only = s.flags & (SYN | ACK) == SYN;
        let syn_ack = s.flags & (SYN | ACK) == SYN | ACK;

        // A new connection on old ports (the tracker made this connection for it).
        if reused {
            ta.set(flag::REUSED_PORTS);
        } else if syn_only && self.flows[fwd_i].base_set && s.seq == self.flows[fwd_i].base_seq {
            // The same SYN again: a retransmitted SYN. Put `nextseq` back where the
            // acknowledged data ended, as a RST may have moved it.
            let f = &mut self.flows[fwd_i];
            f.nextseq = f.maxseqtobeacked;
            ta.touch();
        }
        // A SYN-ACK with a different ISN than the one recorded: take the new one.
        if syn_ack {
            let f = &mut self.flows[fwd_i];
            if f.base_set && s.seq != f.base_seq {
                f.base_seq = s.seq;
                ta.set(flag::REUSED_PORTS);
            }
        }
        // SACK blocks are counted afresh for every segment.
        self.flows[fwd_i].num_sack = 0;

        // Times relative to this conversation.
        let time_delta = s.ts - self.ts_prev;
        self.ts_prev = s.ts;
        let time_relative = s.ts - self.ts_first;

        let mut out = SegmentOut {
            stream: self.stream,
            seq: s.seq,
            ack: s.ack,
            window: s.window as u32,
            time_relative,
            time_delta,
            header_ok: s.header_ok,
            ..SegmentOut::default()
        };

        if let Some(seglen) = s.seglen {
            // Relative numbers count from each side's ISN. Without the SYN, pretend the ISN
            // was one before the first sequence number seen, so data still starts at 1.
            let fwd = &mut self.flows[fwd_i];
            if !fwd.base_set {
                fwd.base_seq = if s.flags & SYN != 0 {
                    s.seq
                } else {
                    s.seq.wrapping_sub(1)
                };
                fwd.base_set = true;
            }
            // The other side's ISN is one less than the first acknowledgment number it gets
            // (that acknowledgment covers its SYN).
            let rev = &mut self.flows[rev_i];
            if !rev.base_set && s.flags & ACK != 0 {
                rev.base_seq = s.ack.wrapping_sub(1);
                rev.base_set = true;
            }
            self.analyze(fwd_i, s, seglen, &mut ta);
            out.analysed = true;
            out.seq = s.seq.wrapping_sub(self.flows[fwd_i].base_seq);
            if s.flags & ACK != 0 {
                out.ack = s.ack.wrapping_sub(self.flows[rev_i].base_seq);
            }
            // SYNs are never scaled; later windows are multiplied by 2^shift.
            if s.flags & SYN == 0 && self.flows[fwd_i].win_scale >= 0 {
                out.window = (s.window as u32).wrapping_shl(self.flows[fwd_i].win_scale as u32);
            }
            let syn_fin = u32::from(s.flags & (SYN | FIN) != 0);
            out.nxtseq = Some(out.seq.wrapping_add(seglen).wrapping_add(syn_fin));
        }
        if s.flags & SYN == 0 {
            let ws = self.flows[fwd_i].win_scale;
            out.scalefactor = Some(if ws >= 0 { 1 << ws } else { ws as i32 });
        }
        if !s.header_ok {
            // Wireshark stops here for a bogus header length: no ACK number, no options.
            out.nxtseq = None;
            out.findings = ta;
            out.sack_base = self.flows[rev_i].base_seq;
            return out;
        }

        if s.flags & SYN != 0 {
            if !syn_ack {
                self.ts_mru_syn = s.ts;
            }
            self.flows[fwd_i].is_first_ack = true;
        }
        if s.flags & FIN != 0 && !self.flows[rev_i].closing_initiator {
            self.flows[fwd_i].closing_initiator = true;
        }
        // The initial RTT: from the most recent SYN to the first ACK without SYN after it.
        if s.flags & (SYN | ACK) == ACK && self.ts_mru_syn != 0 && self.ts_first_rtt == 0 {
            self.ts_first_rtt = s.ts - self.ts_mru_syn;
        }
        if s.flags & (SYN | ACK) == ACK {
            self.flows[fwd_i].is_first_ack = false;
        }

        // Options: the window scale is remembered for this side; SACK blocks for bytes in
        // flight (the left and right edges are in the other side's sequence space).
        if let Some(shift) = s.wscale {
            self.flows[fwd_i].win_scale = shift.min(14) as i8;
        }
        let sack_base = self.flows[rev_i].base_seq;
        {
            let fwd = &mut self.flows[fwd_i];
            fwd.num_sack = 0;
            for (i, &(l, r)) in s.sack.iter().enumerate() {
                if i >= MAX_SACK {
                    break;
                }
                fwd.sack[i] = (l.wrapping_sub(sack_base), r.wrapping_sub(sack_base));
                fwd.num_sack = i + 1;
            }
        }

        if ta.present && self.ts_first_rtt != 0 {
            out.initial_rtt = Some(self.ts_first_rtt);
        }

        // A SYN settles whether window scaling is used: both SYNs must carry the option.
        if s.flags & SYN != 0 {
            let (fwd_ws, rev_ws) = (self.flows[fwd_i].win_scale, self.flows[rev_i].win_scale);
            if fwd_ws == WSCALE_UNKNOWN {
                self.flows[fwd_i].win_scale = WSCALE_NONE;
                self.flows[rev_i].win_scale = WSCALE_NONE;
            } else if syn_ack && rev_ws == WSCALE_NONE {
                self.flows[fwd_i].win_scale = WSCALE_NONE;
            }
        }
        out.findings = ta;
        out.sack_base = sack_base;
        out
    }

    /// The sequence analysis proper, run on every segment whose length is known. `seq`, `ack`
    /// and the window are the raw values from the header.
    fn analyze(&mut self, fwd_i: usize, s: &SegmentIn, seglen: u32, ta: &mut Findings) {
        let (seq, ack, flags, window, now) = (s.seq, s.ack, s.flags, s.window as u32, s.ts);
        let [f0, f1] = &mut self.flows;
        let (fwd, rev) = if fwd_i == 0 { (f0, f1) } else { (f1, f0) };

        if flags & ACK != 0 {
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
            if window == 0 && flags & (RST | FIN | SYN) == 0 {
                ta.set(flag::ZERO_WINDOW);
            }
            // Lost segment: this one starts beyond everything sent so far, so something in
            // between was never captured.
            if fwd.nextseq != 0 && seq_gt(seq, fwd.nextseq) && flags & RST == 0 {
                ta.set(flag::LOST_PACKET);
                fwd.valid_bif = false;
            }
            // Keep-alive: 0 or 1 byte starting one before the next sequence number.
            if seglen <= 1 && seq == fwd.nextseq.wrapping_sub(1) && flags & (SYN | FIN | RST) == 0 {
                ta.set(flag::KEEP_ALIVE);
            }
            // Window update: no data, same seq and ack as before, a new (non-zero) window.
            if seglen == 0
                && window != 0
                && window != fwd.window
                && seq == fwd.nextseq
                && ack == fwd.lastack
                && flags & (SYN | FIN | RST) == 0
            {
                ta.set(flag::WINDOW_UPDATE);
            }
            // Window full: the data reaches exactly the right edge of the receiver's window.
            if seglen > 0 && rev.win_scale != WSCALE_UNKNOWN && flags & (SYN | FIN | RST) == 0 {
                let shift = if rev.is_first_ack || rev.win_scale == WSCALE_NONE {
                    0
                } else {
                    rev.win_scale as u32
                };
                let edge = rev.lastack.wrapping_add(rev.window.wrapping_shl(shift));
                if seq.wrapping_add(seglen) == edge {
                    ta.set(flag::WINDOW_FULL);
                }
            }
            let same_as_before = seglen == 0
                && window == fwd.window
                && seq == fwd.nextseq
                && ack == fwd.lastack
                && flags & (SYN | FIN | RST) == 0;
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
        if rev.maxseqtobeacked != 0 && seq_gt(ack, rev.maxseqtobeacked) && flags & ACK != 0 {
            ta.touch();
            if seq_lt(rev.maxseqtobeacked, rev.nextseq) {
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
        if seglen > 0 || flags & (SYN | FIN) != 0 {
            'kind: {
                let mut not_advanced = fwd.nextseq != 0 && seq_lt(seq, fwd.nextseq);
                if ta.has(flag::KEEP_ALIVE) {
                    break 'kind;
                }
                // More than one byte starting one before nextseq is new data after a zero
                // window probe, not a retransmission.
                if seglen > 1 && fwd.nextseq.wrapping_sub(1) == seq {
                    not_advanced = false;
                }
                // Spurious: every byte was already acknowledged by the other side.
                if seglen > 0 && rev.lastack != 0 && seq_le(seq.wrapping_add(seglen), rev.lastack) {
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
                let syn_fin = u32::from(flags & (SYN | FIN) != 0);
                if not_advanced
                    && since_next >= 0
                    && since_next < threshold
                    && fwd.nextseq != seq.wrapping_add(seglen).wrapping_add(syn_fin)
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
        let mut nextseq = seq.wrapping_add(seglen);
        if (seglen > 0 || flags & (SYN | FIN) != 0) && fwd.segments.len() < MAX_UNACKED {
            if flags & (SYN | FIN) != 0 {
                nextseq = nextseq.wrapping_add(1);
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
            });
        }
        let probe = ta.has(flag::ZERO_WINDOW_PROBE);
        if (seq_gt(nextseq, fwd.nextseq) || fwd.nextseq == 0) && !probe {
            fwd.nextseq = nextseq;
            fwd.nextseq_frame = s.frame;
            fwd.nextseq_time = now;
        }
        if (seq == fwd.maxseqtobeacked || fwd.maxseqtobeacked == 0) && !probe {
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
            } else if seq_gt(ack, u.seq) && seq_le(ack, u.nextseq) {
                // Part of it: the rest stays unacknowledged.
                u.seq = ack;
                true
            } else {
                seq_gt(u.nextseq, ack)
            }
        });
        if let Some(u) = acked {
            ta.touch();
            ta.acks_frame = Some(u.frame);
            ta.ack_rtt = now - u.ts;
            ta.ack_of_retransmission = u.again;
        }

        // Bytes in flight: from the lowest to the highest unacknowledged byte this side has
        // sent, less what the other side reported receiving out of order (SACK).
        if seglen != 0 && fwd.valid_bif && !fwd.segments.is_empty() {
            let base = fwd.base_seq;
            let mut first = u32::MAX;
            let mut last = 0u32;
            for u in &fwd.segments {
                first = first.min(u.seq.wrapping_sub(base));
                last = last.max(u.nextseq.wrapping_sub(base));
            }
            let mut in_flight = last.wrapping_sub(first);
            let delivered = rev.sack[..rev.num_sack]
                .iter()
                .fold(0u32, |acc, (l, r)| acc.wrapping_add(r.wrapping_sub(*l)));
            in_flight = in_flight.wrapping_sub(delivered);
            if in_flight > 0 && in_flight < 2_000_000_000 {
                ta.touch().bytes_in_flight = in_flight;
                if flags & (SYN | FIN) != 0 {
                    ta.bytes_in_flight -= 1;
                }
            }
            // Bytes sent since the last segment with PSH set.
            let psh = flags & PSH != 0;
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

    fn seg(frame: u64, t_ms: i128, seq: u32, ack: u32, flags: u16, len: u32) -> SegmentIn {
        SegmentIn {
            frame,
            ts: (1000 + t_ms) * MS, // Wireshark treats time 0 as "not set"
            seq,
            ack,
            flags,
            window: 1000,
            seglen: Some(len),
            header_ok: true,
            ..SegmentIn::default()
        }
    }

    #[test]
    fn seq_compare_wraps() {
        assert!(seq_gt(5, u32::MAX - 5));
        assert!(seq_lt(u32::MAX - 5, 5));
        assert!(seq_le(7, 7));
        assert!(!seq_gt(7, 7));
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
