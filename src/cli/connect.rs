//! Builds the Stripe client a command talks through: the real API with the operator's key,
//! or (`--local`) an embedded emulator with its state under `.redactctl/local/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::args::GlobalArgs;
use crate::emulator::{self, EmulatorHandle};
use crate::manifest::AccountSpec;
use crate::stripe::client::{Client, ClientConfig};
use crate::stripe::key::ApiKey;
use crate::stripe::models::Mode;

/// Where `--local` keeps its emulator state.
pub const LOCAL_DIR: &str = ".redactctl/local";
/// The embedded emulator's state file.
pub const LOCAL_STATE: &str = "emulator.json";

/// A client, and the embedded emulator behind it when `--local`.
pub struct Connection {
    pub client: Client,
    pub key_mode: Mode,
    /// Kept alive for as long as the client is used; shut down by [`Connection::close`].
    emulator: Option<EmulatorHandle>,
}

impl Connection {
    /// Stops the embedded emulator (flushing its state), if any.
    pub async fn close(self) {
        if let Some(emu) = self.emulator {
            emu.shutdown().await;
        }
    }
}

/// Reads the key (not for `--local`) and returns its mode, before any request is sent,
/// so that the mode guard can refuse first.
pub fn key_for(global: &GlobalArgs, account: &AccountSpec) -> Result<ApiKey, String> {
    if global.local {
        // The embedded emulator plays an account in the manifests' mode; its key never
        // leaves this process.
        let raw = match account.mode {
            Mode::Test => "sk_test_redactctl_local_emulator",
            Mode::Live => "sk_live_redactctl_local_emulator",
        };
        return ApiKey::parse(raw).map_err(|e| e.to_string());
    }
    ApiKey::from_sources(global.api_key_file.as_deref()).map_err(|e| e.to_string())
}

/// Connects: starts the embedded emulator for `--local`, then builds the client.
pub async fn connect(
    global: &GlobalArgs,
    key: ApiKey,
    account: &AccountSpec,
) -> Result<Connection, String> {
    let key_mode = key.mode();
    let (api_base, emulator) = if global.local {
        let emu = start_local(Path::new(LOCAL_DIR), account.id.clone()).await?;
        eprintln!(
            "Using the embedded emulator (state in {LOCAL_DIR}/): no Stripe account is touched."
        );
        (emu.base_url(), Some(emu))
    } else {
        (global.api_base.clone(), None)
    };
    let mut config = ClientConfig::new(api_base, key);
    config.stripe_version = global.stripe_version.clone();
    config.stripe_account = account.connected_account.clone();
    config.rate_limit = global.client_rate_limit.or(config.rate_limit);
    if let Some(n) = global.client_endpoint_rate_limit {
        config.endpoint_rate_limit = n;
    }
    let client = Client::new(config).map_err(|e| e.to_string())?;
    Ok(Connection {
        client,
        key_mode,
        emulator,
    })
}

/// Starts the embedded emulator with short delays and persistent state in `dir`, playing
/// the account the manifests name (so that the account guard holds locally too).
async fn start_local(dir: &Path, account_id: Option<String>) -> Result<EmulatorHandle, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
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
        .map_err(|e| format!("cannot start the embedded emulator: {e}"))
}

/// `emulator reset --local`: wipes the embedded emulator's state.
pub fn reset_local() -> Result<PathBuf, String> {
    let dir = PathBuf::from(LOCAL_DIR);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(dir),
        Err(e) => Err(format!("cannot remove {}: {e}", dir.display())),
    }
}
