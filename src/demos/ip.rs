//! The network layer in the lab: hops and TTL (`wirelab ip traceroute`), MTU, fragments and
//! path MTU discovery (`wirelab ip mtu`).
//!
//! # Hops and TTL
//!
//! Every IPv4 packet carries a *time to live* (TTL), a counter that each router lowers by one
//! before it forwards the packet. A router that lowers it to zero throws the packet away and
//! tells the sender with an ICMP *Time Exceeded* message, sent from its own address. The TTL
//! exists so that a packet caught in a routing loop dies instead of circling for ever; traceroute
//! turns it into a map. It sends probes with TTL 1, 2, 3 …: the probe with TTL 1 dies at the
//! first router, which names itself in its answer; TTL 2 dies at the second; and so on until a
//! probe reaches the destination, which answers in its own way: *Port Unreachable* for a UDP
//! datagram to a port nobody listens on, *Echo Reply* for an ICMP echo request.
//!
//! A program needs no privilege for this. It sets the TTL with `setsockopt(IP_TTL)` and asks
//! with `setsockopt(IP_RECVERR)` that ICMP errors about its packets be queued on its socket;
//! `recvmsg(MSG_ERRQUEUE)` then returns each error with the address of the router that sent it
//! (what `tracepath` does). ICMP echo requests go through a *ping socket* (`SOCK_DGRAM`,
//! `IPPROTO_ICMP`), which the kernel lets ordinary programs use.
//!
//! # MTU, fragments and path MTU discovery
//!
//! Each link has a *maximum transmission unit* (MTU): the largest IP packet it carries, 1500
//! bytes on Ethernet. When a router must forward a packet bigger than the next link's MTU,
//! IPv4 gives two answers, chosen by the sender with the *Don't Fragment* (DF) flag:
//!
//! * DF clear: the router cuts the packet into *fragments*. Each is a complete IP packet with
//!   the same identification number, a *fragment offset* saying where its data goes (counted in
//!   units of 8 bytes) and the *more fragments* (MF) flag on all but the last. Only the
//!   destination puts them back together (*reassembly*); UDP there sees one datagram.
//! * DF set: the router drops the packet and answers ICMP *Destination Unreachable, Fragmentation
//!   Needed* carrying the next link's MTU (RFC 1191). The sender's kernel remembers that *path
//!   MTU* for the destination and sends smaller packets from then on: TCP cuts smaller segments
//!   by itself; a UDP program gets `EMSGSIZE` and can read the path MTU with
//!   `getsockopt(IP_MTU)`. This is *path MTU discovery*; Linux's TCP always sets DF.
//!
//! The demo puts a link with a small MTU between two routers, so that client and server, whose
//! own links are Ethernet's 1500 bytes, agree on a TCP segment size the middle cannot carry.

use std::io::{self, IoSliceMut, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrIn, getsockopt, recvmsg, setsockopt, sockopt,
};
use socket2::{Domain, Protocol, Socket, Type};

use super::narrate::{Recorder, Who, errno_name};
use super::{Probe, quote};
use crate::source::lab::{Host, Lab};
use crate::source::live::setsockopt_int;

const C: Who = Who::Client;
const S: Who = Who::Server;
/// The first UDP port traceroute aims at (its traditional base, 33434 = 32768 + 666).
pub const TRACE_PORT: u16 = 33434;
/// How long a probe's answer is waited for.
const PROBE_WAIT: Duration = Duration::from_secs(2);

/// What traceroute does.
#[derive(Clone, Debug)]
pub struct TraceOptions {
    pub probe: Probe,
    /// Probes per TTL.
    pub queries: u8,
    pub max_hops: u8,
}

/// What answered a probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// ICMP Time Exceeded (type 11): a router on the way.
    TimeExceeded,
    /// ICMP Port Unreachable (type 3, code 3): the destination, for a UDP probe.
    PortUnreachable,
    /// ICMP Echo Reply (type 0): the destination, for an ICMP probe.
    EchoReply,
    /// Another ICMP error.
    Other { icmp_type: u8, code: u8 },
}

impl Answer {
    pub fn name(&self) -> String {
        match self {
            Answer::TimeExceeded => "Time Exceeded".into(),
            Answer::PortUnreachable => "Port Unreachable".into(),
            Answer::EchoReply => "Echo Reply".into(),
            Answer::Other { icmp_type, code } => format!("ICMP type {icmp_type} code {code}"),
        }
    }

    /// Does it come from the destination itself?
    pub fn is_final(&self) -> bool {
        matches!(self, Answer::PortUnreachable | Answer::EchoReply)
    }
}

/// One probe's answer: who, what, and how long it took.
#[derive(Clone, Debug)]
pub struct Reply {
    pub from: Ipv4Addr,
    pub answer: Answer,
    pub rtt: Duration,
}

/// One TTL's probes.
#[derive(Clone, Debug)]
pub struct Hop {
    pub ttl: u8,
    /// One entry per probe; `None` when nothing answered in time.
    pub replies: Vec<Option<Reply>>,
}

/// The whole route.
#[derive(Clone, Debug, Default)]
pub struct TraceReport {
    pub hops: Vec<Hop>,
    pub reached: bool,
    pub destination: Option<Ipv4Addr>,
}

/// Run traceroute from the lab's client to its server.
pub fn traceroute(lab: &Lab, rec: &Recorder, o: &TraceOptions) -> io::Result<TraceReport> {
    let dst = lab.topology().server_ip();
    lab.run_in(Host::Client, || trace_from_client(lab, rec, o, dst))?
}

fn ok0(_: &()) -> String {
    "0".into()
}

fn trace_from_client(
    lab: &Lab,
    rec: &Recorder,
    o: &TraceOptions,
    dst: Ipv4Addr,
) -> io::Result<TraceReport> {
    let t = lab.topology();
    let icmp = o.probe == Probe::Icmp;
    let (args, proto) = if icmp {
        ("AF_INET, SOCK_DGRAM, IPPROTO_ICMP", Some(Protocol::ICMPV4))
    } else {
        ("AF_INET, SOCK_DGRAM, 0", None)
    };
    let sock: UdpSocket = rec
        .call(
            C,
            "socket",
            args,
            || Socket::new(Domain::IPV4, Type::DGRAM, proto),
            |s| format!("fd {}", s.as_raw_fd()),
        )?
        .into();
    let fd = sock.as_raw_fd();
    if icmp {
        rec.note(
            C,
            "a ping socket: the kernel lets an ordinary program send ICMP echo requests (and \
             fills in their identifier and checksum) when net.ipv4.ping_group_range includes \
             its group",
        );
    }
    rec.call(
        C,
        "setsockopt",
        format!("fd {fd}, IPPROTO_IP, IP_RECVERR, 1"),
        || setsockopt(&sock, sockopt::Ipv4RecvErr, &true).map_err(io::Error::from),
        ok0,
    )?;
    rec.note(
        C,
        "IP_RECVERR: ICMP errors caused by this socket's packets are queued on it, each with the \
         address of the router that sent it; recvmsg(MSG_ERRQUEUE) reads them",
    );
    let mut report = TraceReport {
        destination: Some(dst),
        ..TraceReport::default()
    };
    let mut seq: u16 = 0;
    let mut buf = [0u8; 2048];
    'ttl: for ttl in 1..=o.max_hops {
        rec.call(
            C,
            "setsockopt",
            format!("fd {fd}, IPPROTO_IP, IP_TTL, {ttl}"),
            || sock.set_ttl(u32::from(ttl)),
            ok0,
        )?;
        if ttl == 1 {
            rec.note(
                C,
                "TTL 1: the first router lowers it to 0, drops the probe and answers ICMP Time \
                 Exceeded from its own address",
            );
        }
        let mut hop = Hop {
            ttl,
            replies: Vec::new(),
        };
        for _ in 0..o.queries {
            seq += 1;
            let sent = Instant::now();
            if icmp {
                // Type 8 (echo request), code 0, checksum and identifier left to the kernel,
                // then our sequence number.
                let mut m = vec![8, 0, 0, 0, 0, 0];
                m.extend_from_slice(&seq.to_be_bytes());
                m.extend_from_slice(format!("wirelab probe {seq}").as_bytes());
                let to = SocketAddrV4::new(dst, 0);
                rec.call(
                    C,
                    "sendto",
                    format!("fd {fd}, ICMP echo request seq {seq}, {dst}"),
                    || sock.send_to(&m, to),
                    |n| n.to_string(),
                )?;
            } else {
                let port = TRACE_PORT + seq - 1;
                let msg = format!("wirelab probe {seq}");
                let to = SocketAddrV4::new(dst, port);
                rec.call(
                    C,
                    "sendto",
                    format!("fd {fd}, {}, {to}", quote(msg.as_bytes())),
                    || sock.send_to(msg.as_bytes(), to),
                    |n| n.to_string(),
                )?;
            }
            hop.replies
                .push(wait_answer(&sock, rec, icmp, seq, sent, &mut buf, t)?);
        }
        let reached = hop.replies.iter().flatten().any(|r| r.answer.is_final());
        report.hops.push(hop);
        if reached {
            report.reached = true;
            break 'ttl;
        }
    }
    rec.call(C, "close", format!("fd {fd}"), || super::closed(sock), ok0)?;
    Ok(report)
}

/// Wait for the answer to probe `seq`: an error on the error queue, or (ICMP) an echo reply.
fn wait_answer(
    sock: &UdpSocket,
    rec: &Recorder,
    icmp: bool,
    seq: u16,
    sent: Instant,
    buf: &mut [u8],
    t: &crate::source::topology::Topology,
) -> io::Result<Option<Reply>> {
    let fd = sock.as_raw_fd();
    let deadline = sent + PROBE_WAIT;
    let name = |ip: Ipv4Addr| {
        t.host_of(ip)
            .map_or(String::new(), |(h, i)| format!(" ({h}'s {i})"))
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            rec.note(
                C,
                format!(
                    "no answer to probe {seq} within {} s: shown as * (a router may drop \
                     silently, or the probe or its answer was lost)",
                    PROBE_WAIT.as_secs()
                ),
            );
            return Ok(None);
        }
        let mut fds = [PollFd::new(sock.as_fd(), PollFlags::POLLIN)];
        let ms =
            PollTimeout::try_from(left.as_millis().min(60_000) as i32).unwrap_or(PollTimeout::MAX);
        poll(&mut fds, ms).map_err(io::Error::from)?;
        let ev = fds[0].revents().unwrap_or(PollFlags::empty());
        if ev.contains(PollFlags::POLLERR) {
            // An ICMP error about one of our probes.
            let p = rec.begin(C, "recvmsg", format!("fd {fd}, MSG_ERRQUEUE"));
            let got = read_error(sock, buf);
            let rtt = sent.elapsed();
            match got {
                Ok((err, offender, orig_port, data_seq)) => {
                    let from = offender.unwrap_or(Ipv4Addr::UNSPECIFIED);
                    let answer = match (err.ee_type, err.ee_code) {
                        (11, _) => Answer::TimeExceeded,
                        (3, 3) => Answer::PortUnreachable,
                        (ty, code) => Answer::Other {
                            icmp_type: ty,
                            code,
                        },
                    };
                    let which = if icmp {
                        data_seq
                    } else {
                        orig_port.map(|p| p - TRACE_PORT + 1)
                    };
                    rec.end(
                        p,
                        format!(
                            "ICMP {} from {from}{} about probe {}, after {:.3} ms",
                            answer.name(),
                            name(from),
                            which.map_or("?".into(), |s| s.to_string()),
                            rtt.as_secs_f64() * 1e3
                        ),
                    );
                    if which == Some(seq) {
                        return Ok(Some(Reply { from, answer, rtt }));
                    }
                    // An answer to an older probe that came late: keep waiting for ours.
                }
                Err(e) => {
                    rec.end(p, format!("-1 ({})", errno_name(&e)));
                    return Err(e);
                }
            }
        } else if ev.contains(PollFlags::POLLIN) && icmp {
            let r = rec.call(
                C,
                "recvfrom",
                format!("fd {fd}, {} bytes max", buf.len()),
                || sock.recv_from(buf),
                |(n, from)| format!("{n} bytes from {}", from.ip()),
            )?;
            let rtt = sent.elapsed();
            let (n, from) = r;
            let from = match from {
                std::net::SocketAddr::V4(a) => *a.ip(),
                std::net::SocketAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
            };
            let reply_seq = (n >= 8).then(|| u16::from_be_bytes([buf[6], buf[7]]));
            if buf.first() == Some(&0) && reply_seq == Some(seq) {
                return Ok(Some(Reply {
                    from,
                    answer: Answer::EchoReply,
                    rtt,
                }));
            }
        } else if ev.contains(PollFlags::POLLIN) {
            // A UDP datagram for our socket (nothing in the lab sends one): read and ignore.
            let _ = sock.recv_from(buf);
        }
    }
}

type ErrInfo = (
    libc::sock_extended_err,
    Option<Ipv4Addr>,
    Option<u16>,
    Option<u16>,
);

/// Read one error from the socket's error queue: the error, the router that sent it, the
/// original destination port, and (for an ICMP probe) the sequence number it was about.
fn read_error(sock: &UdpSocket, buf: &mut [u8]) -> io::Result<ErrInfo> {
    let mut iov = [IoSliceMut::new(buf)];
    let mut cmsg = nix::cmsg_space!(libc::sock_extended_err, libc::sockaddr_in);
    let msg = recvmsg::<SockaddrIn>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT,
    )
    .map_err(io::Error::from)?;
    let port = msg.address.map(|a| a.port());
    let mut out = None;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::Ipv4RecvErr(err, offender) = c {
            let from = offender.map(|o| Ipv4Addr::from(u32::from_be(o.sin_addr.s_addr)));
            out = Some((err, from));
        }
    }
    let n = msg.bytes;
    let (err, from) =
        out.ok_or_else(|| io::Error::other("the error queue returned no error message"))?;
    // The data returned is the start of the packet the error is about: for a ping socket,
    // our ICMP echo request (its sequence number at bytes 6–7).
    let data_seq = (n >= 8).then(|| u16::from_be_bytes([buf[6], buf[7]]));
    Ok((err, from, port, data_seq))
}

/// What `wirelab ip mtu` does.
#[derive(Clone, Debug)]
pub struct MtuOptions {
    /// The UDP payload sent (bigger than the small link carries).
    pub size: usize,
    /// The small MTU.
    pub mtu: u32,
    /// Bytes the TCP part sends.
    pub tcp_bytes: usize,
}

/// What the applications saw in the MTU demo.
#[derive(Clone, Debug, Default)]
pub struct MtuReport {
    /// Part 1: bytes sent, bytes the server's one recvfrom returned.
    pub frag_sent: usize,
    pub frag_received: Option<usize>,
    /// Part 2: bytes sent over TCP, bytes the server read, the path MTU the client's kernel
    /// reported afterwards.
    pub tcp_sent: usize,
    pub tcp_received: usize,
    pub tcp_path_mtu: Option<i32>,
    /// Part 3: the second send's error, the path MTU read back, bytes of the smaller datagram
    /// the server received.
    pub df_error: Option<String>,
    pub df_path_mtu: Option<i32>,
    pub df_received: Vec<usize>,
}

/// Which capture point keeps frames during each part of the MTU demo: 1 (fragments: both
/// ends), 2 and 3 (path MTU discovery: the client's side only), 0 (nothing).
pub type Phase = AtomicU8;

const FRAG_PORT: u16 = 7011;
const TCP_PORT: u16 = 7012;
const DF_PORT: u16 = 7013;

/// Run the MTU demo in the lab (link 2 carries the small MTU). `phase` tells the captures
/// which part is running.
pub fn mtu(lab: &Lab, rec: &Recorder, o: &MtuOptions, phase: &Phase) -> io::Result<MtuReport> {
    let mut report = MtuReport::default();
    let dst = lab.topology().server_ip();
    let wait = || std::thread::sleep(Duration::from_millis(100));

    // Part 1: fragmentation by a router.
    phase.store(1, Ordering::SeqCst);
    rec.note(
        C,
        format!(
            "Part 1, fragments. The client's link carries 1500 bytes, link 2 (r1 — r2) only {}. \
             A {}-byte UDP payload without DF leaves the client whole ({} bytes of IP) and r1 \
             cuts it into fragments; the server's kernel puts them back together. Captured on \
             the client's eth0 and on the server's eth0.",
            o.mtu,
            o.size,
            o.size + 28
        ),
    );
    let (got, sent) = std::thread::scope(|s| {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let server = s.spawn(move || {
            lab.run_in(Host::Server, move || -> io::Result<Option<usize>> {
                let sock = udp_bound(rec, S, SocketAddrV4::new(dst, FRAG_PORT))?;
                let _ = ready_tx.send(());
                let got = recv_one(rec, S, &sock)?;
                if let Some(n) = got {
                    rec.note(
                        S,
                        format!(
                            "one recvfrom() returned all {n} bytes: the server's kernel waited \
                             for every fragment and put the datagram back together"
                        ),
                    );
                }
                Ok(got)
            })?
        });
        let client = s.spawn(move || {
            lab.run_in(Host::Client, move || -> io::Result<usize> {
                let _ = ready_rx.recv_timeout(Duration::from_secs(5));
                let sock = udp_socket(rec, C)?;
                pmtu_discover(rec, &sock, libc::IP_PMTUDISC_DONT, "IP_PMTUDISC_DONT")?;
                rec.note(
                    C,
                    "IP_PMTUDISC_DONT: the DF flag stays clear, routers may fragment",
                );
                let data = payload(o.size);
                let to = SocketAddrV4::new(dst, FRAG_PORT);
                rec.call(
                    C,
                    "sendto",
                    format!("fd {}, {}, {to}", sock.as_raw_fd(), quote(&data)),
                    || sock.send_to(&data, to),
                    |n| n.to_string(),
                )
            })?
        });
        (join(server), join(client))
    });
    report.frag_received = got?;
    report.frag_sent = sent?;
    wait();

    // Part 2: path MTU discovery, by TCP.
    phase.store(2, Ordering::SeqCst);
    rec.note(
        C,
        format!(
            "Part 2, path MTU discovery with TCP. Both ends sit on 1500-byte links, so they agree \
             on segments of up to 1460 bytes; Linux's TCP sets DF on every segment. r1 cannot \
             forward them over link 2 and answers ICMP Fragmentation Needed with link 2's MTU \
             ({}); the client's TCP then sends smaller segments. Captured on the client's eth0.",
            o.mtu
        ),
    );
    let (srv, cli) = std::thread::scope(|s| {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let server = s.spawn(move || {
            lab.run_in(Host::Server, move || -> io::Result<usize> {
                tcp_sink(rec, SocketAddrV4::new(dst, TCP_PORT), ready_tx)
            })?
        });
        let client = s.spawn(move || {
            lab.run_in(Host::Client, move || -> io::Result<(usize, Option<i32>)> {
                let _ = ready_rx.recv_timeout(Duration::from_secs(5));
                tcp_source(rec, SocketAddrV4::new(dst, TCP_PORT), o.tcp_bytes)
            })?
        });
        (join(server), join(client))
    });
    report.tcp_received = srv?;
    let (sent, pmtu) = cli?;
    report.tcp_sent = sent;
    report.tcp_path_mtu = pmtu;
    wait();

    // Part 3: path MTU discovery, as a UDP program sees it.
    phase.store(3, Ordering::SeqCst);
    rec.note(
        C,
        "Part 3, path MTU discovery with UDP. The client's kernel has learnt the path MTU in \
         part 2; it is forgotten first (net.ipv4.route.flush), then a datagram with DF goes \
         out: r1 refuses it, the kernel learns the MTU again, and the program's next send \
         fails with EMSGSIZE. getsockopt(IP_MTU) tells it the size that fits.",
    );
    let (got, df) = std::thread::scope(|s| {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let server = s.spawn(move || {
            lab.run_in(Host::Server, move || -> io::Result<Vec<usize>> {
                let sock = udp_bound(rec, S, SocketAddrV4::new(dst, DF_PORT))?;
                let _ = ready_tx.send(());
                // The datagram with DF never gets past r1; the smaller one arrives.
                Ok(recv_one(rec, S, &sock)?.into_iter().collect())
            })?
        });
        let client = s.spawn(move || {
            lab.run_in(Host::Client, move || {
                let _ = ready_rx.recv_timeout(Duration::from_secs(5));
                udp_df(rec, dst, o)
            })?
        });
        (join(server), join(client))
    });
    report.df_received = got?;
    let (err, pmtu) = df?;
    report.df_error = err;
    report.df_path_mtu = pmtu;
    wait();
    phase.store(0, Ordering::SeqCst);
    Ok(report)
}

fn join<T>(h: std::thread::ScopedJoinHandle<'_, io::Result<T>>) -> io::Result<T> {
    h.join()
        .unwrap_or_else(|_| Err(io::Error::other("a demo thread panicked")))
}

/// `size` bytes of readable text.
fn payload(size: usize) -> Vec<u8> {
    b"IP fragments and path MTU discovery. "
        .iter()
        .cycle()
        .take(size)
        .copied()
        .collect()
}

fn udp_socket(rec: &Recorder, who: Who) -> io::Result<UdpSocket> {
    let s = rec.call(
        who,
        "socket",
        "AF_INET, SOCK_DGRAM, 0",
        || Socket::new(Domain::IPV4, Type::DGRAM, None),
        |s| format!("fd {}", s.as_raw_fd()),
    )?;
    Ok(s.into())
}

fn udp_bound(rec: &Recorder, who: Who, addr: SocketAddrV4) -> io::Result<UdpSocket> {
    let s = udp_socket(rec, who)?;
    rec.call(
        who,
        "bind",
        format!("fd {}, {addr}", s.as_raw_fd()),
        || Socket::from(s.try_clone()?).bind(&addr.into()),
        ok0,
    )?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    Ok(s)
}

/// One recvfrom with the socket's timeout: the datagram's length, or `None` on timeout.
fn recv_one(rec: &Recorder, who: Who, sock: &UdpSocket) -> io::Result<Option<usize>> {
    let mut buf = vec![0u8; 65536];
    match rec.call(
        who,
        "recvfrom",
        format!("fd {}, {} bytes max", sock.as_raw_fd(), buf.len()),
        || sock.recv_from(&mut buf),
        |(n, from)| format!("{n} from {from}"),
    ) {
        Ok((n, _)) => Ok(Some(n)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// `setsockopt(IP_MTU_DISCOVER)`: whether this socket's packets carry DF.
fn pmtu_discover(rec: &Recorder, sock: &UdpSocket, mode: i32, name: &str) -> io::Result<()> {
    rec.call(
        C,
        "setsockopt",
        format!(
            "fd {}, IPPROTO_IP, IP_MTU_DISCOVER, {name}",
            sock.as_raw_fd()
        ),
        || setsockopt_int(sock, libc::IPPROTO_IP, libc::IP_MTU_DISCOVER, mode),
        ok0,
    )
}

/// The path MTU the kernel knows for a connected socket (`getsockopt(IP_MTU)`).
fn path_mtu(rec: &Recorder, sock: &impl AsFd) -> Option<i32> {
    rec.call(
        C,
        "getsockopt",
        format!("fd {}, IPPROTO_IP, IP_MTU", sock.as_fd().as_raw_fd()),
        || getsockopt(sock, sockopt::IpMtu).map_err(io::Error::from),
        |m| format!("{m} (the path MTU this socket's kernel knows)"),
    )
    .ok()
}

/// Part 2's server: accept one connection and read it to the end.
fn tcp_sink(
    rec: &Recorder,
    addr: SocketAddrV4,
    ready: std::sync::mpsc::Sender<()>,
) -> io::Result<usize> {
    let l = rec.call(
        S,
        "socket",
        "AF_INET, SOCK_STREAM, 0",
        || Socket::new(Domain::IPV4, Type::STREAM, None),
        |s| format!("fd {}", s.as_raw_fd()),
    )?;
    let lfd = l.as_raw_fd();
    rec.call(
        S,
        "bind",
        format!("fd {lfd}, {addr}"),
        || l.bind(&addr.into()),
        ok0,
    )?;
    rec.call(
        S,
        "listen",
        format!("fd {lfd}, backlog 1"),
        || l.listen(1),
        ok0,
    )?;
    let l: TcpListener = l.into();
    l.set_nonblocking(false)?;
    let _ = ready.send(());
    // accept() with a deadline: the listener is polled first.
    let mut fds = [PollFd::new(l.as_fd(), PollFlags::POLLIN)];
    poll(&mut fds, PollTimeout::from(5000u16)).map_err(io::Error::from)?;
    let (mut c, peer) = rec.call(
        S,
        "accept",
        format!("fd {lfd}"),
        || l.accept(),
        |(c, p)| format!("fd {} (connected to {p})", c.as_raw_fd()),
    )?;
    let _ = peer;
    c.set_read_timeout(Some(Duration::from_secs(5)))?;
    let cfd = c.as_raw_fd();
    let mut total = 0;
    let mut buf = vec![0u8; 65536];
    loop {
        let n = rec.call(
            S,
            "recv",
            format!("fd {cfd}, {} bytes max", buf.len()),
            || c.read(&mut buf),
            |n| {
                if *n == 0 {
                    "0 (end of stream)".into()
                } else {
                    n.to_string()
                }
            },
        )?;
        if n == 0 {
            break;
        }
        total += n;
    }
    rec.call(S, "close", format!("fd {cfd}"), || super::closed(c), ok0)?;
    Ok(total)
}

/// Part 2's client: connect, send `bytes`, close; then read the path MTU.
fn tcp_source(rec: &Recorder, to: SocketAddrV4, bytes: usize) -> io::Result<(usize, Option<i32>)> {
    let s = rec.call(
        C,
        "socket",
        "AF_INET, SOCK_STREAM, 0",
        || Socket::new(Domain::IPV4, Type::STREAM, None),
        |s| format!("fd {}", s.as_raw_fd()),
    )?;
    let fd = s.as_raw_fd();
    rec.call(
        C,
        "connect",
        format!("fd {fd}, {to}"),
        || s.connect_timeout(&to.into(), Duration::from_secs(5)),
        ok0,
    )?;
    let mut s: TcpStream = s.into();
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let data = payload(bytes);
    rec.call(
        C,
        "send",
        format!("fd {fd}, {}", quote(&data)),
        || s.write_all(&data),
        |_| data.len().to_string(),
    )?;
    rec.call(
        C,
        "shutdown",
        format!("fd {fd}, SHUT_WR"),
        || s.shutdown(Shutdown::Write),
        ok0,
    )?;
    // Wait for the server's FIN, so every segment has been acknowledged.
    let mut b = [0u8; 16];
    rec.call(
        C,
        "recv",
        format!("fd {fd}, {} bytes max", b.len()),
        || s.read(&mut b),
        |n| {
            if *n == 0 {
                "0 (end of stream: every byte arrived)".into()
            } else {
                n.to_string()
            }
        },
    )?;
    let pmtu = path_mtu(rec, &s);
    rec.call(C, "close", format!("fd {fd}"), || super::closed(s), ok0)?;
    Ok((data.len(), pmtu))
}

/// Part 3's client: a datagram with DF, the refusal, the path MTU, a datagram that fits.
fn udp_df(
    rec: &Recorder,
    dst: Ipv4Addr,
    o: &MtuOptions,
) -> io::Result<(Option<String>, Option<i32>)> {
    // Forget what part 2 learnt about the path (this namespace's route cache only).
    rec.note(
        C,
        "echo 1 > /proc/sys/net/ipv4/route/flush (the client's namespace only)",
    );
    let _ = std::fs::write("/proc/sys/net/ipv4/route/flush", "1");
    let sock = udp_socket(rec, C)?;
    let fd = sock.as_raw_fd();
    let to = SocketAddrV4::new(dst, DF_PORT);
    rec.call(
        C,
        "connect",
        format!("fd {fd}, {to}"),
        || sock.connect(to),
        ok0,
    )?;
    pmtu_discover(rec, &sock, libc::IP_PMTUDISC_DO, "IP_PMTUDISC_DO")?;
    rec.note(
        C,
        "IP_PMTUDISC_DO: DF on every datagram; the kernel never fragments them",
    );
    rec.call(
        C,
        "setsockopt",
        format!("fd {fd}, IPPROTO_IP, IP_RECVERR, 1"),
        || setsockopt(&sock, sockopt::Ipv4RecvErr, &true).map_err(io::Error::from),
        ok0,
    )?;
    let data = payload(o.size);
    let send = |d: &[u8]| {
        rec.call(
            C,
            "send",
            format!("fd {fd}, {}", quote(d)),
            || sock.send(d),
            |n| n.to_string(),
        )
    };
    send(&data)?;
    // The router's answer comes back to this socket's error queue.
    let mut fds = [PollFd::new(sock.as_fd(), PollFlags::POLLIN)];
    poll(&mut fds, PollTimeout::from(2000u16)).map_err(io::Error::from)?;
    if fds[0]
        .revents()
        .is_some_and(|r| r.contains(PollFlags::POLLERR))
    {
        let mut buf = [0u8; 2048];
        let p = rec.begin(C, "recvmsg", format!("fd {fd}, MSG_ERRQUEUE"));
        match read_error(&sock, &mut buf) {
            Ok((err, from, _, _)) => rec.end(
                p,
                format!(
                    "ICMP type {} code {} from {}: fragmentation needed, next-hop MTU {} \
                     (sock_extended_err.ee_info)",
                    err.ee_type,
                    err.ee_code,
                    from.map_or("?".to_string(), |f| f.to_string()),
                    err.ee_info
                ),
            ),
            Err(e) => rec.end(p, format!("-1 ({})", errno_name(&e))),
        }
    }
    let first_err = send(&data).err().map(|e| errno_name(&e));
    let pmtu = path_mtu(rec, &sock);
    if let Some(m) = pmtu {
        let fits = (m as usize).saturating_sub(28).min(data.len());
        rec.note(
            C,
            format!(
                "{m} bytes of IP minus 20 of IP header and 8 of UDP header: {fits} bytes of \
                 payload fit"
            ),
        );
        send(&data[..fits])?;
    }
    rec.call(C, "close", format!("fd {fd}"), || super::closed(sock), ok0)?;
    Ok((first_err, pmtu))
}
