//! The webhook trigger: accepts Stripe events on `--listen`, verifies their signature, and
//! asks the reconcile loop for an early pass. Stripe retries deliveries, so an event id seen
//! before is acknowledged (200) without triggering again.
//!
//! The listener faces the network, so it is bounded: at most [`Limits::max_connections`]
//! connections at once (more wait in the kernel's queue), each given
//! [`Limits::read_deadline`] to deliver its request — headers and body — after which it
//! is closed, and bodies over [`Limits::max_body_bytes`] refused. A thousand clients that
//! open a connection and send nothing (or a byte at a time) are dropped at their deadline
//! and cannot keep a valid event from being served.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

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

/// What the listener allows one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; further ones wait to be accepted.
    pub max_connections: usize,
    /// Time a connection has, from being accepted, to send its request (headers and body);
    /// then it is closed. Stripe sends an event in one short request.
    pub read_deadline: Duration,
    /// The largest request body read (Stripe's events are a few KiB).
    pub max_body_bytes: usize,
}

impl Default for Limits {
    /// 512 connections, 10 seconds, 2 MiB.
    fn default() -> Self {
        Limits {
            max_connections: 512,
            read_deadline: Duration::from_secs(10),
            max_body_bytes: 2 * 1024 * 1024,
        }
    }
}

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

/// Binds `addr` and serves until `shutdown` resolves, with the default [`Limits`]. Returns
/// the bound address (useful with port 0).
pub async fn serve(
    addr: SocketAddr,
    secret: Vec<u8>,
    trigger: Arc<Notify>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    serve_with_limits(addr, secret, trigger, shutdown, Limits::default()).await
}

/// [`serve`] with explicit limits.
pub async fn serve_with_limits(
    addr: SocketAddr,
    secret: Vec<u8>,
    trigger: Arc<Notify>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    limits: Limits,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let state = Arc::new(ListenerState {
        secret,
        trigger,
        seen: Mutex::new((HashSet::new(), VecDeque::new())),
    });
    let app = Router::new()
        .route("/", post(handle))
        .route("/{*path}", post(handle))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .with_state(state);
    let listener = BoundedListener {
        inner: TcpListener::bind(addr).await?,
        permits: Arc::new(Semaphore::new(limits.max_connections.max(1))),
        read_deadline: limits.read_deadline,
    };
    let bound = listener.inner.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
    });
    Ok((bound, task))
}

/// A TCP listener that hands out at most `permits` connections at once, each closed for
/// reading at its deadline.
struct BoundedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    read_deadline: Duration,
}

impl axum::serve::Listener for BoundedListener {
    type Io = DeadlineStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // The semaphore is never closed, so this only waits for a connection to end.
        let permit = loop {
            if let Ok(p) = self.permits.clone().acquire_owned().await {
                break p;
            }
        };
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let io = DeadlineStream {
                        stream,
                        deadline: Box::pin(tokio::time::sleep(self.read_deadline)),
                        _permit: permit,
                    };
                    return (io, addr);
                }
                // Out of file descriptors and the like: wait, as axum's own listener does.
                Err(e) => {
                    tracing::debug!(error = %e, "webhook listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection whose reads fail once its deadline passed (the server then closes it);
/// holds its connection slot until dropped.
struct DeadlineStream {
    stream: TcpStream,
    deadline: Pin<Box<Sleep>>,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for DeadlineStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // Polling the deadline also registers the wake-up for it while the read waits.
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(timed_out()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for DeadlineStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // A client that does not read its answer is not waited for either.
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(timed_out()));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

fn timed_out() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "the client took too long to send its request",
    )
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
