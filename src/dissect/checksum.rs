//! The Internet checksum (RFC 1071), used by IPv4, ICMP, TCP and UDP.
//!
//! # The idea
//!
//! The sender adds up the header (and for TCP and UDP also the data) as 16-bit numbers, using
//! *one's-complement* addition: whenever a sum carries out of 16 bits, the carry is added back
//! in at the bottom. It writes the bitwise NOT of that sum into the checksum field. The receiver
//! adds up the same bytes, checksum field included; if nothing changed on the way, the total is
//! 0xFFFF (all ones), because a number plus its NOT is all ones.
//!
//! It is cheap to compute and catches any single flipped bit, but it is not a security check:
//! anyone who changes the bytes can fix the checksum too.
//!
//! TCP and UDP also cover a *pseudo-header*: the source and destination IP addresses, the
//! protocol number and the segment length, none of which are in the TCP or UDP header itself.
//! That way a segment delivered to the wrong address fails its checksum.
//!
//! ```
//! use wirelab::dissect::checksum::internet_checksum;
//! // An IPv4 header with its checksum field (bytes 10–11) set to zero…
//! let mut hdr = [0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
//!                0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7];
//! let sum = internet_checksum(&[&hdr]);
//! assert_eq!(sum, 0xb861);
//! // …and with it filled in, the receiver's sum over the whole header comes out as zero.
//! hdr[10..12].copy_from_slice(&sum.to_be_bytes());
//! assert_eq!(internet_checksum(&[&hdr]), 0);
//! ```

use super::cx::IpPair;

/// One's-complement sum of the parts (as if they were one run of bytes), folded to 16 bits.
pub fn ones_complement_sum(parts: &[&[u8]]) -> u16 {
    let mut sum: u64 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        let mut bytes = *part;
        // A part that starts after an odd number of bytes pairs its first byte with the last
        // byte of the previous part.
        if let Some(hi) = odd.take() {
            if let Some((&lo, rest)) = bytes.split_first() {
                sum += u16::from_be_bytes([hi, lo]) as u64;
                bytes = rest;
            } else {
                odd = Some(hi);
                continue;
            }
        }
        // Eight bytes at a time, as two 32-bit numbers: a 32-bit number is its high 16 bits
        // times 0x10000 plus its low 16 bits, and 0x10000 counts as 1 once the sum is folded
        // (one's-complement addition works modulo 0xffff), so adding the two halves is adding
        // the four 16-bit words. The fold below gives the same 16 bits either way.
        let mut wide = bytes.chunks_exact(8);
        for c in &mut wide {
            let w = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            sum += (w >> 32) + (w & 0xffff_ffff);
        }
        let mut chunks = wide.remainder().chunks_exact(2);
        for c in &mut chunks {
            sum += u16::from_be_bytes([c[0], c[1]]) as u64;
        }
        if let [last] = chunks.remainder() {
            odd = Some(*last);
        }
    }
    if let Some(hi) = odd {
        // An odd byte at the very end is padded with a zero byte.
        sum += (hi as u64) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The checksum to write into a header: the NOT of the one's-complement sum. Computed over
/// bytes that include a correct checksum, it is 0.
pub fn internet_checksum(parts: &[&[u8]]) -> u16 {
    !ones_complement_sum(parts)
}

/// The TCP or UDP checksum over the pseudo-header and `segment` (header and data, with the
/// checksum field as it is in the segment). 0 means the stored checksum is right.
pub fn transport_checksum(ip: &IpPair, protocol: u8, segment: &[u8]) -> u16 {
    let len = segment.len() as u32;
    match ip {
        IpPair::V4 { src, dst } => {
            let pseudo = [0, protocol, (len >> 8) as u8, len as u8];
            internet_checksum(&[src, dst, &pseudo, segment])
        }
        IpPair::V6 { src, dst } => {
            let pseudo = [
                (len >> 24) as u8,
                (len >> 16) as u8,
                (len >> 8) as u8,
                len as u8,
                0,
                0,
                0,
                protocol,
            ];
            internet_checksum(&[src, dst, &pseudo, segment])
        }
    }
}

/// Is `stored`, a TCP or UDP checksum that does not add up, the value a sending host leaves
/// for its network card to finish (*checksum offload*)?
///
/// With offload, the operating system does not compute the checksum itself: it writes the
/// one's-complement sum of the pseudo-header alone into the field (Linux's `CHECKSUM_PARTIAL`)
/// and the card adds the segment's bytes as it sends them. A capture on the sending host sees
/// the packet before the card does, so it sees exactly that placeholder. (The loopback device
/// never finishes it: nothing there can be corrupted.) A checksum that is wrong in any other
/// way is really wrong.
pub fn is_offload_placeholder(ip: &IpPair, protocol: u8, segment_len: usize, stored: u16) -> bool {
    let len = segment_len as u32;
    let sum = match ip {
        IpPair::V4 { src, dst } => {
            let pseudo = [0, protocol, (len >> 8) as u8, len as u8];
            ones_complement_sum(&[src, dst, &pseudo])
        }
        IpPair::V6 { src, dst } => {
            let l = len.to_be_bytes();
            let pseudo = [l[0], l[1], l[2], l[3], 0, 0, 0, protocol];
            ones_complement_sum(&[src, dst, &pseudo])
        }
    };
    stored == sum
}

/// What the layer tree says after a checksum the sending host left for its network card.
pub const OFFLOAD_MEANING: &str = "not yet computed (checksum offload): the capture saw the packet on the sending host, before the network card filled the checksum in; the field holds only the pseudo-header's sum";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_lengths_and_split_parts_agree() {
        let bytes = [1u8, 2, 3, 4, 5, 6, 7];
        let whole = ones_complement_sum(&[&bytes]);
        let split = ones_complement_sum(&[&bytes[..3], &bytes[3..4], &[], &bytes[4..]]);
        assert_eq!(whole, split);
    }

    /// The sum two bytes at a time, as RFC 1071 writes it: what the faster loop must equal.
    fn by_words(bytes: &[u8]) -> u16 {
        let mut sum: u64 = 0;
        for c in bytes.chunks(2) {
            sum += u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]) as u64;
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    proptest::proptest! {
        #[test]
        fn eight_bytes_at_a_time_equals_two(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            cut in 0usize..200,
        ) {
            proptest::prop_assert_eq!(ones_complement_sum(&[&bytes]), by_words(&bytes));
            let cut = cut.min(bytes.len());
            let (a, b) = bytes.split_at(cut);
            proptest::prop_assert_eq!(ones_complement_sum(&[a, b]), by_words(&bytes));
        }
    }

    #[test]
    fn all_ones_and_zeros() {
        for n in [0, 1, 2, 7, 8, 9, 16, 1500, 65535] {
            assert_eq!(
                ones_complement_sum(&[&vec![0xff; n]]),
                by_words(&vec![0xff; n])
            );
            assert_eq!(ones_complement_sum(&[&vec![0; n]]), 0);
        }
    }

    #[test]
    fn carries_wrap_around() {
        // 0xffff + 0x0001 = 0x10000, which folds back to 0x0001.
        assert_eq!(ones_complement_sum(&[&[0xff, 0xff, 0x00, 0x01]]), 0x0001);
    }
}
