//! What the Linux-only commands do where Linux's features are missing: say why in one
//! sentence ([`crate::source::platform`] writes it), then do what works instead.
//!
//! * `wirelab lab` and `lab shell`: there is no lab to show; `lab` lists what works here.
//! * `wirelab tcp handshake`: the lesson's recorded trace of the hand-made handshake.
//!
//! On other systems these *are* `commands::lab` and `commands::handshake` (the Linux files are
//! not compiled there). On Linux the Linux commands hand over to them when
//! `WIRELAB_PORTABLE` is set, so the tests run these paths too.

use std::process::ExitCode;

use super::Error;
use crate::cli::ViewArgs;
use crate::render::View;
use crate::source::platform::{self, Feature, Unavailable};

/// How the note of [`replay_instead`] begins (the tour looks for it, to say which demos were
/// replayed).
pub const NOT_HERE: &str = "Not available here: ";

/// Say why a command cannot run here, then replay its lesson's recorded trace.
pub fn replay_instead(
    no: &dyn std::fmt::Display,
    lesson: &str,
    view: &ViewArgs,
    color: bool,
) -> Result<ExitCode, Error> {
    let no = no.to_string();
    let note = format!(
        "{NOT_HERE}{}; here is the lesson's recorded trace.\n\n",
        no.trim_end_matches('.')
    );
    // JSON Lines on standard output stay JSON: the note goes to standard error.
    if view.view == View::Json {
        eprint!("{note}");
    } else {
        print!("{note}");
    }
    super::tcp::replay(lesson, view, color)
}

/// The reason for `feature`, also when `platform` has none (a Linux command handing over on
/// another condition).
fn reason(feature: Feature) -> Unavailable {
    let answer = match feature {
        Feature::Lab => platform::lab(),
        Feature::Capture => platform::capture(),
        Feature::RawHandshake => platform::raw_handshake(),
    };
    answer.err().unwrap_or(Unavailable {
        feature,
        why: "this needs Linux".to_string(),
    })
}

pub mod handshake {
    //! `wirelab tcp handshake` where it cannot run: the recorded trace of lesson 6.

    use std::process::ExitCode;

    use super::super::Error;
    use crate::cli::{HandshakeArgs, ViewArgs};
    use crate::source::platform::Feature;

    /// The lesson whose trace is the hand-made handshake.
    pub const LESSON: &str = "06_tcp_by_hand";

    pub fn run(args: &HandshakeArgs, color: bool) -> Result<ExitCode, Error> {
        let view = ViewArgs {
            view: args.view,
            ..ViewArgs::default()
        };
        let code =
            super::replay_instead(&super::reason(Feature::RawHandshake), LESSON, &view, color)?;
        // `-w`: nothing was made here, so nothing is written (and the command says so).
        super::super::tcp::write_if_asked(args.write.as_deref(), None)?;
        Ok(code)
    }
}

pub mod lab {
    //! `wirelab lab` where there is no lab: why, and what works here instead.

    use std::fmt::Write as _;
    use std::process::ExitCode;

    use colored::Colorize;

    use super::super::Error;
    use crate::cli::{LabAction, LabArgs};
    use crate::demos::bundled_trace;
    use crate::source::live::{LiveCapture, LiveOptions};
    use crate::source::platform::{self, Feature};

    /// Exit status when the lab cannot be built (as on Linux).
    pub const UNAVAILABLE: u8 = 3;

    pub fn run(args: &LabArgs, color: bool) -> Result<ExitCode, Error> {
        let no = super::reason(Feature::Lab);
        if let Some(LabAction::Shell(_) | LabAction::Arp) = &args.action {
            return Err(Box::new(no));
        }
        let heading = |s: &str| {
            if color {
                s.bold().to_string()
            } else {
                s.to_string()
            }
        };
        let mut out = String::new();
        let _ = writeln!(out, "{}\n", heading("The lab is NOT available here."));
        let _ = writeln!(out, "{no}.\n");
        let _ = writeln!(out, "{}", heading("What the demos do here instead:"));
        let capture = match LiveCapture::open(platform::LOOPBACK, &LiveOptions::default()) {
            Ok(_) => {
                "sockets and capture both work, so each demo shows its own packets".to_string()
            }
            Err(e) => format!(
                "the sockets work, but no capture: {}",
                e.to_string().lines().next().unwrap_or_default()
            ),
        };
        let _ = writeln!(
            out,
            "  1. they run on this host's loopback (127.0.0.1, {}): {capture}",
            platform::LOOPBACK
        );
        let traces: Vec<String> = ["02_sockets", "03_tcp", "04_udp"]
            .iter()
            .map(|l| {
                let p = bundled_trace(l);
                format!(
                    "{} ({})",
                    p.display(),
                    if p.exists() { "present" } else { "missing" }
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "  2. where nothing can be captured, they replay the recorded traces: {}",
            traces.join(", ")
        );
        print!("{out}");
        Ok(ExitCode::from(UNAVAILABLE))
    }
}
