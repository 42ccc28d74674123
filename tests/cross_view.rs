//! One truth per number: for every frame of the corpus (tests/corpus) and of every lesson
//! trace, the time, sequence and acknowledgment numbers, window and data length that the
//! summary, the ladder, the layer tree, the JSON view and the HTML export show must agree with
//! each other and with tshark's `frame.time_relative`, `tcp.seq`, `tcp.ack`,
//! `tcp.window_size` and `tcp.len`, unfiltered and filtered (`tcp.len > 0`: a filtered view
//! must not change a number, the time included).
//!
//! Each view is made as `wirelab dissect` makes it: the same pipeline configuration
//! ([`Config::for_display`]), the same printer. The numbers are read back from the text a
//! learner sees (the summary line, the ladder's arrows, the layer tree's headings), from the
//! JSON view's fields, and from the HTML export's embedded packets. tshark runs with its
//! default preferences, as wirelab's pipeline reads by default: IP fragments put back together
//! in the frame that completes the datagram, relative sequence numbers, window scaling.
//!
//! A view that does not show a number for a frame (the summary of a frame that completed an
//! HTTP message shows the message; the ladder leaves out what is not TCP) is not counted for
//! it. Agreement is printed per view and field. A difference fails the test unless
//! `tests/cross_view_allow.tsv` lists it with its reason. Without tshark the test says it was
//! skipped; under `CI=true` it fails instead.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use serde_json::Value;
use wirelab::dissect::Dissection;
use wirelab::filter::Filter;
use wirelab::pipeline::{Config, Pipeline};
use wirelab::render::export::Export;
use wirelab::render::{Options, Printer, View};
use wirelab::source::file::read_all;

/// The numbers compared, and tshark's fields for them.
const FIELDS: [(&str, &str); 5] = [
    ("time", "frame.time_relative"),
    ("seq", "tcp.seq"),
    ("ack", "tcp.ack"),
    ("win", "tcp.window_size"),
    ("len", "tcp.len"),
];

/// What one view showed for one frame: field name → value as written.
type Shown = BTreeMap<&'static str, String>;
/// Per frame number.
type ViewOut = BTreeMap<u64, Shown>;

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// tshark's values, per frame: the frame's first TCP header's (`occurrence=f`).
fn tshark(path: &Path) -> ViewOut {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(path).args([
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=f",
        "-e",
        "frame.number",
    ]);
    for (_, f) in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rows = ViewOut::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let Some(n) = cols.first().and_then(|c| c.parse().ok()) else {
            continue;
        };
        let mut shown = Shown::new();
        for (i, (name, _)) in FIELDS.iter().enumerate() {
            if let Some(v) = cols.get(i + 1).filter(|v| !v.is_empty()) {
                shown.insert(name, v.to_string());
            }
        }
        rows.insert(n, shown);
    }
    rows
}

/// tshark's nine decimals, rounded to the six the text views show (halves away from zero, as
/// the views round).
fn six_decimals(t: &str) -> String {
    let neg = t.starts_with('-');
    let (s, f) = t
        .trim_start_matches('-')
        .split_once('.')
        .unwrap_or((t, "0"));
    let mut frac = format!("{f:0<9}");
    frac.truncate(9);
    let ns: u128 =
        s.parse::<u128>().unwrap_or(0) * 1_000_000_000 + frac.parse::<u128>().unwrap_or(0);
    let us = (ns + 500) / 1000;
    format!(
        "{}{}.{:06}",
        if neg && us > 0 { "-" } else { "" },
        us / 1_000_000,
        us % 1_000_000
    )
}

/// Print one view of every frame (those `filter` keeps) as `wirelab dissect` would.
fn render(frames: &[wirelab::source::OwnedFrame], view: View, filter: Option<&Filter>) -> String {
    let names = filter.map(|f| f.field_names());
    let mut pipe = Pipeline::new(Config::for_display(view != View::Summary, names.as_deref()));
    let opts = Options {
        view,
        color: false,
        highlight: None,
        // Wide, so no label is cut.
        width: 400,
        fit: false,
        absolute: false,
        ..Options::default()
    };
    let mut p = Printer::new(Vec::new(), opts);
    for f in frames {
        let d = pipe.push(&f.as_frame());
        if filter.is_none_or(|flt| flt.matches(d)) {
            p.print(d).expect("print to memory");
        }
    }
    p.finish().expect("finish");
    String::from_utf8(p.into_inner()).expect("UTF-8")
}

/// `seq=1 ack=1 win=64512 len=0` anywhere in a text: the numbers of a TCP label.
fn tcp_numbers(text: &str, out: &mut Shown) {
    let re = Regex::new(r"\bseq=(\d+)(?: ack=(\d+))? win=(\d+)(?:×\?)?(?: len=(\d+))?").unwrap();
    if let Some(c) = re.captures(text) {
        for (i, name) in [(1, "seq"), (2, "ack"), (3, "win"), (4, "len")] {
            if let Some(m) = c.get(i) {
                out.insert(name, m.as_str().to_string());
            }
        }
    }
}

/// The summary: one line a frame, `N  TIME  …  TCP  [FLAGS] seq=… ack=… win=… len=…`.
fn parse_summary(text: &str) -> ViewOut {
    let line_re = Regex::new(r"^\s*(\d+)\s+(-?\d+\.\d{6})\s").unwrap();
    let mut out = ViewOut::new();
    for line in text.lines() {
        let Some(c) = line_re.captures(line) else {
            continue;
        };
        let n: u64 = c[1].parse().unwrap();
        let mut s = Shown::new();
        s.insert("time", c[2].to_string());
        if line.contains("  TCP  ") {
            tcp_numbers(line, &mut s);
        }
        out.insert(n, s);
    }
    out
}

/// The ladder: `N  TIME  │── FLAGS  seq=… ack=… win=… len=… ──▶│`, one arrow a segment.
fn parse_ladder(text: &str) -> ViewOut {
    let re = Regex::new(r"^\s*(\d+)\s+(-?\d+\.\d{6})\s+│").unwrap();
    let mut out = ViewOut::new();
    for line in text.lines() {
        let Some(c) = re.captures(line) else { continue };
        let mut s = Shown::new();
        s.insert("time", c[2].to_string());
        tcp_numbers(line, &mut s);
        out.insert(c[1].parse().unwrap(), s);
    }
    out
}

/// The layer tree: `── Packet N ── TIME s ──` and the TCP layer's heading.
fn parse_layers(text: &str) -> ViewOut {
    let head = Regex::new(r"── Packet (\d+) ── (-?\d+\.\d{6}) s").unwrap();
    let tcp = Regex::new(r"\bTCP \d+ → \d+ \[").unwrap();
    let mut out = ViewOut::new();
    let mut current: Option<u64> = None;
    for line in text.lines() {
        if let Some(c) = head.captures(line) {
            let n = c[1].parse().unwrap();
            current = Some(n);
            out.entry(n).or_default().insert("time", c[2].to_string());
        } else if let Some(n) = current
            && tcp.is_match(line)
        {
            let s = out.entry(n).or_default();
            if !s.contains_key("seq") {
                tcp_numbers(line, s);
            }
        }
    }
    out
}

/// A JSON view object's (or an exported packet's) fields: the first value of each.
fn json_fields(v: &Value) -> Shown {
    let mut s = Shown::new();
    for (name, field) in FIELDS {
        if let Some(val) = v["fields"][field].as_str() {
            let first = val.split(',').next().unwrap_or("");
            s.insert(name, first.to_string());
        }
    }
    s
}

fn parse_json(text: &str) -> ViewOut {
    text.lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a JSON line");
            (v["number"].as_u64().unwrap(), json_fields(&v))
        })
        .collect()
}

/// The HTML export's embedded packets: each one's fields (the JSON view's) and its summary
/// line (the list the page shows).
fn export(frames: &[wirelab::source::OwnedFrame], filter: Option<&Filter>) -> (ViewOut, ViewOut) {
    let names = filter.map(|f| f.field_names());
    let mut pipe = Pipeline::new(Config::for_display(true, names.as_deref()));
    let mut e = Export::new(Path::new("page.html"), "cross_view", usize::MAX);
    for f in frames {
        let d: &Dissection = pipe.push(&f.as_frame());
        if filter.is_none_or(|flt| flt.matches(d)) {
            e.add(d);
        }
    }
    let html = e.html();
    let start = html
        .find("<script type=\"application/json\" id=\"data\">")
        .expect("the page embeds its data");
    let rest = &html[start..];
    let body = &rest[rest.find('>').unwrap() + 1..rest.find("</script>").unwrap()];
    let data: Value = serde_json::from_str(body).expect("JSON");
    let (mut fields, mut lines) = (ViewOut::new(), ViewOut::new());
    for p in data["packets"].as_array().expect("packets") {
        let n = p["number"].as_u64().unwrap();
        fields.insert(n, json_fields(p));
        lines.extend(parse_summary(p["line"].as_str().unwrap_or("")));
    }
    (fields, lines)
}

struct Allow {
    file: String,
    frame: String,
    field: String,
    reason: String,
}

fn load_allow() -> Vec<Allow> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cross_view_allow.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.splitn(4, '\t').collect();
            assert!(
                c.len() == 4 && !c[3].trim().is_empty(),
                "allow-list line without a reason: {l}"
            );
            Allow {
                file: c[0].into(),
                frame: c[1].into(),
                field: c[2].into(),
                reason: c[3].into(),
            }
        })
        .collect()
}

fn files(corpus: &Path) -> Vec<PathBuf> {
    common::corpus_and_lesson_files(corpus)
}

#[test]
fn every_view_agrees_with_every_other_and_with_tshark() {
    if !tshark_available() {
        common::skip_or_fail(
            "every_view_agrees_with_every_other_and_with_tshark",
            "tshark is not installed (apt-get install tshark)",
        );
        return;
    }
    let corpus = common::corpus_or_fail("every_view_agrees_with_every_other_and_with_tshark");
    let allow = load_allow();
    let mut used = vec![false; allow.len()];
    let only_data = Filter::parse("tcp.len > 0").expect("filter");
    // (view, field) → (compared, agreed)
    let mut tally: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut wrong = Vec::new();
    let (mut files_done, mut frames_done, mut allowed) = (0, 0u64, 0u64);
    for path in files(&corpus) {
        let Ok(frames) = read_all(&path) else {
            continue; // a damaged capture the reader refuses: nothing to compare
        };
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let shown_name = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(&path)
            .display()
            .to_string();
        let want = tshark(&path);
        // Which frames carry their own TCP segment (not one an ICMP error quotes).
        let own_tcp: BTreeMap<u64, bool> =
            Pipeline::collect(Config::summary(), frames.iter().map(|f| f.as_frame()))
                .iter()
                .map(|d| (d.number, d.tcp_segment().is_some()))
                .collect();
        let mut views: Vec<(String, ViewOut)> = Vec::new();
        for filtered in [false, true] {
            let filter = filtered.then_some(&only_data);
            let tag = if filtered { " (filtered)" } else { "" };
            views.push((
                format!("summary{tag}"),
                parse_summary(&render(&frames, View::Summary, filter)),
            ));
            views.push((
                format!("ladder{tag}"),
                parse_ladder(&render(&frames, View::Ladder, filter)),
            ));
            views.push((
                format!("layers{tag}"),
                parse_layers(&render(&frames, View::Layers, filter)),
            ));
            views.push((
                format!("json{tag}"),
                parse_json(&render(&frames, View::Json, filter)),
            ));
            let (fields, lines) = export(&frames, filter);
            views.push((format!("export{tag}"), fields));
            views.push((format!("export list{tag}"), lines));
        }
        files_done += 1;
        frames_done += frames.len() as u64;
        for (view, out) in &views {
            for (n, shown) in out {
                let Some(t) = want.get(n) else { continue };
                for (field, tshark_field) in FIELDS {
                    let Some(got) = shown.get(field) else {
                        continue;
                    };
                    // TCP numbers are compared for the frame's own segment only.
                    if field != "time" && !own_tcp.get(n).copied().unwrap_or(false) {
                        continue;
                    }
                    let expected = match (field, t.get(field)) {
                        (_, None) => String::new(),
                        ("time", Some(v)) if got.len() < v.len() => six_decimals(v),
                        (_, Some(v)) => v.clone(),
                    };
                    let entry = tally
                        .entry(format!("{view:<22} {tshark_field}"))
                        .or_default();
                    entry.0 += 1;
                    if *got == expected {
                        entry.1 += 1;
                        continue;
                    }
                    let hit = allow.iter().position(|a| {
                        a.file == name
                            && (a.frame == "*" || a.frame == n.to_string())
                            && (a.field == "*" || a.field == tshark_field)
                    });
                    if let Some(i) = hit {
                        used[i] = true;
                        allowed += 1;
                        continue;
                    }
                    wrong.push(format!(
                        "{shown_name} frame {n}: {view} shows {tshark_field} = {got:?}, tshark {expected:?}"
                    ));
                }
            }
        }
    }
    common::print_tally(
        &format!(
            "cross-view agreement with tshark ({files_done} captures, {frames_done} frames), by view and field:"
        ),
        &tally,
    );
    println!(
        "  ({allowed} differences allowed by tests/cross_view_allow.tsv, each with its reason)"
    );
    for (a, u) in allow.iter().zip(&used) {
        if !u {
            println!(
                "  note: allow-list entry not needed: {} {} {}: {}",
                a.file, a.frame, a.field, a.reason
            );
        }
    }
    assert!(
        wrong.is_empty(),
        "{} differences:\n{}",
        wrong.len(),
        wrong
            .iter()
            .take(60)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(files_done > 100, "only {files_done} captures compared");
}
