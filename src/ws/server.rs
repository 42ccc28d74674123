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
//! A server facing the network must refuse what it cannot handle, and say why:
//!
//! * a bad handshake gets `400 Bad Request` with the reason in the body;
//! * a message larger than `max_message` (16 MiB by default) closes the connection with code
//!   1009 (*message too big*): tungstenite stops reading it as soon as the header announces
//!   the length, so the bytes are never buffered;
//! * an unmasked frame from a client, or any other breach of RFC 6455, closes with 1002
//!   (*protocol error*); text that is not UTF-8 with 1007;
//! * a client silent for `idle_timeout` is closed with 1001 (*going away*).
//!
//! Every message the server accepts is delivered: each client has its own unbounded queue,
//! so a slow reader delays only itself and loses nothing.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::handshake;
use super::labels;
use super::tap::{Event, Found, Tap, Watcher};
use crate::dissect::http::{self, HeadError};
use crate::dissect::websocket::Dir;

/// The chat page served at `/`: our own HTML and JavaScript, using the browser's WebSocket.
pub const PAGE: &str = include_str!("page.html");

/// The default largest message: 16 MiB.
pub const DEFAULT_MAX_MESSAGE: usize = 16 << 20;

/// How long a client may take to send its HTTP head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait for the peer's close frame after sending ours.
const CLOSE_WAIT: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Echo,
    Chat,
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub mode: Mode,
    pub max_message: usize,
    pub idle_timeout: Option<Duration>,
    /// Payload bytes of each frame kept for showing; 0 with `events: None` costs nothing.
    pub preview: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            mode: Mode::Echo,
            max_message: DEFAULT_MAX_MESSAGE,
            idle_timeout: None,
            preview: 4096,
        }
    }
}

/// The chat room: every connected client's queue.
#[derive(Default)]
struct Hub {
    clients: Mutex<HashMap<u64, UnboundedSender<Message>>>,
}

impl Hub {
    fn join(&self, id: u64, tx: UnboundedSender<Message>) {
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, tx);
    }

    fn leave(&self, id: u64) {
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    fn is_empty(&self) -> bool {
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Queue a message for everyone. The lock keeps the order the same for all clients.
    fn broadcast(&self, msg: &Message) {
        let clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        for tx in clients.values() {
            let _ = tx.send(msg.clone());
        }
    }
}

/// The tungstenite settings for a server connection.
pub fn ws_config(max_message: usize) -> WebSocketConfig {
    // The read buffer is allocated up front for every connection: 8 KiB keeps ten thousand
    // idle connections in 80 MiB instead of tungstenite's default 128 KiB each (1.25 GiB).
    WebSocketConfig::default()
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message))
        .read_buffer_size(8 * 1024)
        .write_buffer_size(64 * 1024)
}

/// Accept connections until `shutdown` completes; then ask every open connection to close
/// (1001, going away) and wait for them.
pub async fn serve(
    listener: TcpListener,
    cfg: ServerConfig,
    events: Option<UnboundedSender<Event>>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let hub = Arc::new(Hub::default());
    // The clients that asked for the `wirelab.chat` subprotocol: they get each message
    // wrapped with its sender's name (see `super::labels`).
    let labelled = Arc::new(Hub::default());
    let cfg = Arc::new(cfg);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let mut next_id = 0u64;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(x) => x,
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    Err(_) => { tokio::time::sleep(Duration::from_millis(50)).await; continue; }
                };
                let _ = stream.set_nodelay(true);
                next_id += 1;
                let conn = Connection {
                    id: next_id,
                    cfg: cfg.clone(),
                    hub: hub.clone(),
                    labelled: labelled.clone(),
                    wants_labels: false,
                    events: events.clone(),
                    stop: stop_rx.clone(),
                };
                tasks.spawn(conn.run(stream));
            }
            // Reap finished connections so the set does not grow forever.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

struct Connection {
    id: u64,
    cfg: Arc<ServerConfig>,
    hub: Arc<Hub>,
    labelled: Arc<Hub>,
    /// The client asked for the `wirelab.chat` subprotocol.
    wants_labels: bool,
    events: Option<UnboundedSender<Event>>,
    stop: watch::Receiver<bool>,
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
                Some(Watcher::new(
                    self.id,
                    Dir::ClientToServer,
                    self.cfg.preview,
                    tx.clone(),
                )),
                Some(Watcher::new(
                    self.id,
                    Dir::ServerToClient,
                    self.cfg.preview,
                    tx.clone(),
                )),
            ),
            None => (None, None),
        };
        let mut tap = Tap::new(stream, reads, writes);
        let mut buf = Vec::with_capacity(1024);
        let head = loop {
            match http::parse_head(&buf) {
                Ok(h) => break h,
                Err(HeadError::Incomplete) => {}
                Err(e) => {
                    let why = format!("the request is not valid HTTP/1.1: {e}");
                    self.refuse(&mut tap, 400, "Bad Request", &why, "").await;
                    return;
                }
            }
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout(HEAD_TIMEOUT, tap.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
                Err(_) => {
                    let why = "the request head did not arrive within 10 seconds";
                    self.refuse(&mut tap, 408, "Request Timeout", why, "").await;
                    return;
                }
            }
        };
        let rest = buf.split_off(head.len);
        let path = head.uri(&buf).unwrap_or("").split('?').next().unwrap_or("");
        match (head.method(&buf), path) {
            (Some("GET"), "/" | "/index.html") if !head.is_websocket_upgrade(&buf) => {
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
                    let resp = if self.wants_labels {
                        self.note(format!("subprotocol {} agreed", labels::PROTOCOL));
                        labels::switching_protocols(&key)
                    } else {
                        handshake::switching_protocols(&key)
                    };
                    if tap.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                    let ws = WebSocketStream::from_partially_read(
                        tap,
                        rest,
                        Role::Server,
                        Some(ws_config(self.cfg.max_message)),
                    )
                    .await;
                    self.session(ws).await;
                }
                Err(why) => {
                    let extra = if why.contains("version 13") || why.contains("must be 13") {
                        "Sec-WebSocket-Version: 13\r\n"
                    } else {
                        ""
                    };
                    self.refuse(&mut tap, 400, "Bad Request", &why, extra).await;
                }
            },
            (Some("GET"), _) => {
                let why = format!(
                    "there is nothing at {path:?}: the page is at / and the WebSocket at /ws"
                );
                self.refuse(&mut tap, 404, "Not Found", &why, "").await;
            }
            (m, _) => {
                let why = format!(
                    "this server answers GET only, not {}",
                    m.unwrap_or("a response")
                );
                self.refuse(&mut tap, 405, "Method Not Allowed", &why, "Allow: GET\r\n")
                    .await;
            }
        }
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

    /// The WebSocket session: echo or chat until someone closes.
    async fn session(mut self, mut ws: WebSocketStream<Tap<TcpStream>>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
        if self.cfg.mode == Mode::Chat && self.wants_labels {
            let _ = tx.send(labels::welcome(self.id));
            self.labelled.join(self.id, tx);
        } else if self.cfg.mode == Mode::Chat {
            self.hub.join(self.id, tx);
        }
        let idle = self.cfg.idle_timeout;
        let close = loop {
            let sleep = async {
                match idle {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                incoming = ws.next() => match incoming {
                    None => break None,
                    Some(Err(e)) => break close_for(&e),
                    Some(Ok(msg)) => {
                        if let Err(e) = self.handle(&mut ws, msg).await {
                            break close_for(&e);
                        }
                        // Answer everything that has already arrived, then write it all at
                        // once: one system call for many small messages.
                        let mut failed = None;
                        while let Some(Some(next)) = ws.next().now_or_never() {
                            match next {
                                Ok(m) => if let Err(e) = self.handle(&mut ws, m).await { failed = Some(e); break; },
                                Err(e) => { failed = Some(e); break; }
                            }
                        }
                        if let Some(e) = failed {
                            break close_for(&e);
                        }
                        if let Err(e) = ws.flush().await {
                            break close_for(&e);
                        }
                    }
                },
                Some(out) = rx.recv() => {
                    let mut result = ws.feed(out).await;
                    while let (Ok(()), Some(more)) = (&result, rx.try_recv().ok()) {
                        result = ws.feed(more).await;
                    }
                    if let Err(e) = result.and(ws.flush().await) {
                        break close_for(&e);
                    }
                }
                _ = sleep => {
                    let secs = idle.map(|d| d.as_secs_f64()).unwrap_or(0.0);
                    self.note(format!("closing: idle for {secs} s"));
                    break Some(CloseFrame { code: CloseCode::Away, reason: Utf8Bytes::from(format!("idle for {secs} s")) });
                }
                _ = self.stop.changed() => {
                    break Some(CloseFrame { code: CloseCode::Away, reason: Utf8Bytes::from_static("server shutting down") });
                }
            }
        };
        if self.cfg.mode == Mode::Chat {
            self.hub.leave(self.id);
            self.labelled.leave(self.id);
        }
        if let Some(frame) = close {
            self.note(format!(
                "closing with {} ({})",
                u16::from(frame.code),
                frame.reason
            ));
            if ws.close(Some(frame)).await.is_ok() {
                // Wait (briefly) for the client's close frame, as the closing handshake asks.
                let _ = tokio::time::timeout(CLOSE_WAIT, async {
                    while let Some(Ok(_)) = ws.next().await {}
                })
                .await;
            }
        }
    }

    /// React to one message. Pings are answered by tungstenite itself; a close from the
    /// client is echoed back by tungstenite too, and the next read ends the loop.
    async fn handle(
        &mut self,
        ws: &mut WebSocketStream<Tap<TcpStream>>,
        msg: Message,
    ) -> Result<(), WsError> {
        match msg {
            Message::Text(_) | Message::Binary(_) => match self.cfg.mode {
                Mode::Echo => ws.feed(msg).await,
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
