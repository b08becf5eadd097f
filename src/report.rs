//! Receipts for auditors: per entry, its ticket, objects, jobs, statuses and when each
//! step was done, from the live state and the audit log. Ids and timestamps only — no
//! personal data (manifests hold none; the lint warns when a name or ticket looks like it).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::apply::audit::AuditRecord;
use crate::manifest::{Desired, Via};
use crate::observe::Live;

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
    pub objects: Vec<String>,
    /// `redacted` when every object is covered by a succeeded job or redacted session.
    pub state: String,
    pub jobs: Vec<ReceiptJob>,
}

/// Builds receipts from what the manifests declare, what Stripe holds and what was done.
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
    desired
        .entries
        .iter()
        .map(|entry| {
            let declared: Vec<String> = entry.objects.iter().map(|o| o.id.clone()).collect();
            let mut jobs = Vec::new();
            let mut redacted = std::collections::BTreeSet::new();
            match entry.via {
                Via::RedactionJob => {
                    for job in &live.jobs {
                        let refs = job.object_refs();
                        if !refs.iter().any(|o| entry.objects.contains(o)) {
                            continue;
                        }
                        if job.status == crate::stripe::models::JobStatus::Succeeded {
                            redacted.extend(refs.iter().map(|o| o.id.clone()));
                        }
                        jobs.push(ReceiptJob {
                            id: job.id.clone(),
                            status: job.status.to_string(),
                            objects: refs.iter().map(|o| o.id.clone()).collect(),
                            created: Some(job.created),
                            steps: steps_by_target
                                .get(job.id.as_str())
                                .cloned()
                                .unwrap_or_default(),
                        });
                    }
                }
                Via::IdentityRedact => {
                    for object in &entry.objects {
                        let Some(session) = live.sessions.get(&object.id) else {
                            continue;
                        };
                        let status = session
                            .redaction
                            .as_ref()
                            .map(|r| format!("redaction {}", r.status))
                            .unwrap_or_else(|| session.status.to_string());
                        if session
                            .redaction
                            .as_ref()
                            .is_some_and(|r| r.status.as_str() == "redacted")
                        {
                            redacted.insert(object.id.clone());
                        }
                        jobs.push(ReceiptJob {
                            id: session.id.clone(),
                            status,
                            objects: vec![session.id.clone()],
                            created: Some(session.created).filter(|c| *c > 0),
                            steps: steps_by_target
                                .get(session.id.as_str())
                                .cloned()
                                .unwrap_or_default(),
                        });
                    }
                }
            }
            let state = if declared.iter().all(|o| redacted.contains(o)) {
                "redacted"
            } else if jobs.is_empty() {
                "not started"
            } else {
                "in progress"
            };
            Receipt {
                entry: entry.name.clone(),
                ticket: entry.ticket.clone(),
                objects: declared,
                state: state.into(),
                jobs,
            }
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
