//! Exercise: place protocols on the two layer models.
//!
//! Every header in a packet belongs to one layer of the OSI model (numbered 1 to 7) and to one
//! layer of the TCP/IP model ("Link", "Internet", "Transport" or "Application"). Run
//! `wirelab layers` to see both models side by side.
//!
//! Your job: complete `place` so that for each protocol name below it returns its OSI layer
//! number and its TCP/IP layer name, as wirelab places them, and `None` for a name it does not
//! know:
//!
//! `eth` (Ethernet), `arp`, `ip` (IPv4), `ipv6`, `icmp`, `tcp`, `udp`, `dns`, `http`,
//! `websocket`.
//!
//! One of them sits in different places in the two models: `wirelab define arp` says why.
//!
//! Check your work with `wirelab check 01_packets`; stuck? `wirelab hint place_protocol`.

/// The OSI layer number (1–7) and TCP/IP layer name of a protocol, by its short name.
pub fn place(protocol: &str) -> Option<(u8, &'static str)> {
    // TODO: one match arm per protocol, e.g. "tcp" => Some((4, "Transport")).
    let _ = protocol;
    None
}
