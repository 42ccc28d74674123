//! What this machine can do: is the lab here, can wirelab capture here, can it make the
//! hand-made handshake here, and if not, why, in one sentence.
//!
//! # The idea
//!
//! Most of wirelab is the same on every operating system: the engine reads bytes, the views
//! print text, the lessons read files, and the demos' sockets on 127.0.0.1 are the sockets
//! every system has. A few parts use what only Linux has:
//!
//! * the **lab** ([`crate::source::lab`]): network namespaces, a user namespace and a veth
//!   pair, set up over rtnetlink;
//! * the **hand-made handshake** ([`crate::demos::handshake`]'s `tun`, `rst` and `sys`): a
//!   private network namespace with a TUN device and an nftables rule of its own;
//! * **live capture** through `AF_PACKET` ([`crate::source::live`]). macOS has its own way
//!   (BPF, the `/dev/bpf*` devices, through pnet), Windows needs Npcap.
//!
//! Where one of these is missing, the command that needs it says so in one sentence (this
//! module writes it) and does what works instead: the demos run their sockets on 127.0.0.1
//! and replay the lesson's recorded trace for the packets, as they do on a Linux machine that
//! forbids namespaces.
//!
//! # Trying the other systems' paths on Linux
//!
//! With the environment variable `WIRELAB_PORTABLE=1`, wirelab on Linux behaves as on a
//! system without the lab, without live capture and without the hand-made handshake (a Mac
//! whose user may not open `/dev/bpf*`, Windows without Npcap). The tests use it
//! (`tests/portable.rs`) so that the paths every Mac and Windows student takes keep working,
//! although the tests run on Linux.
//!
//! How the code is split between the systems is described in the crate's documentation
//! ([`crate`], "Portable code").

use std::fmt;

/// The environment variable that makes wirelab behave as where Linux's features are missing.
pub const PORTABLE_ENV: &str = "WIRELAB_PORTABLE";

/// The operating systems wirelab knows apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
    /// A BSD or another Unix: capture through BPF may work, the lab does not.
    OtherUnix,
}

impl Os {
    /// The system this wirelab was built for.
    pub const fn this() -> Os {
        if cfg!(target_os = "linux") {
            Os::Linux
        } else if cfg!(target_os = "macos") {
            Os::MacOs
        } else if cfg!(windows) {
            Os::Windows
        } else {
            Os::OtherUnix
        }
    }

    /// Where to run what needs Linux, said to a student of this system.
    fn linux_elsewhere(self) -> &'static str {
        match self {
            Os::MacOs => {
                "on a Mac run wirelab in a Linux VM (UTM, Multipass, OrbStack) or a privileged \
                 Linux container"
            }
            Os::Windows => "on Windows run wirelab inside WSL2 (`wsl --install`), a real Linux",
            Os::Linux | Os::OtherUnix => "run wirelab on Linux, or in a Linux VM",
        }
    }
}

/// The features that some systems lack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// The lab: two private hosts in network namespaces.
    Lab,
    /// Live capture on an interface.
    Capture,
    /// The hand-made TCP handshake (`tcp handshake`): a private namespace, a TUN device.
    RawHandshake,
}

impl Feature {
    /// What it is called, and (in brackets) what it needs where that is not obvious.
    fn name(self) -> &'static str {
        match self {
            Feature::Lab => "the lab",
            Feature::Capture => "live capture",
            Feature::RawHandshake => "the hand-made handshake",
        }
    }

    fn needs(self) -> &'static str {
        match self {
            Feature::Lab => " (Linux network namespaces)",
            Feature::Capture => "",
            Feature::RawHandshake => " (a private Linux network namespace with a TUN device)",
        }
    }
}

/// A feature that is not available here, and why: one sentence a student can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailable {
    pub feature: Feature,
    pub why: String,
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.why)
    }
}

impl std::error::Error for Unavailable {}

/// Is `WIRELAB_PORTABLE` set (to anything but empty or `0`)?
pub fn portable_mode() -> bool {
    std::env::var_os(PORTABLE_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Is the lab available on this system? (Whether this user may build it is found out by
/// trying: see [`crate::source::lab`].)
pub fn lab() -> Result<(), Unavailable> {
    check(
        Os::this(),
        portable_mode(),
        cfg!(feature = "npcap"),
        Feature::Lab,
    )
}

/// Can this build of wirelab capture on this system? (Whether this user may is found out when
/// the capture opens: [`crate::source::live::LiveCapture::open`].)
pub fn capture() -> Result<(), Unavailable> {
    check(
        Os::this(),
        portable_mode(),
        cfg!(feature = "npcap"),
        Feature::Capture,
    )
}

/// Can the hand-made handshake (`tcp handshake`) run on this system?
pub fn raw_handshake() -> Result<(), Unavailable> {
    check(
        Os::this(),
        portable_mode(),
        cfg!(feature = "npcap"),
        Feature::RawHandshake,
    )
}

/// The answer for any system: `portable` is `WIRELAB_PORTABLE`, `npcap` whether wirelab was
/// built with the `npcap` feature. A pure function, so every case can be tested on Linux.
pub fn check(os: Os, portable: bool, npcap: bool, feature: Feature) -> Result<(), Unavailable> {
    let no = |why: String| Err(Unavailable { feature, why });
    if portable {
        return no(format!(
            "{PORTABLE_ENV} is set, so wirelab acts as on macOS or Windows, without {}{}; unset \
             it to use {} again",
            feature.name(),
            feature.needs(),
            feature.name()
        ));
    }
    match (feature, os) {
        (_, Os::Linux) => Ok(()),
        (Feature::Lab, _) => no(format!(
            "the lab needs Linux network namespaces: {}",
            os.linux_elsewhere()
        )),
        (Feature::RawHandshake, _) => no(format!(
            "the hand-made handshake needs a private Linux network namespace with a TUN device \
             of its own: {}",
            os.linux_elsewhere()
        )),
        (Feature::Capture, Os::Windows) if !npcap => no(
            "live capture on Windows needs Npcap (https://npcap.com) and a wirelab built with \
             `cargo build --release --features npcap`, or wirelab inside WSL2"
                .to_string(),
        ),
        (Feature::Capture, _) => Ok(()),
    }
}

/// The loopback interface's name on this system, where 127.0.0.1 traffic can be captured.
pub const LOOPBACK: &str = if cfg!(target_os = "linux") {
    "lo"
} else if cfg!(windows) {
    // Npcap's loopback adapter.
    r"\Device\NPF_Loopback"
} else {
    "lo0"
};

/// The loopback interface's usual MTU on this system (Linux 65536, macOS and the BSDs 16384;
/// Windows has no MTU on loopback, and Npcap's adapter reports 65535).
pub const LOOPBACK_MTU: u32 = if cfg!(target_os = "linux") {
    65536
} else if cfg!(windows) {
    65535
} else {
    16384
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_has_everything() {
        for f in [Feature::Lab, Feature::Capture, Feature::RawHandshake] {
            assert_eq!(check(Os::Linux, false, false, f), Ok(()));
        }
    }

    #[test]
    fn the_switch_takes_everything_away_and_says_how_to_undo_it() {
        for f in [Feature::Lab, Feature::Capture, Feature::RawHandshake] {
            let e = check(Os::Linux, true, false, f).unwrap_err();
            assert!(e.why.starts_with("WIRELAB_PORTABLE is set"), "{e}");
            assert!(e.why.contains("unset it to use"), "{e}");
            assert!(!e.why.contains(". "), "one sentence: {e}");
            assert_eq!(e.feature, f);
        }
    }

    #[test]
    fn a_mac_captures_but_has_no_lab() {
        assert_eq!(check(Os::MacOs, false, false, Feature::Capture), Ok(()));
        let lab = check(Os::MacOs, false, false, Feature::Lab).unwrap_err();
        assert!(lab.why.contains("Linux network namespaces"), "{lab}");
        assert!(lab.why.contains("Linux VM"), "{lab}");
        let hs = check(Os::MacOs, false, false, Feature::RawHandshake).unwrap_err();
        assert!(hs.why.contains("TUN device"), "{hs}");
    }

    #[test]
    fn windows_captures_only_with_npcap_and_points_to_wsl2() {
        let e = check(Os::Windows, false, false, Feature::Capture).unwrap_err();
        assert!(
            e.why.contains("Npcap") && e.why.contains("--features npcap"),
            "{e}"
        );
        assert_eq!(check(Os::Windows, false, true, Feature::Capture), Ok(()));
        let lab = check(Os::Windows, false, true, Feature::Lab).unwrap_err();
        assert!(lab.why.contains("WSL2"), "{lab}");
    }

    #[test]
    fn each_reason_is_one_sentence() {
        for os in [Os::MacOs, Os::Windows, Os::OtherUnix] {
            for f in [Feature::Lab, Feature::Capture, Feature::RawHandshake] {
                if let Err(e) = check(os, false, false, f) {
                    assert!(!e.why.contains(". "), "one sentence: {e}");
                    assert!(
                        !e.why.ends_with('.'),
                        "no full stop, callers add their own: {e}"
                    );
                }
            }
        }
    }
}
