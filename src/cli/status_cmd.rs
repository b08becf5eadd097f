//! `redactctl status`: one row per entry with its jobs, statuses and progress.

use super::args::{GlobalArgs, StatusArgs, TableFormat};
use super::{color, prepare, Exit};
use crate::plan;

pub fn run(global: &GlobalArgs, args: &StatusArgs) -> Exit {
    let Ok(desired) = prepare::load_manifests(global, &args.paths) else {
        return Exit::Error;
    };
    let rt = match prepare::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Error;
        }
    };
    rt.block_on(async {
        let prepared = match prepare::connect_and_observe(global, desired, args.no_cache).await {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Error;
            }
        };
        let rows = plan::status_rows(&prepared.desired, &prepared.live);
        prepared.conn.close().await;
        let text = match args.format {
            TableFormat::Human => {
                plan::render_status_human(&rows, color::stdout_enabled(global.color))
            }
            TableFormat::Json => plan::render_status_json(&rows),
        };
        print!("{text}");
        Exit::Ok
    })
}
