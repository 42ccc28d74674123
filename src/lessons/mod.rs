//! Lessons: the course, one folder per topic, and the learner's progress through it.
//!
//! Each lesson lives in `lessons/NN_topic/`:
//!
//! * `README.md`: the lesson in our own words: what happens, what to run, what to look for,
//!   questions to think about.
//! * `lesson.toml`: its id, title, the terms it teaches, the live demo command, the trace
//!   questions and the code exercises (see [`Lesson`]).
//! * `trace.pcapng`: the demo's traffic recorded by wirelab, for replay and for the questions.
//! * `answers.toml`: where the learner writes answers to the trace questions.
//! * `exercises/*.rs`: code the learner completes (marked `// TODO`); `solutions/*.rs`: the
//!   reference solutions the project's own tests use.
//!
//! `wirelab lessons` lists them with progress, `wirelab lesson ID` shows one and runs its demo
//! (see [`demo`]), `wirelab check` grades the learner's answers and exercises (see [`check`]).
//! `wirelab tour` runs every lesson's demo in order.

pub mod check;
pub mod demo;
pub mod progress;
pub mod questions;

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One lesson, as described by its `lesson.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    /// The folder name, e.g. `03_tcp`; also what `wirelab lesson` takes.
    pub id: String,
    pub title: String,
    /// The glossary terms this lesson teaches (names `wirelab define` knows).
    pub terms: Vec<String>,
    /// The live demo: arguments to `wirelab` (e.g. `["tcp", "echo"]`).
    pub demo: Vec<String>,
    /// A one-paragraph summary for the lesson list and the tour's narration.
    pub summary: String,
    /// One line for the tour: what to watch for in the demo (a default for the demo's command
    /// is used when left out).
    #[serde(default)]
    pub watch: Option<String>,
    /// The demo as the tour runs it, when it differs from `demo` (a shorter view, fewer
    /// rounds); left out, the tour runs `demo` with its brief options (see [`demo::brief`]).
    #[serde(default)]
    pub tour: Option<Vec<String>>,
    #[serde(default)]
    pub questions: Vec<Question>,
    #[serde(default)]
    pub exercises: Vec<Exercise>,
    /// Where the lesson was loaded from (filled in by [`catalogue`]).
    #[serde(skip)]
    pub dir: PathBuf,
}

/// A question about the lesson's trace, answered in `answers.toml` under its `id`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub id: String,
    pub ask: String,
    pub hint: String,
    /// Which computation in [`questions`] works out the right answer from the trace.
    pub compute: String,
}

/// A code exercise: a file with `// TODO`s the learner completes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    /// Unique across the course (it names the test that grades it).
    pub id: String,
    /// The file the learner edits, relative to the lesson folder.
    pub file: String,
    /// The reference solution, relative to the lesson folder.
    pub solution: String,
    /// SHA-1 of `file` as shipped, so the project's own tests can tell an untouched exercise
    /// (which must fail) from one a learner has been working on (which is theirs to grade).
    pub shipped_sha1: String,
    pub hint: String,
}

impl Lesson {
    pub fn readme(&self) -> PathBuf {
        self.dir.join("README.md")
    }

    pub fn trace(&self) -> PathBuf {
        self.dir.join("trace.pcapng")
    }

    pub fn answers(&self) -> PathBuf {
        self.dir.join("answers.toml")
    }

    /// The lesson's number, from the folder name (`03_tcp` → 3).
    pub fn number(&self) -> u32 {
        self.id
            .split('_')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

/// Where the lessons folder is: `$WIRELAB_LESSONS`, else `./lessons`, else the one in the
/// source tree wirelab was built from.
pub fn lessons_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("WIRELAB_LESSONS") {
        let d = PathBuf::from(d);
        return Some(std::fs::canonicalize(&d).unwrap_or(d));
    }
    let here = PathBuf::from("lessons");
    if here.join("01_packets").is_dir() {
        return Some(std::fs::canonicalize(&here).unwrap_or(here));
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
    built.is_dir().then_some(built)
}

/// Every lesson, in order. A `lesson.toml` that cannot be read is an error naming the file.
pub fn catalogue() -> Result<Vec<Lesson>, String> {
    let dir = lessons_dir().ok_or_else(|| {
        "cannot find the lessons folder: run wirelab from the repository, or set WIRELAB_LESSONS"
            .to_string()
    })?;
    load_from(&dir)
}

/// Every lesson in `dir`, in order.
pub fn load_from(dir: &Path) -> Result<Vec<Lesson>, String> {
    let mut lessons = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let toml_path = entry.path().join("lesson.toml");
        if !toml_path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&toml_path)
            .map_err(|e| format!("{}: {e}", toml_path.display()))?;
        let mut lesson: Lesson =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", toml_path.display()))?;
        if lesson.id != entry.file_name().to_string_lossy() {
            return Err(format!(
                "{}: id is {:?}, but the folder is named {:?}",
                toml_path.display(),
                lesson.id,
                entry.file_name().to_string_lossy()
            ));
        }
        lesson.dir = entry.path();
        lessons.push(lesson);
    }
    lessons.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(lessons)
}

/// Find a lesson by id, by number (`3`), or by the topic part of its id (`tcp`).
pub fn find<'a>(lessons: &'a [Lesson], query: &str) -> Option<&'a Lesson> {
    let q = query.trim().to_ascii_lowercase();
    lessons.iter().find(|l| {
        l.id == q
            || q.parse::<u32>().ok() == Some(l.number())
            || l.id.split_once('_').map(|(_, t)| t) == Some(q.as_str())
    })
}
