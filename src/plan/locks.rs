//! Locks through related objects: a job fails `locked_by_other_job` when another active job
//! holds an object it names or reaches. The error names the erroring object, not the job;
//! this module finds the holder in the live state so that the plan waits on it by name
//! instead of revalidating in a loop.

use std::collections::BTreeMap;

use super::index::Index;
use super::model::LockHolder;
use crate::manifest::Entry;
use crate::stripe::models::{JobValidationError, ValidationErrorCode};

/// The active jobs holding what job `j`'s lock errors name. A holder that names the
/// erroring object as a root is found directly (and once every job naming it is done, the
/// lock is gone). When no job names it, the object is reached through a related object
/// (Stripe does not say which job holds it), so every other job that can hold objects is a
/// possible holder: waiting on all of them is slower but never loops. Empty: every lock is
/// gone.
pub fn lock_holders(
    index: &Index<'_>,
    entries: &[Entry],
    j: usize,
    errors: &[JobValidationError],
) -> Vec<LockHolder> {
    // Holder index → (erroring object ids, direct).
    let mut found: BTreeMap<usize, (Vec<String>, bool)> = BTreeMap::new();
    let mut unresolved: Vec<String> = Vec::new();
    for e in errors
        .iter()
        .filter(|e| e.code == ValidationErrorCode::LockedByOtherJob)
    {
        let Some(obj) = e.erroring_object.as_ref() else {
            continue;
        };
        let mut any = false;
        for h in index.other_holders(&obj.id, j) {
            any = true;
            let slot = found.entry(h).or_insert_with(|| (Vec::new(), true));
            slot.0.push(obj.id.clone());
        }
        // A job that names the object (whatever its status now) was the holder: once it
        // is done, the lock is gone. Only an object no job names is held through a
        // related object, by a job the live state cannot point at.
        let named_elsewhere = any
            || index
                .jobs
                .iter()
                .enumerate()
                .any(|(h, info)| h != j && info.names(&obj.id));
        if !named_elsewhere {
            unresolved.push(obj.id.clone());
        }
    }
    if !unresolved.is_empty() {
        for (h, info) in index.jobs.iter().enumerate() {
            if h == j || !info.holds {
                continue;
            }
            let slot = found.entry(h).or_insert_with(|| (Vec::new(), false));
            slot.0.extend(unresolved.iter().cloned());
        }
    }
    found
        .into_iter()
        .map(|(h, (mut objects, direct))| {
            objects.sort();
            objects.dedup();
            let info = &index.jobs[h];
            LockHolder {
                job: info.job.id.clone(),
                status: info.job.status.clone(),
                entry: info.owner().map(|e| entries[e].name.clone()),
                objects,
                direct,
            }
        })
        .collect()
}
