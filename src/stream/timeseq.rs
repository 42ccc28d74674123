//! The points of a time-sequence graph (Stevens' graph): for each segment, when it was sent
//! and which sequence numbers it carried.
//!
//! # The idea
//!
//! Plot time across and the relative sequence number up, one mark per segment. A sender
//! that is never held back draws a straight line climbing at the connection's speed: its
//! slope is the throughput. Flat stretches are waits (for a window to open, for an
//! acknowledgment); a mark *below* the line is a retransmission, bytes sent again; the
//! acknowledgments coming back draw a second line just under the data, and the gap between
//! the two is the data in flight. W. Richard Stevens drew TCP this way in *TCP/IP
//! Illustrated*; tcptrace and Wireshark's "Stevens" graph do the same.
//!
//! The recorder keeps a bounded number of points per conversation; [`crate::render::graph`]
//! draws them.

use super::conversation::{Endpoint, Side};

/// One segment on the graph.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Seconds since the conversation's first packet.
    pub t: f64,
    pub frame: u64,
    pub side: Side,
    /// Relative sequence number of the first byte, and how many bytes.
    pub seq: u32,
    pub len: u32,
    /// The relative acknowledgment number this segment carried (if ACK was set).
    pub ack: Option<u32>,
    /// The window this segment advertised, in bytes (scaled).
    pub win: u32,
    pub flags: crate::dissect::tcp::Flags,
    /// Marked by the analysis as a retransmission of any kind.
    pub retransmission: bool,
}

/// The points of one TCP conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeSeq {
    pub stream: u32,
    pub a: Endpoint,
    pub b: Endpoint,
    pub points: Vec<Point>,
    /// Points not kept because the limit was reached.
    pub dropped: u64,
    pub limit: usize,
}

impl TimeSeq {
    pub fn new(stream: u32, a: Endpoint, b: Endpoint, limit: usize) -> TimeSeq {
        TimeSeq {
            stream,
            a,
            b,
            points: Vec::new(),
            dropped: 0,
            limit,
        }
    }

    pub fn push(&mut self, p: Point) {
        if self.points.len() < self.limit {
            self.points.push(p);
        } else {
            self.dropped += 1;
        }
    }

    /// The direction that sent more data: the one whose graph is worth drawing.
    pub fn data_side(&self) -> Side {
        let sent = |side| {
            self.points
                .iter()
                .filter(|p| p.side == side)
                .map(|p| p.len as u64)
                .sum::<u64>()
        };
        if sent(Side::BtoA) > sent(Side::AtoB) {
            Side::BtoA
        } else {
            Side::AtoB
        }
    }

    pub fn sender(&self, side: Side) -> Endpoint {
        match side {
            Side::AtoB => self.a,
            Side::BtoA => self.b,
        }
    }
}
