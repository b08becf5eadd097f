//! Connecting to Stripe (or the embedded emulator) and observing it: the steps plan, apply,
//! status and report share before deciding anything. Load and check the manifests, read the
//! key, refuse a key of the wrong mode before any request, connect, observe, and refuse a
//! key of another account.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Events, OpsError};
use crate::apply::guards;
use crate::domain::Mode;
use crate::emulator::{self, EmulatorHandle};
use crate::manifest::{self, project, AccountSpec, Desired};
use crate::observe::{observe, Live, ObserveOptions};
use crate::stripe::client::{Client, ClientConfig};
use crate::stripe::key::ApiKey;

/// Where `--local` keeps its emulator state.
pub const LOCAL_DIR: &str = ".redactctl/local";
/// The embedded emulator's state file.
pub const LOCAL_STATE: &str = "emulator.json";

/// How to reach Stripe: what the global command-line options resolve to, and nothing of
/// the command line itself.
#[derive(Debug, Clone)]
pub struct Session {
    /// Read the key from this file (otherwise from `STRIPE_API_KEY`).
    pub api_key_file: Option<PathBuf>,
    pub api_base: String,
    pub stripe_version: String,
    /// Use an embedded emulator with its state under [`LOCAL_DIR`].
    pub local: bool,
    pub rate_limit: Option<u32>,
    pub endpoint_rate_limit: Option<u32>,
    /// The API base was given on the command line (`--api-base`), not inherited from the
    /// environment: only then may live-mode writes go to a base that is not Stripe's.
    pub api_base_explicit: bool,
}

/// Stripe's API base: anything else is an emulator, a proxy or a mistake.
pub const STRIPE_API_BASE: &str = "https://api.stripe.com";

impl Session {
    /// Refuses a live-mode key against a base that is not Stripe's unless the base was
    /// given on the command line: a `STRIPE_API_BASE` left in the environment must not
    /// make a live run "succeed" against an emulator (or send a live key elsewhere).
    pub fn check_live_base(&self, mode: Mode) -> Result<(), OpsError> {
        let stripe = self.api_base.trim_end_matches('/') == STRIPE_API_BASE;
        if mode == Mode::Live && !self.local && !stripe && !self.api_base_explicit {
            return Err(OpsError::LiveAgainstOtherBase {
                base: self.api_base.clone(),
            });
        }
        Ok(())
    }
}

impl Default for Session {
    fn default() -> Self {
        Session {
            api_key_file: None,
            api_base: "https://api.stripe.com".into(),
            stripe_version: crate::stripe::DEFAULT_STRIPE_VERSION.into(),
            local: false,
            rate_limit: None,
            endpoint_rate_limit: None,
            api_base_explicit: false,
        }
    }
}

/// A client, and the embedded emulator behind it when `--local`.
pub struct Connection {
    pub client: Client,
    pub key_mode: Mode,
    /// The base URL requests go to (`local:.redactctl/local` for the embedded emulator,
    /// whose port changes every run).
    pub api_base: String,
    /// Kept alive for as long as the client is used; shut down by [`Connection::close`].
    emulator: Option<EmulatorHandle>,
}

impl Connection {
    /// Whether this connection talks to the embedded emulator.
    pub fn is_local(&self) -> bool {
        self.emulator.is_some()
    }

    /// Stops the embedded emulator (flushing its state), if any.
    pub async fn close(self) {
        if let Some(emu) = self.emulator {
            emu.shutdown().await;
        }
    }
}

/// Manifests loaded, the account observed.
pub struct Prepared {
    pub desired: Desired,
    pub conn: Connection,
    pub live: Live,
    pub observe: ObserveOptions,
}

/// Loads the manifests; warnings go to `events`, errors come back as
/// [`OpsError::Manifest`].
pub fn load_manifests(paths: &[PathBuf], events: &dyn Events) -> Result<Desired, OpsError> {
    match manifest::load(paths) {
        Ok(loaded) => {
            if !loaded.warnings.is_empty() {
                events.manifest_warnings(&loaded.warnings);
            }
            Ok(loaded.desired)
        }
        Err(failure) => Err(OpsError::Manifest(failure)),
    }
}

/// The manifest paths a command loads, and whether they are the whole manifest set: the
/// given paths, or (none given) the roots of the project file `redactctl.yaml` found in the
/// working directory or above. Only the whole set may `--prune`.
pub fn resolve_paths(paths: &[PathBuf]) -> Result<(Vec<PathBuf>, bool), OpsError> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let project = match project::find_project(&cwd) {
        Some(file) => Some(project::load_project(&file).map_err(OpsError::Project)?),
        None => None,
    };
    match (paths.is_empty(), project) {
        // Relative to the working directory where possible, so that a saved plan names
        // the roots the same way in another checkout.
        (true, Some(p)) => Ok((
            p.manifests
                .iter()
                .map(|m| {
                    m.strip_prefix(&cwd)
                        .map_or_else(|_| m.clone(), Path::to_path_buf)
                })
                .collect(),
            true,
        )),
        (true, None) => Err(OpsError::NoPathsNoProject),
        (false, Some(p)) => {
            let absolute: Vec<PathBuf> = paths.iter().map(|q| cwd.join(q)).collect();
            Ok((paths.to_vec(), p.is_whole_set(&absolute)))
        }
        (false, None) => Ok((paths.to_vec(), false)),
    }
}

/// Checks that every `--target` names an entry.
pub fn check_targets(desired: &Desired, targets: &[String]) -> Result<(), OpsError> {
    let unknown: Vec<String> = targets
        .iter()
        .filter(|t| desired.entry(t).is_none())
        .cloned()
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(OpsError::UnknownTargets(unknown))
    }
}

/// Reads the key (not for `--local`) before any request is sent, so that the mode guard
/// can refuse first.
pub fn key_for(session: &Session, account: &AccountSpec) -> Result<ApiKey, OpsError> {
    if session.local {
        // The embedded emulator plays an account in the manifests' mode; its key never
        // leaves this process.
        let raw = match account.mode {
            Mode::Test => "sk_test_redactctl_local_emulator",
            Mode::Live => "sk_live_redactctl_local_emulator",
        };
        return ApiKey::parse(raw).map_err(OpsError::Key);
    }
    ApiKey::from_sources(session.api_key_file.as_deref()).map_err(OpsError::Key)
}

/// Connects: starts the embedded emulator for `--local`, then builds the client.
pub async fn connect(
    session: &Session,
    key: ApiKey,
    account: &AccountSpec,
    events: &dyn Events,
) -> Result<Connection, OpsError> {
    let key_mode = key.mode();
    let (api_base, emulator) = if session.local {
        let emu = start_local(Path::new(LOCAL_DIR), account.id.clone()).await?;
        events.note(&format!(
            "Using the embedded emulator (state in {LOCAL_DIR}/): no Stripe account is touched."
        ));
        (emu.base_url(), Some(emu))
    } else {
        (session.api_base.clone(), None)
    };
    // The embedded emulator listens on a new port each run; what a saved plan records
    // is the place, not the port.
    let place = if emulator.is_some() {
        format!("local:{LOCAL_DIR}")
    } else {
        api_base.clone()
    };
    let mut config = ClientConfig::new(api_base, key);
    config.stripe_version = session.stripe_version.clone();
    config.stripe_account = account.connected_account.clone();
    config.rate_limit = session.rate_limit.or(config.rate_limit);
    if let Some(n) = session.endpoint_rate_limit {
        config.endpoint_rate_limit = n;
    }
    let client = match Client::new(config) {
        Ok(c) => c,
        Err(e) => {
            if let Some(emu) = emulator {
                emu.shutdown().await;
            }
            return Err(OpsError::Client(Box::new(e)));
        }
    };
    Ok(Connection {
        client,
        key_mode,
        api_base: place,
        emulator,
    })
}

/// Key, mode guard, connection — in that order, so that a key of the wrong mode is refused
/// before any request is sent.
pub async fn open(
    session: &Session,
    account: &AccountSpec,
    events: &dyn Events,
) -> Result<Connection, OpsError> {
    let key = key_for(session, account)?;
    guards::check_mode(key.mode(), account)?;
    session.check_live_base(key.mode())?;
    connect(session, key, account, events).await
}

/// Reads the live state and checks the account guard.
pub async fn observe_checked(
    conn: &Connection,
    desired: &Desired,
    opts: &ObserveOptions,
) -> Result<Live, OpsError> {
    let live = observe(&conn.client, desired, opts)
        .await
        .map_err(|e| OpsError::Observe(Box::new(e)))?;
    guards::check_account(live.account.as_ref(), &desired.account)?;
    Ok(live)
}

/// Connect, then observe; the connection is closed again on failure.
pub async fn connect_and_observe(
    session: &Session,
    desired: Desired,
    no_cache: bool,
    events: &dyn Events,
) -> Result<Prepared, OpsError> {
    let conn = open(session, &desired.account, events).await?;
    let observe_opts = observe_options(no_cache, session.local);
    match observe_checked(&conn, &desired, &observe_opts).await {
        Ok(live) => Ok(Prepared {
            desired,
            conn,
            live,
            observe: observe_opts,
        }),
        Err(e) => {
            conn.close().await;
            Err(e)
        }
    }
}

/// Which observed jobs redactctl created, from the audit log at `audit_log` (`None` when
/// there is none: the planner then says it cannot tell outside jobs from its own).
pub fn add_provenance(live: &mut Live, audit_log: Option<&Path>) {
    match audit_log {
        Some(path) => crate::apply::provenance_log::add_audit_facts(live, path),
        None => {
            live.created_by_redactctl = None;
            live.missing_objects.clear();
            live.validated_at.clear();
        }
    }
}

/// Where jobs in terminal states are cached between runs (they never change). The
/// embedded emulator's cache lives with its state, so that `emulator reset --local`
/// forgets both.
pub fn cache_dir(no_cache: bool, local: bool) -> Option<PathBuf> {
    match (no_cache, local) {
        (true, _) => None,
        (false, true) => Some(PathBuf::from(LOCAL_DIR).join("cache")),
        (false, false) => Some(PathBuf::from(".redactctl/cache")),
    }
}

/// How the use cases observe Stripe.
pub fn observe_options(no_cache: bool, local: bool) -> ObserveOptions {
    ObserveOptions {
        read_account: true,
        cache_dir: cache_dir(no_cache, local),
        ..ObserveOptions::default()
    }
}

/// Starts the embedded emulator with short delays and persistent state in `dir`, playing
/// the account the manifests name (so that the account guard holds locally too).
async fn start_local(dir: &Path, account_id: Option<String>) -> Result<EmulatorHandle, OpsError> {
    std::fs::create_dir_all(dir).map_err(|source| OpsError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let config = emulator::Config {
        validation_delay: Duration::from_secs(1),
        redaction_delay: Duration::from_secs(2),
        cancel_delay: Duration::from_secs(1),
        session_redaction_delay: Duration::from_secs(2),
        state_file: Some(dir.join(LOCAL_STATE)),
        account_id,
        // No fixtures locally: every id exists, so the quickstart converges.
        unknown_objects: emulator::UnknownObjects::Exist,
        ..emulator::Config::default()
    };
    emulator::spawn(config, ([127, 0, 0, 1], 0).into())
        .await
        .map_err(OpsError::LocalEmulator)
}
