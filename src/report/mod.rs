//! Receipts for auditors: per entry, its ticket, deadline, objects, jobs, statuses, when
//! each step was done, the fixes applied and who approved, from the live state and the
//! audit log — and certified only as far as Stripe confirms each job in this run. Ids,
//! dates and timestamps only: no personal data (manifests hold none; the lint warns when a
//! name or ticket looks like it).

mod html;
pub mod provenance;
mod render;

use std::collections::BTreeMap;

use serde::Serialize;

pub use html::render_html;
pub use provenance::AuditLine;
pub use render::{render_csv, render_json, render_markdown};

use crate::deadline::{self, Extension};
use crate::manifest::{Desired, DesiredState};
use crate::observe::Live;
use crate::plan;
use crate::stripe::models::RedactionJob;

/// What a receipt entry's job is at Stripe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    RedactionJob,
    VerificationSession,
}

/// One job (or verification session) of an entry, with its steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptJob {
    pub id: String,
    pub kind: JobKind,
    /// As Stripe gives it in this run (`unknown` when Stripe does not know the job).
    pub status: String,
    /// Objects the job names (ids only).
    pub objects: Vec<String>,
    /// Unix time Stripe gives as the job's creation, when known.
    pub created: Option<i64>,
    /// Whether Stripe confirmed the job in this run (a job is retrieved; a session is
    /// observed). An unconfirmed job is shown, never certified.
    pub confirmed: bool,
    /// Why it is not confirmed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unconfirmed_reason: Option<String>,
    /// Each write the audit log records for this job: (action, time, outcome, request id).
    pub steps: Vec<ReceiptStep>,
}

/// One recorded write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptStep {
    pub action: String,
    pub time: String,
    pub outcome: String,
    pub request_id: Option<String>,
}

/// The entry's deadline as the manifest declares it, with the due date it gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptDeadline {
    pub regulation: Option<String>,
    /// `YYYY-MM-DD`.
    pub received: Option<String>,
    /// The due date before any extension; `None` when the fields give none.
    pub due: Option<String>,
    pub extension: Option<Extension>,
}

/// When the entry's redaction was completed, and whether that met its due date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptCompletion {
    /// The succeeded job that completed the entry (the last one, when several).
    pub job: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// Where `at` comes from. Stripe's job object carries no completion time, so it is the
    /// audit log's time of the last write Stripe accepted for that job (its `run`): the
    /// job succeeded at or after it.
    pub source: String,
    /// The date that counted (extension included), when the entry has one.
    pub due: Option<String>,
    /// Completed after the due date.
    pub late: bool,
    pub days_late: i64,
}

/// The source of [`ReceiptCompletion::at`], as receipts name it.
pub const COMPLETED_AT_SOURCE: &str = "audit log: last write Stripe accepted for the succeeded job (Stripe's job object has no completion time)";

/// One entry's receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    pub entry: String,
    pub ticket: Option<String>,
    /// What the manifest asks for: `redacted`, `validated` or `canceled`.
    pub desired: DesiredState,
    pub objects: Vec<String>,
    /// Declared objects redacted so far.
    pub redacted: usize,
    /// Where the entry stands, in the words `status` uses ([`plan::Outcome::label`]): the
    /// planner's classification, so that a receipt never disagrees with `plan` or `status`.
    pub state: String,
    /// Every job of the receipt was confirmed by Stripe in this run.
    pub certified: bool,
    pub deadline: Option<ReceiptDeadline>,
    /// Set once a confirmed job succeeded for an entry that asks for `redacted`.
    pub completion: Option<ReceiptCompletion>,
    /// The fixes Stripe applied, as the audit records name them.
    pub fixes: Vec<String>,
    /// Who approved the writes, as the audit records name them (in order, no repeats).
    pub approved_by: Vec<String>,
    /// The jobs (or sessions) the planner counts as the entry's, then those the audit log
    /// records for it.
    pub jobs: Vec<ReceiptJob>,
    /// SHA-256 (hex) of each audit log line this receipt used, in log order.
    pub audit_records: Vec<String>,
}

/// Receipts with what they all share: the account, mode and manifests' commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipts {
    /// The key's account (as Stripe says), else the manifests'.
    pub account: Option<String>,
    /// `test` or `live`.
    pub mode: String,
    /// Git commit of the manifests; `None` when it could not be told.
    pub commit: Option<String>,
    pub receipts: Vec<Receipt>,
}

impl Receipts {
    /// Receipts with a job Stripe did not confirm: the command must not succeed.
    pub fn unconfirmed(&self) -> impl Iterator<Item = &Receipt> {
        self.receipts.iter().filter(|r| !r.certified)
    }
}

/// Builds receipts from what the manifests declare, what Stripe holds and what was done.
/// Which jobs belong to an entry, and where it stands, is the planner's decision. Jobs are
/// not yet confirmed: see [`certify`].
pub fn receipts(desired: &Desired, live: &Live, audit: &[AuditLine]) -> Vec<Receipt> {
    let mut steps_by_target: BTreeMap<&str, Vec<ReceiptStep>> = BTreeMap::new();
    // A write's intent line precedes its outcome line; the receipt shows what came of it.
    for l in audit
        .iter()
        .filter(|l| l.record.outcome != crate::apply::audit::INTENT)
    {
        let r = &l.record;
        if let Some(job) = r.job.as_deref() {
            steps_by_target.entry(job).or_default().push(ReceiptStep {
                action: r.action.clone(),
                time: r.time.clone(),
                outcome: r.outcome.clone(),
                request_id: r.request_id.clone(),
            });
        }
    }
    let steps = |id: &str| steps_by_target.get(id).cloned().unwrap_or_default();
    let classified = plan::plan(desired, live, &plan::Options::default());
    classified
        .entries
        .iter()
        .map(|entry| {
            let declared = desired.entry(&entry.name);
            let objects: Vec<String> = declared
                .map(|e| e.objects.iter().map(|o| o.id.clone()).collect())
                .unwrap_or_default();
            let jobs: Vec<ReceiptJob> = entry
                .jobs
                .iter()
                .map(|job| ReceiptJob {
                    id: job.id.clone(),
                    kind: JobKind::RedactionJob,
                    status: job.status.to_string(),
                    objects: job.objects.iter().map(|o| o.id.clone()).collect(),
                    created: Some(job.created),
                    confirmed: false,
                    unconfirmed_reason: None,
                    steps: steps(&job.id),
                })
                .chain(entry.sessions.iter().map(|session| {
                    let status = match (&session.redaction, &session.status) {
                        (Some(r), _) => format!("redaction {r}"),
                        (None, Some(s)) => s.to_string(),
                        (None, None) => "not found".to_string(),
                    };
                    let observed = live.sessions.get(&session.id);
                    ReceiptJob {
                        id: session.id.clone(),
                        kind: JobKind::VerificationSession,
                        status,
                        objects: vec![session.id.clone()],
                        created: observed.map(|s| s.created).filter(|c| *c > 0),
                        // Sessions are read from Stripe by id in every observation.
                        confirmed: observed.is_some(),
                        unconfirmed_reason: observed
                            .is_none()
                            .then(|| "Stripe does not know this verification session".into()),
                        steps: steps(&session.id),
                    }
                }))
                .chain(recorded_elsewhere(entry, live, audit, &steps))
                .collect();
            let used = records_of(&entry.name, &jobs, audit);
            Receipt {
                entry: entry.name.clone(),
                ticket: entry.ticket.clone(),
                desired: entry.state,
                objects,
                redacted: entry.redacted.len(),
                state: entry.state_text(),
                certified: false,
                deadline: declared.and_then(|e| receipt_deadline(&e.deadline)),
                completion: None,
                fixes: dedup(used.iter().flat_map(|l| l.fixes.iter().cloned())),
                approved_by: dedup(used.iter().filter_map(|l| l.approved_by.clone())),
                jobs,
                audit_records: used.iter().map(|l| l.digest.clone()).collect(),
            }
        })
        .collect()
}

/// Marks each job as Stripe confirmed it in this run (`confirmed`: job id → the job
/// retrieved now, or `None` for a 404), takes its status from Stripe, then certifies each
/// receipt whose jobs were all confirmed and works out its completion against its due date.
pub fn certify(
    receipts: &mut [Receipt],
    desired: &Desired,
    audit: &[AuditLine],
    confirmed: &BTreeMap<String, Option<RedactionJob>>,
) {
    for receipt in receipts.iter_mut() {
        for job in receipt
            .jobs
            .iter_mut()
            .filter(|j| j.kind == JobKind::RedactionJob)
        {
            match confirmed.get(&job.id) {
                Some(Some(found)) => {
                    job.status = found.status.to_string();
                    job.created = Some(found.created);
                    job.confirmed = true;
                    job.unconfirmed_reason = None;
                }
                Some(None) => {
                    job.status = "unknown".to_string();
                    job.confirmed = false;
                    job.unconfirmed_reason =
                        Some("Stripe does not know this job (404 in this run)".to_string());
                }
                None => {
                    job.confirmed = false;
                    job.unconfirmed_reason =
                        Some("not retrieved from Stripe in this run".to_string());
                }
            }
        }
        receipt.certified = receipt.jobs.iter().all(|j| j.confirmed);
        let spec = desired
            .entry(&receipt.entry)
            .map(|e| e.deadline.clone())
            .unwrap_or_default();
        receipt.completion = completion(receipt, &spec, audit);
    }
}

/// The entry's completion: the last confirmed `succeeded` job of an entry that asks for
/// `redacted`, at the time of the last write Stripe accepted for it.
fn completion(
    receipt: &Receipt,
    spec: &deadline::DeadlineSpec,
    audit: &[AuditLine],
) -> Option<ReceiptCompletion> {
    if receipt.desired != DesiredState::Redacted {
        return None;
    }
    receipt
        .jobs
        .iter()
        .filter(|j| j.confirmed && j.kind == JobKind::RedactionJob && j.status == "succeeded")
        .filter_map(|j| {
            let (time, at) = audit
                .iter()
                .filter(|l| l.record.job.as_deref() == Some(j.id.as_str()))
                .filter(|l| matches!(l.record.outcome.as_str(), "ok" | "replayed"))
                .filter_map(|l| unix_of(&l.record.time).map(|t| (l.record.time.clone(), t)))
                .max_by_key(|(_, t)| *t)?;
            Some((j.id.clone(), time, at))
        })
        .max_by_key(|(_, _, at)| *at)
        .map(|(job, time, at)| {
            let done = deadline::completion_of(spec, at);
            ReceiptCompletion {
                job,
                at: time,
                source: COMPLETED_AT_SOURCE.to_string(),
                due: done.as_ref().map(|c| c.due.to_string()),
                late: done.as_ref().is_some_and(|c| c.late),
                days_late: done.map(|c| c.days_late).unwrap_or(0),
            }
        })
}

/// Unix seconds of an RFC 3339 time as the audit log writes it.
fn unix_of(time: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339(time).ok()?;
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(secs).ok()
}

fn receipt_deadline(spec: &deadline::DeadlineSpec) -> Option<ReceiptDeadline> {
    if spec.is_empty() {
        return None;
    }
    let due = deadline::deadline(spec).map(|d| d.due);
    Some(ReceiptDeadline {
        regulation: spec.regulation.map(|r| r.to_string()),
        received: spec.received.map(|d| d.to_string()),
        due: due.map(|d| d.to_string()),
        extension: spec.extension.clone(),
    })
}

/// The audit lines about an entry: written for it, or about one of its jobs.
fn records_of<'a>(entry: &str, jobs: &[ReceiptJob], audit: &'a [AuditLine]) -> Vec<&'a AuditLine> {
    audit
        .iter()
        .filter(|l| {
            l.record.entry.as_deref() == Some(entry)
                || l.record
                    .job
                    .as_deref()
                    .is_some_and(|id| jobs.iter().any(|j| j.id == id))
        })
        .collect()
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Jobs the audit log says redactctl wrote for `entry` that the planner does not list
/// (canceled ones, which it omits, and ones Stripe does not know): an auditor still sees
/// what was done and how it ended — or that Stripe cannot confirm it.
fn recorded_elsewhere(
    entry: &plan::EntryPlan,
    live: &Live,
    audit: &[AuditLine],
    steps: &dyn Fn(&str) -> Vec<ReceiptStep>,
) -> Vec<ReceiptJob> {
    let listed = |id: &str| {
        entry.jobs.iter().any(|j| j.id == id) || entry.sessions.iter().any(|s| s.id == id)
    };
    let mut ids: Vec<&str> = audit
        .iter()
        .filter(|l| l.record.entry.as_deref() == Some(entry.name.as_str()))
        .filter_map(|l| l.record.job.as_deref())
        .filter(|id| !listed(id) && !live.sessions.contains_key(*id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .map(|id| match live.jobs.iter().find(|j| j.id == id) {
            Some(job) => ReceiptJob {
                id: job.id.clone(),
                kind: JobKind::RedactionJob,
                status: job.status.to_string(),
                objects: job.object_refs().iter().map(|o| o.id.clone()).collect(),
                created: Some(job.created),
                confirmed: false,
                unconfirmed_reason: None,
                steps: steps(&job.id),
            },
            None => ReceiptJob {
                id: id.to_string(),
                kind: JobKind::RedactionJob,
                status: "unknown".to_string(),
                objects: objects_recorded(id, audit),
                created: None,
                confirmed: false,
                unconfirmed_reason: None,
                steps: steps(id),
            },
        })
        .collect()
}

/// The objects the audit log says a job was written for (ids only).
fn objects_recorded(job: &str, audit: &[AuditLine]) -> Vec<String> {
    let mut ids: Vec<String> = audit
        .iter()
        .filter(|l| l.record.job.as_deref() == Some(job))
        .flat_map(|l| l.record.objects.iter().map(|o| o.id.clone()))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The ids of every Stripe redaction job the receipts name: what must be confirmed.
pub fn job_ids(receipts: &[Receipt]) -> Vec<String> {
    let mut ids: Vec<String> = receipts
        .iter()
        .flat_map(|r| r.jobs.iter())
        .filter(|j| j.kind == JobKind::RedactionJob)
        .map(|j| j.id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}
