//! `wirelab ws echo`: the WebSocket lesson.
//!
//! A server and a client, both real (tokio-tungstenite), run inside this process on
//! 127.0.0.1. The client's connection is watched byte for byte, and the lesson walks through
//! what crossed it:
//!
//! 1. the HTTP Upgrade request and the `101 Switching Protocols` answer;
//! 2. Sec-WebSocket-Key → Sec-WebSocket-Accept, worked out step by step;
//! 3. three messages, of 5, 300 and 70,000 bytes, so the payload length appears in its
//!    7-, 16- and 64-bit forms, each sent masked and echoed back unmasked;
//! 4. a ping and its pong;
//! 5. the closing handshake, with a code and a reason.
//!
//! Every frame is shown by the project's views, from the same fields the capture dissector
//! produces; the lesson's own text only points at those fields.
//!
//! Where it runs is the caller's choice (`wirelab ws echo`, in `commands::ws`): in the lab, the server
//! listens on the server host and the client connects from the client host, and the frames
//! are also captured on the cable between them; on 127.0.0.1, the byte tap alone shows them.

use std::time::Duration;

use futures_util::SinkExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc::{self, UnboundedReceiver};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};

use super::client;
use super::handshake;
use super::server::{self, Mode, ServerConfig};
use super::show::Shower;
use super::tap::{Event, Found};
use crate::Error;
use crate::dissect::Dissection;
use crate::dissect::model::Value;
use crate::dissect::websocket::Dir;

/// How long to wait for a frame the lesson expects.
const WAIT: Duration = Duration::from_secs(10);

/// Wait for the next HTTP head or frame going `dir`, printing notes on the way.
async fn next_in(rx: &mut UnboundedReceiver<Event>, dir: Dir) -> Result<Box<Dissection>, Error> {
    loop {
        let e = tokio::time::timeout(WAIT, rx.recv())
            .await
            .map_err(|_| "the lesson waited 10 s for a frame that did not come")?
            .ok_or("the connection's watcher stopped")?;
        if e.dir != dir {
            continue;
        }
        match e.what {
            Found::Http(d) | Found::Frame { d, .. } => return Ok(d),
            Found::Garbage { why, .. } => return Err(why.into()),
            Found::Note(_) => {}
        }
    }
}

fn text_of(d: &Dissection, name: &str) -> Option<String> {
    match &d.field(name)?.value {
        Value::Text(t) => Some(t.clone()),
        _ => d.field(name).map(|f| f.tshark(&d.data)),
    }
}

fn hex_bytes(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the lesson says about one frame, read from its fields.
fn explain_frame(d: &Dissection) -> Vec<String> {
    let num = |n| d.uint(n);
    let mut out = Vec::new();
    let op = num("websocket.opcode").unwrap_or(0) as u8;
    out.push(format!(
        "  websocket.fin = {}: {}",
        num("websocket.fin").unwrap_or(0),
        if num("websocket.fin") == Some(1) {
            "this frame ends its message"
        } else {
            "more fragments follow"
        }
    ));
    out.push(format!(
        "  websocket.rsv = {}: no extension was agreed, so the three reserved bits are 0",
        text_of(d, "websocket.rsv").unwrap_or_default()
    ));
    out.push(format!(
        "  websocket.opcode = {op}: {}",
        crate::dissect::websocket::opcode_name(op)
    ));
    let len7 = num("websocket.payload_length").unwrap_or(0);
    match (
        num("websocket.payload_length_ext_16"),
        num("websocket.payload_length_ext_64"),
    ) {
        (Some(n), _) => out.push(format!(
            "  websocket.payload_length = {len7}, so the next 16 bits hold the length: websocket.payload_length_ext_16 = {n}"
        )),
        (_, Some(n)) => out.push(format!(
            "  websocket.payload_length = {len7}, so the next 64 bits hold the length: websocket.payload_length_ext_64 = {n}"
        )),
        _ => out.push(format!(
            "  websocket.payload_length = {len7}: up to 125 fits in the 7-bit field itself"
        )),
    }
    if num("websocket.mask") == Some(1) {
        let key = d
            .field("websocket.masking_key")
            .and_then(|f| d.data.get(f.range()))
            .unwrap_or(&[]);
        out.push(format!(
            "  websocket.mask = 1, websocket.masking_key = {}: the client masks the payload of every frame it sends (RFC 6455 §5.3)",
            hex_bytes(key)
        ));
        if let (Some(p), true) = (d.field("websocket.masked_payload"), key.len() == 4) {
            let masked = d.data.get(p.range()).unwrap_or(&[]);
            let n = masked.len().min(6);
            let plain: Vec<u8> = masked[..n]
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ key[i % 4])
                .collect();
            out.push(format!(
                "  masked payload   {}{}",
                hex_bytes(&masked[..n]),
                if masked.len() > n { " …" } else { "" }
            ));
            out.push(format!(
                "  XOR key, repeated {}{}",
                hex_bytes(&(0..n).map(|i| key[i % 4]).collect::<Vec<_>>()),
                if masked.len() > n { " …" } else { "" }
            ));
            let as_text = if plain.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
                format!(" {:?}", String::from_utf8_lossy(&plain))
            } else {
                String::new()
            };
            out.push(format!(
                "  = unmasked       {}{as_text}{}",
                hex_bytes(&plain),
                if masked.len() > n { " …" } else { "" }
            ));
        }
    } else {
        out.push(
            "  websocket.mask = 0: servers never mask, the payload is readable as it is".into(),
        );
    }
    out
}

/// How many payload bytes of each frame the lesson shows by default: enough to see the
/// masking and the first bytes of a message, not 70,000 bytes of hex (`ws echo --full`
/// passes [`server::DEFAULT_MAX_MESSAGE`] to show them all).
pub const SHORT_PREVIEW: usize = 64;

/// Run the lesson, printing through `shower`, showing the first `preview` payload bytes of
/// each frame. `pause` is called between steps (for `--step`).
pub async fn run(
    shower: &mut Shower<impl std::io::Write>,
    listener: TcpListener,
    preview: usize,
    mut pause: impl FnMut(),
) -> Result<(), Error> {
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(
        listener,
        ServerConfig {
            mode: Mode::Echo,
            ..ServerConfig::default()
        },
        None,
        async {
            let _ = stop_rx.await;
        },
    ));
    let url = format!("ws://{addr}/ws");
    let (tx, mut rx) = mpsc::unbounded_channel();

    shower.note(&format!(
        "WebSocket lesson. A server is listening on {addr} (an echo server: it sends every\n\
         message back). A client connects to {url}; every byte between them is shown.\n\
         A WebSocket is one TCP connection on which both sides may send at any time (full\n\
         duplex). It starts as an HTTP request.\n"
    ))?;
    pause();

    // Keep the first `preview` bytes of each payload for showing.
    let mut ws = client::connect(&url, 1, Some(tx), preview, server::DEFAULT_MAX_MESSAGE).await?;

    // 1. The handshake.
    shower.note("── 1. The opening handshake: an HTTP GET asking to upgrade ──")?;
    let req = next_in(&mut rx, Dir::ClientToServer).await?;
    shower.show(&Event {
        conn: 1,
        dir: Dir::ClientToServer,
        what: Found::Http(req.clone()),
    })?;
    shower.note(
        "  Upgrade: websocket and Connection: Upgrade ask the server to stop speaking HTTP on\n  \
         this connection; Sec-WebSocket-Key is 16 random bytes in base64.",
    )?;
    let resp = next_in(&mut rx, Dir::ServerToClient).await?;
    shower.show(&Event {
        conn: 1,
        dir: Dir::ServerToClient,
        what: Found::Http(resp.clone()),
    })?;
    shower.note(
        "  101 Switching Protocols: from the byte after this empty line on, both sides send\n  \
         WebSocket frames, not HTTP.",
    )?;
    pause();

    // 2. The accept key.
    shower.note("── 2. Sec-WebSocket-Accept, worked out ──")?;
    let key = text_of(&req, "http.sec_websocket_key").ok_or("the request had no key")?;
    let steps = handshake::accept_steps(&key);
    for line in steps.explain() {
        shower.note(&format!("  {line}"))?;
    }
    let got = text_of(&resp, "http.sec_websocket_accept").unwrap_or_default();
    shower.note(&format!(
        "  The server sent Sec-WebSocket-Accept {got}: {}",
        if got == steps.accept {
            "the same, so the client knows the server really speaks WebSocket."
        } else {
            "DIFFERENT: a client must refuse this connection."
        }
    ))?;
    pause();

    // 3. Messages of three sizes.
    let messages: [(&str, Message); 3] = [
        (
            "a 5-byte text message",
            Message::Text(Utf8Bytes::from_static("Hello")),
        ),
        (
            "a 300-byte text message (too long for 7 bits)",
            Message::Text("w".repeat(300).into()),
        ),
        (
            "a 70,000-byte binary message (too long for 16 bits)",
            Message::Binary(Bytes::from(
                (0..70_000u32).map(|i| i as u8).collect::<Vec<u8>>(),
            )),
        ),
    ];
    for (i, (what, msg)) in messages.into_iter().enumerate() {
        shower.note(&format!("── 3.{} The client sends {what} ──", i + 1))?;
        ws.send(msg).await?;
        let out = next_in(&mut rx, Dir::ClientToServer).await?;
        shower.show(&Event {
            conn: 1,
            dir: Dir::ClientToServer,
            what: Found::Http(out.clone()),
        })?;
        for line in explain_frame(&out) {
            shower.note(&line)?;
        }
        let back = read_until(&mut ws, &mut rx, Dir::ServerToClient).await?;
        shower.note("  …and the server echoes it:")?;
        shower.show(&Event {
            conn: 1,
            dir: Dir::ServerToClient,
            what: Found::Http(back.clone()),
        })?;
        for line in explain_frame(&back) {
            shower.note(&line)?;
        }
        pause();
    }

    // 4. Ping and pong.
    shower.note("── 4. Ping and pong: is the other side still there? ──")?;
    ws.send(Message::Ping(Bytes::from_static(b"are you there?")))
        .await?;
    let ping = next_in(&mut rx, Dir::ClientToServer).await?;
    shower.show(&Event {
        conn: 1,
        dir: Dir::ClientToServer,
        what: Found::Http(ping),
    })?;
    // The pong arrives when the client next reads; read until it has.
    let pong = read_until(&mut ws, &mut rx, Dir::ServerToClient).await?;
    shower.show(&Event {
        conn: 1,
        dir: Dir::ServerToClient,
        what: Found::Http(pong),
    })?;
    shower.note(
        "  A pong must carry the same bytes as the ping it answers (opcode 9 → opcode 10).\n  \
         Control frames (close, ping, pong) carry at most 125 bytes and are never fragmented.",
    )?;
    pause();

    // 5. The closing handshake.
    shower.note("── 5. The closing handshake ──")?;
    ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: Utf8Bytes::from_static("lesson over"),
    }))
    .await?;
    let close = next_in(&mut rx, Dir::ClientToServer).await?;
    shower.show(&Event {
        conn: 1,
        dir: Dir::ClientToServer,
        what: Found::Http(close),
    })?;
    let reply = read_until(&mut ws, &mut rx, Dir::ServerToClient).await?;
    shower.show(&Event {
        conn: 1,
        dir: Dir::ServerToClient,
        what: Found::Http(reply),
    })?;
    shower.note(
        "  The client sent close (opcode 8) with status code 1000 (normal) and a reason; the\n  \
         server answered with a close frame of its own. Then the server closes the TCP\n  \
         connection: each side has said it will send nothing more.",
    )?;
    let _ = stop_tx.send(());
    let _ = server.await;
    Ok(())
}

/// Keep the client reading (so tungstenite processes what arrives) until the watcher reports
/// a frame going `dir`.
async fn read_until(
    ws: &mut client::ClientStream,
    rx: &mut UnboundedReceiver<Event>,
    dir: Dir,
) -> Result<Box<Dissection>, Error> {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok(e) = rx.try_recv()
            && e.dir == dir
        {
            match e.what {
                Found::Http(d) | Found::Frame { d, .. } => return Ok(d),
                _ => continue,
            }
        }
        tokio::select! {
            _ = ws.next() => {}
            e = rx.recv() => {
                let e = e.ok_or("the connection's watcher stopped")?;
                if e.dir == dir && let Found::Http(d) | Found::Frame { d, .. } = e.what {
                    return Ok(d);
                }
            }
            _ = tokio::time::sleep_until(deadline) => return Err("the lesson waited 10 s for a frame that did not come".into()),
        }
    }
}
