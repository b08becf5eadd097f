//! Carries out a set of approved actions: in dependency order (`Action::after`),
//! independent ones concurrently up to `parallelism`, every write with the action's
//! deterministic idempotency key and one audit line. It decides nothing: what to do comes
//! from the planner.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use futures::stream::{FuturesUnordered, StreamExt};

use super::audit::{now_rfc3339, AuditLog, AuditRecord};
use super::progress::Reporter;
use crate::plan::{Action, Op};
use crate::stripe::client::{Client, Sent, StripeError};
use crate::stripe::models::{Mode, ValidationBehavior};

/// What one action came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionResult {
    /// Stripe accepted it; the job (or session) and its status afterwards.
    Done {
        target: Option<String>,
        status: Option<String>,
        replayed: bool,
    },
    /// Not attempted: a dependency failed or is deferred, or the action only waits.
    Skipped(String),
    /// Stripe (or the network) refused it, after retries.
    Failed(String),
}

/// Who is being written to: recorded in idempotency keys and audit lines.
#[derive(Debug, Clone)]
pub struct Target {
    pub account: String,
    pub mode: Mode,
}

/// Executes `actions` (deferred ones and waits are skipped), returning each action's
/// result by id. An audit failure stops everything: nothing is written that cannot be
/// recorded.
pub async fn execute(
    client: &Client,
    target: &Target,
    actions: &[Action],
    parallelism: usize,
    audit: &Mutex<AuditLog>,
    reporter: &dyn Reporter,
) -> Result<BTreeMap<String, ActionResult>, super::ApplyError> {
    let ids: BTreeSet<&str> = actions.iter().map(|a| a.id.as_str()).collect();
    let mut results: BTreeMap<String, ActionResult> = BTreeMap::new();
    let mut pending: Vec<&Action> = Vec::new();
    for action in actions {
        if action.deferred {
            results.insert(
                action.id.clone(),
                ActionResult::Skipped("deferred until its job is ready".into()),
            );
        } else if action.op == Op::Wait {
            results.insert(action.id.clone(), ActionResult::Skipped("waits".into()));
        } else {
            pending.push(action);
        }
    }

    let mut running = FuturesUnordered::new();
    loop {
        // Start every action whose dependencies are done, up to the parallelism.
        let mut i = 0;
        while i < pending.len() && running.len() < parallelism.max(1) {
            let action = pending[i];
            match readiness(action, &ids, &results) {
                Readiness::Ready => {
                    pending.remove(i);
                    reporter.action_started(action);
                    running.push(async move {
                        let result = perform(client, target, action, audit).await;
                        (action, result)
                    });
                }
                Readiness::Blocked(why) => {
                    pending.remove(i);
                    let result = ActionResult::Skipped(why);
                    reporter.action_finished(action, &result);
                    results.insert(action.id.clone(), result);
                }
                Readiness::NotYet => i += 1,
            }
        }
        match running.next().await {
            Some((action, result)) => {
                let result = result?;
                reporter.action_finished(action, &result);
                results.insert(action.id.clone(), result);
            }
            None if pending.is_empty() => break,
            None => {
                // Nothing runs and nothing can start: the rest depend on each other.
                for action in pending.drain(..) {
                    results.insert(
                        action.id.clone(),
                        ActionResult::Skipped("dependency cycle".into()),
                    );
                }
                break;
            }
        }
    }
    Ok(results)
}

enum Readiness {
    Ready,
    NotYet,
    Blocked(String),
}

fn readiness(action: &Action, ids: &BTreeSet<&str>, results: &BTreeMap<String, ActionResult>) -> Readiness {
    for dep in &action.after {
        if !ids.contains(dep.as_str()) {
            continue;
        }
        match results.get(dep) {
            None => return Readiness::NotYet,
            Some(ActionResult::Done { .. }) => {}
            Some(ActionResult::Skipped(_)) => {
                return Readiness::Blocked(format!("waits for {dep}, which is not done yet"))
            }
            Some(ActionResult::Failed(_)) => {
                return Readiness::Blocked(format!("{dep} failed"))
            }
        }
    }
    Readiness::Ready
}

/// Sends one action's request and records it.
async fn perform(
    client: &Client,
    target: &Target,
    action: &Action,
    audit: &Mutex<AuditLog>,
) -> Result<ActionResult, super::ApplyError> {
    let key = action.idempotency_key(&target.account, target.mode);
    let behavior = action
        .validation_behavior
        .map(|b| ValidationBehavior::from(b.as_str()));
    let job = action.job.as_deref();
    let outcome: Result<Sent<(String, String)>, StripeError> = match (action.op, job) {
        (Op::Create, _) => client
            .create_job(&action.objects, behavior.as_ref(), &key)
            .await
            .map(job_fields),
        (Op::Update, Some(id)) => match &behavior {
            Some(b) => client.update_job(id, b, &key).await.map(job_fields),
            None => return Ok(ActionResult::Skipped("update without a behaviour".into())),
        },
        (Op::Validate, Some(id)) => client.validate_job(id, &key).await.map(job_fields),
        (Op::Run, Some(id)) => client.run_job(id, &key).await.map(job_fields),
        (Op::Cancel, Some(id)) => client.cancel_job(id, &key).await.map(job_fields),
        (Op::Redact, _) => match action.session.as_deref() {
            Some(session) => client
                .redact_session(session, &key)
                .await
                .map(|s| map_sent(s, |v| (v.id, v.status.to_string()))),
            None => return Ok(ActionResult::Skipped("redact without a session".into())),
        },
        (Op::Wait, _) => return Ok(ActionResult::Skipped("waits".into())),
        (_, None) => {
            return Ok(ActionResult::Skipped(
                "its job does not exist yet".into(),
            ))
        }
    };
    let mut record = AuditRecord {
        time: now_rfc3339(),
        action: op_name(action.op).into(),
        entry: action.entry.clone(),
        job: action.job.clone().or_else(|| action.session.clone()),
        objects: action.objects.clone(),
        idempotency_key: key,
        request_id: None,
        http_status: None,
        outcome: String::new(),
        mode: target.mode.as_str().into(),
        account: Some(target.account.clone()).filter(|a| !a.is_empty()),
    };
    let result = match outcome {
        Ok(sent) => {
            record.request_id = sent.request_id.clone();
            record.http_status = Some(sent.status);
            record.job = Some(sent.value.0.clone());
            record.outcome = if sent.replayed { "replayed" } else { "ok" }.into();
            ActionResult::Done {
                target: Some(sent.value.0),
                status: Some(sent.value.1),
                replayed: sent.replayed,
            }
        }
        Err(err) => {
            record.request_id = err.request_id().map(str::to_string);
            record.http_status = err.status();
            record.outcome = format!("error: {err}");
            ActionResult::Failed(err.to_string())
        }
    };
    audit
        .lock()
        .map_err(|_| super::ApplyError::Internal("audit log lock poisoned".into()))?
        .append(&record)?;
    Ok(result)
}

fn job_fields(sent: Sent<crate::stripe::models::RedactionJob>) -> Sent<(String, String)> {
    map_sent(sent, |job| (job.id, job.status.to_string()))
}

fn map_sent<T, U>(sent: Sent<T>, f: impl FnOnce(T) -> U) -> Sent<U> {
    Sent {
        value: f(sent.value),
        request_id: sent.request_id,
        status: sent.status,
        attempts: sent.attempts,
        replayed: sent.replayed,
    }
}

/// The verb used in audit lines and progress.
pub fn op_name(op: Op) -> &'static str {
    match op {
        Op::Create => "create",
        Op::Update => "update",
        Op::Validate => "validate",
        Op::Run => "run",
        Op::Cancel => "cancel",
        Op::Redact => "redact",
        Op::Wait => "wait",
    }
}
