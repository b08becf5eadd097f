//! The Markdown view, for pull-request comments: a summary table a reviewer reads first,
//! the irreversible actions called out, then one collapsible section per entry.

use std::fmt::Write as _;

use super::super::model::*;
use super::human::{
    actions_by_entry, closing_line, entry_body, entry_header, scope, symbol, unmanaged_body,
    Painter, LEGEND,
};

/// Escapes a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
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
    let _ = writeln!(
        out,
        "| entry | ticket | state | outcome | redacted | actions |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- |");
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
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {}/{} | {} |",
            e.name,
            cell(e.ticket.as_deref().unwrap_or("")),
            e.state.as_str(),
            e.outcome.label(),
            e.redacted.len(),
            e.declared,
            cell(&ops.join(", "))
        );
    }
    out.push('\n');
    let irreversible: Vec<&Action> = plan.actions.iter().filter(|a| a.irreversible).collect();
    if !irreversible.is_empty() {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> {} irreversible {}: once run, the data cannot be restored.",
            irreversible.len(),
            if irreversible.len() == 1 {
                "action"
            } else {
                "actions"
            }
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
            for s in &a.side_effects {
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
            e.outcome.label()
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
