//! The command-line edge: parses arguments, sets up logging and colour, dispatches to the
//! commands, and turns their outcome into an exit code. No HTTP and no planning here.

mod apply_cmd;
pub mod args;
pub mod color;
mod completions_cmd;
mod emulator_cmd;
pub mod exit_codes;
pub mod find_cmd;
mod logging;
mod plan_cmd;
mod reconcile_cmd;
mod report_cmd;
mod schema_cmd;
mod status_cmd;
mod validate_cmd;
mod view;

use std::process::ExitCode;

use clap::Parser;

pub use args::Cli;
use args::{Command, GlobalArgs};
pub use exit_codes::Exit;

use crate::manifest::render_diagnostics;
use crate::ops::{self, OpsError, Session};

/// Why a command failed at the edge.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Ops(Box<OpsError>),
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    #[error("cannot render the CSV report")]
    Csv(#[source] csv::Error),
}

impl From<OpsError> for CliError {
    fn from(e: OpsError) -> Self {
        CliError::Ops(Box::new(e))
    }
}

/// What a command comes to: an exit code, or the error to print.
pub type CommandResult = Result<Exit, CliError>;

/// `error: …` then one `Caused by: …` line per cause. The one renderer of errors, used by
/// the binary and the snapshot tests.
pub fn render_error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut lines = ops::messages(error).into_iter();
    let mut out = format!("error: {}\n", lines.next().unwrap_or_default());
    for cause in lines {
        out.push_str(&format!("Caused by: {cause}\n"));
    }
    out
}

/// Prints a failed command's error (manifest errors as their diagnostics) and maps the
/// result to its exit code.
pub fn finish(result: CommandResult, global: &GlobalArgs) -> Exit {
    let Err(e) = result else {
        return result.unwrap_or(Exit::Error);
    };
    match &e {
        CliError::Ops(ops) => match &**ops {
            OpsError::Manifest(failure) => eprint!(
                "{}",
                render_diagnostics(&failure.diagnostics, color::stderr_enabled(global.color))
            ),
            _ => eprint!("{}", render_error_chain(&e)),
        },
        _ => eprint!("{}", render_error_chain(&e)),
    }
    exit_codes::for_error(&e)
}

/// The ops session the global options describe. `GlobalArgs` stops here.
pub fn session(global: &GlobalArgs) -> Session {
    Session {
        api_key_file: global.api_key_file.clone(),
        api_base: global.api_base.clone(),
        stripe_version: global.stripe_version.clone(),
        local: global.local,
        rate_limit: global.client_rate_limit,
        endpoint_rate_limit: global.client_endpoint_rate_limit,
        api_base_explicit: std::env::args()
            .any(|a| a == "--api-base" || a.starts_with("--api-base=")),
    }
}

/// The plan-signing key from `REDACTCTL_PLAN_KEY` (`None`: not set). The value is checked
/// (non-empty, bounded) and never printed.
pub fn plan_key() -> Result<Option<crate::plan::PlanKey>, CliError> {
    let value = std::env::var_os(crate::plan::PLAN_KEY_ENV);
    crate::plan::PlanKey::from_env_value(value.as_deref())
        .map_err(|e| CliError::from(ops::OpsError::PlanKey(e)))
}

/// The audit log a command uses: the one given, except that `--local` keeps its own log
/// beside the embedded emulator's state (`.redactctl/local/audit.jsonl`) unless a path
/// was given, so that trial runs never mix with the record of real deletions.
pub fn audit_log_path(global: &GlobalArgs, given: &std::path::Path) -> std::path::PathBuf {
    let default = std::path::Path::new(DEFAULT_AUDIT_LOG);
    if global.local && given == default {
        std::path::Path::new(ops::session::LOCAL_DIR).join("audit.jsonl")
    } else {
        given.to_path_buf()
    }
}

/// Where the audit log is kept unless `--audit-log` says otherwise.
pub const DEFAULT_AUDIT_LOG: &str = ".redactctl/audit.jsonl";

/// Runs an async use case to completion on a fresh runtime.
pub fn block_on<T>(future: impl std::future::Future<Output = T>) -> Result<T, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    Ok(runtime.block_on(future))
}

/// Parses the command line, runs the command and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(&cli.global);
    run(cli).into()
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Exit {
    let global = &cli.global;
    match cli.command {
        Command::Schema => schema_cmd::run(),
        Command::Validate(args) => validate_cmd::run(&args, global.color, global.quiet),
        Command::Plan(args) => finish(plan_cmd::run(global, &args), global),
        Command::Apply(args) => finish(apply_cmd::run(global, &args), global),
        Command::Status(args) => finish(status_cmd::run(global, &args), global),
        Command::Emulator(args::EmulatorCommand::Reset) => {
            finish(emulator_reset(global.local), global)
        }
        Command::Emulator(cmd) => emulator_cmd::run(cmd),
        Command::Reconcile(args) => finish(reconcile_cmd::run(global, &args), global),
        Command::Report(args) => finish(report_cmd::run(global, &args), global),
        Command::Find(args) => finish(find_cmd::run(global, &args), global),
        Command::Completions(args) => completions_cmd::completions(&args),
        Command::Man => completions_cmd::man(),
    }
}

/// `emulator reset --local`: forgets the embedded emulator's state.
fn emulator_reset(local: bool) -> CommandResult {
    if !local {
        eprintln!("error: `emulator reset` wipes the embedded emulator's state; say so with --local (a served emulator keeps its state in its --state file)");
        return Ok(Exit::Error);
    }
    let dir = ops::emulator::reset_local()?;
    eprintln!("Removed the embedded emulator's state ({}).", dir.display());
    Ok(Exit::Ok)
}
