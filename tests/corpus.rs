//! Agreement with Wireshark on real captures that no one here wrote.
//!
//! `tests/corpus/` (or `$WIRELAB_CORPUS`) holds capture files from tcpdump's, Zeek's and
//! gopacket's test suites, and for each the fields tshark 4.0.17 decoded from every packet
//! (`oracle/noreassembly/*.tsv`, made with reassembly off, because wirelab dissects each frame
//! on its own). This test dissects every packet of every file and compares every field:
//!
//! * an empty oracle cell means tshark found no such field, and wirelab must not have one;
//! * otherwise both must have it, with the same value (numbers compared as numbers, so `0x0800`
//!   equals `2048`; addresses as addresses; repeated fields as lists, outermost first).
//!
//! It prints the agreement for every field (`ip.src 100.0% (n=612)`) and writes the table to
//! `target/corpus-agreement.txt`. A difference fails the test unless `tests/corpus_allow.tsv`
//! lists it with the reason (a tshark heuristic, not a wirelab bug).
//!
//! The corpus is part of the repository; a checkout without it fails here rather than passing
//! without comparing anything. Each file's origin is in `tests/corpus/manifest.tsv`, and
//! [`every_capture_is_the_one_the_manifest_names`] checks the bytes against its sha256.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;

use wirelab::dissect::{Dissection, dissect_into};
use wirelab::render::json::flat_fields;
use wirelab::source::file::CaptureReader;

/// Columns that wirelab's engine answers for (the rest: HTTP and WebSocket, which live in the
/// reassembled stream, are compared by their own tests).
fn compared(column: &str) -> bool {
    let prefixes = [
        "frame.", "eth.", "vlan.", "sll.", "null.", "ip.", "ipv6.", "tcp.", "udp.", "icmp.",
        "icmpv6.", "arp.", "dns.",
    ];
    column != "frame.protocols" && prefixes.iter().any(|p| column.starts_with(p))
}

/// The layer stack as `frame.protocols` gives it, kept to the protocols the per-frame engine
/// dissects (tshark's pseudo-layers such as `ethertype` and `data`, and the application layers
/// that live in reassembled streams, are left out). tshark files the IPv6 extension headers
/// as layers of their own (`ipv6.hopopts`); wirelab keeps them inside the IPv6 layer, and it
/// calls an 802.1ad service tag a VLAN layer too.
fn stack(protocols: &str) -> String {
    const ENGINE: [&str; 14] = [
        "eth",
        "sll",
        "null",
        "vlan",
        "llc",
        "arp",
        "ip",
        "ipv6",
        "icmp",
        "icmpv6",
        "tcp",
        "udp",
        "dns",
        "ieee8021ad",
    ];
    protocols
        .split(':')
        .filter(|p| ENGINE.contains(p))
        .map(|p| if p == "ieee8021ad" { "vlan" } else { p })
        .collect::<Vec<_>>()
        .join(":")
}

/// One allowed difference: a file, a frame (or `*`), a field (or `*`), and why.
struct Allow {
    file: String,
    frame: String,
    field: String,
    reason: String,
    used: bool,
}

fn load_allow_list() -> Vec<Allow> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus_allow.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut parts = l.splitn(4, '\t');
            let mut next = || parts.next().unwrap_or("").trim().to_string();
            Allow {
                file: next(),
                frame: next(),
                field: next(),
                reason: next(),
                used: false,
            }
        })
        .collect()
}

/// Do two cells say the same thing?
fn same(ours: &str, theirs: &str) -> bool {
    if ours == theirs {
        return true;
    }
    let a: Vec<&str> = ours.split(',').collect();
    let b: Vec<&str> = theirs.split(',').collect();
    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| same_one(x, y))
}

fn same_one(a: &str, b: &str) -> bool {
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return x == y;
    }
    if let (Ok(x), Ok(y)) = (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        return x == y;
    }
    false
}

fn number(s: &str) -> Option<u128> {
    if let Some(h) = s.strip_prefix("0x") {
        u128::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

#[derive(Default)]
struct Tally {
    n: u64,
    agree: u64,
    allowed: u64,
}

#[test]
fn every_field_agrees_with_tshark() {
    let corpus = common::corpus_or_fail("corpus agreement");
    let mut allow = load_allow_list();
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    let mut malformed = Tally::default();
    let mut stricter: Vec<String> = Vec::new();
    let mut files = 0;
    let mut packets = 0;

    let mut names: Vec<_> = std::fs::read_dir(corpus.join("pcaps"))
        .expect("corpus pcaps")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .into_string()
                .expect("utf-8 name")
        })
        .collect();
    names.sort();
    // While working on one protocol, `CORPUS_ONLY=vlan cargo test --test corpus` compares only
    // the files whose names contain "vlan" (and checks only their allow-list entries).
    let only = std::env::var("CORPUS_ONLY").unwrap_or_default();
    names.retain(|n| n.contains(&only));
    for name in &names {
        let name = name.clone();
        let oracle_path = corpus
            .join("oracle/noreassembly")
            .join(format!("{name}.tsv"));
        let oracle = std::fs::read_to_string(&oracle_path).expect("oracle file");
        let mut lines = oracle.lines();
        let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();

        let mut reader = match CaptureReader::open(&corpus.join("pcaps").join(&name)) {
            Ok(r) => r,
            Err(e) => {
                if rows.is_empty() {
                    files += 1;
                    continue; // an empty file tshark also found no packets in
                }
                failures.push(format!("{name}: cannot open: {e}"));
                continue;
            }
        };
        files += 1;
        let mut d = Dissection::default();
        let mut i = 0;
        loop {
            let frame = match reader.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    failures.push(format!("{name}: read error after {i} frames: {e}"));
                    break;
                }
            };
            dissect_into(&mut d, &frame);
            let Some(row) = rows.get(i) else {
                failures.push(format!("{name}: wirelab read more frames than tshark"));
                break;
            };
            i += 1;
            packets += 1;
            let ours: HashMap<String, String> = flat_fields(&d)
                .into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
                .collect();
            let frame_no = i.to_string();
            for (col, theirs) in header.iter().zip(row.iter()) {
                let col = *col;
                if col == "frame.protocols" {
                    let (want, got) = (stack(theirs), stack(&d.protocols()));
                    let t = tallies
                        .entry("frame.protocols (engine layers)".into())
                        .or_default();
                    t.n += 1;
                    if want == got {
                        t.agree += 1;
                    } else if allowed(&mut allow, &name, &frame_no, col).is_some() {
                        t.allowed += 1;
                    } else {
                        failures.push(format!(
                            "{name} frame {frame_no} layers: tshark {want:?}, wirelab {got:?}"
                        ));
                    }
                    continue;
                }
                if col == "_ws.malformed" {
                    let cap: u64 = row[2].parse().unwrap_or(0);
                    let wire: u64 = row[1].parse().unwrap_or(0);
                    let expect = !theirs.is_empty() || cap < wire;
                    if !expect && d.is_malformed() {
                        // Not a failure (wirelab may be stricter than tshark), but listed so
                        // that every extra problem can be looked at.
                        let why: Vec<String> = d
                            .problems
                            .iter()
                            .map(|p| format!("{}: {}", p.proto.short(), p.message))
                            .collect();
                        stricter.push(format!("{name} frame {frame_no}: {}", why.join("; ")));
                    }
                    if expect {
                        malformed.n += 1;
                        if d.is_malformed() {
                            malformed.agree += 1;
                        } else if let Some(a) = allowed(&mut allow, &name, &frame_no, col) {
                            malformed.allowed += 1;
                            let _ = a;
                        } else {
                            failures.push(format!(
                                "{name} frame {frame_no}: tshark marks it malformed or truncated; wirelab found no problem"
                            ));
                        }
                    }
                    continue;
                }
                if !compared(col) {
                    continue;
                }
                let ours_v = ours.get(col).map(String::as_str).unwrap_or("");
                if theirs.is_empty() && ours_v.is_empty() {
                    continue;
                }
                let t = tallies.entry(col.to_string()).or_default();
                t.n += 1;
                if same(ours_v, theirs) {
                    t.agree += 1;
                } else if allowed(&mut allow, &name, &frame_no, col).is_some() {
                    t.allowed += 1;
                } else {
                    failures.push(format!(
                        "{name} frame {frame_no} {col}: tshark {theirs:?}, wirelab {ours_v:?}"
                    ));
                }
            }
        }
        if i != rows.len() {
            failures.push(format!(
                "{name}: wirelab read {i} frames, tshark {}",
                rows.len()
            ));
        }
    }

    let mut table = String::new();
    let _ = writeln!(
        table,
        "Agreement with tshark 4.0.17 over {files} files, {packets} packets (noreassembly oracle)"
    );
    let _ = writeln!(table, "{:<32} {:>7}  {:>6}  allowed", "field", "agree", "n");
    for (col, t) in &tallies {
        let pct = 100.0 * (t.agree + t.allowed) as f64 / t.n.max(1) as f64;
        let _ = writeln!(
            table,
            "{col:<32} {pct:>6.1}%  {:>6}  {}",
            t.n,
            if t.allowed > 0 {
                t.allowed.to_string()
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(
        table,
        "{:<32} {:>6.1}%  {:>6}  {}   (tshark malformed or cut short ⇒ wirelab reports a problem)",
        "_ws.malformed",
        100.0 * (malformed.agree + malformed.allowed) as f64 / malformed.n.max(1) as f64,
        malformed.n,
        malformed.allowed
    );
    let _ = writeln!(
        table,
        "\nProblems wirelab reports where tshark marks nothing ({}):",
        stricter.len()
    );
    for s in &stricter {
        let _ = writeln!(table, "  {s}");
    }
    let _ = writeln!(
        table,
        "\nAllowed differences (each a tshark heuristic or preference, not a wirelab bug):"
    );
    for a in allow.iter().filter(|a| a.used) {
        let _ = writeln!(
            table,
            "  {} frame {} {}: {}",
            a.file, a.frame, a.field, a.reason
        );
    }
    let stale: Vec<_> = allow
        .iter()
        .filter(|a| !a.used && names.contains(&a.file))
        .collect();
    for a in &stale {
        failures.push(format!(
            "allow-list entry no longer needed: {} {} {}",
            a.file, a.frame, a.field
        ));
    }
    println!("{table}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/corpus-agreement.txt");
    let _ = std::fs::create_dir_all(out.parent().expect("target"));
    let _ = std::fs::write(&out, &table);

    if !failures.is_empty() {
        let show = std::env::var("CORPUS_SHOW")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(60);
        let shown: Vec<_> = failures.iter().take(show).cloned().collect();
        panic!(
            "{} difference(s) from tshark (first {}):\n{}",
            failures.len(),
            shown.len(),
            shown.join("\n")
        );
    }
}

fn allowed<'a>(allow: &'a mut [Allow], file: &str, frame: &str, field: &str) -> Option<&'a Allow> {
    let a = allow.iter_mut().find(|a| {
        a.file == file
            && (a.frame == "*" || a.frame == frame)
            && (a.field == "*" || a.field == field)
    })?;
    a.used = true;
    Some(a)
}

/// Every capture named by the manifest is present, byte for byte as in its source repository
/// (its sha256), and every capture present is named by the manifest with its origin.
#[test]
fn every_capture_is_the_one_the_manifest_names() {
    use sha2::{Digest, Sha256};
    let corpus = common::corpus_or_fail("corpus manifest");
    let manifest = std::fs::read_to_string(corpus.join("manifest.tsv")).expect("manifest.tsv");
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().expect("a header line").split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("manifest.tsv has no column {name}"))
    };
    let (file, repo, sha) = (col("file"), col("source_repo"), col("sha256"));
    let mut named = BTreeSet::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let row: Vec<&str> = line.split('\t').collect();
        let bytes = std::fs::read(corpus.join("pcaps").join(row[file]))
            .unwrap_or_else(|e| panic!("{}: {e}", row[file]));
        let got: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, row[sha], "{} differs from its source", row[file]);
        assert!(!row[repo].is_empty(), "{} has no origin", row[file]);
        named.insert(row[file].to_string());
    }
    for e in std::fs::read_dir(corpus.join("pcaps")).expect("pcaps/") {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        assert!(named.contains(&name), "{name} is not in manifest.tsv");
    }
    assert_eq!(named.len(), 119, "the corpus holds 119 captures");
}
