//! Where frames come from: capture files, live interfaces and the lessons' own traffic, and
//! the plan of the lab network ([`topology`]) the live demos run in.
//!
//! Every source produces [`Frame`]s for the one engine in [`crate::dissect`]; nothing
//! downstream knows or cares which source it was.

pub mod elsewhere;
pub mod file;
// Linux only: namespaces, rtnetlink, AF_PACKET. Elsewhere the same names come from
// `elsewhere` (the lab: "not here, and why") and from `live_pnet.rs` (capture through pnet:
// BPF on macOS, Npcap on Windows). See "Portable code" in the crate's documentation.
#[cfg(target_os = "linux")]
pub mod lab;
#[cfg(not(target_os = "linux"))]
pub use elsewhere::lab;
#[cfg(target_os = "linux")]
pub mod live;
#[cfg(not(target_os = "linux"))]
#[path = "live_pnet.rs"]
pub mod live;
pub mod live_common;
pub mod platform;
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
