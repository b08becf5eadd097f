//! `redactctl status`: one row per entry with its jobs, statuses and progress.

use super::args::{GlobalArgs, StatusArgs, TableFormat};
use super::{color, prepare, CommandResult, Exit};
use crate::plan;

pub fn run(global: &GlobalArgs, args: &StatusArgs) -> CommandResult {
    let desired = prepare::load_manifests(global, &args.paths)?;
    prepare::block_on(async {
        let prepared = prepare::connect_and_observe(global, desired, args.no_cache).await?;
        let today = crate::deadline::clock::today().map_err(|e| e.to_string())?;
        let window = plan::FailOn::window(&args.fail_on);
        let rows = plan::status_rows_on(&prepared.desired, &prepared.live, today, window);
        prepared.conn.close().await;
        let text = match args.format {
            TableFormat::Human => {
                plan::render_status_human(&rows, color::stdout_enabled(global.color))
            }
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
    })
}
