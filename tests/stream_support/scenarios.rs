//! One capture per situation the TCP analysis has a name for.

use etherparse::TcpOptionElement as Opt;

use super::{CLIENT, Capture, From, Host, SERVER, handshake_data_teardown, syn_options};

use From::{Client, Server};

/// Handshake with window scale `ws` (none if `None`), client ISN `c`, server ISN `s`.
fn handshake(cap: &mut Capture, c: u32, s: u32, ws: Option<u8>) {
    let opts = |ws: Option<u8>| match ws {
        Some(w) => syn_options(w),
        None => vec![Opt::MaximumSegmentSize(1460)],
    };
    cap.tcp(Client, c, 0, "S", 64240, &opts(ws), b"")
        .wait(20.0)
        .tcp(Server, s, c.wrapping_add(1), "SA", 65160, &opts(ws), b"")
        .wait(0.2)
        .tcp(
            Client,
            c.wrapping_add(1),
            s.wrapping_add(1),
            "A",
            1000,
            &[],
            b"",
        );
}

const DATA: &[u8; 100] = &[b'x'; 100];

/// One segment lost on the way: the next arrives "beyond" it, the receiver repeats its ACK
/// with SACK blocks, the sender retransmits fast, the receiver catches up.
fn loss_dupacks_fast_retransmit() -> Capture {
    let (c, s) = (10_000u32, 50_000u32);
    let mut cap = Capture::new();
    handshake(&mut cap, c, s, Some(2));
    let seg = |i: u32| c + 1 + 100 * i;
    cap.wait(1.0)
        .tcp(Client, seg(0), s + 1, "A", 1000, &[], DATA)
        .tcp(Client, seg(1), s + 1, "A", 1000, &[], DATA)
        // seg(2) is lost before the capture point.
        .tcp(Client, seg(3), s + 1, "A", 1000, &[], DATA)
        .tcp(Client, seg(4), s + 1, "PA", 1000, &[], DATA)
        .wait(20.0)
        .tcp(Server, s + 1, seg(2), "A", 1000, &[], b"");
    for i in 0..3 {
        let sack = Opt::SelectiveAcknowledgement((seg(3), seg(4 + i.min(1))), [None; 3]);
        cap.wait(0.5).tcp(
            Server,
            s + 1,
            seg(2),
            "A",
            1000,
            &[Opt::Noop, Opt::Noop, sack],
            b"",
        );
    }
    cap.wait(1.0)
        .tcp(Client, seg(2), s + 1, "A", 1000, &[], DATA)
        .wait(20.0)
        .tcp(Server, s + 1, seg(5), "A", 1000, &[], b"")
        .wait(1.0)
        .tcp(Client, seg(5), s + 1, "RA", 0, &[], b"");
    cap
}

/// No acknowledgment comes: the sender waits for its timeout and sends again; later it
/// sends once more bytes that were already acknowledged (a spurious retransmission).
fn timeout_and_spurious() -> Capture {
    let (c, s) = (777u32, 888u32);
    let mut cap = Capture::new();
    handshake(&mut cap, c, s, None);
    cap.wait(1.0)
        .tcp(Client, c + 1, s + 1, "PA", 1000, &[], DATA)
        .wait(300.0)
        .tcp(Client, c + 1, s + 1, "PA", 1000, &[], DATA)
        .wait(20.0)
        .tcp(Server, s + 1, c + 101, "A", 1000, &[], b"")
        .wait(200.0)
        .tcp(Client, c + 1, s + 1, "PA", 1000, &[], DATA)
        .wait(20.0)
        .tcp(Server, s + 1, c + 101, "A", 1000, &[], b"")
        .wait(1.0)
        .tcp(Client, c + 101, s + 1, "FA", 1000, &[], b"")
        .wait(20.0)
        .tcp(Server, s + 1, c + 102, "FA", 1000, &[], b"")
        .wait(20.0)
        .tcp(Client, c + 102, s + 2, "A", 1000, &[], b"");
    cap
}

/// Two segments swapped by the network, half a millisecond apart.
fn out_of_order() -> Capture {
    let (c, s) = (4_000_000_000u32, 123u32);
    let mut cap = Capture::new();
    handshake(&mut cap, c, s, Some(0));
    cap.wait(1.0)
        .tcp(Client, c + 101, s + 1, "A", 1000, &[], DATA)
        .wait(0.5)
        .tcp(Client, c + 1, s + 1, "A", 1000, &[], DATA)
        .wait(20.0)
        .tcp(Server, s + 1, c + 201, "A", 1000, &[], b"");
    cap
}

/// The receiver's buffer fills: window 0, a one-byte probe, the probe's ACK, then a window
/// update when there is room again.
fn zero_window() -> Capture {
    let (c, s) = (1u32, 2u32);
    let mut cap = Capture::new();
    handshake(&mut cap, c, s, None);
    cap.wait(1.0)
        .tcp(Client, c + 1, s + 1, "PA", 1000, &[], DATA)
        .wait(20.0)
        .tcp(Server, s + 1, c + 101, "A", 0, &[], b"")
        .wait(200.0)
        .tcp(Client, c + 101, s + 1, "A", 1000, &[], b"y")
        .wait(20.0)
        .tcp(Server, s + 1, c + 101, "A", 0, &[], b"")
        .wait(100.0)
        .tcp(Server, s + 1, c + 101, "A", 4000, &[], b"")
        .wait(20.0)
        .tcp(Client, c + 101, s + 1, "PA", 1000, &[], DATA);
    cap
}

/// An idle connection: keep-alive probes one byte before the next sequence number, and
/// their ACKs.
fn keep_alive() -> Capture {
    let (c, s) = (90_000u32, 91_000u32);
    let mut cap = Capture::new();
    handshake(&mut cap, c, s, Some(7));
    cap.wait(1.0)
        .tcp(Client, c + 1, s + 1, "PA", 1000, &[], DATA)
        .wait(20.0)
        .tcp(Server, s + 1, c + 101, "A", 1000, &[], b"")
        .wait(45_000.0)
        .tcp(Client, c + 100, s + 1, "A", 1000, &[], b"")
        .wait(20.0)
        .tcp(Server, s + 1, c + 101, "A", 1000, &[], b"")
        .wait(45_000.0)
        .tcp(Client, c + 100, s + 1, "A", 1000, &[], b"\0")
        .wait(20.0)
        .tcp(Server, s + 1, c + 101, "A", 1000, &[], b"");
    cap
}

/// A connection closes, then a new one starts on the same ports with a new ISN; its SYN is
/// sent twice.
fn reused_ports() -> Capture {
    let mut cap = Capture::new();
    let (c, s) = (5_000u32, 6_000u32);
    handshake(&mut cap, c, s, None);
    cap.wait(1.0)
        .tcp(Client, c + 1, s + 1, "FA", 1000, &[], b"")
        .wait(20.0)
        .tcp(Server, s + 1, c + 2, "FA", 1000, &[], b"")
        .wait(20.0)
        .tcp(Client, c + 2, s + 2, "A", 1000, &[], b"")
        .wait(2000.0);
    let (c2, s2) = (700_000u32, 800_000u32);
    cap.tcp(Client, c2, 0, "S", 64240, &[], b"")
        .wait(1000.0)
        .tcp(Client, c2, 0, "S", 64240, &[], b"")
        .wait(20.0)
        .tcp(Server, s2, c2 + 1, "SA", 65160, &[], b"")
        .wait(20.0)
        .tcp(Client, c2 + 1, s2 + 1, "A", 1000, &[], b"")
        .wait(1.0)
        .tcp(Server, s2 + 1, c2 + 1, "RA", 0, &[], b"");
    cap
}

/// The sender fills the receiver's window exactly.
fn window_full() -> Capture {
    let (c, s) = (31u32, 41u32);
    let mut cap = Capture::new();
    handshake(&mut cap, c, s, None);
    cap.wait(1.0)
        .tcp(Server, s + 1, c + 1, "A", 300, &[], b"")
        .wait(1.0)
        .tcp(Client, c + 1, s + 1, "A", 1000, &[], DATA)
        .tcp(Client, c + 101, s + 1, "A", 1000, &[], DATA)
        .tcp(Client, c + 201, s + 1, "PA", 1000, &[], DATA)
        .wait(20.0)
        .tcp(Server, s + 1, c + 301, "A", 300, &[], b"");
    cap
}

/// The capture starts in the middle of a connection (no handshake seen), and an ACK covers
/// data the capture never saw.
fn mid_stream_and_unseen_ack() -> Capture {
    let (c, s) = (2_000_000u32, 3_000_000u32);
    let mut cap = Capture::new();
    cap.tcp(Client, c, s, "PA", 1000, &[], DATA)
        .wait(10.0)
        .tcp(Server, s, c + 100, "A", 2000, &[], b"")
        .wait(10.0)
        .tcp(Server, s, c + 300, "A", 2000, &[], b"")
        .wait(10.0)
        .tcp(Client, c + 300, s, "PA", 1000, &[], DATA)
        .wait(10.0)
        .tcp(Server, s, c + 400, "A", 2000, &[], b"");
    cap
}

/// Sequence numbers wrap around from 4294967295 to 0 in the middle of the data.
fn wraparound() -> Capture {
    let c = u32::MAX - 150;
    let s = u32::MAX;
    let mut cap = Capture::new();
    handshake(&mut cap, c, s, Some(4));
    let mut seq = c.wrapping_add(1);
    for _ in 0..4 {
        cap.wait(1.0)
            .tcp(Client, seq, s.wrapping_add(1), "A", 1000, &[], DATA);
        seq = seq.wrapping_add(100);
    }
    cap.wait(20.0)
        .tcp(Server, s.wrapping_add(1), seq, "A", 1000, &[], b"")
        .wait(1.0)
        .tcp(Server, s.wrapping_add(1), seq, "PA", 1000, &[], DATA)
        .wait(20.0)
        .tcp(Client, seq, s.wrapping_add(101), "A", 1000, &[], b"");
    cap
}

/// Two conversations interleaved, plus UDP to other hosts.
fn two_connections() -> Capture {
    let other = Host {
        port: 52001,
        ..CLIENT
    };
    let mut cap = Capture::new();
    cap.tcp(Client, 100, 0, "S", 64240, &[], b"")
        .tcp_between(other, SERVER, 900, 0, "S", 64240, &[], b"")
        .wait(5.0)
        .tcp(Server, 200, 101, "SA", 65160, &[], b"")
        .udp(CLIENT, SERVER, b"ping")
        .tcp_between(SERVER, other, 300, 901, "SA", 65160, &[], b"")
        .wait(5.0)
        .tcp_between(other, SERVER, 901, 301, "A", 1000, &[], b"")
        .udp(SERVER, CLIENT, b"pong")
        .tcp(Client, 101, 201, "A", 1000, &[], b"");
    cap
}

pub fn all() -> Vec<(&'static str, Capture)> {
    vec![
        ("handshake_data_teardown", handshake_data_teardown()),
        (
            "loss_dupacks_fast_retransmit",
            loss_dupacks_fast_retransmit(),
        ),
        ("timeout_and_spurious", timeout_and_spurious()),
        ("out_of_order", out_of_order()),
        ("zero_window", zero_window()),
        ("keep_alive", keep_alive()),
        ("reused_ports", reused_ports()),
        ("window_full", window_full()),
        ("mid_stream_and_unseen_ack", mid_stream_and_unseen_ack()),
        ("wraparound", wraparound()),
        ("two_connections", two_connections()),
    ]
}
