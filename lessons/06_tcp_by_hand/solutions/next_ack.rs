//! Reference solution: the acknowledgment number, by hand.

/// The acknowledgment number that accepts this segment.
pub fn ack_for(seq: u32, len: u32, syn: bool, fin: bool) -> u32 {
    // SYN and FIN each occupy one sequence number; data occupies one per byte. The sum wraps
    // modulo 2^32, like the sequence numbers themselves (RFC 9293 § 3.4).
    seq.wrapping_add(len)
        .wrapping_add(u32::from(syn))
        .wrapping_add(u32::from(fin))
}
