//! The terminal-job cache: jobs in `succeeded` or `canceled` never change again, so an
//! account with 100,000 historical jobs need not list them all on every run.
//!
//! One file per account and mode under the cache directory. It holds the terminal jobs in a
//! compact form (id, created, status, behaviour and the object set: not the full job JSON),
//! the jobs that were still active (id, created, status), and the newest creation time
//! seen. An observation with a cache lists only the jobs created since (with a safety
//! margin) and the active jobs by status; a previously active job that none of those lists
//! returned is looked for in the `succeeded` and `canceled` lists, newest first, down to its
//! creation time (a few pages, not one request per job), and only what is still missing then
//! is retrieved one by one. The file is rewritten only when what it holds changed.
//!
//! The cache must never be able to lie: "converged" and every receipt rest on it. So it is
//! bound to the API base, account and mode it was read from, and authenticated with an
//! HMAC-SHA256 whose key is derived from the API key (the key itself is never stored):
//! only a holder of the key can have written a cache that passes the check. A file that
//! fails the check, names another API base, account or mode, or disagrees with what the
//! listing shows (see [`check_against_listing`]) is discarded with a warning and every job
//! is listed. Deleting the file is therefore always safe: it only makes the next
//! observation a full one.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tracing::warn;

use crate::stripe::models::{JobObjects, JobStatus, Mode, RedactionJob, ValidationBehavior};

/// Bumped when the file's meaning changes; another version is ignored (full observation).
pub const FORMAT_VERSION: u32 = 3;

/// The first word of a cache file's first line; the MAC follows it in hex.
const MAGIC: &str = "redactctl-job-cache-v3";

/// What the MAC key is derived for (see [`crate::stripe::Client::derived_key`]).
pub const MAC_PURPOSE: &str = "redactctl job cache v3";

/// A cache file larger than this is not read (it is discarded, as a damaged one is).
pub const MAX_CACHE_BYTES: u64 = 512 * 1024 * 1024;

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

/// What a cache is bound to: it is used only where all three match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding<'a> {
    /// The API base URL the jobs were read from.
    pub api_base: &'a str,
    /// The account id (`GET /v1/account`).
    pub account: &'a str,
    pub mode: Mode,
}

/// The cache's content, as the observation uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobCache {
    pub format_version: u32,
    /// The API base the jobs were read from.
    pub api_base: String,
    /// The account id (`GET /v1/account`) the jobs belong to.
    pub account: String,
    pub mode: Mode,
    /// The largest `created` of any job seen (terminal or not).
    pub newest_created: i64,
    /// Jobs in terminal states, with their objects, sorted by (created, id). Rebuilt from
    /// the compact form: `object` and `livemode` as Stripe sets them, object kinds without
    /// ids left out, no embedded validation errors.
    pub terminal: Vec<RedactionJob>,
    /// The jobs that were not terminal when the cache was written, by id.
    pub active: BTreeMap<String, ActiveJob>,
}

/// What the cache remembers of a job that was still active: enough to look for it in the
/// list of the status it moved to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveJob {
    pub created: i64,
    pub status: JobStatus,
}

/// A terminal job on disk: `[id, created, status, behaviour, {kind: [ids]}]`.
#[derive(Serialize, Deserialize)]
struct CompactJob(
    String,
    i64,
    JobStatus,
    Option<ValidationBehavior>,
    // Read and written as `{kind: [ids]}`: no kind is ever `null` here (see `object_set`).
    JobObjects,
);

/// The file's body.
#[derive(Serialize, Deserialize)]
struct Disk {
    format_version: u32,
    api_base: String,
    account: String,
    mode: Mode,
    newest_created: i64,
    terminal: Vec<CompactJob>,
    active: BTreeMap<String, ActiveJob>,
}

/// [`CompactJob`] borrowed from a job, for writing: the same JSON, no copy of the job.
#[derive(Serialize)]
struct CompactRef<'a>(
    &'a str,
    i64,
    &'a JobStatus,
    Option<ValidationBehavior>,
    ObjectSetRef<'a>,
);

/// [`object_set`] written straight from the job's objects.
struct ObjectSetRef<'a>(&'a JobObjects);

impl Serialize for ObjectSetRef<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            self.0
                .iter()
                .filter_map(|(k, ids)| Some((k, ids.as_ref()?)))
                .filter(|(_, ids)| !ids.is_empty()),
        )
    }
}

/// [`Disk`] borrowed from a complete observation's jobs, for writing.
#[derive(Serialize)]
struct DiskRef<'a> {
    format_version: u32,
    api_base: &'a str,
    account: &'a str,
    mode: Mode,
    newest_created: i64,
    terminal: Vec<CompactRef<'a>>,
    active: BTreeMap<String, ActiveJob>,
}

/// The ids of each kind that has any: the object set a terminal job is compared by.
fn object_set(objects: &JobObjects) -> JobObjects {
    objects
        .iter()
        .filter_map(|(k, ids)| Some((k.clone(), ids.clone()?)))
        .filter(|(_, ids)| !ids.is_empty())
        .map(|(k, ids)| (k, Some(ids)))
        .collect()
}

impl CompactJob {
    fn of(job: &RedactionJob) -> CompactJob {
        CompactJob(
            job.id.clone(),
            job.created,
            job.status.clone(),
            job.validation_behavior,
            job.objects.as_ref().map(object_set).unwrap_or_default(),
        )
    }

    fn into_job(self, mode: Mode) -> RedactionJob {
        let CompactJob(id, created, status, validation_behavior, objects) = self;
        RedactionJob {
            id,
            object: "privacy.redaction_job".into(),
            created,
            livemode: mode == Mode::Live,
            objects: Some(objects),
            status,
            validation_behavior,
            validation_errors: None,
        }
    }
}

/// The parts of a cache that tell whether it must be rewritten.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    terminal: usize,
    newest_created: i64,
    active: BTreeMap<String, ActiveJob>,
}

impl Summary {
    /// Whether a cache written from `jobs` (a complete observation that started from this
    /// cache) would hold something the cache does not: a new terminal job, another set of
    /// active jobs or statuses, a newer job. Cheap (no clone of the jobs), so an
    /// observation where nothing changed writes nothing.
    pub fn is_stale_for(&self, jobs: &[RedactionJob]) -> bool {
        let terminal = jobs
            .iter()
            .filter(|j| j.status.is_terminal() && j.objects.is_some())
            .count();
        let newest = jobs.iter().map(|j| j.created).max().unwrap_or(0);
        terminal != self.terminal || newest != self.newest_created || active_of(jobs) != self.active
    }
}

/// Why a cache was not used (each reason is logged as a warning, then every job is listed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Discard {
    #[error("cannot read it: {0}")]
    Unreadable(String),
    #[error("it is larger than {} MiB", MAX_CACHE_BYTES / 1024 / 1024)]
    TooLarge,
    #[error("it was not written by this version of redactctl")]
    OtherFormat,
    #[error("its authentication check fails: it was edited, or written with another API key")]
    BadMac,
    #[error("it is damaged: {0}")]
    Damaged(String),
    #[error("it belongs to another API base, account or mode")]
    OtherBinding,
    #[error("it disagrees with Stripe: {0}")]
    Disagrees(String),
}

type HmacSha256 = Hmac<Sha256>;

/// The MAC of `body` under `mac_key`; `None` only if the MAC refused the key, which
/// HMAC (keys of any length) never does.
fn mac_of(mac_key: &[u8], body: &[u8]) -> Option<HmacSha256> {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(mac_key).ok()?;
    mac.update(body);
    Some(mac)
}

impl JobCache {
    /// The cache of everything in `jobs` (a complete observation of the account), as a
    /// value: what [`JobCache::encode_jobs`] writes without copying the jobs; tests compare
    /// the two.
    #[cfg(test)]
    pub fn from_jobs(binding: &Binding<'_>, jobs: &[RedactionJob]) -> JobCache {
        let mut terminal: Vec<RedactionJob> = jobs
            .iter()
            .filter(|j| j.status.is_terminal() && j.objects.is_some())
            .cloned()
            .collect();
        terminal.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        JobCache {
            format_version: FORMAT_VERSION,
            api_base: binding.api_base.to_string(),
            account: binding.account.to_string(),
            mode: binding.mode,
            newest_created: jobs.iter().map(|j| j.created).max().unwrap_or(0),
            active: active_of(jobs),
            terminal,
        }
    }

    /// How many cached terminal jobs were created at or after `from` (they are sorted by
    /// creation time): what listing the terminal statuses down to `from` would page through.
    pub fn terminal_since(&self, from: i64) -> usize {
        let first = self.terminal.partition_point(|j| j.created < from);
        self.terminal.len() - first
    }

    /// What [`Summary::is_stale_for`] compares, kept before [`merge`] consumes the cache.
    pub fn summary(&self) -> Summary {
        Summary {
            terminal: self.terminal.len(),
            newest_created: self.newest_created,
            active: self.active.clone(),
        }
    }

    /// The oldest creation time among `missing` jobs whose last known status is one the
    /// active lists cover: a job that left such a status can only be in the `succeeded` or
    /// `canceled` list at or after that time. `None` when no such job is missing.
    pub fn left_active_floor(&self, missing: &[String]) -> Option<i64> {
        let listed = active_statuses();
        missing
            .iter()
            .filter_map(|id| self.active.get(id))
            .filter(|a| listed.contains(&a.status))
            .map(|a| a.created)
            .min()
    }

    /// Jobs created at or after this time must be listed again.
    pub fn relist_from(&self) -> i64 {
        self.newest_created.saturating_sub(OVERLAP_SECONDS)
    }

    fn matches(&self, binding: &Binding<'_>) -> bool {
        self.format_version == FORMAT_VERSION
            && self.api_base == binding.api_base
            && self.account == binding.account
            && self.mode == binding.mode
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

    /// Reads and authenticates a cache. `Ok(None)`: there is none. `Err`: there is one,
    /// and it must not be trusted (the caller warns and lists every job).
    pub fn read(
        path: &Path,
        binding: &Binding<'_>,
        mac_key: &[u8],
    ) -> Result<Option<JobCache>, Discard> {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Discard::Unreadable(e.to_string())),
        };
        let mut bytes = Vec::new();
        file.take(MAX_CACHE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Discard::Unreadable(e.to_string()))?;
        if bytes.len() as u64 > MAX_CACHE_BYTES {
            return Err(Discard::TooLarge);
        }
        Self::decode(&bytes, binding, mac_key).map(Some)
    }

    /// The pure half of [`JobCache::read`]: header, MAC, JSON, binding, in that order (the
    /// JSON of a file that fails the MAC is never parsed).
    pub fn decode(
        bytes: &[u8],
        binding: &Binding<'_>,
        mac_key: &[u8],
    ) -> Result<JobCache, Discard> {
        let newline = bytes
            .iter()
            .position(|b| *b == b'\n')
            .ok_or(Discard::OtherFormat)?;
        let (header, body) = (&bytes[..newline], &bytes[newline + 1..]);
        let header = std::str::from_utf8(header).map_err(|_| Discard::OtherFormat)?;
        let tag = header
            .strip_prefix(MAGIC)
            .and_then(|rest| rest.strip_prefix(' '))
            .ok_or(Discard::OtherFormat)?;
        let tag = hex::decode(tag.trim()).map_err(|_| Discard::BadMac)?;
        // Constant-time comparison.
        mac_of(mac_key, body)
            .ok_or(Discard::BadMac)?
            .verify_slice(&tag)
            .map_err(|_| Discard::BadMac)?;
        let disk: Disk =
            serde_json::from_slice(body).map_err(|e| Discard::Damaged(e.to_string()))?;
        let mode = disk.mode;
        let cache = JobCache {
            format_version: disk.format_version,
            api_base: disk.api_base,
            account: disk.account,
            mode,
            newest_created: disk.newest_created,
            terminal: disk
                .terminal
                .into_iter()
                .map(|c| c.into_job(mode))
                .collect(),
            active: disk.active,
        };
        if !cache.matches(binding) {
            return Err(Discard::OtherBinding);
        }
        Ok(cache)
    }

    /// The file's bytes: the header line with the MAC over the JSON body, then the body.
    pub fn encode(&self, mac_key: &[u8]) -> std::io::Result<Vec<u8>> {
        let disk = Disk {
            format_version: self.format_version,
            api_base: self.api_base.clone(),
            account: self.account.clone(),
            mode: self.mode,
            newest_created: self.newest_created,
            terminal: self.terminal.iter().map(CompactJob::of).collect(),
            active: self.active.clone(),
        };
        Self::seal(&disk, mac_key)
    }

    /// The file's bytes for the cache of everything in `jobs` (a complete observation of
    /// the account), written straight from the jobs: no copy of them (in an account of 100,000 jobs, two copies
    /// of 50 MB at the end of every apply).
    pub fn encode_jobs(
        binding: &Binding<'_>,
        jobs: &[RedactionJob],
        mac_key: &[u8],
    ) -> std::io::Result<Vec<u8>> {
        let mut terminal: Vec<&RedactionJob> = jobs
            .iter()
            .filter(|j| j.status.is_terminal() && j.objects.is_some())
            .collect();
        terminal.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        let disk = DiskRef {
            format_version: FORMAT_VERSION,
            api_base: binding.api_base,
            account: binding.account,
            mode: binding.mode,
            newest_created: jobs.iter().map(|j| j.created).max().unwrap_or(0),
            terminal: terminal
                .into_iter()
                .filter_map(|j| {
                    Some(CompactRef(
                        &j.id,
                        j.created,
                        &j.status,
                        j.validation_behavior,
                        ObjectSetRef(j.objects.as_ref()?),
                    ))
                })
                .collect(),
            active: active_of(jobs),
        };
        Self::seal(&disk, mac_key)
    }

    /// Writes the cache of `jobs` (see [`JobCache::encode_jobs`]) as [`JobCache::store`]
    /// does.
    pub fn store_jobs(
        binding: &Binding<'_>,
        jobs: &[RedactionJob],
        path: &Path,
        mac_key: &[u8],
    ) -> std::io::Result<()> {
        write_atomically(path, &Self::encode_jobs(binding, jobs, mac_key)?)
    }

    /// The header line with the MAC over the JSON of `disk`, then that JSON.
    fn seal(disk: &impl Serialize, mac_key: &[u8]) -> std::io::Result<Vec<u8>> {
        let body = serde_json::to_vec(disk).map_err(std::io::Error::other)?;
        let mac = mac_of(mac_key, &body)
            .ok_or_else(|| std::io::Error::other("the cache's MAC key was refused"))?;
        let tag = hex::encode(mac.finalize().into_bytes());
        let mut out = Vec::with_capacity(body.len() + MAGIC.len() + tag.len() + 2);
        out.extend_from_slice(MAGIC.as_bytes());
        out.push(b' ');
        out.extend_from_slice(tag.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Reads a cache; `None` (after a warning when a file was there) when it is missing or
    /// must not be trusted: the caller then observes everything.
    pub fn load(path: &Path, binding: &Binding<'_>, mac_key: &[u8]) -> Option<JobCache> {
        match Self::read(path, binding, mac_key) {
            Ok(c) => c,
            Err(why) => {
                warn!(path = %path.display(), reason = %why, "job cache discarded; listing every job");
                None
            }
        }
    }

    /// Writes the cache atomically: a temporary file in the same directory, then renamed
    /// over the old one, so a reader never sees half a file. It is not `fsync`ed: the cache
    /// only saves requests, and a file a crash damaged fails its check and costs one full
    /// listing, while an fsync would cost every observation.
    pub fn store(&self, path: &Path, mac_key: &[u8]) -> std::io::Result<()> {
        write_atomically(path, &self.encode(mac_key)?)
    }
}

/// A temporary file in the same directory, renamed over `path` (see [`JobCache::store`]).
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.flush()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Checks a cache against a fresh listing before it is used: the pages of recent jobs
/// (newest first, `recent`, which reached the end of the list when `recent_complete`) must
/// hold every cached job created after the oldest job they show, and every job both
/// hold must agree (a terminal job never changes: same status, same objects). A cache that
/// a fresh, empty server contradicts, or whose terminal jobs were edited, fails here.
pub fn check_against_listing(
    cache: &JobCache,
    recent: &[RedactionJob],
    recent_complete: bool,
) -> Result<(), Discard> {
    let listed: BTreeMap<&str, &RedactionJob> = recent.iter().map(|j| (j.id.as_str(), j)).collect();
    let floor = if recent_complete {
        i64::MIN
    } else {
        // The pages stop somewhere: only jobs at least as new as the oldest shown must be
        // there (strictly newer, since jobs of one second come in any order).
        recent
            .iter()
            .map(|j| j.created)
            .min()
            .map_or(i64::MAX, |m| m.saturating_add(1))
    };
    for cached in &cache.terminal {
        match listed.get(cached.id.as_str()) {
            Some(fresh)
                if fresh.status != cached.status
                    || fresh.objects.as_ref().is_some_and(|o| {
                        Some(object_set(o)) != cached.objects.as_ref().map(object_set)
                    }) =>
            {
                return Err(Discard::Disagrees(format!(
                    "job {} reads differently from what was cached",
                    cached.id
                )));
            }
            None if cached.created >= floor => {
                return Err(Discard::Disagrees(format!(
                    "job {} is missing from the list that should hold it",
                    cached.id
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The active (not cacheable) jobs of a complete observation.
fn active_of(jobs: &[RedactionJob]) -> BTreeMap<String, ActiveJob> {
    jobs.iter()
        .filter(|j| !(j.status.is_terminal() && j.objects.is_some()))
        .map(|j| {
            (
                j.id.clone(),
                ActiveJob {
                    created: j.created,
                    status: j.status.clone(),
                },
            )
        })
        .collect()
}

/// Merges a cached observation: cached terminal jobs, then the fresh jobs (which win; a
/// job listed twice is kept once). Consumes the cache, so nothing of it is copied. Returns
/// the merged jobs (unsorted) and the previously active ids that no fresh list returned
/// (they changed status between two list calls, or reached a terminal or unknown status).
pub fn merge(cache: JobCache, fresh: Vec<RedactionJob>) -> (Vec<RedactionJob>, Vec<String>) {
    let mut seen: HashSet<String> = HashSet::with_capacity(fresh.len());
    let mut unique: Vec<RedactionJob> = Vec::with_capacity(fresh.len());
    for j in fresh {
        if seen.insert(j.id.clone()) {
            unique.push(j);
        }
    }
    let missing = cache
        .active
        .keys()
        .filter(|id| !seen.contains(*id))
        .cloned()
        .collect();
    // The cached jobs' vector is kept and grown: a second vector of 100,000 jobs for the
    // time of a copy would double the observation's peak memory.
    let mut jobs = cache.terminal;
    jobs.retain(|j| !seen.contains(&j.id));
    jobs.reserve_exact(unique.len());
    jobs.append(&mut unique);
    (jobs, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"derived-mac-key-for-tests-0123456";

    fn binding() -> Binding<'static> {
        Binding {
            api_base: "http://127.0.0.1:1",
            account: "acct_1",
            mode: Mode::Test,
        }
    }

    fn job(id: &str, created: i64, status: &str) -> RedactionJob {
        RedactionJob {
            id: id.into(),
            object: "privacy.redaction_job".into(),
            created,
            livemode: false,
            objects: Some(
                BTreeMap::from([("customers".to_string(), Some(vec![format!("cus_{id}")]))]).into(),
            ),
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
        let c = JobCache::from_jobs(&binding(), &jobs);
        let ids: Vec<&str> = c.terminal.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(ids, vec!["a", "c"]);
        let active: Vec<(&str, i64, &str)> = c
            .active
            .iter()
            .map(|(id, a)| (id.as_str(), a.created, a.status.as_str()))
            .collect();
        assert_eq!(active, vec![("b", 30, "ready"), ("d", 25, "quarantined")]);
        assert_eq!(c.newest_created, 30);
        assert_eq!(c.relist_from(), 30 - OVERLAP_SECONDS);
        // Nothing changed: nothing to write; a job that moved on: write.
        assert!(!c.summary().is_stale_for(&jobs));
        let mut moved = jobs.clone();
        moved[1].status = JobStatus::Succeeded;
        assert!(c.summary().is_stale_for(&moved));
    }

    /// A job that left the active set is looked for in the terminal lists down to its
    /// creation time; one in a status this version cannot list is not (it is retrieved).
    #[test]
    fn jobs_that_left_the_active_set_are_looked_for_from_their_creation_time() {
        let c = JobCache::from_jobs(
            &binding(),
            &[
                job("a", 10, "succeeded"),
                job("b", 20, "ready"),
                job("c", 30, "redacting"),
                job("d", 5, "quarantined"),
            ],
        );
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(c.left_active_floor(&ids(&["b", "c"])), Some(20));
        assert_eq!(c.left_active_floor(&ids(&["c", "d"])), Some(30));
        assert_eq!(c.left_active_floor(&ids(&["d"])), None);
        assert_eq!(c.left_active_floor(&[]), None);
        assert_eq!(c.terminal_since(10), 1);
        assert_eq!(c.terminal_since(11), 0);
        assert_eq!(c.terminal_since(i64::MIN), 1);
    }

    /// The file holds the object set of each terminal job, not its full JSON.
    #[test]
    fn terminal_jobs_are_stored_compactly_and_read_back_the_same() {
        let mut full = job("a", 1, "succeeded");
        if let Some(o) = full.objects.as_mut() {
            o.insert("charges".into(), None);
        }
        full.validation_errors = Some(Box::new(crate::stripe::models::List {
            object: "list".into(),
            data: Vec::new(),
            has_more: false,
            url: "/v1/privacy/redaction_jobs/a/validation_errors".into(),
        }));
        let c = JobCache::from_jobs(&binding(), &[full.clone()]);
        let bytes = c.encode(KEY).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.contains(r#""terminal":[["a",1,"succeeded",null,{"customers":["cus_a"]}]]"#),
            "{text}"
        );
        let back = JobCache::decode(&bytes, &binding(), KEY).unwrap();
        let j = &back.terminal[0];
        assert_eq!(
            (j.id.as_str(), j.created, &j.status),
            ("a", 1, &full.status)
        );
        assert_eq!(j.object_refs(), full.object_refs());
        // The listing's full form of the same job agrees with the compact one.
        assert_eq!(check_against_listing(&back, &[full], true), Ok(()));
    }

    #[test]
    fn merge_prefers_fresh_jobs_and_reports_unaccounted_active_ones() {
        let c = JobCache::from_jobs(
            &binding(),
            &[
                job("a", 10, "succeeded"),
                job("b", 20, "ready"),
                job("c", 30, "failed"),
            ],
        );
        // `b` is listed again (now failed); `c` is in no list: it must be retrieved.
        let (mut jobs, missing) = merge(c, vec![job("b", 20, "failed"), job("e", 40, "created")]);
        jobs.sort_by(|a, b| a.id.cmp(&b.id));
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

    /// Writing straight from the jobs gives the very file a cache built from them would.
    #[test]
    fn a_cache_written_from_the_jobs_is_the_same_file() {
        let mut with_null = job("e", 50, "canceled");
        if let Some(o) = with_null.objects.as_mut() {
            o.insert("charges".into(), None);
            o.insert("invoices".into(), Some(Vec::new()));
        }
        let jobs = vec![
            job("c", 30, "succeeded"),
            job("a", 10, "succeeded"),
            job("b", 20, "ready"),
            with_null,
        ];
        assert_eq!(
            JobCache::encode_jobs(&binding(), &jobs, KEY).unwrap(),
            JobCache::from_jobs(&binding(), &jobs).encode(KEY).unwrap()
        );
    }

    #[test]
    fn store_then_load_round_trips_and_rejects_other_bindings_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let path = JobCache::path(dir.path(), "acct_1", Mode::Test);
        assert!(path.ends_with("jobs-acct_1-test.json"));
        assert_eq!(JobCache::read(&path, &binding(), KEY), Ok(None));
        let c = JobCache::from_jobs(&binding(), &[job("a", 1, "succeeded")]);
        c.store(&path, KEY).unwrap();
        assert_eq!(JobCache::load(&path, &binding(), KEY), Some(c.clone()));
        for other in [
            Binding {
                account: "acct_2",
                ..binding()
            },
            Binding {
                mode: Mode::Live,
                ..binding()
            },
            Binding {
                api_base: "http://127.0.0.1:2",
                ..binding()
            },
        ] {
            assert_eq!(
                JobCache::read(&path, &other, KEY),
                Err(Discard::OtherBinding)
            );
        }
        std::fs::write(&path, b"{\"format_version\":1,").unwrap();
        assert_eq!(
            JobCache::read(&path, &binding(), KEY),
            Err(Discard::OtherFormat)
        );
        // No temporary files are left behind.
        c.store(&path, KEY).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// Anyone who can write the workspace can append a fake `succeeded` job; without the
    /// API key they cannot produce the MAC, so the edited file is refused.
    #[test]
    fn an_edited_cache_or_one_written_with_another_key_is_refused() {
        let c = JobCache::from_jobs(&binding(), &[job("a", 1, "succeeded")]);
        let bytes = c.encode(KEY).unwrap();
        assert_eq!(JobCache::decode(&bytes, &binding(), KEY), Ok(c.clone()));
        let text = String::from_utf8(bytes.clone()).unwrap();
        let poisoned = text.replacen(
            "\"terminal\":[",
            "\"terminal\":[{\"id\":\"prj_POISON\",\"object\":\"privacy.redaction_job\",\"created\":1,\"livemode\":false,\"objects\":{\"customers\":[\"cus_x\"]},\"status\":\"succeeded\"},",
            1,
        );
        assert_ne!(poisoned, text);
        assert_eq!(
            JobCache::decode(poisoned.as_bytes(), &binding(), KEY),
            Err(Discard::BadMac)
        );
        assert_eq!(
            JobCache::decode(&bytes, &binding(), b"another key"),
            Err(Discard::BadMac)
        );
        let no_header = text.split_once('\n').unwrap().1;
        assert_eq!(
            JobCache::decode(no_header.as_bytes(), &binding(), KEY),
            Err(Discard::OtherFormat)
        );
    }

    #[test]
    fn a_cache_the_listing_contradicts_is_refused() {
        let c = JobCache::from_jobs(
            &binding(),
            &[
                job("a", 100, "succeeded"),
                job("b", 200, "canceled"),
                job("c", 300, "ready"),
            ],
        );
        // The listing agrees (and reached the end of the list).
        let listed = vec![job("c", 300, "ready"), job("b", 200, "canceled")];
        assert_eq!(check_against_listing(&c, &listed, false), Ok(()));
        // A fresh, empty server: the jobs the pages should hold are not there.
        assert!(matches!(
            check_against_listing(&c, &[], true),
            Err(Discard::Disagrees(_))
        ));
        // A terminal job that reads differently.
        let changed = vec![job("c", 300, "ready"), job("b", 200, "succeeded")];
        assert!(matches!(
            check_against_listing(&c, &changed, false),
            Err(Discard::Disagrees(_))
        ));
        // Older cached jobs below the pages' floor are not expected in them.
        let newest_only = vec![job("c", 300, "ready"), job("b", 200, "canceled")];
        assert_eq!(check_against_listing(&c, &newest_only, false), Ok(()));
    }

    #[test]
    fn account_ids_cannot_escape_the_directory() {
        let p = JobCache::path(Path::new("/c"), "../../etc/x", Mode::Live);
        assert_eq!(p, PathBuf::from("/c/jobs-------etc-x-live.json"));
    }
}
