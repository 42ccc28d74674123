//! Reference solution: your first server.

use std::io::{Read, Write};
use std::net::TcpListener;

/// Accept one connection on `listener`, echo everything the client sends until it closes its
/// side, then close.
pub fn echo_once(listener: TcpListener) -> std::io::Result<()> {
    let (mut stream, _peer) = listener.accept()?;
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break; // the client shut down its sending side: nothing more will come
        }
        stream.write_all(&buf[..n])?;
    }
    Ok(()) // `stream` is dropped here, which closes the connection (our FIN)
}
