//! The trace questions of every lesson: their answers can be worked out from the lesson's
//! bundled trace, the reference answers pass, and blank or wrong answers fail.
//!
//! This never reads the learner's own `answers.toml`, so a learner halfway through a lesson
//! cannot turn the project's tests red.

use std::path::Path;

use wirelab::lessons::check::grade_questions;
use wirelab::lessons::load_from;

fn lessons() -> Vec<wirelab::lessons::Lesson> {
    load_from(&Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons")).expect("lessons load")
}

#[test]
fn reference_answers_pass_and_blank_answers_fail() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let blank = tmp.path().join("blank.toml");
    std::fs::write(&blank, "").expect("write");
    let mut asked = 0;
    for l in lessons() {
        if l.questions.is_empty() {
            continue;
        }
        assert!(
            l.trace().exists(),
            "{} asks trace questions but has no trace.pcapng",
            l.id
        );
        let reference = l.dir.join("solutions/answers.toml");
        let results = grade_questions(&l, &reference).expect("grading works");
        for r in &results {
            asked += 1;
            assert!(
                r.right.is_ok(),
                "{}/{}: the answer cannot be worked out from the trace: {:?}",
                l.id,
                r.id,
                r.right
            );
            assert!(
                r.passed(),
                "{}/{}: the reference answer {:?} is not what the trace says ({:?})",
                l.id,
                r.id,
                r.given,
                r.right
            );
        }
        for r in grade_questions(&l, &blank).expect("grading works") {
            assert!(!r.passed(), "{}/{}: a blank answer passes", l.id, r.id);
        }
    }
    assert!(asked > 0, "no lesson asks any trace question");
}

#[test]
fn every_question_is_listed_in_the_answers_template() {
    for l in lessons() {
        if l.questions.is_empty() {
            continue;
        }
        let template = std::fs::read_to_string(l.answers())
            .unwrap_or_else(|_| panic!("{} has questions but no answers.toml", l.id));
        for q in &l.questions {
            assert!(
                template.contains(&format!("{} = ", q.id)),
                "{}: answers.toml has no line for {}",
                l.id,
                q.id
            );
        }
    }
}

#[test]
fn question_ids_are_unique_across_the_course() {
    let mut seen = std::collections::HashSet::new();
    for l in lessons() {
        for q in &l.questions {
            assert!(
                seen.insert(q.id.clone()),
                "question id {} is used twice",
                q.id
            );
        }
        for e in &l.exercises {
            assert!(seen.insert(e.id.clone()), "id {} is used twice", e.id);
        }
    }
}
