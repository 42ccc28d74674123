//! Reference solution: cut an IPv4 packet into fragments, as a router does (RFC 791).

/// The IPv4 header without options, in bytes.
pub const HEADER: usize = 20;

/// The fragments of `data_len` bytes of IP data over a link of `mtu` bytes (at least 68, the
/// smallest MTU IPv4 allows).
pub fn fragment(data_len: usize, mtu: usize) -> Vec<(u16, usize, bool)> {
    if HEADER + data_len <= mtu {
        return vec![(0, data_len, false)];
    }
    // The most data one fragment carries: what fits after the header, down to a multiple of 8.
    let piece = (mtu - HEADER) / 8 * 8;
    let mut out = Vec::new();
    let mut at = 0;
    while at < data_len {
        let len = piece.min(data_len - at);
        let more = at + len < data_len;
        out.push(((at / 8) as u16, len, more));
        at += len;
    }
    out
}
