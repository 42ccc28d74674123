//! What the stream analysis adds to a segment: the numbers that need the segments before it.
//!
//! A TCP header alone says "sequence number 3489036042, window 63". Only a reader who saw the
//! connection start can say "that is byte 1 of this side's stream" (the *relative* sequence
//! number, counted from the initial sequence number in the SYN) and "63 means 64 512 bytes"
//! (the window field multiplied by 2^shift, the *window scale* each side announced in its
//! SYN, RFC 7323). The stream tracker ([`crate::stream`]) works these out and writes them into
//! the segment's typed view as a [`TcpAnalysis`], so every view shows the same numbers, the
//! same ones Wireshark shows (`tcp.seq`, `tcp.ack`, `tcp.window_size`).
//!
//! It is defined here, beside the header it describes, because the [`Dissection`] carries it;
//! the rules that fill it in live in [`crate::stream::tcp`].
//!
//! [`Dissection`]: crate::dissect::model::Dissection

/// The window scale that applies to a segment's window field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WindowScale {
    /// The segment is a SYN: its window is never scaled (RFC 7323 § 2.2).
    #[default]
    Syn,
    /// Both SYNs carried the option: windows from this side are multiplied by 2^shift.
    Shift(u8),
    /// A SYN without the option was seen: no scaling on this connection.
    NotUsed,
    /// No SYN was captured, so the scale cannot be known: the window is shown as written.
    Unknown,
}

impl WindowScale {
    /// Wireshark's `tcp.window_size_scalefactor`: 2^shift, -1 unknown, -2 not used; `None`
    /// for a SYN, where tshark shows no scale factor.
    pub fn factor(self) -> Option<i32> {
        match self {
            WindowScale::Syn => None,
            WindowScale::Shift(s) => Some(1 << s.min(14)),
            WindowScale::NotUsed => Some(-2),
            WindowScale::Unknown => Some(-1),
        }
    }

    /// The inverse of [`WindowScale::factor`].
    pub fn from_factor(f: Option<i32>) -> WindowScale {
        match f {
            None => WindowScale::Syn,
            Some(-1) => WindowScale::Unknown,
            Some(f) if f > 0 => WindowScale::Shift(f.trailing_zeros() as u8),
            Some(_) => WindowScale::NotUsed,
        }
    }
}

/// The analysis of one segment, as the views read it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpAnalysis {
    /// `tcp.stream`: which connection, numbered from 0 in order of first appearance.
    pub stream: u32,
    /// `tcp.seq`: counted from the sender's initial sequence number when `relative`, else as
    /// written.
    pub seq: u32,
    /// `tcp.ack`: counted from the receiver's initial sequence number when `relative` and ACK
    /// is set, else as written.
    pub ack: u32,
    /// The numbers are relative: the segment's length was known, so it could be placed in
    /// its connection (not for the copy an ICMP error quotes, nor for an IP fragment).
    pub relative: bool,
    /// `tcp.nxtseq`: the relative sequence number after this segment.
    pub nxtseq: Option<u32>,
    /// `tcp.window_size`: the window in bytes, scaled where the scale is known.
    pub window: u32,
    pub scale: WindowScale,
    /// What the SEQ/ACK analysis noticed ([`flag`] bits); 0 where only the numbers were
    /// worked out (the lean summary).
    pub flags: u32,
}

impl TcpAnalysis {
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    /// What the analysis noticed, in words, most important first (a fast or spurious
    /// retransmission is not listed again as a plain one).
    pub fn marks(&self) -> impl Iterator<Item = &'static str> + '_ {
        let plain_too = self.has(flag::FAST_RETRANSMISSION | flag::SPURIOUS_RETRANSMISSION);
        MARKS.iter().filter_map(move |&(bit, word)| {
            let skip = bit == flag::RETRANSMISSION && plain_too;
            (self.has(bit) && !skip).then_some(word)
        })
    }
}

/// The analysis flags, one bit each (Wireshark's `TCP_A_*`).
pub mod flag {
    pub const RETRANSMISSION: u32 = 0x0001;
    pub const LOST_PACKET: u32 = 0x0002;
    pub const ACK_LOST_PACKET: u32 = 0x0004;
    pub const KEEP_ALIVE: u32 = 0x0008;
    pub const DUPLICATE_ACK: u32 = 0x0010;
    pub const ZERO_WINDOW: u32 = 0x0020;
    pub const ZERO_WINDOW_PROBE: u32 = 0x0040;
    pub const ZERO_WINDOW_PROBE_ACK: u32 = 0x0080;
    pub const KEEP_ALIVE_ACK: u32 = 0x0100;
    pub const OUT_OF_ORDER: u32 = 0x0200;
    pub const FAST_RETRANSMISSION: u32 = 0x0400;
    pub const WINDOW_UPDATE: u32 = 0x0800;
    pub const WINDOW_FULL: u32 = 0x1000;
    pub const REUSED_PORTS: u32 = 0x2000;
    pub const SPURIOUS_RETRANSMISSION: u32 = 0x4000;
    /// Any kind of retransmission.
    pub const ANY_RETRANSMISSION: u32 =
        RETRANSMISSION | FAST_RETRANSMISSION | SPURIOUS_RETRANSMISSION;
}

/// The flags in a few words each, in the order the ladders list them.
pub const MARKS: [(u32, &str); 15] = [
    (flag::REUSED_PORTS, "ports reused"),
    (flag::FAST_RETRANSMISSION, "fast retransmission"),
    (flag::SPURIOUS_RETRANSMISSION, "spurious retransmission"),
    (flag::RETRANSMISSION, "retransmission"),
    (flag::OUT_OF_ORDER, "out of order"),
    (flag::LOST_PACKET, "previous segment not captured"),
    (flag::ACK_LOST_PACKET, "ACKs unseen data"),
    (flag::DUPLICATE_ACK, "dup ACK"),
    (flag::ZERO_WINDOW_PROBE, "zero window probe"),
    (flag::ZERO_WINDOW_PROBE_ACK, "zero window probe ACK"),
    (flag::ZERO_WINDOW, "zero window"),
    (flag::WINDOW_UPDATE, "window update"),
    (flag::WINDOW_FULL, "window full"),
    (flag::KEEP_ALIVE, "keep-alive"),
    (flag::KEEP_ALIVE_ACK, "keep-alive ACK"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_round_trips() {
        for s in [
            WindowScale::Syn,
            WindowScale::Shift(0),
            WindowScale::Shift(7),
            WindowScale::Shift(14),
            WindowScale::NotUsed,
            WindowScale::Unknown,
        ] {
            assert_eq!(WindowScale::from_factor(s.factor()), s);
        }
    }

    #[test]
    fn marks_do_not_repeat_a_retransmission() {
        let a = TcpAnalysis {
            flags: flag::FAST_RETRANSMISSION | flag::RETRANSMISSION | flag::DUPLICATE_ACK,
            ..TcpAnalysis::default()
        };
        let words: Vec<&str> = a.marks().collect();
        assert_eq!(words, ["fast retransmission", "dup ACK"]);
    }
}
