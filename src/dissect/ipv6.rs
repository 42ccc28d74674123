//! IPv6, the Internet Protocol version 6 (RFC 8200), with its extension headers.
//!
//! # The idea
//!
//! IPv6 does IPv4's job, getting a packet from one host to another across many networks, with
//! addresses four times as long (128 bits, written in hex: `2001:db8::1`), because the world
//! ran out of 32-bit IPv4 addresses.
//!
//! Its header is simpler than IPv4's, and always 40 bytes. There is no header checksum (the
//! link and the transport already check), and routers never fragment: a sender that meets a
//! smaller link hears back an ICMPv6 "packet too big" and sends smaller packets. The *hop
//! limit* is IPv4's TTL under an honest name. The *flow label* lets a sender mark packets that
//! belong together so routers can keep them on one path.
//!
//! Everything optional lives in *extension headers*, chained between the fixed header and the
//! payload. Each one starts with a *next header* byte naming what follows it, just as the fixed
//! header's does, so a reader walks the chain until it reaches a protocol it carries (TCP 6,
//! UDP 17, ICMPv6 58):
//!
//! * 0, hop-by-hop options: read by every router on the way (router alert, jumbo payload);
//! * 43, routing: a list of addresses the packet must visit on its way;
//! * 44, fragment: the sender split this packet, and this is one piece;
//! * 60, destination options: for the destination only (a mobile host's home address);
//! * 59, no next header: nothing follows.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Traffic Class |           Flow Label                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Payload Length        |  Next Header  |   Hop Limit   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                         Source Address                        |
//! +                          (128 bits)                           +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                      Destination Address                      |
//! +                          (128 bits)                           +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//!  An extension header (hop-by-hop, routing, destination options):
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Next Header  |  Hdr Ext Len  |  (type-specific data, options…)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  Hdr Ext Len counts 8-byte units after the first 8 bytes.
//!
//!  The fragment header (RFC 8200 § 4.5):
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Identification                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Wireshark shows the extension headers as protocols of their own (`ipv6.hopopts`,
//! `ipv6.routing`, `ipv6.fraghdr`, `ipv6.dstopts`); here they belong to the IPv6 layer, each
//! field one level deeper in the tree, because they are part of the IPv6 packet's header.

use etherparse::{Ipv6FragmentHeaderSlice, Ipv6RawExtHeaderSlice};
use std::fmt::Write as _;

use super::cx::{Cx, IpPair, Next};
use super::fields::{FieldDef, Fmt};
use super::ip::IpHeader;
use super::ipv4::protocol_name;
use super::model::{Dissection, Layer, ProblemKind, Proto, Value};

pub const HEADER_LEN: usize = 40;

/// The fixed header, in the order of the RFC 8200 § 3 diagram.
pub const FIELDS: &[FieldDef] = &[
    FieldDef::bits(
        "ipv6.version",
        "Version",
        0,
        1,
        0xf0,
        Fmt::Dec,
        "Which version of IP this is; 6 here.",
    ),
    FieldDef::bits(
        "ip.version",
        "Version (as ip.version)",
        0,
        1,
        0xf0,
        Fmt::Dec,
        "The same four bits under IPv4's field name, as Wireshark also gives them, so one filter (ip.version == 6) finds packets of either version.",
    )
    .sub(),
    FieldDef::bits(
        "ipv6.tclass",
        "Traffic class",
        0,
        4,
        0x0ff0_0000,
        Fmt::Hex,
        "IPv4's type-of-service byte again: a priority class for routers (DSCP) and congestion signals (ECN).",
    ),
    FieldDef::bits(
        "ipv6.tclass.dscp",
        "DSCP",
        0,
        4,
        0x0fc0_0000,
        Fmt::Dec,
        "Differentiated Services Code Point: a traffic class a network may give priority to (0 is ordinary best effort).",
    )
    .sub(),
    FieldDef::bits(
        "ipv6.tclass.ecn",
        "ECN",
        0,
        4,
        0x0030_0000,
        Fmt::Dec,
        "Explicit Congestion Notification: a router can set this to 3 to say \"slow down\" instead of dropping the packet.",
    )
    .sub(),
    FieldDef::bits(
        "ipv6.flow",
        "Flow label",
        1,
        3,
        0x0f_ffff,
        Fmt::Hex,
        "A number the sender gives all packets of one flow (one connection), so routers can keep them on the same path; 0 if unused.",
    ),
    FieldDef::new(
        "ipv6.plen",
        "Payload length",
        4,
        2,
        Fmt::Dec,
        "Bytes after this 40-byte header: extension headers and data. (IPv4 counts its header in; IPv6 does not.)",
    ),
    FieldDef::new(
        "ipv6.nxt",
        "Next header",
        6,
        1,
        Fmt::Dec,
        "What follows this header: an extension header (0, 43, 44, 60) or the payload's protocol (6 TCP, 17 UDP, 58 ICMPv6).",
    ),
    FieldDef::new(
        "ipv6.hlim",
        "Hop limit",
        7,
        1,
        Fmt::Dec,
        "Each router lowers this by one and drops the packet at zero, so packets caught in a routing loop die out (IPv4's TTL).",
    ),
    FieldDef::new(
        "ipv6.src",
        "Source address",
        8,
        16,
        Fmt::Ipv6,
        "The IPv6 address of the host that sent the packet.",
    ),
    FieldDef::new(
        "ipv6.dst",
        "Destination address",
        24,
        16,
        Fmt::Ipv6,
        "The IPv6 address the packet is for (with a routing header: the next address to visit).",
    ),
];

/// The first two bytes every options header and the routing header share.
const EXT_NXT_EXPLAIN: &str =
    "What follows this extension header, numbered like the fixed header's next header.";
const EXT_LEN_EXPLAIN: &str =
    "The header's length in 8-byte units, not counting the first 8 bytes.";
const EXT_LEN_OCT_EXPLAIN: &str = "The header's whole length in bytes: (length + 1) × 8.";

/// The hop-by-hop options header (next header value 0).
pub const HOPOPTS_FIELDS: &[FieldDef] = &[
    FieldDef::new(
        "ipv6.hopopts.nxt",
        "Next header",
        0,
        1,
        Fmt::Dec,
        EXT_NXT_EXPLAIN,
    )
    .sub(),
    FieldDef::new(
        "ipv6.hopopts.len",
        "Length",
        1,
        1,
        Fmt::Dec,
        EXT_LEN_EXPLAIN,
    )
    .sub(),
];

/// The destination options header (next header value 60).
pub const DSTOPTS_FIELDS: &[FieldDef] = &[
    FieldDef::new(
        "ipv6.dstopts.nxt",
        "Next header",
        0,
        1,
        Fmt::Dec,
        EXT_NXT_EXPLAIN,
    )
    .sub(),
    FieldDef::new(
        "ipv6.dstopts.len",
        "Length",
        1,
        1,
        Fmt::Dec,
        EXT_LEN_EXPLAIN,
    )
    .sub(),
];

/// The routing header (next header value 43).
pub const ROUTING_FIELDS: &[FieldDef] = &[
    FieldDef::new(
        "ipv6.routing.nxt",
        "Next header",
        0,
        1,
        Fmt::Dec,
        EXT_NXT_EXPLAIN,
    )
    .sub(),
    FieldDef::new(
        "ipv6.routing.len",
        "Length",
        1,
        1,
        Fmt::Dec,
        EXT_LEN_EXPLAIN,
    )
    .sub(),
    FieldDef::new(
        "ipv6.routing.type",
        "Type",
        2,
        1,
        Fmt::Dec,
        "Which kind of routing header: 0 a plain list of addresses (now deprecated: it allowed traffic to bounce between hosts), 2 Mobile IPv6, 4 segment routing.",
    )
    .sub(),
    FieldDef::new(
        "ipv6.routing.segleft",
        "Segments left",
        3,
        1,
        Fmt::Dec,
        "How many listed addresses the packet still has to visit.",
    )
    .sub(),
];

/// The fragment header (next header value 44), RFC 8200 § 4.5.
pub const FRAG_FIELDS: &[FieldDef] = &[
    FieldDef::new(
        "ipv6.fraghdr.nxt",
        "Next header",
        0,
        1,
        Fmt::Dec,
        EXT_NXT_EXPLAIN,
    )
    .sub(),
    FieldDef::new(
        "ipv6.fraghdr.reserved_octet",
        "Reserved",
        1,
        1,
        Fmt::Hex,
        "Unused; zero.",
    )
    .sub(),
    FieldDef::bits(
        "ipv6.fraghdr.offset",
        "Fragment offset",
        2,
        2,
        0xfff8,
        Fmt::Dec,
        "Where this piece's data belongs in the original packet's payload, in 8-byte units.",
    )
    .sub(),
    FieldDef::bits(
        "ipv6.fraghdr.reserved_bits",
        "Reserved bits",
        2,
        2,
        0x0006,
        Fmt::Dec,
        "Unused; zero.",
    )
    .sub(),
    FieldDef::bits(
        "ipv6.fraghdr.more",
        "More fragments",
        2,
        2,
        0x0001,
        Fmt::Bool,
        "Set on every piece except the last.",
    )
    .sub(),
    FieldDef::new(
        "ipv6.fraghdr.ident",
        "Identification",
        4,
        4,
        Fmt::Hex,
        "A number shared by all pieces of one original packet, so the receiver can put them back together.",
    )
    .sub(),
];

/// The type byte of an option in a hop-by-hop or destination options header.
const OPT_TYPE: &[FieldDef] = &[
    FieldDef::new(
        "ipv6.opt.type",
        "Option type",
        0,
        1,
        Fmt::Hex,
        "Which option this is. Its top bits tell a host that does not know it what to do.",
    ),
    FieldDef::bits(
        "ipv6.opt.type.action",
        "Action",
        0,
        1,
        0xc0,
        Fmt::Dec,
        "What to do if the option is unknown: 0 skip it, 1 drop the packet, 2 and 3 drop it and send an ICMPv6 error.",
    )
    .sub(),
    FieldDef::bits(
        "ipv6.opt.type.change",
        "May change",
        0,
        1,
        0x20,
        Fmt::Bool,
        "Set if routers may change the option's data on the way.",
    )
    .sub(),
];

const OPT_LEN: FieldDef = FieldDef::new(
    "ipv6.opt.length",
    "Length",
    1,
    1,
    Fmt::Dec,
    "How many bytes of data the option has after its type and length bytes.",
);

/// The well-known options.
fn option_name(t: u8) -> &'static str {
    match t {
        0x00 => "Pad1",
        0x01 => "PadN",
        0x05 => "Router Alert",
        0x07 => "CALIPSO",
        0x26 => "Quick-Start",
        0x63 => "RPL option",
        0xc2 => "Jumbo Payload",
        0xc9 => "Home Address",
        _ => "",
    }
}

/// What an extension header is called in a problem message.
fn ext_name(nh: u8) -> &'static str {
    match nh {
        0 => "An IPv6 hop-by-hop options header",
        43 => "An IPv6 routing header",
        44 => "An IPv6 fragment header",
        60 => "An IPv6 destination options header",
        _ => "An IPv6 extension header",
    }
}

pub fn dissect(cx: &mut Cx, at: usize, end: usize) -> Next {
    cx.begin(Proto::Ipv6, at);
    cx.ip_depth += 1;
    // For the one-line summary alone (lean), a whole fixed header of version 6 is read only
    // into the typed view below, as IPv4's is: the summary takes its addresses (and
    // `describe` its hop limit) from there, so the fields would go unseen.
    let lean_whole = cx.lean
        && at + HEADER_LEN <= end
        && cx.bytes(at, HEADER_LEN).is_some_and(|b| b[0] >> 4 == 6);
    if !lean_whole {
        if cx.read_all_within(&FIELDS[..2], at, end) < 2 {
            cx.fits("An IPv6 header", at, HEADER_LEN, end);
            return Next::Done;
        }
        let version = cx.u8_at(at).unwrap_or(0) >> 4;
        if version != 6 {
            cx.problem(
                ProblemKind::Malformed,
                at,
                format!("the version field must be 6 in an IPv6 header, but it is {version}"),
            );
            return Next::Done;
        }
        if cx.read_all_within(&FIELDS[2..], at, end) < FIELDS.len() - 2 {
            cx.fits("An IPv6 header", at, HEADER_LEN, end);
            return Next::Done;
        }
    }
    cx.set_len(HEADER_LEN);
    let plen = cx.u16_at(at + 4).unwrap_or(0) as usize;
    let mut nxt = cx.u8_at(at + 6).unwrap_or(0);
    cx.set_meaning("ipv6.nxt", protocol_name(nxt));
    let (mut src, mut dst) = ([0u8; 16], [0u8; 16]);
    src.copy_from_slice(cx.bytes(at + 8, 16).unwrap_or(&[0; 16]));
    dst.copy_from_slice(cx.bytes(at + 24, 16).unwrap_or(&[0; 16]));
    // The typed view of the fixed header; the extension headers below complete it.
    let view = cx.d.ip.len();
    cx.d.ip.push(IpHeader {
        layer: (cx.d.layers.len() - 1) as u16,
        version: 6,
        src: src.into(),
        dst: dst.into(),
        ttl: cx.u8_at(at + 7).unwrap_or(0),
        protocol: nxt,
        header_len: HEADER_LEN as u16,
        total_len: (HEADER_LEN + plen) as u32,
        id: 0,
        dont_fragment: false,
        more_fragments: false,
        frag_offset: 0,
        quoted: cx.in_error,
    });

    // A payload length of 0 is only allowed with a jumbo payload option in a hop-by-hop
    // header; until that option is read, the payload may run to the end of the frame.
    let jumbo_possible = plen == 0 && nxt == 0;
    let stated_end = at + HEADER_LEN + plen;
    if cx.quoted && stated_end <= end && !jumbo_possible {
        // The ICMPv6 error quoted the whole packet: nothing in it is cut short on purpose.
        cx.quoted = false;
    }
    if !cx.quoted && stated_end > end {
        cx.problem(
            ProblemKind::Malformed,
            at + 4,
            format!(
                "the payload length says {plen} bytes, but the frame holds only {} after the IPv6 header",
                end.saturating_sub(at + HEADER_LEN)
            ),
        );
    }
    let mut packet_end = if jumbo_possible {
        end
    } else {
        stated_end.min(end)
    };

    // Walk the chain of extension headers.
    let mut i = at + HEADER_LEN;
    let mut first = true;
    loop {
        match nxt {
            0 | 43 | 60 => {
                let Some(len) = ext_len(cx, nxt, i, packet_end) else {
                    return Next::Done;
                };
                let (table, len_oct_name) = match nxt {
                    0 => (HOPOPTS_FIELDS, "ipv6.hopopts.len_oct"),
                    60 => (DSTOPTS_FIELDS, "ipv6.dstopts.len_oct"),
                    _ => (ROUTING_FIELDS, "ipv6.routing.len_oct"),
                };
                let next = cx.u8_at(i).unwrap_or(0);
                heading(cx, nxt, i, len);
                let idx = cx.d.fields.len();
                cx.read_all(&table[..2], i);
                if let Some(f) = cx.d.fields.get_mut(idx) {
                    f.meaning = protocol_name(next).into();
                }
                let f = cx.add(
                    len_oct_name,
                    "Length in bytes",
                    i + 1,
                    1,
                    Value::Uint(len as u64),
                    EXT_LEN_OCT_EXPLAIN,
                );
                f.depth = 2;
                if nxt == 43 {
                    cx.read_all(&table[2..], i);
                    routing(cx, i, len, &mut dst);
                } else {
                    let jumbo = options(cx, i + 2, i + len, &mut src);
                    if nxt == 0 && jumbo_possible && first {
                        packet_end = match jumbo {
                            Some(j) => (at + HEADER_LEN + j as usize).min(end),
                            None => {
                                cx.problem(
                                    ProblemKind::Malformed,
                                    at + 4,
                                    "the payload length is 0, which is only allowed with a jumbo payload option, and there is none",
                                );
                                i + len
                            }
                        };
                    }
                }
                nxt = next;
                i += len;
            }
            44 => {
                if !cx.fits(ext_name(44), i, 8, packet_end) {
                    return Next::Done;
                }
                let slice = cx.d.data.get(i..packet_end).unwrap_or(&[]);
                let Ok(frag) = Ipv6FragmentHeaderSlice::from_slice(slice) else {
                    return Next::Done;
                };
                let next = frag.next_header().0;
                let offset = frag.fragment_offset().value();
                let more = frag.more_fragments();
                if let Some(v) = cx.d.ip.get_mut(view) {
                    v.id = frag.identification();
                    v.more_fragments = more;
                    v.frag_offset = offset as u32 * 8;
                }
                heading(cx, 44, i, 8);
                let idx = cx.d.fields.len();
                cx.read_all(FRAG_FIELDS, i);
                if let Some(f) = cx.d.fields.get_mut(idx) {
                    f.meaning = protocol_name(next).into();
                }
                nxt = next;
                i += 8;
                cx.set_len(i - at);
                if offset != 0 {
                    // A later piece: its bytes continue some other packet's payload and
                    // have no header of their own.
                    settle(cx, view, next, i - at);
                    finish(cx, src, dst);
                    return Next::Data {
                        at: i,
                        end: packet_end,
                    };
                }
                if more {
                    cx.fragment = true;
                }
            }
            59 => {
                cx.set_len(i - at);
                settle(cx, view, nxt, i - at);
                finish(cx, src, dst);
                return Next::Data {
                    at: i,
                    end: packet_end,
                };
            }
            _ => break,
        }
        first = false;
        cx.set_len(i - at);
    }
    settle(cx, view, nxt, i - at);
    finish(cx, src, dst);
    Next::IpProto {
        proto: nxt,
        at: i,
        end: packet_end,
    }
}

/// A heading for one extension header, grouping its fields (Wireshark's protocol name for
/// it, which is also what a display filter calls it).
fn heading(cx: &mut Cx, nh: u8, i: usize, len: usize) {
    let (name, label, explain) = match nh {
        0 => (
            "ipv6.hopopts",
            "Hop-by-hop options",
            "An extension header every router on the path reads: options such as router alert.",
        ),
        43 => (
            "ipv6.routing",
            "Routing header",
            "An extension header listing addresses the packet must pass through.",
        ),
        44 => (
            "ipv6.fraghdr",
            "Fragment header",
            "This packet is one piece of a larger one that its sender split up.",
        ),
        _ => (
            "ipv6.dstopts",
            "Destination options",
            "An extension header with options only the destination reads.",
        ),
    };
    cx.add(name, label, i, len, Value::None, explain);
}

/// Check that an options or routing header starting at `i` fits, using etherparse to read its
/// length; returns its length in bytes.
fn ext_len(cx: &mut Cx, nh: u8, i: usize, end: usize) -> Option<usize> {
    if !cx.fits(ext_name(nh), i, 8, end) {
        return None;
    }
    let room = end.min(cx.data().len());
    let slice = cx.d.data.get(i..room).unwrap_or(&[]);
    match Ipv6RawExtHeaderSlice::from_slice(slice) {
        Ok(h) => Some(h.slice().len()),
        Err(e) => {
            // The header says it is longer than what is left.
            cx.fits(ext_name(nh), i, e.required_len, end);
            None
        }
    }
}

/// Complete the typed view once the extension headers are read: what the payload is, and
/// how long the headers were.
fn settle(cx: &mut Cx, view: usize, protocol: u8, header_len: usize) {
    if let Some(v) = cx.d.ip.get_mut(view) {
        v.protocol = protocol;
        v.header_len = header_len.min(u16::MAX as usize) as u16;
    }
}

/// Remember the addresses the transport checksum must use: after a routing header the final
/// destination, and with a home address option the mobile host's home address.
fn finish(cx: &mut Cx, src: [u8; 16], dst: [u8; 16]) {
    cx.ip = Some(IpPair::V6 { src, dst });
}

/// The data of a routing header: a list of addresses (types 0 and 2).
fn routing(cx: &mut Cx, i: usize, len: usize, final_dst: &mut [u8; 16]) {
    let ty = cx.u8_at(i + 2).unwrap_or(0);
    let segleft = cx.u8_at(i + 3).unwrap_or(0);
    cx.set_meaning(
        "ipv6.routing.type",
        match ty {
            0 => "source route (deprecated)",
            2 => "Mobile IPv6 type 2",
            3 => "RPL source route",
            4 => "segment routing",
            _ => "",
        },
    );
    match ty {
        0 | 2 => {
            let (rname, aname, explain) = if ty == 0 {
                (
                    "ipv6.routing.src.reserved",
                    "ipv6.routing.src.addr",
                    "An address the packet must visit on its way, in order.",
                )
            } else {
                (
                    "ipv6.routing.mipv6.reserved",
                    "ipv6.routing.mipv6.home_address",
                    "The mobile host's home address, where the packet is finally delivered.",
                )
            };
            let f = cx.add(rname, "Reserved", i + 4, 4, Value::Bytes, "Unused; zero.");
            f.depth = 1;
            let mut j = i + 8;
            let mut last = None;
            while j + 16 <= i + len {
                let Some(b) = cx.bytes(j, 16) else { break };
                let a: [u8; 16] = b.try_into().unwrap_or([0; 16]);
                let f = cx.add(aname, "Address", j, 16, Value::Ipv6(a), explain);
                f.depth = 1;
                last = Some(a);
                j += 16;
            }
            // Until the last address is visited, the transport checksum is computed with it
            // as the destination (RFC 8200 § 8.1).
            if segleft > 0
                && let Some(a) = last
            {
                *final_dst = a;
            }
        }
        _ if len > 4 => {
            let f = cx.add(
                "ipv6.routing.unknown_data",
                "Type-specific data",
                i + 4,
                len - 4,
                Value::Bytes,
                "The rest of a kind of routing header wirelab does not take apart.",
            );
            f.depth = 1;
        }
        _ => {}
    }
}

/// The options of a hop-by-hop or destination options header, from `start` to `stop`.
/// Returns the jumbo payload length if there is such an option.
fn options(cx: &mut Cx, start: usize, stop: usize, src: &mut [u8; 16]) -> Option<u32> {
    let mut jumbo = None;
    let mut i = start;
    while i < stop {
        let Some(t) = cx.u8_at(i) else { break };
        let head = cx.d.fields.len();
        let f = cx.add(
            "ipv6.opt",
            "Option",
            i,
            1,
            Value::None,
            "One option: a type, a length and data.",
        );
        f.depth = 2;
        f.meaning = option_name(t).into();
        for (k, def) in OPT_TYPE.iter().enumerate() {
            if let Some((mut f, _)) = def.read(&cx.d.data, i) {
                f.depth += 3;
                if k == 0 {
                    f.meaning = option_name(t).into();
                }
                cx.push(f);
            }
        }
        if t == 0 {
            // Pad1: a single byte of padding, with no length.
            let f = cx.add(
                "ipv6.opt.pad1",
                "Pad1",
                i,
                1,
                Value::None,
                "One byte of padding.",
            );
            f.depth = 3;
            i += 1;
            continue;
        }
        let Some(n) = cx.u8_at(i + 1) else { break };
        if let Some((mut f, _)) = OPT_LEN.read(&cx.d.data, i) {
            f.depth = 3;
            cx.push(f);
        }
        let n = n as usize;
        let data = i + 2;
        if data + n > stop {
            cx.problem(
                ProblemKind::Malformed,
                i + 1,
                format!(
                    "IPv6 option {t:#04x} says it has {n} bytes of data, but its header has only {} left",
                    stop.saturating_sub(data)
                ),
            );
            return jumbo;
        }
        // Widen the option's heading to cover all of it.
        cx.d.fields[head].len = (2 + n) as u32;
        let sub = |cx: &mut Cx, name, label, len, value, explain| {
            let f = cx.add(name, label, data, len, value, explain);
            f.depth = 3;
        };
        match (t, n) {
            (0x01, _) => sub(
                cx,
                "ipv6.opt.padn",
                "PadN",
                n,
                Value::Bytes,
                "Padding that keeps the next field aligned to 8 bytes.",
            ),
            (0x05, 2) => sub(
                cx,
                "ipv6.opt.router_alert",
                "Router alert",
                2,
                Value::Uint(cx.u16_at(data).unwrap_or(0) as u64),
                "Asks every router on the way to look inside this packet (0 means it carries MLD, multicast group management).",
            ),
            (0xc2, 4) => {
                let j = cx.u32_at(data).unwrap_or(0);
                jumbo = Some(j);
                sub(
                    cx,
                    "ipv6.opt.jumbo",
                    "Jumbo payload length",
                    4,
                    Value::Uint(j as u64),
                    "The payload length of a packet larger than 65,535 bytes (the header's own field is then 0).",
                );
            }
            (0xc9, 16) => {
                if let Some(b) = cx.bytes(data, 16) {
                    let a: [u8; 16] = b.try_into().unwrap_or([0; 16]);
                    // The transport checksum covers the home address, not the care-of
                    // address the packet was sent from (RFC 6275 § 6.3).
                    *src = a;
                    sub(
                        cx,
                        "ipv6.opt.mipv6.home_address",
                        "Home address",
                        16,
                        Value::Ipv6(a),
                        "A mobile host's permanent address, while it sends from a temporary one elsewhere.",
                    );
                }
            }
            (_, 0) => {}
            _ => sub(
                cx,
                "ipv6.opt.unknown",
                "Option data",
                n,
                Value::Bytes,
                "The data of an option wirelab does not take apart.",
            ),
        }
        i = data + n;
    }
    jumbo
}

pub fn describe(d: &Dissection, layer: &Layer) -> String {
    let get = |n| {
        d.layer_field(layer, n)
            .map(|f| f.tshark(&d.data))
            .unwrap_or_else(|| "?".into())
    };
    // A lean dissection kept a whole fixed header only in the typed view.
    let view = d.ip.iter().find(|h| {
        h.version == 6
            && d.layers
                .get(h.layer as usize)
                .is_some_and(|l| l.at == layer.at && l.proto == Proto::Ipv6)
    });
    let mut s = match view {
        Some(h) if d.layer_field(layer, "ipv6.src").is_none() => {
            format!("IPv6, {} → {}, hop limit {}", h.src, h.dst, h.ttl)
        }
        _ => format!(
            "IPv6, {} → {}, hop limit {}",
            get("ipv6.src"),
            get("ipv6.dst"),
            get("ipv6.hlim"),
        ),
    };
    let fields = d.layer_fields(layer);
    let mut exts = Vec::new();
    for f in fields {
        match f.name {
            "ipv6.hopopts.nxt" => exts.push("hop-by-hop"),
            "ipv6.routing.nxt" => exts.push("routing"),
            "ipv6.fraghdr.nxt" => exts.push("fragment"),
            "ipv6.dstopts.nxt" => exts.push("destination options"),
            _ => {}
        }
    }
    if !exts.is_empty() {
        let _ = write!(s, ", with {}", exts.join(", "));
    }
    if let Some(off) = d
        .layer_field(layer, "ipv6.fraghdr.offset")
        .and_then(|f| f.value.as_u64())
    {
        let more = d
            .layer_field(layer, "ipv6.fraghdr.more")
            .and_then(|f| f.value.as_u64())
            == Some(1);
        let _ = write!(
            s,
            " (fragment id {} at byte {}{})",
            get("ipv6.fraghdr.ident"),
            off * 8,
            if more { ", more follow" } else { ", last" }
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use crate::dissect::{Dissection, Frame, LinkType, Proto, dissect};

    fn raw(bytes: &[u8]) -> Dissection {
        dissect(&Frame {
            number: 1,
            ts: None,
            link: LinkType::RAW,
            wire_len: bytes.len() as u32,
            data: bytes,
        })
    }

    fn header(plen: u16, nxt: u8) -> Vec<u8> {
        let mut b = vec![0x60, 0, 0, 0];
        b.extend_from_slice(&plen.to_be_bytes());
        b.extend_from_slice(&[nxt, 64]);
        b.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        b.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        b
    }

    #[test]
    fn fixed_header_fields() {
        let mut b = header(0, 59);
        b[1] = 0x12; // traffic class 0x01, flow label 0x20000…
        let d = raw(&b);
        assert_eq!(d.field("ip.version").unwrap().tshark(&d.data), "6");
        assert_eq!(
            d.field("ipv6.tclass").unwrap().tshark(&d.data),
            "0x00000001"
        );
        assert_eq!(d.field("ipv6.flow").unwrap().tshark(&d.data), "0x020000");
        assert_eq!(d.field("ipv6.src").unwrap().tshark(&d.data), "fe80::1");
        assert!(!d.is_malformed());
    }

    #[test]
    fn hop_by_hop_then_fragment_then_udp() {
        let mut b = header(8 + 8 + 8, 0);
        // Hop-by-hop: next 44, length 0, router alert 0, PadN 2.
        b.extend_from_slice(&[44, 0, 0x05, 0x02, 0, 0, 0x01, 0x00]);
        // Fragment: next 17, offset 0, M=1, id 0x12345678.
        b.extend_from_slice(&[17, 0, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78]);
        // UDP header claiming more than this first piece holds.
        b.extend_from_slice(&[0x30, 0x39, 0, 53, 0x01, 0x00, 0, 0]);
        let d = raw(&b);
        assert_eq!(d.uint("ipv6.hopopts.len_oct"), Some(8));
        assert_eq!(d.uint("ipv6.opt.router_alert"), Some(0));
        assert_eq!(d.uint("ipv6.fraghdr.more"), Some(1));
        assert_eq!(
            d.field("ipv6.fraghdr.ident").unwrap().tshark(&d.data),
            "0x12345678"
        );
        assert_eq!(d.uint("udp.dstport"), Some(53));
        assert_eq!(d.layer(Proto::Ipv6).unwrap().len, 56);
        // A first fragment's UDP length is longer than the piece: expected, not a problem.
        assert!(!d.is_malformed(), "{:?}", d.problems);
    }

    #[test]
    fn later_fragment_is_data() {
        let mut b = header(16, 44);
        b.extend_from_slice(&[17, 0, 0x00, 0x08, 0, 0, 0, 1]);
        b.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        let d = raw(&b);
        assert_eq!(d.uint("ipv6.fraghdr.offset"), Some(1));
        assert!(!d.has(Proto::Udp));
        assert!(d.has(Proto::Data));
    }

    #[test]
    fn payload_length_zero_leaves_no_room() {
        let mut b = header(0, 44);
        b.extend_from_slice(&[17, 0, 0, 0, 0, 0, 0, 1]);
        let d = raw(&b);
        assert!(d.is_malformed());
        assert!(d.field("ipv6.fraghdr.offset").is_none());
    }

    #[test]
    fn extension_header_longer_than_packet() {
        let mut b = header(8, 60);
        b.extend_from_slice(&[6, 4, 1, 4, 0, 0, 0, 0]);
        let d = raw(&b);
        assert!(d.is_malformed());
    }

    #[test]
    fn wrong_version() {
        let mut b = header(0, 59);
        b[0] = 0x00;
        let d = dissect(&Frame {
            number: 1,
            ts: None,
            link: LinkType::IPV6,
            wire_len: b.len() as u32,
            data: &b,
        });
        assert!(d.is_malformed());
    }
}
