//! `redactctl report`: receipts for auditors.

use super::args::{GlobalArgs, ReportArgs, ReportFormat};
use super::{prepare, CommandResult, Exit};
use crate::apply::audit;
use crate::report;

pub fn run(global: &GlobalArgs, args: &ReportArgs) -> CommandResult {
    let desired = prepare::load_manifests(global, &args.paths)?;
    let (records, torn) = audit::read_log(&args.audit_log).map_err(|e| {
        format!(
            "cannot read the audit log {}: {e}",
            args.audit_log.display()
        )
    })?;
    if !torn.is_empty() {
        eprintln!(
            "warning: {} line(s) of {} could not be read (lines {:?})",
            torn.len(),
            args.audit_log.display(),
            torn
        );
    }
    prepare::block_on(async {
        let prepared = prepare::connect_and_observe(global, desired, false).await?;
        let receipts = report::receipts(&prepared.desired, &prepared.live, &records);
        prepared.conn.close().await;
        let text = match args.format {
            ReportFormat::Json => report::render_json(&receipts),
            ReportFormat::Markdown => report::render_markdown(&receipts),
            ReportFormat::Csv => report::render_csv(&receipts).map_err(|e| e.to_string())?,
        };
        print!("{text}");
        Ok(Exit::Ok)
    })
}
