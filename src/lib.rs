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
//! * [`source`]: where frames come from: capture files ([`source::file`]).
//! * [`render`]: the views: one line per packet, the layer tree, the hex dump, JSON.
//! * [`filter`]: display filters such as `tcp.flags.syn == 1 && ip.src == 10.0.0.1`.
//! * [`glossary`]: the course vocabulary in our own words, and the two layer models side by side.
//! * [`cli`]: the command line, one argument struct per subcommand.
//! * [`commands`]: what each subcommand does.
//! * [`ws`]: WebSocket live: a server, a client and the `ws echo` lesson.

pub mod cli;
pub mod commands;
pub mod dissect;
pub mod filter;
pub mod glossary;
pub mod render;
pub mod source;
pub mod ws;
