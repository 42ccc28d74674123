//! Load client for `bench/sio.sh`: fan a room broadcast out to many connected clients and
//! count deliveries per second. It speaks Engine.IO v4 / Socket.IO v5 over WebSocket by hand
//! and does as little as it can per message (it only looks at the first bytes), so the same
//! client measures any server: wirelab's (socketioxide) and node's socket.io alike.
//!
//! Every connection goes to the loopback URLs given; the run is bounded in count (`--clients`,
//! `--messages`) and in time (`--timeout-secs`), and stops by itself.
//!
//! ```text
//! cargo run --release --example sio_load -- --url http://127.0.0.1:3000 --clients 1000 --messages 200
//! ```

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser, Debug)]
#[command(about = "Room-broadcast fan-out load for a Socket.IO server (loopback only)")]
struct Args {
    /// Server URL(s), http://127.0.0.1:PORT; receivers are spread over them in turn, the
    /// sender uses the first.
    #[arg(long, required = true)]
    url: Vec<String>,
    /// How many receiving clients join the room.
    #[arg(long, default_value_t = 1000)]
    clients: u64,
    /// How many room messages the sender emits.
    #[arg(long, default_value_t = 200)]
    messages: u64,
    /// At most this many broadcasts in flight (not yet delivered to every receiver).
    #[arg(long, default_value_t = 8)]
    window: u64,
    /// Bytes of text in each message.
    #[arg(long, default_value_t = 64)]
    payload: usize,
    /// Give up after this many seconds in all.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
    /// A label for the result line.
    #[arg(long, default_value = "server")]
    label: String,
}

/// Only loopback: this tool must never load anyone else's machine.
fn check_loopback(url: &str) -> Result<String, Error> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("ws://"))
        .ok_or("the URL must start with http:// or ws://")?;
    let host_port = rest.split('/').next().unwrap_or("");
    let host = host_port
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(host_port);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = if host == "localhost" {
        IpAddr::from([127, 0, 0, 1])
    } else {
        host.parse()
            .map_err(|_| format!("{host}: give a loopback IP address"))?
    };
    if !ip.is_loopback() {
        return Err(format!(
            "{ip} is not a loopback address; this load tool only targets this machine"
        )
        .into());
    }
    Ok(format!(
        "ws://{host_port}/socket.io/?EIO=4&transport=websocket"
    ))
}

/// Connect, do the Engine.IO and Socket.IO handshakes.
async fn connect(ws_url: &str) -> Result<Ws, Error> {
    // No Nagle delay on small writes (the servers turn it off too).
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(ws_url, None, true).await?;
    let mut opened = false;
    loop {
        let m = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .map_err(|_| "handshake timed out")?
            .ok_or("closed during handshake")??;
        let Message::Text(t) = m else { continue };
        let t = t.as_str();
        if t.starts_with('0') && !opened {
            opened = true;
            ws.send(Message::Text("40".into())).await?;
        } else if t == "2" {
            ws.send(Message::Text("3".into())).await?;
        } else if t.starts_with("40") {
            return Ok(ws);
        } else if t.starts_with("44") {
            return Err(format!("connect refused: {t}").into());
        }
    }
}

/// Wait for the ack `43<id>…`, answering pings meanwhile.
async fn wait_ack(ws: &mut Ws, id: u64) -> Result<(), Error> {
    let prefix = format!("43{id}");
    loop {
        let m = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .map_err(|_| "ack timed out")?
            .ok_or("closed")??;
        if let Message::Text(t) = m {
            if t.as_str() == "2" {
                ws.send(Message::Text("3".into())).await?;
            } else if t.as_str().starts_with(&prefix) {
                return Ok(());
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = Args::parse();
    let urls: Vec<String> = args
        .url
        .iter()
        .map(|u| check_loopback(u))
        .collect::<Result<_, _>>()?;
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);

    // Receivers: connect (50 at a time), join the room, then count room events, each its
    // own count so the sender can stay within `window` of the slowest one.
    let delivered = Arc::new(AtomicU64::new(0));
    let per_client: Arc<Vec<AtomicU64>> =
        Arc::new((0..args.clients).map(|_| AtomicU64::new(0)).collect());
    let mut receivers = Vec::new();
    let connect_start = Instant::now();
    let mut n = 0;
    while n < args.clients {
        let batch = (args.clients - n).min(50);
        let mut joins = Vec::new();
        for i in 0..batch {
            let url = urls[((n + i) as usize) % urls.len()].clone();
            let k = n + i;
            joins.push(tokio::spawn(async move {
                let mut ws = connect(&url)
                    .await
                    .map_err(|e| format!("client {k}: connect: {e}"))?;
                ws.send(Message::Text(r#"420["join","bench"]"#.into()))
                    .await?;
                wait_ack(&mut ws, 0)
                    .await
                    .map_err(|e| format!("client {k}: join: {e}"))?;
                Ok::<Ws, Error>(ws)
            }));
        }
        for (i, j) in joins.into_iter().enumerate() {
            let mut ws = j.await??;
            let delivered = delivered.clone();
            let per_client = per_client.clone();
            let k = (n as usize) + i;
            receivers.push(tokio::spawn(async move {
                while let Some(Ok(m)) = ws.next().await {
                    if let Message::Text(t) = m {
                        let t = t.as_str();
                        if t.starts_with(r#"42["room""#) {
                            per_client[k].fetch_add(1, Ordering::Relaxed);
                            delivered.fetch_add(1, Ordering::Relaxed);
                        } else if t == "2" && ws.send(Message::Text("3".into())).await.is_err() {
                            break;
                        }
                    }
                }
            }));
        }
        n += batch;
        if Instant::now() > deadline {
            return Err("connecting the clients took longer than --timeout-secs".into());
        }
    }
    let connect_secs = connect_start.elapsed().as_secs_f64();

    // The sender: not in the room; emits at most `window` broadcasts ahead of the slowest
    // receiver, so no socket's queue on the server holds more than `window` messages.
    let mut sender = connect(&urls[0]).await?;
    let text = "x".repeat(args.payload);
    let total = args.messages * args.clients;
    let start = Instant::now();
    let mut sent = 0u64;
    let mut timed_out = false;
    while delivered.load(Ordering::Relaxed) < total {
        if Instant::now() > deadline {
            timed_out = true;
            break;
        }
        let slowest = if sent >= args.window {
            per_client
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .min()
                .unwrap_or(0)
        } else {
            0
        };
        if sent < args.messages && sent < slowest + args.window {
            let msg = format!(r#"42["room",{{"room":"bench","text":"{text}","seq":{sent}}}]"#);
            sender.send(Message::Text(msg.into())).await?;
            sent += 1;
        } else {
            // Answer the sender's pings while waiting; never block for long.
            match tokio::time::timeout(Duration::from_millis(1), sender.next()).await {
                Ok(Some(Ok(Message::Text(t)))) if t.as_str() == "2" => {
                    sender.send(Message::Text("3".into())).await?;
                }
                Ok(None) | Ok(Some(Err(_))) => return Err("the sender was disconnected".into()),
                _ => {}
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let got = delivered.load(Ordering::Relaxed);
    for r in receivers {
        r.abort();
    }
    println!(
        "{}: clients={} messages={} delivered={}/{} in {:.3} s => {:.0} deliveries/s (connect {:.1} s){}",
        args.label,
        args.clients,
        args.messages,
        got,
        total,
        secs,
        got as f64 / secs,
        connect_secs,
        if timed_out { " TIMED OUT" } else { "" }
    );
    if timed_out || got < total {
        return Err(format!("only {got} of {total} deliveries arrived").into());
    }
    Ok(())
}
