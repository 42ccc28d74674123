//! TCP, the Transmission Control Protocol (RFC 9293).
//!
//! # The idea
//!
//! TCP turns IP's unreliable packets into a reliable, ordered *stream of bytes* between two
//! programs. Each end numbers every byte it sends: the *sequence number* of a segment is the
//! number of its first byte. The other end answers with an *acknowledgment number*: the next
//! byte it expects, which says "I have everything before this". Whatever is not acknowledged in
//! time is sent again.
//!
//! A connection starts with the *three-way handshake*: SYN (here is my first sequence number),
//! SYN-ACK (here is mine, and I got yours), ACK. Each end closes its direction with a FIN.
//! The *window* says how many more bytes the receiver has room for, which keeps a fast sender
//! from drowning a slow receiver. Ports (one per program) let many connections share one host.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Sequence Number                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Acknowledgment Number                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Data |     |A|C|E|U|A|P|R|S|F|                               |
//! | Offset| Rsrv|E|W|C|R|C|S|S|Y|I|            Window             |
//! |       |     | |R|E|G|K|H|T|N|N|                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Checksum            |         Urgent Pointer        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Options (if Data Offset > 5)               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The sequence numbers here are the raw ones on the wire (`tcp.seq_raw`). Each side starts
//! from a random *initial sequence number*, so the stream analysis (`--stats`, the ladder)
//! shows them relative to it as well, as Wireshark does.
//!
//! # Two readings of one header
//!
//! The dissector writes each field into the layer tree with its name, bytes and explanation
//! (the field table [`FIELDS`] below, drawn after the diagram), which is what the layer view,
//! the hex view, the JSON and the filters show. It also fills in one [`TcpSegment`]: the same
//! header as a Rust value, the diagram above with types (as smoltcp's `TcpRepr` and
//! etherparse's `TcpHeaderSlice` do), which is what the stream analysis, the summary, the
//! ladders, the graph and the narration read. The stream analysis then adds what only earlier
//! segments can tell ([`TcpAnalysis`]: relative numbers, the scaled window).

pub mod analysis;
pub mod flags;
pub mod seq;

pub use analysis::{TcpAnalysis, WindowScale};
pub use flags::Flags;
pub use seq::Seq;

use super::checksum::transport_checksum;
use super::cx::{Cx, Next};
use super::fields::{FieldDef, Fmt};
use super::model::{Dissection, Layer, ProblemKind, Proto, Value};
use std::fmt::Write as _;

pub const MIN_HEADER_LEN: usize = 20;

/// One TCP header, read once during dissection: the diagram above as a Rust value, with the
/// options the analysis and the views use. It is kept in the
/// [`Dissection`]'s `tcp` list (one per TCP header in the frame:
/// an ICMP error can quote a second one) whenever the fixed 20 bytes were captured.
///
/// ```
/// # use wirelab::dissect::{dissect, model::{Frame, LinkType, Timestamp}};
/// # let mut b = vec![0u8; 14]; b[12] = 0x08;
/// # b.extend_from_slice(&[0x45,0,0,40, 0,0,0,0, 64,6,0,0, 10,0,0,1, 10,0,0,2]);
/// # b.extend_from_slice(&[0xc3,0x50, 0,80, 0,0,0,9, 0,0,0,0, 0x50,0x02, 0xfa,0xf0, 0,0, 0,0]);
/// # let frame = Frame { number: 1, ts: Some(Timestamp::default()), link: LinkType::ETHERNET,
/// #                     wire_len: b.len() as u32, data: &b };
/// let d = dissect(&frame); // a SYN from port 50000 to port 80
/// let seg = d.tcp_segment().unwrap();
/// assert_eq!((seg.src_port, seg.dst_port), (50000, 80));
/// assert!(seg.flags.is_syn_only());
/// assert_eq!(seg.window, 64240);
/// assert_eq!(seg.trusted_len(), Some(0));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpSegment {
    /// Which layer of the dissection this header is (an index into its `layers`).
    pub layer: u16,
    /// Source Port, Destination Port.
    pub src_port: u16,
    pub dst_port: u16,
    /// Sequence Number, as written (`tcp.seq_raw`).
    pub seq: Seq,
    /// Acknowledgment Number, as written (`tcp.ack_raw`); it means something only when the
    /// ACK flag is set ([`TcpSegment::ack`]).
    pub ack_raw: Seq,
    /// The control bits.
    pub flags: Flags,
    /// Window, as written (`tcp.window_size_value`): before any window scaling.
    pub window: u16,
    /// Data Offset in bytes (the field counts 32-bit words): 20 without options.
    pub header_len: u8,
    /// How many data bytes the segment carries (`tcp.len`): the IP length minus both headers.
    /// `None` in the first piece of a fragmented packet (the IP length covers only that
    /// piece) or when the data offset is impossible.
    pub len: Option<u32>,
    /// Where the data starts in the frame.
    pub payload_at: u32,
    /// Why the data length cannot be trusted to place the segment in its stream, if so.
    pub doubt: Option<LenDoubt>,
    /// The copy of a segment an ICMP error quotes, not a segment of its own.
    pub quoted: bool,
    pub options: TcpOptions,
    /// What the stream analysis added (relative numbers, the scaled window), once it ran.
    pub analysis: Option<TcpAnalysis>,
}

/// Why a segment's data length cannot be used to place it in its stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LenDoubt {
    /// The data offset is below 5 words: the header itself is bogus.
    BadHeaderLength,
    /// The copy an ICMP error quotes: usually cut short on purpose, and not a segment of its
    /// own.
    Quoted,
    /// In the first piece of a fragmented IP packet: the rest is in other packets.
    Fragment,
}

/// The options of a TCP header that the analysis and the views use (RFC 9293 § 3.2,
/// RFC 7323, RFC 2018). Where an option occurs twice, the last one counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpOptions {
    /// Maximum segment size (kind 2).
    pub mss: Option<u16>,
    /// Window scale shift count (kind 3), as written (the RFC caps its use at 14).
    pub window_scale: Option<u8>,
    /// SACK permitted (kind 4).
    pub sack_permitted: bool,
    /// SACK blocks (kind 5): left and right edges as written; the first `sack_count`.
    pub sack: [(Seq, Seq); 4],
    pub sack_count: u8,
    /// Timestamps (kind 8): the sender's clock and the echo of the other side's.
    pub timestamps: Option<(u32, u32)>,
}

impl TcpOptions {
    /// The SACK blocks carried.
    pub fn sack_blocks(&self) -> &[(Seq, Seq)] {
        &self.sack[..(self.sack_count as usize).min(self.sack.len())]
    }
}

impl TcpSegment {
    /// The acknowledgment number, if the ACK flag says it is valid.
    pub fn ack(&self) -> Option<Seq> {
        self.flags.ack().then_some(self.ack_raw)
    }

    /// The header length is possible (at least 20 bytes).
    pub fn header_ok(&self) -> bool {
        self.header_len as usize >= MIN_HEADER_LEN
    }

    /// The data length, where it can be trusted to place the segment in its stream.
    pub fn trusted_len(&self) -> Option<u32> {
        if self.doubt.is_some() { None } else { self.len }
    }

    /// The data bytes' range in the frame (what was captured of them).
    pub fn payload_range(&self, captured: usize) -> std::ops::Range<usize> {
        let start = (self.payload_at as usize).min(captured);
        let end = (start + self.len.unwrap_or(0) as usize).min(captured);
        start..end
    }

    /// Sequence and acknowledgment numbers as the views show them: relative where the
    /// analysis made them so (unless `absolute`), else as written.
    pub fn shown_seq_ack(&self, absolute: bool) -> (u32, Option<u32>) {
        match self.analysis {
            Some(a) if !absolute => (a.seq, self.flags.ack().then_some(a.ack)),
            _ => (self.seq.0, self.ack().map(|s| s.0)),
        }
    }

    /// The window as the views show it: scaled where the analysis knows the scale, else as
    /// written.
    pub fn shown_window(&self) -> u32 {
        self.analysis.map_or(self.window as u32, |a| a.window)
    }
}

/// The fixed header, in the order of the RFC 9293 § 3.1 diagram.
pub const FIELDS: &[FieldDef] = &[
    FieldDef::new(
        "tcp.srcport",
        "Source port",
        0,
        2,
        Fmt::Dec,
        "The port of the program that sent the segment; a client's is usually an ephemeral port its operating system picked (Linux: 32768–60999).",
    ),
    FieldDef::new(
        "tcp.dstport",
        "Destination port",
        2,
        2,
        Fmt::Dec,
        "The port of the program the segment is for; servers listen on well-known ones (80 for HTTP, 443 for HTTPS).",
    ),
    FieldDef::new(
        "tcp.seq_raw",
        "Sequence number",
        4,
        4,
        Fmt::Dec,
        "The number of the first data byte in this segment; a SYN or FIN also counts as one byte.",
    ),
    FieldDef::new(
        "tcp.ack_raw",
        "Acknowledgment number",
        8,
        4,
        Fmt::Dec,
        "If ACK is set: the next byte the sender expects to receive, meaning every byte before it has arrived.",
    ),
    FieldDef::bits(
        "tcp.hdr_len",
        "Header length",
        12,
        1,
        0xf0,
        Fmt::Words,
        "Where the data starts; the field counts 32-bit words, shown here in bytes. More than 20 means options follow.",
    ),
    FieldDef::bits(
        "tcp.flags",
        "Flags",
        12,
        2,
        0x0fff,
        Fmt::Hex,
        "Twelve bits that say what the segment does: open (SYN), acknowledge (ACK), close (FIN), abort (RST)…",
    ),
    FieldDef::bits(
        "tcp.flags.res",
        "Reserved",
        12,
        2,
        0x0e00,
        Fmt::Dec,
        "Reserved for future use; must be zero.",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "tcp.flags.ae",
        "Accurate ECN",
        12,
        2,
        0x0100,
        Fmt::Bool,
        "Used by Accurate ECN to count congestion marks (formerly the ECN nonce bit).",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "tcp.flags.cwr",
        "Congestion window reduced",
        12,
        2,
        0x0080,
        Fmt::Bool,
        "The sender has slowed down after hearing of congestion (ECN).",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "tcp.flags.ece",
        "ECN-Echo",
        12,
        2,
        0x0040,
        Fmt::Bool,
        "A router on the way marked a packet as congested; please slow down (ECN).",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "tcp.flags.urg",
        "Urgent",
        12,
        2,
        0x0020,
        Fmt::Bool,
        "The urgent pointer is valid; almost never used today.",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "tcp.flags.ack",
        "Acknowledgment",
        12,
        2,
        0x0010,
        Fmt::Bool,
        "The acknowledgment number is valid; set on every segment after the first SYN.",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "tcp.flags.push",
        "Push",
        12,
        2,
        0x0008,
        Fmt::Bool,
        "Hand the data to the receiving program now rather than waiting to fill a buffer.",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "tcp.flags.reset",
        "Reset",
        12,
        2,
        0x0004,
        Fmt::Bool,
        "Abort the connection at once (or: nobody is listening on this port).",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "tcp.flags.syn",
        "Synchronize",
        12,
        2,
        0x0002,
        Fmt::Bool,
        "Open a connection: this segment carries the sender's initial sequence number.",
    )
    .sub()
    .detail(),
    FieldDef::bits(
        "tcp.flags.fin",
        "Finish",
        12,
        2,
        0x0001,
        Fmt::Bool,
        "The sender has no more data to send in this direction.",
    )
    .sub()
    .detail(),
    FieldDef::new(
        "tcp.window_size_value",
        "Window",
        14,
        2,
        Fmt::Dec,
        "How many more bytes the sender of this segment can receive, as written (a window scale option may multiply it).",
    ),
    FieldDef::new(
        "tcp.checksum",
        "Checksum",
        16,
        2,
        Fmt::Hex,
        "A checksum over the header, the data and the IP addresses (the pseudo-header).",
    ),
    FieldDef::new(
        "tcp.urgent_pointer",
        "Urgent pointer",
        18,
        2,
        Fmt::Dec,
        "With URG set, where the urgent data ends; otherwise unused.",
    ),
];

pub fn dissect(cx: &mut Cx, at: usize, end: usize) -> Next {
    cx.begin(Proto::Tcp, at);
    // For the one-line summary alone (lean), a whole fixed header is read only into the typed
    // view below: the summary writes TCP from it, so the fields would go unseen. A header cut
    // short has no typed view, so its fields are read in every mode.
    let whole_fixed = at + MIN_HEADER_LEN <= end && cx.bytes(at, MIN_HEADER_LEN).is_some();
    if cx.lean && whole_fixed {
        cx.set_len(MIN_HEADER_LEN);
    } else if cx.read_all_within(FIELDS, at, end) < FIELDS.len() {
        cx.fits("A TCP header", at, MIN_HEADER_LEN, end);
        return Next::Done;
    }
    let src = cx.u16_at(at).unwrap_or(0);
    let dst = cx.u16_at(at + 2).unwrap_or(0);
    let hdr_len = (cx.u8_at(at + 12).unwrap_or(0) >> 4) as usize * 4;
    let flags = Flags::from_bits(cx.u16_at(at + 12).unwrap_or(0));
    // The flags in words beside the field (the one-line summary writes its own).
    if !cx.lean
        && let Some(i) = field_index(cx, "tcp.flags")
    {
        cx.d.fields[i].meaning = flags.words().into();
    }
    // The typed view; the data length and the options complete it below.
    let view = cx.d.tcp.len();
    cx.d.tcp.push(TcpSegment {
        layer: (cx.d.layers.len() - 1) as u16,
        src_port: src,
        dst_port: dst,
        seq: Seq(cx.u32_at(at + 4).unwrap_or(0)),
        ack_raw: Seq(cx.u32_at(at + 8).unwrap_or(0)),
        flags,
        window: cx.u16_at(at + 14).unwrap_or(0),
        header_len: hdr_len as u8,
        len: None,
        payload_at: (at + hdr_len) as u32,
        doubt: if hdr_len < MIN_HEADER_LEN {
            Some(LenDoubt::BadHeaderLength)
        } else if cx.in_error {
            Some(LenDoubt::Quoted)
        } else if cx.fragment {
            Some(LenDoubt::Fragment)
        } else {
            None
        },
        quoted: cx.in_error,
        options: TcpOptions::default(),
        analysis: None,
    });
    if hdr_len < MIN_HEADER_LEN {
        cx.problem(
            ProblemKind::Malformed,
            at + 12,
            format!(
                "the data offset must be at least 5 words (20 bytes), but it is {hdr_len} bytes"
            ),
        );
        return Next::Done;
    }
    let payload = at + hdr_len;
    // The options end where the data offset says, unless the packet or the capture ends
    // first; `fits` below says which, once.
    let limit = payload.min(end).min(cx.data().len());
    if hdr_len > MIN_HEADER_LEN {
        options(cx, at + MIN_HEADER_LEN, payload, limit, view);
    }
    let whole = cx.fits("The TCP header with its options", at, hdr_len, end);
    let len = end.saturating_sub(payload);
    // In the first piece of a fragmented IP packet the IP length covers only that piece,
    // so the segment's data length cannot be worked out from it.
    if !cx.fragment {
        if let Some(v) = cx.d.tcp.get_mut(view) {
            v.len = Some(len as u32);
        }
    }
    // Nor in the start of a segment an ICMP error quotes, cut short: tshark gives none.
    if !cx.fragment && !cx.quoted && !cx.lean {
        cx.add(
            "tcp.len",
            "Segment data length",
            payload.min(cx.data().len()),
            0,
            Value::Uint(len as u64),
            "How many bytes of data this segment carries (worked out from the IP length minus both headers).",
        );
    }
    cx.set_len(hdr_len.min(cx.data().len().saturating_sub(at)));
    verify_checksum(cx, at, end);
    if !whole || len == 0 {
        return Next::Done;
    }
    Next::Ports {
        transport: Proto::Tcp,
        src,
        dst,
        at: payload,
        end,
    }
}

fn field_index(cx: &Cx, name: &str) -> Option<usize> {
    let start = cx.d.layers.last()?.fields.start as usize;
    cx.d.fields[start..]
        .iter()
        .position(|f| f.name == name)
        .map(|i| i + start)
}

fn verify_checksum(cx: &mut Cx, at: usize, end: usize) {
    if cx.fragment || cx.quoted {
        // The segment continues in other IP fragments, or an ICMP error quoted only its start.
        return;
    }
    let Some(ip) = cx.ip else { return };
    let sum = match cx.bytes(at, end.saturating_sub(at)) {
        Some(segment) if segment.len() >= MIN_HEADER_LEN => transport_checksum(&ip, 6, segment),
        _ => return, // not all captured: cannot check
    };
    let i = field_index(cx, "tcp.checksum");
    if sum == 0 {
        if let Some(i) = i {
            cx.d.fields[i].meaning = "correct".into();
        }
    } else {
        let stored = cx.u16_at(at + 16).unwrap_or(0);
        if super::checksum::is_offload_placeholder(&ip, 6, end - at, stored) {
            if let Some(i) = i {
                cx.d.fields[i].meaning = super::checksum::OFFLOAD_MEANING.into();
            }
            return;
        }
        if let Some(i) = i {
            cx.d.fields[i].meaning = "wrong".into();
        }
        // Work out what it should have been: the sum with the checksum field zeroed.
        let mut copy = cx.bytes(at, end - at).unwrap_or_default().to_vec();
        copy[16] = 0;
        copy[17] = 0;
        let want = transport_checksum(&ip, 6, &copy);
        cx.problem(
            ProblemKind::BadChecksum,
            at + 16,
            format!(
                "TCP checksum is 0x{stored:04x}, but the segment and pseudo-header add up to 0x{want:04x}"
            ),
        );
    }
}

/// TCP options (RFC 9293 § 3.2): a kind byte, then (except for kinds 0 and 1) a length byte
/// counting the whole option, then the option's data. The options area runs from `start` to
/// `stop`; only the bytes before `limit` are there to read (the caller reports a cut).
fn options(cx: &mut Cx, start: usize, stop: usize, limit: usize, view: usize) {
    if !cx.lean {
        cx.add(
            "tcp.options",
            "Options",
            start,
            limit.saturating_sub(start),
            Value::Bytes,
            "Extras negotiated mostly in the SYN: maximum segment size, window scaling, SACK, timestamps.",
        );
    }
    let mut i = start;
    let mut seen_end = false;
    while i < limit {
        let Some(kind) = cx.u8_at(i) else { return };
        let name = option_name(kind);
        let f = cx.add_at(
            1,
            "tcp.option_kind",
            "Kind",
            i,
            1,
            Value::Uint(kind as u64),
            "Which option this is.",
        );
        f.meaning = name.into();
        if kind == 0 {
            // End of option list: the bytes after it are padding, normally zeros, which read
            // as more end-of-list bytes (Wireshark lists each of them too).
            if seen_end {
                f.meaning = "End of option list (padding)".into();
            }
            seen_end = true;
            i += 1;
            continue;
        }
        if kind == 1 {
            i += 1;
            continue;
        }
        if i + 1 >= limit {
            return;
        }
        let len = cx.u8_at(i + 1).unwrap_or(0) as usize;
        cx.add_at(
            2,
            "tcp.option_len",
            "Length",
            i + 1,
            1,
            Value::Uint(len as u64),
            "The option's length in bytes, counting the kind and length bytes.",
        );
        if len < 2 || i + len > stop {
            cx.problem(
                ProblemKind::Malformed,
                i + 1,
                format!(
                    "TCP option {kind} says it is {len} bytes long, which does not fit in the {} bytes of options left",
                    stop - i
                ),
            );
            return;
        }
        if i + len > limit {
            return;
        }
        option_body(cx, kind, i, len);
        typed_option(cx, kind, i, len, view);
        i += len;
    }
}

fn option_name(kind: u8) -> &'static str {
    match kind {
        0 => "End of option list",
        1 => "No-operation (padding)",
        2 => "Maximum segment size",
        3 => "Window scale",
        4 => "SACK permitted",
        5 => "SACK",
        8 => "Timestamps",
        19 => "MD5 signature",
        27 => "Quick-Start response",
        28 => "User timeout",
        29 => "TCP authentication",
        30 => "Multipath TCP",
        34 => "TCP Fast Open cookie",
        253 | 254 => "Experimental",
        _ => "",
    }
}

/// Record an option the typed view keeps (with the lengths [`option_body`] accepts).
fn typed_option(cx: &mut Cx, kind: u8, i: usize, len: usize, view: usize) {
    let (u16_at, u32_at) = (|cx: &Cx, j| cx.u16_at(j), |cx: &Cx, j| cx.u32_at(j));
    let mss = u16_at(cx, i + 2);
    let shift = cx.u8_at(i + 2);
    let ts = (u32_at(cx, i + 2), u32_at(cx, i + 6));
    let mut blocks = [(Seq(0), Seq(0)); 4];
    let mut n = 0;
    if kind == 5 {
        let mut j = i + 2;
        while j + 8 <= i + len && n < blocks.len() {
            blocks[n] = (
                Seq(u32_at(cx, j).unwrap_or(0)),
                Seq(u32_at(cx, j + 4).unwrap_or(0)),
            );
            n += 1;
            j += 8;
        }
    }
    let Some(o) = cx.d.tcp.get_mut(view).map(|v| &mut v.options) else {
        return;
    };
    match (kind, len) {
        (2, 4) => o.mss = mss,
        (3, 3) => o.window_scale = shift,
        (4, 2) => o.sack_permitted = true,
        (5, _) => {
            o.sack = blocks;
            o.sack_count = n as u8;
        }
        (8, 10) => {
            if let (Some(val), Some(ecr)) = ts {
                o.timestamps = Some((val, ecr));
            }
        }
        _ => {}
    }
}

fn option_body(cx: &mut Cx, kind: u8, i: usize, len: usize) {
    let sub = |cx: &mut Cx, name, label, at, n, value, explain| {
        cx.add_at(2, name, label, at, n, value, explain);
    };
    match (kind, len) {
        (2, 4) => sub(
            cx,
            "tcp.options.mss_val",
            "MSS",
            i + 2,
            2,
            Value::Uint(cx.u16_at(i + 2).unwrap_or(0) as u64),
            "The most data bytes (headers not counted) this end takes in one segment: its link's MTU minus the IP and TCP headers, so a segment fits one packet (RFC 9293 §3.7.1).",
        ),
        (3, 3) => {
            let shift = cx.u8_at(i + 2).unwrap_or(0);
            sub(
                cx,
                "tcp.options.wscale.shift",
                "Shift count",
                i + 2,
                1,
                Value::Uint(shift as u64),
                "Window values from this end are to be multiplied by 2 to this power, so windows can exceed 65,535 bytes.",
            );
            let mult = if shift <= 14 { 1u64 << shift } else { 1 << 14 };
            sub(
                cx,
                "tcp.options.wscale.multiplier",
                "Multiplier",
                i + 2,
                1,
                Value::Uint(mult),
                "2 to the power of the shift count (the RFC caps the shift at 14).",
            );
        }
        (4, 2) => sub(
            cx,
            "tcp.options.sack_perm",
            "SACK permitted",
            i,
            2,
            Value::None,
            "This end understands selective acknowledgments.",
        ),
        (5, _) => {
            let mut j = i + 2;
            while j + 8 <= i + len {
                let le = cx.u32_at(j).unwrap_or(0);
                let re = cx.u32_at(j + 4).unwrap_or(0);
                sub(
                    cx,
                    "tcp.options.sack_le",
                    "Left edge",
                    j,
                    4,
                    Value::Uint(le as u64),
                    "First sequence number of a block of data that arrived beyond a gap.",
                );
                sub(
                    cx,
                    "tcp.options.sack_re",
                    "Right edge",
                    j + 4,
                    4,
                    Value::Uint(re as u64),
                    "The sequence number just after that block.",
                );
                j += 8;
            }
        }
        (8, 10) => {
            sub(
                cx,
                "tcp.options.timestamp.tsval",
                "Timestamp value",
                i + 2,
                4,
                Value::Uint(cx.u32_at(i + 2).unwrap_or(0) as u64),
                "The sender's clock when it sent this segment; used to measure the round-trip time.",
            );
            sub(
                cx,
                "tcp.options.timestamp.tsecr",
                "Timestamp echo reply",
                i + 6,
                4,
                Value::Uint(cx.u32_at(i + 6).unwrap_or(0) as u64),
                "The most recent timestamp value received from the other end, sent back.",
            );
        }
        _ => {}
    }
}

/// The layer's one-line description: `TCP 52000 → 80 [SYN, ACK] seq=0 ack=1 win=65160 len=0`,
/// with the numbers every view shows (relative, the window scaled, `×?` where the scale is
/// unknown) once the stream analysis has run. A header cut short before its fixed 20 bytes
/// has no typed view: it is described from the fields that were read.
pub fn describe(d: &Dissection, layer: &Layer) -> String {
    let view = d.tcp.iter().find(|t| {
        d.layers
            .get(t.layer as usize)
            .is_some_and(|l| l.at == layer.at && l.proto == Proto::Tcp)
    });
    if let Some(t) = view {
        let mut s = format!("TCP {} → {} ", t.src_port, t.dst_port);
        write_info(t, false, &mut s);
        return s;
    }
    let num = |n| d.layer_field(layer, n).and_then(|f| f.value.as_u64());
    let mut s = format!(
        "TCP {} → {}",
        num("tcp.srcport").map_or("?".into(), |v| v.to_string()),
        num("tcp.dstport").map_or("?".into(), |v| v.to_string()),
    );
    if let Some(flags) = num("tcp.flags") {
        let _ = write!(s, " [{}]", Flags::from_bits(flags as u16));
    }
    if let Some(seq) = num("tcp.seq_raw") {
        let _ = write!(s, " seq={seq}");
    }
    if num("tcp.flags").is_some_and(|f| Flags::from_bits(f as u16).ack())
        && let Some(ack) = num("tcp.ack_raw")
    {
        let _ = write!(s, " ack={ack}");
    }
    if let Some(win) = num("tcp.window_size_value") {
        let _ = write!(s, " win={win}");
    }
    s
}

/// `[SYN, ACK] seq=0 ack=1 win=65160 len=0`: what a segment says, with the numbers the views
/// show (see [`TcpSegment::shown_seq_ack`]; `absolute` keeps them as written).
pub fn write_info(t: &TcpSegment, absolute: bool, s: &mut String) {
    use std::fmt::Write;
    let (seq, ack) = t.shown_seq_ack(absolute);
    let _ = write!(s, "[{}] seq={seq}", t.flags);
    if let Some(ack) = ack {
        let _ = write!(s, " ack={ack}");
    }
    let _ = write!(s, " win={}", t.shown_window());
    if t.analysis.is_some_and(|a| a.scale == WindowScale::Unknown) {
        s.push_str("×?");
    }
    if let Some(len) = t.len {
        let _ = write!(s, " len={len}");
    }
}
