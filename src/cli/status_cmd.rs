//! `redactctl status`: one row per entry with its jobs, statuses and progress.

use super::args::{GlobalArgs, StatusArgs, TableFormat};
use super::view::{CliEvents, Progress};
use super::{block_on, color, CommandResult, Exit};
use crate::ops::{self, status::StatusRequest};
use crate::plan;

pub fn run(global: &GlobalArgs, args: &StatusArgs) -> CommandResult {
    let session = super::session(global);
    let request = StatusRequest {
        paths: args.paths.clone(),
        no_cache: args.no_cache,
        due_soon_days: plan::FailOn::window(&args.fail_on),
    };
    let events = CliEvents::new(global, false, Progress::Quiet);
    let rows = block_on(ops::status::status(&session, &request, &events))??;
    let text = match args.format {
        TableFormat::Human => plan::render_status_human(&rows, color::stdout_enabled(global.color)),
        TableFormat::Json => plan::render_status_json(&rows),
    };
    print!("{text}");
    let failing = plan::failing_rows(&rows, &args.fail_on);
    if !failing.is_empty() {
        eprintln!(
            "deadline alert: {} {} the --fail-on condition: {}",
            failing.len(),
            if failing.len() == 1 {
                "request meets"
            } else {
                "requests meet"
            },
            failing.join(", ")
        );
        return Ok(Exit::DeadlineAlert);
    }
    Ok(Exit::Ok)
}
