//! The clock of a deletion request: when it was received, which law it falls under, when
//! it is due (with an extension, if one was notified in time), how many days are left, and
//! whether it was completed late.
//!
//! Everything here is pure: "today" is always an argument. Only [`clock::today`] reads the
//! system clock (or `REDACTCTL_TODAY`), and only the edges call it. The rules and their
//! sources are documented in `docs/deadlines.md`.

pub mod clock;
mod date;
mod law;

use serde::{Deserialize, Serialize};

pub use date::{days_in_month, Date, DateError};
pub use law::{Period, Regulation, Rule};

/// How many days ahead "due soon" looks by default.
pub const DEFAULT_DUE_SOON_DAYS: u32 = 7;

/// How long a job may stay `validating` or `redacting` before it is flagged: Stripe says a
/// job can take up to 30 days; longer means something is wrong.
pub const STUCK_JOB_DAYS: i64 = 30;

/// An extension of the deadline, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// The new due date.
    pub until: Date,
    /// Why (the laws require a reason to be given to the requester).
    pub reason: String,
    /// The day the requester was told.
    pub notified: Date,
}

/// An entry's deadline fields, as declared (after `defaults`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineSpec {
    pub regulation: Option<Regulation>,
    pub received: Option<Date>,
    /// Only with `regulation: custom`.
    pub due: Option<Date>,
    pub extension: Option<Extension>,
}

impl DeadlineSpec {
    /// Whether the entry says anything about its deadline.
    pub fn is_empty(&self) -> bool {
        self == &DeadlineSpec::default()
    }
}

/// The field a [`Problem`] is about, so that the manifest checks can point at its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Regulation,
    Received,
    Due,
    Extension,
    ExtensionUntil,
    ExtensionNotified,
}

/// Something wrong with an entry's deadline fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: Field,
    /// An error (the manifest is refused) or only a warning.
    pub error: bool,
    pub message: String,
    pub hint: String,
}

fn problem(field: Field, message: String, hint: impl Into<String>) -> Problem {
    Problem {
        field,
        error: true,
        message,
        hint: hint.into(),
    }
}

/// Checks an entry's deadline fields against its law and against `today` (none: the
/// checks that need the date are skipped). `require_received`: the project demands a
/// `received:` on every entry.
pub fn check(spec: &DeadlineSpec, require_received: bool, today: Option<Date>) -> Vec<Problem> {
    let mut out = Vec::new();
    if let (Some(received), Some(today)) = (spec.received, today) {
        if received > today {
            out.push(problem(
                Field::Received,
                format!("`received: {received}` is in the future (today is {today})"),
                "write the day the request arrived",
            ));
        }
    }
    let needs_received =
        require_received || spec.regulation.is_some_and(|r| r != Regulation::Custom);
    if spec.received.is_none() && needs_received {
        let why = match spec.regulation {
            Some(r) if r != Regulation::Custom => {
                format!("`regulation: {r}` counts from the day the request was received")
            }
            _ => "the manifests require it (`defaults.require_received: true`)".to_string(),
        };
        out.push(problem(
            Field::Received,
            format!("missing `received:`: {why}"),
            "add `received: YYYY-MM-DD`, the day the request arrived",
        ));
    }
    match spec.regulation {
        Some(Regulation::Custom) => match (spec.due, spec.received) {
            (None, _) => out.push(problem(
                Field::Regulation,
                "`regulation: custom` needs `due:`".to_string(),
                "add `due: YYYY-MM-DD`, or name a regulation redactctl knows",
            )),
            (Some(due), Some(received)) if due < received => out.push(problem(
                Field::Due,
                format!("`due: {due}` is before `received: {received}`"),
                "check both dates",
            )),
            _ => {}
        },
        Some(reg) => {
            if let Some(due) = spec.due {
                out.push(problem(
                    Field::Due,
                    format!(
                        "`due: {due}` is only for `regulation: custom`; `{reg}` sets the due date"
                    ),
                    "remove `due:`, or use `regulation: custom`",
                ));
            }
        }
        None => {
            if spec.due.is_some() {
                out.push(problem(
                    Field::Due,
                    "`due:` without `regulation: custom`".to_string(),
                    "add `regulation: custom`",
                ));
            }
            if spec.received.is_some() && !require_received {
                out.push(Problem {
                    field: Field::Received,
                    error: false,
                    message: "`received:` without `regulation:`: no due date can be computed"
                        .to_string(),
                    hint: "add `regulation:` to the entry or to `defaults`".to_string(),
                });
            }
        }
    }
    if let Some(ext) = &spec.extension {
        check_extension(spec, ext, today, &mut out);
    }
    out
}

fn check_extension(
    spec: &DeadlineSpec,
    ext: &Extension,
    today: Option<Date>,
    out: &mut Vec<Problem>,
) {
    let Some(reg) = spec.regulation else {
        out.push(problem(
            Field::Extension,
            "`extension:` without `regulation:`: there is no deadline to extend".to_string(),
            "add `regulation:` to the entry or to `defaults`",
        ));
        return;
    };
    if let Some(today) = today {
        if ext.notified > today {
            out.push(problem(
                Field::ExtensionNotified,
                format!(
                    "`notified: {}` is in the future (today is {today})",
                    ext.notified
                ),
                "record the extension once the requester has been told",
            ));
        }
    }
    if let Some(received) = spec.received {
        if ext.notified < received {
            out.push(problem(
                Field::ExtensionNotified,
                format!(
                    "`notified: {}` is before `received: {received}`",
                    ext.notified
                ),
                "check both dates",
            ));
        }
    }
    if ext.reason.trim().is_empty() {
        out.push(problem(
            Field::Extension,
            "`extension.reason` is empty".to_string(),
            "the requester must be told why; record the reason given",
        ));
    }
    let (base_due, notify_by, max) = match reg.rule() {
        None => match spec.due {
            Some(due) => (due, due, None),
            None => return,
        },
        Some(rule) => {
            let Some(received) = spec.received else {
                return;
            };
            let Some(max) = rule.max_extension(received) else {
                out.push(problem(
                    Field::Extension,
                    format!("`{reg}` allows no extension ({})", rule.source),
                    format!(
                        "remove `extension:`; the request is due {}",
                        rule.due(received)
                    ),
                ));
                return;
            };
            (
                rule.due(received),
                rule.notify_by(received),
                Some((max, rule.source)),
            )
        }
    };
    if ext.until <= base_due {
        out.push(Problem {
            field: Field::ExtensionUntil,
            error: false,
            message: format!(
                "`until: {}` does not extend anything: the request is due {base_due} anyway",
                ext.until
            ),
            hint: "remove `extension:`, or correct `until:`".to_string(),
        });
    }
    if let Some((max, source)) = max {
        if ext.until > max {
            out.push(problem(
                Field::ExtensionUntil,
                format!(
                    "`until: {}` is beyond what `{reg}` allows: at most {max} ({source})",
                    ext.until
                ),
                format!("the latest lawful extension is `until: {max}`"),
            ));
        }
    }
    if ext.notified > notify_by {
        out.push(problem(
            Field::ExtensionNotified,
            format!(
                "`notified: {}` is too late: `{reg}` requires notice by {notify_by}, the end of the first period",
                ext.notified
            ),
            "an extension notified late is not valid; the request was due on the original date",
        ));
    }
}

/// An entry's due date, worked out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    pub regulation: Regulation,
    pub received: Option<Date>,
    /// Without extension.
    pub due: Date,
    /// The extension's `until`, when the entry has one.
    pub extended_until: Option<Date>,
}

impl Deadline {
    /// The date that counts: the extension's, or the original.
    pub fn effective_due(&self) -> Date {
        self.extended_until.unwrap_or(self.due)
    }

    /// Days from `today` to the due date: 0 on the due day, negative once overdue.
    pub fn days_left(&self, today: Date) -> i64 {
        today.days_until(self.effective_due())
    }

    /// Where the request stands on `today` if it is still open.
    pub fn urgency(&self, today: Date, due_soon_days: u32) -> Urgency {
        classify(self.days_left(today), due_soon_days)
    }

    /// Whether a request completed at `completed_at` (Unix seconds, UTC) was late.
    pub fn completion(&self, completed_at: i64) -> Completion {
        let on = Date::from_unix(completed_at);
        let days = self.effective_due().days_until(on);
        Completion {
            due: self.effective_due(),
            completed_on: on,
            late: days > 0,
            days_late: days.max(0),
        }
    }
}

/// The due date of an entry, when its fields give one (a law and `received:`, or
/// `custom` and `due:`). Assumes `check` found no error.
pub fn deadline(spec: &DeadlineSpec) -> Option<Deadline> {
    let regulation = spec.regulation?;
    let due = match regulation.rule() {
        Some(rule) => rule.due(spec.received?),
        None => spec.due?,
    };
    Some(Deadline {
        regulation,
        received: spec.received,
        due,
        extended_until: spec.extension.as_ref().map(|e| e.until),
    })
}

/// Where an open request stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Past its due date.
    Overdue,
    /// Due within the look-ahead (today included).
    DueSoon,
    /// Further away.
    OnTrack,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Overdue => "overdue",
            Urgency::DueSoon => "due soon",
            Urgency::OnTrack => "on track",
        }
    }
}

/// Overdue below 0 days left; due soon from 0 to `due_soon_days`; on track beyond.
pub fn classify(days_left: i64, due_soon_days: u32) -> Urgency {
    if days_left < 0 {
        Urgency::Overdue
    } else if days_left <= i64::from(due_soon_days) {
        Urgency::DueSoon
    } else {
        Urgency::OnTrack
    }
}

/// What a receipt says about timeliness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    /// The date that counted (extension included).
    pub due: Date,
    /// The UTC day of completion.
    pub completed_on: Date,
    /// Completed after the due day.
    pub late: bool,
    /// 0 when on time.
    pub days_late: i64,
}

/// For receipts: whether an entry completed at `completed_at` (Unix seconds, e.g. the
/// `succeeded` job's time) met its due date; `None` when the entry has no due date.
pub fn completion_of(spec: &DeadlineSpec, completed_at: i64) -> Option<Completion> {
    deadline(spec).map(|d| d.completion(completed_at))
}

/// "3 days left", "due today", "2 days overdue": the phrase every view uses.
pub fn days_left_phrase(days_left: i64) -> String {
    match days_left {
        0 => "due today".to_string(),
        1 => "1 day left".to_string(),
        n if n > 1 => format!("{n} days left"),
        -1 => "1 day overdue".to_string(),
        n => format!("{} days overdue", -n),
    }
}

/// Whether a job `validating`/`redacting` since `created` (Unix seconds) has been so for
/// longer than Stripe's 30 days on `today`. Counted from creation: Stripe shows no
/// status-change time, so this over-counts the time spent validating by the time a job
/// sat in `ready` before `run` — a flag to look, not a verdict.
pub fn job_is_stuck(created: i64, today: Date) -> bool {
    Date::from_unix(created).days_until(today) > STUCK_JOB_DAYS
}

#[cfg(test)]
mod tests;
