//! `plan`: observe, plan, and (with `--out`) save the plan for `apply PLANFILE`.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::session::{self, Connection, Prepared, Session};
use super::{Events, OpsError};
use crate::observe::Live;
use crate::plan::{self, Observed, Plan};

/// What to plan.
#[derive(Debug, Clone, Default)]
pub struct PlanRequest {
    pub paths: Vec<PathBuf>,
    pub options: plan::Options,
    /// Read every job from Stripe, ignoring the cache of terminal jobs.
    pub no_cache: bool,
    /// Save the plan here (atomically).
    pub out: Option<PathBuf>,
    /// The audit log that says which jobs redactctl created (`None`: provenance unknown).
    pub audit_log: Option<PathBuf>,
    /// Sign the saved plan with this key (`REDACTCTL_PLAN_KEY`); `None`: unsigned.
    pub plan_key: Option<plan::PlanKey>,
}

/// The plan made (and saved, when asked).
#[derive(Debug, Clone)]
pub struct PlanOutcome {
    pub plan: Plan,
}

/// Loads the manifests, observes Stripe and plans.
pub async fn plan(
    session: &Session,
    req: &PlanRequest,
    events: &dyn Events,
) -> Result<PlanOutcome, OpsError> {
    let (paths, whole_manifest_set) = session::resolve_paths(&req.paths)?;
    let options = plan::Options {
        whole_manifest_set,
        ..req.options.clone()
    };
    plan::check_planning_options(&options)?;
    let desired = session::load_manifests(&paths, events)?;
    session::check_targets(&desired, &options.targets)?;
    let mut prepared = session::connect_and_observe(session, desired, req.no_cache, events).await?;
    session::add_provenance(&mut prepared.live, req.audit_log.as_deref());
    let mut the_plan = plan_observed(&prepared, &options);
    the_plan.manifest_paths = paths;
    let today = crate::deadline::clock::today();
    if let Ok(today) = &today {
        plan::annotate_deadlines(
            &mut the_plan,
            &prepared.desired,
            *today,
            crate::deadline::DEFAULT_DUE_SOON_DAYS,
        );
    }
    prepared.conn.close().await;
    today.map_err(OpsError::Today)?;
    if let Some(out) = &req.out {
        save_signed_plan(out, &the_plan, req.plan_key.as_ref())?;
    }
    Ok(PlanOutcome { plan: the_plan })
}

/// Plans what `prepared` observed and records where it looked.
pub fn plan_observed(prepared: &Prepared, options: &plan::Options) -> Plan {
    let mut p = plan::plan(&prepared.desired, &prepared.live, options);
    p.observed = Some(observed(prepared));
    p
}

/// Where `prepared` looked: API base, the key's account and mode.
pub fn observed(prepared: &Prepared) -> Observed {
    observed_parts(&prepared.conn, &prepared.live)
}

/// Where a connection looked, given what it observed.
pub fn observed_parts(conn: &Connection, live: &Live) -> Observed {
    Observed {
        api_base: conn.api_base.clone(),
        account_id: live.account.as_ref().map(|a| a.id.clone()),
        mode: conn.key_mode,
        emulator: conn.is_local() || conn.client.talks_to_emulator(),
    }
}

/// Writes the plan file atomically: a temp file beside it, then a rename, so that a crash
/// or a full disk never leaves half a plan. A missing directory is created (`--out
/// plan/plan.json` in a fresh CI checkout). Signed with `key` when there is one (see
/// [`plan::signing`]).
pub fn save_signed_plan(
    path: &Path,
    the_plan: &Plan,
    key: Option<&plan::PlanKey>,
) -> Result<(), OpsError> {
    let mut json = plan::render_json(the_plan);
    if let Some(key) = key {
        json = plan::signing::sign(&json, key).map_err(|source| OpsError::PlanSignature {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
        tmp.write_all(json.as_bytes())?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    write().map_err(|source| OpsError::SavePlan {
        path: path.to_path_buf(),
        source,
    })
}
