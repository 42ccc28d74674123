//! `wirelab tour`: the guided tour, the README's first command.
//!
//! It runs every lesson's demo in order, as the lessons catalogue lists them (a new lesson
//! joins the tour by itself), each introduced by a short narration: the lesson's summary
//! from its `lesson.toml`, and one line saying what to watch. The first lesson's demo is the
//! tour's own opening: the two layer models side by side, then a small conversation that
//! wirelab builds byte by byte (ARP, DNS, a TCP connection carrying HTTP) and reads back.
//!
//! Each demo runs as a child process of this one (the lab's namespaces need a fresh process,
//! see [`crate::lessons::demo`]), with the options that keep it short. A demo that cannot
//! run here is replaced by the lesson's recorded trace, and the narration says why. The tour
//! runs straight through in well under a minute; with `--step` it waits for a key after each
//! packet (instructor mode), with `--slow MS` it pauses by itself.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use colored::Colorize;

use super::Error;
use super::stop::Stop;
use crate::cli::TourArgs;
use crate::dissect::model::LinkType;
use crate::instructor::{Capture, Flow, Stepper, stdout_stepper};
use crate::lessons::demo::{self, Outcome};
use crate::lessons::{Lesson, catalogue};
use crate::pipeline::{Config, Pipeline};
use crate::render::{Options, Printer, View};
use crate::source::sample::sample_conversation;

/// How one lesson's part of the tour went, for the closing summary.
enum Ran {
    /// The demo ran, and showed the packets it caused.
    Live,
    /// The demo ran (its sockets, on this machine) but nothing could be captured: its packets
    /// came from the recorded trace, or were seen at the sockets only.
    Uncaptured,
    /// The recorded trace was replayed instead, and why.
    Replayed(String),
    /// Nothing could be shown, and why.
    Missing(String),
}

/// What the tour does for one lesson.
enum Plan {
    /// The tour's own opening (the lesson whose demo is the tour itself).
    Opening,
    /// Run `wirelab ARGS`.
    Demo(Vec<String>),
    /// Replay the recorded trace, for this reason.
    Replay(std::path::PathBuf, String),
    /// No demo and no trace to replay.
    Nothing(String),
}

pub fn run(args: &TourArgs, color: bool) -> Result<ExitCode, Error> {
    if let Some(path) = &args.write_trace {
        let mut w = crate::source::file::CaptureWriter::create(path, LinkType::ETHERNET)?;
        for f in sample_conversation() {
            w.write(&f.as_frame())?;
        }
        w.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    // Ctrl-C and SIGTERM end the tour where it is, with its closing summary (exit 130 or 143).
    let stop = Stop::on_signals()?;
    let started = Instant::now();
    let width = super::term_width();
    let mut st = stdout_stepper(args.pace.pace(), color)
        .unit("step")
        .cancel_on(stop.flag());
    if args.opening {
        // Lesson 1's own demo: the opening alone, not the other lessons' demos. Ctrl-C ends
        // it like the whole tour: a line saying so, exit 130 (143 for SIGTERM).
        opening(&mut st, color, width)?;
        if stop.requested() {
            st.text(&format!("\nThe tour's opening was {}.\n", stop.why()))?;
            return Ok(stop.exit_code());
        }
        st.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let lessons = catalogue()?;

    let lab = if args.replay {
        None
    } else {
        Some(lab_status())
    };
    if st.show(&intro(&lessons, lab.as_ref(), args.replay, color, width))? == Flow::Quit {
        return Ok(ExitCode::SUCCESS);
    }

    let mut ran = Vec::new();
    let mut interrupted = None;
    for (i, lesson) in lessons.iter().enumerate() {
        if stop.requested() {
            interrupted = Some(i);
            break;
        }
        st.new_part();
        let plan = plan(lesson, args.replay);
        let shown_cmd = match &plan {
            Plan::Opening => "wirelab tour (this opening)".to_string(),
            Plan::Demo(a) => format!("wirelab {}", a.join(" ")),
            Plan::Replay(p, _) => {
                format!("wirelab dissect {} --view summary", demo::display_path(p))
            }
            Plan::Nothing(_) => format!("wirelab {}", lesson.demo.join(" ")),
        };
        let head = section(i + 1, lessons.len(), lesson, &shown_cmd, color, width);
        if st.show(&head)? == Flow::Quit {
            if stop.requested() {
                interrupted = Some(i);
                break;
            }
            return Ok(ExitCode::SUCCESS);
        }
        let (result, quit) = match plan {
            Plan::Opening => (Ran::Live, opening(&mut st, color, width)? == Flow::Quit),
            Plan::Demo(a) => {
                let out = demo::run(&demo::resolve(&a), color, width, &mut st)?;
                // Ctrl-C reaches the demo too (the terminal signals the whole foreground
                // group), so a demo ended by it counts as interrupted as well.
                if stop.requested() || ended_by_signal(&out) {
                    interrupted = Some(i);
                    break;
                }
                if out.quit {
                    return Ok(ExitCode::SUCCESS);
                }
                show_stderr(&mut st, &out, color)?;
                if out.success() {
                    (ran_by_itself(&out.shown), false)
                } else {
                    let why = out.reason();
                    fallback(&mut st, lesson, &why, color, width)?
                }
            }
            Plan::Replay(path, why) => replay(&mut st, &path, &why, color, width)?,
            Plan::Nothing(why) => {
                st.show(&format!("{}\n", note(&why, color)))?;
                (Ran::Missing(why), false)
            }
        };
        ran.push((lesson, result));
        if quit {
            if stop.requested() {
                interrupted = Some(i + 1);
                break;
            }
            return Ok(ExitCode::SUCCESS);
        }
    }
    st.new_part();
    let mut end = closing(&ran, started.elapsed().as_secs_f64(), color, width);
    if let Some(at) = interrupted {
        let why = stop
            .signal()
            .map(super::stop::stopped_by)
            .unwrap_or_else(|| "stopped by a signal".into());
        let during = lessons
            .get(at)
            .map(|l| format!(" during lesson {} ({})", at + 1, l.id))
            .unwrap_or_default();
        end.push_str(&wrapped(
            &format!(
                "The tour was {why}{during}: {} of {} lessons shown.",
                ran.len(),
                lessons.len()
            ),
            width,
            "",
        ));
    }
    if interrupted.is_none() {
        st.show(&end)?;
        st.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    // A cancelled stepper pauses no more: the summary goes straight out.
    st.text(&end)?;
    Ok(stop.exit_code())
}

/// Did the demo end because a signal (Ctrl-C's SIGINT, SIGTERM) killed it?
#[cfg(unix)]
fn ended_by_signal(out: &Outcome) -> bool {
    use std::os::unix::process::ExitStatusExt;
    out.status
        .and_then(|s| s.signal())
        .is_some_and(|s| s == libc::SIGINT || s == libc::SIGTERM)
}

/// Windows has no signals that end a process with a trace in its exit status.
#[cfg(not(unix))]
fn ended_by_signal(_: &Outcome) -> bool {
    false
}

/// Is the lab available? `Ok(())`, or the reason it is not, as `wirelab lab` says it.
fn lab_status() -> Result<(), String> {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return Err(format!("cannot find wirelab itself: {e}")),
    };
    match std::process::Command::new(exe)
        .args(["lab", "--color", "never"])
        .stdin(std::process::Stdio::null())
        .output()
    {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(String::from_utf8_lossy(&o.stdout)
            .lines()
            .skip(1)
            .find(|l| !l.trim().is_empty())
            .unwrap_or("(no reason given)")
            .to_string()),
        Err(e) => Err(format!("cannot run `wirelab lab`: {e}")),
    }
}

fn plan(lesson: &Lesson, replay_all: bool) -> Plan {
    if lesson.demo.first().is_some_and(|d| d == "tour") {
        return Plan::Opening;
    }
    let trace = lesson.trace();
    if replay_all && lesson.demo.first().is_some_and(|d| d != "dissect") {
        return if trace.is_file() {
            Plan::Replay(trace, "--replay was asked for".into())
        } else {
            Plan::Nothing(format!(
                "--replay was asked for, and this lesson has no recorded trace; run `wirelab {}` to see it live",
                lesson.demo.join(" ")
            ))
        };
    }
    if lesson.demo.is_empty() {
        return if trace.is_file() {
            Plan::Replay(trace, "this lesson has no live demo".into())
        } else {
            Plan::Nothing("this lesson has no demo and no recorded trace".into())
        };
    }
    Plan::Demo(
        lesson
            .tour
            .clone()
            .unwrap_or_else(|| demo::brief(&lesson.demo)),
    )
}

/// What to watch in a demo, when its lesson does not say.
fn default_watch(demo: &[String]) -> &'static str {
    let w: Vec<&str> = demo.iter().take(2).map(String::as_str).collect();
    match w.as_slice() {
        ["tour", ..] => {
            "one conversation at every layer: ARP finds the neighbour, DNS the address, TCP \
             carries the HTTP request"
        }
        ["tcp", "echo"] => {
            "the three-way handshake (SYN, SYN-ACK, ACK) before any data, the ACK for every \
             segment, and a FIN from each side at the end"
        }
        ["tcp", "handshake"] => {
            "wirelab's own TCP answering the kernel's SYN: every segment built by hand, each \
             step of the state machine beside it"
        }
        ["udp", "echo"] => {
            "no handshake: one sendto() is one datagram; then the same over TCP, and a \
             datagram too big for one frame cut into IP fragments"
        }
        ["ws", ..] => {
            "an HTTP request asking to upgrade, the 101 answer, then frames: the client's \
             payloads masked, the server's not"
        }
        ["sio", ..] if demo.iter().any(|a| a == "--servers") => {
            "a room emit on server A reaching a client of server B: the two servers share \
             their rooms through Redis"
        }
        ["sio", ..] => {
            "who receives each emit: everyone, one client, a room, all but the sender; and \
             acks going both ways"
        }
        ["dissect", ..] => {
            "each header placed on both models, every field explained, the checksums checked"
        }
        _ => "the packets as they come, layer by layer",
    }
}

fn rule(text: &str, width: usize, color: bool) -> String {
    let used = crate::render::text_width(text);
    let line = if used + 4 <= width {
        format!(
            "{text} {}",
            "━".repeat(width.saturating_sub(used + 1).max(3))
        )
    } else {
        // Too long for one line with its rule: the text wrapped, the rule under it.
        let mut l = crate::render::wrap(text, width).join("\n");
        l.push('\n');
        l.push_str(&"━".repeat(width.max(3)));
        l
    };
    if color {
        format!("{}\n", line.bold())
    } else {
        format!("{line}\n")
    }
}

fn wrapped(text: &str, width: usize, indent: &str) -> String {
    let mut s = String::new();
    for line in super::define::wrap(text, width.clamp(40, 100) - indent.len()) {
        s.push_str(indent);
        s.push_str(&line);
        s.push('\n');
    }
    s
}

fn note(text: &str, color: bool) -> String {
    if color {
        text.yellow().to_string()
    } else {
        text.to_string()
    }
}

fn intro(
    lessons: &[Lesson],
    lab: Option<&Result<(), String>>,
    replay: bool,
    color: bool,
    width: usize,
) -> String {
    let mut s = String::new();
    s.push_str(&rule("━━ wirelab tour", width, color));
    s.push_str(&wrapped(
        &format!(
            "Networking, made to happen on this machine and taken apart byte by byte. The tour \
             runs the demo of each of the {} lessons in turn; `wirelab lesson ID` tells the \
             whole story of one.",
            lessons.len()
        ),
        width,
        "",
    ));
    let where_ = match lab {
        None if replay => "The demos are replaced by their recorded traces (--replay).".to_string(),
        None => String::new(),
        Some(Ok(())) => "The demos run in the lab: two private hosts, client 192.0.2.1 and server \
                         192.0.2.2, joined by a virtual Ethernet cable that wirelab builds without \
                         root and that nothing else on this machine can see."
            .to_string(),
        Some(Err(why)) => format!(
            "The lab cannot be built here ({why}). Each demo says what it does instead: the \
             host's loopback where it can capture, else a replay of its recorded trace."
        ),
    };
    if !where_.is_empty() {
        s.push_str(&wrapped(&where_, width, ""));
    }
    s.push('\n');
    s
}

fn section(n: usize, of: usize, lesson: &Lesson, cmd: &str, color: bool, width: usize) -> String {
    let mut s = String::from("\n");
    s.push_str(&rule(
        &format!("━━ {n}/{of} {} ({})", lesson.title, lesson.id),
        width,
        color,
    ));
    s.push_str(&wrapped(&lesson.summary, width, ""));
    let watch = lesson
        .watch
        .clone()
        .unwrap_or_else(|| default_watch(&lesson.demo).to_string());
    let watch = format!("Watch: {watch}");
    s.push_str(&wrapped(&watch, width, ""));
    let cmd = crate::render::fit_text(&format!("$ {cmd}"), width).0;
    s.push_str(&if color {
        format!("{}\n\n", cmd.cyan())
    } else {
        format!("{cmd}\n\n")
    });
    s
}

/// Show what a demo wrote on standard error (its notes), dimmed.
fn show_stderr<W: Write>(st: &mut Stepper<W>, out: &Outcome, color: bool) -> io::Result<()> {
    let text = out.stderr.trim_end();
    if text.is_empty() {
        return Ok(());
    }
    let text = format!("{}\n", super::fitted(text));
    st.text(&if color {
        text.dimmed().to_string()
    } else {
        text
    })
}

/// The demo failed: say why, and replay the lesson's recorded trace if there is one.
fn fallback<W: Write>(
    st: &mut Stepper<W>,
    lesson: &Lesson,
    why: &str,
    color: bool,
    width: usize,
) -> Result<(Ran, bool), Error> {
    let why = format!("the demo could not run here: {why}");
    let trace = lesson.trace();
    if trace.is_file() {
        replay(st, &trace, &why, color, width)
    } else {
        st.show(&format!(
            "{}\n",
            note(
                &format!("{why}; and this lesson has no recorded trace to replay."),
                color
            )
        ))?;
        Ok((Ran::Missing(why), false))
    }
}

/// How a demo that succeeded went, from what it said: it may have replayed its lesson's
/// trace by itself (a command that cannot run here, see `commands::elsewhere`), or run without
/// capture (see `commands::tcp::present`, `ws echo`, `sio demo`).
fn ran_by_itself(shown: &str) -> Ran {
    if let Some(line) = shown
        .lines()
        .find_map(|l| l.strip_prefix(super::elsewhere::NOT_HERE))
    {
        let why = line.split("; here is").next().unwrap_or(line);
        return Ran::Replayed(why.trim_end_matches('.').to_string());
    }
    if shown.contains("No packets can be captured here")
        || shown.contains("No packets could be captured here")
    {
        return Ran::Uncaptured;
    }
    Ran::Live
}

/// Replay a recorded trace through `wirelab dissect`.
fn replay<W: Write>(
    st: &mut Stepper<W>,
    trace: &Path,
    why: &str,
    color: bool,
    width: usize,
) -> Result<(Ran, bool), Error> {
    st.show(&format!(
        "{}\n",
        note(
            &format!(
                "Replaying the recorded trace {} ({why}):",
                demo::display_path(trace)
            ),
            color
        )
    ))?;
    let args = vec![
        "dissect".to_string(),
        trace.display().to_string(),
        "--view".into(),
        "summary".into(),
    ];
    let out = demo::run(&args, color, width, st)?;
    show_stderr(st, &out, color)?;
    let ran = if out.success() {
        Ran::Replayed(why.to_string())
    } else {
        Ran::Missing(format!("{why}; the replay failed too: {}", out.reason()))
    };
    Ok((ran, out.quit))
}

/// The first lesson's demo: the two layer models, then a conversation wirelab builds itself.
fn opening<W: Write>(st: &mut Stepper<W>, color: bool, width: usize) -> io::Result<Flow> {
    if shown(st, &super::define::layers_text(width))? == Flow::Quit {
        return Ok(Flow::Quit);
    }
    let text = wrapped(
        "Now a conversation between two hosts, built by wirelab byte by byte (checksums \
         included) and read back by the same engine that reads real captures: 10.0.0.1 asks \
         who has 10.0.0.2 (ARP), looks up a name (DNS over UDP), opens a TCP connection, sends \
         an HTTP request, gets the answer and closes.",
        width,
        "",
    );
    if shown(st, &format!("\n{text}\n"))? == Flow::Quit {
        return Ok(Flow::Quit);
    }
    let sink = Capture::default();
    let mut p = Printer::new(
        sink.clone(),
        Options {
            view: View::Summary,
            color,
            highlight: None,
            width,
            fit: super::screen_width().is_some(),
            absolute: false,
            ..Options::default()
        },
    );
    let mut pipe = Pipeline::new(Config::summary());
    for f in sample_conversation() {
        p.print(pipe.push(&f.as_frame()))?;
        if shown(st, &sink.take())? == Flow::Quit {
            return Ok(Flow::Quit);
        }
    }
    st.show(&wrapped(
        "Any packet opens up layer by layer with --view layers, and byte by byte with --view \
         hex: `wirelab tour --write-trace t.pcapng` saves this one for `wirelab dissect`.",
        width,
        "\n",
    ))
}

/// Show one step of the opening; Ctrl-C (the stepper's cancel flag) ends it like `q`, also
/// when it only pauses by itself (`--slow`).
fn shown<W: Write>(st: &mut Stepper<W>, chunk: &str) -> io::Result<Flow> {
    let flow = st.show(chunk)?;
    Ok(if st.cancelled() { Flow::Quit } else { flow })
}

fn closing(ran: &[(&Lesson, Ran)], secs: f64, color: bool, width: usize) -> String {
    let mut s = String::from("\n");
    s.push_str(&rule("━━ The end of the tour", width, color));
    let live = ran
        .iter()
        .filter(|(_, r)| matches!(r, Ran::Live | Ran::Uncaptured))
        .count();
    let uncaptured = ran
        .iter()
        .filter(|(_, r)| matches!(r, Ran::Uncaptured))
        .count();
    let mut said = format!(
        "{} lessons: {live} demo{} ran here",
        ran.len(),
        if live == 1 { "" } else { "s" }
    );
    if uncaptured > 0 {
        said.push_str(&format!(
            " ({uncaptured} of them without capture: their packets are the recorded traces, or \
             were seen at the sockets)"
        ));
    }
    let others: Vec<String> = ran
        .iter()
        .filter_map(|(l, r)| match r {
            Ran::Live | Ran::Uncaptured => None,
            Ran::Replayed(why) => Some(format!("{} replayed ({why})", l.id)),
            Ran::Missing(why) => Some(format!("{} not shown ({why})", l.id)),
        })
        .collect();
    if !others.is_empty() {
        said.push_str("; ");
        said.push_str(&others.join("; "));
    }
    said.push('.');
    s.push_str(&wrapped(&said, width, ""));
    s.push_str(&format!("The tour took {secs:.1} s.\n"));
    s.push_str("\nWhere next:\n");
    for line in [
        "wirelab lessons                 the lessons, with your progress",
        "wirelab lesson 3 --step         one lesson, one packet per key press",
        "wirelab define socket           a term, and the command that shows it",
        "wirelab dissect F --export t.html   a capture as a page to click through",
    ] {
        s.push_str(&crate::render::fit_text(&format!("  {line}"), width).0);
        s.push('\n');
    }
    s
}
