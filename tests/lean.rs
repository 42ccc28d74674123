//! The lean dissection (`dissect::dissect_lean`, used for the plain one-line summary) must give
//! exactly the same summary line as the full one, with the same problems, on every packet of
//! the corpus (tests/corpus) and of the lessons' traces.

mod common;

use std::path::PathBuf;

use wirelab::dissect::model::Timestamp;
use wirelab::dissect::{Dissection, dissect_into, dissect_lean};
use wirelab::render::summary;
use wirelab::source::file::read_all;
use wirelab::stream::upper::Upper;

fn files() -> Vec<PathBuf> {
    let c = common::corpus_or_fail("lean_summary (corpus part)");
    common::corpus_and_lesson_files(&c)
}

#[test]
fn lean_and_full_dissection_give_the_same_summary() {
    let mut checked = 0;
    for path in files() {
        let Ok(frames) = read_all(&path) else {
            continue;
        };
        let (mut full, mut lean) = (Dissection::default(), Dissection::default());
        // As `wirelab dissect` does: HTTP, WebSocket and Socket.IO found in the streams.
        let (mut up_full, mut up_lean) = (Upper::new(), Upper::lean());
        let first = frames
            .first()
            .and_then(|f| f.ts)
            .unwrap_or(Timestamp::default());
        for f in &frames {
            dissect_into(&mut full, &f.as_frame());
            dissect_lean(&mut lean, &f.as_frame());
            up_full.observe(&mut full);
            up_lean.observe(&mut lean);
            let (mut a, mut b) = (String::new(), String::new());
            summary::line(&full, first, false, &mut a);
            summary::line(&lean, first, false, &mut b);
            assert_eq!(a, b, "{} frame {}", path.display(), f.number);
            assert_eq!(
                full.problems,
                lean.problems,
                "{} frame {}",
                path.display(),
                f.number
            );
            assert_eq!(full.layers.len(), lean.layers.len());
            assert!(lean.fields.len() <= full.fields.len());
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} packets checked");
}

/// `--stats` alone runs the lean dissection with the whole stream analysis but no fields and no
/// application layers (`Config::conversations`): its report must be the one the full pipeline
/// gives, on every capture of the corpus and every lesson's trace.
#[test]
fn conversation_table_is_the_same_from_the_lean_pipeline() {
    use wirelab::pipeline::{Config, Pipeline};
    let report = |cfg: Config, frames: &[wirelab::source::OwnedFrame]| {
        let mut p = Pipeline::new(cfg);
        for f in frames {
            p.push(&f.as_frame());
        }
        p.finish();
        let mut out = String::new();
        wirelab::render::stats::report(p.tracker().expect("tracking"), None, 100, &mut |s| {
            out.push_str(s);
            Ok(())
        })
        .unwrap();
        (out, p.counts())
    };
    let mut checked = 0;
    for path in files() {
        let Ok(frames) = read_all(&path) else {
            continue;
        };
        let full = report(Config::full(), &frames);
        let lean = report(Config::conversations(), &frames);
        assert_eq!(full, lean, "{}", path.display());
        checked += 1;
    }
    assert!(checked > 100, "only {checked} captures checked");
}
