//! Switching off the veth's offloads, so the lab's packets look like a real cable's.
//!
//! # The idea
//!
//! To save work, Linux lets a network card finish some jobs: compute the TCP and UDP
//! checksums (*checksum offload*), or cut one large TCP send into MTU-sized segments
//! (*segmentation offload*, TSO/GSO), or glue received segments back together (GRO). A veth
//! pair advertises all of these, and since no hardware ever does the work, a capture would
//! show segments larger than the MTU and checksums that are never filled in. The lab turns
//! them off, so every frame in a capture is one real, finished frame of at most 1500 bytes.
//!
//! The switch is the `SIOCETHTOOL` ioctl (what `ethtool -K` uses) with a small
//! `struct ethtool_value { cmd, data }`.

// Unsafe code: the SIOCETHTOOL ioctl has no safe wrapper in libc, nix or socket2.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::AsRawFd;

use socket2::{Domain, Socket, Type};

const SIOCETHTOOL: libc::c_ulong = 0x8946;
/// Set transmit checksum offload.
const ETHTOOL_STXCSUM: u32 = 0x17;
/// Set scatter-gather (TCP segmentation offload depends on it).
const ETHTOOL_SSG: u32 = 0x19;
/// Set TCP segmentation offload.
const ETHTOOL_STSO: u32 = 0x1f;
/// Set generic segmentation offload.
const ETHTOOL_SGSO: u32 = 0x24;
/// Set generic receive offload.
const ETHTOOL_SGRO: u32 = 0x2c;

#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

fn set(sock: &Socket, iface: &str, cmd: u32, on: bool) -> io::Result<()> {
    let mut value = EthtoolValue {
        cmd,
        data: on as u32,
    };
    // SAFETY: an all-zero ifreq is a valid value (a name of NULs, a null data pointer).
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    let name = iface.as_bytes();
    if name.len() >= req.ifr_name.len() {
        return Err(io::Error::other(format!(
            "interface name {iface} is too long"
        )));
    }
    for (d, s) in req.ifr_name.iter_mut().zip(name) {
        *d = *s as libc::c_char;
    }
    req.ifr_ifru.ifru_data = (&mut value as *mut EthtoolValue).cast();
    // SAFETY: SIOCETHTOOL reads the ifreq (a NUL-terminated name and a pointer to an
    // ethtool_value that lives until the call returns) and writes only into the
    // ethtool_value.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), SIOCETHTOOL as _, &mut req) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Turn off checksum, segmentation and receive offloads on `iface` (in the calling thread's
/// network namespace).
pub fn no_offloads(iface: &str) -> io::Result<()> {
    let sock = Socket::new(Domain::IPV4, Type::DGRAM, None)?;
    set(&sock, iface, ETHTOOL_STXCSUM, false)?;
    set(&sock, iface, ETHTOOL_SSG, false)?;
    // With scatter-gather off the kernel already refuses TSO; say so anyway, and tolerate
    // kernels that answer "not supported" for a feature already off.
    let _ = set(&sock, iface, ETHTOOL_STSO, false);
    let _ = set(&sock, iface, ETHTOOL_SGSO, false);
    let _ = set(&sock, iface, ETHTOOL_SGRO, false);
    Ok(())
}
