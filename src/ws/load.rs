//! A load client for benchmarking WebSocket echo servers (`wirelab ws load`, hidden).
//!
//! Each connection keeps `window` messages in flight: it sends that many, then sends one more
//! for every echo that comes back, until it has sent `messages` or `seconds` have passed;
//! then it waits for the last echoes and closes. The result is echoes received per second
//! over all connections. The same client drives every server compared, so the comparison is
//! fair. Everything is bounded: by count, by time, and by a hard deadline.
//!
//! `hold` mode opens many connections and keeps them all open at once, checks each still
//! echoes, and reports how many were held.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

use super::client;
use crate::Error;

#[derive(Clone, Debug)]
pub struct LoadConfig {
    pub url: String,
    pub connections: usize,
    pub messages: u64,
    pub size: usize,
    pub window: u64,
    pub seconds: f64,
}

#[derive(Clone, Debug, Default)]
pub struct LoadResult {
    pub echoed: u64,
    pub elapsed: f64,
    pub failed_connections: u64,
}

impl LoadResult {
    pub fn per_second(&self) -> f64 {
        self.echoed as f64 / self.elapsed.max(1e-9)
    }
}

/// Run the echo load.
pub async fn echo_load(cfg: &LoadConfig) -> Result<LoadResult, Error> {
    let payload: Utf8Bytes = "x".repeat(cfg.size).into();
    // Connect everyone first, so the timed part measures messages, not handshakes.
    let mut conns = Vec::with_capacity(cfg.connections);
    let gate = Arc::new(Semaphore::new(200));
    let mut pending = tokio::task::JoinSet::new();
    for i in 0..cfg.connections {
        let url = cfg.url.clone();
        let gate = gate.clone();
        pending.spawn(async move {
            let _permit = gate.acquire_owned().await;
            client::connect(&url, i as u64, None, 0, 1 << 20).await
        });
    }
    let mut failed = 0;
    while let Some(r) = pending.join_next().await {
        match r {
            Ok(Ok(ws)) => conns.push(ws),
            _ => failed += 1,
        }
    }
    if conns.is_empty() {
        return Err(format!("could not open any connection to {}", cfg.url).into());
    }
    let echoed = Arc::new(AtomicU64::new(0));
    let limit = Duration::from_secs_f64(cfg.seconds);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mut ws in conns {
        let payload = payload.clone();
        let echoed = echoed.clone();
        let (messages, window) = (cfg.messages, cfg.window.max(1));
        tasks.spawn(async move {
            let mut sent = 0u64;
            let mut got = 0u64;
            let initial = window.min(messages);
            for _ in 0..initial {
                if ws.feed(Message::Text(payload.clone())).await.is_err() {
                    return;
                }
                sent += 1;
            }
            if ws.flush().await.is_err() {
                return;
            }
            // Hard stop: the time limit plus a grace period for the last echoes.
            let deadline = tokio::time::Instant::now() + limit + Duration::from_secs(5);
            while got < sent {
                let next = tokio::time::timeout_at(deadline, ws.next()).await;
                let mut arrived = match next {
                    Ok(Some(Ok(Message::Text(_) | Message::Binary(_)))) => 1,
                    Ok(Some(Ok(_))) => 0,
                    _ => return,
                };
                // Take every echo already here, then answer them all with one write.
                while let Some(Some(m)) = ws.next().now_or_never() {
                    match m {
                        Ok(Message::Text(_) | Message::Binary(_)) => arrived += 1,
                        Ok(_) => {}
                        Err(_) => return,
                    }
                }
                got += arrived;
                echoed.fetch_add(arrived, Ordering::Relaxed);
                let mut fed = false;
                for _ in 0..arrived {
                    if sent >= messages || start.elapsed() >= limit {
                        break;
                    }
                    if ws.feed(Message::Text(payload.clone())).await.is_err() {
                        return;
                    }
                    sent += 1;
                    fed = true;
                }
                if fed && ws.flush().await.is_err() {
                    return;
                }
            }
            let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
        });
    }
    while tasks.join_next().await.is_some() {}
    Ok(LoadResult {
        echoed: echoed.load(Ordering::Relaxed),
        elapsed: start.elapsed().as_secs_f64(),
        failed_connections: failed,
    })
}

/// Open `n` connections and hold them all open at once; then check that every one still
/// echoes a message. Each connection echoes once as soon as it is open, so that what the
/// server holds meanwhile is a connection that has been used (its buffers touched), not
/// only accepted. Returns (held, echoed): the connections that were open and had echoed
/// once, and those that echoed again after the hold.
pub async fn hold(url: &str, n: usize, seconds: f64) -> Result<(u64, u64), Error> {
    let gate = Arc::new(Semaphore::new(256));
    let mut pending = tokio::task::JoinSet::new();
    for i in 0..n {
        let url = url.to_string();
        let gate = gate.clone();
        pending.spawn(async move {
            let _permit = gate.acquire_owned().await;
            tokio::time::timeout(Duration::from_secs(30), async {
                let mut ws = client::connect(&url, i as u64, None, 0, 1 << 16)
                    .await
                    .ok()?;
                echo_once(&mut ws, "hello").await?;
                Some(ws)
            })
            .await
            .ok()
            .flatten()
        });
    }
    let mut conns = Vec::with_capacity(n);
    while let Some(r) = pending.join_next().await {
        if let Ok(Some(ws)) = r {
            conns.push(ws);
        }
    }
    let held = conns.len() as u64;
    // All are open now; hold them a moment, then prove each is alive.
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    let mut checks = tokio::task::JoinSet::new();
    for mut ws in conns {
        checks.spawn(async move {
            let ok =
                tokio::time::timeout(Duration::from_secs(30), echo_once(&mut ws, "still here?"))
                    .await
                    .ok()
                    .flatten()
                    .is_some();
            let _ = tokio::time::timeout(Duration::from_secs(5), ws.close(None)).await;
            ok
        });
    }
    let mut echoed = 0;
    while let Some(r) = checks.join_next().await {
        if r.unwrap_or(false) {
            echoed += 1;
        }
    }
    Ok((held, echoed))
}

/// Send one text message and wait for a text message back.
async fn echo_once<S>(ws: &mut S, text: &str) -> Option<()>
where
    S: futures_util::Sink<Message> + futures_util::Stream<Item = Result<Message, WsError>> + Unpin,
{
    ws.send(Message::Text(text.into())).await.ok()?;
    loop {
        match ws.next().await? {
            Ok(Message::Text(_)) => return Some(()),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}
