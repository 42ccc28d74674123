//! `wirelab sio serve | connect | demo`: Socket.IO live (see [`crate::sio`]).

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use colored::Colorize;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use super::Error;
use super::stop::Signals;
use crate::cli::{SioCommand, SioConnectArgs, SioDemoArgs, SioServeArgs};
use crate::demos::{NetChoice, Place, Stage};
use crate::dissect::engineio;
use crate::escape::{escape, escape_lines, escaped};
use crate::sio::client::{self, Client, ClientOptions, Dir, Incoming, Trace};
use crate::sio::demo::{self, DemoOptions};
use crate::sio::id::ID_BITS;
use crate::sio::server::{self, Log, ServerOptions, json_arg};

pub fn run(cmd: SioCommand, color: bool) -> Result<ExitCode, Error> {
    let rt = tokio::runtime::Runtime::new()?;
    let result = match cmd {
        SioCommand::Serve(a) => rt.block_on(serve(a)),
        SioCommand::Connect(a) => rt.block_on(connect(a)),
        SioCommand::Demo(a) => rt.block_on(run_demo(a, color)),
    };
    // Reading the keyboard blocks a thread that only a key press would free: do not wait
    // for it when the command is over.
    rt.shutdown_timeout(Duration::from_millis(200));
    result
}

async fn serve(a: SioServeArgs) -> Result<ExitCode, Error> {
    // Catch Ctrl-C and SIGTERM before anything else: from now on they stop the server cleanly.
    let mut signals = Signals::new()?;
    if !(a.head_timeout > 0.0 && a.head_timeout.is_finite()) {
        return Err(format!(
            "--head-timeout {}: the time must be a positive number of seconds",
            a.head_timeout
        )
        .into());
    }
    let bind = if a.public {
        eprintln!(
            "{} --public: listening on every interface; anyone who can reach this machine can connect and chat",
            "warning:".yellow().bold()
        );
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    };
    let opts = ServerOptions {
        bind,
        port: a.port,
        redis_url: a.redis.clone(),
        name: a.name.clone(),
        max_payload: a.max_payload,
        verbose: !a.quiet,
        buffer: a.queue.max(1),
        head_timeout: Duration::from_secs_f64(a.head_timeout),
        max_connections: a
            .max_connections
            .unwrap_or_else(crate::ws::server::default_max_connections),
        ..ServerOptions::default()
    };
    let log: Log = Arc::new(|line: String| println!("{line}"));
    let running = server::start(&opts, log).await?;
    println!(
        "{} Socket.IO server {} listening on http://{} ({}); payload limit {} bytes; ids {ID_BITS} random bits",
        "wirelab sio serve:".bold(),
        opts.name,
        running.addr,
        match &opts.redis_url {
            Some(u) => format!("rooms shared through Redis {u}"),
            None => "rooms in memory".into(),
        },
        opts.max_payload
    );
    println!(
        "at most {} connections, {} s for a request head, {} packets waiting for a client",
        opts.max_connections, a.head_timeout, opts.buffer
    );
    println!(
        "open http://{} for the chat page; type /help for the console (Ctrl-C stops)",
        running.addr
    );
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let signal = loop {
        tokio::select! {
            sig = signals.recv() => break sig,
            line = lines.next_line(), if stdin_open => match line {
                // Answers quote what clients sent (their acks): escaped, lines kept.
                Ok(Some(line)) => match server::console(&running.io, &line, opts.ack_timeout).await {
                    Ok(out) if out.is_empty() => {}
                    Ok(out) => println!("{}", escape_lines(&out)),
                    Err(e) => println!("{} {}", "console:".red(), escape(&e.to_string())),
                },
                // No keyboard (started by a script): keep serving until Ctrl-C or a signal.
                _ => stdin_open = false,
            },
        }
    };
    println!("stopping ({})", super::stop::stopped_by(signal));
    let stats = running.stats.clone();
    running.stop().await;
    println!("server stopped: {}", stats.summary());
    Ok(ExitCode::SUCCESS)
}

/// Print each packet as it went over the wire, with its meaning under it. The server wrote
/// these: control characters in them are shown escaped ([`crate::escape`]), not obeyed.
async fn print_traces(mut rx: mpsc::UnboundedReceiver<Trace>, raw: bool) {
    while let Some(t) = rx.recv().await {
        let arrow = match t.dir {
            Dir::Sent => t.dir.arrow().yellow().bold(),
            Dir::Received => t.dir.arrow().green().bold(),
        };
        println!("{arrow} {}", escape(&t.text));
        if !raw {
            println!(
                "    {}",
                escape(&engineio::explain(&t.text)).into_owned().dimmed()
            );
        }
    }
}

async fn connect(a: SioConnectArgs) -> Result<ExitCode, Error> {
    let (tx, rx) = mpsc::unbounded_channel();
    let printer = tokio::spawn(print_traces(rx, a.raw));
    let reply: Option<Value> = match &a.ack_reply {
        Some(s) => {
            Some(serde_json::from_str(s).map_err(|e| format!("--ack-reply must be JSON: {e}"))?)
        }
        None => None,
    };
    let responder: client::Responder = Arc::new(move |event: &str, args: &[Value]| {
        let answer = match &reply {
            Some(v) => vec![v.clone()],
            None => client::default_answer(event, args),
        };
        println!(
            "    {}",
            escaped(format!(
                "the server asked for an ack of \"{event}\"; answering {}",
                Value::Array(answer.clone())
            ))
            .cyan()
        );
        answer
    });
    let mut c = Client::connect(
        &a.url,
        ClientOptions {
            trace: Some(tx),
            responder: Some(responder),
            ..ClientOptions::default()
        },
    )
    .await?;
    say_ids(&mut c).await;
    let failed = match &a.script {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut failed = 0;
            for (n, line) in text.lines().enumerate() {
                match command(&mut c, line).await {
                    Ok(Flow::Quit) => break,
                    Ok(Flow::Go) => {}
                    Err(e) => {
                        failed += 1;
                        println!(
                            "{} {}:{}: {}",
                            "failed:".red().bold(),
                            path.display(),
                            n + 1,
                            escape(&e.to_string())
                        );
                    }
                }
            }
            failed
        }
        None => {
            println!(
                "commands: /emit EVENT [JSON], /ack EVENT [JSON], /join ROOM, /leave ROOM, /raw PACKET, /quit; other text is sent as a chat"
            );
            let mut lines = BufReader::new(tokio::io::stdin()).lines();
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    line = lines.next_line() => match line {
                        Ok(Some(line)) => match command(&mut c, &line).await {
                            Ok(Flow::Quit) => break,
                            Ok(Flow::Go) => {}
                            Err(e) => println!("{} {}", "error:".red(), escape(&e.to_string())),
                        },
                        _ => break,
                    },
                    got = c.next(Duration::from_secs(3600)) => {
                        if let Some(Incoming::Closed(why)) = got {
                            println!("{} {}", "closed:".red().bold(), escape(&why));
                            break;
                        }
                    }
                }
            }
            0
        }
    };
    c.close().await;
    let _ = tokio::time::timeout(Duration::from_secs(1), printer).await;
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

enum Flow {
    Go,
    Quit,
}

const ACK_WAIT: Duration = Duration::from_secs(5);

/// One command typed (or read from a script) in `sio connect`.
async fn command(c: &mut Client, line: &str) -> Result<Flow, Error> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(Flow::Go);
    }
    let (cmd, rest) = match line.split_once(char::is_whitespace) {
        Some((a, b)) => (a, b.trim()),
        None => (line, ""),
    };
    let (word, data) = match rest.split_once(char::is_whitespace) {
        Some((a, b)) => (a, b.trim()),
        None => (rest, ""),
    };
    let args = |data: &str| -> Vec<Value> {
        if data.is_empty() {
            vec![]
        } else {
            vec![json_arg(data)]
        }
    };
    match cmd {
        "/quit" | "/exit" => return Ok(Flow::Quit),
        "/emit" if !word.is_empty() => c.emit(word, &args(data))?,
        "/ack" if !word.is_empty() => {
            let v = c.emit_with_ack(word, &args(data), ACK_WAIT).await?;
            println!(
                "    {}",
                escaped(format!("ack for \"{word}\": {}", Value::Array(v))).cyan()
            );
        }
        "/join" | "/leave" if !word.is_empty() => {
            let v = c
                .emit_with_ack(&cmd[1..], &[Value::String(word.into())], ACK_WAIT)
                .await?;
            println!(
                "    {}",
                escaped(format!("{}: {}", &cmd[1..], Value::Array(v))).cyan()
            );
        }
        "/raw" if !rest.is_empty() => c.send_raw(rest)?,
        "/wait" => {
            let ms: u64 = word.parse().map_err(|_| "/wait needs milliseconds")?;
            if let Some(Incoming::Closed(why)) = c
                .drain(Duration::from_millis(ms))
                .await
                .into_iter()
                .find(|i| matches!(i, Incoming::Closed(_)))
            {
                return Err(format!("connection closed: {why}").into());
            }
        }
        "/expect" if !word.is_empty() => {
            let secs: f64 = if data.is_empty() {
                5.0
            } else {
                data.parse().map_err(|_| "/expect EVENT [SECONDS]")?
            };
            let mut skipped = Vec::new();
            match c
                .wait_for(word, Duration::from_secs_f64(secs), &mut skipped)
                .await
            {
                Some(e) => println!(
                    "    {}",
                    escaped(format!("got \"{}\" {}", e.name, Value::Array(e.args))).cyan()
                ),
                None => return Err(format!("no {word:?} event within {secs} s").into()),
            }
        }
        s if s.starts_with('/') => {
            return Err(format!("{line}: unknown or incomplete command (/emit EVENT [JSON], /ack EVENT [JSON], /join ROOM, /leave ROOM, /raw PACKET, /wait MS, /expect EVENT [SECONDS], /quit)").into());
        }
        _ => c.emit("chat", &[Value::String(line.into())])?,
    }
    Ok(Flow::Go)
}

/// Say which id is which: the Engine.IO session (private), and "your id", the public one
/// others address you by (wirelab's server sends it in a `welcome` event; other servers'
/// socket id in the CONNECT answer is already public). The server chose every one of these
/// ids: they are shown escaped ([`crate::escape`]), not obeyed.
async fn say_ids(c: &mut Client) {
    let session = c.handshake.sid.clone().unwrap_or_else(|| "?".into());
    println!(
        "{} Engine.IO session {}: private (it authorises this connection; the server \
         tells no one else)",
        "connected.".bold(),
        escape(&session)
    );
    let mut skipped = Vec::new();
    match c
        .wait_for("welcome", Duration::from_secs(2), &mut skipped)
        .await
    {
        Some(w) => {
            let id = w
                .arg()
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            println!(
                "{} {} (public: others whisper to you with it; from the server's welcome event)",
                "your id:".bold(),
                escape(&id).bold()
            );
        }
        None => println!(
            "{} {} (the socket id in the server's CONNECT answer{})",
            "your id:".bold(),
            escape(&c.socket_id).bold(),
            if c.socket_id == session {
                "; this server sent no welcome event, and uses the private session id as the \
                 socket id too"
            } else {
                "; this server sent no welcome event"
            }
        ),
    }
    if skipped.iter().any(|i| matches!(i, Incoming::Closed(_))) {
        println!("{} the server ended the connection", "closed:".red().bold());
    }
}

async fn run_demo(a: SioDemoArgs, color: bool) -> Result<ExitCode, Error> {
    let lesson = if a.servers >= 2 {
        "09_socketio_scale"
    } else {
        "08_socketio"
    };
    if a.net == NetChoice::Replay {
        return super::tcp::replay(lesson, &a.view, color);
    }
    let explicit_view = std::env::args().any(|x| x.starts_with("--view"));
    // JSON Lines on standard output: every sentence of the demo goes to standard error.
    let json = a.view.view == crate::render::View::Json;
    crate::say::narration_to_stderr(json);
    let stage = Stage::choose(a.net)?;
    // In the lab the servers listen on the server host, on fixed ports; on loopback on free
    // ones.
    let mut listeners = Vec::new();
    for i in 0..a.servers.max(1) {
        let port = match stage.place {
            Place::Lab(_) => 3000 + i as u16,
            Place::Loopback => 0,
        };
        listeners.push(super::ws::bind_server(&stage.place, port)?);
    }
    let ports: Vec<u16> = listeners
        .iter()
        .filter_map(|l| l.local_addr().ok().map(|a| a.port()))
        .collect();
    let first_port = ports.first().copied().unwrap_or(0);
    let recording = super::tcp::start_recording(&stage, &Arc::new(Mutex::new(ports)))?;
    crate::say!(
        "{} {}",
        "wirelab sio demo".bold(),
        match stage.place {
            Place::Lab(_) =>
                "in the lab: the servers listen on the server host (192.0.2.2), the clients connect from the client host (192.0.2.1)",
            Place::Loopback => "on this host's loopback interface (127.0.0.1)",
        }
    );
    if let Some(e) = &stage.no_lab {
        crate::say!("Not in the lab: {e}");
    }
    if a.servers >= 2 && matches!(stage.place, Place::Lab(_)) && a.redis.is_none() {
        crate::say!(
            "(Redis, started by wirelab, listens on 127.0.0.1 of the client host, where wirelab's own threads run; the servers' Redis connections do not cross the cable)"
        );
    }
    let opts = DemoOptions {
        servers: a.servers,
        redis: a.redis,
        wire: !a.no_wire,
    };
    // Ctrl-C ends the demo cleanly: servers stop, a local Redis is stopped by its Drop.
    let outcome = tokio::select! {
        r = demo::run_with(&opts, listeners) => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    let captured = match recording {
        Some(r) => Some(r.finish()?),
        None => None,
    };
    let Some(results) = outcome else {
        crate::say!("interrupted");
        return Ok(ExitCode::from(130));
    };
    let results = results?;
    crate::say!("\n{}", "Who received what".bold());
    crate::say!("{}", demo::table(&results, super::term_width()));
    let bad = results.iter().filter(|r| !r.ok).count();
    if bad == 0 {
        crate::say!("Every step behaved as Socket.IO promises.");
    } else {
        crate::say!("{bad} step(s) did not behave as expected.");
    }
    // The traffic itself, through the pipeline, when a view was asked for.
    let mut out = std::io::stdout().lock();
    match &captured {
        Some(c) if explicit_view => {
            crate::say!(
                "\n── The traffic on the wire: {} frames captured on {} ──\n",
                c.frames.len(),
                stage.place.iface()
            );
            super::ws::show_frames(&c.frames, &a.view, color, first_port, &mut out)?;
        }
        Some(c) => writeln!(
            out,
            "{}",
            super::fitted(&format!(
                "\n{} frames were captured on {}; add --view summary|layers|hex|json|ladder to see them.",
                c.frames.len(),
                stage.place.iface()
            ))
        )?,
        None if explicit_view => {
            let why = stage
                .no_capture
                .as_ref()
                .map(|e| e.to_string())
                .unwrap_or_default();
            let path = crate::demos::bundled_trace(lesson);
            crate::say!(
                "\nNo packets could be captured here ({why}). The recorded trace {}:\n",
                path.display()
            );
            let frames = crate::source::file::read_all(&path)?;
            super::ws::show_frames(&frames, &a.view, color, 3000, &mut out)?;
        }
        None => {}
    }
    out.flush()?;
    drop(out);
    super::tcp::write_if_asked(a.write.as_deref(), captured.as_ref().map(|c| &c.frames[..]))?;
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
