//! Running wirelab's long-lived commands (`ws serve`, `sio serve`, `tcp serve`, `udp recv`…)
//! as real processes for the tests: start one, find the port it printed, read what it writes,
//! send it a signal, and collect its output when it ends. Every server listens on 127.0.0.1
//! and is stopped (by its process id) when the test is done with it.
#![allow(dead_code)]

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

/// A wirelab process and what it has written so far.
pub struct Server {
    pub child: Child,
    /// The port it said it listens (or receives) on.
    pub port: u16,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// What a finished process wrote, and how it ended.
pub struct Ended {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Ended {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Send a signal to a process by its id, with the `kill` command (`"INT"`, `"TERM"`).
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

/// `wirelab --color never ARGS` with NO_COLOR set, standard input from /dev/null.
pub fn wirelab(args: &[&str]) -> Command {
    let mut c = Command::cargo_bin("wirelab").unwrap();
    c.env("NO_COLOR", "1")
        .arg("--color")
        .arg("never")
        .args(args);
    c.stdin(Stdio::null());
    c
}

fn collect(
    mut from: impl Read + Send + 'static,
    into: Arc<Mutex<Vec<u8>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => into.lock().unwrap().extend_from_slice(&buf[..n]),
            }
        }
    })
}

/// The port in the first "listening on 127.0.0.1:PORT"-like phrase of `text`.
fn port_in(text: &str) -> Option<u16> {
    for key in ["on 127.0.0.1:", "on http://127.0.0.1:"] {
        if let Some(i) = text.find(key) {
            let digits: String = text[i + key.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if let Ok(p) = digits.parse::<u16>()
                && p != 0
            {
                return Some(p);
            }
        }
    }
    None
}

impl Server {
    /// Start `cmd` and wait (10 s at most) until it says where it listens.
    pub fn start(cmd: Command) -> Server {
        let s = Server::start_when(cmd, |out, err| port_in(&format!("{out}{err}")).is_some());
        assert!(s.port != 0, "no port in:\n{}\n{}", s.stdout(), s.stderr());
        s
    }

    /// Start `cmd` and go on at once.
    pub fn start_without_port(cmd: Command) -> Server {
        Server::start_when(cmd, |_, _| true)
    }

    /// Start `cmd` and wait (10 s at most) until `ready(stdout, stderr)`; `port` is the port
    /// it printed, if it did.
    pub fn start_when(mut cmd: Command, ready: impl Fn(&str, &str) -> bool) -> Server {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wirelab");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), stdout.clone()),
            collect(child.stderr.take().unwrap(), stderr.clone()),
        ];
        let mut s = Server {
            child,
            port: 0,
            stdout,
            stderr,
            readers,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (out, err) = (s.stdout(), s.stderr());
            if ready(&out, &err) {
                s.port = port_in(&format!("{out}{err}")).unwrap_or(0);
                return s;
            }
            if Instant::now() > deadline || s.child.try_wait().unwrap().is_some() {
                let _ = s.child.kill();
                panic!("the process was never ready:\n{out}\n{err}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Everything written on standard output so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    pub fn stdout_bytes(&self) -> Vec<u8> {
        self.stdout.lock().unwrap().clone()
    }

    /// Wait until `pred` holds for (stdout, stderr), or `secs` pass; returns whether it held.
    pub fn wait_for(&self, secs: u64, pred: impl Fn(&str, &str) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if pred(&self.stdout(), &self.stderr()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        pred(&self.stdout(), &self.stderr())
    }

    /// Send a signal to the process by its id: `"INT"` as Ctrl-C does, `"TERM"` as `kill` does.
    pub fn signal(&self, sig: &str) {
        signal(self.child.id(), sig);
    }

    /// Wait for the process to end (killing it after `secs`, which fails the test).
    pub fn wait(mut self, secs: u64) -> Ended {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "the process did not end within {secs} s\nstdout:\n{}\nstderr:\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        Ended {
            status,
            stdout: self.stdout.lock().unwrap().clone(),
            stderr: self.stderr.lock().unwrap().clone(),
        }
    }

    /// Stop it as Ctrl-C would, and wait for it.
    pub fn interrupt(self) -> Ended {
        self.signal("INT");
        self.wait(15)
    }

    /// Resident memory of the process, in KiB (VmRSS in /proc/PID/status).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
