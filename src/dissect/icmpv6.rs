//! icmpv6: not dissected yet.

use super::cx::{Cx, Next};
use super::model::{Dissection, Layer};

pub fn dissect(_cx: &mut Cx, at: usize, end: usize) -> Next {
    Next::Data { at, end }
}

pub fn describe(_d: &Dissection, layer: &Layer) -> String {
    layer.proto.name().to_string()
}
