//! Exercise: your first server.
//!
//! A server gets a listening socket (here already bound to a port and listening: that is what
//! `TcpListener::bind` does, the `socket`, `bind` and `listen` calls in one), then:
//!
//! 1. `accept()`s one connection: it waits until a client connects and returns a new
//!    `TcpStream` for that one conversation (the listener keeps waiting for others);
//! 2. reads what the client sends, until the client closes its side (a read returns 0 bytes);
//! 3. writes every byte back (an echo server);
//! 4. closes the connection (dropping the stream closes it).
//!
//! Your job: complete `echo_once`. `std::io::Read::read` and `std::io::Write::write_all` are
//! all you need (or `std::io::copy`, if you see how).
//!
//! Check your work with `wirelab check 02_sockets`; stuck? `wirelab hint echo_server`.

use std::net::TcpListener;

/// Accept one connection on `listener`, echo everything the client sends until it closes its
/// side, then close.
pub fn echo_once(listener: TcpListener) -> std::io::Result<()> {
    // TODO: accept, then loop: read into a buffer, stop on 0, write the bytes back.
    let _ = listener;
    Ok(())
}
