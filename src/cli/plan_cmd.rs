//! `redactctl plan`: observe, plan, render; `--out` saves the plan for `apply FILE`.

use std::io::Write;
use std::path::Path;

use super::args::{GlobalArgs, OutputFormat, PlanArgs};
use super::{color, prepare, CommandResult, Exit};
use crate::plan::{self, Plan};

pub fn run(global: &GlobalArgs, args: &PlanArgs) -> CommandResult {
    let desired = prepare::load_manifests(global, &args.paths)?;
    prepare::check_targets(&desired, &args.planning.target)?;
    prepare::block_on(async {
        let prepared =
            prepare::connect_and_observe(global, desired, args.planning.no_cache).await?;
        let options = plan::Options {
            prune: args.planning.prune,
            targets: args.planning.target.clone(),
            revalidate: false,
            ..plan::Options::default()
        };
        let mut the_plan = plan::plan(&prepared.desired, &prepared.live, &options);
        let today = crate::deadline::clock::today().map_err(|e| e.to_string())?;
        plan::annotate_deadlines(
            &mut the_plan,
            &prepared.desired,
            today,
            crate::deadline::DEFAULT_DUE_SOON_DAYS,
        );
        the_plan.manifest_paths = args.paths.clone();
        prepared.conn.close().await;

        if let Some(out) = &args.out {
            save_plan(out, &the_plan)?;
        }
        let text = match args.format {
            OutputFormat::Human => {
                plan::render_human(&the_plan, color::stdout_enabled(global.color))
            }
            OutputFormat::Json => plan::render_json(&the_plan),
            OutputFormat::Markdown => plan::render_markdown_budgeted(
                &the_plan,
                plan::MarkdownOptions {
                    max_bytes: args.max_bytes,
                    all_entries: args.all_entries,
                },
            ),
        };
        print!("{text}");
        if let Some(out) = &args.out {
            if args.format == OutputFormat::Human {
                println!(
                    "\nSaved the plan to {}. To perform exactly these actions, run:\n    redactctl apply {}",
                    out.display(),
                    out.display()
                );
            }
        }
        Ok(if args.detailed_exitcode && has_changes(&the_plan) {
            Exit::Changes
        } else {
            Exit::Ok
        })
    })
}

/// Whether the plan would write anything.
pub fn has_changes(plan: &Plan) -> bool {
    plan.actions.iter().any(|a| a.op != plan::Op::Wait)
}

/// Writes the plan file atomically: a temp file beside it, then a rename, so that a crash
/// or a full disk never leaves half a plan. A missing directory is created (`--out
/// plan/plan.json` in a fresh CI checkout).
pub fn save_plan(path: &Path, the_plan: &Plan) -> Result<(), String> {
    let json = plan::render_json(the_plan);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
        tmp.write_all(json.as_bytes())?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    write().map_err(|e| format!("cannot write the plan file {}: {e}", path.display()))
}
