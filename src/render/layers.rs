//! The layer tree: every header of a packet, placed on both layer models, field by field.
//!
//! ```text
//! ── Packet 1 ── 0.000000 s ── 74 bytes ── eth:ip:tcp ──────────────────────────────────
//!   OSI model        TCP/IP model  Bytes  Header
//!   …
//!   L4 Transport     Transport     34–73  TCP 52000 → 80 [SYN] seq=1000000 win=64240 len=0
//!     Source port                  52000                                 tcp.srcport
//!       The port of the program that sent the segment; a client usually gets a random
//!       high one from its operating system.
//!     …
//!     Flags                        .... 0000 0000 0010 = 0x0002 (SYN)    tcp.flags
//!       Twelve bits that say what the segment does: open (SYN), acknowledge (ACK), …
//!       …
//!       Synchronize                .... .... .... ..1. = 1 (set)         tcp.flags.syn
//!         Open a connection: this segment carries the sender's initial sequence number.
//!     …
//!     [Segment data length]        0                                     tcp.len
//! ```
//!
//! Each layer's heading names its place on the OSI model and on the TCP/IP model side by
//! side, in the same columns for every layer: that is the lesson, the same header seen by
//! both models (and the few places where they disagree, such as ARP). Then come the layer's
//! byte range in the frame and its one-line summary.
//!
//! Under the heading, one line per field: its label (indented by its depth in the tree), its
//! value with what the value means, and the name Wireshark uses for it, so that a student
//! learns the names display filters use (`-Y 'tcp.flags.syn == 1'`). Fields smaller than a
//! byte show their bits the way Wireshark does (`0100 ....`). Fields in `[brackets]` are not
//! stored in the packet: wirelab worked them out (a segment's data length, for example).
//! Under each field, dimmed, one sentence saying what the field is for (only the first time a
//! name occurs in the packet: each TCP option has a Kind, and one explanation is enough).
//! Everything is wrapped to the terminal's width; on a narrow one each value moves under its
//! label.
//!
//! Problems (a truncated header, a wrong checksum) are printed at the layer where they were
//! found, marked `!!`, so they stand out in black and white too.
//!
//! A layer read from bytes that are not the frame's own (an HTTP message put back together
//! from several segments, an unmasked WebSocket payload: [`crate::dissect::model::Source`])
//! has its byte range written `s1:0–253`, counted in source `s1`, and a line before it says
//! what that source is and which frames its bytes came from.

use super::{
    Options, byte_range, dim, fits_one_line, layer_range, packet_heading, paint, problem_layer,
    wrap, wrap_each,
};
use crate::dissect::describe;
use crate::dissect::model::{Dissection, Field, Layer, Problem, Timestamp, Value};

/// Width of the OSI column: the longest entry is "L6 Presentation".
const OSI_W: usize = 15;
/// Width of the TCP/IP column: its heading, "TCP/IP model", is the longest entry.
const TCPIP_W: usize = 12;
/// Where field lines start.
const FIELD_INDENT: usize = 4;
/// The label column is never wider than this; a longer label pushes its value along.
const MAX_LABEL_W: usize = 30;

/// Append the layer tree of `d`.
pub fn tree(d: &Dissection, first: Timestamp, opts: &Options, out: &mut String) {
    let width = opts.width();
    let color = opts.color;
    packet_heading(d, first, opts, out);

    let ranges: Vec<String> = d
        .layers
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let (at, len) = layer_range(d, i);
            match d.source_of(i) {
                Some(s) => format!("s{}:{}", s + 1, byte_range(at, len)),
                None => byte_range(at, len),
            }
        })
        .collect();
    let bytes_w = ranges
        .iter()
        .map(|r| r.chars().count())
        .max()
        .unwrap_or(0)
        .max("Bytes".len());

    // The column heading, once per packet: it says what the two model columns are.
    let mut head = String::from("  ");
    pad_to(&mut head, "OSI model", OSI_W);
    head.push_str("  ");
    pad_to(&mut head, "TCP/IP model", TCPIP_W);
    head.push_str("  ");
    pad_to(&mut head, "Bytes", bytes_w);
    head.push_str("  Header");
    dim(out, &head, color);
    out.push('\n');

    // One label column for the whole packet, so values line up from layer to layer.
    let label_w = d
        .fields
        .iter()
        .map(label_width)
        .max()
        .unwrap_or(0)
        .min(MAX_LABEL_W);
    let mut introduced: Vec<u32> = Vec::new();
    MEMO.with_borrow_mut(|memo| {
        // A new packet: no field explained in it yet.
        memo.packet += 1;
        for (i, layer) in d.layers.iter().enumerate() {
            out.push('\n');
            if let Some(s) = d.source_of(i)
                && !introduced.contains(&s)
            {
                introduced.push(s);
                source_line(d, s, width, color, out);
            }
            heading(d, layer, &ranges[i], bytes_w, width, color, out);
            fields(
                d.layer_bytes(i),
                d.layer_fields(layer),
                label_w,
                memo,
                opts,
                out,
            );
            for p in d.problems.iter().filter(|p| problem_layer(d, p) == i) {
                problem(p, width, color, out);
            }
        }
    });
    if d.layers.is_empty() {
        for p in &d.problems {
            problem(p, width, color, out);
        }
    }
    out.push('\n');
}

/// The layer's heading line: OSI place, TCP/IP place, bytes, summary (wrapped under itself).
fn heading(
    d: &Dissection,
    layer: &Layer,
    range: &str,
    bytes_w: usize,
    width: usize,
    color: bool,
    out: &mut String,
) {
    let p = layer.proto;
    let mut cols = String::from("  ");
    pad_to(&mut cols, &p.osi().to_string(), OSI_W);
    cols.push_str("  ");
    pad_to(&mut cols, p.tcpip().name(), TCPIP_W);
    cols.push_str("  ");
    pad_to(&mut cols, range, bytes_w);
    cols.push_str("  ");
    let summary = describe(d, layer);
    let c = super::proto_color(p);
    let mut indent = cols.chars().count();
    if width.saturating_sub(indent) < 24 {
        // Too narrow for the summary beside the columns: put it under them.
        paint(out, cols.trim_end(), c, true, color);
        out.push('\n');
        indent = FIELD_INDENT;
        cols = " ".repeat(indent);
    }
    let mut first = true;
    wrap_each(&summary, width.saturating_sub(indent), |line| {
        if first {
            paint(out, &cols, c, true, color);
            first = false;
        } else {
            spaces(out, indent);
        }
        paint(out, line, c, true, color);
        out.push('\n');
    });
}

/// The line that introduces a source: what its bytes are and where they came from.
fn source_line(d: &Dissection, s: u32, width: usize, color: bool, out: &mut String) {
    let Some(src) = d.sources.get(s as usize) else {
        return;
    };
    let text = if src.pieces.is_empty() {
        format!(
            "s{}: {}, worked out from the bytes of the layer before; the layers below count their bytes in it",
            s + 1,
            src.title
        )
    } else {
        format!(
            "s{}: {}, from frames {}; the layers below count their bytes in it",
            s + 1,
            src.title,
            src.frames_text()
        )
    };
    wrap_each(&text, width.saturating_sub(4), |line| {
        out.push_str("  ");
        dim(out, line, color);
        out.push('\n');
    });
}

/// Append what the value column shows for a field: its bits (for a bit field) and its value
/// with its meaning. `bytes` are the ones the field's offsets count from.
fn push_value(bytes: &[u8], f: &Field, out: &mut String) {
    let start = out.len();
    if super::push_bit_pattern(bytes, f.at, f.len, f.mask, out) {
        out.push_str(" = ");
        let shown = out.len();
        f.write_display(bytes, out);
        if out.len() == shown {
            // No value to show: no bits either.
            out.truncate(start);
        }
    } else {
        f.write_display(bytes, out);
    }
    // The field's size on the wire, unless the value already says it (a long byte string).
    let says_size = matches!(f.value, Value::Bytes) && f.len > 32;
    if !says_size && f.len > 0 {
        if out.len() > start {
            out.push(' ');
        }
        out.push('[');
        super::push_field_size(f, out);
        out.push(']');
    }
}

/// How many characters `s` has (its bytes, for ASCII text: nearly every value).
fn char_count(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// A field's label as the tree shows it: `[label]` when wirelab worked the value out rather
/// than reading it from the packet's bytes.
fn label_text(f: &Field) -> String {
    let computed = is_computed(f);
    let indent = "  ".repeat(f.depth as usize);
    if computed {
        format!("{indent}[{}]", f.label)
    } else {
        format!("{indent}{}", f.label)
    }
}

/// The field lines of one layer.
fn fields(
    bytes: &[u8],
    fs: &[Field],
    label_w: usize,
    memo: &mut Memo,
    opts: &Options,
    out: &mut String,
) {
    if fs.is_empty() {
        return;
    }
    // Taken from the memo while the layer is drawn, given back at the end.
    let mut values = std::mem::take(&mut memo.values);
    let width = opts.width();
    let color = opts.color;
    // Every value of the layer written one after another into one buffer (`text`), with
    // where each ends and how many characters it has: no string of its own for each.
    values.text.clear();
    values.ends.clear();
    for f in fs {
        let start = values.text.len();
        push_value(bytes, f, &mut values.text);
        let chars = char_count(&values.text[start..]);
        values.ends.push((values.text.len(), chars));
    }
    let name_w = fs.iter().map(|f| f.name.len()).max().unwrap_or(0);
    let value_w = values.ends.iter().map(|&(_, w)| w).max().unwrap_or(0);
    // Room left for the value between the label column and the name column. On a narrow
    // terminal there is not enough, and each value goes on its own line under its label.
    let room = width.saturating_sub(FIELD_INDENT + label_w + 2 + 2 + name_w);
    let narrow = room < 16;
    let value_w = value_w.min(room);

    // `--field`: the chosen field, or the fields an alias such as `ip.addr` stands for.
    let chosen = opts.highlight.as_deref().unwrap_or("");
    let aliased = if chosen.is_empty() {
        Vec::new()
    } else {
        crate::filter::field_names(chosen)
    };
    for (i, f) in fs.iter().enumerate() {
        let marked = f.name == chosen || aliased.contains(&f.name);
        // Label column.
        if marked {
            paint(out, "  ▶ ", None, true, color);
        } else {
            spaces(out, FIELD_INDENT);
        }
        if marked && color {
            paint(out, &label_text(f), None, true, color);
        } else {
            push_label(out, f);
        }
        let label_len = label_width(f);
        // A label longer than the label column (which is capped) pushes the value and the
        // name along: if that goes past the width, the value goes under it, as on a narrow
        // terminal.
        let too_long = label_len > label_w
            && FIELD_INDENT + label_len + 2 + value_w + 2 + f.name.len() > width;
        let (v, v_chars) = values.get(i);
        if narrow || too_long {
            narrow_value(f, v, width, color, out);
        } else if v_chars <= value_w.max(8) && fits_one_line(v, value_w) {
            // The usual case, as the loop below writes it but without wrapping.
            spaces(out, label_w.saturating_sub(label_len) + 2);
            out.push_str(v);
            spaces(out, value_w.saturating_sub(v_chars) + 2);
            paint(out, f.name, Some(colored::Color::Cyan), false, color);
            trim_line_end(out);
            out.push('\n');
        } else {
            spaces(out, label_w.saturating_sub(label_len) + 2);
            let value_col = FIELD_INDENT + label_w.max(label_len) + 2;
            // The value, wrapped if it is long (a byte string); the name on its first line.
            let mut first = true;
            wrap_each(v, value_w, |v| {
                if !first {
                    spaces(out, value_col);
                }
                out.push_str(v);
                if first {
                    spaces(out, value_w.saturating_sub(char_count(v)) + 2);
                    paint(out, f.name, Some(colored::Color::Cyan), false, color);
                    first = false;
                }
                trim_line_end(out);
                out.push('\n');
            });
        }

        // The explanation, under the label, the first time the name occurs in the packet.
        if !f.explain.is_empty() {
            let packet = memo.packet;
            let name = memo.named(f.name);
            if name.packet != packet {
                name.packet = packet;
                let indent = FIELD_INDENT + 2 * f.depth as usize + 2;
                explanation(f.explain, indent, width, color, &mut name.wrapped, out);
            }
        }
    }
    memo.values = values;
}

/// A field's explanation, wrapped to the width under its label. The explanations are the
/// program's own text and the same in every packet, so each is wrapped once and kept with its
/// field name (`wrapped`: which text at which indent and width, and the lines), until the same
/// name comes with another text, indent or width. Coloured text is not kept: what `colored`
/// writes depends on its global setting, which may change.
fn explanation(
    text: &'static str,
    indent: usize,
    width: usize,
    color: bool,
    wrapped: &mut Option<(Key, String)>,
    out: &mut String,
) {
    let write = |out: &mut String| {
        wrap_each(text, width.saturating_sub(indent).max(20), |line| {
            spaces(out, indent);
            dim(out, line, color);
            out.push('\n');
        });
    };
    if color {
        return write(out);
    }
    let key = (text.as_ptr() as usize, text.len(), indent, width);
    match wrapped {
        Some((k, block)) if *k == key => out.push_str(block),
        _ => {
            let mut block = String::new();
            write(&mut block);
            out.push_str(&block);
            *wrapped = Some((key, block));
        }
    }
}

/// Which explanation text at which indent and width: see [`explanation`].
type Key = (usize, usize, usize, usize);

thread_local! {
    /// What the tree keeps from packet to packet, on each thread that draws trees.
    static MEMO: std::cell::RefCell<Memo> = std::cell::RefCell::default();
}

/// What the tree keeps from packet to packet (so that drawing a packet allocates little).
#[derive(Default)]
struct Memo {
    /// Packets drawn so far on this thread: a name explained in an earlier packet must be
    /// explained again.
    packet: u64,
    /// Per field name: the packet it was last explained in, and its explanation as wrapped.
    named: Vec<Named>,
    /// Where in `named` each name is. A name is nearly always the same string in memory,
    /// so it is looked up by its address first (cheap to hash and compare), and by its
    /// letters only the first time an address is seen: two copies of a name are one name.
    by_address: std::collections::HashMap<(usize, usize), usize, Cheap>,
    by_text: std::collections::HashMap<&'static str, usize, Cheap>,
    /// The values of the layer being drawn.
    values: Values,
}

type Cheap = std::hash::BuildHasherDefault<AddrHasher>;

impl Memo {
    /// What is kept for the field name `name`.
    fn named(&mut self, name: &'static str) -> &mut Named {
        let address = (name.as_ptr() as usize, name.len());
        let i = match self.by_address.get(&address) {
            Some(&i) => i,
            None => {
                let next = self.named.len();
                let i = *self.by_text.entry(name).or_insert(next);
                if i == next {
                    self.named.push(Named::default());
                }
                self.by_address.insert(address, i);
                i
            }
        };
        &mut self.named[i]
    }
}

#[derive(Default)]
struct Named {
    packet: u64,
    wrapped: Option<(Key, String)>,
}

/// The values of one layer's fields, written one after another.
#[derive(Default)]
struct Values {
    text: String,
    /// Where each value ends in `text`, and its length in characters.
    ends: Vec<(usize, usize)>,
}

impl Values {
    /// Value `i` and its length in characters.
    fn get(&self, i: usize) -> (&str, usize) {
        let start = if i == 0 { 0 } else { self.ends[i - 1].0 };
        let (end, chars) = self.ends[i];
        (&self.text[start..end], chars)
    }
}

/// A hasher for field names and for the small numbers of [`explanation`]'s key (an address,
/// lengths): mixing them by multiplication is enough, and much cheaper than SipHash.
#[derive(Default)]
struct AddrHasher(u64);

impl std::hash::Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        // The table picks a bucket by the low bits, which a multiplication mixes least:
        // fold the high ones in.
        self.0 ^ (self.0 >> 32)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        for &b in chunks.remainder() {
            self.write_u64(b as u64);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// On a narrow terminal: `label:` ends its line, and the value follows on the next ones,
/// with the field's name after it if it fits, else on a line of its own.
fn narrow_value(f: &Field, value: &str, width: usize, color: bool, out: &mut String) {
    out.push_str(":\n");
    let indent = FIELD_INDENT + 2 * f.depth as usize + 2;
    let avail = width.saturating_sub(indent);
    let mut last_len = None;
    if !value.is_empty() {
        wrap_each(value, avail, |line| {
            spaces(out, indent);
            out.push_str(line);
            out.push('\n');
            last_len = Some(char_count(line));
        });
    }
    match last_len {
        Some(n) if n + 2 + f.name.len() <= avail => {
            out.pop();
            out.push_str("  ");
        }
        _ => spaces(out, indent),
    }
    paint(out, f.name, Some(colored::Color::Cyan), false, color);
    out.push('\n');
}

/// A problem, marked so it stands out without colour: `!! truncated at byte 40: …`.
fn problem(p: &Problem, width: usize, color: bool, out: &mut String) {
    let tag = format!("!! {} at byte {}:", p.kind.name(), p.at);
    let indent = FIELD_INDENT;
    let text = format!("{tag} {}", crate::escape::escape(&p.message));
    let lines = wrap(&text, width.saturating_sub(indent + 3).max(20));
    for (n, line) in lines.iter().enumerate() {
        if n == 0 {
            spaces(out, indent);
            let rest = line.strip_prefix(&tag).unwrap_or(line);
            paint(out, &tag, Some(colored::Color::Red), true, color);
            out.push_str(rest);
        } else {
            spaces(out, indent + 3);
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// A field wirelab worked out rather than read from bytes (its label is bracketed).
fn is_computed(f: &Field) -> bool {
    f.len == 0 && !f.name.starts_with("frame.") && !matches!(f.value, Value::None)
}

/// Append [`label_text`] without building it.
fn push_label(out: &mut String, f: &Field) {
    spaces(out, 2 * f.depth as usize);
    if is_computed(f) {
        out.push('[');
        out.push_str(f.label);
        out.push(']');
    } else {
        out.push_str(f.label);
    }
}

/// How many characters [`label_text`] gives, without building it.
fn label_width(f: &Field) -> usize {
    2 * f.depth as usize + char_count(f.label) + if is_computed(f) { 2 } else { 0 }
}

/// Append `n` spaces.
fn spaces(out: &mut String, mut n: usize) {
    const SPACES: &str = "                                                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

/// Append `s` padded with spaces to `w` characters.
fn pad_to(out: &mut String, s: &str, w: usize) {
    out.push_str(s);
    let n = s.chars().count();
    if n < w {
        out.extend(std::iter::repeat_n(' ', w - n));
    }
}

/// Remove spaces at the end of the line being written.
fn trim_line_end(out: &mut String) {
    let trimmed = out.trim_end_matches(' ').len();
    out.truncate(trimmed);
}
