//! A stateful, Stripe-compatible emulator of the redaction API: the test oracle, the
//! `--local` backend and the benchmark target. It must behave like Stripe on the wire, so
//! it shares no wire code with the project's client (`crate::stripe`).
//!
//! Layout: [`kinds`] is the emulator's own table of object kinds and wire names (never
//! the client's: an oracle must not share what it checks); [`state`] is the pure state
//! machine (jobs, locks, validation, idempotency, sessions) over the object graph of
//! [`graph`]; [`api`] maps requests to it and renders Stripe's JSON;
//! `server` is the HTTP edge (auth, rate limits, faults, idempotency); [`persist`],
//! [`fixtures`] and [`webhook`] are the operations around it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), redactctl::emulator::EmulatorError> {
//! use redactctl::emulator::{spawn, Clock, Config};
//! let emu = spawn(Config { clock: Clock::manual(1_800_000_000), ..Config::default() },
//!                 "127.0.0.1:0".parse().unwrap()).await?;
//! let base = emu.base_url(); // point a client at it, with any sk_test_ key
//! emu.clock().advance(std::time::Duration::from_secs(60));
//! emu.shutdown().await;
//! # let _ = base; Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod clock;
pub mod customers;
pub mod fixtures;
pub mod form;
pub mod graph;
pub mod kinds;
pub mod limits;
pub mod objects;
pub mod persist;
pub mod search;
mod server;
pub mod state;
pub mod stats;
pub mod webhook;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;

pub use clock::Clock;
pub use fixtures::{FixtureError, Fixtures};
pub use stats::Stats;
pub use webhook::WebhookTarget;

use limits::{Faults, RateLimiter};
use server::{lock, Shared};
use state::{Delays, World};

/// The API version the emulator reports when the client sends none.
pub const API_VERSION: &str = "2026-09-30.preview";

/// The emulator's version, sent in the `Redactctl-Emulator` header of every response so
/// that a client can tell the emulator from Stripe.
pub const EMULATOR_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How the emulator behaves. `Config::default()`: no delays, no latency, no limits, no
/// faults, no fixtures (so no object exists), in memory, system clock.
#[derive(Debug, Clone)]
pub struct Config {
    /// `validating` → `ready`/`failed` after this long.
    pub validation_delay: Duration,
    /// `redacting` → `succeeded` after this long.
    pub redaction_delay: Duration,
    /// `canceling` → `canceled` after this long.
    pub cancel_delay: Duration,
    /// A verification session's redaction: `processing` → `redacted` after this long.
    pub session_redaction_delay: Duration,
    /// Added to every `/v1` response (real time, not the clock).
    pub latency: Duration,
    /// Requests per key per wall-clock second; 0 = no limit.
    pub rate_limit: u32,
    /// Requests per key per endpoint per wall-clock second; 0 = no limit.
    pub endpoint_rate_limit: u32,
    /// Fraction of requests answered 500; half of them after applying the change.
    pub fail_rate: f64,
    /// Fraction of requests whose connection is dropped with no response; half of them
    /// after applying the change.
    pub drop_rate: f64,
    /// Seed of the fault generator (same seed, same faults).
    pub seed: u64,
    /// Objects and jobs to start with (ignored when `state_file` already exists).
    pub fixtures: Option<Fixtures>,
    /// Persist here (atomic writes); loaded at start if it exists.
    pub state_file: Option<PathBuf>,
    /// Send signed events here.
    pub webhook: Option<WebhookTarget>,
    /// The account every key belongs to; `None`: derived from the key (see
    /// [`auth::derived_account_id`]).
    pub account_id: Option<String>,
    /// The clock transitions are computed from (`Clock::manual` in tests).
    pub clock: Clock,
    /// Whether ids that no fixture describes exist (`emulator serve --unknown-objects`).
    pub unknown_objects: UnknownObjects,
    /// A job reaching more objects than this (roots and related) fails validation with
    /// `too_many_objects`.
    pub max_related_objects: usize,
}

/// What the emulator does with an object id no fixture describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownObjects {
    /// It does not exist, as on Stripe: create answers 400 `resource_missing`, a session
    /// read answers 404.
    #[default]
    Missing,
    /// It exists: redactable, nothing related (benchmarks, quick trials, `--local`).
    Exist,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            validation_delay: Duration::ZERO,
            redaction_delay: Duration::ZERO,
            cancel_delay: Duration::ZERO,
            session_redaction_delay: Duration::ZERO,
            latency: Duration::ZERO,
            rate_limit: 0,
            endpoint_rate_limit: 0,
            fail_rate: 0.0,
            drop_rate: 0.0,
            seed: 0,
            fixtures: None,
            state_file: None,
            webhook: None,
            account_id: None,
            clock: Clock::system(),
            unknown_objects: UnknownObjects::Missing,
            max_related_objects: state::DEFAULT_MAX_RELATED_OBJECTS,
        }
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot listen on {addr}: {source}")]
    /// The address cannot be bound.
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    #[error("cannot {what} {}: {source}", path.display())]
    /// A file cannot be read or written.
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    #[error("the emulator state file {} is corrupt ({message}); move it away or delete it to start over", path.display())]
    /// The state file exists but cannot be parsed: never silently reset.
    CorruptState {
        /// The state file.
        path: PathBuf,
        /// The parser's complaint.
        message: String,
    },
    #[error("invalid fixtures file {}: {message}", path.display())]
    /// The fixtures file is not valid.
    Fixtures {
        /// The fixtures file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    #[error("the fixtures cannot be applied: {0}")]
    /// Valid fixtures that the state machine refuses (e.g. an 11-object job).
    FixturesApply(fixtures::FixtureError),
}

/// A running emulator. Dropping it stops the server (without the final flush: call
/// [`EmulatorHandle::shutdown`] for that).
pub struct EmulatorHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts the emulator on `addr` (use `127.0.0.1:0` for a free port).
pub async fn spawn(config: Config, addr: SocketAddr) -> Result<EmulatorHandle, EmulatorError> {
    let delays = Delays {
        validation: config.validation_delay,
        redaction: config.redaction_delay,
        cancel: config.cancel_delay,
        session_redaction: config.session_redaction_delay,
    };
    let now_ms = config.clock.now_ms();
    let loaded = match &config.state_file {
        Some(p) => persist::load(p)?,
        None => None,
    };
    let (mut world, saved_customers) = match loaded {
        Some(saved) => (saved.world, saved.customers),
        None => {
            let fixtures = config.fixtures.clone().unwrap_or_default();
            let mut w = World::new(server::random_id(""), fixtures.template(now_ms));
            fixtures
                .apply(&mut w, now_ms, &delays)
                .map_err(EmulatorError::FixturesApply)?;
            w.drain_events();
            (w, None)
        }
    };
    world.set_policy(state::Policy {
        unknown_objects_exist: config.unknown_objects == UnknownObjects::Exist,
        max_related_objects: config.max_related_objects,
    });
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind { addr, source })?;

    let (webhook_tx, webhook_rx) = match &config.webhook {
        Some(_) => {
            let (tx, rx) = mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        }
        None => (None, None),
    };
    let mut customer_directory = customers::Directory::from_fixtures(
        config.fixtures.as_ref().unwrap_or(&Fixtures::default()),
        now_ms,
    );
    if let Some(spaces) = saved_customers {
        customer_directory = customer_directory.with_spaces(spaces);
    }
    let shared = Arc::new(Shared {
        world: Mutex::new(world),
        customers: Mutex::new(customer_directory),
        delays,
        latency: config.latency,
        account_id: config.account_id.clone(),
        directory: config
            .fixtures
            .as_ref()
            .map(Fixtures::directory)
            .unwrap_or_default(),
        clock: config.clock.clone(),
        faults: Mutex::new(Faults::new(config.fail_rate, config.drop_rate, config.seed)),
        limiter: Mutex::new(RateLimiter::new(
            config.rate_limit,
            config.endpoint_rate_limit,
        )),
        stats: Mutex::new(Stats::default()),
        webhook_tx,
        changes: AtomicU64::new(1),
        dirty: Arc::new(Notify::new()),
        state_file: config.state_file.clone(),
        write_lock: tokio::sync::Mutex::new(0),
    });

    let mut tasks = Vec::new();
    if shared.state_file.is_some() {
        shared.flush().await;
        tasks.push(tokio::spawn(server::persister(shared.clone())));
    }
    if let (Some(target), Some(rx)) = (config.webhook.clone(), webhook_rx) {
        tasks.push(tokio::spawn(webhook::deliver(target, rx)));
        tasks.push(tokio::spawn(server::ticker(shared.clone())));
    }

    let app = axum::Router::new()
        .fallback(server::handle)
        .with_state(shared.clone());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!("emulator server stopped: {e}");
        }
    });
    Ok(EmulatorHandle {
        addr: local,
        shared,
        stop: Some(stop_tx),
        server: Some(server),
        tasks,
    })
}

impl EmulatorHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the `api_base` for clients.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The clock it reads (advance it to cross delays in tests).
    pub fn clock(&self) -> Clock {
        self.shared.clock.clone()
    }

    /// Changes the fault rates while running.
    pub fn set_faults(&self, fail_rate: f64, drop_rate: f64) {
        lock(&self.shared.faults).set(fail_rate, drop_rate);
    }

    /// Request counters (same data as `GET /_emulator/stats`).
    pub fn stats(&self) -> Stats {
        lock(&self.shared.stats).clone()
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        *lock(&self.shared.stats) = Stats::default();
    }

    /// Jobs held, over every namespace.
    pub fn job_count(&self) -> usize {
        lock(&self.shared.world).job_count()
    }

    /// Stops serving (in-flight requests finish), stops the background tasks and writes
    /// the state file one last time.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), server)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        {
            // Wait for a write in progress, so that it cannot land after the last one.
            let _writing = self.shared.write_lock.lock().await;
            for t in self.tasks.drain(..) {
                t.abort();
            }
        }
        self.shared.flush().await;
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}
