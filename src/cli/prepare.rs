//! The steps plan, apply and status share before deciding anything: load and check the
//! manifests, read the key, refuse a key of the wrong mode before any request, connect,
//! observe, and refuse a key of another account.

use std::path::PathBuf;

use super::args::GlobalArgs;
use super::color;
use super::connect::{self, Connection};
use crate::apply::guards;
use crate::manifest::{self, Desired};
use crate::observe::{observe, Live, ObserveOptions};

/// Manifests loaded and the account observed.
pub struct Prepared {
    pub desired: Desired,
    pub conn: Connection,
    pub live: Live,
    pub observe: ObserveOptions,
}

/// Loads the manifests, printing every diagnostic; `Err` is empty because the diagnostics
/// were already printed (the caller exits 1).
pub fn load_manifests(global: &GlobalArgs, paths: &[PathBuf]) -> Result<Desired, String> {
    let color = color::stderr_enabled(global.color);
    match manifest::load(paths) {
        Ok(loaded) => {
            if !loaded.warnings.is_empty() && !global.quiet {
                eprint!("{}", manifest::render_diagnostics(&loaded.warnings, color));
            }
            Ok(loaded.desired)
        }
        Err(failure) => {
            eprint!(
                "{}",
                manifest::render_diagnostics(&failure.diagnostics, color)
            );
            Err(String::new())
        }
    }
}

/// Checks that every `--target` names an entry.
pub fn check_targets(desired: &Desired, targets: &[String]) -> Result<(), String> {
    let unknown: Vec<&str> = targets
        .iter()
        .filter(|t| desired.entry(t).is_none())
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "--target names no entry of the manifests: {}",
            unknown.join(", ")
        ))
    }
}

/// Key, mode guard, connection, observation, account guard — in that order, so that a
/// key of the wrong mode is refused before any request is sent.
pub async fn connect_and_observe(
    global: &GlobalArgs,
    desired: Desired,
    no_cache: bool,
) -> Result<Prepared, String> {
    let key = connect::key_for(global, &desired.account)?;
    guards::check_mode(key.mode(), &desired.account).map_err(|e| e.to_string())?;
    let conn = connect::connect(global, key, &desired.account).await?;
    let observe_opts = observe_options(no_cache, global.local);
    let live = match observe(&conn.client, &desired, &observe_opts).await {
        Ok(live) => live,
        Err(e) => {
            conn.close().await;
            return Err(e.to_string());
        }
    };
    if let Err(e) = guards::check_account(live.account.as_ref(), &desired.account) {
        conn.close().await;
        return Err(e.to_string());
    }
    Ok(Prepared {
        desired,
        conn,
        live,
        observe: observe_opts,
    })
}

/// Where jobs in terminal states are cached between runs (they never change). The
/// embedded emulator's cache lives with its state, so that `emulator reset --local`
/// forgets both.
pub fn cache_dir(no_cache: bool, local: bool) -> Option<PathBuf> {
    match (no_cache, local) {
        (true, _) => None,
        (false, true) => Some(PathBuf::from(connect::LOCAL_DIR).join("cache")),
        (false, false) => Some(PathBuf::from(".redactctl/cache")),
    }
}

/// How the commands observe Stripe.
pub fn observe_options(no_cache: bool, local: bool) -> ObserveOptions {
    ObserveOptions {
        read_account: true,
        cache_dir: cache_dir(no_cache, local),
        ..ObserveOptions::default()
    }
}

/// Runs an async command to completion on a fresh runtime.
pub fn block_on<T>(
    command: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?
        .block_on(command)
}
