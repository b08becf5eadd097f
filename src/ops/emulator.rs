//! The embedded emulator's use cases (`emulator reset --local`).

use std::path::PathBuf;

use super::session::LOCAL_DIR;
use super::OpsError;

/// Wipes the embedded emulator's state (and its cache); returns the directory removed. A
/// directory that does not exist is already reset.
pub fn reset_local() -> Result<PathBuf, OpsError> {
    let dir = PathBuf::from(LOCAL_DIR);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(dir),
        Err(source) => Err(OpsError::RemoveDir { path: dir, source }),
    }
}
