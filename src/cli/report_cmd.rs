//! `redactctl report`: receipts for auditors.

use super::args::{GlobalArgs, ReportArgs, ReportFormat};
use super::view::{CliEvents, Progress};
use super::{block_on, CliError, CommandResult, Exit};
use crate::ops::{self, report::ReportRequest};
use crate::report;

pub fn run(global: &GlobalArgs, args: &ReportArgs) -> CommandResult {
    let session = super::session(global);
    let request = ReportRequest {
        paths: args.paths.clone(),
        audit_log: args.audit_log.clone(),
    };
    let events = CliEvents::new(global, false, Progress::Quiet);
    let receipts = block_on(ops::report::report(&session, &request, &events))??;
    let text = match args.format {
        ReportFormat::Json => report::render_json(&receipts),
        ReportFormat::Markdown => report::render_markdown(&receipts),
        ReportFormat::Csv => report::render_csv(&receipts).map_err(CliError::Csv)?,
    };
    print!("{text}");
    Ok(Exit::Ok)
}
