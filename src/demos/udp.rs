//! The UDP demo: datagrams keep their boundaries, need no handshake, and may be lost.
//!
//! # The idea
//!
//! UDP hands IP one *datagram* per `sendto` call, and the receiver's `recvfrom` returns exactly
//! one datagram, whole: the boundaries the sender made are the ones the receiver sees. There is
//! no connection to set up (the first packet on the wire is already data), no acknowledgment
//! and no retransmission: a lost datagram is simply never received, and nobody is told.
//!
//! TCP, by contrast, is a stream of bytes. Several small `send` calls may travel in one segment
//! (Nagle's algorithm holds back a small segment while an earlier one is unacknowledged) and a
//! `recv` returns whatever has arrived, so the receiver cannot tell where one write ended.
//! The demo runs both in the same session to show the difference side by side.
//!
//! A datagram larger than the link's MTU (1500 bytes on the lab's Ethernet) does not fit in
//! one frame: IP cuts it into *fragments*, each with the "more fragments" flag set except the
//! last, and a fragment offset counted in units of 8 bytes. The receiving IP puts them back
//! together before UDP sees the datagram.
//!
//! To show loss and reordering, the lab either puts Linux's `netem` queueing discipline on the
//! client's eth0, or, where the kernel has no netem, runs a small relay on the server host
//! that receives each datagram from the wire and drops, holds back or forwards it to the
//! server program on the server's own loopback.

use std::io;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use socket2::{Domain, Socket, Type};

use super::narrate::{Recorder, Who};
use super::tcp::describe_recv;
use super::{AsRawFd, Place, SockOpts, quote, v4};
use crate::source::lab::Host;

/// What the UDP demo does.
#[derive(Clone, Debug)]
pub struct UdpOptions {
    /// The port used (UDP, then TCP for the contrast); 0 lets the kernel choose.
    pub port: u16,
    /// How many datagrams to send.
    pub count: usize,
    /// Share of datagrams to lose, 0.0 to 1.0.
    pub loss: f64,
    /// Deliver some datagrams out of order.
    pub reorder: bool,
    /// Seed of the relay's random choices.
    pub seed: u64,
    /// Run the TCP contrast (N small writes, fewer reads).
    pub contrast: bool,
    /// Size of the datagram sent to show fragmentation (0: skip).
    pub big: usize,
    pub sock: SockOpts,
}

/// How the network is made lossy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Impairment {
    None,
    /// netem on the client's eth0 (the lost datagrams never reach the wire).
    Netem,
    /// The userspace relay on the server host (lost datagrams cross the wire, then vanish).
    Relay,
}

/// What the applications saw, for the closing summary.
#[derive(Clone, Debug, Default)]
pub struct UdpReport {
    pub impairment: Option<String>,
    /// Payload lengths of the datagrams sent, in order.
    pub sent: Vec<usize>,
    /// Which datagrams (1-based) the server program received, in the order it received them.
    pub delivered: Vec<usize>,
    /// How many echoes came back to the client.
    pub echoed: usize,
    /// TCP contrast: bytes per send() and per recv().
    pub tcp_sends: Vec<usize>,
    pub tcp_reads: Vec<usize>,
    /// Size of the big datagram sent and received (0 if it did not arrive).
    pub big: Option<(usize, usize)>,
    /// Why the fragment part was skipped.
    pub big_skipped: Option<String>,
}

const READ_WAIT: Duration = Duration::from_millis(300);

/// The text of datagram `i` (1-based): each one a different length, so boundaries show.
pub fn message(i: usize) -> String {
    format!("datagram {i} {}", "*".repeat(i))
}

fn index_of(data: &[u8]) -> Option<usize> {
    let s = std::str::from_utf8(data).ok()?;
    s.strip_prefix("datagram ")?.split(' ').next()?.parse().ok()
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn udp_socket(rec: &Recorder, who: Who) -> io::Result<Socket> {
    rec.call(
        who,
        "socket",
        "AF_INET, SOCK_DGRAM, 0",
        || Socket::new(Domain::IPV4, Type::DGRAM, None),
        |s| format!("fd {}", s.as_raw_fd()),
    )
}

fn recv_from(s: &UdpSocket, buf: &mut [u8]) -> io::Result<(Vec<u8>, SocketAddrV4)> {
    let (n, from) = s.recv_from(buf)?;
    let from = match from {
        SocketAddr::V4(a) => a,
        SocketAddr::V6(a) => SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, a.port()),
    };
    Ok((buf[..n].to_vec(), from))
}

fn join<T>(h: std::thread::ScopedJoinHandle<'_, io::Result<T>>) -> io::Result<T> {
    h.join()
        .unwrap_or_else(|_| Err(io::Error::other("a demo thread panicked")))
}

/// Run the UDP demo at `place`.
pub fn echo(
    place: &Place,
    rec: &Recorder,
    o: &UdpOptions,
    port_seen: &(dyn Fn(u16) + Sync),
) -> io::Result<UdpReport> {
    let mut report = UdpReport::default();
    let impaired = o.loss > 0.0 || o.reorder;
    let mut imp = Impairment::None;
    if impaired {
        let Place::Lab(_) = place else {
            return Err(io::Error::other(
                "--loss and --reorder need the lab (its private network is the only one wirelab \
                 may make lossy)",
            ));
        };
        imp = match try_netem(o) {
            Ok(()) => {
                report.impairment = Some(format!(
                    "netem on the client's eth0: loses {:.0}% of packets{}; lost datagrams never \
                     reach the wire",
                    o.loss * 100.0,
                    if o.reorder {
                        ", sends about 1 in 4 ahead of the others (the rest wait 10 ms)"
                    } else {
                        ""
                    }
                ));
                Impairment::Netem
            }
            Err(e) => {
                let why = if e.raw_os_error() == Some(libc::ENOENT) {
                    "this kernel has no netem queueing discipline".to_string()
                } else {
                    format!("netem could not be set up: {e}")
                };
                report.impairment = Some(format!(
                    "{why}, so a relay on the server host plays the lossy network: it receives \
                     each datagram from the wire and drops {:.0}% of them before they reach the \
                     server program (which listens on the server's own 127.0.0.1){}",
                    o.loss * 100.0,
                    if o.reorder {
                        ", and holds some back to deliver them after the next one"
                    } else {
                        ""
                    }
                ));
                Impairment::Relay
            }
        };
        rec.note(Who::Relay, report.impairment.clone().unwrap_or_default());
    }

    datagrams(place, rec, o, &imp, port_seen, &mut report)?;
    if imp == Impairment::Netem {
        let _ = remove_netem();
    }
    if o.contrast {
        stream(place, rec, o, port_seen, &mut report)?;
    }
    if o.big > 0 {
        if (o.big as u32) + 28 <= place.mtu() {
            report.big_skipped = Some(format!(
                "{} bytes fit in one packet on an MTU of {}",
                o.big,
                place.mtu()
            ));
        } else if o.big > 65507 {
            report.big_skipped = Some("a UDP datagram holds at most 65507 bytes".into());
        } else {
            fragments(place, rec, o, port_seen, &mut report)?;
        }
    }
    Ok(report)
}

#[cfg(target_os = "linux")]
fn try_netem(o: &UdpOptions) -> io::Result<()> {
    use crate::source::lab;
    let mut rtnl = lab::netlink::Rtnl::open()?;
    let eth = rtnl.link(lab::IFACE)?;
    rtnl.add_netem(eth.index, o.loss, o.reorder, if o.reorder { 10 } else { 0 })
}

#[cfg(target_os = "linux")]
fn remove_netem() -> io::Result<()> {
    use crate::source::lab;
    let mut rtnl = lab::netlink::Rtnl::open()?;
    let eth = rtnl.link(lab::IFACE)?;
    rtnl.del_root_qdisc(eth.index)
}

// Elsewhere there is no lab, so the impairments are never asked for (see `Place::Lab`).
#[cfg(not(target_os = "linux"))]
fn try_netem(_o: &UdpOptions) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

#[cfg(not(target_os = "linux"))]
fn remove_netem() -> io::Result<()> {
    Ok(())
}

/// Part 1: N datagrams, echoed back.
fn datagrams(
    place: &Place,
    rec: &Recorder,
    o: &UdpOptions,
    imp: &Impairment,
    port_seen: &(dyn Fn(u16) + Sync),
    report: &mut UdpReport,
) -> io::Result<()> {
    let (ready_tx, ready_rx) = mpsc::channel::<u16>();
    let relay_stop = AtomicBool::new(false);
    let (relay_tx, relay_rx) = mpsc::channel::<u16>();
    let result = std::thread::scope(|s| {
        // The server program.
        let server = s.spawn(|| -> io::Result<Vec<usize>> {
            const W: Who = Who::Server;
            place.enter(Host::Server)?;
            let sock = udp_socket(rec, W)?;
            let fd = sock.as_raw_fd();
            o.sock.apply(&sock, rec, W, false)?;
            let ip = if *imp == Impairment::Relay {
                Ipv4Addr::LOCALHOST
            } else {
                place.server_ip()
            };
            let addr = SocketAddrV4::new(ip, o.port);
            rec.call(
                W,
                "bind",
                format!("fd {fd}, {addr}"),
                || sock.bind(&addr.into()),
                |_| "0".into(),
            )?;
            let sock: UdpSocket = sock.into();
            let port = sock.local_addr()?.port();
            if *imp == Impairment::Relay {
                let _ = relay_tx.send(port);
            } else {
                let _ = ready_tx.send(port);
            }
            // Let the datagrams queue up: even when several are waiting, each recvfrom
            // returns exactly one.
            std::thread::sleep(Duration::from_millis(50));
            sock.set_read_timeout(Some(READ_WAIT))?;
            let mut buf = vec![0u8; 65536];
            let mut got = Vec::new();
            loop {
                let r = rec.call(
                    W,
                    "recvfrom",
                    format!("fd {fd}, {} bytes max", buf.len()),
                    || recv_from(&sock, &mut buf),
                    |(d, from)| format!("{} {} from {from}", d.len(), quote(d)),
                );
                match r {
                    Ok((data, from)) => {
                        if let Some(i) = index_of(&data) {
                            got.push(i);
                        }
                        rec.call(
                            W,
                            "sendto",
                            format!("fd {fd}, {}, {from}", quote(&data)),
                            || sock.send_to(&data, from),
                            |n| n.to_string(),
                        )?;
                    }
                    Err(e) if is_timeout(&e) => {
                        rec.note(
                            W,
                            format!(
                                "nothing more within {} ms; UDP never tells a receiver that a \
                                 datagram was lost",
                                READ_WAIT.as_millis()
                            ),
                        );
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            rec.call(
                W,
                "close",
                format!("fd {fd}"),
                || crate::demos::closed(sock),
                |_| "0".into(),
            )?;
            relay_stop.store(true, Ordering::Relaxed);
            Ok(got)
        });

        // The relay, when it plays the lossy network.
        let (ready_ref, stop_ref) = (&ready_tx, &relay_stop);
        let relay = s.spawn(move || -> io::Result<()> {
            if *imp != Impairment::Relay {
                return Ok(());
            }
            place.enter(Host::Server)?;
            let Ok(app_port) = relay_rx.recv() else {
                return Ok(());
            };
            relay(place, rec, o, app_port, ready_ref, stop_ref)
        });

        // The client program.
        let client = s.spawn(move || -> io::Result<usize> {
            const W: Who = Who::Client;
            place.enter(Host::Client)?;
            let port = ready_rx
                .recv()
                .map_err(|_| io::Error::other("the server stopped before it was ready"))?;
            port_seen(port);
            let to = SocketAddrV4::new(place.server_ip(), port);
            let sock = udp_socket(rec, W)?;
            let fd = sock.as_raw_fd();
            o.sock.apply(&sock, rec, W, false)?;
            let sock: UdpSocket = sock.into();
            for i in 1..=o.count {
                let msg = message(i);
                rec.call(
                    W,
                    "sendto",
                    format!("fd {fd}, {}, {to}", quote(msg.as_bytes())),
                    || sock.send_to(msg.as_bytes(), to),
                    |n| n.to_string(),
                )?;
            }
            sock.set_read_timeout(Some(READ_WAIT + Duration::from_millis(200)))?;
            let mut buf = vec![0u8; 65536];
            let mut echoed = 0;
            while echoed < o.count {
                match rec.call(
                    W,
                    "recvfrom",
                    format!("fd {fd}, {} bytes max", buf.len()),
                    || recv_from(&sock, &mut buf),
                    |(d, from)| format!("{} {} from {from}", d.len(), quote(d)),
                ) {
                    Ok(_) => echoed += 1,
                    Err(e) if is_timeout(&e) => break,
                    Err(e) => return Err(e),
                }
            }
            rec.call(
                W,
                "close",
                format!("fd {fd}"),
                || crate::demos::closed(sock),
                |_| "0".into(),
            )?;
            Ok(echoed)
        });
        let echoed = join(client);
        let got = join(server);
        let r = join(relay);
        r?;
        Ok::<_, io::Error>((got?, echoed?))
    })?;
    report.sent = (1..=o.count).map(|i| message(i).len()).collect();
    report.delivered = result.0;
    report.echoed = result.1;
    Ok(())
}

/// The relay: receives datagrams on the server's public address and passes them, or not, to
/// the server program on 127.0.0.1; passes the replies back.
fn relay(
    place: &Place,
    rec: &Recorder,
    o: &UdpOptions,
    app_port: u16,
    ready: &mpsc::Sender<u16>,
    stop: &AtomicBool,
) -> io::Result<()> {
    const W: Who = Who::Relay;
    let outer = UdpSocket::bind(SocketAddrV4::new(place.server_ip(), o.port))?;
    let inner = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))?;
    let app = SocketAddrV4::new(Ipv4Addr::LOCALHOST, app_port);
    outer.set_read_timeout(Some(Duration::from_millis(2)))?;
    inner.set_read_timeout(Some(Duration::from_millis(2)))?;
    let _ = ready.send(outer.local_addr()?.port());
    let mut rng = StdRng::seed_from_u64(o.seed);
    let mut client: Option<SocketAddrV4> = None;
    let mut held: Option<(Vec<u8>, Instant)> = None;
    let mut buf = vec![0u8; 65536];
    let label =
        |d: &[u8]| index_of(d).map_or("a datagram".to_string(), |i| format!("datagram {i}"));
    while !stop.load(Ordering::Relaxed) {
        match recv_from(&outer, &mut buf) {
            Ok((data, from)) => {
                client = Some(from);
                if rng.random::<f64>() < o.loss {
                    rec.note(W, format!("dropped {}: it crossed the wire, but the server program will never get it", label(&data)));
                } else if o.reorder && held.is_none() && rng.random::<f64>() < 0.35 {
                    rec.note(
                        W,
                        format!(
                            "holding {} back, to deliver it after the next one",
                            label(&data)
                        ),
                    );
                    held = Some((data, Instant::now()));
                } else {
                    inner.send_to(&data, app)?;
                    if let Some((h, _)) = held.take() {
                        rec.note(W, format!("now delivering {}, out of order", label(&h)));
                        inner.send_to(&h, app)?;
                    }
                }
            }
            Err(e) if is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
        if let Some((_, since)) = &held
            && since.elapsed() > Duration::from_millis(30)
            && let Some((h, _)) = held.take()
        {
            rec.note(
                W,
                format!("nothing followed; delivering {} late", label(&h)),
            );
            inner.send_to(&h, app)?;
        }
        match recv_from(&inner, &mut buf) {
            Ok((data, _)) => {
                if let Some(c) = &client {
                    outer.send_to(&data, *c)?;
                }
            }
            Err(e) if is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Part 2: the same messages as TCP writes, read back after a pause.
fn stream(
    place: &Place,
    rec: &Recorder,
    o: &UdpOptions,
    port_seen: &(dyn Fn(u16) + Sync),
    report: &mut UdpReport,
) -> io::Result<()> {
    let (ready_tx, ready_rx) = mpsc::channel::<u16>();
    let (reads, sends) = std::thread::scope(|s| {
        let server = s.spawn(|| -> io::Result<Vec<usize>> {
            const W: Who = Who::Server;
            place.enter(Host::Server)?;
            let l = Socket::new(Domain::IPV4, Type::STREAM, None)?;
            let lfd = l.as_raw_fd();
            rec.note(W, format!("now the same messages over TCP (fd {lfd} listens on the same port number, for TCP)"));
            let addr = SocketAddrV4::new(place.server_ip(), o.port);
            l.set_reuse_address(true)?;
            l.bind(&addr.into())?;
            l.listen(o.sock.backlog)?;
            l.set_read_timeout(Some(Duration::from_secs(5)))?;
            let _ = ready_tx.send(v4(&l.local_addr()?).port());
            let (c, _) = rec.call(W, "accept", format!("fd {lfd}"), || l.accept(), |(c, p)| {
                format!("fd {} (from {})", c.as_raw_fd(), v4(p))
            })?;
            let cfd = c.as_raw_fd();
            c.set_read_timeout(Some(Duration::from_secs(5)))?;
            rec.note(W, "waits 50 ms before reading, as a busy program would");
            std::thread::sleep(Duration::from_millis(50));
            let mut buf = vec![0u8; 65536];
            let mut reads = Vec::new();
            loop {
                let data = rec.call(
                    W,
                    "recv",
                    format!("fd {cfd}, {} bytes max", buf.len()),
                    || {
                        use std::io::Read;
                        let n = (&c).read(&mut buf)?;
                        Ok(buf[..n].to_vec())
                    },
                    |d| describe_recv(d),
                )?;
                if data.is_empty() {
                    break;
                }
                reads.push(data.len());
            }
            rec.call(W, "close", format!("fd {cfd}"), || crate::demos::closed(c), |_| "0".into())?;
            drop(l);
            Ok(reads)
        });
        let client = s.spawn(move || -> io::Result<Vec<usize>> {
            const W: Who = Who::Client;
            use std::io::Read;
            use std::io::Write;
            place.enter(Host::Client)?;
            let port = ready_rx
                .recv()
                .map_err(|_| io::Error::other("the TCP server stopped before it was ready"))?;
            port_seen(port);
            let to = SocketAddrV4::new(place.server_ip(), port);
            let sock = Socket::new(Domain::IPV4, Type::STREAM, None)?;
            let fd = sock.as_raw_fd();
            o.sock.apply(&sock, rec, W, true)?;
            sock.set_read_timeout(Some(Duration::from_secs(5)))?;
            rec.call(
                W,
                "connect",
                format!("fd {fd}, {to}"),
                || sock.connect(&to.into()),
                |_| "0".into(),
            )?;
            let mut sends = Vec::new();
            for i in 1..=o.count {
                let msg = message(i);
                let n = rec.call(
                    W,
                    "send",
                    format!("fd {fd}, {}", quote(msg.as_bytes())),
                    || (&sock).write(msg.as_bytes()),
                    |n| n.to_string(),
                )?;
                sends.push(n);
            }
            rec.call(
                W,
                "shutdown",
                format!("fd {fd}, SHUT_WR"),
                || sock.shutdown(Shutdown::Write),
                |_| "0".into(),
            )?;
            let mut buf = [0u8; 16];
            let _ = (&sock).read(&mut buf);
            rec.call(
                W,
                "close",
                format!("fd {fd}"),
                || crate::demos::closed(sock),
                |_| "0".into(),
            )?;
            Ok(sends)
        });
        let c = client
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the client thread panicked")));
        let sv = server
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the server thread panicked")));
        Ok::<_, io::Error>((sv?, c?))
    })?;
    report.tcp_sends = sends;
    report.tcp_reads = reads;
    Ok(())
}

/// Part 3: one datagram larger than the MTU.
fn fragments(
    place: &Place,
    rec: &Recorder,
    o: &UdpOptions,
    port_seen: &(dyn Fn(u16) + Sync),
    report: &mut UdpReport,
) -> io::Result<()> {
    let (ready_tx, ready_rx) = mpsc::channel::<u16>();
    let got = std::thread::scope(|s| {
        let server = s.spawn(|| -> io::Result<usize> {
            const W: Who = Who::Server;
            place.enter(Host::Server)?;
            let sock = udp_socket(rec, W)?;
            let fd = sock.as_raw_fd();
            let addr = SocketAddrV4::new(place.server_ip(), o.port);
            rec.call(
                W,
                "bind",
                format!("fd {fd}, {addr}"),
                || sock.bind(&addr.into()),
                |_| "0".into(),
            )?;
            let sock: UdpSocket = sock.into();
            let _ = ready_tx.send(sock.local_addr()?.port());
            sock.set_read_timeout(Some(Duration::from_secs(2)))?;
            let mut buf = vec![0u8; 65536];
            let n = match rec.call(
                W,
                "recvfrom",
                format!("fd {fd}, {} bytes max", buf.len()),
                || recv_from(&sock, &mut buf),
                |(d, from)| {
                    format!(
                        "{} (one whole datagram, put back together by IP) from {from}",
                        d.len()
                    )
                },
            ) {
                Ok((d, _)) => d.len(),
                Err(e) if is_timeout(&e) => 0,
                Err(e) => return Err(e),
            };
            rec.call(
                W,
                "close",
                format!("fd {fd}"),
                || crate::demos::closed(sock),
                |_| "0".into(),
            )?;
            Ok(n)
        });
        let client = s.spawn(move || -> io::Result<()> {
            const W: Who = Who::Client;
            place.enter(Host::Client)?;
            let port = ready_rx
                .recv()
                .map_err(|_| io::Error::other("the server stopped before it was ready"))?;
            port_seen(port);
            let to = SocketAddrV4::new(place.server_ip(), port);
            let sock = udp_socket(rec, W)?;
            let fd = sock.as_raw_fd();
            let sock: UdpSocket = sock.into();
            let data: Vec<u8> = (0..o.big).map(|i| b'a' + (i % 26) as u8).collect();
            rec.note(
                W,
                format!(
                    "one datagram of {} bytes: with its 8-byte UDP header and 20-byte IP header \
                     it is larger than the MTU of {}, so IP will cut it into fragments",
                    o.big,
                    place.mtu()
                ),
            );
            rec.call(
                W,
                "sendto",
                format!("fd {fd}, {} bytes, {to}", data.len()),
                || sock.send_to(&data, to),
                |n| n.to_string(),
            )?;
            rec.call(
                W,
                "close",
                format!("fd {fd}"),
                || crate::demos::closed(sock),
                |_| "0".into(),
            )?;
            Ok(())
        });
        let c = client
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the client thread panicked")));
        let sv = server
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the server thread panicked")));
        c?;
        sv
    })?;
    report.big = Some((o.big, got));
    Ok(())
}
