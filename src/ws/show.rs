//! Showing what the [`Watcher`](super::tap::Watcher)s found, through the project's views.
//!
//! Every HTTP head and every frame is a [`Dissection`](crate::dissect::Dissection); it is
//! printed by the same [`Printer`] that `wirelab dissect` uses, in the view the user chose,
//! after a short line saying which connection and which way it went. In the JSON view the
//! packet's JSON object gets two more keys, `conn` and `direction`, and nothing else is
//! printed, so the output stays one JSON object a line.

use std::io::{self, Write};

use colored::Colorize;

use super::tap::{Event, Found};
use crate::dissect::websocket::Dir;
use crate::escape::escape;
use crate::render::{Options, Printer, View, json};

/// Which end of the connection this program is, to name the directions from its side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Server,
    Client,
}

/// Prints events as they come.
pub struct Shower<W: Write> {
    printer: Printer<W>,
    side: Side,
    color: bool,
    /// Explain each kind of frame the first time it appears (opcodes 0–15, bit 16: a
    /// 16-bit length, bit 17: a 64-bit length), if `explain` is on.
    explained: u32,
    explain: bool,
    /// Print notes only, not the frames (when the frames are shown from a capture instead).
    notes_only: bool,
}

impl<W: Write> Shower<W> {
    pub fn new(out: W, opts: Options, side: Side) -> Shower<W> {
        let color = opts.color;
        Shower {
            printer: Printer::new(out, opts),
            side,
            color,
            explained: 0,
            explain: false,
            notes_only: false,
        }
    }

    /// Print only the notes, not the frames the watchers found (the lesson's frames are then
    /// shown from a capture of the wire).
    pub fn notes_only(mut self, on: bool) -> Shower<W> {
        self.notes_only = on;
        self
    }

    /// Explain each kind of frame in a sentence the first time it is shown.
    pub fn explaining(mut self) -> Shower<W> {
        self.explain = true;
        self
    }

    /// Sentences for what this frame shows for the first time (its kind, a long length form,
    /// an unmasked server frame).
    fn first_time(&mut self, head: &crate::dissect::websocket::FrameHead) -> Vec<&'static str> {
        let mut said = Vec::new();
        let mut once = |bit: u32, text: &'static str, explained: &mut u32| {
            if *explained & (1 << bit) == 0 {
                *explained |= 1 << bit;
                said.push(text);
            }
        };
        let kind = match head.opcode {
            0 => "a continuation frame: more of a message a frame with FIN=0 began",
            1 => "a text frame: FIN, RSV, opcode 1, MASK, a length, then the UTF-8 text",
            2 => {
                "a binary frame: like text, but the payload is bytes for the application to interpret"
            }
            8 => {
                "a close frame: a 2-byte status code and a reason; the other side answers with its own close, then TCP closes"
            }
            9 => {
                "a ping: the receiver must answer with a pong carrying the same bytes (tungstenite does it by itself)"
            }
            10 => "a pong: the answer to a ping, with the ping's bytes",
            _ => "a frame with a reserved opcode: a protocol error",
        };
        once(head.opcode as u32, kind, &mut self.explained);
        if head.len7 == 126 {
            once(
                16,
                "payload length 126 means: the real length is in the next 16 bits",
                &mut self.explained,
            );
        }
        if head.len7 == 127 {
            once(
                17,
                "payload length 127 means: the real length is in the next 64 bits",
                &mut self.explained,
            );
        }
        if head.masked {
            once(
                18,
                "MASK=1: the client XORs its payload with the 4-byte masking key that follows the length",
                &mut self.explained,
            );
        } else {
            once(
                19,
                "MASK=0: servers never mask, so the payload is readable as it is",
                &mut self.explained,
            );
        }
        said
    }

    pub fn view(&self) -> View {
        self.printer.opts.view
    }

    /// A note between packets (skipped in the JSON view, which must stay pure JSON Lines).
    pub fn note(&mut self, text: &str) -> io::Result<()> {
        if self.view() == View::Json {
            return Ok(());
        }
        self.printer.text(text)?;
        if !text.ends_with('\n') {
            self.printer.text("\n")?;
        }
        self.printer.flush()
    }

    /// The arrow for a direction, from this side's point of view.
    pub fn arrow(&self, dir: Dir) -> &'static str {
        match (self.side, dir) {
            (Side::Server, Dir::ClientToServer) => "client → server (received)",
            (Side::Server, Dir::ServerToClient) => "server → client (sent)",
            (Side::Client, Dir::ClientToServer) => "client → server (sent)",
            (Side::Client, Dir::ServerToClient) => "server → client (received)",
        }
    }

    /// Print one event.
    pub fn show(&mut self, e: &Event) -> io::Result<()> {
        if self.notes_only && matches!(e.what, Found::Http(_) | Found::Frame { .. }) {
            return Ok(());
        }
        let d = match &e.what {
            Found::Http(d) => d,
            Found::Frame { d, .. } => d,
            // Notes and errors may quote what the peer sent (a path, a close reason):
            // escaped, so its control characters are shown, not obeyed.
            Found::Note(text) => {
                let text = format!("[conn {}] {}", e.conn, escape(text));
                return self.note(&text);
            }
            Found::Garbage { at, why } => {
                let line = format!(
                    "[conn {}] {}: byte {at}: {}",
                    e.conn,
                    self.arrow(e.dir),
                    escape(why)
                );
                if self.view() == View::Json {
                    let j = serde_json::json!({"conn": e.conn, "direction": dir_name(e.dir), "error": line});
                    return self.printer.text(&format!("{j}\n"));
                }
                let line = if self.color {
                    line.red().to_string()
                } else {
                    line
                };
                return self.note(&line);
            }
        };
        let why = match &e.what {
            Found::Frame { head, .. } if self.explain => self.first_time(head),
            _ => Vec::new(),
        };
        if self.view() == View::Json {
            let mut j = json::packet(d);
            j["conn"] = e.conn.into();
            j["direction"] = dir_name(e.dir).into();
            self.printer.text(&format!("{j}\n"))?;
        } else {
            let head = format!("[conn {}] {}", e.conn, self.arrow(e.dir));
            let head = if self.color {
                head.dimmed().to_string()
            } else {
                head
            };
            self.printer.text(&head)?;
            self.printer.text("\n")?;
            self.printer.print(d)?;
            for why in why {
                let line = format!("      ↳ {why}\n");
                let line = if self.color {
                    line.dimmed().to_string()
                } else {
                    line
                };
                self.printer.text(&line)?;
            }
        }
        self.printer.flush()
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.printer.flush()
    }
}

/// The direction as the JSON view names it.
pub fn dir_name(dir: Dir) -> &'static str {
    match dir {
        Dir::ClientToServer => "client_to_server",
        Dir::ServerToClient => "server_to_client",
    }
}
