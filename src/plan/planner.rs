//! The planner: `plan(&Desired, &Live, &Options) -> Plan`, DESIGN.md's planning rules as
//! a pure, deterministic function. Level-triggered: it reads the whole snapshot each time
//! and derives the next steps, so a rerun after a crash plans exactly what is left.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use super::fixes::{fix_preview, fixes_of, is_risk_period, view_error, ErrorContext};
use super::index::{errors_of, Index, JobInfo};
use super::locks::lock_holders;
use super::model::*;
use crate::deadline::Date;
use crate::kinds::{ObjectKind, ObjectRef};
use crate::manifest::{Behavior, Desired, DesiredState, Entry, Via};
use crate::observe::Live;
use crate::stripe::models::{
    ErroringObject, JobStatus, JobValidationError, RedactionJob, SessionRedactionStatus,
    ValidationBehavior, ValidationErrorCode, VerificationSessionStatus,
};

/// Id prefix of actions that prune unmanaged jobs. Entry names start with `[a-z0-9]`, so
/// no entry's action ids can collide with it.
const PRUNE_PREFIX: &str = "_unmanaged";

/// Plans `desired` against `live`. Pure and deterministic: the same inputs give a
/// byte-identical plan.
pub fn plan(desired: &Desired, live: &Live, opts: &Options) -> Plan {
    let index = Index::new(desired, live);
    let targets: HashSet<&str> = opts.targets.iter().map(String::as_str).collect();
    let in_scope =
        |i: usize| targets.is_empty() || targets.contains(desired.entries[i].name.as_str());
    let prune = opts.prune && targets.is_empty();

    let mut warnings = Vec::new();
    let mut unknown_targets: Vec<&str> = targets
        .iter()
        .copied()
        .filter(|t| desired.entry(t).is_none())
        .collect();
    unknown_targets.sort_unstable();
    for t in unknown_targets {
        warnings.push(format!("--target {t} names no entry of the manifests"));
    }

    // Unmanaged jobs first: entries refer to the prune cancels that free their objects.
    let mut actions = Vec::new();
    let mut unmanaged = Vec::new();
    let mut pruned: HashMap<usize, String> = HashMap::new();
    let mut prune_n = 0;
    for &j in &index.unmanaged {
        let info = &index.jobs[j];
        if !targets.is_empty() && !info.entries.iter().any(|&e| in_scope(e)) {
            continue;
        }
        let cancelable = matches!(info.job.status, JobStatus::Ready | JobStatus::Failed);
        // A job created outside redactctl that names declared objects is a conflict: only
        // naming it cancels it, `--prune` does not.
        let named = opts.cancel_conflicting.contains(&info.job.id);
        let outside_conflict = !info.entries.is_empty() && info.provenance == Provenance::Outside;
        let will_prune = cancelable && ((prune && !outside_conflict) || named);
        let entry_names: Vec<String> = info
            .entries
            .iter()
            .map(|&e| desired.entries[e].name.clone())
            .collect();
        if will_prune {
            prune_n += 1;
            let id = format!("{PRUNE_PREFIX}/cancel-{prune_n}");
            let mut a = job_action(&id, None, Op::Cancel, info);
            a.reason = if named {
                format!(
                    "--cancel-conflicting {}: {}",
                    info.job.id,
                    unmanaged_reason(&entry_names)
                )
            } else {
                format!("--prune: {}", unmanaged_reason(&entry_names))
            };
            a.adopt = adoption(info);
            pruned.insert(j, id);
            actions.push(a);
        }
        unmanaged.push(UnmanagedJob {
            id: info.job.id.clone(),
            status: info.job.status.clone(),
            objects: info.objects.clone(),
            entries: entry_names,
            pruned: will_prune,
        });
    }

    let mut entries = Vec::new();
    for (i, entry) in desired.entries.iter().enumerate() {
        if !in_scope(i) {
            continue;
        }
        let mut ep = EntryPlanner::new(&desired.entries, entry, i, &index, live, opts, &pruned);
        match (entry.via, entry.state) {
            (Via::IdentityRedact, _) => ep.plan_sessions(),
            (Via::RedactionJob, DesiredState::Canceled) => ep.plan_canceled(),
            (Via::RedactionJob, _) => ep.plan_jobs(),
        }
        let (view, mut acts) = ep.finish();
        entries.push(view);
        actions.append(&mut acts);
    }

    if opts.prune && !targets.is_empty() {
        warnings.push("--prune and --target do not mix: nothing is pruned".to_string());
    }
    Plan {
        format_version: FORMAT_VERSION,
        desired_digest: desired.digest.clone(),
        mode: desired.account.mode,
        account_id: desired.account.id.clone(),
        connected_account: desired.account.connected_account.clone(),
        entries,
        unmanaged,
        summary: Summary::of(&actions),
        actions,
        warnings,
        manifest_paths: Vec::new(),
        options: opts.clone(),
        observed: None,
    }
}

fn unmanaged_reason(entries: &[String]) -> String {
    match entries {
        [] => "active job that names no object of the manifests".to_string(),
        _ => format!(
            "active job that names objects of several entries ({})",
            entries.join(", ")
        ),
    }
}

/// A new action on a live job, with its observed precondition.
fn job_action(id: &str, entry: Option<&str>, op: Op, info: &JobInfo<'_>) -> Action {
    let mut a = blank(id, entry, op);
    a.job = Some(info.job.id.clone());
    a.objects = info.objects.clone();
    a.precondition = Some(observed(info.job));
    a
}

/// The adoption marker for acting on a job that redactctl did not create.
fn adoption(info: &JobInfo<'_>) -> Option<Adoption> {
    (info.provenance == Provenance::Outside).then(|| Adoption {
        job: info.job.id.clone(),
        created: info.job.created,
    })
}

fn observed(job: &RedactionJob) -> Precondition {
    Precondition::Job {
        job: job.id.clone(),
        status: job.status.clone(),
        validation_behavior: job.effective_behavior(),
    }
}

fn blank(id: &str, entry: Option<&str>, op: Op) -> Action {
    Action {
        id: id.to_string(),
        entry: entry.map(str::to_string),
        op,
        job: None,
        session: None,
        objects: Vec::new(),
        validation_behavior: None,
        precondition: None,
        irreversible: matches!(op, Op::Run | Op::Redact),
        deferred: false,
        after: Vec::new(),
        replace: false,
        side_effects: Vec::new(),
        reason: String::new(),
        key_context: Vec::new(),
        fixes: Vec::new(),
        lock_holders: Vec::new(),
        lock_release: false,
        adopt: None,
        scheduled: false,
    }
}

fn to_validation_behavior(b: Behavior) -> ValidationBehavior {
    match b {
        Behavior::Error => ValidationBehavior::Error,
        Behavior::Fix => ValidationBehavior::Fix,
    }
}

/// Plans one entry; collects its view and actions.
struct EntryPlanner<'p, 'a> {
    all: &'p [Entry],
    entry: &'p Entry,
    index_of_entry: usize,
    index: &'p Index<'a>,
    live: &'a Live,
    opts: &'p Options,
    pruned: &'p HashMap<usize, String>,
    counters: BTreeMap<Op, usize>,
    actions: Vec<Action>,
    jobs: Vec<JobView>,
    sessions: Vec<SessionView>,
    blocked: Vec<Blocked>,
    warnings: Vec<String>,
    redacted: Vec<ObjectRef>,
    redacted_by: Vec<RedactedBy>,
    /// Fixes shown for a `state: validated` entry: what its run would apply.
    preview: Vec<FixPreview>,
    /// Jobs waiting for the 90-day risk period to end.
    scheduled: Vec<ScheduledJob>,
}

impl<'p, 'a> EntryPlanner<'p, 'a> {
    fn new(
        all: &'p [Entry],
        entry: &'p Entry,
        index_of_entry: usize,
        index: &'p Index<'a>,
        live: &'a Live,
        opts: &'p Options,
        pruned: &'p HashMap<usize, String>,
    ) -> Self {
        EntryPlanner {
            all,
            entry,
            index_of_entry,
            index,
            live,
            opts,
            pruned,
            counters: BTreeMap::new(),
            actions: Vec::new(),
            jobs: Vec::new(),
            sessions: Vec::new(),
            blocked: Vec::new(),
            warnings: Vec::new(),
            redacted: Vec::new(),
            redacted_by: Vec::new(),
            preview: Vec::new(),
            scheduled: Vec::new(),
        }
    }

    fn next_id(&mut self, op: Op) -> String {
        let n = self.counters.entry(op).or_insert(0);
        *n += 1;
        format!("{}/{}-{}", self.entry.name, op.as_str(), n)
    }

    fn new_job_action(&mut self, op: Op, info: &JobInfo<'_>) -> Action {
        let id = self.next_id(op);
        job_action(&id, Some(&self.entry.name), op, info)
    }

    fn push(&mut self, a: Action) -> String {
        let id = a.id.clone();
        self.actions.push(a);
        id
    }

    /// The job's validation errors: every page as observed, else the first page Stripe
    /// embeds in the job itself.
    fn errors_of(&self, job: &'a RedactionJob) -> &'a [JobValidationError] {
        errors_of(self.live, job)
    }

    /// What the live state tells about an error of `job` and its object (the object's age
    /// and when the job was last validated, for the risk period).
    fn context(&self, job: &RedactionJob, e: &JobValidationError) -> ErrorContext {
        ErrorContext {
            created: e
                .erroring_object
                .as_ref()
                .and_then(|o| self.live.object_created.get(&o.id).copied()),
            now: self.live.observed_at,
            validated_at: Some(self.live.last_validated(job)),
        }
    }

    fn view(&self, job: &RedactionJob, e: &JobValidationError) -> ErrorView {
        view_error(e, self.entry.validation_behavior, self.context(job, e))
    }

    /// The fixes a `fix` run would apply for these errors of `job`, with the manifest's
    /// pre-approvals.
    fn fixes(&self, job: &RedactionJob, errors: &[JobValidationError]) -> Vec<FixPreview> {
        fixes_of(errors, |e| self.context(job, e), &self.entry.allowed_fixes)
    }

    /// When every error of failed `job` is either the 90-day risk period on a transaction
    /// whose `created` is known, or (for a `fix` entry) fixable — and at least one is the
    /// risk period: the moment the last of those transactions turns 90 days old, and them.
    fn risk_schedule(
        &self,
        job: &RedactionJob,
        errors: &[JobValidationError],
    ) -> Option<(i64, Vec<ErroringObject>)> {
        let fix_entry = self.entry.validation_behavior == Behavior::Fix;
        let mut eligible_at: Option<i64> = None;
        let mut objects: Vec<ErroringObject> = Vec::new();
        for e in errors {
            let ctx = self.context(job, e);
            match (
                is_risk_period(e, ctx),
                ctx.eligible_at(),
                &e.erroring_object,
            ) {
                (true, Some(at), Some(o)) => {
                    eligible_at = Some(eligible_at.map_or(at, |t| t.max(at)));
                    if !objects.contains(o) {
                        objects.push(o.clone());
                    }
                }
                _ if fix_entry && fix_preview(e, ctx, &[]).is_some() => {}
                _ => return None,
            }
        }
        eligible_at.map(|at| (at, objects))
    }

    /// The entry's non-canceled jobs, in `Live` order; records their views.
    fn owned_jobs(&mut self) -> Vec<usize> {
        let mut out = Vec::new();
        for &j in &self.index.owned[self.index_of_entry] {
            let info = &self.index.jobs[j];
            if info.job.status == JobStatus::Canceled {
                continue;
            }
            let errors = self
                .errors_of(info.job)
                .iter()
                .map(|e| self.view(info.job, e))
                .collect();
            self.jobs.push(JobView {
                id: info.job.id.clone(),
                created: info.job.created,
                status: info.job.status.clone(),
                objects: info.objects.clone(),
                validation_behavior: info.job.effective_behavior(),
                errors,
                provenance: info.provenance,
            });
            if let JobStatus::Unknown(s) = &info.job.status {
                self.warnings.push(format!(
                    "job {} has status `{s}`, which this version does not know; waiting",
                    info.job.id
                ));
            }
            out.push(j);
        }
        out
    }

    fn wait(&mut self, info: &JobInfo<'_>, why: &str) -> String {
        let mut a = self.new_job_action(Op::Wait, info);
        a.reason = why.to_string();
        self.push(a)
    }

    fn update_if_needed(&mut self, info: &JobInfo<'_>) -> Option<String> {
        let want = to_validation_behavior(self.entry.validation_behavior);
        let have = info.job.effective_behavior();
        if want == have {
            return None;
        }
        let mut a = self.new_job_action(Op::Update, info);
        a.validation_behavior = Some(self.entry.validation_behavior);
        a.reason = format!(
            "validation_behavior is {have}, the manifest says {}",
            self.entry.validation_behavior.as_str()
        );
        Some(self.push(a))
    }

    /// A run of a live job. `fixes`: what it applies (the job runs in `fix` behaviour).
    fn run(
        &mut self,
        info: &JobInfo<'_>,
        deferred: bool,
        after: Vec<String>,
        fixes: Vec<FixPreview>,
    ) -> String {
        let mut a = self.new_job_action(Op::Run, info);
        a.deferred = deferred;
        a.after = after;
        a.side_effects = fixes.iter().map(|f| f.description.clone()).collect();
        a.fixes = fixes;
        a.adopt = adoption(info);
        a.reason = if deferred {
            "state: redacted; runs once the job is ready".to_string()
        } else {
            "state: redacted and the job is ready".to_string()
        };
        self.push(a)
    }

    fn validate(&mut self, info: &JobInfo<'_>, after: Vec<String>, reason: String) -> String {
        let mut a = self.new_job_action(Op::Validate, info);
        a.after = after;
        a.reason = reason;
        a.key_context = self
            .errors_of(info.job)
            .iter()
            .map(|e| e.id.clone())
            .collect();
        self.push(a)
    }

    fn cancel(&mut self, info: &JobInfo<'_>, replace: bool, reason: String) -> String {
        let mut after = Vec::new();
        let deferred = matches!(info.job.status, JobStatus::Created | JobStatus::Validating);
        if deferred {
            after.push(self.wait(info, "cancel is possible once validation ends"));
        }
        let mut a = self.new_job_action(Op::Cancel, info);
        a.deferred = deferred;
        a.after = after;
        a.replace = replace;
        a.reason = reason;
        a.adopt = adoption(info);
        self.push(a)
    }

    /// `state: redacted` and `state: validated`.
    fn plan_jobs(&mut self) {
        let want_run = self.entry.state == DesiredState::Redacted;
        let declared: HashSet<&ObjectRef> = self.entry.objects.iter().collect();
        // Objects the entry's kept active jobs hold.
        let mut held: HashSet<ObjectRef> = HashSet::new();
        // Still-declared objects freed by a cancel of this plan: object → (job index, cancel id).
        let mut released: HashMap<ObjectRef, Vec<(usize, String)>> = HashMap::new();

        for j in self.owned_jobs() {
            let info = &self.index.jobs[j];
            let stale: Vec<&ObjectRef> = info
                .objects
                .iter()
                .filter(|o| !declared.contains(o))
                .collect();
            let status = info.job.status.clone();
            if !stale.is_empty() && matches!(status, JobStatus::Redacting | JobStatus::Succeeded) {
                self.warnings.push(format!(
                    "job {} ({status}) also redacts {}, no longer declared: already redacted, \
                     irreversible",
                    info.job.id,
                    list(&stale)
                ));
            }
            if !stale.is_empty() && status.is_pre_run() && info.provenance == Provenance::Outside {
                // Not redactctl's job: its undeclared objects are someone else's request,
                // not objects the manifest dropped. A conflict, canceled only when named.
                if self.opts.cancel_conflicting.contains(&info.job.id) {
                    let id = self.cancel(
                        info,
                        true,
                        format!(
                            "--cancel-conflicting {}: created outside redactctl, it also \
                             names {}, which no manifest declares",
                            info.job.id,
                            list(&stale)
                        ),
                    );
                    for o in info.objects.iter().filter(|o| declared.contains(o)) {
                        released.entry(o.clone()).or_default().push((j, id.clone()));
                    }
                } else {
                    held.extend(info.objects.iter().cloned());
                    self.outside_conflict(j, &stale);
                }
                continue;
            }
            if !stale.is_empty() && status.is_pre_run() {
                let id = self.cancel(
                    info,
                    true,
                    format!(
                        "replace: the job names {}, no longer declared",
                        list(&stale)
                    ),
                );
                for o in info.objects.iter().filter(|o| declared.contains(o)) {
                    released.entry(o.clone()).or_default().push((j, id.clone()));
                }
                continue;
            }
            if status.is_active() {
                held.extend(info.objects.iter().cloned());
            }
            let fix_entry = self.entry.validation_behavior == Behavior::Fix;
            let job_fixes = info.job.effective_behavior() == ValidationBehavior::Fix;
            match status {
                JobStatus::Created | JobStatus::Validating => {
                    // A `fix` entry's job stays in `error` until a plan has shown its fixes;
                    // switching a `fix` job back to `error` is always safe.
                    let mut after: Vec<String> = if fix_entry {
                        Vec::new()
                    } else {
                        self.update_if_needed(info).into_iter().collect()
                    };
                    after.push(self.wait(info, "Stripe is validating the job"));
                    if want_run {
                        let fixes = if job_fixes && fix_entry {
                            self.fixes(info.job, self.errors_of(info.job))
                        } else {
                            Vec::new()
                        };
                        self.warn_unlisted_fixes(info, &fixes);
                        self.run(info, true, after, fixes);
                    }
                }
                JobStatus::Ready => {
                    // Ready under `error`: validation found nothing to fix, so a `fix`
                    // entry runs it as it is. Ready under `fix`: the run applies the fixes
                    // its errors list.
                    let after: Vec<String> = if fix_entry {
                        Vec::new()
                    } else {
                        self.update_if_needed(info).into_iter().collect()
                    };
                    if want_run {
                        let fixes = if job_fixes && fix_entry {
                            self.fixes(info.job, self.errors_of(info.job))
                        } else {
                            Vec::new()
                        };
                        self.warn_unlisted_fixes(info, &fixes);
                        self.run(info, false, after, fixes);
                    }
                }
                JobStatus::Failed if self.redacted_elsewhere(j) => {}
                JobStatus::Failed => self.plan_failed(j, want_run),
                JobStatus::Redacting => {
                    self.wait(info, "Stripe is redacting");
                }
                JobStatus::Canceling => {
                    self.wait(info, "Stripe is canceling the job");
                }
                JobStatus::Unknown(_) => {
                    self.wait(info, "unknown status");
                }
                JobStatus::Succeeded | JobStatus::Canceled => {}
            }
        }

        // Each declared object not yet redacted: kept, in conflict, released, or free.
        let mut free = Vec::new();
        let mut freed_later = Vec::new();
        let mut conflicts: BTreeMap<usize, Vec<ObjectRef>> = BTreeMap::new();
        for o in &self.entry.objects {
            if self.index.redacted_by.contains_key(o) {
                self.redacted.push(o.clone());
                self.note_redacted_by(o);
                continue;
            }
            if held.contains(o) {
                continue;
            }
            let mut blocking = false;
            let mut releasers: Vec<(usize, String)> = released.get(o).cloned().unwrap_or_default();
            for &u in self.index.active_by_id.get(&o.id).into_iter().flatten() {
                let info = &self.index.jobs[u];
                if info.owner() == Some(self.index_of_entry) || !info.objects.contains(o) {
                    continue;
                }
                match self.pruned.get(&u) {
                    Some(cancel) => releasers.push((u, cancel.clone())),
                    None => {
                        blocking = true;
                        conflicts.entry(u).or_default().push(o.clone());
                    }
                }
            }
            if blocking {
                continue;
            }
            if releasers.is_empty() {
                free.push(o.clone());
            } else {
                freed_later.push((o.clone(), releasers));
            }
        }
        for (u, objects) in conflicts {
            self.conflict(u, &objects);
        }
        for chunk in free.chunks(MAX_OBJECTS_PER_JOB) {
            if !self.create_refused_as_missing(chunk) {
                self.create(chunk.to_vec(), Vec::new(), want_run);
            }
        }
        for chunk in freed_later.chunks(MAX_OBJECTS_PER_JOB) {
            let objects = chunk.iter().map(|(o, _)| o.clone()).collect();
            let releasers: BTreeSet<(usize, String)> =
                chunk.iter().flat_map(|(_, r)| r.iter().cloned()).collect();
            self.create(objects, releasers.into_iter().collect(), want_run);
        }
    }

    /// Whether Stripe refused exactly this create because an object it names does not
    /// exist: then the entry is blocked ("object not found") instead of proposing the
    /// create Stripe would refuse again. `--revalidate` sends it anyway (the object may
    /// exist now); a create that differs (the entry's objects changed) goes ahead, with a
    /// warning naming what was not found before.
    fn create_refused_as_missing(&mut self, chunk: &[ObjectRef]) -> bool {
        let refused = super::missing::refused_create(self.live, chunk);
        if refused.is_empty() || self.opts.revalidate {
            for m in super::missing::missing_before(self.live, chunk) {
                self.warnings.push(format!(
                    "Stripe did not find {} when a create named it at {}; this create names it again",
                    m.object, m.time
                ));
            }
            return false;
        }
        self.blocked.push(super::missing::blocked_create(&refused));
        true
    }

    /// A run in `fix` behaviour whose errors Stripe does not list: the plan cannot show
    /// the fixes it applies, and says so.
    fn warn_unlisted_fixes(&mut self, info: &JobInfo<'_>, fixes: &[FixPreview]) {
        let under_fix = info.job.effective_behavior() == ValidationBehavior::Fix;
        if under_fix && fixes.is_empty() && self.entry.validation_behavior == Behavior::Fix {
            self.warnings.push(format!(
                "job {} runs with validation_behavior: fix and Stripe lists no errors for it: \
                 the fixes it applies cannot be shown (a plan that showed them before the \
                 switch to fix covers them); set `validation_behavior: error` to run it \
                 without fixes",
                info.job.id
            ));
        }
    }

    /// Whether every declared object of failed job `j` was redacted by another job (a lock
    /// holder that reached them): nothing is left for the job to do.
    fn redacted_elsewhere(&self, j: usize) -> bool {
        let mine: Vec<&ObjectRef> = self.index.jobs[j]
            .objects
            .iter()
            .filter(|o| self.entry.objects.contains(o))
            .collect();
        !mine.is_empty()
            && mine
                .iter()
                .all(|o| self.index.redacted_by.get(*o).is_some_and(|&by| by != j))
    }

    /// Records which job, not the entry's own, redacted a declared object.
    fn note_redacted_by(&mut self, o: &ObjectRef) {
        let Some(&by) = self.index.redacted_by.get(o) else {
            return;
        };
        let info = &self.index.jobs[by];
        if info.owner() == Some(self.index_of_entry) {
            return;
        }
        let entry = info.owner().map(|e| self.all[e].name.clone());
        match self.redacted_by.iter_mut().find(|r| r.job == info.job.id) {
            Some(r) => r.objects.push(o.clone()),
            None => self.redacted_by.push(RedactedBy {
                job: info.job.id.clone(),
                entry,
                objects: vec![o.clone()],
            }),
        }
    }

    fn plan_failed(&mut self, j: usize, want_run: bool) {
        let info = &self.index.jobs[j];
        let errors = self.errors_of(info.job);
        let all_locks = !errors.is_empty()
            && errors
                .iter()
                .all(|e| e.code == ValidationErrorCode::LockedByOtherJob);
        let fix_entry = self.entry.validation_behavior == Behavior::Fix;
        let job_errors = info.job.effective_behavior() == ValidationBehavior::Error;
        // A lock still held is waited on first, whatever else failed: the revalidation
        // after it shows the rest.
        let held = errors
            .iter()
            .any(|e| e.code == ValidationErrorCode::LockedByOtherJob)
            && !lock_holders(self.index, self.all, j, errors).is_empty();
        if all_locks || held {
            return self.plan_locked(j, errors, want_run);
        }
        if let Some((eligible_at, objects)) = self.risk_schedule(info.job, errors) {
            return self.plan_scheduled(j, errors, eligible_at, objects, want_run);
        }
        let all_fixable = !errors.is_empty()
            && errors
                .iter()
                .all(|e| fix_preview(e, self.context(info.job, e), &[]).is_some());
        if fix_entry && job_errors && all_fixable {
            let previews = self.fixes(info.job, errors);
            return self.plan_fix_preview(j, previews, want_run);
        }
        let (validate_after, reason) = if !fix_entry && !job_errors {
            let update = self.update_if_needed(info);
            (
                update.into_iter().collect(),
                "revalidate with the new validation_behavior".to_string(),
            )
        } else if self.opts.revalidate {
            self.warnings.push(format!(
                "job {} failed validation; revalidating as asked (--revalidate)",
                info.job.id
            ));
            (Vec::new(), "--revalidate".to_string())
        } else if let Some(reason) = self.periodic_revalidation(info.job, errors) {
            (Vec::new(), reason)
        } else {
            let views: Vec<ErrorView> = errors.iter().map(|e| self.view(info.job, e)).collect();
            let mut resolve = resolutions(&views, self.entry.validation_behavior);
            if let Some(next) = self.next_periodic_revalidation(info.job, errors) {
                resolve.push(format!(
                    "reconcile revalidates the job by itself from {} (--revalidate-every), \
                     so a fix made in the Dashboard is picked up",
                    rfc3339(next)
                ));
            }
            let not_found = super::missing::not_found_in(errors);
            self.blocked.push(Blocked {
                problem: if not_found.is_empty() {
                    format!("job {} failed validation", info.job.id)
                } else {
                    format!(
                        "object not found: {} (job {} failed validation)",
                        not_found.join(", "),
                        info.job.id
                    )
                },
                job: Some(info.job.id.clone()),
                errors: views,
                resolve,
            });
            return;
        };
        let validate = self.validate(info, validate_after, reason);
        if want_run {
            self.run(info, true, vec![validate], Vec::new());
        }
    }

    /// Whether the errors of failed `job` are ones `--revalidate-every` retries: they need a
    /// person (no lock, no risk period), and there are some.
    fn needs_a_person(&self, job: &RedactionJob, errors: &[JobValidationError]) -> bool {
        !errors.is_empty()
            && errors.iter().all(|e| {
                e.code != ValidationErrorCode::LockedByOtherJob
                    && !is_risk_period(e, self.context(job, e))
            })
    }

    /// When `--revalidate-every` next allows revalidating `job` (unix seconds), if it
    /// applies to its errors.
    fn next_periodic_revalidation(
        &self,
        job: &RedactionJob,
        errors: &[JobValidationError],
    ) -> Option<i64> {
        let every = i64::try_from(self.opts.revalidate_every?).unwrap_or(i64::MAX);
        self.needs_a_person(job, errors)
            .then(|| self.live.last_validated(job).saturating_add(every))
    }

    /// The reason for a `--revalidate-every` revalidation of `job`, when one is due now:
    /// at most one per period, counted from its last validation (the audit log's, else the
    /// job's creation), so that reruns within the period never repeat it.
    fn periodic_revalidation(
        &self,
        job: &RedactionJob,
        errors: &[JobValidationError],
    ) -> Option<String> {
        let next = self.next_periodic_revalidation(job, errors)?;
        (self.live.observed_at >= next).then(|| {
            format!(
                "--revalidate-every: last validated at {}; picks up fixes made in the \
                 Dashboard",
                rfc3339(self.live.last_validated(job))
            )
        })
    }

    /// The job failed on Stripe's 90-day risk period (and nothing a person must resolve):
    /// before the period ends, the entry is scheduled for that date; from then on, the
    /// revalidation is planned here, implied by the entry, and the run follows it as usual.
    fn plan_scheduled(
        &mut self,
        j: usize,
        errors: &[JobValidationError],
        eligible_at: i64,
        objects: Vec<ErroringObject>,
        want_run: bool,
    ) {
        let info = &self.index.jobs[j];
        let eligible_on = Date::from_unix(eligible_at);
        if self.live.observed_at < eligible_at {
            self.scheduled.push(ScheduledJob {
                job: info.job.id.clone(),
                eligible_on,
                eligible_at,
                objects,
            });
            return;
        }
        let mut v = self.new_job_action(Op::Validate, info);
        v.reason = format!(
            "Stripe's 90-day risk period ended on {eligible_on}: revalidate (scheduled by the \
             entry)"
        );
        v.key_context = errors.iter().map(|e| e.id.clone()).collect();
        v.scheduled = true;
        let validate = self.push(v);
        if want_run {
            self.run(info, true, vec![validate], Vec::new());
        }
    }

    /// Every error is `locked_by_other_job`: wait on the holders by name; once they are
    /// done, revalidate once.
    fn plan_locked(&mut self, j: usize, errors: &[JobValidationError], want_run: bool) {
        let info = &self.index.jobs[j];
        let holders = lock_holders(self.index, self.all, j, errors);
        let active: Vec<LockHolder> = holders.into_iter().collect();
        let mut after = Vec::new();
        let reason = if active.is_empty() {
            "every error was locked_by_other_job and the lock is gone".to_string()
        } else {
            let names: Vec<String> = active.iter().map(LockHolder::describe).collect();
            let mut w = self.new_job_action(Op::Wait, info);
            w.reason = format!("waiting on {}", names.join(", "));
            if active.iter().any(|h| !h.direct) {
                w.reason.push_str(
                    " (no job names the locked object: it is held through a related object)",
                );
            }
            w.lock_holders = active.clone();
            after.push(self.push(w));
            format!(
                "revalidate once {} {} done",
                names.join(", "),
                if active.len() == 1 { "is" } else { "are" }
            )
        };
        let mut v = self.new_job_action(Op::Validate, info);
        v.deferred = !active.is_empty();
        v.after = after;
        v.reason = reason;
        v.key_context = errors.iter().map(|e| e.id.clone()).collect();
        v.lock_release = true;
        // The revalidation a released lock allows: it names the jobs that held it (the
        // ones still named by the errors, active or not).
        v.lock_holders = if active.is_empty() {
            released_holders(self.index, self.all, j, errors)
        } else {
            active
        };
        let validate = self.push(v);
        if want_run {
            self.run(info, true, vec![validate], Vec::new());
        }
    }

    /// A `fix` entry's job failed under `error` and every error has a fix: the preview.
    /// The update to `fix`, the revalidation and the run all carry the fixes, so that only
    /// a plan that listed exactly these fixes is approval for them.
    fn plan_fix_preview(&mut self, j: usize, previews: Vec<FixPreview>, want_run: bool) {
        if !want_run {
            // `state: validated`: the job stays in `error`, validated, and the plan shows
            // what a run would fix; the switch comes with the plan that runs it.
            self.preview.extend(previews);
            return;
        }
        let info = &self.index.jobs[j];
        let Some(update) = self.update_if_needed(info) else {
            return;
        };
        if let Some(u) = self.actions.iter_mut().find(|a| a.id == update) {
            u.fixes = previews.clone();
            u.reason = format!(
                "validation_behavior: fix, shown first: the run will apply {} {}",
                previews.len(),
                if previews.len() == 1 { "fix" } else { "fixes" }
            );
        }
        let validate = self.validate(
            info,
            vec![update],
            "revalidate with validation_behavior: fix".to_string(),
        );
        if let Some(v) = self.actions.iter_mut().find(|a| a.id == validate) {
            v.fixes = previews.clone();
        }
        if want_run {
            self.run(info, true, vec![validate], previews);
        }
    }

    /// A job created outside redactctl names declared objects next to undeclared ones.
    fn outside_conflict(&mut self, j: usize, undeclared: &[&ObjectRef]) {
        let info = &self.index.jobs[j];
        self.blocked.push(Blocked {
            problem: format!(
                "job {} ({}) was created outside redactctl at {} and also names {}, which no \
                 manifest declares",
                info.job.id,
                info.job.status,
                rfc3339(info.job.created),
                list(undeclared)
            ),
            job: Some(info.job.id.clone()),
            errors: Vec::new(),
            resolve: vec![
                format!(
                    "ask who created job {} whether it may go; then cancel it with \
                     `--cancel-conflicting {}`",
                    info.job.id, info.job.id
                ),
                "or declare its other objects in an entry".to_string(),
            ],
        });
    }

    fn conflict(&mut self, u: usize, objects: &[ObjectRef]) {
        let info = &self.index.jobs[u];
        let others: Vec<&str> = info
            .entries
            .iter()
            .filter(|&&e| e != self.index_of_entry)
            .map(|&e| self.all[e].name.as_str())
            .collect();
        let mut whose = if others.is_empty() {
            "which no entry owns".to_string()
        } else {
            format!("which also names objects of {}", others.join(", "))
        };
        if info.provenance == Provenance::Outside {
            let _ = write!(
                whose,
                " (created outside redactctl at {})",
                rfc3339(info.job.created)
            );
        }
        let status = &info.job.status;
        let mut resolve = Vec::new();
        if matches!(status, JobStatus::Ready | JobStatus::Failed) {
            resolve.push(if info.provenance == Provenance::Outside {
                format!(
                    "cancel job {id} by naming it: `redactctl apply --cancel-conflicting {id}`",
                    id = info.job.id
                )
            } else {
                format!(
                    "cancel job {} (`redactctl apply --prune` cancels unmanaged ready/failed jobs)",
                    info.job.id
                )
            });
        } else {
            resolve.push(format!("wait for job {} ({status}) to finish", info.job.id));
        }
        if !others.is_empty() {
            resolve.push("or move these objects into one entry".to_string());
        }
        self.blocked.push(Blocked {
            problem: format!(
                "{} held by job {} ({status}), {whose}",
                list(&objects.iter().collect::<Vec<_>>()),
                info.job.id
            ),
            job: Some(info.job.id.clone()),
            errors: Vec::new(),
            resolve,
        });
    }

    fn create(&mut self, objects: Vec<ObjectRef>, releasers: Vec<(usize, String)>, want_run: bool) {
        let id = self.next_id(Op::Create);
        let mut a = blank(&id, Some(&self.entry.name), Op::Create);
        let mut context: BTreeSet<String> = objects
            .iter()
            .flat_map(|o| self.index.canceled_by_object.get(o).into_iter().flatten())
            .cloned()
            .collect();
        let except: BTreeSet<String> = releasers
            .iter()
            .map(|(j, _)| self.index.jobs[*j].job.id.clone())
            .collect();
        context.extend(except.iter().cloned());
        a.after = releasers
            .iter()
            .map(|(_, c)| c.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // Possible only once the cancels complete and Stripe releases the objects.
        a.deferred = !releasers.is_empty();
        a.replace = releasers
            .iter()
            .any(|(j, _)| self.index.jobs[*j].owner() == Some(self.index_of_entry));
        a.precondition = Some(Precondition::Free {
            objects: objects.clone(),
            except_jobs: except.iter().cloned().collect(),
        });
        a.objects = objects;
        // A `fix` entry's job is created with `error` first: its validation then lists
        // every fixable error, and a plan shows each fix before any job switches to `fix`.
        a.validation_behavior = Some(Behavior::Error);
        a.key_context = context.into_iter().collect();
        a.reason = if except.is_empty() {
            "declared objects that no job covers".to_string()
        } else {
            format!(
                "declared objects freed once {} is canceled",
                except.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        };
        if self.entry.validation_behavior == Behavior::Fix {
            a.reason.push_str(
                "; created with validation_behavior: error, so that a plan shows its fixes \
                 before any switch to fix",
            );
        }
        let objects = a.objects.clone();
        let create = self.push(a);
        if want_run {
            let mut run = blank(&self.next_id(Op::Run), Some(&self.entry.name), Op::Run);
            run.objects = objects;
            run.deferred = true;
            run.after = vec![create];
            run.reason = "state: redacted; runs the new job once it is ready".to_string();
            self.push(run);
        }
    }

    /// `state: canceled`: cancel what has not run; what ran cannot be undone.
    fn plan_canceled(&mut self) {
        for j in self.owned_jobs() {
            let info = &self.index.jobs[j];
            match &info.job.status {
                s if s.is_pre_run() => {
                    self.cancel(info, false, "state: canceled".to_string());
                }
                JobStatus::Redacting | JobStatus::Succeeded => self.blocked.push(Blocked {
                    problem: format!(
                        "job {} is {}: state: canceled cannot undo a redaction",
                        info.job.id, info.job.status
                    ),
                    job: Some(info.job.id.clone()),
                    errors: Vec::new(),
                    resolve: vec![
                        "the data is gone; set `state: redacted` or remove the entry".to_string(),
                    ],
                }),
                JobStatus::Canceling | JobStatus::Unknown(_) => {
                    self.wait(info, "Stripe is canceling the job");
                }
                _ => {}
            }
        }
        for o in &self.entry.objects {
            if self.index.redacted_by.contains_key(o) {
                self.redacted.push(o.clone());
            }
        }
    }

    /// `via: identity_redact`: one redact per session.
    fn plan_sessions(&mut self) {
        let owned = self.owned_jobs();
        if !owned.is_empty() {
            self.warnings.push(
                "redaction jobs name sessions of this entry; redactctl does not manage jobs \
                 for identity_redact entries"
                    .to_string(),
            );
        }
        for o in &self.entry.objects {
            if o.kind != ObjectKind::IdentityVerificationSessions {
                self.warnings.push(format!(
                    "{o} is not a verification session; identity_redact ignores it"
                ));
                continue;
            }
            let Some(session) = self.live.sessions.get(&o.id) else {
                self.sessions.push(SessionView {
                    id: o.id.clone(),
                    status: None,
                    redaction: None,
                });
                self.blocked.push(Blocked {
                    problem: format!("no such session: {}", o.id),
                    job: None,
                    errors: Vec::new(),
                    resolve: vec![format!(
                        "check the id {} and the account/mode, or remove it from the entry",
                        o.id
                    )],
                });
                continue;
            };
            let redaction = session.redaction.as_ref().map(|r| r.status.clone());
            self.sessions.push(SessionView {
                id: session.id.clone(),
                status: Some(session.status.clone()),
                redaction: redaction.clone(),
            });
            let precondition = Precondition::Session {
                session: session.id.clone(),
                status: session.status.clone(),
                redaction: redaction.clone(),
            };
            let canceled_state = self.entry.state == DesiredState::Canceled;
            match redaction {
                Some(SessionRedactionStatus::Redacted) => {
                    self.redacted.push(o.clone());
                    if canceled_state {
                        self.cannot_undo(&session.id);
                    }
                }
                Some(r) => {
                    if canceled_state {
                        self.cannot_undo(&session.id);
                        continue;
                    }
                    let id = self.next_id(Op::Wait);
                    let mut a = blank(&id, Some(&self.entry.name), Op::Wait);
                    a.session = Some(session.id.clone());
                    a.objects = vec![o.clone()];
                    a.precondition = Some(precondition);
                    a.reason = format!("Stripe is redacting the session (redaction: {r})");
                    self.push(a);
                }
                None if canceled_state => {}
                None => {
                    let side_effect = match session.status {
                        VerificationSessionStatus::RequiresInput
                        | VerificationSessionStatus::Verified => None,
                        VerificationSessionStatus::RequiresAction => Some(format!(
                            "cancels VerificationSession {} (requires_action)",
                            session.id
                        )),
                        ref s => {
                            self.blocked.push(Blocked {
                                problem: format!(
                                    "session {} is {s}: Stripe redacts only sessions in \
                                     requires_input, requires_action or verified",
                                    session.id
                                ),
                                job: None,
                                errors: Vec::new(),
                                resolve: vec![if *s == VerificationSessionStatus::Processing {
                                    "wait until Stripe finishes processing the session".to_string()
                                } else {
                                    "remove the session from the entry".to_string()
                                }],
                            });
                            continue;
                        }
                    };
                    let id = self.next_id(Op::Redact);
                    let mut a = blank(&id, Some(&self.entry.name), Op::Redact);
                    a.session = Some(session.id.clone());
                    a.objects = vec![o.clone()];
                    a.precondition = Some(precondition);
                    a.side_effects = side_effect.into_iter().collect();
                    a.reason = format!("session is {} and not redacted", session.status);
                    self.push(a);
                }
            }
        }
    }

    fn cannot_undo(&mut self, session: &str) {
        self.blocked.push(Blocked {
            problem: format!("session {session} is redacted: state: canceled cannot undo it"),
            job: None,
            errors: Vec::new(),
            resolve: vec!["the data is gone; remove the entry".to_string()],
        });
    }

    fn finish(self) -> (EntryPlan, Vec<Action>) {
        let mut fixes: Vec<FixPreview> = self
            .actions
            .iter()
            .filter(|a| a.op == Op::Run)
            .flat_map(|a| a.fixes.iter().cloned())
            .chain(self.preview.iter().cloned())
            .collect();
        fixes.sort_by(|a, b| a.description.cmp(&b.description));
        fixes.dedup();
        let outcome = if !self.blocked.is_empty() {
            Outcome::Blocked
        } else if self.actions.iter().any(|a| {
            (a.op != Op::Wait && !a.deferred)
                // Waiting on a prune cancel that has yet to be sent is not Stripe-side work.
                || a.after.iter().any(|d| d.starts_with(PRUNE_PREFIX))
        }) {
            Outcome::Changes
        } else if !self.actions.is_empty() {
            Outcome::Waiting
        } else if !self.scheduled.is_empty() {
            Outcome::Scheduled
        } else {
            Outcome::Converged
        };
        let e = self.entry;
        (
            EntryPlan {
                name: e.name.clone(),
                ticket: e.ticket.clone(),
                state: e.state,
                via: e.via,
                validation_behavior: e.validation_behavior,
                location: e.location.clone(),
                declared: e.objects.len(),
                redacted: self.redacted,
                jobs: self.jobs,
                sessions: self.sessions,
                blocked: self.blocked,
                warnings: self.warnings,
                outcome,
                deadline: None,
                fixes,
                redacted_by: self.redacted_by,
                scheduled: self.scheduled,
            },
            self.actions,
        )
    }
}

/// What resolves a failed validation, once per kind of problem (each error's own hint is
/// in its [`ErrorView`]).
fn resolutions(errors: &[ErrorView], behavior: Behavior) -> Vec<String> {
    let mut out = Vec::new();
    let fixes: Vec<&str> = errors.iter().filter_map(|e| e.fix.as_deref()).collect();
    if !fixes.is_empty() && behavior == Behavior::Error {
        out.push(format!(
            "set `validation_behavior: fix` so that the run applies the fixes ({})",
            fixes.join(", ")
        ));
    }
    if errors
        .iter()
        .any(|e| e.code == ValidationErrorCode::LockedByOtherJob)
    {
        out.push(
            "let the other job that holds the objects finish, or cancel it; redactctl \
             revalidates by itself once the lock is gone"
                .to_string(),
        );
    }
    let manual = errors.iter().any(|e| {
        e.code != ValidationErrorCode::LockedByOtherJob
            && (e.fix.is_none() || behavior == Behavior::Fix)
    });
    if manual || (!fixes.is_empty() && behavior == Behavior::Error) {
        let or = if out.is_empty() { "" } else { "or " };
        out.push(format!(
            "{or}resolve the errors in Stripe, then run `redactctl apply --revalidate`"
        ));
    }
    if errors.is_empty() {
        out.push(
            "no validation errors could be read: look at the job in the Stripe dashboard, \
             then run `redactctl apply --revalidate`"
                .to_string(),
        );
    }
    out
}

/// "Customer cus_1, PaymentIntent pi_2".
fn list(objects: &[&ObjectRef]) -> String {
    objects
        .iter()
        .map(|o| o.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The jobs that held what job `j`'s lock errors name and are now done (succeeded or
/// canceled), for the revalidation a released lock allows.
fn released_holders(
    index: &Index<'_>,
    entries: &[Entry],
    j: usize,
    errors: &[JobValidationError],
) -> Vec<LockHolder> {
    let mut out: Vec<LockHolder> = Vec::new();
    for e in errors {
        let Some(obj) = e.erroring_object.as_ref() else {
            continue;
        };
        for (h, info) in index.jobs.iter().enumerate() {
            if h == j || info.job.status.is_active() || !info.names(&obj.id) {
                continue;
            }
            match out.iter_mut().find(|l| l.job == info.job.id) {
                Some(l) => l.objects.push(obj.id.clone()),
                None => out.push(LockHolder {
                    job: info.job.id.clone(),
                    status: info.job.status.clone(),
                    entry: info.owner().map(|e| entries[e].name.clone()),
                    objects: vec![obj.id.clone()],
                    direct: true,
                }),
            }
        }
    }
    out
}
