//! Exercise: the acknowledgment number, by hand.
//!
//! When a TCP end accepts a segment, it answers with an acknowledgment number: the sequence
//! number of the next byte it expects. That is the segment's sequence number plus everything
//! the segment used up in the sequence space:
//!
//! * one number per byte of data;
//! * one more for a SYN (it "takes" one number, so that it can be acknowledged);
//! * one more for a FIN (same reason).
//!
//! Sequence numbers are 32 bits and **wrap around**: after 4294967295 comes 0. Rust's
//! `u32::wrapping_add` does exactly that arithmetic.
//!
//! Your job: complete `ack_for` so that it returns the acknowledgment number that accepts a
//! segment with sequence number `seq`, `len` bytes of data, and the SYN and FIN flags given.
//! For a SYN with seq 1000 and no data it is 1001; for 300 bytes of data at 4294967200 it is 204.
//!
//! Check your work with `wirelab check 06_tcp_by_hand`; stuck? `wirelab hint next_ack`.

/// The acknowledgment number that accepts this segment.
pub fn ack_for(seq: u32, len: u32, syn: bool, fin: bool) -> u32 {
    // TODO: add the data length, plus one for a SYN and one for a FIN, wrapping at 2^32.
    let _ = (len, syn, fin);
    seq
}
