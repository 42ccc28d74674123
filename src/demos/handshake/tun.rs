//! wirelab's TCP behind a TUN device, talking to the kernel's TCP.
//!
//! # What a TUN device is
//!
//! A TUN device is a network interface with a program at the other end instead of a cable.
//! When the kernel routes an IP packet to it, the program reads that packet from a file
//! descriptor; when the program writes a packet to the descriptor, the kernel receives it as if
//! it had come in from a network. The packets are bare IP, with no Ethernet header (that would
//! be a TAP device).
//!
//! ```text
//!    kernel TCP (socket API)                 wirelab's TCP (this program)
//!    169.254.X.1 ── wirelab0 (TUN, /30) ──── 169.254.X.2
//! ```
//!
//! The device gets 169.254.X.1/30: the kernel owns .1, and the route for the /30 sends
//! everything for .2 into the device, where wirelab answers for it. Link-local addresses
//! (169.254.0.0/16) are used because they never leave a link; 127.x addresses do not work on a
//! TUN device (the kernel drops them as "martians" unless `route_localnet` is set).
//!
//! All of this happens inside the demo's own network namespace; [`serve`] and [`connect`]
//! refuse to run in the namespace of process 1 (the machine's own network).

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tun_rs::{AsyncDevice, DeviceBuilder};

use super::stack::{IsnClock, State, Tcb};
use super::{Captured, Event, Seen, Session, Sink, Wire, show_bytes, sys};
use crate::Error;
use crate::dissect::model::LinkType;
use crate::source::OwnedFrame;

/// The TUN device's name.
pub const DEVICE: &str = "wirelab0";

/// How a TUN demo is set up.
#[derive(Clone, Debug)]
pub struct TunConfig {
    /// The third byte of the addresses: 169.254.`net`.1 and .2.
    pub net: u8,
    /// The TCP port of the server side.
    pub port: u16,
    /// The message the client sends and gets back.
    pub message: Vec<u8>,
    /// Give up after this long.
    pub timeout: Duration,
    /// A fixed ISN for wirelab's side (tests); `None` chooses one as RFC 9293 §3.4.1 says.
    pub isn: Option<u32>,
}

impl TunConfig {
    /// The kernel's address on the device.
    pub fn kernel_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(169, 254, self.net, 1)
    }

    /// wirelab's address, behind the device.
    pub fn wirelab_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(169, 254, self.net, 2)
    }

    fn isn_clock(&self) -> IsnClock {
        match self.isn {
            Some(v) => IsnClock::fixed(v),
            None => IsnClock::new(),
        }
    }
}

/// What a TUN demo ended with.
#[derive(Debug)]
pub struct TunOutcome {
    pub frames: Vec<OwnedFrame>,
    /// Every state transition of wirelab's TCP, in order.
    pub transitions: Vec<(State, State)>,
    pub final_state: State,
    /// The data wirelab's TCP received.
    pub received: Vec<u8>,
    /// The connection ran to CLOSED (and not into the deadline).
    pub finished: bool,
}

/// The TUN device as a [`Wire`]. tun-rs's asynchronous device is driven by a small
/// single-threaded tokio runtime, which gives reads a timeout.
pub struct TunWire {
    rt: tokio::runtime::Runtime,
    dev: AsyncDevice,
    buf: Vec<u8>,
}

impl TunWire {
    /// Create the device with 169.254.`net`.1/30 for the kernel, and bring it up.
    pub fn create(net: u8) -> io::Result<TunWire> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let dev = rt.block_on(async {
            DeviceBuilder::new()
                .name(DEVICE)
                .ipv4(Ipv4Addr::new(169, 254, net, 1), 30, None)
                .mtu(1500)
                .build_async()
        })?;
        Ok(TunWire {
            rt,
            dev,
            buf: vec![0; 65_536],
        })
    }
}

impl Wire for TunWire {
    fn send(&mut self, packet: &[u8]) -> io::Result<()> {
        self.rt.block_on(self.dev.send(packet)).map(|_| ())
    }

    fn recv(&mut self, timeout: Duration) -> io::Result<Option<Captured>> {
        let got = self
            .rt
            .block_on(async { tokio::time::timeout(timeout, self.dev.recv(&mut self.buf)).await });
        match got {
            Err(_elapsed) => Ok(None),
            Ok(Err(e)) => Err(e),
            Ok(Ok(n)) => Ok(Some(Captured {
                link: LinkType::RAW,
                data: self.buf[..n].to_vec(),
                ip_at: 0,
            })),
        }
    }

    fn captures_own(&self) -> bool {
        false
    }
}

/// Refuse to touch the machine's own network: TUN devices are made only in a namespace of
/// our own. (Process 1's namespace is the machine's, or the container's.)
fn refuse_host_netns() -> Result<(), Error> {
    let ino = |p: &str| {
        std::fs::metadata(p)
            .ok()
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
    };
    if let (Some(me), Some(init)) = (ino("/proc/self/ns/net"), ino("/proc/1/ns/net"))
        && me == init
    {
        return Err(
            "refusing to create a TUN device in the machine's own network namespace; \
                    wirelab makes one of its own first (run `wirelab tcp handshake`, or \
                    `unshare -Urn` around a test)"
                .into(),
        );
    }
    Ok(())
}

/// Why an ordinary user may not open /dev/net/tun, and the fix, when its permissions are the
/// reason. Debian's udev rules make the device `crw-rw-rw-` (anyone may open it; creating a
/// device still needs CAP_NET_ADMIN, which the lab's own namespace gives); some machines
/// leave it `crw-------`, and then only root can use TUN at all.
fn tun_device_hint() -> String {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata("/dev/net/tun") {
        Err(_) => ". This machine has no /dev/net/tun (the tun module is not loaded: `sudo modprobe tun`)."
            .into(),
        Ok(m) if m.permissions().mode() & 0o006 != 0o006 => format!(
            ". /dev/net/tun has mode {:o}, so only its owner may open it; most distributions \
             make it 666 (open to all; creating a device still needs CAP_NET_ADMIN): \
             `sudo chmod 666 /dev/net/tun`, or run this command with sudo",
            m.permissions().mode() & 0o777
        ),
        Ok(_) => String::new(),
    }
}

/// Prepare the namespace and the device; say what was done.
fn setup(cfg: &TunConfig, sink: &mut dyn Sink) -> Result<TunWire, Error> {
    refuse_host_netns()?;
    // A new interface with IPv6 starts sending router solicitations and multicast reports
    // at moments of its own choosing. The demo is about IPv4, so IPv6 is switched off for
    // interfaces created in this namespace (and only here).
    let v6 = sys::write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
    let wire = TunWire::create(cfg.net).map_err(|e| -> Error {
        format!(
            "cannot create the TUN device {DEVICE} (needs CAP_NET_ADMIN in this network \
             namespace and /dev/net/tun): {e}{}",
            tun_device_hint()
        )
        .into()
    })?;
    sink.event(Event::Say(format!(
        "TUN device {DEVICE} is up: the kernel has {}/30 on it; wirelab's own TCP answers for \
         {} behind it.{}",
        cfg.kernel_ip(),
        cfg.wirelab_ip(),
        match v6 {
            Ok(()) => " IPv6 is off for it (net.ipv6.conf.default.disable_ipv6=1 inside the \
                       namespace), so no IPv6 router solicitations arrive; any packet that is \
                       not IPv4 would be shown and ignored."
                .to_string(),
            Err(e) => format!(
                " IPv6 could not be switched off ({e}): IPv6 packets the kernel sends on the \
                 device are shown and ignored."
            ),
        }
    )))?;
    Ok(wire)
}

/// wirelab's TCP listens on 169.254.X.2:PORT behind a TUN device and echoes what it gets.
///
/// `on_ready` is called once the device is up and wirelab listens, with the address to
/// connect to: the caller starts its kernel client there (the command uses
/// [`kernel_client`]; a test may use its own `TcpStream`).
pub fn serve(
    cfg: &TunConfig,
    sink: &mut dyn Sink,
    on_ready: impl FnOnce(SocketAddrV4),
) -> Result<TunOutcome, Error> {
    let mut wire = setup(cfg, sink)?;
    let local = SocketAddrV4::new(cfg.wirelab_ip(), cfg.port);
    let (tcb, r) = Tcb::listen(local, cfg.isn_clock());
    let mut s = Session::new(&mut wire, sink, tcb);
    s.report(None, &r)?;
    s.say(format!(
        "wirelab's TCP listens on {local}. The kernel's client now calls connect() to it."
    ))?;
    on_ready(local);

    let deadline = Instant::now() + cfg.timeout;
    let mut echoed = 0usize;
    let mut app = |s: &mut Session, seen: &Seen| -> io::Result<()> {
        if !matches!(seen, Seen::Theirs { .. }) {
            return Ok(());
        }
        if s.tcb.received.len() > echoed {
            let new = s.tcb.received[echoed..].to_vec();
            echoed = s.tcb.received.len();
            s.say(format!(
                "wirelab's echo application reads {} bytes, {}, and writes them back.",
                new.len(),
                show_bytes(&new)
            ))?;
            s.tcb.send(&new);
        }
        s.flush()?;
        if s.tcb.state == State::CloseWait {
            s.say("The kernel closed its side; wirelab's echo application has nothing more to send, so it closes too.")?;
            s.close()?;
        }
        Ok(())
    };
    let finished = s.pump(deadline, &mut app, &|s| s.tcb.state == State::Closed)?;
    let out = TunOutcome {
        frames: std::mem::take(&mut s.frames),
        transitions: std::mem::take(&mut s.transitions),
        final_state: s.tcb.state,
        received: s.tcb.received.clone(),
        finished,
    };
    Ok(out)
}

/// wirelab's TCP connects from 169.254.X.2 to a kernel listener on 169.254.X.1:PORT, sends
/// the message, reads the echo and closes.
///
/// `on_ready` is called once the device is up, with the kernel's address: the caller must have
/// a listener bound there when it returns (the command uses [`kernel_echo_listener`]).
pub fn connect(
    cfg: &TunConfig,
    sink: &mut dyn Sink,
    on_ready: impl FnOnce(SocketAddrV4) -> io::Result<()>,
) -> Result<TunOutcome, Error> {
    let mut wire = setup(cfg, sink)?;
    let remote = SocketAddrV4::new(cfg.kernel_ip(), cfg.port);
    on_ready(remote)?;
    let port = 40_000 + (rand::random::<u16>() % 20_000);
    let local = SocketAddrV4::new(cfg.wirelab_ip(), port);
    sink.event(Event::Say(format!(
        "A kernel socket listens on {remote}. wirelab's TCP, at {local} (a port it picked \
         itself, as a client's kernel would), opens the connection."
    )))?;
    let (tcb, r) = Tcb::connect(local, remote, cfg.isn_clock());
    let mut s = Session::new(&mut wire, sink, tcb);
    s.report(None, &r)?;
    s.transmit(r.replies)?;

    let deadline = Instant::now() + cfg.timeout;
    let message = cfg.message.clone();
    let mut sent = false;
    let mut closing = false;
    let mut time_wait_since: Option<Instant> = None;
    let mut app = |s: &mut Session, _seen: &Seen| -> io::Result<()> {
        if s.tcb.state == State::Established && !sent {
            sent = true;
            s.say(format!(
                "Connected. wirelab's application sends {} bytes: {}.",
                message.len(),
                show_bytes(&message)
            ))?;
            s.tcb.send(&message);
        }
        if sent && !closing && s.tcb.received.len() >= message.len() {
            closing = true;
            let echo = s.tcb.received.clone();
            s.say(format!(
                "The echo is back: {}. wirelab closes its side.",
                show_bytes(&echo)
            ))?;
            s.close()?;
        }
        s.flush()?;
        if s.tcb.state == State::TimeWait {
            let since = *time_wait_since.get_or_insert_with(Instant::now);
            // Stay a moment, to acknowledge the peer's FIN again should it come back.
            if since.elapsed() > Duration::from_millis(300) {
                let r = s.tcb.time_wait_done();
                s.report(None, &r)?;
            }
        }
        Ok(())
    };
    let finished = s.pump(deadline, &mut app, &|s| s.tcb.state == State::Closed)?;
    Ok(TunOutcome {
        frames: std::mem::take(&mut s.frames),
        transitions: std::mem::take(&mut s.transitions),
        final_state: s.tcb.state,
        received: s.tcb.received.clone(),
        finished,
    })
}

/// What the kernel's client saw.
#[derive(Debug)]
pub struct ClientReport {
    pub local: std::net::SocketAddr,
    pub echo: Vec<u8>,
}

/// The kernel's side of the server demo: a plain `TcpStream` that connects, writes the
/// message, reads the echo, shuts down its sending side (its FIN) and waits for the server's
/// FIN. It runs in its own thread while wirelab's TCP answers on the TUN device.
pub fn kernel_client(
    addr: SocketAddrV4,
    message: Vec<u8>,
    timeout: Duration,
) -> JoinHandle<io::Result<ClientReport>> {
    std::thread::spawn(move || {
        let mut s = TcpStream::connect_timeout(&addr.into(), timeout)?;
        s.set_read_timeout(Some(timeout))?;
        let local = s.local_addr()?;
        s.write_all(&message)?;
        let mut echo = vec![0; message.len()];
        s.read_exact(&mut echo)?;
        s.shutdown(Shutdown::Write)?;
        // The server's FIN makes read return 0 (end of stream).
        let mut rest = Vec::new();
        s.read_to_end(&mut rest)?;
        echo.extend(rest);
        Ok(ClientReport { local, echo })
    })
}

/// What a kernel listener reports while it works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerNews {
    /// `accept()` returned: the kernel finished a handshake with this peer.
    Accepted(std::net::SocketAddr),
    /// Bytes read and written back.
    Echoed(Vec<u8>),
    /// The peer closed its side; the listener closed too.
    Closed,
    /// Something failed.
    Failed(String),
}

/// A kernel echo server: bind `addr` now (so a SYN sent after this returns finds it), then in a
/// thread accept one connection (waiting at most `timeout`), echo it and close it when the peer
/// does. News comes through the channel.
pub fn kernel_echo_listener(
    addr: SocketAddrV4,
    timeout: Duration,
) -> io::Result<(SocketAddrV4, mpsc::Receiver<ListenerNews>)> {
    let listener = TcpListener::bind(addr)?;
    let bound = match listener.local_addr()? {
        std::net::SocketAddr::V4(a) => a,
        std::net::SocketAddr::V6(_) => addr,
    };
    listener.set_nonblocking(true)?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((mut stream, peer)) => {
                    let _ = tx.send(ListenerNews::Accepted(peer));
                    let news = (|| -> io::Result<()> {
                        stream.set_nonblocking(false)?;
                        stream.set_read_timeout(Some(timeout))?;
                        let mut buf = [0u8; 4096];
                        loop {
                            let n = stream.read(&mut buf)?;
                            if n == 0 {
                                return Ok(());
                            }
                            stream.write_all(&buf[..n])?;
                            let _ = tx.send(ListenerNews::Echoed(buf[..n].to_vec()));
                        }
                    })();
                    let _ = tx.send(match news {
                        Ok(()) => ListenerNews::Closed,
                        Err(e) => ListenerNews::Failed(e.to_string()),
                    });
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => {
                    let _ = tx.send(ListenerNews::Failed(e.to_string()));
                    return;
                }
            }
        }
    });
    Ok((bound, rx))
}
