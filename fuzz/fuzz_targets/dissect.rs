//! Fuzz the packet engine: any bytes, under any link type, must dissect without panicking,
//! and everything the dissection reports must point inside the frame.
//!
//! Input layout: byte 0 picks the link type (one of the nine below), byte 1 says how the wire
//! length relates to the captured length (equal, longer, shorter), the rest is the frame.
//!
//! Run (stable toolchain, cargo-fuzz needs nightly flags):
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run dissect -- -runs=10000000`
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab::dissect::{Frame, LinkType, dissect};

#[path = "views.rs"]
mod views;

/// Every link type the engine has a branch for, and one it does not know.
const LINKS: [u32; 9] = [0, 1, 12, 101, 113, 228, 229, 276, 147];

fuzz_target!(|input: &[u8]| {
    let [pick, wire, data @ ..] = input else {
        return;
    };
    let link = LINKS[*pick as usize % LINKS.len()];
    let len = data.len() as u32;
    let wire_len = match wire % 3 {
        0 => len,
        1 => len + (*wire as u32) * 97,
        _ => len / 2,
    };
    let frame = Frame {
        number: 1,
        ts: None,
        link: LinkType(link),
        wire_len,
        data,
    };
    views::check(&dissect(&frame));
});
