//! `wirelab lab`: build the lab and show it as the kernel reports it (or say exactly why it
//! cannot be built here, and what works instead); `wirelab lab shell`: a shell on a lab host.
//!
//! Exit status of `wirelab lab`: 0 when the lab works here, 3 when it does not.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::process::ExitCode;

use colored::Colorize;

use super::Error;
use crate::cli::{LabAction, LabArgs, LabHost, LabShellArgs};
use crate::demos::bundled_trace;
use crate::dissect::model::write_mac;
use crate::source::lab::netlink::hw_type_name;
use crate::source::lab::{self, Host, HostView, Lab};

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
            let _ = writeln!(
                out,
                "{}",
                heading(
                    "The lab is available here: two private hosts, built without root.",
                    color
                )
            );
            let _ = writeln!(
                out,
                "Made with {} (it exists only while wirelab runs; nothing outside sees it).\n",
                if l.user_namespace {
                    "a user namespace and two network namespaces"
                } else {
                    "two network namespaces (running as root, no user namespace needed)"
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

/// The lab's two hosts, read back from the kernel.
fn topology(l: &Lab, color: bool) -> Result<String, Error> {
    let mut out = String::new();
    let views = [l.describe(Host::Client)?, l.describe(Host::Server)?];
    let _ = writeln!(
        out,
        "   client {}  ══ veth (a virtual Ethernet cable) ══  {} server\n",
        lab::CLIENT_IP,
        lab::SERVER_IP
    );
    for v in &views {
        let _ = writeln!(out, "{}", heading(&format!("host \"{}\"", v.name), color));
        host(v, &mut out);
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "The addresses are from 192.0.2.0/24 (TEST-NET-1, RFC 5737: reserved for documentation), \
         used only inside these namespaces. IPv6 is switched off in the lab so its background \
         chatter stays out of the lessons."
    );
    let _ = writeln!(
        out,
        "Try: wirelab tcp echo · wirelab udp echo · wirelab lab shell -- wirelab capture -c 5\n"
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
    let lab = lab::take()?;
    let host = match a.host {
        LabHost::Client => Host::Client,
        LabHost::Server => Host::Server,
    };
    let (prog, rest) = match a.command.split_first() {
        Some((p, r)) => (p.clone(), r.to_vec()),
        None => (
            std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into()),
            Vec::new(),
        ),
    };
    if a.command.is_empty() {
        eprintln!(
            "wirelab: a shell on the lab's {} host ({}); `exit` leaves the lab, which then \
             disappears",
            host.name(),
            host.ip()
        );
    }
    // The child process inherits the network namespace of the thread that starts it. Ctrl-C
    // is left to the command, and the lab stays until it ends (see `super::foreground`).
    let status = super::foreground::run(|| {
        std::thread::scope(|s| {
            s.spawn(|| -> std::io::Result<std::process::Child> {
                lab.enter(host)?;
                std::process::Command::new(&prog)
                    .args(&rest)
                    .env("WIRELAB_LAB_HOST", host.name())
                    .spawn()
            })
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("thread panicked")))
        })
    })
    .map_err(|e| format!("cannot run {prog}: {e}"))?;
    Ok(ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8
    ))
}
