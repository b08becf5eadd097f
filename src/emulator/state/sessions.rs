//! Identity verification sessions and their own redaction path.

use super::super::graph::{ObjectRecord, SessionRedaction};
use super::jobs::{Delays, StateError};
use super::{NsKey, World};

/// Stripe's object type of a verification session.
pub const SESSION_TYPE: &str = "identity.verification_session";

/// The statuses of a session (the SDK's, plus `requires_action`, which the redact
/// endpoint's documentation names).
pub const SESSION_STATUSES: [&str; 5] = [
    "requires_input",
    "processing",
    "verified",
    "canceled",
    "requires_action",
];

impl World {
    /// A verification session as of `now_ms`. An id no fixture describes is a 404,
    /// unless the policy says unknown objects exist (then: `verified`, not redacted).
    pub fn session(
        &mut self,
        key: &NsKey,
        id: &str,
        now_ms: i64,
        delays: &Delays,
    ) -> Result<ObjectRecord, StateError> {
        self.advance(key, now_ms, delays);
        let exist = self.policy.unknown_objects_exist;
        let mut rec = match self.ns_mut(key).objects.get(id) {
            Some(r) if r.object_type == SESSION_TYPE => r.clone(),
            None if exist && id.starts_with("vs_") => ObjectRecord::unknown(id),
            _ => {
                return Err(StateError::NotFound {
                    kind: SESSION_TYPE,
                    id: id.to_string(),
                })
            }
        };
        if rec.state.is_none() {
            rec.state = Some("verified".into());
        }
        Ok(rec)
    }

    /// `POST /v1/identity/verification_sessions/:id/redact`.
    pub fn redact_session(
        &mut self,
        key: &NsKey,
        id: &str,
        now_ms: i64,
        delays: &Delays,
    ) -> Result<ObjectRecord, StateError> {
        let current = self.session(key, id, now_ms, delays)?;
        if current.redaction.is_some() {
            return Ok(current);
        }
        let state = current.state.clone().unwrap_or_default();
        let new_state = match state.as_str() {
            "requires_input" | "verified" => state.clone(),
            "requires_action" => "canceled".to_string(),
            other => return Err(StateError::SessionWrongStatus(other.to_string())),
        };
        let ns = self.ns_mut(key);
        let rec = ns.object_mut(id);
        rec.state = Some(new_state);
        rec.redaction = Some(SessionRedaction {
            status: "processing".into(),
            since_ms: now_ms,
        });
        let out = rec.clone();
        ns.sessions_processing.insert(id.to_string());
        // Like a job's create answering `validating`, the redact call answers
        // `processing` even with no delay; the next read shows `redacted`.
        Ok(out)
    }
}
