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
use wirelab::pipeline::{Config, Pipeline};
use wirelab::source::file::read_all;

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

/// Allowed differences: (capture file name or *, frame or *, field or *) with a reason.
fn allowed() -> Vec<(String, String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/registry_allow.tsv");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert!(
                c.len() >= 4,
                "registry_allow.tsv: a row needs file, frame, field, reason: {l}"
            );
            (c[0].to_string(), c[1].to_string(), c[2].to_string())
        })
        .collect()
}

/// tshark's values of `names`, one row per frame, one cell per name (all occurrences,
/// comma-separated).
fn tshark_rows(path: &Path, names: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-o", "tcp.desegment_tcp_streams:FALSE", "-r"])
        .arg(path)
        .args(["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]);
    for n in names {
        cmd.args(["-e", n]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// One protocol, compared on all its captures: (field → (compared, agreed)), and the
/// differences not allowed.
fn compare(p: &Protocol, tally: &mut BTreeMap<String, (u64, u64)>) -> Vec<String> {
    let names: Vec<&str> = {
        let mut v: Vec<&str> = p
            .fields
            .iter()
            .flat_map(|t| t.iter().map(|f| f.name))
            .collect();
        v.dedup();
        v
    };
    let allow = allowed();
    let mut bad = Vec::new();
    for path in captures(p) {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let theirs = tshark_rows(&path, &names);
        let frames = read_all(&path).expect("reads");
        let mut pl = Pipeline::new(Config::full());
        for (i, f) in frames.iter().enumerate() {
            let d = pl.push(&f.as_frame());
            for (k, name) in names.iter().enumerate() {
                let mine: Vec<String> = d
                    .fields
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.name == *name)
                    .map(|(j, f)| common::tshark_norm(&f.tshark(d.field_bytes(j))))
                    .collect();
                let mine = mine.join(",");
                let want = theirs
                    .get(i)
                    .and_then(|r| r.get(k))
                    .map(|v| common::tshark_norm(v))
                    .unwrap_or_default();
                if mine.is_empty() && want.is_empty() {
                    continue;
                }
                let e = tally.entry(name.to_string()).or_default();
                e.0 += 1;
                if mine == want {
                    e.1 += 1;
                    continue;
                }
                let frame = (i + 1).to_string();
                let ok = allow.iter().any(|(af, an, ak)| {
                    (af == "*" || *af == file)
                        && (an == "*" || *an == frame)
                        && (ak == "*" || ak == name)
                });
                if !ok {
                    bad.push(format!(
                        "{file} frame {frame} {name}: wirelab {mine:?}, tshark {want:?}"
                    ));
                }
            }
        }
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
