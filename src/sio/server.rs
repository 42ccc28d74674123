//! The Socket.IO chat server behind `wirelab sio serve` and `wirelab sio demo`.
//!
//! # The idea
//!
//! A Socket.IO server is a set of *event handlers*. When a client emits `chat`, the server
//! runs the handler registered for `chat`; the handler decides who hears about it. The ways
//! to choose who, which this server shows one event each:
//!
//! | client emits          | server sends to                      | socketioxide call            |
//! |-----------------------|--------------------------------------|------------------------------|
//! | `chat` text           | everyone, the sender too             | `io.emit`                    |
//! | `whisper` {to, text}  | one client: the room named by its id | `io.to(id).emit`             |
//! | `join` / `leave` room | (changes which rooms the socket is in) | `socket.join` / `leave`    |
//! | `room` {room, text}   | everyone in that room                | `io.to(room).emit`           |
//! | `shout` text          | everyone but the sender              | `socket.broadcast().emit`    |
//! | `echo` data, with ack | only the sender, as the ack's answer | `AckSender::send`            |
//! | `watch`               | the sender, then on every change: who is here, who is in which room ([`super::roster`]) | `io.to(room).emit` |
//! | anything else         | nobody: logged as ignored, the connection stays up | `on_fallback` |
//!
//! On connect the server gives the socket its public id ([`PublicId`], 144 random bits), puts
//! the socket in the room named by that id (socketioxide does not do this by itself), and
//! tells the client with a `welcome` event.
//!
//! # Several servers as one
//!
//! Rooms live in each server's memory. With two servers, a room broadcast on server A would
//! reach only A's clients, so the servers share an *adapter*: with `--redis URL` every
//! broadcast is also published on Redis, and each server delivers it to its own members of the
//! room (socketioxide-redis; it needs Redis 7 or later and a `?protocol=resp3` URL).
//!
//! # Bad input
//!
//! socketioxide closes the connection of a client that sends a packet it cannot parse, or a
//! message larger than the payload limit; the other clients are not affected. Handlers here
//! read their arguments with `TryData`, so wrong argument shapes are answered with an error
//! ack (when the client asked for one) and logged, never a panic.
//!
//! # Limits
//!
//! * Each HTTP request head must arrive within `head_timeout` (10 s): hyper's own deadline for
//!   the whole head, which also closes a connection left idle between requests for longer.
//! * At most `max_connections` TCP connections are open at once (a WebSocket counts as long as
//!   it lasts); one more is answered `503 Service Unavailable`, and the log says so once.
//! * Each socket has a queue of `buffer` packets waiting to be written to it (socketioxide's
//!   buffer). A socketioxide broadcast says how many receivers' queues were full, not whose;
//!   so after one such broadcast the server sends to its own sockets one by one for a while
//!   (`deliver`), and a client that reads too slowly is then known by name: it is logged,
//!   told why (a `fell_behind` event) and disconnected, and the log says how many messages it
//!   missed. Nothing is dropped without a word. (With Redis, messages for clients on the other
//!   servers are delivered by those servers' adapters; a full queue there is ended by the
//!   Engine.IO heartbeat, which cannot be sent either.)

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use futures_util::StreamExt;
use serde_json::{Value, json};
use socketioxide::adapter::{Adapter, Emitter, LocalAdapter};
use socketioxide::extract::{AckSender, Event, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::socket::DisconnectReason;
use socketioxide::{BroadcastError, ParserConfig, SendError, SocketError, SocketIo};
use socketioxide_redis::drivers::redis::redis_client;
use socketioxide_redis::{RedisAdapter, RedisAdapterCtr};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot, watch};
use tokio::task::JoinHandle;

use super::id::{ID_BITS, ID_CHARS, PublicId, looks_like_id};
use super::roster;
use crate::Error;

/// Where the server's log lines go: printed by `sio serve`, prefixed by `sio demo`.
pub type Log = Arc<dyn Fn(String) + Send + Sync>;

/// The chat page served at `/`.
pub const PAGE: &str = include_str!("page.html");

/// The most binary attachments one event may announce.
pub const MAX_ATTACHMENTS: usize = 16;

/// The longest room name a client may join.
pub const MAX_ROOM_LEN: usize = 64;

/// How a server is set up.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    /// A Redis URL (`redis://127.0.0.1:6379/?protocol=resp3`) to share rooms with other
    /// servers; `None` keeps everything in this process.
    pub redis_url: Option<String>,
    /// A short name shown in logs and in the `welcome` event ("A", "B").
    pub name: String,
    /// The largest message a client may send, in bytes (both transports).
    pub max_payload: u64,
    /// How many packets may wait to be written to one socket before emits to it fail.
    pub buffer: usize,
    /// How long the server waits for a client's ack.
    pub ack_timeout: Duration,
    /// Log every event (false for benchmarks).
    pub verbose: bool,
    /// The time a client has for each HTTP request head.
    pub head_timeout: Duration,
    /// The most TCP connections open at once; more are answered 503.
    pub max_connections: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            redis_url: None,
            name: "A".into(),
            max_payload: 100_000,
            buffer: 1024,
            ack_timeout: Duration::from_secs(5),
            verbose: true,
            head_timeout: Duration::from_secs(10),
            max_connections: 10_000,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
struct Shared {
    name: Arc<str>,
    log: Log,
    verbose: bool,
    stats: Arc<Stats>,
    /// The room every socket of this server is in (besides its own): with Redis, a broadcast
    /// to the other servers excepts it, since this server delivers to its own sockets itself.
    room: Arc<str>,
    /// Rooms are shared with other servers (Redis).
    shared_adapter: bool,
    buffer: usize,
    careful: Arc<Careful>,
    /// Changes to who is here and in which room, not yet sent to the roster's watchers.
    roster: Arc<roster::Changes>,
}

/// What a server did, for the summary when it stops.
#[derive(Default, Debug)]
pub struct Stats {
    /// Messages that full queues missed in a broadcast and that no named socket was counted
    /// for (its socket left before it was named).
    pub unnamed: AtomicU64,
    pub connections: AtomicU64,
    pub events: AtomicU64,
    pub refused: AtomicU64,
    pub fell_behind: AtomicU64,
    pub missed: AtomicU64,
}

impl Stats {
    /// One line for a person: `3 clients, 12 events; …`.
    pub fn summary(&self) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (n, e) = (get(&self.connections), get(&self.events));
        let mut s = format!(
            "{n} client{}, {e} event{} handled",
            if n == 1 { "" } else { "s" },
            if e == 1 { "" } else { "s" }
        );
        if get(&self.refused) > 0 {
            s.push_str(&format!(
                "; {} connections refused with 503 (at --max-connections)",
                get(&self.refused)
            ));
        }
        if get(&self.fell_behind) > 0 {
            s.push_str(&format!(
                "; {} disconnected for falling behind ({} messages they missed)",
                get(&self.fell_behind),
                get(&self.missed)
            ));
        }
        if get(&self.unnamed) > 0 {
            s.push_str(&format!(
                "; {} messages missed by clients whose queue was full, not named before they left",
                get(&self.unnamed)
            ));
        }
        s
    }
}

/// A socket that fell behind: how many messages it missed, and whether it is being
/// disconnected.
#[derive(Default)]
struct Behind {
    missed: AtomicU64,
    kicking: AtomicBool,
}

impl Shared {
    /// Write one log line. Room names, event names and chat text come from clients: the whole
    /// line is escaped ([`crate::escape`]), so a client's ESC, BEL or CR is shown, not obeyed,
    /// and cannot forge a line of its own.
    fn log(&self, line: String) {
        (self.log)(crate::escape::escaped(line))
    }
}

/// The server's Socket.IO handle, whichever adapter it uses.
#[derive(Clone)]
pub enum Io {
    /// One server, rooms in memory.
    Local(SocketIo<LocalAdapter>),
    /// Servers sharing rooms through Redis.
    Redis(SocketIo<RedisAdapter<Emitter>>),
}

/// Run the same code for either adapter.
macro_rules! with_io {
    ($io:expr, $name:ident => $body:expr) => {
        match $io {
            Io::Local($name) => $body,
            Io::Redis($name) => $body,
        }
    };
}

/// Who the server sends to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Every socket, on every server.
    All,
    /// Everyone in a room; a socket's own room (its public id) reaches just that socket.
    Room(String),
}

/// A failed broadcast in words: how many clients missed it because their queue was full.
fn missed(e: BroadcastError) -> String {
    match e {
        BroadcastError::Socket(v) => format!(
            "{} client(s) did not get it: their queue was full ({:?})",
            v.len(),
            v.first()
        ),
        other => other.to_string(),
    }
}

/// One answer to a server's ack request: which Engine.IO session answered (socketioxide's
/// internal id) and what it said.
pub type AckAnswer = (String, Result<Value, String>);

impl Io {
    /// Emit `event` with `data` to a target.
    pub async fn emit(&self, target: &Target, event: &str, data: &Value) -> Result<(), Error> {
        with_io!(self, io => match target {
            Target::All => io.emit(event, data).await.map_err(missed)?,
            Target::Room(r) => io.to(r.clone()).emit(event, data).await.map_err(missed)?,
        });
        Ok(())
    }

    /// Emit and ask every receiver for an ack; wait for all answers (or the timeout).
    pub async fn emit_with_ack(
        &self,
        target: &Target,
        event: &str,
        data: &Value,
        timeout: Duration,
    ) -> Result<Vec<AckAnswer>, Error> {
        with_io!(self, io => {
            let op = match target {
                Target::All => io.broadcast(),
                Target::Room(r) => io.to(r.clone()),
            };
            let stream = op
                .timeout(timeout)
                .emit_with_ack::<_, Value>(event, data)
                .await
                .map_err(|e| e.to_string())?;
            Ok(stream
                .map(|(sid, r)| (sid.to_string(), r.map_err(|e| e.to_string())))
                .collect::<Vec<_>>()
                .await)
        })
    }

    /// The public ids of the sockets connected to this server (not to its Redis peers).
    pub fn local_ids(&self) -> Vec<String> {
        with_io!(self, io => io
            .sockets()
            .iter()
            .filter_map(|s| s.extensions.get::<PublicId>())
            .map(|id| id.to_string())
            .collect())
    }

    /// Disconnect every client and stop the engine.
    pub async fn close(&self) {
        with_io!(self, io => io.close().await)
    }
}

/// A server that is running.
pub struct Running {
    pub addr: SocketAddr,
    pub io: Io,
    pub name: String,
    /// What it has done so far.
    pub stats: Arc<Stats>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    /// Close every connection and stop serving.
    pub async fn stop(mut self) {
        self.io.close().await;
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        // Connections that outlive the close (a half-open browser tab) are not waited for.
        if tokio::time::timeout(Duration::from_secs(4), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }
}

/// Start a server: bind, build the Socket.IO layer with the chosen adapter, register the
/// handlers, and serve the chat page at `/`.
pub async fn start(opts: &ServerOptions, log: Log) -> Result<Running, Error> {
    let listener = TcpListener::bind((opts.bind, opts.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", opts.bind, opts.port))?;
    start_on(listener, opts, log).await
}

/// Start a server on a socket that is already listening (made elsewhere: in the lab, on the
/// server host). `opts.bind` and `opts.port` are not used.
pub async fn start_on(
    listener: TcpListener,
    opts: &ServerOptions,
    log: Log,
) -> Result<Running, Error> {
    let addr = listener.local_addr()?;
    let stats = Arc::new(Stats::default());
    let shared = Shared {
        name: opts.name.as_str().into(),
        log: log.clone(),
        verbose: opts.verbose,
        stats: stats.clone(),
        room: format!("server:{}:{}", opts.name, PublicId::new()).into(),
        shared_adapter: opts.redis_url.is_some(),
        buffer: opts.buffer,
        careful: Arc::new(Careful::default()),
        roster: Arc::new(roster::Changes::default()),
    };
    let builder = SocketIo::builder()
        .max_payload(opts.max_payload)
        .ws_max_message_size(opts.max_payload as usize)
        .ws_max_frame_size(opts.max_payload as usize)
        .max_buffer_size(opts.buffer)
        .ack_timeout(opts.ack_timeout)
        // Binary attachments are buffered until the last one arrives: bound how many, how
        // big, and for how long, so one client cannot make the server hold much memory.
        .with_parser(
            ParserConfig::common()
                .max_incoming_binaries(MAX_ATTACHMENTS)
                .max_incoming_binary_buf_size(opts.max_payload as usize)
                .packet_completion_timeout(Duration::from_secs(5)),
        )
        .with_state(shared);
    let (app, io) = match &opts.redis_url {
        None => {
            let (layer, io) = builder.build_layer();
            io.ns("/", on_connect::<LocalAdapter>.with(setup::<LocalAdapter>));
            (Router::new().layer(layer), Io::Local(io))
        }
        Some(url) => {
            let url = &resp3_url(url);
            let client = redis_client::Client::open(url.as_str())
                .map_err(|e| format!("bad Redis URL {url}: {e}"))?;
            let ctr = RedisAdapterCtr::new_with_redis(&client).await.map_err(|e| {
                format!("cannot reach Redis at {url}: {e} (Redis 7 or later, URL ending ?protocol=resp3)")
            })?;
            let (layer, io) = builder
                .with_adapter::<RedisAdapter<Emitter>>(ctr)
                .build_layer();
            io.ns(
                "/",
                on_connect::<RedisAdapter<Emitter>>.with(setup::<RedisAdapter<Emitter>>),
            )
            .await
            .map_err(|e| format!("cannot set up the Redis adapter at {url}: {e}"))?;
            (Router::new().layer(layer), Io::Redis(io))
        }
    };
    let app = app.route("/", get(|| async { Html(PAGE) }));
    let (tx, rx) = oneshot::channel::<()>();
    let limits = Limits {
        head_timeout: opts.head_timeout,
        max_connections: opts.max_connections.max(1),
    };
    let task = tokio::spawn(accept_loop(listener, app, limits, log, stats.clone(), rx));
    Ok(Running {
        addr,
        io,
        name: opts.name.clone(),
        stats,
        stop: Some(tx),
        task,
    })
}

/// The limits the accept loop enforces.
struct Limits {
    head_timeout: Duration,
    max_connections: usize,
}

/// Accept connections and serve each with hyper (HTTP/1.1, with upgrades to WebSocket), until
/// `stop`; then ask every connection to finish and wait for them a little.
///
/// This is what `axum::serve` does, plus what it cannot be asked for: a deadline for each
/// request head (hyper's `header_read_timeout`) and a cap on open connections, answered with
/// 503 past it.
async fn accept_loop(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    log: Log,
    stats: Arc<Stats>,
    mut stop: oneshot::Receiver<()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let refusing = Arc::new(Semaphore::new(64));
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    let mut refused_now = 0u64;
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    Err(_) => { tokio::time::sleep(Duration::from_millis(50)).await; continue; }
                };
                let Ok(permit) = open.clone().try_acquire_owned() else {
                    stats.refused.fetch_add(1, Ordering::Relaxed);
                    if refused_now == 0 {
                        log(format!(
                            "refusing   {} connections are open, the most allowed (--max-connections): new ones get 503 Service Unavailable (the first: {peer})",
                            limits.max_connections
                        ));
                    }
                    refused_now += 1;
                    if let Ok(p) = refusing.clone().try_acquire_owned() {
                        conns.spawn(crate::ws::server::refuse_busy(stream, limits.max_connections, p));
                    }
                    continue;
                };
                if refused_now > 0 {
                    log(format!("accepting connections again ({refused_now} refused with 503 meanwhile)"));
                    refused_now = 0;
                }
                // Chat messages are small and should leave at once: turn off Nagle's
                // algorithm, which holds a small write back while an earlier one is
                // unacknowledged.
                let _ = stream.set_nodelay(true);
                let io = TokioIo::new(Counted { stream, _permit: permit });
                let service = hyper_util::service::TowerToHyperService::new(app.clone());
                let mut closing = closing_rx.clone();
                let head_timeout = limits.head_timeout;
                conns.spawn(async move {
                    let mut http = hyper::server::conn::http1::Builder::new();
                    http.timer(TokioTimer::new()).header_read_timeout(head_timeout);
                    let conn = http.serve_connection(io, service).with_upgrades();
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = closing.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = tokio::time::timeout(Duration::from_secs(2), conn).await;
                        }
                    }
                });
            }
            // Reap finished connections so the set does not grow forever.
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    let _ = closing_tx.send(true);
    if tokio::time::timeout(Duration::from_secs(3), async {
        while conns.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        conns.abort_all();
    }
}

/// A connection that holds its place under the connection cap for as long as it exists: after
/// an upgrade to WebSocket the stream moves on to socketioxide, and the place with it.
struct Counted {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The Redis adapter speaks RESP3 (which Redis has had since 6.0; socketioxide-redis asks for
/// Redis 7 or later), and the `redis` crate only uses RESP3 when the URL asks for it: add
/// `protocol=resp3` when it is missing.
pub fn resp3_url(url: &str) -> String {
    if url.to_ascii_lowercase().contains("protocol=resp3") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else if url
        .split_once("://")
        .is_some_and(|(_, rest)| rest.contains('/'))
    {
        format!("{url}?protocol=resp3")
    } else {
        format!("{url}/?protocol=resp3")
    }
}

/// The public id of a socket (set on connect).
fn id_of<A: Adapter>(socket: &SocketRef<A>) -> String {
    socket
        .extensions
        .get::<PublicId>()
        .map(|id| id.to_string())
        .unwrap_or_default()
}

/// A handler's argument, or `null` when the client sent none or one of the wrong shape.
fn arg(data: TryData<Value>) -> Value {
    data.0.unwrap_or(Value::Null)
}

/// Text from an argument: a string as it is, anything else as JSON.
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Runs before the server sends its CONNECT answer (`40{"sid":…}`): give the socket its public
/// id and its own room, and register every handler.
///
/// This must happen here, in a connect *middleware*, and not in the connect handler:
/// socketioxide sends the CONNECT answer first and then spawns the connect handler as a task,
/// so a quick client can emit its first event before a handler that registers `socket.on(…)`
/// has run, and that event would be lost without a trace. (wirelab's benchmark found this: the
/// first broadcast of a fast sender went missing.) Middlewares are awaited before the answer.
async fn setup<A: Adapter>(
    socket: SocketRef<A>,
    State(sh): State<Shared>,
) -> Result<(), Infallible> {
    let id = PublicId::new();
    socket.extensions.insert(id.clone());
    // Socket.IO's convention: every socket is in the room named by its own id, so "send to
    // one client" is "send to that room". socketioxide leaves this to the application.
    socket.join(id.to_string());
    // And in this server's room, which broadcasts through Redis except (see `deliver`).
    socket.join(sh.room.to_string());
    socket.extensions.insert(Arc::new(Behind::default()));
    sh.stats.connections.fetch_add(1, Ordering::Relaxed);
    socket.on("chat", on_chat::<A>);
    socket.on("whisper", on_whisper::<A>);
    socket.on("join", on_join::<A>);
    socket.on("leave", on_leave::<A>);
    socket.on("room", on_room::<A>);
    socket.on("shout", on_shout::<A>);
    socket.on("echo", on_echo::<A>);
    socket.on("watch", on_watch::<A>);
    socket.on_fallback(on_unhandled::<A>);
    socket.on_disconnect(on_disconnect::<A>);
    Ok(())
}

/// Runs after the CONNECT answer: log, and tell the client its public id.
async fn on_connect<A: Adapter>(socket: SocketRef<A>, io: SocketIo<A>, State(sh): State<Shared>) {
    let id = socket.extensions.get::<PublicId>().unwrap_or_default();
    // Two ids, two jobs: the public id (the room others reach this socket through) and the
    // Engine.IO session id, which authorises the connection and is told to no one else.
    let transport = match socket.transport_type() {
        socketioxide::TransportType::Websocket => "WebSocket",
        socketioxide::TransportType::Polling => "HTTP long-polling",
    };
    sh.log(format!(
        "connect     {id}  (public id: {ID_BITS} random bits in {ID_CHARS} characters, the room \
         others reach this socket through; the {}-character Engine.IO session id {} authorises \
         its connection over {transport} and stays private)",
        socket.id.as_str().len(),
        socket.id,
    ));
    let _ = socket.emit(
        "welcome",
        &json!({ "id": id.as_str(), "server": &*sh.name, "bits": ID_BITS }),
    );
    roster_changed(io, &sh, None);
}

/// `watch`: join the watchers of who is here and who is in which room ([`roster`]), and get
/// the list now, as a `rooms` event and as the ack. From then on every change sends a new
/// `rooms` event ([`roster_changed`]).
async fn on_watch<A: Adapter>(
    socket: SocketRef<A>,
    io: SocketIo<A>,
    ack: AckSender<A>,
    State(sh): State<Shared>,
) {
    sh.stats.events.fetch_add(1, Ordering::Relaxed);
    socket.join(roster::ROOM);
    let list = roster::roster(&io, &sh.roster.gone()).await;
    if let Err(SendError::Socket(SocketError::InternalChannelFull)) = socket.emit("rooms", &list) {
        fell_behind(&sh, &socket);
    }
    reply(&sh, &socket, ack, list);
}

/// Someone connected, joined, left or went (`gone`: the public id of a socket that is
/// disconnecting): send the watchers the new list. A burst of changes makes one list
/// ([`roster::Changes`]), and it is sent by [`deliver`] like every other message: a watcher
/// whose queue is full is named and disconnected, not silently skipped.
fn roster_changed<A: Adapter>(io: SocketIo<A>, sh: &Shared, gone: Option<String>) {
    if !sh.roster.note(gone) {
        return;
    }
    let sh = sh.clone();
    tokio::spawn(async move {
        if let Some(list) = sh.roster.list(&io).await {
            let _ = deliver(&io, &sh, To::Room(roster::ROOM.into()), "rooms", &list).await;
        }
    });
}

/// Reply through the ack, if the client asked for one (does nothing otherwise).
fn reply<A: Adapter>(sh: &Shared, socket: &SocketRef<A>, ack: AckSender<A>, v: Value) {
    if let Err(SendError::Socket(SocketError::InternalChannelFull)) = ack.send(&v) {
        fell_behind(sh, socket);
    }
}

/// Who a handler sends to.
enum To<'a, A: Adapter> {
    /// Every socket, on every server.
    All,
    /// Everyone in a room (a socket's own room: that socket).
    Room(String),
    /// Everyone but this socket.
    AllBut(&'a SocketRef<A>),
}

/// Emit an event to `to`.
///
/// Normally this is one socketioxide broadcast: the packet is written once and shared by
/// every receiver. A broadcast says how many receivers' queues were full, but not whose. So
/// when one fails, the server turns *careful* for a while ([`CAREFUL`]): it sends to this
/// server's sockets one by one, and a full queue is then known by name ([`fell_behind`]). (With
/// Redis the other servers' sockets are reached through the adapter, this server's room
/// excepted.) Returns whether every delivery here was accepted.
async fn deliver<A: Adapter>(
    io: &SocketIo<A>,
    sh: &Shared,
    to: To<'_, A>,
    event: &str,
    data: &Value,
) -> Result<(), String> {
    // The namespace, held for this whole delivery. None: the server is closing (a handler
    // that runs during `close`, as a socket's disconnect does, would make socketioxide's
    // `io.to`/`io.broadcast` panic: "default namespace not found").
    let Some(root) = io.of("/") else {
        return Err("the server is closing".into());
    };
    if !sh.careful.active() {
        let op = match &to {
            To::All => root,
            To::Room(r) => root.to(r.clone()),
            To::AllBut(s) => s.broadcast(),
        };
        return match op.emit(event, data).await {
            Ok(()) => Ok(()),
            Err(BroadcastError::Socket(errors)) => {
                let full = errors
                    .iter()
                    .filter(|e| matches!(e, SocketError::InternalChannelFull))
                    .count();
                if full > 0 {
                    sh.careful.missed_unnamed(full as u64, &sh.stats);
                }
                Err(format!("{full} client(s) fell behind and missed it"))
            }
            Err(e) => Err(e.to_string()),
        };
    }
    let local = match &to {
        To::All => root.clone().sockets(),
        To::Room(r) => root.clone().to(r.clone()).sockets(),
        To::AllBut(s) => s.broadcast().sockets(),
    };
    // Written as JSON once; each socket's packet then copies these bytes.
    let raw = serde_json::value::to_raw_value(data).map_err(|e| e.to_string())?;
    let mut full = 0;
    for s in &local {
        if let Err(SendError::Socket(SocketError::InternalChannelFull)) = s.emit(event, &raw) {
            fell_behind(sh, s);
            full += 1;
        }
    }
    if sh.shared_adapter {
        let others = match to {
            To::All => root.except(sh.room.to_string()),
            To::Room(r) => root.to(r).except(sh.room.to_string()),
            To::AllBut(s) => s.broadcast().except(sh.room.to_string()),
        };
        match others.emit(event, data).await {
            Ok(()) | Err(BroadcastError::Socket(_)) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    if full > 0 {
        return Err(format!("{full} client(s) fell behind and missed it"));
    }
    Ok(())
}

/// How long the server stays careful after a broadcast found a full queue.
const CAREFUL: Duration = Duration::from_secs(2);

/// Whether to send one by one (see [`deliver`]), and the messages missed by receivers not yet
/// named.
#[derive(Default)]
struct Careful {
    /// Until when, in milliseconds since `start` (0: not careful).
    until_ms: AtomicU64,
    start: std::sync::OnceLock<std::time::Instant>,
    /// Broadcasts that found full queues since the server turned careful.
    failed: AtomicU64,
}

impl Careful {
    fn now_ms(&self) -> u64 {
        self.start
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_millis() as u64
            + 1
    }

    fn active(&self) -> bool {
        let until = self.until_ms.load(Ordering::Relaxed);
        until != 0 && self.now_ms() < until
    }

    /// A broadcast found `n` full queues: count the misses (in `stats.unnamed` until their
    /// sockets are named) and be careful for a while.
    fn missed_unnamed(&self, n: u64, stats: &Stats) {
        if !self.active() {
            self.failed.store(0, Ordering::Relaxed);
        }
        self.failed.fetch_add(1, Ordering::Relaxed);
        stats.unnamed.fetch_add(n, Ordering::Relaxed);
        let until = self.now_ms() + CAREFUL.as_millis() as u64;
        self.until_ms.fetch_max(until, Ordering::Relaxed);
    }

    /// A socket was just named as full: it most likely missed each broadcast that found full
    /// queues since the server turned careful (a full queue stays full until its client
    /// reads). Returns how many of the unnamed misses it takes.
    fn name_one(&self, stats: &Stats) -> u64 {
        let failed = self.failed.load(Ordering::Relaxed);
        let mut took = 0;
        let _ = stats
            .unnamed
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                took = n.min(failed);
                Some(n - took)
            });
        took
    }
}

/// A socket whose queue is full: it reads more slowly than messages come. Count the message it
/// missed; the first time, log it and start disconnecting it.
fn fell_behind<A: Adapter>(sh: &Shared, socket: &SocketRef<A>) {
    let Some(behind) = socket.extensions.get::<Arc<Behind>>() else {
        return;
    };
    behind.missed.fetch_add(1, Ordering::Relaxed);
    if behind.kicking.swap(true, Ordering::Relaxed) {
        return;
    }
    // Named now, it most likely missed the broadcasts that made the server careful too.
    behind
        .missed
        .fetch_add(sh.careful.name_one(&sh.stats), Ordering::Relaxed);
    sh.stats.fell_behind.fetch_add(1, Ordering::Relaxed);
    sh.log(format!(
        "slow        {}: its queue of {} packets is full (it does not read fast enough); disconnecting it",
        id_of(socket),
        sh.buffer
    ));
    let socket = socket.clone();
    tokio::spawn(async move {
        // Disconnecting needs room in the queue for the DISCONNECT packet: try until the
        // queue has room or the connection is gone. A client that reads nothing at all is
        // ended sooner or later by the Engine.IO heartbeat, whose PING cannot be queued either.
        let mut told = false;
        for _ in 0..600 {
            if !socket.connected() {
                return;
            }
            if !told {
                let missed = behind.missed.load(Ordering::Relaxed);
                told = socket
                    .emit(
                        "fell_behind",
                        &json!({
                            "reason": "too slow: your queue on the server was full",
                            "missed": missed,
                        }),
                    )
                    .is_ok();
            }
            if told && socket.clone().disconnect().is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
}

fn error(msg: impl Into<String>) -> Value {
    json!({ "ok": false, "error": msg.into() })
}

async fn on_chat<A: Adapter>(
    socket: SocketRef<A>,
    io: SocketIo<A>,
    data: TryData<Value>,
    ack: AckSender<A>,
    State(sh): State<Shared>,
) {
    let from = id_of(&socket);
    sh.stats.events.fetch_add(1, Ordering::Relaxed);
    let text = arg(data);
    if sh.verbose {
        sh.log(format!("chat        {from} → everyone: {}", text_of(&text)));
    }
    let r = deliver(
        &io,
        &sh,
        To::All,
        "chat",
        &json!({ "from": from, "text": text }),
    )
    .await;
    reply(&sh, &socket, ack, json!({ "ok": r.is_ok() }));
}

async fn on_whisper<A: Adapter>(
    socket: SocketRef<A>,
    io: SocketIo<A>,
    data: TryData<Value>,
    ack: AckSender<A>,
    State(sh): State<Shared>,
) {
    let from = id_of(&socket);
    sh.stats.events.fetch_add(1, Ordering::Relaxed);
    let v = arg(data);
    let to = v.get("to").and_then(Value::as_str).unwrap_or("");
    if !looks_like_id(to) {
        sh.log(format!(
            "whisper     {from}: refused, \"to\" must be a socket id, got {}",
            v.get("to").unwrap_or(&Value::Null)
        ));
        return reply(
            &sh,
            &socket,
            ack,
            error("whisper needs {\"to\": <socket id>, \"text\": …}"),
        );
    }
    let text = v.get("text").cloned().unwrap_or(Value::Null);
    if sh.verbose {
        sh.log(format!(
            "whisper     {from} → {to} only: {}",
            text_of(&text)
        ));
    }
    let r = deliver(
        &io,
        &sh,
        To::Room(to.to_string()),
        "whisper",
        &json!({ "from": from, "text": text }),
    )
    .await;
    reply(&sh, &socket, ack, json!({ "ok": r.is_ok() }));
}

/// Check a room name a client asked for: not empty, not too long, and not the shape of a
/// socket id (those rooms are private to their socket).
fn check_room(v: &Value) -> Result<String, String> {
    let Some(room) = v.as_str() else {
        return Err(format!("the room must be a string, got {v}"));
    };
    if room.is_empty() || room.len() > MAX_ROOM_LEN {
        return Err(format!("a room name must have 1 to {MAX_ROOM_LEN} bytes"));
    }
    if looks_like_id(room) {
        return Err("that name has the shape of a socket id: such rooms are private".into());
    }
    if room.starts_with("server:") {
        return Err("rooms named server:… belong to the servers".into());
    }
    Ok(room.to_string())
}

async fn on_join<A: Adapter>(
    socket: SocketRef<A>,
    io: SocketIo<A>,
    data: TryData<Value>,
    ack: AckSender<A>,
    State(sh): State<Shared>,
) {
    let from = id_of(&socket);
    sh.stats.events.fetch_add(1, Ordering::Relaxed);
    match check_room(&arg(data)) {
        Ok(room) => {
            socket.join(room.clone());
            roster_changed(io, &sh, None);
            sh.log(format!("join        {from} joins room \"{room}\""));
            reply(&sh, &socket, ack, json!({ "ok": true, "room": room }));
        }
        Err(e) => {
            sh.log(format!("join        {from}: refused: {e}"));
            reply(&sh, &socket, ack, error(e));
        }
    }
}

async fn on_leave<A: Adapter>(
    socket: SocketRef<A>,
    io: SocketIo<A>,
    data: TryData<Value>,
    ack: AckSender<A>,
    State(sh): State<Shared>,
) {
    let from = id_of(&socket);
    sh.stats.events.fetch_add(1, Ordering::Relaxed);
    match check_room(&arg(data)) {
        Ok(room) => {
            socket.leave(room.clone());
            roster_changed(io, &sh, None);
            sh.log(format!("leave       {from} leaves room \"{room}\""));
            reply(&sh, &socket, ack, json!({ "ok": true, "room": room }));
        }
        Err(e) => reply(&sh, &socket, ack, error(e)),
    }
}

async fn on_room<A: Adapter>(
    socket: SocketRef<A>,
    io: SocketIo<A>,
    data: TryData<Value>,
    ack: AckSender<A>,
    State(sh): State<Shared>,
) {
    let from = id_of(&socket);
    sh.stats.events.fetch_add(1, Ordering::Relaxed);
    let v = arg(data);
    let room = match check_room(v.get("room").unwrap_or(&Value::Null)) {
        Ok(r) => r,
        Err(e) => {
            sh.log(format!("room        {from}: refused: {e}"));
            return reply(&sh, &socket, ack, error(e));
        }
    };
    let text = v.get("text").cloned().unwrap_or(Value::Null);
    if sh.verbose {
        sh.log(format!(
            "room        {from} → room \"{room}\": {}",
            text_of(&text)
        ));
    }
    let r = deliver(
        &io,
        &sh,
        To::Room(room.clone()),
        "room",
        &json!({ "from": from, "room": room, "text": text }),
    )
    .await;
    reply(&sh, &socket, ack, json!({ "ok": r.is_ok() }));
}

async fn on_shout<A: Adapter>(
    socket: SocketRef<A>,
    io: SocketIo<A>,
    data: TryData<Value>,
    ack: AckSender<A>,
    State(sh): State<Shared>,
) {
    let from = id_of(&socket);
    sh.stats.events.fetch_add(1, Ordering::Relaxed);
    let text = arg(data);
    if sh.verbose {
        sh.log(format!(
            "shout       {from} → everyone but the sender: {}",
            text_of(&text)
        ));
    }
    let r = deliver(
        &io,
        &sh,
        To::AllBut(&socket),
        "shout",
        &json!({ "from": from, "text": text }),
    )
    .await;
    reply(&sh, &socket, ack, json!({ "ok": r.is_ok() }));
}

async fn on_echo<A: Adapter>(
    socket: SocketRef<A>,
    data: TryData<Value>,
    ack: AckSender<A>,
    State(sh): State<Shared>,
) {
    let from = id_of(&socket);
    sh.stats.events.fetch_add(1, Ordering::Relaxed);
    let v = arg(data);
    if sh.verbose {
        sh.log(format!(
            "echo        {from} asks for an ack; answering with its data"
        ));
    }
    reply(&sh, &socket, ack, json!({ "echo": v, "server": &*sh.name }));
}

async fn on_unhandled<A: Adapter>(
    socket: SocketRef<A>,
    Event(event): Event,
    State(sh): State<Shared>,
) {
    sh.stats.events.fetch_add(1, Ordering::Relaxed);
    sh.log(format!(
        "ignored     {} sent \"{event}\", which has no handler; ignored, the connection stays up",
        id_of(&socket)
    ));
}

async fn on_disconnect<A: Adapter>(
    socket: SocketRef<A>,
    io: SocketIo<A>,
    reason: DisconnectReason,
    State(sh): State<Shared>,
) {
    roster_changed(io, &sh, Some(id_of(&socket)));
    let missed = match socket.extensions.get::<Arc<Behind>>() {
        // A broadcast that began before this socket was named and found its queue full is
        // counted unnamed after the naming: the socket leaving takes those misses too.
        Some(b) if b.kicking.load(Ordering::Relaxed) => {
            b.missed
                .fetch_add(sh.careful.name_one(&sh.stats), Ordering::Relaxed);
            b.missed.load(Ordering::Relaxed)
        }
        Some(b) => b.missed.load(Ordering::Relaxed),
        None => 0,
    };
    if missed > 0 {
        sh.stats.missed.fetch_add(missed, Ordering::Relaxed);
        sh.log(format!(
            "disconnect  {}: {reason}; it fell behind and missed {missed} messages",
            id_of(&socket)
        ));
    } else {
        sh.log(format!("disconnect  {}: {reason}", id_of(&socket)));
    }
}

/// Run one line typed at the server's console. Returns what to print.
///
/// ```text
/// /all EVENT [JSON]         emit to every client
/// /to ID EVENT [JSON]       emit to one client (the room named by its id)
/// /room NAME EVENT [JSON]   emit to a room
/// /ack ID EVENT [JSON]      emit to one client and wait for its ack
/// /list                     the clients connected to this server
/// ```
pub async fn console(io: &Io, line: &str, timeout: Duration) -> Result<String, Error> {
    let line = line.trim();
    let (cmd, rest) = split_word(line);
    let need = |rest: &str, what: &str| -> Result<(String, String), Error> {
        let (a, b) = split_word(rest);
        if a.is_empty() {
            return Err(format!("{cmd} needs {what}; try /help").into());
        }
        Ok((a.to_string(), b.to_string()))
    };
    match cmd {
        "" => Ok(String::new()),
        "/help" | "help" => Ok(CONSOLE_HELP.into()),
        "/list" => {
            let ids = io.local_ids();
            Ok(format!("{} client(s) here: {}", ids.len(), ids.join(" ")))
        }
        "/all" => {
            let (event, data) = need(rest, "an EVENT")?;
            let data = json_arg(&data);
            io.emit(&Target::All, &event, &data).await?;
            Ok(format!("sent {event} {data} to everyone"))
        }
        "/to" | "/room" => {
            let (target, rest) = need(rest, "a target and an EVENT")?;
            let (event, data) = need(&rest, "an EVENT")?;
            if cmd == "/to" && !looks_like_id(&target) {
                return Err(format!(
                    "{target} is not a socket id (24 characters); /list shows them"
                )
                .into());
            }
            let data = json_arg(&data);
            io.emit(&Target::Room(target.clone()), &event, &data)
                .await?;
            Ok(format!("sent {event} {data} to {target}"))
        }
        "/ack" => {
            let (target, rest) = need(rest, "an ID and an EVENT")?;
            let (event, data) = need(&rest, "an EVENT")?;
            let data = json_arg(&data);
            let answers = io
                .emit_with_ack(&Target::Room(target.clone()), &event, &data, timeout)
                .await?;
            if answers.is_empty() {
                return Ok(format!("no client in {target} to ask"));
            }
            let mut out = String::new();
            for (sid, r) in answers {
                match r {
                    Ok(v) => out.push_str(&format!("ack from {target} (session {sid}): {v}\n")),
                    Err(e) => out.push_str(&format!("no ack from {target} (session {sid}): {e}\n")),
                }
            }
            Ok(out.trim_end().to_string())
        }
        other => Err(format!("unknown command {other}; try /help").into()),
    }
}

pub const CONSOLE_HELP: &str = "\
/all EVENT [JSON]        emit to every client
/to ID EVENT [JSON]      emit to one client (its id is the room it is in)
/room NAME EVENT [JSON]  emit to everyone in a room
/ack ID EVENT [JSON]     emit to one client and wait for its acknowledgement
/list                    the clients connected to this server";

fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

/// A console argument: JSON if it parses, else the text as a string; nothing is `null`.
pub fn json_arg(s: &str) -> Value {
    let s = s.trim();
    if s.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_are_checked() {
        assert_eq!(check_room(&json!("lab")), Ok("lab".into()));
        assert!(check_room(&json!("")).is_err());
        assert!(check_room(&json!(7)).is_err());
        assert!(check_room(&json!("x".repeat(65))).is_err());
        assert!(check_room(&json!(PublicId::new().to_string())).is_err());
    }

    #[test]
    fn redis_urls_get_resp3() {
        assert_eq!(
            resp3_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379/?protocol=resp3"
        );
        assert_eq!(
            resp3_url("redis://127.0.0.1:6379/"),
            "redis://127.0.0.1:6379/?protocol=resp3"
        );
        assert_eq!(resp3_url("redis://h:1/2"), "redis://h:1/2?protocol=resp3");
        assert_eq!(
            resp3_url("redis://h:1/0?x=1"),
            "redis://h:1/0?x=1&protocol=resp3"
        );
        assert_eq!(
            resp3_url("redis://h:1/?protocol=RESP3"),
            "redis://h:1/?protocol=RESP3"
        );
    }

    #[test]
    fn console_arguments() {
        assert_eq!(split_word("  /to abc  hi there"), ("/to", "abc  hi there"));
        assert_eq!(json_arg("{\"a\":1}"), json!({"a": 1}));
        assert_eq!(json_arg("hello world"), json!("hello world"));
        assert_eq!(json_arg(""), Value::Null);
    }
}
