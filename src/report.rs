//! Receipts for auditors: per entry, its ticket, objects, jobs, statuses and when each
//! step was done, from the live state and the audit log. Ids and timestamps only — no
//! personal data (manifests hold none; the lint warns when a name or ticket looks like it).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::apply::audit::AuditRecord;
use crate::manifest::{Desired, DesiredState};
use crate::observe::Live;
use crate::plan;

/// One job (or verification session) of an entry, with its steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptJob {
    pub id: String,
    pub status: String,
    /// Objects the job names (ids only).
    pub objects: Vec<String>,
    /// Unix time Stripe gives as the job's creation, when known.
    pub created: Option<i64>,
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
    /// The jobs (or sessions) the planner counts as the entry's.
    pub jobs: Vec<ReceiptJob>,
}

/// Builds receipts from what the manifests declare, what Stripe holds and what was done.
/// Which jobs belong to an entry, and where it stands, is the planner's decision.
pub fn receipts(desired: &Desired, live: &Live, audit: &[AuditRecord]) -> Vec<Receipt> {
    let mut steps_by_target: BTreeMap<&str, Vec<ReceiptStep>> = BTreeMap::new();
    // A write's intent line precedes its outcome line; the receipt shows what came of it.
    for r in audit
        .iter()
        .filter(|r| r.outcome != crate::apply::audit::INTENT)
    {
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
            let declared: Vec<String> = desired
                .entry(&entry.name)
                .map(|e| e.objects.iter().map(|o| o.id.clone()).collect())
                .unwrap_or_default();
            let jobs = entry
                .jobs
                .iter()
                .map(|job| ReceiptJob {
                    id: job.id.clone(),
                    status: job.status.to_string(),
                    objects: job.objects.iter().map(|o| o.id.clone()).collect(),
                    created: Some(job.created),
                    steps: steps(&job.id),
                })
                .chain(entry.sessions.iter().map(|session| {
                    let status = match (&session.redaction, &session.status) {
                        (Some(r), _) => format!("redaction {r}"),
                        (None, Some(s)) => s.to_string(),
                        (None, None) => "not found".to_string(),
                    };
                    ReceiptJob {
                        id: session.id.clone(),
                        status,
                        objects: vec![session.id.clone()],
                        created: live
                            .sessions
                            .get(&session.id)
                            .map(|s| s.created)
                            .filter(|c| *c > 0),
                        steps: steps(&session.id),
                    }
                }))
                .chain(recorded_elsewhere(entry, live, audit, &steps))
                .collect();
            Receipt {
                entry: entry.name.clone(),
                ticket: entry.ticket.clone(),
                desired: entry.state,
                objects: declared,
                redacted: entry.redacted.len(),
                state: entry.outcome.label().to_string(),
                jobs,
            }
        })
        .collect()
}

/// Jobs the audit log says redactctl wrote for `entry` that the planner no longer lists
/// (canceled ones, which it omits): an auditor still sees what was done and how it ended.
fn recorded_elsewhere(
    entry: &plan::EntryPlan,
    live: &Live,
    audit: &[AuditRecord],
    steps: &dyn Fn(&str) -> Vec<ReceiptStep>,
) -> Vec<ReceiptJob> {
    let listed = |id: &str| {
        entry.jobs.iter().any(|j| j.id == id) || entry.sessions.iter().any(|s| s.id == id)
    };
    let mut ids: Vec<&str> = audit
        .iter()
        .filter(|r| r.entry.as_deref() == Some(entry.name.as_str()))
        .filter_map(|r| r.job.as_deref())
        .filter(|id| !listed(id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .filter_map(|id| live.jobs.iter().find(|j| j.id == id))
        .map(|job| ReceiptJob {
            id: job.id.clone(),
            status: job.status.to_string(),
            objects: job.object_refs().iter().map(|o| o.id.clone()).collect(),
            created: Some(job.created),
            steps: steps(&job.id),
        })
        .collect()
}

/// JSON: `{"format_version": 1, "receipts": [...]}`.
pub fn render_json(receipts: &[Receipt]) -> String {
    let doc = serde_json::json!({ "format_version": 1, "receipts": receipts });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// CSV: one row per job step (or per job without steps), spreadsheet-friendly.
pub fn render_csv(receipts: &[Receipt]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "entry",
        "ticket",
        "state",
        "job",
        "job_status",
        "job_created",
        "objects",
        "step",
        "step_time",
        "step_outcome",
        "request_id",
    ])?;
    for r in receipts {
        let ticket = r.ticket.clone().unwrap_or_default();
        if r.jobs.is_empty() {
            w.write_record([
                r.entry.as_str(),
                &ticket,
                &r.state,
                "",
                "",
                "",
                &r.objects.join(" "),
                "",
                "",
                "",
                "",
            ])?;
        }
        for j in &r.jobs {
            let created = j.created.map(|c| c.to_string()).unwrap_or_default();
            let objects = j.objects.join(" ");
            if j.steps.is_empty() {
                w.write_record([
                    r.entry.as_str(),
                    &ticket,
                    &r.state,
                    &j.id,
                    &j.status,
                    &created,
                    &objects,
                    "",
                    "",
                    "",
                    "",
                ])?;
            }
            for s in &j.steps {
                w.write_record([
                    r.entry.as_str(),
                    &ticket,
                    &r.state,
                    &j.id,
                    &j.status,
                    &created,
                    &objects,
                    &s.action,
                    &s.time,
                    &s.outcome,
                    s.request_id.as_deref().unwrap_or(""),
                ])?;
            }
        }
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Markdown: a summary table, then each entry's jobs and steps.
pub fn render_markdown(receipts: &[Receipt]) -> String {
    let mut out = String::from(
        "# Redaction receipts\n\n| entry | ticket | state | jobs |\n| --- | --- | --- | --- |\n",
    );
    for r in receipts {
        let jobs: Vec<String> = r
            .jobs
            .iter()
            .map(|j| format!("`{}` {}", j.id, j.status))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            r.entry,
            r.ticket.as_deref().unwrap_or(""),
            r.state,
            jobs.join(", ")
        );
    }
    for r in receipts {
        let _ = writeln!(out, "\n## {}", r.entry);
        if let Some(t) = &r.ticket {
            let _ = writeln!(out, "\nTicket: {t}");
        }
        let _ = writeln!(
            out,
            "\nObjects: {}",
            r.objects
                .iter()
                .map(|o| format!("`{o}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for j in &r.jobs {
            let _ = writeln!(
                out,
                "\n- `{}` — {} (objects: {})",
                j.id,
                j.status,
                j.objects.join(", ")
            );
            for s in &j.steps {
                let rid = s
                    .request_id
                    .as_deref()
                    .map(|r| format!(", request {r}"))
                    .unwrap_or_default();
                let _ = writeln!(out, "  - {} at {}: {}{rid}", s.action, s.time, s.outcome);
            }
        }
    }
    out
}
