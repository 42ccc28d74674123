//! IPv4, the Internet Protocol version 4 (RFC 791).
//!
//! # The idea
//!
//! IP is what makes many separate links one internet. Every host has an IP address, and every
//! packet carries its source and destination address, so routers along the way can each decide
//! where to send it next. IP promises nothing: packets can be lost, duplicated or arrive out of
//! order. Making that reliable is TCP's job, one layer up.
//!
//! A few fields deserve a word. *TTL* (time to live) is lowered by one at every router, and a
//! packet whose TTL reaches zero is dropped, so a routing loop cannot keep a packet forever.
//! When a packet is too big for the next link, it is cut into *fragments* that share an
//! *identification*; the *fragment offset* says where each piece goes (in 8-byte units) and the
//! *more fragments* flag is set on every piece but the last. The *protocol* field names what is
//! inside: 1 ICMP, 6 TCP, 17 UDP.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version|  IHL  |    DSCP   |ECN|          Total Length         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Identification        |Flags|      Fragment Offset    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Time to Live |    Protocol   |         Header Checksum       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Source Address                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Destination Address                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Options (if IHL > 5)                       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use super::checksum::internet_checksum;
use super::cx::{Cx, IpPair, Next};
use super::fields::{FieldDef, Fmt};
use super::ip::IpHeader;
use super::model::{Dissection, Layer, ProblemKind, Proto, Value};
use std::fmt::Write as _;

/// The smallest IPv4 header: five 32-bit words.
pub const MIN_HEADER_LEN: usize = 20;

/// The fixed part of the header, in the order of the RFC 791 § 3.1 diagram.
pub const FIELDS: &[FieldDef] = &[
    FieldDef::bits(
        "ip.version",
        "Version",
        0,
        1,
        0xf0,
        Fmt::Dec,
        "Which version of IP this is; 4 here. Every IPv4 packet starts with this nibble.",
    ),
    FieldDef::bits(
        "ip.hdr_len",
        "Header length",
        0,
        1,
        0x0f,
        Fmt::Words,
        "The header's length; the field counts 32-bit words (5 = 20 bytes), shown here in bytes. More than 20 means options follow.",
    ),
    FieldDef::new(
        "ip.dsfield",
        "Differentiated services",
        1,
        1,
        Fmt::Hex,
        "Marks for routers: how urgently to forward the packet (DSCP) and congestion signals (ECN).",
    ),
    FieldDef::bits(
        "ip.dsfield.dscp",
        "DSCP",
        1,
        1,
        0xfc,
        Fmt::Dec,
        "Differentiated Services Code Point: a traffic class a network may give priority to (0 is ordinary best effort).",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "ip.dsfield.ecn",
        "ECN",
        1,
        1,
        0x03,
        Fmt::Dec,
        "Explicit Congestion Notification: a router can set this to 3 to say \"slow down\" instead of dropping the packet.",
    )
    .sub()
    .detail(),
    FieldDef::new(
        "ip.len",
        "Total length",
        2,
        2,
        Fmt::Dec,
        "Length of the whole packet, header and data, in bytes; anything in the frame after that is padding.",
    ),
    FieldDef::new(
        "ip.id",
        "Identification",
        4,
        2,
        Fmt::Hex,
        "A number the sender gives the packet, so that if it is split into fragments the receiver knows which pieces belong together.",
    ),
    FieldDef::bits(
        "ip.flags",
        "Flags",
        6,
        1,
        0xe0,
        Fmt::Hex,
        "Three bits about fragmentation: reserved, don't fragment, more fragments.",
    ),
    FieldDef::bits(
        "ip.flags.rb",
        "Reserved bit",
        6,
        2,
        0x8000,
        Fmt::Bool,
        "Must be zero. (RFC 3514 jokingly calls it the \"evil bit\".)",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "ip.flags.df",
        "Don't fragment",
        6,
        2,
        0x4000,
        Fmt::Bool,
        "If set, routers must drop the packet rather than fragment it; hosts use this to discover the largest packet a path carries.",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "ip.flags.mf",
        "More fragments",
        6,
        2,
        0x2000,
        Fmt::Bool,
        "Set on every fragment of a split packet except the last one.",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "ip.frag_offset",
        "Fragment offset",
        6,
        2,
        0x1fff,
        Fmt::Dec,
        "Where this fragment's data belongs in the original packet, counted in 8-byte units (0 for the first piece, or an unfragmented packet).",
    ),
    FieldDef::new(
        "ip.ttl",
        "Time to live",
        8,
        1,
        Fmt::Dec,
        "Each router lowers this by one and drops the packet at zero, so packets caught in a routing loop die out.",
    ),
    FieldDef::new(
        "ip.proto",
        "Protocol",
        9,
        1,
        Fmt::Dec,
        "Names what the packet carries: 1 is ICMP, 6 is TCP, 17 is UDP.",
    ),
    FieldDef::new(
        "ip.checksum",
        "Header checksum",
        10,
        2,
        Fmt::Hex,
        "A checksum over the header only (not the data), updated by every router because the TTL changes.",
    ),
    FieldDef::new(
        "ip.src",
        "Source address",
        12,
        4,
        Fmt::Ipv4,
        "The IP address of the host that sent the packet.",
    ),
    FieldDef::new(
        "ip.dst",
        "Destination address",
        16,
        4,
        Fmt::Ipv4,
        "The IP address of the host the packet is for; routers forward it toward this address.",
    ),
];

/// What an IP protocol number names (shared with IPv6's next header).
pub fn protocol_name(p: u8) -> &'static str {
    match p {
        0 => "IPv6 hop-by-hop options",
        1 => "ICMP",
        2 => "IGMP",
        4 => "IPv4 in IP",
        6 => "TCP",
        17 => "UDP",
        41 => "IPv6 in IP",
        43 => "IPv6 routing header",
        44 => "IPv6 fragment header",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        58 => "ICMPv6",
        59 => "no next header",
        60 => "IPv6 destination options",
        89 => "OSPF",
        103 => "PIM",
        112 => "VRRP",
        132 => "SCTP",
        _ => "",
    }
}

pub fn dissect(cx: &mut Cx, at: usize, end: usize) -> Next {
    cx.begin(Proto::Ipv4, at);
    cx.ip_depth += 1;
    let version = cx.u8_at(at).unwrap_or(0) >> 4;
    let hdr_len = (cx.u8_at(at).unwrap_or(0) & 0x0f) as usize * 4;
    // For the one-line summary alone (lean), a whole, sane fixed header is read only into the
    // typed view below: the summary writes IPv4 from it, so the fields would go unseen.
    let lean_whole = cx.lean
        && version == 4
        && hdr_len >= MIN_HEADER_LEN
        && cx.bytes(at, MIN_HEADER_LEN).is_some();
    if lean_whole {
        cx.set_len(MIN_HEADER_LEN);
    } else if cx.read_all(&FIELDS[..2], at) < 2 {
        // Version and header length share the first byte.
        cx.truncated("An IPv4 header", at, MIN_HEADER_LEN);
        return Next::Done;
    }
    if version != 4 {
        cx.problem(
            ProblemKind::Malformed,
            at,
            format!("the version field must be 4 in an IPv4 header, but it is {version}"),
        );
        return Next::Done;
    }
    if hdr_len < MIN_HEADER_LEN {
        cx.problem(
            ProblemKind::Malformed,
            at,
            format!(
                "the header length must be at least 20 bytes (IHL 5), but it says {hdr_len} bytes (IHL {})",
                hdr_len / 4
            ),
        );
        return Next::Done;
    }
    let all = FIELDS.len() - 2;
    if !lean_whole && cx.read_all(&FIELDS[2..], at) < all {
        cx.truncated("An IPv4 header", at, hdr_len);
        return Next::Done;
    }
    let mut total_len = cx.u16_at(at + 2).unwrap_or(0) as usize;
    if total_len == 0 {
        // A capture on the sending host can see a large TCP segment before the network card
        // splits it into packets (TCP segmentation offload); the card fills in each packet's
        // length later, so the captured header says 0. Take the length from the frame, as
        // Wireshark does, and say so.
        total_len = end.saturating_sub(at);
        if let Some(i) = cx.field_index("ip.len") {
            cx.d.fields[i].value = Value::Uint(total_len as u64);
            cx.d.fields[i].meaning = "written as 0: presumed TCP segmentation offload, so the length is taken from the frame".into();
        }
    }
    let proto = cx.u8_at(at + 9).unwrap_or(0);
    let frag = cx.u16_at(at + 6).unwrap_or(0);
    let more_fragments = frag & 0x2000 != 0;
    let offset = frag & 0x1fff;
    // The typed view of the fixed header, read once here for every consumer.
    let addr = |i: usize| {
        let mut a = [0u8; 4];
        a.copy_from_slice(cx.bytes(i, 4).unwrap_or(&[0; 4]));
        std::net::IpAddr::from(a)
    };
    let view = IpHeader {
        layer: (cx.d.layers.len() - 1) as u16,
        version: 4,
        src: addr(at + 12),
        dst: addr(at + 16),
        ttl: cx.u8_at(at + 8).unwrap_or(0),
        protocol: proto,
        header_len: hdr_len as u16,
        total_len: total_len as u32,
        id: cx.u16_at(at + 4).unwrap_or(0) as u32,
        dont_fragment: frag & 0x4000 != 0,
        more_fragments,
        frag_offset: offset as u32 * 8,
        quoted: cx.in_error,
    };
    cx.d.ip.push(view);
    // Name the protocol number on the field just read.
    set_meaning(cx, "ip.proto", protocol_name(proto));

    if hdr_len > MIN_HEADER_LEN {
        options(cx, at + MIN_HEADER_LEN, at + hdr_len);
    }
    cx.set_len(hdr_len.min(cx.data().len().saturating_sub(at)));

    // Check the header checksum where the whole header was captured.
    if let Some(hdr) = cx.bytes(at, hdr_len) {
        let sum = internet_checksum(&[hdr]);
        let stored = cx.u16_at(at + 10).unwrap_or(0);
        if sum == 0 {
            set_meaning(cx, "ip.checksum", "correct");
        } else {
            let mut copy = hdr.to_vec();
            copy[10] = 0;
            copy[11] = 0;
            let want = internet_checksum(&[&copy]);
            set_meaning(cx, "ip.checksum", "wrong");
            cx.problem(
                ProblemKind::BadChecksum,
                at + 10,
                format!(
                    "header checksum is 0x{stored:04x}, but the header adds up to 0x{want:04x}"
                ),
            );
        }
    } else {
        cx.truncated("An IPv4 header with options", at, hdr_len);
        return Next::Done;
    }

    if total_len < hdr_len {
        cx.problem(
            ProblemKind::Malformed,
            at + 2,
            format!("total length {total_len} is shorter than the header itself ({hdr_len} bytes)"),
        );
        return Next::Done;
    }
    if let (Some(s), Some(d)) = (cx.bytes(at + 12, 4), cx.bytes(at + 16, 4)) {
        let (mut src, mut dst) = ([0u8; 4], [0u8; 4]);
        src.copy_from_slice(s);
        dst.copy_from_slice(d);
        cx.ip = Some(IpPair::V4 { src, dst });
    }
    // The packet ends where its total length says, never past the frame on the wire.
    let packet_end = (at + total_len).min(end);
    if cx.quoted && at + total_len <= end {
        // The ICMP error quoted the whole packet: nothing in it is cut short on purpose.
        cx.quoted = false;
    }
    if !cx.quoted && at + total_len > end {
        cx.problem(
            ProblemKind::Malformed,
            at + 2,
            format!(
                "total length says {total_len} bytes, but the frame holds only {} for it",
                end.saturating_sub(at)
            ),
        );
    }
    let payload = at + hdr_len;
    if offset != 0 {
        // A later fragment: its data is the middle of some other packet's payload and has no
        // header of its own. Reassembly (stream analysis) can put the pieces back together.
        return Next::Data {
            at: payload,
            end: packet_end,
        };
    }
    if more_fragments {
        // The first piece of a fragmented packet: the transport header is here, but the
        // rest of its payload travels in the other pieces.
        cx.fragment = true;
    }
    Next::IpProto {
        proto,
        at: payload,
        end: packet_end,
    }
}

/// IPv4 options (RFC 791 § 3.1): each is a type byte, then for most a length byte and data.
fn options(cx: &mut Cx, start: usize, stop: usize) {
    let captured = cx.data().len();
    cx.add(
        "ip.options",
        "Options",
        start,
        stop.min(captured).saturating_sub(start),
        Value::Bytes,
        "Optional extras after the fixed header, rarely seen today (record route, timestamps, router alert).",
    );
    let mut i = start;
    while i < stop {
        let Some(kind) = cx.u8_at(i) else { break };
        let len = match kind {
            0 | 1 => 1,
            _ if i + 1 >= stop => {
                cx.problem(
                    ProblemKind::Malformed,
                    i,
                    format!("IPv4 option {kind} needs a length byte, but the header ends first"),
                );
                break;
            }
            // Not captured: the caller reports the header as cut short.
            _ => match cx.u8_at(i + 1) {
                None => break,
                Some(l) if l < 2 => {
                    cx.problem(
                        ProblemKind::Malformed,
                        i + 1,
                        format!("IPv4 option {kind} has length {l}, but an option with a length byte is at least 2 bytes"),
                    );
                    break;
                }
                Some(l) if l as usize > stop - i => {
                    cx.problem(
                        ProblemKind::Malformed,
                        i + 1,
                        format!(
                            "IPv4 option {kind} says it is {l} bytes long, but only {} bytes of options are left",
                            stop - i
                        ),
                    );
                    break;
                }
                Some(l) => l as usize,
            },
        };
        let f = cx.add(
            "ip.opt.type",
            "Option type",
            i,
            1,
            Value::Uint(kind as u64),
            "Which option this is; the top bit says whether fragments must copy it.",
        );
        f.depth = 1;
        cx.meaning(match kind {
            0 => "end of options",
            1 => "no operation (padding)",
            7 => "record route",
            68 => "timestamp",
            130 => "security",
            131 => "loose source route",
            137 => "strict source route",
            148 => "router alert",
            _ => "",
        });
        if len > 1 {
            let f = cx.add(
                "ip.opt.len",
                "Option length",
                i + 1,
                1,
                Value::Uint(len as u64),
                "The option's length in bytes, type and length bytes included.",
            );
            f.depth = 2;
        }
        if kind == 0 {
            break;
        }
        i += len;
    }
}

fn set_meaning(cx: &mut Cx, name: &str, meaning: &'static str) {
    let start =
        cx.d.layers
            .last()
            .map(|l| l.fields.start as usize)
            .unwrap_or(0);
    if let Some(f) = cx.d.fields[start..].iter_mut().find(|f| f.name == name) {
        f.meaning = meaning.into();
    }
}

pub fn describe(d: &Dissection, layer: &Layer) -> String {
    let mut s = describe_header(d, layer);
    // The frame that completed a fragmented datagram (stream::ipfrag).
    if let (Some(n), Some(len)) = (
        d.layer_field(layer, "ip.fragment.count")
            .and_then(|f| f.value.as_u64()),
        d.layer_field(layer, "ip.reassembled.length")
            .and_then(|f| f.value.as_u64()),
    ) {
        s.push_str(&format!(
            "; datagram of {len} bytes reassembled from {n} fragments"
        ));
    }
    s
}

fn describe_header(d: &Dissection, layer: &Layer) -> String {
    // From the typed view where the fixed header was read whole.
    let view = d.ip.iter().find(|h| {
        h.version == 4
            && d.layers
                .get(h.layer as usize)
                .is_some_and(|l| l.at == layer.at && l.proto == Proto::Ipv4)
    });
    if let Some(h) = view {
        let mut s = format!(
            "IPv4, {} → {}, ttl {}, proto {} ({})",
            h.src,
            h.dst,
            h.ttl,
            h.protocol,
            protocol_name(h.protocol)
        );
        if protocol_name(h.protocol).is_empty() {
            s.truncate(s.len() - 3);
        }
        if h.is_fragment() {
            let _ = write!(
                s,
                ", fragment id 0x{:04x} at byte {}{}",
                h.id,
                h.frag_offset,
                if h.more_fragments {
                    ", more follow"
                } else {
                    ", last"
                }
            );
        }
        return s;
    }
    let get = |n| {
        d.layer_field(layer, n)
            .map(|f| f.tshark(&d.data))
            .unwrap_or_else(|| "?".into())
    };
    let mut s = format!(
        "IPv4, {} → {}, ttl {}, proto {}",
        get("ip.src"),
        get("ip.dst"),
        get("ip.ttl"),
        d.layer_field(layer, "ip.proto")
            .map(|f| f.display(&d.data))
            .unwrap_or_else(|| "?".into())
    );
    // The "more fragments" bit, from the flags byte (present whenever ip.flags was read).
    let mf = d
        .layer_field(layer, "ip.flags")
        .and_then(|f| f.value.as_u64())
        .map(|flags| flags & 0x1);
    let off = d
        .layer_field(layer, "ip.frag_offset")
        .and_then(|f| f.value.as_u64());
    if mf == Some(1) || off.unwrap_or(0) > 0 {
        let _ = write!(
            s,
            ", fragment id {} at byte {}{}",
            get("ip.id"),
            off.unwrap_or(0) * 8,
            if mf == Some(1) {
                ", more follow"
            } else {
                ", last"
            }
        );
    }
    s
}
