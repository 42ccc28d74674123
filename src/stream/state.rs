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

use super::tcp::{ACK, FIN, RST, SYN, seq_gt, seq_le};

/// RFC 9293 § 3.3.2's states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
    /// The capture began after the handshake: the connection was already open.
    Unknown,
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
            State::Unknown => "(already open)",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The two ends' states, index 0 for the end that sent first.
#[derive(Clone, Debug)]
pub struct Machines {
    pub states: [State; 2],
    /// The relative sequence number just after each end's FIN, once sent.
    fin_end: [Option<u32>; 2],
}

impl Machines {
    /// Start from the first segment seen: a SYN means the sender was CLOSED and the other
    /// end LISTENing; anything else means the connection was already open.
    pub fn new(first_flags: u16) -> Machines {
        let states = if first_flags & (SYN | ACK) == SYN {
            [State::Closed, State::Listen]
        } else {
            [State::Unknown, State::Unknown]
        };
        Machines {
            states,
            fin_end: [None; 2],
        }
    }

    /// One segment from end `from` (0 or 1) with relative `seq`, `ack` and data length `len`.
    /// Returns which ends changed state.
    pub fn segment(&mut self, from: usize, flags: u16, seq: u32, ack: u32, len: u32) -> [bool; 2] {
        let to = 1 - from;
        let before = self.states;
        let acks = |end: Option<u32>| flags & ACK != 0 && end.is_some_and(|e| seq_le(e, ack));
        if flags & RST != 0 {
            self.states = [State::Closed, State::Closed];
        } else {
            // The sender first.
            let s = &mut self.states[from];
            if flags & SYN != 0 && flags & ACK == 0 {
                *s = State::SynSent;
            } else if flags & SYN != 0 {
                *s = State::SynReceived;
            }
            if flags & FIN != 0 {
                let end = seq.wrapping_add(len).wrapping_add(1);
                if self.fin_end[from].is_none_or(|e| seq_gt(end, e)) {
                    self.fin_end[from] = Some(end);
                }
                let theirs_acked = acks(self.fin_end[to]);
                *s = match *s {
                    State::CloseWait => State::LastAck,
                    // Closing second, acknowledging the other FIN at once.
                    State::FinWait2 | State::TimeWait => State::TimeWait,
                    State::LastAck => State::LastAck,
                    _ if self.fin_end[to].is_some() && !theirs_acked => State::Closing,
                    _ if self.fin_end[to].is_some() => State::LastAck,
                    _ => State::FinWait1,
                };
            }
            // A plain ACK finishing the handshake or acknowledging a FIN.
            if flags & (SYN | FIN) == 0 && flags & ACK != 0 {
                let s = &mut self.states[from];
                if matches!(*s, State::SynSent | State::Unknown) && self.fin_end[to].is_none() {
                    *s = State::Established;
                } else if matches!(*s, State::FinWait2 | State::Closing) && acks(self.fin_end[to]) {
                    *s = State::TimeWait;
                }
            }

            // Then the receiver, as it takes the segment in.
            let r = &mut self.states[to];
            if flags & SYN != 0 && flags & ACK != 0 && *r == State::SynSent {
                *r = State::Established;
            } else if flags & SYN != 0 && flags & ACK == 0 && *r == State::Closed {
                *r = State::Listen;
            }
            if flags & ACK != 0 && flags & SYN == 0 && *r == State::SynReceived {
                *r = State::Established;
            }
            let fin_acked = acks(self.fin_end[to]);
            let r = &mut self.states[to];
            match *r {
                State::FinWait1 if fin_acked && flags & FIN != 0 => *r = State::TimeWait,
                State::FinWait1 if fin_acked => *r = State::FinWait2,
                State::FinWait1 if flags & FIN != 0 => *r = State::Closing,
                State::FinWait2 if flags & FIN != 0 => *r = State::TimeWait,
                State::Closing if fin_acked => *r = State::TimeWait,
                State::LastAck if fin_acked => *r = State::Closed,
                State::Established | State::Unknown | State::SynReceived if flags & FIN != 0 => {
                    *r = State::CloseWait
                }
                _ => {}
            }
        }
        [self.states[0] != before[0], self.states[1] != before[1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use State::*;

    #[test]
    fn segment_walks_the_usual_life_of_a_connection() {
        let mut m = Machines::new(SYN);
        assert_eq!(m.states, [Closed, Listen]);
        m.segment(0, SYN, 0, 0, 0);
        assert_eq!(m.states, [SynSent, Listen]);
        m.segment(1, SYN | ACK, 0, 1, 0);
        assert_eq!(m.states, [Established, SynReceived]);
        m.segment(0, ACK, 1, 1, 0);
        assert_eq!(m.states, [Established, Established]);
        m.segment(0, ACK, 1, 1, 10);
        m.segment(1, ACK, 1, 11, 0);
        assert_eq!(m.states, [Established, Established]);
        // The client closes first.
        m.segment(0, FIN | ACK, 11, 1, 0);
        assert_eq!(m.states, [FinWait1, CloseWait]);
        m.segment(1, ACK, 1, 12, 0);
        assert_eq!(m.states, [FinWait2, CloseWait]);
        m.segment(1, FIN | ACK, 1, 12, 0);
        assert_eq!(m.states, [TimeWait, LastAck]);
        m.segment(0, ACK, 12, 2, 0);
        assert_eq!(m.states, [TimeWait, Closed]);
    }

    #[test]
    fn segment_fin_that_also_acks_the_other_fin() {
        let mut m = Machines::new(ACK);
        assert_eq!(m.states, [Unknown, Unknown]);
        m.segment(0, ACK, 1, 1, 0);
        assert_eq!(m.states[0], Established);
        m.segment(0, FIN | ACK, 1, 1, 0);
        // The server answers with FIN+ACK acknowledging the client's FIN in one segment.
        m.segment(1, FIN | ACK, 1, 2, 0);
        assert_eq!(m.states, [TimeWait, LastAck]);
        m.segment(0, ACK, 2, 2, 0);
        assert_eq!(m.states, [TimeWait, Closed]);
    }

    #[test]
    fn segment_reset_closes_both() {
        let mut m = Machines::new(SYN);
        m.segment(0, SYN, 0, 0, 0);
        let changed = m.segment(1, RST | ACK, 0, 1, 0);
        assert_eq!(m.states, [Closed, Closed]);
        assert_eq!(changed, [true, true]);
    }
}
