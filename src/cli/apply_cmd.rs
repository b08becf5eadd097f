//! `redactctl apply`: build the request (a saved plan is its own approval), call the ops
//! pipeline, print the summary, map the ending to an exit code.

use super::args::{ApplyArgs, GlobalArgs};
use super::view::{CliEvents, Progress, TerminalPrompt};
use super::{block_on, exit_codes, CommandResult};
use crate::apply::summary;
use crate::ops::apply::{self as ops_apply, ApplyRequest, Approval};
use crate::plan;

pub fn run(global: &GlobalArgs, args: &ApplyArgs) -> CommandResult {
    let session = super::session(global);
    let prompt = TerminalPrompt;
    let approval = match ops_apply::saved_plan_path(&args.paths) {
        Some(path) => Approval::SavedPlan(Box::new(ops_apply::read_signed_plan_file(
            path,
            super::plan_key()?.as_ref(),
        )?)),
        None if args.auto_approve => Approval::AutoApprove,
        None => Approval::Prompt(&prompt),
    };
    let request = ApplyRequest {
        paths: args.paths.clone(),
        approval,
        options: plan::Options {
            prune: args.planning.prune,
            targets: args.planning.target.clone(),
            cancel_conflicting: args.planning.cancel_conflicting.clone(),
            revalidate: args.revalidate,
            ..Default::default()
        },
        no_cache: args.planning.no_cache,
        wait: args.wait,
        parallelism: args.parallelism as usize,
        max_irreversible: args.max_irreversible,
        audit_log: super::audit_log_path(global, &args.audit_log),
    };
    let events = CliEvents::new(global, true, Progress::Auto);
    let outcome = block_on(async {
        // First SIGINT/SIGTERM: finish what is in flight, then the summary; second: exit.
        crate::apply::interrupt::install();
        ops_apply::apply(&session, &request, &events).await
    })??;
    if !global.quiet {
        print!("{}", summary::render(&outcome.report));
    }
    Ok(exit_codes::for_apply(&outcome.report))
}
