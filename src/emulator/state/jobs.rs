//! The job state machine: statuses, the actions a client can take on a job and which
//! statuses allow them, and the time-driven transitions (validation, redaction,
//! canceling) computed from the timestamp at which each phase began.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::super::graph::SessionRedaction;
use super::super::kinds::Kind;
use super::{Event, EventKind, Namespace, NsKey, World};

/// At most this many root objects per job.
pub const MAX_ROOTS: usize = 10;

/// How long each time-driven phase lasts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delays {
    /// `validating` → `ready`/`failed`.
    pub validation: Duration,
    /// `redacting` → `succeeded`.
    pub redaction: Duration,
    /// `canceling` → `canceled`.
    pub cancel: Duration,
    /// A session's `processing` → `redacted`.
    pub session_redaction: Duration,
}

pub(super) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A redaction job's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Only from fixtures; validates like `validating`.
    Created,
    /// Checking the objects.
    Validating,
    /// May run or be canceled.
    Ready,
    /// Validation found problems.
    Failed,
    /// Running; irreversible.
    Redacting,
    /// Done; its objects are redacted.
    Succeeded,
    /// Being canceled; still holds its objects.
    Canceling,
    /// Canceled; holds nothing.
    Canceled,
}

impl Status {
    /// Every status, for parsing and error messages.
    pub const ALL: [Status; 8] = [
        Status::Created,
        Status::Validating,
        Status::Ready,
        Status::Failed,
        Status::Redacting,
        Status::Succeeded,
        Status::Canceling,
        Status::Canceled,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Validating => "validating",
            Status::Ready => "ready",
            Status::Failed => "failed",
            Status::Redacting => "redacting",
            Status::Succeeded => "succeeded",
            Status::Canceling => "canceling",
            Status::Canceled => "canceled",
        }
    }

    /// Holds its objects: every status but `succeeded` and `canceled`.
    pub fn is_active(self) -> bool {
        !matches!(self, Status::Succeeded | Status::Canceled)
    }

    /// A phase that ends by itself after a delay.
    pub(super) fn is_transient(self) -> bool {
        matches!(
            self,
            Status::Created | Status::Validating | Status::Redacting | Status::Canceling
        )
    }
}

impl FromStr for Status {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Status::ALL.into_iter().find(|x| x.as_str() == s).ok_or(())
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `validation_behavior`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Behavior {
    #[default]
    /// Every problem fails the job.
    Error,
    /// Fixable problems are fixed at run.
    Fix,
}

impl Behavior {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Behavior::Error => "error",
            Behavior::Fix => "fix",
        }
    }
}

impl FromStr for Behavior {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "error" => Ok(Behavior::Error),
            "fix" => Ok(Behavior::Fix),
            _ => Err(()),
        }
    }
}

/// A `privacy.redaction_job_validation_error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationError {
    /// `prjve_…`.
    pub id: String,
    /// `invalid_state`, `locked_by_other_job`…
    pub code: String,
    /// The erroring object's id.
    pub object_id: Option<String>,
    /// The erroring object's type.
    pub object_type: Option<String>,
    /// What is wrong.
    pub message: String,
    /// The state `fix` moves the object to at run (`None`: not fixable).
    #[serde(default)]
    pub fix_state: Option<String>,
}

/// A redaction job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// `prj_…`.
    pub id: String,
    /// Creation order: ties on `created` are broken by it (newest first = highest).
    pub seq: u64,
    /// Unix seconds.
    pub created: i64,
    /// Live mode.
    pub livemode: bool,
    /// Root objects by kind, each list sorted.
    pub objects: BTreeMap<Kind, Vec<String>>,
    /// `validation_behavior`.
    pub behavior: Behavior,
    /// Current status (as of the last advance).
    pub status: Status,
    /// When the current status began (unix ms): time-driven phases end `delay` after it.
    pub since_ms: i64,
    /// Errors of the validation in progress, revealed when it ends.
    #[serde(default)]
    pub pending: Vec<ValidationError>,
    /// Errors of the current (last finished) validation attempt.
    #[serde(default)]
    pub errors: Vec<ValidationError>,
    /// Every object the job reaches (roots and their related objects): what it locks.
    #[serde(default)]
    pub reached: Vec<String>,
    /// Whether it holds `reached` while active. A job whose validation found an object
    /// held by an earlier active job holds nothing: only the earlier job holds.
    #[serde(default = "yes")]
    pub holds: bool,
    /// The fixable problems a `fix` validation passed over: applied when the job runs
    /// under `fix`. A `ready` job lists no validation errors; these are not errors.
    #[serde(default)]
    pub fixes: Vec<ValidationError>,
}

fn yes() -> bool {
    true
}

impl Job {
    pub(super) fn key(&self) -> (i64, u64) {
        (self.created, self.seq)
    }

    /// Root ids, sorted by kind then id.
    pub fn roots(&self) -> Vec<String> {
        self.objects.values().flatten().cloned().collect()
    }
}

/// An action's refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("No such {kind}: '{id}'")]
    /// No job with this id in the namespace.
    NotFound {
        /// Stripe's object name (`privacy.redaction_job`).
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    #[error("This redaction job cannot be {action} because its status is `{status}`; only jobs with status {} can be {action}.", list_statuses(allowed))]
    /// The action is not allowed in the job's status.
    WrongStatus {
        /// The action, as a past participle (`run`, `canceled`).
        action: &'static str,
        /// The job's status.
        status: Status,
        /// The statuses that allow it.
        allowed: &'static [Status],
    },
    #[error("A redaction job can name at most {MAX_ROOTS} objects; {0} were given.")]
    /// More than 10 roots.
    TooManyObjects(usize),
    #[error("A redaction job must name at least one object.")]
    /// No root at all.
    NoObjects,
    #[error("No such {}: '{id}'", kind.object_type())]
    /// A root object that does not exist.
    NoSuchObject {
        /// Its kind.
        kind: Kind,
        /// Its position in `objects[kind]`.
        index: usize,
        /// The id given.
        id: String,
    },
    #[error("This VerificationSession cannot be redacted because its status is `{0}`; only sessions with status `requires_input`, `verified` or `requires_action` can be redacted.")]
    /// The session's status does not allow redaction.
    SessionWrongStatus(String),
}

fn list_statuses(s: &[Status]) -> String {
    s.iter()
        .map(|x| format!("`{x}`"))
        .collect::<Vec<_>>()
        .join(" or ")
}

impl World {
    /// `POST /v1/privacy/redaction_jobs`: a new job, validating from now on.
    pub fn create_job(
        &mut self,
        key: &NsKey,
        objects: BTreeMap<Kind, Vec<String>>,
        behavior: Behavior,
        now_ms: i64,
        delays: &Delays,
    ) -> Result<Job, StateError> {
        for (kind, ids) in &objects {
            for (index, id) in ids.iter().enumerate() {
                if !self.object_exists(key, id) {
                    return Err(StateError::NoSuchObject {
                        kind: *kind,
                        index,
                        id: id.clone(),
                    });
                }
            }
        }
        self.seed_job(key, objects, behavior, Status::Validating, now_ms, delays)
    }

    /// Adds a job in any status (fixtures, benchmarks). A `validating` or `created` job
    /// validates now; `ready`/`failed` jobs get the errors a validation now would find.
    pub fn seed_job(
        &mut self,
        key: &NsKey,
        mut objects: BTreeMap<Kind, Vec<String>>,
        behavior: Behavior,
        status: Status,
        now_ms: i64,
        delays: &Delays,
    ) -> Result<Job, StateError> {
        self.advance(key, now_ms, delays);
        objects.retain(|_, ids| {
            ids.sort();
            ids.dedup();
            !ids.is_empty()
        });
        let n: usize = objects.values().map(Vec::len).sum();
        if n == 0 {
            return Err(StateError::NoObjects);
        }
        if n > MAX_ROOTS {
            return Err(StateError::TooManyObjects(n));
        }
        let (id, seq) = self.mint("prj_");
        let roots: Vec<String> = objects.values().flatten().cloned().collect();
        let found = self.validate_roots(key, &id, &roots, now_ms);
        let (reached, holds, errors) = (found.reached, found.holds, found.errors);
        let (pending, errors, fixes) = match status {
            Status::Created | Status::Validating => (errors, Vec::new(), Vec::new()),
            Status::Failed => (Vec::new(), errors, Vec::new()),
            Status::Ready => (Vec::new(), Vec::new(), errors),
            _ => (Vec::new(), Vec::new(), Vec::new()),
        };
        let job = Job {
            id: id.clone(),
            seq,
            created: now_ms.div_euclid(1000),
            livemode: key.livemode,
            objects,
            behavior,
            status,
            since_ms: now_ms,
            pending,
            errors,
            reached,
            holds,
            fixes,
        };
        let ns = self.ns_mut(key);
        if status == Status::Succeeded {
            for o in &job.reached {
                ns.object_mut(o).redacted = true;
            }
        }
        ns.insert_job(job.clone());
        if status == Status::Validating {
            self.events.push(Event {
                kind: EventKind::JobCreated,
                ns: key.clone(),
                subject: id,
                at_ms: now_ms,
            });
        }
        Ok(job)
    }

    /// Retrieves a job as of `now_ms`.
    pub fn job(
        &mut self,
        key: &NsKey,
        id: &str,
        now_ms: i64,
        delays: &Delays,
    ) -> Result<Job, StateError> {
        self.advance(key, now_ms, delays);
        self.ns_mut(key).job_mut(id).map(|j| j.clone())
    }

    /// `POST …/:id` with `validation_behavior`: configuration only, never revalidates.
    pub fn update_job(
        &mut self,
        key: &NsKey,
        id: &str,
        behavior: Option<Behavior>,
        now_ms: i64,
        delays: &Delays,
    ) -> Result<Job, StateError> {
        const ALLOWED: &[Status] = &[
            Status::Created,
            Status::Validating,
            Status::Ready,
            Status::Failed,
        ];
        self.advance(key, now_ms, delays);
        let job = self.ns_mut(key).job_mut(id)?;
        if let Some(b) = behavior {
            if !ALLOWED.contains(&job.status) {
                return Err(StateError::WrongStatus {
                    action: "updated",
                    status: job.status,
                    allowed: ALLOWED,
                });
            }
            job.behavior = b;
        }
        Ok(job.clone())
    }

    /// `POST …/:id/validate`: `failed` → `validating`, a new attempt with new error ids.
    pub fn validate_job(
        &mut self,
        key: &NsKey,
        id: &str,
        now_ms: i64,
        delays: &Delays,
    ) -> Result<Job, StateError> {
        const ALLOWED: &[Status] = &[Status::Failed];
        self.advance(key, now_ms, delays);
        let job = self.ns_mut(key).job_mut(id)?;
        if !ALLOWED.contains(&job.status) {
            return Err(StateError::WrongStatus {
                action: "validated",
                status: job.status,
                allowed: ALLOWED,
            });
        }
        let roots = job.roots();
        let old_reached = std::mem::take(&mut job.reached);
        let ns = self.ns_mut(key);
        ns.release(id, &old_reached);
        let found = self.validate_roots(key, id, &roots, now_ms);
        let ns = self.ns_mut(key);
        if found.holds {
            ns.hold(id, &found.reached);
        }
        let job = ns.job_mut(id)?;
        job.reached = found.reached;
        job.holds = found.holds;
        job.pending = found.errors;
        job.errors = Vec::new();
        job.fixes = Vec::new();
        job.status = Status::Validating;
        job.since_ms = now_ms;
        let out = job.clone();
        ns.transient.insert(out.key());
        ns.moved(out.key(), Status::Failed, out.status);
        Ok(out)
    }

    /// `POST …/:id/run`: `ready` → `redacting`; with `fix`, applies the fixes now.
    pub fn run_job(
        &mut self,
        key: &NsKey,
        id: &str,
        now_ms: i64,
        delays: &Delays,
    ) -> Result<Job, StateError> {
        const ALLOWED: &[Status] = &[Status::Ready];
        self.advance(key, now_ms, delays);
        let ns = self.ns_mut(key);
        let job = ns.job_mut(id)?;
        if !ALLOWED.contains(&job.status) {
            return Err(StateError::WrongStatus {
                action: "run",
                status: job.status,
                allowed: ALLOWED,
            });
        }
        // An update changes the configuration only: a job that passed validation under
        // `fix` and was switched back to `error` still runs, without the fixes (Stripe:
        // "if the job's validation_behavior is set to fix, the automatic fixes will be
        // applied to objects at this step").
        job.status = Status::Redacting;
        job.since_ms = now_ms;
        let fixes: Vec<(String, String)> = if job.behavior == Behavior::Fix {
            job.fixes
                .iter()
                .filter_map(|e| Some((e.object_id.clone()?, e.fix_state.clone()?)))
                .collect()
        } else {
            Vec::new()
        };
        let out = job.clone();
        ns.transient.insert(out.key());
        ns.moved(out.key(), Status::Ready, out.status);
        for (object, state) in fixes {
            ns.object_mut(&object).state = Some(state);
        }
        Ok(out)
    }

    /// `POST …/:id/cancel`: `ready`/`failed` → `canceling` (→ `canceled`, releasing locks).
    pub fn cancel_job(
        &mut self,
        key: &NsKey,
        id: &str,
        now_ms: i64,
        delays: &Delays,
    ) -> Result<Job, StateError> {
        const ALLOWED: &[Status] = &[Status::Ready, Status::Failed];
        self.advance(key, now_ms, delays);
        let ns = self.ns_mut(key);
        let job = ns.job_mut(id)?;
        if !ALLOWED.contains(&job.status) {
            return Err(StateError::WrongStatus {
                action: "canceled",
                status: job.status,
                allowed: ALLOWED,
            });
        }
        let from = job.status;
        job.status = Status::Canceling;
        job.since_ms = now_ms;
        let out = job.clone();
        ns.transient.insert(out.key());
        ns.moved(out.key(), from, out.status);
        Ok(out)
    }
}

impl Namespace {
    /// Moves every time-driven phase that has ended by `now_ms` to its next status.
    pub(super) fn advance(
        &mut self,
        ns: &NsKey,
        now_ms: i64,
        delays: &Delays,
        events: &mut Vec<Event>,
    ) {
        // Jobs, in the order their phases end.
        let mut due: Vec<(i64, (i64, u64))> = Vec::new();
        for key in &self.transient {
            if let Some(job) = self.jobs.get(key) {
                let delay = match job.status {
                    Status::Created | Status::Validating => delays.validation,
                    Status::Redacting => delays.redaction,
                    Status::Canceling => delays.cancel,
                    _ => Duration::ZERO,
                };
                let end = job.since_ms.saturating_add(ms(delay));
                if end <= now_ms {
                    due.push((end, *key));
                }
            }
        }
        due.sort();
        for (end, key) in due {
            self.transient.remove(&key);
            let Some(job) = self.jobs.get_mut(&key) else {
                continue;
            };
            job.since_ms = end;
            let id = job.id.clone();
            let from = job.status;
            let event = match job.status {
                Status::Created | Status::Validating => {
                    job.errors = std::mem::take(&mut job.pending);
                    let blocking = job
                        .errors
                        .iter()
                        .any(|e| job.behavior == Behavior::Error || e.fix_state.is_none());
                    if blocking {
                        job.status = Status::Failed;
                        EventKind::JobValidationError
                    } else {
                        job.fixes = std::mem::take(&mut job.errors);
                        job.status = Status::Ready;
                        EventKind::JobReady
                    }
                }
                Status::Redacting => {
                    job.status = Status::Succeeded;
                    let reached = job.reached.clone();
                    for o in &reached {
                        let rec = self.object_mut(o);
                        rec.redacted = true;
                        if rec.object_type == "identity.verification_session" {
                            rec.redaction = Some(SessionRedaction {
                                status: "redacted".into(),
                                since_ms: end,
                            });
                        }
                    }
                    self.release(&id, &reached);
                    EventKind::JobSucceeded
                }
                Status::Canceling => {
                    job.status = Status::Canceled;
                    let reached = job.reached.clone();
                    self.release(&id, &reached);
                    EventKind::JobCanceled
                }
                _ => continue,
            };
            if let Some(to) = self.jobs.get(&key).map(|j| j.status) {
                self.moved(key, from, to);
            }
            events.push(Event {
                kind: event,
                ns: ns.clone(),
                subject: id,
                at_ms: end,
            });
        }
        // Sessions.
        let delay = ms(delays.session_redaction);
        let done: Vec<(String, i64)> = self
            .sessions_processing
            .iter()
            .filter_map(|id| {
                let r = self.objects.get(id)?.redaction.as_ref()?;
                let end = r.since_ms.saturating_add(delay);
                (end <= now_ms).then(|| (id.clone(), end))
            })
            .collect();
        for (id, end) in done {
            self.sessions_processing.remove(&id);
            let rec = self.object_mut(&id);
            rec.redaction = Some(SessionRedaction {
                status: "redacted".into(),
                since_ms: end,
            });
            rec.redacted = true;
            events.push(Event {
                kind: EventKind::SessionRedacted,
                ns: ns.clone(),
                subject: id,
                at_ms: end,
            });
        }
    }
}
