//! Why a hand-made SYN gets a RST from the kernel, and how a firewall rule lets the handshake
//! finish.
//!
//! # The idea
//!
//! A *raw socket* lets a program write whole IP packets itself (with `IP_HDRINCL`, the IP
//! header too). wirelab builds a SYN by hand and sends it through one to a kernel listener on
//! the loopback. The listener answers with a SYN-ACK, addressed to the port wirelab wrote in its
//! SYN. But the raw socket is not a TCP socket: the kernel's TCP has no socket on that port. So
//! when the SYN-ACK arrives, the kernel does what RFC 9293 § 3.10.7.1 says for a segment to a
//! port with no connection: it answers with a RST. The listener, reset, forgets the half-open
//! connection, and wirelab's ACK comes too late.
//!
//! This is why port scanners that send raw SYNs see RSTs from their own machine, and why
//! userspace TCP stacks run behind a TUN device (which has addresses of its own) or ask the
//! firewall to stay quiet: inside the demo's private network namespace, an nftables rule drops
//! the RSTs our kernel sends from that one port, and the handshake wirelab makes by hand
//! completes: the listener's `accept()` returns.
//!
//! Frames are captured with a packet socket (AF_PACKET) on the loopback, the way tcpdump
//! captures, so the RST the kernel sends on wirelab's behalf is seen.

use std::cell::Cell;
use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::stack::{Flags, IsnClock, State, Tcb};
use super::tun::{ListenerNews, kernel_echo_listener};
use super::{Captured, Event, Seen, Session, Sink, Wire, free_port, show_bytes, sys};
use crate::Error;
use crate::dissect::model::LinkType;
use crate::source::OwnedFrame;

/// How the RST demo runs.
#[derive(Clone, Debug)]
pub struct RstConfig {
    pub message: Vec<u8>,
    pub timeout: Duration,
    /// Run the second half with nftables (only ever inside the demo's own namespace).
    pub use_nft: bool,
    /// Say "the host's loopback" instead of "the namespace's loopback".
    pub on_host: bool,
}

/// What the RST demo ended with.
#[derive(Debug, Default)]
pub struct RstOutcome {
    /// Frames of the first half: SYN, SYN-ACK, the kernel's RST, …
    pub first: Vec<OwnedFrame>,
    /// The kernel of wirelab's side sent a RST for the SYN-ACK.
    pub kernel_rst_seen: bool,
    /// Frames of the second half, with the nftables rule.
    pub second: Vec<OwnedFrame>,
    /// The second half ran (nft was there and worked).
    pub nft_ran: bool,
    /// Why the second half did not run, if it did not.
    pub nft_skipped: Option<String>,
    /// The listener's `accept()` returned our hand-made connection.
    pub handshake_completed: bool,
    /// The message came back.
    pub echoed: bool,
    /// Transitions of wirelab's TCP in the second half.
    pub transitions: Vec<(State, State)>,
    /// RSTs the nftables rule dropped, as its counter says.
    pub rsts_dropped: Option<u64>,
}

/// A raw socket to send hand-made IPv4 packets, and a capture socket on the loopback.
pub struct LoopbackWire {
    raw: Socket,
    cap: Socket,
    buf: Vec<u8>,
}

impl LoopbackWire {
    pub fn open() -> io::Result<LoopbackWire> {
        let raw = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::TCP))?;
        // IP_HDRINCL: the packets we write start with our own IPv4 header.
        raw.set_header_included_v4(true)?;
        // A raw TCP socket also receives a copy of every TCP packet; we read from the
        // capture instead, so keep this buffer small.
        raw.set_recv_buffer_size(4096)?;
        let cap = sys::capture_socket("lo", Duration::from_millis(50))?;
        Ok(LoopbackWire {
            raw,
            cap,
            buf: vec![0; 65_600],
        })
    }
}

impl Wire for LoopbackWire {
    fn send(&mut self, packet: &[u8]) -> io::Result<()> {
        let dst = packet
            .get(16..20)
            .map(|b| Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            .unwrap_or(Ipv4Addr::LOCALHOST);
        self.raw
            .send_to(packet, &SockAddr::from(SocketAddrV4::new(dst, 0)))?;
        Ok(())
    }

    fn recv(&mut self, timeout: Duration) -> io::Result<Option<Captured>> {
        let deadline = Instant::now() + timeout;
        loop {
            match (&self.cap).read(&mut self.buf) {
                Ok(n) => {
                    // Loopback frames carry an Ethernet header with zero addresses; keep IPv4.
                    if n >= 34 && self.buf[12..14] == [0x08, 0x00] {
                        return Ok(Some(Captured {
                            link: LinkType::ETHERNET,
                            data: self.buf[..n].to_vec(),
                            ip_at: 14,
                        }));
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    fn captures_own(&self) -> bool {
        true
    }

    fn local_offload(&self) -> bool {
        true
    }
}

/// Find the `nft` program (it lives in sbin, which an ordinary user's PATH may lack).
pub fn find_nft() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(Into::into))
        .map(|d| d.join("nft"))
        .find(|p| p.is_file())
}

/// The nftables rule set, in its own table, that drops the RSTs our kernel sends from
/// `port`.
pub fn nft_rules(port: u16) -> String {
    format!(
        "table inet wirelab_handshake {{\n  chain output {{\n    type filter hook output \
         priority 0; policy accept;\n    ip saddr 127.0.0.1 tcp sport {port} tcp flags & rst == \
         rst counter drop\n  }}\n}}\n"
    )
}

fn nft(nft: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut cmd = Command::new(nft);
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        pipe.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Run the demo: first half without the rule, second half with it.
pub fn run(cfg: &RstConfig, sink: &mut dyn Sink) -> Result<RstOutcome, Error> {
    let mut outcome = RstOutcome::default();
    if !sys::link_is_up("lo").unwrap_or(false) {
        sys::set_link_up("lo").map_err(|e| -> Error {
            format!("cannot bring up the loopback interface of the namespace: {e}").into()
        })?;
        sink.event(Event::Say(
            "The namespace's loopback interface starts down; wirelab brought it up (as `ip link \
             set lo up`)."
                .into(),
        ))?;
    }
    let mut wire = LoopbackWire::open().map_err(|e| -> Error {
        format!(
            "cannot open the raw socket and the packet capture (needs CAP_NET_RAW; \
             `sudo setcap cap_net_raw,cap_net_admin+ep $(command -v wirelab)`): {e}"
        )
        .into()
    })?;
    let (listen, news) =
        kernel_echo_listener(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0), cfg.timeout * 2)?;
    let where_ = if cfg.on_host {
        "the host's loopback"
    } else {
        "the namespace's loopback"
    };
    sink.event(Event::Say(format!(
        "A kernel socket listens on {listen} ({where_}). wirelab sends a SYN it built itself \
         through a raw socket (IP_HDRINCL: wirelab writes the IPv4 header too) and watches the \
         loopback with a packet socket (AF_PACKET), as tcpdump would."
    )))?;

    // ── First half: the kernel resets the hand-made connection.
    sink.event(Event::Part {
        id: "rst-1",
        title: "Without help: the SYN-ACK finds no socket, and the kernel answers RST".into(),
    })?;
    first_half(cfg, sink, &mut wire, listen, &mut outcome)?;

    // ── Second half: an nftables rule drops the RST.
    if !cfg.use_nft {
        outcome.nft_skipped = Some(
            "this run is on the host's loopback, and wirelab never changes the host's firewall"
                .into(),
        );
    } else if let Some(nft_path) = find_nft() {
        sink.event(Event::Part {
            id: "rst-2",
            title: "With an nftables rule that drops our kernel's RST".into(),
        })?;
        second_half(cfg, sink, &mut wire, listen, &news, &nft_path, &mut outcome)?;
    } else {
        outcome.nft_skipped = Some(
            "the `nft` program is not installed (Debian/Ubuntu: apt install nftables), so only \
             the first half is shown"
                .into(),
        );
    }
    if let Some(why) = &outcome.nft_skipped {
        sink.event(Event::Say(format!("Second half skipped: {why}.")))?;
    }
    Ok(outcome)
}

fn first_half(
    cfg: &RstConfig,
    sink: &mut dyn Sink,
    wire: &mut LoopbackWire,
    listen: SocketAddrV4,
    outcome: &mut RstOutcome,
) -> Result<(), Error> {
    let local = SocketAddrV4::new(Ipv4Addr::LOCALHOST, free_port(Ipv4Addr::LOCALHOST)?);
    sink.event(Event::Say(format!(
        "wirelab's SYN comes from {local}: a port where no socket exists."
    )))?;
    let (tcb, r) = Tcb::connect(local, listen, IsnClock::new());
    let mut s = Session::new(wire, sink, tcb);
    // Hold our ACK back until the kernel has had its say.
    s.hold_replies = true;
    s.report(None, &r)?;
    s.transmit(r.replies)?;
    let deadline = Instant::now() + cfg.timeout;
    let rst_frame: Cell<Option<u64>> = Cell::new(None);
    let mut app = |s: &mut Session, seen: &Seen| -> io::Result<()> {
        if let Seen::OurKernel { frame, segment } = seen
            && segment.has(Flags::RST)
        {
            rst_frame.set(Some(*frame));
            let synack = if s.tcb.state == State::Established {
                format!(" = the SYN-ACK's ack, {} + 1", s.tcb.iss)
            } else {
                String::new()
            };
            s.explain(
                "kernel_rst",
                format!(
                    "Frame {frame} was not sent by wirelab. Our own kernel received the SYN-ACK \
                     for {}, looked for a TCP socket on port {} and found none: wirelab's SYN \
                     left through a raw socket, which the kernel's TCP knows nothing about. For \
                     a segment to a port with no connection, RFC 9293 §3.10.7.1 says: answer \
                     with RST, seq = the segment's ack ({}{synack}), so that the sender accepts \
                     it. The listener takes the reset and forgets the half-open connection.",
                    segment.src,
                    segment.src.port(),
                    segment.seq
                ),
            )?;
        }
        Ok(())
    };
    s.pump(deadline, &mut app, &|_| rst_frame.get().is_some())?;
    let rst_frame = rst_frame.get();
    outcome.kernel_rst_seen = rst_frame.is_some();
    if s.tcb.state == State::Established && !s.held.is_empty() {
        s.say(
            "wirelab's TCP is ESTABLISHED by its own reckoning and now sends the ACK it held \
             back. Too late: the listener already dropped the connection.",
        )?;
        s.hold_replies = false;
        let held = std::mem::take(&mut s.held);
        s.transmit(held)?;
        let deadline = Instant::now() + Duration::from_millis(800);
        let mut app2 = |s: &mut Session, seen: &Seen| -> io::Result<()> {
            if let Seen::Theirs { reaction, .. } = seen
                && !reaction.transitions().is_empty()
            {
                s.explain(
                    "listener_rst",
                    "The listener has no connection left to match our ACK, so its port is \
                     simply LISTENing, and an ACK in LISTEN acknowledges something never sent: \
                     RFC 9293 §3.10.7.2 answers it with RST, seq = the ACK's ack number. \
                     wirelab's TCP accepts that RST (its seq is exactly RCV.NXT) and the \
                     connection is gone.",
                )?;
            }
            Ok(())
        };
        s.pump(deadline, &mut app2, &|s: &Session| {
            s.tcb.state == State::Closed
        })?;
    }
    outcome.first = std::mem::take(&mut s.frames);
    s.emit(Event::Result {
        check: "kernel_rst",
        ok: outcome.kernel_rst_seen,
        detail: if outcome.kernel_rst_seen {
            "the kernel reset the hand-made connection".into()
        } else {
            "no RST from the kernel was captured".into()
        },
    })?;
    Ok(())
}

fn second_half(
    cfg: &RstConfig,
    sink: &mut dyn Sink,
    wire: &mut LoopbackWire,
    listen: SocketAddrV4,
    news: &mpsc::Receiver<ListenerNews>,
    nft_path: &std::path::Path,
    outcome: &mut RstOutcome,
) -> Result<(), Error> {
    let local = SocketAddrV4::new(Ipv4Addr::LOCALHOST, free_port(Ipv4Addr::LOCALHOST)?);
    let rules = nft_rules(local.port());
    if let Err(e) = nft(nft_path, &["-f", "-"], Some(&rules)) {
        outcome.nft_skipped = Some(format!("`nft -f -` failed: {e}"));
        return Ok(());
    }
    outcome.nft_ran = true;
    sink.event(Event::Say(format!(
        "Inside this namespace only (the host's firewall is not touched), wirelab loads this \
         nftables rule set with `nft -f -`. It drops every RST our kernel sends from port {}, \
         the port of wirelab's next SYN, and disappears with the namespace when wirelab exits:",
        local.port()
    )))?;
    sink.event(Event::Code(rules.clone()))?;
    // Forget news from the first half.
    while news.try_recv().is_ok() {}

    let (tcb, r) = Tcb::connect(local, listen, IsnClock::new());
    let mut s = Session::new(wire, sink, tcb);
    s.report(None, &r)?;
    s.transmit(r.replies)?;
    let deadline = Instant::now() + cfg.timeout;
    let message = cfg.message.clone();
    let mut sent = false;
    let mut closing = false;
    let mut accepted = false;
    let mut echoed = Vec::new();
    let mut time_wait_since: Option<Instant> = None;
    let mut app = |s: &mut Session, _seen: &Seen| -> io::Result<()> {
        while let Ok(n) = news.try_recv() {
            match n {
                ListenerNews::Accepted(peer) => {
                    accepted = true;
                    s.say(format!(
                        "The kernel listener's accept() returns a connection from {peer}: the \
                         handshake wirelab made by hand is complete on the kernel's side too."
                    ))?;
                }
                ListenerNews::Echoed(b) => echoed.extend(b),
                ListenerNews::Closed => {}
                ListenerNews::Failed(e) => s.say(format!("The kernel listener failed: {e}"))?,
            }
        }
        if s.tcb.state == State::Established && !sent && s.all_seen() {
            sent = true;
            s.say(format!(
                "wirelab sends {} bytes, {}, through the raw socket.",
                message.len(),
                show_bytes(&message)
            ))?;
            s.tcb.send(&message);
        }
        if sent && !closing && s.tcb.received.len() >= message.len() {
            closing = true;
            s.say(format!(
                "The kernel's echo is back: {}. wirelab closes.",
                show_bytes(&s.tcb.received.clone())
            ))?;
            s.close()?;
        }
        s.flush()?;
        if s.tcb.state == State::TimeWait {
            let since = *time_wait_since.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_millis(300) {
                let r = s.tcb.time_wait_done();
                s.report(None, &r)?;
            }
        }
        Ok(())
    };
    let done = s.pump(deadline, &mut app, &|s: &Session| {
        s.tcb.state == State::Closed
    })?;
    outcome.handshake_completed = accepted;
    outcome.echoed = done && s.tcb.received.starts_with(&message);
    outcome.transitions = std::mem::take(&mut s.transitions);
    outcome.second = std::mem::take(&mut s.frames);

    // The rule's counter says how many RSTs it stopped.
    if let Ok(listing) = nft(
        nft_path,
        &["list", "table", "inet", "wirelab_handshake"],
        None,
    ) {
        outcome.rsts_dropped = listing
            .split_whitespace()
            .skip_while(|w| *w != "packets")
            .nth(1)
            .and_then(|n| n.parse().ok());
    }
    if let Some(n) = outcome.rsts_dropped {
        s.say(format!(
            "The rule's counter: it dropped {n} RST segments our kernel tried to send, one for \
             every segment the listener sent to a port where our kernel has no socket. None of \
             them appears above: nftables dropped them before they reached the loopback device."
        ))?;
    }
    s.emit(Event::Result {
        check: "handshake_with_rule",
        ok: outcome.handshake_completed,
        detail: if outcome.handshake_completed {
            "with the RST dropped, the hand-made handshake completed (the listener accepted it)"
                .into()
        } else {
            "the listener never accepted the hand-made connection".into()
        },
    })?;
    Ok(())
}
