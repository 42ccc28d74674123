//! Linux cooked capture, v1 (LINKTYPE_LINUX_SLL) and v2 (LINKTYPE_LINUX_SLL2). TODO: fields.

use super::cx::{Cx, Next};
use super::model::{Dissection, Layer};

pub fn dissect_v1(_cx: &mut Cx, at: usize, end: usize) -> Next {
    Next::Data { at, end }
}

pub fn dissect_v2(_cx: &mut Cx, at: usize, end: usize) -> Next {
    Next::Data { at, end }
}

pub fn describe(_d: &Dissection, layer: &Layer) -> String {
    layer.proto.name().to_string()
}
