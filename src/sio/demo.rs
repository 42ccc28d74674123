//! `wirelab sio demo`: one server (or two sharing rooms through Redis), three clients, and
//! every way a Socket.IO server can choose who hears an event.
//!
//! The clients are wirelab's own ([`super::client`]), so every packet they send and receive is
//! printed raw as it happens, and the server's log says what each handler decided. At the end
//! a table shows who received what, step by step, beside what Socket.IO promises.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use colored::Colorize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::client::{Client, ClientOptions, Dir, Incoming, Trace};
use super::id::ID_BITS;
use super::server::{self, Io, Log, Running, ServerOptions, Target};
use crate::Error;
use crate::dissect::engineio;

/// How to run the demo.
#[derive(Clone, Debug, Default)]
pub struct DemoOptions {
    /// 1 or 2 servers.
    pub servers: u8,
    /// The Redis to share rooms through (two servers); `None` starts a local one.
    pub redis: Option<String>,
    /// Print every packet (raw and explained).
    pub wire: bool,
}

/// What one step showed.
#[derive(Clone, Debug)]
pub struct StepResult {
    pub name: &'static str,
    pub what: String,
    /// For each client, what it received in this step.
    pub got: Vec<String>,
    pub ok: bool,
}

const NAMES: [&str; 3] = ["alice", "bob", "carol"];
const WAIT: Duration = Duration::from_secs(3);
/// After the expected deliveries, how long to keep listening for unexpected ones.
const GRACE: Duration = Duration::from_millis(250);

/// Run the demo; print as it goes; return the step results (for the table and for tests).
pub async fn run(opts: &DemoOptions) -> Result<Vec<StepResult>, Error> {
    run_with(opts, Vec::new()).await
}

/// Run the demo with servers on sockets already listening (one per server, in order; in the
/// lab they were made on the server host). Servers without one listen on 127.0.0.1.
pub async fn run_with(
    opts: &DemoOptions,
    listeners: Vec<tokio::net::TcpListener>,
) -> Result<Vec<StepResult>, Error> {
    let mut listeners = listeners.into_iter();
    let two = opts.servers >= 2;
    let mut _local_redis = None;
    let redis_url = if two {
        match &opts.redis {
            Some(u) => Some(u.clone()),
            None => {
                let r = super::redis::LocalRedis::start()
                    .map_err(|e| format!("two servers need Redis: {e}"))?;
                crate::say!(
                    "{} started redis-server (pid {}) on 127.0.0.1:{}, no persistence; it stops when the demo ends",
                    "redis".bold(),
                    r.pid(),
                    r.port
                );
                let url = r.url();
                _local_redis = Some(r);
                Some(url)
            }
        }
    } else {
        None
    };

    // The servers.
    let mut servers: Vec<Running> = Vec::new();
    for name in if two { &["A", "B"][..] } else { &["A"][..] } {
        let label = format!("server {name}");
        let log: Log = Arc::new(move |line: String| {
            crate::say!("  {} │ {line}", label.magenta().bold());
        });
        let o = ServerOptions {
            name: name.to_string(),
            redis_url: redis_url.clone(),
            ..ServerOptions::default()
        };
        let s = match listeners.next() {
            Some(l) => server::start_on(l, &o, log).await?,
            None => server::start(&o, log).await?,
        };
        crate::say!(
            "{} listening on http://{} ({})",
            format!("server {name}").magenta().bold(),
            s.addr,
            if two {
                "rooms shared through Redis"
            } else {
                "rooms in memory"
            }
        );
        servers.push(s);
    }

    // The clients: alice and bob on server A, carol on the last server.
    let mut clients = Vec::new();
    let mut ids = Vec::new();
    for (i, name) in NAMES.iter().enumerate() {
        let server = if i == 2 {
            servers.last()
        } else {
            servers.first()
        }
        .expect("a server");
        let (tx, rx) = mpsc::unbounded_channel::<Trace>();
        if opts.wire {
            tokio::spawn(print_wire(name, rx));
        }
        let url = format!("http://{}", server.addr);
        let mut c = Client::connect(
            &url,
            ClientOptions {
                trace: Some(tx),
                ..ClientOptions::default()
            },
        )
        .await?;
        let welcome = c
            .wait_for("welcome", WAIT, &mut Vec::new())
            .await
            .ok_or("no welcome event from the server")?;
        let id = welcome
            .arg()
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        crate::say!(
            "{} connected to server {}: public id {} ({ID_BITS} random bits), in the room of that name",
            name.cyan().bold(),
            server.name,
            id.bold()
        );
        clients.push(c);
        ids.push(id);
    }
    settle(&mut clients).await;

    let mut results = Vec::new();

    // 1. To everyone.
    heading(1, "to everyone: alice emits chat; the server calls io.emit");
    clients[0].emit("chat", &[json!("hello, everyone")])?;
    results.push(
        observe(
            &mut clients,
            "all",
            "alice: chat → io.emit",
            "chat",
            [true, true, true],
        )
        .await,
    );

    // 2. To one client.
    heading(
        2,
        "to one: alice whispers to bob; the server emits to the room named by bob's id",
    );
    clients[0].emit("whisper", &[json!({ "to": ids[1], "text": "psst, bob" })])?;
    results.push(
        observe(
            &mut clients,
            "one",
            "alice: whisper to bob → io.to(bob's id)",
            "whisper",
            [false, true, false],
        )
        .await,
    );

    // 3. To a room.
    heading(
        3,
        "to a room: alice and carol join \"lab\"; alice sends to the room",
    );
    for i in [0, 2] {
        clients[i]
            .emit_with_ack("join", &[json!("lab")], WAIT)
            .await?;
    }
    clients[0].emit(
        "room",
        &[json!({ "room": "lab", "text": "lab meeting at 3" })],
    )?;
    results.push(
        observe(
            &mut clients,
            "room",
            "alice: room lab → io.to(\"lab\")",
            "room",
            [true, false, true],
        )
        .await,
    );

    // 4. To all but the sender.
    heading(
        4,
        "to all but the sender: bob shouts; the server calls socket.broadcast()",
    );
    clients[1].emit("shout", &[json!("BOB WAS HERE")])?;
    results.push(
        observe(
            &mut clients,
            "all but sender",
            "bob: shout → socket.broadcast()",
            "shout",
            [true, false, true],
        )
        .await,
    );

    // 5. Client asks, server acknowledges.
    heading(
        5,
        "ack, client → server: carol emits echo with an ack id; the answer comes back to her alone (an event of this chat, unrelated to Engine.IO's ping and pong packets)",
    );
    let ack = clients[2]
        .emit_with_ack("echo", &[json!("are you there?")], WAIT)
        .await;
    let mut r = observe(
        &mut clients,
        "ack (client→server)",
        "carol: echo with ack id",
        "",
        [false, false, false],
    )
    .await;
    match ack {
        Ok(_) => r.got[2] = "its ack".into(),
        Err(e) => {
            r.got[2] = format!("no ack: {e}");
            r.ok = false;
        }
    }
    results.push(r);

    // 6. Server asks, client acknowledges.
    heading(
        6,
        "ack, server → client: the server asks carol and waits; her client answers",
    );
    let io: Io = servers[0].io.clone();
    let question = json!("what is 6 × 7?");
    let answers = io
        .emit_with_ack(&Target::Room(ids[2].clone()), "question", &question, WAIT)
        .await?;
    for (sid, a) in &answers {
        crate::say!(
            "  {} │ ack from carol (session {sid}): {}",
            "server A".magenta().bold(),
            match a {
                Ok(v) => v.to_string(),
                Err(e) => format!("none ({e})"),
            }
        );
    }
    let mut r = observe(
        &mut clients,
        "ack (server→client)",
        "server: question to carol, with ack",
        "question",
        [false, false, true],
    )
    .await;
    if !answers.iter().any(|(_, a)| a.is_ok()) {
        r.ok = false;
    } else {
        r.got[2].push_str(" (answered)");
    }
    results.push(r);

    // 7. No handler.
    heading(
        7,
        "unhandled: bob emits \"dance\", which has no handler: ignored, and bob stays connected",
    );
    clients[1].emit("dance", &[json!({ "moves": 3 })])?;
    let mut r = observe(
        &mut clients,
        "unhandled",
        "bob: dance (no handler)",
        "",
        [false, false, false],
    )
    .await;
    match clients[1]
        .emit_with_ack("echo", &[json!("still here?")], WAIT)
        .await
    {
        Ok(_) => r.got[1] = "nothing; echo still answered".into(),
        Err(e) => {
            r.got[1] = format!("disconnected? {e}");
            r.ok = false;
        }
    }
    results.push(r);

    for c in clients {
        c.close().await;
    }
    for s in servers {
        s.stop().await;
    }
    Ok(results)
}

/// Print a client's packets as they go, raw, with what they mean.
async fn print_wire(name: &'static str, mut rx: mpsc::UnboundedReceiver<Trace>) {
    while let Some(t) = rx.recv().await {
        let arrow = match t.dir {
            Dir::Sent => t.dir.arrow().yellow(),
            Dir::Received => t.dir.arrow().green(),
        };
        crate::say!(
            "  {:>5} {arrow} {}  {}",
            name.cyan(),
            t.text,
            format!("‹{}›", engineio::explain(&t.text)).dimmed()
        );
    }
}

fn heading(n: usize, what: &str) {
    crate::say!("\n{} {}", format!("Step {n}.").bold(), what.bold());
}

/// Let pending packets (welcome, acks) arrive and forget them.
async fn settle(clients: &mut [Client]) {
    for c in clients.iter_mut() {
        c.drain(Duration::from_millis(100)).await;
    }
}

/// Wait until every expected receiver got `event`, then listen a little longer for
/// deliveries that should not happen. Records what each client received.
async fn observe(
    clients: &mut [Client],
    name: &'static str,
    what: &str,
    event: &str,
    expect: [bool; 3],
) -> StepResult {
    let mut got: Vec<BTreeSet<String>> = vec![BTreeSet::new(); clients.len()];
    for (i, c) in clients.iter_mut().enumerate() {
        if expect[i] {
            let mut skipped = Vec::new();
            if c.wait_for(event, WAIT, &mut skipped).await.is_some() {
                got[i].insert(event.to_string());
            }
            record(&mut got[i], skipped);
        }
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let more = c.drain(GRACE).await;
        record(&mut got[i], more);
    }
    let ok = got.iter().zip(expect).all(|(g, e)| {
        if e {
            g.len() == 1 && g.contains(event)
        } else {
            g.is_empty()
        }
    });
    StepResult {
        name,
        what: what.to_string(),
        got: got
            .into_iter()
            .map(|g| {
                if g.is_empty() {
                    "—".to_string()
                } else {
                    g.into_iter().collect::<Vec<_>>().join(", ")
                }
            })
            .collect(),
        ok,
    }
}

fn record(got: &mut BTreeSet<String>, items: Vec<Incoming>) {
    for i in items {
        match i {
            Incoming::Event(e) => {
                got.insert(e.name);
            }
            Incoming::Closed(why) => {
                got.insert(format!("closed: {why}"));
            }
        }
    }
}

/// The summary table: who received what, laid out in `width` columns (the widest cells wrap at
/// spaces).
pub fn table(results: &[StepResult], width: usize) -> String {
    let mut b = tabled::builder::Builder::new();
    let mut head = vec!["step".to_string(), "what happened".to_string()];
    head.extend(NAMES.iter().map(|n| n.to_string()));
    head.push("as Socket.IO promises".into());
    b.push_record(head);
    for r in results {
        let mut row = vec![r.name.to_string(), r.what.clone()];
        row.extend(r.got.iter().cloned());
        row.push(if r.ok { "yes".into() } else { "NO".into() });
        b.push_record(row);
    }
    let mut t = b.build();
    t.with(tabled::settings::Style::rounded());
    t.with(
        tabled::settings::Width::wrap(width)
            .priority(tabled::settings::peaker::Priority::max(true))
            .keep_words(true),
    );
    t.to_string()
}
