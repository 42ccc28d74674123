//! `wirelab ip traceroute` and `wirelab ip mtu`: the network layer, live in the lab's routers.
//!
//! Both run only in the lab (the host's loopback has no routers). Where the lab cannot be built,
//! they say why and replay the recorded trace, as the other demos do.

use std::process::ExitCode;

use super::Error;
use super::tcp::replay;
use crate::cli::{IpCommand, MtuArgs, TracerouteArgs, ViewArgs};
use crate::demos::NetChoice;

/// The lesson whose recorded traces these demos replay: `lessons/10_ip/trace.pcapng` (the
/// traceroute) and `lessons/10_ip/mtu/trace.pcapng`.
pub const TRACE_LESSON: &str = "10_ip";
pub const MTU_LESSON: &str = "10_ip/mtu";

pub fn run(cmd: &IpCommand, color: bool) -> Result<ExitCode, Error> {
    match cmd {
        IpCommand::Traceroute(a) => traceroute(a, color),
        IpCommand::Mtu(a) => mtu(a, color),
    }
}

/// Check `--net`: the lab, or the recorded trace.
fn live_or_replay(
    net: NetChoice,
    lesson: &str,
    view: &ViewArgs,
    color: bool,
) -> Option<Result<ExitCode, Error>> {
    match net {
        NetChoice::Replay => Some(replay(lesson, view, color)),
        NetChoice::Host => Some(Err(
            "--net host: the host's loopback has no routers; these demos \
                                     run in the lab (--net lab) or replay the recorded trace \
                                     (--net replay)"
                .into(),
        )),
        NetChoice::Auto | NetChoice::Lab => None,
    }
}

#[cfg(not(target_os = "linux"))]
fn traceroute(a: &TracerouteArgs, color: bool) -> Result<ExitCode, Error> {
    if let Some(r) = live_or_replay(a.net, TRACE_LESSON, &a.view, color) {
        return r;
    }
    let no = crate::source::platform::lab()
        .err()
        .map_or_else(|| "the lab needs Linux".to_string(), |u| u.to_string());
    super::elsewhere::replay_instead(&no, TRACE_LESSON, &a.view, color)
}

#[cfg(not(target_os = "linux"))]
fn mtu(a: &MtuArgs, color: bool) -> Result<ExitCode, Error> {
    if let Some(r) = live_or_replay(a.net, MTU_LESSON, &a.view, color) {
        return r;
    }
    let no = crate::source::platform::lab()
        .err()
        .map_or_else(|| "the lab needs Linux".to_string(), |u| u.to_string());
    super::elsewhere::replay_instead(&no, MTU_LESSON, &a.view, color)
}

#[cfg(target_os = "linux")]
use linux::{mtu, traceroute};

#[cfg(target_os = "linux")]
mod linux {
    use std::fmt::Write as _;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU8, Ordering};

    use super::super::tcp::{Shown, present};
    use super::*;
    use crate::demos::ip::{MtuOptions, TraceOptions, TraceReport};
    use crate::demos::narrate::Recorder;
    use crate::demos::{Captured, Place, Recording, Stage};
    use crate::pipeline::{Config, Pipeline, Tracking};
    use crate::render::View;
    use crate::source::lab::{self, Host, Lab};
    use crate::source::topology::Topology;

    /// Where the demo cannot run live: say why, then replay the recorded trace.
    fn fallback(why: &str, lesson: &str, view: &ViewArgs, color: bool) -> Result<ExitCode, Error> {
        if view.view == View::Json {
            eprintln!("{why}\n");
        } else {
            println!("{why}\n");
        }
        replay(lesson, view, color)
    }

    /// The lab for the demo, or the reason there is none (then the caller replays).
    fn stage(net: NetChoice) -> Result<Result<Stage, String>, Error> {
        match lab::take() {
            Ok(l) => Ok(Ok(Stage {
                place: Place::Lab(l),
                no_capture: None,
                no_lab: None,
            })),
            Err(e) if net == NetChoice::Auto => Ok(Err(format!(
                "Not in the lab: {e}\nReplaying the lesson's recorded trace instead."
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Stop the lab's link emulators; their final counters.
    fn finish_links(stage: &mut Stage) -> Vec<crate::source::lab::emulator::LinkReport> {
        match &mut stage.place {
            Place::Lab(l) => l.finish_links(),
            Place::Loopback => Vec::new(),
        }
    }

    fn lab_of(stage: &Stage) -> &Lab {
        match &stage.place {
            Place::Lab(l) => l,
            Place::Loopback => unreachable!("the ip demos run only in the lab"),
        }
    }

    pub fn traceroute(a: &TracerouteArgs, color: bool) -> Result<ExitCode, Error> {
        if let Some(r) = live_or_replay(a.net, TRACE_LESSON, &a.view, color) {
            return r;
        }
        let mut stage = match stage(a.net)? {
            Ok(s) => s,
            Err(why) => return fallback(&why, TRACE_LESSON, &a.view, color),
        };
        let lab = lab_of(&stage);
        let recording = match Recording::start_on(lab, Host::Client, "eth0", |_| true) {
            Ok(r) => Some(r),
            Err(e) => {
                stage.no_capture = Some(e);
                None
            }
        };
        let lab = lab_of(&stage);
        let rec = Recorder::with(color, false);
        let opts = TraceOptions {
            probe: a.probe,
            queries: a.queries,
            max_hops: a.max_hops,
        };
        let result = crate::demos::ip::traceroute(lab, &rec, &opts);
        let captured = recording.map(|r| r.finish()).transpose()?;
        let table = result
            .as_ref()
            .ok()
            .map(|r| hop_table(r, lab.topology(), &opts));
        let links = finish_links(&mut stage);
        present(Shown {
            title: "wirelab ip traceroute",
            lesson: TRACE_LESSON,
            stage: &stage,
            events: rec.take(),
            captured,
            view: &a.view,
            write: a.write.as_deref(),
            color,
        })?;
        if a.view.view != View::Json {
            if let Some(t) = table {
                print!("{}", crate::commands::fitted(&t));
            }
            for r in links {
                print!("{}", crate::commands::fitted(&r.describe()));
            }
        }
        let report = result.map_err(|e| format!("the demo stopped early: {e}"))?;
        if !report.reached {
            return Err(format!("no probe reached the server within {} hops", a.max_hops).into());
        }
        Ok(ExitCode::SUCCESS)
    }

    /// The route as traceroute prints it, one line per TTL.
    fn hop_table(r: &TraceReport, t: &Topology, o: &TraceOptions) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\ntraceroute from the client {} to the server {} ({} router{} between them), {} \
             probes, {} per TTL:",
            t.client_ip(),
            t.server_ip(),
            t.routers(),
            if t.routers() == 1 { "" } else { "s" },
            match o.probe {
                crate::demos::Probe::Udp => "UDP",
                crate::demos::Probe::Icmp => "ICMP echo",
            },
            o.queries
        );
        let _ = writeln!(
            s,
            "  {:>3}  {:<16} {:<18} {:<32} answer",
            "TTL", "answered by", "which is", "round-trip time of each probe"
        );
        for h in &r.hops {
            let first = h.replies.iter().flatten().next();
            let (addr, who) = match first {
                Some(rep) => (
                    rep.from.to_string(),
                    t.host_of(rep.from)
                        .map_or("?".to_string(), |(h, i)| format!("{h}'s {i}")),
                ),
                None => ("*".to_string(), String::new()),
            };
            let rtts: Vec<String> = h
                .replies
                .iter()
                .map(|r| match r {
                    Some(r) => format!("{:.3} ms", r.rtt.as_secs_f64() * 1e3),
                    None => "*".into(),
                })
                .collect();
            let answer = first.map_or(String::new(), |r| {
                if r.answer.is_final() {
                    format!("{}: the destination", r.answer.name())
                } else {
                    r.answer.name()
                }
            });
            let _ = writeln!(
                s,
                "  {:>3}  {:<16} {:<18} {:<32} {answer}",
                h.ttl,
                addr,
                who,
                rtts.join("  ")
            );
        }
        let _ = writeln!(
            s,
            "Each router lowered the TTL by one; the one that lowered it to 0 dropped the probe \
             and answered from the address of its interface facing the client."
        );
        if o.queries > 1 {
            let _ = writeln!(
                s,
                "The first probe to each new hop can take longer: the router before it must \
                 first learn the next hop's MAC address with ARP."
            );
        }
        s
    }

    pub fn mtu(a: &MtuArgs, color: bool) -> Result<ExitCode, Error> {
        if let Some(r) = live_or_replay(a.net, MTU_LESSON, &a.view, color) {
            return r;
        }
        let mut stage = match stage(a.net)? {
            Ok(s) => s,
            Err(why) => return fallback(&why, MTU_LESSON, &a.view, color),
        };
        let phase = Arc::new(AtomicU8::new(0));
        let lab = lab_of(&stage);
        let (p1, p2) = (phase.clone(), phase.clone());
        let recordings = Recording::start_on(lab, Host::Client, "eth0", move |_| {
            p1.load(Ordering::SeqCst) != 0
        })
        .and_then(|c| {
            Recording::start_on(lab, Host::Server, "eth0", move |_| {
                p2.load(Ordering::SeqCst) == 1
            })
            .map(|s| (c, s))
        });
        let recordings = match recordings {
            Ok(r) => Some(r),
            Err(e) => {
                stage.no_capture = Some(e);
                None
            }
        };
        let lab = lab_of(&stage);
        let rec = Recorder::with(color, false);
        let opts = MtuOptions {
            size: a.size as usize,
            mtu: a.mtu,
            tcp_bytes: 4000,
        };
        let result = crate::demos::ip::mtu(lab, &rec, &opts, &phase);
        let captured = match recordings {
            Some((c, s)) => Some(Captured::merge(vec![c.finish()?, s.finish()?])),
            None => None,
        };
        let summary = captured
            .as_ref()
            .map(|c| what_happened(c, lab.topology(), &opts, result.as_ref().ok()));
        let links = finish_links(&mut stage);
        present(Shown {
            title: "wirelab ip mtu",
            lesson: MTU_LESSON,
            stage: &stage,
            events: rec.take(),
            captured,
            view: &a.view,
            write: a.write.as_deref(),
            color,
        })?;
        if a.view.view != View::Json {
            if let Some(s) = summary {
                print!("{}", crate::commands::fitted(&s));
            }
            for r in links {
                print!("{}", crate::commands::fitted(&r.describe()));
            }
        }
        result.map_err(|e| format!("the demo stopped early: {e}"))?;
        Ok(ExitCode::SUCCESS)
    }

    /// The MTU demo's story, read from the frames.
    fn what_happened(
        c: &Captured,
        t: &Topology,
        o: &MtuOptions,
        r: Option<&crate::demos::ip::MtuReport>,
    ) -> String {
        let server = std::net::IpAddr::V4(t.server_ip());
        let client = std::net::IpAddr::V4(t.client_ip());
        let mut frags = Vec::new();
        let mut needed = Vec::new();
        let mut seg_sizes: Vec<u64> = Vec::new();
        // Each frame on its own (no stream analysis needed), read from the typed views.
        let mut pipe = Pipeline::new(Config {
            lean: false,
            tracking: Tracking::Off,
            upper: false,
            // The fragments themselves are the lesson: each read on its own.
            reassemble_ip: false,
        });
        for f in &c.frames {
            let d = pipe.push(&f.as_frame());
            // The frame's own IP header (the first; an ICMP error's quoted one comes after).
            let Some(ip) = d.ip.first() else { continue };
            if ip.dst == server && ip.is_fragment() {
                frags.push((
                    u64::from(ip.frag_offset / 8),
                    u64::from(ip.total_len),
                    u64::from(ip.more_fragments),
                ));
            }
            if d.uint("icmp.type") == Some(3) && d.uint("icmp.code") == Some(4) {
                needed.push((ip.src.to_string(), d.uint("icmp.mtu")));
            }
            if ip.src == client
                && let Some(len) = d.tcp_segment().and_then(|s| s.len).filter(|&l| l > 0)
            {
                seg_sizes.push(u64::from(len));
            }
        }
        pipe.finish();
        let mut s = String::from("\nWhat happened\n");
        let list = frags
            .iter()
            .map(|(off, len, mf)| {
                format!(
                    "offset {off} × 8 = byte {}, {len} bytes of IP, MF={mf}",
                    off * 8
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let _ = writeln!(
            s,
            "  Part 1: a {}-byte UDP payload ({} bytes of IP) crossed link 2 (MTU {}) as {} \
             fragment{} ({}); the server's recvfrom() returned {} bytes.",
            o.size,
            o.size + 28,
            o.mtu,
            frags.len(),
            if frags.len() == 1 { "" } else { "s" },
            if list.is_empty() {
                "none captured".into()
            } else {
                list
            },
            r.and_then(|r| r.frag_received)
                .map_or("nothing".to_string(), |n| n.to_string())
        );
        let from = needed
            .first()
            .map(|(src, _)| {
                t.host_of(src.parse().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED))
                    .map_or(src.clone(), |(h, i)| format!("{src} ({h}'s {i})"))
            })
            .unwrap_or_else(|| "nobody".into());
        let mtus: Vec<String> = needed
            .iter()
            .filter_map(|(_, m)| m.map(|m| m.to_string()))
            .collect();
        let mut sizes = seg_sizes.clone();
        sizes.dedup();
        let _ = writeln!(
            s,
            "  Parts 2 and 3: {} ICMP Fragmentation Needed from {from}, next-hop MTU {}. The \
             client's TCP segments, in order: {} bytes{}.",
            needed.len(),
            if mtus.is_empty() {
                "?".to_string()
            } else {
                mtus[0].clone()
            },
            sizes
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            r.and_then(|r| r.tcp_path_mtu)
                .map_or(String::new(), |m| format!(
                    "; afterwards getsockopt(IP_MTU) = {m}"
                ))
        );
        if let Some(r) = r {
            let _ = writeln!(
                s,
                "  Part 3: the UDP program's send with DF failed with {}; IP_MTU said {}; the \
                 server received datagrams of {} bytes.",
                r.df_error.as_deref().unwrap_or("no error"),
                r.df_path_mtu.map_or("?".to_string(), |m| m.to_string()),
                r.df_received
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        s
    }
}
