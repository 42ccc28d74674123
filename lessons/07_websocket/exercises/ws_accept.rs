//! Exercise: prove you understood the Upgrade (Sec-WebSocket-Accept).
//!
//! A browser opening a WebSocket sends an ordinary HTTP request with
//! `Upgrade: websocket` and a random `Sec-WebSocket-Key`, for example
//! `dGhlIHNhbXBsZSBub25jZQ==`. The server must answer `101 Switching Protocols` with a
//! `Sec-WebSocket-Accept` header computed from that key (RFC 6455 § 4.2.2):
//!
//! 1. append the fixed GUID `258EAFA5-E914-47DA-95CA-C5AB0DC85B11` to the key (as text);
//! 2. take the SHA-1 hash of the result (20 bytes);
//! 3. encode those 20 bytes in base64.
//!
//! For the key above the answer is `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`. A server that did not
//! understand WebSocket could not produce it, which is the whole point: it proves that the
//! other end really speaks the protocol (it is not a password; anyone can compute it).
//!
//! Your job: complete `accept_for`. The `sha1` and `base64` crates are available:
//! `sha1::{Digest, Sha1}` (`Sha1::digest(bytes)`), and
//! `base64::engine::general_purpose::STANDARD.encode(bytes)` (with `base64::Engine` in scope).
//!
//! Check your work with `wirelab check 07_websocket`; stuck? `wirelab hint ws_accept`.

/// The Sec-WebSocket-Accept value for a Sec-WebSocket-Key.
pub fn accept_for(key: &str) -> String {
    // TODO: key + GUID, SHA-1, base64.
    let _ = key;
    String::new()
}
