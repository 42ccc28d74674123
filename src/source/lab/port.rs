//! One side of the link emulator: a packet socket on one interface of the wire's namespace,
//! that reads every frame arriving there (with the kernel's timestamp) and writes frames out.
//!
//! A packet socket (`AF_PACKET`, `SOCK_RAW`, protocol `ETH_P_ALL`) bound to an interface
//! receives a copy of every frame the interface receives, Ethernet header included, and what
//! is written to it is sent out of the interface as it is. `PACKET_IGNORE_OUTGOING` keeps the
//! frames the emulator itself writes from coming back to it.

use std::io::{self, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
use socket2::{Domain, Protocol, Socket, Type};

use super::netlink::Rtnl;
use crate::source::live::{
    KernelStats, PACKET_IGNORE_OUTGOING, bind_to, packet_statistics, setsockopt_int,
};

/// A packet socket bound to one interface, non-blocking.
pub struct Port {
    sock: Socket,
    fd: OwnedFd,
}

impl Port {
    /// Open a port on `iface`, in the calling thread's network namespace.
    pub fn open(iface: &str) -> io::Result<Port> {
        let index = Rtnl::open()?.link(iface)?.index;
        let proto = (libc::ETH_P_ALL as u16).to_be() as libc::c_int;
        let sock = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(proto)))?;
        let fd: OwnedFd = sock.try_clone()?.into();
        setsockopt_int(&fd, libc::SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)?;
        setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
        // Room for bursts (a TCP sender may put a whole window on the veth at once): as much
        // as net.core.rmem_max allows.
        setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, 16 << 20)?;
        setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_SNDBUF, 4 << 20)?;
        bind_to(&fd, index)?;
        sock.set_nonblocking(true)?;
        // Counters start now.
        let _ = packet_statistics(&fd);
        Ok(Port { sock, fd })
    }

    /// The next frame waiting, copied into `buf`: its length (which may exceed `buf`'s, if
    /// it was cut) and the kernel's receive timestamp. `None` when nothing is waiting.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<(usize, Option<SystemTime>)>> {
        let mut iov = [IoSliceMut::new(buf)];
        let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
        let msg = match recvmsg::<()>(
            self.fd.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_TRUNC,
        ) {
            Ok(m) => m,
            Err(nix::errno::Errno::EAGAIN) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut stamp = None;
        for c in msg.cmsgs()? {
            if let ControlMessageOwned::ScmTimestampns(t) = c {
                stamp = Some(
                    UNIX_EPOCH
                        + Duration::new(
                            t.tv_sec().max(0) as u64,
                            t.tv_nsec().clamp(0, 999_999_999) as u32,
                        ),
                );
            }
        }
        Ok(Some((msg.bytes, stamp)))
    }

    /// Write one frame out of the interface.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        self.sock.send(frame).map(|_| ())
    }

    /// The kernel's counters since the last call: frames offered, frames dropped because the
    /// receive buffer was full.
    pub fn kernel_stats(&self) -> io::Result<KernelStats> {
        packet_statistics(&self.fd)
    }
}

impl AsFd for Port {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
