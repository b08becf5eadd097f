//! `Live`: one snapshot of what the Stripe account holds, read before every decision. The
//! planner reads only this; it never asks Stripe anything itself.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::kinds::ObjectRef;
use crate::stripe::models::{Account, JobValidationError, Mode, RedactionJob, VerificationSession};

/// What Stripe holds, as observed at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Live {
    /// The account the key belongs to (`GET /v1/account`), when it was read.
    pub account: Option<Account>,
    /// The key's mode, when known.
    pub mode: Option<Mode>,
    /// Every redaction job of the account, objects expanded, sorted by (created, id).
    pub jobs: Vec<RedactionJob>,
    /// All validation errors (every page) of `failed` jobs and of `ready` jobs with `fix`,
    /// by job id. A job absent here had none read.
    pub validation_errors: BTreeMap<String, Vec<JobValidationError>>,
    /// The verification sessions that manifests name with `via: identity_redact`, by id.
    /// A session named but absent here does not exist.
    pub sessions: BTreeMap<String, VerificationSession>,
    /// Unix time of the observation: shows ages, and dates objects against the 90-day
    /// risk period (with `object_created`).
    pub observed_at: i64,
    /// Which jobs redactctl created (job id → the objects its create asked for), read from
    /// the audit log (`plan::provenance_from_audit`). `None`: no audit log was available,
    /// so the planner cannot tell jobs created outside redactctl from its own, treats every
    /// job as its own and says so in a plan warning. Also how a job is matched to its
    /// entry when some kinds (`issuing_cards`) do not read back in the job's `objects`.
    #[serde(default)]
    pub created_by_redactctl: Option<BTreeMap<String, Vec<ObjectRef>>>,
    /// The `created` (unix seconds) of objects that validation errors name, by object id,
    /// when the observer read them: dates the 90-day risk period. Empty: unknown.
    #[serde(default)]
    pub object_created: BTreeMap<String, i64>,
    /// When redactctl last asked Stripe to validate each job (unix seconds, by job id),
    /// read from the audit log; a job absent here was last validated when it was created.
    /// Tells a risk-period error from before the period ended from a later one, and paces
    /// `reconcile --revalidate-every`.
    #[serde(default)]
    pub validated_at: BTreeMap<String, i64>,
    /// Objects Stripe said do not exist when a create of redactctl's named them (a 400
    /// `resource_missing`), by object, read from the audit log. A later create that
    /// succeeded for the object clears it. By object id. Empty: none known (or no audit
    /// log).
    #[serde(default)]
    pub missing_objects: BTreeMap<String, MissingObject>,
}

/// A create that Stripe refused because an object it named does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingObject {
    /// The object Stripe did not find.
    pub object: ObjectRef,
    /// Every object that create asked for (sorted): the same create is not proposed again
    /// unless the entry's objects changed.
    pub asked: Vec<ObjectRef>,
    /// When Stripe refused it (RFC 3339, from the audit record).
    pub time: String,
    /// Stripe's `Request-Id` of the refusal, when it came with one.
    pub request_id: Option<String>,
}

impl Live {
    /// The job with this id.
    pub fn job(&self, id: &str) -> Option<&RedactionJob> {
        self.jobs.iter().find(|j| j.id == id)
    }

    /// When `job` was last validated: redactctl's last `validate` of it, else its creation.
    pub fn last_validated(&self, job: &RedactionJob) -> i64 {
        self.validated_at
            .get(&job.id)
            .copied()
            .unwrap_or(job.created)
            .max(job.created)
    }
}
