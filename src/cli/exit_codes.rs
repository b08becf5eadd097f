//! The one table from outcomes and errors to exit codes (documented in
//! `docs/architecture.md`). Nothing else in redactctl picks an exit code.

use std::process::ExitCode;

use super::CliError;
use crate::apply::{ApplyReport, Ending};
use crate::plan::Plan;

/// Exit codes of the design's command table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success, converged, or nothing to do now: `apply` with only Stripe-side work left,
    /// or with entries scheduled for the end of Stripe's 90-day risk period (nobody can act
    /// before that date; apply and reconcile revalidate them by themselves then).
    Ok = 0,
    /// An error: bad input, a refused guard, a stale plan, a failed request.
    Error = 1,
    /// `plan --detailed-exitcode`: there are changes.
    Changes = 2,
    /// `apply`: a person must act (blocked entries). A scheduled entry is not blocked.
    Blocked = 3,
    /// `apply --wait`: the time ran out before convergence.
    TimedOut = 4,
    /// `apply`: steps were left undone (not in the approved plan, or found since); the
    /// summary lists which and why.
    Undone = 5,
    /// `status --fail-on`: a request is overdue or due within the given days, or becomes
    /// eligible only after its due date.
    DeadlineAlert = 6,
    /// `find`: no customer or checkout session has the address (nothing written).
    NoMatch = 7,
    /// `apply`: stopped by SIGINT (128 + 2) after the writes in flight finished.
    Interrupted = 130,
    /// `apply`: stopped by SIGTERM (128 + 15) after the writes in flight finished.
    Terminated = 143,
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

/// `apply`: where the convergence ended; "done" with steps left undone is not success.
pub fn for_apply(report: &ApplyReport) -> Exit {
    match report.ending {
        Ending::Done if report.left_undone() => Exit::Undone,
        Ending::Done => Exit::Ok,
        Ending::Blocked => Exit::Blocked,
        Ending::TimedOut => Exit::TimedOut,
        Ending::Failed => Exit::Error,
        Ending::Interrupted { signal } if signal == crate::apply::interrupt::SIGTERM => {
            Exit::Terminated
        }
        Ending::Interrupted { .. } => Exit::Interrupted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{self, Options};

    fn report(ending: Ending, undone: bool) -> ApplyReport {
        let yaml = "version: 1\naccount:\n  mode: test\nredactions:\n  - name: dsr-1\n    objects:\n      customers: [cus_1]\n";
        let loaded = crate::manifest::load_bytes(std::path::Path::new("m.yaml"), yaml.into())
            .expect("a valid manifest");
        let last = plan::plan(
            &loaded.desired,
            &crate::observe::Live::default(),
            &Options::default(),
        );
        let not_approved = if undone {
            last.actions.first().cloned().into_iter().collect()
        } else {
            Vec::new()
        };
        ApplyReport {
            ending,
            performed: Vec::new(),
            not_approved,
            last,
            stopped: Vec::new(),
            remaining: Vec::new(),
        }
    }

    #[test]
    fn done_is_success_only_when_nothing_was_left_undone() {
        assert_eq!(for_apply(&report(Ending::Done, false)), Exit::Ok);
        assert_eq!(for_apply(&report(Ending::Done, true)), Exit::Undone);
        assert_eq!(Exit::Undone as u8, 5);
        let text = crate::apply::summary::render(&report(Ending::Done, true));
        assert!(!text.contains("Apply complete"), "{text}");
        assert!(text.contains("left undone"), "{text}");
    }

    #[test]
    fn the_other_endings_keep_their_codes() {
        assert_eq!(for_apply(&report(Ending::Blocked, true)), Exit::Blocked);
        assert_eq!(for_apply(&report(Ending::TimedOut, false)), Exit::TimedOut);
        assert_eq!(for_apply(&report(Ending::Failed, false)), Exit::Error);
    }
}
