//! The typed Stripe client: one method per call redactctl makes, and one request loop that
//! every call goes through (headers, rate limits, concurrency, retries, decoding, logging).
//!
//! The client never invents an idempotency key: the caller derives it from what the request
//! means, so that a rerun after a crash replays instead of duplicating.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tracing::{debug, trace, Instrument};
use url::Url;

use crate::kinds::ObjectRef;

use super::encode::{self, ListQuery, Params};
use super::error::StripeError;
use super::key::ApiKey;
use super::limiter::RateLimiter;
use super::models::{
    Account, ErrorBody, JobStatus, JobValidationError, List, Mode, RedactionJob,
    ValidationBehavior, VerificationSession,
};
use super::paging::Cursor;
use super::retry::{is_retryable, parse_should_retry, RetryPolicy};
use super::DEFAULT_STRIPE_VERSION;

/// Stripe's limit on root objects per redaction job.
pub use crate::domain::MAX_OBJECTS_PER_JOB;
/// Stripe's limit on the length of an idempotency key.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
/// The page size used by auto-paging (Stripe's maximum).
pub const PAGE_SIZE: u32 = 100;
/// The largest response body read, by default: a page of 100 jobs with their objects and
/// embedded validation errors is a few hundred KiB, so 8 MiB leaves room and still bounds
/// what a broken or hostile server can make the client hold.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Everything the client needs; [`ClientConfig::new`] fills in the defaults.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://api.stripe.com`, or an emulator's address.
    pub api_base: String,
    /// Sent as `Authorization: Bearer`; never logged.
    pub key: ApiKey,
    /// Sent as `Stripe-Version` (redaction jobs need a preview version).
    pub stripe_version: String,
    /// Sent as `Stripe-Account` to act on a connected account.
    pub stripe_account: Option<String>,
    /// Requests per second per key; `None`: Stripe's account limit, 25 in test mode and
    /// 100 in live mode (the limiter's slack keeps it under). `Some(0)`: unlimited.
    pub rate_limit: Option<u32>,
    /// Requests per second per endpoint (route template); 0: unlimited.
    pub endpoint_rate_limit: u32,
    /// Requests in flight at once, at most.
    pub max_concurrency: usize,
    /// Which failures are retried, how often and how patiently.
    pub retry: RetryPolicy,
    /// Time allowed for one attempt (connect, send, read the whole body).
    pub timeout: Duration,
    /// Time allowed to connect, and then between two reads of the response (headers or
    /// body): a server that stops sending is given up on well before `timeout`.
    pub idle_timeout: Duration,
    /// The largest response body read; a longer one ends the request with an error.
    pub max_body_bytes: usize,
}

impl ClientConfig {
    /// Stripe's defaults: the pinned preview version, no connected account, 25/100 req/s per
    /// key, 25 req/s per endpoint, 8 requests in flight, [`RetryPolicy::default`], 80 s per
    /// attempt (Stripe's own SDK timeout).
    pub fn new(api_base: impl Into<String>, key: ApiKey) -> Self {
        ClientConfig {
            api_base: api_base.into(),
            key,
            stripe_version: DEFAULT_STRIPE_VERSION.to_string(),
            stripe_account: None,
            rate_limit: None,
            endpoint_rate_limit: 25,
            max_concurrency: 8,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(80),
            idle_timeout: Duration::from_secs(30),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// The per-key rate in force (the mode's default when unset).
    pub fn effective_rate_limit(&self) -> u32 {
        self.rate_limit
            .unwrap_or_else(|| super::limiter::default_account_limit(self.key.mode()))
    }
}

/// A successful response and what it took to get it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent<T> {
    /// The decoded object.
    pub value: T,
    /// Stripe's `Request-Id` (for the audit log and for Stripe support).
    pub request_id: Option<String>,
    /// The HTTP status of the successful attempt.
    pub status: u16,
    /// Attempts made, the successful one included.
    pub attempts: u32,
    /// `Idempotent-Replayed: true`: Stripe had already applied this request.
    pub replayed: bool,
}

/// The Stripe client. Cheap to clone; clones share the connection pool, the rate limiter,
/// the concurrency limit and the request counter.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    key: ApiKey,
    stripe_version: HeaderValue,
    stripe_account: Option<HeaderValue>,
    retry: RetryPolicy,
    limiter: RateLimiter,
    /// The limiter's rates: per key, per endpoint (0: unlimited).
    rates: (u32, u32),
    in_flight: Semaphore,
    sent: AtomicU64,
    max_body_bytes: usize,
    /// A response named itself an emulator (`Redactctl-Emulator` header): the writes do
    /// not go to Stripe, and the plan and apply say so.
    emulator_seen: std::sync::atomic::AtomicBool,
    /// The latest `Date` a response carried (unix seconds; 0: none yet): the server's
    /// clock, which decides when Stripe's 90 days have passed.
    server_time: std::sync::atomic::AtomicI64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .field("key", &self.inner.key)
            .finish_non_exhaustive()
    }
}

/// One logical request (retried as a whole).
pub(super) struct Request<'a> {
    pub(super) method: Method,
    /// The route template (`/v1/privacy/redaction_jobs/:id/run`): rate-limit key and log field.
    pub(super) route: &'static str,
    /// Path segments after the base URL (percent-encoded when joined).
    pub(super) segments: Vec<&'a str>,
    pub(super) query: Params,
    pub(super) form: Params,
    pub(super) idempotency_key: Option<&'a str>,
}

/// What one attempt produced.
enum Attempt {
    Response {
        status: u16,
        request_id: Option<String>,
        should_retry: Option<bool>,
        replayed: bool,
        body: bytes::Bytes,
    },
    Network(String),
    /// The body went past the size limit: not retried (the next answer would be as long).
    TooLarge(String),
}

impl Client {
    /// Builds a client. Fails on a base URL that is not http(s) or a header value that
    /// cannot be sent; sends nothing.
    pub fn new(cfg: ClientConfig) -> Result<Client, StripeError> {
        let base = Url::parse(&cfg.api_base)
            .map_err(|e| StripeError::Config(format!("API base `{}`: {e}", cfg.api_base)))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(StripeError::Config(format!(
                "API base `{}` is not an http(s) URL",
                cfg.api_base
            )));
        }
        let stripe_version = HeaderValue::from_str(&cfg.stripe_version).map_err(|_| {
            StripeError::Config("Stripe-Version is not a valid header value".into())
        })?;
        let stripe_account = cfg
            .stripe_account
            .as_deref()
            .map(HeaderValue::from_str)
            .transpose()
            .map_err(|_| {
                StripeError::Config("Stripe-Account is not a valid header value".into())
            })?;
        // Checked once here so that building the header later cannot fail.
        auth_header(&cfg.key)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("redactctl/", env!("CARGO_PKG_VERSION")))
            .timeout(cfg.timeout)
            .connect_timeout(cfg.idle_timeout.min(cfg.timeout))
            .read_timeout(cfg.idle_timeout.min(cfg.timeout))
            .build()
            .map_err(|e| StripeError::Config(format!("HTTP client: {e}")))?;
        let rate = cfg.effective_rate_limit();
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                key: cfg.key,
                stripe_version,
                stripe_account,
                retry: cfg.retry,
                limiter: RateLimiter::new(rate, cfg.endpoint_rate_limit),
                rates: (rate, cfg.endpoint_rate_limit),
                in_flight: Semaphore::new(cfg.max_concurrency.max(1)),
                sent: AtomicU64::new(0),
                max_body_bytes: cfg.max_body_bytes.max(1),
                emulator_seen: std::sync::atomic::AtomicBool::new(false),
                server_time: std::sync::atomic::AtomicI64::new(0),
            }),
        })
    }

    /// The key's mode.
    pub fn mode(&self) -> Mode {
        self.inner.key.mode()
    }

    /// Whether a response so far said it came from redactctl's emulator rather than
    /// Stripe (the emulator sends `Redactctl-Emulator` on every response; Stripe does not).
    pub fn talks_to_emulator(&self) -> bool {
        self.inner.emulator_seen.load(Ordering::Relaxed)
    }

    /// The server's clock as its latest response's `Date` header gave it (unix seconds),
    /// when one did.
    pub fn server_time(&self) -> Option<i64> {
        Some(self.inner.server_time.load(Ordering::Relaxed)).filter(|t| *t > 0)
    }

    /// The API base URL requests go to (what caches and saved plans are bound to).
    pub fn api_base(&self) -> &str {
        self.inner.base.as_str()
    }

    /// A 32-byte key for `purpose`, derived from the API key with HMAC-SHA256 (the API key
    /// is the HMAC key, `purpose` the message). Whoever holds it cannot recover the API
    /// key; whoever lacks the API key cannot compute it. Used to authenticate files that
    /// redactctl writes and later trusts (the job cache).
    pub fn derived_key(&self, purpose: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut out = [0u8; 32];
        if let Ok(mut mac) =
            <Hmac<sha2::Sha256> as Mac>::new_from_slice(self.inner.key.expose().as_bytes())
        {
            mac.update(purpose.as_bytes());
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        out
    }

    /// Whether two endpoints can each go at their full rate at once: the per-key limit is
    /// at least twice the per-endpoint one (live mode's 100 against 25), or either is off.
    /// Then a write endpoint left idle is time lost; in test mode's 25 per key, every
    /// request takes a slot from another.
    pub fn endpoints_in_parallel(&self) -> bool {
        let (key, endpoint) = self.inner.rates;
        key == 0 || endpoint == 0 || key >= 2 * endpoint
    }

    /// Whether a `POST` to `route` (a route template, `/v1/privacy/redaction_jobs/:id/run`)
    /// would wait for its rate budget if sent now. Nothing is taken.
    pub fn write_would_wait(&self, route: &str) -> bool {
        self.inner.limiter.would_wait(&format!("POST {route}"))
    }

    /// HTTP requests actually sent by this client and its clones, retries included.
    pub fn requests_sent(&self) -> u64 {
        self.inner.sent.load(Ordering::Relaxed)
    }

    /// `POST /v1/privacy/redaction_jobs`: a new job for 1 to 10 objects.
    pub async fn create_job(
        &self,
        objects: &[ObjectRef],
        behavior: Option<&ValidationBehavior>,
        idempotency_key: &str,
    ) -> Result<Sent<RedactionJob>, StripeError> {
        let mut form = encode::objects_params(objects);
        if form.is_empty() {
            return Err(StripeError::InvalidRequest(
                "a redaction job needs at least one object".into(),
            ));
        }
        if form.len() > MAX_OBJECTS_PER_JOB {
            return Err(StripeError::InvalidRequest(format!(
                "a redaction job holds at most {MAX_OBJECTS_PER_JOB} objects, not {}",
                form.len()
            )));
        }
        if let Some(b) = behavior {
            form.push(encode::behavior_param(b));
        }
        self.send(Request {
            method: Method::POST,
            route: "/v1/privacy/redaction_jobs",
            segments: vec!["v1", "privacy", "redaction_jobs"],
            query: Params::new(),
            form,
            idempotency_key: Some(idempotency_key),
        })
        .await
        .map_err(outcome_of_create)
    }

    /// `POST /v1/privacy/redaction_jobs/:id`: changes `validation_behavior`.
    pub async fn update_job(
        &self,
        id: &str,
        behavior: &ValidationBehavior,
        idempotency_key: &str,
    ) -> Result<Sent<RedactionJob>, StripeError> {
        self.send(Request {
            method: Method::POST,
            route: "/v1/privacy/redaction_jobs/:id",
            segments: vec!["v1", "privacy", "redaction_jobs", id],
            query: Params::new(),
            form: vec![encode::behavior_param(behavior)],
            idempotency_key: Some(idempotency_key),
        })
        .await
    }

    /// `POST /v1/privacy/redaction_jobs/:id/validate` (allowed when `failed`).
    pub async fn validate_job(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<Sent<RedactionJob>, StripeError> {
        self.job_action(
            id,
            "validate",
            "/v1/privacy/redaction_jobs/:id/validate",
            idempotency_key,
        )
        .await
    }

    /// `POST /v1/privacy/redaction_jobs/:id/run` (allowed when `ready`). Irreversible.
    pub async fn run_job(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<Sent<RedactionJob>, StripeError> {
        self.job_action(
            id,
            "run",
            "/v1/privacy/redaction_jobs/:id/run",
            idempotency_key,
        )
        .await
    }

    /// `POST /v1/privacy/redaction_jobs/:id/cancel` (allowed when `ready` or `failed`).
    pub async fn cancel_job(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<Sent<RedactionJob>, StripeError> {
        self.job_action(
            id,
            "cancel",
            "/v1/privacy/redaction_jobs/:id/cancel",
            idempotency_key,
        )
        .await
    }

    async fn job_action(
        &self,
        id: &str,
        action: &str,
        route: &'static str,
        idempotency_key: &str,
    ) -> Result<Sent<RedactionJob>, StripeError> {
        self.send(Request {
            method: Method::POST,
            route,
            segments: vec!["v1", "privacy", "redaction_jobs", id, action],
            query: Params::new(),
            form: Params::new(),
            idempotency_key: Some(idempotency_key),
        })
        .await
    }

    /// `GET /v1/privacy/redaction_jobs/:id` with `objects` expanded.
    pub async fn retrieve_job(&self, id: &str) -> Result<Sent<RedactionJob>, StripeError> {
        self.send(Request {
            method: Method::GET,
            route: "/v1/privacy/redaction_jobs/:id",
            segments: vec!["v1", "privacy", "redaction_jobs", id],
            query: encode::expand_params(&["objects"]),
            form: Params::new(),
            idempotency_key: None,
        })
        .await
    }

    /// Every job (of `status`, when given), newest first, objects expanded: pages of 100
    /// followed with `starting_after` until `has_more` is false.
    pub async fn list_jobs(
        &self,
        status: Option<&JobStatus>,
    ) -> Result<Vec<RedactionJob>, StripeError> {
        let q = ListQuery {
            limit: Some(PAGE_SIZE),
            status: status.cloned(),
            expand_objects: true,
            ..ListQuery::default()
        };
        self.all_pages(
            "/v1/privacy/redaction_jobs",
            vec!["v1", "privacy", "redaction_jobs"],
            q,
            |j: &RedactionJob| j.id.clone(),
        )
        .await
    }

    /// `GET /v1/privacy/redaction_jobs`: one page, exactly as asked (for caches that page
    /// by hand).
    pub async fn list_jobs_page(
        &self,
        q: &ListQuery,
    ) -> Result<Sent<List<RedactionJob>>, StripeError> {
        self.send(Request {
            method: Method::GET,
            route: "/v1/privacy/redaction_jobs",
            segments: vec!["v1", "privacy", "redaction_jobs"],
            query: q.params(),
            form: Params::new(),
            idempotency_key: None,
        })
        .await
    }

    /// Every validation error of a job (all pages).
    pub async fn list_validation_errors(
        &self,
        job_id: &str,
    ) -> Result<Vec<JobValidationError>, StripeError> {
        let q = ListQuery {
            limit: Some(PAGE_SIZE),
            ..ListQuery::default()
        };
        self.all_pages(
            "/v1/privacy/redaction_jobs/:id/validation_errors",
            vec![
                "v1",
                "privacy",
                "redaction_jobs",
                job_id,
                "validation_errors",
            ],
            q,
            |e: &JobValidationError| e.id.clone(),
        )
        .await
    }

    /// Every item of a list endpoint: follows `starting_after` from page to page until
    /// `has_more` is false. A page that repeats an id already seen (the cursor does not
    /// advance), an empty page with `has_more`, or an endless list stop with an error.
    async fn all_pages<T: DeserializeOwned>(
        &self,
        route: &'static str,
        segments: Vec<&str>,
        mut q: ListQuery,
        id_of: fn(&T) -> String,
    ) -> Result<Vec<T>, StripeError> {
        let mut all = Vec::new();
        let mut cursor = Cursor::new(route);
        loop {
            let page: List<T> = self
                .send(Request {
                    method: Method::GET,
                    route,
                    segments: segments.clone(),
                    query: q.params(),
                    form: Params::new(),
                    idempotency_key: None,
                })
                .await?
                .value;
            let ids: Vec<String> = page.data.iter().map(id_of).collect();
            cursor.check_page(ids.iter().map(String::as_str))?;
            cursor.check_more(page.data.is_empty(), page.has_more)?;
            let next = ids.last().cloned();
            all.extend(page.data);
            match next {
                Some(last) if page.has_more => q.starting_after = Some(last),
                _ => return Ok(all),
            }
        }
    }

    /// `GET /v1/identity/verification_sessions/:id`.
    pub async fn retrieve_session(
        &self,
        id: &str,
    ) -> Result<Sent<VerificationSession>, StripeError> {
        self.send(Request {
            method: Method::GET,
            route: "/v1/identity/verification_sessions/:id",
            segments: vec!["v1", "identity", "verification_sessions", id],
            query: Params::new(),
            form: Params::new(),
            idempotency_key: None,
        })
        .await
    }

    /// `POST /v1/identity/verification_sessions/:id/redact`. Irreversible.
    pub async fn redact_session(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<Sent<VerificationSession>, StripeError> {
        self.send(Request {
            method: Method::POST,
            route: "/v1/identity/verification_sessions/:id/redact",
            segments: vec!["v1", "identity", "verification_sessions", id, "redact"],
            query: Params::new(),
            form: Params::new(),
            idempotency_key: Some(idempotency_key),
        })
        .await
    }

    /// `GET /v1/account`: the account the key belongs to.
    pub async fn retrieve_account(&self) -> Result<Sent<Account>, StripeError> {
        self.send(Request {
            method: Method::GET,
            route: "/v1/account",
            segments: vec!["v1", "account"],
            query: Params::new(),
            form: Params::new(),
            idempotency_key: None,
        })
        .await
    }

    /// The request loop: checks, then attempts with backoff until success, a final
    /// failure, or the retry policy says stop.
    pub(super) async fn send<T: DeserializeOwned>(
        &self,
        req: Request<'_>,
    ) -> Result<Sent<T>, StripeError> {
        let url = self.url(&req)?;
        let idempotency = match req.idempotency_key {
            Some(k) => Some(check_idempotency_key(k)?),
            None if req.method == Method::POST => {
                return Err(StripeError::InvalidRequest(
                    "a POST needs the caller's idempotency key".into(),
                ))
            }
            None => None,
        };
        let body = (req.method == Method::POST).then(|| encode::encode(&req.form));
        let limit_key = format!("{} {}", req.method, req.route);
        let span = tracing::debug_span!("stripe", method = %req.method, route = req.route);
        async {
            let started = Instant::now();
            let mut attempt = 0u32;
            loop {
                attempt += 1;
                let outcome = self
                    .attempt(
                        &req.method,
                        &url,
                        &limit_key,
                        body.as_deref(),
                        idempotency.as_ref(),
                        attempt,
                    )
                    .await;
                let (retryable, err) = match outcome {
                    Attempt::Network(message) => (is_retryable(None, None), Err(message)),
                    Attempt::TooLarge(message) => {
                        return Err(StripeError::Hostile {
                            route: format!("{} {}", req.method, req.route),
                            message,
                        })
                    }
                    Attempt::Response {
                        status,
                        request_id,
                        should_retry,
                        replayed,
                        body,
                    } => {
                        if (200..300).contains(&status) {
                            return decode_success(status, request_id, replayed, attempt, &body);
                        }
                        let err = decode_failure(status, request_id, &body);
                        (is_retryable(Some(status), should_retry), Ok(err))
                    }
                };
                let delay = if retryable {
                    self.inner
                        .retry
                        .next_delay(attempt, started.elapsed(), rand::random::<f64>())
                } else {
                    None
                };
                match (delay, err) {
                    (Some(d), _) => {
                        debug!(attempt, delay_ms = d.as_millis() as u64, "retrying");
                        tokio::time::sleep(d).await;
                    }
                    (None, Ok(api_err)) => return Err(api_err),
                    (None, Err(message)) => {
                        return Err(StripeError::Network {
                            message,
                            attempts: attempt,
                        })
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    /// One HTTP exchange, under the concurrency limit and the rate limits.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        limit_key: &str,
        body: Option<&str>,
        idempotency: Option<&HeaderValue>,
        attempt: u32,
    ) -> Attempt {
        // The rate budget is taken only while holding a permit, and the request is sent at
        // once, so that requests released together by the semaphore cannot burst past the
        // rate. A request that must wait for its budget gives its permit back meanwhile:
        // otherwise requests queued on one endpoint (a page of lists, a batch of creates)
        // would hold every slot while requests to other endpoints, within their budgets,
        // could not start.
        let _permit = loop {
            let permit = match self.inner.in_flight.acquire().await {
                Ok(p) => p,
                Err(_) => return Attempt::Network("the client is shutting down".into()),
            };
            match self.inner.limiter.try_acquire(limit_key) {
                Ok(()) => break permit,
                Err(wait) => {
                    drop(permit);
                    tokio::time::sleep(wait).await;
                }
            }
        };
        let mut headers = HeaderMap::new();
        // Checked in `Client::new`; an error here cannot happen, and is not retried.
        match auth_header(&self.inner.key) {
            Ok(v) => headers.insert(AUTHORIZATION, v),
            Err(e) => return Attempt::Network(e.to_string()),
        };
        headers.insert("Stripe-Version", self.inner.stripe_version.clone());
        if let Some(acct) = &self.inner.stripe_account {
            headers.insert("Stripe-Account", acct.clone());
        }
        if let Some(k) = idempotency {
            headers.insert("Idempotency-Key", k.clone());
        }
        let mut builder = self.inner.http.request(method.clone(), url.clone());
        if let Some(body) = body {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            trace!(body, "request body");
            builder = builder.body(body.to_string());
        }
        builder = builder.headers(headers);
        self.inner.sent.fetch_add(1, Ordering::Relaxed);
        let t0 = Instant::now();
        let result = async {
            let resp = builder.send().await?;
            let status = resp.status().as_u16();
            let h = resp.headers();
            let header = |name: &str| {
                h.get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let request_id = header("request-id");
            let should_retry = parse_should_retry(header("stripe-should-retry").as_deref());
            let replayed =
                header("idempotent-replayed").is_some_and(|v| v.eq_ignore_ascii_case("true"));
            if header("redactctl-emulator").is_some() {
                self.inner.emulator_seen.store(true, Ordering::Relaxed);
            }
            if let Some(t) = header("date").as_deref().and_then(http_date_unix) {
                self.inner.server_time.fetch_max(t, Ordering::Relaxed);
            }
            let body = match read_bounded(resp, self.inner.max_body_bytes).await? {
                Some(body) => body,
                None => {
                    return Ok(Attempt::TooLarge(format!(
                        "the response body (HTTP {status}) is longer than {} bytes",
                        self.inner.max_body_bytes
                    )))
                }
            };
            Ok::<_, reqwest::Error>(Attempt::Response {
                status,
                request_id,
                should_retry,
                replayed,
                body,
            })
        }
        .await;
        let latency_ms = t0.elapsed().as_millis() as u64;
        match result {
            Ok(a) => {
                if let Attempt::Response {
                    status,
                    request_id,
                    body,
                    ..
                } = &a
                {
                    debug!(
                        path = url.path(),
                        status,
                        request_id = request_id.as_deref().unwrap_or("-"),
                        attempt,
                        latency_ms,
                        "response"
                    );
                    trace!(body = %String::from_utf8_lossy(body), "response body");
                }
                a
            }
            Err(e) => {
                let message = describe_reqwest(&e);
                debug!(path = url.path(), attempt, latency_ms, error = %message, "request failed");
                Attempt::Network(message)
            }
        }
    }

    fn url(&self, req: &Request<'_>) -> Result<Url, StripeError> {
        for s in &req.segments {
            if s.is_empty() {
                return Err(StripeError::InvalidRequest("an object id is empty".into()));
            }
        }
        let mut url = self.inner.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| StripeError::Config("API base cannot take a path".into()))?;
            path.pop_if_empty();
            path.extend(req.segments.iter());
        }
        if !req.query.is_empty() {
            url.set_query(Some(&encode::encode(&req.query)));
        }
        Ok(url)
    }
}

/// A create that ended in a 5xx or in no answer may have made its job: Stripe saves a 500
/// that came after the write and replays it to the same key with `Stripe-Should-Retry:
/// false`, so no retry here can recover the job, and a retry under a fresh key could make a
/// second one. The caller gets [`StripeError::OutcomeUnknown`] and looks before retrying.
/// Other errors (a 4xx: Stripe refused, nothing was made) pass through.
fn outcome_of_create(err: StripeError) -> StripeError {
    let unknown = match &err {
        StripeError::Api { status, .. } | StripeError::Decode { status, .. } => *status >= 500,
        StripeError::Network { .. } => true,
        _ => false,
    };
    if unknown {
        StripeError::OutcomeUnknown {
            route: "POST /v1/privacy/redaction_jobs".into(),
            cause: Box::new(err),
        }
    } else {
        err
    }
}

/// Reads a response body chunk by chunk, stopping as soon as it passes `max` bytes
/// (`None`): a `Content-Length` is not trusted, and an endless body costs at most `max`.
async fn read_bounded(
    mut resp: reqwest::Response,
    max: usize,
) -> Result<Option<bytes::Bytes>, reqwest::Error> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Ok(None);
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > max {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}

fn auth_header(key: &ApiKey) -> Result<HeaderValue, StripeError> {
    let mut v = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
        .map_err(|_| StripeError::Config("the API key is not a valid header value".into()))?;
    // Keeps the value out of hyper's and reqwest's debug output.
    v.set_sensitive(true);
    Ok(v)
}

fn check_idempotency_key(k: &str) -> Result<HeaderValue, StripeError> {
    if k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY_LEN {
        return Err(StripeError::InvalidRequest(format!(
            "an idempotency key has 1 to {MAX_IDEMPOTENCY_KEY_LEN} characters, not {}",
            k.len()
        )));
    }
    HeaderValue::from_str(k).map_err(|_| {
        StripeError::InvalidRequest("the idempotency key is not a valid header value".into())
    })
}

/// A reqwest error as one line, with its causes (reqwest's own Display hides them).
fn describe_reqwest(e: &reqwest::Error) -> String {
    let mut s = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else if e.is_body() || e.is_decode() {
        "the response was cut off".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

fn decode_success<T: DeserializeOwned>(
    status: u16,
    request_id: Option<String>,
    replayed: bool,
    attempts: u32,
    body: &[u8],
) -> Result<Sent<T>, StripeError> {
    match serde_json::from_slice::<T>(body) {
        Ok(value) => Ok(Sent {
            value,
            request_id,
            status,
            attempts,
            replayed,
        }),
        Err(e) => Err(StripeError::Decode {
            status,
            message: format!("{e} in body {}", snippet(body)),
            request_id,
        }),
    }
}

fn decode_failure(status: u16, request_id: Option<String>, body: &[u8]) -> StripeError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { error }) => StripeError::Api {
            status,
            kind: error.kind,
            code: error.code,
            param: error.param,
            message: error
                .message
                .unwrap_or_else(|| format!("HTTP {status} without a message")),
            request_id,
        },
        Err(_) => StripeError::Decode {
            status,
            message: format!("the error body is not Stripe JSON: {}", snippet(body)),
            request_id,
        },
    }
}

/// The start of a body, on one line, for error messages.
fn snippet(body: &[u8]) -> String {
    const MAX: usize = 120;
    let text = String::from_utf8_lossy(body);
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX)
        .collect();
    if text.chars().count() > MAX {
        format!("`{one_line}…`")
    } else if one_line.is_empty() {
        "(empty)".to_string()
    } else {
        format!("`{one_line}`")
    }
}

/// An HTTP `Date` header as unix seconds.
fn http_date_unix(value: &str) -> Option<i64> {
    let t = httpdate::parse_http_date(value).ok()?;
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_bodies_become_typed_errors() {
        let body = br#"{"error":{"type":"invalid_request_error","code":"resource_missing","param":"id","message":"No such job"}}"#;
        let e = decode_failure(404, Some("req_1".into()), body);
        assert!(e.is_not_found());
        assert_eq!(e.code(), Some("resource_missing"));
        assert_eq!(e.request_id(), Some("req_1"));
        let html = decode_failure(502, None, b"<html><body>Bad gateway</body></html>");
        assert!(matches!(html, StripeError::Decode { status: 502, .. }));
        assert!(html.to_string().contains("Bad gateway"));
    }

    #[test]
    fn truncated_json_is_a_decode_error() {
        let r: Result<Sent<Account>, _> =
            decode_success(200, None, false, 1, br#"{"id":"acct_1","obj"#);
        assert!(matches!(r, Err(StripeError::Decode { status: 200, .. })));
    }

    #[test]
    fn idempotency_keys_are_checked() {
        assert!(check_idempotency_key("").is_err());
        assert!(check_idempotency_key(&"k".repeat(256)).is_err());
        assert!(check_idempotency_key("redactctl-abc").is_ok());
    }

    #[test]
    fn urls_encode_ids_and_keep_the_base_path() {
        let key = ApiKey::parse("sk_test_0123456789abcdefghij").unwrap();
        let c = Client::new(ClientConfig::new("http://127.0.0.1:9/stripe/", key)).unwrap();
        let req = Request {
            method: Method::GET,
            route: "/v1/privacy/redaction_jobs/:id",
            segments: vec!["v1", "privacy", "redaction_jobs", "prj_1/../x"],
            query: encode::expand_params(&["objects"]),
            form: Params::new(),
            idempotency_key: None,
        };
        assert_eq!(
            c.url(&req).unwrap().as_str(),
            "http://127.0.0.1:9/stripe/v1/privacy/redaction_jobs/prj_1%2F..%2Fx?expand%5B0%5D=objects"
        );
    }

    #[test]
    fn default_rates_follow_the_mode() {
        let test = ClientConfig::new(
            "http://x",
            ApiKey::parse("sk_test_0123456789abcdefghij").unwrap(),
        );
        let live = ClientConfig::new(
            "http://x",
            ApiKey::parse("sk_live_0123456789abcdefghij").unwrap(),
        );
        assert_eq!(test.effective_rate_limit(), 25);
        assert_eq!(live.effective_rate_limit(), 100);
        assert!(Client::new(ClientConfig::new("ftp://x", live.key.clone())).is_err());
    }
}
