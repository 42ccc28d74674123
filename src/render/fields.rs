//! The fields view: chosen fields as columns, one row a packet, as `tshark -T fields -e …`
//! prints them.
//!
//! A lab question often asks about one or two fields across many packets: "which IP fields
//! change from one datagram to the next?", "what pattern do the identification numbers
//! follow?", "how does the TTL of the replies differ?". The layer tree answers that, but one
//! packet at a time and with every other field around it. Here the learner names the fields
//! (`-e ip.id -e ip.ttl`) and reads them down a column:
//!
//! ```text
//! $ wirelab dissect trace.pcapng --view fields -e frame.number -e ip.id -e ip.ttl -E header=y
//! frame.number    ip.id   ip.ttl
//! 3       0x1fab  1
//! 4       0x8bc5,0x1fab   64,1
//! ```
//!
//! Each value is written exactly as tshark writes it ([`Field::tshark`](crate::dissect::Field)),
//! a field the packet does not have is an empty cell, and a field that occurs more than once
//! (the IP header an ICMP error quotes, two DNS questions) has its values joined with `,`,
//! outermost first, as tshark does. The `-E` options are tshark's: `header=y`,
//! `separator=/t|/s|C`, `occurrence=f|l|a`, `aggregator=,|/s|C`, `quote=d|s|n`.

use crate::dissect::model::{Dissection, Value};

/// How the columns are written: tshark's `-E` options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Print the field names as a first line (`-E header=y`).
    pub header: bool,
    /// Between columns (`-E separator=`); a tab unless told otherwise.
    pub separator: String,
    /// Which occurrences of a repeated field to print (`-E occurrence=`).
    pub occurrence: Occurrence,
    /// Between the occurrences of one field (`-E aggregator=`); a comma unless told otherwise.
    pub aggregator: String,
    /// Quote each value (`-E quote=d` double, `s` single; none by default).
    pub quote: Option<char>,
    /// Pad the columns so they line up (at a terminal, when no separator was asked for):
    /// each column as wide as its name or its kind of value usually is (an IPv4 address 15
    /// characters, a MAC address 17), two spaces between; a longer value pushes the rest of
    /// its row along. Piped output keeps tshark's tabs.
    pub align: bool,
}

impl Default for Layout {
    fn default() -> Layout {
        Layout {
            header: false,
            separator: "\t".into(),
            occurrence: Occurrence::All,
            aggregator: ",".into(),
            quote: None,
            align: false,
        }
    }
}

/// Which occurrences of a field a cell shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Occurrence {
    First,
    Last,
    All,
}

impl Layout {
    /// Read tshark's `-E NAME=VALUE` options, one by one, as given on the command line.
    pub fn parse(options: &[String]) -> Result<Layout, String> {
        let mut l = Layout::default();
        for o in options {
            let Some((name, value)) = o.split_once('=') else {
                return Err(format!(
                    "-E {o}: write an option as NAME=VALUE, e.g. -E header=y or -E separator=,"
                ));
            };
            let msg = |what: &str| format!("-E {o}: {what}");
            let bad = |what: &str| Err(msg(what));
            match name {
                "header" => {
                    l.header = match value {
                        "y" | "yes" => true,
                        "n" | "no" => false,
                        _ => return bad("header is y or n"),
                    }
                }
                "separator" => {
                    l.separator = separator(value).ok_or_else(|| {
                        msg("a separator is one character, /t (tab) or /s (space)")
                    })?
                }
                "aggregator" => {
                    l.aggregator = separator(value).ok_or_else(|| {
                        msg("an aggregator is one character, /t (tab) or /s (space)")
                    })?
                }
                "occurrence" => {
                    l.occurrence = match value {
                        "f" => Occurrence::First,
                        "l" => Occurrence::Last,
                        "a" => Occurrence::All,
                        _ => return bad("occurrence is f (first), l (last) or a (all)"),
                    }
                }
                "quote" => {
                    l.quote = match value {
                        "d" => Some('"'),
                        "s" => Some('\''),
                        "n" => None,
                        _ => return bad("quote is d (double), s (single) or n (none)"),
                    }
                }
                _ => {
                    return bad(
                        "the options are header, separator, occurrence, aggregator and quote",
                    );
                }
            }
        }
        Ok(l)
    }
}

/// tshark's spelling of a separator: `/t` a tab, `/s` a space, else the one character given.
fn separator(v: &str) -> Option<String> {
    match v {
        "/t" => Some("\t".into()),
        "/s" => Some(" ".into()),
        _ if v.chars().count() == 1 => Some(v.into()),
        _ => None,
    }
}

/// The columns: each a name as the learner wrote it, and the field names it stands for (an
/// alias such as `tcp.port` stands for `tcp.srcport` and `tcp.dstport`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Columns {
    pub names: Vec<String>,
    pub fields: Vec<Vec<&'static str>>,
}

impl Columns {
    /// Check each name against the fields wirelab knows; an unknown one is an error that lists
    /// the nearest known names.
    pub fn new(names: &[String]) -> Result<Columns, String> {
        if names.is_empty() {
            return Err(
                "--view fields needs the fields to show: name each with -e, e.g. -e ip.src -e ip.ttl"
                    .into(),
            );
        }
        let mut fields = Vec::with_capacity(names.len());
        for n in names {
            let covers = crate::filter::field_names(n);
            if covers.is_empty() {
                let near = crate::filter::suggest(n);
                let hint = if near.is_empty() {
                    String::new()
                } else {
                    format!("; the nearest known names: {}", near.join(", "))
                };
                return Err(format!("-e {n}: no field has that name{hint}"));
            }
            fields.push(covers);
        }
        Ok(Columns {
            names: names.to_vec(),
            fields,
        })
    }
}

/// How wide a column is when aligned: its name, or the usual width of its kind of value.
fn column_width(cols: &Columns, c: usize) -> usize {
    use crate::filter::Kind;
    let kind = cols.fields[c]
        .first()
        .and_then(|n| crate::filter::known_fields().find(|(k, _)| k == n))
        .map(|(_, k)| k);
    let usual = match kind {
        Some(Kind::Mac) => 17,
        Some(Kind::Ipv4) => 15,
        Some(Kind::Ipv6) => 25,
        Some(Kind::Time) => 11,
        Some(Kind::Text) | Some(Kind::Bytes) => 20,
        _ => 6,
    };
    cols.names[c].chars().count().max(usual)
}

/// Between two cells: the separator, or when aligned, the padding of the cell before.
fn between(cols: &Columns, layout: &Layout, c: usize, cell_start: usize, out: &mut String) {
    if layout.align {
        let used = out[cell_start..].chars().count();
        let w = column_width(cols, c);
        out.extend(std::iter::repeat_n(' ', w.saturating_sub(used) + 2));
    } else {
        out.push_str(&layout.separator);
    }
}

/// The header line: the names as given.
pub fn header(cols: &Columns, layout: &Layout, out: &mut String) {
    let mut start = out.len();
    for (i, n) in cols.names.iter().enumerate() {
        if i > 0 {
            between(cols, layout, i - 1, start, out);
        }
        start = out.len();
        out.push_str(n);
    }
    end_line(layout, out);
}

/// End a line (an aligned one without the padding of its last, empty cells).
fn end_line(layout: &Layout, out: &mut String) {
    if layout.align {
        let kept = out.trim_end_matches(' ').len();
        out.truncate(kept);
    }
    out.push('\n');
}

/// One packet's row.
pub fn row(d: &Dissection, cols: &Columns, layout: &Layout, out: &mut String) {
    let mut values: Vec<String> = Vec::new();
    let mut start = out.len();
    for (c, names) in cols.fields.iter().enumerate() {
        if c > 0 {
            between(cols, layout, c - 1, start, out);
        }
        start = out.len();
        values.clear();
        for (i, f) in d.fields.iter().enumerate() {
            if matches!(f.value, Value::None) || !names.contains(&f.name) {
                continue;
            }
            let mut v = String::new();
            f.write_tshark(d.field_bytes(i), &mut v);
            values.push(v);
        }
        let chosen: &[String] = match layout.occurrence {
            _ if values.is_empty() => &[],
            Occurrence::All => &values,
            Occurrence::First => &values[..1],
            Occurrence::Last => &values[values.len() - 1..],
        };
        for (k, v) in chosen.iter().enumerate() {
            if k > 0 {
                out.push_str(&layout.aggregator);
            }
            if let Some(q) = layout.quote {
                out.push(q);
            }
            // A value is one cell: text a peer wrote (a DNS name, an HTTP header) is escaped,
            // so a tab, newline or escape sequence in it cannot break the table or the terminal.
            out.push_str(&crate::escape::escape(v));
            if let Some(q) = layout.quote {
                out.push(q);
            }
        }
    }
    end_line(layout, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_read_as_tshark_spells_them() {
        let l = Layout::parse(&[
            "header=y".into(),
            "separator=,".into(),
            "occurrence=f".into(),
            "aggregator=/s".into(),
            "quote=d".into(),
        ])
        .unwrap();
        assert!(l.header);
        assert_eq!(l.separator, ",");
        assert_eq!(l.occurrence, Occurrence::First);
        assert_eq!(l.aggregator, " ");
        assert_eq!(l.quote, Some('"'));
        assert_eq!(
            Layout::parse(&["separator=/t".into()]).unwrap().separator,
            "\t"
        );
        for bad in ["header", "header=maybe", "separator=ab", "colour=y"] {
            let e = Layout::parse(&[bad.into()]).unwrap_err();
            assert!(e.starts_with(&format!("-E {bad}")), "{e}");
        }
    }

    #[test]
    fn aligned_columns_line_up() {
        let cols =
            Columns::new(&["frame.number".into(), "ip.src".into(), "ip.ttl".into()]).unwrap();
        let layout = Layout {
            align: true,
            header: true,
            ..Layout::default()
        };
        let mut out = String::new();
        header(&cols, &layout, &mut out);
        assert_eq!(out, "frame.number  ip.src           ip.ttl\n");
        let mut d = Dissection::default();
        d.fields.push(crate::dissect::Field {
            name: "ip.src",
            value: Value::Ipv4([10, 0, 0, 1]),
            ..crate::dissect::Field::BLANK
        });
        let mut row_text = String::new();
        row(&d, &cols, &layout, &mut row_text);
        assert_eq!(row_text, "              10.0.0.1\n");
        assert_eq!(
            row_text.find("10.0.0.1"),
            out.find("ip.src"),
            "the value under its name"
        );
    }

    #[test]
    fn unknown_names_are_refused_with_the_near_ones() {
        let e = Columns::new(&["ip.tll".into()]).unwrap_err();
        assert!(e.contains("-e ip.tll") && e.contains("ip.ttl"), "{e}");
        assert!(Columns::new(&[]).unwrap_err().contains("-e"));
        let c = Columns::new(&["tcp.port".into(), "ip.ttl".into()]).unwrap();
        assert_eq!(c.fields[0], vec!["tcp.srcport", "tcp.dstport"]);
    }
}
