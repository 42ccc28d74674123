//! `wirelab tcp echo | serve | connect`.
//!
//! `echo` runs both roles (in the lab when it can) and shows the socket calls and the packets
//! on one time line; `serve` and `connect` are the two roles on their own, for two terminals,
//! narrating each call on standard error while the data goes to standard output.

use std::io::{self, BufRead, BufWriter, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, ToSocketAddrs};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use colored::Colorize;
use socket2::{Domain, Socket, Type};

use super::Error;
use super::dissect::options;
use super::stop::{Stop, TICK, until_stopped};
use crate::cli::{TcpArgs, TcpCommand, TcpConnectArgs, TcpEchoArgs, TcpServeArgs, ViewArgs};
use crate::demos::narrate::{
    Event, Recorder, RenderOptions, Who, kernel_tcp_state, parse_proc_tcp, render,
};
use crate::demos::tcp::{EchoOptions, describe_recv};
use crate::demos::{
    AsRawFd, Captured, NetChoice, Place, Recording, Stage, bundled_trace, quote, touches_port,
};
use crate::escape::{Style, escape_bytes};
use crate::filter::Filter;
use crate::render::{Printer, View};
use crate::source::OwnedFrame;
use crate::source::file::{CaptureWriter, read_all};
use crate::stream::state::State;

pub fn run(args: &TcpArgs, color: bool) -> Result<ExitCode, Error> {
    match &args.command {
        TcpCommand::Echo(a) => echo(a, color),
        TcpCommand::Serve(a) => serve(a, color),
        TcpCommand::Connect(a) => connect(a, color),
        TcpCommand::Handshake(a) => super::handshake::run(a, color),
        TcpCommand::Transfer(a) => super::transfer::run(a, color),
    }
}

/// Everything a demo produced, ready to be shown.
pub struct Shown<'a> {
    pub title: &'a str,
    pub lesson: &'a str,
    pub stage: &'a Stage,
    pub events: Vec<Event>,
    pub captured: Option<Captured>,
    pub view: &'a ViewArgs,
    pub write: Option<&'a Path>,
    pub color: bool,
}

/// Print a demo's time line (and the reasons for any fallback), write its frames with `-w`,
/// and when nothing could be captured, replay the lesson's recorded trace.
pub fn present(s: Shown) -> Result<(), Error> {
    let filter = match &s.view.filter {
        Some(expr) => Some(Filter::parse(expr).map_err(|e| format!("--filter {expr:?}: {e}"))?),
        None => None,
    };
    let json = s.view.view == View::Json;
    let stdout = io::stdout().lock();
    let mut printer = Printer::new(BufWriter::new(stdout), options(s.view, s.color));
    let mut notes = String::new();
    if let Some(e) = &s.stage.no_lab {
        notes.push_str(&format!("Not in the lab: {e}\n\n"));
    }
    if let Some(e) = &s.stage.no_capture {
        notes.push_str(&format!(
            "No packets can be captured here: {e}\nThe socket calls below are real; the packets \
             are replayed afterwards from the recorded trace.\n\n"
        ));
    }
    let head = format!("{} — {}\n\n", s.title, s.stage.place.describe());
    if json {
        eprint!("{notes}");
    } else {
        printer.text(&if s.color {
            head.bold().to_string()
        } else {
            head
        })?;
        printer.text(&notes)?;
    }
    let frames: &[OwnedFrame] = s.captured.as_ref().map_or(&[], |c| &c.frames);
    render(
        &s.events,
        frames,
        &mut printer,
        &RenderOptions {
            view: s.view.view,
            color: s.color,
            filter: filter.as_ref(),
            count: s.view.count,
        },
    )?;
    if let Some(c) = &s.captured
        && !json
    {
        printer.text(&format!(
            "\n{} frames captured on {}; {}.\n",
            c.frames.len(),
            s.stage.place.iface(),
            c.stats.describe_dropped()
        ))?;
    }
    if s.captured.is_none() {
        let path = bundled_trace(s.lesson);
        match read_all(&path) {
            Ok(frames) => {
                if !json {
                    printer.text(&format!(
                        "\nReplaying the recorded trace {} (made in the lab with the same \
                         demo):\n\n",
                        path.display()
                    ))?;
                }
                render(
                    &[],
                    &frames,
                    &mut printer,
                    &RenderOptions {
                        view: s.view.view,
                        color: s.color,
                        filter: filter.as_ref(),
                        count: s.view.count,
                    },
                )?;
            }
            Err(e) => {
                printer.text(&format!(
                    "\nThe recorded trace cannot be read either: {e}\n"
                ))?;
            }
        }
    }
    printer.flush()?;
    printer.say_cut();
    write_if_asked(s.write, s.captured.as_ref().map(|c| &c.frames[..]))
}

/// `-w FILE` of a demo: write what was captured, and say so; asked for a file but nothing
/// could be captured: an error that says the file was not written.
pub fn write_if_asked(path: Option<&Path>, frames: Option<&[OwnedFrame]>) -> Result<(), Error> {
    match (path, frames) {
        (Some(path), Some(frames)) => {
            write_frames(path, frames)?;
            eprintln!(
                "wirelab: {} frames written to {}",
                frames.len(),
                path.display()
            );
        }
        (Some(path), None) => {
            return Err(format!(
                "nothing was captured, so {} was not written",
                path.display()
            )
            .into());
        }
        _ => {}
    }
    Ok(())
}

/// Write frames to a pcap or pcapng file.
pub fn write_frames(path: &Path, frames: &[OwnedFrame]) -> Result<(), Error> {
    let link = frames
        .first()
        .map_or(crate::dissect::model::LinkType::ETHERNET, |f| f.link);
    let mut w = CaptureWriter::create(path, link)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    for f in frames {
        w.write(&f.as_frame())?;
    }
    w.flush()?;
    Ok(())
}

/// Replay a lesson's recorded trace (for `--net replay`).
pub fn replay(lesson: &str, view: &ViewArgs, color: bool) -> Result<ExitCode, Error> {
    let path = bundled_trace(lesson);
    let frames = read_all(&path)?;
    let filter = match &view.filter {
        Some(expr) => Some(Filter::parse(expr)?),
        None => None,
    };
    let stdout = io::stdout().lock();
    let mut printer = Printer::new(BufWriter::new(stdout), options(view, color));
    if view.view != View::Json {
        printer.text(&format!(
            "Replaying the recorded trace {}\n\n",
            path.display()
        ))?;
    }
    render(
        &[],
        &frames,
        &mut printer,
        &RenderOptions {
            view: view.view,
            color,
            filter: filter.as_ref(),
            count: view.count,
        },
    )?;
    printer.flush()?;
    printer.say_cut();
    Ok(ExitCode::SUCCESS)
}

/// Start capturing for a demo, keeping on loopback only the frames of the demo's ports.
pub fn start_recording(
    stage: &Stage,
    ports: &Arc<Mutex<Vec<u16>>>,
) -> Result<Option<Recording>, Error> {
    if stage.no_capture.is_some() {
        return Ok(None);
    }
    let rec = match stage.place {
        Place::Lab(_) => Recording::start(&stage.place, |_| true)?,
        Place::Loopback => {
            let ports = ports.clone();
            Recording::start(&stage.place, move |f| {
                let p = ports.lock().unwrap_or_else(|e| e.into_inner());
                p.iter().any(|&port| touches_port(f, port))
            })?
        }
    };
    Ok(Some(rec))
}

fn echo(a: &TcpEchoArgs, color: bool) -> Result<ExitCode, Error> {
    if a.net == NetChoice::Replay {
        return replay("03_tcp", &a.view, color);
    }
    let stage = Stage::choose(a.net)?;
    let port = a.port.unwrap_or(match stage.place {
        Place::Lab(_) => 7007,
        Place::Loopback => 0,
    });
    let messages = if a.messages.is_empty() {
        vec!["hello, lab\n".to_string()]
    } else {
        // Let `\n` in a message on the command line stand for a newline.
        a.messages.iter().map(|m| m.replace("\\n", "\n")).collect()
    };
    let opts = EchoOptions {
        port,
        messages,
        sock: a.sock.clone(),
    };
    let rec = Recorder::with(color, false);
    let ports = Arc::new(Mutex::new(Vec::new()));
    let recording = start_recording(&stage, &ports)?;
    let result = crate::demos::tcp::echo(&stage.place, &rec, &opts, &|p| {
        ports.lock().unwrap_or_else(|e| e.into_inner()).push(p)
    });
    let captured = recording.map(|r| r.finish()).transpose()?;
    present(Shown {
        title: "wirelab tcp echo",
        lesson: "03_tcp",
        stage: &stage,
        events: rec.take(),
        captured,
        view: &a.view,
        write: a.write.as_deref(),
        color,
    })?;
    result.map_err(|e| format!("the demo stopped early: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Standard input, read by one thread for the whole session. Each line is sent on the
/// connection of the moment; when input ends, that connection's sending half is shut down (a
/// FIN), and so is every later one's as soon as it starts. A server that serves thousands of
/// connections (`--keep`) thus keeps one thread for the keyboard, not one per connection.
struct Keyboard {
    state: Mutex<KeyboardState>,
}

#[derive(Default)]
struct KeyboardState {
    /// The connection lines go to, if one is open.
    current: Option<Current>,
    /// Standard input has ended.
    ended: bool,
}

/// The connection of the moment, as the keyboard thread needs it.
struct Current {
    sock: Weak<Socket>,
    /// The descriptor's number, as the narration shows it.
    fd: String,
    local: SocketAddrV4,
    peer: SocketAddrV4,
}

impl Current {
    /// Shut down the sending half (narrated), and show the state it leaves the socket in.
    fn shutdown(&self, rec: &Recorder, who: Who) {
        let Some(sock) = self.sock.upgrade() else {
            return;
        };
        let fd = &self.fd;
        let _ = rec.call(
            who,
            "shutdown",
            format!("fd {fd}, SHUT_WR"),
            || sock.shutdown(Shutdown::Write),
            |_| "0".into(),
        );
        let (local, peer) = (self.local, self.peer);
        rec.observe(
            who,
            format!("fd {fd}"),
            || kernel_tcp_state(local, Some(peer)),
            "/proc/net/tcp",
        );
    }
}

impl Keyboard {
    /// Start the thread that reads standard input.
    fn start(rec: Arc<Recorder>, who: Who, tally: Arc<Tally>) -> Arc<Keyboard> {
        let kb = Arc::new(Keyboard {
            state: Mutex::new(KeyboardState::default()),
        });
        let k = kb.clone();
        std::thread::spawn(move || {
            for line in io::stdin().lock().lines() {
                let Ok(mut line) = line else { break };
                line.push('\n');
                let state = k.lock();
                let Some(sock) = state.current.as_ref().and_then(|c| c.sock.upgrade()) else {
                    rec.note(who, "no connection is open: that line was not sent");
                    continue;
                };
                let fd = sock.as_raw_fd();
                if let Ok(n) = rec.call(
                    who,
                    "send",
                    format!("fd {fd}, {}", quote(line.as_bytes())),
                    || (&*sock).write(line.as_bytes()),
                    |n| n.to_string(),
                ) {
                    tally.sent.fetch_add(n as u64, Ordering::Relaxed);
                }
            }
            let mut state = k.lock();
            state.ended = true;
            if let Some(c) = &state.current {
                c.shutdown(&rec, who);
            }
        });
        kb
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KeyboardState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a `serve` or `connect` session did, for the summary at its end.
#[derive(Default)]
struct Tally {
    connections: AtomicU64,
    received: AtomicU64,
    sent: AtomicU64,
}

impl Tally {
    fn summary(&self, what: &str, stop: &Stop) -> String {
        let n = self.connections.load(Ordering::Relaxed);
        let mut s = format!(
            "wirelab {what}: {n} connection{}, {} bytes received, {} bytes sent",
            if n == 1 { "" } else { "s" },
            self.received.load(Ordering::Relaxed),
            self.sent.load(Ordering::Relaxed),
        );
        if stop.requested() {
            s.push_str("; ");
            s.push_str(&stop.why());
        }
        s
    }
}

/// Everything a session's connections share.
struct Session {
    rec: Arc<Recorder>,
    who: Who,
    keyboard: Arc<Keyboard>,
    tally: Arc<Tally>,
    stop: Stop,
    /// Write what arrives as it came (`--raw`), or escaped.
    raw: bool,
}

/// Talk over a connected socket: lines from standard input are sent (by the [`Keyboard`]),
/// what arrives is printed. At the end of standard input the sending direction is shut down
/// (a FIN); when the other side closes, or a signal asks to stop, the socket is closed.
fn talk(sock: Socket, ses: &Session, local: SocketAddrV4, peer: SocketAddrV4) -> io::Result<()> {
    let (rec, who) = (&ses.rec, ses.who);
    let fd = sock.as_raw_fd();
    ses.tally.connections.fetch_add(1, Ordering::Relaxed);
    // Wait at most a TICK in recv, to notice a stop request.
    sock.set_read_timeout(Some(TICK))?;
    // The keyboard thread sends typed lines on it; it holds only a weak reference, so that
    // when this side closes the socket it is really closed.
    let sock = Arc::new(sock);
    let me = Current {
        sock: Arc::downgrade(&sock),
        fd: fd.to_string(),
        local,
        peer,
    };
    {
        // Input that has already ended shuts this connection's sending half down at once.
        let mut state = ses.keyboard.lock();
        if state.ended {
            me.shutdown(rec, who);
        }
        state.current = Some(me);
    }
    let mut buf = vec![0u8; 65536];
    let mut out = io::stdout();
    let mut carry = Vec::new();
    loop {
        let got = rec.call(
            who,
            "recv",
            format!("fd {fd}, {} bytes max", buf.len()),
            || {
                until_stopped(&ses.stop, || {
                    let n = (&*sock).read(&mut buf)?;
                    Ok(buf[..n].to_vec())
                })
            },
            |d| describe_recv(d),
        );
        let data = match got {
            Ok(d) => d,
            // A signal asked to stop: close the connection and go.
            Err(_) if ses.stop.requested() => break,
            Err(e) => return Err(e),
        };
        if data.is_empty() {
            rec.observe(
                who,
                format!("fd {fd}"),
                || kernel_tcp_state(local, Some(peer)),
                "/proc/net/tcp",
            );
            break;
        }
        ses.tally
            .received
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        if ses.raw {
            out.write_all(&data)?;
        } else {
            out.write_all(printable(&mut carry, &data).as_bytes())?;
        }
        out.flush()?;
    }
    if !carry.is_empty() {
        out.write_all(escape_bytes(&carry, Style::Lines).as_bytes())?;
        out.flush()?;
    }
    ses.keyboard.lock().current = None;
    let _ = rec.call(
        who,
        "close",
        format!("fd {fd}"),
        || crate::demos::closed(sock),
        |_| "0".into(),
    );
    rec.observe(
        who,
        "the connection",
        || kernel_tcp_state(local, Some(peer)),
        "/proc/net/tcp",
    );
    Ok(())
}

/// Received bytes as text safe for a terminal ([`crate::escape`]): lines and tabs kept,
/// control characters shown as `\x1b`, `\r`. A UTF-8 character that the stream cut in two (its
/// first bytes at the end of one `recv`, the rest in the next) waits in `carry` for its end.
fn printable(carry: &mut Vec<u8>, data: &[u8]) -> String {
    carry.extend_from_slice(data);
    let keep = incomplete_tail(carry);
    let tail = carry.split_off(carry.len() - keep);
    let text = escape_bytes(carry, Style::Lines);
    *carry = tail;
    text
}

/// How many bytes at the end of `b` begin a UTF-8 character whose end has not come yet.
fn incomplete_tail(b: &[u8]) -> usize {
    for back in 1..=b.len().min(3) {
        let byte = b[b.len() - back];
        if byte & 0xc0 == 0x80 {
            continue; // a continuation byte: the character starts further back
        }
        let need = match byte {
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => return 0,
        };
        return if need > back { back } else { 0 };
    }
    0
}

fn live_recorder(color: bool) -> Arc<Recorder> {
    Arc::new(Recorder::with(
        color && io::IsTerminal::is_terminal(&io::stderr()),
        true,
    ))
}

/// The error for a port that cannot be bound, with the reason in words when it is "Address
/// already in use": for TCP, most often the TIME-WAIT of an earlier connection. `reuse` says
/// whether this socket had SO_REUSEADDR.
pub fn bind_error(proto: &str, addr: SocketAddrV4, e: &io::Error, reuse: bool) -> String {
    let verb = if proto == "udp" { "receive" } else { "listen" };
    let mut s = format!("cannot {verb} on {addr}: {e}");
    if e.kind() == io::ErrorKind::AddrInUse {
        s.push('\n');
        s.push_str(&address_in_use(proto, addr.port(), reuse));
    }
    s
}

/// Why a port is in use, read from the kernel's table of sockets (`/proc/net/tcp`).
fn address_in_use(proto: &str, port: u16, reuse: bool) -> String {
    if proto == "udp" {
        return format!(
            "Another program already receives on UDP port {port} (`ss -ulnp 'sport = :{port}'` \
             names it). UDP has no connections, so no TIME-WAIT: the port is free as soon as \
             that program closes its socket. Or choose another port (--port 0 lets the kernel \
             pick one)."
        );
    }
    let table = std::fs::read_to_string("/proc/thread-self/net/tcp").unwrap_or_default();
    let here: Vec<_> = parse_proc_tcp(&table)
        .into_iter()
        .filter(|e| e.local.port() == port)
        .collect();
    let waiting = here.iter().filter(|e| e.state == State::TimeWait).count();
    if here.iter().any(|e| e.state == State::Listen) {
        return format!(
            "Another program is listening on port {port} (`ss -ltnp 'sport = :{port}'` names \
             it): stop it, or choose another port (--port 0 lets the kernel pick one)."
        );
    }
    if waiting == 0 {
        return format!(
            "Something else holds port {port} (`ss -tanp 'sport = :{port}'` lists it); \
             --reuseaddr (SO_REUSEADDR) helps when it is an old connection in TIME-WAIT."
        );
    }
    let why = format!(
        "The port is still held by {waiting} earlier connection{} in TIME-WAIT. The side that \
         closes a TCP connection first keeps it for 2·MSL (RFC 9293, section 3.3.2; Linux waits \
         60 s), so that late segments of the old connection cannot be taken for part of a new \
         one.",
        if waiting == 1 { "" } else { "s" }
    );
    // Linux lets a socket bind over TIME-WAIT connections only if both it and they (through
    // the listening socket they were accepted on) had SO_REUSEADDR.
    let fix = if reuse {
        "This server set --reuseaddr (SO_REUSEADDR), but Linux allows it only when the old \
         connections had it too, and the server they belonged to did not set it. Wait for \
         their TIME-WAIT to end; from then on, start the server with --reuseaddr every time, \
         as most servers do, and a restart will not have to wait."
    } else {
        "Wait a minute, or start the server with --reuseaddr (SO_REUSEADDR), which lets a \
         listening socket bind the port anyway. On Linux that works when the earlier server \
         set it as well (its connections inherit it), which is why servers set it every time."
    };
    format!("{why} {fix}")
}

/// After a bind to port 0, ask the kernel which port it chose (getsockname), narrated.
pub fn chosen_port(
    rec: &Recorder,
    who: Who,
    s: &Socket,
    asked: SocketAddrV4,
) -> io::Result<SocketAddrV4> {
    if asked.port() != 0 {
        return Ok(asked);
    }
    rec.note(
        who,
        "port 0 asks the kernel to choose a free port; getsockname() says which",
    );
    rec.call(
        who,
        "getsockname",
        format!("fd {}", s.as_raw_fd()),
        || Ok(crate::demos::v4(&s.local_addr()?)),
        |a| a.to_string(),
    )
}

fn serve(a: &TcpServeArgs, color: bool) -> Result<ExitCode, Error> {
    const W: Who = Who::Server;
    let stop = Stop::on_signals()?;
    let rec = live_recorder(color);
    let ip = if a.public {
        eprintln!(
            "wirelab: warning: --public listens on every interface (0.0.0.0): other machines \
             on your network can connect to this port."
        );
        Ipv4Addr::UNSPECIFIED
    } else {
        Ipv4Addr::LOCALHOST
    };
    let addr = SocketAddrV4::new(ip, a.port);
    let l = rec.call(
        W,
        "socket",
        "AF_INET, SOCK_STREAM, 0",
        || Socket::new(Domain::IPV4, Type::STREAM, None),
        |s| format!("fd {}", s.as_raw_fd()),
    )?;
    let lfd = l.as_raw_fd();
    a.sock.apply(&l, &rec, W, true)?;
    rec.call(
        W,
        "bind",
        format!("fd {lfd}, {addr}"),
        || l.bind(&addr.into()),
        |_| "0".into(),
    )
    .map_err(|e| bind_error("tcp", addr, &e, a.sock.reuseaddr))?;
    let bound = chosen_port(&rec, W, &l, addr)?;
    rec.call(
        W,
        "listen",
        format!("fd {lfd}, backlog {}", a.sock.backlog),
        || l.listen(a.sock.backlog),
        |_| "0".into(),
    )?;
    rec.observe(
        W,
        format!("fd {lfd}"),
        || kernel_tcp_state(bound, None),
        "/proc/net/tcp",
    );
    eprintln!(
        "wirelab: listening on {bound}; in another terminal: wirelab tcp connect 127.0.0.1:{}; \
         Ctrl-C stops",
        bound.port()
    );
    // Wait at most a TICK in accept (Linux applies SO_RCVTIMEO to it), to notice Ctrl-C.
    l.set_read_timeout(Some(TICK))?;
    let tally = Arc::new(Tally::default());
    let ses = Session {
        rec: rec.clone(),
        who: W,
        keyboard: Keyboard::start(rec.clone(), W, tally.clone()),
        tally,
        stop,
        raw: a.raw,
    };
    loop {
        let accepted = rec.call(
            W,
            "accept",
            format!("fd {lfd}"),
            || until_stopped(&stop, || l.accept()),
            |(c, p)| {
                format!(
                    "fd {} (connected to {})",
                    c.as_raw_fd(),
                    crate::demos::v4(p)
                )
            },
        );
        let (c, peer) = match accepted {
            Ok(x) => x,
            Err(_) if stop.requested() => break,
            Err(e) => return Err(e.into()),
        };
        let peer = crate::demos::v4(&peer);
        let local = crate::demos::v4(&c.local_addr()?);
        if a.sock.nodelay {
            c.set_tcp_nodelay(true)?;
        }
        rec.observe(
            W,
            format!("fd {}", c.as_raw_fd()),
            || kernel_tcp_state(local, Some(peer)),
            "/proc/net/tcp",
        );
        talk(c, &ses, local, peer)?;
        if !a.keep || stop.requested() {
            break;
        }
    }
    let _ = rec.call(
        W,
        "close",
        format!("fd {lfd}"),
        || crate::demos::closed(l),
        |_| "0".into(),
    );
    eprintln!("{}", ses.tally.summary("tcp serve", &stop));
    Ok(ExitCode::SUCCESS)
}

fn connect(a: &TcpConnectArgs, color: bool) -> Result<ExitCode, Error> {
    const W: Who = Who::Client;
    let stop = Stop::on_signals()?;
    let rec = live_recorder(color);
    let target = a
        .addr
        .to_socket_addrs()
        .map_err(|e| format!("{}: not a HOST:PORT address: {e}", a.addr))?
        .find_map(|s| match s {
            SocketAddr::V4(v) => Some(v),
            SocketAddr::V6(_) => None,
        })
        .ok_or_else(|| format!("{}: no IPv4 address", a.addr))?;
    let s = rec.call(
        W,
        "socket",
        "AF_INET, SOCK_STREAM, 0",
        || Socket::new(Domain::IPV4, Type::STREAM, None),
        |s| format!("fd {}", s.as_raw_fd()),
    )?;
    let fd = s.as_raw_fd();
    a.sock.apply(&s, &rec, W, true)?;
    rec.call(
        W,
        "connect",
        format!("fd {fd}, {target}"),
        || s.connect(&target.into()),
        |_| "0".into(),
    )
    .map_err(|e| format!("cannot connect to {target}: {e}"))?;
    let local = crate::demos::v4(&s.local_addr()?);
    rec.observe(
        W,
        format!("fd {fd} ({local})"),
        || kernel_tcp_state(local, Some(target)),
        "/proc/net/tcp",
    );
    let tally = Arc::new(Tally::default());
    let ses = Session {
        rec: rec.clone(),
        who: W,
        keyboard: Keyboard::start(rec.clone(), W, tally.clone()),
        tally,
        stop,
        raw: a.raw,
    };
    talk(s, &ses, local, target)?;
    eprintln!("{}", ses.tally.summary("tcp connect", &stop));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_waits_for_the_end_of_a_cut_character() {
        let mut carry = Vec::new();
        // "é" is C3 A9: the stream cut it after its first byte.
        assert_eq!(printable(&mut carry, b"caf\xc3"), "caf");
        assert_eq!(printable(&mut carry, b"\xa9!\x1b[2J\n"), "é!\\x1b[2J\n");
        assert!(carry.is_empty());
        // A byte that can never start a character is shown at once.
        assert_eq!(printable(&mut carry, b"\xff"), "\\xff");
    }

    #[test]
    fn incomplete_tail_counts_only_a_started_character() {
        assert_eq!(incomplete_tail(b"abc"), 0);
        assert_eq!(incomplete_tail(b"a\xe2\x82"), 2);
        assert_eq!(incomplete_tail(b"a\xe2\x82\xac"), 0);
        assert_eq!(incomplete_tail(b"\xf0"), 1);
    }
}
