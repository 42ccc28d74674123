//! `wirelab lab measure`: measure the lab's path from client to server and compare it with the
//! links' settings.
//!
//! # The idea
//!
//! A setting is a promise; a measurement checks it. Three measurements, each made the way
//! network engineers make them:
//!
//! * **Delay**: ICMP echo requests (what `ping` sends), answered by the server's kernel itself,
//!   so no program's scheduling adds to the time. Each round-trip time is the kernel's receive
//!   timestamp of the answer (`SO_TIMESTAMPNS`) minus the moment the request was sent. Half the
//!   median round trip, less the time the small frames take to transmit, is the one-way delay.
//! * **Loss**: numbered UDP datagrams sent at half the link's rate, so no queue ever fills: every
//!   one that does not arrive was lost on the way, and should have been asked for (`loss=`,
//!   `drop=`).
//! * **Rate**: a stream of full-size UDP datagrams sent faster than the link's rate (130%), so
//!   the link is busy without a pause and its queue drops the excess. The server's kernel
//!   stamps each arrival; frames delivered × their size ÷ the time between the first and the
//!   last is the rate the link really gives. Counted in bytes of Ethernet frames (header
//!   included), as `rate=` is.
//!
//! Everything is bounded: a fixed number of probes, a stream of at most `seconds`, and every
//! wait has a deadline. All of it stays inside the lab's namespaces.

use std::io::{self, IoSliceMut};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt};
use socket2::{Domain, Protocol, Socket, Type};

use super::emulator::LinkReport;
use super::{Host, Lab};
use crate::source::topology::{Shaper, Topology, ms_text, rate_text};

/// What to measure.
#[derive(Clone, Debug)]
pub struct MeasureOptions {
    /// ICMP echo requests for the delay.
    pub probes: u32,
    /// How long the rate stream lasts.
    pub seconds: f64,
}

/// The delay measured with ICMP echoes.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DelayResult {
    pub probes: u32,
    pub answered: u32,
    /// Size of each echo frame (request and reply alike).
    pub frame_bytes: usize,
    pub rtt_min_ms: f64,
    pub rtt_median_ms: f64,
    pub rtt_max_ms: f64,
    /// What the settings predict: twice (delay + transmission of the frame) over every
    /// emulated link.
    pub expected_rtt_ms: f64,
    /// The one-way delay measured: half the median RTT less the frame's transmission time.
    pub one_way_ms: f64,
    /// The one-way delay set (the sum of the links' delays).
    pub set_one_way_ms: f64,
    /// `one_way_ms - set_one_way_ms`.
    pub error_ms: f64,
}

/// Loss, measured below the rate.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LossResult {
    pub sent: u64,
    pub received: u64,
    /// The datagrams (1-based) that never arrived.
    pub missing: Vec<u64>,
    /// Did the settings ask for any loss (`loss=`, `drop=`)?
    pub asked: bool,
}

/// The rate, measured above it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RateResult {
    pub sent: u64,
    pub received: u64,
    pub frame_bytes: usize,
    /// From the first arrival to the last.
    pub seconds: f64,
    pub measured_bps: f64,
    pub set_bps: u64,
    /// `100 × (measured − set) / set`.
    pub error_pct: f64,
}

/// Everything `wirelab lab measure` found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Measurement {
    pub client: Ipv4Addr,
    pub server: Ipv4Addr,
    pub delay: Option<DelayResult>,
    pub loss: LossResult,
    pub rate: Option<RateResult>,
    /// What the emulators counted meanwhile.
    pub links: Vec<LinkReport>,
}

const LOSS_PORT: u16 = 7020;
const RATE_PORT: u16 = 7021;
/// Payload of each echo request: 56 bytes, as `ping` sends (98-byte frames).
const ECHO_PAYLOAD: usize = 56;

/// The lowest rate along the path, and the smallest MTU.
fn bottleneck(t: &Topology) -> (Option<u64>, u32) {
    let rate = t.links().iter().filter_map(|l| l.rate).min();
    let mtu = t.links().iter().map(|l| l.mtu()).min().unwrap_or(1500);
    (rate, mtu)
}

/// Measure the lab's path.
pub fn measure(lab: &mut Lab, o: &MeasureOptions) -> io::Result<Measurement> {
    let t = lab.topology().clone();
    let server = t.server_ip();
    let delay = lab.run_in(Host::Client, || delay(&t, server, o.probes))??;
    let loss = loss(lab, server)?;
    let rate = match bottleneck(&t).0 {
        Some(_) => Some(rate(lab, server, o.seconds)?),
        None => None,
    };
    Ok(Measurement {
        client: t.client_ip(),
        server,
        delay,
        loss,
        rate,
        links: lab.finish_links(),
    })
}

fn stamp_of(t: &nix::sys::time::TimeSpec) -> SystemTime {
    UNIX_EPOCH
        + Duration::new(
            t.tv_sec().max(0) as u64,
            t.tv_nsec().clamp(0, 999_999_999) as u32,
        )
}

/// Receive one datagram with the kernel's timestamp of its arrival.
fn recv_stamped(sock: &impl AsRawFd, buf: &mut [u8]) -> io::Result<(usize, SystemTime)> {
    let mut iov = [IoSliceMut::new(buf)];
    let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .map_err(io::Error::from)?;
    let mut at = SystemTime::now();
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmTimestampns(ts) = c {
            at = stamp_of(&ts);
        }
    }
    Ok((msg.bytes, at))
}

fn delay(t: &Topology, server: Ipv4Addr, probes: u32) -> io::Result<Option<DelayResult>> {
    let sock: UdpSocket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::ICMPV4))?.into();
    setsockopt(&sock, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)?;
    sock.connect(SocketAddrV4::new(server, 0))?;
    sock.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut rtts = Vec::new();
    let mut buf = [0u8; 2048];
    // Probe 0 is not counted: it pays for the ARP exchanges along the path.
    for seq in 0..=probes as u16 {
        let mut m = vec![8u8, 0, 0, 0, 0, 0];
        m.extend_from_slice(&seq.to_be_bytes());
        m.resize(8 + ECHO_PAYLOAD, 0x61);
        let sent = SystemTime::now();
        sock.send(&m)?;
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            match recv_stamped(&sock, &mut buf) {
                Ok((n, at)) if n >= 8 && buf[0] == 0 && buf[6..8] == seq.to_be_bytes() => {
                    if seq > 0 {
                        rtts.push(at.duration_since(sent).unwrap_or_default());
                    }
                    break;
                }
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if rtts.is_empty() {
        return Ok(None);
    }
    rtts.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let frame = 14 + 20 + 8 + ECHO_PAYLOAD;
    // Transmission of one echo frame, one way, on the links whose rate wirelab enforces (tbf
    // lets a frame that finds its bucket full of tokens through at once).
    let tx: Duration = t
        .links()
        .iter()
        .filter(|l| l.shaper == Shaper::Wirelab)
        .map(|l| l.transmission_time(frame))
        .sum();
    let set: Duration = t.links().iter().map(|l| l.delay).sum();
    let median = rtts[rtts.len() / 2];
    let one_way = ms(median) / 2.0 - ms(tx);
    Ok(Some(DelayResult {
        probes,
        answered: rtts.len() as u32,
        frame_bytes: frame,
        rtt_min_ms: ms(rtts[0]),
        rtt_median_ms: ms(median),
        rtt_max_ms: ms(rtts[rtts.len() - 1]),
        expected_rtt_ms: 2.0 * ms(set + tx),
        one_way_ms: one_way,
        set_one_way_ms: ms(set),
        error_ms: one_way - ms(set),
    }))
}

/// How long the server waits after the last datagram before it decides the stream is over.
fn quiet_time(t: &Topology) -> Duration {
    let (prop, _) = t.path_delay(0);
    Duration::from_millis(500) + prop * 4
}

fn loss(lab: &Lab, server: Ipv4Addr) -> io::Result<LossResult> {
    let t = lab.topology();
    let (rate, _) = bottleneck(t);
    const N: u64 = 200;
    const SIZE: usize = 200;
    // Half the rate: a frame of SIZE + 42 bytes every 2·(SIZE+42)·8/rate seconds.
    let gap = match rate {
        Some(r) => Duration::from_secs_f64(2.0 * (SIZE + 42) as f64 * 8.0 / r as f64),
        None => Duration::from_millis(1),
    };
    let quiet = quiet_time(t);
    let asked = t.links().iter().any(|l| l.loss > 0.0 || !l.drop.is_empty());
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let got = std::thread::scope(|s| {
        let srv = s.spawn(move || {
            lab.run_in(Host::Server, move || -> io::Result<Vec<u64>> {
                let sock = UdpSocket::bind(SocketAddrV4::new(server, LOSS_PORT))?;
                sock.set_read_timeout(Some(quiet))?;
                let _ = ready_tx.send(());
                let mut got = Vec::new();
                let mut buf = [0u8; 2048];
                let deadline = Instant::now() + Duration::from_secs(30);
                while Instant::now() < deadline {
                    match sock.recv(&mut buf) {
                        Ok(n) if n >= 8 => {
                            got.push(u64::from_be_bytes(buf[..8].try_into().expect("8 bytes")))
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                Ok(got)
            })?
        });
        let cli = s.spawn(move || {
            lab.run_in(Host::Client, move || -> io::Result<()> {
                let _ = ready_rx.recv_timeout(Duration::from_secs(5));
                let sock = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
                sock.connect(SocketAddrV4::new(server, LOSS_PORT))?;
                let start = Instant::now();
                for i in 1..=N {
                    let mut m = i.to_be_bytes().to_vec();
                    m.resize(SIZE, 0x62);
                    sock.send(&m)?;
                    let next = start + gap * i as u32;
                    std::thread::sleep(next.saturating_duration_since(Instant::now()));
                }
                Ok(())
            })?
        });
        let c = cli
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("panicked")));
        let g = srv
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("panicked")));
        c.and(g)
    })?;
    let missing = (1..=N).filter(|i| !got.contains(i)).collect();
    Ok(LossResult {
        sent: N,
        received: got.len() as u64,
        missing,
        asked,
    })
}

fn rate(lab: &Lab, server: Ipv4Addr, seconds: f64) -> io::Result<RateResult> {
    let t = lab.topology();
    let (Some(set), mtu) = bottleneck(t) else {
        return Err(io::Error::other("no link has a rate"));
    };
    let payload = mtu as usize - 28;
    let frame = payload + 28 + 14;
    let seconds = seconds.clamp(0.2, 30.0);
    let send_bps = set as f64 * 1.3;
    let n = ((send_bps * seconds) / (frame as f64 * 8.0))
        .ceil()
        .max(20.0) as u64;
    let gap = Duration::from_secs_f64(frame as f64 * 8.0 / send_bps);
    // The longest the queue can take to drain, and then some.
    let drain = t
        .links()
        .iter()
        .map(|l| l.transmission_time(frame) * l.queue_len() as u32)
        .sum::<Duration>();
    let quiet = quiet_time(t);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (arrivals, sent) = std::thread::scope(|s| {
        let srv = s.spawn(move || {
            lab.run_in(Host::Server, move || -> io::Result<Vec<SystemTime>> {
                let sock = UdpSocket::bind(SocketAddrV4::new(server, RATE_PORT))?;
                setsockopt(&sock, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)?;
                socket2::SockRef::from(&sock).set_recv_buffer_size(8 << 20)?;
                sock.set_read_timeout(Some(quiet))?;
                let _ = ready_tx.send(());
                let mut at = Vec::new();
                let mut buf = vec![0u8; 65536];
                let deadline = Instant::now()
                    + Duration::from_secs_f64(seconds)
                    + drain
                    + Duration::from_secs(10);
                while Instant::now() < deadline {
                    match recv_stamped(&sock, &mut buf) {
                        Ok((_, t)) => at.push(t),
                        Err(e)
                            if matches!(
                                e.kind(),
                                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                            ) =>
                        {
                            if !at.is_empty() || Instant::now() + quiet > deadline {
                                break;
                            }
                        }
                        Err(e) => return Err(e),
                    }
                }
                Ok(at)
            })?
        });
        let cli = s.spawn(move || {
            lab.run_in(Host::Client, move || -> io::Result<u64> {
                let _ = ready_rx.recv_timeout(Duration::from_secs(5));
                let sock = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
                socket2::SockRef::from(&sock).set_send_buffer_size(4 << 20)?;
                sock.connect(SocketAddrV4::new(server, RATE_PORT))?;
                let data = vec![0x63u8; payload];
                let start = Instant::now();
                let mut sent = 0;
                while sent < n {
                    let due =
                        ((start.elapsed().as_secs_f64() / gap.as_secs_f64()) as u64 + 1).min(n);
                    while sent < due {
                        // A full socket buffer is the sender's own loss, not the link's.
                        if sock.send(&data).is_ok() {
                            sent += 1;
                        } else {
                            std::thread::sleep(Duration::from_micros(200));
                        }
                    }
                    std::thread::sleep(Duration::from_micros(500));
                }
                Ok(sent)
            })?
        });
        let c = cli
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("panicked")));
        let g = srv
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("panicked")));
        Ok::<_, io::Error>((g?, c?))
    })?;
    let received = arrivals.len() as u64;
    let span = match (arrivals.first(), arrivals.last()) {
        (Some(a), Some(b)) => b.duration_since(*a).unwrap_or_default().as_secs_f64(),
        _ => 0.0,
    };
    let measured = if received > 1 && span > 0.0 {
        (received - 1) as f64 * frame as f64 * 8.0 / span
    } else {
        0.0
    };
    Ok(RateResult {
        sent,
        received,
        frame_bytes: frame,
        seconds: span,
        measured_bps: measured,
        set_bps: set,
        error_pct: 100.0 * (measured - set as f64) / set as f64,
    })
}

impl Measurement {
    /// The results in words.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "Measured from the client {} to the server {}:\n\n",
            self.client, self.server
        );
        match &self.delay {
            Some(d) => {
                s.push_str(&format!(
                    "  delay  {} ICMP echo requests ({}-byte frames), {} answered, timed by the \
                     kernel:\n         RTT min {:.3} ms, median {:.3} ms, max {:.3} ms; the \
                     settings predict {:.3} ms\n         one-way delay {:.3} ms (half the median \
                     RTT, less transmission), set {:.3} ms: off by {:+.3} ms\n",
                    d.probes,
                    d.frame_bytes,
                    d.answered,
                    d.rtt_min_ms,
                    d.rtt_median_ms,
                    d.rtt_max_ms,
                    d.expected_rtt_ms,
                    d.one_way_ms,
                    d.set_one_way_ms,
                    d.error_ms
                ));
            }
            None => s.push_str("  delay  no echo request was answered\n"),
        }
        let l = &self.loss;
        s.push_str(&format!(
            "  loss   {} UDP datagrams at half the rate: {} arrived, {} lost{} ({})\n",
            l.sent,
            l.received,
            l.missing.len(),
            if l.missing.is_empty() {
                String::new()
            } else {
                format!(
                    ": numbers {}",
                    l.missing
                        .iter()
                        .take(20)
                        .map(|n| n.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            if l.asked {
                "loss was asked for"
            } else {
                "no loss was asked for"
            }
        ));
        match &self.rate {
            Some(r) => s.push_str(&format!(
                "  rate   UDP at 130% of the rate: {} of {} frames of {} bytes arrived over {}\n         \
                 = {}, set {}: off by {:+.2}%{}\n",
                r.received,
                r.sent,
                r.frame_bytes,
                ms_text(Duration::from_secs_f64(r.seconds)),
                rate_text(r.measured_bps.round() as u64),
                rate_text(r.set_bps),
                r.error_pct,
                if r.received < r.sent {
                    " (the others were dropped by the full queue, as asked)"
                } else {
                    " (the queue held all the excess)"
                }
            )),
            None => s.push_str("  rate   no link has a rate limit: not measured\n"),
        }
        if !self.links.is_empty() {
            s.push_str("\nWhat the emulator counted:\n");
            for r in &self.links {
                s.push_str(&r.describe());
            }
        }
        s
    }
}
