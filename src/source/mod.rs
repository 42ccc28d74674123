//! Where frames come from: capture files, live interfaces and the lessons' own traffic, and
//! the plan of the lab network ([`topology`]) the live demos run in.
//!
//! Every source produces [`Frame`]s for the one engine in [`crate::dissect`]; nothing
//! downstream knows or cares which source it was.

pub mod file;
pub mod lab;
pub mod live;
pub mod sample;
pub mod topology;

use crate::dissect::model::{Frame, LinkType, Timestamp};

/// A frame that owns its bytes, for sources that keep frames around (lesson traces, tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedFrame {
    pub number: u64,
    pub ts: Option<Timestamp>,
    pub link: LinkType,
    pub wire_len: u32,
    pub data: Vec<u8>,
}

impl OwnedFrame {
    /// Borrow it as a [`Frame`] for the engine.
    pub fn as_frame(&self) -> Frame<'_> {
        Frame {
            number: self.number,
            ts: self.ts,
            link: self.link,
            wire_len: self.wire_len,
            data: &self.data,
        }
    }
}

impl From<&Frame<'_>> for OwnedFrame {
    fn from(f: &Frame<'_>) -> Self {
        OwnedFrame {
            number: f.number,
            ts: f.ts,
            link: f.link,
            wire_len: f.wire_len,
            data: f.data.to_vec(),
        }
    }
}
