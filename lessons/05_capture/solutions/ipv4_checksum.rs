//! Reference solution: compute an IPv4 header checksum.

/// The checksum for an IPv4 header (bytes 10 and 11 are ignored: counted as zero).
pub fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for (i, pair) in header.chunks(2).enumerate() {
        if i == 5 {
            continue; // bytes 10 and 11: the checksum field itself
        }
        let hi = pair[0] as u32;
        let lo = pair.get(1).copied().unwrap_or(0) as u32;
        sum += (hi << 8) | lo;
    }
    // One's-complement addition: carries out of the top bit come back in at the bottom.
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
