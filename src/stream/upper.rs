//! Application layers in the byte stream: HTTP/1.1, WebSocket, Engine.IO and Socket.IO,
//! found in reassembled TCP conversations and tied back to the frames that carried them.
//!
//! # The idea
//!
//! An application does not write packets: it writes a stream of bytes into its socket, and
//! TCP cuts that stream into segments as it likes. An HTTP request can be split over three
//! segments; one segment can carry the end of one WebSocket frame and two more whole ones. So
//! the application's messages (*PDUs*, protocol data units) are found in the *stream*, once
//! the receiver's TCP has put it back in order ([`super::reassembly`]):
//!
//! ```text
//!  segments on the wire   │ GET /chat HTTP/1.1\r\nHo│st: x\r\nUpgrade: websocket…\r\n\r\n│
//!  frames                 │        #4               │              #5                  │
//!  PDU in the stream      └── one HTTP request, complete when #5 arrived ─────────────┘
//! ```
//!
//! This module reads each direction of a conversation as a stream:
//!
//! 1. **HTTP/1.1** heads ([`crate::dissect::http`]), and the body after each one as long as
//!    its `Content-Length` says;
//! 2. after a request with `Upgrade: websocket` answered `101 Switching Protocols`,
//!    **WebSocket frames** ([`crate::dissect::websocket`]) in both directions;
//! 3. when the request was for an Engine.IO endpoint (its URI says `EIO=`), the text (and
//!    binary) **messages** of that WebSocket, and the bodies of HTTP long-polling requests and
//!    responses (packets separated by the byte 0x1e), as **Engine.IO** packets, each message
//!    packet carrying a **Socket.IO** packet ([`crate::dissect::engineio`]).
//!
//! # Which frame shows a PDU
//!
//! As Wireshark does, a PDU is shown with the frame that brought its *last* byte: that is the
//! moment the receiving program could read it. Its layers are added to that frame's
//! [`Dissection`] after the TCP layer (`eth:ip:tcp:http:websocket:eio:sio`), several PDUs
//! completed by one segment one after the other. Frames that carry only the start or the
//! middle of a PDU keep their `Data` layer, marked as such.
//!
//! # Bytes from other frames: sources
//!
//! A PDU whose bytes all came in the frame that shows it has its fields placed on that
//! frame's bytes, as every other layer. A PDU put together from several segments cannot be:
//! its layers are read from a [`Source`] (Wireshark's "Reassembled TCP" tab), a copy of the
//! PDU's bytes that says which frame carried which run of them, and every offset in those
//! layers counts from the start of the source. A WebSocket payload that the client masked is
//! unmasked into a source of its own ("Unmasked WebSocket payload"), which the Engine.IO and
//! Socket.IO layers inside it are read from. The views show sources as extra byte dumps.
//!
//! # Cost
//!
//! Putting streams back together costs memory and time, and almost no conversation in a big
//! capture is HTTP. So [`Upper`] follows only conversations that look like HTTP: one whose
//! segment starts with an HTTP method or `HTTP/1.` is noted (by its addresses and ports) and
//! gets a [`Reassembler`] per direction; from then on its frames go through. For every other
//! TCP frame the cost is a look at its two ports and the first byte of its payload. A
//! conversation is forgotten when both sides have closed it, or at once if its first bytes
//! turn out not to be HTTP after all.

use std::collections::{HashMap, VecDeque};

use super::conversation::{Endpoint, FastHash, PairKey, Side, Transport};
use super::reassembly::{Event, Origin, Reassembler};
use super::{StreamConsumer, StreamEvent};
use crate::dissect::cx::Cx;
use crate::dissect::engineio;
use crate::dissect::http::{self, HeadError};
use crate::dissect::model::{
    Dissection, Field, Layer, Problem, ProblemKind, Proto, Source, SourcePiece, Value,
};
use crate::dissect::tcp::{Flags, TcpSegment};
use crate::dissect::websocket::{self, HeadParse};

/// A WebSocket frame or HTTP body longer than this is not put back together (its bytes are
/// not kept): the direction is given up with a note.
pub const MAX_PDU: usize = 64 << 20;

/// Finds HTTP, WebSocket, Engine.IO and Socket.IO in the frames of a capture. Feed it every
/// frame, in order, after the per-frame engine (and after the main stream tracker, if one
/// runs): it adds the layers of the PDUs each frame completes.
pub struct Upper {
    /// The conversations followed, with their two byte streams.
    flows: HashMap<PairKey, Flow, FastHash>,
    /// How many followed conversations use each pair of ports (counted in a slot that the
    /// two port numbers select), so that frames of other conversations are turned away
    /// without looking their addresses up.
    ports: Vec<u32>,
    next_id: u32,
    state: State,
    /// A copy of the current segment's payload for the reassembler.
    scratch: Vec<u8>,
    /// Reassemblers of finished conversations, kept for the next ones (with their memory).
    /// Boxed, as in [`Flow`], so that handing one over moves a pointer, not the structs.
    #[allow(clippy::vec_box)]
    spare: Vec<Box<[Reassembler; 2]>>,
}

/// How many finished conversations' working memory is kept for reuse.
const SPARE: usize = 64;

/// One followed conversation: `a` is the end that sent the first HTTP bytes seen.
struct Flow {
    id: u32,
    a: Endpoint,
    b: Endpoint,
    reasm: Box<[Reassembler; 2]>,
}

impl Default for Upper {
    fn default() -> Upper {
        Upper::new()
    }
}

impl Upper {
    /// Every field of every layer, for the detailed views and display filters.
    pub fn new() -> Upper {
        Upper {
            flows: HashMap::default(),
            ports: Vec::new(),
            next_id: 0,
            state: State::default(),
            scratch: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// For the one-line summary: the same layers and problems as [`Upper::new`]'s, but only
    /// the fields their descriptions read (an HTTP layer's start line and `Upgrade` header,
    /// not its other header lines or its body; a WebSocket frame's header fields that say
    /// something and its payload's value, not the masking key or the payload's ranges), as
    /// [`crate::dissect::dissect_lean`] does for the frame's own headers. Engine.IO and
    /// Socket.IO layers are read in full.
    pub fn lean() -> Upper {
        let mut u = Upper::new();
        u.state.lean = true;
        u
    }

    /// [`Upper::lean`] if `lean`, else [`Upper::new`].
    pub fn with_lean(lean: bool) -> Upper {
        if lean { Upper::lean() } else { Upper::new() }
    }

    fn maybe(&self, a: u16, b: u16) -> bool {
        !self.ports.is_empty() && self.ports[port_slot(a, b)] > 0
    }

    fn follow(&mut self, key: PairKey, a: Endpoint, b: Endpoint) {
        if self.flows.len() >= MAX_FLOWS {
            // A capture with this many HTTP conversations open at once: start over rather
            // than grow without bound.
            self.flows.clear();
            self.ports.iter_mut().for_each(|n| *n = 0);
            self.state.conns.clear();
        }
        if self.ports.is_empty() {
            self.ports = vec![0; 65536];
        }
        self.ports[port_slot(key.lo.port, key.hi.port)] += 1;
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.flows.insert(
            key,
            Flow {
                id,
                a,
                b,
                reasm: self.spare.pop().unwrap_or_else(|| {
                    Box::new([
                        Reassembler::new(super::reassembly::DEFAULT_MAX_WAITING),
                        Reassembler::new(super::reassembly::DEFAULT_MAX_WAITING),
                    ])
                }),
            },
        );
    }

    fn forget(&mut self, key: &PairKey) {
        if let Some(flow) = self.flows.remove(key) {
            if self.spare.len() < SPARE {
                let mut r = flow.reasm;
                r[0].reset();
                r[1].reset();
                self.spare.push(r);
            }
            let n = &mut self.ports[port_slot(key.lo.port, key.hi.port)];
            *n = n.saturating_sub(1);
        }
    }

    /// Look at one frame; if it belongs to an HTTP conversation, add the layers of the PDUs
    /// it completes.
    #[inline]
    pub fn observe(&mut self, d: &mut Dissection) {
        // The common case, made cheap (and kept inline in the caller's loop): no conversation
        // is followed, and this frame's TCP payload (if any) does not start like HTTP.
        if self.flows.is_empty() {
            let n = d.layers.len();
            let starts = n >= 2
                && d.layers[n - 2].proto == Proto::Tcp
                && d.layers[n - 1].proto == Proto::Data
                && looks_like_http(d.data.get(d.layers[n - 1].range()).unwrap_or(&[]));
            if !starts {
                return;
            }
        }
        self.observe_tcp(d);
    }

    /// The rest of [`Upper::observe`], for frames that may belong to a followed conversation.
    #[inline(never)]
    fn observe_tcp(&mut self, d: &mut Dissection) {
        let Some(t) = tcp_of(d) else { return };
        let seg = t.seg;
        let known = self.maybe(seg.src_port, seg.dst_port);
        let payload = d.data.get(t.payload.clone()).unwrap_or(&[]);
        let starts_http = looks_like_http(payload);
        if !known && !starts_http {
            return;
        }
        let (key, src, dst) = (t.key, t.src, t.dst);
        if !self.flows.contains_key(&key) {
            if !starts_http {
                return;
            }
            self.follow(key, src, dst);
        }
        // The segment, as the reassembler needs it. A segment whose length is not known
        // (in an IP fragment) is left out.
        let Some(len) = seg.len else {
            return;
        };
        self.scratch.clear();
        self.scratch.extend_from_slice(payload);
        self.state.begin_frame(d.number);
        let Upper {
            flows,
            state,
            scratch,
            ..
        } = self;
        let flow = flows.get_mut(&key).expect("followed");
        let side = if src == flow.a {
            Side::AtoB
        } else {
            Side::BtoA
        };
        let (from, to) = match side {
            Side::AtoB => (flow.a, flow.b),
            Side::BtoA => (flow.b, flow.a),
        };
        let id = flow.id;
        let data = super::reassembly::SegmentData {
            seq: seg.seq,
            syn: seg.flags.syn(),
            fin: seg.flags.fin(),
            rst: seg.flags.rst(),
            payload: scratch,
            len,
            frame: d.number,
            frame_offset: t.payload.start as u32,
        };
        let [ra, rb] = &mut *flow.reasm;
        let (mine, theirs) = match side {
            Side::AtoB => (ra, rb),
            Side::BtoA => (rb, ra),
        };
        // A bare acknowledgment carries nothing for its own direction.
        let bare = len == 0 && !seg.flags.intersects(Flags::SYN | Flags::FIN | Flags::RST);
        if !bare {
            mine.segment(&data, &mut |ev| {
                state.on_event(StreamEvent {
                    stream: id,
                    side,
                    from,
                    to,
                    event: ev,
                    frame: Some(&mut *d),
                })
            });
        }
        if seg.flags.ack() && !seg.flags.rst() {
            theirs.acked(seg.ack_raw, &mut |ev| {
                state.on_event(StreamEvent {
                    stream: id,
                    side: side.other(),
                    from: to,
                    to: from,
                    event: ev,
                    frame: Some(&mut *d),
                })
            });
        }
        self.state.finish_frame(d);
        let closed = std::mem::take(&mut self.state.closed);
        for key in &closed {
            self.forget(key);
        }
    }

    /// The capture is over: what still waits behind holes is read (there is no frame left
    /// to show it with).
    pub fn finish(&mut self) {
        let Upper { flows, state, .. } = self;
        for flow in flows.values_mut() {
            let id = flow.id;
            let (a, b) = (flow.a, flow.b);
            let [ra, rb] = &mut *flow.reasm;
            ra.finish(&mut |ev| {
                state.on_event(StreamEvent {
                    stream: id,
                    side: Side::AtoB,
                    from: a,
                    to: b,
                    event: ev,
                    frame: None,
                })
            });
            rb.finish(&mut |ev| {
                state.on_event(StreamEvent {
                    stream: id,
                    side: Side::BtoA,
                    from: b,
                    to: a,
                    event: ev,
                    frame: None,
                })
            });
        }
    }
}

/// The slot of a pair of ports, the same whichever way a segment goes.
fn port_slot(a: u16, b: u16) -> usize {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    ((lo as u32).wrapping_mul(65599).wrapping_add(hi as u32) & 0xffff) as usize
}

/// At most this many conversations are followed at once.
const MAX_FLOWS: usize = 1 << 18;

/// Is this the start of an HTTP/1.x request or response?
#[inline]
pub fn looks_like_http(p: &[u8]) -> bool {
    const STARTS: [&[u8]; 10] = [
        b"GET ",
        b"POST ",
        b"PUT ",
        b"HEAD ",
        b"DELETE ",
        b"OPTIONS ",
        b"PATCH ",
        b"CONNECT ",
        b"TRACE ",
        b"HTTP/1.",
    ];
    // One byte decides for almost every payload that is not HTTP.
    matches!(
        p.first(),
        Some(b'G' | b'P' | b'H' | b'D' | b'O' | b'C' | b'T')
    ) && STARTS.iter().any(|s| p.starts_with(s))
}

/// Where the frame's own TCP segment is: its typed view, with the bytes of its payload when
/// no dissector claimed them (a `Data` layer follows the TCP header), and the conversation
/// key from the IP header around it.
struct TcpAt {
    seg: TcpSegment,
    payload: std::ops::Range<usize>,
    key: PairKey,
    src: Endpoint,
    dst: Endpoint,
}

/// The first TCP segment that is not a copy quoted in an ICMP error, read from the typed views.
fn tcp_of(d: &Dissection) -> Option<TcpAt> {
    let seg = *d.tcp_segment()?;
    let li = seg.layer as usize;
    // A segment read from an IP datagram put back together from fragments (rare: TCP avoids
    // fragmentation) is not searched for HTTP: its bytes are not the frame's.
    if d.source_of(li).is_some() {
        return None;
    }
    let payload = match d.layers.get(li + 1) {
        Some(l) if l.proto == Proto::Data => l.range(),
        _ => 0..0,
    };
    let ip = d.ip_around(li)?;
    let src = Endpoint {
        addr: ip.src,
        port: seg.src_port,
    };
    let dst = Endpoint {
        addr: ip.dst,
        port: seg.dst_port,
    };
    Some(TcpAt {
        seg,
        payload,
        key: PairKey::new(Transport::Tcp, src, dst),
        src,
        dst,
    })
}

// ---------------------------------------------------------------------------------------------
// The stream reader.
// ---------------------------------------------------------------------------------------------

/// What one direction is reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// HTTP heads (and bodies after them).
    Http,
    /// The client asked for a WebSocket: wait for the server's answer before reading on.
    AwaitUpgrade,
    /// WebSocket frames; `eio` if their messages are Engine.IO packets.
    Frames { eio: bool },
    /// Lost (bytes missing, or not HTTP after all): read nothing more.
    Off,
}

/// A request that has not been answered yet.
#[derive(Clone, Copy, Debug)]
struct Request {
    head_method: bool,
    websocket: bool,
    eio: bool,
}

/// One direction of a conversation.
struct Dir {
    /// Stream bytes not yet used, from stream offset `at`.
    buf: Vec<u8>,
    at: u64,
    origins: Vec<Origin>,
    mode: Mode,
    /// A body running until the connection closes (a response without a length): where its
    /// head started and ended in `buf`.
    until_close: Option<(http::Head, bool)>,
    /// The WebSocket message being fragmented: its opcode and (for Engine.IO) its payload.
    message: Option<(u8, Vec<u8>)>,
    ended: bool,
}

impl Default for Dir {
    fn default() -> Dir {
        Dir {
            buf: Vec::new(),
            at: 0,
            origins: Vec::new(),
            mode: Mode::Http,
            until_close: None,
            message: None,
            ended: false,
        }
    }
}

impl Dir {
    /// Take the first `n` bytes of the buffer (and the origins covering them) out of it:
    /// without copying when they are all of it, as they usually are.
    fn take(&mut self, n: usize) -> (Vec<u8>, Vec<Origin>) {
        if n >= self.buf.len() {
            self.at += self.buf.len() as u64;
            return (
                std::mem::take(&mut self.buf),
                std::mem::take(&mut self.origins),
            );
        }
        let bytes = self.buf[..n].to_vec();
        let origins = self.origins.clone();
        self.consume(n);
        (bytes, origins)
    }

    /// Forget the first `n` bytes of the buffer.
    fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
        self.at += n as u64;
        let at = self.at;
        self.origins.retain(|o| o.at + o.len as u64 > at);
        if let Some(o) = self.origins.first_mut()
            && o.at < at
        {
            let cut = (at - o.at) as u32;
            o.at = at;
            o.len -= cut;
            o.frame_offset += cut;
        }
    }
}

/// One conversation.
#[derive(Default)]
struct Conn {
    dirs: [Dir; 2],
    /// The side that sent the first request.
    client: Option<Side>,
    requests: VecDeque<Request>,
    /// True once a PDU was found: after that, bytes that break the rules are a problem worth
    /// reporting, not a wrong guess.
    seen_http: bool,
    key: Option<PairKey>,
}

/// What the current frame got.
#[derive(Default)]
struct FrameWork {
    number: u64,
    /// Index of the first layer this module added to the frame.
    first: Option<usize>,
    /// Byte ranges of the frame that added layers account for.
    covered: Vec<(u32, u32)>,
    /// The direction whose bytes this frame carried (stream, side).
    dir: Option<(u32, Side)>,
}

/// The consumer of reassembled streams.
#[derive(Default)]
struct State {
    conns: HashMap<u32, Conn, FastHash>,
    /// Finished conversations' state, kept (with its memory) for the next ones.
    spare: Vec<Conn>,
    frame: FrameWork,
    closed: Vec<PairKey>,
    /// Only the fields the summary reads ([`Upper::lean`]).
    lean: bool,
}

/// A PDU found in a stream, ready to be added to a frame.
struct Pdu<'b> {
    /// Its bytes.
    bytes: &'b [u8],
    /// The origins covering at least these bytes, and the PDU's stream offset.
    origins: &'b [Origin],
    at: u64,
}

impl State {
    fn begin_frame(&mut self, number: u64) {
        // Keep the allocation of `covered`.
        self.frame.number = number;
        self.frame.first = None;
        self.frame.covered.clear();
        self.frame.dir = None;
    }

    /// After the tracker is done with a frame: tidy its `Data` layer.
    fn finish_frame(&mut self, d: &mut Dissection) {
        if self.frame.first.is_none() && self.frame.dir.is_none() {
            return; // nothing arrived for a stream in this frame
        }
        let Some(di) = d
            .layers
            .iter()
            .position(|l| l.proto == Proto::Data)
            .filter(|&i| i > 0 && d.layers[i - 1].proto == Proto::Tcp)
        else {
            return;
        };
        let payload = d.layers[di].range();
        if let Some(first) = self.frame.first {
            let covered_end = self
                .frame
                .covered
                .iter()
                .map(|&(a, n)| (a + n) as usize)
                .filter(|&e| e > payload.start && e <= payload.end)
                .max()
                .unwrap_or(payload.start);
            let _ = first;
            if covered_end >= payload.end {
                drop_layer(d, di);
                return;
            }
            let (layer, mut fields) = remove_layer(d, di);
            // The rest of the segment starts a PDU that later packets complete: show it
            // after the layers, as data.
            let rest = covered_end..payload.end;
            for f in &mut fields {
                match f.name {
                    "data.data" => {
                        f.at = rest.start as u32;
                        f.len = rest.len() as u32;
                        f.meaning = PART_MEANING.into();
                    }
                    "data.len" => {
                        f.at = rest.start as u32;
                        f.value = Value::Uint(rest.len() as u64);
                    }
                    _ => {}
                }
            }
            let start = d.fields.len() as u32;
            d.fields.extend(fields);
            d.layers.push(Layer {
                proto: layer.proto,
                at: rest.start as u32,
                len: rest.len() as u32,
                fields: start..d.fields.len() as u32,
            });
            return;
        }
        // Nothing completed here: if this frame's bytes wait in a buffer for the rest of
        // their PDU, say so.
        let Some((stream, side)) = self.frame.dir else {
            return;
        };
        let Some(c) = self.conns.get(&stream) else {
            return;
        };
        let dir = &c.dirs[side.index()];
        if dir.mode != Mode::Off && dir.origins.iter().any(|o| o.frame == d.number) {
            let range = d.layers[di].fields.clone();
            for f in &mut d.fields[range.start as usize..range.end as usize] {
                if f.name == "data.data" {
                    f.meaning = PART_MEANING.into();
                }
            }
        }
    }

    /// Add one PDU's layer to the frame. Returns the source its offsets count from (if not
    /// the frame) and the offset of its first byte there.
    fn place(&mut self, d: &mut Dissection, pdu: &Pdu) -> (Option<u32>, usize) {
        let start = pdu.at;
        let end = pdu.at + pdu.bytes.len() as u64;
        let overlapping: Vec<Origin> = pdu
            .origins
            .iter()
            .filter(|o| o.at < end && o.at + o.len as u64 > start)
            .copied()
            .collect();
        if let [o] = overlapping.as_slice()
            && o.frame == d.number
            && o.at <= start
            && o.at + o.len as u64 >= end
        {
            let base = o.frame_offset as usize + (start - o.at) as usize;
            self.frame
                .covered
                .push((base as u32, pdu.bytes.len() as u32));
            return (None, base);
        }
        let mut pieces = Vec::new();
        for o in &overlapping {
            let a = o.at.max(start);
            let b = (o.at + o.len as u64).min(end);
            let piece = SourcePiece {
                at: (a - start) as u32,
                len: (b - a) as u32,
                frame: o.frame,
                frame_offset: o.frame_offset + (a - o.at) as u32,
            };
            if o.frame == d.number {
                self.frame.covered.push((piece.frame_offset, piece.len));
            }
            pieces.push(piece);
        }
        let src = d.add_source(Source {
            title: format!("Reassembled TCP ({} bytes)", pdu.bytes.len()),
            bytes: pdu.bytes.to_vec(),
            pieces,
        });
        (Some(src), 0)
    }

    /// Engine.IO packets in `payload` (which sits at `base` in `source`, or in the frame).
    fn engineio(
        &mut self,
        d: &mut Dissection,
        source: Option<u32>,
        payload: &[u8],
        base: usize,
        transport: engineio::Transport,
    ) {
        let before = d.layers.len();
        {
            let mut cx = Cx::new(d);
            engineio::dissect(&mut cx, payload, base, transport);
        }
        if let Some(s) = source {
            for li in before..d.layers.len() {
                d.set_layer_source(li, s);
            }
        }
        if d.layers.len() > before {
            self.frame.first.get_or_insert(before);
        }
    }

    /// Keep a finished conversation's state for the next one, emptied.
    fn recycle(&mut self, mut c: Conn) {
        if self.spare.len() >= SPARE {
            return;
        }
        for d in &mut c.dirs {
            d.buf.clear();
            d.origins.clear();
            d.at = 0;
            d.mode = Mode::Http;
            d.until_close = None;
            d.message = None;
            d.ended = false;
        }
        c.client = None;
        c.requests.clear();
        c.seen_http = false;
        c.key = None;
        self.spare.push(c);
    }

    /// Hand a PDU's buffers back to its direction, to be filled again (when the direction
    /// holds nothing else), so a long conversation does not allocate for every message.
    fn give_back(&mut self, stream: u32, side: Side, mut bytes: Vec<u8>, mut origins: Vec<Origin>) {
        if let Some(c) = self.conns.get_mut(&stream) {
            let dir = &mut c.dirs[side.index()];
            if dir.buf.capacity() == 0 && dir.buf.is_empty() {
                bytes.clear();
                dir.buf = bytes;
            }
            if dir.origins.capacity() == 0 && dir.origins.is_empty() {
                origins.clear();
                dir.origins = origins;
            }
        }
    }

    /// Read what a direction's buffer holds, adding the PDUs it completes to `frame`.
    fn read(&mut self, stream: u32, side: Side, mut frame: Option<&mut Dissection>) {
        loop {
            let Some(c) = self.conns.get_mut(&stream) else {
                return;
            };
            let mode = c.dirs[side.index()].mode;
            let progressed = match mode {
                Mode::Off | Mode::AwaitUpgrade => false,
                Mode::Http => self.read_http(stream, side, frame.as_deref_mut()),
                Mode::Frames { eio } => self.read_frame(stream, side, eio, frame.as_deref_mut()),
            };
            if !progressed {
                return;
            }
        }
    }

    /// One HTTP message, if the buffer holds all of it. Returns whether it read one.
    fn read_http(&mut self, stream: u32, side: Side, frame: Option<&mut Dissection>) -> bool {
        let c = self.conns.get_mut(&stream).expect("conn");
        let dir = &mut c.dirs[side.index()];
        if dir.buf.is_empty() {
            return false;
        }
        let head = match http::parse_head(&dir.buf) {
            Ok(h) => h,
            Err(HeadError::Incomplete) => return false,
            Err(e) => {
                let seen = c.seen_http;
                let key = c.key;
                let dir = &mut c.dirs[side.index()];
                dir.mode = Mode::Off;
                dir.buf.clear();
                dir.origins.clear();
                if !seen {
                    // The guess was wrong: this conversation is not HTTP. Stop feeding it.
                    if let Some(c) = self.conns.remove(&stream) {
                        self.recycle(c);
                    }
                    self.closed.extend(key);
                    return false;
                }
                if let Some(d) = frame {
                    let at = d.layers.last().map_or(0, |l| l.at);
                    d.problems.push(Problem {
                        kind: ProblemKind::Malformed,
                        proto: Proto::Tcp,
                        at,
                        message: format!(
                            "the stream should go on with an HTTP message here, but {e}; wirelab stops reading this direction"
                        ),
                    });
                }
                return false;
            }
        };
        let buf_len = dir.buf.len();
        let request = head.is_request();
        if request && c.client.is_none() {
            c.client = Some(side);
        }
        // What the head says about the body and about what comes next.
        let mut problems = head.websocket_problems(&dir.buf, 0);
        let mut body: usize = 0;
        let mut until_close = false;
        let mut answered: Option<Request> = None;
        // A body wirelab cannot delimit (a bad length): after this head, the stream is lost.
        let mut lost = false;
        // A body sent in chunks, put together.
        let mut dechunked: Option<Vec<u8>> = None;
        let eio;
        if request {
            let uri = head.uri(&dir.buf).unwrap_or("");
            eio = uri.contains("EIO=");
            let req = Request {
                head_method: head.method(&dir.buf) == Some("HEAD"),
                websocket: head.is_websocket_upgrade(&dir.buf),
                eio,
            };
            c.requests.push_back(req);
            if head.is_chunked(&dir.buf) {
                chunked(
                    &dir.buf,
                    &head,
                    &mut body,
                    &mut dechunked,
                    &mut lost,
                    &mut problems,
                );
            } else {
                match head.content_length(&dir.buf) {
                    Ok(Some(n)) => body = n as usize,
                    Ok(None) => {}
                    Err(why) => {
                        problems.push(unsupported_body(why, head.len));
                        lost = true;
                    }
                }
            }
        } else {
            answered = c.requests.pop_front();
            eio = answered.is_some_and(|r| r.eio);
            let status = head.status().unwrap_or(0);
            let no_body =
                answered.is_some_and(|r| r.head_method) || matches!(status, 100..=199 | 204 | 304);
            if !no_body && head.is_chunked(&dir.buf) {
                chunked(
                    &dir.buf,
                    &head,
                    &mut body,
                    &mut dechunked,
                    &mut lost,
                    &mut problems,
                );
            } else if !no_body {
                match head.content_length(&dir.buf) {
                    Ok(Some(n)) => body = n as usize,
                    Ok(None) => until_close = true,
                    Err(why) => {
                        problems.push(unsupported_body(why, head.len));
                        lost = true;
                    }
                }
            }
        }
        let dir = &mut c.dirs[side.index()];
        if body > MAX_PDU {
            dir.mode = Mode::Off;
            return false;
        }
        if until_close {
            // The body runs until the server closes: wait for the FIN.
            // Keep the bytes (the FIN reads them, within bounds); read nothing else.
            dir.until_close = Some((head, eio));
            dir.mode = Mode::AwaitUpgrade;
            return false;
        }
        let total = head.len + body;
        if buf_len < total {
            // Part of the body is still to come; it is read again when more arrives.
            if request {
                c.requests.pop_back();
            } else if let Some(r) = answered {
                c.requests.push_front(r);
            }
            return false;
        }
        c.seen_http = true;
        // A switch of protocols.
        let mut next_mode = Mode::Http;
        let other = side.other();
        let mut wake_other = false;
        if request && c.requests.back().is_some_and(|r| r.websocket) {
            next_mode = Mode::AwaitUpgrade;
        }
        if !request && answered.is_some_and(|r| r.websocket) {
            let client_dir = &mut c.dirs[other.index()];
            if head.status() == Some(101) {
                next_mode = Mode::Frames { eio };
                if client_dir.mode == Mode::AwaitUpgrade {
                    client_dir.mode = Mode::Frames { eio };
                    wake_other = true;
                }
            } else if client_dir.mode == Mode::AwaitUpgrade {
                client_dir.mode = Mode::Http;
                wake_other = true;
            }
        }
        let dir = &mut c.dirs[side.index()];
        let at = dir.at;
        let (bytes, origins) = dir.take(total);
        dir.mode = if lost { Mode::Off } else { next_mode };
        if let Some(d) = frame {
            self.http_layers(
                d,
                &head,
                &bytes,
                &origins,
                at,
                body,
                dechunked.as_deref(),
                eio,
                problems,
            );
        }
        self.give_back(stream, side, bytes, origins);
        // The client's bytes that waited for the answer can be read now (they came before
        // this frame, which does not show them).
        if wake_other {
            self.read(stream, other, None);
        }
        true
    }

    /// The HTTP layer of one message (and the Engine.IO packets of its body).
    #[allow(clippy::too_many_arguments)]
    fn http_layers(
        &mut self,
        d: &mut Dissection,
        head: &http::Head,
        bytes: &[u8],
        origins: &[Origin],
        at: u64,
        body: usize,
        dechunked: Option<&[u8]>,
        eio: bool,
        problems: Vec<Problem>,
    ) {
        let (source, base) = self.place(d, &Pdu { bytes, origins, at });
        // The fields go straight into the dissection.
        let index = d.layers.len();
        let start = d.fields.len() as u32;
        // The body as the program received it: after the head, de-chunked if it came in
        // chunks.
        let data = dechunked.unwrap_or_else(|| bytes.get(head.len..head.len + body).unwrap_or(&[]));
        if self.lean {
            head.summary_fields_into(bytes, base, &mut d.fields);
        } else {
            http_fields(d, head, bytes, base, body, data, dechunked.is_some());
        }
        d.layers.push(Layer {
            proto: Proto::Http,
            at: base as u32,
            len: bytes.len() as u32,
            fields: start..d.fields.len() as u32,
        });
        d.problems.extend(problems.into_iter().map(|mut p| {
            p.at += base as u32;
            p
        }));
        if let Some(s) = source {
            d.set_layer_source(index, s);
        }
        self.frame.first.get_or_insert(index);
        if eio && !data.is_empty() {
            let payload = data;
            self.engineio(
                d,
                source,
                payload,
                base + head.len,
                engineio::Transport::Polling,
            );
        }
    }

    /// One WebSocket frame, if the buffer holds all of it.
    fn read_frame(
        &mut self,
        stream: u32,
        side: Side,
        eio: bool,
        frame: Option<&mut Dissection>,
    ) -> bool {
        let c = self.conns.get_mut(&stream).expect("conn");
        let dir = &mut c.dirs[side.index()];
        let head = match websocket::parse_head(&dir.buf) {
            HeadParse::Head(h) => h,
            HeadParse::NeedMore(_) => return false,
        };
        let len = head.frame_len();
        if len > MAX_PDU as u64 {
            dir.mode = Mode::Off;
            dir.buf.clear();
            dir.origins.clear();
            if let Some(d) = frame {
                let at = d.layers.last().map_or(0, |l| l.at);
                d.problems.push(Problem {
                    kind: ProblemKind::Unsupported,
                    proto: Proto::WebSocket,
                    at,
                    message: format!(
                        "a WebSocket frame of {len} bytes begins here; wirelab puts frames of at most {MAX_PDU} bytes back together and stops reading this direction"
                    ),
                });
            }
            return false;
        }
        let len = len as usize;
        if dir.buf.len() < len {
            return false;
        }
        let at = dir.at;
        let (bytes, origins) = dir.take(len);
        // Messages: which opcode a continuation continues, and (for Engine.IO only) the
        // payload, unmasked.
        let plain = if eio {
            let mut p = bytes[head.header_len..].to_vec();
            if let Some(key) = head.mask {
                websocket::unmask(&mut p, key, 0);
            }
            p
        } else {
            Vec::new()
        };
        let message_opcode = dir.message.as_ref().map(|(op, _)| *op);
        let mut complete: Option<(u8, Vec<u8>, bool)> = None;
        if !head.is_control() {
            if head.opcode != 0 {
                if head.fin {
                    complete = Some((head.opcode, plain, false));
                    dir.message = None;
                } else {
                    dir.message = Some((head.opcode, plain));
                }
            } else if let Some((op, mut all)) = dir.message.take() {
                if eio {
                    all.extend_from_slice(&plain);
                }
                if head.fin {
                    complete = Some((op, all, true));
                } else {
                    dir.message = Some((op, all));
                }
            }
        }
        let Some(d) = frame else {
            self.give_back(stream, side, bytes, origins);
            return true;
        };
        let (source, base) = self.place(
            d,
            &Pdu {
                bytes: &bytes,
                origins: &origins,
                at,
            },
        );
        // The frame's fields go straight into the dissection.
        let index = d.layers.len();
        let start = d.fields.len() as u32;
        let mut problems = Vec::new();
        websocket::frame_fields_with(
            &bytes,
            &head,
            base,
            message_opcode,
            self.lean,
            &mut d.fields,
            &mut problems,
        );
        d.layers.push(Layer {
            proto: Proto::WebSocket,
            at: base as u32,
            len: bytes.len() as u32,
            fields: start..d.fields.len() as u32,
        });
        d.problems.extend(problems);
        if let Some(s) = source {
            d.set_layer_source(index, s);
        }
        self.frame.first.get_or_insert(index);
        self.give_back(stream, side, bytes, origins);
        if !eio {
            return true;
        }
        let Some((op, payload, reassembled)) = complete else {
            return true;
        };
        let transport = match op {
            1 => engineio::Transport::WebSocketText,
            2 => engineio::Transport::WebSocketBinary,
            _ => return true,
        };
        if head.mask.is_none() && !reassembled {
            // The payload is readable where it is.
            self.engineio(d, source, &payload, base + head.header_len, transport);
        } else {
            let title = if reassembled {
                format!("Reassembled WebSocket message ({} bytes)", payload.len())
            } else {
                format!("Unmasked WebSocket payload ({} bytes)", payload.len())
            };
            let src = d.add_source(Source {
                title,
                bytes: payload.clone(),
                pieces: Vec::new(),
            });
            self.engineio(d, Some(src), &payload, 0, transport);
        }
        true
    }

    /// A body that ran until the connection closed.
    fn until_close(&mut self, stream: u32, side: Side, frame: Option<&mut Dissection>) {
        let Some(c) = self.conns.get_mut(&stream) else {
            return;
        };
        let dir = &mut c.dirs[side.index()];
        let Some((head, eio)) = dir.until_close.take() else {
            return;
        };
        let bytes = std::mem::take(&mut dir.buf);
        let origins = std::mem::take(&mut dir.origins);
        let at = dir.at;
        dir.at += bytes.len() as u64;
        dir.mode = Mode::Off;
        if let Some(d) = frame {
            let body = bytes.len().saturating_sub(head.len);
            self.http_layers(d, &head, &bytes, &origins, at, body, None, eio, Vec::new());
        }
    }
}

/// Every field of an HTTP message's layer (see [`State::http_layers`]): whether it is a
/// request, its head's fields, its length and its body (`data`, de-chunked if `dechunked`).
fn http_fields(
    d: &mut Dissection,
    head: &http::Head,
    bytes: &[u8],
    base: usize,
    body: usize,
    data: &[u8],
    dechunked: bool,
) {
    let request = head.is_request();
    d.fields.push(flag(
        if request {
            "http.request"
        } else {
            "http.response"
        },
        if request { "Request" } else { "Response" },
        base,
        if request {
            "This message is a request: a client asking a server for something."
        } else {
            "This message is a response: a server answering the request before it."
        },
    ));
    head.fields_into(bytes, base, &mut d.fields);
    if let Ok(Some(n)) = head.content_length(bytes) {
        let mut f = flag(
            "http.content_length",
            "Content length",
            base,
            "The body's length in bytes, as the Content-Length header gives it.",
        );
        f.value = Value::Uint(n);
        d.fields.push(f);
    }
    if !data.is_empty() {
        let mut f = flag(
            "http.file_data",
            "Body",
            base + head.len,
            if dechunked {
                "The message body, put together from its chunks (Transfer-Encoding: chunked): what the receiving program gets."
            } else {
                "The message body: the bytes after the empty line that ends the head."
            },
        );
        f.len = body as u32;
        f.value = Value::Text(String::from_utf8_lossy(data).into_owned());
        f.meaning = body_meaning(head, bytes, data, dechunked).into();
        d.fields.push(f);
    }
}

/// What the data field of a frame says when its bytes are only part of a PDU.
const PART_MEANING: &str = "part of a message whose end comes in a later packet: it is shown, put together, with that packet";

/// Where a chunked body ends (`body`: its bytes on the wire after the head) and its data
/// (`dechunked`), or, while its end has not arrived, a `body` one byte longer than what is
/// there (so the caller waits for more); a broken one loses the stream.
fn chunked(
    buf: &[u8],
    head: &http::Head,
    body: &mut usize,
    dechunked: &mut Option<Vec<u8>>,
    lost: &mut bool,
    problems: &mut Vec<Problem>,
) {
    let after = buf.get(head.len..).unwrap_or(&[]);
    match http::dechunk(after, MAX_PDU) {
        Ok(Some((len, data))) => {
            *body = len;
            *dechunked = Some(data);
        }
        Ok(None) => *body = after.len() + 1,
        Err(why) => {
            problems.push(unsupported_body(why, head.len));
            *lost = true;
        }
    }
}

/// What the layer tree says about a body: its length, its type, and the start of it.
fn body_meaning(head: &http::Head, bytes: &[u8], data: &[u8], dechunked: bool) -> String {
    let mut s = format!("{} bytes", data.len());
    if dechunked {
        s.push_str(" (de-chunked)");
    }
    if let Some(t) = head.header(bytes, "content-type") {
        s.push_str(", ");
        s.push_str(&crate::escape::escape(t.trim()));
    }
    s.push_str(": ");
    s.push_str(&crate::escape::quote(&data[..data.len().min(48)], 48));
    if data.len() > 48 {
        s.push('…');
    }
    s
}

fn unsupported_body(why: String, at: usize) -> Problem {
    Problem {
        kind: ProblemKind::Unsupported,
        proto: Proto::Http,
        at: at as u32,
        message: format!("{why}; wirelab does not follow the body"),
    }
}

/// A field with no bytes of its own, set to true.
fn flag(name: &'static str, label: &'static str, at: usize, explain: &'static str) -> Field {
    Field {
        name,
        label,
        value: Value::Bool(true),
        meaning: "".into(),
        at: at as u32,
        len: 0,
        mask: 0,
        depth: 0,
        explain,
    }
}

/// Remove layer `li` and its fields from `d`, moving the later layers' fields down.
fn drop_layer(d: &mut Dissection, li: usize) {
    let layer = d.layers.remove(li);
    let range = layer.fields.start as usize..layer.fields.end as usize;
    let n = range.len() as u32;
    d.fields.drain(range);
    for later in &mut d.layers[li..] {
        later.fields.start -= n;
        later.fields.end -= n;
    }
    for (l, _) in &mut d.layer_sources {
        if *l as usize > li {
            *l -= 1;
        }
    }
    d.layer_removed(li);
}

/// Take layer `li` and its fields out of `d`, moving the later layers' fields down.
fn remove_layer(d: &mut Dissection, li: usize) -> (Layer, Vec<Field>) {
    let layer = d.layers.remove(li);
    let range = layer.fields.start as usize..layer.fields.end as usize;
    let n = range.len() as u32;
    let fields: Vec<Field> = d.fields.drain(range).collect();
    for later in &mut d.layers[li..] {
        later.fields.start -= n;
        later.fields.end -= n;
    }
    for (l, _) in &mut d.layer_sources {
        if *l as usize > li {
            *l -= 1;
        }
    }
    d.layer_removed(li);
    (layer, fields)
}

impl StreamConsumer for State {
    fn on_event(&mut self, ev: StreamEvent<'_, '_>) {
        let stream = ev.stream;
        let side = ev.side;
        let State { conns, spare, .. } = self;
        let c = conns
            .entry(stream)
            .or_insert_with(|| spare.pop().unwrap_or_default());
        if c.key.is_none() {
            c.key = Some(PairKey::new(Transport::Tcp, ev.from, ev.to));
        }
        match ev.event {
            Event::Data { at, bytes, origins } => {
                let dir = &mut c.dirs[side.index()];
                if dir.mode == Mode::Off && dir.until_close.is_none() {
                    return;
                }
                if dir.buf.is_empty() {
                    dir.at = at;
                }
                if dir.buf.len() + bytes.len() > MAX_PDU {
                    dir.mode = Mode::Off;
                    dir.buf.clear();
                    dir.origins.clear();
                    dir.until_close = None;
                    return;
                }
                dir.buf.extend_from_slice(bytes);
                dir.origins.extend_from_slice(origins);
                if ev
                    .frame
                    .as_ref()
                    .is_some_and(|d| d.number == self.frame.number)
                {
                    self.frame.dir = Some((stream, side));
                }
                self.read(stream, side, ev.frame);
            }
            Event::Gap { .. } => {
                // Bytes are missing: a parser cannot know where the next message starts.
                let dir = &mut c.dirs[side.index()];
                dir.mode = Mode::Off;
                dir.buf.clear();
                dir.origins.clear();
                dir.until_close = None;
            }
            Event::Fin { .. } | Event::Reset { .. } => {
                let reset = matches!(ev.event, Event::Reset { .. });
                self.until_close(stream, side, ev.frame);
                let Some(c) = self.conns.get_mut(&stream) else {
                    return;
                };
                c.dirs[side.index()].ended = true;
                if reset {
                    c.dirs[side.other().index()].ended = true;
                }
                if c.dirs.iter().all(|d| d.ended)
                    && let Some(c) = self.conns.remove(&stream)
                {
                    self.closed.extend(c.key);
                    self.recycle(c);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::dissect;
    use crate::dissect::model::{Frame, LinkType, Timestamp};

    /// A conversation between a client (10.0.0.1:40000) and a server (10.0.0.2:80), made
    /// one segment at a time with sequence numbers that follow on.
    struct Talk {
        seq: [u32; 2],
        number: u64,
        upper: Upper,
    }

    impl Talk {
        fn new() -> Talk {
            Talk {
                seq: [1000, 5000],
                number: 0,
                upper: Upper::new(),
            }
        }

        /// The next frame, from the client (`true`) or the server, carrying `payload`.
        fn send(&mut self, from_client: bool, payload: &[u8]) -> Dissection {
            let (a, b) = (([10, 0, 0, 1], 40000u16), ([10, 0, 0, 2], 80u16));
            let (src, dst, i) = if from_client { (a, b, 0) } else { (b, a, 1) };
            let mut h = etherparse::TcpHeader::new(src.1, dst.1, self.seq[i], 64000);
            h.ack = true;
            h.psh = !payload.is_empty();
            h.acknowledgment_number = self.seq[1 - i];
            self.seq[i] = self.seq[i].wrapping_add(payload.len() as u32);
            let mut bytes = Vec::new();
            etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
                .ipv4(src.0, dst.0, 64)
                .tcp_header(h)
                .write(&mut bytes, payload)
                .expect("build");
            self.number += 1;
            let frame = Frame {
                number: self.number,
                ts: Some(Timestamp {
                    secs: 1_700_000_000,
                    nanos: self.number as u32 * 1000,
                }),
                link: LinkType::ETHERNET,
                wire_len: bytes.len() as u32,
                data: &bytes,
            };
            let mut d = dissect(&frame);
            self.upper.observe(&mut d);
            d
        }

        /// The HTTP handshake of a WebSocket to `uri`.
        fn upgrade(&mut self, uri: &str) {
            let req = format!(
                "GET {uri} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            );
            let d = self.send(true, req.as_bytes());
            assert_eq!(d.protocols(), "eth:ip:tcp:http", "{:?}", d.problems);
            let d = self.send(false, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
            assert_eq!(d.protocols(), "eth:ip:tcp:http");
            assert_eq!(d.uint("http.response.code"), Some(101));
        }
    }

    /// A frame as a client sends it: masked with `key`.
    fn masked(opcode: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
        assert!(payload.len() < 126);
        let mut v = vec![0x80 | opcode, 0x80 | payload.len() as u8];
        v.extend_from_slice(&key);
        let mut p = payload.to_vec();
        websocket::unmask(&mut p, key, 0);
        v.extend_from_slice(&p);
        v
    }

    fn text(d: &Dissection, name: &str) -> String {
        let i = d.fields.iter().position(|f| f.name == name).expect(name);
        d.fields[i].tshark(d.field_bytes(i))
    }

    #[test]
    fn observe_finds_a_websocket_frame_split_across_segments() {
        let mut t = Talk::new();
        t.upgrade("/ws");
        // A server text frame of 10 bytes, in two segments.
        let frame = b"\x81\x0ahello, lab";
        let d = t.send(false, &frame[..5]);
        assert_eq!(d.protocols(), "eth:ip:tcp:data");
        assert!(
            d.field("data.data")
                .unwrap()
                .meaning
                .contains("later packet")
        );
        let d = t.send(false, &frame[5..]);
        assert_eq!(d.protocols(), "eth:ip:tcp:websocket");
        assert_eq!(text(&d, "websocket.payload.text"), "hello, lab");
        // Its bytes came in two frames: the layer reads from a reassembled source.
        let l = d
            .layers
            .iter()
            .position(|l| l.proto == Proto::WebSocket)
            .unwrap();
        let s = d.source_of(l).expect("a source") as usize;
        assert_eq!(d.sources[s].bytes, frame);
        let frames: Vec<u64> = d.sources[s].pieces.iter().map(|p| p.frame).collect();
        assert_eq!(frames, [3, 4]);
        assert_eq!(d.layers[l].len, frame.len() as u32);
    }

    #[test]
    fn observe_finds_several_frames_in_one_segment_and_keeps_the_rest_as_data() {
        let mut t = Talk::new();
        t.upgrade("/ws");
        let mut seg = b"\x81\x02hi".to_vec();
        seg.extend_from_slice(b"\x89\x00"); // a ping
        seg.extend_from_slice(b"\x81\x05he"); // the start of a third frame
        let d = t.send(false, &seg);
        assert_eq!(d.protocols(), "eth:ip:tcp:websocket:websocket:data");
        // Both frames' fields are on the frame's own bytes.
        assert!(d.sources.is_empty());
        let op = d
            .fields_named("websocket.opcode")
            .map(|f| f.tshark(&d.data))
            .collect::<Vec<_>>();
        assert_eq!(op, ["1", "9"]);
        let data = d.layer(Proto::Data).unwrap();
        assert_eq!(&d.data[data.range()], b"\x81\x05he");
        let d = t.send(false, b"llo");
        assert_eq!(text(&d, "websocket.payload.text"), "hello");
    }

    #[test]
    fn observe_reads_socketio_inside_masked_websocket_messages() {
        let mut t = Talk::new();
        t.upgrade("/socket.io/?EIO=4&transport=websocket");
        let open = br#"0{"sid":"abc","pingInterval":1}"#;
        let mut frame = vec![0x81, open.len() as u8];
        frame.extend_from_slice(open);
        let d = t.send(false, &frame);
        assert_eq!(d.protocols(), "eth:ip:tcp:websocket:eio");
        assert_eq!(text(&d, "eio.sid"), "abc");
        let d = t.send(true, &masked(1, br#"42["chat","hi"]"#, [1, 2, 3, 4]));
        assert_eq!(d.protocols(), "eth:ip:tcp:websocket:eio:sio");
        assert_eq!(text(&d, "sio.event"), "chat");
        assert_eq!(text(&d, "sio.args"), r#"["hi"]"#);
        // The Engine.IO and Socket.IO layers read the unmasked payload, a source of its own.
        let sio = d
            .layers
            .iter()
            .position(|l| l.proto == Proto::SocketIo)
            .unwrap();
        let s = d.source_of(sio).expect("unmasked source") as usize;
        assert_eq!(d.sources[s].bytes, br#"42["chat","hi"]"#);
        assert!(d.sources[s].title.starts_with("Unmasked"));
        let said = crate::dissect::describe(&d, &d.layers[sio]);
        assert!(said.contains(r#"EVENT "chat" ["hi"]"#), "{said}");
    }

    #[test]
    fn observe_reads_engineio_packets_in_a_polling_body() {
        let mut t = Talk::new();
        let body = b"42[\"a\",1]\x1e2\x1e40";
        let req = format!(
            "POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let d = t.send(true, req.as_bytes());
        // The head alone is not the whole message: the body is still to come.
        assert_eq!(d.protocols(), "eth:ip:tcp:data");
        let d = t.send(true, body);
        assert_eq!(d.protocols(), "eth:ip:tcp:http:eio:sio:eio:eio:sio");
        let types: Vec<String> = d
            .fields_named("eio.type")
            .map(|f| f.tshark(&d.data))
            .collect();
        assert_eq!(types, ["4", "2", "4"]);
        assert_eq!(text(&d, "sio.event"), "a");
        let d = t.send(false, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        // The answer to a polling request is Engine.IO too ("ok" is not a packet type).
        assert_eq!(d.protocols(), "eth:ip:tcp:http:eio");
        assert!(d.is_malformed());
    }

    #[test]
    fn observe_leaves_other_conversations_alone() {
        let mut t = Talk::new();
        let d = t.send(true, b"\x00\x01binary protocol");
        assert_eq!(d.protocols(), "eth:ip:tcp:data");
        assert!(t.upper.flows.is_empty());
        // A guess that turns out wrong costs nothing more.
        let d = t.send(true, b"GET is not how this starts\r\n\r\n");
        assert_eq!(d.protocols(), "eth:ip:tcp:data");
        assert!(d.problems.is_empty());
    }

    #[test]
    fn observe_puts_a_chunked_body_together() {
        let mut t = Talk::new();
        let d = t.send(true, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(d.protocols(), "eth:ip:tcp:http");
        // The head and the first chunk: the body is not over yet.
        let d = t.send(
            false,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n5\r\nhello\r\n",
        );
        assert_eq!(d.protocols(), "eth:ip:tcp:data");
        assert!(d.problems.is_empty());
        // The last chunk completes the message, in this frame.
        let d = t.send(false, b"7\r\n, world\r\n0\r\n\r\n");
        assert_eq!(d.protocols(), "eth:ip:tcp:http");
        let body = d.field("http.file_data").expect("a body");
        assert_eq!(body.value, Value::Text("hello, world".into()));
        assert!(
            body.meaning
                .starts_with("12 bytes (de-chunked), text/plain"),
            "{}",
            body.meaning
        );
        assert!(d.problems.is_empty());
    }

    #[test]
    fn observe_stops_quietly_after_a_body_it_cannot_delimit() {
        let mut t = Talk::new();
        t.send(true, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let d = t.send(
            false,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nnot hex\r\nhello\r\n",
        );
        assert_eq!(d.protocols(), "eth:ip:tcp:http:data");
        assert_eq!(d.problems.len(), 1);
        assert_eq!(d.problems[0].kind, ProblemKind::Unsupported);
        let d = t.send(false, b"0\r\n\r\n");
        assert_eq!(d.protocols(), "eth:ip:tcp:data");
        assert!(d.problems.is_empty());
    }

    proptest::proptest! {
        /// Whatever follows an upgrade, split however, nothing panics and every layer's
        /// range lies inside the bytes it counts from.
        #[test]
        fn observe_never_panics(chunks in proptest::collection::vec(
            (proptest::prelude::any::<bool>(), proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)), 0..12)) {
            let mut t = Talk::new();
            t.upgrade("/socket.io/?EIO=4&transport=websocket");
            for (from_client, bytes) in chunks {
                let d = t.send(from_client, &bytes);
                proptest::prop_assert!(crate::dissect::validate(&d).is_ok(), "{:?}", crate::dissect::validate(&d));
                for (i, l) in d.layers.iter().enumerate() {
                    let n = d.layer_bytes(i).len() as u32;
                    if d.source_of(i).is_some() {
                        proptest::prop_assert!(l.at + l.len <= n);
                    }
                    for f in d.layer_fields(l) {
                        let _ = f.tshark(d.layer_bytes(i));
                    }
                }
                // (The fuzz target `upper` renders every view of such frames.)
                for l in &d.layers {
                    let _ = crate::dissect::describe(&d, l);
                }
            }
        }
    }
}
