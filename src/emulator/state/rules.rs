//! Validation rules: what a validation of a job's objects finds (problems of each
//! object, locks held by other jobs).

use super::super::graph::{ObjectRecord, Problem};
use super::jobs::ValidationError;
use super::{NsKey, World};

impl World {
    /// Validation problems of `roots` for job `job_id` (which is not its own blocker).
    pub(super) fn validate_roots(
        &mut self,
        key: &NsKey,
        job_id: &str,
        roots: &[String],
        now_ms: i64,
    ) -> (Vec<String>, Vec<ValidationError>) {
        let now = now_ms.div_euclid(1000);
        let ns = self.ns_mut(key);
        let reached = ns.reach(roots);
        let mut problems: Vec<Problem> = Vec::new();
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
                problems.push(Problem {
                    code: "locked_by_other_job".into(),
                    object_id: id.clone(),
                    object_type: rec.object_type.clone(),
                    message: "This object is being processed by another active job.".into(),
                    fix_state: None,
                });
            }
        }
        let errors = problems
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
        (reached, errors)
    }
}
