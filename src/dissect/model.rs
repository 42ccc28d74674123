//! The layer model: what one dissected frame looks like.
//!
//! A frame on the wire is a set of nested envelopes. The Ethernet header is the outer envelope,
//! the IP header is inside it, the TCP header inside that, and the application's bytes are the
//! letter at the centre. Each envelope is a [`Layer`]; each line written on an envelope (a
//! port, an address, a flag) is a [`Field`].
//!
//! Every layer is placed on *both* teaching models at once:
//!
//! | OSI (7 layers)                         | TCP/IP (4 layers, RFC 1122)      |
//! |----------------------------------------|----------------------------------|
//! | 7 Application, 6 Presentation, 5 Session | Application                    |
//! | 4 Transport                            | Transport                        |
//! | 3 Network                              | Internet                         |
//! | 2 Data link, 1 Physical                | Link                             |
//!
//! Fields carry the name Wireshark uses for them (`ip.src`, `tcp.flags.syn`), so that what
//! wirelab shows can be checked against Wireshark, and so a student who moves on to Wireshark
//! already knows the names.
//!
//! A [`Dissection`] owns a copy of the frame's bytes and every field points back into them
//! by byte offset (and a bit mask for fields smaller than a byte), which is what lets the hex
//! view colour each byte by the layer it belongs to.
//!
//! One exception: a message that lives in a TCP byte stream (an HTTP request, a WebSocket
//! frame) may have come in several segments. It is shown with the frame that brought its last
//! byte, but its bytes are not all in that frame. Its layers are then read from a [`Source`]
//! held by the dissection (Wireshark calls it the "Reassembled TCP" tab): a copy of the
//! message's bytes and the frames each run of them came from. Such a layer is listed in
//! [`Dissection::layer_sources`], and its offsets, and its fields', count from the start of the
//! source; [`Dissection::layer_bytes`] and [`Dissection::field_bytes`] give the right bytes
//! for any layer or field. A WebSocket payload a client masked is unmasked into a source of its
//! own, which the Engine.IO and Socket.IO layers inside it are read from. Frames that carry
//! only their own layers have no sources, and nothing changes for them.

use std::borrow::Cow;
use std::fmt;
use std::fmt::Write as _;
use std::net::Ipv6Addr;

use serde::Serialize;

use super::ip::IpHeader;
use super::registry;
use super::tcp::TcpSegment;
use super::udp::UdpDatagram;

/// A layer of the OSI reference model (ISO/IEC 7498-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Osi {
    Physical = 1,
    DataLink = 2,
    Network = 3,
    Transport = 4,
    Session = 5,
    Presentation = 6,
    Application = 7,
}

impl Osi {
    /// All seven layers, bottom first.
    pub const ALL: [Osi; 7] = [
        Osi::Physical,
        Osi::DataLink,
        Osi::Network,
        Osi::Transport,
        Osi::Session,
        Osi::Presentation,
        Osi::Application,
    ];

    /// The layer's number, 1 (physical) to 7 (application).
    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            Osi::Physical => "Physical",
            Osi::DataLink => "Data link",
            Osi::Network => "Network",
            Osi::Transport => "Transport",
            Osi::Session => "Session",
            Osi::Presentation => "Presentation",
            Osi::Application => "Application",
        }
    }

    /// Where this OSI layer falls in the four-layer TCP/IP model.
    pub fn tcpip(self) -> TcpIp {
        match self {
            Osi::Physical | Osi::DataLink => TcpIp::Link,
            Osi::Network => TcpIp::Internet,
            Osi::Transport => TcpIp::Transport,
            Osi::Session | Osi::Presentation | Osi::Application => TcpIp::Application,
        }
    }
}

impl fmt::Display for Osi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "L{} {}", self.number(), self.name())
    }
}

/// A layer of the TCP/IP (Internet) model, as RFC 1122 names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum TcpIp {
    Link = 1,
    Internet = 2,
    Transport = 3,
    Application = 4,
}

impl TcpIp {
    pub const ALL: [TcpIp; 4] = [
        TcpIp::Link,
        TcpIp::Internet,
        TcpIp::Transport,
        TcpIp::Application,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TcpIp::Link => "Link",
            TcpIp::Internet => "Internet",
            TcpIp::Transport => "Transport",
            TcpIp::Application => "Application",
        }
    }
}

impl fmt::Display for TcpIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Every protocol the engine knows, with its place on both models.
///
/// `Frame` is the capture's own record of the frame (when it was seen, how long it was): it is
/// not a header anyone sent, but it is where the bits of the physical layer end up, so it is
/// shown as layer 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Proto {
    Frame,
    Ethernet,
    Sll,
    Sll2,
    Null,
    Vlan,
    /// IEEE 802.2 Logical Link Control, with a SNAP header naming the payload's EtherType.
    Llc,
    Arp,
    Ipv4,
    Ipv6,
    Icmp,
    Icmpv6,
    Tcp,
    Udp,
    Dns,
    Http,
    WebSocket,
    EngineIo,
    SocketIo,
    /// Bytes no dissector claimed (an application wirelab does not know, or a payload).
    Data,
    /// A protocol declared in a file of its own and listed in the [`registry`]
    /// (DHCP, TLS…): its names and placement come from its [`registry::Protocol`].
    Reg(registry::Reg),
}

impl Proto {
    pub const ALL: [Proto; 20] = [
        Proto::Frame,
        Proto::Ethernet,
        Proto::Sll,
        Proto::Sll2,
        Proto::Null,
        Proto::Vlan,
        Proto::Llc,
        Proto::Arp,
        Proto::Ipv4,
        Proto::Ipv6,
        Proto::Icmp,
        Proto::Icmpv6,
        Proto::Tcp,
        Proto::Udp,
        Proto::Dns,
        Proto::Http,
        Proto::WebSocket,
        Proto::EngineIo,
        Proto::SocketIo,
        Proto::Data,
    ];

    /// The short name Wireshark uses as the prefix of the protocol's fields (`ip` in `ip.src`).
    /// It is also the name of the protocol in a display filter (`tcp`, `arp`, `dns`).
    pub fn short(self) -> &'static str {
        match self {
            Proto::Frame => "frame",
            Proto::Ethernet => "eth",
            Proto::Sll => "sll",
            Proto::Sll2 => "sll",
            Proto::Null => "null",
            Proto::Vlan => "vlan",
            Proto::Llc => "llc",
            Proto::Arp => "arp",
            Proto::Ipv4 => "ip",
            Proto::Ipv6 => "ipv6",
            Proto::Icmp => "icmp",
            Proto::Icmpv6 => "icmpv6",
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Dns => "dns",
            Proto::Http => "http",
            Proto::WebSocket => "websocket",
            Proto::EngineIo => "eio",
            Proto::SocketIo => "sio",
            Proto::Data => "data",
            Proto::Reg(p) => p.0.short,
        }
    }

    /// The name a person would say.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Frame => "Frame",
            Proto::Ethernet => "Ethernet II",
            Proto::Sll => "Linux cooked capture v1",
            Proto::Sll2 => "Linux cooked capture v2",
            Proto::Null => "BSD loopback",
            Proto::Vlan => "802.1Q VLAN tag",
            Proto::Llc => "802.2 LLC/SNAP",
            Proto::Arp => "ARP",
            Proto::Ipv4 => "IPv4",
            Proto::Ipv6 => "IPv6",
            Proto::Icmp => "ICMP",
            Proto::Icmpv6 => "ICMPv6",
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
            Proto::Dns => "DNS",
            Proto::Http => "HTTP",
            Proto::WebSocket => "WebSocket",
            Proto::EngineIo => "Engine.IO",
            Proto::SocketIo => "Socket.IO",
            Proto::Data => "Data",
            Proto::Reg(p) => p.0.name,
        }
    }

    /// Where the protocol sits on the OSI model.
    ///
    /// Two placements are matters of convention, and the lessons say so: ARP maps network
    /// addresses to link addresses and is carried straight inside Ethernet, so books put it at
    /// layer 2, 3 or "2.5"; we place it at 3 because what it serves is the network layer. ICMP
    /// rides inside IP but is IP's own control channel, so it is network layer too.
    pub fn osi(self) -> Osi {
        match self {
            Proto::Frame => Osi::Physical,
            Proto::Ethernet | Proto::Sll | Proto::Sll2 | Proto::Null | Proto::Vlan | Proto::Llc => {
                Osi::DataLink
            }
            Proto::Arp | Proto::Ipv4 | Proto::Ipv6 | Proto::Icmp | Proto::Icmpv6 => Osi::Network,
            Proto::Tcp | Proto::Udp => Osi::Transport,
            Proto::Dns
            | Proto::Http
            | Proto::WebSocket
            | Proto::EngineIo
            | Proto::SocketIo
            | Proto::Data => Osi::Application,
            Proto::Reg(p) => p.0.osi,
        }
    }

    /// Where the protocol sits on the TCP/IP model. RFC 1122 puts ARP in the link layer,
    /// which is one of the places where the two models do not line up.
    pub fn tcpip(self) -> TcpIp {
        match self {
            Proto::Arp => TcpIp::Link,
            Proto::Reg(p) => p.0.tcpip,
            other => other.osi().tcpip(),
        }
    }

    /// Look a protocol up by its short name, as written in a display filter.
    pub fn from_short(name: &str) -> Option<Proto> {
        Proto::all().find(|p| p.short() == name)
    }

    /// Every protocol: the built-in ones ([`Proto::ALL`]), then the registered ones.
    pub fn all() -> impl Iterator<Item = Proto> {
        Proto::ALL
            .iter()
            .copied()
            .chain(registry::all().map(|p| Proto::Reg(registry::Reg(p))))
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The value of one field.
///
/// The variant decides how the value is written, and each is written exactly as
/// `tshark -T fields` prints a field of that kind, so wirelab's JSON can be compared with
/// Wireshark's output character for character.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A number shown in decimal: ports, lengths, TTL.
    Uint(u64),
    /// A number shown in hexadecimal with a fixed count of digits: `0x0800`, `0x0012`.
    Hex {
        value: u64,
        digits: u8,
    },
    /// A single flag bit. tshark 4.0 prints these as `1` and `0`.
    Bool(bool),
    Mac([u8; 6]),
    Ipv4([u8; 4]),
    Ipv6([u8; 16]),
    /// Text read from the packet, such as a DNS name or an HTTP method.
    Text(String),
    /// Raw bytes of the frame (the field's own byte range), shown as hex.
    Bytes,
    /// A moment in time, written as seconds since the Unix epoch with nine decimals.
    Time(Timestamp),
    /// A heading with no value of its own, such as "Options", grouping the fields under it.
    None,
}

impl Value {
    /// The value as an unsigned number, where it is one.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Uint(v) | Value::Hex { value: v, .. } => Some(v),
            Value::Bool(b) => Some(b as u64),
            _ => None,
        }
    }
}

/// One field of one layer: a name, what it means, its value and exactly which bits hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Wireshark's name for the field, such as `tcp.srcport`.
    pub name: &'static str,
    /// A short human label, such as "Source port".
    pub label: &'static str,
    pub value: Value,
    /// What a value means when it is a code, such as "IPv4" for ethertype 0x0800, or what
    /// wirelab worked out about it ("correct" for a checksum). Empty if nothing.
    pub meaning: Cow<'static, str>,
    /// First byte of the field, counted from the start of the frame.
    pub at: u32,
    /// How many bytes hold the field (for a bit field, the bytes its mask is applied to).
    pub len: u32,
    /// For a field smaller than its bytes: which bits of the big-endian number at `at..at+len`
    /// belong to it. 0 means all of them.
    pub mask: u32,
    /// How deep the field sits in the layer's tree: 0 for a header field, 1 for a part of one
    /// (a single flag bit, one TCP option's length) and so on.
    pub depth: u8,
    /// One sentence for a learner: what this field is for.
    pub explain: &'static str,
}

impl Field {
    /// A field with nothing in it, to be filled in place.
    pub const BLANK: Field = Field {
        name: "",
        label: "",
        value: Value::None,
        meaning: Cow::Borrowed(""),
        at: 0,
        len: 0,
        mask: 0,
        depth: 0,
        explain: "",
    };

    /// The field's byte range within the frame.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.at as usize..(self.at + self.len) as usize
    }

    /// The value written exactly as `tshark -T fields -e NAME` writes it.
    pub fn tshark(&self, frame: &[u8]) -> String {
        let mut s = String::new();
        self.write_tshark(frame, &mut s);
        s
    }

    /// Write the tshark form of the value into `out` (no allocation for numbers).
    pub fn write_tshark(&self, frame: &[u8], out: &mut String) {
        use std::fmt::Write;
        match &self.value {
            Value::Uint(v) => push_u64(out, *v),
            Value::Hex { value, digits } => {
                out.push_str("0x");
                push_hex_digits(out, *value, *digits as usize);
            }
            Value::Bool(b) => out.push(if *b { '1' } else { '0' }),
            Value::Mac(m) => write_mac(out, m),
            Value::Ipv4(a) => push_ipv4(out, a),
            Value::Ipv6(a) => push_ipv6(out, a),
            Value::Text(t) => out.push_str(t),
            Value::Time(t) => {
                if t.secs >= 0 {
                    push_u64(out, t.secs as u64);
                    out.push('.');
                    let at = out.len();
                    push_u64(out, t.nanos as u64);
                    let digits = out.len() - at;
                    if digits < 9 {
                        // Nine decimals: zeros in front.
                        out.insert_str(at, &"000000000"[digits..]);
                    }
                } else {
                    let _ = write!(out, "{t}");
                }
            }
            Value::Bytes => {
                let bytes = frame.get(self.range()).unwrap_or(&[]);
                push_hex(out, bytes, Some(':'));
            }
            Value::None => {}
        }
    }

    /// The value as a person reads it: the tshark form, plus the meaning where there is one.
    /// Text from the packet is escaped ([`crate::escape`]): a peer's ESC or CR is shown as
    /// `\x1b` or `\r`, never sent to the terminal.
    pub fn display(&self, frame: &[u8]) -> String {
        let mut s = String::new();
        self.write_display(frame, &mut s);
        s
    }

    /// Append [`Field::display`] to `out` (no allocation for most values: the layer tree
    /// writes one for every field of every packet).
    pub fn write_display(&self, frame: &[u8], out: &mut String) {
        let start = out.len();
        match &self.value {
            Value::Bool(b) => out.push_str(if *b { "1 (set)" } else { "0 (not set)" }),
            Value::Bytes if self.len > 32 => {
                use std::fmt::Write;
                let _ = write!(out, "{} bytes", self.len);
            }
            // A body is shown by its meaning (length, type, the start of it), not whole.
            Value::Text(_) if self.name == "http.file_data" => {}
            // A header line's CR LF ends the line; it is not part of what a person reads.
            Value::Text(t) => {
                out.push_str(&crate::escape::escape(t.strip_suffix("\r\n").unwrap_or(t)))
            }
            _ => self.write_tshark(frame, out),
        }
        if !self.meaning.is_empty() {
            let meaning = crate::escape::escape(&self.meaning);
            if out.len() == start {
                out.push_str(&meaning);
            } else {
                out.push_str(" (");
                out.push_str(&meaning);
                out.push(')');
            }
        }
    }
}

/// Append an IPv4 address in dotted decimal (as `Ipv4Addr` displays it).
pub fn push_ipv4(out: &mut String, a: &[u8; 4]) {
    for (i, &b) in a.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_u64(out, b as u64);
    }
}

/// Append `v` in decimal (as `write!("{v}")` does, without the formatting machinery: the
/// detailed views write a number for most fields of every packet).
pub fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    push_ascii(out, &buf[i..]);
}

/// Append the few ASCII characters (digits, dots) a number writer put into a small buffer.
/// Pushed one by one: for a handful of bytes this costs less than checking them as UTF-8 and
/// copying them, which matters for the several numbers of every summary line. (A byte above
/// ASCII would be pushed as the character of that number, never as invalid UTF-8.)
#[inline]
pub fn push_ascii(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(char::from(b));
    }
}

/// Append `v` in lowercase hexadecimal with at least `width` digits, zeros in front (as
/// `write!("{v:0width$x}")` does).
pub fn push_hex_digits(out: &mut String, v: u64, width: usize) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let needed = (16 - v.leading_zeros() as usize / 4).max(1);
    for _ in needed..width {
        out.push('0');
    }
    for k in (0..needed).rev() {
        out.push(DIGITS[(v >> (4 * k) & 0xf) as usize] as char);
    }
}

/// Write a MAC address the way everyone writes them: six hex pairs joined by colons.
pub fn write_mac(out: &mut String, m: &[u8; 6]) {
    push_hex(out, m, Some(':'));
}

/// Append an IPv6 address as RFC 5952 writes it (and as Rust's `Ipv6Addr` displays it):
/// groups in hex without leading zeros, the longest run of two or more zero groups (the
/// first, on a tie) shortened to `::`. Written by hand because the summary prints one or two
/// per packet and the formatting machinery is slow.
pub fn push_ipv6(out: &mut String, a: &[u8; 16]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let g: [u16; 8] = std::array::from_fn(|i| u16::from_be_bytes([a[2 * i], a[2 * i + 1]]));
    // An IPv4-mapped address ends in dotted decimal: leave that case to the standard library.
    if g[..5] == [0; 5] && g[5] == 0xffff {
        use std::fmt::Write;
        let _ = write!(out, "{}", Ipv6Addr::from(*a));
        return;
    }
    let (mut best, mut best_len, mut run, mut run_len) = (8, 0, 0, 0);
    for (i, &v) in g.iter().enumerate() {
        if v == 0 {
            if run_len == 0 {
                run = i;
            }
            run_len += 1;
            if run_len > best_len {
                (best, best_len) = (run, run_len);
            }
        } else {
            run_len = 0;
        }
    }
    if best_len < 2 {
        best = 8;
    }
    let mut i = 0;
    while i < 8 {
        if i == best {
            out.push_str("::");
            i += best_len;
            continue;
        }
        if i > 0 && i != best + best_len {
            out.push(':');
        }
        let v = g[i];
        let mut started = false;
        for shift in [12, 8, 4, 0] {
            let nib = (v >> shift) & 0xf;
            if nib != 0 || started || shift == 0 {
                out.push(DIGITS[nib as usize] as char);
                started = true;
            }
        }
        i += 1;
    }
}

/// Append bytes as lowercase hex pairs, with `sep` between pairs if given. (A table lookup:
/// `write!("{b:02x}")` goes through the formatting machinery for every byte, which is slow on
/// long payloads.)
pub fn push_hex(out: &mut String, bytes: &[u8], sep: Option<char>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    if sep.is_none() {
        // Long runs (a binary WebSocket payload): 32 bytes at a time written into a small
        // buffer, which is appended at once.
        let mut buf = [0u8; 64];
        for chunk in bytes.chunks(32) {
            for (i, b) in chunk.iter().enumerate() {
                buf[2 * i] = DIGITS[(b >> 4) as usize];
                buf[2 * i + 1] = DIGITS[(b & 0xf) as usize];
            }
            // Only hex digits were written.
            out.push_str(std::str::from_utf8(&buf[..2 * chunk.len()]).unwrap_or_default());
        }
        return;
    }
    out.reserve(bytes.len() * if sep.is_some() { 3 } else { 2 });
    for (i, b) in bytes.iter().enumerate() {
        if i > 0
            && let Some(c) = sep
        {
            out.push(c);
        }
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
}

/// One protocol header found in the frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    pub proto: Proto,
    /// First byte of this layer's header in the frame.
    pub at: u32,
    /// Length of the header (its payload belongs to the layers after it). For the last layer,
    /// everything up to the end of the captured bytes that it claims.
    pub len: u32,
    /// This layer's fields: indices into [`Dissection::fields`].
    pub fields: std::ops::Range<u32>,
}

impl Layer {
    pub fn range(&self) -> std::ops::Range<usize> {
        self.at as usize..(self.at + self.len) as usize
    }
}

/// What kind of trouble a dissector met.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The capture stopped before the header did (the frame was cut short by the snap length,
    /// or a length field promised more bytes than exist).
    Truncated,
    /// The bytes are there, but break a rule of the protocol (an impossible length, a wrong
    /// version number).
    Malformed,
    /// A checksum does not match the bytes it covers.
    BadChecksum,
    /// Something wirelab does not dissect (an unknown link type or protocol number). Not an
    /// error in the packet: the bytes are shown as data.
    Unsupported,
}

impl ProblemKind {
    /// The name serde gives it (`snake_case`), as the JSON view writes it.
    pub fn json_name(self) -> &'static str {
        match self {
            ProblemKind::Truncated => "truncated",
            ProblemKind::Malformed => "malformed",
            ProblemKind::BadChecksum => "bad_checksum",
            ProblemKind::Unsupported => "unsupported",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ProblemKind::Truncated => "truncated",
            ProblemKind::Malformed => "malformed",
            ProblemKind::BadChecksum => "bad checksum",
            ProblemKind::Unsupported => "not dissected",
        }
    }
}

/// A problem found while dissecting, tied to the layer where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub proto: Proto,
    /// Byte offset in the frame where the problem was noticed.
    pub at: u32,
    /// What is wrong, stated as the rule that was broken.
    pub message: String,
}

/// When the frame was captured: seconds and nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    pub fn as_f64(self) -> f64 {
        self.secs as f64 + self.nanos as f64 / 1e9
    }

    /// Seconds since another timestamp (negative if this one is earlier).
    pub fn since(self, earlier: Timestamp) -> f64 {
        (self.secs - earlier.secs) as f64 + (self.nanos as f64 - earlier.nanos as f64) / 1e9
    }
}

impl fmt::Display for Timestamp {
    /// Nine decimals, as tshark's `frame.time_epoch`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.secs, self.nanos)
    }
}

/// The link type of a capture: what the first header of each frame is. The numbers are the
/// LINKTYPE_ values registered for pcap and pcapng.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const RAW: LinkType = LinkType(101);
    pub const RAW_OLD: LinkType = LinkType(12);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);

    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "NULL (BSD loopback)",
            1 => "ETHERNET",
            12 | 101 => "RAW (IP)",
            113 => "LINUX_SLL",
            228 => "IPV4",
            229 => "IPV6",
            276 => "LINUX_SLL2",
            _ => "unknown",
        }
    }
}

/// Everything the engine found in one frame.
///
/// A `Dissection` can be reused for the next frame ([`crate::dissect::dissect_into`]) so that
/// reading a million-packet capture allocates almost nothing per packet.
#[derive(Clone, Debug, Default)]
pub struct Dissection {
    /// Position of the frame in its capture, from 1.
    pub number: u64,
    /// When it was captured, if the capture recorded it.
    pub ts: Option<Timestamp>,
    /// When the capture's first packet was captured (set by the
    /// [`Pipeline`](crate::pipeline::Pipeline)): every view shows times relative to it, as
    /// tshark's `frame.time_relative`, whatever is filtered out.
    pub capture_start: Option<Timestamp>,
    /// How long the frame was on the wire (it may have been captured only in part).
    pub wire_len: u32,
    pub link: Option<LinkType>,
    /// The captured bytes.
    pub data: Vec<u8>,
    pub layers: Vec<Layer>,
    pub fields: Vec<Field>,
    pub problems: Vec<Problem>,
    /// Bytes some layers were read from that are not this frame's own: a message put back
    /// together from several TCP segments, or a WebSocket payload after unmasking. See
    /// [`Source`]. Empty for almost every frame.
    pub sources: Vec<Source>,
    /// Which layers were read from which source: `(layer index, source index)`. A layer not
    /// listed was read from the frame's bytes, as usual.
    pub layer_sources: Vec<(u32, u32)>,
    /// The typed views: each IP, TCP and UDP header read once into a Rust value, outermost
    /// first (an ICMP error quotes a second IP header, and maybe a TCP or UDP one). The
    /// stream analysis, the views and the narration read these, never the fields by name.
    pub ip: Vec<IpHeader>,
    pub tcp: Vec<TcpSegment>,
    pub udp: Vec<UdpDatagram>,
}

/// Bytes a layer was read from that are not the frame's own: Wireshark shows them in extra
/// tabs under the packet bytes ("Reassembled TCP", "Unmasked data").
///
/// An HTTP message or a WebSocket frame lives in the TCP byte stream, and may have arrived in
/// several segments: it is shown with the frame that brought its last byte, but its bytes are
/// not all in that frame. Such a layer's fields (and the layer's own `at`/`len`) count bytes
/// from the start of a `Source` instead of the frame, and the source says which frames its
/// bytes came from. Views show the source's bytes as a second dump.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Source {
    /// What these bytes are, for a heading: "Reassembled TCP", "Unmasked WebSocket payload".
    pub title: String,
    pub bytes: Vec<u8>,
    /// Where runs of these bytes were on the wire, in order. Empty when the bytes were worked
    /// out rather than carried (an unmasked payload).
    pub pieces: Vec<SourcePiece>,
}

/// A run of a [`Source`]'s bytes that one frame carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourcePiece {
    /// First byte of the run in the source.
    pub at: u32,
    pub len: u32,
    /// The frame that carried it, and where in that frame.
    pub frame: u64,
    pub frame_offset: u32,
}

impl Source {
    /// The frames the bytes came from, as a person reads it: `#4 (1448 bytes), #5 (12 bytes)`.
    pub fn frames_text(&self) -> String {
        let mut out = String::new();
        for (i, p) in self.pieces.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "#{} ({} bytes)", p.frame, p.len);
        }
        out
    }
}

impl Dissection {
    /// Add a source of bytes; returns its index for [`Dissection::set_layer_source`].
    pub fn add_source(&mut self, source: Source) -> u32 {
        self.sources.push(source);
        (self.sources.len() - 1) as u32
    }

    /// Say that layer `layer` (and its fields) counts bytes from source `source`.
    pub fn set_layer_source(&mut self, layer: usize, source: u32) {
        self.layer_sources.push((layer as u32, source));
    }

    /// The source layer `layer` was read from, if not the frame.
    pub fn source_of(&self, layer: usize) -> Option<u32> {
        self.layer_sources
            .iter()
            .find(|(l, _)| *l as usize == layer)
            .map(|&(_, s)| s)
    }

    /// The bytes layer `layer`'s offsets count from: the frame's, or its source's.
    pub fn layer_bytes(&self, layer: usize) -> &[u8] {
        match self.source_of(layer) {
            Some(s) => self.sources.get(s as usize).map_or(&[], |s| &s.bytes),
            None => &self.data,
        }
    }

    /// The index of the layer holding field `field` (an index into [`Dissection::fields`]).
    pub fn layer_of_field(&self, field: usize) -> Option<usize> {
        let f = field as u32;
        self.layers
            .iter()
            .position(|l| l.fields.start <= f && f < l.fields.end)
    }

    /// The bytes field `field`'s offsets count from (see [`Dissection::layer_bytes`]).
    pub fn field_bytes(&self, field: usize) -> &[u8] {
        if self.layer_sources.is_empty() {
            return &self.data;
        }
        match self.layer_of_field(field) {
            Some(l) => self.layer_bytes(l),
            None => &self.data,
        }
    }

    /// Forget the previous frame, keeping the allocations.
    pub fn clear(&mut self) {
        self.number = 0;
        self.ts = None;
        self.capture_start = None;
        self.wire_len = 0;
        self.link = None;
        self.data.clear();
        self.layers.clear();
        self.fields.clear();
        self.problems.clear();
        self.sources.clear();
        self.layer_sources.clear();
        self.ip.clear();
        self.tcp.clear();
        self.udp.clear();
    }

    /// The frame's own TCP segment: the first TCP header that is not the copy an ICMP error
    /// quotes.
    pub fn tcp_segment(&self) -> Option<&TcpSegment> {
        self.tcp.first().filter(|t| !t.quoted)
    }

    /// The frame's own UDP datagram (not one an ICMP error quotes).
    pub fn udp_datagram(&self) -> Option<&UdpDatagram> {
        self.udp.first().filter(|u| !u.quoted)
    }

    /// Layer `li` was taken out of `layers`: the typed views of later layers move down.
    pub fn layer_removed(&mut self, li: usize) {
        let li = li as u16;
        let shift = |l: &mut u16| {
            if *l > li {
                *l -= 1;
            }
        };
        self.ip.iter_mut().for_each(|v| shift(&mut v.layer));
        self.tcp.iter_mut().for_each(|v| shift(&mut v.layer));
        self.udp.iter_mut().for_each(|v| shift(&mut v.layer));
    }

    /// The IP header just outside layer `layer` (the one a TCP or UDP header travels in).
    pub fn ip_around(&self, layer: usize) -> Option<&IpHeader> {
        self.ip.iter().rev().find(|h| (h.layer as usize) < layer)
    }

    /// The fields of one layer.
    pub fn layer_fields(&self, layer: &Layer) -> &[Field] {
        &self.fields[layer.fields.start as usize..layer.fields.end as usize]
    }

    /// The first field with this name, in any layer.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Every field with this name, outermost first.
    pub fn fields_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Field> + 'a {
        self.fields.iter().filter(move |f| f.name == name)
    }

    /// The value of the first field with this name, as a number.
    pub fn uint(&self, name: &str) -> Option<u64> {
        self.field(name).and_then(|f| f.value.as_u64())
    }

    /// The first field with this name inside one layer.
    pub fn layer_field<'a>(&'a self, layer: &Layer, name: &str) -> Option<&'a Field> {
        self.layer_fields(layer).iter().find(|f| f.name == name)
    }

    /// Insert fields into an existing layer, for analysis that is only known once other
    /// frames have been seen (the stream index, relative sequence numbers, round-trip times).
    ///
    /// `layer` is an index into [`Dissection::layers`] and `at` an index into
    /// [`Dissection::fields`] inside that layer's range (its end included, to append). The
    /// layers after it have their field ranges moved up. Returns how many fields went in.
    pub fn insert_fields(
        &mut self,
        layer: usize,
        at: usize,
        new: impl IntoIterator<Item = Field>,
    ) -> usize {
        let Some(l) = self.layers.get(layer) else {
            return 0;
        };
        let at = at.clamp(l.fields.start as usize, l.fields.end as usize);
        let before = self.fields.len();
        self.fields.splice(at..at, new);
        let n = (self.fields.len() - before) as u32;
        self.layers[layer].fields.end += n;
        for later in &mut self.layers[layer + 1..] {
            later.fields.start += n;
            later.fields.end += n;
        }
        n as usize
    }

    /// Does the frame contain this protocol?
    pub fn has(&self, proto: Proto) -> bool {
        self.layers.iter().any(|l| l.proto == proto)
    }

    /// The first layer of this protocol.
    pub fn layer(&self, proto: Proto) -> Option<&Layer> {
        self.layers.iter().find(|l| l.proto == proto)
    }

    /// True if a header was cut short or broke a rule of its protocol.
    pub fn is_malformed(&self) -> bool {
        self.problems
            .iter()
            .any(|p| matches!(p.kind, ProblemKind::Truncated | ProblemKind::Malformed))
    }

    /// The layer stack as Wireshark's `frame.protocols` writes it (`eth:ip:tcp`), without
    /// tshark's pseudo-layers such as `ethertype`.
    pub fn protocols(&self) -> String {
        let mut s = String::new();
        for l in &self.layers {
            if l.proto == Proto::Frame {
                continue;
            }
            if !s.is_empty() {
                s.push(':');
            }
            s.push_str(l.proto.short());
        }
        s
    }
}

/// One captured frame, as a source (a capture file, a live interface, a lesson's own sockets)
/// hands it to the engine.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// Position in the capture, from 1.
    pub number: u64,
    /// When it was captured; `None` where the file recorded no time (a pcapng Simple Packet
    /// Block).
    pub ts: Option<Timestamp>,
    pub link: LinkType,
    /// Length of the frame on the wire; `data` may be shorter if the capture kept only a part.
    pub wire_len: u32,
    pub data: &'a [u8],
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    proptest! {
        #[test]
        fn numbers_are_written_as_format_writes_them(v: u64, w in 0usize..20) {
            let mut s = String::new();
            push_u64(&mut s, v);
            prop_assert_eq!(s, format!("{v}"));
            let mut s = String::new();
            push_hex_digits(&mut s, v, w);
            prop_assert_eq!(s, format!("{v:0w$x}"));
        }
    }

    proptest! {
        #[test]
        fn addresses_and_times_are_written_as_display_writes_them(a: [u8; 4], secs in -5i64..5_000_000_000, nanos in 0u32..1_000_000_000) {
            let mut s = String::new();
            push_ipv4(&mut s, &a);
            prop_assert_eq!(s, Ipv4Addr::from(a).to_string());
            let t = Timestamp { secs, nanos };
            let f = Field { value: Value::Time(t), ..Field::BLANK };
            prop_assert_eq!(f.tshark(&[]), t.to_string());
        }
    }

    #[test]
    fn small_numbers_are_written_as_format_writes_them() {
        for v in (0..70_000u64).chain([u64::MAX, 1 << 63, 0xffff_ffff, 0x1_0000_0000]) {
            let mut s = String::new();
            push_u64(&mut s, v);
            assert_eq!(s, v.to_string());
            for w in [0, 1, 2, 4, 8] {
                let mut s = String::new();
                push_hex_digits(&mut s, v, w);
                assert_eq!(s, format!("{v:0w$x}"));
            }
        }
    }

    fn shown(a: [u8; 16]) -> String {
        let mut s = String::new();
        push_ipv6(&mut s, &a);
        s
    }

    #[test]
    fn ipv6_is_written_as_rfc_5952_says() {
        for (text, want) in [
            ("::", "::"),
            ("::1", "::1"),
            ("fe80::1", "fe80::1"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            ("ff02::1:ff00:1", "ff02::1:ff00:1"),
            ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),
            ("1::", "1::"),
        ] {
            let a: Ipv6Addr = text.parse().unwrap();
            assert_eq!(shown(a.octets()), want);
        }
    }

    proptest! {
        /// Groups drawn mostly from zero, so runs of zeros of every length and place occur.
        #[test]
        fn ipv6_matches_the_standard_library(groups in proptest::collection::vec(
            prop_oneof![3 => Just(0u16), 1 => Just(1u16), 1 => any::<u16>()], 8)) {
            let mut a = [0u8; 16];
            for (i, g) in groups.iter().enumerate() {
                a[2 * i..2 * i + 2].copy_from_slice(&g.to_be_bytes());
            }
            prop_assert_eq!(shown(a), Ipv6Addr::from(a).to_string());
        }

        #[test]
        fn hex_matches_format(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut s = String::new();
            push_hex(&mut s, &bytes, Some(':'));
            let want: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
            prop_assert_eq!(s, want.join(":"));
        }

        /// Without a separator, in 32-byte pieces through a buffer: across piece boundaries too.
        #[test]
        fn hex_without_separator_matches_format(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut s = String::from("x");
            push_hex(&mut s, &bytes, None);
            let want: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            prop_assert_eq!(s, format!("x{want}"));
        }
    }
}
