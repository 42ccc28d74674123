//! Damaged capture files: `wirelab dissect` shows every packet before the damage, then says on
//! stderr which file is damaged and at which byte offset, and exits with a non-zero code.
//!
//! The damaged files are built here, byte by byte, in a temporary directory (and
//! cut from real corpus files (tests/corpus) at test time). Nothing is committed.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

/// A small Ethernet/IPv4/UDP frame whose source port tells the frames apart.
fn udp_frame(port: u16) -> Vec<u8> {
    let mut f = vec![
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 1, 2, 3, 4, 5, 0x08, 0x00,
    ];
    let ip = [
        0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    f.extend_from_slice(&ip);
    f.extend_from_slice(&port.to_be_bytes());
    f.extend_from_slice(&[0x1f, 0x90, 0, 12, 0, 0, b'h', b'i', b'!', b'!']);
    f
}

/// A classic little-endian pcap file (microseconds, Ethernet) holding `frames`, and the byte
/// offset where each record starts.
fn pcap(frames: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&[0; 8]); // time zone, accuracy
    b.extend_from_slice(&65535u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    let mut starts = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        starts.push(b.len());
        b.extend_from_slice(&(1_700_000_000u32 + i as u32).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(f);
    }
    (b, starts)
}

/// A little-endian pcapng file: a Section Header Block, one Ethernet interface, and one
/// Enhanced Packet Block per frame. Returns the bytes and where each block starts.
fn pcapng(frames: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
    fn block(out: &mut Vec<u8>, ty: u32, body: &[u8]) {
        let len = 12 + body.len().next_multiple_of(4);
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&(len as u32).to_le_bytes());
        out.extend_from_slice(body);
        out.resize(out.len() + (body.len().next_multiple_of(4) - body.len()), 0);
        out.extend_from_slice(&(len as u32).to_le_bytes());
    }
    let mut b = Vec::new();
    let mut starts = vec![0];
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut b, 0x0a0d0d0a, &shb);
    starts.push(b.len());
    let mut idb = Vec::new();
    idb.extend_from_slice(&1u16.to_le_bytes()); // Ethernet
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&65535u32.to_le_bytes());
    block(&mut b, 1, &idb);
    for (i, f) in frames.iter().enumerate() {
        starts.push(b.len());
        let ts = (1_700_000_000u64 + i as u64) * 1_000_000;
        let mut epb = Vec::new();
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(f.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(f.len() as u32).to_le_bytes());
        epb.extend_from_slice(f);
        block(&mut b, 6, &epb);
    }
    (b, starts)
}

fn three_frames() -> Vec<Vec<u8>> {
    vec![udp_frame(1001), udp_frame(1002), udp_frame(1003)]
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write test file");
    p
}

/// Run `wirelab dissect --view json FILE`; returns (frame numbers printed, stderr, exit code).
fn dissect(path: &Path) -> (Vec<u64>, String, i32) {
    let out = Command::cargo_bin("wirelab")
        .expect("binary")
        .args(["--color", "never", "dissect", "--view", "json"])
        .arg(path)
        .env_remove("NO_COLOR")
        .output()
        .expect("run wirelab");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    let numbers = stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("one JSON object a line");
            v["number"].as_u64().expect("number")
        })
        .collect();
    let stderr = String::from_utf8(out.stderr).expect("utf-8 stderr");
    (numbers, stderr, out.status.code().unwrap_or(-1))
}

/// Check a damaged file: the first `shown` frames are printed, then an error naming the file
/// and `offset`, and the exit code is not 0.
fn assert_damaged(path: &Path, shown: u64, offset: usize, what: &str) {
    let (numbers, stderr, code) = dissect(path);
    let expect: Vec<u64> = (1..=shown).collect();
    assert_eq!(numbers, expect, "{what}: frames printed before the damage");
    assert_ne!(
        code, 0,
        "{what}: exit code must say it failed; stderr: {stderr}"
    );
    let name = path.display().to_string();
    assert!(
        stderr.contains(&name),
        "{what}: stderr must name the file: {stderr}"
    );
    assert!(
        stderr.contains(&format!("byte offset {offset}:")),
        "{what}: stderr must give byte offset {offset}: {stderr}"
    );
}

#[test]
fn pcap_cut_inside_records() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, starts) = pcap(&three_frames());
    // Cut inside the second record's header, inside its data, and one byte before the end.
    for (cut, shown, offset) in [
        (starts[1] + 5, 1, starts[1]),
        (starts[1] + 16 + 10, 1, starts[1]),
        (starts[2] + 16, 2, starts[2]),
        (file.len() - 1, 2, starts[2]),
    ] {
        let p = write(dir.path(), &format!("cut{cut}.pcap"), &file[..cut]);
        assert_damaged(&p, shown, offset, &format!("pcap cut at {cut}"));
    }
}

#[test]
fn pcap_cut_inside_file_header() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, _) = pcap(&three_frames());
    for cut in [1, 4, 10, 23] {
        let p = write(dir.path(), &format!("head{cut}.pcap"), &file[..cut]);
        assert_damaged(&p, 0, 0, &format!("pcap header cut at {cut}"));
    }
}

#[test]
fn pcap_cut_exactly_between_records_is_not_damage() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, starts) = pcap(&three_frames());
    let p = write(dir.path(), "two.pcap", &file[..starts[2]]);
    let (numbers, stderr, code) = dissect(&p);
    assert_eq!(numbers, [1, 2]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn pcapng_cut_inside_blocks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file, starts) = pcapng(&three_frames());
    // starts: [SHB, IDB, EPB 1, EPB 2, EPB 3]
    for (cut, shown, offset) in [
        (10, 0, 0),
        (starts[1] + 6, 0, starts[1]),
        (starts[3] + 3, 1, starts[3]),
        (starts[3] + 30, 1, starts[3]),
        (file.len() - 2, 2, starts[4]),
    ] {
        let p = write(dir.path(), &format!("cut{cut}.pcapng"), &file[..cut]);
        assert_damaged(&p, shown, offset, &format!("pcapng cut at {cut}"));
    }
}

#[test]
fn bad_magic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut file, _) = pcap(&three_frames());
    file[..4].copy_from_slice(b"GIF8");
    let p = write(dir.path(), "picture.pcap", &file);
    assert_damaged(&p, 0, 0, "bad magic");
    let (_, stderr, _) = dissect(&p);
    assert!(stderr.contains("not a pcap or pcapng file"), "{stderr}");
}

#[test]
fn pcap_absurd_record_length() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut file, starts) = pcap(&three_frames());
    // Second record: captured length 2 GiB.
    let at = starts[1] + 8;
    file[at..at + 4].copy_from_slice(&0x8000_0000u32.to_le_bytes());
    let p = write(dir.path(), "absurd.pcap", &file);
    assert_damaged(&p, 1, starts[1], "absurd pcap record length");
    let (_, stderr, _) = dissect(&p);
    assert!(stderr.contains("2147483648"), "{stderr}");
}

#[test]
fn pcapng_absurd_block_length() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut file, starts) = pcapng(&three_frames());
    let at = starts[3] + 4;
    file[at..at + 4].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let p = write(dir.path(), "absurd.pcapng", &file);
    assert_damaged(&p, 1, starts[3], "absurd pcapng block length");
}

#[test]
fn pcapng_block_length_too_small() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut file, starts) = pcapng(&three_frames());
    let at = starts[4] + 4;
    file[at..at + 4].copy_from_slice(&8u32.to_le_bytes());
    let p = write(dir.path(), "small.pcapng", &file);
    assert_damaged(&p, 2, starts[4], "pcapng block length below 12");
}

#[test]
fn empty_file_is_an_error_that_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = write(dir.path(), "empty.pcap", &[]);
    let (numbers, stderr, code) = dissect(&p);
    assert!(numbers.is_empty());
    assert_ne!(code, 0);
    assert!(stderr.contains("empty"), "{stderr}");
    assert!(stderr.contains(&p.display().to_string()), "{stderr}");
}

#[test]
fn zero_packet_files_are_fine() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (pcap_file, _) = pcap(&[]);
    let (ng_file, _) = pcapng(&[]);
    for (name, bytes) in [("none.pcap", pcap_file), ("none.pcapng", ng_file)] {
        let p = write(dir.path(), name, &bytes);
        Command::cargo_bin("wirelab")
            .expect("binary")
            .args(["dissect"])
            .arg(&p)
            .assert()
            .success()
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains("no packets"));
    }
}

#[test]
fn missing_file() {
    Command::cargo_bin("wirelab")
        .expect("binary")
        .args(["dissect", "/nonexistent/wirelab-test.pcap"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("/nonexistent/wirelab-test.pcap"));
}

/// Real corpus captures cut at many places: whatever the cut, the records wholly before it
/// are shown and the error names the offset of the record it falls in.
#[test]
fn corpus_files_cut_at_many_offsets() {
    let corpus = common::corpus_or_fail("cutting corpus files");
    let dir = tempfile::tempdir().expect("temp dir");
    for name in [
        "zeek_tcp-retransmit-fast009.pcap",
        "tcpdump_dns_tcp.pcap",
        "zeek_vlan-pcp-dei.pcapng",
        "zeek_pcapng-multi-interface.pcapng",
    ] {
        let bytes = std::fs::read(corpus.join("pcaps").join(name)).expect("corpus file");
        let starts = record_starts(&bytes);
        assert!(starts.len() > 2, "{name}: could not walk its records");
        let packets = packet_records(&bytes);
        // Seven cuts spread over the file, none on a record boundary.
        for k in 1..=7 {
            let mut cut = bytes.len() * k / 8;
            while starts.contains(&cut) {
                cut += 1;
            }
            let record = *starts.iter().rev().find(|&&s| s < cut).expect("a record");
            let shown = packets.iter().filter(|&&(_, end)| end <= cut).count() as u64;
            let p = write(dir.path(), &format!("{k}-{name}"), &bytes[..cut]);
            assert_damaged(&p, shown, record, &format!("{name} cut at {cut}"));
        }
    }
}

/// Where each record (pcap) or block (pcapng) of a little-endian file starts; the file end is
/// included as the last entry.
fn record_starts(bytes: &[u8]) -> Vec<usize> {
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    let mut out = Vec::new();
    if u32_at(0) == 0x0a0d0d0a {
        let mut i = 0;
        while i + 8 <= bytes.len() {
            out.push(i);
            i += u32_at(i + 4) as usize;
        }
    } else {
        let mut i = 24;
        while i + 16 <= bytes.len() {
            out.push(i);
            i += 16 + u32_at(i + 8) as usize;
        }
    }
    out.push(bytes.len());
    out
}

/// Each record or block that holds a packet, as (start, end).
fn packet_records(bytes: &[u8]) -> Vec<(usize, usize)> {
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    let starts = record_starts(bytes);
    let ng = u32_at(0) == 0x0a0d0d0a;
    starts
        .windows(2)
        .filter(|w| !ng || matches!(u32_at(w[0]), 2 | 3 | 6))
        .map(|w| (w[0], w[1]))
        .collect()
}
