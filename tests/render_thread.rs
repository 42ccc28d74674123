//! Drawing on a second thread (`render::thread`) must not change a byte: for every capture
//! of the corpus and every lesson trace, the layer tree (plain, coloured, narrow, with
//! `--field`), the JSON view, the hex dump and the summary, drawn all on one thread and drawn
//! on a second thread from the first packet on (and from the third), are the same text.

mod common;

use std::path::{Path, PathBuf};

use wirelab::pipeline::{Config, Pipeline};
use wirelab::render::thread::Output;
use wirelab::render::{Options, Printer, View};
use wirelab::source::file::read_all;

fn files(corpus: &Path) -> Vec<PathBuf> {
    common::corpus_and_lesson_files(corpus)
}

/// The text of every packet of `path` in `opts`' view, drawn here for the first
/// `start_after` packets and on drawing threads after that.
fn draw(path: &Path, opts: &Options, start_after: u64) -> String {
    draw_all(&[path.to_path_buf()], opts, start_after)
}

/// The same for the frames of several captures, one after another in one run.
fn draw_all(paths: &[PathBuf], opts: &Options, start_after: u64) -> String {
    let frames: Vec<_> = paths
        .iter()
        .flat_map(|p| read_all(p).unwrap_or_default())
        .collect();
    let mut pipe = Pipeline::new(Config::full());
    let mut out = Output::starting_after(Printer::new(Vec::new(), opts.clone()), start_after);
    for f in &frames {
        let d = pipe.push_mut(&f.as_frame());
        out.print(d).expect("writing to memory");
    }
    let mut printer = out.into_printer().expect("writing to memory");
    printer.finish().expect("writing to memory");
    String::from_utf8(printer.into_inner()).expect("the views write text")
}

#[test]
fn a_second_thread_draws_every_view_byte_for_byte_the_same() {
    let corpus = common::corpus_or_fail("a_second_thread_draws_every_view_byte_for_byte_the_same");
    let views = [
        Options {
            view: View::Layers,
            ..Options::default()
        },
        Options {
            view: View::Layers,
            width: 40,
            highlight: Some("ip.addr".into()),
            ..Options::default()
        },
        Options {
            view: View::Layers,
            color: true,
            ..Options::default()
        },
        Options {
            view: View::Json,
            ..Options::default()
        },
        Options {
            view: View::Hex,
            ..Options::default()
        },
        Options {
            view: View::Summary,
            ..Options::default()
        },
    ];
    let mut compared = 0;
    for path in files(&corpus) {
        for opts in &views {
            let here = draw(&path, opts, u64::MAX);
            for start_after in [0, 2] {
                let there = draw(&path, opts, start_after);
                assert!(
                    here == there,
                    "{}: {:?} view (color {}, width {}) differs when drawn on a second thread after {start_after} packets",
                    path.display(),
                    opts.view,
                    opts.color,
                    opts.width
                );
                compared += 1;
            }
        }
    }
    assert!(
        compared > 100,
        "only {compared} comparisons: corpus missing?"
    );
}

/// A long run (every frame of the corpus and the traces, one after another, four times): many
/// batches in flight, some drawn by the calling thread while the drawing threads are busy, all
/// written in order.
#[test]
fn a_long_run_is_drawn_in_order() {
    let corpus = common::corpus_or_fail("a_long_run_is_drawn_in_order");
    let one = files(&corpus);
    let paths: Vec<PathBuf> = (0..4).flat_map(|_| one.iter().cloned()).collect();
    for view in [View::Layers, View::Json] {
        let opts = Options {
            view,
            ..Options::default()
        };
        let here = draw_all(&paths, &opts, u64::MAX);
        let there = draw_all(&paths, &opts, 100);
        assert!(here.len() > 1_000_000, "{} bytes", here.len());
        assert!(
            here == there,
            "{view:?}: a long run differs when drawn on threads"
        );
    }
}
