//! Where narration goes.
//!
//! A demo tells what it is doing in sentences ("Step 1. to everyone…", the server's log).
//! Normally that text goes to standard output next to the packets. When standard output
//! carries JSON Lines (`--view json`), a program reads it line by line and every line must be
//! JSON, so the sentences go to standard error instead: `wirelab sio demo --view json | jq .`
//! sees only the packets, and a person at the terminal still sees both.
//!
//! [`say!`](macro@crate::say) is `println!` that follows this switch; a command turns it on with
//! [`narration_to_stderr`] before its demo starts. It also fits the screen ([`fit`]): a
//! sentence longer than the terminal is wide wraps at spaces, a table row that is still too
//! wide is cut and ends in `…`.

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

/// Write one piece of narration (a line, or several): fitted to the screen, to standard output
/// or standard error.
pub fn line(text: &str) {
    let text = match crate::render::screen_width() {
        Some(w) => fit(text, w),
        None => text.to_string(),
    };
    if to_stderr() {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
}

/// `text` fitted to `width` columns: see [`crate::render::fit_text`] (sentences wrap, table
/// rows are cut and end in `…`).
pub fn fit(text: &str, width: usize) -> String {
    crate::render::fit_text(text, width).0
}

/// `println!` for narration: to standard output, or to standard error once
/// [`narration_to_stderr`] asked for it; fitted to the screen (see [`line()`]).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::say::line(&format!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::fit;
    use crate::render::text_width;

    #[test]
    fn sentences_wrap_and_tables_are_cut() {
        let s = "  one two three four five six seven eight nine ten eleven twelve";
        let f = fit(s, 20);
        assert!(f.lines().all(|l| text_width(l) <= 20), "{f}");
        assert_eq!(f.split_whitespace().count(), s.split_whitespace().count());
        assert!(f.lines().nth(1).unwrap().starts_with("    "), "{f}");
        let t = "│ a │ bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb │";
        assert_eq!(fit(t, 20), "│ a │ bbbbbbbbbbbbb…");
        assert_eq!(fit("short\nlines", 20), "short\nlines");
    }
}
