//! Apply: approval, guards, executing actions, waiting and re-planning, the audit log.
//!
//! Level-triggered like a controller: every round re-reads the whole live state and asks
//! the planner what to do next, so a crash or a rerun is always safe. Only actions whose
//! signature the operator approved are performed; anything new a re-plan finds is reported,
//! never done.

pub mod approval;
pub mod audit;
mod converge;
pub mod execute;
pub mod guards;
pub mod interrupt;
mod looks;
pub mod progress;
pub mod provenance_log;
pub mod summary;
pub mod validations;

use std::time::Duration;

use audit::AuditError;
use execute::ActionResult;
use guards::GuardError;

pub use converge::converge;

use crate::observe::ObserveOptions;
use crate::plan::{self, Action, Plan};
use crate::stripe::StripeError;

/// Why apply stopped with an error (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Guard(#[from] GuardError),
    #[error(transparent)]
    Stripe(#[from] StripeError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("stale plan: {}; nothing was changed — run `redactctl plan` again", .0.join("; "))]
    Stale(Vec<String>),
    #[error("{0}")]
    Internal(String),
}

/// How apply goes about its work.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub parallelism: usize,
    /// `--wait`: how long to keep polling until converged; `None`: one pass plus the
    /// follow-ups possible at once.
    pub wait: Option<Duration>,
    pub planning: plan::Options,
    pub observe: ObserveOptions,
}

/// Where apply ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every entry converged, or only Stripe-side work is left (exit 0).
    Done,
    /// A person must act for some entry (exit 3).
    Blocked,
    /// `--wait` ran out before convergence (exit 4).
    TimedOut,
    /// Some writes failed and their entries did not converge (exit 1).
    Failed,
    /// SIGINT/SIGTERM: no new write was started after it (exit 128 + signal).
    Interrupted { signal: i32 },
}

/// Everything apply did and where it left things.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    pub ending: Ending,
    /// Every action attempted, in order, with its result.
    pub performed: Vec<(Action, ActionResult)>,
    /// Work a re-plan found that was not approved (reported, not done).
    pub not_approved: Vec<Action>,
    /// The last plan: where each entry stands now.
    pub last: Plan,
    /// Writes stopped because they were repeated without a change in what Stripe shows
    /// (one line each: "stopped: …").
    pub stopped: Vec<String>,
    /// Approved writes not started (when apply was interrupted or ran out of time).
    pub remaining: Vec<String>,
}

impl ApplyReport {
    /// Whether apply would otherwise call itself complete while steps the last plan still
    /// lists were not done (not approved, a lock, a race): then it is not complete.
    pub fn left_undone(&self) -> bool {
        self.ending == Ending::Done && !(self.not_approved.is_empty() && self.stopped.is_empty())
    }
}
