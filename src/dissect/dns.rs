//! DNS, the Domain Name System (RFC 1035).
//!
//! # The idea
//!
//! People remember names (`www.example.org`); the network routes numbers (`93.184.215.14`).
//! DNS is the internet's phone book: a program asks a *resolver* "what is the A record (IPv4
//! address) of this name?" and gets an answer back. It usually runs over UDP port 53, because
//! one small question and one small answer fit in one datagram each: no connection to set up.
//! A lost datagram is simply asked again. Long answers, and transfers between servers, use
//! TCP port 53, where each message is preceded by its length in two bytes (a byte stream has
//! no message boundaries of its own).
//!
//! Every message, question or answer, has the same shape: a 12-byte header, then four lists.
//! The *question* names what is asked; *answers* answer it; *authority* records name the
//! servers responsible for the zone; *additional* records are extras the server thinks will
//! help (the addresses of those servers, say). Each record (RR, *resource record*) is a name,
//! a type (A, AAAA, CNAME, MX…), a class (IN, internet), a time to live (how long it may be
//! cached) and the data.
//!
//! Names are written as *labels*, each preceded by its length: `3www7example3org0`. To save
//! room, a name that has already appeared can be replaced by a two-byte *pointer* to where it
//! was (two top bits set, then the offset from the start of the message): the answer's
//! `www.example.org` is usually just `c0 0c`, "see byte 12", where the question's name is. A
//! careless (or hostile) message can make pointers point at each other forever, so a reader
//! must refuse pointers that do not go backwards.
//!
//! ```text
//!                                 1  1  1  1  1  1
//!   0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |                      ID                       |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |                    QDCOUNT                    |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |                    ANCOUNT                    |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |                    NSCOUNT                    |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |                    ARCOUNT                    |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//!
//!  A question:                      A resource record:
//! +--+--+--+--+--+--+--+--+         +--+--+--+--+--+--+--+--+
//! |   NAME (labels…)      |         |   NAME (labels…)      |
//! +--+--+--+--+--+--+--+--+         +--+--+--+--+--+--+--+--+
//! |   TYPE (2 bytes)      |         |   TYPE    |   CLASS   |
//! |   CLASS (2 bytes)     |         |   TTL (4 bytes)       |
//! +--+--+--+--+--+--+--+--+         |   RDLENGTH|  RDATA …  |
//!                                   +--+--+--+--+--+--+--+--+
//! ```
//!
//! (AD and CD are the DNSSEC bits of RFC 4035; the diagram above is RFC 1035's with them in.)

use super::cx::{Cx, Next};
use super::fields::{FieldDef, Fmt};
use super::model::{Dissection, Layer, ProblemKind, Proto, Value};
use std::fmt::Write as _;

pub const HEADER_LEN: usize = 12;
/// How many compression pointers one name may follow. Real names need two or three; the
/// limit only stops a loop that slipped past the "pointers go backwards" rule.
const MAX_POINTERS: usize = 64;
/// The longest name RFC 1035 allows, in bytes on the wire.
const MAX_NAME: usize = 255;

/// The header, in the order of the RFC 1035 § 4.1.1 diagram.
pub const FIELDS: &[FieldDef] = &[
    FieldDef::new(
        "dns.id",
        "Transaction ID",
        0,
        2,
        Fmt::Hex,
        "Chosen by the asker and copied into the answer, so the asker can match answers to questions.",
    ),
    FieldDef::new(
        "dns.flags",
        "Flags",
        2,
        2,
        Fmt::Hex,
        "Sixteen bits saying what kind of message this is and how it went.",
    ),
    FieldDef::bits(
        "dns.flags.response",
        "Response",
        2,
        2,
        0x8000,
        Fmt::Bool,
        "QR: 0 for a question (query), 1 for an answer (response).",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "dns.flags.opcode",
        "Opcode",
        2,
        2,
        0x7800,
        Fmt::Dec,
        "What kind of query: 0 a standard query, 4 a notify, 5 an update.",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "dns.flags.authoritative",
        "Authoritative",
        2,
        2,
        0x0400,
        Fmt::Bool,
        "AA: the answering server is responsible for this name (not answering from its cache).",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "dns.flags.truncated",
        "Truncated",
        2,
        2,
        0x0200,
        Fmt::Bool,
        "TC: the answer did not fit in the datagram; ask again over TCP.",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "dns.flags.recdesired",
        "Recursion desired",
        2,
        2,
        0x0100,
        Fmt::Bool,
        "RD: please find the answer for me, asking other servers as needed.",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "dns.flags.recavail",
        "Recursion available",
        2,
        2,
        0x0080,
        Fmt::Bool,
        "RA: the answering server is willing to do that.",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "dns.flags.z",
        "Z",
        2,
        2,
        0x0040,
        Fmt::Bool,
        "Reserved; zero.",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "dns.flags.authenticated",
        "Answer authenticated",
        2,
        2,
        0x0020,
        Fmt::Bool,
        "AD: the server checked the answer's DNSSEC signatures.",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "dns.flags.checkdisable",
        "Checking disabled",
        2,
        2,
        0x0010,
        Fmt::Bool,
        "CD: the asker will check DNSSEC signatures itself.",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "dns.flags.rcode",
        "Reply code",
        2,
        2,
        0x000f,
        Fmt::Dec,
        "How the query went: 0 no error, 2 server failure, 3 no such name (NXDOMAIN), 5 refused.",
    )
    .sub()
    .detail(),
    FieldDef::new(
        "dns.count.queries",
        "Questions",
        4,
        2,
        Fmt::Dec,
        "QDCOUNT: how many questions follow (almost always 1).",
    ),
    FieldDef::new(
        "dns.count.answers",
        "Answer RRs",
        6,
        2,
        Fmt::Dec,
        "ANCOUNT: how many answer records follow.",
    ),
    FieldDef::new(
        "dns.count.auth_rr",
        "Authority RRs",
        8,
        2,
        Fmt::Dec,
        "NSCOUNT: how many records naming the responsible name servers follow.",
    ),
    FieldDef::new(
        "dns.count.add_rr",
        "Additional RRs",
        10,
        2,
        Fmt::Dec,
        "ARCOUNT: how many extra records follow (often the servers' addresses, or an EDNS OPT record).",
    ),
];

/// The length prefix of a message over TCP.
pub const TCP_LENGTH: FieldDef = FieldDef::new(
    "dns.length",
    "Length",
    0,
    2,
    Fmt::Dec,
    "Over TCP, every DNS message is preceded by its length, because a byte stream has no message boundaries.",
);

/// What a record type number means.
pub fn type_name(t: u16) -> &'static str {
    match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        39 => "DNAME",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY (*)",
        257 => "CAA",
        _ => "",
    }
}

fn rcode_name(c: u64) -> &'static str {
    match c {
        0 => "no error",
        1 => "format error",
        2 => "server failure",
        3 => "no such name",
        4 => "not implemented",
        5 => "refused",
        _ => "",
    }
}

fn class_name(c: u16) -> &'static str {
    match c & 0x7fff {
        1 => "IN (internet)",
        3 => "CH (Chaos)",
        4 => "HS (Hesiod)",
        254 => "NONE",
        255 => "ANY",
        _ => "",
    }
}

/// Why a name could not be read.
enum NameError {
    /// The bytes ran out: a label (or pointer) at this offset needs this many bytes.
    Short(usize, usize),
    /// A pointer that does not point backwards, or too many pointers, at this offset.
    Loop(usize),
    /// A length byte whose top bits are 01 or 10 (reserved label types).
    BadLabel(usize, u8),
    /// More than 255 bytes.
    TooLong(usize),
}

/// A name as read from the message.
struct Name {
    text: String,
    /// Bytes the name takes where it is written (up to and including a first pointer).
    len: usize,
    labels: usize,
}

/// Read a name at `pos`. `msg` is where the message starts (pointers count from there) and
/// `room` where the bytes available to it end.
fn read_name(data: &[u8], msg: usize, pos: usize, room: usize) -> Result<Name, NameError> {
    let mut text = String::new();
    let mut labels = 0;
    let mut i = pos;
    let mut len_in_place = None;
    let mut wire = 0;
    let mut jumps = 0;
    // Where the data the last pointer led to starts; the next pointer must point before it.
    let mut floor = pos;
    loop {
        let Some(&b) = data.get(i).filter(|_| i < room) else {
            return Err(NameError::Short(i, 1));
        };
        match b & 0xc0 {
            0x00 => {
                if b == 0 {
                    if len_in_place.is_none() {
                        len_in_place = Some(i + 1 - pos);
                    }
                    break;
                }
                let n = b as usize;
                let Some(label) = data.get(i + 1..i + 1 + n).filter(|_| i + 1 + n <= room) else {
                    return Err(NameError::Short(i, 1 + n));
                };
                wire += 1 + n;
                if wire > MAX_NAME {
                    return Err(NameError::TooLong(i));
                }
                if !text.is_empty() {
                    text.push('.');
                }
                for &c in label {
                    if c.is_ascii_graphic() && c != b'.' && c != b'\\' {
                        text.push(c as char);
                    } else {
                        let _ = write!(text, "\\{c:03}");
                    }
                }
                labels += 1;
                i += 1 + n;
            }
            0xc0 => {
                let Some(&lo) = data.get(i + 1).filter(|_| i + 1 < room) else {
                    return Err(NameError::Short(i, 2));
                };
                if len_in_place.is_none() {
                    len_in_place = Some(i + 2 - pos);
                }
                let target = msg + (((b as usize & 0x3f) << 8) | lo as usize);
                jumps += 1;
                if target >= floor || jumps > MAX_POINTERS {
                    return Err(NameError::Loop(i));
                }
                floor = target;
                i = target;
            }
            _ => return Err(NameError::BadLabel(i, b)),
        }
    }
    if text.is_empty() {
        text.push_str("<Root>");
    }
    Ok(Name {
        text,
        len: len_in_place.unwrap_or(1),
        labels,
    })
}

/// Like [`Cx::fits`], but in the first piece of a fragmented packet, or a TCP segment that
/// holds only the start of a message, the message is expected to continue in other packets:
/// stopping there is not a problem.
fn fits(cx: &mut Cx, what: &str, at: usize, need: usize, end: usize) -> bool {
    if cx.fragment {
        let want = at.saturating_add(need);
        return want <= end && want <= cx.data().len();
    }
    cx.fits(what, at, need, end)
}

/// Where one message lies in the frame.
#[derive(Clone, Copy)]
struct Msg {
    /// First byte of the DNS header (pointers count from here).
    start: usize,
    /// End of the message.
    end: usize,
}

/// Read a name and add it as a field; on failure, record the problem and return `None`.
fn name_field(
    cx: &mut Cx,
    m: Msg,
    pos: usize,
    field: (&'static str, &'static str, &'static str),
    depth: u8,
) -> Option<(usize, String)> {
    let room = m.end.min(cx.data().len());
    match read_name(cx.data(), m.start, pos, room) {
        Ok(name) => {
            let f = cx.add(
                field.0,
                field.1,
                pos,
                name.len,
                Value::Text(name.text.clone()),
                field.2,
            );
            f.depth = depth;
            if field.0 == "dns.qry.name" {
                let n = if name.text == "<Root>" {
                    0
                } else {
                    name.text.len()
                };
                let f = cx.add(
                    "dns.qry.name.len",
                    "Name length",
                    pos,
                    name.len,
                    Value::Uint(n as u64),
                    "How many characters the name has, written out with its dots.",
                );
                f.depth = depth + 1;
                let f = cx.add(
                    "dns.count.labels",
                    "Label count",
                    pos,
                    name.len,
                    Value::Uint(name.labels as u64),
                    "How many labels (parts between dots) the name has.",
                );
                f.depth = depth + 1;
            }
            Some((name.len, name.text))
        }
        Err(NameError::Short(at, need)) => {
            fits(cx, "A DNS name", at, need, m.end);
            None
        }
        Err(NameError::Loop(at)) => {
            cx.problem(
                ProblemKind::Malformed,
                at,
                "a DNS compression pointer must point to an earlier name, but this one points forward or back into itself (a loop)",
            );
            None
        }
        Err(NameError::BadLabel(at, b)) => {
            cx.problem(
                ProblemKind::Malformed,
                at,
                format!(
                    "DNS label length byte 0x{b:02x} uses a reserved label type (top bits 01 or 10)"
                ),
            );
            None
        }
        Err(NameError::TooLong(at)) => {
            cx.problem(
                ProblemKind::Malformed,
                at,
                "a DNS name may be at most 255 bytes long, and this one is longer",
            );
            None
        }
    }
}

/// Add a number read from the frame, after checking it is inside the message.
fn number(
    cx: &mut Cx,
    m: Msg,
    at: usize,
    len: usize,
    field: (&'static str, &'static str, &'static str),
    hex: bool,
    depth: u8,
) -> Option<u64> {
    if !fits(cx, "A DNS record", at, len, m.end) {
        return None;
    }
    let bytes = cx.bytes(at, len)?;
    let v = super::fields::be_uint(bytes);
    let value = if hex {
        Value::Hex {
            value: v,
            digits: (len * 2) as u8,
        }
    } else {
        Value::Uint(v)
    };
    let f = cx.add(field.0, field.1, at, len, value, field.2);
    f.depth = depth;
    Some(v)
}

pub fn dissect(cx: &mut Cx, transport: Proto, at: usize, end: usize) -> Next {
    cx.begin(Proto::Dns, at);
    let mut start = at;
    let mut msg_end = end;
    let was_fragment = cx.fragment;
    if transport == Proto::Tcp {
        if cx.read_all_within(std::slice::from_ref(&TCP_LENGTH), at, end) < 1 {
            fits(cx, "A DNS-over-TCP length", at, 2, end);
            return Next::Done;
        }
        let len = cx.u16_at(at).unwrap_or(0) as usize;
        start = at + 2;
        msg_end = start + len;
        if msg_end > end {
            // The rest of the message is in later segments: being cut here is expected.
            cx.fragment = true;
            msg_end = end;
        }
    }
    let m = Msg {
        start,
        end: msg_end,
    };
    let result = message(cx, m);
    cx.fragment = was_fragment;
    let stop = result.unwrap_or(msg_end).min(cx.data().len());
    cx.set_len(stop.saturating_sub(at));
    if result.is_some() && msg_end < end {
        // More bytes follow the message (over TCP: possibly another message).
        return Next::Data { at: msg_end, end };
    }
    Next::Done
}

/// Dissect one message; returns where it ended, or `None` if it stopped early.
fn message(cx: &mut Cx, m: Msg) -> Option<usize> {
    if cx.read_all_within(FIELDS, m.start, m.end) < FIELDS.len() {
        fits(cx, "A DNS header", m.start, HEADER_LEN, m.end);
        return None;
    }
    let flags = cx.u16_at(m.start + 2).unwrap_or(0);
    cx.set_meaning(
        "dns.flags",
        if flags & 0x8000 != 0 {
            "response"
        } else {
            "query"
        },
    );
    cx.set_meaning("dns.flags.rcode", rcode_name((flags & 0x0f) as u64));
    let counts: Vec<usize> = (0..4)
        .map(|k| cx.u16_at(m.start + 4 + 2 * k).unwrap_or(0) as usize)
        .collect();
    let mut i = m.start + HEADER_LEN;
    for _ in 0..counts[0] {
        i = question(cx, m, i)?;
    }
    for (section, &count) in ["Answer", "Authority", "Additional"]
        .iter()
        .zip(&counts[1..])
    {
        for _ in 0..count {
            i = record(cx, m, i, section)?;
        }
    }
    Some(i)
}

fn question(cx: &mut Cx, m: Msg, i: usize) -> Option<usize> {
    let head = cx.d.fields.len();
    cx.add(
        "dns.qry",
        "Question",
        i,
        0,
        Value::None,
        "What is being asked: a name, and which type of record about it.",
    );
    let (n, text) = name_field(
        cx,
        m,
        i,
        ("dns.qry.name", "Name", "The name asked about."),
        1,
    )?;
    let ty = number(
        cx,
        m,
        i + n,
        2,
        (
            "dns.qry.type",
            "Type",
            "Which kind of record is wanted: 1 A (IPv4 address), 28 AAAA (IPv6 address), 15 MX (mail server)…",
        ),
        false,
        1,
    )?;
    cx.meaning(type_name(ty as u16));
    let class = number(
        cx,
        m,
        i + n + 2,
        2,
        (
            "dns.qry.class",
            "Class",
            "Which network the name belongs to; 1, IN, the internet, is the only one in real use.",
        ),
        true,
        1,
    )?;
    cx.meaning(class_name(class as u16));
    cx.d.fields[head].len = (n + 4) as u32;
    // The heading is written onto the name's own `String` (no new one for each question).
    let mut heading = text;
    heading.push_str(": type ");
    heading.push_str(type_name(ty as u16));
    cx.d.fields[head].meaning = heading.into();
    Some(i + n + 4)
}

fn record(cx: &mut Cx, m: Msg, i: usize, section: &'static str) -> Option<usize> {
    let head = cx.d.fields.len();
    cx.add(
        "dns.rr",
        section,
        i,
        0,
        Value::None,
        "A resource record: a name, its type, how long it may be cached, and the data.",
    );
    let (n, text) = name_field(
        cx,
        m,
        i,
        ("dns.resp.name", "Name", "The name this record is about."),
        1,
    )?;
    let ty = number(
        cx,
        m,
        i + n,
        2,
        (
            "dns.resp.type",
            "Type",
            "What kind of record: 1 A, 28 AAAA, 5 CNAME, 2 NS, 15 MX, 16 TXT…",
        ),
        false,
        1,
    )? as u16;
    cx.meaning(type_name(ty));
    let p = i + n + 2;
    if ty == 41 {
        // EDNS (RFC 6891): an OPT pseudo-record re-uses the class and TTL fields.
        number(
            cx,
            m,
            p,
            2,
            (
                "dns.rr.udp_payload_size",
                "UDP payload size",
                "The largest UDP answer the sender can receive (the old limit was 512 bytes).",
            ),
            false,
            1,
        )?;
        number(
            cx,
            m,
            p + 2,
            1,
            (
                "dns.resp.ext_rcode",
                "Extended RCODE",
                "High bits extending the header's reply code.",
            ),
            true,
            1,
        )?;
        number(
            cx,
            m,
            p + 3,
            1,
            (
                "dns.resp.edns0_version",
                "EDNS version",
                "Which version of EDNS the sender speaks (0).",
            ),
            false,
            1,
        )?;
        let z = number(
            cx,
            m,
            p + 4,
            2,
            (
                "dns.resp.z",
                "Z",
                "EDNS flags; the top one, DO, asks for DNSSEC records.",
            ),
            true,
            1,
        )?;
        let f = cx.add(
            "dns.resp.z.do",
            "DO bit",
            p + 4,
            2,
            Value::Bool(z & 0x8000 != 0),
            "Set if the sender wants DNSSEC signatures in the answer.",
        );
        f.mask = 0x8000;
        f.depth = 2;
    } else {
        let class = number(
            cx,
            m,
            p,
            2,
            (
                "dns.resp.class",
                "Class",
                "Which network the record belongs to; 1 is IN, the internet.",
            ),
            true,
            1,
        )?;
        cx.meaning(class_name(class as u16));
        number(
            cx,
            m,
            p + 2,
            4,
            (
                "dns.resp.ttl",
                "Time to live",
                "How many seconds the record may be kept in a cache before it must be asked for again.",
            ),
            false,
            1,
        )?;
    }
    let rdlen = number(
        cx,
        m,
        p + 6,
        2,
        (
            "dns.resp.len",
            "Data length",
            "How many bytes of data the record has.",
        ),
        false,
        1,
    )? as usize;
    let data = p + 8;
    if !fits(cx, "A DNS record's data", data, rdlen, m.end) {
        return None;
    }
    let summary = rdata(cx, m, ty, data, rdlen)?;
    let end = data + rdlen;
    cx.d.fields[head].len = (end - i) as u32;
    // The heading is written onto the name's own `String` (no new one for each record).
    let mut heading = text;
    heading.push_str(": type ");
    heading.push_str(type_name(ty));
    if !summary.is_empty() {
        heading.push_str(", ");
        heading.push_str(&summary);
    }
    cx.d.fields[head].meaning = heading.into();
    Some(end)
}

/// The record's data, by type. Returns a short summary of it for the record's heading.
fn rdata(cx: &mut Cx, m: Msg, ty: u16, at: usize, len: usize) -> Option<String> {
    let end = at + len;
    // Names inside the data may use pointers, but must not run past the record.
    let inner = Msg {
        start: m.start,
        end,
    };
    let add = |cx: &mut Cx, name, label, at, n, value, explain| {
        let f = cx.add(name, label, at, n, value, explain);
        f.depth = 1;
    };
    let name = |cx: &mut Cx, at, field| name_field(cx, inner, at, field, 1);
    match (ty, len) {
        (1, 4) => {
            let a: [u8; 4] = cx.bytes(at, 4)?.try_into().ok()?;
            add(
                cx,
                "dns.a",
                "Address",
                at,
                4,
                Value::Ipv4(a),
                "The IPv4 address of the name.",
            );
            Some(format!("addr {}", std::net::Ipv4Addr::from(a)))
        }
        (28, 16) => {
            let a: [u8; 16] = cx.bytes(at, 16)?.try_into().ok()?;
            add(
                cx,
                "dns.aaaa",
                "AAAA address",
                at,
                16,
                Value::Ipv6(a),
                "The IPv6 address of the name.",
            );
            Some(format!("addr {}", std::net::Ipv6Addr::from(a)))
        }
        (2, _) => {
            let (_, t) = name(
                cx,
                at,
                (
                    "dns.ns",
                    "Name server",
                    "A server that answers authoritatively for this zone.",
                ),
            )?;
            Some(format!("ns {t}"))
        }
        (5, _) => {
            let (_, t) = name(
                cx,
                at,
                (
                    "dns.cname",
                    "CNAME",
                    "The canonical name: the name this alias stands for, to be looked up instead.",
                ),
            )?;
            Some(format!("cname {t}"))
        }
        (12, _) => {
            let (_, t) = name(
                cx,
                at,
                (
                    "dns.ptr.domain_name",
                    "Domain name",
                    "The name for the address asked about (a reverse lookup).",
                ),
            )?;
            Some(t)
        }
        (15, _) => {
            number(
                cx,
                inner,
                at,
                2,
                (
                    "dns.mx.preference",
                    "Preference",
                    "Lower values are tried first when several mail servers are listed.",
                ),
                false,
                1,
            )?;
            let (_, t) = name(
                cx,
                at + 2,
                (
                    "dns.mx.mail_exchange",
                    "Mail exchange",
                    "A mail server that accepts mail for the domain.",
                ),
            )?;
            Some(format!("mx {t}"))
        }
        (6, _) => {
            let (n1, t) = name(
                cx,
                at,
                (
                    "dns.soa.mname",
                    "Primary name server",
                    "The zone's main name server.",
                ),
            )?;
            let (n2, _) = name(
                cx,
                at + n1,
                (
                    "dns.soa.rname",
                    "Responsible mailbox",
                    "The zone administrator's mail address, with the @ written as a dot.",
                ),
            )?;
            let mut k = at + n1 + n2;
            for field in [
                (
                    "dns.soa.serial_number",
                    "Serial number",
                    "The zone's version; secondary servers copy the zone again when this number goes up.",
                ),
                (
                    "dns.soa.refresh_interval",
                    "Refresh interval",
                    "Seconds between secondary servers' checks for a new version.",
                ),
                (
                    "dns.soa.retry_interval",
                    "Retry interval",
                    "Seconds to wait before retrying a failed check.",
                ),
                (
                    "dns.soa.expire_limit",
                    "Expire limit",
                    "Seconds after which a secondary stops answering if it cannot reach the primary.",
                ),
                (
                    "dns.soa.minimum_ttl",
                    "Minimum TTL",
                    "How long a \"no such name\" answer may be cached.",
                ),
            ] {
                number(cx, inner, k, 4, field, false, 1)?;
                k += 4;
            }
            Some(format!("mname {t}"))
        }
        (16, _) => {
            let mut k = at;
            let mut first = String::new();
            while k < end {
                let n = number(
                    cx,
                    inner,
                    k,
                    1,
                    (
                        "dns.txt.length",
                        "TXT length",
                        "Length of the text string that follows.",
                    ),
                    false,
                    1,
                )? as usize;
                if !fits(cx, "A DNS TXT string", k + 1, n, end) {
                    return None;
                }
                let text: String = cx
                    .bytes(k + 1, n)?
                    .iter()
                    .map(|&c| {
                        if c.is_ascii_graphic() || c == b' ' {
                            c as char
                        } else {
                            '.'
                        }
                    })
                    .collect();
                if first.is_empty() {
                    first = text.clone();
                }
                add(
                    cx,
                    "dns.txt",
                    "TXT",
                    k + 1,
                    n,
                    Value::Text(text),
                    "Free text; often used for proofs of domain ownership and mail policies (SPF).",
                );
                k += 1 + n;
            }
            Some(format!("txt {first}"))
        }
        (33, _) => {
            for (k, field) in [
                (
                    "dns.srv.priority",
                    "Priority",
                    "Lower values are tried first.",
                ),
                (
                    "dns.srv.weight",
                    "Weight",
                    "Among equal priorities, how to share the load.",
                ),
                ("dns.srv.port", "Port", "The port the service listens on."),
            ]
            .into_iter()
            .enumerate()
            {
                number(cx, inner, at + 2 * k, 2, field, false, 1)?;
            }
            let (_, t) = name(
                cx,
                at + 6,
                (
                    "dns.srv.target",
                    "Target",
                    "The host that offers the service.",
                ),
            )?;
            Some(format!("target {t}"))
        }
        (41, _) => {
            let mut k = at;
            while k + 4 <= end {
                number(
                    cx,
                    inner,
                    k,
                    2,
                    (
                        "dns.opt.code",
                        "Option code",
                        "Which EDNS option: 10 a cookie, 12 padding, 8 client subnet.",
                    ),
                    false,
                    1,
                )?;
                let n = number(
                    cx,
                    inner,
                    k + 2,
                    2,
                    (
                        "dns.opt.len",
                        "Option length",
                        "Length of the option's data.",
                    ),
                    false,
                    1,
                )? as usize;
                if !fits(cx, "A DNS EDNS option", k + 4, n, end) {
                    return None;
                }
                if n > 0 {
                    add(
                        cx,
                        "dns.opt.data",
                        "Option data",
                        k + 4,
                        n,
                        Value::Bytes,
                        "The option's data.",
                    );
                }
                k += 4 + n;
            }
            Some(String::new())
        }
        (_, 0) => Some(String::new()),
        _ => {
            add(
                cx,
                "dns.data",
                "Data",
                at,
                len,
                Value::Bytes,
                "Record data of a type wirelab does not take apart.",
            );
            Some(String::new())
        }
    }
}

/// Append the layer's description (`DNS query 0x1a2b: example.com: type A, class IN`) to `s`
/// (see [`crate::dissect::describe_into`]).
pub fn describe_into(d: &Dissection, layer: &Layer, s: &mut String) {
    let fields = d.layer_fields(layer);
    let get = |n| fields.iter().find(|f| f.name == n);
    let Some(id) = get("dns.id") else {
        s.push_str("DNS");
        return;
    };
    // QR and RCODE from the flags word itself (its single-bit parts are not recorded when
    // only the summary is wanted).
    let flags = get("dns.flags").and_then(|f| f.value.as_u64()).unwrap_or(0);
    let response = flags & 0x8000 != 0;
    s.push_str(if response {
        "DNS response "
    } else {
        "DNS query "
    });
    id.write_tshark(&d.data, s);
    for f in fields.iter().filter(|f| f.name == "dns.qry") {
        s.push_str(": ");
        s.push_str(&f.meaning);
    }
    if response {
        let rcode = flags & 0xf;
        if rcode != 0 {
            let _ = write!(s, " ({})", rcode_name(rcode));
        }
        let answers = fields
            .iter()
            .filter(|f| f.name == "dns.rr" && f.label == "Answer")
            .map(|f| f.meaning.split_once(", ").map_or("", |x| x.1))
            .filter(|a| !a.is_empty());
        for (i, a) in answers.enumerate() {
            s.push_str(if i == 0 { " → " } else { "; " });
            s.push_str(a);
        }
        // The query it answers, once the stream analysis linked them (stream::dnslink).
        if let Some(to) = get("dns.response_to").and_then(|f| f.value.as_u64()) {
            let _ = write!(s, " [answers #{to}");
            if let Some(Value::Time(t)) = get("dns.time").map(|f| &f.value) {
                let ms = t.secs as f64 * 1e3 + t.nanos as f64 / 1e6;
                let _ = write!(s, " after {ms:.3} ms");
            }
            s.push(']');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(extra: &[u8]) -> Vec<u8> {
        let mut b = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        b.extend_from_slice(&[3, b'w', b'w', b'w', 7]);
        b.extend_from_slice(b"example");
        b.extend_from_slice(&[3, b'o', b'r', b'g', 0, 0, 1, 0, 1]);
        b.extend_from_slice(extra);
        b
    }

    fn udp_dns(payload: &[u8]) -> crate::dissect::Dissection {
        let len = 8 + payload.len() as u16;
        let total = 20 + len;
        let mut b = vec![0x45, 0];
        b.extend_from_slice(&total.to_be_bytes());
        b.extend_from_slice(&[0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        let sum = crate::dissect::checksum::internet_checksum(&[&b]);
        b[10..12].copy_from_slice(&sum.to_be_bytes());
        b.extend_from_slice(&[0, 53, 0x30, 0x39]);
        b.extend_from_slice(&len.to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(payload);
        crate::dissect::dissect(&crate::dissect::Frame {
            number: 1,
            ts: None,
            link: crate::dissect::LinkType::RAW,
            wire_len: b.len() as u32,
            data: &b,
        })
    }

    #[test]
    fn answer_with_compressed_name() {
        let d = udp_dns(&msg(&[
            0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 215, 14,
        ]));
        assert_eq!(
            d.field("dns.qry.name").unwrap().tshark(&d.data),
            "www.example.org"
        );
        assert_eq!(
            d.field("dns.resp.name").unwrap().tshark(&d.data),
            "www.example.org"
        );
        assert_eq!(d.field("dns.resp.name").unwrap().len, 2);
        assert_eq!(d.field("dns.a").unwrap().tshark(&d.data), "93.184.215.14");
        assert_eq!(d.uint("dns.count.labels"), Some(3));
        assert!(!d.is_malformed(), "{:?}", d.problems);
        assert_eq!(
            crate::dissect::describe(&d, d.layer(Proto::Dns).unwrap()),
            "DNS response 0x1234: www.example.org: type A → addr 93.184.215.14"
        );
    }

    #[test]
    fn pointer_loop_is_refused() {
        // The answer's name points at itself.
        let d = udp_dns(&msg(&[0xc0, 33, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4]));
        assert!(d.is_malformed());
        assert!(d.field("dns.resp.name").is_none());
        assert_eq!(
            d.field("dns.qry.name").unwrap().tshark(&d.data),
            "www.example.org"
        );
    }

    #[test]
    fn pointers_chasing_each_other_are_refused() {
        // Two names that point at each other: 33 → 35 → 33 …
        let d = udp_dns(&msg(&[0xc0, 35, 0xc0, 33, 0, 1, 0, 1]));
        assert!(d.is_malformed());
    }

    #[test]
    fn record_data_past_the_end_is_malformed() {
        let d = udp_dns(&msg(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93]));
        assert!(d.is_malformed());
        assert!(d.field("dns.resp.len").is_some());
        assert!(d.field("dns.a").is_none());
    }

    #[test]
    fn mx_soa_txt_srv() {
        let mut rrs = vec![];
        // MX 10 mail.example.org (mail + pointer to "example.org" at 16)
        rrs.extend_from_slice(&[0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 9, 0, 10, 4]);
        rrs.extend_from_slice(b"mail");
        rrs.extend_from_slice(&[0xc0, 16]);
        // TXT "hi" "there"
        rrs.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 9, 2, b'h', b'i', 5]);
        rrs.extend_from_slice(b"there");
        let mut m = msg(&rrs);
        m[7] = 2;
        let d = udp_dns(&m);
        assert_eq!(
            d.field("dns.mx.mail_exchange").unwrap().tshark(&d.data),
            "mail.example.org"
        );
        let txt: Vec<String> = d
            .fields_named("dns.txt")
            .map(|f| f.tshark(&d.data))
            .collect();
        assert_eq!(txt, ["hi", "there"]);
        assert!(!d.is_malformed(), "{:?}", d.problems);
    }

    #[test]
    fn root_name_reads_as_root() {
        let data = [0u8];
        let n = read_name(&data, 0, 0, 1).ok().unwrap();
        assert_eq!(n.text, "<Root>");
        assert_eq!(n.len, 1);
    }
}
