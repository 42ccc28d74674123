//! Waiting for a command in the foreground the way a shell does (`wirelab lab shell -- CMD`).
//!
//! Ctrl-C in a terminal sends SIGINT to every process of the foreground job: here both
//! wirelab, which holds the lab open, and the command running inside it. If wirelab died of
//! it at once, the lab would vanish under the command (its network link goes down) before the
//! command could finish cleanly: `wirelab capture` would end with "Network is down" instead
//! of its summary. So, like a shell waiting for a foreground job (and like `system(3)`),
//! wirelab lets SIGINT and SIGQUIT pass (they reach the command by themselves), and passes
//! SIGTERM and SIGHUP, which are sent to wirelab alone, on to the command. The lab is taken
//! down when the command has ended.

use std::io;
use std::process::{Child, ExitStatus};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::signal::unix::{SignalKind, signal};

/// Start the command with `spawn` and wait for it, handling the signals as described above.
pub fn run(spawn: impl FnOnce() -> io::Result<Child>) -> io::Result<ExitStatus> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        // Catch the signals before the command exists, so that none is missed.
        let mut int = signal(SignalKind::interrupt())?;
        let mut quit = signal(SignalKind::quit())?;
        let mut term = signal(SignalKind::terminate())?;
        let mut hup = signal(SignalKind::hangup())?;
        let mut child = spawn()?;
        let pid = Pid::from_raw(child.id() as i32);
        let mut waiter = tokio::task::spawn_blocking(move || child.wait());
        loop {
            tokio::select! {
                r = &mut waiter => return r.map_err(io::Error::other)?,
                // The terminal sent these to the command too: let it answer them.
                _ = int.recv() => {}
                _ = quit.recv() => {}
                // Sent to wirelab alone: pass them on.
                _ = term.recv() => { let _ = kill(pid, Signal::SIGTERM); }
                _ = hup.recv() => { let _ = kill(pid, Signal::SIGHUP); }
            }
        }
    })
}
