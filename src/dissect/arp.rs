//! ARP, the Address Resolution Protocol (RFC 826).
//!
//! # The idea
//!
//! To send an IP packet to a neighbour on the same link, a host must put the neighbour's MAC
//! address in the Ethernet header, but all it knows is the neighbour's IP address. ARP finds
//! the one from the other. The host broadcasts a *request* to every card on the link: "who has
//! 192.168.1.7? Tell 192.168.1.2 (at aa:bb:…)". The owner of that address answers with a
//! *reply*, sent straight back: "192.168.1.7 is at cc:dd:…". Both sides keep the answer in
//! their *ARP cache* for a while (`ip neigh` shows it), so not every packet needs a question.
//!
//! ARP was designed for any kind of link and any network protocol, so the packet first says
//! which kinds of address it carries and how long each is; for Ethernet and IPv4 that is 6 and
//! 4 bytes. Then come the sender's two addresses and the target's two. In a request the
//! target's hardware address is what is being asked for, so it is left as zeros.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Hardware type         |         Protocol type         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Hardware size | Protocol size |            Opcode             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Sender hardware address (hardware size bytes)          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Sender protocol address (protocol size bytes)          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Target hardware address                                |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        Target protocol address                                |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use etherparse::ArpPacketSlice;

use super::cx::{Cx, Next};
use super::ethernet::ethertype_name;
use super::fields::{FieldDef, Fmt};
use super::model::{Dissection, Layer, ProblemKind, Proto, Value};

/// The fixed part, before the addresses.
pub const FIXED_LEN: usize = 8;

/// The fixed part of the packet, in diagram order.
pub const FIELDS: &[FieldDef] = &[
    FieldDef::new(
        "arp.hw.type",
        "Hardware type",
        0,
        2,
        Fmt::Dec,
        "What kind of link addresses this packet carries: 1 is Ethernet.",
    ),
    FieldDef::new(
        "arp.proto.type",
        "Protocol type",
        2,
        2,
        Fmt::Hex,
        "What kind of network addresses are being resolved, as an EtherType: 0x0800 is IPv4.",
    ),
    FieldDef::new(
        "arp.hw.size",
        "Hardware size",
        4,
        1,
        Fmt::Dec,
        "How many bytes a hardware address has (6 for an Ethernet MAC address).",
    ),
    FieldDef::new(
        "arp.proto.size",
        "Protocol size",
        5,
        1,
        Fmt::Dec,
        "How many bytes a network address has (4 for IPv4).",
    ),
    FieldDef::new(
        "arp.opcode",
        "Opcode",
        6,
        2,
        Fmt::Dec,
        "What the packet does: 1 asks (request), 2 answers (reply).",
    ),
];

/// What an opcode means.
pub fn opcode_name(op: u64) -> &'static str {
    match op {
        1 => "request",
        2 => "reply",
        3 => "reverse request (RARP)",
        4 => "reverse reply (RARP)",
        8 => "inverse request (InARP)",
        9 => "inverse reply (InARP)",
        _ => "",
    }
}

/// What a hardware type means (the common ones).
pub fn hw_type_name(t: u64) -> &'static str {
    match t {
        1 => "Ethernet",
        6 => "IEEE 802",
        15 => "Frame Relay",
        16 => "ATM",
        20 => "serial line",
        24 => "IEEE 1394 (FireWire)",
        32 => "InfiniBand",
        _ => "",
    }
}

/// One of the four addresses: its names (as a MAC or IPv4 address, or as plain bytes when the
/// sizes are unusual) and what it is for.
struct Addr {
    typed: &'static str,
    raw: &'static str,
    label: &'static str,
    explain: &'static str,
}

const SENDER_HW: Addr = Addr {
    typed: "arp.src.hw_mac",
    raw: "arp.src.hw",
    label: "Sender MAC address",
    explain: "The link address of the host sending this packet; the receiver can note it in its ARP cache straight away.",
};
const SENDER_PROTO: Addr = Addr {
    typed: "arp.src.proto_ipv4",
    raw: "arp.src.proto",
    label: "Sender IP address",
    explain: "The network address of the host sending this packet.",
};
const TARGET_HW: Addr = Addr {
    typed: "arp.dst.hw_mac",
    raw: "arp.dst.hw",
    label: "Target MAC address",
    explain: "The link address being asked about: in a request it is not known yet and is left as zeros; in a reply it is the MAC address of the host that asked (RFC 826).",
};
const TARGET_PROTO: Addr = Addr {
    typed: "arp.dst.proto_ipv4",
    raw: "arp.dst.proto",
    label: "Target IP address",
    explain: "The network address whose owner the request is looking for (in a reply: who asked).",
};

pub fn dissect(cx: &mut Cx, at: usize, end: usize) -> Next {
    cx.begin(Proto::Arp, at);
    let n = cx.read_all_within(FIELDS, at, end);
    if let Some(i) = cx.field_index("arp.hw.type") {
        let v = cx.d.fields[i].value.as_u64().unwrap_or(0);
        cx.d.fields[i].meaning = hw_type_name(v).into();
    }
    if let Some(i) = cx.field_index("arp.proto.type") {
        let v = cx.d.fields[i].value.as_u64().unwrap_or(0);
        cx.d.fields[i].meaning = ethertype_name(v as u16).into();
    }
    if let Some(i) = cx.field_index("arp.opcode") {
        let v = cx.d.fields[i].value.as_u64().unwrap_or(0);
        cx.d.fields[i].meaning = opcode_name(v).into();
    }
    if n < FIELDS.len() {
        cx.fits("An ARP header", at, FIXED_LEN, end);
        return Next::Done;
    }
    let hw_type = cx.u16_at(at).unwrap_or(0);
    let proto_type = cx.u16_at(at + 2).unwrap_or(0);
    let hln = cx.u8_at(at + 4).unwrap_or(0) as usize;
    let pln = cx.u8_at(at + 5).unwrap_or(0) as usize;
    // Wireshark shows a hardware address as a MAC address only on Ethernet-like links with
    // 6-byte addresses, and a protocol address as IPv4 only when it says IPv4 with 4 bytes.
    let mac = (hw_type == 1 || hw_type == 6) && hln == 6;
    let ipv4 = proto_type == 0x0800 && pln == 4;

    // etherparse checks that all four addresses are there (its `from_slice` needs the fixed
    // part plus twice each address size); the fields are then read one by one below.
    let room = end.min(cx.data().len());
    let whole =
        cx.d.data
            .get(at..room)
            .is_some_and(|s| ArpPacketSlice::from_slice(s).is_ok());

    let mut i = at + FIXED_LEN;
    for (addr, size, typed) in [
        (&SENDER_HW, hln, mac),
        (&SENDER_PROTO, pln, ipv4),
        (&TARGET_HW, hln, mac),
        (&TARGET_PROTO, pln, ipv4),
    ] {
        if i + size > room {
            break;
        }
        let value = match (typed, cx.bytes(i, size)) {
            (true, Some(b)) if size == 6 => Value::Mac(b.try_into().unwrap_or([0; 6])),
            (true, Some(b)) if size == 4 => Value::Ipv4(b.try_into().unwrap_or([0; 4])),
            _ => Value::Bytes,
        };
        let name = if typed { addr.typed } else { addr.raw };
        cx.add(name, addr.label, i, size, value, addr.explain);
        i += size;
    }
    let len = FIXED_LEN + 2 * hln + 2 * pln;
    if !whole {
        cx.fits("An ARP packet with its four addresses", at, len, end);
        return Next::Done;
    }
    if hln == 0 || pln == 0 {
        cx.problem(
            ProblemKind::Malformed,
            at + 4,
            "an ARP packet must give non-zero address sizes",
        );
    }
    cx.set_len(len);
    Next::Done
}

/// Append the layer's description (`ARP request: who has 10.0.0.2? Tell 10.0.0.1 (…)`) to `s`
/// (see [`crate::dissect::describe_into`]).
pub fn describe_into(d: &Dissection, layer: &Layer, s: &mut String) {
    let put = |s: &mut String, a: &Addr| match d
        .layer_field(layer, a.typed)
        .or_else(|| d.layer_field(layer, a.raw))
    {
        Some(f) => f.write_tshark(&d.data, s),
        None => s.push('?'),
    };
    let op = d
        .layer_field(layer, "arp.opcode")
        .and_then(|f| f.value.as_u64());
    match op {
        Some(1) => {
            s.push_str("ARP request: who has ");
            put(s, &TARGET_PROTO);
            s.push_str("? Tell ");
            put(s, &SENDER_PROTO);
            s.push_str(" (");
            put(s, &SENDER_HW);
            s.push(')');
        }
        Some(2) => {
            s.push_str("ARP reply: ");
            put(s, &SENDER_PROTO);
            s.push_str(" is at ");
            put(s, &SENDER_HW);
        }
        Some(n) => {
            use std::fmt::Write;
            let _ = write!(s, "ARP opcode {n} ({})", opcode_name(n));
        }
        None => s.push_str("ARP"),
    }
}

#[cfg(test)]
mod tests {
    use crate::dissect::{Frame, LinkType, dissect};

    fn eth_arp(body: &[u8], wire: Option<u32>) -> crate::dissect::Dissection {
        let mut b = vec![0xff; 6];
        b.extend_from_slice(&[0, 1, 2, 3, 4, 5, 0x08, 0x06]);
        b.extend_from_slice(body);
        let wire_len = wire.unwrap_or(b.len() as u32);
        dissect(&Frame {
            number: 1,
            ts: None,
            link: LinkType::ETHERNET,
            wire_len,
            data: &b,
        })
    }

    #[test]
    fn request_fields() {
        let body = [
            0, 1, 8, 0, 6, 4, 0, 1, 0, 1, 2, 3, 4, 5, 192, 168, 1, 2, 0, 0, 0, 0, 0, 0, 192, 168,
            1, 7,
        ];
        let d = eth_arp(&body, None);
        assert_eq!(d.uint("arp.opcode"), Some(1));
        assert_eq!(
            d.field("arp.src.hw_mac").unwrap().tshark(&d.data),
            "00:01:02:03:04:05"
        );
        assert_eq!(
            d.field("arp.dst.proto_ipv4").unwrap().tshark(&d.data),
            "192.168.1.7"
        );
        assert!(!d.is_malformed());
        let layer = d.layer(crate::dissect::Proto::Arp).unwrap();
        assert_eq!(
            crate::dissect::describe(&d, layer),
            "ARP request: who has 192.168.1.7? Tell 192.168.1.2 (00:01:02:03:04:05)"
        );
    }

    #[test]
    fn odd_sizes_become_bytes() {
        // Hardware type 0x3030 with 14-byte hardware addresses.
        let mut body = vec![0x30, 0x30, 8, 0, 14, 4, 0, 1];
        body.extend_from_slice(&[0x30; 36]);
        let d = eth_arp(&body, None);
        assert_eq!(d.field("arp.src.hw").unwrap().len, 14);
        assert!(d.field("arp.src.hw_mac").is_none());
        assert_eq!(
            d.field("arp.dst.proto_ipv4").unwrap().tshark(&d.data),
            "48.48.48.48"
        );
    }

    #[test]
    fn cut_short_keeps_what_was_there() {
        let body = [0, 1, 8, 0, 6, 4, 0, 2, 0, 1, 2, 3, 4, 5, 10, 0];
        let d = eth_arp(&body, Some(60));
        assert!(d.field("arp.src.hw_mac").is_some());
        assert!(d.field("arp.src.proto_ipv4").is_none());
        assert!(d.is_malformed());
    }
}
