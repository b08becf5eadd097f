//! The command line: every command of the design's table, with its options and help.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Declarative plan/apply for Stripe redaction jobs.
///
/// Declare the redactions you want in YAML manifests, review the plan, and let redactctl
/// converge the Stripe account: create, update, validate, run or cancel jobs, never twice,
/// never without approval, always with a record.
#[derive(Debug, Parser)]
#[command(name = "redactctl", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Read the Stripe API key from this file (otherwise from STRIPE_API_KEY). The key is
    /// never accepted as a flag value: it would land in shell history and CI logs.
    #[arg(long, global = true, value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,

    /// Base URL of the Stripe API (tests and emulators point it elsewhere).
    #[arg(
        long,
        global = true,
        env = "STRIPE_API_BASE",
        value_name = "URL",
        default_value = "https://api.stripe.com"
    )]
    pub api_base: String,

    /// Stripe-Version header sent with every request (redaction jobs need a preview version).
    #[arg(long, global = true, value_name = "VERSION", default_value = crate::stripe::DEFAULT_STRIPE_VERSION)]
    pub stripe_version: String,

    /// Use an embedded emulator instead of Stripe (state under .redactctl/local/). No
    /// Stripe account is touched and no key is needed.
    #[arg(long, global = true)]
    pub local: bool,

    /// When to colour output (NO_COLOR is honoured).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Client-side limit of requests per second for the account (default: Stripe's own,
    /// 25 in test mode and 100 in live mode; writes go before reads).
    #[arg(long, global = true, value_name = "N", env = "REDACTCTL_RATE_LIMIT")]
    pub client_rate_limit: Option<u32>,

    /// Client-side limit of requests per second per endpoint (default 25).
    #[arg(
        long,
        global = true,
        value_name = "N",
        env = "REDACTCTL_ENDPOINT_RATE_LIMIT"
    )]
    pub client_endpoint_rate_limit: Option<u32>,

    /// More logging on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Less output: errors only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Output formats of commands that print results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
    Markdown,
}

/// Output formats of `validate` and `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    Human,
    Json,
}

/// Output formats of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Csv,
    /// A self-contained page fit to print (no external assets, no scripts).
    Html,
    Json,
    Markdown,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests offline (no key, no request): all errors and warnings at once.
    Validate(ValidateArgs),
    /// Compare the manifests with the Stripe account and show what apply would do.
    Plan(PlanArgs),
    /// Converge the Stripe account to the manifests (or carry out a saved plan).
    Apply(ApplyArgs),
    /// One row per entry: jobs, statuses, objects redacted / declared.
    Status(StatusArgs),
    /// Print the manifest JSON Schema.
    Schema,
    /// Run or reset the Stripe-compatible emulator.
    #[command(subcommand)]
    Emulator(EmulatorCommand),
    /// Plan and apply in a loop (and on webhooks) until stopped.
    Reconcile(ReconcileArgs),
    /// Receipts for auditors: per entry, its jobs, statuses and when each step was done.
    Report(ReportArgs),
    /// Look a person up by e-mail (read from stdin, a prompt or --from-file, never argv)
    /// and write the manifest entry with their Stripe ids.
    Find(super::find_cmd::FindArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    Man,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Manifest files or directories (searched recursively for *.yaml and *.yml).
    #[arg(required = true, value_name = "PATHS")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Human)]
    pub format: TableFormat,
}

/// Options shared by plan and apply that shape the plan.
#[derive(Debug, Args, Clone, Default)]
pub struct PlanningArgs {
    /// Also cancel unmanaged jobs in `ready` or `failed` (jobs no entry owns). Only with
    /// the whole manifest set (the project file's roots) and without `--target`.
    #[arg(long)]
    pub prune: bool,
    /// Cancel these conflicting jobs (jobs that name objects of several entries, or
    /// declared objects next to undeclared ones); never canceled otherwise (repeatable).
    #[arg(long, value_name = "JOB", num_args = 1..)]
    pub cancel_conflicting: Vec<String>,
    /// Plan only these entries (repeatable).
    #[arg(long, value_name = "NAME", num_args = 1..)]
    pub target: Vec<String>,
    /// Read every job from Stripe, ignoring the cache of jobs in terminal states.
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Manifest files or directories (none: the roots named by the project file
    /// `redactctl.yaml`).
    #[arg(value_name = "PATHS")]
    pub paths: Vec<PathBuf>,
    /// Save the plan to this file, for `apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub format: OutputFormat,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// With `--format markdown`: never print more than this many bytes (a pull-request
    /// comment has a size limit); entries that do not fit are counted in a "truncated" line.
    #[arg(long, value_name = "BYTES", default_value_t = crate::plan::DEFAULT_MAX_BYTES,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(crate::plan::MIN_MAX_BYTES as u64..))]
    pub max_bytes: usize,
    /// With `--format markdown`: also show entries with nothing to do.
    #[arg(long)]
    pub all_entries: bool,
    /// The audit log that says which jobs redactctl created (read only; jobs without a
    /// record of their create are shown as created outside redactctl).
    #[arg(long, value_name = "PATH", default_value = ".redactctl/audit.jsonl")]
    pub audit_log: PathBuf,
    #[command(flatten)]
    pub planning: PlanningArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Manifest files or directories, or one plan file saved by `plan --out` (none: the
    /// roots named by the project file `redactctl.yaml`).
    #[arg(value_name = "PATHS|PLANFILE")]
    pub paths: Vec<PathBuf>,
    /// Do not ask for approval (required without a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Wait until everything converges, is blocked, or the time is up (default 15m).
    #[arg(long, value_name = "DURATION", num_args = 0..=1, require_equals = true, default_missing_value = "15m", value_parser = parse_duration)]
    pub wait: Option<Duration>,
    /// How many actions run at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub parallelism: u32,
    /// Refuse to start when the plan holds more irreversible actions than this.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_irreversible: usize,
    /// Validate failed jobs again, even when their errors look permanent.
    #[arg(long)]
    pub revalidate: bool,
    /// Append one JSON line per write request here.
    #[arg(long, value_name = "PATH", default_value = ".redactctl/audit.jsonl")]
    pub audit_log: PathBuf,
    #[command(flatten)]
    pub planning: PlanningArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Manifest files or directories.
    #[arg(required = true, value_name = "PATHS")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Human)]
    pub format: TableFormat,
    /// Read every job from Stripe, ignoring the cache of jobs in terminal states.
    #[arg(long)]
    pub no_cache: bool,
    /// Exit 6 when an open request is `overdue`, or due within N days
    /// (`due-within=7d`, overdue included), or a scheduled request becomes eligible only
    /// after its due date (`eligible-after-due`). Repeatable.
    #[arg(long, value_name = "CONDITION")]
    pub fail_on: Vec<crate::plan::FailOn>,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum EmulatorCommand {
    /// Serve the emulator over HTTP until Ctrl-C or SIGTERM.
    Serve(EmulatorServeArgs),
    /// Wipe the state of the embedded emulator (`--local`).
    Reset,
}

#[derive(Debug, Args, Clone)]
pub struct EmulatorServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:12111")]
    pub addr: SocketAddr,
    /// Persist state to this file (written atomically after every change).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Seed objects and jobs from this YAML or JSON file.
    #[arg(long, value_name = "FILE")]
    pub fixtures: Option<PathBuf>,
    /// How long validation takes.
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub validation_delay: Duration,
    /// How long redaction takes.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub redaction_delay: Duration,
    /// How long canceling takes.
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub cancel_delay: Duration,
    /// How long a verification session's redaction takes.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub session_redaction_delay: Duration,
    /// Latency added to every response.
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub latency: Duration,
    /// Requests per second allowed per key (0: no limit). Per-endpoint limit: --endpoint-rate-limit.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub rate_limit: u32,
    /// Requests per second allowed per key and endpoint (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub endpoint_rate_limit: u32,
    /// Fraction of requests answered with a 500 (half of them after applying the change).
    #[arg(long, value_name = "RATIO", default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Fraction of requests whose connection is dropped without an answer.
    #[arg(long, value_name = "RATIO", default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Send signed webhook events to this URL (secret from STRIPE_WEBHOOK_SECRET).
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// Seed of the fault generator (--fail-rate, --drop-rate): same seed, same faults.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// The account id every key belongs to (default: derived from the key).
    #[arg(long, value_name = "ACCT")]
    pub account_id: Option<String>,
    /// Whether ids the fixtures do not describe exist: `missing` (as on Stripe) or
    /// `exist` (redactable, nothing related: for benchmarks and quick trials).
    #[arg(long, value_enum, value_name = "MODE", default_value_t = UnknownObjectsArg::Missing)]
    pub unknown_objects: UnknownObjectsArg,
    /// Start the emulator's clock at this time (unix seconds or RFC 3339, e.g.
    /// 2026-01-01T00:00:00Z); it runs from there. Default: the system time.
    #[arg(long, value_name = "TIME", value_parser = parse_unix_time)]
    pub now: Option<i64>,
    /// A job reaching more objects than this (roots and related) fails validation with
    /// `too_many_objects`.
    #[arg(long, value_name = "N", default_value_t = crate::emulator::state::DEFAULT_MAX_RELATED_OBJECTS)]
    pub max_related_objects: usize,
}

/// `emulator serve --unknown-objects`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UnknownObjectsArg {
    /// Ids no fixture describes do not exist.
    Missing,
    /// Every well-formed id exists.
    Exist,
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Manifest files or directories (re-read every pass).
    #[arg(required = true, value_name = "PATHS")]
    pub paths: Vec<PathBuf>,
    /// Time between passes.
    #[arg(long, value_parser = parse_duration, default_value = "10m")]
    pub interval: Duration,
    /// Required: reconcile never asks.
    #[arg(long)]
    pub auto_approve: bool,
    /// Accept Stripe webhooks here and start a pass early (secret from STRIPE_WEBHOOK_SECRET).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Refuse a pass whose plan holds more irreversible actions than this.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_irreversible: usize,
    /// Append one JSON line per write request here.
    #[arg(long, value_name = "PATH", default_value = ".redactctl/audit.jsonl")]
    pub audit_log: PathBuf,
    /// Revalidate a failed job whose errors need a person (not a lock, not the 90-day risk
    /// period) at most once per this long, counted from its last validation in the audit
    /// log, so that a fix made in the Dashboard is picked up; `0` turns it off.
    #[arg(long, value_name = "DUR", value_parser = parse_duration, default_value = "24h")]
    pub revalidate_every: Duration,
    /// Run one pass, print its line, and exit (1 when the pass could not run).
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Manifest files or directories.
    #[arg(required = true, value_name = "PATHS")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    pub format: ReportFormat,
    /// The audit log to read step times from.
    #[arg(long, value_name = "PATH", default_value = ".redactctl/audit.jsonl")]
    pub audit_log: PathBuf,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Why a command-line time or duration was refused; clap prints it after the flag's name.
#[derive(Debug, thiserror::Error)]
pub enum ArgValueError {
    #[error("`{0}` is not a time ({1}); try unix seconds or 2026-01-01T00:00:00Z")]
    NotATime(String, humantime::TimestampError),
    #[error("`{0}` is before 1970")]
    BeforeEpoch(String),
    #[error("`{0}` is too far in the future")]
    TooLate(String),
    #[error("`{0}` is not a duration ({1}); try 30s, 15m or 1h")]
    NotADuration(String, humantime::DurationError),
}

/// Parses a time: unix seconds, or RFC 3339 (`2026-01-01T00:00:00Z`).
pub fn parse_unix_time(s: &str) -> Result<i64, ArgValueError> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    let t = humantime::parse_rfc3339_weak(s).map_err(|e| ArgValueError::NotATime(s.into(), e))?;
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| ArgValueError::BeforeEpoch(s.into()))?
        .as_secs();
    i64::try_from(secs).map_err(|_| ArgValueError::TooLate(s.into()))
}

/// Parses durations such as `90s`, `15m`, `1h 30m`.
pub fn parse_duration(s: &str) -> Result<Duration, ArgValueError> {
    humantime::parse_duration(s).map_err(|e| ArgValueError::NotADuration(s.into(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_unix_seconds_or_rfc3339_and_refusals_say_what_to_type() {
        assert_eq!(parse_unix_time("1767225600").ok(), Some(1_767_225_600));
        assert_eq!(
            parse_unix_time("2026-01-01T00:00:00Z").ok(),
            Some(1_767_225_600)
        );
        let refused = parse_unix_time("tomorrow").map(|_| ()).unwrap_err();
        assert!(refused
            .to_string()
            .starts_with("`tomorrow` is not a time ("));
        assert!(refused
            .to_string()
            .ends_with("try unix seconds or 2026-01-01T00:00:00Z"));
    }

    #[test]
    fn durations_are_humantime_and_refusals_say_what_to_type() {
        assert_eq!(
            parse_duration("1h 30m").ok(),
            Some(Duration::from_secs(5400))
        );
        let refused = parse_duration("soon").map(|_| ()).unwrap_err();
        assert!(refused.to_string().ends_with("try 30s, 15m or 1h"));
    }
}
