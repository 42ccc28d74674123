//! `wirelab tcp echo | serve | connect`.
//!
//! `echo` runs both roles (in the lab when it can) and shows the socket calls and the packets
//! on one time line; `serve` and `connect` are the two roles on their own, for two terminals,
//! narrating each call on standard error while the data goes to standard output.

use std::io::{self, BufRead, BufWriter, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, ToSocketAddrs};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use colored::Colorize;
use socket2::{Domain, Socket, Type};

use super::Error;
use super::dissect::options;
use crate::cli::{TcpArgs, TcpCommand, TcpConnectArgs, TcpEchoArgs, TcpServeArgs, ViewArgs};
use crate::demos::narrate::{Event, Recorder, RenderOptions, Who, kernel_tcp_state, render};
use crate::demos::tcp::{EchoOptions, describe_recv};
use crate::demos::{
    AsRawFd, Captured, NetChoice, Place, Recording, Stage, bundled_trace, quote, touches_port,
};
use crate::filter::Filter;
use crate::render::{Printer, View};
use crate::source::OwnedFrame;
use crate::source::file::{CaptureWriter, read_all};

pub fn run(args: &TcpArgs, color: bool) -> Result<ExitCode, Error> {
    match &args.command {
        TcpCommand::Echo(a) => echo(a, color),
        TcpCommand::Serve(a) => serve(a, color),
        TcpCommand::Connect(a) => connect(a, color),
        TcpCommand::Handshake(a) => super::handshake::run(a, color),
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

/// Talk over a connected socket: lines from standard input are sent, what arrives is printed.
/// At the end of standard input the sending direction is shut down (a FIN); when the other
/// side closes, the socket is closed.
fn talk(
    sock: Socket,
    rec: Arc<Recorder>,
    who: Who,
    local: SocketAddrV4,
    peer: SocketAddrV4,
) -> io::Result<()> {
    let fd = sock.as_raw_fd();
    let sock = Arc::new(sock);
    // The sending half runs on its own thread, so typing and receiving happen at once. It
    // holds only a weak reference, so that when this side closes the socket it is really
    // closed, even while that thread still waits for a line.
    let writer = Arc::downgrade(&sock);
    let rec2 = rec.clone();
    std::thread::spawn(move || {
        let stdin = io::stdin();
        for line in stdin.lock().lines() {
            let Ok(mut line) = line else { break };
            line.push('\n');
            let Some(writer) = writer.upgrade() else {
                return;
            };
            if rec2
                .call(
                    who,
                    "send",
                    format!("fd {fd}, {}", quote(line.as_bytes())),
                    || (&*writer).write(line.as_bytes()),
                    |n| n.to_string(),
                )
                .is_err()
            {
                return;
            }
        }
        let Some(writer) = writer.upgrade() else {
            return;
        };
        let _ = rec2.call(
            who,
            "shutdown",
            format!("fd {fd}, SHUT_WR"),
            || writer.shutdown(Shutdown::Write),
            |_| "0".into(),
        );
        rec2.observe(
            who,
            format!("fd {fd}"),
            || kernel_tcp_state(local, Some(peer)),
            "/proc/net/tcp",
        );
    });
    let mut buf = vec![0u8; 65536];
    let mut out = io::stdout();
    loop {
        let data = rec.call(
            who,
            "recv",
            format!("fd {fd}, {} bytes max", buf.len()),
            || {
                let n = (&*sock).read(&mut buf)?;
                Ok(buf[..n].to_vec())
            },
            |d| describe_recv(d),
        )?;
        if data.is_empty() {
            rec.observe(
                who,
                format!("fd {fd}"),
                || kernel_tcp_state(local, Some(peer)),
                "/proc/net/tcp",
            );
            break;
        }
        out.write_all(&data)?;
        out.flush()?;
    }
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

fn live_recorder(color: bool) -> Arc<Recorder> {
    Arc::new(Recorder::with(
        color && io::IsTerminal::is_terminal(&io::stderr()),
        true,
    ))
}

fn serve(a: &TcpServeArgs, color: bool) -> Result<ExitCode, Error> {
    const W: Who = Who::Server;
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
    .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
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
        || kernel_tcp_state(addr, None),
        "/proc/net/tcp",
    );
    eprintln!(
        "wirelab: listening on {addr}; in another terminal: wirelab tcp connect 127.0.0.1:{}",
        a.port
    );
    loop {
        let (c, peer) = rec.call(
            W,
            "accept",
            format!("fd {lfd}"),
            || l.accept(),
            |(c, p)| {
                format!(
                    "fd {} (connected to {})",
                    c.as_raw_fd(),
                    crate::demos::v4(p)
                )
            },
        )?;
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
        talk(c, rec.clone(), W, local, peer)?;
        if !a.keep {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn connect(a: &TcpConnectArgs, color: bool) -> Result<ExitCode, Error> {
    const W: Who = Who::Client;
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
    talk(s, rec, W, local, target)?;
    Ok(ExitCode::SUCCESS)
}
