//! The face that Linux-only modules show on other systems: the same names, answering "not
//! here" with the reason from [`crate::source::platform`].
//!
//! Code that runs everywhere (the demos, `Stage::choose`, `wirelab capture`) names the lab's
//! types: a demo runs in a [`lab::Lab`] or on the loopback, a role is a [`lab::Host`]. On
//! Linux these come from [`crate::source::lab`]; elsewhere `crate::source::lab` *is*
//! [`lab`] below, whose `take()` always says why there is no lab, and whose [`lab::Lab`]
//! cannot be made at all (it holds an [`Infallible`]), so the compiler itself proves that no
//! lab-only branch runs there.
//!
//! This module is compiled on every system, Linux included, so that the Linux build (and its
//! tests) check it too; only elsewhere is it used in place of the real one.

use std::convert::Infallible;

pub mod lab {
    //! The lab where there are no Linux network namespaces: there is none, and
    //! [`take`] says why.

    use std::fmt;
    use std::io;
    use std::net::Ipv4Addr;

    use super::Infallible;
    use crate::source::platform::{self, Unavailable};

    /// The lab's network and addresses, as on Linux (see `source/lab/mod.rs`): the demos name
    /// them in branches that never run here.
    pub const PREFIX: u8 = 24;
    pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
    pub const CLIENT_MAC: [u8; 6] = [0x02, 0x77, 0x6c, 0, 0, 0x01];
    pub const SERVER_MAC: [u8; 6] = [0x02, 0x77, 0x6c, 0, 0, 0x02];
    pub const IFACE: &str = "eth0";

    /// The hosts and the plan of a lab are plain data, the same everywhere.
    pub use crate::source::topology::{Host, LabPlan, LinkSpec, Topology};

    /// A lab that cannot exist here: no value of this type can be made.
    pub struct Lab {
        never: Infallible,
    }

    impl Lab {
        /// Never called: there is no `Lab` to call it on.
        pub fn enter(&self, _host: Host) -> io::Result<()> {
            match self.never {}
        }

        /// Never called: there is no `Lab` to call it on.
        pub fn topology(&self) -> &Topology {
            match self.never {}
        }
    }

    /// Why there is no lab here.
    #[derive(Debug, Clone)]
    pub struct LabError(pub Unavailable);

    impl fmt::Display for LabError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{}", self.0)
        }
    }

    impl std::error::Error for LabError {}

    /// Nothing to prepare where there is no lab.
    pub fn prepare(_plan: &LabPlan) {}

    /// Always the reason there is no lab here.
    pub fn take() -> Result<Lab, LabError> {
        Err(LabError(platform::lab().err().unwrap_or_else(|| {
            Unavailable {
                feature: platform::Feature::Lab,
                why: "the lab needs Linux network namespaces: run wirelab on Linux".to_string(),
            }
        })))
    }

    /// Can this process capture on the host's own interfaces (BPF on macOS, Npcap on
    /// Windows)?
    pub fn host_can_capture() -> bool {
        crate::source::live::can_capture()
    }

    /// Never inside a lab host here.
    pub fn current_lab_interface() -> Option<String> {
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use crate::source::elsewhere::lab as here;
    use crate::source::lab as linux;

    /// The stand-in names the same network as the real lab.
    #[test]
    fn same_addresses_as_the_real_lab() {
        assert_eq!(here::CLIENT_IP, linux::CLIENT_IP);
        assert_eq!(here::SERVER_IP, linux::SERVER_IP);
        assert_eq!(here::CLIENT_MAC, linux::CLIENT_MAC);
        assert_eq!(here::SERVER_MAC, linux::SERVER_MAC);
        assert_eq!(here::IFACE, linux::IFACE);
        assert_eq!(here::PREFIX, linux::PREFIX);
        // The hosts are the one type of `source::topology` on every system; the cable's plan
        // (no routers) puts the same addresses on them as the constants above.
        let t = here::Topology::new(0, &[]).expect("the plain cable");
        assert_eq!(
            (t.client_ip(), t.server_ip()),
            (linux::CLIENT_IP, linux::SERVER_IP)
        );
    }

    /// Where there is no lab, taking it says why, in the words of `platform`.
    #[test]
    fn take_says_why() {
        let Err(e) = here::take() else {
            panic!("a lab was made where none can exist")
        };
        assert!(e.to_string().contains("Linux network namespaces"), "{e}");
        assert!(here::current_lab_interface().is_none());
    }
}
