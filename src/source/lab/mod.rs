//! The lab: a private network that wirelab builds for itself, without root: a client, a
//! server, and optionally routers between them, joined by links that can be slow, narrow or
//! lossy.
//!
//! # The idea
//!
//! Linux can give a process its own private copy of the network: a *network namespace* has
//! its own interfaces, addresses, routes, ARP table and port numbers, invisible from the rest
//! of the machine. Making one needs the `CAP_SYS_ADMIN` capability, but an ordinary user may
//! first make a *user namespace*, in which they count as root, and then make network
//! namespaces owned by it. That is what `unshare -Urn` does, and what wirelab does here.
//! The simplest lab, the one the first lessons use, is two hosts and one cable:
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
//! With `--routers N` the lab is a chain, client — r1 — … — rN — server, each router a
//! namespace with two interfaces and IP forwarding switched on, so it lowers each packet's TTL
//! and answers with ICMP when a packet cannot go on. [`crate::source::topology`] plans the
//! addresses (all from the documentation blocks of RFC 5737) and the routes. A link given
//! properties (`--link rate=10mbit,delay=20ms,loss=1%`) runs through wirelab's link emulator,
//! [`emulator`]. wirelab configures these addresses only inside the lab's namespaces; nothing
//! outside them ever sees them, and nothing inside can reach the machine's real network.
//!
//! # How it is built
//!
//! 1. `unshare(CLONE_NEWUSER | CLONE_NEWNET)`: a new user namespace and, inside it, the
//!    "client" network namespace. The kernel allows this only in a process with a single
//!    thread, so wirelab does it first thing in `main`, before any thread exists.
//! 2. Write `/proc/self/uid_map` and `gid_map` (after `setgroups` = `deny`, which the kernel
//!    requires of an unprivileged user): our user id counts as root (0) inside.
//! 3. `unshare(CLONE_NEWNET)` again for every other host (routers, server) and for the wire of
//!    every emulated link. Each is kept open as a file descriptor of
//!    `/proc/thread-self/ns/net`, and `setns` moves a thread between them.
//! 4. Over rtnetlink ([`netlink`]): create one veth pair per link (two for an emulated link,
//!    meeting in its wire namespace), bring the links up, give them addresses, MTUs and
//!    routes. The veth's offloads are switched off (see the `ethtool` module) so captured frames carry
//!    real checksums and respect the MTU. IPv6 is switched off in the lab so that its
//!    background chatter (neighbour discovery, router solicitations) does not clutter the
//!    lessons. Routers get `net.ipv4.ip_forward = 1`; every host answers every ICMP error
//!    (`icmp_ratelimit = 0`: real routers limit them, which would make traceroute lessons
//!    depend on timing).
//! 5. Start one [`emulator::Emulator`] thread per emulated link.
//!
//! A network namespace belongs to a thread, not to a process: each role of a demo runs in a
//! thread that calls [`Lab::enter`] first.
//!
//! Where user namespaces are not allowed, [`diagnose`] works out why and says so.
//!
//! # Using the lab from a command (the API `tcp transfer` and the demos build on)
//!
//! ```no_run
//! use wirelab::source::lab::{self, Host};
//! use wirelab::source::topology::{LabPlan, LinkArg, Topology};
//!
//! // In `main`, before any thread exists (cli::Command::lab_plan does this for each command):
//! let link: LinkArg = "rate=10mbit,delay=20ms,queue=64".parse().unwrap();
//! let topology = Topology::new(1, &[link]).unwrap();
//! lab::prepare(&LabPlan { topology, join: false });
//!
//! // Later, in the command (threads and tokio runtimes are fine from here on):
//! let lab = lab::take().unwrap();
//! let server = lab.topology().server_ip();
//! let got = std::thread::scope(|s| {
//!     let srv = s.spawn(|| lab.run_in(Host::Server, || {
//!         // sockets made here belong to the server host; bind to `server`…
//!     }));
//!     let cli = s.spawn(|| lab.run_in(Host::Client, || {
//!         // …and connect to it from the client, through r1 and the emulated link.
//!     }));
//!     (srv.join(), cli.join())
//! });
//! // A process on a host (a peer program such as busybox ping):
//! let child = lab.spawn(Host::Client, std::process::Command::new("busybox")
//!     .args(["ping", "-c", "3", &server.to_string()]));
//! // What the emulator did: frames in and out, drops asked for and not, CPU used.
//! for r in lab.link_reports() {
//!     print!("{}", r.describe());
//! }
//! ```
//!
//! Captures work on any host's interface: open a
//! [`LiveCapture`](crate::source::live::LiveCapture) on a thread that entered the host
//! ([`crate::demos::Recording::start_on`] does it for the demos).
//!
//! In short, a new live command over an emulated path (`tcp transfer`, say) needs:
//!
//! 1. an arm in `cli::Command::lab_plan` returning `LabPlan { topology: Topology::new(routers,
//!    &links)?, join: false }` (its `--link` arguments parse as [`LinkArg`](crate::source::topology::LinkArg));
//! 2. [`take`] for the [`Lab`], then [`Lab::run_in`] (a closure on a host), [`Lab::spawn`] (a
//!    program on a host), [`Lab::netns`] (a namespace for threads of its own), and
//!    [`Lab::topology`] for addresses and what the path should do ([`Topology::path_delay`],
//!    [`LinkSpec::transmission_time`]);
//! 3. `demos::Recording::start_on(&lab, Host::Client, "eth0", …)` for the packets, shown with
//!    `commands::tcp::present` like every demo;
//! 4. [`Lab::finish_links`] at the end for the emulator's counters (queue drops, losses asked
//!    for, anything lost that was not asked for, lateness, CPU).
//!
//! `drop=N` counts data packets from the client's side (TCP segments with payload,
//! retransmissions included), so a transfer from client to server loses exactly its N-th
//! segment.

pub mod diagnose;
pub mod emulator;
mod ethtool;
pub mod measure;
pub mod netlink;
mod port;

use std::fmt;
use std::fs::{self, File};
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::{Child, Command};
use std::sync::Mutex;

use nix::sched::{CloneFlags, setns, unshare};

use self::emulator::{Emulator, LinkReport};
use self::netlink::Rtnl;
pub use crate::source::topology::{Host, LabPlan, LinkSpec, Topology};

/// The network of the single-cable lab, 192.0.2.0/24 (TEST-NET-1, RFC 5737: reserved for
/// documentation).
pub const PREFIX: u8 = 24;
/// The client's address (in every lab).
pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The server's address in the single-cable lab (with routers it is 203.0.113.2: ask
/// [`Topology::server_ip`]).
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// The client's MAC address. The 02 in the first byte marks it "locally administered", an
/// address no network card was made with; 77:6c is "wl".
pub const CLIENT_MAC: [u8; 6] = [0x02, 0x77, 0x6c, 0, 0, 0x01];
pub const SERVER_MAC: [u8; 6] = [0x02, 0x77, 0x6c, 0, 0, 0x02];
/// Each host's end of the cable is called eth0, as on a real machine (a router's second
/// interface is eth1).
pub const IFACE: &str = "eth0";

/// The environment variable through which a `wirelab lab shell` tells the programs it runs
/// where its lab's namespaces are, so that `wirelab lab shell --host server` run inside it
/// joins the same lab.
pub const JOIN_ENV: &str = "WIRELAB_LAB";

/// The lab, once built: one network namespace per host (and per emulated link's wire), held
/// open, and the link emulators running.
pub struct Lab {
    topology: Topology,
    hosts: Vec<(Host, OwnedFd)>,
    wires: Vec<(usize, OwnedFd)>,
    emulators: Vec<Emulator>,
    /// True when a user namespace was made (an ordinary user); false when wirelab ran as root
    /// and made only the network namespaces.
    pub user_namespace: bool,
    /// When this process joined a lab another wirelab built (inside `wirelab lab shell`): that
    /// process's id. Its emulators run there, not here.
    pub joined: Option<u32>,
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

/// Build the lab a command asked for now, while the process still has a single thread, and
/// keep it for [`take`]. Call this first thing in `main`, for commands that use the lab.
pub fn prepare(plan: &LabPlan) {
    // Whether the host itself allows capture can only be asked before we leave its
    // network namespace.
    let _ = HOST_CAPTURE.set(crate::source::live::can_capture());
    let lab = match std::env::var(JOIN_ENV) {
        Ok(spec) if plan.join => Lab::join(&spec),
        _ => Lab::create(&plan.topology),
    };
    *EARLY.lock().unwrap_or_else(|e| e.into_inner()) = Some(lab);
}

static HOST_CAPTURE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Could this process capture on the host's own interfaces (does it have CAP_NET_RAW there)?
/// Answered before the lab was built, since afterwards the process is inside it.
pub fn host_can_capture() -> bool {
    *HOST_CAPTURE.get_or_init(crate::source::live::can_capture)
}

/// The lab made by [`prepare`], or, if `prepare` was not called, an attempt to make the
/// single-cable lab now (which fails if the process already has threads).
pub fn take() -> Result<Lab, LabError> {
    let early = EARLY.lock().unwrap_or_else(|e| e.into_inner()).take();
    match early {
        Some(lab) => lab,
        None => Lab::create(&Topology::default()),
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

/// Write a sysctl of the calling thread's network namespace.
fn sysctl(path: &str, value: &str) -> io::Result<()> {
    fs::write(format!("/proc/sys/net/{path}"), value).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("writing net.{}: {e}", path.replace('/', ".")),
        )
    })
}

fn fail_with(step: &'static str, e: io::Error) -> LabError {
    let errno = e.raw_os_error();
    LabError {
        step,
        error: e.to_string(),
        errno,
        why: diagnose::explain(step, errno, &diagnose::Facts::read()),
    }
}

impl Lab {
    /// Build the lab the topology plans: namespaces, veth pairs, addresses, routes, the link
    /// emulators. Must run while the process has one thread. Afterwards the calling thread is
    /// in the client's namespace.
    pub fn create(topology: &Topology) -> Result<Lab, LabError> {
        // WIRELAB_PORTABLE: behave as where there are no network namespaces.
        if let Err(no) = crate::source::platform::lab() {
            return Err(LabError {
                step: "building the lab",
                error: "it is switched off".to_string(),
                errno: None,
                why: format!("{}.", no.why),
            });
        }
        let fail = fail_with;
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

        // 3. One namespace per host, and one per emulated link's wire.
        let mut hosts = vec![(
            Host::Client,
            open_netns().map_err(|e| fail("opening the client's namespace", e))?,
        )];
        for h in topology.hosts().into_iter().skip(1) {
            unshare(CloneFlags::CLONE_NEWNET)
                .map_err(|e| fail("unshare(CLONE_NEWNET) for another host", e.into()))?;
            hosts.push((
                h,
                open_netns().map_err(|e| fail("opening a host's namespace", e))?,
            ));
        }
        let mut wires = Vec::new();
        for j in 1..=topology.link_count() {
            if topology.link(j).is_emulated() {
                unshare(CloneFlags::CLONE_NEWNET)
                    .map_err(|e| fail("unshare(CLONE_NEWNET) for a link's wire", e.into()))?;
                wires.push((
                    j,
                    open_netns().map_err(|e| fail("opening a wire's namespace", e))?,
                ));
            }
        }
        let mut lab = Lab {
            topology: topology.clone(),
            hosts,
            wires,
            emulators: Vec::new(),
            user_namespace,
            joined: None,
        };

        // 4. Wire it up.
        lab.build().map_err(|(step, e)| fail(step, e))?;
        // 5. The emulated links come alive.
        for (j, wire) in &lab.wires {
            let e = Emulator::start(*j, lab.topology.link(*j), wire)
                .map_err(|e| fail("starting the link emulator", e))?;
            lab.emulators.push(e);
        }
        lab.enter(Host::Client)
            .map_err(|e| fail("setns into the client's namespace", e))?;
        Ok(lab)
    }

    fn ns(&self, host: Host) -> io::Result<&OwnedFd> {
        self.hosts
            .iter()
            .find(|(h, _)| *h == host)
            .map(|(_, fd)| fd)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!(
                        "this lab has no host {host} (it has {})",
                        self.topology
                            .hosts()
                            .iter()
                            .map(|h| h.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
    }

    fn wire(&self, link: usize) -> Option<&OwnedFd> {
        self.wires
            .iter()
            .find(|(j, _)| *j == link)
            .map(|(_, fd)| fd)
    }

    fn enter_fd(fd: &OwnedFd) -> io::Result<()> {
        setns(fd.as_fd(), CloneFlags::CLONE_NEWNET).map_err(io::Error::from)
    }

    /// Steps 4 of the build: links, addresses, routes, switches. Errors name the step.
    fn build(&self) -> Result<(), (&'static str, io::Error)> {
        let t = &self.topology;
        // Every namespace: loopback up, IPv6 quiet.
        let all: Vec<&OwnedFd> = self
            .hosts
            .iter()
            .map(|(_, fd)| fd)
            .chain(self.wires.iter().map(|(_, fd)| fd))
            .collect();
        for fd in &all {
            Self::enter_fd(fd).map_err(|e| ("setns into a lab namespace", e))?;
            quiet_ipv6();
            let mut rtnl = Rtnl::open().map_err(|e| ("opening rtnetlink", e))?;
            bring_up_loopback(&mut rtnl).map_err(|e| ("bringing up lo", e))?;
        }
        // The cables: one veth pair per ideal link, two per emulated link.
        for j in 1..=t.link_count() {
            let (left, right) = t.link_ends(j);
            let l_if = t.interfaces(left).into_iter().find(|i| i.link == j);
            let r_if = t.interfaces(right).into_iter().find(|i| i.link == j);
            let (Some(l_if), Some(r_if)) = (l_if, r_if) else {
                continue;
            };
            let wire_mac = |n: u8| [0x02, 0x77, 0x6c, 0xff, (j - 1) as u8, n];
            match self.wire(j) {
                None => {
                    Self::enter_fd(self.ns(left).map_err(|e| ("finding a host", e))?)
                        .map_err(|e| ("setns into a host", e))?;
                    let mut rtnl = Rtnl::open().map_err(|e| ("opening rtnetlink", e))?;
                    rtnl.create_veth(
                        l_if.name,
                        l_if.mac,
                        r_if.name,
                        r_if.mac,
                        self.ns(right).map_err(|e| ("finding a host", e))?.as_fd(),
                    )
                    .map_err(|e| ("creating a veth pair", e))?;
                }
                Some(wire) => {
                    Self::enter_fd(self.ns(left).map_err(|e| ("finding a host", e))?)
                        .map_err(|e| ("setns into a host", e))?;
                    let mut rtnl = Rtnl::open().map_err(|e| ("opening rtnetlink", e))?;
                    rtnl.create_veth(l_if.name, l_if.mac, "eth0", wire_mac(1), wire.as_fd())
                        .map_err(|e| ("creating the veth pair to a link's wire", e))?;
                    Self::enter_fd(wire).map_err(|e| ("setns into a wire", e))?;
                    let mut rtnl = Rtnl::open().map_err(|e| ("opening rtnetlink", e))?;
                    rtnl.create_veth(
                        "eth1",
                        wire_mac(2),
                        r_if.name,
                        r_if.mac,
                        self.ns(right).map_err(|e| ("finding a host", e))?.as_fd(),
                    )
                    .map_err(|e| ("creating the veth pair from a link's wire", e))?;
                    let spec = t.link(j);
                    for name in ["eth0", "eth1"] {
                        let link = rtnl.link(name).map_err(|e| ("reading a wire's links", e))?;
                        ethtool::no_offloads(name)
                            .map_err(|e| ("switching off a wire's offloads", e))?;
                        rtnl.set_mtu(link.index, spec.mtu())
                            .map_err(|e| ("setting a wire's MTU", e))?;
                        if let (crate::source::topology::Shaper::Tbf, Some(rate)) =
                            (spec.shaper, spec.rate)
                        {
                            // A bucket of one frame would lose every late wake-up of the
                            // kernel's timer for good (measured: −15% at 100 Mbit/s); two
                            // frames, or 2 ms of the rate, absorb them.
                            let frame = spec.mtu() + 14;
                            let burst = (2 * frame).max((rate / 8 / 500) as u32);
                            rtnl.add_tbf(link.index, rate, burst, spec.queue_len() as u32)
                                .map_err(|e| ("adding tbf on a link's wire", e))?;
                        }
                        rtnl.set_up(link.index)
                            .map_err(|e| ("bringing up a wire's interface", e))?;
                    }
                }
            }
        }
        // Each host: its interfaces, routes and switches.
        for (host, fd) in &self.hosts {
            Self::enter_fd(fd).map_err(|e| ("setns into a host", e))?;
            let mut rtnl = Rtnl::open().map_err(|e| ("opening rtnetlink", e))?;
            for i in t.interfaces(*host) {
                let link = rtnl
                    .link(i.name)
                    .map_err(|e| ("finding a host's interface", e))?;
                ethtool::no_offloads(i.name).map_err(|e| ("switching off offloads", e))?;
                let mtu = t.link(i.link).mtu();
                if mtu != 1500 {
                    rtnl.set_mtu(link.index, mtu)
                        .map_err(|e| ("setting an interface's MTU", e))?;
                }
                rtnl.add_ipv4(link.index, i.ip, i.prefix)
                    .map_err(|e| ("giving an interface its address", e))?;
                rtnl.set_up(link.index)
                    .map_err(|e| ("bringing up an interface", e))?;
            }
            for r in t.routes(*host) {
                rtnl.add_route(r.dst, r.prefix, r.via)
                    .map_err(|e| ("adding a route", e))?;
            }
            if matches!(host, Host::Router(_)) {
                sysctl("ipv4/ip_forward", "1").map_err(|e| ("switching on IP forwarding", e))?;
            }
            // Answer every probe (see the module's notes).
            let _ = sysctl("ipv4/icmp_ratelimit", "0");
            // Ping sockets (SOCK_DGRAM, IPPROTO_ICMP) for our group (0 inside the lab; only mapped
            // groups can be named): ping and traceroute
            // need no raw socket then.
            let _ = sysctl("ipv4/ping_group_range", "0 0");
        }
        Ok(())
    }

    /// Join the lab another wirelab process built, from inside its `wirelab lab shell`: the
    /// namespaces are reached through that process's open descriptors (`/proc/PID/fd/N`).
    pub fn join(spec: &str) -> Result<Lab, LabError> {
        let err = |error: String| LabError {
            step: "joining the lab of the surrounding `wirelab lab shell`",
            error,
            errno: None,
            why: format!(
                "The variable {JOIN_ENV} names a lab that cannot be reached; leave the shell it \
                 came from, or unset {JOIN_ENV} to build a new lab inside this one."
            ),
        };
        let v: serde_json::Value =
            serde_json::from_str(spec).map_err(|e| err(format!("{JOIN_ENV} is not JSON: {e}")))?;
        let pid = v["pid"].as_u64().ok_or_else(|| err("no pid".into()))? as u32;
        let args: Vec<String> = v["args"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let topology = topology_from_args(&args).map_err(err)?;
        let mut hosts = Vec::new();
        for h in topology.hosts() {
            let fd = v["ns"][h.name()]
                .as_u64()
                .ok_or_else(|| err(format!("no namespace for {h}")))?;
            let path = format!("/proc/{pid}/fd/{fd}");
            let f = File::open(&path).map_err(|e| err(format!("{path}: {e}")))?;
            hosts.push((h, OwnedFd::from(f)));
        }
        let lab = Lab {
            topology,
            hosts,
            wires: Vec::new(),
            emulators: Vec::new(),
            user_namespace: true,
            joined: Some(pid),
        };
        lab.enter(Host::Client)
            .map_err(|e| err(format!("setns into the client's namespace: {e}")))?;
        Ok(lab)
    }

    /// What to put in [`JOIN_ENV`] for programs started inside this lab.
    pub fn join_spec(&self) -> String {
        // Our own descriptors (opened by us whether we built the lab or joined it), which stay
        // open as long as this process runs.
        let mut ns = serde_json::Map::new();
        for (h, fd) in &self.hosts {
            ns.insert(h.name().into(), fd.as_raw_fd().into());
        }
        serde_json::json!({"pid": std::process::id(), "args": self.topology.args(), "ns": ns})
            .to_string()
    }

    /// The plan this lab was built from.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Move the calling thread into one host's network namespace. Sockets made afterwards
    /// belong to that host.
    pub fn enter(&self, host: Host) -> io::Result<()> {
        Self::enter_fd(self.ns(host)?)
    }

    /// A descriptor of `host`'s network namespace, for a thread of the caller's own that
    /// `setns`es into it (as [`Lab::enter`] does).
    pub fn netns(&self, host: Host) -> io::Result<OwnedFd> {
        self.ns(host)?.try_clone()
    }

    /// Run `f` on a new thread inside `host`'s namespace, and wait for its result.
    pub fn run_in<T: Send>(&self, host: Host, f: impl FnOnce() -> T + Send) -> io::Result<T> {
        std::thread::scope(|s| {
            s.spawn(|| -> io::Result<T> {
                self.enter(host)?;
                Ok(f())
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("a lab thread panicked")))
        })
    }

    /// Start a program on `host` (it inherits the namespace of the thread that starts it).
    pub fn spawn(&self, host: Host, cmd: &mut Command) -> io::Result<Child> {
        cmd.env("WIRELAB_LAB_HOST", host.name())
            .env(JOIN_ENV, self.join_spec());
        self.run_in(host, || cmd.spawn())?
    }

    /// What each emulated link has done so far (empty when no link is emulated, or when this
    /// process only joined the lab). The CPU time is brought up to date four times a second.
    pub fn link_reports(&self) -> Vec<LinkReport> {
        self.emulators.iter().map(|e| e.stats.report()).collect()
    }

    /// Stop the link emulators (the emulated links carry nothing from now on) and return their
    /// final counters.
    pub fn finish_links(&mut self) -> Vec<LinkReport> {
        self.emulators.drain(..).map(Emulator::stop).collect()
    }

    /// Read one host's configuration back from the kernel.
    pub fn describe(&self, host: Host) -> io::Result<HostView> {
        self.run_in(host, || HostView::read(host.name()))?
    }
}

/// The topology described by `--routers N --link J:SPEC …` arguments (as [`Topology::args`]
/// writes them).
fn topology_from_args(args: &[String]) -> Result<Topology, String> {
    let mut routers = 0;
    let mut links = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it.next().ok_or_else(|| format!("{a} without a value"))?;
        match a.as_str() {
            "--routers" => routers = v.parse().map_err(|_| format!("--routers {v}"))?,
            "--link" => links.push(v.parse().map_err(|e| format!("{e}"))?),
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    Topology::new(routers, &links)
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

/// One namespace's network configuration, as the kernel reports it.
#[derive(Clone, Debug)]
pub struct HostView {
    pub name: String,
    pub links: Vec<netlink::Link>,
    pub addrs: Vec<netlink::Addr>,
    pub routes: Vec<netlink::Route>,
    /// `net.ipv4.ip_forward`: does this host route packets that are not for it?
    pub forwarding: bool,
}

/// Is this one of the lab's addresses (the documentation blocks of RFC 5737)?
pub fn is_lab_address(ip: Ipv4Addr) -> bool {
    matches!(
        ip.octets(),
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _]
    )
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
            forwarding: fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
                .is_ok_and(|s| s.trim() == "1"),
        })
    }

    /// The name of the (first) interface that carries one of the lab's addresses, if this
    /// namespace is a lab host.
    pub fn lab_interface(&self) -> Option<&str> {
        let idx = self.addrs.iter().find(|a| is_lab_address(a.addr))?.index;
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
