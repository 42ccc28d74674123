//! A new student's first ten minutes (issue 13, findings 6 to 10 and 12): what each command
//! says by default, that `--view json` is JSON only, that lists exist where a student would
//! look for them, that a long dissect shows progress on a terminal and never in a pipe, and
//! that a capture inside the lab neither waits in silence nor dies without its summary.
//!
//! Commands that need the lab, capture or Redis say SKIPPED where the machine lacks them (and
//! fail under `CI=true`).
//!
//! Linux only: the README's examples and these checks are written for the Linux machine the
//! course runs on (the lab, `-i lo`, process groups); tests/portable.rs covers macOS and
//! Windows paths.
#![cfg(target_os = "linux")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wirelab")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn wirelab(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .args(["--color", "never"])
        .env("COLUMNS", "100")
        .env_remove("WIRELAB_PORTABLE")
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

fn ok(args: &[&str]) -> String {
    let o = wirelab(args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "wirelab {args:?} failed: {err}\n{out}");
    out
}

fn lab_here() -> Result<(), String> {
    let o = wirelab(&["lab"]);
    if o.status.success() {
        Ok(())
    } else {
        Err(format!("the lab cannot be built here: {}", text(&o).0))
    }
}

// ── 9. Completions and the manual page ────────────────────────────────────────────────────

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef wirelab"),
        ("fish", "complete -c wirelab"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = ok(&["completions", shell]);
        assert!(out.contains(marker), "{shell}: no {marker:?}");
        for sub in ["dissect", "capture", "lesson", "completions"] {
            assert!(out.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let o = wirelab(&["completions", "tcsh"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("possible values"), "{}", text(&o).1);
}

#[test]
fn bash_completion_loads_and_completes_a_subcommand() {
    if Command::new("bash").arg("--version").output().is_err() {
        common::skip_or_fail("bash_completion_loads", "bash is not installed");
        return;
    }
    let script = ok(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wirelab.bash");
    std::fs::write(&file, script).unwrap();
    // Ask the completion function what `wirelab dis<TAB>` completes to.
    let probe = format!(
        "source {}; COMP_WORDS=(wirelab dis); COMP_CWORD=1; COMP_LINE='wirelab dis'; \
         COMP_POINT=11; _wirelab wirelab dis wirelab; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    let o = Command::new("bash").args(["-c", &probe]).output().unwrap();
    let (out, err) = text(&o);
    assert!(out.lines().any(|l| l == "dissect"), "{out}{err}");
}

#[test]
fn the_man_page_is_roff_and_covers_the_subcommands() {
    let page = ok(&["man"]);
    assert!(
        page.contains(".TH wirelab 1"),
        "{}",
        &page[..200.min(page.len())]
    );
    for sub in ["dissect", "capture", "tour", "completions", "man"] {
        assert!(page.contains(sub), "the page does not mention {sub}");
    }
    let dir = tempfile::tempdir().unwrap();
    let o = wirelab(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o).1);
    for f in [
        "wirelab.1",
        "wirelab-dissect.1",
        "wirelab-ws-echo.1",
        "wirelab-lab-shell.1",
    ] {
        let p = dir.path().join(f);
        assert!(p.is_file(), "{f} not written");
        let body = std::fs::read_to_string(&p).unwrap();
        assert!(body.contains(".TH"), "{f} is not a man page");
    }
    // Hidden commands (benchmark helpers) get no page.
    assert!(!dir.path().join("wirelab-flood.1").exists());
}

// ── 12. Lists where a student looks for them ──────────────────────────────────────────────

#[test]
fn define_without_a_term_lists_every_term() {
    let out = ok(&["define"]);
    for term in ["socket", "TCP/IP model", "Socket.IO", "checksum"] {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(term)),
            "{term} is not listed:\n{out}"
        );
    }
    assert!(out.contains("wirelab define TERM"));
}

#[test]
fn hint_without_an_id_lists_every_exercise_and_question() {
    let out = ok(&["hint"]);
    for id in ["place_protocol", "tcp_flags", "listen_port", "arp_asks_for"] {
        assert!(out.contains(id), "{id} is not listed:\n{out}");
    }
    // Every id listed is one `wirelab hint ID` knows.
    let ids: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(" exercise ") || l.contains(" question "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(ids.len() >= 15, "{ids:?}");
    for id in ids.iter().take(3).chain(ids.iter().rev().take(2)) {
        ok(&["hint", id]);
    }
    let o = wirelab(&["hint", "no_such_thing"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("`wirelab hint` lists them"));
}

// ── 7. Each lesson shows its own demo; ws echo is short; help tells the truth ──────────────

#[test]
fn lesson_1_shows_its_own_demo_not_the_whole_tour() {
    let out = ok(&["lesson", "1"]);
    assert!(out.contains("Live demo: wirelab tour --opening"), "{out}");
    // Its demo: the two models and the conversation wirelab builds, then nothing else.
    assert!(out.contains("The OSI model"), "{out}");
    assert!(out.contains("ARP"), "{out}");
    // No other lesson's part of the tour: the tour numbers its parts "━━ 2/9".
    assert!(!out.contains("━━ 2/"), "the whole tour ran:\n{out}");
    assert!(!out.contains("The end of the tour"), "{out}");
    assert!(out.lines().count() < 250, "{} lines", out.lines().count());
}

#[test]
fn ws_echo_is_short_by_default_and_whole_with_full() {
    let short = ok(&["ws", "echo"]);
    let full = ok(&["ws", "echo", "--full"]);
    let (s, f) = (short.lines().count(), full.lines().count());
    assert!(s < 700, "ws echo printed {s} lines by default");
    assert!(
        f > 2 * s,
        "--full ({f} lines) should show much more than the default ({s})"
    );
    // The 70,000-byte message: a few bytes by default, every byte with --full.
    let hex_rows = |t: &str| {
        t.lines()
            .filter(|l| {
                let w = l.trim();
                w.len() >= 30 && w.chars().all(|c| c.is_ascii_hexdigit())
            })
            .count()
    };
    assert!(
        hex_rows(&short) < 20,
        "{} rows of hex by default",
        hex_rows(&short)
    );
    assert!(
        hex_rows(&full) > 1000,
        "{} rows of hex with --full",
        hex_rows(&full)
    );
    if short.contains("frames captured on") {
        assert!(
            short.contains("left out of this listing") && short.contains("--full"),
            "the default wire listing must say what it left out"
        );
    }
}

#[test]
fn ws_echo_help_says_what_it_does_and_its_real_default_view() {
    let help = ok(&["ws", "echo", "--help"]);
    assert!(help.contains("in the lab; else on 127.0.0.1"), "{help}");
    assert!(
        help.contains("Without --view: the lesson in the layer view"),
        "{help}"
    );
    assert!(help.contains("ladder"), "{help}");
    // The shared --view help says "[default: summary]", which is not what ws echo does.
    let view_help = help.split("--view").nth(1).unwrap_or("");
    let view_help = view_help.split("\n  -").next().unwrap_or("");
    assert!(!view_help.contains("[default: summary]"), "{view_help}");
    assert!(help.contains("--full"));
}

// ── 6. --loss and --reorder take a value that means one thing ──────────────────────────────

#[test]
fn loss_refuses_a_bare_number_it_would_have_to_guess() {
    let o = wirelab(&["udp", "echo", "--loss", "30"]);
    assert!(!o.status.success());
    let err = text(&o).1;
    assert!(err.contains("ambiguous") && err.contains("30%"), "{err}");
    let o = wirelab(&["udp", "echo", "--loss", "0.3", "--reorder", "150%"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("at most 100%"), "{}", text(&o).1);
}

#[test]
fn loss_as_a_fraction_and_as_a_percentage_lose_the_same_datagrams() {
    if let Err(why) = lab_here() {
        common::skip_or_fail("loss_as_a_fraction_and_as_a_percentage", &why);
        return;
    }
    let run = |loss: &str| {
        let out = ok(&[
            "udp", "echo", "--net", "lab", "-n", "20", "--loss", loss, "--seed", "5", "--no-tcp",
            "--big", "0",
        ]);
        out.lines()
            .find(|l| l.trim_start().starts_with("Lost:"))
            .map(str::to_string)
            .unwrap_or_default()
    };
    let (a, b) = (run("0.3"), run("30%"));
    assert!(!a.is_empty(), "30% of 20 datagrams: some must be lost");
    assert_eq!(a, b);
}

// ── 8. --view json is JSON Lines only ──────────────────────────────────────────────────────

/// Every line of standard output parses as JSON; returns how many there were.
fn json_lines(args: &[&str]) -> usize {
    let o = wirelab(args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "wirelab {args:?}: {err}");
    for (i, line) in out.lines().enumerate() {
        if let Err(e) = serde_json::from_str::<serde_json::Value>(line) {
            panic!(
                "wirelab {args:?}: line {} is not JSON ({e}): {line:?}",
                i + 1
            );
        }
    }
    out.lines().count()
}

#[test]
fn view_json_is_json_lines_only_in_every_command() {
    let trace = repo().join("lessons/03_tcp/trace.pcapng");
    let t = trace.to_str().unwrap();
    assert!(json_lines(&["dissect", t, "--view", "json"]) > 5);
    assert!(json_lines(&["dissect", t, "--view", "json", "--stream", "0", "-Y", "tcp"]) > 5);
    for net in ["host", "replay"] {
        for cmd in [
            &["tcp", "echo"][..],
            &["udp", "echo", "--big", "0"],
            &["ws", "echo"],
            &["sio", "demo"],
        ] {
            let mut args = cmd.to_vec();
            args.extend(["--net", net, "--view", "json"]);
            json_lines(&args);
        }
    }
    match lab_here() {
        Ok(()) => {
            for cmd in [
                &["tcp", "echo"][..],
                &["udp", "echo"],
                &["ws", "echo"],
                &["sio", "demo"],
                &["tcp", "handshake", "--raw"],
                &["tcp", "handshake"],
            ] {
                let mut args = cmd.to_vec();
                args.extend(["--view", "json"]);
                assert!(json_lines(&args) > 0, "{args:?} printed no packets");
            }
            // Capture inside the lab, with traffic next to it.
            let shell = format!(
                "{b} capture -c 4 --view json --timeout 20 & sleep 1; {b} udp send 192.0.2.2:9 a b; wait",
                b = bin()
            );
            assert!(json_lines(&["lab", "shell", "--", "sh", "-c", &shell]) >= 4);
        }
        Err(why) => common::skip_or_fail("view_json (lab commands)", &why),
    }
}

#[test]
fn sio_demo_json_narration_goes_to_stderr() {
    let o = wirelab(&["sio", "demo", "--net", "host", "--view", "json"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("Step 1."),
        "the narration is still told, on stderr:\n{err}"
    );
    assert!(!out.contains("Step 1."));
}

/// A display filter that matches nothing says so on standard error (finding 6), rather than
/// leaving an empty screen.
#[test]
fn a_filter_that_matches_nothing_says_so() {
    let trace = repo().join("lessons/03_tcp/trace.pcapng");
    let o = wirelab(&[
        "dissect",
        trace.to_str().unwrap(),
        "--filter",
        "ip.src == 10.0.0.1",
    ]);
    assert!(o.status.success());
    let (out, err) = text(&o);
    assert!(out.trim().is_empty(), "{out}");
    assert!(
        err.contains("packets matched the filter \"ip.src == 10.0.0.1\""),
        "{err}"
    );
}

#[test]
fn reports_are_refused_with_view_json_rather_than_mixed_in() {
    let trace = repo().join("lessons/03_tcp/trace.pcapng");
    for flag in ["--stats", "--follow", "--graph"] {
        let o = wirelab(&["dissect", trace.to_str().unwrap(), flag, "--view", "json"]);
        let (out, err) = text(&o);
        assert!(!o.status.success(), "{flag}");
        assert!(out.is_empty(), "{flag}: {out}");
        assert!(err.contains("not JSON"), "{flag}: {err}");
    }
}

// ── 9. Progress on a terminal, never in a pipe ─────────────────────────────────────────────

fn big_capture(dir: &Path) -> PathBuf {
    let path = dir.join("big.pcap");
    let o = Command::new(bin())
        .args(["make-capture", "--packets", "30000", "-w"])
        .arg(&path)
        .arg("--from")
        .arg(repo().join("lessons/03_tcp/trace.pcapng"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o).1);
    path
}

#[test]
fn piped_stderr_carries_no_progress() {
    let dir = tempfile::tempdir().unwrap();
    let big = big_capture(dir.path());
    for extra in [&["--stats"][..], &["--view", "layers", "-c", "20000"], &[]] {
        let o = Command::new(bin())
            .arg("dissect")
            .arg(&big)
            .args(extra)
            .env("WIRELAB_PROGRESS_AFTER_MS", "0")
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !err.contains('\r') && !err.contains("analysing") && !err.contains("dissecting"),
            "{extra:?}: progress in a pipe: {err:?}"
        );
    }
}

#[test]
fn a_terminal_gets_a_progress_bar() {
    // `script` runs the command on a pseudo-terminal, as a person's terminal would.
    if Command::new("script").arg("--version").output().is_err() {
        common::skip_or_fail(
            "a_terminal_gets_a_progress_bar",
            "script (util-linux) is missing",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let big = big_capture(dir.path());
    let cmd = format!("{} dissect {} --stats > /dev/null", bin(), big.display());
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("WIRELAB_PROGRESS_AFTER_MS", "0")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(
        shown.contains("analysing") && shown.contains("packets"),
        "{shown:?}"
    );
}

// ── 6. A capture in the lab: says why nothing comes, stops on Ctrl-C with its summary ──────

#[test]
fn lab_capture_says_nothing_is_coming_and_ctrl_c_gives_its_summary() {
    use std::os::unix::process::CommandExt;
    if let Err(why) = lab_here() {
        common::skip_or_fail("lab_capture_ctrl_c", &why);
        return;
    }
    let child = Command::new(bin())
        .args(["lab", "shell", "--", bin(), "capture", "-c", "5"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(4500));
    // Ctrl-C in a terminal: SIGINT to the whole foreground process group.
    let pgid = child.id().to_string();
    let _ = Command::new("kill")
        .args(["-INT", "--", &format!("-{pgid}")])
        .status();
    let o = child.wait_with_output().unwrap();
    let (_, err) = text(&o);
    assert!(o.status.success(), "exit {:?}: {err}", o.status.code());
    assert!(err.contains("nothing has arrived on eth0"), "{err}");
    assert!(err.contains("the lab is private"), "{err}");
    assert!(
        err.contains("0 packets captured"),
        "no summary after Ctrl-C: {err}"
    );
    assert!(!err.contains("Network is down"), "{err}");
}

#[test]
fn capture_timeout_stops_with_the_summary() {
    if let Err(why) = lab_here() {
        common::skip_or_fail("capture_timeout", &why);
        return;
    }
    let o = wirelab(&["lab", "shell", "--", bin(), "capture", "--timeout", "1"]);
    let (_, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("--timeout: 1 s are over"), "{err}");
    assert!(err.contains("packets captured"), "{err}");
}

// ── 10. sio connect: "your id", and the session as private ─────────────────────────────────

#[test]
fn sio_connect_calls_the_public_id_your_id() {
    use std::io::{BufRead, BufReader};
    let mut server = Command::new(bin())
        .args(["sio", "serve", "--port", "0", "--color", "never"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("the server says where it listens")
            .unwrap();
        if let Some(i) = line.find("http://127.0.0.1:") {
            break line[i..].split_whitespace().next().unwrap().to_string();
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.txt");
    std::fs::write(&script, "/wait 100\n").unwrap();
    let o = wirelab(&["sio", "connect", &url, "--script", script.to_str().unwrap()]);
    let _ = server.kill();
    let _ = server.wait();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let session = out
        .lines()
        .find_map(|l| l.strip_prefix("connected. Engine.IO session "))
        .and_then(|l| l.split(':').next())
        .unwrap_or_else(|| panic!("no session line:\n{out}"));
    assert!(out.contains(&format!("Engine.IO session {session}: private")));
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("your id: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no \"your id\" line:\n{out}"));
    assert_eq!(id.len(), 24, "{id}");
    assert_ne!(id, session);
    assert!(!out.contains("this socket's id"), "{out}");
}

#[test]
fn ws_serve_and_connect_view_json_are_json_lines_only() {
    use std::io::{BufRead, BufReader, Read};
    let mut server = Command::new(bin())
        .args([
            "ws", "serve", "--port", "0", "--view", "json", "--color", "never",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // With --view json the server's sentences (where it listens) come on standard error.
    let mut err_lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let port = loop {
        let line = err_lines
            .next()
            .expect("the server says where it listens")
            .unwrap();
        if let Some(rest) = line.strip_prefix("listening on 127.0.0.1:") {
            break rest.split(';').next().unwrap().to_string();
        }
    };
    let client = Command::new(bin())
        .args([
            "ws",
            "connect",
            &format!("ws://127.0.0.1:{port}/ws"),
            "--view",
            "json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = client.stdin.as_ref().unwrap();
        stdin.write_all(b"hello\n").unwrap();
    }
    let o = client.wait_with_output().unwrap();
    let _ = Command::new("kill")
        .args(["-INT", &server.id().to_string()])
        .status();
    let mut server_out = String::new();
    server
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut server_out)
        .unwrap();
    let _ = server.wait();
    let client_out = String::from_utf8_lossy(&o.stdout).into_owned();
    for (who, out) in [("ws serve", &server_out), ("ws connect", &client_out)] {
        assert!(out.lines().count() >= 2, "{who} printed {out:?}");
        for line in out.lines() {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|e| panic!("{who}: not JSON ({e}): {line:?}"));
        }
    }
}
