//! Fuzz the byte-stream layers: HTTP, WebSocket, Engine.IO and Socket.IO found by following a
//! TCP conversation ([`wirelab::stream::upper::Upper`]). Any bytes, cut into segments at any
//! places, in either direction, with gaps, must never panic, and every dissection must still
//! point inside its frame.
//!
//! Input layout: byte 0 picks how the conversation starts (nothing, a WebSocket upgrade, a
//! Socket.IO upgrade, or Socket.IO long-polling requests); then segments, each one header
//! byte (bit 7: from the client; bit 6: leave a gap of this many bytes instead of sending;
//! bits 0–5: length) followed by that many bytes.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run upper -- -s none`
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelab::dissect::model::{Frame, LinkType, Timestamp};
use wirelab::dissect::dissect;
use wirelab::stream::upper::Upper;

#[path = "views.rs"]
mod views;

struct Talk {
    seq: [u32; 2],
    number: u64,
    upper: Upper,
}

impl Talk {
    fn send(&mut self, from_client: bool, payload: &[u8], gap: bool) {
        let (a, b) = (([127, 0, 0, 1], 40000u16), ([127, 0, 0, 2], 8765u16));
        let (src, dst, i) = if from_client { (a, b, 0) } else { (b, a, 1) };
        if gap {
            self.seq[i] = self.seq[i].wrapping_add(payload.len() as u32);
            return;
        }
        let mut h = etherparse::TcpHeader::new(src.1, dst.1, self.seq[i], 64000);
        h.ack = true;
        h.psh = !payload.is_empty();
        h.acknowledgment_number = self.seq[1 - i];
        self.seq[i] = self.seq[i].wrapping_add(payload.len() as u32);
        let mut bytes = Vec::new();
        if etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src.0, dst.0, 64)
            .tcp_header(h)
            .write(&mut bytes, payload)
            .is_err()
        {
            return;
        }
        self.number += 1;
        let frame = Frame {
            number: self.number,
            ts: Some(Timestamp {
                secs: 1_700_000_000,
                nanos: (self.number % 1_000_000) as u32 * 1000,
            }),
            link: LinkType::ETHERNET,
            wire_len: bytes.len() as u32,
            data: &bytes,
        };
        let mut d = dissect(&frame);
        self.upper.observe(&mut d);
        views::check(&d);
    }
}

const WS_REQ: &[u8] = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
const SIO_REQ: &[u8] = b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
const WS_RESP: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
const POLL_REQ: &[u8] = b"POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 40\r\n\r\n";

fuzz_target!(|input: &[u8]| {
    let Some((&mode, mut rest)) = input.split_first() else {
        return;
    };
    let mut t = Talk {
        seq: [1000, 5000],
        number: 0,
        upper: Upper::new(),
    };
    match mode % 4 {
        1 => {
            t.send(true, WS_REQ, false);
            t.send(false, WS_RESP, false);
        }
        2 => {
            t.send(true, SIO_REQ, false);
            t.send(false, WS_RESP, false);
        }
        3 => t.send(true, POLL_REQ, false),
        _ => {}
    }
    while let Some((&head, more)) = rest.split_first() {
        let len = (head & 0x3f) as usize;
        let take = len.min(more.len());
        t.send(head & 0x80 != 0, &more[..take], head & 0x40 != 0);
        rest = &more[take..];
    }
    t.upper.finish();
});
