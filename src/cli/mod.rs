//! The command-line edge: parses arguments, sets up logging and colour, dispatches to the
//! commands, and turns their outcome into an exit code. No HTTP and no planning here.

pub mod args;
pub mod color;
mod emulator_cmd;
mod logging;
mod schema_cmd;
mod validate_cmd;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;
use args::Command;

/// Exit codes of the design's command table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success, converged, or nothing to do.
    Ok = 0,
    /// An error: bad input, a refused guard, a stale plan, a failed request.
    Error = 1,
    /// `plan --detailed-exitcode`: there are changes.
    Changes = 2,
    /// `apply`: a person must act (blocked entries).
    Blocked = 3,
    /// `apply --wait`: the time ran out before convergence.
    TimedOut = 4,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// Parses the command line, runs the command and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(&cli.global);
    run(cli).into()
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Exit {
    match cli.command {
        Command::Schema => schema_cmd::run(),
        Command::Validate(args) => validate_cmd::run(&args, cli.global.color, cli.global.quiet),
        Command::Plan(_) => not_yet("plan"),
        Command::Apply(_) => not_yet("apply"),
        Command::Status(_) => not_yet("status"),
        Command::Emulator(cmd) => emulator_cmd::run(cmd),
        Command::Reconcile(_) => not_yet("reconcile"),
        Command::Report(_) => not_yet("report"),
        Command::Completions(_) => not_yet("completions"),
    }
}

fn not_yet(command: &str) -> Exit {
    eprintln!("error: `redactctl {command}` is not available yet in this version");
    Exit::Error
}
