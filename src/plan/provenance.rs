//! Provenance: which jobs redactctl created, read from the audit log. A job with no audit
//! record of its create was made outside redactctl (the Dashboard, a script): the planner
//! shows acting on it as an adoption, never silently. The same map matches a job to its
//! entry by what its create asked for, since some kinds (`issuing_cards`) do not read back
//! in the job's `objects`.

use std::collections::BTreeMap;

use crate::apply::audit::AuditRecord;
use crate::kinds::ObjectRef;
use crate::observe::MissingObject;

/// Job id → the objects its create asked for (sorted, without duplicates), from every
/// successful or replayed `create` record. Records of other actions, failed creates and
/// creates with no job id are ignored. Pure: the caller reads the log (`read_log`) and
/// puts the result in `Live::created_by_redactctl`.
pub fn provenance_from_audit(records: &[AuditRecord]) -> BTreeMap<String, Vec<ObjectRef>> {
    let mut out: BTreeMap<String, Vec<ObjectRef>> = BTreeMap::new();
    for r in records {
        if r.action != "create" || !(r.outcome == "ok" || r.outcome == "replayed") {
            continue;
        }
        let Some(job) = r.job.as_ref().filter(|j| !j.is_empty()) else {
            continue;
        };
        let objects = out.entry(job.clone()).or_default();
        objects.extend(r.objects.iter().cloned());
        objects.sort();
        objects.dedup();
    }
    out
}

/// Objects Stripe said do not exist, from the audit log: for each `create` that Stripe
/// answered with a 4xx `resource_missing` error, the objects of that create whose id the
/// answer names (`No such customer: 'cus_…'`). A later successful create that covers an
/// object clears it (the object exists after all). Pure, like
/// [`provenance_from_audit`]; the caller puts the result in `Live::missing_objects`.
pub fn missing_from_audit(records: &[AuditRecord]) -> BTreeMap<String, MissingObject> {
    let mut out: BTreeMap<String, MissingObject> = BTreeMap::new();
    for r in records.iter().filter(|r| r.action == "create") {
        if r.outcome == "ok" || r.outcome == "replayed" {
            for o in &r.objects {
                out.remove(&o.id);
            }
            continue;
        }
        let refused_as_missing = r.is_answered_error()
            && r.http_status.is_some_and(|s| (400..500).contains(&s))
            && r.outcome.contains("resource_missing");
        if !refused_as_missing {
            continue;
        }
        let mut asked = r.objects.clone();
        asked.sort();
        asked.dedup();
        for o in &r.objects {
            if r.outcome.contains(&format!("'{}'", o.id)) {
                out.insert(
                    o.id.clone(),
                    MissingObject {
                        object: o.clone(),
                        asked: asked.clone(),
                        time: r.time.clone(),
                        request_id: r.request_id.clone(),
                    },
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::ObjectKind;

    fn record(
        action: &str,
        job: Option<&str>,
        outcome: &str,
        objects: &[ObjectRef],
    ) -> AuditRecord {
        AuditRecord {
            job: job.map(str::to_string),
            objects: objects.to_vec(),
            ..AuditRecord::sample(action, outcome)
        }
    }

    #[test]
    fn only_successful_creates_with_a_job_count() {
        let card = ObjectRef::new(ObjectKind::IssuingCards, "ic_1");
        let cus = ObjectRef::new(ObjectKind::Customers, "cus_1");
        let records = [
            record("create", Some("prj_1"), "ok", &[card.clone(), cus.clone()]),
            record(
                "create",
                Some("prj_2"),
                "replayed",
                std::slice::from_ref(&cus),
            ),
            record(
                "create",
                Some("prj_3"),
                "error: 400",
                std::slice::from_ref(&cus),
            ),
            record("create", None, "ok", std::slice::from_ref(&cus)),
            record("run", Some("prj_4"), "ok", std::slice::from_ref(&cus)),
        ];
        let map = provenance_from_audit(&records);
        assert_eq!(map.keys().collect::<Vec<_>>(), ["prj_1", "prj_2"]);
        let mut want = vec![card, cus];
        want.sort();
        assert_eq!(
            map["prj_1"], want,
            "what the create asked for, cards included"
        );
    }

    #[test]
    fn a_create_refused_as_resource_missing_names_the_missing_object_until_a_create_succeeds() {
        let gone = ObjectRef::new(ObjectKind::Customers, "cus_gone");
        let ok = ObjectRef::new(ObjectKind::Customers, "cus_ok");
        let both = [gone.clone(), ok.clone()];
        let mut refused = record(
            "create",
            None,
            "error: Stripe error (HTTP 400, invalid_request_error, code resource_missing, param objects[customers][0]): No such customer: 'cus_gone' [request req_1]",
            &both,
        );
        refused.http_status = Some(400);
        let mut other_400 = record(
            "create",
            None,
            "error: Stripe error (HTTP 400, invalid_request_error, code parameter_invalid): bad 'cus_ok'",
            &both,
        );
        other_400.http_status = Some(400);
        let map = missing_from_audit(&[refused.clone(), other_400]);
        assert_eq!(map.keys().collect::<Vec<_>>(), ["cus_gone"]);
        let mut want = both.to_vec();
        want.sort();
        assert_eq!(map["cus_gone"].asked, want);
        assert_eq!(map["cus_gone"].object, gone);
        // The object existed after all: a later create that covered it succeeded.
        let later = record("create", Some("prj_9"), "ok", std::slice::from_ref(&gone));
        assert!(missing_from_audit(&[refused, later]).is_empty());
    }
}
