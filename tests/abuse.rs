//! wirelab's servers under abuse, run as real processes on 127.0.0.1: slow request heads
//! (slowloris), too many connections, clients that never read or only ping, and `--port 0`.
//! Each load here is bounded in count and in time and stops by itself. Unix only (signals
//! through `kill`); the tests that measure memory read /proc, so Linux only.
#![cfg(unix)]

mod common;
mod servers;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use servers::{Server, wirelab};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Open `n` connections that send the start of a request head and then one byte a second,
/// never finishing it (for at most `max_secs`). Returns, for each, when the server closed it
/// (seconds after the start) and what it answered; `None` if it never closed.
async fn slowloris(
    port: u16,
    n: usize,
    first: &'static [u8],
    max_secs: u64,
) -> Vec<Option<(f64, Vec<u8>)>> {
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..n {
        tasks.spawn(async move {
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
            s.write_all(first).await.ok()?;
            let mut got = Vec::new();
            for _ in 0..max_secs {
                let mut buf = [0u8; 1024];
                match timeout(Duration::from_secs(1), s.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => return Some((start.elapsed().as_secs_f64(), got)),
                    Ok(Ok(k)) => got.extend_from_slice(&buf[..k]),
                    Err(_) => {}
                }
                // One more byte of a header that never ends.
                if s.write_all(b"x").await.is_err() {
                    return Some((start.elapsed().as_secs_f64(), got));
                }
            }
            None
        });
    }
    let mut out = Vec::new();
    while let Some(r) = tasks.join_next().await {
        out.push(r.unwrap());
    }
    out
}

/// Check that all slow connections were closed after the deadline (about `deadline` s) with
/// a 408 answer if `want_408`; print what was measured.
fn check_closed(what: &str, got: &[Option<(f64, Vec<u8>)>], deadline: f64, want_408: bool) {
    let closed: Vec<&(f64, Vec<u8>)> = got.iter().flatten().collect();
    assert_eq!(
        closed.len(),
        got.len(),
        "{what}: {} of {} slow connections were never closed",
        got.len() - closed.len(),
        got.len()
    );
    let first = closed.iter().map(|c| c.0).fold(f64::MAX, f64::min);
    let last = closed.iter().map(|c| c.0).fold(0.0, f64::max);
    println!(
        "{what}: {} slow connections closed between {first:.1} s and {last:.1} s (deadline {deadline} s)",
        closed.len()
    );
    // Not before the deadline (the server waited for the head), and not long after it (a
    // byte a second did not extend it: each connection sent about `last` bytes).
    assert!(
        first >= deadline - 0.5,
        "{what}: closed after {first} s, before the deadline"
    );
    assert!(
        last < deadline + 10.0,
        "{what}: the last was closed only after {last} s"
    );
    if want_408 {
        for (_, answer) in &closed {
            let text = String::from_utf8_lossy(answer);
            assert!(
                text.starts_with("HTTP/1.1 408"),
                "{what}: answered {text:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_serve_closes_a_slow_request_head_at_its_deadline() {
    // The default deadline: 10 s for the whole head.
    let server = Server::start(wirelab(&[
        "ws", "serve", "--echo", "--quiet", "--port", "0",
    ]));
    let got = slowloris(server.port, 200, b"GET /ws HTTP/1.1\r\n", 30).await;
    check_closed("ws serve", &got, 10.0, true);
    // It still serves: a real client echoes.
    let url = format!("ws://127.0.0.1:{}/ws", server.port);
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    ws.send(Message::text("still here")).await.unwrap();
    let echo = ws.next().await.unwrap().unwrap();
    assert_eq!(echo.to_text().unwrap(), "still here");
    drop(ws);
    let end = server.interrupt();
    assert!(
        end.stdout()
            .contains("200 closed for a request head that came too slowly (408)"),
        "{}",
        end.stdout()
    );
}

/// A raw request; returns the status line of the answer.
async fn status_of(port: u16, request: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = timeout(Duration::from_secs(5), s.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_serve_answers_503_past_its_connection_cap() {
    let server = Server::start(wirelab(&[
        "ws",
        "serve",
        "--echo",
        "--quiet",
        "--port",
        "0",
        "--max-connections",
        "20",
    ]));
    let url = format!("ws://127.0.0.1:{}/ws", server.port);
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(tokio_tungstenite::connect_async(&url).await.unwrap().0);
    }
    let request = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    for _ in 0..5 {
        let status = status_of(server.port, request.as_bytes()).await;
        assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
    }
    assert!(
        server.wait_for(5, |_, err| err.contains("refusing new ones with 503")),
        "no log line for the refusals:\n{}",
        server.stderr()
    );
    // Five leave; new connections are taken again.
    for mut ws in held.drain(..5) {
        let _ = ws.close(None).await;
    }
    // The server may not have seen the closes yet when we try again: each
    // attempt refused meanwhile is one more 503, and the count must say so.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut refused = 5;
    let ws = loop {
        match tokio_tungstenite::connect_async(&url).await {
            Ok((ws, _)) => break ws,
            Err(_) if Instant::now() < deadline => {
                refused += 1;
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("no connection after others left: {e}"),
        }
    };
    drop(ws);
    let again = format!("accepting connections again ({refused} refused");
    assert!(
        server.wait_for(5, |_, err| err.contains(&again)),
        "expected {again:?}:\n{}",
        server.stderr()
    );
    drop(held);
    let end = server.interrupt();
    assert!(end.status.success());
    assert!(
        end.stdout()
            .contains(&format!("{refused} refused with 503")),
        "{}",
        end.stdout()
    );
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_chat_disconnects_a_client_that_never_reads() {
    let server = Server::start(wirelab(&[
        "ws", "serve", "--chat", "--quiet", "--port", "0",
    ]));
    let url = format!("ws://127.0.0.1:{}/ws", server.port);
    // The slow client: connects and never reads a byte.
    let (slow, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    // The sender reads everything (the chat sends each message back to it too).
    let (sender, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (mut tx, mut rx) = sender.split();
    const N: usize = 3000;
    let reader = tokio::spawn(async move {
        let mut n = 0;
        while n < N {
            match timeout(Duration::from_secs(30), rx.next()).await {
                Ok(Some(Ok(Message::Binary(_)))) => n += 1,
                Ok(Some(Ok(_))) => {}
                _ => break,
            }
        }
        n
    });
    let before = server.rss_kib();
    let payload = vec![0x61u8; 100_000];
    let mut peak = before;
    for i in 0..N {
        tx.send(Message::binary(payload.clone())).await.unwrap();
        if i % 100 == 0 {
            peak = peak.max(server.rss_kib());
        }
    }
    let received = reader.await.unwrap();
    peak = peak.max(server.rss_kib());
    println!(
        "ws chat: {N} messages of 100 kB; server RSS {} MiB before, at most {} MiB during (+{} MiB)",
        before / 1024,
        peak / 1024,
        (peak - before) / 1024
    );
    assert_eq!(received, N, "the reading client lost messages");
    // The queue holds at most 16 MiB for the slow client; with buffers, far from 300 MB.
    assert!(
        peak - before < 80 * 1024,
        "the server grew by {} MiB for a client that does not read",
        (peak - before) / 1024
    );
    assert!(
        server.wait_for(10, |_, err| err.contains("conn 1 (")
            && err.contains("fell behind")),
        "no log line naming the slow client:\n{}",
        server.stderr()
    );
    let line = server
        .stderr()
        .lines()
        .find(|l| l.contains("fell behind"))
        .unwrap()
        .to_string();
    println!("{line}");
    let missed: u64 = line
        .rsplit("it missed ")
        .next()
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("the number of messages missed");
    assert!(missed > 0 && missed <= N as u64, "{line}");
    drop(slow);
    let end = server.interrupt();
    assert!(
        end.stdout().contains("1 disconnected for falling behind"),
        "{}",
        end.stdout()
    );
}

/// The same for a client of the chat page's subprotocol (`wirelab.chat`), which gets every
/// message wrapped with its sender's name: its queue is bounded like any other, and when it
/// is full the client is disconnected and counted, not given ever more messages.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_chat_disconnects_a_labelled_client_that_never_reads() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = Server::start(wirelab(&[
        "ws", "serve", "--chat", "--quiet", "--port", "0",
    ]));
    let url = format!("ws://127.0.0.1:{}/ws", server.port);
    // The slow client asks for the subprotocol, then never reads a byte.
    let mut req = url.as_str().into_client_request().unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "wirelab.chat".parse().unwrap());
    let (slow, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        resp.headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok()),
        Some("wirelab.chat")
    );
    let (sender, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (mut tx, mut rx) = sender.split();
    const N: usize = 3000;
    let reader = tokio::spawn(async move {
        let mut n = 0;
        while n < N {
            match timeout(Duration::from_secs(30), rx.next()).await {
                Ok(Some(Ok(Message::Text(_)))) => n += 1,
                Ok(Some(Ok(_))) => {}
                _ => break,
            }
        }
        n
    });
    let before = server.rss_kib();
    // Text, so that each wrapped copy carries the whole 100 kB.
    let text = "a".repeat(100_000);
    let mut peak = before;
    for i in 0..N {
        tx.send(Message::text(text.clone())).await.unwrap();
        if i % 100 == 0 {
            peak = peak.max(server.rss_kib());
        }
    }
    let received = reader.await.unwrap();
    peak = peak.max(server.rss_kib());
    println!(
        "ws chat, labelled client: {N} messages of 100 kB; server RSS {} MiB before, at most {} MiB during (+{} MiB)",
        before / 1024,
        peak / 1024,
        (peak - before) / 1024
    );
    assert_eq!(received, N, "the reading client lost messages");
    assert!(
        peak - before < 80 * 1024,
        "the server grew by {} MiB for a labelled client that does not read",
        (peak - before) / 1024
    );
    assert!(
        server.wait_for(10, |_, err| err.contains("conn 1 (")
            && err.contains("fell behind")),
        "no log line naming the slow labelled client:\n{}",
        server.stderr()
    );
    drop(slow);
    let end = server.interrupt();
    assert!(
        end.stdout().contains("1 disconnected for falling behind"),
        "{}",
        end.stdout()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_idle_means_no_data_message_pings_do_not_count() {
    let server = Server::start(wirelab(&[
        "ws",
        "serve",
        "--echo",
        "--quiet",
        "--port",
        "0",
        "--idle-timeout",
        "1",
    ]));
    let url = format!("ws://127.0.0.1:{}/ws", server.port);
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let start = Instant::now();
    let mut closed = None;
    // A ping every 200 ms for at most 6 s; the server must close after about 1 s.
    'outer: for _ in 0..30 {
        if ws
            .send(Message::Ping(b"still here?".to_vec().into()))
            .await
            .is_err()
        {
            break;
        }
        let until = Instant::now() + Duration::from_millis(200);
        while let Ok(Some(msg)) = timeout(until - Instant::now(), ws.next()).await {
            match msg {
                Ok(Message::Close(frame)) => {
                    closed = Some((start.elapsed().as_secs_f64(), frame));
                    break 'outer;
                }
                Ok(_) => {}
                Err(_) => break 'outer,
            }
        }
    }
    let (secs, frame) = closed.expect("a client that only pings was never closed");
    println!("ws serve --idle-timeout 1: a ping-only client was closed after {secs:.1} s");
    let frame = frame.expect("a close frame with a code");
    assert_eq!(frame.code, CloseCode::Away);
    assert!(frame.reason.contains("idle"), "{}", frame.reason);
    assert!(secs < 5.0, "closed only after {secs} s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_serve_closes_a_slow_request_head_at_its_deadline() {
    let server = Server::start(wirelab(&["sio", "serve", "--quiet", "--port", "0"]));
    let first: &[u8] = b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n";
    let (slow, silent) = tokio::join!(
        slowloris(server.port, 200, first, 30),
        // Connections that send nothing at all are held no longer.
        slowloris(server.port, 10, b"", 30),
    );
    check_closed("sio serve (slow head)", &slow, 10.0, false);
    check_closed("sio serve (silent)", &silent, 10.0, false);
    // It still serves: an Engine.IO handshake over polling.
    let status = status_of(
        server.port,
        b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    let end = server.interrupt();
    assert!(end.status.success(), "{}", end.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_serve_closes_a_connection_that_sends_nothing() {
    let server = Server::start(wirelab(&["ws", "serve", "--quiet", "--port", "0"]));
    let silent = slowloris(server.port, 10, b"", 30).await;
    check_closed("ws serve (silent)", &silent, 10.0, true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_serve_answers_503_past_its_connection_cap() {
    let server = Server::start(wirelab(&[
        "sio",
        "serve",
        "--quiet",
        "--port",
        "0",
        "--max-connections",
        "5",
    ]));
    // Five connections hold every place (an idle TCP connection counts, as a WebSocket does).
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(
            TcpStream::connect(("127.0.0.1", server.port))
                .await
                .unwrap(),
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let request = b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    for _ in 0..3 {
        assert_eq!(
            status_of(server.port, request).await,
            "HTTP/1.1 503 Service Unavailable"
        );
    }
    assert!(
        server.wait_for(5, |out, _| out
            .contains("refusing   5 connections are open")),
        "{}",
        server.stdout()
    );
    held.clear();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = status_of(
            server.port,
            b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )
        .await;
        if status == "HTTP/1.1 200 OK" {
            break;
        }
        assert!(Instant::now() < deadline, "still refused: {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Three refusals, and maybe one more while the server noticed the five had gone.
    assert!(
        server.wait_for(5, |out, _| out.contains("accepting connections again (")),
        "{}",
        server.stdout()
    );
    let end = server.interrupt();
    assert!(
        end.stdout().contains("connections refused with 503"),
        "{}",
        end.stdout()
    );
}

/// A Socket.IO client over a bare WebSocket (Engine.IO v4), connected to the main namespace;
/// `rcvbuf` shrinks its socket's receive buffer (so that the kernel holds little for it).
async fn sio_ws(port: u16, rcvbuf: Option<u32>) -> tokio_tungstenite::WebSocketStream<TcpStream> {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    if let Some(n) = rcvbuf {
        sock.set_recv_buffer_size(n).unwrap();
    }
    let stream = sock.connect(([127, 0, 0, 1], port).into()).await.unwrap();
    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    let open = ws.next().await.unwrap().unwrap();
    assert!(open.to_text().unwrap().starts_with("0{"), "{open:?}");
    ws.send(Message::text("40")).await.unwrap();
    // The CONNECT answer, then the welcome event (answering the server's pings meanwhile).
    for want in ["40{", "42[\"welcome\""] {
        loop {
            let m = ws.next().await.unwrap().unwrap();
            let t = m.to_text().unwrap();
            if t == "2" {
                ws.send(Message::text("3")).await.unwrap();
                continue;
            }
            assert!(t.starts_with(want), "{m:?}");
            break;
        }
    }
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sio_serve_disconnects_a_client_that_falls_behind_and_counts_what_it_missed() {
    let server = Server::start(wirelab(&["sio", "serve", "--quiet", "--port", "0"]));
    let mut slow = sio_ws(server.port, Some(4096)).await;
    let sender = sio_ws(server.port, None).await;
    let (mut tx, mut rx) = sender.split();
    // The sender reads everything it gets (the chat comes back to it too).
    let (count_tx, mut count_rx) = tokio::sync::watch::channel(0usize);
    let reader = tokio::spawn(async move {
        let mut n = 0;
        while let Ok(Some(Ok(m))) = timeout(Duration::from_secs(30), rx.next()).await {
            if m.to_text().is_ok_and(|t| t.starts_with("42[\"chat\"")) {
                n += 1;
                let _ = count_tx.send(n);
            }
        }
    });
    const N: usize = 3000;
    // 10 kB each: 30 MB in all, more than the kernel's buffers and the queue hold.
    let text = "x".repeat(10_000);
    for i in 0..N {
        tx.send(Message::text(format!("42[\"chat\",\"{i} {text}\"]")))
            .await
            .unwrap();
        // Stay within the sender's own queue: wait for its copies every 200 messages.
        if i % 200 == 199 {
            let want = i + 1;
            timeout(Duration::from_secs(30), count_rx.wait_for(|&n| n >= want))
                .await
                .expect("the sender's own messages stopped coming back")
                .unwrap();
        }
    }
    assert!(
        server.wait_for(10, |out, _| out.contains("slow        ")),
        "the slow client was never named:\n{}",
        server.stdout()
    );
    // Now the slow client reads what waited for it: some chats, then why it is being
    // disconnected, then the DISCONNECT packet.
    let mut got = 0usize;
    let mut told = None;
    let mut disconnected = false;
    while let Ok(Some(Ok(m))) = timeout(Duration::from_secs(10), slow.next()).await {
        let Ok(t) = m.to_text() else { continue };
        if t.starts_with("42[\"chat\"") {
            got += 1;
        } else if t.starts_with("42[\"fell_behind\"") {
            told = Some(t.to_string());
        } else if t == "41" {
            disconnected = true;
            break;
        }
    }
    assert!(told.is_some(), "the client was not told why");
    assert!(disconnected, "the client was not disconnected");
    let line = (0..100)
        .find_map(|_| {
            let out = server.stdout();
            let line = out
                .lines()
                .find(|l| l.contains("fell behind and missed"))?
                .to_string();
            Some(line)
        })
        .or_else(|| {
            server.wait_for(10, |out, _| out.contains("fell behind and missed"));
            server
                .stdout()
                .lines()
                .find(|l| l.contains("fell behind and missed"))
                .map(str::to_string)
        })
        .expect("no log line with how many messages were missed");
    let missed: usize = line
        .rsplit("missed ")
        .next()
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    println!("sio serve: {N} chats; the slow client got {got}, missed {missed}: {line}");
    println!("told: {}", told.unwrap());
    // Never silent loss: every chat was either delivered or counted as missed.
    assert_eq!(got + missed, N, "{line}");
    assert!(missed > 0);
    drop(tx);
    reader.abort();
    let end = server.interrupt();
    assert!(
        end.stdout().contains("1 disconnected for falling behind"),
        "{}",
        end.stdout()
    );
}

#[test]
fn port_0_prints_the_port_actually_bound() {
    // tcp serve: the listening line, the socket's state and getsockname all name the real port.
    let s = Server::start(wirelab(&["tcp", "serve", "--port", "0"]));
    let err = s.stderr();
    assert!(
        err.contains(&format!("getsockname() = 127.0.0.1:{}", s.port)),
        "{err}"
    );
    assert!(err.contains(": LISTEN"), "{err}");
    assert!(!err.contains("CLOSED"), "{err}");
    assert!(!err.contains("127.0.0.1:0;"), "{err}");
    assert!(
        err.contains(&format!("wirelab tcp connect 127.0.0.1:{}", s.port)),
        "{err}"
    );
    let c = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    drop(c);
    drop(s);

    // udp recv: a datagram sent to the printed port arrives.
    let s = Server::start(wirelab(&["udp", "recv", "--port", "0", "--count", "1"]));
    let err = s.stderr();
    assert!(
        err.contains(&format!("getsockname() = 127.0.0.1:{}", s.port)),
        "{err}"
    );
    assert!(
        err.contains(&format!("wirelab udp send 127.0.0.1:{}", s.port)),
        "{err}"
    );
    let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    u.send_to(b"to the real port", ("127.0.0.1", s.port))
        .unwrap();
    let end = s.wait(10);
    assert!(
        end.stdout().contains("to the real port"),
        "{}",
        end.stdout()
    );

    // ws serve and sio serve print the bound port too (Server::start refuses a 0).
    for args in [
        &["ws", "serve", "--quiet", "--port", "0"][..],
        &["sio", "serve", "--quiet", "--port", "0"][..],
    ] {
        let s = Server::start(wirelab(args));
        let out = s.stdout();
        assert!(
            !out.contains("127.0.0.1:0 ") && !out.contains("127.0.0.1:0/"),
            "{out}"
        );
        std::net::TcpStream::connect(("127.0.0.1", s.port)).expect("the printed port listens");
    }
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_serve_drops_frames_it_cannot_print_in_time_and_says_so() {
    use std::io::Read;
    // The server prints every frame; its standard output is a pipe this test leaves unread
    // for a while, as a terminal that cannot keep up would.
    let mut child = wirelab(&["ws", "serve", "--echo", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&head).contains("Ctrl-C stops") {
        out.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let port: u16 = text
        .split("listening on 127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .and_then(|p| p.parse().ok())
        .unwrap();
    let rss = |pid: u32| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap()
    };
    let before = rss(child.id());
    let url = format!("ws://127.0.0.1:{port}/ws");
    let (ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (mut tx, mut rx) = ws.split();
    const N: usize = 100_000;
    let reader = tokio::spawn(async move {
        let mut n = 0;
        while n < N {
            match timeout(Duration::from_secs(30), rx.next()).await {
                Ok(Some(Ok(Message::Text(_)))) => n += 1,
                Ok(Some(Ok(_))) => {}
                _ => break,
            }
        }
        n
    });
    for i in 0..N {
        tx.feed(Message::text(format!("frame {i}"))).await.unwrap();
    }
    tx.flush().await.unwrap();
    let echoed = reader.await.unwrap();
    let during = rss(child.id());
    println!(
        "ws serve (printing, stdout not read): {N} frames echoed; RSS {} MiB before, {} MiB after (+{} MiB)",
        before / 1024,
        during / 1024,
        during.saturating_sub(before) / 1024
    );
    assert_eq!(echoed, N);
    assert!(
        during.saturating_sub(before) < 64 * 1024,
        "the server grew by {} MiB holding frames to print",
        (during - before) / 1024
    );
    drop(tx);
    // Now read: the printer says how many frames it had to leave out.
    servers::signal(child.id(), "INT");
    let mut rest = Vec::new();
    out.read_to_end(&mut rest).unwrap();
    let _ = child.wait();
    let rest = String::from_utf8_lossy(&rest);
    assert!(
        rest.contains("frames not shown"),
        "no word of the frames left out"
    );
}
