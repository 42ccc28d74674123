//! The JSON view: JSON Lines, one object a packet. Tests and graders depend on its shape:
//!
//! ```json
//! {"number":1,"time":"1120622255.938066000","wire_len":74,"cap_len":74,
//!  "protocols":"eth:ip:tcp",
//!  "layers":[{"protocol":"eth","name":"Ethernet II","osi":2,"osi_name":"Data link",
//!             "tcpip":"Link","range":[0,14],"summary":"…","fields":[…]}, …],
//!  "fields":{"eth.src":"00:00:00:00:00:00","ip.src":"127.0.0.1","tcp.flags":"0x0002", …},
//!  "problems":[{"kind":"truncated","protocol":"ip","at":34,"message":"…"}]}
//! ```
//!
//! In a layer's field list, `range` gives a field's bytes; a field smaller than its bytes
//! also has `mask` and `bits`, how many bits it is.
//!
//! In `fields`, each Wireshark field name maps to its value written exactly as
//! `tshark -T fields -e NAME` writes it; a field that occurs more than once in the packet
//! (two VLAN tags, the IP header quoted inside an ICMP error, two WebSocket frames completed
//! by one segment) has its values joined by `,`, outermost first, again as tshark does.
//!
//! A layer read from bytes that are not the frame's own (a message reassembled from several
//! segments, an unmasked WebSocket payload: see [`crate::dissect::model::Source`]) has
//! `"source": N` and its ranges count from the start of `sources[N]`, which lists its title,
//! its length, its bytes in hex and the frames they came from.

use serde_json::{Map, Value as J, json};

use crate::dissect::describe;
use crate::dissect::model::{Dissection, Value};

/// The flat name → value map (tshark's formatting).
pub fn flat_fields(d: &Dissection) -> Map<String, J> {
    let mut map: Map<String, J> = Map::new();
    for (i, f) in d.fields.iter().enumerate() {
        if matches!(f.value, Value::None) {
            continue;
        }
        let v = f.tshark(d.field_bytes(i));
        match map.get_mut(f.name) {
            Some(J::String(s)) => {
                s.push(',');
                s.push_str(&v);
            }
            _ => {
                map.insert(f.name.to_string(), J::String(v));
            }
        }
    }
    map
}

/// The whole packet as a JSON value.
pub fn packet(d: &Dissection) -> J {
    let layers: Vec<J> = d
        .layers
        .iter()
        .enumerate()
        .map(|(li, l)| {
            let bytes = d.layer_bytes(li);
            let fields: Vec<J> = d
                .layer_fields(l)
                .iter()
                .map(|f| {
                    let mut o = json!({
                        "name": f.name,
                        "label": f.label,
                        "value": f.tshark(bytes),
                        "range": [f.at, f.at + f.len],
                    });
                    if f.mask != 0 {
                        o["mask"] = json!(format!("0x{:x}", f.mask));
                        o["bits"] = json!(f.mask.count_ones());
                    }
                    if !f.meaning.is_empty() {
                        o["meaning"] = json!(f.meaning);
                    }
                    if f.depth > 0 {
                        o["depth"] = json!(f.depth);
                    }
                    o
                })
                .collect();
            let mut o = json!({
                "protocol": l.proto.short(),
                "name": l.proto.name(),
                "osi": l.proto.osi().number(),
                "osi_name": l.proto.osi().name(),
                "tcpip": l.proto.tcpip().name(),
                "range": [l.at, l.at + l.len],
                "summary": describe(d, l),
                "fields": fields,
            });
            if let Some(s) = d.source_of(li) {
                o["source"] = json!(s);
            }
            o
        })
        .collect();
    let problems: Vec<J> = d
        .problems
        .iter()
        .map(|p| {
            json!({
                "kind": p.kind,
                "protocol": p.proto.short(),
                "at": p.at,
                "message": p.message,
            })
        })
        .collect();
    let mut o = json!({
        "number": d.number,
        "time": d.ts.map(|t| t.to_string()),
        "wire_len": d.wire_len,
        "cap_len": d.data.len(),
        "protocols": d.protocols(),
        "layers": layers,
        "fields": J::Object(flat_fields(d)),
        "problems": problems,
    });
    if !d.sources.is_empty() {
        let sources: Vec<J> = d
            .sources
            .iter()
            .map(|s| {
                let hex: String = s.bytes.iter().map(|b| format!("{b:02x}")).collect();
                let frames: Vec<J> = s
                    .pieces
                    .iter()
                    .map(|p| json!({"frame": p.frame, "range": [p.at, p.at + p.len], "frame_offset": p.frame_offset}))
                    .collect();
                json!({"title": s.title, "length": s.bytes.len(), "bytes": hex, "pieces": frames})
            })
            .collect();
        o["sources"] = J::Array(sources);
    }
    o
}

/// Append one JSON line for `d`: the same text as `packet(d).to_string()`, written straight
/// into `out` without building the [`serde_json::Value`] tree first (which cost most of the
/// view's time: a map and a string for every field of every packet).
pub fn line(d: &Dissection, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(out, "{{\"number\":{},\"time\":", d.number);
    match d.ts {
        Some(t) => {
            let mut s = String::new();
            let _ = write!(s, "{t}");
            push_str(out, &s);
        }
        None => out.push_str("null"),
    }
    let _ = write!(
        out,
        ",\"wire_len\":{},\"cap_len\":{},\"protocols\":",
        d.wire_len,
        d.data.len()
    );
    push_str(out, &d.protocols());
    out.push_str(",\"layers\":[");
    for (li, l) in d.layers.iter().enumerate() {
        if li > 0 {
            out.push(',');
        }
        let bytes = d.layer_bytes(li);
        out.push_str("{\"protocol\":");
        push_str(out, l.proto.short());
        out.push_str(",\"name\":");
        push_str(out, l.proto.name());
        let _ = write!(out, ",\"osi\":{},\"osi_name\":", l.proto.osi().number());
        push_str(out, l.proto.osi().name());
        out.push_str(",\"tcpip\":");
        push_str(out, l.proto.tcpip().name());
        let _ = write!(out, ",\"range\":[{},{}],\"summary\":", l.at, l.at + l.len);
        push_str(out, &describe(d, l));
        out.push_str(",\"fields\":[");
        let mut value = String::new();
        for (fi, f) in d.layer_fields(l).iter().enumerate() {
            if fi > 0 {
                out.push(',');
            }
            out.push_str("{\"name\":");
            push_str(out, f.name);
            out.push_str(",\"label\":");
            push_str(out, f.label);
            out.push_str(",\"value\":");
            value.clear();
            f.write_tshark(bytes, &mut value);
            push_str(out, &value);
            let _ = write!(out, ",\"range\":[{},{}]", f.at, f.at + f.len);
            if f.mask != 0 {
                let _ = write!(
                    out,
                    ",\"mask\":\"0x{:x}\",\"bits\":{}",
                    f.mask,
                    f.mask.count_ones()
                );
            }
            if !f.meaning.is_empty() {
                out.push_str(",\"meaning\":");
                push_str(out, &f.meaning);
            }
            if f.depth > 0 {
                let _ = write!(out, ",\"depth\":{}", f.depth);
            }
            out.push('}');
        }
        out.push(']');
        if let Some(s) = d.source_of(li) {
            let _ = write!(out, ",\"source\":{s}");
        }
        out.push('}');
    }
    out.push_str("],\"fields\":");
    flat_fields_into(d, out);
    out.push_str(",\"problems\":[");
    for (i, p) in d.problems.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"kind\":");
        push_str(out, p.kind.json_name());
        out.push_str(",\"protocol\":");
        push_str(out, p.proto.short());
        let _ = write!(out, ",\"at\":{},\"message\":", p.at);
        push_str(out, &p.message);
        out.push('}');
    }
    out.push(']');
    if !d.sources.is_empty() {
        out.push_str(",\"sources\":[");
        for (i, s) in d.sources.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"title\":");
            push_str(out, &s.title);
            let _ = write!(out, ",\"length\":{},\"bytes\":\"", s.bytes.len());
            for b in &s.bytes {
                let _ = write!(out, "{b:02x}");
            }
            out.push_str("\",\"pieces\":[");
            for (j, p) in s.pieces.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                let _ = write!(
                    out,
                    "{{\"frame\":{},\"range\":[{},{}],\"frame_offset\":{}}}",
                    p.frame,
                    p.at,
                    p.at + p.len,
                    p.frame_offset
                );
            }
            out.push_str("]}");
        }
        out.push(']');
    }
    out.push_str("}\n");
}

/// The flat `fields` object of [`flat_fields`], written straight into `out`: each name once,
/// in the order of its first occurrence, its values joined by `,`.
fn flat_fields_into(d: &Dissection, out: &mut String) {
    // Most packets have a few dozen fields and few repeated names: a linear scan of the
    // names seen so far is cheaper than hashing each one.
    let mut names: Vec<&'static str> = Vec::with_capacity(d.fields.len());
    let mut values: Vec<String> = Vec::with_capacity(d.fields.len());
    for (i, f) in d.fields.iter().enumerate() {
        if matches!(f.value, Value::None) {
            continue;
        }
        match names.iter().position(|n| *n == f.name) {
            Some(k) => {
                values[k].push(',');
                f.write_tshark(d.field_bytes(i), &mut values[k]);
            }
            None => {
                names.push(f.name);
                let mut v = String::new();
                f.write_tshark(d.field_bytes(i), &mut v);
                values.push(v);
            }
        }
    }
    out.push('{');
    for (k, (n, v)) in names.iter().zip(&values).enumerate() {
        if k > 0 {
            out.push(',');
        }
        push_str(out, n);
        out.push(':');
        push_str(out, v);
    }
    out.push('}');
}

/// Append `s` as a JSON string, escaped exactly as serde_json escapes it: `"` and `\`, the
/// control characters as `\b \t \n \f \r` or `\u00xx`, everything else as it is.
fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x09 => "\\t",
            0x0a => "\\n",
            0x0c => "\\f",
            0x0d => "\\r",
            0x00..=0x1f => "",
            _ => continue,
        };
        // Only ASCII bytes are escaped, so `start..i` always ends on a char boundary.
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xf) as usize] as char);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Config, Pipeline};

    /// The hand-written line is the serde_json tree's text, for every packet of the corpus
    /// and the lessons' traces (reassembled sources, problems, bit fields, repeated names).
    #[test]
    fn line_is_the_value_tree_written_out() {
        let mut files: Vec<std::path::PathBuf> = Vec::new();
        for dir in ["tests/corpus/pcaps", "lessons"] {
            for e in std::fs::read_dir(dir).expect("corpus").flatten() {
                let p = e.path();
                if p.is_dir() {
                    files.push(p.join("trace.pcapng"));
                } else {
                    files.push(p);
                }
            }
        }
        let mut packets = 0;
        for path in files.iter().filter(|p| p.is_file()) {
            let Ok(frames) = crate::source::file::read_all(path) else {
                continue;
            };
            let all = Pipeline::collect(Config::full(), frames.iter().map(|f| f.as_frame()));
            for d in &all {
                let mut out = String::new();
                line(d, &mut out);
                assert_eq!(out, packet(d).to_string() + "\n", "{}", path.display());
                packets += 1;
            }
        }
        assert!(packets > 1000, "only {packets} packets compared");
    }

    /// Strings are escaped as serde_json escapes them, for every ASCII character and beyond.
    #[test]
    fn strings_are_escaped_as_serde_json_does() {
        let mut all: String = (0u8..0x80).map(char::from).collect();
        all.push_str("é→\u{7f}\u{2028}😀\"\\");
        for s in [all.as_str(), "", "plain", "\x1b[31m", "a\"b"] {
            let mut out = String::new();
            push_str(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
    }

    #[test]
    fn problem_kinds_are_named_as_serde_names_them() {
        use crate::dissect::model::ProblemKind::*;
        for k in [Truncated, Malformed, BadChecksum, Unsupported] {
            let want = serde_json::to_string(&k).unwrap();
            assert_eq!(format!("\"{}\"", k.json_name()), want);
        }
    }
}
