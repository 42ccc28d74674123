//! Long-running commands keep their memory flat: `udp recv` after many datagrams and
//! `tcp serve --keep` after many connections use about what they used after the first
//! thousand (every narration line is printed and forgotten). All on 127.0.0.1; each load is
//! bounded in count (1,000,000 datagrams, 2,000 connections) and in time. `bench/memory.sh`
//! runs the same with the release build, 10,000 connections, and the build of another commit
//! for comparison. Linux only: memory is read from /proc.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpStream, UdpSocket};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

/// A count from the environment (the bench script asks for more), else `default`.
fn count(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The wirelab to measure: `$WIRELAB_BIN` (the bench script compares two builds), else the
/// one cargo built for this test.
fn wirelab() -> std::process::Command {
    match std::env::var_os("WIRELAB_BIN") {
        Some(bin) => std::process::Command::new(bin),
        None => std::process::Command::cargo_bin("wirelab").unwrap(),
    }
}

/// The longest a load may run.
const LIMIT: Duration = Duration::from_secs(240);

/// How much more memory the last sample may use than the one after the first thousand.
const FLAT_KIB: u64 = 4 * 1024;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// A port free right now on 127.0.0.1 (for TCP, or UDP if `udp`), to name explicitly: the
/// bench script also measures older builds, which printed `:0` for `--port 0`.
fn free_port(udp: bool) -> String {
    let port = if udp {
        UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    } else {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    port.to_string()
}

/// Start `wirelab ARGS`, read its port from standard error, and count the lines it writes on
/// standard output (each a datagram, or a line of data) without keeping them.
fn start(args: &[&str]) -> (Child, u16, Arc<AtomicU64>) {
    let mut child = wirelab()
        .env("NO_COLOR", "1")
        .args(["--color", "never"])
        .args(args)
        // Standard input open and silent, as a terminal nobody types in.
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let port = loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "no port printed");
        if let Some(i) = line.find("on 127.0.0.1:") {
            let digits: String = line[i + 13..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            break digits.parse::<u16>().unwrap();
        }
    };
    // The narration on stderr: read and dropped.
    std::thread::spawn(move || {
        let mut sink = [0u8; 65536];
        while matches!(err.read(&mut sink), Ok(n) if n > 0) {}
    });
    let lines = Arc::new(AtomicU64::new(0));
    let counted = lines.clone();
    let mut out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            let k = buf[..n].iter().filter(|&&b| b == b'\n').count();
            counted.fetch_add(k as u64, Ordering::Relaxed);
        }
    });
    (child, port, lines)
}

fn stop(mut child: Child) {
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn udp_recv_memory_stays_flat() {
    let total = count("WIRELAB_MEMORY_DATAGRAMS", 1_000_000);
    let (child, port, got) = start(&["udp", "recv", "--port", &free_port(true)]);
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    let start = Instant::now();
    let (mut sent, mut first) = (0u64, None);
    // At most 64 datagrams in flight, so that none is dropped by a full receive buffer.
    while got.load(Ordering::Relaxed) < total && start.elapsed() < LIMIT {
        let received = got.load(Ordering::Relaxed);
        if first.is_none() && received >= 1000 {
            first = Some(rss_kib(child.id()));
        }
        if sent < total && sent - received < 64 {
            u.send_to(format!("datagram {sent}").as_bytes(), ("127.0.0.1", port))
                .unwrap();
            sent += 1;
        } else {
            std::thread::sleep(Duration::from_micros(50));
        }
    }
    let received = got.load(Ordering::Relaxed);
    let last = rss_kib(child.id());
    stop(child);
    let first = first.expect("not even 1,000 datagrams arrived");
    println!(
        "udp recv: RSS {first} KiB after 1,000 datagrams, {last} KiB after {received} ({:.1} s)",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(
        received, total,
        "not every datagram arrived within the time limit"
    );
    assert!(
        last <= first + FLAT_KIB,
        "udp recv grew from {first} KiB to {last} KiB over {received} datagrams"
    );
}

#[test]
fn tcp_serve_keep_memory_stays_flat() {
    let total = count("WIRELAB_MEMORY_CONNECTIONS", 2_000);
    // Each client sends a line and closes its side; the server then closes too.
    let (child, port, got) = start(&["tcp", "serve", "--port", &free_port(false), "--keep"]);
    let start = Instant::now();
    let mut first = None;
    let mut done = 0u64;
    while done < total && start.elapsed() < LIMIT {
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        use std::io::Write;
        c.write_all(format!("connection {done}\n").as_bytes())
            .unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = c.read_to_end(&mut rest);
        done += 1;
        if done == 1000 {
            // Let the server finish that connection's narration.
            std::thread::sleep(Duration::from_millis(100));
            first = Some(rss_kib(child.id()));
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    let last = rss_kib(child.id());
    let lines = got.load(Ordering::Relaxed);
    stop(child);
    let first = first.expect("not even 1,000 connections were made");
    println!(
        "tcp serve --keep: RSS {first} KiB after 1,000 connections, {last} KiB after {done} ({:.1} s)",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(
        done, total,
        "the connections did not all finish within the time limit"
    );
    assert_eq!(
        lines, total,
        "the server printed {lines} lines for {total} connections"
    );
    assert!(
        last <= first + FLAT_KIB,
        "tcp serve --keep grew from {first} KiB to {last} KiB over {done} connections"
    );
}
