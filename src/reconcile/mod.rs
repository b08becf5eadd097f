//! Pieces of the long-running reconcile loop: webhook signature checks, the webhook
//! listener, and the one structured line each pass prints.

pub mod listener;
pub mod signature;

use serde::{Deserialize, Serialize};

/// Why a reconcile pass runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The first pass.
    #[default]
    Start,
    /// `--interval` passed without another trigger.
    Interval,
    /// A verified webhook asked for a pass.
    Webhook,
    /// SIGTERM or Ctrl-C: finish the current pass, start no other.
    Shutdown,
}

/// One line per pass (JSON on stdout), for log pipelines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassLine {
    pub pass: u64,
    pub time: String,
    pub trigger: Trigger,
    pub duration_ms: u64,
    pub entries: usize,
    pub converged: usize,
    pub waiting: usize,
    pub blocked: usize,
    /// Entries waiting for Stripe's 90-day risk period to end (revalidated on their date).
    #[serde(default)]
    pub scheduled: usize,
    /// Write requests made in this pass.
    pub actions: usize,
    pub failed: usize,
    /// Work found that the pass did not do (only follow-ups of the pass's own plan are done).
    pub not_approved: usize,
    /// Why the pass did nothing (bad manifests, a guard, Stripe unreachable…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
