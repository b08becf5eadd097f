//! `status`: one row per entry, classified by the planner.

use std::path::PathBuf;

use super::session::{self, Session};
use super::{Events, OpsError};
use crate::plan::{self, StatusRow};

/// Whose status to show.
#[derive(Debug, Clone, Default)]
pub struct StatusRequest {
    pub paths: Vec<PathBuf>,
    pub no_cache: bool,
    /// Entries due within this many days count as due soon (`--fail-on due-within=`).
    pub due_soon_days: u32,
}

/// One row per entry, sorted by name.
pub async fn status(
    session: &Session,
    req: &StatusRequest,
    events: &dyn Events,
) -> Result<Vec<StatusRow>, OpsError> {
    let desired = session::load_manifests(&req.paths, events)?;
    let prepared = session::connect_and_observe(session, desired, req.no_cache, events).await?;
    let today = crate::deadline::clock::today();
    let rows = today.map(|today| {
        plan::status_rows_on(&prepared.desired, &prepared.live, today, req.due_soon_days)
    });
    prepared.conn.close().await;
    rows.map_err(OpsError::Today)
}
