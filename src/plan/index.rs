//! The planner's view of `Live`: which entry owns each job, which objects are redacted,
//! held or in conflict. Built once with hash maps, so that planning 10,000 entries against
//! 10,000 jobs never loops over entries × jobs.

use std::collections::HashMap;

use super::model::Provenance;
use crate::kinds::{ObjectKind, ObjectRef};
use crate::manifest::Desired;
use crate::observe::Live;
use crate::stripe::models::{JobStatus, JobValidationError, RedactionJob, ValidationErrorCode};

/// A job's validation errors: every page as observed, else the first page Stripe embeds in
/// the job itself.
pub fn errors_of<'a>(live: &'a Live, job: &'a RedactionJob) -> &'a [JobValidationError] {
    match live.validation_errors.get(&job.id) {
        Some(all) => all,
        None => job
            .validation_errors
            .as_ref()
            .map(|l| l.data.as_slice())
            .unwrap_or(&[]),
    }
}

/// One live job with what the planner derives from it.
pub struct JobInfo<'a> {
    pub job: &'a RedactionJob,
    /// Sorted root objects of known kinds, with those redactctl's create asked for. Left
    /// empty for a terminal job that names no object of the manifests and that redactctl
    /// did not create: the planner asks nothing of it but, when a lock is traced, whether
    /// it named an object ([`JobInfo::names`]). An account's history (100,000 jobs) would
    /// otherwise be copied here on every plan (a re-plan of an apply in such an account
    /// took 20 MB for it).
    pub objects: Vec<ObjectRef>,
    /// Indices (into `Desired.entries`) of the entries its objects meet, sorted.
    pub entries: Vec<usize>,
    /// Who created it, as the audit log tells.
    pub provenance: Provenance,
    /// Whether it can hold objects: active, and not failed on a lock (a job that failed
    /// `locked_by_other_job` holds nothing; only the earlier active job does).
    pub holds: bool,
}

impl JobInfo<'_> {
    /// Whether the job names an object with this id (of a known kind), whether or not
    /// [`JobInfo::objects`] was filled in.
    pub fn names(&self, id: &str) -> bool {
        self.objects.iter().any(|o| o.id == id) || known_ids(self.job).any(|(_, o)| o == id)
    }

    /// The single entry that owns the job, if exactly one entry's objects meet it.
    pub fn owner(&self) -> Option<usize> {
        match self.entries.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }
}

/// The root objects of known kinds a job names, as (kind, id), unsorted, without copying.
fn known_ids(job: &RedactionJob) -> impl Iterator<Item = (ObjectKind, &str)> {
    job.objects
        .iter()
        .flat_map(|objects| objects.iter())
        .filter_map(|(kind, ids)| Some((kind.parse::<ObjectKind>().ok()?, ids)))
        .flat_map(|(kind, ids)| ids.iter().flatten().map(move |id| (kind, id.as_str())))
}

/// Lookups over one `Live` snapshot for one `Desired`.
pub struct Index<'a> {
    /// Every live job, in `Live` order (created, id).
    pub jobs: Vec<JobInfo<'a>>,
    /// Entry index → indices of the jobs it owns (any status), in `Live` order.
    pub owned: Vec<Vec<usize>>,
    /// Indices of active jobs that no single entry owns.
    pub unmanaged: Vec<usize>,
    /// Object id → indices of the active jobs that name it.
    pub active_by_id: HashMap<String, Vec<usize>>,
    /// Declared object → ids of canceled jobs that named it. Only objects of the manifests
    /// are kept: the planner asks about no other, and an account's history (100,000 jobs)
    /// would otherwise be copied here.
    pub canceled_by_object: HashMap<ObjectRef, Vec<String>>,
    /// Declared object → index of the first succeeded job that names it: the objects
    /// already redacted (only objects of the manifests, as for `canceled_by_object`).
    pub redacted_by: HashMap<ObjectRef, usize>,
}

impl<'a> Index<'a> {
    /// Indexes `live` against every entry of `desired` (not only targeted ones: ownership
    /// depends on all entries).
    pub fn new(desired: &Desired, live: &'a Live) -> Self {
        // Declared object (kind, id) → the last entry that declares it.
        let mut declared: HashMap<(ObjectKind, &str), usize> = HashMap::new();
        for (i, e) in desired.entries.iter().enumerate() {
            for o in &e.objects {
                declared.insert((o.kind, o.id.as_str()), i);
            }
        }
        let is_declared = |o: &ObjectRef| declared.contains_key(&(o.kind, o.id.as_str()));
        let mut idx = Index {
            jobs: Vec::with_capacity(live.jobs.len()),
            owned: vec![Vec::new(); desired.entries.len()],
            unmanaged: Vec::new(),
            active_by_id: HashMap::new(),
            canceled_by_object: HashMap::new(),
            redacted_by: HashMap::new(),
        };
        for (j, job) in live.jobs.iter().enumerate() {
            // What redactctl's create asked for: kinds that do not read back
            // (`issuing_cards`) still match the job to its entry.
            let created_with = live
                .created_by_redactctl
                .as_ref()
                .and_then(|m| m.get(&job.id));
            // See `JobInfo::objects`: a terminal job of no entry, not redactctl's, is not
            // copied.
            let relevant = job.status.is_active()
                || created_with.is_some()
                || known_ids(job).any(|key| declared.contains_key(&key));
            let mut objects = if relevant {
                job.object_refs()
            } else {
                Vec::new()
            };
            if let Some(asked) = created_with {
                objects.extend(asked.iter().cloned());
                objects.sort();
                objects.dedup();
            }
            let provenance = match (&live.created_by_redactctl, created_with) {
                (None, _) => Provenance::Unknown,
                (Some(_), Some(_)) => Provenance::Redactctl,
                (Some(_), None) => Provenance::Outside,
            };
            let mut entries: Vec<usize> = objects
                .iter()
                .filter_map(|o| declared.get(&(o.kind, o.id.as_str())).copied())
                .collect();
            entries.sort_unstable();
            entries.dedup();
            let lock_failed = job.status == JobStatus::Failed
                && errors_of(live, job)
                    .iter()
                    .any(|e| e.code == ValidationErrorCode::LockedByOtherJob);
            let info = JobInfo {
                job,
                objects,
                entries,
                provenance,
                holds: job.status.is_active() && !lock_failed,
            };
            match &job.status {
                JobStatus::Succeeded => {
                    for o in info.objects.iter().filter(|o| is_declared(o)) {
                        if !idx.redacted_by.contains_key(o) {
                            idx.redacted_by.insert(o.clone(), j);
                        }
                    }
                }
                JobStatus::Canceled => {
                    for o in info.objects.iter().filter(|o| is_declared(o)) {
                        idx.canceled_by_object
                            .entry(o.clone())
                            .or_default()
                            .push(job.id.clone());
                    }
                }
                _ => {}
            }
            if job.status.is_active() {
                for o in &info.objects {
                    idx.active_by_id.entry(o.id.clone()).or_default().push(j);
                }
            }
            match info.owner() {
                Some(e) => idx.owned[e].push(j),
                None if job.status.is_active() => idx.unmanaged.push(j),
                None => {}
            }
            idx.jobs.push(info);
        }
        idx
    }

    /// Jobs other than `except` that can hold objects (see [`JobInfo::holds`]) and name an
    /// object with this id.
    pub fn other_holders(&self, id: &str, except: usize) -> impl Iterator<Item = usize> + '_ {
        self.other_active_holders(id, except)
            .filter(|&j| self.jobs[j].holds)
    }

    /// Active jobs other than `except` that name an object with this id.
    pub fn other_active_holders(
        &self,
        id: &str,
        except: usize,
    ) -> impl Iterator<Item = usize> + '_ {
        self.active_by_id
            .get(id)
            .into_iter()
            .flatten()
            .copied()
            .filter(move |&j| j != except)
    }
}
