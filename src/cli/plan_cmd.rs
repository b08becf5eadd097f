//! `redactctl plan`: build the request, call `ops::plan`, render; `--out` saves the plan.

use super::args::{GlobalArgs, OutputFormat, PlanArgs};
use super::view::{CliEvents, Progress};
use super::{block_on, color, exit_codes, CommandResult};
use crate::ops::{self, plan::PlanRequest};
use crate::plan;

pub fn run(global: &GlobalArgs, args: &PlanArgs) -> CommandResult {
    let session = super::session(global);
    let request = PlanRequest {
        paths: args.paths.clone(),
        options: plan::Options {
            prune: args.planning.prune,
            targets: args.planning.target.clone(),
            cancel_conflicting: args.planning.cancel_conflicting.clone(),
            ..Default::default()
        },
        no_cache: args.planning.no_cache,
        out: args.out.clone(),
        audit_log: Some(super::audit_log_path(global, &args.audit_log)),
        // Only a saved plan is signed: the key is not even read without `--out`.
        plan_key: match &args.out {
            Some(_) => super::plan_key()?,
            None => None,
        },
    };
    let events = CliEvents::new(global, false, Progress::Quiet);
    let outcome = block_on(ops::plan::plan(&session, &request, &events))??;
    let the_plan = &outcome.plan;
    let text = match args.format {
        OutputFormat::Human => plan::render_human(the_plan, color::stdout_enabled(global.color)),
        OutputFormat::Json => plan::render_json(the_plan),
        OutputFormat::Markdown => plan::render_markdown_budgeted(
            the_plan,
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
    Ok(exit_codes::for_plan(the_plan, args.detailed_exitcode))
}
