//! `wirelab define TERM` and `wirelab layers`: the glossary and the two layer models.

use std::process::ExitCode;

use colored::Colorize;
use tabled::builder::Builder;
use tabled::settings::themes::BorderCorrection;
use tabled::settings::{Merge, Style, Width, object::Columns};

use super::Error;
use crate::cli::DefineArgs;
use crate::dissect::fields::FieldDef;
use crate::dissect::model::{Osi, Proto};
use crate::dissect::registry::{self, Protocol};
use crate::glossary::{self, OSI_ROWS, TERMS};

/// Print one term, or suggestions when it is unknown; without a term, the list of terms.
pub fn define(args: &DefineArgs) -> Result<ExitCode, Error> {
    let query = args.term.join(" ");
    let width = super::term_width().clamp(40, 100);
    if query.trim().is_empty() {
        print!("{}", term_list(width));
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(f) = registry::field(query.trim()) {
        // A field name of a registered protocol: its explanation.
        print!("{}", field_text(f, width));
        return Ok(ExitCode::SUCCESS);
    }
    let Some(term) = glossary::lookup(&query) else {
        let near = glossary::suggest(&query);
        if near.is_empty() {
            eprintln!("wirelab: \"{query}\" is not in the glossary.");
        } else {
            eprintln!(
                "wirelab: \"{query}\" is not in the glossary. Did you mean: {}?",
                near.join(", ")
            );
        }
        eprintln!(
            "Terms: {}",
            TERMS.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
        );
        return Ok(ExitCode::from(2));
    };
    // The heading: the name in bold and its meaning, wrapped when the line is too long.
    let head = format!("{} — {}", term.name, term.short);
    for (i, line) in wrap(&head, width).iter().enumerate() {
        match line.strip_prefix(term.name) {
            Some(rest) if i == 0 => println!("{}{rest}", term.name.bold()),
            _ => println!("{line}"),
        }
    }
    println!();
    for para in term.text.split("\n\n") {
        for line in wrap(para, width) {
            println!("{line}");
        }
        println!();
    }
    for p in glossary::protocols_of(term) {
        print!("{}", protocol_text(p, width));
    }
    if term.live.is_empty() {
        println!("{}", "No wirelab command shows this one live yet.".bold());
    } else {
        println!("{}", "See it live:".bold());
    }
    for (cmd, what) in term.live {
        // A command too long for the screen wraps at its spaces (it still reads as one).
        for (i, line) in wrap(cmd, width - 4).iter().enumerate() {
            let pad = if i == 0 { "  " } else { "    " };
            println!("{pad}{}", line.green());
        }
        for line in wrap(what, width.saturating_sub(6)) {
            println!("      {line}");
        }
    }
    if !term.see_also.is_empty() {
        println!();
        let also = format!("See also: {}", term.see_also.join(", "));
        for (i, line) in wrap(&also, width - 2).iter().enumerate() {
            match line.strip_prefix("See also:") {
                Some(rest) if i == 0 => println!("{}{rest}", "See also:".bold()),
                _ => println!("  {line}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What `define` adds for a protocol wirelab dissects (from its registry entry): where it sits
/// on both models and why, how it is recognised, and every field with its explanation.
pub fn protocol_text(p: &Protocol, width: usize) -> String {
    let mut s = format!("{}\n", format!("wirelab dissects {}", p.name).bold());
    let para = |text: String, s: &mut String| {
        for line in wrap(&text, width) {
            s.push_str(&line);
            s.push('\n');
        }
    };
    para(p.about.to_string(), &mut s);
    para(
        format!(
            "Placed at OSI layer {} ({}), TCP/IP {} layer: {}",
            p.osi.number(),
            p.osi.name(),
            p.tcpip.name(),
            p.placement
        ),
        &mut s,
    );
    let hooks: Vec<String> = p.recognise.iter().map(|h| h.describe()).collect();
    para(
        format!(
            "Recognised by: {}. Filter: `{}`; try `wirelab dissect FILE --filter {} --view layers`.",
            hooks.join(", "),
            p.short,
            p.short
        ),
        &mut s,
    );
    s.push_str(&format!("{}\n", "Its fields (Wireshark's names):".bold()));
    for f in p.fields.iter().flat_map(|t| t.iter()) {
        // The name and its label on one line when they fit, else the label on the next.
        if 2 + f.name.chars().count() + 1 + f.label.chars().count() <= width {
            s.push_str(&format!("  {} {}\n", f.name.green(), f.label));
        } else {
            s.push_str(&format!("  {}\n", f.name.green()));
            for line in wrap(f.label, width.saturating_sub(6)) {
                s.push_str(&format!("      {line}\n"));
            }
        }
        for line in wrap(f.explain, width.saturating_sub(6)) {
            s.push_str(&format!("      {line}\n"));
        }
    }
    s.push('\n');
    s
}

/// `wirelab define dhcp.option.dhcp`: one field of a registered protocol, explained.
pub fn field_text(f: &FieldDef, width: usize) -> String {
    let proto = registry::all()
        .find(|p| p.fields.iter().any(|t| t.iter().any(|d| d.name == f.name)))
        .map_or("", |p| p.name);
    let mut s = format!("{} — {} ({proto} field)\n\n", f.name.bold(), f.label);
    for line in wrap(f.explain, width) {
        s.push_str(&line);
        s.push('\n');
    }
    s
}

/// Every term of the glossary with its one-line meaning, the course's ten first.
pub fn term_list(width: usize) -> String {
    let mut s = String::new();
    for line in wrap(
        &format!(
            "{} terms wirelab explains; `wirelab define TERM` tells the whole story of one:",
            TERMS.len()
        ),
        width,
    ) {
        s.push_str(&line);
        s.push('\n');
    }
    s.push('\n');
    let name_width = TERMS
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(0);
    for t in TERMS {
        let lines = wrap(t.short, width.saturating_sub(name_width + 4).max(20));
        for (i, line) in lines.iter().enumerate() {
            let name = if i == 0 { t.name } else { "" };
            let pad = name_width - name.chars().count();
            s.push_str(&format!("  {}{}  {line}\n", name.bold(), " ".repeat(pad)));
        }
    }
    s
}

/// Print the OSI and TCP/IP models side by side, with wirelab's protocols placed on them.
pub fn layers(_color: bool) -> Result<ExitCode, Error> {
    print!("{}", layers_text(super::term_width()));
    Ok(ExitCode::SUCCESS)
}

/// The `wirelab layers` text, laid out for `width` columns.
pub fn layers_text(width: usize) -> String {
    let mut b = Builder::default();
    let mut rows = Vec::new();
    b.push_record([
        "OSI layer",
        "its job",
        "unit",
        "protocols wirelab shows",
        "TCP/IP layer",
    ]);
    for row in OSI_ROWS {
        // A protocol the TCP/IP model puts elsewhere than this row's TCP/IP layer (ARP) says
        // so, rather than inheriting the row's column.
        let protos: Vec<String> = glossary::protocols_at(row.layer)
            .iter()
            .filter(|p| **p != Proto::Frame)
            .map(|p| {
                if p.tcpip() == row.layer.tcpip() {
                    p.name().to_string()
                } else {
                    format!("{} (TCP/IP: {})", p.name(), p.tcpip().name())
                }
            })
            .collect();
        let protos = if row.layer == Osi::Physical {
            "(the capture's record of each frame)".to_string()
        } else if protos.is_empty() {
            "—".to_string()
        } else {
            protos.join(", ")
        };
        let tcpip = row.layer.tcpip();
        let record = [
            format!("{} {}", row.layer.number(), row.layer.name()),
            row.job.to_string(),
            row.pdu.to_string(),
            protos,
            format!("{}: {}", tcpip.name(), glossary::tcpip_job(tcpip)),
        ];
        rows.push(record.clone());
        b.push_record(record);
    }
    let mut table = b.build();
    let total = width.clamp(70, 140);
    table
        .with(Style::modern())
        .modify(
            Columns::one(1),
            Width::wrap(total * 22 / 100).keep_words(true),
        )
        .modify(
            Columns::one(2),
            Width::wrap(total * 12 / 100).keep_words(true),
        )
        .modify(
            Columns::one(3),
            Width::wrap(total * 26 / 100).keep_words(true),
        )
        .modify(
            Columns::one(4),
            Width::wrap(total * 18 / 100).keep_words(true),
        )
        .with(Merge::vertical())
        .with(BorderCorrection::span());
    let mut out = String::new();
    let table = table.to_string();
    if table.lines().all(|l| crate::render::text_width(l) <= width) {
        out.push_str("The OSI model (left) and the TCP/IP model (right), side by side.\n");
        out.push_str("Every packet wirelab shows places each header on both.\n\n");
        out.push_str(&table);
    } else {
        // Too narrow for five columns: one block a layer, the same facts, wrapped.
        let text = width.clamp(40, 100);
        for line in wrap(
            "The OSI model and, under each layer, the TCP/IP model's layer that does its job. \
             Every packet wirelab shows places each header on both.",
            text,
        ) {
            out.push_str(&line);
            out.push('\n');
        }
        out.push('\n');
        for [osi, job, unit, protos, tcpip] in rows {
            let head = format!("{osi} ({unit}): {job}");
            for (i, l) in wrap(&head, text).into_iter().enumerate() {
                out.push_str(if i == 0 { "" } else { "    " });
                out.push_str(&l);
                out.push('\n');
            }
            for part in [
                format!("TCP/IP: {tcpip}"),
                format!("wirelab shows: {protos}"),
            ] {
                for (i, l) in wrap(&part, text - 6).into_iter().enumerate() {
                    out.push_str(if i == 0 { "    " } else { "      " });
                    out.push_str(&l);
                    out.push('\n');
                }
            }
        }
    }
    out.push_str("\n\nWhere the two models disagree:\n");
    for line in [
        "- TCP/IP has no session or presentation layer: TLS, HTTP and WebSocket do those jobs inside the application layer.",
        "- ARP serves the network layer (it finds the MAC address for an IP address) but travels straight inside Ethernet: wirelab places it at OSI layer 3, and, as RFC 1122 §2.3.2 does, in the TCP/IP link layer (marked \"TCP/IP: Link\" in the table).",
        "- ICMP rides inside IP yet is part of IP itself (its error and control channel), so both models put it at the network/internet layer.",
    ] {
        for (i, l) in wrap(line, width.clamp(40, 100) - 2).into_iter().enumerate() {
            out.push_str(if i == 0 { "" } else { "  " });
            out.push_str(&l);
            out.push('\n');
        }
    }
    out.push_str("\nSee each layer in real traffic:\n");
    for row in OSI_ROWS {
        let lines = wrap(row.command, width.clamp(40, 100).saturating_sub(19));
        for (i, line) in lines.iter().enumerate() {
            if i == 0 {
                out.push_str(&format!(
                    "  L{} {:<13} {line}\n",
                    row.layer.number(),
                    row.layer.name()
                ));
            } else {
                out.push_str(&format!("{:19}{line}\n", ""));
            }
        }
    }
    out
}

/// Wrap a paragraph to `width` columns at spaces.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_respects_the_width() {
        let lines = wrap("one two three four five six seven", 10);
        assert!(lines.iter().all(|l| l.chars().count() <= 10), "{lines:?}");
        assert_eq!(lines.join(" "), "one two three four five six seven");
    }

    #[test]
    fn layers_table_places_the_protocols() {
        let text = layers_text(100);
        for needle in [
            "4 Transport",
            "TCP, UDP",
            "IPv4",
            "Ethernet II",
            "Application",
        ] {
            assert!(text.contains(needle), "missing {needle}:\n{text}");
        }
    }
}
