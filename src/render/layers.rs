//! The layer tree (to be written).

use super::Options;
use crate::dissect::model::Dissection;

pub fn tree(d: &Dissection, _opts: &Options, out: &mut String) {
    for l in &d.layers {
        out.push_str(&crate::dissect::describe(d, l));
        out.push('\n');
    }
}
