//! Watching a connection's bytes as they pass, and turning them into dissections.
//!
//! tokio-tungstenite does the talking: it writes frames, reads frames, answers pings. To
//! *show* what it sends and receives, byte for byte, the TCP stream it talks over is wrapped
//! in a [`Tap`]: every byte read or written also goes to a [`Watcher`] for that direction,
//! which finds the HTTP head and then the frames in the stream with the engine's own parsers
//! ([`crate::dissect::http`], [`crate::dissect::websocket`]) and hands each one, as a
//! [`Dissection`], to whoever is listening. So what the `ws` commands print is exactly what
//! crossed the socket, dissected by the same code that reads capture files.
//!
//! A watcher keeps only a frame's header and the first bytes of its payload (the *preview*),
//! so a 16 MiB message costs a little counting, not 16 MiB of copies.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc::UnboundedSender;

use crate::dissect::http::{self, HeadError};
use crate::dissect::model::{Dissection, Timestamp};
use crate::dissect::websocket::{self, Dir, FrameHead, HeadParse};

/// Something a watcher found.
#[derive(Clone, Debug)]
pub struct Event {
    /// Which connection (numbered from 1 by the caller).
    pub conn: u64,
    pub dir: Dir,
    pub what: Found,
}

#[derive(Clone, Debug)]
pub enum Found {
    /// An HTTP head (the upgrade request, the 101 response, an error response…).
    Http(Box<Dissection>),
    /// One WebSocket frame. `bytes` counts the whole frame, even when only a preview is kept.
    Frame { d: Box<Dissection>, head: FrameHead },
    /// Bytes that are neither (the stream is not HTTP, or a head broke a rule).
    Garbage { at: u64, why: String },
    /// Something the program explains in words (the accept key worked out, a limit hit).
    Note(String),
}

enum Phase {
    /// Reading an HTTP head.
    Http,
    /// Skipping `n` bytes of an HTTP body.
    Body(u64),
    /// Reading WebSocket frames.
    Frames,
    /// Collecting a frame's payload: how many bytes are still to come.
    Payload { head: FrameHead, remaining: u64 },
    /// Lost track (bad bytes): ignore the rest.
    Off,
}

/// Follows one direction of a connection.
pub struct Watcher {
    conn: u64,
    dir: Dir,
    phase: Phase,
    /// The bytes of the current head or frame (a frame's payload only up to `preview`).
    buf: Vec<u8>,
    preview: usize,
    /// Bytes of the stream seen so far.
    offset: u64,
    number: u64,
    /// The opcode of the message being fragmented, for its continuation frames.
    message_opcode: Option<u8>,
    /// For the server-to-client side: did the client ask for a WebSocket? (Then a 101
    /// answer switches to frames.) The client side switches after its upgrade request.
    out: UnboundedSender<Event>,
    /// The limit shared with the printer, if there is one.
    pending: Option<Arc<Pending>>,
}

/// How many events wait to be printed, with a limit: a client can send frames much faster
/// than a terminal prints them, and the events waiting in between must not grow without
/// bound. Past [`Pending::MAX`], events are dropped and counted; the printer says how many.
#[derive(Debug, Default)]
pub struct Pending {
    waiting: AtomicUsize,
    dropped: AtomicU64,
}

impl Pending {
    /// The most events waiting to be printed (each keeps at most a preview of its payload).
    pub const MAX: usize = 4096;

    /// May one more event be queued? If not, it is counted as dropped.
    fn admit(&self) -> bool {
        if self.waiting.fetch_add(1, Ordering::Relaxed) >= Self::MAX {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// The printer has taken one event off the queue.
    pub fn taken(&self) {
        let _ = self
            .waiting
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    /// How many events were dropped since the last call.
    pub fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::Relaxed)
    }
}

fn now() -> Timestamp {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        secs: t.as_secs() as i64,
        nanos: t.subsec_nanos(),
    }
}

impl Watcher {
    /// A watcher for one direction; `preview` is how many payload bytes of a frame to keep.
    pub fn new(conn: u64, dir: Dir, preview: usize, out: UnboundedSender<Event>) -> Watcher {
        Watcher {
            conn,
            dir,
            phase: Phase::Http,
            buf: Vec::new(),
            preview,
            offset: 0,
            number: 0,
            message_opcode: None,
            out,
            pending: None,
        }
    }

    /// Queue events only while fewer than [`Pending::MAX`] wait to be printed.
    pub fn bounded(mut self, pending: Option<Arc<Pending>>) -> Watcher {
        self.pending = pending;
        self
    }

    /// A watcher that starts directly with frames (after a handshake done elsewhere).
    pub fn frames_only(mut self) -> Watcher {
        self.phase = Phase::Frames;
        self
    }

    fn emit(&mut self, what: Found) {
        if self.pending.as_ref().is_some_and(|p| !p.admit()) {
            return;
        }
        // Nobody listening any more is not an error for the connection.
        let _ = self.out.send(Event {
            conn: self.conn,
            dir: self.dir,
            what,
        });
    }

    fn next_number(&mut self) -> u64 {
        self.number += 1;
        self.number
    }

    /// Feed bytes that just crossed the socket in this direction.
    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match &mut self.phase {
                Phase::Off => return,
                Phase::Body(n) => {
                    let take = (*n).min(data.len() as u64) as usize;
                    *n -= take as u64;
                    if *n == 0 {
                        self.phase = Phase::Http;
                    }
                    self.offset += take as u64;
                    data = &data[take..];
                }
                Phase::Http => {
                    let before = self.buf.len();
                    self.buf.extend_from_slice(data);
                    match http::parse_head(&self.buf) {
                        Ok(head) => {
                            let used = head.len - before;
                            data = &data[used.min(data.len())..];
                            self.offset += used as u64;
                            let bytes = std::mem::take(&mut self.buf);
                            let bytes = &bytes[..head.len];
                            let mut d = Dissection::default();
                            let n = self.next_number();
                            http::head_dissection(&mut d, n, bytes, &head);
                            d.ts = Some(now());
                            let upgrade = head.is_websocket_upgrade(bytes);
                            let switched = head.status() == Some(101);
                            let body = head.content_length(bytes).ok().flatten().unwrap_or(0);
                            self.emit(Found::Http(Box::new(d)));
                            self.phase = if upgrade || switched {
                                Phase::Frames
                            } else if body > 0 {
                                Phase::Body(body)
                            } else {
                                Phase::Http
                            };
                        }
                        Err(HeadError::Incomplete) => {
                            self.offset += data.len() as u64;
                            return;
                        }
                        Err(e) => {
                            let at = self.offset - before as u64;
                            self.emit(Found::Garbage {
                                at,
                                why: format!("not an HTTP head: {e}"),
                            });
                            self.phase = Phase::Off;
                            self.buf = Vec::new();
                            return;
                        }
                    }
                }
                Phase::Frames => {
                    let before = self.buf.len();
                    let take = data.len().min(websocket::MAX_HEADER_LEN - before);
                    self.buf.extend_from_slice(&data[..take]);
                    match websocket::parse_head(&self.buf) {
                        HeadParse::NeedMore(_) => {
                            self.offset += take as u64;
                            data = &data[take..];
                        }
                        HeadParse::Head(head) => {
                            // Keep only the header's own bytes; the rest is payload.
                            let used = head.header_len - before;
                            self.buf.truncate(head.header_len);
                            self.offset += used as u64;
                            data = &data[used..];
                            self.phase = Phase::Payload {
                                head,
                                remaining: head.payload_len,
                            };
                            self.finish_if_done();
                        }
                    }
                }
                Phase::Payload { head, remaining } => {
                    let head = *head;
                    let take = (*remaining).min(data.len() as u64) as usize;
                    *remaining -= take as u64;
                    let kept = self.buf.len() - head.header_len;
                    let keep = take.min(self.preview.saturating_sub(kept));
                    self.buf.extend_from_slice(&data[..keep]);
                    self.offset += take as u64;
                    data = &data[take..];
                    self.finish_if_done();
                }
            }
        }
    }

    /// If the current frame's payload is complete, emit it and look for the next header.
    fn finish_if_done(&mut self) {
        let Phase::Payload { head, remaining: 0 } = self.phase else {
            return;
        };
        let bytes = std::mem::take(&mut self.buf);
        let mut d = Dissection::default();
        let n = self.next_number();
        websocket::frame_dissection(
            &mut d,
            n,
            &bytes,
            &head,
            head.frame_len(),
            self.message_opcode,
        );
        d.ts = Some(now());
        if !head.is_control() {
            if head.opcode != 0 {
                self.message_opcode = Some(head.opcode);
            }
            if head.fin {
                self.message_opcode = None;
            }
        }
        self.emit(Found::Frame {
            d: Box::new(d),
            head,
        });
        self.phase = Phase::Frames;
    }
}

/// A stream whose bytes are watched in both directions. With no watchers it only passes
/// bytes through (the quiet mode benchmarks use).
pub struct Tap<S> {
    inner: S,
    // Boxed: a connection that nobody watches (most of a busy server's) keeps two pointers,
    // not two watchers.
    reads: Option<Box<Watcher>>,
    writes: Option<Box<Watcher>>,
}

impl<S> Tap<S> {
    pub fn new(inner: S, reads: Option<Watcher>, writes: Option<Watcher>) -> Tap<S> {
        Tap {
            inner,
            reads: reads.map(Box::new),
            writes: writes.map(Box::new),
        }
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Watch bytes as if they had been read (bytes the caller read before the tap existed).
    pub fn seen_read(&mut self, data: &[u8]) {
        if let Some(w) = &mut self.reads {
            w.feed(data);
        }
    }

    /// Watch bytes as if they had been written.
    pub fn seen_written(&mut self, data: &[u8]) {
        if let Some(w) = &mut self.writes {
            w.feed(data);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(w)) = (&r, &mut this.reads) {
            w.feed(&buf.filled()[before..]);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let r = Pin::new(&mut this.inner).poll_write(cx, data);
        if let (Poll::Ready(Ok(n)), Some(w)) = (&r, &mut this.writes) {
            w.feed(&data[..*n]);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.writes.is_none() {
            return Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        }
        // Watched: write the first non-empty slice, so the watcher sees exactly what went.
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &**b);
        let r = Pin::new(&mut this.inner).poll_write(cx, first);
        if let (Poll::Ready(Ok(n)), Some(w)) = (&r, &mut this.writes) {
            w.feed(&first[..*n]);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&[u8]], dir: Dir) -> Vec<Event> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut w = Watcher::new(1, dir, 8, tx);
        for c in chunks {
            w.feed(c);
        }
        drop(w);
        let mut out = Vec::new();
        while let Ok(e) = rx.try_recv() {
            out.push(e);
        }
        out
    }

    #[test]
    fn watcher_finds_head_then_frames_byte_by_byte() {
        let mut stream = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n".to_vec();
        stream.extend_from_slice(&[0x81, 0x05]);
        stream.extend_from_slice(b"Hello");
        stream.extend_from_slice(&[0x82, 0x7e, 0x01, 0x2c]);
        stream.extend_from_slice(&[7u8; 300]);
        stream.extend_from_slice(&[0x89, 0x00]);
        let one_by_one: Vec<&[u8]> = stream.chunks(1).collect();
        for chunks in [vec![&stream[..]], one_by_one] {
            let ev = events(&chunks, Dir::ServerToClient);
            assert_eq!(ev.len(), 4);
            assert!(matches!(ev[0].what, Found::Http(_)));
            let Found::Frame { d, head } = &ev[2].what else {
                panic!()
            };
            assert_eq!(head.payload_len, 300);
            // Only the preview is kept, and that is not reported as damage.
            assert_eq!(d.data.len(), 4 + 8);
            assert!(d.problems.is_empty(), "{:?}", d.problems);
            let Found::Frame { head, .. } = &ev[3].what else {
                panic!()
            };
            assert_eq!(head.opcode, 9);
        }
    }

    proptest::proptest! {
        #[test]
        fn watcher_never_panics(
            head in proptest::prop_oneof![
                proptest::strategy::Just(b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec()),
                proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            ],
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            cut in 1usize..50,
        ) {
            let mut stream = head;
            stream.extend_from_slice(&body);
            let chunks: Vec<&[u8]> = stream.chunks(cut).collect();
            let _ = events(&chunks, Dir::ClientToServer);
        }
    }
}
