//! `wirelab capture`: live capture on an interface, shown in any view, optionally written to
//! a file.
//!
//! The capture runs on its own thread, reading with a short timeout so that it notices when
//! it should stop. The main thread waits for Ctrl-C (or for the thread to finish by itself,
//! after `-c N` packets). Each frame is written to the file *before* it is printed, and the
//! writer is flushed when the capture stops, so every packet shown is in the file and the file
//! ends on a whole record.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::Error;
use super::dissect::options;
use crate::cli::CaptureArgs;
use crate::filter::Filter;
use crate::pipeline::{Config, Pipeline};
use crate::render::Printer;
use crate::source::file::CaptureWriter;
use crate::source::lab;
use crate::source::live::{KernelStats, LiveCapture, LiveOptions};

/// What the capture thread reports when it ends.
struct Outcome {
    stats: KernelStats,
    read: u64,
    shown: u64,
    /// Standard output was closed (`| head`): not an error.
    pipe_closed: bool,
}

pub fn run(args: &CaptureArgs, color: bool) -> Result<ExitCode, Error> {
    args.view.check()?;
    let filter = match &args.view.filter {
        Some(expr) => Some(Filter::parse(expr).map_err(|e| format!("--filter {expr:?}: {e}"))?),
        None => None,
    };
    let iface = match &args.interface {
        Some(i) => i.clone(),
        None => lab::current_lab_interface()
            .unwrap_or_else(|| crate::source::platform::LOOPBACK.to_string()),
    };
    let mut cap = LiveCapture::open(
        &iface,
        &LiveOptions {
            buffer: args.buffer << 20,
            promiscuous: !args.no_promiscuous,
            reader: args.reader,
            ..LiveOptions::default()
        },
    )?;
    // `-c 0` only checks that capture works here.
    if args.view.count == Some(0) {
        eprintln!("wirelab: capture on {iface} works here (-c 0: nothing captured)");
        return Ok(ExitCode::SUCCESS);
    }
    let mut writer = match &args.write {
        Some(path) => Some(
            CaptureWriter::create(path, cap.link)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        ),
        None => None,
    };
    // Catch Ctrl-C (SIGINT) and SIGTERM from now on, so that a stop request always ends the
    // capture cleanly instead of killing the process with a half-written file.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut stop_request = rt.block_on(async { StopRequest::new() })?;
    eprintln!(
        "wirelab: capturing on {iface}{}; Ctrl-C stops",
        if cap.loopback {
            " (each packet once: outgoing copies are ignored)"
        } else {
            ""
        }
    );

    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // Frames read so far, for the word said when nothing comes (see `idle_hint`).
    let seen = Arc::new(AtomicU64::new(0));
    let seen_here = seen.clone();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let quiet = args.quiet;
    let count = args.view.count;
    let opts = options(&args.view, color);
    let printer_view = opts.view;
    let no_reassembly = args.view.no_reassembly;
    // Instructor mode: each packet is shown, then the thread waits for a key (or a pause);
    // the kernel keeps the frames that arrive meanwhile in its buffer.
    let pace = args.pace.pace();
    let cancel = stop.clone();
    let handle = std::thread::Builder::new().name("capture".into()).spawn(
        move || -> io::Result<Outcome> {
            let chunks = crate::instructor::Capture::default();
            let mut stepper = crate::instructor::stdout_stepper(pace, color).cancel_on(cancel);
            let sink: Box<dyn Write> = if pace.paced() {
                Box::new(chunks.clone())
            } else {
                Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock()))
            };
            // The one pipeline, as for a file: as much analysis as the view shows.
            let detailed = printer_view != crate::render::View::Summary;
            let names = filter.as_ref().map(|f| f.field_names());
            let mut cfg = Config::for_display(detailed, names.as_deref());
            cfg.reassemble_ip = !no_reassembly;
            let mut pipe = Pipeline::new(cfg);
            let mut printer = Printer::new(sink, opts);
            let mut shown = 0u64;
            let mut pipe_closed = false;
            // Dissect only when something needs it.
            let need_dissect = !quiet || filter.is_some();
            let result = cap.run(&flag, |frame| {
                seen_here.fetch_add(1, Ordering::Relaxed);
                let d = if need_dissect {
                    let d = pipe.push(frame);
                    if filter.as_ref().is_some_and(|f| !f.matches(d)) {
                        return Ok(true);
                    }
                    Some(d)
                } else {
                    None
                };
                if let Some(w) = writer.as_mut() {
                    w.write(frame)?;
                }
                shown += 1;
                if !quiet
                    && !pipe_closed
                    && let Some(d) = d
                {
                    if let Err(e) = printer.print(d) {
                        if e.kind() == io::ErrorKind::BrokenPipe {
                            pipe_closed = true;
                            // Keep writing the file only if there is one.
                            if writer.is_none() {
                                return Ok(false);
                            }
                        } else {
                            return Err(e);
                        }
                    }
                    if pace.paced()
                        && stepper.show(&chunks.take())? == crate::instructor::Flow::Quit
                    {
                        return Ok(false);
                    }
                }
                Ok(count.is_none_or(|c| shown < c))
            });
            // Whatever happened, finish the file: flush every whole record written so far.
            let flushed = writer.as_mut().map_or(Ok(()), |w| w.flush());
            if let Err(e) = printer.flush()
                && e.kind() != io::ErrorKind::BrokenPipe
            {
                return Err(e);
            }
            printer.say_cut();
            let stats = result?;
            flushed?;
            let read = cap.read_count();
            let _ = done_tx.send(());
            Ok(Outcome {
                stats,
                read,
                shown,
                pipe_closed,
            })
        },
    )?;

    // Wait for Ctrl-C, for --timeout, or for the capture to end by itself (-c N, an error).
    // If nothing at all arrives for a while, say so once, and what would make traffic.
    let timed_out = rt.block_on(async {
        let limit = async {
            match args.timeout {
                Some(s) => tokio::time::sleep(Duration::from_secs_f64(s.max(0.0))).await,
                None => std::future::pending().await,
            }
        };
        let hint = async {
            tokio::time::sleep(IDLE).await;
            if seen.load(Ordering::Relaxed) == 0 {
                eprintln!("{}", idle_hint(&iface));
            }
            std::future::pending::<()>().await
        };
        tokio::select! {
            _ = stop_request.recv() => false,
            _ = done_rx => false,
            _ = limit => true,
            _ = hint => false,
        }
    });
    if timed_out {
        eprintln!(
            "wirelab: --timeout: {} s are over",
            args.timeout.unwrap_or_default()
        );
    }
    stop.store(true, Ordering::Relaxed);
    let outcome = handle.join().map_err(|_| "the capture thread panicked")??;

    let mut err = io::stderr().lock();
    writeln!(
        err,
        "wirelab: {} packet{} captured{}, {}",
        outcome.read,
        if outcome.read == 1 { "" } else { "s" },
        if filter_shown(args) {
            format!(" ({} matched the filter)", outcome.shown)
        } else {
            String::new()
        },
        outcome.stats.describe()
    )?;
    if let Some(path) = &args.write {
        writeln!(
            err,
            "wirelab: {} packets written to {}",
            outcome.shown,
            path.display()
        )?;
    }
    let _ = outcome.pipe_closed;
    Ok(ExitCode::SUCCESS)
}

/// How long a capture waits for its first packet before saying that nothing is coming.
const IDLE: Duration = Duration::from_secs(3);

/// What to say when nothing has arrived: in the lab, only what is started inside it makes
/// traffic (no other terminal can reach it); on the host, something must talk on the
/// interface.
fn idle_hint(iface: &str) -> String {
    if lab::current_lab_interface().is_some() {
        format!(
            "wirelab: nothing has arrived on {iface} in {} s: the lab is private, so only \
             programs started inside it make traffic. Start one next to the capture, e.g.\n  \
             wirelab lab shell -- sh -c 'wirelab capture -c 5 & sleep 1; wirelab udp send \
             192.0.2.2:9 one two three; wait'\n(Ctrl-C stops, --timeout SECS stops by itself.)",
            IDLE.as_secs()
        )
    } else {
        format!(
            "wirelab: nothing has arrived on {iface} in {} s. Make some traffic there, e.g. in \
             another terminal `wirelab udp send 127.0.0.1:9 hello` (on loopback) or \
             `wirelab tcp echo --net host`. (Ctrl-C stops, --timeout SECS stops by itself.)",
            IDLE.as_secs()
        )
    }
}

fn filter_shown(args: &CaptureArgs) -> bool {
    args.view.filter.is_some()
}

/// Ctrl-C, or (on Unix) SIGTERM: a request to stop capturing.
#[cfg(unix)]
struct StopRequest {
    sigint: tokio::signal::unix::Signal,
    sigterm: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl StopRequest {
    /// Start catching the signals (inside the runtime).
    fn new() -> io::Result<StopRequest> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopRequest {
            sigint: signal(SignalKind::interrupt())?,
            sigterm: signal(SignalKind::terminate())?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.sigint.recv() => {}
            _ = self.sigterm.recv() => {}
        }
    }
}

/// Ctrl-C or Ctrl-Break in the console: a request to stop capturing.
#[cfg(windows)]
struct StopRequest {
    ctrl_c: tokio::signal::windows::CtrlC,
    ctrl_break: tokio::signal::windows::CtrlBreak,
}

#[cfg(windows)]
impl StopRequest {
    fn new() -> io::Result<StopRequest> {
        Ok(StopRequest {
            ctrl_c: tokio::signal::windows::ctrl_c()?,
            ctrl_break: tokio::signal::windows::ctrl_break()?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.ctrl_c.recv() => {}
            _ = self.ctrl_break.recv() => {}
        }
    }
}
