//! Observation in proportion to change, for apply's convergence loop.
//!
//! A full observation reads every job of the account (a page per 100 jobs, or the cache's
//! dozen requests), its account, and every session: right before apply's first decision,
//! and right before it calls the work done. In between, apply only needs what can have
//! changed since the last look. [`Watch`] keeps the picture apply started from and updates
//! it round by round with
//!
//! - the jobs whose status moves without a write of ours (`created`, `validating`,
//!   `redacting`, `canceling`, a status this version does not know), and every job a write
//!   of ours touched since the last round;
//! - the jobs creates of ours may have made (a create's answer names one job; a create
//!   that failed may have made one all the same), found by listing newest first down to the
//!   newest job already known;
//! - the sessions a write touched, and those whose redaction is still processing.
//!
//! Per round it chooses, by request count, between one list of every job newest first down
//! to the oldest job it must re-read (a page per 100 jobs created since) and a retrieve of
//! each such job. A round with nothing to re-read sends no request at all.
//!
//! What a round reads is decided from the picture alone ([`Watch::plan_round`], pure, like
//! [`Watch::apply`]); [`fetch`] is the only part that talks to Stripe, so the loop can keep
//! recording writes while a round is in flight. A write recorded during a round stays due
//! for the next one (the round's answers may predate it).

use std::collections::{BTreeMap, HashMap};

use futures::{stream, StreamExt, TryStreamExt};

use super::{recent_jobs, unix_now, validation_errors, Live};
use crate::plan::Op;
use crate::stripe::models::{
    JobStatus, JobValidationError, RedactionJob, SessionRedactionStatus, VerificationSession,
};
use crate::stripe::{Client, StripeError, PAGE_SIZE};

/// What a write came to, as far as the picture is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Stripe answered: the job or session written to, and its status in the answer.
    Answered {
        target: String,
        status: Option<String>,
    },
    /// No answer, or an error: the write may or may not have taken effect.
    Unsure,
}

/// The picture apply works from, and what is due to be re-read.
#[derive(Debug, Clone)]
pub struct Watch {
    live: Live,
    /// Position of each job in `live.jobs`.
    pos: Positions,
    /// How many of `live.jobs` (from the start) `pos` holds.
    indexed: usize,
    /// Jobs a write touched, with the round generation current when it was recorded.
    dirty: HashMap<String, u64>,
    /// Jobs whose status came from a write's answer, with the generation then current: a
    /// round planned before that answer does not overwrite it with what it read earlier.
    answered: HashMap<String, u64>,
    /// Sessions a write touched, likewise.
    dirty_sessions: HashMap<String, u64>,
    /// Creates that ended (answered or not) whose job the picture may lack.
    unknown_creates: usize,
    /// Incremented by every planned round.
    generation: u64,
    /// How many jobs are `created` or `validating` (kept up to date, read often).
    validating: usize,
}

fn is_validating(status: &JobStatus) -> bool {
    matches!(status, JobStatus::Created | JobStatus::Validating)
}

/// Job id → position in the picture's jobs, without a copy of every id: keyed by a 64-bit
/// hash of the id and checked against the job at that position (a copy of each of an
/// account's 100,000 ids and their map took 7 MB; this takes 2). Two ids with the same hash
/// (not expected, but possible) are kept by id.
#[derive(Debug, Clone, Default)]
struct Positions {
    by_hash: HashMap<u64, u32>,
    /// Ids whose hash another id already had.
    collided: HashMap<String, usize>,
}

impl Positions {
    fn hash(id: &str) -> u64 {
        use std::hash::{Hash, Hasher};
        // Fixed keys: the same id hashes the same for the life of the picture.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        id.hash(&mut h);
        h.finish()
    }

    fn get(&self, jobs: &[RedactionJob], id: &str) -> Option<usize> {
        if let Some(&i) = self.collided.get(id) {
            return Some(i);
        }
        let i = *self.by_hash.get(&Self::hash(id))? as usize;
        (jobs.get(i)?.id == id).then_some(i)
    }

    /// Records that `jobs[i]` has `id` (a later position of the same id wins).
    fn insert(&mut self, jobs: &[RedactionJob], id: &str, i: usize) {
        let Ok(slot) = u32::try_from(i) else {
            self.collided.insert(id.to_string(), i);
            return;
        };
        match self.by_hash.entry(Self::hash(id)) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(slot);
            }
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let held = *e.get() as usize;
                if jobs.get(held).is_some_and(|j| j.id == id) {
                    e.insert(slot);
                } else {
                    self.collided.insert(id.to_string(), i);
                }
            }
        }
    }

    fn clear(&mut self) {
        self.by_hash.clear();
        self.collided.clear();
    }
}

/// What one round reads. Built by [`Watch::plan_round`] or [`Watch::plan_full`].
#[derive(Debug, Clone)]
pub struct RoundPlan {
    /// A full observation (every job, through the cache) instead of the reads below.
    pub full: bool,
    /// List every job newest first, down to (and including) this creation time.
    pub list_from: Option<i64>,
    /// Jobs retrieved one by one.
    pub retrieve: Vec<String>,
    /// Sessions retrieved.
    pub sessions: Vec<String>,
    /// The jobs the reads above will return, as the picture holds them now: only those
    /// that differ are changes (and only those have their validation errors read).
    known: HashMap<String, RedactionJob>,
    generation: u64,
    creates_covered: usize,
    /// How many requests the reads above cost (a list counted a page per 100 jobs).
    requests: usize,
}

impl RoundPlan {
    /// How many requests the round sends (estimated for a list: a page per 100 jobs it
    /// reaches; 0 for a full observation, whose cost is the cache's).
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// Whether the round sends no request.
    pub fn is_empty(&self) -> bool {
        !self.full
            && self.list_from.is_none()
            && self.retrieve.is_empty()
            && self.sessions.is_empty()
    }
}

/// What a round found: the jobs that changed (or are new), their validation errors, and
/// the sessions read (`None`: it does not exist).
#[derive(Debug, Clone)]
pub struct Delta {
    pub jobs: Vec<RedactionJob>,
    pub errors: BTreeMap<String, Vec<JobValidationError>>,
    pub sessions: Vec<(String, Option<VerificationSession>)>,
    /// The `created` of transactions named by the errors of jobs that failed in this round
    /// (the 90-day risk period is dated by them, as a full observation dates it), by id.
    pub object_created: BTreeMap<String, i64>,
    /// When the round read, on Stripe's clock (its `Date` header) when it sent one, as a
    /// full observation's: one run never mixes two clocks.
    pub observed_at: i64,
    plan: RoundPlan,
}

/// Whether a job in this status can change without a write of ours.
pub fn moves_on_its_own(status: &JobStatus) -> bool {
    matches!(
        status,
        JobStatus::Created
            | JobStatus::Validating
            | JobStatus::Redacting
            | JobStatus::Canceling
            | JobStatus::Unknown(_)
    )
}

/// Statuses that only end after a while with nothing for apply to do but wait.
fn is_slow(status: &JobStatus) -> bool {
    matches!(status, JobStatus::Redacting | JobStatus::Canceling)
}

/// Requests a newest-first list costs to reach every one of `jobs` jobs: a page per 100,
/// plus the page that reaches an older one.
fn pages_for(jobs: usize) -> usize {
    jobs / PAGE_SIZE as usize + 1
}

impl Watch {
    /// Starts from a full observation.
    pub fn new(live: Live) -> Watch {
        let mut w = Watch {
            live,
            pos: Positions::default(),
            indexed: 0,
            dirty: HashMap::new(),
            answered: HashMap::new(),
            dirty_sessions: HashMap::new(),
            unknown_creates: 0,
            generation: 0,
            validating: 0,
        };
        w.reindex();
        w
    }

    /// The picture as of the last round.
    pub fn live(&self) -> &Live {
        &self.live
    }

    /// Sets the picture's provenance (read from the audit log by the caller).
    pub fn live_mut(&mut self) -> &mut Live {
        &mut self.live
    }

    /// The picture, without the lookups kept to update it (their memory is freed: the
    /// cache written from the picture at the end of a run is the run's peak in a large
    /// account).
    pub fn into_live(self) -> Live {
        self.live
    }

    /// Sorts the jobs and indexes their positions. Jobs found by a round are nearly always
    /// newer than every known one: appended in order, nothing moves, and only they are
    /// indexed (in an account of 100,000 jobs, a sort and a new index on every round that
    /// found a job cost 13 MB at once, and the time to copy them).
    fn reindex(&mut self) {
        let in_order = self
            .live
            .jobs
            .is_sorted_by(|a, b| (a.created, &a.id) <= (b.created, &b.id));
        if !in_order {
            super::select::sort_jobs(&mut self.live.jobs);
            self.pos.clear();
            self.indexed = 0;
        }
        self.count_validating();
        let jobs = &self.live.jobs;
        for (i, j) in jobs.iter().enumerate().skip(self.indexed) {
            self.pos.insert(jobs, &j.id, i);
        }
        self.indexed = jobs.len();
    }

    fn count_validating(&mut self) {
        self.validating = self
            .live
            .jobs
            .iter()
            .filter(|j| is_validating(&j.status))
            .count();
    }

    /// Records what a write did, so that the next round re-reads what it touched.
    /// `job` and `session` are what the action named beforehand (none for a create).
    pub fn note_write(
        &mut self,
        op: Op,
        job: Option<&str>,
        session: Option<&str>,
        outcome: &WriteOutcome,
    ) {
        let gen = self.generation;
        match (op, outcome) {
            (Op::Wait, _) => {}
            (Op::Create, WriteOutcome::Answered { target, .. })
                if self.pos.get(&self.live.jobs, target).is_some() =>
            {
                // A replayed create of a job already known.
                self.dirty.insert(target.clone(), gen);
            }
            (Op::Create, _) => self.unknown_creates += 1,
            (Op::Redact, WriteOutcome::Answered { target, .. }) => {
                self.dirty_sessions.insert(target.clone(), gen);
            }
            (Op::Redact, WriteOutcome::Unsure) => {
                if let Some(s) = session {
                    self.dirty_sessions.insert(s.to_string(), gen);
                }
            }
            (Op::Run | Op::Validate | Op::Cancel, WriteOutcome::Answered { target, status })
                if status.is_some() && self.pos.get(&self.live.jobs, target).is_some() =>
            {
                // The answer is Stripe's view right after the write: a run's job is
                // `redacting`, a validated one `validating`. Nothing else of the job
                // changed, so it is read again only when its new status is due.
                if let (Some(i), Some(status)) = (self.pos.get(&self.live.jobs, target), status) {
                    let new = JobStatus::from(status.as_str());
                    let job = &mut self.live.jobs[i];
                    match (is_validating(&job.status), is_validating(&new)) {
                        (true, false) => self.validating = self.validating.saturating_sub(1),
                        (false, true) => self.validating += 1,
                        _ => {}
                    }
                    job.status = new;
                }
                self.answered.insert(target.clone(), gen);
            }
            (_, WriteOutcome::Answered { target, .. }) => {
                // An update (its behaviour changed too) or a job not known yet: read it.
                self.dirty.insert(target.clone(), gen);
            }
            (_, WriteOutcome::Unsure) => {
                if let Some(job) = job {
                    self.dirty.insert(job.to_string(), gen);
                }
            }
        }
    }

    /// The jobs due for a re-read: those a write touched, those validating (apply acts on
    /// what their validation gives), and with `slow` those redacting or canceling (nothing
    /// is done about them but wait, so they can be looked at less often).
    fn due(&self, slow: bool) -> Vec<&RedactionJob> {
        self.due_jobs(slow).collect()
    }

    /// [`Watch::due`], lazily. The status is looked at first and an id is hashed only when
    /// a write touched some job: this runs over every job of the account several times a
    /// round (100,000 in a large one).
    fn due_jobs(&self, slow: bool) -> impl Iterator<Item = &RedactionJob> {
        let any_dirty = !self.dirty.is_empty();
        self.live.jobs.iter().filter(move |j| {
            (moves_on_its_own(&j.status) && (slow || !is_slow(&j.status)))
                || (any_dirty && self.dirty.contains_key(&j.id))
        })
    }

    /// Whether a job is validating (or just created): its outcome is what apply waits for
    /// to start a run.
    pub fn has_validating(&self) -> bool {
        self.validating > 0
    }

    /// Whether a job is validating, or a create may have made one that has not been read
    /// yet (it will be validating): apply waits on their validation to start runs.
    pub fn awaits_validation(&self) -> bool {
        self.validating > 0 || self.unknown_creates > 0
    }

    /// The sessions due for a re-read.
    fn due_sessions(&self) -> Vec<String> {
        let processing = self.live.sessions.values().filter(|s| {
            s.redaction
                .as_ref()
                .is_some_and(|r| r.status == SessionRedactionStatus::Processing)
        });
        let mut out: Vec<String> = processing
            .map(|s| s.id.clone())
            .chain(self.dirty_sessions.keys().cloned())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The status of a job in the picture.
    pub fn status(&self, id: &str) -> Option<&JobStatus> {
        let i = self.pos.get(&self.live.jobs, id)?;
        self.live.jobs.get(i).map(|j| &j.status)
    }

    /// Whether anything but redactions (and cancellations) in progress can still change
    /// without a write of ours: those end when they end, and only need a look then.
    pub fn has_work_besides_redacting(&self) -> bool {
        self.unknown_creates > 0
            || !self.due_sessions().is_empty()
            || self
                .due(true)
                .iter()
                .any(|j| self.dirty.contains_key(&j.id) || !is_slow(&j.status))
    }

    /// Whether anything can still change without a write of ours (or is unaccounted for).
    pub fn has_work(&self) -> bool {
        self.unknown_creates > 0
            || !self.due_sessions().is_empty()
            || self.due_jobs(true).next().is_some()
    }

    /// How many known jobs were created at or after `from`.
    fn known_since(&self, from: i64) -> usize {
        let first = self.live.jobs.partition_point(|j| j.created < from);
        self.live.jobs.len() - first
    }

    /// What the next incremental round reads: nothing when nothing is due; else a list
    /// down to the oldest due job or a retrieve of each, whichever costs fewer requests.
    /// `slow`: redacting and canceling jobs are due too (see [`Watch::due`]).
    pub fn plan_round(&mut self, slow: bool) -> RoundPlan {
        self.generation += 1;
        let due = self.due(slow);
        let newest = self.live.jobs.last().map(|j| j.created);
        let unknown = self.unknown_creates;
        // Listing down to the newest known job finds what creates made.
        let new_from = (unknown > 0).then(|| newest.unwrap_or(i64::MIN));
        let new_cost = new_from.map_or(0, |from| pages_for(self.known_since(from) + unknown));
        let oldest_due = due.iter().map(|j| j.created).min();
        let list_from = match (oldest_due, new_from) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let list_cost = list_from.map_or(0, |from| pages_for(self.known_since(from) + unknown));
        let retrieve_cost = due.len() + new_cost;
        let (list_from, retrieve, requests): (Option<i64>, Vec<String>, usize) =
            if list_cost <= retrieve_cost {
                (list_from, Vec::new(), list_cost)
            } else {
                (
                    new_from,
                    due.iter().map(|j| j.id.clone()).collect(),
                    retrieve_cost,
                )
            };
        let mut known: HashMap<String, RedactionJob> = HashMap::new();
        if let Some(from) = list_from {
            let first = self.live.jobs.partition_point(|j| j.created < from);
            for j in &self.live.jobs[first..] {
                known.insert(j.id.clone(), j.clone());
            }
        }
        for id in &retrieve {
            if let Some(i) = self.pos.get(&self.live.jobs, id) {
                known.insert(id.clone(), self.live.jobs[i].clone());
            }
        }
        let sessions = self.due_sessions();
        RoundPlan {
            full: false,
            list_from,
            retrieve,
            requests: requests + sessions.len(),
            sessions,
            known,
            generation: self.generation,
            creates_covered: unknown,
        }
    }

    /// A full observation's round (its answer goes to [`Watch::reset`]).
    pub fn plan_full(&mut self) -> RoundPlan {
        self.generation += 1;
        RoundPlan {
            full: true,
            list_from: None,
            retrieve: Vec::new(),
            sessions: Vec::new(),
            known: HashMap::new(),
            generation: self.generation,
            creates_covered: self.unknown_creates,
            requests: 0,
        }
    }

    /// What was due before `plan` was made has been read.
    fn settle(&mut self, plan: &RoundPlan) {
        self.dirty.retain(|_, g| *g >= plan.generation);
        self.answered.retain(|_, g| *g >= plan.generation);
        self.dirty_sessions.retain(|_, g| *g >= plan.generation);
        self.unknown_creates = self.unknown_creates.saturating_sub(plan.creates_covered);
    }

    /// Takes a full observation made for `plan` as the new picture.
    pub fn reset(&mut self, live: Live, plan: &RoundPlan) {
        self.live = live;
        self.pos.clear();
        self.indexed = 0;
        self.reindex();
        self.settle(plan);
    }

    /// Folds a round's findings into the picture; returns how many jobs changed.
    pub fn apply(&mut self, delta: Delta) -> usize {
        let mut inserted = false;
        let newer = |id: &str| {
            self.answered
                .get(id)
                .is_some_and(|g| *g >= delta.plan.generation)
        };
        let jobs: Vec<RedactionJob> = delta.jobs.into_iter().filter(|j| !newer(&j.id)).collect();
        let changed = jobs.len();
        for job in jobs {
            self.live.validation_errors.remove(&job.id);
            match self.pos.get(&self.live.jobs, &job.id) {
                Some(i) => self.live.jobs[i] = job,
                None => {
                    self.live.jobs.push(job);
                    inserted = true;
                }
            }
        }
        self.live
            .validation_errors
            .extend(delta.errors.into_iter().filter(|(id, _)| !newer(id)));
        if inserted {
            self.reindex();
        } else {
            self.count_validating();
        }
        for (id, session) in delta.sessions {
            match session {
                Some(s) => {
                    self.live.sessions.insert(id, s);
                }
                None => {
                    self.live.sessions.remove(&id);
                }
            }
        }
        self.live.object_created.extend(delta.object_created);
        self.settle(&delta.plan);
        self.live.observed_at = delta.observed_at;
        changed
    }
}

/// Sends what `plan` reads (not for a full round): the jobs found that differ from the
/// picture, with the validation errors of those that need them.
pub async fn fetch(
    client: &Client,
    plan: RoundPlan,
    concurrency: usize,
) -> Result<Delta, StripeError> {
    let concurrency = concurrency.max(1);
    let listed = async {
        match plan.list_from {
            Some(from) => Ok(recent_jobs(client, from, None).await?.0),
            None => Ok(Vec::new()),
        }
    };
    let retrieved = stream::iter(plan.retrieve.clone())
        .map(|id| async move {
            match client.retrieve_job(&id).await {
                Ok(sent) => Ok(Some(sent.value)),
                // Stripe never deletes a job; the next full observation settles it.
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        })
        .buffer_unordered(concurrency)
        .try_collect::<Vec<Option<RedactionJob>>>();
    let sessions = stream::iter(plan.sessions.clone())
        .map(|id| async move {
            match client.retrieve_session(&id).await {
                Ok(sent) => Ok((id, Some(sent.value))),
                Err(e) if e.is_not_found() => Ok((id, None)),
                Err(e) => Err(e),
            }
        })
        .buffer_unordered(concurrency)
        .try_collect::<Vec<_>>();
    let (listed, retrieved, sessions) = futures::try_join!(listed, retrieved, sessions)?;
    let jobs: Vec<RedactionJob> = listed
        .into_iter()
        .chain(retrieved.into_iter().flatten())
        .filter(|j| plan.known.get(&j.id) != Some(j))
        .collect();
    let errors = validation_errors(client, &jobs, concurrency).await?;
    let object_created = date_failed(client, &jobs, &errors, concurrency).await;
    Ok(Delta {
        jobs,
        errors,
        sessions,
        object_created,
        observed_at: client.server_time().unwrap_or_else(unix_now),
        plan,
    })
}

/// The `created` of the transactions that the errors of the failed `jobs` may date the
/// risk period by (see [`super::objects::date_erroring_objects`], which remembers what it
/// read for the rest of the process: a transaction is read once).
async fn date_failed(
    client: &Client,
    jobs: &[RedactionJob],
    errors: &BTreeMap<String, Vec<JobValidationError>>,
    concurrency: usize,
) -> BTreeMap<String, i64> {
    let failed: Vec<RedactionJob> = jobs
        .iter()
        .filter(|j| j.status == JobStatus::Failed)
        .cloned()
        .collect();
    if failed.is_empty() {
        return BTreeMap::new();
    }
    let mut part = Live {
        validation_errors: failed
            .iter()
            .filter_map(|j| errors.get(&j.id).map(|e| (j.id.clone(), e.clone())))
            .collect(),
        jobs: failed,
        ..Live::default()
    };
    super::objects::date_erroring_objects(client, &mut part, concurrency).await;
    part.object_created
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, created: i64, status: &str) -> RedactionJob {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "object": "privacy.redaction_job",
            "created": created,
            "status": status,
            "validation_behavior": "error",
            "livemode": false,
            "objects": {"customers": [format!("cus_{id}")]}
        }))
        .unwrap_or_else(|e| panic!("job fixture: {e}"))
    }

    fn terminal_history(n: usize) -> Vec<RedactionJob> {
        (0..n)
            .map(|i| job(&format!("prj_old{i}"), 1_000 + i as i64, "succeeded"))
            .collect()
    }

    fn answered(target: &str, status: &str) -> WriteOutcome {
        WriteOutcome::Answered {
            target: target.into(),
            status: Some(status.into()),
        }
    }

    #[test]
    fn positions_find_every_job_by_id_even_when_two_ids_share_a_hash() {
        let jobs = vec![
            job("prj_a", 1, "succeeded"),
            job("prj_b", 2, "succeeded"),
            job("prj_c", 3, "validating"),
        ];
        let mut pos = Positions::default();
        // As if `prj_b` hashed to the slot `prj_a` already holds.
        pos.by_hash.insert(Positions::hash("prj_b"), 0);
        pos.insert(&jobs, "prj_a", 0);
        assert_eq!(pos.get(&jobs, "prj_b"), None, "the slot's job is another");
        pos.insert(&jobs, "prj_b", 1);
        assert_eq!(pos.collided.len(), 1, "kept by id");
        pos.insert(&jobs, "prj_c", 2);
        assert_eq!(pos.get(&jobs, "prj_a"), Some(0));
        assert_eq!(pos.get(&jobs, "prj_b"), Some(1));
        assert_eq!(pos.get(&jobs, "prj_c"), Some(2));
        assert_eq!(pos.get(&jobs, "prj_unknown"), None);
    }

    #[test]
    fn a_round_with_nothing_due_reads_nothing() {
        let mut jobs = terminal_history(500);
        jobs.push(job("prj_ready", 5_000, "ready"));
        jobs.push(job("prj_failed", 5_001, "failed"));
        let mut w = Watch::new(Live {
            jobs,
            ..Live::default()
        });
        assert!(!w.has_work());
        assert!(w.plan_round(true).is_empty());
    }

    #[test]
    fn due_jobs_among_recent_ones_cost_one_list_page() {
        let mut jobs = terminal_history(10_000);
        for i in 0..40 {
            jobs.push(job(&format!("prj_new{i}"), 20_000 + i, "validating"));
        }
        let mut w = Watch::new(Live {
            jobs,
            ..Live::default()
        });
        let round = w.plan_round(true);
        assert_eq!(round.list_from, Some(20_000));
        assert!(round.retrieve.is_empty(), "one page beats 40 retrieves");
    }

    #[test]
    fn a_few_old_due_jobs_are_retrieved_rather_than_paged_to() {
        let mut jobs = vec![job("prj_stuck", 10, "redacting")];
        jobs.extend(terminal_history(3_000));
        let mut w = Watch::new(Live {
            jobs,
            ..Live::default()
        });
        let round = w.plan_round(true);
        assert_eq!(round.list_from, None, "30 pages for one job");
        assert_eq!(round.retrieve, ["prj_stuck"]);
    }

    #[test]
    fn creates_are_found_by_listing_down_to_the_newest_known_job() {
        let mut w = Watch::new(Live {
            jobs: terminal_history(1_000),
            ..Live::default()
        });
        w.note_write(Op::Create, None, None, &answered("prj_made", "validating"));
        // A create that got no answer may have made a job all the same.
        w.note_write(Op::Create, None, None, &WriteOutcome::Unsure);
        assert!(w.has_work());
        let round = w.plan_round(true);
        assert_eq!(round.list_from, Some(1_999));
        let found = Delta {
            jobs: vec![job("prj_made", 3_000, "validating")],
            errors: BTreeMap::new(),
            sessions: Vec::new(),
            object_created: BTreeMap::new(),
            observed_at: 0,
            plan: round,
        };
        assert_eq!(w.apply(found), 1);
        assert!(w.live().job("prj_made").is_some());
        assert!(w.has_validating());
        // The new job is validating: still due, and only it.
        let next = w.plan_round(true);
        assert_eq!(next.list_from, Some(3_000));
    }

    #[test]
    fn a_write_answered_while_a_round_is_in_flight_is_not_undone_by_it() {
        let mut jobs = terminal_history(10);
        jobs.push(job("prj_a", 5_000, "ready"));
        let mut w = Watch::new(Live {
            jobs,
            ..Live::default()
        });
        let round = w.plan_round(true);
        assert!(round.is_empty());
        // The run is answered while the (empty) round is in flight.
        w.note_write(
            Op::Run,
            Some("prj_a"),
            None,
            &answered("prj_a", "redacting"),
        );
        assert_eq!(
            w.live().job("prj_a").map(|j| j.status.clone()),
            Some(JobStatus::Redacting),
            "the answer's status is used at once"
        );
        let stale = Delta {
            jobs: vec![job("prj_a", 5_000, "ready")],
            errors: BTreeMap::new(),
            sessions: Vec::new(),
            object_created: BTreeMap::new(),
            observed_at: 0,
            plan: round,
        };
        w.apply(stale);
        assert_eq!(
            w.live().job("prj_a").map(|j| j.status.clone()),
            Some(JobStatus::Redacting),
            "what the round read before the run's answer does not overwrite it"
        );
        assert!(!w.has_validating());
        assert_eq!(w.plan_round(false).list_from, None, "a redacting job waits");
        assert_eq!(w.plan_round(true).list_from, Some(5_000));
    }
}
