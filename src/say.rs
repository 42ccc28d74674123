//! Where narration goes.
//!
//! A demo tells what it is doing in sentences ("Step 1. to everyone…", the server's log).
//! Normally that text goes to standard output next to the packets. When standard output
//! carries JSON Lines (`--view json`), a program reads it line by line and every line must be
//! JSON, so the sentences go to standard error instead: `wirelab sio demo --view json | jq .`
//! sees only the packets, and a person at the terminal still sees both.
//!
//! [`say!`](macro@crate::say) is `println!` that follows this switch; a command turns it on with
//! [`narration_to_stderr`] before its demo starts.

use std::sync::atomic::{AtomicBool, Ordering};

static TO_STDERR: AtomicBool = AtomicBool::new(false);

/// From now on, send narration to standard error (`true`) or standard output (`false`).
pub fn narration_to_stderr(on: bool) {
    TO_STDERR.store(on, Ordering::Relaxed);
}

/// Does narration go to standard error now?
pub fn to_stderr() -> bool {
    TO_STDERR.load(Ordering::Relaxed)
}

/// `println!` for narration: to standard output, or to standard error once
/// [`narration_to_stderr`] asked for it.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        if $crate::say::to_stderr() {
            eprintln!($($arg)*)
        } else {
            println!($($arg)*)
        }
    };
}
