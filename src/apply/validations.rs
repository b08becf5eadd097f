//! When redactctl last asked Stripe to validate each job, read from the audit log: the
//! planner tells a risk-period error from before the period ended from a later one with
//! it, and `reconcile --revalidate-every` paces revalidations by it. The audit log is the
//! reliable source: it is appended before every write and never rewritten by redactctl, so
//! a revalidation it records cannot be forgotten and repeated in a loop.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use super::audit::AuditRecord;
use crate::observe::Live;

/// Job id → the time of its last `validate` that Stripe accepted (or replayed), on the
/// clock `live` was observed by.
///
/// The audit log holds the local clock's times while `live.observed_at` is Stripe's (its
/// `Date` header): each time is moved by the difference between the two clocks now, so
/// that the planner compares times of one clock. Should the difference grow (a clock
/// jumped ahead since), a validation looks more recent than it was: a revalidation comes
/// later, never twice.
pub fn validated_at_on_stripes_clock(
    records: &[AuditRecord],
    live: &Live,
) -> BTreeMap<String, i64> {
    let local_now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let skew = live.observed_at.saturating_sub(local_now);
    validated_at(records)
        .into_iter()
        .map(|(job, t)| (job, t.saturating_add(skew)))
        .collect()
}

/// When each job was last validated, on the local clock of the audit records.
pub fn validated_at(records: &[AuditRecord]) -> BTreeMap<String, i64> {
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for r in records {
        if r.action != "validate" || !(r.outcome == "ok" || r.outcome == "replayed") {
            continue;
        }
        let (Some(job), Some(t)) = (r.job.as_ref(), r.unix_time()) else {
            continue;
        };
        let last = out.entry(job.clone()).or_insert(t);
        *last = (*last).max(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(action: &str, job: &str, time: &str, outcome: &str) -> AuditRecord {
        AuditRecord {
            time: time.into(),
            job: Some(job.into()),
            ..AuditRecord::sample(action, outcome)
        }
    }

    #[test]
    fn the_last_accepted_validate_of_each_job_counts() {
        let records = [
            record("validate", "prj_1", "2026-11-01T00:00:00Z", "ok"),
            record("validate", "prj_1", "2026-11-03T00:00:00Z", "replayed"),
            record("validate", "prj_1", "2026-11-05T00:00:00Z", "intent"),
            record("validate", "prj_1", "2026-11-06T00:00:00Z", "error"),
            record("run", "prj_2", "2026-11-04T00:00:00Z", "ok"),
        ];
        let map = validated_at(&records);
        assert_eq!(map.get("prj_1"), Some(&1_793_664_000));
        assert_eq!(map.get("prj_2"), None);
    }
}
