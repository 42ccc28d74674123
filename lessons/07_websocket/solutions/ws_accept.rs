//! Reference solution: Sec-WebSocket-Accept.

use base64::Engine;
use sha1::{Digest, Sha1};

/// The GUID every WebSocket server appends to the key (RFC 6455 § 1.3).
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The Sec-WebSocket-Accept value for a Sec-WebSocket-Key.
pub fn accept_for(key: &str) -> String {
    let joined = format!("{key}{GUID}");
    let hash = Sha1::digest(joined.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(hash)
}
