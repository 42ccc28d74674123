//! # wirelab
//!
//! Learn networking by making it happen on your own machine and looking at the bytes.
//!
//! wirelab produces real traffic (or reads a capture), takes every frame apart header by header
//! and shows each field in its place on both the OSI model and the TCP/IP model.
//!
//! ## Layout
//!
//! One engine, many ways to feed it and many ways to show what it found:
//!
//! ```text
//!  source (file, live, lesson) ──> Frame ──> dissect ──> Dissection ──> render (summary, layers, hex, json)
//! ```
//!
//! * [`dissect`]: the engine. The layer model ([`dissect::model`]), field tables read like RFC
//!   diagrams ([`dissect::fields`]), and one file per protocol.
//! * [`source`]: where frames come from: capture files ([`source::file`]), live interfaces
//!   ([`source::live`]) and the lab, a private two-host network ([`source::lab`]).
//! * [`demos`]: the lessons' live traffic: TCP and UDP servers and clients whose every socket
//!   call is narrated next to the packets it caused.
//! * [`render`]: the views: one line per packet, the layer tree, the hex dump, JSON.
//! * [`stream`]: what needs many packets: conversations (`tcp.stream`), relative sequence
//!   numbers, round-trip times and retransmissions, TCP reassembly, follow, graphs.
//! * [`filter`]: display filters such as `tcp.flags.syn == 1 && ip.src == 10.0.0.1`.
//! * [`escape`]: text a peer wrote, made safe to print (no raw ESC, BEL, CR reaches a terminal).
//! * [`glossary`]: the course vocabulary in our own words, and the two layer models side by side.
//! * [`demos`]: lessons that make traffic themselves, such as the hand-made TCP handshake.
//! * [`instructor`]: instructor mode: `--step` and `--slow`, one packet at a time for a class.
//! * [`lessons`]: the course: lesson catalogue, progress, trace questions, exercise grading.
//! * [`cli`]: the command line, one argument struct per subcommand.
//! * [`commands`]: what each subcommand does.
//! * [`sio`]: Socket.IO live: the chat server, wirelab's own client, the lesson's demo.
//! * [`ws`]: WebSocket live: a server, a client and the `ws echo` lesson.

pub mod cli;
pub mod commands;
pub mod demos;
pub mod dissect;
pub mod escape;
pub mod filter;
pub mod glossary;
pub mod instructor;
pub mod lessons;
pub mod render;
pub mod sio;
pub mod source;
pub mod stream;
pub mod ws;

/// Any error a command can end with. A boxed error is enough here: every error is shown to a
/// person and the process ends; no caller needs to match on its kind (mini-redis does the
/// same; an enum would pay off only if callers had to tell errors apart).
pub type Error = Box<dyn std::error::Error + Send + Sync>;
