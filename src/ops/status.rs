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
}

/// One row per entry, sorted by name.
pub async fn status(
    session: &Session,
    req: &StatusRequest,
    events: &dyn Events,
) -> Result<Vec<StatusRow>, OpsError> {
    let desired = session::load_manifests(&req.paths, events)?;
    let prepared = session::connect_and_observe(session, desired, req.no_cache, events).await?;
    let rows = plan::status_rows(&prepared.desired, &prepared.live);
    prepared.conn.close().await;
    Ok(rows)
}
