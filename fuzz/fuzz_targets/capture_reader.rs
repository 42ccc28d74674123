//! Fuzz the capture-file reader: any bytes read as a pcap or pcapng file must give frames or a
//! clean error naming a byte offset inside the file, never a panic or a hang; every frame it
//! gives must then dissect cleanly.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run capture_reader`
#![no_main]

use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wirelab::dissect::{dissect, validate};
use wirelab::source::file::CaptureReader;

fuzz_target!(|input: &[u8]| {
    let size = input.len() as u64;
    let src = Box::new(Cursor::new(input.to_vec()));
    let mut reader = match CaptureReader::from_reader(Path::new("fuzz.pcap"), src) {
        Ok(r) => r,
        Err(e) => {
            assert!(
                e.offset <= size,
                "error offset {} past the file's {size} bytes",
                e.offset
            );
            return;
        }
    };
    let mut frames = 0u64;
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                frames += 1;
                assert_eq!(frame.number, frames);
                assert!(frame.data.len() as u64 <= size);
                let d = dissect(&frame);
                if let Err(e) = validate(&d) {
                    panic!("{e}");
                }
            }
            Ok(None) => break,
            Err(e) => {
                assert!(
                    e.offset <= size,
                    "error offset {} past the file's {size} bytes",
                    e.offset
                );
                assert_eq!(e.frames_read, frames);
                break;
            }
        }
    }
});
