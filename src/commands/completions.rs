//! `wirelab completions SHELL` and `wirelab man`: shell completions and the manual page.
//!
//! Both are generated from the same clap definitions as `--help` ([`crate::cli`]), so a new
//! flag appears in all three at once and they can never disagree (ripgrep makes its man page
//! and completions from its flag definitions the same way).

use std::io::{self, Write};
use std::process::ExitCode;

use clap::CommandFactory;

use super::Error;
use crate::cli::{Cli, CompletionsArgs, ManArgs};

/// Print the completion script for one shell on standard output.
pub fn completions(args: &CompletionsArgs) -> Result<ExitCode, Error> {
    let mut cmd = Cli::command();
    let mut out = io::stdout().lock();
    clap_complete::generate(args.shell, &mut cmd, "wirelab", &mut out);
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Print wirelab(1), or write it and a page per subcommand into a folder.
pub fn man(args: &ManArgs) -> Result<ExitCode, Error> {
    let cmd = Cli::command();
    match &args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut page)?;
            let mut out = io::stdout().lock();
            out.write_all(&page)?;
            out.flush()?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .map_err(|e| format!("cannot write the pages into {}: {e}", dir.display()))?;
            eprintln!(
                "wirelab: wrote wirelab.1 and one page per subcommand into {} (read one with \
                 `man {}/wirelab.1`)",
                dir.display(),
                dir.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
