//! DHCP, the Dynamic Host Configuration Protocol (RFC 2131, options RFC 2132), carried in
//! BOOTP messages (RFC 951) over UDP ports 67 (server) and 68 (client).
//!
//! # The idea
//!
//! A computer that joins a network knows nothing yet: not its own IPv4 address, not the
//! router's, not the DNS server's. It cannot even send an ordinary packet, for it has no
//! address to send from. So it shouts: a *Discover* from 0.0.0.0:68 to the broadcast address
//! 255.255.255.255:67, with its hardware (MAC) address inside. A DHCP server answers with an
//! *Offer* ("you may have 10.0.0.50 for an hour"); the client *Requests* that offer by name
//! (so other servers that offered know they were not chosen), and the server confirms with an
//! *Ack*. The address is *leased*: the client must renew it before the lease runs out.
//!
//! ```text
//!  client (0.0.0.0:68)                       server (:67)
//!        │── DHCPDISCOVER  (broadcast) ────────▶│   "anyone? my MAC is 02:00:…"
//!        │◀──────────────── DHCPOFFER ──────────│   "take 10.0.0.50, lease 3600 s"
//!        │── DHCPREQUEST   (broadcast) ────────▶│   "I take the offer of server 10.0.0.1"
//!        │◀──────────────── DHCPACK ────────────│   "it is yours"
//! ```
//!
//! Every message has the fixed BOOTP layout below, then a *magic cookie* (99.130.83.99) that
//! says "DHCP options follow", then options, each a code, a length and a value (code 0 is a
//! single pad byte, code 255 ends the list). Option 53 says which of the messages above this
//! one is; without it the message is plain BOOTP.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +---------------+---------------+---------------+---------------+
//! |     op (1)    |   htype (1)   |   hlen (1)    |   hops (1)    |
//! +---------------+---------------+---------------+---------------+
//! |                            xid (4)                            |
//! +-------------------------------+-------------------------------+
//! |           secs (2)            |           flags (2)           |
//! +-------------------------------+-------------------------------+
//! |                          ciaddr  (4)                          |
//! |                          yiaddr  (4)                          |
//! |                          siaddr  (4)                          |
//! |                          giaddr  (4)                          |
//! +---------------------------------------------------------------+
//! |                          chaddr  (16)                         |
//! |                          sname   (64)                         |
//! |                          file    (128)                        |
//! +---------------------------------------------------------------+
//! |                  magic cookie 99.130.83.99 (4)                |
//! |                          options (variable)                   |
//! +---------------------------------------------------------------+
//! ```
//!
//! Not done: option overload (option 52, options continued in `sname`/`file`) is shown as
//! the option itself, its continuation is not read; relay agent sub-options are bytes.

use super::cx::{Cx, Next};
use super::fields::{FieldDef, Fmt};
use super::model::{Dissection, Field, Layer, Osi, ProblemKind, Proto, TcpIp, Value};
use super::registry::{Hook, Protocol, Reg};

/// What the rest of wirelab knows about DHCP (see [`super::registry`]).
pub static PROTOCOL: Protocol = Protocol {
    short: "dhcp",
    name: "DHCP",
    osi: Osi::Application,
    tcpip: TcpIp::Application,
    placement: "DHCP is a program talking to a program (a client asking a server) in UDP \
datagrams, so both models put it in the application layer, although what it hands out \
(addresses, routers) configures the network layer below it.",
    about: "DHCP gives a host joining a network its IPv4 address, netmask, router and DNS \
servers: Discover, Offer, Request, Ack, over UDP ports 68 and 67, before the host has an \
address of its own.",
    term: "DHCP",
    colour: colored::Color::Cyan,
    recognise: &[Hook::UdpPort(67), Hook::UdpPort(68)],
    fields: &[FIELDS, CHADDR, OPTION, OPTION_VALUES],
    dissect,
    describe,
};

fn proto() -> Proto {
    Proto::Reg(Reg(&PROTOCOL))
}

/// The fixed part of a BOOTP/DHCP message, before the client hardware address.
pub const FIXED_LEN: usize = 236;
/// The magic cookie, 99.130.83.99, that says DHCP options follow (RFC 2132 §2).
pub const COOKIE: [u8; 4] = [99, 130, 83, 99];

#[rustfmt::skip]
pub const FIELDS: &[FieldDef] = &[
    FieldDef::new("dhcp.type",     "Message type (op)",        0, 1, Fmt::Dec,  "1 is a request from a client (BOOTREQUEST), 2 a reply from a server (BOOTREPLY); which DHCP message it is comes in option 53."),
    FieldDef::new("dhcp.hw.type",  "Hardware type (htype)",    1, 1, Fmt::Hex,  "The kind of link the client is on; 1 is Ethernet."),
    FieldDef::new("dhcp.hw.len",   "Hardware address length",  2, 1, Fmt::Dec,  "How many bytes of the client hardware address field are used: 6 for an Ethernet MAC address."),
    FieldDef::new("dhcp.hops",     "Hops",                     3, 1, Fmt::Dec,  "How many relay agents passed the message on; 0 when client and server share the link."),
    FieldDef::new("dhcp.id",       "Transaction ID (xid)",     4, 4, Fmt::Hex,  "A random number the client picks; the server copies it into its replies so the client can match them to its question."),
    FieldDef::new("dhcp.secs",     "Seconds elapsed",          8, 2, Fmt::Dec,  "Seconds since the client began to ask for an address; a server may answer a client that waited long first."),
    FieldDef::new("dhcp.flags",    "Flags",                   10, 2, Fmt::Hex,  "Only the top bit is used: the broadcast flag."),
    FieldDef::bits("dhcp.flags.bc", "Broadcast flag",         10, 2, 0x8000, Fmt::Bool, "Set by a client that cannot receive a unicast reply before it has an address: the server then broadcasts its answer.").sub(),
    FieldDef::new("dhcp.ip.client", "Client IP address (ciaddr)", 12, 4, Fmt::Ipv4, "The client's current address when it renews a lease it already has; 0.0.0.0 while it has none."),
    FieldDef::new("dhcp.ip.your",   "Your IP address (yiaddr)",   16, 4, Fmt::Ipv4, "The address the server offers or gives to the client: the answer the whole exchange is about."),
    FieldDef::new("dhcp.ip.server", "Next server IP (siaddr)",    20, 4, Fmt::Ipv4, "The server to use in the next step of booting (a TFTP server for network boot); often 0.0.0.0."),
    FieldDef::new("dhcp.ip.relay",  "Relay agent IP (giaddr)",    24, 4, Fmt::Ipv4, "The relay agent that passed the message between networks; 0.0.0.0 when there was none."),
];

/// The client hardware address (chaddr, 16 bytes at offset 28): an Ethernet address in its
/// first 6 bytes, the rest padding.
#[rustfmt::skip]
pub const CHADDR: &[FieldDef] = &[
    FieldDef::new("dhcp.hw.mac_addr",     "Client MAC address",       28,  6, Fmt::Mac,   "The client's hardware address: how the server tells clients apart before they have addresses, and where it sends the reply."),
    FieldDef::new("dhcp.hw.addr_padding", "Hardware address padding", 34, 10, Fmt::Bytes, "The unused rest of the 16-byte hardware address field."),
    FieldDef::new("dhcp.hw.addr",         "Client hardware address",  28, 16, Fmt::Bytes, "The client's hardware address, for a link that is not Ethernet (its length is in hlen)."),
    FieldDef::new("dhcp.server",          "Server host name (sname)", 44, 64, Fmt::Text,  "A name the server may give itself; usually empty."),
    FieldDef::new("dhcp.file",            "Boot file name",          108, 128, Fmt::Text, "The file a network-booting client should fetch; usually empty."),
    FieldDef::new("dhcp.cookie",          "Magic cookie",            236,  4, Fmt::Ipv4,  "Always 99.130.83.99: the sign that DHCP options follow the old BOOTP fields."),
];

/// Each option's code and length (RFC 2132 §2: code, length, value).
#[rustfmt::skip]
pub const OPTION: &[FieldDef] = &[
    FieldDef::new("dhcp.option.type",    "Option",        0, 1, Fmt::Dec,   "The option's code: what its value is (53 the message type, 50 the requested address…)."),
    FieldDef::new("dhcp.option.length",  "Length",        1, 1, Fmt::Dec,   "How many bytes of value follow."),
    FieldDef::new("dhcp.option.value",   "Value",         2, 0, Fmt::Bytes, "The option's value as bytes; for the options wirelab knows, what they mean follows."),
    FieldDef::new("dhcp.option.end",     "Option End",    0, 1, Fmt::Dec,   "Code 255: the end of the options."),
    FieldDef::new("dhcp.option.padding", "Padding",       0, 0, Fmt::Bytes, "Zero bytes after the end option that fill the message to its minimum size."),
];

/// The values of the options wirelab reads (RFC 2132 section in the comment).
#[rustfmt::skip]
pub const OPTION_VALUES: &[FieldDef] = &[
    FieldDef::new("dhcp.option.subnet_mask",           "Subnet Mask",               2, 4, Fmt::Ipv4, "Which part of an address is the network (§3.3): 255.255.255.0 means the first three bytes."),
    FieldDef::new("dhcp.option.router",                "Router",                    2, 4, Fmt::Ipv4, "The router (default gateway) to send packets for other networks to (§3.5)."),
    FieldDef::new("dhcp.option.domain_name_server",    "Domain Name Server",        2, 4, Fmt::Ipv4, "A DNS server the client should ask for names (§3.8)."),
    FieldDef::new("dhcp.option.hostname",              "Host Name",                 2, 0, Fmt::Text, "The name the client calls itself (§3.14)."),
    FieldDef::new("dhcp.option.domain_name",           "Domain Name",               2, 0, Fmt::Text, "The domain the client's short names belong to (§3.17)."),
    FieldDef::new("dhcp.option.broadcast_address",     "Broadcast Address",         2, 4, Fmt::Ipv4, "The address that reaches every host of the client's network (§5.3)."),
    FieldDef::new("dhcp.option.requested_ip_address",  "Requested IP Address",      2, 4, Fmt::Ipv4, "The address the client asks for: the one it was offered, or the one it had (§9.1)."),
    FieldDef::new("dhcp.option.ip_address_lease_time", "IP Address Lease Time",     2, 4, Fmt::Dec,  "How many seconds the client may keep the address before it must renew (§9.2)."),
    FieldDef::new("dhcp.option.dhcp",                  "DHCP Message Type",         2, 1, Fmt::Dec,  "Which DHCP message this is (§9.6): 1 Discover, 2 Offer, 3 Request, 4 Decline, 5 Ack, 6 Nak, 7 Release, 8 Inform."),
    FieldDef::new("dhcp.option.dhcp_server_id",        "DHCP Server Identifier",    2, 4, Fmt::Ipv4, "The address of the server that made the offer; in a Request it tells every server whose offer was taken (§9.7)."),
    FieldDef::new("dhcp.option.request_list_item",     "Parameter Request List Item", 2, 1, Fmt::Dec, "One option the client would like in the answer, by its code (§9.8)."),
    FieldDef::new("dhcp.option.dhcp_max_message_size", "Maximum DHCP Message Size", 2, 2, Fmt::Dec,  "The longest DHCP message the client can take (§9.10)."),
    FieldDef::new("dhcp.option.renewal_time_value",    "Renewal Time Value (T1)",   2, 4, Fmt::Dec,  "Seconds until the client should ask its own server to renew the lease (§9.11)."),
    FieldDef::new("dhcp.option.rebinding_time_value",  "Rebinding Time Value (T2)", 2, 4, Fmt::Dec,  "Seconds until the client asks any server, if its own did not answer (§9.12)."),
    FieldDef::new("dhcp.option.vendor_class_id",       "Vendor class identifier",   2, 0, Fmt::Text, "What kind of client this is, in the vendor's words (§9.13)."),
    FieldDef::new("dhcp.client_id.type",               "Client identifier type",    2, 1, Fmt::Dec,  "The kind of client identifier (§9.14): 1 means an Ethernet address follows."),
    FieldDef::new("dhcp.client_id",                    "Client identifier",         3, 0, Fmt::Bytes, "A name the client uses for itself instead of its hardware address (§9.14)."),
];

/// The DHCP message types of option 53 (RFC 2132 §9.6), as Wireshark names them.
pub fn message_type(n: u64) -> &'static str {
    match n {
        1 => "Discover",
        2 => "Offer",
        3 => "Request",
        4 => "Decline",
        5 => "ACK",
        6 => "NAK",
        7 => "Release",
        8 => "Inform",
        _ => "unknown",
    }
}

/// The name of an option code (RFC 2132), for the option's heading.
fn option_name(code: u8) -> &'static str {
    match code {
        0 => "Padding",
        1 => "Subnet Mask",
        3 => "Router",
        6 => "Domain Name Server",
        12 => "Host Name",
        15 => "Domain Name",
        28 => "Broadcast Address",
        42 => "Network Time Protocol Servers",
        50 => "Requested IP Address",
        51 => "IP Address Lease Time",
        52 => "Option Overload",
        53 => "DHCP Message Type",
        54 => "DHCP Server Identifier",
        55 => "Parameter Request List",
        56 => "Message",
        57 => "Maximum DHCP Message Size",
        58 => "Renewal Time Value",
        59 => "Rebinding Time Value",
        60 => "Vendor class identifier",
        61 => "Client identifier",
        82 => "Agent Information Option",
        119 => "Domain Search",
        121 => "Classless Static Route",
        255 => "End",
        _ => "unknown option",
    }
}

/// The definition of a field of this file's tables, by name.
fn def(name: &str) -> &'static FieldDef {
    [FIELDS, CHADDR, OPTION, OPTION_VALUES]
        .iter()
        .flat_map(|t| t.iter())
        .find(|d| d.name == name)
        .expect("a field of dhcp.rs's tables")
}

/// Add a field of this file's tables at `at`, `len` bytes long, with `value`, `depth` deep.
fn put(cx: &mut Cx, name: &str, at: usize, len: usize, value: Value, depth: u8) {
    let d = def(name);
    let f = cx.add(d.name, d.label, at, len, value, d.explain);
    f.depth = depth;
}

/// Text up to the first NUL, as tshark shows a string field.
fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

pub fn dissect(cx: &mut Cx, at: usize, end: usize) -> Next {
    cx.begin(proto(), at);
    if cx.read_all_within(FIELDS, at, end) < FIELDS.len() {
        cx.fits("A DHCP (BOOTP) message", at, FIXED_LEN + 4, end);
        return Next::Done;
    }
    if let Some(op) = cx.u8_at(at) {
        cx.set_meaning(
            "dhcp.type",
            match op {
                1 => "Boot Request",
                2 => "Boot Reply",
                _ => "unknown",
            },
        );
    }
    if cx.u8_at(at + 1) == Some(1) {
        cx.set_meaning("dhcp.hw.type", "Ethernet");
    }
    // chaddr: an Ethernet address and padding, or hlen bytes of something else.
    let (htype, hlen) = (cx.u8_at(at + 1).unwrap_or(0), cx.u8_at(at + 2).unwrap_or(0));
    if htype == 1 && hlen == 6 {
        cx.read(def("dhcp.hw.mac_addr"), at);
        cx.read(def("dhcp.hw.addr_padding"), at);
    } else {
        let n = (hlen as usize).min(16);
        if cx.bytes(at + 28, n).is_some() {
            put(cx, "dhcp.hw.addr", at + 28, n, Value::Bytes, 0);
        }
    }
    for (name, off, len) in [("dhcp.server", 44, 64), ("dhcp.file", 108, 128)] {
        let t = cx.bytes(at + off, len).map(text).unwrap_or_default();
        if !t.is_empty() {
            put(cx, name, at + off, len, Value::Text(t), 0);
        }
    }
    let opts = at + FIXED_LEN + 4;
    if cx.bytes(at + FIXED_LEN, 4) != Some(&COOKIE[..]) {
        if cx.fits("A DHCP (BOOTP) message", at, FIXED_LEN + 4, end) {
            cx.problem(
                ProblemKind::Malformed,
                at + FIXED_LEN,
                "the 4 bytes after the BOOTP fields are not the magic cookie 99.130.83.99, so no DHCP options follow (plain BOOTP, or not DHCP at all)",
            );
        }
        cx.set_len(FIXED_LEN);
        return Next::Done;
    }
    cx.read(def("dhcp.cookie"), at);
    let stop = options(cx, opts, end.min(cx.data().len()));
    cx.set_len(stop.saturating_sub(at));
    Next::Done
}

/// Read the options from `i` to `end`; returns where reading stopped.
fn options(cx: &mut Cx, mut i: usize, end: usize) -> usize {
    let mut ended = false;
    while i < end {
        let Some(code) = cx.u8_at(i) else { break };
        if ended {
            // Everything after End is padding (zeros, as the minimum message size asks).
            put(cx, "dhcp.option.padding", i, end - i, Value::Bytes, 0);
            return end;
        }
        put(cx, "dhcp.option.type", i, 1, Value::Uint(code as u64), 0);
        cx.meaning(option_name(code));
        match code {
            0 => {
                i += 1;
                continue;
            }
            255 => {
                put(cx, "dhcp.option.end", i, 1, Value::Uint(255), 1);
                ended = true;
                i += 1;
                continue;
            }
            _ => {}
        }
        let Some(len) = cx.u8_at(i + 1) else {
            cx.truncated("A DHCP option's length", i + 1, 1);
            return i + 1;
        };
        let len = len as usize;
        put(cx, "dhcp.option.length", i + 1, 1, Value::Uint(len as u64), 1);
        let v = i + 2;
        if v + len > end {
            cx.problem(
                ProblemKind::Malformed,
                i + 1,
                format!(
                    "option {code} ({}) says its value is {len} bytes, but only {} are left in the message",
                    option_name(code),
                    end.saturating_sub(v)
                ),
            );
            return i + 2;
        }
        option_value(cx, code, v, len);
        i = v + len;
    }
    i
}

/// The value of one option, `len` bytes at `v`, as the fields Wireshark gives it.
fn option_value(cx: &mut Cx, code: u8, v: usize, len: usize) {
    let bytes = cx.bytes(v, len).map(<[u8]>::to_vec).unwrap_or_default();
    if len == 0 || bytes.len() < len {
        return;
    }
    // The raw value first (as Wireshark shows it), then what it means.
    put(cx, "dhcp.option.value", v, len, Value::Bytes, 1);
    let put = |cx: &mut Cx, name: &str, at: usize, n: usize, value: Value, depth: u8| {
        put(cx, name, at, n, value, depth + 1)
    };
    let addr = |b: &[u8]| Value::Ipv4([b[0], b[1], b[2], b[3]]);
    let be = |b: &[u8]| b.iter().fold(0u64, |a, &x| (a << 8) | x as u64);
    let each_addr = |cx: &mut Cx, name: &str| {
        for (k, c) in bytes.chunks_exact(4).enumerate() {
            put(cx, name, v + 4 * k, 4, addr(c), 1);
        }
    };
    match (code, len) {
        (1, 4) => put(cx, "dhcp.option.subnet_mask", v, 4, addr(&bytes), 1),
        (28, 4) => put(cx, "dhcp.option.broadcast_address", v, 4, addr(&bytes), 1),
        (50, 4) => put(cx, "dhcp.option.requested_ip_address", v, 4, addr(&bytes), 1),
        (54, 4) => put(cx, "dhcp.option.dhcp_server_id", v, 4, addr(&bytes), 1),
        (3, _) if len % 4 == 0 && len > 0 => each_addr(cx, "dhcp.option.router"),
        (6, _) if len % 4 == 0 && len > 0 => each_addr(cx, "dhcp.option.domain_name_server"),
        (51 | 58 | 59, 4) => {
            let name = match code {
                51 => "dhcp.option.ip_address_lease_time",
                58 => "dhcp.option.renewal_time_value",
                _ => "dhcp.option.rebinding_time_value",
            };
            put(cx, name, v, 4, Value::Uint(be(&bytes)), 1);
        }
        (57, 2) => put(cx, "dhcp.option.dhcp_max_message_size", v, 2, Value::Uint(be(&bytes)), 1),
        (53, 1) => {
            put(cx, "dhcp.option.dhcp", v, 1, Value::Uint(bytes[0] as u64), 1);
            cx.meaning(message_type(bytes[0] as u64));
        }
        (55, _) => {
            for (k, &c) in bytes.iter().enumerate() {
                put(cx, "dhcp.option.request_list_item", v + k, 1, Value::Uint(c as u64), 1);
                cx.meaning(option_name(c));
            }
        }
        (12 | 15 | 60, _) if len > 0 => {
            let name = match code {
                12 => "dhcp.option.hostname",
                15 => "dhcp.option.domain_name",
                _ => "dhcp.option.vendor_class_id",
            };
            put(cx, name, v, len, Value::Text(text(&bytes)), 1);
        }
        (61, 7) if bytes[0] == 1 => {
            // Wireshark shows an Ethernet client identifier with the header's own names.
            put(cx, "dhcp.hw.type", v, 1, Value::Hex { value: 1, digits: 2 }, 1);
            cx.meaning("Ethernet");
            let mut m = [0u8; 6];
            m.copy_from_slice(&bytes[1..7]);
            put(cx, "dhcp.hw.mac_addr", v + 1, 6, Value::Mac(m), 1);
        }
        (61, _) if len > 1 => {
            put(cx, "dhcp.client_id.type", v, 1, Value::Uint(bytes[0] as u64), 1);
            put(cx, "dhcp.client_id", v + 1, len - 1, Value::Bytes, 1);
        }
        _ => {}
    }
}

/// `DHCP Discover - Transaction ID 0x3903f326`, as tshark's Info column says it; plain BOOTP
/// (no option 53) is `Boot Request` or `Boot Reply`.
pub fn describe(d: &Dissection, layer: &Layer) -> String {
    let fields = d.layer_fields(layer);
    let get = |n: &str| fields.iter().find(|f: &&Field| f.name == n);
    let id = get("dhcp.id").map(|f| f.tshark(&d.data));
    let what = match get("dhcp.option.dhcp").and_then(|f| f.value.as_u64()) {
        Some(t) => format!("DHCP {}", message_type(t)),
        None => match get("dhcp.type").and_then(|f| f.value.as_u64()) {
            Some(1) => "DHCP Boot Request".into(),
            Some(2) => "DHCP Boot Reply".into(),
            _ => "DHCP".into(),
        },
    };
    match id {
        Some(id) => format!("{what} - Transaction ID {id}"),
        None => what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::model::Dissection;

    /// A DHCPDISCOVER as udhcpc sends it: chaddr 02:00:00:00:00:01, xid 0x11223344, options
    /// 53 (Discover), 61 (client id), 55 (subnet, router, DNS, host name), End, padding.
    fn discover() -> Vec<u8> {
        let mut m = vec![0u8; FIXED_LEN];
        m[0] = 1;
        m[1] = 1;
        m[2] = 6;
        m[4..8].copy_from_slice(&[0x11, 0x22, 0x33, 0x44]);
        m[28..34].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        m.extend_from_slice(&COOKIE);
        m.extend_from_slice(&[53, 1, 1]);
        m.extend_from_slice(&[61, 7, 1, 2, 0, 0, 0, 0, 1]);
        m.extend_from_slice(&[55, 4, 1, 3, 6, 12]);
        m.extend_from_slice(&[255, 0, 0, 0]);
        m
    }

    fn run(bytes: &[u8]) -> Dissection {
        let mut d = Dissection::default();
        d.data.extend_from_slice(bytes);
        let mut cx = Cx::new(&mut d);
        dissect(&mut cx, 0, bytes.len());
        d
    }

    fn all(d: &Dissection, name: &str) -> Vec<String> {
        d.fields
            .iter()
            .filter(|f| f.name == name)
            .map(|f| f.tshark(&d.data))
            .collect()
    }

    #[test]
    fn dissect_reads_a_discover() {
        let d = run(&discover());
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(all(&d, "dhcp.id"), ["0x11223344"]);
        assert_eq!(all(&d, "dhcp.option.dhcp"), ["1"]);
        assert_eq!(all(&d, "dhcp.hw.mac_addr"), ["02:00:00:00:00:01", "02:00:00:00:00:01"]);
        assert_eq!(all(&d, "dhcp.option.request_list_item"), ["1", "3", "6", "12"]);
        assert_eq!(all(&d, "dhcp.cookie"), ["99.130.83.99"]);
        assert_eq!(all(&d, "dhcp.option.padding").len(), 1);
        assert_eq!(describe(&d, &d.layers[0]), "DHCP Discover - Transaction ID 0x11223344");
    }

    #[test]
    fn dissect_stops_at_an_option_longer_than_the_message() {
        let mut m = discover();
        m.truncate(FIXED_LEN + 4);
        m.extend_from_slice(&[50, 4, 10, 0]);
        let d = run(&m);
        assert!(d.problems.iter().any(|p| p.message.contains("option 50")));
        assert!(crate::dissect::validate(&d).is_ok());
    }

    #[test]
    fn dissect_never_panics_on_cut_messages() {
        let m = discover();
        for n in 0..m.len() {
            let d = run(&m[..n]);
            assert!(crate::dissect::validate(&d).is_ok(), "cut at {n}");
        }
    }
}
