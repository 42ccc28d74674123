//! Field tables: a protocol header written down the way its RFC draws it.
//!
//! An RFC draws a header as a grid of 32-bit rows, each field a box of so many bits at a fixed
//! place. Each protocol file in this folder writes that grid down as a list of [`FieldDef`]s in
//! the same order, one row of Rust per box of the diagram:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |   <- UDP, RFC 768
//! ```
//!
//! becomes
//!
//! ```text
//! FieldDef::new("udp.srcport", "Source port", 0, 2, Fmt::Dec, "…"),
//! FieldDef::new("udp.dstport", "Destination port", 2, 2, Fmt::Dec, "…"),
//! ```
//!
//! Offsets count bytes from the start of the header. A field that is only a few bits of its
//! bytes (the IPv4 version is the top 4 bits of byte 0) gives a mask over those bytes read as
//! one big-endian number; the value is the masked bits shifted down.

use std::borrow::Cow;

use super::model::{Field, Value};

/// How a field's value is written. Each follows what tshark does for that kind of field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fmt {
    /// Decimal number.
    Dec,
    /// Hexadecimal, two digits per byte of the field (`0x0800` for a 2-byte field).
    Hex,
    /// One bit: 1 or 0.
    Bool,
    /// A 6-byte hardware address.
    Mac,
    /// A 4-byte IPv4 address.
    Ipv4,
    /// A 16-byte IPv6 address.
    Ipv6,
    /// Raw bytes.
    Bytes,
    /// Text: the bytes as written (a host name, a file name), as tshark shows a string field.
    Text,
    /// A length counted in 32-bit words on the wire, shown in bytes (value × 4), as the IPv4
    /// IHL and the TCP data offset are.
    Words,
}

/// One row of a header's field table.
#[derive(Clone, Copy, Debug)]
pub struct FieldDef {
    /// Wireshark's field name.
    pub name: &'static str,
    /// Short human label.
    pub label: &'static str,
    /// Offset of the field's first byte from the start of the header.
    pub at: u16,
    /// How many bytes the field (or the bytes its mask applies to) spans.
    pub len: u8,
    /// Which bits of those bytes are the field; 0 for all of them.
    pub mask: u32,
    pub fmt: Fmt,
    /// Nesting under the field before it: 0 for a field of the header, 1 for a part of one.
    pub depth: u8,
    /// A detail that only the full views need (a single flag bit whose parent field already
    /// holds it): the lean dissection for the one-line summary skips recording it.
    pub detail: bool,
    /// One sentence for a learner.
    pub explain: &'static str,
}

impl FieldDef {
    /// A field of whole bytes.
    pub const fn new(
        name: &'static str,
        label: &'static str,
        at: u16,
        len: u8,
        fmt: Fmt,
        explain: &'static str,
    ) -> FieldDef {
        FieldDef {
            name,
            label,
            at,
            len,
            mask: 0,
            fmt,
            depth: 0,
            detail: false,
            explain,
        }
    }

    /// A field that is some bits of the bytes `at..at+len`.
    pub const fn bits(
        name: &'static str,
        label: &'static str,
        at: u16,
        len: u8,
        mask: u32,
        fmt: Fmt,
        explain: &'static str,
    ) -> FieldDef {
        FieldDef {
            name,
            label,
            at,
            len,
            mask,
            fmt,
            depth: 0,
            detail: false,
            explain,
        }
    }

    /// The same field, shown one level deeper in the tree (a part of the field before it).
    pub const fn sub(mut self) -> FieldDef {
        self.depth = 1;
        self
    }

    /// The same field, marked as a detail the one-line summary never needs (see
    /// [`FieldDef::detail`]).
    pub const fn detail(mut self) -> FieldDef {
        self.detail = true;
        self
    }

    /// The byte just after this field: the smallest header length that holds it.
    pub const fn end(&self) -> usize {
        self.at as usize + self.len as usize
    }

    /// Read the field from a header that starts at `base` in `frame`. Returns `None` if the
    /// frame ends before the field does.
    #[inline]
    pub fn read(&self, frame: &[u8], base: usize) -> Option<(Field, u64)> {
        let (value, num) = self.value(frame, base)?;
        Some((self.field(base, value), num))
    }

    /// Just the value (and its number, for the dissector's own use) of the field in a header
    /// that starts at `base`.
    #[inline]
    pub fn value(&self, frame: &[u8], base: usize) -> Option<(Value, u64)> {
        let start = base + self.at as usize;
        let bytes = frame.get(start..start + self.len as usize)?;
        let raw = be_uint(bytes);
        let num = if self.mask == 0 {
            raw
        } else {
            (raw & self.mask as u64) >> self.mask.trailing_zeros()
        };
        let value = match self.fmt {
            Fmt::Dec => Value::Uint(num),
            Fmt::Words => Value::Uint(num * 4),
            Fmt::Hex => Value::Hex {
                value: num,
                digits: self.len * 2,
            },
            Fmt::Bool => Value::Bool(num != 0),
            Fmt::Mac => Value::Mac(bytes.try_into().ok()?),
            Fmt::Ipv4 => Value::Ipv4(bytes.try_into().ok()?),
            Fmt::Ipv6 => Value::Ipv6(bytes.try_into().ok()?),
            Fmt::Bytes => Value::Bytes,
            Fmt::Text => Value::Text(String::from_utf8_lossy(bytes).into_owned()),
        };
        let num = if self.fmt == Fmt::Words { num * 4 } else { num };
        Some((value, num))
    }

    /// The field, with `value`, for a header that starts at `base`.
    #[inline]
    pub fn field(&self, base: usize, value: Value) -> Field {
        Field {
            name: self.name,
            label: self.label,
            value,
            meaning: Cow::Borrowed(""),
            at: (base + self.at as usize) as u32,
            len: self.len as u32,
            mask: self.mask,
            depth: self.depth,
            explain: self.explain,
        }
    }
}

/// Read up to 8 bytes as one big-endian unsigned number (network byte order).
#[inline]
pub fn be_uint(bytes: &[u8]) -> u64 {
    match *bytes {
        [a] => a as u64,
        [a, b] => u16::from_be_bytes([a, b]) as u64,
        [a, b, c, d] => u32::from_be_bytes([a, b, c, d]) as u64,
        _ => bytes
            .iter()
            .take(8)
            .fold(0u64, |acc, &b| (acc << 8) | b as u64),
    }
}

/// Append `text` with its first letter in upper case, as a description starts: "destination
/// unreachable" → "Destination unreachable". (Appended to the description being written, not
/// returned as a new `String`: descriptions are written once a packet.)
pub fn push_capitalized(out: &mut String, text: &str) {
    let mut c = text.chars();
    if let Some(f) = c.next() {
        out.extend(f.to_uppercase());
        out.push_str(c.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_masked_field() {
        // The first byte of an IPv4 header: version 4 (top nibble), IHL 5 words (low nibble).
        let frame = [0x45u8];
        let version = FieldDef::bits("ip.version", "Version", 0, 1, 0xf0, Fmt::Dec, "");
        let ihl = FieldDef::bits("ip.hdr_len", "Header length", 0, 1, 0x0f, Fmt::Words, "");
        assert_eq!(version.read(&frame, 0).unwrap().1, 4);
        let (field, bytes) = ihl.read(&frame, 0).unwrap();
        assert_eq!(bytes, 20);
        assert_eq!(field.tshark(&frame), "20");
    }

    #[test]
    fn read_past_the_end_is_none() {
        let def = FieldDef::new("udp.srcport", "Source port", 0, 2, Fmt::Dec, "");
        assert!(def.read(&[0x12], 0).is_none());
    }

    #[test]
    fn hex_has_two_digits_per_byte() {
        let def = FieldDef::new("eth.type", "Type", 0, 2, Fmt::Hex, "");
        let (field, _) = def.read(&[0x08, 0x00], 0).unwrap();
        assert_eq!(field.tshark(&[0x08, 0x00]), "0x0800");
    }
}
