//! `contains` and `matches` on protocols and payloads, checked against Wireshark's own filter
//! engine at test time: for captures of the corpus (tests/corpus) and every lesson trace, the
//! frames `tshark -Y EXPR` selects must be the frames `wirelab dissect --filter EXPR` selects.
//!
//! In Wireshark a protocol's value is its bytes, the header and everything it carries, so
//! `eth contains "GET"` finds a GET inside the TCP payload; `matches` is a regular expression,
//! case-insensitive; `tcp.payload` and `udp.payload` are the data a segment or datagram carries.
//! tshark runs with IP reassembly off (`-o ip.defragment:FALSE -o ipv6.defragment:FALSE`), as
//! wirelab dissects each frame on its own.
//!
//! Every difference allowed below says why. Without tshark the test says it was skipped;
//! under `CI=true` it fails instead.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use wirelab::filter::Filter;
use wirelab::pipeline::{Config, Pipeline};
use wirelab::source::file::read_all;

/// The expressions compared.
const EXPRS: &[&str] = &[
    r#"frame contains "GET""#,
    "eth contains 08:00",
    "ip contains 40:06",
    r#"tcp contains "HTTP""#,
    "udp contains 00:35",
    "icmp contains 00:00",
    "tcp.payload",
    r#"tcp.payload contains "GET""#,
    "udp.payload contains 00:01",
    "data contains 00",
    r#"frame matches "get /""#,
    r#"tcp matches "http/1.1 101""#,
];

/// Differences allowed, each with its reason: (file, expression, reason).
const ALLOWED: &[(&str, &str, &str)] = &[
    // `data` is whatever no dissector claimed, so it differs wherever the two tools' dissectors
    // differ: Wireshark reads TLS and marks the bytes of a message that later segments
    // complete as "TCP segment of a reassembled PDU"; wirelab leaves TLS as data and keeps
    // such bytes as data until the message is complete.
    (
        "*",
        "data contains 00",
        "data is what no dissector claimed; the two tools' dissectors differ (TLS, partial messages)",
    ),
];

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The corpus captures compared (each tshark run costs a fifth of a second, so a chosen few
/// with payloads to search: HTTP, WebSocket, TLS, DNS over UDP and TCP, ICMP errors quoting
/// packets, IPv4 and IPv6 fragments), besides every lesson trace.
const CORPUS: &[&str] = &[
    "zeek_http-vlan-0.pcap",
    "zeek_http-websocket.pcap",
    "zeek_websocket-wstunnel-http.pcap",
    "zeek_tls-openjdk-25.0.2-zeek.org.pcap",
    "gopacket_test_dns.pcap",
    "tcpdump_dns_tcp.pcap",
    "zeek_icmp-icmp-destunreach-udp.pcap",
    "zeek_icmp-icmp6-paramprob.pcap",
    "zeek_ipv4-fragmented-3.pcap",
    "zeek_ipv6-fragmented-dns.pcap",
    "tcpdump_tcp_rst_data.pcap",
];

/// The captures compared: the chosen corpus captures and the lesson traces.
fn files(corpus: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = CORPUS
        .iter()
        .map(|n| corpus.join("pcaps").join(n))
        .collect();
    v.extend(common::lesson_traces());
    v.sort();
    v
}

fn tshark_frames(path: &Path, expr: &str) -> Vec<u64> {
    let out = Command::new("tshark")
        .args([
            "-n",
            "-o",
            "ip.defragment:FALSE",
            "-o",
            "ipv6.defragment:FALSE",
            "-r",
        ])
        .arg(path)
        .args(["-Y", expr, "-T", "fields", "-e", "frame.number"])
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark -Y {expr:?} failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn wirelab_frames(path: &Path, filter: &Filter) -> Vec<u64> {
    let frames = read_all(path).expect("reads");
    // Each fragment on its own, as tshark runs here (`-o ip.defragment:FALSE`): the
    // reassembled datagrams are compared by tests/fields_view.rs.
    let mut p = Pipeline::new(Config {
        reassemble_ip: false,
        ..Config::full()
    });
    let mut out = Vec::new();
    for f in &frames {
        let d = p.push(&f.as_frame());
        if filter.matches(d) {
            out.push(d.number);
        }
    }
    out
}

#[test]
fn contains_and_matches_agree_with_tshark() {
    if !tshark_available() {
        common::skip_or_fail(
            "contains_and_matches_agree_with_tshark",
            "tshark is not installed (apt-get install tshark)",
        );
        return;
    }
    let corpus = common::corpus_or_fail("contains_and_matches_agree_with_tshark");
    let files = files(&corpus);
    // tshark's answers, two runs at a time (each run is mostly tshark starting up).
    let jobs: Vec<(&PathBuf, &str)> = files
        .iter()
        .flat_map(|f| EXPRS.iter().map(move |e| (f, *e)))
        .collect();
    let half = jobs.len().div_ceil(2);
    let answers: Vec<Vec<u64>> = std::thread::scope(|s| {
        let parts: Vec<_> = jobs
            .chunks(half.max(1))
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|(f, e)| tshark_frames(f, e))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().expect("tshark thread"))
            .collect()
    });
    let mut tally: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut allowed = 0;
    for ((path, expr), want) in jobs.iter().zip(answers) {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let shown = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(path)
            .display()
            .to_string();
        let filter = Filter::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let got = wirelab_frames(path, &filter);
        let t = tally.entry((*expr).to_string()).or_default();
        t.0 += 1;
        if want == got {
            t.1 += 1;
            continue;
        }
        if ALLOWED
            .iter()
            .any(|(f, e, _)| (*f == "*" || *f == name) && e == expr)
        {
            allowed += 1;
            continue;
        }
        wrong.push(format!("{shown}: {expr}: tshark {want:?}, wirelab {got:?}"));
    }
    common::print_tally(
        "files on which wirelab and tshark -Y select the same frames, by expression:",
        &tally,
    );
    println!("  ({allowed} differences allowed, each with its reason in ALLOWED)");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
