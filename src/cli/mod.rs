//! The command-line edge: parses arguments, sets up logging and colour, dispatches to the
//! commands, and turns their outcome into an exit code. No HTTP and no planning here.

mod apply_cmd;
pub mod args;
pub mod color;
mod completions_cmd;
pub mod connect;
mod emulator_cmd;
pub mod find_cmd;
mod logging;
mod plan_cmd;
mod prepare;
mod reconcile_cmd;
mod report_cmd;
mod schema_cmd;
mod status_cmd;
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
    /// `find`: no customer or checkout session has the address (nothing written).
    NoMatch = 5,
    /// `status --fail-on`: a request is overdue or due within the given days.
    DeadlineAlert = 6,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// What a command comes to: an exit code, or the message of its one `error:` line (empty
/// when the command already printed its diagnostics).
pub type CommandResult = Result<Exit, String>;

/// Prints a failed command's message and maps it to exit 1.
pub fn finish(result: CommandResult) -> Exit {
    match result {
        Ok(exit) => exit,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("error: {message}");
            }
            Exit::Error
        }
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
        Command::Plan(args) => finish(plan_cmd::run(&cli.global, &args)),
        Command::Apply(args) => finish(apply_cmd::run(&cli.global, &args)),
        Command::Status(args) => finish(status_cmd::run(&cli.global, &args)),
        Command::Emulator(args::EmulatorCommand::Reset) => emulator_reset(cli.global.local),
        Command::Emulator(cmd) => emulator_cmd::run(cmd),
        Command::Reconcile(args) => finish(reconcile_cmd::run(&cli.global, &args)),
        Command::Report(args) => finish(report_cmd::run(&cli.global, &args)),
        Command::Find(args) => finish(find_cmd::run(&cli.global, &args)),
        Command::Completions(args) => completions_cmd::completions(&args),
        Command::Man => completions_cmd::man(),
    }
}

/// `emulator reset --local`: forgets the embedded emulator's state.
fn emulator_reset(local: bool) -> Exit {
    if !local {
        eprintln!("error: `emulator reset` wipes the embedded emulator's state; say so with --local (a served emulator keeps its state in its --state file)");
        return Exit::Error;
    }
    match connect::reset_local() {
        Ok(dir) => {
            eprintln!("Removed the embedded emulator's state ({}).", dir.display());
            Exit::Ok
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Error
        }
    }
}
