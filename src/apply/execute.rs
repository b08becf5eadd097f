//! Performs one action: the request with the action's deterministic idempotency key, then
//! one audit line. It decides nothing: what to do comes from the planner.

use std::sync::Mutex;

use super::audit::{now_rfc3339, AuditLog, AuditRecord};
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
}

/// Sends one action's request and records it.
pub async fn perform(
    client: &Client,
    target: &Target,
    action: &Action,
    audit: &Mutex<AuditLog>,
) -> Result<ActionResult, super::ApplyError> {
    let key = action.idempotency_key(target.account.as_deref().unwrap_or(""), target.mode);
    let behavior: Option<ValidationBehavior> = action.validation_behavior;
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
        (_, None) => return Ok(ActionResult::Skipped("its job does not exist yet".into())),
    };
    let mut record = AuditRecord {
        time: now_rfc3339(),
        action: action.op.as_str().into(),
        entry: action.entry.clone(),
        job: action.job.clone().or_else(|| action.session.clone()),
        objects: action.objects.clone(),
        idempotency_key: key,
        request_id: None,
        http_status: None,
        outcome: String::new(),
        mode: target.mode.as_str().into(),
        account: target.account.clone(),
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
