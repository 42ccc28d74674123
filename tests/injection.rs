//! Terminal and log injection: a peer sends ESC, BEL, CR, OSC and CSI sequences (and C1
//! controls, DEL and a direction override) through every server and client, and none of them
//! reaches the output raw: each is shown escaped (`\x1b`, `\r`, `\u{9b}`), and no forged line
//! appears. Everything runs as real processes on 127.0.0.1 (stopped with `kill`: unix only).
#![cfg(unix)]

mod common;
mod servers;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::Stdio;
use std::time::Duration;

use servers::{Ended, Server, wirelab};

/// What a hostile peer writes: an OSC that retitles the window (ended by BEL), a CSI that
/// clears the screen, another that turns text red, a CR LF followed by a forged log line, the
/// one-character CSI of C1 (U+009B), a right-to-left override, and DEL.
const EVIL: &str = "A\x1b]0;pwned\x07B\x1b[2J\x1b[31mC\r\nconnect     FAKE\u{9b}31m\u{202e}D\x7f";

/// The characters that must never come out raw.
const RAW: [(&str, &str); 7] = [
    ("\x1b", "ESC"),
    ("\x07", "BEL"),
    ("\r", "CR"),
    ("\x7f", "DEL"),
    ("\u{9b}", "C1 CSI"),
    ("\u{202e}", "RLO"),
    ("\x00", "NUL"),
];

/// Check one output: nothing dangerous in it raw, no forged line, and (if `seen`) the evil text
/// is there, escaped, so the test really sent it through.
fn clean(what: &str, out: &[u8], seen: &str) {
    let text = String::from_utf8_lossy(out);
    for (raw, name) in RAW {
        assert!(
            !text.contains(raw),
            "{what}: a raw {name} reached the output:\n{text}"
        );
    }
    assert!(
        !text.lines().any(|l| l.starts_with("connect     FAKE")),
        "{what}: a forged line:\n{text}"
    );
    if !seen.is_empty() {
        assert!(text.contains(seen), "{what}: {seen:?} not in:\n{text}");
    }
}

/// Check a TCP data stream printed as lines: nothing dangerous raw, and `seen` in it. Its LF
/// stays a line break (the peer's own lines, not log lines: the log is on stderr).
fn clean_data(what: &str, out: &[u8], seen: &str) {
    let text = String::from_utf8_lossy(out);
    for (raw, name) in RAW {
        assert!(!text.contains(raw), "{what}: a raw {name}:\n{text}");
    }
    assert!(text.contains(seen), "{what}: {seen:?} not in:\n{text}");
}

fn clean_ended(what: &str, end: &Ended, seen_out: &str, seen_err: &str) {
    clean(&format!("{what} (stdout)"), &end.stdout, seen_out);
    clean(&format!("{what} (stderr)"), &end.stderr, seen_err);
}

/// A `sio connect --script` file that puts EVIL everywhere a client can: a room name, a room
/// message, chat text, a shout, a whisper's text, an event name.
fn sio_script(dir: &std::path::Path) -> std::path::PathBuf {
    let evil_json = serde_json::to_string(EVIL).unwrap();
    // A room name is one word of the script line: EVIL up to its CR LF.
    let room = EVIL.split("\r\n").next().unwrap();
    let room_json = serde_json::to_string(room).unwrap();
    let lines = [
        format!("/join {room}"),
        format!("/emit room {{\"room\": {room_json}, \"text\": {evil_json}}}"),
        EVIL.replace("\r\n", " "),
        format!("/emit shout {evil_json}"),
        // An event name with controls other than C0 (socketioxide itself refuses an event
        // name with an escaped C0 control, and closes that connection).
        format!("/emit \u{9b}[2Jevil\x7f\u{202e} {evil_json}"),
        format!("/emit chat {evil_json}"),
        "/wait 300".to_string(),
    ];
    let path = dir.join("evil.txt");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

#[test]
fn sio_serve_and_sio_connect_show_no_raw_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let script = sio_script(dir.path());
    for quiet in [false, true] {
        let mut args = vec!["sio", "serve", "--port", "0"];
        if quiet {
            args.push("--quiet");
        }
        let server = Server::start(wirelab(&args));
        let url = format!("http://127.0.0.1:{}", server.port);
        let client = wirelab(&["sio", "connect", &url, "--script"])
            .arg(&script)
            .output()
            .unwrap();
        let client = Ended {
            status: client.status,
            stdout: client.stdout,
            stderr: client.stderr,
        };
        // The client sees its own packets and the server's broadcasts.
        // Socket.IO JSON-encodes C0 controls itself (\u001b); the rest it sends raw.
        clean_ended("sio connect", &client, "FAKE\\u{9b}31m\\u{202e}D\\x7f", "");
        let end = server.interrupt();
        let what = if quiet {
            "sio serve --quiet"
        } else {
            "sio serve"
        };
        // Joins and unhandled events are logged even with --quiet; chat text only without.
        clean_ended(what, &end, "joins room \"A\\x1b]0;pwned\\x07B", "");
        assert!(
            end.stdout()
                .contains("sent \"\\u{9b}[2Jevil\\x7f\\u{202e}\""),
            "{}",
            end.stdout()
        );
        if !quiet {
            assert!(
                end.stdout()
                    .contains("\\r\\nconnect     FAKE\\u{9b}31m\\u{202e}D\\x7f")
            );
        }
    }
}

/// A WebSocket client that sends its head by hand, with EVIL's printable cousins in a header
/// (a C0 control there is refused by the HTTP parser with 400) and EVIL itself in text frames.
fn hostile_ws_client(port: u16) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         X-Evil: \u{9b}2J \u{202e}gnp.exe\r\n\r\n";
    s.write_all(head.as_bytes()).unwrap();
    let mut buf = [0u8; 4096];
    let _ = s.read(&mut buf).unwrap();
    let frame = |payload: &[u8], opcode: u8| {
        let mask = [1u8, 2, 3, 4];
        let mut f = vec![0x80 | opcode];
        assert!(payload.len() < 126);
        f.push(0x80 | payload.len() as u8);
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        f
    };
    s.write_all(&frame(EVIL.as_bytes(), 1)).unwrap();
    let mut close = 1000u16.to_be_bytes().to_vec();
    close.extend_from_slice("bye\x1b[2J".as_bytes());
    s.write_all(&frame(&close, 8)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    // And a request whose path is hostile: answered 404, with the path in the note.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /\xc2\x9b2J\xe2\x80\xae HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let _ = s.read_to_end(&mut rest);
}

#[test]
fn ws_serve_shows_no_raw_control_characters_in_any_view() {
    for (mode, view) in [
        ("--echo", "summary"),
        ("--chat", "layers"),
        ("--echo", "hex"),
    ] {
        let server = Server::start(wirelab(&[
            "ws", "serve", mode, "--port", "0", "--view", view,
        ]));
        hostile_ws_client(server.port);
        assert!(server.wait_for(5, |out, _| out.contains("404")));
        let end = server.interrupt();
        let seen = if view == "hex" {
            ""
        } else {
            "\\x1b]0;pwned\\x07"
        };
        clean_ended(&format!("ws serve {mode} --view {view}"), &end, seen, "");
    }
}

#[test]
fn ws_connect_shows_no_raw_control_characters() {
    let server = Server::start(wirelab(&[
        "ws", "serve", "--echo", "--quiet", "--port", "0",
    ]));
    let url = format!("ws://127.0.0.1:{}/ws", server.port);
    let mut client = wirelab(&["ws", "connect", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Sent as two lines (CR LF splits it), echoed back by the server.
    client
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{EVIL}\n").as_bytes())
        .unwrap();
    let out = client.wait_with_output().unwrap();
    clean("ws connect (stdout)", &out.stdout, "\\x1b]0;pwned\\x07");
    clean("ws connect (stderr)", &out.stderr, "");
    drop(server);
}

#[test]
fn tcp_serve_and_connect_show_no_raw_control_characters() {
    // tcp serve: a hostile client.
    let server = Server::start(wirelab(&["tcp", "serve", "--port", "0"]));
    let mut c = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    c.write_all(EVIL.as_bytes()).unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    let _ = c.read_to_end(&mut rest);
    let end = server.wait(10);
    let stream = "\\x1b]0;pwned\\x07B\\x1b[2J\\x1b[31mC\\r\nconnect     FAKE\\u{9b}";
    clean_data("tcp serve (stdout)", &end.stdout, stream);
    clean("tcp serve (stderr)", &end.stderr, "\\x1b]0;pwned\\x07");

    // tcp connect: a hostile server.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client =
        Server::start_without_port(wirelab(&["tcp", "connect", &format!("127.0.0.1:{port}")]));
    let (mut peer, _) = listener.accept().unwrap();
    peer.write_all(EVIL.as_bytes()).unwrap();
    drop(peer);
    let end = client.wait(10);
    clean_data("tcp connect (stdout)", &end.stdout, stream);
    clean("tcp connect (stderr)", &end.stderr, "\\x1b]0;pwned\\x07");
}

#[test]
fn udp_recv_shows_no_raw_control_characters() {
    let server = Server::start(wirelab(&[
        "udp", "recv", "--port", "0", "--count", "1", "--echo",
    ]));
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    u.send_to(EVIL.as_bytes(), ("127.0.0.1", server.port))
        .unwrap();
    let end = server.wait(10);
    // One datagram, one line: its CR LF is shown, not obeyed.
    clean_ended(
        "udp recv",
        &end,
        "\\x1b[31mC\\r\\nconnect     FAKE\\u{9b}31m\\u{202e}D\\x7f\n",
        "\\x1b]0;pwned\\x07",
    );
    // udp send --replies prints the reply: a hostile server answers with EVIL.
    let hostile = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = hostile.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        let (_, from) = hostile.recv_from(&mut buf).unwrap();
        hostile.send_to(EVIL.as_bytes(), from).unwrap();
    });
    let out = wirelab(&[
        "udp",
        "send",
        &format!("127.0.0.1:{port}"),
        "hi",
        "--replies",
    ])
    .output()
    .unwrap();
    t.join().unwrap();
    clean(
        "udp send --replies (stdout)",
        &out.stdout,
        "\\x1b]0;pwned\\x07",
    );
    clean("udp send --replies (stderr)", &out.stderr, "");
}

/// A hostile Socket.IO server (Engine.IO v4 over a bare WebSocket, made here) that puts EVIL
/// in every id it hands out: the Engine.IO session, the socket id of its CONNECT answer and,
/// with `welcome`, the public id of a `welcome` event. Serves one connection.
fn hostile_sio_server(welcome: bool) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let Ok(Ok((stream, _))) =
                tokio::time::timeout(Duration::from_secs(20), listener.accept()).await
            else {
                return;
            };
            let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
            let evil = serde_json::to_string(EVIL).unwrap();
            let open = format!(
                "0{{\"sid\":{evil},\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":100000}}"
            );
            ws.send(Message::text(open)).await.unwrap();
            // The client's CONNECT, then the answer and (perhaps) the welcome event.
            while let Some(Ok(m)) = ws.next().await {
                if m.to_text().is_ok_and(|t| t.starts_with("40")) {
                    break;
                }
            }
            ws.send(Message::text(format!("40{{\"sid\":{evil}}}")))
                .await
                .unwrap();
            if welcome {
                ws.send(Message::text(format!(
                    "42[\"welcome\",{{\"id\":{evil},\"server\":{evil}}}]"
                )))
                .await
                .unwrap();
            }
            // Until the client goes.
            let _ = tokio::time::timeout(Duration::from_secs(20), async {
                while let Some(Ok(_)) = ws.next().await {}
            })
            .await;
        });
    });
    (port, t)
}

#[test]
fn sio_connect_shows_a_hostile_servers_ids_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("wait.txt");
    std::fs::write(&script, "/wait 300\n").unwrap();
    for welcome in [true, false] {
        let (port, server) = hostile_sio_server(welcome);
        let out = wirelab(&["sio", "connect", &format!("http://127.0.0.1:{port}")])
            .arg("--script")
            .arg(&script)
            .output()
            .unwrap();
        server.join().unwrap();
        let what = if welcome {
            "sio connect (ids from a welcome event)"
        } else {
            "sio connect (the socket id of the CONNECT answer)"
        };
        assert!(out.status.success(), "{what}: {out:?}");
        // The lines that name the ids (the packets themselves are printed escaped too).
        clean(what, &out.stdout, "Engine.IO session A\\x1b]0;pwned\\x07B");
        clean(what, &out.stdout, "your id: A\\x1b]0;pwned\\x07B");
        clean(&format!("{what} (stderr)"), &out.stderr, "");
    }
}
