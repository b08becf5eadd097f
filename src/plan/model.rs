//! The plan model: what the planner decides, what the views render, what `plan --out`
//! saves and what `apply` executes. One type serves as plan file and JSON view so that the
//! file a reviewer approved and the JSON a script reads can never disagree.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::deadline::Date;
use crate::kinds::ObjectRef;
use crate::manifest::{Behavior, DesiredState, FixKind, Location, Via};
use crate::stripe::models::{
    ErroringObject, JobStatus, Mode, SessionRedactionStatus, ValidationBehavior,
    ValidationErrorCode, VerificationSessionStatus,
};

/// The plan-file format this version writes and reads. Bumped on any incompatible change,
/// so that an old binary refuses a newer plan instead of misreading it. 2: a plan carries
/// the options it was made with and where it observed Stripe.
pub const FORMAT_VERSION: u32 = 2;

pub use crate::domain::MAX_OBJECTS_PER_JOB;

/// What the caller wants planned, beyond the manifests. A plan records them, so that a
/// saved plan is re-planned (while apply converges) exactly as it was made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Options {
    /// Cancel unmanaged jobs in `ready`/`failed` (off when `targets` is non-empty: a
    /// targeted run must not touch anything outside its targets).
    pub prune: bool,
    /// Plan only these entries (by name); empty plans every entry.
    pub targets: Vec<String>,
    /// Revalidate failed jobs even when their errors need a person (the person says they
    /// acted).
    pub revalidate: bool,
    /// Jobs in conflict (they name objects of several entries, or declared objects next to
    /// objects no manifest declares) that the operator explicitly asks to cancel. A conflict
    /// is never canceled otherwise, `--prune` included.
    pub cancel_conflicting: Vec<String>,
    /// Whether the whole manifest set (every root of the project file) was loaded. `--prune`
    /// is refused without it ([`check_planning_options`](super::check_planning_options)):
    /// pruning from a subset would cancel the jobs of the manifests left out.
    pub whole_manifest_set: bool,
    /// `reconcile --revalidate-every` (seconds): revalidate a failed job whose errors need a
    /// person (not a lock, not the risk period) once this long has passed since it was last
    /// validated, so that a fix made by hand in the Dashboard is picked up. `None`: never by
    /// itself (`--revalidate` asks once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revalidate_every: Option<u64>,
}

/// A complete plan: the saved plan file and the JSON view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// Always [`FORMAT_VERSION`] when written by this version.
    pub format_version: u32,
    /// `Desired.digest` of the manifests planned: apply refuses a saved plan whose
    /// manifests have changed since.
    pub desired_digest: String,
    pub mode: Mode,
    /// The account the manifests declare (`account.id`), when they declare one.
    pub account_id: Option<String>,
    /// The connected account acted on, when the manifests name one.
    pub connected_account: Option<String>,
    /// Planned entries, sorted by name.
    pub entries: Vec<EntryPlan>,
    /// Active jobs that no single entry owns (they meet no entry, or several).
    pub unmanaged: Vec<UnmanagedJob>,
    /// Every action, in an order in which each action comes after the ones it depends on.
    pub actions: Vec<Action>,
    pub summary: Summary,
    /// Problems about the whole plan (e.g. a `--target` that names no entry).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The manifest paths the plan was made from, so that `apply PLANFILE` can reload and
    /// compare them (`desired_digest`). The planner leaves it empty; `ops::plan` fills it in.
    #[serde(default)]
    pub manifest_paths: Vec<PathBuf>,
    /// The options the plan was made with (`--target`, `--prune`, `--revalidate`).
    pub options: Options,
    /// Where the plan looked: the API base, the account and mode the key belongs to. The
    /// planner (no I/O) leaves it empty; `ops` fills it in, and `apply PLANFILE` refuses a
    /// plan made elsewhere before sending anything.
    #[serde(default)]
    pub observed: Option<Observed>,
}

/// Where a plan observed Stripe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Observed {
    /// The base URL of the API the plan read.
    pub api_base: String,
    /// The account the key belongs to, as Stripe reported it (`None`: not reported).
    pub account_id: Option<String>,
    /// The key's mode.
    pub mode: Mode,
    /// Whether the API identified itself as redactctl's emulator.
    #[serde(default)]
    pub emulator: bool,
}

impl std::fmt::Display for Observed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.emulator && self.api_base.starts_with("local:") {
            "the embedded emulator"
        } else if self.emulator {
            "an emulator (not Stripe)"
        } else {
            "the API"
        };
        write!(
            f,
            "{kind} at {}, account {}, {} mode",
            self.api_base,
            self.account_id.as_deref().unwrap_or("(not reported)"),
            self.mode
        )
    }
}

/// How many actions of each kind a plan holds (deferred ones included: they were approved
/// with the plan). `Wait` is not counted: it changes nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub validate: usize,
    pub run: usize,
    pub cancel: usize,
    pub redact: usize,
    /// Runs, redacts, every fix a run applies and every adoption of a job created outside
    /// redactctl: what cannot be undone. What `--max-irreversible` counts.
    pub irreversible: usize,
    /// Fixes the plan's runs apply (each also counted in `irreversible`).
    #[serde(default)]
    pub fixes: usize,
    /// Runs and cancels of jobs created outside redactctl (each also counted in
    /// `irreversible`).
    #[serde(default)]
    pub adopt: usize,
}

/// One step.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `POST /v1/privacy/redaction_jobs`.
    Create,
    /// `POST /v1/privacy/redaction_jobs/:job` (validation_behavior).
    Update,
    /// `POST …/validate`.
    Validate,
    /// `POST …/run`: irreversible.
    Run,
    /// `POST …/cancel`.
    Cancel,
    /// `POST /v1/identity/verification_sessions/:id/redact`: irreversible.
    Redact,
    /// Nothing to send: Stripe is working; poll until it moves on.
    Wait,
}

impl Op {
    /// The name used in action ids, plans and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Validate => "validate",
            Op::Run => "run",
            Op::Cancel => "cancel",
            Op::Redact => "redact",
            Op::Wait => "wait",
        }
    }
}

/// What the planner observed about the thing an action touches. A saved plan is stale when
/// the live state no longer matches these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Precondition {
    /// The job as observed.
    Job {
        job: String,
        status: JobStatus,
        /// The effective behaviour (`error` when Stripe shows none).
        validation_behavior: ValidationBehavior,
    },
    /// The verification session as observed.
    Session {
        session: String,
        status: VerificationSessionStatus,
        redaction: Option<SessionRedactionStatus>,
    },
    /// For a create: no active job holds any of the objects and none is redacted, except
    /// jobs this plan cancels first.
    Free {
        objects: Vec<ObjectRef>,
        #[serde(default)]
        except_jobs: Vec<String>,
    },
}

/// One action of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Action {
    /// Unique and stable within a plan, e.g. `dsr-2026-0142/create-1`.
    pub id: String,
    /// The entry the action serves; `None` for pruning an unmanaged job.
    pub entry: Option<String>,
    pub op: Op,
    /// The job touched; `None` for a create, or for a deferred run of a job this plan
    /// creates.
    pub job: Option<String>,
    /// The verification session, for `redact` (and `wait` on a session).
    pub session: Option<String>,
    /// The job's objects: to create, or as observed.
    pub objects: Vec<ObjectRef>,
    /// The behaviour a create or update sets.
    pub validation_behavior: Option<Behavior>,
    pub precondition: Option<Precondition>,
    /// Every run and redact: nothing brings the data back.
    pub irreversible: bool,
    /// Possible only later (a run once the job is `ready`, a cancel once validation ends).
    pub deferred: bool,
    /// Actions that must complete first.
    pub after: Vec<String>,
    /// Part of a `-/+ replace` (cancel a job, create what is still declared).
    pub replace: bool,
    /// What else happens: the fixes a `fix` run applies, a session canceled by its redact.
    pub side_effects: Vec<String>,
    /// One line: why.
    pub reason: String,
    /// Ids that make a legitimate repeat distinct in the idempotency key: the entry's
    /// canceled jobs that named these objects (create), the job's current validation
    /// errors (validate).
    #[serde(default)]
    pub key_context: Vec<String>,
    /// The fixes Stripe applies because of this action: on a `run` in `fix` behaviour,
    /// every fix the run applies (each irreversible); on the `update` that switches a job to
    /// `fix`, the fixes it commits to. Part of what a reviewer approves: a re-plan whose
    /// fixes differ is not approved.
    #[serde(default)]
    pub fixes: Vec<FixPreview>,
    /// For a `wait` on a lock: the jobs holding the objects. For the `validate` once they
    /// are gone: the jobs that held them (the revalidation a released lock allows).
    #[serde(default)]
    pub lock_holders: Vec<LockHolder>,
    /// A `validate` of a job whose every error was `locked_by_other_job`: the one
    /// revalidation a released lock allows. Not irreversible, so an apply that approved
    /// work on the job may do it without a new plan.
    #[serde(default)]
    pub lock_release: bool,
    /// Set on a `run` or `cancel` of a job that redactctl did not create: the plan says it
    /// adopts that job, and the adoption counts as irreversible.
    #[serde(default)]
    pub adopt: Option<Adoption>,
    /// A `validate` of a job whose validation failed on Stripe's 90-day risk period, on or
    /// after the date the period ends: implied by the entry (the wait was the only thing
    /// left), not irreversible, so apply and reconcile send it without a new plan.
    #[serde(default)]
    pub scheduled: bool,
}

/// One fix that a `fix` run applies, from Stripe's fix table (STRIPE_API.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FixPreview {
    /// The kind of fix, when the erroring object's type is one the table names; `None`
    /// otherwise (the description then says "Stripe's fix for <type>", never a guess).
    pub kind: Option<FixKind>,
    /// The erroring object.
    pub object: ErroringObject,
    /// "cancel PaymentIntent pi_123", or "Stripe's fix for charge ch_1".
    pub description: String,
    /// The manifest's `allowed_fixes` names this kind: the reviewed manifest approved it.
    #[serde(default)]
    pub preapproved: bool,
}

/// An active job that holds objects a failed job needs (`locked_by_other_job`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LockHolder {
    pub job: String,
    pub status: JobStatus,
    /// The entry that owns the holder; `None`: unmanaged.
    pub entry: Option<String>,
    /// The erroring objects it holds (ids).
    pub objects: Vec<String>,
    /// `true`: the holder names the object as a root. `false`: no job names it, so any
    /// other active job may hold it through a related object.
    pub direct: bool,
}

impl LockHolder {
    /// "prj_1 (entry dsr-1, status ready)" or "prj_1 (unmanaged, status ready)".
    pub fn describe(&self) -> String {
        let whose = match &self.entry {
            Some(e) => format!("entry {e}"),
            None => "unmanaged".to_string(),
        };
        format!("{} ({whose}, status {})", self.job, self.status)
    }
}

/// A job redactctl did not create (no audit record of its create), acted on by this plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Adoption {
    pub job: String,
    /// The job's `created` (unix seconds).
    pub created: i64,
}

impl Adoption {
    /// "adopt prj_1 (created outside redactctl at 2026-01-01T00:00:00Z)".
    pub fn describe(&self) -> String {
        format!(
            "adopt {} (created outside redactctl at {})",
            self.job,
            rfc3339(self.created)
        )
    }
}

/// Unix seconds as RFC 3339 (UTC); the raw number when out of range.
pub fn rfc3339(t: i64) -> String {
    u64::try_from(t)
        .ok()
        .map(|s| {
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(s),
            )
            .to_string()
        })
        .unwrap_or_else(|| t.to_string())
}

impl Action {
    /// How many irreversible effects this action has: the action itself (run, redact),
    /// each fix it applies, and the adoption of an outside job. Derived from what the
    /// action does, so that `--max-irreversible` counts every one.
    pub fn irreversible_effects(&self) -> usize {
        let own = usize::from(matches!(self.op, Op::Run | Op::Redact));
        let fixes = if self.op == Op::Run {
            self.fixes.len()
        } else {
            0
        };
        own + fixes + usize::from(self.adopt.is_some())
    }
}

/// What a reviewer approves: an action without the job ids Stripe assigns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Signature {
    pub entry: Option<String>,
    pub op: Op,
    /// Sorted objects (empty for a session action).
    pub objects: Vec<ObjectRef>,
    pub session: Option<String>,
}

/// Where an entry stands after this plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Stripe matches the manifest.
    Converged,
    /// There are actions to do.
    Changes,
    /// Only Stripe-side work is left (validation, redaction, cancellation under way).
    Waiting,
    /// A person must act.
    Blocked,
    /// Nothing can happen before a date: a job failed validation on Stripe's 90-day risk
    /// period, and redactctl revalidates it by itself once the period ends.
    Scheduled,
}

impl Outcome {
    /// The name in the plan's JSON (and plan file).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Converged => "converged",
            Outcome::Changes => "changes",
            Outcome::Waiting => "waiting",
            Outcome::Blocked => "blocked",
            Outcome::Scheduled => "scheduled",
        }
    }

    /// The word people read for this state, the same in `status`, `report` and the plan's
    /// human and Markdown views (the table in `docs/architecture.md`).
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Converged => "converged",
            Outcome::Changes => "pending",
            Outcome::Waiting => "in progress",
            Outcome::Blocked => "blocked",
            Outcome::Scheduled => "scheduled",
        }
    }
}

/// A manifest location in the schema (the shared type has no JsonSchema derive).
#[derive(JsonSchema)]
#[allow(dead_code)]
struct LocationSchema {
    file: PathBuf,
    line: usize,
    column: usize,
}

/// One entry of the manifests, planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EntryPlan {
    pub name: String,
    pub ticket: Option<String>,
    pub state: DesiredState,
    pub via: Via,
    pub validation_behavior: Behavior,
    #[schemars(with = "LocationSchema")]
    pub location: Location,
    /// How many objects the entry declares.
    pub declared: usize,
    /// Declared objects already redacted (by any succeeded job, or redacted sessions).
    pub redacted: Vec<ObjectRef>,
    /// The entry's jobs (canceled ones omitted), by creation.
    pub jobs: Vec<JobView>,
    pub sessions: Vec<SessionView>,
    pub blocked: Vec<Blocked>,
    pub warnings: Vec<String>,
    pub outcome: Outcome,
    /// The request's due date and days left, when the entry declares a deadline (filled
    /// in by `annotate_deadlines`, as of the day the plan was made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<super::deadlines::DeadlineView>,
    /// Every fix the entry's planned runs apply (irreversible), as the plan lists them.
    #[serde(default)]
    pub fixes: Vec<FixPreview>,
    /// Declared objects another job redacted (a lock holder that reached them).
    #[serde(default)]
    pub redacted_by: Vec<RedactedBy>,
    /// Jobs waiting for Stripe's 90-day risk period to end, with the date it does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scheduled: Vec<ScheduledJob>,
}

impl EntryPlan {
    /// The day the entry's last scheduled job becomes eligible, when one is scheduled.
    pub fn eligible_on(&self) -> Option<Date> {
        self.scheduled.iter().map(|s| s.eligible_on).max()
    }

    /// Where the entry stands, in words: its [`Outcome::label`], with the date for a
    /// scheduled entry ("scheduled: eligible on 2027-01-12").
    pub fn state_text(&self) -> String {
        match (self.outcome, self.eligible_on()) {
            (Outcome::Scheduled, Some(d)) => format!("scheduled: eligible on {d}"),
            (o, _) => o.label().to_string(),
        }
    }

    /// "due 2026-12-20, eligible 2027-01-12" when the entry becomes eligible only after
    /// its due date (the delay the team must document), else `None`.
    pub fn eligible_after_due(&self) -> Option<String> {
        let eligible = self.eligible_on()?;
        let due = self.deadline.as_ref()?.due;
        (eligible > due).then(|| format!("due {due}, eligible {eligible}"))
    }
}

/// A job that failed validation on Stripe's 90-day risk period: transactions are
/// redactable only 90 days after they were created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScheduledJob {
    pub job: String,
    /// The (UTC) day the last of its transactions turns 90 days old.
    pub eligible_on: Date,
    /// The moment it does (unix seconds): from then on redactctl revalidates the job.
    pub eligible_at: i64,
    /// The transactions in the risk period.
    pub objects: Vec<ErroringObject>,
}

/// Declared objects redacted by a job that is not the entry's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RedactedBy {
    pub job: String,
    /// The entry that owns that job; `None`: unmanaged.
    pub entry: Option<String>,
    pub objects: Vec<ObjectRef>,
}

/// A live job as the plan shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobView {
    pub id: String,
    pub created: i64,
    pub status: JobStatus,
    pub objects: Vec<ObjectRef>,
    pub validation_behavior: ValidationBehavior,
    pub errors: Vec<ErrorView>,
    /// Who created the job, as the audit log tells.
    #[serde(default)]
    pub provenance: Provenance,
}

/// Who created a job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    /// The audit log records its create.
    Redactctl,
    /// The audit log was read and holds no create of this job (Dashboard, a script).
    Outside,
    /// No audit log was available.
    #[default]
    Unknown,
}

/// A validation error with what would resolve it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorView {
    pub id: String,
    pub code: ValidationErrorCode,
    pub erroring_object: Option<ErroringObject>,
    pub message: String,
    /// What a person can do about it.
    pub hint: String,
    /// What a `fix` run would do about it, when the fix table covers it.
    pub fix: Option<String>,
}

/// A verification session as the plan shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SessionView {
    pub id: String,
    /// `None`: no such session.
    pub status: Option<VerificationSessionStatus>,
    pub redaction: Option<SessionRedactionStatus>,
}

/// Something only a person can resolve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Blocked {
    pub problem: String,
    pub job: Option<String>,
    pub errors: Vec<ErrorView>,
    /// What resolves it.
    pub resolve: Vec<String>,
}

/// An active job that no single entry owns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UnmanagedJob {
    pub id: String,
    pub status: JobStatus,
    pub objects: Vec<ObjectRef>,
    /// The entries whose objects it names (none, or several).
    pub entries: Vec<String>,
    /// Whether this plan cancels it (`--prune`, `ready`/`failed` only).
    pub pruned: bool,
}

impl Plan {
    /// Whether applying this plan would send anything (waits do not count). What
    /// `plan --detailed-exitcode` reports as 2.
    pub fn has_changes(&self) -> bool {
        self.actions.iter().any(|a| a.op != Op::Wait)
    }

    /// Whether any entry needs a person (`apply` exits 3).
    pub fn is_blocked(&self) -> bool {
        self.entries.iter().any(|e| e.outcome == Outcome::Blocked)
    }

    /// Every irreversible effect of the plan (runs, redacts, fixes, adoptions): what
    /// `--max-irreversible` must be compared with.
    pub fn irreversible_count(&self) -> usize {
        self.actions.iter().map(Action::irreversible_effects).sum()
    }

    /// The action with this id.
    pub fn action(&self, id: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.id == id)
    }
}

impl Action {
    /// Whether this action destroys something for good: every run and redact. Derived
    /// from the op (and, for a prune, nothing else): a plan file's `irreversible` field is
    /// never trusted.
    pub fn is_irreversible(&self) -> bool {
        self.irreversible || matches!(self.op, Op::Run | Op::Redact)
    }

    /// Whether this action cancels an unmanaged job (`--prune`): recognised by its missing
    /// entry, not by its id.
    pub fn is_prune(&self) -> bool {
        self.entry.is_none() && self.op == Op::Cancel
    }
}

impl Summary {
    /// Counts the actions of a plan.
    pub fn of(actions: &[Action]) -> Summary {
        let mut s = Summary::default();
        for a in actions {
            match a.op {
                Op::Create => s.create += 1,
                Op::Update => s.update += 1,
                Op::Validate => s.validate += 1,
                Op::Run => s.run += 1,
                Op::Cancel => s.cancel += 1,
                Op::Redact => s.redact += 1,
                Op::Wait => {}
            }
            s.irreversible += a.irreversible_effects();
            if a.op == Op::Run {
                s.fixes += a.fixes.len();
            }
            if a.adopt.is_some() {
                s.adopt += 1;
            }
        }
        s
    }
}
