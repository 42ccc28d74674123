//! `--follow`: a conversation's bytes as the two programs wrote them, like Wireshark's
//! "Follow TCP Stream".
//!
//! Each run of bytes is shown in the order it was sent, marked with the side that sent it:
//! `▶` for A (the end that sent first, usually the client), `◀` for B. In text mode printable
//! characters are shown as they are, a line feed ends the line, and everything else is
//! escaped (`\r`, `\t`, `\x00`), so the CR LF that ends each HTTP line is visible. In hex mode
//! each run is a hex dump with the offsets of that side's stream, B's indented as Wireshark
//! does. Colour (A red, B blue, as in Wireshark) is optional: the marks say the same.

use std::fmt::Write;

use colored::Colorize;

use crate::stream::conversation::Side;
use crate::stream::follow::{FollowItem, FollowLog};

/// How to show the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FollowMode {
    /// Text, with everything unprintable escaped.
    Text,
    /// A hex dump with the printable characters beside it.
    Hex,
}

fn mark(side: Side) -> &'static str {
    match side {
        Side::AtoB => "▶",
        Side::BtoA => "◀",
    }
}

fn name(side: Side) -> &'static str {
    match side {
        Side::AtoB => "A",
        Side::BtoA => "B",
    }
}

fn paint(s: &str, side: Side, color: bool) -> String {
    if !color {
        return s.to_string();
    }
    match side {
        Side::AtoB => s.red().to_string(),
        Side::BtoA => s.blue().to_string(),
    }
}

fn frames(first: u64, last: u64) -> String {
    if first == last {
        format!("frame {first}")
    } else {
        format!("frames {first}–{last}")
    }
}

/// Show one followed conversation.
pub fn log(log: &FollowLog, mode: FollowMode, color: bool, out: &mut String) {
    let title = format!(
        "Follow TCP stream {}: A = {} (▶), B = {} (◀); A sent {} bytes, B sent {} bytes",
        log.stream, log.a, log.b, log.total[0], log.total[1]
    );
    let _ = writeln!(
        out,
        "{}",
        if color {
            title.bold().to_string()
        } else {
            title
        }
    );
    if log.items.is_empty() {
        let _ = writeln!(out, "  (no data in either direction)");
    }
    for item in &log.items {
        match item {
            FollowItem::Data {
                side,
                at,
                bytes,
                first_frame,
                last_frame,
            } => {
                let head = format!(
                    "{} {}→{} {} bytes at offset {} ({})",
                    mark(*side),
                    name(*side),
                    name(side.other()),
                    bytes.len(),
                    at,
                    frames(*first_frame, *last_frame)
                );
                let _ = writeln!(out, "{}", paint(&head, *side, color));
                match mode {
                    FollowMode::Text => text(bytes, *side, color, out),
                    FollowMode::Hex => hex(bytes, *at, *side, color, out),
                }
            }
            FollowItem::Gap {
                side,
                at,
                len,
                reason,
            } => {
                let _ = writeln!(
                    out,
                    "{} [… {} bytes from {} missing at offset {}: {} …]",
                    mark(*side),
                    len,
                    name(*side),
                    at,
                    reason.explain()
                );
            }
            FollowItem::Fin { side, at } => {
                let _ = writeln!(
                    out,
                    "{} [{} closed its direction (FIN) after {} bytes]",
                    mark(*side),
                    name(*side),
                    at
                );
            }
            FollowItem::Reset { side, at } => {
                let _ = writeln!(
                    out,
                    "{} [{} aborted the connection (RST) after {} bytes]",
                    mark(*side),
                    name(*side),
                    at
                );
            }
        }
    }
    for side in [Side::AtoB, Side::BtoA] {
        let n = log.not_kept[side.index()];
        if n > 0 {
            let _ = writeln!(
                out,
                "{} [… {} more bytes from {} not kept: following keeps at most {} bytes per conversation …]",
                mark(side),
                n,
                name(side),
                log.limit
            );
        }
    }
}

/// Text with line feeds as line breaks and everything else unprintable escaped.
fn text(bytes: &[u8], side: Side, color: bool, out: &mut String) {
    let mut line = String::new();
    let flush = |line: &mut String, out: &mut String| {
        let _ = writeln!(out, "{} {}", mark(side), paint(line, side, color));
        line.clear();
    };
    for &b in bytes {
        match b {
            b'\n' => {
                line.push_str("\\n");
                flush(&mut line, out);
            }
            b'\r' => line.push_str("\\r"),
            b'\t' => line.push_str("\\t"),
            b'\\' => line.push_str("\\\\"),
            0x20..=0x7e => line.push(b as char),
            _ => {
                let _ = write!(line, "\\x{b:02x}");
            }
        }
        if line.len() >= 160 {
            flush(&mut line, out);
        }
    }
    if !line.is_empty() {
        flush(&mut line, out);
    }
}

/// A hex dump, 16 bytes a line, offsets counted in this side's stream.
fn hex(bytes: &[u8], at: u64, side: Side, color: bool, out: &mut String) {
    let indent = if side == Side::BtoA { "    " } else { "" };
    for (i, chunk) in bytes.chunks(16).enumerate() {
        let mut l = format!("{indent}{:08x}  ", at + (i * 16) as u64);
        for j in 0..16 {
            match chunk.get(j) {
                Some(b) => {
                    let _ = write!(l, "{b:02x} ");
                }
                None => l.push_str("   "),
            }
            if j == 7 {
                l.push(' ');
            }
        }
        l.push(' ');
        for &b in chunk {
            l.push(if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            });
        }
        let _ = writeln!(out, "{} {}", mark(side), paint(&l, side, color));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::conversation::Endpoint;

    fn sample() -> FollowLog {
        let ep = |p| Endpoint {
            addr: "10.0.0.1".parse().unwrap(),
            port: p,
        };
        let mut l = FollowLog::new(0, ep(5000), ep(80), 1 << 20);
        l.data(Side::AtoB, 0, b"GET / HTTP/1.1\r\n\r\n", (4, 4));
        l.data(Side::BtoA, 0, b"HTTP/1.1 200 OK\r\n\r\nhi\x00", (6, 7));
        l.push(FollowItem::Fin {
            side: Side::AtoB,
            at: 18,
        });
        l
    }

    #[test]
    fn log_text_marks_sides_and_escapes() {
        let mut out = String::new();
        log(&sample(), FollowMode::Text, false, &mut out);
        assert!(out.contains("▶ GET / HTTP/1.1\\r\\n\n"), "{out}");
        assert!(out.contains("◀ hi\\x00\n"), "{out}");
        assert!(out.contains("frames 6–7"), "{out}");
        assert!(out.contains("[A closed its direction (FIN) after 18 bytes]"));
    }

    #[test]
    fn log_hex_indents_b() {
        let mut out = String::new();
        log(&sample(), FollowMode::Hex, false, &mut out);
        assert!(
            out.contains(
                "▶ 00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 31 0d 0a  GET / HTTP/1.1.."
            ),
            "{out}"
        );
        assert!(out.contains("◀     00000000  48 54 54 50"), "{out}");
    }
}
