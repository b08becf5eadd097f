//! What identifies an action: its reviewer-facing [`Signature`] (independent of the job
//! ids Stripe assigns, so an approval survives a re-plan) and its idempotency key
//! (deterministic, so a rerun after a crash replays a request instead of repeating it).
//!
//! Key rules:
//! - A key derives from what the request *is* — account, mode, operation, sorted objects,
//!   behaviour, the job or session acted on, and the context that makes a legitimate repeat
//!   distinct — never from the entry's name: the same objects declared under two names
//!   (a rename racing a scheduled apply) make the same create, which Stripe then runs once.
//! - Stripe replays the saved result of a keyed request for 24 hours, errors included: a
//!   key that once ended in an error would return that error for a day. So each key has an
//!   attempt number; after a keyed write ended in an error, the next attempt of the same
//!   action uses the next number (the audit log records which keys ended in an error, see
//!   `apply::audit`). A crash between sending and recording leaves no error recorded, so
//!   the retry reuses the same key and Stripe replays instead of doing it twice.
//! - An `update` Stripe carried out spends its key too: the same update is asked for again
//!   only when the behaviour was switched back in between (error → fix → error → fix), and
//!   under the old key Stripe would replay the first answer and change nothing.

use sha2::{Digest, Sha256};

use super::model::{Action, Op, Signature};
use crate::stripe::models::Mode;

/// Prefix of every idempotency key, so keys are recognisable in Stripe's request logs.
pub const KEY_PREFIX: &str = "redactctl-";

impl Action {
    /// What a reviewer approved: entry, operation, sorted objects (or the session).
    pub fn signature(&self) -> Signature {
        let mut objects = if self.session.is_some() {
            Vec::new()
        } else {
            self.objects.clone()
        };
        objects.sort();
        objects.dedup();
        Signature {
            entry: self.entry.clone(),
            op: self.op,
            objects,
            session: self.session.clone(),
        }
    }

    /// The `Idempotency-Key` for this action's first attempt: `redactctl-` + hex SHA-256
    /// over account, mode, op, sorted objects, behaviour, job id (job actions), session and
    /// [`Action::key_context`] — not the entry's name. The context makes legitimate repeats
    /// distinct: a re-create after a cancel, a new validation attempt. 74 characters, well
    /// under Stripe's 255.
    pub fn idempotency_key(&self, account: &str, mode: Mode) -> String {
        self.idempotency_key_attempt(account, mode, 0)
    }

    /// The key for attempt `attempt` of this action (0: the first). Attempt 0 is
    /// [`Action::idempotency_key`]; each later attempt's key differs, so that a request
    /// whose earlier attempt Stripe answered with an error (and would replay for 24 hours)
    /// is sent afresh.
    pub fn idempotency_key_attempt(&self, account: &str, mode: Mode, attempt: u32) -> String {
        let mut h = Sha256::new();
        let mut field = |label: &str, value: &str| {
            // Length-prefixed so that no two different inputs hash the same bytes.
            h.update(label.as_bytes());
            h.update((value.len() as u64).to_be_bytes());
            h.update(value.as_bytes());
        };
        field("account", account);
        field("mode", mode.as_str());
        field("op", self.op.as_str());
        let mut objects = self.objects.clone();
        objects.sort();
        objects.dedup();
        for o in &objects {
            field("object", &format!("{}:{}", o.kind.as_str(), o.id));
        }
        field(
            "behavior",
            self.validation_behavior.map(|b| b.as_str()).unwrap_or(""),
        );
        if self.op != Op::Create {
            field("job", self.job.as_deref().unwrap_or(""));
        }
        field("session", self.session.as_deref().unwrap_or(""));
        let mut context = self.key_context.clone();
        context.sort();
        context.dedup();
        for c in &context {
            field("context", c);
        }
        if attempt > 0 {
            field("attempt", &attempt.to_string());
        }
        format!("{KEY_PREFIX}{}", hex::encode(h.finalize()))
    }
}
