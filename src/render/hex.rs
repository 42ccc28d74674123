//! The hex view: the frame's bytes, each marked with the layer it belongs to.
//!
//! ```text
//! ── Packet 3 ── 0.500000 s ── 60 bytes ── eth:ip:icmp ─────────────────────────────────
//!   Key   Layer                         Bytes   OSI model      TCP/IP model
//!   eth   Ethernet II                   0–13    L2 Data link   Link
//!   ip    IPv4                          14–33   L3 Network     Internet
//!   icmp  ICMP                          34–45   L3 Network     Internet
//!   pad   Ethernet padding or trailer   46–59   —              —
//!
//! 0000  02 00 00 00 00 02 02 00  00 00 00 01 08 00 45 00   ..............E.
//!       eth─────────────────────────────────────── ip───
//! 0010  00 20 00 00 40 00 40 01  49 6e c0 a8 38 0a c0 a8   . ..@.@.In..8...
//!       ip──────────────────────────────────────────────
//! 0020  38 14 08 00 18 ec 00 42  00 01 70 69 6e 67 00 00   8......B..ping..
//!       ip─── icmp──────────────────────────────── pad··
//! 0030  00 00 00 00 00 00 00 00  00 00 00 00               ............
//!       pad·································
//! ```
//!
//! Each row shows 16 bytes: the offset of the first one (in hex, as every hex dump does), the
//! bytes in hex, and the same bytes as ASCII text (a dot where a byte is not a printable
//! character), which is how you spot the words of a text protocol such as HTTP in the middle of
//! binary headers.
//!
//! Every byte belongs to the innermost layer whose header holds it: the Ethernet header, then
//! the IP header inside it, then TCP's. In colour each byte has its layer's colour; without
//! colour a marker row under each row of bytes names the layer of each run of bytes. Bytes no
//! layer claims are marked too: most often Ethernet *padding*, the zeros a sender adds because
//! an Ethernet frame must be at least 60 bytes long (64 with the checksum the card strips).
//!
//! `--field NAME` highlights the bytes of one field wherever it occurs (reversed colours, or a
//! row of `^^` without colour); for a field smaller than a byte, the line above the dump says
//! which bits are the field's.

use std::fmt::Write as _;

use colored::Colorize;
use tabled::builder::Builder;
use tabled::settings::object::Cell;
use tabled::settings::peaker::Priority;
use tabled::settings::{Color as TColor, Padding, Style, Width};

use super::{
    Options, UNCLAIMED_COLOR, bit_pattern, byte_range, packet_heading, paint, proto_color, wrap,
};
use crate::dissect::model::{Dissection, Field, LinkType, Proto, Timestamp};

/// Who a byte belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    /// The innermost layer holding it (index into `d.layers`).
    Layer(usize),
    /// After the last byte any layer claims: padding or a trailer.
    Pad,
    /// Between claimed bytes, but claimed by none (dissection stopped early).
    Unclaimed,
}

/// Append the hex view of `d`.
pub fn dump(d: &Dissection, first: Timestamp, opts: &Options, out: &mut String) {
    let color = opts.color;
    packet_heading(d, first, opts, out);
    let owners = owners(d);
    let keys = keys(d);
    legend(d, &owners, &keys, color, opts.width(), out);

    // The highlighted field: which bytes, and a line saying what and where it is.
    let mut marked = vec![false; d.data.len()];
    if let Some(name) = &opts.highlight {
        highlight(d, name, &mut marked, color, out);
    }
    out.push('\n');

    rows(
        &d.data,
        &owners,
        &marked,
        &keys,
        d,
        color,
        opts.width(),
        out,
    );
    if d.data.is_empty() {
        out.push_str("(no bytes were captured)\n");
    }
    // Bytes some layers were read from that are not the frame's own, each as a dump of its
    // own (Wireshark's "Reassembled TCP" and "Unmasked data" tabs).
    for (si, src) in d.sources.iter().enumerate() {
        let mut head = format!("\n── s{}: {}", si + 1, src.title);
        if !src.pieces.is_empty() {
            head.push_str(&format!(", from frames {}", src.frames_text()));
        }
        head.push(' ');
        let fill = opts.width().saturating_sub(head.chars().count()).max(2);
        head.push_str(&"─".repeat(fill));
        for line in wrap(&head, opts.width()) {
            paint(out, &line, None, true, color);
            out.push('\n');
        }
        let own = source_owners(d, si as u32);
        // A reassembled message can be megabytes: show its start.
        let shown = src.bytes.len().min(MAX_SOURCE_DUMP);
        let none = vec![false; shown];
        rows(
            &src.bytes[..shown],
            &own[..shown],
            &none,
            &keys,
            d,
            color,
            opts.width(),
            out,
        );
        if shown < src.bytes.len() {
            out.push_str(&format!(
                "… and {} more bytes (the JSON view has them all)\n",
                src.bytes.len() - shown
            ));
        }
    }
    for p in &d.problems {
        let tag = format!(
            "!! {} at byte {} ({}):",
            p.kind.name(),
            p.at,
            p.proto.name()
        );
        let text = format!("{tag} {}", p.message);
        for (n, line) in wrap(&text, opts.width().saturating_sub(5))
            .iter()
            .enumerate()
        {
            if n == 0 {
                out.push_str("  ");
                paint(out, &tag, Some(colored::Color::Red), true, color);
                out.push_str(line.strip_prefix(&tag).unwrap_or(line));
            } else {
                out.push_str("     ");
                out.push_str(line);
            }
            out.push('\n');
        }
    }
    out.push('\n');
}

/// The rows of a dump of `bytes`: offset, hex, ASCII, and without colour the marker rows.
#[allow(clippy::too_many_arguments)]
fn rows(
    bytes: &[u8],
    owners: &[Owner],
    marked: &[bool],
    keys: &[String],
    d: &Dissection,
    color: bool,
    width: usize,
    out: &mut String,
) {
    let offset_w = if bytes.len() > 0x1_0000 { 8 } else { 4 };
    // Sixteen bytes a row, as Wireshark and `xxd`, when the screen has room for them and their
    // text; else eight.
    let per = if offset_w + 2 + hex_width(16) + 3 + 16 <= width {
        16
    } else {
        8
    };
    for (row, chunk) in bytes.chunks(per).enumerate() {
        let base = row * per;
        let own = &owners[base..base + chunk.len()];
        let hl = &marked[base..base + chunk.len()];
        let _ = write!(out, "{base:0offset_w$x}  ");
        hex_cells(chunk, own, hl, d, color, per, out);
        out.push_str("   ");
        ascii(chunk, own, hl, d, color, out);
        out.push('\n');
        if !color {
            out.push_str(&" ".repeat(offset_w + 2));
            marker_row(own, keys, out);
            out.push('\n');
            if hl.iter().any(|&h| h) {
                out.push_str(&" ".repeat(offset_w + 2));
                caret_row(hl, out);
                out.push('\n');
            }
        }
    }
}

/// The owner of every byte of source `s`: the innermost layer read from it that holds it.
fn source_owners(d: &Dissection, s: u32) -> Vec<Owner> {
    let n = d.sources.get(s as usize).map_or(0, |s| s.bytes.len());
    let mut own = vec![Owner::Unclaimed; n];
    for (i, l) in d.layers.iter().enumerate() {
        if d.source_of(i) != Some(s) {
            continue;
        }
        let end = ((l.at + l.len) as usize).min(n);
        for o in own.iter_mut().take(end).skip(l.at as usize) {
            *o = Owner::Layer(i);
        }
    }
    own
}

/// The owner of every captured byte: the innermost (last) layer whose range holds it.
fn owners(d: &Dissection) -> Vec<Owner> {
    let n = d.data.len();
    let mut own = vec![Owner::Unclaimed; n];
    for (i, l) in d.layers.iter().enumerate() {
        if l.proto == Proto::Frame || d.source_of(i).is_some() {
            continue;
        }
        let (at, len) = super::layer_range(d, i);
        let end = ((at + len) as usize).min(n);
        for o in own.iter_mut().take(end).skip(at as usize) {
            *o = Owner::Layer(i);
        }
    }
    // Unclaimed bytes after the last claimed one are padding or a trailer.
    for o in own.iter_mut().rev() {
        match o {
            Owner::Unclaimed => *o = Owner::Pad,
            _ => break,
        }
    }
    own
}

/// The short key of each layer in the marker rows and the legend: the protocol's filter name
/// (`eth`, `ip`, `tcp`), numbered when it occurs twice (`ip2`, the header an ICMP error
/// quotes).
fn keys(d: &Dissection) -> Vec<String> {
    let mut keys: Vec<String> = Vec::with_capacity(d.layers.len());
    for (i, l) in d.layers.iter().enumerate() {
        let short = l.proto.short();
        let seen = d.layers[..i]
            .iter()
            .filter(|m| m.proto.short() == short)
            .count();
        keys.push(if seen == 0 {
            short.to_string()
        } else {
            format!("{short}{}", seen + 1)
        });
    }
    keys
}

fn owner_key(o: Owner, keys: &[String]) -> &str {
    match o {
        Owner::Layer(i) => &keys[i],
        Owner::Pad => "pad",
        Owner::Unclaimed => "??",
    }
}

fn owner_color(o: Owner, d: &Dissection) -> Option<colored::Color> {
    match o {
        Owner::Layer(i) => proto_color(d.layers[i].proto),
        Owner::Pad | Owner::Unclaimed => Some(UNCLAIMED_COLOR),
    }
}

/// Contiguous runs of bytes with the same owner, as `(owner, start, end)`.
fn runs(own: &[Owner]) -> Vec<(Owner, usize, usize)> {
    let mut v: Vec<(Owner, usize, usize)> = Vec::new();
    for (i, &o) in own.iter().enumerate() {
        match v.last_mut() {
            Some(last) if last.0 == o => last.2 = i + 1,
            _ => v.push((o, i, i + 1)),
        }
    }
    v
}

/// The legend: one row per layer that holds bytes, with its key (in its colour), name, bytes
/// and place on both models; then rows for bytes no layer claims. Laid out in `width` columns:
/// the widest cells wrap at spaces.
fn legend(
    d: &Dissection,
    owners: &[Owner],
    keys: &[String],
    color: bool,
    width: usize,
    out: &mut String,
) {
    let mut b = Builder::default();
    let mut head = vec!["Key", "Layer", "Bytes", "OSI model", "TCP/IP model"];
    if color {
        head.push("Colour");
    }
    b.push_record(head);
    let all_runs = runs(owners);
    // The bytes an owner holds, as ranges: `14–33`, or `34–41, 70–73` for a layer with another
    // one inside it.
    let spans = |o: Owner| -> String {
        let v: Vec<String> = all_runs
            .iter()
            .filter(|r| r.0 == o)
            .map(|r| byte_range(r.1 as u32, (r.2 - r.1) as u32))
            .collect();
        v.join(", ")
    };
    let mut rows: Vec<(Owner, &str, Option<colored::Color>)> = Vec::new();
    for (i, l) in d.layers.iter().enumerate() {
        rows.push((Owner::Layer(i), l.proto.name(), proto_color(l.proto)));
    }
    rows.push((Owner::Pad, pad_name(d), Some(UNCLAIMED_COLOR)));
    rows.push((Owner::Unclaimed, "not dissected", Some(UNCLAIMED_COLOR)));
    let mut row_colors = Vec::new();
    for (owner, name, c) in rows {
        let held = match owner {
            Owner::Layer(i) if d.source_of(i).is_some() => {
                let l = &d.layers[i];
                format!(
                    "s{}:{}",
                    d.source_of(i).unwrap_or(0) + 1,
                    byte_range(l.at, l.len)
                )
            }
            _ => spans(owner),
        };
        if held.is_empty() {
            continue;
        }
        let (osi, tcpip) = match owner {
            Owner::Layer(i) => (
                d.layers[i].proto.osi().to_string(),
                d.layers[i].proto.tcpip().name().to_string(),
            ),
            _ => ("—".to_string(), "—".to_string()),
        };
        let mut rec = vec![
            owner_key(owner, keys).to_string(),
            name.to_string(),
            held,
            osi,
            tcpip,
        ];
        if color {
            rec.push(color_name(c).to_string());
        }
        b.push_record(rec);
        row_colors.push(c);
    }
    if row_colors.is_empty() {
        return;
    }
    let mut table = b.build();
    table.with(Style::blank()).with(Padding::new(0, 2, 0, 0));
    // Two columns of indent, and the last cell's padding is trimmed below.
    table.with(
        Width::wrap(width)
            .priority(Priority::max(true))
            .keep_words(true),
    );
    if color {
        table.modify(Cell::new(0, 0), TColor::new("\x1b[2m", "\x1b[0m"));
        for (r, c) in row_colors.iter().enumerate() {
            let start = match c {
                Some(c) => format!("\x1b[1;{}m", c.to_fg_str()),
                None => "\x1b[1m".to_string(),
            };
            table.modify(Cell::new(r + 1, 0), TColor::new(start, "\x1b[0m"));
        }
    }
    // tabled pads every cell; trailing spaces only get in the way of copying.
    for line in table.to_string().lines() {
        out.push_str("  ");
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// What the bytes after the last layer are, for this link type.
fn pad_name(d: &Dissection) -> &'static str {
    if d.link == Some(LinkType::ETHERNET) {
        "Ethernet padding or trailer"
    } else {
        "trailer (no layer claims it)"
    }
}

fn color_name(c: Option<colored::Color>) -> &'static str {
    use colored::Color as C;
    let Some(c) = c else {
        return "default";
    };
    match c {
        C::Black => "black",
        C::Red => "red",
        C::Green => "green",
        C::Yellow => "yellow",
        C::Blue => "blue",
        C::Magenta => "magenta",
        C::Cyan => "cyan",
        C::White => "white",
        C::BrightBlack => "grey",
        C::BrightRed => "bright red",
        C::BrightGreen => "bright green",
        C::BrightYellow => "bright yellow",
        C::BrightBlue => "bright blue",
        C::BrightMagenta => "bright magenta",
        C::BrightCyan => "bright cyan",
        C::BrightWhite => "bright white",
        _ => "other",
    }
}

/// Mark the bytes of every occurrence of `name` in `marked`, and say where the field is.
fn highlight(d: &Dissection, name: &str, marked: &mut [bool], color: bool, out: &mut String) {
    let names = crate::filter::field_names(name);
    // Fields read from a source (a reassembled message) are not in the frame's bytes.
    let found: Vec<&Field> = d
        .fields
        .iter()
        .enumerate()
        .filter(|(i, f)| {
            (f.name == name || names.contains(&f.name))
                && (d.layer_sources.is_empty()
                    || d.layer_of_field(*i)
                        .is_none_or(|l| d.source_of(l).is_none()))
        })
        .map(|(_, f)| f)
        .collect();
    let mut line = |text: String| {
        out.push_str("  ");
        paint(out, "^^", None, true, color);
        out.push(' ');
        out.push_str(&text);
        out.push('\n');
    };
    if found.is_empty() {
        // A protocol name stands for its whole header.
        let layers: Vec<usize> = (0..d.layers.len())
            .filter(|&i| {
                d.layers[i].proto.short() == name
                    && d.layers[i].proto != Proto::Frame
                    && d.source_of(i).is_none()
            })
            .collect();
        if layers.is_empty() {
            line(format!("{name}: not in this packet"));
        }
        for i in layers {
            let (at, len) = super::layer_range(d, i);
            for m in marked.iter_mut().skip(at as usize).take(len as usize) {
                *m = true;
            }
            line(format!(
                "{name} ({} header): bytes {}",
                d.layers[i].proto.name(),
                byte_range(at, len)
            ));
        }
        return;
    }
    for f in found {
        let value = f.display(&d.data);
        let what = if value.is_empty() {
            format!("{} ({})", f.name, f.label)
        } else {
            format!("{} ({}) = {value}", f.name, f.label)
        };
        if f.len == 0 {
            line(format!(
                "{what}: worked out by wirelab, not stored in the packet's bytes"
            ));
            continue;
        }
        for (k, i) in f.range().enumerate() {
            // For a bit field, only the bytes that hold some of its bits.
            let shift = 8 * (f.len as usize - 1 - k);
            let in_field = f.mask == 0 || (f.mask as u64 >> shift) & 0xff != 0;
            if in_field && let Some(m) = marked.get_mut(i) {
                *m = true;
            }
        }
        let mut place = if f.mask == 0 {
            let n = f.len;
            format!(
                "{} {}",
                if n == 1 { "byte" } else { "bytes" },
                byte_range(f.at, f.len)
            )
        } else {
            format!(
                "bits {} of {} {} (mask 0x{:0w$x})",
                bit_pattern(&d.data, f.at, f.len, f.mask).unwrap_or_default(),
                if f.len == 1 { "byte" } else { "bytes" },
                byte_range(f.at, f.len),
                f.mask,
                w = f.len as usize * 2
            )
        };
        if f.range().end > d.data.len() {
            place.push_str(" (partly not captured)");
        }
        line(format!("{what}: {place}"));
    }
}

/// The hex cells of one row, in runs of the same owner (and highlight) so that colour
/// escapes are written once per run.
fn hex_cells(
    chunk: &[u8],
    own: &[Owner],
    hl: &[bool],
    d: &Dissection,
    color: bool,
    per: usize,
    out: &mut String,
) {
    let mut i = 0;
    while i < chunk.len() {
        let mut j = i + 1;
        while j < chunk.len() && own[j] == own[i] && hl[j] == hl[i] && j != 8 {
            j += 1;
        }
        let mut text = String::with_capacity(3 * (j - i));
        for (k, b) in chunk[i..j].iter().enumerate() {
            if k > 0 {
                text.push(' ');
            }
            let _ = write!(text, "{b:02x}");
        }
        styled(&text, own[i], hl[i], d, color, out);
        if j < chunk.len() {
            out.push_str(if j == 8 { "  " } else { " " });
        }
        i = j;
    }
    // Pad a short last row so the ASCII column lines up.
    let written = match chunk.len() {
        0 => 0,
        n => cell_col(n - 1) + 2,
    };
    out.push_str(&" ".repeat(hex_width(per) - written));
}

fn styled(text: &str, o: Owner, hl: bool, d: &Dissection, color: bool, out: &mut String) {
    if !color {
        out.push_str(text);
        return;
    }
    let s = match owner_color(o, d) {
        Some(c) => text.color(c),
        None => text.normal(),
    };
    let s = if hl { s.reversed().bold() } else { s };
    let _ = write!(out, "{s}");
}

/// The ASCII column: printable characters as they are, a dot for every other byte.
fn ascii(chunk: &[u8], own: &[Owner], hl: &[bool], d: &Dissection, color: bool, out: &mut String) {
    let mut i = 0;
    while i < chunk.len() {
        let mut j = i + 1;
        while j < chunk.len() && own[j] == own[i] && hl[j] == hl[i] {
            j += 1;
        }
        let text: String = chunk[i..j]
            .iter()
            .map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        styled(&text, own[i], hl[i], d, color, out);
        i = j;
    }
}

/// How many bytes of a source (a reassembled message) the dump shows.
const MAX_SOURCE_DUMP: usize = 4096;

/// Width of a full row of `per` hex cells: for 16, cells of 2, 15 spaces, one more between the
/// halves (48); for 8, 23.
fn hex_width(per: usize) -> usize {
    cell_col(per - 1) + 2
}

/// Screen column of byte `i` of a row within the hex cells (the halves are two spaces apart).
fn cell_col(i: usize) -> usize {
    3 * i + usize::from(i >= 8)
}

/// Under a row of bytes, the layer of each run: `eth──────── ip───`.
fn marker_row(own: &[Owner], keys: &[String], out: &mut String) {
    let mut line = String::new();
    for (o, start, end) in runs(own) {
        let from = cell_col(start);
        let to = cell_col(end - 1) + 2;
        while line.chars().count() < from {
            line.push(' ');
        }
        let w = to - from;
        let key: String = owner_key(o, keys).chars().take(w).collect();
        let fill = if matches!(o, Owner::Layer(_)) {
            '─'
        } else {
            '·'
        };
        line.push_str(&key);
        for _ in key.chars().count()..w {
            line.push(fill);
        }
    }
    out.push_str(&line);
}

/// Under a row of bytes, `^^` under each highlighted byte.
fn caret_row(hl: &[bool], out: &mut String) {
    let mut line = String::new();
    for (i, &h) in hl.iter().enumerate() {
        if h {
            let col = cell_col(i);
            while line.len() < col {
                line.push(' ');
            }
            line.push_str("^^");
        }
    }
    out.push_str(&line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_columns_leave_a_gap_between_the_halves() {
        assert_eq!((hex_width(16), hex_width(8)), (48, 23));
        assert_eq!(cell_col(0), 0);
        assert_eq!(cell_col(7), 21);
        assert_eq!(cell_col(8), 25);
        assert_eq!(cell_col(15), 46);
    }

    #[test]
    fn runs_group_equal_owners() {
        let own = [
            Owner::Layer(1),
            Owner::Layer(1),
            Owner::Layer(2),
            Owner::Pad,
        ];
        assert_eq!(
            runs(&own),
            vec![
                (Owner::Layer(1), 0, 2),
                (Owner::Layer(2), 2, 3),
                (Owner::Pad, 3, 4)
            ]
        );
    }
}
