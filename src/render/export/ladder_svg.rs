//! The ladder diagram as an SVG image: each TCP conversation a pair of vertical lines (its
//! two ends), each segment an arrow from the end that sent it to the other, time running
//! down the page. It is the terminal's ladder view ([`crate::render::ladder`]) drawn for a
//! page: the same labels (flags, relative seq and ack, window, length), the same socket
//! states under the arrows, but each conversation drawn on its own.
//!
//! Every arrow is a group `<g class="arrow" data-packet="N">` (N counts the exported packets
//! from 0), so the page can tie a click on an arrow to its packet.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::escape;
use crate::dissect::model::{Dissection, Timestamp};
use crate::dissect::tcp::{Flags, Seq};
use crate::render::ladder::{flag_words, preview, segment};
use crate::stream::state::{Machines, State, inferred_name};

/// Page geometry, in SVG user units (pixels at 100 %).
const WIDTH: u32 = 1000;
const LEFT: u32 = 290;
const RIGHT: u32 = 900;
const ROW: u32 = 30;
const SMALL_ROW: u32 = 15;

/// Direction colours: left to right, right to left (the terminal uses cyan and yellow).
const TO_RIGHT: &str = "#0e7490";
const TO_LEFT: &str = "#b45309";

/// One segment, as the diagram draws it.
struct Row {
    packet: usize,
    number: u64,
    /// Seconds since the capture's first packet, as every view writes them.
    time: Option<String>,
    to_right: bool,
    flags: Flags,
    numbers: String,
    marks: Vec<&'static str>,
    preview: Option<String>,
    /// The ends' states after this segment, where they changed.
    states: Option<(String, String)>,
}

struct Lane {
    stream: Option<u32>,
    left: String,
    right: String,
    machines: Machines,
    initial: [Option<State>; 2],
    rows: Vec<Row>,
}

/// The conversations seen so far.
#[derive(Default)]
pub struct Ladder {
    lanes: Vec<Lane>,
    by_key: HashMap<(Option<u32>, String, String), usize>,
    /// Packets that are not TCP (not drawn).
    other: u64,
}

impl Ladder {
    /// Add packet number `index` of the export (not drawn if it is not TCP).
    pub fn add(&mut self, index: usize, d: &Dissection, first: Option<Timestamp>) {
        let Some(seg) = segment(d) else {
            self.other += 1;
            return;
        };
        let (a, b) = if seg.src <= seg.dst {
            (seg.src.clone(), seg.dst.clone())
        } else {
            (seg.dst.clone(), seg.src.clone())
        };
        let key = (seg.stream, a, b);
        let li = *self.by_key.entry(key).or_insert_with(|| {
            let machines = Machines::new(seg.flags);
            self.lanes.push(Lane {
                stream: seg.stream,
                left: seg.src.clone(),
                right: seg.dst.clone(),
                initial: machines.states,
                machines,
                rows: Vec::new(),
            });
            self.lanes.len() - 1
        });
        let lane = &mut self.lanes[li];
        let to_right = seg.src == lane.left;
        // The same label as the terminal's ladder (relative numbers, scaled window).
        let numbers = seg.numbers(false);
        let from = usize::from(!to_right);
        let changed = lane.machines.segment(
            from,
            seg.flags,
            Seq(seg.seq),
            Seq(seg.ack),
            seg.len.unwrap_or(0),
        );
        let states = (changed[0] || changed[1]).then(|| {
            let name = |i: usize| {
                if changed[i] {
                    lane.machines.name(i).to_string()
                } else {
                    String::new()
                }
            };
            (name(0), name(1))
        });
        let data = &d.data[seg.payload.clone()];
        lane.rows.push(Row {
            packet: index,
            number: d.number,
            time: match (d.ts, d.capture_start.or(first)) {
                (Some(t), Some(f)) => Some(crate::render::seconds_since(t, f)),
                _ => None,
            },
            to_right,
            flags: seg.flags,
            numbers,
            marks: seg.marks,
            preview: (seg.len.unwrap_or(0) > 0 && !data.is_empty()).then(|| preview(data, 60)),
            states,
        });
    }

    /// How many segments are drawn.
    pub fn arrows(&self) -> usize {
        self.lanes.iter().map(|l| l.rows.len()).sum()
    }

    /// The diagram. `standalone` adds the XML declaration (for an .svg file); `note` is a
    /// line under the title (packets left out).
    pub fn svg(&self, standalone: bool, note: Option<&str>) -> String {
        let mut body = String::new();
        let mut y = 20u32;
        if let Some(n) = note {
            let _ = writeln!(
                body,
                "<text class=\"wl-note\" x=\"8\" y=\"{y}\">Note: {}.</text>",
                escape(n)
            );
            y += 24;
        }
        if self.lanes.is_empty() {
            let _ = writeln!(
                body,
                "<text class=\"wl-title\" x=\"8\" y=\"{}\">No TCP conversation in these packets.</text>",
                y + 4
            );
            y += 24;
        }
        for lane in &self.lanes {
            y = self.lane(lane, y, &mut body);
        }
        if self.other > 0 {
            let _ = writeln!(
                body,
                "<text class=\"wl-small\" x=\"8\" y=\"{y}\">{} other packet{} (not TCP) not drawn.</text>",
                self.other,
                if self.other == 1 { "" } else { "s" }
            );
            y += 20;
        }
        let height = y + 10;
        let mut s = String::new();
        if standalone {
            s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        }
        let _ = writeln!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"wl-ladder\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"12\">"
        );
        s.push_str("<title>TCP ladder diagram (wirelab)</title>\n");
        s.push_str(&format!(
            "<defs>\
<marker id=\"wl-head-r\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{TO_RIGHT}\"/></marker>\
<marker id=\"wl-head-l\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{TO_LEFT}\"/></marker>\
</defs>\n<style>\
.wl-title{{font-weight:bold;font-size:14px;fill:#1c1917}}\
.wl-end{{font-weight:bold;fill:#1c1917}}\
.wl-state{{fill:#15803d;font-size:11px}}\
.wl-small,.wl-num,.wl-time{{fill:#57534e;font-size:11px}}\
.wl-note{{fill:#b91c1c}}\
.wl-lane{{stroke:#44403c;stroke-width:2}}\
.wl-r line{{stroke:{TO_RIGHT};stroke-width:1.6}}\
.wl-l line{{stroke:{TO_LEFT};stroke-width:1.6}}\
.wl-label{{fill:#1c1917}}\
.wl-data{{fill:#57534e;font-style:italic;font-size:11px}}\
.wl-syn{{fill:#15803d;font-weight:bold}}.wl-fin{{fill:#a21caf;font-weight:bold}}.wl-rst{{fill:#dc2626;font-weight:bold}}.wl-flags{{font-weight:bold}}\
.wl-mark{{fill:#dc2626}}\
.arrow{{cursor:pointer}}.arrow .wl-hit{{fill:transparent}}.arrow:hover .wl-hit{{fill:#f5f5f4}}\
.arrow.sel .wl-hit{{fill:#fef3c7}}\
</style>\n"
        ));
        s.push_str(&body);
        s.push_str("</svg>\n");
        s
    }

    /// Draw one conversation from `y` down; returns where the next one starts.
    fn lane(&self, lane: &Lane, mut y: u32, out: &mut String) -> u32 {
        let title = match lane.stream {
            Some(n) => format!("TCP stream {n}: {} ⇄ {}", lane.left, lane.right),
            None => format!("TCP: {} ⇄ {}", lane.left, lane.right),
        };
        y += 8;
        let _ = writeln!(
            out,
            "<g class=\"wl-conv\" data-stream=\"{}\">",
            lane.stream.map_or(String::new(), |s| s.to_string())
        );
        let _ = writeln!(
            out,
            "<text class=\"wl-title\" x=\"8\" y=\"{y}\">{}</text>",
            escape(&title)
        );
        y += 22;
        let _ = writeln!(
            out,
            "<text class=\"wl-small\" x=\"8\" y=\"{y}\">frame</text><text class=\"wl-small\" x=\"60\" y=\"{y}\">time (s)</text>\
<text class=\"wl-end\" x=\"{LEFT}\" y=\"{y}\" text-anchor=\"middle\">{}</text><text class=\"wl-end\" x=\"{RIGHT}\" y=\"{y}\" text-anchor=\"middle\">{}</text>",
            escape(&lane.left),
            escape(&lane.right)
        );
        y += SMALL_ROW;
        let _ = writeln!(
            out,
            "<text class=\"wl-state\" x=\"{}\" y=\"{y}\">{}</text><text class=\"wl-state\" x=\"{}\" y=\"{y}\" text-anchor=\"end\">{}</text>",
            LEFT + 6,
            inferred_name(lane.initial[0]),
            RIGHT - 6,
            inferred_name(lane.initial[1])
        );
        let top = y + 4;
        let mut rows = String::new();
        for r in &lane.rows {
            y += ROW;
            let (x1, x2, class, head) = if r.to_right {
                (LEFT, RIGHT, "wl-r", "wl-head-r")
            } else {
                (RIGHT, LEFT, "wl-l", "wl-head-l")
            };
            let flags = flag_words(r.flags);
            let fclass = match r.flags {
                f if f.rst() => "wl-rst",
                f if f.syn() => "wl-syn",
                f if f.fin() => "wl-fin",
                _ => "wl-flags",
            };
            let mut extra = 0;
            if r.preview.is_some() {
                extra += SMALL_ROW;
            }
            if r.states.is_some() {
                extra += SMALL_ROW;
            }
            let time = r.time.clone().unwrap_or_else(|| "-".to_string());
            let marks = if r.marks.is_empty() {
                String::new()
            } else {
                format!(
                    " <tspan class=\"wl-mark\">[{}]</tspan>",
                    escape(&r.marks.join(", "))
                )
            };
            let _ = write!(
                rows,
                "<g class=\"arrow {class}\" id=\"wl-seg-{p}\" data-packet=\"{p}\" data-number=\"{n}\">\
<title>Packet {n}: {flags} {numbers}</title>\
<rect class=\"wl-hit\" x=\"0\" y=\"{hy}\" width=\"{WIDTH}\" height=\"{hh}\"/>\
<text class=\"wl-num\" x=\"8\" y=\"{ty}\">{n}</text><text class=\"wl-time\" x=\"60\" y=\"{ty}\">{time}</text>\
<line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" marker-end=\"url(#{head})\"/>\
<text class=\"wl-label\" x=\"{mid}\" y=\"{ly}\" text-anchor=\"middle\"><tspan class=\"{fclass}\">{flags}</tspan>  {numbers}{marks}</text>",
                p = r.packet,
                n = r.number,
                hy = y - 20,
                hh = 26 + extra,
                ty = y + 4,
                mid = (LEFT + RIGHT) / 2,
                ly = y - 6,
                numbers = escape(&r.numbers),
            );
            if let Some(p) = &r.preview {
                y += SMALL_ROW;
                let (x, anchor) = if r.to_right {
                    (LEFT + 10, "start")
                } else {
                    (RIGHT - 10, "end")
                };
                let _ = write!(
                    rows,
                    "<text class=\"wl-data\" x=\"{x}\" y=\"{y}\" text-anchor=\"{anchor}\">{}</text>",
                    escape(p)
                );
            }
            if let Some((l, rr)) = &r.states {
                y += SMALL_ROW;
                let _ = write!(
                    rows,
                    "<text class=\"wl-state\" x=\"{}\" y=\"{y}\">{}</text><text class=\"wl-state\" x=\"{}\" y=\"{y}\" text-anchor=\"end\">{}</text>",
                    LEFT + 6,
                    escape(l),
                    RIGHT - 6,
                    escape(rr)
                );
            }
            rows.push_str("</g>\n");
        }
        let bottom = y + 12;
        // The two ends' lines first, so the arrows are drawn over them.
        let _ = writeln!(
            out,
            "<line class=\"wl-lane\" x1=\"{LEFT}\" y1=\"{top}\" x2=\"{LEFT}\" y2=\"{bottom}\"/><line class=\"wl-lane\" x1=\"{RIGHT}\" y1=\"{top}\" x2=\"{RIGHT}\" y2=\"{bottom}\"/>"
        );
        out.push_str(&rows);
        out.push_str("</g>\n");
        bottom + 24
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_ladder_says_so() {
        let svg = Ladder::default().svg(true, None);
        assert!(svg.starts_with("<?xml"));
        assert!(svg.contains("No TCP conversation"));
    }
}
