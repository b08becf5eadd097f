//! STRIPE_API.md's fix table, and what a person can do about each validation error. Kept
//! apart from the planner so the table is reviewed (and tested) as data.

use super::model::ErrorView;
use crate::manifest::Behavior;
use crate::stripe::models::{JobValidationError, ValidationErrorCode};

/// What a `fix` run does to an object of this `erroring_object.object_type`, as a verb
/// phrase with the object ("cancel PaymentIntent pi_123"); `None` when Stripe has no fix.
pub fn fix_for(object_type: &str, id: &str) -> Option<String> {
    let (verb, noun) = match object_type {
        "customer" => ("delete", "Customer"),
        "payment_intent" => ("cancel", "PaymentIntent"),
        "payment_method" => ("detach", "PaymentMethod"),
        "card" => ("detach", "Card"),
        "invoice" => ("void", "Invoice"),
        "dispute" => ("close", "Dispute"),
        "issuing.card" => ("close", "Issuing card"),
        "identity.verification_session" => ("cancel", "VerificationSession"),
        "radar.value_list_item" => ("delete", "Radar value list item"),
        _ => return None,
    };
    Some(format!("{verb} {noun} {id}"))
}

/// The fix a `fix` run applies for this error: only `invalid_state` errors on an object
/// type of the table, and never the 90-day risk period (no fix exists for time).
pub fn fix_of_error(e: &JobValidationError) -> Option<String> {
    if e.code != ValidationErrorCode::InvalidState || mentions_risk_period(&e.message) {
        return None;
    }
    let obj = e.erroring_object.as_ref()?;
    fix_for(&obj.object_type, &obj.id)
}

fn mentions_risk_period(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("90 days") || m.contains("90-day")
}

/// Every fix a run with `behavior` applies, given the job's validation errors.
pub fn run_side_effects(behavior: Behavior, errors: &[JobValidationError]) -> Vec<String> {
    if behavior != Behavior::Fix {
        return Vec::new();
    }
    let mut out: Vec<String> = errors.iter().filter_map(fix_of_error).collect();
    out.sort();
    out.dedup();
    out
}

/// The error as shown in a plan, with a hint that says what resolves it given the
/// behaviour the manifest asks for (`fix` already covers fixable errors).
pub fn view_error(e: &JobValidationError, wanted: Behavior) -> ErrorView {
    let fix = fix_of_error(e);
    let object = e
        .erroring_object
        .as_ref()
        .map(|o| format!("{} {}", o.object_type, o.id))
        .unwrap_or_else(|| "the object".to_string());
    let hint = match (&e.code, &fix) {
        (ValidationErrorCode::LockedByOtherJob, _) => format!(
            "another active job holds {object}: let it finish or cancel it; redactctl \
             revalidates by itself once the lock is gone"
        ),
        (_, Some(fix)) if wanted == Behavior::Fix => {
            format!("fixable: with `validation_behavior: fix` the run will {fix}")
        }
        (_, Some(fix)) => format!(
            "set `validation_behavior: fix` (the run will {fix}), or resolve it in Stripe \
             and rerun with --revalidate"
        ),
        _ if mentions_risk_period(&e.message) => {
            format!("wait until 90 days after {object} was created, then rerun with --revalidate")
        }
        (ValidationErrorCode::TooManyObjects, _) => {
            "the job reaches too many objects: split the entry into smaller entries".to_string()
        }
        _ => format!("resolve the problem with {object} in Stripe, then rerun with --revalidate"),
    };
    ErrorView {
        id: e.id.clone(),
        code: e.code.clone(),
        erroring_object: e.erroring_object.clone(),
        message: e.message.clone(),
        hint,
        fix,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::models::ErroringObject;

    fn err(code: &str, ty: &str, id: &str, msg: &str) -> JobValidationError {
        JobValidationError {
            id: "prjve_1".into(),
            object: String::new(),
            code: code.into(),
            erroring_object: Some(ErroringObject {
                id: id.into(),
                object_type: ty.into(),
            }),
            message: msg.into(),
        }
    }

    #[test]
    fn every_row_of_the_fix_table() {
        let rows = [
            ("customer", "cus_1", "delete Customer cus_1"),
            ("payment_intent", "pi_1", "cancel PaymentIntent pi_1"),
            ("payment_method", "pm_1", "detach PaymentMethod pm_1"),
            ("card", "card_1", "detach Card card_1"),
            ("invoice", "in_1", "void Invoice in_1"),
            ("dispute", "dp_1", "close Dispute dp_1"),
            ("issuing.card", "ic_1", "close Issuing card ic_1"),
            (
                "identity.verification_session",
                "vs_1",
                "cancel VerificationSession vs_1",
            ),
            (
                "radar.value_list_item",
                "rsli_1",
                "delete Radar value list item rsli_1",
            ),
        ];
        for (ty, id, want) in rows {
            assert_eq!(fix_for(ty, id).as_deref(), Some(want), "{ty}");
        }
        assert_eq!(fix_for("charge", "ch_1"), None);
    }

    #[test]
    fn only_invalid_state_outside_the_risk_period_is_fixable() {
        assert!(fix_of_error(&err("invalid_state", "payment_intent", "pi_1", "open")).is_some());
        assert!(fix_of_error(&err("locked_by_other_job", "customer", "cus_1", "")).is_none());
        assert!(fix_of_error(&err(
            "invalid_state",
            "payment_intent",
            "pi_1",
            "Transactions can be redacted 90 days after creation"
        ))
        .is_none());
    }

    #[test]
    fn error_behavior_run_applies_no_fixes() {
        let errors = [err("invalid_state", "invoice", "in_1", "draft")];
        assert!(run_side_effects(Behavior::Error, &errors).is_empty());
        assert_eq!(
            run_side_effects(Behavior::Fix, &errors),
            vec!["void Invoice in_1".to_string()]
        );
    }

    #[test]
    fn hints_name_what_resolves_the_error() {
        let e = err("invalid_state", "customer", "cus_1", "not deleted");
        let v = view_error(&e, Behavior::Error);
        assert!(
            v.hint.contains("set `validation_behavior: fix`"),
            "{}",
            v.hint
        );
        assert!(v.hint.contains("delete Customer cus_1"), "{}", v.hint);
        let v = view_error(&e, Behavior::Fix);
        assert!(!v.hint.contains("set `validation"), "{}", v.hint);
        assert!(
            v.hint.contains("the run will delete Customer cus_1"),
            "{}",
            v.hint
        );
        let e = err("locked_by_other_job", "customer", "cus_1", "");
        assert!(view_error(&e, Behavior::Error)
            .hint
            .contains("another active job"));
        let e = err("invalid_state", "charge", "ch_1", "younger than 90 days");
        let v = view_error(&e, Behavior::Fix);
        assert!(v.hint.contains("wait until 90 days"), "{}", v.hint);
    }
}
