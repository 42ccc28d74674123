//! The views: ways to show a [`Dissection`].
//!
//! * [`summary`]: one line a packet, like tcpdump: number, time, who → whom, protocol, what.
//! * [`layers`]: the layer tree, each layer placed on the OSI and TCP/IP models, each field
//!   with its value, its Wireshark name and what it is for.
//! * [`hex`]: the bytes themselves, each coloured (or, without colour, labelled) by the layer
//!   it belongs to.
//! * [`ladder`]: each TCP conversation as a sequence diagram, one arrow per segment.
//! * [`stats`], [`follow`], [`graph`]: reports over whole conversations (`--stats`,
//!   `--follow`, `--graph`), from [`crate::stream`].
//! * [`export`]: a capture as one self-contained web page, or its ladder as an SVG image.
//! * [`fields`]: chosen fields as columns, one row a packet, as `tshark -T fields -e …`.
//! * [`json`]: one JSON object a packet, with a flat `fields` map that uses Wireshark's field
//!   names and writes every value exactly as `tshark -T fields` does.
//!
//! Every view writes into a `String` first and the [`Printer`] sends it out through one
//! buffered writer, so a million packets cost a million appends, not a million system calls.
//!
//! # Colour
//!
//! Colour is a help, never the only way something is said: each view must read the same in
//! black and white (a log file, a pipe, `NO_COLOR`, a projector with washed-out colours). Every
//! protocol has one colour ([`proto_color`]) used everywhere: the layer headings of the tree,
//! the bytes of the hex dump and the key of its legend.

pub mod export;
pub mod fields;
pub mod follow;
pub mod graph;
pub mod hex;
pub mod json;
pub mod ladder;
pub mod layers;
pub mod rtt;
pub mod stats;
pub mod summary;
pub mod thread;

use std::fmt::Write as _;
use std::io::{self, Write};

use clap::ValueEnum;
use colored::{Color, Colorize};

use crate::dissect::model::{Dissection, Problem, Proto, Timestamp};

/// Which view to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum View {
    /// One line a packet, like tcpdump.
    #[default]
    Summary,
    /// Every layer and field, placed on the OSI and TCP/IP models, with explanations.
    Layers,
    /// The bytes, coloured by layer.
    Hex,
    /// JSON Lines: one object a packet, with Wireshark's field names and tshark's formatting.
    Json,
    /// A sequence diagram of each TCP conversation: one arrow per segment between the two
    /// ends, with flags, seq/ack, window, length and socket states.
    Ladder,
    /// Chosen fields as columns, one row a packet (name them with -e, as tshark -T fields).
    Fields,
}

/// How to render.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub view: View,
    /// Use colour (escape codes).
    pub color: bool,
    /// A field name whose bytes the hex view highlights (`--field tcp.flags`); the layer tree
    /// marks its line.
    pub highlight: Option<String>,
    /// Terminal width to fit into (0 means the default, 100).
    pub width: usize,
    /// Cut every line to `width` (ending it in `…`) and say so at the end: set when the width
    /// is the screen's (a terminal, or `COLUMNS`). Output piped to a file or a program keeps
    /// its whole lines, for `grep` and friends (the views still lay out in `width`).
    pub fit: bool,
    /// Show TCP sequence and acknowledgment numbers as written on the wire (the summary
    /// instead of the relative ones, the ladder next to them), as tshark does with
    /// `tcp.relative_sequence_numbers:FALSE`.
    pub absolute: bool,
    /// The fields view's columns (`-e`) and how they are laid out (`-E`).
    pub columns: fields::Columns,
    pub layout: fields::Layout,
}

impl Options {
    /// The width to lay text out in: never less than 40, 100 if not set.
    pub fn width(&self) -> usize {
        match self.width {
            0 => 100,
            w => w.max(40),
        }
    }
}

/// Prints dissections one after another in the chosen view.
pub struct Printer<W: Write> {
    out: W,
    pub opts: Options,
    /// The first packet's time, so views can show times relative to it.
    first: Option<Timestamp>,
    buf: String,
    /// The ladder view's memory of the conversations drawn so far.
    ladder: ladder::Ladder,
    /// Write [`crate::instructor::MARK`] before each packet, for a parent process that steps
    /// through this one's output (`wirelab lesson --step`).
    marks: bool,
    /// How many lines were cut to the width (see [`Options::fit`]).
    pub clipped: u64,
    /// The fields view wrote its header line.
    headed: bool,
}

impl<W: Write> Printer<W> {
    /// A printer for `out`.
    ///
    /// With `opts.color` set it tells the `colored` crate to colour even when standard output
    /// is not a terminal (a test capturing output, `--color always | less -R`). Without it,
    /// the views never ask `colored` for a colour at all, so its global setting does not
    /// matter.
    pub fn new(out: W, opts: Options) -> Printer<W> {
        if opts.color {
            colored::control::set_override(true);
        }
        Printer {
            out,
            opts,
            first: None,
            buf: String::with_capacity(4096),
            ladder: ladder::Ladder::new(),
            marks: crate::instructor::marks_wanted(),
            clipped: 0,
            headed: false,
        }
    }

    /// Render one packet. Times count from the capture's first packet (the pipeline's
    /// `capture_start`; for a dissection made without it, the first packet printed).
    pub fn print(&mut self, d: &Dissection) -> io::Result<()> {
        if self.first.is_none() {
            self.first = d.capture_start.or(d.ts);
        }
        let first = d.capture_start.or(self.first).unwrap_or_default();
        self.buf.clear();
        match self.opts.view {
            View::Summary => {
                summary::line_with(d, first, self.opts.color, self.opts.absolute, &mut self.buf)
            }
            View::Layers => layers::tree(d, first, &self.opts, &mut self.buf),
            View::Hex => hex::dump(d, first, &self.opts, &mut self.buf),
            View::Json => json::line(d, &mut self.buf),
            View::Ladder => self.ladder.packet(d, &self.opts, &mut self.buf),
            View::Fields => {
                self.fields_header()?;
                fields::row(d, &self.opts.columns, &self.opts.layout, &mut self.buf)
            }
        }
        // JSON Lines and the fields view (tshark's -T fields) are for programs: never cut.
        if self.opts.fit && !matches!(self.opts.view, View::Json | View::Fields) {
            self.clipped += fit_lines(&mut self.buf, self.opts.width());
        }
        if self.marks && !self.buf.is_empty() {
            self.out.write_all(&[crate::instructor::MARK as u8])?;
        }
        self.out.write_all(self.buf.as_bytes())
    }

    /// The fields view's header line (`-E header=y`), once, before the first row (or at the
    /// end, when no packet was shown, as tshark does).
    fn fields_header(&mut self) -> io::Result<()> {
        if self.headed || !self.opts.layout.header {
            return Ok(());
        }
        self.headed = true;
        let mut line = String::new();
        fields::header(&self.opts.columns, &self.opts.layout, &mut line);
        self.out.write_all(line.as_bytes())
    }

    /// Write text (a note between packets, a heading, a report): as it is, or, when lines are
    /// fitted to the screen ([`Options::fit`]), wrapped to the width ([`fit_text`]). JSON
    /// Lines are never touched.
    pub fn text(&mut self, s: &str) -> io::Result<()> {
        if self.opts.fit && self.opts.view != View::Json {
            let (fitted, cut) = fit_text(s, self.opts.width());
            self.clipped += cut;
            return self.out.write_all(fitted.as_bytes());
        }
        self.out.write_all(s.as_bytes())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The packets are over: write what a view keeps until the end (the ladder's count of
    /// packets it did not draw), then flush.
    ///
    /// Lines cut to the width are counted and said once, on standard error (so that standard
    /// output stays the view itself): [`clip_note`].
    pub fn finish(&mut self) -> io::Result<()> {
        if self.opts.view == View::Ladder {
            self.buf.clear();
            self.ladder.finish(&self.opts, &mut self.buf);
            if self.opts.fit {
                self.clipped += fit_lines(&mut self.buf, self.opts.width());
            }
            self.out.write_all(self.buf.as_bytes())?;
        }
        if self.opts.view == View::Fields {
            self.fields_header()?;
        }
        self.out.flush()?;
        self.say_cut();
        Ok(())
    }

    /// Say on standard error how many lines were cut to the width since it was last said
    /// ([`clip_note`]), if any: for a command that ends its output with [`Printer::flush`]
    /// rather than [`Printer::finish`].
    pub fn say_cut(&mut self) {
        if let Some(note) = clip_note(self.clipped, self.opts.width()) {
            eprintln!("{}", fit_text(&note, self.opts.width()).0);
            self.clipped = 0;
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    /// The writer the printer writes into.
    pub fn writer_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// The time packets are shown relative to when a dissection has no `capture_start`: the
    /// first packet's ([`Printer::print`]). Set here from `d` if no packet was seen yet.
    pub fn first_time(&mut self, d: &Dissection) -> Option<Timestamp> {
        if self.first.is_none() {
            self.first = d.capture_start.or(d.ts);
        }
        self.first
    }

    /// Start counting times from `first` (a printer that draws part of a capture, on another
    /// thread, counts from the capture's first packet like the others).
    pub fn set_first_time(&mut self, first: Option<Timestamp>) {
        self.first = first;
    }

    /// Write text another printer drew (with the same options: [`thread`]), counting the
    /// lines it cut to the width.
    pub fn write_drawn(&mut self, text: &[u8], clipped: u64) -> io::Result<()> {
        self.clipped += clipped;
        self.out.write_all(text)
    }
}

/// The screen's width when there is one to fit: `$COLUMNS` if set (a number from 1 up), else
/// the width of the terminal that standard output is. `None` when output goes to a pipe or a
/// file: a student who writes to a file wants whole lines there, so nothing is cut (tables and
/// text are still laid out in 100 columns, see [`Options::width`]).
pub fn screen_width() -> Option<usize> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&c: &usize| c > 0)
        .or_else(|| terminal_size::terminal_size().map(|(w, _)| w.0 as usize))
}

/// The colour of a protocol, the same in every view, or `None` for the terminal's own text
/// colour. Neighbouring layers get colours that are easy to tell apart (blue link, green
/// network, magenta transport, cyan application). Only colours that read on both dark and
/// light backgrounds are used (projectors often show a white one): no white, no yellow. Red
/// is kept for problems and grey for bytes no layer claims.
pub fn proto_color(p: Proto) -> Option<Color> {
    Some(match p {
        Proto::Frame | Proto::Data => return None,
        Proto::Ethernet | Proto::Sll | Proto::Sll2 | Proto::Null => Color::Blue,
        Proto::Vlan | Proto::Llc => Color::Cyan,
        // ARP and ICMP never share a packet with an application protocol.
        Proto::Arp | Proto::Icmp | Proto::Icmpv6 => Color::Cyan,
        Proto::Ipv4 | Proto::Ipv6 => Color::Green,
        Proto::Tcp => Color::Magenta,
        Proto::Udp => Color::BrightMagenta,
        Proto::Dns | Proto::Http => Color::Cyan,
        Proto::WebSocket | Proto::EngineIo | Proto::SocketIo => Color::BrightBlue,
        Proto::Reg(p) => p.0.colour,
    })
}

/// The colour of bytes that no layer claims.
pub const UNCLAIMED_COLOR: Color = Color::BrightBlack;

/// The heading every multi-line view starts a packet with, drawn as a rule across the width:
///
/// ```text
/// ── Packet 1 ── 0.000000 s ── 74 bytes ── eth:ip:tcp ─────────────────────────
/// ```
pub fn packet_heading(d: &Dissection, first: Timestamp, opts: &Options, out: &mut String) {
    let width = opts.width();
    let mut text = format!("── Packet {} ", d.number);
    let cap = d.data.len();
    let mut parts = Vec::with_capacity(3);
    if let Some(ts) = d.ts {
        parts.push(format!("── {} s ", seconds_since(ts, first)));
    }
    if (d.wire_len as usize) > cap {
        parts.push(format!("── {cap} of {} bytes captured ", d.wire_len));
    } else {
        parts.push(format!("── {cap} bytes "));
    }
    let protos = d.protocols();
    if !protos.is_empty() {
        parts.push(format!("── {protos} "));
    }
    // Each part only if it fits, leaving room for the rule to end the line.
    for part in parts {
        if text.chars().count() + part.chars().count() + 2 <= width {
            text.push_str(&part);
        }
    }
    let used = text.chars().count();
    let fill = width.saturating_sub(used).max(2);
    text.push_str(&"─".repeat(fill));
    if opts.color {
        let _ = write!(out, "{}", text.bold());
    } else {
        out.push_str(&text);
    }
    out.push('\n');
}

/// Seconds from `first` to `ts` with six decimals (`0.002259`), rounded in whole
/// nanoseconds: the one way every view writes a packet's time.
pub fn seconds_since(ts: Timestamp, first: Timestamp) -> String {
    let mut s = String::with_capacity(12);
    summary::push_seconds(&mut s, ts, first);
    s.trim_start().to_string()
}

/// A byte range as a person counts it: `14–33` (first and last byte), `—` if empty.
pub fn byte_range(at: u32, len: u32) -> String {
    match len {
        0 => "—".to_string(),
        1 => format!("{at}"),
        _ => format!("{at}–{}", at + len - 1),
    }
}

/// The bytes layer `i` covers, for display, as `(first byte, length)`. The frame record
/// covers the whole frame. A header the capture cut off (a truncation problem at the innermost
/// layer) covers everything up to the end of what was captured: the engine records only the
/// fields it could read whole, but the bytes after them are still the start of that header.
pub fn layer_range(d: &Dissection, i: usize) -> (u32, u32) {
    let l = &d.layers[i];
    let cap = d.data.len() as u32;
    if l.proto == Proto::Frame {
        return (0, cap);
    }
    let innermost = d.layers[i + 1..].iter().all(|m| m.len == 0);
    let cut = d.problems.iter().any(|p| {
        p.kind == crate::dissect::model::ProblemKind::Truncated && problem_layer(d, p) == i
    });
    if innermost && cut && l.at < cap && l.at + l.len < cap {
        (l.at, cap - l.at)
    } else {
        (l.at, l.len)
    }
}

/// Which layer a problem belongs to: the last layer of its protocol that starts at or before
/// the byte where it was found (an IP header quoted inside an ICMP error is a second IPv4
/// layer), else the first of its protocol, else the last layer.
pub fn problem_layer(d: &Dissection, p: &Problem) -> usize {
    let same = || {
        d.layers
            .iter()
            .enumerate()
            .filter(move |(_, l)| l.proto == p.proto)
    };
    same()
        .filter(|(_, l)| l.at <= p.at)
        .map(|(i, _)| i)
        .next_back()
        .or_else(|| same().map(|(i, _)| i).next())
        .unwrap_or(d.layers.len().saturating_sub(1))
}

/// How many columns wide a text is on screen: each character's display width (a CJK character
/// or an emoji takes two, a combining accent none), colour escape sequences not counted.
pub fn text_width(s: &str) -> usize {
    use unicode_width::UnicodeWidthChar;
    let mut w = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            skip_escape(&mut chars);
            continue;
        }
        w += c.width().unwrap_or(0);
    }
    w
}

/// Skip the rest of an escape sequence whose ESC was just read: CSI (`ESC [ … final`), or one
/// more character.
fn skip_escape(chars: &mut std::str::Chars<'_>) {
    if chars.clone().next() == Some('[') {
        chars.next();
        for c in chars.by_ref() {
            if ('@'..='~').contains(&c) {
                break;
            }
        }
    } else {
        chars.next();
    }
}

/// The mark at the end of a line that was cut to fit the screen.
pub const CUT: char = '…';

/// `line` (one line, no newline) cut to `width` columns, ending in [`CUT`], or `None` if it
/// fits. Colour escape sequences are kept whole (and colour is reset after the cut).
pub fn clip(line: &str, width: usize) -> Option<String> {
    use unicode_width::UnicodeWidthChar;
    if text_width(line) <= width {
        return None;
    }
    let room = width.saturating_sub(1);
    let mut out = String::with_capacity(line.len().min(width * 4));
    let mut w = 0;
    let mut colored = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            let before = chars.as_str();
            skip_escape(&mut chars);
            let seq = &before[..before.len() - chars.as_str().len()];
            out.push('\x1b');
            out.push_str(seq);
            colored = true;
            continue;
        }
        let cw = c.width().unwrap_or(0);
        if w + cw > room {
            break;
        }
        w += cw;
        out.push(c);
    }
    out.push(CUT);
    if colored {
        out.push_str("\x1b[0m");
    }
    Some(out)
}

/// Cut every line of `text` that is wider than `width` (see [`clip`]); returns how many were.
pub fn fit_lines(text: &mut String, width: usize) -> u64 {
    if text.lines().all(|l| text_width(l) <= width) {
        return 0;
    }
    let mut cut = 0;
    let mut out = String::with_capacity(text.len());
    for piece in text.split_inclusive('\n') {
        let (line, nl) = match piece.strip_suffix('\n') {
            Some(l) => (l, "\n"),
            None => (piece, ""),
        };
        match clip(line, width) {
            Some(c) => {
                cut += 1;
                out.push_str(&c);
            }
            None => out.push_str(line),
        }
        out.push_str(nl);
    }
    *text = out;
    cut
}

/// `text` fitted to `width` columns, and how many lines had to be cut. A line that fits is
/// left as it is. A wider one wraps, keeping its own spacing (aligned columns stay aligned):
/// it breaks at the last space that fits (or, in a word longer than the line, at the width),
/// and its continuation lines hang under the line's second column when it has one (text after
/// a run of two spaces, as in `name   = meaning`, within the first half of the width), else
/// two columns in. A line of a table (starting with a box-drawing character, `|` or `+`)
/// cannot wrap and is cut instead, ending in [`CUT`]. Colour escape sequences count no width.
pub fn fit_text(text: &str, width: usize) -> (String, u64) {
    let width = width.max(20);
    if text.lines().all(|l| text_width(l) <= width) {
        return (text.to_string(), 0);
    }
    let mut cut = 0;
    let mut out = String::with_capacity(text.len() + 64);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if text_width(line) <= width {
            out.push_str(line);
            continue;
        }
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        let table = body
            .chars()
            .find(|&c| c != '\x1b')
            .is_some_and(|c| ('\u{2500}'..='\u{257f}').contains(&c) || c == '|' || c == '+');
        if table || indent + 10 > width {
            cut += 1;
            out.push_str(&clip(line, width).unwrap_or_else(|| line.to_string()));
            continue;
        }
        let hang = hanging_indent(line, indent, width);
        let mut cur = line.to_string();
        let mut first = true;
        loop {
            if !first {
                out.push('\n');
            }
            let lead = if first { indent } else { hang };
            if text_width(&cur) <= width {
                out.push_str(&cur);
                break;
            }
            let (end, resume) = break_at(&cur, width, lead);
            out.push_str(cur[..end].trim_end_matches(' '));
            let rest = cur[resume..].trim_start_matches(' ');
            if rest.is_empty() {
                break;
            }
            cur = format!("{:hang$}{rest}", "");
            first = false;
        }
    }
    (out, cut)
}

/// Where a wrapped line's continuation lines start: under the text that follows the first run
/// of two or more spaces after the indent, if that is within the first half of the width, else
/// two columns further in than the line.
fn hanging_indent(line: &str, indent: usize, width: usize) -> usize {
    let body = &line[indent..];
    if let Some(at) = body.find("  ") {
        let after = body[at..].trim_start_matches(' ');
        let col = text_width(&line[..line.len() - after.len()]);
        if !after.is_empty() && col <= width / 2 {
            return col;
        }
    }
    if body.starts_with("- ") || body.starts_with("* ") || body.starts_with("• ") {
        return indent + 2;
    }
    (indent + 2).min(width / 2)
}

/// Where to break `line` to fit `width` columns: (end of the first piece, start of the rest),
/// in bytes. At the last space past `lead` columns that fits, else at the width.
fn break_at(line: &str, width: usize, lead: usize) -> (usize, usize) {
    use unicode_width::UnicodeWidthChar;
    let mut w = 0;
    let mut last_space = None;
    let mut chars = line.char_indices();
    while let Some((at, c)) = chars.next() {
        if c == '\x1b' {
            let mut rest = line[at + 1..].chars();
            skip_escape(&mut rest);
            let skipped = line.len() - (at + 1) - rest.as_str().len();
            for _ in 0..line[at + 1..at + 1 + skipped].chars().count() {
                chars.next();
            }
            continue;
        }
        let cw = c.width().unwrap_or(0);
        if w + cw > width {
            return match last_space {
                Some(sp) => (sp, sp),
                None => (at, at),
            };
        }
        if c == ' ' && w > lead {
            last_space = Some(at);
        }
        w += cw;
    }
    (line.len(), line.len())
}

/// The one line that says lines were cut, if any were.
pub fn clip_note(cut: u64, width: usize) -> Option<String> {
    (cut > 0).then(|| {
        format!(
            "wirelab: note: {cut} line{} wider than {width} columns {} cut and end{} in {CUT}; a \
             wider terminal, COLUMNS=200, or a pipe (`| less -S`, `> file`) shows {} whole",
            if cut == 1 { "" } else { "s" },
            if cut == 1 { "was" } else { "were" },
            if cut == 1 { "s" } else { "" },
            if cut == 1 { "it" } else { "them" },
        )
    })
}

/// Whether [`wrap`] leaves `text` as it is, on one line: most text (a field's value, a layer's
/// summary) fits and has single spaces between its words.
pub fn fits_one_line(text: &str, width: usize) -> bool {
    let width = width.max(8);
    (text.len() <= width || text.chars().count() <= width)
        && !text.starts_with(' ')
        && !text.ends_with(' ')
        && !text.contains("  ")
}

/// Break text into lines of at most `width` characters, at spaces where possible; a word
/// longer than a line is cut. The words of a line are joined by one space, whatever spaces
/// stood between them.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    if fits_one_line(text, width) {
        return vec![text.to_string()];
    }
    let mut lines = Vec::new();
    break_lines(text, width, |l| {
        lines.push(if l.contains("  ") {
            l.split(' ')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            l.to_string()
        })
    });
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// [`wrap`], giving each line to `line` instead of collecting them. Text with single spaces
/// between its words (nearly all) is broken into slices of itself, with no copy: its lines
/// are the same as [`wrap`]'s, since [`wrap`] joins the words of a line with one space.
pub fn wrap_each(text: &str, width: usize, mut line: impl FnMut(&str)) {
    if fits_one_line(text, width) {
        return line(text);
    }
    if text.is_empty() || text.starts_with(' ') || text.ends_with(' ') || text.contains("  ") {
        for l in wrap(text, width) {
            line(&l);
        }
        return;
    }
    break_lines(text, width, line);
}

/// The line breaking under [`wrap`] and [`wrap_each`]: each line handed out as the slice of
/// `text` from its first word to its last (a cut piece of a long word on its own). Between
/// words a line counts one space; spaces beyond that stay in the slice, for the caller.
#[inline]
fn break_lines(text: &str, width: usize, mut line: impl FnMut(&str)) {
    let width = width.max(8);
    // The line being filled is `text[start..end]`, `line_w` characters.
    let (mut start, mut end, mut line_w) = (0, 0, 0);
    let mut at = 0; // where the next word starts in `text`
    for whole in text.split(' ') {
        let (mut word, mut word_at) = (whole, at);
        at += whole.len() + 1;
        if whole.is_empty() {
            continue;
        }
        let mut word_w = if word.is_ascii() {
            word.len()
        } else {
            word.chars().count()
        };
        // Cut words that cannot fit on any line.
        while word_w > width {
            if line_w > 0 {
                line(&text[start..end]);
                line_w = 0;
            }
            let cut = word
                .char_indices()
                .nth(width)
                .map_or(word.len(), |(i, _)| i);
            line(&word[..cut]);
            word = &word[cut..];
            word_at += cut;
            word_w -= width;
        }
        let need = if line_w == 0 {
            word_w
        } else {
            line_w + 1 + word_w
        };
        if need > width && line_w > 0 {
            line(&text[start..end]);
            line_w = 0;
        }
        if line_w == 0 {
            start = word_at;
            line_w = word_w;
        } else {
            line_w += 1 + word_w;
        }
        end = word_at + word.len();
    }
    if line_w > 0 {
        line(&text[start..end]);
    }
}

/// The bits of a field smaller than its bytes, the way Wireshark draws them: the field's own
/// bits as 0 and 1, the others as dots, in groups of four. `0100 ....` is the IPv4 version
/// nibble of 0x45. `None` for a whole-byte field.
pub fn bit_pattern(frame: &[u8], at: u32, len: u32, mask: u32) -> Option<String> {
    let mut s = String::new();
    push_bit_pattern(frame, at, len, mask, &mut s).then_some(s)
}

/// Append [`bit_pattern`] to `out`; false (and nothing written) for a whole-byte field.
pub fn push_bit_pattern(frame: &[u8], at: u32, len: u32, mask: u32, out: &mut String) -> bool {
    if mask == 0 || len == 0 || len > 4 {
        return false;
    }
    let Some(bytes) = frame.get(at as usize..(at + len) as usize) else {
        return false;
    };
    let raw = bytes.iter().fold(0u32, |acc, &b| (acc << 8) | b as u32);
    let bits = len * 8;
    // At most 32 bits and 7 spaces, written as bytes and appended at once.
    let mut buf = [0u8; 40];
    let mut n = 0;
    for i in (0..bits).rev() {
        if i != bits - 1 && (i + 1) % 4 == 0 {
            buf[n] = b' ';
            n += 1;
        }
        buf[n] = if mask >> i & 1 == 0 {
            b'.'
        } else if raw >> i & 1 == 1 {
            b'1'
        } else {
            b'0'
        };
        n += 1;
    }
    out.push_str(std::str::from_utf8(&buf[..n]).unwrap_or_default());
    true
}

/// How big a field is on the wire, as a person says it: `2 bytes`, `1 byte`, or for a field
/// smaller than its bytes (a mask) the count of its bits, `4 bits`, `1 bit`. `None` for a
/// value wirelab worked out rather than read (no bytes of its own).
pub fn field_size(f: &crate::dissect::model::Field) -> Option<String> {
    let mut s = String::new();
    push_field_size(f, &mut s).then_some(s)
}

/// Append [`field_size`] to `out`; false (and nothing written) for a worked-out value.
pub fn push_field_size(f: &crate::dissect::model::Field, out: &mut String) -> bool {
    if f.len == 0 {
        return false;
    }
    let (n, one, many) = if f.mask != 0 {
        (f.mask.count_ones(), "1 bit", " bits")
    } else {
        (f.len, "1 byte", " bytes")
    };
    if n == 1 {
        out.push_str(one);
    } else {
        crate::dissect::model::push_u64(out, n as u64);
        out.push_str(many);
    }
    true
}

/// Append `text` painted in `color` (bold if asked), or plain when colour is off.
pub(crate) fn paint(out: &mut String, text: &str, color: Option<Color>, bold: bool, on: bool) {
    if !on || (color.is_none() && !bold) {
        out.push_str(text);
        return;
    }
    let mut s = text.normal();
    if let Some(c) = color {
        s = s.color(c);
    }
    if bold {
        s = s.bold();
    }
    let _ = write!(out, "{s}");
}

/// Append `text` dimmed, or plain when colour is off.
pub(crate) fn dim(out: &mut String, text: &str, on: bool) {
    if on {
        let _ = write!(out, "{}", text.dimmed());
    } else {
        out.push_str(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces() {
        assert_eq!(
            wrap("the quick brown fox jumps", 10),
            vec!["the quick", "brown fox", "jumps"]
        );
        assert_eq!(wrap("", 10), vec![""]);
        assert_eq!(
            wrap("aaaaaaaaaaaaaaaaaaaa", 8),
            vec!["aaaaaaaa", "aaaaaaaa", "aaaa"]
        );
    }

    /// The word-at-a-time wrap, as it was written before it learnt to work on slices: the
    /// faster one must break every text the same way.
    fn wrap_by_chars(text: &str, width: usize) -> Vec<String> {
        let width = width.max(8);
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut line_w = 0;
        for word in text.split(' ').filter(|w| !w.is_empty()) {
            let mut word: Vec<char> = word.chars().collect();
            while word.len() > width {
                if line_w > 0 {
                    lines.push(std::mem::take(&mut line));
                    line_w = 0;
                }
                let rest = word.split_off(width);
                lines.push(word.into_iter().collect());
                word = rest;
            }
            let need = if line_w == 0 {
                word.len()
            } else {
                line_w + 1 + word.len()
            };
            if need > width && line_w > 0 {
                lines.push(std::mem::take(&mut line));
                line_w = 0;
            }
            if line_w > 0 {
                line.push(' ');
                line_w += 1;
            }
            line.extend(word.iter());
            line_w += word.len();
        }
        if line_w > 0 || lines.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// Texts and widths the wrapping tests try: spaces at either end and doubled, words
    /// longer than the width, non-ASCII letters and emoji, a line break, exact fits.
    const WRAP_TEXTS: &[&str] = &[
        "",
        " ",
        "   ",
        "a",
        " lead",
        "trail ",
        "two  spaces here",
        "the quick brown fox jumps over the lazy dog",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bb cccccccccccccccccc",
        "héllo wörld → ünïcödé straße 😀😀😀😀😀😀😀😀😀😀😀",
        "0a:1b:2c:3d:4e:5f:60:71:82:93:a4:b5:c6:d7:e8:f9:0a:1b:2c:3d:4e:5f",
        "line\nbreak inside a word  and  more",
        "line\nbreak inside a word and more",
        "exactly8 exactly8",
        "x yyyyyyyyyyyyyyyyyyyyyyyyy z",
        "GET /index.html HTTP/1.1 (request line of 26 bytes) [26 bytes]",
    ];
    const WRAP_WIDTHS: [usize; 12] = [0, 1, 7, 8, 9, 10, 12, 16, 20, 40, 80, 200];

    #[test]
    fn wrap_matches_the_char_by_char_wrap() {
        for &t in WRAP_TEXTS {
            for w in WRAP_WIDTHS {
                assert_eq!(wrap(t, w), wrap_by_chars(t, w), "{t:?} at {w}");
            }
        }
    }

    #[test]
    fn wrap_each_gives_the_lines_of_wrap() {
        for &t in WRAP_TEXTS {
            for w in WRAP_WIDTHS {
                let mut got = Vec::new();
                wrap_each(t, w, |l| got.push(l.to_string()));
                assert_eq!(got, wrap(t, w), "{t:?} at {w}");
            }
        }
    }

    #[test]
    fn clip_cuts_to_the_display_width() {
        assert_eq!(clip("abcdef", 6), None);
        assert_eq!(clip("abcdefg", 6).as_deref(), Some("abcde…"));
        // Wide characters count two columns, escapes none.
        assert_eq!(text_width("日本語"), 6);
        assert_eq!(text_width("\x1b[1;36mab\x1b[0m"), 2);
        assert_eq!(clip("日本語x", 6).as_deref(), Some("日本…"));
        let c = clip("\x1b[36mabcdefgh\x1b[0m", 5).unwrap();
        assert_eq!(text_width(&c), 5);
        assert!(c.starts_with("\x1b[36mabcd…") && c.ends_with("\x1b[0m"));
        let mut t = "short\nthis line is long\n".to_string();
        assert_eq!(fit_lines(&mut t, 10), 1);
        assert_eq!(t, "short\nthis line…\n");
        assert!(clip_note(0, 80).is_none());
        // Wrapping keeps a line's own spacing and hangs under its second column.
        let (t, n) = fit_text(
            "  sample R       = time from a segment to the ACK that covers it",
            40,
        );
        assert_eq!(n, 0);
        assert!(t.lines().all(|l| text_width(l) <= 40), "{t}");
        assert!(
            t.starts_with("  sample R       = time from a segment"),
            "{t}"
        );
        assert!(
            t.lines()
                .nth(1)
                .unwrap()
                .starts_with(&format!("{:17}to", "")),
            "{t}"
        );
        let (t, n) = fit_text(
            "│ a │ bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb │\nok",
            20,
        );
        assert_eq!((t.as_str(), n), ("│ a │ bbbbbbbbbbbbb…\nok", 1));
        // A word longer than the line is broken, not lost.
        let long = "x".repeat(50);
        let (t, _) = fit_text(&long, 20);
        assert_eq!(t.replace([' ', '\n'], ""), long);
        assert!(
            clip_note(2, 80)
                .unwrap()
                .contains("2 lines wider than 80 columns were cut")
        );
    }

    #[test]
    fn bit_pattern_shows_the_field_bits() {
        assert_eq!(
            bit_pattern(&[0x45], 0, 1, 0xf0).as_deref(),
            Some("0100 ....")
        );
        assert_eq!(
            bit_pattern(&[0x50, 0x12], 0, 2, 0x0002).as_deref(),
            Some(".... .... .... ..1.")
        );
        assert_eq!(bit_pattern(&[0x45], 0, 1, 0), None);
        assert_eq!(bit_pattern(&[0x45], 0, 2, 0xf000), None);
    }

    #[test]
    fn byte_range_is_inclusive() {
        assert_eq!(byte_range(14, 20), "14–33");
        assert_eq!(byte_range(3, 1), "3");
        assert_eq!(byte_range(3, 0), "—");
    }
}
