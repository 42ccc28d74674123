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
//! # Two ways to read
//!
//! wirelab opens and configures the socket itself: pnet has no setting for
//! `PACKET_IGNORE_OUTGOING` or for the receive buffer's size. Then:
//!
//! * [`Reader::Pnet`] hands the descriptor to `pnet_datalink` through its `socket_fd`
//!   setting; pnet binds it and reads one frame per `poll` + `recvfrom`. pnet reports no
//!   timestamps, so a duplicate of the descriptor stays here to ask the kernel for each
//!   frame's stamp (`SIOCGSTAMPNS`) and for the statistics: three system calls a frame.
//! * [`Reader::Batch`] (the default) reads with `recvmmsg`, up to 64 frames per system call,
//!   each with its timestamp in a control message (`SO_TIMESTAMPNS`). Measured with
//!   `bench/capture.sh`, this is what keeps up with a 200 000 packets/s flood on two shared
//!   cores, where the pnet reader fell behind and the kernel dropped about 9% of the frames.

// Unsafe code: `setsockopt`, `getsockopt`, `bind`, `ioctl` and `recvmmsg` on the packet
// socket, for options and calls that neither socket2 nor pnet wrap (PACKET_IGNORE_OUTGOING,
// PACKET_STATISTICS, SIOCGSTAMPNS, sockaddr_ll, batches with control messages).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pnet_datalink::{Channel, DataLinkReceiver};
use socket2::{Domain, Protocol, Socket, Type};

use crate::dissect::model::{Frame, LinkType, Timestamp};
use crate::source::lab::netlink::Rtnl;
pub use crate::source::live_common::{KernelStats, LiveError, LiveOptions, Reader, now};

/// `SOL_PACKET` option: do not deliver packets this host sends (Linux 4.20).
pub(crate) const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
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

/// An open capture on one interface.
pub struct LiveCapture {
    rx: Rx,
    /// The socket (for pnet: a duplicate of its descriptor, for timestamps and statistics).
    sock: OwnedFd,
    pub iface: String,
    pub link: LinkType,
    /// True on a loopback interface, where outgoing copies are ignored.
    pub loopback: bool,
    number: u64,
    totals: KernelStats,
}

enum Rx {
    Pnet(Box<dyn DataLinkReceiver>),
    Batch(Batch),
}

/// Slots for `recvmmsg`: each a frame buffer, a control-message buffer for its timestamp,
/// and the headers pointing at them.
struct Batch {
    bufs: Vec<Vec<u8>>,
    ctrl: Vec<[u64; 8]>,
    /// Frames in the last batch, and the next one to hand out.
    filled: usize,
    next: usize,
    lens: Vec<(usize, usize, Option<Timestamp>)>,
}

const SLOTS: usize = 64;
/// Large enough for the biggest frame on a loopback or veth interface (64 KiB plus headers).
const SLOT_LEN: usize = 65536 + 256;

impl Batch {
    fn new() -> Batch {
        Batch {
            bufs: (0..SLOTS).map(|_| vec![0u8; SLOT_LEN]).collect(),
            ctrl: vec![[0u64; 8]; SLOTS],
            filled: 0,
            next: 0,
            lens: vec![(0, 0, None); SLOTS],
        }
    }

    /// Read up to SLOTS frames, waiting at most the socket's receive timeout for the first.
    fn fill(&mut self, fd: &OwnedFd) -> io::Result<usize> {
        // SAFETY: an all-zero iovec/mmsghdr is valid (null pointers, zero lengths); every
        // pointer set below points into `self.bufs` / `self.ctrl`, which outlive the call and
        // are not moved or resized while the kernel writes into them.
        let mut iov: Vec<libc::iovec> = vec![unsafe { std::mem::zeroed() }; SLOTS];
        let mut msgs: Vec<libc::mmsghdr> = vec![unsafe { std::mem::zeroed() }; SLOTS];
        for i in 0..SLOTS {
            iov[i].iov_base = self.bufs[i].as_mut_ptr().cast();
            iov[i].iov_len = SLOT_LEN;
            msgs[i].msg_hdr.msg_iov = &mut iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_control = self.ctrl[i].as_mut_ptr().cast();
            msgs[i].msg_hdr.msg_controllen = std::mem::size_of::<[u64; 8]>() as _;
        }
        // SAFETY: `msgs` holds SLOTS initialised headers whose buffers are valid for writing
        // (see above); MSG_TRUNC makes msg_len the frame's real length even if cut.
        let n = unsafe {
            libc::recvmmsg(
                fd.as_raw_fd(),
                msgs.as_mut_ptr(),
                SLOTS as libc::c_uint,
                libc::MSG_WAITFORONE | libc::MSG_TRUNC,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        for (i, m) in msgs.iter().enumerate().take(n) {
            let wire = m.msg_len as usize;
            let mut ts = None;
            // SAFETY: the CMSG_* macros walk the control buffer the kernel filled, within the
            // length it reported in msg_controllen; a SCM_TIMESTAMPNS message carries one
            // timespec, read unaligned.
            unsafe {
                let mut c = libc::CMSG_FIRSTHDR(&m.msg_hdr);
                while !c.is_null() {
                    if (*c).cmsg_level == libc::SOL_SOCKET
                        && (*c).cmsg_type == libc::SCM_TIMESTAMPNS
                    {
                        let t: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                        ts = Some(Timestamp {
                            secs: t.tv_sec,
                            nanos: t.tv_nsec as u32,
                        });
                    }
                    c = libc::CMSG_NXTHDR(&m.msg_hdr, c);
                }
            }
            self.lens[i] = (wire.min(SLOT_LEN), wire, ts);
        }
        self.filled = n;
        self.next = 0;
        Ok(n)
    }
}

/// Bind a packet socket to one interface (what pnet does in its `channel`).
pub(crate) fn bind_to(fd: &OwnedFd, index: u32) -> io::Result<()> {
    // SAFETY: an all-zero sockaddr_ll is valid; the filled-in one lives through the call and
    // its size is passed with it.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = index as i32;
    // SAFETY: as above.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Ask for frames not addressed to us (PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC).
fn promiscuous(fd: &OwnedFd, index: u32) -> io::Result<()> {
    // SAFETY: an all-zero packet_mreq is valid; it lives through the call.
    let mut mr: libc::packet_mreq = unsafe { std::mem::zeroed() };
    mr.mr_ifindex = index as i32;
    mr.mr_type = libc::PACKET_MR_PROMISC as u16;
    // SAFETY: the option value is the packet_mreq above, with its size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_ADD_MEMBERSHIP,
            (&mr as *const libc::packet_mreq).cast(),
            std::mem::size_of::<libc::packet_mreq>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

pub(crate) fn setsockopt_int(
    fd: &impl AsRawFd,
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
        // WIRELAB_PORTABLE: behave as where capture is not available.
        crate::source::platform::capture().map_err(LiveError::Unavailable)?;
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

        let rx = match opts.reader {
            Reader::Batch => {
                // Kernel timestamps arrive as a control message with each frame.
                setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1).map_err(io_err)?;
                bind_to(&fd, info.index).map_err(io_err)?;
                if opts.promiscuous && !loopback {
                    promiscuous(&fd, info.index).map_err(io_err)?;
                }
                let sock = Socket::from(fd.try_clone().map_err(io_err)?);
                sock.set_read_timeout(Some(opts.read_timeout))
                    .map_err(io_err)?;
                Rx::Batch(Batch::new())
            }
            Reader::Pnet => {
                // Ask for the timestamp once now: that switches timestamping on for this
                // socket, so that the first frames get stamped too (the answer itself is "no
                // packet yet"). SO_TIMESTAMPNS would not do here: with it the kernel puts
                // stamps only in control messages, which pnet's recvfrom does not read.
                let _ = read_stamp(&fd);
                let ni = pnet_datalink::interfaces()
                    .into_iter()
                    .find(|n| n.name == iface)
                    .ok_or_else(|| LiveError::NoSuchInterface {
                        iface: iface.to_string(),
                        available: link.iter().map(|l| l.name.clone()).collect(),
                    })?;
                let config = pnet_datalink::Config {
                    read_buffer_size: SLOT_LEN,
                    read_timeout: Some(opts.read_timeout),
                    promiscuous: opts.promiscuous && !loopback,
                    socket_fd: Some(fd.try_clone().map_err(io_err)?.into_raw_fd()),
                    ..Default::default()
                };
                // pnet binds its copy of the descriptor to the interface and from now on owns
                // (and will close) it.
                match pnet_datalink::channel(&ni, config) {
                    Ok(Channel::Ethernet(_tx, rx)) => Rx::Pnet(rx),
                    Ok(_) => {
                        return Err(io_err(io::Error::other(
                            "pnet returned an unknown channel type",
                        )));
                    }
                    Err(e) => return Err(io_err(e)),
                }
            }
        };
        let keep = fd;
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
    pub fn next_frame(&mut self) -> io::Result<Option<Frame<'_>>> {
        let quiet = |e: &io::Error| {
            matches!(
                e.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
            )
        };
        let (data, wire_len, ts) = match &mut self.rx {
            Rx::Pnet(rx) => {
                let data = match rx.next() {
                    Ok(d) => d,
                    Err(e) if quiet(&e) => return Ok(None),
                    Err(e) => return Err(e),
                };
                let ts = read_stamp(&self.sock).unwrap_or_else(|_| now());
                (data, data.len(), ts)
            }
            Rx::Batch(b) => {
                if b.next >= b.filled {
                    match b.fill(&self.sock) {
                        Ok(_) => {}
                        Err(e) if quiet(&e) => return Ok(None),
                        Err(e) => return Err(e),
                    }
                }
                if b.next >= b.filled {
                    return Ok(None);
                }
                let i = b.next;
                b.next += 1;
                let (cap, wire, ts) = b.lens[i];
                (&b.bufs[i][..cap], wire, ts.unwrap_or_else(now))
            }
        };
        self.number += 1;
        Ok(Some(Frame {
            number: self.number,
            ts: Some(ts),
            link: self.link,
            wire_len: wire_len as u32,
            data,
        }))
    }

    /// The kernel's counters since the capture started.
    pub fn stats(&mut self) -> io::Result<KernelStats> {
        let st = packet_statistics(&self.sock)?;
        // Reading the counters resets them, so keep a running total.
        self.totals.received += st.received;
        self.totals.dropped += st.dropped;
        self.totals.from_kernel = true;
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
        // After a stop request, frames the kernel already queued for us are still read (for
        // at most half a second), so a packet sent just before Ctrl-C is not lost.
        let mut stopping_since: Option<std::time::Instant> = None;
        loop {
            if stopping_since.is_none() && stop.load(Ordering::Relaxed) {
                stopping_since = Some(std::time::Instant::now());
            }
            if stopping_since.is_some_and(|t| t.elapsed() > Duration::from_millis(500)) {
                break;
            }
            match self.next_frame()? {
                Some(frame) => {
                    if !each(&frame)? {
                        break;
                    }
                }
                None if stopping_since.is_some() => break,
                None => continue,
            }
        }
        self.stats()
    }
}

/// A packet socket's counters since they were last read (`PACKET_STATISTICS`; reading them
/// resets them).
pub(crate) fn packet_statistics(fd: &OwnedFd) -> io::Result<KernelStats> {
    let mut st = TpacketStats::default();
    let mut len = std::mem::size_of::<TpacketStats>() as libc::socklen_t;
    // SAFETY: PACKET_STATISTICS writes a `struct tpacket_stats` (two unsigned ints) into the
    // buffer, whose size is passed in `len`.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            PACKET_STATISTICS,
            (&mut st as *mut TpacketStats).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(KernelStats {
        received: u64::from(st.tp_packets),
        dropped: u64::from(st.tp_drops),
        from_kernel: true,
    })
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

/// True if this process may open packet sockets (has CAP_NET_RAW in its network namespace).
pub fn can_capture() -> bool {
    if crate::source::platform::capture().is_err() {
        return false;
    }
    let proto = (libc::ETH_P_ALL as u16).to_be() as libc::c_int;
    Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(proto))).is_ok()
}
