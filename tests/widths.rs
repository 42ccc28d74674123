//! Every table and view fits the screen (issue 13, finding 9): run the real binary with
//! `COLUMNS` at 60, 80 and 200 over the lesson traces, the capture corpus, the lists and
//! tables (`lessons`, `define`, `hint`, `layers`, `--stats`) and the live narrations (`tcp
//! echo`, `udp echo`, `ws echo`, `sio demo`, all on loopback), colours off, and find no line
//! wider than the width, counted in display columns (a `…` or a `─` is one column, a CJK
//! character two), not bytes.
//!
//! What is cut says so: a cut line ends in `…`, and one note on standard error counts them.
//! Output that goes to a pipe with no `COLUMNS` keeps whole lines (a student writing to a file
//! wants to `grep` it), and `--view json` is never touched.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use unicode_width::UnicodeWidthStr;

const WIDTHS: [usize; 3] = [60, 80, 200];

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wirelab")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run wirelab with `COLUMNS` set (or unset, for `None`), colours off.
fn run(args: &[&str], columns: Option<usize>) -> Output {
    let mut c = Command::new(bin());
    c.args(args)
        .args(["--color", "never"])
        .env("NO_COLOR", "1")
        .env_remove("WIRELAB_PORTABLE")
        .stdin(Stdio::null());
    match columns {
        Some(w) => c.env("COLUMNS", w.to_string()),
        None => c.env_remove("COLUMNS"),
    };
    c.output().expect("run wirelab")
}

/// `text` with every run of white space (line breaks too) one space.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The lines of `text` wider than `width` columns, with their widths.
fn too_wide(text: &str, width: usize) -> Vec<(usize, String)> {
    text.lines()
        .map(|l| (UnicodeWidthStr::width(l), l))
        .filter(|(w, _)| *w > width)
        .map(|(w, l)| (w, l.to_string()))
        .collect()
}

/// Run `args` at each width and fail with the widest offending lines. Returns the widest line
/// seen at each width (for the report).
fn fits(what: &str, args: &[&str]) -> Vec<usize> {
    let mut widest = Vec::new();
    for w in WIDTHS {
        let out = run(args, Some(w));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{what} at {w} columns failed: {stderr}"
        );
        assert!(
            !stdout.trim().is_empty() || !stderr.trim().is_empty(),
            "{what} at {w} columns: no output"
        );
        assert!(
            !stdout.contains('\x1b'),
            "{what}: colour codes with --color never"
        );
        let bad = too_wide(&stdout, w);
        assert!(
            bad.is_empty(),
            "{what} at {w} columns: {} lines wider, the widest {} columns:\n{}",
            bad.len(),
            bad.iter().map(|b| b.0).max().unwrap_or(0),
            bad.iter()
                .take(5)
                .map(|(n, l)| format!("  [{n}] {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        // A line cut to fit ends in the mark, and the note says how many were cut.
        // (The note is a sentence, wrapped to the width too: read it with its lines joined.)
        let cut = stdout.lines().filter(|l| l.ends_with('…')).count();
        let notes = flat(&stderr);
        if let Some(at) = notes
            .find(" columns were cut")
            .or(notes.find(" columns was cut"))
        {
            let note = &notes[notes[..at].rfind("wirelab: note:").unwrap_or(0)..];
            assert!(
                note.contains(&format!("wider than {w} columns")),
                "{what}: {note}"
            );
            assert!(
                cut > 0,
                "{what} at {w}: a note of cut lines, but no line ends in …"
            );
        }
        widest.push(
            stdout
                .lines()
                .map(UnicodeWidthStr::width)
                .max()
                .unwrap_or(0),
        );
    }
    widest
}

/// The lesson traces (every `trace.pcapng` under lessons/).
fn lesson_traces() -> Vec<PathBuf> {
    let mut v = Vec::new();
    let mut dirs = vec![repo().join("lessons")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("read lessons/").flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "pcapng" || x == "pcap") {
                v.push(p);
            }
        }
    }
    v.sort();
    assert!(v.len() >= 10, "the lesson traces are missing: {v:?}");
    v
}

const VIEWS: [&str; 4] = ["summary", "layers", "hex", "ladder"];

fn check_captures(files: &[PathBuf], views: &[&str], reports: bool) {
    for f in files {
        let file = f.to_str().unwrap();
        let name = f.strip_prefix(repo()).unwrap_or(f).display().to_string();
        for v in views {
            fits(
                &format!("dissect {name} --view {v}"),
                &["dissect", file, "--view", v],
            );
        }
        if reports {
            fits(
                &format!("dissect {name} --stats"),
                &["dissect", file, "--stats"],
            );
        }
    }
}

#[test]
fn every_view_of_every_lesson_trace_fits_60_80_and_200_columns() {
    let traces = lesson_traces();
    check_captures(&traces, &VIEWS, true);
    for f in &traces {
        let file = f.to_str().unwrap();
        let name = f.strip_prefix(repo()).unwrap_or(f).display().to_string();
        fits(
            &format!("dissect {name} --follow"),
            &["dissect", file, "--follow"],
        );
        fits(
            &format!("dissect {name} --graph"),
            &["dissect", file, "--graph"],
        );
        fits(
            &format!("dissect {name} --rtt"),
            &["dissect", file, "--rtt"],
        );
    }
}

#[test]
fn every_view_of_the_corpus_fits_60_80_and_200_columns() {
    let corpus = common::corpus_or_fail("every_view_of_the_corpus_fits");
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus.join("pcaps"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(files.len() > 50, "{} corpus files", files.len());
    // The files wirelab refuses whole (not a capture at all) still have to say so in the
    // width; `fits` wants success, so only the ones it reads are checked here.
    let readable: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| {
            run(&["dissect", f.to_str().unwrap(), "-c", "1"], Some(80))
                .status
                .success()
        })
        .collect();
    assert!(readable.len() > 50, "{} readable", readable.len());
    check_captures(&readable, &VIEWS, true);
}

/// Every term of the glossary, as `define TERM` tells it.
#[test]
fn every_definition_fits() {
    let list = String::from_utf8_lossy(&run(&["define"], Some(200)).stdout).to_string();
    // The list: `  NAME   meaning`, names separated from meanings by two spaces or more.
    let names: Vec<String> = list
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.trim_start().split("  ").next())
        .map(|n| n.trim().to_string())
        .collect();
    assert!(names.len() >= 30, "{names:?}");
    for n in &names {
        fits(&format!("define {n}"), &["define", n]);
    }
}

#[test]
fn the_lists_and_tables_fit() {
    for (what, args) in [
        ("lessons", vec!["lessons"]),
        ("layers", vec!["layers"]),
        ("define (the list)", vec!["define"]),
        ("define TCP", vec!["define", "tcp"]),
        ("define TIME-WAIT", vec!["define", "TIME-WAIT"]),
        ("hint (the list)", vec!["hint"]),
    ] {
        let widest = fits(what, &args);
        eprintln!("{what}: widest line at 60/80/200 columns: {widest:?}");
    }
}

/// Each hint (an exercise's, a question's with its question) fits too.
#[test]
fn every_hint_fits() {
    let out = run(&["hint"], Some(200));
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    let ids: Vec<&str> = listed
        .lines()
        .filter(|l| l.contains(" exercise ") || l.contains(" question "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(ids.len() >= 15, "{ids:?}");
    for id in ids {
        fits(&format!("hint {id}"), &["hint", id]);
    }
}

/// The live narrations, each on loopback or in the lab wirelab makes (where the lab cannot be
/// built they replay the lesson's recorded trace, and are checked all the same): their event
/// lines, sentences and tables fit too.
#[test]
fn the_narrations_fit() {
    for (what, args) in [
        ("tcp echo", vec!["tcp", "echo"]),
        ("udp echo", vec!["udp", "echo"]),
        ("ws echo", vec!["ws", "echo"]),
        ("sio demo", vec!["sio", "demo"]),
        ("tcp handshake", vec!["tcp", "handshake"]),
        ("ip traceroute", vec!["ip", "traceroute"]),
        ("ip mtu", vec!["ip", "mtu"]),
        ("lab arp", vec!["lab", "arp"]),
        (
            "tcp transfer",
            vec!["tcp", "transfer", "--bytes", "300000", "--graph"],
        ),
    ] {
        let widest = fits(what, &args);
        eprintln!("{what}: widest line at 60/80/200 columns: {widest:?}");
    }
}

/// The tour (every lesson's demo in a row), at each width.
#[test]
fn the_tour_fits() {
    let widest = fits("tour", &["tour"]);
    eprintln!("tour: widest line at 60/80/200 columns: {widest:?}");
}

/// A line too long for the screen is cut, ends in `…`, and standard error says how many were;
/// without a screen width (a pipe, no `COLUMNS`) nothing is cut; JSON is never cut.
#[test]
fn what_is_cut_is_marked_and_said_and_pipes_keep_whole_lines() {
    let trace = repo().join("lessons/07_websocket/trace.pcapng");
    let file = trace.to_str().unwrap();
    let out = run(&["dissect", file], Some(60));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let cut = stdout.lines().filter(|l| l.ends_with('…')).count();
    assert!(cut > 0, "nothing cut at 60 columns:\n{stdout}");
    assert!(
        flat(&stderr).contains(&format!("{cut} lines wider than 60 columns were cut")),
        "{stderr}"
    );
    assert!(too_wide(&stdout, 60).is_empty());

    let whole = run(&["dissect", file], None);
    let whole_out = String::from_utf8_lossy(&whole.stdout);
    assert!(
        !whole_out.lines().any(|l| l.ends_with('…')),
        "a pipe gets whole lines"
    );
    assert!(
        whole_out.lines().any(|l| UnicodeWidthStr::width(l) > 60),
        "the long lines are whole in a pipe"
    );
    assert!(!String::from_utf8_lossy(&whole.stderr).contains("were cut"));

    // The cut lines begin as the whole ones do.
    for (c, w) in stdout.lines().zip(whole_out.lines()) {
        match c.strip_suffix('…') {
            Some(head) => assert!(w.starts_with(head), "{c:?} is not the start of {w:?}"),
            None => assert_eq!(c, w),
        }
    }

    let json = run(&["dissect", file, "--view", "json"], Some(60));
    let json_whole = run(&["dissect", file, "--view", "json"], None);
    assert!(
        json.stdout == json_whole.stdout,
        "JSON depends on the width: {} bytes at 60 columns, {} in a pipe",
        json.stdout.len(),
        json_whole.stdout.len()
    );
    for l in String::from_utf8_lossy(&json.stdout).lines() {
        serde_json::from_str::<serde_json::Value>(l).expect("JSON Lines");
    }
}

/// `wirelab lessons` wraps its widest column rather than cutting it: every term of every lesson
/// is still there at 60 columns.
#[test]
fn lessons_wrap_without_losing_a_term() {
    let narrow = String::from_utf8_lossy(&run(&["lessons"], Some(60)).stdout).to_string();
    let wide = String::from_utf8_lossy(&run(&["lessons"], Some(200)).stdout).to_string();
    let words = |s: &str| {
        let mut v: Vec<String> = s
            .split(|c: char| c.is_whitespace() || "│|,╭╮╰╯─┬┴┼├┤".contains(c))
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    let (n, w) = (words(&narrow), words(&wide));
    for word in &w {
        assert!(
            n.contains(word) || narrow.replace(['\n', '│', ' '], "").contains(word.as_str()),
            "{word:?} is lost at 60 columns"
        );
    }
}
