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

/// The `objects` of a redaction job: per kind, a nullable list of ids, sorted by kind and
/// read and written as the JSON object Stripe sends.
///
/// A sorted vector rather than a `BTreeMap`: a job names one kind or a few, and a map
/// allocates a node of about 540 bytes whatever it holds. An account of 100,000 jobs is
/// held in memory whole (every observation, every re-plan of an apply), so that node was
/// more than half of its size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobObjects(Vec<(String, Option<Vec<String>>)>);

impl JobObjects {
    pub fn new() -> Self {
        JobObjects(Vec::new())
    }

    /// Sets the ids of `kind`, returning what it had (as `BTreeMap::insert` does).
    pub fn insert(
        &mut self,
        kind: String,
        ids: Option<Vec<String>>,
    ) -> Option<Option<Vec<String>>> {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&kind)) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, ids)),
            Err(i) => {
                self.0.insert(i, (kind, ids));
                None
            }
        }
    }

    /// The slot of `kind`, to fill in place (as `BTreeMap::entry`).
    pub fn entry(&mut self, kind: String) -> JobObjectsEntry<'_> {
        JobObjectsEntry {
            objects: self,
            kind,
        }
    }

    /// The ids of `kind`, if the job has the kind (`Some(None)`: Stripe sent `null`).
    pub fn get(&self, kind: &str) -> Option<&Option<Vec<String>>> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(kind))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// Kind by kind, sorted.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Option<Vec<String>>)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The kinds, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One kind's slot in [`JobObjects`], from [`JobObjects::entry`].
pub struct JobObjectsEntry<'a> {
    objects: &'a mut JobObjects,
    kind: String,
}

impl<'a> JobObjectsEntry<'a> {
    /// The kind's ids, set to `f()` first if the kind is absent.
    pub fn or_insert_with(
        self,
        f: impl FnOnce() -> Option<Vec<String>>,
    ) -> &'a mut Option<Vec<String>> {
        let v = &mut self.objects.0;
        let i = match v.binary_search_by(|(k, _)| k.as_str().cmp(&self.kind)) {
            Ok(i) => i,
            Err(i) => {
                v.insert(i, (self.kind, f()));
                i
            }
        };
        &mut v[i].1
    }

    /// The kind's ids, set to `ids` first if the kind is absent.
    pub fn or_insert(self, ids: Option<Vec<String>>) -> &'a mut Option<Vec<String>> {
        self.or_insert_with(|| ids)
    }

    /// The kind's ids, set to `None` first if the kind is absent.
    pub fn or_default(self) -> &'a mut Option<Vec<String>> {
        self.or_insert_with(|| None)
    }
}

impl FromIterator<(String, Option<Vec<String>>)> for JobObjects {
    /// As a map would: sorted by kind, and the last value of a kind repeated wins.
    fn from_iter<I: IntoIterator<Item = (String, Option<Vec<String>>)>>(iter: I) -> Self {
        let mut v: Vec<(String, Option<Vec<String>>)> = iter.into_iter().collect();
        // Stable: among equal kinds the later one stays last, and is kept below.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(String, Option<Vec<String>>)> = Vec::with_capacity(v.len());
        for (k, ids) in v {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = ids,
                _ => out.push((k, ids)),
            }
        }
        out.shrink_to_fit();
        JobObjects(out)
    }
}

impl From<BTreeMap<String, Option<Vec<String>>>> for JobObjects {
    fn from(map: BTreeMap<String, Option<Vec<String>>>) -> Self {
        JobObjects(map.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a JobObjects {
    type Item = (&'a String, &'a Option<Vec<String>>);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Option<Vec<String>>)>,
        fn(&'a (String, Option<Vec<String>>)) -> (&'a String, &'a Option<Vec<String>>),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl IntoIterator for JobObjects {
    type Item = (String, Option<Vec<String>>);
    type IntoIter = std::vec::IntoIter<(String, Option<Vec<String>>)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Serialize for JobObjects {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for JobObjects {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Reads the map's entries straight into the vector (no map in between).
        struct Entries;

        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = JobObjects;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of object kinds to lists of ids")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<JobObjects, A::Error> {
                let mut v = Vec::with_capacity(map.size_hint().unwrap_or(0).min(16));
                while let Some(entry) = map.next_entry::<String, Option<Vec<String>>>()? {
                    v.push(entry);
                }
                Ok(v.into_iter().collect())
            }
        }

        deserializer.deserialize_map(Entries)
    }
}

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
    #[schemars(with = "Option<BTreeMap<String, Option<Vec<String>>>>")]
    pub objects: Option<JobObjects>,
    pub status: JobStatus,
    /// Mapped onto the domain's behaviour; a value this version does not know reads as
    /// unset.
    #[serde(default, deserialize_with = "ValidationBehavior::lenient")]
    pub validation_behavior: Option<ValidationBehavior>,
    /// Boxed: a list is 80 bytes inline and almost every job (all the terminal ones) has
    /// none, while an account of 100,000 jobs is held whole; boxed, the field is 8.
    #[serde(default)]
    pub validation_errors: Option<Box<List<JobValidationError>>>,
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
