//! `report`: receipts for auditors, from the live state and the audit log, each job
//! retrieved from Stripe in this run before anything is certified.

use std::path::PathBuf;

use super::session::{self, Session};
use super::{Events, OpsError};
use crate::observe::confirm::confirm_jobs;
use crate::report::{self, provenance, Receipts};

/// Jobs retrieved at once when confirming them with Stripe.
const CONFIRM_CONCURRENCY: usize = 4;

/// Which manifests, and which audit log to read step times from.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub paths: Vec<PathBuf>,
    pub audit_log: PathBuf,
}

/// Receipts, one per entry, with the account, mode and manifests' commit. A receipt
/// naming a job Stripe does not know comes back uncertified (see
/// [`Receipts::unconfirmed`]); the caller decides how to fail.
pub async fn report(
    session: &Session,
    req: &ReportRequest,
    events: &dyn Events,
) -> Result<Receipts, OpsError> {
    let desired = session::load_manifests(&req.paths, events)?;
    let (records, torn) =
        provenance::read_audit(&req.audit_log).map_err(|source| OpsError::ReadAudit {
            path: req.audit_log.clone(),
            source,
        })?;
    if !torn.is_empty() {
        events.note(&format!(
            "warning: {} line(s) of {} could not be read (lines {:?})",
            torn.len(),
            req.audit_log.display(),
            torn
        ));
    }
    let prepared = session::connect_and_observe(session, desired, false, events).await?;
    let mut receipts = report::receipts(&prepared.desired, &prepared.live, &records);
    let confirmed = confirm_jobs(
        &prepared.conn.client,
        report::job_ids(&receipts),
        CONFIRM_CONCURRENCY,
    )
    .await;
    let account = prepared
        .live
        .account
        .as_ref()
        .map(|a| a.id.clone())
        .or_else(|| prepared.desired.account.id.clone());
    let mode = prepared
        .live
        .mode
        .unwrap_or(prepared.conn.key_mode)
        .to_string();
    prepared.conn.close().await;
    let confirmed = confirmed.map_err(|e| OpsError::Observe(Box::new(e)))?;
    report::certify(&mut receipts, &prepared.desired, &records, &confirmed);
    Ok(Receipts {
        account,
        mode,
        commit: provenance::manifests_commit(req.paths.first().map(PathBuf::as_path)),
        receipts,
    })
}
