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
    let c = client.clone();
    // Only where endpoints keep schedules of their own (live mode's 100 requests/s per
    // key): in test mode one budget orders every request, and the order of writes started
    // together is kept by sending them from here.
    let waits = client.endpoints_in_parallel() && client.write_would_wait(request.route());
    let outcome: Result<Sent<(String, String)>, StripeError> = match request {
        Request::Create(b) => {
            let objects = action.objects.clone();
            send(waits, async move {
                c.create_job(&objects, b.as_ref(), &key)
                    .await
                    .map(job_fields)
            })
            .await
        }
        Request::Update(id, b) => {
            let id = id.to_string();
            send(waits, async move {
                c.update_job(&id, &b, &key).await.map(job_fields)
            })
            .await
        }
        Request::Validate(id) => {
            let id = id.to_string();
            send(waits, async move {
                c.validate_job(&id, &key).await.map(job_fields)
            })
            .await
        }
        Request::Run(id) => {
            let id = id.to_string();
            send(
                waits,
                async move { c.run_job(&id, &key).await.map(job_fields) },
            )
            .await
        }
        Request::Cancel(id) => {
            let id = id.to_string();
            send(waits, async move {
                c.cancel_job(&id, &key).await.map(job_fields)
            })
            .await
        }
        Request::Redact(session) => {
            let session = session.to_string();
            send(waits, async move {
                c.redact_session(&session, &key)
                    .await
                    .map(|s| map_sent(s, |v| (v.id, v.status.to_string())))
            })
            .await
        }
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

impl Request<'_> {
    /// The route template the request is rate-limited under.
    fn route(&self) -> &'static str {
        match self {
            Request::Create(_) => "/v1/privacy/redaction_jobs",
            Request::Update(..) => "/v1/privacy/redaction_jobs/:id",
            Request::Validate(_) => "/v1/privacy/redaction_jobs/:id/validate",
            Request::Run(_) => "/v1/privacy/redaction_jobs/:id/run",
            Request::Cancel(_) => "/v1/privacy/redaction_jobs/:id/cancel",
            Request::Redact(_) => "/v1/identity/verification_sessions/:id/redact",
        }
    }
}

/// Sends a request. One that must wait for its rate budget (`waits`) waits in a task of its
/// own, so that it goes at its scheduled time even while the convergence loop that awaits
/// it is busy re-planning: a request polled late is sent late, and the limiter's schedule
/// starts again from there (1,000 creates took 5 % longer than their rate allows). One
/// that may go at once is sent from here. Requests that both wait may leave in either
/// order, as concurrent requests reach Stripe in any order. Dropping the returned future aborts the request, as dropping the
/// request itself would.
async fn send<T: Send + 'static>(
    waits: bool,
    request: impl std::future::Future<Output = Result<T, StripeError>> + Send + 'static,
) -> Result<T, StripeError> {
    struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);
    impl<T> Drop for AbortOnDrop<T> {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    if !waits {
        return request.await;
    }
    let mut task = AbortOnDrop(tokio::spawn(request));
    match (&mut task.0).await {
        Ok(result) => result,
        // The request's outcome is unknown, as after a dropped connection.
        Err(e) => Err(StripeError::Network {
            message: format!("the request's task ended: {e}"),
            attempts: 0,
        }),
    }
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
