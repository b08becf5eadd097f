//! The kinds of Stripe objects a redaction job can name, shared by the manifest (which
//! checks id prefixes), the client (which encodes `objects[KIND][]`) and the planner
//! (which sorts and chunks by kind then id). It knows nothing of HTTP or YAML.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A root object kind accepted by `POST /v1/privacy/redaction_jobs`.
///
/// The declaration order is the sort order used everywhere (plans, chunks, output), so
/// that the same manifest always yields the same jobs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Charges,
    CheckoutSessions,
    Customers,
    IdentityVerificationSessions,
    Invoices,
    IssuingCardholders,
    IssuingCards,
    PaymentIntents,
    RadarValueListItems,
    SetupIntents,
}

impl ObjectKind {
    /// Every kind, in sort order.
    pub const ALL: [ObjectKind; 10] = [
        ObjectKind::Charges,
        ObjectKind::CheckoutSessions,
        ObjectKind::Customers,
        ObjectKind::IdentityVerificationSessions,
        ObjectKind::Invoices,
        ObjectKind::IssuingCardholders,
        ObjectKind::IssuingCards,
        ObjectKind::PaymentIntents,
        ObjectKind::RadarValueListItems,
        ObjectKind::SetupIntents,
    ];

    /// The key Stripe uses for this kind in `objects[...]`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Charges => "charges",
            ObjectKind::CheckoutSessions => "checkout_sessions",
            ObjectKind::Customers => "customers",
            ObjectKind::IdentityVerificationSessions => "identity_verification_sessions",
            ObjectKind::Invoices => "invoices",
            ObjectKind::IssuingCardholders => "issuing_cardholders",
            ObjectKind::IssuingCards => "issuing_cards",
            ObjectKind::PaymentIntents => "payment_intents",
            ObjectKind::RadarValueListItems => "radar_value_list_items",
            ObjectKind::SetupIntents => "setup_intents",
        }
    }

    /// The id prefixes Stripe gives objects of this kind (STRIPE_API.md's table).
    pub fn prefixes(self) -> &'static [&'static str] {
        match self {
            ObjectKind::Charges => &["ch_", "py_"],
            ObjectKind::CheckoutSessions => &["cs_"],
            ObjectKind::Customers => &["cus_"],
            ObjectKind::IdentityVerificationSessions => &["vs_"],
            ObjectKind::Invoices => &["in_"],
            ObjectKind::IssuingCardholders => &["ich_"],
            ObjectKind::IssuingCards => &["ic_"],
            ObjectKind::PaymentIntents => &["pi_"],
            ObjectKind::RadarValueListItems => &["rsli_"],
            ObjectKind::SetupIntents => &["seti_"],
        }
    }

    /// Whether `id` carries one of this kind's prefixes.
    pub fn accepts_id(self, id: &str) -> bool {
        self.prefixes().iter().any(|p| id.starts_with(p))
    }

    /// The singular, human name used in plans ("cancel PaymentIntent pi_123").
    pub fn object_type_name(self) -> &'static str {
        match self {
            ObjectKind::Charges => "Charge",
            ObjectKind::CheckoutSessions => "Checkout Session",
            ObjectKind::Customers => "Customer",
            ObjectKind::IdentityVerificationSessions => "VerificationSession",
            ObjectKind::Invoices => "Invoice",
            ObjectKind::IssuingCardholders => "Issuing Cardholder",
            ObjectKind::IssuingCards => "Issuing Card",
            ObjectKind::PaymentIntents => "PaymentIntent",
            ObjectKind::RadarValueListItems => "Radar value list item",
            ObjectKind::SetupIntents => "SetupIntent",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Returned when a string names no known kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown object kind `{0}`")]
pub struct UnknownKind(pub String);

impl FromStr for ObjectKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ObjectKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

/// One Stripe object named by kind and id. Ordered by kind, then id: the order in which
/// objects are listed and chunked into jobs.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct ObjectRef {
    pub kind: ObjectKind,
    pub id: String,
}

impl ObjectRef {
    pub fn new(kind: ObjectKind, id: impl Into<String>) -> Self {
        ObjectRef {
            kind,
            id: id.into(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.object_type_name(), self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in ObjectKind::ALL {
            assert_eq!(k.as_str().parse::<ObjectKind>().unwrap(), k);
        }
        assert!("people".parse::<ObjectKind>().is_err());
    }

    #[test]
    fn all_is_sorted() {
        let mut sorted = ObjectKind::ALL;
        sorted.sort();
        assert_eq!(sorted, ObjectKind::ALL);
    }

    #[test]
    fn prefixes_match_stripe_table() {
        assert!(ObjectKind::Charges.accepts_id("py_old"));
        assert!(ObjectKind::CheckoutSessions.accepts_id("cs_test_a1"));
        assert!(!ObjectKind::Customers.accepts_id("pi_1"));
    }
}
