//! Live capture, checked against tshark: a file written with `-w` (from the lab, and from the
//! loopback interface stopped with Ctrl-C) must be read by tshark with the same packets that
//! wirelab showed: the same count, the same lengths, the same fields.
//!
//! Linux only: the lab, `AF_PACKET` and `setcap` are Linux's (`tests/portable.rs` checks what
//! the other systems do instead).
#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_wirelab")
}

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// tshark's reading of a file: one row per frame with the given fields.
fn tshark(file: &Path, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(file)
        .args(["-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tshark failed: {err}");
    assert!(!err.contains("cut short"), "the file is not whole: {err}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// The packets of wirelab's JSON view (lines without an "event" key).
fn packets(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|v| v.get("event").is_none())
        .collect()
}

/// Compare wirelab's packets with tshark's reading of the file, field by field.
fn agree(ours: &[Value], file: &Path, fields: &[&str]) {
    let mut all = vec!["frame.len", "frame.cap_len"];
    all.extend_from_slice(fields);
    let theirs = tshark(file, &all);
    assert_eq!(
        ours.len(),
        theirs.len(),
        "packet count: wirelab showed {}, the file holds {}",
        ours.len(),
        theirs.len()
    );
    for (i, (p, row)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(
            p["wire_len"].to_string(),
            row[0],
            "packet {}: length",
            i + 1
        );
        assert_eq!(
            p["cap_len"].to_string(),
            row[1],
            "packet {}: captured length",
            i + 1
        );
        for (j, f) in fields.iter().enumerate() {
            let ours = p["fields"][f]
                .as_str()
                .map(|s| s.split(',').next().unwrap_or(""));
            let theirs = row.get(j + 2).map(String::as_str).unwrap_or("");
            assert_eq!(ours.unwrap_or(""), theirs, "packet {}: {f}", i + 1);
        }
    }
}

fn lab_ok() -> bool {
    Command::new(bin())
        .args(["lab", "--color", "never"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("run wirelab")
}

#[test]
fn lab_capture_file_matches_tshark() {
    if !tshark_available() {
        common::skip_or_fail("lab_capture_file_matches_tshark", "tshark is not installed");
        return;
    }
    if !lab_ok() {
        common::skip_or_fail(
            "lab_capture_file_matches_tshark",
            "the lab is not available here (see `wirelab lab`)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // TCP, pcapng.
    let file = dir.path().join("tcp.pcapng");
    let out = run(&[
        "tcp",
        "echo",
        "--net",
        "lab",
        "--view",
        "json",
        "-w",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = packets(&out.stdout);
    assert!(ours.len() >= 10);
    agree(
        &ours,
        &file,
        &[
            "eth.src",
            "eth.type",
            "ip.src",
            "ip.dst",
            "tcp.srcport",
            "tcp.seq_raw",
            "tcp.ack_raw",
            "tcp.flags",
            "tcp.len",
            "tcp.window_size_value",
        ],
    );
    // UDP with IP fragments, pcap.
    let file = dir.path().join("udp.pcap");
    let out = run(&[
        "udp",
        "echo",
        "--net",
        "lab",
        "--view",
        "json",
        "-n",
        "3",
        "-w",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = packets(&out.stdout);
    agree(
        &ours,
        &file,
        &[
            "ip.src",
            "ip.id",
            "ip.flags.mf",
            "ip.frag_offset",
            "ip.proto",
            "ip.checksum",
        ],
    );
}

/// Start `wirelab capture` with these arguments and wait until it is capturing.
fn start_capture(args: &[&str]) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(bin())
        .arg("capture")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wirelab capture");
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("capture started");
    assert!(first.contains("capturing on"), "{first}");
    (child, rx)
}

/// Send datagrams to our own socket on 127.0.0.1 (so no ICMP errors), and return its port.
fn loopback_traffic(n: usize) -> u16 {
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    send_to_sink(&sink, n)
}

/// Send `n` datagrams to `sink` (a socket bound on 127.0.0.1) and return its port.
fn send_to_sink(sink: &UdpSocket, n: usize) -> u16 {
    let port = sink.local_addr().unwrap().port();
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..n {
        s.send_to(
            format!("wirelab capture test {i}").as_bytes(),
            ("127.0.0.1", port),
        )
        .unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    port
}

#[test]
fn loopback_capture_stopped_with_ctrl_c_matches_tshark() {
    if !tshark_available() {
        common::skip_or_fail(
            "loopback_capture_stopped_with_ctrl_c_matches_tshark",
            "tshark is not installed",
        );
        return;
    }
    let probe = run(&["capture", "-i", "lo", "-c", "0", "-q"]);
    if String::from_utf8_lossy(&probe.stderr).contains("CAP_NET_RAW") {
        common::skip_or_fail(
            "loopback_capture_stopped_with_ctrl_c_matches_tshark",
            "no CAP_NET_RAW on this host (run as root or setcap the binary)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lo.pcap");
    // Other programs may be busy on the loopback interface too: filter on our own port, so the
    // test looks at (and the capture prints and writes) only our datagrams.
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let filter = format!("udp.dstport == {}", sink.local_addr().unwrap().port());
    let (child, rx) = start_capture(&[
        "-i",
        "lo",
        "--view",
        "json",
        "--filter",
        &filter,
        "-w",
        file.to_str().unwrap(),
    ]);
    let port = send_to_sink(&sink, 5);
    // Ctrl-C.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "capture exits cleanly on SIGINT");
    let mut err = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while let Ok(l) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        err.push(l);
    }
    let err = err.join("\n");
    assert!(
        err.contains("dropped by the kernel"),
        "the drop count is reported: {err}"
    );
    let ours = packets(&out.stdout);
    // Each of our datagrams exactly once (PACKET_IGNORE_OUTGOING), with its length.
    let mine: Vec<&Value> = ours
        .iter()
        .filter(|p| p["fields"]["udp.dstport"].as_str() == Some(&port.to_string()))
        .collect();
    assert_eq!(
        mine.len(),
        5,
        "each datagram once, not twice; stderr: {err}; {} packets on stdout",
        ours.len()
    );
    for (i, p) in mine.iter().enumerate() {
        let len = format!("wirelab capture test {i}").len() + 8;
        assert_eq!(
            p["fields"]["udp.length"].as_str(),
            Some(len.to_string().as_str())
        );
    }
    agree(
        &ours,
        &file,
        &[
            "ip.src",
            "ip.dst",
            "ip.proto",
            "udp.srcport",
            "udp.dstport",
            "udp.length",
            "tcp.srcport",
            "tcp.flags",
        ],
    );
}

#[test]
fn loopback_capture_stops_after_count_and_writes_pcapng() {
    if !tshark_available() {
        common::skip_or_fail(
            "loopback_capture_stops_after_count_and_writes_pcapng",
            "tshark is not installed",
        );
        return;
    }
    let probe = run(&["capture", "-i", "lo", "-c", "0", "-q"]);
    if String::from_utf8_lossy(&probe.stderr).contains("CAP_NET_RAW") {
        common::skip_or_fail(
            "loopback_capture_stops_after_count_and_writes_pcapng",
            "no CAP_NET_RAW on this host (run as root or setcap the binary)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lo.pcapng");
    let (child, _rx) = start_capture(&[
        "-i",
        "lo",
        "-c",
        "3",
        "--view",
        "json",
        "-w",
        file.to_str().unwrap(),
    ]);
    loopback_traffic(6);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let ours = packets(&out.stdout);
    assert_eq!(ours.len(), 3, "-c 3 stops after three packets");
    agree(
        &ours,
        &file,
        &["ip.src", "ip.dst", "udp.dstport", "udp.length"],
    );
}

#[test]
fn capture_without_cap_net_raw_says_what_to_do() {
    // The unprivileged user runs a copy every user can reach (see common::public_copy).
    let copy = common::public_copy();
    let out = if is_root() {
        match Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&copy.bin)
            .args(["capture", "-i", "lo", "-c", "1"])
            .output()
        {
            Ok(o) => o,
            Err(_) => {
                common::skip_or_fail(
                    "capture_without_cap_net_raw_says_what_to_do",
                    "setpriv is not installed",
                );
                return;
            }
        }
    } else {
        run(&["capture", "-i", "lo", "-c", "1"])
    };
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        common::skip_or_fail(
            "capture_without_cap_net_raw_says_what_to_do",
            "this user can capture (the binary has CAP_NET_RAW)",
        );
        return;
    }
    assert!(err.contains("CAP_NET_RAW"), "{err}");
    assert!(
        err.contains(&format!(
            "sudo setcap cap_net_raw,cap_net_admin+ep {}",
            if is_root() {
                copy.bin.display().to_string()
            } else {
                bin().to_string()
            }
        )),
        "{err}"
    );
    assert!(err.contains("rebuild"), "{err}");
    assert!(err.contains("lab"), "the lab is offered: {err}");
}
