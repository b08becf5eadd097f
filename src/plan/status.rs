//! `status`: one row per entry (jobs, statuses, progress), derived from the same planner so
//! that `status` and `plan` can never disagree about where an entry stands.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use super::deadlines::{
    alert_lines, deadline_view, eligible_after_due_lines, is_done, DeadlineView,
};
use super::model::{Options, Outcome};
use super::planner::plan;
use crate::deadline::{self, Date, Urgency};
use crate::manifest::Desired;
use crate::observe::Live;
use crate::stripe::models::JobStatus;

/// One entry's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub name: String,
    pub ticket: Option<String>,
    /// The entry's jobs (canceled ones omitted), by creation: id and status.
    pub jobs: Vec<(String, JobStatus)>,
    /// Declared objects already redacted.
    pub redacted: usize,
    /// Declared objects.
    pub declared: usize,
    /// The planner's classification of the entry.
    pub outcome: Outcome,
    /// Its label ([`Outcome::label`]): `converged`, `pending` (redactctl has work to do),
    /// `in progress` (Stripe has), or `blocked` (a person must act).
    pub state: String,
    /// Due date and days left, when the entry declares a deadline and the rows were made
    /// with [`status_rows_on`].
    pub deadline: Option<DeadlineView>,
    /// Jobs `validating` or `redacting` for longer than Stripe's 30 days.
    pub stuck_jobs: Vec<StuckJob>,
    /// For a scheduled entry: the day Stripe's 90-day risk period ends for its last
    /// scheduled job.
    pub eligible_on: Option<Date>,
}

/// A job that has been validating or redacting for longer than Stripe says it takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StuckJob {
    pub id: String,
    pub status: String,
    /// Days since the job was created.
    pub days: i64,
}

impl StatusRow {
    /// Whether a person must act on this entry (for the CLI's summary and exit code).
    pub fn is_blocked(&self) -> bool {
        self.outcome == Outcome::Blocked
    }

    /// The state as people read it: "scheduled: eligible on 2027-01-12" for a scheduled
    /// entry, else the label.
    pub fn state_text(&self) -> String {
        match (self.outcome, self.eligible_on) {
            (Outcome::Scheduled, Some(d)) => format!("scheduled: eligible on {d}"),
            _ => self.state.clone(),
        }
    }

    /// "due 2026-12-20, eligible 2027-01-12" when the entry becomes eligible only after
    /// its due date.
    pub fn eligible_after_due(&self) -> Option<String> {
        let (eligible, due) = (self.eligible_on?, self.deadline.as_ref()?.due);
        (eligible > due).then(|| format!("due {due}, eligible {eligible}"))
    }
}

/// One row per entry of `desired`, sorted by name, without deadlines (no date known).
pub fn status_rows(desired: &Desired, live: &Live) -> Vec<StatusRow> {
    rows(desired, live, None)
}

/// One row per entry, with each entry's due date and days left as of `today` ("due
/// soon" looks `due_soon_days` ahead) and the jobs stuck longer than 30 days.
pub fn status_rows_on(
    desired: &Desired,
    live: &Live,
    today: Date,
    due_soon_days: u32,
) -> Vec<StatusRow> {
    rows(desired, live, Some((today, due_soon_days)))
}

fn rows(desired: &Desired, live: &Live, clock: Option<(Date, u32)>) -> Vec<StatusRow> {
    let p = plan(desired, live, &Options::default());
    p.entries
        .into_iter()
        .map(|e| {
            let (deadline, stuck_jobs) = match clock {
                Some((today, window)) => {
                    let done = is_done(e.state, e.outcome);
                    let view = desired
                        .entry(&e.name)
                        .and_then(|d| deadline_view(d, done, today, window));
                    let stuck = e
                        .jobs
                        .iter()
                        .filter(|j| {
                            matches!(j.status, JobStatus::Validating | JobStatus::Redacting)
                        })
                        .filter(|j| deadline::job_is_stuck(j.created, today))
                        .map(|j| StuckJob {
                            id: j.id.clone(),
                            status: j.status.to_string(),
                            days: Date::from_unix(j.created).days_until(today),
                        })
                        .collect();
                    (view, stuck)
                }
                None => (None, Vec::new()),
            };
            StatusRow {
                eligible_on: e.eligible_on(),
                jobs: e.jobs.into_iter().map(|j| (j.id, j.status)).collect(),
                redacted: e.redacted.len(),
                declared: e.declared,
                outcome: e.outcome,
                state: e.outcome.label().to_string(),
                name: e.name,
                ticket: e.ticket,
                deadline,
                stuck_jobs,
            }
        })
        .collect()
}

/// What `status --fail-on` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Some open request is past its due date.
    Overdue,
    /// Some open request is due within this many days (or overdue).
    DueWithin(u32),
    /// Some scheduled request becomes eligible (Stripe's 90-day risk period ends) only
    /// after its due date.
    EligibleAfterDue,
}

/// A `--fail-on` condition that is neither `overdue` nor `due-within=DAYSd`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}`: expected `overdue`, `due-within=DAYSd` (e.g. `due-within=7d`) or `eligible-after-due`"
)]
pub struct FailOnError(pub String);

impl std::str::FromStr for FailOn {
    type Err = FailOnError;

    /// `overdue` or `due-within=7d` (also `due-within=7`).
    fn from_str(s: &str) -> Result<FailOn, FailOnError> {
        match s {
            "overdue" => return Ok(FailOn::Overdue),
            "eligible-after-due" => return Ok(FailOn::EligibleAfterDue),
            _ => {}
        }
        let bad = || FailOnError(s.to_string());
        let days = s.strip_prefix("due-within=").ok_or_else(bad)?;
        let days = days.strip_suffix('d').unwrap_or(days);
        days.parse::<u32>()
            .map(FailOn::DueWithin)
            .map_err(|_| bad())
    }
}

impl FailOn {
    /// Whether this row's request trips the condition (done requests never do).
    pub fn trips(self, row: &StatusRow) -> bool {
        if self == FailOn::EligibleAfterDue {
            return row.eligible_after_due().is_some();
        }
        let Some(d) = &row.deadline else {
            return false;
        };
        match (self, d.urgency) {
            (_, None) => false,
            (FailOn::Overdue, Some(u)) => u == Urgency::Overdue,
            (FailOn::DueWithin(n), Some(_)) => d.days_left <= i64::from(n),
            (FailOn::EligibleAfterDue, _) => false,
        }
    }

    /// The look-ahead the condition implies for "due soon" highlighting.
    pub fn window(conditions: &[FailOn]) -> u32 {
        conditions
            .iter()
            .filter_map(|c| match c {
                FailOn::DueWithin(n) => Some(*n),
                FailOn::Overdue | FailOn::EligibleAfterDue => None,
            })
            .max()
            .unwrap_or(deadline::DEFAULT_DUE_SOON_DAYS)
    }
}

/// The names of the rows that trip any of `conditions`.
pub fn failing_rows<'r>(rows: &'r [StatusRow], conditions: &[FailOn]) -> Vec<&'r str> {
    rows.iter()
        .filter(|r| conditions.iter().any(|c| c.trips(r)))
        .map(|r| r.name.as_str())
        .collect()
}

/// The lines above the table: overdue and due-soon requests, then stuck jobs.
fn status_alerts(rows: &[StatusRow]) -> Vec<String> {
    let mut lines = alert_lines(
        rows.iter()
            .filter_map(|r| r.deadline.as_ref().map(|d| (r.name.as_str(), d))),
    );
    let late: Vec<(&str, String)> = rows
        .iter()
        .filter_map(|r| r.eligible_after_due().map(|l| (r.name.as_str(), l)))
        .collect();
    lines.extend(eligible_after_due_lines(late));
    for r in rows {
        for j in &r.stuck_jobs {
            lines.push(format!(
                "warning: job {} of {} has been {} for {} days (Stripe takes up to {}); ask Stripe support",
                j.id,
                r.name,
                j.status,
                j.days,
                deadline::STUCK_JOB_DAYS
            ));
        }
    }
    lines
}

/// "2026-03-01 (9 days overdue)", "2026-03-01 (done)".
fn due_cell(d: &DeadlineView) -> String {
    match d.urgency {
        None => format!("{} (done)", d.due),
        Some(_) => format!("{} ({})", d.due, deadline::days_left_phrase(d.days_left)),
    }
}

fn due_style(d: Option<&DeadlineView>) -> Option<Style> {
    match d.and_then(|d| d.urgency) {
        Some(Urgency::Overdue) => Some(Style::new().fg_color(Some(AnsiColor::Red.into())).bold()),
        Some(Urgency::DueSoon) => Some(Style::new().fg_color(Some(AnsiColor::Yellow.into()))),
        _ => None,
    }
}

fn state_style(state: &str) -> Style {
    let c = match state {
        "converged" => AnsiColor::Green,
        "blocked" => AnsiColor::Red,
        "pending" => AnsiColor::Yellow,
        _ => AnsiColor::Cyan,
    };
    Style::new().fg_color(Some(c.into()))
}

/// A table: NAME, TICKET, STATE, (DUE,) REDACTED, JOBS; the DUE column only when some
/// entry has a deadline, and above the table the overdue and due-soon requests and stuck
/// jobs.
pub fn render_status_human(rows: &[StatusRow], color: bool) -> String {
    let with_due = rows.iter().any(|r| r.deadline.is_some());
    let mut header = vec!["NAME", "TICKET", "STATE"];
    if with_due {
        header.push("DUE");
    }
    header.extend(["REDACTED", "JOBS"]);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let jobs = if r.jobs.is_empty() {
                "-".to_string()
            } else {
                r.jobs
                    .iter()
                    .map(|(id, s)| format!("{id} {s}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut row = vec![
                r.name.clone(),
                r.ticket.clone().unwrap_or_else(|| "-".to_string()),
                r.state_text(),
            ];
            if with_due {
                row.push(
                    r.deadline
                        .as_ref()
                        .map(due_cell)
                        .unwrap_or_else(|| "-".to_string()),
                );
            }
            row.extend([format!("{}/{}", r.redacted, r.declared), jobs]);
            row
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let paint = |style: Style, text: &str| {
        if color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    };
    let alerts = status_alerts(rows);
    for line in &alerts {
        let style = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
        let _ = writeln!(out, "{}", paint(style, line));
    }
    if !alerts.is_empty() {
        out.push('\n');
    }
    let line = |out: &mut String, row: &[&str], styles: &[Option<Style>]| {
        let mut parts = Vec::new();
        for (i, c) in row.iter().enumerate() {
            let pad = " ".repeat(widths[i].saturating_sub(c.chars().count()));
            let text = match styles.get(i).copied().flatten() {
                Some(s) => paint(s, c),
                None => c.to_string(),
            };
            if i + 1 == row.len() {
                parts.push(text);
            } else {
                parts.push(format!("{text}{pad}"));
            }
        }
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(&mut out, &header, &[]);
    for (r, c) in rows.iter().zip(&cells) {
        let mut styles = vec![None, None, Some(state_style(&r.state))];
        if with_due {
            styles.push(due_style(r.deadline.as_ref()));
        }
        let row: Vec<&str> = c.iter().map(String::as_str).collect();
        line(&mut out, &row, &styles);
    }
    out
}

#[derive(Serialize)]
struct JobJson<'a> {
    id: &'a str,
    status: &'a str,
}

#[derive(Serialize)]
struct RowJson<'a> {
    name: &'a str,
    ticket: Option<&'a str>,
    state: &'a str,
    redacted: usize,
    declared: usize,
    jobs: Vec<JobJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deadline: Option<&'a DeadlineView>,
    #[serde(skip_serializing_if = "<[StuckJob]>::is_empty")]
    stuck_jobs: &'a [StuckJob],
    #[serde(skip_serializing_if = "Option::is_none")]
    eligible_on: Option<Date>,
}

/// A JSON array of rows (`jobs` as `{id, status}` objects), pretty, with a trailing
/// newline.
pub fn render_status_json(rows: &[StatusRow]) -> String {
    let rows: Vec<RowJson<'_>> = rows
        .iter()
        .map(|r| RowJson {
            name: &r.name,
            ticket: r.ticket.as_deref(),
            state: &r.state,
            redacted: r.redacted,
            declared: r.declared,
            jobs: r
                .jobs
                .iter()
                .map(|(id, s)| JobJson {
                    id,
                    status: s.as_str(),
                })
                .collect(),
            deadline: r.deadline.as_ref(),
            stuck_jobs: &r.stuck_jobs,
            eligible_on: r.eligible_on,
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&rows).unwrap_or_default();
    s.push('\n');
    s
}
