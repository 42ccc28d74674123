//! Ethernet II (DIX), the frame format of nearly every wired and Wi-Fi LAN as the computer sees it.
//!
//! # The idea
//!
//! Ethernet moves a frame from one network card to another on the same link. Each card has a
//! 48-bit *MAC address* burned in (or chosen by software); the header says which card the frame
//! is for and which sent it, and an *EtherType* naming what the frame carries. A switch reads
//! only this header. The preamble, start delimiter and the 4-byte CRC at the end are usually
//! gone before software sees the frame, so captures do not contain them.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  Destination MAC address                      |
//! +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                               |                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//! |                    Source MAC address                         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |      EtherType / Length       |  payload …
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! A value of 1500 or less in the last field is not an EtherType but the length of an IEEE
//! 802.3 frame, whose payload starts with an 802.2 LLC header (see [`super::llc`]).

use super::cx::{Cx, Next};
use super::fields::{FieldDef, Fmt};
use super::model::{Dissection, Layer, Proto};

pub const HEADER_LEN: usize = 14;

pub const DST: FieldDef = FieldDef::new(
    "eth.dst",
    "Destination",
    0,
    6,
    Fmt::Mac,
    "The MAC address of the network card this frame is for; ff:ff:ff:ff:ff:ff means every card on the link.",
);
pub const SRC: FieldDef = FieldDef::new(
    "eth.src",
    "Source",
    6,
    6,
    Fmt::Mac,
    "The MAC address of the network card that sent the frame.",
);
pub const TYPE: FieldDef = FieldDef::new(
    "eth.type",
    "EtherType",
    12,
    2,
    Fmt::Hex,
    "Names the protocol inside the frame, so the receiver knows which part of its network stack to hand it to.",
);
pub const LEN: FieldDef = FieldDef::new(
    "eth.len",
    "Length",
    12,
    2,
    Fmt::Dec,
    "In an IEEE 802.3 frame this field is the payload's length, and an LLC header says what the payload is.",
);

/// What an EtherType value names.
pub fn ethertype_name(ty: u16) -> &'static str {
    match ty {
        0x0800 => "IPv4",
        0x0806 => "ARP",
        0x8035 => "RARP",
        0x86dd => "IPv6",
        0x8100 => "802.1Q VLAN tag",
        0x88a8 => "802.1ad outer VLAN tag",
        0x9100 => "VLAN tag (QinQ)",
        0x8847 => "MPLS",
        0x88cc => "LLDP",
        0x888e => "802.1X",
        0x8863 | 0x8864 => "PPPoE",
        _ => "",
    }
}

pub fn dissect(cx: &mut Cx, at: usize, end: usize) -> Next {
    cx.begin(Proto::Ethernet, at);
    // For the one-line summary alone (lean), a whole header carrying IPv4 or IPv6 is not
    // recorded field by field: the summary shows the IP addresses, never these.
    if cx.lean
        && cx.bytes(at, HEADER_LEN).is_some()
        && let Some(ty @ (0x0800 | 0x86dd)) = cx.u16_at(at + 12)
    {
        cx.set_len(HEADER_LEN);
        return Next::EtherType {
            ty,
            at: at + HEADER_LEN,
            end,
        };
    }
    cx.read(&DST, at);
    cx.read(&SRC, at);
    let Some(ty) = cx.u16_at(at + 12) else {
        cx.truncated("An Ethernet header", at, HEADER_LEN);
        return Next::Done;
    };
    if ty <= 1500 {
        cx.read(&LEN, at);
        cx.meaning("802.3 frame: the payload length");
        // The payload ends where the length field says (any bytes after it are padding).
        let payload_end = (at + HEADER_LEN + ty as usize).min(end);
        return super::llc::dissect(cx, at + HEADER_LEN, payload_end);
    }
    cx.read(&TYPE, at);
    cx.meaning(ethertype_name(ty));
    Next::EtherType {
        ty,
        at: at + HEADER_LEN,
        end,
    }
}

pub fn describe(d: &Dissection, layer: &Layer) -> String {
    let get = |n| {
        d.layer_field(layer, n)
            .map(|f| f.display(&d.data))
            .unwrap_or_else(|| "?".into())
    };
    format!(
        "Ethernet II, {} → {}, type {}",
        get("eth.src"),
        get("eth.dst"),
        {
            match d.layer_field(layer, "eth.type") {
                Some(f) => f.display(&d.data),
                None => format!(
                    "802.3, length {}",
                    d.layer_field(layer, "eth.len")
                        .map(|f| f.tshark(&d.data))
                        .unwrap_or_else(|| "?".into())
                ),
            }
        }
    )
}
