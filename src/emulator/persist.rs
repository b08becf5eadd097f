//! `--state FILE`: the world is saved as JSON, atomically (a temporary file in the same
//! directory, then a rename), so a crash never leaves half a file. A file that cannot be
//! parsed is an error: the emulator never silently starts over. The customers and checkout
//! sessions (see [`super::customers`]) are saved in the same file, beside the job world, so
//! that one made with `POST /v1/customers` outlives a restart as a job does.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::customers::{Directory, Space};
use super::state::{NsKey, World, STATE_VERSION};
use super::EmulatorError;

/// The state file: the job world's fields, and `customers` beside them.
#[derive(Debug, Deserialize)]
pub struct Saved {
    /// Jobs, objects, idempotency keys of every namespace.
    #[serde(flatten)]
    pub world: World,
    /// Absent from files written before customers were saved: then the fixtures' apply.
    #[serde(default)]
    pub customers: Option<BTreeMap<NsKey, Space>>,
}

/// [`Saved`] borrowed, for writing.
#[derive(Serialize)]
struct SavedRef<'a> {
    #[serde(flatten)]
    world: &'a World,
    customers: &'a BTreeMap<NsKey, Space>,
}

/// The bytes of a state file holding `world` and `customers`.
pub fn to_bytes(world: &World, customers: &Directory) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&SavedRef {
        world,
        customers: customers.spaces(),
    })
}

/// Largest state file read: a world of a million jobs is a few hundred megabytes.
pub const MAX_STATE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Loads a saved world; `Ok(None)` when the file does not exist.
pub fn load(path: &Path) -> Result<Option<Saved>, EmulatorError> {
    let io = |source| EmulatorError::Io {
        what: "read the state file",
        path: path.to_path_buf(),
        source,
    };
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
        Ok(_) => {}
    }
    // Only a regular file (the emulator writes it by renaming one), counted as read.
    let bytes =
        crate::io_limits::read_limited(path, MAX_STATE_BYTES, crate::io_limits::Special::Refuse)
            .map_err(|e| io(e.into_io()))?;
    let saved: Saved = serde_json::from_slice(&bytes).map_err(|e| EmulatorError::CorruptState {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if saved.world.version != STATE_VERSION {
        return Err(EmulatorError::CorruptState {
            path: path.to_path_buf(),
            message: format!(
                "state format version {} is not supported (expected {STATE_VERSION})",
                saved.world.version
            ),
        });
    }
    Ok(Some(saved))
}

/// Writes already-serialized state atomically.
pub fn save_bytes(path: &Path, bytes: &[u8]) -> Result<(), EmulatorError> {
    let io = |source| EmulatorError::Io {
        what: "write the state file",
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Serializes and writes the world and the customers atomically.
pub fn save(path: &Path, world: &World, customers: &Directory) -> Result<(), EmulatorError> {
    let bytes = to_bytes(world, customers).map_err(|e| EmulatorError::Io {
        what: "serialize the state",
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    save_bytes(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_none_and_saved_world_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        assert!(load(&path).unwrap().is_none());
        let w = World::new("salt", vec![]);
        save(&path, &w, &Directory::default()).unwrap();
        assert!(load(&path).unwrap().is_some());
        // No temporary files are left behind.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn corrupt_file_is_an_error_and_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, b"{\"version\": 1, \"namesp").unwrap();
        let err = load(&path).unwrap_err();
        assert!(matches!(err, EmulatorError::CorruptState { .. }));
        assert!(err.to_string().contains("state.json"));
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"version\": 1, \"namesp");
    }
}
