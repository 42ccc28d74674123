//! Exports: a capture as one web page to click through, or its ladder diagram as an image.
//!
//! `wirelab dissect FILE --export trace.html` writes a single self-contained page, for a class
//! to open on any computer without wirelab: the TCP conversations drawn as ladder diagrams
//! (an inline SVG image, one arrow per segment), the list of packets, and for the packet you
//! click (or reach with the arrow keys) its layer tree, every layer placed on the OSI and
//! TCP/IP models, every field with its explanation, and its bytes coloured by layer. The page
//! carries its own style and script and fetches nothing: it works offline and from a USB stick.
//!
//! The packets are embedded as JSON in the shape of the JSON view ([`super::json::packet`]),
//! with what a page needs besides: the frame's bytes (`bytes`, in hex), each layer's colour
//! (`color`, the one the terminal views use), a field's value as a person reads it where it
//! differs from tshark's (`display`), and once for the whole page, each field's explanation
//! by field name (`explain`).
//!
//! `--export ladder.svg` writes only the ladder diagram, as a standalone SVG image.
//!
//! A capture of a million packets would make a page no browser opens: at most `--export-max`
//! packets (2000 by default) are embedded, and the page and the command both say so.

pub mod ladder_svg;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use colored::Color;
use serde_json::{Value as J, json};

use super::json;
use crate::dissect::model::{Dissection, Proto, Timestamp};

/// An export being filled, one packet at a time.
pub struct Export {
    path: PathBuf,
    /// What the page is called: the capture's file name.
    title: String,
    max: usize,
    packets: Vec<J>,
    /// Each field's explanation, once per field name (the packets would repeat them).
    explain: serde_json::Map<String, J>,
    ladder: ladder_svg::Ladder,
    /// Every packet offered, embedded or not.
    total: u64,
    first: Option<Timestamp>,
}

/// Is this path an SVG image (else a page)?
fn is_svg(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("svg"))
}

impl Export {
    /// An export to `path` of the packets of `title` (the capture's name), at most `max`.
    pub fn new(path: &Path, title: &str, max: usize) -> Export {
        Export {
            path: path.to_path_buf(),
            title: title.to_string(),
            max: max.max(1),
            packets: Vec::new(),
            explain: serde_json::Map::new(),
            ladder: ladder_svg::Ladder::default(),
            total: 0,
            first: None,
        }
    }

    /// Add one packet (after the stream analysis has seen it, so that it carries relative
    /// sequence numbers and its conversation's number).
    pub fn add(&mut self, d: &Dissection) {
        self.total += 1;
        if self.packets.len() >= self.max {
            return;
        }
        if self.first.is_none() {
            // The capture's first packet (the pipeline's), even when it is filtered out.
            self.first = d.capture_start.or(d.ts);
        }
        let index = self.packets.len();
        self.ladder.add(index, d, self.first);
        if !is_svg(&self.path) {
            self.packets.push(page_packet(
                d,
                self.first.unwrap_or_default(),
                &mut self.explain,
            ));
        } else {
            self.packets.push(J::Null);
        }
    }

    /// How many packets were offered and how many are embedded.
    pub fn counts(&self) -> (u64, usize) {
        (self.total, self.packets.len())
    }

    /// What the export says about the packets it left out, if any.
    fn cap_note(&self) -> Option<String> {
        let (total, kept) = self.counts();
        (total > kept as u64).then(|| {
            format!(
                "only the first {kept} of {total} packets are in this export (--export-max {})",
                self.max
            )
        })
    }

    /// The ladder diagram as a standalone SVG image.
    pub fn svg(&self) -> String {
        self.ladder.svg(true, self.cap_note().as_deref())
    }

    /// The page.
    pub fn html(&self) -> String {
        let file = self.title.clone();
        let (total, kept) = self.counts();
        let data = json!({
            "title": file,
            "total": total,
            "embedded": kept,
            "note": self.cap_note(),
            "explain": self.explain,
            "packets": self.packets,
        });
        page(&file, &self.ladder.svg(false, None), &data, self.cap_note())
    }

    /// Write the file; returns a line saying what was written.
    pub fn write(&self, _color: bool) -> std::io::Result<String> {
        let (text, what) = if is_svg(&self.path) {
            (self.svg(), "the ladder diagram")
        } else {
            (self.html(), "a page")
        };
        std::fs::write(&self.path, text)?;
        let (total, kept) = self.counts();
        let mut note = format!(
            "wrote {what} with {kept} packet{} ({} TCP segment{} drawn) to {}",
            if kept == 1 { "" } else { "s" },
            self.ladder.arrows(),
            if self.ladder.arrows() == 1 { "" } else { "s" },
            self.path.display()
        );
        if total > kept as u64 {
            let _ = write!(
                note,
                "; {} more were left out (--export-max {})",
                total - kept as u64,
                self.max
            );
        }
        Ok(note)
    }
}

/// A colour of the terminal views as CSS, chosen to read on a white page.
pub fn css_color(c: Option<Color>) -> &'static str {
    match c {
        Some(Color::Blue) => "#2563eb",
        Some(Color::Cyan) => "#0e7490",
        Some(Color::Green) => "#15803d",
        Some(Color::Magenta) => "#a21caf",
        Some(Color::BrightMagenta) => "#db2777",
        Some(Color::BrightBlue) => "#4f46e5",
        Some(Color::Red) => "#dc2626",
        _ => "#57534e",
    }
}

/// One packet as the page needs it: the JSON view's object, plus bytes, colours, each
/// field's value as a person reads it and the one-line summary. Explanations go into
/// `explain`, by field name.
fn page_packet(d: &Dissection, first: Timestamp, explain: &mut serde_json::Map<String, J>) -> J {
    let mut p = json::packet(d);
    if let Some(layers) = p.get_mut("layers").and_then(J::as_array_mut) {
        for (l, obj) in d.layers.iter().zip(layers.iter_mut()) {
            obj["color"] = json!(css_color(super::proto_color(l.proto)));
            let fields = d.layer_fields(l);
            if let Some(arr) = obj.get_mut("fields").and_then(J::as_array_mut) {
                for (f, fo) in fields.iter().zip(arr.iter_mut()) {
                    if !f.explain.is_empty() && !explain.contains_key(f.name) {
                        explain.insert(f.name.to_string(), json!(f.explain));
                    }
                    let shown = f.display(&d.data);
                    if fo.get("value").and_then(J::as_str) != Some(shown.as_str()) {
                        fo["display"] = json!(shown);
                    }
                }
            }
            if l.proto == Proto::Frame {
                obj["color"] = json!(css_color(None));
            }
        }
    }
    let mut hex = String::with_capacity(d.data.len() * 2);
    for b in &d.data {
        let _ = write!(hex, "{b:02x}");
    }
    p["bytes"] = json!(hex);
    let mut line = String::new();
    super::summary::line(d, first, false, &mut line);
    p["line"] = json!(line.trim_end());
    p["t"] = json!(d.ts.map(|t| t.since(d.capture_start.unwrap_or(first))));
    p
}

/// JSON that can sit inside a `<script>` element: every `<` written as `\u003c`, so no
/// `</script>` or `<!--` in a packet's bytes can end the element early.
fn script_json(v: &J) -> String {
    v.to_string().replace('<', "\\u003c")
}

/// Text for HTML: `&`, `<`, `>` and quotes escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML, even escaped.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = include_str!("page.css");
const JS: &str = include_str!("page.js");

fn page(title: &str, svg: &str, data: &J, note: Option<String>) -> String {
    let mut s = String::with_capacity(svg.len() + 4096);
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // Nothing may be fetched: no scripts, styles, images or fonts from anywhere.
    s.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n",
    );
    let _ = writeln!(s, "<title>{} — wirelab</title>", escape(title));
    let _ = writeln!(s, "<style>\n{CSS}</style>\n</head>\n<body>");
    let _ = writeln!(
        s,
        "<header><h1>{}</h1><p>Made by <code>wirelab dissect --export</code>. Click a packet in \
         the list or an arrow of the ladder to take it apart; ↑ and ↓ (or j and k) move \
         through the packets.</p>\n<div id=\"font\" role=\"group\" aria-label=\"Text size\">\
         <button type=\"button\" id=\"font-down\" title=\"Smaller text (-)\">A−</button>\
         <button type=\"button\" id=\"font-up\" title=\"Larger text (+)\">A+</button>\
         <span id=\"font-size\"></span></div>",
        escape(title)
    );
    if let Some(n) = note {
        let _ = writeln!(
            s,
            "<p class=\"note\" id=\"cap-note\">Note: {}.</p>",
            escape(&n)
        );
    }
    // The ladder across the top (foldable), then the list and the chosen packet side by side,
    // and inside the packet its fields beside its bytes (see page.css).
    s.push_str("</header>\n<details id=\"ladder\" open aria-label=\"Ladder diagram\">\n<summary>TCP conversations</summary>\n<div id=\"ladder-pane\">\n");
    s.push_str(svg);
    s.push_str("\n</div>\n</details>\n<main>\n<section id=\"list\" aria-label=\"Packets\">\n<h2>Packets</h2>\n<ol id=\"packets\" tabindex=\"0\"></ol>\n</section>\n");
    s.push_str("<section id=\"detail\" aria-label=\"The selected packet\">\n<h2 id=\"detail-title\">Pick a packet</h2>\n<div id=\"detail-body\">\n<div id=\"layers\"></div>\n<div id=\"bytes\">\n<h3>Bytes</h3>\n<pre id=\"hex\"></pre>\n</div>\n</div>\n</section>\n</main>\n<span id=\"measure\" aria-hidden=\"true\">0</span>\n");
    let _ = writeln!(
        s,
        "<script type=\"application/json\" id=\"data\">{}</script>",
        script_json(data)
    );
    let _ = writeln!(s, "<script>\n{JS}</script>\n</body>\n</html>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_element() {
        let v = json!({"x": "</script><!--"});
        let s = script_json(&v);
        assert!(!s.contains('<'));
        let back: J = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn escape_is_safe_for_xml() {
        assert_eq!(
            escape("a<b & \"c\"\u{1}"),
            "a&lt;b &amp; &quot;c&quot;\u{fffd}"
        );
    }
}
