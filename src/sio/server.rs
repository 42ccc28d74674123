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

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use axum::serve::ListenerExt;
use futures_util::StreamExt;
use serde_json::{Value, json};
use socketioxide::adapter::{Adapter, Emitter, LocalAdapter};
use socketioxide::extract::{AckSender, Event, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::socket::DisconnectReason;
use socketioxide::{ParserConfig, SocketIo};
use socketioxide_redis::drivers::redis::redis_client;
use socketioxide_redis::{RedisAdapter, RedisAdapterCtr};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::id::{ID_BITS, ID_CHARS, PublicId, looks_like_id};
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
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
struct Shared {
    name: Arc<str>,
    log: Log,
    verbose: bool,
}

impl Shared {
    fn log(&self, line: String) {
        (self.log)(line)
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

/// One answer to a server's ack request: which Engine.IO session answered (socketioxide's
/// internal id) and what it said.
pub type AckAnswer = (String, Result<Value, String>);

impl Io {
    /// Emit `event` with `data` to a target.
    pub async fn emit(&self, target: &Target, event: &str, data: &Value) -> Result<(), Error> {
        with_io!(self, io => match target {
            Target::All => io.emit(event, data).await.map_err(|e| e.to_string())?,
            Target::Room(r) => io.to(r.clone()).emit(event, data).await.map_err(|e| e.to_string())?,
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
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Close every connection and stop serving.
    pub async fn stop(mut self) {
        self.io.close().await;
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        // Connections that outlive the close (a half-open browser tab) are not waited for.
        if tokio::time::timeout(Duration::from_secs(2), &mut self.task)
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
    let shared = Shared {
        name: opts.name.as_str().into(),
        log,
        verbose: opts.verbose,
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
    // Chat messages are small and should leave at once: turn off Nagle's algorithm, which
    // would hold a small write back while an earlier one is unacknowledged.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    Ok(Running {
        addr,
        io,
        name: opts.name.clone(),
        stop: Some(tx),
        task,
    })
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
async fn setup<A: Adapter>(socket: SocketRef<A>) -> Result<(), Infallible> {
    let id = PublicId::new();
    socket.extensions.insert(id.clone());
    // Socket.IO's convention: every socket is in the room named by its own id, so "send to
    // one client" is "send to that room". socketioxide leaves this to the application.
    socket.join(id.to_string());
    socket.on("chat", on_chat::<A>);
    socket.on("whisper", on_whisper::<A>);
    socket.on("join", on_join::<A>);
    socket.on("leave", on_leave::<A>);
    socket.on("room", on_room::<A>);
    socket.on("shout", on_shout::<A>);
    socket.on("echo", on_echo::<A>);
    socket.on("watch", super::roster::on_watch::<A>);
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
    super::roster::changed(io, None);
}

/// Reply through the ack, if the client asked for one (does nothing otherwise).
fn reply<A: Adapter>(ack: AckSender<A>, v: Value) {
    let _ = ack.send(&v);
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
    let text = arg(data);
    if sh.verbose {
        sh.log(format!("chat        {from} → everyone: {}", text_of(&text)));
    }
    let r = io
        .emit("chat", &json!({ "from": from, "text": text }))
        .await;
    reply(ack, json!({ "ok": r.is_ok() }));
}

async fn on_whisper<A: Adapter>(
    socket: SocketRef<A>,
    io: SocketIo<A>,
    data: TryData<Value>,
    ack: AckSender<A>,
    State(sh): State<Shared>,
) {
    let from = id_of(&socket);
    let v = arg(data);
    let to = v.get("to").and_then(Value::as_str).unwrap_or("");
    if !looks_like_id(to) {
        sh.log(format!(
            "whisper     {from}: refused, \"to\" must be a socket id, got {}",
            v.get("to").unwrap_or(&Value::Null)
        ));
        return reply(
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
    let r = io
        .to(to.to_string())
        .emit("whisper", &json!({ "from": from, "text": text }))
        .await;
    reply(ack, json!({ "ok": r.is_ok() }));
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
    match check_room(&arg(data)) {
        Ok(room) => {
            socket.join(room.clone());
            super::roster::changed(io, None);
            sh.log(format!("join        {from} joins room \"{room}\""));
            reply(ack, json!({ "ok": true, "room": room }));
        }
        Err(e) => {
            sh.log(format!("join        {from}: refused: {e}"));
            reply(ack, error(e));
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
    match check_room(&arg(data)) {
        Ok(room) => {
            socket.leave(room.clone());
            super::roster::changed(io, None);
            sh.log(format!("leave       {from} leaves room \"{room}\""));
            reply(ack, json!({ "ok": true, "room": room }));
        }
        Err(e) => reply(ack, error(e)),
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
    let v = arg(data);
    let room = match check_room(v.get("room").unwrap_or(&Value::Null)) {
        Ok(r) => r,
        Err(e) => {
            sh.log(format!("room        {from}: refused: {e}"));
            return reply(ack, error(e));
        }
    };
    let text = v.get("text").cloned().unwrap_or(Value::Null);
    if sh.verbose {
        sh.log(format!(
            "room        {from} → room \"{room}\": {}",
            text_of(&text)
        ));
    }
    let r = io
        .to(room.clone())
        .emit("room", &json!({ "from": from, "room": room, "text": text }))
        .await;
    reply(ack, json!({ "ok": r.is_ok() }));
}

async fn on_shout<A: Adapter>(
    socket: SocketRef<A>,
    data: TryData<Value>,
    ack: AckSender<A>,
    State(sh): State<Shared>,
) {
    let from = id_of(&socket);
    let text = arg(data);
    if sh.verbose {
        sh.log(format!(
            "shout       {from} → everyone but the sender: {}",
            text_of(&text)
        ));
    }
    let r = socket
        .broadcast()
        .emit("shout", &json!({ "from": from, "text": text }))
        .await;
    reply(ack, json!({ "ok": r.is_ok() }));
}

async fn on_echo<A: Adapter>(
    socket: SocketRef<A>,
    data: TryData<Value>,
    ack: AckSender<A>,
    State(sh): State<Shared>,
) {
    let from = id_of(&socket);
    let v = arg(data);
    if sh.verbose {
        sh.log(format!(
            "echo        {from} asks for an ack; answering with its data"
        ));
    }
    reply(ack, json!({ "echo": v, "server": &*sh.name }));
}

async fn on_unhandled<A: Adapter>(
    socket: SocketRef<A>,
    Event(event): Event,
    State(sh): State<Shared>,
) {
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
    super::roster::changed(io, Some(id_of(&socket)));
    sh.log(format!("disconnect  {}: {reason}", id_of(&socket)));
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
