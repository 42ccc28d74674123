//! `wirelab tcp transfer`: a bulk transfer over the lab's emulated link, the sender's
//! congestion window sampled from the kernel, the packets captured next to the sender, and a
//! summary that puts the two side by side. The networking is explained in
//! [`crate::demos::transfer`].
//!
//! The numbers of the summary come from one place each: throughput, retransmissions, zero
//! windows and ACK round-trip times from the capture, through the same stream analysis as
//! `wirelab dissect --stats` (so they equal tshark's); cwnd, ssthresh and the phases from the
//! sender's TCP_INFO, which no capture can show.

use std::process::ExitCode;

use super::Error;
use super::tcp::replay;
use crate::cli::TcpTransferArgs;
use crate::demos::NetChoice;

/// The lesson whose recorded trace is replayed where the lab cannot be built.
pub const LESSON: &str = "11_congestion";

pub fn run(a: &TcpTransferArgs, color: bool) -> Result<ExitCode, Error> {
    match a.net {
        NetChoice::Replay => return replay(LESSON, &a.view, color),
        NetChoice::Host => {
            return Err(
                "--net host: on the host's loopback nothing is slow, narrow or lossy \
                        (RTTs of microseconds, 64 KB segments); tcp transfer runs in the lab \
                        (--net lab) or replays the recorded trace (--net replay)"
                    .into(),
            );
        }
        NetChoice::Auto | NetChoice::Lab => {}
    }
    if a.view.view == crate::render::View::Json
        && matches!(a.graph, Some(crate::cli::GraphTarget::Terminal))
    {
        return Err("--graph draws for people, and with --view json standard output carries                     JSON Lines only: write the graph to a file (--graph=ts.svg) or leave out                     --view json"
            .into());
    }
    live(a, color)
}

#[cfg(not(target_os = "linux"))]
fn live(a: &TcpTransferArgs, color: bool) -> Result<ExitCode, Error> {
    let no = crate::source::platform::lab()
        .err()
        .map_or_else(|| "the lab needs Linux".to_string(), |u| u.to_string());
    super::elsewhere::replay_instead(&no, LESSON, &a.view, color)
}

#[cfg(target_os = "linux")]
use linux::live;

#[cfg(target_os = "linux")]
mod linux {
    use std::fmt::Write as _;
    use std::io::{self, BufWriter, Write};
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use super::*;
    use crate::cli::GraphTarget;
    use crate::demos::Recording;
    use crate::demos::transfer::{
        self, Cc, CwndStory, Sample, Summary, TransferOptions, TransferReport,
    };
    use crate::pipeline::{Config, Pipeline, Tracking};
    use crate::render::{Printer, View, graph, stats};
    use crate::source::OwnedFrame;
    use crate::source::lab::{self, Host, Lab};
    use crate::stream::conversation::Side;
    use crate::stream::timeseq::TimeSeq;
    use crate::stream::{Select, Transport};

    /// One run: what the sender saw, what was captured, and the summary.
    struct Run {
        cc: Cc,
        report: TransferReport,
        frames: Option<Vec<OwnedFrame>>,
        summary: Summary,
        timeseq: Option<(TimeSeq, Side, f64)>,
    }

    pub fn live(a: &TcpTransferArgs, color: bool) -> Result<ExitCode, Error> {
        let mut lab = match lab::take() {
            Ok(l) => l,
            Err(e) if a.net == NetChoice::Auto => {
                let why =
                    format!("Not in the lab: {e}\nReplaying the lesson's recorded trace instead.");
                if a.view.view == View::Json {
                    eprintln!("{why}\n");
                } else {
                    println!("{why}\n");
                }
                return replay(LESSON, &a.view, color);
            }
            Err(e) => return Err(e.into()),
        };
        let json = a.view.view == View::Json;
        let t = lab.topology().clone();
        let last = t.link(t.link_count());
        if !json {
            println!(
                "{}",
                super::super::fitted(&format!(
                    "wirelab tcp transfer — in the lab: client {} → {} router{} → server {}; \
                     the server's link: {}\n",
                    t.client_ip(),
                    t.routers(),
                    if t.routers() == 1 { "" } else { "s" },
                    t.server_ip(),
                    last.describe().join(", ")
                ))
            );
        }
        let (prop, _) = t.path_delay(0);
        let base_rtt = (!prop.is_zero()).then_some(2.0 * prop.as_secs_f64());
        let link_rate = t.links().iter().filter_map(|l| l.rate).min();
        let mut runs = Vec::new();
        for (k, cc) in a.algorithms().into_iter().enumerate() {
            let o = TransferOptions {
                bytes: a.bytes,
                cc,
                recv_buf: a.recv_buf,
                read_rate: a.read_rate,
                sample_every: Duration::from_millis(a.sample_ms),
                port: a.port.wrapping_add(k as u16),
                timeout: Duration::from_secs(a.timeout),
            };
            if !json {
                println!(
                    "Sending {} bytes with {} (TCP_INFO every {} ms)…",
                    a.bytes,
                    cc.name(),
                    a.sample_ms
                );
            }
            let run = one(&lab, &o, base_rtt, link_rate)?;
            if let Some(path) = &a.write {
                let path = if a.algorithms().len() > 1 {
                    suffixed(path, cc.name())
                } else {
                    path.clone()
                };
                super::super::tcp::write_if_asked(Some(&path), run.frames.as_deref())?;
            }
            runs.push(run);
            // Let the path drain between runs.
            std::thread::sleep(Duration::from_millis(300));
        }
        let links = lab.finish_links();
        if json {
            show_json(a, &runs, color)?;
        } else {
            show_text(a, &runs, color)?;
            for r in links {
                print!("{}", super::super::fitted(&r.describe()));
            }
        }
        for r in &runs {
            if !r.summary.complete {
                return Err(format!(
                    "the {} transfer did not finish within {} s ({} of {} bytes sent, {} \
                     received)",
                    r.cc.name(),
                    a.timeout,
                    r.report.sent,
                    a.bytes,
                    r.report.received
                )
                .into());
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    /// `file.pcapng` → `file-reno.pcapng`.
    fn suffixed(path: &Path, tag: &str) -> PathBuf {
        let stem = path
            .file_stem()
            .map_or_else(|| "transfer".into(), |s| s.to_string_lossy().into_owned());
        let name = match path.extension() {
            Some(e) => format!("{stem}-{tag}.{}", e.to_string_lossy()),
            None => format!("{stem}-{tag}"),
        };
        path.with_file_name(name)
    }

    fn one(
        lab: &Lab,
        o: &TransferOptions,
        base_rtt: Option<f64>,
        link_rate: Option<u64>,
    ) -> Result<Run, Error> {
        let port = o.port;
        let recording = Recording::start_on(lab, Host::Client, "eth0", |_| true);
        let (recording, no_capture) = match recording {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let report = transfer::run(lab, o).map_err(|e| format!("the transfer failed: {e}"))?;
        let captured = recording.map(|r| r.finish()).transpose()?;
        if let Some(why) = no_capture {
            eprintln!(
                "wirelab: no packets can be captured here ({why}); the summary has the sender's \
                 TCP_INFO only"
            );
        }
        let mut summary = Summary {
            cc: Some(o.cc),
            bytes: report.sent,
            complete: report.complete,
            elapsed: report.elapsed,
            story: CwndStory::of(&report.samples),
            link_rate,
            base_rtt,
            ..Summary::default()
        };
        let frames = captured.map(|c| c.frames);
        let timeseq = frames
            .as_deref()
            .and_then(|f| analyse(f, port, &mut summary));
        Ok(Run {
            cc: o.cc,
            report,
            frames,
            summary,
            timeseq,
        })
    }

    /// The capture through the stream analysis (as `dissect --stats` and `--graph`): fill in
    /// the summary's capture numbers; the connection's time-sequence points, its data side,
    /// and the time of its first packet.
    fn analyse(frames: &[OwnedFrame], port: u16, s: &mut Summary) -> Option<(TimeSeq, Side, f64)> {
        let mut cfg = Config::full();
        cfg.upper = false;
        if let Tracking::Analysis(t) = &mut cfg.tracking {
            t.timeseq = Select::All;
        }
        let mut pipe = Pipeline::new(cfg);
        for f in frames {
            pipe.push(&f.as_frame());
        }
        pipe.finish();
        let tracker = pipe.tracker()?;
        let conv = tracker
            .conversations()
            .into_iter()
            .find(|c| c.transport == Transport::Tcp && (c.a.port == port || c.b.port == port))?;
        let client = if conv.a.port == port { conv.b } else { conv.a };
        let side = conv.side_of(client);
        let tcp = conv.tcp.as_ref()?;
        let d = &tcp.dirs[side.index()];
        let back = &tcp.dirs[side.other().index()];
        s.acked = stats::throughput(d);
        s.retrans_capture = Some(d.retransmissions);
        s.fast_retrans_capture = Some(d.fast_retransmissions);
        s.out_of_order_capture = Some(d.out_of_order);
        s.zero_windows = Some(back.zero_windows);
        s.window_updates = Some(back.window_updates);
        if d.rtt.samples > 0 {
            s.rtt = Some((
                d.rtt.min,
                d.rtt.mean().unwrap_or(0.0),
                d.rtt.max,
                d.rtt.samples,
            ));
        }
        let ts = tracker.timeseq(conv.index)?.clone();
        // Resent: data whose first byte lies below the highest byte sent before it.
        let mut top: Option<u32> = None;
        let mut resent = 0;
        for p in ts.points.iter().filter(|p| p.side == side && p.len > 0) {
            let end = p.seq.wrapping_add(p.len);
            match top {
                Some(t) if crate::dissect::tcp::Seq(p.seq) < crate::dissect::tcp::Seq(t) => {
                    resent += 1;
                }
                _ => {}
            }
            if top.is_none_or(|t| crate::dissect::tcp::Seq(end) > crate::dissect::tcp::Seq(t)) {
                top = Some(end);
            }
        }
        s.resent_capture = Some(resent);
        Some((ts, side, conv.first.as_f64()))
    }

    /// The cwnd line of the time-sequence graph: (time since the first packet, bytes
    /// acknowledged + 1 + cwnd × MSS), the `+ 1` because relative sequence numbers start at 1
    /// after the SYN.
    fn cwnd_line(samples: &[Sample], first: f64) -> Vec<(f64, f64)> {
        samples
            .iter()
            .filter_map(|s| {
                let acked = s.info.bytes_acked?;
                Some((
                    s.unix - first,
                    acked as f64 + 1.0 + f64::from(s.info.snd_cwnd) * f64::from(s.info.snd_mss),
                ))
            })
            .collect()
    }

    fn show_text(a: &TcpTransferArgs, runs: &[Run], color: bool) -> Result<(), Error> {
        let width = super::super::term_width();
        let mut out = String::new();
        for r in runs {
            let _ = writeln!(out);
            transfer::cwnd_plot(
                &r.report.samples,
                &format!(
                    "cwnd of the {} sender ({} samples from TCP_INFO):",
                    r.cc.name(),
                    r.report.samples.len()
                ),
                width,
                &mut out,
            );
        }
        let _ = writeln!(
            out,
            "\nSummary{}:",
            if runs.len() > 1 { ", side by side" } else { "" }
        );
        let sums: Vec<&Summary> = runs.iter().map(|r| &r.summary).collect();
        transfer::summary_table(&sums, &mut out);
        if let Some(b) = runs.first().and_then(|r| r.report.rcvbuf) {
            if a.recv_buf.is_some() {
                let _ = writeln!(
                    out,
                    "  The receiver's SO_RCVBUF, read back: {b} bytes (the kernel doubles what \
                     is asked, for its own bookkeeping)."
                );
            }
        }
        print!("{}", super::super::fitted(&out));
        graphs(a, runs, width, color)?;
        if a.packets {
            for r in runs {
                packets(a, r, color)?;
            }
        }
        Ok(())
    }

    fn graphs(a: &TcpTransferArgs, runs: &[Run], width: usize, color: bool) -> Result<(), Error> {
        let Some(target) = &a.graph else {
            return Ok(());
        };
        for r in runs {
            let Some((ts, side, first)) = &r.timeseq else {
                eprintln!(
                    "wirelab: no captured connection to draw for {}",
                    r.cc.name()
                );
                continue;
            };
            let line = cwnd_line(&r.report.samples, *first);
            match target {
                GraphTarget::Terminal => {
                    let mut out = String::new();
                    let _ = writeln!(out, "\nTime-sequence graph ({}):", r.cc.name());
                    graph::terminal_with(ts, *side, width, color, &line, &mut out);
                    print!("{}", super::super::fitted(&out));
                }
                GraphTarget::Svg(path) => {
                    let path = if runs.len() > 1 {
                        suffixed(path, r.cc.name())
                    } else {
                        path.clone()
                    };
                    std::fs::write(&path, graph::svg_with(ts, *side, &line)).map_err(|e| {
                        format!("cannot write the graph to {}: {e}", path.display())
                    })?;
                    eprintln!(
                        "wirelab: wrote the time-sequence graph ({}) to {}",
                        r.cc.name(),
                        path.display()
                    );
                }
            }
        }
        Ok(())
    }

    /// List the captured packets in the chosen view.
    fn packets(a: &TcpTransferArgs, r: &Run, color: bool) -> Result<(), Error> {
        let Some(frames) = &r.frames else {
            return Ok(());
        };
        let filter = match &a.view.filter {
            Some(expr) => Some(
                crate::filter::Filter::parse(expr)
                    .map_err(|e| format!("--filter {expr:?}: {e}"))?,
            ),
            None => None,
        };
        let stdout = io::stdout().lock();
        let mut printer = Printer::new(
            BufWriter::new(stdout),
            super::super::dissect::options(&a.view, color),
        );
        if a.view.view != View::Json {
            printer.text(&format!("\nThe packets of the {} run:\n", r.cc.name()))?;
        }
        let mut pipe = Pipeline::new(Config::full());
        let mut shown = 0u64;
        for f in frames {
            if a.view.count.is_some_and(|c| shown >= c) {
                break;
            }
            let d = pipe.push(&f.as_frame());
            if filter.as_ref().is_none_or(|fl| fl.matches(d)) {
                printer.print(d)?;
                shown += 1;
            }
        }
        printer.finish()?;
        printer.flush()?;
        Ok(())
    }

    fn show_json(a: &TcpTransferArgs, runs: &[Run], color: bool) -> Result<(), Error> {
        {
            let mut out = BufWriter::new(io::stdout().lock());
            for r in runs {
                for s in &r.report.samples {
                    writeln!(out, "{}", s.json(r.cc))?;
                }
                writeln!(out, "{}", r.summary.json())?;
            }
            out.flush()?;
        }
        if let Some(GraphTarget::Svg(_)) = &a.graph {
            graphs(a, runs, 100, false)?;
        }
        if a.packets {
            for r in runs {
                packets(a, r, color)?;
            }
        }
        Ok(())
    }
}
