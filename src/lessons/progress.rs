//! The learner's progress: which lessons were opened, which exercises and questions passed.
//!
//! It is kept in a small TOML file outside the repository, so that updating the course (a
//! `git pull`) never touches it: `$WIRELAB_STATE/progress.toml`, else
//! `$XDG_STATE_HOME/wirelab/progress.toml`, else `~/.local/state/wirelab/progress.toml` (on
//! Windows, `%LOCALAPPDATA%\wirelab\progress.toml`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Progress {
    /// Lessons whose text was shown.
    #[serde(default)]
    pub read: BTreeSet<String>,
    /// Exercise ids that passed their check.
    #[serde(default)]
    pub exercises: BTreeSet<String>,
    /// `lesson/question` ids answered correctly.
    #[serde(default)]
    pub questions: BTreeSet<String>,
}

/// The file progress is kept in.
pub fn path() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("WIRELAB_STATE") {
        return Some(PathBuf::from(d).join("progress.toml"));
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .or_else(windows_state)?;
    Some(base.join("wirelab/progress.toml"))
}

/// Windows has no `HOME`: the user's local application data (`%LOCALAPPDATA%`).
fn windows_state() -> Option<PathBuf> {
    if cfg!(windows) {
        std::env::var_os("LOCALAPPDATA").map(PathBuf::from)
    } else {
        None
    }
}

impl Progress {
    /// Load the saved progress (nothing saved yet, or unreadable: start afresh).
    pub fn load() -> Progress {
        path()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| toml::from_str(&t).ok())
            .unwrap_or_default()
    }

    /// Save it; failing to save is reported but never stops a lesson.
    pub fn save(&self) {
        let Some(p) = path() else { return };
        let text = match toml::to_string(self) {
            Ok(t) => t,
            Err(_) => return,
        };
        if let Some(dir) = p.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // Write to a temporary file and rename, so an interrupted save never leaves half a file.
        let tmp = p.with_extension("toml.tmp");
        if std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, &p))
            .is_err()
        {
            eprintln!("wirelab: note: could not save progress to {}", p.display());
        }
    }
}
