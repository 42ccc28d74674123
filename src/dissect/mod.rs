//! The packet engine: from the bytes of one frame to its layers and fields.
//!
//! # The idea
//!
//! A frame is read from the outside in. The capture's link type says what the first header
//! is (Ethernet, a Linux cooked header, raw IP…). Each header has a field that names what it
//! carries: Ethernet's *EtherType* (0x0800 means IPv4), IP's *protocol* number (6 means TCP),
//! and for TCP and UDP the *port* numbers, which by convention name the application (53 is
//! DNS). So dissecting is a loop: read a header, look up what its "next" field names, move to
//! the byte after the header, repeat until nothing more is known.
//!
//! Every protocol lives in its own file in this folder, with a field table drawn after its RFC
//! diagram (see [`fields`]). Each has one function, `dissect(cx, at, end) -> Next`, which reads
//! its header starting at byte `at`, records what it finds in the [`Cx`], and returns a
//! [`Next`] naming what follows.
//!
//! # Fields for people, typed views for code
//!
//! What a dissector finds is recorded twice. Each field goes into the layer tree with its
//! Wireshark name, its bytes and a sentence for a learner: that is what the layer view, the hex
//! view, the JSON and the filters show. And the headers other code needs are also read once
//! into a Rust value kept in the [`Dissection`]: an [`ip::IpHeader`] for each IP header, a
//! [`tcp::TcpSegment`] for each TCP header, a [`udp::UdpDatagram`] for each UDP header. The
//! stream analysis, the summary, the ladders, the graph and the narration read those, so the
//! compiler checks what a field name in a string could not.
//!
//! # Never panic, never give up silently
//!
//! Captures are full of short frames (the capture kept only the first bytes), fuzzed files and
//! plain nonsense. A dissector reads only through checked accessors, takes every field that was
//! captured, and when a header is cut short or breaks a rule it records a
//! [`Problem`] at its layer and stops there. What came before is still shown.
//!
//! ```
//! use wirelab::dissect::{dissect, model::{Frame, LinkType, Timestamp}};
//! // An Ethernet frame cut off after 16 bytes: the Ethernet header is whole, IPv4 is not.
//! let bytes = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 1, 2, 3, 4, 5, 0x08, 0x00, 0x45, 0x00];
//! let frame = Frame { number: 1, ts: Some(Timestamp::default()), link: LinkType::ETHERNET,
//!                     wire_len: 60, data: &bytes };
//! let d = dissect(&frame);
//! assert_eq!(d.field("eth.type").unwrap().tshark(&d.data), "0x0800");
//! assert!(d.is_malformed());
//! ```

pub mod checksum;
pub mod cx;
pub mod fields;
pub mod model;
pub mod registry;

pub mod arp;
pub mod data;
pub mod dns;
pub mod engineio;
pub mod ethernet;
pub mod frame;
pub mod http;
pub mod icmp;
pub mod icmpv6;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod llc;
pub mod null;
pub mod sll;
pub mod socketio;
pub mod tcp;
pub mod udp;
pub mod vlan;
pub mod websocket;

// The protocols that declare themselves in one file each (see [`registry`]): one line each.
registry::protocols! {
    dhcp,
    tls,
}

use cx::{Cx, Next};
pub use model::{
    Dissection, Field, Frame, Layer, LinkType, Osi, Problem, ProblemKind, Proto, TcpIp, Timestamp,
    Value,
};

/// How many headers deep the engine will go before it decides the frame is a trap (a packet
/// that tunnels into itself, as fuzzers like to make).
const MAX_LAYERS: usize = 32;

/// Dissect one frame.
pub fn dissect(frame: &Frame) -> Dissection {
    let mut d = Dissection::default();
    dissect_into(&mut d, frame);
    d
}

/// Dissect one frame into an existing [`Dissection`], reusing its memory.
pub fn dissect_into(d: &mut Dissection, frame: &Frame) {
    dissect_with(d, frame, false);
}

/// Dissect one frame for the one-line summary only: every layer, every typed view and every
/// problem, as [`dissect_into`] finds them, and every header field, but without the parts of
/// fields (single flag bits, option details) that only the layer tree, the hex view, JSON and
/// filters show, nor the fields of a whole TCP header (the summary writes TCP from its typed
/// view). The same dissectors run; they just skip recording those parts, which makes a
/// million-packet summary about a third faster. `render::summary` gives the same line for both
/// (tested on the corpus and the lesson traces, `tests/lean.rs`).
pub fn dissect_lean(d: &mut Dissection, frame: &Frame) {
    dissect_with(d, frame, true);
}

fn dissect_with(d: &mut Dissection, frame: &Frame, lean: bool) {
    d.clear();
    d.number = frame.number;
    d.ts = frame.ts;
    d.wire_len = frame.wire_len;
    d.link = Some(frame.link);
    d.data.extend_from_slice(frame.data);

    let mut cx = Cx::new(d);
    cx.lean = lean;
    frame::dissect(&mut cx);
    // The packet ends where the wire says it does, even where the capture kept less.
    let end = (frame.wire_len as usize).max(frame.data.len());
    let mut next = match frame.link {
        LinkType::ETHERNET => ethernet::dissect(&mut cx, 0, end),
        LinkType::LINUX_SLL => sll::dissect_v1(&mut cx, 0, end),
        LinkType::LINUX_SLL2 => sll::dissect_v2(&mut cx, 0, end),
        LinkType::NULL => null::dissect(&mut cx, 0, end),
        LinkType::RAW | LinkType::RAW_OLD | LinkType::IPV4 | LinkType::IPV6 => {
            Next::Ip { at: 0, end }
        }
        other => {
            cx.problem(
                ProblemKind::Unsupported,
                0,
                format!(
                    "link type {} is not one wirelab dissects; the frame is shown as raw bytes",
                    other.0
                ),
            );
            Next::Data { at: 0, end }
        }
    };
    let mut steps = 0;
    while next != Next::Done {
        steps += 1;
        if steps > MAX_LAYERS {
            let at = cx.data().len();
            cx.problem(
                ProblemKind::Malformed,
                at,
                format!("more than {MAX_LAYERS} nested headers; stopped dissecting"),
            );
            break;
        }
        next = step(&mut cx, next);
    }
    // A frame the capture kept only part of is cut short even where every header was whole
    // (the payload is missing): say so once, at the innermost layer, unless a dissector
    // already said where.
    let captured = frame.data.len();
    if captured < frame.wire_len as usize
        && !cx
            .d
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::Truncated)
    {
        cx.problem(
            ProblemKind::Truncated,
            captured,
            format!(
                "the capture kept only the first {captured} of the frame's {} bytes (its snap length), so the rest is missing",
                frame.wire_len
            ),
        );
    }
}

/// Dissect `bytes` as the payload of an IP packet whose protocol number is `proto`, sent from
/// `src` to `dst`: the datagram an IP reassembler put back together from its fragments
/// ([`crate::stream::ipfrag`]). `d` is cleared and gets only the layers inside the IP header
/// (UDP, TCP, ICMP… and what they carry), their offsets counting from the start of `bytes`;
/// the caller grafts them onto the frame that completed the datagram.
pub fn dissect_ip_payload(
    d: &mut Dissection,
    bytes: &[u8],
    src: std::net::IpAddr,
    dst: std::net::IpAddr,
    proto: u8,
    lean: bool,
) {
    use std::net::IpAddr;
    d.clear();
    d.data.extend_from_slice(bytes);
    d.wire_len = bytes.len() as u32;
    let mut cx = Cx::new(d);
    cx.lean = lean;
    cx.ip_depth = 1;
    cx.ip = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(t)) => Some(cx::IpPair::V4 {
            src: s.octets(),
            dst: t.octets(),
        }),
        (IpAddr::V6(s), IpAddr::V6(t)) => Some(cx::IpPair::V6 {
            src: s.octets(),
            dst: t.octets(),
        }),
        _ => None,
    };
    let mut next = Next::IpProto {
        proto,
        at: 0,
        end: bytes.len(),
    };
    let mut steps = 0;
    while next != Next::Done && steps <= MAX_LAYERS {
        steps += 1;
        next = step(&mut cx, next);
    }
}

/// Forget every layer after layer `keep` (their fields, typed views and problems) and show
/// the bytes `at..end` as data instead: an IP fragment's payload, which is a piece of some
/// larger datagram and means nothing on its own (as Wireshark shows it while reassembling).
pub fn payload_as_data(d: &mut Dissection, keep: usize, at: usize, end: usize) {
    let Some(l) = d.layers.get(keep) else { return };
    let fields_end = l.fields.end as usize;
    let removed: Vec<Proto> = d.layers[keep + 1..].iter().map(|l| l.proto).collect();
    d.layers.truncate(keep + 1);
    d.fields.truncate(fields_end);
    let k = keep as u16;
    d.ip.retain(|v| v.layer <= k);
    d.tcp.retain(|v| v.layer <= k);
    d.udp.retain(|v| v.layer <= k);
    d.layer_sources.retain(|&(l, _)| l as usize <= keep);
    // A problem found in a removed layer (a UDP length that runs past the fragment) is not
    // one any more: the layer is read from the whole datagram, or not at all.
    d.problems
        .retain(|p| !(removed.contains(&p.proto) && p.at as usize >= at));
    let mut cx = Cx::new(d);
    data::dissect(&mut cx, at, end);
}

/// Hand the payload to the dissector its "next" field names.
fn step(cx: &mut Cx, next: Next) -> Next {
    match next {
        Next::Done => Next::Done,
        Next::EtherType { ty, at, end } => match ty {
            0x0800 => ipv4::dissect(cx, at, end),
            0x86dd => ipv6::dissect(cx, at, end),
            // RARP (0x8035) uses ARP's packet format with opcodes 3 and 4.
            0x0806 | 0x8035 => arp::dissect(cx, at, end),
            0x8100 | 0x88a8 | 0x9100 => vlan::dissect(cx, ty, at, end),
            _ => match registry::by_ethertype(ty) {
                Some(p) => (p.dissect)(cx, at, end),
                None => Next::Data { at, end },
            },
        },
        Next::Ip { at, end } => match cx.u8_at(at).map(|b| b >> 4) {
            Some(4) => ipv4::dissect(cx, at, end),
            Some(6) => ipv6::dissect(cx, at, end),
            Some(v) => {
                cx.problem(
                    ProblemKind::Malformed,
                    at,
                    format!("IP version must be 4 or 6, but this packet says {v}"),
                );
                Next::Data { at, end }
            }
            None => Next::Done,
        },
        Next::IpProto { proto, at, end } => match proto {
            1 => icmp::dissect(cx, at, end),
            4 => ipv4::dissect(cx, at, end),
            6 => tcp::dissect(cx, at, end),
            17 => udp::dissect(cx, at, end),
            41 => ipv6::dissect(cx, at, end),
            58 => icmpv6::dissect(cx, at, end),
            _ => match registry::by_ip_proto(proto) {
                Some(p) => (p.dissect)(cx, at, end),
                None => Next::Data { at, end },
            },
        },
        Next::Ports {
            transport,
            src,
            dst,
            at,
            end,
        } => {
            if src == 53 || dst == 53 {
                return dns::dissect(cx, transport, at, end);
            }
            let payload = cx.d.data.get(at..end.min(cx.d.data.len())).unwrap_or(&[]);
            match registry::by_ports(transport, src, dst, payload) {
                Some(p) => (p.dissect)(cx, at, end),
                None => Next::Data { at, end },
            }
        }
        Next::Data { at, end } => data::dissect(cx, at, end),
    }
}

/// Check the promises every [`Dissection`] keeps, whatever bytes it came from: every layer and
/// every field lies inside the captured bytes, a bit mask fits its field's bytes, and every
/// problem points inside the frame. The fuzz tests (`tests/fuzz_dissect.rs`, `fuzz/`) call this
/// on every input; a renderer may rely on it.
pub fn validate(d: &Dissection) -> Result<(), String> {
    let len = d.data.len();
    // Problems of a message put back together may point into its source's bytes.
    let end = d
        .sources
        .iter()
        .map(|s| s.bytes.len())
        .fold(len.max(d.wire_len as usize), usize::max);
    for &(l, s) in &d.layer_sources {
        if l as usize >= d.layers.len() || s as usize >= d.sources.len() {
            return Err(format!(
                "layer source ({l}, {s}) names no layer or no source"
            ));
        }
    }
    for (i, l) in d.layers.iter().enumerate() {
        // A layer read from a reassembled message counts bytes in that message, not the frame.
        let (len, of) = match d.source_of(i) {
            Some(_) => (d.layer_bytes(i).len(), "source"),
            None => (len, "captured"),
        };
        if l.range().end > len {
            return Err(format!(
                "layer {:?} {:?} runs past the {len} {of} bytes",
                l.proto,
                l.range()
            ));
        }
        if l.fields.start > l.fields.end || l.fields.end as usize > d.fields.len() {
            return Err(format!(
                "layer {:?} has field indices {:?}",
                l.proto, l.fields
            ));
        }
    }
    for (i, f) in d.fields.iter().enumerate() {
        let len = d.field_bytes(i).len();
        if f.range().end > len {
            return Err(format!(
                "field {} {:?} runs past the {len} bytes it is read from",
                f.name,
                f.range()
            ));
        }
        if f.mask != 0 && (f.len > 4 || (f.len < 4 && f.mask >> (8 * f.len) != 0)) {
            return Err(format!(
                "field {} has mask {:#x}, wider than its {} bytes",
                f.name, f.mask, f.len
            ));
        }
    }
    // Every typed view names a layer of its own protocol, and its data lies in the frame's
    // claimed length (views and renderers index with them).
    let named = |layer: u16, protos: &[Proto], what: &str| match d.layers.get(layer as usize) {
        Some(l) if protos.contains(&l.proto) => Ok(()),
        other => Err(format!(
            "the typed {what} view names layer {layer}, which is {:?}",
            other.map(|l| l.proto)
        )),
    };
    for v in &d.ip {
        named(v.layer, &[Proto::Ipv4, Proto::Ipv6], "IP")?;
    }
    for v in &d.tcp {
        named(v.layer, &[Proto::Tcp], "TCP")?;
        let len = d.layer_bytes(v.layer as usize).len();
        if v.payload_range(len).end > len {
            return Err("a TCP payload range runs past the captured bytes".into());
        }
    }
    for v in &d.udp {
        named(v.layer, &[Proto::Udp], "UDP")?;
    }
    for p in &d.problems {
        if p.at as usize > end {
            return Err(format!(
                "a problem points at byte {}, past the frame's end {end}: {}",
                p.at, p.message
            ));
        }
    }
    Ok(())
}

/// A short description of one layer, as the summary view and the layer tree's headings show
/// it: `TCP 52000 → 80 [SYN] seq=0 win=64240`. Text from the packet in it (an HTTP path, an
/// event name) is escaped ([`crate::escape`]): the description is printed to terminals.
pub fn describe(d: &Dissection, layer: &Layer) -> String {
    let mut s = String::new();
    describe_raw_into(d, layer, &mut s);
    crate::escape::escaped(s)
}

/// [`describe`], appended to `out`: the one-line summary writes it straight into its line.
pub fn describe_into(d: &Dissection, layer: &Layer, out: &mut String) {
    let start = out.len();
    describe_raw_into(d, layer, out);
    crate::escape::escape_tail(out, start);
}

/// The description, not yet escaped. The protocols most common in big captures append theirs
/// to `out` directly; the others build a `String` of their own.
fn describe_raw_into(d: &Dissection, layer: &Layer, out: &mut String) {
    match layer.proto {
        Proto::Arp => arp::describe_into(d, layer, out),
        Proto::Icmp => icmp::describe_into(d, layer, out),
        Proto::Icmpv6 => icmpv6::describe_into(d, layer, out),
        Proto::Dns => dns::describe_into(d, layer, out),
        Proto::WebSocket => websocket::describe_into(d, layer, out),
        _ if out.is_empty() => *out = describe_raw(d, layer),
        _ => out.push_str(&describe_raw(d, layer)),
    }
}

/// The description of a layer of the other protocols ([`describe_raw_into`] names those that
/// append theirs directly).
fn describe_raw(d: &Dissection, layer: &Layer) -> String {
    match layer.proto {
        Proto::Frame => frame::describe(d, layer),
        Proto::Ethernet => ethernet::describe(d, layer),
        Proto::Sll | Proto::Sll2 => sll::describe(d, layer),
        Proto::Null => null::describe(d, layer),
        Proto::Vlan => vlan::describe(d, layer),
        Proto::Llc => llc::describe(d, layer),
        Proto::Ipv4 => ipv4::describe(d, layer),
        Proto::Ipv6 => ipv6::describe(d, layer),
        Proto::Tcp => tcp::describe(d, layer),
        Proto::Udp => udp::describe(d, layer),
        Proto::EngineIo => engineio::describe(d, layer),
        Proto::SocketIo => socketio::describe(d, layer),
        Proto::Http => http::describe_layer(d, layer),
        Proto::Reg(p) => (p.0.describe)(d, layer),
        _ => data::describe(d, layer),
    }
}
