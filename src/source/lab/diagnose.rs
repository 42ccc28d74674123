//! Why the lab could not be built on this machine, in words a learner can act on.
//!
//! Several switches decide whether an ordinary user may make a user namespace:
//!
//! * `kernel.apparmor_restrict_unprivileged_userns = 1` (Ubuntu 23.10 and later): the
//!   namespace is made, but AppArmor then refuses it every capability, so the first step that
//!   needs one (writing the uid map, making a network interface) fails with EPERM.
//! * `kernel.unprivileged_userns_clone = 0` (older Debian and Ubuntu kernels): `unshare`
//!   itself is refused with EPERM.
//! * `user.max_user_namespaces = 0` (or `user.max_net_namespaces = 0`): the limit is zero, and
//!   `unshare` fails with ENOSPC.
//! * A container's seccomp policy (Docker's default one) refuses `unshare` with EPERM.
//!
//! [`Facts`] reads those switches; [`explain`] turns a failed step and its error into a
//! paragraph naming the cause and what to do. It is a pure function so it can be tested.

use std::fs;

/// What this machine says about user namespaces. `None` where the file does not exist (the
/// switch is not part of this kernel).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    pub apparmor_restrict_unprivileged_userns: Option<u64>,
    pub unprivileged_userns_clone: Option<u64>,
    pub max_user_namespaces: Option<u64>,
    pub max_net_namespaces: Option<u64>,
    /// The `Seccomp:` line of /proc/self/status: 2 means a filter is installed.
    pub seccomp: Option<u64>,
    /// Running as root (user id 0) outside any namespace.
    pub root: bool,
}

impl Facts {
    /// Read the switches of the running kernel.
    pub fn read() -> Facts {
        let num = |path: &str| {
            fs::read_to_string(path)
                .ok()
                .and_then(|s| s.trim().parse().ok())
        };
        let seccomp = fs::read_to_string("/proc/self/status").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Seccomp:"))
                .and_then(|v| v.trim().parse().ok())
        });
        Facts {
            apparmor_restrict_unprivileged_userns: num(
                "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            ),
            unprivileged_userns_clone: num("/proc/sys/kernel/unprivileged_userns_clone"),
            max_user_namespaces: num("/proc/sys/user/max_user_namespaces"),
            max_net_namespaces: num("/proc/sys/user/max_net_namespaces"),
            seccomp,
            root: nix::unistd::geteuid().is_root(),
        }
    }
}

const FALLBACK: &str = "Meanwhile wirelab falls back to the host's loopback (127.0.0.1; capturing \
    there needs CAP_NET_RAW), or else replays the lesson's recorded trace.";

/// Explain why building the lab failed at `step` with OS error `errno`.
pub fn explain(step: &str, errno: Option<i32>, f: &Facts) -> String {
    let eperm = errno == Some(libc::EPERM) || errno == Some(libc::EACCES);
    let enospc = errno == Some(libc::ENOSPC);
    let mut why = if f.max_user_namespaces == Some(0) && !f.root {
        "User namespaces are switched off: user.max_user_namespaces is 0. To allow them: \
         `sudo sysctl -w user.max_user_namespaces=15000`."
            .to_string()
    } else if f.max_net_namespaces == Some(0) {
        "Network namespaces are switched off: user.max_net_namespaces is 0. To allow them: \
         `sudo sysctl -w user.max_net_namespaces=15000`."
            .to_string()
    } else if enospc {
        "The limit on user or network namespaces (user.max_user_namespaces, \
         user.max_net_namespaces) has been reached."
            .to_string()
    } else if eperm && f.apparmor_restrict_unprivileged_userns == Some(1) {
        "Ubuntu's AppArmor restriction is on (kernel.apparmor_restrict_unprivileged_userns = 1): \
         an unconfined program may make a user namespace but gets no capabilities in it. \
         Either allow wirelab with an AppArmor profile (/etc/apparmor.d/wirelab containing \
         `abi <abi/4.0>, include <tunables/global> profile wirelab /path/to/wirelab \
         flags=(unconfined) { userns, }`, then `sudo apparmor_parser -r \
         /etc/apparmor.d/wirelab`), or lift the restriction until the next reboot with \
         `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`."
            .to_string()
    } else if eperm && f.unprivileged_userns_clone == Some(0) {
        "This kernel forbids user namespaces to ordinary users \
         (kernel.unprivileged_userns_clone = 0). To allow them: \
         `sudo sysctl -w kernel.unprivileged_userns_clone=1`."
            .to_string()
    } else if eperm && f.seccomp == Some(2) {
        "A seccomp filter refuses the call, as container runtimes do by default (Docker's \
         profile blocks unshare). Run wirelab outside the container, or start the container \
         with a policy that allows namespaces (e.g. `--security-opt seccomp=unconfined`)."
            .to_string()
    } else if errno == Some(libc::EINVAL) {
        "The kernel refused the request as invalid: it may lack user or network namespace \
         support (CONFIG_USER_NS, CONFIG_NET_NS) or veth (CONFIG_VETH)."
            .to_string()
    } else if errno == Some(libc::EOPNOTSUPP) || errno == Some(libc::ENOENT) {
        format!(
            "The kernel lacks a feature the lab needs at this step ({step}): veth interfaces \
             (CONFIG_VETH) or namespaces."
        )
    } else if eperm {
        "The kernel refused the permission, and none of the usual switches \
         (apparmor_restrict_unprivileged_userns, unprivileged_userns_clone, \
         max_user_namespaces) explains it: a security module or sandbox is probably in the way."
            .to_string()
    } else {
        "This is not one of the usual reasons; please report it with the step and error above."
            .to_string()
    };
    why.push(' ');
    why.push_str(FALLBACK);
    why
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            max_user_namespaces: Some(15000),
            max_net_namespaces: Some(15000),
            ..Facts::default()
        }
    }

    #[test]
    fn explain_names_apparmor() {
        let f = Facts {
            apparmor_restrict_unprivileged_userns: Some(1),
            ..facts()
        };
        let s = explain("writing /proc/self/uid_map", Some(libc::EPERM), &f);
        assert!(
            s.contains("apparmor_restrict_unprivileged_userns = 1"),
            "{s}"
        );
        assert!(s.contains("AppArmor"));
    }

    #[test]
    fn explain_names_userns_clone() {
        let f = Facts {
            unprivileged_userns_clone: Some(0),
            ..facts()
        };
        let s = explain("unshare", Some(libc::EPERM), &f);
        assert!(s.contains("unprivileged_userns_clone = 0"), "{s}");
    }

    #[test]
    fn explain_names_max_user_namespaces() {
        let f = Facts {
            max_user_namespaces: Some(0),
            ..facts()
        };
        let s = explain("unshare", Some(libc::ENOSPC), &f);
        assert!(s.contains("max_user_namespaces is 0"), "{s}");
    }

    #[test]
    fn explain_names_seccomp() {
        let f = Facts {
            seccomp: Some(2),
            ..facts()
        };
        let s = explain("unshare", Some(libc::EPERM), &f);
        assert!(s.contains("seccomp"), "{s}");
    }

    #[test]
    fn explain_always_offers_the_fallbacks() {
        let s = explain("unshare", Some(libc::EIO), &facts());
        assert!(s.contains("loopback") && s.contains("replays"), "{s}");
    }
}
