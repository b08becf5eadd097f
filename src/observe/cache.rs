//! The terminal-job cache: jobs in `succeeded` or `canceled` never change again, so an
//! account with 100,000 historical jobs need not list them all on every run.
//!
//! One file per account and mode under the cache directory. It holds the terminal jobs in a
//! compact form (id, created, status, behaviour and the object set: not the full job JSON),
//! the jobs that were still active (id, created, status), the newest creation time seen,
//! and the creation time of each transaction a failed job's validation errors name (it
//! dates Stripe's 90-day risk period and never changes, so it is read once, not on every
//! run; an object Stripe refused to show is not kept, and is asked again next run).
//!
//! An observation with a cache lists the jobs created since the newest cached one (with a
//! safety margin) and the jobs that can still change, whichever way costs fewer requests
//! (see [`JobCache::active_reads`]): every job newest first down to the oldest cached
//! active one (usually a page or two), or a list per active status; in the second case a
//! previously active job that none of those lists returned is looked for in the
//! `succeeded` and `canceled` lists, newest first, down to its creation time (a few pages,
//! not one request per job), and only what is still missing then is retrieved one by one.
//!
//! # On disk: a log
//!
//! The file is a header line (the format's name and version), then records, one per line:
//! the MAC in hex, a space, the record's JSON. The first record (the base) holds the whole
//! cache and its binding; each later one, appended by an observation that changed
//! something, holds what it learnt: the jobs that became terminal (added), the active set
//! and the object dates (each replacing the previous ones whole), and the newest creation
//! time. So every record leaves the cache exactly as a rewrite from that observation would
//! have: a cache read up to any record is a consistent one, as old as that record, and an
//! old cache is always safe (a job it still calls active is read again; a job it calls
//! terminal is terminal). A record never says a job is terminal that the observation did
//! not see terminal. Nothing is written when nothing changed; the file is rewritten whole
//! (compacted into one base) when the records together outgrow the base, or pass
//! [`MAX_RECORDS`], or the file is not where the observation read it (another run wrote
//! it, or an append was cut short). Writes are not `fsync`ed: a crash costs at most a full
//! listing.
//!
//! # Why it cannot lie
//!
//! "Converged" and every receipt rest on the cache. So it is bound to the API base, account
//! and mode it was read from, and each record is authenticated with an HMAC-SHA256 whose
//! key is derived from the API key (the key itself is never stored): only a holder of the
//! key can have written a record that passes. Each MAC covers the previous record's MAC
//! (the header's name for the base) and the record's JSON, so records edited, swapped,
//! dropped from the middle or taken from another file fail too. Reading is bounded
//! ([`MAX_CACHE_BYTES`]) and checks each record's MAC before parsing it. Which bad input
//! does what:
//!
//! - **A whole record (ending in a newline) that fails its MAC discards the whole cache**:
//!   it was edited, or two runs appended at once; the prefix before it would be safe to
//!   use, but an edited file is a sign to trust none of it, and a full listing costs little.
//! - **A last line without its newline is ignored** (the cache is read up to the record
//!   before it): that is what a crash in the middle of an append leaves, and the records
//!   before it are a whole, consistent cache. The next write rewrites the file.
//! - A file that names another API base, account or mode, or disagrees with what the
//!   listing shows (see [`check_against_listing`]), is discarded too.
//!
//! A discarded cache is a warning, and every job is listed. Deleting the file is therefore
//! always safe: it only makes the next observation a full one.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tracing::warn;

use crate::stripe::models::{JobObjects, JobStatus, Mode, RedactionJob, ValidationBehavior};
use crate::stripe::PAGE_SIZE;

/// Bumped when the file's meaning changes; another version is ignored (full observation).
pub const FORMAT_VERSION: u32 = 5;

/// A cache file's first line.
const MAGIC: &str = "redactctl-job-cache-v5";

/// What the MAC key is derived for (see [`crate::stripe::Client::derived_key`]).
pub const MAC_PURPOSE: &str = "redactctl job cache v5";

/// A cache file larger than this is not read (it is discarded, as a damaged one is).
pub const MAX_CACHE_BYTES: u64 = 512 * 1024 * 1024;

/// Records appended after the base at most; the next write rewrites the file whole (as it
/// does when the records together outgrow the base).
pub const MAX_RECORDS: usize = 64;

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

/// How a cached observation reads the jobs that can still change (see
/// [`JobCache::active_reads`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveReads {
    /// Every job newest first down to this creation time: the new jobs and every cached
    /// active one, in whatever status it reached.
    Listing { from: i64 },
    /// The new jobs newest first down to this creation time, then one list per active
    /// status (and the jobs that left the active set looked for by their new status).
    ByStatus { from: i64 },
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
    /// The `created` of the objects that failed jobs' validation errors name (object id →
    /// unix seconds), as dated for the 90-day risk period: it never changes, so it is read
    /// once, not on every run. Only objects a failed job still names are kept.
    pub objects: BTreeMap<String, i64>,
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
    objects: BTreeMap<String, i64>,
}

/// A record appended after the base: what one observation learnt. The jobs that became
/// terminal are added; the active set and the object dates replace the previous ones
/// whole, so that each record leaves the cache exactly as a rewrite would have.
#[derive(Deserialize)]
struct Record {
    newest_created: i64,
    terminal: Vec<CompactJob>,
    active: BTreeMap<String, ActiveJob>,
    objects: BTreeMap<String, i64>,
}

/// [`Record`] borrowed from the jobs, for writing.
#[derive(Serialize)]
struct RecordRef<'a> {
    newest_created: i64,
    terminal: Vec<CompactRef<'a>>,
    active: BTreeMap<String, ActiveJob>,
    objects: &'a BTreeMap<String, i64>,
}

/// Where a log's last whole record ends: an append goes there, chained to its MAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEnd {
    /// Bytes up to the end of the last whole record.
    len: u64,
    /// That record's MAC.
    mac: Vec<u8>,
    /// Bytes of the header and the base record.
    base_len: u64,
    /// Records after the base.
    records: usize,
}

/// How [`Tail::store`] wrote the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// One record at the end of the file.
    Appended,
    /// The whole file (compacted: one base record).
    Rewritten,
}

/// The records of a log after its header, read one by one: each line is the hex MAC, a
/// space and the JSON; each MAC covers the previous record's MAC (the header for the first)
/// and the JSON, so a record edited, moved, dropped from the middle or taken from another
/// file fails its check.
struct Records<'a> {
    rest: &'a [u8],
    /// Bytes read so far (to the end of the last whole record).
    offset: u64,
    /// The last record's MAC (the header before the first).
    prev: Vec<u8>,
    mac_key: &'a [u8],
}

impl Records<'_> {
    /// The next record, authenticated, then parsed. `Ok(None)`: the end of the file, or a
    /// last line without its newline (an append that a crash cut short: the records before
    /// it are a whole, consistent cache). `Err`: a whole record fails its MAC (the file was
    /// edited, or two runs appended at once) or, authentic, does not parse.
    fn next_json<T: serde::de::DeserializeOwned>(&mut self) -> Result<Option<T>, Discard> {
        let Some(newline) = self.rest.iter().position(|b| *b == b'\n') else {
            return Ok(None);
        };
        let line = &self.rest[..newline];
        let space = line
            .iter()
            .position(|b| *b == b' ')
            .ok_or(Discard::BadMac)?;
        let (tag, json) = (&line[..space], &line[space + 1..]);
        let tag = hex::decode(tag).map_err(|_| Discard::BadMac)?;
        // Constant-time comparison.
        chained_mac(self.mac_key, &self.prev, json)
            .ok_or(Discard::BadMac)?
            .verify_slice(&tag)
            .map_err(|_| Discard::BadMac)?;
        let value = serde_json::from_slice(json).map_err(|e| Discard::Damaged(e.to_string()))?;
        self.prev = tag;
        self.rest = &self.rest[newline + 1..];
        self.offset += newline as u64 + 1;
        Ok(Some(value))
    }
}

/// One record's line (hex MAC, space, JSON, newline) chained to `prev`, and its MAC.
fn record_line(
    prev: &[u8],
    value: &impl Serialize,
    mac_key: &[u8],
) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let json = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    let mac = chained_mac(mac_key, prev, &json)
        .ok_or_else(|| std::io::Error::other("the cache's MAC key was refused"))?
        .finalize()
        .into_bytes()
        .to_vec();
    let tag = hex::encode(&mac);
    let mut line = Vec::with_capacity(tag.len() + json.len() + 2);
    line.extend_from_slice(tag.as_bytes());
    line.push(b' ');
    line.extend_from_slice(&json);
    line.push(b'\n');
    Ok((line, mac))
}

/// The MAC of a record: the previous record's MAC, then its JSON.
fn chained_mac(mac_key: &[u8], prev: &[u8], json: &[u8]) -> Option<HmacSha256> {
    let mut mac = mac_of(mac_key, prev)?;
    mac.update(json);
    Some(mac)
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
    objects: &'a BTreeMap<String, i64>,
}

/// Whether the cache keeps `job` as terminal: it can never change again.
fn cacheable(job: &RedactionJob) -> bool {
    job.status.is_terminal() && job.objects.is_some()
}

/// The compact form of each cacheable job in `jobs`, sorted by (created, id), borrowed.
fn compact_refs<'a>(jobs: impl Iterator<Item = &'a RedactionJob>) -> Vec<CompactRef<'a>> {
    let mut terminal: Vec<&RedactionJob> = jobs.filter(|j| cacheable(j)).collect();
    terminal.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    terminal
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
        .collect()
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
    objects: BTreeMap<String, i64>,
}

impl Summary {
    /// Whether a cache written from `jobs` (a complete observation that started from this
    /// cache) would hold something the cache does not: a new terminal job, another set of
    /// active jobs or statuses, a newer job, other object creation times (`objects`: what
    /// it would keep of them). Cheap (no clone of the jobs), so an observation where
    /// nothing changed writes nothing.
    pub fn is_stale_for(&self, jobs: &[RedactionJob], objects: &BTreeMap<String, i64>) -> bool {
        let terminal = jobs.iter().filter(|j| cacheable(j)).count();
        let newest = jobs.iter().map(|j| j.created).max().unwrap_or(0);
        terminal != self.terminal
            || newest != self.newest_created
            || *objects != self.objects
            || active_of(jobs) != self.active
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
    #[error(
        "its authentication check fails: it was edited, written with another API key, or \
         appended to by two runs at once"
    )]
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
        let mut terminal: Vec<RedactionJob> =
            jobs.iter().filter(|j| cacheable(j)).cloned().collect();
        terminal.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        JobCache {
            format_version: FORMAT_VERSION,
            api_base: binding.api_base.to_string(),
            account: binding.account.to_string(),
            mode: binding.mode,
            newest_created: jobs.iter().map(|j| j.created).max().unwrap_or(0),
            active: active_of(jobs),
            terminal,
            objects: BTreeMap::new(),
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
            objects: self.objects.clone(),
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

    /// How many cached jobs (terminal or active) were created at or after `from`.
    fn jobs_since(&self, from: i64) -> usize {
        self.terminal_since(from) + self.active.values().filter(|a| a.created >= from).count()
    }

    /// Whichever of the two ways of reading what can have changed costs fewer requests, as
    /// far as the cache can tell (new jobs cost both the same). Both see every job that can
    /// still change: a new job is in the recent listing either way; a cached active one is
    /// either in the listing down to the oldest of them, or in its status's list (or found
    /// as one that left the active set). Listing down to the oldest active job is usually
    /// cheaper (active jobs are recent: a page or two, against one list per active status),
    /// and it also finds the jobs that left the active set at no extra cost; the status
    /// lists win when an old job is still active under many newer terminal ones.
    pub fn active_reads(&self) -> ActiveReads {
        let page = PAGE_SIZE as usize;
        // A listing newest first stops at the page that shows a job older than its floor:
        // `n` jobs at or after it cost the pages that hold `n + 1`.
        let pages_down_to = |from: i64| self.jobs_since(from) / page + 1;
        let recent = self.relist_from();
        let oldest_active = self.active.values().map(|a| a.created).min();
        let from = oldest_active.map_or(recent, |o| o.min(recent));
        let listed = active_statuses();
        let by_status_lists: usize = listed
            .iter()
            .map(|s| {
                let n = self.active.values().filter(|a| &a.status == s).count();
                n.div_ceil(page).max(1)
            })
            .sum();
        // A job in a status no list covers, older than the recent listing, is retrieved.
        let retrieved = self
            .active
            .values()
            .filter(|a| !listed.contains(&a.status) && a.created < recent)
            .count();
        let by_status = pages_down_to(recent) + by_status_lists + retrieved;
        if pages_down_to(from) <= by_status {
            ActiveReads::Listing { from }
        } else {
            ActiveReads::ByStatus { from: recent }
        }
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
        Ok(Self::read_log(path, binding, mac_key)?.map(|(cache, _)| cache))
    }

    /// [`JobCache::read`], with where the log's last whole record ends (to append after it).
    pub fn read_log(
        path: &Path,
        binding: &Binding<'_>,
        mac_key: &[u8],
    ) -> Result<Option<(JobCache, LogEnd)>, Discard> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Discard::Unreadable(e.to_string())),
            Ok(_) => {}
        }
        // Only a regular file: a FIFO planted at the cache's path would block the open.
        let file = crate::io_limits::open_checked(path, crate::io_limits::Special::Refuse)
            .map_err(|e| Discard::Unreadable(e.to_string()))?;
        let mut bytes = Vec::new();
        file.take(MAX_CACHE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Discard::Unreadable(e.to_string()))?;
        if bytes.len() as u64 > MAX_CACHE_BYTES {
            return Err(Discard::TooLarge);
        }
        Self::decode_log(&bytes, binding, mac_key).map(Some)
    }

    /// The pure half of [`JobCache::read`]: header, then each record's MAC before its
    /// JSON (the JSON of a record that fails its MAC is never parsed), then the binding.
    pub fn decode(
        bytes: &[u8],
        binding: &Binding<'_>,
        mac_key: &[u8],
    ) -> Result<JobCache, Discard> {
        Self::decode_log(bytes, binding, mac_key).map(|(cache, _)| cache)
    }

    /// [`JobCache::decode`], with where the last whole record ends.
    pub fn decode_log(
        bytes: &[u8],
        binding: &Binding<'_>,
        mac_key: &[u8],
    ) -> Result<(JobCache, LogEnd), Discard> {
        let rest = bytes
            .strip_prefix(MAGIC.as_bytes())
            .and_then(|rest| rest.strip_prefix(b"\n"))
            .ok_or(Discard::OtherFormat)?;
        let mut records = Records {
            rest,
            offset: (bytes.len() - rest.len()) as u64,
            prev: MAGIC.as_bytes().to_vec(),
            mac_key,
        };
        let base: Disk = match records.next_json()? {
            Some(base) => base,
            None => return Err(Discard::Damaged("it ends before its first record".into())),
        };
        let base_len = records.offset;
        let mode = base.mode;
        let mut cache = JobCache {
            format_version: base.format_version,
            api_base: base.api_base,
            account: base.account,
            mode,
            newest_created: base.newest_created,
            terminal: base
                .terminal
                .into_iter()
                .map(|c| c.into_job(mode))
                .collect(),
            active: base.active,
            objects: base.objects,
        };
        if !cache.matches(binding) {
            return Err(Discard::OtherBinding);
        }
        let mut appended = 0;
        while let Some(record) = records.next_json::<Record>()? {
            appended += 1;
            cache.newest_created = record.newest_created;
            cache
                .terminal
                .extend(record.terminal.into_iter().map(|c| c.into_job(mode)));
            cache.active = record.active;
            cache.objects = record.objects;
        }
        if appended > 0 {
            // Each record's jobs are newer than most of the base's: nearly sorted already.
            cache
                .terminal
                .sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
            cache.terminal.dedup_by(|a, b| a.id == b.id);
        }
        let end = LogEnd {
            len: records.offset,
            mac: records.prev,
            base_len,
            records: appended,
        };
        Ok((cache, end))
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
            objects: self.objects.clone(),
        };
        Ok(Self::seal(&disk, mac_key)?.0)
    }

    /// The file's bytes for the cache of everything in `jobs` (a complete observation of
    /// the account) and the creation times `objects` of the objects its failed jobs' errors
    /// name, written straight from the jobs: no copy of them (in an account of 100,000
    /// jobs, two copies of 50 MB at the end of every apply).
    pub fn encode_jobs(
        binding: &Binding<'_>,
        jobs: &[RedactionJob],
        objects: &BTreeMap<String, i64>,
        mac_key: &[u8],
    ) -> std::io::Result<Vec<u8>> {
        Ok(Self::seal_jobs(binding, jobs, objects, mac_key)?.0)
    }

    /// [`JobCache::encode_jobs`], and the base record's MAC.
    fn seal_jobs(
        binding: &Binding<'_>,
        jobs: &[RedactionJob],
        objects: &BTreeMap<String, i64>,
        mac_key: &[u8],
    ) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
        let disk = DiskRef {
            format_version: FORMAT_VERSION,
            api_base: binding.api_base,
            account: binding.account,
            mode: binding.mode,
            newest_created: jobs.iter().map(|j| j.created).max().unwrap_or(0),
            terminal: compact_refs(jobs.iter()),
            active: active_of(jobs),
            objects,
        };
        Self::seal(&disk, mac_key)
    }

    /// Writes the cache of `jobs` (see [`JobCache::encode_jobs`]) as [`JobCache::store`]
    /// does.
    pub fn store_jobs(
        binding: &Binding<'_>,
        jobs: &[RedactionJob],
        objects: &BTreeMap<String, i64>,
        path: &Path,
        mac_key: &[u8],
    ) -> std::io::Result<()> {
        Self::store_log(binding, jobs, objects, path, mac_key).map(|_| ())
    }

    /// [`JobCache::store_jobs`], and what a later write in this process needs to append to
    /// the file rather than rewrite it (see [`Tail`]).
    pub fn store_log(
        binding: &Binding<'_>,
        jobs: &[RedactionJob],
        objects: &BTreeMap<String, i64>,
        path: &Path,
        mac_key: &[u8],
    ) -> std::io::Result<Tail> {
        let (bytes, mac) = Self::seal_jobs(binding, jobs, objects, mac_key)?;
        write_atomically(path, &bytes)?;
        let len = bytes.len() as u64;
        let end = LogEnd {
            len,
            mac,
            base_len: len,
            records: 0,
        };
        Ok(Tail::after(jobs, objects, end))
    }

    /// The header line, then `disk` as the log's first record; and that record's MAC.
    fn seal(disk: &impl Serialize, mac_key: &[u8]) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
        let (line, mac) = record_line(MAGIC.as_bytes(), disk, mac_key)?;
        let mut out = Vec::with_capacity(MAGIC.len() + 1 + line.len());
        out.extend_from_slice(MAGIC.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(&line);
        Ok((out, mac))
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

    /// [`JobCache::load`], with where the log ends (see [`JobCache::tail`]).
    pub fn load_log(
        path: &Path,
        binding: &Binding<'_>,
        mac_key: &[u8],
    ) -> Option<(JobCache, LogEnd)> {
        match Self::read_log(path, binding, mac_key) {
            Ok(c) => c,
            Err(why) => {
                warn!(path = %path.display(), reason = %why, "job cache discarded; listing every job");
                None
            }
        }
    }

    /// What an observation that read this cache (ending at `end`) and then listed `fresh`
    /// keeps of it to append what changed: which cached terminal jobs the fresh lists can
    /// have returned again (only those created at or after the oldest terminal job they
    /// returned: the lists read newest first, or only active jobs), and what the cache
    /// held. Call it before [`merge`] consumes the cache.
    pub fn tail(&self, end: LogEnd, fresh: &[RedactionJob]) -> Tail {
        let since = fresh
            .iter()
            .filter(|j| cacheable(j))
            .map(|j| j.created)
            .min();
        let known = since
            .map(|t| {
                let first = self.terminal.partition_point(|j| j.created < t);
                self.terminal[first..]
                    .iter()
                    .map(|j| j.id.clone())
                    .collect()
            })
            .unwrap_or_default();
        Tail {
            end,
            summary: self.summary(),
            since,
            known,
        }
    }

    /// Writes the cache whole (a log of one base record), atomically: a temporary file in
    /// the same directory, then renamed over the old one, so a reader never sees half a
    /// file. It is not `fsync`ed: the cache only saves requests, and a file a crash damaged
    /// fails its check and costs one full listing, while an fsync would cost every
    /// observation.
    pub fn store(&self, path: &Path, mac_key: &[u8]) -> std::io::Result<()> {
        write_atomically(path, &self.encode(mac_key)?)
    }
}

/// What an observation keeps of the cache it read (see [`JobCache::tail`]), to append to it
/// what it learnt rather than rewrite it.
#[derive(Debug, Clone)]
pub struct Tail {
    end: LogEnd,
    summary: Summary,
    /// The oldest creation time among the terminal jobs the fresh lists returned.
    since: Option<i64>,
    /// The cached terminal jobs created at or after `since`.
    known: HashSet<String>,
}

impl Tail {
    /// The tail of a log (ending at `end`) that holds exactly what a cache written from
    /// `jobs` and `objects` holds: a later picture's jobs that are not in it are the
    /// active ones and those created since (with the overlap every cached observation
    /// allows for).
    fn after(jobs: &[RedactionJob], objects: &BTreeMap<String, i64>, end: LogEnd) -> Tail {
        let newest = jobs.iter().map(|j| j.created).max().unwrap_or(0);
        let since = newest.saturating_sub(OVERLAP_SECONDS);
        Tail {
            end,
            summary: Summary {
                terminal: jobs.iter().filter(|j| cacheable(j)).count(),
                newest_created: newest,
                active: active_of(jobs),
                objects: objects.clone(),
            },
            since: Some(since),
            known: jobs
                .iter()
                .filter(|j| cacheable(j) && j.created >= since)
                .map(|j| j.id.clone())
                .collect(),
        }
    }

    /// This tail once the picture is `jobs` and `objects` and the cache was found to hold
    /// just that (nothing to write): ready for a later write of this process.
    pub fn settled(&self, jobs: &[RedactionJob], objects: &BTreeMap<String, i64>) -> Tail {
        Tail::after(jobs, objects, self.end.clone())
    }

    /// Whether the cache must be written (see [`Summary::is_stale_for`]).
    pub fn is_stale_for(&self, jobs: &[RedactionJob], objects: &BTreeMap<String, i64>) -> bool {
        self.summary.is_stale_for(jobs, objects)
    }

    /// Whether `job` (of the observation's complete picture) is terminal and not yet in
    /// the cache: it was active there, or a fresh list returned it and the cache did not
    /// hold it. Every other job of the picture came from the cache.
    fn is_new(&self, job: &RedactionJob) -> bool {
        cacheable(job)
            && (self.summary.active.contains_key(&job.id)
                || (self.since.is_some_and(|t| job.created >= t) && !self.known.contains(&job.id)))
    }

    /// Writes what a complete observation that started from this cache learnt (`jobs`,
    /// `objects` as for [`JobCache::encode_jobs`]): one record appended at the end of the
    /// log, or — when the records would outgrow the base (in bytes, or past
    /// [`MAX_RECORDS`]), or the file is not where this observation left it (another run
    /// wrote it, or an append was cut short) — the whole file, rewritten atomically.
    pub fn store(
        &self,
        binding: &Binding<'_>,
        jobs: &[RedactionJob],
        objects: &BTreeMap<String, i64>,
        path: &Path,
        mac_key: &[u8],
    ) -> std::io::Result<(Written, Tail)> {
        let record = RecordRef {
            newest_created: jobs.iter().map(|j| j.created).max().unwrap_or(0),
            terminal: compact_refs(jobs.iter().filter(|j| self.is_new(j))),
            active: active_of(jobs),
            objects,
        };
        let (line, mac) = record_line(&self.end.mac, &record, mac_key)?;
        let appended = self.end.len.saturating_sub(self.end.base_len) + line.len() as u64;
        if self.end.records < MAX_RECORDS
            && appended <= self.end.base_len
            && append_at(path, self.end.len, &line)?
        {
            let end = LogEnd {
                len: self.end.len + line.len() as u64,
                mac,
                base_len: self.end.base_len,
                records: self.end.records + 1,
            };
            return Ok((Written::Appended, Tail::after(jobs, objects, end)));
        }
        let next = JobCache::store_log(binding, jobs, objects, path, mac_key)?;
        Ok((Written::Rewritten, next))
    }
}

/// Appends `line` to the file at `path` if it is still `len` bytes long (else `false`:
/// nothing written). One `write` on a file opened for appending: a crash leaves the line
/// whole or cut short, and a reader stops before a line cut short.
fn append_at(path: &Path, len: u64, line: &[u8]) -> std::io::Result<bool> {
    let mut file = match std::fs::OpenOptions::new().append(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if file.metadata()?.len() != len {
        return Ok(false);
    }
    file.write_all(line)?;
    Ok(true)
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
        .filter(|j| !cacheable(j))
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
        let none = BTreeMap::new();
        assert!(!c.summary().is_stale_for(&jobs, &none));
        let mut moved = jobs.clone();
        moved[1].status = JobStatus::Succeeded;
        assert!(c.summary().is_stale_for(&moved, &none));
        // A newly dated object is written too.
        assert!(c
            .summary()
            .is_stale_for(&jobs, &BTreeMap::from([("pi_1".to_string(), 5)])));
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

    /// Recent active jobs: listing everything down to the oldest of them costs two pages,
    /// far fewer than a list per active status; an old active job under many newer
    /// terminal ones: the status lists cost fewer.
    #[test]
    fn the_cheaper_way_to_read_the_active_jobs_is_chosen() {
        let hour = 3600;
        // 1,000 terminal jobs an hour apart, then 100 active ones a minute apart.
        let mut jobs: Vec<RedactionJob> = (0..1_000)
            .map(|i| job(&format!("t{i}"), i * hour, "succeeded"))
            .collect();
        let start = 1_000 * hour;
        let statuses = ["ready", "validating", "redacting", "failed"];
        jobs.extend(
            (0..100).map(|i| job(&format!("a{i}"), start + i * 60, statuses[i as usize % 4])),
        );
        let recent = JobCache::from_jobs(&binding(), &jobs);
        assert_eq!(recent.active_reads(), ActiveReads::Listing { from: start });

        // The oldest job is still failed: 1,100 jobs newer than it (12 pages) against 1
        // recent page and 6 status lists.
        jobs[0].status = JobStatus::Failed;
        let old = JobCache::from_jobs(&binding(), &jobs);
        assert_eq!(
            old.active_reads(),
            ActiveReads::ByStatus {
                from: old.relist_from()
            }
        );

        // No active job: the recent listing alone sees every new job.
        let quiet = JobCache::from_jobs(&binding(), &jobs[1..1_000]);
        assert_eq!(
            quiet.active_reads(),
            ActiveReads::Listing {
                from: quiet.relist_from()
            }
        );

        // An old job in a status no list covers would be retrieved on its own: a request
        // either way, so it does not tip the choice to a long listing.
        jobs[0].status = JobStatus::from("quarantined");
        let unknown = JobCache::from_jobs(&binding(), &jobs);
        assert!(matches!(
            unknown.active_reads(),
            ActiveReads::ByStatus { .. }
        ));
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
        let dates = BTreeMap::from([("pi_1".to_string(), 7)]);
        assert_eq!(
            JobCache::encode_jobs(&binding(), &jobs, &dates, KEY).unwrap(),
            JobCache {
                objects: dates.clone(),
                ..JobCache::from_jobs(&binding(), &jobs)
            }
            .encode(KEY)
            .unwrap()
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

    /// The creation times of erroring objects are kept and authenticated with the jobs.
    #[test]
    fn object_creation_times_round_trip_and_cannot_be_edited() {
        let c = JobCache {
            objects: BTreeMap::from([("pi_1".to_string(), 1_700_000_000)]),
            ..JobCache::from_jobs(&binding(), &[job("a", 1, "failed")])
        };
        let bytes = c.encode(KEY).unwrap();
        assert_eq!(JobCache::decode(&bytes, &binding(), KEY), Ok(c.clone()));
        let text = String::from_utf8(bytes).unwrap();
        let lie = text.replacen("\"pi_1\":1700000000", "\"pi_1\":1600000000", 1);
        assert_ne!(lie, text);
        assert_eq!(
            JobCache::decode(lie.as_bytes(), &binding(), KEY),
            Err(Discard::BadMac)
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

    /// 50 old terminal jobs and two active ones (`b` ready, `c` redacting).
    fn history() -> Vec<RedactionJob> {
        let mut jobs: Vec<RedactionJob> = (0..50)
            .map(|i| job(&format!("old{i:02}"), i, "succeeded"))
            .collect();
        jobs.push(job("b", 100, "ready"));
        jobs.push(job("c", 110, "redacting"));
        jobs
    }

    /// One observation that started from the cache at `path`: it listed `fresh` (the jobs
    /// created at or after `from`, as a listing newest first would) and its complete
    /// picture is `now`; the cache is written as the observer writes it.
    fn observe_into(path: &Path, now: &[RedactionJob], from: i64) -> Written {
        let (cache, end) = JobCache::read_log(path, &binding(), KEY).unwrap().unwrap();
        let fresh: Vec<RedactionJob> = now.iter().filter(|j| j.created >= from).cloned().collect();
        let tail = cache.tail(end, &fresh);
        assert!(tail.is_stale_for(now, &dates()));
        tail.store(&binding(), now, &dates(), path, KEY).unwrap().0
    }

    fn dates() -> BTreeMap<String, i64> {
        BTreeMap::from([("pi_b".to_string(), 42)])
    }

    /// `b` succeeded and `d` was created (first record); then `c` succeeded and `e` was
    /// canceled (second record).
    fn two_appends(path: &Path) -> Vec<RedactionJob> {
        let mut jobs = history();
        JobCache::store_jobs(&binding(), &jobs, &BTreeMap::new(), path, KEY).unwrap();
        jobs[50].status = JobStatus::Succeeded;
        jobs.push(job("d", 120, "validating"));
        assert_eq!(observe_into(path, &jobs, 100), Written::Appended);
        jobs[51].status = JobStatus::Succeeded;
        jobs.push(job("e", 130, "canceled"));
        assert_eq!(observe_into(path, &jobs, 110), Written::Appended);
        jobs
    }

    fn rewrite_of(jobs: &[RedactionJob]) -> JobCache {
        JobCache {
            objects: dates(),
            ..JobCache::from_jobs(&binding(), jobs)
        }
    }

    #[test]
    fn records_appended_read_as_the_rewrite_would() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let jobs = two_appends(&path);
        let bytes = std::fs::read(&path).unwrap();
        // The header, the base and two records; the base is not written again.
        assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 4);
        assert_eq!(
            JobCache::decode(&bytes, &binding(), KEY),
            Ok(rewrite_of(&jobs))
        );
        let c = JobCache::decode(&bytes, &binding(), KEY).unwrap();
        assert_eq!(c.active.keys().collect::<Vec<_>>(), vec!["d"]);
        assert_eq!(c.terminal_since(100), 3);
    }

    /// A crash in the middle of an append leaves a last line without its newline: the
    /// cache reads as it was before that append, and the next write starts the file over.
    #[test]
    fn a_log_cut_short_is_read_up_to_its_last_whole_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let jobs = two_appends(&path);
        let bytes = std::fs::read(&path).unwrap();
        let lines: Vec<usize> = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1)
            .collect();
        let mut after_first = jobs.clone();
        after_first[51].status = JobStatus::Redacting;
        after_first.pop();
        for cut in [lines[2], lines[2] + 1, lines[3] - 1] {
            assert_eq!(
                JobCache::decode(&bytes[..cut], &binding(), KEY),
                Ok(rewrite_of(&after_first)),
                "cut at {cut}"
            );
        }
        // Cut inside the base: nothing to use.
        assert!(matches!(
            JobCache::decode(&bytes[..lines[1] - 1], &binding(), KEY),
            Err(Discard::Damaged(_))
        ));
        // The next write does not append after the torn line: it rewrites the file.
        std::fs::write(&path, &bytes[..lines[3] - 1]).unwrap();
        assert_eq!(observe_into(&path, &jobs, 110), Written::Rewritten);
        assert_eq!(
            JobCache::read(&path, &binding(), KEY),
            Ok(Some(rewrite_of(&jobs)))
        );
    }

    #[test]
    fn a_flipped_byte_in_any_record_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        two_appends(&path);
        let bytes = std::fs::read(&path).unwrap();
        let header = MAGIC.len() + 1;
        for i in header..bytes.len() {
            if bytes[i] == b'\n' {
                // A record without its newline reads as cut short (see above).
                continue;
            }
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x01;
            let got = JobCache::decode(&flipped, &binding(), KEY);
            assert!(
                matches!(got, Err(Discard::BadMac)),
                "byte {i} ({:?}): {got:?}",
                bytes[i] as char
            );
        }
    }

    /// Records swapped, one dropped from the middle, or one taken from another file
    /// written with the same key: the chain of MACs breaks.
    #[test]
    fn records_reordered_dropped_or_spliced_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        two_appends(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let join = |ls: &[&str]| ls.iter().map(|l| format!("{l}\n")).collect::<String>();
        let swapped = join(&[lines[0], lines[1], lines[3], lines[2]]);
        let dropped = join(&[lines[0], lines[1], lines[3]]);
        for bad in [swapped, dropped] {
            assert_eq!(
                JobCache::decode(bad.as_bytes(), &binding(), KEY),
                Err(Discard::BadMac)
            );
        }
        // Another log of the same account and key, whose base differs (one more job): its
        // first record, spliced in here. (After an identical base it would be true, and
        // would pass.)
        let other = dir.path().join("other.json");
        let mut jobs = history();
        jobs.push(job("w", 150, "canceled"));
        JobCache::store_jobs(&binding(), &jobs, &BTreeMap::new(), &other, KEY).unwrap();
        jobs.push(job("x", 200, "succeeded"));
        observe_into(&other, &jobs, 200);
        let other_text = std::fs::read_to_string(&other).unwrap();
        let foreign: Vec<&str> = other_text.lines().collect();
        let spliced = join(&[lines[0], lines[1], foreign[2]]);
        assert_eq!(
            JobCache::decode(spliced.as_bytes(), &binding(), KEY),
            Err(Discard::BadMac)
        );
    }

    /// Once the records outgrow the base, the next write rewrites the file whole, with the
    /// same content.
    #[test]
    fn compaction_keeps_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let mut jobs = history();
        JobCache::store_jobs(&binding(), &jobs, &BTreeMap::new(), &path, KEY).unwrap();
        let mut written = Vec::new();
        for i in 0..100 {
            jobs.push(job(&format!("n{i:03}"), 200 + i, "succeeded"));
            written.push(observe_into(&path, &jobs, 200 + i));
            assert_eq!(
                JobCache::read(&path, &binding(), KEY),
                Ok(Some(rewrite_of(&jobs))),
                "after {i}"
            );
        }
        let rewrites = written.iter().filter(|w| **w == Written::Rewritten).count();
        assert!((1..20).contains(&rewrites), "{written:?}");
        // Bounded: the file never holds much more than twice its base.
        let base = JobCache::encode_jobs(&binding(), &jobs, &dates(), KEY).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() <= 2 * base.len() as u64 + 1024);
    }

    #[test]
    fn account_ids_cannot_escape_the_directory() {
        let p = JobCache::path(Path::new("/c"), "../../etc/x", Mode::Live);
        assert_eq!(p, PathBuf::from("/c/jobs-------etc-x-live.json"));
    }
}
