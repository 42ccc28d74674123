//! The WebSocket server and client, end to end on 127.0.0.1: limits, bad input, delivery,
//! and the lesson's output.
//!
//! Most tests start `wirelab::ws::server::serve` in-process on a free loopback port and talk
//! to it with raw TCP (to send exactly the bytes a test needs, broken ones included) or with
//! tokio-tungstenite.

use std::time::Duration;

use assert_cmd::Command;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use wirelab::dissect::websocket::{HeadParse, parse_head, unmask};
use wirelab::ws::server::{Mode, ServerConfig, serve};

/// Start a server; returns its address and a handle that stops it when dropped.
async fn start(cfg: ServerConfig) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(serve(listener, cfg, None, async {
        let _ = rx.await;
    }));
    (addr, tx)
}

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// Open a TCP connection and do the handshake by hand; return the stream.
async fn raw_ws(addr: std::net::SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "{head}"
    );
    s
}

/// A frame as a client would send it (masked unless `mask` is None).
fn frame(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(m | n as u8),
        n if n <= 0xffff => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let mut body = payload.to_vec();
    if let Some(k) = mask {
        out.extend_from_slice(&k);
        unmask(&mut body, k, 0);
    }
    out.extend_from_slice(&body);
    out
}

/// Read one whole frame from the server: (opcode, payload).
async fn read_frame(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut buf = Vec::new();
    loop {
        if let HeadParse::Head(h) = parse_head(&buf) {
            let total = h.frame_len() as usize;
            while buf.len() < total {
                let mut chunk = vec![0u8; total - buf.len()];
                let n = s.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some((h.opcode, buf[h.header_len..total].to_vec()));
        }
        let mut b = [0u8; 1];
        if s.read(&mut b).await.ok()? == 0 {
            return None;
        }
        buf.push(b[0]);
    }
}

/// Read frames until a close arrives; return its code and reason.
async fn close_code(s: &mut TcpStream) -> (u16, String) {
    let res = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (op, p) = read_frame(s).await.expect("a close frame before the end");
            if op == 8 {
                let code = u16::from_be_bytes([p[0], p[1]]);
                return (code, String::from_utf8_lossy(&p[2..]).into_owned());
            }
        }
    })
    .await;
    res.expect("close within 10 s")
}

#[tokio::test(flavor = "multi_thread")]
async fn unmasked_client_frame_is_closed_with_1002() {
    let (addr, _stop) = start(ServerConfig::default()).await;
    let mut s = raw_ws(addr).await;
    s.write_all(&frame(1, b"no mask", None)).await.unwrap();
    let (code, reason) = close_code(&mut s).await;
    assert_eq!(code, 1002, "{reason}");
    assert!(reason.contains("masked"), "{reason}");
}

#[tokio::test(flavor = "multi_thread")]
async fn oversize_message_is_closed_with_1009() {
    let cfg = ServerConfig {
        max_message: 1000,
        ..ServerConfig::default()
    };
    let (addr, _stop) = start(cfg).await;
    let mut s = raw_ws(addr).await;
    // Exactly the limit is fine…
    s.write_all(&frame(2, &[7u8; 1000], Some([1, 2, 3, 4])))
        .await
        .unwrap();
    let (op, p) = read_frame(&mut s).await.unwrap();
    assert_eq!((op, p.len()), (2, 1000));
    // …one more byte is not; neither is a message whose fragments add up to too much.
    s.write_all(&frame(2, &[7u8; 1001], Some([1, 2, 3, 4])))
        .await
        .unwrap();
    let (code, reason) = close_code(&mut s).await;
    assert_eq!(code, 1009, "{reason}");

    let mut s = raw_ws(addr).await;
    let mut first = frame(2, &[1u8; 600], Some([9, 9, 9, 9]));
    first[0] &= 0x7f; // FIN = 0: more fragments follow
    s.write_all(&first).await.unwrap();
    s.write_all(&frame(0, &[1u8; 600], Some([9, 9, 9, 9])))
        .await
        .unwrap();
    let (code, _) = close_code(&mut s).await;
    assert_eq!(code, 1009);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_utf8_text_is_closed_with_1007() {
    let (addr, _stop) = start(ServerConfig::default()).await;
    let mut s = raw_ws(addr).await;
    s.write_all(&frame(1, &[0xff, 0xfe], Some([1, 2, 3, 4])))
        .await
        .unwrap();
    assert_eq!(close_code(&mut s).await.0, 1007);
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connection_is_closed_with_1001() {
    let cfg = ServerConfig {
        idle_timeout: Some(Duration::from_millis(300)),
        ..ServerConfig::default()
    };
    let (addr, _stop) = start(cfg).await;
    let mut s = raw_ws(addr).await;
    let (code, reason) = close_code(&mut s).await;
    assert_eq!(code, 1001);
    assert!(reason.contains("idle"), "{reason}");
}

/// Send a request and return the whole response.
async fn http(addr: std::net::SocketAddr, req: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(req).await.unwrap();
    // Say we are done sending, so a server waiting for the rest of a head stops waiting.
    let _ = s.shutdown().await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_handshakes_get_400_with_the_reason() {
    let (addr, _stop) = start(ServerConfig::default()).await;
    let good = format!(
        "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let cases: Vec<(String, &str)> = vec![
        (good.replace("Version: 13", "Version: 8"), "version 13"),
        (good.replace(KEY, "c2hvcnQ="), "16 bytes"),
        (good.replace("Upgrade: websocket\r\n", ""), "Upgrade"),
        (good.replace("Host: x\r\n", ""), "Host"),
        (good.replace("GET", "POST"), "GET"),
        ("GET /ws HTTP/1.1\r\nHost x\r\n\r\n".to_string(), "colon"),
        (
            "\x16\x03\x01\x00\x05 not http\r\n\r\n".to_string(),
            "not valid HTTP",
        ),
    ];
    for (req, reason) in cases {
        let resp = http(addr, req.as_bytes()).await;
        assert!(resp.starts_with("HTTP/1.1 400 "), "{req:?} → {resp}");
        let body = resp.split("\r\n\r\n").nth(1).unwrap_or("");
        assert!(body.contains(reason), "{req:?} → body {body:?}");
    }
    // The page and a 404.
    let page = http(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(page.starts_with("HTTP/1.1 200 OK"));
    assert!(page.contains("new WebSocket("));
    let missing = http(addr, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(missing.starts_with("HTTP/1.1 404"));
    // An upgrade asked for at / is a WebSocket too.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
        .await
        .unwrap();
    ws.send(Message::Text("at the root".into())).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Text("at the root".into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_never_brings_the_server_down() {
    let (addr, _stop) = start(ServerConfig::default()).await;
    let mut seed = 0x1234_5678u32;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for i in 0..40 {
        let mut bytes: Vec<u8> = (0..(rnd() % 300)).map(|_| rnd() as u8).collect();
        if i % 2 == 0 {
            // After a good handshake: random frames.
            let mut s = raw_ws(addr).await;
            bytes.insert(0, 0x80 | (rnd() % 16) as u8);
            let _ = s.write_all(&bytes).await;
            let _ = tokio::time::timeout(Duration::from_millis(200), read_frame(&mut s)).await;
        } else {
            let _ = http(addr, &bytes).await;
        }
    }
    // Still serving.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    ws.send(Message::Text("still alive".into())).await.unwrap();
    let m = ws.next().await.unwrap().unwrap();
    assert_eq!(m, Message::Text("still alive".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn echo_returns_every_message_in_order() {
    let (addr, _stop) = start(ServerConfig::default()).await;
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    let sizes = [0usize, 1, 5, 125, 126, 300, 65535, 65536, 70_000, 1 << 20];
    let mut sent = Vec::new();
    for i in 0..300 {
        let n = sizes[i % sizes.len()];
        let msg = if i % 3 == 0 {
            Message::Binary((0..n).map(|j| (i + j) as u8).collect::<Vec<u8>>().into())
        } else {
            Message::Text(format!("{i}:{}", "z".repeat(n)).into())
        };
        sent.push(msg);
    }
    // Send and receive at the same time: the echoes would otherwise fill both sockets.
    let (mut tx, mut rx) = ws.split();
    let to_send = sent.clone();
    let sender = tokio::spawn(async move {
        for m in to_send {
            tx.feed(m).await.unwrap();
        }
        tx.flush().await.unwrap();
        tx
    });
    for want in &sent {
        let got = tokio::time::timeout(Duration::from_secs(30), rx.next())
            .await
            .expect("echo within 30 s")
            .unwrap()
            .unwrap();
        assert_eq!(&got, want);
    }
    let mut ws = sender.await.unwrap().reunite(rx).unwrap();
    ws.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn chat_delivers_every_accepted_message_to_every_client() {
    let cfg = ServerConfig {
        mode: Mode::Chat,
        ..ServerConfig::default()
    };
    let (addr, _stop) = start(cfg).await;
    const CLIENTS: usize = 5;
    const EACH: usize = 200;
    let mut socks = Vec::new();
    for _ in 0..CLIENTS {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        socks.push(ws);
    }
    // Everyone is connected before anyone sends, so everyone must get everything.
    let mut tasks = Vec::new();
    for (c, ws) in socks.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let (mut tx, mut rx) = ws.split();
            let sender = tokio::spawn(async move {
                for i in 0..EACH {
                    let body = format!("{c}:{i}:{}", "m".repeat(i * 37 % 5000));
                    tx.send(Message::Text(body.into())).await.unwrap();
                }
                tx
            });
            let mut got = Vec::new();
            while got.len() < CLIENTS * EACH {
                match tokio::time::timeout(Duration::from_secs(30), rx.next()).await {
                    Ok(Some(Ok(Message::Text(t)))) => got.push(t.to_string()),
                    Ok(Some(Ok(_))) => {}
                    other => panic!("client {c} got {} messages, then {other:?}", got.len()),
                }
            }
            let _tx = sender.await.unwrap();
            got
        }));
    }
    let mut orders = Vec::new();
    for t in tasks {
        let got = t.await.unwrap();
        // Per sender, messages arrive in the order they were sent.
        for c in 0..CLIENTS {
            let seq: Vec<usize> = got
                .iter()
                .filter(|m| m.starts_with(&format!("{c}:")))
                .map(|m| m.split(':').nth(1).unwrap().parse().unwrap())
                .collect();
            assert_eq!(seq, (0..EACH).collect::<Vec<_>>());
        }
        orders.push(got);
    }
    // And every client saw the same overall order.
    assert!(orders.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn ws_echo_lesson_shows_every_form() {
    let out = Command::cargo_bin("wirelab")
        .unwrap()
        .args(["--color", "never", "ws", "echo", "--view", "json"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    let field = |l: &serde_json::Value, f: &str| l["fields"][f].as_str().map(str::to_string);
    let has = |f: &str, v: &str| lines.iter().any(|l| field(l, f).as_deref() == Some(v));
    assert!(has("http.request.method", "GET"));
    assert!(has("http.response.code", "101"));
    assert!(has("websocket.payload_length", "5"));
    assert!(has("websocket.payload_length_ext_16", "300"));
    assert!(has("websocket.payload_length_ext_64", "70000"));
    assert!(has("websocket.opcode", "9") && has("websocket.opcode", "10"));
    assert!(has("websocket.payload.close.status_code", "1000"));
    assert!(has("websocket.payload.text", "Hello"));
    // Client frames are masked, server frames are not.
    for l in &lines {
        if field(l, "websocket.opcode").is_some() {
            let client = l["direction"] == "client_to_server";
            assert_eq!(
                field(l, "websocket.mask").as_deref(),
                Some(if client { "1" } else { "0" })
            );
            assert_eq!(field(l, "websocket.masking_key").is_some(), client);
        }
    }

    let text = Command::cargo_bin("wirelab")
        .unwrap()
        .args(["--color", "never", "ws", "echo"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"));
    assert!(text.contains("the same, so the client knows"));
}

#[test]
fn ws_connect_refuses_tls_and_says_why() {
    let out = Command::cargo_bin("wirelab")
        .unwrap()
        .args(["ws", "connect", "wss://127.0.0.1:1/"])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("TLS"));
}
