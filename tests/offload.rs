//! Checksum offload: a packet captured on the host that sent it carries, in its TCP or UDP
//! checksum, only the pseudo-header's sum (the network card finishes it later). wirelab says
//! "not yet computed (checksum offload)" for those instead of flagging a bad checksum (tshark,
//! asked to check, says "maybe caused by checksum offload"); a checksum wrong in any other way
//! is still bad.
//!
//! The capture is `tests/captures/loopback-offload.pcap` (see tests/captures/README.md): made
//! on loopback, where every checksum is such a placeholder. tshark with checksum validation on
//! is the witness that each of them is not a correct checksum.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use wirelab::dissect::{Dissection, ProblemKind};
use wirelab::pipeline::{Config, Pipeline};
use wirelab::source::file::read_all;

fn capture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/captures/loopback-offload.pcap")
}

fn dissect(path: &Path) -> Vec<Dissection> {
    let frames = read_all(path).expect("read the capture");
    Pipeline::collect(Config::full(), frames.iter().map(|f| f.as_frame()))
}

/// The frame's own (not quoted) TCP or UDP checksum field's meaning.
fn checksum_meaning(d: &Dissection) -> Option<String> {
    let name = if d.tcp_segment().is_some() {
        "tcp.checksum"
    } else if d.udp_datagram().is_some() {
        "udp.checksum"
    } else {
        return None;
    };
    d.field(name).map(|f| f.meaning.to_string())
}

#[test]
fn loopback_checksums_are_not_yet_computed_not_bad() {
    let ds = dissect(&capture());
    assert_eq!(ds.len(), 14);
    let mut placeholders = 0;
    for d in &ds {
        assert!(
            !d.problems
                .iter()
                .any(|p| p.kind == ProblemKind::BadChecksum),
            "frame {}: {:?}",
            d.number,
            d.problems
        );
        if let Some(m) = checksum_meaning(d) {
            assert!(
                m.starts_with("not yet computed (checksum offload)"),
                "frame {}: {m}",
                d.number
            );
            placeholders += 1;
        }
    }
    assert_eq!(placeholders, 12, "10 TCP segments and 2 UDP datagrams");
}

#[test]
fn tshark_calls_the_same_checksums_wrong() {
    let ok = Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        common::skip_or_fail(
            "tshark_calls_the_same_checksums_wrong",
            "tshark is not installed",
        );
        return;
    }
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(capture())
        .args([
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
        ])
        .args(["-T", "fields", "-E", "occurrence=f"])
        .args(["-e", "tcp.checksum.status", "-e", "udp.checksum.status"])
        .output()
        .expect("run tshark");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let ds = dissect(&capture());
    for (d, line) in ds.iter().zip(text.lines()) {
        let (tcp, udp) = line.split_once('\t').unwrap();
        // Frames 2 and 14 are ICMP errors: the first status is the quoted datagram's.
        let own = if d.tcp_segment().is_some() {
            tcp
        } else if d.udp_datagram().is_some() {
            udp
        } else {
            continue;
        };
        // tshark 4.0: 0 bad, 1 good, 2 not checked.
        assert_eq!(
            own, "0",
            "frame {}: tshark finds this checksum wrong",
            d.number
        );
        assert!(checksum_meaning(d).unwrap().contains("checksum offload"));
    }
}

#[test]
fn a_really_wrong_checksum_is_still_bad() {
    let frames = read_all(&capture()).expect("read");
    // Frame 6 is the HTTP request: change its TCP checksum (Ethernet-less loopback pcap:
    // find the TCP header through the dissection).
    let d = &dissect(&capture())[5];
    let seg = d.tcp_segment().expect("TCP");
    let at = d.layers[seg.layer as usize].at as usize + 16;
    let mut data = frames[5].data.clone();
    data[at + 1] ^= 0x01;
    let mut f = frames[5].as_frame();
    f.data = &data;
    let bad = wirelab::dissect::dissect(&f);
    assert!(
        bad.problems
            .iter()
            .any(|p| p.kind == ProblemKind::BadChecksum),
        "{:?}",
        bad.problems
    );
    assert_eq!(bad.field("tcp.checksum").unwrap().meaning, "wrong");

    // And the corpus' captures with broken checksums stay broken.
    let corpus = common::corpus_or_fail("offload").join("pcaps");
    for name in [
        "zeek_chksums-ip4-tcp-bad-chksum.pcap",
        "zeek_chksums-ip6-tcp-bad-chksum.pcap",
    ] {
        let ds = dissect(&corpus.join(name));
        assert!(
            ds.iter().any(|d| d
                .problems
                .iter()
                .any(|p| p.kind == ProblemKind::BadChecksum)),
            "{name}"
        );
    }
}
