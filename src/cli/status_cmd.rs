//! `redactctl status`: one row per entry with its jobs, statuses and progress.

use super::args::{GlobalArgs, StatusArgs, TableFormat};
use super::{color, prepare, CommandResult, Exit};
use crate::plan;

pub fn run(global: &GlobalArgs, args: &StatusArgs) -> CommandResult {
    let desired = prepare::load_manifests(global, &args.paths)?;
    prepare::block_on(async {
        let prepared = prepare::connect_and_observe(global, desired, args.no_cache).await?;
        let rows = plan::status_rows(&prepared.desired, &prepared.live);
        prepared.conn.close().await;
        let text = match args.format {
            TableFormat::Human => {
                plan::render_status_human(&rows, color::stdout_enabled(global.color))
            }
            TableFormat::Json => plan::render_status_json(&rows),
        };
        print!("{text}");
        Ok(Exit::Ok)
    })
}
