//! The lab and its demos, end to end: `wirelab tcp echo` and `wirelab udp echo` run in the
//! lab, and the packet sequence is checked from the JSON view.
//!
//! Where the lab cannot be built (user namespaces forbidden), the tests print SKIPPED and
//! why; under CI=true they fail instead. One test runs the demos as an unprivileged user.
//!
//! Linux only: the lab, `AF_PACKET` and `setcap` are Linux's (`tests/portable.rs` checks what
//! the other systems do instead).
#![cfg(target_os = "linux")]

mod common;

use std::process::{Command, Output};

use serde_json::Value;

/// Run wirelab; with `nobody`, as user and group 65534 with no supplementary groups and no
/// capabilities (needs root to switch, and `setpriv`).
fn run(args: &[&str], nobody: bool) -> Output {
    // The unprivileged user runs a copy every user can reach (see common::public_copy).
    let copy = nobody.then(common::public_copy);
    let mut cmd = common::wirelab_as(copy.as_ref());
    cmd.args(args)
        .env_remove("NO_COLOR")
        .current_dir("/")
        .output()
        .expect("run wirelab")
}

/// Is the lab available? `Err(why)` if not.
fn lab(nobody: bool) -> Result<(), String> {
    let out = run(&["lab", "--color", "never"], nobody);
    match out.status.code() {
        Some(0) => Ok(()),
        _ => Err(format!(
            "the lab is not available: {}",
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .nth(2)
                .unwrap_or("(no reason given)")
        )),
    }
}

/// Split JSON-view output into packets (no "event" key) and narration events.
fn split(out: &Output) -> (Vec<Value>, Vec<Value>) {
    let text = String::from_utf8_lossy(&out.stdout);
    let mut packets = Vec::new();
    let mut events = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {e}: {line}"));
        if v.get("event").is_some() {
            events.push(v);
        } else {
            packets.push(v);
        }
    }
    (packets, events)
}

fn field<'a>(p: &'a Value, name: &str) -> Option<&'a str> {
    p["fields"][name].as_str()
}

fn num(p: &Value, name: &str) -> u64 {
    let s = field(p, name).unwrap_or_else(|| panic!("packet has no {name}: {p}"));
    if let Some(h) = s.strip_prefix("0x") {
        u64::from_str_radix(h, 16).unwrap()
    } else {
        s.parse().unwrap()
    }
}

/// Check a TCP echo conversation between the lab's client and server.
fn check_tcp_echo(out: &Output, messages: &[&str]) {
    assert!(
        out.status.success(),
        "tcp echo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (packets, events) = split(out);
    // ARP comes first: the client must learn the server's MAC address before the SYN.
    assert_eq!(
        field(&packets[0], "eth.type"),
        Some("0x0806"),
        "{}",
        packets[0]
    );
    let tcp: Vec<&Value> = packets
        .iter()
        .filter(|p| field(p, "tcp.flags").is_some())
        .collect();
    let from_client = |p: &Value| field(p, "ip.src") == Some("192.0.2.1");
    // The handshake.
    let syn = tcp[0];
    assert_eq!(num(syn, "tcp.flags"), 0x002, "first TCP packet is a SYN");
    assert!(from_client(syn));
    assert_eq!(field(syn, "ip.dst"), Some("192.0.2.2"));
    assert_eq!(num(syn, "tcp.dstport"), 7007);
    let isn_c = num(syn, "tcp.seq_raw");
    let synack = tcp[1];
    assert_eq!(num(synack, "tcp.flags"), 0x012, "then a SYN-ACK");
    assert!(!from_client(synack));
    assert_eq!(
        num(synack, "tcp.ack_raw"),
        (isn_c + 1) & 0xffff_ffff,
        "SYN-ACK acks ISN+1"
    );
    let isn_s = num(synack, "tcp.seq_raw");
    let ack = tcp[2];
    assert_eq!(num(ack, "tcp.flags"), 0x010, "then an ACK");
    assert!(from_client(ack));
    assert_eq!(num(ack, "tcp.seq_raw"), (isn_c + 1) & 0xffff_ffff);
    assert_eq!(num(ack, "tcp.ack_raw"), (isn_s + 1) & 0xffff_ffff);
    assert_eq!(num(ack, "tcp.len"), 0);
    // Data: the client's bytes, then the same bytes echoed, each acknowledged.
    let total: u64 = messages.iter().map(|m| m.len() as u64).sum();
    let sent: u64 = tcp
        .iter()
        .filter(|p| from_client(p))
        .map(|p| num(p, "tcp.len"))
        .sum();
    let echoed: u64 = tcp
        .iter()
        .filter(|p| !from_client(p))
        .map(|p| num(p, "tcp.len"))
        .sum();
    assert_eq!(sent, total, "the client sent every byte once");
    assert_eq!(echoed, total, "the server echoed every byte once");
    let first_data = tcp.iter().position(|p| num(p, "tcp.len") > 0).unwrap();
    assert_eq!(first_data, 3, "data follows the handshake");
    assert_eq!(
        num(tcp[first_data], "tcp.len"),
        messages[0].len() as u64,
        "the first message travels in one segment"
    );
    // Some later segment from the server acknowledges all of the client's data.
    assert!(
        tcp.iter()
            .any(|p| !from_client(p) && num(p, "tcp.ack_raw") == (isn_c + 1 + total) & 0xffff_ffff),
        "the server acknowledges the data"
    );
    // The teardown: the client's FIN (it shuts down first), the server's FIN, a last ACK.
    let fin_c = tcp
        .iter()
        .find(|p| from_client(p) && num(p, "tcp.flags") & 1 == 1)
        .expect("a FIN from the client");
    assert_eq!(num(fin_c, "tcp.seq_raw"), (isn_c + 1 + total) & 0xffff_ffff);
    let fin_s = tcp
        .iter()
        .find(|p| !from_client(p) && num(p, "tcp.flags") & 1 == 1)
        .expect("a FIN from the server");
    assert_eq!(num(fin_s, "tcp.seq_raw"), (isn_s + 1 + total) & 0xffff_ffff);
    assert_eq!(
        num(fin_s, "tcp.ack_raw"),
        (isn_c + 2 + total) & 0xffff_ffff,
        "it acks the client's FIN"
    );
    let last = tcp.last().unwrap();
    assert!(from_client(last));
    assert_eq!(
        num(last, "tcp.flags"),
        0x010,
        "the last packet is the client's ACK"
    );
    assert_eq!(num(last, "tcp.ack_raw"), (isn_s + 2 + total) & 0xffff_ffff);

    // The narration: every call, in time order around the packets.
    let calls: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["event"] == "call")
        .map(|e| (e["who"].as_str().unwrap(), e["call"].as_str().unwrap()))
        .collect();
    for want in [
        ("server", "socket"),
        ("server", "bind"),
        ("server", "listen"),
        ("server", "accept"),
        ("client", "socket"),
        ("client", "connect"),
        ("client", "send"),
        ("server", "recv"),
        ("server", "send"),
        ("client", "recv"),
        ("client", "shutdown"),
        ("server", "close"),
        ("client", "close"),
    ] {
        assert!(calls.contains(&want), "no {want:?} call in {calls:?}");
    }
    let states: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "state")
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    for want in ["LISTEN", "ESTABLISHED", "CLOSE-WAIT", "TIME-WAIT"] {
        assert!(states.contains(&want), "no {want} state in {states:?}");
    }
    assert!(
        states
            .iter()
            .any(|s| *s == "FIN-WAIT-1" || *s == "FIN-WAIT-2"),
        "the client passes FIN-WAIT after shutdown: {states:?}"
    );
    // connect() starts before the SYN and returns after the handshake's last ACK.
    let time = |v: &Value| v["time"].as_str().unwrap().parse::<f64>().unwrap();
    let connect = events
        .iter()
        .find(|e| e["event"] == "call" && e["call"] == "connect")
        .unwrap();
    let id = connect["id"].as_u64().unwrap();
    let connected = events
        .iter()
        .find(|e| e["event"] == "return" && e["id"].as_u64() == Some(id))
        .unwrap();
    assert!(
        time(connect) <= time(syn),
        "connect() is called before the SYN"
    );
    assert!(
        time(connected) >= time(ack),
        "connect() returns after the handshake"
    );
}

#[test]
fn tcp_echo_in_the_lab() {
    if let Err(why) = lab(false) {
        common::skip_or_fail("tcp_echo_in_the_lab", &why);
        return;
    }
    let out = run(
        &[
            "tcp",
            "echo",
            "--net",
            "lab",
            "--view",
            "json",
            "--color",
            "never",
            "-m",
            "ping\n",
            "-m",
            "pong pong\n",
        ],
        false,
    );
    check_tcp_echo(&out, &["ping\n", "pong pong\n"]);
}

/// Payload of datagram `i`, as the demo makes it.
fn message(i: usize) -> String {
    format!("datagram {i} {}", "*".repeat(i))
}

fn check_udp_echo(out: &Output, n: usize) {
    assert!(
        out.status.success(),
        "udp echo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (packets, events) = split(out);
    let udp: Vec<&Value> = packets
        .iter()
        // The demo's last, large datagram comes in IP fragments: it is not one of the N
        // (its UDP header is read from the reassembled datagram, in its last fragment).
        .filter(|p| {
            field(p, "udp.length").is_some()
                && field(p, "ip.flags.mf") == Some("0")
                && field(p, "ip.fragment.count").is_none()
        })
        .collect();
    let to_server: Vec<&&Value> = udp
        .iter()
        .filter(|p| field(p, "ip.dst") == Some("192.0.2.2"))
        .collect();
    let back: Vec<&&Value> = udp
        .iter()
        .filter(|p| field(p, "ip.src") == Some("192.0.2.2"))
        .collect();
    // N sendto() calls make N datagrams, each keeping its own length.
    assert_eq!(to_server.len(), n, "one datagram per sendto()");
    for (i, p) in to_server.iter().enumerate() {
        assert_eq!(num(p, "udp.length"), 8 + message(i + 1).len() as u64);
        assert_eq!(num(p, "udp.dstport"), 7008);
    }
    assert_eq!(back.len(), n, "each one echoed");
    // No handshake: the first UDP packet is already data, right after ARP.
    let first_ip = packets
        .iter()
        .position(|p| field(p, "ip.src").is_some())
        .unwrap();
    assert!(field(&packets[first_ip], "udp.length").is_some());
    // The server's recvfrom() returned each datagram whole.
    let got: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "return" && e["who"] == "server" && e["call"] == "recvfrom")
        .filter_map(|e| e["result"].as_str())
        .filter(|r| r.contains("datagram "))
        .collect();
    assert_eq!(got.len(), n, "{got:?}");
    for (i, r) in got.iter().enumerate() {
        let m = message(i + 1);
        assert!(r.starts_with(&format!("{} \"{m}\"", m.len())), "{r}");
    }
    // TCP: N small send() calls arrive in fewer recv() calls.
    let tcp_sends = events
        .iter()
        .filter(|e| e["event"] == "call" && e["who"] == "client" && e["call"] == "send")
        .count();
    let tcp_reads = events
        .iter()
        .filter(|e| e["event"] == "return" && e["who"] == "server" && e["call"] == "recv")
        .filter(|e| !e["result"].as_str().unwrap().starts_with('0'))
        .count();
    assert_eq!(tcp_sends, n);
    assert!(
        tcp_reads >= 1 && tcp_reads < n,
        "{tcp_reads} reads for {n} writes"
    );
    // The 3000-byte datagram: three IPv4 fragments.
    let frags: Vec<(u64, u64)> = packets
        .iter()
        .filter(|p| field(p, "ip.dst") == Some("192.0.2.2"))
        .filter(|p| num(p, "ip.flags.mf") == 1 || num(p, "ip.frag_offset") > 0)
        .map(|p| (num(p, "ip.flags.mf"), num(p, "ip.frag_offset")))
        .collect();
    assert_eq!(
        frags,
        vec![(1, 0), (1, 185), (0, 370)],
        "fragments (MF, offset in 8-byte units)"
    );
    // Put back together in the last fragment's frame, as Wireshark shows it.
    let whole = packets
        .iter()
        .find(|p| {
            field(p, "ip.dst") == Some("192.0.2.2") && field(p, "ip.fragment.count").is_some()
        })
        .expect("the reassembled datagram");
    assert_eq!(num(whole, "ip.fragment.count"), 3);
    assert_eq!(num(whole, "udp.length"), 3008);
    assert!(
        events.iter().any(|e| e["event"] == "return"
            && e["call"] == "recvfrom"
            && e["result"].as_str().unwrap().starts_with("3000 ")),
        "the server got the 3000 bytes in one recvfrom()"
    );
}

#[test]
fn udp_echo_in_the_lab() {
    if let Err(why) = lab(false) {
        common::skip_or_fail("udp_echo_in_the_lab", &why);
        return;
    }
    let out = run(
        &[
            "udp", "echo", "--net", "lab", "--view", "json", "--color", "never", "-n", "4",
        ],
        false,
    );
    check_udp_echo(&out, 4);
}

/// `wirelab lab arp`: the client's neighbour table empty, then the ARP request and reply the
/// first datagram needs, then the table holding the server's MAC address.
#[test]
fn arp_cache_before_and_after_the_first_packet() {
    if let Err(why) = lab(false) {
        common::skip_or_fail("arp_cache_before_and_after_the_first_packet", &why);
        return;
    }
    let out = run(&["lab", "arp", "--color", "never"], false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (before, after) = text.split_once("3. ").expect("three steps");
    assert!(before.contains("(empty"), "{text}");
    assert!(
        before.contains("ARP  request: who has 192.0.2.2? Tell 192.0.2.1"),
        "{text}"
    );
    assert!(
        before.contains("ARP  reply: 192.0.2.2 is at 02:77:6c:00:00:02"),
        "{text}"
    );
    // The request comes first, then the reply, then the datagram that waited for it.
    let (q, r, u) = (
        text.find("ARP  request").unwrap(),
        text.find("ARP  reply").unwrap(),
        text.find("UDP  len=16").unwrap(),
    );
    assert!(q < r && r < u, "{text}");
    assert!(
        after.contains("192.0.2.2       is at 02:77:6c:00:00:02"),
        "{text}"
    );
}

#[test]
fn udp_loss_in_the_lab() {
    if let Err(why) = lab(false) {
        common::skip_or_fail("udp_loss_in_the_lab", &why);
        return;
    }
    let out = run(
        &[
            "udp",
            "echo",
            "--net",
            "lab",
            "--view",
            "json",
            "-n",
            "10",
            "--loss",
            "50%",
            "--reorder",
            "--seed",
            "3",
            "--no-tcp",
            "--big",
            "0",
        ],
        false,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (packets, events) = split(&out);
    let delivered = events
        .iter()
        .filter(|e| e["event"] == "return" && e["who"] == "server" && e["call"] == "recvfrom")
        .filter(|e| e["result"].as_str().unwrap().contains("datagram "))
        .count();
    let on_wire = packets
        .iter()
        .filter(|p| field(p, "ip.dst") == Some("192.0.2.2") && field(p, "udp.length").is_some())
        .count();
    assert!(
        delivered < 10,
        "with 50% loss some datagrams must be lost ({delivered} arrived)"
    );
    assert!(on_wire <= 10);
    let relay = events.iter().any(|e| e["who"] == "relay");
    assert!(relay, "the lossy network is named");
}

#[test]
fn demos_run_as_an_unprivileged_user() {
    if !nix_is_root() {
        eprintln!(
            "demos_run_as_an_unprivileged_user: not root, so the other lab tests already ran \
             unprivileged"
        );
        if let Err(why) = lab(false) {
            common::skip_or_fail("demos_run_as_an_unprivileged_user", &why);
            return;
        }
        return;
    }
    if Command::new("setpriv").arg("--version").output().is_err() {
        common::skip_or_fail(
            "demos_run_as_an_unprivileged_user",
            "setpriv (util-linux) is not installed",
        );
        return;
    }
    if let Err(why) = lab(true) {
        common::skip_or_fail("demos_run_as_an_unprivileged_user", &why);
        return;
    }
    let who = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "id",
            "-u",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&who.stdout).trim(), "65534");
    let out = run(
        &[
            "tcp",
            "echo",
            "--net",
            "lab",
            "--view",
            "json",
            "-m",
            "unprivileged\n",
        ],
        true,
    );
    check_tcp_echo(&out, &["unprivileged\n"]);
    let out = run(
        &["udp", "echo", "--net", "lab", "--view", "json", "-n", "3"],
        true,
    );
    check_udp_echo(&out, 3);
}

/// Without the lab and without capture, the demo still shows its socket calls and replays
/// the recorded trace.
#[test]
fn host_fallback_without_capture_replays_the_trace() {
    if !nix_is_root() {
        common::skip_or_fail(
            "host_fallback_without_capture_replays_the_trace",
            "needs root to drop to a user without CAP_NET_RAW",
        );
        return;
    }
    let out = run(&["tcp", "echo", "--net", "host", "--color", "never"], true);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("CAP_NET_RAW"), "{text}");
    assert!(
        text.contains("connect(fd"),
        "the socket calls are shown: {text}"
    );
    assert!(text.contains("Replaying the recorded trace"), "{text}");
    assert!(
        text.contains("[SYN]"),
        "the replayed trace shows a handshake: {text}"
    );
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
