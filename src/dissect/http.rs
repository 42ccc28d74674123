//! HTTP/1.1 message heads (RFC 9112), as far as a WebSocket needs them.
//!
//! # The idea
//!
//! HTTP/1.1 is text. A client sends a *request*: one line saying what it wants (`GET /chat
//! HTTP/1.1`: the method, the resource, the version), then *header fields*, one per line, each
//! `Name: value`, then an empty line. The server answers with a *response* in the same shape,
//! whose first line is the version, a three-digit *status code* and a phrase for people
//! (`HTTP/1.1 101 Switching Protocols`). Lines end with CR LF. Whatever follows the empty line
//! is the *body*; the `Content-Length` header says how long it is.
//!
//! ```text
//! GET /ws HTTP/1.1\r\n                           <- request line: method, URI, version
//! Host: 127.0.0.1:8080\r\n                       <- header fields
//! Upgrade: websocket\r\n
//! Connection: Upgrade\r\n
//! Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n
//! Sec-WebSocket-Version: 13\r\n
//! \r\n                                           <- empty line: the head ends here
//! ```
//!
//! A WebSocket starts life as such a request. `Upgrade: websocket` and `Connection: Upgrade`
//! ask the server to stop speaking HTTP on this TCP connection; a server that agrees answers
//! `101 Switching Protocols`, and from the byte after that response's empty line on, both
//! sides send WebSocket frames ([`super::websocket`]).
//!
//! # In the engine
//!
//! HTTP lives in the TCP *byte stream*, not in packets: one request may be split across
//! several segments, or share a segment with the next. So [`parse_head`] takes a buffer of
//! stream bytes and says either "here is a complete head, `len` bytes long", or "need more
//! bytes" ([`HeadError::Incomplete`]), or what rule the bytes broke and where. It never
//! panics and never reads past the buffer.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::ops::Range;

use super::model::{Dissection, Field, Layer, Problem, ProblemKind, Proto, Value};

/// A head longer than this is refused: a real one is a few hundred bytes, and a peer that
/// sends megabytes without an empty line is broken or hostile.
pub const MAX_HEAD_LEN: usize = 64 * 1024;

/// Why a buffer does not (yet) hold a valid head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeadError {
    /// Not an error: the empty line that ends the head has not arrived yet.
    Incomplete,
    /// No empty line within [`MAX_HEAD_LEN`] bytes.
    TooLong,
    /// The bytes break a rule of HTTP/1.1: `at` is the offset in the buffer where.
    Bad { at: usize, message: String },
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeadError::Incomplete => f.write_str("the HTTP head is not complete yet"),
            HeadError::TooLong => write!(
                f,
                "no empty line ends the HTTP head within {MAX_HEAD_LEN} bytes"
            ),
            HeadError::Bad { at, message } => write!(f, "byte {at}: {message}"),
        }
    }
}

impl std::error::Error for HeadError {}

/// The first line of a head: a request line or a status line. Ranges are byte offsets in the
/// buffer given to [`parse_head`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartLine {
    Request {
        method: Range<usize>,
        uri: Range<usize>,
        version: Range<usize>,
    },
    Response {
        version: Range<usize>,
        code: u16,
        code_at: Range<usize>,
        phrase: Range<usize>,
    },
}

/// One header field line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderLine {
    /// The whole line, without its line ending.
    pub line: Range<usize>,
    pub name: Range<usize>,
    /// The value with the spaces around it trimmed.
    pub value: Range<usize>,
}

/// A complete HTTP/1.1 head: the start line, the header lines, and how many bytes it took
/// (the empty line included), so the body or the next message starts at `len`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub start: StartLine,
    /// The start line, without its line ending.
    pub start_line: Range<usize>,
    pub headers: Vec<HeaderLine>,
    pub len: usize,
}

/// Find the end of the next line in `buf` from `from`: returns (end of the line's text, start
/// of the next line). Accepts CR LF and, as RFC 9112 § 2.2 allows a recipient to, a bare LF.
fn next_line(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let rel = find_lf(buf.get(from..)?)?;
    let lf = from + rel;
    let text_end = if lf > from && buf[lf - 1] == b'\r' {
        lf - 1
    } else {
        lf
    };
    Some((text_end, lf + 1))
}

/// The position of the first LF in `buf`, looked for eight bytes at a time: a word XORed
/// with eight LFs has a zero byte where an LF was, and `(x - 0x01…01) & !x & 0x80…80` sets
/// the top bit of the lowest zero byte (a byte after it may be marked wrongly, one before it
/// never is, so the lowest mark is the answer).
fn find_lf(buf: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const LFS: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let mut chunks = buf.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) ^ LFS;
        let hit = w.wrapping_sub(ONES) & !w & HIGHS;
        if hit != 0 {
            return Some(at + (hit.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| at + p)
}

/// A "token" character (RFC 9110 § 5.6.2): what method names and header names are made of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn bad(at: usize, message: impl Into<String>) -> HeadError {
    HeadError::Bad {
        at,
        message: message.into(),
    }
}

/// Check `HTTP/1.1` (any `HTTP/d.d`) at `r`.
fn check_version(buf: &[u8], r: &Range<usize>) -> Result<(), HeadError> {
    let v = &buf[r.clone()];
    let ok = v.len() == 8
        && v.starts_with(b"HTTP/")
        && v[5].is_ascii_digit()
        && v[6] == b'.'
        && v[7].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(bad(
            r.start,
            format!(
                "the HTTP version must look like HTTP/1.1, but it is {:?}",
                String::from_utf8_lossy(v)
            ),
        ))
    }
}

/// Parse one HTTP/1.1 request or response head from the start of `buf`.
///
/// ```
/// use wirelab::dissect::http::{parse_head, HeadError, StartLine};
/// let req = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\nextra";
/// let head = parse_head(req).unwrap();
/// assert_eq!(head.len, 40); // `extra` is not part of the head
/// assert_eq!(head.header(req, "upgrade"), Some("websocket"));
/// assert_eq!(parse_head(&req[..20]), Err(HeadError::Incomplete));
/// ```
pub fn parse_head(buf: &[u8]) -> Result<Head, HeadError> {
    // Leading empty lines are allowed before a request (RFC 9112 § 2.2).
    let mut pos = 0;
    while buf.get(pos..pos + 2) == Some(b"\r\n") || buf.get(pos) == Some(&b'\n') {
        pos += if buf[pos] == b'\r' { 2 } else { 1 };
    }
    let Some((line_end, mut next)) = next_line(buf, pos) else {
        return Err(incomplete_or_too_long(buf));
    };
    let start_line = pos..line_end;
    let start = parse_start_line(buf, start_line.clone())?;
    let mut headers = Vec::new();
    loop {
        let Some((end, after)) = next_line(buf, next) else {
            return Err(incomplete_or_too_long(buf));
        };
        if end == next {
            // The empty line: the head is complete.
            if after > MAX_HEAD_LEN {
                return Err(HeadError::TooLong);
            }
            return Ok(Head {
                start,
                start_line,
                headers,
                len: after,
            });
        }
        headers.push(parse_header_line(buf, next..end)?);
        next = after;
    }
}

fn incomplete_or_too_long(buf: &[u8]) -> HeadError {
    if buf.len() >= MAX_HEAD_LEN {
        HeadError::TooLong
    } else {
        HeadError::Incomplete
    }
}

fn parse_start_line(buf: &[u8], line: Range<usize>) -> Result<StartLine, HeadError> {
    let text = &buf[line.clone()];
    let sp1 = text
        .iter()
        .position(|&b| b == b' ')
        .ok_or_else(|| bad(line.start, "the first line has no space; it must be `METHOD URI HTTP/1.1` or `HTTP/1.1 CODE PHRASE`"))?;
    if text.starts_with(b"HTTP/") {
        // A status line: HTTP/1.1 101 Switching Protocols
        let version = line.start..line.start + sp1;
        check_version(buf, &version)?;
        let code_at = line.start + sp1 + 1..(line.start + sp1 + 4).min(line.end);
        let digits = &buf[code_at.clone()];
        if digits.len() != 3 || !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad(
                code_at.start,
                "the status code must be three digits, as in `HTTP/1.1 101 Switching Protocols`",
            ));
        }
        let code = digits
            .iter()
            .fold(0u16, |acc, d| acc * 10 + (d - b'0') as u16);
        let after = code_at.end;
        let phrase = match buf.get(after) {
            Some(b' ') if after < line.end => after + 1..line.end,
            _ if after == line.end => line.end..line.end,
            _ => {
                return Err(bad(
                    after,
                    "the status code must be followed by a space and a reason phrase",
                ));
            }
        };
        return Ok(StartLine::Response {
            version,
            code,
            code_at,
            phrase,
        });
    }
    // A request line: GET /chat HTTP/1.1
    let method = line.start..line.start + sp1;
    if method.is_empty() || !buf[method.clone()].iter().all(|&b| is_tchar(b)) {
        return Err(bad(
            line.start,
            "the method (GET, POST…) must be a word of letters, digits or !#$%&'*+-.^_`|~",
        ));
    }
    let rest = line.start + sp1 + 1;
    let sp2 = buf[rest..line.end]
        .iter()
        .rposition(|&b| b == b' ')
        .map(|p| rest + p)
        .ok_or_else(|| {
            bad(
                rest,
                "the request line must have three parts: method, URI and version",
            )
        })?;
    let uri = rest..sp2;
    if uri.is_empty() || buf[uri.clone()].iter().any(|&b| b <= b' ' || b == 0x7f) {
        return Err(bad(
            rest,
            "the request URI must be non-empty and contain no spaces or control characters",
        ));
    }
    let version = sp2 + 1..line.end;
    check_version(buf, &version)?;
    Ok(StartLine::Request {
        method,
        uri,
        version,
    })
}

fn parse_header_line(buf: &[u8], line: Range<usize>) -> Result<HeaderLine, HeadError> {
    let text = &buf[line.clone()];
    if text.first().is_some_and(|&b| b == b' ' || b == b'\t') {
        return Err(bad(
            line.start,
            "a header line may not start with a space (line folding is obsolete, RFC 9112 § 5.2)",
        ));
    }
    let colon = text.iter().position(|&b| b == b':').ok_or_else(|| {
        bad(
            line.start,
            "a header line must be `Name: value`, but this one has no colon",
        )
    })?;
    let name = line.start..line.start + colon;
    if name.is_empty() || !buf[name.clone()].iter().all(|&b| is_tchar(b)) {
        return Err(bad(
            line.start,
            "a header name must be a word of letters, digits or !#$%&'*+-.^_`|~, with no space before the colon",
        ));
    }
    let mut v0 = name.end + 1;
    let mut v1 = line.end;
    while v0 < v1 && (buf[v0] == b' ' || buf[v0] == b'\t') {
        v0 += 1;
    }
    while v1 > v0 && (buf[v1 - 1] == b' ' || buf[v1 - 1] == b'\t') {
        v1 -= 1;
    }
    if let Some(p) = buf[v0..v1]
        .iter()
        .position(|&b| (b < b' ' && b != b'\t') || b == 0x7f)
    {
        return Err(bad(
            v0 + p,
            "a header value may not contain control characters",
        ));
    }
    Ok(HeaderLine {
        line,
        name,
        value: v0..v1,
    })
}

/// Text from the buffer, with bytes that are not UTF-8 replaced.
fn text(buf: &[u8], r: &Range<usize>) -> String {
    String::from_utf8_lossy(&buf[r.clone()]).into_owned()
}

impl Head {
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { code, .. } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    /// The method of a request.
    pub fn method<'b>(&self, buf: &'b [u8]) -> Option<&'b str> {
        match &self.start {
            StartLine::Request { method, .. } => std::str::from_utf8(&buf[method.clone()]).ok(),
            StartLine::Response { .. } => None,
        }
    }

    /// The URI of a request.
    pub fn uri<'b>(&self, buf: &'b [u8]) -> Option<&'b str> {
        match &self.start {
            StartLine::Request { uri, .. } => std::str::from_utf8(&buf[uri.clone()]).ok(),
            StartLine::Response { .. } => None,
        }
    }

    /// The version written on the start line (`HTTP/1.1`).
    pub fn version<'b>(&self, buf: &'b [u8]) -> &'b str {
        let r = match &self.start {
            StartLine::Request { version, .. } | StartLine::Response { version, .. } => version,
        };
        std::str::from_utf8(&buf[r.clone()]).unwrap_or("")
    }

    /// The value of the first header with this name (names are compared without regard to
    /// case, as HTTP says they must be).
    pub fn header<'b>(&self, buf: &'b [u8], name: &str) -> Option<&'b str> {
        self.headers_named(buf, name).next()
    }

    /// Every value of headers with this name, in order.
    pub fn headers_named<'b, 's>(
        &'s self,
        buf: &'b [u8],
        name: &'s str,
    ) -> impl Iterator<Item = &'b str> + 's
    where
        'b: 's,
    {
        self.headers
            .iter()
            .filter(move |h| buf[h.name.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .filter_map(move |h| std::str::from_utf8(&buf[h.value.clone()]).ok())
    }

    /// Does a comma-separated header (`Connection: keep-alive, Upgrade`) list this token?
    pub fn header_has_token(&self, buf: &[u8], name: &str, token: &str) -> bool {
        self.headers_named(buf, name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// Is this a request to turn the connection into a WebSocket (RFC 6455 § 4.1)?
    pub fn is_websocket_upgrade(&self, buf: &[u8]) -> bool {
        self.is_request()
            && self.header_has_token(buf, "upgrade", "websocket")
            && self.header_has_token(buf, "connection", "upgrade")
    }

    /// How many body bytes follow the head, if the head says (`Content-Length`). `Err` names a
    /// body whose length cannot be known from the head (chunked, or an unreadable length).
    /// Is the body sent in chunks (`Transfer-Encoding: chunked`, RFC 9112 §7.1)?
    pub fn is_chunked(&self, buf: &[u8]) -> bool {
        self.header_has_token(buf, "transfer-encoding", "chunked")
    }

    pub fn content_length(&self, buf: &[u8]) -> Result<Option<u64>, String> {
        if self.header_has_token(buf, "transfer-encoding", "chunked") {
            return Err("the body is sent in chunks (Transfer-Encoding: chunked)".into());
        }
        match self.header(buf, "content-length") {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .map(Some)
                .map_err(|_| format!("Content-Length must be a number of bytes, not {v:?}")),
        }
    }

    /// The head's fields, with Wireshark's names, their byte ranges counted from `base` (the
    /// offset of `buf[0]` in whatever the caller numbers bytes by: a frame or a stream).
    pub fn fields(&self, buf: &[u8], base: usize) -> Vec<Field> {
        let mut out = Vec::new();
        self.fields_into(buf, base, &mut out);
        out
    }

    /// Like [`Head::fields`], appending to `out` (the stream reader fills a dissection's
    /// fields directly, without a vector of its own per message).
    pub fn fields_into(&self, buf: &[u8], base: usize, out: &mut Vec<Field>) {
        self.fields_with(buf, base, false, out);
    }

    /// What the one-line summary reads of a head ([`describe_layer`]): the start line's
    /// fields and the `Upgrade` header's, not the other header lines (a `String` each),
    /// which only the detailed views show. The fields it keeps are the same as
    /// [`Head::fields_into`]'s, in the same order.
    pub fn summary_fields_into(&self, buf: &[u8], base: usize, out: &mut Vec<Field>) {
        self.fields_with(buf, base, true, out);
    }

    fn fields_with(&self, buf: &[u8], base: usize, lean: bool, out: &mut Vec<Field>) {
        let f = |name, label, r: &Range<usize>, value, depth, explain| Field {
            name,
            label,
            value,
            meaning: Cow::Borrowed(""),
            at: (base + r.start) as u32,
            len: r.len() as u32,
            mask: 0,
            depth,
            explain,
        };
        let request = self.is_request();
        match &self.start {
            StartLine::Request {
                method,
                uri,
                version,
            } => {
                out.push(f(
                    "http.request.method",
                    "Request method",
                    method,
                    Value::Text(text(buf, method)),
                    0,
                    "What the client asks the server to do: GET fetches a resource (and is the method a WebSocket handshake uses).",
                ));
                out.push(f(
                    "http.request.uri",
                    "Request URI",
                    uri,
                    Value::Text(text(buf, uri)),
                    0,
                    "Which resource on the server the request is about: a path, maybe with a ?query.",
                ));
                out.push(f(
                    "http.request.version",
                    "Request version",
                    version,
                    Value::Text(text(buf, version)),
                    0,
                    "The HTTP version the client speaks; the WebSocket handshake needs HTTP/1.1 or later.",
                ));
            }
            StartLine::Response {
                version,
                code,
                code_at,
                phrase,
            } => {
                out.push(f(
                    "http.response.version",
                    "Response version",
                    version,
                    Value::Text(text(buf, version)),
                    0,
                    "The HTTP version the server answers in.",
                ));
                let mut c = f(
                    "http.response.code",
                    "Status code",
                    code_at,
                    Value::Uint(*code as u64),
                    0,
                    "Three digits saying how the request went: 1xx informational (an interim answer before the final one, or with 101 a switch of protocol), 2xx success, 3xx go elsewhere, 4xx the client's fault, 5xx the server's (RFC 9110 §15).",
                );
                c.meaning = Cow::Borrowed(status_meaning(*code));
                out.push(c);
                out.push(f(
                    "http.response.phrase",
                    "Reason phrase",
                    phrase,
                    Value::Text(text(buf, phrase)),
                    0,
                    "The status in words, for people; programs go by the code.",
                ));
            }
        }
        let (line_name, line_label) = if request {
            ("http.request.line", "Request header line")
        } else {
            ("http.response.line", "Response header line")
        };
        for h in &self.headers {
            if !lean {
                // Wireshark's value for a header line includes its line ending.
                let raw = &buf[h.line.clone()];
                let mut line_text = String::with_capacity(raw.len() + 2);
                line_text.push_str(&String::from_utf8_lossy(raw));
                line_text.push_str("\r\n");
                out.push(f(
                    line_name,
                    line_label,
                    &h.line,
                    Value::Text(line_text),
                    0,
                    "One header field: a name, a colon, and a value.",
                ));
            }
            // Header names are compared without regard to case; most are short, so the
            // lower-case copy is made on the stack. The lean reading keeps only `Upgrade`
            // (what the summary line reads).
            let raw_name = &buf[h.name.clone()];
            let mut lower = [0u8; 32];
            let known = if raw_name.len() <= lower.len() {
                lower[..raw_name.len()].copy_from_slice(raw_name);
                lower[..raw_name.len()].make_ascii_lowercase();
                std::str::from_utf8(&lower[..raw_name.len()])
                    .ok()
                    .filter(|name| !lean || *name == "upgrade")
                    .and_then(known_header)
            } else {
                None
            };
            if let Some((wname, label, explain)) = known {
                out.push(f(
                    wname,
                    label,
                    &h.value,
                    Value::Text(text(buf, &h.value)),
                    1,
                    explain,
                ));
            }
        }
    }

    /// A problem for a field that a WebSocket handshake needs but this head lacks, if any.
    /// Used when dissecting: it notes, it does not refuse.
    pub fn websocket_problems(&self, buf: &[u8], base: usize) -> Vec<Problem> {
        let mut out = Vec::new();
        if self.is_websocket_upgrade(buf) {
            if self.header(buf, "sec-websocket-key").is_none() {
                out.push(Problem {
                    kind: ProblemKind::Malformed,
                    proto: Proto::Http,
                    at: base as u32,
                    message: "a WebSocket upgrade request must carry Sec-WebSocket-Key".into(),
                });
            }
        } else if self.status() == Some(101) && self.header(buf, "sec-websocket-accept").is_none() {
            out.push(Problem {
                kind: ProblemKind::Malformed,
                proto: Proto::Http,
                at: base as u32,
                message: "a 101 answer to a WebSocket upgrade must carry Sec-WebSocket-Accept"
                    .into(),
            });
        }
        out
    }

    /// One line for the summary: `GET /ws HTTP/1.1 (Upgrade: websocket)` or
    /// `HTTP/1.1 101 Switching Protocols`.
    pub fn describe(&self, buf: &[u8]) -> String {
        let mut s = text(buf, &self.start_line);
        if let Some(u) = self.header(buf, "upgrade") {
            let _ = write!(s, " (Upgrade: {u})");
        }
        s
    }
}

/// A body sent in chunks (RFC 9112 §7.1), read from `buf` (the bytes after the head): each
/// chunk is its size in hex on a line of its own (maybe with `;extensions`), the data, and a
/// line end; a chunk of size 0 ends the body, after optional trailer lines and an empty line.
///
/// ```text
/// 5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n   ->   "hello, world"
/// ```
///
/// Returns how many bytes of `buf` the chunked body takes and its data put together, `None`
/// while the end has not arrived, or what rule the bytes broke. The data never grows past
/// `max` bytes.
pub fn dechunk(buf: &[u8], max: usize) -> Result<Option<(usize, Vec<u8>)>, String> {
    let mut data = Vec::new();
    let mut at = 0;
    loop {
        let Some((line_end, next)) = next_line(buf, at) else {
            return if buf.len() - at > 1024 {
                Err(format!(
                    "byte {at}: a chunk size line longer than 1024 bytes"
                ))
            } else {
                Ok(None)
            };
        };
        let line = &buf[at..line_end];
        let digits = line.split(|&b| b == b';').next().unwrap_or(&[]);
        let digits = std::str::from_utf8(digits).unwrap_or("").trim();
        let size = usize::from_str_radix(digits, 16).map_err(|_| {
            format!(
                "byte {at}: a chunk must start with its size in hex, not {:?}",
                crate::escape::escape(&String::from_utf8_lossy(line))
            )
        })?;
        at = next;
        if size == 0 {
            // Trailer fields, then the empty line.
            loop {
                let Some((end, after)) = next_line(buf, at) else {
                    return Ok(None);
                };
                let empty = end == at;
                at = after;
                if empty {
                    return Ok(Some((at, data)));
                }
            }
        }
        if size > max.saturating_sub(data.len()) {
            return Err(format!(
                "the chunked body is longer than {max} bytes, more than wirelab reads"
            ));
        }
        if buf.len() < at + size {
            return Ok(None);
        }
        data.extend_from_slice(&buf[at..at + size]);
        at += size;
        match &buf[at..(at + 2).min(buf.len())] {
            [b'\r', b'\n'] => at += 2,
            [b'\n', ..] => at += 1,
            [b'\r'] | [] => return Ok(None),
            _ => {
                return Err(format!(
                    "byte {at}: a chunk's data must end with a line end"
                ));
            }
        }
    }
}

/// One line about an HTTP layer: its start line, as the summary view shows it.
pub fn describe_layer(d: &Dissection, layer: &Layer) -> String {
    // One pass over the layer's fields (the summary view calls this for every HTTP frame).
    let (mut method, mut uri, mut version, mut phrase, mut upgrade) =
        (None, None, None, None, None);
    let mut code = None;
    for f in d.layer_fields(layer) {
        let t = match &f.value {
            Value::Text(t) => Some(t.as_str()),
            _ => None,
        };
        match f.name {
            "http.request.method" => method = t,
            "http.request.uri" => uri = t,
            "http.request.version" | "http.response.version" => version = t,
            "http.response.phrase" => phrase = t,
            "http.upgrade" => upgrade = t,
            "http.response.code" => code = f.value.as_u64(),
            _ => {}
        }
    }
    let mut s = String::with_capacity(64);
    s.push_str("HTTP ");
    if let Some(m) = method {
        s.push_str(m);
        s.push(' ');
        s.push_str(uri.unwrap_or("?"));
        s.push(' ');
        s.push_str(version.unwrap_or(""));
    } else if let Some(code) = code {
        s.push_str(version.unwrap_or(""));
        let _ = write!(s, " {code} ");
        s.push_str(phrase.unwrap_or(""));
    } else {
        s.truncate(4);
    }
    if let Some(u) = upgrade {
        let end = s.trim_end().len();
        s.truncate(end);
        s.push_str(" (Upgrade: ");
        s.push_str(u);
        s.push(')');
    }
    let end = s.trim_end().len();
    s.truncate(end);
    s
}

/// Build a [`Dissection`] of one HTTP head on its own (`bytes` is the head, maybe followed by
/// a body), for the views.
pub fn head_dissection(d: &mut Dissection, number: u64, bytes: &[u8], head: &Head) {
    d.clear();
    d.number = number;
    d.wire_len = bytes.len() as u32;
    d.data.extend_from_slice(bytes);
    let fields = head.fields(bytes, 0);
    let problems = head.websocket_problems(bytes, 0);
    super::websocket::push_layer(d, Proto::Http, 0, head.len, fields, problems);
}

/// The header fields Wireshark names, with what they are for.
fn known_header(lower: &str) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match lower {
        "host" => (
            "http.host",
            "Host",
            "Which site the client wants: one server address can serve many names.",
        ),
        "upgrade" => (
            "http.upgrade",
            "Upgrade",
            "In a request, the protocols the client offers to switch this connection to; in a 101 response, the one the server switches to (websocket here; RFC 9110 §7.8).",
        ),
        "connection" => (
            "http.connection",
            "Connection",
            "Names the headers meant for this connection only, which a proxy must not pass on; a message with an Upgrade header must name `Upgrade` here (RFC 9110 §7.6.1, §7.8).",
        ),
        "user-agent" => (
            "http.user_agent",
            "User-Agent",
            "The program that made the request.",
        ),
        "server" => ("http.server", "Server", "The program that answered."),
        "content-type" => (
            "http.content_type",
            "Content-Type",
            "What kind of data the body is (text/html, application/json…).",
        ),
        "content-length" => (
            "http.content_length_header",
            "Content-Length",
            "How many bytes of body follow the empty line.",
        ),
        "sec-websocket-key" => (
            "http.sec_websocket_key",
            "Sec-WebSocket-Key",
            "16 random bytes in base64, chosen by the client; the server must prove it read them.",
        ),
        "sec-websocket-accept" => (
            "http.sec_websocket_accept",
            "Sec-WebSocket-Accept",
            "The server's proof: base64(SHA-1(key + 258EAFA5-E914-47DA-95CA-C5AB0DC85B11)).",
        ),
        "sec-websocket-version" => (
            "http.sec_websocket_version",
            "Sec-WebSocket-Version",
            "The WebSocket protocol version; 13 is RFC 6455, the only one in use.",
        ),
        "sec-websocket-protocol" => (
            "http.sec_websocket_protocol",
            "Sec-WebSocket-Protocol",
            "Application protocols the client can speak over the WebSocket; the server picks one.",
        ),
        "sec-websocket-extensions" => (
            "http.sec_websocket_extensions",
            "Sec-WebSocket-Extensions",
            "Extensions such as permessage-deflate (compression) that change how frames are sent.",
        ),
        _ => return None,
    })
}

/// What a status code means, for the codes a learner meets here.
pub fn status_meaning(code: u16) -> &'static str {
    match code {
        101 => {
            "Switching Protocols: from the next byte on, this connection speaks the protocol named in Upgrade"
        }
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        426 => "Upgrade Required",
        500 => "Internal Server Error",
        100..=199 => "informational",
        201..=299 => "success",
        300..=399 => "redirection",
        401..=499 => "client error",
        501..=599 => "server error",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: &[u8] = b"GET /chat?x=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    const RESP: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x05hello";

    #[test]
    fn parse_head_request() {
        let h = parse_head(REQ).unwrap();
        assert_eq!(h.len, REQ.len());
        assert_eq!(h.method(REQ), Some("GET"));
        assert_eq!(h.uri(REQ), Some("/chat?x=1"));
        assert_eq!(h.version(REQ), "HTTP/1.1");
        assert!(h.is_websocket_upgrade(REQ));
        assert_eq!(
            h.header(REQ, "SEC-WEBSOCKET-KEY"),
            Some("dGhlIHNhbXBsZSBub25jZQ==")
        );
    }

    #[test]
    fn parse_head_response_leaves_the_frame_after_it() {
        let h = parse_head(RESP).unwrap();
        assert_eq!(h.status(), Some(101));
        assert_eq!(&RESP[h.len..], b"\x81\x05hello");
        let fields = h.fields(RESP, 1000);
        let code = fields
            .iter()
            .find(|f| f.name == "http.response.code")
            .unwrap();
        assert_eq!(code.tshark(&[]), "101");
        assert_eq!(code.at, 1009);
        let up = fields.iter().find(|f| f.name == "http.upgrade").unwrap();
        assert_eq!(up.value, Value::Text("websocket".into()));
        assert_eq!(
            &RESP[up.range().start - 1000..up.range().end - 1000],
            b"websocket"
        );
    }

    #[test]
    fn parse_head_needs_more_bytes_at_every_cut() {
        for cut in 0..REQ.len() {
            assert_eq!(
                parse_head(&REQ[..cut]),
                Err(HeadError::Incomplete),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn parse_head_says_where_it_is_bad() {
        let e = parse_head(b"GET /x HTTP/1.1\r\nHost example\r\n\r\n").unwrap_err();
        assert!(matches!(e, HeadError::Bad { at: 17, .. }), "{e:?}");
        let e = parse_head(b"HTTP/1.1 1x1 Nope\r\n\r\n").unwrap_err();
        assert!(matches!(e, HeadError::Bad { at: 9, .. }), "{e:?}");
        let e = parse_head(b"GET /x FTP/1.0\r\n\r\n").unwrap_err();
        assert!(matches!(e, HeadError::Bad { at: 7, .. }), "{e:?}");
    }

    #[test]
    fn parse_head_too_long() {
        let mut big = b"GET / HTTP/1.1\r\n".to_vec();
        while big.len() < MAX_HEAD_LEN + 10 {
            big.extend_from_slice(b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        assert_eq!(parse_head(&big), Err(HeadError::TooLong));
    }

    #[test]
    fn content_length() {
        let b = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n";
        assert_eq!(parse_head(b).unwrap().content_length(b), Ok(Some(12)));
        let b = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(parse_head(b).unwrap().content_length(b).is_err());
    }

    #[test]
    fn dechunk_puts_the_chunks_together() {
        let body = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: y\r\n\r\nNEXT";
        let (len, data) = dechunk(body, 1000).unwrap().unwrap();
        assert_eq!(data, b"hello, world");
        assert_eq!(&body[len..], b"NEXT");
        for cut in 0..len {
            assert_eq!(dechunk(&body[..cut], 1000), Ok(None), "cut at {cut}");
        }
        assert!(dechunk(b"zz\r\n", 1000).is_err());
        assert!(dechunk(b"5\r\nhelloXX", 1000).is_err());
        assert!(dechunk(b"ffff\r\n", 100).is_err());
    }

    proptest::proptest! {
        #[test]
        fn dechunk_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = dechunk(&bytes, 64);
        }

        #[test]
        fn find_lf_finds_the_first_lf(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            proptest::prop_assert_eq!(find_lf(&bytes), bytes.iter().position(|&b| b == b'\n'));
        }

        #[test]
        fn parse_head_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            if let Ok(h) = parse_head(&bytes) {
                let _ = h.fields(&bytes, 0);
                let _ = h.describe(&bytes);
                proptest::prop_assert!(h.len <= bytes.len());
            }
        }
    }
}
