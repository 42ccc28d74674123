//! TLS, Transport Layer Security: its record layer (RFC 8446 §5, RFC 5246 §6.2) and the
//! hellos of its handshake (RFC 8446 §4.1).
//!
//! # The idea
//!
//! TLS turns a TCP connection into a private one. Everything it sends travels in *records*: a
//! content type (handshake, change cipher spec, alert, application data), a version and a
//! length, then that many bytes. At the start both sides say hello in the clear: the
//! *ClientHello* lists what the client can do (the TLS versions, the *cipher suites*, the
//! extensions) and names the server it wants (*SNI*, server name indication: one address can
//! serve many names, so the client says which one it came for, in clear text); the
//! *ServerHello* picks one version and one cipher suite. From there on, keys are agreed and
//! every record is encrypted: a capture still sees each record's type and length, and nothing
//! of what is inside. In TLS 1.3 even the rest of the handshake (the certificate) is
//! encrypted, sent as records that say "application data" (RFC 8446 §5.2).
//!
//! ```text
//!  record (RFC 8446 §5.1)              a handshake message inside it (§4)
//! +--------------+------------------+  +-----------+---------------------------+
//! | content type | legacy version   |  | msg type  |  length (3 bytes)         |
//! |    (1)       |   (2) 0x0303     |  |   (1)     |                           |
//! +--------------+------------------+  +-----------+---------------------------+
//! | length (2)   | fragment …       |  | body: ClientHello, ServerHello, …     |
//! +--------------+------------------+  +---------------------------------------+
//!
//!  ClientHello (§4.1.2)                 ServerHello (§4.1.3)
//!  legacy_version (2)  0x0303           legacy_version (2)  0x0303
//!  random (32)                          random (32)
//!  session id (1 + ≤32)                 session id (1 + ≤32)
//!  cipher suites (2 + 2 each)           cipher suite (2)
//!  compression methods (1 + 1 each)     compression method (1)
//!  extensions (2 + each: type 2, length 2, data)
//! ```
//!
//! The "legacy" versions stay 0x0303 (TLS 1.2) even in TLS 1.3, because old middleboxes broke
//! on anything new; the real version is in the *supported_versions* extension (§4.2.1).
//!
//! # One segment at a time
//!
//! wirelab reads TLS in each TCP segment on its own: the records that start in the segment.
//! A record longer than what the segment holds is shown as far as it goes, with a note that
//! the rest is in later segments; those segments stay data. (Wireshark puts records back
//! together across segments; `tests/registry_tshark.rs` compares with its reading with that
//! off. On loopback, where the captures of the tests are made, records fit one segment.)

use std::fmt::Write as _;
use super::cx::{Cx, Next};
use super::fields::{FieldDef, Fmt};
use super::model::{Dissection, Layer, Osi, Proto, TcpIp, Value};
use super::registry::{Hook, Protocol, Reg};

/// What the rest of wirelab knows about TLS (see [`super::registry`]).
pub static PROTOCOL: Protocol = Protocol {
    short: "tls",
    name: "TLS",
    osi: Osi::Presentation,
    tcpip: TcpIp::Application,
    placement: "TLS encrypts and authenticates what the application hands it, which is the \
presentation layer's job in OSI terms (it also keeps a session, layer 5); the TCP/IP model \
has no such layer, so TLS is part of the application layer there, above TCP.",
    about: "TLS makes a TCP connection private and proves the server's identity: the client \
and server say hello in clear (versions, cipher suites, the server's name as SNI), agree on \
keys, and from then on send only encrypted records whose type and length a capture can see.",
    term: "TLS",
    colour: colored::Color::Green,
    recognise: &[Hook::TcpHeuristic(looks_like_tls)],
    fields: &[RECORD, HANDSHAKE, HELLO, EXTENSION],
    dissect,
    describe,
};

fn proto() -> Proto {
    Proto::Reg(Reg(&PROTOCOL))
}

/// The record header's length.
pub const RECORD_LEN: usize = 5;
/// The largest record fragment a peer may send: 2^14 bytes plus what encryption adds (RFC
/// 8446 §5.2 allows 256 more in TLS 1.3; RFC 5246 §6.2.3 2048 in TLS 1.2).
pub const MAX_RECORD: usize = (1 << 14) + 2048;

#[rustfmt::skip]
pub const RECORD: &[FieldDef] = &[
    FieldDef::new("tls.record.content_type", "Content type",   0, 1, Fmt::Dec,   "What the record carries: 22 handshake, 20 change cipher spec, 21 alert, 23 application data (encrypted)."),
    FieldDef::new("tls.record.version",      "Legacy version", 1, 2, Fmt::Hex,   "0x0303 (TLS 1.2) in nearly every record, TLS 1.3 included; 0x0301 in a first ClientHello, for old servers."),
    FieldDef::new("tls.record.length",       "Length",         3, 2, Fmt::Dec,   "How many bytes of the record follow this 5-byte header."),
    FieldDef::new("tls.app_data",            "Encrypted application data", 5, 0, Fmt::Bytes, "Encrypted bytes: the application's data, or in TLS 1.3 the rest of the handshake; only their length can be read."),
    FieldDef::new("tls.change_cipher_spec",  "Change cipher spec", 5, 1, Fmt::Bytes, "From here on this side encrypts (TLS 1.2); TLS 1.3 sends it only so middleboxes see a familiar handshake."),
    FieldDef::new("tls.alert_message",       "Alert message",  5, 2, Fmt::Bytes, "A warning or the reason a connection ends (close_notify when it ends cleanly); encrypted once keys are agreed."),
    FieldDef::new("tls.alert_message.level", "Alert level",    5, 1, Fmt::Dec,   "1 warning, 2 fatal (the connection ends)."),
    FieldDef::new("tls.alert_message.desc",  "Alert description", 6, 1, Fmt::Dec, "What went wrong: 0 close_notify, 40 handshake_failure, 112 unrecognized_name (RFC 8446 §6)."),
];

#[rustfmt::skip]
pub const HANDSHAKE: &[FieldDef] = &[
    FieldDef::new("tls.handshake",        "Handshake message", 0, 0, Fmt::Bytes, "One message of the handshake; once keys are agreed (after Change Cipher Spec in TLS 1.2) it is encrypted and only its length shows."),
    FieldDef::new("tls.handshake.type",   "Handshake type", 0, 1, Fmt::Dec, "Which handshake message this is: 1 ClientHello, 2 ServerHello, 11 Certificate, 20 Finished."),
    FieldDef::new("tls.handshake.length", "Length",         1, 3, Fmt::Dec, "How many bytes of the message follow its 4-byte header."),
];

#[rustfmt::skip]
pub const HELLO: &[FieldDef] = &[
    FieldDef::new("tls.handshake.version",              "Legacy version",         4,  2, Fmt::Hex,   "The highest version the client offers (ClientHello) or the server picked (ServerHello) before TLS 1.3; 0x0303 in TLS 1.3, whose real version is in supported_versions."),
    FieldDef::new("tls.handshake.random",               "Random",                 6, 32, Fmt::Bytes, "32 random bytes from each side; both go into the keys, so an old handshake cannot be replayed."),
    FieldDef::new("tls.handshake.session_id_length",    "Session ID length",     38,  1, Fmt::Dec,   "How long the session id is (0 to 32)."),
    FieldDef::new("tls.handshake.session_id",           "Session ID",            39,  0, Fmt::Bytes, "A session to resume (TLS 1.2), or in TLS 1.3 random bytes echoed back, for middleboxes."),
    FieldDef::new("tls.handshake.cipher_suites_length", "Cipher suites length",   0,  2, Fmt::Dec,   "How many bytes of cipher suites follow (2 per suite)."),
    FieldDef::new("tls.handshake.ciphersuite",          "Cipher suite",           0,  2, Fmt::Hex,   "A set of algorithms (key exchange, cipher, hash): the client lists those it accepts, the server picks one (0x1301 is TLS_AES_128_GCM_SHA256)."),
    FieldDef::new("tls.handshake.comp_methods_length",  "Compression methods length", 0, 1, Fmt::Dec, "How many compression methods follow."),
    FieldDef::new("tls.handshake.comp_method",          "Compression method",     0,  1, Fmt::Dec,   "0, none: compression inside TLS leaked secrets (the CRIME attack), so TLS 1.3 forbids it."),
    FieldDef::new("tls.handshake.extensions_length",    "Extensions length",      0,  2, Fmt::Dec,   "How many bytes of extensions follow."),
];

#[rustfmt::skip]
pub const EXTENSION: &[FieldDef] = &[
    FieldDef::new("tls.handshake.extension.type",                   "Extension type",          0, 2, Fmt::Dec,  "Which extension: 0 server_name (SNI), 16 ALPN, 43 supported_versions, 51 key_share."),
    FieldDef::new("tls.handshake.extension.len",                    "Extension length",        2, 2, Fmt::Dec,  "How many bytes of extension data follow."),
    FieldDef::new("tls.handshake.extensions_server_name_list_len",  "Server name list length", 4, 2, Fmt::Dec,  "How many bytes of server names follow."),
    FieldDef::new("tls.handshake.extensions_server_name_type",      "Server name type",        6, 1, Fmt::Dec,  "What kind of name follows; 0, a DNS host name, is the only kind defined."),
    FieldDef::new("tls.handshake.extensions_server_name_len",       "Server name length",      7, 2, Fmt::Dec,  "How long the name is."),
    FieldDef::new("tls.handshake.extensions_server_name",           "Server name (SNI)",       9, 0, Fmt::Text, "The host name the client wants to reach, in clear text even though the rest will be encrypted: one address can serve many names."),
    FieldDef::new("tls.handshake.extensions.supported_versions_len", "Supported versions length", 4, 1, Fmt::Dec, "How many bytes of versions the client lists."),
    FieldDef::new("tls.handshake.extensions.supported_version",     "Supported version",       0, 2, Fmt::Hex,  "A TLS version: the client lists those it speaks, the server names the one chosen (0x0304 is TLS 1.3)."),
    FieldDef::new("tls.handshake.extensions_alpn_len",              "ALPN extension length",   4, 2, Fmt::Dec,  "How many bytes of protocol names follow."),
    FieldDef::new("tls.handshake.extensions_alpn_str_len",          "ALPN string length",      0, 1, Fmt::Dec,  "How long the next protocol name is."),
    FieldDef::new("tls.handshake.extensions_alpn_str",              "ALPN protocol",           0, 0, Fmt::Text, "An application protocol to speak inside TLS (h2, http/1.1): the client offers, the server picks, with no extra round trip."),
];

/// Does this TCP payload start with a TLS record header? Strict, because it looks at every
/// TCP payload on every port: a known content type, version 3.0 to 3.4 (SSL 3.0 to TLS 1.3)
/// and a length a record may have.
pub fn looks_like_tls(p: &[u8]) -> bool {
    match p {
        [ty, 3, minor, hi, lo, ..] => {
            let len = u16::from_be_bytes([*hi, *lo]) as usize;
            (20..=23).contains(ty) && *minor <= 4 && len > 0 && len <= MAX_RECORD
        }
        _ => false,
    }
}

/// The name of a record content type (RFC 8446 §5.1).
fn content_type(ty: u8) -> &'static str {
    match ty {
        20 => "change_cipher_spec",
        21 => "alert",
        22 => "handshake",
        23 => "application_data",
        24 => "heartbeat",
        _ => "unknown",
    }
}

/// The name of a handshake message type, as Wireshark's Info column writes it.
pub fn handshake_name(ty: u8) -> Option<&'static str> {
    Some(match ty {
        0 => "Hello Request",
        1 => "Client Hello",
        2 => "Server Hello",
        4 => "New Session Ticket",
        5 => "End of Early Data",
        8 => "Encrypted Extensions",
        11 => "Certificate",
        12 => "Server Key Exchange",
        13 => "Certificate Request",
        14 => "Server Hello Done",
        15 => "Certificate Verify",
        16 => "Client Key Exchange",
        20 => "Finished",
        24 => "Key Update",
        _ => return None,
    })
}

/// A version number in words.
fn version_name(v: u64) -> &'static str {
    match v {
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        _ => "",
    }
}

/// The definition of a field of this file's tables, by name.
fn def(name: &str) -> &'static FieldDef {
    [RECORD, HANDSHAKE, HELLO, EXTENSION]
        .iter()
        .flat_map(|t| t.iter())
        .find(|d| d.name == name)
        .expect("a field of tls.rs's tables")
}

/// Add a field of this file's tables: `len` bytes at `at` (all captured, or nothing is added),
/// read as its table says unless `value` is given.
fn put(cx: &mut Cx, name: &str, at: usize, len: usize, depth: u8) -> Option<u64> {
    let d = def(name);
    let bytes = cx.bytes(at, len)?;
    let num = bytes.iter().take(8).fold(0u64, |a, &b| (a << 8) | b as u64);
    let value = match d.fmt {
        Fmt::Hex => Value::Hex {
            value: num,
            digits: (len * 2) as u8,
        },
        Fmt::Text => Value::Text(String::from_utf8_lossy(bytes).into_owned()),
        Fmt::Bytes => Value::Bytes,
        _ => Value::Uint(num),
    };
    let f = cx.add(d.name, d.label, at, len, value, d.explain);
    f.depth = depth;
    Some(num)
}

pub fn dissect(cx: &mut Cx, at: usize, end: usize) -> Next {
    cx.begin(proto(), at);
    let end = end.min(cx.data().len());
    let mut i = at;
    // After a ChangeCipherSpec in this segment, handshake records are encrypted (TLS 1.2's
    // Finished).
    let mut encrypted = false;
    while i + RECORD_LEN <= end && cx.bytes(i, RECORD_LEN).is_some_and(looks_like_tls) {
        i = record(cx, i, end, &mut encrypted);
    }
    cx.set_len(i.min(end).saturating_sub(at));
    if i < end {
        return Next::Data { at: i, end };
    }
    Next::Done
}

/// One record at `at`; returns where the next one starts.
fn record(cx: &mut Cx, at: usize, end: usize, encrypted: &mut bool) -> usize {
    let ty = cx.u8_at(at).unwrap_or(0);
    put(cx, "tls.record.content_type", at, 1, 0);
    cx.meaning(content_type(ty));
    let version = put(cx, "tls.record.version", at + 1, 2, 1).unwrap_or(0);
    cx.meaning(version_name(version));
    let len = put(cx, "tls.record.length", at + 3, 2, 1).unwrap_or(0) as usize;
    let body = at + RECORD_LEN;
    let rec_end = body + len;
    let have = rec_end.min(end);
    if rec_end > end {
        // The rest of the record travels in later segments.
        cx.meaning(format!(
            "{len} (this segment holds {} of them; the rest is in later segments, which wirelab does not join)",
            have - body
        ));
    }
    match ty {
        20 => {
            if cx.bytes(body, 1).is_some() {
                heading(cx, "tls.change_cipher_spec", body, 1, "");
            }
            *encrypted = true;
        }
        22 if !*encrypted && plaintext_handshake(cx, body, rec_end, have) => {
            let mut m = body;
            while m + 4 <= have {
                m = handshake(cx, m, have);
            }
        }
        22 if have > body => {
            heading(cx, "tls.handshake", body, have - body, "Encrypted Handshake Message");
        }
        21 if have > body => {
            if len == 2 && !*encrypted {
                // A plaintext alert: level and description (RFC 8446 §6).
                heading(cx, "tls.alert_message", body, 2, "Alert");
                put(cx, "tls.alert_message.level", body, 1, 2);
                put(cx, "tls.alert_message.desc", body + 1, 1, 2);
            } else {
                heading(cx, "tls.alert_message", body, have - body, "Encrypted Alert");
            }
        }
        23 if have > body => {
            put(cx, "tls.app_data", body, have - body, 1);
        }
        _ => {}
    }
    rec_end
}

/// Do the bytes of a handshake record hold plaintext messages (known types whose lengths
/// chain to the record's end), rather than an encrypted one?
fn plaintext_handshake(cx: &Cx, body: usize, rec_end: usize, have: usize) -> bool {
    let mut m = body;
    while m + 4 <= have {
        let Some(ty) = cx.u8_at(m) else { return false };
        if handshake_name(ty).is_none() {
            return false;
        }
        let len = cx.bytes(m + 1, 3).map_or(0, |b| {
            ((b[0] as usize) << 16) | ((b[1] as usize) << 8) | b[2] as usize
        });
        m += 4 + len;
    }
    // Whole messages to the record's end, or a record that continues in later segments.
    m == rec_end || rec_end > have
}

/// A field with no value of its own (as Wireshark's "Handshake Protocol" heading) over `len`
/// bytes at `at`, with a meaning.
fn heading(cx: &mut Cx, name: &str, at: usize, len: usize, meaning: &'static str) {
    let d = def(name);
    let f = cx.add(d.name, d.label, at, len, Value::None, d.explain);
    f.depth = 1;
    if !meaning.is_empty() {
        cx.meaning(meaning);
    }
}

/// One handshake message at `at` (its bytes captured up to `have`); returns where the next
/// one starts.
fn handshake(cx: &mut Cx, at: usize, have: usize) -> usize {
    let whole = cx.bytes(at + 1, 3).map_or(4, |b| {
        4 + (((b[0] as usize) << 16) | ((b[1] as usize) << 8) | b[2] as usize)
    });
    heading(cx, "tls.handshake", at, whole.min(have - at), "");
    let ty = put(cx, "tls.handshake.type", at, 1, 2).unwrap_or(255) as u8;
    cx.meaning(handshake_name(ty).unwrap_or("unknown"));
    let len = put(cx, "tls.handshake.length", at + 1, 3, 2).unwrap_or(0) as usize;
    let end = at + 4 + len;
    if (ty == 1 || ty == 2) && end <= have {
        hello(cx, at, end, ty == 1);
    }
    end
}

/// The body of a ClientHello or ServerHello that starts (with its header) at `at`.
fn hello(cx: &mut Cx, at: usize, end: usize, client: bool) -> Option<()> {
    let v = put(cx, "tls.handshake.version", at + 4, 2, 2)?;
    cx.meaning(version_name(v));
    put(cx, "tls.handshake.random", at + 6, 32, 2)?;
    let sid = put(cx, "tls.handshake.session_id_length", at + 38, 1, 2)? as usize;
    let mut i = at + 39;
    if sid > 0 {
        fits(i + sid, end)?;
        put(cx, "tls.handshake.session_id", i, sid, 2)?;
    }
    i += sid;
    if client {
        let n = put(cx, "tls.handshake.cipher_suites_length", i, 2, 2)? as usize;
        i += 2;
        fits(i + n, end)?;
        for k in (0..n / 2).map(|k| i + 2 * k) {
            put(cx, "tls.handshake.ciphersuite", k, 2, 3);
        }
        i += n;
        let n = put(cx, "tls.handshake.comp_methods_length", i, 1, 2)? as usize;
        i += 1;
        fits(i + n, end)?;
        for k in i..i + n {
            put(cx, "tls.handshake.comp_method", k, 1, 3);
        }
        i += n;
    } else {
        fits(i + 3, end)?;
        put(cx, "tls.handshake.ciphersuite", i, 2, 2);
        put(cx, "tls.handshake.comp_method", i + 2, 1, 2);
        i += 3;
    }
    if i + 2 > end {
        return Some(());
    }
    let n = put(cx, "tls.handshake.extensions_length", i, 2, 2)? as usize;
    i += 2;
    let ext_end = (i + n).min(end);
    while i + 4 <= ext_end {
        i = extension(cx, i, ext_end, client)?;
    }
    Some(())
}

/// `Some` if `need` is within `end`.
fn fits(need: usize, end: usize) -> Option<()> {
    (need <= end).then_some(())
}

/// One extension at `at`; returns where the next one starts.
fn extension(cx: &mut Cx, at: usize, end: usize, client: bool) -> Option<usize> {
    let ty = put(cx, "tls.handshake.extension.type", at, 2, 2)?;
    cx.meaning(match ty {
        0 => "server_name",
        10 => "supported_groups",
        11 => "ec_point_formats",
        13 => "signature_algorithms",
        16 => "application_layer_protocol_negotiation",
        22 => "encrypt_then_mac",
        23 => "extended_master_secret",
        35 => "session_ticket",
        41 => "pre_shared_key",
        43 => "supported_versions",
        45 => "psk_key_exchange_modes",
        49 => "post_handshake_auth",
        51 => "key_share",
        65281 => "renegotiation_info",
        _ => "",
    });
    let len = put(cx, "tls.handshake.extension.len", at + 2, 2, 3)? as usize;
    let d = at + 4;
    let next = d + len;
    fits(next, end)?;
    match ty {
        0 if len >= 2 => {
            put(cx, "tls.handshake.extensions_server_name_list_len", d, 2, 3);
            let mut i = d + 2;
            while i + 3 <= next {
                put(cx, "tls.handshake.extensions_server_name_type", i, 1, 3);
                let n = put(cx, "tls.handshake.extensions_server_name_len", i + 1, 2, 3)? as usize;
                fits(i + 3 + n, next)?;
                put(cx, "tls.handshake.extensions_server_name", i + 3, n, 3);
                i += 3 + n;
            }
        }
        43 if client && len >= 1 => {
            let n = put(cx, "tls.handshake.extensions.supported_versions_len", d, 1, 3)? as usize;
            fits(d + 1 + n, next)?;
            for k in (0..n / 2).map(|k| d + 1 + 2 * k) {
                put(cx, "tls.handshake.extensions.supported_version", k, 2, 4);
            }
        }
        43 if !client && len == 2 => {
            let v = put(cx, "tls.handshake.extensions.supported_version", d, 2, 3)?;
            cx.meaning(version_name(v));
        }
        16 if len >= 2 => {
            put(cx, "tls.handshake.extensions_alpn_len", d, 2, 3);
            let mut i = d + 2;
            while i < next {
                let n = put(cx, "tls.handshake.extensions_alpn_str_len", i, 1, 4)? as usize;
                fits(i + 1 + n, next)?;
                put(cx, "tls.handshake.extensions_alpn_str", i + 1, n, 4);
                i += 1 + n;
            }
        }
        _ => {}
    }
    Some(next)
}

/// What the segment's records are, as tshark's Info column says it: `Client Hello
/// (SNI=example.test)`, `Server Hello, Change Cipher Spec, Application Data`.
pub fn describe(d: &Dissection, layer: &Layer) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut sni: Option<String> = None;
    let mut alpn: Vec<String> = Vec::new();
    let flush = |parts: &mut Vec<String>, sni: &mut Option<String>, alpn: &mut Vec<String>| {
        if let Some(last) = parts.last_mut() {
            if let Some(s) = sni.take() {
                let _ = write!(last, " (SNI={})", crate::escape::escape(&s));
            }
            if !alpn.is_empty() {
                let _ = write!(last, " (ALPN={})", crate::escape::escape(&alpn.join(",")));
                alpn.clear();
            }
        }
    };
    for f in d.layer_fields(layer) {
        match f.name {
            "tls.record.content_type" => {
                match f.value.as_u64().unwrap_or(0) {
                    20 => parts.push("Change Cipher Spec".into()),
                    21 => parts.push("Alert".into()),
                    23 => parts.push("Application Data".into()),
                    22 => {}
                    _ => parts.push("Record".into()),
                }
            }
            "tls.alert_message" if f.meaning == "Encrypted Alert" => {
                if let Some(p) = parts.last_mut() {
                    *p = "Encrypted Alert".into();
                }
            }
            "tls.handshake" if f.meaning == "Encrypted Handshake Message" => {
                parts.push("Encrypted Handshake Message".into())
            }
            "tls.handshake.type" => {
                flush(&mut parts, &mut sni, &mut alpn);
                let t = f.value.as_u64().unwrap_or(255) as u8;
                parts.push(handshake_name(t).unwrap_or("Handshake").to_string());
            }
            "tls.handshake.extensions_server_name" => {
                if let Value::Text(t) = &f.value {
                    sni = Some(t.clone());
                }
            }
            "tls.handshake.extensions_alpn_str" => {
                if let Value::Text(t) = &f.value {
                    alpn.push(t.clone());
                }
            }
            _ => {}
        }
    }
    flush(&mut parts, &mut sni, &mut alpn);
    if parts.is_empty() {
        return "TLS".into();
    }
    format!("TLS {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello record: TLS 1.3 offered, one cipher suite, SNI "example.test", ALPN h2.
    fn client_hello() -> Vec<u8> {
        let sni = b"example.test";
        let mut ext = Vec::new();
        // server_name
        let list_len = 3 + sni.len();
        ext.extend_from_slice(&[0, 0]);
        ext.extend_from_slice(&((list_len + 2) as u16).to_be_bytes());
        ext.extend_from_slice(&(list_len as u16).to_be_bytes());
        ext.push(0);
        ext.extend_from_slice(&(sni.len() as u16).to_be_bytes());
        ext.extend_from_slice(sni);
        // supported_versions: 1.3, 1.2
        ext.extend_from_slice(&[0, 43, 0, 5, 4, 3, 4, 3, 3]);
        // ALPN: h2
        ext.extend_from_slice(&[0, 16, 0, 5, 0, 3, 2, b'h', b'2']);
        let mut body = vec![3, 3];
        body.extend_from_slice(&[0xab; 32]);
        body.push(0); // no session id
        body.extend_from_slice(&[0, 2, 0x13, 0x01]);
        body.extend_from_slice(&[1, 0]);
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let mut hs = vec![1];
        hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&body);
        let mut rec = vec![22, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    fn run(bytes: &[u8]) -> Dissection {
        let mut d = Dissection::default();
        d.data.extend_from_slice(bytes);
        let mut cx = Cx::new(&mut d);
        dissect(&mut cx, 0, bytes.len());
        d
    }

    fn all(d: &Dissection, name: &str) -> Vec<String> {
        d.fields
            .iter()
            .filter(|f| f.name == name)
            .map(|f| f.tshark(&d.data))
            .collect()
    }

    #[test]
    fn dissect_reads_a_client_hello() {
        let d = run(&client_hello());
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(all(&d, "tls.record.version"), ["0x0301"]);
        assert_eq!(all(&d, "tls.handshake.type"), ["1"]);
        assert_eq!(all(&d, "tls.handshake.ciphersuite"), ["0x1301"]);
        assert_eq!(all(&d, "tls.handshake.extensions_server_name"), ["example.test"]);
        assert_eq!(
            all(&d, "tls.handshake.extensions.supported_version"),
            ["0x0304", "0x0303"]
        );
        assert_eq!(all(&d, "tls.handshake.extensions_alpn_str"), ["h2"]);
        assert_eq!(
            describe(&d, &d.layers[0]),
            "TLS Client Hello (SNI=example.test) (ALPN=h2)"
        );
    }

    #[test]
    fn describe_escapes_a_hostile_server_name() {
        let mut rec = client_hello();
        let at = rec.windows(12).position(|w| w == b"example.test").unwrap();
        rec[at] = 0x1b;
        let d = run(&rec);
        assert!(describe(&d, &d.layers[0]).contains("\\x1bxample.test"));
    }

    #[test]
    fn a_record_longer_than_the_segment_is_read_as_far_as_it_goes() {
        let rec = client_hello();
        let d = run(&rec[..40]);
        assert_eq!(all(&d, "tls.handshake.type"), ["1"]);
        assert!(crate::dissect::validate(&d).is_ok());
    }

    #[test]
    fn encrypted_records_are_shown_as_such() {
        let mut seg = vec![20, 3, 3, 0, 1, 1];
        seg.extend_from_slice(&[22, 3, 3, 0, 8, 9, 9, 9, 9, 9, 9, 9, 9]);
        seg.extend_from_slice(&[23, 3, 3, 0, 3, 7, 7, 7]);
        let d = run(&seg);
        assert_eq!(
            describe(&d, &d.layers[0]),
            "TLS Change Cipher Spec, Encrypted Handshake Message, Application Data"
        );
    }

    #[test]
    fn looks_like_tls_is_strict() {
        assert!(looks_like_tls(&[22, 3, 1, 0, 5]));
        assert!(!looks_like_tls(b"GET / HTTP/1.1"));
        assert!(!looks_like_tls(&[22, 3, 1, 0, 0]));
        assert!(!looks_like_tls(&[22, 3, 9, 0, 5]));
        assert!(!looks_like_tls(&[22, 3]));
    }

    #[test]
    fn dissect_never_panics_on_cut_records() {
        let m = client_hello();
        for n in 0..m.len() {
            let d = run(&m[..n]);
            assert!(crate::dissect::validate(&d).is_ok(), "cut at {n}");
        }
    }
}
