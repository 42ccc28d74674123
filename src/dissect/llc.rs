//! llc: not dissected yet.

use super::cx::{Cx, Next};

pub fn dissect(_cx: &mut Cx, at: usize, end: usize) -> Next {
    Next::Data { at, end }
}
