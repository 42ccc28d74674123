//! TCP reassembly: from segments back to the byte stream the application wrote.
//!
//! # The idea
//!
//! An application writes a stream of bytes into its socket: `GET / HTTP/1.1\r\nHost: …`.
//! TCP cuts that stream into segments as it sees fit, and IP delivers them as it can: late,
//! twice, out of order, or not at all. The receiving TCP puts the bytes back in order using
//! the sequence numbers, and hands the application the same stream that was written, with
//! no seams. An HTTP request can therefore be split over three segments, or share one
//! segment with the next request; to read HTTP, WebSocket or Socket.IO from a capture, one
//! must first do what the receiver's TCP did.
//!
//! That is this module. One [`Reassembler`] per direction takes segments in capture order
//! and gives back [`Event`]s: new bytes in order ([`Event::Data`]), a hole it had to give up
//! on ([`Event::Gap`]), the end of the direction ([`Event::Fin`], [`Event::Reset`]). The rules:
//!
//! * **Offsets.** Byte 0 of the stream is the one after the SYN (the SYN takes one sequence
//!   number but carries no byte). Offsets are 64-bit and keep counting when the 32-bit
//!   sequence numbers wrap around from 4294967295 to 0. If the capture started after the
//!   SYN, byte 0 is the first byte seen.
//! * **Retransmissions and overlap.** Bytes already handed out are not handed out again;
//!   where a new segment overlaps one still waiting, the bytes that arrived first win (the
//!   count of bytes that differed is kept: two different versions of the same stream bytes
//!   are a sign of trouble, or of an attack).
//! * **Out of order.** A segment that starts beyond the next expected byte waits until the
//!   bytes before it come.
//! * **Gaps.** A hole is given up on when the receiver acknowledges past it (the receiver got
//!   the bytes; the capture missed them), when too many bytes are waiting behind it, or when
//!   the capture ends. A segment the capture cut short (snap length) leaves a hole too.
//! * **FIN** takes one sequence number after the last byte; the direction ends there.
//!
//! Every byte handed out comes with its origin ([`Origin`]): the frame that carried it and the
//! byte offset inside that frame, so that an HTTP message or a WebSocket frame found in the
//! stream can be tied back to the packets that carried it, and its bytes highlighted there.

use crate::dissect::tcp::Seq;
use std::collections::BTreeMap;

/// Where a run of stream bytes came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// Stream offset of the run's first byte.
    pub at: u64,
    pub len: u32,
    /// The frame that carried the run (its number in the capture).
    pub frame: u64,
    /// Offset of the run's first byte within that frame's bytes.
    pub frame_offset: u32,
}

/// Why bytes are missing from the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapReason {
    /// The receiver acknowledged them, so they were sent, but the capture never saw them.
    NotCaptured,
    /// The capture kept only the start of the segment that carried them (snap length).
    CutShort,
    /// Too many bytes were waiting behind the hole; wirelab stopped waiting for it.
    TooMuchWaiting,
    /// The capture ended while bytes were still waiting behind the hole.
    EndOfCapture,
}

impl GapReason {
    pub fn explain(self) -> &'static str {
        match self {
            GapReason::NotCaptured => "acknowledged by the receiver but never captured",
            GapReason::CutShort => "the capture kept only the start of the packet",
            GapReason::TooMuchWaiting => "too much data was waiting behind the hole",
            GapReason::EndOfCapture => "still missing when the capture ended",
        }
    }
}

/// What a reassembler reports.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// Bytes `at..at + bytes.len()` of the stream, in order. `origins` cover exactly these
    /// bytes, in order.
    Data {
        at: u64,
        bytes: &'a [u8],
        origins: &'a [Origin],
    },
    /// Bytes `at..at + len` will never come; the stream goes on after them.
    Gap {
        at: u64,
        len: u64,
        reason: GapReason,
    },
    /// The sender closed this direction: the stream ends at `at`.
    Fin { at: u64 },
    /// The connection was aborted (RST) with the stream at `at`.
    Reset { at: u64 },
}

/// Counters a learner (or a test) can look at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes handed out.
    pub delivered: u64,
    /// Bytes that arrived again after they had been handed out (retransmitted copies).
    pub duplicate: u64,
    /// Overlapping bytes whose content differed from the copy that came first.
    pub conflicting: u64,
    /// Segments that arrived ahead of a hole and had to wait.
    pub out_of_order: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Bytes from before the stream's start (retransmissions of data from before the
    /// capture began).
    pub before_start: u64,
    /// Bytes sent after the FIN (ignored).
    pub after_fin: u64,
}

/// One segment, as the reassembler needs it.
#[derive(Clone, Copy, Debug)]
pub struct SegmentData<'a> {
    /// The sequence number as written in the header.
    pub seq: Seq,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    /// The captured data bytes (may be fewer than `len` if the capture cut the frame).
    pub payload: &'a [u8],
    /// How many data bytes the segment carried on the wire.
    pub len: u32,
    pub frame: u64,
    /// Where `payload` starts in the frame.
    pub frame_offset: u32,
}

/// A run waiting for the bytes before it.
#[derive(Clone, Debug)]
struct Piece {
    /// The bytes, or empty for a run the capture cut off (`len` says how long it was).
    data: Vec<u8>,
    len: u64,
    frame: u64,
    frame_offset: u32,
}

impl Piece {
    fn is_hole(&self) -> bool {
        self.data.is_empty()
    }
}

/// The default limit on bytes waiting behind a hole, per direction.
pub const DEFAULT_MAX_WAITING: usize = 4 << 20;

/// Puts one direction of a TCP connection back in order.
#[derive(Debug)]
pub struct Reassembler {
    started: bool,
    /// The sequence number of stream byte 0.
    base: Seq,
    /// Whether `base` came from a SYN (and so is certain).
    from_syn: bool,
    /// The next stream offset to hand out.
    next: u64,
    fin_at: Option<u64>,
    fin_sent: bool,
    reset: bool,
    /// Runs waiting, by stream offset; they never overlap and all start after `next`.
    waiting: BTreeMap<u64, Piece>,
    waiting_bytes: usize,
    max_waiting: usize,
    pub stats: Stats,
    /// The run being collected for the next [`Event::Data`].
    run: Vec<u8>,
    run_at: u64,
    run_origins: Vec<Origin>,
}

impl Default for Reassembler {
    fn default() -> Reassembler {
        Reassembler::new(DEFAULT_MAX_WAITING)
    }
}

impl Reassembler {
    /// A reassembler that gives up on a hole once `max_waiting` bytes wait behind it.
    pub fn new(max_waiting: usize) -> Reassembler {
        Reassembler {
            started: false,
            base: Seq(0),
            from_syn: false,
            next: 0,
            fin_at: None,
            fin_sent: false,
            reset: false,
            waiting: BTreeMap::new(),
            waiting_bytes: 0,
            max_waiting,
            stats: Stats::default(),
            run: Vec::new(),
            run_at: 0,
            run_origins: Vec::new(),
        }
    }

    /// Start again, as [`Reassembler::new`] would, keeping the memory already allocated (for
    /// a reader that follows many short conversations one after another).
    pub fn reset(&mut self) {
        self.started = false;
        self.base = Seq(0);
        self.from_syn = false;
        self.next = 0;
        self.fin_at = None;
        self.fin_sent = false;
        self.reset = false;
        self.waiting.clear();
        self.waiting_bytes = 0;
        self.stats = Stats::default();
        self.run.clear();
        self.run_at = 0;
        self.run_origins.clear();
    }

    /// The sequence number of stream byte 0, once known.
    pub fn base(&self) -> Option<Seq> {
        self.started.then_some(self.base)
    }

    /// The next stream offset expected (everything before it has been handed out or given up).
    pub fn next_offset(&self) -> u64 {
        self.next
    }

    /// Bytes waiting behind a hole.
    pub fn waiting_bytes(&self) -> usize {
        self.waiting_bytes
    }

    /// True once the direction ended (FIN reached, or RST).
    pub fn is_closed(&self) -> bool {
        self.fin_sent || self.reset
    }

    /// The stream offset of a sequence number: the one nearest the next expected byte, so
    /// that offsets keep growing when sequence numbers wrap around. Negative: before byte 0.
    pub fn offset_of(&self, seq: Seq) -> i64 {
        let expected = self.base + self.next as u32;
        self.next as i64 + seq.diff(expected) as i64
    }

    /// Take one segment sent in this direction.
    pub fn segment(&mut self, s: &SegmentData, sink: &mut dyn FnMut(Event)) {
        if s.rst {
            if self.started && !self.reset && !self.fin_sent {
                self.reset = true;
                self.flush(sink);
                sink(Event::Reset { at: self.next });
            }
            return;
        }
        let data_seq = s.seq + u32::from(s.syn);
        if !self.started {
            self.started = true;
            self.base = data_seq;
            self.from_syn = s.syn;
        } else if s.syn && !self.from_syn && self.stats.delivered == 0 && self.next == 0 {
            // The SYN arrived after the first segment (reordered): start the stream at it.
            self.rebase(data_seq);
        }
        let off = self.offset_of(data_seq);
        let len = s.len as i64;
        if s.fin && self.fin_at.is_none() && off + len >= 0 {
            self.fin_at = Some((off + len) as u64);
        }
        if len > 0 && !self.fin_sent {
            self.add(off, s, sink);
        }
        self.drain(sink);
        self.check_fin(sink);
        self.flush(sink);
    }

    /// The other side acknowledged everything before `ack`: bytes still missing below it
    /// were received, so the capture missed them. Give up waiting for them.
    pub fn acked(&mut self, ack: Seq, sink: &mut dyn FnMut(Event)) {
        if !self.started || self.is_closed() {
            return;
        }
        let ack_off = self.offset_of(ack);
        let mut limit = ack_off.max(0) as u64;
        if let Some(fin) = self.fin_at {
            limit = limit.min(fin);
        }
        if limit <= self.next {
            return;
        }
        self.skip_to(limit, GapReason::NotCaptured, sink);
        self.check_fin(sink);
        self.flush(sink);
    }

    /// The capture is over: hand out whatever waits behind holes, reporting the holes.
    pub fn finish(&mut self, sink: &mut dyn FnMut(Event)) {
        while let Some((&at, _)) = self.waiting.iter().next() {
            let _ = at;
            self.skip_to(at, GapReason::EndOfCapture, sink);
            self.drain(sink);
        }
        self.check_fin(sink);
        self.flush(sink);
    }

    /// Move byte 0 to a new sequence number (nothing has been handed out yet).
    fn rebase(&mut self, new_base: Seq) {
        let shift = self.base.diff(new_base) as i64;
        self.base = new_base;
        self.from_syn = true;
        let old = std::mem::take(&mut self.waiting);
        self.waiting_bytes = 0;
        for (at, p) in old {
            let at = at as i64 + shift;
            if at >= 0 {
                self.waiting_bytes += p.data.len();
                self.waiting.insert(at as u64, p);
            }
        }
        if let Some(f) = self.fin_at {
            self.fin_at = Some((f as i64 + shift).max(0) as u64);
        }
    }

    /// Add the bytes of one segment starting at stream offset `off`.
    fn add(&mut self, off: i64, s: &SegmentData, sink: &mut dyn FnMut(Event)) {
        let captured = s.payload.len().min(s.len as usize) as i64;
        let mut end = off + s.len as i64;
        // Nothing after the FIN belongs to the stream.
        if let Some(fin) = self.fin_at {
            if end > fin as i64 {
                self.stats.after_fin += (end - (fin as i64).max(off)) as u64;
                end = fin as i64;
            }
        }
        let next = self.next as i64;
        if end <= next {
            // All of it was handed out (or given up on) already.
            let before = (next.min(end) - off.max(0)).max(0);
            self.stats.duplicate += before as u64;
            self.stats.before_start += (0.min(end) - off).max(0) as u64;
            return;
        }
        let start = off.max(next);
        if off < 0 {
            self.stats.before_start += (-off).min(end - off) as u64;
        }
        if start > off.max(0) {
            self.stats.duplicate += (start - off.max(0)) as u64;
        }
        // The captured part, then the part the capture cut off.
        let data_end = (off + captured).min(end);
        if start > next {
            self.stats.out_of_order += 1;
        }
        if start < data_end {
            let from = (start - off) as usize;
            let to = (data_end - off) as usize;
            let bytes = &s.payload[from..to];
            let frame_offset = s.frame_offset + from as u32;
            if start == next && self.waiting.is_empty() {
                self.append(start as u64, bytes, s.frame, frame_offset);
            } else {
                self.insert_waiting(
                    start as u64,
                    Some(bytes),
                    bytes.len() as u64,
                    s.frame,
                    frame_offset,
                );
            }
        }
        let hole_start = data_end.max(start);
        if hole_start < end {
            let len = (end - hole_start) as u64;
            if hole_start == self.next as i64 && self.waiting.is_empty() {
                self.give_up(hole_start as u64, len, GapReason::CutShort, sink);
            } else {
                self.insert_waiting(hole_start as u64, None, len, s.frame, 0);
            }
        }
        self.enforce_limit(sink);
    }

    /// Append in-order bytes to the run being collected.
    fn append(&mut self, at: u64, bytes: &[u8], frame: u64, frame_offset: u32) {
        if self.run.is_empty() {
            self.run_at = at;
        }
        // Merge with the previous origin when it is the same frame, contiguous.
        match self.run_origins.last_mut() {
            Some(o)
                if o.frame == frame
                    && o.at + o.len as u64 == at
                    && o.frame_offset + o.len == frame_offset =>
            {
                o.len += bytes.len() as u32;
            }
            _ => self.run_origins.push(Origin {
                at,
                len: bytes.len() as u32,
                frame,
                frame_offset,
            }),
        }
        self.run.extend_from_slice(bytes);
        self.next = at + bytes.len() as u64;
        self.stats.delivered += bytes.len() as u64;
    }

    /// Put a run in the waiting map, keeping only what no waiting run already covers:
    /// the first copy of a byte wins, except that real bytes replace a hole (a part an earlier
    /// copy had but the capture cut off). `bytes` is `None` for such a hole.
    fn insert_waiting(
        &mut self,
        start: u64,
        bytes: Option<&[u8]>,
        len: u64,
        frame: u64,
        frame_offset: u32,
    ) {
        let end = start + len;
        let piece = |from: u64, to: u64| Piece {
            data: bytes.map_or_else(Vec::new, |b| {
                b[(from - start) as usize..(to - start) as usize].to_vec()
            }),
            len: to - from,
            frame,
            frame_offset: if bytes.is_some() {
                frame_offset + (from - start) as u32
            } else {
                0
            },
        };
        // Waiting runs that overlap [start, end), including one that starts before `start`.
        let first = self
            .waiting
            .range(..start)
            .next_back()
            .filter(|(at, p)| **at + p.len > start)
            .map(|(at, _)| *at)
            .unwrap_or(start);
        let overlapping: Vec<(u64, u64)> = self
            .waiting
            .range(first..end)
            .map(|(at, p)| (*at, p.len))
            .collect();
        let mut pos = start;
        for (at, p_len) in overlapping {
            let p_end = at + p_len;
            if at > pos {
                let cut = at.min(end);
                self.insert_piece(pos, piece(pos, cut));
            }
            let (o_start, o_end) = (at.max(start), p_end.min(end));
            if o_start < o_end {
                if let Some(mine) = bytes {
                    let old_is_hole = self.waiting[&at].is_hole();
                    if old_is_hole {
                        // Split the hole around the bytes this copy brings.
                        let hole = self.waiting.remove(&at).expect("present");
                        if at < o_start {
                            self.insert_piece(
                                at,
                                Piece {
                                    len: o_start - at,
                                    ..hole.clone()
                                },
                            );
                        }
                        if o_end < p_end {
                            self.insert_piece(
                                o_end,
                                Piece {
                                    len: p_end - o_end,
                                    ..hole
                                },
                            );
                        }
                        self.insert_piece(o_start, piece(o_start, o_end));
                    } else {
                        let old = &self.waiting[&at].data;
                        let theirs = &old[(o_start - at) as usize..(o_end - at) as usize];
                        let ours = &mine[(o_start - start) as usize..(o_end - start) as usize];
                        let differ = ours.iter().zip(theirs).filter(|(a, b)| a != b).count();
                        self.stats.conflicting += differ as u64;
                        self.stats.duplicate += o_end - o_start;
                    }
                }
            }
            pos = pos.max(p_end);
        }
        if pos < end {
            self.insert_piece(pos, piece(pos, end));
        }
    }

    fn insert_piece(&mut self, at: u64, piece: Piece) {
        self.waiting_bytes += piece.data.len();
        self.waiting.insert(at, piece);
    }

    /// Hand out waiting runs that now follow on.
    fn drain(&mut self, sink: &mut dyn FnMut(Event)) {
        loop {
            let Some((&at, p)) = self.waiting.iter().next() else {
                return;
            };
            if at > self.next {
                return;
            }
            let p_end = at + p.len;
            let piece = self.waiting.remove(&at).expect("present");
            self.waiting_bytes -= piece.data.len();
            if p_end <= self.next {
                // Entirely behind us (a gap was declared over it).
                continue;
            }
            let skip = (self.next - at) as usize;
            if piece.is_hole() {
                self.give_up(self.next, p_end - self.next, GapReason::CutShort, sink);
            } else {
                self.append(
                    self.next,
                    &piece.data[skip..],
                    piece.frame,
                    piece.frame_offset + skip as u32,
                );
            }
        }
    }

    /// Declare bytes `at..at + len` lost and move past them.
    fn give_up(&mut self, at: u64, len: u64, reason: GapReason, sink: &mut dyn FnMut(Event)) {
        if len == 0 {
            return;
        }
        self.flush(sink);
        self.stats.gaps += 1;
        self.stats.gap_bytes += len;
        self.next = at + len;
        sink(Event::Gap { at, len, reason });
    }

    /// Move `next` forward to `limit`, handing out what waits and declaring holes lost.
    fn skip_to(&mut self, limit: u64, reason: GapReason, sink: &mut dyn FnMut(Event)) {
        while self.next < limit {
            self.drain(sink);
            if self.next >= limit {
                break;
            }
            let hole_end = match self.waiting.iter().next() {
                Some((&at, _)) => at.min(limit),
                None => limit,
            };
            if hole_end > self.next {
                self.give_up(self.next, hole_end - self.next, reason, sink);
            }
        }
        self.drain(sink);
    }

    /// Too much waiting: give up on the first hole.
    fn enforce_limit(&mut self, sink: &mut dyn FnMut(Event)) {
        while self.waiting_bytes > self.max_waiting {
            let Some((&at, _)) = self.waiting.iter().next() else {
                break;
            };
            if at > self.next {
                self.give_up(self.next, at - self.next, GapReason::TooMuchWaiting, sink);
            }
            self.drain(sink);
        }
    }

    fn check_fin(&mut self, sink: &mut dyn FnMut(Event)) {
        if let Some(fin) = self.fin_at {
            if !self.fin_sent && self.next >= fin {
                self.flush(sink);
                self.fin_sent = true;
                self.waiting.clear();
                self.waiting_bytes = 0;
                sink(Event::Fin { at: fin });
            }
        }
    }

    /// Send the collected run as one [`Event::Data`].
    fn flush(&mut self, sink: &mut dyn FnMut(Event)) {
        if self.run.is_empty() {
            return;
        }
        let run = std::mem::take(&mut self.run);
        let origins = std::mem::take(&mut self.run_origins);
        sink(Event::Data {
            at: self.run_at,
            bytes: &run,
            origins: &origins,
        });
        // Keep the allocations for the next run.
        self.run = run;
        self.run.clear();
        self.run_origins = origins;
        self.run_origins.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An owned copy of an event, for comparing.
    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Ev {
        Data(u64, Vec<u8>, Vec<Origin>),
        Gap(u64, u64, GapReason),
        Fin(u64),
        Reset(u64),
    }

    fn own(e: Event) -> Ev {
        match e {
            Event::Data { at, bytes, origins } => Ev::Data(at, bytes.to_vec(), origins.to_vec()),
            Event::Gap { at, len, reason } => Ev::Gap(at, len, reason),
            Event::Fin { at } => Ev::Fin(at),
            Event::Reset { at } => Ev::Reset(at),
        }
    }

    /// A segment built in the test: data at `seq`, carried by `frame`, its payload at byte 54
    /// of the frame (Ethernet + IPv4 + TCP headers).
    fn seg(seq: u32, payload: &[u8], frame: u64) -> SegmentData<'_> {
        SegmentData {
            seq: Seq(seq),
            syn: false,
            fin: false,
            rst: false,
            payload,
            len: payload.len() as u32,
            frame,
            frame_offset: 54,
        }
    }

    fn feed(r: &mut Reassembler, s: SegmentData) -> Vec<Ev> {
        let mut out = Vec::new();
        r.segment(&s, &mut |e| out.push(own(e)));
        out
    }

    /// All data bytes handed out, concatenated.
    fn bytes_of(evs: &[Ev]) -> Vec<u8> {
        evs.iter()
            .filter_map(|e| match e {
                Ev::Data(_, b, _) => Some(b.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    fn syn(isn: u32) -> SegmentData<'static> {
        SegmentData {
            syn: true,
            ..seg(isn, b"", 1)
        }
    }

    #[test]
    fn segment_in_order_with_origins() {
        let mut r = Reassembler::default();
        assert!(feed(&mut r, syn(1000)).is_empty());
        let e = feed(&mut r, seg(1001, b"GET / ", 3));
        assert_eq!(
            e,
            vec![Ev::Data(
                0,
                b"GET / ".to_vec(),
                vec![Origin {
                    at: 0,
                    len: 6,
                    frame: 3,
                    frame_offset: 54
                }]
            )]
        );
        let e = feed(&mut r, seg(1007, b"HTTP/1.1\r\n", 4));
        assert_eq!(
            e,
            vec![Ev::Data(
                6,
                b"HTTP/1.1\r\n".to_vec(),
                vec![Origin {
                    at: 6,
                    len: 10,
                    frame: 4,
                    frame_offset: 54
                }]
            )]
        );
        assert_eq!(r.stats.delivered, 16);
    }

    #[test]
    fn segment_out_of_order_waits_then_delivers_both() {
        let mut r = Reassembler::default();
        feed(&mut r, syn(0));
        // Bytes 5..10 arrive before bytes 0..5.
        assert!(feed(&mut r, seg(6, b"world", 4)).is_empty());
        assert_eq!(r.waiting_bytes(), 5);
        let e = feed(&mut r, seg(1, b"hello", 5));
        assert_eq!(bytes_of(&e), b"helloworld");
        // One event, two origins: bytes 0..5 from frame 5, 5..10 from frame 4.
        let Ev::Data(0, _, origins) = &e[0] else {
            panic!("{e:?}")
        };
        assert_eq!(
            origins,
            &vec![
                Origin {
                    at: 0,
                    len: 5,
                    frame: 5,
                    frame_offset: 54
                },
                Origin {
                    at: 5,
                    len: 5,
                    frame: 4,
                    frame_offset: 54
                }
            ]
        );
        assert_eq!(r.stats.out_of_order, 1);
        assert_eq!(r.waiting_bytes(), 0);
    }

    #[test]
    fn segment_retransmission_and_overlap_deliver_new_bytes_once() {
        let mut r = Reassembler::default();
        feed(&mut r, syn(100));
        feed(&mut r, seg(101, b"abcdef", 2));
        // Exactly the same segment again: nothing new.
        assert!(feed(&mut r, seg(101, b"abcdef", 3)).is_empty());
        // Overlaps the last 3 bytes and adds 3 new ones: only "ghi" comes out, and its
        // origin points 3 bytes into the frame's payload.
        let e = feed(&mut r, seg(104, b"defghi", 4));
        assert_eq!(
            e,
            vec![Ev::Data(
                6,
                b"ghi".to_vec(),
                vec![Origin {
                    at: 6,
                    len: 3,
                    frame: 4,
                    frame_offset: 57
                }]
            )]
        );
        assert_eq!(r.stats.duplicate, 9);
    }

    #[test]
    fn segment_overlapping_waiting_runs_first_copy_wins() {
        let mut r = Reassembler::default();
        feed(&mut r, syn(0));
        feed(&mut r, seg(5, b"EFGH", 2)); // offsets 4..8 wait
        // Overlaps 6..8 with different bytes and adds 8..10.
        feed(&mut r, seg(7, b"xyIJ", 3));
        assert_eq!(r.stats.conflicting, 2);
        let e = feed(&mut r, seg(1, b"ABCD", 4));
        assert_eq!(bytes_of(&e), b"ABCDEFGHIJ");
    }

    #[test]
    fn segment_fills_middle_of_two_waiting_runs() {
        let mut r = Reassembler::default();
        feed(&mut r, syn(0));
        feed(&mut r, seg(3, b"CD", 2)); // 2..4
        feed(&mut r, seg(7, b"GH", 3)); // 6..8
        feed(&mut r, seg(2, b"BCDEFGHI", 4)); // 1..9 covers both and the holes around
        let e = feed(&mut r, seg(1, b"A", 5));
        assert_eq!(bytes_of(&e), b"ABCDEFGHI");
        let Ev::Data(_, _, origins) = &e[0] else {
            panic!()
        };
        let frames: Vec<u64> = origins.iter().map(|o| o.frame).collect();
        assert_eq!(frames, vec![5, 4, 2, 4, 3, 4]);
    }

    #[test]
    fn acked_declares_gap_for_uncaptured_bytes() {
        let mut r = Reassembler::default();
        feed(&mut r, syn(0));
        feed(&mut r, seg(1, b"0123", 2));
        // Bytes 4..8 were never captured; 8..12 arrive and wait.
        assert!(feed(&mut r, seg(9, b"89ab", 4)).is_empty());
        let mut out = Vec::new();
        // The receiver acknowledges up to byte 12 (seq 13).
        r.acked(Seq(13), &mut |e| out.push(own(e)));
        assert_eq!(
            out,
            vec![
                Ev::Gap(4, 4, GapReason::NotCaptured),
                Ev::Data(
                    8,
                    b"89ab".to_vec(),
                    vec![Origin {
                        at: 8,
                        len: 4,
                        frame: 4,
                        frame_offset: 54
                    }]
                )
            ]
        );
        assert_eq!((r.stats.gaps, r.stats.gap_bytes), (1, 4));
    }

    #[test]
    fn finish_reports_holes_at_end_of_capture() {
        let mut r = Reassembler::default();
        feed(&mut r, syn(0));
        feed(&mut r, seg(11, b"late", 3));
        let mut out = Vec::new();
        r.finish(&mut |e| out.push(own(e)));
        assert_eq!(out[0], Ev::Gap(0, 10, GapReason::EndOfCapture));
        assert_eq!(bytes_of(&out), b"late");
    }

    #[test]
    fn segment_syn_and_fin_take_one_sequence_number_each() {
        let mut r = Reassembler::default();
        // SYN carrying data (TCP Fast Open): the data starts after the SYN's number.
        let e = feed(
            &mut r,
            SegmentData {
                syn: true,
                ..seg(500, b"hi", 1)
            },
        );
        assert_eq!(bytes_of(&e), b"hi");
        // FIN with the last bytes; the FIN itself is at offset 5.
        let e = feed(
            &mut r,
            SegmentData {
                fin: true,
                ..seg(503, b"bye", 2)
            },
        );
        assert_eq!(bytes_of(&e), b"bye");
        assert_eq!(e.last(), Some(&Ev::Fin(5)));
        // A retransmitted FIN changes nothing.
        assert!(
            feed(
                &mut r,
                SegmentData {
                    fin: true,
                    ..seg(506, b"", 3)
                }
            )
            .is_empty()
        );
        assert!(r.is_closed());
    }

    #[test]
    fn segment_fin_out_of_order_waits_for_data() {
        let mut r = Reassembler::default();
        feed(&mut r, syn(0));
        let e = feed(
            &mut r,
            SegmentData {
                fin: true,
                ..seg(4, b"", 3)
            },
        );
        assert!(e.is_empty(), "FIN at 3 must wait for bytes 0..3: {e:?}");
        let e = feed(&mut r, seg(1, b"abc", 4));
        assert_eq!(
            e.iter()
                .map(|e| matches!(e, Ev::Fin(3)))
                .collect::<Vec<_>>(),
            vec![false, true]
        );
    }

    #[test]
    fn segment_offsets_continue_across_sequence_wraparound() {
        let mut r = Reassembler::default();
        let isn = u32::MAX - 3; // byte 0 at u32::MAX - 2
        feed(&mut r, syn(isn));
        feed(&mut r, seg(isn.wrapping_add(1), b"abc", 2)); // u32::MAX-2 ..= u32::MAX
        // The next sequence number is 0 again.
        let e = feed(&mut r, seg(0, b"defg", 3));
        assert_eq!(
            e,
            vec![Ev::Data(
                3,
                b"defg".to_vec(),
                vec![Origin {
                    at: 3,
                    len: 4,
                    frame: 3,
                    frame_offset: 54
                }]
            )]
        );
        // Out of order across the wrap: bytes 9.. (seq 6) before 7..9 (seq 4).
        assert!(feed(&mut r, seg(6, b"jk", 4)).is_empty());
        let e = feed(&mut r, seg(4, b"hi", 5));
        assert_eq!(bytes_of(&e), b"hijk");
        assert_eq!(r.offset_of(Seq(8)), 11);
    }

    #[test]
    fn segment_cut_short_by_snaplen_leaves_a_gap() {
        let mut r = Reassembler::default();
        feed(&mut r, syn(0));
        let mut s = seg(1, b"abcd", 2);
        s.len = 10; // 10 bytes on the wire, 4 captured
        let e = feed(&mut r, s);
        assert_eq!(
            e,
            vec![
                Ev::Data(
                    0,
                    b"abcd".to_vec(),
                    vec![Origin {
                        at: 0,
                        len: 4,
                        frame: 2,
                        frame_offset: 54
                    }]
                ),
                Ev::Gap(4, 6, GapReason::CutShort)
            ]
        );
        assert_eq!(bytes_of(&feed(&mut r, seg(11, b"z", 3))), b"z");
    }

    #[test]
    fn segment_too_much_waiting_gives_up_on_the_hole() {
        let mut r = Reassembler::new(8);
        feed(&mut r, syn(0));
        assert!(feed(&mut r, seg(3, b"cdef", 2)).is_empty());
        let e = feed(&mut r, seg(7, b"ghijk", 3));
        assert_eq!(e[0], Ev::Gap(0, 2, GapReason::TooMuchWaiting));
        assert_eq!(bytes_of(&e), b"cdefghijk");
    }

    #[test]
    fn segment_without_syn_starts_at_first_byte_seen() {
        let mut r = Reassembler::default();
        let e = feed(&mut r, seg(7777, b"mid-stream", 1));
        assert_eq!(bytes_of(&e), b"mid-stream");
        // An older retransmission from before the capture started is counted, not shown.
        assert!(feed(&mut r, seg(7770, b"earlier", 2)).is_empty());
        assert_eq!(r.stats.before_start, 7);
    }

    #[test]
    fn segment_reordered_syn_rebases_before_delivery() {
        let mut r = Reassembler::default();
        // The first thing seen is an empty ACK; then the SYN arrives late.
        assert!(feed(&mut r, seg(101, b"", 1)).is_empty());
        assert!(feed(&mut r, syn(100)).is_empty());
        let e = feed(&mut r, seg(101, b"x", 3));
        assert_eq!(e[0], Ev::Data(0, b"x".to_vec(), e_origins(0, 1, 3)));
    }

    fn e_origins(at: u64, len: u32, frame: u64) -> Vec<Origin> {
        vec![Origin {
            at,
            len,
            frame,
            frame_offset: 54,
        }]
    }

    #[test]
    fn segment_reset_ends_the_stream() {
        let mut r = Reassembler::default();
        feed(&mut r, syn(0));
        feed(&mut r, seg(1, b"ab", 2));
        let e = feed(
            &mut r,
            SegmentData {
                rst: true,
                ..seg(3, b"reason", 3)
            },
        );
        assert_eq!(e, vec![Ev::Reset(2)]);
        assert!(r.is_closed());
    }

    proptest::proptest! {
        /// Any stream, cut into any segments, delivered in any order with copies and
        /// overlaps, comes out exactly once and in order, with origins that point at the
        /// right bytes of the right frames; across a sequence-number wrap too.
        #[test]
        fn segment_any_order_gives_the_stream_back(
            stream in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..400),
            cuts in proptest::collection::vec(0usize..400, 0..12),
            extra in proptest::collection::vec((0usize..400, 1usize..60), 0..6),
            order in proptest::collection::vec(proptest::prelude::any::<u32>(), 30),
            isn in proptest::prelude::any::<u32>(),
        ) {
            // Pieces [a, b) covering the stream, plus some overlapping copies.
            let mut points: Vec<usize> = cuts.into_iter().map(|c| c % stream.len()).collect();
            points.push(0);
            points.push(stream.len());
            points.sort_unstable();
            points.dedup();
            let mut pieces: Vec<(usize, usize)> = points.windows(2).map(|w| (w[0], w[1])).collect();
            for (a, n) in extra {
                let a = a % stream.len();
                pieces.push((a, (a + n).min(stream.len())));
            }
            // Shuffle by the random keys.
            let mut keyed: Vec<(u32, (usize, usize))> =
                pieces.into_iter().enumerate().map(|(i, p)| (order[i % order.len()], p)).collect();
            keyed.sort_by_key(|(k, _)| *k);
            let mut r = Reassembler::new(1 << 20);
            let mut out = Vec::new();
            r.segment(&syn(isn), &mut |e| out.push(own(e)));
            // Each piece is its own frame; the frame's bytes are 54 header bytes + the piece.
            let mut frames: Vec<Vec<u8>> = Vec::new();
            for (_, (a, b)) in &keyed {
                let mut f = vec![0u8; 54];
                f.extend_from_slice(&stream[*a..*b]);
                frames.push(f);
                let seq = isn.wrapping_add(1).wrapping_add(*a as u32);
                r.segment(&seg(seq, &stream[*a..*b], frames.len() as u64), &mut |e| out.push(own(e)));
            }
            r.finish(&mut |e| out.push(own(e)));
            proptest::prop_assert_eq!(bytes_of(&out), stream.clone());
            for e in &out {
                proptest::prop_assert!(!matches!(e, Ev::Gap(..)), "no gap expected: {:?}", e);
                if let Ev::Data(_, _, origins) = e {
                    for o in origins {
                        let f = &frames[(o.frame - 1) as usize];
                        let from = o.frame_offset as usize;
                        proptest::prop_assert_eq!(
                            &f[from..from + o.len as usize],
                            &stream[o.at as usize..o.at as usize + o.len as usize]
                        );
                    }
                }
            }
        }
    }
}
