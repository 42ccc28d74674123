//! Short by default: which frames of a long transfer a demo leaves out of its listing.
//!
//! A 70,000-byte WebSocket message crosses the lab's Ethernet (MTU 1500) as about fifty TCP
//! segments each way, each acknowledged: a hundred lines that all say "the middle of the same
//! message". The first few show how a message is cut into segments and the last few how it
//! ends; the rest are left out of the listing, and the demo says which and that `--full`
//! shows them.
//!
//! Only the *listing* is shortened. Every frame still goes through the pipeline and the stream
//! analysis (the left-out frames are hidden with a display filter on `frame.number`, which is
//! applied after the analysis), so sequence numbers, round-trip times and retransmission marks
//! stay exactly what they are with `--full`.

use crate::dissect::Dissection;
use crate::dissect::model::Proto;
use crate::dissect::tcp::Flags;
use crate::pipeline::{Config, Pipeline, Tracking};
use crate::source::OwnedFrame;

/// Runs shorter than this are shown whole.
const MIN_RUN: usize = 10;
/// How many frames of a long run are kept at its start and at its end.
const KEEP_HEAD: usize = 4;
const KEEP_TAIL: usize = 2;

/// A frame that only carries the middle of something: a TCP segment with no SYN, FIN or RST
/// whose bytes complete no message of a layer above TCP (a piece of a message, shown as
/// data, or a bare ACK).
fn plain_segment(d: &Dissection) -> bool {
    // Above TCP: nothing (a bare ACK) or undissected bytes (a piece of a message).
    let top_is_tcp = d
        .layers
        .last()
        .is_some_and(|l| matches!(l.proto, Proto::Tcp | Proto::Data));
    top_is_tcp
        && d.tcp_segment()
            .is_some_and(|s| !s.flags.intersects(Flags::SYN | Flags::FIN | Flags::RST))
}

/// What deciding needs: every layer (the application's messages in the byte streams), not
/// the stream analysis.
fn config() -> Config {
    Config {
        lean: true,
        tracking: Tracking::Off,
        upper: true,
        reassemble_ip: true,
    }
}

/// The frame numbers (first, last) of the middles of long runs of plain segments.
pub fn long_runs(frames: &[OwnedFrame]) -> Vec<(u64, u64)> {
    let mut pipe = Pipeline::new(config());
    let plain: Vec<bool> = frames
        .iter()
        .map(|f| plain_segment(pipe.push(&f.as_frame())))
        .collect();
    pipe.finish();
    let mut out = Vec::new();
    let mut i = 0;
    while i < frames.len() {
        if !plain[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < frames.len() && plain[i] {
            i += 1;
        }
        if i - start >= MIN_RUN {
            out.push((
                frames[start + KEEP_HEAD].number,
                frames[i - 1 - KEEP_TAIL].number,
            ));
        }
    }
    out
}

/// The display filter that shows everything `user` asked for except the frames in `runs`
/// (`None` when nothing is left out and the user gave no filter).
pub fn filter_without(runs: &[(u64, u64)], user: Option<&str>) -> Option<String> {
    let mut parts: Vec<String> = runs
        .iter()
        .map(|(a, b)| format!("!(frame.number >= {a} && frame.number <= {b})"))
        .collect();
    if let Some(u) = user {
        parts.insert(0, format!("({u})"));
    }
    (!parts.is_empty()).then(|| parts.join(" && "))
}

/// One sentence naming what was left out.
pub fn left_out(runs: &[(u64, u64)]) -> Option<String> {
    if runs.is_empty() {
        return None;
    }
    let n: u64 = runs.iter().map(|(a, b)| b - a + 1).sum();
    let which: Vec<String> = runs.iter().map(|(a, b)| format!("{a}–{b}")).collect();
    Some(format!(
        "{n} frames in the middle of long transfers are left out of this listing (frames {}): \
         each carries the next piece of the same message, or only acknowledges one. --full \
         shows every frame.",
        which.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_without_keeps_the_users_filter_and_hides_the_runs() {
        assert_eq!(filter_without(&[], None), None);
        assert_eq!(filter_without(&[], Some("tcp")).as_deref(), Some("(tcp)"));
        assert_eq!(
            filter_without(&[(5, 9), (20, 30)], Some("tcp")).as_deref(),
            Some(
                "(tcp) && !(frame.number >= 5 && frame.number <= 9) && \
                 !(frame.number >= 20 && frame.number <= 30)"
            )
        );
        let f = filter_without(&[(5, 9)], None).unwrap();
        crate::filter::Filter::parse(&f).expect("a valid display filter");
    }

    #[test]
    fn long_runs_of_the_websocket_trace_leave_the_handshake_and_the_messages() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("lessons/07_websocket/trace.pcapng");
        let frames = crate::source::file::read_all(&path).expect("the lesson's trace");
        let runs = long_runs(&frames);
        assert!(!runs.is_empty(), "the 70,000-byte message makes long runs");
        let hidden = |n: u64| runs.iter().any(|&(a, b)| (a..=b).contains(&n));
        // Every frame that completes a message, and every SYN/FIN, is still listed.
        let mut pipe = Pipeline::new(config());
        for f in &frames {
            if !plain_segment(pipe.push(&f.as_frame())) {
                assert!(!hidden(f.number), "frame {} must stay", f.number);
            }
        }
        assert!(left_out(&runs).unwrap().contains("--full"));
    }
}
