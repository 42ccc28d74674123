//! Data: bytes that no dissector claims.
//!
//! When wirelab does not know the protocol a payload is written in (an application it has no
//! dissector for, or a port with no convention behind it), the bytes are still shown, as data.

use super::cx::{Cx, Next};
use super::model::{Dissection, Layer, Proto, Value};

pub fn dissect(cx: &mut Cx, at: usize, end: usize) -> Next {
    let stop = end.min(cx.data().len());
    if at >= stop {
        return Next::Done;
    }
    cx.begin(Proto::Data, at);
    cx.add(
        "data.data",
        "Data",
        at,
        stop - at,
        Value::Bytes,
        "Bytes wirelab has no dissector for, shown as they are.",
    );
    cx.add(
        "data.len",
        "Length",
        at,
        0,
        Value::Uint((stop - at) as u64),
        "How many bytes of data there are.",
    );
    cx.set_len(stop - at);
    Next::Done
}

pub fn describe(d: &Dissection, layer: &Layer) -> String {
    // The layer's own bytes: the frame's, or a reassembled datagram's.
    let source = d
        .layers
        .iter()
        .position(|l| std::ptr::eq(l, layer))
        .map_or(&d.data[..], |i| d.layer_bytes(i));
    let bytes = source.get(layer.range()).unwrap_or(&[]);
    let mut s = format!("{} ({} bytes)", layer.proto.name(), bytes.len());
    if !bytes.is_empty()
        && bytes
            .iter()
            .take(48)
            .all(|b| b.is_ascii_graphic() || *b == b' ')
    {
        s.push_str(": \"");
        s.extend(bytes.iter().take(48).map(|&b| b as char));
        if bytes.len() > 48 {
            s.push('…');
        }
        s.push('"');
    }
    s
}
