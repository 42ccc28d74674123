//! Socket.IO v5, the event layer on top of Engine.IO.
//!
//! # The idea
//!
//! Engine.IO moves opaque messages. Socket.IO gives them meaning: a message is an *event* with
//! a name and arguments (`socket.emit("chat", "hi")`), the receiver may be asked to answer it
//! (an *acknowledgement*, or ack: the sender numbers the event and waits for an ack packet
//! with the same number), and one connection can be split into *namespaces* (`/`, `/admin`),
//! each joined with its own connect packet.
//!
//! A Socket.IO packet rides in one Engine.IO message (type `4`) and is written as text:
//!
//! ```text
//! <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//!   2                                   1        ["ping","hello"]     → 21["ping","hello"]
//! ```
//!
//! | type | name          | payload                                                          |
//! |------|---------------|------------------------------------------------------------------|
//! | `0`  | CONNECT       | client: optional auth object; server: `{"sid": …}` (accepted)   |
//! | `1`  | DISCONNECT    | none: leave the namespace                                        |
//! | `2`  | EVENT         | `[name, arg1, arg2, …]`                                          |
//! | `3`  | ACK           | `[result1, …]`, answering the event with the same ack id        |
//! | `4`  | CONNECT_ERROR | `{"message": …}`: the server refused the connect                |
//! | `5`  | BINARY_EVENT  | like EVENT, with binary arguments sent as separate messages     |
//! | `6`  | BINARY_ACK    | like ACK, with binary results                                    |
//!
//! In a binary packet each binary argument is replaced by a placeholder
//! `{"_placeholder":true,"num":N}` and the count of attachments comes first (`51-["up",{…}]`);
//! the attachments follow as their own Engine.IO binary messages.
//!
//! The namespace is only written when it is not the main one (`/`). The ack id is only written
//! when an answer is wanted.
//!
//! # Parsing
//!
//! [`parse`] reads one packet into a [`Packet`] or says which rule was broken and at which
//! byte; [`dissect`] records the same into the layer model with byte ranges counted from a
//! base (see [`super::engineio`] for why). Neither ever panics.

use std::fmt;
use std::fmt::Write as _;
use std::ops::Range;

use serde_json::Value as Json;

use super::cx::Cx;
use super::engineio::show_byte;
use super::model::{Dissection, Layer, ProblemKind, Proto, Value};

/// The seven Socket.IO packet types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketType {
    Connect,
    Disconnect,
    Event,
    Ack,
    ConnectError,
    BinaryEvent,
    BinaryAck,
}

impl PacketType {
    pub fn from_char(c: u8) -> Option<PacketType> {
        Some(match c {
            b'0' => PacketType::Connect,
            b'1' => PacketType::Disconnect,
            b'2' => PacketType::Event,
            b'3' => PacketType::Ack,
            b'4' => PacketType::ConnectError,
            b'5' => PacketType::BinaryEvent,
            b'6' => PacketType::BinaryAck,
            _ => return None,
        })
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            PacketType::Connect => "CONNECT",
            PacketType::Disconnect => "DISCONNECT",
            PacketType::Event => "EVENT",
            PacketType::Ack => "ACK",
            PacketType::ConnectError => "CONNECT_ERROR",
            PacketType::BinaryEvent => "BINARY_EVENT",
            PacketType::BinaryAck => "BINARY_ACK",
        }
    }

    /// Binary packets announce how many attachments follow.
    pub fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }

    pub fn is_event(self) -> bool {
        matches!(self, PacketType::Event | PacketType::BinaryEvent)
    }

    pub fn is_ack(self) -> bool {
        matches!(self, PacketType::Ack | PacketType::BinaryAck)
    }
}

/// One Socket.IO packet. Every range is counted from the start of the bytes given to [`parse`].
#[derive(Clone, Debug, PartialEq)]
pub struct Packet {
    pub kind: PacketType,
    /// How many binary attachments follow (binary packets only).
    pub attachments: Option<u64>,
    pub attachments_range: Option<Range<usize>>,
    /// The namespace; `/` when the packet does not name one.
    pub namespace: String,
    /// Where the namespace was written, if it was.
    pub namespace_range: Option<Range<usize>>,
    /// The ack id: the sender wants an answer (an event), or this answers that event (an ack).
    pub ack_id: Option<u64>,
    pub ack_id_range: Option<Range<usize>>,
    /// The JSON payload, if there is one.
    pub payload: Option<Json>,
    pub payload_range: Option<Range<usize>>,
    /// For an event: its name (the first element of the payload array) and where the name's
    /// JSON string is.
    pub event: Option<String>,
    pub event_range: Option<Range<usize>>,
}

impl Packet {
    /// The arguments: an event's payload after its name, or an ack's whole payload.
    pub fn args(&self) -> &[Json] {
        match (&self.payload, self.kind) {
            (Some(Json::Array(a)), k) if k.is_event() => a.get(1..).unwrap_or(&[]),
            (Some(Json::Array(a)), k) if k.is_ack() => a,
            _ => &[],
        }
    }

    /// One line for a learner: what this packet asks for.
    pub fn explain(&self) -> String {
        let ns = if self.namespace == "/" {
            String::new()
        } else {
            format!(" in namespace {}", self.namespace)
        };
        let args = Json::Array(self.args().to_vec()).to_string();
        let bins = match self.attachments {
            Some(n) => format!(", {n} binary attachment(s) follow"),
            None => String::new(),
        };
        match self.kind {
            PacketType::Connect => match self.payload.as_ref().and_then(|p| p.get("sid")) {
                Some(sid) => format!(
                    "Socket.IO CONNECT accepted{ns}: the socket id is {} (Socket.IO v5 keeps it \
                     apart from the private Engine.IO session id of the open packet; a server \
                     that sends the same value for both, as socketioxide does, must keep this \
                     one private too)",
                    sid.as_str().unwrap_or("?")
                ),
                None => format!(
                    "Socket.IO CONNECT: join namespace {}{}",
                    self.namespace,
                    match &self.payload {
                        Some(p) => format!(" with auth {p}"),
                        None => String::new(),
                    }
                ),
            },
            PacketType::Disconnect => {
                format!("Socket.IO DISCONNECT: leave namespace {}", self.namespace)
            }
            PacketType::ConnectError => format!(
                "Socket.IO CONNECT_ERROR{ns}: refused: {}",
                self.payload
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default()
            ),
            k if k.is_event() => {
                let name = self.event.as_deref().unwrap_or("?");
                match self.ack_id {
                    Some(id) => format!(
                        "Socket.IO {} {name:?}{ns} with args {args}{bins}; ack id {id}: the sender waits for an answer",
                        k.name()
                    ),
                    None => format!("Socket.IO {} {name:?}{ns} with args {args}{bins}", k.name()),
                }
            }
            k => format!(
                "Socket.IO {}{ns}: the answer to ack id {} is {args}{bins}",
                k.name(),
                self.ack_id
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| "?".into())
            ),
        }
    }

    /// Write the packet in its wire form (without the Engine.IO `4` in front).
    pub fn encode(&self) -> String {
        let mut s = String::new();
        s.push((b'0' + self.kind.code()) as char);
        if let Some(n) = self.attachments {
            s.push_str(&n.to_string());
            s.push('-');
        }
        if self.namespace != "/" {
            s.push_str(&self.namespace);
            s.push(',');
        }
        if let Some(id) = self.ack_id {
            s.push_str(&id.to_string());
        }
        if let Some(p) = &self.payload {
            s.push_str(&p.to_string());
        }
        s
    }

    /// A new packet of a kind, in the main namespace, with nothing else set.
    pub fn new(kind: PacketType) -> Packet {
        Packet {
            kind,
            attachments: None,
            attachments_range: None,
            namespace: "/".into(),
            namespace_range: None,
            ack_id: None,
            ack_id_range: None,
            payload: None,
            payload_range: None,
            event: None,
            event_range: None,
        }
    }

    /// An EVENT packet: `name` with `args`, asking for an ack if `ack_id` is given.
    pub fn event(name: &str, args: &[Json], ack_id: Option<u64>) -> Packet {
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(Json::String(name.into()));
        all.extend_from_slice(args);
        let mut p = Packet::new(PacketType::Event);
        p.ack_id = ack_id;
        p.event = Some(name.into());
        p.payload = Some(Json::Array(all));
        p
    }

    /// An ACK packet answering `ack_id` with `args`.
    pub fn ack(ack_id: u64, args: &[Json]) -> Packet {
        let mut p = Packet::new(PacketType::Ack);
        p.ack_id = Some(ack_id);
        p.payload = Some(Json::Array(args.to_vec()));
        p
    }
}

/// Why a Socket.IO packet could not be read: the rule, and the byte where it broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub at: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.at, self.message)
    }
}

impl std::error::Error for ParseError {}

fn err(at: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        at,
        message: message.into(),
    }
}

/// The largest ack id or attachment count accepted (the reference implementation keeps ids in
/// a JavaScript number, exact up to 2^53).
const MAX_NUMBER: u64 = (1 << 53) - 1;

/// Read one Socket.IO packet (the text after Engine.IO's `4`).
pub fn parse(bytes: &[u8]) -> Result<Packet, ParseError> {
    let mut partial = Packet::new(PacketType::Connect);
    parse_into(bytes, &mut partial).map(|()| partial)
}

/// Parse as far as possible into `p`: on error, `p` holds every part read before it.
fn parse_into(bytes: &[u8], p: &mut Packet) -> Result<(), ParseError> {
    let Some(&first) = bytes.first() else {
        return Err(err(
            0,
            "a Socket.IO packet must start with its type (0-6), but the message is empty",
        ));
    };
    p.kind = PacketType::from_char(first).ok_or_else(|| {
        err(
            0,
            format!(
                "a Socket.IO packet must start with its type 0-6, not {}",
                show_byte(first)
            ),
        )
    })?;
    let mut i = 1;

    // Attachments: digits then '-', binary packets only.
    if p.kind.is_binary() {
        let (n, end) = digits(bytes, i);
        if end == i || bytes.get(end) != Some(&b'-') {
            return Err(err(
                i,
                format!(
                    "a {} packet must give its attachment count then '-' (such as 51-), but it does not",
                    p.kind.name()
                ),
            ));
        }
        let n = n
            .filter(|&n| n <= MAX_NUMBER)
            .ok_or_else(|| err(i, "the attachment count is too large"))?;
        p.attachments = Some(n);
        p.attachments_range = Some(i..end);
        i = end + 1;
    }

    // Namespace: starts with '/', ends at ',' (or at the end of the packet).
    if bytes.get(i) == Some(&b'/') {
        let end = bytes[i..]
            .iter()
            .position(|&b| b == b',')
            .map(|k| i + k)
            .unwrap_or(bytes.len());
        let ns = std::str::from_utf8(&bytes[i..end])
            .map_err(|_| err(i, "the namespace must be UTF-8 text"))?;
        p.namespace = ns.to_owned();
        p.namespace_range = Some(i..end);
        i = (end + 1).min(bytes.len());
    }

    // Ack id: digits.
    let (id, end) = digits(bytes, i);
    if end > i {
        let id = id
            .filter(|&n| n <= MAX_NUMBER)
            .ok_or_else(|| err(i, "the ack id is too large (at most 2^53 - 1)"))?;
        if matches!(
            p.kind,
            PacketType::Connect | PacketType::Disconnect | PacketType::ConnectError
        ) {
            return Err(err(
                i,
                format!("a {} packet cannot carry an ack id", p.kind.name()),
            ));
        }
        p.ack_id = Some(id);
        p.ack_id_range = Some(i..end);
        i = end;
    }

    // Payload: the rest, as JSON.
    let rest = &bytes[i..];
    if !rest.is_empty() {
        let v: Json = serde_json::from_slice(rest).map_err(|e| {
            err(
                i + json_error_offset(rest, &e),
                format!("the payload must be JSON, but {e}"),
            )
        })?;
        p.payload = Some(v);
        p.payload_range = Some(i..bytes.len());
    }

    // The payload each type must have (as the reference implementation checks it).
    let ok = match (p.kind, &p.payload) {
        (PacketType::Connect, None | Some(Json::Object(_))) => true,
        (PacketType::Disconnect, None) => true,
        (PacketType::ConnectError, Some(Json::Object(_) | Json::String(_))) => true,
        (PacketType::Ack | PacketType::BinaryAck, Some(Json::Array(_))) => true,
        (PacketType::Event | PacketType::BinaryEvent, Some(Json::Array(a))) => {
            matches!(a.first(), Some(Json::String(_) | Json::Number(_)))
        }
        _ => false,
    };
    if !ok {
        let rule = match p.kind {
            PacketType::Connect => "a CONNECT payload must be a JSON object or nothing",
            PacketType::Disconnect => "a DISCONNECT packet has no payload",
            PacketType::ConnectError => "a CONNECT_ERROR payload must be an object or a string",
            PacketType::Ack | PacketType::BinaryAck => "an ACK payload must be a JSON array",
            _ => "an EVENT payload must be a JSON array whose first element is the event name",
        };
        return Err(err(i, rule));
    }
    if p.kind.is_event() {
        if let Some(Json::Array(a)) = &p.payload {
            p.event = a.first().map(|n| match n {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            });
        }
        p.event_range = first_element(bytes, i);
    }
    Ok(())
}

/// Read decimal digits from `at`: the number (`None` if it overflows) and where they end.
fn digits(bytes: &[u8], at: usize) -> (Option<u64>, usize) {
    let mut n: Option<u64> = Some(0);
    let mut i = at;
    while let Some(&b) = bytes.get(i) {
        if !b.is_ascii_digit() {
            break;
        }
        n = n
            .and_then(|n| n.checked_mul(10))
            .and_then(|n| n.checked_add((b - b'0') as u64));
        i += 1;
    }
    (n, i)
}

/// Where serde_json's error points, as a byte offset (it counts lines and columns).
fn json_error_offset(text: &[u8], e: &serde_json::Error) -> usize {
    let (line, col) = (e.line(), e.column());
    if line == 0 {
        return 0;
    }
    let mut at = 0;
    for _ in 1..line {
        match text[at..].iter().position(|&b| b == b'\n') {
            Some(k) => at += k + 1,
            None => break,
        }
    }
    (at + col.saturating_sub(1)).min(text.len())
}

/// The byte range of the first element of the JSON array starting at `at`, if it is a string
/// or a number (the event name).
fn first_element(bytes: &[u8], at: usize) -> Option<Range<usize>> {
    let mut i = at;
    if bytes.get(i) != Some(&b'[') {
        return None;
    }
    i += 1;
    while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    let start = i;
    if bytes.get(i) == Some(&b'"') {
        i += 1;
        loop {
            match bytes.get(i)? {
                b'\\' => i += 2,
                b'"' => return Some(start..i + 1),
                _ => i += 1,
            }
        }
    }
    while bytes
        .get(i)
        .is_some_and(|b| b.is_ascii_digit() || b"+-.eE".contains(b))
    {
        i += 1;
    }
    (i > start).then_some(start..i)
}

const EXPLAIN_TYPE: &str = "Socket.IO's packet type: 0 connect, 1 disconnect, 2 event, 3 ack, 4 connect error, 5 binary event, 6 binary ack.";
const EXPLAIN_ATTACHMENTS: &str = "How many binary attachments follow this packet as their own messages; each argument they replace is a {\"_placeholder\":true,\"num\":N} object.";
const EXPLAIN_NAMESPACE: &str = "Which namespace (a channel inside the one connection) the packet belongs to; / when not written.";
const EXPLAIN_ACK_ID: &str = "On an event: the sender wants an answer and numbered this request. On an ack: the number of the event it answers.";
const EXPLAIN_EVENT: &str = "The event's name, the first element of the payload array: what the receiver's handler is registered under.";
const EXPLAIN_ARGS: &str =
    "The arguments, as JSON: what the sender passed after the event name (or as the ack's answer).";
const EXPLAIN_CONNECT_DATA: &str = "Handshake data, not event arguments (Socket.IO protocol v5): from the server, the socket id (sid) it gave this client in this namespace; from the client, an optional auth object such as a token.";
const EXPLAIN_CONNECT_ERROR: &str =
    "Why the server refused the connection to this namespace, usually an object with a message.";

/// Dissect one Socket.IO packet into `cx` as a [`Proto::SocketIo`] layer. `bytes` are the
/// packet (after Engine.IO's `4`); `base` is where its first byte sits in the frame.
pub fn dissect(cx: &mut Cx, bytes: &[u8], base: usize) {
    cx.begin(Proto::SocketIo, base);
    let mut p = Packet::new(PacketType::Connect);
    let result = parse_into(bytes, &mut p);
    if bytes
        .first()
        .and_then(|&b| PacketType::from_char(b))
        .is_some()
    {
        cx.add(
            "sio.type",
            "Type",
            base,
            1,
            Value::Uint(p.kind.code() as u64),
            EXPLAIN_TYPE,
        );
        cx.meaning(p.kind.name());
        if let (Some(n), Some(r)) = (p.attachments, &p.attachments_range) {
            cx.add(
                "sio.attachments",
                "Binary attachments",
                base + r.start,
                r.len(),
                Value::Uint(n),
                EXPLAIN_ATTACHMENTS,
            );
        }
        let (ns_at, ns_len) = p
            .namespace_range
            .as_ref()
            .map(|r| (base + r.start, r.len()))
            .unwrap_or((base, 0));
        cx.add(
            "sio.namespace",
            "Namespace",
            ns_at,
            ns_len,
            Value::Text(p.namespace.clone()),
            EXPLAIN_NAMESPACE,
        );
        if let (Some(id), Some(r)) = (p.ack_id, &p.ack_id_range) {
            cx.add(
                "sio.ack_id",
                "Ack id",
                base + r.start,
                r.len(),
                Value::Uint(id),
                EXPLAIN_ACK_ID,
            );
        }
        if let (Some(ev), Some(r)) = (&p.event, &p.event_range) {
            cx.add(
                "sio.event",
                "Event",
                base + r.start,
                r.len(),
                Value::Text(ev.clone()),
                EXPLAIN_EVENT,
            );
        }
        if let (Some(v), Some(r)) = (&p.payload, &p.payload_range) {
            let shown = if p.kind.is_event() || p.kind.is_ack() {
                Json::Array(p.args().to_vec()).to_string()
            } else {
                v.to_string()
            };
            cx.add(
                "sio.args",
                if p.kind.is_event() || p.kind.is_ack() {
                    "Arguments"
                } else {
                    "Payload"
                },
                base + r.start,
                r.len(),
                Value::Text(shown),
                match p.kind {
                    PacketType::Connect => EXPLAIN_CONNECT_DATA,
                    PacketType::ConnectError => EXPLAIN_CONNECT_ERROR,
                    _ => EXPLAIN_ARGS,
                },
            );
        }
    }
    if let Err(e) = result {
        cx.problem(ProblemKind::Malformed, base + e.at, e.message);
    }
    cx.set_len(bytes.len());
}

/// The layer's heading: `Socket.IO EVENT "chat" ack=1 ["hi"]`, `Socket.IO CONNECT /admin`.
pub fn describe(d: &Dissection, layer: &Layer) -> String {
    let text = |name: &str| match d.layer_field(layer, name).map(|f| &f.value) {
        Some(Value::Text(t)) => Some(t.clone()),
        _ => None,
    };
    let mut s = format!(
        "Socket.IO {}",
        d.layer_field(layer, "sio.type")
            .map(|f| f.meaning.to_string())
            .unwrap_or_else(|| "(bad packet)".into())
    );
    if let Some(ns) = text("sio.namespace").filter(|n| n != "/") {
        let _ = write!(s, " {ns}");
    }
    if let Some(ev) = text("sio.event") {
        let _ = write!(s, " {ev:?}");
    }
    if let Some(id) = d
        .layer_field(layer, "sio.ack_id")
        .and_then(|f| f.value.as_u64())
    {
        let _ = write!(s, " ack={id}");
    }
    if let Some(args) = text("sio.args") {
        let short: String = args.chars().take(60).collect();
        s.push(' ');
        s.push_str(&short);
        if short.len() < args.len() {
            s.push('…');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_event_with_ack() {
        let p = parse(br#"21["ping","hello"]"#).unwrap();
        assert_eq!(p.kind, PacketType::Event);
        assert_eq!(p.ack_id, Some(1));
        assert_eq!(p.ack_id_range, Some(1..2));
        assert_eq!(p.event.as_deref(), Some("ping"));
        assert_eq!(p.event_range, Some(3..9));
        assert_eq!(p.args(), &[json!("hello")]);
    }

    #[test]
    fn parse_namespace_and_binary() {
        let p = parse(br#"51-/admin,3["up",{"_placeholder":true,"num":0}]"#).unwrap();
        assert_eq!(p.attachments, Some(1));
        assert_eq!(p.namespace, "/admin");
        assert_eq!(p.namespace_range, Some(3..9));
        assert_eq!(p.ack_id, Some(3));
        assert_eq!(p.event.as_deref(), Some("up"));
    }

    #[test]
    fn parse_connect_forms() {
        assert_eq!(parse(b"0").unwrap().payload, None);
        let p = parse(br#"0{"sid":"abc"}"#).unwrap();
        assert!(p.explain().contains("abc"));
        let p = parse(b"0/chat,").unwrap();
        assert_eq!(p.namespace, "/chat");
        assert_eq!(parse(b"1").unwrap().kind, PacketType::Disconnect);
    }

    #[test]
    fn parse_rejects_broken_packets() {
        assert_eq!(parse(b"").unwrap_err().at, 0);
        assert_eq!(parse(b"9").unwrap_err().at, 0);
        assert_eq!(parse(b"2[1,x]").unwrap_err().at, 4);
        assert!(parse(br#"2{"a":1}"#).unwrap_err().message.contains("array"));
        assert!(parse(b"2[]").is_err());
        assert!(parse(b"2[true]").is_err());
        assert!(
            parse(b"5[\"a\"]")
                .unwrap_err()
                .message
                .contains("attachment")
        );
        assert!(parse(b"299999999999999999999999[\"a\"]").is_err());
        assert!(parse(b"01").is_err());
    }

    #[test]
    fn encode_round_trips() {
        let p = Packet::event("chat", &[json!("hi"), json!({"n": 1})], Some(7));
        let text = p.encode();
        assert_eq!(text, r#"27["chat","hi",{"n":1}]"#);
        let back = parse(text.as_bytes()).unwrap();
        assert_eq!(back.event.as_deref(), Some("chat"));
        assert_eq!(back.args(), p.args());
        assert_eq!(Packet::ack(7, &[json!("ok")]).encode(), r#"37["ok"]"#);
    }

    #[test]
    fn dissect_records_problem_and_keeps_what_was_read() {
        let mut d = Dissection::default();
        let mut cx = Cx::new(&mut d);
        dissect(&mut cx, b"2/ns,12{oops", 100);
        assert_eq!(d.field("sio.type").unwrap().at, 100);
        assert_eq!(d.uint("sio.ack_id"), Some(12));
        assert!(d.is_malformed());
        // The JSON breaks at the 'o' of {oops.
        assert_eq!(d.problems[0].at, 108);
    }
}
