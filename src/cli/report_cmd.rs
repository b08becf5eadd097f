//! `redactctl report`: receipts for auditors. Exits 1 when a receipt names a job Stripe
//! did not confirm in this run: the receipts are still printed (the job shown as
//! unconfirmed, with the reason), but nothing unconfirmed is certified.

use super::args::{GlobalArgs, ReportArgs, ReportFormat};
use super::view::{CliEvents, Progress};
use super::{block_on, CliError, CommandResult, Exit};
use crate::ops::{self, report::ReportRequest};
use crate::report;

pub fn run(global: &GlobalArgs, args: &ReportArgs) -> CommandResult {
    let session = super::session(global);
    let request = ReportRequest {
        paths: args.paths.clone(),
        audit_log: super::audit_log_path(global, &args.audit_log),
    };
    let events = CliEvents::new(global, false, Progress::Quiet);
    let receipts = block_on(ops::report::report(&session, &request, &events))??;
    let text = match args.format {
        ReportFormat::Json => report::render_json(&receipts),
        ReportFormat::Markdown => report::render_markdown(&receipts),
        ReportFormat::Csv => report::render_csv(&receipts).map_err(CliError::Csv)?,
        ReportFormat::Html => report::render_html(&receipts),
    };
    print!("{text}");
    let unconfirmed: Vec<&str> = receipts.unconfirmed().map(|r| r.entry.as_str()).collect();
    if unconfirmed.is_empty() {
        return Ok(Exit::Ok);
    }
    eprintln!(
        "error: not certified: Stripe did not confirm every job of {} (shown as unconfirmed)",
        unconfirmed.join(", ")
    );
    Ok(Exit::Error)
}
