//! The object graph a redaction job is validated against: Stripe objects with a type, a
//! state, a creation time and related objects. It decides which problems an object has
//! (`invalid_state`, the 90-day rule, already redacted) and which of them `fix` can fix.
//! Pure: no I/O, time is an argument.

use serde::{Deserialize, Serialize};

/// Transactions (charges, payment intents) become redactable this long after creation.
pub const TRANSACTION_HOLD_SECS: i64 = 90 * 24 * 3600;

/// One Stripe object known to the emulator. Ids the emulator has never seen do not exist,
/// unless `unknown_objects: exist` is configured: then they are redactable objects with
/// nothing related (see [`ObjectRecord::unknown`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRecord {
    /// The Stripe id.
    pub id: String,
    /// Stripe's object type (`customer`, `payment_intent`, `charge`…); inferred from the
    /// id prefix when not given.
    #[serde(rename = "type", default)]
    pub object_type: String,
    /// The object's status as Stripe would show it (`requires_payment_method`, `draft`,
    /// `attached`, `verified`…). `None`: a state with no problems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Creation time in unix seconds (`None`: long ago).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    /// Objects redacted along with this one, and locked by a job that reaches this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    /// Set when a job that reached this object succeeded.
    #[serde(default)]
    pub redacted: bool,
    /// An unfixable validation error this object always reports (e.g. to exercise
    /// `invalid_cascading_source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ForcedError>,
    /// Identity sessions only: the state of the session's own redaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redaction: Option<SessionRedaction>,
}

/// A validation error a fixture forces on an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForcedError {
    /// The validation error code.
    pub code: String,
    /// Its message.
    pub message: String,
}

/// A verification session's `redaction`: `processing` since `since_ms`, then `redacted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRedaction {
    /// `processing` or `redacted`.
    pub status: String,
    /// When the redaction was requested (unix ms).
    pub since_ms: i64,
}

/// One problem found on an object during validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `invalid_state`, `locked_by_other_job`…
    pub code: String,
    /// The erroring object.
    pub object_id: String,
    /// Its Stripe type (`payment_intent`).
    pub object_type: String,
    /// What a person should do.
    pub message: String,
    /// The state `fix` moves the object to when the job runs; `None`: not fixable.
    pub fix_state: Option<String>,
}

/// Stripe's object type for an id, from its prefix (`unknown` when no prefix matches).
pub fn type_for_id(id: &str) -> &'static str {
    const TABLE: [(&str, &str); 18] = [
        ("cus_", "customer"),
        ("pi_", "payment_intent"),
        ("ch_", "charge"),
        ("py_", "charge"),
        ("in_", "invoice"),
        ("pm_", "payment_method"),
        ("card_", "card"),
        ("dp_", "dispute"),
        ("du_", "dispute"),
        ("ich_", "issuing.cardholder"),
        ("ic_", "issuing.card"),
        ("vs_", "identity.verification_session"),
        ("rsli_", "radar.value_list_item"),
        ("seti_", "setup_intent"),
        ("cs_", "checkout.session"),
        ("sub_", "subscription"),
        ("src_", "source"),
        ("evt_", "event"),
    ];
    TABLE
        .iter()
        .find(|(p, _)| id.starts_with(p))
        .map(|(_, t)| *t)
        .unwrap_or("unknown")
}

impl ObjectRecord {
    /// The record of an id nobody described: exists, redactable, nothing related.
    pub fn unknown(id: &str) -> ObjectRecord {
        ObjectRecord {
            id: id.to_string(),
            object_type: type_for_id(id).to_string(),
            state: None,
            created: None,
            related: Vec::new(),
            redacted: false,
            error: None,
            redaction: None,
        }
    }

    /// Fills in the type from the id prefix when a fixture left it out.
    pub fn normalized(mut self) -> ObjectRecord {
        if self.object_type.is_empty() {
            self.object_type = type_for_id(&self.id).to_string();
        }
        self
    }

    /// The problems that keep this object from being redacted at `now` (unix seconds).
    /// `is_root`: named by the job (an already-redacted root is an error; an
    /// already-redacted related object is simply skipped).
    pub fn problems(&self, now: i64, is_root: bool) -> Vec<Problem> {
        let mut out = Vec::new();
        let problem = |message: String, fix_state: Option<&str>| Problem {
            code: "invalid_state".to_string(),
            object_id: self.id.clone(),
            object_type: self.object_type.clone(),
            message,
            fix_state: fix_state.map(str::to_string),
        };
        if self.redacted {
            if is_root {
                out.push(problem(
                    format!(
                        "{} {} has already been redacted.",
                        self.display_type(),
                        self.id
                    ),
                    None,
                ));
            }
            return out;
        }
        if let Some(forced) = &self.error {
            out.push(Problem {
                code: forced.code.clone(),
                object_id: self.id.clone(),
                object_type: self.object_type.clone(),
                message: forced.message.clone(),
                fix_state: None,
            });
        }
        let state = self.state.as_deref().unwrap_or("");
        let fixable: Option<(&str, &str)> = match (self.object_type.as_str(), state) {
            (
                "payment_intent",
                "requires_payment_method"
                | "requires_confirmation"
                | "requires_action"
                | "processing"
                | "requires_capture",
            ) => Some((
                "PaymentIntent is not finalized. Confirm or cancel the PaymentIntent.",
                "canceled",
            )),
            ("customer", "requires_deletion") => {
                Some(("Customer is not deleted. Delete the Customer.", "deleted"))
            }
            ("payment_method", "attached") => Some((
                "PaymentMethod is attached to a Customer. Detach the PaymentMethod.",
                "detached",
            )),
            ("card" | "source", "attached") => Some((
                "Card is attached to an active Customer. Detach the Card.",
                "detached",
            )),
            ("invoice", "draft") => Some((
                "Invoice is not finalized. Finalize or void the Invoice.",
                "void",
            )),
            ("dispute", "needs_response" | "warning_needs_response") => Some((
                "Dispute evidence is not submitted. Submit evidence or close the Dispute.",
                "lost",
            )),
            ("issuing.card", "active" | "inactive") => Some((
                "Issuing Card is not finalized. Cancel the Issuing Card.",
                "canceled",
            )),
            ("identity.verification_session", "requires_action") => Some((
                "VerificationSession is awaiting action. Cancel the VerificationSession.",
                "canceled",
            )),
            ("radar.value_list_item", "requires_deletion") => Some((
                "Radar value list item is not deleted. Delete the value list item.",
                "deleted",
            )),
            _ => None,
        };
        if let Some((message, fix_state)) = fixable {
            out.push(problem(message.to_string(), Some(fix_state)));
        }
        if matches!(self.object_type.as_str(), "charge" | "payment_intent") {
            if let Some(created) = self.created {
                if now.saturating_sub(created) < TRANSACTION_HOLD_SECS {
                    let days = (now.saturating_sub(created)).max(0) / 86_400;
                    out.push(problem(
                        format!(
                            "{} {} was created {days} days ago. Transactions can only be redacted 90 days after they are created.",
                            self.display_type(),
                            self.id
                        ),
                        None,
                    ));
                }
            }
        }
        out
    }

    /// The type as people write it ("PaymentIntent").
    pub fn display_type(&self) -> &str {
        match self.object_type.as_str() {
            "customer" => "Customer",
            "payment_intent" => "PaymentIntent",
            "charge" => "Charge",
            "invoice" => "Invoice",
            "payment_method" => "PaymentMethod",
            "card" => "Card",
            "dispute" => "Dispute",
            "issuing.card" => "Issuing Card",
            "issuing.cardholder" => "Issuing Cardholder",
            "identity.verification_session" => "VerificationSession",
            "radar.value_list_item" => "Radar value list item",
            "setup_intent" => "SetupIntent",
            "checkout.session" => "Checkout Session",
            "subscription" => "Subscription",
            _ => "Object",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(id: &str, state: Option<&str>, created: Option<i64>) -> ObjectRecord {
        ObjectRecord {
            state: state.map(str::to_string),
            created,
            ..ObjectRecord::unknown(id)
        }
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn unknown_ids_have_no_problems() {
        assert!(ObjectRecord::unknown("cus_x")
            .problems(NOW, true)
            .is_empty());
        assert_eq!(ObjectRecord::unknown("cus_x").object_type, "customer");
        assert_eq!(type_for_id("ich_1"), "issuing.cardholder");
        assert_eq!(type_for_id("ic_1"), "issuing.card");
    }

    #[test]
    fn unfinalized_payment_intent_is_fixable_with_the_guides_message() {
        let p = obj("pi_123", Some("requires_payment_method"), None).problems(NOW, false);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].code, "invalid_state");
        assert_eq!(p[0].object_type, "payment_intent");
        assert_eq!(
            p[0].message,
            "PaymentIntent is not finalized. Confirm or cancel the PaymentIntent."
        );
        assert_eq!(p[0].fix_state.as_deref(), Some("canceled"));
        assert!(obj("pi_1", Some("succeeded"), None)
            .problems(NOW, false)
            .is_empty());
    }

    #[test]
    fn ninety_day_rule_is_not_fixable() {
        let recent = obj("ch_1", Some("succeeded"), Some(NOW - 30 * 86_400)).problems(NOW, false);
        assert_eq!(recent.len(), 1);
        assert!(recent[0].fix_state.is_none());
        assert!(recent[0].message.contains("30 days ago"));
        let old = obj("ch_1", Some("succeeded"), Some(NOW - 91 * 86_400));
        assert!(old.problems(NOW, false).is_empty());
        // Customers are not transactions.
        assert!(obj("cus_1", None, Some(NOW)).problems(NOW, true).is_empty());
    }

    #[test]
    fn redacted_root_is_an_error_but_redacted_related_object_is_skipped() {
        let mut o = obj("pi_1", Some("requires_action"), None);
        o.redacted = true;
        assert_eq!(o.problems(NOW, true).len(), 1);
        assert!(o.problems(NOW, true)[0].fix_state.is_none());
        assert!(o.problems(NOW, false).is_empty());
    }
}
