//! Who sent what in the chat: the `wirelab.chat` subprotocol.
//!
//! # The idea
//!
//! A WebSocket carries messages and nothing else: when the chat server relays a message, the
//! bytes say nothing about who wrote it. Applications that need more agree on a
//! *subprotocol*, a name for "how we use the messages": the client lists the ones it speaks
//! in the opening handshake (`Sec-WebSocket-Protocol: wirelab.chat`), and the server, if it
//! speaks one of them, names it in its `101` answer (RFC 6455 § 1.9 and § 4.2.2). From then
//! on both sides know what the messages mean.
//!
//! wirelab's chat page asks for `wirelab.chat`. To a client that agreed to it, the server
//! relays every message wrapped in a small JSON object saying who sent it:
//!
//! ```text
//! {"you":"client 2"}                                    first, once: your own name
//! {"from":"client 1","text":"hello"}                    a text message of client 1
//! {"from":"client 3","binary":70000}                    a binary one (its length only)
//! ```
//!
//! Clients that did not ask (`wirelab ws connect`, other programs) get the messages exactly as
//! they were sent, as before.

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::dissect::http::Head;

/// The subprotocol's name, as it appears in `Sec-WebSocket-Protocol`.
pub const PROTOCOL: &str = "wirelab.chat";

/// Did the client's handshake list `wirelab.chat` among the subprotocols it speaks?
pub fn offered(head: &Head, buf: &[u8]) -> bool {
    head.headers_named(buf, "Sec-WebSocket-Protocol")
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == PROTOCOL)
}

/// The `101 Switching Protocols` answer that agrees to `wirelab.chat`.
pub fn switching_protocols(key: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: {PROTOCOL}\r\n\r\n",
        super::handshake::accept_for(key)
    )
}

/// How the chat names connection `id`.
pub fn name(id: u64) -> String {
    format!("client {id}")
}

/// The first message to a client that agreed: its own name.
pub fn welcome(id: u64) -> Message {
    Message::Text(json!({ "you": name(id) }).to_string().into())
}

/// A message of connection `from`, wrapped to say who sent it.
pub fn envelope(from: u64, msg: &Message) -> Option<Message> {
    let v = match msg {
        Message::Text(t) => json!({ "from": name(from), "text": t.as_str() }),
        Message::Binary(b) => json!({ "from": name(from), "binary": b.len() }),
        _ => return None,
    };
    Some(Message::Text(v.to_string().into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::http::parse_head;

    fn head(text: &str) -> (Head, Vec<u8>) {
        let buf = text.as_bytes().to_vec();
        (parse_head(&buf).expect("a whole head"), buf)
    }

    #[test]
    fn offered_reads_the_list_of_subprotocols() {
        let (h, b) = head("GET /ws HTTP/1.1\r\nSec-WebSocket-Protocol: chat, wirelab.chat\r\n\r\n");
        assert!(offered(&h, &b));
        let (h, b) = head("GET /ws HTTP/1.1\r\nSec-WebSocket-Protocol: wirelab.chatty\r\n\r\n");
        assert!(!offered(&h, &b));
        let (h, b) = head("GET /ws HTTP/1.1\r\n\r\n");
        assert!(!offered(&h, &b));
    }

    #[test]
    fn envelope_names_the_sender_and_escapes_the_text() {
        let m = envelope(3, &Message::Text("say \"hi\"\n".into())).unwrap();
        let v: serde_json::Value = serde_json::from_str(m.to_text().unwrap()).unwrap();
        assert_eq!(v["from"], "client 3");
        assert_eq!(v["text"], "say \"hi\"\n");
        let m = envelope(1, &Message::Binary(vec![0u8; 70].into())).unwrap();
        assert!(m.to_text().unwrap().contains("\"binary\":70"));
        assert!(envelope(1, &Message::Ping(Vec::new().into())).is_none());
    }
}
