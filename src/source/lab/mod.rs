//! The lab: a private two-host network that wirelab builds for itself, without root.
//!
//! # The idea
//!
//! Linux can give a process its own private copy of the network: a *network namespace* has
//! its own interfaces, addresses, routes, ARP table and port numbers, invisible from the rest
//! of the machine. Making one needs the `CAP_SYS_ADMIN` capability, but an ordinary user may
//! first make a *user namespace*, in which they count as root, and then make network
//! namespaces owned by it. That is what `unshare -Urn` does, and what wirelab does here:
//!
//! ```text
//!   namespace "client"                          namespace "server"
//!  ┌──────────────────────────┐                ┌──────────────────────────┐
//!  │ eth0 192.0.2.1/24        │  veth pair     │ eth0 192.0.2.2/24        │
//!  │ MAC 02:77:6c:00:00:01    ├────────────────┤ MAC 02:77:6c:00:00:02    │
//!  │ MTU 1500                 │ (a virtual     │ MTU 1500                 │
//!  └──────────────────────────┘  cable)        └──────────────────────────┘
//! ```
//!
//! A *veth pair* is a virtual Ethernet cable: a frame sent on one end arrives on the other.
//! So the two hosts talk real Ethernet: ARP asks for the MAC address before the first packet,
//! the MTU limits packet size, TTL is counted. Capturing on `eth0` needs `CAP_NET_RAW`, which
//! root in the user namespace has over its own network namespaces.
//!
//! The addresses come from 192.0.2.0/24 ("TEST-NET-1", RFC 5737), a block reserved for
//! documentation that no real network uses. wirelab configures them only inside the lab's
//! namespaces; nothing outside them ever sees these addresses.
//!
//! # How it is built
//!
//! 1. `unshare(CLONE_NEWUSER | CLONE_NEWNET)`: a new user namespace and, inside it, the
//!    "client" network namespace. The kernel allows this only in a process with a single
//!    thread, so wirelab does it first thing in `main`, before any thread exists.
//! 2. Write `/proc/self/uid_map` and `gid_map` (after `setgroups` = `deny`, which the kernel
//!    requires of an unprivileged user): our user id counts as root (0) inside.
//! 3. `unshare(CLONE_NEWNET)` again: a second network namespace, "server". Both are kept open
//!    as file descriptors of `/proc/thread-self/ns/net`, and `setns` moves a thread between
//!    them.
//! 4. Over rtnetlink ([`netlink`]): create the veth pair with one end moved into "server",
//!    bring the links up and give them addresses. The veth's offloads are switched off
//!    (see [`ethtool`]) so captured frames carry real checksums and respect the MTU. IPv6 is switched off in the lab so that its
//!    background chatter (neighbour discovery, router solicitations) does not clutter the
//!    lessons.
//!
//! A network namespace belongs to a thread, not to a process: each role of a demo runs in a
//! thread that calls [`Lab::enter`] first.
//!
//! Where user namespaces are not allowed, [`diagnose`] works out why and says so.

pub mod diagnose;
mod ethtool;
pub mod netlink;

use std::fmt;
use std::fs::{self, File};
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Mutex;

use nix::sched::{CloneFlags, setns, unshare};

use self::netlink::Rtnl;

/// The lab's network, 192.0.2.0/24 (TEST-NET-1, RFC 5737: reserved for documentation).
pub const PREFIX: u8 = 24;
/// The client host's address.
pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The server host's address.
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// The client's MAC address. The 02 in the first byte marks it "locally administered", an
/// address no network card was made with; 77:6c is "wl".
pub const CLIENT_MAC: [u8; 6] = [0x02, 0x77, 0x6c, 0, 0, 0x01];
pub const SERVER_MAC: [u8; 6] = [0x02, 0x77, 0x6c, 0, 0, 0x02];
/// Each host's end of the cable is called eth0, as on a real machine.
pub const IFACE: &str = "eth0";

/// One of the two hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    Client,
    Server,
}

impl Host {
    pub fn name(self) -> &'static str {
        match self {
            Host::Client => "client",
            Host::Server => "server",
        }
    }
    pub fn ip(self) -> Ipv4Addr {
        match self {
            Host::Client => CLIENT_IP,
            Host::Server => SERVER_IP,
        }
    }
    pub fn mac(self) -> [u8; 6] {
        match self {
            Host::Client => CLIENT_MAC,
            Host::Server => SERVER_MAC,
        }
    }
}

/// The lab, once built: the two network namespaces, held open.
pub struct Lab {
    client: OwnedFd,
    server: OwnedFd,
    /// True when a user namespace was made (an ordinary user); false when wirelab ran as root
    /// and made only the network namespaces.
    pub user_namespace: bool,
}

/// Why the lab could not be built: the step that failed, the error, and what that means here.
#[derive(Debug, Clone)]
pub struct LabError {
    pub step: &'static str,
    pub error: String,
    /// The raw OS error number, when there was one.
    pub errno: Option<i32>,
    /// What blocked it on this machine, and what to do, in words.
    pub why: String,
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the lab network is not available here: {} failed: {}.\n{}",
            self.step, self.error, self.why
        )
    }
}

impl std::error::Error for LabError {}

/// The lab built (or not) at start-up by [`prepare`].
static EARLY: Mutex<Option<Result<Lab, LabError>>> = Mutex::new(None);

/// Build the lab now, while the process still has a single thread, and keep it for
/// [`take`]. Call this first thing in `main`, for commands that use the lab.
pub fn prepare() {
    // Whether the host itself allows capture can only be asked before we leave its
    // network namespace.
    let _ = HOST_CAPTURE.set(crate::source::live::can_capture());
    let lab = Lab::create();
    *EARLY.lock().unwrap_or_else(|e| e.into_inner()) = Some(lab);
}

static HOST_CAPTURE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Could this process capture on the host's own interfaces (does it have CAP_NET_RAW there)?
/// Answered before the lab was built, since afterwards the process is inside it.
pub fn host_can_capture() -> bool {
    *HOST_CAPTURE.get_or_init(crate::source::live::can_capture)
}

/// The lab made by [`prepare`], or, if `prepare` was not called, an attempt to make it now
/// (which fails if the process already has threads).
pub fn take() -> Result<Lab, LabError> {
    let early = EARLY.lock().unwrap_or_else(|e| e.into_inner()).take();
    match early {
        Some(lab) => lab,
        None => Lab::create(),
    }
}

/// How many threads this process has (from `/proc/self/status`).
pub fn thread_count() -> Option<usize> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
}

fn open_netns() -> io::Result<OwnedFd> {
    Ok(File::open("/proc/thread-self/ns/net")?.into())
}

impl Lab {
    /// Build the lab: namespaces, veth pair, addresses. Must run while the process has one
    /// thread. Afterwards the calling thread is in the client's namespace.
    pub fn create() -> Result<Lab, LabError> {
        // WIRELAB_PORTABLE: behave as where there are no network namespaces.
        if let Err(no) = crate::source::platform::lab() {
            return Err(LabError {
                step: "building the lab",
                error: "it is switched off".to_string(),
                errno: None,
                why: format!("{}.", no.why),
            });
        }
        let fail = |step: &'static str, e: io::Error| {
            let errno = e.raw_os_error();
            LabError {
                step,
                error: e.to_string(),
                errno,
                why: diagnose::explain(step, errno, &diagnose::Facts::read()),
            }
        };
        if let Some(n) = thread_count()
            && n > 1
        {
            return Err(LabError {
                step: "unshare(CLONE_NEWUSER)",
                error: format!("the process already has {n} threads"),
                errno: Some(libc::EINVAL),
                why: "The kernel makes a user namespace only for a process with a single thread; \
                      wirelab builds the lab at the very start of `main`, so this is a bug in \
                      how the lab was started."
                    .into(),
            });
        }
        let uid = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();

        // 1. A user namespace and the client's network namespace, in one step.
        let user_namespace = match unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET) {
            Ok(()) => true,
            // Root may be refused a user namespace (max_user_namespaces = 0, a seccomp policy)
            // yet still make network namespaces directly.
            Err(e) if uid == 0 && unshare(CloneFlags::CLONE_NEWNET).is_ok() => {
                let _ = e;
                false
            }
            Err(e) => return Err(fail("unshare(CLONE_NEWUSER | CLONE_NEWNET)", e.into())),
        };

        // 2. Who we are inside: our own user and group, seen as root.
        if user_namespace {
            fs::write("/proc/self/setgroups", "deny")
                .map_err(|e| fail("writing /proc/self/setgroups", e))?;
            fs::write("/proc/self/uid_map", format!("0 {uid} 1"))
                .map_err(|e| fail("writing /proc/self/uid_map", e))?;
            fs::write("/proc/self/gid_map", format!("0 {gid} 1"))
                .map_err(|e| fail("writing /proc/self/gid_map", e))?;
        }

        // 3. The server's namespace.
        let client = open_netns().map_err(|e| fail("opening the client's namespace", e))?;
        unshare(CloneFlags::CLONE_NEWNET)
            .map_err(|e| fail("unshare(CLONE_NEWNET) for the server", e.into()))?;
        let server = open_netns().map_err(|e| fail("opening the server's namespace", e))?;
        let lab = Lab {
            client,
            server,
            user_namespace,
        };

        // 4. Wire them up, starting in the server (where this thread is now).
        quiet_ipv6();
        let mut rtnl = Rtnl::open().map_err(|e| fail("opening rtnetlink (server)", e))?;
        bring_up_loopback(&mut rtnl).map_err(|e| fail("bringing up lo (server)", e))?;
        lab.enter(Host::Client)
            .map_err(|e| fail("setns into the client's namespace", e))?;
        quiet_ipv6();
        let mut rtnl = Rtnl::open().map_err(|e| fail("opening rtnetlink (client)", e))?;
        bring_up_loopback(&mut rtnl).map_err(|e| fail("bringing up lo (client)", e))?;
        rtnl.create_veth(IFACE, CLIENT_MAC, IFACE, SERVER_MAC, lab.server.as_fd())
            .map_err(|e| fail("creating the veth pair", e))?;
        configure(&mut rtnl, Host::Client).map_err(|e| fail("configuring the client's eth0", e))?;
        lab.enter(Host::Server)
            .map_err(|e| fail("setns into the server's namespace", e))?;
        let mut rtnl = Rtnl::open().map_err(|e| fail("opening rtnetlink (server)", e))?;
        configure(&mut rtnl, Host::Server).map_err(|e| fail("configuring the server's eth0", e))?;
        lab.enter(Host::Client)
            .map_err(|e| fail("setns into the client's namespace", e))?;
        Ok(lab)
    }

    /// Move the calling thread into one host's network namespace. Sockets made afterwards
    /// belong to that host.
    pub fn enter(&self, host: Host) -> io::Result<()> {
        let fd = match host {
            Host::Client => &self.client,
            Host::Server => &self.server,
        };
        setns(fd.as_fd(), CloneFlags::CLONE_NEWNET).map_err(io::Error::from)
    }

    /// Read one host's configuration back from the kernel.
    pub fn describe(&self, host: Host) -> io::Result<HostView> {
        std::thread::scope(|s| {
            s.spawn(|| {
                self.enter(host)?;
                HostView::read(host.name())
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("thread panicked")))
        })
    }
}

/// Switch off IPv6 in the current namespace, where the kernel has it: its neighbour discovery
/// and router solicitations would otherwise appear in every capture at random moments.
fn quiet_ipv6() {
    for which in ["all", "default"] {
        let _ = fs::write(format!("/proc/sys/net/ipv6/conf/{which}/disable_ipv6"), "1");
    }
}

fn bring_up_loopback(rtnl: &mut Rtnl) -> io::Result<()> {
    let lo = rtnl.link("lo")?;
    rtnl.set_up(lo.index)
}

fn configure(rtnl: &mut Rtnl, host: Host) -> io::Result<()> {
    let eth = rtnl.link(IFACE)?;
    ethtool::no_offloads(IFACE)?;
    rtnl.add_ipv4(eth.index, host.ip(), PREFIX)?;
    rtnl.set_up(eth.index)
}

/// One namespace's network configuration, as the kernel reports it.
#[derive(Clone, Debug)]
pub struct HostView {
    pub name: String,
    pub links: Vec<netlink::Link>,
    pub addrs: Vec<netlink::Addr>,
    pub routes: Vec<netlink::Route>,
}

impl HostView {
    /// Read the current thread's namespace.
    pub fn read(name: &str) -> io::Result<HostView> {
        let mut rtnl = Rtnl::open()?;
        Ok(HostView {
            name: name.to_string(),
            links: rtnl.links()?,
            addrs: rtnl.addresses()?,
            routes: rtnl.routes()?,
        })
    }

    /// The name of the interface that carries one of the lab's addresses, if this namespace
    /// is a lab host.
    pub fn lab_interface(&self) -> Option<&str> {
        let idx = self
            .addrs
            .iter()
            .find(|a| a.addr == CLIENT_IP || a.addr == SERVER_IP)?
            .index;
        self.links
            .iter()
            .find(|l| l.index == idx)
            .map(|l| l.name.as_str())
    }
}

/// If the calling thread is inside a lab host (for instance in a shell started by
/// `wirelab lab shell`), the name of its lab interface.
pub fn current_lab_interface() -> Option<String> {
    let view = HostView::read("here").ok()?;
    view.lab_interface().map(str::to_string)
}
