//! The audit log, written ahead: for each write request one JSON line recording the intent
//! (action, entry, idempotency key; outcome `intent`) is appended and synced *before* the
//! request is sent, and one recording the outcome after it, so that a crash or a full disk
//! never leaves a write without a record. The log is probed when opened: a log that cannot
//! be written stops apply before its first request. It never holds the API key: lines are
//! built from typed fields only.
//!
//! The log also remembers which idempotency keys ended in an error Stripe answered: Stripe
//! replays such an error for 24 hours to any request with the same key, so the next attempt
//! of that action must use a fresh key ([`AuditLog::fresh_key`]).

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::io_limits::BoundedLines;
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
    /// `intent` (written before the request is sent), then `ok`, `replayed` (Stripe
    /// answered from its idempotency store) or `error: …`.
    pub outcome: String,
    /// Which attempt of the action this key is (0: the first; one more after each attempt
    /// that ended in an error Stripe answered).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempt: u32,
    /// `test` or `live`.
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The fixes a run applies (`cancel PaymentIntent pi_…`), as the approved plan listed
    /// them: irreversible, so the record names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<String>,
    /// Where the write went and on whose approval (absent in records of older versions).
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub context: Option<AuditContext>,
}

/// What every write of one apply shares: where it went, what sent it, which plan and whose
/// approval, so that an auditor reads each line on its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditContext {
    /// The API base (`https://api.stripe.com`, an emulator's address, or
    /// `local:.redactctl/local` for the embedded emulator).
    pub api_base: String,
    /// The redactctl version that sent the write.
    pub redactctl_version: String,
    /// SHA-256 of the approved plan (its JSON view).
    pub plan_digest: String,
    /// Who approved: the terminal user, CI's actor, or the saved plan.
    pub approved_by: String,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The outcome of the record written before a request is sent.
pub const INTENT: &str = "intent";

impl AuditRecord {
    /// When the record was written, in unix seconds (`None`: a time that does not parse,
    /// as in a log edited by hand; such a record dates nothing).
    pub fn unix_time(&self) -> Option<i64> {
        let t = humantime::parse_rfc3339_weak(&self.time).ok()?;
        let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
        i64::try_from(secs).ok()
    }

    /// Whether this records an error that Stripe answered (an HTTP status that is not 2xx):
    /// Stripe saved it under the key and would replay it.
    pub fn is_answered_error(&self) -> bool {
        self.outcome.starts_with("error")
            && self.http_status.is_some_and(|s| !(200..300).contains(&s))
    }

    /// Whether this record's key must not be sent again: it ended in an error Stripe
    /// answered (Stripe would replay the error), or it is an `update` Stripe carried out.
    /// An update is asked for again only when the behaviour was switched back since
    /// (error → fix → error …); under the same key Stripe would replay the first answer
    /// for 24 hours and change nothing, so the next switch needs a key of its own.
    pub fn spends_key(&self) -> bool {
        self.is_answered_error()
            || (self.action == "update" && (self.outcome == "ok" || self.outcome == "replayed"))
    }
}

/// Attempts tried per action at most when looking for a fresh key.
const MAX_ATTEMPTS: u32 = 10_000;

/// The longest line read back when indexing an existing log; longer lines are skipped.
const MAX_LINE_BYTES: u64 = 1024 * 1024;

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
    /// Idempotency keys that ended in an error Stripe answered (read from the log at open,
    /// then kept up to date).
    errored: HashSet<String>,
    /// The records appended through this handle that the planner's audit facts come from
    /// (see [`is_fact_record`]), in order: what an observation needs from this run, without
    /// reading the file back each time.
    facts: Vec<AuditRecord>,
}

impl AuditLog {
    /// Opens (creating it and its directory when needed) the log for appending, indexes
    /// the keys that ended in errors, and probes it with a write: a log that cannot be
    /// written (a full disk, `/dev/full`, a read-only file) is an error here, before any
    /// request is sent.
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| AuditError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let file = crate::io_limits::open_append(path).map_err(|source| AuditError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let mut log = AuditLog {
            path: path.to_path_buf(),
            file,
            errored: errored_keys(path),
            facts: Vec::new(),
        };
        log.probe()?;
        Ok(log)
    }

    /// Writes an empty line (which readers skip) and syncs it: proves the log can take a
    /// record before anything is sent.
    fn probe(&mut self) -> Result<(), AuditError> {
        let write = |file: &mut File| -> std::io::Result<()> {
            file.write_all(b"\n")?;
            file.flush()?;
            sync(file)
        };
        write(&mut self.file).map_err(|source| AuditError::Write {
            path: self.path.clone(),
            source,
        })
    }

    /// The first attempt number whose key (`key_of(n)`) is not spent (ended in an error
    /// Stripe answered, or an update Stripe carried out), with that key. A crash-retry finds the same attempt (nothing recorded an
    /// error) and so the same key; an attempt that ended in an error is never reused.
    pub fn fresh_key(&self, key_of: impl Fn(u32) -> String) -> (u32, String) {
        let mut attempt = 0;
        loop {
            let key = key_of(attempt);
            if attempt >= MAX_ATTEMPTS || !self.errored.contains(&key) {
                return (attempt, key);
            }
            attempt += 1;
        }
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
            sync(file)
        };
        write(&mut self.file).map_err(|source| AuditError::Write {
            path: self.path.clone(),
            source,
        })?;
        if record.spends_key() {
            self.errored.insert(record.idempotency_key.clone());
        }
        if is_fact_record(record) {
            self.facts.push(record.clone());
        }
        Ok(())
    }

    /// The records appended through this handle since it was opened that
    /// [`is_fact_record`] keeps, oldest first (intents and outcomes).
    pub fn facts_written(&self) -> &[AuditRecord] {
        &self.facts
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Whether the planner's audit facts read this record: creates (which jobs redactctl made,
/// which objects Stripe did not find) and validations (when each job was last validated).
pub fn is_fact_record(record: &AuditRecord) -> bool {
    record.action == "create" || record.action == "validate"
}

/// Makes written data durable. A log that is not a regular file (a pipe, `/dev/stderr`)
/// cannot be synced, and need not be: the write itself reached its reader.
fn sync(file: &File) -> std::io::Result<()> {
    match file.sync_data() {
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => Ok(()),
        other => other,
    }
}

/// The lines of an existing log, each bounded (see [`BoundedLines`]); `Ok(None)` when there
/// is no log. Only a regular file is read: a device such as `/dev/zero` would read without
/// end.
pub fn log_lines(path: &Path) -> std::io::Result<Option<BoundedLines<BufReader<File>>>> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    let file = crate::io_limits::open_checked(path, crate::io_limits::Special::Refuse)
        .map_err(std::io::Error::other)?;
    Ok(Some(BoundedLines::new(
        BufReader::new(file),
        MAX_LINE_BYTES,
    )))
}

/// The keys of every record of an existing log that ended in an error Stripe answered,
/// skipping lines that do not parse or are too long.
fn errored_keys(path: &Path) -> HashSet<String> {
    let mut out = HashSet::new();
    let Ok(Some(mut lines)) = log_lines(path) else {
        return out;
    };
    while let Ok(Some((_, line))) = lines.next_line() {
        let Some(line) = line else { continue };
        if !line.windows(6).any(|w| w == b"\"error" || w == b"update") {
            continue;
        }
        if let Ok(r) = serde_json::from_slice::<AuditRecord>(line) {
            if r.spends_key() {
                out.insert(r.idempotency_key);
            }
        }
    }
    out
}

/// Reads every record of a log (for `report`); lines that do not parse (or are longer than
/// a record can be) are skipped with their line numbers returned, so a torn last line after
/// a crash does not hide the rest.
pub fn read_log(path: &Path) -> std::io::Result<(Vec<AuditRecord>, Vec<usize>)> {
    let mut records = Vec::new();
    let mut bad = Vec::new();
    let Some(mut lines) = log_lines(path)? else {
        return Ok((records, bad));
    };
    while let Some((number, line)) = lines.next_line()? {
        if line.is_some_and(|l| l.trim_ascii().is_empty()) {
            continue;
        }
        match line.map(serde_json::from_slice::<AuditRecord>) {
            Some(Ok(r)) => records.push(r),
            _ => bad.push(number),
        }
    }
    Ok((records, bad))
}

/// The current time in RFC 3339 (UTC, seconds).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
impl AuditRecord {
    /// A record for tests: `action` of entry `dsr-1` ended in `outcome` (HTTP 200) at a
    /// fixed time, in test mode, naming no job or object; tests set what they are about.
    pub fn sample(action: &str, outcome: &str) -> AuditRecord {
        AuditRecord {
            time: "2026-11-27T08:00:00Z".into(),
            action: action.into(),
            entry: Some("dsr-1".into()),
            job: None,
            objects: Vec::new(),
            idempotency_key: "redactctl-x".into(),
            request_id: None,
            http_status: Some(200),
            outcome: outcome.into(),
            attempt: 0,
            mode: "test".into(),
            account: None,
            fixes: Vec::new(),
            context: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::ObjectKind;

    fn record(action: &str) -> AuditRecord {
        AuditRecord {
            time: now_rfc3339(),
            job: Some("prj_1".into()),
            objects: vec![ObjectRef::new(ObjectKind::Customers, "cus_1")],
            idempotency_key: "redactctl-abc".into(),
            request_id: Some("req_1".into()),
            ..AuditRecord::sample(action, "ok")
        }
    }

    /// error → fix → error → fix: each switch takes effect. The second switch to `fix`
    /// cannot reuse the first one's key (Stripe would replay it and change nothing), and a
    /// rerun of the log (a new process) knows it too; a run or create that succeeded keeps
    /// its key (a crash-retry must replay, not repeat).
    #[test]
    fn a_carried_out_update_spends_its_key_and_a_rerun_knows_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let key = |n: u32| format!("redactctl-update-fix-{n}");
        let mut log = AuditLog::open(&path).unwrap();
        let (first, k0) = log.fresh_key(key);
        assert_eq!(first, 0);
        let mut update = record("update");
        update.idempotency_key = k0.clone();
        update.outcome = INTENT.into();
        update.http_status = None;
        log.append(&update).unwrap();
        assert_eq!(log.fresh_key(key).1, k0, "an intent alone keeps the key");
        update.outcome = "ok".into();
        update.http_status = Some(200);
        log.append(&update).unwrap();
        assert_eq!(log.fresh_key(key), (1, key(1)));
        let mut run = record("run");
        run.idempotency_key = "redactctl-run-0".into();
        log.append(&run).unwrap();
        drop(log);
        let log = AuditLog::open(&path).unwrap();
        assert_eq!(log.fresh_key(key), (1, key(1)), "read back from the file");
        assert_eq!(
            log.fresh_key(|_| "redactctl-run-0".to_string()).0,
            0,
            "a run that succeeded keeps its key"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_log_that_cannot_be_written_is_refused_at_open() {
        if !Path::new("/dev/full").exists() {
            return;
        }
        let err = AuditLog::open(Path::new("/dev/full")).unwrap_err();
        assert!(matches!(err, AuditError::Write { .. }), "{err}");
    }

    #[test]
    fn keys_that_ended_in_an_answered_error_are_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let key = |n: u32| format!("k{n}");
        let mut log = AuditLog::open(&path).unwrap();
        assert_eq!(log.fresh_key(key), (0, "k0".to_string()));
        // An intent alone (a crash before the outcome): the same key again.
        let mut r = record("run");
        r.idempotency_key = "k0".into();
        r.outcome = INTENT.into();
        r.http_status = None;
        log.append(&r).unwrap();
        assert_eq!(log.fresh_key(key), (0, "k0".to_string()));
        // A network error (no answer): the same key, Stripe may not have seen it.
        r.outcome = "error: cannot reach Stripe".into();
        log.append(&r).unwrap();
        assert_eq!(log.fresh_key(key), (0, "k0".to_string()));
        // An answered 400: the next attempt.
        r.outcome = "error: Stripe error (HTTP 400)".into();
        r.http_status = Some(400);
        log.append(&r).unwrap();
        assert_eq!(log.fresh_key(key), (1, "k1".to_string()));
        drop(log);
        // Remembered across runs, read back from the file.
        let log = AuditLog::open(&path).unwrap();
        assert_eq!(log.fresh_key(key), (1, "k1".to_string()));
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
        // Each open probes the log with an empty line, which readers skip.
        assert_eq!(text.lines().filter(|l| !l.is_empty()).count(), 3);
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
        // Line 1 is the probe of the open.
        assert_eq!(bad, vec![3]);
        // The next open's probe ends the torn line: later records stay readable.
        let mut log = AuditLog::open(&path).unwrap();
        log.append(&record("run")).unwrap();
        let (records, bad) = read_log(&path).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(bad, vec![3]);
    }

    #[test]
    fn an_overlong_line_is_a_bad_line_and_the_records_after_it_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut log = AuditLog::open(&path).unwrap();
        log.append(&record("create")).unwrap();
        let mut junk = vec![b'x'; (MAX_LINE_BYTES + 10) as usize];
        junk.push(b'\n');
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(&junk)
            .unwrap();
        let mut log = AuditLog::open(&path).unwrap();
        log.append(&record("run")).unwrap();
        let (records, bad) = read_log(&path).unwrap();
        let actions: Vec<_> = records.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["create", "run"]);
        assert_eq!(bad, vec![3]);
    }

    #[cfg(unix)]
    #[test]
    fn a_log_that_is_not_a_regular_file_is_not_read() {
        let zero = Path::new("/dev/zero");
        if zero.exists() {
            assert!(read_log(zero).is_err());
        }
        let dir = tempfile::tempdir().unwrap();
        let (records, bad) = read_log(&dir.path().join("none.jsonl")).unwrap();
        assert!(records.is_empty() && bad.is_empty());
    }
}
