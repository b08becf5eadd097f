//! `reconcile`: the level-triggered loop as a library. Each pass re-reads the manifests and
//! the whole live state and goes through the same apply pipeline as `apply`, approved by
//! the reconcile policy (`--auto-approve`). The loop is driven by typed [`Trigger`]s — the
//! CLI feeds webhooks and signals, a test feeds them by hand — and passes never overlap;
//! triggers that arrive during a pass are merged into one.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::apply::{pipeline, Approval, AuditSlot, Run};
use super::session::{self, Connection, Session};
use super::{Events, OpsError};
use crate::apply::audit::now_rfc3339;
use crate::apply::execute::ActionResult;
use crate::manifest::AccountSpec;
use crate::plan::{self, Outcome};
use crate::reconcile::PassLine;

pub use crate::reconcile::Trigger;

/// Parallel writes per pass.
const PASS_PARALLELISM: usize = 8;

/// What every pass needs.
pub struct Reconciler {
    pub paths: Vec<PathBuf>,
    pub max_irreversible: usize,
    pub local: bool,
    pub no_cache: bool,
    /// The account the manifests declared at start; a pass refuses another one.
    pub account: AccountSpec,
    pub conn: Connection,
    pub audit: AuditSlot,
    /// Where provenance is read from before each pass.
    pub audit_log: PathBuf,
    /// `--revalidate-every`: how often a failed job that needs a person is revalidated.
    pub revalidate_every: Option<Duration>,
}

/// What to reconcile.
#[derive(Debug, Clone)]
pub struct ReconcileRequest {
    pub paths: Vec<PathBuf>,
    pub max_irreversible: usize,
    pub audit_log: PathBuf,
    /// Read every job each pass, without the cache of terminal jobs.
    pub no_cache: bool,
    /// Revalidate a failed job whose errors need a person at most once per this long
    /// (`None`: never by itself).
    pub revalidate_every: Option<Duration>,
}

impl Reconciler {
    /// Loads the manifests once (for the account), checks the key's mode and connects.
    pub async fn start(
        session: &Session,
        req: &ReconcileRequest,
        events: &dyn Events,
    ) -> Result<Reconciler, OpsError> {
        let first = session::load_manifests(&req.paths, events)?;
        let account = first.account.clone();
        let conn = session::open(session, &account, events).await?;
        Ok(Reconciler {
            paths: req.paths.clone(),
            max_irreversible: req.max_irreversible,
            local: session.local,
            no_cache: req.no_cache,
            account,
            conn,
            audit: AuditSlot::new(&req.audit_log),
            audit_log: req.audit_log.clone(),
            revalidate_every: req.revalidate_every,
        })
    }

    /// Stops the embedded emulator, if any.
    pub async fn close(self) {
        self.conn.close().await;
    }

    /// One pass: never fails; what went wrong is the line's `error`.
    pub async fn pass(&self, pass: u64, trigger: Trigger, events: &dyn Events) -> PassLine {
        let started = Instant::now();
        let mut line = PassLine {
            pass,
            time: now_rfc3339(),
            trigger,
            ..PassLine::default()
        };
        if let Err(e) = self.pass_inner(&mut line, events).await {
            line.error = Some(super::error::one_line(&e));
        }
        line.duration_ms = started.elapsed().as_millis() as u64;
        line
    }

    async fn pass_inner(&self, line: &mut PassLine, events: &dyn Events) -> Result<(), OpsError> {
        let desired = session::load_manifests(&self.paths, events)?;
        if desired.account != self.account {
            return Err(OpsError::AccountChanged);
        }
        let observe_opts = session::observe_options(self.no_cache, self.local);
        let mut live = session::observe_checked(&self.conn, &desired, &observe_opts).await?;
        session::add_provenance(&mut live, Some(&self.audit_log));
        let options = plan::Options {
            revalidate_every: self.revalidate_every.map(|d| d.as_secs().max(1)),
            ..plan::Options::default()
        };
        let run = Run {
            conn: &self.conn,
            desired: &desired,
            live,
            observe: &observe_opts,
            options: &options,
            wait: None,
            parallelism: PASS_PARALLELISM,
            max_irreversible: self.max_irreversible,
            audit: &self.audit,
        };
        let report = pipeline(run, &Approval::ReconcilePolicy, events).await?;
        line.entries = report.last.entries.len();
        for e in &report.last.entries {
            match e.outcome {
                Outcome::Converged => line.converged += 1,
                Outcome::Waiting | Outcome::Changes => line.waiting += 1,
                Outcome::Blocked => line.blocked += 1,
                Outcome::Scheduled => line.scheduled += 1,
            }
        }
        line.actions = report.performed.len();
        line.failed = report
            .performed
            .iter()
            .filter(|(_, r)| matches!(r, ActionResult::Failed(_)))
            .count();
        line.not_approved = report.not_approved.len();
        Ok(())
    }
}

/// Runs passes: one at start, then one per trigger (or after `interval` without one),
/// until [`Trigger::Shutdown`] or the sender is dropped. Triggers that arrived during a
/// pass are merged: a shutdown among them stops the loop, otherwise one pass follows.
/// Returns how many passes ran.
pub async fn run_loop(
    reconciler: &Reconciler,
    interval: Duration,
    triggers: &mut mpsc::UnboundedReceiver<Trigger>,
    events: &dyn Events,
    mut on_pass: impl FnMut(&PassLine),
) -> u64 {
    let mut pass = 0u64;
    let mut trigger = Trigger::Start;
    loop {
        pass += 1;
        let line = reconciler.pass(pass, trigger, events).await;
        on_pass(&line);
        let mut pending: Vec<Trigger> = Vec::new();
        while let Ok(t) = triggers.try_recv() {
            pending.push(t);
        }
        if pending.contains(&Trigger::Shutdown) {
            break;
        }
        trigger = match pending.into_iter().next() {
            Some(t) => t,
            None => {
                let next = tokio::select! {
                    t = triggers.recv() => t,
                    _ = tokio::time::sleep(interval) => Some(Trigger::Interval),
                };
                match next {
                    Some(Trigger::Shutdown) | None => break,
                    Some(t) => t,
                }
            }
        };
    }
    pass
}
