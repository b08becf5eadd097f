//! "Object not found" as its own state. Stripe refuses a create that names an object that
//! does not exist (400 `resource_missing`), and would refuse the same create every time:
//! proposing it again is a loop, not a plan. The fact comes in through
//! `Live::missing_objects` (filled from the audit log by the ops layer); this decides what
//! the plan shows for it. Pure.

use crate::kinds::ObjectRef;
use crate::observe::{Live, MissingObject};
use crate::stripe::models::{JobValidationError, ValidationErrorCode};

use super::model::Blocked;

/// The refusals that make the create of `chunk` pointless: each object of the chunk that
/// Stripe did not find when a create asked for exactly these objects. Empty: propose the
/// create (no refusal known, or the entry's objects changed since, so the create differs).
pub(super) fn refused_create<'a>(live: &'a Live, chunk: &[ObjectRef]) -> Vec<&'a MissingObject> {
    let mut asked = chunk.to_vec();
    asked.sort();
    asked.dedup();
    chunk
        .iter()
        .filter_map(|o| live.missing_objects.get(&o.id))
        .filter(|m| m.asked == asked)
        .collect()
}

/// The objects of `chunk` that a different create was refused for: the create goes ahead
/// (the entry's objects changed), with a warning that Stripe did not find them last time.
pub(super) fn missing_before<'a>(live: &'a Live, chunk: &[ObjectRef]) -> Vec<&'a MissingObject> {
    chunk
        .iter()
        .filter_map(|o| live.missing_objects.get(&o.id))
        .collect()
}

/// The blocked state shown for a create Stripe refused as naming missing objects.
pub(super) fn blocked_create(refusals: &[&MissingObject]) -> Blocked {
    let ids = ids(refusals.iter().map(|m| &m.object));
    let first = refusals.first();
    let when = first.map(|m| m.time.as_str()).unwrap_or_default();
    let request = first
        .and_then(|m| m.request_id.as_deref())
        .map(|r| format!(", request {r}"))
        .unwrap_or_default();
    Blocked {
        problem: format!("object not found: {ids}"),
        job: None,
        errors: Vec::new(),
        resolve: vec![
            format!(
                "Stripe answered the create of this entry's job with resource_missing \
                 ({when}{request}): no such object in this account and mode"
            ),
            format!("correct or remove {ids} in the manifest; the create is not proposed again until the entry's objects change"),
            "if the object exists now, `apply --revalidate` sends the create again".to_string(),
        ],
    }
}

/// Validation errors that say an object does not exist (`resource_missing`, should Stripe
/// report a missing object that way rather than refusing the create): the ids they name.
pub(super) fn not_found_in(errors: &[JobValidationError]) -> Vec<String> {
    let mut out: Vec<String> = errors
        .iter()
        .filter(|e| is_not_found(&e.code))
        .filter_map(|e| e.erroring_object.as_ref().map(|o| o.id.clone()))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn is_not_found(code: &ValidationErrorCode) -> bool {
    matches!(code, ValidationErrorCode::Unknown(c) if c == "resource_missing" || c == "object_not_found")
}

fn ids<'a>(objects: impl Iterator<Item = &'a ObjectRef>) -> String {
    let mut v: Vec<&str> = objects.map(|o| o.id.as_str()).collect();
    v.sort();
    v.dedup();
    v.join(", ")
}
