//! `wirelab make-capture` (hidden): build a large capture by repeating real frames, for the
//! benchmarks. It reads every Ethernet frame from the capture files given (or found in the
//! folders given) and writes them round-robin, with fresh increasing timestamps, until the
//! packet count (and optionally a byte size) is reached.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::Error;
use crate::cli::MakeCaptureArgs;
use crate::dissect::model::{Frame, LinkType, Timestamp};
use crate::source::OwnedFrame;
use crate::source::file::{CaptureWriter, read_all};

pub fn run(args: &MakeCaptureArgs) -> Result<ExitCode, Error> {
    let mut files: Vec<PathBuf> = Vec::new();
    for p in &args.from {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            v.sort();
            files.extend(v);
        } else {
            files.push(p.clone());
        }
    }
    let mut frames: Vec<OwnedFrame> = Vec::new();
    for f in &files {
        // Damaged files are part of some corpora; take what can be read.
        if let Ok(v) = read_all(Path::new(f)) {
            frames.extend(
                v.into_iter()
                    .filter(|f| f.link == LinkType::ETHERNET && !f.data.is_empty()),
            );
        }
    }
    if frames.is_empty() {
        return Err("no Ethernet frames found in the given files".into());
    }
    let mut w = CaptureWriter::create(&args.write, LinkType::ETHERNET)?;
    let start = Timestamp {
        secs: 1_700_000_000,
        nanos: 0,
    };
    let mut written = 0u64;
    let mut bytes = 0u64;
    let mut i = 0usize;
    while written < args.packets || bytes < args.min_bytes {
        let f = &frames[i % frames.len()];
        i += 1;
        let t = start.secs * 1_000_000_000 + written as i64 * 10_000;
        let frame = Frame {
            number: written + 1,
            ts: Some(Timestamp {
                secs: t / 1_000_000_000,
                nanos: (t % 1_000_000_000) as u32,
            }),
            link: LinkType::ETHERNET,
            wire_len: f.wire_len,
            data: &f.data,
        };
        w.write(&frame)?;
        written += 1;
        bytes += 16 + f.data.len() as u64;
    }
    w.flush()?;
    eprintln!(
        "wrote {written} frames ({bytes} bytes of records) from {} distinct frames to {}",
        frames.len(),
        args.write.display()
    );
    Ok(ExitCode::SUCCESS)
}
