//! Sequence numbers: counting bytes on a circle of 2³² numbers.
//!
//! # The idea
//!
//! TCP numbers every byte it sends (and the SYN and FIN, one number each) with a 32-bit
//! sequence number. A connection starts at a random *initial sequence number* (ISN), and a
//! long one wraps around from 4 294 967 295 back to 0, so ordinary comparison of the numbers
//! would say the byte after the wrap came *before* the byte just ahead of it.
//!
//! RFC 9293 § 3.4 therefore compares sequence numbers modulo 2³², and RFC 1982 ("serial
//! number arithmetic") says how: `a` is before `b` when going forward from `a` reaches `b` in
//! less than half the circle, that is when the 32-bit difference `b − a`, read as a signed
//! number, is positive.
//!
//! ```text
//!            0
//!        ·       ·            a = 4 294 967 290   (6 before the wrap)
//!     ·     b ◀─ a ·          b = 10
//!     ·           ·           b − a = 16 (mod 2³²): b is 16 numbers after a
//!        ·       ·
//!           2³¹
//! ```
//!
//! Two numbers exactly half the circle apart (2³¹) are neither before nor after each other:
//! RFC 1982 leaves that case undefined, and [`Seq`]'s comparisons answer `false` to both.
//! This also means `<` on sequence numbers is not an ordering of all numbers (a < b < c < a
//! can hold all the way round the circle): it only makes sense between numbers within 2³¹ of
//! each other, which is what a TCP window guarantees. Never sort by it.
//!
//! [`Seq`] is the one definition of this arithmetic in wirelab: the dissector's typed view,
//! the stream analysis, the reassembly and the hand-made TCP of `tcp handshake --raw` use it.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A TCP sequence (or acknowledgment) number, compared modulo 2³².
///
/// ```
/// use wirelab::dissect::tcp::Seq;
/// let isn = Seq(4_294_967_290);
/// let later = isn + 16; // wraps past 0
/// assert_eq!(later, Seq(10));
/// assert!(isn < later); // compared on the circle, not as plain numbers
/// assert_eq!(later.since(isn), 16); // the relative number of `later`
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Seq(pub u32);

impl Seq {
    /// The signed distance from `earlier` to `self` (positive when `self` is after it).
    pub const fn diff(self, earlier: Seq) -> i32 {
        self.0.wrapping_sub(earlier.0) as i32
    }

    /// How many numbers `self` is past `base`, going forward round the circle: the *relative*
    /// sequence number when `base` is the ISN (Wireshark's `tcp.seq`).
    pub const fn since(self, base: Seq) -> u32 {
        self.0.wrapping_sub(base.0)
    }

    /// The number `n` before this one.
    pub const fn back(self, n: u32) -> Seq {
        Seq(self.0.wrapping_sub(n))
    }

    /// `self` ≤ `x` < `end`: inside the half-open range that starts here (a window test,
    /// as RFC 9293 § 3.10.7.4 writes `RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND`).
    pub fn window_holds(self, end: Seq, x: Seq) -> bool {
        self <= x && x < end
    }
}

impl PartialOrd for Seq {
    /// Before, after or equal on the circle (RFC 1982 § 3.2); `None` for two numbers
    /// exactly 2³¹ apart, which are neither.
    fn partial_cmp(&self, other: &Seq) -> Option<Ordering> {
        match self.diff(*other) {
            0 => Some(Ordering::Equal),
            i32::MIN => None,
            d if d > 0 => Some(Ordering::Greater),
            _ => Some(Ordering::Less),
        }
    }
}

impl Add<u32> for Seq {
    type Output = Seq;
    fn add(self, n: u32) -> Seq {
        Seq(self.0.wrapping_add(n))
    }
}

impl AddAssign<u32> for Seq {
    fn add_assign(&mut self, n: u32) {
        self.0 = self.0.wrapping_add(n);
    }
}

impl Sub<u32> for Seq {
    type Output = Seq;
    fn sub(self, n: u32) -> Seq {
        self.back(n)
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seq({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_wrap() {
        assert!(Seq(5) > Seq(u32::MAX - 5));
        assert!(Seq(u32::MAX - 5) < Seq(5));
        assert!(Seq(7) <= Seq(7) && Seq(7) >= Seq(7));
        assert_eq!(Seq(7).partial_cmp(&Seq(7)), Some(Ordering::Equal));
        assert!(Seq(1) < Seq(2) && Seq(2) > Seq(1));
    }

    #[test]
    fn half_the_circle_apart_is_neither() {
        let (a, b) = (Seq(0), Seq(1 << 31));
        // Neither before nor after: every comparison is false.
        let all = [a < b, a > b, b < a, b > a, a <= b, a >= b];
        assert_eq!(all, [false; 6]);
        assert_eq!(a.partial_cmp(&b), None);
        assert_ne!(a, b);
    }

    #[test]
    fn offsets_and_relative_numbers() {
        let isn = Seq(u32::MAX - 9);
        assert_eq!(isn + 21, Seq(11));
        assert_eq!((isn + 21).since(isn), 21);
        assert_eq!(Seq(3) - 5, Seq(u32::MAX - 1));
        assert_eq!(Seq(3).diff(Seq(u32::MAX)), 4);
        assert_eq!(Seq(u32::MAX).diff(Seq(3)), -4);
        let mut s = Seq(u32::MAX);
        s += 2;
        assert_eq!(s, Seq(1));
    }

    #[test]
    fn window_holds_is_half_open() {
        let nxt = Seq(u32::MAX - 1);
        let end = nxt + 4;
        assert!(nxt.window_holds(end, nxt));
        assert!(nxt.window_holds(end, Seq(1)));
        assert!(!nxt.window_holds(end, end));
    }

    proptest::proptest! {
        /// Within half the circle, the wrapping comparison agrees with plain comparison of the
        /// distances from any common starting point.
        #[test]
        fn order_agrees_with_distance(base in proptest::prelude::any::<u32>(),
                                     a in 0u32..(1 << 30), b in 0u32..(1 << 30)) {
            let (x, y) = (Seq(base) + a, Seq(base) + b);
            proptest::prop_assert_eq!(x.partial_cmp(&y), Some(a.cmp(&b)));
            proptest::prop_assert_eq!(x.since(Seq(base)), a);
        }
    }
}
