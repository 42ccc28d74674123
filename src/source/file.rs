//! Capture files: reading and writing pcap and pcapng.
//!
//! # The idea
//!
//! A capture file is a header describing the capture, then one record per frame: when it was
//! seen, how long it was on the wire, how many bytes were kept, and those bytes.
//!
//! * **pcap** (1998, libpcap) has one 24-byte file header (magic number, version, snap length,
//!   link type), then a 16-byte record header before each frame. The magic number also tells
//!   the byte order and whether timestamps are in micro- or nanoseconds.
//! * **pcapng** ("next generation") is a list of *blocks*, each with a type and a length: a
//!   Section Header, one Interface Description per capturing interface (each with its own link
//!   type and time unit), then Enhanced Packet Blocks that name their interface, and others
//!   (statistics, name resolution) that a reader may skip.
//!
//! The pcap-file crate parses the blocks and records; this module streams them from disk in
//! a fixed-size buffer (so a capture of any size uses the same memory), keeps the byte offset
//! of every record, and is lenient where tshark is (a record longer than the snap length, an
//! out-of-range microsecond value), while stopping with the exact byte offset where a file is
//! damaged. Every frame before the damage has already been handed out.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapParser, PcapWriter};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::{Block, PcapNgParser, PcapNgWriter};
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};

use crate::dissect::model::{Frame, LinkType, Timestamp};

/// A capture file that could not be read, with where it went wrong.
#[derive(Debug)]
pub struct CaptureError {
    pub path: PathBuf,
    /// Byte offset in the file where the damage starts (or where reading failed).
    pub offset: u64,
    pub message: String,
    /// How many frames were read before the damage.
    pub frames_read: u64,
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: byte offset {}: {}",
            self.path.display(),
            self.offset,
            self.message
        )?;
        if self.frames_read > 0 {
            write!(
                f,
                " (the {} frame{} before it {} shown)",
                self.frames_read,
                if self.frames_read == 1 { "" } else { "s" },
                if self.frames_read == 1 { "is" } else { "are" }
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for CaptureError {}

/// Which kind of capture file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pcap,
    PcapNg,
}

/// What the reader knows about one pcapng interface.
#[derive(Clone, Copy, Debug)]
struct Interface {
    link: LinkType,
    snaplen: u32,
    /// Timestamp units per second (10^6 unless the interface says otherwise).
    units_per_sec: u64,
    offset_secs: i64,
}

enum Parser {
    Pcap {
        parser: PcapParser,
        link: LinkType,
        nanos: bool,
    },
    PcapNg {
        parser: PcapNgParser,
        interfaces: Vec<Interface>,
    },
}

/// The size of the read buffer. A record larger than this is refused as damage.
const BUFFER: usize = 1 << 20;
/// Largest record accepted (pcapng blocks can hold a 256 KiB frame plus options).
const MAX_RECORD: usize = 16 << 20;

/// Streams the frames of a pcap or pcapng file, in order.
pub struct CaptureReader {
    path: PathBuf,
    /// `Send`, so that the summary of a long capture can read it on whichever thread is free.
    src: Box<dyn Read + Send>,
    buf: Vec<u8>,
    /// Unparsed bytes are `buf[start..end]`; `offset` is the file offset of `buf[start]`.
    start: usize,
    end: usize,
    offset: u64,
    eof: bool,
    parser: Parser,
    format: Format,
    number: u64,
    /// Non-fatal oddities met so far (a timestamp out of range, a record past the snap length).
    pub warnings: Vec<String>,
}

impl CaptureReader {
    /// Open a capture file; `-` reads standard input.
    pub fn open(path: &Path) -> Result<CaptureReader, CaptureError> {
        let src: Box<dyn Read + Send> = if path == Path::new("-") {
            Box::new(io::stdin())
        } else {
            let f = File::open(path).map_err(|e| CaptureError {
                path: path.to_path_buf(),
                offset: 0,
                message: format!("cannot open: {e}"),
                frames_read: 0,
            })?;
            Box::new(f)
        };
        Self::from_reader(path, src)
    }

    /// Read a capture from any byte source (`name` is used in error messages).
    pub fn from_reader(
        name: &Path,
        src: Box<dyn Read + Send>,
    ) -> Result<CaptureReader, CaptureError> {
        let mut r = CaptureReader {
            path: name.to_path_buf(),
            src,
            buf: vec![0; BUFFER],
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
            parser: Parser::Pcap {
                parser: PcapParser::new(&DUMMY_HEADER).expect("valid header").1,
                link: LinkType::ETHERNET,
                nanos: false,
            },
            format: Format::Pcap,
            number: 0,
            warnings: Vec::new(),
        };
        r.fill(4)?;
        let avail = r.end - r.start;
        if avail == 0 {
            return Err(r.error(0, "the file is empty: a capture starts with a file header"));
        }
        if avail < 4 {
            return Err(r.error(0, "the file is too short to hold a capture file header"));
        }
        let magic = u32::from_le_bytes(r.buf[0..4].try_into().expect("4 bytes"));
        if magic == 0x0a0d_0d0a {
            r.format = Format::PcapNg;
            r.parse_header(|src| {
                PcapNgParser::new(src).map(|(rem, parser)| {
                    (
                        rem,
                        Parser::PcapNg {
                            parser,
                            interfaces: Vec::new(),
                        },
                    )
                })
            })?;
        } else {
            let known = [0xa1b2c3d4u32, 0xa1b23c4d];
            if !known.contains(&magic) && !known.contains(&magic.swap_bytes()) {
                return Err(r.error(
                    0,
                    &format!(
                        "not a pcap or pcapng file: it starts with 0x{magic:08x}, but a pcap file starts with a1b2c3d4 (or a1b23c4d) and a pcapng file with 0a0d0d0a"
                    ),
                ));
            }
            r.parse_header(|src| {
                PcapParser::new(src).map(|(rem, parser)| {
                    let h = parser.header();
                    // The upper bits of the link-type field carry FCS information; the link
                    // type itself is the low 16 bits.
                    let link = LinkType(u32::from(h.datalink) & 0xffff);
                    let nanos = h.ts_resolution == TsResolution::NanoSecond;
                    (
                        rem,
                        Parser::Pcap {
                            parser,
                            link,
                            nanos,
                        },
                    )
                })
            })?;
        }
        Ok(r)
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The link type of a pcap file (pcapng files give one per interface).
    pub fn link_type(&self) -> Option<LinkType> {
        match &self.parser {
            Parser::Pcap { link, .. } => Some(*link),
            Parser::PcapNg { interfaces, .. } => interfaces.first().map(|i| i.link),
        }
    }

    /// How many frames have been handed out so far.
    pub fn frames_read(&self) -> u64 {
        self.number
    }

    /// How far into the file the frames handed out so far reach, in bytes (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.offset
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, offset: u64, message: &str) -> CaptureError {
        CaptureError {
            path: self.path.clone(),
            offset,
            message: message.to_string(),
            frames_read: self.number,
        }
    }

    /// Make sure at least `want` unparsed bytes are buffered, unless the file ends first.
    fn fill(&mut self, want: usize) -> Result<(), CaptureError> {
        if self.end - self.start >= want || self.eof {
            return Ok(());
        }
        if want > self.buf.len() {
            self.buf.resize(want.next_power_of_two(), 0);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end - self.start < want {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(self.error(
                        self.offset + (self.end - self.start) as u64,
                        &format!("read failed: {e}"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn parse_header(
        &mut self,
        parse: impl Fn(&[u8]) -> Result<(&[u8], Parser), PcapError>,
    ) -> Result<(), CaptureError> {
        let mut want = 64;
        loop {
            self.fill(want)?;
            let avail = &self.buf[self.start..self.end];
            match parse(avail) {
                Ok((rem, parser)) => {
                    let used = avail.len() - rem.len();
                    self.parser = parser;
                    self.advance(used);
                    return Ok(());
                }
                Err(PcapError::IncompleteBuffer) if !self.eof && want < MAX_RECORD => want *= 2,
                Err(PcapError::IncompleteBuffer) => {
                    return Err(self.error(0, "the file ends inside its file header"));
                }
                Err(e) => return Err(self.error(0, &describe(&e))),
            }
        }
    }

    /// Look at the length field of the record or block about to be parsed, before asking for
    /// that many bytes: a damaged length (a huge number, or one no block can have) is reported
    /// as what it is, rather than as a file that seems to end too soon.
    fn implausible_length(&self, avail: &[u8]) -> Option<String> {
        let read = |at: usize, little: bool| -> Option<u32> {
            let b: [u8; 4] = avail.get(at..at + 4)?.try_into().ok()?;
            Some(if little {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            })
        };
        let at = self.offset;
        match &self.parser {
            Parser::Pcap { parser, .. } => {
                let little = parser.header().endianness == Endianness::Little;
                let incl = read(8, little)?;
                (incl as usize > MAX_RECORD).then(|| {
                    format!(
                        "this packet record says it holds {incl} bytes of packet data (its captured-length field is at byte offset {}), more than any real capture ({} MiB at most): the file is damaged here",
                        at + 8,
                        MAX_RECORD >> 20
                    )
                })
            }
            Parser::PcapNg { parser, .. } => {
                let mut little = parser.section().endianness == Endianness::Little;
                if read(0, true)? == 0x0a0d_0d0a {
                    // A new section: its byte-order magic says how to read its length.
                    little = match read(8, true)? {
                        0x1a2b_3c4d => true,
                        0x4d3c_2b1a => false,
                        _ => return None, // the parser explains a bad byte-order magic
                    };
                }
                let len = read(4, little)?;
                let what = if len < 12 {
                    format!("is {len}, but even an empty block is 12 bytes")
                } else if len % 4 != 0 {
                    format!("is {len}, but block lengths are always a multiple of 4")
                } else if len as usize > MAX_RECORD {
                    format!(
                        "says {len} bytes, more than any real capture ({} MiB at most)",
                        MAX_RECORD >> 20
                    )
                } else {
                    return None;
                };
                Some(format!(
                    "this block's length field (at byte offset {}) {what}: the file is damaged here",
                    at + 4
                ))
            }
        }
    }

    fn advance(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    /// The next frame, `Ok(None)` at the end of the file, or an error naming the byte offset
    /// where the file is damaged.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        loop {
            let mut want = 64;
            // Parse one record or block, reading more of the file as needed.
            let (used, found) = loop {
                self.fill(want)?;
                if self.start == self.end {
                    return Ok(None);
                }
                let avail = &self.buf[self.start..self.end];
                if let Some(message) = self.implausible_length(avail) {
                    return Err(self.error(self.offset, &message));
                }
                let result = match &mut self.parser {
                    Parser::Pcap {
                        parser,
                        link,
                        nanos,
                    } => parser.next_raw_packet(avail).map(|(rem, raw)| {
                        let frac = raw.ts_frac as u64;
                        let nanos_total = if *nanos { frac } else { frac * 1000 };
                        let ts = Timestamp {
                            secs: raw.ts_sec as i64 + (nanos_total / 1_000_000_000) as i64,
                            nanos: (nanos_total % 1_000_000_000) as u32,
                        };
                        let odd = if *nanos && frac >= 1_000_000_000
                            || !*nanos && frac >= 1_000_000
                        {
                            Some(format!(
                                "record at byte offset {}: the fraction of a second ({frac}) is out of range; read as {ts}",
                                self.offset
                            ))
                        } else {
                            None
                        };
                        let data_at = avail.len() - rem.len() - raw.data.len();
                        (
                            avail.len() - rem.len(),
                            Some((*link, Some(ts), raw.orig_len, data_at, raw.data.len(), odd)),
                        )
                    }),
                    Parser::PcapNg { parser, interfaces } => {
                        parser.next_block(avail).map(|(rem, block)| {
                            let used = avail.len() - rem.len();
                            let found = ng_block(block, interfaces, avail);
                            (used, found)
                        })
                    }
                };
                match result {
                    Ok(x) => break x,
                    Err(PcapError::IncompleteBuffer) => {
                        if self.eof {
                            let left = self.end - self.start;
                            return Err(self.error(
                                self.offset,
                                &format!(
                                    "the file ends in the middle of a {} ({left} byte{} left over): it was cut short",
                                    if self.format == Format::Pcap { "packet record" } else { "block" },
                                    if left == 1 { "" } else { "s" }
                                ),
                            ));
                        }
                        if want >= MAX_RECORD {
                            return Err(self.error(
                                self.offset,
                                &format!(
                                    "a record claims to be larger than {} MiB, which no real capture has: the file is damaged here",
                                    MAX_RECORD >> 20
                                ),
                            ));
                        }
                        want = (want * 2).max(self.end - self.start + 1);
                    }
                    Err(e) => return Err(self.error(self.offset, &describe(&e))),
                }
            };
            let record_offset = self.offset;
            let record_start = self.start;
            self.advance(used);
            if let Some((link, ts, orig_len, data_at, len, odd)) = found {
                if let Some(w) = odd {
                    self.warnings.push(w);
                }
                self.number += 1;
                let data = &self.buf[record_start + data_at..record_start + data_at + len];
                let _ = record_offset;
                return Ok(Some(Frame {
                    number: self.number,
                    ts,
                    link,
                    wire_len: orig_len.max(len as u32),
                    data,
                }));
            }
        }
    }
}

type Found = Option<(
    LinkType,
    Option<Timestamp>,
    u32,
    usize,
    usize,
    Option<String>,
)>;

/// Turn one pcapng block into a frame (or nothing, for blocks that carry no frame), keeping
/// track of interfaces. The frame's bytes are given as an offset into `avail`.
fn ng_block(block: Block<'_>, interfaces: &mut Vec<Interface>, avail: &[u8]) -> Found {
    let offset_of = |data: &[u8]| data.as_ptr() as usize - avail.as_ptr() as usize;
    match block {
        Block::SectionHeader(_) => {
            // A new section starts its interface numbering again.
            interfaces.clear();
            None
        }
        Block::InterfaceDescription(idb) => {
            interfaces.push(interface(&idb));
            None
        }
        Block::EnhancedPacket(epb) => {
            let EnhancedPacketBlock {
                interface_id,
                timestamp,
                original_len,
                data,
                ..
            } = epb;
            let iface = interfaces.get(interface_id as usize).copied();
            let (link, ts) = match iface {
                Some(i) => (i.link, Some(ng_time(timestamp, &i))),
                None => (LinkType(u32::MAX), None),
            };
            Some((link, ts, original_len, offset_of(&data), data.len(), None))
        }
        Block::SimplePacket(spb) => {
            let iface = interfaces.first().copied();
            let link = iface.map(|i| i.link).unwrap_or(LinkType(u32::MAX));
            let snap = iface
                .map(|i| i.snaplen)
                .filter(|&s| s > 0)
                .unwrap_or(u32::MAX);
            let len = (spb.original_len.min(snap) as usize).min(spb.data.len());
            Some((
                link,
                None,
                spb.original_len,
                offset_of(&spb.data),
                len,
                None,
            ))
        }
        Block::Packet(pb) => {
            let iface = interfaces.get(pb.interface_id as usize).copied();
            let link = iface.map(|i| i.link).unwrap_or(LinkType(u32::MAX));
            let ts = iface.map(|i| ng_time(Duration::from_nanos(pb.timestamp), &i));
            Some((
                link,
                ts,
                pb.original_len,
                offset_of(&pb.data),
                pb.data.len(),
                None,
            ))
        }
        _ => None,
    }
}

fn interface(idb: &InterfaceDescriptionBlock) -> Interface {
    let mut units_per_sec = 1_000_000u64;
    let mut offset_secs = 0i64;
    for opt in &idb.options {
        match opt {
            InterfaceDescriptionOption::IfTsResol(r) => {
                // Top bit clear: a power of ten; set: a power of two.
                let exp = (r & 0x7f) as u32;
                units_per_sec = if r & 0x80 == 0 {
                    10u64.checked_pow(exp).unwrap_or(1_000_000)
                } else {
                    1u64.checked_shl(exp).unwrap_or(1_000_000)
                };
            }
            InterfaceDescriptionOption::IfTsOffset(o) => offset_secs = *o as i64,
            _ => {}
        }
    }
    Interface {
        link: LinkType(u32::from(idb.linktype) & 0xffff),
        snaplen: idb.snaplen,
        units_per_sec: units_per_sec.max(1),
        offset_secs,
    }
}

/// pcap-file reads an EPB's 64-bit timestamp as nanoseconds; it is really a count of the
/// interface's time units, so convert it back.
fn ng_time(raw: Duration, iface: &Interface) -> Timestamp {
    let ticks = raw.as_nanos() as u64;
    let secs = ticks / iface.units_per_sec;
    let rem = ticks % iface.units_per_sec;
    let nanos = (rem as u128 * 1_000_000_000 / iface.units_per_sec as u128) as u32;
    // A damaged file can hold any 64-bit count and any offset: saturate rather than overflow.
    Timestamp {
        secs: i64::try_from(secs)
            .unwrap_or(i64::MAX)
            .saturating_add(iface.offset_secs),
        nanos,
    }
}

fn describe(e: &PcapError) -> String {
    match e {
        PcapError::InvalidField("Block: initial_length != trailer_length") => {
            "the length at the end of this block does not match the length at its start: the file is damaged here".into()
        }
        PcapError::InvalidField(what) => format!("the file is damaged here ({what})"),
        PcapError::IoError(e) => format!("read failed: {e}"),
        other => other.to_string(),
    }
}

/// A valid pcap header used only to initialise the reader before the real one is read.
const DUMMY_HEADER: [u8; 24] = [
    0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0,
];

/// Writes frames to a pcap or pcapng file (chosen by the file name: `.pcapng` or not).
///
/// Every frame is written through a buffer that [`CaptureWriter::flush`] empties; a capture
/// that is stopped with Ctrl-C flushes before it exits, so the file always ends on a whole
/// record.
pub struct CaptureWriter {
    kind: WriterKind,
    /// The buffered file, shared with the pcap-file writer so it can be flushed at any time.
    file: Shared,
}

enum WriterKind {
    Pcap(PcapWriter<Shared>),
    PcapNg {
        writer: PcapNgWriter<Shared>,
        /// Interface number given to each link type written so far.
        interfaces: Vec<LinkType>,
    },
}

/// A handle on the buffered output file that both the pcap-file writer and
/// [`CaptureWriter::flush`] can use.
#[derive(Clone)]
struct Shared(std::sync::Arc<std::sync::Mutex<BufWriter<File>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

impl CaptureWriter {
    /// Create `path`. A pcap file holds one link type, `link`; a pcapng file can hold several.
    pub fn create(path: &Path, link: LinkType) -> io::Result<CaptureWriter> {
        let file = Shared(std::sync::Arc::new(std::sync::Mutex::new(
            BufWriter::with_capacity(256 * 1024, File::create(path)?),
        )));
        let ng = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pcapng"));
        let map = |e: PcapError| io::Error::other(e.to_string());
        if ng {
            let writer = PcapNgWriter::new(file.clone()).map_err(map)?;
            Ok(CaptureWriter {
                kind: WriterKind::PcapNg {
                    writer,
                    interfaces: Vec::new(),
                },
                file,
            })
        } else {
            let header = PcapHeader {
                datalink: DataLink::from(link.0),
                snaplen: 262_144,
                ts_resolution: TsResolution::NanoSecond,
                ..PcapHeader::default()
            };
            let writer = PcapWriter::with_header(file.clone(), header).map_err(map)?;
            Ok(CaptureWriter {
                kind: WriterKind::Pcap(writer),
                file,
            })
        }
    }

    /// Append one frame.
    pub fn write(&mut self, frame: &Frame) -> io::Result<()> {
        let map = |e: PcapError| io::Error::other(e.to_string());
        let t = frame.ts.unwrap_or_default();
        let ts = Duration::new(t.secs.max(0) as u64, t.nanos);
        match &mut self.kind {
            WriterKind::Pcap(w) => {
                let packet =
                    PcapPacket::new(ts, frame.wire_len.max(frame.data.len() as u32), frame.data);
                w.write_packet(&packet).map_err(map)?;
            }
            WriterKind::PcapNg { writer, interfaces } => {
                let id = match interfaces.iter().position(|l| *l == frame.link) {
                    Some(i) => i,
                    None => {
                        let mut idb =
                            InterfaceDescriptionBlock::new(DataLink::from(frame.link.0), 262_144);
                        // Nanosecond timestamps (if_tsresol = 9).
                        idb.options.push(InterfaceDescriptionOption::IfTsResol(9));
                        writer.write_pcapng_block(idb).map_err(map)?;
                        interfaces.push(frame.link);
                        interfaces.len() - 1
                    }
                };
                let epb = EnhancedPacketBlock {
                    interface_id: id as u32,
                    // pcap-file writes this Duration's nanoseconds as the raw timestamp, which
                    // with if_tsresol = 9 is exactly right.
                    timestamp: ts,
                    original_len: frame.wire_len.max(frame.data.len() as u32),
                    data: std::borrow::Cow::Borrowed(frame.data),
                    options: vec![],
                };
                writer.write_pcapng_block(epb).map_err(map)?;
            }
        }
        Ok(())
    }

    /// Push everything buffered to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Read every frame of a file into memory (for tests and small lesson traces).
pub fn read_all(path: &Path) -> Result<Vec<crate::source::OwnedFrame>, CaptureError> {
    let mut r = CaptureReader::open(path)?;
    let mut out = Vec::new();
    while let Some(f) = r.next_frame()? {
        out.push(crate::source::OwnedFrame::from(&f));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian pcapng block.
    fn block(ty: u32, body: &[u8]) -> Vec<u8> {
        let padded = body.len().next_multiple_of(4);
        let len = (12 + padded) as u32;
        let mut b = ty.to_le_bytes().to_vec();
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(body);
        b.resize(8 + padded, 0);
        b.extend_from_slice(&len.to_le_bytes());
        b
    }

    /// A pcapng file with one interface (its options given) and one packet whose timestamp
    /// is `ticks` interface units.
    fn pcapng_with(idb_options: &[u8], ticks: u64) -> Vec<u8> {
        let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        shb.extend_from_slice(&[1, 0, 0, 0]);
        shb.extend_from_slice(&(-1i64).to_le_bytes());
        let mut idb = vec![1, 0, 0, 0, 0xff, 0xff, 0, 0];
        idb.extend_from_slice(idb_options);
        let frame = [0xffu8; 14];
        let mut epb = 0u32.to_le_bytes().to_vec();
        epb.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ticks as u32).to_le_bytes());
        epb.extend_from_slice(&14u32.to_le_bytes());
        epb.extend_from_slice(&14u32.to_le_bytes());
        epb.extend_from_slice(&frame);
        [block(0x0a0d_0d0a, &shb), block(1, &idb), block(6, &epb)].concat()
    }

    fn first_ts(bytes: Vec<u8>) -> Timestamp {
        let mut r =
            CaptureReader::from_reader(Path::new("t.pcapng"), Box::new(io::Cursor::new(bytes)))
                .expect("header");
        r.next_frame()
            .expect("frame")
            .expect("one frame")
            .ts
            .expect("timestamp")
    }

    #[test]
    fn interface_time_units_and_offset() {
        // if_tsresol = 3 (milliseconds), if_tsoffset = 100 seconds.
        let mut opts = vec![9, 0, 1, 0, 3, 0, 0, 0];
        opts.extend_from_slice(&[14, 0, 8, 0]);
        opts.extend_from_slice(&100u64.to_le_bytes());
        opts.extend_from_slice(&[0, 0, 0, 0]);
        let ts = first_ts(pcapng_with(&opts, 1_500));
        assert_eq!((ts.secs, ts.nanos), (101, 500_000_000));
    }

    /// A huge timestamp plus a huge offset overflowed (an overflow panic in debug builds;
    /// found by reading the code while the reader fuzzer ran).
    #[test]
    fn huge_timestamp_and_offset_saturate() {
        let mut opts = vec![9, 0, 1, 0, 0, 0, 0, 0];
        opts.extend_from_slice(&[14, 0, 8, 0]);
        opts.extend_from_slice(&(i64::MAX as u64).to_le_bytes());
        opts.extend_from_slice(&[0, 0, 0, 0]);
        let ts = first_ts(pcapng_with(&opts, 0x7fff_ffff_ffff_ffff));
        assert_eq!(ts.secs, i64::MAX);
    }
}
