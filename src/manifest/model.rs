//! The manifest file format as Rust types: the single source of the JSON Schema
//! (`redactctl schema`, `schemas/manifest.schema.json`) that editors use to complete and
//! check manifests. Doc comments here become the schema's descriptions.
//!
//! The loader does not deserialize through these types (serde gives no line numbers); it
//! walks a spanned YAML tree by hand and accepts exactly the field names listed in the
//! `*_FIELDS` constants below. A unit test checks that those lists equal the schema's
//! properties, so the loader and the schema cannot drift apart.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use crate::deadline::{Date, Regulation};
use crate::kinds::ObjectKind;
use crate::manifest::desired::{Behavior, DesiredState, Mode, Via};

/// The manifest format version this redactctl reads.
pub const VERSION: u32 = 1;

/// Longest accepted entry name (the `name` pattern allows 1 + 63 characters).
pub const NAME_MAX: usize = 64;

/// Longest accepted object id; Stripe ids are far shorter, this only stops garbage.
pub const ID_MAX: usize = 255;

/// Fields of a manifest document, as the loader accepts them.
pub const TOP_FIELDS: &[&str] = &["version", "account", "defaults", "redactions"];
/// Fields of `account`.
pub const ACCOUNT_FIELDS: &[&str] = &["mode", "id", "connected_account"];
/// Fields of `defaults`.
pub const DEFAULTS_FIELDS: &[&str] = &[
    "validation_behavior",
    "state",
    "via",
    "regulation",
    "require_received",
    "allowed_fixes",
];
/// Fields of one entry of `redactions`.
pub const ENTRY_FIELDS: &[&str] = &[
    "name",
    "ticket",
    "objects",
    "validation_behavior",
    "state",
    "via",
    "received",
    "regulation",
    "due",
    "extension",
    "allowed_fixes",
];
/// Fields of an entry's `extension`.
pub const EXTENSION_FIELDS: &[&str] = &["until", "reason", "notified"];

/// A kind of fix that `validation_behavior: fix` applies when a job runs: one row of
/// Stripe's fix table. `allowed_fixes` lists the kinds a reviewed manifest pre-approves.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FixKind {
    /// Delete a Customer that is not deleted.
    DeleteCustomer,
    /// Cancel a PaymentIntent that is not finalized.
    CancelPaymentIntent,
    /// Detach a PaymentMethod still attached to a Customer.
    DetachPaymentMethod,
    /// Detach a Card attached to an active customer.
    DetachCard,
    /// Void an Invoice that is not finalized.
    VoidInvoice,
    /// Close a Dispute that is not submitted (evidence can no longer be submitted).
    CloseDispute,
    /// Close an Issuing card that is not finalized.
    CloseIssuingCard,
    /// Cancel a VerificationSession awaiting action.
    CancelVerificationSession,
    /// Delete a Radar value list item that is not deleted.
    DeleteRadarValueListItem,
}

impl FixKind {
    /// Every kind, in table order.
    pub const ALL: [FixKind; 9] = [
        FixKind::DeleteCustomer,
        FixKind::CancelPaymentIntent,
        FixKind::DetachPaymentMethod,
        FixKind::DetachCard,
        FixKind::VoidInvoice,
        FixKind::CloseDispute,
        FixKind::CloseIssuingCard,
        FixKind::CancelVerificationSession,
        FixKind::DeleteRadarValueListItem,
    ];

    /// The manifest spelling (`cancel_payment_intent`).
    pub fn as_str(self) -> &'static str {
        match self {
            FixKind::DeleteCustomer => "delete_customer",
            FixKind::CancelPaymentIntent => "cancel_payment_intent",
            FixKind::DetachPaymentMethod => "detach_payment_method",
            FixKind::DetachCard => "detach_card",
            FixKind::VoidInvoice => "void_invoice",
            FixKind::CloseDispute => "close_dispute",
            FixKind::CloseIssuingCard => "close_issuing_card",
            FixKind::CancelVerificationSession => "cancel_verification_session",
            FixKind::DeleteRadarValueListItem => "delete_radar_value_list_item",
        }
    }

    /// The kind spelled `s` in a manifest.
    pub fn parse(s: &str) -> Option<FixKind> {
        FixKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One redactctl manifest document: which Stripe objects must be redacted, and how.
/// Several files (and several `---` documents) are loaded together; `account` and
/// `defaults` may stand in any of them, but must be equal wherever they are repeated.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "redactctl manifest")]
pub struct ManifestFile {
    /// Manifest format version. Always `1`.
    #[schemars(extend("const" = 1))]
    pub version: u32,
    /// The Stripe account these redactions are about. Required in at least one of the
    /// loaded files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountDoc>,
    /// Values used by every entry that does not set them itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<DefaultsDoc>,
    /// The redaction requests: one entry per deletion request.
    #[serde(default)]
    pub redactions: Vec<RedactionDoc>,
}

/// The Stripe account the manifests act on. `apply` refuses a key that does not match.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountDoc {
    /// `test` or `live`: apply refuses an API key of the other mode.
    pub mode: Mode,
    /// The account id (`acct_…`): apply refuses a key that belongs to another account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^acct_[A-Za-z0-9]+$"))]
    pub id: Option<String>,
    /// Act on this Connect account (sent as the `Stripe-Account` header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^acct_[A-Za-z0-9]+$"))]
    pub connected_account: Option<String>,
}

/// Defaults for every entry; an entry's own field wins.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultsDoc {
    /// How jobs treat fixable validation errors (default `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_behavior: Option<Behavior>,
    /// Where entries should end up (default `redacted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<DesiredState>,
    /// Which Stripe mechanism redacts entries (default `redaction_job`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    /// The law most requests fall under; it sets each entry's due date from its
    /// `received:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regulation: Option<Regulation>,
    /// When `true`, every entry must say when its request was received (`received:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_received: Option<bool>,
    /// Kinds of fix that every entry's `fix` runs may apply without a plan that lists
    /// them (an entry's own `allowed_fixes` replaces this list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_fixes: Option<Vec<FixKind>>,
}

/// One redaction request: a named set of Stripe objects to redact.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedactionDoc {
    /// Unique over every loaded file; lowercase letters, digits, `.`, `_`, `-`; at most 64
    /// characters. Never a person's name or e-mail: manifests live in git.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9._-]{0,63}$"))]
    pub name: String,
    /// An opaque reference to the request (e.g. `DSR-142`), shown in plans and receipts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// The root objects to redact, by kind. More than 10 objects are split into several
    /// jobs by the planner.
    pub objects: ObjectsDoc,
    /// How the entry's jobs treat fixable validation errors: `error` (a person fixes them)
    /// or `fix` (Stripe fixes them when the job runs, e.g. cancels an open PaymentIntent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_behavior: Option<Behavior>,
    /// `validated` (create and validate, destroy nothing), `redacted` (run the jobs) or
    /// `canceled` (cancel jobs that have not run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<DesiredState>,
    /// `redaction_job` (default) or `identity_redact` (only for
    /// `identity_verification_sessions`, and not with `state: validated`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    /// Kinds of fix (`cancel_payment_intent`, `void_invoice`, …) that this reviewed
    /// manifest pre-approves for `validation_behavior: fix`: the job switches to `fix` and
    /// runs without a second review when every fix is of these kinds. A fix of another
    /// kind, or Stripe's fix for a type its table does not name, still needs a plan that
    /// shows it. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_fixes: Option<Vec<FixKind>>,
    /// The day the deletion request was received (YYYY-MM-DD); the law's clock starts
    /// here. Not in the future.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<Date>,
    /// The law the request was made under (overrides `defaults.regulation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regulation: Option<Regulation>,
    /// The due date, only with `regulation: custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Date>,
    /// An extension of the due date, within the law's maximum and notified in time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<ExtensionDoc>,
}

/// An extension of a request's due date, as notified to the requester.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionDoc {
    /// The new due date; at most the law's maximum (GDPR: two further months; CCPA, VCDPA,
    /// CPA, CTDPA: 45 more days; PIPEDA: 30 more days; LGPD: none).
    pub until: Date,
    /// The reason given to the requester.
    pub reason: String,
    /// The day the requester was told; within the law's first period.
    pub notified: Date,
}

/// Object ids by kind, e.g. `customers: [cus_1]`. Each kind's ids must carry its prefix.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ObjectsDoc(pub BTreeMap<ObjectKind, Vec<String>>);

impl JsonSchema for ObjectsDoc {
    fn schema_name() -> Cow<'static, str> {
        "Objects".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let mut properties = serde_json::Map::new();
        for kind in ObjectKind::ALL {
            let prefixes = kind.prefixes().join("|");
            let pattern = format!("^({prefixes})[^\\s]*$");
            let described = kind
                .prefixes()
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(" or ");
            properties.insert(
                kind.as_str().to_string(),
                serde_json::json!({
                    "description": format!("{} ids (starting with {described}).", kind.object_type_name()),
                    "type": "array",
                    "items": {
                        "type": "string",
                        "pattern": pattern,
                        "minLength": 1,
                        "maxLength": ID_MAX,
                    },
                }),
            );
        }
        json_schema!({
            "description": "The root objects to redact, by kind; at least one id in all.",
            "type": "object",
            "properties": properties,
            "additionalProperties": false,
            "minProperties": 1,
        })
    }
}

/// The manifest JSON Schema, pretty-printed with a trailing newline (what `redactctl
/// schema` prints and `schemas/manifest.schema.json` holds).
pub fn schema_json() -> String {
    let mut schema = schemars::schema_for!(ManifestFile);
    schema.insert(
        "$id".into(),
        "https://github.com/redactctl/redactctl/schemas/manifest.schema.json".into(),
    );
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn schema() -> serde_json::Value {
        serde_json::from_str(&schema_json()).unwrap()
    }

    fn props(v: &serde_json::Value) -> BTreeSet<String> {
        v["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    fn set(fields: &[&str]) -> BTreeSet<String> {
        fields.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn loader_fields_equal_schema_properties() {
        let s = schema();
        assert_eq!(props(&s), set(TOP_FIELDS));
        assert_eq!(props(&s["$defs"]["AccountDoc"]), set(ACCOUNT_FIELDS));
        assert_eq!(props(&s["$defs"]["DefaultsDoc"]), set(DEFAULTS_FIELDS));
        assert_eq!(props(&s["$defs"]["RedactionDoc"]), set(ENTRY_FIELDS));
        assert_eq!(props(&s["$defs"]["ExtensionDoc"]), set(EXTENSION_FIELDS));
        let kinds: Vec<&str> = ObjectKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(props(&s["$defs"]["Objects"]), set(&kinds));
    }

    #[test]
    fn schema_forbids_unknown_fields_and_requires_essentials() {
        let s = schema();
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["required"], serde_json::json!(["version"]));
        assert_eq!(
            s["$defs"]["RedactionDoc"]["required"],
            serde_json::json!(["name", "objects"])
        );
        assert_eq!(
            s["$defs"]["AccountDoc"]["required"],
            serde_json::json!(["mode"])
        );
        assert_eq!(s["properties"]["version"]["const"], 1);
    }

    #[test]
    fn schema_is_pretty_json_with_a_trailing_newline() {
        let text = schema_json();
        assert!(text.ends_with("}\n"));
        assert!(text.contains("\n  \"$schema\""));
    }
}
