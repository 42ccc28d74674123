//! Live capture: frames as they cross a network interface, from an `AF_PACKET` socket.
//!
//! # The idea
//!
//! An ordinary socket receives only what is addressed to its port. A *packet socket*
//! (`socket(AF_PACKET, SOCK_RAW, ETH_P_ALL)`) bound to an interface receives a copy of every
//! frame that interface sends or receives, Ethernet header included: that is what tcpdump and
//! Wireshark read. Because it sees everyone's traffic, the kernel gives it only to a process
//! with the `CAP_NET_RAW` capability.
//!
//! On the loopback interface `lo` every packet is sent *and* received by the same interface,
//! so a packet socket would see each one twice. The socket option `PACKET_IGNORE_OUTGOING`
//! (`SOL_PACKET`, option 23, Linux 4.20) keeps only the incoming copy.
//!
//! The kernel stamps each frame with the time it was seen; `SIOCGSTAMPNS` reads that stamp
//! for the frame just received, to the nanosecond. When frames arrive faster than the program
//! reads them, the socket's receive buffer fills and the kernel drops what does not fit;
//! `PACKET_STATISTICS` says how many frames the socket was offered and how many it dropped.
//!
//! # pnet and the file descriptor
//!
//! wirelab opens and configures the socket itself (pnet has no setting for
//! `PACKET_IGNORE_OUTGOING` or the receive buffer size) and hands the descriptor to
//! `pnet_datalink` through its `socket_fd` setting; pnet binds it to the interface and reads
//! from it with a timeout. A duplicate of the descriptor (the same socket) stays here for the
//! timestamps and statistics, which pnet does not offer.

// Unsafe code: `setsockopt`, `getsockopt` and `ioctl` on the packet socket for options that
// neither socket2 nor pnet wrap (PACKET_IGNORE_OUTGOING, PACKET_STATISTICS, SIOCGSTAMPNS).
#![allow(unsafe_code)]

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pnet_datalink::{Channel, DataLinkReceiver};
use socket2::{Domain, Protocol, Socket, Type};

use crate::dissect::model::{Frame, LinkType, Timestamp};
use crate::source::lab::netlink::Rtnl;

/// `SOL_PACKET` option: do not deliver packets this host sends (Linux 4.20).
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
/// `SOL_PACKET` option: read and reset the packet and drop counters.
const PACKET_STATISTICS: libc::c_int = 6;
/// `ioctl`: the kernel timestamp of the last packet read, as a `timespec`.
const SIOCGSTAMPNS: libc::c_ulong = 0x8907;

/// `struct tpacket_stats` from `<linux/if_packet.h>`.
#[repr(C)]
#[derive(Default)]
struct TpacketStats {
    tp_packets: libc::c_uint,
    tp_drops: libc::c_uint,
}

/// How to capture.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// How long one read waits for a frame before giving the caller a chance to stop.
    pub read_timeout: Duration,
    /// The socket's receive buffer, in bytes: room for frames that arrive while the program is
    /// busy. Beyond `net.core.rmem_max` it needs CAP_NET_ADMIN.
    pub buffer: usize,
    /// Ask the interface for frames addressed to other hosts too.
    pub promiscuous: bool,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            read_timeout: Duration::from_millis(100),
            buffer: 32 << 20,
            promiscuous: false,
        }
    }
}

/// The kernel's counters for a capture socket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Frames the socket was offered (those it kept and those it dropped).
    pub received: u64,
    /// Frames dropped because the receive buffer was full.
    pub dropped: u64,
}

/// Why a capture could not start.
#[derive(Debug)]
pub enum LiveError {
    /// No CAP_NET_RAW.
    NoPermission {
        iface: String,
    },
    NoSuchInterface {
        iface: String,
        available: Vec<String>,
    },
    Io {
        iface: String,
        error: io::Error,
    },
}

/// The path of the running binary, for the `setcap` command.
fn this_binary() -> PathBuf {
    std::env::current_exe().unwrap_or_else(|_| PathBuf::from("wirelab"))
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveError::NoPermission { iface } => write!(
                f,
                "capturing on {iface} needs the CAP_NET_RAW capability, which this process does \
                 not have (a capture sees everyone's traffic, so the kernel asks for it).\n\
                 To give it to this binary:\n    sudo setcap cap_net_raw,cap_net_admin+ep {}\n\
                 (a rebuild, such as `cargo build`, makes a new file without it: run setcap again \
                 after each build).\n\
                 Or use the lab, which needs no privileges: `wirelab tcp echo`, `wirelab udp echo`, \
                 or `wirelab lab shell` and then `wirelab capture` inside it.",
                this_binary().display()
            ),
            LiveError::NoSuchInterface { iface, available } => write!(
                f,
                "there is no interface named {iface} here; the interfaces are: {}",
                available.join(", ")
            ),
            LiveError::Io { iface, error } => {
                write!(f, "cannot capture on {iface}: {error}")
            }
        }
    }
}

impl std::error::Error for LiveError {}

/// An open capture on one interface.
pub struct LiveCapture {
    rx: Box<dyn DataLinkReceiver>,
    /// The same socket as pnet's, for timestamps and statistics.
    sock: OwnedFd,
    pub iface: String,
    pub link: LinkType,
    /// True on a loopback interface, where outgoing copies are ignored.
    pub loopback: bool,
    number: u64,
    totals: KernelStats,
}

fn setsockopt_int(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `fd` is an open socket; the option value is a c_int that lives for the call and
    // its size is passed with it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

impl LiveCapture {
    /// Open a capture on `iface` in the calling thread's network namespace.
    pub fn open(iface: &str, opts: &LiveOptions) -> Result<LiveCapture, LiveError> {
        let io_err = |error: io::Error| LiveError::Io {
            iface: iface.to_string(),
            error,
        };
        // Which interface, and what its frames start with.
        let link = Rtnl::open().and_then(|mut r| r.links()).map_err(io_err)?;
        let Some(info) = link.iter().find(|l| l.name == iface) else {
            return Err(LiveError::NoSuchInterface {
                iface: iface.to_string(),
                available: link.iter().map(|l| l.name.clone()).collect(),
            });
        };
        let loopback = info.hw_type == libc::ARPHRD_LOOPBACK;
        let link_type = match info.hw_type {
            // Loopback frames carry an Ethernet header with zero addresses.
            libc::ARPHRD_ETHER | libc::ARPHRD_LOOPBACK => LinkType::ETHERNET,
            // TUN devices and the like carry bare IP packets.
            libc::ARPHRD_NONE => LinkType::RAW,
            other => {
                return Err(io_err(io::Error::other(format!(
                    "its link-layer type (ARPHRD {other}) is not one wirelab captures"
                ))));
            }
        };

        let proto = (libc::ETH_P_ALL as u16).to_be() as libc::c_int;
        let sock = match Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(proto))) {
            Ok(s) => s,
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                return Err(LiveError::NoPermission {
                    iface: iface.to_string(),
                });
            }
            Err(e) => return Err(io_err(e)),
        };
        let fd: OwnedFd = sock.into();
        if loopback {
            setsockopt_int(&fd, libc::SOL_PACKET, PACKET_IGNORE_OUTGOING, 1).map_err(io_err)?;
        }
        // Ask for the timestamp once now: that switches timestamping on for this socket, so
        // that the first frames get stamped too (the answer itself is "no packet yet").
        // SO_TIMESTAMPNS would not do: with it the kernel puts stamps only in control
        // messages, and SIOCGSTAMPNS keeps returning the first one.
        let _ = read_stamp(&fd);
        // A large receive buffer absorbs bursts. SO_RCVBUFFORCE may exceed rmem_max but needs
        // CAP_NET_ADMIN; without it, SO_RCVBUF gets as much as rmem_max allows.
        let size = opts.buffer.min(i32::MAX as usize) as libc::c_int;
        if setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, size).is_err() {
            setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, size).map_err(io_err)?;
        }

        let ni = pnet_datalink::interfaces()
            .into_iter()
            .find(|n| n.name == iface)
            .ok_or_else(|| LiveError::NoSuchInterface {
                iface: iface.to_string(),
                available: link.iter().map(|l| l.name.clone()).collect(),
            })?;
        let keep = fd.try_clone().map_err(io_err)?;
        let config = pnet_datalink::Config {
            read_buffer_size: 256 * 1024,
            read_timeout: Some(opts.read_timeout),
            promiscuous: opts.promiscuous,
            socket_fd: Some(fd.into_raw_fd()),
            ..Default::default()
        };
        // pnet binds the socket to the interface and from now on owns (and will close) the
        // descriptor we gave it.
        let rx = match pnet_datalink::channel(&ni, config) {
            Ok(Channel::Ethernet(_tx, rx)) => rx,
            Ok(_) => {
                return Err(io_err(io::Error::other(
                    "pnet returned an unknown channel type",
                )));
            }
            Err(e) => return Err(io_err(e)),
        };
        Ok(LiveCapture {
            rx,
            sock: keep,
            iface: iface.to_string(),
            link: link_type,
            loopback,
            number: 0,
            totals: KernelStats::default(),
        })
    }

    /// The next frame, or `None` if none came within the read timeout.
    pub fn next(&mut self) -> io::Result<Option<Frame<'_>>> {
        let data = match self.rx.next() {
            Ok(d) => d,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                        | io::ErrorKind::WouldBlock
                ) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let ts = read_stamp(&self.sock).unwrap_or_else(|_| now());
        self.number += 1;
        Ok(Some(Frame {
            number: self.number,
            ts: Some(ts),
            link: self.link,
            wire_len: data.len() as u32,
            data,
        }))
    }

    /// The kernel's counters since the capture started.
    pub fn stats(&mut self) -> io::Result<KernelStats> {
        let mut st = TpacketStats::default();
        let mut len = std::mem::size_of::<TpacketStats>() as libc::socklen_t;
        // SAFETY: PACKET_STATISTICS writes a `struct tpacket_stats` (two unsigned ints) into
        // the buffer, whose size is passed in `len`.
        let rc = unsafe {
            libc::getsockopt(
                self.sock.as_raw_fd(),
                libc::SOL_PACKET,
                PACKET_STATISTICS,
                (&mut st as *mut TpacketStats).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // Reading the counters resets them, so keep a running total.
        self.totals.received += u64::from(st.tp_packets);
        self.totals.dropped += u64::from(st.tp_drops);
        Ok(self.totals)
    }

    /// How many frames were read so far.
    pub fn read_count(&self) -> u64 {
        self.number
    }

    /// Read frames until `stop` is set or `each` returns `false`, handing every frame to
    /// `each`. Returns the kernel's counters.
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        mut each: impl FnMut(&Frame) -> io::Result<bool>,
    ) -> io::Result<KernelStats> {
        while !stop.load(Ordering::Relaxed) {
            match self.next()? {
                Some(frame) => {
                    if !each(&frame)? {
                        break;
                    }
                }
                None => continue,
            }
        }
        self.stats()
    }
}

/// The kernel's timestamp of the last frame read from the socket (`SIOCGSTAMPNS`).
fn read_stamp(fd: &OwnedFd) -> io::Result<Timestamp> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: SIOCGSTAMPNS writes one `struct timespec` through the pointer, which points to
    // a live, properly aligned timespec.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), SIOCGSTAMPNS as _, &mut ts) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Timestamp {
        secs: ts.tv_sec,
        nanos: ts.tv_nsec as u32,
    })
}

/// The current time as a [`Timestamp`] (the same clock the kernel stamps frames with).
pub fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        secs: d.as_secs() as i64,
        nanos: d.subsec_nanos(),
    }
}

/// True if this process may open packet sockets (has CAP_NET_RAW in its network namespace).
pub fn can_capture() -> bool {
    let proto = (libc::ETH_P_ALL as u16).to_be() as libc::c_int;
    Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(proto))).is_ok()
}
