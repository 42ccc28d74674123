//! The one pipeline: from frames to dissections, in the order that makes every view agree.
//!
//! # The idea
//!
//! A frame is understood in three steps, and the order matters:
//!
//! ```text
//!  Frame ──> 1. dissect ──> 2. stream tracking ──> 3. upper layers ──> Dissection ──> any view
//!            (this frame   (what the frames        (HTTP, WebSocket,
//!             alone: its    before it tell:          Engine.IO, Socket.IO
//!             headers)      tcp.stream, relative     read from the byte
//!                           seq/ack, scaled window,  streams the tracker
//!                           retransmissions)         put back in order)
//! ```
//!
//! 1. [`crate::dissect`] reads the frame's own headers, and keeps the ones every consumer needs
//!    as typed views (an [`IpHeader`](crate::dissect::ip::IpHeader), a
//!    [`TcpSegment`](crate::dissect::tcp::TcpSegment)). An IP datagram that came in
//!    fragments is put back together in the frame that completes it
//!    ([`crate::stream::ipfrag`]), and its layers read from the whole.
//! 2. [`crate::stream::StreamTracker`] places each segment in its connection and writes what
//!    only earlier frames can tell into the typed view (and, for the detailed views, as
//!    fields with Wireshark's names).
//!    A DNS response is linked to its query ([`crate::stream::dnslink`]).
//! 3. [`crate::stream::upper::Upper`] finds the application's messages in the byte streams and
//!    adds their layers to the frame that completed each.
//!
//! A [`Pipeline`] owns that order, and the time every view counts from: the capture's first
//! packet (tshark's `frame.time_relative`), whatever is filtered out later. Every place that
//! turns frames into dissections goes through it: `dissect`, `capture`, the demos and their
//! narration, the lesson questions, the tour and the exports. So a number a student reads is
//! worked out once, the same way, whichever view shows it.
//!
//! # How much work
//!
//! [`Config`] says how much each step does. The one-line summary of a million packets needs
//! little: a *lean* dissection (no per-bit fields) and only the numbering of TCP segments
//! (relative sequence numbers and the scaled window, [`Tracking::Numbers`]). The layer tree,
//! JSON, the ladder, `--stats`, `--follow` and `--graph` need the whole SEQ/ACK analysis
//! ([`Tracking::Analysis`]) and every field; `--stats` alone needs the whole analysis but no
//! fields and no application layers ([`Config::conversations`]).
//!
//! Inside, step 1 (`Front`) needs no other frame, while steps 2 and 3 (`Back`) need the frames
//! in order: the two halves are kept apart so that this stays visible, and so that the
//! summary of a long capture can run them on several cores: [`Pipeline::front_half`] gives
//! step 1 alone, for any thread, and [`Pipeline::push_dissected`] the rest, in capture order
//! (`commands::cores` explains how the threads share the work). A first try that ran the
//! reading and step 1 on one thread and handed every dissection to another was slower: each
//! dissection was written on one core and read on the other. There, one thread keeps a small
//! batch of frames from the file to the screen, and only the pipeline's state moves between
//! the cores (BENCHMARKS.md, issue 15).
//!
//! ```
//! use wirelab::pipeline::{Config, Pipeline};
//! use wirelab::source::sample::sample_conversation;
//!
//! let mut p = Pipeline::new(Config::full());
//! for f in sample_conversation() {
//!     let d = p.push(&f.as_frame());
//!     if let Some(seg) = d.tcp_segment() {
//!         let a = seg.analysis.expect("the tracker numbered it");
//!         assert!(a.relative); // counted from the initial sequence number
//!     }
//! }
//! p.finish();
//! ```

use crate::dissect::model::{Dissection, Field, Frame, Proto, Timestamp};
use crate::dissect::{dissect_into, dissect_lean};
use crate::stream::dnslink::DnsLinker;
use crate::stream::ipfrag::Defragmenter;
use crate::stream::tcp::nanos;
use crate::stream::upper::Upper;
use crate::stream::{StreamTracker, TrackerConfig, is_stream_field};

/// How much the stream tracker does.
#[derive(Clone, Debug, Default)]
pub enum Tracking {
    /// Nothing: each frame on its own (sequence numbers as written).
    Off,
    /// Only the numbering of TCP segments: conversation, relative sequence and acknowledgment
    /// numbers, the scaled window, written into the typed views. What the one-line summary
    /// shows, at a fraction of the analysis' cost.
    #[default]
    Numbers,
    /// The whole analysis ([`TrackerConfig`]: RTTs, retransmissions, `--stats`, follow,
    /// graph), with the fields added to every dissection.
    Analysis(TrackerConfig),
}

/// What the pipeline does for each frame.
#[derive(Clone, Debug)]
pub struct Config {
    /// Dissect for the one-line summary only: every layer and header field, not the single
    /// flag bits and option details only the detailed views show
    /// ([`crate::dissect::dissect_lean`]).
    pub lean: bool,
    pub tracking: Tracking,
    /// Find HTTP, WebSocket, Engine.IO and Socket.IO in the byte streams.
    pub upper: bool,
    /// Put IP datagrams cut into fragments back together ([`crate::stream::ipfrag`]), as
    /// Wireshark does by default; off, each fragment is read on its own (`--no-reassembly`).
    pub reassemble_ip: bool,
}

impl Config {
    /// Everything: every field, the whole stream analysis, the application layers.
    pub fn full() -> Config {
        Config {
            lean: false,
            tracking: Tracking::Analysis(TrackerConfig::default()),
            upper: true,
            reassemble_ip: true,
        }
    }

    /// What the one-line summary needs: a lean dissection, numbered segments, the
    /// application layers.
    pub fn summary() -> Config {
        Config {
            lean: true,
            tracking: Tracking::Numbers,
            upper: true,
            reassemble_ip: true,
        }
    }

    /// What the conversation table (`--stats` alone) needs: the whole SEQ/ACK analysis
    /// (retransmissions, duplicate ACKs and round-trip times are counted per direction), but
    /// nothing a packet view shows: a lean dissection (the typed views the tracker reads are the
    /// same as the full one's), no analysis fields added to each packet, no HTTP or WebSocket
    /// layers (the table counts TCP segments, not the messages in them).
    pub fn conversations() -> Config {
        Config {
            lean: true,
            tracking: Tracking::Analysis(TrackerConfig {
                annotate: false,
                ..TrackerConfig::default()
            }),
            upper: false,
            reassemble_ip: true,
        }
    }

    /// What showing packets needs. The detailed views (layer tree, hex, JSON, ladder, the
    /// exports and the reports) need every field and the whole analysis. The summary alone
    /// needs the lean reading, unless a display filter looks at the fields (`filter_fields`,
    /// the names it uses): then every field must be there, and the analysis too if the
    /// filter names one of the fields only the analysis adds (`tcp.analysis.*`, `tcp.seq`…).
    pub fn for_display(detailed: bool, filter_fields: Option<&[&str]>) -> Config {
        let analysis =
            detailed || filter_fields.is_some_and(|names| names.iter().any(|n| is_stream_field(n)));
        if analysis {
            return Config::full();
        }
        Config {
            lean: filter_fields.is_none(),
            ..Config::summary()
        }
    }
}

/// Counts the pipeline keeps, for notes after the packets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Frames pushed.
    pub frames: u64,
    /// TCP segments whose window scale could not be known (their connection's SYNs were not
    /// captured), so their window is shown as written.
    pub scale_unknown: u64,
}

/// Turns frames into dissections, in the one order. See the module documentation.
pub struct Pipeline {
    front: Front,
    back: Back,
    d: Dissection,
}

/// Step 1 of the pipeline: each frame on its own (and the fragments of an IP datagram put
/// back together). Needs nothing from the steps after it.
struct Front {
    lean: bool,
    defrag: Option<Defragmenter>,
    /// The capture's first time stamp: every view counts time from it.
    start: Option<Timestamp>,
    frames: u64,
}

/// Steps 2 and 3: what the frames before this one tell (the stream tracker, DNS links), and
/// the messages in the byte streams. Takes the frames in capture order.
struct Back {
    tracker: Option<StreamTracker>,
    upper: Option<Upper>,
    dns: Option<DnsLinker>,
    scale_unknown: u64,
    finished: bool,
}

impl Front {
    fn push(&mut self, frame: &Frame, d: &mut Dissection) {
        self.frames += 1;
        // The clock every view reads: since the capture's first packet (as tshark, a first
        // packet without a time counts as time 0).
        let start = *self.start.get_or_insert(frame.ts.unwrap_or_default());
        // 1. The frame on its own.
        FrontHalf {
            lean: self.lean,
            start,
        }
        .dissect(frame, d);
        self.in_order(d);
    }

    /// 1b. The pieces of a fragmented IP datagram, put back together in the frame that
    /// completes it (before the tracker, which reads the datagram's TCP or UDP header). The
    /// only part of step 1 that needs the frames before.
    fn in_order(&mut self, d: &mut Dissection) {
        if let Some(f) = self.defrag.as_mut() {
            f.observe(d, self.lean);
        }
    }
}

/// Step 1 of the pipeline for one frame, on any thread: the frame on its own, and the time
/// every view counts from. [`Pipeline::push_dissected`] then does the rest, in capture order.
/// It is what lets the summary of a long capture use every core (`commands::cores`).
#[derive(Clone, Copy, Debug)]
pub struct FrontHalf {
    lean: bool,
    /// The capture's first time stamp.
    start: Timestamp,
}

impl FrontHalf {
    /// Read `frame`'s own headers into `d` (its previous contents are dropped, its memory
    /// reused).
    pub fn dissect(&self, frame: &Frame, d: &mut Dissection) {
        if self.lean {
            dissect_lean(d, frame);
        } else {
            dissect_into(d, frame);
        }
        d.capture_start = Some(self.start);
        if !self.lean {
            time_relative_field(d);
        }
    }
}

impl Back {
    fn push(&mut self, d: &mut Dissection) {
        // 2. What the frames before it tell.
        if let Some(t) = self.tracker.as_mut() {
            t.observe(d);
        }
        // DNS responses linked to their queries.
        if let Some(l) = self.dns.as_mut() {
            l.observe(d);
        }
        // 3. The messages in the byte streams.
        if let Some(u) = self.upper.as_mut() {
            u.observe(d);
        }
        if d.tcp_segment()
            .and_then(|s| s.analysis)
            .is_some_and(|a| a.scale == crate::dissect::tcp::WindowScale::Unknown)
        {
            self.scale_unknown += 1;
        }
    }
}

impl Pipeline {
    pub fn new(cfg: Config) -> Pipeline {
        let tracker = match &cfg.tracking {
            Tracking::Off => None,
            Tracking::Numbers => Some(StreamTracker::new(TrackerConfig {
                analyse: false,
                annotate: false,
                ..TrackerConfig::default()
            })),
            Tracking::Analysis(t) => Some(StreamTracker::new(t.clone())),
        };
        Pipeline {
            front: Front {
                lean: cfg.lean,
                defrag: cfg.reassemble_ip.then(Defragmenter::new),
                start: None,
                frames: 0,
            },
            back: Back {
                upper: cfg.upper.then(|| Upper::with_lean(cfg.lean)),
                dns: (!matches!(cfg.tracking, Tracking::Off)).then(DnsLinker::new),
                tracker,
                scale_unknown: 0,
                finished: false,
            },
            d: Dissection::default(),
        }
    }

    /// Take the next frame of the capture, in capture order, and return what is known of it.
    /// The dissection is reused for the next frame (its memory too): clone it to keep it.
    pub fn push(&mut self, frame: &Frame) -> &Dissection {
        self.push_mut(frame)
    }

    /// [`Pipeline::push`], for a caller that adds to the dissection (a demo's notes).
    pub fn push_mut(&mut self, frame: &Frame) -> &mut Dissection {
        self.front.push(frame, &mut self.d);
        self.back.push(&mut self.d);
        &mut self.d
    }

    /// Step 1 on its own, to run on any thread, once the capture's first frame went through
    /// [`Pipeline::push`] (its time stamp is the clock every view reads): `None` before.
    pub fn front_half(&self) -> Option<FrontHalf> {
        Some(FrontHalf {
            lean: self.front.lean,
            start: self.front.start?,
        })
    }

    /// The rest of [`Pipeline::push`] for a dissection [`FrontHalf::dissect`] made: the steps
    /// that need the frames before it. Call it in capture order, with every frame after the
    /// ones pushed.
    pub fn push_dissected(&mut self, d: &mut Dissection) {
        self.front.frames += 1;
        self.front.in_order(d);
        self.back.push(d);
    }

    /// The dissection of the last frame pushed.
    pub fn dissection(&self) -> &Dissection {
        &self.d
    }

    /// The capture is over: hand out what the stream readers still hold (bytes waiting behind
    /// holes). Call it once, after the last frame; later calls do nothing.
    pub fn finish(&mut self) {
        let b = &mut self.back;
        if b.finished {
            return;
        }
        b.finished = true;
        if let Some(t) = b.tracker.as_mut() {
            t.finish();
        }
        if let Some(u) = b.upper.as_mut() {
            u.finish();
        }
    }

    /// The stream tracker, for the reports over whole conversations (`--stats`, `--follow`,
    /// `--graph`).
    pub fn tracker(&self) -> Option<&StreamTracker> {
        self.back.tracker.as_ref()
    }

    /// When the capture's first packet was seen.
    pub fn start(&self) -> Option<Timestamp> {
        self.front.start
    }

    pub fn counts(&self) -> Counts {
        Counts {
            frames: self.front.frames,
            scale_unknown: self.back.scale_unknown,
        }
    }

    /// Every frame through the pipeline, each dissection kept (for a lesson's questions, a
    /// test, a short demo: not for a capture of a million packets).
    pub fn collect<'a>(
        cfg: Config,
        frames: impl IntoIterator<Item = Frame<'a>>,
    ) -> Vec<Dissection> {
        let mut p = Pipeline::new(cfg);
        let out = frames.into_iter().map(|f| p.push(&f).clone()).collect();
        p.finish();
        out
    }
}

/// Add `frame.time_relative` (seconds since the capture's first packet) to the frame layer,
/// after the arrival time, as Wireshark shows it.
fn time_relative_field(d: &mut Dissection) {
    let (Some(ts), Some(start)) = (d.ts, d.capture_start) else {
        return;
    };
    let Some(frame) = d.layers.first().filter(|l| l.proto == Proto::Frame) else {
        return;
    };
    let at = (frame.fields.start as usize..frame.fields.end as usize)
        .find(|&i| d.fields[i].name == "frame.time_epoch")
        .map_or(frame.fields.end as usize, |i| i + 1);
    let f = Field {
        name: "frame.time_relative",
        label: "Relative time",
        value: crate::stream::fields::duration(nanos(ts) - nanos(start)),
        explain: "Seconds since the capture's first packet: the time every view shows.",
        ..Field::BLANK
    };
    d.insert_fields(0, at, [f]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::sample::sample_conversation;

    #[test]
    fn push_counts_time_from_the_first_frame_and_numbers_segments() {
        let frames = sample_conversation();
        let all = Pipeline::collect(Config::full(), frames.iter().map(|f| f.as_frame()));
        let first = frames[0].ts.unwrap();
        for (d, f) in all.iter().zip(&frames) {
            assert_eq!(d.capture_start, Some(first));
            let rel = d.field("frame.time_relative").expect("added");
            assert_eq!(
                rel.tshark(&d.data),
                format!("{:.9}", f.ts.unwrap().since(first))
            );
        }
        let syn = all
            .iter()
            .filter_map(|d| d.tcp_segment())
            .find(|s| s.flags.is_syn_only())
            .unwrap();
        let a = syn.analysis.unwrap();
        assert_eq!((a.seq, a.relative), (0, true));
    }

    #[test]
    fn summary_numbers_agree_with_the_full_analysis() {
        let frames = sample_conversation();
        let full = Pipeline::collect(Config::full(), frames.iter().map(|f| f.as_frame()));
        let lean = Pipeline::collect(Config::summary(), frames.iter().map(|f| f.as_frame()));
        for (a, b) in full.iter().zip(&lean) {
            let (a, b) = (a.tcp_segment(), b.tcp_segment());
            let strip = |s: Option<&crate::dissect::tcp::TcpSegment>| {
                s.and_then(|s| s.analysis).map(|mut x| {
                    x.flags = 0;
                    x
                })
            };
            assert_eq!(strip(a), strip(b));
        }
    }
}
