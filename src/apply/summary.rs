//! The closing summary: per entry, what apply did and where it stands now.

use std::fmt::Write;

use super::execute::ActionResult;
use super::{ApplyReport, Ending};
use crate::plan::{EntryPlan, Outcome};

/// One short phrase for an entry's state, used by progress and the summary.
pub fn entry_state(entry: &EntryPlan) -> String {
    let statuses: Vec<String> = entry
        .jobs
        .iter()
        .map(|j| format!("{} {}", j.id, j.status))
        .chain(entry.sessions.iter().map(|s| {
            let redaction = s
                .redaction
                .as_ref()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "not redacted".into());
            format!("{} {}", s.id, redaction)
        }))
        .collect();
    let detail = if statuses.is_empty() {
        String::new()
    } else {
        format!(" ({})", statuses.join(", "))
    };
    match entry.outcome {
        Outcome::Converged => format!("converged{detail}"),
        Outcome::Waiting => format!("waiting for Stripe{detail}"),
        Outcome::Changes => format!("changes pending{detail}"),
        Outcome::Blocked => {
            let first = entry
                .blocked
                .first()
                .map(|b| b.problem.clone())
                .unwrap_or_else(|| "a person must act".into());
            format!("blocked: {first}{detail}")
        }
        Outcome::Scheduled => {
            let when = entry
                .eligible_on()
                .map(|d| format!(": eligible on {d} (Stripe's 90-day risk period)"))
                .unwrap_or_default();
            format!("scheduled{when}{detail}")
        }
    }
}

/// The fixes that the entry's runs, as Stripe accepted them, apply: irreversible changes
/// to objects the manifest did not name (a canceled PaymentIntent, a detached
/// PaymentMethod), so the summary names each one, as the plan and the audit log do.
fn fixes_applied(report: &ApplyReport, entry: &str) -> Vec<String> {
    report
        .performed
        .iter()
        .filter(|(a, r)| {
            a.entry.as_deref() == Some(entry)
                && a.op == crate::plan::Op::Run
                && matches!(r, ActionResult::Done { .. })
        })
        .flat_map(|(a, r)| {
            let job = match r {
                ActionResult::Done {
                    target: Some(t), ..
                } => t.clone(),
                _ => a.job.clone().unwrap_or_default(),
            };
            a.fixes
                .iter()
                .map(move |f| format!("fix applied by {job}: {}  [IRREVERSIBLE]", f.description))
        })
        .collect()
}

/// The entry's due date as the summary shows it: days left or overdue while the request
/// is open; once done, "completed late"/"completed on time" when this apply completed it
/// (today is then the completion day), else "(done)"; and for a scheduled entry that
/// becomes eligible after its due date, both dates.
fn due_phrase(entry: &EntryPlan, worked: bool) -> Option<String> {
    let d = entry.deadline.as_ref()?;
    let days = |n: i64| format!("{n} day{}", if n == 1 { "" } else { "s" });
    let mut s = match d.urgency {
        Some(_) => d.describe(),
        None if worked && d.days_left < 0 => {
            format!(
                "completed late ({} after due {})",
                days(-d.days_left),
                d.due
            )
        }
        None if worked => format!("completed on time (due {})", d.due),
        None => d.describe(),
    };
    if let Some(late) = entry.eligible_after_due() {
        s = format!("{s}; {late}: eligible only after the due date");
    }
    Some(s)
}

/// Renders the closing summary (stdout).
pub fn render(report: &ApplyReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\nApply summary:");
    for entry in &report.last.entries {
        let done: Vec<String> = report
            .performed
            .iter()
            .filter(|(a, _)| a.entry.as_deref() == Some(entry.name.as_str()))
            .map(|(a, r)| {
                let target = match r {
                    ActionResult::Done { target, .. } => target.clone(),
                    _ => None,
                }
                .or_else(|| a.job.clone())
                .or_else(|| a.session.clone())
                .unwrap_or_default();
                let mark = match r {
                    ActionResult::Failed(_) => " (failed)",
                    _ => "",
                };
                format!("{} {target}{mark}", a.op.as_str())
                    .trim_end()
                    .to_string()
            })
            .collect();
        let ticket = entry
            .ticket
            .as_deref()
            .map(|t| format!(" [{t}]"))
            .unwrap_or_default();
        let did = if done.is_empty() {
            "nothing to do".to_string()
        } else {
            done.join(", ")
        };
        let worked = report.performed.iter().any(|(a, r)| {
            a.entry.as_deref() == Some(entry.name.as_str())
                && matches!(r, ActionResult::Done { .. })
        });
        let due = due_phrase(entry, worked)
            .map(|d| format!("; {d}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}{ticket}: {did}; now {}{due}",
            entry.name,
            entry_state(entry)
        );
        for line in fixes_applied(report, &entry.name) {
            let _ = writeln!(out, "    {line}");
        }
    }
    for (action, result) in &report.performed {
        if action.entry.is_none() {
            let _ = writeln!(
                out,
                "  (unmanaged) {} {}: {}",
                action.op.as_str(),
                action.job.as_deref().unwrap_or(""),
                match result {
                    ActionResult::Failed(e) => format!("failed: {e}"),
                    _ => "done".into(),
                }
            );
        }
    }
    for (action, result) in &report.performed {
        if let ActionResult::Failed(e) = result {
            let _ = writeln!(
                out,
                "  error: {} {} for {}: {e}",
                action.op.as_str(),
                action.job.as_deref().unwrap_or(""),
                action.entry.as_deref().unwrap_or("(unmanaged)")
            );
        }
    }
    if !report.not_approved.is_empty() {
        let _ = writeln!(
            out,
            "\n  Not done (not in the approved plan; run plan/apply again to review):"
        );
        for a in &report.not_approved {
            let _ = writeln!(
                out,
                "    {} {} — {}",
                a.entry.as_deref().unwrap_or("(unmanaged)"),
                a.op.as_str(),
                a.reason
            );
        }
    }
    for line in &report.stopped {
        let _ = writeln!(out, "  {line}");
    }
    if !report.remaining.is_empty() {
        let _ = writeln!(
            out,
            "\n  Not started (approved; run apply again to do them):"
        );
        for line in &report.remaining {
            let _ = writeln!(out, "    {line}");
        }
    }
    let closing = match report.ending {
        Ending::Done if !report.stopped.is_empty() => {
            "Apply stopped: some writes were repeated without effect and stopped (see \"stopped:\" above); run plan/apply again after checking them."
        }
        Ending::Done if report.left_undone() => {
            "Apply stopped: the steps listed under \"Not done\" were left undone; run plan/apply again to review them."
        }
        Ending::Done => {
            if report
                .last
                .entries
                .iter()
                .all(|e| e.outcome == Outcome::Converged)
            {
                "Apply complete: every entry converged."
            } else if report
                .last
                .entries
                .iter()
                .all(|e| matches!(e.outcome, Outcome::Converged | Outcome::Scheduled))
            {
                "Apply complete: the rest is scheduled (Stripe's 90-day risk period); apply or reconcile revalidates each scheduled entry on its date."
            } else {
                "Apply complete: the rest is Stripe-side work; rerun apply (or use --wait) to finish it."
            }
        }
        Ending::Blocked => "Apply stopped: some entries are blocked and need a person (see above).",
        Ending::TimedOut => "Apply stopped: --wait ran out before every entry converged.",
        Ending::Failed => "Apply failed: some requests were refused (see the errors above).",
        Ending::Interrupted { .. } => {
            "Apply interrupted: no new write was started after the signal; the writes in flight finished and are in the audit log."
        }
    };
    let _ = writeln!(out, "\n{closing}");
    out
}
