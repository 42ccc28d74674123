//! `wirelab udp echo | send | recv`, and the hidden `flood` used by the capture benchmark.

use std::collections::HashSet;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, ToSocketAddrs, UdpSocket};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

use super::Error;
use super::stop::{Stop, TICK, until_stopped};
use super::tcp::{Shown, present, replay, start_recording};
use crate::cli::{FloodArgs, UdpArgs, UdpCommand, UdpEchoArgs, UdpRecvArgs, UdpSendArgs};
use crate::demos::narrate::{Recorder, Who};
use crate::demos::udp::{UdpOptions, UdpReport};
use crate::demos::{AsRawFd, Captured, NetChoice, Place, Stage, quote};
use crate::escape::{Style, escape_bytes};
use crate::pipeline::{Config, Pipeline};
use crate::render::View;

pub fn run(args: &UdpArgs, color: bool) -> Result<ExitCode, Error> {
    match &args.command {
        UdpCommand::Echo(a) => echo(a, color),
        UdpCommand::Send(a) => send(a, color),
        UdpCommand::Recv(a) => recv(a, color),
    }
}

fn echo(a: &UdpEchoArgs, color: bool) -> Result<ExitCode, Error> {
    if a.net == NetChoice::Replay {
        return replay("04_udp", &a.view, color);
    }
    let reorder = a.reorder.unwrap_or(0.0);
    let stage = Stage::choose(a.net)?;
    if (a.loss > 0.0 || reorder > 0.0) && matches!(stage.place, Place::Loopback) {
        // Lesson 5's trace is this demo with --loss 30% --reorder, recorded in the lab.
        let why = format!(
            "--loss and --reorder need the lab, the only network wirelab may make lossy, and {}",
            stage
                .no_lab
                .as_ref()
                .map_or("--net host was asked for".to_string(), |e| e.to_string())
        );
        return super::elsewhere::replay_instead(&why, "05_capture", &a.view, color);
    }
    let port = a.port.unwrap_or(match stage.place {
        Place::Lab(_) => 7008,
        Place::Loopback => 0,
    });
    let opts = UdpOptions {
        port,
        count: a.datagrams,
        loss: a.loss,
        reorder,
        seed: a.seed,
        contrast: !a.no_tcp,
        big: a.big,
        sock: a.sock.clone(),
    };
    let rec = Recorder::with(color, false);
    let ports = Arc::new(Mutex::new(Vec::new()));
    let recording = start_recording(&stage, &ports)?;
    let result = crate::demos::udp::echo(&stage.place, &rec, &opts, &|p| {
        ports.lock().unwrap_or_else(|e| e.into_inner()).push(p)
    });
    let captured = recording.map(|r| r.finish()).transpose()?;
    let summary = match (&result, &captured) {
        (Ok(r), c) if a.view.view != View::Json => Some(summarize(r, c.as_ref(), &stage.place)),
        _ => None,
    };
    present(Shown {
        title: "wirelab udp echo",
        lesson: "04_udp",
        stage: &stage,
        events: rec.take(),
        captured,
        view: &a.view,
        write: a.write.as_deref(),
        color,
    })?;
    if let Some(s) = summary {
        print!("{}", super::fitted(&s));
    }
    result.map_err(|e| format!("the demo stopped early: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// What the applications saw, next to what the wire carried.
fn summarize(r: &UdpReport, c: Option<&Captured>, place: &Place) -> String {
    let mut s = String::from("\nWhat happened\n");
    // Count, from the frames: datagrams client → server, TCP segments with data, fragments.
    let mut datagrams = 0;
    let mut segments = 0;
    let mut frags = Vec::new();
    if let Some(c) = c {
        let mut pipe = Pipeline::new(Config::summary());
        let server = std::net::IpAddr::V4(place.server_ip());
        for f in &c.frames {
            let d = pipe.push(&f.as_frame());
            let Some(ip) = d.ip.first().filter(|ip| ip.dst == server) else {
                continue;
            };
            if ip.is_fragment() {
                let mf = u8::from(ip.more_fragments);
                frags.push((ip.frag_offset / 8, ip.total_len, mf));
            } else if d.udp_datagram().is_some() {
                datagrams += 1;
            } else if d.tcp_segment().and_then(|s| s.len).is_some_and(|l| l > 0) {
                segments += 1;
            }
        }
    }
    let n = r.sent.len();
    if let Some(imp) = &r.impairment {
        s.push_str(&format!("  The lossy network: {imp}.\n"));
    }
    s.push_str(&format!(
        "  UDP: {n} sendto() calls → {} → the server program received {} datagram{} ({}), each \
         whole in one recvfrom(); {} echo{} came back.\n",
        if c.is_some() {
            format!("{datagrams} datagrams on the wire")
        } else {
            "datagrams (not captured here)".to_string()
        },
        r.delivered.len(),
        if r.delivered.len() == 1 { "" } else { "s" },
        if r.delivered.is_empty() {
            "none".to_string()
        } else {
            format!(
                "numbers {}",
                r.delivered
                    .iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        r.echoed,
        if r.echoed == 1 { "" } else { "es" },
    ));
    let lost: Vec<String> = (1..=n)
        .filter(|i| !r.delivered.contains(i))
        .map(|i| i.to_string())
        .collect();
    if !lost.is_empty() {
        s.push_str(&format!(
            "       Lost: {}. Nobody was told: UDP has no acknowledgments and no retransmission.\n",
            lost.join(", ")
        ));
    }
    if r.delivered.windows(2).any(|w| w[0] > w[1]) {
        s.push_str("       Out of order: UDP hands datagrams over in the order they arrive.\n");
    }
    if !r.tcp_sends.is_empty() {
        s.push_str(&format!(
            "  TCP: {} send() calls ({} bytes) → {} → {} recv() call{} ({}): the stream kept the \
             bytes, not the boundaries between writes.\n",
            r.tcp_sends.len(),
            r.tcp_sends.iter().sum::<usize>(),
            if c.is_some() {
                format!("{segments} segments with data on the wire")
            } else {
                "segments (not captured here)".to_string()
            },
            r.tcp_reads.len(),
            if r.tcp_reads.len() == 1 { "" } else { "s" },
            r.tcp_reads
                .iter()
                .map(|n| format!("{n} bytes"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    match (&r.big, &r.big_skipped) {
        (Some((sent, got)), _) => {
            let list = frags
                .iter()
                .map(|(off, len, mf)| {
                    format!("offset {off} × 8 = byte {}, {len} bytes, MF={mf}", off * 8)
                })
                .collect::<Vec<_>>()
                .join("; ");
            s.push_str(&format!(
                "  A {sent}-byte datagram on an MTU of {}: {} IPv4 fragments ({}); the server's \
                 one recvfrom() returned {got} bytes.\n",
                place.mtu(),
                frags.len(),
                if list.is_empty() {
                    "not captured".into()
                } else {
                    list
                }
            ));
        }
        (None, Some(why)) => s.push_str(&format!("  No fragmentation shown: {why}.\n")),
        _ => {}
    }
    s
}

fn target(addr: &str) -> Result<SocketAddrV4, Error> {
    addr.to_socket_addrs()
        .map_err(|e| format!("{addr}: not a HOST:PORT address: {e}"))?
        .find_map(|s| match s {
            SocketAddr::V4(v) => Some(v),
            SocketAddr::V6(_) => None,
        })
        .ok_or_else(|| format!("{addr}: no IPv4 address").into())
}

fn live(color: bool) -> Recorder {
    Recorder::with(color && io::IsTerminal::is_terminal(&io::stderr()), true)
}

fn send(a: &UdpSendArgs, color: bool) -> Result<ExitCode, Error> {
    const W: Who = Who::Client;
    let rec = live(color);
    let to = target(&a.addr)?;
    let s = rec.call(
        W,
        "socket",
        "AF_INET, SOCK_DGRAM, 0",
        || Socket::new(Domain::IPV4, Type::DGRAM, None),
        |s| format!("fd {}", s.as_raw_fd()),
    )?;
    let fd = s.as_raw_fd();
    let s: UdpSocket = s.into();
    for m in &a.messages {
        rec.call(
            W,
            "sendto",
            format!("fd {fd}, {}, {to}", quote(m.as_bytes())),
            || s.send_to(m.as_bytes(), to),
            |n| n.to_string(),
        )?;
    }
    if a.replies {
        s.set_read_timeout(Some(Duration::from_secs(1)))?;
        let mut buf = vec![0u8; 65536];
        loop {
            match rec.call(
                W,
                "recvfrom",
                format!("fd {fd}, {} bytes max", buf.len()),
                || s.recv_from(&mut buf),
                |(n, from)| format!("{n} from {from}"),
            ) {
                Ok((n, _)) => {
                    // A reply is one line, its control characters escaped.
                    let mut out = io::stdout();
                    out.write_all(escape_bytes(&buf[..n], Style::Line).as_bytes())?;
                    out.write_all(b"\n")?;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    rec.call(
        W,
        "close",
        format!("fd {fd}"),
        || crate::demos::closed(s),
        |_| "0".into(),
    )?;
    Ok(ExitCode::SUCCESS)
}

fn recv(a: &UdpRecvArgs, color: bool) -> Result<ExitCode, Error> {
    const W: Who = Who::Server;
    let stop = Stop::on_signals()?;
    let rec = live(color);
    let ip = if a.public {
        eprintln!(
            "wirelab: warning: --public receives on every interface (0.0.0.0): other machines \
             on your network can send to this port."
        );
        Ipv4Addr::UNSPECIFIED
    } else {
        Ipv4Addr::LOCALHOST
    };
    let addr = SocketAddrV4::new(ip, a.port);
    let s = rec.call(
        W,
        "socket",
        "AF_INET, SOCK_DGRAM, 0",
        || Socket::new(Domain::IPV4, Type::DGRAM, None),
        |s| format!("fd {}", s.as_raw_fd()),
    )?;
    let fd = s.as_raw_fd();
    rec.call(
        W,
        "bind",
        format!("fd {fd}, {addr}"),
        || s.bind(&addr.into()),
        |_| "0".into(),
    )
    .map_err(|e| super::tcp::bind_error("udp", addr, &e, false))?;
    let bound = super::tcp::chosen_port(&rec, W, &s, addr)?;
    let s: UdpSocket = s.into();
    // Wait at most a TICK in recvfrom, to notice Ctrl-C.
    s.set_read_timeout(Some(TICK))?;
    eprintln!(
        "wirelab: receiving on {bound}; try: wirelab udp send 127.0.0.1:{} hello world; \
         Ctrl-C stops",
        bound.port()
    );
    let mut buf = vec![0u8; 65536];
    let mut tally = Received::default();
    while a.count.is_none_or(|c| tally.datagrams < c) {
        let max = buf.len();
        let got = rec.call(
            W,
            "recvfrom",
            format!("fd {fd}, {max} bytes max"),
            || {
                until_stopped(&stop, || {
                    let (n, from) = s.recv_from(&mut buf)?;
                    Ok((buf[..n].to_vec(), from))
                })
            },
            |(d, from)| format!("{} {} from {from}", d.len(), quote(d)),
        );
        let (data, from) = match got {
            Ok(x) => x,
            Err(_) if stop.requested() => break,
            Err(e) => return Err(e.into()),
        };
        let n = data.len();
        tally.add(n, from);
        let mut out = io::stdout();
        if a.raw {
            out.write_all(&data)?;
        } else {
            // One datagram, one line: its own newlines are shown as \n, which keeps the
            // boundaries visible (and a peer's control characters harmless).
            out.write_all(escape_bytes(&data, Style::Line).as_bytes())?;
        }
        out.write_all(b"\n")?;
        out.flush()?;
        if a.echo {
            let sent = rec.call(
                W,
                "sendto",
                format!("fd {fd}, {n} bytes, {from}"),
                || s.send_to(&data, from),
                |n| n.to_string(),
            )?;
            tally.sent += sent as u64;
        }
    }
    rec.call(
        W,
        "close",
        format!("fd {fd}"),
        || crate::demos::closed(s),
        |_| "0".into(),
    )?;
    eprintln!("{}", tally.summary(&stop));
    Ok(ExitCode::SUCCESS)
}

/// What `udp recv` received, for its summary.
#[derive(Default)]
struct Received {
    datagrams: u64,
    bytes: u64,
    sent: u64,
    /// The senders seen, up to [`Received::SENDERS`] of them (the set must not grow without
    /// bound: anyone may send to the port).
    senders: HashSet<SocketAddr>,
    more_senders: bool,
}

impl Received {
    const SENDERS: usize = 10_000;

    fn add(&mut self, len: usize, from: SocketAddr) {
        self.datagrams += 1;
        self.bytes += len as u64;
        if self.senders.len() < Self::SENDERS {
            self.senders.insert(from);
        } else if !self.senders.contains(&from) {
            self.more_senders = true;
        }
    }

    fn summary(&self, stop: &Stop) -> String {
        let n = self.senders.len();
        let mut s = format!(
            "wirelab udp recv: {} datagram{} ({} bytes) from {}{n} sender{}",
            self.datagrams,
            if self.datagrams == 1 { "" } else { "s" },
            self.bytes,
            if self.more_senders { "more than " } else { "" },
            if n == 1 && !self.more_senders {
                ""
            } else {
                "s"
            },
        );
        if self.sent > 0 {
            s.push_str(&format!(", {} bytes echoed", self.sent));
        }
        if stop.requested() {
            s.push_str("; ");
            s.push_str(&stop.why());
        }
        s
    }
}

/// Send a bounded flood of small datagrams to 127.0.0.1 (for `bench/capture.sh`): `rate`
/// datagrams a second for `seconds`, then stop. A socket bound to the port and never read
/// keeps the kernel from answering each datagram with an ICMP "port unreachable".
pub fn flood(a: &FloodArgs) -> Result<ExitCode, Error> {
    let sink = UdpSocket::bind((Ipv4Addr::LOCALHOST, a.port))
        .map_err(|e| format!("cannot bind 127.0.0.1:{}: {e}", a.port))?;
    let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    s.connect((Ipv4Addr::LOCALHOST, a.port))?;
    let payload = vec![0x5au8; a.size];
    let total = a.rate.saturating_mul(a.seconds);
    let start = Instant::now();
    let deadline = Duration::from_secs(a.seconds + 2);
    let mut sent = 0u64;
    let mut errors = 0u64;
    while sent < total && start.elapsed() < deadline {
        // Send what is due by now, in slices of at most 1 ms worth.
        let due = ((start.elapsed().as_secs_f64() * a.rate as f64) as u64).min(total);
        if due <= sent {
            std::hint::spin_loop();
            continue;
        }
        let batch = (due - sent).min(a.rate / 1000 + 1);
        for _ in 0..batch {
            match s.send(&payload) {
                Ok(_) => {}
                Err(_) => errors += 1,
            }
            sent += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    drop(sink);
    eprintln!(
        "wirelab flood: {sent} datagrams of {} bytes to 127.0.0.1:{} in {secs:.2} s ({:.0}/s), {errors} send errors",
        a.size,
        a.port,
        sent as f64 / secs
    );
    Ok(ExitCode::SUCCESS)
}
