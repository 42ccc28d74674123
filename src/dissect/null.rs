//! BSD loopback (LINKTYPE_NULL, 0): the header a BSD system or macOS puts on packets captured
//! on its loopback interface `lo0`.
//!
//! # The idea
//!
//! A packet sent to yourself (to 127.0.0.1 or ::1) never touches a network card, so it has no
//! Ethernet header: there are no MAC addresses to write. The loopback driver still has to say
//! what kind of packet it is, so it puts four bytes in front: the *address family*, the same
//! `AF_` number a program passes to `socket()` (`AF_INET` for IPv4, `AF_INET6` for IPv6).
//!
//! Two quirks make this header a small lesson in portability:
//!
//! * The number is written in the byte order of the machine that captured it, not in network
//!   byte order. A capture from a little-endian laptop has `02 00 00 00` for IPv4, one from a
//!   big-endian machine `00 00 00 02`. A reader tries both: a real family number is small, so
//!   only one of the two readings makes sense.
//! * `AF_INET` is 2 everywhere, but `AF_INET6` is not one number: 24 on NetBSD and OpenBSD, 28
//!   on FreeBSD, 30 on macOS (and 10 on Linux, which does not use this header).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      Address family (in the capturing host's byte order)      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  IPv4 or IPv6 packet …
//! ```
//!
//! See <https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html>.

use super::cx::{Cx, Next};
use super::ethernet::ethertype_name;
use super::model::{Dissection, Field, Layer, Proto, Value};

pub const HEADER_LEN: usize = 4;

/// The one field of the header. Its value depends on the byte order, so it is built by
/// [`dissect`] rather than read straight from a table.
pub const FAMILY_NAME: &str = "null.family";
const FAMILY_EXPLAIN: &str = "The address family of the packet (the AF_ number a program gives socket()): 2 is IPv4; 24, 28 or 30 is IPv6, depending on the operating system. Written in the capturing machine's byte order.";
const TYPE_EXPLAIN: &str =
    "Some old systems put an EtherType here instead of an address family; this one did.";

/// What an address family number means.
pub fn family_name(af: u32) -> &'static str {
    match af {
        2 => "IPv4 (AF_INET)",
        7 => "OSI",
        16 => "AppleTalk",
        23 => "IPX",
        24 => "IPv6 (AF_INET6 on NetBSD and OpenBSD)",
        28 => "IPv6 (AF_INET6 on FreeBSD)",
        30 => "IPv6 (AF_INET6 on macOS)",
        _ => "",
    }
}

/// Work out the family from the four bytes, whichever byte order they were written in.
///
/// Read as little-endian first (most machines are). A family number is small, so if the
/// upper half is not zero, the bytes must have been written the other way round, by a
/// big-endian machine. (Values above 1500 are EtherTypes, not families: a few systems wrote
/// those instead.)
pub fn family(bytes: [u8; 4]) -> u32 {
    let le = u32::from_le_bytes(bytes);
    if le & 0xffff_0000 == 0 {
        le
    } else {
        u32::from_be_bytes(bytes)
    }
}

pub fn dissect(cx: &mut Cx, at: usize, end: usize) -> Next {
    cx.begin(Proto::Null, at);
    let Some(b) = cx.bytes(at, HEADER_LEN) else {
        cx.truncated("A BSD loopback header", at, HEADER_LEN);
        return Next::Done;
    };
    let af = family([b[0], b[1], b[2], b[3]]);
    let payload = at + HEADER_LEN;
    if af > 1500 {
        // An EtherType, as some systems wrote.
        cx.push(field(
            "null.type",
            "Type",
            at,
            Value::Hex {
                value: af as u64,
                digits: 4,
            },
            TYPE_EXPLAIN,
        ));
        cx.meaning(ethertype_name(af as u16));
        return Next::EtherType {
            ty: af as u16,
            at: payload,
            end,
        };
    }
    cx.push(field(
        FAMILY_NAME,
        "Family",
        at,
        Value::Uint(af as u64),
        FAMILY_EXPLAIN,
    ));
    cx.meaning(family_name(af));
    match af {
        2 | 24 | 28 | 30 => Next::Ip { at: payload, end },
        _ => Next::Data { at: payload, end },
    }
}

fn field(
    name: &'static str,
    label: &'static str,
    at: usize,
    value: Value,
    explain: &'static str,
) -> Field {
    Field {
        name,
        label,
        value,
        meaning: "".into(),
        at: at as u32,
        len: HEADER_LEN as u32,
        mask: 0,
        depth: 0,
        explain,
    }
}

pub fn describe(d: &Dissection, layer: &Layer) -> String {
    let f = d
        .layer_field(layer, FAMILY_NAME)
        .or_else(|| d.layer_field(layer, "null.type"));
    match f {
        Some(f) => format!("BSD loopback, family {}", f.display(&d.data)),
        None => "BSD loopback".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_in_either_byte_order() {
        assert_eq!(family([2, 0, 0, 0]), 2);
        assert_eq!(family([0, 0, 0, 2]), 2);
        assert_eq!(family([30, 0, 0, 0]), 30);
        assert_eq!(family([0, 0, 0, 28]), 28);
    }

    #[test]
    fn ipv6_on_macos_loopback() {
        let mut b = vec![30, 0, 0, 0, 0x60, 0, 0, 0, 0, 0, 59, 64];
        b.extend_from_slice(&[0; 32]);
        let d = crate::dissect::dissect(&crate::dissect::Frame {
            number: 1,
            ts: None,
            link: crate::dissect::LinkType::NULL,
            wire_len: b.len() as u32,
            data: &b,
        });
        assert_eq!(d.uint("null.family"), Some(30));
        assert!(d.has(Proto::Ipv6));
    }
}
