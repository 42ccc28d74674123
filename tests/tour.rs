//! `wirelab tour`, the README's first command: it must work on a fresh machine for a user
//! with no privileges, and finish by itself.
//!
//! * The whole tour, every lesson's demo live, run as an unprivileged user (uid 65534, no
//!   groups, no capabilities) under a generous time limit; its duration is printed, not
//!   asserted. Run as root as well when the test runs as root, to compare.
//! * A snapshot of the tour's own narration (headings, summaries, what to watch, the command
//!   each lesson runs), with every demo replaced by its recorded trace (`--replay`) and the
//!   lessons fixed to a copy of lessons 01–05, so that the text is the same on every machine.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wirelab")
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            == Some("0")
    })
}

/// Run `wirelab tour` (as uid 65534 with `nobody`), killing it after `limit`.
fn tour(nobody: bool, limit: Duration) -> (Output, Duration) {
    // The unprivileged user runs a copy every user can reach (see common::public_copy).
    let copy = nobody.then(common::public_copy);
    let mut cmd = common::wirelab_as(copy.as_ref());
    let start = Instant::now();
    let mut child = cmd
        .args(["tour", "--color", "never"])
        .env("COLUMNS", "80")
        .env_remove("NO_COLOR")
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run wirelab tour");
    // Read the pipes on threads so a full pipe never stalls the tour.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut v).ok();
        v
    });
    let e = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut v).ok();
        v
    });
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let text = String::from_utf8_lossy(&o.join().unwrap()).into_owned();
            panic!(
                "wirelab tour did not finish within {limit:?}; its output so far:\n{}",
                text.lines()
                    .rev()
                    .take(40)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = start.elapsed();
    (
        Output {
            status,
            stdout: o.join().unwrap(),
            stderr: e.join().unwrap(),
        },
        took,
    )
}

/// Is the lab available to this user? (`wirelab lab` exits 0.)
fn lab_works(nobody: bool) -> bool {
    let copy = nobody.then(common::public_copy);
    let mut cmd = common::wirelab_as(copy.as_ref());
    cmd.args(["lab", "--color", "never"])
        .current_dir("/")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn lesson_count() -> usize {
    std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("lesson.toml").is_file())
        .count()
}

fn check_tour(who: &str, nobody: bool) {
    let limit = Duration::from_secs(120);
    let (out, took) = tour(nobody, limit);
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("wirelab tour as {who}: {:.1} s", took.as_secs_f64());
    assert!(
        out.status.success(),
        "wirelab tour as {who} failed ({:?}):\n{}\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let n = lesson_count();
    for i in 1..=n {
        assert!(
            text.contains(&format!("━━ {i}/{n} ")),
            "lesson {i} of {n} is missing from the tour:\n{text}"
        );
    }
    assert!(text.contains("━━ The end of the tour"), "{text}");
    // The closing line counts the demos that ran; in the lab every one of them can.
    if lab_works(nobody) {
        assert!(
            text.contains("The demos run in the lab"),
            "the lab works here, the tour should say so:\n{text}"
        );
        assert!(
            text.contains("in the lab: client 192.0.2.1 and server 192.0.2.2"),
            "the TCP demo should run in the lab:\n{text}"
        );
        let closing = text.rsplit("━━ The end of the tour").next().unwrap();
        assert!(
            closing.contains(&format!("{n} lessons: {n} demos ran here.")),
            "{closing}"
        );
    }
}

#[test]
fn tour_runs_to_the_end_unprivileged() {
    let test = "tour_runs_to_the_end_unprivileged";
    if !is_root() {
        // Already an ordinary user: run it as we are.
        check_tour("this user", false);
        return;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        return common::skip_or_fail(test, "setpriv (util-linux) is not installed");
    }
    check_tour("uid 65534 (no privileges)", true);
    check_tour("root", false);
}

/// Copy lessons 01–05 (their lesson.toml, README and trace) to `dir/lessons`.
fn fixture(dir: &Path) -> std::path::PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
    let dst = dir.join("lessons");
    for id in ["01_packets", "02_sockets", "03_tcp", "04_udp", "05_capture"] {
        std::fs::create_dir_all(dst.join(id)).unwrap();
        for f in ["lesson.toml", "README.md", "trace.pcapng"] {
            let from = src.join(id).join(f);
            if from.is_file() {
                std::fs::copy(&from, dst.join(id).join(f)).unwrap();
            }
        }
    }
    dst
}

/// The tour's own words: from each heading to the command line under it (the demo's output
/// is left out), and the closing without its measured time.
fn narration(text: &str) -> String {
    let mut out = String::new();
    let mut keep = true;
    for line in text.lines() {
        if line.starts_with("━━ ") {
            keep = true;
        }
        if keep {
            if line.starts_with("The tour took ") {
                // The time differs from run to run.
                out.push_str("The tour took [time] s.\n");
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        if line.starts_with("$ ") {
            keep = false;
            out.push_str("[the demo's output]\n");
        }
    }
    out
}

#[test]
fn tour_narration_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let lessons = fixture(dir.path());
    let out = Command::new(bin())
        .args(["tour", "--replay", "--color", "never"])
        .env("COLUMNS", "80")
        .env("WIRELAB_LESSONS", &lessons)
        .env_remove("NO_COLOR")
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The replays really ran: lesson 3's trace has a SYN.
    assert!(text.contains("[SYN]"), "{text}");
    insta::assert_snapshot!("tour_narration", narration(&text));
}

#[test]
fn tour_step_without_a_terminal_reads_lines() {
    // Quit at the first pause: only the introduction is shown.
    let dir = tempfile::tempdir().unwrap();
    let lessons = fixture(dir.path());
    let mut child = Command::new(bin())
        .args(["tour", "--replay", "--step", "--color", "never"])
        .env("WIRELAB_LESSONS", &lessons)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"\nq\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("━━ wirelab tour"), "{text}");
    assert!(text.contains("━━ 1/5 "), "{text}");
    assert!(!text.contains("━━ 2/5 "), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("[step 2]"));
}

#[test]
fn tour_replays_a_demo_that_cannot_run_and_says_why() {
    // A lesson whose demo fails (here: it names a capture that is not there) is replaced by
    // its recorded trace, and the tour says why, there and in its closing lines.
    let dir = tempfile::tempdir().unwrap();
    let lessons = fixture(dir.path());
    let toml = lessons.join("02_sockets/lesson.toml");
    let text = std::fs::read_to_string(&toml).unwrap().replace(
        "demo = [\"tcp\", \"echo\"]",
        "demo = [\"dissect\", \"lessons/02_sockets/no-such-capture.pcapng\"]",
    );
    std::fs::write(&toml, text).unwrap();
    let out = Command::new(bin())
        .args(["tour", "--color", "never"])
        .env("COLUMNS", "80")
        .env("WIRELAB_LESSONS", &lessons)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let part = text
        .split("━━ 2/5 ")
        .nth(1)
        .and_then(|t| t.split("━━ 3/5 ").next())
        .unwrap();
    assert!(
        part.contains("the demo could not run here:") && part.contains("no-such-capture.pcapng"),
        "{part}"
    );
    assert!(
        part.contains("Replaying the recorded trace lessons/02_sockets/trace.pcapng"),
        "{part}"
    );
    assert!(
        part.contains("[SYN]"),
        "the replay shows the packets: {part}"
    );
    let closing = text.rsplit("━━ The end of the tour").next().unwrap();
    assert!(closing.contains("02_sockets replayed"), "{closing}");
}
