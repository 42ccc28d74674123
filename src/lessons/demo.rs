//! Running a lesson's demo: a fresh wirelab process whose output is shown through a
//! [`Stepper`], one packet at a time when the instructor asks for it.
//!
//! A demo in the lab must be its own process: the lab's namespaces can only be entered while
//! a process still has a single thread (see [`crate::source::lab`]). So `wirelab lesson` and
//! `wirelab tour` start `wirelab <demo…>` as a child, read its output through a pipe and cut
//! it into packets ([`crate::instructor::Splitter`]). The child's output is read on a thread
//! of its own, as fast as the child writes it, so a demo never waits for the instructor: its
//! timers (a handshake timeout, a 100 ms pause before closing) run as they would alone.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;

use crate::Error;
use crate::instructor::{Flow, MARKS_ENV, Splitter, Stepper};

/// How a demo run ended.
pub struct Outcome {
    /// The child's exit status (`None` if it was stopped because the person quit).
    pub status: Option<ExitStatus>,
    /// What the child wrote on standard error.
    pub stderr: String,
    /// The person pressed `q`.
    pub quit: bool,
    /// All the text shown, for the caller to look at (did the demo fall back to a replay?).
    pub shown: String,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// The last line the child wrote on standard error, without wirelab's prefix: usually
    /// the reason it failed.
    pub fn reason(&self) -> String {
        let line = self
            .stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        let line = line
            .strip_prefix("wirelab: error: ")
            .or_else(|| line.strip_prefix("wirelab: "))
            .unwrap_or(line);
        if line.is_empty() {
            match self.status.and_then(|s| s.code()) {
                Some(c) => format!("it ended with exit status {c} and said nothing on stderr"),
                None => "it was ended by a signal".to_string(),
            }
        } else {
            line.to_string()
        }
    }
}

/// The demo's arguments with paths into the lessons folder (`lessons/05_capture/trace.pcapng`)
/// made absolute, so the demo works from any directory.
pub fn resolve(args: &[String]) -> Vec<String> {
    let root = super::lessons_dir();
    args.iter()
        .map(|a| match (a.strip_prefix("lessons/"), &root) {
            (Some(rest), Some(dir)) => {
                let p = dir.join(rest);
                if p.exists() {
                    p.display().to_string()
                } else {
                    a.clone()
                }
            }
            _ => a.clone(),
        })
        .collect()
}

/// A path as the narration shows it: relative to the folder that holds the lessons folder
/// (`lessons/03_tcp/trace.pcapng`), so the text is the same on every machine.
pub fn display_path(p: &Path) -> String {
    if let Some(dir) = super::lessons_dir()
        && let Some(parent) = dir.parent()
        && let Ok(rel) = p.strip_prefix(parent)
    {
        return rel.display().to_string();
    }
    p.display().to_string()
}

/// The demo's options that keep it short, for the tour: the WebSocket lesson in the summary
/// view (not every header of every frame), the Socket.IO demo without every packet.
pub fn brief(demo: &[String]) -> Vec<String> {
    let mut a = demo.to_vec();
    let has = |a: &[String], flag: &str| {
        a.iter()
            .any(|x| x == flag || x.starts_with(&format!("{flag}=")))
    };
    let words: Vec<&str> = a.iter().take(2).map(String::as_str).collect();
    match words.as_slice() {
        ["ws", "echo"] if !has(&a, "--view") => a.extend(["--view".into(), "summary".into()]),
        ["sio", "demo"] if !has(&a, "--no-wire") => a.push("--no-wire".into()),
        _ => {}
    }
    a
}

/// Run `wirelab ARGS` as a child and show its output through `stepper`.
///
/// `color` and `width` are passed on (`--color`, `COLUMNS`), since the child writes to a pipe
/// and cannot see the terminal. `q` stops the child.
pub fn run<W: Write>(
    args: &[String],
    color: bool,
    width: usize,
    stepper: &mut Stepper<W>,
) -> Result<Outcome, Error> {
    let exe = std::env::current_exe()?;
    run_program(&exe, args, color, width, stepper)
}

/// [`run`] with the program named (tests use it with a stand-in).
pub fn run_program<W: Write>(
    exe: &PathBuf,
    args: &[String],
    color: bool,
    width: usize,
    stepper: &mut Stepper<W>,
) -> Result<Outcome, Error> {
    let mut child = Command::new(exe)
        .arg("--color")
        .arg(if color { "always" } else { "never" })
        .args(args)
        .env(MARKS_ENV, "1")
        .env("COLUMNS", width.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let mut out = child.stdout.take().ok_or("no pipe for the demo's output")?;
    let mut err = child.stderr.take().ok_or("no pipe for the demo's errors")?;
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut split = Splitter::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match out.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    for chunk in split.push(&buf[..n]) {
                        if tx.send(chunk).is_err() {
                            return;
                        }
                    }
                }
            }
        }
        if let Some(chunk) = split.finish() {
            let _ = tx.send(chunk);
        }
    });
    let errors = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let mut quit = false;
    let mut shown = String::new();
    loop {
        // Look at the stepper's cancel flag (Ctrl-C or SIGTERM in `tour`) now and then.
        let chunk = match rx.recv_timeout(std::time::Duration::from_millis(100)) {
            Ok(chunk) => chunk,
            Err(mpsc::RecvTimeoutError::Timeout) if stepper.cancelled() => {
                interrupt(&mut child);
                quit = true;
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        shown.push_str(&chunk);
        match stepper.show(&chunk) {
            Ok(Flow::Quit) => {
                quit = true;
                break;
            }
            Ok(_) => {}
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e.into());
            }
        }
    }
    // Closing our end of the pipe (the reader thread returns once `rx` is gone) makes the
    // child's next write fail, so a demo the person quit ends by itself, through its own
    // clean-up (a Redis server it started is stopped, the lab's namespaces vanish). A demo
    // that writes nothing more still ends on its own; only one that does not after a while
    // is stopped (our own child, by its handle).
    drop(rx);
    let status = if quit {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(s) = child.try_wait()? {
                break s;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                break child.wait()?;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    } else {
        child.wait()?
    };
    let _ = reader.join();
    let stderr = errors.join().unwrap_or_default();
    Ok(Outcome {
        status: (!quit).then_some(status),
        stderr,
        quit,
        shown,
    })
}

/// Ask a demo to stop as Ctrl-C would (SIGINT: a demo cleans up on it, a Redis it started is
/// stopped); the caller then waits for it.
#[cfg(target_os = "linux")]
fn interrupt(child: &mut std::process::Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
}

/// Elsewhere the demo is ended.
#[cfg(not(target_os = "linux"))]
fn interrupt(child: &mut std::process::Child) {
    let _ = child.kill();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn brief_shortens_only_long_demos() {
        assert_eq!(
            brief(&v(&["ws", "echo"])),
            v(&["ws", "echo", "--view", "summary"])
        );
        assert_eq!(
            brief(&v(&["ws", "echo", "--view=layers"])),
            v(&["ws", "echo", "--view=layers"])
        );
        assert_eq!(
            brief(&v(&["sio", "demo", "--servers", "2"])),
            v(&["sio", "demo", "--servers", "2", "--no-wire"])
        );
        assert_eq!(brief(&v(&["tcp", "echo"])), v(&["tcp", "echo"]));
    }

    #[test]
    fn resolve_finds_lesson_files_from_anywhere() {
        let got = resolve(&v(&[
            "dissect",
            "lessons/05_capture/trace.pcapng",
            "-c",
            "4",
        ]));
        assert!(
            Path::new(&got[1]).is_absolute() && Path::new(&got[1]).exists(),
            "{got:?}"
        );
        assert_eq!(got[2..], v(&["-c", "4"]));
    }
}
