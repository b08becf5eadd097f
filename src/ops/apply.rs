//! `apply`: the one pipeline from a plan to writes. `apply PATHS`, `apply PLANFILE` and each
//! reconcile pass all go through [`pipeline`]: plan (or check the saved plan), show it,
//! guard, approve, converge. How approval is obtained is an [`Approval`] value, not a
//! branch in several copies.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use super::session::{self, Connection, Prepared, Session};
use super::{Events, OpsError};
use crate::apply::audit::{AuditContext, AuditError, AuditLog};
use crate::apply::execute::Target;
use crate::apply::{self, guards, ApplyError, ApplyOptions, ApplyReport};
use crate::manifest::Desired;
use crate::observe::{Live, ObserveOptions};
use crate::plan::{self, Plan};

/// An operator's answer at the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptAnswer {
    /// They typed `yes`.
    Yes,
    /// They typed anything else.
    No,
    /// There is no terminal to ask on.
    NoTerminal,
}

/// Asks the operator, after the plan was shown.
pub trait Prompter: Send + Sync {
    fn ask(&self) -> PromptAnswer;
}

/// How the plan about to be carried out is approved.
pub enum Approval<'a> {
    /// Ask (the plan was shown through [`Events::plan_ready`]).
    Prompt(&'a dyn Prompter),
    /// `--auto-approve`: the operator approved whatever the plan says.
    AutoApprove,
    /// A saved plan is approval for exactly its actions, on exactly what it observed.
    SavedPlan(Box<Plan>),
    /// A reconcile pass: `reconcile --auto-approve` approved every pass.
    ReconcilePolicy,
}

/// The audit log, opened on first use (after approval: a declined plan creates nothing).
pub struct AuditSlot {
    path: PathBuf,
    log: OnceLock<Mutex<AuditLog>>,
}

impl AuditSlot {
    pub fn new(path: impl Into<PathBuf>) -> AuditSlot {
        AuditSlot {
            path: path.into(),
            log: OnceLock::new(),
        }
    }

    /// The open log (opening it the first time).
    pub fn get(&self) -> Result<&Mutex<AuditLog>, AuditError> {
        if let Some(log) = self.log.get() {
            return Ok(log);
        }
        let log = AuditLog::open(&self.path)?;
        Ok(self.log.get_or_init(|| Mutex::new(log)))
    }
}

/// What to apply, and how.
pub struct ApplyRequest<'a> {
    /// Manifest files or directories (a saved plan names its own).
    pub paths: Vec<PathBuf>,
    pub approval: Approval<'a>,
    /// Planning options (a saved plan uses the ones it recorded).
    pub options: plan::Options,
    pub no_cache: bool,
    /// Keep converging until done, blocked, or this much time has passed.
    pub wait: Option<Duration>,
    pub parallelism: usize,
    pub max_irreversible: usize,
    pub audit_log: PathBuf,
}

/// Where apply left things.
#[derive(Debug, Clone)]
pub struct ApplyOutcome {
    pub report: ApplyReport,
}

/// Everything one run of the pipeline needs, already connected and observed.
pub struct Run<'a> {
    pub conn: &'a Connection,
    pub desired: &'a Desired,
    /// The observation the plan is made from; moved into the apply loop as its picture
    /// (an account's 100,000 jobs are not copied).
    pub live: Live,
    pub observe: &'a ObserveOptions,
    pub options: &'a plan::Options,
    pub wait: Option<Duration>,
    pub parallelism: usize,
    pub max_irreversible: usize,
    pub audit: &'a AuditSlot,
}

/// Whether a single path is a saved plan (a file whose first non-blank byte is `{`).
pub fn saved_plan_path(paths: &[PathBuf]) -> Option<&Path> {
    use std::io::Read as _;
    let [path] = paths else { return None };
    if !path.is_file() {
        return None;
    }
    // The first non-blank byte decides; a few KiB of head are enough to find it.
    let mut head = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(4096)
        .read_to_end(&mut head)
        .ok()?;
    let first = head.iter().find(|b| !b.is_ascii_whitespace())?;
    (*first == b'{').then_some(path.as_path())
}

/// The largest plan file read: a plan of 100,000 entries is tens of MiB.
pub const MAX_PLAN_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Reads a plan file saved by `plan --out`, bounded: bytes are counted as read (a device
/// or FIFO cannot make it grow without limit); a file that is not a regular file is read
/// only because the user named it. The file's signature is checked first (see
/// [`plan::signing`]): with
/// `key`, a file whose signature is missing or wrong is refused; without, a signed file is
/// refused (it cannot be checked) and an unsigned one read as it is. Nothing is sent
/// either way: this runs before any connection.
pub fn read_signed_plan_file(path: &Path, key: Option<&plan::PlanKey>) -> Result<Plan, OpsError> {
    let text = crate::io_limits::read_text_limited(
        path,
        MAX_PLAN_FILE_BYTES,
        crate::io_limits::Special::Allow,
    )
    .map_err(|source| OpsError::PlanFileRead {
        path: path.to_path_buf(),
        source,
    })?;
    let text = plan::signing::verify(&text, key).map_err(|source| OpsError::PlanSignature {
        path: path.to_path_buf(),
        source,
    })?;
    plan::parse_plan_file(&text).map_err(|source| OpsError::PlanFile {
        path: path.to_path_buf(),
        source,
    })
}

/// `apply`: load, connect, observe, then the pipeline.
pub async fn apply(
    session: &Session,
    req: &ApplyRequest<'_>,
    events: &dyn Events,
) -> Result<ApplyOutcome, OpsError> {
    // `--wait` bounds the whole apply: what loading and observing took is spent from it.
    let started = std::time::Instant::now();
    let (paths, mut options) = match &req.approval {
        Approval::SavedPlan(p) if p.manifest_paths.is_empty() => {
            return Err(OpsError::PlanFileWithoutManifests)
        }
        // Re-plans while converging look at what the saved plan looked at.
        Approval::SavedPlan(p) => (
            p.manifest_paths.clone(),
            plan::Options {
                revalidate: p.options.revalidate || req.options.revalidate,
                ..p.options.clone()
            },
        ),
        _ => (req.paths.clone(), req.options.clone()),
    };
    // Whether the whole manifest set is loaded is decided here, never read from a file.
    let (paths, whole_manifest_set) = session::resolve_paths(&paths)?;
    options.whole_manifest_set = whole_manifest_set;
    plan::check_planning_options(&options)?;
    let desired = session::load_manifests(&paths, events)?;
    if let Approval::SavedPlan(p) = &req.approval {
        if p.desired_digest != desired.digest {
            return Err(OpsError::ManifestsChanged);
        }
    }
    session::check_targets(&desired, &options.targets)?;
    // The record comes first: a log that cannot be written (a full disk, `/dev/full`, a
    // read-only file) stops apply before any request, read or write, is sent.
    let audit = AuditSlot::new(&req.audit_log);
    audit.get()?;
    let mut prepared = session::connect_and_observe(session, desired, req.no_cache, events).await?;
    session::add_provenance(&mut prepared.live, Some(&req.audit_log));
    let run = Run {
        conn: &prepared.conn,
        desired: &prepared.desired,
        live: std::mem::take(&mut prepared.live),
        observe: &prepared.observe,
        options: &options,
        wait: req.wait.map(|w| w.saturating_sub(started.elapsed())),
        parallelism: req.parallelism,
        max_irreversible: req.max_irreversible,
        audit: &audit,
    };
    let result = pipeline(run, &req.approval, events).await;
    let Prepared { conn, .. } = prepared;
    conn.close().await;
    Ok(ApplyOutcome { report: result? })
}

/// SHA-256 of the plan's JSON view: what the audit records say was approved.
fn plan_digest(p: &Plan) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(plan::render_json(p).as_bytes()))
}

/// Who approved, as the audit log records it: CI's actor when CI says who started the run
/// (`GITHUB_ACTOR`, `GITLAB_USER_LOGIN`), else the local user, and how they approved.
fn approver(approval: &Approval<'_>) -> String {
    let who = ["GITHUB_ACTOR", "GITLAB_USER_LOGIN", "USER", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
        .map(|s| {
            s.chars()
                .filter(|c| !c.is_control())
                .take(100)
                .collect::<String>()
        })
        .unwrap_or_else(|| "unknown user".to_string());
    let how = match approval {
        Approval::Prompt(_) => "answered yes at the prompt",
        Approval::AutoApprove => "--auto-approve",
        Approval::SavedPlan(_) => "applied a saved plan",
        Approval::ReconcilePolicy => "reconcile --auto-approve",
    };
    format!("{who} ({how})")
}

/// The one apply pipeline: the plan to carry out (made now, or the saved one checked
/// against what was observed), shown, guarded, approved, converged.
pub async fn pipeline(
    run: Run<'_>,
    approval: &Approval<'_>,
    events: &dyn Events,
) -> Result<ApplyReport, OpsError> {
    let observed = super::plan::observed_parts(run.conn, &run.live);
    let approved = match approval {
        Approval::SavedPlan(saved) => {
            check_same_place(saved, &observed)?;
            let reasons = plan::check_preconditions(saved, &run.live);
            if !reasons.is_empty() {
                return Err(ApplyError::Stale(reasons).into());
            }
            let mut replanned = plan::plan(run.desired, &run.live, run.options);
            replanned.observed = Some(observed);
            super::saved_check::check_saved_actions(saved, &replanned)
                .map_err(OpsError::PlanFileNotDerivable)?
        }
        _ => {
            let mut p = plan::plan(run.desired, &run.live, run.options);
            p.observed = Some(observed);
            p
        }
    };
    let mut approved = approved;
    annotate_deadlines(&mut approved, run.desired);
    events.plan_ready(&approved);
    guards::check_irreversible(approved.irreversible_count(), run.max_irreversible)?;
    if approved.has_changes() {
        if let Approval::Prompt(prompter) = approval {
            match prompter.ask() {
                PromptAnswer::Yes => {}
                PromptAnswer::No => return Err(OpsError::Declined),
                PromptAnswer::NoTerminal => return Err(OpsError::NoTerminal),
            }
        }
    }
    let audit = run.audit.get()?;
    let target = Target {
        account: run.live.account.as_ref().map(|a| a.id.clone()),
        mode: run.conn.key_mode,
        context: Some(AuditContext {
            api_base: run.conn.api_base.clone(),
            redactctl_version: env!("CARGO_PKG_VERSION").to_string(),
            plan_digest: plan_digest(&approved),
            approved_by: approver(approval),
        }),
    };
    let opts = ApplyOptions {
        parallelism: run.parallelism,
        wait: run.wait,
        planning: run.options.clone(),
        observe: run.observe.clone(),
    };
    let report = apply::converge(
        &run.conn.client,
        &target,
        run.desired,
        run.live,
        &approved,
        &opts,
        audit,
        events.progress(),
    )
    .await?;
    let mut report = report;
    annotate_deadlines(&mut report.last, run.desired);
    Ok(report)
}

/// Each entry's due date and days left as of today, as `plan` shows them (the manifests
/// were loaded with the same date, so it is valid here).
fn annotate_deadlines(p: &mut Plan, desired: &crate::manifest::Desired) {
    if let Ok(today) = crate::deadline::clock::today() {
        plan::annotate_deadlines(p, desired, today, crate::deadline::DEFAULT_DUE_SOON_DAYS);
    }
}

/// A saved plan applies only where it was made: same API base, account and mode.
fn check_same_place(saved: &Plan, now: &plan::Observed) -> Result<(), OpsError> {
    match &saved.observed {
        Some(saw)
            if saw.api_base == now.api_base
                && saw.mode == now.mode
                && saw.account_id == now.account_id =>
        {
            Ok(())
        }
        Some(saw) => Err(OpsError::PlanElsewhere {
            saw: saw.to_string(),
            now: now.to_string(),
        }),
        None => Err(OpsError::PlanElsewhere {
            saw: "an unrecorded account (the file does not say where it was made)".into(),
            now: now.to_string(),
        }),
    }
}
