//! Grading: the learner's trace answers and code exercises.
//!
//! * **Trace questions** are graded here: the right answer is computed from the lesson's trace
//!   ([`super::questions`]) and compared with what the learner wrote in `answers.toml`.
//! * **Code exercises** are Rust files the learner completes. They are compiled and tested by
//!   the project's test target `tests/exercises/` (so they build against wirelab itself and are
//!   checked against its implementation and real captured packets). `wirelab check` runs the
//!   learner's test for each exercise: `cargo test --test exercises -- --ignored --exact
//!   learner_ID`. The project's own `cargo test` runs different tests over the same files: that
//!   each untouched exercise fails and each reference solution passes.

use std::path::Path;
use std::process::Command;

use super::questions::{compute, load_trace, same_answer};
use super::{Exercise, Lesson};

/// How one trace question went.
#[derive(Debug)]
pub struct QuestionResult {
    pub id: String,
    pub ask: String,
    pub given: Option<String>,
    /// The right answer, or why it could not be worked out.
    pub right: Result<String, String>,
    pub hint: String,
}

impl QuestionResult {
    pub fn passed(&self) -> bool {
        matches!((&self.given, &self.right), (Some(g), Ok(r)) if same_answer(g, r))
    }
}

/// Read the learner's answers: `id = "answer"` lines in `answers.toml`.
pub fn read_answers(path: &Path) -> Result<toml::Table, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(toml::Table::new()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Grade every trace question of a lesson against the answers in `answers`.
pub fn grade_questions(lesson: &Lesson, answers: &Path) -> Result<Vec<QuestionResult>, String> {
    if lesson.questions.is_empty() {
        return Ok(Vec::new());
    }
    let trace = load_trace(&lesson.trace())?;
    let given = read_answers(answers)?;
    Ok(lesson
        .questions
        .iter()
        .map(|q| QuestionResult {
            id: q.id.clone(),
            ask: q.ask.clone(),
            given: given.get(&q.id).map(|v| match v {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
            right: compute(&q.compute, &trace),
            hint: q.hint.clone(),
        })
        .collect())
}

/// How one code exercise went.
#[derive(Debug)]
pub struct ExerciseResult {
    pub id: String,
    pub passed: bool,
    /// What the check said (the first failure), or why it could not run.
    pub message: String,
}

/// Run the learner's check of one exercise through cargo, from the repository at `root`.
pub fn run_exercise(root: &Path, ex: &Exercise) -> ExerciseResult {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let test = format!("learner_{}", ex.id);
    let out = Command::new(cargo)
        .current_dir(root)
        .args(["test", "--quiet", "--test", "exercises", "--"])
        .args(["--ignored", "--exact", &test, "--nocapture"])
        .env("RUST_BACKTRACE", "0")
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            return ExerciseResult {
                id: ex.id.clone(),
                passed: false,
                message: format!("could not run cargo: {e}"),
            };
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && text.contains("1 passed") {
        return ExerciseResult {
            id: ex.id.clone(),
            passed: true,
            message: String::new(),
        };
    }
    ExerciseResult {
        id: ex.id.clone(),
        passed: false,
        message: failure_message(&text),
    }
}

/// Pull the useful part out of cargo's output: a compile error, or the check's own message.
fn failure_message(text: &str) -> String {
    if let Some(i) = text.find("error[") {
        let err: Vec<&str> = text[i..].lines().take(12).collect();
        return format!("it does not compile yet:\n{}", err.join("\n"));
    }
    for marker in ["not yet: ", "panicked at"] {
        if let Some(i) = text.find(marker) {
            let rest = &text[i..];
            let msg: Vec<&str> = rest
                .lines()
                .skip(usize::from(marker == "panicked at"))
                .take_while(|l| !l.starts_with("note:") && !l.is_empty())
                .take(8)
                .collect();
            let first = if marker == "not yet: " {
                rest.lines()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("not yet: ")
                    .to_string()
            } else {
                String::new()
            };
            let mut m = first;
            for l in msg.iter().skip(usize::from(marker == "not yet: ")) {
                if !m.is_empty() {
                    m.push('\n');
                }
                m.push_str(l);
            }
            if !m.trim().is_empty() {
                return m;
            }
        }
    }
    text.lines()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_messages_are_extracted() {
        let t = "running 1 test\nthread 'learner_x' panicked at tests/exercises/main.rs:9:5:\nnot yet: flag_names(0x12) gave [] but SYN and ACK are set\nnote: run with RUST_BACKTRACE";
        assert_eq!(
            failure_message(t),
            "flag_names(0x12) gave [] but SYN and ACK are set"
        );
        let c = "error[E0308]: mismatched types\n --> lessons/x.rs:3:5";
        assert!(failure_message(c).starts_with("it does not compile yet"));
    }
}
