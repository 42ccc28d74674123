//! The `wirelab sio` commands as a learner runs them: the demo, and `sio connect --script`
//! against `sio serve` with the server's console driven through its standard input.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

fn wirelab() -> Command {
    let mut c = Command::cargo_bin("wirelab").unwrap();
    c.env("NO_COLOR", "1");
    c
}

/// `sio serve --port 0`, and the URL it printed. The caller stops it with [`interrupt`].
#[allow(clippy::zombie_processes)]
fn serve(extra: &[&str]) -> (Child, String, BufReader<std::process::ChildStdout>) {
    let mut child = wirelab()
        .args(["sio", "serve", "--port", "0"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server ended before saying where it listens");
        }
        if let Some(i) = line.find("listening on http://") {
            let url = line[i + "listening on ".len()..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
            return (child, url, out);
        }
    }
}

/// Stop a server as Ctrl-C would.
fn interrupt(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not stop on SIGINT");
}

#[test]
fn demo_shows_every_step_as_promised() {
    let out = wirelab().args(["sio", "demo"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for needle in [
        "42[\"chat\",\"hello, everyone\"]",
        "Socket.IO ACK",
        "which has no handler; ignored",
        "all but sender",
        "Every step behaved as Socket.IO promises.",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn demo_with_two_servers_through_redis() {
    if let Err(why) = wirelab::sio::redis::LocalRedis::available() {
        return common::skip_or_fail("demo_with_two_servers_through_redis", &why);
    }
    let out = wirelab()
        .args(["sio", "demo", "--servers", "2", "--no-wire"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("carol connected to server B"), "{text}");
    assert!(
        text.contains("Every step behaved as Socket.IO promises."),
        "{text}"
    );
}

#[test]
fn connect_script_against_serve_and_console() {
    let (mut server, url, mut server_out) = serve(&[]);
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.txt");
    std::fs::write(
        &script,
        "# joins, acks both ways, an unhandled event, then waits for the server's console\n\
         /join lab\n\
         /ack echo {\"n\":1}\n\
         /emit chat \"hello\"\n\
         /expect chat 5\n\
         /emit no-such-event 1\n\
         /ack echo 2\n\
         /expect news 10\n\
         /quit\n",
    )
    .unwrap();
    let client = wirelab()
        .args(["sio", "connect", &url, "--script"])
        .arg(&script)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Type /all at the server's console until the client has heard it.
    let mut stdin = server.stdin.take().unwrap();
    let pid = client.id();
    let pusher = std::thread::spawn(move || {
        for _ in 0..50 {
            std::thread::sleep(Duration::from_millis(200));
            if stdin
                .write_all(b"/all news {\"from\":\"console\"}\n")
                .is_err()
            {
                break;
            }
        }
        let _ = pid;
    });
    let out = client.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for needle in [
        "← 0{\"sid\":",
        "→ 40",
        "Engine.IO OPEN",
        "→ 420[\"join\",\"lab\"]",
        "← 430[{\"ok\":true,\"room\":\"lab\"}]",
        "Socket.IO ACK: the answer to ack id 1",
        "got \"news\" [{\"from\":\"console\"}]",
        "→ 41",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    interrupt(server);
    pusher.join().unwrap();
    let mut log = String::new();
    let _ = std::io::Read::read_to_string(server_out.get_mut(), &mut log);
    assert!(
        log.contains("sent \"no-such-event\", which has no handler"),
        "{log}"
    );
    assert!(log.contains("joins room \"lab\""), "{log}");
}

#[test]
fn connect_script_fails_when_an_expectation_fails() {
    let (server, url, _out) = serve(&[]);
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.txt");
    std::fs::write(&script, "/expect never-sent 0.5\n").unwrap();
    let out = wirelab()
        .args(["sio", "connect", &url, "--script"])
        .arg(&script)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no \"never-sent\" event"));
    interrupt(server);
}

#[test]
fn serve_binds_loopback_unless_public() {
    let (server, url, _out) = serve(&[]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    interrupt(server);
}
