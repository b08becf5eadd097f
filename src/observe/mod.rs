//! Reads one `Live` snapshot from Stripe for a set of desired entries: the account (when
//! asked), every job with its objects, the validation errors the planner needs, and the
//! verification sessions that `via: identity_redact` entries name. It decides nothing.
//!
//! Independent requests run concurrently; the client's rate limiter and concurrency limit
//! keep the total within Stripe's limits.

pub mod cache;
pub mod confirm;
pub mod live;
pub mod objects;
pub mod select;
pub mod watch;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use futures::{stream, StreamExt, TryStreamExt};
use tracing::{debug, info, warn};

use crate::manifest::desired::Desired;
use crate::stripe::models::{
    Account, JobStatus, JobValidationError, RedactionJob, VerificationSession,
};
use crate::stripe::{Client, StripeError};
use crate::stripe::{ListQuery, PAGE_SIZE};

pub use live::{Live, MissingObject};

/// What an observation reads beyond the jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObserveOptions {
    /// Read `GET /v1/account` (the guards compare it with the manifest's `account.id`).
    pub read_account: bool,
    /// Independent requests (validation errors, sessions) in flight at once. The client's
    /// own concurrency limit still applies.
    pub concurrency: usize,
    /// Where to keep the terminal-job cache (`.redactctl/cache/`); `None`: no cache, every
    /// job is listed. With a cache the account is always read (the cache is per account).
    pub cache_dir: Option<PathBuf>,
}

impl Default for ObserveOptions {
    fn default() -> Self {
        ObserveOptions {
            read_account: true,
            concurrency: 8,
            cache_dir: None,
        }
    }
}

/// Reads the live state that `desired` needs. Jobs come from one auto-paged list (100 per
/// page, objects expanded), so 10,000 jobs cost 100 requests; validation errors cost one
/// request only for a failed (or ready, `fix`) job whose embedded list says it has more
/// than it shows. A session that does not exist (404) is absent from `Live.sessions`.
pub async fn observe(
    client: &Client,
    desired: &Desired,
    opts: &ObserveOptions,
) -> Result<Live, StripeError> {
    observe_with_account(client, desired, opts, None).await
}

/// [`observe`], with the account already read in this run (`Some`): it is not read again.
/// An apply reads it once, in its first observation; its account cannot change under it.
pub async fn observe_with_account(
    client: &Client,
    desired: &Desired,
    opts: &ObserveOptions,
    account: Option<&Account>,
) -> Result<Live, StripeError> {
    let before = client.requests_sent();
    let concurrency = opts.concurrency.max(1);

    // The cache is per account, so with a cache the account is read first.
    let known_account = match (account, &opts.cache_dir) {
        (Some(a), _) => Some(a.clone()),
        (None, Some(_)) => Some(client.retrieve_account().await?.value),
        (None, None) => None,
    };
    let account = async {
        match (&known_account, opts.read_account) {
            (Some(a), _) => Ok(Some(a.clone())),
            (None, true) => Ok(Some(client.retrieve_account().await?.value)),
            (None, false) => Ok(None),
        }
    };
    let jobs = async {
        let (mut jobs, cached) = match (&opts.cache_dir, &known_account) {
            (Some(dir), Some(acct)) => {
                let (jobs, cached) = cached_jobs(client, dir, acct, concurrency).await?;
                (jobs, Some(cached))
            }
            _ => (client.list_jobs(None).await?, None),
        };
        select::sort_jobs(&mut jobs);
        let errors = validation_errors(client, &jobs, concurrency).await?;
        Ok::<_, StripeError>(((jobs, cached), errors))
    };
    let sessions = sessions(client, desired, concurrency);
    let (account, ((jobs, cached), validation_errors), sessions) =
        futures::try_join!(account, jobs, sessions)?;

    info!(
        jobs = jobs.len(),
        with_errors = validation_errors.len(),
        sessions = sessions.len(),
        requests = client.requests_sent() - before,
        "observed"
    );
    let mut live = Live {
        account,
        mode: Some(client.mode()),
        jobs,
        validation_errors,
        sessions,
        observed_at: unix_now(),
        created_by_redactctl: None,
        object_created: BTreeMap::new(),
        missing_objects: BTreeMap::new(),
        validated_at: BTreeMap::new(),
    };
    match (cached, &opts.cache_dir) {
        (Some(cached), Some(dir)) => {
            date_and_store(client, dir, cached, &mut live, concurrency).await;
        }
        _ => objects::date_erroring_objects(client, &mut live, concurrency).await,
    }
    // Stripe's clock (its `Date` header) decides when 90 days have passed.
    live.observed_at = client.server_time().unwrap_or(live.observed_at);
    Ok(live)
}

/// Writes the terminal-job cache from a picture that apply kept up to date round by round
/// (see [`watch`]): once, when the run ends, instead of on every observation. The picture
/// holds every job up to its last listing, so the cache is what a full observation at that
/// moment would have written; what changed since this process last read or wrote the file
/// is appended to it (see [`cache::Tail`]). Without a cache directory or a known account,
/// nothing is written; a failure to write is only a warning (the cache saves requests,
/// nothing more).
pub fn remember(client: &Client, opts: &ObserveOptions, live: &Live) {
    let (Some(dir), Some(account)) = (&opts.cache_dir, &live.account) else {
        return;
    };
    let dates = objects::dates_to_keep(live);
    let (_, _, path) = cache_file(client, dir, &account.id);
    let tail = tails().remove(&path);
    write_cache(client, dir, &account.id, &live.jobs, &dates, tail);
}

/// Where each cache file this process last read or wrote ended, by path: a later write of
/// the same process (apply's, when it ends) appends to it rather than rewriting it.
static TAILS: OnceLock<Mutex<HashMap<PathBuf, cache::Tail>>> = OnceLock::new();

fn tails() -> std::sync::MutexGuard<'static, HashMap<PathBuf, cache::Tail>> {
    TAILS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Writes the cache of `jobs` and `dates` for `account`: nothing when it already holds
/// that, one record appended when this process knows where the file ends (`tail`), else
/// the whole file. Remembers where the file now ends. A failure is only a warning.
fn write_cache(
    client: &Client,
    dir: &Path,
    account: &str,
    jobs: &[RedactionJob],
    dates: &BTreeMap<String, i64>,
    tail: Option<cache::Tail>,
) {
    let (binding, mac_key, path) = cache_file(client, dir, account);
    let next = match tail {
        Some(tail) if !tail.is_stale_for(jobs, dates) => Ok(tail.settled(jobs, dates)),
        Some(tail) => tail
            .store(&binding, jobs, dates, &path, &mac_key)
            .map(|(written, next)| {
                debug!(?written, "job cache written");
                next
            }),
        None => cache::JobCache::store_log(&binding, jobs, dates, &path, &mac_key),
    };
    match next {
        Ok(next) => {
            tails().insert(path, next);
        }
        Err(e) => {
            warn!(path = %path.display(), error = %e, "cannot write the job cache");
            tails().remove(&path);
        }
    }
}

/// What an observation through the cache hands on to [`date_and_store`]: the creation
/// times the cache held, and what it keeps of the cache to append to it (`None`: no usable
/// cache, so it is written whole).
struct Cached {
    dates: BTreeMap<String, i64>,
    tail: Option<cache::Tail>,
}

/// Dates the erroring objects of `live` (those the cache already dated are not asked
/// again), then writes the cache when what it would hold changed (a failure to write it
/// is only a warning).
async fn date_and_store(
    client: &Client,
    dir: &Path,
    cached: Cached,
    live: &mut Live,
    concurrency: usize,
) {
    live.object_created.extend(cached.dates);
    objects::date_erroring_objects(client, live, concurrency).await;
    let Some(account) = &live.account else {
        return;
    };
    let dates = objects::dates_to_keep(live);
    write_cache(client, dir, &account.id, &live.jobs, &dates, cached.tail);
}

/// The cache file of this client's account and mode under `dir`: what binds it, the key
/// that authenticates it and its path.
fn cache_file<'a>(
    client: &'a Client,
    dir: &Path,
    account: &'a str,
) -> (cache::Binding<'a>, [u8; 32], PathBuf) {
    let mode = client.mode();
    let binding = cache::Binding {
        api_base: client.api_base(),
        account,
        mode,
    };
    let path = cache::JobCache::path(dir, account, mode);
    (binding, client.derived_key(cache::MAC_PURPOSE), path)
}

/// Every job of the account, reading the terminal ones from the cache in `dir` when it has
/// an authentic one that the listing confirms; the cache is refreshed by [`date_and_store`]
/// once the erroring objects are dated. A cache that fails any check is discarded with a
/// warning and every job is listed: the cache may save requests, never change the answer.
async fn cached_jobs(
    client: &Client,
    dir: &Path,
    account: &Account,
    concurrency: usize,
) -> Result<(Vec<RedactionJob>, Cached), StripeError> {
    let (binding, mac_key, path) = cache_file(client, dir, &account.id);
    let none = Cached {
        dates: BTreeMap::new(),
        tail: None,
    };
    Ok(match cache::JobCache::load_log(&path, &binding, &mac_key) {
        None => (client.list_jobs(None).await?, none),
        Some((cached, end)) => match jobs_with_cache(client, cached, end, concurrency).await? {
            Ok(found) => found,
            Err(why) => {
                warn!(path = %path.display(), reason = %why, "job cache discarded; listing every job");
                (client.list_jobs(None).await?, none)
            }
        },
    })
}

/// The jobs from an authentic cache plus what changed since, and what the cache held;
/// `Ok(Err(_))` when Stripe contradicts the cache (then nothing of it may be used).
async fn jobs_with_cache(
    client: &Client,
    mut cached: cache::JobCache,
    end: cache::LogEnd,
    concurrency: usize,
) -> Result<Result<(Vec<RedactionJob>, Cached), cache::Discard>, StripeError> {
    // Either every job down to the oldest cached active one (it shows what they became),
    // or the recent ones and a list per active status: whichever costs fewer requests.
    let (from, by_status) = match cached.active_reads() {
        cache::ActiveReads::Listing { from } => (from, false),
        cache::ActiveReads::ByStatus { from } => (from, true),
    };
    let recent = recent_jobs(client, from, None);
    let active = async {
        if !by_status {
            return Ok(Vec::new());
        }
        stream::iter(cache::active_statuses())
            .map(|status| async move { client.list_jobs(Some(&status)).await })
            .buffer_unordered(concurrency)
            .try_concat()
            .await
    };
    let ((recent, complete), active) = futures::try_join!(recent, active)?;
    if let Err(why) = cache::check_against_listing(&cached, &recent, complete) {
        return Ok(Err(why));
    }
    let mut fresh = recent;
    fresh.extend(active);
    // Jobs that left the active set since: look for them in the lists of the statuses
    // they can have reached, newest first, down to the oldest one's creation time — a
    // page per 100 jobs, not a request per job — unless those lists would cost more pages
    // than there are jobs to find (an old job that finished among many newer ones): then
    // each is retrieved.
    let missing: HashSet<String> = {
        let listed: HashSet<&str> = fresh.iter().map(|j| j.id.as_str()).collect();
        cached
            .active
            .keys()
            .filter(|id| !listed.contains(id.as_str()))
            .cloned()
            .collect()
    };
    let missing_ids: Vec<String> = missing.iter().cloned().collect();
    let floor = cached.left_active_floor(&missing_ids).filter(|floor| {
        let to_page =
            cached.terminal_since(*floor) + fresh.iter().filter(|j| j.status.is_terminal()).count();
        to_page / PAGE_SIZE as usize + 2 < missing.len()
    });
    if let Some(floor) = floor {
        let terminal = stream::iter([JobStatus::Succeeded, JobStatus::Canceled])
            .map(|status| async move {
                let (jobs, _) = recent_jobs(client, floor, Some(status)).await?;
                Ok::<_, StripeError>(jobs)
            })
            .buffer_unordered(2)
            .try_concat()
            .await?;
        fresh.extend(terminal.into_iter().filter(|j| missing.contains(&j.id)));
    }
    let tail = cached.tail(end, &fresh);
    let dates = std::mem::take(&mut cached.objects);
    let (mut jobs, missing) = cache::merge(cached, fresh);
    debug!(
        jobs = jobs.len(),
        retrieve = missing.len(),
        "job cache used"
    );
    let retrieved: Vec<Result<RedactionJob, cache::Discard>> = stream::iter(missing)
        .map(|id| async move {
            match client.retrieve_job(&id).await {
                Ok(sent) => Ok(Ok(sent.value)),
                // Stripe never deletes a job: one the cache knew and Stripe does not is a
                // sign that the cache describes another account or server.
                Err(e) if e.is_not_found() => Ok(Err(cache::Discard::Disagrees(format!(
                    "job {id} is unknown to Stripe"
                )))),
                Err(e) => Err(e),
            }
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    for r in retrieved {
        match r {
            Ok(job) => jobs.push(job),
            Err(discard) => return Ok(Err(discard)),
        }
    }
    Ok(Ok((
        jobs,
        Cached {
            dates,
            tail: Some(tail),
        },
    )))
}

/// Jobs newest first (only those in `status`, when given), page by page, until a page
/// reaches jobs created before `from`; and whether the pages reached the end of the list.
pub(crate) async fn recent_jobs(
    client: &Client,
    from: i64,
    status: Option<JobStatus>,
) -> Result<(Vec<RedactionJob>, bool), StripeError> {
    let mut q = ListQuery {
        limit: Some(PAGE_SIZE),
        expand_objects: true,
        status,
        ..ListQuery::default()
    };
    let mut out = Vec::new();
    let mut cursor = crate::stripe::paging::Cursor::new("/v1/privacy/redaction_jobs");
    loop {
        let page = client.list_jobs_page(&q).await?.value;
        cursor.check_page(page.data.iter().map(|j| j.id.as_str()))?;
        cursor.check_more(page.data.is_empty(), page.has_more)?;
        let reached_old = page.data.iter().any(|j| j.created < from);
        let next = page.data.last().map(|j| j.id.clone());
        out.extend(page.data);
        match next {
            Some(last) if page.has_more && !reached_old => q.starting_after = Some(last),
            Some(_) if page.has_more => return Ok((out, false)),
            _ => return Ok((out, true)),
        }
    }
}

/// Every validation error of the jobs that need them, by job id.
pub(crate) async fn validation_errors(
    client: &Client,
    jobs: &[RedactionJob],
    concurrency: usize,
) -> Result<BTreeMap<String, Vec<JobValidationError>>, StripeError> {
    let mut out = BTreeMap::new();
    let mut to_fetch = Vec::new();
    for job in jobs.iter().filter(|j| select::needs_errors(j)) {
        if select::must_fetch_errors(job) {
            to_fetch.push(job.id.as_str());
        } else {
            out.insert(job.id.clone(), select::embedded_errors(job));
        }
    }
    debug!(
        embedded = out.len(),
        fetched = to_fetch.len(),
        "validation errors"
    );
    let fetched: Vec<(String, Vec<JobValidationError>)> = stream::iter(to_fetch)
        .map(|id| async move {
            let errors = client.list_validation_errors(id).await?;
            Ok::<_, StripeError>((id.to_string(), errors))
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    out.extend(fetched);
    Ok(out)
}

/// The sessions named by `via: identity_redact` entries; those that do not exist are left
/// out.
async fn sessions(
    client: &Client,
    desired: &Desired,
    concurrency: usize,
) -> Result<BTreeMap<String, VerificationSession>, StripeError> {
    let found: Vec<Option<VerificationSession>> = stream::iter(select::session_ids(desired))
        .map(|id| async move {
            match client.retrieve_session(&id).await {
                Ok(sent) => Ok(Some(sent.value)),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    Ok(found
        .into_iter()
        .flatten()
        .map(|s| (s.id.clone(), s))
        .collect())
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
