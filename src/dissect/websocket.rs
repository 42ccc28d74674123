//! WebSocket frames (RFC 6455 § 5).
//!
//! # The idea
//!
//! A WebSocket is a TCP connection that started as an HTTP request ([`super::http`]) and was
//! then *upgraded*: after the server's `101 Switching Protocols`, both sides may send at any
//! moment (full duplex), and what they send is no longer HTTP but a sequence of *frames*.
//! TCP only delivers a stream of bytes; the frame header is how the receiver finds where one
//! message ends and the next begins.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! | Masking-key (continued)       |          Payload Data         |
//! +-------------------------------- - - - - - - - - - - - - - - - +
//! ```
//!
//! * **FIN**: this frame is the last of its message (a message may be split into fragments:
//!   a first frame with FIN=0, then *continuation* frames, the last with FIN=1).
//! * **RSV1–3**: reserved for extensions; 0 unless one was agreed in the handshake
//!   (permessage-deflate sets RSV1 on compressed messages).
//! * **opcode**: 1 text, 2 binary, 0 continuation; 8 close, 9 ping, 10 pong (the *control*
//!   frames, at most 125 bytes and never fragmented).
//! * **payload length** in three sizes: 0–125 fits in the 7 bits; 126 means "the real length
//!   is in the next 16 bits"; 127 means "in the next 64 bits".
//! * **MASK** and the **masking key**: every frame from client to server is masked: its
//!   payload is XORed with four random bytes, repeated. It is not secrecy (the key is right
//!   there); it keeps a browser's data from looking like something a confused proxy might
//!   cache (RFC 6455 § 10.3). Servers never mask.
//!
//! # In the engine
//!
//! Frames live in the TCP byte stream. [`parse_head`] reads one header from the start of a
//! buffer with tungstenite's [`FrameHeader::parse`] (the same code the `ws` commands use to
//! talk) and says "need more bytes" where the buffer stops short; [`frame_fields`] turns a
//! frame into [`Field`]s with Wireshark's names, unmasking the payload itself (that is the
//! lesson); [`dissect_conversation`] finds the HTTP Upgrade in the two directions of a
//! reassembled TCP connection and then walks the frames, saying which packet completed each.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Cursor;
use std::ops::Range;

use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;

use super::http;
use super::model::{Dissection, Field, Layer, Problem, ProblemKind, Proto, Value};

/// The fixed string a server appends to the client's key before hashing (RFC 6455 § 1.3).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The longest header: 2 bytes, 8 of extended length, 4 of masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// Control frames may carry at most this many payload bytes (RFC 6455 § 5.5).
pub const MAX_CONTROL_PAYLOAD: u64 = 125;

/// Payload values (text, hex) are cut after this many bytes, so a 16 MiB frame does not
/// become a 32 MiB string.
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// One frame header, as read from the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHead {
    pub fin: bool,
    /// The three reserved bits, RSV1 the highest (0–7).
    pub rsv: u8,
    pub opcode: u8,
    pub masked: bool,
    /// The 7-bit length field as sent: the length itself, or 126 / 127.
    pub len7: u8,
    /// The payload length, wherever it was written.
    pub payload_len: u64,
    pub mask: Option<[u8; 4]>,
    /// Bytes of header: 2 to 14.
    pub header_len: usize,
}

impl FrameHead {
    /// Header plus payload.
    pub fn frame_len(&self) -> u64 {
        (self.header_len as u64).saturating_add(self.payload_len)
    }

    /// Close, ping and pong (opcodes 8 and up) are control frames.
    pub fn is_control(&self) -> bool {
        self.opcode >= 8
    }
}

/// The result of trying to read a header from the start of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadParse {
    Head(FrameHead),
    /// The buffer ends inside the header; at least this many bytes are needed in all.
    NeedMore(usize),
}

/// How many header bytes the first two bytes announce (2 when fewer than 2 are there).
fn header_len_from(buf: &[u8]) -> usize {
    if buf.len() < 2 {
        return 2;
    }
    let ext = match buf[1] & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + ext + if buf[1] & 0x80 != 0 { 4 } else { 0 }
}

/// Read one frame header from the start of `buf`.
///
/// Uses tungstenite's [`FrameHeader::parse`]. tungstenite refuses a reserved opcode (3–7,
/// 11–15) outright, because a talking endpoint must; a dissector must still show such a frame
/// and find the next one, so the header is parsed again with the opcode bits masked, and the
/// real opcode kept.
///
/// ```
/// use wirelab::dissect::websocket::{parse_head, HeadParse};
/// // A masked text frame of 5 bytes: FIN + opcode 1, MASK + length 5, a key.
/// let bytes = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d];
/// let HeadParse::Head(h) = parse_head(&bytes) else { panic!() };
/// assert_eq!((h.opcode, h.payload_len, h.header_len), (1, 5, 6));
/// assert_eq!(parse_head(&bytes[..3]), HeadParse::NeedMore(6));
/// ```
pub fn parse_head(buf: &[u8]) -> HeadParse {
    let need = header_len_from(buf);
    if buf.len() < need {
        return HeadParse::NeedMore(need);
    }
    let mut cursor = Cursor::new(&buf[..need]);
    let parsed = match FrameHeader::parse(&mut cursor) {
        Err(WsError::Protocol(ProtocolError::InvalidOpcode(_))) => {
            // Parse the same bytes with a valid opcode, to read the rest of the header.
            let mut copy = [0u8; MAX_HEADER_LEN];
            copy[..need].copy_from_slice(&buf[..need]);
            copy[0] = (copy[0] & 0xf0) | 0x2;
            FrameHeader::parse(&mut Cursor::new(&copy[..need]))
        }
        other => other,
    };
    match parsed {
        Ok(Some((h, len))) => HeadParse::Head(FrameHead {
            fin: h.is_final,
            rsv: (buf[0] >> 4) & 0x7,
            opcode: buf[0] & 0x0f,
            masked: h.mask.is_some(),
            len7: buf[1] & 0x7f,
            payload_len: len,
            mask: h.mask,
            header_len: need,
        }),
        // Cannot happen with `need` bytes in hand, and other errors are I/O errors of a
        // cursor: either way, ask for more rather than guess.
        Ok(None) | Err(_) => HeadParse::NeedMore(need + 1),
    }
}

/// XOR `payload` with the masking key, byte `i` with key byte `i % 4`. `offset` is the
/// position of `payload[0]` within the frame's payload (for a payload read in pieces).
/// Masking and unmasking are the same operation.
pub fn unmask(payload: &mut [u8], key: [u8; 4], offset: u64) {
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= key[((offset + i as u64) % 4) as usize];
    }
}

/// The name of an opcode.
pub fn opcode_name(op: u8) -> &'static str {
    match op {
        0 => "Continuation",
        1 => "Text",
        2 => "Binary",
        8 => "Close",
        9 => "Ping",
        10 => "Pong",
        3..=7 => "Reserved (data)",
        _ => "Reserved (control)",
    }
}

/// What a close status code means (RFC 6455 § 7.4.1).
pub fn close_code_meaning(code: u16) -> &'static str {
    match code {
        1000 => "Normal closure: the purpose of the connection is fulfilled",
        1001 => "Going away: a server shutting down, a browser leaving the page",
        1002 => "Protocol error",
        1003 => "Unsupported data: a kind of message the endpoint cannot accept",
        1005 => "No status received (never sent on the wire)",
        1006 => "Closed abnormally, without a close frame (never sent on the wire)",
        1007 => "Invalid payload data, such as text that is not UTF-8",
        1008 => "Policy violation",
        1009 => "Message too big",
        1010 => "A required extension was not agreed",
        1011 => "Internal server error",
        1012 => "Service restart",
        1013 => "Try again later",
        1015 => "TLS handshake failure (never sent on the wire)",
        3000..=3999 => "registered with IANA by a library or framework",
        4000..=4999 => "private use, agreed by the application",
        _ => "not a valid close code",
    }
}

/// May this close code appear in a close frame?
pub fn close_code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::new();
    super::model::push_hex(&mut s, bytes, None);
    s
}

/// A field of a frame. Bit fields are masks over byte 0 or byte 1 of the header.
#[allow(clippy::too_many_arguments)]
fn field(
    name: &'static str,
    label: &'static str,
    at: usize,
    len: usize,
    mask: u32,
    value: Value,
    depth: u8,
    explain: &'static str,
) -> Field {
    Field {
        name,
        label,
        value,
        meaning: Cow::Borrowed(""),
        at: at as u32,
        len: len as u32,
        mask,
        depth,
        explain,
    }
}

/// The fields of one frame.
///
/// `frame` holds the frame's bytes from its first header byte on; it may stop short of the
/// end of the payload (a capture that kept only part, or a live view that keeps a preview),
/// in which case the payload fields cover what is there and a problem says what is missing.
/// Ranges are counted from `base`, the offset of `frame[0]` in the caller's buffer.
/// `message_opcode` is the opcode of the message a continuation frame continues, if known
/// (so a text message's later fragments are shown as text).
pub fn frame_fields(
    frame: &[u8],
    head: &FrameHead,
    base: usize,
    message_opcode: Option<u8>,
    fields: &mut Vec<Field>,
    problems: &mut Vec<Problem>,
) {
    frame_fields_with(frame, head, base, message_opcode, false, fields, problems);
}

/// [`frame_fields`], or with `lean` only the fields the one-line summary reads
/// ([`describe_into`]: FIN, opcode, MASK, the lengths and the payload's value), the same
/// problems either way. The masking key, the reserved bits and the payload's byte ranges
/// are left to the detailed views.
pub fn frame_fields_with(
    frame: &[u8],
    head: &FrameHead,
    base: usize,
    message_opcode: Option<u8>,
    lean: bool,
    fields: &mut Vec<Field>,
    problems: &mut Vec<Problem>,
) {
    let problem = |problems: &mut Vec<Problem>, kind, at: usize, message: String| {
        problems.push(Problem {
            kind,
            proto: Proto::WebSocket,
            at: (base + at) as u32,
            message,
        })
    };
    fields.push(field(
        "websocket.fin",
        "FIN",
        base,
        1,
        0x80,
        Value::Bool(head.fin),
        0,
        "1 if this frame ends its message; 0 means more fragments of the same message follow.",
    ));
    if !lean {
        fields.push(field(
            "websocket.rsv",
            "Reserved (RSV1-3)",
            base,
            1,
            0x70,
            Value::Hex {
                value: head.rsv as u64,
                digits: 2,
            },
            0,
            "Three bits for extensions; all 0 unless the handshake agreed an extension (compression sets RSV1).",
        ));
    }
    if head.rsv & 0x4 != 0 && !lean {
        fields.push(field(
            "websocket.pmc",
            "Per-message compressed",
            base,
            1,
            0x40,
            Value::Bool(true),
            1,
            "RSV1 set: with permessage-deflate agreed, the payload is DEFLATE-compressed.",
        ));
    }
    let mut op = field(
        "websocket.opcode",
        "Opcode",
        base,
        1,
        0x0f,
        Value::Uint(head.opcode as u64),
        0,
        "What the frame carries: 1 text, 2 binary, 0 the continuation of a message; 8 close, 9 ping, 10 pong.",
    );
    op.meaning = Cow::Borrowed(opcode_name(head.opcode));
    fields.push(op);
    fields.push(field(
        "websocket.mask",
        "MASK",
        base + 1,
        1,
        0x80,
        Value::Bool(head.masked),
        0,
        "1 if the payload is masked with the key below; every client-to-server frame must be, no server frame may be.",
    ));
    let mut len7 = field(
        "websocket.payload_length",
        "Payload length (7 bits)",
        base + 1,
        1,
        0x7f,
        Value::Uint(head.len7 as u64),
        0,
        "The payload's length if it is 0-125; 126 means 'read a 16-bit length next', 127 'read a 64-bit length next'.",
    );
    match head.len7 {
        126 => len7.meaning = Cow::Borrowed("the length follows in 16 bits"),
        127 => len7.meaning = Cow::Borrowed("the length follows in 64 bits"),
        _ => {}
    }
    fields.push(len7);
    let mut at = 2;
    match head.len7 {
        126 => {
            fields.push(field(
                "websocket.payload_length_ext_16",
                "Extended payload length (16 bits)",
                base + 2,
                2,
                0,
                Value::Uint(head.payload_len),
                0,
                "The payload's length, for 126 to 65,535 bytes.",
            ));
            at += 2;
            if head.payload_len < 126 {
                problem(
                    problems,
                    ProblemKind::Malformed,
                    2,
                    format!(
                        "a length of {} must be sent in the 7-bit field, not the 16-bit one (RFC 6455 § 5.2: the minimal number of bytes)",
                        head.payload_len
                    ),
                );
            }
        }
        127 => {
            fields.push(field(
                "websocket.payload_length_ext_64",
                "Extended payload length (64 bits)",
                base + 2,
                8,
                0,
                Value::Uint(head.payload_len),
                0,
                "The payload's length, for 65,536 bytes and more; the top bit must be 0.",
            ));
            at += 8;
            if head.payload_len >> 63 != 0 {
                problem(
                    problems,
                    ProblemKind::Malformed,
                    2,
                    "the most significant bit of a 64-bit length must be 0 (RFC 6455 § 5.2)".into(),
                );
            } else if head.payload_len <= 0xffff {
                problem(
                    problems,
                    ProblemKind::Malformed,
                    2,
                    format!(
                        "a length of {} must be sent in the 7- or 16-bit field, not the 64-bit one (RFC 6455 § 5.2)",
                        head.payload_len
                    ),
                );
            }
        }
        _ => {}
    }
    if let Some(key) = head.mask {
        let _ = key;
        if !lean {
            fields.push(field(
                "websocket.masking_key",
                "Masking key",
                base + at,
                4,
                0,
                Value::Bytes,
                0,
                "Four random bytes chosen for this frame; payload byte i is XORed with key byte i mod 4.",
            ));
        }
        at += 4;
    }
    debug_assert_eq!(at, head.header_len);

    if head.rsv != 0 {
        problem(
            problems,
            ProblemKind::Malformed,
            0,
            format!(
                "reserved bits are 0x{:x}; they must be 0 unless the handshake agreed an extension",
                head.rsv
            ),
        );
    }
    if matches!(head.opcode, 3..=7 | 11..=15) {
        problem(
            problems,
            ProblemKind::Malformed,
            0,
            format!("opcode {} is reserved; no frame may use it", head.opcode),
        );
    }
    if head.is_control() {
        if head.payload_len > MAX_CONTROL_PAYLOAD {
            problem(
                problems,
                ProblemKind::Malformed,
                1,
                format!(
                    "a control frame may carry at most 125 bytes, this one says {}",
                    head.payload_len
                ),
            );
        }
        if !head.fin {
            problem(
                problems,
                ProblemKind::Malformed,
                0,
                "a control frame may not be fragmented: FIN must be 1".into(),
            );
        }
    }

    // The payload: what was captured of it, unmasked.
    let have = frame.len().saturating_sub(head.header_len) as u64;
    let shown = have.min(head.payload_len) as usize;
    let payload_at = head.header_len;
    let raw = &frame[payload_at.min(frame.len())..payload_at.min(frame.len()) + shown];
    if (shown as u64) < head.payload_len {
        problem(
            problems,
            ProblemKind::Truncated,
            payload_at + shown,
            format!(
                "the payload is {} bytes but only {} are here",
                head.payload_len, shown
            ),
        );
    }
    if head.masked && !lean {
        fields.push(field(
            "websocket.masked_payload",
            "Masked payload",
            base + payload_at,
            shown,
            0,
            Value::Bytes,
            0,
            "The payload as it crossed the network: each byte XORed with the masking key.",
        ));
    }
    if !lean {
        fields.push(field(
            "websocket.payload",
            "Payload",
            base + payload_at,
            shown,
            0,
            Value::None,
            0,
            "The application's data carried by this frame.",
        ));
    }
    let cut = shown.min(MAX_VALUE_BYTES);
    let mut plain = raw[..cut].to_vec();
    if let Some(key) = head.mask {
        unmask(&mut plain, key, 0);
    }
    let effective = if head.opcode == 0 {
        message_opcode.unwrap_or(0)
    } else {
        head.opcode
    };
    let p_at = base + payload_at;
    match head.opcode {
        1 => {
            if !head.fin || shown < head.payload_len as usize {
                // A fragment may end in the middle of a character: show it as it is.
            } else if std::str::from_utf8(&plain).is_err() && head.rsv == 0 {
                problem(
                    problems,
                    ProblemKind::Malformed,
                    payload_at,
                    "a text frame's payload must be UTF-8".into(),
                );
            }
            fields.push(field(
                "websocket.payload.text",
                "Text",
                p_at,
                shown,
                0,
                Value::Text(String::from_utf8_lossy(&plain).into_owned()),
                1,
                "The message's text (UTF-8), after unmasking.",
            ));
        }
        0 => {
            let value = if effective == 1 {
                Value::Text(String::from_utf8_lossy(&plain).into_owned())
            } else {
                Value::Text(hex(&plain))
            };
            fields.push(field(
                "websocket.payload.continue",
                "Continuation",
                p_at,
                shown,
                0,
                value,
                1,
                "More of the message a previous frame began (with FIN=0).",
            ));
        }
        2 => fields.push(field(
            "data.data",
            "Binary data",
            p_at,
            shown,
            0,
            Value::Text(hex(&plain)),
            1,
            "The message's bytes, after unmasking; what they mean is up to the application.",
        )),
        8 => {
            if !lean {
                fields.push(field(
                    "websocket.payload.close",
                    "Close",
                    p_at,
                    shown,
                    0,
                    Value::None,
                    1,
                    "A close frame: the sender will send no more data frames; the other side answers with a close frame too.",
                ));
            }
            if plain.len() >= 2 {
                let code = u16::from_be_bytes([plain[0], plain[1]]);
                let mut f = field(
                    "websocket.payload.close.status_code",
                    "Status code",
                    p_at,
                    2,
                    0,
                    Value::Uint(code as u64),
                    2,
                    "Why the connection closes: 1000 normal, 1001 going away, 1002 protocol error, 1009 message too big…",
                );
                f.meaning = Cow::Borrowed(close_code_meaning(code));
                fields.push(f);
                if !close_code_allowed(code) {
                    problem(
                        problems,
                        ProblemKind::Malformed,
                        payload_at,
                        format!("close code {code} may not be sent in a close frame"),
                    );
                }
                if plain.len() > 2 {
                    let reason = &plain[2..];
                    if std::str::from_utf8(reason).is_err() && shown == head.payload_len as usize
                    {
                        problem(
                            problems,
                            ProblemKind::Malformed,
                            payload_at + 2,
                            "the close reason must be UTF-8".into(),
                        );
                    }
                    fields.push(field(
                        "websocket.payload.close.reason",
                        "Reason",
                        p_at + 2,
                        shown - 2,
                        0,
                        Value::Text(String::from_utf8_lossy(reason).into_owned()),
                        2,
                        "Why, in words for people (UTF-8, may be empty).",
                    ));
                }
            } else if head.payload_len == 1 {
                problem(
                    problems,
                    ProblemKind::Malformed,
                    payload_at,
                    "a close payload must be empty or start with a 2-byte code; this one is 1 byte"
                        .into(),
                );
            }
        }
        9 | 10 => fields.push(field(
            if head.opcode == 9 {
                "websocket.payload.ping"
            } else {
                "websocket.payload.pong"
            },
            if head.opcode == 9 { "Ping" } else { "Pong" },
            p_at,
            shown,
            0,
            Value::Text(hex(&plain)),
            1,
            if head.opcode == 9 {
                "A ping: are you still there? The other side must answer with a pong carrying the same bytes."
            } else {
                "A pong: the answer to a ping, carrying the ping's bytes back."
            },
        )),
        _ if lean => {}
        _ => fields.push(field(
            "websocket.payload.unknown",
            "Unknown",
            p_at,
            shown,
            0,
            Value::Text(hex(&plain)),
            1,
            "The payload of a frame with a reserved opcode.",
        )),
    }
}

/// Build a [`Dissection`] of one frame (its bytes from the header on, maybe a prefix of the
/// payload only), for the views. `wire_len` is the frame's full length.
pub fn frame_dissection(
    d: &mut Dissection,
    number: u64,
    bytes: &[u8],
    head: &FrameHead,
    wire_len: u64,
    message_opcode: Option<u8>,
) {
    d.clear();
    d.number = number;
    d.wire_len = wire_len.min(u32::MAX as u64) as u32;
    d.data.extend_from_slice(bytes);
    let mut fields = Vec::new();
    let mut problems = Vec::new();
    frame_fields(bytes, head, 0, message_opcode, &mut fields, &mut problems);
    // A preview that stops early is not a damaged frame: keep only real problems.
    if (bytes.len() as u64) < wire_len {
        problems.retain(|p| p.kind != ProblemKind::Truncated);
    }
    push_layer(d, Proto::WebSocket, 0, bytes.len(), fields, problems);
}

/// Add a layer with its fields and problems to a dissection.
pub fn push_layer(
    d: &mut Dissection,
    proto: Proto,
    at: usize,
    len: usize,
    fields: Vec<Field>,
    problems: Vec<Problem>,
) {
    let start = d.fields.len() as u32;
    d.fields.extend(fields);
    d.layers.push(Layer {
        proto,
        at: at as u32,
        len: len as u32,
        fields: start..d.fields.len() as u32,
    });
    d.problems.extend(problems);
}

/// One line about a WebSocket layer, appended to `s`: `WebSocket Text [FIN] [MASKED] len=5
/// "Hello"` (see [`crate::dissect::describe_into`]).
pub fn describe_into(d: &Dissection, layer: &Layer, s: &mut String) {
    let get = |n| d.layer_field(layer, n);
    let num = |n| get(n).and_then(|f| f.value.as_u64());
    let Some(op) = num("websocket.opcode") else {
        s.push_str("WebSocket");
        return;
    };
    let len = num("websocket.payload_length_ext_64")
        .or_else(|| num("websocket.payload_length_ext_16"))
        .or_else(|| num("websocket.payload_length"))
        .unwrap_or(0);
    s.push_str("WebSocket ");
    s.push_str(opcode_name(op as u8));
    if num("websocket.fin") == Some(1) {
        s.push_str(" [FIN]");
    } else {
        s.push_str(" [no FIN: more fragments follow]");
    }
    if num("websocket.mask") == Some(1) {
        s.push_str(" [MASKED]");
    }
    s.push_str(" len=");
    super::model::push_u64(s, len);
    if let Some(code) = num("websocket.payload.close.status_code") {
        let _ = write!(s, " code={code}");
        if let Some(Value::Text(r)) = get("websocket.payload.close.reason").map(|f| &f.value) {
            s.push_str(" reason=");
            push_quoted(s, r);
        }
    } else if let Some(Value::Text(t)) = get("websocket.payload.text")
        .or_else(|| get("websocket.payload.continue"))
        .or_else(|| get("websocket.payload.ping"))
        .or_else(|| get("websocket.payload.pong"))
        .or_else(|| get("data.data"))
        .map(|f| &f.value)
    {
        if !t.is_empty() {
            s.push(' ');
            push_quoted(s, t);
        }
    }
}

/// Append a value in quotes, cut to 60 characters, escaped by [`crate::escape`].
fn push_quoted(out: &mut String, t: &str) {
    out.push('"');
    for (n, c) in t.chars().enumerate() {
        if n == 60 {
            out.push('…');
            break;
        }
        crate::escape::push_char(out, c, crate::escape::Style::Quoted);
    }
    out.push('"');
}

// ---------------------------------------------------------------------------------------------
// The stream-level driver.
// ---------------------------------------------------------------------------------------------

/// Which way bytes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    ClientToServer,
    ServerToClient,
}

/// A run of stream bytes that arrived in one packet: bytes `at..at + len` of the direction's
/// stream came in packet number `frame`. This is the "frame-offset mapping" a TCP reassembler
/// provides; a PDU is credited to the packet that brought its last byte, as Wireshark does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub at: u64,
    pub len: u64,
    pub frame: u64,
}

/// One direction of a reassembled TCP connection.
#[derive(Clone, Copy, Debug)]
pub struct DirBytes<'a> {
    pub bytes: &'a [u8],
    /// Sorted by `at`. May be empty (then PDUs are not tied to packets).
    pub segments: &'a [Segment],
}

/// One protocol data unit found in a stream: an HTTP head or a WebSocket frame.
#[derive(Clone, Debug)]
pub struct Pdu {
    pub dir: Dir,
    pub proto: Proto,
    /// Its bytes in the direction's stream.
    pub range: Range<u64>,
    /// The packet that brought its last byte, if the mapping says.
    pub frame: Option<u64>,
    /// Field ranges are stream offsets in this direction.
    pub fields: Vec<Field>,
    pub problems: Vec<Problem>,
    pub summary: String,
    /// False when the stream ended before the PDU did.
    pub complete: bool,
}

/// The packet holding stream byte `off`, from a segment list sorted by `at`.
fn frame_of(segments: &[Segment], off: u64) -> Option<u64> {
    let i = segments.partition_point(|s| s.at <= off);
    let s = segments.get(i.checked_sub(1)?)?;
    (off < s.at + s.len).then_some(s.frame)
}

/// What one direction turned out to hold.
struct HttpWalk {
    pdus: Vec<Pdu>,
    /// Where WebSocket frames would begin, if this side asked for or granted an upgrade.
    upgrade_at: Option<usize>,
    /// Status codes, for responses.
    switched: bool,
}

/// Walk the HTTP heads of one direction. The client side stops after a WebSocket upgrade
/// request; the server side after a 101 response.
fn walk_http(dir: Dir, side: &DirBytes) -> HttpWalk {
    let bytes = side.bytes;
    let mut pdus = Vec::new();
    let mut pos = 0usize;
    let mut upgrade_at = None;
    let mut switched = false;
    while pos < bytes.len() && pos < u32::MAX as usize {
        let rest = &bytes[pos..];
        match http::parse_head(rest) {
            Ok(head) => {
                let end = pos + head.len;
                let mut fields = head.fields(rest, pos);
                let mut problems = head.websocket_problems(rest, pos);
                let summary = head.describe(rest);
                let upgrade = head.is_websocket_upgrade(rest);
                let is101 = head.status() == Some(101);
                let mut body_end = end;
                if !upgrade && !is101 {
                    match head.content_length(rest) {
                        Ok(Some(n)) => body_end = end.saturating_add(n as usize).min(bytes.len()),
                        Ok(None) => {
                            let no_body = head.is_request()
                                || matches!(head.status(), Some(100..=199 | 204 | 304));
                            if !no_body {
                                body_end = bytes.len();
                            }
                        }
                        Err(why) => {
                            problems.push(Problem {
                                kind: ProblemKind::Unsupported,
                                proto: Proto::Http,
                                at: end as u32,
                                message: format!("{why}; wirelab does not follow the body"),
                            });
                            body_end = bytes.len();
                        }
                    }
                }
                if body_end > end {
                    fields.push(field(
                        "http.file_data",
                        "Body",
                        end,
                        body_end - end,
                        0,
                        Value::None,
                        0,
                        "The message body: the bytes after the empty line.",
                    ));
                }
                pdus.push(Pdu {
                    dir,
                    proto: Proto::Http,
                    range: pos as u64..body_end as u64,
                    frame: frame_of(side.segments, (body_end.max(pos + 1) - 1) as u64),
                    fields,
                    problems,
                    summary,
                    complete: true,
                });
                pos = body_end;
                if upgrade || is101 {
                    upgrade_at = Some(end);
                    switched = is101;
                    break;
                }
            }
            Err(http::HeadError::Incomplete) => {
                pdus.push(incomplete(
                    dir,
                    Proto::Http,
                    pos,
                    bytes.len(),
                    "the stream ends inside an HTTP head",
                ));
                break;
            }
            Err(e) => {
                let at = match &e {
                    http::HeadError::Bad { at, .. } => pos + at,
                    _ => pos,
                };
                pdus.push(Pdu {
                    dir,
                    proto: Proto::Http,
                    range: pos as u64..bytes.len() as u64,
                    frame: None,
                    fields: Vec::new(),
                    problems: vec![Problem {
                        kind: ProblemKind::Malformed,
                        proto: Proto::Http,
                        at: at as u32,
                        message: format!("not HTTP: {e}"),
                    }],
                    summary: "not HTTP".into(),
                    complete: false,
                });
                break;
            }
        }
    }
    HttpWalk {
        pdus,
        upgrade_at,
        switched,
    }
}

fn incomplete(dir: Dir, proto: Proto, from: usize, to: usize, why: &str) -> Pdu {
    Pdu {
        dir,
        proto,
        range: from as u64..to as u64,
        frame: None,
        fields: Vec::new(),
        problems: vec![Problem {
            kind: ProblemKind::Truncated,
            proto,
            at: from as u32,
            message: why.into(),
        }],
        summary: why.into(),
        complete: false,
    }
}

/// Walk the WebSocket frames of one direction, from `start`.
pub fn walk_frames(dir: Dir, side: &DirBytes, start: usize) -> Vec<Pdu> {
    let bytes = side.bytes;
    let mut out = Vec::new();
    let mut pos = start;
    // The opcode of the message being fragmented, for its continuation frames.
    let mut message_opcode: Option<u8> = None;
    while pos < bytes.len() {
        if pos > u32::MAX as usize - MAX_HEADER_LEN {
            out.push(incomplete(
                dir,
                Proto::WebSocket,
                pos,
                bytes.len(),
                "wirelab numbers stream bytes in 32 bits and stops after 4 GiB",
            ));
            break;
        }
        let rest = &bytes[pos..];
        let head = match parse_head(rest) {
            HeadParse::Head(h) => h,
            HeadParse::NeedMore(_) => {
                out.push(incomplete(
                    dir,
                    Proto::WebSocket,
                    pos,
                    bytes.len(),
                    "the stream ends inside a WebSocket frame header",
                ));
                break;
            }
        };
        let frame_end = (pos as u64).saturating_add(head.frame_len());
        let complete = frame_end <= bytes.len() as u64;
        let end = frame_end.min(bytes.len() as u64) as usize;
        let mut fields = Vec::new();
        let mut problems = Vec::new();
        frame_fields(
            &bytes[pos..end],
            &head,
            pos,
            message_opcode,
            &mut fields,
            &mut problems,
        );
        if !head.is_control() {
            if head.opcode != 0 {
                message_opcode = Some(head.opcode);
            }
            if head.fin {
                message_opcode = None;
            }
        }
        let mut d = Dissection::default();
        push_layer(&mut d, Proto::WebSocket, 0, 0, fields, Vec::new());
        let mut summary = String::new();
        describe_into(&d, &d.layers[0], &mut summary);
        out.push(Pdu {
            dir,
            proto: Proto::WebSocket,
            range: pos as u64..frame_end,
            frame: if complete {
                frame_of(side.segments, frame_end - 1)
            } else {
                None
            },
            fields: d.fields,
            problems,
            summary,
            complete,
        });
        if !complete {
            break;
        }
        pos = end;
    }
    out
}

/// Dissect both directions of one TCP connection: the HTTP heads, and, once the client asked
/// for a WebSocket and the server answered 101, the frames each way. The PDUs come back in
/// stream order per direction, client side first.
pub fn dissect_conversation(client: DirBytes, server: DirBytes) -> Vec<Pdu> {
    let c = walk_http(Dir::ClientToServer, &client);
    let s = walk_http(Dir::ServerToClient, &server);
    let mut out = c.pdus;
    let mut server_pdus = s.pdus;
    if let (Some(c_at), Some(s_at), true) = (c.upgrade_at, s.upgrade_at, s.switched) {
        out.extend(walk_frames(Dir::ClientToServer, &client, c_at));
        server_pdus.extend(walk_frames(Dir::ServerToClient, &server, s_at));
    }
    out.extend(server_pdus);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6455 § 5.7's examples.
    const HELLO_UNMASKED: &[u8] = &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    const HELLO_MASKED: &[u8] = &[
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];

    fn value(fields: &[Field], name: &str, frame: &[u8], base: usize) -> String {
        let f = fields.iter().find(|f| f.name == name).expect(name);
        // Field ranges are relative to `base`; shift them back to index `frame`.
        let mut g = f.clone();
        g.at -= base as u32;
        g.tshark(frame)
    }

    #[test]
    fn parse_head_rfc_examples() {
        let HeadParse::Head(h) = parse_head(HELLO_MASKED) else {
            panic!()
        };
        assert!(h.fin && h.masked);
        assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        let mut fields = Vec::new();
        let mut problems = Vec::new();
        frame_fields(HELLO_MASKED, &h, 100, None, &mut fields, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            value(&fields, "websocket.payload.text", HELLO_MASKED, 100),
            "Hello"
        );
        assert_eq!(
            value(&fields, "websocket.masking_key", HELLO_MASKED, 100),
            "37:fa:21:3d"
        );
        let key = fields
            .iter()
            .find(|f| f.name == "websocket.masking_key")
            .unwrap();
        assert_eq!(key.at, 102);
        let HeadParse::Head(h) = parse_head(HELLO_UNMASKED) else {
            panic!()
        };
        assert!(!h.masked);
        assert_eq!(h.frame_len(), 7);
    }

    #[test]
    fn parse_head_length_forms() {
        // 256 bytes: 126 + 16-bit; 65536: 127 + 64-bit (RFC 6455 § 5.7).
        let HeadParse::Head(h) = parse_head(&[0x82, 0x7e, 0x01, 0x00]) else {
            panic!()
        };
        assert_eq!((h.len7, h.payload_len, h.header_len), (126, 256, 4));
        let b = [0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0];
        let HeadParse::Head(h) = parse_head(&b) else {
            panic!()
        };
        assert_eq!((h.len7, h.payload_len, h.header_len), (127, 65536, 10));
        for cut in 0..b.len() {
            assert!(matches!(parse_head(&b[..cut]), HeadParse::NeedMore(_)));
        }
    }

    #[test]
    fn parse_head_reserved_opcode_is_shown_not_refused() {
        let b = [0x83, 0x01, 0xaa];
        let HeadParse::Head(h) = parse_head(&b) else {
            panic!()
        };
        assert_eq!(h.opcode, 3);
        let mut fields = Vec::new();
        let mut problems = Vec::new();
        frame_fields(&b, &h, 0, None, &mut fields, &mut problems);
        assert!(problems[0].message.contains("reserved"));
    }

    #[test]
    fn unmask_is_its_own_inverse() {
        let key = [1, 2, 3, 4];
        let mut data = b"hello world".to_vec();
        unmask(&mut data, key, 0);
        assert_ne!(&data, b"hello world");
        unmask(&mut data[..5], key, 0);
        unmask(&mut data[5..], key, 5);
        assert_eq!(&data, b"hello world");
    }

    #[test]
    fn walk_frames_several_in_one_buffer_and_one_split() {
        let mut stream = HELLO_MASKED.to_vec();
        stream.extend_from_slice(HELLO_UNMASKED);
        stream.extend_from_slice(&[0x88, 0x02, 0x03, 0xe8]); // close 1000
        stream.extend_from_slice(&[0x82, 0x7e, 0x01]); // a header cut short
        let segs = [
            Segment {
                at: 0,
                len: 9,
                frame: 5,
            },
            Segment {
                at: 9,
                len: 100,
                frame: 6,
            },
        ];
        let side = DirBytes {
            bytes: &stream,
            segments: &segs,
        };
        let pdus = walk_frames(Dir::ClientToServer, &side, 0);
        assert_eq!(pdus.len(), 4);
        assert_eq!(pdus[0].frame, Some(6)); // its last byte came in packet 6
        assert_eq!(pdus[1].range, 11..18);
        assert!(pdus[2].summary.contains("code=1000"), "{}", pdus[2].summary);
        assert!(!pdus[3].complete);
        assert_eq!(pdus[3].problems[0].kind, ProblemKind::Truncated);
    }

    #[test]
    fn dissect_conversation_finds_the_upgrade() {
        let mut c = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".to_vec();
        c.extend_from_slice(HELLO_MASKED);
        let mut s = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n".to_vec();
        s.extend_from_slice(HELLO_UNMASKED);
        let pdus = dissect_conversation(
            DirBytes {
                bytes: &c,
                segments: &[],
            },
            DirBytes {
                bytes: &s,
                segments: &[],
            },
        );
        let kinds: Vec<_> = pdus.iter().map(|p| (p.dir, p.proto)).collect();
        assert_eq!(
            kinds,
            [
                (Dir::ClientToServer, Proto::Http),
                (Dir::ClientToServer, Proto::WebSocket),
                (Dir::ServerToClient, Proto::Http),
                (Dir::ServerToClient, Proto::WebSocket),
            ]
        );
        assert!(pdus[1].summary.contains("\"Hello\""));
    }

    #[test]
    fn dissect_conversation_without_101_has_no_frames() {
        let c = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00";
        let s = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nbad";
        let pdus = dissect_conversation(
            DirBytes {
                bytes: c,
                segments: &[],
            },
            DirBytes {
                bytes: s,
                segments: &[],
            },
        );
        assert!(pdus.iter().all(|p| p.proto == Proto::Http));
    }

    proptest::proptest! {
        #[test]
        fn walk_frames_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let side = DirBytes { bytes: &bytes, segments: &[] };
            let pdus = walk_frames(Dir::ServerToClient, &side, 0);
            for p in &pdus {
                proptest::prop_assert!(p.range.start <= bytes.len() as u64);
            }
            let _ = dissect_conversation(side, side);
        }

        #[test]
        fn frames_split_anywhere_parse_the_same(cut in 0usize..18) {
            let mut stream = HELLO_MASKED.to_vec();
            stream.extend_from_slice(HELLO_UNMASKED);
            let whole = walk_frames(Dir::ClientToServer, &DirBytes { bytes: &stream, segments: &[] }, 0);
            let part = walk_frames(Dir::ClientToServer, &DirBytes { bytes: &stream[..cut], segments: &[] }, 0);
            // Every frame complete in the prefix is the same as in the whole.
            for p in part.iter().filter(|p| p.complete) {
                let w = whole.iter().find(|w| w.range == p.range).expect("same frame");
                proptest::prop_assert_eq!(&w.summary, &p.summary);
            }
        }
    }
}
