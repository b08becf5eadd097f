//! Dating the objects that validation errors name: for each error that may be Stripe's
//! 90-day risk period (an `invalid_state` error on a transaction, by structure, never by
//! its words), the erroring object is retrieved for its `created`, which goes into
//! `Live::object_created`. The planner turns it into an eligible date.
//!
//! Bounded: only those errors of `failed` jobs (a ready job has no risk period left), each
//! object once, at most [`MAX_DATED_OBJECTS`] per observation. A creation time never
//! changes, so each is read once: the terminal-job cache keeps what was dated (see
//! [`dates_to_keep`]) from one run to the next, and within a process (apply and reconcile
//! observe again and again) a memo does. An object that cannot be read (the key lacks the
//! read permission, it no longer exists) is a warning that names Stripe's answer; it is
//! asked again next run (never cached), and the planner shows the error as blocked and
//! says what the key needs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use futures::{stream, StreamExt};
use tracing::{debug, warn};

use super::Live;
use crate::plan::may_be_risk_period;
use crate::stripe::models::JobStatus;
use crate::stripe::Client;

/// Objects dated at most per observation (each costs one request).
pub const MAX_DATED_OBJECTS: usize = 100;

/// What this process learnt about an object, by API base and id: its creation time, or
/// `None` when Stripe refused to show it (403: the key lacks the permission; 404): asked
/// once, warned about once.
static KNOWN: OnceLock<Mutex<Memo>> = OnceLock::new();

/// (API base, object id) → its creation time, or `None`: refused.
type Memo = HashMap<(String, String), Option<i64>>;

/// Objects remembered at most (then the memory starts over).
const MAX_KNOWN: usize = 10_000;

fn known() -> std::sync::MutexGuard<'static, Memo> {
    KNOWN
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// The objects (id → object type) that the errors of `live`'s failed jobs name and that
/// may date the risk period: what [`date_erroring_objects`] reads.
fn risk_objects(live: &Live) -> BTreeMap<&str, &str> {
    let failed: HashSet<&str> = live
        .jobs
        .iter()
        .filter(|j| j.status == JobStatus::Failed)
        .map(|j| j.id.as_str())
        .collect();
    live.validation_errors
        .iter()
        .filter(|(job, _)| failed.contains(job.as_str()))
        .flat_map(|(_, errors)| errors)
        .filter(|e| may_be_risk_period(e))
        .filter_map(|e| e.erroring_object.as_ref())
        .map(|o| (o.id.as_str(), o.object_type.as_str()))
        .collect()
}

/// The creation times in `live.object_created` that a failed job's errors still name: what
/// the terminal-job cache keeps, so that it never grows with objects no job names any more.
pub fn dates_to_keep(live: &Live) -> BTreeMap<String, i64> {
    let named = risk_objects(live);
    live.object_created
        .iter()
        .filter(|(id, _)| named.contains_key(id.as_str()))
        .map(|(id, t)| (id.clone(), *t))
        .collect()
}

/// Fills `live.object_created` for the erroring objects of errors that may be the risk
/// period and that it does not already hold.
pub async fn date_erroring_objects(client: &Client, live: &mut Live, concurrency: usize) {
    let base = client.api_base().to_string();
    let mut wanted: BTreeMap<String, String> = BTreeMap::new();
    let mut remembered: Vec<(String, i64)> = Vec::new();
    for (id, object_type) in risk_objects(live) {
        if live.object_created.contains_key(id) {
            continue;
        }
        match known().get(&(base.clone(), id.to_string())) {
            Some(Some(t)) => remembered.push((id.to_string(), *t)),
            Some(None) => {}
            None => {
                wanted.insert(id.to_string(), object_type.to_string());
            }
        }
    }
    if wanted.len() > MAX_DATED_OBJECTS {
        warn!(
            objects = wanted.len(),
            dated = MAX_DATED_OBJECTS,
            "more transactions to date than one observation reads; the rest show as blocked until a later run"
        );
    }
    // (id, Some(created)) when read, (id, None) when Stripe refused; nothing on a
    // transient failure (tried again at the next observation).
    let found: Vec<Option<(String, Option<i64>)>> =
        stream::iter(wanted.into_iter().take(MAX_DATED_OBJECTS))
            .map(|(id, object_type)| async move {
                match client.retrieve_object(&object_type, &id).await {
                    Ok(Some(sent)) => Some((id, Some(sent.value.created))),
                    Ok(None) => None,
                    Err(e) if e.status() == Some(403) => {
                        warn!(
                            "cannot read {object_type} {id} to date Stripe's 90-day risk \
                             period: the API key needs read access to {object_type}s ({e})"
                        );
                        Some((id, None))
                    }
                    Err(e) => {
                        warn!(
                            "cannot read {object_type} {id} to date Stripe's 90-day risk \
                             period: {e}"
                        );
                        e.is_not_found().then_some((id, None))
                    }
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
    let found: Vec<(String, Option<i64>)> = found.into_iter().flatten().collect();
    {
        let mut memo = known();
        if memo.len() + found.len() > MAX_KNOWN {
            memo.clear();
        }
        for (id, t) in &found {
            memo.insert((base.clone(), id.clone()), *t);
        }
    }
    let dated: Vec<(String, i64)> = found
        .into_iter()
        .filter_map(|(id, t)| t.map(|t| (id, t)))
        .collect();
    debug!(
        read = dated.len(),
        remembered = remembered.len(),
        "erroring objects dated"
    );
    live.object_created.extend(remembered);
    live.object_created.extend(dated);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::models::{
        ErroringObject, JobValidationError, RedactionJob, ValidationErrorCode,
    };

    fn job(id: &str, status: &str) -> RedactionJob {
        serde_json::from_value(serde_json::json!({
            "id": id, "object": "privacy.redaction_job", "created": 1, "livemode": false,
            "objects": {"customers": ["cus_1"]}, "status": status,
        }))
        .unwrap()
    }

    fn error(code: ValidationErrorCode, object_type: &str, id: &str) -> JobValidationError {
        JobValidationError {
            id: format!("prjve_{id}"),
            object: "privacy.redaction_job_validation_error".into(),
            code,
            erroring_object: Some(ErroringObject {
                id: id.into(),
                object_type: object_type.into(),
            }),
            message: String::new(),
        }
    }

    /// The cache keeps only the dates that a failed job's risk-period errors still name:
    /// not those of a job that since succeeded, nor of an error that cannot be the risk
    /// period, nor dates nobody names.
    #[test]
    fn only_dates_a_failed_job_still_names_are_kept() {
        let live = Live {
            jobs: vec![job("prj_failed", "failed"), job("prj_done", "succeeded")],
            validation_errors: BTreeMap::from([
                (
                    "prj_failed".to_string(),
                    vec![
                        error(ValidationErrorCode::InvalidState, "payment_intent", "pi_1"),
                        error(ValidationErrorCode::InvalidState, "customer", "cus_x"),
                    ],
                ),
                (
                    "prj_done".to_string(),
                    vec![error(ValidationErrorCode::InvalidState, "charge", "ch_2")],
                ),
            ]),
            object_created: BTreeMap::from([
                ("pi_1".to_string(), 10),
                ("cus_x".to_string(), 11),
                ("ch_2".to_string(), 12),
                ("in_old".to_string(), 13),
            ]),
            ..Live::default()
        };
        assert_eq!(
            dates_to_keep(&live),
            BTreeMap::from([("pi_1".to_string(), 10)])
        );
    }
}
