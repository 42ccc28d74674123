//! Instructor mode: showing traffic one packet at a time, for a class watching a projector.
//!
//! When a trace scrolls past in a second, a class sees nothing. With `--step`, wirelab shows
//! one packet (or one step of a lesson), then waits: a key goes on, `b` goes back one, `q`
//! quits (see [`keys`] for every key, clickers included). With `--slow MS` it goes on by
//! itself after a pause.
//!
//! Every command that shows packets cuts its output into *chunks*, one per packet, and hands
//! them to a [`Stepper`], which prints each and decides when to go on. The stepper keeps the
//! chunks it has shown, so going back redraws the screen as it was one packet earlier.
//!
//! A lesson's demo runs as a separate wirelab process (its network namespaces need a fresh
//! process). To step through its packets, the parent sets [`MARKS_ENV`]; the child's
//! [`crate::render::Printer`] then writes the byte [`MARK`] before each packet, and the
//! parent cuts the child's output there ([`Splitter`]).

pub mod keys;

use std::collections::VecDeque;
use std::io::{self, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use self::keys::{Key, Keys};

/// The byte written before each packet when [`MARKS_ENV`] is set: ASCII "record separator",
/// which no view ever prints.
pub const MARK: char = '\u{1e}';

/// The environment variable that asks a wirelab process to mark where each packet starts.
pub const MARKS_ENV: &str = "WIRELAB_STEP_MARKS";

/// Should this process mark packets for a parent that steps through its output?
pub fn marks_wanted() -> bool {
    std::env::var_os(MARKS_ENV).is_some_and(|v| v == "1")
}

/// How fast to show packets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pace {
    /// Wait for a key after each packet.
    pub step: bool,
    /// Pause this many milliseconds after each packet.
    pub slow_ms: Option<u64>,
}

impl Pace {
    pub fn new(step: bool, slow_ms: Option<u64>) -> Pace {
        Pace { step, slow_ms }
    }

    /// Is there any pacing at all?
    pub fn paced(&self) -> bool {
        self.step || self.slow_ms.is_some_and(|ms| ms > 0)
    }
}

/// What the caller should do after a chunk was shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Show the next one.
    Go,
    /// Show the rest of this part without pausing (`s`).
    Skip,
    /// Stop here (`q`).
    Quit,
}

/// At most this many chunks are kept for going back.
const HISTORY: usize = 2000;

/// Prints chunks and paces them.
pub struct Stepper<W: Write> {
    out: W,
    pace: Pace,
    keys: Option<Keys>,
    /// The chunks shown, oldest first, and which one is on screen (the last, unless the
    /// person went back).
    history: VecDeque<String>,
    pos: usize,
    /// How many chunks were dropped from the front of `history`.
    dropped: u64,
    /// Standard output is a terminal: prompts are drawn and erased there, and going back
    /// redraws the screen.
    tty: bool,
    /// Set from elsewhere (Ctrl-C in `capture`) to stop waiting.
    cancel: Option<Arc<AtomicBool>>,
    /// Pausing was turned off for the rest of the part (`s`), or for good (input ended).
    skipping: bool,
    colour: bool,
    /// What one chunk is, for the prompt: "packet" or "step".
    unit: &'static str,
}

impl<W: Write> Stepper<W> {
    /// A stepper writing to `out`. `tty` says whether `out` is a terminal.
    pub fn new(out: W, pace: Pace, tty: bool, colour: bool) -> Stepper<W> {
        Stepper {
            out,
            keys: pace.step.then(Keys::stdin),
            pace,
            history: VecDeque::new(),
            pos: 0,
            dropped: 0,
            tty,
            cancel: None,
            skipping: false,
            colour,
            unit: "packet",
        }
    }

    /// Call the chunks "steps" (or anything else) in the prompt.
    pub fn unit(mut self, unit: &'static str) -> Self {
        self.unit = unit;
        self
    }

    /// Stop waiting for a key when this flag is set.
    pub fn cancel_on(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    pub fn pace(&self) -> Pace {
        self.pace
    }

    /// A new part begins (the tour's next lesson): pausing resumes after `s`.
    pub fn new_part(&mut self) {
        if !self.keys.as_ref().is_some_and(|k| k.ended) {
            self.skipping = false;
        }
    }

    /// Print text that is not a packet (a note, a heading) without pausing.
    pub fn text(&mut self, s: &str) -> io::Result<()> {
        self.out.write_all(s.as_bytes())?;
        self.out.flush()
    }

    /// Show one chunk, then pace: wait for a key with `--step` (going back and forth through
    /// the chunks already shown), or sleep with `--slow`.
    pub fn show(&mut self, chunk: &str) -> io::Result<Flow> {
        if chunk.is_empty() {
            return Ok(Flow::Go);
        }
        self.out.write_all(chunk.as_bytes())?;
        self.out.flush()?;
        if !self.pace.step {
            if let Some(ms) = self.pace.slow_ms.filter(|&ms| ms > 0) {
                std::thread::sleep(Duration::from_millis(ms));
            }
            return Ok(Flow::Go);
        }
        self.history.push_back(chunk.to_string());
        if self.history.len() > HISTORY {
            self.history.pop_front();
            self.dropped += 1;
        }
        self.pos = self.history.len() - 1;
        if self.skipping {
            return Ok(Flow::Go);
        }
        loop {
            let text = self.prompt_text();
            let (out, tty, colour) = (&mut self.out, self.tty, self.colour);
            let key = match self.keys.as_mut() {
                Some(k) => k.next(self.cancel.as_deref(), || prompt(out, &text, tty, colour))?,
                None => None,
            };
            self.unprompt()?;
            match key {
                None => {
                    // Input ended (or Ctrl-C in capture): no more pauses.
                    self.skipping = true;
                    if self
                        .cancel
                        .as_ref()
                        .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
                    {
                        return Ok(Flow::Quit);
                    }
                    return Ok(Flow::Go);
                }
                Some(Key::Quit) => return Ok(Flow::Quit),
                Some(Key::Skip) => {
                    self.skipping = true;
                    self.redraw_to_end()?;
                    return Ok(Flow::Skip);
                }
                Some(Key::Next) => {
                    if self.pos + 1 < self.history.len() {
                        self.pos += 1;
                        let c = self.history[self.pos].clone();
                        self.out.write_all(c.as_bytes())?;
                        self.out.flush()?;
                    } else {
                        return Ok(Flow::Go);
                    }
                }
                Some(Key::Back) => {
                    if self.pos == 0 {
                        self.out.write_all(b"\x07")?; // the terminal's bell: nothing before
                        self.out.flush()?;
                    } else {
                        self.pos -= 1;
                        self.redraw()?;
                    }
                }
            }
        }
    }

    /// After going back, `s` shows what had already been shown after this point.
    fn redraw_to_end(&mut self) -> io::Result<()> {
        while self.pos + 1 < self.history.len() {
            self.pos += 1;
            let c = self.history[self.pos].clone();
            self.out.write_all(c.as_bytes())?;
        }
        self.out.flush()
    }

    /// Show the screen as it was when chunk `pos` was the newest: on a terminal, clear it and
    /// print the chunks up to `pos` that fit; elsewhere, say where we are and print the chunk.
    fn redraw(&mut self) -> io::Result<()> {
        let number = self.dropped + self.pos as u64 + 1;
        if self.tty {
            let rows = terminal_rows().saturating_sub(2).max(5);
            let mut lines = 0;
            let mut first = self.pos;
            loop {
                lines += self.history[first].lines().count().max(1);
                if first == 0 || lines >= rows {
                    break;
                }
                first -= 1;
            }
            // Clear the screen and go to its top left corner.
            self.out.write_all(b"\x1b[2J\x1b[H")?;
            let mut text = String::new();
            for c in self.history.range(first..=self.pos) {
                text.push_str(c);
            }
            // Keep the bottom of the first chunk if it alone is taller than the screen.
            let all: Vec<&str> = text.lines().collect();
            let skip = all.len().saturating_sub(rows);
            for l in &all[skip..] {
                self.out.write_all(l.as_bytes())?;
                self.out.write_all(b"\n")?;
            }
        } else {
            let note = format!("── back to {} {number} ──\n", self.unit);
            self.out.write_all(note.as_bytes())?;
            let c = self.history[self.pos].clone();
            self.out.write_all(c.as_bytes())?;
        }
        self.out.flush()
    }

    fn prompt_text(&self) -> String {
        let number = self.dropped + self.pos as u64 + 1;
        let single = self.keys.as_ref().is_some_and(|k| k.single_keys());
        let keys = if single {
            "space next · b back · s skip · q quit"
        } else {
            "Enter next · b back · s skip · q quit (then Enter)"
        };
        format!("[{} {number}] {keys}", self.unit)
    }

    /// Erase the prompt (on a terminal: back to the start of the line, clear it).
    fn unprompt(&mut self) -> io::Result<()> {
        if self.tty {
            self.out.write_all(b"\r\x1b[2K")?;
            self.out.flush()?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Has the flag given to [`Stepper::cancel_on`] been raised (Ctrl-C)?
    pub fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    }
}

/// Show the prompt: on the terminal, where it is erased after the key; else on standard
/// error, one line each time.
fn prompt<W: Write>(out: &mut W, text: &str, tty: bool, colour: bool) -> io::Result<()> {
    if tty {
        if colour {
            use colored::Colorize;
            write!(out, "{}", text.dimmed())?;
        } else {
            out.write_all(text.as_bytes())?;
        }
        out.flush()
    } else {
        let mut err = io::stderr().lock();
        writeln!(err, "{text}")?;
        err.flush()
    }
}

/// A stepper on standard output.
pub fn stdout_stepper(pace: Pace, colour: bool) -> Stepper<io::Stdout> {
    let tty = io::stdout().is_terminal();
    Stepper::new(io::stdout(), pace, tty, colour)
}

/// The terminal's height in rows (`$LINES`, else what the terminal says, else 24).
pub fn terminal_rows() -> usize {
    std::env::var("LINES")
        .ok()
        .and_then(|l| l.parse().ok())
        .or_else(|| terminal_size::terminal_size().map(|(_, h)| h.0 as usize))
        .unwrap_or(24)
}

/// Cuts a child process's output into chunks: at each [`MARK`] (the start of a packet), and
/// before the first mark at blank lines, so that a demo printing no packets (or its
/// introduction) still comes in paragraphs.
#[derive(Default)]
pub struct Splitter {
    buf: String,
    /// Undecoded bytes at the end of the last read (a character cut in two).
    partial: Vec<u8>,
    marked: bool,
}

impl Splitter {
    pub fn new() -> Splitter {
        Splitter::default()
    }

    /// Add bytes read; returns the chunks now complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.partial.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.partial) {
            Ok(s) => s.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.partial.len(),
        };
        let rest = self.partial.split_off(valid);
        let text = String::from_utf8_lossy(&self.partial).into_owned();
        self.partial = rest;
        self.buf.push_str(&text);
        let mut out = Vec::new();
        loop {
            if let Some(i) = self.buf.find(MARK) {
                let chunk: String = self.buf.drain(..i).collect();
                self.buf.drain(..MARK.len_utf8());
                if !self.marked {
                    out.extend(paragraphs(&chunk));
                } else if !chunk.is_empty() {
                    out.push(chunk);
                }
                self.marked = true;
                continue;
            }
            if !self.marked
                && let Some(i) = self.buf.find("\n\n")
            {
                let chunk: String = self.buf.drain(..i + 2).collect();
                out.push(chunk);
                continue;
            }
            break;
        }
        out
    }

    /// The output ended: whatever is left is the last chunk.
    pub fn finish(&mut self) -> Option<String> {
        let mut text = std::mem::take(&mut self.buf);
        text.push_str(&String::from_utf8_lossy(&std::mem::take(&mut self.partial)));
        (!text.is_empty()).then_some(text)
    }
}

/// Text cut after each blank line.
fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("\n\n") {
        out.push(rest[..i + 2].to_string());
        rest = &rest[i + 2..];
    }
    if !rest.is_empty() {
        out.push(rest.to_string());
    }
    out
}

/// A writer that keeps what is written, so that a [`crate::render::Printer`]'s output for one
/// packet can be taken as a chunk.
#[derive(Clone, Default)]
pub struct Capture(pub Arc<std::sync::Mutex<Vec<u8>>>);

impl Capture {
    /// Take what was written since the last call, as text.
    pub fn take(&self) -> String {
        let mut b = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let text = String::from_utf8_lossy(&b).into_owned();
        b.clear();
        text
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitter_cuts_at_marks_and_paragraphs() {
        let mut s = Splitter::new();
        let mut got = s.push(b"title\n\nintro line\nmore");
        assert_eq!(got, vec!["title\n\n"]);
        got = s.push("\n\u{1e}packet 1\nnote\n\n\u{1e}packet 2\n".as_bytes());
        assert_eq!(got, vec!["intro line\nmore\n", "packet 1\nnote\n\n"]);
        assert_eq!(s.finish().as_deref(), Some("packet 2\n"));
    }

    #[test]
    fn splitter_keeps_characters_cut_between_reads() {
        let mut s = Splitter::new();
        let arrow = "→".as_bytes();
        assert!(s.push(&arrow[..1]).is_empty());
        assert!(s.push(&arrow[1..]).is_empty());
        assert_eq!(s.finish().as_deref(), Some("→"));
    }

    #[test]
    fn stepper_without_pace_prints_everything() {
        let mut st = Stepper::new(Vec::new(), Pace::default(), false, false);
        assert_eq!(st.show("a\n").unwrap(), Flow::Go);
        assert_eq!(st.show("").unwrap(), Flow::Go);
        assert_eq!(st.show("b\n").unwrap(), Flow::Go);
        assert_eq!(String::from_utf8(st.out).unwrap(), "a\nb\n");
    }
}
