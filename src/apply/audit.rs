//! The audit log: one JSON line per write request, appended and flushed (and synced)
//! before the next request, so that an auditor can account for every job even after a
//! crash. It never holds the API key: lines are built from typed fields only.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::kinds::ObjectRef;

/// One write request and what came of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339, UTC.
    pub time: String,
    /// `create`, `update`, `validate`, `run`, `cancel`, `redact`.
    pub action: String,
    /// The manifest entry served; absent for a prune of an unmanaged job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// The job (or verification session) touched, or created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(default)]
    pub objects: Vec<ObjectRef>,
    pub idempotency_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// HTTP status of the final attempt; absent when no answer came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// `ok`, `replayed` (Stripe answered from its idempotency store) or `error: …`.
    pub outcome: String,
    /// `test` or `live`.
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// Errors writing the audit log: fatal for apply, which must not write to Stripe what it
/// cannot record.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot open the audit log {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the audit log {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// An append-only JSON-lines file.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: File,
}

impl AuditLog {
    /// Opens (creating it and its directory when needed) the log for appending.
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| AuditError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| AuditError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends one record and makes it durable before returning.
    pub fn append(&mut self, record: &AuditRecord) -> Result<(), AuditError> {
        let mut line = serde_json::to_string(record).map_err(|e| AuditError::Write {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        line.push('\n');
        let write = |file: &mut File| -> std::io::Result<()> {
            file.write_all(line.as_bytes())?;
            file.flush()?;
            file.sync_data()
        };
        write(&mut self.file).map_err(|source| AuditError::Write {
            path: self.path.clone(),
            source,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads every record of a log (for `report`); lines that do not parse are skipped with
/// their line numbers returned, so a torn last line after a crash does not hide the rest.
pub fn read_log(path: &Path) -> std::io::Result<(Vec<AuditRecord>, Vec<usize>)> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e),
    };
    let mut records = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<AuditRecord>(line) {
            Ok(r) => records.push(r),
            Err(_) => bad.push(i + 1),
        }
    }
    Ok((records, bad))
}

/// The current time in RFC 3339 (UTC, seconds).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::ObjectKind;

    fn record(action: &str) -> AuditRecord {
        AuditRecord {
            time: now_rfc3339(),
            action: action.into(),
            entry: Some("dsr-1".into()),
            job: Some("prj_1".into()),
            objects: vec![ObjectRef::new(ObjectKind::Customers, "cus_1")],
            idempotency_key: "redactctl-abc".into(),
            request_id: Some("req_1".into()),
            http_status: Some(200),
            outcome: "ok".into(),
            mode: "test".into(),
            account: None,
        }
    }

    #[test]
    fn appends_one_line_per_record_and_reads_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/audit.jsonl");
        let mut log = AuditLog::open(&path).unwrap();
        log.append(&record("create")).unwrap();
        log.append(&record("run")).unwrap();
        drop(log);
        let mut log = AuditLog::open(&path).unwrap();
        log.append(&record("cancel")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        let (records, bad) = read_log(&path).unwrap();
        assert!(bad.is_empty());
        let actions: Vec<_> = records.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["create", "run", "cancel"]);
    }

    #[test]
    fn a_torn_last_line_is_reported_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut log = AuditLog::open(&path).unwrap();
        log.append(&record("create")).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"time\":\"20")
            .unwrap();
        let (records, bad) = read_log(&path).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(bad, vec![2]);
    }
}
