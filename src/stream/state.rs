//! Socket states: where each end of a TCP connection is in RFC 9293's state diagram,
//! worked out from the segments a capture sees.
//!
//! # The idea
//!
//! Each end of a TCP connection is a small machine that moves between named states:
//!
//! ```text
//!  client                                      server
//!  CLOSED                                      LISTEN          (the server called listen())
//!  SYN-SENT      ── SYN ──────────────────▶
//!                ◀──────────────── SYN, ACK ── SYN-RECEIVED
//!  ESTABLISHED   ── ACK ──────────────────▶    ESTABLISHED     (connect()/accept() return)
//!       … data both ways …
//!  FIN-WAIT-1    ── FIN ──────────────────▶    CLOSE-WAIT      (the client called close())
//!  FIN-WAIT-2    ◀────────────────────── ACK
//!  TIME-WAIT     ◀────────────────────── FIN ── LAST-ACK       (the server called close())
//!                ── ACK ──────────────────▶    CLOSED
//! ```
//!
//! `netstat` and `ss` print these names for the sockets on a machine. A capture sees only the
//! segments, so the states here are inferred from them, as each end would have moved on
//! sending or receiving each segment. The end that closes first waits in TIME-WAIT (twice the
//! maximum segment lifetime) before it is really CLOSED, in case its last ACK was lost.

use std::fmt;

use serde::Serialize;

use crate::dissect::tcp::{Flags, Seq};

/// The connection states of RFC 9293 § 3.3.2, written as the RFC writes them (`ss` prints
/// the same names; the Linux kernel's `/proc/net/tcp` and `netstat` write them with
/// underscores, `TIME_WAIT`, and [`State::from_linux`] reads its numbers).
///
/// This is the one definition of the states in wirelab: the states a capture implies
/// ([`Machines`]), the hand-made TCP of `tcp handshake --raw` and the kernel's states in the
/// narrated demos all use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum State {
    #[serde(rename = "CLOSED")]
    Closed,
    #[serde(rename = "LISTEN")]
    Listen,
    #[serde(rename = "SYN-SENT")]
    SynSent,
    #[serde(rename = "SYN-RECEIVED")]
    SynReceived,
    #[serde(rename = "ESTABLISHED")]
    Established,
    #[serde(rename = "FIN-WAIT-1")]
    FinWait1,
    #[serde(rename = "FIN-WAIT-2")]
    FinWait2,
    #[serde(rename = "CLOSE-WAIT")]
    CloseWait,
    #[serde(rename = "CLOSING")]
    Closing,
    #[serde(rename = "LAST-ACK")]
    LastAck,
    #[serde(rename = "TIME-WAIT")]
    TimeWait,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }

    /// Both ends know each other's sequence numbers (RFC 9293 calls these the synchronized
    /// states): from ESTABLISHED on.
    pub fn synchronized(self) -> bool {
        !matches!(
            self,
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        )
    }

    /// What the state means, in a few words.
    pub fn meaning(self) -> &'static str {
        match self {
            State::Listen => "waiting for connections",
            State::SynSent => "SYN sent, waiting for the SYN-ACK",
            State::SynReceived => "SYN-ACK sent, waiting for the last ACK",
            State::Established => "connected: data may flow both ways",
            State::FinWait1 => "our FIN is sent, not yet acknowledged",
            State::FinWait2 => "our FIN is acknowledged; waiting for the other side's FIN",
            State::CloseWait => "the other side sent its FIN; waiting for our program to close",
            State::LastAck => "our FIN is sent after theirs; waiting for its ACK",
            State::TimeWait => {
                "both FINs done; kept for 2·MSL (60 s on Linux) so that a lost last ACK can be \
                 sent again and old duplicates die out (RFC 9293 §3.3.2)"
            }
            State::Closing => "both sides sent FIN at the same time",
            State::Closed => "the kernel has forgotten the connection",
        }
    }

    /// The state the Linux kernel numbers `n` (`include/net/tcp_states.h`, the `st` column of
    /// `/proc/net/tcp`). The kernel's `NEW_SYN_RECV` (12, a SYN answered but not yet a full
    /// socket) is SYN-RECEIVED in the RFC's terms.
    pub fn from_linux(n: u8) -> Option<State> {
        Some(match n {
            1 => State::Established,
            2 => State::SynSent,
            3 | 12 => State::SynReceived,
            4 => State::FinWait1,
            5 => State::FinWait2,
            6 => State::TimeWait,
            7 => State::Closed,
            8 => State::CloseWait,
            9 => State::LastAck,
            10 => State::Listen,
            11 => State::Closing,
            _ => return None,
        })
    }

    /// Read a state's name as written here (`TIME-WAIT`) or by the kernel (`TIME_WAIT`).
    pub fn from_name(s: &str) -> Option<State> {
        const ALL: [State; 11] = [
            State::Closed,
            State::Listen,
            State::SynSent,
            State::SynReceived,
            State::Established,
            State::FinWait1,
            State::FinWait2,
            State::CloseWait,
            State::Closing,
            State::LastAck,
            State::TimeWait,
        ];
        let s = s.replace('_', "-");
        ALL.into_iter()
            .find(|st| st.name() == s)
            .or(match s.as_str() {
                "SYN-RECV" | "NEW-SYN-RECV" => Some(State::SynReceived),
                "CLOSE" => Some(State::Closed),
                _ => None,
            })
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name of a state a capture implies, where `None` means the capture began after the
/// handshake, so the connection was already open in a state the segments cannot tell.
pub fn inferred_name(s: Option<State>) -> &'static str {
    s.map_or("(already open)", State::name)
}

/// The two ends' states, index 0 for the end that sent first. `None` is a state the segments
/// cannot tell: the capture began after the handshake (see [`inferred_name`]).
#[derive(Clone, Debug)]
pub struct Machines {
    pub states: [Option<State>; 2],
    /// The relative sequence number just after each end's FIN, once sent.
    fin_end: [Option<Seq>; 2],
}

impl Machines {
    /// Start from the first segment seen: a SYN means the sender was CLOSED and the other
    /// end LISTENing; anything else means the connection was already open.
    pub fn new(first: Flags) -> Machines {
        let states = if first.is_syn_only() {
            [Some(State::Closed), Some(State::Listen)]
        } else {
            [None, None]
        };
        Machines {
            states,
            fin_end: [None; 2],
        }
    }

    /// The name of end `end`'s state.
    pub fn name(&self, end: usize) -> &'static str {
        inferred_name(self.states[end])
    }

    /// One segment from end `from` (0 or 1) with relative `seq`, `ack` and data length `len`.
    /// Returns which ends changed state.
    pub fn segment(
        &mut self,
        from: usize,
        flags: Flags,
        seq: Seq,
        ack: Seq,
        len: u32,
    ) -> [bool; 2] {
        use State::*;
        let to = 1 - from;
        let before = self.states;
        let acks = |end: Option<Seq>| flags.ack() && end.is_some_and(|e| e <= ack);
        if flags.rst() {
            self.states = [Some(Closed), Some(Closed)];
            return [self.states[0] != before[0], self.states[1] != before[1]];
        }
        // The sender first.
        let s = &mut self.states[from];
        if flags.is_syn_only() {
            *s = Some(SynSent);
        } else if flags.syn() {
            *s = Some(SynReceived);
        }
        if flags.fin() {
            let end = seq + len + 1;
            if self.fin_end[from].is_none_or(|e| end > e) {
                self.fin_end[from] = Some(end);
            }
            let theirs_acked = acks(self.fin_end[to]);
            *s = Some(match *s {
                Some(CloseWait) => LastAck,
                // Closing second, acknowledging the other FIN at once.
                Some(FinWait2 | TimeWait) => TimeWait,
                Some(LastAck) => LastAck,
                _ if self.fin_end[to].is_some() && !theirs_acked => Closing,
                _ if self.fin_end[to].is_some() => LastAck,
                _ => FinWait1,
            });
        }
        // A plain ACK finishing the handshake or acknowledging a FIN.
        if !flags.intersects(Flags::SYN | Flags::FIN) && flags.ack() {
            let s = &mut self.states[from];
            if matches!(*s, Some(SynSent) | None) && self.fin_end[to].is_none() {
                *s = Some(Established);
            } else if matches!(*s, Some(FinWait2 | Closing)) && acks(self.fin_end[to]) {
                *s = Some(TimeWait);
            }
        }

        // Then the receiver, as it takes the segment in.
        let r = &mut self.states[to];
        if flags.is_syn_ack() && *r == Some(SynSent) {
            *r = Some(Established);
        } else if flags.is_syn_only() && *r == Some(Closed) {
            *r = Some(Listen);
        }
        if flags.ack() && !flags.syn() && *r == Some(SynReceived) {
            *r = Some(Established);
        }
        let fin_acked = acks(self.fin_end[to]);
        let r = &mut self.states[to];
        let fin = flags.fin();
        match *r {
            Some(FinWait1) if fin_acked && fin => *r = Some(TimeWait),
            Some(FinWait1) if fin_acked => *r = Some(FinWait2),
            Some(FinWait1) if fin => *r = Some(Closing),
            Some(FinWait2) if fin => *r = Some(TimeWait),
            Some(Closing) if fin_acked => *r = Some(TimeWait),
            Some(LastAck) if fin_acked => *r = Some(Closed),
            Some(Established | SynReceived) | None if fin => *r = Some(CloseWait),
            _ => {}
        }
        [self.states[0] != before[0], self.states[1] != before[1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use State::*;

    const SYN: Flags = Flags::SYN;
    const ACK: Flags = Flags::ACK;
    const FIN: Flags = Flags::FIN;
    const RST: Flags = Flags::RST;

    fn seg(m: &mut Machines, from: usize, flags: Flags, seq: u32, ack: u32, len: u32) -> [bool; 2] {
        m.segment(from, flags, Seq(seq), Seq(ack), len)
    }

    fn both(a: State, b: State) -> [Option<State>; 2] {
        [Some(a), Some(b)]
    }

    #[test]
    fn segment_walks_the_usual_life_of_a_connection() {
        let mut m = Machines::new(SYN);
        assert_eq!(m.states, both(Closed, Listen));
        seg(&mut m, 0, SYN, 0, 0, 0);
        assert_eq!(m.states, both(SynSent, Listen));
        seg(&mut m, 1, SYN | ACK, 0, 1, 0);
        assert_eq!(m.states, both(Established, SynReceived));
        seg(&mut m, 0, ACK, 1, 1, 0);
        assert_eq!(m.states, both(Established, Established));
        seg(&mut m, 0, ACK, 1, 1, 10);
        seg(&mut m, 1, ACK, 1, 11, 0);
        assert_eq!(m.states, both(Established, Established));
        // The client closes first.
        seg(&mut m, 0, FIN | ACK, 11, 1, 0);
        assert_eq!(m.states, both(FinWait1, CloseWait));
        seg(&mut m, 1, ACK, 1, 12, 0);
        assert_eq!(m.states, both(FinWait2, CloseWait));
        seg(&mut m, 1, FIN | ACK, 1, 12, 0);
        assert_eq!(m.states, both(TimeWait, LastAck));
        seg(&mut m, 0, ACK, 12, 2, 0);
        assert_eq!(m.states, both(TimeWait, Closed));
    }

    #[test]
    fn segment_fin_that_also_acks_the_other_fin() {
        let mut m = Machines::new(ACK);
        assert_eq!(m.states, [None, None]);
        assert_eq!(m.name(0), "(already open)");
        seg(&mut m, 0, ACK, 1, 1, 0);
        assert_eq!(m.states[0], Some(Established));
        seg(&mut m, 0, FIN | ACK, 1, 1, 0);
        // The server answers with FIN+ACK acknowledging the client's FIN in one segment.
        seg(&mut m, 1, FIN | ACK, 1, 2, 0);
        assert_eq!(m.states, both(TimeWait, LastAck));
        seg(&mut m, 0, ACK, 2, 2, 0);
        assert_eq!(m.states, both(TimeWait, Closed));
    }

    #[test]
    fn segment_reset_closes_both() {
        let mut m = Machines::new(SYN);
        seg(&mut m, 0, SYN, 0, 0, 0);
        let changed = seg(&mut m, 1, RST | ACK, 0, 1, 0);
        assert_eq!(m.states, both(Closed, Closed));
        assert_eq!(changed, [true, true]);
    }

    #[test]
    fn names_read_both_spellings() {
        assert_eq!(State::from_name("TIME_WAIT"), Some(TimeWait));
        assert_eq!(State::from_name("TIME-WAIT"), Some(TimeWait));
        assert_eq!(State::from_name("SYN_RECV"), Some(SynReceived));
        assert_eq!(State::from_linux(6), Some(TimeWait));
        assert_eq!(State::from_linux(10).map(State::name), Some("LISTEN"));
        assert!(Established.synchronized() && !SynSent.synchronized());
    }
}
