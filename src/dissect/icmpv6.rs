//! ICMPv6, the Internet Control Message Protocol for IPv6 (RFC 4443), with Neighbor Discovery
//! (RFC 4861) and Multicast Listener Discovery (RFC 2710, RFC 3810).
//!
//! # The idea
//!
//! ICMPv6 does what ICMP does for IPv4, errors and echo (ping), and much more besides, because
//! IPv6 moved whole protocols into it:
//!
//! * **Errors** (types 1–4) quote as much of the offending packet as fits in the minimum IPv6
//!   MTU: *destination unreachable*, *packet too big* (IPv6 routers never fragment, so this is
//!   how a sender learns the path's MTU), *time exceeded*, *parameter problem*.
//! * **Echo** (128 request, 129 reply): ping, exactly as in IPv4.
//! * **Neighbor Discovery** (133–137) replaces ARP and more. A *neighbor solicitation* asks
//!   "who has this IPv6 address? Tell me your MAC address", sent not to everyone but to a
//!   *solicited-node* multicast group that only hosts with a similar address listen to; the
//!   *neighbor advertisement* answers. *Router solicitations* and *advertisements* let a host
//!   find its router and the network's prefix, from which it can build its own address
//!   (SLAAC). Extra information travels in *options*, each a type, a length in 8-byte units,
//!   and data (a link-layer address, a prefix, an MTU).
//! * **Multicast Listener Discovery** (130–132, 143) lets hosts tell routers which multicast
//!   groups they want to receive, as IGMP does for IPv4.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Message Body                          |
//! +                                                               +
//!
//!  Neighbor solicitation (135):
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           Reserved                            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Target Address (128 bits)               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Options …
//! ```
//!
//! Unlike ICMP's, the ICMPv6 checksum also covers a pseudo-header of the IPv6 addresses, like
//! TCP's and UDP's.

use super::checksum::transport_checksum;
use super::cx::{Cx, IpPair, Next};
use super::fields::{FieldDef, Fmt};
use super::model::{Dissection, Layer, ProblemKind, Proto, Value};
use std::fmt::Write as _;

pub const HEADER_LEN: usize = 4;

/// The first word, the same for every message.
pub const FIELDS: &[FieldDef] = &[
    FieldDef::new(
        "icmpv6.type",
        "Type",
        0,
        1,
        Fmt::Dec,
        "What kind of message this is: 128 echo request, 129 echo reply, 135 neighbor solicitation, 1–4 errors.",
    ),
    FieldDef::new(
        "icmpv6.code",
        "Code",
        1,
        1,
        Fmt::Dec,
        "More detail within the type: for destination unreachable, 4 means nobody listens on that port.",
    ),
    FieldDef::new(
        "icmpv6.checksum",
        "Checksum",
        2,
        2,
        Fmt::Hex,
        "A checksum over the message and the IPv6 addresses (the pseudo-header).",
    ),
];

/// Destination unreachable (1) and time exceeded (3).
pub const RESERVED: FieldDef = FieldDef::new(
    "icmpv6.reserved",
    "Reserved",
    4,
    4,
    Fmt::Bytes,
    "Unused; zero.",
);

/// Packet too big (2).
pub const MTU: FieldDef = FieldDef::new(
    "icmpv6.mtu",
    "MTU",
    4,
    4,
    Fmt::Dec,
    "The largest packet the next link carries; the sender must send smaller packets on this path.",
);

/// Parameter problem (4).
pub const POINTER: FieldDef = FieldDef::new(
    "icmpv6.pointer",
    "Pointer",
    4,
    4,
    Fmt::Dec,
    "Which byte of the quoted packet was wrong.",
);

/// Echo request and reply (128, 129).
pub const ECHO: &[FieldDef] = &[
    FieldDef::new(
        "icmpv6.echo.identifier",
        "Identifier",
        4,
        2,
        Fmt::Hex,
        "Chosen by the sender so it can tell its replies from other programs' replies.",
    ),
    FieldDef::new(
        "icmpv6.echo.sequence_number",
        "Sequence number",
        6,
        2,
        Fmt::Dec,
        "Counts up with each request, so every reply can be matched to its request.",
    ),
];

/// Router advertisement (134).
pub const RA: &[FieldDef] = &[
    FieldDef::new(
        "icmpv6.nd.ra.cur_hop_limit",
        "Current hop limit",
        4,
        1,
        Fmt::Dec,
        "The hop limit hosts on this link should put in the packets they send (0: the router does not say).",
    ),
    FieldDef::new(
        "icmpv6.nd.ra.flag",
        "Flags",
        5,
        1,
        Fmt::Hex,
        "How hosts should configure themselves.",
    ),
    FieldDef::bits(
        "icmpv6.nd.ra.flag.m",
        "Managed address configuration",
        5,
        1,
        0x80,
        Fmt::Bool,
        "Get an address from DHCPv6 rather than building one.",
    )
    .sub(),
    FieldDef::bits(
        "icmpv6.nd.ra.flag.o",
        "Other configuration",
        5,
        1,
        0x40,
        Fmt::Bool,
        "Get other settings (such as DNS servers) from DHCPv6.",
    )
    .sub(),
    FieldDef::bits(
        "icmpv6.nd.ra.flag.h",
        "Home agent",
        5,
        1,
        0x20,
        Fmt::Bool,
        "The router is a Mobile IPv6 home agent.",
    )
    .sub(),
    FieldDef::bits(
        "icmpv6.nd.ra.flag.prf",
        "Default router preference",
        5,
        1,
        0x18,
        Fmt::Dec,
        "How much to prefer this router: 1 high, 0 medium, 3 low.",
    )
    .sub(),
    FieldDef::new(
        "icmpv6.nd.ra.router_lifetime",
        "Router lifetime",
        6,
        2,
        Fmt::Dec,
        "For how many seconds hosts may use this router as their default; 0 means do not.",
    ),
    FieldDef::new(
        "icmpv6.nd.ra.reachable_time",
        "Reachable time",
        8,
        4,
        Fmt::Dec,
        "How long (ms) a neighbour counts as reachable after it was last confirmed.",
    ),
    FieldDef::new(
        "icmpv6.nd.ra.retrans_timer",
        "Retrans timer",
        12,
        4,
        Fmt::Dec,
        "How long (ms) to wait between neighbor solicitations.",
    ),
];

/// Neighbor solicitation (135).
pub const NS: &[FieldDef] = &[
    FieldDef::new(
        "icmpv6.reserved",
        "Reserved",
        4,
        4,
        Fmt::Bytes,
        "Unused; zero.",
    ),
    FieldDef::new(
        "icmpv6.nd.ns.target_address",
        "Target address",
        8,
        16,
        Fmt::Ipv6,
        "The address whose owner is being looked for (its link-layer address is wanted).",
    ),
];

/// Neighbor advertisement (136).
pub const NA: &[FieldDef] = &[
    FieldDef::new(
        "icmpv6.nd.na.flag",
        "Flags",
        4,
        4,
        Fmt::Hex,
        "Three bits about the answer, then reserved bits.",
    ),
    FieldDef::bits(
        "icmpv6.nd.na.flag.r",
        "Router",
        4,
        4,
        0x8000_0000,
        Fmt::Bool,
        "The sender is a router.",
    )
    .sub(),
    FieldDef::bits(
        "icmpv6.nd.na.flag.s",
        "Solicited",
        4,
        4,
        0x4000_0000,
        Fmt::Bool,
        "This answers a neighbor solicitation (rather than announcing a change unasked).",
    )
    .sub(),
    FieldDef::bits(
        "icmpv6.nd.na.flag.o",
        "Override",
        4,
        4,
        0x2000_0000,
        Fmt::Bool,
        "Replace any link-layer address cached for this target.",
    )
    .sub(),
    FieldDef::new(
        "icmpv6.nd.na.target_address",
        "Target address",
        8,
        16,
        Fmt::Ipv6,
        "The address this advertisement is about.",
    ),
];

/// Redirect (137).
pub const REDIRECT: &[FieldDef] = &[
    FieldDef::new(
        "icmpv6.reserved",
        "Reserved",
        4,
        4,
        Fmt::Bytes,
        "Unused; zero.",
    ),
    FieldDef::new(
        "icmpv6.nd.rd.target_address",
        "Target address",
        8,
        16,
        Fmt::Ipv6,
        "The better first hop to use for the destination.",
    ),
    FieldDef::new(
        "icmpv6.rd.na.destination_address",
        "Destination address",
        24,
        16,
        Fmt::Ipv6,
        "The destination the redirect is about.",
    ),
];

/// Multicast listener query, report and done (130–132), MLDv1.
pub const MLD: &[FieldDef] = &[
    FieldDef::new(
        "icmpv6.mld.maximum_response_delay",
        "Maximum response delay",
        4,
        2,
        Fmt::Dec,
        "In a query: how many milliseconds listeners may wait, at random, before reporting.",
    ),
    FieldDef::new(
        "icmpv6.reserved",
        "Reserved",
        6,
        2,
        Fmt::Bytes,
        "Unused; zero.",
    ),
    FieldDef::new(
        "icmpv6.mld.multicast_address",
        "Multicast address",
        8,
        16,
        Fmt::Ipv6,
        "The multicast group concerned (in a general query: ::, every group).",
    ),
];

/// The extra part of an MLDv2 query (RFC 3810 § 5.1), after the MLDv1 fields.
pub const MLD2_QUERY: &[FieldDef] = &[
    FieldDef::bits(
        "icmpv6.mld.flag.s",
        "Suppress router-side processing",
        24,
        1,
        0x08,
        Fmt::Bool,
        "Routers hearing this query should not update their timers.",
    ),
    FieldDef::bits(
        "icmpv6.mld.flag.qrv",
        "Querier's robustness variable",
        24,
        1,
        0x07,
        Fmt::Dec,
        "How many times messages are repeated to survive losses.",
    ),
    FieldDef::new(
        "icmpv6.mld.qqi",
        "Querier's query interval code",
        25,
        1,
        Fmt::Dec,
        "How often (seconds, coded) the querier sends queries.",
    ),
    FieldDef::new(
        "icmpv6.mld.nb_sources",
        "Number of sources",
        26,
        2,
        Fmt::Dec,
        "How many source addresses follow: the query is then only about traffic from them.",
    ),
];

/// An MLDv2 report (143).
pub const MLD2_REPORT: &[FieldDef] = &[
    FieldDef::new(
        "icmpv6.reserved",
        "Reserved",
        4,
        2,
        Fmt::Bytes,
        "Unused; zero.",
    ),
    FieldDef::new(
        "icmpv6.mldr.nb_mcast_records",
        "Number of multicast address records",
        6,
        2,
        Fmt::Dec,
        "How many groups this report is about.",
    ),
];

/// One record of an MLDv2 report.
pub const MLD2_RECORD: &[FieldDef] = &[
    FieldDef::new(
        "icmpv6.mldr.mar.record_type",
        "Record type",
        0,
        1,
        Fmt::Dec,
        "What the host says about the group: 1/2 its current filter mode, 3/4 a change of mode, 5/6 sources allowed or blocked.",
    )
    .sub(),
    FieldDef::new(
        "icmpv6.mldr.mar.aux_data_len",
        "Aux data length",
        1,
        1,
        Fmt::Dec,
        "Length of extra data at the end of the record, in 32-bit words (normally 0).",
    )
    .sub(),
    FieldDef::new(
        "icmpv6.mldr.mar.nb_sources",
        "Number of sources",
        2,
        2,
        Fmt::Dec,
        "How many source addresses the record lists.",
    )
    .sub(),
    FieldDef::new(
        "icmpv6.mldr.mar.multicast_address",
        "Multicast address",
        4,
        16,
        Fmt::Ipv6,
        "The group the record is about.",
    )
    .sub(),
];

/// Router renumbering (138), RFC 2894: the fixed part.
pub const RR: &[FieldDef] = &[
    FieldDef::new(
        "icmpv6.rr.sequence_number",
        "Sequence number",
        4,
        4,
        Fmt::Dec,
        "Counts renumbering commands so that old ones are not replayed.",
    ),
    FieldDef::new(
        "icmpv6.rr.segment_number",
        "Segment number",
        8,
        1,
        Fmt::Dec,
        "Tells apart several commands with the same sequence number.",
    ),
    FieldDef::new(
        "icmpv6.rr.flag",
        "Flags",
        9,
        1,
        Fmt::Hex,
        "Test only, result wanted, all interfaces, site-specific, processed before.",
    ),
    FieldDef::new(
        "icmpv6.rr.maxdelay",
        "Maximum delay",
        10,
        2,
        Fmt::Dec,
        "Milliseconds a router may wait at random before answering.",
    ),
];

/// The first two bytes of every Neighbor Discovery option.
const OPT: &[FieldDef] = &[
    FieldDef::new(
        "icmpv6.opt.type",
        "Type",
        0,
        1,
        Fmt::Dec,
        "Which option: 1 source link-layer address, 2 target link-layer address, 3 prefix information, 5 MTU.",
    ),
    FieldDef::new(
        "icmpv6.opt.length",
        "Length",
        1,
        1,
        Fmt::Dec,
        "The option's length in 8-byte units, type and length bytes included; 0 is invalid.",
    ),
];

/// The prefix information option (3), after type and length.
const PREFIX: &[FieldDef] = &[
    FieldDef::new(
        "icmpv6.opt.prefix.length",
        "Prefix length",
        2,
        1,
        Fmt::Dec,
        "How many leading bits of the prefix are the network part (64 for a normal LAN).",
    ),
    FieldDef::new(
        "icmpv6.opt.prefix.flag",
        "Flags",
        3,
        1,
        Fmt::Hex,
        "How hosts may use the prefix.",
    ),
    FieldDef::bits(
        "icmpv6.opt.prefix.flag.l",
        "On-link",
        3,
        1,
        0x80,
        Fmt::Bool,
        "Addresses with this prefix are on this link: reach them directly, not through the router.",
    )
    .sub(),
    FieldDef::bits(
        "icmpv6.opt.prefix.flag.a",
        "Autonomous address configuration",
        3,
        1,
        0x40,
        Fmt::Bool,
        "Hosts may build their own address from this prefix (SLAAC).",
    )
    .sub(),
    FieldDef::new(
        "icmpv6.opt.prefix.valid_lifetime",
        "Valid lifetime",
        4,
        4,
        Fmt::Dec,
        "Seconds the prefix stays valid (0xffffffff: forever).",
    ),
    FieldDef::new(
        "icmpv6.opt.prefix.preferred_lifetime",
        "Preferred lifetime",
        8,
        4,
        Fmt::Dec,
        "Seconds addresses built from it are preferred for new connections.",
    ),
    FieldDef::new(
        "icmpv6.opt.prefix",
        "Prefix",
        16,
        16,
        Fmt::Ipv6,
        "The network prefix itself.",
    ),
];

/// What a type means.
pub fn type_name(t: u8) -> &'static str {
    match t {
        1 => "destination unreachable",
        2 => "packet too big",
        3 => "time exceeded",
        4 => "parameter problem",
        128 => "echo request",
        129 => "echo reply",
        130 => "multicast listener query",
        131 => "multicast listener report",
        132 => "multicast listener done",
        133 => "router solicitation",
        134 => "router advertisement",
        135 => "neighbor solicitation",
        136 => "neighbor advertisement",
        137 => "redirect",
        138 => "router renumbering",
        139 => "node information query",
        140 => "node information reply",
        143 => "multicast listener report v2",
        _ => "",
    }
}

/// What a code means, for the error types.
pub fn code_name(t: u8, c: u8) -> &'static str {
    match (t, c) {
        (1, 0) => "no route to destination",
        (1, 1) => "communication administratively prohibited",
        (1, 2) => "beyond scope of source address",
        (1, 3) => "address unreachable",
        (1, 4) => "port unreachable",
        (1, 5) => "source address failed policy",
        (1, 6) => "reject route to destination",
        (3, 0) => "hop limit exceeded in transit",
        (3, 1) => "fragment reassembly time exceeded",
        (4, 0) => "erroneous header field",
        (4, 1) => "unrecognized next header",
        (4, 2) => "unrecognized IPv6 option",
        (4, 3) => "first fragment has incomplete header chain",
        _ => "",
    }
}

fn option_name(t: u8) -> &'static str {
    match t {
        1 => "source link-layer address",
        2 => "target link-layer address",
        3 => "prefix information",
        4 => "redirected header",
        5 => "MTU",
        7 => "advertisement interval",
        24 => "route information",
        25 => "recursive DNS server",
        31 => "DNS search list",
        _ => "",
    }
}

pub fn dissect(cx: &mut Cx, at: usize, end: usize) -> Next {
    cx.begin(Proto::Icmpv6, at);
    let n = cx.read_all_within(FIELDS, at, end);
    let ty = cx.u8_at(at).unwrap_or(0);
    let code = cx.u8_at(at + 1).unwrap_or(0);
    cx.set_meaning("icmpv6.type", type_name(ty));
    cx.set_meaning("icmpv6.code", code_name(ty, code));
    if n < FIELDS.len() {
        cx.fits("An ICMPv6 header", at, HEADER_LEN, end);
        return Next::Done;
    }
    verify_checksum(cx, at, end);
    let (body, what, len): (&[FieldDef], &str, usize) = match ty {
        1 | 3 => (std::slice::from_ref(&RESERVED), "An ICMPv6 error", 8),
        2 => (
            std::slice::from_ref(&MTU),
            "An ICMPv6 packet-too-big message",
            8,
        ),
        4 => (
            std::slice::from_ref(&POINTER),
            "An ICMPv6 parameter problem",
            8,
        ),
        128 | 129 => (ECHO, "An ICMPv6 echo message", 8),
        130..=132 => (MLD, "A multicast listener message", 24),
        133 => (std::slice::from_ref(&RESERVED), "A router solicitation", 8),
        134 => (RA, "A router advertisement", 16),
        135 => (NS, "A neighbor solicitation", 24),
        136 => (NA, "A neighbor advertisement", 24),
        137 => (REDIRECT, "A redirect", 40),
        138 => (RR, "A router renumbering message", 16),
        143 => (MLD2_REPORT, "A multicast listener report", 8),
        _ => (&[], "", HEADER_LEN),
    };
    if cx.read_all_within(body, at, end) < body.len() {
        cx.fits(what, at, len, end);
        return Next::Done;
    }
    if ty == 136 {
        // The three flags are shown as words on the flags field.
        let flags = cx.u32_at(at + 4).unwrap_or(0);
        let words: Vec<&str> = [(31, "router"), (30, "solicited"), (29, "override")]
            .iter()
            .filter(|(b, _)| flags & (1 << b) != 0)
            .map(|(_, w)| *w)
            .collect();
        cx.set_meaning("icmpv6.nd.na.flag", words.join(", "));
    }
    cx.set_len(len);
    let rest = at + len;
    match ty {
        1..=4 => {
            // The start of the packet that caused the error.
            cx.quoted = true;
            cx.in_error = true;
            Next::Ip { at: rest, end }
        }
        128 | 129 => Next::Data { at: rest, end },
        130 if end.saturating_sub(at) >= 28 => {
            mld2_query(cx, at, end);
            Next::Done
        }
        143 => {
            mld2_records(cx, at, end);
            Next::Done
        }
        133..=137 => {
            nd_options(cx, rest, end);
            Next::Done
        }
        _ => Next::Data { at: rest, end },
    }
}

fn verify_checksum(cx: &mut Cx, at: usize, end: usize) {
    if cx.quoted || cx.fragment {
        return;
    }
    let Some(ip @ IpPair::V6 { .. }) = cx.ip else {
        return;
    };
    let Some(msg) = cx.bytes(at, end.saturating_sub(at)) else {
        return;
    };
    if transport_checksum(&ip, 58, msg) == 0 {
        cx.set_meaning("icmpv6.checksum", "correct");
        return;
    }
    let mut copy = msg.to_vec();
    copy[2] = 0;
    copy[3] = 0;
    let want = transport_checksum(&ip, 58, &copy);
    let stored = cx.u16_at(at + 2).unwrap_or(0);
    cx.set_meaning("icmpv6.checksum", "wrong");
    cx.problem(
        ProblemKind::BadChecksum,
        at + 2,
        format!(
            "ICMPv6 checksum is 0x{stored:04x}, but the message and pseudo-header add up to 0x{want:04x}"
        ),
    );
}

/// The rest of an MLDv2 query: flags, interval and source list.
fn mld2_query(cx: &mut Cx, at: usize, end: usize) {
    // In version 2 the first field is a coded value rather than plain milliseconds.
    if let Some(i) = cx.field_index("icmpv6.mld.maximum_response_delay") {
        cx.d.fields[i].name = "icmpv6.mld.maximum_response_code";
        cx.d.fields[i].label = "Maximum response code";
    }
    if cx.read_all_within(MLD2_QUERY, at, end) < MLD2_QUERY.len() {
        cx.fits("A multicast listener query (v2)", at, 28, end);
        return;
    }
    let count = cx.u16_at(at + 26).unwrap_or(0) as usize;
    let mut i = at + 28;
    for _ in 0..count {
        if !cx.fits("A multicast listener query's source list", i, 16, end) {
            return;
        }
        let a: [u8; 16] = cx
            .bytes(i, 16)
            .unwrap_or(&[0; 16])
            .try_into()
            .unwrap_or([0; 16]);
        let f = cx.add(
            "icmpv6.mld.source_address",
            "Source address",
            i,
            16,
            Value::Ipv6(a),
            "A sender the query asks about.",
        );
        f.depth = 1;
        i += 16;
    }
    cx.set_len(i - at);
}

/// The multicast address records of an MLDv2 report.
fn mld2_records(cx: &mut Cx, at: usize, end: usize) {
    let count = cx.u16_at(at + 6).unwrap_or(0) as usize;
    let mut i = at + 8;
    for _ in 0..count {
        if !cx.fits("A multicast address record", i, 20, end) {
            return;
        }
        let head = cx.d.fields.len();
        cx.add(
            "icmpv6.mldr.mar",
            "Multicast address record",
            i,
            20,
            Value::None,
            "What this host wants from one multicast group.",
        );
        cx.read_all(MLD2_RECORD, i);
        let aux = cx.u8_at(i + 1).unwrap_or(0) as usize * 4;
        let sources = cx.u16_at(i + 2).unwrap_or(0) as usize;
        let rlen = 20 + sources * 16 + aux;
        if !cx.fits("A multicast address record", i, rlen, end) {
            return;
        }
        cx.d.fields[head].len = rlen as u32;
        for k in 0..sources {
            let j = i + 20 + k * 16;
            let a: [u8; 16] = cx
                .bytes(j, 16)
                .unwrap_or(&[0; 16])
                .try_into()
                .unwrap_or([0; 16]);
            let f = cx.add(
                "icmpv6.mldr.mar.source_address",
                "Source address",
                j,
                16,
                Value::Ipv6(a),
                "A sender the host wants (or does not want) to hear from in this group.",
            );
            f.depth = 1;
        }
        i += rlen;
    }
    cx.set_len(i - at);
}

/// Neighbor Discovery options, from `start` to the end of the message.
fn nd_options(cx: &mut Cx, start: usize, end: usize) {
    let mut i = start;
    while i < end {
        if !cx.fits("A Neighbor Discovery option", i, 2, end) {
            return;
        }
        let t = cx.u8_at(i).unwrap_or(0);
        let units = cx.u8_at(i + 1).unwrap_or(0) as usize;
        let len = units * 8;
        let head = cx.d.fields.len();
        cx.add(
            "icmpv6.opt",
            "Option",
            i,
            2,
            Value::None,
            "One option: a type, a length and data.",
        );
        cx.meaning(option_name(t));
        for def in OPT {
            if let Some((mut f, _)) = def.read(&cx.d.data, i) {
                f.depth = 1;
                cx.push(f);
            }
        }
        if units == 0 {
            cx.problem(
                ProblemKind::Malformed,
                i + 1,
                "a Neighbor Discovery option has length 0, which is invalid (it would never end)",
            );
            return;
        }
        if !cx.fits("A Neighbor Discovery option", i, len, end) {
            return;
        }
        cx.d.fields[head].len = len as u32;
        let sub = |cx: &mut Cx, name, label, at, n, value, explain| {
            let f = cx.add(name, label, at, n, value, explain);
            f.depth = 1;
        };
        match t {
            1 | 2 => {
                let n = len - 2;
                let value = match cx.bytes(i + 2, 6) {
                    Some(b) if n == 6 => Value::Mac(b.try_into().unwrap_or([0; 6])),
                    _ => Value::Bytes,
                };
                sub(
                    cx,
                    "icmpv6.opt.linkaddr",
                    "Link-layer address",
                    i + 2,
                    if n == 6 { 6 } else { n },
                    value,
                    "The MAC address of the sender (source option) or of the target (target option): what ARP would have found.",
                );
            }
            3 if len == 32 => {
                for def in PREFIX {
                    if let Some((mut f, _)) = def.read(&cx.d.data, i) {
                        f.depth += 1;
                        cx.push(f);
                    }
                }
            }
            5 if len == 8 => sub(
                cx,
                "icmpv6.opt.mtu",
                "MTU",
                i + 4,
                4,
                Value::Uint(cx.u32_at(i + 4).unwrap_or(0) as u64),
                "The MTU every host on this link should use.",
            ),
            25 if len >= 8 => {
                sub(
                    cx,
                    "icmpv6.opt.rdnss.lifetime",
                    "Lifetime",
                    i + 4,
                    4,
                    Value::Uint(cx.u32_at(i + 4).unwrap_or(0) as u64),
                    "Seconds the DNS servers listed may be used.",
                );
                let mut j = i + 8;
                while j + 16 <= i + len {
                    let a: [u8; 16] = cx
                        .bytes(j, 16)
                        .unwrap_or(&[0; 16])
                        .try_into()
                        .unwrap_or([0; 16]);
                    sub(
                        cx,
                        "icmpv6.opt.rdnss",
                        "Recursive DNS server",
                        j,
                        16,
                        Value::Ipv6(a),
                        "A DNS server hosts on this link can use.",
                    );
                    j += 16;
                }
            }
            _ => {}
        }
        i += len;
    }
}

/// Append the layer's description (`ICMPv6 Neighbor solicitation: who has fe80::1?`) to `s`
/// (see [`crate::dissect::describe_into`]).
pub fn describe_into(d: &Dissection, layer: &Layer, s: &mut String) {
    let field = |n| d.layer_field(layer, n);
    let num = |n| field(n).and_then(|f| f.value.as_u64());
    let Some(t) = num("icmpv6.type") else {
        s.push_str("ICMPv6");
        return;
    };
    let t = t as u8;
    let code = num("icmpv6.code").unwrap_or(0) as u8;
    match type_name(t) {
        "" => {
            let _ = write!(s, "ICMPv6 type {t}");
        }
        name => {
            s.push_str("ICMPv6 ");
            super::fields::push_capitalized(s, name);
        }
    }
    let c = code_name(t, code);
    if !c.is_empty() {
        s.push_str(" (");
        super::fields::push_capitalized(s, c);
        s.push(')');
    }
    if let (Some(id), Some(seq)) = (
        field("icmpv6.echo.identifier"),
        num("icmpv6.echo.sequence_number"),
    ) {
        s.push_str(" id=");
        id.write_tshark(&d.data, s);
        let _ = write!(s, " seq={seq}");
    }
    if let Some(mtu) = num("icmpv6.mtu") {
        let _ = write!(s, ", MTU {mtu}");
    }
    if let Some(target) = field("icmpv6.nd.ns.target_address") {
        s.push_str(": who has ");
        target.write_tshark(&d.data, s);
        s.push('?');
    }
    if let Some(target) = field("icmpv6.nd.na.target_address") {
        s.push_str(": ");
        target.write_tshark(&d.data, s);
        if let Some(mac) = d
            .layer_fields(layer)
            .iter()
            .find(|f| f.name == "icmpv6.opt.linkaddr")
        {
            s.push_str(" is at ");
            mac.write_tshark(&d.data, s);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::dissect::checksum::transport_checksum;
    use crate::dissect::cx::IpPair;
    use crate::dissect::{Dissection, Frame, LinkType, Proto, dissect};

    const SRC: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const DST: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

    fn packet(mut msg: Vec<u8>) -> Dissection {
        let ip = IpPair::V6 { src: SRC, dst: DST };
        let sum = transport_checksum(&ip, 58, &msg);
        msg[2..4].copy_from_slice(&sum.to_be_bytes());
        let mut b = vec![0x60, 0, 0, 0];
        b.extend_from_slice(&(msg.len() as u16).to_be_bytes());
        b.extend_from_slice(&[58, 255]);
        b.extend_from_slice(&SRC);
        b.extend_from_slice(&DST);
        b.extend_from_slice(&msg);
        dissect(&Frame {
            number: 1,
            ts: None,
            link: LinkType::RAW,
            wire_len: b.len() as u32,
            data: &b,
        })
    }

    #[test]
    fn echo_request_with_checksum() {
        let d = packet(vec![128, 0, 0, 0, 0x00, 0x2a, 0, 1, 1, 2, 3]);
        assert_eq!(
            d.field("icmpv6.echo.identifier").unwrap().tshark(&d.data),
            "0x002a"
        );
        assert_eq!(d.field("icmpv6.checksum").unwrap().meaning, "correct");
        assert!(d.problems.is_empty(), "{:?}", d.problems);
    }

    #[test]
    fn neighbor_advertisement_with_option() {
        let mut msg = vec![136, 0, 0, 0, 0x60, 0, 0, 0];
        msg.extend_from_slice(&SRC);
        msg.extend_from_slice(&[2, 1, 0xaa, 0, 4, 0, 0x0a, 4]);
        let d = packet(msg);
        assert_eq!(d.uint("icmpv6.nd.na.flag.s"), Some(1));
        assert_eq!(
            d.field("icmpv6.opt.linkaddr").unwrap().tshark(&d.data),
            "aa:00:04:00:0a:04"
        );
        assert_eq!(
            crate::dissect::describe(&d, d.layer(Proto::Icmpv6).unwrap()),
            "ICMPv6 Neighbor advertisement: fe80::1 is at aa:00:04:00:0a:04"
        );
    }

    #[test]
    fn zero_length_option_is_malformed() {
        let mut msg = vec![133, 0, 0, 0, 0, 0, 0, 0];
        msg.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
        let d = packet(msg);
        assert!(d.is_malformed());
    }

    #[test]
    fn packet_too_big_quotes_ipv6() {
        // The original packet had 200 bytes of payload; the error quotes only its start.
        let mut quoted = vec![0x60, 0, 0, 0, 0, 200, 17, 64];
        quoted.extend_from_slice(&DST);
        quoted.extend_from_slice(&SRC);
        quoted.extend_from_slice(&[0x75, 0x30, 0x32, 0xc8, 0, 200, 0, 0]);
        let mut msg = vec![2, 0, 0, 0, 0, 0, 5, 0xdc];
        msg.extend_from_slice(&quoted);
        let d = packet(msg);
        assert_eq!(d.uint("icmpv6.mtu"), Some(1500));
        let srcs: Vec<String> = d
            .fields_named("ipv6.src")
            .map(|f| f.tshark(&d.data))
            .collect();
        assert_eq!(srcs, ["fe80::1", "fe80::2"]);
        assert_eq!(d.uint("udp.srcport"), Some(30000));
        assert!(!d.is_malformed(), "{:?}", d.problems);
    }
}
