//! wirelab's own Socket.IO client: Engine.IO v4 and Socket.IO v5 over one WebSocket.
//!
//! # The idea
//!
//! A Socket.IO client is a small protocol machine on top of a WebSocket:
//!
//! ```text
//!  client                                   server
//!    │ GET /socket.io/?EIO=4&transport=websocket (HTTP Upgrade)
//!    │◀── 0{"sid":…,"pingInterval":25000,…}   Engine.IO open: the session exists
//!    │──▶ 40                                  Socket.IO connect to namespace "/"
//!    │◀── 40{"sid":…}                         accepted: the socket's id
//!    │◀── 2           ──▶ 3                   Engine.IO ping / pong, every pingInterval
//!    │──▶ 42["chat","hi"]                     an event
//!    │──▶ 421["echo",{}]  ◀── 431[{…}]        an event asking for an ack, and the ack
//!    │◀── 420["ask",…]    ──▶ 430[…]          the server asks *us* for an ack; we answer
//!    │──▶ 41  then WebSocket close            leave the namespace, end the session
//! ```
//!
//! Everything here is that machine and nothing more, so every packet can be shown raw: a
//! tracer (see [`ClientOptions::trace`]) sees each text message exactly as it went over the
//! WebSocket. Only the WebSocket transport is spoken (no long-polling).
//!
//! Unlike rust_socketio 0.6, this client answers the server's ack requests: a responder
//! function ([`ClientOptions::responder`]) makes the answer.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::Error;
use crate::dissect::engineio::{self, Handshake};
use crate::dissect::socketio::{self, Packet, PacketType};

/// Which way a packet went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Sent,
    Received,
}

impl Dir {
    pub fn arrow(self) -> &'static str {
        match self {
            Dir::Sent => "→",
            Dir::Received => "←",
        }
    }
}

/// One WebSocket message as it went over the wire.
#[derive(Clone, Debug)]
pub struct Trace {
    pub dir: Dir,
    /// The text message, or `<binary: N bytes>`.
    pub text: String,
}

/// Makes the answer to a server's ack request: gets the event name and arguments, returns the
/// ack's arguments.
pub type Responder = Arc<dyn Fn(&str, &[Value]) -> Vec<Value> + Send + Sync>;

/// How to connect.
#[derive(Clone, Default)]
pub struct ClientOptions {
    /// The namespace to join; `/` when empty.
    pub namespace: String,
    /// The auth object sent with the connect packet.
    pub auth: Option<Value>,
    /// Where to send a copy of every packet, raw.
    pub trace: Option<mpsc::UnboundedSender<Trace>>,
    /// Who answers the server's ack requests; without one, a default answer
    /// `{"ok": true, "event": NAME}` is sent.
    pub responder: Option<Responder>,
    /// The Socket.IO path on the server; `/socket.io/` when empty.
    pub path: String,
}

/// An event the server sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub name: String,
    pub args: Vec<Value>,
    /// The server asked for an ack (already answered by the responder).
    pub ack_id: Option<u64>,
}

impl Event {
    /// The first argument, or `null`.
    pub fn arg(&self) -> &Value {
        self.args.first().unwrap_or(&Value::Null)
    }
}

/// What the client hears, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    Event(Event),
    /// The session ended; why.
    Closed(String),
}

type AckMap = Arc<Mutex<HashMap<u64, oneshot::Sender<Vec<Value>>>>>;

/// A connected Socket.IO client.
pub struct Client {
    out: mpsc::UnboundedSender<Message>,
    incoming: mpsc::UnboundedReceiver<Incoming>,
    acks: AckMap,
    next_ack: AtomicU64,
    namespace: String,
    trace: Option<mpsc::UnboundedSender<Trace>>,
    /// The Engine.IO handshake (session id, ping timing, payload limit).
    pub handshake: Handshake,
    /// The socket id the server gave in its CONNECT answer.
    pub socket_id: String,
    tasks: Vec<JoinHandle<()>>,
}

/// Turn what the user typed (`http://127.0.0.1:3000`, `ws://host:port/ns`, `host:port`) into
/// the WebSocket URL of the Engine.IO endpoint, and the namespace named by its path.
pub fn endpoint(url: &str, path: &str) -> Result<(String, String), Error> {
    let (scheme, rest) = match url.split_once("://") {
        Some(("http" | "ws", r)) => ("ws", r),
        Some(("https" | "wss", r)) => ("wss", r),
        Some((other, _)) => {
            return Err(
                format!("{url}: the scheme must be http, https, ws or wss, not {other}").into(),
            );
        }
        None => ("ws", url),
    };
    let (host, ns) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if host.is_empty() {
        return Err(format!("{url}: no host").into());
    }
    let path = if path.is_empty() { "/socket.io/" } else { path };
    let ns = if ns.is_empty() || ns.starts_with("/socket.io") {
        "/"
    } else {
        ns
    };
    Ok((
        format!("{scheme}://{host}{path}?EIO=4&transport=websocket"),
        ns.to_string(),
    ))
}

impl Client {
    /// Connect: open the WebSocket, read the Engine.IO open packet, connect to the namespace
    /// and wait for the server to accept.
    pub async fn connect(url: &str, opts: ClientOptions) -> Result<Client, Error> {
        let (ws_url, url_ns) = endpoint(url, &opts.path)?;
        let namespace = if opts.namespace.is_empty() {
            url_ns
        } else {
            opts.namespace.clone()
        };
        let (ws, _) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async_with_config(ws_url.as_str(), None, true),
        )
        .await
        .map_err(|_| format!("{ws_url}: no answer within 10 s"))?
        .map_err(|e| format!("{ws_url}: {e}"))?;
        let (mut sink, mut stream) = ws.split();
        let trace = opts.trace.clone();
        let tr = |dir: Dir, text: &str| {
            if let Some(t) = &trace {
                let _ = t.send(Trace {
                    dir,
                    text: text.to_string(),
                });
            }
        };

        // 1. Engine.IO open.
        let open = next_text(&mut stream).await?;
        tr(Dir::Received, &open);
        let handshake = match open.strip_prefix('0') {
            Some(json) => engineio::handshake(json.as_bytes())?,
            None => {
                return Err(format!(
                    "the server's first packet must be Engine.IO open (0{{…}}), got {open:?}"
                )
                .into());
            }
        };

        // 2. Socket.IO connect, and the server's answer.
        let mut connect = Packet::new(PacketType::Connect);
        connect.namespace = namespace.clone();
        connect.payload = opts.auth.clone();
        let text = format!("4{}", connect.encode());
        tr(Dir::Sent, &text);
        sink.send(Message::Text(text.into())).await?;
        let socket_id = loop {
            let text = next_text(&mut stream).await?;
            tr(Dir::Received, &text);
            if let Some(data) = text.strip_prefix('2') {
                let pong = format!("3{data}");
                tr(Dir::Sent, &pong);
                sink.send(Message::Text(pong.into())).await?;
                continue;
            }
            let Some(sio) = text.strip_prefix('4') else {
                return Err(format!("expected the server's CONNECT answer, got {text:?}").into());
            };
            let p = socketio::parse(sio.as_bytes())
                .map_err(|e| format!("the server's CONNECT answer is malformed: {e}"))?;
            match p.kind {
                PacketType::Connect => {
                    break p
                        .payload
                        .as_ref()
                        .and_then(|v| v.get("sid"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                }
                PacketType::ConnectError => {
                    return Err(format!(
                        "the server refused the connect: {}",
                        p.payload.unwrap_or(Value::Null)
                    )
                    .into());
                }
                // Events can arrive right after the CONNECT answer in the same burst, but
                // never before it.
                _ => {
                    return Err(
                        format!("expected the server's CONNECT answer, got {text:?}").into(),
                    );
                }
            }
        };

        // 3. From now on: a writer task and a reader task.
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let writer = tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                let close = matches!(m, Message::Close(_));
                if sink.send(m).await.is_err() || close {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        let acks: AckMap = Arc::default();
        let reader = tokio::spawn(read_loop(
            stream,
            out_tx.clone(),
            in_tx,
            acks.clone(),
            trace.clone(),
            opts.responder.clone(),
            namespace.clone(),
        ));
        Ok(Client {
            out: out_tx,
            incoming: in_rx,
            acks,
            next_ack: AtomicU64::new(0),
            namespace,
            trace,
            handshake,
            socket_id,
            tasks: vec![writer, reader],
        })
    }

    /// Send one text message as it is (an Engine.IO packet), traced like the others. This is
    /// how tests send broken packets on purpose.
    pub fn send_raw(&self, text: &str) -> Result<(), Error> {
        if let Some(t) = &self.trace {
            let _ = t.send(Trace {
                dir: Dir::Sent,
                text: text.to_string(),
            });
        }
        self.out
            .send(Message::Text(text.to_string().into()))
            .map_err(|_| "the connection is closed".into())
    }

    fn send_packet(&self, mut p: Packet) -> Result<(), Error> {
        p.namespace = self.namespace.clone();
        self.send_raw(&format!("4{}", p.encode()))
    }

    /// Emit an event with arguments, not asking for an ack.
    pub fn emit(&self, event: &str, args: &[Value]) -> Result<(), Error> {
        self.send_packet(Packet::event(event, args, None))
    }

    /// Emit an event asking for an ack, and wait for the answer.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        args: &[Value],
        timeout: Duration,
    ) -> Result<Vec<Value>, Error> {
        let id = self.next_ack.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.acks.lock().expect("ack map").insert(id, tx);
        self.send_packet(Packet::event(event, args, Some(id)))?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => {
                Err(format!("the connection closed before the ack for {event:?} came").into())
            }
            Err(_) => {
                self.acks.lock().expect("ack map").remove(&id);
                Err(format!("no ack for {event:?} (ack id {id}) within {timeout:?}").into())
            }
        }
    }

    /// The next thing heard, waiting at most `timeout`. `None` on timeout.
    pub async fn next(&mut self, timeout: Duration) -> Option<Incoming> {
        match tokio::time::timeout(timeout, self.incoming.recv()).await {
            Ok(Some(i)) => Some(i),
            Ok(None) => Some(Incoming::Closed("the connection ended".into())),
            Err(_) => None,
        }
    }

    /// Wait for the next event named `name`, keeping the others aside in `skipped`.
    pub async fn wait_for(
        &mut self,
        name: &str,
        timeout: Duration,
        skipped: &mut Vec<Incoming>,
    ) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await? {
                Incoming::Event(e) if e.name == name => return Some(e),
                Incoming::Closed(why) => {
                    skipped.push(Incoming::Closed(why));
                    return None;
                }
                other => skipped.push(other),
            }
        }
    }

    /// Everything heard until nothing more arrives for `quiet`.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Incoming> {
        let mut v = Vec::new();
        while let Some(i) = self.next(quiet).await {
            let closed = matches!(i, Incoming::Closed(_));
            v.push(i);
            if closed {
                break;
            }
        }
        v
    }

    /// Leave the namespace and close the WebSocket.
    pub async fn close(mut self) {
        let _ = self.send_packet(Packet::new(PacketType::Disconnect));
        let _ = self.out.send(Message::Close(None));
        for t in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

type WsStream = futures_util::stream::SplitStream<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
>;

async fn next_text(stream: &mut WsStream) -> Result<String, Error> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
            Err(_) => return Err("the server said nothing for 10 s".into()),
            Ok(None) => return Err("the server closed the connection".into()),
            Ok(Some(Err(e))) => return Err(e.into()),
            Ok(Some(Ok(Message::Text(t)))) => return Ok(t.as_str().to_string()),
            Ok(Some(Ok(Message::Close(c)))) => {
                return Err(format!("the server closed the WebSocket: {c:?}").into());
            }
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// The default answer to a server's ack request.
pub fn default_answer(event: &str, _args: &[Value]) -> Vec<Value> {
    vec![serde_json::json!({ "ok": true, "event": event, "by": "wirelab sio connect" })]
}

async fn read_loop(
    mut stream: WsStream,
    out: mpsc::UnboundedSender<Message>,
    incoming: mpsc::UnboundedSender<Incoming>,
    acks: AckMap,
    trace: Option<mpsc::UnboundedSender<Trace>>,
    responder: Option<Responder>,
    namespace: String,
) {
    let tr = |dir: Dir, text: &str| {
        if let Some(t) = &trace {
            let _ = t.send(Trace {
                dir,
                text: text.to_string(),
            });
        }
    };
    let send = |text: String| {
        tr(Dir::Sent, &text);
        let _ = out.send(Message::Text(text.into()));
    };
    let why = loop {
        let msg = match stream.next().await {
            None => break "the server closed the connection".to_string(),
            Some(Err(e)) => break format!("the connection failed: {e}"),
            Some(Ok(m)) => m,
        };
        let text = match msg {
            Message::Text(t) => t.as_str().to_string(),
            Message::Binary(b) => {
                tr(Dir::Received, &format!("<binary: {} bytes>", b.len()));
                continue;
            }
            Message::Close(c) => {
                break match c {
                    Some(c) => format!(
                        "the server closed the WebSocket ({} {})",
                        u16::from(c.code),
                        c.reason
                    ),
                    None => "the server closed the WebSocket".into(),
                };
            }
            _ => continue,
        };
        tr(Dir::Received, &text);
        match text.as_bytes().first() {
            // Engine.IO ping: answer with a pong carrying the same data.
            Some(b'2') => send(format!("3{}", &text[1..])),
            Some(b'1') => break "the server closed the Engine.IO session".into(),
            Some(b'4') => {
                let Ok(p) = socketio::parse(&text.as_bytes()[1..]) else {
                    continue; // shown raw by the tracer; nothing to act on
                };
                if p.namespace != namespace {
                    continue;
                }
                match p.kind {
                    PacketType::Event | PacketType::BinaryEvent => {
                        let name = p.event.clone().unwrap_or_default();
                        let args = p.args().to_vec();
                        if let Some(id) = p.ack_id {
                            let answer = match &responder {
                                Some(r) => r(&name, &args),
                                None => default_answer(&name, &args),
                            };
                            let mut ack = Packet::ack(id, &answer);
                            ack.namespace = namespace.clone();
                            send(format!("4{}", ack.encode()));
                        }
                        let _ = incoming.send(Incoming::Event(Event {
                            name,
                            args,
                            ack_id: p.ack_id,
                        }));
                    }
                    PacketType::Ack | PacketType::BinaryAck => {
                        if let Some(id) = p.ack_id
                            && let Some(tx) = acks.lock().expect("ack map").remove(&id)
                        {
                            let _ = tx.send(p.args().to_vec());
                        }
                    }
                    PacketType::Disconnect => {
                        break "the server disconnected this socket".into();
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    };
    let _ = incoming.send(Incoming::Closed(why));
    acks.lock().expect("ack map").clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            endpoint("http://127.0.0.1:3000", "").unwrap(),
            (
                "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket".into(),
                "/".into()
            )
        );
        assert_eq!(endpoint("localhost:1/admin", "").unwrap().1, "/admin");
        assert!(endpoint("ftp://x", "").is_err());
        assert!(endpoint("http:///x", "").is_err());
    }
}
