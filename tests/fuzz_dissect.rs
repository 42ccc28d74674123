//! Bad input never panics: property tests for the packet engine.
//!
//! Three kinds of input are fed to `dissect()` for every link type the engine knows (and one
//! it does not):
//!
//! * random bytes;
//! * real frames from the corpus (tests/corpus), cut short at a random length (as a snap length does);
//! * real frames with random bits flipped (as a damaged or hostile packet is).
//!
//! For each, the engine must return (no panic, no endless loop) and everything it reports must
//! point inside the frame: every layer's and every field's byte range, every bit mask. Every
//! view is rendered too, because a renderer that trusts a bad range would panic there.
//!
//! Crashes found by the cargo-fuzz targets in `fuzz/` are kept at the end of this file as
//! regression tests, named after what went wrong.

mod common;

use std::sync::OnceLock;

use proptest::prelude::*;
use wirelab::dissect::{Dissection, Frame, LinkType, describe, dissect, validate};
use wirelab::render::{Options, Printer, View};
use wirelab::source::OwnedFrame;
use wirelab::source::file::CaptureReader;

/// Every link type `dissect()` has a branch for, and 147 (a user-defined type it does not know).
const LINKS: [u32; 9] = [0, 1, 12, 101, 113, 228, 229, 276, 147];

/// Check everything a dissection says against the frame it came from, and render it.
fn check(frame: &Frame) -> Dissection {
    let d = check_ranges(frame);
    let columns = wirelab::render::fields::Columns::new(&[
        "ip.src".into(),
        "tcp.port".into(),
        "dns.qry.name".into(),
        "data.data".into(),
    ])
    .expect("known names");
    for view in [
        View::Summary,
        View::Layers,
        View::Hex,
        View::Json,
        View::Fields,
    ] {
        let opts = Options {
            columns: columns.clone(),
            view,
            color: false,
            highlight: None,
            width: 80,
            // Fitted to the width: cutting lines of any bytes must not panic either.
            fit: true,
            absolute: false,
            ..Options::default()
        };
        let mut printer = Printer::new(Vec::new(), opts);
        printer.print(&d).expect("writing to memory cannot fail");
    }
    d
}

/// Check everything a dissection says against the frame it came from, and describe each
/// layer and field.
fn check_ranges(frame: &Frame) -> Dissection {
    let d = dissect(frame);
    if let Err(e) = validate(&d) {
        panic!("{e}");
    }
    for l in &d.layers {
        let _ = describe(&d, l);
    }
    for f in &d.fields {
        let _ = f.display(&d.data);
    }
    d
}

fn frame(link: u32, wire_len: u32, data: &[u8]) -> Frame<'_> {
    Frame {
        number: 1,
        ts: None,
        link: LinkType(link),
        wire_len,
        data,
    }
}

/// Every frame of every capture in the corpus, and a few frames built here, so the truncation
/// and bit-flip properties always have something to work on.
fn corpus_frames() -> &'static [OwnedFrame] {
    static FRAMES: OnceLock<Vec<OwnedFrame>> = OnceLock::new();
    FRAMES.get_or_init(|| {
        let mut out = Vec::new();
        let dir = common::corpus_or_fail("corpus frames for the fuzz properties");
        let mut names: Vec<_> = std::fs::read_dir(dir.join("pcaps"))
            .expect("corpus pcaps")
            .map(|e| e.expect("entry").path())
            .collect();
        // The captures of the registered protocols made by real programs (DHCP, TLS…).
        let own = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/captures");
        for d in std::fs::read_dir(own).into_iter().flatten().flatten() {
            for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
                if f.path().to_string_lossy().ends_with(".pcap") {
                    names.push(f.path());
                }
            }
        }
        names.sort();
        for path in names {
            let Ok(mut r) = CaptureReader::open(&path) else {
                continue;
            };
            while let Ok(Some(f)) = r.next_frame() {
                out.push(OwnedFrame::from(&f));
            }
        }
        out.extend(builtin_frames());
        out
    })
}

/// A handful of frames for when the corpus is not there: Ethernet/IPv4/UDP/DNS,
/// SLL/IPv6/ICMPv6 with a hop-by-hop header, an ICMP error quoting UDP, 802.1Q/ARP.
fn builtin_frames() -> Vec<OwnedFrame> {
    let hex = |s: &str| -> Vec<u8> {
        s.split_whitespace()
            .flat_map(|w| {
                (0..w.len())
                    .step_by(2)
                    .map(move |i| u8::from_str_radix(&w[i..i + 2], 16).expect("hex"))
            })
            .collect()
    };
    let frames = [
        (
            1,
            "ffffffffffff 000102030405 0800 4500003c00010000 4011f9ad 0a000001 0a000002 \
             c0000035 0028 0000 1234 0100 0001 0000 0000 0000 03777777 076578616d706c65 \
             036f7267 00 0001 0001",
        ),
        (
            113,
            "0000 0001 0006 000102030405 0000 86dd 6000000000203a40 \
             fe800000000000000000000000000001 ff020000000000000000000000000001 \
             3a00050200000100 87000000 00000000 fe800000000000000000000000000002",
        ),
        (
            1,
            "ffffffffffff 000102030405 0800 4500003800020000 4001f9bc 0a000002 0a000001 \
             0303fcfc00000000 4500003c00010000 4011f9ad 0a000001 0a000002 c0000035 0028 0000",
        ),
        (
            1,
            "ffffffffffff 000102030405 8100 a014 0806 0001080006040001 000102030405 c0a80102 \
             000000000000 c0a80107",
        ),
    ];
    frames
        .iter()
        .map(|(link, s)| {
            let data = hex(s);
            OwnedFrame {
                number: 1,
                ts: None,
                link: LinkType(*link),
                wire_len: data.len() as u32,
                data,
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Random bytes, for every link type, with a wire length that may be larger or smaller
    /// than what was captured.
    #[test]
    fn random_bytes(link in prop::sample::select(&LINKS[..]),
                    data in prop::collection::vec(any::<u8>(), 0..200),
                    extra in 0u32..100_000) {
        let wire = if extra % 3 == 0 { data.len() as u32 / 2 } else { data.len() as u32 + extra };
        check(&frame(link, wire, &data));
    }

    /// Random bytes behind a plausible start, so the fuzz gets past the first header: an
    /// Ethernet header with a chosen EtherType, or an IP header with a chosen protocol.
    #[test]
    fn random_payloads(kind in 0usize..14, tail in prop::collection::vec(any::<u8>(), 0..120)) {
        let (link, head): (u32, Vec<u8>) = match kind {
            0 => (1, [vec![0xff; 12], vec![0x08, 0x00, 0x45]].concat()),
            1 => (1, [vec![0xff; 12], vec![0x86, 0xdd, 0x60]].concat()),
            2 => (1, [vec![0xff; 12], vec![0x81, 0x00]].concat()),
            3 => (1, [vec![0xff; 12], vec![0x00, 0x40, 0xaa, 0xaa, 0x03, 0, 0, 0]].concat()),
            4 => (1, [vec![0xff; 12], vec![0x08, 0x06, 0, 1, 8, 0, 6, 4]].concat()),
            5 => (101, vec![0x45, 0, 0, 0, 0, 0, 0x20, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]),
            6 => (101, vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 53, 0, 53]),
            7 => (101, vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 53, 0, 53]),
            8 => (229, [vec![0x60, 0, 0, 0, 0, 0x40, 58, 64], vec![0; 32]].concat()),
            9 => (229, [vec![0x60, 0, 0, 0, 0, 0x40, 0, 64], vec![0; 32]].concat()),
            10 => (229, [vec![0x60, 0, 0, 0, 0, 0x40, 44, 64], vec![0; 32]].concat()),
            // DHCP: UDP 68 → 67, the fixed BOOTP part and the magic cookie, random options.
            11 => (101, [vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 68, 0, 67, 0, 0, 0, 0, 1, 1, 6, 0],
                         vec![0; 232], vec![99, 130, 83, 99]].concat()),
            // TLS: TCP with a handshake record header, random record bytes.
            12 => (101, [vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0xc0, 0, 1, 0xbb],
                         vec![0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 1, 0, 0, 0, 0, 0, 22, 3, 1, 0, 100, 1, 0, 0, 96]].concat()),
            _ => (0, vec![2, 0, 0, 0, 0x45]),
        };
        let data = [head, tail].concat();
        check(&frame(link, data.len() as u32, &data));
    }

    /// Real frames cut short at any length, as a small snap length would.
    #[test]
    fn truncated_real_frames(pick in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let frames = corpus_frames();
        let f = &frames[pick.index(frames.len())];
        let keep = cut.index(f.data.len() + 1);
        check(&frame(f.link.0, f.wire_len.max(f.data.len() as u32), &f.data[..keep]));
    }

    /// Real frames with a few bits flipped, as damage or a hostile sender would leave them.
    #[test]
    fn bit_flipped_real_frames(pick in any::<prop::sample::Index>(),
                               flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..8)) {
        let frames = corpus_frames();
        let f = &frames[pick.index(frames.len())];
        let mut data = f.data.clone();
        if !data.is_empty() {
            for (i, bit) in flips {
                let i = i.index(data.len());
                data[i] ^= 1 << bit;
            }
        }
        check(&frame(f.link.0, f.wire_len, &data));
    }

    /// Runs of IP fragments, IPv4 or IPv6, with random ids, offsets, "more" bits, protocols
    /// and payloads (overlapping, duplicated, past the end, cut short by the capture), through
    /// the whole pipeline: the reassembler never panics and every dissection it leaves, the
    /// datagrams it put back together included, keeps the engine's promises and renders.
    #[test]
    fn random_fragments(pieces in prop::collection::vec(
        (0u16..3, 0u16..40, any::<bool>(), prop::sample::select(&[1u8, 6, 17, 58, 99][..]),
         prop::collection::vec(any::<u8>(), 0..120), any::<bool>(), 0usize..8),
        1..10)) {
        use wirelab::pipeline::{Config, Pipeline};
        let mut p = Pipeline::new(Config::full());
        let columns = wirelab::render::fields::Columns::new(&["ip.fragment".into(), "udp.length".into()]).unwrap();
        for (n, (id, off, more, proto, payload, v6, cut)) in pieces.into_iter().enumerate() {
            let data = if v6 {
                let len = (8 + payload.len()) as u16;
                let mut h = vec![0x60, 0, 0, 0];
                h.extend_from_slice(&len.to_be_bytes());
                h.extend_from_slice(&[44, 64]);
                h.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
                h.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
                let fo = (off << 3) | more as u16;
                h.extend_from_slice(&[proto, 0]);
                h.extend_from_slice(&fo.to_be_bytes());
                h.extend_from_slice(&(id as u32).to_be_bytes());
                [h, payload].concat()
            } else {
                let len = (20 + payload.len()) as u16;
                let fo = off | if more { 0x2000 } else { 0 };
                let mut h = vec![0x45, 0];
                h.extend_from_slice(&len.to_be_bytes());
                h.extend_from_slice(&id.to_be_bytes());
                h.extend_from_slice(&fo.to_be_bytes());
                h.extend_from_slice(&[64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
                [h, payload].concat()
            };
            let keep = data.len() - cut.min(data.len());
            let d = p.push(&Frame {
                number: n as u64 + 1,
                ts: None,
                link: LinkType(if v6 { 229 } else { 228 }),
                wire_len: data.len() as u32,
                data: &data[..keep],
            });
            if let Err(e) = validate(d) {
                panic!("{e}");
            }
            for l in &d.layers {
                let _ = describe(d, l);
            }
            for view in [View::Layers, View::Json, View::Hex, View::Fields] {
                let opts = Options { view, width: 80, columns: columns.clone(), ..Options::default() };
                let mut printer = Printer::new(Vec::new(), opts);
                printer.print(d).expect("writing to memory cannot fail");
            }
        }
        p.finish();
    }

    /// Real frames handed to the wrong link type's dissector.
    #[test]
    fn real_frames_under_another_link_type(pick in any::<prop::sample::Index>(),
                                           link in prop::sample::select(&LINKS[..])) {
        let frames = corpus_frames();
        let f = &frames[pick.index(frames.len())];
        check(&frame(link, f.wire_len, &f.data));
    }
}

/// Every corpus frame, whole and cut at every length: a deterministic sweep that does not rely
/// on proptest's sampling to reach each header boundary. (Rendering every cut would make the
/// sweep quadratic in the frame length, so only the whole frame is rendered.)
#[test]
fn every_corpus_frame_at_every_length() {
    for f in corpus_frames() {
        check(&frame(f.link.0, f.wire_len, &f.data));
        for keep in 0..f.data.len() {
            check_ranges(&frame(f.link.0, f.wire_len, &f.data[..keep]));
        }
    }
}

#[test]
fn empty_frame_for_every_link_type() {
    for link in LINKS {
        let d = check(&frame(link, 0, &[]));
        assert!(d.layers.iter().all(|l| l.len == 0));
    }
}

/// Replay an input of the `dissect` cargo-fuzz target exactly as the target reads it: byte 0
/// picks the link type, byte 1 the wire length, the rest is the frame.
fn replay(hex: &str) {
    let input: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    let [pick, wire, data @ ..] = &input[..] else {
        return;
    };
    let link = LINKS[*pick as usize % LINKS.len()];
    let len = data.len() as u32;
    let wire_len = match wire % 3 {
        0 => len,
        1 => len + (*wire as u32) * 97,
        _ => len / 2,
    };
    check(&frame(link, wire_len, data));
}

/// Found by cargo-fuzz: an IPv4 header with options (IHL 13) whose total length leaves only
/// 4 bytes for UDP, followed by padding. The UDP header was read from the padding and its
/// checksum check indexed byte 6 of a 4-byte datagram.
#[test]
fn crash_udp_header_longer_than_ip_payload() {
    replay(
        "0100a89c6c86efb5a8a159bff21e08004d0000384b550000801100000a00000401010101dc200035\
         00240c3b00050100000100000000000006676f6f676c6503636f6d00001cffffffffffffffffffffff\
         ffffffffffffffffffffffffffffffffffffffffffffffff68ffffffffffffffffffffffffffffffff\
         ffffffffffffffffffffffffff0001",
    );
}
