//! The IP header's essentials, for IPv4 and IPv6 alike: the typed view every consumer reads.
//!
//! IPv4 ([`super::ipv4`], RFC 791) and IPv6 ([`super::ipv6`], RFC 8200) write their headers
//! differently, but carry the same few facts a reader of a capture needs:
//!
//! ```text
//!  fact                  IPv4 header                     IPv6 header
//!  ────                  ───────────                     ───────────
//!  who sent it, to whom  Source / Destination Address    Source / Destination Address
//!  how far it may go     Time to Live                    Hop Limit
//!  what it carries       Protocol                        Next Header (after extension headers)
//!  how long it is        Total Length                    40 + Payload Length
//!  which packet          Identification                  Fragment header's Identification
//!  is it a piece         Flags (MF) + Fragment Offset    Fragment header (M flag, offset)
//! ```
//!
//! The dissector reads them once, into an [`IpHeader`] kept in the
//! [`Dissection`](super::model::Dissection) (its `ip` list, outermost first), so the stream
//! analysis, the views and the narration never read `ip.src` back by its name.

use std::net::IpAddr;

/// One IP header, read once during dissection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpHeader {
    /// Which layer of the dissection this header is (an index into its `layers`).
    pub layer: u16,
    /// 4 or 6.
    pub version: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Time to live (IPv4) or hop limit (IPv6): how many more routers may forward it.
    pub ttl: u8,
    /// The protocol of the payload (IPv6: after the extension headers): 6 TCP, 17 UDP…
    pub protocol: u8,
    /// Length of the header in bytes (IPv6: the fixed 40 bytes and the extension headers).
    pub header_len: u16,
    /// Length of the whole packet in bytes, as the header states it.
    pub total_len: u32,
    /// Identification (IPv4), or the fragment header's (IPv6; 0 without one).
    pub id: u32,
    /// IPv4's "don't fragment" flag.
    pub dont_fragment: bool,
    /// More fragments follow this one.
    pub more_fragments: bool,
    /// Where this piece's data goes in the original packet's payload, in bytes (the header
    /// counts 8-byte units).
    pub frag_offset: u32,
    /// The copy of a packet an ICMP or ICMPv6 error quotes, not a packet of its own.
    pub quoted: bool,
}

impl IpHeader {
    /// Is this packet a piece of a larger one? (A fragment header with offset 0 and no more
    /// fragments is an "atomic fragment", RFC 6946: the packet is whole.)
    pub fn is_fragment(&self) -> bool {
        self.more_fragments || self.frag_offset != 0
    }
}
