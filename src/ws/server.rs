//! The WebSocket server behind `wirelab ws serve`.
//!
//! One TCP listener serves two things:
//!
//! * `GET /`: a small chat page ([`PAGE`]). The browser runs it and opens a WebSocket back to
//!   this server with its own `WebSocket` API; the page is ours, the WebSocket client is the
//!   browser's.
//! * `GET /ws` (or `GET /`) with `Upgrade: websocket`: the WebSocket. The server reads the HTTP head itself
//!   (with the engine's parser), checks the handshake ([`super::handshake::check_request`]),
//!   answers `101 Switching Protocols` with the accept key, and hands the connection to
//!   tokio-tungstenite, which does the framing from then on.
//!
//! In *echo* mode every message comes back to its sender; in *chat* mode every message goes to
//! every connected client, the sender included, in the order the server received them. A chat
//! client that asks for the `wirelab.chat` subprotocol (the chat page does) gets each message
//! wrapped with the name of its sender ([`super::labels`]).
//!
//! # Limits, and how a WebSocket says no
//!
//! A server facing the network must refuse what it cannot handle, and say why. Every buffer a
//! client can fill is bounded, and every wait a client can stretch has a deadline:
//!
//! * the whole HTTP request head must arrive within `head_timeout` (10 s by default), counted
//!   from the connection's start, not from the last byte: a client that sends one byte a
//!   second ("slowloris") is answered `408 Request Timeout` and closed when the time is up;
//! * at most `max_connections` connections are open at once; one more is answered
//!   `503 Service Unavailable` and closed, and the server says (once) that it is refusing;
//! * a bad handshake gets `400 Bad Request` with the reason in the body;
//! * a message larger than `max_message` (16 MiB by default) closes the connection with code
//!   1009 (*message too big*): tungstenite stops reading it as soon as the header announces
//!   the length, so the bytes are never buffered;
//! * an unmasked frame from a client, or any other breach of RFC 6455, closes with 1002
//!   (*protocol error*); text that is not UTF-8 with 1007;
//! * a client that sends no *data* message (text or binary) for `idle_timeout` is closed with
//!   1001 (*going away*). Pings, pongs and the messages the server sends it do not count: a
//!   client that only pings is idle;
//! * in chat mode each client has a queue of the messages waiting to be written to it,
//!   bounded by `queue_messages` and `queue_bytes` (a `wirelab.chat` client's queue of
//!   wrapped messages too). A client that reads too slowly falls behind; when its queue is
//!   full it is disconnected with 1008 (*policy violation*) and a reason, and the server logs
//!   which connection it was and how many messages it missed. Nothing is lost silently, and
//!   one slow reader cannot make the server hold every message for it.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::handshake;
use super::labels;
use super::tap::{Event, Found, Pending, Tap, Watcher};
use crate::dissect::http::{self, HeadError};
use crate::dissect::websocket::Dir;

/// The chat page served at `/`: our own HTML and JavaScript, using the browser's WebSocket.
pub const PAGE: &str = include_str!("page.html");

/// The default largest message: 16 MiB.
pub const DEFAULT_MAX_MESSAGE: usize = 16 << 20;

/// How long a client may take to send its whole HTTP head, by default.
pub const DEFAULT_HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// The most messages waiting for one chat client, by default (as socketioxide's buffer).
pub const DEFAULT_QUEUE_MESSAGES: usize = 1024;

/// The most bytes of messages waiting for one chat client, by default.
pub const DEFAULT_QUEUE_BYTES: usize = 16 << 20;

/// How many refusals (503) may be under way at once; beyond that a connection is just closed.
const REFUSING_AT_ONCE: usize = 64;

/// How long to wait for the peer's close frame after sending ours.
const CLOSE_GRACE: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Echo,
    Chat,
}

/// Where the server's warnings go (a connection cap reached, a client disconnected for
/// falling behind): one line each, to a person.
#[derive(Clone)]
pub struct Warn(pub Arc<dyn Fn(String) + Send + Sync>);

impl fmt::Debug for Warn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Warn")
    }
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub mode: Mode,
    pub max_message: usize,
    /// Close a client that sent no text or binary message for this long.
    pub idle_timeout: Option<Duration>,
    /// Payload bytes of each frame kept for showing; 0 with `events: None` costs nothing.
    pub preview: usize,
    /// The time a client has for its whole HTTP request head.
    pub head_timeout: Duration,
    /// The most connections open at once; more are answered 503.
    pub max_connections: usize,
    /// The most messages, and bytes, waiting to be written to one chat client.
    pub queue_messages: usize,
    pub queue_bytes: usize,
    /// Where warnings go; `None`: to the events, as notes, if there are events.
    pub warn: Option<Warn>,
    /// A limit on the frame events waiting to be printed, shared with the printer.
    pub pending: Option<Arc<Pending>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            mode: Mode::Echo,
            max_message: DEFAULT_MAX_MESSAGE,
            idle_timeout: None,
            preview: 4096,
            head_timeout: DEFAULT_HEAD_TIMEOUT,
            max_connections: 10_000,
            queue_messages: DEFAULT_QUEUE_MESSAGES,
            queue_bytes: DEFAULT_QUEUE_BYTES,
            warn: None,
            pending: None,
        }
    }
}

/// The default for `max_connections`: what the file-descriptor limit leaves room for (each
/// connection is one descriptor; 64 are kept for everything else), at most 10,000. A cap below
/// the limit means the server can still answer 503 when it is reached, instead of failing to
/// accept at all.
pub fn default_max_connections() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse::<usize>().ok()
        })
        .unwrap_or(1024);
    soft.saturating_sub(64).clamp(16, 10_000)
}

/// What a server did, for the summary when it stops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Connections accepted (the refused ones not included).
    pub connections: u64,
    /// Connections answered 503 because `max_connections` were open.
    pub refused: u64,
    /// Connections closed because their HTTP head did not arrive in time.
    pub head_timeouts: u64,
    /// Text and binary messages received.
    pub messages: u64,
    /// Chat clients disconnected because they fell behind, and the messages they missed.
    pub fell_behind: u64,
    pub missed: u64,
}

impl Report {
    /// One line for a person: `12 connections, 340 messages; …`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} connection{}, {} message{} received",
            self.connections,
            if self.connections == 1 { "" } else { "s" },
            self.messages,
            if self.messages == 1 { "" } else { "s" },
        );
        if self.refused > 0 {
            s.push_str(&format!(
                "; {} refused with 503 (at --max-connections)",
                self.refused
            ));
        }
        if self.head_timeouts > 0 {
            s.push_str(&format!(
                "; {} closed for a request head that came too slowly (408)",
                self.head_timeouts
            ));
        }
        if self.fell_behind > 0 {
            s.push_str(&format!(
                "; {} disconnected for falling behind ({} messages they missed)",
                self.fell_behind, self.missed
            ));
        }
        s
    }
}

/// The counters behind [`Report`], shared by every connection.
#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    refused: AtomicU64,
    head_timeouts: AtomicU64,
    messages: AtomicU64,
    fell_behind: AtomicU64,
    missed: AtomicU64,
}

impl Counters {
    fn report(&self) -> Report {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Report {
            connections: get(&self.connections),
            refused: get(&self.refused),
            head_timeouts: get(&self.head_timeouts),
            messages: get(&self.messages),
            fell_behind: get(&self.fell_behind),
            missed: get(&self.missed),
        }
    }
}

/// What is waiting for one chat client, counted so the queue can be bounded.
#[derive(Default)]
struct Backlog {
    messages: AtomicUsize,
    bytes: AtomicUsize,
    /// Messages that did not fit, since the client fell behind.
    missed: AtomicU64,
    fell_behind: AtomicBool,
    /// Wakes the client's connection when it has fallen behind.
    kick: Notify,
}

/// One chat client: its queue and what is in it. The channel itself has no limit: the
/// [`Backlog`] counts what is in it, and the hub gives a full queue nothing more.
struct Outbox {
    tx: UnboundedSender<Message>,
    backlog: Arc<Backlog>,
}

impl Outbox {
    /// Queue one message, counted in the backlog (the limits are the hub's to check).
    fn push(&self, msg: Message) {
        self.backlog.messages.fetch_add(1, Ordering::Relaxed);
        self.backlog.bytes.fetch_add(msg.len(), Ordering::Relaxed);
        let _ = self.tx.send(msg);
    }
}

/// The chat room: every connected client's queue.
struct Hub {
    clients: Mutex<HashMap<u64, Outbox>>,
    queue_messages: usize,
    queue_bytes: usize,
}

impl Hub {
    /// An empty room whose clients' queues have the configured limits.
    fn new(cfg: &ServerConfig) -> Hub {
        Hub {
            clients: Mutex::new(HashMap::new()),
            queue_messages: cfg.queue_messages.max(1),
            queue_bytes: cfg.queue_bytes,
        }
    }

    fn join(&self, id: u64, out: Outbox) {
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, out);
    }

    fn leave(&self, id: u64) {
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    /// Is nobody here? (The labelled hub usually is: then no message is wrapped for it.)
    fn is_empty(&self) -> bool {
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Queue a message for everyone. The lock keeps the order the same for all clients. A
    /// client whose queue is full is not given the message: it has fallen behind, and its
    /// connection is woken to disconnect it.
    fn broadcast(&self, msg: &Message) {
        let len = msg.len();
        let clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        for out in clients.values() {
            let b = &out.backlog;
            let (n, bytes) = (
                b.messages.load(Ordering::Relaxed),
                b.bytes.load(Ordering::Relaxed),
            );
            // A queue always takes one message, however large (it is within max_message).
            if b.fell_behind.load(Ordering::Relaxed)
                || n >= self.queue_messages
                || (n > 0 && bytes + len > self.queue_bytes)
            {
                b.missed.fetch_add(1, Ordering::Relaxed);
                if !b.fell_behind.swap(true, Ordering::Relaxed) {
                    b.kick.notify_one();
                }
                continue;
            }
            out.push(msg.clone());
        }
    }
}

/// The tungstenite settings for a server connection.
pub fn ws_config(max_message: usize) -> WebSocketConfig {
    // tungstenite allocates the read buffer up front for every connection and fills it with
    // zeros before its first read, so an idle connection holds all of it: 4 KiB keeps ten
    // thousand connections' buffers in 40 MiB (tungstenite's default of 128 KiB would be
    // 1.25 GiB). It is also the most one read takes from the socket, so a smaller one costs
    // large messages speed (2 KiB echoed 256 KiB messages about a third slower than 8 KiB, 4 KiB
    // about a sixth), and 8 KiB put ten thousand connections above node's memory
    // (BENCHMARKS.md). A frame longer than the buffer still arrives whole: the buffer grows to
    // the frame's length (at most `max_message`).
    WebSocketConfig::default()
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message))
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(64 * 1024)
}

/// The read buffer of each WebSocket connection (see [`ws_config`]).
pub const READ_BUFFER: usize = 4 * 1024;

/// Accept connections until `shutdown` completes; then ask every open connection to close
/// (1001, going away) and wait for them (a few seconds at most). Returns what was done.
pub async fn serve(
    listener: TcpListener,
    cfg: ServerConfig,
    events: Option<UnboundedSender<Event>>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<Report> {
    let hub = Arc::new(Hub::new(&cfg));
    // The clients that asked for the `wirelab.chat` subprotocol: they get each message
    // wrapped with its sender's name (see `super::labels`), through queues bounded exactly
    // like the plain hub's.
    let labelled = Arc::new(Hub::new(&cfg));
    let counters = Arc::new(Counters::default());
    let open = Arc::new(Semaphore::new(cfg.max_connections.max(1)));
    let refusing = Arc::new(Semaphore::new(REFUSING_AT_ONCE));
    let cfg = Arc::new(cfg);
    let warn = warner(&cfg, &events);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let mut next_id = 0u64;
    // Refused since the cap was reached; the server says once when it starts refusing and once
    // when it accepts again, not once a connection.
    let mut refused_now = 0u64;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    Err(_) => { tokio::time::sleep(Duration::from_millis(50)).await; continue; }
                };
                let Ok(permit) = open.clone().try_acquire_owned() else {
                    counters.refused.fetch_add(1, Ordering::Relaxed);
                    if refused_now == 0 {
                        warn(format!(
                            "{} connections are open, the most allowed (--max-connections): \
                             refusing new ones with 503 Service Unavailable (the first: {peer})",
                            cfg.max_connections
                        ));
                    }
                    refused_now += 1;
                    match refusing.clone().try_acquire_owned() {
                        Ok(p) => { tasks.spawn(refuse_busy(stream, cfg.max_connections, p)); }
                        // Already refusing many at once: close without an answer.
                        Err(_) => drop(stream),
                    }
                    continue;
                };
                if refused_now > 0 {
                    warn(format!(
                        "accepting connections again ({refused_now} refused with 503 meanwhile)"
                    ));
                    refused_now = 0;
                }
                let _ = stream.set_nodelay(true);
                next_id += 1;
                counters.connections.fetch_add(1, Ordering::Relaxed);
                let conn = Connection {
                    id: next_id,
                    peer,
                    cfg: cfg.clone(),
                    hub: hub.clone(),
                    labelled: labelled.clone(),
                    wants_labels: false,
                    events: events.clone(),
                    stop: stop_rx.clone(),
                    counters: counters.clone(),
                    warn: warn.clone(),
                    _permit: permit,
                };
                tasks.spawn(conn.run(stream));
            }
            // Reap finished connections so the set does not grow forever.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    let _ = stop_tx.send(true);
    // Every connection closes within CLOSE_GRACE of being asked (its writes give up then too);
    // a little more for the scheduling, then whatever is left is dropped.
    let all_closed = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(CLOSE_GRACE * 2, all_closed)
        .await
        .is_err()
    {
        tasks.abort_all();
    }
    Ok(counters.report())
}

/// The function warnings go through: the configured one, else a note in the events.
fn warner(
    cfg: &ServerConfig,
    events: &Option<UnboundedSender<Event>>,
) -> Arc<dyn Fn(String) + Send + Sync> {
    match (&cfg.warn, events) {
        (Some(w), _) => w.0.clone(),
        (None, Some(tx)) => {
            let tx = tx.clone();
            Arc::new(move |text| {
                let _ = tx.send(Event {
                    conn: 0,
                    dir: Dir::ClientToServer,
                    what: Found::Note(text),
                });
            })
        }
        (None, None) => Arc::new(|_| {}),
    }
}

/// Answer a connection over the cap with 503 and close it (`sio serve` does the same). The answer is written first, then
/// whatever the client sent is read (briefly) so that closing does not reset the connection
/// before the client has read the answer; one second in all.
pub async fn refuse_busy(mut stream: TcpStream, max: usize, _permit: OwnedSemaphorePermit) {
    let body = format!(
        "this server has {max} connections open, the most it allows; try again in a moment\n"
    );
    let resp = handshake::http_response(
        503,
        "Service Unavailable",
        "text/plain; charset=utf-8",
        &body,
        "Retry-After: 5\r\nConnection: close\r\n",
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        if stream.write_all(resp.as_bytes()).await.is_ok() {
            let _ = stream.shutdown().await;
            let mut sink = [0u8; 4096];
            while let Ok(n) = stream.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        }
    })
    .await;
}

struct Connection {
    id: u64,
    peer: SocketAddr,
    cfg: Arc<ServerConfig>,
    hub: Arc<Hub>,
    labelled: Arc<Hub>,
    /// The client asked for the `wirelab.chat` subprotocol.
    wants_labels: bool,
    events: Option<UnboundedSender<Event>>,
    stop: watch::Receiver<bool>,
    counters: Arc<Counters>,
    warn: Arc<dyn Fn(String) + Send + Sync>,
    /// This connection's place under `max_connections`, given back when it ends.
    _permit: OwnedSemaphorePermit,
}

/// What to answer a request head with.
enum Plan {
    /// The chat page.
    Page,
    /// `101 Switching Protocols` (this answer), then the WebSocket.
    Upgrade(String),
    /// An HTTP error, with the reason in its body.
    Refuse {
        code: u16,
        phrase: &'static str,
        why: String,
        extra: &'static str,
    },
}

/// What to close a connection with after an error, if anything can still be sent.
pub fn close_for(e: &WsError) -> Option<CloseFrame> {
    let (code, reason) = match e {
        WsError::Capacity(c) => (CloseCode::Size, format!("message too big: {c}")),
        WsError::Protocol(ProtocolError::UnmaskedFrameFromClient) => (
            CloseCode::Protocol,
            "frames from a client must be masked (RFC 6455 section 5.1)".to_string(),
        ),
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => return None,
        WsError::Protocol(p) => (CloseCode::Protocol, format!("protocol error: {p}")),
        WsError::Utf8(_) => (
            CloseCode::Invalid,
            "a text message must be valid UTF-8".to_string(),
        ),
        WsError::ConnectionClosed | WsError::AlreadyClosed | WsError::Io(_) => return None,
        other => (CloseCode::Error, format!("server error: {other}")),
    };
    Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(cut_reason(&reason)),
    })
}

/// A close reason must fit in the 123 bytes a control frame leaves after the code.
pub fn cut_reason(reason: &str) -> String {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_string()
}

impl Connection {
    fn note(&self, text: String) {
        if let Some(tx) = &self.events {
            let _ = tx.send(Event {
                conn: self.id,
                dir: Dir::ClientToServer,
                what: Found::Note(text),
            });
        }
    }

    async fn run(mut self, stream: TcpStream) {
        let (reads, writes) = match &self.events {
            Some(tx) => (
                Some(
                    Watcher::new(self.id, Dir::ClientToServer, self.cfg.preview, tx.clone())
                        .bounded(self.cfg.pending.clone()),
                ),
                Some(
                    Watcher::new(self.id, Dir::ServerToClient, self.cfg.preview, tx.clone())
                        .bounded(self.cfg.pending.clone()),
                ),
            ),
            None => (None, None),
        };
        let mut tap = Tap::new(stream, reads, writes);
        let Some((plan, rest)) = self.read_head(&mut tap).await else {
            return;
        };
        // The head and its buffer are gone by now: a connection that lives for hours keeps
        // only what its WebSocket needs.
        match plan {
            Plan::Page => {
                let resp = handshake::http_response(
                    200,
                    "OK",
                    "text/html; charset=utf-8",
                    PAGE,
                    "Cache-Control: no-store\r\n",
                );
                let _ = tap.write_all(resp.as_bytes()).await;
                let _ = tap.shutdown().await;
            }
            Plan::Upgrade(resp) => {
                if tap.write_all(resp.as_bytes()).await.is_err() {
                    return;
                }
                drop(resp);
                let ws = WebSocketStream::from_partially_read(
                    tap,
                    rest,
                    Role::Server,
                    Some(ws_config(self.cfg.max_message)),
                )
                .await;
                self.session(ws).await;
            }
            Plan::Refuse {
                code,
                phrase,
                why,
                extra,
            } => self.refuse(&mut tap, code, phrase, &why, extra).await,
        }
    }

    /// Read the HTTP request head (within `head_timeout` in all) and decide what to answer.
    /// Returns the decision and the bytes that came after the head; `None` when the client
    /// went away, the server is stopping, or the head was refused already.
    async fn read_head(&mut self, tap: &mut Tap<TcpStream>) -> Option<(Plan, Vec<u8>)> {
        let mut buf = Vec::new();
        // One deadline for the whole head, not a timeout per read: a client that sends a byte
        // now and then must not keep the connection forever.
        let deadline = Instant::now() + self.cfg.head_timeout;
        let head = loop {
            match http::parse_head(&buf) {
                Ok(h) => break h,
                Err(HeadError::Incomplete) => {}
                Err(e) => {
                    let why = format!("the request is not valid HTTP/1.1: {e}");
                    self.refuse(tap, 400, "Bad Request", &why, "").await;
                    return None;
                }
            }
            // Read into the buffer's spare room (nothing is zero-filled first). The parser
            // refuses a head longer than http::MAX_HEAD_LEN, so this stays bounded.
            buf.reserve(1024);
            let read = tokio::select! {
                r = tokio::time::timeout_at(deadline, tap.read_buf(&mut buf)) => r,
                _ = self.stop.changed() => return None,
            };
            match read {
                Ok(Ok(0)) | Ok(Err(_)) => return None,
                Ok(Ok(_)) => {}
                Err(_) => {
                    self.counters.head_timeouts.fetch_add(1, Ordering::Relaxed);
                    let why = format!(
                        "the request head did not arrive within {} s ({} bytes came)",
                        self.cfg.head_timeout.as_secs_f64(),
                        buf.len()
                    );
                    // The answer is not waited for: the client is slow on purpose, perhaps.
                    let _ = tokio::time::timeout(
                        Duration::from_secs(1),
                        self.refuse(tap, 408, "Request Timeout", &why, "Connection: close\r\n"),
                    )
                    .await;
                    return None;
                }
            }
        };
        let rest = buf[head.len..].to_vec();
        let path = head.uri(&buf).unwrap_or("").split('?').next().unwrap_or("");
        let plan = match (head.method(&buf), path) {
            (Some("GET"), "/" | "/index.html") if !head.is_websocket_upgrade(&buf) => Plan::Page,
            // The WebSocket lives at /ws; an upgrade asked for at / is taken too, since many
            // clients connect to the root.
            (_, "/ws") | (_, "/") => match handshake::check_request(&head, &buf) {
                Ok(key) => {
                    let steps = handshake::accept_steps(&key);
                    self.note(format!(
                        "handshake accepted; Sec-WebSocket-Accept = base64(SHA-1(\"{key}\" + \"{}\")) = {}",
                        crate::dissect::websocket::GUID,
                        steps.accept
                    ));
                    self.wants_labels = self.cfg.mode == Mode::Chat && labels::offered(&head, &buf);
                    Plan::Upgrade(if self.wants_labels {
                        self.note(format!("subprotocol {} agreed", labels::PROTOCOL));
                        labels::switching_protocols(&key)
                    } else {
                        handshake::switching_protocols(&key)
                    })
                }
                Err(why) => {
                    let extra = if why.contains("version 13") || why.contains("must be 13") {
                        "Sec-WebSocket-Version: 13\r\n"
                    } else {
                        ""
                    };
                    Plan::Refuse {
                        code: 400,
                        phrase: "Bad Request",
                        why,
                        extra,
                    }
                }
            },
            (Some("GET"), _) => Plan::Refuse {
                code: 404,
                phrase: "Not Found",
                why: format!(
                    "there is nothing at {path:?}: the page is at / and the WebSocket at /ws"
                ),
                extra: "",
            },
            (m, _) => Plan::Refuse {
                code: 405,
                phrase: "Method Not Allowed",
                why: format!(
                    "this server answers GET only, not {}",
                    m.unwrap_or("a response")
                ),
                extra: "Allow: GET\r\n",
            },
        };
        Some((plan, rest))
    }

    /// Answer with an HTTP error whose body says why, and close.
    async fn refuse(
        &self,
        tap: &mut Tap<TcpStream>,
        code: u16,
        phrase: &str,
        why: &str,
        extra: &str,
    ) {
        self.note(format!("refused with {code} {phrase}: {why}"));
        let body = format!("{why}\n");
        let resp =
            handshake::http_response(code, phrase, "text/plain; charset=utf-8", &body, extra);
        let _ = tap.write_all(resp.as_bytes()).await;
        let _ = tap.shutdown().await;
    }

    /// The WebSocket session: echo or chat until someone closes, the client goes idle or
    /// falls behind, or the server stops.
    ///
    /// Every wait here can be cut short by an [`Interrupt`]: a write to a client that does not
    /// read would otherwise wait forever.
    async fn session(self, mut ws: WebSocketStream<Tap<TcpStream>>) {
        let backlog = Arc::new(Backlog::default());
        // Only a chat client has a queue (an echo writes its answers itself).
        let mut rx = None;
        if self.cfg.mode == Mode::Chat {
            let (tx, chat_rx) = mpsc::unbounded_channel::<Message>();
            rx = Some(chat_rx);
            let out = Outbox {
                tx,
                backlog: backlog.clone(),
            };
            if self.wants_labels {
                // First its own name; that message counts in its queue like any other.
                out.push(labels::welcome(self.id));
                self.labelled.join(self.id, out);
            } else {
                self.hub.join(self.id, out);
            }
        }
        let mut stop = self.stop.clone();
        let idle = self.cfg.idle_timeout;
        // Idle means: no text or binary message from the client (pings do not count).
        let mut last_data = Instant::now();
        // A chat client that sends faster than it reads fills its own queue with its own
        // messages: while its queue is half full, the server writes to it and does not read
        // from it (TCP then slows the sender down) instead of counting it as fallen behind.
        let (half_messages, half_bytes) =
            (self.cfg.queue_messages.max(2) / 2, self.cfg.queue_bytes / 2);
        let room_to_read = |b: &Backlog| {
            b.messages.load(Ordering::Relaxed) < half_messages
                && b.bytes.load(Ordering::Relaxed) <= half_bytes
        };
        let ending = loop {
            let idle_at = idle.map(|d| last_data + d);
            tokio::select! {
                // Interruptions first, then writing what waits, then reading more.
                biased;
                why = interrupt(&mut stop, &backlog, idle_at) => break Ending::Interrupted(why),
                Some(out) = queued(&mut rx) => {
                    let mut next = Some(out);
                    let mut written = Ok(());
                    while let Some(m) = next.take() {
                        backlog.messages.fetch_sub(1, Ordering::Relaxed);
                        backlog.bytes.fetch_sub(m.len(), Ordering::Relaxed);
                        written = guarded(ws.feed(m), &mut stop, &backlog, idle_at).await;
                        if written.is_err() {
                            break;
                        }
                        next = rx.as_mut().and_then(|rx| rx.try_recv().ok());
                    }
                    if written.is_ok() {
                        written = guarded(ws.flush(), &mut stop, &backlog, idle_at).await;
                    }
                    if let Err(end) = written {
                        break end;
                    }
                }
                incoming = ws.next(), if room_to_read(&backlog) => {
                    let mut msg = match incoming {
                        None => break Ending::Closed,
                        Some(Err(e)) => break Ending::Error(e),
                        Some(Ok(m)) => m,
                    };
                    // Answer everything that has already arrived, then write it all at once:
                    // one system call for many small messages.
                    let handled = loop {
                        if matches!(msg, Message::Text(_) | Message::Binary(_)) {
                            last_data = Instant::now();
                            self.counters.messages.fetch_add(1, Ordering::Relaxed);
                        }
                        let idle_at = idle.map(|d| last_data + d);
                        if let Err(end) = self.handle(&mut ws, msg, &mut stop, &backlog, idle_at).await {
                            break Err(end);
                        }
                        if !room_to_read(&backlog) {
                            break Ok(());
                        }
                        match ws.next().now_or_never() {
                            Some(Some(Ok(m))) => msg = m,
                            Some(Some(Err(e))) => break Err(Ending::Error(e)),
                            _ => break Ok(()),
                        }
                    };
                    let idle_at = idle.map(|d| last_data + d);
                    let flushed = match handled {
                        Ok(()) => guarded(ws.flush(), &mut stop, &backlog, idle_at).await,
                        Err(end) => Err(end),
                    };
                    if let Err(end) = flushed {
                        break end;
                    }
                }
            }
        };
        if self.cfg.mode == Mode::Chat {
            self.hub.leave(self.id);
            self.labelled.leave(self.id);
        }
        let close = match ending {
            Ending::Closed => None,
            Ending::Error(e) => close_for(&e),
            Ending::Interrupted(Interrupt::Stop) => Some(CloseFrame {
                code: CloseCode::Away,
                reason: Utf8Bytes::from_static("server shutting down"),
            }),
            Ending::Interrupted(Interrupt::Idle) => {
                let secs = idle.map(|d| d.as_secs_f64()).unwrap_or(0.0);
                self.note(format!(
                    "closing: no text or binary message for {secs} s (--idle-timeout)"
                ));
                Some(CloseFrame {
                    code: CloseCode::Away,
                    reason: Utf8Bytes::from(format!("idle for {secs} s")),
                })
            }
            Ending::Interrupted(Interrupt::FellBehind) => {
                // Left the hub above: nothing more is counted for it after this.
                let missed = backlog.missed.load(Ordering::Relaxed)
                    + backlog.messages.load(Ordering::Relaxed) as u64;
                self.counters.fell_behind.fetch_add(1, Ordering::Relaxed);
                self.counters.missed.fetch_add(missed, Ordering::Relaxed);
                (self.warn)(format!(
                    "conn {} ({}) fell behind: it did not read its messages and its queue \
                     reached the limit ({} messages or {} bytes); disconnected with 1008 \
                     (policy violation); it missed {missed} messages",
                    self.id, self.peer, self.cfg.queue_messages, self.cfg.queue_bytes
                ));
                Some(CloseFrame {
                    code: CloseCode::Policy,
                    reason: Utf8Bytes::from(cut_reason(&format!(
                        "too slow: you missed {missed} messages (the server keeps at most {} for a client)",
                        self.cfg.queue_messages
                    ))),
                })
            }
        };
        if let Some(frame) = close {
            self.note(format!(
                "closing with {} ({})",
                u16::from(frame.code),
                frame.reason
            ));
            // A client that does not read may never take the close frame either: both
            // halves of the closing handshake have a deadline.
            if let Ok(Ok(())) = tokio::time::timeout(CLOSE_GRACE, ws.close(Some(frame))).await {
                // Wait (briefly) for the client's close frame, as the closing handshake asks.
                let _ = tokio::time::timeout(CLOSE_GRACE, async {
                    while let Some(Ok(_)) = ws.next().await {}
                })
                .await;
            }
        }
    }

    /// React to one message. Pings are answered by tungstenite itself; a close from the
    /// client is echoed back by tungstenite too, and the next read ends the loop.
    async fn handle(
        &self,
        ws: &mut WebSocketStream<Tap<TcpStream>>,
        msg: Message,
        stop: &mut watch::Receiver<bool>,
        backlog: &Backlog,
        idle_at: Option<Instant>,
    ) -> Result<(), Ending> {
        match msg {
            Message::Text(_) | Message::Binary(_) => match self.cfg.mode {
                Mode::Echo => guarded(ws.feed(msg), stop, backlog, idle_at).await,
                Mode::Chat => {
                    if !self.labelled.is_empty()
                        && let Some(wrapped) = labels::envelope(self.id, &msg)
                    {
                        self.labelled.broadcast(&wrapped);
                    }
                    self.hub.broadcast(&msg);
                    Ok(())
                }
            },
            Message::Close(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(()),
        }
    }
}

/// Why a session ended.
enum Ending {
    /// The client closed (or the stream ended).
    Closed,
    Error(WsError),
    Interrupted(Interrupt),
}

/// What may cut a session's wait short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Interrupt {
    /// The server is stopping.
    Stop,
    /// A chat client's queue is full.
    FellBehind,
    /// No data message from the client for `idle_timeout`.
    Idle,
}

/// The next message queued for a chat client; never, for a connection without a queue.
async fn queued(rx: &mut Option<UnboundedReceiver<Message>>) -> Option<Message> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Wait for the first [`Interrupt`].
async fn interrupt(
    stop: &mut watch::Receiver<bool>,
    backlog: &Backlog,
    idle_at: Option<Instant>,
) -> Interrupt {
    tokio::select! {
        _ = stop.changed() => Interrupt::Stop,
        _ = backlog.kick.notified() => Interrupt::FellBehind,
        _ = async {
            match idle_at {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        } => Interrupt::Idle,
    }
}

/// Run a write unless an [`Interrupt`] comes first.
async fn guarded(
    write: impl Future<Output = Result<(), WsError>>,
    stop: &mut watch::Receiver<bool>,
    backlog: &Backlog,
    idle_at: Option<Instant>,
) -> Result<(), Ending> {
    tokio::select! {
        biased;
        why = interrupt(stop, backlog, idle_at) => Err(Ending::Interrupted(why)),
        r = write => r.map_err(Ending::Error),
    }
}
