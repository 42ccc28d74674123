//! `wirelab dissect FILE`: read a capture file and show every packet through the engine.

use std::io::{self, BufWriter};
use std::process::ExitCode;

use super::Error;
use crate::cli::{DissectArgs, ViewArgs};
use crate::dissect::{Dissection, dissect_into};
use crate::filter::Filter;
use crate::render::{Options, Printer};
use crate::source::file::CaptureReader;

/// Build the render options from the view arguments.
pub fn options(view: &ViewArgs, color: bool) -> Options {
    Options {
        view: view.view,
        color,
        highlight: view.field.clone(),
        width: super::term_width(),
    }
}

pub fn run(args: &DissectArgs, color: bool) -> Result<ExitCode, Error> {
    let filter = match &args.view.filter {
        Some(expr) => Some(Filter::parse(expr)?),
        None => None,
    };
    let mut reader = CaptureReader::open(&args.file)?;
    let stdout = io::stdout().lock();
    let mut printer = Printer::new(
        BufWriter::with_capacity(1 << 16, stdout),
        options(&args.view, color),
    );
    let mut d = Dissection::default();
    let mut shown = 0u64;
    let result = loop {
        if args.view.count.is_some_and(|c| shown >= c) {
            break Ok(());
        }
        match reader.next_frame() {
            Ok(Some(frame)) => {
                dissect_into(&mut d, &frame);
                if filter.as_ref().is_none_or(|f| f.matches(&d)) {
                    printer.print(&d)?;
                    shown += 1;
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    printer.flush()?;
    for w in &reader.warnings {
        eprintln!("wirelab: warning: {}: {w}", args.file.display());
    }
    if result.is_ok() && reader.frames_read() == 0 {
        // Not an error, but an empty screen would leave a learner wondering.
        eprintln!(
            "wirelab: {}: the file is a valid capture with no packets in it",
            args.file.display()
        );
    }
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("wirelab: error: {e}");
            Ok(ExitCode::from(2))
        }
    }
}
