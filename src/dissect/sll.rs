//! Linux cooked capture, v1 (LINKTYPE_LINUX_SLL, 113) and v2 (LINKTYPE_LINUX_SLL2, 276).
//!
//! # The idea
//!
//! When you capture on Linux's `any` pseudo-interface (`tcpdump -i any`), packets come from
//! many different kinds of link at once: Ethernet cards, the loopback device, a VPN tunnel
//! that has no link header at all. Their real link headers have nothing in common, so the
//! kernel throws them away and writes a small header of its own instead, the same for every
//! kind of link. It is *cooked*: not a header anyone sent on a wire, but a summary the
//! capturing kernel made of what it knew:
//!
//! * the *packet type*: was the packet addressed to us, broadcast, multicast, meant for
//!   another host (seen because the card listened to everything), or sent by us;
//! * the *link-layer address type* (an `ARPHRD_` number: 1 Ethernet, 772 loopback, 778 a GRE
//!   tunnel…) and the sender's link-layer address, if the link has one;
//! * the *protocol* of the payload, which for most links is an EtherType (0x0800 IPv4).
//!
//! Version 2 adds the number of the interface the packet was seen on (so `-i any` captures
//! can say which card), and moves the protocol to the front.
//!
//! ```text
//!  v1 (16 bytes)
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Packet type          |   Link-layer address type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Link-layer address length    |                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//! |          Link-layer address (8 bytes, zero-padded)            |
//! +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                               |        Protocol type          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//!  v2 (20 bytes)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Protocol type          |           Reserved            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Interface index                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Link-layer address type     |  Packet type  |Address length |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Link-layer address (8 bytes, zero-padded)            |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The format is described at <https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html> and
//! `LINKTYPE_LINUX_SLL2.html`.

use super::cx::{Cx, Next};
use super::ethernet::ethertype_name;
use super::fields::{FieldDef, Fmt};
use super::model::{Dissection, Layer, Proto, Value};
use std::fmt::Write as _;

/// Length of a v1 header.
pub const V1_LEN: usize = 16;
/// Length of a v2 header.
pub const V2_LEN: usize = 20;
/// The address field is always 8 bytes; a shorter address is padded with zeros.
const ADDR_LEN: usize = 8;

const PKTTYPE_EXPLAIN: &str = "How the packet reached this host: addressed to us, broadcast, multicast, meant for another host, or sent by us.";
const HATYPE_EXPLAIN: &str = "What kind of link the packet was seen on, as a Linux ARPHRD_ number (1 Ethernet, 772 loopback, 778 GRE tunnel).";
const HALEN_EXPLAIN: &str = "How many bytes of the address field hold the sender's link-layer address (0 if the link has none).";
const IFINDEX_EXPLAIN: &str =
    "The number Linux gave the interface the packet was seen on (`ip link` lists them).";

/// The v1 header, in the order of its diagram (the address and protocol are added by hand,
/// because their names depend on what the header says).
pub const V1_FIELDS: &[FieldDef] = &[
    FieldDef::new(
        "sll.pkttype",
        "Packet type",
        0,
        2,
        Fmt::Dec,
        PKTTYPE_EXPLAIN,
    ),
    FieldDef::new(
        "sll.hatype",
        "Link-layer address type",
        2,
        2,
        Fmt::Dec,
        HATYPE_EXPLAIN,
    ),
    FieldDef::new(
        "sll.halen",
        "Link-layer address length",
        4,
        2,
        Fmt::Dec,
        HALEN_EXPLAIN,
    ),
];

/// The v2 header up to the address.
pub const V2_FIELDS: &[FieldDef] = &[
    // The protocol comes first in v2; it is read by hand in `protocol()`.
    FieldDef::new(
        "sll.reserved",
        "Reserved",
        2,
        2,
        Fmt::Hex,
        "Two bytes kept for future use; zero. (Wireshark shows no field for them; the name is wirelab's.)",
    ),
    FieldDef::new(
        "sll.ifindex",
        "Interface index",
        4,
        4,
        Fmt::Dec,
        IFINDEX_EXPLAIN,
    ),
    FieldDef::new(
        "sll.hatype",
        "Link-layer address type",
        8,
        2,
        Fmt::Dec,
        HATYPE_EXPLAIN,
    ),
    FieldDef::new(
        "sll.pkttype",
        "Packet type",
        10,
        1,
        Fmt::Dec,
        PKTTYPE_EXPLAIN,
    ),
    FieldDef::new(
        "sll.halen",
        "Link-layer address length",
        11,
        1,
        Fmt::Dec,
        HALEN_EXPLAIN,
    ),
];

/// What a packet type value means.
pub fn pkttype_name(t: u64) -> &'static str {
    match t {
        0 => "unicast to us",
        1 => "broadcast",
        2 => "multicast",
        3 => "unicast to another host",
        4 => "sent by us",
        _ => "",
    }
}

/// What a Linux ARPHRD_ link type number means (the common ones).
pub fn hatype_name(t: u64) -> &'static str {
    match t {
        1 => "Ethernet",
        6 => "IEEE 802",
        24 => "IEEE 1394 (FireWire)",
        32 => "InfiniBand",
        512 => "PPP",
        768 => "IP-in-IP tunnel",
        772 => "Loopback",
        776 => "IPv6-in-IPv4 tunnel (SIT)",
        778 => "GRE tunnel",
        801 => "IEEE 802.11 (Wi-Fi)",
        803 => "IEEE 802.11 with radiotap header",
        824 => "Netlink",
        65534 => "no link header (e.g. a TUN device)",
        _ => "",
    }
}

/// Linux's own protocol numbers, used where the protocol field is too small to be an
/// EtherType (`ETH_P_…` values below 0x0600 in `<linux/if_ether.h>`).
fn linux_proto_name(p: u16) -> &'static str {
    match p {
        0x0001 => "Novell 802.3 frames without 802.2 LLC",
        0x0002 => "AX.25",
        0x0003 => "all protocols",
        0x0004 => "802.2 LLC frames",
        0x0005 => "SNAP",
        0x000c => "CAN bus",
        0x000d => "CAN FD",
        0x0010 => "LocalTalk",
        0x0016 => "IEEE 802.15.4",
        _ => "",
    }
}

/// Linux cooked capture v1.
pub fn dissect_v1(cx: &mut Cx, at: usize, end: usize) -> Next {
    cx.begin(Proto::Sll, at);
    let n = cx.read_all(V1_FIELDS, at);
    name_codes(cx);
    if n < V1_FIELDS.len() {
        cx.truncated("A Linux cooked (v1) header", at, V1_LEN);
        return Next::Done;
    }
    let hatype = cx.u16_at(at + 2).unwrap_or(0);
    let halen = cx.u16_at(at + 4).unwrap_or(0) as usize;
    if !address(cx, at + 6, hatype, halen) {
        cx.truncated("A Linux cooked (v1) header", at, V1_LEN);
        return Next::Done;
    }
    protocol(cx, at + 14, at, hatype, V1_LEN, end)
}

/// Linux cooked capture v2.
pub fn dissect_v2(cx: &mut Cx, at: usize, end: usize) -> Next {
    cx.begin(Proto::Sll2, at);
    // The protocol is the first field in v2, but what follows it decides only at the end.
    let Some(proto) = cx.u16_at(at) else {
        cx.truncated("A Linux cooked (v2) header", at, V2_LEN);
        return Next::Done;
    };
    let hatype = cx.u16_at(at + 8).unwrap_or(0);
    let (name, explain) = protocol_field(hatype, proto);
    cx.add(
        name,
        "Protocol",
        at,
        2,
        protocol_value(name, proto),
        explain,
    );
    cx.meaning(protocol_meaning(name, proto));
    let n = cx.read_all(V2_FIELDS, at);
    name_codes(cx);
    if n < V2_FIELDS.len() {
        cx.truncated("A Linux cooked (v2) header", at, V2_LEN);
        return Next::Done;
    }
    let halen = cx.u8_at(at + 11).unwrap_or(0) as usize;
    if !address(cx, at + 12, hatype, halen) {
        cx.truncated("A Linux cooked (v2) header", at, V2_LEN);
        return Next::Done;
    }
    cx.set_len(V2_LEN);
    next_for(cx, hatype, proto, at + V2_LEN, end)
}

/// Put meanings on the packet type and link type just read.
fn name_codes(cx: &mut Cx) {
    let Some(layer) = cx.d.layers.last() else {
        return;
    };
    let range = layer.fields.start as usize..layer.fields.end as usize;
    for f in &mut cx.d.fields[range] {
        let v = f.value.as_u64().unwrap_or(0);
        match f.name {
            "sll.pkttype" => f.meaning = pkttype_name(v).into(),
            "sll.hatype" => f.meaning = hatype_name(v).into(),
            _ => {}
        }
    }
}

/// The 8-byte address field: the sender's address (as many bytes as the length says), then
/// unused padding. Returns false if the frame ends inside it.
fn address(cx: &mut Cx, at: usize, hatype: u16, halen: usize) -> bool {
    if cx.bytes(at, ADDR_LEN).is_none() {
        return false;
    }
    let used = halen.min(ADDR_LEN);
    if used > 0 {
        let explain =
            "The link-layer address of the packet's sender (on Ethernet, its MAC address).";
        let value = match (used, cx.bytes(at, used)) {
            (6, Some(b)) => Value::Mac(b.try_into().unwrap_or([0; 6])),
            (4, Some(b)) if hatype != 1 => Value::Ipv4(b.try_into().unwrap_or([0; 4])),
            _ => Value::Bytes,
        };
        let name = match value {
            Value::Mac(_) => "sll.src.eth",
            Value::Ipv4(_) => "sll.src.ipv4",
            _ => "sll.src.other",
        };
        cx.add(name, "Source", at, used, value, explain);
    }
    if used < ADDR_LEN {
        cx.add(
            "sll.unused",
            "Unused",
            at + used,
            ADDR_LEN - used,
            Value::Bytes,
            "The rest of the 8-byte address field, not needed by this link's shorter address.",
        );
    }
    true
}

/// Which field name the protocol gets: an EtherType for most links, a GRE protocol type for
/// GRE tunnels (also EtherType values), or one of Linux's small protocol numbers.
fn protocol_field(hatype: u16, proto: u16) -> (&'static str, &'static str) {
    if hatype == 778 {
        (
            "sll.gretype",
            "The protocol inside the GRE tunnel, named by an EtherType value.",
        )
    } else if proto < 0x0600 {
        (
            "sll.ltype",
            "A Linux protocol number (values this small are not EtherTypes): 4 means the payload starts with an 802.2 LLC header.",
        )
    } else {
        (
            "sll.etype",
            "The EtherType of the payload, as an Ethernet header would give it (0x0800 IPv4, 0x86dd IPv6, 0x0806 ARP).",
        )
    }
}

fn protocol_value(_name: &str, proto: u16) -> Value {
    Value::Hex {
        value: proto as u64,
        digits: 4,
    }
}

fn protocol_meaning(name: &str, proto: u16) -> &'static str {
    if name == "sll.ltype" {
        linux_proto_name(proto)
    } else {
        ethertype_name(proto)
    }
}

/// Read the v1 protocol field at `field_at` and decide what follows the header.
fn protocol(
    cx: &mut Cx,
    field_at: usize,
    at: usize,
    hatype: u16,
    hdr_len: usize,
    end: usize,
) -> Next {
    let Some(proto) = cx.u16_at(field_at) else {
        cx.truncated("A Linux cooked (v1) header", at, hdr_len);
        return Next::Done;
    };
    let (name, explain) = protocol_field(hatype, proto);
    cx.add(
        name,
        "Protocol",
        field_at,
        2,
        protocol_value(name, proto),
        explain,
    );
    cx.meaning(protocol_meaning(name, proto));
    cx.set_len(hdr_len);
    next_for(cx, hatype, proto, at + hdr_len, end)
}

fn next_for(cx: &mut Cx, hatype: u16, proto: u16, at: usize, end: usize) -> Next {
    if hatype == 778 || proto >= 0x0600 {
        Next::EtherType { ty: proto, at, end }
    } else if proto == 0x0004 {
        super::llc::dissect(cx, at, end)
    } else {
        Next::Data { at, end }
    }
}

pub fn describe(d: &Dissection, layer: &Layer) -> String {
    let get = |n| d.layer_field(layer, n).map(|f| f.display(&d.data));
    let mut s = layer.proto.name().to_string();
    if let Some(t) = d.layer_field(layer, "sll.pkttype") {
        if t.meaning.is_empty() {
            let _ = write!(s, ", packet type {}", t.tshark(&d.data));
        } else {
            let _ = write!(s, ", {}", t.meaning);
        }
    }
    if let Some(i) = get("sll.ifindex") {
        let _ = write!(s, ", interface {i}");
    }
    for name in ["sll.src.eth", "sll.src.ipv4", "sll.src.other"] {
        if let Some(a) = get(name) {
            let _ = write!(s, ", from {a}");
        }
    }
    for name in ["sll.etype", "sll.gretype", "sll.ltype"] {
        if let Some(p) = get(name) {
            let _ = write!(s, ", protocol {p}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use crate::dissect::dissect;
    use crate::dissect::model::{Frame, LinkType};

    fn frame(link: LinkType, bytes: &[u8]) -> crate::dissect::Dissection {
        dissect(&Frame {
            number: 1,
            ts: None,
            link,
            wire_len: bytes.len() as u32,
            data: bytes,
        })
    }

    #[test]
    fn v1_ethernet_address_and_ethertype() {
        let mut b = vec![0, 4, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x06];
        b.extend_from_slice(&[0; 28]);
        let d = frame(LinkType::LINUX_SLL, &b);
        assert_eq!(d.field("sll.pkttype").unwrap().tshark(&d.data), "4");
        assert_eq!(
            d.field("sll.src.eth").unwrap().tshark(&d.data),
            "01:02:03:04:05:06"
        );
        assert_eq!(d.field("sll.unused").unwrap().len, 2);
        assert_eq!(d.field("sll.etype").unwrap().tshark(&d.data), "0x0806");
        assert!(d.has(crate::dissect::Proto::Arp));
    }

    #[test]
    fn v2_reads_interface_and_protocol_first() {
        let mut b = vec![
            0x86, 0xdd, 0, 0, 0, 0, 0, 3, 0x03, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        b.extend_from_slice(&[0x60, 0, 0, 0, 0, 0, 59, 64]);
        b.extend_from_slice(&[0; 32]);
        let d = frame(LinkType::LINUX_SLL2, &b);
        assert_eq!(d.field("sll.etype").unwrap().tshark(&d.data), "0x86dd");
        assert_eq!(d.uint("sll.ifindex"), Some(3));
        assert_eq!(d.uint("sll.hatype"), Some(772));
        assert_eq!(d.field("sll.unused").unwrap().len, 8);
        assert!(d.has(crate::dissect::Proto::Ipv6));
    }

    #[test]
    fn v1_cut_short_is_truncated() {
        let d = frame(LinkType::LINUX_SLL, &[0, 0, 0, 1, 0]);
        assert!(d.is_malformed());
        assert!(d.field("sll.hatype").is_some());
        assert!(d.field("sll.halen").is_none());
    }
}
