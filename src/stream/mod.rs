//! Streams: what can only be known by looking at many packets together.
//!
//! # The idea
//!
//! The engine ([`crate::dissect`]) reads each frame on its own: this is a TCP segment from
//! port 52000 to port 80, sequence number 2847395812, 78 bytes of data. Many questions need
//! the frames before it: Which connection is this? What is byte 2847395812 *of that
//! connection* (byte 1, the start of an HTTP request)? Was it sent before? How long did the
//! acknowledgment take? What did the whole request say, across the five segments that carried
//! it? This module answers them, fed one dissection at a time in capture order, as a
//! receiver's TCP would see them:
//!
//! * [`conversation`]: which packets belong together, numbered as Wireshark numbers them
//!   (`tcp.stream`, `udp.stream`), with packet and byte counts each way;
//! * [`tcp`]: relative sequence numbers, round-trip times, retransmissions, duplicate ACKs,
//!   windows: Wireshark's "SEQ/ACK analysis", rule by rule;
//! * [`state`]: each end's socket state (SYN-SENT, ESTABLISHED, TIME-WAIT…) as the segments imply;
//! * [`rtt`]: how TCP turns round-trip samples into its retransmission timeout (RFC 6298);
//! * [`reassembly`]: the byte stream put back in order, each byte traced to the frame that
//!   carried it, for the HTTP, WebSocket and Socket.IO dissectors;
//! * [`follow`], [`timeseq`]: what `--follow` and `--graph` show;
//! * [`fields`]: the fields all this adds to each packet (`tcp.stream`, `tcp.seq`,
//!   `tcp.analysis.ack_rtt`…), so every view and the JSON show them;
//! * [`upper`]: HTTP, WebSocket, Engine.IO and Socket.IO read from the reassembled streams
//!   and added to the frames that completed them;
//! * [`ipfrag`]: IP datagrams cut into fragments put back together, and their layers read
//!   from the whole in the frame that completed them;
//! * [`dnslink`]: each DNS response linked to its query, with the time it took.
//!
//! # Use
//!
//! The [`Pipeline`](crate::pipeline::Pipeline) runs the tracker between the dissection and the
//! upper layers; used on its own it reads like this:
//!
//! ```
//! use wirelab::dissect::{dissect, model::{Frame, LinkType, Timestamp}};
//! use wirelab::stream::StreamTracker;
//! # let bytes = [0u8; 14];
//! # let frames = [Frame { number: 1, ts: Some(Timestamp::default()), link: LinkType::ETHERNET,
//! #                      wire_len: 14, data: &bytes }];
//! let mut tracker = StreamTracker::default();
//! for frame in &frames {
//!     let mut d = dissect(frame);
//!     tracker.observe(&mut d); // adds tcp.stream, tcp.seq, tcp.analysis.* to `d`
//!     // … show `d` in any view …
//! }
//! tracker.finish();
//! for c in tracker.conversations() {
//!     println!("{} {}", c.index, c.title());
//! }
//! ```
//!
//! # Memory
//!
//! A capture may run for days, so what is kept is bounded: a finished connection's working
//! state (segments waiting for acknowledgment, bytes waiting for a hole to fill) is dropped
//! once it has been quiet for [`TrackerConfig::linger`] seconds of capture time; followed
//! bytes and graph points have limits per conversation and in all; and past
//! [`TrackerConfig::max_conversations`], the oldest finished conversations are folded into one
//! line of totals ([`Evicted`]).

pub mod conversation;
pub mod dnslink;
pub mod fields;
pub mod follow;
pub mod ipfrag;
pub mod reassembly;
pub mod rtt;
pub mod state;
pub mod tcp;
pub mod timeseq;
pub mod upper;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::str::FromStr;

pub use conversation::{Conversation, Endpoint, FastHash, PairKey, Side, Transport};
pub use follow::{FollowItem, FollowLog};
pub use reassembly::{Event, GapReason, Origin, Reassembler};
pub use timeseq::TimeSeq;

use crate::dissect::model::{Dissection, Timestamp};
use crate::dissect::tcp::{Seq, TcpSegment};
use tcp::{Nanos, SegmentIn, TcpConn, flag};

/// One conversation, as `--stream` names it: `3` or `tcp:3` (tcp.stream 3), `udp:3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamId {
    pub transport: Transport,
    pub index: u32,
}

impl FromStr for StreamId {
    type Err = String;

    fn from_str(s: &str) -> Result<StreamId, String> {
        let (transport, num) = match s.split_once(':') {
            Some((t, n)) if t.eq_ignore_ascii_case("tcp") => (Transport::Tcp, n),
            Some((t, n)) if t.eq_ignore_ascii_case("udp") => (Transport::Udp, n),
            Some((t, _)) => {
                return Err(format!(
                    "`{t}` is not a transport wirelab follows; write N, tcp:N or udp:N"
                ));
            }
            None => (Transport::Tcp, s),
        };
        let index = num.trim().parse().map_err(|_| {
            format!("`{num}` is not a stream number; write N, tcp:N or udp:N (N counts from 0)")
        })?;
        Ok(StreamId { transport, index })
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.transport {
            Transport::Tcp => write!(f, "tcp.stream {}", self.index),
            Transport::Udp => write!(f, "udp.stream {}", self.index),
        }
    }
}

/// Which conversations a recorder (follow, graph) keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Select {
    #[default]
    None,
    All,
    One(u32),
}

impl Select {
    fn wants(self, stream: u32) -> bool {
        match self {
            Select::None => false,
            Select::All => true,
            Select::One(n) => n == stream,
        }
    }
}

/// What the tracker does and how much it may keep.
#[derive(Clone, Debug)]
pub struct TrackerConfig {
    /// Run the SEQ/ACK analysis and count for `--stats`. Off, the tracker only numbers each
    /// TCP segment (its conversation, relative sequence and acknowledgment numbers, the
    /// scaled window: what the one-line summary shows) at a fraction of the cost; UDP,
    /// reassembly, follow and graph points are then left out.
    pub analyse: bool,
    /// Add the analysis fields (`tcp.stream`, `tcp.seq`, …) to each dissection (with
    /// `analyse` on); the typed views get the numbers either way.
    pub annotate: bool,
    /// Put TCP byte streams back in order (for `follow` and for [`StreamConsumer`]s).
    pub reassemble: bool,
    /// TCP conversations whose bytes to keep for `--follow` (turns reassembly on).
    pub follow: Select,
    /// Bytes kept per followed conversation, and for all of them together.
    pub follow_limit: usize,
    pub follow_total: usize,
    /// TCP conversations whose segments to keep for `--graph`.
    pub timeseq: Select,
    /// Graph points kept per conversation, and for all together.
    pub timeseq_limit: usize,
    pub timeseq_total: usize,
    /// Bytes allowed to wait behind a hole in one direction before it is given up on.
    pub max_waiting: usize,
    /// Seconds of capture time after which a finished connection's working state is dropped.
    pub linger: f64,
    /// Conversations kept in the table before the oldest finished ones are folded away.
    pub max_conversations: usize,
}

impl Default for TrackerConfig {
    fn default() -> TrackerConfig {
        TrackerConfig {
            analyse: true,
            annotate: true,
            reassemble: false,
            follow: Select::None,
            follow_limit: 1 << 20,
            follow_total: 64 << 20,
            timeseq: Select::None,
            timeseq_limit: 200_000,
            timeseq_total: 2_000_000,
            max_waiting: reassembly::DEFAULT_MAX_WAITING,
            linger: 60.0,
            max_conversations: 50_000,
        }
    }
}

/// Something that reads reassembled TCP streams: the HTTP, WebSocket and Socket.IO
/// dissectors. It is told of every [`Event`] in the order the capture makes them happen.
pub trait StreamConsumer {
    fn on_event(&mut self, ev: StreamEvent<'_, '_>);
}

/// A consumer that ignores everything.
pub struct NoConsumer;

impl StreamConsumer for NoConsumer {
    fn on_event(&mut self, _ev: StreamEvent<'_, '_>) {}
}

/// One event of one direction of one TCP conversation.
pub struct StreamEvent<'e, 'd> {
    /// `tcp.stream`.
    pub stream: u32,
    /// The direction: A is the endpoint that sent first (usually the client).
    pub side: Side,
    /// The endpoint that sent these bytes, and the one they went to.
    pub from: Endpoint,
    pub to: Endpoint,
    pub event: Event<'e>,
    /// The frame being processed when this happened, to add layers to (`None` when the
    /// event comes from [`StreamTracker::finish_with`]).
    pub frame: Option<&'d mut Dissection>,
}

/// Totals of conversations folded away to bound memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Evicted {
    pub conversations: u64,
    pub packets: u64,
    pub bytes: u64,
}

/// A TCP conversation and its working state.
struct TcpEntry {
    conv: Conversation,
    conn: TcpConn,
    /// One reassembler per direction, while they are needed.
    reasm: Option<Box<[Reassembler; 2]>>,
    /// The side that sent the first SYN (to tell when the handshake completed).
    syn_side: Option<Side>,
    /// The last relative acknowledgment number each side sent.
    last_ack: [Option<u32>; 2],
    /// Working state dropped (finished and quiet).
    dormant: bool,
    /// In [`StreamTracker`]'s `closing` queue.
    queued: bool,
}

/// Follows every conversation through a capture. See the module documentation.
pub struct StreamTracker {
    pub cfg: TrackerConfig,
    tcp_keys: HashMap<PairKey, u32, FastHash>,
    udp_keys: HashMap<PairKey, u32, FastHash>,
    tcp: HashMap<u32, TcpEntry, FastHash>,
    udp: HashMap<u32, Conversation, FastHash>,
    next_tcp: u32,
    next_udp: u32,
    follow: HashMap<u32, FollowLog>,
    follow_kept: usize,
    timeseq: HashMap<u32, TimeSeq>,
    timeseq_kept: usize,
    evicted: Evicted,
    frames: u64,
    last_ts: Nanos,
    /// A copy of the current segment's payload for the reassembler.
    scratch: Vec<u8>,
    /// TCP connections that closed (both FINs, or a RST), each once, soonest quiet first (by
    /// when they last spoke, as far as the sweep knows): the ones [`StreamTracker::sweep`]
    /// may put to rest (without reassembly).
    closing: BinaryHeap<Reverse<(Nanos, u32)>>,
    finished: bool,
}

impl Default for StreamTracker {
    fn default() -> StreamTracker {
        StreamTracker::new(TrackerConfig::default())
    }
}

impl StreamTracker {
    pub fn new(mut cfg: TrackerConfig) -> StreamTracker {
        if cfg.follow != Select::None {
            cfg.reassemble = true;
        }
        StreamTracker {
            cfg,
            tcp_keys: HashMap::default(),
            udp_keys: HashMap::default(),
            tcp: HashMap::default(),
            udp: HashMap::default(),
            next_tcp: 0,
            next_udp: 0,
            follow: HashMap::new(),
            follow_kept: 0,
            timeseq: HashMap::new(),
            timeseq_kept: 0,
            evicted: Evicted::default(),
            frames: 0,
            last_ts: 0,
            scratch: Vec::new(),
            closing: BinaryHeap::new(),
            finished: false,
        }
    }

    /// Take the next frame of the capture: work out its place in its conversation and add
    /// the analysis fields to it.
    pub fn observe(&mut self, d: &mut Dissection) {
        self.observe_with(d, &mut NoConsumer);
    }

    /// Like [`StreamTracker::observe`], and tell `consumer` about the stream bytes this frame
    /// completes (reassembly must be on: [`TrackerConfig::reassemble`]).
    pub fn observe_with(&mut self, d: &mut Dissection, consumer: &mut dyn StreamConsumer) {
        self.frames += 1;
        let now = tcp::nanos(d.ts.unwrap_or_default());
        self.last_ts = self.last_ts.max(now);
        // The transport headers in the order they sit in the frame (the frame's own first,
        // then any an ICMP error quotes), read from their typed views.
        let (mut t, mut u) = (0, 0);
        while t < d.tcp.len() || u < d.udp.len() {
            let tcp_first = match (d.tcp.get(t), d.udp.get(u)) {
                (Some(a), Some(b)) => a.layer < b.layer,
                (a, _) => a.is_some(),
            };
            if tcp_first {
                self.tcp_segment(d, t, now, consumer);
                t += 1;
            } else {
                if self.cfg.analyse {
                    self.udp_datagram(d, u);
                }
                u += 1;
            }
        }
        if self.frames % 1024 == 0 || self.tcp.len() + self.udp.len() > self.cfg.max_conversations {
            self.sweep(consumer);
        }
    }

    /// The capture is over: hand out bytes still waiting behind holes (reporting the holes).
    pub fn finish(&mut self) {
        self.finish_with(&mut NoConsumer);
    }

    pub fn finish_with(&mut self, consumer: &mut dyn StreamConsumer) {
        if self.finished {
            return;
        }
        self.finished = true;
        let mut ids: Vec<u32> = self.tcp.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            self.flush_reassembly(id, consumer);
        }
    }

    /// One TCP segment (`vi`, an index into the dissection's typed TCP views): find its
    /// conversation, run the analysis (or, for the lean summary, only the numbering), write
    /// the result into the typed view (and the fields, if asked), and feed the reassembly.
    fn tcp_segment(
        &mut self,
        d: &mut Dissection,
        vi: usize,
        now: Nanos,
        consumer: &mut dyn StreamConsumer,
    ) {
        let seg = d.tcp[vi];
        let li = seg.layer as usize;
        let Some(ip) = d.ip_around(li).copied() else {
            return;
        };
        let seglen = seg.trusted_len();
        let mut sin = SegmentIn {
            frame: d.number,
            ts: now,
            seq: seg.seq,
            ack: seg.ack_raw,
            flags: seg.flags,
            window: seg.window,
            seglen,
            header_ok: seg.header_ok(),
            quoted: seg.quoted,
            wscale: seg.options.window_scale,
            ..SegmentIn::default()
        };
        for (i, &block) in seg.options.sack_blocks().iter().enumerate() {
            sin.sacks[i] = block;
            sin.n_sack = i as u8 + 1;
        }
        let src = Endpoint {
            addr: ip.src,
            port: seg.src_port,
        };
        let dst = Endpoint {
            addr: ip.dst,
            port: seg.dst_port,
        };

        // Find the conversation, or open a new one (also for a SYN that reuses old ports).
        // (Two table lookups for most segments: this runs for every TCP frame of a capture.)
        let key = PairKey::new(Transport::Tcp, src, dst);
        let mut reused = false;
        let id = match self.tcp_keys.get(&key).copied() {
            // Only a SYN can open a new connection on ports used before.
            Some(id) if !seg.quoted && seg.flags.is_syn_only() => match self.tcp.get(&id) {
                Some(e)
                    if e.conn
                        .syn_reuses_ports(e.conv.side_of(src).index(), sin.seq) =>
                {
                    reused = true;
                    self.new_tcp(key, src, dst, d)
                }
                _ => id,
            },
            Some(id) => id,
            None => self.new_tcp(key, src, dst, d),
        };
        let analyse = self.cfg.analyse;
        let cfg_annotate = self.cfg.annotate && analyse;
        let want_ts = analyse && self.cfg.timeseq.wants(id);
        // A key always names a conversation in the table (eviction removes both together).
        let Some(e) = self.tcp.get_mut(&id) else {
            return;
        };
        let side = e.conv.side_of(src);
        let out = if analyse {
            e.conn.segment(side.index(), &sin, reused)
        } else {
            e.conn.number(side.index(), &sin)
        };
        if !seg.quoted {
            let ts = d.ts.unwrap_or_default();
            e.conv
                .count(side, d.wire_len, seglen.unwrap_or(0) as u64, ts, d.number);
            if analyse {
                update_summary(e, side, &sin, &out, seg.options.mss);
            }
            e.dormant = false;
            // A closed connection may go quiet: the sweep looks at these only.
            if !self.cfg.reassemble && !e.queued && e.conv.tcp.as_ref().is_some_and(|t| t.closed())
            {
                self.closing.push(Reverse((tcp::nanos(e.conv.last), id)));
                e.queued = true;
            }
        }
        d.tcp[vi].analysis = Some(out.analysis());
        if cfg_annotate {
            fields::annotate_tcp(d, li, &out, seg.flags);
        }
        if want_ts && out.analysed {
            let (a, b) = (e.conv.a, e.conv.b);
            let ts = self
                .timeseq
                .entry(id)
                .or_insert_with(|| TimeSeq::new(id, a, b, self.cfg.timeseq_limit));
            let point = timeseq::Point {
                t: out.time_relative as f64 / 1e9,
                frame: d.number,
                side,
                seq: out.seq,
                len: seglen.unwrap_or(0),
                ack: seg.flags.ack().then_some(out.ack),
                win: out.window,
                flags: seg.flags,
                retransmission: out.findings.has(flag::ANY_RETRANSMISSION),
            };
            if self.timeseq_kept < self.cfg.timeseq_total {
                let before = ts.points.len();
                ts.push(point);
                self.timeseq_kept += ts.points.len() - before;
            } else {
                ts.dropped += 1;
            }
        }
        if self.cfg.reassemble && analyse && out.analysed {
            self.reassemble(d, &seg, id, side, consumer);
        }
    }

    /// Reassembly: the payload goes to its direction, the acknowledgment to the other.
    fn reassemble(
        &mut self,
        d: &mut Dissection,
        seg: &TcpSegment,
        id: u32,
        side: Side,
        consumer: &mut dyn StreamConsumer,
    ) {
        let Some(len) = seg.trusted_len() else { return };
        // The segment's bytes: the frame's, or for a segment in an IP datagram put back
        // together from fragments, the reassembled datagram's.
        let bytes = d.layer_bytes(seg.layer as usize);
        let start = seg.payload_at as usize;
        let stop = (start + len as usize).min(bytes.len());
        self.scratch.clear();
        if start < stop {
            self.scratch.extend_from_slice(&bytes[start..stop]);
        }
        let data = reassembly::SegmentData {
            seq: seg.seq,
            syn: seg.flags.syn(),
            fin: seg.flags.fin(),
            rst: seg.flags.rst(),
            payload: &self.scratch,
            len,
            frame: d.number,
            frame_offset: start as u32,
        };
        let Some(e) = self.tcp.get_mut(&id) else {
            return;
        };
        let max_waiting = self.cfg.max_waiting;
        let r = e.reasm.get_or_insert_with(|| {
            Box::new([Reassembler::new(max_waiting), Reassembler::new(max_waiting)])
        });
        let (a, b) = (e.conv.a, e.conv.b);
        let follow_on = self.cfg.follow.wants(id);
        let mut rec = Recorder {
            stream: id,
            a,
            b,
            follow: follow_on.then_some(&mut self.follow),
            follow_kept: &mut self.follow_kept,
            follow_limit: self.cfg.follow_limit,
            follow_total: self.cfg.follow_total,
            consumer,
        };
        let [ra, rb] = &mut **r;
        let (mine, theirs) = match side {
            Side::AtoB => (ra, rb),
            Side::BtoA => (rb, ra),
        };
        mine.segment(&data, &mut |ev| rec.event(side, ev, Some(&mut *d)));
        if seg.flags.ack() && !seg.flags.rst() {
            theirs.acked(seg.ack_raw, &mut |ev| {
                rec.event(side.other(), ev, Some(&mut *d))
            });
        }
    }

    fn new_tcp(&mut self, key: PairKey, src: Endpoint, dst: Endpoint, d: &Dissection) -> u32 {
        let id = self.next_tcp;
        self.next_tcp += 1;
        let ts = d.ts.unwrap_or_default();
        self.tcp.insert(
            id,
            TcpEntry {
                conv: Conversation::new(Transport::Tcp, id, src, dst, ts, d.number),
                conn: TcpConn::new(id, tcp::nanos(ts)),
                reasm: None,
                syn_side: None,
                last_ack: [None; 2],
                dormant: false,
                queued: false,
            },
        );
        self.tcp_keys.insert(key, id);
        id
    }

    /// One UDP datagram (`vi`, an index into the dissection's typed UDP views).
    fn udp_datagram(&mut self, d: &mut Dissection, vi: usize) {
        let u = d.udp[vi];
        let li = u.layer as usize;
        let Some(ip) = d.ip_around(li).copied() else {
            return;
        };
        let src = Endpoint {
            addr: ip.src,
            port: u.src_port,
        };
        let dst = Endpoint {
            addr: ip.dst,
            port: u.dst_port,
        };
        let key = PairKey::new(Transport::Udp, src, dst);
        let ts = d.ts.unwrap_or_default();
        let id = match self.udp_keys.get(&key) {
            Some(&id) if self.udp.contains_key(&id) => id,
            _ => {
                let id = self.next_udp;
                self.next_udp += 1;
                self.udp_keys.insert(key, id);
                self.udp.insert(
                    id,
                    Conversation::new(Transport::Udp, id, src, dst, ts, d.number),
                );
                id
            }
        };
        d.udp[vi].stream = Some(id);
        if !u.quoted {
            let c = self.udp.get_mut(&id).expect("present");
            let side = c.side_of(src);
            c.count(side, d.wire_len, u.data_len() as u64, ts, d.number);
        }
        if self.cfg.annotate {
            fields::annotate_udp(d, li, id);
        }
    }

    /// Finish one conversation's reassembly and drop it.
    fn flush_reassembly(&mut self, id: u32, consumer: &mut dyn StreamConsumer) {
        let Some(e) = self.tcp.get_mut(&id) else {
            return;
        };
        let Some(mut r) = e.reasm.take() else { return };
        let mut rec = Recorder {
            stream: id,
            a: e.conv.a,
            b: e.conv.b,
            follow: self.cfg.follow.wants(id).then_some(&mut self.follow),
            follow_kept: &mut self.follow_kept,
            follow_limit: self.cfg.follow_limit,
            follow_total: self.cfg.follow_total,
            consumer,
        };
        let [ra, rb] = &mut *r;
        ra.finish(&mut |ev| rec.event(Side::AtoB, ev, None));
        rb.finish(&mut |ev| rec.event(Side::BtoA, ev, None));
    }

    /// Drop the working state of finished, quiet connections; fold away the oldest
    /// conversations when there are too many.
    fn sweep(&mut self, consumer: &mut dyn StreamConsumer) {
        let linger = (self.cfg.linger * 1e9) as Nanos;
        let now = self.last_ts;
        let quiet: Vec<u32> = if self.cfg.reassemble {
            // Every connection looked at, in the table's order: the order in which the bytes
            // still waiting in their reassemblers are handed out.
            self.tcp
                .iter()
                .filter(|(_, e)| {
                    !e.dormant
                        && e.conv.tcp.as_ref().is_some_and(|t| t.closed())
                        && now - tcp::nanos(e.conv.last) > linger
                })
                .map(|(id, _)| *id)
                .collect()
        } else {
            // Without reassembly nothing waits to be handed out, so the order does not matter,
            // and only the connections that closed (`self.closing`, by the time they last
            // spoke) can go quiet: a capture of 20,000 connections would otherwise have all of
            // them looked at every 1024 frames.
            let mut quiet = Vec::new();
            while let Some(&Reverse((spoke, id))) = self.closing.peek() {
                if now - spoke <= linger {
                    break;
                }
                self.closing.pop();
                let Some(e) = self.tcp.get_mut(&id) else {
                    continue; // folded away
                };
                let last = tcp::nanos(e.conv.last);
                if now - last > linger {
                    e.queued = false;
                    if !e.dormant {
                        quiet.push(id);
                    }
                } else {
                    // It spoke again since: look again once that is long enough ago.
                    self.closing.push(Reverse((last, id)));
                }
            }
            quiet
        };
        for id in quiet {
            self.flush_reassembly(id, consumer);
            if let Some(e) = self.tcp.get_mut(&id) {
                e.conn.flows[0].forget_segments();
                e.conn.flows[1].forget_segments();
                e.dormant = true;
            }
        }
        let total = self.tcp.len() + self.udp.len();
        if total <= self.cfg.max_conversations {
            return;
        }
        // Oldest first, finished TCP before anything still open.
        let mut candidates: Vec<(bool, Timestamp, Transport, u32)> = self
            .tcp
            .iter()
            .filter(|(_, e)| now - tcp::nanos(e.conv.last) > linger)
            .map(|(id, e)| {
                let open = !e.conv.tcp.as_ref().is_some_and(|t| t.closed());
                (open, e.conv.last, Transport::Tcp, *id)
            })
            .chain(
                self.udp
                    .iter()
                    .filter(|(_, c)| now - tcp::nanos(c.last) > linger)
                    .map(|(id, c)| (false, c.last, Transport::Udp, *id)),
            )
            .collect();
        candidates.sort();
        let target = self.cfg.max_conversations * 9 / 10;
        let excess = total.saturating_sub(target);
        for (_, _, transport, id) in candidates.into_iter().take(excess) {
            let conv = match transport {
                Transport::Tcp => {
                    self.flush_reassembly(id, consumer);
                    self.tcp.remove(&id).map(|e| e.conv)
                }
                Transport::Udp => self.udp.remove(&id),
            };
            if let Some(c) = conv {
                let key = PairKey::new(transport, c.a, c.b);
                let keys = match transport {
                    Transport::Tcp => &mut self.tcp_keys,
                    Transport::Udp => &mut self.udp_keys,
                };
                if keys.get(&key) == Some(&id) {
                    keys.remove(&key);
                }
                self.evicted.conversations += 1;
                self.evicted.packets += c.packets();
                self.evicted.bytes += c.bytes();
            }
        }
    }

    /// Every conversation still in the table that carried at least one packet: TCP by
    /// `tcp.stream`, then UDP by `udp.stream`.
    pub fn conversations(&self) -> Vec<&Conversation> {
        let mut tcp: Vec<&Conversation> = self
            .tcp
            .values()
            .map(|e| &e.conv)
            .filter(|c| c.packets() > 0)
            .collect();
        tcp.sort_by_key(|c| c.index);
        let mut udp: Vec<&Conversation> = self.udp.values().filter(|c| c.packets() > 0).collect();
        udp.sort_by_key(|c| c.index);
        tcp.extend(udp);
        tcp
    }

    /// One conversation.
    pub fn conversation(&self, id: StreamId) -> Option<&Conversation> {
        match id.transport {
            Transport::Tcp => self.tcp.get(&id.index).map(|e| &e.conv),
            Transport::Udp => self.udp.get(&id.index),
        }
    }

    /// The followed conversations, by stream number.
    pub fn follow_logs(&self) -> Vec<&FollowLog> {
        let mut v: Vec<&FollowLog> = self.follow.values().collect();
        v.sort_by_key(|l| l.stream);
        v
    }

    /// The graph points of one TCP conversation, if recorded.
    pub fn timeseq(&self, stream: u32) -> Option<&TimeSeq> {
        self.timeseq.get(&stream)
    }

    /// All recorded graphs, by stream number.
    pub fn timeseqs(&self) -> Vec<&TimeSeq> {
        let mut v: Vec<&TimeSeq> = self.timeseq.values().collect();
        v.sort_by_key(|t| t.stream);
        v
    }

    /// Conversations folded away to bound memory.
    pub fn evicted(&self) -> Evicted {
        self.evicted
    }

    /// How many TCP conversations currently hold working state (for tests of the memory
    /// bound): reassemblers or unacknowledged segments.
    pub fn active_tcp_states(&self) -> usize {
        self.tcp.values().filter(|e| !e.dormant).count()
    }

    /// Frames observed so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }
}

/// Update the `--stats` counters of a TCP conversation with one segment.
fn update_summary(
    e: &mut TcpEntry,
    side: Side,
    s: &SegmentIn,
    o: &tcp::SegmentOut,
    mss: Option<u16>,
) {
    let Some(t) = e.conv.tcp.as_deref_mut() else {
        return;
    };
    let i = side.index();
    let syn = s.flags.syn();
    let ackf = s.flags.ack();
    if syn && !ackf {
        t.saw_syn = true;
        t.syn_frame.get_or_insert(s.frame);
        e.syn_side.get_or_insert(side);
    }
    if syn && ackf {
        t.saw_synack = true;
    }
    if !syn && ackf && t.saw_synack && e.syn_side == Some(side) {
        t.handshake_complete = true;
    }
    let irtt = e.conn.initial_rtt();
    if irtt != 0 {
        t.initial_rtt = Some(irtt as f64 / 1e9);
    }
    let d = &mut t.dirs[i];
    // A RST's window means nothing.
    if s.header_ok && !s.flags.rst() {
        let win = o.window as u64;
        d.win_min = Some(d.win_min.map_or(win, |m| m.min(win)));
        d.win_max = Some(d.win_max.map_or(win, |m| m.max(win)));
    }
    if syn {
        d.syn = true;
        if let Some(m) = mss {
            d.mss = Some(m);
        }
        if let Some(w) = s.wscale {
            d.wscale = Some(w.min(14));
        }
    }
    if s.flags.fin() {
        d.fin = true;
    }
    if s.flags.rst() {
        d.rst = true;
    }
    let ta = &o.findings;
    if ta.has(flag::RETRANSMISSION | flag::FAST_RETRANSMISSION | flag::SPURIOUS_RETRANSMISSION) {
        d.retransmissions += 1;
    }
    d.fast_retransmissions += u64::from(ta.has(flag::FAST_RETRANSMISSION));
    d.spurious_retransmissions += u64::from(ta.has(flag::SPURIOUS_RETRANSMISSION));
    d.out_of_order += u64::from(ta.has(flag::OUT_OF_ORDER));
    d.lost_segments += u64::from(ta.has(flag::LOST_PACKET));
    d.dup_acks += u64::from(ta.has(flag::DUPLICATE_ACK));
    d.zero_windows += u64::from(ta.has(flag::ZERO_WINDOW));
    d.window_updates += u64::from(ta.has(flag::WINDOW_UPDATE));
    d.keep_alives += u64::from(ta.has(flag::KEEP_ALIVE));
    let now = Timestamp {
        secs: (s.ts.div_euclid(1_000_000_000)) as i64,
        nanos: (s.ts.rem_euclid(1_000_000_000)) as u32,
    };
    if let Some(len) = s.seglen {
        if len > 0 && o.analysed {
            t.saw_data = true;
            let top = o.seq.wrapping_add(len).wrapping_sub(1) as u64;
            d.unique_payload = d.unique_payload.max(top);
            d.data_first.get_or_insert((now, o.seq));
        }
    }
    // Throughput: the highest acknowledgment of the other side's data, and when it came.
    if o.analysed && ackf {
        let theirs = &mut t.dirs[side.other().index()];
        if let Some((_, first)) = theirs.data_first {
            // Just past the last data byte: a FIN's acknowledgment is not data.
            let end = (theirs.unique_payload as u32).wrapping_add(1);
            let a = if Seq(o.ack) > Seq(end) { end } else { o.ack };
            let before = theirs.data_acked.map_or(first, |(x, _)| x);
            if Seq(a) > Seq(before) {
                theirs.data_acked = Some((a, now));
            }
        }
    }
    let d = &mut t.dirs[i];
    if o.analysed && ackf {
        if let Some(prev) = e.last_ack[i] {
            if Seq(o.ack) > Seq(prev) {
                d.advancing_acks += 1;
                d.acked_bytes += o.ack.wrapping_sub(prev) as u64;
            }
        }
        if e.last_ack[i].is_none_or(|p| Seq(o.ack) > Seq(p)) {
            e.last_ack[i] = Some(o.ack);
        }
    }
    // An RTT sample measures the data the *other* side sent.
    if ta.acks_frame.is_some() && ta.ack_rtt > 0 {
        let other = &mut t.dirs[side.other().index()];
        if ta.ack_of_retransmission {
            other.karn_skipped += 1;
        } else {
            other.rtt.sample(ta.ack_rtt as f64 / 1e9);
            other.rtt_data_samples += u64::from(ta.ack_of_data);
        }
    }
}

/// Sends reassembly events to the follow logs and to the consumer.
struct Recorder<'a> {
    stream: u32,
    a: Endpoint,
    b: Endpoint,
    follow: Option<&'a mut HashMap<u32, FollowLog>>,
    follow_kept: &'a mut usize,
    follow_limit: usize,
    follow_total: usize,
    consumer: &'a mut dyn StreamConsumer,
}

impl Recorder<'_> {
    fn event(&mut self, side: Side, ev: Event, frame: Option<&mut Dissection>) {
        if let Some(logs) = self.follow.as_deref_mut() {
            let log = logs
                .entry(self.stream)
                .or_insert_with(|| FollowLog::new(self.stream, self.a, self.b, self.follow_limit));
            match &ev {
                Event::Data { at, bytes, origins } => {
                    let first = origins.iter().map(|o| o.frame).min().unwrap_or(0);
                    let last = origins.iter().map(|o| o.frame).max().unwrap_or(0);
                    let budget = self.follow_total.saturating_sub(*self.follow_kept);
                    *self.follow_kept += log.data_within(side, *at, bytes, (first, last), budget);
                }
                Event::Gap { at, len, reason } => log.push(FollowItem::Gap {
                    side,
                    at: *at,
                    len: *len,
                    reason: *reason,
                }),
                Event::Fin { at } => log.push(FollowItem::Fin { side, at: *at }),
                Event::Reset { at } => log.push(FollowItem::Reset { side, at: *at }),
            }
        }
        let (from, to) = match side {
            Side::AtoB => (self.a, self.b),
            Side::BtoA => (self.b, self.a),
        };
        self.consumer.on_event(StreamEvent {
            stream: self.stream,
            side,
            from,
            to,
            event: ev,
            frame,
        });
    }
}

/// Is `name` a field that only the stream tracker adds (one that needs the packets before this
/// one: relative sequence numbers, stream indexes, analysis flags)? A display filter naming one
/// makes `dissect` and `capture` run the tracker even for the summary view.
pub fn is_stream_field(name: &str) -> bool {
    matches!(
        name,
        "tcp.stream"
            | "udp.stream"
            | "tcp.seq"
            | "tcp.ack"
            | "tcp.nxtseq"
            | "tcp.window_size"
            | "tcp.window_size_scalefactor"
            | "tcp.time_relative"
            | "tcp.time_delta"
            | "tcp.options.sack_le"
            | "tcp.options.sack_re"
    ) || name.starts_with("tcp.analysis")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_id_from_str() {
        assert_eq!(
            "3".parse::<StreamId>(),
            Ok(StreamId {
                transport: Transport::Tcp,
                index: 3
            })
        );
        assert_eq!(
            "udp:7".parse::<StreamId>().unwrap().transport,
            Transport::Udp
        );
        assert!("sctp:1".parse::<StreamId>().is_err());
        assert!(
            "x".parse::<StreamId>()
                .unwrap_err()
                .contains("stream number")
        );
    }
}
