//! IEEE 802.2 Logical Link Control (LLC), and the SNAP extension that carries EtherTypes in it.
//!
//! # The idea
//!
//! There are two kinds of Ethernet frame. Ethernet II (DIX), which nearly everything uses, puts
//! an EtherType after the MAC addresses to name the payload. The IEEE's 802.3 puts the
//! payload's *length* there instead (any value up to 1500), and names the payload with a
//! separate 802.2 LLC header at the start of the payload: a *destination service access
//! point* (DSAP) and a *source* one (SSAP), each one byte naming a protocol, and a *control*
//! field.
//!
//! One byte was too few to name every protocol, so a SAP value of 0xAA means "SNAP follows":
//! a *SubNetwork Access Protocol* header of five more bytes, a 3-byte organisation code (OUI)
//! and a 2-byte protocol ID. With OUI 00-00-00, the protocol ID is simply an EtherType, which
//! is how an 802.3 frame can carry IPv4 or ARP exactly as Ethernet II does. You meet LLC in
//! Wi-Fi (every 802.11 data frame carries LLC/SNAP), in spanning tree (SAP 0x42) and in older
//! equipment.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     DSAP    |I|     SSAP    |C|    Control    |  OUI …        |   I: individual/group
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   C: command/response
//! |   … OUI (SNAP only)           |   Protocol ID / EtherType     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The control field is one byte for *unnumbered* frames (its two low bits are 11), which is
//! all SNAP uses, and two bytes for the numbered information and supervisory frames of LLC's
//! connection-oriented mode.

use super::cx::{Cx, Next};
use super::ethernet::ethertype_name;
use super::fields::{FieldDef, Fmt};
use super::model::{Dissection, Layer, Proto, Value};
use std::fmt::Write as _;

/// DSAP, SSAP and a one-byte control field.
pub const MIN_LEN: usize = 3;
/// The SNAP header after the LLC header: OUI and protocol ID.
pub const SNAP_LEN: usize = 5;

/// The two service access points, in diagram order.
pub const FIELDS: &[FieldDef] = &[
    FieldDef::new(
        "llc.dsap",
        "DSAP",
        0,
        1,
        Fmt::Hex,
        "Destination service access point: which protocol on the receiver the frame is for (0xaa: a SNAP header follows).",
    ),
    FieldDef::bits(
        "llc.dsap.sap",
        "SAP",
        0,
        1,
        0xfe,
        Fmt::Dec,
        "The access point number itself: the top seven bits.",
    )
    .sub(),
    FieldDef::bits(
        "llc.dsap.ig",
        "IG bit",
        0,
        1,
        0x01,
        Fmt::Bool,
        "Set if the destination is a group of access points rather than one.",
    )
    .sub(),
    FieldDef::new(
        "llc.ssap",
        "SSAP",
        1,
        1,
        Fmt::Hex,
        "Source service access point: which protocol on the sender sent it.",
    ),
    FieldDef::bits(
        "llc.ssap.sap",
        "SAP",
        1,
        1,
        0xfe,
        Fmt::Dec,
        "The access point number itself: the top seven bits.",
    )
    .sub(),
    FieldDef::bits(
        "llc.ssap.cr",
        "CR bit",
        1,
        1,
        0x01,
        Fmt::Bool,
        "Set in a response, clear in a command.",
    )
    .sub(),
];

/// A one-byte (unnumbered) control field.
pub const CONTROL_U: &[FieldDef] = &[
    FieldDef::bits(
        "llc.control.u_modifier_cmd",
        "Command",
        2,
        1,
        0xec,
        Fmt::Hex,
        "Which unnumbered command this is; 0 is UI, unnumbered information, a plain datagram.",
    )
    .sub(),
    FieldDef::bits(
        "llc.control.ftype",
        "Frame type",
        2,
        1,
        0x03,
        Fmt::Hex,
        "The low bits of the control field: 3 means an unnumbered frame (a one-byte control field).",
    )
    .sub(),
];

/// A two-byte control field (information and supervisory frames).
pub const CONTROL_IS: &[FieldDef] = &[
    FieldDef::bits(
        "llc.control.n_s",
        "N(S)",
        2,
        2,
        0xfe00,
        Fmt::Dec,
        "Send sequence number of an information frame.",
    )
    .sub(),
    FieldDef::bits(
        "llc.control.ftype",
        "Frame type",
        2,
        2,
        0x0100,
        Fmt::Hex,
        "0 in the lowest bit: an information frame; bits 01: a supervisory frame.",
    )
    .sub(),
    FieldDef::bits(
        "llc.control.n_r",
        "N(R)",
        2,
        2,
        0x00fe,
        Fmt::Dec,
        "Receive sequence number: the next frame the sender expects.",
    )
    .sub(),
    FieldDef::bits(
        "llc.control.p",
        "Poll",
        2,
        2,
        0x0001,
        Fmt::Bool,
        "Asks the other side to answer now.",
    )
    .sub(),
];

/// The SNAP header, after a one-byte control field.
pub const SNAP_OUI: FieldDef = FieldDef::new(
    "llc.oui",
    "Organization code",
    3,
    3,
    Fmt::Dec,
    "Who defined the protocol ID that follows; 00-00-00 means it is an ordinary EtherType.",
);
pub const SNAP_TYPE: FieldDef = FieldDef::new(
    "llc.type",
    "Type",
    6,
    2,
    Fmt::Hex,
    "The EtherType of the payload, exactly as an Ethernet II header would give it.",
);
pub const SNAP_PID: FieldDef = FieldDef::new(
    "llc.pid",
    "Protocol ID",
    6,
    2,
    Fmt::Hex,
    "A protocol number defined by the organisation named by the OUI.",
);

/// What a service access point number means (the well-known ones).
pub fn sap_name(sap: u8) -> &'static str {
    match sap & 0xfe {
        0x00 => "null SAP",
        0x02 => "LLC sublayer management",
        0x06 => "IP (DoD Internet Protocol)",
        0x42 => "spanning tree (BPDU)",
        0x98 => "ARP",
        0xaa => "SNAP",
        0xe0 => "NetWare (IPX)",
        0xf0 => "NetBIOS",
        0xfe => "ISO network layer",
        _ => "",
    }
}

/// Dissect an LLC header starting at `at`, inside a payload that ends at `end`.
pub fn dissect(cx: &mut Cx, at: usize, end: usize) -> Next {
    cx.begin(Proto::Llc, at);
    if cx.read_all_within(FIELDS, at, end) < FIELDS.len() {
        cx.fits("An LLC header", at, MIN_LEN, end);
        return Next::Done;
    }
    let dsap = cx.u8_at(at).unwrap_or(0);
    let ssap = cx.u8_at(at + 1).unwrap_or(0);
    cx.set_meaning("llc.dsap", sap_name(dsap));
    cx.set_meaning("llc.ssap", sap_name(ssap));
    let Some(c0) = cx.u8_at(at + 2).filter(|_| at + MIN_LEN <= end) else {
        cx.fits("An LLC header", at, MIN_LEN, end);
        return Next::Done;
    };
    let control_len = if c0 & 0x03 == 0x03 { 1 } else { 2 };
    if !cx.fits("An LLC control field", at + 2, control_len, end) {
        return Next::Done;
    }
    let control = if control_len == 1 {
        c0 as u64
    } else {
        cx.u16_at(at + 2).unwrap_or(0) as u64
    };
    cx.add(
        "llc.control",
        "Control",
        at + 2,
        control_len,
        Value::Hex {
            value: control,
            digits: 4,
        },
        "What kind of LLC frame this is; 0x03 (UI, unnumbered information) is a plain datagram, the only kind most traffic uses.",
    );
    cx.meaning(match (control_len, control) {
        (1, 0x03) => "unnumbered information (UI)",
        (1, _) => "unnumbered frame",
        (_, c) if c & 0x0100 == 0 => "information frame",
        _ => "supervisory frame",
    });
    let sub = if control_len == 1 {
        CONTROL_U
    } else {
        CONTROL_IS
    };
    cx.read_all(sub, at);
    let hdr = at + 2 + control_len;

    let snap = dsap & 0xfe == 0xaa && ssap & 0xfe == 0xaa && control_len == 1;
    if !snap {
        cx.set_len(hdr - at);
        return Next::Data { at: hdr, end };
    }
    if !cx.fits("A SNAP header", hdr, SNAP_LEN, end) {
        return Next::Done;
    }
    let oui = cx.read(&SNAP_OUI, at).unwrap_or(0);
    cx.meaning(match oui {
        0 => "encapsulated Ethernet",
        0x0000f8 => "Cisco 802.1H bridge tunnel",
        0x00000c => "Cisco",
        0x080007 => "Apple",
        _ => "",
    });
    let pid = cx.u16_at(hdr + 3).unwrap_or(0);
    cx.set_len(MIN_LEN + SNAP_LEN);
    if oui == 0 || oui == 0x0000f8 {
        cx.read(&SNAP_TYPE, at);
        cx.meaning(ethertype_name(pid));
        Next::EtherType {
            ty: pid,
            at: hdr + SNAP_LEN,
            end,
        }
    } else {
        cx.read(&SNAP_PID, at);
        Next::Data {
            at: hdr + SNAP_LEN,
            end,
        }
    }
}

pub fn describe(d: &Dissection, layer: &Layer) -> String {
    let get = |n| d.layer_field(layer, n).map(|f| f.display(&d.data));
    let mut s = "LLC".to_string();
    if let (Some(ds), Some(ss)) = (get("llc.dsap"), get("llc.ssap")) {
        let _ = write!(s, ", DSAP {ds}, SSAP {ss}");
    }
    if let Some(t) = get("llc.type") {
        let _ = write!(s, ", SNAP type {t}");
    } else if let Some(p) = get("llc.pid") {
        let _ = write!(s, ", SNAP protocol {p}");
    }
    s
}

#[cfg(test)]
mod tests {
    use crate::dissect::{Frame, LinkType, Proto, dissect};

    #[test]
    fn snap_carries_an_ethertype() {
        let mut b = vec![0xff; 6];
        b.extend_from_slice(&[0, 1, 2, 3, 4, 5, 0, 36]); // 802.3 length 36
        b.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x06]);
        b.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        b.extend_from_slice(&[0; 20]);
        let d = dissect(&Frame {
            number: 1,
            ts: None,
            link: LinkType::ETHERNET,
            wire_len: b.len() as u32,
            data: &b,
        });
        assert_eq!(d.uint("eth.len"), Some(36));
        assert_eq!(d.field("llc.control").unwrap().tshark(&d.data), "0x0003");
        assert_eq!(d.field("llc.type").unwrap().tshark(&d.data), "0x0806");
        assert_eq!(d.uint("arp.opcode"), Some(1));
        assert!(d.has(Proto::Llc));
    }

    #[test]
    fn spanning_tree_is_left_as_data() {
        let mut b = vec![0x01, 0x80, 0xc2, 0, 0, 0, 0, 1, 2, 3, 4, 5, 0, 38];
        b.extend_from_slice(&[0x42, 0x42, 0x03]);
        b.extend_from_slice(&[0; 35]);
        let d = dissect(&Frame {
            number: 1,
            ts: None,
            link: LinkType::ETHERNET,
            wire_len: b.len() as u32,
            data: &b,
        });
        assert_eq!(d.layer(Proto::Llc).unwrap().len, 3);
        assert!(d.has(Proto::Data));
        assert!(!d.is_malformed());
    }
}
