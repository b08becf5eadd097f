//! `redactctl apply`: plan (or load a saved plan), guard, approve, converge, summarise.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::args::{ApplyArgs, GlobalArgs};
use super::{color, prepare, CommandResult, Exit};
use crate::apply::approval::{self, Approval};
use crate::apply::audit::AuditLog;
use crate::apply::execute::Target;
use crate::apply::progress::{PlainReporter, QuietReporter, Reporter, TerminalReporter};
use crate::apply::{self, guards, summary, ApplyOptions, Ending};
use crate::plan::{self, Plan};

/// A single argument that is a file holding JSON is a saved plan.
fn saved_plan_path(paths: &[PathBuf]) -> Option<&Path> {
    let [path] = paths else { return None };
    if !path.is_file() {
        return None;
    }
    let head = std::fs::read(path).ok()?;
    let first = head.iter().find(|b| !b.is_ascii_whitespace())?;
    (*first == b'{').then_some(path.as_path())
}

pub fn run(global: &GlobalArgs, args: &ApplyArgs) -> CommandResult {
    let saved: Option<Plan> = match saved_plan_path(&args.paths) {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the plan file {}: {e}", path.display()))?;
            Some(plan::parse_plan_file(&text).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => None,
    };
    let manifest_paths = match &saved {
        Some(p) if p.manifest_paths.is_empty() => return Err(
            "the plan file names no manifests; create it with `redactctl plan PATHS --out FILE`"
                .into(),
        ),
        Some(p) => p.manifest_paths.clone(),
        None => args.paths.clone(),
    };
    let desired = prepare::load_manifests(global, &manifest_paths)?;
    if let Some(p) = &saved {
        if p.desired_digest != desired.digest {
            return Err(
                "stale plan: the manifests changed since the plan was made; nothing was changed — run `redactctl plan` again"
                    .into(),
            );
        }
    }
    prepare::check_targets(&desired, &args.planning.target)?;
    prepare::block_on(async move {
        let prepared =
            prepare::connect_and_observe(global, desired, args.planning.no_cache).await?;
        let result = apply_prepared(global, args, saved, &prepared).await;
        let prepare::Prepared { conn, .. } = prepared;
        conn.close().await;
        result
    })
}

async fn apply_prepared(
    global: &GlobalArgs,
    args: &ApplyArgs,
    saved: Option<Plan>,
    prepared: &prepare::Prepared,
) -> Result<Exit, String> {
    let options = match &saved {
        // Re-plans while converging look at what the saved plan looked at.
        Some(p) => saved_plan_options(p, prepared.desired.entries.len(), args.revalidate),
        None => plan::Options {
            prune: args.planning.prune,
            targets: args.planning.target.clone(),
            revalidate: args.revalidate,
            ..plan::Options::default()
        },
    };
    let from_file = saved.is_some();
    let approved = match saved {
        Some(p) => {
            let reasons = plan::check_preconditions(&p, &prepared.live);
            if !reasons.is_empty() {
                return Err(apply::ApplyError::Stale(reasons).to_string());
            }
            p
        }
        None => plan::plan(&prepared.desired, &prepared.live, &options),
    };
    if !global.quiet {
        print!(
            "{}",
            plan::render_human(&approved, color::stdout_enabled(global.color))
        );
    }
    let writes = approved
        .actions
        .iter()
        .filter(|a| a.op != plan::Op::Wait)
        .count();
    let irreversible = approved.actions.iter().filter(|a| a.irreversible).count();
    guards::check_irreversible(irreversible, args.max_irreversible).map_err(|e| e.to_string())?;
    if writes > 0 && !from_file {
        match approval::ask(args.auto_approve) {
            Approval::Approved => {}
            Approval::Declined => return Err("apply cancelled: the plan was not approved; nothing was changed".into()),
            Approval::NoTerminal => {
                return Err("no terminal to ask for approval; review the plan and rerun with --auto-approve, or apply a saved plan file (`plan --out FILE`, then `apply FILE`); nothing was changed".into())
            }
        }
    }
    let audit = AuditLog::open(&args.audit_log).map_err(|e| e.to_string())?;
    let audit = Mutex::new(audit);
    let reporter: Box<dyn Reporter> = if global.quiet {
        Box::new(QuietReporter)
    } else if std::io::stderr().is_terminal() {
        Box::new(TerminalReporter::default())
    } else {
        Box::new(PlainReporter::default())
    };
    let target = Target {
        account: prepared
            .live
            .account
            .as_ref()
            .map(|a| a.id.clone())
            .unwrap_or_default(),
        mode: prepared.conn.key_mode,
    };
    let opts = ApplyOptions {
        parallelism: args.parallelism as usize,
        wait: args.wait,
        planning: options,
        observe: prepared.observe.clone(),
    };
    let report = apply::converge(
        &prepared.conn.client,
        &target,
        &prepared.desired,
        &approved,
        &opts,
        &audit,
        reporter.as_ref(),
    )
    .await
    .map_err(|e| e.to_string())?;
    if !global.quiet {
        print!("{}", summary::render(&report));
    }
    Ok(match report.ending {
        Ending::Done => Exit::Ok,
        Ending::Blocked => Exit::Blocked,
        Ending::TimedOut => Exit::TimedOut,
        Ending::Failed => Exit::Error,
    })
}

/// The planning options a saved plan was made with, as far as the plan shows them: the
/// entries it covers (when it was targeted) and whether it pruned.
fn saved_plan_options(saved: &Plan, declared: usize, revalidate: bool) -> plan::Options {
    let targets = if saved.entries.len() < declared {
        saved.entries.iter().map(|e| e.name.clone()).collect()
    } else {
        Vec::new()
    };
    plan::Options {
        prune: saved
            .actions
            .iter()
            .any(|a| a.entry.is_none() && a.op == plan::Op::Cancel),
        targets,
        revalidate,
        ..plan::Options::default()
    }
}
