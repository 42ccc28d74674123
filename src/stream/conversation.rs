//! Conversations: which packets belong together.
//!
//! # The idea
//!
//! A TCP connection or a UDP exchange is named by four things: the two IP addresses and the
//! two ports. Packets going either way belong to the same *conversation*: `10.0.0.1:52000 →
//! 10.0.0.2:80` and `10.0.0.2:80 → 10.0.0.1:52000` are the two directions of one. (Add the
//! protocol, TCP or UDP, and you have the famous *5-tuple*.)
//!
//! Wireshark numbers conversations in the order they first appear in the capture, from 0:
//! that number is `tcp.stream` (or `udp.stream`), and wirelab numbers them the same way, so
//! `wirelab dissect --stream 3` and Wireshark's `tcp.stream == 3` mean the same packets.
//!
//! One twist: when a connection is over, the same four values may be used again for a new
//! one (a client reusing its port). A SYN whose initial sequence number differs from the one
//! the old connection started with therefore opens a *new* conversation, with a new number.
//!
//! This file keeps the numbering and the counters shown by `--stats`: packets and bytes each
//! way, when it started and ended. The TCP-specific part ([`TcpSummary`]) is filled in by
//! [`super::tcp`].

use std::fmt;
use std::net::IpAddr;

use super::rtt::RttEstimator;
use crate::dissect::model::Timestamp;

/// One end of a conversation: an address and a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub addr: IpAddr,
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// TCP or UDP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "TCP",
            Transport::Udp => "UDP",
        }
    }
}

/// The two endpoints in a fixed order, so that both directions find the same conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PairKey {
    pub transport: Transport,
    pub lo: Endpoint,
    pub hi: Endpoint,
}

impl PairKey {
    pub fn new(transport: Transport, a: Endpoint, b: Endpoint) -> PairKey {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        PairKey { transport, lo, hi }
    }
}

/// A quick hash for the conversation table (the standard one is made to resist crafted
/// keys, which costs more than a capture reader can afford per packet; a crafted capture can
/// at worst slow this table down).
#[derive(Clone, Copy, Default)]
pub struct FastHash;

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

/// Multiply-and-rotate hashing, a word at a time.
pub struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_u8(&mut self, v: u8) {
        self.write_u64(v as u64);
    }
    fn write_u16(&mut self, v: u16) {
        self.write_u64(v as u64);
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(v as u64);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

/// Which way a packet went, seen from the conversation: `AtoB` is the direction of the
/// first packet wirelab saw (for TCP usually the client's SYN).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// From endpoint A (who sent first) to B.
    AtoB = 0,
    /// From B to A.
    BtoA = 1,
}

impl Side {
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn other(self) -> Side {
        match self {
            Side::AtoB => Side::BtoA,
            Side::BtoA => Side::AtoB,
        }
    }

    pub fn arrow(self) -> &'static str {
        match self {
            Side::AtoB => "A→B",
            Side::BtoA => "B→A",
        }
    }
}

/// Packet and byte counts for one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirStats {
    pub packets: u64,
    /// Bytes of the frames on the wire, headers included.
    pub bytes: u64,
    /// Bytes of application data (TCP or UDP payload).
    pub payload: u64,
}

/// TCP's own counters for one direction (the segments one endpoint sent).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TcpDirSummary {
    /// Smallest and largest receive window this endpoint advertised, in bytes (scaled where
    /// window scaling was agreed). `None` before any segment.
    pub win_min: Option<u64>,
    pub win_max: Option<u64>,
    /// The shift this endpoint asked for in its SYN's window scale option.
    pub wscale: Option<u8>,
    pub mss: Option<u16>,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub retransmissions: u64,
    pub fast_retransmissions: u64,
    pub spurious_retransmissions: u64,
    pub out_of_order: u64,
    pub lost_segments: u64,
    pub dup_acks: u64,
    pub zero_windows: u64,
    pub window_updates: u64,
    pub keep_alives: u64,
    /// RTT of the data this endpoint sent, measured from the other side's acknowledgments
    /// (Karn's rule: segments sent twice give no sample).
    pub rtt: RttEstimator,
    /// RTT samples left out by Karn's rule.
    pub karn_skipped: u64,
    /// Of the RTT samples, how many timed a segment carrying data (the others timed a SYN
    /// or a FIN, which take a sequence number and are acknowledged too).
    pub rtt_data_samples: u64,
    /// The transfer in this direction, for throughput: when the first data segment was sent
    /// and its relative sequence number.
    pub data_first: Option<(Timestamp, u32)>,
    /// The highest acknowledgment of this direction's data (relative, at most just past its
    /// last byte: a FIN's acknowledgment is not data), and when it came.
    pub data_acked: Option<(u32, Timestamp)>,
    /// Acknowledgments this endpoint sent that moved its acknowledgment number forward, and
    /// how many bytes they acknowledged in all.
    pub advancing_acks: u64,
    pub acked_bytes: u64,
    /// Distinct payload bytes this endpoint sent (highest sequence reached), not counting
    /// retransmitted copies.
    pub unique_payload: u64,
}

/// What TCP did over the conversation's life.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TcpSummary {
    pub dirs: [TcpDirSummary; 2],
    /// SYN from A, SYN-ACK from B, ACK from A: the three-way handshake.
    pub saw_syn: bool,
    pub saw_synack: bool,
    pub handshake_complete: bool,
    pub saw_data: bool,
    /// The time from the SYN to the ACK that completed the handshake (Wireshark's iRTT).
    pub initial_rtt: Option<f64>,
    /// Frame of the first SYN; used to say whether the capture caught the start.
    pub syn_frame: Option<u64>,
}

impl TcpSummary {
    /// The furthest the connection got, in words: "SYN, no answer", "handshake, data, FIN
    /// both ways", "reset by B"…
    pub fn state(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if self.handshake_complete {
            parts.push("handshake".into());
        } else if self.saw_synack {
            parts.push("SYN, SYN-ACK (no final ACK seen)".into());
        } else if self.saw_syn {
            parts.push("SYN, no answer".into());
        } else {
            parts.push("started before capture".into());
        }
        if self.saw_data {
            parts.push("data".into());
        }
        let [a, b] = &self.dirs;
        match (a.fin, b.fin) {
            (true, true) => parts.push("FIN both ways".into()),
            (true, false) => parts.push("FIN from A".into()),
            (false, true) => parts.push("FIN from B".into()),
            _ => {}
        }
        match (a.rst, b.rst) {
            (true, true) => parts.push("RST both ways".into()),
            (true, false) => parts.push("reset by A".into()),
            (false, true) => parts.push("reset by B".into()),
            _ => {}
        }
        if !a.fin && !b.fin && !a.rst && !b.rst {
            parts.push("open at end".into());
        }
        parts.join(", ")
    }

    /// True once the conversation is over: both FINs, or a RST.
    pub fn closed(&self) -> bool {
        let [a, b] = &self.dirs;
        (a.fin && b.fin) || a.rst || b.rst
    }
}

/// One conversation and its counters, as `--stats` lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct Conversation {
    pub transport: Transport,
    /// `tcp.stream` / `udp.stream`.
    pub index: u32,
    /// The endpoint that sent the first packet wirelab saw.
    pub a: Endpoint,
    pub b: Endpoint,
    pub first: Timestamp,
    pub last: Timestamp,
    pub first_frame: u64,
    pub last_frame: u64,
    /// Index 0: A → B; index 1: B → A.
    pub dirs: [DirStats; 2],
    /// TCP only.
    pub tcp: Option<Box<TcpSummary>>,
}

impl Conversation {
    pub fn new(
        transport: Transport,
        index: u32,
        a: Endpoint,
        b: Endpoint,
        ts: Timestamp,
        frame: u64,
    ) -> Conversation {
        Conversation {
            transport,
            index,
            a,
            b,
            first: ts,
            last: ts,
            first_frame: frame,
            last_frame: frame,
            dirs: [DirStats::default(); 2],
            tcp: (transport == Transport::Tcp).then(Box::default),
        }
    }

    /// Which way a packet from `src` goes.
    pub fn side_of(&self, src: Endpoint) -> Side {
        if src == self.a {
            Side::AtoB
        } else {
            Side::BtoA
        }
    }

    /// The endpoint that sends in direction `side`.
    pub fn sender(&self, side: Side) -> Endpoint {
        match side {
            Side::AtoB => self.a,
            Side::BtoA => self.b,
        }
    }

    /// Count one packet.
    pub fn count(&mut self, side: Side, wire_len: u32, payload: u64, ts: Timestamp, frame: u64) {
        let d = &mut self.dirs[side.index()];
        d.packets += 1;
        d.bytes += wire_len as u64;
        d.payload += payload;
        if ts > self.last {
            self.last = ts;
        }
        if ts < self.first {
            self.first = ts;
        }
        self.last_frame = frame;
    }

    /// Seconds from the first packet to the last.
    pub fn duration(&self) -> f64 {
        self.last.since(self.first).max(0.0)
    }

    pub fn packets(&self) -> u64 {
        self.dirs[0].packets + self.dirs[1].packets
    }

    pub fn bytes(&self) -> u64 {
        self.dirs[0].bytes + self.dirs[1].bytes
    }

    /// `10.0.0.1:52000 ⇄ 10.0.0.2:80`
    pub fn title(&self) -> String {
        format!("{} ⇄ {}", self.a, self.b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ep(last: u8, port: u16) -> Endpoint {
        Endpoint {
            addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)),
            port,
        }
    }

    #[test]
    fn pair_key_new_is_the_same_both_ways() {
        let a = ep(1, 52000);
        let b = ep(2, 80);
        assert_eq!(
            PairKey::new(Transport::Tcp, a, b),
            PairKey::new(Transport::Tcp, b, a)
        );
        assert_ne!(
            PairKey::new(Transport::Tcp, a, b),
            PairKey::new(Transport::Udp, a, b)
        );
    }

    #[test]
    fn endpoint_display_brackets_ipv6() {
        let e = Endpoint {
            addr: "::1".parse().unwrap(),
            port: 80,
        };
        assert_eq!(e.to_string(), "[::1]:80");
        assert_eq!(ep(1, 53).to_string(), "10.0.0.1:53");
    }

    #[test]
    fn tcp_summary_state_words() {
        let mut s = TcpSummary {
            saw_syn: true,
            ..TcpSummary::default()
        };
        assert_eq!(s.state(), "SYN, no answer, open at end");
        s.saw_synack = true;
        s.handshake_complete = true;
        s.saw_data = true;
        s.dirs[0].fin = true;
        s.dirs[1].fin = true;
        assert_eq!(s.state(), "handshake, data, FIN both ways");
        assert!(s.closed());
    }
}
