//! Pieces of the long-running reconcile loop: webhook signature checks, the webhook
//! listener, and the one structured line each pass prints.

pub mod listener;
pub mod signature;

use serde::{Deserialize, Serialize};

/// One line per pass (JSON on stdout), for log pipelines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassLine {
    pub pass: u64,
    pub time: String,
    /// `start`, `interval` or `webhook`.
    pub trigger: String,
    pub duration_ms: u64,
    pub entries: usize,
    pub converged: usize,
    pub waiting: usize,
    pub blocked: usize,
    /// Write requests made in this pass.
    pub actions: usize,
    pub failed: usize,
    /// Work found that the pass did not do (only follow-ups of the pass's own plan are done).
    pub not_approved: usize,
    /// Why the pass did nothing (bad manifests, a guard, Stripe unreachable…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
