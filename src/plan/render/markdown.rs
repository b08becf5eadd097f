//! The Markdown view, for pull-request comments: a summary table a reviewer reads first,
//! the irreversible actions called out, then one collapsible section per entry.

use std::fmt::Write as _;

use super::super::model::*;
use super::human::{
    actions_by_entry, closing_line, entry_body, entry_header, plan_alerts, scope, symbol,
    unmanaged_body, Painter, LEGEND,
};

/// Escapes a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// "2026-03-01 (**9 days overdue**)": bold when overdue or due soon.
fn due_cell(d: &crate::plan::DeadlineView) -> String {
    let phrase = match d.urgency {
        None => "done".to_string(),
        Some(_) => crate::deadline::days_left_phrase(d.days_left),
    };
    if d.is_alert() {
        format!("{} (**{phrase}**)", d.due)
    } else {
        format!("{} ({phrase})", d.due)
    }
}

/// Renders a plan as GitHub-flavoured Markdown.
pub fn render_markdown(plan: &Plan) -> String {
    let p = Painter { color: false };
    let by_entry = actions_by_entry(plan);
    let mut out = String::new();
    let _ = writeln!(out, "### redactctl plan: {}\n", scope(plan));
    let _ = writeln!(out, "**{}**\n", closing_line(plan));
    for w in &plan.warnings {
        let _ = writeln!(out, "> **Warning:** {}\n", w);
    }
    let alerts = plan_alerts(plan);
    if let Some(head) = alerts.first() {
        let _ = writeln!(out, "> [!WARNING]\n> **{head}**");
        let mut late: Vec<(&str, &crate::plan::DeadlineView)> = plan
            .entries
            .iter()
            .filter_map(|e| e.deadline.as_ref().map(|d| (e.name.as_str(), d)))
            .filter(|(_, d)| d.is_alert())
            .collect();
        late.sort_by_key(|(name, d)| (d.urgency, d.due, *name));
        for (name, d) in late {
            let label = match d.urgency {
                Some(crate::deadline::Urgency::Overdue) => "**overdue**",
                _ => "due soon",
            };
            let _ = writeln!(out, "> - {label}: `{name}` {}", d.describe());
        }
        out.push('\n');
    }
    // The due column only when some entry has a deadline: plans without deadlines read
    // as before.
    let with_due = plan.entries.iter().any(|e| e.deadline.is_some());
    let (due_head, due_rule) = if with_due {
        (" due |", " --- |")
    } else {
        ("", "")
    };
    let _ = writeln!(
        out,
        "| entry | ticket | state | outcome | redacted |{due_head} actions |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- |{due_rule} --- |");
    for e in &plan.entries {
        let actions = by_entry
            .get(e.name.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut ops: Vec<String> = actions
            .iter()
            .filter(|a| a.op != Op::Wait)
            .map(|a| {
                let op = if a.replace && a.op == Op::Cancel {
                    "replace"
                } else {
                    a.op.as_str()
                };
                format!("{} {op}", symbol(a))
            })
            .collect();
        if ops.is_empty() {
            ops.push("—".to_string());
        }
        let due = if with_due {
            let text = match &e.deadline {
                Some(d) => due_cell(d),
                None => "—".to_string(),
            };
            format!(" {} |", cell(&text))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {}/{} |{due} {} |",
            e.name,
            cell(e.ticket.as_deref().unwrap_or("")),
            e.state.as_str(),
            e.outcome.as_str(),
            e.redacted.len(),
            e.declared,
            cell(&ops.join(", "))
        );
    }
    out.push('\n');
    let irreversible: Vec<&Action> = plan
        .actions
        .iter()
        .filter(|a| a.irreversible || a.irreversible_effects() > 0)
        .collect();
    if !irreversible.is_empty() {
        let count = plan.irreversible_count();
        let noun = if count == irreversible.len() {
            if count == 1 {
                "action"
            } else {
                "actions"
            }
        } else {
            "effects (runs, fixes, adoptions)"
        };
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> {count} irreversible {noun}: once run, the data cannot be restored."
        );
        for a in &irreversible {
            let what = a
                .job
                .as_deref()
                .or(a.session.as_deref())
                .map(|s| format!("`{s}`"))
                .unwrap_or_else(|| "a new job".to_string());
            let _ = writeln!(
                out,
                "> - `{}`: {} {what} ({} {})",
                a.id,
                a.op.as_str(),
                a.objects.len(),
                if a.objects.len() == 1 {
                    "object"
                } else {
                    "objects"
                }
            );
            if let Some(adopt) = &a.adopt {
                let _ = writeln!(out, ">   - **{}**", adopt.describe());
            }
            for f in &a.fixes {
                let pre = if f.preapproved {
                    " (pre-approved by `allowed_fixes`)"
                } else {
                    ""
                };
                let _ = writeln!(out, ">   - fix: {}{pre}", f.description);
            }
            let fixes: Vec<&str> = a.fixes.iter().map(|f| f.description.as_str()).collect();
            for s in a
                .side_effects
                .iter()
                .filter(|s| !fixes.contains(&s.as_str()))
            {
                let _ = writeln!(out, ">   - {s}");
            }
        }
        out.push('\n');
    }
    for e in &plan.entries {
        let actions = by_entry
            .get(e.name.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let _ = writeln!(
            out,
            "<details><summary><code>{}</code>: {}</summary>\n",
            e.name,
            e.outcome.as_str()
        );
        let _ = writeln!(out, "```diff\n{}", entry_header(e));
        for line in entry_body(e, actions, &p) {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out, "```\n\n</details>\n");
    }
    if !plan.unmanaged.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>unmanaged jobs ({})</summary>\n\n```diff",
            plan.unmanaged.len()
        );
        for line in unmanaged_body(plan, &p) {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out, "```\n\n</details>\n");
    }
    let _ = writeln!(out, "<sub>{LEGEND}</sub>");
    out
}
