//! ICMP, the Internet Control Message Protocol (RFC 792).
//!
//! # The idea
//!
//! IP itself has no way to say "that did not work". ICMP is its messenger: small messages
//! carried inside IP packets (protocol 1) that hosts and routers send each other about IP
//! itself. There are two families.
//!
//! * **Queries**, which a program sends on purpose. `ping` sends an *echo request* (type 8) and
//!   the target answers with an *echo reply* (type 0) carrying the same identifier, sequence
//!   number and data, so ping can match replies to requests and time them.
//! * **Errors**, which a router or host sends back when it had to drop a packet: *destination
//!   unreachable* (type 3: no route, nobody listening on that UDP port, the packet was too big
//!   for a link and must not be fragmented), *time exceeded* (type 11: the TTL reached zero,
//!   which is exactly how `traceroute` finds each router on the path), *redirect*, *parameter
//!   problem*. An error quotes the start of the packet that caused it, its IP header and at
//!   least 8 bytes more, so the sender can tell which of its connections it concerns: 8 bytes
//!   is enough to hold the TCP or UDP ports.
//!
//! The quoted packet is dissected like any other, so its fields appear a second time: in an
//! error, `ip.src` lists the outer sender (the router) first and the quoted packet's sender
//! second, as Wireshark does.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Identifier          |        Sequence Number        |  echo, timestamp
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Data …                                                       (echo: anything)
//!
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Unused (or MTU, pointer, gateway)             |  errors
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      Internet Header + at least 64 bits of the original data   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use super::checksum::internet_checksum;
use super::cx::{Cx, Next};
use super::fields::{FieldDef, Fmt};
use super::model::{Dissection, Layer, ProblemKind, Proto};
use std::fmt::Write as _;

pub const HEADER_LEN: usize = 8;

/// The first word, the same for every ICMP message.
pub const FIELDS: &[FieldDef] = &[
    FieldDef::new(
        "icmp.type",
        "Type",
        0,
        1,
        Fmt::Dec,
        "What kind of message this is: 8 echo request (ping), 0 echo reply, 3 destination unreachable, 11 time exceeded.",
    ),
    FieldDef::new(
        "icmp.code",
        "Code",
        1,
        1,
        Fmt::Dec,
        "More detail within the type: for destination unreachable, 3 means no program listens on that port, 4 that the packet was too big for the next link and said Don't Fragment.",
    ),
    FieldDef::new(
        "icmp.checksum",
        "Checksum",
        2,
        2,
        Fmt::Hex,
        "An Internet checksum over the whole ICMP message, so a damaged message is thrown away.",
    ),
];

/// Echo request and reply (types 8 and 0), and the other queries that pair a request with
/// its reply (timestamp, information, address mask).
pub const ECHO: &[FieldDef] = &[
    FieldDef::new(
        "icmp.ident",
        "Identifier",
        4,
        2,
        Fmt::Dec,
        "Chosen by the sender (traditionally ping's process number; for a Linux ping socket the kernel picks it) so it can tell its replies from other programs' replies.",
    ),
    FieldDef::new(
        "icmp.seq",
        "Sequence number",
        6,
        2,
        Fmt::Dec,
        "Counts up with each request, so the sender can match every reply to its request and spot the lost ones.",
    ),
];

/// Timestamp request and reply (13, 14): three clock readings in milliseconds since midnight.
pub const TIMESTAMPS: &[FieldDef] = &[
    FieldDef::new(
        "icmp.originate_timestamp",
        "Originate timestamp",
        8,
        4,
        Fmt::Dec,
        "When the request was sent, in milliseconds since midnight UTC.",
    ),
    FieldDef::new(
        "icmp.receive_timestamp",
        "Receive timestamp",
        12,
        4,
        Fmt::Dec,
        "When the answering host received the request.",
    ),
    FieldDef::new(
        "icmp.transmit_timestamp",
        "Transmit timestamp",
        16,
        4,
        Fmt::Dec,
        "When the answering host sent its reply.",
    ),
];

/// Address mask request and reply (17, 18).
pub const MASK: FieldDef = FieldDef::new(
    "icmp.address_mask",
    "Address mask",
    8,
    4,
    Fmt::Ipv4,
    "The subnet mask of the network, as the answering host knows it.",
);

/// Destination unreachable, source quench, time exceeded: four unused bytes before the quote.
pub const UNUSED: FieldDef = FieldDef::new(
    "icmp.unused",
    "Unused",
    4,
    4,
    Fmt::Bytes,
    "Not used by this message; zero.",
);

/// Destination unreachable, code 4 ("fragmentation needed"): the MTU that was too small.
pub const FRAG_NEEDED: &[FieldDef] = &[
    FieldDef::new(
        "icmp.unused",
        "Unused",
        4,
        2,
        Fmt::Bytes,
        "Not used by this message; zero.",
    ),
    FieldDef::new(
        "icmp.mtu",
        "MTU of next hop",
        6,
        2,
        Fmt::Dec,
        "The largest packet the next link carries: the sender should send packets no bigger (path MTU discovery).",
    ),
];

/// Redirect (5).
pub const REDIRECT: FieldDef = FieldDef::new(
    "icmp.redir_gw",
    "Gateway address",
    4,
    4,
    Fmt::Ipv4,
    "The better router to use for this destination from now on.",
);

/// Parameter problem (12).
pub const PARAM: &[FieldDef] = &[
    FieldDef::new(
        "icmp.pointer",
        "Pointer",
        4,
        1,
        Fmt::Dec,
        "Which byte of the quoted header was wrong.",
    ),
    FieldDef::new(
        "icmp.unused",
        "Unused",
        5,
        3,
        Fmt::Bytes,
        "Not used by this message; zero.",
    ),
];

/// Router advertisement (9), RFC 1256.
pub const ROUTER_ADV: &[FieldDef] = &[
    FieldDef::new(
        "icmp.num_addrs",
        "Number of addresses",
        4,
        1,
        Fmt::Dec,
        "How many router addresses this advertisement lists.",
    ),
    FieldDef::new(
        "icmp.addr_entry_size",
        "Address entry size",
        5,
        1,
        Fmt::Dec,
        "Size of each entry in 32-bit words (2: an address and a preference).",
    ),
    FieldDef::new(
        "icmp.lifetime",
        "Lifetime",
        6,
        2,
        Fmt::Dec,
        "How many seconds the addresses may be trusted.",
    ),
];

/// Extended echo request (42), RFC 8335: "is this interface of yours up?"
pub const EXT_ECHO_REQUEST: &[FieldDef] = &[
    FieldDef::new(
        "icmp.ident",
        "Identifier",
        4,
        2,
        Fmt::Dec,
        "Chosen by the sender to match replies to its requests, as in ping.",
    ),
    FieldDef::new(
        "icmp.ext.echo.seq",
        "Sequence number",
        6,
        1,
        Fmt::Dec,
        "Counts the requests (one byte here, unlike ping's two).",
    ),
    FieldDef::bits(
        "icmp.ext.echo.req.local",
        "Local bit",
        7,
        1,
        0x01,
        Fmt::Bool,
        "Set if the interface asked about belongs to the node this request was sent to.",
    ),
];

/// Extended echo reply (43), RFC 8335.
pub const EXT_ECHO_REPLY: &[FieldDef] = &[
    FieldDef::new(
        "icmp.ident",
        "Identifier",
        4,
        2,
        Fmt::Dec,
        "Copied from the request.",
    ),
    FieldDef::new(
        "icmp.ext.echo.seq",
        "Sequence number",
        6,
        1,
        Fmt::Dec,
        "Copied from the request.",
    ),
    FieldDef::bits(
        "icmp.ext.echo.rsp.state",
        "State",
        7,
        1,
        0xe0,
        Fmt::Dec,
        "The state of the interface's neighbour entry, when one was asked about.",
    ),
    FieldDef::bits(
        "icmp.ext.echo.rsp.active",
        "Active bit",
        7,
        1,
        0x04,
        Fmt::Bool,
        "Set if the interface asked about is up.",
    ),
    FieldDef::bits(
        "icmp.ext.echo.rsp.ipv4",
        "IPv4 bit",
        7,
        1,
        0x02,
        Fmt::Bool,
        "Set if IPv4 runs on that interface.",
    ),
    FieldDef::bits(
        "icmp.ext.echo.rsp.ipv6",
        "IPv6 bit",
        7,
        1,
        0x01,
        Fmt::Bool,
        "Set if IPv6 runs on that interface.",
    ),
];

/// What a type means.
pub fn type_name(t: u8) -> &'static str {
    match t {
        0 => "echo reply",
        3 => "destination unreachable",
        4 => "source quench",
        5 => "redirect",
        8 => "echo request",
        9 => "router advertisement",
        10 => "router solicitation",
        11 => "time exceeded",
        12 => "parameter problem",
        13 => "timestamp request",
        14 => "timestamp reply",
        15 => "information request",
        16 => "information reply",
        17 => "address mask request",
        18 => "address mask reply",
        30 => "traceroute",
        42 => "extended echo request",
        43 => "extended echo reply",
        _ => "",
    }
}

/// What a code means, for the types that have codes.
pub fn code_name(t: u8, c: u8) -> &'static str {
    match (t, c) {
        (3, 0) => "network unreachable",
        (3, 1) => "host unreachable",
        (3, 2) => "protocol unreachable",
        (3, 3) => "port unreachable",
        (3, 4) => "fragmentation needed but don't-fragment set",
        (3, 5) => "source route failed",
        (3, 6) => "destination network unknown",
        (3, 7) => "destination host unknown",
        (3, 9) | (3, 10) => "administratively prohibited",
        (3, 13) => "communication administratively prohibited",
        (5, 0) => "for the network",
        (5, 1) => "for the host",
        (5, 2) => "for the type of service and network",
        (5, 3) => "for the type of service and host",
        (11, 0) => "time to live exceeded in transit",
        (11, 1) => "fragment reassembly time exceeded",
        (12, 0) => "the pointer shows the error",
        (12, 1) => "a required option is missing",
        (12, 2) => "bad length",
        (43, 0) => "no error",
        (43, 1) => "malformed query",
        (43, 2) => "no such interface",
        (43, 3) => "no such table entry",
        (43, 4) => "multiple interfaces satisfy query",
        _ => "",
    }
}

/// Is this type an error that quotes the packet that caused it?
pub fn is_error(t: u8) -> bool {
    matches!(t, 3 | 4 | 5 | 11 | 12)
}

pub fn dissect(cx: &mut Cx, at: usize, end: usize) -> Next {
    cx.begin(Proto::Icmp, at);
    let n = cx.read_all_within(FIELDS, at, end);
    let ty = cx.u8_at(at).unwrap_or(0);
    let code = cx.u8_at(at + 1).unwrap_or(0);
    cx.set_meaning("icmp.type", type_name(ty));
    cx.set_meaning("icmp.code", code_name(ty, code));
    if n < FIELDS.len() {
        cx.fits("An ICMP header", at, 4, end);
        return Next::Done;
    }
    verify_checksum(cx, at, end);
    let body: &[FieldDef] = match ty {
        0 | 8 | 13 | 14 | 15 | 16 | 17 | 18 => ECHO,
        3 if code == 4 => FRAG_NEEDED,
        3 | 4 | 11 => std::slice::from_ref(&UNUSED),
        5 => std::slice::from_ref(&REDIRECT),
        9 => ROUTER_ADV,
        12 => PARAM,
        42 => EXT_ECHO_REQUEST,
        43 => EXT_ECHO_REPLY,
        _ => &[],
    };
    if !body.is_empty() && cx.read_all_within(body, at, end) < body.len() {
        cx.fits("An ICMP header", at, HEADER_LEN, end);
        return Next::Done;
    }
    let mut hdr = if body.is_empty() { 4 } else { HEADER_LEN };
    match ty {
        13 | 14 => {
            if cx.read_all_within(TIMESTAMPS, at, end) < TIMESTAMPS.len() {
                cx.fits("An ICMP timestamp message", at, 20, end);
                return Next::Done;
            }
            hdr = 20;
        }
        17 | 18 if at + 12 <= end && cx.read(&MASK, at).is_some() => hdr = 12,
        9 => hdr = router_addresses(cx, at, end),
        _ => {}
    }
    cx.set_len(hdr);
    let payload = at + hdr;
    if is_error(ty) {
        // The rest is the start of the packet that caused the error: dissect it like any
        // other, knowing it is cut short on purpose.
        cx.quoted = true;
        cx.in_error = true;
        return Next::Ip { at: payload, end };
    }
    Next::Data { at: payload, end }
}

/// The address list of a router advertisement; returns the header length it adds up to.
fn router_addresses(cx: &mut Cx, at: usize, end: usize) -> usize {
    let count = cx.u8_at(at + 4).unwrap_or(0) as usize;
    let words = cx.u8_at(at + 5).unwrap_or(0) as usize;
    let mut i = at + HEADER_LEN;
    for _ in 0..count {
        if words < 2 || i + words * 4 > end.min(cx.data().len()) {
            break;
        }
        if let Some(b) = cx.bytes(i, 4) {
            let a: [u8; 4] = b.try_into().unwrap_or([0; 4]);
            let f = cx.add(
                "icmp.router_address",
                "Router address",
                i,
                4,
                super::model::Value::Ipv4(a),
                "The address of a router on this network.",
            );
            f.depth = 1;
        }
        let pref = cx.u32_at(i + 4).unwrap_or(0) as i32;
        let f = cx.add(
            "icmp.pref_level",
            "Preference level",
            i + 4,
            4,
            super::model::Value::Text(pref.to_string()),
            "How much to prefer this router as the default (higher is better).",
        );
        f.depth = 1;
        i += words * 4;
    }
    i - at
}

fn verify_checksum(cx: &mut Cx, at: usize, end: usize) {
    if cx.quoted || cx.fragment {
        return;
    }
    let Some(msg) = cx.bytes(at, end.saturating_sub(at)) else {
        return; // not all captured: cannot check
    };
    if msg.len() < 4 {
        return;
    }
    if internet_checksum(&[msg]) == 0 {
        cx.set_meaning("icmp.checksum", "correct");
        return;
    }
    let mut copy = msg.to_vec();
    copy[2] = 0;
    copy[3] = 0;
    let want = internet_checksum(&[&copy]);
    let stored = cx.u16_at(at + 2).unwrap_or(0);
    cx.set_meaning("icmp.checksum", "wrong");
    cx.problem(
        ProblemKind::BadChecksum,
        at + 2,
        format!("ICMP checksum is 0x{stored:04x}, but the message adds up to 0x{want:04x}"),
    );
}

/// Append the layer's description (`ICMP Echo (ping) request id=1 seq=2`) to `s` (see
/// [`crate::dissect::describe_into`]).
pub fn describe_into(d: &Dissection, layer: &Layer, s: &mut String) {
    let num = |n| d.layer_field(layer, n).and_then(|f| f.value.as_u64());
    let Some(t) = num("icmp.type") else {
        s.push_str("ICMP");
        return;
    };
    let t = t as u8;
    let code = num("icmp.code").unwrap_or(0) as u8;
    // Capitalised as Wireshark's Info column writes them: "Destination unreachable (Port
    // unreachable)".
    match type_name(t) {
        "" => {
            let _ = write!(s, "ICMP type {t}");
        }
        name => {
            s.push_str("ICMP ");
            super::fields::push_capitalized(s, name);
        }
    }
    let c = code_name(t, code);
    if !c.is_empty() && !matches!(t, 43) {
        s.push_str(" (");
        super::fields::push_capitalized(s, c);
        s.push(')');
    } else if code != 0 {
        let _ = write!(s, " code {code}");
    }
    if let (Some(id), Some(seq)) = (num("icmp.ident"), num("icmp.seq")) {
        let _ = write!(s, " id={id} seq={seq}");
    }
    if let Some(mtu) = num("icmp.mtu") {
        let _ = write!(s, ", next-hop MTU {mtu}");
    }
    if let Some(gw) = d.layer_field(layer, "icmp.redir_gw") {
        s.push_str(", use gateway ");
        gw.write_tshark(&d.data, s);
    }
}

#[cfg(test)]
mod tests {
    use crate::dissect::checksum::internet_checksum;
    use crate::dissect::{Dissection, Frame, LinkType, Proto, dissect};

    fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
        let total = 20 + payload.len() as u16;
        let mut b = vec![0x45, 0];
        b.extend_from_slice(&total.to_be_bytes());
        b.extend_from_slice(&[0, 1, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        let sum = internet_checksum(&[&b]);
        b[10..12].copy_from_slice(&sum.to_be_bytes());
        b.extend_from_slice(payload);
        b
    }

    fn icmp(mut msg: Vec<u8>) -> Vec<u8> {
        let sum = internet_checksum(&[&msg]);
        msg[2..4].copy_from_slice(&sum.to_be_bytes());
        msg
    }

    fn raw(bytes: &[u8]) -> Dissection {
        dissect(&Frame {
            number: 1,
            ts: None,
            link: LinkType::RAW,
            wire_len: bytes.len() as u32,
            data: bytes,
        })
    }

    #[test]
    fn echo_request() {
        let msg = icmp(vec![8, 0, 0, 0, 0x12, 0x34, 0, 7, b'h', b'i']);
        let d = raw(&ipv4(1, &msg));
        assert_eq!(d.uint("icmp.ident"), Some(0x1234));
        assert_eq!(d.uint("icmp.seq"), Some(7));
        assert_eq!(d.field("icmp.checksum").unwrap().meaning, "correct");
        assert!(d.has(Proto::Data));
        assert!(d.problems.is_empty(), "{:?}", d.problems);
    }

    #[test]
    fn port_unreachable_quotes_the_udp_packet() {
        let mut udp = vec![0x30, 0x39, 0x00, 0x35, 0, 40, 0, 0];
        udp.extend_from_slice(&[0; 32]);
        let mut quoted = ipv4(17, &udp);
        quoted.truncate(28); // the IP header and 8 bytes
        let mut msg = vec![3, 3, 0, 0, 0, 0, 0, 0];
        msg.extend_from_slice(&quoted);
        let d = raw(&ipv4(1, &icmp(msg)));
        let srcs: Vec<String> = d
            .fields_named("ip.src")
            .map(|f| f.tshark(&d.data))
            .collect();
        assert_eq!(srcs, ["10.0.0.1", "10.0.0.1"]);
        assert_eq!(d.uint("udp.dstport"), Some(53));
        assert!(!d.is_malformed(), "{:?}", d.problems);
        assert_eq!(
            crate::dissect::describe(&d, d.layer(Proto::Icmp).unwrap()),
            "ICMP Destination unreachable (Port unreachable)"
        );
    }

    #[test]
    fn bad_checksum_is_reported() {
        let mut msg = icmp(vec![0, 0, 0, 0, 0, 1, 0, 1]);
        msg[3] ^= 0xff;
        let d = raw(&ipv4(1, &msg));
        assert!(
            d.problems
                .iter()
                .any(|p| p.kind == crate::dissect::ProblemKind::BadChecksum)
        );
    }
}
