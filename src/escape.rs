//! Text a peer wrote, made safe to print.
//!
//! # The idea
//!
//! A terminal does not only show the bytes it is given: it *obeys* some of them. ESC (`\x1b`)
//! starts a control sequence: `ESC [ 2 J` clears the screen (CSI, "control sequence
//! introducer"), `ESC ] 0 ; title BEL` renames the window (OSC, "operating system command"),
//! and some terminals answer certain sequences by typing text back into the shell. BEL rings,
//! CR (`\r`) moves back to the start of the line, so that what follows overwrites it; LF starts
//! a new line, so a chat message containing `\r\nconnect  FAKE` would look like a line the
//! server itself wrote. Log files read later with `cat` or `less -R` obey the same bytes.
//!
//! Everything a peer controls (an event name, a room name, chat text, an HTTP header, the bytes
//! of a datagram) therefore goes through [`push_char`] before it reaches a terminal or a log:
//! the characters a terminal would obey are written out visibly instead, as `\x1b`, `\r`,
//! `\u{9b}`. Every other character, accented letters and emoji included, is left as it is.
//!
//! What counts as dangerous:
//!
//! * the C0 controls U+0000–U+001F (ESC, BEL, CR, LF, TAB, backspace…) and DEL (U+007F),
//!   written `\n`, `\r`, `\t` or `\xNN`; LF and TAB may be kept where a text is shown as lines
//!   ([`Style::Lines`]);
//! * the C1 controls U+0080–U+009F (U+009B is a one-character CSI for some terminals),
//!   written `\u{9b}`;
//! * the Unicode direction marks and overrides (U+202E turns the rest of a line around, which
//!   makes `txt.exe` read as `exe.txt`) and the line and paragraph separators U+2028 and
//!   U+2029, written `\u{202e}`.
//!
//! Bytes that are not text (a TCP payload, a datagram) are shown byte by byte: printable ASCII
//! as it is, every other byte as `\xNN` ([`push_byte`]).

use std::borrow::Cow;

/// How a text is going to be shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// On one line (a log line, a field value): every control is escaped, LF and TAB too.
    Line,
    /// As lines of text (a chat message printed on its own, data received by `tcp serve`):
    /// LF and TAB are kept, every other control is escaped (CR too: it would overwrite).
    Lines,
    /// Inside double quotes: like `Line`, and `"` and `\` are escaped as well, so the quoted
    /// text reads back unambiguously.
    Quoted,
}

/// The one rule: write `c` so that a terminal shows it and does not obey it.
pub fn push_char(out: &mut String, c: char, style: Style) {
    use std::fmt::Write;
    match c {
        '\n' if style == Style::Lines => out.push('\n'),
        '\t' if style == Style::Lines => out.push('\t'),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '"' | '\\' if style == Style::Quoted => {
            out.push('\\');
            out.push(c);
        }
        '\0'..='\x1f' | '\x7f' => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if is_hidden(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// Characters above ASCII that a terminal or a text layout obeys rather than shows.
fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{80}'..='\u{9f}'            // C1 controls
        | '\u{61c}'                    // Arabic letter mark
        | '\u{200e}' | '\u{200f}'      // left-to-right / right-to-left mark
        | '\u{2028}' | '\u{2029}'      // line and paragraph separators
        | '\u{202a}'..='\u{202e}'      // direction embeddings and overrides
        | '\u{2066}'..='\u{2069}'      // direction isolates
    )
}

/// Does `c` need escaping in this style?
fn needs(c: char, style: Style) -> bool {
    match c {
        '\n' | '\t' => style != Style::Lines,
        '"' | '\\' => style == Style::Quoted,
        '\0'..='\x1f' | '\x7f' => true,
        c => is_hidden(c),
    }
}

/// May the character at byte `i` of a UTF-8 text need escaping? A fast first look, a byte at
/// a time, at text that is almost always harmless (descriptions hold `→`). ASCII needs it unless
/// `plain`. Above ASCII only the characters of [`is_hidden`] can, and their UTF-8 forms start
/// with the byte C2 (U+0080–U+009F), D8 (U+061C) or E2 followed by 80 or 81 (U+200E–U+2069):
/// every other byte (inside a character, or starting one such as `→`, E2 86 92) is skipped.
/// Where this says yes the byte starts a character, and [`needs`] decides.
fn may_need(bytes: &[u8], i: usize, plain: impl Fn(u8) -> bool) -> bool {
    match bytes[i] {
        b if b < 0x80 => !plain(b),
        0xc2 | 0xd8 => true,
        0xe2 => matches!(bytes.get(i + 1), Some(0x80 | 0x81)),
        _ => false,
    }
}

/// `s` made safe to print in `style`; borrowed when nothing needed escaping (the common case
/// costs one scan and no copy).
pub fn escape_as(s: &str, style: Style) -> Cow<'_, str> {
    // Printable ASCII never needs escaping (but for quotes and backslashes when quoted): skip
    // it a byte at a time, then look at characters from the first byte that may.
    let quoted = style == Style::Quoted;
    let plain = |b: u8| (0x20..0x7f).contains(&b) && !(quoted && (b == b'"' || b == b'\\'));
    let bytes = s.as_bytes();
    let scan = (0..bytes.len())
        .position(|i| may_need(bytes, i, plain))
        .unwrap_or(s.len());
    let Some(first) = s[scan..].find(|c| needs(c, style)).map(|i| scan + i) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        push_char(&mut out, c, style);
    }
    Cow::Owned(out)
}

/// `s` made safe to print on one line.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_as(s, Style::Line)
}

/// `s` made safe to print as lines: line breaks and tabs kept, every other control escaped.
pub fn escape_lines(s: &str) -> Cow<'_, str> {
    escape_as(s, Style::Lines)
}

/// An owned string made safe to print on one line (no copy when nothing needed escaping).
pub fn escaped(s: String) -> String {
    match escape(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(o) => o,
    }
}

/// Make the end of `out`, from byte `start` (a character boundary), safe to print on one
/// line, in place: nothing is copied when nothing needed escaping.
pub fn escape_tail(out: &mut String, start: usize) {
    if let Cow::Owned(e) = escape(&out[start..]) {
        out.truncate(start);
        out.push_str(&e);
    }
}

/// Write one byte of binary data: printable ASCII as it is, any other byte as `\xNN` (through
/// [`push_char`] for the ASCII controls, so `\n` and `\r` read as usual).
pub fn push_byte(out: &mut String, b: u8, style: Style) {
    use std::fmt::Write;
    if b < 0x80 {
        push_char(out, b as char, style);
    } else {
        let _ = write!(out, "\\x{b:02x}");
    }
}

/// Bytes that may or may not be text, for printing as lines: valid UTF-8 is shown as text
/// (escaped in `style`), every byte that is not part of valid UTF-8 as `\xNN`.
pub fn escape_bytes(bytes: &[u8], style: Style) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(&mut out, c, style);
        }
        for &b in chunk.invalid() {
            use std::fmt::Write;
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// A byte string as a short quoted literal, `"hello\n"`: at most `max` bytes of it, then
/// `… (N bytes)` saying how long it was.
pub fn quote(data: &[u8], max: usize) -> String {
    let mut s = String::from("\"");
    for &b in data.iter().take(max) {
        push_byte(&mut s, b, Style::Quoted);
    }
    s.push('"');
    if data.len() > max {
        use std::fmt::Write;
        let _ = write!(s, "… ({} bytes)", data.len());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_shows_what_a_terminal_would_obey() {
        assert_eq!(escape("plain text, é ✓"), "plain text, é ✓");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(escape("\x1b]0;owned\x07"), "\\x1b]0;owned\\x07");
        assert_eq!(escape("\x1b[2J"), "\\x1b[2J");
        assert_eq!(escape("a\r\nconnect  FAKE"), "a\\r\\nconnect  FAKE");
        assert_eq!(escape("\x7f\x00\t"), "\\x7f\\x00\\t");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape("txt\u{202e}exe"), "txt\\u{202e}exe");
        assert_eq!(escape("a\\b\"c"), "a\\b\"c");
    }

    #[test]
    fn lines_keep_newlines_and_tabs_only() {
        assert_eq!(escape_lines("one\ntwo\tx\r\n"), "one\ntwo\tx\\r\n");
        assert_eq!(escape_lines("\x1b[31mred"), "\\x1b[31mred");
    }

    #[test]
    fn bytes_keep_text_and_mark_the_rest() {
        assert_eq!(
            escape_bytes(b"caf\xc3\xa9 \xff\x1b", Style::Lines),
            "café \\xff\\x1b"
        );
        assert_eq!(escape_bytes(b"a\nb", Style::Line), "a\\nb");
    }

    #[test]
    fn quote_cuts_and_escapes_every_byte() {
        assert_eq!(quote(b"hello\n", 40), "\"hello\\n\"");
        assert_eq!(quote(b"\"\\\x1b\xc3", 40), "\"\\\"\\\\\\x1b\\xc3\"");
        assert_eq!(quote(b"abcdef", 3), "\"abc\"… (6 bytes)");
    }

    proptest::proptest! {
        /// The byte scan of `escape_as` (`may_need`) changes nothing: the result is the rule
        /// applied to every character, and borrowed exactly when no character needed it.
        #[test]
        fn byte_scan_agrees_with_the_character_rule(
            s in "([ -~]|[\u{0}-\u{1f}\u{7f}-\u{a0}]|[→é✓\u{61c}\u{200d}-\u{2030}\u{2060}-\u{2070}]|.){0,24}",
        ) {
            for style in [Style::Line, Style::Lines, Style::Quoted] {
                let mut want = String::new();
                for c in s.chars() {
                    push_char(&mut want, c, style);
                }
                let got = escape_as(&s, style);
                proptest::prop_assert_eq!(got.as_ref(), want.as_str());
                let none = !s.chars().any(|c| needs(c, style));
                proptest::prop_assert_eq!(matches!(got, Cow::Borrowed(_)), none);
            }
        }
    }

    /// Every character up to U+3000, alone and between plain ones and `→`: the byte scan
    /// finds each one that needs escaping.
    #[test]
    fn byte_scan_misses_no_character() {
        for style in [Style::Line, Style::Lines, Style::Quoted] {
            for u in 0..0x3000u32 {
                let Some(c) = char::from_u32(u) else { continue };
                for s in [c.to_string(), format!("a→{c}b")] {
                    let mut want = String::new();
                    for c in s.chars() {
                        push_char(&mut want, c, style);
                    }
                    assert_eq!(escape_as(&s, style), want, "{u:#x} in {style:?}");
                }
            }
        }
    }

    #[test]
    fn nothing_dangerous_survives_any_input() {
        // Every char up to U+3000 on its own, in every style: no C0 (but LF/TAB in Lines),
        // no DEL, no C1, no direction control in the output.
        for style in [Style::Line, Style::Lines, Style::Quoted] {
            for u in 0..0x3000u32 {
                let Some(c) = char::from_u32(u) else { continue };
                let mut out = String::new();
                push_char(&mut out, c, style);
                for o in out.chars() {
                    let kept = style == Style::Lines && (o == '\n' || o == '\t');
                    assert!(
                        kept || !(o.is_control() || is_hidden(o)),
                        "{u:#x} in {style:?} gave {out:?}"
                    );
                }
            }
        }
    }
}
