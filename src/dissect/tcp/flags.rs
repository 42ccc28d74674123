//! The control bits of a TCP header (RFC 9293 § 3.1, RFC 3168 for ECE and CWR, RFC 9768 for
//! AE): what a segment *does*, besides carrying bytes.
//!
//! ```text
//!   byte 12          byte 13
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |  Data |     |A|C|E|U|A|P|R|S|F|
//!  | Offset| Rsrv|E|W|C|R|C|S|S|Y|I|
//!  |       |     | |R|E|G|K|H|T|N|N|
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Five of them make a connection's life: SYN opens (and carries the initial sequence number),
//! ACK says the acknowledgment number is valid (set on every segment but the very first),
//! PSH asks the receiver to hand the data to its program now, FIN closes one direction, RST
//! aborts. URG marks urgent data (almost unused today); ECE, CWR and AE carry Explicit
//! Congestion Notification.
//!
//! [`Flags`] is the one definition of these bits in wirelab: the dissector, the stream
//! analysis, every view and the hand-made TCP of `tcp handshake --raw` use it, so a test such
//! as "is this a SYN without ACK?" reads the same everywhere: `f.syn() && !f.ack()`.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign};

/// The twelve flag bits of a TCP header (the low 12 bits of bytes 12–13), as a set.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(u16);

impl Flags {
    /// No more data from the sender: this direction is finished.
    pub const FIN: Flags = Flags(0x001);
    /// Synchronize sequence numbers: open a connection.
    pub const SYN: Flags = Flags(0x002);
    /// Reset: abort the connection (or: nobody listens on this port).
    pub const RST: Flags = Flags(0x004);
    /// Push: hand the data to the receiving program now.
    pub const PSH: Flags = Flags(0x008);
    /// The acknowledgment number is valid.
    pub const ACK: Flags = Flags(0x010);
    /// The urgent pointer is valid.
    pub const URG: Flags = Flags(0x020);
    /// ECN-Echo: a router marked congestion; slow down (RFC 3168).
    pub const ECE: Flags = Flags(0x040);
    /// Congestion window reduced: the sender did slow down (RFC 3168).
    pub const CWR: Flags = Flags(0x080);
    /// Accurate ECN (formerly the ECN nonce bit).
    pub const AE: Flags = Flags(0x100);
    /// The set with no flag in it.
    pub const NONE: Flags = Flags(0);

    /// The defined flags with their names, in the order Wireshark lists them, so that
    /// `[SYN, ACK]` and `[PSH, ACK]` read the same in both tools.
    pub const NAMED: [(Flags, &'static str); 9] = [
        (Flags::FIN, "FIN"),
        (Flags::SYN, "SYN"),
        (Flags::RST, "RST"),
        (Flags::PSH, "PSH"),
        (Flags::ACK, "ACK"),
        (Flags::URG, "URG"),
        (Flags::ECE, "ECE"),
        (Flags::CWR, "CWR"),
        (Flags::AE, "AE"),
    ];

    /// The flags from the header's bits (anything above the twelve flag bits is dropped).
    pub const fn from_bits(bits: u16) -> Flags {
        Flags(bits & 0x0fff)
    }

    /// The flags from the two bytes 12–13 of a TCP header, data offset included.
    pub const fn from_header_bytes(b12: u8, b13: u8) -> Flags {
        Flags::from_bits(u16::from_be_bytes([b12, b13]))
    }

    /// The bits, as they sit in the header (`tcp.flags` is `0x012` for SYN+ACK).
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Are all the flags of `other` set here?
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Is any flag of `other` set here?
    pub const fn intersects(self, other: Flags) -> bool {
        self.0 & other.0 != 0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub const fn fin(self) -> bool {
        self.intersects(Flags::FIN)
    }
    pub const fn syn(self) -> bool {
        self.intersects(Flags::SYN)
    }
    pub const fn rst(self) -> bool {
        self.intersects(Flags::RST)
    }
    pub const fn psh(self) -> bool {
        self.intersects(Flags::PSH)
    }
    pub const fn ack(self) -> bool {
        self.intersects(Flags::ACK)
    }

    /// A SYN without ACK: the first segment of a connection.
    pub const fn is_syn_only(self) -> bool {
        self.syn() && !self.ack()
    }

    /// A SYN with ACK: the answer to a SYN.
    pub const fn is_syn_ack(self) -> bool {
        self.syn() && self.ack()
    }

    /// How many sequence numbers the control flags take: a SYN and a FIN count one each.
    pub const fn seq_len(self) -> u32 {
        self.syn() as u32 + self.fin() as u32
    }

    /// The flags as words, `SYN, ACK` (or `none`), written into `out` without allocating.
    pub fn write_words(self, out: &mut String) {
        let mut first = true;
        for (f, name) in Flags::NAMED {
            if self.intersects(f) {
                if !first {
                    out.push_str(", ");
                }
                out.push_str(name);
                first = false;
            }
        }
        if first {
            out.push_str("none");
        }
    }

    /// The flags as words: `SYN, ACK`, or `none`.
    pub fn words(self) -> String {
        let mut s = String::new();
        self.write_words(&mut s);
        s
    }

    /// The flags the way tcpdump writes them: `S` SYN, `.` ACK, `P` push, `F` FIN, `R` RST,
    /// `U` urgent, `E` ECE, `W` CWR, `e` AE (`S.` is SYN+ACK), or `none`.
    pub fn short(self) -> String {
        let mut s = String::new();
        for (f, c) in [
            (Flags::SYN, 'S'),
            (Flags::FIN, 'F'),
            (Flags::RST, 'R'),
            (Flags::PSH, 'P'),
            (Flags::URG, 'U'),
            (Flags::ECE, 'E'),
            (Flags::CWR, 'W'),
            (Flags::AE, 'e'),
            (Flags::ACK, '.'),
        ] {
            if self.intersects(f) {
                s.push(c);
            }
        }
        if s.is_empty() {
            s.push_str("none");
        }
        s
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for Flags {
    type Output = Flags;
    fn bitand(self, rhs: Flags) -> Flags {
        Flags(self.0 & rhs.0)
    }
}

impl fmt::Display for Flags {
    /// `SYN, ACK`, as Wireshark's Info column writes them inside brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.words())
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags(0x{:03x} {})", self.0, self.words())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_in_wiresharks_order() {
        assert_eq!((Flags::SYN | Flags::ACK).words(), "SYN, ACK");
        assert_eq!((Flags::ACK | Flags::PSH).words(), "PSH, ACK");
        assert_eq!(Flags::from_bits(0x011).words(), "FIN, ACK");
        assert_eq!(Flags::NONE.words(), "none");
        assert_eq!(Flags::from_bits(0x1ff).words().split(", ").count(), 9);
    }

    #[test]
    fn short_is_tcpdumps() {
        assert_eq!(Flags::from_bits(0x012).short(), "S.");
        assert_eq!(Flags::from_bits(0x018).short(), "P.");
        assert_eq!(Flags::from_bits(0x004).short(), "R");
        assert_eq!(Flags::NONE.short(), "none");
    }

    #[test]
    fn from_header_bytes_drops_the_data_offset() {
        // Data offset 5 (0x50), flags SYN+ACK.
        let f = Flags::from_header_bytes(0x50, 0x12);
        assert_eq!(f.bits(), 0x012);
        assert!(f.is_syn_ack() && !f.is_syn_only());
        assert_eq!(f.seq_len(), 1);
        assert_eq!(Flags::from_header_bytes(0x51, 0x00), Flags::AE);
    }

    #[test]
    fn contains_needs_all_intersects_any() {
        let f = Flags::SYN | Flags::ACK;
        assert!(f.contains(Flags::SYN));
        assert!(!f.contains(Flags::SYN | Flags::FIN));
        assert!(f.intersects(Flags::SYN | Flags::FIN));
        assert_eq!((f & Flags::ACK), Flags::ACK);
    }
}
