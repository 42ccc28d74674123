//! The TCP echo demo: a server and a client, every socket call narrated.
//!
//! # The idea
//!
//! A TCP *server* makes a socket, `bind`s it to a well-known port, and `listen`s: from then on
//! the kernel itself answers connection requests. A *client* makes a socket and `connect`s:
//! its kernel sends a SYN, the server's kernel answers SYN-ACK, the client's kernel ACKs, and
//! only then does `connect` return. The server's `accept` hands over the finished connection
//! as a new socket. Data written with `send` is acknowledged by the receiving kernel; a
//! `shutdown` or `close` sends a FIN, which the other side's `recv` sees as 0 bytes. The side
//! that closes first waits in TIME-WAIT afterwards.
//!
//! Each step below is a real call on a real socket; [`crate::demos::narrate`] records it, and
//! the kernel's state of the socket is read back from `/proc/net/tcp` after each step.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddrV4};
use std::sync::mpsc;
use std::time::Duration;

use socket2::{Domain, Socket, Type};

use super::narrate::{Recorder, Who, kernel_tcp_state};
use super::{AsRawFd, Place, SockOpts, quote, v4};
use crate::source::lab::Host;

/// What the echo demo sends.
#[derive(Clone, Debug)]
pub struct EchoOptions {
    /// The server's port; 0 lets the kernel choose one.
    pub port: u16,
    /// Each message is sent with one `send` and echoed back.
    pub messages: Vec<String>,
    pub sock: SockOpts,
}

const TIMEOUT: Duration = Duration::from_secs(5);
const PROC: &str = "/proc/net/tcp";

fn ok0(_: &()) -> String {
    "0".into()
}

/// Describe what a `recv` returned.
pub fn describe_recv(data: &[u8]) -> String {
    if data.is_empty() {
        "0 (end of stream: the other side sent FIN)".into()
    } else {
        format!("{} {}", data.len(), quote(data))
    }
}

/// Run the echo demo at `place`, recording into `rec`. The server runs on its own thread in
/// the server's namespace; the client on another in the client's.
pub fn echo(
    place: &Place,
    rec: &Recorder,
    o: &EchoOptions,
    port_seen: &(dyn Fn(u16) + Sync),
) -> io::Result<()> {
    let (ready_tx, ready_rx) = mpsc::channel::<u16>();
    std::thread::scope(|s| {
        let server = s.spawn(|| server(place, rec, o, ready_tx));
        let client = s.spawn(move || -> io::Result<()> {
            let port = ready_rx
                .recv()
                .map_err(|_| io::Error::other("the server stopped before it was listening"))?;
            port_seen(port);
            client(place, rec, o, port)
        });
        let c = client
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the client thread panicked")));
        let sv = server
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the server thread panicked")));
        sv.and(c)
    })
}

fn server(
    place: &Place,
    rec: &Recorder,
    o: &EchoOptions,
    ready: mpsc::Sender<u16>,
) -> io::Result<()> {
    const W: Who = Who::Server;
    place.enter(Host::Server)?;
    let addr = SocketAddrV4::new(place.server_ip(), o.port);
    let l = rec.call(
        W,
        "socket",
        "AF_INET, SOCK_STREAM, 0",
        || Socket::new(Domain::IPV4, Type::STREAM, None),
        |s| format!("fd {}", s.as_raw_fd()),
    )?;
    let lfd = l.as_raw_fd();
    o.sock.apply(&l, rec, W, true)?;
    rec.call(
        W,
        "bind",
        format!("fd {lfd}, {addr}"),
        || l.bind(&addr.into()),
        ok0,
    )?;
    let bound = v4(&l.local_addr()?);
    rec.call(
        W,
        "listen",
        format!("fd {lfd}, backlog {}", o.sock.backlog),
        || l.listen(o.sock.backlog),
        ok0,
    )?;
    rec.observe(
        W,
        format!("fd {lfd}"),
        || kernel_tcp_state(bound, None),
        PROC,
    );
    l.set_read_timeout(Some(TIMEOUT))?;
    let _ = ready.send(bound.port());

    let (c, peer) = rec.call(
        W,
        "accept",
        format!("fd {lfd}"),
        || l.accept(),
        |(c, p)| {
            format!(
                "fd {} (a new socket for the connection from {})",
                c.as_raw_fd(),
                v4(p)
            )
        },
    )?;
    let peer = v4(&peer);
    let cfd = c.as_raw_fd();
    rec.observe(
        W,
        format!("fd {cfd}"),
        || kernel_tcp_state(bound, Some(peer)),
        PROC,
    );
    c.set_read_timeout(Some(TIMEOUT))?;
    if o.sock.nodelay {
        c.set_tcp_nodelay(true)?;
    }
    let mut buf = vec![0u8; 4096];
    loop {
        let data = rec.call(
            W,
            "recv",
            format!("fd {cfd}, {} bytes max", buf.len()),
            || {
                let n = (&c).read(&mut buf)?;
                Ok(buf[..n].to_vec())
            },
            |d| describe_recv(d),
        )?;
        if data.is_empty() {
            rec.observe(
                W,
                format!("fd {cfd}"),
                || kernel_tcp_state(bound, Some(peer)),
                PROC,
            );
            // A real server would finish its work here; the pause also lets the client's
            // FIN-WAIT-2 show: its FIN is acknowledged, the server's has not come yet.
            rec.note(
                W,
                "takes 100 ms before closing, as a program finishing its work would",
            );
            std::thread::sleep(Duration::from_millis(100));
            break;
        }
        rec.call(
            W,
            "send",
            format!("fd {cfd}, {}", quote(&data)),
            || (&c).write(&data),
            |n| n.to_string(),
        )?;
    }
    rec.call(
        W,
        "close",
        format!("fd {cfd}"),
        || crate::demos::closed(c),
        ok0,
    )?;
    rec.observe(
        W,
        "the connection",
        || kernel_tcp_state(bound, Some(peer)),
        PROC,
    );
    rec.call(
        W,
        "close",
        format!("fd {lfd}"),
        || crate::demos::closed(l),
        ok0,
    )?;
    Ok(())
}

fn client(place: &Place, rec: &Recorder, o: &EchoOptions, port: u16) -> io::Result<()> {
    const W: Who = Who::Client;
    place.enter(Host::Client)?;
    let server = SocketAddrV4::new(place.server_ip(), port);
    let s = rec.call(
        W,
        "socket",
        "AF_INET, SOCK_STREAM, 0",
        || Socket::new(Domain::IPV4, Type::STREAM, None),
        |s| format!("fd {}", s.as_raw_fd()),
    )?;
    let fd = s.as_raw_fd();
    o.sock.apply(&s, rec, W, true)?;
    s.set_read_timeout(Some(TIMEOUT))?;
    rec.call(
        W,
        "connect",
        format!("fd {fd}, {server}"),
        || s.connect(&server.into()),
        ok0,
    )?;
    let local = v4(&s.local_addr()?);
    rec.observe(
        W,
        format!("fd {fd} ({local})"),
        || kernel_tcp_state(local, Some(server)),
        PROC,
    );

    let mut buf = vec![0u8; 4096];
    for msg in &o.messages {
        rec.call(
            W,
            "send",
            format!("fd {fd}, {}", quote(msg.as_bytes())),
            || (&s).write(msg.as_bytes()),
            |n| n.to_string(),
        )?;
        // TCP is a byte stream: the echo may come back in more than one piece.
        let mut got = 0;
        while got < msg.len() {
            let data = rec.call(
                W,
                "recv",
                format!("fd {fd}, {} bytes max", buf.len()),
                || {
                    let n = (&s).read(&mut buf)?;
                    Ok(buf[..n].to_vec())
                },
                |d| describe_recv(d),
            )?;
            if data.is_empty() {
                return Err(io::Error::other(
                    "the server closed before echoing everything",
                ));
            }
            got += data.len();
        }
    }
    rec.call(
        W,
        "shutdown",
        format!("fd {fd}, SHUT_WR"),
        || s.shutdown(Shutdown::Write),
        ok0,
    )?;
    rec.observe(
        W,
        format!("fd {fd}"),
        || kernel_tcp_state(local, Some(server)),
        PROC,
    );
    rec.call(
        W,
        "recv",
        format!("fd {fd}, {} bytes max", buf.len()),
        || {
            let n = (&s).read(&mut buf)?;
            Ok(buf[..n].to_vec())
        },
        |d| describe_recv(d),
    )?;
    rec.observe(
        W,
        format!("fd {fd}"),
        || kernel_tcp_state(local, Some(server)),
        PROC,
    );
    rec.call(
        W,
        "close",
        format!("fd {fd}"),
        || crate::demos::closed(s),
        ok0,
    )?;
    std::thread::sleep(Duration::from_millis(20));
    rec.observe(
        W,
        "the connection",
        || kernel_tcp_state(local, Some(server)),
        PROC,
    );
    Ok(())
}
