//! Reading provenance for an observation: which live jobs redactctl created, from the audit
//! log on disk. The pure part is `plan::provenance_from_audit` (completed creates); this
//! adds the creates whose intent was recorded but whose outcome never was (a crash after
//! the request was sent) or was no answer (a dropped connection, a 5xx that may have been
//! applied), so that such a job does not look made outside redactctl.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::audit::{is_fact_record, read_log, AuditLog, AuditRecord, INTENT};
use crate::kinds::ObjectRef;
use crate::observe::{Live, MissingObject};
use crate::plan::{missing_from_audit, provenance_from_audit};

/// Job id → objects its create asked for; `None` when there is no audit log at `path` (or
/// it cannot be read): the planner then cannot tell outside jobs from its own. Runs use
/// [`add_audit_facts`] or [`ProvenanceIndex`]; tests compare them with this.
#[cfg(test)]
pub fn provenance_for(path: &Path, live: &Live) -> Option<BTreeMap<String, Vec<ObjectRef>>> {
    if !path.is_file() {
        return None;
    }
    let (records, _bad) = read_log(path).ok()?;
    Some(provenance_with_intents(&records, live))
}

/// Audit facts kept in memory for a run: the log's `create` and `validate` records are read
/// from disk once,
/// and those the run appends are taken from the [`AuditLog`] that wrote them, so that an
/// observation does not re-read a log that grows with every write.
#[derive(Debug, Default)]
pub struct ProvenanceIndex {
    /// `None`: there was no readable log (the planner then cannot tell outside jobs from
    /// its own).
    records: Option<Vec<AuditRecord>>,
    /// How many of the log handle's own records are in `records` already.
    taken: usize,
}

impl ProvenanceIndex {
    /// Reads the records of the log `log` writes to that the facts come from (the handle's
    /// own records so far are in the file already).
    pub fn load(log: &AuditLog) -> ProvenanceIndex {
        let path = log.path();
        let records = path
            .is_file()
            .then(|| read_log(path).ok())
            .flatten()
            .map(|(records, _bad)| records.into_iter().filter(is_fact_record).collect());
        ProvenanceIndex {
            records,
            taken: log.facts_written().len(),
        }
    }

    /// Takes the fact records `log` appended since the last call.
    pub fn catch_up(&mut self, log: &AuditLog) {
        let written = log.facts_written();
        let new = written.get(self.taken..).unwrap_or_default();
        if let Some(records) = &mut self.records {
            records.extend(new.iter().cloned());
        }
        self.taken = written.len();
    }

    /// Job id → objects its create asked for, as [`provenance_for`] would read it now.
    #[cfg(test)]
    pub fn provenance(&self, live: &Live) -> Option<BTreeMap<String, Vec<ObjectRef>>> {
        self.records
            .as_ref()
            .map(|records| provenance_with_intents(records, live))
    }

    /// The facts for `live`, as [`add_audit_facts`] would read them from the file now.
    pub fn facts(&self, live: &Live) -> AuditFacts {
        AuditFacts::of(live, self.records.as_deref())
    }
}

/// [`provenance_from_audit`], plus: for each `create` intent with no outcome record of the
/// same idempotency key, a live job whose object set equals the intent's objects and that
/// was created at or after the intent's time counts as created by redactctl.
pub fn provenance_with_intents(
    records: &[AuditRecord],
    live: &Live,
) -> BTreeMap<String, Vec<ObjectRef>> {
    let mut out = provenance_from_audit(records);
    // Keys whose request is known to have made no job beyond what `provenance_from_audit`
    // saw: a success (its job is recorded) or an error Stripe answered with a 4xx (nothing
    // was created). No answer, a dropped connection or a 5xx may have created the job.
    let answered: HashSet<&str> = records
        .iter()
        .filter(|r| {
            r.outcome == "ok"
                || r.outcome == "replayed"
                || (r.is_answered_error() && r.http_status.is_some_and(|s| s < 500))
        })
        .map(|r| r.idempotency_key.as_str())
        .collect();
    for intent in records.iter().filter(|r| {
        r.action == "create"
            && r.outcome == INTENT
            && !answered.contains(r.idempotency_key.as_str())
    }) {
        let Some(since) = intent.unix_time() else {
            continue;
        };
        let mut asked = intent.objects.clone();
        asked.sort();
        asked.dedup();
        for job in &live.jobs {
            if out.contains_key(&job.id) || job.created < since {
                continue;
            }
            let mut objects = job.object_refs();
            objects.sort();
            objects.dedup();
            if objects == asked {
                out.insert(job.id.clone(), asked.clone());
            }
        }
    }
    out
}

/// Puts what the audit log at `path` tells the planner into `live`: which jobs redactctl
/// created (job id → the objects its create asked for; `None` without a readable log) and which objects a
/// create was refused for as not existing ([`missing_from_audit`]), and when redactctl last
/// validated each job ([`super::validations::validated_at`]). The log is read once.
pub fn add_audit_facts(live: &mut Live, path: &Path) {
    let records = path
        .is_file()
        .then(|| read_log(path).ok())
        .flatten()
        .map(|(records, _bad)| records);
    AuditFacts::of(live, records.as_deref()).put_into(live);
}

/// What the audit log tells the planner, computed from records already read (`None`: no
/// readable log) against the jobs of `live`.
pub struct AuditFacts {
    created_by_redactctl: Option<BTreeMap<String, Vec<ObjectRef>>>,
    missing_objects: BTreeMap<String, MissingObject>,
    validated_at: BTreeMap<String, i64>,
}

impl AuditFacts {
    /// The facts from `records`; provenance needs `live`'s jobs (an unanswered create
    /// claims the job made after it) and its clock (validations are moved onto Stripe's).
    pub fn of(live: &Live, records: Option<&[AuditRecord]>) -> AuditFacts {
        match records {
            Some(records) => AuditFacts {
                created_by_redactctl: Some(provenance_with_intents(records, live)),
                missing_objects: missing_from_audit(records),
                validated_at: super::validations::validated_at_on_stripes_clock(records, live),
            },
            None => AuditFacts {
                created_by_redactctl: None,
                missing_objects: BTreeMap::new(),
                validated_at: BTreeMap::new(),
            },
        }
    }

    /// Replaces what `live` knew from the log: the facts are read whole each time, never
    /// merged, so a fact the log no longer supports does not linger.
    pub fn put_into(self, live: &mut Live) {
        live.created_by_redactctl = self.created_by_redactctl;
        live.missing_objects = self.missing_objects;
        live.validated_at = self.validated_at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::ObjectKind;
    use crate::stripe::models::RedactionJob;

    fn record(outcome: &str, key: &str, objects: &[ObjectRef]) -> AuditRecord {
        AuditRecord {
            objects: objects.to_vec(),
            idempotency_key: key.into(),
            http_status: None,
            ..AuditRecord::sample("create", outcome)
        }
    }

    fn job(id: &str, created: i64, customer: &str) -> RedactionJob {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "object": "privacy.redaction_job",
            "created": created,
            "status": "validating",
            "validation_behavior": "error",
            "livemode": false,
            "objects": {"customers": [customer]}
        }))
        .unwrap_or_else(|e| panic!("job fixture: {e}"))
    }

    /// The in-memory index says what reading the whole log would say, after the run
    /// appended more records, without reading the file again.
    #[test]
    fn the_index_follows_the_log_without_rereading_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("audit.jsonl");
        let cus = |id: &str| ObjectRef {
            kind: ObjectKind::Customers,
            id: id.into(),
        };
        let done = |job: &str, key: &str, customer: &str| {
            let mut r = record("ok", key, &[cus(customer)]);
            r.job = Some(job.into());
            r
        };
        let live = Live {
            jobs: vec![job("prj_a", 1, "cus_a"), job("prj_b", 2, "cus_b")],
            ..Live::default()
        };
        let mut log = AuditLog::open(&path).unwrap_or_else(|e| panic!("open: {e}"));
        log.append(&done("prj_a", "ka", "cus_a"))
            .unwrap_or_else(|e| panic!("append: {e}"));
        let mut index = ProvenanceIndex::load(&log);
        log.append(&done("prj_b", "kb", "cus_b"))
            .unwrap_or_else(|e| panic!("append: {e}"));
        index.catch_up(&log);
        let from_memory = index.provenance(&live);
        assert_eq!(from_memory, provenance_for(&path, &live));
        let known = from_memory.unwrap_or_default();
        assert!(known.contains_key("prj_a") && known.contains_key("prj_b"));
        // The file is not read again: what it gains from elsewhere is not seen.
        std::fs::remove_file(&path).unwrap_or_else(|e| panic!("remove: {e}"));
        index.catch_up(&log);
        assert_eq!(index.provenance(&live).map(|m| m.len()), Some(2));
    }

    #[test]
    fn an_unanswered_create_intent_claims_the_job_made_after_it() {
        let cus = ObjectRef {
            kind: ObjectKind::Customers,
            id: "cus_1".into(),
        };
        let at = record(INTENT, "k1", &[]).unix_time().unwrap_or_default();
        let live = Live {
            jobs: vec![
                job("prj_before", at - 60, "cus_1"),
                job("prj_after", at + 1, "cus_1"),
                job("prj_other", at + 1, "cus_2"),
            ],
            ..Live::default()
        };
        let map =
            provenance_with_intents(&[record(INTENT, "k1", std::slice::from_ref(&cus))], &live);
        assert!(map.contains_key("prj_after"));
        assert!(!map.contains_key("prj_before"), "made before the intent");
        assert!(!map.contains_key("prj_other"), "other objects");

        // An intent Stripe refused (4xx) made no job.
        let mut refused = record("error: 400", "k1", std::slice::from_ref(&cus));
        refused.http_status = Some(400);
        let answered = [record(INTENT, "k1", std::slice::from_ref(&cus)), refused];
        assert!(provenance_with_intents(&answered, &live).is_empty());
        // A dropped connection may have created it.
        let dropped = [
            record(INTENT, "k1", std::slice::from_ref(&cus)),
            record("error: connection closed", "k1", &[cus]),
        ];
        assert!(provenance_with_intents(&dropped, &live).contains_key("prj_after"));
    }
}
