//! Reading one key at a time from the keyboard, for `--step`.
//!
//! A terminal normally hands a program its input a line at a time: the terminal driver
//! collects what you type, echoes it and lets you edit it, and only Enter sends it on
//! ("canonical" mode). To react to a single key press, a program switches the driver into
//! "raw" mode (no line editing, no echo) with `tcsetattr`, and must switch it back before it
//! ends, or the shell it returns to would show nothing you type.
//!
//! Here the terminal is raw only while wirelab waits for a key; everything else (printing
//! packets, running a demo) happens in the normal mode, so Ctrl-C then works as usual. While
//! waiting, Ctrl-C arrives as an ordinary byte (0x03) and means "quit". If a signal ends the
//! process during the wait (`kill`, the terminal closing), a small handler puts the terminal
//! back first.
//!
//! When standard input is not a terminal (a pipe, a file), keys are read a line at a time
//! instead: `b` then Enter goes back, `q` quits, anything else goes on. On Windows, whose
//! console has no termios, keys are always read a line at a time.
//!
//! The termios and signal calls have no safe wrapper in the crates wirelab uses, hence the
//! `unsafe` below, each block small and explained.
#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::io;
#[cfg(unix)]
use std::sync::atomic::AtomicPtr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What the person at the keyboard asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// Space, Enter, `n`, →, ↓, Page Down (what a presenter's clicker sends), or any other key.
    Next,
    /// `b`, ←, ↑, Page Up, Backspace.
    Back,
    /// `s`: the rest of this part without pausing.
    Skip,
    /// `q`, Ctrl-C, Ctrl-D, Escape.
    Quit,
}

/// Keys from standard input.
pub struct Keys {
    /// Standard input is a terminal: read single keys in raw mode.
    raw: bool,
    /// Keys read but not handed out yet (several can arrive in one read).
    pending: VecDeque<Key>,
    /// In line mode, the part of a line read so far.
    line: Vec<u8>,
    /// Standard input has ended: there will be no more keys.
    pub ended: bool,
}

const STDIN: libc::c_int = 0;

impl Keys {
    pub fn stdin() -> Keys {
        Keys {
            raw: is_tty(STDIN),
            pending: VecDeque::new(),
            line: Vec::new(),
            ended: false,
        }
    }

    /// Are single keys read (standard input is a terminal)?
    pub fn single_keys(&self) -> bool {
        self.raw
    }

    /// Wait for the next key. `None` when standard input has ended, or when `cancel` was set
    /// (it is looked at ten times a second). `prompt` is called once the terminal is ready
    /// for a single key, so that a key pressed as soon as the prompt shows is read as a key
    /// (Ctrl-C included), not handled by the terminal.
    pub fn next(
        &mut self,
        cancel: Option<&AtomicBool>,
        prompt: impl FnOnce() -> io::Result<()>,
    ) -> io::Result<Option<Key>> {
        if let Some(k) = self.pending.pop_front() {
            // A key typed ahead: show where it applies all the same.
            prompt()?;
            return Ok(Some(k));
        }
        if self.ended {
            return Ok(None);
        }
        let _raw = if self.raw {
            Some(RawMode::enter()?)
        } else {
            None
        };
        prompt()?;
        let mut buf = [0u8; 64];
        loop {
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return Ok(None);
            }
            if !readable(STDIN, Duration::from_millis(100))? {
                continue;
            }
            let n = read(STDIN, &mut buf)?;
            if n == 0 {
                self.ended = true;
                // A last line without its newline still counts.
                if !self.line.is_empty() {
                    let line = std::mem::take(&mut self.line);
                    return Ok(Some(line_key(&line)));
                }
                return Ok(None);
            }
            if self.raw {
                self.pending.extend(parse_keys(&buf[..n]));
            } else {
                for &b in &buf[..n] {
                    if b == b'\n' {
                        let line = std::mem::take(&mut self.line);
                        self.pending.push_back(line_key(&line));
                    } else {
                        self.line.push(b);
                    }
                }
            }
            if let Some(k) = self.pending.pop_front() {
                return Ok(Some(k));
            }
        }
    }
}

/// The key a typed line stands for (line mode).
fn line_key(line: &[u8]) -> Key {
    match String::from_utf8_lossy(line)
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "q" | "quit" => Key::Quit,
        "b" | "back" => Key::Back,
        "s" | "skip" => Key::Skip,
        _ => Key::Next,
    }
}

/// The keys in what one read returned, escape sequences included: `ESC [ D` is the left
/// arrow, `ESC [ 5 ~` Page Up.
pub fn parse_keys(bytes: &[u8]) -> Vec<Key> {
    let mut keys = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        let key = match b {
            0x1b => {
                // An escape sequence (CSI or SS3), or Escape alone.
                if i < bytes.len() && (bytes[i] == b'[' || bytes[i] == b'O') {
                    let start = i + 1;
                    let mut end = start;
                    while end < bytes.len() && !(0x40..=0x7e).contains(&bytes[end]) {
                        end += 1;
                    }
                    let seq = &bytes[start..(end + 1).min(bytes.len())];
                    i = (end + 1).min(bytes.len());
                    match seq {
                        b"D" | b"A" | b"5~" => Key::Back,
                        _ => Key::Next,
                    }
                } else {
                    Key::Quit
                }
            }
            b'q' | b'Q' | 0x03 | 0x04 => Key::Quit,
            b'b' | b'B' | 0x7f | 0x08 => Key::Back,
            b's' | b'S' => Key::Skip,
            _ => Key::Next,
        };
        keys.push(key);
    }
    keys
}

#[cfg(unix)]
fn is_tty(fd: libc::c_int) -> bool {
    // SAFETY: isatty only reads the descriptor number; any value is allowed.
    unsafe { libc::isatty(fd) == 1 }
}

#[cfg(unix)]
/// Wait up to `timeout` for `fd` to have something to read.
fn readable(fd: libc::c_int, timeout: Duration) -> io::Result<bool> {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, and the count says one.
    let r = unsafe { libc::poll(&mut p, 1, timeout.as_millis() as libc::c_int) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(false)
        } else {
            Err(e)
        };
    }
    // POLLHUP without POLLIN: the other end is gone; a read will say so (0 bytes).
    Ok(r > 0 && p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0)
}

#[cfg(unix)]
fn read(fd: libc::c_int, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: the pointer and length describe `buf`, which outlives the call.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(unix)]
/// The terminal settings to put back, for the signal handler: a pointer to a leaked copy,
/// null when the terminal is not raw.
static SAVED: AtomicPtr<libc::termios> = AtomicPtr::new(std::ptr::null_mut());
#[cfg(unix)]
/// The signals whose handlers put the terminal back.
const SIGNALS: [libc::c_int; 4] = [libc::SIGTERM, libc::SIGHUP, libc::SIGINT, libc::SIGQUIT];
#[cfg(unix)]
/// The handlers that were there before ours, to call after restoring the terminal.
static OLD: [AtomicPtr<libc::sigaction>; 4] = [
    AtomicPtr::new(std::ptr::null_mut()),
    AtomicPtr::new(std::ptr::null_mut()),
    AtomicPtr::new(std::ptr::null_mut()),
    AtomicPtr::new(std::ptr::null_mut()),
];
#[cfg(unix)]
static HANDLERS_SET: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
/// The terminal in raw mode; dropping it puts the old settings back.
struct RawMode {
    saved: libc::termios,
}

#[cfg(unix)]
impl RawMode {
    fn enter() -> io::Result<RawMode> {
        // SAFETY: termios is plain data; tcgetattr fills it in or fails.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: a valid pointer to a termios.
        if unsafe { libc::tcgetattr(STDIN, &mut saved) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut raw = saved;
        // No line editing, no echo, and Ctrl-C as a byte (ISIG off) while waiting; output
        // processing (OPOST: "\n" moves to the start of the line) is left on.
        raw.c_lflag &= !(libc::ICANON | libc::ECHO | libc::ISIG | libc::IEXTEN);
        raw.c_iflag &= !(libc::IXON | libc::ICRNL);
        raw.c_cc[libc::VMIN] = 1;
        raw.c_cc[libc::VTIME] = 0;
        let leaked = Box::into_raw(Box::new(saved));
        let old = SAVED.swap(leaked, Ordering::SeqCst);
        if !old.is_null() {
            // SAFETY: `old` came from Box::into_raw above and nothing else owns it.
            drop(unsafe { Box::from_raw(old) });
        }
        install_handlers();
        // SAFETY: a valid pointer to a termios.
        if unsafe { libc::tcsetattr(STDIN, libc::TCSANOW, &raw) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(RawMode { saved })
    }
}

#[cfg(unix)]
impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: a valid pointer to the settings read when entering.
        unsafe { libc::tcsetattr(STDIN, libc::TCSANOW, &self.saved) };
        let old = SAVED.swap(std::ptr::null_mut(), Ordering::SeqCst);
        if !old.is_null() {
            // SAFETY: `old` came from Box::into_raw in `enter`.
            drop(unsafe { Box::from_raw(old) });
        }
    }
}

#[cfg(unix)]
/// Install (once) handlers that restore the terminal and then let the signal do what it
/// would have done: reach the handler that was there before (tokio's, in `capture`), or end
/// the process.
fn install_handlers() {
    if HANDLERS_SET.swap(true, Ordering::SeqCst) {
        return;
    }
    for (i, &sig) in SIGNALS.iter().enumerate() {
        // SAFETY: sigaction is plain data; the handler is an `extern "C" fn(c_int)` that only
        // makes async-signal-safe calls (tcsetattr, sigaction, raise) and atomic operations.
        unsafe {
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut new.sa_mask);
            let old = Box::into_raw(Box::new(std::mem::zeroed::<libc::sigaction>()));
            if libc::sigaction(sig, &new, old) == 0 {
                OLD[i].store(old, Ordering::SeqCst);
            } else {
                drop(Box::from_raw(old));
            }
        }
    }
}

#[cfg(unix)]
extern "C" fn on_signal(sig: libc::c_int) {
    let saved = SAVED.load(Ordering::SeqCst);
    if !saved.is_null() {
        // SAFETY: `saved` points to a termios leaked by RawMode::enter, freed only after it
        // was swapped out of SAVED; tcsetattr is async-signal-safe.
        unsafe { libc::tcsetattr(STDIN, libc::TCSANOW, saved) };
    }
    let old = SIGNALS
        .iter()
        .position(|&s| s == sig)
        .map_or(std::ptr::null_mut(), |i| OLD[i].load(Ordering::SeqCst));
    // SAFETY: `old` is null or the sigaction saved at installation (never freed). Putting it
    // back and raising the signal again (it stays pending until this handler returns) lets
    // the kernel deliver it as it would have without us: to tokio's handler in `capture`, or
    // the default action, which ends the process.
    unsafe {
        if old.is_null() {
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(sig, &dfl, std::ptr::null_mut());
        } else {
            libc::sigaction(sig, old, std::ptr::null_mut());
        }
        libc::raise(sig);
    }
    // The next wait for a key installs the handlers again.
    HANDLERS_SET.store(false, Ordering::SeqCst);
}

/// Windows: keys are read a line at a time (the console's raw mode is not used), so `--step`
/// works as with a pipe: Enter goes on, `b` Enter goes back, `q` Enter quits. A thread reads
/// standard input, since a Windows console cannot be waited on with a timeout the way
/// `poll` waits on a Unix descriptor.
#[cfg(windows)]
fn is_tty(_fd: libc::c_int) -> bool {
    false
}

/// Standard input as the reading thread delivers it: chunks of bytes (an empty one when the
/// input ended), and what is left of the chunk being read.
#[cfg(windows)]
struct Chunks {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    left: Vec<u8>,
}

/// The reading thread, started on first use.
#[cfg(windows)]
fn stdin_chunks() -> &'static std::sync::Mutex<Chunks> {
    use std::sync::{Mutex, OnceLock, mpsc};
    static CHUNKS: OnceLock<Mutex<Chunks>> = OnceLock::new();
    CHUNKS.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 64];
            loop {
                let n = std::io::stdin().read(&mut buf).unwrap_or(0);
                if tx.send(buf[..n].to_vec()).is_err() || n == 0 {
                    break;
                }
            }
        });
        Mutex::new(Chunks {
            rx,
            left: Vec::new(),
        })
    })
}

#[cfg(windows)]
fn readable(_fd: libc::c_int, timeout: Duration) -> io::Result<bool> {
    let mut chunks = stdin_chunks().lock().unwrap_or_else(|e| e.into_inner());
    if !chunks.left.is_empty() {
        return Ok(true);
    }
    match chunks.rx.recv_timeout(timeout) {
        Ok(bytes) => {
            // An empty chunk is the end of the input: readable, and `read` returns 0.
            chunks.left = bytes;
            Ok(true)
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Ok(false),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Ok(true),
    }
}

#[cfg(windows)]
fn read(_fd: libc::c_int, buf: &mut [u8]) -> io::Result<usize> {
    let mut chunks = stdin_chunks().lock().unwrap_or_else(|e| e.into_inner());
    let n = chunks.left.len().min(buf.len());
    buf[..n].copy_from_slice(&chunks.left[..n]);
    chunks.left.drain(..n);
    Ok(n)
}

/// Never made on Windows (standard input is never raw there).
#[cfg(windows)]
struct RawMode;

#[cfg(windows)]
impl RawMode {
    fn enter() -> io::Result<RawMode> {
        Ok(RawMode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keys_reads_arrows_and_letters() {
        assert_eq!(parse_keys(b" "), vec![Key::Next]);
        assert_eq!(parse_keys(b"\r"), vec![Key::Next]);
        assert_eq!(parse_keys(b"b"), vec![Key::Back]);
        assert_eq!(parse_keys(b"q"), vec![Key::Quit]);
        assert_eq!(parse_keys(&[3]), vec![Key::Quit]);
        assert_eq!(parse_keys(b"\x1b[D"), vec![Key::Back]);
        assert_eq!(parse_keys(b"\x1b[C"), vec![Key::Next]);
        assert_eq!(parse_keys(b"\x1b[5~\x1b[6~"), vec![Key::Back, Key::Next]);
        assert_eq!(parse_keys(b"\x1bOD"), vec![Key::Back]);
        assert_eq!(parse_keys(b"\x1b"), vec![Key::Quit]);
        assert_eq!(parse_keys(b"nbs"), vec![Key::Next, Key::Back, Key::Skip]);
    }

    #[test]
    fn line_key_reads_words() {
        assert_eq!(line_key(b"q"), Key::Quit);
        assert_eq!(line_key(b" back "), Key::Back);
        assert_eq!(line_key(b""), Key::Next);
        assert_eq!(line_key(b"s"), Key::Skip);
    }
}
