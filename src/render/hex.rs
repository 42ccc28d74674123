//! The hex view (to be written).

use super::Options;
use crate::dissect::model::Dissection;

pub fn dump(d: &Dissection, _opts: &Options, out: &mut String) {
    for chunk in d.data.chunks(16) {
        for b in chunk {
            out.push_str(&format!("{b:02x} "));
        }
        out.push('\n');
    }
}
