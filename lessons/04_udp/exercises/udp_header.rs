//! Exercise: read a UDP header.
//!
//! A UDP header is 8 bytes: four 16-bit numbers in network byte order (big-endian, most
//! significant byte first):
//!
//! ```text
//!  0      7 8     15 16    23 24    31
//! +--------+--------+--------+--------+
//! |   Source Port   | Destination Port|
//! +--------+--------+--------+--------+
//! |     Length      |    Checksum     |
//! +--------+--------+--------+--------+
//! ```
//!
//! Your job: complete `parse_udp` so that it reads those four fields from the start of `bytes`,
//! and returns `None` when fewer than 8 bytes are given (a parser must never read past the end).
//! `u16::from_be_bytes([hi, lo])` turns two bytes into a number.
//!
//! Check your work with `wirelab check 04_udp`; stuck? `wirelab hint udp_header`.

/// The four fields of a UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpHeader {
    pub src_port: u16,
    pub dst_port: u16,
    /// Length of header plus data, in bytes.
    pub length: u16,
    pub checksum: u16,
}

/// Read a UDP header from the start of `bytes`, or `None` if there are fewer than 8 bytes.
pub fn parse_udp(bytes: &[u8]) -> Option<UdpHeader> {
    // TODO: check the length, then read the four big-endian u16 fields.
    let _ = bytes;
    None
}
