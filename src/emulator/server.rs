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
use super::auth::{self, AuthError, Directory};
use super::clock::{system_now_ms, Clock};
use super::form;
use super::limits::{Fault, Faults, RateLimiter};
use super::persist;
use super::state::idempotency::Replay;
use super::state::{Delays, Event, EventKind, IdempotentResult, World};
use super::stats::Stats;
use super::webhook;

/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;

/// State shared by the handler and the background tasks.
pub(crate) struct Shared {
    pub world: Mutex<World>,
    /// Customers, checkout sessions and what `find` counts (not persisted).
    pub customers: Mutex<super::customers::Directory>,
    pub delays: Delays,
    pub latency: Duration,
    pub account_id: Option<String>,
    /// Keys and connected accounts declared by the fixtures.
    pub directory: Directory,
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
                    match world.session(&e.ns, &e.subject, e.at_ms, &self.delays) {
                        Ok(rec) => api::render_session(&rec, e.ns.livemode),
                        Err(_) => continue,
                    }
                }
                // Events carry the object as a retrieve without `expand` shows it.
                _ => match world.ns(&e.ns).and_then(|n| n.job(&e.subject)) {
                    Some(job) => api::render_job(job, false),
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
            let customers = lock(&self.customers);
            persist::to_bytes(&world, &customers)
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
        /// `Some(original request id)` when this is an idempotent replay.
        replayed: Option<String>,
        /// `Stripe-Should-Retry`, when the answer says.
        should_retry: Option<bool>,
    },
    /// Close the connection with no answer.
    Drop,
}

impl Outcome {
    /// An error answer; 5xx, 409 and 429 say a retry may succeed (nothing was saved).
    fn error(e: &ApiError) -> Outcome {
        let retry = e.status >= 500 || e.status == 409 || e.status == 429;
        Outcome::Reply {
            status: e.status,
            body: e.body().to_string(),
            replayed: None,
            should_retry: retry.then_some(true),
        }
    }
}

/// The one handler.
pub(crate) async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let request_id = random_id("req_");
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    if path == "/_emulator" || path.starts_with("/_emulator/") {
        return admin(
            &shared,
            &method,
            &path,
            req.uri().query().unwrap_or(""),
            &request_id,
        );
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
    let outcome = process(
        &shared,
        req,
        &method,
        &path,
        &route,
        &template,
        second,
        &request_id,
    )
    .await;
    match outcome {
        Outcome::Drop => {
            lock(&shared.stats).record_status(0);
            dropped()
        }
        Outcome::Reply {
            status,
            body,
            replayed,
            should_retry,
        } => {
            lock(&shared.stats).record_status(status);
            // Stripe's error bodies link to the request's log; a replay keeps the first
            // request's link, as the stored body does.
            let body = if status >= 400 && replayed.is_none() {
                with_log_url(&body, &request_id)
            } else {
                body
            };
            let mut resp = Response::new(Body::from(body));
            *resp.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            insert(h, "request-id", &request_id);
            // The emulator's clock, not the host's: a client dates its observation by
            // the server's `Date`, as Stripe's clock decides when 90 days have passed.
            insert(h, "date", &http_date(shared.clock.now()));
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
            if let Some(original) = &replayed {
                insert(h, "idempotent-replayed", "true");
                insert(h, "original-request", original);
            }
            if let Some(retry) = should_retry {
                insert(
                    h,
                    "stripe-should-retry",
                    if retry { "true" } else { "false" },
                );
            }
            insert(h, "redactctl-emulator", super::EMULATOR_VERSION);
            resp
        }
    }
}

/// Unix seconds as an HTTP date (`Tue, 01 Dec 2026 10:00:00 GMT`).
fn http_date(unix: i64) -> String {
    let t = u64::try_from(unix).unwrap_or(0);
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + Duration::from_secs(t))
}

/// Adds `request_log_url` to an error body (unchanged if it is not one).
fn with_log_url(body: &str, request_id: &str) -> String {
    let Ok(mut v) = serde_json::from_str::<Value>(body) else {
        return body.to_string();
    };
    match v.get_mut("error").and_then(Value::as_object_mut) {
        Some(e) => {
            e.insert(
                "request_log_url".into(),
                Value::String(format!(
                    "https://dashboard.stripe.com/test/logs/{request_id}"
                )),
            );
            v.to_string()
        }
        None => body.to_string(),
    }
}

/// Checks `Stripe-Version`: absent is the account's default (the preview version); a
/// malformed or unknown version is refused everywhere; a GA version cannot reach the
/// redaction-job resource, which only preview versions have.
fn check_version(version: Option<&str>, route: &Route) -> Result<(), ApiError> {
    let Some(v) = version else {
        return Ok(());
    };
    let (date, release) = match v.split_once('.') {
        Some((d, r)) => (d, Some(r)),
        None => (v, None),
    };
    let well_formed = is_date(date)
        && date >= FIRST_VERSION
        && release.is_none_or(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_lowercase()));
    if !well_formed {
        return Err(ApiError::invalid(
            format!("Invalid Stripe API version: {v}"),
            Some("invalid_api_version"),
            None,
        ));
    }
    let preview = release == Some("preview");
    let preview_only = !matches!(
        route,
        Route::Account
            | Route::GetSession(_)
            | Route::RedactSession(_)
            | Route::GetObject(..)
            | Route::Unknown
    );
    if preview_only && !preview {
        return Err(ApiError::invalid(
            format!("Redaction jobs are in public preview and need a preview API version (such as {}); Stripe-Version {v} is not one.", super::API_VERSION),
            Some("invalid_api_version"),
            None,
        ));
    }
    Ok(())
}

/// `YYYY-MM-DD` with a plausible month and day.
fn is_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str, len: usize| {
        (p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
    };
    match parts.as_slice() {
        [y, m, d] => {
            num(y, 4).is_some()
                && num(m, 2).is_some_and(|m| (1..=12).contains(&m))
                && num(d, 2).is_some_and(|d| (1..=31).contains(&d))
        }
        _ => false,
    }
}

/// The oldest API version Stripe has (older dates are not versions).
const FIRST_VERSION: &str = "2011-01-01";

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

#[allow(clippy::too_many_arguments)]
async fn process(
    shared: &Shared,
    req: Request,
    method: &str,
    path: &str,
    route: &Route,
    template: &str,
    second: i64,
    request_id: &str,
) -> Outcome {
    let headers = req.headers();
    let key = match auth::key_from_header(headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()))
    {
        Ok(k) => k,
        Err(e) => return Outcome::error(&ApiError::unauthorized(e.to_string())),
    };
    let info = match auth::check_key_in(&key, shared.account_id.as_deref(), &shared.directory) {
        Ok(i) => i,
        Err(e) => return Outcome::error(&ApiError::unauthorized(e.to_string())),
    };
    drop(key);
    let ns = match auth::namespace(
        &info,
        headers.get("stripe-account").map(|v| v.as_bytes()),
        &shared.directory,
    ) {
        Ok(ns) => ns,
        Err(e @ AuthError::BadAccount(_)) => {
            return Outcome::error(&ApiError::invalid(
                e.to_string(),
                Some("account_invalid"),
                None,
            ))
        }
        Err(e @ AuthError::NotConnected { .. }) => {
            return Outcome::error(&ApiError {
                status: 403,
                kind: "invalid_request_error",
                code: Some("account_invalid"),
                param: None,
                message: e.to_string(),
            })
        }
        Err(e) => return Outcome::error(&ApiError::unauthorized(e.to_string())),
    };
    let writes = *route != Route::Unknown || super::customers::Route::parse(method, path).is_some();
    if info.read_only && method == "POST" && writes {
        return Outcome::error(&ApiError {
            status: 403,
            kind: "invalid_request_error",
            code: None,
            param: None,
            message: auth::read_only_message(&info),
        });
    }
    if let (true, Route::GetObject(object, _)) = (info.redaction_only, route) {
        return Outcome::error(&ApiError {
            status: 403,
            kind: "invalid_request_error",
            code: None,
            param: None,
            message: auth::missing_permission_message(
                &info,
                super::objects::read_permission(object),
            ),
        });
    }
    let version = headers
        .get("stripe-version")
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    if let Err(e) = check_version(version, route) {
        return Outcome::error(&e);
    }
    // Stripe's limits are per account, whichever of its keys sends the request.
    if !lock(&shared.limiter).admit(&info.account_id, template, second) {
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
        match world.ns_mut(&ns).idempotent_result(k, &fingerprint, now_ms) {
            Replay::Fresh => {}
            Replay::Mismatch => return Outcome::error(&ApiError::idempotency(k)),
            Replay::Stored(prev) => {
                let out = Outcome::Reply {
                    status: prev.status,
                    should_retry: should_retry_replayed(prev.status),
                    body: prev.body,
                    replayed: Some(prev.request_id),
                };
                // A replay changes nothing, so a fault "after the change" is only a
                // lost answer.
                return match fault {
                    Fault::DropAfter => Outcome::Drop,
                    _ => out,
                };
            }
        }
    }
    let ctx = Ctx {
        ns: &ns,
        account_id: &info.account_id,
        now_ms,
        delays: &shared.delays,
        method,
        path,
    };
    let dispatched = match super::customers::Route::parse(method, path) {
        Some(r) => super::customers::dispatch(&mut lock(&shared.customers), &ctx, &r, &params),
        None => {
            // Parameters that fail validation: nothing is saved, a retry with the same
            // key runs.
            let call = match api::parse_call(&ctx, route, &params) {
                Ok(c) => c,
                Err(e) => return Outcome::error(&e),
            };
            api::execute(&mut world, &ctx, &call)
        }
    };
    let (mut status, body): (u16, Value) = match dispatched {
        Ok(x) => x,
        Err(e) => (e.status, e.body()),
    };
    let mut body = body.to_string();
    // "500 after the write": the change is made and the 500 is what Stripe saves.
    if fault == Fault::FailAfter {
        let e = ApiError::internal();
        status = e.status;
        body = e.body().to_string();
    }
    if (400..600).contains(&status) {
        body = with_log_url(&body, request_id);
    }
    let keyed = idem_key.is_some();
    if let Some(k) = idem_key {
        let ns_state = world.ns_mut(&ns);
        ns_state.save_idempotent(
            k,
            IdempotentResult {
                fingerprint,
                status,
                body: body.clone(),
                at_ms: now_ms,
                request_id: request_id.to_string(),
            },
        );
        if ns_state.idempotency.len() % 1024 == 0 {
            world.expire_idempotency(now_ms);
        }
    }
    let events = world.drain_events();
    let changed = method == "POST" || !events.is_empty();
    shared.publish(&mut world, events);
    drop(world);
    if changed {
        shared.mark_changed();
    }
    match fault {
        Fault::DropAfter => Outcome::Drop,
        _ => Outcome::Reply {
            status,
            should_retry: if status >= 500 {
                // Saved under the key (when there is one): a retry with that key gets
                // the same 500, which is what Stripe says with `false`.
                Some(!keyed)
            } else if status == 409 || status == 429 {
                Some(true)
            } else {
                None
            },
            body,
            replayed: None,
        },
    }
}

/// `Stripe-Should-Retry` of a replayed answer: a replayed error would be replayed again.
fn should_retry_replayed(status: u16) -> Option<bool> {
    (status >= 400).then_some(false)
}

/// The `seconds` of `/_emulator/clock/advance?seconds=N`.
fn advance_seconds(query: &str) -> Option<u64> {
    form::parse(query.as_bytes())
        .ok()?
        .get("seconds")?
        .as_str()?
        .parse()
        .ok()
}

/// `/_emulator/*`: no key, not counted.
fn admin(shared: &Shared, method: &str, path: &str, query: &str, request_id: &str) -> Response {
    let clock = |shared: &Shared| {
        serde_json::json!({
            "now": shared.clock.now(),
            "manual": shared.clock.is_manual(),
        })
        .to_string()
    };
    let (status, body) = match (method, path.trim_end_matches('/')) {
        ("GET", "/_emulator/clock") => (200, clock(shared)),
        // `?seconds=N`: moves the emulator's clock N seconds ahead (jobs, sessions and
        // the 90-day rule all read it).
        ("POST", "/_emulator/clock/advance") => match advance_seconds(query) {
            Some(n) => {
                shared.clock.advance(Duration::from_secs(n));
                (200, clock(shared))
            }
            None => (
                400,
                ApiError::invalid(
                    "Pass the number of seconds to advance as ?seconds=N (a non-negative integer).",
                    Some("parameter_missing"),
                    Some("seconds"),
                )
                .body()
                .to_string(),
            ),
        },
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
    insert(h, "redactctl-emulator", super::EMULATOR_VERSION);
    resp
}
