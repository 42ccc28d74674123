//! The dissecting context: what every protocol dissector writes its findings into.
//!
//! A dissector is a function `fn(&mut Cx, at, end) -> Next`: it reads the header that starts
//! at byte `at` (its packet may not go past `end`), records a layer with its fields and any
//! problems, and says what comes next. It never panics on any bytes: every read goes through
//! [`FieldDef::read`] or `get`, which return `None` past the end of the frame.

use std::borrow::Cow;

use super::fields::FieldDef;
use super::model::{Dissection, Field, Layer, Problem, ProblemKind, Proto, Value};

/// The addresses of the IP header a transport header sits in: TCP and UDP checksums cover a
/// "pseudo-header" made of them, which is how a segment delivered to the wrong address is
/// caught.
#[derive(Clone, Copy, Debug)]
pub enum IpPair {
    V4 { src: [u8; 4], dst: [u8; 4] },
    V6 { src: [u8; 16], dst: [u8; 16] },
}

pub struct Cx<'d> {
    pub d: &'d mut Dissection,
    /// The innermost IP header seen so far.
    pub ip: Option<IpPair>,
    /// How many IP headers deep we are (2 inside the copy an ICMP error quotes).
    pub ip_depth: u8,
    /// True while dissecting the header an ICMP error quotes: its payload is cut short on
    /// purpose, so a missing payload is not a problem there. (Reset when the quotation turns
    /// out to hold the whole packet; [`Cx::in_error`] stays set.)
    pub quoted: bool,
    /// True for every header after an ICMP or ICMPv6 error message: they are the copy of the
    /// packet that caused the error, not a packet of their own (the typed views say so).
    pub in_error: bool,
    /// True while dissecting the payload of the first piece of a fragmented IP packet: the
    /// rest of that payload travels in other packets, so a payload that stops early (or a
    /// length field that promises more) is expected there, not a problem.
    pub fragment: bool,
    /// Lean mode: details of fields (single flag bits, TCP option details) are worked out and
    /// checked but not recorded, because only the one-line summary will be shown.
    /// Layers, header fields and problems are recorded exactly as in full mode.
    pub lean: bool,
    /// Where lean mode puts a part-field that a dissector still wants to adjust.
    scratch: Field,
    /// True when the last field "added" went to `scratch` (so `meaning` goes there too).
    in_scratch: bool,
}

impl<'d> Cx<'d> {
    pub fn new(d: &'d mut Dissection) -> Cx<'d> {
        Cx {
            d,
            ip: None,
            ip_depth: 0,
            quoted: false,
            in_error: false,
            fragment: false,
            lean: false,
            scratch: Field::BLANK,
            in_scratch: false,
        }
    }

    /// The frame's captured bytes.
    pub fn data(&self) -> &[u8] {
        &self.d.data
    }

    /// Bytes `at..at+n` if all of them were captured.
    pub fn bytes(&self, at: usize, n: usize) -> Option<&[u8]> {
        self.d.data.get(at..at.checked_add(n)?)
    }

    pub fn u8_at(&self, at: usize) -> Option<u8> {
        self.d.data.get(at).copied()
    }

    pub fn u16_at(&self, at: usize) -> Option<u16> {
        self.bytes(at, 2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u32_at(&self, at: usize) -> Option<u32> {
        self.bytes(at, 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Start a new layer whose header begins at `at`. Its length grows with its fields until
    /// [`Cx::set_len`] says otherwise.
    pub fn begin(&mut self, proto: Proto, at: usize) {
        let n = self.d.fields.len() as u32;
        self.d.layers.push(Layer {
            proto,
            at: at as u32,
            len: 0,
            fields: n..n,
        });
    }

    /// Set the length of the current layer's header. A layer never claims bytes that were
    /// not captured: a header cut short covers what is there.
    pub fn set_len(&mut self, len: usize) {
        let captured = self.d.data.len();
        if let Some(l) = self.d.layers.last_mut() {
            let room = captured.saturating_sub(l.at as usize);
            l.len = len.min(room) as u32;
        }
    }

    /// Where the current layer starts.
    pub fn layer_at(&self) -> usize {
        self.d.layers.last().map(|l| l.at as usize).unwrap_or(0)
    }

    fn current_proto(&self) -> Proto {
        self.d
            .layers
            .last()
            .map(|l| l.proto)
            .unwrap_or(Proto::Frame)
    }

    /// Add a field to the current layer.
    #[inline]
    pub fn push(&mut self, field: Field) {
        self.in_scratch = false;
        let end = field.at + field.len;
        self.d.fields.push(field);
        if let Some(l) = self.d.layers.last_mut() {
            l.fields.end = self.d.fields.len() as u32;
            // A layer covers at least the bytes of its own fields.
            if end > l.at + l.len {
                l.len = end - l.at;
            }
        }
    }

    /// Read a field from a header that starts at `base`; `None` if the frame is too short.
    #[inline]
    pub fn read(&mut self, def: &FieldDef, base: usize) -> Option<u64> {
        let (value, num) = def.value(&self.d.data, base)?;
        if self.lean && def.detail {
            self.in_scratch = true;
            return Some(num);
        }
        // This is the hottest line of the engine. Assembling a whole `Field` and then pushing
        // it makes the compiler build it on the stack with small stores and copy it with wide
        // loads, which stalls the processor; pushing a blank one and filling it in place does
        // not.
        self.in_scratch = false;
        self.d.fields.push(Field::BLANK);
        if let Some(f) = self.d.fields.last_mut() {
            f.name = def.name;
            f.label = def.label;
            f.explain = def.explain;
            f.value = value;
            f.at = (base + def.at as usize) as u32;
            f.len = def.len as u32;
            f.mask = def.mask;
            f.depth = def.depth;
        }
        let end = (base + def.end()) as u32;
        if let Some(l) = self.d.layers.last_mut() {
            l.fields.end = self.d.fields.len() as u32;
            if end > l.at + l.len {
                l.len = end - l.at;
            }
        }
        Some(num)
    }

    /// Read every field of a table, in order, stopping at the first one the frame cannot hold.
    /// Returns how many were read.
    pub fn read_all(&mut self, defs: &[FieldDef], base: usize) -> usize {
        let mut n = 0;
        for def in defs {
            if self.read(def, base).is_none() {
                break;
            }
            n += 1;
        }
        n
    }

    /// Like [`Cx::read_all`], but a field must also end by `end`, the end of the packet as
    /// the header around it states it (bytes after that are padding, not this header).
    pub fn read_all_within(&mut self, defs: &[FieldDef], base: usize, end: usize) -> usize {
        let mut n = 0;
        for def in defs {
            if base + def.end() > end || self.read(def, base).is_none() {
                break;
            }
            n += 1;
        }
        n
    }

    /// Check that a header of `need` bytes starting at `at` fits: inside the packet (which
    /// ends at `end`) and inside the captured bytes. If not, record why (the packet is too
    /// short: malformed; the capture is too short: truncated) and return false. Inside an
    /// ICMP error's quotation, which is cut short on purpose, nothing is recorded. Cut by the
    /// end of the first piece of a fragmented packet, a header continues in the next piece:
    /// legal in IPv4 (noted as not dissected), forbidden in IPv6 (malformed).
    pub fn fits(&mut self, what: &str, at: usize, need: usize, end: usize) -> bool {
        let want = at.saturating_add(need);
        if want <= end && want <= self.d.data.len() {
            return true;
        }
        if self.quoted {
            return false;
        }
        if want > end && self.fragment {
            let room = end.saturating_sub(at);
            if matches!(self.ip, Some(IpPair::V4 { .. })) {
                // IPv4 may split a packet anywhere (in 8-byte units), even inside a header.
                self.problem(
                    ProblemKind::Unsupported,
                    at,
                    format!("{what} needs {need} bytes, but this IP fragment ends after {room}: the rest is in the next fragment, and wirelab dissects each frame on its own"),
                );
            } else {
                self.problem(
                    ProblemKind::Malformed,
                    at,
                    format!("{what} needs {need} bytes, but the first fragment ends after {room}; IPv6 requires the first fragment to hold every header up to the transport header (RFC 8200 § 4.5)"),
                );
            }
            return false;
        }
        if want > end {
            let room = end.saturating_sub(at);
            self.problem(
                ProblemKind::Malformed,
                at,
                format!("{what} needs {need} bytes, but the packet around it leaves only {room}"),
            );
        } else {
            self.truncated(what, at, need);
        }
        false
    }

    /// The index of the first field named `name` in the current layer.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        let start = self.d.layers.last()?.fields.start as usize;
        self.d.fields[start..]
            .iter()
            .position(|f| f.name == name)
            .map(|i| i + start)
    }

    /// Give the field named `name` in the current layer a meaning.
    pub fn set_meaning(&mut self, name: &str, meaning: impl Into<Cow<'static, str>>) {
        if let Some(i) = self.field_index(name) {
            self.d.fields[i].meaning = meaning.into();
        }
    }

    /// Add a field whose value was worked out by the dissector rather than read from a table.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        name: &'static str,
        label: &'static str,
        at: usize,
        len: usize,
        value: Value,
        explain: &'static str,
    ) -> &mut Field {
        // Filled in place, for the same reason as in `read`.
        self.in_scratch = false;
        self.d.fields.push(Field::BLANK);
        let end = (at + len) as u32;
        if let Some(l) = self.d.layers.last_mut() {
            l.fields.end = self.d.fields.len() as u32;
            if end > l.at + l.len {
                l.len = end - l.at;
            }
        }
        let f = self.d.fields.last_mut().expect("just pushed");
        f.name = name;
        f.label = label;
        f.explain = explain;
        f.value = value;
        f.at = at as u32;
        f.len = len as u32;
        f
    }

    /// Add a part of a field (`depth` above 0: one option's length, a flag bit). In lean mode
    /// it is not recorded, and the returned field is a scratch copy nobody will see.
    #[allow(clippy::too_many_arguments)]
    pub fn add_at(
        &mut self,
        depth: u8,
        name: &'static str,
        label: &'static str,
        at: usize,
        len: usize,
        value: Value,
        explain: &'static str,
    ) -> &mut Field {
        if self.lean && depth > 0 {
            self.scratch = Field::BLANK;
            self.in_scratch = true;
            return &mut self.scratch;
        }
        let f = self.add(name, label, at, len, value, explain);
        f.depth = depth;
        f
    }

    /// Give the field just added a meaning ("IPv4" for ethertype 0x0800).
    pub fn meaning(&mut self, meaning: impl Into<Cow<'static, str>>) {
        if self.in_scratch {
            self.scratch.meaning = meaning.into();
        } else if let Some(f) = self.d.fields.last_mut() {
            f.meaning = meaning.into();
        }
    }

    /// Record a problem at the current layer.
    pub fn problem(&mut self, kind: ProblemKind, at: usize, message: impl Into<String>) {
        let proto = self.current_proto();
        self.d.problems.push(Problem {
            kind,
            proto,
            at: at as u32,
            message: message.into(),
        });
    }

    /// Record that a header needed `need` bytes from `at` but the frame has fewer.
    pub fn truncated(&mut self, what: &str, at: usize, need: usize) {
        let have = self.d.data.len().saturating_sub(at);
        self.problem(
            ProblemKind::Truncated,
            at,
            format!("{what} needs {need} bytes but only {have} were captured"),
        );
    }
}

/// What comes after a header: which protocol the payload is, where it starts and where the
/// packet that carries it ends (an IP header's length can end the packet before the frame
/// does, when Ethernet padding follows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Nothing more to dissect.
    Done,
    /// A payload named by an EtherType (Ethernet, VLAN tags, Linux cooked capture).
    EtherType { ty: u16, at: usize, end: usize },
    /// An IP packet whose version is read from its first nibble (raw-IP link types).
    Ip { at: usize, end: usize },
    /// A payload named by an IP protocol number (IPv4 protocol, IPv6 next header).
    IpProto { proto: u8, at: usize, end: usize },
    /// The payload of a transport header, to be named by its ports.
    Ports {
        transport: Proto,
        src: u16,
        dst: u16,
        at: usize,
        end: usize,
    },
    /// Bytes no dissector claims.
    Data { at: usize, end: usize },
}
