//! Every registered protocol agrees with Wireshark, field by field: for each protocol of the
//! registry (src/dissect/registry.rs), every capture in `tests/captures/<name>/` (made by real
//! programs, see tests/captures/README.md) and every capture of the corpus whose tshark
//! reading has that protocol (tests/corpus/oracle), each field of the protocol's tables as
//! wirelab reads it and as `tshark -T fields` prints it, frame by frame. Per-field agreement is
//! printed; any difference not in tests/registry_allow.tsv (with its reason) fails.
//!
//! tshark runs with TCP reassembly off (`tcp.desegment_tcp_streams:FALSE`): wirelab reads a
//! registered protocol in the segment that carries it (TLS records are not put back together
//! across segments), so the two read the same bytes.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use wirelab::dissect::REGISTERED;
use wirelab::dissect::registry::Protocol;

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The captures of one protocol: its own, then the corpus's.
fn captures(p: &Protocol) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut v: Vec<PathBuf> = std::fs::read_dir(root.join("tests/captures").join(p.short))
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().contains(".pcap"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    let corpus = common::corpus_or_fail("registry_tshark");
    let mut more: Vec<PathBuf> = std::fs::read_dir(corpus.join("oracle"))
        .expect("oracle")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let pcap = name.strip_suffix(".tsv")?;
            let text = std::fs::read_to_string(e.path()).ok()?;
            // frame.protocols, such as `eth:ethertype:ip:udp:dhcp`, names the protocol.
            let names_it = |cell: &str| cell.contains(':') && cell.split(':').any(|x| x == p.short);
            text.lines()
                .any(|l| l.split('\t').any(names_it))
                .then(|| corpus.join("pcaps").join(pcap))
        })
        .collect();
    more.sort();
    v.extend(more);
    v
}

/// One protocol, compared on all its captures.
fn compare(p: &Protocol, tally: &mut BTreeMap<String, (u64, u64)>) -> Vec<String> {
    let mut bad = Vec::new();
    for path in captures(p) {
        bad.extend(common::registry_agreement(p, &path, tally));
    }
    bad
}

#[test]
fn registered_protocols_agree_with_tshark() {
    if !tshark_available() {
        common::skip_or_fail("registry_tshark", "tshark is not installed");
        return;
    }
    let mut bad = Vec::new();
    for p in REGISTERED {
        let mut tally = BTreeMap::new();
        bad.extend(compare(p, &mut tally));
        assert!(!tally.is_empty(), "{}: no field of it was compared", p.name);
        common::print_tally(
            &format!(
                "{} fields, wirelab against tshark (agreed/compared):",
                p.name
            ),
            &tally,
        );
    }
    assert!(
        bad.is_empty(),
        "{} differences:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
