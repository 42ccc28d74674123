//! `wirelab dissect FILE`: read a capture file and show every packet through the engine.
//!
//! Every frame goes through the engine ([`crate::dissect`]) and then the stream analysis
//! ([`crate::stream`]), which adds what only the frames before it can tell (`tcp.stream`,
//! relative sequence numbers, round-trip times, retransmissions), so every view shows it.
//! `--stream N` keeps one conversation; `--stats`, `--follow` and `--graph` report on whole
//! conversations once the file is read. Conversations that look like HTTP also go through
//! [`crate::stream::upper`], which adds the HTTP, WebSocket, Engine.IO and Socket.IO layers
//! of the messages each frame completes (in every view, the summary included: it costs
//! nothing for conversations that are not HTTP).

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use super::Error;
use crate::cli::{DissectArgs, GraphTarget, ViewArgs};
use crate::dissect::Dissection;
use crate::filter::Filter;
use crate::pipeline::{Config, Pipeline, Tracking};
use crate::render::thread::Output;
use crate::render::{Options, Printer, follow, graph, stats};
use crate::source::file::CaptureReader;
use crate::stream::{Select, StreamId, TrackerConfig, Transport};

/// Build the render options from the view arguments.
pub fn options(view: &ViewArgs, color: bool) -> Options {
    // The fields view's columns were checked by `ViewArgs::check`: a command that skipped it
    // gets no columns rather than a wrong one.
    Options {
        view: view.effective_view(),
        color,
        highlight: view.field.clone(),
        width: super::term_width(),
        fit: super::screen_width().is_some(),
        absolute: view.absolute,
        columns: crate::render::fields::Columns::new(&view.columns).unwrap_or_default(),
        layout: {
            use std::io::IsTerminal;
            let mut l = crate::render::fields::Layout::parse(&view.layout).unwrap_or_default();
            // Aligned for a person at a terminal; tshark's tabs for a pipe or a chosen separator.
            l.align = std::io::stdout().is_terminal()
                && !view.layout.iter().any(|o| o.starts_with("separator="));
            l
        },
    }
}

/// Does the packet belong to the conversation `--stream` names? (Its own transport header's
/// stream number, from the typed view the tracker filled in.)
pub fn in_stream(d: &Dissection, id: StreamId) -> bool {
    let stream = match id.transport {
        Transport::Tcp => d.tcp_segment().and_then(|s| s.analysis).map(|a| a.stream),
        Transport::Udp => d.udp_datagram().and_then(|u| u.stream),
    };
    stream == Some(id.index)
}

/// The tracker settings the flags ask for.
fn tracker_config(args: &DissectArgs) -> Result<TrackerConfig, Error> {
    let tcp_stream = match args.stream {
        Some(id) if id.transport == Transport::Tcp => Some(id.index),
        Some(id) if args.follow.is_some() || args.graph.is_some() => {
            return Err(format!(
                "--follow and --graph work on TCP streams; {id} is UDP, whose datagrams have no byte stream or sequence numbers (use --stream {} to list its packets)",
                format_args!("udp:{}", id.index)
            )
            .into());
        }
        _ => None,
    };
    let select = |on: bool| match (on, tcp_stream) {
        (false, _) => Select::None,
        (true, Some(n)) => Select::One(n),
        (true, None) => Select::All,
    };
    Ok(TrackerConfig {
        follow: select(args.follow.is_some()),
        timeseq: select(args.graph.is_some()),
        ..TrackerConfig::default()
    })
}

/// With `--view json` standard output carries JSON Lines only, and the reports are text for
/// people: refuse the mix with a clear word rather than interleave tables with JSON.
fn refuse_text_reports_in_json(args: &DissectArgs) -> Result<(), Error> {
    let graph_here = matches!(args.graph, Some(GraphTarget::Terminal));
    if matches!(
        args.view.effective_view(),
        crate::render::View::Json | crate::render::View::Fields
    ) && (args.stats || args.follow.is_some() || graph_here)
    {
        return Err(
            "--stats, --follow and --graph print reports for people, not JSON, and with \
                    --view json standard output carries JSON Lines only: leave out --view json \
                    to read the report, or write the graph to a file (--graph=out.svg)"
                .into(),
        );
    }
    Ok(())
}

pub fn run(args: &DissectArgs, color: bool) -> Result<ExitCode, Error> {
    let filter = match &args.view.filter {
        Some(expr) => {
            Some(Filter::parse(expr).map_err(|e| format!("bad display filter (--filter): {e}"))?)
        }
        None => None,
    };
    if let Some(name) = &args.view.field {
        crate::filter::check_field_name(name).map_err(|e| format!("--field: {e}"))?;
    }
    args.view.check()?;
    refuse_text_reports_in_json(args)?;
    let mut reader = CaptureReader::open(&args.file)?;
    let reports = args.stats || args.follow.is_some() || args.graph.is_some() || args.rtt;
    let mut rtt = args.rtt.then(crate::render::rtt::RttTable::new);
    // The one-line summary (like tcpdump's, with tshark's numbers) needs only the lean
    // dissection and the numbering of TCP segments; every other view, the reports, --stream
    // and the exports need the whole analysis (see `Config::for_display`).
    let detailed = args.view.effective_view() != crate::render::View::Summary
        || reports
        || args.stream.is_some()
        || args.export.is_some();
    let names = filter.as_ref().map(|f| f.field_names());
    let mut cfg = Config::for_display(detailed, names.as_deref());
    // `--stats` alone reads every packet only for the conversation table: no packet is shown,
    // so the fields and the application layers would go unused (`Config::conversations`).
    let stats_only = args.stats
        && !args.packets
        && !args.rtt
        && args.follow.is_none()
        && args.graph.is_none()
        && args.stream.is_none()
        && args.export.is_none()
        && filter.is_none();
    if stats_only {
        cfg = Config::conversations();
    }
    cfg.reassemble_ip = !args.view.no_reassembly;
    if let Tracking::Analysis(t) = &mut cfg.tracking {
        *t = TrackerConfig {
            annotate: !stats_only,
            ..tracker_config(args)?
        };
    }
    let mut pipe = Pipeline::new(cfg);
    let show_packets = !(reports || args.export.is_some()) || args.packets;
    let mut export = args.export.as_ref().map(|p| {
        let name = args
            .file
            .file_name()
            .map_or_else(|| "capture".into(), |n| n.to_string_lossy().into_owned());
        crate::render::export::Export::new(p, &name, args.export_max)
    });
    let opts = options(&args.view, color);
    let width = opts.width;
    // Instructor mode: each packet's output is taken as one chunk and paced by the stepper.
    let pace = args.pace.pace();
    let chunks = crate::instructor::Capture::default();
    let mut stepper = crate::instructor::stdout_stepper(pace, color);
    // `Send` (standard output not locked to this thread): the summary of a long capture is
    // written by whichever thread's turn it is (`commands::cores`).
    let sink: Box<dyn Write + Send> = if pace.paced() {
        Box::new(chunks.clone())
    } else {
        Box::new(BufWriter::with_capacity(1 << 16, io::stdout()))
    };
    // A long capture is drawn on every core while this one dissects (render::thread); paced
    // output is taken packet by packet, so it stays here.
    let mut output = if pace.paced() {
        Output::here(Printer::new(sink, opts))
    } else {
        Output::new(Printer::new(sink, opts))
    };
    let mut shown = 0u64;
    let mut progress = super::progress::Progress::new(
        &args.file,
        if export.is_some() {
            "exporting"
        } else if reports {
            "analysing"
        } else {
            "dissecting"
        },
        show_packets && !pace.paced(),
    );
    let mut matched = 0u64;
    // The summary of every packet of a long capture goes on every core after the first
    // frames (`commands::cores`); anything that picks packets or reports stays here.
    let on_cores = show_packets
        && !pace.paced()
        && !reports
        && export.is_none()
        && args.stream.is_none()
        && filter.is_none()
        && args.view.effective_view() == crate::render::View::Summary;
    let mut cores_after = if on_cores {
        super::cores::start_after().max(1)
    } else {
        u64::MAX
    };
    // A first look at how busy the machine is (the second look is when the threads would start).
    let busy_before = if on_cores {
        super::cores::busy_elsewhere()
    } else {
        0
    };
    let result = loop {
        if args.view.count.is_some_and(|c| shown >= c) {
            break Ok(());
        }
        if shown >= cores_after {
            let threads = super::cores::threads(busy_before);
            if threads > 1 {
                let job = super::cores::Summary {
                    reader: &mut reader,
                    pipe: &mut pipe,
                    printer: output.printer()?,
                    progress: &mut progress,
                    limit: args.view.count.map(|c| c - shown),
                };
                let (end, more) = super::cores::show_rest(job, threads, super::cores::BATCH)?;
                shown += more;
                matched += more;
                break end;
            }
            // The other cores are busy with other work: go on here.
            cores_after = u64::MAX;
        }
        progress.frame(reader.frames_read(), reader.bytes_read());
        match reader.next_frame() {
            Ok(Some(frame)) => {
                let d = pipe.push_mut(&frame);
                let selected = args.stream.is_none_or(|id| in_stream(d, id))
                    && filter.as_ref().is_none_or(|f| f.matches(d));
                if let Some(r) = rtt.as_mut()
                    && args.stream.is_none_or(|id| in_stream(d, id))
                {
                    r.observe(d);
                }
                matched += u64::from(selected);
                if selected && let Some(e) = export.as_mut() {
                    e.add(d);
                    if !show_packets {
                        shown += 1;
                    }
                }
                if show_packets && selected {
                    output.print(d)?;
                    shown += 1;
                    if pace.paced()
                        && stepper.show(&chunks.take())? == crate::instructor::Flow::Quit
                    {
                        break Ok(());
                    }
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    progress.finish();
    let printer = output.printer()?;
    if show_packets {
        printer.finish()?;
    }
    pipe.finish();
    let tracker = pipe.tracker();

    // The reports, over everything read (also when the file was damaged further on).
    if reports && show_packets && shown > 0 {
        printer.text("\n")?;
    }
    if args.stats
        && let Some(t) = tracker
    {
        stats::report(t, args.stream, width, &mut |s| printer.text(s))?;
    }
    // One blank line between reports.
    let mut text = String::new();
    let mut before = args.stats;
    if let Some(r) = &rtt {
        if before {
            text.push('\n');
        }
        before = true;
        if args.view.view == crate::render::View::Json {
            r.json_lines(&mut text);
        } else {
            r.text(&mut text);
        }
    }
    if let Some(mode) = args.follow {
        let logs = tracker.map(|t| t.follow_logs()).unwrap_or_default();
        if before {
            text.push('\n');
        }
        before = true;
        if logs.is_empty() {
            text.push_str("Nothing to follow: no TCP data in the selected conversations.\n");
        }
        for (i, l) in logs.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            follow::log(l, mode, color, &mut text);
        }
    }
    let mut wrote_svg = None;
    if let Some(target) = &args.graph {
        // The conversation --stream names, or the one that carried the most data.
        let chosen = tracker
            .map(|t| t.timeseqs())
            .unwrap_or_default()
            .into_iter()
            .max_by_key(|t| t.points.iter().map(|p| p.len as u64).sum::<u64>());
        if before {
            text.push('\n');
        }
        match chosen {
            None => text.push_str("No TCP conversation to draw.\n"),
            Some(ts) => {
                let side = ts.data_side();
                match target {
                    GraphTarget::Terminal => graph::terminal(ts, side, width, color, &mut text),
                    GraphTarget::Svg(path) => {
                        std::fs::write(path, graph::svg(ts, side)).map_err(|e| {
                            format!("cannot write the graph to {}: {e}", path.display())
                        })?;
                        wrote_svg = Some((path.clone(), ts.stream));
                    }
                }
            }
        }
    }
    printer.text(&text)?;
    printer.flush()?;
    if pace.paced() {
        stepper.text(&chunks.take())?;
    }
    if let (Some(e), Some(path)) = (export, &args.export) {
        let note = e
            .write(color)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("wirelab: {note}");
    }
    if let Some((path, stream)) = wrote_svg {
        eprintln!(
            "wirelab: wrote the time-sequence graph of TCP stream {stream} to {}",
            path.display()
        );
    }
    if let Some(id) = args.stream {
        if tracker.is_none_or(|t| t.conversation(id).is_none()) {
            eprintln!(
                "wirelab: note: {} has no {id} (streams are numbered from 0 in order of first appearance; --stats lists them)",
                args.file.display()
            );
        }
    }
    notes(
        &pipe,
        filter.is_some() || args.stream.is_some(),
        matched,
        args.view.filter.as_deref(),
    );
    for w in &reader.warnings {
        eprintln!("wirelab: warning: {}: {w}", args.file.display());
    }
    if result.is_ok() && reader.frames_read() == 0 {
        // Not an error, but an empty screen would leave a learner wondering.
        eprintln!(
            "wirelab: {}: the file is a valid capture with no packets in it",
            args.file.display()
        );
    }
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            let _ = io::stderr().flush();
            eprintln!("wirelab: error: {e}");
            Ok(ExitCode::from(2))
        }
    }
}

/// What a learner should know after the packets, on standard error: a filter that matched
/// nothing (else an empty screen leaves them wondering), and windows shown unscaled because a
/// connection's SYNs were not captured.
pub fn notes(pipe: &Pipeline, selecting: bool, matched: u64, filter: Option<&str>) {
    let c = pipe.counts();
    if selecting && matched == 0 && c.frames > 0 {
        match filter {
            Some(f) => eprintln!(
                "wirelab: 0 of {} packets matched the filter {f:?}",
                c.frames
            ),
            None => eprintln!(
                "wirelab: 0 of {} packets are in the selected stream",
                c.frames
            ),
        }
    }
    if c.scale_unknown > 0 {
        eprintln!(
            "wirelab: note: {} TCP segment{} of connections whose handshake was not captured: their window scale is unknown, so win= shows the window field as written (marked ×?)",
            c.scale_unknown,
            if c.scale_unknown == 1 { "" } else { "s" }
        );
    }
}
