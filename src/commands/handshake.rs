//! `wirelab tcp handshake`: TCP made by hand, next to the kernel's.
//!
//! The command moves into a private network namespace first (before any thread starts), then
//! runs the parts asked for (see [`crate::demos::handshake`]) and prints what happens: each
//! segment through the engine's views, each step of wirelab's state machine beside the segment
//! that caused it, and each idea explained the first time it matters.

use std::io::{self, Stdout};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use colored::Colorize;
use serde_json::json;

use super::Error;
use crate::cli::HandshakeArgs;
use crate::demos::handshake::stack::{State, Step};
use crate::demos::handshake::sys::{self, CAP_NET_RAW, Netns};
use crate::demos::handshake::{Event, Sink, rst, tun};
use crate::pipeline::{Config, Pipeline};
use crate::render::{Options, Printer, View};
use crate::source::OwnedFrame;
use crate::source::file::CaptureWriter;

/// The parts of the demo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Server,
    Client,
    Rst,
}

impl Part {
    fn id(self) -> &'static str {
        match self {
            Part::Server => "raw-server",
            Part::Client => "raw-client",
            Part::Rst => "rst-demo",
        }
    }
}

fn parts(args: &HandshakeArgs) -> Vec<Part> {
    let mut v = Vec::new();
    if args.raw {
        v.push(if args.client {
            Part::Client
        } else {
            Part::Server
        });
    }
    if args.rst_demo {
        v.push(Part::Rst);
    }
    if v.is_empty() {
        v = vec![Part::Server, Part::Client, Part::Rst];
    }
    v
}

pub fn run(args: &HandshakeArgs, color: bool) -> Result<ExitCode, Error> {
    // WIRELAB_PORTABLE: do what a system without namespaces does (replay lesson 6's trace).
    if crate::source::platform::raw_handshake().is_err() {
        return super::elsewhere::handshake::run(args, color);
    }
    let parts = parts(args);
    let mut out = Renderer::new(args.view, color);

    // The namespace must come first: a user namespace can only be entered by a process that
    // still has a single thread.
    let mut netns_error = None;
    let on_host = match sys::enter_private_netns() {
        Ok(how) => {
            out.event(Event::Say(describe_netns(how)))?;
            false
        }
        Err(e) => {
            netns_error = Some(e.to_string());
            if parts.contains(&Part::Rst) && sys::has_cap(CAP_NET_RAW) {
                out.event(Event::Say(format!(
                    "{e}\nThis process has CAP_NET_RAW, so the RST demo's first half runs on \
                     the host's loopback (127.0.0.1); the TUN parts and the nftables rule need a \
                     namespace of wirelab's own and are skipped."
                )))?;
                true
            } else {
                return Err(Box::new(e));
            }
        }
    };

    let timeout = Duration::from_secs(args.timeout);
    let message = args.message.as_bytes().to_vec();
    let cfg = tun::TunConfig {
        net: args.net,
        port: args.port,
        message: message.clone(),
        timeout,
        isn: None,
    };
    let mut all_ok = true;
    for &part in &parts {
        let frames: Vec<OwnedFrame> = match part {
            Part::Server | Part::Client if on_host => {
                out.event(Event::Result {
                    check: "skipped",
                    ok: false,
                    detail: format!("{} skipped: no private network namespace", part.id()),
                })?;
                all_ok = false;
                continue;
            }
            Part::Server => {
                out.event(Event::Part {
                    id: part.id(),
                    title: "wirelab's TCP is the server, behind a TUN device; the kernel connects"
                        .into(),
                })?;
                let (frames, ok) = run_server(&cfg, &mut out)?;
                all_ok &= ok;
                frames
            }
            Part::Client => {
                out.event(Event::Part {
                    id: part.id(),
                    title: "wirelab's TCP is the client; a kernel socket listens".into(),
                })?;
                let (frames, ok) = run_client(&cfg, &mut out)?;
                all_ok &= ok;
                frames
            }
            Part::Rst => {
                out.event(Event::Part {
                    id: part.id(),
                    title: "A raw SYN, and the RST the kernel sends for it".into(),
                })?;
                let o = rst::run(
                    &rst::RstConfig {
                        message: message.clone(),
                        timeout,
                        use_nft: !on_host,
                        on_host,
                    },
                    &mut out,
                )
                .map_err(|e| -> Error {
                    match &netns_error {
                        // The fallback failed too: say both.
                        Some(first) => format!(
                            "{first}\n  The fallback on the host's loopback failed as well: {e}"
                        )
                        .into(),
                        None => e,
                    }
                })?;
                all_ok &= o.kernel_rst_seen && (!o.nft_ran || o.handshake_completed && o.echoed);
                if o.nft_ran {
                    out.event(Event::Result {
                        check: "echo_with_rule",
                        ok: o.echoed,
                        detail: if o.echoed {
                            "the kernel echoed the hand-made connection's data, and both sides \
                             closed"
                                .into()
                        } else {
                            "the echo over the hand-made connection did not complete".into()
                        },
                    })?;
                }
                if let Some(w) = &args.write
                    && !o.second.is_empty()
                {
                    save(&name_for(w, "rst-2", true), &o.second, &mut out)?;
                }
                o.first
            }
        };
        if let Some(w) = &args.write {
            let id = if part == Part::Rst {
                "rst-1"
            } else {
                part.id()
            };
            save(
                &name_for(w, id, parts.len() > 1 || part == Part::Rst),
                &frames,
                &mut out,
            )?;
        }
    }
    out.flush()?;
    out.printer.say_cut();
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn describe_netns(how: Netns) -> String {
    match how {
        Netns::NetOnly => "wirelab moved itself into a new, empty network namespace (it had \
                           CAP_SYS_ADMIN already): the TUN device, addresses, sockets and \
                           firewall rule below exist only there and vanish when it exits."
            .into(),
        Netns::UserAndNet { uid, .. } => format!(
            "wirelab moved itself into a new user namespace (your uid {uid} is root inside it) \
             and a new, empty network namespace, as `unshare -Urn` does: inside, it has \
             CAP_NET_ADMIN and CAP_NET_RAW, and the TUN device, addresses, sockets and firewall \
             rule below exist only there and vanish when it exits."
        ),
    }
}

/// The states a list of transitions went through: `LISTEN → SYN-RECEIVED → …`.
pub fn path(transitions: &[(State, State)]) -> String {
    let mut v: Vec<&str> = Vec::new();
    for (from, to) in transitions {
        if v.last() != Some(&from.name()) {
            v.push(from.name());
        }
        v.push(to.name());
    }
    v.join(" → ")
}

fn run_server(cfg: &tun::TunConfig, out: &mut Renderer) -> Result<(Vec<OwnedFrame>, bool), Error> {
    let mut client = None;
    let outcome = tun::serve(cfg, out, |addr| {
        client = Some(tun::kernel_client(addr, cfg.message.clone(), cfg.timeout));
    })?;
    let report = match client.map(|h| h.join()) {
        Some(Ok(Ok(r))) => Ok(r),
        Some(Ok(Err(e))) => Err(e.to_string()),
        Some(Err(_)) => Err("the client thread panicked".to_string()),
        None => Err("the client never started".to_string()),
    };
    let expected = [
        State::Listen,
        State::SynReceived,
        State::Established,
        State::CloseWait,
        State::LastAck,
        State::Closed,
    ];
    let states_ok = outcome
        .transitions
        .iter()
        .map(|t| t.1)
        .eq(expected.iter().copied());
    out.event(Event::Result {
        check: "states",
        ok: states_ok,
        detail: format!("wirelab's TCP went {}", path(&outcome.transitions)),
    })?;
    let echo_ok = match &report {
        Ok(r) => {
            let ok = r.echo == cfg.message;
            out.event(Event::Result {
                check: "echo",
                ok,
                detail: format!(
                    "the kernel's client ({}) sent {} and read back {}",
                    r.local,
                    crate::demos::handshake::show_bytes(&cfg.message),
                    crate::demos::handshake::show_bytes(&r.echo)
                ),
            })?;
            ok
        }
        Err(e) => {
            out.event(Event::Result {
                check: "echo",
                ok: false,
                detail: format!("the kernel's client failed: {e}"),
            })?;
            false
        }
    };
    Ok((outcome.frames, states_ok && echo_ok && outcome.finished))
}

fn run_client(cfg: &tun::TunConfig, out: &mut Renderer) -> Result<(Vec<OwnedFrame>, bool), Error> {
    let mut news = None;
    let outcome = tun::connect(cfg, out, |addr| {
        let (_, rx) = tun::kernel_echo_listener(addr, cfg.timeout)?;
        news = Some(rx);
        Ok(())
    })?;
    let accepted = news
        .map(|rx| {
            rx.try_iter()
                .any(|n| matches!(n, tun::ListenerNews::Accepted(_)))
        })
        .unwrap_or(false);
    let expected = [
        State::SynSent,
        State::Established,
        State::FinWait1,
        State::FinWait2,
        State::TimeWait,
        State::Closed,
    ];
    let reached: Vec<State> = outcome.transitions.iter().map(|t| t.1).collect();
    // FIN-WAIT-2 is skipped when the kernel's FIN comes with the ACK of ours.
    let states_ok = expected.iter().all(|s| {
        reached.contains(s) || *s == State::FinWait2 && reached.contains(&State::TimeWait)
    });
    out.event(Event::Result {
        check: "states",
        ok: states_ok,
        detail: format!("wirelab's TCP went {}", path(&outcome.transitions)),
    })?;
    let echo_ok = outcome.received == cfg.message;
    out.event(Event::Result {
        check: "echo",
        ok: echo_ok && accepted,
        detail: format!(
            "the kernel's accept() {} the connection; wirelab sent {} and read back {}",
            if accepted {
                "returned"
            } else {
                "never returned"
            },
            crate::demos::handshake::show_bytes(&cfg.message),
            crate::demos::handshake::show_bytes(&outcome.received)
        ),
    })?;
    Ok((
        outcome.frames,
        states_ok && echo_ok && accepted && outcome.finished,
    ))
}

/// `out.pcap` with part `raw-client` becomes `out-raw-client.pcap` when several files are
/// written.
fn name_for(base: &Path, part: &str, suffix: bool) -> PathBuf {
    if !suffix {
        return base.to_path_buf();
    }
    let stem = base
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "handshake".into());
    let ext = base
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    base.with_file_name(format!("{stem}-{part}{ext}"))
}

fn save(path: &Path, frames: &[OwnedFrame], out: &mut Renderer) -> Result<(), Error> {
    let Some(first) = frames.first() else {
        return Ok(());
    };
    let mut w = CaptureWriter::create(path, first.link)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    for f in frames {
        w.write(&f.as_frame())?;
    }
    w.flush()?;
    out.event(Event::Say(format!(
        "{} frames written to {}.",
        frames.len(),
        path.display()
    )))?;
    Ok(())
}

/// Prints the demo's events in the chosen view.
struct Renderer {
    view: View,
    color: bool,
    /// The width sentences are wrapped in (the screen's, kept between 60 and 120).
    width: usize,
    /// The screen's width, which the packet views fit.
    screen: usize,
    printer: Printer<Stdout>,
    /// The one pipeline, started again for each part (each part is a capture of its own).
    pipe: Pipeline,
}

/// Indentation of the lines under a segment.
const INDENT: &str = "               ";

impl Renderer {
    fn new(view: View, color: bool) -> Renderer {
        let screen = super::term_width();
        let width = screen.clamp(60, 120);
        Renderer {
            view,
            color,
            width,
            screen,
            printer: Printer::new(io::stdout(), Self::options(view, color, screen)),
            pipe: Pipeline::new(Config::full()),
        }
    }

    fn options(view: View, color: bool, width: usize) -> Options {
        Options {
            view,
            color,
            highlight: None,
            width,
            fit: super::screen_width().is_some(),
            // This demo is about the numbers as written (its explanations quote the ISNs
            // and their sums), so the views show those.
            absolute: true,
            ..Options::default()
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.printer.flush()
    }

    fn json(&mut self, v: serde_json::Value) -> io::Result<()> {
        let mut s = v.to_string();
        s.push('\n');
        self.printer.text(&s)
    }

    /// Wrap `text` after a first-line prefix (`first_len` columns wide as seen, whatever
    /// colour codes it holds); later lines start with `rest`.
    fn para(&mut self, first: &str, first_len: usize, rest: &str, text: &str) -> io::Result<()> {
        let mut s = String::new();
        s.push_str(first);
        let mut col = first_len;
        let mut line_start = true;
        for word in text.split_whitespace() {
            let w = word.chars().count();
            if !line_start && col + 1 + w > self.width {
                s.push('\n');
                s.push_str(rest);
                col = rest.chars().count();
                line_start = true;
            }
            if !line_start {
                s.push(' ');
                col += 1;
            }
            s.push_str(word);
            col += w;
            line_start = false;
        }
        s.push('\n');
        self.printer.text(&s)
    }

    fn step_line(&mut self, step: &Step) -> io::Result<()> {
        let c = self.color;
        let (head, text) = match step {
            Step::Checked { what } => (
                if c {
                    "✓".green().to_string()
                } else {
                    "✓".into()
                },
                what.clone(),
            ),
            Step::Ignored { why } => ("ignored:".into(), why.clone()),
            Step::Transition {
                from,
                to,
                rule,
                why,
            } => {
                let states = format!("{from} → {to}");
                (
                    if c {
                        states.bold().yellow().to_string()
                    } else {
                        states
                    },
                    format!("{why} [{rule}]"),
                )
            }
            Step::Data { bytes, rcv_nxt } => (
                "data:".into(),
                format!("{bytes} bytes taken in order; RCV.NXT is now {rcv_nxt}"),
            ),
            Step::Acked { bytes, snd_una } => (
                "acked:".into(),
                format!(
                    "{bytes} more of our sequence numbers acknowledged; SND.UNA is now {snd_una}"
                ),
            ),
            Step::Dropped { rule, why } => (
                if c {
                    "dropped:".red().to_string()
                } else {
                    "dropped:".into()
                },
                format!("{why} [{rule}]"),
            ),
            Step::Answer { kind, rule, why } => {
                let h = format!("answer {kind}:");
                (
                    if c { h.cyan().to_string() } else { h },
                    format!("{why} [{rule}]"),
                )
            }
        };
        let first_len = INDENT.len() + console_width(&head) + 1;
        let first = format!("{INDENT}{head} ");
        self.para(&first, first_len, &format!("{INDENT}    "), &text)
    }
}

impl Sink for Renderer {
    fn event(&mut self, e: Event) -> io::Result<()> {
        if self.view == View::Json {
            return match e {
                Event::Part { id, title } => {
                    self.json(json!({"event": "part", "part": id, "title": title}))
                }
                Event::Say(text) => self.json(json!({"event": "say", "text": text})),
                Event::Code(text) => self.json(json!({"event": "code", "text": text})),
                Event::Frame { frame, from } => {
                    let d = self.pipe.push(&frame.as_frame());
                    let mut v = crate::render::json::packet(d);
                    if let Some(o) = v.as_object_mut() {
                        o.insert("event".into(), json!("frame"));
                        o.insert("from".into(), json!(from));
                    }
                    self.json(v)
                }
                Event::Step { frame, step } => {
                    let mut v = serde_json::to_value(&step).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("event".into(), json!("step"));
                        o.insert("frame".into(), json!(frame));
                    }
                    self.json(v)
                }
                Event::Explain { topic, text } => {
                    self.json(json!({"event": "explain", "topic": topic, "text": text}))
                }
                Event::Result { check, ok, detail } => self
                    .json(json!({"event": "result", "check": check, "ok": ok, "detail": detail})),
            };
        }
        match e {
            Event::Part { title, .. } => {
                // Each part's times start from its own first frame.
                self.printer.flush()?;
                self.printer.say_cut();
                self.pipe = Pipeline::new(Config::full());
                self.printer = Printer::new(
                    io::stdout(),
                    Self::options(self.view, self.color, self.screen),
                );
                let line = "─".repeat(title.chars().count().min(self.width));
                let head = if self.color {
                    title.bold().to_string()
                } else {
                    title
                };
                self.printer.text(&format!("\n{head}\n{line}\n"))
            }
            Event::Say(text) => {
                self.printer.text("\n")?;
                for p in text.split('\n') {
                    self.para("", 0, "", p)?;
                }
                Ok(())
            }
            Event::Code(text) => {
                let mut s = String::new();
                for l in text.lines() {
                    s.push_str(INDENT);
                    s.push_str("  ");
                    s.push_str(l);
                    s.push('\n');
                }
                self.printer.text(&s)
            }
            Event::Frame { frame, from } => {
                let d = self.pipe.push(&frame.as_frame());
                let label = format!("{:<8}", from.label());
                let label = if self.color {
                    match from {
                        crate::demos::handshake::Sender::Wirelab => label.green().to_string(),
                        crate::demos::handshake::Sender::OurKernel => {
                            label.red().bold().to_string()
                        }
                        crate::demos::handshake::Sender::Kernel => label.blue().to_string(),
                    }
                } else {
                    label
                };
                if self.view == View::Summary {
                    self.printer.text(&label)?;
                    // The summary line follows its sender's label (8 columns).
                    self.printer.opts.width = self.screen.saturating_sub(8);
                    let printed = self.printer.print(d);
                    self.printer.opts.width = self.screen;
                    return printed;
                }
                self.printer
                    .text(&format!("\n── frame {}, sent by {label}\n", frame.number))?;
                self.printer.print(d)
            }
            Event::Step { step, .. } => self.step_line(&step),
            Event::Explain { topic, text } => {
                let name = match topic {
                    "isn" => "ISN",
                    "checksum" => "Checksum",
                    "mss_window" => "MSS and window",
                    "their_syn" => "Their SYN",
                    "their_fin" => "FIN",
                    "ack_syn" | "ack_data" | "ack_fin" => "Ack arithmetic",
                    "seq_after_syn" => "Seq arithmetic",
                    "kernel_rst" => "Why the kernel sent RST",
                    "offload" => "Checksum offload",
                    "listener_rst" => "Why the listener sent RST",
                    other => other,
                };
                let first = format!("{INDENT}▸ {name}: ");
                let first_len = console_width(&first);
                let first = if self.color {
                    first.magenta().to_string()
                } else {
                    first
                };
                self.para(&first, first_len, &format!("{INDENT}  "), &text)
            }
            Event::Result { ok, detail, .. } => {
                let mark = match (ok, self.color) {
                    (true, true) => "✔".green().to_string(),
                    (true, false) => "✔".into(),
                    (false, true) => "✘".red().to_string(),
                    (false, false) => "✘".into(),
                };
                self.printer.text("\n")?;
                self.para(&format!("  {mark} "), 4, "    ", &detail)
            }
        }
    }
}

/// Columns a string takes on a terminal: its characters, without colour escape codes.
fn console_width(s: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\u{1b}') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}
