//! The hand-made TCP handshake, run for real in private network namespaces.
//!
//! `wirelab tcp handshake` makes its own network namespace (as `unshare -Urn` does), so the
//! command tests just run the binary. One test also runs the library directly with a kernel
//! `TcpStream` of its own: it re-runs this test binary under `unshare -Urn`, so the TUN device
//! lives in a namespace the test made. Where user namespaces are not allowed, the tests say
//! SKIPPED and why (and fail under CI=true, where they must run).
//!
//! Linux only, like the demo; elsewhere `tcp handshake` replays the lesson's trace, which
//! `tests/portable.rs` checks.
#![cfg(target_os = "linux")]

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use wirelab::demos::handshake::stack::State;
use wirelab::demos::handshake::{Event, Sender, rst, tun};
use wirelab::dissect::dissect;

/// The words the command uses when it cannot make a namespace.
const NO_NETNS: &str = "cannot make a private network namespace";
/// …and when the kernel has no TUN driver (a container without /dev/net/tun).
const NO_TUN: &str = "cannot create the TUN device";

/// Can this machine make TUN devices at all (for an ordinary user: may anyone open the device)?
fn tun_missing(test: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata("/dev/net/tun") {
        Err(_) => {
            common::skip_or_fail(test, "/dev/net/tun does not exist (no TUN driver here)");
            true
        }
        Ok(m) if m.permissions().mode() & 0o006 != 0o006 => {
            common::skip_or_fail(
                test,
                "/dev/net/tun is not open to every user (sudo chmod 666 /dev/net/tun; .ci/run does it)",
            );
            true
        }
        Ok(_) => false,
    }
}

/// Run `wirelab tcp handshake ARGS --view json`; `None` (after SKIPPED) if no namespace can be
/// made here.
fn run_json(test: &str, args: &[&str]) -> Option<(Output, Vec<Value>)> {
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["tcp", "handshake"])
        .args(args)
        .args(["--view", "json", "--timeout", "20"])
        .output()
        .expect("run wirelab");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains(NO_NETNS) || stderr.contains(NO_TUN) && tun_missing(test) {
        common::skip_or_fail(test, stderr.trim());
        return None;
    }
    let events = parse_events(&out);
    Some((out, events))
}

/// What a failed run said, short enough to read: stderr, then one line per event (frames as
/// their TCP summary).
fn brief(out: &Output) -> String {
    let mut s = format!(
        "exit {:?}\nstderr: {}\n",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(e) = serde_json::from_str::<Value>(line) else {
            s.push_str(line);
            s.push('\n');
            continue;
        };
        let text = if e["event"] == "frame" {
            let tcp = e["layers"]
                .as_array()
                .and_then(|l| l.last())
                .map(|l| l["summary"].to_string())
                .unwrap_or_default();
            format!("frame {} from {}: {tcp}", e["number"], e["from"])
        } else {
            let mut e = e.clone();
            if let Some(o) = e.as_object_mut() {
                o.remove("text");
            }
            e.to_string()
        };
        s.push_str(&text);
        s.push('\n');
    }
    s
}

fn parse_events(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{}", brief(out)))
        })
        .collect()
}

fn transitions(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e["event"] == "step" && e["step"] == "transition")
        .map(|e| {
            (
                e["from"].as_str().unwrap().to_string(),
                e["to"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn result(events: &[Value], check: &str) -> Option<bool> {
    events
        .iter()
        .find(|e| e["event"] == "result" && e["check"] == check)
        .and_then(|e| e["ok"].as_bool())
}

/// A TCP segment of a frame event: (from, flags, seq, ack).
fn tcp(e: &Value) -> Option<(String, u64, u64, u64)> {
    let f = &e["fields"];
    let num = |n: &str| f[n].as_str().and_then(parse_num);
    Some((
        e["from"].as_str()?.to_string(),
        num("tcp.flags")?,
        num("tcp.seq_raw")?,
        num("tcp.ack_raw")?,
    ))
}

fn parse_num(v: &str) -> Option<u64> {
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

fn segments(events: &[Value]) -> Vec<(String, u64, u64, u64)> {
    events
        .iter()
        .filter(|e| e["event"] == "frame")
        .filter_map(tcp)
        .collect()
}

/// The shape of every TCP handshake: SYN, SYN-ACK, ACK, each acknowledging the other's
/// sequence number plus one (the SYN counts as one).
fn assert_handshake_shape(segs: &[(String, u64, u64, u64)], client: &str, server: &str) {
    assert!(segs.len() >= 3, "{segs:?}");
    let (syn, synack, ack) = (&segs[0], &segs[1], &segs[2]);
    assert_eq!((syn.0.as_str(), syn.1), (client, 0x002), "SYN: {syn:?}");
    assert_eq!(
        (synack.0.as_str(), synack.1),
        (server, 0x012),
        "SYN-ACK: {synack:?}"
    );
    assert_eq!(
        (ack.0.as_str(), ack.1 & 0x017),
        (client, 0x010),
        "ACK: {ack:?}"
    );
    assert_eq!(
        synack.3,
        (syn.2 + 1) % (1 << 32),
        "SYN-ACK ack = SYN seq + 1"
    );
    assert_eq!(ack.2, (syn.2 + 1) % (1 << 32), "ACK seq = ISN + 1");
    assert_eq!(
        ack.3,
        (synack.2 + 1) % (1 << 32),
        "ACK ack = SYN-ACK seq + 1"
    );
}

#[test]
fn raw_server_kernel_client_gets_its_echo() {
    let Some((out, events)) = run_json("raw_server_kernel_client_gets_its_echo", &["--raw"]) else {
        return;
    };
    assert!(out.status.success(), "{}", brief(&out));
    let t = transitions(&events);
    let expect = [
        ("CLOSED", "LISTEN"),
        ("LISTEN", "SYN-RECEIVED"),
        ("SYN-RECEIVED", "ESTABLISHED"),
        ("ESTABLISHED", "CLOSE-WAIT"),
        ("CLOSE-WAIT", "LAST-ACK"),
        ("LAST-ACK", "CLOSED"),
    ];
    let got: Vec<(&str, &str)> = t.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(got, expect);
    assert_eq!(result(&events, "echo"), Some(true));
    assert_eq!(result(&events, "states"), Some(true));
    // Here the kernel is the client and wirelab the server.
    let segs = segments(&events);
    assert_handshake_shape(&segs, "kernel", "wirelab");
    // Every idea is explained, the pseudo-header included.
    for topic in [
        "isn",
        "checksum",
        "mss_window",
        "ack_syn",
        "ack_data",
        "their_fin",
    ] {
        assert!(
            events
                .iter()
                .any(|e| e["event"] == "explain" && e["topic"] == topic),
            "no explanation of {topic}"
        );
    }
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "code" && e["text"].as_str().unwrap().contains("a9 fe 4d"))
    );
}

#[test]
fn raw_client_has_the_same_handshake_shape_as_the_kernel() {
    let Some((out, events)) = run_json(
        "raw_client_has_the_same_handshake_shape_as_the_kernel",
        &["--raw", "--client", "--message", "ping"],
    ) else {
        return;
    };
    assert!(out.status.success(), "{}", brief(&out));
    // Here wirelab is the client and the kernel the server: the kernel's own SYN-ACK has the
    // same shape as wirelab's in the server test.
    assert_handshake_shape(&segments(&events), "wirelab", "kernel");
    let t = transitions(&events);
    assert_eq!(t[0], ("CLOSED".into(), "SYN-SENT".into()));
    assert_eq!(t[1], ("SYN-SENT".into(), "ESTABLISHED".into()));
    assert_eq!(t.last().unwrap().1, "CLOSED");
    assert!(t.iter().any(|(_, to)| to == "TIME-WAIT"));
    assert_eq!(result(&events, "echo"), Some(true));
}

#[test]
fn rst_demo_shows_the_kernel_reset_and_the_rule_lets_it_finish() {
    let Some((out, events)) = run_json(
        "rst_demo_shows_the_kernel_reset_and_the_rule_lets_it_finish",
        &["--rst-demo"],
    ) else {
        return;
    };
    // The kernel of wirelab's side answered the SYN-ACK with RST, and it was captured.
    let rst = events.iter().find(|e| {
        e["event"] == "frame"
            && e["from"] == "our_kernel"
            && tcp(e).is_some_and(|t| t.1 & 0x004 != 0)
    });
    let rst = rst.unwrap_or_else(|| panic!("no RST from our kernel:\n{}", brief(&out)));
    // Its seq is the SYN-ACK's ack (RFC 9293 §3.10.7.1): the SYN-ACK comes right before it.
    let frames: Vec<&Value> = events.iter().filter(|e| e["event"] == "frame").collect();
    let at = frames.iter().position(|e| *e == rst).unwrap();
    let synack = tcp(frames[at - 1]).unwrap();
    assert_eq!(synack.1, 0x012);
    assert_eq!(tcp(rst).unwrap().2, synack.3, "RST seq = SYN-ACK ack");
    assert_eq!(result(&events, "kernel_rst"), Some(true));
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "explain" && e["topic"] == "kernel_rst")
    );
    // The listener's SYN-ACK comes over the namespace's loopback, whose MTU (65536) is larger
    // than any IPv4 packet: its MSS of 65495 is 65,535 − 40, not "its MTU minus 40" (issue 16).
    let syn = events
        .iter()
        .find(|e| e["event"] == "explain" && e["topic"] == "their_syn")
        .and_then(|e| e["text"].as_str())
        .unwrap_or_else(|| panic!("no explanation of the kernel's SYN:\n{}", brief(&out)));
    assert!(
        syn.contains("MSS) of 65495 bytes: 65,535, the largest IPv4 packet"),
        "{syn}"
    );
    assert!(syn.contains("MTU, 65536, is larger"), "{syn}");
    assert!(!syn.contains("MTU minus 40"), "{syn}");

    if rst::find_nft().is_none() {
        common::skip_or_fail(
            "rst_demo second half",
            "nft is not installed (apt install nftables)",
        );
        return;
    }
    assert!(out.status.success(), "{}", brief(&out));
    assert_eq!(result(&events, "handshake_with_rule"), Some(true));
    assert_eq!(result(&events, "echo_with_rule"), Some(true));
    // With the rule, no RST from our kernel is seen in the second half.
    let second = events
        .iter()
        .position(|e| e["event"] == "part" && e["part"] == "rst-2")
        .expect("second half ran");
    assert!(
        !events[second..]
            .iter()
            .any(|e| e["event"] == "frame" && e["from"] == "our_kernel"),
        "a RST got through the rule"
    );
}

/// Inside a namespace the lab (or `unshare -Urn`) made, wirelab only adds a network namespace
/// of its own: it already has CAP_SYS_ADMIN there.
#[test]
fn runs_inside_an_unshare_namespace_too() {
    let Some(prefix) = unshare_prefix() else {
        common::skip_or_fail(
            "runs_inside_an_unshare_namespace_too",
            "`unshare -Urn` does not work here (no user namespaces, or util-linux missing)",
        );
        return;
    };
    let out = Command::new(&prefix[0])
        .args(&prefix[1..])
        .arg(env!("CARGO_BIN_EXE_wirelab"))
        .args(["tcp", "handshake", "--raw", "--view", "json", "--net", "99"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", brief(&out));
    let events = parse_events(&out);
    assert_eq!(result(&events, "echo"), Some(true));
    assert!(
        events[0]["text"]
            .as_str()
            .unwrap()
            .contains("new, empty network namespace"),
        "{:?}",
        events[0]
    );
}

/// The command that makes a private namespace for a child: `unshare -Urn` for anyone where
/// user namespaces work, `unshare -n` for root where they do not.
fn unshare_prefix() -> Option<Vec<String>> {
    for p in [vec!["unshare", "-Urn"], vec!["unshare", "-n"]] {
        let ok = Command::new(p[0])
            .args(&p[1..])
            .arg("true")
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(p.into_iter().map(String::from).collect());
        }
    }
    None
}

/// The library, driven by a kernel `TcpStream` that this test owns. The test re-runs itself
/// under `unshare -Urn` (marked by an environment variable), so the TUN device is made in a
/// namespace of the test's own.
#[test]
fn kernel_tcpstream_talks_to_the_tun_peer() {
    const INNER: &str = "WIRELAB_HANDSHAKE_TEST_INNER";
    if std::env::var_os(INNER).is_some() {
        inner_kernel_tcpstream();
        return;
    }
    if tun_missing("kernel_tcpstream_talks_to_the_tun_peer") {
        return;
    }
    let Some(prefix) = unshare_prefix() else {
        common::skip_or_fail(
            "kernel_tcpstream_talks_to_the_tun_peer",
            "`unshare -Urn` does not work here (no user namespaces, or util-linux missing)",
        );
        return;
    };
    let out = Command::new(&prefix[0])
        .args(&prefix[1..])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kernel_tcpstream_talks_to_the_tun_peer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(INNER, "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "inner run failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn inner_kernel_tcpstream() {
    let cfg = tun::TunConfig {
        net: 88,
        port: 9000,
        message: Vec::new(),
        timeout: Duration::from_secs(20),
        isn: Some(4_294_967_000), // near the top, so the numbers wrap around 2³²
    };
    let mut events: Vec<Event> = Vec::new();
    let mut client = None;
    let outcome = tun::serve(&cfg, &mut events, |addr| {
        client = Some(std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
            let mut s = TcpStream::connect_timeout(&addr.into(), Duration::from_secs(10))?;
            s.set_read_timeout(Some(Duration::from_secs(10)))?;
            let msg = vec![b'x'; 3000]; // more than one MSS: three segments
            s.write_all(&msg)?;
            let mut back = vec![0; msg.len()];
            s.read_exact(&mut back)?;
            s.shutdown(Shutdown::Write)?;
            let mut rest = Vec::new();
            s.read_to_end(&mut rest)?;
            back.extend(rest);
            Ok(back)
        }));
    })
    .expect("serve");
    let back = client.unwrap().join().unwrap().expect("kernel client");
    assert_eq!(back, vec![b'x'; 3000], "the echo");
    assert!(outcome.finished);
    let states: Vec<State> = outcome.transitions.iter().map(|t| t.1).collect();
    assert_eq!(
        states,
        [
            State::Listen,
            State::SynReceived,
            State::Established,
            State::CloseWait,
            State::LastAck,
            State::Closed
        ]
    );
    // The frames are kept for any view: the engine reads them as IPv4/TCP.
    let syn = dissect(&outcome.frames[0].as_frame());
    assert_eq!(syn.uint("tcp.flags"), Some(0x002));
    let synack = dissect(&outcome.frames[1].as_frame());
    assert_eq!(synack.uint("tcp.seq_raw"), Some(4_294_967_000));
    assert_eq!(
        synack.uint("tcp.ack_raw"),
        Some(syn.uint("tcp.seq_raw").unwrap() + 1)
    );
    assert!(synack.problems.is_empty(), "{:?}", synack.problems);
    // Every frame wirelab wrote passes the engine's checksum check.
    for (f, e) in outcome
        .frames
        .iter()
        .zip(events.iter().filter_map(|e| match e {
            Event::Frame { from, .. } => Some(*from),
            _ => None,
        }))
    {
        if e == Sender::Wirelab {
            assert!(dissect(&f.as_frame()).problems.is_empty());
        }
    }
    println!("inner run: {} frames", outcome.frames.len());
}

/// As an ordinary user (when the tests run as root, as `nobody` through setpriv), the command
/// makes a user namespace and a network namespace, as `unshare -Urn` does.
#[test]
fn an_ordinary_user_gets_a_user_namespace() {
    const TEST: &str = "an_ordinary_user_gets_a_user_namespace";
    let exe = env!("CARGO_BIN_EXE_wirelab");
    let uid = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(0);
    // A copy of the binary that nobody can run, wherever the build directory is.
    let dir = tempfile::tempdir().unwrap();
    let mut cmd;
    if uid == 0 {
        let Some(setpriv) = ["/usr/bin/setpriv", "/bin/setpriv"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
        else {
            common::skip_or_fail(TEST, "running as root and setpriv (util-linux) is missing");
            return;
        };
        use std::os::unix::fs::PermissionsExt;
        let copy = dir.path().join("wirelab");
        std::fs::copy(exe, &copy).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        cmd = Command::new(setpriv);
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&copy)
            .current_dir(dir.path());
    } else {
        cmd = Command::new(exe);
    }
    let out = cmd
        .args(["tcp", "handshake", "--raw", "--client", "--view", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains(NO_NETNS) || stderr.contains(NO_TUN) && tun_missing(TEST) {
        common::skip_or_fail(TEST, stderr.trim());
        return;
    }
    assert!(out.status.success(), "{}", brief(&out));
    let events = parse_events(&out);
    assert!(
        events[0]["text"]
            .as_str()
            .unwrap()
            .contains("new user namespace"),
        "{:?}",
        events[0]
    );
    assert_eq!(result(&events, "echo"), Some(true));
}

#[test]
fn client_needs_raw() {
    let out = Command::new(env!("CARGO_BIN_EXE_wirelab"))
        .args(["tcp", "handshake", "--client"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--raw"));
}
