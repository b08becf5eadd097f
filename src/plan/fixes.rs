//! STRIPE_API.md's fix table, and what a person can do about each validation error. Kept
//! apart from the planner so the table is reviewed (and tested) as data.

use super::model::{rfc3339, ErrorView, FixPreview};
use crate::manifest::{Behavior, FixKind};
use crate::stripe::models::{JobValidationError, ValidationErrorCode};

/// Seconds in Stripe's 90-day risk period: a transaction is redactable only after it.
pub const RISK_PERIOD_SECS: i64 = 90 * 24 * 60 * 60;

/// Object types that are transactions, to which the 90-day risk period applies.
pub const TRANSACTION_TYPES: &[&str] = &[
    "charge",
    "payment_intent",
    "invoice",
    "refund",
    "dispute",
    "checkout.session",
];

/// One row of the fix table: the object type Stripe writes in `erroring_object.object_type`
/// (as its API names objects), the kind, the verb and the noun.
fn table(object_type: &str) -> Option<(FixKind, &'static str, &'static str)> {
    Some(match object_type {
        "customer" => (FixKind::DeleteCustomer, "delete", "Customer"),
        "payment_intent" => (FixKind::CancelPaymentIntent, "cancel", "PaymentIntent"),
        "payment_method" => (FixKind::DetachPaymentMethod, "detach", "PaymentMethod"),
        "card" => (FixKind::DetachCard, "detach", "Card"),
        "invoice" => (FixKind::VoidInvoice, "void", "Invoice"),
        "dispute" => (FixKind::CloseDispute, "close", "Dispute"),
        "issuing.card" => (FixKind::CloseIssuingCard, "close", "Issuing card"),
        "identity.verification_session" => (
            FixKind::CancelVerificationSession,
            "cancel",
            "VerificationSession",
        ),
        "radar.value_list_item" => (
            FixKind::DeleteRadarValueListItem,
            "delete",
            "Radar value list item",
        ),
        _ => return None,
    })
}

/// What a `fix` run does to an object of this `erroring_object.object_type`, as a verb
/// phrase with the object ("cancel PaymentIntent pi_123"); `None` when the table has no row
/// for the type.
pub fn fix_for(object_type: &str, id: &str) -> Option<String> {
    table(object_type).map(|(_, verb, noun)| format!("{verb} {noun} {id}"))
}

/// What the planner knows about an erroring object beyond the error itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorContext {
    /// The object's `created` (unix seconds), when the live state has it.
    pub created: Option<i64>,
    /// When the live state was observed (unix seconds).
    pub now: i64,
    /// When the job was last validated, as far as redactctl knows (its last `validate`,
    /// else the job's creation): an error is the risk period if the object was younger
    /// than 90 days then, even when it has aged since.
    pub validated_at: Option<i64>,
}

impl ErrorContext {
    /// When the object's `created` makes the risk period end (unix seconds), if known.
    pub fn eligible_at(&self) -> Option<i64> {
        self.created.map(|c| c.saturating_add(RISK_PERIOD_SECS))
    }
}

/// Whether this error may be the 90-day risk period, from its structure alone: an
/// `invalid_state` error on a transaction. Only the transaction's `created` tells; the
/// observer reads it for these errors, and only these.
pub fn may_be_risk_period(e: &JobValidationError) -> bool {
    e.code == ValidationErrorCode::InvalidState
        && e.erroring_object
            .as_ref()
            .is_some_and(|o| TRANSACTION_TYPES.contains(&o.object_type.as_str()))
}

/// Whether this error is the 90-day risk period, recognised from its structure: an
/// `invalid_state` error on a transaction that is younger than 90 days when its `created`
/// is known. Without `created`, a transaction the fix table cannot fix is taken to be in
/// the risk period; the message ("90 days") only decides the remaining case, as a hint.
pub fn is_risk_period(e: &JobValidationError, ctx: ErrorContext) -> bool {
    if e.code != ValidationErrorCode::InvalidState {
        return false;
    }
    let Some(obj) = e.erroring_object.as_ref() else {
        return mentions_risk_period(&e.message);
    };
    if !TRANSACTION_TYPES.contains(&obj.object_type.as_str()) {
        return false;
    }
    match ctx.created {
        Some(created) => {
            ctx.validated_at.unwrap_or(ctx.now).saturating_sub(created) < RISK_PERIOD_SECS
        }
        None => table(&obj.object_type).is_none() || mentions_risk_period(&e.message),
    }
}

/// The fix a `fix` run applies for this error: `invalid_state` errors with an erroring
/// object, outside the risk period (no fix exists for time). A type the table does not
/// name gets "Stripe's fix for <type> <id>" and no kind: never a guessed verb.
pub fn fix_preview(
    e: &JobValidationError,
    ctx: ErrorContext,
    allowed: &[FixKind],
) -> Option<FixPreview> {
    if e.code != ValidationErrorCode::InvalidState || is_risk_period(e, ctx) {
        return None;
    }
    let obj = e.erroring_object.as_ref()?;
    let kind = table(&obj.object_type).map(|(k, _, _)| k);
    let description = fix_for(&obj.object_type, &obj.id)
        .unwrap_or_else(|| format!("Stripe's fix for {} {}", obj.object_type, obj.id));
    Some(FixPreview {
        kind,
        object: obj.clone(),
        description,
        preapproved: kind.is_some_and(|k| allowed.contains(&k)),
    })
}

/// The fix description for this error (see [`fix_preview`]), without context: the
/// object's age unknown.
pub fn fix_of_error(e: &JobValidationError) -> Option<String> {
    fix_preview(e, ErrorContext::default(), &[]).map(|f| f.description)
}

fn mentions_risk_period(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("90 days") || m.contains("90-day")
}

/// Every fix a run in `fix` behaviour applies, given the job's validation errors: sorted,
/// without duplicates.
pub fn fixes_of(
    errors: &[JobValidationError],
    ctx: impl Fn(&JobValidationError) -> ErrorContext,
    allowed: &[FixKind],
) -> Vec<FixPreview> {
    let mut out: Vec<FixPreview> = errors
        .iter()
        .filter_map(|e| fix_preview(e, ctx(e), allowed))
        .collect();
    out.sort_by(|a, b| a.description.cmp(&b.description));
    out.dedup();
    out
}

/// The error as shown in a plan, with a hint that says what resolves it given the
/// behaviour the manifest asks for (`fix` already covers fixable errors).
pub fn view_error(e: &JobValidationError, wanted: Behavior, ctx: ErrorContext) -> ErrorView {
    let fix = fix_preview(e, ctx, &[]).map(|f| f.description);
    let object = e
        .erroring_object
        .as_ref()
        .map(|o| format!("{} {}", o.object_type, o.id))
        .unwrap_or_else(|| "the object".to_string());
    let hint = match (&e.code, &fix) {
        (ValidationErrorCode::LockedByOtherJob, _) => format!(
            "another active job holds {object}: redactctl waits for it and revalidates once \
             it is done (or cancel it)"
        ),
        (_, Some(fix)) if wanted == Behavior::Fix => {
            format!("fixable: with `validation_behavior: fix` the run will {fix}")
        }
        (_, Some(fix)) => format!(
            "set `validation_behavior: fix` (the run will {fix}), or resolve it in Stripe \
             and rerun with --revalidate"
        ),
        _ if is_risk_period(e, ctx) => match ctx.eligible_at() {
            Some(at) => format!(
                "the 90-day risk period: {object} becomes redactable on {} (90 days after it \
                 was created); redactctl revalidates the job by itself then",
                rfc3339(at)
            ),
            None => format!(
                "the 90-day risk period: wait until 90 days after {object} was created, then \
                 rerun with --revalidate (redactctl could not read its creation time: the API \
                 key needs read access to {}s to schedule it)",
                e.erroring_object
                    .as_ref()
                    .map_or("transaction", |o| o.object_type.as_str())
            ),
        },
        (ValidationErrorCode::TooManyObjects, _) => {
            "the job reaches too many objects: split the entry into smaller entries".to_string()
        }
        // Stripe's guide: the message says why the object cannot be redacted and what to
        // do about it, in the Dashboard or the API; then the job is validated again.
        _ => format!(
            "do what Stripe's message asks for {object} (in the Dashboard or the API), then \
             rerun with --revalidate (`reconcile` revalidates by itself, see \
             --revalidate-every)"
        ),
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
        for k in FixKind::ALL {
            assert_eq!(FixKind::parse(k.as_str()), Some(k));
        }
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
    fn fixes_are_sorted_deduplicated_and_preapproved_by_kind() {
        let errors = [
            err("invalid_state", "invoice", "in_1", "draft"),
            err("invalid_state", "payment_intent", "pi_1", "open"),
            err("invalid_state", "invoice", "in_1", "draft"),
        ];
        let fixes = fixes_of(
            &errors,
            |_| ErrorContext::default(),
            &[FixKind::VoidInvoice],
        );
        let got: Vec<(&str, bool)> = fixes
            .iter()
            .map(|f| (f.description.as_str(), f.preapproved))
            .collect();
        assert_eq!(
            got,
            [
                ("cancel PaymentIntent pi_1", false),
                ("void Invoice in_1", true)
            ]
        );
    }

    #[test]
    fn a_type_outside_the_table_gets_no_guessed_verb() {
        let e = err("invalid_state", "subscription", "sub_1", "active");
        let f = fix_preview(&e, ErrorContext::default(), &FixKind::ALL).unwrap();
        assert_eq!(f.description, "Stripe's fix for subscription sub_1");
        assert_eq!(f.kind, None);
        assert!(
            !f.preapproved,
            "allowed_fixes cannot pre-approve an unknown fix"
        );
    }

    #[test]
    fn risk_period_comes_from_structure_not_words() {
        let now = 200 * 86_400;
        let young = ErrorContext {
            created: Some(now - 10 * 86_400),
            now,
            validated_at: None,
        };
        let old = ErrorContext {
            created: Some(now - 100 * 86_400),
            now,
            validated_at: None,
        };
        // No "90 days" in the message: the object's age decides.
        let e = err(
            "invalid_state",
            "payment_intent",
            "pi_1",
            "not redactable yet",
        );
        assert!(is_risk_period(&e, young));
        assert!(fix_preview(&e, young, &[]).is_none());
        assert!(!is_risk_period(&e, old));
        assert!(fix_preview(&e, old, &[]).is_some());
        // The words alone do not make an old object young.
        let e = err("invalid_state", "payment_intent", "pi_1", "wait 90 days");
        assert!(!is_risk_period(&e, old));
        // Unknown age: a transaction the table cannot fix is in the risk period.
        let e = err("invalid_state", "charge", "ch_1", "cannot redact yet");
        assert!(is_risk_period(&e, ErrorContext::default()));
        // Not a transaction: never the risk period.
        let e = err("invalid_state", "customer", "cus_1", "within 90 days");
        assert!(!is_risk_period(&e, ErrorContext::default()));
        // A charge older than 90 days is fixable by Stripe's own (unnamed) fix.
        let e = err("invalid_state", "charge", "ch_1", "open");
        assert_eq!(
            fix_preview(&e, old, &[]).map(|f| f.description).as_deref(),
            Some("Stripe's fix for charge ch_1")
        );
    }

    #[test]
    fn hints_name_what_resolves_the_error() {
        let e = err("invalid_state", "customer", "cus_1", "not deleted");
        let v = view_error(&e, Behavior::Error, ErrorContext::default());
        assert!(
            v.hint.contains("set `validation_behavior: fix`"),
            "{}",
            v.hint
        );
        assert!(v.hint.contains("delete Customer cus_1"), "{}", v.hint);
        let v = view_error(&e, Behavior::Fix, ErrorContext::default());
        assert!(!v.hint.contains("set `validation"), "{}", v.hint);
        assert!(
            v.hint.contains("the run will delete Customer cus_1"),
            "{}",
            v.hint
        );
        let e = err("locked_by_other_job", "customer", "cus_1", "");
        assert!(view_error(&e, Behavior::Error, ErrorContext::default())
            .hint
            .contains("another active job"));
        let e = err("invalid_state", "charge", "ch_1", "younger than 90 days");
        assert!(view_error(&e, Behavior::Fix, ErrorContext::default())
            .fix
            .is_none());
        let v = view_error(&e, Behavior::Fix, ErrorContext::default());
        assert!(v.hint.contains("wait until 90 days"), "{}", v.hint);
    }
}
