//! The pure decisions of an observation: which sessions to read, which jobs need their
//! validation errors, when the errors embedded in a job are already complete, and the order
//! of jobs in `Live`. No I/O here, so every rule is unit-tested.

use std::collections::BTreeSet;

use crate::kinds::ObjectKind;
use crate::manifest::desired::{Desired, Via};
use crate::stripe::models::{JobStatus, JobValidationError, RedactionJob, ValidationBehavior};

/// The verification sessions named by `via: identity_redact` entries, sorted, once each.
pub fn session_ids(desired: &Desired) -> BTreeSet<String> {
    desired
        .entries
        .iter()
        .filter(|e| e.via == Via::IdentityRedact)
        .flat_map(|e| e.objects.iter())
        .filter(|o| o.kind == ObjectKind::IdentityVerificationSessions)
        .map(|o| o.id.clone())
        .collect()
}

/// Whether the planner needs this job's validation errors: a `failed` job (to say what
/// blocks it) and a `ready` job with `fix` (to list the fixes its run will apply).
pub fn needs_errors(job: &RedactionJob) -> bool {
    match job.status {
        JobStatus::Failed => true,
        JobStatus::Ready => job.effective_behavior() == ValidationBehavior::Fix,
        _ => false,
    }
}

/// The job's embedded `validation_errors` when they are all there (`has_more: false`), so
/// that no request is needed; `None` when they are absent or only the first page.
pub fn complete_embedded_errors(job: &RedactionJob) -> Option<Vec<JobValidationError>> {
    job.validation_errors
        .as_ref()
        .filter(|l| !l.has_more)
        .map(|l| l.data.clone())
}

/// Whether a job's validation errors must be fetched with a request: only when the list it
/// embeds says there are more than it shows (`has_more`). An embedded list that is empty,
/// complete, or absent (`null`: no attempt's errors to show) costs nothing, so a plan over
/// many failed jobs never pays one request per job.
pub fn must_fetch_errors(job: &RedactionJob) -> bool {
    job.validation_errors.as_ref().is_some_and(|l| l.has_more)
}

/// The errors a job embeds, as the whole answer when [`must_fetch_errors`] is false (an
/// absent list is no errors).
pub fn embedded_errors(job: &RedactionJob) -> Vec<JobValidationError> {
    job.validation_errors
        .as_ref()
        .map(|l| l.data.clone())
        .unwrap_or_default()
}

/// Sorts jobs by (created, id): the order `Live` promises, stable across observations.
pub fn sort_jobs(jobs: &mut [RedactionJob]) {
    jobs.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::ObjectRef;
    use crate::manifest::desired::{AccountSpec, Behavior, DesiredState, Entry, Location, Mode};
    use crate::stripe::models::{List, ValidationErrorCode};

    fn entry(name: &str, via: Via, objects: Vec<ObjectRef>) -> Entry {
        Entry {
            deadline: Default::default(),
            allowed_fixes: Vec::new(),
            name: name.into(),
            ticket: None,
            objects,
            validation_behavior: Behavior::Error,
            state: DesiredState::Redacted,
            via,
            location: Location {
                file: "m.yaml".into(),
                line: 1,
                column: 1,
            },
        }
    }

    fn job(id: &str, created: i64, status: &str, behavior: Option<&str>) -> RedactionJob {
        RedactionJob {
            id: id.into(),
            object: "privacy.redaction_job".into(),
            created,
            livemode: false,
            objects: None,
            status: JobStatus::from(status),
            validation_behavior: behavior.and_then(|b| b.parse::<ValidationBehavior>().ok()),
            validation_errors: None,
        }
    }

    #[test]
    fn only_identity_redact_sessions_are_read() {
        let vs = |id: &str| ObjectRef::new(ObjectKind::IdentityVerificationSessions, id);
        let desired = Desired {
            account: AccountSpec {
                mode: Mode::Test,
                id: None,
                connected_account: None,
            },
            entries: vec![
                entry("a", Via::IdentityRedact, vec![vs("vs_2"), vs("vs_1")]),
                entry("b", Via::RedactionJob, vec![vs("vs_9")]),
                entry("c", Via::IdentityRedact, vec![vs("vs_1")]),
            ],
            digest: String::new(),
        };
        let ids: Vec<String> = session_ids(&desired).into_iter().collect();
        assert_eq!(ids, vec!["vs_1".to_string(), "vs_2".to_string()]);
    }

    #[test]
    fn errors_are_needed_for_failed_and_ready_fix_jobs_only() {
        assert!(needs_errors(&job("a", 1, "failed", None)));
        assert!(needs_errors(&job("b", 1, "ready", Some("fix"))));
        assert!(!needs_errors(&job("c", 1, "ready", Some("error"))));
        assert!(!needs_errors(&job("d", 1, "ready", None)));
        assert!(!needs_errors(&job("e", 1, "validating", Some("fix"))));
        assert!(!needs_errors(&job("f", 1, "succeeded", None)));
        assert!(!needs_errors(&job("g", 1, "quarantined", None)));
    }

    #[test]
    fn embedded_errors_count_only_when_complete() {
        let err = JobValidationError {
            id: "prjve_1".into(),
            object: String::new(),
            code: ValidationErrorCode::InvalidState,
            erroring_object: None,
            message: "not finalized".into(),
        };
        let mut j = job("a", 1, "failed", None);
        assert_eq!(complete_embedded_errors(&j), None);
        j.validation_errors = Some(Box::new(List {
            object: "list".into(),
            data: vec![err.clone()],
            has_more: true,
            url: String::new(),
        }));
        assert_eq!(complete_embedded_errors(&j), None);
        if let Some(l) = j.validation_errors.as_mut() {
            l.has_more = false;
        }
        assert_eq!(complete_embedded_errors(&j), Some(vec![err]));
    }

    #[test]
    fn errors_are_fetched_only_when_the_embedded_list_has_more() {
        let err = JobValidationError {
            id: "prjve_1".into(),
            object: String::new(),
            code: ValidationErrorCode::InvalidState,
            erroring_object: None,
            message: "not finalized".into(),
        };
        let list = |data: Vec<JobValidationError>, has_more| {
            Box::new(List {
                object: "list".into(),
                data,
                has_more,
                url: String::new(),
            })
        };
        // A failed job with no embedded list, or an empty one: no request, no errors.
        let mut j = job("a", 1, "failed", None);
        assert!(!must_fetch_errors(&j));
        assert_eq!(embedded_errors(&j), Vec::new());
        j.validation_errors = Some(list(Vec::new(), false));
        assert!(!must_fetch_errors(&j));
        assert_eq!(embedded_errors(&j), Vec::new());
        // A complete embedded list is the answer.
        j.validation_errors = Some(list(vec![err.clone()], false));
        assert!(!must_fetch_errors(&j));
        assert_eq!(embedded_errors(&j), vec![err.clone()]);
        // Only a first page (`has_more`) needs the request.
        j.validation_errors = Some(list(vec![err], true));
        assert!(must_fetch_errors(&j));
    }

    #[test]
    fn jobs_sort_by_created_then_id() {
        let mut jobs = vec![
            job("prj_b", 2, "ready", None),
            job("prj_c", 1, "ready", None),
            job("prj_a", 2, "ready", None),
        ];
        sort_jobs(&mut jobs);
        let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(ids, vec!["prj_c", "prj_a", "prj_b"]);
    }
}
