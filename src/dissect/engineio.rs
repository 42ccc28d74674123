//! Engine.IO v4, the transport under Socket.IO.
//!
//! # The idea
//!
//! A browser cannot always open a WebSocket (old proxies, strict firewalls), so Socket.IO does
//! not speak to the network itself: it hands its messages to *Engine.IO*, which keeps one
//! logical session alive over whichever transport works. Either
//!
//! * **HTTP long-polling**: the client keeps a `GET` open until the server has something to
//!   say, and sends with `POST`. One HTTP body can hold several packets, separated by the
//!   byte `0x1e` (the ASCII "record separator", which never occurs in JSON text); or
//! * **WebSocket**: each packet is exactly one WebSocket message.
//!
//! Every Engine.IO packet is one character naming its type, then its data:
//!
//! | char | type    | what it does                                                        |
//! |------|---------|---------------------------------------------------------------------|
//! | `0`  | open    | server → client, first: the session id, ping timing, size limit (JSON) |
//! | `1`  | close   | either side ends the session                                        |
//! | `2`  | ping    | server → client: "are you still there?" (`2probe` tests a new transport) |
//! | `3`  | pong    | client → server: "yes" (`3probe` answers the probe)                 |
//! | `4`  | message | the payload: here, one Socket.IO packet                             |
//! | `5`  | upgrade | client → server: switch this session to the transport just probed   |
//! | `6`  | noop    | nothing; used to release a pending poll during an upgrade           |
//!
//! Binary data travels as a WebSocket *binary* message (the bytes as they are), or in a
//! polling body as `b` followed by the bytes in base64.
//!
//! So `42["chat","hi"]` reads: Engine.IO `4` (message), carrying the Socket.IO packet
//! `2["chat","hi"]` (see [`super::socketio`]).
//!
//! # Where these bytes come from
//!
//! Engine.IO lives inside a byte stream (a WebSocket message or an HTTP body), not directly
//! in a frame. The functions here take that payload as a slice plus a `base`: the offset where
//! the payload's first byte sits in the frame. Every field they record is placed at
//! `base + offset`, so once a WebSocket message is tied to the TCP segment that carried it the
//! fields land on the right bytes of the hex view. Values are stored as text and numbers, not
//! as references into the frame, because a client's WebSocket payload is masked on the wire.
//!
//! The parsing never panics: every read is checked, every rule broken becomes a
//! [`Problem`](super::model::Problem), and what was read before it is kept.

use std::fmt::Write as _;
use std::ops::Range;

use super::cx::Cx;
use super::model::{Dissection, Layer, ProblemKind, Proto, Value};
use super::socketio;

/// The byte that separates packets in an HTTP long-polling body.
pub const RECORD_SEPARATOR: u8 = 0x1e;

/// The seven Engine.IO packet types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketType {
    Open,
    Close,
    Ping,
    Pong,
    Message,
    Upgrade,
    Noop,
}

impl PacketType {
    /// The type named by the packet's first character, if it is one of `0`..`6`.
    pub fn from_char(c: u8) -> Option<PacketType> {
        Some(match c {
            b'0' => PacketType::Open,
            b'1' => PacketType::Close,
            b'2' => PacketType::Ping,
            b'3' => PacketType::Pong,
            b'4' => PacketType::Message,
            b'5' => PacketType::Upgrade,
            b'6' => PacketType::Noop,
            _ => return None,
        })
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            PacketType::Open => "open",
            PacketType::Close => "close",
            PacketType::Ping => "ping",
            PacketType::Pong => "pong",
            PacketType::Message => "message",
            PacketType::Upgrade => "upgrade",
            PacketType::Noop => "noop",
        }
    }
}

/// Which transport carried the bytes: it decides how packets are delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// One WebSocket text message: exactly one packet.
    WebSocketText,
    /// One WebSocket binary message: one packet of raw binary data (a Socket.IO attachment).
    WebSocketBinary,
    /// An HTTP long-polling body: packets separated by `0x1e`.
    Polling,
}

/// One Engine.IO packet, with every range counted from the start of the payload given to the
/// parser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// The whole packet.
    pub range: Range<usize>,
    /// The packet type, or `None` if the first character is not `0`..`6` (then `range` holds
    /// the bad packet and `data` is empty).
    pub kind: Option<PacketType>,
    /// True for binary data: a WebSocket binary message, or a polling packet starting `b`.
    pub binary: bool,
    /// The packet's data: everything after the type character (after `b` for binary polling
    /// packets, still base64 there).
    pub data: Range<usize>,
}

/// A rule an Engine.IO payload broke, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseProblem {
    pub at: usize,
    pub kind: ProblemKind,
    pub message: String,
}

/// Split a payload into Engine.IO packets. Never panics; every packet that can be delimited is
/// returned, with a problem for each one that breaks a rule.
pub fn split(payload: &[u8], transport: Transport) -> (Vec<Packet>, Vec<ParseProblem>) {
    let mut packets = Vec::new();
    let mut problems = Vec::new();
    match transport {
        Transport::WebSocketBinary => packets.push(Packet {
            range: 0..payload.len(),
            kind: Some(PacketType::Message),
            binary: true,
            data: 0..payload.len(),
        }),
        Transport::WebSocketText => one_packet(
            payload,
            0,
            payload.len(),
            false,
            &mut packets,
            &mut problems,
        ),
        Transport::Polling => {
            let mut start = 0;
            loop {
                let end = payload[start..]
                    .iter()
                    .position(|&b| b == RECORD_SEPARATOR)
                    .map(|i| start + i)
                    .unwrap_or(payload.len());
                one_packet(payload, start, end, true, &mut packets, &mut problems);
                if end >= payload.len() {
                    break;
                }
                start = end + 1;
            }
        }
    }
    (packets, problems)
}

fn one_packet(
    payload: &[u8],
    start: usize,
    end: usize,
    polling: bool,
    packets: &mut Vec<Packet>,
    problems: &mut Vec<ParseProblem>,
) {
    let Some(&first) = payload.get(start).filter(|_| start < end) else {
        problems.push(ParseProblem {
            at: start,
            kind: ProblemKind::Malformed,
            message: "an Engine.IO packet must have at least its type character (0-6), but this one is empty".into(),
        });
        return;
    };
    if polling && first == b'b' {
        packets.push(Packet {
            range: start..end,
            kind: Some(PacketType::Message),
            binary: true,
            data: start + 1..end,
        });
        return;
    }
    let kind = PacketType::from_char(first);
    if kind.is_none() {
        problems.push(ParseProblem {
            at: start,
            kind: ProblemKind::Malformed,
            message: format!(
                "an Engine.IO packet must start with a type character 0-6{}, but this one starts with {}",
                if polling { " (or b for binary)" } else { "" },
                show_byte(first)
            ),
        });
    }
    packets.push(Packet {
        range: start..end,
        kind,
        binary: false,
        data: if kind.is_some() {
            start + 1..end
        } else {
            end..end
        },
    });
}

/// A byte written so a learner can see what it was: `'x'` for printable ASCII, `0x1f` otherwise.
pub fn show_byte(b: u8) -> String {
    if b.is_ascii_graphic() || b == b' ' {
        format!("'{}'", b as char)
    } else {
        format!("0x{b:02x}")
    }
}

/// The fields of the open packet's JSON (the handshake).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Handshake {
    pub sid: Option<String>,
    pub upgrades: Vec<String>,
    pub ping_interval: Option<u64>,
    pub ping_timeout: Option<u64>,
    pub max_payload: Option<u64>,
}

/// Read the JSON of an open packet. `Err` says what is wrong with it.
pub fn handshake(data: &[u8]) -> Result<Handshake, String> {
    let v: serde_json::Value = serde_json::from_slice(data)
        .map_err(|e| format!("the open packet's data must be JSON, but {e}"))?;
    let obj = v
        .as_object()
        .ok_or("the open packet's data must be a JSON object")?;
    Ok(Handshake {
        sid: obj.get("sid").and_then(|s| s.as_str()).map(str::to_owned),
        upgrades: obj
            .get("upgrades")
            .and_then(|u| u.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        ping_interval: obj.get("pingInterval").and_then(|n| n.as_u64()),
        ping_timeout: obj.get("pingTimeout").and_then(|n| n.as_u64()),
        max_payload: obj.get("maxPayload").and_then(|n| n.as_u64()),
    })
}

const EXPLAIN_TYPE: &str = "Engine.IO's packet type, one character: 0 open, 1 close, 2 ping, 3 pong, 4 message (carries Socket.IO), 5 upgrade, 6 noop.";
const EXPLAIN_SID: &str = "The Engine.IO session id. With long-polling every request carries it, so it must stay secret and be hard to guess.";
const EXPLAIN_PING_INTERVAL: &str =
    "How often (milliseconds) the server sends a ping to check that the client is still there.";
const EXPLAIN_PING_TIMEOUT: &str =
    "How long (milliseconds) the server waits for the pong before it gives the client up.";
const EXPLAIN_MAX_PAYLOAD: &str =
    "The largest payload (bytes) the server accepts in one go; bigger ones close the session.";
const EXPLAIN_UPGRADES: &str =
    "Transports the client may upgrade to from this one (empty when already on WebSocket).";
const EXPLAIN_DATA: &str = "The packet's data after the type character (\"probe\" in a ping or pong tests a new transport).";
const EXPLAIN_BINARY: &str = "Raw binary data: a Socket.IO attachment, announced by a binary event or ack packet just before it.";

/// Dissect an Engine.IO payload into `cx`: one [`Proto::EngineIo`] layer per packet, each
/// message followed by its [`Proto::SocketIo`] layer. `payload` holds the (unmasked) bytes;
/// `base` is where its first byte sits in the frame.
pub fn dissect(cx: &mut Cx, payload: &[u8], base: usize, transport: Transport) {
    let (packets, problems) = split(payload, transport);
    let mut problems = problems.into_iter().peekable();
    for p in &packets {
        cx.begin(Proto::EngineIo, base + p.range.start);
        let layer = cx.d.layers.len() - 1;
        // Problems found while splitting belong to the packet they are in.
        while let Some(pr) = problems.next_if(|pr| pr.at < p.range.end.max(p.range.start + 1)) {
            cx.problem(pr.kind, base + pr.at, pr.message);
        }
        dissect_packet(cx, payload, base, p);
        // The packet's own layer (a message packet has added its Socket.IO layer after it).
        cx.d.layers[layer].len = p.range.len() as u32;
    }
    for pr in problems {
        cx.begin(Proto::EngineIo, base + pr.at);
        cx.problem(pr.kind, base + pr.at, pr.message);
    }
}

fn dissect_packet(cx: &mut Cx, payload: &[u8], base: usize, p: &Packet) {
    let data = payload.get(p.data.clone()).unwrap_or(&[]);
    if p.binary {
        let type_len = p.data.start - p.range.start;
        cx.add(
            "eio.type",
            "Type",
            base + p.range.start,
            type_len,
            Value::Uint(4),
            EXPLAIN_TYPE,
        );
        cx.meaning(if type_len == 0 {
            "message (binary WebSocket message)"
        } else {
            "message (b: binary data in base64)"
        });
        let len = if type_len == 0 {
            data.len()
        } else {
            use base64::Engine;
            match base64::engine::general_purpose::STANDARD.decode(data) {
                Ok(bytes) => bytes.len(),
                Err(e) => {
                    cx.problem(
                        ProblemKind::Malformed,
                        base + p.data.start,
                        format!("binary data in a polling body must be base64, but {e}"),
                    );
                    return;
                }
            }
        };
        cx.add(
            "eio.binary_len",
            "Binary data length",
            base + p.data.start,
            p.data.len(),
            Value::Uint(len as u64),
            EXPLAIN_BINARY,
        );
        return;
    }
    let Some(kind) = p.kind else {
        return;
    };
    cx.add(
        "eio.type",
        "Type",
        base + p.range.start,
        1,
        Value::Uint(kind.code() as u64),
        EXPLAIN_TYPE,
    );
    cx.meaning(kind.name());
    let at = base + p.data.start;
    match kind {
        PacketType::Open => match handshake(data) {
            Ok(h) => {
                let n = p.data.len();
                if let Some(sid) = h.sid {
                    cx.add(
                        "eio.sid",
                        "Session id",
                        at,
                        n,
                        Value::Text(sid),
                        EXPLAIN_SID,
                    );
                }
                cx.add(
                    "eio.upgrades",
                    "Upgrades",
                    at,
                    n,
                    Value::Text(h.upgrades.join(",")),
                    EXPLAIN_UPGRADES,
                );
                for (name, label, v, explain) in [
                    (
                        "eio.ping_interval",
                        "Ping interval",
                        h.ping_interval,
                        EXPLAIN_PING_INTERVAL,
                    ),
                    (
                        "eio.ping_timeout",
                        "Ping timeout",
                        h.ping_timeout,
                        EXPLAIN_PING_TIMEOUT,
                    ),
                    (
                        "eio.max_payload",
                        "Max payload",
                        h.max_payload,
                        EXPLAIN_MAX_PAYLOAD,
                    ),
                ] {
                    if let Some(v) = v {
                        cx.add(name, label, at, n, Value::Uint(v), explain);
                    }
                }
            }
            Err(e) => cx.problem(ProblemKind::Malformed, at, e),
        },
        PacketType::Message => socketio::dissect(cx, data, at),
        _ => {
            if !data.is_empty() {
                cx.add(
                    "eio.data",
                    "Data",
                    at,
                    data.len(),
                    Value::Text(String::from_utf8_lossy(data).into_owned()),
                    EXPLAIN_DATA,
                );
            }
        }
    }
}

/// One line a learner can read, saying what a WebSocket text message (one Engine.IO packet,
/// perhaps carrying a Socket.IO packet) means. Used by `wirelab sio connect` beside each raw
/// packet.
pub fn explain(text: &str) -> String {
    let bytes = text.as_bytes();
    let Some(&first) = bytes.first() else {
        return "empty message: not an Engine.IO packet".into();
    };
    let Some(kind) = PacketType::from_char(first) else {
        return format!(
            "not an Engine.IO packet: the first character must be 0-6, not {}",
            show_byte(first)
        );
    };
    let data = &text[1..];
    match kind {
        PacketType::Open => match handshake(data.as_bytes()) {
            Ok(h) => format!(
                "Engine.IO OPEN: session id {}, ping every {} ms, answer within {} ms, max payload {} bytes, upgrades [{}]",
                h.sid.as_deref().unwrap_or("(none)"),
                opt(h.ping_interval),
                opt(h.ping_timeout),
                opt(h.max_payload),
                h.upgrades.join(", ")
            ),
            Err(e) => format!("Engine.IO OPEN, but {e}"),
        },
        PacketType::Close => "Engine.IO CLOSE: the session ends".into(),
        PacketType::Ping if data == "probe" => {
            "Engine.IO PING probe: is this new transport working?".into()
        }
        PacketType::Ping => "Engine.IO PING: the server checks the client is still there".into(),
        PacketType::Pong if data == "probe" => {
            "Engine.IO PONG probe: the new transport works".into()
        }
        PacketType::Pong => "Engine.IO PONG: the answer to a ping".into(),
        PacketType::Upgrade => "Engine.IO UPGRADE: use the probed transport from now on".into(),
        PacketType::Noop => "Engine.IO NOOP: nothing (frees a pending poll)".into(),
        PacketType::Message => match socketio::parse(data.as_bytes()) {
            Ok(p) => format!("Engine.IO MESSAGE › {}", p.explain()),
            Err(e) => format!("Engine.IO MESSAGE › malformed Socket.IO packet: {e}"),
        },
    }
}

/// The layer's heading in the summary and the layer tree: `Engine.IO message`,
/// `Engine.IO open sid=…`.
pub fn describe(d: &Dissection, layer: &Layer) -> String {
    let ty = d.layer_field(layer, "eio.type");
    let mut s = format!(
        "Engine.IO {}",
        ty.map(|f| f.meaning.to_string())
            .unwrap_or_else(|| "(bad packet)".into())
    );
    if let Some(Value::Text(sid)) = d.layer_field(layer, "eio.sid").map(|f| &f.value) {
        let _ = write!(s, " sid={sid}");
    }
    if let Some(n) = d
        .layer_field(layer, "eio.binary_len")
        .and_then(|f| f.value.as_u64())
    {
        let _ = write!(s, " {n} bytes");
    }
    if let Some(Value::Text(t)) = d.layer_field(layer, "eio.data").map(|f| &f.value) {
        let _ = write!(s, " {t:?}");
    }
    s
}

fn opt(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(payload: &[u8], base: usize, t: Transport) -> Dissection {
        let mut d = Dissection {
            data: vec![0; base],
            ..Dissection::default()
        };
        d.data.extend_from_slice(payload);
        let mut cx = Cx::new(&mut d);
        dissect(&mut cx, payload, base, t);
        d
    }

    #[test]
    fn split_polling_body() {
        let body = b"42[\"a\"]\x1e2\x1e40";
        let (p, problems) = split(body, Transport::Polling);
        assert!(problems.is_empty());
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].range, 0..7);
        assert_eq!(p[1].kind, Some(PacketType::Ping));
        assert_eq!(p[2].range, 10..12);
    }

    #[test]
    fn split_reports_empty_and_bad_packets() {
        let (p, problems) = split(b"\x1e9x", Transport::Polling);
        assert_eq!(problems.len(), 2);
        assert_eq!(problems[0].at, 0);
        assert_eq!(problems[1].at, 1);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].kind, None);
    }

    #[test]
    fn dissect_open_packet_with_base() {
        let open = br#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        let d = run(open, 10, Transport::WebSocketText);
        let ty = d.field("eio.type").unwrap();
        assert_eq!(ty.at, 10);
        assert_eq!(ty.value, Value::Uint(0));
        assert_eq!(d.field("eio.sid").unwrap().value, Value::Text("abc".into()));
        assert_eq!(d.uint("eio.ping_interval"), Some(25000));
        assert_eq!(d.uint("eio.max_payload"), Some(1_000_000));
        assert!(d.problems.is_empty());
    }

    #[test]
    fn dissect_message_carries_socketio() {
        let d = run(b"421[\"ping\",1]", 4, Transport::WebSocketText);
        assert_eq!(d.protocols(), "eio:sio");
        assert_eq!(
            d.field("sio.event").unwrap().value,
            Value::Text("ping".into())
        );
        assert_eq!(d.uint("sio.ack_id"), Some(1));
        // "421[" : the ack id "1" is the third byte of the payload.
        assert_eq!(d.field("sio.ack_id").unwrap().at, 4 + 2);
        assert_eq!(describe(&d, &d.layers[0]), "Engine.IO message");
        assert_eq!(
            crate::dissect::socketio::describe(&d, &d.layers[1]),
            "Socket.IO EVENT \"ping\" ack=1 [1]"
        );
    }

    #[test]
    fn dissect_binary_polling_packet() {
        let d = run(b"bAQID", 0, Transport::Polling);
        assert_eq!(d.uint("eio.binary_len"), Some(3));
        let d = run(b"b!!", 0, Transport::Polling);
        assert!(d.is_malformed());
    }

    #[test]
    fn explain_common_packets() {
        assert!(explain("2").contains("PING"));
        assert!(explain("3probe").contains("PONG probe"));
        assert!(explain("42[\"chat\",\"hi\"]").contains("\"chat\""));
        assert!(explain("").contains("empty"));
        assert!(explain("x").contains("'x'"));
    }
}
