//! The summary view: one line a packet.
//!
//! ```text
//!    1   0.000000  10.0.0.1:55920 → 10.0.0.2:80  TCP  [SYN] seq=928549246 win=32767 len=0
//! ```
//!
//! The time is seconds since the first packet shown. The addresses are those of the innermost
//! network layer, with the ports of the transport layer; the protocol is the topmost layer
//! wirelab recognised, and the rest describes it.

use std::fmt::Write;

use colored::Colorize;

use crate::dissect::describe;
use crate::dissect::model::{Dissection, Proto, Timestamp};

/// Append the summary line for `d` (with a newline) to `out`.
pub fn line(d: &Dissection, first: Timestamp, color: bool, out: &mut String) {
    match d.ts {
        Some(ts) => {
            let _ = write!(out, "{:>5} {:>11.6}  ", d.number, ts.since(first));
        }
        None => {
            let _ = write!(out, "{:>5} {:>11}  ", d.number, "-");
        }
    }
    let (src, dst) = endpoints(d);
    let top = top_layer(d);
    let proto = top.map(|l| l.proto).unwrap_or(Proto::Frame);
    let info = match top {
        Some(l) => {
            let mut s = describe(d, l);
            // The description starts with the protocol's name; the column already says it.
            if let Some(rest) = s.strip_prefix(l.proto.name()) {
                s = rest.trim_start_matches([',', ' ']).to_string();
            }
            // …and so do the ports.
            let ports = |a, b| Some(format!("{} → {} ", d.uint(a)?, d.uint(b)?));
            let prefix =
                ports("tcp.srcport", "tcp.dstport").or_else(|| ports("udp.srcport", "udp.dstport"));
            if let Some(rest) = prefix.and_then(|p| s.strip_prefix(&p).map(str::to_string)) {
                s = rest;
            }
            s
        }
        None => String::new(),
    };
    let arrow = if src.is_empty() && dst.is_empty() {
        ""
    } else {
        " → "
    };
    let name = proto.name();
    if color {
        let _ = write!(
            out,
            "{}{}{}  {}  {}",
            src.cyan(),
            arrow,
            dst.cyan(),
            name.bold(),
            info
        );
    } else {
        let _ = write!(out, "{src}{arrow}{dst}  {name}  {info}");
    }
    for p in &d.problems {
        if color {
            let _ = write!(
                out,
                "  {}",
                format!("[{}: {}]", p.kind.name(), p.proto.short()).red()
            );
        } else {
            let _ = write!(out, "  [{}: {}]", p.kind.name(), p.proto.short());
        }
    }
    out.push('\n');
}

/// The layer the summary describes: the topmost one, skipping a trailing data layer when a
/// transport layer below it says more.
fn top_layer(d: &Dissection) -> Option<&crate::dissect::model::Layer> {
    let mut layers = d.layers.iter().rev();
    let top = layers.next()?;
    if top.proto == Proto::Data {
        if let Some(below) = d.layers.iter().rev().nth(1) {
            if below.proto != Proto::Frame {
                return Some(below);
            }
        }
    }
    Some(top)
}

/// Source and destination as `address:port` (or MAC addresses when there is no IP layer).
fn endpoints(d: &Dissection) -> (String, String) {
    let mut src = String::new();
    let mut dst = String::new();
    // The innermost network-layer addresses, outside any ICMP error's quoted header.
    let first_of = |name: &str| d.field(name).map(|f| f.tshark(&d.data));
    if let (Some(s), Some(t)) = (first_of("ip.src"), first_of("ip.dst")) {
        src = s;
        dst = t;
    } else if let (Some(s), Some(t)) = (first_of("ipv6.src"), first_of("ipv6.dst")) {
        src = s;
        dst = t;
    } else if let (Some(s), Some(t)) = (first_of("arp.src.hw_mac"), first_of("arp.dst.hw_mac")) {
        src = s;
        dst = t;
    } else if let (Some(s), Some(t)) = (first_of("eth.src"), first_of("eth.dst")) {
        src = s;
        dst = t;
    }
    let v6 = src.contains(':') && d.has(Proto::Ipv6);
    let port = |a: &str, b: &str| d.uint(a).or_else(|| d.uint(b));
    if let Some(p) = port("tcp.srcport", "udp.srcport") {
        src = join(&src, p, v6);
    }
    if let Some(p) = port("tcp.dstport", "udp.dstport") {
        dst = join(&dst, p, v6);
    }
    (src, dst)
}

fn join(addr: &str, port: u64, v6: bool) -> String {
    if v6 {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}
