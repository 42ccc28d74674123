//! The stream views from the command line, on captures built in the test: the ladder,
//! `--stats`, `--follow`, `--graph`, `--stream`; and the stream API a later dissector uses
//! (reassembled bytes tied back to frames), and the memory bound on long captures.

mod stream_support;

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use stream_support::{CLIENT, Capture, From, Host, SERVER, handshake_data_teardown};
use wirelab::dissect::{Dissection, dissect_into};
use wirelab::source::file::CaptureReader;
use wirelab::stream::{
    Event, Origin, Select, Side, StreamConsumer, StreamEvent, StreamTracker, TrackerConfig,
};

/// Run `wirelab dissect FILE ARGS…` with colour off and a 100-column terminal.
fn dissect(file: &Path, args: &[&str]) -> String {
    let out = Command::cargo_bin("wirelab")
        .expect("binary")
        .arg("dissect")
        .arg(file)
        .args(args)
        .args(["--color", "never"])
        .env("COLUMNS", "100")
        .env_remove("NO_COLOR")
        .output()
        .expect("run wirelab");
    assert!(
        out.status.success(),
        "wirelab failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn saved(cap: &Capture) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("conversation.pcap");
    cap.save(&path);
    (dir, path)
}

#[test]
fn ladder_view_snapshot() {
    let (_dir, file) = saved(&handshake_data_teardown());
    let out = dissect(&file, &["--view", "ladder"]);
    insta::assert_snapshot!("ladder_handshake_data_teardown", out);
}

#[test]
fn ladder_view_absolute_numbers() {
    let (_dir, file) = saved(&handshake_data_teardown());
    let out = dissect(&file, &["--view", "ladder", "--absolute"]);
    // Relative 1 and, beside it, the client's ISN + 1 as written on the wire.
    assert!(out.contains("seq=1 [1000001]"), "{out}");
    assert!(out.contains("ack=1 [3000001]"), "{out}");
}

#[test]
fn stats_snapshot() {
    let (_dir, file) = saved(&handshake_data_teardown());
    let out = dissect(&file, &["--stats"]);
    insta::assert_snapshot!("stats_handshake_data_teardown", out);
}

#[test]
fn follow_text_and_hex() {
    let (_dir, file) = saved(&handshake_data_teardown());
    let out = dissect(&file, &["--follow"]);
    insta::assert_snapshot!("follow_text_handshake_data_teardown", out);
    let hex = dissect(&file, &["--follow", "hex", "--stream", "0"]);
    assert!(
        hex.contains(
            "▶ 00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  GET / HTTP/1.1.."
        ),
        "{hex}"
    );
    assert!(hex.contains("◀     00000000  48 54 54 50"), "{hex}");
}

#[test]
fn graph_terminal_and_svg() {
    let (dir, file) = saved(&handshake_data_teardown());
    let out = dissect(&file, &["--graph"]);
    assert!(
        out.contains("time since the connection's first packet (s)"),
        "{out}"
    );
    assert!(
        out.contains("TCP stream 0: data 10.0.0.2:80 → 10.0.0.1:52000"),
        "{out}"
    );
    let svg = dir.path().join("graph.svg");
    Command::cargo_bin("wirelab")
        .expect("binary")
        .arg("dissect")
        .arg(&file)
        .arg("--graph")
        .arg(&svg)
        .assert()
        .success()
        .stderr(predicate::str::contains("wrote the time-sequence graph"));
    let text = std::fs::read_to_string(&svg).expect("svg written");
    assert!(text.starts_with("<?xml") && text.trim_end().ends_with("</svg>"));
    assert!(text.contains("relative sequence number (bytes)"));
}

#[test]
fn graph_refuses_a_file_that_is_not_svg() {
    let (_dir, file) = saved(&handshake_data_teardown());
    Command::cargo_bin("wirelab")
        .expect("binary")
        .arg("dissect")
        .arg(&file)
        .args(["--graph", "out.png"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("does not end in .svg"));
}

#[test]
fn stream_selects_one_conversation() {
    let (_dir, file) = saved(&handshake_data_teardown());
    let tcp = dissect(&file, &["--stream", "0"]);
    assert_eq!(tcp.lines().count(), 10, "the ten TCP segments:\n{tcp}");
    let udp = dissect(&file, &["--stream", "udp:0"]);
    assert_eq!(udp.lines().count(), 1, "the DNS query:\n{udp}");
    Command::cargo_bin("wirelab")
        .expect("binary")
        .arg("dissect")
        .arg(&file)
        .args(["--stream", "tcp:x"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("is not a stream number"));
    Command::cargo_bin("wirelab")
        .expect("binary")
        .arg("dissect")
        .arg(&file)
        .args(["--stream", "7"])
        .assert()
        .success()
        .stderr(predicate::str::contains("has no tcp.stream 7"));
}

#[test]
fn json_view_carries_the_analysis_fields() {
    let (_dir, file) = saved(&handshake_data_teardown());
    let out = dissect(&file, &["--view", "json", "--stream", "0"]);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    // Frame 3 is the SYN-ACK: it acknowledges the SYN in frame 2 after 10 ms.
    let f = &lines[1]["fields"];
    assert_eq!(f["tcp.stream"], "0");
    assert_eq!(f["tcp.seq"], "0");
    assert_eq!(f["tcp.ack"], "1");
    assert_eq!(f["tcp.analysis.acks_frame"], "2");
    assert_eq!(f["tcp.analysis.ack_rtt"], "0.010000000");
    // Frame 5 carries the request: 34 bytes, next sequence number 35.
    assert_eq!(lines[3]["fields"]["tcp.nxtseq"], "35");
    assert_eq!(lines[3]["fields"]["tcp.analysis.bytes_in_flight"], "34");
}

/// A consumer that keeps the reassembled bytes of each direction and where they came from.
#[derive(Default)]
struct Collect {
    bytes: [Vec<u8>; 2],
    origins: [Vec<Origin>; 2],
    fins: Vec<(Side, u64)>,
    /// Frames the consumer saw events in, with the frame's number.
    in_frames: Vec<u64>,
}

impl StreamConsumer for Collect {
    fn on_event(&mut self, ev: StreamEvent<'_, '_>) {
        if let Some(d) = &ev.frame {
            self.in_frames.push(d.number);
        }
        match ev.event {
            Event::Data { bytes, origins, .. } => {
                self.bytes[ev.side.index()].extend_from_slice(bytes);
                self.origins[ev.side.index()].extend_from_slice(origins);
            }
            Event::Fin { at } => self.fins.push((ev.side, at)),
            _ => {}
        }
    }
}

/// The request goes out in three segments; the network swaps the last two and the sender
/// retransmits the first. The consumer still gets "GET /index.html HTTP/1.1\r\n\r\n" once,
/// in order, and each byte range names the frame and the offset in it that carried it.
#[test]
fn reassembled_bytes_tie_back_to_frames() {
    let (c, s) = (500u32, 9000u32);
    let mut cap = Capture::new();
    cap.tcp(From::Client, c, 0, "S", 64240, &[], b"")
        .wait(1.0)
        .tcp(From::Server, s, c + 1, "SA", 64240, &[], b"")
        .wait(1.0)
        .tcp(From::Client, c + 1, s + 1, "A", 502, &[], b"")
        .tcp(From::Client, c + 1, s + 1, "A", 502, &[], b"GET /index")
        .tcp(
            From::Client,
            c + 16,
            s + 1,
            "PA",
            502,
            &[],
            b" HTTP/1.1\r\n\r\n",
        )
        .tcp(From::Client, c + 11, s + 1, "A", 502, &[], b".html HTTP")
        .tcp(From::Client, c + 1, s + 1, "A", 502, &[], b"GET /index")
        .wait(1.0)
        .tcp(From::Server, s + 1, c + 29, "A", 509, &[], b"")
        .tcp(From::Client, c + 29, s + 1, "FA", 502, &[], b"");
    let (_dir, file) = saved(&cap);
    let mut tracker = StreamTracker::new(TrackerConfig {
        reassemble: true,
        ..TrackerConfig::default()
    });
    let mut consumer = Collect::default();
    let mut reader = CaptureReader::open(&file).expect("open");
    let mut d = Dissection::default();
    while let Some(frame) = reader.next_frame().expect("read") {
        dissect_into(&mut d, &frame);
        tracker.observe_with(&mut d, &mut consumer);
    }
    tracker.finish_with(&mut consumer);
    assert_eq!(consumer.bytes[0], b"GET /index.html HTTP/1.1\r\n\r\n");
    // Payload starts after 14 (Ethernet) + 20 (IPv4) + 20 (TCP) bytes. The overlapping
    // segment (frame 6) adds only ".html" (its " HTTP" was already waiting from frame 5).
    let o = |at, len, frame| Origin {
        at,
        len,
        frame,
        frame_offset: 54,
    };
    assert_eq!(
        consumer.origins[0],
        vec![o(0, 10, 4), o(10, 5, 6), o(15, 13, 5)]
    );
    let tail = &consumer.origins[0][2];
    assert_eq!(
        tail.at, 15,
        "bytes 15.. came from frame 5, which arrived before 6"
    );
    assert_eq!(consumer.fins, vec![(Side::AtoB, 28)]);
    // The bytes came out while frame 6 (the one filling the hole) was processed.
    assert!(consumer.in_frames.contains(&6));
    assert!(!consumer.in_frames.contains(&5), "frame 5 had to wait");
}

/// A long capture of many short connections keeps its working state bounded: finished
/// connections drop theirs, and the table folds the oldest away beyond its limit.
/// Connection number `i` of many (its own client address and port), up to the client's FIN:
/// handshake, "hello", FIN. Returns the client and both initial sequence numbers.
fn short_connection(cap: &mut Capture, i: u32) -> (Host, u32, u32) {
    let client = Host {
        port: 10_000 + (i % 50_000) as u16,
        ip: [10, 1, (i / 250) as u8, (i % 250) as u8 + 1],
        ..CLIENT
    };
    let (c, s) = (i * 7, i * 11);
    cap.tcp_between(client, SERVER, c, 0, "S", 64240, &[], b"")
        .tcp_between(SERVER, client, s, c + 1, "SA", 64240, &[], b"")
        .tcp_between(client, SERVER, c + 1, s + 1, "PA", 502, &[], b"hello")
        .tcp_between(client, SERVER, c + 6, s + 1, "FA", 502, &[], b"");
    (client, c, s)
}

#[test]
fn tracker_memory_stays_bounded() {
    let mut cap = Capture::new();
    let n = 3000u32;
    for i in 0..n {
        let (client, c, s) = short_connection(&mut cap, i);
        cap.tcp_between(SERVER, client, s + 1, c + 7, "FA", 502, &[], b"")
            .tcp_between(client, SERVER, c + 7, s + 2, "A", 502, &[], b"")
            .wait(100.0);
    }
    let (_dir, file) = saved(&cap);
    let mut tracker = StreamTracker::new(TrackerConfig {
        follow: Select::All,
        follow_limit: 4,
        follow_total: 1000,
        linger: 1.0,
        max_conversations: 500,
        ..TrackerConfig::default()
    });
    let mut reader = CaptureReader::open(&file).expect("open");
    let mut d = Dissection::default();
    let mut most_active = 0;
    while let Some(frame) = reader.next_frame().expect("read") {
        dissect_into(&mut d, &frame);
        tracker.observe(&mut d);
        most_active = most_active.max(tracker.active_tcp_states());
    }
    tracker.finish();
    let kept = tracker.conversations().len();
    let evicted = tracker.evicted();
    assert!(
        most_active < 700,
        "working states stayed bounded: {most_active}"
    );
    assert!(kept <= 500, "table bounded: {kept}");
    assert_eq!(kept as u64 + evicted.conversations, n as u64);
    assert_eq!(
        evicted.packets
            + tracker
                .conversations()
                .iter()
                .map(|c| c.packets())
                .sum::<u64>(),
        6 * n as u64
    );
    let followed: usize = tracker.follow_logs().iter().map(|l| l.kept).sum();
    assert!(followed <= 1000, "follow total respected: {followed}");
}

/// The ladder counts packets that are not TCP instead of drawing them.
#[test]
fn ladder_counts_other_packets() {
    let mut cap = handshake_data_teardown();
    let dns = Host {
        ip: [10, 0, 0, 53],
        port: 53,
        mac: [2, 0, 0, 0, 0, 0x35],
    };
    cap.udp(dns, CLIENT, b"answer");
    let (_dir, file) = saved(&cap);
    let out = dissect(&file, &["--view", "ladder"]);
    // The DNS query before the connection, and the answer after it.
    assert!(
        out.starts_with("                  · 1 other packet not drawn (dns)\nTCP stream 0"),
        "{out}"
    );
    assert!(
        out.trim_end().ends_with("· 1 other packet not drawn (dns)"),
        "{out}"
    );
    let _ = SERVER;
}

/// Two connections interleaved: the ladder names the stream each time it switches, and keeps
/// each connection's own ends and states.
#[test]
fn ladder_switches_between_interleaved_streams() {
    let other = Host {
        port: 52001,
        ..CLIENT
    };
    let mut cap = Capture::new();
    cap.tcp(From::Client, 100, 0, "S", 64240, &[], b"")
        .tcp_between(other, SERVER, 900, 0, "S", 64240, &[], b"")
        .wait(5.0)
        .tcp(From::Server, 200, 101, "SA", 65160, &[], b"")
        .tcp_between(SERVER, other, 300, 901, "RA", 0, &[], b"");
    let (_dir, file) = saved(&cap);
    let out = dissect(&file, &["--view", "ladder"]);
    println!("{out}");
    let headings: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("TCP stream"))
        .collect();
    assert_eq!(
        headings,
        vec![
            "TCP stream 0: 10.0.0.1:52000 ⇄ 10.0.0.2:80",
            "TCP stream 1: 10.0.0.1:52001 ⇄ 10.0.0.2:80",
            "TCP stream 0: 10.0.0.1:52000 ⇄ 10.0.0.2:80",
            "TCP stream 1: 10.0.0.1:52001 ⇄ 10.0.0.2:80",
        ]
    );
    assert!(out.contains("RST, ACK"), "{out}");
    // Stream 1 was reset: both ends CLOSED.
    assert!(
        out.trim_end().ends_with(
            "CLOSED                                                                      CLOSED"
        ),
        "{out}"
    );
}

/// Without reassembly the tracker finds the connections to put to rest from a queue of the
/// closed ones instead of looking at every connection: the same ones, at the same frames, as
/// the full look (which it still does with reassembly on).
#[test]
fn quiet_connections_found_from_the_queue_as_by_the_full_look() {
    let mut cap = Capture::new();
    for i in 0..400u32 {
        let (client, c, s) = short_connection(&mut cap, i);
        if i % 3 != 0 {
            cap.tcp_between(SERVER, client, s + 1, c + 7, "FA", 502, &[], b"")
                .tcp_between(client, SERVER, c + 7, s + 2, "A", 502, &[], b"");
        }
        cap.wait(if i % 5 == 0 { 0.3 } else { 0.01 });
    }
    let (_dir, file) = saved(&cap);
    let run = |reassemble: bool| {
        let mut tracker = StreamTracker::new(TrackerConfig {
            reassemble,
            linger: 1.0,
            ..TrackerConfig::default()
        });
        let mut reader = CaptureReader::open(&file).expect("open");
        let mut d = Dissection::default();
        let mut active = Vec::new();
        while let Some(frame) = reader.next_frame().expect("read") {
            dissect_into(&mut d, &frame);
            tracker.observe(&mut d);
            active.push(tracker.active_tcp_states());
        }
        tracker.finish();
        (active, tracker.conversations().len())
    };
    let (queue, full) = (run(false), run(true));
    assert!(
        queue.0.iter().any(|&n| n < 100),
        "some connections were put to rest"
    );
    assert_eq!(queue, full);
}
