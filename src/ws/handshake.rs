//! The opening handshake (RFC 6455 § 4): how an HTTP request becomes a WebSocket.
//!
//! The client sends an ordinary HTTP/1.1 GET with two special headers, `Upgrade: websocket`
//! and `Connection: Upgrade`, plus a `Sec-WebSocket-Key`: 16 random bytes, base64-encoded.
//! The server must prove that it understood the request as a WebSocket handshake (and is not
//! some HTTP server that happens to echo headers back). The proof is
//! `Sec-WebSocket-Accept`:
//!
//! ```text
//! accept = base64( SHA-1( key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" ) )
//! ```
//!
//! The key is used as the text it is (its base64 form is not decoded); the GUID is a fixed
//! string from the RFC that no ordinary server would ever append. The client computes the
//! same value and refuses the connection if the server's answer differs.
//!
//! This module computes the accept value one visible step at a time, because that is the
//! lesson, with the `sha1` and `base64` crates doing the arithmetic. It also checks a request
//! the way a server must, saying in words what is wrong with a bad one.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha1::{Digest, Sha1};

use crate::dissect::http::Head;
use crate::dissect::websocket::GUID;

/// Each step of turning a key into an accept value, kept so a lesson can show them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptSteps {
    /// The client's Sec-WebSocket-Key, as sent.
    pub key: String,
    /// The 16 random bytes the key encodes (shown to prove they are 16).
    pub key_bytes: Vec<u8>,
    /// Step 1: the key with the GUID appended.
    pub concatenated: String,
    /// Step 2: the SHA-1 digest of those 60 ASCII bytes (20 bytes).
    pub sha1: [u8; 20],
    /// Step 3: the digest in base64: the Sec-WebSocket-Accept value.
    pub accept: String,
}

/// Work out Sec-WebSocket-Accept from a Sec-WebSocket-Key, keeping every step.
///
/// ```
/// // The example of RFC 6455 § 1.3.
/// let steps = wirelab::ws::handshake::accept_steps("dGhlIHNhbXBsZSBub25jZQ==");
/// assert_eq!(steps.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// assert_eq!(steps.key_bytes, b"the sample nonce");
/// ```
pub fn accept_steps(key: &str) -> AcceptSteps {
    // Step 1: append the GUID to the key, as text.
    let mut concatenated = String::with_capacity(key.len() + GUID.len());
    concatenated.push_str(key);
    concatenated.push_str(GUID);
    // Step 2: SHA-1 over the bytes of that text.
    let mut hasher = Sha1::new();
    hasher.update(concatenated.as_bytes());
    let sha1: [u8; 20] = hasher.finalize().into();
    // Step 3: base64 of the 20-byte digest.
    let accept = BASE64.encode(sha1);
    AcceptSteps {
        key: key.to_string(),
        key_bytes: BASE64.decode(key.trim()).unwrap_or_default(),
        concatenated,
        sha1,
        accept,
    }
}

/// The accept value alone.
pub fn accept_for(key: &str) -> String {
    accept_steps(key).accept
}

/// A fresh random key for a client: 16 random bytes in base64.
pub fn new_key() -> String {
    let bytes: [u8; 16] = rand::random();
    BASE64.encode(bytes)
}

impl AcceptSteps {
    /// The steps as lines of a lesson.
    pub fn explain(&self) -> Vec<String> {
        let hex: String = self.sha1.iter().map(|b| format!("{b:02x}")).collect();
        vec![
            format!("Sec-WebSocket-Key     {}", self.key),
            format!(
                "  (base64 of {} random bytes the client chose: {})",
                self.key_bytes.len(),
                self.key_bytes
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            format!("1. append the GUID    {}", self.concatenated),
            format!(
                "2. SHA-1 of those {} ASCII bytes = {hex} (20 bytes)",
                self.concatenated.len()
            ),
            format!("3. base64 of the digest = {}", self.accept),
        ]
    }
}

/// Why a request is not an acceptable WebSocket handshake: the rule, in words.
pub type Refusal = String;

/// Check a request head the way RFC 6455 § 4.2.1 asks a server to, and return the client's
/// key, or the reason to refuse it.
pub fn check_request(head: &Head, buf: &[u8]) -> Result<String, Refusal> {
    if head.method(buf) != Some("GET") {
        return Err(format!(
            "a WebSocket handshake must use the GET method, not {}",
            head.method(buf).unwrap_or("a response")
        ));
    }
    let version = head.version(buf);
    if version != "HTTP/1.1" && !version.starts_with("HTTP/2") && !version.starts_with("HTTP/3") {
        return Err(format!(
            "a WebSocket handshake needs HTTP/1.1 or later, not {version}"
        ));
    }
    if head.header(buf, "host").is_none() {
        return Err("the request has no Host header (HTTP/1.1 requires one)".into());
    }
    if !head.header_has_token(buf, "upgrade", "websocket") {
        return Err(match head.header(buf, "upgrade") {
            None => "the request has no `Upgrade: websocket` header: this is the WebSocket endpoint; open the page at / for the chat".into(),
            Some(u) => format!("the Upgrade header says {u:?}; it must name websocket"),
        });
    }
    if !head.header_has_token(buf, "connection", "upgrade") {
        return Err("the Connection header must include `Upgrade`".into());
    }
    let key = head
        .header(buf, "sec-websocket-key")
        .ok_or("the request has no Sec-WebSocket-Key header")?;
    match BASE64.decode(key.trim()) {
        Ok(bytes) if bytes.len() == 16 => {}
        Ok(bytes) => {
            return Err(format!(
                "Sec-WebSocket-Key must encode 16 bytes, but {key:?} encodes {}",
                bytes.len()
            ));
        }
        Err(_) => return Err(format!("Sec-WebSocket-Key {key:?} is not valid base64")),
    }
    match head.header(buf, "sec-websocket-version") {
        Some("13") => {}
        Some(v) => {
            return Err(format!(
                "this server speaks WebSocket version 13 (RFC 6455), the client asked for {v:?}"
            ));
        }
        None => {
            return Err("the request has no Sec-WebSocket-Version header (it must be 13)".into());
        }
    }
    Ok(key.trim().to_string())
}

/// The 101 response that completes a handshake.
pub fn switching_protocols(key: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_for(key)
    )
}

/// A plain HTTP response with a text body (for errors and the page).
pub fn http_response(
    code: u16,
    phrase: &str,
    content_type: &str,
    body: &str,
    extra: &str,
) -> String {
    format!(
        "HTTP/1.1 {code} {phrase}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::http::parse_head;

    #[test]
    fn accept_steps_agree_with_tungstenite() {
        for _ in 0..20 {
            let key = new_key();
            assert_eq!(
                accept_for(&key),
                tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes())
            );
        }
    }

    #[test]
    fn accept_steps_rfc_example() {
        let s = accept_steps("dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(
            s.concatenated,
            "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        );
        assert_eq!(
            s.sha1[..4],
            [0xb3, 0x7a, 0x4f, 0x2c],
            "RFC 6455 § 1.3 gives 0xb3 0x7a 0x4f 0x2c …"
        );
        assert!(s.explain()[3].contains("b37a4f2c"));
    }

    fn check(req: &str) -> Result<String, Refusal> {
        let h = parse_head(req.as_bytes()).unwrap();
        check_request(&h, req.as_bytes())
    }

    #[test]
    fn check_request_accepts_a_good_one_and_names_what_is_wrong() {
        let good = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        assert_eq!(check(good).unwrap(), "dGhlIHNhbXBsZSBub25jZQ==");
        let e = check(&good.replace("GET", "POST")).unwrap_err();
        assert!(e.contains("GET"), "{e}");
        let e = check(&good.replace("Version: 13", "Version: 8")).unwrap_err();
        assert!(e.contains("13"), "{e}");
        let e = check(&good.replace("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=")).unwrap_err();
        assert!(e.contains("16 bytes"), "{e}");
        let e = check(&good.replace("Upgrade: websocket\r\n", "")).unwrap_err();
        assert!(e.contains("Upgrade"), "{e}");
    }
}
