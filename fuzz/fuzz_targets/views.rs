//! What every fuzz target checks on each dissection it makes: the promises of
//! `dissect::validate`, and that every description and every view renders.

use wirelab::dissect::model::Dissection;
use wirelab::dissect::{describe, validate};
use wirelab::render::{Options, Printer, View};

pub fn check(d: &Dissection) {
    if let Err(e) = validate(d) {
        panic!("frame {}: {e}", d.number);
    }
    for l in &d.layers {
        let _ = describe(d, l);
    }
    // The JSON view's own cost (building a serde_json tree) is a thousand times the
    // dissection's, so it is exercised through its field map, which formats every value.
    let _ = wirelab::render::json::flat_fields(d);
    for view in [View::Summary, View::Layers, View::Hex] {
        let opts = Options {
            view,
            color: false,
            highlight: None,
            width: 80,
            // Fitted to the width: cutting lines of any bytes must not panic either.
            fit: true,
            absolute: false,
        };
        let mut printer = Printer::new(Vec::new(), opts);
        printer.print(d).expect("writing to memory cannot fail");
    }
}
