//! The `wirelab` command: parse the arguments, run the command, turn errors into an exit code.

use std::process::ExitCode;

use clap::Parser;
use wirelab::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The lab's namespaces can only be made while the process has a single thread: do it
    // now, before anything starts a thread.
    match cli.command.lab_plan() {
        Ok(Some(plan)) => wirelab::source::lab::prepare(&plan),
        Ok(None) => {}
        Err(e) => {
            eprintln!("wirelab: error: {e}");
            return ExitCode::from(2);
        }
    }
    match wirelab::commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`wirelab dissect big.pcap | head`) is not an error: the reader
            // simply had enough.
            if let Some(io) = e.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return ExitCode::SUCCESS;
            }
            // An error may quote what a peer sent (a server's refusal): escaped, lines kept.
            eprintln!(
                "wirelab: error: {}",
                wirelab::escape::escape_lines(&e.to_string())
            );
            ExitCode::from(1)
        }
    }
}
