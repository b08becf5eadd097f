//! `report`: receipts for auditors, from the live state and the audit log.

use std::path::PathBuf;

use super::session::{self, Session};
use super::{Events, OpsError};
use crate::apply::audit;
use crate::report::{self, Receipt};

/// Which manifests, and which audit log to read step times from.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub paths: Vec<PathBuf>,
    pub audit_log: PathBuf,
}

/// Receipts, one per entry.
pub async fn report(
    session: &Session,
    req: &ReportRequest,
    events: &dyn Events,
) -> Result<Vec<Receipt>, OpsError> {
    let desired = session::load_manifests(&req.paths, events)?;
    let (records, torn) =
        audit::read_log(&req.audit_log).map_err(|source| OpsError::ReadAudit {
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
    let receipts = report::receipts(&prepared.desired, &prepared.live, &records);
    prepared.conn.close().await;
    Ok(receipts)
}
