//! Reference solution: read a UDP header.

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
    let b = bytes.get(..8)?; // `get` returns None instead of panicking when too short
    let word = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
    Some(UdpHeader {
        src_port: word(0),
        dst_port: word(2),
        length: word(4),
        checksum: word(6),
    })
}
