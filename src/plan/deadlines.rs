//! Due dates in plans and status: each entry's deadline as of a given day, and the
//! alert lines (overdue, due soon) that every view puts at the top. Pure: the day is an
//! argument.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::{EntryPlan, Outcome, Plan};
use crate::deadline::{self, days_left_phrase, Date, Regulation, Urgency};
use crate::manifest::{Desired, DesiredState, Entry};

/// An entry's due date as of one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeadlineView {
    pub regulation: Regulation,
    pub received: Option<Date>,
    /// The date that counts (the extension's, when there is one).
    pub due: Date,
    /// The due date before the extension, when the entry is extended.
    pub extended_from: Option<Date>,
    /// The day `days_left` and `urgency` were computed for.
    pub as_of: Date,
    /// 0 on the due day, negative once overdue.
    pub days_left: i64,
    /// How far ahead "due soon" looked.
    pub due_soon_days: u32,
    /// `None` once the request is done (converged to `redacted` or `canceled`).
    pub urgency: Option<Urgency>,
}

impl DeadlineView {
    /// "due 2026-04-10 (31 days left)", "due 2026-04-10, extended from 2026-03-10 (…)".
    pub fn describe(&self) -> String {
        let mut s = format!("due {}", self.due);
        if let Some(from) = self.extended_from {
            s.push_str(&format!(", extended from {from}"));
        }
        match self.urgency {
            Some(_) => s.push_str(&format!(" ({})", days_left_phrase(self.days_left))),
            None => s.push_str(" (done)"),
        }
        s
    }

    /// Overdue or due soon, and not done.
    pub fn is_alert(&self) -> bool {
        matches!(self.urgency, Some(Urgency::Overdue | Urgency::DueSoon))
    }
}

/// Whether an entry whose plan came to `outcome` is finished as far as the requester is
/// concerned: converged, and not merely validated (`state: validated` has destroyed
/// nothing yet).
pub fn is_done(state: DesiredState, outcome: Outcome) -> bool {
    outcome == Outcome::Converged && state != DesiredState::Validated
}

/// The deadline of `entry` as of `today`; `None` when it declares none.
pub fn deadline_view(
    entry: &Entry,
    done: bool,
    today: Date,
    due_soon_days: u32,
) -> Option<DeadlineView> {
    let d = deadline::deadline(&entry.deadline)?;
    Some(DeadlineView {
        regulation: d.regulation,
        received: d.received,
        due: d.effective_due(),
        extended_from: d.extended_until.map(|_| d.due),
        as_of: today,
        days_left: d.days_left(today),
        due_soon_days,
        urgency: (!done).then(|| d.urgency(today, due_soon_days)),
    })
}

/// Fills in every planned entry's `deadline` as of `today`.
pub fn annotate_deadlines(plan: &mut Plan, desired: &Desired, today: Date, due_soon_days: u32) {
    for e in &mut plan.entries {
        annotate_entry(e, desired, today, due_soon_days);
    }
}

fn annotate_entry(e: &mut EntryPlan, desired: &Desired, today: Date, due_soon_days: u32) {
    e.deadline = desired
        .entry(&e.name)
        .and_then(|d| deadline_view(d, is_done(e.state, e.outcome), today, due_soon_days));
}

/// The lines that open a view when requests are overdue or due soon: a count, then one
/// line per request, overdue first, each by due date then name. Empty when none is.
pub fn alert_lines<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a DeadlineView)>,
) -> Vec<String> {
    let mut alerts: Vec<(&str, &DeadlineView)> =
        entries.into_iter().filter(|(_, d)| d.is_alert()).collect();
    if alerts.is_empty() {
        return Vec::new();
    }
    alerts.sort_by_key(|(name, d)| (d.urgency, d.due, *name));
    let overdue = alerts
        .iter()
        .filter(|(_, d)| d.urgency == Some(Urgency::Overdue))
        .count();
    let soon = alerts.len() - overdue;
    let (as_of, window) = (alerts[0].1.as_of, alerts[0].1.due_soon_days);
    let mut lines = vec![format!(
        "Deadlines on {as_of}: {overdue} overdue, {soon} due within {window} {}",
        if window == 1 { "day" } else { "days" }
    )];
    let width = alerts
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0);
    for (name, d) in alerts {
        let label = match d.urgency {
            Some(Urgency::Overdue) => "OVERDUE ",
            _ => "due soon",
        };
        lines.push(format!("  {label}  {name:<width$}  {}", d.describe()));
    }
    lines
}

/// The lines that open a view when scheduled entries become eligible only after their due
/// date (Stripe's 90-day risk period outlasts the legal deadline: the team must document
/// the delay): a count, then one line per entry, by name. Empty when none does.
pub fn schedule_alert_lines<'a>(entries: impl IntoIterator<Item = &'a EntryPlan>) -> Vec<String> {
    eligible_after_due_lines(
        entries
            .into_iter()
            .filter_map(|e| e.eligible_after_due().map(|l| (e.name.as_str(), l)))
            .collect(),
    )
}

/// The heading and one line per request (name, "due X, eligible Y") whose risk period ends
/// after it is due; nothing when there is none.
pub fn eligible_after_due_lines(late: Vec<(&str, String)>) -> Vec<String> {
    if late.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![format!(
        "Eligible after the due date: {} {} (Stripe's 90-day risk period ends after the \
         request is due; document the delay)",
        late.len(),
        if late.len() == 1 {
            "request"
        } else {
            "requests"
        }
    )];
    let width = late
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0);
    for (name, line) in late {
        lines.push(format!("  late      {name:<width$}  {line}"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(due: &str, days_left: i64, urgency: Option<Urgency>) -> DeadlineView {
        DeadlineView {
            regulation: Regulation::Gdpr,
            received: None,
            due: due.parse().unwrap(),
            extended_from: None,
            as_of: "2026-03-10".parse().unwrap(),
            days_left,
            due_soon_days: 7,
            urgency,
        }
    }

    #[test]
    fn alerts_list_overdue_then_due_soon_and_skip_the_rest() {
        let late = view("2026-03-01", -9, Some(Urgency::Overdue));
        let soon = view("2026-03-12", 2, Some(Urgency::DueSoon));
        let later = view("2026-05-01", 52, Some(Urgency::OnTrack));
        let done = view("2026-03-01", -9, None);
        let lines = alert_lines([
            ("b-soon", &soon),
            ("c-later", &later),
            ("d-done", &done),
            ("a-late", &late),
        ]);
        assert_eq!(
            lines,
            vec![
                "Deadlines on 2026-03-10: 1 overdue, 1 due within 7 days",
                "  OVERDUE   a-late  due 2026-03-01 (9 days overdue)",
                "  due soon  b-soon  due 2026-03-12 (2 days left)",
            ]
        );
        assert!(alert_lines([("c-later", &later), ("d-done", &done)]).is_empty());
    }

    #[test]
    fn only_a_redacted_or_canceled_convergence_is_done() {
        assert!(is_done(DesiredState::Redacted, Outcome::Converged));
        assert!(is_done(DesiredState::Canceled, Outcome::Converged));
        assert!(!is_done(DesiredState::Validated, Outcome::Converged));
        assert!(!is_done(DesiredState::Redacted, Outcome::Waiting));
    }
}
