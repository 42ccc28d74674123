//! Display filters: choose which packets to show by what the engine found in them.
//!
//! # Display filter or capture filter?
//!
//! There are two kinds of packet filter, and they work at different moments:
//!
//! * A **capture filter** (tcpdump's `-f 'tcp port 80'`, written in BPF, the Berkeley Packet
//!   Filter language) runs in the operating system's kernel *while capturing*. It is compiled to
//!   a tiny program that looks at raw byte offsets, and it decides which packets are kept at
//!   all. It is very fast, but it only knows bytes: "the two bytes at offset 12 are 0x0800".
//!   A packet it rejects is gone.
//! * A **display filter** (Wireshark's `-Y`, and wirelab's `--filter` / `-Y`) runs *after*
//!   dissection, on the fields the dissectors found: `tcp.flags.syn == 1 && ip.src ==
//!   10.0.0.1`. It knows what each field means, wherever it sits in the packet (an IPv4 header
//!   with options moves the TCP ports, and the display filter still finds them), but every
//!   packet must be captured and dissected first. A packet it hides is still there.
//!
//! # The language (a subset of Wireshark's)
//!
//! ```text
//!  tcp                              a protocol name: the packet has that layer
//!  tcp.options                      a field name: the packet has that field
//!  tcp.port == 80                   a comparison: == != < <= > >= (or eq ne lt le gt ge)
//!  ip.src == 10.0.0.0/8             an address compared with a network (CIDR)
//!  eth.src == 00:11:22:33:44:55     MAC addresses, IPv4 and IPv6 addresses
//!  dns.qry.name == "example.com"    quoted strings; `contains` looks for a part of one
//!  http.request.uri matches "^/ws"  `matches` (or `~`): a regular expression, case-insensitive
//!                                   as in Wireshark (write (?-i) to tell case apart)
//!  frame contains "POST"            a protocol's bytes: its header and everything it carries
//!  tcp contains 47:45:54            (frame, eth, ip, tcp, udp, data…), as text or hex bytes
//!  tcp.payload contains "GET"       the data a TCP segment (udp.payload: a UDP datagram) carries
//!  !arp && (udp || tcp.flags.syn == 1)
//!                                   ! && || (or not and or), and parentheses
//! ```
//!
//! Values are read the way the field needs them: `tcp.port == 0x50` is a number, `ip.src ==
//! 10.1.2.3` an address. A field can occur more than once in a packet (the IP header quoted
//! inside an ICMP error has its own `ip.src`); as in Wireshark, `==` matches if *any*
//! occurrence is equal, and `!=` only if *all* differ, so `ip.addr != 10.0.0.1` hides every
//! packet to or from that host (`~=` is "any occurrence differs"). A comparison on a field the
//! packet does not have is false, so `tcp.port != 80` does not match a UDP packet.
//!
//! One trap worth knowing: a bare field name tests that the field is *present*, not that it is
//! set. `tcp.flags.syn` is true for every TCP packet; write `tcp.flags.syn == 1`.
//!
//! # How it works
//!
//! [`Filter::parse`] reads the text in two steps. A *lexer* cuts it into tokens (names, values,
//! operators, parentheses), each remembering its column so errors can point at it. A
//! *recursive-descent parser* then follows the grammar, one function per rule, lowest
//! precedence first:
//!
//! ```text
//!  or      = and { ("||" | "or") and }
//!  and     = not { ("&&" | "and") not }
//!  not     = ("!" | "not") not | primary
//!  primary = "(" or ")" | NAME [ OPERATOR VALUE ]
//! ```
//!
//! Each function calls the one below it, so `a || b && c` groups as `a || (b && c)`, the way
//! `*` binds tighter than `+` in arithmetic. Every name is checked against the names the
//! engine knows ([`known_fields`]), and a misspelt one gets suggestions.

use std::cmp::Ordering;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::dissect::fields::{FieldDef, Fmt};
use crate::dissect::model::{Dissection, Field, Proto, Timestamp, Value};
use crate::dissect::{arp, dns, ethernet, icmp, icmpv6, ipv4, ipv6, llc, registry, tcp, udp, vlan};

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// A filter that could not be read, with the column (counted in characters from 1) where it
/// went wrong.
///
/// Its `Display` is the message and, under it, the expression with carets under the culprit:
///
/// ```text
/// column 10: expected a value after '=='
///   tcp.port === 80
///            ^^
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// Where it went wrong, counted in characters from 1.
    pub column: usize,
    /// How many characters to underline (at least 1).
    pub width: usize,
    pub message: String,
    /// The whole expression, to print the caret under.
    pub expr: String,
}

impl FilterError {
    /// Just the first line: `column 10: expected a value after '=='`.
    pub fn headline(&self) -> String {
        format!("column {}: {}", self.column, self.message)
    }

    /// The expression with carets under the part that is wrong (two lines, no newline at the
    /// end), each line indented by two spaces.
    pub fn caret(&self) -> String {
        // Tabs would move the caret: show them as spaces.
        let expr: String = self
            .expr
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        format!(
            "  {expr}\n  {}{}",
            " ".repeat(self.column.saturating_sub(1)),
            "^".repeat(self.width.max(1))
        )
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n{}", self.headline(), self.caret())
    }
}

impl std::error::Error for FilterError {}

// ---------------------------------------------------------------------------------------------
// The names the engine knows
// ---------------------------------------------------------------------------------------------

/// What kind of value a field holds, which decides how a value written in a filter is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A number (ports, lengths, codes), written in decimal or as 0x hex.
    Number,
    /// One bit: 0 or 1 (or true/false).
    Bool,
    Mac,
    Ipv4,
    Ipv6,
    /// Text, such as a DNS name or an HTTP method.
    Text,
    /// Raw bytes, written as hex pairs `01:02:03` or as a quoted string.
    Bytes,
    /// A moment, as seconds since 1970 (`frame.time_epoch > 1700000000.5`).
    Time,
    /// A heading with no value of its own (only its presence can be tested).
    Label,
}

impl Kind {
    fn from_fmt(fmt: Fmt) -> Kind {
        match fmt {
            Fmt::Dec | Fmt::Hex | Fmt::Words => Kind::Number,
            Fmt::Bool => Kind::Bool,
            Fmt::Mac => Kind::Mac,
            Fmt::Ipv4 => Kind::Ipv4,
            Fmt::Ipv6 => Kind::Ipv6,
            Fmt::Bytes => Kind::Bytes,
            Fmt::Text => Kind::Text,
        }
    }

    /// How an error message names the kind: "tcp.port is a number".
    fn noun(self) -> &'static str {
        match self {
            Kind::Number => "a number",
            Kind::Bool => "a bit (0 or 1)",
            Kind::Mac => "a MAC address",
            Kind::Ipv4 => "an IPv4 address",
            Kind::Ipv6 => "an IPv6 address",
            Kind::Text => "text",
            Kind::Bytes => "bytes",
            Kind::Time => "a time",
            Kind::Label => "a heading with no value",
        }
    }

    /// An example of a value of this kind, for error messages.
    fn example(self) -> &'static str {
        match self {
            Kind::Number => "80 or 0x50",
            Kind::Bool => "1 or 0",
            Kind::Mac => "00:1a:2b:3c:4d:5e",
            Kind::Ipv4 => "192.168.1.10 or 10.0.0.0/8",
            Kind::Ipv6 => "2001:db8::1 or fe80::/10",
            Kind::Text => "\"example.com\"",
            Kind::Bytes => "01:02:03 or \"GET\"",
            Kind::Time => "1700000000.5",
            Kind::Label => "",
        }
    }
}

/// The header tables of the protocols that have one; every field in them is a name the engine
/// produces. (The protocols whose dissectors add fields one by one are listed in [`EXTRA`].)
const TABLES: &[&[FieldDef]] = &[
    &[ethernet::DST, ethernet::SRC, ethernet::TYPE, ethernet::LEN],
    arp::FIELDS,
    dns::FIELDS,
    icmp::FIELDS,
    icmp::ECHO,
    icmp::TIMESTAMPS,
    icmp::FRAG_NEEDED,
    icmp::PARAM,
    icmp::ROUTER_ADV,
    icmp::EXT_ECHO_REQUEST,
    icmp::EXT_ECHO_REPLY,
    icmpv6::FIELDS,
    icmpv6::ECHO,
    icmpv6::RA,
    icmpv6::NS,
    icmpv6::NA,
    icmpv6::REDIRECT,
    icmpv6::MLD,
    icmpv6::RR,
    ipv4::FIELDS,
    ipv6::FIELDS,
    ipv6::HOPOPTS_FIELDS,
    ipv6::DSTOPTS_FIELDS,
    ipv6::ROUTING_FIELDS,
    ipv6::FRAG_FIELDS,
    llc::FIELDS,
    llc::CONTROL_U,
    llc::CONTROL_IS,
    tcp::FIELDS,
    udp::FIELDS,
    vlan::FIELDS,
    vlan::AD_FIELDS,
];

/// Names that stand for several fields at once, as in Wireshark: `tcp.port` is either port.
const ALIASES: &[(&str, &[&str], Kind)] = &[
    ("eth.addr", &["eth.src", "eth.dst"], Kind::Mac),
    ("ip.addr", &["ip.src", "ip.dst"], Kind::Ipv4),
    ("ipv6.addr", &["ipv6.src", "ipv6.dst"], Kind::Ipv6),
    ("tcp.port", &["tcp.srcport", "tcp.dstport"], Kind::Number),
    ("udp.port", &["udp.srcport", "udp.dstport"], Kind::Number),
    (
        "arp.proto_ipv4",
        &["arp.src.proto_ipv4", "arp.dst.proto_ipv4"],
        Kind::Ipv4,
    ),
];

// Short names for the kinds, so the table below stays one line per field.
use Kind::{
    Bool as B, Bytes as Y, Ipv4 as V4, Ipv6 as V6, Label as L, Mac as M, Number as N, Text as T,
};

/// Field names (Wireshark's) that dissectors add one by one rather than from a table, with the
/// kind of value each holds. `tests/filter.rs` checks that every name the engine produces on
/// the corpus (tests/corpus) is known here or in a header table, so a new field cannot be forgotten.
pub const EXTRA: &[(&str, Kind)] = &[
    // The capture's record of the frame.
    ("frame.number", N),
    ("frame.time_epoch", Kind::Time),
    ("frame.time_relative", Kind::Time),
    ("frame.len", N),
    ("frame.cap_len", N),
    // Link layers.
    ("eth.padding", Y),
    ("eth.trailer", Y),
    ("vlan.priority", N),
    ("vlan.dei", B),
    ("vlan.cfi", B),
    ("vlan.id", N),
    ("vlan.etype", N),
    ("vlan.len", N),
    ("vlan.trailer", Y),
    ("sll.pkttype", N),
    ("sll.hatype", N),
    ("sll.halen", N),
    ("sll.src.eth", M),
    ("sll.src.ipv4", V4),
    ("sll.src.other", Y),
    ("sll.unused", Y),
    ("sll.ltype", N),
    ("sll.etype", N),
    ("sll.gretype", N),
    ("sll.ifindex", N),
    ("sll.trailer", Y),
    ("null.family", N),
    ("null.type", N),
    ("llc.dsap", N),
    ("llc.ssap", N),
    ("llc.control", N),
    ("llc.oui", N),
    ("llc.pid", N),
    // ARP.
    ("arp.hw.type", N),
    ("arp.proto.type", N),
    ("arp.hw.size", N),
    ("arp.proto.size", N),
    ("arp.opcode", N),
    ("arp.src.hw_mac", M),
    ("arp.src.proto_ipv4", V4),
    ("arp.dst.hw_mac", M),
    ("arp.dst.proto_ipv4", V4),
    ("arp.src.hw", Y),
    ("arp.src.proto", Y),
    ("arp.dst.hw", Y),
    ("arp.dst.proto", Y),
    ("arp.isgratuitous", B),
    // IP fragments put back together (stream::ipfrag), in the frame that completes them.
    ("ip.fragments", L),
    ("ip.fragment", N),
    ("ip.fragment.count", N),
    ("ip.reassembled.length", N),
    ("ipv6.fragments", L),
    ("ipv6.fragment", N),
    ("ipv6.fragment.count", N),
    ("ipv6.reassembled.length", N),
    // IPv4 options.
    ("ip.options", Y),
    ("ip.opt.type", N),
    ("ip.opt.len", N),
    // IPv6 and its extension headers.
    ("ipv6.version", N),
    ("ipv6.tclass", N),
    ("ipv6.tclass.dscp", N),
    ("ipv6.tclass.ecn", N),
    ("ipv6.flow", N),
    ("ipv6.plen", N),
    ("ipv6.nxt", N),
    ("ipv6.hlim", N),
    ("ipv6.src", V6),
    ("ipv6.dst", V6),
    ("ipv6.hopopts.nxt", N),
    ("ipv6.hopopts.len", N),
    ("ipv6.hopopts.len_oct", N),
    ("ipv6.dstopts.nxt", N),
    ("ipv6.dstopts.len", N),
    ("ipv6.dstopts.len_oct", N),
    ("ipv6.opt.type", N),
    ("ipv6.opt.length", N),
    ("ipv6.opt.pad1", L),
    ("ipv6.opt.padn", Y),
    ("ipv6.routing.nxt", N),
    ("ipv6.routing.len", N),
    ("ipv6.routing.len_oct", N),
    ("ipv6.routing.type", N),
    ("ipv6.routing.segleft", N),
    ("ipv6.routing.src.addr", V6),
    ("ipv6.fraghdr.nxt", N),
    ("ipv6.fraghdr.reserved_octet", N),
    ("ipv6.fraghdr.offset", N),
    ("ipv6.fraghdr.reserved_bits", N),
    ("ipv6.fraghdr.more", B),
    ("ipv6.fraghdr.ident", N),
    // ICMP.
    ("icmp.type", N),
    ("icmp.code", N),
    ("icmp.checksum", N),
    ("icmp.ident", N),
    ("icmp.seq", N),
    ("icmp.unused", Y),
    ("icmp.mtu", N),
    ("icmp.pointer", N),
    ("icmp.redir_gw", V4),
    ("icmp.length", N),
    // ICMPv6.
    ("icmpv6.type", N),
    ("icmpv6.code", N),
    ("icmpv6.checksum", N),
    ("icmpv6.reserved", Y),
    ("icmpv6.mtu", N),
    ("icmpv6.pointer", N),
    ("icmpv6.echo.identifier", N),
    ("icmpv6.echo.sequence_number", N),
    ("icmpv6.nd.ns.target_address", V6),
    ("icmpv6.nd.na.target_address", V6),
    ("icmpv6.nd.na.flag", N),
    ("icmpv6.nd.na.flag.r", B),
    ("icmpv6.nd.na.flag.s", B),
    ("icmpv6.nd.na.flag.o", B),
    ("icmpv6.nd.na.flag.rsv", N),
    ("icmpv6.nd.ra.cur_hop_limit", N),
    ("icmpv6.nd.ra.flag", N),
    ("icmpv6.nd.ra.flag.m", B),
    ("icmpv6.nd.ra.flag.o", B),
    ("icmpv6.nd.ra.router_lifetime", N),
    ("icmpv6.nd.ra.reachable_time", N),
    ("icmpv6.nd.ra.retrans_timer", N),
    ("icmpv6.nd.rd.target_address", V6),
    ("icmpv6.opt.type", N),
    ("icmpv6.opt.length", N),
    ("icmpv6.opt.linkaddr", M),
    ("icmpv6.opt.src_linkaddr", M),
    ("icmpv6.opt.target_linkaddr", M),
    ("icmpv6.opt.prefix", V6),
    ("icmpv6.opt.prefix.length", N),
    ("icmpv6.opt.prefix.valid_lifetime", N),
    ("icmpv6.opt.prefix.preferred_lifetime", N),
    ("icmpv6.opt.mtu", N),
    // TCP fields outside the fixed header.
    ("tcp.len", N),
    ("tcp.options", Y),
    ("tcp.option_kind", N),
    ("tcp.option_len", N),
    ("tcp.options.mss_val", N),
    ("tcp.options.wscale.shift", N),
    ("tcp.options.wscale.multiplier", N),
    ("tcp.options.sack_perm", L),
    ("tcp.options.sack_le", N),
    ("tcp.options.sack_re", N),
    ("tcp.options.timestamp.tsval", N),
    ("tcp.options.timestamp.tsecr", N),
    ("tcp.payload", Y),
    ("tcp.stream", N),
    ("tcp.seq", N),
    ("tcp.ack", N),
    ("tcp.nxtseq", N),
    ("tcp.window_size", N),
    ("udp.payload", Y),
    ("udp.stream", N),
    // Stream analysis (src/stream): fields that need earlier packets of the conversation.
    ("tcp.analysis", L),
    ("tcp.analysis.flags", L),
    ("tcp.analysis.ack_lost_segment", B),
    ("tcp.analysis.ack_rtt", Kind::Time),
    ("tcp.analysis.acks_frame", N),
    ("tcp.analysis.bytes_in_flight", N),
    ("tcp.analysis.duplicate_ack", B),
    ("tcp.analysis.duplicate_ack_frame", N),
    ("tcp.analysis.duplicate_ack_num", N),
    ("tcp.analysis.fast_retransmission", B),
    ("tcp.analysis.initial_rtt", Kind::Time),
    ("tcp.analysis.keep_alive", B),
    ("tcp.analysis.keep_alive_ack", B),
    ("tcp.analysis.lost_segment", B),
    ("tcp.analysis.out_of_order", B),
    ("tcp.analysis.push_bytes_sent", N),
    ("tcp.analysis.retransmission", B),
    ("tcp.analysis.reused_ports", B),
    ("tcp.analysis.rto", Kind::Time),
    ("tcp.analysis.rto_frame", N),
    ("tcp.analysis.spurious_retransmission", B),
    ("tcp.analysis.window_full", B),
    ("tcp.analysis.window_update", B),
    ("tcp.analysis.zero_window", B),
    ("tcp.analysis.zero_window_probe", B),
    ("tcp.analysis.zero_window_probe_ack", B),
    ("tcp.time_delta", Kind::Time),
    ("tcp.time_relative", Kind::Time),
    ("tcp.window_size_scalefactor", T),
    // DNS.
    ("dns.id", N),
    ("dns.length", N),
    ("dns.flags", N),
    ("dns.flags.response", B),
    ("dns.flags.opcode", N),
    ("dns.flags.authoritative", B),
    ("dns.flags.truncated", B),
    ("dns.flags.recdesired", B),
    ("dns.flags.recavail", B),
    ("dns.flags.z", B),
    ("dns.flags.authenticated", B),
    ("dns.flags.checkdisable", B),
    ("dns.flags.rcode", N),
    ("dns.count.queries", N),
    ("dns.count.answers", N),
    ("dns.count.auth_rr", N),
    ("dns.count.add_rr", N),
    ("dns.qry.name", T),
    ("dns.qry.name.len", N),
    ("dns.count.labels", N),
    ("dns.qry.type", N),
    ("dns.qry.class", N),
    ("dns.resp.name", T),
    ("dns.resp.type", N),
    ("dns.resp.class", N),
    ("dns.resp.ttl", N),
    ("dns.resp.len", N),
    ("dns.a", V4),
    ("dns.aaaa", V6),
    ("dns.cname", T),
    ("dns.ns", T),
    ("dns.ptr.domain_name", T),
    ("dns.mx.preference", N),
    ("dns.mx.mail_exchange", T),
    ("dns.txt", T),
    ("dns.soa.mname", T),
    ("dns.soa.rname", T),
    // HTTP/1.1 and WebSocket.
    ("http.request", B),
    ("http.response", B),
    ("http.request.method", T),
    ("http.request.uri", T),
    ("http.request.version", T),
    ("http.response.version", T),
    ("http.response.code", N),
    ("http.response.phrase", T),
    ("http.host", T),
    ("http.user_agent", T),
    ("http.upgrade", T),
    ("http.connection", T),
    ("http.content_type", T),
    ("http.content_length", N),
    ("http.sec_websocket_key", T),
    ("http.sec_websocket_accept", T),
    ("http.sec_websocket_version", T),
    ("http.sec_websocket_protocol", T),
    ("websocket.fin", B),
    ("websocket.rsv", N),
    ("websocket.opcode", N),
    ("websocket.mask", B),
    ("websocket.payload_length", N),
    ("websocket.payload_length_ext_16", N),
    ("websocket.payload_length_ext_64", N),
    ("websocket.masking_key", Y),
    ("websocket.payload", Y),
    // HTTP, WebSocket, Engine.IO and Socket.IO found in reassembled streams
    // (`stream::upper`), beyond the names above.
    ("http.request.line", T),
    ("http.response.line", T),
    ("http.server", T),
    ("http.content_length_header", T),
    ("http.sec_websocket_extensions", T),
    ("http.file_data", L),
    ("websocket.pmc", B),
    ("websocket.masked_payload", Y),
    ("websocket.payload.text", T),
    ("websocket.payload.continue", T),
    ("websocket.payload.close", L),
    ("websocket.payload.close.status_code", N),
    ("websocket.payload.close.reason", T),
    ("websocket.payload.ping", T),
    ("websocket.payload.pong", T),
    ("websocket.payload.unknown", T),
    ("eio.type", N),
    ("eio.sid", T),
    ("eio.upgrades", T),
    ("eio.ping_interval", N),
    ("eio.ping_timeout", N),
    ("eio.max_payload", N),
    ("eio.data", T),
    ("eio.binary_len", N),
    ("sio.type", N),
    ("sio.attachments", N),
    ("sio.namespace", T),
    ("sio.ack_id", N),
    ("sio.event", T),
    ("sio.args", T),
    // Bytes nobody dissects.
    ("data.data", Y),
    ("data.len", N),
    // More dns fields, added one by one by its dissector.
    ("dns.data", Y),
    ("dns.response_to", N),
    ("dns.time", Kind::Time),
    ("dns.opt.code", N),
    ("dns.opt.data", Y),
    ("dns.opt.len", N),
    ("dns.qry", L),
    ("dns.resp.edns0_version", N),
    ("dns.resp.ext_rcode", N),
    ("dns.resp.z", N),
    ("dns.resp.z.do", B),
    ("dns.rr", L),
    ("dns.rr.udp_payload_size", N),
    ("dns.soa.expire_limit", N),
    ("dns.soa.minimum_ttl", N),
    ("dns.soa.refresh_interval", N),
    ("dns.soa.retry_interval", N),
    ("dns.soa.serial_number", N),
    ("dns.txt.length", N),
    // More icmpv6 fields, added one by one by its dissector.
    ("icmpv6.mld.flag.qrv", B),
    ("icmpv6.mld.flag.s", B),
    ("icmpv6.mld.maximum_response_code", N),
    ("icmpv6.mld.nb_sources", N),
    ("icmpv6.mld.qqi", N),
    ("icmpv6.mldr.mar", L),
    ("icmpv6.mldr.mar.aux_data_len", N),
    ("icmpv6.mldr.mar.multicast_address", V6),
    ("icmpv6.mldr.mar.nb_sources", N),
    ("icmpv6.mldr.mar.record_type", N),
    ("icmpv6.mldr.nb_mcast_records", N),
    ("icmpv6.opt", L),
    ("icmpv6.opt.prefix.flag", N),
    ("icmpv6.opt.prefix.flag.a", B),
    ("icmpv6.opt.prefix.flag.l", B),
    ("icmpv6.opt.rdnss", L),
    ("icmpv6.opt.rdnss.lifetime", N),
    // More ipv6 fields, added one by one by its dissector.
    ("ipv6.dstopts", L),
    ("ipv6.fraghdr", L),
    ("ipv6.hopopts", L),
    ("ipv6.opt", L),
    ("ipv6.opt.mipv6.home_address", V6),
    ("ipv6.opt.router_alert", N),
    ("ipv6.opt.type.action", N),
    ("ipv6.opt.type.change", N),
    ("ipv6.routing", L),
    ("ipv6.routing.src.reserved", N),
    // More llc fields, added one by one by its dissector.
    ("llc.type", N),
    // More sll fields, added one by one by its dissector.
    ("sll.reserved", N),
];

/// Every field name a filter may use, with its kind: the header tables, the extra names and
/// the aliases (`tcp.port`). A name may appear more than once (a table and [`EXTRA`]).
pub fn known_fields() -> impl Iterator<Item = (&'static str, Kind)> {
    TABLES
        .iter()
        .flat_map(|t| t.iter().map(|d| (d.name, Kind::from_fmt(d.fmt))))
        .chain(EXTRA.iter().copied())
        // The protocols declared in one file each bring their own tables.
        .chain(registry::fields().map(|d| (d.name, Kind::from_fmt(d.fmt))))
        .chain(ALIASES.iter().map(|(n, _, k)| (*n, *k)))
}

/// Is `name` a field name a filter may use?
pub fn is_known_field(name: &str) -> bool {
    known_fields().any(|(n, _)| n == name)
}

/// The field names `name` stands for: itself, or for an alias such as `tcp.port` the fields
/// it covers (`tcp.srcport`, `tcp.dstport`). Empty if the name is not known.
pub fn field_names(name: &str) -> Vec<&'static str> {
    resolve(name).map(|(names, _)| names).unwrap_or_default()
}

/// The names of the protocols, as a filter writes them (`tcp`, `arp`, `ipv6`).
fn is_protocol(name: &str) -> bool {
    Proto::all().any(|p| p.short() == name)
}

/// The known names (fields and protocols) nearest to a misspelt one, nearest first, at most
/// three: `tcp.prot` → `tcp.port`.
pub fn suggest(name: &str) -> Vec<&'static str> {
    let limit = 2 + name.chars().count() / 4;
    // At the same distance, a name of the same protocol (`tcp.` for `tcp.prot`) comes first.
    let proto = |n: &str| n.split('.').next().unwrap_or("").to_string();
    let own = proto(name);
    let mut best: Vec<(usize, bool, &'static str)> = known_fields()
        .map(|(n, _)| n)
        .chain(Proto::all().map(|p| p.short()))
        .map(|n| (levenshtein(name, n), proto(n) != own, n))
        .filter(|(d, _, _)| *d <= limit)
        .collect();
    best.sort();
    best.dedup_by(|a, b| a.2 == b.2);
    best.into_iter().take(3).map(|(_, _, n)| n).collect()
}

/// The number of one-character edits (insert, delete, replace, or swap two neighbouring
/// characters) that turn `a` into `b`: Levenshtein's distance, with the swap that typing
/// errors so often are (`scr` for `src`) counted as one edit rather than two.
///
/// The classic dynamic programme: row `i` holds the distances from the first `i` characters
/// of `a` to every prefix of `b`, and each row is worked out from the two before it.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 0..a.len() {
        cur[0] = i + 1;
        for j in 0..b.len() {
            let replace = prev[j] + usize::from(a[i] != b[j]);
            let mut best = replace.min(prev[j + 1] + 1).min(cur[j] + 1);
            if i > 0 && j > 0 && a[i] == b[j - 1] && a[i - 1] == b[j] {
                best = best.min(before[j - 1] + 1);
            }
            cur[j + 1] = best;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Check a field name given on the command line (`--field`), with suggestions if it is not
/// one the engine knows.
/// A protocol name (`tcp`) is accepted too: it stands for the protocol's whole header.
pub fn check_field_name(name: &str) -> Result<(), String> {
    if is_known_field(name) || is_protocol(name) {
        return Ok(());
    }
    Err(format!("unknown field name '{name}'{}", did_you_mean(name)))
}

fn did_you_mean(name: &str) -> String {
    let s = suggest(name);
    match s.len() {
        0 => String::new(),
        1 => format!(" (did you mean {}?)", s[0]),
        _ => format!(
            " (did you mean {} or {}?)",
            s[..s.len() - 1].join(", "),
            s[s.len() - 1]
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer: text -> tokens
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// A name, a number, an address or a keyword: a run of letters, digits and `. : / - _`.
    Word(String),
    /// A quoted string, escapes resolved.
    Str(String),
    /// A comparison operator, as written (`==`, `eq`, `>=` …).
    Cmp(Op),
    AndAnd,
    OrOr,
    Bang,
    LParen,
    RParen,
    /// A character that is half of an operator (`=`, `&`, `|`) or not part of the language.
    Stray(char),
    /// A string with no closing quote.
    Unclosed,
    /// A string with an escape Wireshark does not know (`\.`): where it is (a column) and
    /// what it is.
    BadEscape(usize, String),
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    /// Column of the first character, from 1.
    col: usize,
    /// Width in characters.
    width: usize,
    /// The text as written.
    text: String,
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    /// All occurrences differ (Wireshark's `!=`).
    Ne,
    /// Some occurrence differs (Wireshark's `~=`).
    AnyNe,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    /// A regular expression (Wireshark's `matches` or `~`), case-insensitive.
    Matches,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '/' | '-' | '_')
}

/// The character an escape in a string stands for, and how many characters after the
/// backslash it used: the escapes Wireshark's display filters know (`\\`, `\"`, `\'`, `\a`,
/// `\b`, `\f`, `\n`, `\r`, `\t`, `\v`, `\xhh`, `\ooo`), for ASCII characters.
fn escape(after: &[char]) -> Option<(char, usize)> {
    let c = *after.first()?;
    let simple = match c {
        '\\' | '"' | '\'' => Some(c),
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        _ => None,
    };
    if let Some(s) = simple {
        return Some((s, 1));
    }
    let (digits, radix, used): (String, u32, usize) = if c == 'x' {
        (after.iter().skip(1).take(2).collect(), 16, 3)
    } else if c.is_digit(8) {
        (after.iter().take(3).collect(), 8, 3)
    } else {
        return None;
    };
    if digits.chars().count() + usize::from(c == 'x') != used {
        return None;
    }
    let v = u32::from_str_radix(&digits, radix).ok()?;
    (v < 0x80).then(|| (char::from(v as u8), used))
}

fn lex(s: &str) -> Vec<Token> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let two = |a: char, b: char| c == a && chars.get(i + 1) == Some(&b);
        let tok = if two('=', '=') {
            i += 2;
            Tok::Cmp(Op::Eq)
        } else if two('!', '=') {
            i += 2;
            Tok::Cmp(Op::Ne)
        } else if two('~', '=') {
            i += 2;
            Tok::Cmp(Op::AnyNe)
        } else if c == '~' {
            i += 1;
            Tok::Cmp(Op::Matches)
        } else if two('<', '=') {
            i += 2;
            Tok::Cmp(Op::Le)
        } else if two('>', '=') {
            i += 2;
            Tok::Cmp(Op::Ge)
        } else if two('&', '&') {
            i += 2;
            Tok::AndAnd
        } else if two('|', '|') {
            i += 2;
            Tok::OrOr
        } else if c == '<' {
            i += 1;
            Tok::Cmp(Op::Lt)
        } else if c == '>' {
            i += 1;
            Tok::Cmp(Op::Gt)
        } else if c == '!' {
            i += 1;
            Tok::Bang
        } else if c == '(' {
            i += 1;
            Tok::LParen
        } else if c == ')' {
            i += 1;
            Tok::RParen
        } else if c == '"' {
            i += 1;
            let mut text = String::new();
            let mut closed = false;
            let mut bad = None;
            while i < chars.len() {
                match chars[i] {
                    '"' => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    '\\' if i + 1 < chars.len() => match escape(&chars[i + 1..]) {
                        Some((c, used)) => {
                            text.push(c);
                            i += 1 + used;
                        }
                        None => {
                            bad.get_or_insert((i + 1, format!("\\{}", chars[i + 1])));
                            i += 2;
                        }
                    },
                    other => {
                        text.push(other);
                        i += 1;
                    }
                }
            }
            match (closed, bad) {
                (false, _) => Tok::Unclosed,
                (true, Some((col, esc))) => Tok::BadEscape(col, esc),
                (true, None) => Tok::Str(text),
            }
        } else if is_word_char(c) {
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            let w: String = chars[start..i].iter().collect();
            match w.as_str() {
                "eq" => Tok::Cmp(Op::Eq),
                "ne" => Tok::Cmp(Op::Ne),
                "lt" => Tok::Cmp(Op::Lt),
                "le" => Tok::Cmp(Op::Le),
                "gt" => Tok::Cmp(Op::Gt),
                "ge" => Tok::Cmp(Op::Ge),
                "contains" => Tok::Cmp(Op::Contains),
                "matches" => Tok::Cmp(Op::Matches),
                _ => Tok::Word(w),
            }
        } else {
            i += 1;
            Tok::Stray(c)
        };
        out.push(Token {
            tok,
            col: start + 1,
            width: i - start,
            text: chars[start..i].iter().collect(),
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The parsed filter
// ---------------------------------------------------------------------------------------------

/// A display filter, ready to test packets with [`Filter::matches`].
#[derive(Clone, Debug)]
pub struct Filter {
    expr: Expr,
}

impl Filter {
    /// Every field name the filter looks at (aliases expanded).
    pub fn field_names(&self) -> Vec<&'static str> {
        fn walk(e: &Expr, out: &mut Vec<&'static str>) {
            match e {
                Expr::All | Expr::Proto(_) => {}
                Expr::Or(v) | Expr::And(v) => v.iter().for_each(|e| walk(e, out)),
                Expr::Not(e) => walk(e, out),
                Expr::Has(names) => out.extend(names.iter().copied()),
                Expr::Compare { names, .. } => out.extend(names.iter().copied()),
                Expr::ProtoBytes { .. } => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.expr, &mut out);
        out
    }
}

#[derive(Clone, Debug)]
enum Expr {
    /// The empty filter: every packet.
    All,
    /// At least one is true. (A list rather than a pair, so a long chain `a || b || c …` stays
    /// flat instead of nesting one level per term.)
    Or(Vec<Expr>),
    /// All are true.
    And(Vec<Expr>),
    Not(Box<Expr>),
    /// A protocol name: the packet has a layer of it.
    Proto(&'static str),
    /// A field name: the packet has the field (any of the names, for an alias).
    Has(Vec<&'static str>),
    Compare {
        names: Vec<&'static str>,
        op: Op,
        lit: Lit,
    },
    /// `contains` or `matches` on a protocol's bytes: its header and what it carries.
    ProtoBytes {
        short: &'static str,
        op: Op,
        lit: Lit,
    },
}

/// A value from the filter, already read as the kind its field needs.
#[derive(Clone, Debug)]
enum Lit {
    Number(u64),
    /// An IPv4 address and how many leading bits must match (32 for one address).
    Ipv4(u32, u8),
    Ipv6(u128, u8),
    /// MAC addresses and byte strings.
    Bytes(Vec<u8>),
    Text(String),
    Time(Timestamp),
    /// A regular expression for `matches`, over text or bytes.
    Regex(regex::bytes::Regex),
}

/// How deep parentheses and `!` may nest: far more than any person writes, and small enough
/// that a hostile filter cannot exhaust the stack.
const MAX_DEPTH: usize = 200;

impl Filter {
    /// Read a filter. An empty (or all-blank) filter matches every packet.
    pub fn parse(s: &str) -> Result<Filter, FilterError> {
        let mut p = Parser {
            toks: lex(s),
            pos: 0,
            src: s,
            depth: 0,
        };
        if p.toks.is_empty() {
            return Ok(Filter { expr: Expr::All });
        }
        let expr = p.or()?;
        if let Some(t) = p.peek() {
            let t = t.clone();
            return Err(match &t.tok {
                Tok::RParen => p.err_at(&t, "unexpected ')': no '(' is open"),
                Tok::Cmp(_) => p.err_at(
                    &t,
                    format!("'{}' must follow a field name, as in tcp.port == 80", t.text),
                ),
                Tok::Stray(_) | Tok::Unclosed | Tok::BadEscape(..) => p.stray(&t),
                _ => p.err_at(
                    &t,
                    format!(
                        "expected '&&' or '||' before '{}' (to join two tests, write `a && b` or `a || b`)",
                        t.text
                    ),
                ),
            });
        }
        Ok(Filter { expr })
    }

    /// Does the packet pass the filter?
    pub fn matches(&self, d: &Dissection) -> bool {
        eval(&self.expr, d)
    }
}

impl std::str::FromStr for Filter {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Filter, FilterError> {
        Filter::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Parser: tokens -> expression tree
// ---------------------------------------------------------------------------------------------

struct Parser<'s> {
    toks: Vec<Token>,
    pos: usize,
    src: &'s str,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn err(&self, col: usize, width: usize, msg: impl Into<String>) -> FilterError {
        FilterError {
            column: col,
            width,
            message: msg.into(),
            expr: self.src.to_string(),
        }
    }

    fn err_at(&self, t: &Token, msg: impl Into<String>) -> FilterError {
        self.err(t.col, t.width, msg)
    }

    /// The column just after the last token: where "missing" things are reported.
    fn end_col(&self) -> usize {
        self.src.chars().count() + 1
    }

    /// The error for a character that is not part of the language where it stands.
    fn stray(&self, t: &Token) -> FilterError {
        match t.tok {
            Tok::Stray('=') => self.err_at(t, "'=' is not an operator: write '==' to compare"),
            Tok::Stray('&') => self.err_at(t, "'&' is not an operator: write '&&' (and)"),
            Tok::Stray('|') => self.err_at(t, "'|' is not an operator: write '||' (or)"),
            Tok::Stray('\'') => self.err_at(t, "strings are written in double quotes: \"text\""),
            Tok::Stray(c) => self.err_at(t, format!("unexpected character '{c}'")),
            Tok::Unclosed => self.err(t.col, 1, "this string is never closed (a '\"' is missing)"),
            Tok::BadEscape(col, ref esc) => self.err(
                col,
                2,
                format!(
                    "{esc} is not a valid escape in a string (Wireshark's are \\\\ \\\" \\n \\t \\r \\xhh…; for a regular expression's \\. write \\\\.)"
                ),
            ),
            _ => self.err_at(t, format!("unexpected '{}'", t.text)),
        }
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Word(x), .. }) if x == w)
    }

    /// `or = and { ("||" | "or") and }`
    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut terms = vec![self.and()?];
        while matches!(self.peek(), Some(Token { tok: Tok::OrOr, .. })) || self.is_word("or") {
            let op = self.next().expect("peeked");
            terms.push(self.operand(&op)?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().expect("one term")
        } else {
            Expr::Or(terms)
        })
    }

    /// `and = not { ("&&" | "and") not }`
    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut terms = vec![self.not()?];
        while matches!(
            self.peek(),
            Some(Token {
                tok: Tok::AndAnd,
                ..
            })
        ) || self.is_word("and")
        {
            let op = self.next().expect("peeked");
            terms.push(self.operand_and(&op)?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().expect("one term")
        } else {
            Expr::And(terms)
        })
    }

    /// The right side of `||`: an `and`, which must be there.
    fn operand(&mut self, op: &Token) -> Result<Expr, FilterError> {
        self.expect_expression(op)?;
        self.and()
    }

    /// The right side of `&&`: a `not`, which must be there.
    fn operand_and(&mut self, op: &Token) -> Result<Expr, FilterError> {
        self.expect_expression(op)?;
        self.not()
    }

    /// After `&&`, `||` or `!` something to test must follow.
    fn expect_expression(&self, after: &Token) -> Result<(), FilterError> {
        match self.peek() {
            None => Err(self.err_at(
                after,
                format!("expected something to test after '{}'", after.text),
            )),
            Some(t)
                if matches!(t.tok, Tok::AndAnd | Tok::OrOr | Tok::RParen | Tok::Cmp(_))
                    || matches!(&t.tok, Tok::Word(w) if w == "and" || w == "or") =>
            {
                Err(self.err_at(
                    t,
                    format!(
                        "expected something to test after '{}', found '{}'",
                        after.text, t.text
                    ),
                ))
            }
            Some(_) => Ok(()),
        }
    }

    /// `not = ("!" | "not") not | primary`
    fn not(&mut self) -> Result<Expr, FilterError> {
        if matches!(self.peek(), Some(Token { tok: Tok::Bang, .. })) || self.is_word("not") {
            let op = self.next().expect("peeked");
            self.expect_expression(&op)?;
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(self.err_at(&op, "too deeply nested"));
            }
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    /// `primary = "(" or ")" | NAME [ OPERATOR VALUE ]`
    fn primary(&mut self) -> Result<Expr, FilterError> {
        let Some(t) = self.next() else {
            let col = self.end_col();
            return Err(self.err(col, 1, "expected a field or protocol name"));
        };
        match &t.tok {
            Tok::LParen => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(self.err_at(&t, "too many nested parentheses"));
                }
                if self.peek().is_none() {
                    return Err(self.err_at(&t, "this '(' is never closed"));
                }
                self.expect_expression(&t)?;
                let inner = self.or()?;
                self.depth -= 1;
                match self.next() {
                    Some(Token {
                        tok: Tok::RParen, ..
                    }) => Ok(inner),
                    None => Err(self.err_at(&t, "this '(' is never closed")),
                    Some(other) => Err(self.err_at(
                        &other,
                        format!(
                            "expected ')' to close the '(' at column {}, found '{}'",
                            t.col, other.text
                        ),
                    )),
                }
            }
            Tok::Word(w) if w == "and" || w == "or" => Err(self.err_at(
                &t,
                format!("expected something to test before '{w}'"),
            )),
            Tok::Word(w) => self.name(&t, w),
            Tok::RParen => Err(self.err_at(&t, "expected a field or protocol name, found ')'")),
            Tok::Str(_) => Err(self.err_at(
                &t,
                "a value must come after a field name and an operator, as in dns.qry.name == \"example.com\"",
            )),
            Tok::Cmp(_) => Err(self.err_at(
                &t,
                format!(
                    "expected a field name before '{}', as in tcp.port {} 80",
                    t.text, t.text
                ),
            )),
            Tok::AndAnd | Tok::OrOr => Err(self.err_at(
                &t,
                format!("expected something to test before '{}'", t.text),
            )),
            // `not()` takes every '!' before calling here; kept for completeness.
            Tok::Bang => Err(self.err_at(&t, "unexpected '!'")),
            Tok::Stray(_) | Tok::Unclosed | Tok::BadEscape(..) => Err(self.stray(&t)),
        }
    }

    /// A name, maybe followed by a comparison.
    fn name(&mut self, t: &Token, w: &str) -> Result<Expr, FilterError> {
        let cmp = match self.peek() {
            Some(Token {
                tok: Tok::Cmp(op), ..
            }) => Some(*op),
            _ => None,
        };
        // A field (or alias)?
        if let Some((names, kind)) = resolve(w) {
            let Some(op) = cmp else {
                return Ok(Expr::Has(names));
            };
            let op_tok = self.next().expect("peeked");
            let value = match self.next() {
                Some(
                    v @ Token {
                        tok: Tok::Word(_) | Tok::Str(_),
                        ..
                    },
                ) => v,
                Some(
                    t @ Token {
                        tok: Tok::Unclosed | Tok::BadEscape(..) | Tok::Stray('\''),
                        ..
                    },
                ) => return Err(self.stray(&t)),
                _ => {
                    return Err(
                        self.err_at(&op_tok, format!("expected a value after '{}'", op_tok.text))
                    );
                }
            };
            let lit = self.literal(w, kind, op, &op_tok, &value)?;
            return Ok(Expr::Compare { names, op, lit });
        }
        if is_protocol(w) {
            let short = Proto::all()
                .map(|p| p.short())
                .find(|s| *s == w)
                .expect("is_protocol");
            match cmp {
                None => return Ok(Expr::Proto(short)),
                Some(op @ (Op::Contains | Op::Matches)) => {
                    // Wireshark: a protocol's value is its bytes, header and payload.
                    let op_tok = self.next().expect("peeked");
                    let value = match self.next() {
                        Some(
                            v @ Token {
                                tok: Tok::Word(_) | Tok::Str(_),
                                ..
                            },
                        ) => v,
                        Some(
                            t @ Token {
                                tok: Tok::Unclosed | Tok::BadEscape(..) | Tok::Stray('\''),
                                ..
                            },
                        ) => return Err(self.stray(&t)),
                        _ => {
                            return Err(self.err_at(
                                &op_tok,
                                format!("expected a value after '{}'", op_tok.text),
                            ));
                        }
                    };
                    let lit = self.literal(w, Kind::Bytes, op, &op_tok, &value)?;
                    return Ok(Expr::ProtoBytes { short, op, lit });
                }
                Some(_) => {
                    return Err(self.err_at(
                        t,
                        format!(
                            "'{w}' is a protocol, not a field: write just '{w}' to test that the packet has it, or '{w} contains \"text\"' to look in its bytes"
                        ),
                    ));
                }
            }
        }
        if w.starts_with(|c: char| c.is_ascii_digit()) || w.starts_with(':') {
            return Err(self.err_at(
                t,
                format!(
                    "expected a field or protocol name, found the value '{w}' (a comparison is written name == value)"
                ),
            ));
        }
        Err(self.err_at(t, format!("unknown field name '{w}'{}", did_you_mean(w))))
    }

    /// Read the value token as the kind of value the field holds.
    fn literal(
        &self,
        field: &str,
        kind: Kind,
        op: Op,
        op_tok: &Token,
        v: &Token,
    ) -> Result<Lit, FilterError> {
        let (text, quoted) = match &v.tok {
            Tok::Str(s) => (s.as_str(), true),
            Tok::Word(w) => (w.as_str(), false),
            _ => return Err(self.err_at(v, "expected a value")),
        };
        let wrong = || {
            let shown = if quoted {
                format!("\"{text}\"")
            } else {
                text.to_string()
            };
            self.err_at(
                v,
                format!(
                    "{field} is {}, and {shown} is not one (write one like {})",
                    kind.noun(),
                    kind.example()
                ),
            )
        };
        if matches!(op, Op::Contains | Op::Matches) && !matches!(kind, Kind::Text | Kind::Bytes) {
            return Err(self.err_at(
                op_tok,
                format!(
                    "'{}' works on text and bytes, and {field} is {}",
                    op_tok.text,
                    kind.noun()
                ),
            ));
        }
        if op == Op::Matches {
            if !quoted {
                return Err(self.err_at(
                    v,
                    format!("'matches' takes a regular expression in quotes, as in {field} matches \"^GET\""),
                ));
            }
            // Case-insensitive, as Wireshark's `matches` is; (?-i) turns that off.
            // On bytes, as PCRE does in Wireshark: `.` is any byte but a newline, and case
            // folding is ASCII's.
            let re = regex::bytes::RegexBuilder::new(text)
                .case_insensitive(true)
                .unicode(false)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| {
                    let why = e.to_string();
                    let why = why
                        .lines()
                        .last()
                        .unwrap_or("")
                        .trim_start_matches("error: ");
                    self.err_at(v, format!("not a regular expression: {why}"))
                })?;
            return Ok(Lit::Regex(re));
        }
        let lit = match kind {
            Kind::Label => {
                return Err(self.err_at(
                    op_tok,
                    format!("{field} has no value to compare: write just '{field}' to test that it is present"),
                ));
            }
            Kind::Number | Kind::Bool => {
                let n = if quoted { None } else { parse_number(text) };
                let n = n.or(match (kind, text) {
                    (Kind::Bool, "true" | "True" | "TRUE") if !quoted => Some(1),
                    (Kind::Bool, "false" | "False" | "FALSE") if !quoted => Some(0),
                    _ => None,
                });
                Lit::Number(n.ok_or_else(wrong)?)
            }
            Kind::Ipv4 => {
                let (a, bits) =
                    if quoted { None } else { parse_cidr_v4(text) }.ok_or_else(wrong)?;
                Lit::Ipv4(a, bits)
            }
            Kind::Ipv6 => {
                let (a, bits) =
                    if quoted { None } else { parse_cidr_v6(text) }.ok_or_else(wrong)?;
                Lit::Ipv6(a, bits)
            }
            Kind::Mac => {
                let b = if quoted { None } else { parse_bytes(text) };
                match b {
                    Some(b) if b.len() == 6 => Lit::Bytes(b),
                    _ => return Err(wrong()),
                }
            }
            Kind::Bytes => {
                if quoted {
                    Lit::Bytes(text.as_bytes().to_vec())
                } else {
                    Lit::Bytes(parse_bytes(text).ok_or_else(wrong)?)
                }
            }
            Kind::Text => Lit::Text(text.to_string()),
            Kind::Time => {
                Lit::Time(if quoted { None } else { parse_time(text) }.ok_or_else(wrong)?)
            }
        };
        let network =
            matches!(lit, Lit::Ipv4(_, b) if b < 32) || matches!(lit, Lit::Ipv6(_, b) if b < 128);
        if network && !matches!(op, Op::Eq | Op::Ne | Op::AnyNe) {
            return Err(self.err_at(
                op_tok,
                format!(
                    "a network ({text}) can only be compared with == or !=, not '{}'",
                    op_tok.text
                ),
            ));
        }
        Ok(lit)
    }
}

/// The field names a filter name stands for, and their kind.
fn resolve(name: &str) -> Option<(Vec<&'static str>, Kind)> {
    if let Some((_, names, kind)) = ALIASES.iter().find(|(n, _, _)| *n == name) {
        return Some((names.to_vec(), *kind));
    }
    known_fields()
        .find(|(n, _)| *n == name)
        .map(|(n, k)| (vec![n], k))
}

fn parse_number(s: &str) -> Option<u64> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else {
        s.parse().ok()
    }
}

fn parse_cidr_v4(s: &str) -> Option<(u32, u8)> {
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, b.parse::<u8>().ok().filter(|b| *b <= 32)?),
        None => (s, 32),
    };
    let a: Ipv4Addr = addr.parse().ok()?;
    Some((u32::from(a), bits))
}

fn parse_cidr_v6(s: &str) -> Option<(u128, u8)> {
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, b.parse::<u8>().ok().filter(|b| *b <= 128)?),
        None => (s, 128),
    };
    let a: Ipv6Addr = addr.parse().ok()?;
    Some((u128::from(a), bits))
}

/// Hex byte pairs joined by `:` or `-` (`00:1a:2b`), or a single pair.
fn parse_bytes(s: &str) -> Option<Vec<u8>> {
    s.split([':', '-'])
        .map(|p| {
            if p.len() == 2 {
                u8::from_str_radix(p, 16).ok()
            } else {
                None
            }
        })
        .collect()
}

/// Seconds since 1970, with up to nine decimals.
fn parse_time(s: &str) -> Option<Timestamp> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    let nanos = if frac.is_empty() {
        0
    } else {
        frac.parse::<u32>().ok()? * 10u32.pow(9 - frac.len() as u32)
    };
    Some(Timestamp { secs, nanos })
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

fn eval(e: &Expr, d: &Dissection) -> bool {
    match e {
        Expr::All => true,
        Expr::Or(terms) => terms.iter().any(|t| eval(t, d)),
        Expr::And(terms) => terms.iter().all(|t| eval(t, d)),
        Expr::Not(a) => !eval(a, d),
        Expr::Proto(short) => d.layers.iter().any(|l| l.proto.short() == *short),
        Expr::Has(names) => {
            d.fields.iter().any(|f| names.contains(&f.name))
                || names.iter().any(|n| payloads(d, n).next().is_some())
        }
        Expr::ProtoBytes { short, op, lit } => d
            .layers
            .iter()
            .enumerate()
            .filter(|(_, l)| l.proto.short() == *short)
            .any(|(i, _)| bytes_match(protocol_bytes(d, i), *op, lit)),
        Expr::Compare { names, op, lit }
            if names
                .iter()
                .any(|n| matches!(*n, "tcp.payload" | "udp.payload")) =>
        {
            // The data a transport header carries, from the typed views.
            let mut all = names.iter().flat_map(|n| payloads(d, n));
            match op {
                Op::Ne => {
                    let v: Vec<&[u8]> = all.collect();
                    !v.is_empty() && v.iter().all(|b| !bytes_match(b, Op::Eq, lit))
                }
                Op::AnyNe => all.any(|b| !bytes_match(b, Op::Eq, lit)),
                _ => all.any(|b| bytes_match(b, *op, lit)),
            }
        }
        Expr::Compare { names, op, lit } => {
            // Each occurrence with the bytes its offsets count from (the frame's, or those of
            // a reassembled message).
            let mut occurrences = d
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| names.contains(&f.name))
                .map(|(i, f)| (f, d.field_bytes(i)));
            match op {
                // "All differ": there is at least one, and none is equal.
                Op::Ne => {
                    let mut any = false;
                    for (f, bytes) in occurrences {
                        any = true;
                        if compare(f, bytes, Op::Eq, lit) {
                            return false;
                        }
                    }
                    any
                }
                Op::AnyNe => occurrences.any(|(f, bytes)| !compare(f, bytes, Op::Eq, lit)),
                _ => occurrences.any(|(f, bytes)| compare(f, bytes, *op, lit)),
            }
        }
    }
}

/// Compare one occurrence of a field with a value. A value of another kind than the field's
/// (which the parser prevents for known fields) never matches.
fn compare(f: &Field, frame: &[u8], op: Op, lit: &Lit) -> bool {
    let ord = match (&f.value, lit) {
        (Value::Uint(_) | Value::Hex { .. } | Value::Bool(_), Lit::Number(n)) => {
            f.value.as_u64().map(|v| v.cmp(n))
        }
        (Value::Ipv4(a), Lit::Ipv4(want, bits)) => {
            let a = u32::from_be_bytes(*a);
            if *bits < 32 {
                let mask = if *bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits)
                };
                return in_network(op, a & mask == want & mask);
            }
            Some(a.cmp(want))
        }
        (Value::Ipv6(a), Lit::Ipv6(want, bits)) => {
            let a = u128::from_be_bytes(*a);
            if *bits < 128 {
                let mask = if *bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - bits)
                };
                return in_network(op, a & mask == want & mask);
            }
            Some(a.cmp(want))
        }
        (Value::Mac(m), Lit::Bytes(b)) => return bytes_cmp(m, b, op),
        (Value::Bytes, Lit::Bytes(b)) => {
            return bytes_cmp(frame.get(f.range()).unwrap_or(&[]), b, op);
        }
        (Value::Text(t), Lit::Text(s)) => {
            if op == Op::Contains {
                return t.contains(s.as_str());
            }
            Some(t.as_str().cmp(s.as_str()))
        }
        (Value::Text(t), Lit::Regex(re)) => return re.is_match(t.as_bytes()),
        (Value::Bytes, Lit::Regex(re)) => {
            return re.is_match(frame.get(f.range()).unwrap_or(&[]));
        }
        (Value::Text(t), Lit::Bytes(b)) => return bytes_cmp(t.as_bytes(), b, op),
        (Value::Time(t), Lit::Time(want)) => Some(t.cmp(want)),
        _ => None,
    };
    ord.is_some_and(|o| holds(op, o))
}

/// Compare bytes with a value from the filter: `contains`, `matches`, or an ordering.
fn bytes_match(have: &[u8], op: Op, lit: &Lit) -> bool {
    match lit {
        Lit::Regex(re) => op == Op::Matches && re.is_match(have),
        Lit::Bytes(b) => bytes_cmp(have, b, op),
        Lit::Text(t) => bytes_cmp(have, t.as_bytes(), op),
        _ => false,
    }
}

/// The bytes of layer `li` as Wireshark gives a protocol's value: its header and everything
/// it carries, to the end of its packet (the frame; an IP packet's total length; a UDP
/// datagram's length; TCP and ICMP to the end of their IP packet), as far as captured.
fn protocol_bytes(d: &Dissection, li: usize) -> &[u8] {
    let l = &d.layers[li];
    let bytes = d.layer_bytes(li);
    let cap = bytes.len();
    let start = (l.at as usize).min(cap);
    let end = match l.proto {
        Proto::Frame => return bytes,
        Proto::Ipv4 | Proto::Ipv6 => {
            d.ip.iter()
                .find(|h| h.layer as usize == li)
                .map_or(cap, |h| start + h.total_len as usize)
        }
        Proto::Udp => d
            .udp
            .iter()
            .find(|u| u.layer as usize == li)
            .map_or(cap, |u| start + u.length as usize),
        // A protocol carried straight in IP: to the end of that IP packet.
        // (Read from a datagram put back together from IP fragments: to the datagram's end.)
        Proto::Tcp | Proto::Icmp | Proto::Icmpv6 => match d.ip_around(li) {
            Some(_) if d.source_of(li).is_some() => cap,
            Some(ip) => d.layers[ip.layer as usize].at as usize + ip.total_len as usize,
            None => cap,
        },
        // The data layer, and any protocol read from a message (HTTP, WebSocket…): its own
        // bytes; the link layers: everything after them.
        Proto::Data => l.at as usize + l.len as usize,
        p if p.osi() == crate::dissect::model::Osi::DataLink => cap,
        _ => l.at as usize + l.len as usize,
    };
    &bytes[start..end.clamp(start, cap)]
}

/// The data each TCP segment (`tcp.payload`) or UDP datagram (`udp.payload`) of the frame
/// carries, as far as captured; none for an empty one (Wireshark adds the field only when
/// there is data).
fn payloads<'d>(d: &'d Dissection, name: &str) -> impl Iterator<Item = &'d [u8]> + 'd {
    let tcp = (name == "tcp.payload")
        .then(|| {
            // The copy of a segment an ICMP error quotes has no payload of its own in
            // Wireshark (UDP's does), nor has a RST: Wireshark shows its data as the reset's
            // cause.
            d.tcp
                .iter()
                .filter(|t| !t.quoted && !t.flags.rst())
                .map(move |t| {
                    // The frame's bytes, or a reassembled datagram's.
                    let bytes = d.layer_bytes(t.layer as usize);
                    let cap = bytes.len();
                    // In the first piece of a fragmented packet the data length is not known:
                    // the payload is what this piece carries, to the end of its IP packet.
                    let start = (t.payload_at as usize).min(cap);
                    let end = match (t.len, d.ip_around(t.layer as usize)) {
                        (Some(len), _) => start + len as usize,
                        (None, Some(ip)) => {
                            d.layers[ip.layer as usize].at as usize + ip.total_len as usize
                        }
                        (None, None) => cap,
                    };
                    &bytes[start..end.clamp(start, cap)]
                })
        })
        .into_iter()
        .flatten();
    let udp = (name == "udp.payload")
        .then(|| {
            d.udp.iter().map(move |u| {
                let bytes = d.layer_bytes(u.layer as usize);
                let cap = bytes.len();
                let start = (d.layers[u.layer as usize].at as usize + 8).min(cap);
                let end = (start + u.data_len() as usize).min(cap);
                &bytes[start..end]
            })
        })
        .into_iter()
        .flatten();
    tcp.chain(udp).filter(|b| !b.is_empty())
}

fn in_network(op: Op, inside: bool) -> bool {
    match op {
        Op::Eq => inside,
        _ => !inside,
    }
}

fn bytes_cmp(have: &[u8], want: &[u8], op: Op) -> bool {
    if op == Op::Contains {
        return want.is_empty() || have.windows(want.len()).any(|w| w == want);
    }
    holds(op, have.cmp(want))
}

fn holds(op: Op, o: Ordering) -> bool {
    match op {
        Op::Eq => o == Ordering::Equal,
        Op::Ne | Op::AnyNe => o != Ordering::Equal,
        Op::Lt => o == Ordering::Less,
        Op::Le => o != Ordering::Greater,
        Op::Gt => o == Ordering::Greater,
        Op::Ge => o != Ordering::Less,
        Op::Contains | Op::Matches => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        Filter::parse(s).unwrap_err().headline()
    }

    #[test]
    fn levenshtein_counts_edits() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("tcp.port", "tcp.port"), 0);
        assert_eq!(levenshtein("tcp.prot", "tcp.port"), 1);
        assert_eq!(levenshtein("ip.scr", "ip.src"), 1);
        assert_eq!(levenshtein("ab", "ba"), 1);
        assert_eq!(levenshtein("ca", "abc"), 3);
    }

    #[test]
    fn suggest_finds_near_names() {
        assert_eq!(suggest("tcp.prot")[0], "tcp.port");
        assert!(suggest("ip.scr").contains(&"ip.src"));
        assert!(suggest("zzzzzzzzzzzzzzzzzz").is_empty());
    }

    #[test]
    fn parse_the_brief_example() {
        assert_eq!(
            err("tcp.port === 80"),
            "column 10: expected a value after '=='"
        );
    }

    #[test]
    fn parse_precedence_and_binds_tighter() {
        // a || b && c  ==  a || (b && c)
        let f = Filter::parse("tcp || udp && arp").unwrap();
        match f.expr {
            Expr::Or(terms) => assert!(matches!(terms[1], Expr::And(_))),
            other => panic!("expected an or, got {other:?}"),
        }
    }

    #[test]
    fn parse_values_by_kind() {
        assert!(Filter::parse("tcp.port == 0x50").is_ok());
        assert!(Filter::parse("ip.src == 10.0.0.0/8").is_ok());
        assert!(Filter::parse("ipv6.src == fe80::/10").is_ok());
        assert!(Filter::parse("eth.src == 00:11:22:33:44:55").is_ok());
        assert!(Filter::parse("dns.qry.name == \"a.b\"").is_ok());
        assert!(Filter::parse("frame.time_epoch > 1.5").is_ok());
        assert_eq!(
            err("ip.src == 80"),
            "column 11: ip.src is an IPv4 address, and 80 is not one (write one like 192.168.1.10 or 10.0.0.0/8)"
        );
    }

    #[test]
    fn parse_time_reads_decimals() {
        assert_eq!(
            parse_time("12.5"),
            Some(Timestamp {
                secs: 12,
                nanos: 500_000_000
            })
        );
        assert_eq!(parse_time("x"), None);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let s = "(".repeat(10_000) + "tcp" + &")".repeat(10_000);
        assert!(err(&s).contains("too many nested parentheses"));
        let s = "!".repeat(10_000) + "tcp";
        assert!(err(&s).contains("too deeply nested"));
    }
}
