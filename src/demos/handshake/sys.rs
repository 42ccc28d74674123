//! The few system calls the handshake demo needs that have no safe wrapper: moving into a
//! private network namespace, bringing an interface up, and opening a packet-capture socket
//! that sees each loopback packet once.
//!
//! # Why a private network namespace
//!
//! A *network namespace* is a separate copy of the kernel's networking: its own interfaces,
//! addresses, routes, firewall and sockets. A new one holds nothing but a loopback interface
//! that is down. The demo creates its TUN device, its addresses and its nftables rule inside
//! such a namespace, so it never touches the network of the machine it runs on, and everything
//! disappears when the process ends.
//!
//! Creating a network namespace takes `CAP_SYS_ADMIN`. An ordinary user gets it by first
//! creating a *user namespace*, in which they are root (uid 0) with every capability, but only
//! over namespaces that user namespace owns. That is what `unshare -Urn` does, and what
//! [`enter_private_netns`] does.
//!
//! This module allows unsafe code because `unshare(2)`, `ioctl(2)`, `setsockopt(2)` and
//! `bind(2)` with a link-layer address have no safe wrapper in the standard library, socket2
//! or tun-rs. Each unsafe block is one call with its arguments checked.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use socket2::{Domain, Protocol, Socket, Type};

/// Capability numbers (linux/capability.h).
pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_NET_RAW: u32 = 13;
pub const CAP_SYS_ADMIN: u32 = 21;

/// The capability name a learner would type in `setcap`.
pub fn cap_name(cap: u32) -> &'static str {
    match cap {
        CAP_NET_ADMIN => "cap_net_admin",
        CAP_NET_RAW => "cap_net_raw",
        CAP_SYS_ADMIN => "cap_sys_admin",
        _ => "?",
    }
}

/// A line of `/proc/self/status`, such as `CapEff` or `Threads`.
fn status_field(name: &str) -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(|v| v.trim().to_string())
    })
}

/// Does this process hold the capability (effective set) in its user namespace?
pub fn has_cap(cap: u32) -> bool {
    status_field("CapEff")
        .and_then(|hex| u64::from_str_radix(&hex, 16).ok())
        .is_some_and(|set| set & (1 << cap) != 0)
}

/// How many threads this process has. A user namespace can only be entered by a process with
/// one thread (`unshare(2)`: EINVAL otherwise).
pub fn thread_count() -> Option<usize> {
    status_field("Threads").and_then(|v| v.parse().ok())
}

/// How the process got its private network namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Netns {
    /// A new network namespace only: the process already had CAP_SYS_ADMIN (root, or
    /// already inside a user namespace such as `unshare -Ur` or the lab).
    NetOnly,
    /// A new user namespace (uid and gid mapped to 0) and a new network namespace in it, as
    /// `unshare -Urn` does.
    UserAndNet { uid: u32, gid: u32 },
}

/// Why no private network namespace could be made.
#[derive(Debug)]
pub struct NetnsError {
    pub message: String,
}

impl std::fmt::Display for NetnsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for NetnsError {}

/// Move this process into a fresh network namespace of its own, with a user namespace around
/// it when the process lacks CAP_SYS_ADMIN, exactly as `unshare -Urn` does. Must run before
/// any thread starts (the tokio runtime included).
///
/// The lab module (`source::lab`) will replace this function: it builds the two-host lab the
/// same way and the demo will run inside it.
pub fn enter_private_netns() -> Result<Netns, NetnsError> {
    if let Some(n) = thread_count()
        && n > 1
    {
        return Err(NetnsError {
            message: format!(
                "this process already runs {n} threads; a user namespace can only be entered \
                 by a single-threaded process (unshare(2) returns EINVAL)"
            ),
        });
    }
    // With CAP_SYS_ADMIN (root, or root inside a user namespace) a network namespace alone
    // is enough.
    if has_cap(CAP_SYS_ADMIN) {
        // SAFETY: unshare takes a flag word and touches no memory of ours.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } == 0 {
            return Ok(Netns::NetOnly);
        }
    }
    // SAFETY: getuid and getgid cannot fail and touch no memory.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    // SAFETY: as above; the process is single-threaded (checked).
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) } != 0 {
        let err = io::Error::last_os_error();
        return Err(NetnsError {
            message: why_no_userns(&err),
        });
    }
    // Map our own uid and gid to root inside. A process may write its own single-line map
    // after denying setgroups (user_namespaces(7)).
    let write = |path: &str, text: String| {
        std::fs::write(path, text).map_err(|e| NetnsError {
            message: format!("the user namespace was created but writing {path} failed: {e}"),
        })
    };
    write("/proc/self/setgroups", "deny".into())?;
    write("/proc/self/uid_map", format!("0 {uid} 1"))?;
    write("/proc/self/gid_map", format!("0 {gid} 1"))?;
    Ok(Netns::UserAndNet { uid, gid })
}

fn read_sysctl(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Explain why `unshare(CLONE_NEWUSER | CLONE_NEWNET)` failed, naming the settings to look at.
fn why_no_userns(err: &io::Error) -> String {
    explain_no_userns(err, &read_sysctl)
}

/// The explanation, with the settings read through `read` (so it can be tested).
pub fn explain_no_userns(err: &io::Error, read: &dyn Fn(&str) -> Option<String>) -> String {
    let read_sysctl = read;
    let mut reasons = Vec::new();
    if read_sysctl("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        reasons.push(
            "user.max_user_namespaces is 0, so no user namespaces may be created \
             (sudo sysctl -w user.max_user_namespaces=15000)"
                .to_string(),
        );
    }
    if read_sysctl("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        reasons.push(
            "kernel.unprivileged_userns_clone is 0 (a Debian/Ubuntu setting that forbids user \
             namespaces to ordinary users; sudo sysctl -w kernel.unprivileged_userns_clone=1)"
                .to_string(),
        );
    }
    if read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1")
    {
        reasons.push(
            "kernel.apparmor_restrict_unprivileged_userns is 1 (Ubuntu 23.10 and later): \
             AppArmor lets only programs whose profile says `userns,` create user namespaces. \
             Either give wirelab such a profile, or, on a machine of your own, \
             sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"
                .to_string(),
        );
    }
    if reasons.is_empty() {
        reasons.push(
            "none of user.max_user_namespaces, kernel.unprivileged_userns_clone or \
             kernel.apparmor_restrict_unprivileged_userns forbids it, so a container's seccomp \
             filter or a security module probably does (Docker's default profile blocks \
             unshare; `unshare -Urn true` shows the same error)"
                .to_string(),
        );
    }
    format!(
        "cannot make a private network namespace: unshare(CLONE_NEWUSER | CLONE_NEWNET) failed: \
         {err}.\n  Why: {}.\n  The demo needs CAP_NET_ADMIN (for the TUN device and nftables) and \
         CAP_NET_RAW (for the raw socket and the capture) inside a network namespace of its own. \
         Without user namespaces, giving wirelab CAP_SYS_ADMIN lets it make that namespace \
         itself:\n    sudo setcap cap_sys_admin,cap_net_admin,cap_net_raw+ep $(command -v \
         wirelab)\n  With only `sudo setcap cap_net_raw,cap_net_admin+ep $(command -v wirelab)`, \
         `--rst-demo` shows its first half on the host's loopback (127.0.0.1); it never adds \
         devices or firewall rules to the host.",
        reasons.join(";\n    ")
    )
}

/// Write a kernel setting under /proc/sys/net. Network settings belong to the namespace of
/// the process that writes them, so this changes only the demo's own namespace.
pub fn write_sysctl(path: &str, value: &str) -> io::Result<()> {
    if !Path::new(path).exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{path} does not exist"),
        ));
    }
    std::fs::write(path, value)
}

/// The flags of a network interface (SIOCGIFFLAGS), through any socket.
fn if_flags(sock: &Socket, name: &str) -> io::Result<libc::ifreq> {
    let bytes = name.as_bytes();
    if bytes.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "interface name too long",
        ));
    }
    // SAFETY: ifreq is plain old data; all zeros is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads ifr_name and writes ifr_flags inside `req`, which lives for
    // the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(req)
}

/// Is the interface up?
pub fn link_is_up(name: &str) -> io::Result<bool> {
    let sock = Socket::new(Domain::IPV4, Type::DGRAM, None)?;
    let req = if_flags(&sock, name)?;
    // SAFETY: after SIOCGIFFLAGS the union holds the flags.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    Ok(flags as libc::c_int & libc::IFF_UP != 0)
}

/// Bring an interface up, as `ip link set NAME up` does. A new network namespace's loopback
/// starts down.
pub fn set_link_up(name: &str) -> io::Result<()> {
    let sock = Socket::new(Domain::IPV4, Type::DGRAM, None)?;
    let mut req = if_flags(&sock, name)?;
    // SAFETY: the union holds the flags after SIOCGIFFLAGS; we set one more bit.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads `req`, which lives for the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `PACKET_IGNORE_OUTGOING` (linux/if_packet.h; not in the libc crate): a packet socket with
/// this option set does not see packets leaving the host. On the loopback every packet leaves
/// and arrives, so without it each would be seen twice.
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;

/// A packet socket (AF_PACKET) that captures every frame arriving on one interface, each
/// once, with a read timeout. This is what tcpdump uses underneath.
pub fn capture_socket(ifname: &str, timeout: std::time::Duration) -> io::Result<Socket> {
    let all = (libc::ETH_P_ALL as u16).to_be() as i32;
    let sock = Socket::new(Domain::PACKET, Type::RAW, Some(Protocol::from(all)))?;
    let one: libc::c_int = 1;
    // SAFETY: the option value is a c_int that lives for the call; its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_PACKET,
            PACKET_IGNORE_OUTGOING,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let cname = std::ffi::CString::new(ifname)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "bad interface name"))?;
    // SAFETY: cname is a valid NUL-terminated string for the call.
    let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    if index == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: sockaddr_ll is plain old data; all zeros is valid.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = index as i32;
    // SAFETY: `sll` is a complete sockaddr_ll and its exact size is passed.
    let rc = unsafe {
        libc::bind(
            sock.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    sock.set_read_timeout(Some(timeout))?;
    Ok(sock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_userns_explanation_names_the_setting_and_the_capability() {
        let err = io::Error::from_raw_os_error(libc::EPERM);
        let apparmor = |p: &str| {
            (p == "/proc/sys/kernel/apparmor_restrict_unprivileged_userns").then(|| "1".into())
        };
        let text = explain_no_userns(&err, &apparmor);
        assert!(
            text.contains("kernel.apparmor_restrict_unprivileged_userns is 1"),
            "{text}"
        );
        assert!(
            text.contains("setcap cap_sys_admin,cap_net_admin,cap_net_raw+ep"),
            "{text}"
        );
        assert!(
            text.contains("CAP_NET_ADMIN") && text.contains("CAP_NET_RAW"),
            "{text}"
        );

        let debian =
            |p: &str| (p == "/proc/sys/kernel/unprivileged_userns_clone").then(|| "0".into());
        assert!(explain_no_userns(&err, &debian).contains("kernel.unprivileged_userns_clone is 0"));
        let zero = |p: &str| (p == "/proc/sys/user/max_user_namespaces").then(|| "0".into());
        assert!(explain_no_userns(&err, &zero).contains("user.max_user_namespaces is 0"));
        let none = |_: &str| None;
        assert!(explain_no_userns(&err, &none).contains("seccomp"));
    }

    #[test]
    fn capabilities_are_read_from_proc() {
        // Whatever this process holds, the answer is consistent with /proc/self/status.
        let eff = status_field("CapEff").expect("CapEff in /proc/self/status");
        let set = u64::from_str_radix(&eff, 16).unwrap();
        assert_eq!(has_cap(CAP_NET_RAW), set & (1 << CAP_NET_RAW) != 0);
        assert!(thread_count().unwrap() >= 1);
    }
}
