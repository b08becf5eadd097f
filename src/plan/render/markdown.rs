//! The Markdown view, for pull-request comments. A comment has a hard size limit (GitHub
//! refuses bodies over 65,536 characters), and the comment matters most exactly when the
//! change is biggest, so this view is built to a byte budget: a summary table of fixed size
//! first (counts, irreversible actions, fixes, due dates), then as many entries as fit —
//! each one a table row, its irreversible actions, and its details folded into
//! `<details>` — and an explicit "truncated" line when some did not fit. The full plan is
//! always the saved plan file (`plan --out`), which CI keeps as an artifact.
//!
//! Entries with nothing to do (converged, or only waiting on Stripe) are left out by
//! default: a reviewer approves changes, and a repository with a thousand finished entries
//! must still produce a comment about the one being added.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::super::model::*;
use super::human::{
    actions_by_entry, closing_line, entry_body, entry_header, plan_alerts, scope, symbol,
    unmanaged_body, Painter, LEGEND,
};
use crate::deadline::Urgency;

/// The default byte budget: comfortably below GitHub's 65,536-character comment limit
/// (bytes are never fewer than characters), leaving room for what a CI step adds around
/// the plan (a marker, a link to the run, the plan file's digest).
pub const DEFAULT_MAX_BYTES: usize = 60_000;

/// The smallest budget the CLI accepts: enough for the summary and at least one row.
pub const MIN_MAX_BYTES: usize = 4_096;

/// How the Markdown view is cut to size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkdownOptions {
    /// The output never exceeds this many bytes.
    pub max_bytes: usize,
    /// Show entries with nothing to do too (converged, or only waiting on Stripe).
    pub all_entries: bool,
}

impl Default for MarkdownOptions {
    fn default() -> Self {
        MarkdownOptions {
            max_bytes: DEFAULT_MAX_BYTES,
            all_entries: false,
        }
    }
}

/// Renders a plan as GitHub-flavoured Markdown with the default options (changed entries
/// only, at most [`DEFAULT_MAX_BYTES`]).
pub fn render_markdown(plan: &Plan) -> String {
    render_markdown_budgeted(plan, MarkdownOptions::default())
}

/// Renders a plan as GitHub-flavoured Markdown of at most `options.max_bytes` bytes.
pub fn render_markdown_budgeted(plan: &Plan, options: MarkdownOptions) -> String {
    let max = options.max_bytes;
    let by_entry = actions_by_entry(plan);
    let listed: Vec<&EntryPlan> = plan
        .entries
        .iter()
        .filter(|e| options.all_entries || needs_review(e, &by_entry))
        .collect();
    let quiet = plan.entries.len() - listed.len();
    let with_due = plan.entries.iter().any(|e| e.deadline.is_some());

    let head = head(plan, with_due);
    let table_head = table_head(with_due);
    let irreversible_total = plan.irreversible_count();
    let irreversible_actions = plan
        .actions
        .iter()
        .filter(|a| a.irreversible_effects() > 0)
        .count();
    let caution_head = caution_head(irreversible_total, irreversible_actions);
    let caution_more = caution_more(irreversible_total);
    // The count lines of the alerts (overdue and due soon; eligible after the due date),
    // not the per-entry lines: the table below has those.
    let counts: Vec<String> = plan_alerts(plan)
        .into_iter()
        .filter(|l| !l.starts_with(' '))
        .map(|l| format!("> **{l}**\n"))
        .collect();
    let late_head = (!counts.is_empty()).then(|| format!("> [!WARNING]\n{}", counts.concat()));
    let tail_max = tail(listed.len(), quiet, true);
    let unmanaged_stub = unmanaged_stub(plan);

    // Everything but the entries, at its largest: the headers of every section the entries
    // may need, the tail with a truncation line, the unmanaged jobs' stub.
    let fixed = head.len()
        + table_head.len()
        + 1
        + late_head.as_ref().map_or(0, |h| h.len() + 1)
        + if irreversible_total > 0 {
            caution_head.len() + caution_more.len() + 1
        } else {
            0
        }
        + unmanaged_stub.len()
        + tail_max.len();
    if fixed > max {
        return fallback(plan, listed.len(), max);
    }

    // As many entries as fit, in name order; the first one is cut to size rather than
    // dropped, so that a single huge entry still shows its row and the start of its details.
    let mut left = max - fixed;
    let mut shown: Vec<EntryParts> = Vec::new();
    for (i, e) in listed.iter().enumerate() {
        let actions = by_entry
            .get(e.name.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let parts = EntryParts::new(e, actions, with_due);
        let cost = parts.cost();
        if cost <= left {
            left -= cost;
            shown.push(parts);
        } else {
            if i == 0 {
                if let Some(cut) = parts.cut_to(left) {
                    left -= cut.cost();
                    shown.push(cut);
                }
            }
            break;
        }
    }
    let truncated = listed.len() - shown.len();

    let mut out = head;
    if let Some(h) = &late_head {
        let mut late: Vec<&(LateKey, String)> =
            shown.iter().filter_map(|p| p.late.as_ref()).collect();
        late.sort_by(|a, b| a.0.cmp(&b.0));
        out.push_str(h);
        for (_, line) in late {
            out.push_str(line);
        }
        out.push('\n');
    }
    if !shown.is_empty() {
        out.push_str(&table_head);
        for p in &shown {
            out.push_str(&p.row);
        }
        out.push('\n');
    }
    if irreversible_total > 0 {
        out.push_str(&caution_head);
        let mut listed_here = 0;
        for p in &shown {
            listed_here += p.irreversible;
            for line in &p.caution {
                out.push_str(line);
            }
        }
        if listed_here < irreversible_total {
            out.push_str(&caution_more);
        }
        out.push('\n');
    }
    for p in &shown {
        out.push_str(&p.details);
    }
    // The unmanaged jobs in full when they fit in what the entries left, else one line.
    let full_unmanaged = unmanaged_full(plan);
    if full_unmanaged.len() <= left + unmanaged_stub.len() {
        out.push_str(&full_unmanaged);
    } else {
        out.push_str(&unmanaged_stub);
    }
    out.push_str(&tail(truncated, quiet, truncated > 0));
    // The arithmetic above keeps the budget; this only guards it against a mistake there.
    if out.len() > max {
        return fallback(plan, listed.len(), max);
    }
    out
}

/// Whether a reviewer must see the entry: it has something to send, needs a person, or is
/// late.
fn needs_review(e: &EntryPlan, by_entry: &HashMap<&str, Vec<&Action>>) -> bool {
    e.outcome == Outcome::Blocked
        || e.deadline.as_ref().is_some_and(|d| d.is_alert())
        || e.eligible_after_due().is_some()
        || by_entry
            .get(e.name.as_str())
            .is_some_and(|a| a.iter().any(|a| a.op != Op::Wait))
}

/// The title, the closing line, the summary table and the plan's warnings (as many as a
/// quarter of the smallest budget holds): a size that does not grow with the plan.
fn head(plan: &Plan, with_due: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### redactctl plan: {}\n", scope(plan));
    let _ = writeln!(out, "**{}**\n", closing_line(plan));
    let _ = writeln!(out, "| summary | |\n| --- | --- |");

    let count = |o: Outcome| plan.entries.iter().filter(|e| e.outcome == o).count();
    let mut parts = Vec::new();
    for (o, label) in [
        (Outcome::Changes, "with changes"),
        (Outcome::Blocked, "blocked"),
        (Outcome::Waiting, "waiting on Stripe"),
        (Outcome::Scheduled, "scheduled (90-day risk period)"),
        (Outcome::Converged, "converged"),
    ] {
        let n = count(o);
        if n > 0 {
            parts.push(format!("{n} {label}"));
        }
    }
    let _ = writeln!(
        out,
        "| entries | {}{} |",
        plan.entries.len(),
        if parts.is_empty() {
            String::new()
        } else {
            format!(": {}", parts.join(", "))
        }
    );
    let s = &plan.summary;
    let ops: Vec<String> = [
        (s.create, "create"),
        (s.update, "update"),
        (s.validate, "validate"),
        (s.run, "run"),
        (s.cancel, "cancel"),
        (s.redact, "redact"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, op)| format!("{n} {op}"))
    .collect();
    let _ = writeln!(
        out,
        "| actions | {} |",
        if ops.is_empty() {
            "none".to_string()
        } else {
            ops.join(", ")
        }
    );
    if s.irreversible > 0 {
        let _ = writeln!(
            out,
            "| irreversible | **{}**: once run, the data cannot be restored |",
            s.irreversible
        );
    } else {
        let _ = writeln!(out, "| irreversible | 0 |");
    }
    let _ = writeln!(out, "| fixes a run applies | {} |", s.fixes);
    if with_due {
        let _ = writeln!(out, "| due dates | {} |", due_summary(plan));
    }
    if !plan.unmanaged.is_empty() {
        let pruned = plan.unmanaged.iter().filter(|u| u.pruned).count();
        let _ = writeln!(
            out,
            "| unmanaged jobs | {} ({pruned} canceled by this plan) |",
            plan.unmanaged.len()
        );
    }
    out.push('\n');

    let cap = MIN_MAX_BYTES / 4;
    let mut used = 0;
    for (i, w) in plan.warnings.iter().enumerate() {
        let line = format!("> **Warning:** {}\n\n", cell(w));
        if used + line.len() > cap {
            let _ = writeln!(
                out,
                "> **Warning:** {} more warnings: see the full plan.\n",
                plan.warnings.len() - i
            );
            break;
        }
        used += line.len();
        out.push_str(&line);
    }
    out
}

/// "1 overdue, 2 due soon, 3 on track, 1 done; next due 2026-03-01 (`dsr-1`)".
fn due_summary(plan: &Plan) -> String {
    let mut counts = [0usize; 4];
    let mut next: Option<(&crate::deadline::Date, &str)> = None;
    for e in &plan.entries {
        let Some(d) = &e.deadline else { continue };
        let slot = match d.urgency {
            Some(Urgency::Overdue) => 0,
            Some(Urgency::DueSoon) => 1,
            Some(Urgency::OnTrack) => 2,
            None => 3,
        };
        counts[slot] += 1;
        if d.urgency.is_some() && next.is_none_or(|(due, _)| d.due < *due) {
            next = Some((&d.due, e.name.as_str()));
        }
    }
    let labels = ["**overdue**", "due soon", "on track", "done"];
    let parts: Vec<String> = counts
        .iter()
        .zip(labels)
        .filter(|(n, _)| **n > 0)
        .map(|(n, l)| format!("{n} {l}"))
        .collect();
    let mut s = parts.join(", ");
    if let Some((due, name)) = next {
        let _ = write!(s, "; next due {due} (`{name}`)");
    }
    s
}

fn table_head(with_due: bool) -> String {
    let (due_head, due_rule) = if with_due {
        (" due |", " --- |")
    } else {
        ("", "")
    };
    format!(
        "| entry | ticket | state | outcome | redacted |{due_head} actions |\n| --- | --- | --- | --- | --- |{due_rule} --- |\n"
    )
}

/// The caution's first line: `n` irreversible effects, made by `actions` actions (a run
/// that applies fixes is one action and several effects).
fn caution_head(n: usize, actions: usize) -> String {
    let noun = if n != actions {
        "effects (runs, fixes, adoptions)"
    } else if n == 1 {
        "action"
    } else {
        "actions"
    };
    format!("> [!CAUTION]\n> {n} irreversible {noun}: once run, the data cannot be restored.\n")
}

fn caution_more(total: usize) -> String {
    format!("> - (of {total}, only those of the entries shown here are listed)\n")
}

/// The closing lines: what was left out and why, then the legend.
fn tail(truncated: usize, quiet: usize, with_truncation: bool) -> String {
    let mut out = String::new();
    if with_truncation {
        let _ = writeln!(
            out,
            "> **truncated: {truncated} more {}, full plan in the artifact** (the plan file saved by `plan --out`)\n",
            if truncated == 1 { "entry" } else { "entries" }
        );
    }
    if quiet > 0 {
        let _ = writeln!(
            out,
            "{quiet} {} with nothing to do (converged, or waiting on Stripe) not shown; `--all-entries` shows {}.\n",
            if quiet == 1 { "entry" } else { "entries" },
            if quiet == 1 { "it" } else { "them" }
        );
    }
    let _ = writeln!(out, "<sub>{LEGEND}</sub>");
    out
}

fn unmanaged_full(plan: &Plan) -> String {
    if plan.unmanaged.is_empty() {
        return String::new();
    }
    let p = Painter { color: false };
    let mut out = format!(
        "<details><summary>unmanaged jobs ({})</summary>\n\n```diff\n",
        plan.unmanaged.len()
    );
    for line in unmanaged_body(plan, &p) {
        let _ = writeln!(out, "{line}");
    }
    out.push_str("```\n\n</details>\n\n");
    out
}

fn unmanaged_stub(plan: &Plan) -> String {
    if plan.unmanaged.is_empty() {
        return String::new();
    }
    format!(
        "{} unmanaged jobs: not listed here for lack of space, see the full plan.\n\n",
        plan.unmanaged.len()
    )
}

/// When not even the summary fits: the closing line and the truncation line, cut to the
/// budget at a character boundary.
fn fallback(plan: &Plan, entries: usize, max: usize) -> String {
    let mut out = format!(
        "### redactctl plan\n\n**{}**\n\n> **truncated: {entries} more entries, full plan in the artifact**\n",
        closing_line(plan)
    );
    if out.len() > max {
        let mut cut = max;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

/// Orders the late entries: overdue first, then by due date and name.
type LateKey = (Option<Urgency>, crate::deadline::Date, String);

/// One entry's share of every section, rendered, so that its cost is known before it is
/// placed.
struct EntryParts {
    row: String,
    late: Option<(LateKey, String)>,
    /// Its irreversible actions, one line each (side effects indented below).
    caution: Vec<String>,
    irreversible: usize,
    details: String,
    /// The parts `details` is made of, kept for cutting it.
    summary: String,
    lines: Vec<String>,
}

impl EntryParts {
    fn new(e: &EntryPlan, actions: &[&Action], with_due: bool) -> EntryParts {
        let p = Painter { color: false };
        let mut lines = vec![entry_header(e)];
        lines.extend(entry_body(e, actions, &p));
        let summary = format!(
            "<details><summary><code>{}</code>: {}</summary>\n\n```diff\n",
            e.name,
            e.state_text()
        );
        let mut caution = Vec::new();
        let mut irreversible = 0;
        for a in actions.iter().filter(|a| a.irreversible_effects() > 0) {
            irreversible += a.irreversible_effects();
            caution.push(caution_line(a));
        }
        let mut parts = EntryParts {
            row: row(e, actions, with_due),
            late: late(e),
            caution,
            irreversible,
            details: String::new(),
            summary,
            lines,
        };
        parts.details = parts.details_with(parts.lines.len());
        parts
    }

    fn cost(&self) -> usize {
        self.row.len()
            + self.late.as_ref().map_or(0, |l| l.1.len())
            + self.caution.iter().map(String::len).sum::<usize>()
            + self.details.len()
    }

    /// The details with only the first `keep` lines, and a line saying how many are left
    /// out when some are.
    fn details_with(&self, keep: usize) -> String {
        let mut out = self.summary.clone();
        for line in &self.lines[..keep] {
            out.push_str(line);
            out.push('\n');
        }
        let more = self.lines.len() - keep;
        if more > 0 {
            let _ = writeln!(
                out,
                "… {more} more {} of this entry: see the full plan in the artifact",
                if more == 1 { "line" } else { "lines" }
            );
        }
        out.push_str("```\n\n</details>\n\n");
        out
    }

    /// This entry cut to `budget` bytes: its row, then as many of its irreversible actions
    /// and detail lines as fit. `None` when not even the row fits.
    fn cut_to(self, budget: usize) -> Option<EntryParts> {
        let late = self.late.as_ref().map_or(0, |l| l.1.len());
        let mut left = budget.checked_sub(self.row.len() + late)?;
        // The details wrapper with a "more lines" note, before any line.
        let wrapper = self.details_with(0).len() + 16;
        left = left.checked_sub(wrapper)?;
        let mut caution = Vec::new();
        let note = "> - … more irreversible actions of this entry: see the full plan\n";
        let mut caution_left = (left / 2).saturating_sub(note.len());
        for line in &self.caution {
            if line.len() > caution_left {
                caution.push(note.to_string());
                break;
            }
            caution_left -= line.len();
            caution.push(line.clone());
        }
        left -= caution.iter().map(String::len).sum::<usize>();
        let mut keep = 0;
        for line in &self.lines {
            if line.len() + 1 > left {
                break;
            }
            left -= line.len() + 1;
            keep += 1;
        }
        let details = self.details_with(keep);
        let cut = EntryParts {
            caution,
            details,
            ..self
        };
        (cut.cost() <= budget).then_some(cut)
    }
}

/// "> - `dsr-1/run-1`: run `prj_A` (2 objects)", with its side effects below.
fn caution_line(a: &Action) -> String {
    let what = a
        .job
        .as_deref()
        .or(a.session.as_deref())
        .map(|s| format!("`{s}`"))
        .unwrap_or_else(|| "a new job".to_string());
    let mut out = format!(
        "> - `{}`: {} {what} ({} {})\n",
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
    out
}

/// The entry's line in the late list, when it is overdue or due soon.
fn late(e: &EntryPlan) -> Option<(LateKey, String)> {
    let d = e.deadline.as_ref().filter(|d| d.is_alert())?;
    let label = match d.urgency {
        Some(Urgency::Overdue) => "**overdue**",
        _ => "due soon",
    };
    Some((
        (d.urgency, d.due, e.name.clone()),
        format!("> - {label}: `{}` {}\n", e.name, d.describe()),
    ))
}

/// The entry's row of the table.
fn row(e: &EntryPlan, actions: &[&Action], with_due: bool) -> String {
    // Each kind of action once, with a count ("+ create ×3"), in the order it first
    // appears: a row stays short however many jobs an entry needs (the details list them).
    let mut runs: Vec<(String, usize)> = Vec::new();
    for a in actions.iter().filter(|a| a.op != Op::Wait) {
        let op = if a.replace && a.op == Op::Cancel {
            "replace"
        } else {
            a.op.as_str()
        };
        let label = format!("{} {op}", symbol(a));
        match runs.iter_mut().find(|(l, _)| *l == label) {
            Some((_, n)) => *n += 1,
            None => runs.push((label, 1)),
        }
    }
    let mut ops: Vec<String> = runs
        .into_iter()
        .map(|(label, n)| {
            if n == 1 {
                label
            } else {
                format!("{label} ×{n}")
            }
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
    format!(
        "| `{}` | {} | {} | {} | {}/{} |{due} {} |\n",
        e.name,
        cell(e.ticket.as_deref().unwrap_or("")),
        e.state.as_str(),
        cell(&e.state_text()),
        e.redacted.len(),
        e.declared,
        cell(&ops.join(", "))
    )
}

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
