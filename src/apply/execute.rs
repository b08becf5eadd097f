//! Performs one action: an audit line of intent, the request with the action's
//! deterministic idempotency key, then an audit line of outcome. It decides nothing: what
//! to do comes from the planner.

use std::sync::Mutex;

use super::audit::{now_rfc3339, AuditLog, AuditRecord, INTENT};
use crate::plan::{Action, Op};
use crate::stripe::client::{Client, Sent};
use crate::stripe::models::{Mode, ValidationBehavior};
use crate::stripe::StripeError;

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
    /// The key's account, when Stripe reported one.
    pub account: Option<String>,
    pub mode: Mode,
    /// Written into every audit record.
    pub context: Option<super::audit::AuditContext>,
}

/// The request an action makes, decided before anything is recorded or sent.
enum Request<'a> {
    Create(Option<ValidationBehavior>),
    Update(&'a str, ValidationBehavior),
    Validate(&'a str),
    Run(&'a str),
    Cancel(&'a str),
    Redact(&'a str),
}

/// Sends one action's request, written ahead: the intent (action, entry, idempotency key)
/// is recorded and synced before the request is sent, the outcome after. If the intent
/// cannot be recorded, nothing is sent.
///
/// The key is the action's key for its first attempt whose key has not ended in an error
/// Stripe answered (see [`AuditLog::fresh_key`]): Stripe would replay that error for 24
/// hours, so after one the next attempt must use a fresh key; a crash-retry, which recorded
/// no error, reuses the key and Stripe replays instead of acting twice.
pub async fn perform(
    client: &Client,
    target: &Target,
    action: &Action,
    audit: &Mutex<AuditLog>,
) -> Result<ActionResult, super::ApplyError> {
    let behavior: Option<ValidationBehavior> = action.validation_behavior;
    let request = match (action.op, action.job.as_deref()) {
        (Op::Create, _) => Request::Create(behavior),
        (Op::Update, Some(id)) => match behavior {
            Some(b) => Request::Update(id, b),
            None => return Ok(ActionResult::Skipped("update without a behaviour".into())),
        },
        (Op::Validate, Some(id)) => Request::Validate(id),
        (Op::Run, Some(id)) => Request::Run(id),
        (Op::Cancel, Some(id)) => Request::Cancel(id),
        (Op::Redact, _) => match action.session.as_deref() {
            Some(session) => Request::Redact(session),
            None => return Ok(ActionResult::Skipped("redact without a session".into())),
        },
        (Op::Wait, _) => return Ok(ActionResult::Skipped("waits".into())),
        (_, None) => return Ok(ActionResult::Skipped("its job does not exist yet".into())),
    };
    let lock = || audit.lock().ok();
    let (attempt, key) = lock().ok_or_else(poisoned)?.fresh_key(|n| {
        action.idempotency_key_attempt(target.account.as_deref().unwrap_or(""), target.mode, n)
    });
    let mut record = AuditRecord {
        time: now_rfc3339(),
        action: action.op.as_str().into(),
        entry: action.entry.clone(),
        job: action.job.clone().or_else(|| action.session.clone()),
        objects: action.objects.clone(),
        idempotency_key: key.clone(),
        request_id: None,
        http_status: None,
        outcome: INTENT.into(),
        attempt,
        mode: target.mode.as_str().into(),
        account: target.account.clone(),
        fixes: action.fixes.iter().map(|f| f.description.clone()).collect(),
        context: target.context.clone(),
    };
    lock().ok_or_else(poisoned)?.append(&record)?;
    let outcome: Result<Sent<(String, String)>, StripeError> = match request {
        Request::Create(b) => client
            .create_job(&action.objects, b.as_ref(), &key)
            .await
            .map(job_fields),
        Request::Update(id, b) => client.update_job(id, &b, &key).await.map(job_fields),
        Request::Validate(id) => client.validate_job(id, &key).await.map(job_fields),
        Request::Run(id) => client.run_job(id, &key).await.map(job_fields),
        Request::Cancel(id) => client.cancel_job(id, &key).await.map(job_fields),
        Request::Redact(session) => client
            .redact_session(session, &key)
            .await
            .map(|s| map_sent(s, |v| (v.id, v.status.to_string()))),
    };
    record.time = now_rfc3339();
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
    lock().ok_or_else(poisoned)?.append(&record)?;
    Ok(result)
}

fn poisoned() -> super::ApplyError {
    super::ApplyError::Internal("audit log lock poisoned".into())
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
