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
use crate::dissect::{Dissection, dissect_into, dissect_lean};
use crate::filter::Filter;
use crate::render::{Options, Printer, follow, graph, stats};
use crate::source::file::CaptureReader;
use crate::stream::upper::Upper;
use crate::stream::{Select, StreamId, StreamTracker, TrackerConfig, Transport};

/// Build the render options from the view arguments.
pub fn options(view: &ViewArgs, color: bool) -> Options {
    Options {
        view: view.view,
        color,
        highlight: view.field.clone(),
        width: super::term_width(),
    }
}

/// Does the packet belong to the conversation `--stream` names?
pub fn in_stream(d: &Dissection, id: StreamId) -> bool {
    let name = match id.transport {
        Transport::Tcp => "tcp.stream",
        Transport::Udp => "udp.stream",
    };
    d.uint(name) == Some(id.index as u64)
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
    if args.view.view == crate::render::View::Json
        && (args.stats || args.follow.is_some() || graph_here)
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

/// Does showing packets in `view` (through `filter`) need the stream tracker's analysis?
pub fn needs_tracker(view: crate::render::View, filter: Option<&Filter>) -> bool {
    view != crate::render::View::Summary
        || filter.is_some_and(|f| {
            f.field_names()
                .iter()
                .any(|n| crate::stream::is_stream_field(n))
        })
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
    refuse_text_reports_in_json(args)?;
    let mut tracker = StreamTracker::new(tracker_config(args)?);
    let mut reader = CaptureReader::open(&args.file)?;
    let reports = args.stats || args.follow.is_some() || args.graph.is_some();
    // The stream analysis needs every earlier packet of a conversation and costs about as much
    // as dissecting; the one-line summary (like tcpdump's) shows the numbers on the wire and
    // does without it, unless something asks for what only the analysis knows.
    let track = needs_tracker(args.view.view, filter.as_ref())
        || reports
        || args.stream.is_some()
        || args.export.is_some();
    // Only the summary line is shown: the lean dissection skips details no one will see.
    let lean = !track && filter.is_none() && args.view.view == crate::render::View::Summary;
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
    let sink: Box<dyn Write> = if pace.paced() {
        Box::new(chunks.clone())
    } else {
        Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock()))
    };
    let mut printer = Printer::new(sink, opts);
    printer.set_absolute_seq(args.absolute);
    let mut d = Dissection::default();
    let mut upper = Upper::new();
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
    let result = loop {
        if args.view.count.is_some_and(|c| shown >= c) {
            break Ok(());
        }
        progress.frame(reader.frames_read(), reader.bytes_read());
        match reader.next_frame() {
            Ok(Some(frame)) => {
                if lean {
                    dissect_lean(&mut d, &frame);
                } else {
                    dissect_into(&mut d, &frame);
                }
                if track {
                    tracker.observe(&mut d);
                }
                upper.observe(&mut d);
                let selected = args.stream.is_none_or(|id| in_stream(&d, id))
                    && filter.as_ref().is_none_or(|f| f.matches(&d));
                if selected && let Some(e) = export.as_mut() {
                    e.add(&d);
                    if !show_packets {
                        shown += 1;
                    }
                }
                if show_packets && selected {
                    printer.print(&d)?;
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
    if show_packets {
        printer.finish()?;
    }
    tracker.finish();
    upper.finish();

    // The reports, over everything read (also when the file was damaged further on).
    if reports && show_packets && shown > 0 {
        printer.text("\n")?;
    }
    if args.stats {
        stats::report(&tracker, args.stream, width, &mut |s| printer.text(s))?;
    }
    // One blank line between reports.
    let mut text = String::new();
    let mut before = args.stats;
    if let Some(mode) = args.follow {
        let logs = tracker.follow_logs();
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
            .timeseqs()
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
        if tracker.conversation(id).is_none() {
            eprintln!(
                "wirelab: note: {} has no {id} (streams are numbered from 0 in order of first appearance; --stats lists them)",
                args.file.display()
            );
        }
    }
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
