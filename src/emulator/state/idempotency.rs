//! The idempotency store: the first result of every keyed request that began executing —
//! successes and errors alike, as Stripe saves them — replayed to retries with the same
//! key for a day. A retry with the same key and other parameters is refused.

use serde::{Deserialize, Serialize};

use super::{Namespace, World};

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
    /// `Request-Id` of the first request (sent back as `Original-Request`).
    #[serde(default)]
    pub request_id: String,
}

/// Idempotency keys are kept this long (Stripe: at least 24 hours).
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 3600 * 1000;

/// What the store says about a keyed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// Never seen (or expired): run it.
    Fresh,
    /// Seen with the same parameters: answer this again.
    Stored(IdempotentResult),
    /// Seen with other parameters: `idempotency_error`.
    Mismatch,
}

impl Namespace {
    /// Looks `key` up for a request with `fingerprint` at `now_ms`.
    pub fn idempotent_result(&self, key: &str, fingerprint: &str, now_ms: i64) -> Replay {
        match self.idempotency.get(key) {
            Some(prev) if now_ms.saturating_sub(prev.at_ms) < IDEMPOTENCY_TTL_MS => {
                if prev.fingerprint == fingerprint {
                    Replay::Stored(prev.clone())
                } else {
                    Replay::Mismatch
                }
            }
            _ => Replay::Fresh,
        }
    }

    /// Saves the first result for `key`.
    pub fn save_idempotent(&mut self, key: String, result: IdempotentResult) {
        self.idempotency.insert(key, result);
    }
}

impl World {
    /// Drops idempotency results older than the TTL.
    pub fn expire_idempotency(&mut self, now_ms: i64) {
        for ns in self.namespaces.values_mut() {
            ns.idempotency
                .retain(|_, r| now_ms.saturating_sub(r.at_ms) < IDEMPOTENCY_TTL_MS);
        }
    }
}
