//! The one table from outcomes and errors to exit codes (documented in
//! `docs/architecture.md`). Nothing else in redactctl picks an exit code.

use std::process::ExitCode;

use super::CliError;
use crate::apply::{ApplyReport, Ending};
use crate::plan::Plan;

/// Exit codes of the design's command table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success, converged, or nothing to do.
    Ok = 0,
    /// An error: bad input, a refused guard, a stale plan, a failed request.
    Error = 1,
    /// `plan --detailed-exitcode`: there are changes.
    Changes = 2,
    /// `apply`: a person must act (blocked entries).
    Blocked = 3,
    /// `apply --wait`: the time ran out before convergence.
    TimedOut = 4,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// Every error is exit 1: the message and its causes say which.
pub fn for_error(_error: &CliError) -> Exit {
    Exit::Error
}

/// `plan`: 0, or with `--detailed-exitcode` 2 when applying would write anything.
pub fn for_plan(plan: &Plan, detailed: bool) -> Exit {
    if detailed && plan.has_changes() {
        Exit::Changes
    } else {
        Exit::Ok
    }
}

/// `apply`: where the convergence ended.
pub fn for_apply(report: &ApplyReport) -> Exit {
    match report.ending {
        Ending::Done => Exit::Ok,
        Ending::Blocked => Exit::Blocked,
        Ending::TimedOut => Exit::TimedOut,
        Ending::Failed => Exit::Error,
    }
}
