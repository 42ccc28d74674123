//! Following a stream: the conversation's bytes as each application saw them.
//!
//! # The idea
//!
//! Packets are how the network carries a conversation; the bytes in order are the
//! conversation itself. "Follow TCP stream" (Wireshark's name) shows what one side wrote and
//! the other read, with the packet boundaries gone: an HTTP request and its response as
//! text, one side after the other, in the order they were sent. This module records that
//! from the reassembled stream ([`super::reassembly`]), keeping at most a fixed number of
//! bytes per conversation so that following a long capture cannot eat all memory; what is
//! beyond the limit is counted, not kept.

use super::conversation::{Endpoint, Side};
use super::reassembly::GapReason;

/// One piece of a followed conversation, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FollowItem {
    /// Bytes from one side, in stream order: offsets `at..at + bytes.len()` of that side's
    /// stream, carried by frames `first_frame..=last_frame`.
    Data {
        side: Side,
        at: u64,
        bytes: Vec<u8>,
        first_frame: u64,
        last_frame: u64,
    },
    /// Bytes one side sent that the capture does not have.
    Gap {
        side: Side,
        at: u64,
        len: u64,
        reason: GapReason,
    },
    /// One side closed its direction (FIN) at stream offset `at`.
    Fin { side: Side, at: u64 },
    /// The connection was aborted by a RST from `side`.
    Reset { side: Side, at: u64 },
}

/// The followed bytes of one conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowLog {
    pub stream: u32,
    pub a: Endpoint,
    pub b: Endpoint,
    pub items: Vec<FollowItem>,
    /// Bytes kept, both sides.
    pub kept: usize,
    /// The most this log keeps.
    pub limit: usize,
    /// Bytes each side sent beyond the limit (counted, not kept).
    pub not_kept: [u64; 2],
    /// Total stream bytes each side delivered.
    pub total: [u64; 2],
}

impl FollowLog {
    pub fn new(stream: u32, a: Endpoint, b: Endpoint, limit: usize) -> FollowLog {
        FollowLog {
            stream,
            a,
            b,
            items: Vec::new(),
            kept: 0,
            limit,
            not_kept: [0; 2],
            total: [0; 2],
        }
    }

    /// Record in-order bytes from `side`; `frames` are the first and last frames carrying them.
    pub fn data(&mut self, side: Side, at: u64, bytes: &[u8], frames: (u64, u64)) {
        self.data_within(side, at, bytes, frames, usize::MAX);
    }

    /// Like [`FollowLog::data`], keeping at most `budget` more bytes (a limit shared by all the
    /// conversations followed). Returns how many bytes were kept.
    pub fn data_within(
        &mut self,
        side: Side,
        at: u64,
        bytes: &[u8],
        frames: (u64, u64),
        budget: usize,
    ) -> usize {
        self.total[side.index()] += bytes.len() as u64;
        let room = self.limit.saturating_sub(self.kept).min(budget);
        let keep = bytes.len().min(room);
        self.not_kept[side.index()] += (bytes.len() - keep) as u64;
        if keep == 0 {
            return 0;
        }
        self.kept += keep;
        if let Some(FollowItem::Data {
            side: s,
            at: a,
            bytes: b,
            last_frame,
            ..
        }) = self.items.last_mut()
        {
            if *s == side && *a + b.len() as u64 == at {
                b.extend_from_slice(&bytes[..keep]);
                *last_frame = frames.1.max(*last_frame);
                return keep;
            }
        }
        self.items.push(FollowItem::Data {
            side,
            at,
            bytes: bytes[..keep].to_vec(),
            first_frame: frames.0,
            last_frame: frames.1,
        });
        keep
    }

    pub fn push(&mut self, item: FollowItem) {
        self.items.push(item);
    }

    /// The sending endpoint for a side.
    pub fn sender(&self, side: Side) -> Endpoint {
        match side {
            Side::AtoB => self.a,
            Side::BtoA => self.b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(port: u16) -> Endpoint {
        Endpoint {
            addr: "127.0.0.1".parse().unwrap(),
            port,
        }
    }

    #[test]
    fn data_merges_and_respects_limit() {
        let mut log = FollowLog::new(0, ep(1), ep(2), 8);
        log.data(Side::AtoB, 0, b"GET ", (4, 4));
        log.data(Side::AtoB, 4, b"/", (5, 5));
        log.data(Side::BtoA, 0, b"HTTP/1.1", (6, 6));
        assert_eq!(log.items.len(), 2);
        assert_eq!(
            log.items[0],
            FollowItem::Data {
                side: Side::AtoB,
                at: 0,
                bytes: b"GET /".to_vec(),
                first_frame: 4,
                last_frame: 5
            }
        );
        // Only 3 of the 8 response bytes fit.
        assert_eq!(log.kept, 8);
        assert_eq!(log.not_kept, [0, 5]);
        assert_eq!(log.total, [5, 8]);
    }
}
