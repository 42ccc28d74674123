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
//!  source (file, live, lesson) ──> Frame ──> Pipeline ──> Dissection ──> render (summary, layers,
//!                                            1. dissect                    hex, json, ladder,
//!                                            2. stream tracking            stats, graph, export)
//!                                            3. upper layers
//! ```
//!
//! The modules are layers, and each uses only the ones below it:
//!
//! ```text
//!  commands                      what each subcommand does (the only user of cli)
//!     │
//!  demos · lessons · render      traffic made on purpose, the course, the views
//!     │      (and ws, sio, instructor, filter, glossary beside them)
//!  pipeline                      the one order: dissect → stream tracking → upper layers
//!     │
//!  stream                        what needs many frames: conversations, relative numbers,
//!     │                          RTT, reassembly, HTTP/WebSocket/Socket.IO in the streams
//!  dissect                       one frame: its headers, as fields and as typed views
//!     │
//!  dissect::model                the layer model: Dissection, Layer, Field, Frame
//! ```
//!
//! Nothing imports from a layer above it: `stream` never uses `render`, nothing below
//! `commands` uses `commands`; a type two layers share lives in the lower one (TCP's
//! [`Flags`](dissect::tcp::Flags) and [`Seq`](dissect::tcp::Seq) in [`dissect::tcp`], the
//! connection [`State`](stream::state::State)s in [`stream::state`], the error type here).
//!
//! * [`dissect`]: the engine. The layer model ([`dissect::model`]), field tables read like RFC
//!   diagrams ([`dissect::fields`]), one file per protocol, and the typed views every consumer
//!   reads ([`dissect::ip::IpHeader`], [`dissect::tcp::TcpSegment`], [`dissect::udp::UdpDatagram`]).
//! * [`stream`]: what needs many packets: conversations (`tcp.stream`), relative sequence
//!   numbers, round-trip times and retransmissions, TCP reassembly, follow, graphs, and the
//!   application layers read from the byte streams ([`stream::upper`]).
//! * [`pipeline`]: the one place that runs dissect, stream tracking and the upper layers in
//!   order, for every source: files, live capture, demos, lesson questions, exports.
//! * [`source`]: where frames come from: capture files ([`source::file`]), live interfaces
//!   ([`source::live`]), the lab, a private two-host network ([`source::lab`]), and the tour's
//!   sample conversation ([`source::sample`]).
//! * [`render`]: the views: one line per packet, the layer tree, the hex dump, JSON, the
//!   ladder, `--stats`, graphs and the HTML/SVG exports.
//! * [`filter`]: display filters such as `tcp.flags.syn == 1 && ip.src == 10.0.0.1`.
//! * [`demos`]: the lessons' live traffic: TCP and UDP servers and clients whose every socket
//!   call is narrated next to the packets it caused, and the hand-made TCP handshake.
//! * [`glossary`]: the course vocabulary in our own words, and the two layer models side by side.
//! * [`instructor`]: instructor mode: `--step` and `--slow`, one packet at a time for a class.
//! * [`lessons`]: the course: lesson catalogue, progress, trace questions, exercise grading.
//! * [`sio`]: Socket.IO live: the chat server, wirelab's own client, the lesson's demo.
//! * [`ws`]: WebSocket live: a server, a client and the `ws echo` lesson.
//! * [`cli`]: the command line, one argument struct per subcommand.
//! * [`commands`]: what each subcommand does.

pub mod cli;
pub mod commands;
pub mod demos;
pub mod dissect;
pub mod filter;
pub mod glossary;
pub mod instructor;
pub mod lessons;
pub mod pipeline;
pub mod render;
pub mod sio;
pub mod source;
pub mod stream;
pub mod ws;

/// Any error a command can end with. A boxed error is enough here: every error is shown to a
/// person and the process ends; no caller needs to match on its kind (mini-redis does the
/// same; an enum would pay off only if callers had to tell errors apart).
pub type Error = Box<dyn std::error::Error + Send + Sync>;
