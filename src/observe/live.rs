//! `Live`: one snapshot of what the Stripe account holds, read before every decision. The
//! planner reads only this; it never asks Stripe anything itself.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
    /// Unix time of the observation (used to show ages; never for decisions).
    pub observed_at: i64,
}

impl Live {
    /// The job with this id.
    pub fn job(&self, id: &str) -> Option<&RedactionJob> {
        self.jobs.iter().find(|j| j.id == id)
    }
}
