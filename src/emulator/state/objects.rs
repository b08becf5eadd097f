//! A namespace's object graph and locks: which jobs exist, which objects are known,
//! which active job holds which object, and how far a job reaches through related
//! objects.

use std::collections::{HashSet, VecDeque};

use super::super::graph::ObjectRecord;
use super::jobs::{Job, StateError, Status};
use super::Namespace;

/// Related objects beyond this many are not followed (guards against huge fixture graphs).
const MAX_REACHED: usize = 100_000;

impl Namespace {
    pub(super) fn insert_job(&mut self, job: Job) {
        let key = job.key();
        if job.status.is_transient() {
            self.transient.insert(key);
        }
        if job.status.is_active() && job.holds {
            for o in &job.reached {
                self.holders
                    .entry(o.clone())
                    .or_default()
                    .insert(job.id.clone());
            }
        }
        self.index.insert(job.id.clone(), key);
        // A replaced job (same key) leaves its old status's index first.
        if let Some(old) = self.jobs.get(&key).map(|j| j.status) {
            self.unindex(key, old);
        }
        self.by_status.entry(job.status).or_default().insert(key);
        self.jobs.insert(key, job);
    }

    /// Records that the job at `key` went from status `from` to `to` (the status index).
    pub(super) fn moved(&mut self, key: (i64, u64), from: Status, to: Status) {
        if from == to {
            return;
        }
        self.unindex(key, from);
        self.by_status.entry(to).or_default().insert(key);
    }

    /// Takes `key` out of `status`'s index (dropping a set that becomes empty).
    fn unindex(&mut self, key: (i64, u64), status: Status) {
        if let Some(set) = self.by_status.get_mut(&status) {
            set.remove(&key);
            if set.is_empty() {
                self.by_status.remove(&status);
            }
        }
    }

    pub(super) fn release(&mut self, job_id: &str, reached: &[String]) {
        for o in reached {
            if let Some(h) = self.holders.get_mut(o) {
                h.remove(job_id);
                if h.is_empty() {
                    self.holders.remove(o);
                }
            }
        }
    }

    pub(super) fn hold(&mut self, job_id: &str, reached: &[String]) {
        for o in reached {
            self.holders
                .entry(o.clone())
                .or_default()
                .insert(job_id.to_string());
        }
    }

    /// The number of jobs.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Whether it holds no job.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// A job by id.
    pub fn job(&self, id: &str) -> Option<&Job> {
        self.index.get(id).and_then(|k| self.jobs.get(k))
    }

    pub(super) fn job_mut(&mut self, id: &str) -> Result<&mut Job, StateError> {
        let not_found = || StateError::NotFound {
            kind: "privacy.redaction_job",
            id: id.to_string(),
        };
        let key = *self.index.get(id).ok_or_else(not_found)?;
        self.jobs.get_mut(&key).ok_or_else(not_found)
    }

    /// An object's record (`None`: never described nor touched).
    pub fn object(&self, id: &str) -> Option<&ObjectRecord> {
        self.objects.get(id)
    }

    pub(super) fn object_mut(&mut self, id: &str) -> &mut ObjectRecord {
        self.objects
            .entry(id.to_string())
            .or_insert_with(|| ObjectRecord::unknown(id))
    }

    /// Ids of the active jobs holding `object_id`.
    pub fn holders_of(&self, object_id: &str) -> Vec<String> {
        self.holders
            .get(object_id)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Roots plus everything related, breadth first, each once.
    pub(super) fn reach(&self, roots: &[String], cap: usize) -> Vec<String> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut out = Vec::new();
        let mut queue: VecDeque<String> = roots.iter().cloned().collect();
        while let Some(id) = queue.pop_front() {
            if out.len() >= MAX_REACHED.min(cap) {
                break;
            }
            if !seen.insert(id.clone()) {
                continue;
            }
            if let Some(o) = self.objects.get(&id) {
                queue.extend(o.related.iter().cloned());
            }
            out.push(id);
        }
        out
    }

    /// A page of jobs, newest first.
    pub fn list_jobs(
        &self,
        status: Option<Status>,
        limit: usize,
        starting_after: Option<&str>,
        ending_before: Option<&str>,
    ) -> Result<(Vec<&Job>, bool), StateError> {
        let cursor = |id: &str| {
            self.index.get(id).copied().ok_or(StateError::NotFound {
                kind: "privacy.redaction_job",
                id: id.to_string(),
            })
        };
        if let Some(s) = status {
            return self.list_by_status(s, limit, starting_after, ending_before);
        }
        if let Some(before) = ending_before {
            // Newer than the cursor: walk forward (older → newer), keep the `limit`
            // closest to the cursor, then show them newest first.
            let key = cursor(before)?;
            let mut page: Vec<&Job> = self
                .jobs
                .range((std::ops::Bound::Excluded(key), std::ops::Bound::Unbounded))
                .map(|(_, j)| j)
                .take(limit.saturating_add(1))
                .collect();
            let has_more = page.len() > limit;
            page.truncate(limit);
            page.reverse();
            return Ok((page, has_more));
        }
        let iter: Box<dyn Iterator<Item = &Job>> = match starting_after {
            Some(after) => {
                let key = cursor(after)?;
                Box::new(self.jobs.range(..key).rev().map(|(_, j)| j))
            }
            None => Box::new(self.jobs.values().rev()),
        };
        let mut page: Vec<&Job> = iter.take(limit.saturating_add(1)).collect();
        let has_more = page.len() > limit;
        page.truncate(limit);
        Ok((page, has_more))
    }

    /// [`Namespace::list_jobs`] for one status, through the status index: the cost is the
    /// page, not the history.
    fn list_by_status(
        &self,
        status: Status,
        limit: usize,
        starting_after: Option<&str>,
        ending_before: Option<&str>,
    ) -> Result<(Vec<&Job>, bool), StateError> {
        let cursor = |id: &str| {
            self.index.get(id).copied().ok_or(StateError::NotFound {
                kind: "privacy.redaction_job",
                id: id.to_string(),
            })
        };
        let empty = std::collections::BTreeSet::new();
        let keys = self.by_status.get(&status).unwrap_or(&empty);
        let keys: Box<dyn Iterator<Item = &(i64, u64)>> = match (ending_before, starting_after) {
            (Some(before), _) => {
                let key = cursor(before)?;
                Box::new(keys.range((std::ops::Bound::Excluded(key), std::ops::Bound::Unbounded)))
            }
            (None, Some(after)) => {
                let key = cursor(after)?;
                Box::new(keys.range(..key).rev())
            }
            (None, None) => Box::new(keys.iter().rev()),
        };
        let mut page: Vec<&Job> = keys
            .filter_map(|k| self.jobs.get(k))
            .take(limit.saturating_add(1))
            .collect();
        let has_more = page.len() > limit;
        page.truncate(limit);
        if ending_before.is_some() {
            page.reverse();
        }
        Ok((page, has_more))
    }
}
