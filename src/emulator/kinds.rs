//! The emulator's own table of the object kinds a redaction job can name: their wire
//! names in `objects[KIND][]`, their id prefixes, their Stripe object types, and whether
//! the RedactionJob object reads them back.
//!
//! It deliberately repeats what the client's table (`crate::kinds`) says instead of
//! importing it: the emulator is the oracle the client is tested against, and a wrong
//! entry shared by both sides would make every test agree with the mistake. A test in
//! the integration suite checks that the two tables agree.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A root object kind accepted by `POST /v1/privacy/redaction_jobs`. The declaration order
/// is the order in which a job's `objects` are stored and rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `charges`.
    Charges,
    /// `checkout_sessions`.
    CheckoutSessions,
    /// `customers`.
    Customers,
    /// `identity_verification_sessions`.
    IdentityVerificationSessions,
    /// `invoices`.
    Invoices,
    /// `issuing_cardholders`.
    IssuingCardholders,
    /// `issuing_cards`: accepted on create, never read back (see [`Kind::reads_back`]).
    IssuingCards,
    /// `payment_intents`.
    PaymentIntents,
    /// `radar_value_list_items`.
    RadarValueListItems,
    /// `setup_intents`.
    SetupIntents,
}

/// One row: kind, wire name, id prefixes, Stripe object type, read back in `objects`.
type Row = (
    Kind,
    &'static str,
    &'static [&'static str],
    &'static str,
    bool,
);

/// The table itself, one row per kind, in declaration order.
const TABLE: [Row; 10] = [
    (Kind::Charges, "charges", &["ch_", "py_"], "charge", true),
    (
        Kind::CheckoutSessions,
        "checkout_sessions",
        &["cs_"],
        "checkout.session",
        true,
    ),
    (Kind::Customers, "customers", &["cus_"], "customer", true),
    (
        Kind::IdentityVerificationSessions,
        "identity_verification_sessions",
        &["vs_"],
        "identity.verification_session",
        true,
    ),
    (Kind::Invoices, "invoices", &["in_"], "invoice", true),
    (
        Kind::IssuingCardholders,
        "issuing_cardholders",
        &["ich_"],
        "issuing.cardholder",
        true,
    ),
    // The RedactionJob object (API reference, SDK `Objects` class) lists nine kinds:
    // a card named on create does not appear in `objects`.
    (
        Kind::IssuingCards,
        "issuing_cards",
        &["ic_"],
        "issuing.card",
        false,
    ),
    (
        Kind::PaymentIntents,
        "payment_intents",
        &["pi_"],
        "payment_intent",
        true,
    ),
    (
        Kind::RadarValueListItems,
        "radar_value_list_items",
        &["rsli_"],
        "radar.value_list_item",
        true,
    ),
    (
        Kind::SetupIntents,
        "setup_intents",
        &["seti_"],
        "setup_intent",
        true,
    ),
];

impl Kind {
    /// Every kind, in declaration order.
    pub const ALL: [Kind; 10] = [
        Kind::Charges,
        Kind::CheckoutSessions,
        Kind::Customers,
        Kind::IdentityVerificationSessions,
        Kind::Invoices,
        Kind::IssuingCardholders,
        Kind::IssuingCards,
        Kind::PaymentIntents,
        Kind::RadarValueListItems,
        Kind::SetupIntents,
    ];

    fn row(self) -> &'static Row {
        // `TABLE` is in declaration order, so the discriminant is the index.
        &TABLE[self as usize]
    }

    /// The key in `objects[...]`.
    pub fn wire_name(self) -> &'static str {
        self.row().1
    }

    /// The id prefixes Stripe gives objects of this kind.
    pub fn prefixes(self) -> &'static [&'static str] {
        self.row().2
    }

    /// Stripe's object type (`payment_intent`), as in `erroring_object.object_type`.
    pub fn object_type(self) -> &'static str {
        self.row().3
    }

    /// Whether the RedactionJob's `objects` has a field for this kind.
    pub fn reads_back(self) -> bool {
        self.row().4
    }

    /// Whether `id` carries one of this kind's prefixes.
    pub fn accepts_id(self, id: &str) -> bool {
        self.prefixes()
            .iter()
            .any(|p| id.len() > p.len() && id.starts_with(p))
    }
}

impl FromStr for Kind {
    type Err = ();
    fn from_str(s: &str) -> Result<Kind, ()> {
        Kind::ALL.into_iter().find(|k| k.wire_name() == s).ok_or(())
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_are_in_declaration_order_and_parse_back() {
        for (i, k) in Kind::ALL.into_iter().enumerate() {
            assert_eq!(TABLE[i].0, k);
            assert_eq!(k.wire_name().parse::<Kind>(), Ok(k));
        }
        assert!("people".parse::<Kind>().is_err());
        assert!(Kind::Charges.accepts_id("py_1") && !Kind::Charges.accepts_id("ch_"));
        let unread: Vec<Kind> = Kind::ALL.into_iter().filter(|k| !k.reads_back()).collect();
        assert_eq!(unread, vec![Kind::IssuingCards]);
    }
}
