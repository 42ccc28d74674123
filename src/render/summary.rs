//! The summary view: one line a packet.
//!
//! ```text
//!     1    0.000000  10.0.0.1:55920 → 10.0.0.2:80  TCP  [SYN] seq=0 win=32767 len=0
//!     5    0.002259  10.0.0.1:55920 → 10.0.0.2:80  TCP  [ACK] seq=1 ack=1 win=64512 len=0
//! ```
//!
//! The time is seconds since the capture's first packet (tshark's `frame.time_relative`),
//! whatever is filtered out. The addresses are those of the outermost network layer, with the
//! ports of the frame's own transport layer; the protocol is the topmost layer wirelab
//! recognised, and the rest describes it. Problems follow in brackets (`[truncated: tcp]`), so
//! `grep '\['` finds every damaged packet.
//!
//! For TCP the numbers are those of tshark's Info column: `seq` and `ack` relative to each
//! side's initial sequence number, `win` the window in bytes, scaled by the factor both SYNs
//! agreed on. Where the connection's SYNs were not captured the scale cannot be known, and
//! `win=63×?` says so: 63 is the window field as written. `--absolute` shows the sequence
//! numbers as written instead (tshark's `tcp.relative_sequence_numbers:FALSE`).
//!
//! An ICMP error is summarised as the error it is (`ICMP Destination unreachable (Port
//! unreachable)`), followed by the packet it quotes, marked as quoted.
//!
//! # Speed
//!
//! This is the view used on big captures, so it is written to cost little: everything is
//! written straight into the one `String` the [`Printer`](super::Printer) reuses, numbers and
//! IPv4 addresses are formatted by hand, and the two most common top layers (TCP and UDP) are
//! described here directly from their fields instead of through
//! [`crate::dissect::describe`], which builds a new `String` each time. A unit test
//! checks that the two always say the same thing.

use std::fmt::Write;

use colored::Colorize;

use crate::dissect::describe_into;
use std::net::IpAddr;

use crate::dissect::model::{Dissection, Field, Layer, Proto, Timestamp, Value, write_mac};
use crate::dissect::tcp::{TcpSegment, WindowScale};
use crate::dissect::udp::UdpDatagram;

/// Append the summary line for `d` (with a newline) to `out`, times counted from the
/// capture's first packet (`d.capture_start`, else `first`), sequence numbers relative.
pub fn line(d: &Dissection, first: Timestamp, color: bool, out: &mut String) {
    line_with(d, first, color, false, out);
}

/// [`line()`], with the sequence numbers as written when `absolute` is set.
pub fn line_with(d: &Dissection, first: Timestamp, color: bool, absolute: bool, out: &mut String) {
    push_padded(out, d.number, 5);
    out.push(' ');
    match d.ts {
        Some(ts) => push_seconds(out, ts, d.capture_start.unwrap_or(first)),
        None => out.push_str("          -"),
    }
    out.push_str("  ");

    let top = top_layer(d);
    let proto = top.map(|l| l.proto).unwrap_or(Proto::Frame);
    let net = network_layer(d);
    let ports = ports(d);

    // Who → whom.
    let start = out.len();
    write_endpoints(d, net, ports, out);
    if color && out.len() > start {
        let plain = out.split_off(start);
        match plain.split_once(" → ") {
            Some((a, b)) => {
                let _ = write!(out, "{} → {}", a.cyan(), b.cyan());
            }
            None => out.push_str(&plain),
        }
    }
    out.push_str("  ");
    if color {
        let _ = write!(out, "{}", proto.name().bold());
    } else {
        out.push_str(proto.name());
    }
    out.push_str("  ");

    // What.
    let info_start = out.len();
    match top {
        // Messages found in the byte stream: one description each.
        Some(l) if is_upper(l.proto) => upper_info(d, l.proto, out),
        Some(l) if l.proto == Proto::Tcp && d.tcp_segment().is_some() => {
            if let Some(seg) = d.tcp_segment() {
                tcp_info(seg, absolute, out);
            }
        }
        Some(l) if l.proto == Proto::Udp && d.udp_datagram().is_some() => {
            if let Some(u) = d.udp_datagram() {
                udp_info(u, out);
            }
        }
        Some(l) => {
            // Written into the line, then what the line already said is cut from its front.
            let start = out.len();
            describe_into(d, l, out);
            let keep = strip_known_prefix(&out[start..], d, l, net, ports).len();
            out.drain(start..out.len() - keep);
            if matches!(l.proto, Proto::Icmp | Proto::Icmpv6) {
                quoted_info(d, out);
            }
        }
        None => {}
    }

    if out.len() == info_start {
        // Nothing to say (a header cut off after its ports): no gap before the problems.
        out.truncate(info_start - 2);
    }

    for p in &d.problems {
        out.push_str("  ");
        if color {
            let tag = format!("[{}: {}]", p.kind.name(), p.proto.short());
            let _ = write!(out, "{}", tag.red());
        } else {
            out.push('[');
            out.push_str(p.kind.name());
            out.push_str(": ");
            out.push_str(p.proto.short());
            out.push(']');
        }
    }
    // A description may end in a space (a field that is absent); keep lines tidy.
    let trimmed = out.trim_end_matches(' ').len();
    out.truncate(trimmed);
    out.push('\n');
}

/// The layer the summary describes: the topmost one, skipping a trailing data layer when a
/// layer below it says more. In an ICMP error it is the ICMP message: the layers after it are
/// the packet it quotes.
fn top_layer(d: &Dissection) -> Option<&Layer> {
    if let Some(q) = d.ip.iter().find(|h| h.quoted) {
        let icmp = d.layers[..q.layer as usize]
            .iter()
            .rev()
            .find(|l| matches!(l.proto, Proto::Icmp | Proto::Icmpv6));
        if icmp.is_some() {
            return icmp;
        }
    }
    let top = d.layers.last()?;
    if top.proto == Proto::Data
        && let Some(below) = d.layers.iter().rev().nth(1)
        && below.proto != Proto::Frame
    {
        return Some(below);
    }
    Some(top)
}

/// Is this a protocol read from the byte stream rather than from the frame alone?
fn is_upper(p: Proto) -> bool {
    matches!(
        p,
        Proto::Http | Proto::WebSocket | Proto::EngineIo | Proto::SocketIo
    )
}

/// The messages found in the byte stream that this frame completed, one description each:
/// for each HTTP message or WebSocket frame, the description of its innermost layer (the
/// Socket.IO packet inside the Engine.IO packet inside the WebSocket frame). Socket.IO
/// packets start with the two digits they are written with on the wire (`42` is an event).
pub fn stream_messages(d: &Dissection) -> Vec<(Proto, String)> {
    let mut items = Vec::new();
    for_each_stream_message(d, |l| {
        let mut s = String::new();
        push_stream_message(d, l, &mut s);
        items.push((l.proto, s));
    });
    items
}

/// The layers that are stream messages of their own, in order (see [`stream_messages`]).
fn for_each_stream_message(d: &Dissection, mut each: impl FnMut(&Layer)) {
    // Each HTTP or WebSocket layer, and each Engine.IO packet, starts a new item; the item
    // is described by its last layer, so an item is told once the next one starts (or the
    // layers end).
    let mut item: Option<&Layer> = None;
    let mut in_eio = false;
    for l in &d.layers {
        let continues = match l.proto {
            Proto::Http | Proto::WebSocket => {
                in_eio = false;
                false
            }
            // The WebSocket frame carrying the packet is told by the packet.
            Proto::EngineIo => {
                let c = !in_eio && item.is_some_and(|p| p.proto == Proto::WebSocket);
                in_eio = true;
                c
            }
            Proto::SocketIo => item.is_some_and(|p| p.proto == Proto::EngineIo),
            _ => continue,
        };
        if !continues && let Some(done) = item {
            each(done);
        }
        item = Some(l);
    }
    if let Some(done) = item {
        each(done);
    }
}

/// Append the description of the stream message `l` to `out`.
fn push_stream_message(d: &Dissection, l: &Layer, out: &mut String) {
    let start = out.len();
    describe_into(d, l, out);
    if l.proto == Proto::SocketIo
        && let Some(t) = d.layer_field(l, "sio.type").and_then(|f| f.value.as_u64())
        && let Some(i) = out[start..].find("Socket.IO ")
    {
        out.insert_str(start + i + "Socket.IO ".len(), &format!("4{t} "));
    }
    // A response says HTTP itself: `HTTP/1.1 200 OK`, not `HTTP HTTP/1.1 200 OK`.
    if out[start..].starts_with("HTTP HTTP/") {
        out.drain(start..start + "HTTP ".len());
    }
}

/// The stream messages, joined by `; `; the first drops its protocol's name when the
/// protocol column already says it.
fn upper_info(d: &Dissection, column: Proto, out: &mut String) {
    let mut i = 0;
    for_each_stream_message(d, |l| {
        if i > 0 {
            out.push_str("; ");
        }
        let start = out.len();
        push_stream_message(d, l, out);
        if i == 0 && l.proto == column {
            let s = &out[start..];
            let rest = s
                .strip_prefix(column.name())
                .filter(|r| r.starts_with(' '))
                .unwrap_or(s);
            let keep = rest.trim_start().len();
            out.drain(start..out.len() - keep);
        }
        i += 1;
    });
}

/// The outermost layer with addresses worth showing: IPv4 or IPv6, else ARP, else the link.
fn network_layer(d: &Dissection) -> Option<&Layer> {
    let find = |p: &[Proto]| d.layers.iter().find(|l| p.contains(&l.proto));
    find(&[Proto::Ipv4, Proto::Ipv6])
        .or_else(|| find(&[Proto::Arp]))
        .or_else(|| find(&[Proto::Ethernet]))
}

/// The field `name` of a layer: first at index `at` (where a header table puts it), which is
/// one string comparison, else wherever it is.
fn field_of<'d>(fs: &'d [Field], at: usize, name: &str) -> Option<&'d Field> {
    match fs.get(at) {
        Some(f) if f.name == name => Some(f),
        _ => fs.iter().find(|f| f.name == name),
    }
}

/// The ports of the frame's own TCP or UDP header (not one an ICMP error quotes).
fn ports(d: &Dissection) -> Option<(u64, u64)> {
    if let Some(t) = d.tcp_segment() {
        return Some((t.src_port as u64, t.dst_port as u64));
    }
    d.udp_datagram()
        .map(|u| (u.src_port as u64, u.dst_port as u64))
}

/// The source and destination address fields of a link or ARP layer (IP addresses come
/// from the typed view).
fn address_names(p: Proto) -> (&'static str, &'static str) {
    match p {
        Proto::Arp => ("arp.src.hw_mac", "arp.dst.hw_mac"),
        _ => ("eth.src", "eth.dst"),
    }
}

/// Write `src:port → dst:port` (IPv6 addresses in brackets when a port follows).
fn write_endpoints(
    d: &Dissection,
    net: Option<&Layer>,
    ports: Option<(u64, u64)>,
    out: &mut String,
) {
    let Some(mut net) = net else { return };
    if matches!(net.proto, Proto::Ipv4 | Proto::Ipv6) {
        // The outermost IP header, read once by the dissector.
        if let Some(ip) = d.ip.first() {
            write_ip_endpoints(ip.src, ip.dst, ports, out);
        }
        return;
    }
    // ARP's own "target hardware address" is what it asks for (zero in a request); who the
    // frame went to is in the Ethernet header, as Wireshark shows it.
    if net.proto == Proto::Arp
        && let Some(eth) = d.layer(Proto::Ethernet)
    {
        net = eth;
    }
    let (src_name, dst_name) = address_names(net.proto);
    let fs = d.layer_fields(net);
    let (Some(Value::Mac(src)), Some(Value::Mac(dst))) = (
        field_of(fs, usize::MAX, src_name).map(|f| &f.value),
        field_of(fs, usize::MAX, dst_name).map(|f| &f.value),
    ) else {
        return;
    };
    write_mac(out, src);
    out.push_str(" → ");
    write_mac(out, dst);
}

/// Write `a:port → b:port` for IP addresses (IPv6 in brackets when a port follows).
fn write_ip_endpoints(src: IpAddr, dst: IpAddr, ports: Option<(u64, u64)>, out: &mut String) {
    let one = |out: &mut String, a: IpAddr, port: Option<u64>| {
        let v6 = a.is_ipv6() && port.is_some();
        if v6 {
            out.push('[');
        }
        push_ip(out, a);
        if let Some(p) = port {
            if v6 {
                out.push(']');
            }
            out.push(':');
            push_uint(out, p);
        }
    };
    one(out, src, ports.map(|p| p.0));
    out.push_str(" → ");
    one(out, dst, ports.map(|p| p.1));
}

/// Write an IP address (IPv4 and IPv6 by hand: this runs for every line).
fn push_ip(out: &mut String, a: IpAddr) {
    match a {
        IpAddr::V4(a) => {
            // The four numbers written into one small buffer, appended at once.
            let mut buf = [0u8; 15];
            let mut n = 0;
            for (i, &b) in a.octets().iter().enumerate() {
                if i > 0 {
                    buf[n] = b'.';
                    n += 1;
                }
                if b >= 100 {
                    buf[n] = b'0' + b / 100;
                    n += 1;
                }
                if b >= 10 {
                    buf[n] = b'0' + b / 10 % 10;
                    n += 1;
                }
                buf[n] = b'0' + b % 10;
                n += 1;
            }
            crate::dissect::model::push_ascii(out, &buf[..n]);
        }
        IpAddr::V6(a) => crate::dissect::model::push_ipv6(out, &a.octets()),
    }
}

/// The info of a TCP segment: `[SYN, ACK] seq=0 ack=1 win=64240 len=0`, with tshark's
/// numbers: relative sequence numbers (as written with `absolute`) and the scaled window
/// (marked `×?` where the scale is unknown). Without the stream analysis, the numbers are as
/// written, the same as `tcp::describe` says after its ports.
fn tcp_info(seg: &TcpSegment, absolute: bool, out: &mut String) {
    let (seq, ack) = seg.shown_seq_ack(absolute);
    out.push('[');
    seg.flags.write_words(out);
    out.push_str("] seq=");
    push_uint(out, seq as u64);
    if let Some(ack) = ack {
        out.push_str(" ack=");
        push_uint(out, ack as u64);
    }
    out.push_str(" win=");
    push_uint(out, seg.shown_window() as u64);
    if seg
        .analysis
        .is_some_and(|a| a.scale == WindowScale::Unknown)
    {
        out.push_str("×?");
    }
    if let Some(len) = seg.len {
        out.push_str(" len=");
        push_uint(out, len as u64);
    }
}

/// The info of a UDP datagram: `len=33` (the data length), as `udp::describe` says it.
fn udp_info(u: &UdpDatagram, out: &mut String) {
    out.push_str("len=");
    push_uint(out, u.data_len() as u64);
}

/// After an ICMP error: the packet it quotes, marked as quoted, named by its top protocol
/// (`; quoted: DNS 192.168.1.102:53 → 192.168.1.1:59207`).
fn quoted_info(d: &Dissection, out: &mut String) {
    let Some(ip) = d.ip.iter().find(|h| h.quoted) else {
        return;
    };
    let after = |l: u16| l > ip.layer;
    let ports = if let Some(t) = d.tcp.iter().find(|t| after(t.layer)) {
        Some((t.src_port as u64, t.dst_port as u64))
    } else {
        d.udp
            .iter()
            .find(|u| after(u.layer))
            .map(|u| (u.src_port as u64, u.dst_port as u64))
    };
    let top = d.layers[ip.layer as usize..]
        .iter()
        .rev()
        .find(|l| l.proto != Proto::Data)
        .map_or(Proto::Data, |l| l.proto);
    out.push_str("; quoted: ");
    out.push_str(top.name());
    out.push(' ');
    write_ip_endpoints(ip.src, ip.dst, ports, out);
}

/// A layer's description without what the line already said: its protocol's name and the
/// `src → dst` (addresses or ports) the endpoint column shows.
fn strip_known_prefix<'s>(
    s: &'s str,
    d: &Dissection,
    l: &Layer,
    net: Option<&Layer>,
    ports: Option<(u64, u64)>,
) -> &'s str {
    let mut s = s;
    if let Some(rest) = s.strip_prefix(l.proto.name()) {
        s = rest.trim_start_matches([',', ' ']);
    }
    let mut pair = String::new();
    if matches!(l.proto, Proto::Tcp | Proto::Udp) {
        if let Some((a, b)) = ports {
            let _ = write!(pair, "{a} → {b}");
        }
    } else if net.is_some_and(|n| std::ptr::eq(n, l)) {
        write_endpoints(d, net, None, &mut pair);
    }
    if !pair.is_empty()
        && let Some(rest) = s.strip_prefix(pair.as_str())
    {
        s = rest.trim_start_matches([',', ' ']);
    }
    s
}

/// "00" to "99", two characters each, to write numbers two digits at a time.
const PAIRS: &str = {
    const BYTES: [u8; 200] = {
        let mut t = [0u8; 200];
        let mut i = 0;
        while i < 100 {
            t[2 * i] = b'0' + (i / 10) as u8;
            t[2 * i + 1] = b'0' + (i % 10) as u8;
            i += 1;
        }
        t
    };
    match std::str::from_utf8(&BYTES) {
        Ok(s) => s,
        Err(_) => panic!("digits are ASCII"),
    }
};

/// Append a number in decimal without going through `fmt`, two digits at a time.
fn push_uint(out: &mut String, mut v: u64) {
    // Filled from the right, two digits at a time, then appended at once.
    let pairs = PAIRS.as_bytes();
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while v >= 100 {
        let p = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&pairs[p..p + 2]);
    }
    if v >= 10 {
        let p = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&pairs[p..p + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    crate::dissect::model::push_ascii(out, &buf[i..]);
}

/// Append a number right-aligned in `width` columns.
fn push_padded(out: &mut String, v: u64, width: usize) {
    let digits = v.checked_ilog10().unwrap_or(0) as usize + 1;
    for _ in digits..width {
        out.push(' ');
    }
    push_uint(out, v);
}

/// Append the seconds from `first` to `ts` with six decimals, right-aligned in 11 columns
/// (`   0.000037`), worked out in whole nanoseconds so no floating point is involved.
#[inline]
pub(crate) fn push_seconds(out: &mut String, ts: Timestamp, first: Timestamp) {
    let ns = (ts.secs as i128 - first.secs as i128) * 1_000_000_000 + ts.nanos as i128
        - first.nanos as i128;
    let negative = ns < 0;
    let (secs, frac) = split_micros(ns.unsigned_abs());
    let digits = secs.checked_ilog10().unwrap_or(0) as usize + 1 + usize::from(negative);
    for _ in digits + 7..11 {
        out.push(' ');
    }
    if negative {
        out.push('-');
    }
    push_uint(out, secs);
    out.push('.');
    let frac_digits = frac.checked_ilog10().unwrap_or(0) as usize + 1;
    for _ in frac_digits..6 {
        out.push('0');
    }
    push_uint(out, frac);
}

/// Whole seconds and microseconds of `ns` nanoseconds, rounded to the nearest microsecond,
/// halves up. In 64 bits where the value fits (any capture shorter than 292 years): dividing
/// a 128-bit number is a slow library call, and this runs for every line.
fn split_micros(ns: u128) -> (u64, u64) {
    match u64::try_from(ns) {
        Ok(n) if n <= u64::MAX / 2 => {
            let us = (n + 500) / 1000;
            (us / 1_000_000, us % 1_000_000)
        }
        _ => {
            let us = (ns + 500) / 1000;
            ((us / 1_000_000) as u64, (us % 1_000_000) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::describe;
    use crate::dissect::dissect;
    use crate::dissect::model::{Frame, LinkType};

    #[test]
    fn push_uint_writes_decimal() {
        for v in [0, 7, 10, 99, 12345, u64::MAX] {
            let mut s = String::new();
            push_uint(&mut s, v);
            assert_eq!(s, v.to_string());
        }
    }

    proptest::proptest! {
        /// The hand-written number and address writers (digits pushed one by one) say what
        /// `format!` says, for any value.
        #[test]
        fn number_and_address_writers_agree_with_format(
            v in proptest::prelude::any::<u64>(),
            a in proptest::prelude::any::<[u8; 4]>(),
            b in proptest::prelude::any::<[u8; 16]>(),
        ) {
            let mut s = String::new();
            push_uint(&mut s, v);
            s.push(' ');
            crate::dissect::model::push_u64(&mut s, v);
            s.push(' ');
            push_ip(&mut s, IpAddr::from(a));
            s.push(' ');
            push_ip(&mut s, IpAddr::from(b));
            proptest::prop_assert_eq!(
                s,
                format!("{v} {v} {} {}", IpAddr::from(a), IpAddr::from(b))
            );
        }
    }

    proptest::proptest! {
        /// The 64-bit path of `split_micros` rounds as 128-bit arithmetic does.
        #[test]
        fn split_micros_agrees_with_128_bit_arithmetic(
            ns in proptest::prop_oneof![
                0u128..10_000_000_000,
                0u128..=u64::MAX as u128 + 1,
                0u128..=1 << 127,
            ],
        ) {
            let us = (ns + 500) / 1000;
            let want = ((us / 1_000_000) as u64, (us % 1_000_000) as u64);
            proptest::prop_assert_eq!(split_micros(ns), want);
        }
    }

    #[test]
    fn push_ip_writes_ipv4_as_std_does() {
        for a in [
            [0, 0, 0, 0],
            [10, 0, 88, 85],
            [255, 255, 255, 255],
            [192, 168, 100, 9],
        ] {
            let mut s = String::new();
            push_ip(&mut s, IpAddr::from(a));
            assert_eq!(s, IpAddr::from(a).to_string());
        }
    }

    #[test]
    fn push_seconds_matches_float_formatting() {
        let first = Timestamp {
            secs: 1_700_000_000,
            nanos: 999_999_000,
        };
        for (secs, nanos) in [
            (1_700_000_000, 999_999_000),
            (1_700_000_001, 36_000),
            (1_700_000_123, 456_789_000),
            (1_700_000_000, 0),
            (1_700_100_000, 1),
        ] {
            let ts = Timestamp { secs, nanos };
            let mut s = String::new();
            push_seconds(&mut s, ts, first);
            assert_eq!(s, format!("{:>11.6}", ts.since(first)), "{secs}.{nanos}");
        }
    }

    /// An ICMP error quotes the packet it is about; the line describes the error, with the
    /// error's own addresses and no ports (the quoted UDP header's are not this packet's), and
    /// then the quoted packet, marked as quoted, with its own addresses and ports.
    #[test]
    fn icmp_error_is_described_not_the_quoted_packet() {
        // Ethernet, IPv4 192.0.2.254 → 192.0.2.1 (ICMP), Time Exceeded quoting a UDP probe.
        let mut f: Vec<u8> = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00];
        let quoted_ip = [
            0x45, 0, 0, 35, 0, 1, 0, 0, 1, 17, 0, 0, 192, 0, 2, 1, 203, 0, 113, 2,
        ];
        let quoted_udp = [0xb9, 0x2c, 0x82, 0x9a, 0, 15, 0, 0];
        let icmp_len = 8 + quoted_ip.len() + quoted_udp.len();
        let total = (20 + icmp_len) as u16;
        f.extend_from_slice(&[
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            2,
            0,
            0,
            64,
            1,
            0,
            0,
        ]);
        f.extend_from_slice(&[192, 0, 2, 254, 192, 0, 2, 1]);
        f.extend_from_slice(&[11, 0, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&quoted_ip);
        f.extend_from_slice(&quoted_udp);
        let d = dissect(&Frame {
            number: 1,
            ts: None,
            link: LinkType::ETHERNET,
            wire_len: f.len() as u32,
            data: &f,
        });
        let mut s = String::new();
        line(&d, Timestamp::default(), false, &mut s);
        let (own, quoted) = s
            .split_once("; quoted: ")
            .expect("the quoted packet is marked");
        assert!(
            own.contains("192.0.2.254 → 192.0.2.1  ICMP  Time exceeded"),
            "{s}"
        );
        assert!(!own.contains("33434") && !own.contains("UDP"), "{s}");
        // (Then the problems: this hand-made frame's checksums are left zero.)
        assert!(
            quoted.starts_with("UDP 192.0.2.1:47404 → 203.0.113.2:33434  ["),
            "{s}"
        );
    }

    /// Every packet of the corpus (tests/corpus): the summary's own TCP and UDP descriptions say
    /// exactly what `describe` says after the ports.
    #[test]
    fn fast_paths_agree_with_describe() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/pcaps");
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
            panic!(
                "the corpus is part of the repository: {}: {e}",
                dir.display()
            )
        });
        let mut checked = 0;
        for e in entries.flatten() {
            let Ok(frames) = crate::source::file::read_all(&e.path()) else {
                continue;
            };
            for f in &frames {
                let d = dissect(&f.as_frame());
                for li in 0..d.layers.len() {
                    let mut fast = String::new();
                    let tcp = d.tcp.iter().find(|t| t.layer as usize == li);
                    let udp = d.udp.iter().find(|u| u.layer as usize == li);
                    let prefix = match (tcp, udp) {
                        (Some(t), _) => {
                            tcp_info(t, false, &mut fast);
                            "TCP"
                        }
                        (_, Some(u)) => {
                            udp_info(u, &mut fast);
                            "UDP"
                        }
                        // A header cut short has no typed view: the summary describes it.
                        _ => continue,
                    };
                    let slow = describe(&d, &d.layers[li]);
                    let rest = slow.strip_prefix(prefix).expect("starts with its name");
                    // Drop " src → dst" (which may be "?" when a port is missing).
                    let mut parts = rest.trim_start().splitn(4, ' ');
                    let (_src, _arrow, _dst) = (parts.next(), parts.next(), parts.next());
                    let info = parts.next().unwrap_or("");
                    assert_eq!(
                        fast.trim_end(),
                        info,
                        "{}: frame {}",
                        e.path().display(),
                        f.number
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 100, "only {checked} layers checked");
    }

    #[test]
    fn ipv4_top_layer_does_not_repeat_the_addresses() {
        // An IPv4 header carrying protocol 253 (for experiments): nothing above IP.
        let mut bytes = vec![0u8; 14];
        bytes[12] = 0x08;
        bytes.extend_from_slice(&[
            0x45, 0, 0, 20, 0, 1, 0, 0, 64, 253, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ]);
        let sum = crate::dissect::checksum::internet_checksum(&[&bytes[14..34]]);
        bytes[24..26].copy_from_slice(&sum.to_be_bytes());
        let frame = Frame {
            number: 1,
            ts: Some(Timestamp::default()),
            link: LinkType::ETHERNET,
            wire_len: bytes.len() as u32,
            data: &bytes,
        };
        let d = dissect(&frame);
        let mut s = String::new();
        line(&d, Timestamp::default(), false, &mut s);
        assert!(s.contains("10.0.0.1 → 10.0.0.2  IPv4  ttl 64"), "{s}");
    }
}
