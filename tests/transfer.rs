//! `wirelab tcp transfer` in the lab and `wirelab dissect --rtt`, checked against tshark.
//!
//! Must show (issue 12): over `rate=10mbit,delay=20ms` tshark's smallest
//! `tcp.analysis.ack_rtt` in the written capture is 36–50 ms and the throughput 7.5–10.5
//! Mbit/s; cwnd at least quadruples in slow start; with `loss=1%` and reno there are
//! retransmissions in the summary and in tshark's analysis, and the transfer completes; every
//! `--rtt` sample equals tshark's `tcp.analysis.ack_rtt` of the same ACK. The first test runs
//! as an unprivileged user (uid 65534). Transfers are a megabyte or two, a few seconds each;
//! every packet stays inside the lab's namespaces.
//!
//! Where the lab or tshark is missing the tests print SKIPPED and why; under CI=true they fail.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn run(args: &[&str], nobody: bool) -> Output {
    let copy = nobody.then(common::public_copy);
    let mut cmd = common::wirelab_as(copy.as_ref());
    cmd.args(["--color", "never"])
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("WIRELAB_LAB")
        .current_dir("/")
        .output()
        .expect("run wirelab")
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Can this test run: the lab (as `nobody` or not) and tshark? `Err(why)` if not.
fn ready(nobody: bool) -> Result<(), String> {
    if Command::new("tshark").arg("-v").output().is_err() {
        return Err("tshark is not installed".into());
    }
    if nobody && Command::new("setpriv").arg("--help").output().is_err() {
        return Err("setpriv is not installed".into());
    }
    if nobody && !nix_is_root() {
        return Err("switching to uid 65534 needs root".into());
    }
    let out = run(&["lab", "--routers", "1"], nobody);
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

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A folder every user may write to (the unprivileged run writes its capture there).
fn scratch() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("temp dir");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    d
}

/// The JSON lines: TCP_INFO samples, and the summary.
fn parse(out: &Output) -> (Vec<Value>, Value) {
    let text = String::from_utf8_lossy(&out.stdout);
    let mut samples = Vec::new();
    let mut summary = None;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {e}: {line}"));
        match v["type"].as_str() {
            Some("tcp_info") => samples.push(v),
            Some("summary") => summary = Some(v),
            _ => {}
        }
    }
    (samples, summary.expect("a summary line"))
}

fn tshark(file: &Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(file).args(["-Y", filter, "-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// `dissect --rtt` agrees with tshark: every sample equals tshark's ack_rtt of the same ACK
/// frame (to the microsecond tshark prints), and every ACK tshark times for a data segment
/// has its row. Returns (samples compared, rows without a sample by Karn's rule).
fn rtt_agrees(file: &Path, at_least: usize) -> (usize, usize) {
    let out = run(
        &["dissect", file.to_str().unwrap(), "--rtt", "--view", "json"],
        false,
    );
    ok(&out, "dissect --rtt");
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("JSON row"))
        .collect();
    let theirs: HashMap<u64, (f64, u64)> = tshark(
        file,
        "tcp.analysis.ack_rtt",
        &[
            "frame.number",
            "tcp.analysis.ack_rtt",
            "tcp.analysis.acks_frame",
        ],
    )
    .into_iter()
    .map(|r| {
        (
            r[0].parse().unwrap(),
            (r[1].parse().unwrap(), r[2].parse().unwrap()),
        )
    })
    .collect();
    let data_frames: HashSet<u64> = tshark(file, "tcp.len > 0", &["frame.number"])
        .into_iter()
        .map(|r| r[0].parse().unwrap())
        .collect();
    let mut compared = 0;
    let mut karn = 0;
    let ours: HashSet<u64> = rows
        .iter()
        .map(|r| r["ack_frame"].as_u64().unwrap())
        .collect();
    for r in &rows {
        let f = r["ack_frame"].as_u64().unwrap();
        let (rtt, acks) = theirs
            .get(&f)
            .unwrap_or_else(|| panic!("tshark has no ack_rtt on frame {f}: {r}"));
        assert_eq!(r["acks_frame"].as_u64(), Some(*acks), "frame {f}");
        match r["sample_rtt"].as_f64() {
            Some(s) => {
                assert!(
                    (s - rtt).abs() < 1.5e-6,
                    "frame {f}: ours {s}, tshark {rtt}"
                );
                compared += 1;
            }
            None => karn += 1,
        }
    }
    for (f, (_, acks)) in &theirs {
        if data_frames.contains(acks) {
            assert!(
                ours.contains(f),
                "tshark times frame {f} (data frame {acks}); --rtt has no row"
            );
        }
    }
    assert!(compared >= at_least, "only {compared} samples compared");
    (compared, karn)
}

/// Over 10 Mbit/s and 20 ms each way, as an unprivileged user: the RTT, the throughput, slow
/// start, the sampled fields, and --rtt against tshark.
#[test]
fn transfer_over_10mbit_20ms_as_nobody() {
    if let Err(why) = ready(true) {
        common::skip_or_fail("transfer_over_10mbit_20ms_as_nobody", &why);
        return;
    }
    let dir = scratch();
    let file = dir.path().join("cubic.pcapng");
    let out = run(
        &[
            "tcp",
            "transfer",
            "--cc",
            "cubic",
            "--bytes",
            "2000000",
            "--link",
            "rate=10mbit,delay=20ms",
            "--view",
            "json",
            "-w",
            file.to_str().unwrap(),
        ],
        true,
    );
    ok(&out, "tcp transfer as uid 65534");
    let (samples, summary) = parse(&out);
    eprintln!("summary: {summary}");
    assert_eq!(summary["complete"], true);
    assert_eq!(summary["cc"], "cubic");
    // The fields each sample carries.
    assert!(samples.len() > 20, "{} samples", samples.len());
    for k in [
        "cwnd",
        "ssthresh",
        "srtt_us",
        "rttvar_us",
        "retransmits",
        "delivery_rate",
        "snd_wnd",
        "phase",
    ] {
        assert!(
            samples[5].get(k).is_some(),
            "sample has no {k}: {}",
            samples[5]
        );
    }
    // tshark's smallest ack_rtt of the server's ACKs (the client's ACKs of the server's FIN
    // are timed too, in microseconds): the base RTT (40 ms) plus a frame's transmission time.
    let rtts: Vec<f64> = tshark(
        &file,
        "tcp.analysis.ack_rtt && ip.src == 203.0.113.2",
        &["tcp.analysis.ack_rtt"],
    )
    .into_iter()
    .map(|r| r[0].parse().unwrap())
    .collect();
    let min = rtts.iter().copied().fold(f64::MAX, f64::min);
    eprintln!(
        "tshark min ack_rtt {:.3} ms over {} samples",
        min * 1e3,
        rtts.len()
    );
    assert!((0.036..=0.050).contains(&min), "min ack_rtt {min}");
    let ours_min = summary["rtt_min_ms"].as_f64().unwrap();
    assert!(
        (ours_min - min * 1e3).abs() < 0.01,
        "summary min {ours_min} ms, tshark {min}"
    );
    // Throughput: bytes acknowledged over first data → last ACK.
    let bps = summary["throughput_bps"].as_f64().unwrap();
    assert!((7.5e6..=10.5e6).contains(&bps), "throughput {bps} bit/s");
    // Slow start: cwnd at least quadruples before it ends.
    let first = samples[0]["cwnd"].as_u64().unwrap();
    let peak = samples
        .iter()
        .take_while(|s| s["phase"] == "slow start")
        .map(|s| s["cwnd"].as_u64().unwrap())
        .max()
        .unwrap();
    eprintln!("slow start: cwnd {first} → {peak}");
    assert!(peak >= 4 * first, "cwnd {first} → {peak} in slow start");
    assert!(summary["slow_start_growth"].as_f64().unwrap() >= 4.0);
    let (n, _) = rtt_agrees(&file, 100);
    eprintln!("--rtt: {n} samples equal tshark's ack_rtt");
}

/// 1 % loss with reno: retransmissions in the summary and in tshark's analysis, fast recovery
/// named, the transfer complete; --rtt still agrees with tshark.
#[test]
fn reno_with_loss_retransmits() {
    if let Err(why) = ready(false) {
        common::skip_or_fail("reno_with_loss_retransmits", &why);
        return;
    }
    let dir = scratch();
    let file = dir.path().join("reno.pcapng");
    let out = run(
        &[
            "tcp",
            "transfer",
            "--cc",
            "reno",
            "--bytes",
            "1500000",
            "--link",
            "rate=10mbit,delay=20ms,loss=1%,seed=7",
            "--view",
            "json",
            "-w",
            file.to_str().unwrap(),
        ],
        false,
    );
    ok(&out, "tcp transfer with loss");
    let (samples, summary) = parse(&out);
    eprintln!("summary: {summary}");
    assert_eq!(summary["complete"], true);
    // The capture is taken next to the sender, before the link loses anything: every copy
    // the sender resent is in it. tshark names a copy sent soon after the original "out of
    // order" rather than "retransmission", so both names are counted.
    let retrans = summary["retransmissions_capture"].as_u64().unwrap();
    let ooo = summary["out_of_order_capture"].as_u64().unwrap();
    let resent = summary["resent_capture"].as_u64().unwrap();
    let sender = summary["retransmissions_sender"].as_u64().unwrap();
    assert!(resent > 0, "no retransmission in the capture");
    assert!(sender > 0, "the sender retransmitted nothing");
    let theirs = tshark(
        &file,
        "tcp.len > 0 && (tcp.analysis.retransmission || tcp.analysis.out_of_order)",
        &["frame.number"],
    )
    .len() as u64;
    let theirs_retrans =
        tshark(&file, "tcp.analysis.retransmission", &["frame.number"]).len() as u64;
    eprintln!(
        "retransmissions: resent {resent} (capture), {sender} (sender's TCP_INFO); tshark: \
         {theirs_retrans} retransmission + out of order = {theirs}; wirelab {retrans} + {ooo}"
    );
    assert_eq!(
        theirs, resent,
        "tshark's retransmissions and out-of-order segments"
    );
    assert_eq!(
        retrans, theirs_retrans,
        "retransmissions as tshark counts them"
    );
    assert!(
        samples
            .iter()
            .any(|s| s["phase"] == "fast retransmit / fast recovery"
                || s["phase"] == "retransmission timeout"),
        "no recovery phase named"
    );
    let (n, karn) = rtt_agrees(&file, 100);
    eprintln!("--rtt: {n} samples equal tshark's ack_rtt, {karn} rows skipped by Karn's rule");
}

/// Flow control: a small receive buffer and a slow reader close the window.
#[test]
fn slow_reader_closes_the_window() {
    if let Err(why) = ready(false) {
        common::skip_or_fail("slow_reader_closes_the_window", &why);
        return;
    }
    let dir = scratch();
    let file = dir.path().join("zw.pcapng");
    let out = run(
        &[
            "tcp",
            "transfer",
            "--bytes",
            "300000",
            "--recv-buf",
            "65536",
            "--read-rate",
            "200000",
            "--link",
            "rate=10mbit,delay=5ms",
            // The window stays shut for a few ms at a time: sample every millisecond.
            "--sample-ms",
            "1",
            "--view",
            "json",
            "-w",
            file.to_str().unwrap(),
        ],
        false,
    );
    ok(&out, "tcp transfer with a slow reader");
    let (samples, summary) = parse(&out);
    eprintln!("summary: {summary}");
    assert_eq!(summary["complete"], true);
    assert!(summary["zero_windows"].as_u64().unwrap() > 0);
    assert!(!tshark(&file, "tcp.analysis.zero_window", &["frame.number"]).is_empty());
    assert!(
        samples.iter().any(|s| s["phase"] == "zero window"),
        "no sample in the zero window"
    );
}

/// `--rtt` on a lesson's recorded trace (no lab needed) agrees with tshark too.
#[test]
fn rtt_on_a_recorded_trace_agrees_with_tshark() {
    if Command::new("tshark").arg("-v").output().is_err() {
        common::skip_or_fail(
            "rtt_on_a_recorded_trace_agrees_with_tshark",
            "tshark is not installed",
        );
        return;
    }
    let out = run(
        &[
            "dissect",
            concat!(env!("CARGO_MANIFEST_DIR"), "/lessons/03_tcp/trace.pcapng"),
            "--rtt",
        ],
        false,
    );
    ok(&out, "dissect --rtt");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("EstimatedRTT = (1 - α)·EstimatedRTT + α·SampleRTT"),
        "{text}"
    );
    assert!(text.contains("TimeoutInterval"), "{text}");
    let (n, _) = rtt_agrees(
        Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/lessons/03_tcp/trace.pcapng"
        )),
        1,
    );
    eprintln!("--rtt on lessons/03_tcp: {n} samples equal tshark's ack_rtt");
}

/// Where the lab is not wanted: a clear word.
#[test]
fn net_host_is_refused_with_a_reason() {
    let out = run(&["tcp", "transfer", "--net", "host"], false);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("runs in the lab"), "{err}");
}
