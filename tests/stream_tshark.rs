//! The stream analysis agrees with Wireshark, field by field, on real captures.
//!
//! For every capture in `tests/corpus/pcaps` that carries
//! TCP or UDP, this test runs tshark at test time:
//!
//! ```text
//! tshark -n -r FILE -o tcp.desegment_tcp_streams:FALSE -o ip.defragment:FALSE \
//!        -o ipv6.defragment:FALSE -T fields -E header=y -E occurrence=a -e tcp.stream -e …
//! ```
//!
//! (reassembly off, as wirelab's engine reads each frame on its own: with IP defragmentation
//! on, tshark would place a fragmented segment's TCP header in the last fragment's frame), then
//! feeds the same file through `dissect` + `StreamTracker::observe` and compares every analysis
//! field: `tcp.stream`, relative `tcp.seq`/`tcp.ack`, `tcp.len`, `tcp.nxtseq`, the scaled
//! window, `tcp.analysis.ack_rtt` (to tshark's 9 decimals), `tcp.analysis.retransmission` and
//! the other analysis flags, bytes in flight, `udp.stream`… It prints the agreement of each
//! field and writes it to `target/stream-agreement.txt`. A difference fails the test unless
//! `tests/stream_allow.tsv` lists it with the reason; an entry no longer needed fails it too.
//!
//! Frames where tshark found TCP but wirelab's engine did not reach the TCP header (a network
//! layer this build does not dissect yet) are counted and listed, not compared; in a file with
//! such frames only the stream numbers are compared, after renumbering both sides in order of
//! first appearance (tshark counts conversations wirelab could not see, and the analysis of a
//! connection with frames missing cannot match).
//!
//! Without tshark the test says it was skipped; under `CI=true` it fails instead.

mod common;
mod stream_support;

use stream_support::scenarios;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use wirelab::dissect::{Dissection, dissect_into};
use wirelab::render::json::flat_fields;
use wirelab::source::file::CaptureReader;
use wirelab::stream::StreamTracker;

/// The fields compared, as tshark names them.
const FIELDS: &[&str] = &[
    "tcp.stream",
    "tcp.seq",
    "tcp.ack",
    "tcp.len",
    "tcp.nxtseq",
    "tcp.window_size",
    "tcp.window_size_scalefactor",
    "tcp.analysis.acks_frame",
    "tcp.analysis.ack_rtt",
    "tcp.analysis.initial_rtt",
    "tcp.analysis.bytes_in_flight",
    "tcp.analysis.push_bytes_sent",
    "tcp.analysis.flags",
    "tcp.analysis.retransmission",
    "tcp.analysis.fast_retransmission",
    "tcp.analysis.spurious_retransmission",
    "tcp.analysis.out_of_order",
    "tcp.analysis.lost_segment",
    "tcp.analysis.ack_lost_segment",
    "tcp.analysis.duplicate_ack",
    "tcp.analysis.duplicate_ack_num",
    "tcp.analysis.duplicate_ack_frame",
    "tcp.analysis.zero_window",
    "tcp.analysis.zero_window_probe",
    "tcp.analysis.zero_window_probe_ack",
    "tcp.analysis.window_update",
    "tcp.analysis.window_full",
    "tcp.analysis.keep_alive",
    "tcp.analysis.keep_alive_ack",
    "tcp.analysis.reused_ports",
    "tcp.analysis.rto",
    "tcp.analysis.rto_frame",
    "tcp.time_relative",
    "tcp.time_delta",
    "tcp.options.sack_le",
    "tcp.options.sack_re",
    "udp.stream",
];

struct Allow {
    file: String,
    frame: String,
    field: String,
    reason: String,
    used: bool,
}

fn load_allow_list() -> Vec<Allow> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stream_allow.tsv");
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

fn allowed(allow: &mut [Allow], file: &str, frame: &str, field: &str) -> bool {
    match allow.iter_mut().find(|a| {
        a.file == file
            && (a.frame == "*" || a.frame == frame)
            && (a.field == "*" || a.field == field)
    }) {
        Some(a) => {
            a.used = true;
            true
        }
        None => false,
    }
}

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// tshark's rows for one file: a header and one row per frame.
fn tshark_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(path).args([
        "-o",
        "tcp.desegment_tcp_streams:FALSE",
        "-o",
        "ip.defragment:FALSE",
        "-o",
        "ipv6.defragment:FALSE",
        "-T",
        "fields",
        "-E",
        "header=y",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
    ]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("tshark writes UTF-8");
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap_or("")
        .split('\t')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[derive(Default)]
struct Tally {
    n: u64,
    agree: u64,
    allowed: u64,
}

/// Renumber stream indices in order of first appearance (for files where some frames were
/// not reached).
#[derive(Default)]
struct Renumber(HashMap<String, usize>);

impl Renumber {
    fn map(&mut self, v: &str) -> String {
        if v.is_empty() {
            return String::new();
        }
        let n = self.0.len();
        self.0.entry(v.to_string()).or_insert(n).to_string()
    }
}

/// The comparison over a set of files: tallies, differences, frames not reached.
struct Comparison {
    allow: Vec<Allow>,
    tallies: BTreeMap<&'static str, Tally>,
    failures: Vec<String>,
    unreached: Vec<String>,
    partial: Vec<String>,
    /// Files with frames the engine did not reach: their allow-list entries cannot be
    /// checked in this build, so they are not reported as no longer needed.
    not_fully_reached: Vec<String>,
    files: usize,
    frames: u64,
}

impl Comparison {
    fn new() -> Comparison {
        Comparison {
            allow: load_allow_list(),
            tallies: BTreeMap::new(),
            failures: Vec::new(),
            unreached: Vec::new(),
            partial: Vec::new(),
            not_fully_reached: Vec::new(),
            files: 0,
            frames: 0,
        }
    }

    /// Compare one capture file; `name` is how the allow list names it.
    fn file(&mut self, path: &Path, name: &str) {
        let (header, rows) = tshark_rows(path);
        let col = |f: &str| header.iter().position(|h| h == f);
        let (Some(tcp_col), Some(udp_col)) = (col("tcp.stream"), col("udp.stream")) else {
            panic!("tshark header lacks tcp.stream/udp.stream: {header:?}");
        };
        let carries = rows.iter().any(|r| {
            r.get(tcp_col).is_some_and(|v| !v.is_empty())
                || r.get(udp_col).is_some_and(|v| !v.is_empty())
        });
        if !carries {
            return;
        }
        self.files += 1;

        // Our side: every frame through the engine and the tracker.
        let Ok(mut reader) = CaptureReader::open(path) else {
            self.failures
                .push(format!("{name}: wirelab cannot open it"));
            return;
        };
        let mut tracker = StreamTracker::default();
        let mut d = Dissection::default();
        let mut ours: Vec<HashMap<String, String>> = Vec::new();
        while let Ok(Some(frame)) = reader.next_frame() {
            dissect_into(&mut d, &frame);
            tracker.observe(&mut d);
            ours.push(
                flat_fields(&d)
                    .into_iter()
                    .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
                    .collect(),
            );
        }
        tracker.finish();

        // Frames tshark found TCP (UDP) in that the engine did not reach.
        let reached = |i: usize, col: usize, ours_key: &str| {
            let theirs = rows[i].get(col).is_some_and(|v| !v.is_empty());
            let ours_has = ours.get(i).is_some_and(|m| m.contains_key(ours_key));
            !theirs || ours_has
        };
        let mut skip_tcp = vec![false; rows.len()];
        let mut skip_udp = vec![false; rows.len()];
        for i in 0..rows.len() {
            if !reached(i, tcp_col, "tcp.srcport") {
                skip_tcp[i] = true;
                self.unreached.push(format!("{name} frame {} (TCP)", i + 1));
            }
            if !reached(i, udp_col, "udp.srcport") {
                skip_udp[i] = true;
                self.unreached.push(format!("{name} frame {} (UDP)", i + 1));
            }
        }
        let renumber_tcp = skip_tcp.iter().any(|s| *s);
        let renumber_udp = skip_udp.iter().any(|s| *s);
        if renumber_tcp {
            self.partial.push(name.to_string());
        }
        if renumber_tcp || renumber_udp {
            self.not_fully_reached.push(name.to_string());
        }
        let (mut rt_theirs, mut rt_ours) = (Renumber::default(), Renumber::default());
        let (mut ru_theirs, mut ru_ours) = (Renumber::default(), Renumber::default());

        if ours.len() != rows.len() {
            self.failures.push(format!(
                "{name}: wirelab read {} frames, tshark {}",
                ours.len(),
                rows.len()
            ));
        }
        for (i, row) in rows.iter().enumerate().take(ours.len()) {
            self.frames += 1;
            let frame_no = (i + 1).to_string();
            for (c, field) in header.iter().enumerate() {
                let is_udp = field.starts_with("udp.");
                if (is_udp && skip_udp[i]) || (!is_udp && skip_tcp[i]) {
                    continue;
                }
                // With frames missing from a connection, its analysis cannot match: only the
                // numbering is compared.
                if !is_udp && renumber_tcp && field != "tcp.stream" {
                    continue;
                }
                let mut theirs = row.get(c).cloned().unwrap_or_default();
                let mut mine = ours[i].get(field.as_str()).cloned().unwrap_or_default();
                if field == "tcp.stream" && renumber_tcp {
                    theirs = rt_theirs.map(&theirs);
                    mine = rt_ours.map(&mine);
                }
                if field == "udp.stream" && renumber_udp {
                    theirs = ru_theirs.map(&theirs);
                    mine = ru_ours.map(&mine);
                }
                if theirs.is_empty() && mine.is_empty() {
                    continue;
                }
                let key = FIELDS
                    .iter()
                    .find(|f| *f == field)
                    .copied()
                    .expect("a compared field");
                let t = self.tallies.entry(key).or_default();
                t.n += 1;
                if theirs == mine {
                    t.agree += 1;
                } else if allowed(&mut self.allow, name, &frame_no, field) {
                    t.allowed += 1;
                } else {
                    self.failures.push(format!(
                        "{name} frame {frame_no} {field}: tshark {theirs:?}, wirelab {mine:?}"
                    ));
                }
            }
        }
    }

    /// Print the table, write it to `target/NAME`, and fail on any unexplained difference.
    fn report(
        mut self,
        title: &str,
        out_name: &str,
        check_stale: impl Fn(&Allow) -> bool,
    ) -> BTreeMap<&'static str, Tally> {
        let mut table = String::new();
        let _ = writeln!(
            table,
            "{title}: {} files with TCP or UDP, {} frames",
            self.files, self.frames
        );
        let _ = writeln!(table, "{:<38} {:>7}  {:>6}  allowed", "field", "agree", "n");
        for field in FIELDS {
            let Some(t) = self.tallies.get(field) else {
                let _ = writeln!(table, "{field:<38} {:>7}  {:>6}", "-", 0);
                continue;
            };
            let pct = 100.0 * t.agree as f64 / t.n.max(1) as f64;
            let _ = writeln!(
                table,
                "{field:<38} {pct:>6.1}%  {:>6}  {}",
                t.n,
                if t.allowed > 0 {
                    t.allowed.to_string()
                } else {
                    String::new()
                }
            );
        }
        if !self.unreached.is_empty() {
            let _ = writeln!(
                table,
                "\n{} frames not compared: tshark found TCP/UDP there but wirelab's engine did not reach it (a lower layer this build does not dissect):",
                self.unreached.len()
            );
            for u in self.unreached.iter().take(20) {
                let _ = writeln!(table, "  {u}");
            }
            if self.unreached.len() > 20 {
                let _ = writeln!(table, "  … and {} more", self.unreached.len() - 20);
            }
        }
        if !self.partial.is_empty() {
            let _ = writeln!(
                table,
                "In these files only tcp.stream was compared (renumbered), since their connections miss frames wirelab did not reach: {}",
                self.partial.join(", ")
            );
        }
        let used: Vec<&Allow> = self.allow.iter().filter(|a| a.used).collect();
        if !used.is_empty() {
            let _ = writeln!(table, "\nAllowed differences:");
            for a in used {
                let _ = writeln!(
                    table,
                    "  {} frame {} {}: {}",
                    a.file, a.frame, a.field, a.reason
                );
            }
        }
        let reached_all = |a: &Allow| !self.not_fully_reached.contains(&a.file);
        // Entries about the engine's own fields (reason starting "engine") are only noted when
        // unused: the engine may be fixed in another branch, and that must not fail this test.
        for a in self.allow.iter().filter(|a| {
            !a.used && check_stale(a) && reached_all(a) && a.reason.starts_with("engine")
        }) {
            println!(
                "note: allow-list entry for the engine no longer needed: {} {} {}",
                a.file, a.frame, a.field
            );
        }
        for a in self.allow.iter().filter(|a| {
            !a.used && check_stale(a) && reached_all(a) && !a.reason.starts_with("engine")
        }) {
            self.failures.push(format!(
                "allow-list entry no longer needed: {} {} {}",
                a.file, a.frame, a.field
            ));
        }
        println!("{table}");
        let out = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join(out_name);
        let _ = std::fs::create_dir_all(out.parent().expect("target"));
        let _ = std::fs::write(&out, &table);
        if !self.failures.is_empty() {
            let shown: Vec<_> = self.failures.iter().take(80).cloned().collect();
            panic!(
                "{} difference(s) from tshark (first {}):\n{}",
                self.failures.len(),
                shown.len(),
                shown.join("\n")
            );
        }
        self.tallies
    }
}

/// tshark is needed; say so (or, in CI, fail) when it is missing.
fn tshark_ready(test: &str) -> bool {
    if tshark_available() {
        return true;
    }
    common::skip_or_fail(test, "tshark is not installed (apt-get install tshark)");
    false
}

#[test]
fn stream_analysis_agrees_with_tshark() {
    let corpus = common::corpus_or_fail("stream_analysis_agrees_with_tshark");
    if !tshark_ready("stream_analysis_agrees_with_tshark") {
        return;
    }
    let mut cmp = Comparison::new();
    let mut names: Vec<String> = std::fs::read_dir(corpus.join("pcaps"))
        .expect("corpus pcaps")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort();
    for name in &names {
        cmp.file(&corpus.join("pcaps").join(name), name);
    }
    cmp.report(
        "Stream analysis vs tshark on the corpus",
        "stream-agreement.txt",
        |a| !a.file.starts_with("synthetic:"),
    );
}

/// Captures built here, one per situation the analysis names (loss, duplicate ACKs, fast
/// retransmission, timeouts, reordering, zero windows, keep-alives, reused ports, window
/// full, a capture started mid-connection, sequence numbers wrapping), so that every
/// analysis flag is compared with tshark, not only the ones the corpus happens to contain.
#[test]
fn synthetic_scenarios_agree_with_tshark() {
    if !tshark_ready("synthetic_scenarios_agree_with_tshark") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmp = Comparison::new();
    for (name, cap) in scenarios::all() {
        let path = dir.path().join(format!("{name}.pcap"));
        cap.save(&path);
        cmp.file(&path, &format!("synthetic:{name}"));
    }
    let tallies = cmp.report(
        "Stream analysis vs tshark on built scenarios",
        "stream-agreement-synthetic.txt",
        |a| a.file.starts_with("synthetic:"),
    );
    // Every field must have been exercised at least once, or this test proves nothing.
    let missing: Vec<&str> = FIELDS
        .iter()
        .copied()
        .filter(|f| tallies.get(f).is_none_or(|t| t.n == 0))
        .collect();
    assert!(missing.is_empty(), "no scenario exercises: {missing:?}");
}
