//! `redactctl report`: receipts for auditors.

use super::args::{GlobalArgs, ReportArgs, ReportFormat};
use super::{prepare, Exit};
use crate::apply::audit;
use crate::report;

pub fn run(global: &GlobalArgs, args: &ReportArgs) -> Exit {
    let Ok(desired) = prepare::load_manifests(global, &args.paths) else {
        return Exit::Error;
    };
    let (records, torn) = match audit::read_log(&args.audit_log) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "error: cannot read the audit log {}: {e}",
                args.audit_log.display()
            );
            return Exit::Error;
        }
    };
    if !torn.is_empty() {
        eprintln!(
            "warning: {} line(s) of {} could not be read (lines {:?})",
            torn.len(),
            args.audit_log.display(),
            torn
        );
    }
    let rt = match prepare::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Error;
        }
    };
    rt.block_on(async {
        let prepared = match prepare::connect_and_observe(global, desired, false).await {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Error;
            }
        };
        let receipts = report::receipts(&prepared.desired, &prepared.live, &records);
        prepared.conn.close().await;
        let text = match args.format {
            ReportFormat::Json => report::render_json(&receipts),
            ReportFormat::Markdown => report::render_markdown(&receipts),
            ReportFormat::Csv => match report::render_csv(&receipts) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Exit::Error;
                }
            },
        };
        print!("{text}");
        Exit::Ok
    })
}
