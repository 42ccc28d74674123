//! The HTTP and WebSocket dissectors against Wireshark, on captures no one here wrote.
//!
//! The corpus (`tests/corpus`) has nine captures of WebSocket sessions from Zeek's test
//! suite, and for each the fields tshark 4.0.17 decoded with TCP reassembly on
//! (`oracle/<name>.tsv`). HTTP and WebSocket live in the byte stream, so this test puts each
//! TCP connection's payloads back together per direction (a small reassembly made for the
//! test: in order, retransmitted bytes dropped), runs
//! [`wirelab::dissect::websocket::dissect_conversation`] over the two directions with the
//! stream-offset → packet mapping, and compares, packet by packet, the values of every
//! `http.*` and `websocket.*` column. Like Wireshark, a PDU is credited to the packet that
//! brought its last byte; several frames in one packet give comma-joined values.
//!
//! Where `tshark` is installed it is also run on each capture for the fields the stored
//! oracle lacks (masking key, RSV, text, ping/pong bytes, close code and reason, the
//! Sec-WebSocket-* headers), and those are compared the same way.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;

use wirelab::dissect::model::{Proto, Value};
use wirelab::dissect::websocket::{DirBytes, Segment, dissect_conversation};
use wirelab::dissect::{Dissection, dissect_into};
use wirelab::source::file::CaptureReader;

/// One direction of one TCP connection, as the test reassembles it.
#[derive(Default)]
struct Side {
    bytes: Vec<u8>,
    segments: Vec<Segment>,
    next_seq: Option<u32>,
}

impl Side {
    fn add(&mut self, frame: u64, seq: u32, syn: bool, payload: &[u8]) {
        if syn {
            self.next_seq = Some(seq.wrapping_add(1));
            return;
        }
        if payload.is_empty() {
            return;
        }
        let next = *self.next_seq.get_or_insert(seq);
        let rel = seq.wrapping_sub(next) as i32;
        let skip = if rel < 0 { (-rel) as usize } else { 0 };
        if skip >= payload.len() {
            return; // a retransmission of bytes we have
        }
        let new = &payload[skip..];
        self.segments.push(Segment {
            at: self.bytes.len() as u64,
            len: new.len() as u64,
            frame,
        });
        self.bytes.extend_from_slice(new);
        self.next_seq = Some(
            next.wrapping_add(if rel > 0 { rel as u32 } else { 0 })
                .wrapping_add(new.len() as u32),
        );
    }
}

#[derive(Default)]
struct Conn {
    /// (address, port) of the client: the side that sent the SYN, or the first payload.
    client: Option<(String, u16)>,
    sides: HashMap<(String, u16), Side>,
}

/// An address and a port.
type Endpoint = (String, u16);

/// Per packet number, per field name, the values in stream order.
type Found = BTreeMap<u64, BTreeMap<String, Vec<String>>>;

fn dissect_file(path: &Path) -> Found {
    let mut reader = CaptureReader::open(path).expect("open capture");
    let mut conns: BTreeMap<(Endpoint, Endpoint), Conn> = BTreeMap::new();
    let mut d = Dissection::default();
    while let Some(frame) = reader.next_frame().expect("read frame") {
        dissect_into(&mut d, &frame);
        let text = |n: &str| d.field(n).map(|f| f.tshark(&d.data));
        let (Some(src), Some(dst)) = (
            text("ip.src").or_else(|| text("ipv6.src")),
            text("ip.dst").or_else(|| text("ipv6.dst")),
        ) else {
            continue;
        };
        let (Some(sp), Some(dp), Some(seq), Some(flags)) = (
            d.uint("tcp.srcport"),
            d.uint("tcp.dstport"),
            d.uint("tcp.seq_raw"),
            d.uint("tcp.flags"),
        ) else {
            continue;
        };
        let a = (src, sp as u16);
        let b = (dst, dp as u16);
        let key = if a < b {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        };
        let conn = conns.entry(key).or_default();
        let payload = d
            .layer(Proto::Data)
            .map(|l| d.data[l.range()].to_vec())
            .unwrap_or_default();
        let syn = flags & 0x002 != 0;
        if conn.client.is_none() && ((syn && flags & 0x010 == 0) || !payload.is_empty()) {
            conn.client = Some(a.clone());
        }
        conn.sides
            .entry(a)
            .or_default()
            .add(d.number, seq as u32, syn, &payload);
    }
    let mut found = Found::new();
    for (key, mut conn) in conns {
        let Some(client) = conn.client.clone() else {
            continue;
        };
        let server = if client == key.0 { key.1 } else { key.0 };
        let c = conn.sides.remove(&client).unwrap_or_default();
        let s = conn.sides.remove(&server).unwrap_or_default();
        let pdus = dissect_conversation(
            DirBytes {
                bytes: &c.bytes,
                segments: &c.segments,
            },
            DirBytes {
                bytes: &s.bytes,
                segments: &s.segments,
            },
        );
        for p in pdus {
            let Some(frame) = p.frame else { continue };
            let buf = match p.dir {
                wirelab::dissect::websocket::Dir::ClientToServer => &c.bytes,
                wirelab::dissect::websocket::Dir::ServerToClient => &s.bytes,
            };
            let entry = found.entry(frame).or_default();
            for problem in &p.problems {
                entry
                    .entry("_problems".to_string())
                    .or_default()
                    .push(problem.message.clone());
            }
            for f in &p.fields {
                if matches!(f.value, Value::None) {
                    continue;
                }
                entry
                    .entry(f.name.to_string())
                    .or_default()
                    .push(f.tshark(buf));
            }
        }
    }
    found
}

/// Compare one oracle table (header + rows) with what wirelab found; return the
/// differences and count the compared cells per column.
fn compare(
    name: &str,
    table: &str,
    found: &Found,
    wanted: impl Fn(&str) -> bool,
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
            if !wanted(col) {
                continue;
            }
            let ours = ours_row
                .get(*col)
                .map(|v| {
                    v.iter()
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
            } else {
                failures.push(format!(
                    "{name} frame {frame} {col}: tshark {theirs:?}, wirelab {ours:?}"
                ));
            }
        }
    }
    failures
}

#[test]
fn websocket_fields_agree_with_the_stored_oracle() {
    let corpus = common::corpus_or_fail("ws_corpus");
    let names = common::ws_captures(&corpus);
    assert_eq!(
        names.len(),
        9,
        "the corpus should hold 9 WebSocket captures"
    );
    let mut failures = Vec::new();
    let mut tally = BTreeMap::new();
    for name in &names {
        let found = dissect_file(&corpus.join("pcaps").join(name));
        let table = std::fs::read_to_string(corpus.join("oracle").join(format!("{name}.tsv")))
            .expect("oracle");
        failures.extend(compare(
            name,
            &table,
            &found,
            |c| c.starts_with("websocket.") || c.starts_with("http."),
            &mut tally,
        ));
    }
    common::print_tally("agreement with the stored tshark oracle (cells):", &tally);
    assert!(tally.values().map(|t| t.0).sum::<u64>() > 150);
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Fields the stored oracle does not have, asked of tshark directly.
const EXTRA: &[&str] = &[
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
    "http.request.method",
    "http.request.uri",
    "http.request.version",
    "http.response.version",
    "http.response.code",
    "http.response.phrase",
    "http.upgrade",
    "http.connection",
    "http.host",
    "http.sec_websocket_key",
    "http.sec_websocket_accept",
    "http.sec_websocket_version",
    "http.sec_websocket_protocol",
    "http.request.line",
    "http.response.line",
];

pub fn tshark_fields(path: &Path, fields: &[&str]) -> Option<String> {
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
fn websocket_fields_agree_with_tshark_run_now() {
    let corpus = common::corpus_or_fail("ws_corpus tshark");
    if Command::new("tshark").arg("-v").output().is_err() {
        common::skip_or_fail("ws_corpus tshark", "tshark is not installed");
        return;
    }
    let mut failures = Vec::new();
    let mut tally = BTreeMap::new();
    for name in common::ws_captures(&corpus) {
        let path = corpus.join("pcaps").join(&name);
        let found = dissect_file(&path);
        let table = tshark_fields(&path, EXTRA).expect("tshark runs");
        failures.extend(compare(&name, &table, &found, |_| true, &mut tally));
    }
    common::print_tally("agreement with tshark run now (cells):", &tally);
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn an_oversized_close_frame_is_reported() {
    let corpus = common::corpus_or_fail("ws_corpus oversized close");
    // A close frame must carry at most 125 bytes; this one announces 258 (in the 64-bit
    // length form, which is itself only for lengths above 65,535).
    let found = dissect_file(
        &corpus
            .join("pcaps")
            .join("zeek_websocket-oversized-close-frame.pcapng"),
    );
    let problems = found
        .get(&6)
        .and_then(|f| f.get("_problems"))
        .cloned()
        .unwrap_or_default();
    assert!(
        problems.iter().any(|p| p.contains("at most 125 bytes")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("64-bit")),
        "{problems:?}"
    );
}
