//! Stopping cleanly on Ctrl-C (SIGINT) and SIGTERM.
//!
//! # The idea
//!
//! Ctrl-C in a terminal makes the kernel send SIGINT to the program in the foreground; `kill
//! PID` (and a service manager stopping a service) sends SIGTERM. By default either signal
//! ends a process on the spot: no summary is printed, a half-written file stays half written.
//! A program that wants to finish properly *catches* the signal: it asks the kernel to tell it
//! instead, and then stops at the next convenient point.
//!
//! Here a signal handler catches both signals and raises a flag; that is all it does (a signal
//! handler may interrupt the program anywhere, so it may only do what is safe at any moment:
//! an atomic store). The handler is installed without `SA_RESTART`, so a blocking call in the
//! thread the kernel picks ends at once with EINTR, "interrupted system call", the way a C
//! program sees it. The servers' other blocking calls (`accept`, `recv`, `recvfrom`) wait at
//! most a fifth of a second at a time ([`TICK`]) and look at the flag in between, so they stop
//! within that time, close their sockets and print what they did. Async commands use tokio's
//! own handling of the same signals ([`Signals`]).
//!
//! Exit status: a server (`tcp serve`, `udp recv`, `ws serve`, `sio serve`, `capture`) runs
//! until it is stopped, so being stopped by a signal is its normal end and it exits with 0
//! after its summary. A command with an end of its own (`tour`) that is interrupted exits with
//! 128 + the signal's number, as a shell reports a process killed by it: 130 for SIGINT, 143
//! for SIGTERM.

//! On Windows there is no SIGTERM to catch and no EINTR: Ctrl-C runs the handler (through the C
//! runtime's `signal`), and the servers notice the flag within a TICK.

// Installing a signal handler has no safe wrapper: `sigaction` is unsafe because the handler
// runs at any moment. The one handler here only stores into atomics.
#![allow(unsafe_code)]

use std::io;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

#[cfg(unix)]
use tokio::signal::unix::{Signal, SignalKind, signal};

/// How long a blocking call waits before looking at the stop flag again.
pub const TICK: Duration = Duration::from_millis(200);

/// The signal that asked to stop (0: none yet).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// The same request as a shared flag, for code that takes one (the instructor's stepper).
static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

extern "C" fn on_signal(sig: libc::c_int) {
    // Only atomic operations: safe in a signal handler. `OnceLock::get` is one atomic load
    // once the lock is set, which happens before the handler is installed.
    SIGNAL.store(sig, Ordering::SeqCst);
    if let Some(flag) = FLAG.get() {
        flag.store(true, Ordering::SeqCst);
    }
}

/// A stop request from a signal. Cheap to copy: the state is the process's own.
#[derive(Clone, Copy)]
pub struct Stop(());

impl Stop {
    /// Catch SIGINT and SIGTERM from now on.
    pub fn on_signals() -> io::Result<Stop> {
        FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)));
        for sig in [libc::SIGINT, libc::SIGTERM] {
            install(sig)?;
        }
        Ok(Stop(()))
    }

    /// Has a signal asked to stop?
    pub fn requested(&self) -> bool {
        SIGNAL.load(Ordering::SeqCst) != 0
    }

    /// The request as a shared flag, for code that only takes an `AtomicBool`.
    pub fn flag(&self) -> Arc<AtomicBool> {
        FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
            .clone()
    }

    /// The signal that asked to stop, if one did.
    pub fn signal(&self) -> Option<i32> {
        match SIGNAL.load(Ordering::SeqCst) {
            0 => None,
            n => Some(n),
        }
    }

    /// "stopped by SIGINT (Ctrl-C)", for a summary line; empty when no signal came.
    pub fn why(&self) -> String {
        self.signal().map(stopped_by).unwrap_or_default()
    }

    /// The exit status of a command interrupted by the signal: 128 + its number.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(128 + self.signal().unwrap_or(libc::SIGINT) as u8)
    }
}

/// Make `on_signal` the handler of `sig`, without SA_RESTART (a blocking call it interrupts
/// returns EINTR).
#[cfg(unix)]
fn install(sig: libc::c_int) -> io::Result<()> {
    // SAFETY: `sigaction` is plain data, zeroed then filled in; `on_signal` only stores into
    // atomics, which is async-signal-safe, and never calls anything that could hold a lock.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(sig, &action, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Make `on_signal` the handler of `sig` (the C runtime's `signal`, Windows' only way).
#[cfg(windows)]
fn install(sig: libc::c_int) -> io::Result<()> {
    // SAFETY: `on_signal` only stores into atomics; the C runtime runs it on a thread of its
    // own for Ctrl-C.
    let old = unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
    if old == libc::SIG_ERR as libc::sighandler_t {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// "stopped by SIGTERM" or "stopped by SIGINT (Ctrl-C)".
pub fn stopped_by(sig: i32) -> String {
    match sig {
        libc::SIGINT => "stopped by SIGINT (Ctrl-C)".into(),
        libc::SIGTERM => "stopped by SIGTERM".into(),
        n => format!("stopped by signal {n}"),
    }
}

/// SIGINT and SIGTERM caught in the current tokio runtime, for async commands (on Windows,
/// Ctrl-C).
pub struct Signals {
    #[cfg(unix)]
    int: Signal,
    #[cfg(unix)]
    term: Signal,
}

impl Signals {
    /// Catch both signals from now on (call it inside a tokio runtime).
    #[cfg(unix)]
    pub fn new() -> io::Result<Signals> {
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    /// Catch Ctrl-C from the first wait on (Windows).
    #[cfg(not(unix))]
    pub fn new() -> io::Result<Signals> {
        Ok(Signals {})
    }

    /// Wait for the next one; returns its number.
    #[cfg(unix)]
    pub async fn recv(&mut self) -> i32 {
        tokio::select! {
            _ = self.int.recv() => libc::SIGINT,
            _ = self.term.recv() => libc::SIGTERM,
        }
    }

    /// Wait for the next Ctrl-C (Windows).
    #[cfg(not(unix))]
    pub async fn recv(&mut self) -> i32 {
        let _ = tokio::signal::ctrl_c().await;
        libc::SIGINT
    }
}

/// The error a blocking call returns when a stop request ended the wait: EINTR, which is what
/// the kernel itself returns from a call a signal interrupted.
pub fn interrupted() -> io::Error {
    #[cfg(unix)]
    return io::Error::from_raw_os_error(libc::EINTR);
    #[cfg(not(unix))]
    return io::Error::from(io::ErrorKind::Interrupted);
}

/// Did a read or accept end because its timeout ([`TICK`]) passed?
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Run a blocking call that times out every [`TICK`] until it does something other than time
/// out, or until a stop is requested (then it returns EINTR). A call that a signal interrupted
/// (EINTR) for another reason is made again.
pub fn until_stopped<T>(stop: &Stop, mut call: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match call() {
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                if stop.requested() {
                    return Err(interrupted());
                }
            }
            other => return other,
        }
    }
}
