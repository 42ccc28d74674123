//! What each subcommand does. Each file here takes its arguments from [`crate::cli`], runs,
//! and returns the process's exit code; errors bubble up to `main` as [`Error`].

pub mod brief;
pub mod capture;
pub mod completions;
pub mod cores;
pub mod define;
pub mod dissect;
pub mod elsewhere;
#[cfg(target_os = "linux")]
pub mod foreground;
// Linux only (namespaces, TUN); elsewhere the same names answer from `elsewhere`.
#[cfg(target_os = "linux")]
pub mod handshake;
pub mod ip;
#[cfg(target_os = "linux")]
pub mod lab;
#[cfg(not(target_os = "linux"))]
pub use elsewhere::{handshake, lab};
pub mod lessons;
pub mod progress;
pub mod sio;
pub mod stop;
pub mod synth;
pub mod tcp;
pub mod tour;
pub mod transfer;
pub mod udp;
pub mod ws;

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::cli::{Cli, ColorChoice, Command};

pub use crate::Error;

/// Decide whether to colour, following the usual conventions: `--color` wins; on `auto`,
/// colour only a terminal, never when `NO_COLOR` is set to anything or `TERM` is `dumb`.
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
            !no_color && !dumb && std::io::stdout().is_terminal()
        }
    }
}

/// Run the command the user asked for.
pub fn run(cli: Cli) -> Result<ExitCode, Error> {
    let color = use_color(cli.color);
    colored::control::set_override(color);
    match cli.command {
        Command::Tour(args) => tour::run(&args, color),
        Command::Layers => define::layers(color),
        Command::Define(args) => define::define(&args),
        Command::Dissect(args) => dissect::run(&args, color),
        Command::MakeCapture(args) => synth::run(&args),
        Command::Lessons => lessons::list(),
        Command::Lesson(args) => lessons::show(&args),
        Command::Check(args) => lessons::check(&args),
        Command::Hint(args) => lessons::hint(&args),
        Command::Completions(args) => completions::completions(&args),
        Command::Man(args) => completions::man(&args),
        Command::Capture(args) => capture::run(&args, color),
        Command::Lab(args) => lab::run(&args, color),
        Command::Ip(cmd) => ip::run(&cmd, color),
        Command::Tcp(args) => tcp::run(&args, color),
        Command::Udp(args) => udp::run(&args, color),
        Command::Flood(args) => udp::flood(&args),
        Command::Sio(cmd) => sio::run(cmd, color),
        Command::Ws(cmd) => ws::run(cmd, color),
    }
}

/// The width to lay text out in: the screen's ([`screen_width`]), or 100 when standard output
/// is not a terminal and `COLUMNS` is not set.
pub fn term_width() -> usize {
    screen_width().unwrap_or(100)
}

/// The screen's width, if any: see [`crate::render::screen_width`].
pub fn screen_width() -> Option<usize> {
    crate::render::screen_width()
}

/// Text fitted to the screen when there is one ([`crate::render::fit_text`]: sentences wrap,
/// table rows are cut and end in `…`); as it is when output goes to a pipe or a file.
pub fn fitted(text: &str) -> String {
    match screen_width() {
        Some(w) => crate::render::fit_text(text, w).0,
        None => text.to_string(),
    }
}
