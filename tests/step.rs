//! Instructor mode (`--step`), driven the way a person drives it: through a terminal.
//!
//! `script` (util-linux) runs wirelab on a pseudo-terminal, so wirelab sees a real terminal
//! on standard input and output and reads single keys in raw mode. The test writes keys into
//! the terminal and reads what appears: a key shows the next packet, `b` goes back, `q` quits.
//! After wirelab ends, `stty -a` on the same terminal shows that its settings were restored.

mod common;

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wirelab")
}

fn trace() -> String {
    format!("{}/lessons/03_tcp/trace.pcapng", env!("CARGO_MANIFEST_DIR"))
}

/// A program running on a pseudo-terminal, its screen collected as it comes.
struct Term {
    child: Child,
    screen: Arc<Mutex<Vec<u8>>>,
    /// How much of the screen was looked at already.
    seen: usize,
}

impl Term {
    /// Run a shell command line on a new pseudo-terminal, or `None` if `script` is missing.
    fn start(test: &str, command: &str) -> Option<Term> {
        let Ok(mut child) = Command::new("script")
            .args(["-q", "-f", "-e", "-c", command, "/dev/null"])
            .env("COLUMNS", "80")
            .env("LINES", "30")
            .env("PAGER", "cat")
            .env_remove("NO_COLOR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        else {
            common::skip_or_fail(test, "`script` (util-linux) is not installed");
            return None;
        };
        let mut out = child.stdout.take().unwrap();
        let screen = Arc::new(Mutex::new(Vec::new()));
        let s = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                s.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Some(Term {
            child,
            screen,
            seen: 0,
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Wait until `want` appears after what was seen before; then it counts as seen.
    fn expect(&mut self, want: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.text();
            if let Some(i) = text[self.seen.min(text.len())..].find(want) {
                let start = self.seen;
                self.seen += i + want.len();
                return text[start..self.seen].to_string();
            }
            if Instant::now() > deadline {
                panic!(
                    "{want:?} did not appear; the screen after what was seen:\n{}",
                    &text[self.seen.min(text.len())..]
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn key(&mut self, k: &[u8]) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(k).unwrap();
        stdin.flush().unwrap();
    }

    /// Wait for the program to end; its exit status.
    fn wait(mut self) -> (i32, String) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(50));
                return (status.code().unwrap_or(-1), self.text());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("still running after quitting; screen:\n{}", self.text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The terminal settings `stty -a` printed at the end show line mode and echo back on.
fn assert_terminal_restored(screen: &str) {
    let stty = screen
        .rsplit("speed ")
        .next()
        .unwrap_or_else(|| panic!("no stty output:\n{screen}"));
    let words: Vec<&str> = stty.split_whitespace().collect();
    for flag in ["icanon", "echo", "isig"] {
        assert!(
            words.contains(&flag),
            "after wirelab the terminal should have {flag} on again:\n{stty}"
        );
    }
}

#[test]
fn dissect_step_advances_goes_back_and_quits() {
    let cmd = format!(
        "{} dissect {} --step --color never; echo exit=$?; stty -a",
        bin(),
        trace()
    );
    let Some(mut t) = Term::start("dissect_step_advances_goes_back_and_quits", &cmd) else {
        return;
    };
    // Packet 1 (an ARP request) and the prompt.
    let first = t.expect("[packet 1]");
    assert!(first.contains("ARP"), "{first}");
    assert!(
        !first.contains("0.000028"),
        "packet 2 was shown before a key: {first}"
    );
    t.key(b" ");
    let second = t.expect("[packet 2]");
    assert!(second.contains("ARP  reply"), "{second}");
    // Back: the screen is cleared and redrawn as it was at packet 1.
    t.key(b"b");
    let back = t.expect("[packet 1]");
    assert!(
        back.contains("\x1b[2J"),
        "going back redraws the screen: {back:?}"
    );
    assert!(!back.contains("ARP  reply"), "{back}");
    // Forward again shows packet 2 again, then the next key packet 3 (the SYN).
    t.key(b"\x1b[C");
    let again = t.expect("[packet 2]");
    assert!(again.contains("ARP  reply"), "{again}");
    t.key(b"\r");
    let third = t.expect("[packet 3]");
    assert!(third.contains("[SYN]"), "{third}");
    t.key(b"q");
    let (code, screen) = t.wait();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("exit=0"),
        "wirelab's own exit status: {screen}"
    );
    let after = &screen[screen.find("[packet 3]").unwrap()..];
    assert!(
        !after.contains("[SYN, ACK]"),
        "packet 4 was shown after q: {after}"
    );
    assert_terminal_restored(&screen);
}

#[test]
fn ctrl_c_while_waiting_quits_and_restores_the_terminal() {
    let cmd = format!(
        "{} dissect {} --step --view ladder --color never; echo exit=$?; stty -a",
        bin(),
        trace()
    );
    let Some(mut t) = Term::start("ctrl_c_while_waiting_quits_and_restores_the_terminal", &cmd)
    else {
        return;
    };
    // The ladder draws no arrow for ARP: the first step is the SYN.
    let first = t.expect("[packet 1]");
    assert!(first.contains("SYN"), "{first}");
    t.key(&[3]);
    let (code, screen) = t.wait();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("exit=0"), "{screen}");
    assert_terminal_restored(&screen);
}

#[test]
fn lesson_step_walks_through_the_demo() {
    let cmd = format!("{} lesson 5 --step --color never; echo exit=$?", bin());
    let Some(mut t) = Term::start("lesson_step_walks_through_the_demo", &cmd) else {
        return;
    };
    // The lesson's text, then its demo (a layer view of a recorded trace), packet by packet.
    t.expect("Live demo:");
    let first = t.expect("[packet 1]");
    assert!(first.contains("── Packet 1 "), "{first}");
    assert!(!first.contains("── Packet 2 "), "{first}");
    t.key(b" ");
    let second = t.expect("[packet 2]");
    assert!(second.contains("── Packet 2 "), "{second}");
    t.key(b"b");
    t.expect("[packet 1]");
    t.key(b"q");
    let (code, screen) = t.wait();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("exit=0"), "{screen}");
}

#[test]
fn step_reads_lines_when_input_is_not_a_terminal() {
    let mut child = Command::new(bin())
        .args(["dissect", &trace(), "--step", "--color", "never"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Next, back, next, next, quit.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\nb\n\n\nq\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{stdout}");
    assert!(lines[0].trim_start().starts_with("1 "), "{stdout}");
    assert!(lines[1].trim_start().starts_with("2 "), "{stdout}");
    assert_eq!(lines[2], "── back to packet 1 ──", "{stdout}");
    assert!(lines[3].trim_start().starts_with("1 "), "{stdout}");
    assert!(lines[4].trim_start().starts_with("2 "), "{stdout}");
    assert!(lines[5].trim_start().starts_with("3 "), "{stdout}");
    assert!(stderr.contains("[packet 3] Enter next"), "{stderr}");
}

#[test]
fn slow_paces_without_a_key() {
    let start = Instant::now();
    let out = Command::new(bin())
        .args([
            "dissect",
            &trace(),
            "--slow",
            "50",
            "-c",
            "4",
            "--color",
            "never",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 4);
    // Not a speed test: a lower bound that sleeping guarantees, to show the pauses happened.
    eprintln!("--slow 50 over 4 packets took {:?}", start.elapsed());
    assert!(start.elapsed() >= Duration::from_millis(200));
}
