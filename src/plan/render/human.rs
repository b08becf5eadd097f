//! The human view: a Terraform-like plan. Every line a reviewer needs to approve a
//! deletion: what is created, run (irreversible) or canceled, why, the validation errors
//! with their objects, and the fixes a run applies.

use std::collections::HashMap;
use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use similar::{ChangeTag, TextDiff};

use super::super::deadlines::{alert_lines, schedule_alert_lines, DeadlineView};
use super::super::model::*;

/// Paints text when colour is on.
pub(super) struct Painter {
    pub color: bool,
}

impl Painter {
    pub fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }
}

fn fg(c: AnsiColor) -> Style {
    Style::new().fg_color(Some(c.into()))
}

/// The symbol of an action, as in the legend.
pub(super) fn symbol(a: &Action) -> &'static str {
    match a.op {
        Op::Create => "+",
        Op::Update => "~",
        Op::Validate => "↻",
        Op::Run | Op::Redact => "!",
        Op::Cancel if a.replace => "-/+",
        Op::Cancel => "-",
        Op::Wait => "…",
    }
}

fn op_style(op: Op) -> Style {
    match op {
        Op::Create => fg(AnsiColor::Green),
        Op::Update => fg(AnsiColor::Yellow),
        Op::Validate => fg(AnsiColor::Cyan),
        Op::Run | Op::Redact => fg(AnsiColor::Red).bold(),
        Op::Cancel => fg(AnsiColor::Red),
        Op::Wait => Style::new().dimmed(),
    }
}

/// The legend printed once at the top.
pub(super) const LEGEND: &str = "Symbols: + create  ~ update  ↻ validate  ! run/redact (irreversible)  - cancel  -/+ replace  … wait  ⨯ blocked";

/// "test mode, account acct_1, connected account acct_2".
pub(super) fn scope(plan: &Plan) -> String {
    // Where the writes go, as observed (API base, the key's account and mode); a plan made
    // without observing (tests, the library) says what the manifests declare.
    let mut s = match &plan.observed {
        Some(observed) => observed.to_string(),
        None => {
            let mut s = format!("{} mode", plan.mode);
            if let Some(a) = &plan.account_id {
                let _ = write!(s, ", account {a}");
            }
            s
        }
    };
    if let Some(c) = &plan.connected_account {
        let _ = write!(s, ", connected account {c}");
    }
    s
}

/// `Plan: …` or `No changes. …`: the closing line.
pub fn closing_line(plan: &Plan) -> String {
    let s = &plan.summary;
    if !plan.has_changes() {
        let waiting = plan.actions.iter().filter(|a| a.op == Op::Wait).count();
        let blocked = plan
            .entries
            .iter()
            .filter(|e| e.outcome == Outcome::Blocked)
            .count();
        let scheduled = plan
            .entries
            .iter()
            .filter(|e| e.outcome == Outcome::Scheduled)
            .count();
        let mut line = "No changes.".to_string();
        if blocked > 0 {
            let _ = write!(
                line,
                " {blocked} {} blocked: a person must act.",
                plural(blocked, "entry is", "entries are")
            );
        }
        if waiting > 0 {
            let _ = write!(
                line,
                " Waiting on Stripe for {waiting} {}.",
                plural(waiting, "job or session", "jobs or sessions")
            );
        }
        if scheduled > 0 {
            let _ = write!(
                line,
                " {scheduled} {} scheduled for Stripe's 90-day risk period.",
                plural(scheduled, "entry is", "entries are")
            );
        }
        if blocked == 0 && waiting == 0 && scheduled == 0 {
            line.push_str(" Stripe matches the manifests.");
        }
        return line;
    }
    let redact = if s.redact > 0 {
        format!(", {} to redact", s.redact)
    } else {
        String::new()
    };
    let mut of = Vec::new();
    if s.fixes > 0 {
        of.push(format!("{} {}", s.fixes, plural(s.fixes, "fix", "fixes")));
    }
    if s.adopt > 0 {
        of.push(format!(
            "{} {}",
            s.adopt,
            plural(s.adopt, "adoption", "adoptions")
        ));
    }
    let of = if of.is_empty() {
        String::new()
    } else {
        format!(" (including {})", of.join(", "))
    };
    format!(
        "Plan: {} to create, {} to update, {} to validate, {} to run, {} to cancel{redact}; {} irreversible{of}.",
        s.create, s.update, s.validate, s.run, s.cancel, s.irreversible
    )
}

fn plural<'s>(n: usize, one: &'s str, many: &'s str) -> &'s str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// Renders a plan for a terminal. `color` only when the CLI decided so (terminal,
/// `--color`, `NO_COLOR`).
pub fn render_human(plan: &Plan, color: bool) -> String {
    let p = Painter { color };
    let mut out = String::new();
    let _ = writeln!(out, "redactctl plan: {}", scope(plan));
    let _ = writeln!(out, "{}", p.paint(Style::new().dimmed(), LEGEND));
    for w in &plan.warnings {
        let _ = writeln!(
            out,
            "{}",
            p.paint(fg(AnsiColor::Yellow), &format!("warning: {w}"))
        );
    }
    let alerts = plan_alerts(plan);
    if !alerts.is_empty() {
        out.push('\n');
        for line in &alerts {
            let _ = writeln!(out, "{}", p.paint(fg(AnsiColor::Red).bold(), line));
        }
    }
    let by_entry = actions_by_entry(plan);
    for e in &plan.entries {
        out.push('\n');
        let _ = writeln!(out, "{}", p.paint(Style::new().bold(), &entry_header(e)));
        let actions = by_entry
            .get(e.name.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for line in entry_body(e, actions, &p) {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !plan.unmanaged.is_empty() {
        out.push('\n');
        let _ = writeln!(out, "{}", p.paint(Style::new().bold(), "# unmanaged jobs"));
        for line in unmanaged_body(plan, &p) {
            let _ = writeln!(out, "  {line}");
        }
    }
    out.push('\n');
    let closing = closing_line(plan);
    let _ = writeln!(out, "{}", p.paint(Style::new().bold(), &closing));
    out
}

/// Each entry's actions, in plan order (one pass, so rendering stays linear).
pub(super) fn actions_by_entry(plan: &Plan) -> HashMap<&str, Vec<&Action>> {
    let mut map: HashMap<&str, Vec<&Action>> = HashMap::new();
    for a in &plan.actions {
        if let Some(e) = &a.entry {
            map.entry(e.as_str()).or_default().push(a);
        }
    }
    map
}

/// "# name [TICKET]  state: redacted, validation_behavior: fix  (file:line:col)".
pub(super) fn entry_header(e: &EntryPlan) -> String {
    let mut s = format!("# {}", e.name);
    if let Some(t) = &e.ticket {
        let _ = write!(s, " [{t}]");
    }
    let _ = write!(s, "  state: {}", e.state.as_str());
    match e.via {
        crate::manifest::Via::IdentityRedact => s.push_str(", via: identity_redact"),
        crate::manifest::Via::RedactionJob => {
            let _ = write!(
                s,
                ", validation_behavior: {}",
                e.validation_behavior.as_str()
            );
        }
    }
    let _ = write!(s, "  ({})", e.location);
    s
}

/// The lines of one entry, unindented (the Markdown view puts them in a `diff` block).
pub(super) fn entry_body(e: &EntryPlan, actions: &[&Action], p: &Painter) -> Vec<String> {
    let mut lines = Vec::new();
    lines.push(format!(
        "{}: {}/{} objects redacted",
        e.outcome.label(),
        e.redacted.len(),
        e.declared
    ));
    if let Some(d) = &e.deadline {
        lines.push(deadline_line(d, p));
    }
    if let Some(late) = e.eligible_after_due() {
        lines.push(p.paint(
            fg(AnsiColor::Red).bold(),
            &format!("{late}: eligible only after the due date; document the delay"),
        ));
    }
    for s in &e.scheduled {
        let objects: Vec<String> = s
            .objects
            .iter()
            .map(|o| format!("{} {}", o.object_type, o.id))
            .collect();
        lines.push(p.paint(
            fg(AnsiColor::Cyan),
            &format!(
                "⏲ job {} scheduled: eligible on {} ({} in Stripe's 90-day risk period until {}); \
                 apply and reconcile revalidate it by themselves then",
                s.job,
                s.eligible_on,
                objects.join(", "),
                rfc3339(s.eligible_at)
            ),
        ));
    }
    for r in &e.redacted_by {
        let whose = match &r.entry {
            Some(name) => format!("of entry {name}"),
            None => "(unmanaged)".to_string(),
        };
        lines.push(format!(
            "redacted by {} {whose}: {}",
            r.job,
            objects_line(&r.objects)
        ));
    }
    for j in &e.jobs {
        let mut line = format!(
            "job {}  {}  validation_behavior: {}",
            j.id, j.status, j.validation_behavior
        );
        if j.provenance == Provenance::Outside {
            let _ = write!(
                line,
                "  created outside redactctl at {}",
                rfc3339(j.created)
            );
        }
        lines.push(line);
        lines.push(format!("    {}", objects_line(&j.objects)));
        for err in &j.errors {
            lines.extend(error_lines(err, p));
        }
    }
    for s in &e.sessions {
        let status = s.status.as_ref().map(|s| s.as_str()).unwrap_or("not found");
        let redaction = s.redaction.as_ref().map(|r| r.as_str()).unwrap_or("none");
        lines.push(format!(
            "session {}  {status}  redaction: {redaction}",
            s.id
        ));
    }
    if !e.fixes.is_empty() {
        lines.push(p.paint(
            fg(AnsiColor::Red).bold(),
            &format!(
                "fixes the run will apply ({}, each irreversible):",
                e.fixes.len()
            ),
        ));
        for f in &e.fixes {
            lines.push(p.paint(fg(AnsiColor::Red), &format!("    ! {}", fix_label(f))));
        }
    }
    for a in actions {
        lines.extend(action_lines(actions, a, p));
    }
    for b in &e.blocked {
        lines.push(p.paint(
            fg(AnsiColor::Red).bold(),
            &format!("⨯ blocked: {}", b.problem),
        ));
        // Errors of a job listed above were printed with it.
        if !b
            .job
            .as_ref()
            .is_some_and(|j| e.jobs.iter().any(|v| &v.id == j))
        {
            for err in &b.errors {
                lines.extend(error_lines(err, p));
            }
        }
        for r in &b.resolve {
            lines.push(format!("    resolve: {r}"));
        }
    }
    for w in &e.warnings {
        lines.push(p.paint(fg(AnsiColor::Yellow), &format!("warning: {w}")));
    }
    lines
}

/// "deadline: gdpr, received 2026-01-31, due 2026-02-28 (9 days overdue)", in red when
/// overdue and yellow when due soon.
pub(super) fn deadline_line(d: &DeadlineView, p: &Painter) -> String {
    let received = d
        .received
        .map(|r| format!(", received {r}"))
        .unwrap_or_default();
    let text = format!("deadline: {}{received}, {}", d.regulation, d.describe());
    match d.urgency {
        Some(crate::deadline::Urgency::Overdue) => p.paint(fg(AnsiColor::Red).bold(), &text),
        Some(crate::deadline::Urgency::DueSoon) => p.paint(fg(AnsiColor::Yellow), &text),
        _ => text,
    }
}

/// The alert lines of a plan (overdue and due-soon entries, then entries eligible only
/// after their due date), empty when there are none.
pub(super) fn plan_alerts(plan: &Plan) -> Vec<String> {
    let mut lines = alert_lines(
        plan.entries
            .iter()
            .filter_map(|e| e.deadline.as_ref().map(|d| (e.name.as_str(), d))),
    );
    lines.extend(schedule_alert_lines(&plan.entries));
    lines
}

fn error_lines(err: &ErrorView, p: &Painter) -> Vec<String> {
    let object = err
        .erroring_object
        .as_ref()
        .map(|o| format!(" {} {}", o.object_type, o.id))
        .unwrap_or_default();
    vec![
        p.paint(
            fg(AnsiColor::Red),
            &format!("    ✗ {}{object}: {}", err.code, err.message),
        ),
        format!("      → {}", err.hint),
    ]
}

fn objects_line(objects: &[crate::kinds::ObjectRef]) -> String {
    if objects.is_empty() {
        return "(objects not visible)".to_string();
    }
    objects
        .iter()
        .map(|o| o.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What an action touches, for its headline.
fn target(siblings: &[&Action], a: &Action) -> String {
    if let Some(s) = &a.session {
        return format!("session {s}");
    }
    if let Some(j) = &a.job {
        return format!("job {j}");
    }
    match a.op {
        Op::Create => format!(
            "job with {} {}",
            a.objects.len(),
            plural(a.objects.len(), "object", "objects")
        ),
        _ => {
            let from = a
                .after
                .iter()
                .filter_map(|id| siblings.iter().find(|s| s.id == *id))
                .find(|d| d.op == Op::Create)
                .map(|d| d.id.as_str())
                .unwrap_or("this plan");
            format!("the job created by {from}")
        }
    }
}

pub(super) fn action_lines(siblings: &[&Action], a: &Action, p: &Painter) -> Vec<String> {
    let target = target(siblings, a);
    let mut head = if a.op == Op::Cancel && a.replace {
        format!(
            "{} replace {target} (cancel, then create what is still declared)",
            symbol(a)
        )
    } else {
        format!("{} {} {target}", symbol(a), a.op.as_str())
    };
    let mut flags = Vec::new();
    if a.irreversible || a.irreversible_effects() > 0 {
        flags.push("IRREVERSIBLE");
    }
    if a.adopt.is_some() {
        flags.push("ADOPT");
    }
    if a.deferred {
        flags.push("deferred");
    }
    if a.replace && a.op == Op::Create {
        flags.push("replacement");
    }
    if !flags.is_empty() {
        let _ = write!(head, "  [{}]", flags.join(", "));
    }
    let mut lines = vec![p.paint(op_style(a.op), &head)];
    lines.push(format!("    # {} ({})", a.reason, a.id));
    if a.op == Op::Create {
        lines.push(format!("    objects: {}", objects_line(&a.objects)));
    }
    if !a.after.is_empty() {
        lines.push(format!("    after: {}", a.after.join(", ")));
    }
    if a.op == Op::Update {
        let before = match &a.precondition {
            Some(Precondition::Job {
                validation_behavior,
                ..
            }) => validation_behavior.as_str().to_string(),
            _ => String::new(),
        };
        let after = a
            .validation_behavior
            .map(|b| b.as_str().to_string())
            .unwrap_or_default();
        lines.extend(field_diff("validation_behavior", &before, &after, p));
    }
    if let Some(adopt) = &a.adopt {
        lines.push(p.paint(
            fg(AnsiColor::Red),
            &format!("    {}  [IRREVERSIBLE]", adopt.describe()),
        ));
    }
    match a.op {
        Op::Run => {
            for f in &a.fixes {
                lines.push(p.paint(
                    fg(AnsiColor::Red),
                    &format!("    fix: {}  [IRREVERSIBLE]", fix_label(f)),
                ));
            }
        }
        Op::Update if !a.fixes.is_empty() => {
            lines.push(format!(
                "    switches to fix for: {}",
                a.fixes
                    .iter()
                    .map(|f| f.description.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        _ => {}
    }
    let fixes: Vec<&str> = a.fixes.iter().map(|f| f.description.as_str()).collect();
    for s in a
        .side_effects
        .iter()
        .filter(|s| !fixes.contains(&s.as_str()))
    {
        let label = if a.op == Op::Run { "fix" } else { "also" };
        lines.push(p.paint(fg(AnsiColor::Red), &format!("    {label}: {s}")));
    }
    lines
}

/// "cancel PaymentIntent pi_1 (pre-approved by allowed_fixes)".
fn fix_label(f: &FixPreview) -> String {
    if f.preapproved {
        format!("{} (pre-approved by allowed_fixes)", f.description)
    } else {
        f.description.clone()
    }
}

/// Before/after of a changed field, rendered by `similar`.
fn field_diff(field: &str, before: &str, after: &str, p: &Painter) -> Vec<String> {
    let old = format!("{field}: {before}\n");
    let new = format!("{field}: {after}\n");
    let diff = TextDiff::from_lines(&old, &new);
    diff.iter_all_changes()
        .filter_map(|c| {
            let text = c.value().trim_end();
            match c.tag() {
                ChangeTag::Delete => Some(p.paint(fg(AnsiColor::Red), &format!("    - {text}"))),
                ChangeTag::Insert => Some(p.paint(fg(AnsiColor::Green), &format!("    + {text}"))),
                ChangeTag::Equal => None,
            }
        })
        .collect()
}

pub(super) fn unmanaged_body(plan: &Plan, p: &Painter) -> Vec<String> {
    let mut lines = Vec::new();
    for u in &plan.unmanaged {
        let whose = if u.entries.is_empty() {
            "names no object of the manifests".to_string()
        } else {
            format!("names objects of {}", u.entries.join(", "))
        };
        lines.push(format!("job {}  {}  {whose}", u.id, u.status));
        lines.push(format!("    {}", objects_line(&u.objects)));
    }
    let prunes: Vec<&Action> = plan.actions.iter().filter(|a| a.entry.is_none()).collect();
    for a in &prunes {
        lines.extend(action_lines(&prunes, a, p));
    }
    if !plan.unmanaged.iter().any(|u| u.pruned) {
        lines.push("(`apply --prune` cancels unmanaged jobs in ready or failed)".to_string());
    }
    lines
}
