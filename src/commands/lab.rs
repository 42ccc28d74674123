//! `wirelab lab`: build the lab and show it as the kernel reports it (or say exactly why it
//! cannot be built here, and what works instead); `wirelab lab shell`: a shell on a lab host;
//! `wirelab lab measure`: the path's delay, loss and rate, measured against the settings.
//!
//! Exit status of `wirelab lab`: 0 when the lab works here, 3 when it does not.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::process::ExitCode;

use colored::Colorize;

use super::Error;
use crate::cli::{LabAction, LabArgs, LabMeasureArgs, LabShellArgs};
use crate::demos::bundled_trace;
use crate::dissect::model::write_mac;
use crate::source::lab::netlink::hw_type_name;
use crate::source::lab::{self, Host, HostView, Lab};
use crate::source::topology::Topology;

/// Exit status when the lab cannot be built.
pub const UNAVAILABLE: u8 = 3;

pub fn run(args: &LabArgs, color: bool) -> Result<ExitCode, Error> {
    // WIRELAB_PORTABLE: say what a system without the lab says.
    if crate::source::platform::lab().is_err() {
        return super::elsewhere::lab::run(args, color);
    }
    match &args.action {
        None => show(color),
        Some(LabAction::Shell(a)) => shell(a),
        Some(LabAction::Measure(a)) => measure(a),
        Some(LabAction::Arp) => arp(color),
    }
}

fn heading(s: &str, color: bool) -> String {
    if color {
        s.bold().to_string()
    } else {
        s.to_string()
    }
}

fn show(color: bool) -> Result<ExitCode, Error> {
    let host_capture = lab::host_can_capture();
    let lab = lab::take();
    let mut out = String::new();
    let code = match &lab {
        Ok(l) => {
            let t = l.topology();
            let hosts = t.hosts().len();
            let emulated = t.links().iter().filter(|k| k.is_emulated()).count();
            let _ = writeln!(
                out,
                "{}",
                heading(
                    &if t.routers() == 0 {
                        "The lab is available here: two private hosts, built without root."
                            .to_string()
                    } else {
                        format!(
                            "The lab is available here: {hosts} private hosts ({} router{}) and \
                             {} links, built without root.",
                            t.routers(),
                            if t.routers() == 1 { "" } else { "s" },
                            t.link_count()
                        )
                    },
                    color
                )
            );
            let _ = writeln!(
                out,
                "Made with {} (it exists only while wirelab runs; nothing outside sees it).\n",
                match (l.joined, l.user_namespace) {
                    (Some(pid), _) => format!(
                        "the namespaces of wirelab process {pid}, whose lab shell this runs in"
                    ),
                    (None, true) => format!(
                        "a user namespace and {} network namespaces",
                        hosts + emulated
                    ),
                    (None, false) => format!(
                        "{} network namespaces (running as root, no user namespace needed)",
                        hosts + emulated
                    ),
                }
            );
            out.push_str(&topology(l, color)?);
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(
                out,
                "{}\n",
                heading("The lab is NOT available here.", color)
            );
            let _ = writeln!(out, "{e}\n");
            ExitCode::from(UNAVAILABLE)
        }
    };
    let _ = writeln!(
        out,
        "{}",
        heading("Fallbacks, in the order the demos use them:", color)
    );
    let _ = writeln!(
        out,
        "  1. the host's loopback (127.0.0.1): {}",
        if host_capture {
            "capture works (this process has CAP_NET_RAW)".to_string()
        } else {
            format!(
                "sockets work, but capture needs CAP_NET_RAW: sudo setcap \
                 cap_net_raw,cap_net_admin+ep {}",
                std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| "wirelab".into())
            )
        }
    );
    let traces: Vec<String> = ["02_sockets", "03_tcp", "04_udp"]
        .iter()
        .map(|l| {
            let p = bundled_trace(l);
            format!(
                "{} ({})",
                p.display(),
                if p.exists() { "present" } else { "missing" }
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "  2. replay of the recorded traces: {}",
        traces.join(", ")
    );
    print!("{out}");
    Ok(code)
}

fn mac(m: Option<[u8; 6]>) -> String {
    let mut s = String::new();
    match m {
        Some(m) => write_mac(&mut s, &m),
        None => s.push('-'),
    }
    s
}

/// The path in one line: `client ── r1 ══ server`, `══` for an emulated link.
pub fn path_line(t: &Topology) -> String {
    let mut s = String::new();
    for (i, h) in t.hosts().iter().enumerate() {
        if i > 0 {
            let l = t.link(i);
            let cable = if l.is_emulated() { '═' } else { '─' };
            s.push_str(&format!(" {cable}{cable} link {i} {cable}{cable} "));
        }
        s.push_str(h.name());
    }
    s
}

/// One link's properties, in words.
pub fn link_line(t: &Topology, j: usize) -> String {
    let l = t.link(j);
    let (net, prefix, a, b) = t.link_net(j);
    let (left, right) = t.link_ends(j);
    let what = if l.is_emulated() {
        format!(
            "through wirelab's link emulator: {}",
            l.describe().join(", ")
        )
    } else {
        "an ideal cable (veth): no delay to speak of, no rate limit, no loss".to_string()
    };
    format!(
        "link {j}: {left} {a} — {right} {b}, network {net}/{prefix}, MTU {}; {what}",
        l.mtu()
    )
}

/// The lab's hosts and links, read back from the kernel.
fn topology(l: &Lab, color: bool) -> Result<String, Error> {
    let t = l.topology();
    let mut out = String::new();
    if t.routers() == 0 && !t.link(1).is_emulated() {
        let _ = writeln!(
            out,
            "   client {}  ══ veth (a virtual Ethernet cable) ══  {} server\n",
            t.client_ip(),
            t.server_ip()
        );
    } else {
        let _ = writeln!(out, "   {}\n", path_line(t));
    }
    for (i, h) in t.hosts().into_iter().enumerate() {
        if i > 0 {
            let line = format!("  │ {}", link_line(t, i));
            let _ = writeln!(out, "{}\n", heading(&line, color));
        }
        let v = l.describe(h)?;
        let role = match h {
            Host::Router(_) if v.forwarding => {
                " (a router: forwards packets between its interfaces, lowering their TTL)"
            }
            _ => "",
        };
        let _ = writeln!(
            out,
            "{}",
            heading(&format!("host \"{}\"{role}", v.name), color)
        );
        host(&v, &mut out);
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "The addresses are from 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24 (RFC 5737: \
         reserved for documentation), used only inside these namespaces. IPv6 is switched off \
         in the lab so its background chatter stays out of the lessons."
    );
    let _ = writeln!(
        out,
        "Try: wirelab tcp echo · wirelab udp echo · wirelab ip traceroute · wirelab lab shell -- \
         wirelab capture -c 5\n"
    );
    Ok(out)
}

fn host(v: &HostView, out: &mut String) {
    for l in &v.links {
        let _ = writeln!(
            out,
            "  {:<5} {:<9} MAC {}  MTU {:<5} {}{}",
            l.name,
            l.kind.as_deref().unwrap_or(hw_type_name(l.hw_type)),
            mac(l.mac),
            l.mtu,
            if l.up { "up" } else { "down" },
            if l.up && !l.lower_up && l.name != "lo" {
                " (no carrier)"
            } else {
                ""
            }
        );
        for a in v.addrs.iter().filter(|a| a.index == l.index) {
            let _ = writeln!(out, "        inet {}/{}", a.addr, a.prefix);
        }
    }
    let name_of = |i: Option<u32>| {
        i.and_then(|i| v.links.iter().find(|l| l.index == i))
            .map_or("?".to_string(), |l| l.name.clone())
    };
    for r in &v.routes {
        let dst = if r.prefix == 0 && r.dst == Ipv4Addr::UNSPECIFIED {
            "default".to_string()
        } else {
            format!("{}/{}", r.dst, r.prefix)
        };
        let _ = writeln!(
            out,
            "  route {dst} {} dev {}{}",
            r.gateway
                .map_or("directly connected".into(), |g| format!("via {g}")),
            name_of(r.oif),
            r.src.map_or(String::new(), |s| format!(" src {s}"))
        );
    }
}

fn shell(a: &LabShellArgs) -> Result<ExitCode, Error> {
    let mut lab = lab::take()?;
    let host = a.host;
    if !lab.topology().has(host) {
        return Err(format!(
            "this lab has no host {host}: its hosts are {} (build routers with --routers N)",
            lab.topology()
                .hosts()
                .iter()
                .map(|h| h.name())
                .collect::<Vec<_>>()
                .join(", ")
        )
        .into());
    }
    let (prog, rest) = match a.command.split_first() {
        Some((p, r)) => (p.clone(), r.to_vec()),
        None => (
            std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into()),
            Vec::new(),
        ),
    };
    if a.command.is_empty() {
        eprintln!(
            "wirelab: a shell on the lab's {} host ({}); `wirelab lab shell --host NAME` inside \
             it reaches another host; `exit` leaves the lab, which then disappears",
            host.name(),
            lab.topology().ip(host)
        );
    }
    // The child process inherits the network namespace of the thread that starts it. Ctrl-C
    // is left to the command, and the lab (with its link emulators) stays until it ends (see
    // `super::foreground`).
    let status =
        super::foreground::run(|| lab.spawn(host, std::process::Command::new(&prog).args(&rest)))
            .map_err(|e| format!("cannot run {prog}: {e}"))?;
    for r in lab.finish_links() {
        eprint!("wirelab: what the link emulator did:\n{}", r.describe());
    }
    Ok(ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8
    ))
}

fn measure(a: &LabMeasureArgs) -> Result<ExitCode, Error> {
    let mut lab = lab::take()?;
    if lab.joined.is_some() {
        return Err(
            "`wirelab lab measure` builds its own lab: give it --routers/--link \
                    (inside a lab shell it would measure a lab whose emulator counters it \
                    cannot read)"
                .into(),
        );
    }
    if !a.json {
        let t = lab.topology();
        println!("{}", path_line(t));
        for j in 1..=t.link_count() {
            println!("  {}", link_line(t, j));
        }
        println!();
    }
    let m = crate::source::lab::measure::measure(
        &mut lab,
        &crate::source::lab::measure::MeasureOptions {
            probes: a.probes,
            seconds: a.seconds,
        },
    )?;
    if a.json {
        println!("{}", serde_json::to_string(&m)?);
    } else {
        print!("{}", m.describe());
    }
    Ok(ExitCode::SUCCESS)
}

/// The client's neighbour (ARP) table: the kernel's `/proc/net/arp` as read from a thread in
/// the client's namespace (`/proc/thread-self`, since the table is per namespace). Each entry
/// is (IP address, MAC address, complete?) on the lab's `eth0`.
fn neighbours(lab: &Lab) -> Result<Vec<(String, String, bool)>, Error> {
    let text = lab.run_in(Host::Client, || {
        std::fs::read_to_string("/proc/thread-self/net/arp")
    })??;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            // IP address, HW type, Flags, HW address, Mask, Device
            (c.len() >= 6 && c[5] == "eth0").then(|| {
                let complete = u32::from_str_radix(c[2].trim_start_matches("0x"), 16)
                    .is_ok_and(|f| f & 0x2 != 0);
                (c[0].to_string(), c[3].to_string(), complete)
            })
        })
        .collect())
}

fn print_neighbours(title: &str, n: &[(String, String, bool)], color: bool) {
    println!("{}", super::fitted(&heading(title, color)));
    if n.is_empty() {
        println!("  (empty: the client knows no neighbour's MAC address yet)");
    }
    for (ip, mac, complete) in n {
        if *complete {
            println!("  {ip:<15} is at {mac}   on eth0");
        } else {
            println!("  {ip:<15} (being resolved: no answer yet)   on eth0");
        }
    }
    println!();
}

/// `wirelab lab arp`: the ARP cache before and after the first packet to a neighbour.
///
/// Before the client can put an IP packet for 192.0.2.2 on the cable, it needs that host's MAC
/// address for the Ethernet header. It looks in its neighbour table (the ARP cache); finding
/// nothing, it holds the packet, broadcasts an ARP request ("who has 192.0.2.2? tell
/// 192.0.2.1", RFC 826), and sends the packet when the reply ("192.0.2.2 is at …") comes,
/// keeping the answer in the table for the next packets.
fn arp(color: bool) -> Result<ExitCode, Error> {
    use crate::pipeline::{Config, Pipeline};
    use crate::render::{Options, Printer, View};
    use crate::source::OwnedFrame;
    use crate::source::live::LiveCapture;
    use crate::source::live_common::LiveOptions;

    let lab = lab::take()?;
    if lab.joined.is_some() {
        return Err("`wirelab lab arp` builds a lab of its own: run it outside a lab shell".into());
    }
    let server = lab.topology().server_ip();
    if lab.topology().routers() > 0 {
        return Err(
            "`wirelab lab arp` shows the client and the server on one cable: leave out --routers"
                .into(),
        );
    }
    println!(
        "{}\n",
        super::fitted(&heading(
            "The ARP cache: how the client learns the server's MAC address (RFC 826).",
            color
        ))
    );
    let before = neighbours(&lab)?;
    print_neighbours(
        "1. The client's neighbour table (`ip neigh` shows the same), before any traffic:",
        &before,
        color,
    );
    println!(
        "{}",
        super::fitted(&heading(
            &format!("2. The client sends one UDP datagram to {server}:9. On its cable:"),
            color
        ))
    );
    let frames: Vec<OwnedFrame> =
        lab.run_in(Host::Client, move || -> Result<Vec<OwnedFrame>, Error> {
            let mut cap = LiveCapture::open(
                "eth0",
                &LiveOptions {
                    read_timeout: std::time::Duration::from_millis(20),
                    ..LiveOptions::default()
                },
            )?;
            let sock = std::net::UdpSocket::bind("0.0.0.0:0")?;
            sock.send_to(b"hello, neighbour", (server, 9))?;
            let until = std::time::Instant::now() + std::time::Duration::from_millis(700);
            let mut out = Vec::new();
            while std::time::Instant::now() < until && out.len() < 16 {
                if let Some(f) = cap.next_frame()? {
                    out.push(OwnedFrame::from(&f));
                }
            }
            Ok(out)
        })??;
    let mut printer = Printer::new(
        std::io::stdout(),
        Options {
            view: View::Summary,
            color,
            width: super::term_width(),
            fit: super::screen_width().is_some(),
            ..Options::default()
        },
    );
    let mut pipe = Pipeline::new(Config::summary());
    let mut arp_frames = 0;
    for f in &frames {
        let d = pipe.push(&f.as_frame());
        arp_frames += usize::from(d.has(crate::dissect::Proto::Arp));
        printer.print(d)?;
    }
    printer.finish()?;
    let note = format!(
        "The datagram waited while the client asked the whole link (the broadcast address \
         ff:ff:ff:ff:ff:ff) who has {server}; the server answered to the client alone, and only \
         then did the datagram leave. ({arp_frames} ARP frames; the server has no program on \
         port 9, so its kernel answers with an ICMP port unreachable.)"
    );
    println!();
    for line in crate::render::wrap(&note, super::term_width().saturating_sub(2)) {
        println!("  {line}");
    }
    println!();
    let after = neighbours(&lab)?;
    print_neighbours(
        "3. The client's neighbour table afterwards: the answer is kept (for minutes, while it is used), so the next packets need no ARP:",
        &after,
        color,
    );
    println!(
        "{}",
        super::fitted(&format!(
            "Try it by hand: wirelab lab shell -- sh -c 'ip neigh; ping -c 1 {server}; ip neigh'"
        ))
    );
    Ok(ExitCode::SUCCESS)
}
