//! The frame record: what the capture itself wrote down about a frame.
//!
//! Before any header, a capture file stores for every frame when it was seen, how long it was
//! on the wire and how many of its bytes were kept (the *snap length* may cut long frames
//! short). None of this was sent by anyone; it is what the receiving network card and the
//! capture program observed, so wirelab places it at the physical layer.

use super::cx::Cx;
use super::model::{Dissection, Layer, Proto, Value};

pub fn dissect(cx: &mut Cx) {
    cx.begin(Proto::Frame, 0);
    // The one-line summary (a lean dissection) takes the number and the time from the
    // dissection itself, never from these fields: it skips writing them.
    if cx.lean {
        return;
    }
    let number = cx.d.number;
    let ts = cx.d.ts;
    let wire = cx.d.wire_len as u64;
    let cap = cx.d.data.len() as u64;
    // These fields describe the frame rather than any of its bytes: they cover no bytes.
    cx.add(
        "frame.number",
        "Frame number",
        0,
        0,
        Value::Uint(number),
        "The frame's position in the capture, counting from 1.",
    );
    if let Some(ts) = ts {
        cx.add(
            "frame.time_epoch",
            "Arrival time",
            0,
            0,
            Value::Time(ts),
            "When the capture saw the frame, in seconds since 1 January 1970 (UTC).",
        );
    }
    cx.add(
        "frame.len",
        "Length on the wire",
        0,
        0,
        Value::Uint(wire),
        "How many bytes the frame had on the wire, as the capture saw them: without the preamble and usually without the 4-byte FCS, which the card adds or checks and removes.",
    );
    cx.add(
        "frame.cap_len",
        "Captured length",
        0,
        0,
        Value::Uint(cap),
        "How many of those bytes the capture kept; fewer than on the wire means the end was cut off.",
    );
    if cap < wire {
        cx.meaning(format!("{} bytes not captured", wire - cap));
    }
}

pub fn describe(d: &Dissection, _layer: &Layer) -> String {
    let cap = d.data.len();
    if (d.wire_len as usize) > cap {
        format!(
            "Frame {}: {} bytes on the wire, {} captured",
            d.number, d.wire_len, cap
        )
    } else {
        format!("Frame {}: {} bytes", d.number, cap)
    }
}
