//! Planning: the pure heart of redactctl. `plan(&Desired, &Live, &Options) -> Plan`
//! decides what to do; the views render a plan for people (human, Markdown) and machines
//! (JSON, which is also the plan file); `check_preconditions` and `approved_actions` let
//! `apply` execute exactly what a reviewer approved; `status_rows` summarises progress.
//! Nothing here does I/O.

mod approval;
mod deadlines;
mod file;
mod fixes;
mod index;
mod keys;
mod locks;
mod missing;
mod model;
mod planner;
mod provenance;
mod render;
mod scope;
pub mod signing;
mod status;

pub use approval::{approved_actions, check_preconditions};
pub use deadlines::{
    alert_lines, annotate_deadlines, deadline_view, is_done, schedule_alert_lines, DeadlineView,
};
pub use file::{parse_plan_file, plan_schema_json, PlanFileError};
pub use fixes::{
    fix_for, fix_of_error, is_risk_period, may_be_risk_period, ErrorContext, RISK_PERIOD_SECS,
    TRANSACTION_TYPES,
};
pub use keys::KEY_PREFIX;
pub use model::*;
pub use planner::plan;
pub use provenance::{missing_from_audit, provenance_from_audit};
pub use render::{
    closing_line, render_human, render_json, render_markdown, render_markdown_budgeted,
    MarkdownOptions, DEFAULT_MAX_BYTES, MIN_MAX_BYTES,
};
pub use scope::{check_planning_options, ScopeError};
pub use signing::{PlanKey, PlanKeyError, SignatureError, PLAN_KEY_ENV};
pub use status::{
    failing_rows, render_status_human, render_status_json, status_rows, status_rows_on, FailOn,
    StatusRow, StuckJob,
};

#[cfg(test)]
mod tests;
