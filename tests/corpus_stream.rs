//! HTTP and WebSocket through the real pipeline, against Wireshark.
//!
//! `tests/ws_corpus.rs` checks the parsers on streams the test puts together itself. This
//! test runs the command a learner runs, `wirelab dissect FILE --view json`, on the nine
//! WebSocket captures of the corpus (tests/corpus): the engine dissects each frame, the stream
//! tracker puts each TCP conversation back in order, and [`wirelab::stream::upper`] finds the
//! HTTP messages and WebSocket frames in it and adds their layers to the frame that brought
//! each one's last byte. Every `http.*` and `websocket.*` value of every frame is compared
//! with tshark's, read with its default preferences (which reassemble): the stored oracle
//! (`oracle/<name>.tsv`) and, where tshark is installed, tshark run now for the columns the
//! oracle lacks. Several PDUs in one frame give comma-joined values on both sides.
//!
//! The agreement is counted per field and printed. A difference fails the test unless
//! `tests/corpus_stream_allow.tsv` lists it (file, frame or `*`, field or `*`, reason).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;

/// Per frame number, per field, the value as the JSON view writes it.
type Found = BTreeMap<u64, BTreeMap<String, String>>;

/// Run `wirelab dissect FILE --view json` and collect the flat fields of every frame.
fn dissect(path: &Path) -> Found {
    let out = Command::cargo_bin("wirelab")
        .expect("binary")
        .args(["--color", "never", "dissect", "--view", "json"])
        .arg(path)
        .output()
        .expect("wirelab runs");
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut found = Found::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let n = v["number"].as_u64().expect("number");
        let mut fields = BTreeMap::new();
        if let Some(m) = v["fields"].as_object() {
            for (k, val) in m {
                if k.starts_with("http.") || k.starts_with("websocket.") {
                    fields.insert(k.clone(), val.as_str().unwrap_or("").to_string());
                }
            }
        }
        found.insert(n, fields);
    }
    found
}

struct Allow {
    file: String,
    frame: String,
    field: String,
    used: bool,
}

fn allow_list() -> Vec<Allow> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus_stream_allow.tsv");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut p = l.splitn(4, '\t');
            let mut next = || p.next().unwrap_or("").trim().to_string();
            Allow {
                file: next(),
                frame: next(),
                field: next(),
                used: false,
            }
        })
        .collect()
}

/// Compare one table (header line + one row per frame) with what wirelab found. Counts
/// (compared, agreed) per column into `tally`; returns the differences not allowed.
fn compare(
    name: &str,
    table: &str,
    found: &Found,
    allow: &mut [Allow],
    tally: &mut BTreeMap<String, (u64, u64)>,
) -> Vec<String> {
    let mut failures = Vec::new();
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let empty = BTreeMap::new();
    for (i, line) in lines.enumerate() {
        let row: Vec<&str> = line.split('\t').collect();
        let frame = i as u64 + 1;
        let ours_row = found.get(&frame).unwrap_or(&empty);
        for (col, theirs) in header.iter().zip(row.iter()) {
            if !(col.starts_with("http.") || col.starts_with("websocket.")) {
                continue;
            }
            let ours = ours_row
                .get(*col)
                .map(|v| {
                    // Our values are joined by commas too; normalise each one.
                    v.split(',')
                        .map(|x| common::tshark_norm(&common::tshark_escape(x)))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            let theirs = theirs
                .split(',')
                .map(common::tshark_norm)
                .collect::<Vec<_>>()
                .join(",");
            if ours.is_empty() && theirs.is_empty() {
                continue;
            }
            let t = tally.entry(col.to_string()).or_default();
            t.0 += 1;
            if ours == theirs {
                t.1 += 1;
                continue;
            }
            let allowed = allow.iter_mut().find(|a| {
                a.file == name
                    && (a.frame == "*" || a.frame == frame.to_string())
                    && (a.field == "*" || a.field == *col)
            });
            match allowed {
                Some(a) => a.used = true,
                None => failures.push(format!(
                    "{name} frame {frame} {col}: tshark {theirs:?}, wirelab {ours:?}"
                )),
            }
        }
    }
    failures
}

/// Columns tshark is asked for directly (the stored oracle has only a few).
const EXTRA: &[&str] = &[
    "http.request",
    "http.response",
    "http.request.method",
    "http.request.uri",
    "http.request.version",
    "http.response.version",
    "http.response.code",
    "http.response.phrase",
    "http.request.line",
    "http.response.line",
    "http.host",
    "http.upgrade",
    "http.connection",
    "http.user_agent",
    "http.server",
    "http.content_length",
    "http.sec_websocket_key",
    "http.sec_websocket_accept",
    "http.sec_websocket_version",
    "http.sec_websocket_protocol",
    "http.sec_websocket_extensions",
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

fn tshark_fields(path: &Path, fields: &[&str]) -> Option<String> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(path).args([
        "-T",
        "fields",
        "-E",
        "header=y",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
    ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn http_and_websocket_through_the_pipeline_agree_with_wireshark() {
    let corpus = common::corpus_or_fail("corpus_stream");
    let names = common::ws_captures(&corpus);
    assert_eq!(names.len(), 9, "the corpus holds 9 WebSocket captures");
    let have_tshark = Command::new("tshark").arg("-v").output().is_ok();
    if !have_tshark {
        common::skip_or_fail(
            "corpus_stream (tshark run now)",
            "tshark is not installed; only the stored oracle is compared",
        );
    }
    let mut allow = allow_list();
    let mut failures = Vec::new();
    let mut stored = BTreeMap::new();
    let mut live = BTreeMap::new();
    for name in &names {
        let path = corpus.join("pcaps").join(name);
        let found = dissect(&path);
        let table = std::fs::read_to_string(corpus.join("oracle").join(format!("{name}.tsv")))
            .expect("oracle");
        failures.extend(compare(name, &table, &found, &mut allow, &mut stored));
        if have_tshark {
            let table = tshark_fields(&path, EXTRA).expect("tshark runs");
            failures.extend(compare(name, &table, &found, &mut allow, &mut live));
        }
    }
    common::print_tally("stored oracle (oracle/*.tsv), cells agreeing:", &stored);
    if have_tshark {
        common::print_tally("tshark run now, cells agreeing:", &live);
    }
    assert!(stored.values().map(|t| t.0).sum::<u64>() > 150);
    let stale: Vec<String> = allow
        .iter()
        .filter(|a| !a.used)
        .map(|a| format!("{}\t{}\t{}", a.file, a.frame, a.field))
        .collect();
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        stale.is_empty() || !have_tshark,
        "allow-list entries no longer needed:\n{}",
        stale.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Sessions wirelab makes itself, in the lab, captured and read back.
// ---------------------------------------------------------------------------------------------

/// Run wirelab with `args`; `Err(why)` when the lab cannot be built here.
fn lab_available() -> Result<(), String> {
    let out = Command::cargo_bin("wirelab")
        .expect("binary")
        .args(["lab", "--color", "never"])
        .output()
        .expect("wirelab runs");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "the lab is not available: {}",
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .nth(2)
                .unwrap_or("(no reason given)")
        ))
    }
}

fn wirelab(args: &[&str]) -> std::process::Output {
    let out = Command::cargo_bin("wirelab")
        .expect("binary")
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("wirelab runs");
    assert!(
        out.status.success(),
        "wirelab {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The JSON objects among the lines of `out` (a demo prints its story first).
fn json_lines(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Every value of field `name` in the layers of the JSON objects, in order.
fn layer_values(lines: &[serde_json::Value], name: &str) -> Vec<String> {
    let mut v = Vec::new();
    for l in lines {
        for layer in l["layers"].as_array().into_iter().flatten() {
            for f in layer["fields"].as_array().into_iter().flatten() {
                if f["name"] == name {
                    v.push(f["value"].as_str().unwrap_or("").to_string());
                }
            }
        }
    }
    v
}

/// Compare a capture of wirelab's own traffic with tshark (told that `port` is HTTP).
fn agree_with_tshark(path: &Path, port: u16, what: &str) -> BTreeMap<String, (u64, u64)> {
    let found = dissect(path);
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-d", &format!("tcp.port=={port},http"), "-r"])
        .arg(path)
        .args([
            "-T",
            "fields",
            "-E",
            "header=y",
            "-E",
            "separator=/t",
            "-E",
            "occurrence=a",
        ]);
    for f in EXTRA {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("tshark runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    let mut tally = BTreeMap::new();
    let failures = compare(what, &table, &found, &mut [], &mut tally);
    common::print_tally(
        &format!("{what}: tshark and wirelab, cells agreeing:"),
        &tally,
    );
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    tally
}

#[test]
fn ws_echo_in_the_lab_is_captured_and_agrees_with_tshark() {
    if let Err(why) = lab_available() {
        common::skip_or_fail("ws_echo_in_the_lab", &why);
        return;
    }
    if Command::new("tshark").arg("-v").output().is_err() {
        common::skip_or_fail("ws_echo_in_the_lab", "tshark is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let pcap = dir.path().join("ws.pcapng");
    let out = wirelab(&[
        "--color",
        "never",
        "ws",
        "echo",
        "--net",
        "lab",
        "--view",
        "json",
        "-w",
        pcap.to_str().expect("path"),
    ]);
    let lines = json_lines(&out.stdout);
    // The captured frames, between the lab's two hosts, each with its direction.
    let ws: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["fields"]["websocket.opcode"].is_string())
        .collect();
    assert!(ws.len() >= 10, "only {} frames with WebSocket", ws.len());
    for l in &ws {
        let client = l["direction"] == "client_to_server";
        let src = l["fields"]["ip.src"].as_str().unwrap_or("");
        assert_eq!(src, if client { "192.0.2.1" } else { "192.0.2.2" });
    }
    let texts = layer_values(&lines, "websocket.payload.text");
    assert!(texts.iter().any(|t| t == "Hello"), "{texts:?}");
    assert!(layer_values(&lines, "websocket.payload_length_ext_64").contains(&"70000".to_string()));
    let tally = agree_with_tshark(&pcap, 8765, "ws echo in the lab");
    assert!(tally.get("websocket.opcode").is_some_and(|t| t.0 >= 10));
}

#[test]
fn ws_echo_ladder_in_the_lab_names_what_each_segment_carried() {
    if let Err(why) = lab_available() {
        common::skip_or_fail("ws_echo_ladder_in_the_lab", &why);
        return;
    }
    let out = wirelab(&[
        "--color", "never", "ws", "echo", "--net", "lab", "--view", "ladder",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "TCP stream 0: 192.0.2.1:",
        "HTTP GET /ws HTTP/1.1 (Upgrade: websocket)",
        "HTTP/1.1 101 Switching Protocols",
        "WebSocket Text [FIN] [MASKED] len=5 \"Hello\"",
        "WebSocket Text [FIN] len=5 \"Hello\"",
        "WebSocket Binary [FIN] len=70000",
        "part of a message completed later",
        "WebSocket Close [FIN] [MASKED] len=13 code=1000 reason=\"lesson over\"",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
}

#[test]
fn sio_demo_in_the_lab_matches_what_the_clients_logged() {
    if let Err(why) = lab_available() {
        common::skip_or_fail("sio_demo_in_the_lab", &why);
        return;
    }
    if Command::new("tshark").arg("-v").output().is_err() {
        common::skip_or_fail("sio_demo_in_the_lab", "tshark is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let pcap = dir.path().join("sio.pcapng");
    let out = wirelab(&[
        "--color",
        "never",
        "sio",
        "demo",
        "--net",
        "lab",
        "--view",
        "json",
        "-w",
        pcap.to_str().expect("path"),
    ]);
    // With --view json the demo's narration goes to standard error (stdout is JSON only).
    let narration = String::from_utf8_lossy(&out.stderr);
    // What the three clients logged: every message they sent or received, raw
    // (`  alice → 42["chat","hello, everyone"]  ‹…›`).
    let mut logged: Vec<String> = Vec::new();
    for line in narration.lines() {
        let t = line.trim_start();
        for name in ["alice ", "bob ", "carol "] {
            if let Some(rest) = t.strip_prefix(name) {
                let rest = rest.trim_start();
                if let Some(msg) = rest.strip_prefix("→ ").or_else(|| rest.strip_prefix("← "))
                    && let Some((raw, _)) = msg.rsplit_once("  ‹")
                {
                    logged.push(raw.to_string());
                }
            }
        }
    }
    assert!(logged.len() > 20, "only {} logged messages", logged.len());
    // What the capture holds, read back by the pipeline: every WebSocket text message.
    let lines = json_lines(&out.stdout);
    let mut captured = layer_values(&lines, "websocket.payload.text");
    // Engine.IO's own ping and pong are answered inside the client and not logged.
    captured.retain(|t| t != "2" && t != "3");
    logged.retain(|t| t != "2" && t != "3");
    captured.sort();
    logged.sort();
    assert_eq!(captured, logged);
    // Socket.IO as wirelab reads it agrees with the messages: each event's name.
    let events = layer_values(&lines, "sio.event");
    for e in [
        "chat", "whisper", "join", "room", "shout", "echo", "question", "dance",
    ] {
        assert!(
            events.iter().any(|x| x == e),
            "no sio.event {e}: {events:?}"
        );
    }
    let n_events = logged
        .iter()
        .filter(|t| t.starts_with("42") || t.starts_with("43"))
        .count();
    let n_sio = layer_values(&lines, "sio.type")
        .iter()
        .filter(|t| *t == "2" || *t == "3")
        .count();
    assert_eq!(n_sio, n_events, "every event and ack packet is dissected");
    agree_with_tshark(&pcap, 3000, "sio demo in the lab");
}

// ---------------------------------------------------------------------------------------------
// The bundled traces (always present): sources in the views, filters on stream fields.
// ---------------------------------------------------------------------------------------------

fn trace(lesson: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("lessons")
        .join(lesson)
        .join("trace.pcapng")
}

#[test]
fn a_message_from_many_segments_is_shown_from_its_reassembled_bytes() {
    let path = trace("07_websocket");
    let path = path.to_str().expect("path");
    // The 70,000-byte binary message: the frame with its last byte shows it, read from a
    // reassembled source that names every frame its bytes came in.
    let out = wirelab(&[
        "--color",
        "never",
        "dissect",
        path,
        "-Y",
        "websocket.payload_length_ext_64 == 70000",
        "--view",
        "json",
    ]);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2, "the client's message and the server's echo");
    for l in &lines {
        // The client's frame has a 4-byte masking key in its 14-byte header; the server's
        // header is 10 bytes.
        let masked = l["fields"]["websocket.mask"] == "1";
        let len: u64 = if masked { 70014 } else { 70010 };
        let sources = l["sources"].as_array().expect("sources");
        let s = &sources[0];
        assert_eq!(s["length"], len);
        let pieces = s["pieces"].as_array().expect("pieces");
        assert!(pieces.len() > 40, "{} pieces", pieces.len());
        let total: u64 = pieces
            .iter()
            .map(|p| p["range"][1].as_u64().unwrap() - p["range"][0].as_u64().unwrap())
            .sum();
        assert_eq!(total, len, "the pieces cover the message exactly");
        let ws = l["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["protocol"] == "websocket")
            .expect("a websocket layer");
        assert_eq!(ws["source"], 0);
        assert_eq!(ws["range"], serde_json::json!([0, len]));
    }
    let hex = wirelab(&[
        "--color",
        "never",
        "dissect",
        path,
        "-Y",
        "websocket.payload_length_ext_64 == 70000",
        "--view",
        "hex",
        "-c",
        "1",
    ]);
    let text = String::from_utf8_lossy(&hex.stdout);
    assert!(
        text.contains("── s1: Reassembled TCP (70014 bytes), from frames #"),
        "{text}"
    );
    assert!(text.contains("more bytes (the JSON view has them all)"));
    let tree = wirelab(&[
        "--color",
        "never",
        "dissect",
        path,
        "-Y",
        "websocket.payload_length_ext_64 == 70000",
        "--view",
        "layers",
        "-c",
        "1",
    ]);
    let text = String::from_utf8_lossy(&tree.stdout);
    assert!(text.contains("s1:0–70013"), "{text}");
    assert!(text.contains("s1: Reassembled TCP (70014 bytes), from frames #"));
    // The frames before it carried parts of it, and say so.
    let summary = wirelab(&["--color", "never", "dissect", path, "--view", "ladder"]);
    let text = String::from_utf8_lossy(&summary.stdout);
    assert!(text.contains("part of a message completed later"));
}

#[test]
fn socketio_packets_are_found_and_filtered_in_the_bundled_trace() {
    let path = trace("08_socketio");
    let out = wirelab(&[
        "--color",
        "never",
        "dissect",
        path.to_str().expect("path"),
        "-Y",
        "sio.event == \"whisper\"",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    // alice sends it, the server delivers it to bob alone.
    assert_eq!(lines.len(), 2, "{text}");
    for l in &lines {
        assert!(l.contains("Socket.IO  42 EVENT \"whisper\""), "{l}");
    }
    // Masked client frames: the Socket.IO layer reads the unmasked payload.
    let out = wirelab(&[
        "--color",
        "never",
        "dissect",
        path.to_str().expect("path"),
        "-Y",
        "sio.event == \"whisper\" && websocket.mask == 1",
        "--view",
        "json",
    ]);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1);
    let l = &lines[0];
    assert_eq!(l["protocols"], "eth:ip:tcp:websocket:eio:sio");
    let sources = l["sources"].as_array().expect("the unmasked payload");
    assert!(
        sources[0]["title"]
            .as_str()
            .unwrap()
            .starts_with("Unmasked")
    );
    let text = sources[0]["bytes"].as_str().unwrap();
    assert!(text.starts_with("34325b2277686973706572"), "{text}"); // 42["whisper
}

#[test]
fn ws_echo_replays_its_recorded_trace_on_request() {
    let out = wirelab(&[
        "--color", "never", "ws", "echo", "--net", "replay", "--view", "summary",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("07_websocket/trace.pcapng"), "{text}");
    assert!(
        text.contains("WebSocket  Text [FIN] [MASKED] len=5 \"Hello\""),
        "{text}"
    );
}
