//! Validation rules: what a validation of a job's objects finds — each object's own
//! problems (see `graph`), objects held by an earlier active job, and a job that reaches
//! too many objects — and whether the job may hold what it reaches.

use super::super::graph::{ObjectRecord, Problem};
use super::jobs::ValidationError;
use super::{NsKey, World};

/// What one validation found.
pub(super) struct Found {
    /// Roots and related objects, breadth first (at most the policy's limit + 1).
    pub reached: Vec<String>,
    /// The problems, as validation errors with fresh ids.
    pub errors: Vec<ValidationError>,
    /// `false` when another active job holds one of the objects: then only that earlier
    /// job holds them, and this one holds nothing (Stripe's guide: creating several jobs
    /// for the same object "results in an error for the later jobs").
    pub holds: bool,
}

impl World {
    /// Validates `roots` for job `job_id` (which is not its own blocker).
    pub(super) fn validate_roots(
        &mut self,
        key: &NsKey,
        job_id: &str,
        roots: &[String],
        now_ms: i64,
    ) -> Found {
        let now = now_ms.div_euclid(1000);
        let limit = self.policy.max_related_objects;
        let ns = self.ns_mut(key);
        let mut reached = ns.reach(roots, limit.saturating_add(1));
        let mut problems: Vec<Problem> = Vec::new();
        let mut holds = true;
        let too_many = reached.len() > limit;
        if too_many {
            reached.truncate(limit);
        }
        for id in &reached {
            let is_root = roots.contains(id);
            let rec = ns
                .objects
                .get(id)
                .cloned()
                .unwrap_or_else(|| ObjectRecord::unknown(id));
            problems.extend(rec.problems(now, is_root));
            if ns
                .holders
                .get(id)
                .is_some_and(|h| h.iter().any(|j| j != job_id))
            {
                holds = false;
                problems.push(Problem {
                    code: "locked_by_other_job".into(),
                    object_id: id.clone(),
                    object_type: rec.object_type.clone(),
                    message: "This object is being processed by another active job.".into(),
                    fix_state: None,
                });
            }
        }
        let mut errors: Vec<ValidationError> = problems
            .into_iter()
            .map(|p| ValidationError {
                id: self.new_id("prjve_"),
                code: p.code,
                object_id: Some(p.object_id),
                object_type: Some(p.object_type),
                message: p.message,
                fix_state: p.fix_state,
            })
            .collect();
        if too_many {
            // Not about one object: `erroring_object` is null.
            errors.push(ValidationError {
                id: self.new_id("prjve_"),
                code: "too_many_objects".into(),
                object_id: None,
                object_type: None,
                message: format!(
                    "This job would redact more than {limit} objects. Cancel this job and reduce the number of IDs in the job's objects in a new job."
                ),
                fix_state: None,
            });
        }
        Found {
            reached,
            errors,
            holds,
        }
    }
}
