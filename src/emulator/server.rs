//! The HTTP edge: one axum fallback handler that authenticates, rate-limits, injects
//! faults, parses the form, replays idempotent requests, calls [`api::dispatch`] under the
//! world lock, and writes Stripe's headers. Also the admin routes under `/_emulator/`,
//! the persistence writer and the webhook ticker.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use rand::Rng;
use serde_json::Value;
use tokio::sync::{mpsc, Notify};

use super::api::{self, ApiError, Ctx, Route};
use super::auth::{self, AuthError};
use super::clock::{system_now_ms, Clock};
use super::form;
use super::limits::{Fault, Faults, RateLimiter};
use super::persist;
use super::state::{Delays, Event, EventKind, IdempotentResult, World};
use super::stats::Stats;
use super::webhook;

/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;

/// State shared by the handler and the background tasks.
pub(crate) struct Shared {
    pub world: Mutex<World>,
    /// Customers, checkout sessions and what `find` counts (not persisted).
    pub directory: Mutex<super::customers::Directory>,
    pub delays: Delays,
    pub latency: Duration,
    pub account_id: Option<String>,
    pub clock: Clock,
    pub faults: Mutex<Faults>,
    pub limiter: Mutex<RateLimiter>,
    pub stats: Mutex<Stats>,
    pub webhook_tx: Option<mpsc::UnboundedSender<String>>,
    /// Bumped on every change; the persister writes when it moved.
    pub changes: AtomicU64,
    pub dirty: Arc<Notify>,
    pub state_file: Option<PathBuf>,
    /// Serializes state-file writes; holds the change count last written.
    pub write_lock: tokio::sync::Mutex<u64>,
}

/// Locks a mutex, recovering from poisoning (a panicking request must not take the
/// emulator down with it).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A random id such as `req_a1B2…` (14 characters after the prefix).
pub(crate) fn random_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    let body: String = (0..14)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    format!("{prefix}{body}")
}

impl Shared {
    fn mark_changed(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        self.dirty.notify_one();
    }

    /// Turns state-machine events into webhook payloads and queues them.
    fn publish(&self, world: &mut World, events: Vec<Event>) {
        let Some(tx) = &self.webhook_tx else {
            return;
        };
        for e in events {
            let object = match e.kind {
                EventKind::SessionRedacted => {
                    let rec = world.session(&e.ns, &e.subject, e.at_ms, &self.delays);
                    api::render_session(&rec, e.ns.livemode)
                }
                _ => match world.ns(&e.ns).and_then(|n| n.job(&e.subject)) {
                    Some(job) => api::render_job(job, true),
                    None => continue,
                },
            };
            let id = world.new_id("evt_");
            let payload = webhook::event_json(
                &id,
                e.kind.as_str(),
                e.at_ms.div_euclid(1000),
                e.ns.livemode,
                e.ns.account.as_deref(),
                object,
            );
            let _ = tx.send(payload.to_string());
        }
    }

    /// Writes the state file if anything changed since the last write.
    pub async fn flush(&self) {
        let Some(path) = &self.state_file else {
            return;
        };
        let mut last = self.write_lock.lock().await;
        let version = self.changes.load(Ordering::SeqCst);
        if version == *last {
            return;
        }
        let bytes = {
            let world = lock(&self.world);
            serde_json::to_vec(&*world)
        };
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => {
                tracing::error!("cannot serialize emulator state: {e}");
                return;
            }
        };
        let path = path.clone();
        match tokio::task::spawn_blocking(move || persist::save_bytes(&path, &bytes)).await {
            Ok(Ok(())) => *last = version,
            Ok(Err(e)) => tracing::error!("{e}"),
            Err(e) => tracing::error!("state writer failed: {e}"),
        }
    }
}

/// Writes the state file after changes, coalescing bursts.
pub(crate) async fn persister(shared: Arc<Shared>) {
    loop {
        shared.dirty.notified().await;
        shared.flush().await;
    }
}

/// Materializes time-driven transitions so their webhooks go out without a request.
pub(crate) async fn ticker(shared: Arc<Shared>) {
    let mut every = tokio::time::interval(Duration::from_millis(100));
    loop {
        every.tick().await;
        let now = shared.clock.now_ms();
        let mut world = lock(&shared.world);
        world.advance_all(now, &shared.delays);
        let events = world.drain_events();
        if !events.is_empty() {
            shared.publish(&mut world, events);
            drop(world);
            shared.mark_changed();
        }
    }
}

/// What a request ends with.
enum Outcome {
    Reply {
        status: u16,
        body: String,
        replayed: bool,
    },
    /// Close the connection with no answer.
    Drop,
}

impl Outcome {
    fn error(e: &ApiError) -> Outcome {
        Outcome::Reply {
            status: e.status,
            body: e.body().to_string(),
            replayed: false,
        }
    }
}

/// The one handler.
pub(crate) async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let request_id = random_id("req_");
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    if path == "/_emulator" || path.starts_with("/_emulator/") {
        return admin(&shared, &method, &path, &request_id);
    }
    let route = Route::parse(&method, &path);
    let template = match super::customers::Route::parse(&method, &path) {
        Some(r) => r.template(&method),
        None => route.template(&method),
    };
    let second = system_now_ms().div_euclid(1000);
    lock(&shared.stats).record_request(&template, second);
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    let idem_key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let version = req
        .headers()
        .get("stripe-version")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let outcome = process(&shared, req, &method, &path, &route, &template, second).await;
    match outcome {
        Outcome::Drop => {
            lock(&shared.stats).record_status(0);
            dropped()
        }
        Outcome::Reply {
            status,
            body,
            replayed,
        } => {
            lock(&shared.stats).record_status(status);
            let mut resp = Response::new(Body::from(body));
            *resp.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            insert(h, "request-id", &request_id);
            insert(
                h,
                "stripe-version",
                version.as_deref().unwrap_or(super::API_VERSION),
            );
            if method == "POST" {
                if let Some(k) = &idem_key {
                    insert(h, "idempotency-key", k);
                }
            }
            if replayed {
                insert(h, "idempotent-replayed", "true");
            }
            if status >= 500 {
                insert(h, "stripe-should-retry", "true");
            }
            resp
        }
    }
}

fn insert(h: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// A response whose body fails at once: hyper aborts the connection before writing
/// anything, so the client sees a network error, not an HTTP status.
fn dropped() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("emulated dropped connection"))
    });
    Response::new(Body::from_stream(stream))
}

async fn process(
    shared: &Shared,
    req: Request,
    method: &str,
    path: &str,
    route: &Route,
    template: &str,
    second: i64,
) -> Outcome {
    let headers = req.headers();
    let key = match auth::key_from_header(headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()))
    {
        Ok(k) => k,
        Err(e) => return Outcome::error(&ApiError::unauthorized(e.to_string())),
    };
    let info = match auth::check_key(&key, shared.account_id.as_deref()) {
        Ok(i) => i,
        Err(e) => return Outcome::error(&ApiError::unauthorized(e.to_string())),
    };
    drop(key);
    let ns = match auth::namespace(&info, headers.get("stripe-account").map(|v| v.as_bytes())) {
        Ok(ns) => ns,
        Err(e @ AuthError::BadAccount(_)) => {
            return Outcome::error(&ApiError::invalid(
                e.to_string(),
                Some("account_invalid"),
                None,
            ))
        }
        Err(e) => return Outcome::error(&ApiError::unauthorized(e.to_string())),
    };
    if !lock(&shared.limiter).admit(&info.key_hash, template, second) {
        return Outcome::error(&ApiError::rate_limited());
    }
    let fault = lock(&shared.faults).roll();
    match fault {
        Fault::FailBefore => return Outcome::error(&ApiError::internal()),
        Fault::DropBefore => return Outcome::Drop,
        _ => {}
    }
    let idem_key = if method == "POST" {
        headers
            .get("idempotency-key")
            .map(|v| v.to_str().map(str::to_string))
    } else {
        None
    };
    let idem_key = match idem_key {
        None => None,
        Some(Ok(k)) if !k.is_empty() && k.len() <= 255 => Some(k),
        Some(_) => {
            return Outcome::error(&ApiError::invalid(
                "Invalid Idempotency-Key header: it must be 1 to 255 printable characters.",
                None,
                None,
            ))
        }
    };
    let query = req.uri().query().unwrap_or("").to_string();
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return Outcome::error(&ApiError::invalid(
                "The request body could not be read or is larger than 1 MiB.",
                None,
                None,
            ))
        }
    };
    let mut params = match form::parse(query.as_bytes()) {
        Ok(p) => p,
        Err(e) => return Outcome::error(&ApiError::invalid(e.message, None, Some(&e.param))),
    };
    if method == "POST" {
        match form::parse(&body) {
            Ok(p) => params.extend(p),
            Err(e) => return Outcome::error(&ApiError::invalid(e.message, None, Some(&e.param))),
        }
    }
    let fingerprint = format!(
        "{method} {path} {}",
        serde_json::to_string(&params).unwrap_or_default()
    );

    let mut world = lock(&shared.world);
    let now_ms = shared.clock.now_ms();
    if let Some(k) = &idem_key {
        if let Some(prev) = world.ns_mut(&ns).idempotency.get(k) {
            if now_ms.saturating_sub(prev.at_ms) < super::state::IDEMPOTENCY_TTL_MS {
                if prev.fingerprint != fingerprint {
                    return Outcome::error(&ApiError::idempotency(k));
                }
                let out = Outcome::Reply {
                    status: prev.status,
                    body: prev.body.clone(),
                    replayed: true,
                };
                return after_fault(fault, out);
            }
        }
    }
    let ctx = Ctx {
        ns: &ns,
        account_id: &info.account_id,
        now_ms,
        delays: &shared.delays,
    };
    let dispatched = match super::customers::Route::parse(method, path) {
        Some(r) => super::customers::dispatch(&mut lock(&shared.directory), &ctx, &r, &params),
        None => api::dispatch(&mut world, &ctx, route, &params),
    };
    let (status, body): (u16, Value) = match dispatched {
        Ok(x) => x,
        Err(e) => (e.status, e.body()),
    };
    let body = body.to_string();
    if let Some(k) = idem_key {
        if (200..300).contains(&status) {
            let ns_state = world.ns_mut(&ns);
            ns_state.idempotency.insert(
                k,
                IdempotentResult {
                    fingerprint,
                    status,
                    body: body.clone(),
                    at_ms: now_ms,
                },
            );
            if ns_state.idempotency.len() % 1024 == 0 {
                world.expire_idempotency(now_ms);
            }
        }
    }
    let events = world.drain_events();
    let changed = method == "POST" || !events.is_empty();
    shared.publish(&mut world, events);
    drop(world);
    if changed {
        shared.mark_changed();
    }
    after_fault(
        fault,
        Outcome::Reply {
            status,
            body,
            replayed: false,
        },
    )
}

/// Applies an "after the change" fault to a finished request.
fn after_fault(fault: Fault, out: Outcome) -> Outcome {
    match fault {
        Fault::FailAfter => Outcome::error(&ApiError::internal()),
        Fault::DropAfter => Outcome::Drop,
        _ => out,
    }
}

/// `/_emulator/*`: no key, not counted.
fn admin(shared: &Shared, method: &str, path: &str, request_id: &str) -> Response {
    let (status, body) = match (method, path.trim_end_matches('/')) {
        ("GET", "/_emulator/stats") => (
            200,
            serde_json::to_string(&*lock(&shared.stats)).unwrap_or_default(),
        ),
        ("POST", "/_emulator/stats/reset") => {
            *lock(&shared.stats) = Stats::default();
            (
                200,
                serde_json::to_string(&Stats::default()).unwrap_or_default(),
            )
        }
        _ => (
            404,
            ApiError {
                status: 404,
                kind: "invalid_request_error",
                code: None,
                param: None,
                message: format!("Unrecognized emulator URL ({method}: {path})."),
            }
            .body()
            .to_string(),
        ),
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    insert(h, "request-id", request_id);
    resp
}
