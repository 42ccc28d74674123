//! UDP, the User Datagram Protocol (RFC 768).
//!
//! # The idea
//!
//! UDP adds almost nothing to IP: two port numbers, so the datagram reaches the right program,
//! a length and a checksum. There is no connection, no handshake, no retransmission and no
//! ordering. Each `send` becomes one datagram and each `recv` returns exactly one, so message
//! boundaries survive, unlike TCP's byte stream. What is lost stays lost, unless the
//! application notices and asks again. DNS, video calls and games use UDP because a late
//! answer is often worth less than a fast one.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |            Length             |           Checksum            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                          data octets …
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-
//! ```

use super::checksum::transport_checksum;
use super::cx::{Cx, Next};
use super::fields::{FieldDef, Fmt};
use super::model::{Dissection, Layer, ProblemKind, Proto};

pub const HEADER_LEN: usize = 8;

/// One UDP header, read once during dissection: the diagram above as a Rust value, kept in
/// the [`Dissection`]'s `udp` list for the stream analysis and the views.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UdpDatagram {
    /// Which layer of the dissection this header is (an index into its `layers`).
    pub layer: u16,
    pub src_port: u16,
    pub dst_port: u16,
    /// Length, as written: header and data (`udp.length`).
    pub length: u16,
    /// The copy an ICMP error quotes, not a datagram of its own.
    pub quoted: bool,
    /// `udp.stream`, once the stream tracker numbered the conversation.
    pub stream: Option<u32>,
}

impl UdpDatagram {
    /// How many data bytes the header says follow it.
    pub fn data_len(&self) -> u16 {
        self.length.saturating_sub(HEADER_LEN as u16)
    }
}

pub const FIELDS: &[FieldDef] = &[
    FieldDef::new(
        "udp.srcport",
        "Source port",
        0,
        2,
        Fmt::Dec,
        "The port of the program that sent the datagram (where a reply should go).",
    ),
    FieldDef::new(
        "udp.dstport",
        "Destination port",
        2,
        2,
        Fmt::Dec,
        "The port of the program the datagram is for (53 is DNS).",
    ),
    FieldDef::new(
        "udp.length",
        "Length",
        4,
        2,
        Fmt::Dec,
        "Length of the datagram in bytes, the 8-byte header included.",
    ),
    FieldDef::new(
        "udp.checksum",
        "Checksum",
        6,
        2,
        Fmt::Hex,
        "A checksum over header, data and the IP addresses; 0 over IPv4 means the sender did not compute one, which IPv6 does not allow (RFC 8200 §8.1).",
    ),
];

pub fn dissect(cx: &mut Cx, at: usize, end: usize) -> Next {
    cx.begin(Proto::Udp, at);
    if cx.read_all_within(FIELDS, at, end) < FIELDS.len() {
        cx.fits("A UDP header", at, HEADER_LEN, end);
        return Next::Done;
    }
    let src = cx.u16_at(at).unwrap_or(0);
    let dst = cx.u16_at(at + 2).unwrap_or(0);
    let len = cx.u16_at(at + 4).unwrap_or(0) as usize;
    let stored = cx.u16_at(at + 6).unwrap_or(0);
    cx.d.udp.push(UdpDatagram {
        layer: (cx.d.layers.len() - 1) as u16,
        src_port: src,
        dst_port: dst,
        length: len as u16,
        quoted: cx.in_error,
        stream: None,
    });
    if len < HEADER_LEN {
        cx.problem(
            ProblemKind::Malformed,
            at + 4,
            format!("the length must be at least 8 (the header alone), but it is {len}"),
        );
        return Next::Done;
    }
    let datagram_end = at + len;
    if datagram_end > end && !cx.quoted && !cx.fragment {
        cx.problem(
            ProblemKind::Malformed,
            at + 4,
            format!(
                "the length says {len} bytes, but the IP packet has room for only {}",
                end.saturating_sub(at)
            ),
        );
    }
    let end = datagram_end.min(end);
    if !cx.quoted && !cx.fragment {
        verify_checksum(cx, at, end, stored);
    }
    Next::Ports {
        transport: Proto::Udp,
        src,
        dst,
        at: at + HEADER_LEN,
        end,
    }
}

fn verify_checksum(cx: &mut Cx, at: usize, end: usize, stored: u16) {
    let Some(ip) = cx.ip else { return };
    let Some(datagram) = cx.bytes(at, end.saturating_sub(at)) else {
        return;
    };
    if datagram.len() < HEADER_LEN {
        return;
    }
    let idx = cx.d.fields.len() - 1;
    if stored == 0 && matches!(ip, super::cx::IpPair::V4 { .. }) {
        cx.d.fields[idx].meaning = "not computed".into();
        return;
    }
    let sum = transport_checksum(&ip, 17, datagram);
    if sum == 0 {
        cx.d.fields[idx].meaning = "correct".into();
    } else if super::checksum::is_offload_placeholder(&ip, 17, datagram.len(), stored) {
        cx.d.fields[idx].meaning = super::checksum::OFFLOAD_MEANING.into();
    } else {
        let mut copy = datagram.to_vec();
        copy[6] = 0;
        copy[7] = 0;
        let want = transport_checksum(&ip, 17, &copy);
        cx.d.fields[idx].meaning = "wrong".into();
        cx.problem(
            ProblemKind::BadChecksum,
            at + 6,
            format!("UDP checksum is 0x{stored:04x}, but the datagram and pseudo-header add up to 0x{want:04x}"),
        );
    }
}

pub fn describe(d: &Dissection, layer: &Layer) -> String {
    let num = |n| d.layer_field(layer, n).and_then(|f| f.value.as_u64());
    format!(
        "UDP {} → {} len={}",
        num("udp.srcport").map_or("?".into(), |v| v.to_string()),
        num("udp.dstport").map_or("?".into(), |v| v.to_string()),
        num("udp.length").map_or("?".into(), |v| v.saturating_sub(8).to_string()),
    )
}
