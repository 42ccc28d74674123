//! Captures built in the tests: TCP conversations written segment by segment with
//! etherparse, saved with wirelab's own `CaptureWriter`, so each test knows exactly what is in
//! its capture (and tshark can be asked about the same file).
#![allow(dead_code)]

pub mod scenarios;

use std::path::Path;

use etherparse::{PacketBuilder, TcpHeader, TcpOptionElement};
use wirelab::dissect::model::{Frame, LinkType, Timestamp};
use wirelab::source::file::CaptureWriter;

/// One end of a conversation.
#[derive(Clone, Copy, Debug)]
pub struct Host {
    pub mac: [u8; 6],
    pub ip: [u8; 4],
    pub port: u16,
}

pub const CLIENT: Host = Host {
    mac: [0x02, 0, 0, 0, 0, 0x01],
    ip: [10, 0, 0, 1],
    port: 52000,
};

pub const SERVER: Host = Host {
    mac: [0x02, 0, 0, 0, 0, 0x02],
    ip: [10, 0, 0, 2],
    port: 80,
};

/// A capture being written: frames with their times.
#[derive(Default)]
pub struct Capture {
    /// Nanoseconds since the Unix epoch of the next frame (whole numbers, so that times in
    /// the output are exact).
    pub t: u64,
    pub frames: Vec<(u64, Vec<u8>)>,
}

/// Which side sends a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum From {
    Client,
    Server,
}

impl Capture {
    /// A capture whose first frame is at a fixed, round time (so snapshots do not change).
    pub fn new() -> Capture {
        Capture {
            t: 1_700_000_000 * 1_000_000_000,
            frames: Vec::new(),
        }
    }

    /// Move the clock forward by `ms` milliseconds.
    pub fn wait(&mut self, ms: f64) -> &mut Capture {
        self.t += (ms * 1e6).round() as u64;
        self
    }

    /// Add a TCP segment. `flags` uses tcpdump's letters: S syn, A ack, P push, F fin, R rst.
    #[allow(clippy::too_many_arguments)]
    pub fn tcp(
        &mut self,
        from: From,
        seq: u32,
        ack: u32,
        flags: &str,
        window: u16,
        options: &[TcpOptionElement],
        payload: &[u8],
    ) -> &mut Capture {
        let (src, dst) = match from {
            From::Client => (CLIENT, SERVER),
            From::Server => (SERVER, CLIENT),
        };
        self.tcp_between(src, dst, seq, ack, flags, window, options, payload)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn tcp_between(
        &mut self,
        src: Host,
        dst: Host,
        seq: u32,
        ack: u32,
        flags: &str,
        window: u16,
        options: &[TcpOptionElement],
        payload: &[u8],
    ) -> &mut Capture {
        let mut h = TcpHeader::new(src.port, dst.port, seq, window);
        for c in flags.chars() {
            match c {
                'S' => h.syn = true,
                'A' => {
                    h.ack = true;
                    h.acknowledgment_number = ack;
                }
                'P' => h.psh = true,
                'F' => h.fin = true,
                'R' => h.rst = true,
                other => panic!("unknown flag letter {other}"),
            }
        }
        h.set_options(options).expect("options fit");
        let builder = PacketBuilder::ethernet2(src.mac, dst.mac)
            .ipv4(src.ip, dst.ip, 64)
            .tcp_header(h);
        let mut bytes = Vec::with_capacity(builder.size(payload.len()));
        builder.write(&mut bytes, payload).expect("write packet");
        self.frames.push((self.t, bytes));
        self
    }

    /// Add a UDP datagram (a DNS query, say) between two other hosts' ports.
    pub fn udp(&mut self, from: Host, to: Host, payload: &[u8]) -> &mut Capture {
        let builder = PacketBuilder::ethernet2(from.mac, to.mac)
            .ipv4(from.ip, to.ip, 64)
            .udp(from.port, to.port);
        let mut bytes = Vec::with_capacity(builder.size(payload.len()));
        builder.write(&mut bytes, payload).expect("write packet");
        self.frames.push((self.t, bytes));
        self
    }

    /// Write the capture as a pcap file.
    pub fn save(&self, path: &Path) {
        let mut w = CaptureWriter::create(path, LinkType::ETHERNET).expect("create capture");
        for (i, (t, bytes)) in self.frames.iter().enumerate() {
            let secs = (t / 1_000_000_000) as i64;
            let nanos = (t % 1_000_000_000) as u32;
            w.write(&Frame {
                number: i as u64 + 1,
                ts: Some(Timestamp { secs, nanos }),
                link: LinkType::ETHERNET,
                wire_len: bytes.len() as u32,
                data: bytes,
            })
            .expect("write frame");
        }
        w.flush().expect("flush capture");
    }
}

/// The options of a modern SYN: MSS, SACK permitted, timestamps, window scale.
pub fn syn_options(wscale: u8) -> Vec<TcpOptionElement> {
    vec![
        TcpOptionElement::MaximumSegmentSize(1460),
        TcpOptionElement::SelectiveAcknowledgementPermitted,
        TcpOptionElement::Timestamp(1000, 0),
        TcpOptionElement::Noop,
        TcpOptionElement::WindowScale(wscale),
    ]
}

/// A whole small conversation: handshake, an HTTP request and response, teardown, with a
/// DNS query before it (a non-TCP packet for the views to show or skip).
pub fn handshake_data_teardown() -> Capture {
    let (c, s) = (1_000_000u32, 3_000_000u32);
    let dns_client = Host {
        port: 40000,
        ..CLIENT
    };
    let dns_server = Host {
        ip: [10, 0, 0, 53],
        port: 53,
        mac: [0x02, 0, 0, 0, 0, 0x35],
    };
    let mut cap = Capture::new();
    cap.udp(
        dns_client,
        dns_server,
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03lab\x00\x00\x01\x00\x01",
    )
    .wait(1.2)
    .tcp(From::Client, c, 0, "S", 64240, &syn_options(7), b"")
    .wait(10.0)
    .tcp(From::Server, s, c + 1, "SA", 65160, &syn_options(7), b"")
    .wait(0.1)
    .tcp(From::Client, c + 1, s + 1, "A", 502, &[], b"")
    .wait(0.4)
    .tcp(
        From::Client,
        c + 1,
        s + 1,
        "PA",
        502,
        &[],
        b"GET / HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n",
    )
    .wait(10.2)
    .tcp(From::Server, s + 1, c + 35, "A", 509, &[], b"")
    .wait(0.3)
    .tcp(
        From::Server,
        s + 1,
        c + 35,
        "PA",
        509,
        &[],
        b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n",
    )
    .wait(0.1)
    .tcp(From::Client, c + 35, s + 45, "A", 501, &[], b"")
    .wait(5.0)
    .tcp(From::Client, c + 35, s + 45, "FA", 501, &[], b"")
    .wait(9.8)
    .tcp(From::Server, s + 45, c + 36, "FA", 509, &[], b"")
    .wait(0.2)
    .tcp(From::Client, c + 36, s + 46, "A", 501, &[], b"");
    cap
}
