//! What live capture looks like on every system: its options, the kernel's counters, and
//! why a capture could not start, with the fix for this system.
//!
//! The readers themselves differ: on Linux an `AF_PACKET` socket (`live.rs`), on macOS and
//! the BSDs BPF and on Windows Npcap, both through pnet (`live_pnet.rs`, which also uses
//! [`from_pnet`] below). Whichever is compiled is [`crate::source::live`], built from these
//! types.

use std::fmt;
use std::io;
#[cfg(not(windows))]
use std::path::PathBuf;
use std::time::Duration;

use crate::dissect::model::Timestamp;
use crate::source::platform::Unavailable;

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
    /// How frames are read from the socket.
    pub reader: Reader,
}

/// How frames are read from the packet socket (Linux; elsewhere pnet always reads them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Reader {
    /// `recvmmsg`: up to 64 frames per system call, each with its kernel timestamp in a
    /// control message. Fast enough for a 200 000 packets/s flood.
    #[default]
    Batch,
    /// pnet_datalink's receiver (given our descriptor): `poll` + `recvfrom` per frame, plus
    /// an `ioctl` for the timestamp. Simple, but three system calls a frame.
    Pnet,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            read_timeout: Duration::from_millis(100),
            buffer: 32 << 20,
            promiscuous: false,
            reader: Reader::Batch,
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
    /// True when the kernel was asked (Linux); false where the reader cannot ask it (pnet over
    /// BPF or Npcap does not pass the counters on): the two numbers above are then unknown.
    pub from_kernel: bool,
}

impl KernelStats {
    /// "N received by the kernel's filter, N dropped by the kernel", or that they are unknown.
    pub fn describe(&self) -> String {
        if self.from_kernel {
            format!(
                "{} received by the kernel's filter, {} dropped by the kernel",
                self.received, self.dropped
            )
        } else {
            "the kernel's counts of frames received and dropped are not available here (pnet \
             does not pass them on)"
                .to_string()
        }
    }

    /// "the kernel dropped N", or that it is unknown.
    pub fn describe_dropped(&self) -> String {
        if self.from_kernel {
            format!("the kernel dropped {}", self.dropped)
        } else {
            "whether the kernel dropped any is not known here".to_string()
        }
    }
}

/// Why a capture could not start.
#[derive(Debug)]
pub enum LiveError {
    /// No permission to capture (no CAP_NET_RAW on Linux; `/dev/bpf*` closed to this user on
    /// macOS; Npcap limited to administrators on Windows).
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
    /// Not on this system, or not in this build (see [`crate::source::platform`]).
    Unavailable(Unavailable),
}

/// The path of the running binary, for the `setcap` and `sudo` commands.
#[cfg(not(windows))]
fn this_binary() -> PathBuf {
    std::env::current_exe().unwrap_or_else(|_| PathBuf::from("wirelab"))
}

/// What it takes to capture on this system, after "capturing on IFACE needs ".
#[cfg(target_os = "linux")]
fn permission_fix() -> String {
    format!(
        "the CAP_NET_RAW capability, which this process does not have (a capture sees \
         everyone's traffic, so the kernel asks for it).\n\
         To give it to this binary:\n    sudo setcap cap_net_raw,cap_net_admin+ep {}\n\
         (a rebuild, such as `cargo build`, makes a new file without it: run setcap again \
         after each build).\n\
         Or use the lab, which needs no privileges: `wirelab tcp echo`, `wirelab udp echo`, \
         or `wirelab lab shell` and then `wirelab capture` inside it.",
        this_binary().display()
    )
}

#[cfg(not(any(target_os = "linux", windows)))]
fn permission_fix() -> String {
    format!(
        "read access to the BPF devices /dev/bpf*, which this user does not have (a capture \
         sees everyone's traffic, so the system asks for it).\n\
         Either run wirelab as root (`sudo {} …`), or let your user capture for good, as \
         Wireshark's installer does: install Wireshark (or its \"ChmodBPF\" package), which \
         puts /dev/bpf* in the access_bpf group, and add yourself to it:\n    sudo dseditgroup -o edit -a \"$USER\" -t user access_bpf\n\
         then log out and in again.",
        this_binary().display()
    )
}

#[cfg(windows)]
fn permission_fix() -> String {
    "Npcap's permission: Npcap was installed with \"Restrict Npcap driver's access to \
     Administrators only\".\n\
     Run wirelab from a terminal opened as Administrator, or install Npcap again without \
     that option."
        .to_string()
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveError::NoPermission { iface } => {
                write!(f, "capturing on {iface} needs {}", permission_fix())
            }
            LiveError::NoSuchInterface { iface, available } => write!(
                f,
                "there is no interface named {iface} here; the interfaces are: {}",
                available.join(", ")
            ),
            LiveError::Io { iface, error } => {
                write!(f, "cannot capture on {iface}: {error}")
            }
            LiveError::Unavailable(no) => write!(f, "{no}"),
        }
    }
}

impl std::error::Error for LiveError {}

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

/// Rebuild a frame as pnet returned it (`raw`) into `out`.
///
/// On an Ethernet interface (`null` false) the frame is what it is. On a loopback or
/// point-to-point interface (`null` true) the frame must start with the 4-byte loopback
/// header (LINKTYPE_NULL): the address family, in this machine's byte order. What pnet hands
/// back there depends on the system:
///
/// * Npcap's loopback adapter on Windows: the loopback header itself, kept as it is;
/// * pnet's BPF reader (macOS, the BSDs): the header removed and a zeroed fake Ethernet header
///   of 12 bytes put in front of the IP packet (14 in older pnet versions): the loopback
///   header is put back, with `AF_INET` (2) or this system's `af_inet6`;
/// * Npcap set to give loopback traffic a fake Ethernet header (zero addresses, then the
///   EtherType): that header is replaced by the loopback header.
///
/// Anything else is kept as it came (the engine then says what it cannot read).
pub fn from_pnet(raw: &[u8], null: bool, af_inet6: u32, out: &mut Vec<u8>) {
    out.clear();
    if null {
        let version = |at: usize| raw.get(at).map(|b| b >> 4);
        let family = |v: Option<u8>| match v {
            Some(4) => Some(2u32),
            Some(6) => Some(af_inet6),
            _ => None,
        };
        let zeros = |n: usize| raw.len() > n && raw[..n].iter().all(|&b| b == 0);
        // The loopback header already there (Npcap): a small family number, then IP.
        if let Some(af) = raw.get(..4)
            && let Some(want) = family(version(4))
            && (u32::from_le_bytes([af[0], af[1], af[2], af[3]]) == want
                || u32::from_be_bytes([af[0], af[1], af[2], af[3]]) == want)
        {
            out.extend_from_slice(raw);
            return;
        }
        // A fake Ethernet header with an EtherType (Npcap), or all zeros (pnet over BPF).
        let ip_at = if zeros(12) && matches!(raw.get(12..14), Some([0x08, 0x00] | [0x86, 0xdd])) {
            Some(14)
        } else {
            [12, 14]
                .into_iter()
                .find(|&n| zeros(n) && family(version(n)).is_some())
        };
        if let Some(at) = ip_at
            && let Some(af) = family(version(at))
        {
            out.extend_from_slice(&af.to_ne_bytes());
            out.extend_from_slice(&raw[at..]);
            return;
        }
    }
    out.extend_from_slice(raw);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv4 header's first bytes, and an IPv6 one's.
    const V4: [u8; 4] = [0x45, 0, 0, 20];
    const V6: [u8; 4] = [0x60, 0, 0, 0];

    fn rebuilt(raw: &[u8], null: bool) -> Vec<u8> {
        let mut out = Vec::new();
        from_pnet(raw, null, 30, &mut out);
        out
    }

    #[test]
    fn from_pnet_puts_the_loopback_header_back() {
        // pnet 0.35 over BPF: 12 zero bytes, then the IP packet.
        let mut raw = vec![0u8; 12];
        raw.extend_from_slice(&V4);
        let mut want = 2u32.to_ne_bytes().to_vec();
        want.extend_from_slice(&V4);
        assert_eq!(rebuilt(&raw, true), want);
        // Older pnet: 14 zero bytes; and IPv6 gets the system's AF_INET6.
        let mut raw = vec![0u8; 14];
        raw.extend_from_slice(&V6);
        let mut want = 30u32.to_ne_bytes().to_vec();
        want.extend_from_slice(&V6);
        assert_eq!(rebuilt(&raw, true), want);
    }

    #[test]
    fn from_pnet_keeps_a_loopback_header_and_ethernet() {
        // Npcap's loopback adapter: the header is there already.
        let mut raw = 2u32.to_le_bytes().to_vec();
        raw.extend_from_slice(&V4);
        assert_eq!(rebuilt(&raw, true), raw);
        // An Ethernet interface: untouched, whatever it holds.
        let mut eth = vec![0u8; 12];
        eth.extend_from_slice(&[0x08, 0x00]);
        eth.extend_from_slice(&V4);
        assert_eq!(rebuilt(&eth, false), eth);
        // Npcap's fake Ethernet header on loopback: replaced by the loopback header.
        let mut want = 2u32.to_ne_bytes().to_vec();
        want.extend_from_slice(&V4);
        assert_eq!(rebuilt(&eth, true), want);
        // Nothing recognisable, or too short: kept as it came.
        assert_eq!(rebuilt(&[1, 2, 3], true), vec![1, 2, 3]);
        assert_eq!(rebuilt(&[], true), Vec::<u8>::new());
    }

    #[test]
    fn from_pnet_frames_are_read_by_the_engine_as_loopback() {
        use crate::dissect::dissect;
        use crate::dissect::model::{Frame, LinkType};
        // A UDP datagram 127.0.0.1:5000 -> 127.0.0.1:6000, as pnet over BPF returns it.
        let mut ip = vec![
            0x45, 0, 0, 29, 0, 1, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ];
        let sum = crate::dissect::checksum::internet_checksum(&[&ip]);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        ip.extend_from_slice(&[0x13, 0x88, 0x17, 0x70, 0, 9, 0, 0, b'x']);
        let mut raw = vec![0u8; 12];
        raw.extend_from_slice(&ip);
        let data = rebuilt(&raw, true);
        let frame = Frame {
            number: 1,
            ts: None,
            link: LinkType::NULL,
            wire_len: data.len() as u32,
            data: &data,
        };
        let d = dissect(&frame);
        assert_eq!(d.uint("udp.srcport"), Some(5000), "{d:?}");
        assert_eq!(d.uint("udp.dstport"), Some(6000));
        assert!(crate::demos::touches_port(&frame, 6000));
        assert!(!crate::demos::touches_port(&frame, 7000));
    }

    #[test]
    fn counters_say_when_they_are_unknown() {
        let k = KernelStats {
            received: 10,
            dropped: 2,
            from_kernel: true,
        };
        assert_eq!(
            k.describe(),
            "10 received by the kernel's filter, 2 dropped by the kernel"
        );
        assert_eq!(k.describe_dropped(), "the kernel dropped 2");
        let u = KernelStats::default();
        assert!(u.describe().contains("not available"), "{}", u.describe());
        assert!(u.describe_dropped().contains("not known"));
    }
}
