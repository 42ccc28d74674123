//! The one-line summary of a long capture is written on every core (`commands::cores`): that
//! must not change a byte. For every capture of the corpus and every lesson trace, and for a
//! long capture made from the corpus (whole, cut short in the middle of a record, with
//! `--count`), `wirelab dissect` gives the same standard output, standard error and exit status
//! when the other threads join after the first frame as when everything runs on one thread.
//! And the threads themselves give the same text for batches of any size, on one to three
//! threads.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use wirelab::commands::cores::{self, Summary};
use wirelab::commands::progress::Progress;
use wirelab::pipeline::{Config, Pipeline};
use wirelab::render::{Options, Printer, View};
use wirelab::source::file::CaptureReader;

/// `wirelab ARGS` with the other threads joining after `after` frames (`never`: one thread):
/// standard output, standard error, exit status.
fn wirelab(args: &[&str], after: &str, columns: Option<&str>) -> (Vec<u8>, String, Option<i32>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wirelab"));
    cmd.args(args).env("WIRELAB_THREADS_AFTER", after);
    match columns {
        Some(c) => cmd.env("COLUMNS", c),
        None => cmd.env_remove("COLUMNS"),
    };
    let out = cmd.output().expect("wirelab runs");
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

/// One thread and several give the same output for `args`.
fn same(args: &[&str], columns: Option<&str>) -> usize {
    let one = wirelab(args, "never", columns);
    for after in ["1", "3"] {
        let many = wirelab(args, after, columns);
        assert!(
            one.0 == many.0,
            "standard output differs for {args:?} (threads after {after} frames)"
        );
        assert_eq!(one.1, many.1, "standard error, {args:?}, after {after}");
        assert_eq!(one.2, many.2, "exit status, {args:?}, after {after}");
    }
    one.0.len()
}

/// A capture of `packets` frames repeated from the corpus, made once per test.
fn long_capture(dir: &Path, packets: u32) -> PathBuf {
    let corpus = common::corpus_or_fail("summary_cores (the long capture)");
    let path = dir.join(format!("long-{packets}.pcap"));
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["make-capture", "--from"])
        .arg(corpus.join("pcaps"))
        .args(["--packets", &packets.to_string(), "-w"])
        .arg(&path)
        .output()
        .expect("wirelab runs");
    assert!(out.status.success(), "make-capture: {out:?}");
    path
}

#[test]
fn every_capture_of_the_corpus_gives_the_same_summary_on_every_core() {
    let corpus = common::corpus_or_fail("every_capture_of_the_corpus_gives_the_same_summary");
    let mut compared = 0;
    for path in common::corpus_and_lesson_files(&corpus) {
        let p = path.to_str().expect("a UTF-8 path");
        same(&["dissect", p, "--color", "never"], None);
        compared += 1;
    }
    assert!(compared > 20, "only {compared} captures compared");
    // Coloured, without IP reassembly, and cut to a narrow screen (the note on standard error
    // counts the lines cut on every thread), on a few of them.
    for path in common::corpus_and_lesson_files(&corpus).iter().take(12) {
        let p = path.to_str().expect("a UTF-8 path");
        same(&["dissect", p, "--color", "always"], None);
        same(&["dissect", p, "--color", "never", "--no-reassembly"], None);
        same(&["dissect", p, "--color", "never"], Some("50"));
    }
}

#[test]
fn a_long_capture_whole_cut_short_and_counted_gives_the_same_summary() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let long = long_capture(dir.path(), 30_000);
    let p = long.to_str().expect("a UTF-8 path");
    let bytes = same(&["dissect", p, "--color", "never"], None);
    assert!(bytes > 1_000_000, "only {bytes} bytes of summary");
    same(
        &["dissect", p, "--color", "never", "--count", "12345"],
        None,
    );
    same(&["dissect", p, "--color", "never", "--count", "2"], None);

    // Cut short in the middle of a record: every frame before the damage is shown, then the
    // error, at the same place, with exit status 2.
    let whole = std::fs::read(&long).expect("the capture");
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &whole[..whole.len() * 2 / 3 + 5]).expect("written");
    let c = cut.to_str().expect("a UTF-8 path");
    let (_, err, status) = wirelab(&["dissect", c, "--color", "never"], "1", None);
    assert_eq!(status, Some(2), "{err}");
    assert!(err.contains("cut short"), "{err}");
    same(&["dissect", c, "--color", "never"], None);
    // A count that ends before the damage never reaches it; one after it does.
    same(
        &["dissect", c, "--color", "never", "--count", "15000"],
        None,
    );
    same(
        &["dissect", c, "--color", "never", "--count", "25000"],
        None,
    );
}

/// The text [`cores::show_rest`] writes for `path`, the first frame shown here and the rest
/// on `threads` threads, `batch` frames at a time.
fn on_threads(path: &Path, threads: usize, batch: usize) -> Vec<u8> {
    let opts = Options {
        view: View::Summary,
        ..Options::default()
    };
    let mut reader = CaptureReader::open(path).expect("the capture opens");
    let mut pipe = Pipeline::new(Config::summary());
    let mut printer = Printer::new(Vec::new(), opts);
    let mut progress = Progress::new(path, "dissecting", false);
    let first = reader.next_frame().expect("readable").expect("a frame");
    printer.print(pipe.push(&first)).expect("memory");
    let job = Summary {
        reader: &mut reader,
        pipe: &mut pipe,
        printer: &mut printer,
        progress: &mut progress,
        limit: None,
    };
    let (end, shown) = cores::show_rest(job, threads, batch).expect("memory");
    end.expect("the capture is whole");
    assert_eq!(shown + 1, reader.frames_read());
    printer.finish().expect("memory");
    printer.into_inner()
}

/// The same, every frame on this thread as `Pipeline::push` takes them.
fn here(path: &Path) -> Vec<u8> {
    let mut reader = CaptureReader::open(path).expect("the capture opens");
    let mut pipe = Pipeline::new(Config::summary());
    let opts = Options {
        view: View::Summary,
        ..Options::default()
    };
    let mut printer = Printer::new(Vec::new(), opts);
    while let Some(f) = reader.next_frame().expect("readable") {
        printer.print(pipe.push(&f)).expect("memory");
    }
    printer.finish().expect("memory");
    printer.into_inner()
}

#[test]
fn batches_of_any_size_on_one_to_three_threads_give_the_same_text() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let long = long_capture(dir.path(), 3_000);
    let one = here(&long);
    assert!(one.len() > 100_000);
    for threads in [1, 2, 3] {
        for batch in [1, 7, 64, 1000] {
            assert!(
                on_threads(&long, threads, batch) == one,
                "{threads} threads, batches of {batch}"
            );
        }
    }
}
