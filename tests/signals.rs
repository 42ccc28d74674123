//! Ctrl-C (SIGINT) and SIGTERM sent to the real long-running commands: each stops cleanly
//! and prints its summary. And the TIME-WAIT explanation when a port is still in use. Unix
//! only: Windows has no such signals.
#![cfg(unix)]

mod common;
mod servers;

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::Duration;

use servers::{Server, wirelab};

#[test]
fn tcp_serve_stops_on_sigint_and_sigterm_with_its_summary() {
    // Waiting for a connection.
    let s = Server::start(wirelab(&["tcp", "serve", "--port", "0"]));
    s.signal("INT");
    let end = s.wait(10);
    assert!(end.status.success(), "{}", end.stderr());
    assert!(
        end.stderr()
            .contains("wirelab tcp serve: 0 connections, 0 bytes received, 0 bytes sent; stopped by SIGINT (Ctrl-C)"),
        "{}",
        end.stderr()
    );
    assert!(
        end.stderr().contains("accept() = -1 (EINTR"),
        "{}",
        end.stderr()
    );

    // In the middle of a connection, with --keep.
    let s = Server::start(wirelab(&["tcp", "serve", "--port", "0", "--keep"]));
    let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    c.write_all(b"hello\n").unwrap();
    assert!(s.wait_for(5, |out, _| out.contains("hello")));
    s.signal("TERM");
    let end = s.wait(10);
    assert!(end.status.success(), "{}", end.stderr());
    assert!(
        end.stderr().contains(
            "wirelab tcp serve: 1 connection, 6 bytes received, 0 bytes sent; stopped by SIGTERM"
        ),
        "{}",
        end.stderr()
    );
    // The server closed the connection: the client reads the end of the stream.
    let mut rest = Vec::new();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(c.read_to_end(&mut rest).unwrap(), 0);
}

#[test]
fn tcp_connect_stops_on_sigint_with_its_summary() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut cmd = wirelab(&["tcp", "connect", &format!("127.0.0.1:{port}")]);
    // Keep standard input open (a pipe nobody writes to), as a person at the keyboard would.
    cmd.stdin(std::process::Stdio::piped());
    let mut s = Server::start_without_port(cmd);
    let (mut peer, _) = listener.accept().unwrap();
    peer.write_all(b"hi\n").unwrap();
    assert!(s.wait_for(5, |out, _| out.contains("hi")));
    s.signal("INT");
    let _stdin = s.child.stdin.take();
    let end = s.wait(10);
    assert!(end.status.success(), "{}", end.stderr());
    assert!(
        end.stderr().contains(
            "wirelab tcp connect: 1 connection, 3 bytes received, 0 bytes sent; stopped by SIGINT"
        ),
        "{}",
        end.stderr()
    );
}

#[test]
fn udp_recv_stops_on_sigint_and_sigterm_with_its_summary() {
    for (sig, name) in [("INT", "SIGINT (Ctrl-C)"), ("TERM", "SIGTERM")] {
        let s = Server::start(wirelab(&["udp", "recv", "--port", "0"]));
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        for m in ["one", "two", "three"] {
            u.send_to(m.as_bytes(), ("127.0.0.1", s.port)).unwrap();
        }
        assert!(s.wait_for(5, |out, _| out.contains("three")));
        s.signal(sig);
        let end = s.wait(10);
        assert!(end.status.success(), "{}", end.stderr());
        let want =
            format!("wirelab udp recv: 3 datagrams (11 bytes) from 1 sender; stopped by {name}");
        assert!(end.stderr().contains(&want), "{want}\n{}", end.stderr());
    }
}

#[test]
fn ws_serve_stops_on_sigterm_with_its_summary() {
    let s = Server::start(wirelab(&[
        "ws", "serve", "--echo", "--quiet", "--port", "0",
    ]));
    s.signal("TERM");
    let end = s.wait(10);
    assert!(end.status.success(), "{}", end.stderr());
    assert!(
        end.stdout()
            .contains("server stopped (stopped by SIGTERM): 0 connections, 0 messages received"),
        "{}",
        end.stdout()
    );
}

#[test]
fn sio_serve_stops_on_sigterm_with_its_summary() {
    for (sig, name) in [("INT", "SIGINT (Ctrl-C)"), ("TERM", "SIGTERM")] {
        let s = Server::start(wirelab(&["sio", "serve", "--quiet", "--port", "0"]));
        s.signal(sig);
        let end = s.wait(10);
        assert!(end.status.success(), "{}", end.stderr());
        assert!(
            end.stdout()
                .contains(&format!("stopping (stopped by {name})"))
                && end
                    .stdout()
                    .contains("server stopped: 0 clients, 0 events handled"),
            "{}",
            end.stdout()
        );
    }
}

#[test]
fn capture_stops_on_sigterm_with_its_summary() {
    let mut cmd = wirelab(&["capture", "-i", "lo", "--quiet"]);
    cmd.stdout(std::process::Stdio::piped());
    let s = Server::start_when(cmd, |_, err| {
        err.contains("capturing on") || err.contains("error")
    });
    if s.stderr().contains("error") {
        common::skip_or_fail(
            "capture_stops_on_sigterm_with_its_summary",
            &format!("capture on lo is not possible here: {}", s.stderr()),
        );
        return;
    }
    s.signal("TERM");
    let end = s.wait(10);
    assert!(end.status.success(), "{}", end.stderr());
    assert!(end.stderr().contains("captured"), "{}", end.stderr());
}

#[test]
fn tour_stops_on_sigint_with_its_summary_and_exit_130() {
    let s = Server::start_when(wirelab(&["tour"]), |out, _| out.contains("━━"));
    std::thread::sleep(Duration::from_millis(500));
    s.signal("INT");
    let end = s.wait(30);
    assert_eq!(end.status.code(), Some(130), "{}", end.stderr());
    let out = end.stdout();
    assert!(out.contains("The end of the tour"), "{out}");
    assert!(
        out.contains("The tour was stopped by SIGINT (Ctrl-C)"),
        "{out}"
    );
}

/// `tour --opening` (lesson 1's demo) stops on Ctrl-C too, at the step it is on, even when it
/// only pauses by itself (`--slow`), and says so.
#[test]
fn tour_opening_stops_on_sigint_and_exits_130() {
    // A second between steps: the opening's dozen steps would take more than ten seconds.
    let s = Server::start_when(
        wirelab(&["tour", "--opening", "--slow", "1000"]),
        |out, _| out.contains("OSI"),
    );
    s.signal("INT");
    let end = s.wait(30);
    assert_eq!(end.status.code(), Some(130), "{}", end.stderr());
    let out = end.stdout();
    assert!(
        out.contains("The tour's opening was stopped by SIGINT (Ctrl-C)."),
        "{out}"
    );
    assert!(
        !out.contains("Any packet opens up layer by layer"),
        "the opening ran to its end after Ctrl-C:\n{out}"
    );
}

#[test]
fn address_in_use_explains_time_wait_and_the_fix() {
    // The server's standard input ends at once, so it closes first (a FIN after the
    // client connects): its side of the connection then waits in TIME-WAIT.
    let s = Server::start(wirelab(&["tcp", "serve", "--port", "0"]));
    let port = s.port;
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut rest = Vec::new();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.read_to_end(&mut rest).unwrap();
    drop(c);
    let end = s.wait(10);
    assert!(end.status.success(), "{}", end.stderr());
    assert!(end.stderr().contains("TIME-WAIT"), "{}", end.stderr());

    let again = wirelab(&["tcp", "serve", "--port", &port.to_string()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{err}");
    for needle in [
        "Address already in use",
        "in TIME-WAIT",
        "2·MSL (RFC 9293",
        "--reuseaddr (SO_REUSEADDR)",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
}

#[test]
fn reuseaddr_lets_a_restarted_server_bind_over_time_wait() {
    let s = Server::start(wirelab(&["tcp", "serve", "--port", "0", "--reuseaddr"]));
    let port = s.port;
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut rest = Vec::new();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.read_to_end(&mut rest).unwrap();
    drop(c);
    assert!(s.wait(10).status.success());
    // The same port at once, with --reuse-addr (the other spelling) this time too.
    let s = Server::start(wirelab(&[
        "tcp",
        "serve",
        "--port",
        &port.to_string(),
        "--reuse-addr",
    ]));
    assert_eq!(s.port, port);
    let end = s.interrupt();
    assert!(end.status.success(), "{}", end.stderr());
}
