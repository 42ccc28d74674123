//! The paths a Mac or Windows student takes, run on Linux: with `WIRELAB_PORTABLE=1` wirelab
//! behaves as where there are no network namespaces (no lab, no hand-made handshake) and no
//! live capture (see `src/source/platform.rs`).
//!
//! * The demos still run their sockets, on 127.0.0.1, and replay the lesson's recorded trace
//!   for the packets: `tcp echo`, `udp echo`, `ws echo`, `sio demo`.
//! * Each command that needs what is missing says why in one sentence and replays the
//!   lesson's trace (`tcp handshake`, `udp echo --loss`), or says why and what works instead
//!   (`lab`, `lab shell`, `capture`).
//! * The tour runs to the end and says which demos were replayed.
//! * `wirelab check` grades trace questions and code exercises.
//!
//! Nothing here needs privileges, so nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wirelab")
}

fn lessons() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons")
}

/// `wirelab ARGS` with the switch on, no colour, a fixed width.
fn portable(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .args(["--color", "never"])
        .env("WIRELAB_PORTABLE", "1")
        .env("COLUMNS", "100")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .expect("run wirelab")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Exit 0, and the output so far for the messages.
fn ok(args: &[&str]) -> String {
    let o = portable(args);
    let (out, err) = text(&o);
    assert!(
        o.status.success(),
        "wirelab {} failed ({:?}):\n{err}\n{out}",
        args.join(" "),
        o.status
    );
    out
}

const SWITCH: &str = "WIRELAB_PORTABLE is set, so wirelab acts as on macOS or Windows";

#[test]
fn tcp_echo_runs_on_loopback_and_replays_the_packets() {
    let out = ok(&["tcp", "echo", "-m", "portable\n"]);
    assert!(
        out.contains("wirelab tcp echo — on this host's loopback interface (127.0.0.1, lo)"),
        "{out}"
    );
    assert!(out.contains("Not in the lab: "), "{out}");
    assert!(
        out.contains(&format!("No packets can be captured here: {SWITCH}")),
        "{out}"
    );
    // The socket calls are real, on 127.0.0.1.
    assert!(out.contains("bind(fd"), "{out}");
    assert!(out.contains("connect(fd"), "{out}");
    assert!(out.contains("127.0.0.1:"), "{out}");
    assert!(
        out.contains(r#"send(fd"#) && out.contains(r#""portable\n""#),
        "{out}"
    );
    // The packets are the lesson's recording.
    assert!(out.contains("Replaying the recorded trace"), "{out}");
    assert!(out.contains("03_tcp/trace.pcapng"), "{out}");
    assert!(out.contains("[SYN]") && out.contains("[SYN, ACK]"), "{out}");
}

#[test]
fn udp_echo_runs_on_loopback_and_replays_the_packets() {
    let out = ok(&["udp", "echo", "-n", "2"]);
    assert!(out.contains("(127.0.0.1, lo)"), "{out}");
    assert!(out.contains("sendto(fd"), "{out}");
    assert!(out.contains("04_udp/trace.pcapng"), "{out}");
}

#[test]
fn ws_echo_runs_on_loopback() {
    let out = ok(&["ws", "echo", "--view", "summary"]);
    assert!(
        out.contains("wirelab ws echo — on this host's loopback interface (127.0.0.1)"),
        "{out}"
    );
    assert!(out.contains("connects to ws://127.0.0.1:"), "{out}");
    // The handshake and the frames, seen at the sockets.
    assert!(out.contains("101 Switching Protocols"), "{out}");
    assert!(out.contains("Sec-WebSocket-Accept"), "{out}");
    assert!(
        out.contains(&format!("No packets could be captured here ({SWITCH}")),
        "{out}"
    );
}

#[test]
fn sio_demo_runs_on_loopback() {
    let out = ok(&["sio", "demo", "--no-wire"]);
    assert!(
        out.contains("on this host's loopback interface (127.0.0.1)"),
        "{out}"
    );
    assert!(out.contains("listening on http://127.0.0.1:"), "{out}");
    assert!(
        out.contains("Every step behaved as Socket.IO promises."),
        "{out}"
    );
    assert!(out.contains("Not in the lab: "), "{out}");
}

#[test]
fn handshake_says_why_and_replays_lesson_6() {
    let out = ok(&["tcp", "handshake", "--raw"]);
    let first = out.lines().next().unwrap_or_default();
    assert!(first.starts_with("Not available here: "), "{out}");
    assert!(
        first.contains(SWITCH) && first.contains("TUN device"),
        "{first}"
    );
    assert!(
        first.ends_with("here is the lesson's recorded trace."),
        "{first}"
    );
    assert!(out.contains("06_tcp_by_hand/trace.pcapng"), "{out}");
    assert!(
        out.contains("169.254.77.1") && out.contains("[SYN, ACK]"),
        "{out}"
    );

    // JSON Lines stay JSON Lines: the note goes to standard error.
    let o = portable(&["tcp", "handshake", "--view", "json"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("Not available here: "), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(!lines.is_empty());
    for l in lines {
        serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{e}: {l}"));
    }

    // Nothing was made here, so -w writes nothing, and says so.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("h.pcap");
    let o = portable(&["tcp", "handshake", "-w", file.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("was not written"), "{err}");
    assert!(!file.exists());
}

#[test]
fn udp_loss_says_why_and_replays_lesson_5() {
    let out = ok(&["udp", "echo", "--loss", "30", "--reorder"]);
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("Not available here: --loss and --reorder need the lab"),
        "{out}"
    );
    assert!(out.contains("05_capture/trace.pcapng"), "{out}");
}

#[test]
fn lab_says_why_and_what_works_instead() {
    let o = portable(&["lab"]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "The lab is NOT available here.");
    // The tour reads the first line after the heading as the reason.
    assert!(lines[2].starts_with(SWITCH), "{out}");
    assert!(
        out.contains("127.0.0.1, lo): the sockets work, but no capture"),
        "{out}"
    );
    assert!(out.contains("03_tcp/trace.pcapng (present)"), "{out}");

    let o = portable(&["lab", "shell", "--", "true"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err.starts_with(&format!("wirelab: error: {SWITCH}")),
        "{err}"
    );
}

#[test]
fn capture_says_why() {
    let o = portable(&["capture", "-c", "1"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err.contains(SWITCH) && err.contains("without live capture"),
        "{err}"
    );
}

#[test]
fn the_lab_demanded_is_an_error() {
    let o = portable(&["tcp", "echo", "--net", "lab"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err.contains("the lab network is not available here"),
        "{err}"
    );
}

/// What works everywhere does not change with the switch.
#[test]
fn the_rest_is_the_same() {
    let trace = lessons().join("03_tcp/trace.pcapng");
    let trace = trace.to_str().unwrap();
    let out = ok(&["dissect", trace, "--view", "layers", "-c", "1"]);
    assert!(out.contains("Ethernet"), "{out}");
    let out = ok(&["define", "socket"]);
    assert!(out.to_lowercase().contains("socket"), "{out}");
    ok(&["layers"]);
    ok(&["lessons"]);
}

#[test]
fn tour_runs_to_the_end_and_says_what_was_replayed() {
    let out = ok(&["tour"]);
    let n = std::fs::read_dir(lessons())
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("lesson.toml").is_file())
        .count();
    for i in 1..=n {
        assert!(
            out.contains(&format!("━━ {i}/{n} ")),
            "lesson {i} missing:\n{out}"
        );
    }
    assert!(
        out.contains(&format!("The lab cannot be built here ({SWITCH}")),
        "{out}"
    );
    // The hand-made handshake is replayed, and the tour says why.
    assert!(out.contains("Not available here: "), "{out}");
    let closing = out.rsplit("━━ The end of the tour").next().unwrap();
    let closing = closing.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        closing.contains(&format!("06_tcp_by_hand replayed ({SWITCH}")),
        "{closing}"
    );
    assert!(closing.contains("without capture"), "{closing}");
    assert!(
        !closing.contains(&format!("{n} demos ran here")),
        "{closing}"
    );
}

/// Copy lesson `id` (its lesson.toml, README, trace and exercises) to `dir/lessons`, with the
/// reference answers as the learner's answers.
fn lesson_with_reference_answers(dir: &Path, id: &str) -> PathBuf {
    let from = lessons().join(id);
    let to = dir.join("lessons").join(id);
    std::fs::create_dir_all(&to).unwrap();
    for f in ["lesson.toml", "README.md", "trace.pcapng"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
    std::fs::copy(from.join("solutions/answers.toml"), to.join("answers.toml")).unwrap();
    dir.join("lessons")
}

#[test]
fn check_grades_trace_questions() {
    let dir = tempfile::tempdir().unwrap();
    let copy = lesson_with_reference_answers(dir.path(), "03_tcp");
    let o = Command::new(bin())
        .args(["check", "03_tcp", "--color", "never"])
        .env("WIRELAB_PORTABLE", "1")
        .env("WIRELAB_LESSONS", &copy)
        .env("WIRELAB_STATE", dir.path().join("state"))
        .output()
        .unwrap();
    let (out, err) = text(&o);
    let questions = out.lines().filter(|l| l.contains("question ")).count();
    assert!(questions > 0, "{out}\n{err}");
    let right = out.lines().filter(|l| l.contains("✓ question ")).count();
    assert_eq!(
        right, questions,
        "every reference answer passes:\n{out}\n{err}"
    );
}

#[test]
fn check_grades_exercises() {
    // The exercises as they are in the repository: each is compiled and run by its check
    // (shipped exercises fail it; one a learner finished passes).
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(bin())
        .args(["check", "04_udp", "--color", "never"])
        .env("WIRELAB_PORTABLE", "1")
        .env("WIRELAB_STATE", dir.path().join("state"))
        .output()
        .unwrap();
    let (out, err) = text(&o);
    let graded: Vec<&str> = out.lines().filter(|l| l.contains(" exercise ")).collect();
    assert!(!graded.is_empty(), "{out}\n{err}");
    for (i, l) in out.lines().enumerate() {
        if l.contains("✗ exercise ") {
            let why = out.lines().nth(i + 1).unwrap_or_default();
            assert!(
                !why.contains("could not run cargo") && !why.trim().is_empty(),
                "the exercise was not graded: {l}\n{why}"
            );
        }
    }
}
