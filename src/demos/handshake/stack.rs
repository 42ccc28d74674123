//! A small TCP, written to be read: one connection, the RFC 9293 state machine, nothing hidden.
//!
//! # What a TCP endpoint keeps
//!
//! For each connection, RFC 9293 § 3.3.1 names a handful of numbers, kept in the *Transmission
//! Control Block* ([`Tcb`]):
//!
//! ```text
//!  sending side                              receiving side
//!  ISS      our initial sequence number       IRS      their initial sequence number
//!  SND.UNA  oldest byte not yet acknowledged  RCV.NXT  next byte we expect from them
//!  SND.NXT  next sequence number we will use  RCV.WND  how much more we can take
//!  SND.WND  how much more they can take
//! ```
//!
//! Every byte of data has a sequence number, and so do the two control flags that open and close
//! the connection: a SYN counts as one, a FIN counts as one. That is why the answer to a SYN with
//! `seq=x` says `ack=x+1`, even though no data was sent. Sequence numbers live in a circle of
//! 2³² values, so "less than" is decided by the signed difference ([`Seq`]).
//!
//! # The states
//!
//! ```text
//!                  passive open (listen)            active open (connect): send SYN
//!   CLOSED ──────────────────────────> LISTEN       CLOSED ─────────────────> SYN-SENT
//!   LISTEN      ── rcv SYN, send SYN,ACK ──>  SYN-RECEIVED
//!   SYN-SENT    ── rcv SYN,ACK, send ACK ──>  ESTABLISHED
//!   SYN-RECEIVED ── rcv ACK of our SYN ────>  ESTABLISHED
//!   ESTABLISHED ── rcv FIN, send ACK ──────>  CLOSE-WAIT ── close, send FIN ──> LAST-ACK
//!   LAST-ACK    ── rcv ACK of our FIN ─────>  CLOSED
//!   ESTABLISHED ── close, send FIN ────────>  FIN-WAIT-1 ── rcv ACK of FIN ──> FIN-WAIT-2
//!   FIN-WAIT-2  ── rcv FIN, send ACK ──────>  TIME-WAIT ── 2 MSL ───────────> CLOSED
//! ```
//!
//! (RFC 9293 § 3.3.2 has the full diagram, with CLOSING for simultaneous closes.)
//!
//! # What this stack does, and does not
//!
//! [`Tcb::on_packet`] follows the "SEGMENT ARRIVES" rules of RFC 9293 § 3.10.7 in their order,
//! and every decision it takes comes back as a [`Step`] naming the section that asks for it, so
//! a learner can read why a segment was dropped, answered with RST, or acknowledged. It never
//! panics on any bytes (a property test feeds it random ones).
//!
//! To stay small it leaves out what the demo never needs: there is no retransmission timer (the
//! TUN device and the loopback never lose a packet; the kernel on the other side retransmits for
//! itself), no queue for segments that arrive ahead of a gap (they are answered with a duplicate
//! ACK and the peer sends them again), no urgent data, and only the MSS option.

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{SystemTime, UNIX_EPOCH};

use etherparse::{IpNumber, Ipv4Header, Ipv4Slice, TcpHeader, TcpOptionElement, TcpSlice};
use serde::Serialize;

use crate::dissect::checksum::{internet_checksum, ones_complement_sum, transport_checksum};
use crate::dissect::cx::IpPair;

/// The MSS a peer is assumed to accept when its SYN names none (RFC 9293 § 3.7.1: 536 bytes,
/// which fits the 576-byte datagram every IPv4 host must accept).
pub const DEFAULT_MSS: u16 = 536;

/// The MSS we announce: a 1500-byte packet (the TUN device's MTU, Ethernet's too) minus a
/// 20-byte IPv4 header and a 20-byte TCP header.
pub const OUR_MSS: u16 = 1460;

/// How many bytes we offer to receive (our receive window). Small and round, so it is easy to
/// spot in the trace; the echo hands every byte straight back, so it never fills.
pub const OUR_WINDOW: u16 = 8192;

/// The connection states (RFC 9293 § 3.3.2): one definition for all of wirelab, with the
/// stream analysis.
pub use crate::stream::state::State;

/// The control bits and sequence numbers: one definition for all of wirelab, with the
/// dissector and the stream analysis.
pub use crate::dissect::tcp::{Flags, Seq};

// ───────────────────────────── segments: bytes in, bytes out ─────────────────────────────

/// One TCP segment with the addresses of the IPv4 packet that carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub seq: Seq,
    pub ack: Seq,
    /// The control bits.
    pub flags: Flags,
    pub window: u16,
    /// The Maximum Segment Size option, if the segment carries one.
    pub mss: Option<u16>,
    /// Other options the sender offered, named for a learner ("SACK permitted").
    pub other_options: Vec<String>,
    pub payload: Vec<u8>,
}

/// Why an IP packet did not reach the state machine as a TCP segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Not IPv4 (an IPv6 router solicitation on the TUN device, say). Not an error: this
    /// small stack speaks IPv4 only.
    NotIpv4 { version: Option<u8> },
    /// IPv4, but not TCP (ICMP, UDP…).
    NotTcp { protocol: u8 },
    /// A piece of a fragmented packet: this stack does not reassemble.
    Fragment,
    /// The IPv4 header breaks a rule (too short, wrong lengths).
    BadIpv4(String),
    /// The IPv4 header checksum does not add up.
    BadIpChecksum { stored: u16 },
    /// The TCP header breaks a rule (data offset too small, cut short).
    BadTcp(String),
    /// The TCP checksum over pseudo-header, header and data does not add up. `offload` says
    /// the field holds exactly the sum of the pseudo-header alone: a checksum the sending
    /// kernel left for a network card to finish ("checksum offload"), which the loopback never
    /// does.
    BadTcpChecksum {
        stored: u16,
        should_be: u16,
        offload: bool,
    },
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::NotIpv4 { version: Some(v) } => write!(
                f,
                "an IPv{v} packet, not IPv4: wirelab's small TCP speaks IPv4 only"
            ),
            ParseError::NotIpv4 { version: None } => write!(f, "an empty packet"),
            ParseError::NotTcp { protocol } => write!(
                f,
                "IPv4 protocol {protocol} ({}), not TCP (6)",
                IpNumber(*protocol).keyword_str().unwrap_or("unknown")
            ),
            ParseError::Fragment => write!(
                f,
                "a fragment of a larger IPv4 packet; this small stack does not reassemble"
            ),
            ParseError::BadIpv4(e) => write!(f, "a broken IPv4 header: {e}"),
            ParseError::BadIpChecksum { stored } => write!(
                f,
                "IPv4 header checksum 0x{stored:04x} does not match the header (the sum over \
                 the header must come out as 0xffff)"
            ),
            ParseError::BadTcp(e) => write!(f, "a broken TCP header: {e}"),
            ParseError::BadTcpChecksum {
                stored, should_be, ..
            } => write!(
                f,
                "TCP checksum 0x{stored:04x} is wrong, it should be 0x{should_be:04x} for these \
                 addresses, header and data"
            ),
        }
    }
}

impl Segment {
    /// SEG.LEN (RFC 9293 § 3.3.1): the data bytes, plus one for a SYN and one for a FIN.
    pub fn seg_len(&self) -> u32 {
        self.payload.len() as u32 + self.flags.seq_len()
    }

    /// Is any of these flags set?
    pub fn has(&self, flag: Flags) -> bool {
        self.flags.intersects(flag)
    }

    /// Read an IPv4 packet carrying a TCP segment, checking both checksums.
    pub fn parse(bytes: &[u8]) -> Result<Segment, ParseError> {
        let version = bytes.first().map(|b| b >> 4);
        if version != Some(4) {
            return Err(ParseError::NotIpv4 { version });
        }
        let ip = Ipv4Slice::from_slice(bytes).map_err(|e| ParseError::BadIpv4(e.to_string()))?;
        let hdr = ip.header();
        if internet_checksum(&[hdr.slice()]) != 0 {
            return Err(ParseError::BadIpChecksum {
                stored: hdr.header_checksum(),
            });
        }
        if ip.is_payload_fragmented() {
            return Err(ParseError::Fragment);
        }
        if hdr.protocol() != IpNumber::TCP {
            return Err(ParseError::NotTcp {
                protocol: hdr.protocol().0,
            });
        }
        let src = hdr.source();
        let dst = hdr.destination();
        let bytes = ip.payload().payload;
        let tcp = TcpSlice::from_slice(bytes).map_err(|e| ParseError::BadTcp(e.to_string()))?;
        // The receiver adds up pseudo-header, header (checksum included) and data: a segment
        // that arrived as it was sent sums to 0xffff, whose NOT is 0.
        let pair = IpPair::V4 { src, dst };
        if transport_checksum(&pair, 6, bytes) != 0 {
            let mut zeroed = bytes.to_vec();
            zeroed[16] = 0;
            zeroed[17] = 0;
            let len = bytes.len() as u16;
            let mut pseudo = [0u8; 12];
            pseudo[0..4].copy_from_slice(&src);
            pseudo[4..8].copy_from_slice(&dst);
            pseudo[9] = 6;
            pseudo[10..12].copy_from_slice(&len.to_be_bytes());
            return Err(ParseError::BadTcpChecksum {
                stored: tcp.checksum(),
                should_be: transport_checksum(&pair, 6, &zeroed),
                offload: tcp.checksum() == ones_complement_sum(&[&pseudo]),
            });
        }
        let mut mss = None;
        let mut other_options = Vec::new();
        for opt in tcp.options_iterator() {
            match opt {
                Ok(TcpOptionElement::MaximumSegmentSize(m)) => mss = Some(m),
                Ok(TcpOptionElement::Noop) => {}
                Ok(TcpOptionElement::WindowScale(s)) => {
                    other_options.push(format!("window scale {s}"))
                }
                Ok(TcpOptionElement::SelectiveAcknowledgementPermitted) => {
                    other_options.push("SACK permitted".into())
                }
                Ok(TcpOptionElement::SelectiveAcknowledgement(..)) => {
                    other_options.push("SACK blocks".into())
                }
                Ok(TcpOptionElement::Timestamp(..)) => other_options.push("timestamps".into()),
                Err(e) => {
                    other_options.push(format!("an option that does not parse ({e})"));
                    break;
                }
            }
        }
        let f = Flags::from_header_bytes(tcp.slice()[12], tcp.slice()[13]);
        Ok(Segment {
            src: SocketAddrV4::new(src.into(), tcp.source_port()),
            dst: SocketAddrV4::new(dst.into(), tcp.destination_port()),
            seq: Seq(tcp.sequence_number()),
            ack: Seq(tcp.acknowledgment_number()),
            flags: f,
            window: tcp.window_size(),
            mss,
            other_options,
            payload: tcp.payload().to_vec(),
        })
    }

    /// The TCP header and data with the checksum field still zero.
    fn tcp_bytes_unsummed(&self) -> Vec<u8> {
        let mut h = TcpHeader::new(self.src.port(), self.dst.port(), self.seq.0, self.window);
        h.acknowledgment_number = self.ack.0;
        h.fin = self.has(Flags::FIN);
        h.syn = self.has(Flags::SYN);
        h.rst = self.has(Flags::RST);
        h.psh = self.has(Flags::PSH);
        h.ack = self.has(Flags::ACK);
        h.urg = self.has(Flags::URG);
        h.ece = self.has(Flags::ECE);
        h.cwr = self.has(Flags::CWR);
        if let Some(m) = self.mss {
            // Four bytes always fit in the forty the header has room for.
            let _ = h.set_options(&[TcpOptionElement::MaximumSegmentSize(m)]);
        }
        h.checksum = 0;
        let mut out = h.to_bytes().to_vec();
        out.extend_from_slice(&self.payload);
        out
    }

    /// The 12-byte IPv4 pseudo-header the TCP checksum covers (RFC 9293 § 3.1): source
    /// address, destination address, a zero byte, the protocol number (6) and the TCP length.
    pub fn pseudo_header(&self, tcp_len: u16) -> [u8; 12] {
        let mut p = [0u8; 12];
        p[0..4].copy_from_slice(&self.src.ip().octets());
        p[4..8].copy_from_slice(&self.dst.ip().octets());
        p[8] = 0;
        p[9] = 6;
        p[10..12].copy_from_slice(&tcp_len.to_be_bytes());
        p
    }

    /// How the checksum of this segment is computed, number by number.
    pub fn checksum_workings(&self) -> ChecksumWorkings {
        let tcp = self.tcp_bytes_unsummed();
        let pseudo = self.pseudo_header(tcp.len() as u16);
        let sum = ones_complement_sum(&[&pseudo, &tcp]);
        ChecksumWorkings {
            pseudo,
            tcp_len: tcp.len(),
            sum,
            checksum: !sum,
        }
    }

    /// The whole IPv4 packet: an IPv4 header (built with etherparse), then the TCP header
    /// and data with the checksum computed here, over the pseudo-header.
    pub fn to_bytes(&self, ip_id: u16) -> Vec<u8> {
        let mut tcp = self.tcp_bytes_unsummed();
        let pair = IpPair::V4 {
            src: self.src.ip().octets(),
            dst: self.dst.ip().octets(),
        };
        let sum = transport_checksum(&pair, 6, &tcp);
        tcp[16..18].copy_from_slice(&sum.to_be_bytes());
        // A TCP segment is at most 60 + 65,495 bytes here, well inside an IPv4 packet; our
        // segments are never larger than an MSS.
        let mut ip = Ipv4Header::new(
            tcp.len() as u16,
            64,
            IpNumber::TCP,
            self.src.ip().octets(),
            self.dst.ip().octets(),
        )
        .unwrap_or_default();
        ip.identification = ip_id;
        ip.dont_fragment = true;
        ip.header_checksum = ip.calc_header_checksum();
        let mut out = ip.to_bytes().to_vec();
        out.extend_from_slice(&tcp);
        out
    }
}

/// The numbers behind one TCP checksum, for the explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChecksumWorkings {
    pub pseudo: [u8; 12],
    /// Length of TCP header plus data.
    pub tcp_len: usize,
    /// The one's-complement sum of pseudo-header, header (checksum field zero) and data.
    pub sum: u16,
    /// What goes in the checksum field: the sum's NOT.
    pub checksum: u16,
}

// ───────────────────────────── initial sequence numbers ─────────────────────────────

/// Chooses initial sequence numbers as RFC 9293 § 3.4.1 recommends (the RFC 6528 method):
///
/// ```text
///     ISN = M + F(local address, local port, remote address, remote port, secret key)
/// ```
///
/// `M` is a clock ticking every 4 microseconds, so a new connection between the same two ports
/// starts ahead of the numbers an old one may still have in flight. `F` is a keyed hash: without
/// the secret key, someone who cannot see the traffic cannot guess the number, and so cannot
/// forge a segment the connection would accept (blind spoofing was a real attack in the 1990s).
/// The key here is the random key of a fresh `std` `RandomState` (SipHash with 128 random bits).
pub struct IsnClock {
    key: std::hash::RandomState,
    fixed: Option<u32>,
}

/// One chosen ISN, with its two parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Isn {
    pub value: u32,
    /// The 4 µs clock.
    pub m: u32,
    /// The keyed hash of the connection's addresses and ports.
    pub f: u32,
}

impl Default for IsnClock {
    fn default() -> Self {
        IsnClock::new()
    }
}

impl IsnClock {
    pub fn new() -> IsnClock {
        IsnClock {
            key: std::hash::RandomState::new(),
            fixed: None,
        }
    }

    /// Always the same ISN: for tests, where the numbers must be known in advance.
    pub fn fixed(isn: u32) -> IsnClock {
        IsnClock {
            key: std::hash::RandomState::new(),
            fixed: Some(isn),
        }
    }

    pub fn choose(&self, local: SocketAddrV4, remote: SocketAddrV4) -> Isn {
        if let Some(v) = self.fixed {
            return Isn {
                value: v,
                m: v,
                f: 0,
            };
        }
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros())
            .unwrap_or(0);
        let m = (micros / 4) as u32;
        let f = self.key.hash_one((local, remote)) as u32;
        Isn {
            value: m.wrapping_add(f),
            m,
            f,
        }
    }
}

// ───────────────────────────── what happened, step by step ─────────────────────────────

/// One thing the state machine did with a segment, and the rule that asked for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// The segment passed the checks every segment must pass.
    Checked { what: String },
    /// The packet is not for this stack at all (not IPv4, not TCP): shown and left alone.
    Ignored { why: String },
    /// The connection moved from one state to another.
    Transition {
        from: State,
        to: State,
        rule: &'static str,
        why: String,
    },
    /// Data was taken into the receive buffer.
    Data { bytes: usize, rcv_nxt: Seq },
    /// SND.UNA moved: the peer acknowledged bytes we sent.
    Acked { bytes: u32, snd_una: Seq },
    /// The segment was thrown away.
    Dropped { rule: &'static str, why: String },
    /// The segment is answered with a segment of its own (RST, ACK, SYN-ACK).
    Answer {
        kind: &'static str,
        rule: &'static str,
        why: String,
    },
}

/// Everything one call into the state machine produced: the steps, in order, and the segments
/// to send back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reaction {
    pub steps: Vec<Step>,
    pub replies: Vec<Segment>,
}

impl Reaction {
    fn push(&mut self, s: Step) {
        self.steps.push(s);
    }

    /// The transitions, in order.
    pub fn transitions(&self) -> Vec<(State, State)> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Transition { from, to, .. } => Some((*from, *to)),
                _ => None,
            })
            .collect()
    }

    pub fn dropped(&self) -> bool {
        self.steps.iter().any(|s| matches!(s, Step::Dropped { .. }))
    }

    pub fn ignored(&self) -> bool {
        self.steps.iter().any(|s| matches!(s, Step::Ignored { .. }))
    }

    /// The kinds of answers given ("RST", "ACK", …).
    pub fn answers(&self) -> Vec<&'static str> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Answer { kind, .. } => Some(*kind),
                _ => None,
            })
            .collect()
    }
}

// ───────────────────────────── the connection ─────────────────────────────

/// Who opened the connection: it matters when a SYN-RECEIVED connection is reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opened {
    /// We were listening (passive OPEN).
    Passive,
    /// We sent the first SYN (active OPEN).
    Active,
}

/// The Transmission Control Block: everything this end knows about its one connection.
pub struct Tcb {
    pub state: State,
    pub opened: Opened,
    pub local: SocketAddrV4,
    /// The other end, once known.
    pub remote: Option<SocketAddrV4>,
    isn: IsnClock,
    /// The ISN we chose, with its parts (for the explanation).
    pub chosen_isn: Option<Isn>,
    pub iss: Seq,
    pub snd_una: Seq,
    pub snd_nxt: Seq,
    pub snd_wnd: u32,
    snd_wl1: Seq,
    snd_wl2: Seq,
    pub irs: Seq,
    pub rcv_nxt: Seq,
    pub rcv_wnd: u16,
    /// The largest segment the peer said it can take.
    pub peer_mss: u16,
    /// Bytes the application gave us to send, not yet sent.
    send_queue: VecDeque<u8>,
    /// The application has closed its side: a FIN goes out after the queued data.
    fin_queued: bool,
    fin_sent: bool,
    /// An ACK is owed (data or FIN arrived); it rides on the next segment we send.
    ack_pending: bool,
    /// Data received, in order, for the application.
    pub received: Vec<u8>,
    ip_id: u16,
}

impl Tcb {
    fn blank(local: SocketAddrV4, isn: IsnClock, opened: Opened) -> Tcb {
        Tcb {
            state: State::Closed,
            opened,
            local,
            remote: None,
            isn,
            chosen_isn: None,
            iss: Seq(0),
            snd_una: Seq(0),
            snd_nxt: Seq(0),
            snd_wnd: 0,
            snd_wl1: Seq(0),
            snd_wl2: Seq(0),
            irs: Seq(0),
            rcv_nxt: Seq(0),
            rcv_wnd: OUR_WINDOW,
            peer_mss: DEFAULT_MSS,
            send_queue: VecDeque::new(),
            fin_queued: false,
            fin_sent: false,
            ack_pending: false,
            received: Vec::new(),
            ip_id: rand::random(),
        }
    }

    /// A passive OPEN: wait for a SYN on `local` (RFC 9293 § 3.10.1).
    pub fn listen(local: SocketAddrV4, isn: IsnClock) -> (Tcb, Reaction) {
        let mut t = Tcb::blank(local, isn, Opened::Passive);
        let mut r = Reaction::default();
        t.go(
            &mut r,
            State::Listen,
            "RFC 9293 §3.10.1",
            "a passive OPEN: wait for a SYN".into(),
        );
        (t, r)
    }

    /// An active OPEN: choose an ISN and send a SYN to `remote` (RFC 9293 § 3.10.1).
    pub fn connect(local: SocketAddrV4, remote: SocketAddrV4, isn: IsnClock) -> (Tcb, Reaction) {
        let mut t = Tcb::blank(local, isn, Opened::Active);
        let mut r = Reaction::default();
        t.remote = Some(remote);
        let isn = t.isn.choose(local, remote);
        t.chosen_isn = Some(isn);
        t.iss = Seq(isn.value);
        t.snd_una = t.iss;
        t.snd_nxt = t.iss + 1;
        let syn = Segment {
            src: local,
            dst: remote,
            seq: t.iss,
            ack: Seq(0),
            flags: Flags::SYN,
            window: t.rcv_wnd,
            mss: Some(OUR_MSS),
            other_options: Vec::new(),
            payload: Vec::new(),
        };
        r.replies.push(syn);
        t.go(
            &mut r,
            State::SynSent,
            "RFC 9293 §3.10.1",
            format!("an active OPEN: send a SYN with our ISN {}", t.iss),
        );
        (t, r)
    }

    /// Next identification number for an IPv4 header we write.
    pub fn next_ip_id(&mut self) -> u16 {
        self.ip_id = self.ip_id.wrapping_add(1);
        self.ip_id
    }

    fn go(&mut self, r: &mut Reaction, to: State, rule: &'static str, why: String) {
        let from = self.state;
        self.state = to;
        r.push(Step::Transition {
            from,
            to,
            rule,
            why,
        });
    }

    /// A segment from us to the peer.
    fn out(&self, seq: Seq, ack: Seq, f: Flags, payload: Vec<u8>) -> Segment {
        Segment {
            src: self.local,
            dst: self
                .remote
                .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
            seq,
            ack,
            flags: f,
            window: self.rcv_wnd,
            mss: None,
            other_options: Vec::new(),
            payload,
        }
    }

    /// An answer to a segment, sent back the way it came (also for segments that belong to
    /// no connection, where our own addresses do not apply).
    fn answer_to(seg: &Segment, seq: Seq, ack: Seq, f: Flags) -> Segment {
        Segment {
            src: seg.dst,
            dst: seg.src,
            seq,
            ack,
            flags: f,
            window: 0,
            mss: None,
            other_options: Vec::new(),
            payload: Vec::new(),
        }
    }

    /// `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`, the ACK the RFC sends in many places.
    fn ack_now(&self) -> Segment {
        self.out(self.snd_nxt, self.rcv_nxt, Flags::ACK, Vec::new())
    }

    /// An IP packet arrived: check it, then run it through the state machine.
    pub fn on_packet(&mut self, bytes: &[u8]) -> Reaction {
        match Segment::parse(bytes) {
            Ok(seg) => {
                let mut r = Reaction::default();
                r.push(Step::Checked {
                    what: "IPv4 and TCP checksums are right".into(),
                });
                let rest = self.on_segment(&seg);
                r.steps.extend(rest.steps);
                r.replies.extend(rest.replies);
                r
            }
            Err(e @ (ParseError::NotIpv4 { .. } | ParseError::NotTcp { .. })) => Reaction {
                steps: vec![Step::Ignored { why: e.to_string() }],
                replies: Vec::new(),
            },
            Err(e @ (ParseError::BadTcpChecksum { .. } | ParseError::BadIpChecksum { .. })) => {
                Reaction {
                    steps: vec![Step::Dropped {
                        rule: "RFC 9293 §3.1 (MUST-3), RFC 1122 §3.2.1.2",
                        why: format!(
                            "{e}. A receiver must check the checksum and silently drop a segment \
                             that fails: none of its numbers can be trusted, not even the ports, \
                             so there is no one to answer"
                        ),
                    }],
                    replies: Vec::new(),
                }
            }
            Err(e) => Reaction {
                steps: vec![Step::Dropped {
                    rule: "RFC 9293 §3.1",
                    why: format!("{e}; a segment that cannot be read is dropped"),
                }],
                replies: Vec::new(),
            },
        }
    }

    /// SEGMENT ARRIVES (RFC 9293 § 3.10.7), for a segment whose checksum was checked.
    pub fn on_segment(&mut self, seg: &Segment) -> Reaction {
        let mut r = Reaction::default();
        if seg.dst.ip() != self.local.ip() {
            r.push(Step::Ignored {
                why: format!(
                    "addressed to {}, not to this host ({})",
                    seg.dst.ip(),
                    self.local.ip()
                ),
            });
            return r;
        }
        let ours = seg.dst.port() == self.local.port()
            && match self.remote {
                Some(remote) => remote == seg.src,
                None => true,
            };
        if !ours || self.state == State::Closed {
            self.no_connection(seg, &mut r);
            return r;
        }
        match self.state {
            State::Listen => self.in_listen(seg, &mut r),
            State::SynSent => self.in_syn_sent(seg, &mut r),
            _ => self.in_other(seg, &mut r),
        }
        r
    }

    /// § 3.10.7.1: no connection for this segment (CLOSED, or a port nobody listens on).
    fn no_connection(&self, seg: &Segment, r: &mut Reaction) {
        let whose = if seg.dst.port() != self.local.port() {
            format!("nothing listens on port {}", seg.dst.port())
        } else if self.state == State::Closed {
            "this connection is CLOSED".into()
        } else {
            format!(
                "port {} serves one connection, with {}, and this segment comes from {}",
                self.local.port(),
                self.remote.map(|a| a.to_string()).unwrap_or_default(),
                seg.src
            )
        };
        const RULE: &str = "RFC 9293 §3.10.7.1";
        if seg.has(Flags::RST) {
            r.push(Step::Dropped {
                rule: RULE,
                why: format!("{whose}; a RST for no connection is discarded"),
            });
        } else if seg.has(Flags::ACK) {
            r.push(Step::Answer {
                kind: "RST",
                rule: RULE,
                why: format!(
                    "{whose}; any other segment is answered with RST, seq = its ack ({}) so \
                     the sender will accept the reset",
                    seg.ack
                ),
            });
            r.replies
                .push(Tcb::answer_to(seg, seg.ack, Seq(0), Flags::RST));
        } else {
            let ack = seg.seq + seg.seg_len();
            r.push(Step::Answer {
                kind: "RST",
                rule: RULE,
                why: format!(
                    "{whose}; any other segment is answered with RST. It carries no ACK, so the \
                     reset uses seq 0 and acknowledges it: ack = {} + {} = {ack}",
                    seg.seq,
                    seg.seg_len()
                ),
            });
            r.replies
                .push(Tcb::answer_to(seg, Seq(0), ack, Flags::RST | Flags::ACK));
        }
    }

    /// § 3.10.7.2: LISTEN.
    fn in_listen(&mut self, seg: &Segment, r: &mut Reaction) {
        const RULE: &str = "RFC 9293 §3.10.7.2";
        if seg.has(Flags::RST) {
            r.push(Step::Dropped {
                rule: RULE,
                why: "a RST in LISTEN can only be about an old connection; there is nothing to \
                      reset"
                    .into(),
            });
            return;
        }
        if seg.has(Flags::ACK) {
            r.push(Step::Answer {
                kind: "RST",
                rule: RULE,
                why: format!(
                    "an ACK in LISTEN acknowledges something we never sent (data before any \
                     handshake); answered with RST, seq = its ack ({})",
                    seg.ack
                ),
            });
            r.replies
                .push(Tcb::answer_to(seg, seg.ack, Seq(0), Flags::RST));
            return;
        }
        if !seg.has(Flags::SYN) {
            r.push(Step::Dropped {
                rule: RULE,
                why: "neither SYN, ACK nor RST: in LISTEN only a SYN means anything".into(),
            });
            return;
        }
        self.remote = Some(seg.src);
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq + 1;
        self.peer_mss = seg.mss.unwrap_or(DEFAULT_MSS);
        self.snd_wnd = seg.window as u32;
        self.snd_wl1 = seg.seq;
        let isn = self.isn.choose(self.local, seg.src);
        self.chosen_isn = Some(isn);
        self.iss = Seq(isn.value);
        self.snd_una = self.iss;
        self.snd_nxt = self.iss + 1;
        let mut why = format!(
            "a SYN on a listening port: remember IRS = {}, expect {} next (the SYN counts as \
             one), choose our ISN {}",
            seg.seq, self.rcv_nxt, self.iss
        );
        if !seg.payload.is_empty() || seg.has(Flags::FIN) {
            why.push_str(
                "; the SYN also carries data or a FIN, which this small stack does not keep \
                 (the peer sends them again once the handshake is done)",
            );
        }
        self.go(r, State::SynReceived, RULE, why);
        let mut synack = self.out(self.iss, self.rcv_nxt, Flags::SYN | Flags::ACK, Vec::new());
        synack.mss = Some(OUR_MSS);
        r.push(Step::Answer {
            kind: "SYN-ACK",
            rule: RULE,
            why: format!(
                "<SEQ=ISS {}><ACK=RCV.NXT {}><CTL=SYN,ACK>",
                self.iss, self.rcv_nxt
            ),
        });
        r.replies.push(synack);
    }

    /// § 3.10.7.3: SYN-SENT.
    fn in_syn_sent(&mut self, seg: &Segment, r: &mut Reaction) {
        const RULE: &str = "RFC 9293 §3.10.7.3";
        let mut ack_ok = false;
        if seg.has(Flags::ACK) {
            if seg.ack <= self.iss || self.snd_nxt < seg.ack {
                if seg.has(Flags::RST) {
                    r.push(Step::Dropped {
                        rule: RULE,
                        why: format!(
                            "a RST whose ack {} is not for our SYN (we expect {})",
                            seg.ack, self.snd_nxt
                        ),
                    });
                } else {
                    r.push(Step::Answer {
                        kind: "RST",
                        rule: RULE,
                        why: format!(
                            "its ack {} does not acknowledge our SYN (that would be {}): an old \
                             or forged segment; answered with RST, seq = its ack",
                            seg.ack, self.snd_nxt
                        ),
                    });
                    r.replies
                        .push(Tcb::answer_to(seg, seg.ack, Seq(0), Flags::RST));
                }
                return;
            }
            ack_ok = true;
        }
        if seg.has(Flags::RST) {
            if ack_ok {
                self.go(
                    r,
                    State::Closed,
                    RULE,
                    "a RST acknowledging our SYN: connection refused, nobody listens there".into(),
                );
            } else {
                r.push(Step::Dropped {
                    rule: RULE,
                    why: "a RST without ACK cannot be tied to our SYN".into(),
                });
            }
            return;
        }
        if !seg.has(Flags::SYN) {
            r.push(Step::Dropped {
                rule: RULE,
                why: "neither SYN nor RST: before the peer's SYN nothing else means anything"
                    .into(),
            });
            return;
        }
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq + 1;
        self.peer_mss = seg.mss.unwrap_or(DEFAULT_MSS);
        self.snd_wnd = seg.window as u32;
        self.snd_wl1 = seg.seq;
        self.snd_wl2 = seg.ack;
        if ack_ok {
            self.snd_una = seg.ack;
        }
        if self.iss < self.snd_una {
            self.go(
                r,
                State::Established,
                RULE,
                format!(
                    "their SYN (IRS {}) acknowledges ours (ack {} = our ISN {} + 1): both sides \
                     know both sequence numbers",
                    seg.seq, seg.ack, self.iss
                ),
            );
            r.push(Step::Answer {
                kind: "ACK",
                rule: RULE,
                why: format!(
                    "<SEQ=SND.NXT {}><ACK=RCV.NXT {}><CTL=ACK> completes the three-way handshake",
                    self.snd_nxt, self.rcv_nxt
                ),
            });
            r.replies.push(self.ack_now());
        } else {
            self.go(
                r,
                State::SynReceived,
                RULE,
                "a SYN without ACK while ours is out: both ends opened at once (simultaneous \
                 open)"
                    .into(),
            );
            let mut synack = self.out(self.iss, self.rcv_nxt, Flags::SYN | Flags::ACK, vec![]);
            synack.mss = Some(OUR_MSS);
            r.push(Step::Answer {
                kind: "SYN-ACK",
                rule: RULE,
                why: "simultaneous open: answer with our SYN again, now acknowledging theirs"
                    .into(),
            });
            r.replies.push(synack);
        }
    }

    /// Is the segment inside what we are willing to receive? (§ 3.10.7.4, "first": the four
    /// cases of the acceptability test.)
    fn acceptable(&self, seg: &Segment) -> bool {
        let wnd = self.rcv_wnd as u32;
        let in_wnd = |s: Seq| self.rcv_nxt.window_holds(self.rcv_nxt + wnd, s);
        match (seg.seg_len(), wnd) {
            (0, 0) => seg.seq == self.rcv_nxt,
            (0, _) => in_wnd(seg.seq),
            (_, 0) => false,
            (len, _) => in_wnd(seg.seq) || in_wnd(seg.seq + (len - 1)),
        }
    }

    /// § 3.10.7.4: every state from SYN-RECEIVED on.
    fn in_other(&mut self, seg: &Segment, r: &mut Reaction) {
        const RULE: &str = "RFC 9293 §3.10.7.4";
        // Our SYN-ACK must have been lost: the peer sends the very same SYN again. A real
        // stack's retransmission timer would resend the SYN-ACK; we resend it now
        // (RFC 9293 §3.8.1).
        if self.state == State::SynReceived
            && seg.has(Flags::SYN)
            && !seg.has(Flags::ACK | Flags::RST)
            && seg.seq == self.irs
        {
            r.push(Step::Answer {
                kind: "SYN-ACK",
                rule: "RFC 9293 §3.8.1",
                why: "the same SYN again: our SYN-ACK did not arrive, so send it again".into(),
            });
            let mut synack = self.out(self.iss, self.rcv_nxt, Flags::SYN | Flags::ACK, vec![]);
            synack.mss = Some(OUR_MSS);
            r.replies.push(synack);
            return;
        }

        // First: the sequence number.
        if !self.acceptable(seg) {
            if seg.has(Flags::RST) {
                r.push(Step::Dropped {
                    rule: RULE,
                    why: format!(
                        "a RST with seq {} outside our window [{}, {}): dropped (a blind attacker \
                         would have to guess it)",
                        seg.seq,
                        self.rcv_nxt,
                        self.rcv_nxt + self.rcv_wnd as u32
                    ),
                });
            } else {
                let what = if self.state == State::TimeWait && seg.has(Flags::FIN) {
                    "their FIN again: our last ACK was lost; acknowledge it again".to_string()
                } else if seg.seq < self.rcv_nxt {
                    format!(
                        "seq {} is before RCV.NXT {}: old, already received bytes",
                        seg.seq, self.rcv_nxt
                    )
                } else {
                    format!(
                        "seq {} is beyond our window [{}, {})",
                        seg.seq,
                        self.rcv_nxt,
                        self.rcv_nxt + self.rcv_wnd as u32
                    )
                };
                r.push(Step::Answer {
                    kind: "ACK",
                    rule: RULE,
                    why: format!(
                        "{what}; not acceptable, so answer with an ACK saying what we expect \
                         (ack {}) and drop it",
                        self.rcv_nxt
                    ),
                });
                r.replies.push(self.ack_now());
            }
            return;
        }

        // Second: the RST bit (with RFC 5961's defence against blind resets).
        if seg.has(Flags::RST) {
            if seg.seq != self.rcv_nxt {
                r.push(Step::Answer {
                    kind: "challenge ACK",
                    rule: "RFC 9293 §3.10.7.4, RFC 5961 §3.2",
                    why: format!(
                        "a RST inside the window but not exactly at RCV.NXT {}: maybe forged. \
                         Answer with a 'challenge ACK'; a real peer will reset again with the \
                         exact number",
                        self.rcv_nxt
                    ),
                });
                r.replies.push(self.ack_now());
                return;
            }
            match (self.state, self.opened) {
                (State::SynReceived, Opened::Passive) => {
                    self.back_to_listen();
                    self.go(
                        r,
                        State::Listen,
                        RULE,
                        "a RST during the handshake of a connection we were listening for: forget \
                         it and listen again"
                            .into(),
                    );
                }
                (State::SynReceived, Opened::Active) => self.go(
                    r,
                    State::Closed,
                    RULE,
                    "a RST during the handshake: connection refused".into(),
                ),
                _ => self.go(
                    r,
                    State::Closed,
                    RULE,
                    "a RST at exactly RCV.NXT: the peer aborted the connection (connection reset)"
                        .into(),
                ),
            }
            return;
        }

        // Fourth: the SYN bit (third, security, is not used).
        if seg.has(Flags::SYN) {
            if self.state == State::SynReceived && self.opened == Opened::Passive {
                self.back_to_listen();
                self.go(
                    r,
                    State::Listen,
                    RULE,
                    "a different SYN while we wait for the handshake's ACK: start over in LISTEN"
                        .into(),
                );
            } else {
                r.push(Step::Answer {
                    kind: "challenge ACK",
                    rule: "RFC 9293 §3.10.7.4, RFC 5961 §4",
                    why: "a SYN on a connection that is already open: answer with a challenge ACK \
                          and drop it (a real peer that restarted will then reset us)"
                        .into(),
                });
                r.replies.push(self.ack_now());
            }
            return;
        }

        // Fifth: the ACK field.
        if !seg.has(Flags::ACK) {
            r.push(Step::Dropped {
                rule: RULE,
                why: "no ACK bit: once the handshake has begun, every segment must carry one"
                    .into(),
            });
            return;
        }
        if self.state == State::SynReceived {
            if self.snd_una < seg.ack && seg.ack <= self.snd_nxt {
                self.snd_wnd = seg.window as u32;
                self.snd_wl1 = seg.seq;
                self.snd_wl2 = seg.ack;
                self.go(
                    r,
                    State::Established,
                    RULE,
                    format!(
                        "the ACK of our SYN-ACK: ack {} = our ISN {} + 1. The three-way handshake \
                         is complete",
                        seg.ack, self.iss
                    ),
                );
            } else {
                r.push(Step::Answer {
                    kind: "RST",
                    rule: RULE,
                    why: format!(
                        "in SYN-RECEIVED the ACK must acknowledge our SYN (ack {}), but it says \
                         {}; answered with RST, seq = its ack",
                        self.snd_nxt, seg.ack
                    ),
                });
                r.replies
                    .push(Tcb::answer_to(seg, seg.ack, Seq(0), Flags::RST));
                return;
            }
        }
        if self.snd_nxt < seg.ack {
            r.push(Step::Answer {
                kind: "ACK",
                rule: RULE,
                why: format!(
                    "it acknowledges {} but we have only sent up to {}; answer with an ACK and \
                     drop it",
                    seg.ack, self.snd_nxt
                ),
            });
            r.replies.push(self.ack_now());
            return;
        }
        if self.snd_una < seg.ack {
            let n = seg.ack.since(self.snd_una);
            self.snd_una = seg.ack;
            r.push(Step::Acked {
                bytes: n,
                snd_una: self.snd_una,
            });
        }
        // The send window is updated only from segments newer than the last one that did.
        if self.snd_una <= seg.ack
            && (self.snd_wl1 < seg.seq || (self.snd_wl1 == seg.seq && self.snd_wl2 <= seg.ack))
        {
            self.snd_wnd = seg.window as u32;
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = seg.ack;
        }
        let fin_acked = self.fin_sent && self.snd_una == self.snd_nxt;
        match self.state {
            State::FinWait1 if fin_acked => self.go(
                r,
                State::FinWait2,
                RULE,
                "our FIN is acknowledged; we wait for theirs".into(),
            ),
            State::Closing => {
                if fin_acked {
                    self.go(
                        r,
                        State::TimeWait,
                        RULE,
                        "our FIN is acknowledged, and theirs already came".into(),
                    );
                }
                return;
            }
            State::LastAck => {
                if fin_acked {
                    self.go(
                        r,
                        State::Closed,
                        RULE,
                        "the ACK of our FIN: both directions are closed".into(),
                    );
                }
                return;
            }
            _ => {}
        }

        // Seventh: the data (sixth, URG, is not used).
        if !seg.payload.is_empty() {
            match self.state {
                State::Established | State::FinWait1 | State::FinWait2 => {
                    // Acceptable, so it overlaps [RCV.NXT, RCV.NXT + RCV.WND). Bytes before
                    // RCV.NXT we already have.
                    let skip = self.rcv_nxt.since(seg.seq) as usize;
                    if self.rcv_nxt < seg.seq {
                        r.push(Step::Answer {
                            kind: "ACK",
                            rule: RULE,
                            why: format!(
                                "data from seq {} but we still wait for {}: something before it \
                                 is missing. This small stack keeps no out-of-order queue; a \
                                 duplicate ACK tells the peer where the gap starts",
                                seg.seq, self.rcv_nxt
                            ),
                        });
                        r.replies.push(self.ack_now());
                        return;
                    }
                    let take = seg
                        .payload
                        .len()
                        .saturating_sub(skip)
                        .min(self.rcv_wnd as usize);
                    let data = &seg.payload[skip.min(seg.payload.len())..][..take];
                    self.received.extend_from_slice(data);
                    self.rcv_nxt += take as u32;
                    self.ack_pending = true;
                    r.push(Step::Data {
                        bytes: take,
                        rcv_nxt: self.rcv_nxt,
                    });
                }
                _ => r.push(Step::Dropped {
                    rule: RULE,
                    why: "data after the peer's FIN: it said it had nothing more to send; ignored"
                        .into(),
                }),
            }
        }

        // Eighth: the FIN bit. It is processed only when it is the next thing we expect.
        if seg.has(Flags::FIN)
            && seg.seq + seg.payload.len() as u32 == self.rcv_nxt
            && !matches!(
                self.state,
                State::CloseWait | State::Closing | State::LastAck
            )
        {
            self.rcv_nxt += 1;
            let fin_acked = self.fin_sent && self.snd_una == self.snd_nxt;
            let why = format!(
                "their FIN: they will send no more. RCV.NXT becomes {} (the FIN counts as one)",
                self.rcv_nxt
            );
            match self.state {
                State::SynReceived | State::Established => {
                    self.go(r, State::CloseWait, "RFC 9293 §3.10.7.4 (eighth)", why)
                }
                State::FinWait1 if fin_acked => {
                    self.go(r, State::TimeWait, "RFC 9293 §3.10.7.4 (eighth)", why)
                }
                State::FinWait1 => self.go(r, State::Closing, "RFC 9293 §3.10.7.4 (eighth)", why),
                State::FinWait2 => self.go(r, State::TimeWait, "RFC 9293 §3.10.7.4 (eighth)", why),
                _ => {}
            }
            r.push(Step::Answer {
                kind: "ACK",
                rule: "RFC 9293 §3.10.7.4 (eighth)",
                why: format!("acknowledge their FIN: ack {}", self.rcv_nxt),
            });
            self.ack_pending = false;
            r.replies.push(self.ack_now());
        }
    }

    fn back_to_listen(&mut self) {
        self.remote = None;
        self.chosen_isn = None;
        self.received.clear();
        self.ack_pending = false;
    }

    /// The application hands us bytes to send.
    pub fn send(&mut self, data: &[u8]) {
        self.send_queue.extend(data);
    }

    /// The application closes its side (RFC 9293 § 3.10.4): the FIN follows the queued data.
    pub fn close(&mut self) -> Reaction {
        let mut r = Reaction::default();
        const RULE: &str = "RFC 9293 §3.10.4";
        match self.state {
            State::Listen | State::SynSent => self.go(
                &mut r,
                State::Closed,
                RULE,
                "closed before any connection".into(),
            ),
            State::SynReceived | State::Established => {
                self.fin_queued = true;
                self.go(
                    &mut r,
                    State::FinWait1,
                    RULE,
                    "we close our side: send FIN (we can still receive)".into(),
                );
            }
            State::CloseWait => {
                self.fin_queued = true;
                self.go(
                    &mut r,
                    State::LastAck,
                    RULE,
                    "they closed, now we close too: send our FIN and wait for its ACK".into(),
                );
            }
            _ => {}
        }
        r
    }

    /// TIME-WAIT is over. A real stack waits 2 MSL (Linux: 60 seconds) so that a lost last
    /// ACK can be sent again and old segments die out; the demo stops sooner.
    pub fn time_wait_done(&mut self) -> Reaction {
        let mut r = Reaction::default();
        if self.state == State::TimeWait {
            self.go(
                &mut r,
                State::Closed,
                "RFC 9293 §3.10.8",
                "the TIME-WAIT timeout (2×MSL) ends; this demo waits far less than a real stack"
                    .into(),
            );
        }
        r
    }

    /// Bytes queued but not yet sent.
    pub fn unsent(&self) -> usize {
        self.send_queue.len()
    }

    /// The segments to send now: queued data (as much as the peer's window and MSS allow),
    /// then our FIN, and a bare ACK if one is still owed. An ACK rides on any data or FIN
    /// segment ("piggybacking"), so a bare ACK goes out only when nothing else does.
    pub fn poll_output(&mut self) -> Vec<Segment> {
        let mut out = Vec::new();
        let can_send = matches!(
            self.state,
            State::Established | State::CloseWait | State::FinWait1 | State::LastAck
        );
        while can_send && !self.send_queue.is_empty() && !self.fin_sent {
            let in_flight = self.snd_nxt.since(self.snd_una);
            let room = self.snd_wnd.saturating_sub(in_flight) as usize;
            let n = self
                .send_queue
                .len()
                .min(self.peer_mss.max(1) as usize)
                .min(room);
            if n == 0 {
                break;
            }
            let data: Vec<u8> = self.send_queue.drain(..n).collect();
            out.push(self.out(self.snd_nxt, self.rcv_nxt, Flags::PSH | Flags::ACK, data));
            self.snd_nxt += n as u32;
            self.ack_pending = false;
        }
        if self.fin_queued
            && !self.fin_sent
            && self.send_queue.is_empty()
            && matches!(self.state, State::FinWait1 | State::LastAck)
        {
            out.push(self.out(
                self.snd_nxt,
                self.rcv_nxt,
                Flags::FIN | Flags::ACK,
                Vec::new(),
            ));
            self.snd_nxt += 1;
            self.fin_sent = true;
            self.ack_pending = false;
        }
        if self.ack_pending && self.state.synchronized() {
            out.push(self.ack_now());
            self.ack_pending = false;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KERNEL: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(169, 254, 77, 1), 40_000);
    const US: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(169, 254, 77, 2), 7007);

    fn seg(
        src: SocketAddrV4,
        dst: SocketAddrV4,
        seq: u32,
        ack: u32,
        f: Flags,
        data: &[u8],
    ) -> Segment {
        Segment {
            src,
            dst,
            seq: Seq(seq),
            ack: Seq(ack),
            flags: f,
            window: 64_240,
            mss: if f.syn() { Some(1460) } else { None },
            other_options: Vec::new(),
            payload: data.to_vec(),
        }
    }

    /// A segment from the kernel to us, as bytes with correct checksums.
    fn from_kernel(seq: u32, ack: u32, f: Flags, data: &[u8]) -> Vec<u8> {
        seg(KERNEL, US, seq, ack, f, data).to_bytes(1)
    }

    fn listening() -> Tcb {
        Tcb::listen(US, IsnClock::fixed(5000)).0
    }

    /// LISTEN → SYN-RECEIVED → ESTABLISHED with the kernel's ISN 1000 and ours 5000.
    fn established() -> Tcb {
        let mut t = listening();
        t.on_packet(&from_kernel(1000, 0, Flags::SYN, b""));
        t.on_packet(&from_kernel(1001, 5001, Flags::ACK, b""));
        assert_eq!(t.state, State::Established);
        t
    }

    #[test]
    fn parse_round_trips_and_checksum_agrees_with_etherparse() {
        let s = seg(KERNEL, US, 123, 456, Flags::SYN | Flags::ACK, b"hi");
        let bytes = s.to_bytes(7);
        let back = Segment::parse(&bytes).unwrap();
        assert_eq!(back, s);
        // etherparse computes the same checksum by its own code.
        let ip = Ipv4Slice::from_slice(&bytes).unwrap();
        let tcp = TcpSlice::from_slice(ip.payload().payload).unwrap();
        let theirs = tcp
            .to_header()
            .calc_checksum_ipv4_raw(KERNEL.ip().octets(), US.ip().octets(), b"hi")
            .unwrap();
        assert_eq!(tcp.checksum(), theirs);
        assert_eq!(s.checksum_workings().checksum, theirs);
    }

    #[test]
    fn pseudo_header_is_addresses_zero_protocol_length() {
        let s = seg(KERNEL, US, 1, 0, Flags::SYN, b"");
        let w = s.checksum_workings();
        assert_eq!(
            w.pseudo,
            [169, 254, 77, 1, 169, 254, 77, 2, 0, 6, 0, 24] // 20-byte header + 4-byte MSS
        );
        assert_eq!(w.tcp_len, 24);
    }

    #[test]
    fn full_passive_connection_goes_through_every_state() {
        let mut t = listening();
        assert_eq!(t.state, State::Listen);
        let r = t.on_packet(&from_kernel(1000, 0, Flags::SYN, b""));
        assert_eq!(r.transitions(), [(State::Listen, State::SynReceived)]);
        let synack = &r.replies[0];
        assert_eq!(synack.flags, Flags::SYN | Flags::ACK);
        assert_eq!((synack.seq.0, synack.ack.0), (5000, 1001));
        assert_eq!(synack.mss, Some(OUR_MSS));

        let r = t.on_packet(&from_kernel(1001, 5001, Flags::ACK, b""));
        assert_eq!(r.transitions(), [(State::SynReceived, State::Established)]);
        assert!(r.replies.is_empty());

        let r = t.on_packet(&from_kernel(1001, 5001, Flags::PSH | Flags::ACK, b"hello"));
        assert!(r.steps.contains(&Step::Data {
            bytes: 5,
            rcv_nxt: Seq(1006)
        }));
        t.send(&t.received.clone());
        let out = t.poll_output();
        assert_eq!(out.len(), 1, "the ACK rides on the echoed data");
        assert_eq!(
            (out[0].seq.0, out[0].ack.0, out[0].payload.as_slice()),
            (5001, 1006, &b"hello"[..])
        );

        let r = t.on_packet(&from_kernel(1006, 5006, Flags::FIN | Flags::ACK, b""));
        assert_eq!(r.transitions(), [(State::Established, State::CloseWait)]);
        assert_eq!((r.replies[0].seq.0, r.replies[0].ack.0), (5006, 1007));

        let r = t.close();
        assert_eq!(r.transitions(), [(State::CloseWait, State::LastAck)]);
        let out = t.poll_output();
        assert_eq!(out[0].flags, Flags::FIN | Flags::ACK);
        assert_eq!(out[0].seq.0, 5006);

        let r = t.on_packet(&from_kernel(1007, 5007, Flags::ACK, b""));
        assert_eq!(r.transitions(), [(State::LastAck, State::Closed)]);
    }

    #[test]
    fn active_open_and_close_through_time_wait() {
        let (mut t, r) = Tcb::connect(US, KERNEL, IsnClock::fixed(u32::MAX));
        assert_eq!(r.transitions(), [(State::Closed, State::SynSent)]);
        assert_eq!(r.replies[0].seq.0, u32::MAX);
        // Their SYN-ACK acknowledges our ISN + 1, which wraps around to 0.
        let from_peer = |seq, ack, f, d: &[u8]| seg(KERNEL, US, seq, ack, f, d).to_bytes(1);
        let r = t.on_packet(&from_peer(9000, 0, Flags::SYN | Flags::ACK, b""));
        assert_eq!(r.transitions(), [(State::SynSent, State::Established)]);
        assert_eq!((r.replies[0].seq.0, r.replies[0].ack.0), (0, 9001));
        t.send(b"abc");
        assert_eq!(t.poll_output()[0].payload, b"abc");
        t.on_packet(&from_peer(9001, 3, Flags::PSH | Flags::ACK, b"abc"));
        assert_eq!(t.received, b"abc");
        t.close();
        let fin = t.poll_output();
        assert_eq!(fin.len(), 1, "the owed ACK rides on the FIN");
        assert_eq!(
            (fin[0].flags, fin[0].seq.0, fin[0].ack.0),
            (Flags::FIN | Flags::ACK, 3, 9004)
        );
        let r = t.on_packet(&from_peer(9004, 4, Flags::ACK, b""));
        assert_eq!(r.transitions(), [(State::FinWait1, State::FinWait2)]);
        let r = t.on_packet(&from_peer(9004, 4, Flags::FIN | Flags::ACK, b""));
        assert_eq!(r.transitions(), [(State::FinWait2, State::TimeWait)]);
        assert_eq!(r.replies[0].ack.0, 9005);
        // Their FIN again (our ACK was lost): acknowledged again.
        let r = t.on_packet(&from_peer(9004, 4, Flags::FIN | Flags::ACK, b""));
        assert_eq!(r.answers(), ["ACK"]);
        assert_eq!(
            t.time_wait_done().transitions(),
            [(State::TimeWait, State::Closed)]
        );
    }

    #[test]
    fn bad_checksum_is_dropped_silently() {
        let mut t = listening();
        let mut bytes = from_kernel(1000, 0, Flags::SYN, b"");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01; // flip one bit of the MSS option
        let r = t.on_packet(&bytes);
        assert!(r.dropped());
        assert!(r.replies.is_empty());
        assert_eq!(t.state, State::Listen);
        let Step::Dropped { rule, why } = &r.steps[0] else {
            panic!("{:?}", r.steps)
        };
        assert!(rule.contains("MUST-3"), "{rule}");
        assert!(why.contains("should be"), "{why}");
    }

    #[test]
    fn bad_ip_header_checksum_is_dropped() {
        let mut t = listening();
        let mut bytes = from_kernel(1000, 0, Flags::SYN, b"");
        bytes[10] ^= 0xff;
        assert!(t.on_packet(&bytes).dropped());
        assert_eq!(t.state, State::Listen);
    }

    #[test]
    fn wrong_ack_in_syn_received_gets_rst_with_seq_of_that_ack() {
        let mut t = listening();
        t.on_packet(&from_kernel(1000, 0, Flags::SYN, b""));
        let r = t.on_packet(&from_kernel(1001, 777, Flags::ACK, b""));
        assert_eq!(r.answers(), ["RST"]);
        assert_eq!(r.replies[0].flags, Flags::RST);
        assert_eq!(r.replies[0].seq.0, 777);
        assert_eq!(t.state, State::SynReceived);
    }

    #[test]
    fn ack_beyond_what_we_sent_is_answered_with_ack() {
        let mut t = established();
        let r = t.on_packet(&from_kernel(1001, 9999, Flags::ACK, b""));
        assert_eq!(r.answers(), ["ACK"]);
        assert_eq!((r.replies[0].seq.0, r.replies[0].ack.0), (5001, 1001));
        assert_eq!(t.snd_una.0, 5001);
    }

    #[test]
    fn rst_mid_handshake_returns_a_listener_to_listen() {
        let mut t = listening();
        t.on_packet(&from_kernel(1000, 0, Flags::SYN, b""));
        let r = t.on_packet(&from_kernel(1001, 0, Flags::RST, b""));
        assert_eq!(r.transitions(), [(State::SynReceived, State::Listen)]);
        assert!(r.replies.is_empty());
        // …and it can take a new connection.
        let r = t.on_packet(&from_kernel(2000, 0, Flags::SYN, b""));
        assert_eq!(r.transitions(), [(State::Listen, State::SynReceived)]);
    }

    #[test]
    fn rst_in_window_but_not_exact_gets_a_challenge_ack() {
        let mut t = established();
        let r = t.on_packet(&from_kernel(1010, 0, Flags::RST, b""));
        assert_eq!(r.answers(), ["challenge ACK"]);
        assert_eq!(t.state, State::Established);
        // Outside the window: dropped without a word.
        let r = t.on_packet(&from_kernel(1001 + 100_000, 0, Flags::RST, b""));
        assert!(r.dropped() && r.replies.is_empty());
        // Exactly at RCV.NXT: the connection is reset.
        let r = t.on_packet(&from_kernel(1001, 0, Flags::RST, b""));
        assert_eq!(r.transitions(), [(State::Established, State::Closed)]);
    }

    #[test]
    fn syn_on_open_connection_gets_challenge_ack() {
        let mut t = established();
        let r = t.on_packet(&from_kernel(1001, 0, Flags::SYN, b""));
        assert_eq!(r.answers(), ["challenge ACK"]);
        assert_eq!(t.state, State::Established);
    }

    #[test]
    fn data_before_the_handshake_is_reset() {
        // Data with an ACK to a listener: it acknowledges nothing we sent.
        let mut t = listening();
        let r = t.on_packet(&from_kernel(1000, 4242, Flags::PSH | Flags::ACK, b"early"));
        assert_eq!(r.answers(), ["RST"]);
        assert_eq!(r.replies[0].seq.0, 4242);
        assert!(t.received.is_empty());
        // Data without any flag: dropped.
        let r = t.on_packet(&from_kernel(1000, 0, Flags::NONE, b"early"));
        assert!(r.dropped());
        assert_eq!(t.state, State::Listen);
    }

    #[test]
    fn data_riding_on_the_handshake_ack_is_taken() {
        // The peer's bare ACK was lost; its first data segment carries the same ACK.
        let mut t = listening();
        t.on_packet(&from_kernel(1000, 0, Flags::SYN, b""));
        let r = t.on_packet(&from_kernel(1001, 5001, Flags::PSH | Flags::ACK, b"early"));
        assert_eq!(r.transitions(), [(State::SynReceived, State::Established)]);
        assert_eq!(t.received, b"early");
        assert_eq!(t.poll_output()[0].ack.0, 1006);
    }

    #[test]
    fn data_in_syn_received_without_ack_is_dropped() {
        let mut t = listening();
        t.on_packet(&from_kernel(1000, 0, Flags::SYN, b""));
        let r = t.on_packet(&from_kernel(1001, 0, Flags::PSH, b"early"));
        assert!(r.dropped());
        assert!(t.received.is_empty());
    }

    #[test]
    fn segment_for_another_port_gets_rst() {
        let mut t = established();
        let other = SocketAddrV4::new(*US.ip(), 9);
        // Without ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
        let r = t.on_packet(&seg(KERNEL, other, 300, 0, Flags::SYN, b"").to_bytes(1));
        assert_eq!(r.answers(), ["RST"]);
        let rst = &r.replies[0];
        assert_eq!(
            (rst.flags, rst.seq.0, rst.ack.0),
            (Flags::RST | Flags::ACK, 0, 301)
        );
        assert_eq!((rst.src, rst.dst), (other, KERNEL));
        // With ACK: <SEQ=SEG.ACK><CTL=RST>.
        let r = t.on_packet(&seg(KERNEL, other, 300, 55, Flags::ACK, b"x").to_bytes(1));
        assert_eq!((r.replies[0].flags, r.replies[0].seq.0), (Flags::RST, 55));
        // A RST for another port: dropped.
        let r = t.on_packet(&seg(KERNEL, other, 300, 0, Flags::RST, b"").to_bytes(1));
        assert!(r.dropped() && r.replies.is_empty());
        assert_eq!(t.state, State::Established);
    }

    #[test]
    fn old_duplicate_data_is_acknowledged_not_delivered_again() {
        let mut t = established();
        t.on_packet(&from_kernel(1001, 5001, Flags::ACK, b"abc"));
        t.poll_output();
        let r = t.on_packet(&from_kernel(1001, 5001, Flags::ACK, b"abc"));
        assert_eq!(r.answers(), ["ACK"]);
        assert_eq!(r.replies[0].ack.0, 1004);
        assert_eq!(t.received, b"abc");
        // Partly old, partly new: only the new part is taken.
        t.on_packet(&from_kernel(1002, 5001, Flags::ACK, b"bcde"));
        assert_eq!(t.received, b"abcde");
    }

    #[test]
    fn data_after_a_gap_gets_a_duplicate_ack() {
        let mut t = established();
        let r = t.on_packet(&from_kernel(1100, 5001, Flags::ACK, b"later"));
        assert_eq!(r.answers(), ["ACK"]);
        assert_eq!(r.replies[0].ack.0, 1001);
        assert!(t.received.is_empty());
    }

    #[test]
    fn ipv6_and_udp_are_ignored_not_errors() {
        let mut t = listening();
        let mut v6 = vec![0x60, 0, 0, 0, 0, 8, 58, 255];
        v6.extend([0u8; 40]);
        let r = t.on_packet(&v6);
        assert!(r.ignored());
        let udp =
            etherparse::PacketBuilder::ipv4([169, 254, 77, 1], [169, 254, 77, 2], 64).udp(1, 2);
        let mut bytes = Vec::new();
        udp.write(&mut bytes, b"x").unwrap();
        assert!(t.on_packet(&bytes).ignored());
        assert!(t.on_packet(&[]).ignored());
    }

    #[test]
    fn syn_sent_rejects_a_syn_ack_for_another_syn() {
        let (mut t, _) = Tcb::connect(US, KERNEL, IsnClock::fixed(100));
        let r = t.on_packet(&seg(KERNEL, US, 9000, 50, Flags::SYN | Flags::ACK, b"").to_bytes(1));
        assert_eq!(r.answers(), ["RST"]);
        assert_eq!(r.replies[0].seq.0, 50);
        assert_eq!(t.state, State::SynSent);
        // A RST acknowledging our SYN: refused.
        let r = t.on_packet(&seg(KERNEL, US, 0, 101, Flags::RST | Flags::ACK, b"").to_bytes(1));
        assert_eq!(r.transitions(), [(State::SynSent, State::Closed)]);
    }

    #[test]
    fn sequence_comparison_wraps() {
        assert!(Seq(u32::MAX) < Seq(0));
        assert!(Seq(u32::MAX - 5) < Seq(3));
        assert!(Seq(3) > Seq(u32::MAX - 5));
        assert!(Seq(7) <= Seq(7));
    }

    #[test]
    fn isns_differ_between_connections_and_runs() {
        let c = IsnClock::new();
        let other = SocketAddrV4::new(*KERNEL.ip(), 40_001);
        let a = c.choose(US, KERNEL);
        let b = c.choose(US, other);
        assert_ne!(a.f, b.f, "F depends on the ports");
        assert_eq!(a.value, a.m.wrapping_add(a.f));
        assert_ne!(
            IsnClock::new().choose(US, KERNEL).f,
            a.f,
            "a new key each run"
        );
    }

    #[test]
    fn large_sends_are_cut_to_the_peer_mss_and_window() {
        let mut t = listening();
        let mut syn = seg(KERNEL, US, 1000, 0, Flags::SYN, b"");
        syn.mss = Some(100);
        syn.window = 250;
        t.on_segment(&syn);
        t.on_packet(&seg(KERNEL, US, 1001, 5001, Flags::ACK, b"").to_bytes(1));
        // The window from the last ACK was 64,240; make it small again.
        let mut small = seg(KERNEL, US, 1001, 5001, Flags::ACK, b"");
        small.window = 250;
        t.on_segment(&small);
        t.send(&[7u8; 1000]);
        let out = t.poll_output();
        let sizes: Vec<usize> = out.iter().map(|s| s.payload.len()).collect();
        assert_eq!(sizes, [100, 100, 50]);
        assert_eq!(t.unsent(), 750);
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        fn any_state_tcb(which: u8) -> Tcb {
            match which % 5 {
                0 => listening(),
                1 => {
                    let mut t = listening();
                    t.on_packet(&from_kernel(1000, 0, Flags::SYN, b""));
                    t
                }
                2 => established(),
                3 => {
                    let mut t = established();
                    t.close();
                    t.poll_output();
                    t
                }
                _ => Tcb::connect(US, KERNEL, IsnClock::fixed(100)).0,
            }
        }

        proptest! {
            /// Random bytes never make the state machine panic.
            #[test]
            fn random_bytes_never_panic(which in 0u8..5, bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
                let mut t = any_state_tcb(which);
                let _ = t.on_packet(&bytes);
                let _ = t.poll_output();
            }

            /// Random IPv4 headers with a real TCP segment behind them, any flags and numbers
            /// and checksums that are right: never a panic, and SND.UNA never passes SND.NXT.
            #[test]
            fn random_valid_segments_keep_the_invariants(
                which in 0u8..5,
                segs in proptest::collection::vec(
                    (any::<u32>(), any::<u32>(), any::<u8>(), any::<u16>(),
                     proptest::collection::vec(any::<u8>(), 0..40), any::<bool>()),
                    1..12)
            ) {
                let mut t = any_state_tcb(which);
                for (seq, ack, f, window, data, near) in segs {
                    // Half the time, numbers near the ones the connection expects.
                    let (seq, ack) = if near {
                        (t.rcv_nxt.0.wrapping_add(seq % 16), t.snd_una.0.wrapping_add(ack % 16))
                    } else {
                        (seq, ack)
                    };
                    let mut s = seg(KERNEL, US, seq, ack, Flags::from_bits(f as u16), &data);
                    s.window = window;
                    let _ = t.on_packet(&s.to_bytes(1));
                    t.send(b"x");
                    let _ = t.poll_output();
                    prop_assert!(t.snd_una <= t.snd_nxt);
                }
            }
        }
    }
}
