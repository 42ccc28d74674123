//! The checks behind each exercise. Each returns `Err` with a message written for the learner:
//! what was asked, what their code gave, what the right answer is and where it came from.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use wirelab::dissect::checksum::internet_checksum;
use wirelab::dissect::model::{Dissection, Proto};
use wirelab::dissect::tcp::Flags;

fn flags_words(bits: u16) -> String {
    Flags::from_bits(bits).words()
}
use wirelab::lessons::questions::load_trace;

/// The dissected trace of a lesson, or an empty list if it has not been recorded.
fn trace(lesson: &str) -> Vec<Dissection> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("lessons")
        .join(lesson)
        .join("trace.pcapng");
    if path.exists() {
        load_trace(&path).unwrap_or_default()
    } else {
        Vec::new()
    }
}

/// Exercise place_protocol: the OSI and TCP/IP placement of ten protocols.
pub fn place_protocol(place: fn(&str) -> Option<(u8, &'static str)>) -> Result<(), String> {
    for name in [
        "eth",
        "arp",
        "ip",
        "ipv6",
        "icmp",
        "tcp",
        "udp",
        "dns",
        "http",
        "websocket",
    ] {
        let p = Proto::from_short(name).ok_or_else(|| format!("wirelab knows no {name}"))?;
        let want = (p.osi().number(), p.tcpip().name());
        match place(name) {
            Some(got) if got == want => {}
            Some((osi, tcpip)) => {
                return Err(format!(
                    "place({name:?}) gave OSI layer {osi} and TCP/IP layer {tcpip:?}; wirelab places {} at OSI layer {} ({}) and in the TCP/IP {:?} layer",
                    p.name(),
                    want.0,
                    p.osi().name(),
                    want.1
                ));
            }
            None => {
                return Err(format!(
                    "place({name:?}) gave None, but {} is a protocol every packet dump shows",
                    p.name()
                ));
            }
        }
    }
    if let Some(x) = place("frobnicate") {
        return Err(format!(
            "place(\"frobnicate\") should be None (no such protocol), not {x:?}"
        ));
    }
    Ok(())
}

/// Exercise echo_server: run the learner's server on a loopback port and talk to it.
pub fn echo_server(echo_once: fn(TcpListener) -> std::io::Result<()>) -> Result<(), String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(move || echo_once(listener));
        let _ = done_tx.send(match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("echo_once returned an error: {e}")),
            Err(_) => Err("echo_once panicked".to_string()),
        });
    });
    let mut client = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).map_err(|e| {
        format!("could not connect to your server at {addr}: {e} (did it accept before returning?)")
    })?;
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let message = b"hello, server\nsecond line\n";
    client
        .write_all(message)
        .map_err(|e| format!("sending to your server failed: {e}"))?;
    // Close our sending side: the server's read returns 0 and it knows we are done.
    client
        .shutdown(Shutdown::Write)
        .map_err(|e| e.to_string())?;
    let mut back = Vec::new();
    match client.read_to_end(&mut back) {
        Ok(_) => {}
        Err(e) => {
            return Err(format!(
                "reading the echo failed: {e} (after echoing, the server must close the connection)"
            ));
        }
    }
    if back != message {
        return Err(format!(
            "sent {:?}, got back {:?}",
            String::from_utf8_lossy(message),
            String::from_utf8_lossy(&back)
        ));
    }
    match done_rx.recv_timeout(Duration::from_secs(5)) {
        Ok(r) => r,
        Err(_) => Err("echo_once did not return after the client closed".to_string()),
    }
}

/// Exercise tcp_flags: every combination of the nine flags, and every segment of the trace.
pub fn tcp_flags(flag_names: fn(u16) -> Vec<&'static str>) -> Result<(), String> {
    let expect = |v: u16| -> Vec<String> {
        let w = flags_words(v);
        if w == "none" {
            return Vec::new();
        }
        // wirelab writes them in Wireshark's order; the exercise asks for lowest bit first.
        let mut names: Vec<(u16, String)> =
            w.split(", ").map(|n| (bit_of(n), n.to_string())).collect();
        names.sort();
        names.into_iter().map(|(_, n)| n).collect()
    };
    for d in trace("03_tcp") {
        if let Some(f) = d.uint("tcp.flags") {
            let got = flag_names(f as u16);
            if got != expect(f as u16) {
                return Err(format!(
                    "frame {} of the lesson's trace has tcp.flags = 0x{f:03x} ({}); flag_names gave {got:?}",
                    d.number,
                    flags_words(f as u16)
                ));
            }
        }
    }
    for v in 0u16..0x200 {
        let got = flag_names(v);
        let want = expect(v);
        if got != want {
            return Err(format!(
                "flag_names(0x{v:03x}) gave {got:?}, expected {want:?}"
            ));
        }
    }
    Ok(())
}

fn bit_of(name: &str) -> u16 {
    match name {
        "FIN" => 0x001,
        "SYN" => 0x002,
        "RST" => 0x004,
        "PSH" => 0x008,
        "ACK" => 0x010,
        "URG" => 0x020,
        "ECE" => 0x040,
        "CWR" => 0x080,
        _ => 0x100,
    }
}

/// The learner's UDP header, as the check sees it (every exercise file declares its own type).
pub trait UdpFields {
    fn fields(&self) -> (u16, u16, u16, u16);
}

macro_rules! udp_fields {
    ($($t:path),*) => {$(
        impl UdpFields for $t {
            fn fields(&self) -> (u16, u16, u16, u16) {
                (self.src_port, self.dst_port, self.length, self.checksum)
            }
        }
    )*};
}
udp_fields!(
    crate::udp_header_shipped::UdpHeader,
    crate::udp_header_solution::UdpHeader
);

/// Exercise udp_header: real datagrams from the trace, built ones, and too-short input.
pub fn udp_header<H: UdpFields>(parse_udp: fn(&[u8]) -> Option<H>) -> Result<(), String> {
    let mut checked = 0;
    for d in trace("04_udp") {
        let Some(li) = d.layers.iter().position(|l| l.proto == Proto::Udp) else {
            continue;
        };
        let at = d.layers[li].at as usize;
        // The bytes the header is in: the frame's, or for a datagram that came in IP
        // fragments, the datagram put back together (its UDP header is read from there).
        let bytes = d.layer_bytes(li);
        let want = (
            d.uint("udp.srcport").unwrap_or(0) as u16,
            d.uint("udp.dstport").unwrap_or(0) as u16,
            d.uint("udp.length").unwrap_or(0) as u16,
            d.uint("udp.checksum").unwrap_or(0) as u16,
        );
        match parse_udp(&bytes[at..]) {
            Some(h) if h.fields() == want => checked += 1,
            Some(h) => {
                return Err(format!(
                    "frame {} of the lesson's trace: you read (src, dst, length, checksum) = {:?}, wirelab reads {want:?}",
                    d.number,
                    h.fields()
                ));
            }
            None => {
                return Err(format!(
                    "frame {}: parse_udp gave None for a whole UDP header",
                    d.number
                ));
            }
        }
    }
    let built = [
        0x30, 0x39, 0x00, 0x35, 0x00, 0x0c, 0xab, 0xcd, b'h', b'i', b'!', b'!',
    ];
    match parse_udp(&built) {
        Some(h) if h.fields() == (12345, 53, 12, 0xabcd) => {}
        Some(h) => {
            return Err(format!(
                "the header 30 39 00 35 00 0c ab cd should read (12345, 53, 12, 0xabcd); you read {:?}",
                h.fields()
            ));
        }
        None => return Err("parse_udp gave None for a 12-byte datagram".into()),
    }
    for n in 0..8 {
        if parse_udp(&built[..n]).is_some() {
            return Err(format!(
                "parse_udp must give None for {n} bytes: a UDP header is 8"
            ));
        }
    }
    let _ = checked;
    Ok(())
}

/// Exercise ipv4_checksum: real headers from the trace and pseudo-random ones.
pub fn ipv4_checksum(sum: fn(&[u8]) -> u16) -> Result<(), String> {
    for lesson in ["05_capture", "03_tcp", "04_udp"] {
        for d in trace(lesson) {
            let Some(layer) = d.layer(Proto::Ipv4) else {
                continue;
            };
            let hdr = &d.data[layer.range()];
            let stored = u16::from_be_bytes([hdr[10], hdr[11]]);
            if internet_checksum(&[hdr]) != 0 {
                continue; // a header whose checksum is wrong on the wire
            }
            let got = sum(hdr);
            if got != stored {
                return Err(format!(
                    "frame {} of lessons/{lesson}/trace.pcapng: the header carries checksum 0x{stored:04x}; you computed 0x{got:04x}",
                    d.number
                ));
            }
        }
    }
    // Pseudo-random headers (a fixed seed, so a failure can be repeated).
    let mut x: u32 = 0x1234_5678;
    for round in 0..500 {
        let mut hdr = [0u8; 20];
        for b in hdr.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        hdr[0] = 0x45;
        let mut zeroed = hdr;
        zeroed[10] = 0;
        zeroed[11] = 0;
        let want = internet_checksum(&[&zeroed]);
        let got = sum(&hdr);
        if got != want {
            return Err(format!(
                "header #{round} {:02x?}: expected 0x{want:04x}, you computed 0x{got:04x}",
                hdr
            ));
        }
    }
    Ok(())
}

/// Exercise next_ack: wirelab's own stream analysis (tcp.nxtseq) on every segment of the TCP
/// lessons' traces, and the wrap-around at 2^32.
pub fn next_ack(ack_for: fn(u32, u32, bool, bool) -> u32) -> Result<(), String> {
    for (seq, len, syn, fin, want) in [
        (1000u32, 0u32, true, false, 1001u32),
        (1001, 300, false, false, 1301),
        (4_294_967_200, 300, false, false, 204),
        (u32::MAX, 0, false, true, 0),
        (7, 5, false, true, 13),
    ] {
        let got = ack_for(seq, len, syn, fin);
        if got != want {
            return Err(format!(
                "ack_for(seq {seq}, len {len}, SYN {syn}, FIN {fin}) gave {got}; the next byte expected is {want}"
            ));
        }
    }
    for lesson in ["03_tcp", "06_tcp_by_hand", "02_sockets"] {
        let mut tracker = wirelab::stream::StreamTracker::new(Default::default());
        for mut d in trace(lesson) {
            tracker.observe(&mut d);
            let (Some(seq_raw), Some(seq), Some(nxt), Some(len), Some(flags)) = (
                d.uint("tcp.seq_raw"),
                d.uint("tcp.seq"),
                d.uint("tcp.nxtseq"),
                d.uint("tcp.len"),
                d.uint("tcp.flags"),
            ) else {
                continue;
            };
            // tcp.nxtseq is relative, like tcp.seq: the same distance on from the raw number.
            let want = (seq_raw as u32).wrapping_add((nxt as u32).wrapping_sub(seq as u32));
            let got = ack_for(
                seq_raw as u32,
                len as u32,
                flags & 0x02 != 0,
                flags & 0x01 != 0,
            );
            if got != want {
                return Err(format!(
                    "frame {} of lessons/{lesson}/trace.pcapng: seq {seq_raw}, {len} bytes, flags {}: the other side acknowledges {want}, you computed {got}",
                    d.number,
                    flags_words(flags as u16)
                ));
            }
        }
    }
    Ok(())
}

/// Exercise ws_accept: the RFC 6455 example, wirelab's own implementation on many keys, and
/// the handshake in the lesson's trace.
pub fn ws_accept(accept_for: fn(&str) -> String) -> Result<(), String> {
    let example = accept_for("dGhlIHNhbXBsZSBub25jZQ==");
    if example != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
        return Err(format!(
            "for RFC 6455's example key dGhlIHNhbXBsZSBub25jZQ== you computed {example:?}; the RFC says s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        ));
    }
    for _ in 0..100 {
        let key = wirelab::ws::handshake::new_key();
        let (got, want) = (accept_for(&key), wirelab::ws::handshake::accept_for(&key));
        if got != want {
            return Err(format!(
                "for the key {key} you computed {got:?}; it is {want:?}"
            ));
        }
    }
    let t = trace("07_websocket");
    let key = t.iter().find_map(|d| text(d, "http.sec_websocket_key"));
    let accept = t.iter().find_map(|d| text(d, "http.sec_websocket_accept"));
    if let (Some(key), Some(accept)) = (key, accept) {
        let got = accept_for(&key);
        if got != accept {
            return Err(format!(
                "the lesson's trace has the key {key} and the server answered {accept}; you computed {got}"
            ));
        }
    }
    Ok(())
}

fn text(d: &Dissection, name: &str) -> Option<String> {
    d.field(name).map(|f| match &f.value {
        wirelab::dissect::Value::Text(t) => t.clone(),
        _ => f.tshark(&d.data),
    })
}

/// Exercise sio_event: wirelab's own encoder, and its parser reading the learner's packets.
pub fn sio_event(
    event_packet: fn(&str, &str, &[&str], Option<u64>) -> String,
) -> Result<(), String> {
    use serde_json::Value as Json;
    use wirelab::dissect::socketio::{Packet, parse};
    let cases: [(&str, &str, &[&str], Option<u64>); 6] = [
        ("/", "chat", &["\"hi\""], None),
        ("/", "ping", &[], Some(1)),
        ("/", "move", &["{\"x\":1}", "2"], None),
        ("/admin", "move", &["{\"x\":1}"], Some(7)),
        ("/admin", "hello", &[], None),
        ("/", "join", &["\"room 1\"", "true", "[1,2]"], Some(42)),
    ];
    for (ns, event, args, ack) in cases {
        let got = event_packet(ns, event, args, ack);
        let json: Vec<Json> = args
            .iter()
            .map(|a| serde_json::from_str(a).expect("test args are JSON"))
            .collect();
        let mut p = Packet::event(event, &json, ack);
        p.namespace = ns.to_string();
        let want = format!("4{}", p.encode());
        if got != want {
            return Err(format!(
                "event_packet({ns:?}, {event:?}, {args:?}, {ack:?}) gave {got:?}; expected {want:?}"
            ));
        }
        // And wirelab's own parser reads it back.
        let parsed =
            parse(&got.as_bytes()[1..]).map_err(|e| format!("{got:?} does not parse: {e:?}"))?;
        if parsed.event.as_deref() != Some(event) || parsed.ack_id != ack || parsed.namespace != ns
        {
            return Err(format!(
                "{got:?} reads back as a different packet: {parsed:?}"
            ));
        }
    }
    Ok(())
}

/// (offset in 8-byte units, data bytes, more fragments) of each fragment.
type Fragments = Vec<(u16, usize, bool)>;

/// Exercise fragments: the fragments router r1 made in the MTU lesson's trace, then built
/// cases (data that fits, exact multiples, a small MTU).
pub fn fragments(fragment: fn(usize, usize) -> Fragments) -> Result<(), String> {
    // The trace: link 2's MTU is 1280 (wirelab ip mtu's default).
    let seen: Fragments = trace("10_ip/mtu")
        .iter()
        .filter(|d| d.ip.first().is_some_and(|ip| ip.is_fragment()))
        .map(|d| {
            (
                d.uint("ip.frag_offset").unwrap_or(0) as u16,
                d.uint("ip.len").unwrap_or(0) as usize - 20,
                d.uint("ip.flags.mf") == Some(1),
            )
        })
        .collect();
    let mut cases = Vec::new();
    if !seen.is_empty() {
        let total = seen.iter().map(|f| f.1).sum();
        cases.push((
            total,
            1280,
            seen,
            "the fragments r1 made in lessons/10_ip/mtu/trace.pcapng",
        ));
    }
    // Built cases, worked out by hand.
    cases.push((
        1408,
        1280,
        vec![(0, 1256, true), (157, 152, false)],
        "1408 bytes over MTU 1280",
    ));
    cases.push((
        1000,
        1500,
        vec![(0, 1000, false)],
        "1000 bytes that fit in MTU 1500",
    ));
    cases.push((
        1480 * 2,
        1500,
        vec![(0, 1480, true), (185, 1480, false)],
        "2960 bytes over MTU 1500 (1480 is already a multiple of 8)",
    ));
    cases.push((
        300,
        100,
        vec![
            (0, 80, true),
            (10, 80, true),
            (20, 80, true),
            (30, 60, false),
        ],
        "300 bytes over MTU 100 (80 bytes fit after the header)",
    ));
    for (data, mtu, want, what) in cases {
        let got = fragment(data, mtu);
        if got != want {
            return Err(format!(
                "{what}: fragment({data}, {mtu}) gave {got:?}; the right fragments (offset in 8-byte units, data bytes, more fragments) are {want:?}"
            ));
        }
    }
    Ok(())
}

/// (EstimatedRTT, DevRTT, TimeoutInterval) after each sample.
type Estimates = Vec<(f64, f64, f64)>;

/// Exercise rto: RFC 6298's estimator, against wirelab's own, on the RTT samples of the
/// lesson's trace and on built ones.
pub fn rto(estimate: fn(&[f64]) -> Estimates) -> Result<(), String> {
    let from_trace: Vec<f64> = trace("11_congestion")
        .iter()
        .filter_map(
            |d| match d.field("tcp.analysis.ack_rtt").map(|f| &f.value) {
                Some(wirelab::dissect::model::Value::Time(t)) => Some(t.as_f64()),
                _ => None,
            },
        )
        .collect();
    for (samples, what) in [
        (
            from_trace,
            "the ack_rtt samples of lessons/11_congestion/trace.pcapng",
        ),
        (
            vec![0.1, 0.12, 0.08, 0.3, 0.1],
            "the samples 0.1, 0.12, 0.08, 0.3, 0.1 s",
        ),
    ] {
        if samples.is_empty() {
            continue;
        }
        let got = estimate(&samples);
        if got.len() != samples.len() {
            return Err(format!(
                "{what}: {} samples, but estimate returned {} rows (one per sample)",
                samples.len(),
                got.len()
            ));
        }
        let mut e = wirelab::stream::rtt::RttEstimator::new();
        for (i, (r, g)) in samples.iter().zip(&got).enumerate() {
            e.sample(*r);
            let want = (
                e.estimated.unwrap_or(0.0),
                e.dev,
                e.rto_raw().unwrap_or(0.0),
            );
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1e-3);
            if !(close(g.0, want.0) && close(g.1, want.1) && close(g.2, want.2)) {
                return Err(format!(
                    "{what}: after sample {} ({r} s) you have (EstimatedRTT, DevRTT, TimeoutInterval) = {g:?}; RFC 6298 gives {want:?}",
                    i + 1
                ));
            }
        }
    }
    Ok(())
}
