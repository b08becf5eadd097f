//! Typed models of the Stripe objects redactctl reads. Enums keep values they do not know
//! (`Unknown(String)`) instead of failing: Stripe adds statuses without notice, and a tool
//! that crashes on a new status cannot even show the plan.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::kinds::{ObjectKind, ObjectRef};

/// Defines a string enum that round-trips values it does not know.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($variant,)+
            /// A value this version of redactctl does not know; kept as sent.
            Unknown(String),
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unknown(s) => s.as_str(),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $($text => $name::$variant,)+
                    _ => $name::Unknown(s),
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name::from(s.to_string())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

open_enum! {
    /// A redaction job's status (STRIPE_API.md).
    JobStatus {
        Created => "created",
        Validating => "validating",
        Ready => "ready",
        Failed => "failed",
        Redacting => "redacting",
        Succeeded => "succeeded",
        Canceling => "canceling",
        Canceled => "canceled",
    }
}

impl JobStatus {
    /// `created`, `validating`, `ready`, `failed`: nothing has been destroyed yet.
    pub fn is_pre_run(&self) -> bool {
        matches!(
            self,
            JobStatus::Created | JobStatus::Validating | JobStatus::Ready | JobStatus::Failed
        )
    }

    /// Pre-run plus `redacting` and `canceling`: the job holds its objects. Unknown
    /// statuses count as active, so that an object is never given to a second job by
    /// mistake.
    pub fn is_active(&self) -> bool {
        self.is_pre_run()
            || matches!(
                self,
                JobStatus::Redacting | JobStatus::Canceling | JobStatus::Unknown(_)
            )
    }

    /// `succeeded` and `canceled` never change again (they may be cached).
    pub fn is_terminal(&self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Canceled)
    }
}

open_enum! {
    /// How a job treats fixable validation errors.
    ValidationBehavior {
        Error => "error",
        Fix => "fix",
    }
}

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
    #[serde(default)]
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
            .clone()
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

/// Test or live mode, decided by the key's prefix and carried by every object.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Test,
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
        assert_eq!(back["validation_behavior"], "shred");
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
