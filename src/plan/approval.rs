//! What makes a saved plan safe to apply: its preconditions still hold
//! ([`check_preconditions`]), and every action a re-plan proposes was approved
//! ([`approved_actions`]). A saved plan is approval for exactly its actions.

use std::collections::{HashMap, HashSet};

use super::model::{Action, Op, Plan, Precondition, Signature};
use crate::kinds::ObjectRef;
use crate::manifest::Behavior;
use crate::observe::Live;
use crate::stripe::models::ValidationBehavior;
use crate::stripe::models::{JobStatus, RedactionJob};

/// Reasons `saved` no longer matches `live` (empty: the plan is fresh). A deferred action
/// or a wait tolerates the progress Stripe makes by itself (`validating` → `ready` or
/// `failed`, `redacting` → `succeeded`, …); every other action needs exactly what was seen.
pub fn check_preconditions(saved: &Plan, live: &Live) -> Vec<String> {
    let mut out = Vec::new();
    if let (Some(want), Some(acct)) = (&saved.account_id, &live.account) {
        if *want != acct.id {
            out.push(format!(
                "the plan is for account {want}, the key belongs to {}",
                acct.id
            ));
        }
    }
    if let Some(mode) = live.mode {
        if mode != saved.mode {
            out.push(format!(
                "the plan is for {} mode, the key is a {mode} mode key",
                saved.mode
            ));
        }
    }
    let jobs: HashMap<&str, &RedactionJob> = live.jobs.iter().map(|j| (j.id.as_str(), j)).collect();
    // Objects → ids of the active jobs that name them, and the redacted objects.
    let mut holders: HashMap<_, Vec<&str>> = HashMap::new();
    let mut redacted = HashSet::new();
    for j in &live.jobs {
        for o in j.object_refs() {
            if j.status == JobStatus::Succeeded {
                redacted.insert(o.clone());
            }
            if j.status.is_active() {
                holders.entry(o).or_default().push(j.id.as_str());
            }
        }
    }
    for a in &saved.actions {
        let Some(pre) = &a.precondition else { continue };
        let lenient = a.deferred || a.op == Op::Wait;
        match pre {
            Precondition::Job {
                job,
                status,
                validation_behavior,
            } => match jobs.get(job.as_str()) {
                None => out.push(format!("{}: job {job} no longer exists", a.id)),
                Some(j) => {
                    let ok = j.status == *status || (lenient && progresses_to(status, &j.status));
                    if !ok {
                        out.push(format!(
                            "{}: job {job} is now {} (the plan saw {status})",
                            a.id, j.status
                        ));
                    }
                    if j.effective_behavior() != *validation_behavior {
                        out.push(format!(
                            "{}: job {job} now has validation_behavior {} (the plan saw \
                             {validation_behavior})",
                            a.id,
                            j.effective_behavior()
                        ));
                    }
                }
            },
            Precondition::Session {
                session,
                status,
                redaction,
            } => match live.sessions.get(session) {
                None => out.push(format!("{}: session {session} no longer exists", a.id)),
                Some(s) => {
                    let now = s.redaction.as_ref().map(|r| &r.status);
                    if s.status != *status && !lenient {
                        out.push(format!(
                            "{}: session {session} is now {} (the plan saw {status})",
                            a.id, s.status
                        ));
                    }
                    if now != redaction.as_ref() && !lenient {
                        out.push(format!(
                            "{}: session {session} redaction is now {} (the plan saw {})",
                            a.id,
                            now.map(|r| r.as_str()).unwrap_or("none"),
                            redaction.as_ref().map(|r| r.as_str()).unwrap_or("none"),
                        ));
                    }
                }
            },
            Precondition::Free {
                objects,
                except_jobs,
            } => {
                for o in objects {
                    if redacted.contains(o) {
                        out.push(format!("{}: {o} has been redacted since", a.id));
                    }
                    let others: Vec<&str> = holders
                        .get(o)
                        .into_iter()
                        .flatten()
                        .copied()
                        .filter(|h| !except_jobs.iter().any(|e| e == h))
                        .collect();
                    if !others.is_empty() {
                        out.push(format!(
                            "{}: {o} is now held by job {}",
                            a.id,
                            others.join(", ")
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Whether Stripe alone moves a job from `seen` to `now`.
fn progresses_to(seen: &JobStatus, now: &JobStatus) -> bool {
    use JobStatus::*;
    match seen {
        Created => matches!(now, Validating | Ready | Failed),
        Validating => matches!(now, Ready | Failed),
        Redacting => matches!(now, Succeeded),
        Canceling => matches!(now, Canceled),
        _ => false,
    }
}

/// What a reviewer approved about one action: its signature, the fixes it commits to
/// (their descriptions, sorted) and the outside job it adopts. A re-plan whose fixes or
/// adoption differ proposes something nobody saw.
/// The last part says whether a run applies fixes at all: a run approved under `error`
/// does not cover the same job switched to `fix` since.
type Approved = (Signature, Vec<String>, Option<String>, bool);

fn approved_key(a: &Action, plan: &Plan) -> Approved {
    let mut fixes: Vec<String> = a.fixes.iter().map(|f| f.description.clone()).collect();
    fixes.sort();
    (
        a.signature(),
        fixes,
        a.adopt.as_ref().map(|x| x.job.clone()),
        a.op == Op::Run && (!a.fixes.is_empty() || runs_under_fix(a, plan)),
    )
}

/// Whether the run will find its job in `fix` behaviour: as observed, unless an update of
/// the same plan that the run comes after switches it first. A run approved after a
/// switch back to `error` applies no fix, and is the same approval whether the re-plan
/// sees the job before the switch or after it.
fn runs_under_fix(a: &Action, plan: &Plan) -> bool {
    let switched = plan
        .actions
        .iter()
        .filter(|u| u.op == Op::Update && a.after.contains(&u.id) && u.job == a.job)
        .find_map(|u| u.validation_behavior);
    if let Some(b) = switched {
        return b == Behavior::Fix;
    }
    matches!(
        &a.precondition,
        Some(Precondition::Job { validation_behavior, .. })
            if *validation_behavior == ValidationBehavior::Fix
    )
}

/// Splits `fresh` (a re-plan during apply) into the actions whose signature, fixes and
/// adoption `approved` holds (each approved action allows as many actions as it appeared
/// times) and the new work that nobody approved: to report, never to do. Waits change
/// nothing and are always allowed; an action that must come after an unapproved one is
/// not allowed either. Two kinds of work are allowed without appearing as such, because
/// the approved plan already covers them:
/// - the one revalidation of a job whose locks were released (not irreversible), when the
///   plan approved work on that entry's objects;
/// - the switch to `fix`, revalidation and run of a job whose every fix the manifest's
///   `allowed_fixes` pre-approves, when the plan approved running those objects;
/// - the revalidation of a job whose 90-day risk period has ended (scheduled by the
///   entry, not irreversible).
pub fn approved_actions(approved: &Plan, fresh: &Plan) -> (Vec<Action>, Vec<Action>) {
    let mut budget: HashMap<Approved, usize> = HashMap::new();
    // (entry, objects) the approved plan acts on, and those it runs.
    let mut worked: HashMap<(Option<String>, Vec<ObjectRef>), usize> = HashMap::new();
    let mut runs: HashSet<(Option<String>, Vec<ObjectRef>)> = HashSet::new();
    // Runs the approved plan showed with fixes, by signature and adoption.
    let mut fix_runs: HashMap<(Signature, Option<String>), Vec<&Action>> = HashMap::new();
    for a in &approved.actions {
        if a.op == Op::Run && !a.fixes.is_empty() {
            fix_runs
                .entry((a.signature(), a.adopt.as_ref().map(|x| x.job.clone())))
                .or_default()
                .push(a);
        }
        *budget.entry(approved_key(a, approved)).or_default() += 1;
        let sig = a.signature();
        if a.op != Op::Wait || a.lock_release || !a.lock_holders.is_empty() {
            *worked
                .entry((sig.entry.clone(), sig.objects.clone()))
                .or_default() += 1;
        }
        if a.op == Op::Run {
            runs.insert((sig.entry, sig.objects));
        }
    }
    let (mut allowed, mut new) = (Vec::new(), Vec::new());
    // Actions come in dependency order: an action that needs an unapproved one first is
    // not approved either.
    let mut refused: HashSet<&str> = HashSet::new();
    for a in &fresh.actions {
        if a.after.iter().any(|d| refused.contains(d.as_str())) {
            refused.insert(a.id.as_str());
            new.push(a.clone());
            continue;
        }
        if a.op == Op::Wait {
            allowed.push(a.clone());
            continue;
        }
        // A run under `fix` whose fixes Stripe does not list is approved by a plan that
        // showed the same (with its warning), or by one that showed its fixes (below);
        // never by a plan that saw the job under `error`.
        let fixes_unlisted = a.op == Op::Run && a.fixes.is_empty() && runs_under_fix(a, fresh);
        if let Some(n) = budget.get_mut(&approved_key(a, fresh)).filter(|n| **n > 0) {
            *n -= 1;
            allowed.push(a.clone());
            continue;
        }
        // A run of a job switched to `fix` for which Stripe lists no errors once it is
        // ready: it applies the fixes the approved plan showed (the preview came from the
        // errors of the job under `error`), and carries them for the audit log.
        if fixes_unlisted {
            let key = (a.signature(), a.adopt.as_ref().map(|x| x.job.clone()));
            if let Some(shown) = fix_runs.get_mut(&key).and_then(|v| v.pop()) {
                let mut run = a.clone();
                run.fixes = shown.fixes.clone();
                run.side_effects = shown.side_effects.clone();
                allowed.push(run);
                continue;
            }
        }
        let sig = a.signature();
        let scope = (sig.entry, sig.objects);
        let lock_revalidation = a.op == Op::Validate
            && a.lock_release
            && a.adopt.is_none()
            && worked.get_mut(&scope).is_some_and(|n| {
                let ok = *n > 0;
                *n = n.saturating_sub(1);
                ok
            });
        // The revalidation of a job whose 90-day risk period has ended: the entry implies
        // it, and it destroys nothing.
        let scheduled_revalidation = a.op == Op::Validate && a.scheduled && a.adopt.is_none();
        let preapproved_fixes = !a.fixes.is_empty()
            && a.fixes.iter().all(|f| f.preapproved)
            && a.adopt.is_none()
            && matches!(a.op, Op::Update | Op::Validate | Op::Run)
            && runs.contains(&scope);
        if lock_revalidation || preapproved_fixes || scheduled_revalidation {
            allowed.push(a.clone());
        } else {
            refused.insert(a.id.as_str());
            new.push(a.clone());
        }
    }
    (allowed, new)
}
