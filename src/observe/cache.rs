//! The terminal-job cache (issue 7, item 7): jobs in `succeeded` or `canceled` never change
//! again, so an account with 100,000 historical jobs need not list them all on every run.
//!
//! One file per account and mode under the cache directory. It holds the terminal jobs (with
//! their objects), the ids of the jobs that were still active, and the newest creation time
//! seen. An observation with a cache lists only the jobs created since (with a safety
//! margin), the active jobs by status, and retrieves one by one any previously active job
//! that none of those lists returned. Deleting or corrupting the file only makes the next
//! observation a full one; it never makes it wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::stripe::models::{JobStatus, Mode, RedactionJob};

/// Bumped when the file's meaning changes; another version is ignored (full observation).
pub const FORMAT_VERSION: u32 = 1;

/// Jobs created up to this many seconds before the newest cached one are listed again, so
/// that jobs created in the same second (listed in an arbitrary order) or stamped by a
/// slightly late server clock are never skipped.
pub const OVERLAP_SECONDS: i64 = 300;

/// The statuses in which a job can still change, listed one by one on a cached observation.
pub fn active_statuses() -> [JobStatus; 6] {
    [
        JobStatus::Created,
        JobStatus::Validating,
        JobStatus::Ready,
        JobStatus::Failed,
        JobStatus::Redacting,
        JobStatus::Canceling,
    ]
}

/// The cache file's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobCache {
    pub format_version: u32,
    /// The account id (`GET /v1/account`) the jobs belong to.
    pub account: String,
    pub mode: Mode,
    /// The largest `created` of any job seen (terminal or not).
    pub newest_created: i64,
    /// Jobs in terminal states, with their objects, sorted by (created, id).
    pub terminal: Vec<RedactionJob>,
    /// Ids of the jobs that were not terminal when the cache was written.
    pub active_ids: BTreeSet<String>,
}

impl JobCache {
    /// The cache of everything in `jobs` (a complete observation of the account).
    pub fn from_jobs(account: &str, mode: Mode, jobs: &[RedactionJob]) -> JobCache {
        let mut terminal: Vec<RedactionJob> = jobs
            .iter()
            .filter(|j| j.status.is_terminal() && j.objects.is_some())
            .cloned()
            .collect();
        terminal.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        JobCache {
            format_version: FORMAT_VERSION,
            account: account.to_string(),
            mode,
            newest_created: jobs.iter().map(|j| j.created).max().unwrap_or(0),
            active_ids: jobs
                .iter()
                .filter(|j| !(j.status.is_terminal() && j.objects.is_some()))
                .map(|j| j.id.clone())
                .collect(),
            terminal,
        }
    }

    /// Jobs created at or after this time must be listed again.
    pub fn relist_from(&self) -> i64 {
        self.newest_created.saturating_sub(OVERLAP_SECONDS)
    }

    /// The file for `account` in `mode` under `dir`.
    pub fn path(dir: &Path, account: &str, mode: Mode) -> PathBuf {
        let safe: String = account
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        dir.join(format!("jobs-{safe}-{}.json", mode.as_str()))
    }

    /// Reads a cache; `None` (after a warning) when it is missing, unreadable, of another
    /// format or of another account: the caller then observes everything.
    pub fn load(path: &Path, account: &str, mode: Mode) -> Option<JobCache> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                warn!(path = %path.display(), error = %e, "cannot read the job cache; listing every job");
                return None;
            }
        };
        match serde_json::from_slice::<JobCache>(&bytes) {
            Ok(c)
                if c.format_version == FORMAT_VERSION && c.account == account && c.mode == mode =>
            {
                Some(c)
            }
            Ok(_) => {
                warn!(path = %path.display(), "the job cache is for another account, mode or version; listing every job");
                None
            }
            Err(e) => {
                warn!(path = %path.display(), error = %e, "the job cache is damaged; listing every job");
                None
            }
        }
    }

    /// Writes the cache atomically: a temporary file in the same directory, flushed, then
    /// renamed over the old one, so a crash never leaves half a file.
    pub fn store(&self, path: &Path) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        // Buffered: serde_json writes token by token, one syscall each without it.
        let mut out = std::io::BufWriter::new(&mut tmp);
        serde_json::to_writer(&mut out, self)?;
        out.flush()?;
        drop(out);
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Merges a cached observation: cached terminal jobs, then the fresh jobs (which win).
/// Returns the merged jobs and the previously active ids that no fresh list returned (they
/// must be retrieved one by one: they changed status between two list calls, or reached a
/// terminal or unknown status).
pub fn merge(cache: &JobCache, fresh: Vec<RedactionJob>) -> (Vec<RedactionJob>, Vec<String>) {
    let mut by_id: BTreeMap<String, RedactionJob> = cache
        .terminal
        .iter()
        .map(|j| (j.id.clone(), j.clone()))
        .collect();
    for j in fresh {
        by_id.insert(j.id.clone(), j);
    }
    let missing = cache
        .active_ids
        .iter()
        .filter(|id| !by_id.contains_key(*id))
        .cloned()
        .collect();
    (by_id.into_values().collect(), missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, created: i64, status: &str) -> RedactionJob {
        RedactionJob {
            id: id.into(),
            object: "privacy.redaction_job".into(),
            created,
            livemode: false,
            objects: Some(BTreeMap::from([(
                "customers".to_string(),
                Some(vec![format!("cus_{id}")]),
            )])),
            status: JobStatus::from(status),
            validation_behavior: None,
            validation_errors: None,
        }
    }

    #[test]
    fn only_terminal_jobs_are_cached_and_active_ones_remembered() {
        let jobs = vec![
            job("a", 10, "succeeded"),
            job("b", 30, "ready"),
            job("c", 20, "canceled"),
            job("d", 25, "quarantined"),
        ];
        let c = JobCache::from_jobs("acct_1", Mode::Test, &jobs);
        let ids: Vec<&str> = c.terminal.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(ids, vec!["a", "c"]);
        assert_eq!(
            c.active_ids,
            BTreeSet::from(["b".to_string(), "d".to_string()])
        );
        assert_eq!(c.newest_created, 30);
        assert_eq!(c.relist_from(), 30 - OVERLAP_SECONDS);
    }

    #[test]
    fn merge_prefers_fresh_jobs_and_reports_unaccounted_active_ones() {
        let c = JobCache::from_jobs(
            "acct_1",
            Mode::Test,
            &[
                job("a", 10, "succeeded"),
                job("b", 20, "ready"),
                job("c", 30, "failed"),
            ],
        );
        // `b` is listed again (now failed); `c` is in no list: it must be retrieved.
        let (jobs, missing) = merge(&c, vec![job("b", 20, "failed"), job("e", 40, "created")]);
        let got: Vec<(&str, &str)> = jobs
            .iter()
            .map(|j| (j.id.as_str(), j.status.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![("a", "succeeded"), ("b", "failed"), ("e", "created")]
        );
        assert_eq!(missing, vec!["c".to_string()]);
    }

    #[test]
    fn store_then_load_round_trips_and_rejects_other_accounts_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = JobCache::path(dir.path(), "acct_1", Mode::Test);
        assert!(path.ends_with("jobs-acct_1-test.json"));
        assert_eq!(JobCache::load(&path, "acct_1", Mode::Test), None);
        let c = JobCache::from_jobs("acct_1", Mode::Test, &[job("a", 1, "succeeded")]);
        c.store(&path).unwrap();
        assert_eq!(JobCache::load(&path, "acct_1", Mode::Test), Some(c.clone()));
        assert_eq!(JobCache::load(&path, "acct_2", Mode::Test), None);
        assert_eq!(JobCache::load(&path, "acct_1", Mode::Live), None);
        std::fs::write(&path, b"{\"format_version\":1,").unwrap();
        assert_eq!(JobCache::load(&path, "acct_1", Mode::Test), None);
        // No temporary files are left behind.
        c.store(&path).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn account_ids_cannot_escape_the_directory() {
        let p = JobCache::path(Path::new("/c"), "../../etc/x", Mode::Live);
        assert_eq!(p, PathBuf::from("/c/jobs-------etc-x-live.json"));
    }
}
