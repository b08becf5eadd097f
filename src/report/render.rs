//! Receipts as JSON (for tools), CSV (for spreadsheets) and Markdown (for people and
//! tickets). Every format carries the same facts.

use std::fmt::Write;

use super::{Receipt, ReceiptJob, Receipts};

/// JSON: `{"format_version": 2, "account", "mode", "commit", "receipts": [...]}`.
pub fn render_json(doc: &Receipts) -> String {
    let doc = serde_json::json!({
        "format_version": 2,
        "account": doc.account,
        "mode": doc.mode,
        "commit": doc.commit,
        "receipts": doc.receipts,
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// "completed on time", "completed late (3 days after 2026-01-01)", or "" when the
/// entry is not completed.
pub(super) fn completion_phrase(r: &Receipt) -> String {
    match &r.completion {
        None => String::new(),
        Some(c) if c.late => format!(
            "completed late ({} day{} after {})",
            c.days_late,
            if c.days_late == 1 { "" } else { "s" },
            c.due.as_deref().unwrap_or("the due date")
        ),
        Some(c) if c.due.is_some() => "completed on time".to_string(),
        Some(_) => "completed (no due date)".to_string(),
    }
}

/// "confirmed by Stripe" or "unconfirmed: <reason>".
pub(super) fn confirmation(j: &ReceiptJob) -> String {
    if j.confirmed {
        "confirmed by Stripe".to_string()
    } else {
        format!(
            "unconfirmed: {}",
            j.unconfirmed_reason.as_deref().unwrap_or("not confirmed")
        )
    }
}

/// CSV: one row per job step (or per job without steps, or per entry without jobs), each
/// row carrying its entry's deadline, completion, fixes, approvers and the shared account,
/// mode and commit, so that any row read alone is complete.
pub fn render_csv(doc: &Receipts) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "entry",
        "ticket",
        "state",
        "certified",
        "regulation",
        "received",
        "due",
        "extended_until",
        "completed_at",
        "completed_late",
        "fixes",
        "approved_by",
        "account",
        "mode",
        "commit",
        "job",
        "job_status",
        "job_confirmed",
        "job_created",
        "objects",
        "step",
        "step_time",
        "step_outcome",
        "request_id",
        "audit_records",
    ])?;
    let account = doc.account.clone().unwrap_or_default();
    let commit = doc.commit.clone().unwrap_or_default();
    for r in &doc.receipts {
        let d = r.deadline.as_ref();
        let entry_cols: Vec<String> = vec![
            r.entry.clone(),
            r.ticket.clone().unwrap_or_default(),
            r.state.clone(),
            if r.certified { "yes" } else { "no" }.to_string(),
            d.and_then(|d| d.regulation.clone()).unwrap_or_default(),
            d.and_then(|d| d.received.clone()).unwrap_or_default(),
            d.and_then(|d| d.due.clone()).unwrap_or_default(),
            d.and_then(|d| d.extension.as_ref())
                .map(|e| e.until.to_string())
                .unwrap_or_default(),
            r.completion
                .as_ref()
                .map(|c| c.at.clone())
                .unwrap_or_default(),
            match &r.completion {
                Some(c) if c.late => "yes".to_string(),
                Some(_) => "no".to_string(),
                None => String::new(),
            },
            r.fixes.join("; "),
            r.approved_by.join("; "),
            account.clone(),
            doc.mode.clone(),
            commit.clone(),
        ];
        let digests = r.audit_records.join(" ");
        let mut row = |job: [&str; 5], step: [&str; 4]| -> Result<(), csv::Error> {
            let mut cols = entry_cols.clone();
            cols.extend(job.iter().map(|s| s.to_string()));
            cols.extend(step.iter().map(|s| s.to_string()));
            cols.push(digests.clone());
            w.write_record(&cols)
        };
        if r.jobs.is_empty() {
            row(["", "", "", "", &r.objects.join(" ")], ["", "", "", ""])?;
        }
        for j in &r.jobs {
            let created = j.created.map(|c| c.to_string()).unwrap_or_default();
            let objects = j.objects.join(" ");
            let confirmed = confirmation(j);
            let job = [j.id.as_str(), &j.status, &confirmed, &created, &objects];
            if j.steps.is_empty() {
                row(job, ["", "", "", ""])?;
            }
            for s in &j.steps {
                row(
                    job,
                    [
                        &s.action,
                        &s.time,
                        &s.outcome,
                        s.request_id.as_deref().unwrap_or(""),
                    ],
                )?;
            }
        }
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Markdown: the shared facts, a summary table, then each entry's receipt.
pub fn render_markdown(doc: &Receipts) -> String {
    let mut out = String::from("# Redaction receipts\n\n");
    let _ = writeln!(
        out,
        "Account: {} · mode: {} · manifests' commit: {}\n",
        doc.account.as_deref().unwrap_or("unknown"),
        doc.mode,
        doc.commit.as_deref().unwrap_or("unknown"),
    );
    out.push_str("| entry | ticket | state | due | completed | certified | jobs |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- | --- |\n");
    for r in &doc.receipts {
        let jobs: Vec<String> = r
            .jobs
            .iter()
            .map(|j| format!("`{}` {}", j.id, j.status))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.entry,
            r.ticket.as_deref().unwrap_or(""),
            r.state,
            due_of(r).unwrap_or_default(),
            completion_phrase(r),
            if r.certified {
                "yes"
            } else {
                "**unconfirmed**"
            },
            jobs.join(", ")
        );
    }
    for r in &doc.receipts {
        entry_markdown(&mut out, r);
    }
    out
}

/// The date that counts for an entry: the extension's, else the due date.
pub(super) fn due_of(r: &Receipt) -> Option<String> {
    let d = r.deadline.as_ref()?;
    d.extension
        .as_ref()
        .map(|e| e.until.to_string())
        .or_else(|| d.due.clone())
}

fn entry_markdown(out: &mut String, r: &Receipt) {
    let _ = writeln!(out, "\n## {}", r.entry);
    if let Some(t) = &r.ticket {
        let _ = writeln!(out, "\nTicket: {t}");
    }
    if !r.certified {
        let _ = writeln!(
            out,
            "\n**Unconfirmed**: Stripe did not confirm every job below; this receipt certifies nothing."
        );
    }
    if let Some(d) = &r.deadline {
        let _ = writeln!(
            out,
            "\nRegulation: {} · received: {} · due: {}",
            d.regulation.as_deref().unwrap_or("none"),
            d.received.as_deref().unwrap_or("unknown"),
            d.due.as_deref().unwrap_or("unknown"),
        );
        if let Some(e) = &d.extension {
            let _ = writeln!(
                out,
                "\nExtension: until {} ({}), requester notified {}",
                e.until, e.reason, e.notified
            );
        }
    }
    match &r.completion {
        Some(c) => {
            let _ = writeln!(
                out,
                "\nCompleted at: {} by `{}` — {} (source: {})",
                c.at,
                c.job,
                completion_phrase(r),
                c.source
            );
        }
        None => {
            let _ = writeln!(out, "\nCompleted at: not completed");
        }
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
    if !r.fixes.is_empty() {
        let _ = writeln!(out, "\nFixes applied: {}", r.fixes.join("; "));
    }
    let _ = writeln!(
        out,
        "\nApproved by: {}",
        if r.approved_by.is_empty() {
            "not recorded".to_string()
        } else {
            r.approved_by.join(", ")
        }
    );
    for j in &r.jobs {
        let _ = writeln!(
            out,
            "\n- `{}` — {}, {} (objects: {})",
            j.id,
            j.status,
            confirmation(j),
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
    if !r.audit_records.is_empty() {
        let _ = writeln!(out, "\nAudit records (SHA-256):");
        for d in &r.audit_records {
            let _ = writeln!(out, "- `{d}`");
        }
    }
}
