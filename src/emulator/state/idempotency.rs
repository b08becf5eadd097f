//! The idempotency store: the first result of every keyed request, replayed to retries
//! with the same key for a day.

use serde::{Deserialize, Serialize};

use super::World;

/// A stored idempotent result (kept with the state so replays survive a restart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotentResult {
    /// Method, path and canonical parameters of the first request.
    pub fingerprint: String,
    /// HTTP status of the first answer.
    pub status: u16,
    /// Body of the first answer.
    pub body: String,
    /// Unix ms of the first request.
    pub at_ms: i64,
}

/// Idempotency keys are kept this long (Stripe: at least 24 hours).
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 3600 * 1000;

impl World {
    /// Drops idempotency results older than the TTL.
    pub fn expire_idempotency(&mut self, now_ms: i64) {
        for ns in self.namespaces.values_mut() {
            ns.idempotency
                .retain(|_, r| now_ms.saturating_sub(r.at_ms) < IDEMPOTENCY_TTL_MS);
        }
    }
}
