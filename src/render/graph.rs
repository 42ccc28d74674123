//! `--graph`: the time-sequence graph of a TCP connection (Stevens' graph), drawn with
//! characters in the terminal or as a standalone SVG file.
//!
//! Time runs across, the relative sequence number up. Each data segment is a short vertical
//! bar from its first byte to its last: a sender that is never held back draws a straight
//! climbing line whose slope is its throughput. Below the bars, the acknowledgments coming
//! back from the receiver draw a staircase; above, the acknowledgment plus the advertised
//! window is the ceiling the sender may not pass. Retransmissions stand out as bars *below*
//! the line, drawn as `R`. See [`crate::stream::timeseq`] for the idea.

use std::fmt::Write;

use colored::Colorize;

use crate::dissect::tcp::{Flags, Seq};
use crate::stream::conversation::Side;
use crate::stream::timeseq::{Point, TimeSeq};

/// What the graph is drawn from: one direction's data, and the other direction's ACKs.
struct Series<'a> {
    data: Vec<&'a Point>,
    acks: Vec<&'a Point>,
    t_max: f64,
    y_max: f64,
    /// The window ceiling goes above the top of the graph somewhere: it is drawn clipped at
    /// the plot's edge (its peak would squash the data into a thin band).
    window_clipped: bool,
}

fn series(ts: &TimeSeq, side: Side) -> Series<'_> {
    let data: Vec<&Point> = ts
        .points
        .iter()
        .filter(|p| p.side == side && (p.len > 0 || p.flags.intersects(Flags::SYN | Flags::FIN)))
        .collect();
    let acks: Vec<&Point> = ts
        .points
        .iter()
        .filter(|p| p.side != side && p.ack.is_some())
        .collect();
    // The time axis ends with the last data segment or the last ACK that moved forward: an
    // idle minute before the final RST would squeeze the whole transfer into one column.
    let mut t_max = data.iter().map(|p| p.t).fold(0.0, f64::max);
    let mut last_ack = None;
    for p in &acks {
        if last_ack.is_none_or(|a| p.ack.is_some_and(|x| Seq(x) > Seq(a))) {
            t_max = t_max.max(p.t);
            last_ack = p.ack;
        }
    }
    let top_data = data
        .iter()
        .map(|p| p.seq as f64 + p.len.max(1) as f64)
        .fold(1.0, f64::max);
    let top_ack = acks
        .iter()
        .map(|p| p.ack.unwrap_or(0) as f64)
        .fold(0.0, f64::max);
    let mut y_max = top_data.max(top_ack);
    // Make room for the window ceiling too, unless it is far above the data; then it is
    // clipped at the top edge instead.
    let top_win = acks
        .iter()
        .map(|p| p.ack.unwrap_or(0) as f64 + p.win as f64)
        .fold(0.0, f64::max);
    if top_win <= y_max * 1.5 {
        y_max = y_max.max(top_win);
    }
    Series {
        data,
        acks,
        t_max: if t_max > 0.0 { t_max } else { 1e-3 },
        y_max,
        window_clipped: top_win > y_max,
    }
}

fn title(ts: &TimeSeq, side: Side) -> String {
    let (from, to) = (ts.sender(side), ts.sender(side.other()));
    format!(
        "TCP stream {}: data {from} → {to}, acknowledgments {to} → {from}",
        ts.stream
    )
}

/// A step for axis ticks: 1, 2 or 5 times a power of ten, giving about `n` ticks.
fn nice_step(range: f64, n: f64) -> f64 {
    let raw = (range / n).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn fmt_tick(v: f64, step: f64) -> String {
    if step >= 1.0 {
        format!("{v:.0}")
    } else {
        let decimals = (-step.log10()).ceil().max(0.0) as usize;
        format!("{v:.decimals$}")
    }
}

/// Draw the graph with characters, `width` columns wide.
pub fn terminal(ts: &TimeSeq, side: Side, width: usize, color: bool, out: &mut String) {
    terminal_with(ts, side, width, color, &[], out);
}

/// The graph with the sender's congestion window drawn over it as `c`: points of (seconds
/// since the connection's first packet, relative sequence number the window reaches, that is
/// the bytes acknowledged + 1 + cwnd × MSS). Only the sender knows cwnd (`tcp transfer` reads
/// it from the kernel), so a capture file alone has none.
pub fn terminal_with(
    ts: &TimeSeq,
    side: Side,
    width: usize,
    color: bool,
    cwnd: &[(f64, f64)],
    out: &mut String,
) {
    let s = series(ts, side);
    let _ = writeln!(out, "{}", title(ts, side));
    if s.data.is_empty() {
        let _ = writeln!(out, "  (no data segments in this direction)");
        return;
    }
    let label_w = format!("{:.0}", s.y_max).len().max(3) + 1;
    let cols = width.max(40) - label_w - 2;
    let rows = 20usize;
    let mut grid = vec![vec![' '; cols]; rows];
    let x_of = |t: f64| ((t / s.t_max) * (cols - 1) as f64).round() as usize;
    let y_of = |v: f64| {
        let r = ((v / s.y_max) * (rows - 1) as f64).round() as usize;
        rows - 1 - r.min(rows - 1)
    };
    // Lower-priority marks first: the window ceiling, then ACKs, then data on top.
    let rank = |c: char| match c {
        'R' => 5,
        'S' | 'F' => 4,
        '|' => 3,
        '.' => 2,
        '~' | 'c' => 1,
        _ => 0,
    };
    let put = |grid: &mut Vec<Vec<char>>, x: usize, y: usize, c: char| {
        if rank(c) >= rank(grid[y][x]) {
            grid[y][x] = c;
        }
    };
    for p in s.acks.iter().filter(|p| p.t <= s.t_max) {
        let ack = p.ack.unwrap_or(0) as f64;
        let x = x_of(p.t);
        let ceiling = ack + p.win as f64;
        // Above the top, the ceiling is clipped: not drawn, rather than drawn at the edge.
        if ceiling <= s.y_max {
            put(&mut grid, x, y_of(ceiling), '~');
        }
        put(&mut grid, x, y_of(ack), '.');
    }
    for &(t, y) in cwnd
        .iter()
        .filter(|(t, y)| *t >= 0.0 && *t <= s.t_max && *y <= s.y_max)
    {
        put(&mut grid, x_of(t), y_of(y), 'c');
    }
    for p in s.data.iter().filter(|p| p.t <= s.t_max) {
        let x = x_of(p.t);
        let c = if p.retransmission {
            'R'
        } else if p.flags.syn() {
            'S'
        } else if p.flags.fin() && p.len == 0 {
            'F'
        } else {
            '|'
        };
        let (lo, hi) = (y_of(p.seq as f64), y_of(p.seq as f64 + p.len as f64));
        for y in hi..=lo {
            put(&mut grid, x, y, c);
        }
    }
    let step = nice_step(s.y_max, 4.0);
    for (r, row) in grid.iter().enumerate() {
        // Label the rows nearest to each tick.
        let v = s.y_max * (rows - 1 - r) as f64 / (rows - 1) as f64;
        let row_span = s.y_max / (rows - 1) as f64;
        let tick = (v / step).round() * step;
        let label = if (v - tick).abs() <= row_span / 2.0 {
            fmt_tick(tick, step)
        } else {
            String::new()
        };
        let line: String = row.iter().collect();
        let line = if color {
            line.chars()
                .map(|c| match c {
                    'R' => "R".red().bold().to_string(),
                    '|' => "|".cyan().to_string(),
                    '.' => ".".green().to_string(),
                    '~' => "~".yellow().to_string(),
                    'c' => "c".purple().to_string(),
                    'S' | 'F' => c.to_string().magenta().to_string(),
                    _ => c.to_string(),
                })
                .collect()
        } else {
            line.trim_end().to_string()
        };
        let _ = writeln!(out, "{label:>label_w$} ┤{line}");
    }
    let _ = writeln!(out, "{:>label_w$} └{}", "", "─".repeat(cols));
    // Time ticks under the axis.
    let tstep = nice_step(s.t_max, (cols / 14).max(1) as f64);
    let mut axis = vec![' '; cols + 12];
    let mut t = 0.0;
    while t <= s.t_max * 1.0001 {
        let x = x_of(t);
        let txt = fmt_tick(t, tstep);
        if x + txt.len() <= axis.len() && axis[x..x + txt.len()].iter().all(|c| *c == ' ') {
            for (i, ch) in txt.chars().enumerate() {
                axis[x + i] = ch;
            }
        }
        t += tstep;
    }
    let axis: String = axis.into_iter().collect();
    let _ = writeln!(out, "{:>label_w$}  {}", "", axis.trim_end());
    let _ = writeln!(
        out,
        "{:>label_w$}  time since the connection's first packet (s) →   y: relative sequence number (bytes)",
        ""
    );
    let _ = writeln!(
        out,
        "  | data segment (first to last byte)   R retransmission   S/F SYN/FIN\n  . ACK from the receiver   ~ ACK + window (the most the sender may reach{})",
        if s.window_clipped {
            "; clipped where it runs above the top"
        } else {
            ""
        }
    );
    if !cwnd.is_empty() {
        let _ = writeln!(
            out,
            "  c bytes acknowledged + cwnd × MSS (the most the sender's congestion window lets it reach)"
        );
    }
    if ts.dropped > 0 {
        let _ = writeln!(
            out,
            "  ({} later segments not drawn: at most {} points are kept per connection)",
            ts.dropped, ts.limit
        );
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A standalone SVG document of the graph.
pub fn svg(ts: &TimeSeq, side: Side) -> String {
    svg_with(ts, side, &[])
}

/// The SVG graph with the sender's congestion window over it (see [`terminal_with`]).
pub fn svg_with(ts: &TimeSeq, side: Side, cwnd: &[(f64, f64)]) -> String {
    let s = series(ts, side);
    let (w, h) = (960.0, 560.0);
    let (ml, mr, mt, mb) = (90.0, 30.0, 50.0, 90.0);
    let pw = w - ml - mr;
    let ph = h - mt - mb;
    let x_of = |t: f64| ml + t / s.t_max * pw;
    let y_of = |v: f64| mt + ph - v / s.y_max * ph;
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">
<title>{}</title>
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="24" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
        esc(&title(ts, side)),
        w / 2.0,
        esc(&title(ts, side))
    );
    // Axes, ticks and grid lines.
    let _ = writeln!(
        o,
        r##"<g stroke="#333" stroke-width="1"><line x1="{ml}" y1="{}" x2="{}" y2="{}"/><line x1="{ml}" y1="{mt}" x2="{ml}" y2="{}"/></g>"##,
        mt + ph,
        ml + pw,
        mt + ph,
        mt + ph
    );
    let ystep = nice_step(s.y_max, 6.0);
    let mut v = 0.0;
    while v <= s.y_max * 1.0001 {
        let y = y_of(v);
        let _ = writeln!(
            o,
            r##"<line x1="{ml}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            ml + pw,
            ml - 6.0,
            y + 4.0,
            fmt_tick(v, ystep)
        );
        v += ystep;
    }
    let tstep = nice_step(s.t_max, 8.0);
    let mut t = 0.0;
    while t <= s.t_max * 1.0001 {
        let x = x_of(t);
        let _ = writeln!(
            o,
            r##"<line x1="{x:.1}" y1="{mt}" x2="{x:.1}" y2="{}" stroke="#eee"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
            mt + ph,
            mt + ph + 18.0,
            fmt_tick(t, tstep)
        );
        t += tstep;
    }
    let _ = writeln!(
        o,
        r#"<text x="{}" y="{}" text-anchor="middle">time since the connection's first packet (s)</text>
<text transform="translate(22 {}) rotate(-90)" text-anchor="middle">relative sequence number (bytes)</text>"#,
        ml + pw / 2.0,
        mt + ph + 40.0,
        mt + ph / 2.0
    );
    // The window ceiling and the ACK staircase, clipped to the plot area (a line that runs
    // above the top is cut at the edge, not dropped).
    let _ = writeln!(
        o,
        r#"<defs><clipPath id="plot"><rect x="{ml}" y="{mt}" width="{pw}" height="{ph}"/></clipPath></defs>"#
    );
    let step_path = |f: &dyn Fn(&Point) -> f64| {
        let mut d = String::new();
        let mut prev: Option<f64> = None;
        for p in s.acks.iter().filter(|p| p.t <= s.t_max) {
            // Far above the top the exact height does not matter: the clip hides it.
            let (x, y) = (x_of(p.t), y_of(f(p).min(s.y_max * 2.0)));
            match prev {
                None => {
                    let _ = write!(d, "M{x:.1},{y:.1}");
                }
                Some(py) => {
                    let _ = write!(d, " L{x:.1},{py:.1} L{x:.1},{y:.1}");
                }
            }
            prev = Some(y);
        }
        d
    };
    if !s.acks.is_empty() {
        let _ = writeln!(
            o,
            r##"<path d="{}" fill="none" stroke="#d4a000" stroke-width="1.2" clip-path="url(#plot)"/>"##,
            step_path(&|p| p.ack.unwrap_or(0) as f64 + p.win as f64)
        );
    }
    if !s.acks.is_empty() {
        let _ = writeln!(
            o,
            r##"<path d="{}" fill="none" stroke="#2a9d3a" stroke-width="1.5"/>"##,
            step_path(&|p| p.ack.unwrap_or(0) as f64)
        );
    }
    if !cwnd.is_empty() {
        let mut d = String::new();
        for &(t, y) in cwnd.iter().filter(|(t, _)| *t >= 0.0 && *t <= s.t_max) {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if d.is_empty() { "M" } else { " L" },
                x_of(t),
                y_of(y.min(s.y_max * 2.0))
            );
        }
        let _ = writeln!(
            o,
            r##"<path d="{d}" fill="none" stroke="#9b30d9" stroke-width="1.2" stroke-dasharray="4 2" clip-path="url(#plot)"><title>bytes acknowledged + cwnd × MSS</title></path>"##
        );
    }
    // The data segments, as I-bars.
    for p in &s.data {
        let x = x_of(p.t);
        let (y1, y2) = (y_of(p.seq as f64), y_of(p.seq as f64 + p.len as f64));
        let colour = if p.retransmission {
            "#d62828"
        } else if p.flags.intersects(Flags::SYN | Flags::FIN) && p.len == 0 {
            "#8e44ad"
        } else {
            "#1d4ed8"
        };
        let _ = writeln!(
            o,
            r#"<g stroke="{colour}" stroke-width="1.3"><title>frame {} seq {} len {}{}</title><line x1="{x:.1}" y1="{y1:.1}" x2="{x:.1}" y2="{y2:.1}"/><line x1="{:.1}" y1="{y1:.1}" x2="{:.1}" y2="{y1:.1}"/><line x1="{:.1}" y1="{y2:.1}" x2="{:.1}" y2="{y2:.1}"/></g>"#,
            p.frame,
            p.seq,
            p.len,
            if p.retransmission {
                " (retransmission)"
            } else {
                ""
            },
            x - 3.0,
            x + 3.0,
            x - 3.0,
            x + 3.0
        );
    }
    // Legend.
    let ly = h - 28.0;
    let _ = writeln!(
        o,
        r##"<g font-size="12">
<line x1="{ml}" y1="{ly}" x2="{}" y2="{ly}" stroke="#1d4ed8" stroke-width="2"/><text x="{}" y="{}">data segment</text>
<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="#d62828" stroke-width="2"/><text x="{}" y="{}">retransmission</text>
<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="#2a9d3a" stroke-width="2"/><text x="{}" y="{}">ACK from the receiver</text>
<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="#d4a000" stroke-width="2"/><text x="{}" y="{}">ACK + advertised window{}</text>
{}</g>
</svg>"##,
        ml + 20.0,
        ml + 26.0,
        ly + 4.0,
        ml + 150.0,
        ml + 170.0,
        ml + 176.0,
        ly + 4.0,
        ml + 300.0,
        ml + 320.0,
        ml + 326.0,
        ly + 4.0,
        ml + 490.0,
        ml + 510.0,
        ml + 516.0,
        ly + 4.0,
        if s.window_clipped {
            " (clipped at the top)"
        } else {
            ""
        },
        if cwnd.is_empty() {
            String::new()
        } else {
            format!(
                r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#9b30d9" stroke-width="2" stroke-dasharray="4 2"/><text x="{}" y="{}">ACK + cwnd × MSS (the sender's congestion window)</text>
"##,
                ml + 20.0,
                ly + 18.0,
                ml + 40.0,
                ly + 18.0,
                ml + 46.0,
                ly + 22.0
            )
        }
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::conversation::Endpoint;

    fn sample() -> TimeSeq {
        let ep = |p| Endpoint {
            addr: "10.0.0.1".parse().unwrap(),
            port: p,
        };
        let mut ts = TimeSeq::new(3, ep(5000), ep(80), 100);
        let pt = |t, side, seq, len, ack: Option<u32>, retransmission| Point {
            t,
            frame: 1,
            side,
            seq,
            len,
            ack,
            win: 1000,
            flags: Flags::ACK,
            retransmission,
        };
        ts.push(pt(0.0, Side::AtoB, 1, 100, Some(1), false));
        ts.push(pt(0.1, Side::AtoB, 101, 100, Some(1), false));
        ts.push(pt(0.2, Side::BtoA, 1, 0, Some(101), false));
        ts.push(pt(0.3, Side::AtoB, 101, 100, Some(1), true));
        ts.push(pt(0.4, Side::BtoA, 1, 0, Some(201), false));
        ts
    }

    #[test]
    fn terminal_draws_data_acks_and_retransmission() {
        let mut out = String::new();
        terminal(&sample(), Side::AtoB, 80, false, &mut out);
        assert!(
            out.contains('|') && out.contains('R') && out.contains('.'),
            "{out}"
        );
        assert!(out.contains("data 10.0.0.1:5000 → 10.0.0.1:80"), "{out}");
    }

    #[test]
    fn svg_is_a_standalone_document() {
        let s = svg(&sample(), Side::AtoB);
        assert!(s.starts_with("<?xml"));
        assert!(s.trim_end().ends_with("</svg>"));
        assert!(s.contains("retransmission"));
        assert_eq!(s.matches("<title>frame").count(), 3, "three data bars");
    }

    /// A window far above the data (its peak more than 1.5 times the top) is still drawn,
    /// clipped at the plot's edge, and the legend says so.
    #[test]
    fn window_above_the_top_is_clipped_not_dropped() {
        let mut ts = sample();
        for p in ts.points.iter_mut() {
            p.win = 1_000_000;
        }
        let s = svg(&ts, Side::AtoB);
        assert!(s.contains("<clipPath id=\"plot\">"), "{s}");
        assert!(s.contains("stroke=\"#d4a000\""), "the window line is drawn");
        assert!(s.contains("clip-path=\"url(#plot)\""));
        assert!(s.contains("(clipped at the top)"));
        let mut out = String::new();
        terminal(&ts, Side::AtoB, 80, false, &mut out);
        assert!(out.contains("clipped where it runs above the top"), "{out}");
        // Within the plot, it is drawn whole.
        let mut ts = sample();
        for p in ts.points.iter_mut() {
            p.win = 50;
        }
        let s = svg(&ts, Side::AtoB);
        assert!(s.contains("stroke=\"#d4a000\"") && !s.contains("(clipped at the top)"));
    }

    #[test]
    fn nice_step_is_1_2_5() {
        assert_eq!(nice_step(100.0, 5.0), 20.0);
        assert_eq!(nice_step(0.9, 4.0), 0.5);
        assert_eq!(nice_step(7000.0, 6.0), 2000.0);
    }
}
