//! `status`: one row per entry (jobs, statuses, progress), derived from the same planner so
//! that `status` and `plan` can never disagree about where an entry stands.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use super::model::{Options, Outcome};
use super::planner::plan;
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
}

impl StatusRow {
    /// Whether a person must act on this entry (for the CLI's summary and exit code).
    pub fn is_blocked(&self) -> bool {
        self.outcome == Outcome::Blocked
    }
}

/// One row per entry of `desired`, sorted by name.
pub fn status_rows(desired: &Desired, live: &Live) -> Vec<StatusRow> {
    let p = plan(desired, live, &Options::default());
    p.entries
        .into_iter()
        .map(|e| StatusRow {
            jobs: e.jobs.into_iter().map(|j| (j.id, j.status)).collect(),
            redacted: e.redacted.len(),
            declared: e.declared,
            outcome: e.outcome,
            state: e.outcome.label().to_string(),
            name: e.name,
            ticket: e.ticket,
        })
        .collect()
}

fn state_style(outcome: Outcome) -> Style {
    let c = match outcome {
        Outcome::Converged => AnsiColor::Green,
        Outcome::Blocked => AnsiColor::Red,
        Outcome::Changes => AnsiColor::Yellow,
        Outcome::Waiting => AnsiColor::Cyan,
    };
    Style::new().fg_color(Some(c.into()))
}

/// A table: NAME, TICKET, STATE, REDACTED, JOBS.
pub fn render_status_human(rows: &[StatusRow], color: bool) -> String {
    let header = ["NAME", "TICKET", "STATE", "REDACTED", "JOBS"];
    let cells: Vec<[String; 5]> = rows
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
            [
                r.name.clone(),
                r.ticket.clone().unwrap_or_else(|| "-".to_string()),
                r.state.clone(),
                format!("{}/{}", r.redacted, r.declared),
                jobs,
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, row: [&str; 5], state_style: Option<Style>| {
        let mut parts = Vec::new();
        for (i, c) in row.iter().enumerate() {
            let pad = " ".repeat(widths[i].saturating_sub(c.chars().count()));
            let text = match (i, state_style) {
                (2, Some(s)) if color => format!("{}{c}{}", s.render(), s.render_reset()),
                _ => c.to_string(),
            };
            if i + 1 == row.len() {
                parts.push(text);
            } else {
                parts.push(format!("{text}{pad}"));
            }
        }
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(&mut out, header, None);
    for (r, c) in rows.iter().zip(&cells) {
        line(
            &mut out,
            [&c[0], &c[1], &c[2], &c[3], &c[4]],
            Some(state_style(r.outcome)),
        );
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
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&rows).unwrap_or_default();
    s.push('\n');
    s
}
