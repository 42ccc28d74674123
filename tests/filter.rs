//! Display filters: which packets each expression matches, the exact error for each kind of
//! mistake, agreement with Wireshark's own filter engine, and a parser that never panics.
//!
//! * `matches_built_packets`: a table of expressions over packets built here with etherparse.
//! * `matches_hand_made_dissections`: the cases the built packets cannot show yet (a field that
//!   occurs twice, IPv6 and DNS fields, text and bytes), on dissections written out by hand,
//!   so they do not depend on which dissectors exist.
//! * `agrees_with_tshark_on_the_corpus`: for real captures from the corpus (tests/corpus), the frames
//!   `tshark -Y EXPR` (4.0.17) selected, recorded in the table below, must be the frames
//!   wirelab's filter selects.
//! * `bad_filters_say_where`: the exact message, column and caret for each mistake.
//! * `parser_never_panics`: proptest, on random text and on random sequences of filter tokens.
//! * `every_name_the_engine_produces_is_known`: the filter's list of field names covers every
//!   field the engine produces on the corpus, and every column of the tshark oracle.

mod common;

use std::borrow::Cow;
use std::collections::BTreeSet;

use etherparse::{PacketBuilder, TcpOptionElement};
use proptest::prelude::*;
use wirelab::dissect::model::{Dissection, Field, Layer, LinkType, Proto, Timestamp, Value};
use wirelab::dissect::{dissect, dissect_into};
use wirelab::filter::{Filter, is_known_field};
use wirelab::source::OwnedFrame;
use wirelab::source::file::{CaptureReader, read_all};

const A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

fn frame(number: u64, data: Vec<u8>) -> OwnedFrame {
    let data = if data.len() < 60 {
        let mut d = data;
        d.resize(60, 0); // Ethernet padding
        d
    } else {
        data
    };
    OwnedFrame {
        number,
        ts: Some(Timestamp {
            secs: 1_700_000_000 + number as i64,
            nanos: 0,
        }),
        link: LinkType::ETHERNET,
        wire_len: data.len() as u32,
        data,
    }
}

/// Six packets:
/// 1. TCP SYN 10.0.0.1:40000 → 10.0.0.2:9000 with an MSS option
/// 2. TCP SYN-ACK back
/// 3. TCP data "GET /x" 10.0.0.1 → 10.0.0.2, PSH+ACK
/// 4. UDP 10.0.0.1:5353 → 192.168.1.1:53 (a DNS-shaped datagram)
/// 5. UDP 192.168.1.1:53 → 10.0.0.1:5353
/// 6. ICMP echo request 10.0.0.1 → 172.16.0.9, TTL 1
fn built() -> Vec<Dissection> {
    let mss = [TcpOptionElement::MaximumSegmentSize(1460)];
    let mut out = Vec::new();
    let mut push = |b: Vec<u8>| {
        let f = frame(out.len() as u64 + 1, b);
        out.push(dissect(&f.as_frame()));
    };
    let mut v = Vec::new();
    PacketBuilder::ethernet2(A, B)
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(40000, 9000, 100, 64240)
        .syn()
        .options(&mss)
        .unwrap()
        .write(&mut v, &[])
        .unwrap();
    push(v);
    let mut v = Vec::new();
    PacketBuilder::ethernet2(B, A)
        .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
        .tcp(9000, 40000, 500, 65535)
        .syn()
        .ack(101)
        .options(&mss)
        .unwrap()
        .write(&mut v, &[])
        .unwrap();
    push(v);
    let mut v = Vec::new();
    PacketBuilder::ethernet2(A, B)
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(40000, 9000, 101, 64240)
        .psh()
        .ack(501)
        .write(&mut v, b"GET /x")
        .unwrap();
    push(v);
    let query = [
        0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 0, 0, 1, 0, 1,
    ];
    let mut v = Vec::new();
    PacketBuilder::ethernet2(A, B)
        .ipv4([10, 0, 0, 1], [192, 168, 1, 1], 64)
        .udp(5353, 53)
        .write(&mut v, &query)
        .unwrap();
    push(v);
    let mut v = Vec::new();
    PacketBuilder::ethernet2(B, A)
        .ipv4([192, 168, 1, 1], [10, 0, 0, 1], 63)
        .udp(53, 5353)
        .write(&mut v, &query)
        .unwrap();
    push(v);
    let mut v = Vec::new();
    PacketBuilder::ethernet2(A, B)
        .ipv4([10, 0, 0, 1], [172, 16, 0, 9], 1)
        .icmpv4_echo_request(7, 1)
        .write(&mut v, b"hi")
        .unwrap();
    push(v);
    out
}

fn which(filter: &str, packets: &[Dissection]) -> Vec<u64> {
    let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter:?} should parse:\n{e}"));
    packets
        .iter()
        .filter(|d| f.matches(d))
        .map(|d| d.number)
        .collect()
}

#[test]
fn matches_built_packets() {
    let p = built();
    let table: &[(&str, &[u64])] = &[
        ("", &[1, 2, 3, 4, 5, 6]),
        ("tcp", &[1, 2, 3]),
        ("udp", &[4, 5]),
        ("ip", &[1, 2, 3, 4, 5, 6]),
        ("!tcp", &[4, 5, 6]),
        ("not tcp and not udp", &[6]),
        ("tcp || udp", &[1, 2, 3, 4, 5]),
        ("tcp.port == 9000", &[1, 2, 3]),
        ("tcp.dstport == 9000", &[1, 3]),
        ("tcp.dstport eq 9000", &[1, 3]),
        ("udp.port == 53", &[4, 5]),
        ("udp.srcport == 0x35", &[5]),
        ("tcp.flags.syn == 1", &[1, 2]),
        ("tcp.flags.syn == true", &[1, 2]),
        ("tcp.flags.syn == 1 && tcp.flags.ack == 0", &[1]),
        ("tcp.flags.syn == 1 and not tcp.flags.ack == 1", &[1]),
        // The classic trap: a bare field name tests presence, and every TCP packet has it.
        ("tcp.flags.syn", &[1, 2, 3]),
        ("tcp.flags == 0x012", &[2]),
        ("tcp.flags == 0x018", &[3]),
        ("tcp.options", &[1, 2]),
        ("tcp.options.mss_val == 1460", &[1, 2]),
        ("tcp.len > 0", &[3]),
        ("tcp.len >= 0 && tcp.len < 1", &[1, 2]),
        ("tcp.len != 0", &[3]),
        ("tcp.window_size_value gt 65000", &[2]),
        ("ip.src == 10.0.0.1", &[1, 3, 4, 6]),
        ("ip.addr == 10.0.0.2", &[1, 2, 3]),
        // `!=` means every occurrence differs: neither source nor destination is 10.0.0.2.
        ("ip.addr != 10.0.0.2", &[4, 5, 6]),
        // `~=` means some occurrence differs.
        ("ip.addr ~= 10.0.0.2", &[1, 2, 3, 4, 5, 6]),
        ("ip.dst == 192.168.0.0/16", &[4]),
        ("ip.src == 10.0.0.0/8", &[1, 2, 3, 4, 6]),
        ("ip.src != 10.0.0.0/8", &[5]),
        ("ip.addr == 172.16.0.0/12", &[6]),
        ("ip.dst == 0.0.0.0/0", &[1, 2, 3, 4, 5, 6]),
        ("ip.src > 10.0.0.1", &[2, 5]),
        ("ip.ttl < 64", &[5, 6]),
        ("ip.ttl == 1 || ip.ttl == 63", &[5, 6]),
        ("ip.proto == 1", &[6]),
        ("icmp || ip.proto == 1", &[6]),
        ("eth.src == 02:00:00:00:00:01", &[1, 3, 4, 6]),
        ("eth.addr == 02-00-00-00-00-02", &[1, 2, 3, 4, 5, 6]),
        ("eth.dst != 02:00:00:00:00:02", &[2, 5]),
        ("eth.type == 0x0800", &[1, 2, 3, 4, 5, 6]),
        ("data.data contains \"GET\"", &[3]),
        ("data.data contains 47:45:54", &[3]),
        ("data.data == \"GET /x\"", &[3]),
        // A protocol's bytes are its header and everything it carries (as in Wireshark).
        ("frame contains \"GET\"", &[3]),
        ("eth contains \"GET\"", &[3]),
        ("ip contains \"GET\"", &[3]),
        ("tcp contains \"GET\"", &[3]),
        ("udp contains \"GET\"", &[]),
        ("tcp contains 23:28", &[1, 2, 3]),
        ("tcp.payload contains \"GET\"", &[3]),
        ("tcp.payload", &[3]),
        ("udp.payload", &[4, 5]),
        // `matches` is a regular expression, case-insensitive unless (?-i) says otherwise.
        ("frame matches \"get /[a-z]\"", &[3]),
        ("tcp ~ \"/X$\"", &[3]),
        ("frame matches \"(?-i)get\"", &[]),
        ("data.data matches \"^GET \\\\S+$\"", &[3]),
        ("(tcp || udp) && !(ip.src == 10.0.0.1)", &[2, 5]),
        ("tcp || udp && ip.ttl < 64", &[1, 2, 3, 5]),
        ("(tcp || udp) && ip.ttl < 64", &[5]),
        ("!!tcp", &[1, 2, 3]),
        ("frame.number >= 5", &[5, 6]),
        ("frame.len == 60", &[1, 2, 3, 6]),
        ("frame.time_epoch > 1700000004.5", &[5, 6]),
        ("tcp.port != 9000", &[]),
        ("arp", &[]),
    ];
    let mut wrong = Vec::new();
    for (expr, want) in table {
        let got = which(expr, &p);
        if got != *want {
            wrong.push(format!("{expr:?}: expected {want:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn field(name: &'static str, value: Value, at: u32, len: u32) -> Field {
    Field {
        name,
        label: name,
        value,
        meaning: Cow::Borrowed(""),
        at,
        len,
        mask: 0,
        depth: 0,
        explain: "",
    }
}

/// A dissection written out by hand: the given layers, each with its fields.
fn hand(number: u64, data: &[u8], layers: Vec<(Proto, Vec<Field>)>) -> Dissection {
    let mut d = Dissection {
        number,
        data: data.to_vec(),
        wire_len: data.len() as u32,
        ..Dissection::default()
    };
    for (proto, fields) in layers {
        let start = d.fields.len() as u32;
        d.fields.extend(fields);
        d.layers.push(Layer {
            proto,
            at: 0,
            len: 0,
            fields: start..d.fields.len() as u32,
        });
    }
    d
}

fn v6(s: &str) -> Value {
    Value::Ipv6(s.parse::<std::net::Ipv6Addr>().unwrap().octets())
}

/// 1. an ICMP error quoting the IPv4 header of the datagram it is about (two ip.src),
/// 2. an IPv6 DNS query for example.com,
/// 3. an ARP request.
fn hand_made() -> Vec<Dissection> {
    let ip = |src: [u8; 4], dst: [u8; 4]| {
        vec![
            field("ip.src", Value::Ipv4(src), 26, 4),
            field("ip.dst", Value::Ipv4(dst), 30, 4),
        ]
    };
    vec![
        hand(
            1,
            &[],
            vec![
                (Proto::Ipv4, ip([192, 168, 1, 1], [192, 168, 1, 102])),
                (
                    Proto::Icmp,
                    vec![
                        field("icmp.type", Value::Uint(3), 34, 1),
                        field("icmp.code", Value::Uint(3), 35, 1),
                    ],
                ),
                (Proto::Ipv4, ip([192, 168, 1, 102], [192, 168, 1, 1])),
                (
                    Proto::Udp,
                    vec![field("udp.dstport", Value::Uint(53), 0, 2)],
                ),
            ],
        ),
        hand(
            2,
            b"\x00\x01\x02\x03",
            vec![
                (
                    Proto::Ipv6,
                    vec![
                        field("ipv6.src", v6("fe80::1"), 22, 16),
                        field("ipv6.dst", v6("2001:db8::53"), 38, 16),
                        field("ipv6.hlim", Value::Uint(255), 21, 1),
                    ],
                ),
                (
                    Proto::Udp,
                    vec![field("udp.dstport", Value::Uint(53), 0, 2)],
                ),
                (
                    Proto::Dns,
                    vec![
                        field("dns.flags.response", Value::Bool(false), 0, 2),
                        field("dns.qry.name", Value::Text("example.com".into()), 0, 13),
                        field("dns.qry.type", Value::Uint(28), 0, 2),
                        field("dns.resp.ttl", Value::Uint(300), 0, 4),
                    ],
                ),
                (Proto::Data, vec![field("data.data", Value::Bytes, 0, 4)]),
            ],
        ),
        hand(
            3,
            &[],
            vec![
                (
                    Proto::Ethernet,
                    vec![
                        field("eth.dst", Value::Mac([0xff; 6]), 0, 6),
                        field(
                            "eth.src",
                            Value::Mac([0, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e]),
                            6,
                            6,
                        ),
                    ],
                ),
                (
                    Proto::Arp,
                    vec![
                        field("arp.opcode", Value::Uint(1), 20, 2),
                        field("arp.src.proto_ipv4", Value::Ipv4([10, 0, 0, 1]), 28, 4),
                        field("arp.dst.proto_ipv4", Value::Ipv4([10, 0, 0, 9]), 38, 4),
                    ],
                ),
            ],
        ),
    ]
}

#[test]
fn matches_hand_made_dissections() {
    let p = hand_made();
    let table: &[(&str, &[u64])] = &[
        // Any occurrence: the quoted header's source counts too, as in Wireshark.
        ("ip.src == 192.168.1.102", &[1]),
        ("ip.src == 192.168.1.1", &[1]),
        ("ip.src != 192.168.1.1", &[]),
        ("ip.src ~= 192.168.1.1", &[1]),
        ("ip.src != 10.0.0.0/8", &[1]),
        ("icmp.type == 3 && icmp.code == 3", &[1]),
        ("icmp", &[1]),
        ("ipv6", &[2]),
        ("ip", &[1]),
        ("ipv6.src == fe80::1", &[2]),
        ("ipv6.src == fe80::/10", &[2]),
        ("ipv6.addr == 2001:db8::/32", &[2]),
        ("ipv6.dst == 2001:db8:0:0:0:0:0:53", &[2]),
        ("ipv6.addr != fe80::1", &[]),
        ("ipv6.hlim == 255", &[2]),
        ("dns", &[2]),
        ("dns.qry.name == \"example.com\"", &[2]),
        ("dns.qry.name == example.com", &[2]),
        ("dns.qry.name contains \"ample\"", &[2]),
        ("dns.qry.name == \"Example.com\"", &[]),
        ("dns.qry.name > \"a\"", &[2]),
        ("dns.qry.type == 28 && dns.flags.response == 0", &[2]),
        ("dns.resp.ttl", &[2]),
        ("data.data == 00:01:02:03", &[2]),
        ("data.data contains 02", &[2]),
        ("data.data contains \"\"", &[2]),
        ("udp.port == 53", &[1, 2]),
        ("arp", &[3]),
        ("arp.opcode == 1", &[3]),
        ("arp.proto_ipv4 == 10.0.0.9", &[3]),
        ("eth.dst == ff:ff:ff:ff:ff:ff", &[3]),
        ("eth.src == 00:1a:2b:3c:4d:5e", &[3]),
        ("eth.src > 00:00:00:00:00:00", &[3]),
        ("!arp", &[1, 2]),
    ];
    let mut wrong = Vec::new();
    for (expr, want) in table {
        let got = which(expr, &p);
        if got != *want {
            wrong.push(format!("{expr:?}: expected {want:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// What `tshark -n -r FILE -Y EXPR -T fields -e frame.number` (4.0.17) printed, for files of
/// the corpus (tests/corpus) whose protocols wirelab dissects today.
const TSHARK: &[(&str, &str, &[u64])] = &[
    ("zeek_tcp-options.pcap", "tcp.flags.syn == 1", &[1, 2]),
    (
        "zeek_tcp-options.pcap",
        "tcp.flags.syn == 1 && tcp.flags.ack == 0",
        &[1],
    ),
    (
        "zeek_tcp-options.pcap",
        "tcp.flags.ack == 1 and not tcp.flags.push == 1",
        &[2, 3],
    ),
    ("zeek_tcp-options.pcap", "tcp.port == 80", &[1, 2, 3, 4]),
    ("zeek_tcp-options.pcap", "tcp.srcport == 80", &[2]),
    ("zeek_tcp-options.pcap", "tcp.len > 0", &[4]),
    (
        "zeek_tcp-options.pcap",
        "tcp.window_size_value < 1000",
        &[3, 4],
    ),
    ("zeek_tcp-options.pcap", "tcp.options.mss_val >= 1400", &[1]),
    (
        "zeek_tcp-options.pcap",
        "tcp.option_kind == 8",
        &[1, 2, 3, 4],
    ),
    (
        "zeek_tcp-options.pcap",
        "tcp.options.wscale.shift > 6",
        &[2],
    ),
    ("zeek_tcp-options.pcap", "ip.ttl <= 64", &[1, 2, 3, 4]),
    (
        "zeek_tcp-options.pcap",
        "ip.addr == 192.168.0.0/16",
        &[1, 2, 3, 4],
    ),
    ("zeek_tcp-options.pcap", "ip.src != 192.168.0.0/16", &[2]),
    ("zeek_tcp-options.pcap", "ip.flags.df == 1", &[1, 2, 3, 4]),
    ("zeek_tcp-options.pcap", "eth.dst == ff:ff:ff:ff:ff:ff", &[]),
    ("zeek_tcp-options.pcap", "frame.len > 100", &[4]),
    (
        "zeek_tcp-options.pcap",
        "!(tcp.flags.syn == 1) && tcp.len == 0",
        &[3],
    ),
    ("zeek_tcp-options.pcap", "tcp.hdr_len > 20", &[1, 2, 3, 4]),
    ("zeek_tcp-options.pcap", "ip.id == 0", &[2]),
    ("zeek_tcp-options.pcap", "tcp.flags == 0x018", &[4]),
    (
        "zeek_tcp-options.pcap",
        "tcp.seq_raw > 2000000000",
        &[1, 3, 4],
    ),
    ("zeek_tcp-options.pcap", "tcp.port ~= 80", &[1, 2, 3, 4]),
    ("zeek_tcp-options.pcap", "tcp.options", &[1, 2, 3, 4]),
    ("zeek_tcp-options.pcap", "tcp.flags.syn", &[1, 2, 3, 4]),
    (
        "zeek_tcp-options.pcap",
        "ip.src == 10.0.0.0/8 || ip.dst == 10.0.0.0/8",
        &[],
    ),
    (
        "zeek_tcp-options.pcap",
        "eth.addr == 00:00:00:00:00:00",
        &[],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "tcp.flags.syn == 1",
        &[1, 2],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "tcp.flags.syn == 1 && tcp.flags.ack == 0",
        &[2],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "tcp.flags.ack == 1 and not tcp.flags.push == 1",
        &[1, 3, 5, 6, 7, 8, 10, 11, 12, 13, 14],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "tcp.port == 80",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "tcp.srcport == 80",
        &[1, 5, 6, 7, 8, 9, 13],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "tcp.len > 0",
        &[4, 6, 7, 8, 9],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "tcp.window_size_value < 1000",
        &[5, 6, 7, 8, 9, 13],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "tcp.options.mss_val >= 1400",
        &[1, 2],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "tcp.option_kind == 8",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "tcp.options.wscale.shift > 6",
        &[1],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "ip.ttl <= 64",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "ip.addr == 192.168.0.0/16",
        &[],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "ip.src != 192.168.0.0/16",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "ip.flags.df == 1",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "eth.dst == ff:ff:ff:ff:ff:ff",
        &[],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "frame.len > 100",
        &[4, 6, 7, 8, 9],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "!(tcp.flags.syn == 1) && tcp.len == 0",
        &[3, 5, 10, 11, 12, 13, 14],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "tcp.hdr_len > 20",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
    ),
    ("zeek_tcp-handshake-reorder.pcap", "ip.id == 0", &[1]),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "tcp.flags == 0x018",
        &[4, 9],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "tcp.seq_raw > 2000000000",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "tcp.port ~= 80",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "tcp.options",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "tcp.flags.syn",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "ip.src == 10.0.0.0/8 || ip.dst == 10.0.0.0/8",
        &[],
    ),
    (
        "zeek_tcp-handshake-reorder.pcap",
        "eth.addr == 00:00:00:00:00:00",
        &[],
    ),
    ("gopacket_test_ethernet.pcap", "tcp.flags.syn == 1", &[1, 2]),
    (
        "gopacket_test_ethernet.pcap",
        "tcp.flags.syn == 1 && tcp.flags.ack == 0",
        &[1],
    ),
    (
        "gopacket_test_ethernet.pcap",
        "tcp.flags.ack == 1 and not tcp.flags.push == 1",
        &[2, 3, 5, 7, 9, 10],
    ),
    (
        "gopacket_test_ethernet.pcap",
        "tcp.port == 80",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    ),
    (
        "gopacket_test_ethernet.pcap",
        "tcp.srcport == 80",
        &[2, 5, 6, 8, 10],
    ),
    ("gopacket_test_ethernet.pcap", "tcp.len > 0", &[4, 6, 8]),
    (
        "gopacket_test_ethernet.pcap",
        "tcp.window_size_value < 1000",
        &[3, 4, 5, 6, 7, 8, 9, 10],
    ),
    (
        "gopacket_test_ethernet.pcap",
        "tcp.options.mss_val >= 1400",
        &[1, 2],
    ),
    (
        "gopacket_test_ethernet.pcap",
        "tcp.option_kind == 8",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    ),
    (
        "gopacket_test_ethernet.pcap",
        "tcp.options.wscale.shift > 6",
        &[1],
    ),
    (
        "gopacket_test_ethernet.pcap",
        "ip.ttl <= 64",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    ),
    (
        "gopacket_test_ethernet.pcap",
        "ip.addr == 192.168.0.0/16",
        &[],
    ),
    (
        "gopacket_test_ethernet.pcap",
        "ip.src != 192.168.0.0/16",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    ),
    (
        "gopacket_test_ethernet.pcap",
        "ip.flags.df == 1",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    ),
    (
        "gopacket_test_ethernet.pcap",
        "eth.dst == ff:ff:ff:ff:ff:ff",
        &[],
    ),
    ("gopacket_test_ethernet.pcap", "frame.len > 100", &[4, 8]),
    (
        "gopacket_test_ethernet.pcap",
        "!(tcp.flags.syn == 1) && tcp.len == 0",
        &[3, 5, 7, 9, 10],
    ),
    (
        "gopacket_test_ethernet.pcap",
        "tcp.hdr_len > 20",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    ),
    ("gopacket_test_ethernet.pcap", "ip.id == 0", &[2]),
    ("gopacket_test_ethernet.pcap", "tcp.flags == 0x018", &[4, 6]),
    (
        "gopacket_test_ethernet.pcap",
        "tcp.seq_raw > 2000000000",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    ),
    (
        "gopacket_test_ethernet.pcap",
        "tcp.port ~= 80",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    ),
    (
        "gopacket_test_ethernet.pcap",
        "tcp.options",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    ),
    (
        "gopacket_test_ethernet.pcap",
        "tcp.flags.syn",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    ),
    (
        "gopacket_test_ethernet.pcap",
        "ip.src == 10.0.0.0/8 || ip.dst == 10.0.0.0/8",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    ),
    (
        "gopacket_test_ethernet.pcap",
        "eth.addr == 00:00:00:00:00:00",
        &[],
    ),
    (
        "zeek_tcp-window-scale-range.pcap",
        "tcp.flags.syn == 1",
        &[1, 2],
    ),
    (
        "zeek_tcp-window-scale-range.pcap",
        "tcp.flags.syn == 1 && tcp.flags.ack == 0",
        &[1],
    ),
    (
        "zeek_tcp-window-scale-range.pcap",
        "tcp.flags.ack == 1 and not tcp.flags.push == 1",
        &[2, 3, 5],
    ),
    (
        "zeek_tcp-window-scale-range.pcap",
        "tcp.port == 80",
        &[1, 2, 3, 4, 5],
    ),
    (
        "zeek_tcp-window-scale-range.pcap",
        "tcp.srcport == 80",
        &[2, 5],
    ),
    ("zeek_tcp-window-scale-range.pcap", "tcp.len > 0", &[4]),
    (
        "zeek_tcp-window-scale-range.pcap",
        "tcp.window_size_value < 1000",
        &[3],
    ),
    (
        "zeek_tcp-window-scale-range.pcap",
        "tcp.options.mss_val >= 1400",
        &[1, 2],
    ),
    (
        "zeek_tcp-window-scale-range.pcap",
        "tcp.option_kind == 8",
        &[],
    ),
    (
        "zeek_tcp-window-scale-range.pcap",
        "tcp.options.wscale.shift > 6",
        &[1, 2],
    ),
    (
        "zeek_tcp-window-scale-range.pcap",
        "ip.ttl <= 64",
        &[1, 2, 3, 4, 5],
    ),
    (
        "zeek_tcp-window-scale-range.pcap",
        "ip.addr == 192.168.0.0/16",
        &[],
    ),
    (
        "zeek_tcp-window-scale-range.pcap",
        "ip.src != 192.168.0.0/16",
        &[1, 2, 3, 4, 5],
    ),
    ("zeek_tcp-window-scale-range.pcap", "ip.flags.df == 1", &[]),
    (
        "zeek_tcp-window-scale-range.pcap",
        "eth.dst == ff:ff:ff:ff:ff:ff",
        &[],
    ),
    ("zeek_tcp-window-scale-range.pcap", "frame.len > 100", &[]),
    (
        "zeek_tcp-window-scale-range.pcap",
        "!(tcp.flags.syn == 1) && tcp.len == 0",
        &[3, 5],
    ),
    (
        "zeek_tcp-window-scale-range.pcap",
        "tcp.hdr_len > 20",
        &[1, 2],
    ),
    ("zeek_tcp-window-scale-range.pcap", "ip.id == 0", &[]),
    (
        "zeek_tcp-window-scale-range.pcap",
        "tcp.flags == 0x018",
        &[4],
    ),
    (
        "zeek_tcp-window-scale-range.pcap",
        "tcp.seq_raw > 2000000000",
        &[],
    ),
    (
        "zeek_tcp-window-scale-range.pcap",
        "tcp.port ~= 80",
        &[1, 2, 3, 4, 5],
    ),
    ("zeek_tcp-window-scale-range.pcap", "tcp.options", &[1, 2]),
    (
        "zeek_tcp-window-scale-range.pcap",
        "tcp.flags.syn",
        &[1, 2, 3, 4, 5],
    ),
    (
        "zeek_tcp-window-scale-range.pcap",
        "ip.src == 10.0.0.0/8 || ip.dst == 10.0.0.0/8",
        &[1, 2, 3, 4, 5],
    ),
    (
        "zeek_tcp-window-scale-range.pcap",
        "eth.addr == 00:00:00:00:00:00",
        &[],
    ),
    ("zeek_communityid-tcp.pcap", "tcp.flags.syn == 1", &[1, 2]),
    (
        "zeek_communityid-tcp.pcap",
        "tcp.flags.syn == 1 && tcp.flags.ack == 0",
        &[1],
    ),
    (
        "zeek_communityid-tcp.pcap",
        "tcp.flags.ack == 1 and not tcp.flags.push == 1",
        &[2, 3, 5, 6, 7, 9, 10, 11, 12],
    ),
    (
        "zeek_communityid-tcp.pcap",
        "tcp.port == 80",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    ),
    (
        "zeek_communityid-tcp.pcap",
        "tcp.srcport == 80",
        &[2, 5, 6, 8, 10, 12],
    ),
    ("zeek_communityid-tcp.pcap", "tcp.len > 0", &[4, 6, 8]),
    (
        "zeek_communityid-tcp.pcap",
        "tcp.window_size_value < 1000",
        &[],
    ),
    (
        "zeek_communityid-tcp.pcap",
        "tcp.options.mss_val >= 1400",
        &[1, 2],
    ),
    (
        "zeek_communityid-tcp.pcap",
        "tcp.option_kind == 8",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    ),
    (
        "zeek_communityid-tcp.pcap",
        "tcp.options.wscale.shift > 6",
        &[],
    ),
    (
        "zeek_communityid-tcp.pcap",
        "ip.ttl <= 64",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    ),
    (
        "zeek_communityid-tcp.pcap",
        "ip.addr == 192.168.0.0/16",
        &[],
    ),
    (
        "zeek_communityid-tcp.pcap",
        "ip.src != 192.168.0.0/16",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    ),
    (
        "zeek_communityid-tcp.pcap",
        "ip.flags.df == 1",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    ),
    (
        "zeek_communityid-tcp.pcap",
        "eth.dst == ff:ff:ff:ff:ff:ff",
        &[],
    ),
    ("zeek_communityid-tcp.pcap", "frame.len > 100", &[4, 6, 8]),
    (
        "zeek_communityid-tcp.pcap",
        "!(tcp.flags.syn == 1) && tcp.len == 0",
        &[3, 5, 7, 9, 10, 11, 12],
    ),
    (
        "zeek_communityid-tcp.pcap",
        "tcp.hdr_len > 20",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    ),
    ("zeek_communityid-tcp.pcap", "ip.id == 0", &[2]),
    ("zeek_communityid-tcp.pcap", "tcp.flags == 0x018", &[4, 8]),
    (
        "zeek_communityid-tcp.pcap",
        "tcp.seq_raw > 2000000000",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    ),
    (
        "zeek_communityid-tcp.pcap",
        "tcp.port ~= 80",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    ),
    (
        "zeek_communityid-tcp.pcap",
        "tcp.options",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    ),
    (
        "zeek_communityid-tcp.pcap",
        "tcp.flags.syn",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    ),
    (
        "zeek_communityid-tcp.pcap",
        "ip.src == 10.0.0.0/8 || ip.dst == 10.0.0.0/8",
        &[],
    ),
    (
        "zeek_communityid-tcp.pcap",
        "eth.addr == 00:00:00:00:00:00",
        &[],
    ),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "tcp.flags.syn == 1",
        &[1],
    ),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "tcp.flags.syn == 1 && tcp.flags.ack == 0",
        &[1],
    ),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "tcp.flags.ack == 1 and not tcp.flags.push == 1",
        &[],
    ),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "tcp.port == 80",
        &[1],
    ),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "tcp.srcport == 80",
        &[],
    ),
    ("zeek_chksums-ip4-tcp-bad-chksum.pcap", "tcp.len > 0", &[]),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "tcp.window_size_value < 1000",
        &[],
    ),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "tcp.options.mss_val >= 1400",
        &[],
    ),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "tcp.option_kind == 8",
        &[],
    ),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "tcp.options.wscale.shift > 6",
        &[],
    ),
    ("zeek_chksums-ip4-tcp-bad-chksum.pcap", "ip.ttl <= 64", &[1]),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "ip.addr == 192.168.0.0/16",
        &[],
    ),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "ip.src != 192.168.0.0/16",
        &[1],
    ),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "ip.flags.df == 1",
        &[],
    ),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "eth.dst == ff:ff:ff:ff:ff:ff",
        &[1],
    ),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "frame.len > 100",
        &[],
    ),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "!(tcp.flags.syn == 1) && tcp.len == 0",
        &[],
    ),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "tcp.hdr_len > 20",
        &[],
    ),
    ("zeek_chksums-ip4-tcp-bad-chksum.pcap", "ip.id == 0", &[]),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "tcp.flags == 0x018",
        &[],
    ),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "tcp.seq_raw > 2000000000",
        &[],
    ),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "tcp.port ~= 80",
        &[1],
    ),
    ("zeek_chksums-ip4-tcp-bad-chksum.pcap", "tcp.options", &[]),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "tcp.flags.syn",
        &[1],
    ),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "ip.src == 10.0.0.0/8 || ip.dst == 10.0.0.0/8",
        &[],
    ),
    (
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "eth.addr == 00:00:00:00:00:00",
        &[1],
    ),
];

#[test]
fn agrees_with_tshark_on_the_corpus() {
    let dir = common::corpus_or_fail("agrees_with_tshark_on_the_corpus");
    let mut wrong = Vec::new();
    for (file, expr, want) in TSHARK {
        let frames = read_all(&dir.join("pcaps").join(file)).expect("corpus file reads");
        let packets: Vec<Dissection> = frames.iter().map(|f| dissect(&f.as_frame())).collect();
        let got = which(expr, &packets);
        if got != *want {
            wrong.push(format!(
                "{file}: {expr:?}: tshark {want:?}, wirelab {got:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn bad_filters_say_where() {
    let table: &[(&str, &str)] = &[
        (
            "tcp.port === 80",
            "column 10: expected a value after '=='\n  tcp.port === 80\n           ^^",
        ),
        (
            "tcp.port ==",
            "column 10: expected a value after '=='\n  tcp.port ==\n           ^^",
        ),
        (
            "tcp.prot == 80",
            "column 1: unknown field name 'tcp.prot' (did you mean tcp.port, ip.proto or udp.port?)\n  tcp.prot == 80\n  ^^^^^^^^",
        ),
        (
            "ip.scr == 10.0.0.1",
            "column 1: unknown field name 'ip.scr' (did you mean ip.src, ip.addr or ip.dst?)\n  ip.scr == 10.0.0.1\n  ^^^^^^",
        ),
        (
            "tcp.port == 80 &&",
            "column 16: expected something to test after '&&'\n  tcp.port == 80 &&\n                 ^^",
        ),
        (
            "tcp && || udp",
            "column 8: expected something to test after '&&', found '||'\n  tcp && || udp\n         ^^",
        ),
        ("(tcp", "column 1: this '(' is never closed\n  (tcp\n  ^"),
        (
            "(tcp || udp",
            "column 1: this '(' is never closed\n  (tcp || udp\n  ^",
        ),
        (
            "tcp)",
            "column 4: unexpected ')': no '(' is open\n  tcp)\n     ^",
        ),
        (
            "(tcp udp)",
            "column 6: expected ')' to close the '(' at column 1, found 'udp'\n  (tcp udp)\n       ^^^",
        ),
        (
            "tcp.port == 80 udp",
            "column 16: expected '&&' or '||' before 'udp' (to join two tests, write `a && b` or `a || b`)\n  tcp.port == 80 udp\n                 ^^^",
        ),
        (
            "tcp.port = 80",
            "column 10: '=' is not an operator: write '==' to compare\n  tcp.port = 80\n           ^",
        ),
        (
            "tcp & udp",
            "column 5: '&' is not an operator: write '&&' (and)\n  tcp & udp\n      ^",
        ),
        (
            "tcp | udp",
            "column 5: '|' is not an operator: write '||' (or)\n  tcp | udp\n      ^",
        ),
        (
            "ip.src == 10.0.0.300",
            "column 11: ip.src is an IPv4 address, and 10.0.0.300 is not one (write one like 192.168.1.10 or 10.0.0.0/8)\n  ip.src == 10.0.0.300\n            ^^^^^^^^^^",
        ),
        (
            "ip.src == 10.0.0.0/33",
            "column 11: ip.src is an IPv4 address, and 10.0.0.0/33 is not one (write one like 192.168.1.10 or 10.0.0.0/8)\n  ip.src == 10.0.0.0/33\n            ^^^^^^^^^^^",
        ),
        (
            "tcp.port == http",
            "column 13: tcp.port is a number, and http is not one (write one like 80 or 0x50)\n  tcp.port == http\n              ^^^^",
        ),
        (
            "tcp.port == \"80\"",
            "column 13: tcp.port is a number, and \"80\" is not one (write one like 80 or 0x50)\n  tcp.port == \"80\"\n              ^^^^",
        ),
        (
            "eth.src == 00:11:22",
            "column 12: eth.src is a MAC address, and 00:11:22 is not one (write one like 00:1a:2b:3c:4d:5e)\n  eth.src == 00:11:22\n             ^^^^^^^^",
        ),
        (
            "ip.src > 10.0.0.0/8",
            "column 8: a network (10.0.0.0/8) can only be compared with == or !=, not '>'\n  ip.src > 10.0.0.0/8\n         ^",
        ),
        (
            "tcp.port contains 80",
            "column 10: 'contains' works on text and bytes, and tcp.port is a number\n  tcp.port contains 80\n           ^^^^^^^^",
        ),
        (
            "tcp == 1",
            "column 1: 'tcp' is a protocol, not a field: write just 'tcp' to test that the packet has it, or 'tcp contains \"text\"' to look in its bytes\n  tcp == 1\n  ^^^",
        ),
        (
            "frame matches \"a\\.b\"",
            "column 17: \\. is not a valid escape in a string (Wireshark's are \\\\ \\\" \\n \\t \\r \\xhh…; for a regular expression's \\. write \\\\.)\n  frame matches \"a\\.b\"\n                  ^^",
        ),
        (
            "tcp.port matches \"8\"",
            "column 10: 'matches' works on text and bytes, and tcp.port is a number\n  tcp.port matches \"8\"\n           ^^^^^^^",
        ),
        (
            "frame matches GET",
            "column 15: 'matches' takes a regular expression in quotes, as in frame matches \"^GET\"\n  frame matches GET\n                ^^^",
        ),
        (
            "frame matches \"(\"",
            "column 15: not a regular expression: unclosed group\n  frame matches \"(\"\n                ^^^",
        ),
        (
            "tcp.options.sack_perm == 1",
            "column 23: tcp.options.sack_perm has no value to compare: write just 'tcp.options.sack_perm' to test that it is present\n  tcp.options.sack_perm == 1\n                        ^^",
        ),
        (
            "80 == tcp.port",
            "column 1: expected a field or protocol name, found the value '80' (a comparison is written name == value)\n  80 == tcp.port\n  ^^",
        ),
        (
            "== 80",
            "column 1: expected a field name before '==', as in tcp.port == 80\n  == 80\n  ^^",
        ),
        (
            "dns.qry.name == \"abc",
            "column 17: this string is never closed (a '\"' is missing)\n  dns.qry.name == \"abc\n                  ^",
        ),
        (
            "!",
            "column 1: expected something to test after '!'\n  !\n  ^",
        ),
        (
            "tcp and",
            "column 5: expected something to test after 'and'\n  tcp and\n      ^^^",
        ),
        (
            "or udp",
            "column 1: expected something to test before 'or'\n  or udp\n  ^^",
        ),
        (
            "()",
            "column 2: expected something to test after '(', found ')'\n  ()\n   ^",
        ),
        (
            "tcp.port == 80 $",
            "column 16: unexpected character '$'\n  tcp.port == 80 $\n                 ^",
        ),
        (
            "ip.src == 'x'",
            "column 11: strings are written in double quotes: \"text\"\n  ip.src == 'x'\n            ^",
        ),
    ];
    let mut wrong = Vec::new();
    for (expr, want) in table {
        match Filter::parse(expr) {
            Ok(_) => wrong.push(format!("{expr:?} parsed, but should not")),
            Err(e) => {
                let got = e.to_string();
                if got != *want {
                    wrong.push(format!("{expr:?}:\n--- expected\n{want}\n--- got\n{got}"));
                }
                assert_eq!(e.headline(), got.lines().next().unwrap());
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

/// Every field name the engine produces on the whole corpus is one the filter knows, and so
/// is every field tshark's oracle has a column for (so `-Y` can use all of them). When this
/// fails after adding a dissector, add the new names to `filter::EXTRA`.
#[test]
fn every_name_the_engine_produces_is_known() {
    let dir = common::corpus_or_fail("every_name_the_engine_produces_is_known");
    let mut unknown = BTreeSet::new();
    let mut seen = 0;
    let mut d = Dissection::default();
    for entry in std::fs::read_dir(dir.join("pcaps")).expect("corpus pcaps") {
        let path = entry.expect("dir entry").path();
        let Ok(mut r) = CaptureReader::open(&path) else {
            continue;
        };
        // The whole pipeline: the stream analysis and the layers found in the streams
        // (HTTP, WebSocket…) add names too.
        let mut tracker = wirelab::stream::StreamTracker::default();
        let mut upper = wirelab::stream::upper::Upper::new();
        while let Ok(Some(f)) = r.next_frame() {
            dissect_into(&mut d, &f);
            tracker.observe(&mut d);
            upper.observe(&mut d);
            for fl in &d.fields {
                seen += 1;
                if !is_known_field(fl.name) {
                    unknown.insert(fl.name.to_string());
                }
            }
        }
    }
    assert!(seen > 1000, "only {seen} fields seen");
    for entry in std::fs::read_dir(dir.join("oracle/noreassembly")).expect("oracle") {
        let path = entry.expect("dir entry").path();
        let text = std::fs::read_to_string(&path).expect("oracle reads");
        for col in text.lines().next().unwrap_or("").split('\t') {
            let proto = col.split('.').next().unwrap_or("");
            if col.contains('.')
                && Proto::from_short(proto).is_some()
                && col != "frame.protocols"
                && !is_known_field(col)
            {
                unknown.insert(col.to_string());
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "field names the filter does not know (add them to filter::EXTRA): {unknown:?}"
    );
}

/// Pieces filters are made of, for the token-soup generator.
const PIECES: &[&str] = &[
    "tcp",
    "udp",
    "ip",
    "ipv6",
    "arp",
    "dns",
    "tcp.port",
    "ip.src",
    "eth.src",
    "dns.qry.name",
    "tcp.flags.syn",
    "frame.len",
    "==",
    "!=",
    "~=",
    "<",
    "<=",
    ">",
    ">=",
    "=",
    "&&",
    "||",
    "&",
    "|",
    "!",
    "(",
    ")",
    "and",
    "or",
    "not",
    "eq",
    "contains",
    "80",
    "0x50",
    "10.0.0.1",
    "10.0.0.0/8",
    "fe80::1",
    "::/0",
    "00:11:22:33:44:55",
    "\"x\"",
    "\"",
    "'",
    "-1",
    "1e9",
    "99999999999999999999999",
    "$",
    "é",
    " ",
    "",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any text at all: parse returns, and an error points inside (or just after) the text.
    #[test]
    fn parser_never_panics(s in "\\PC{0,60}") {
        check_parse(&s);
    }

    /// Sequences of real filter pieces, which reach far deeper into the grammar than random
    /// characters do.
    #[test]
    fn parser_never_panics_on_token_soup(parts in prop::collection::vec(0..PIECES.len(), 0..14)) {
        let s: Vec<&str> = parts.iter().map(|&i| PIECES[i]).collect();
        check_parse(&s.join(" "));
        check_parse(&s.concat());
    }
}

fn check_parse(s: &str) {
    static PACKETS: std::sync::OnceLock<Vec<Dissection>> = std::sync::OnceLock::new();
    let packets = PACKETS.get_or_init(built);
    match Filter::parse(s) {
        Ok(f) => {
            for d in packets {
                let _ = f.matches(d);
            }
        }
        Err(e) => {
            let len = s.chars().count();
            assert!(
                e.column >= 1 && e.column <= len + 1,
                "column {} outside 1..={} for {s:?}",
                e.column,
                len + 1
            );
            assert!(!e.message.is_empty());
            let _ = e.to_string();
        }
    }
}
