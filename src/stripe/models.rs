//! Typed models of the Stripe objects redactctl reads. Enums keep values they do not know
//! (`Unknown(String)`) instead of failing: Stripe adds statuses without notice, and a tool
//! that crashes on a new status cannot even show the plan.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kinds::{ObjectKind, ObjectRef};

use crate::domain::open_enum;
pub use crate::domain::{Behavior as ValidationBehavior, JobStatus, Mode};

open_enum! {
    /// The code of a `privacy.redaction_job_validation_error`.
    ValidationErrorCode {
        InvalidCascadingSource => "invalid_cascading_source",
        InvalidFilePurpose => "invalid_file_purpose",
        InvalidState => "invalid_state",
        LockedByOtherJob => "locked_by_other_job",
        TooManyObjects => "too_many_objects",
    }
}

open_enum! {
    /// An Identity VerificationSession's status.
    VerificationSessionStatus {
        RequiresInput => "requires_input",
        RequiresAction => "requires_action",
        Processing => "processing",
        Verified => "verified",
        Canceled => "canceled",
    }
}

open_enum! {
    /// The status of a VerificationSession's `redaction`.
    SessionRedactionStatus {
        Processing => "processing",
        Redacted => "redacted",
        Validated => "validated",
    }
}

/// The `objects` of a redaction job: per kind, a nullable list of ids.
pub type JobObjects = BTreeMap<String, Option<Vec<String>>>;

/// `privacy.redaction_job`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RedactionJob {
    pub id: String,
    #[serde(default)]
    pub object: String,
    pub created: i64,
    #[serde(default)]
    pub livemode: bool,
    /// Only present when expanded (`expand[]=objects`).
    #[serde(default)]
    pub objects: Option<JobObjects>,
    pub status: JobStatus,
    /// Mapped onto the domain's behaviour; a value this version does not know reads as
    /// unset.
    #[serde(default, deserialize_with = "ValidationBehavior::lenient")]
    pub validation_behavior: Option<ValidationBehavior>,
    #[serde(default)]
    pub validation_errors: Option<List<JobValidationError>>,
}

impl RedactionJob {
    /// The job's root objects of known kinds, sorted by kind then id. Kinds this version
    /// does not know are skipped (see [`RedactionJob::unknown_object_kinds`]).
    pub fn object_refs(&self) -> Vec<ObjectRef> {
        let mut out = Vec::new();
        if let Some(objects) = &self.objects {
            for (kind, ids) in objects {
                let Ok(kind) = kind.parse::<ObjectKind>() else {
                    continue;
                };
                for id in ids.iter().flatten() {
                    out.push(ObjectRef::new(kind, id.clone()));
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Kinds in `objects` that this version does not know.
    pub fn unknown_object_kinds(&self) -> Vec<String> {
        self.objects
            .iter()
            .flat_map(|o| o.keys())
            .filter(|k| k.parse::<ObjectKind>().is_err())
            .cloned()
            .collect()
    }

    /// The behaviour Stripe applies: `error` when unset.
    pub fn effective_behavior(&self) -> ValidationBehavior {
        self.validation_behavior
            .unwrap_or(ValidationBehavior::Error)
    }
}

/// The object a validation error is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErroringObject {
    pub id: String,
    pub object_type: String,
}

/// `privacy.redaction_job_validation_error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct JobValidationError {
    pub id: String,
    #[serde(default)]
    pub object: String,
    pub code: ValidationErrorCode,
    #[serde(default)]
    pub erroring_object: Option<ErroringObject>,
    #[serde(default)]
    pub message: String,
}

/// Stripe's list object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct List<T> {
    #[serde(default)]
    pub object: String,
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub url: String,
}

/// The `redaction` of a VerificationSession.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SessionRedaction {
    pub status: SessionRedactionStatus,
}

/// `identity.verification_session` (only the fields redactctl reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VerificationSession {
    pub id: String,
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub created: i64,
    #[serde(default)]
    pub livemode: bool,
    pub status: VerificationSessionStatus,
    #[serde(default)]
    pub redaction: Option<SessionRedaction>,
}

/// `account` (only the fields redactctl reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Account {
    pub id: String,
    #[serde(default)]
    pub object: String,
}

/// The `error` of Stripe's error body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorDetail {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub param: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub doc_url: Option<String>,
}

/// Stripe's error body: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ApiErrorDetail,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_status_survives_a_round_trip() {
        let json = r#"{"id":"prj_1","object":"privacy.redaction_job","created":1,"livemode":false,"status":"quarantined","validation_behavior":"shred"}"#;
        let job: RedactionJob = serde_json::from_str(json).unwrap();
        assert_eq!(job.status, JobStatus::Unknown("quarantined".into()));
        assert!(job.status.is_active());
        let back = serde_json::to_value(&job).unwrap();
        assert_eq!(back["status"], "quarantined");
        // A behaviour Stripe might add reads as unset instead of failing the whole job.
        assert_eq!(job.validation_behavior, None);
        assert_eq!(back["validation_behavior"], serde_json::Value::Null);
    }

    #[test]
    fn object_refs_are_sorted_and_skip_unknown_kinds() {
        let json = r#"{"id":"prj_1","created":1,"status":"ready","objects":{"payment_intents":["pi_2","pi_1"],"customers":["cus_9"],"charges":null,"holograms":["h_1"]}}"#;
        let job: RedactionJob = serde_json::from_str(json).unwrap();
        let refs = job.object_refs();
        assert_eq!(
            refs,
            vec![
                ObjectRef::new(ObjectKind::Customers, "cus_9"),
                ObjectRef::new(ObjectKind::PaymentIntents, "pi_1"),
                ObjectRef::new(ObjectKind::PaymentIntents, "pi_2"),
            ]
        );
        assert_eq!(job.unknown_object_kinds(), vec!["holograms".to_string()]);
    }
}
