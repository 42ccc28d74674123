//! A sample conversation made in memory: the frames the tour and the trace questions use when
//! no live traffic and no recorded trace are at hand.
//!
//! Two hosts ask ARP who the other is, look a name up with DNS, and fetch a page over TCP
//! (handshake, request, response, teardown). The frames are built with etherparse's
//! `PacketBuilder` (ARP and DNS by hand, following their RFCs), so every length and checksum is
//! right, and they are never sent anywhere.

use std::net::Ipv4Addr;

use etherparse::{PacketBuilder, TcpOptionElement};

use super::OwnedFrame;
use crate::dissect::model::{Frame, LinkType, Timestamp};

/// A small, complete conversation between two hosts, as Ethernet frames.
///
/// The addresses are documentation-style private addresses that are never sent anywhere: the
/// frames exist only in memory.
pub fn sample_conversation() -> Vec<OwnedFrame> {
    let mac_a = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
    let mac_b = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
    let ip_a = Ipv4Addr::new(10, 0, 0, 1).octets();
    let ip_b = Ipv4Addr::new(10, 0, 0, 2).octets();
    let mut frames: Vec<Vec<u8>> = Vec::new();

    // ARP request (broadcast) and reply, built by hand: etherparse has no ARP builder here.
    frames.push(arp(1, mac_a, ip_a, [0; 6], ip_b, [0xff; 6]));
    frames.push(arp(2, mac_b, ip_b, mac_a, ip_a, mac_a));

    // A DNS query and its answer over UDP.
    let query = dns_query(0x1a2b, "example.org");
    frames.push(udp(mac_a, mac_b, ip_a, ip_b, 53_001, 53, &query));
    let answer = dns_answer(&query, [93, 184, 215, 14]);
    frames.push(udp(mac_b, mac_a, ip_b, ip_a, 53, 53_001, &answer));

    // TCP: handshake, request, response, teardown.
    let (c, s) = (51_000u16, 80u16);
    let (ci, si) = (1_000_000u32, 5_000_000u32);
    let req = b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    let mss = [
        TcpOptionElement::MaximumSegmentSize(1460),
        TcpOptionElement::SelectiveAcknowledgementPermitted,
        TcpOptionElement::WindowScale(7),
    ];
    let tcp = |from_client: bool,
               seq: u32,
               ack: Option<u32>,
               flags: &str,
               data: &[u8],
               opts: &[TcpOptionElement]| {
        let (sm, dm, si_, di, sp, dp) = if from_client {
            (mac_a, mac_b, ip_a, ip_b, c, s)
        } else {
            (mac_b, mac_a, ip_b, ip_a, s, c)
        };
        let mut b = PacketBuilder::ethernet2(sm, dm)
            .ipv4(si_, di, 64)
            .tcp(sp, dp, seq, 64_240);
        if flags.contains('S') {
            b = b.syn();
        }
        if flags.contains('F') {
            b = b.fin();
        }
        if flags.contains('P') {
            b = b.psh();
        }
        if let Some(a) = ack {
            b = b.ack(a);
        }
        if !opts.is_empty() {
            b = b.options(opts).expect("options fit");
        }
        let mut out = Vec::with_capacity(b.size(data.len()));
        b.write(&mut out, data).expect("write to a Vec");
        out
    };
    frames.push(tcp(true, ci, None, "S", &[], &mss));
    frames.push(tcp(false, si, Some(ci + 1), "S", &[], &mss));
    frames.push(tcp(true, ci + 1, Some(si + 1), "", &[], &[]));
    frames.push(tcp(true, ci + 1, Some(si + 1), "P", req, &[]));
    let after_req = ci + 1 + req.len() as u32;
    frames.push(tcp(false, si + 1, Some(after_req), "", &[], &[]));
    frames.push(tcp(false, si + 1, Some(after_req), "P", resp, &[]));
    let after_resp = si + 1 + resp.len() as u32;
    frames.push(tcp(true, after_req, Some(after_resp), "F", &[], &[]));
    frames.push(tcp(false, after_resp, Some(after_req + 1), "F", &[], &[]));
    frames.push(tcp(true, after_req + 1, Some(after_resp + 1), "", &[], &[]));

    let start = Timestamp {
        secs: 1_767_225_600,
        nanos: 0,
    };
    let gaps_us = [
        0, 180, 400, 12_300, 12_600, 30_100, 30_250, 30_300, 30_900, 31_000, 50_200, 50_500, 50_560,
    ];
    frames
        .into_iter()
        .enumerate()
        .map(|(i, data)| {
            let us = gaps_us.get(i).copied().unwrap_or(60_000 + i as u32 * 100);
            let frame = Frame {
                number: i as u64 + 1,
                ts: Some(Timestamp {
                    secs: start.secs,
                    nanos: us * 1000,
                }),
                link: LinkType::ETHERNET,
                wire_len: data.len().max(60) as u32,
                data: &data,
            };
            let mut owned = OwnedFrame::from(&frame);
            // Ethernet frames are at least 60 bytes on the wire (64 with the CRC): short ones
            // are padded with zeros.
            owned.data.resize(owned.data.len().max(60), 0);
            owned.wire_len = owned.data.len() as u32;
            owned
        })
        .collect()
}

fn arp(op: u16, sha: [u8; 6], spa: [u8; 4], tha: [u8; 6], tpa: [u8; 4], dst: [u8; 6]) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sha);
    f.extend_from_slice(&0x0806u16.to_be_bytes());
    f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4]);
    f.extend_from_slice(&op.to_be_bytes());
    f.extend_from_slice(&sha);
    f.extend_from_slice(&spa);
    f.extend_from_slice(&tha);
    f.extend_from_slice(&tpa);
    f
}

#[allow(clippy::too_many_arguments)]
fn udp(
    sm: [u8; 6],
    dm: [u8; 6],
    si: [u8; 4],
    di: [u8; 4],
    sp: u16,
    dp: u16,
    data: &[u8],
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(sm, dm)
        .ipv4(si, di, 64)
        .udp(sp, dp);
    let mut out = Vec::with_capacity(b.size(data.len()));
    b.write(&mut out, data).expect("write to a Vec");
    out
}

/// A DNS query for the A record of `name` (RFC 1035 § 4.1).
fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::new();
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&0x0100u16.to_be_bytes()); // standard query, recursion desired
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // one question
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&[0, 1, 0, 1]); // type A, class IN
    q
}

/// The answer to `query`: the question repeated, then one A record pointing back at the name.
fn dns_answer(query: &[u8], addr: [u8; 4]) -> Vec<u8> {
    let mut a = query.to_vec();
    a[2..4].copy_from_slice(&0x8180u16.to_be_bytes()); // response, recursion available
    a[6..8].copy_from_slice(&1u16.to_be_bytes()); // one answer
    a.extend_from_slice(&[0xc0, 12]); // the name: a pointer to offset 12 (the question's name)
    a.extend_from_slice(&[0, 1, 0, 1]); // type A, class IN
    a.extend_from_slice(&300u32.to_be_bytes()); // TTL
    a.extend_from_slice(&4u16.to_be_bytes());
    a.extend_from_slice(&addr);
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::dissect;

    #[test]
    fn the_sample_conversation_dissects_cleanly() {
        let frames = sample_conversation();
        assert_eq!(frames.len(), 13);
        for f in &frames {
            let d = dissect(&f.as_frame());
            let serious: Vec<_> = d
                .problems
                .iter()
                .filter(|p| p.kind != crate::dissect::ProblemKind::Unsupported)
                .collect();
            assert!(serious.is_empty(), "frame {}: {serious:?}", f.number);
        }
        let syn = dissect(&frames[4].as_frame());
        assert!(syn.tcp_segment().unwrap().flags.is_syn_only());
        let synack = dissect(&frames[5].as_frame());
        assert_eq!(
            synack.tcp_segment().unwrap().ack().map(|a| a.0),
            Some(1_000_001)
        );
    }
}
