//! The views: ways to show a [`Dissection`].
//!
//! * [`summary`]: one line a packet, like tcpdump: number, time, who → whom, protocol, what.
//! * [`layers`]: the layer tree, each layer placed on the OSI and TCP/IP models, each field
//!   with its value and what it is for.
//! * [`hex`]: the bytes themselves, coloured by the layer they belong to.
//! * [`stats`], [`follow`], [`graph`]: reports over whole conversations (`--stats`,
//!   `--follow`, `--graph`), from [`crate::stream`].
//! * [`ladder`]: each TCP conversation as a sequence diagram, one arrow per segment.
//! * [`json`]: one JSON object a packet, with a flat `fields` map that uses Wireshark's field
//!   names and writes every value exactly as `tshark -T fields` does.
//!
//! Every view writes into a `String` first and the [`Printer`] sends it out through one
//! buffered writer, so a million packets cost a million appends, not a million system calls.

pub mod follow;
pub mod graph;
pub mod hex;
pub mod json;
pub mod ladder;
pub mod layers;
pub mod stats;
pub mod summary;

use std::io::{self, Write};

use clap::ValueEnum;

use crate::dissect::model::{Dissection, Timestamp};

/// Which view to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Default)]
pub enum View {
    /// One line a packet, like tcpdump.
    #[default]
    Summary,
    /// Every layer and field, placed on the OSI and TCP/IP models, with explanations.
    Layers,
    /// The bytes, coloured by layer.
    Hex,
    /// JSON Lines: one object a packet, with Wireshark's field names and tshark's formatting.
    Json,
    /// A sequence diagram of each TCP conversation: one arrow per segment between the two
    /// ends, with flags, seq/ack, window, length and socket states.
    Ladder,
}

/// How to render.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub view: View,
    /// Use colour (escape codes).
    pub color: bool,
    /// A field name whose bytes the hex view highlights (`--field tcp.flags`).
    pub highlight: Option<String>,
    /// Terminal width to fit into.
    pub width: usize,
}

/// Prints dissections one after another in the chosen view.
pub struct Printer<W: Write> {
    out: W,
    pub opts: Options,
    /// The first packet's time, so the summary can show times relative to it.
    first: Option<Timestamp>,
    buf: String,
    /// The ladder view's memory of the conversations drawn so far.
    ladder: ladder::Ladder,
}

impl<W: Write> Printer<W> {
    pub fn new(out: W, opts: Options) -> Printer<W> {
        Printer {
            out,
            opts,
            first: None,
            buf: String::with_capacity(4096),
            ladder: ladder::Ladder::new(),
        }
    }

    /// Render one packet.
    pub fn print(&mut self, d: &Dissection) -> io::Result<()> {
        if self.first.is_none() {
            self.first = d.ts;
        }
        let first = self.first.unwrap_or_default();
        self.buf.clear();
        match self.opts.view {
            View::Summary => summary::line(d, first, self.opts.color, &mut self.buf),
            View::Layers => layers::tree(d, &self.opts, &mut self.buf),
            View::Hex => hex::dump(d, &self.opts, &mut self.buf),
            View::Json => json::line(d, &mut self.buf),
            View::Ladder => self.ladder.packet(d, &self.opts, &mut self.buf),
        }
        self.out.write_all(self.buf.as_bytes())
    }

    /// In the ladder view, show the sequence and acknowledgment numbers as written on the
    /// wire too, next to the relative ones.
    pub fn set_absolute_seq(&mut self, on: bool) {
        self.ladder.absolute = on;
    }

    /// Write text as it is (a note between packets, a heading).
    pub fn text(&mut self, s: &str) -> io::Result<()> {
        self.out.write_all(s.as_bytes())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The packets are over: write what a view keeps until the end (the ladder's count of
    /// packets it did not draw), then flush.
    pub fn finish(&mut self) -> io::Result<()> {
        if self.opts.view == View::Ladder {
            self.buf.clear();
            self.ladder.finish(&self.opts, &mut self.buf);
            self.out.write_all(self.buf.as_bytes())?;
        }
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}
