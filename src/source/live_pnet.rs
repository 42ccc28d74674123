//! Live capture where there is no `AF_PACKET`: BPF on macOS and the BSDs, Npcap on Windows,
//! both through pnet's datalink backends. This file is `source::live` on those systems; on
//! Linux `live.rs` is.
//!
//! # The idea
//!
//! A BSD kernel (macOS included) offers capture through *BPF devices*, `/dev/bpf0`,
//! `/dev/bpf1`…: a program opens one, attaches it to an interface, and reads every frame the
//! interface sends or receives. Who may open them decides who may capture: root, or the
//! members of the group Wireshark's installer creates (`access_bpf`). Windows has no capture
//! of its own; the Npcap driver adds it.
//!
//! On the loopback interface `lo0` frames have no Ethernet header: a packet to 127.0.0.1 never
//! touches a network card. The BSD loopback driver puts four bytes in front instead, the
//! address family (LINKTYPE_NULL, see [`crate::dissect::null`]). pnet's BPF reader removes
//! those and puts a zeroed fake Ethernet header in their place; [`from_pnet`] gives the frame
//! its loopback header back, so a capture of `lo0` is what tcpdump and Wireshark show.
//!
//! # What pnet does not give
//!
//! * The kernel's timestamp of each frame: frames are stamped with the time wirelab read them
//!   (microseconds later, but not the kernel's own clock reading).
//! * The kernel's counters of frames received and dropped: [`KernelStats::from_kernel`] is
//!   false, and the commands say that the counts are not known.
//! * On Windows, a read timeout: a stop request takes effect when the next frame arrives.
//!
//! Only compiling checks this file (the tests run on Linux); the conversion of the loopback
//! frames, [`from_pnet`], is tested on every system.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::dissect::model::{Frame, LinkType};
pub use crate::source::live_common::{KernelStats, LiveError, LiveOptions, Reader, from_pnet, now};
use crate::source::platform;

/// An open capture on one interface.
pub struct LiveCapture {
    rx: Rx,
    pub iface: String,
    pub link: LinkType,
    /// True on a loopback interface.
    pub loopback: bool,
    /// The interface's frames carry the loopback header (LINKTYPE_NULL), not Ethernet.
    null: bool,
    /// The current frame, rebuilt from what pnet returned.
    frame: Vec<u8>,
    number: u64,
}

/// pnet's receiver, where pnet is part of this build (everywhere but on Windows without the
/// `npcap` feature, where no capture can be opened: see [`platform::capture`]).
#[cfg(any(unix, feature = "npcap"))]
type Rx = Box<dyn pnet_datalink::DataLinkReceiver>;
#[cfg(not(any(unix, feature = "npcap")))]
type Rx = std::convert::Infallible;

/// The largest read buffer macOS gives a BPF device by default (`debug.bpf_maxbufsize`).
#[cfg(any(unix, feature = "npcap"))]
const BPF_BUFFER: usize = 512 << 10;

impl LiveCapture {
    /// Open a capture on `iface`.
    pub fn open(iface: &str, opts: &LiveOptions) -> Result<LiveCapture, LiveError> {
        platform::capture().map_err(LiveError::Unavailable)?;
        open_pnet(iface, opts)
    }

    /// The next frame, or `None` if none came within the read timeout.
    pub fn next_frame(&mut self) -> io::Result<Option<Frame<'_>>> {
        let ts = now();
        let Some(wire_len) = read_into(&mut self.rx, self.null, &mut self.frame)? else {
            return Ok(None);
        };
        self.number += 1;
        Ok(Some(Frame {
            number: self.number,
            ts: Some(ts),
            link: self.link,
            wire_len,
            data: &self.frame,
        }))
    }

    /// The frames read so far; the kernel's own counters are not available through pnet.
    pub fn stats(&mut self) -> io::Result<KernelStats> {
        Ok(KernelStats {
            received: self.number,
            dropped: 0,
            from_kernel: false,
        })
    }

    /// How many frames were read so far.
    pub fn read_count(&self) -> u64 {
        self.number
    }

    /// Read frames until `stop` is set or `each` returns `false`, handing every frame to
    /// `each`. Returns the counters.
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        mut each: impl FnMut(&Frame) -> io::Result<bool>,
    ) -> io::Result<KernelStats> {
        while !stop.load(Ordering::Relaxed) {
            match self.next_frame()? {
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

/// Read one frame into `out` (rebuilt as [`from_pnet`] says); its length on the wire, or
/// `None` when the read timed out.
#[cfg(any(unix, feature = "npcap"))]
fn read_into(rx: &mut Rx, null: bool, out: &mut Vec<u8>) -> io::Result<Option<u32>> {
    match rx.next() {
        Ok(raw) => {
            from_pnet(raw, null, af_inet6(), out);
            Ok(Some(out.len() as u32))
        }
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[cfg(not(any(unix, feature = "npcap")))]
fn read_into(rx: &mut Rx, _null: bool, _out: &mut Vec<u8>) -> io::Result<Option<u32>> {
    match *rx {}
}

/// This system's number for IPv6 in the loopback header (30 on macOS, 28 on FreeBSD, 24 on
/// NetBSD and OpenBSD, 23 on Windows).
#[cfg(unix)]
fn af_inet6() -> u32 {
    libc::AF_INET6 as u32
}

/// Windows' `AF_INET6` (ws2def.h), which the libc crate does not have there.
#[cfg(all(windows, feature = "npcap"))]
fn af_inet6() -> u32 {
    23
}

#[cfg(any(unix, feature = "npcap"))]
fn open_pnet(iface: &str, opts: &LiveOptions) -> Result<LiveCapture, LiveError> {
    let io_err = |error: io::Error| LiveError::Io {
        iface: iface.to_string(),
        error,
    };
    let all = pnet_datalink::interfaces();
    let ni = match all.iter().find(|n| n.name == iface) {
        Some(ni) => ni.clone(),
        // Npcap's loopback adapter has no IP configuration, so the list (from the IP helper)
        // may lack it; pnet opens it by name all the same.
        None if cfg!(windows) && iface == platform::LOOPBACK => pnet_datalink::NetworkInterface {
            name: iface.to_string(),
            description: "Npcap loopback adapter".to_string(),
            index: 0,
            mac: None,
            ips: Vec::new(),
            flags: 0,
        },
        None => {
            return Err(LiveError::NoSuchInterface {
                iface: iface.to_string(),
                available: all.iter().map(|n| n.name.clone()).collect(),
            });
        }
    };
    let loopback = ni.is_loopback() || ni.name == platform::LOOPBACK;
    // Loopback and point-to-point interfaces (utun) carry the 4-byte loopback header.
    let null = loopback || ni.is_point_to_point();
    check_bpf_access(iface)?;
    let config = pnet_datalink::Config {
        read_buffer_size: opts.buffer.clamp(64 << 10, BPF_BUFFER),
        read_timeout: Some(opts.read_timeout.max(std::time::Duration::from_millis(1))),
        promiscuous: opts.promiscuous && !loopback,
        ..Default::default()
    };
    let rx = match pnet_datalink::channel(&ni, config) {
        Ok(pnet_datalink::Channel::Ethernet(_tx, rx)) => rx,
        Ok(_) => {
            return Err(io_err(io::Error::other(
                "pnet returned an unknown channel type",
            )));
        }
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            return Err(LiveError::NoPermission {
                iface: iface.to_string(),
            });
        }
        Err(e) => return Err(io_err(e)),
    };
    Ok(LiveCapture {
        rx,
        iface: iface.to_string(),
        link: if null {
            LinkType::NULL
        } else {
            LinkType::ETHERNET
        },
        loopback,
        null,
        frame: Vec::new(),
        number: 0,
    })
}

#[cfg(not(any(unix, feature = "npcap")))]
fn open_pnet(_iface: &str, _opts: &LiveOptions) -> Result<LiveCapture, LiveError> {
    // platform::capture() has already said no; this is only reached if it did not.
    Err(LiveError::Unavailable(platform::Unavailable {
        feature: platform::Feature::Capture,
        why: "this wirelab was built without the npcap feature".to_string(),
    }))
}

/// macOS: may this user open the BPF devices? pnet tries `/dev/bpf0` … `/dev/bpf999` and
/// reports only the last failure ("no such file"), so ask the first one directly: a
/// permission error there is the one to report, with its fix.
#[cfg(unix)]
fn check_bpf_access(iface: &str) -> Result<(), LiveError> {
    match std::fs::OpenOptions::new().read(true).open("/dev/bpf0") {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Err(LiveError::NoPermission {
            iface: iface.to_string(),
        }),
        // Open (closed again at once), busy, or named otherwise on this system: pnet finds one.
        _ => Ok(()),
    }
}

#[cfg(all(windows, feature = "npcap"))]
fn check_bpf_access(_iface: &str) -> Result<(), LiveError> {
    Ok(())
}

/// True if this process may capture on the loopback interface here.
pub fn can_capture() -> bool {
    LiveCapture::open(platform::LOOPBACK, &LiveOptions::default()).is_ok()
}
