//! `find`: looks a person up by e-mail address through every route Stripe offers and, when
//! asked, writes the manifest entry (ids, ticket and dates; never the address). Prints
//! nothing: the CLI renders the outcome.

use std::path::PathBuf;

use super::session::{self, Session};
use super::{Events, OpsError};
use crate::domain::Mode;
use crate::find::{self, entry, Identifier};
use crate::manifest::AccountSpec;

/// What to look up, and where to write the entry.
pub struct FindRequest {
    pub identifier: Identifier,
    /// `--write FILE --ticket T [--received DATE]`.
    pub write: Option<WriteEntry>,
    /// The time of the lookup (RFC 3339), recorded in the entry's comment.
    pub now: String,
}

/// The entry `find --write` writes.
pub struct WriteEntry {
    pub path: PathBuf,
    pub ticket: String,
    /// `YYYY-MM-DD`.
    pub received: String,
}

/// What `find` found, and what it wrote.
pub struct FindOutcome {
    pub found: find::Outcome,
    /// The entry's name and the file it was written to; `None` when nothing was written
    /// (no `--write`, or no hit).
    pub written: Option<(String, PathBuf)>,
}

/// Checks the entry's ticket and date before anything is read or sent.
pub fn check_write(write: &WriteEntry) -> Result<(), OpsError> {
    entry::entry_name(&write.ticket).map_err(OpsError::FindEntry)?;
    entry::check_date(&write.received).map_err(OpsError::FindEntry)
}

/// Looks the identifier up and writes the entry when there is a hit and `--write` asked.
pub async fn find(
    session: &Session,
    request: FindRequest,
    events: &dyn Events,
) -> Result<FindOutcome, OpsError> {
    if let Some(w) = &request.write {
        check_write(w)?;
    }
    // The key decides the mode; the lookup names no account of its own.
    let probe = AccountSpec {
        mode: Mode::Test,
        id: None,
        connected_account: None,
    };
    let key = session::key_for(session, &probe)?;
    let mode = key.mode();
    session.check_live_base(mode)?;
    let account = AccountSpec { mode, ..probe };
    let conn = session::connect(session, key, &account, events).await?;
    let result = find::lookup(&conn.client, &request.identifier, request.now).await;
    conn.close().await;
    let found = result.map_err(OpsError::Find)?;
    let (Some(write), false) = (&request.write, found.is_empty()) else {
        return Ok(FindOutcome {
            found,
            written: None,
        });
    };
    let spec = entry::EntrySpec {
        ticket: write.ticket.clone(),
        received: write.received.clone(),
        looked_up_at: found.looked_up_at.clone(),
        routes: found.routes_line(),
        objects: found.grouped(),
    };
    let path = &write.path;
    let existing = match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(e),
        _ => crate::io_limits::read_text_limited(
            path,
            crate::manifest::files::MAX_FILE_BYTES,
            crate::io_limits::Special::Refuse,
        )
        .map_err(crate::io_limits::LimitedReadError::into_io),
    };
    let text = match existing {
        Ok(existing) => entry::append(&existing, &spec, path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mode = (!entry::sibling_declares_account(path)).then_some(mode);
            entry::new_file(&spec, mode)
        }
        Err(source) => {
            return Err(OpsError::ReadFile {
                path: path.clone(),
                source,
            })
        }
    }
    .map_err(OpsError::FindEntry)?;
    entry::check_text(path, &text).map_err(OpsError::FindEntry)?;
    entry::write_file(path, &text).map_err(OpsError::FindEntry)?;
    let name = entry::entry_name(&write.ticket).map_err(OpsError::FindEntry)?;
    Ok(FindOutcome {
        found,
        written: Some((name, path.clone())),
    })
}
