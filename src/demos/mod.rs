//! Lesson demos: real sockets making real traffic, shown through the one engine.
//!
//! Each demo plays both roles of a conversation (a server and a client), each on its own
//! thread, and records every socket call in a [`narrate::Recorder`]. Meanwhile a capture
//! thread records the frames on the wire. Afterwards the calls and the frames are put on one
//! time line and printed through [`crate::render::Printer`], in whichever view was asked for;
//! the frames are kept as plain [`OwnedFrame`]s, so any view (and the `-w` writer) can use
//! them.
//!
//! Where a demo runs is a [`Stage`]: preferably the lab (two private hosts joined by a virtual
//! cable, see [`crate::source::lab`]), else the host's loopback interface, where capture needs
//! CAP_NET_RAW. When nothing can be captured, the demo still shows its socket calls, and the
//! command replays the lesson's recorded trace for the packets.
//!
//! [`handshake`] is the odd one out: a TCP three-way handshake made by hand in userspace, over
//! a TUN device and a raw socket, next to the kernel's TCP (`wirelab tcp handshake`).

pub mod handshake;
#[cfg(target_os = "linux")]
pub mod ip;
pub mod narrate;
pub mod tcp;
pub mod transfer;
pub mod udp;

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::Socket;

use self::narrate::{Recorder, Who};
use crate::dissect::model::Frame;
use crate::source::OwnedFrame;
use crate::source::lab::{self, Host, Lab, LabError};
use crate::source::live::{KernelStats, LiveCapture, LiveError, LiveOptions};
use crate::source::platform;

/// Where the user asked a demo to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum NetChoice {
    /// The lab if it can be built here, else the host's loopback, else the recorded trace.
    #[default]
    Auto,
    /// The lab only (fail if it cannot be built).
    Lab,
    /// The host's loopback interface, 127.0.0.1 (capture needs CAP_NET_RAW).
    Host,
    /// No live traffic: replay the lesson's recorded trace.
    Replay,
}

/// What a traceroute sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Probe {
    /// UDP datagrams to ports nobody listens on (33434 and up), as Unix traceroute does.
    #[default]
    Udp,
    /// ICMP echo requests, as Windows' tracert does.
    Icmp,
}

/// Where a demo runs.
pub enum Place {
    Lab(Lab),
    /// The host's loopback interface.
    Loopback,
}

impl Place {
    /// The address the server listens on.
    pub fn server_ip(&self) -> Ipv4Addr {
        match self {
            Place::Lab(lab) => lab.topology().server_ip(),
            Place::Loopback => Ipv4Addr::LOCALHOST,
        }
    }

    /// Move the calling thread to a host (a no-op on loopback, where both roles share one).
    pub fn enter(&self, host: Host) -> io::Result<()> {
        match self {
            Place::Lab(lab) => lab.enter(host),
            Place::Loopback => Ok(()),
        }
    }

    /// The interface the demo's frames cross.
    pub fn iface(&self) -> &'static str {
        match self {
            Place::Lab(_) => lab::IFACE,
            Place::Loopback => platform::LOOPBACK,
        }
    }

    /// The MTU of that interface.
    pub fn mtu(&self) -> u32 {
        match self {
            Place::Lab(lab) => lab.topology().link(1).mtu(),
            Place::Loopback => platform::LOOPBACK_MTU,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Place::Lab(lab) if lab.topology().routers() > 0 => {
                let t = lab.topology();
                let path: Vec<&str> = t.hosts().iter().map(|h| h.name()).collect();
                format!(
                    "in the lab: client {} and server {}, {} router{} between them ({}); \
                     captured on the client's {}",
                    t.client_ip(),
                    t.server_ip(),
                    t.routers(),
                    if t.routers() == 1 { "" } else { "s" },
                    path.join(" — "),
                    lab::IFACE
                )
            }
            Place::Lab(lab) => format!(
                "in the lab: client {} and server {}, two private hosts joined by a virtual \
                 Ethernet cable (veth); captured on the client's {}",
                lab.topology().client_ip(),
                lab.topology().server_ip(),
                lab::IFACE
            ),
            Place::Loopback => format!(
                "on this host's loopback interface (127.0.0.1, {})",
                platform::LOOPBACK
            ),
        }
    }
}

/// A place, whether frames can be captured there, and why it is not the lab (if it is not).
pub struct Stage {
    pub place: Place,
    /// Why capture is impossible, if it is.
    pub no_capture: Option<LiveError>,
    /// Why the lab is not used, if it is not.
    pub no_lab: Option<LabError>,
}

/// An error choosing a stage: the lab was demanded and cannot be built.
#[derive(Debug)]
pub struct StageError(pub LabError);

impl std::fmt::Display for StageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
impl std::error::Error for StageError {}

impl Stage {
    /// Pick where to run, following the user's choice (`Replay` is handled by the caller).
    pub fn choose(want: NetChoice) -> Result<Stage, StageError> {
        let (place, no_lab) = match want {
            NetChoice::Lab => (Place::Lab(lab::take().map_err(StageError)?), None),
            NetChoice::Host | NetChoice::Replay => (Place::Loopback, None),
            NetChoice::Auto => match lab::take() {
                Ok(l) => (Place::Lab(l), None),
                Err(e) => (Place::Loopback, Some(e)),
            },
        };
        let no_capture = LiveCapture::open(place.iface(), &LiveOptions::default()).err();
        Ok(Stage {
            place,
            no_capture,
            no_lab,
        })
    }
}

/// The frames a demo caused, and the kernel's counters.
pub struct Captured {
    pub frames: Vec<OwnedFrame>,
    pub stats: KernelStats,
}

/// A capture running on its own thread while a demo plays.
pub struct Recording {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<io::Result<Captured>>,
}

impl Recording {
    /// Start capturing on the place's interface. Call it from a thread in the client's
    /// namespace (the main thread, after the lab was built). Only frames for which `keep`
    /// says yes are kept (on the shared loopback, other programs' traffic is left out).
    pub fn start(
        place: &Place,
        keep: impl Fn(&Frame) -> bool + Send + 'static,
    ) -> Result<Recording, LiveError> {
        let mut cap = LiveCapture::open(
            place.iface(),
            &LiveOptions {
                read_timeout: Duration::from_millis(20),
                ..LiveOptions::default()
            },
        )?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("capture".into())
            .spawn(move || {
                let mut frames = Vec::new();
                let stats = cap.run(&flag, |f| {
                    if keep(f) {
                        let mut o = OwnedFrame::from(f);
                        o.number = frames.len() as u64 + 1;
                        frames.push(o);
                    }
                    Ok(true)
                })?;
                Ok(Captured { frames, stats })
            })
            .map_err(|error| LiveError::Io {
                iface: place.iface().to_string(),
                error,
            })?;
        Ok(Recording { stop, handle })
    }

    /// Start capturing on `host`'s lab interface `iface` (eth0, or eth1 on a router), from a
    /// thread that enters that host first.
    #[cfg(target_os = "linux")]
    pub fn start_on(
        lab: &Lab,
        host: Host,
        iface: &'static str,
        keep: impl Fn(&Frame) -> bool + Send + 'static,
    ) -> Result<Recording, LiveError> {
        let io_err = |error: io::Error| LiveError::Io {
            iface: format!("{host}'s {iface}"),
            error,
        };
        let ns = lab.netns(host).map_err(io_err)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), LiveError>>();
        let handle = std::thread::Builder::new()
            .name(format!("capture-{host}"))
            .spawn(move || {
                let opened = nix::sched::setns(
                    std::os::fd::AsFd::as_fd(&ns),
                    nix::sched::CloneFlags::CLONE_NEWNET,
                )
                .map_err(|e| LiveError::Io {
                    iface: iface.to_string(),
                    error: e.into(),
                })
                .and_then(|()| {
                    LiveCapture::open(
                        iface,
                        &LiveOptions {
                            read_timeout: Duration::from_millis(20),
                            ..LiveOptions::default()
                        },
                    )
                });
                let mut cap = match opened {
                    Ok(c) => {
                        let _ = ready_tx.send(Ok(()));
                        c
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        let _ = ready_tx.send(Err(e));
                        return Err(io::Error::other(msg));
                    }
                };
                let mut frames = Vec::new();
                let stats = cap.run(&flag, |f| {
                    if keep(f) {
                        let mut o = OwnedFrame::from(f);
                        o.number = frames.len() as u64 + 1;
                        frames.push(o);
                    }
                    Ok(true)
                })?;
                Ok(Captured { frames, stats })
            })
            .map_err(io_err)?;
        ready_rx
            .recv()
            .map_err(|_| io_err(io::Error::other("the capture thread ended")))??;
        Ok(Recording { stop, handle })
    }

    /// Wait a moment for the last frames (a final ACK), then stop and collect.
    pub fn finish(self) -> io::Result<Captured> {
        std::thread::sleep(Duration::from_millis(150));
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the capture thread panicked")))
    }
}

impl Captured {
    /// Several captures as one, in time order (frames renumbered, kernel counters added up).
    pub fn merge(parts: Vec<Captured>) -> Captured {
        let mut frames: Vec<OwnedFrame> = Vec::new();
        let mut stats = KernelStats::default();
        for p in parts {
            frames.extend(p.frames);
            stats.received += p.stats.received;
            stats.dropped += p.stats.dropped;
            stats.from_kernel |= p.stats.from_kernel;
        }
        frames.sort_by_key(|f| f.ts);
        for (i, f) in frames.iter_mut().enumerate() {
            f.number = i as u64 + 1;
        }
        Captured { frames, stats }
    }
}

/// Does this frame carry TCP or UDP to or from `port`? (A quick look at IPv4 without the full
/// engine; used to pick a demo's frames out of the shared loopback.) The loopback's frames
/// have an Ethernet header on Linux, the 4-byte BSD loopback header on macOS (and on
/// Windows with Npcap), none on a TUN device.
pub fn touches_port(f: &Frame, port: u16) -> bool {
    let Some(ip) = ipv4_at(f) else {
        return false;
    };
    let d = &f.data[ip..];
    if d.len() < 20 + 4 {
        return false;
    }
    let ihl = usize::from(d[0] & 0x0f) * 4;
    let proto = d[9];
    let frag = u16::from_be_bytes([d[6], d[7]]) & 0x1fff;
    if proto != 6 && proto != 17 {
        return false;
    }
    if frag != 0 {
        // A later fragment has no ports; keep it if it belongs to the loopback demo's
        // addresses (it can only be judged by its first fragment, which is kept).
        return d[12] == 127;
    }
    let Some(ports) = d.get(ihl..ihl + 4) else {
        return false;
    };
    let sp = u16::from_be_bytes([ports[0], ports[1]]);
    let dp = u16::from_be_bytes([ports[2], ports[3]]);
    sp == port || dp == port
}

/// Where the IPv4 header starts in a frame, by its link type; `None` if the frame does not
/// carry IPv4.
fn ipv4_at(f: &Frame) -> Option<usize> {
    use crate::dissect::model::LinkType;
    let d = f.data;
    let at = match f.link {
        LinkType::ETHERNET if d.get(12..14)? == [0x08, 0x00] => 14,
        // The address family, in the capturing machine's byte order: AF_INET is 2.
        LinkType::NULL if matches!(d.get(..4)?, [2, 0, 0, 0] | [0, 0, 0, 2]) => 4,
        LinkType::RAW | LinkType::IPV4 => 0,
        _ => return None,
    };
    (d.get(at)? >> 4 == 4).then_some(at)
}

/// Socket options a learner can set on the demos' sockets, each explained in `--help`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct SockOpts {
    /// TCP_NODELAY: send small writes at once instead of waiting to gather them (turns off
    /// Nagle's algorithm, which holds back a small segment while an earlier one is unacknowledged).
    #[arg(long)]
    pub nodelay: bool,
    /// SO_REUSEADDR: let a server bind its port again at once, even while old connections
    /// on it sit in TIME-WAIT.
    #[arg(long, alias = "reuse-addr")]
    pub reuseaddr: bool,
    /// listen() backlog: how many finished handshakes the kernel queues for accept().
    #[arg(long, default_value_t = 128, value_name = "N")]
    pub backlog: i32,
    /// SO_RCVBUF: the kernel's receive buffer, in bytes (the kernel doubles it for its own
    /// bookkeeping); it bounds the window TCP advertises.
    #[arg(long, value_name = "BYTES")]
    pub rcvbuf: Option<usize>,
    /// SO_SNDBUF: the kernel's send buffer, in bytes: how much send() can queue before it
    /// blocks.
    #[arg(long, value_name = "BYTES")]
    pub sndbuf: Option<usize>,
}

impl SockOpts {
    /// Set the chosen options on `s`, narrating each setsockopt call. `tcp` says whether
    /// TCP_NODELAY applies.
    pub fn apply(&self, s: &Socket, rec: &Recorder, who: Who, tcp: bool) -> io::Result<()> {
        let fd = s.as_raw_fd();
        let ok = |_: &()| "0".to_string();
        if self.reuseaddr {
            rec.call(
                who,
                "setsockopt",
                format!("fd {fd}, SOL_SOCKET, SO_REUSEADDR, 1"),
                || s.set_reuse_address(true),
                ok,
            )?;
        }
        if tcp && self.nodelay {
            rec.call(
                who,
                "setsockopt",
                format!("fd {fd}, IPPROTO_TCP, TCP_NODELAY, 1"),
                || s.set_tcp_nodelay(true),
                ok,
            )?;
        }
        if let Some(n) = self.rcvbuf {
            rec.call(
                who,
                "setsockopt",
                format!("fd {fd}, SOL_SOCKET, SO_RCVBUF, {n}"),
                || s.set_recv_buffer_size(n),
                |_| {
                    format!(
                        "0 (the kernel now reports {})",
                        s.recv_buffer_size().unwrap_or(0)
                    )
                },
            )?;
        }
        if let Some(n) = self.sndbuf {
            rec.call(
                who,
                "setsockopt",
                format!("fd {fd}, SOL_SOCKET, SO_SNDBUF, {n}"),
                || s.set_send_buffer_size(n),
                |_| {
                    format!(
                        "0 (the kernel now reports {})",
                        s.send_buffer_size().unwrap_or(0)
                    )
                },
            )?;
        }
        Ok(())
    }
}

#[cfg(windows)]
pub use self::windows_socket::AsRawFd;
/// The number a socket is known by in the narration (`fd 3`): its file descriptor on Unix,
/// its `SOCKET` handle on Windows, which has no file descriptors for sockets. Code that shows
/// it imports this instead of `std::os::fd::AsRawFd`, so that it builds on every system.
#[cfg(unix)]
pub use std::os::fd::AsRawFd;

#[cfg(windows)]
mod windows_socket {
    /// `as_raw_fd()` for Windows sockets: the handle's number.
    pub trait AsRawFd {
        fn as_raw_fd(&self) -> u64;
    }

    impl<T: std::os::windows::io::AsRawSocket> AsRawFd for T {
        fn as_raw_fd(&self) -> u64 {
            self.as_raw_socket()
        }
    }
}

/// Close a socket by dropping it (the descriptor is closed then); for narrated `close` calls.
pub fn closed<T>(sock: T) -> io::Result<()> {
    drop(sock);
    Ok(())
}

/// A byte string as a short quoted literal: `"hello\n"`, cut after 40 bytes (escaped by
/// [`crate::escape`], so a peer's bytes never reach the terminal raw).
pub fn quote(data: &[u8]) -> String {
    crate::escape::quote(data, 40)
}

/// An IPv4 socket address from socket2's address type.
pub fn v4(a: &socket2::SockAddr) -> SocketAddrV4 {
    a.as_socket_ipv4()
        .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
}

/// Where a lesson's recorded trace is: `$WIRELAB_LESSONS/<lesson>/trace.pcapng`, else the
/// `lessons/` folder of the source tree wirelab was built from, else `./lessons`.
pub fn bundled_trace(lesson: &str) -> PathBuf {
    let rel = Path::new(lesson).join("trace.pcapng");
    if let Some(dir) = std::env::var_os("WIRELAB_LESSONS") {
        return PathBuf::from(dir).join(rel);
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("lessons")
        .join(&rel);
    if built.exists() {
        return built;
    }
    Path::new("lessons").join(rel)
}
