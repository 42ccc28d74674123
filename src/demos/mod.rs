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
pub mod narrate;
pub mod tcp;
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
            Place::Lab(_) => lab::SERVER_IP,
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
            Place::Loopback => "lo",
        }
    }

    /// The MTU of that interface.
    pub fn mtu(&self) -> u32 {
        match self {
            Place::Lab(_) => 1500,
            Place::Loopback => 65536,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Place::Lab(_) => format!(
                "in the lab: client {} and server {}, two private hosts joined by a virtual \
                 Ethernet cable (veth); captured on the client's {}",
                lab::CLIENT_IP,
                lab::SERVER_IP,
                lab::IFACE
            ),
            Place::Loopback => "on this host's loopback interface (127.0.0.1, lo)".to_string(),
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

    /// Wait a moment for the last frames (a final ACK), then stop and collect.
    pub fn finish(self) -> io::Result<Captured> {
        std::thread::sleep(Duration::from_millis(150));
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the capture thread panicked")))
    }
}

/// Does this frame carry TCP or UDP to or from `port`? (A quick look at IPv4 over Ethernet
/// without the full engine; used to pick a demo's frames out of the shared loopback.)
pub fn touches_port(f: &Frame, port: u16) -> bool {
    let d = f.data;
    if d.len() < 14 + 20 + 4 || d[12..14] != [0x08, 0x00] {
        return false;
    }
    let ihl = usize::from(d[14] & 0x0f) * 4;
    let proto = d[14 + 9];
    let frag = u16::from_be_bytes([d[14 + 6], d[14 + 7]]) & 0x1fff;
    if proto != 6 && proto != 17 {
        return false;
    }
    if frag != 0 {
        // A later fragment has no ports; keep it if it belongs to the loopback demo's
        // addresses (it can only be judged by its first fragment, which is kept).
        return d[14 + 12] == 127;
    }
    let t = 14 + ihl;
    let Some(ports) = d.get(t..t + 4) else {
        return false;
    };
    let sp = u16::from_be_bytes([ports[0], ports[1]]);
    let dp = u16::from_be_bytes([ports[2], ports[3]]);
    sp == port || dp == port
}

/// Socket options a learner can set on the demos' sockets, each explained in `--help`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct SockOpts {
    /// TCP_NODELAY: send small writes at once instead of waiting to gather them (turns off
    /// Nagle's algorithm, which holds back a small segment while an earlier one is unacknowledged).
    #[arg(long)]
    pub nodelay: bool,
    /// SO_REUSEADDR: let a server bind its port again at once, even while old connections
    /// on it sit in TIME_WAIT.
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
        use std::os::fd::AsRawFd;
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
