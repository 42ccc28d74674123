//! The WebSocket client behind `wirelab ws connect`.
//!
//! It connects over plain TCP, lets tokio-tungstenite do the opening handshake and the
//! framing, and watches the bytes with a [`Tap`] so every frame sent and received is shown
//! with its header fields. Each line typed becomes a text message; a few commands make the
//! other kinds of frame:
//!
//! ```text
//! /ping [TEXT]          a ping (the server must answer with a pong carrying TEXT)
//! /binary HEX           a binary message, e.g. /binary 00ff10
//! /big N                a text message of N bytes (try 300 and 70000: the length field grows)
//! /close [CODE [REASON]] start the closing handshake (default 1000)
//! /sleep SECONDS        wait before the next line (in scripts: let the answers arrive)
//! //text                a text message that starts with a slash
//! ```
//!
//! The end of input (Ctrl-D) closes with 1000. `--autobahn` instead runs the protocol of the
//! Autobahn|Testsuite fuzzing server: ask how many test cases there are, run each as an echo
//! client, then ask the server to write its report.

use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::AsyncBufReadExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedSender;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::Error as WsError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};

use super::server::{close_for, cut_reason, ws_config};
use super::tap::{Event, Tap, Watcher};
use crate::Error;
use crate::dissect::websocket::Dir;

pub type ClientStream = WebSocketStream<Tap<TcpStream>>;

/// Split `ws://host:port/path` into what TCP needs; refuse what this client cannot do.
pub fn target(url: &str) -> Result<(String, u16), Error> {
    let uri: tokio_tungstenite::tungstenite::http::Uri = url
        .parse()
        .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("ws") => {}
        Some("wss") => {
            return Err(format!(
                "{url}: wss:// (WebSocket over TLS) is not supported; wirelab shows plain bytes, use ws://"
            )
            .into());
        }
        _ => return Err(format!("{url}: the URL must start with ws://").into()),
    }
    let host = uri
        .host()
        .ok_or_else(|| format!("{url}: the URL has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    Ok((host, uri.port_u16().unwrap_or(80)))
}

/// Open a WebSocket to `url`. With `events`, both directions are watched and reported as
/// connection number `conn`.
pub async fn connect(
    url: &str,
    conn: u64,
    events: Option<UnboundedSender<Event>>,
    preview: usize,
    max_message: usize,
) -> Result<ClientStream, Error> {
    let (host, port) = target(url)?;
    let stream = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (reads, writes) = match events {
        Some(tx) => (
            Some(Watcher::new(conn, Dir::ServerToClient, preview, tx.clone())),
            Some(Watcher::new(conn, Dir::ClientToServer, preview, tx)),
        ),
        None => (None, None),
    };
    let tap = Tap::new(stream, reads, writes);
    let request = url
        .into_client_request()
        .map_err(|e| format!("{url}: {e}"))?;
    let (ws, _response) =
        tokio_tungstenite::client_async_with_config(request, tap, Some(ws_config(max_message)))
            .await
            .map_err(|e| match e {
                WsError::Http(resp) => {
                    let body = resp
                        .body()
                        .as_ref()
                        .map(|b| String::from_utf8_lossy(b).trim().to_string())
                        .unwrap_or_default();
                    format!(
                        "the server refused the WebSocket handshake with HTTP {}: {body}",
                        resp.status()
                    )
                }
                other => format!("WebSocket handshake with {url} failed: {other}"),
            })?;
    Ok(ws)
}

/// One line of input, understood.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Send(Message),
    Close(u16, String),
    /// Wait before reading the next line (for scripts: let the answers arrive first).
    Sleep(Duration),
    Help,
}

/// Turn a typed line into what to send.
pub fn parse_line(line: &str) -> Result<Command, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if let Some(rest) = line.strip_prefix("//") {
        return Ok(Command::Send(Message::Text(format!("/{rest}").into())));
    }
    let Some(cmd) = line.strip_prefix('/') else {
        return Ok(Command::Send(Message::Text(line.to_string().into())));
    };
    let (word, arg) = cmd.split_once(' ').unwrap_or((cmd, ""));
    match word {
        "ping" => Ok(Command::Send(Message::Ping(Bytes::from(
            arg.as_bytes().to_vec(),
        )))),
        "binary" => {
            let hex: String = arg.chars().filter(|c| !c.is_whitespace()).collect();
            if hex.len() % 2 != 0 {
                return Err(format!(
                    "/binary needs whole bytes: {hex:?} has an odd number of hex digits"
                ));
            }
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| format!("/binary takes hex digits (0-9, a-f), not {arg:?}"))?;
            Ok(Command::Send(Message::Binary(Bytes::from(bytes))))
        }
        "big" => {
            let n: usize = arg
                .trim()
                .parse()
                .map_err(|_| format!("/big takes a number of bytes, not {arg:?}"))?;
            let text: String = (0..n).map(|i| (b'a' + (i % 26) as u8) as char).collect();
            Ok(Command::Send(Message::Text(text.into())))
        }
        "close" => {
            let (code, reason) = arg.trim().split_once(' ').unwrap_or((arg.trim(), ""));
            let code: u16 = if code.is_empty() {
                1000
            } else {
                code.parse().map_err(|_| {
                    format!("/close takes a numeric code such as 1000, not {code:?}")
                })?
            };
            Ok(Command::Close(code, reason.to_string()))
        }
        "sleep" => {
            let secs: f64 = arg
                .trim()
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s >= 0.0 && *s <= 3600.0)
                .ok_or_else(|| format!("/sleep takes seconds (0 to 3600), not {arg:?}"))?;
            Ok(Command::Sleep(Duration::from_secs_f64(secs)))
        }
        "help" => Ok(Command::Help),
        other => Err(format!("unknown command /{other}; try /help")),
    }
}

pub const HELP: &str = "Type a line to send it as a text message. Commands:
  /ping [TEXT]            send a ping
  /binary HEX             send a binary message (e.g. /binary 00ff10)
  /big N                  send a text message of N bytes
  /close [CODE [REASON]]  close the connection (default 1000)
  /sleep SECONDS          wait before reading the next line (for scripts)
  //text                  send text that starts with a slash
End of input (Ctrl-D) closes with 1000.";

/// After the input ends: how long the server must stay quiet before the client closes.
const LINGER: Duration = Duration::from_millis(500);

/// How an interactive session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// Both close frames crossed.
    Clean(Option<u16>),
    /// The connection ended without a closing handshake, or failed.
    Broken(String),
}

/// Run the interactive client over `ws`, reading commands from `input`. `say` prints a line
/// for the user (errors in a command, help).
pub async fn interactive<R: tokio::io::AsyncBufRead + Unpin>(
    ws: &mut ClientStream,
    input: R,
    mut say: impl FnMut(&str),
) -> Ending {
    let mut lines = input.lines();
    let mut input_open = true;
    let mut close_code: Option<u16> = None;
    // When input ends, wait until the server has been quiet for a moment before closing, so
    // that the answers to the last lines (or a close the server starts) still arrive.
    let mut quiet_since = tokio::time::Instant::now();
    let mut closing = false;
    let mut paused_until = tokio::time::Instant::now();
    loop {
        let linger = tokio::time::sleep_until(quiet_since + LINGER);
        let paused = tokio::time::Instant::now() < paused_until;
        tokio::select! {
            incoming = ws.next() => match incoming {
                None => return Ending::Clean(close_code),
                Some(Ok(Message::Close(frame))) => {
                    close_code = frame.map(|f| u16::from(f.code));
                }
                Some(Ok(_)) => quiet_since = tokio::time::Instant::now(),
                Some(Err(WsError::ConnectionClosed)) => return Ending::Clean(close_code),
                Some(Err(e)) => {
                    if let Some(frame) = close_for(&e) {
                        let _ = ws.close(Some(frame)).await;
                    }
                    return Ending::Broken(e.to_string());
                }
            },
            _ = tokio::time::sleep_until(paused_until), if paused => {}
            line = lines.next_line(), if input_open && !paused => match line {
                Ok(Some(line)) => match parse_line(&line) {
                    Ok(Command::Send(msg)) => {
                        if let Err(e) = ws.send(msg).await {
                            say(&format!("cannot send: {e}"));
                        }
                    }
                    Ok(Command::Close(code, reason)) => {
                        let frame = CloseFrame { code: CloseCode::from(code), reason: Utf8Bytes::from(cut_reason(&reason)) };
                        if let Err(e) = ws.close(Some(frame)).await {
                            say(&format!("cannot close: {e}"));
                        }
                    }
                    Ok(Command::Help) => say(HELP),
                    Ok(Command::Sleep(d)) => paused_until = tokio::time::Instant::now() + d,
                    Err(e) => say(&e),
                },
                Ok(None) | Err(_) => {
                    input_open = false;
                    quiet_since = tokio::time::Instant::now();
                }
            },
            _ = linger, if !input_open && !closing => {
                closing = true;
                let frame = CloseFrame { code: CloseCode::Normal, reason: Utf8Bytes::from_static("end of input") };
                // Fails harmlessly if a close is already under way.
                let _ = ws.close(Some(frame)).await;
            }
        }
    }
}

/// Echo every message back until the connection closes (the Autobahn client's job).
pub async fn echo(ws: &mut ClientStream) {
    loop {
        let failure = match ws.next().await {
            None => return,
            Some(Ok(m)) => {
                let mut result = reply(ws, m).await;
                while result.is_ok() {
                    match ws.next().now_or_never() {
                        Some(Some(Ok(m))) => result = reply(ws, m).await,
                        Some(Some(Err(e))) => result = Err(e),
                        _ => break,
                    }
                }
                match result.and(ws.flush().await) {
                    Ok(()) => continue,
                    Err(e) => e,
                }
            }
            Some(Err(e)) => e,
        };
        if let Some(frame) = close_for(&failure) {
            let _ = ws.close(Some(frame)).await;
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while let Some(Ok(_)) = ws.next().await {}
            })
            .await;
        }
        return;
    }
}

async fn reply(ws: &mut ClientStream, m: Message) -> Result<(), WsError> {
    match m {
        Message::Text(_) | Message::Binary(_) => ws.feed(m).await,
        _ => Ok(()),
    }
}

/// Run every case of an Autobahn fuzzing server at `base` (e.g. `ws://127.0.0.1:9001`).
pub async fn autobahn(base: &str, agent: &str, mut say: impl FnMut(&str)) -> Result<u32, Error> {
    let base = base.trim_end_matches('/');
    let mut ws = connect(&format!("{base}/getCaseCount"), 0, None, 0, 1 << 20).await?;
    let mut count: Option<u32> = None;
    while let Some(msg) = ws.next().await {
        if let Ok(Message::Text(t)) = msg {
            count = t.trim().parse().ok();
        }
    }
    let count = count.ok_or("the Autobahn server did not say how many cases it has")?;
    say(&format!("Autobahn: {count} cases"));
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        match connect(
            &url,
            case as u64,
            None,
            0,
            super::server::DEFAULT_MAX_MESSAGE,
        )
        .await
        {
            Ok(mut ws) => echo(&mut ws).await,
            // Some cases refuse the handshake on purpose or drop the connection: go on.
            Err(e) => say(&format!("case {case}: {e}")),
        }
        if case % 50 == 0 {
            say(&format!("Autobahn: {case}/{count} cases run"));
        }
    }
    let mut ws = connect(
        &format!("{base}/updateReports?agent={agent}"),
        0,
        None,
        0,
        1 << 20,
    )
    .await?;
    while let Some(Ok(_)) = ws.next().await {}
    say("Autobahn: report written");
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_line_commands() {
        assert_eq!(
            parse_line("hello").unwrap(),
            Command::Send(Message::Text("hello".into()))
        );
        assert_eq!(
            parse_line("//x").unwrap(),
            Command::Send(Message::Text("/x".into()))
        );
        assert_eq!(
            parse_line("/binary 00 ff").unwrap(),
            Command::Send(Message::Binary(Bytes::from_static(&[0, 255])))
        );
        assert!(parse_line("/binary 0").unwrap_err().contains("odd"));
        assert_eq!(
            parse_line("/close 1001 bye now").unwrap(),
            Command::Close(1001, "bye now".into())
        );
        assert_eq!(
            parse_line("/close").unwrap(),
            Command::Close(1000, "".into())
        );
        let Command::Send(Message::Text(t)) = parse_line("/big 300").unwrap() else {
            panic!()
        };
        assert_eq!(t.len(), 300);
        assert!(parse_line("/nope").is_err());
    }

    #[test]
    fn target_refuses_tls_and_other_schemes() {
        assert_eq!(
            target("ws://127.0.0.1:9/x").unwrap(),
            ("127.0.0.1".into(), 9)
        );
        assert!(target("wss://a/").unwrap_err().to_string().contains("TLS"));
        assert!(target("http://a/").is_err());
    }
}
