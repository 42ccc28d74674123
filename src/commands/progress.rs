//! A progress bar for long work on a capture file: dissecting, exporting, stream analysis.
//!
//! A million packets in the layer view take minutes; written to a file, that is minutes of a
//! silent terminal. So when standard error is a terminal, a bar there says how far the file
//! has been read, how fast, and how long is left (indicatif draws it). It appears only after
//! a second of work (a small file never flashes one), only when standard output is not that
//! same screen printing packets (there the packets themselves show the progress), and never
//! when standard error is a pipe or a file: a log gets no bar (`tests/first_minutes.rs`
//! checks it).

use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long work must run before the bar appears. `WIRELAB_PROGRESS_AFTER_MS` changes it (the
/// tests use 0, to see the bar on a small file).
fn delay() -> Duration {
    std::env::var("WIRELAB_PROGRESS_AFTER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(1), Duration::from_millis)
}

/// The progress of reading one capture file.
pub struct Progress {
    /// Off for good: standard error is not a terminal, or the packets are the progress.
    off: bool,
    started: Instant,
    after: Duration,
    /// The file's size, when it has one (standard input has none: a spinner then).
    total: Option<u64>,
    what: &'static str,
    bar: Option<ProgressBar>,
    /// Frames seen since the clock was last looked at.
    since_check: u32,
}

impl Progress {
    /// Progress of `what` ("dissecting", "exporting", …) over the capture at `path`.
    /// `packets_on_screen`: each packet is printed to standard output, which is a terminal.
    pub fn new(path: &Path, what: &'static str, packets_on_screen: bool) -> Progress {
        let off = !std::io::stderr().is_terminal()
            || (packets_on_screen && std::io::stdout().is_terminal());
        let total = (path != Path::new("-"))
            .then(|| std::fs::metadata(path).ok().map(|m| m.len()))
            .flatten();
        Progress {
            off,
            started: Instant::now(),
            after: delay(),
            total,
            what,
            bar: None,
            since_check: 0,
        }
    }

    /// One more frame read; `bytes` is how far into the file it reaches. Cheap: the clock is
    /// looked at once every 1,024 frames.
    pub fn frame(&mut self, frames: u64, bytes: u64) {
        if self.off {
            return;
        }
        self.since_check += 1;
        if self.since_check < 1024 && frames > 1 {
            return;
        }
        self.since_check = 0;
        if self.bar.is_none() {
            if self.started.elapsed() < self.after {
                return;
            }
            self.bar = Some(self.make_bar());
        }
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{frames} packets"));
            if self.total.is_some() {
                bar.set_position(bytes);
            } else {
                bar.tick();
            }
        }
    }

    fn make_bar(&self) -> ProgressBar {
        let target = ProgressDrawTarget::stderr_with_hz(4);
        match self.total {
            Some(total) => {
                let bar = ProgressBar::with_draw_target(Some(total), target);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix} [{bar:30}] {bytes}/{total_bytes} · {msg} · {bytes_per_sec} · \
                         {eta} left",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_prefix(self.what);
                bar
            }
            None => {
                let bar = ProgressBar::with_draw_target(None, target);
                bar.set_style(
                    ProgressStyle::with_template("{prefix} {spinner} {msg} · {elapsed}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(self.what);
                bar
            }
        }
    }

    /// The work is done: take the bar off the screen.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
