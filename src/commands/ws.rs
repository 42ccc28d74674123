//! `wirelab ws serve | connect | echo`: WebSocket, live (see [`crate::ws`]).

use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::Error;
use super::stop::Signals;
use crate::cli::{ViewArgs, WsCommand, WsConnectArgs, WsEchoArgs, WsLoadArgs, WsServeArgs};
use crate::demos::{NetChoice, Place, Stage};
use crate::filter::Filter;
use crate::pipeline::{Config, Pipeline};
use crate::render::{Options, Printer, View, json};
use crate::source::OwnedFrame;
use crate::source::lab::Host;
use crate::ws::client::{self, Ending};
use crate::ws::server::{self, Mode, ServerConfig};
use crate::ws::show::{Shower, Side};
use crate::ws::tap::{Event, Pending};
use crate::ws::{lesson, load};

pub fn run(cmd: WsCommand, color: bool) -> Result<ExitCode, Error> {
    // The load client runs on one thread, so that the server it measures keeps the rest of
    // the machine.
    let rt = if matches!(cmd, WsCommand::Load(_)) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
    };
    match cmd {
        WsCommand::Serve(args) => rt.block_on(serve(args, color)),
        WsCommand::Connect(args) => rt.block_on(connect(args, color)),
        WsCommand::Echo(args) => rt.block_on(echo(args, color)),
        WsCommand::Load(args) => rt.block_on(load_cmd(args)),
    }
}

fn options(view: &ViewArgs, color: bool, default_layers: bool) -> Options {
    let mut opts = super::dissect::options(view, color);
    // The summary is the default everywhere; the lesson wants every field unless told.
    if default_layers && !std::env::args().any(|a| a.starts_with("--view")) {
        opts.view = View::Layers;
    }
    opts
}

/// Print events until every sender is gone. With `pending`, say how many frames were not
/// shown because the terminal could not keep up.
fn printer(
    mut shower: Shower<io::Stdout>,
    mut rx: mpsc::UnboundedReceiver<Event>,
    pending: Option<Arc<Pending>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            if let Some(p) = &pending {
                p.taken();
                let dropped = p.take_dropped();
                if dropped > 0 {
                    let note = format!(
                        "({dropped} frames not shown: they came faster than they could be printed; --quiet prints none)"
                    );
                    // Standard output may be JSON Lines only: the note goes with the narration.
                    if shower.view() == View::Json {
                        eprintln!("{note}");
                    } else {
                        let _ = shower.note(&note);
                    }
                }
            }
            if shower.show(&e).is_err() {
                // stdout is gone (a closed pipe): keep draining so senders never block.
                while rx.recv().await.is_some() {}
                return;
            }
        }
        let _ = shower.flush();
    })
}

async fn serve(args: WsServeArgs, color: bool) -> Result<ExitCode, Error> {
    // Catch Ctrl-C and SIGTERM before anything else: from now on they stop the server cleanly.
    let mut signals = Signals::new()?;
    if !(args.head_timeout > 0.0 && args.head_timeout.is_finite()) {
        return Err(format!(
            "--head-timeout {}: the time must be a positive number of seconds",
            args.head_timeout
        )
        .into());
    }
    let host = if args.public { "0.0.0.0" } else { "127.0.0.1" };
    // With --view json, standard output carries JSON Lines only; the server's sentences go
    // to standard error.
    crate::say::narration_to_stderr(args.view.view == View::Json);
    let listener = TcpListener::bind((host, args.port))
        .await
        .map_err(|e| format!("cannot listen on {host}:{}: {e}", args.port))?;
    let addr = listener.local_addr()?;
    if args.public {
        eprintln!(
            "wirelab: warning: --public: listening on every interface; anyone who can reach this machine on port {} can connect",
            addr.port()
        );
    }
    let mode = if args.echo { Mode::Echo } else { Mode::Chat };
    let port = addr.port();
    let shown = if args.public { "127.0.0.1" } else { host };
    crate::say!(
        "wirelab ws serve ({}): page at http://{shown}:{port}/  WebSocket at ws://{shown}:{port}/ws",
        match mode {
            Mode::Echo => "echo: every message goes back to its sender",
            Mode::Chat => "chat: every message goes to every client",
        }
    );
    let max_connections = args
        .max_connections
        .unwrap_or_else(server::default_max_connections);
    crate::say!(
        "listening on {addr}; at most {max_connections} connections, {} s for a request head; Ctrl-C stops",
        args.head_timeout
    );
    let cfg = ServerConfig {
        mode,
        max_message: args.max_message,
        idle_timeout: args.idle_timeout.map(Duration::from_secs_f64),
        preview: 4096,
        head_timeout: Duration::from_secs_f64(args.head_timeout),
        max_connections,
        queue_messages: args.queue,
        queue_bytes: args.queue_bytes,
        // Warnings (the cap reached, a client that fell behind) always go to standard error,
        // --quiet or not.
        warn: Some(server::Warn(Arc::new(|line: String| {
            eprintln!("wirelab ws serve: {}", crate::escape::escape(&line))
        }))),
        pending: (!args.quiet).then(|| Arc::new(Pending::default())),
    };
    let (events, task) = if args.quiet {
        (None, None)
    } else {
        let (tx, rx) = mpsc::unbounded_channel();
        let shower = Shower::new(
            io::stdout(),
            options(&args.view, color, false),
            Side::Server,
        )
        .explaining();
        (Some(tx), Some(printer(shower, rx, cfg.pending.clone())))
    };
    let mut stopped_by = None;
    let report = server::serve(listener, cfg, events, async {
        stopped_by = Some(signals.recv().await);
    })
    .await?;
    if let Some(t) = task {
        let _ = t.await;
    }
    crate::say!(
        "server stopped{}: {}",
        stopped_by
            .map(|s| format!(" ({})", super::stop::stopped_by(s)))
            .unwrap_or_default(),
        report.summary()
    );
    Ok(ExitCode::SUCCESS)
}

async fn connect(args: WsConnectArgs, color: bool) -> Result<ExitCode, Error> {
    if args.autobahn {
        client::autobahn(&args.url, &args.agent, |s| eprintln!("{s}")).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let shower = Shower::new(
        io::stdout(),
        options(&args.view, color, false),
        Side::Client,
    )
    .explaining();
    let task = printer(shower, rx, None);
    let mut ws = client::connect(&args.url, 1, Some(tx), 4096, args.max_message).await?;
    if io::stdin().is_terminal() {
        eprintln!("connected to {}; /help lists the commands", args.url);
    }
    // Standard input is read on a thread of its own (it blocks), one line at a time.
    let (line_tx, line_rx) = mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });
    let input = LinesReader::new(line_rx);
    let ending = client::interactive(&mut ws, input, |s| eprintln!("{s}")).await;
    drop(ws);
    let _ = task.await;
    match ending {
        Ending::Clean(code) => {
            eprintln!(
                "connection closed{}",
                code.map(|c| format!(" with code {c}")).unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        Ending::Broken(why) => {
            eprintln!("wirelab: connection ended without a closing handshake: {why}");
            Ok(ExitCode::from(2))
        }
    }
}

/// Lines from a channel as an `AsyncBufRead`, for [`client::interactive`].
struct LinesReader {
    rx: mpsc::UnboundedReceiver<String>,
    buf: Vec<u8>,
    pos: usize,
}

impl LinesReader {
    fn new(rx: mpsc::UnboundedReceiver<String>) -> LinesReader {
        LinesReader {
            rx,
            buf: Vec::new(),
            pos: 0,
        }
    }
}

impl tokio::io::AsyncRead for LinesReader {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        out: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        use tokio::io::AsyncBufRead;
        let available = match self.as_mut().poll_fill_buf(cx) {
            std::task::Poll::Ready(Ok(b)) => b,
            std::task::Poll::Ready(Err(e)) => return std::task::Poll::Ready(Err(e)),
            std::task::Poll::Pending => return std::task::Poll::Pending,
        };
        let n = available.len().min(out.remaining());
        out.put_slice(&available[..n]);
        self.consume(n);
        std::task::Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncBufRead for LinesReader {
    fn poll_fill_buf(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if this.pos >= this.buf.len() {
            match this.rx.poll_recv(cx) {
                std::task::Poll::Ready(Some(mut line)) => {
                    line.push('\n');
                    this.buf = line.into_bytes();
                    this.pos = 0;
                }
                std::task::Poll::Ready(None) => return std::task::Poll::Ready(Ok(&[])),
                std::task::Poll::Pending => return std::task::Poll::Pending,
            }
        }
        std::task::Poll::Ready(Ok(&this.buf[this.pos..]))
    }

    fn consume(self: std::pin::Pin<&mut Self>, amt: usize) {
        self.get_mut().pos += amt;
    }
}

async fn echo(args: WsEchoArgs, color: bool) -> Result<ExitCode, Error> {
    if args.net == NetChoice::Replay {
        return super::tcp::replay(WS_LESSON, &args.view, color);
    }
    let explicit_view = std::env::args().any(|a| a.starts_with("--view"));
    let stage = Stage::choose(args.net)?;
    let port = match stage.place {
        Place::Lab(_) => 8765,
        Place::Loopback => 0,
    };
    let listener = bind_server(&stage.place, port)?;
    let port = listener.local_addr()?.port();
    let ports = Arc::new(Mutex::new(vec![port]));
    let recording = super::tcp::start_recording(&stage, &ports)?;
    let capturing = recording.is_some();
    let json = args.view.view == View::Json;
    // With a capture, the JSON view is the captured frames alone; the other views tell the
    // lesson with the frames the byte tap saw, then show the capture.
    let mut shower = Shower::new(io::stdout(), options(&args.view, color, true), Side::Client)
        .notes_only((capturing && json) || args.view.view == View::Ladder);
    shower.note(&format!(
        "wirelab ws echo — {}\n",
        match stage.place {
            Place::Lab(_) => "in the lab: the server listens on the server host (192.0.2.2), the client connects from the client host (192.0.2.1)",
            Place::Loopback => "on this host's loopback interface (127.0.0.1)",
        }
    ))?;
    if let Some(e) = &stage.no_lab {
        shower.note(&format!("Not in the lab: {e}\n"))?;
    }
    let step = args.step;
    let preview = if args.full {
        server::DEFAULT_MAX_MESSAGE
    } else {
        lesson::SHORT_PREVIEW
    };
    let lesson = lesson::run(&mut shower, listener, preview, || {
        if step {
            eprint!("(press Enter) ");
            let mut s = String::new();
            let _ = io::stdin().read_line(&mut s);
        }
    })
    .await;
    shower.flush()?;
    let captured = match recording {
        Some(r) => Some(r.finish()?),
        None => None,
    };
    lesson?;
    let mut view = ViewArgs {
        view: if explicit_view {
            args.view.view
        } else {
            View::Ladder
        },
        ..args.view.clone()
    };
    // Short by default: long runs of segments in the middle of a message are left out of the
    // listing (JSON stays complete: a program reads it).
    let runs = match &captured {
        Some(c) if !args.full && !json => super::brief::long_runs(&c.frames),
        _ => Vec::new(),
    };
    if !runs.is_empty() {
        view.filter = super::brief::filter_without(&runs, view.filter.as_deref());
    }
    let mut out = io::stdout().lock();
    match &captured {
        Some(c) => {
            if !json {
                let head = format!(
                    "\n── The same connection on the wire: {} frames captured on {} ──\n",
                    c.frames.len(),
                    stage.place.iface()
                );
                writeln!(out, "{}", super::fitted(&head))?;
                if let Some(note) = super::brief::left_out(&runs) {
                    writeln!(out, "{}\n", super::fitted(&note))?;
                }
            }
            show_frames(&c.frames, &view, color, port, &mut out)?;
        }
        None => {
            let why = stage
                .no_capture
                .as_ref()
                .map(|e| e.to_string())
                .unwrap_or_default();
            if view.view == View::Ladder {
                let path = crate::demos::bundled_trace(WS_LESSON);
                writeln!(
                    out,
                    "\nNo packets could be captured here ({why}); the frames above were seen at the \
                     socket by the byte tap. The ladder below is the recorded trace {}:\n",
                    path.display()
                )?;
                let frames = crate::source::file::read_all(&path)?;
                show_frames(&frames, &view, color, 8765, &mut out)?;
            } else if !json {
                writeln!(
                    out,
                    "\nNo packets could be captured here ({why}); the frames above were seen at the \
                     socket by the byte tap. `--net replay` shows the recorded trace of this lesson."
                )?;
            }
        }
    }
    out.flush()?;
    drop(out);
    super::tcp::write_if_asked(
        args.write.as_deref(),
        captured.as_ref().map(|c| &c.frames[..]),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The lesson whose recorded trace `ws echo` falls back to.
const WS_LESSON: &str = "07_websocket";

/// Bind the server's listening socket: on the server host in the lab (a socket belongs to
/// the network namespace of the thread that made it), on 127.0.0.1 otherwise.
pub fn bind_server(place: &Place, port: u16) -> Result<TcpListener, Error> {
    let ip = place.server_ip();
    let std_listener = std::thread::scope(|s| {
        s.spawn(|| -> io::Result<std::net::TcpListener> {
            place.enter(Host::Server)?;
            let l = std::net::TcpListener::bind((ip, port))?;
            l.set_nonblocking(true)?;
            Ok(l)
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the binding thread panicked")))
    })
    .map_err(|e| format!("cannot listen on {ip}:{port}: {e}"))?;
    Ok(TcpListener::from_std(std_listener)?)
}

/// Show captured frames through the whole pipeline (the engine, the stream analysis where
/// the view needs it, and the HTTP/WebSocket/Engine.IO/Socket.IO layers), in `view`. In the
/// JSON view each object also says which way the frame went (`direction`), as the byte tap's
/// objects do: toward `server_port` is client to server.
pub fn show_frames(
    frames: &[OwnedFrame],
    view: &ViewArgs,
    color: bool,
    server_port: u16,
    out: &mut impl Write,
) -> Result<(), Error> {
    let filter = match &view.filter {
        Some(expr) => Some(Filter::parse(expr).map_err(|e| format!("--filter {expr:?}: {e}"))?),
        None => None,
    };
    let mut printer = Printer::new(&mut *out, super::dissect::options(view, color));
    let names = filter.as_ref().map(|f| f.field_names());
    let mut pipe = Pipeline::new(Config::for_display(
        view.view != View::Summary,
        names.as_deref(),
    ));
    let mut shown = 0u64;
    for f in frames {
        if view.count.is_some_and(|c| shown >= c) {
            break;
        }
        let d = pipe.push(&f.as_frame());
        if filter.as_ref().is_some_and(|flt| !flt.matches(d)) {
            continue;
        }
        shown += 1;
        if view.view == View::Json {
            let mut j = json::packet(d);
            let ports = d.tcp_segment().map(|s| (s.src_port, s.dst_port));
            let dir = match ports {
                Some((_, p)) if p == server_port => Some("client_to_server"),
                Some((p, _)) if p == server_port => Some("server_to_client"),
                _ => None,
            };
            if let Some(dir) = dir {
                j["direction"] = dir.into();
            }
            printer.text(&format!("{j}\n"))?;
        } else {
            printer.print(d)?;
        }
    }
    pipe.finish();
    printer.finish()?;
    Ok(())
}

async fn load_cmd(args: WsLoadArgs) -> Result<ExitCode, Error> {
    let (host, _) = client::target(&args.url)?;
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(format!(
            "the load client only sends to loopback (127.0.0.0/8, ::1), not {host}"
        )
        .into());
    }
    if let Some(n) = args.hold {
        let (held, echoed) = load::hold(&args.url, n, args.seconds).await?;
        println!("held={held} echoed={echoed} asked={n}");
        return Ok(if echoed as usize == n {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let r = load::echo_load(&load::LoadConfig {
        url: args.url.clone(),
        connections: args.connections,
        messages: args.messages,
        size: args.size,
        window: args.window,
        seconds: args.seconds,
    })
    .await?;
    println!(
        "messages_per_second={:.0} echoed={} elapsed={:.3} failed_connections={}",
        r.per_second(),
        r.echoed,
        r.elapsed,
        r.failed_connections
    );
    Ok(ExitCode::SUCCESS)
}
