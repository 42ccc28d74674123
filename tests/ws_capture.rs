//! A live wirelab WebSocket session, captured by tshark on the loopback interface, read back
//! by tshark, and compared frame by frame with what wirelab itself printed.
//!
//! `wirelab ws serve --echo` listens on a free port; `tshark -i lo -f "tcp port P"` captures;
//! `wirelab ws connect --view json` sends text, binary, a 300- and a 70,000-byte message, a
//! ping and a close. wirelab's JSON gives every frame's `websocket.*` fields in each
//! direction; tshark's `-T fields` reading of the capture must give the same values in the
//! same order. Capturing needs tshark and the right to capture on `lo` (root, or
//! `cap_net_raw`); without them the test says SKIPPED (under CI=true it fails).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const FIELDS: &[&str] = &[
    "websocket.fin",
    "websocket.rsv",
    "websocket.opcode",
    "websocket.mask",
    "websocket.payload_length",
    "websocket.payload_length_ext_16",
    "websocket.payload_length_ext_64",
    "websocket.masking_key",
    "websocket.payload.text",
    "websocket.payload.ping",
    "websocket.payload.pong",
    "websocket.payload.close.status_code",
    "websocket.payload.close.reason",
];

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn norm(v: &str) -> String {
    let v = v.replace(':', "");
    // Long text values: compare a prefix (tshark and wirelab both show the whole text, but
    // the 300-byte one would make failure messages unreadable).
    v.chars().take(80).collect()
}

#[test]
fn live_session_agrees_with_tshark() {
    if Command::new("tshark").arg("-v").output().is_err() {
        common::skip_or_fail("ws_capture", "tshark is not installed");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_wirelab");
    let mut server = Kill(
        Command::new(bin)
            .args([
                "--color", "never", "ws", "serve", "--echo", "--quiet", "--port", "0",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start wirelab ws serve"),
    );
    let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
    let port: u16 = loop {
        let line = lines.next().expect("a line from ws serve").unwrap();
        if let Some(rest) = line.split("listening on 127.0.0.1:").nth(1) {
            break rest.split(';').next().unwrap().trim().parse().unwrap();
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("session.pcapng");
    let mut tshark = Kill(
        Command::new("tshark")
            .args(["-i", "lo", "-f", &format!("tcp port {port}"), "-w"])
            .arg(&pcap)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start tshark"),
    );
    // Wait until tshark says it is capturing (or fails).
    let mut err = tshark.0.stderr.take().unwrap();
    let mut seen = String::new();
    let start = Instant::now();
    let mut buf = [0u8; 256];
    while !seen.contains("Capturing on") {
        let n = err.read(&mut buf).unwrap_or(0);
        if n == 0 || start.elapsed() > Duration::from_secs(20) {
            common::skip_or_fail(
                "ws_capture",
                &format!("tshark cannot capture on lo (needs root or cap_net_raw): {seen}"),
            );
            return;
        }
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    // Keep draining tshark's stderr so it never blocks on it.
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut err, &mut std::io::sink());
    });
    std::thread::sleep(Duration::from_millis(500));

    let input =
        "hello\n/binary 00ff10\n/big 300\n/big 70000\n/ping abc\n/sleep 1\n/close 1000 captured\n";
    let out = assert_cmd::Command::new(bin)
        .args([
            "--color",
            "never",
            "ws",
            "connect",
            &format!("ws://127.0.0.1:{port}/ws"),
            "--view",
            "json",
        ])
        .write_stdin(input)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_secs(1));
    // Stop tshark with SIGINT (by its pid) so it finishes the file.
    let _ = Command::new("kill")
        .args(["-INT", &tshark.0.id().to_string()])
        .status();
    let _ = tshark.0.wait();

    // wirelab's frames, per direction, in order.
    let mut ours: [Vec<Vec<String>>; 2] = [Vec::new(), Vec::new()];
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let j: serde_json::Value = serde_json::from_str(line).unwrap();
        let f = &j["fields"];
        if f.get("websocket.opcode").is_none() {
            continue;
        }
        let row = FIELDS
            .iter()
            .map(|n| norm(f.get(*n).and_then(|v| v.as_str()).unwrap_or("")))
            .collect();
        let d = usize::from(j["direction"] == "server_to_client");
        ours[d].push(row);
    }

    // tshark's frames, per direction, in order: its JSON tree keeps each frame apart even
    // when one packet carries several.
    let table = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&pcap)
        .args(["-Y", "websocket", "-T", "json", "--no-duplicate-keys"])
        .output()
        .expect("tshark reads the capture");
    let packets: serde_json::Value = serde_json::from_slice(&table.stdout).expect("tshark's JSON");
    let mut theirs: [Vec<Vec<String>>; 2] = [Vec::new(), Vec::new()];
    for p in packets.as_array().expect("an array of packets") {
        let layers = &p["_source"]["layers"];
        let src = layers["tcp"]["tcp.srcport"].as_str().unwrap_or("");
        let d = usize::from(src == port.to_string());
        let frames = match &layers["websocket"] {
            serde_json::Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        for f in frames {
            let mut flat = std::collections::HashMap::new();
            flatten(&f, &mut flat);
            let row = FIELDS
                .iter()
                .map(|n| norm(flat.get(*n).map(String::as_str).unwrap_or("")))
                .collect();
            theirs[d].push(row);
        }
    }
    for d in 0..2 {
        assert!(!ours[d].is_empty());
        assert_eq!(
            ours[d].len(),
            theirs[d].len(),
            "frame count, direction {d}: wirelab {:?}\ntshark {:?}",
            ours[d],
            theirs[d]
        );
        for (i, (a, b)) in ours[d].iter().zip(&theirs[d]).enumerate() {
            for (k, name) in FIELDS.iter().enumerate() {
                // tshark's text columns escape characters; our payloads here are plain.
                assert_eq!(a[k], b[k], "direction {d} frame {i} {name}");
            }
        }
    }
    println!(
        "live session: {} client frames and {} server frames agree with tshark on {} fields",
        ours[0].len(),
        ours[1].len(),
        FIELDS.len()
    );
}

/// Every `websocket.*` string value in a tshark JSON subtree, by name.
fn flatten(v: &serde_json::Value, out: &mut std::collections::HashMap<String, String>) {
    if let serde_json::Value::Object(m) = v {
        for (k, v) in m {
            match v {
                serde_json::Value::String(s) if k.starts_with("websocket.") => {
                    out.entry(k.clone()).or_insert_with(|| s.clone());
                }
                _ => flatten(v, out),
            }
        }
    }
}
