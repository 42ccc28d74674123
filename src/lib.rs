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
//!   Newer protocols (DHCP, TLS) declare themselves in one file each and are listed in the
//!   [`dissect::registry`], which dispatch, filters, views and the glossary read.
//! * [`stream`]: what needs many packets: conversations (`tcp.stream`), relative sequence
//!   numbers, round-trip times and retransmissions, TCP reassembly, follow, graphs, and the
//!   application layers read from the byte streams ([`stream::upper`]); IP fragments put back
//!   together ([`stream::ipfrag`]); DNS responses linked to their queries ([`stream::dnslink`]).
//! * [`pipeline`]: the one place that runs dissect, stream tracking and the upper layers in
//!   order, for every source: files, live capture, demos, lesson questions, exports.
//! * [`source`]: where frames come from: capture files ([`source::file`]), live interfaces
//!   ([`source::live`]), the lab, a private network of client, routers and server
//!   ([`source::lab`], planned by [`source::topology`]) whose links the lab's emulator can make
//!   slow, narrow or lossy ([`source::lab::emulator`]), and the tour's sample conversation
//!   ([`source::sample`]); what this system can do ([`source::platform`]).
//! * [`render`]: the views: one line per packet, the layer tree, the hex dump, JSON, chosen
//!   fields as columns, the ladder, `--stats`, graphs and the HTML/SVG exports.
//! * [`filter`]: display filters such as `tcp.flags.syn == 1 && ip.src == 10.0.0.1`.
//! * [`demos`]: the lessons' live traffic: TCP and UDP servers and clients whose every socket
//!   call is narrated next to the packets it caused; the hand-made TCP handshake; traceroute
//!   and path MTU discovery across the lab's routers ([`demos::ip`]).
//! * [`escape`]: text a peer wrote, made safe to print (no raw ESC, BEL, CR reaches a terminal).
//! * [`glossary`]: the course vocabulary in our own words, and the two layer models side by side.
//! * [`instructor`]: instructor mode: `--step` and `--slow`, one packet at a time for a class.
//! * [`lessons`]: the course: lesson catalogue, progress, trace questions, exercise grading.
//! * [`sio`]: Socket.IO live: the chat server, wirelab's own client, the lesson's demo.
//! * [`ws`]: WebSocket live: a server, a client and the `ws echo` lesson.
//! * [`say`](mod@say): where narration goes (standard error when standard output carries JSON Lines).
//! * [`cli`]: the command line, one argument struct per subcommand.
//! * [`commands`]: what each subcommand does.
//!
//! ## Portable code
//!
//! wirelab builds on Linux, macOS and Windows. A few parts use what only Linux has (network
//! namespaces, rtnetlink, `AF_PACKET`, TUN, `/proc`); the rest must build and work everywhere.
//! The rules, so that new code is portable from the start:
//!
//! * **Gate whole modules, not lines.** A module that needs Linux is declared
//!   `#[cfg(target_os = "linux")] pub mod lab;` by its parent, and its dependencies go in
//!   Cargo.toml's `[target.'cfg(target_os = "linux")'.dependencies]`. Inside it, write Linux
//!   code freely.
//! * **Portable code asks [`source::platform`]** whether a feature exists here (`lab()`,
//!   `capture()`, `raw_handshake()`) and, if not, gets the one sentence to show. The Linux
//!   modules ask it too at their entry points (`Lab::create`, `LiveCapture::open`, the
//!   `lab` and `tcp handshake` commands), so that `WIRELAB_PORTABLE=1` makes Linux behave as
//!   a Mac or Windows machine without them; `tests/portable.rs` runs those paths.
//! * **The same names elsewhere.** Where portable code names a Linux-only module, the parent
//!   provides that name on other systems: `source::lab` is [`source::elsewhere::lab`] (its
//!   `take()` says why there is no lab; its `Lab` cannot be made, so the compiler proves the
//!   lab-only branches never run), `source::live` is `source/live_pnet.rs` (capture through
//!   pnet: BPF on macOS, Npcap on Windows), `commands::lab` and `commands::handshake` are in
//!   [`commands::elsewhere`] (say why, then replay the lesson's recorded trace). Callers need
//!   no `cfg`.
//! * **Small differences at function boundaries**: a function with a `#[cfg(unix)]` and a
//!   `#[cfg(windows)]` twin (the keys of `--step`, the signals of `capture`), or `cfg!(…)`
//!   in an `if`. Socket numbers in narration come from [`demos::AsRawFd`], not
//!   `std::os::fd`.
//! * **CI checks every system**: `.ci/run` runs `cargo clippy --all-targets --target …` for
//!   x86_64-apple-darwin, aarch64-apple-darwin and x86_64-pc-windows-msvc (with and without
//!   the `npcap` feature). A test that needs Linux says `#![cfg(target_os = "linux")]`.

pub mod cli;
pub mod commands;
pub mod demos;
pub mod dissect;
pub mod escape;
pub mod filter;
pub mod glossary;
pub mod instructor;
pub mod lessons;
pub mod pipeline;
pub mod render;
pub mod say;
pub mod sio;
pub mod source;
pub mod stream;
pub mod ws;

/// Any error a command can end with. A boxed error is enough here: every error is shown to a
/// person and the process ends; no caller needs to match on its kind (mini-redis does the
/// same; an enum would pay off only if callers had to tell errors apart).
pub type Error = Box<dyn std::error::Error + Send + Sync>;
