//! The README's examples, run as written.
//!
//! A student's first ten minutes are spent copying commands out of the README. This test
//! reads README.md, takes every line of its `sh` blocks, and runs each one that finishes by
//! itself through `bash -c`, exactly as written, with two stand-ins: `capture.pcap` is
//! lesson 3's recorded trace, and `wirelab` is the binary under test (`lessons/` and `tests/`
//! are the repository's). An example fails if it
//! exits non-zero, or if it shows nothing (no standard output, and no file written). Lines that
//! wait for a person (a server waiting for clients, a client reading the keyboard, `--step`)
//! are listed with the reason they are not run, so a new example is run unless it says why not.
//!
//! `capture` on the host's loopback needs CAP_NET_RAW and traffic: the test sends a few
//! datagrams to 127.0.0.1:9 while it runs. Examples that need the lab, Redis or capture say
//! SKIPPED when this machine lacks them, and fail under `CI=true`.
//!
//! Linux only: the README's examples and these checks are written for the Linux machine the
//! course runs on (the lab, `-i lo`, process groups); tests/portable.rs covers macOS and
//! Windows paths.
#![cfg(target_os = "linux")]

mod common;

use std::io::{Read, Write};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one example may run.
const LIMIT: Duration = Duration::from_secs(240);
/// How many examples run at once (the machine is shared).
const WORKERS: usize = 3;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every line of the README's `sh` blocks, comments removed, with its line number.
fn examples() -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let mut out = Vec::new();
    let mut in_sh = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with("```") {
            in_sh = !in_sh && t == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let cmd = strip_comment(t);
        if !cmd.is_empty() {
            out.push((i + 1, cmd.to_string()));
        }
    }
    out
}

/// The command without its trailing `# comment` (a `#` after a space, outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev.is_whitespace() => return line[..i].trim_end(),
            _ => {}
        }
        prev = c;
    }
    line.trim_end()
}

/// What to do with one example.
#[derive(Debug, PartialEq)]
enum Plan {
    Run {
        needs: Vec<Need>,
        ok_codes: Vec<i32>,
    },
    NotRun(&'static str),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Need {
    Lab,
    Capture,
    Redis,
}

fn plan(cmd: &str) -> Plan {
    let has = |s: &str| cmd.contains(s);
    if cmd.starts_with("git clone") {
        return Plan::NotRun("fetches the repository, which this test runs inside");
    }
    if cmd.starts_with("cargo test") {
        return Plan::NotRun("is this test suite");
    }
    if cmd.starts_with("cargo build") {
        return Plan::NotRun("builds the release profile; the test runs the binary cargo built");
    }
    if has("--step") {
        return Plan::NotRun("waits for a key press per step (tests/step.rs drives it)");
    }
    for server in ["tcp serve", "udp recv", "ws serve", "sio serve"] {
        if has(server) {
            return Plan::NotRun("a server: it waits for clients until Ctrl-C (tested in tests/)");
        }
    }
    for client in ["tcp connect", "ws connect", "sio connect"] {
        if has(client) {
            return Plan::NotRun("a client of the server started on the line before it");
        }
    }
    // `wirelab lab [--routers N --link SPEC] shell` with no command after `--`.
    if has("wirelab lab") && cmd.split_whitespace().any(|w| w == "shell") && !has(" -- ") {
        return Plan::NotRun("an interactive shell");
    }
    let mut needs = Vec::new();
    // The demos run in the lab where it exists and fall back where it does not (the portable
    // tests cover that); `wirelab lab` itself exits 3 without it, and `lab shell` fails.
    if has("wirelab lab") {
        needs.push(Need::Lab);
    }
    if cmd.starts_with("wirelab capture") {
        needs.push(Need::Capture);
    }
    if has("--servers 2") {
        needs.push(Need::Redis);
    }
    // `check` grades: exit 1 means "not all right yet", which is what a fresh checkout says.
    let ok_codes = if cmd.starts_with("wirelab check") {
        vec![0, 1]
    } else {
        vec![0]
    };
    Plan::Run { needs, ok_codes }
}

/// Why a need is not met here, if it is not.
fn missing(need: Need, bin: &Path) -> Option<String> {
    match need {
        Need::Lab => {
            let ok = Command::new(bin)
                .args(["lab", "--color", "never"])
                .stdin(Stdio::null())
                .output()
                .is_ok_and(|o| o.status.success());
            (!ok).then(|| "the lab cannot be built here (`wirelab lab` says why)".to_string())
        }
        Need::Capture => {
            let o = Command::new(bin)
                .args(["capture", "-i", "lo", "-c", "0"])
                .stdin(Stdio::null())
                .output()
                .expect("run wirelab");
            (!o.status.success()).then(|| {
                format!(
                    "capture on lo is not allowed here: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                )
            })
        }
        Need::Redis => {
            let ok = Command::new("redis-server")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
            (!ok).then(|| "redis-server is not installed".to_string())
        }
    }
}

/// A folder to run one example in: `lessons` and `capture.pcap` point into the repository,
/// and HOME is a fresh folder inside it.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(repo().join("lessons"), dir.path().join("lessons"))
        .expect("link lessons");
    // The captures of the registered protocols (tests/captures) that examples name.
    std::os::unix::fs::symlink(repo().join("tests"), dir.path().join("tests")).expect("link tests");
    std::os::unix::fs::symlink(
        repo().join("lessons/03_tcp/trace.pcapng"),
        dir.path().join("capture.pcap"),
    )
    .expect("link capture.pcap");
    std::fs::create_dir(dir.path().join("home")).expect("home");
    dir
}

/// Bytes in the files an example wrote (symbolic links not followed).
fn written(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            total += written(&e.path());
        } else if ft.is_file() {
            total += e.metadata().map_or(0, |m| m.len());
        }
    }
    total
}

/// Datagrams to 127.0.0.1:9 every 100 ms until `stop` (at most 30 s): traffic for `capture`.
fn loopback_traffic(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let start = Instant::now();
        while !stop.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(30) {
            let _ = sock.send_to(b"readme example traffic", "127.0.0.1:9");
            std::thread::sleep(Duration::from_millis(100));
        }
    })
}

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    files: u64,
    timed_out: bool,
}

fn run_example(cmd: &str, needs: &[Need]) -> Ran {
    let dir = workdir();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_wirelab"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let cmd = cmd.replacen("cargo run --release -- ", "wirelab ", 1);
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = needs
        .contains(&Need::Capture)
        .then(|| loopback_traffic(stop.clone()));
    let mut child = {
        use std::os::unix::process::CommandExt;
        Command::new("bash")
            .args(["-c", &cmd])
            .current_dir(dir.path())
            .env("PATH", path)
            .env("HOME", dir.path().join("home"))
            .env("COLUMNS", "100")
            .env("NO_COLOR", "1")
            .env_remove("WIRELAB_PORTABLE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("run bash")
    };
    // Read both pipes on threads, so a chatty example never blocks on a full pipe.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if start.elapsed() > LIMIT {
            timed_out = true;
            // The whole process group: bash and what it started.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    stop.store(true, Ordering::Relaxed);
    if let Some(t) = traffic {
        let _ = t.join();
    }
    Ran {
        code: status.and_then(|s| s.code()),
        stdout: String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned(),
        files: written(dir.path()),
        timed_out,
    }
}

/// Did the example show anything: standard output, a file, or (for the commands that narrate
/// on standard error) that narration?
fn shown(cmd: &str, r: &Ran) -> bool {
    let narration = narrates_on_stderr(cmd) && !r.stderr.trim().is_empty();
    !r.stdout.trim().is_empty() || r.files > 0 || narration
}

/// Commands made like netcat: what arrives goes to standard output (for a pipe), their
/// narration of the socket calls to standard error. For them, that narration is the output.
fn narrates_on_stderr(cmd: &str) -> bool {
    cmd.contains("wirelab udp send") || cmd.contains("wirelab tcp connect")
}

fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

#[test]
fn strip_comment_keeps_hashes_inside_quotes() {
    assert_eq!(
        strip_comment("wirelab lessons   # the list"),
        "wirelab lessons"
    );
    assert_eq!(
        strip_comment("wirelab dissect f -Y 'a # b' # c"),
        "wirelab dissect f -Y 'a # b'"
    );
    assert_eq!(strip_comment("echo a#b"), "echo a#b");
}

#[test]
fn readme_examples_run_as_written() {
    let bin = Path::new(env!("CARGO_BIN_EXE_wirelab"));
    let all = examples();
    assert!(
        all.len() >= 40,
        "only {} example lines found in README.md's sh blocks",
        all.len()
    );
    let mut queue = Vec::new();
    let mut not_run = Vec::new();
    let mut need_cache: Vec<(Need, Option<String>)> = Vec::new();
    for (line, cmd) in &all {
        match plan(cmd) {
            Plan::NotRun(why) => not_run.push(format!("README.md:{line} `{cmd}`: {why}")),
            Plan::Run { needs, ok_codes } => {
                let mut why_not = None;
                for n in &needs {
                    let m = match need_cache.iter().find(|(k, _)| k == n) {
                        Some((_, m)) => m.clone(),
                        None => {
                            let m = missing(*n, bin);
                            need_cache.push((*n, m.clone()));
                            m
                        }
                    };
                    if let Some(m) = m {
                        why_not = Some(m);
                    }
                }
                match why_not {
                    Some(why) => common::skip_or_fail(
                        &format!("readme_examples_run_as_written (README.md:{line} `{cmd}`)"),
                        &why,
                    ),
                    None => queue.push((*line, cmd.clone(), needs, ok_codes)),
                }
            }
        }
    }
    eprintln!(
        "README examples: {} to run, {} not run:\n  {}",
        queue.len(),
        not_run.len(),
        not_run.join("\n  ")
    );
    let queue = Arc::new(Mutex::new(queue));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let queue = queue.clone();
            let failures = failures.clone();
            std::thread::spawn(move || {
                loop {
                    let Some((line, cmd, needs, ok_codes)) =
                        queue.lock().unwrap_or_else(|e| e.into_inner()).pop()
                    else {
                        return;
                    };
                    let started = Instant::now();
                    let r = run_example(&cmd, &needs);
                    let secs = started.elapsed().as_secs_f64();
                    let mut problem = None;
                    if r.timed_out {
                        problem = Some(format!("did not finish within {} s", LIMIT.as_secs()));
                    } else if !r.code.is_some_and(|c| ok_codes.contains(&c)) {
                        problem = Some(format!("exit status {:?}", r.code));
                    } else if !shown(&cmd, &r) {
                        problem = Some("showed nothing: no output and no file written".into());
                    }
                    let _ = writeln!(
                        std::io::stderr(),
                        "README.md:{line} {:.1} s, {} lines{}: {cmd}",
                        secs,
                        r.stdout.lines().count(),
                        if problem.is_some() { " FAILED" } else { "" }
                    );
                    if let Some(p) = problem {
                        failures.lock().unwrap_or_else(|e| e.into_inner()).push(format!(
                            "README.md:{line} `{cmd}`: {p}\n--- stdout (end) ---\n{}\n--- stderr (end) ---\n{}",
                            tail(&r.stdout, 10),
                            tail(&r.stderr, 10)
                        ));
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let failures = failures.lock().unwrap_or_else(|e| e.into_inner());
    assert!(
        failures.is_empty(),
        "{} README example(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Every subcommand a user can see has at least one example in the README.
#[test]
fn every_subcommand_has_a_readme_example() {
    use clap::CommandFactory;
    let all: Vec<String> = examples().into_iter().map(|(_, c)| c).collect();
    let mut missing = Vec::new();
    let top = wirelab::cli::Cli::command();
    for sub in top.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        let nested: Vec<&clap::Command> = sub
            .get_subcommands()
            .filter(|s| !s.is_hide_set() && s.get_name() != "help")
            .collect();
        let words: Vec<String> = if nested.is_empty() {
            vec![format!("wirelab {name}")]
        } else {
            nested
                .iter()
                .map(|s| format!("wirelab {name} {}", s.get_name()))
                .collect()
        };
        // The subcommand's words in order, options allowed between them
        // (`wirelab lab --routers 1 measure` is an example of `wirelab lab measure`).
        let in_order = |line: &str, w: &str| {
            let mut tokens = line.split_whitespace();
            w.split_whitespace().all(|want| tokens.any(|t| t == want))
        };
        for w in words {
            if !all
                .iter()
                .any(|c| in_order(&c.replacen("cargo run --release -- ", "wirelab ", 1), &w))
            {
                missing.push(w);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "no README example for: {}",
        missing.join(", ")
    );
}
