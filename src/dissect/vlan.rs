//! IEEE 802.1Q VLAN tags, and the 802.1ad "Q-in-Q" service tags stacked in front of them.
//!
//! # The idea
//!
//! One physical switch can carry several separate networks, *virtual LANs*, as if each had
//! its own switch and cables. A frame says which VLAN it belongs to with a 4-byte *tag*
//! slipped in between the MAC addresses and the EtherType. The Ethernet header's EtherType is
//! then 0x8100 ("a tag follows"), and the tag ends with the EtherType the frame would have had
//! without it. A switch adds the tag when a frame enters a *trunk* link that carries many
//! VLANs and removes it before delivering the frame to an ordinary port, so most computers
//! never see one.
//!
//! The tag holds a 12-bit *VLAN ID* (1 to 4094; 0 means "no VLAN, just a priority"), a 3-bit
//! *priority* that switches use to send urgent traffic (voice, say) first, and the *DEI* bit
//! marking frames that may be dropped first when the link is congested.
//!
//! A provider that carries its customers' VLANs across its own network adds a tag of its own
//! in front: the 802.1ad *service tag*, EtherType 0x88a8, with the customer's 802.1Q tag inside
//! it. Tags can stack like this several deep.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | PCP |D|        VLAN ID        |   EtherType (or length)       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  PCP: priority code point, D: drop eligible indicator
//! ```
//!
//! The EtherType 0x8100 (or 0x88a8) that announces the tag is the Ethernet header's own type
//! field, just before this diagram.

use super::cx::{Cx, Next};
use super::ethernet::ethertype_name;
use super::fields::{FieldDef, Fmt};
use super::model::{Dissection, Layer, Proto};
use std::fmt::Write as _;

pub const TAG_LEN: usize = 4;

const PCP_EXPLAIN: &str = "Priority code point: 0 to 7, how urgently switches should forward the frame (1 is the lowest, 0 ordinary best effort, 7 the highest).";
const DEI_EXPLAIN: &str =
    "Drop eligible indicator: if set, switches may drop this frame first when a link is congested.";
const ID_EXPLAIN: &str = "Which virtual LAN the frame belongs to (1–4094); 0 means the tag carries only a priority, no VLAN.";

/// An 802.1Q customer tag (EtherType 0x8100, or the older Q-in-Q value 0x9100).
pub const FIELDS: &[FieldDef] = &[
    FieldDef::bits(
        "vlan.priority",
        "Priority",
        0,
        2,
        0xe000,
        Fmt::Dec,
        PCP_EXPLAIN,
    ),
    FieldDef::bits("vlan.dei", "DEI", 0, 2, 0x1000, Fmt::Bool, DEI_EXPLAIN),
    FieldDef::bits("vlan.id", "VLAN ID", 0, 2, 0x0fff, Fmt::Dec, ID_EXPLAIN),
    FieldDef::new(
        "vlan.etype",
        "Type",
        2,
        2,
        Fmt::Hex,
        "The EtherType of what follows the tag, as an untagged frame would have it in its Ethernet header.",
    ),
];

/// The same tag as an 802.1ad service tag (EtherType 0x88a8). Wireshark files these under
/// `ieee8021ad`, and the type field under `ieee8021ah`.
pub const AD_FIELDS: &[FieldDef] = &[
    FieldDef::bits(
        "ieee8021ad.priority",
        "Priority",
        0,
        2,
        0xe000,
        Fmt::Dec,
        PCP_EXPLAIN,
    ),
    FieldDef::bits(
        "ieee8021ad.dei",
        "DEI",
        0,
        2,
        0x1000,
        Fmt::Bool,
        DEI_EXPLAIN,
    ),
    FieldDef::bits(
        "ieee8021ad.id",
        "Service VLAN ID",
        0,
        2,
        0x0fff,
        Fmt::Dec,
        "Which of the provider's virtual LANs carries the frame (the customer's own VLAN tag follows inside).",
    ),
    FieldDef::new(
        "ieee8021ah.etype",
        "Type",
        2,
        2,
        Fmt::Hex,
        "The EtherType of what follows: usually 0x8100, the customer's own 802.1Q tag.",
    ),
];

/// The type field read as a length (an 802.3 frame inside the tag, with an LLC header).
const LEN: FieldDef = FieldDef::new(
    "vlan.len",
    "Length",
    2,
    2,
    Fmt::Dec,
    "A value of 1500 or less here is not an EtherType but the length of an 802.3 payload that starts with an LLC header.",
);

/// What a priority code point is used for (IEEE 802.1Q table I-2).
pub fn priority_name(p: u64) -> &'static str {
    match p {
        0 => "best effort (default)",
        1 => "background",
        2 => "excellent effort",
        3 => "critical applications",
        4 => "video",
        5 => "voice",
        6 => "internetwork control",
        7 => "network control",
        _ => "",
    }
}

/// Dissect one tag. `tpid` is the EtherType that announced it (0x8100, 0x88a8 or 0x9100).
pub fn dissect(cx: &mut Cx, tpid: u16, at: usize, end: usize) -> Next {
    cx.begin(Proto::Vlan, at);
    let table = if tpid == 0x88a8 { AD_FIELDS } else { FIELDS };
    // The tag control fields are the first two bytes; the type may be a length.
    let n = cx.read_all(&table[..3], at);
    if let Some(i) = cx.field_index(table[0].name) {
        let p = cx.d.fields[i].value.as_u64().unwrap_or(0);
        cx.d.fields[i].meaning = priority_name(p).into();
    }
    let Some(ty) = cx.u16_at(at + 2).filter(|_| n == 3) else {
        cx.truncated("A VLAN tag", at, TAG_LEN);
        return Next::Done;
    };
    if ty <= 1500 && tpid != 0x88a8 {
        cx.read(&LEN, at);
        let payload_end = (at + TAG_LEN + ty as usize).min(end);
        return super::llc::dissect(cx, at + TAG_LEN, payload_end);
    }
    cx.read(&table[3], at);
    cx.meaning(ethertype_name(ty));
    Next::EtherType {
        ty,
        at: at + TAG_LEN,
        end,
    }
}

pub fn describe(d: &Dissection, layer: &Layer) -> String {
    let get = |n| d.layer_field(layer, n).and_then(|f| f.value.as_u64());
    let (kind, id, pri, ty) = if d.layer_field(layer, "ieee8021ad.id").is_some() {
        (
            "802.1ad service tag",
            "ieee8021ad.id",
            "ieee8021ad.priority",
            "ieee8021ah.etype",
        )
    } else {
        ("802.1Q VLAN tag", "vlan.id", "vlan.priority", "vlan.etype")
    };
    let mut s = kind.to_string();
    if let Some(v) = get(id) {
        let _ = write!(s, ", VLAN {v}");
    }
    if let Some(p) = get(pri) {
        let _ = write!(s, ", priority {p}");
    }
    if let Some(f) = d.layer_field(layer, ty) {
        let _ = write!(s, ", type {}", f.display(&d.data));
    } else if let Some(l) = get("vlan.len") {
        let _ = write!(s, ", 802.3 length {l}");
    }
    s
}

#[cfg(test)]
mod tests {
    use crate::dissect::{Frame, LinkType, dissect};

    #[test]
    fn stacked_tags_list_outer_first() {
        let mut b = vec![0xff; 6];
        b.extend_from_slice(&[0, 1, 2, 3, 4, 5, 0x88, 0xa8]);
        b.extend_from_slice(&[0x30, 0x0a, 0x81, 0x00]); // S-tag: priority 1, DEI, VLAN 10
        b.extend_from_slice(&[0xa0, 0x14, 0x08, 0x06]); // C-tag: priority 5, VLAN 20, ARP
        b.extend_from_slice(&[0; 28]);
        let d = dissect(&Frame {
            number: 1,
            ts: None,
            link: LinkType::ETHERNET,
            wire_len: b.len() as u32,
            data: &b,
        });
        assert_eq!(d.uint("ieee8021ad.id"), Some(10));
        assert_eq!(d.uint("ieee8021ad.dei"), Some(1));
        assert_eq!(d.uint("vlan.id"), Some(20));
        assert_eq!(d.uint("vlan.priority"), Some(5));
        assert_eq!(d.field("vlan.etype").unwrap().tshark(&d.data), "0x0806");
        assert!(d.has(crate::dissect::Proto::Arp));
    }
}
