//! Apply: approval, guards, executing actions, waiting and re-planning, the audit log.
//!
//! Level-triggered like a controller: every round re-reads the whole live state and asks
//! the planner what to do next, so a crash or a rerun is always safe. Only actions whose
//! signature the operator approved are performed; anything new a re-plan finds is reported,
//! never done.

pub mod approval;
pub mod audit;
pub mod execute;
pub mod guards;
pub mod progress;
pub mod summary;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use audit::{AuditError, AuditLog};
use execute::{ActionResult, Target};
use guards::GuardError;
use progress::Reporter;

use crate::manifest::Desired;
use crate::observe::{observe, Live, ObserveOptions};
use crate::plan::{self, Action, Op, Outcome, Plan};
use crate::stripe::client::{Client, StripeError};

/// Why apply stopped with an error (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Guard(#[from] GuardError),
    #[error(transparent)]
    Stripe(#[from] StripeError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("stale plan: {}; nothing was changed — run `redactctl plan` again", .0.join("; "))]
    Stale(Vec<String>),
    #[error("{0}")]
    Internal(String),
}

/// How apply goes about its work.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub parallelism: usize,
    /// `--wait`: how long to keep polling until converged; `None`: one pass plus the
    /// follow-ups possible at once.
    pub wait: Option<Duration>,
    pub planning: plan::Options,
    pub observe: ObserveOptions,
}

/// Where apply ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every entry converged, or only Stripe-side work is left (exit 0).
    Done,
    /// A person must act for some entry (exit 3).
    Blocked,
    /// `--wait` ran out before convergence (exit 4).
    TimedOut,
    /// Some writes failed and their entries did not converge (exit 1).
    Failed,
}

/// Everything apply did and where it left things.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    pub ending: Ending,
    /// Every action attempted, in order, with its result.
    pub performed: Vec<(Action, ActionResult)>,
    /// Work a re-plan found that was not approved (reported, not done).
    pub not_approved: Vec<Action>,
    /// The last plan: where each entry stands now.
    pub last: Plan,
}

/// The longest pause between two polls.
const MAX_POLL: Duration = Duration::from_secs(30);
/// Rounds without `--wait`: enough for follow-ups that are possible at once.
const ROUNDS_WITHOUT_WAIT: usize = 4;

/// Carries out `approved` (already shown, guarded and approved), then re-observes and
/// re-plans, performing the follow-ups the approved plan contained, until converged,
/// blocked, or (with `--wait`) the time is up.
pub async fn converge(
    client: &Client,
    target: &Target,
    desired: &Desired,
    approved: &Plan,
    opts: &ApplyOptions,
    audit: &Mutex<AuditLog>,
    reporter: &dyn Reporter,
) -> Result<ApplyReport, ApplyError> {
    let started = Instant::now();
    let deadline = opts.wait.map(|w| started + w);
    let mut performed: Vec<(Action, ActionResult)> = Vec::new();
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();

    let first: Vec<Action> = approved
        .actions
        .iter()
        .filter(|a| !a.deferred && a.op != Op::Wait)
        .cloned()
        .collect();
    run_batch(client, target, &first, opts, audit, reporter, &mut performed, &mut failures)
        .await?;

    let mut pause = Duration::from_secs(1);
    let mut round = 0usize;
    loop {
        round += 1;
        let live: Live = observe(client, desired, &opts.observe).await?;
        let fresh = plan::plan(desired, &live, &opts.planning);
        for entry in &fresh.entries {
            reporter.entry_state(&entry.name, &summary::entry_state(entry));
        }
        let (allowed, not_approved) = plan::approved_actions(approved, &fresh);
        let todo: Vec<Action> = allowed
            .into_iter()
            .filter(|a| !a.deferred && a.op != Op::Wait)
            .filter(|a| failures.get(&attempt_key(a)).copied().unwrap_or(0) < 2)
            .collect();
        if !todo.is_empty() {
            let waiting_before = opts.wait.is_none() && round >= ROUNDS_WITHOUT_WAIT;
            if !waiting_before {
                run_batch(client, target, &todo, opts, audit, reporter, &mut performed, &mut failures)
                    .await?;
                pause = Duration::from_secs(1);
                continue;
            }
        }

        let settled = fresh.entries.iter().all(|e| {
            matches!(e.outcome, Outcome::Converged | Outcome::Blocked)
                || not_approved.iter().any(|a| a.entry.as_deref() == Some(&e.name))
        });
        let any_blocked = fresh.entries.iter().any(|e| e.outcome == Outcome::Blocked);
        let failed = performed.iter().any(|(a, r)| {
            matches!(r, ActionResult::Failed(_))
                && fresh.entries.iter().any(|e| {
                    Some(&e.name) == a.entry.as_ref()
                        && !matches!(e.outcome, Outcome::Converged | Outcome::Waiting)
                })
        });
        let ending = if failed {
            Some(Ending::Failed)
        } else if settled {
            Some(if any_blocked { Ending::Blocked } else { Ending::Done })
        } else {
            match deadline {
                None => Some(if any_blocked { Ending::Blocked } else { Ending::Done }),
                Some(d) if Instant::now() >= d => Some(Ending::TimedOut),
                Some(_) => None,
            }
        };
        if let Some(ending) = ending {
            reporter.finish();
            return Ok(ApplyReport {
                ending,
                performed,
                not_approved,
                last: fresh,
            });
        }
        let sleep = match deadline {
            Some(d) => pause.min(d.saturating_duration_since(Instant::now())),
            None => pause,
        };
        tokio::time::sleep(sleep).await;
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// An action's identity across rounds, to stop retrying one that keeps failing.
fn attempt_key(action: &Action) -> String {
    format!(
        "{:?}|{:?}|{:?}|{:?}",
        action.entry, action.op, action.job, action.objects
    )
}

#[allow(clippy::too_many_arguments)]
async fn run_batch(
    client: &Client,
    target: &Target,
    actions: &[Action],
    opts: &ApplyOptions,
    audit: &Mutex<AuditLog>,
    reporter: &dyn Reporter,
    performed: &mut Vec<(Action, ActionResult)>,
    failures: &mut BTreeMap<String, usize>,
) -> Result<(), ApplyError> {
    if actions.is_empty() {
        return Ok(());
    }
    reporter.batch(actions.len());
    let results =
        execute::execute(client, target, actions, opts.parallelism, audit, reporter).await?;
    for action in actions {
        if let Some(result) = results.get(&action.id) {
            if matches!(result, ActionResult::Failed(_)) {
                *failures.entry(attempt_key(action)).or_insert(0) += 1;
            }
            if !matches!(result, ActionResult::Skipped(_)) {
                performed.push((action.clone(), result.clone()));
            }
        }
    }
    Ok(())
}
