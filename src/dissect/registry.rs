//! The protocol registry: a protocol is one file plus one line.
//!
//! # The idea
//!
//! Everything wirelab knows about a protocol that is not its dissecting code is a handful of
//! facts: its name, where it sits on the OSI and TCP/IP models (and why), how a packet is
//! recognised as carrying it (a UDP port, a TCP port, an EtherType, or a look at the first
//! bytes), the fields it can produce (each with Wireshark's name and a sentence for a learner),
//! which glossary term explains it and which colour the views give it. A protocol file writes
//! those facts down once, as one [`Protocol`] value named `PROTOCOL`, next to its field table
//! and its dissector. This module lists the files, and everything else reads the list:
//!
//! ```text
//!  src/dissect/dhcp.rs ── PROTOCOL ─┐
//!  src/dissect/tls.rs  ── PROTOCOL ─┤   protocols! { dhcp, tls }   (src/dissect/mod.rs)
//!                                   ▼
//!                              REGISTERED ──> dispatch (port, EtherType, IP protocol, heuristic)
//!                                         ──> Proto::Reg: name, filter name, OSI/TCP-IP place
//!                                         ──> filter field names and their kinds
//!                                         ──> describe() for the summary and layer headings
//!                                         ──> colours of the views, `wirelab layers`,
//!                                             `wirelab define` (term, fields, explanations)
//! ```
//!
//! So adding a protocol is: write `src/dissect/<name>.rs` with `pub static PROTOCOL`, and add
//! its name to the `protocols!` list in `src/dissect/mod.rs`. `tests/registry.rs` fails if a
//! file in this folder is neither registered nor one of the engine's own files, and if a
//! registered protocol lacks a piece (a field table, a learner's explanation for each field,
//! a placement with its reason, a glossary term that exists, a way to be recognised).
//!
//! The protocols written before the registry (Ethernet to WebSocket) are variants of
//! [`Proto`] and are dispatched by `dissect::step` directly; they are listed in
//! [`BUILT_IN`] so the test knows them.

use std::fmt;
use std::hash::{Hash, Hasher};

use super::cx::{Cx, Next};
use super::fields::FieldDef;
use super::model::{Dissection, Layer, Osi, Proto, TcpIp};

/// What the rest of wirelab needs to know about one protocol, declared in its own file.
pub struct Protocol {
    /// The short name: the prefix of its fields (`dhcp` in `dhcp.option.dhcp`) and its name in
    /// a display filter, as Wireshark spells both.
    pub short: &'static str,
    /// The name a person says ("DHCP").
    pub name: &'static str,
    /// Its place on the OSI model.
    pub osi: Osi,
    /// Its place on the TCP/IP model.
    pub tcpip: TcpIp,
    /// Why it sits there, for a learner (placements are partly convention; say which).
    pub placement: &'static str,
    /// What the protocol is for, in two or three sentences for a learner.
    pub about: &'static str,
    /// The glossary term that explains it (`wirelab define TERM`).
    pub term: &'static str,
    /// The colour of its layer in every view.
    pub colour: colored::Color,
    /// How a packet is recognised as carrying it.
    pub recognise: &'static [Hook],
    /// Every field it can produce, in tables that read like the RFC's diagrams. The filter
    /// knows these names and their kinds; `wirelab define` shows their explanations.
    pub fields: &'static [&'static [FieldDef]],
    /// Read its header at `at` (its bytes end at `end`), as every dissector does.
    pub dissect: fn(&mut Cx, usize, usize) -> Next,
    /// One line about one of its layers, like tshark's Info column.
    pub describe: fn(&Dissection, &Layer) -> String,
}

/// How the engine recognises a protocol in the bytes that follow a header.
#[derive(Clone, Copy)]
pub enum Hook {
    /// UDP datagrams from or to this port.
    UdpPort(u16),
    /// TCP segments from or to this port whose payload passes `looks`.
    TcpPort { port: u16, looks: fn(&[u8]) -> bool },
    /// TCP segments on any port whose payload passes `looks` (a heuristic, as Wireshark's
    /// "try heuristic sub-dissectors" does: it must be strict, or it claims other bytes).
    TcpHeuristic(fn(&[u8]) -> bool),
    /// Frames whose EtherType is this.
    EtherType(u16),
    /// IP packets whose protocol (IPv4) or next header (IPv6) is this.
    IpProto(u8),
}

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hook::UdpPort(p) => write!(f, "UDP port {p}"),
            Hook::TcpPort { port, .. } => write!(f, "TCP port {port}"),
            Hook::TcpHeuristic(_) => f.write_str("TCP payload heuristic"),
            Hook::EtherType(t) => write!(f, "EtherType {t:#06x}"),
            Hook::IpProto(p) => write!(f, "IP protocol {p}"),
        }
    }
}

impl Hook {
    /// How this hook is said to a learner: "UDP port 67".
    pub fn describe(&self) -> String {
        format!("{self:?}")
    }
}

/// A registered protocol inside a [`Proto`]: a reference to its [`Protocol`], compared and
/// hashed by its short name (each registered name is different; `tests/registry.rs`).
#[derive(Clone, Copy)]
pub struct Reg(pub &'static Protocol);

impl PartialEq for Reg {
    fn eq(&self, other: &Reg) -> bool {
        std::ptr::eq(self.0, other.0) || self.0.short == other.0.short
    }
}

impl Eq for Reg {}

impl Hash for Reg {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.short.hash(h)
    }
}

impl fmt::Debug for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl serde::Serialize for Reg {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.short)
    }
}

/// Files of this folder that are the engine itself, not a protocol.
pub const ENGINE: &[&str] = &["mod", "cx", "fields", "model", "checksum", "registry"];

/// Files of the protocols written before the registry: variants of [`Proto`], dispatched by
/// `dissect::step` by hand.
pub const BUILT_IN: &[&str] = &[
    "arp",
    "data",
    "dns",
    "engineio",
    "ethernet",
    "frame",
    "http",
    "icmp",
    "icmpv6",
    "ip",
    "ipv4",
    "ipv6",
    "llc",
    "null",
    "sll",
    "socketio",
    "tcp",
    "udp",
    "vlan",
    "websocket",
];

/// Every registered protocol.
pub fn all() -> impl Iterator<Item = &'static Protocol> {
    super::REGISTERED.iter().copied()
}

/// A registered protocol by its short name (`dhcp`).
pub fn by_short(short: &str) -> Option<&'static Protocol> {
    all().find(|p| p.short == short)
}

/// The registered protocol a UDP or TCP payload between these ports carries, if any.
#[inline]
pub fn by_ports(transport: Proto, src: u16, dst: u16, payload: &[u8]) -> Option<&'static Protocol> {
    all().find(|p| {
        p.recognise.iter().any(|h| match (*h, transport) {
            (Hook::UdpPort(n), Proto::Udp) => src == n || dst == n,
            (Hook::TcpPort { port, looks }, Proto::Tcp) => {
                (src == port || dst == port) && looks(payload)
            }
            (Hook::TcpHeuristic(looks), Proto::Tcp) => looks(payload),
            _ => false,
        })
    })
}

/// The registered protocol an EtherType names, if any.
pub fn by_ethertype(ty: u16) -> Option<&'static Protocol> {
    all().find(|p| {
        p.recognise
            .iter()
            .any(|h| matches!(*h, Hook::EtherType(t) if t == ty))
    })
}

/// The registered protocol an IP protocol number names, if any.
pub fn by_ip_proto(n: u8) -> Option<&'static Protocol> {
    all().find(|p| {
        p.recognise
            .iter()
            .any(|h| matches!(*h, Hook::IpProto(t) if t == n))
    })
}

/// Every field a registered protocol can produce.
pub fn fields() -> impl Iterator<Item = &'static FieldDef> {
    all().flat_map(|p| p.fields.iter().flat_map(|t| t.iter()))
}

/// The field definition of a registered protocol's field, by its Wireshark name.
pub fn field(name: &str) -> Option<&'static FieldDef> {
    fields().find(|f| f.name == name)
}

/// Declare the registered protocol modules and list them: one line per protocol. Used once,
/// in `src/dissect/mod.rs`.
macro_rules! protocols {
    ($($module:ident),* $(,)?) => {
        $(pub mod $module;)*
        /// Every protocol declared in a file of its own ([`registry`]), in registration order.
        pub static REGISTERED: &[&registry::Protocol] = &[$(&$module::PROTOCOL),*];
        /// The files (module names) of the registered protocols.
        pub const REGISTERED_FILES: &[&str] = &[$(stringify!($module)),*];
    };
}
pub(crate) use protocols;
