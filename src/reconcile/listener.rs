//! The webhook trigger: accepts Stripe events on `--listen`, verifies their signature, and
//! asks the reconcile loop for an early pass. Stripe retries deliveries, so an event id seen
//! before is acknowledged (200) without triggering again.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use tokio::sync::Notify;

use super::signature::{self, DEFAULT_TOLERANCE_SECS};

/// Event types that can change what a pass would do.
const TRIGGERS: &[&str] = &[
    "privacy.redaction_job.created",
    "privacy.redaction_job.ready",
    "privacy.redaction_job.succeeded",
    "privacy.redaction_job.canceled",
    "privacy.redaction_job.validation_error",
    "identity.verification_session.redacted",
];

/// How many event ids are remembered for de-duplication.
const SEEN_CAPACITY: usize = 10_000;

struct ListenerState {
    secret: Vec<u8>,
    trigger: Arc<Notify>,
    seen: Mutex<(HashSet<String>, VecDeque<String>)>,
}

/// What the handler decided, for its status code and body.
fn accept(
    state: &ListenerState,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> (StatusCode, String) {
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    if let Err(e) = signature::verify(header, body, &state.secret, now, DEFAULT_TOLERANCE_SECS) {
        tracing::warn!(error = %e, "webhook rejected");
        return (StatusCode::BAD_REQUEST, format!("rejected: {e}"));
    }
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (StatusCode::BAD_REQUEST, "rejected: body is not JSON".into());
    };
    let id = event.get("id").and_then(|v| v.as_str()).unwrap_or_default();
    let kind = event
        .get("type")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    if let Ok(mut seen) = state.seen.lock() {
        if !id.is_empty() {
            if seen.0.contains(id) {
                return (StatusCode::OK, "duplicate: already seen".into());
            }
            seen.0.insert(id.to_string());
            seen.1.push_back(id.to_string());
            if seen.1.len() > SEEN_CAPACITY {
                if let Some(old) = seen.1.pop_front() {
                    seen.0.remove(&old);
                }
            }
        }
    }
    if TRIGGERS.contains(&kind) {
        tracing::info!(event = %id, r#type = %kind, "webhook: early pass requested");
        state.trigger.notify_one();
        (StatusCode::OK, "accepted: pass requested".into())
    } else {
        (StatusCode::OK, "accepted: ignored type".into())
    }
}

/// Binds `addr` and serves until `shutdown` resolves. Returns the bound address through
/// `bound` (useful with port 0).
pub async fn serve(
    addr: SocketAddr,
    secret: Vec<u8>,
    trigger: Arc<Notify>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let state = Arc::new(ListenerState {
        secret,
        trigger,
        seen: Mutex::new((HashSet::new(), VecDeque::new())),
    });
    let app = Router::new()
        .route("/", post(handle))
        .route("/{*path}", post(handle))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
    });
    Ok((bound, task))
}

async fn handle(
    State(state): State<Arc<ListenerState>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    accept(&state, &headers, &body, unix_now())
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> ListenerState {
        ListenerState {
            secret: b"whsec_x".to_vec(),
            trigger: Arc::new(Notify::new()),
            seen: Mutex::new((HashSet::new(), VecDeque::new())),
        }
    }

    fn headers(sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("stripe-signature", sig.parse().unwrap());
        h
    }

    const BODY: &[u8] = br#"{"id":"evt_1","type":"privacy.redaction_job.ready"}"#;

    #[test]
    fn good_event_triggers_once_and_duplicates_do_not() {
        let s = state();
        let sig = signature::sign(BODY, b"whsec_x", 1000);
        assert_eq!(accept(&s, &headers(&sig), BODY, 1000).0, StatusCode::OK);
        let (code, body) = accept(&s, &headers(&sig), BODY, 1001);
        assert_eq!(code, StatusCode::OK);
        assert!(body.starts_with("duplicate"));
    }

    #[test]
    fn forged_and_stale_events_get_400() {
        let s = state();
        let forged = signature::sign(BODY, b"whsec_wrong", 1000);
        assert_eq!(
            accept(&s, &headers(&forged), BODY, 1000).0,
            StatusCode::BAD_REQUEST
        );
        let stale = signature::sign(BODY, b"whsec_x", 1000);
        assert_eq!(
            accept(&s, &headers(&stale), BODY, 2000).0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            accept(&s, &HeaderMap::new(), BODY, 1000).0,
            StatusCode::BAD_REQUEST
        );
    }
}
