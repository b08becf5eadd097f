//! The convergence loop: performs the approved plan's actions (in dependency order,
//! concurrently up to `--parallelism`) while re-observing Stripe, so that follow-ups the
//! plan approved — a run once its job is ready — start as soon as they become possible
//! instead of after every create has finished. Nothing is decided here: each observation
//! goes through the planner, and only actions whose signature the operator approved are
//! performed.
//!
//! Observation costs what changed (see [`crate::observe::watch`]): the loop starts from the
//! observation the plan was made from and re-reads only the jobs that can have moved — a
//! page per 100 of them, or a retrieve each when fewer — every 2 s while runs are queued
//! (they set the pace then; reads only feed them), every second while only creates are,
//! and every 250 ms when nothing else waits. A full observation is made only before apply stops on anything but every entry
//! converged (an entry whose job succeeded cannot change again); the terminal-job cache is
//! written once, when the run ends.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};

use super::audit::AuditLog;
use super::execute::{perform, ActionResult, Target};
use super::interrupt;
use super::looks::{Phases, ReadBudget};
use super::progress::Reporter;
use super::provenance_log::ProvenanceIndex;
use super::{summary, ApplyError, ApplyOptions, ApplyReport, Ending};
use crate::manifest::Desired;
use crate::observe::watch::{self, Delta, RoundPlan, Watch, WriteOutcome};
use crate::observe::{observe_with_account, remember, Live};
use crate::plan::{self, Action, Op, Outcome, Plan};
use crate::stripe::client::Client;
use crate::stripe::models::JobStatus;
use crate::stripe::StripeError;

/// How often Stripe is re-read while actions are being performed.
const ACTIVE_OBSERVE: Duration = Duration::from_secs(1);
/// How often the jobs that can move are re-read while runs wait for a slot: the writes
/// set the pace then, and a run found a little later still goes in time.
const BUSY_OBSERVE: Duration = Duration::from_secs(2);
/// Writes done since the last look after which the next look is due at once (when few
/// runs wait), when every request takes a slot from another (test mode's 25 requests/s
/// per key): keeps reads near 1 per 30 writes (3 %) while finding ready jobs as fast as
/// the writes go.
const WRITES_PER_LOOK: usize = 30;
/// When endpoints go in parallel (live mode), the shortest time between two looks made
/// because few runs are queued while jobs validate. An idle run endpoint is time lost for
/// good (runs go no faster than creates), so these looks come as often as the reads
/// budget allows ([`ReadBudget`]: a look per 26 writes, every 0.51 s when creates and runs
/// both go at 25/s). The run found last waited for a whole gap, and every run after it is
/// as late (they go no faster than the creates): even gaps waste less than a few short
/// ones and a long one, so this is close to the budget's own pace.
const MIN_LOOK: Duration = Duration::from_millis(450);
/// Runs still queued at which the next look for ready jobs is due (live mode): about
/// 200 ms of runs at 25/s, more than a look takes.
const LOW_WATER: usize = 5;
/// How often redacting and canceling jobs are looked at while writes are going on in test
/// pacing (they are waited for, not acted on); when none are, at every look.
const SLOW_EVERY: Duration = Duration::from_secs(5);
/// Follow-ups queued beyond which reads slow down to [`BUSY_OBSERVE`]: a second's worth
/// at Stripe's 25 requests/s per endpoint.
const RUNS_QUEUED: usize = 25;
/// How soon the jobs that can move are re-read when no write waits (the last jobs'
/// validation and redaction): apply's end is their end plus this at most.
const TAIL_OBSERVE: Duration = Duration::from_millis(250);
/// How soon to look again when a look made when the last redaction should have been over
/// found it still going (the phase learnt was a little short).
const DUE_RETRY: Duration = Duration::from_millis(50);
/// The longest pause between two polls while only Stripe-side work is left.
const MAX_POLL: Duration = Duration::from_secs(30);
/// Observations that find work, without `--wait`, before apply stops anyway (a guard
/// against a job that keeps failing validation).
const ROUNDS_WITHOUT_WAIT: usize = 10;
/// An action that failed this many times is not tried again in this run.
const MAX_FAILURES: usize = 2;
/// The same write, done this many times without a change in what Stripe shows (a replayed
/// answer, a job that does not move), is not sent again in this run: it is reported as
/// stopped instead of looping until `--wait` runs out.
const MAX_REPEATS: usize = 3;

/// What Stripe shows of the job or session `action` writes to: status, behaviour and the
/// validation errors (code and erroring object; their ids change with every validation).
/// The same write chosen again on the same fingerprint changed nothing. Empty for a create.
fn fingerprint(live: &Live, action: &Action) -> String {
    if let Some(job) = action.job.as_deref().and_then(|id| live.job(id)) {
        let mut errors: Vec<String> = live
            .validation_errors
            .get(&job.id)
            .into_iter()
            .flatten()
            .map(|e| {
                format!(
                    "{:?}:{}",
                    e.code,
                    e.erroring_object.as_ref().map_or("", |o| o.id.as_str())
                )
            })
            .collect();
        errors.sort();
        return format!(
            "{:?}|{:?}|{}",
            job.status,
            job.validation_behavior,
            errors.join(",")
        );
    }
    if let Some(session) = action
        .session
        .as_deref()
        .and_then(|id| live.sessions.get(id))
    {
        return format!("{:?}", session.status);
    }
    String::new()
}

/// An action's identity across observations: what it does to what, not its plan id.
fn attempt_key(action: &Action) -> String {
    let objects: Vec<&str> = action.objects.iter().map(|o| o.id.as_str()).collect();
    format!(
        "{}|{:?}|{}|{}|{}",
        action.entry.as_deref().unwrap_or(""),
        action.op,
        action.job.as_deref().unwrap_or(""),
        action.session.as_deref().unwrap_or(""),
        objects.join(",")
    )
}

/// Bookkeeping of what was started, finished and failed.
struct Book<'a> {
    approved: &'a Plan,
    /// Actions of the approved plan still waiting for their dependencies.
    first: Vec<Action>,
    /// Actions on jobs that already exist (a run once its job is ready, a validate…).
    /// They and the creates share the slots evenly (see [`Book::start`]): with one queue,
    /// a plan of 1,000 creates held every run back until the last create was sent, and a
    /// batch of runs found by an observation held the creates back in turn — the creates'
    /// and the runs' per-endpoint budgets were spent one after the other, not together.
    follow_ups: VecDeque<Action>,
    /// Creates, in plan order.
    queue: VecDeque<Action>,
    /// How many of `in_flight` are creates.
    creates_in_flight: usize,
    in_flight: HashSet<String>,
    queued: HashSet<String>,
    completed_at: HashMap<String, Instant>,
    /// When an action last failed: an observation begun before that cannot show what the
    /// failed request may have done (a 500 after the write), and the retry would use a
    /// fresh idempotency key.
    failed_at: HashMap<String, Instant>,
    failures: HashMap<String, usize>,
    /// Results by the approved plan's action ids (for dependencies).
    results: BTreeMap<String, ActionResult>,
    performed: Vec<(Action, ActionResult)>,
    /// Per action identity: the fingerprint of its last completed send, and how many
    /// completed sends in a row had that fingerprint.
    repeats: HashMap<String, (String, usize)>,
    /// The fingerprint each queued action was offered on (absent: from the approved plan).
    offered_on: HashMap<String, String>,
    /// Writes stopped by [`MAX_REPEATS`] (keys, and one line each for the report).
    stopped_keys: HashSet<String>,
    stopped: Vec<String>,
}

impl<'a> Book<'a> {
    fn new(approved: &'a Plan) -> Self {
        let first = approved
            .actions
            .iter()
            .filter(|a| !a.deferred && a.op != Op::Wait)
            .cloned()
            .collect();
        Book {
            approved,
            first,
            follow_ups: VecDeque::new(),
            queue: VecDeque::new(),
            creates_in_flight: 0,
            in_flight: HashSet::new(),
            queued: HashSet::new(),
            completed_at: HashMap::new(),
            failed_at: HashMap::new(),
            failures: HashMap::new(),
            results: BTreeMap::new(),
            performed: Vec::new(),
            repeats: HashMap::new(),
            offered_on: HashMap::new(),
            stopped_keys: HashSet::new(),
            stopped: Vec::new(),
        }
    }

    /// Moves approved actions whose dependencies are done into the queue; drops those
    /// whose dependencies failed or only become possible later (a re-plan brings them
    /// back when they are).
    fn promote(&mut self) {
        let approved = self.approved;
        let mut keep = Vec::new();
        for action in std::mem::take(&mut self.first) {
            let mut ready = true;
            let mut dropped = false;
            for dep in &action.after {
                let Some(dep_action) = approved.actions.iter().find(|a| &a.id == dep) else {
                    continue;
                };
                if dep_action.op == Op::Wait || dep_action.deferred {
                    dropped = true;
                    break;
                }
                match self.results.get(dep) {
                    Some(ActionResult::Done { .. }) => {}
                    Some(_) => {
                        dropped = true;
                        break;
                    }
                    None => ready = false,
                }
            }
            if dropped {
                continue;
            }
            if ready {
                self.enqueue(action);
            } else {
                keep.push(action);
            }
        }
        self.first = keep;
    }

    fn enqueue(&mut self, action: Action) -> bool {
        let key = attempt_key(&action);
        if self.in_flight.contains(&key)
            || self.queued.contains(&key)
            || self.failures.get(&key).copied().unwrap_or(0) >= MAX_FAILURES
        {
            return false;
        }
        self.queued.insert(key);
        if action.op == Op::Create {
            self.queue.push_back(action);
        } else {
            self.follow_ups.push_back(action);
        }
        true
    }

    /// The next action to start. When both creates and follow-ups wait, the one with
    /// fewer actions in flight goes (follow-ups on a tie): an action waiting for its
    /// endpoint's rate budget holds a slot, so letting one kind take every slot would
    /// leave the other endpoint's budget unused.
    fn start(&mut self) -> Option<Action> {
        let follow_ups_in_flight = self.in_flight.len() - self.creates_in_flight;
        let create_first = !self.queue.is_empty() && follow_ups_in_flight > self.creates_in_flight;
        let action = if create_first {
            self.queue.pop_front()
        } else {
            self.follow_ups
                .pop_front()
                .or_else(|| self.queue.pop_front())
        }?;
        if action.op == Op::Create {
            self.creates_in_flight += 1;
        }
        let key = attempt_key(&action);
        self.queued.remove(&key);
        self.in_flight.insert(key);
        Some(action)
    }

    fn record(&mut self, action: Action, result: ActionResult) {
        let key = attempt_key(&action);
        if self.in_flight.remove(&key) && action.op == Op::Create {
            self.creates_in_flight -= 1;
        }
        match &result {
            ActionResult::Done { .. } => {
                // The approved plan's own first send has no fingerprint here: it counts
                // with whatever the next observation shows.
                let fp = self.offered_on.remove(&key).unwrap_or_default();
                let seen = self.repeats.entry(key.clone()).or_insert((fp.clone(), 0));
                if seen.0 == fp || seen.0.is_empty() {
                    seen.0 = fp;
                    seen.1 += 1;
                } else {
                    *seen = (fp, 1);
                }
                self.completed_at.insert(key, Instant::now());
            }
            ActionResult::Failed(_) => {
                self.failed_at.insert(key.clone(), Instant::now());
                *self.failures.entry(key).or_insert(0) += 1
            }
            ActionResult::Skipped(_) => {}
        }
        if action.op == Op::Create {
            if let ActionResult::Done {
                target: Some(job),
                status: Some(status),
                ..
            } = &result
            {
                if status == "ready" {
                    self.chain_run(&action, job);
                }
            }
        }
        self.results.insert(action.id.clone(), result.clone());
        if !matches!(result, ActionResult::Skipped(_)) {
            self.performed.push((action, result));
        }
    }

    /// A create answered `ready` at once: start the run the approved plan deferred for it
    /// without waiting for the next observation.
    fn chain_run(&mut self, create: &Action, job: &str) {
        let approved = self.approved;
        let follow_ups: Vec<Action> = approved
            .actions
            .iter()
            .filter(|a| {
                a.op == Op::Run
                    && a.deferred
                    && a.entry == create.entry
                    && a.objects == create.objects
                    && a.after.contains(&create.id)
            })
            .cloned()
            .collect();
        for mut run in follow_ups {
            run.job = Some(job.to_string());
            run.deferred = false;
            run.after.clear();
            self.enqueue(run);
        }
    }

    /// Offers a fresh plan's approved actions; returns how many were queued. Actions
    /// that completed after `observed_at` are skipped: the observation predates them.
    fn offer(
        &mut self,
        allowed: Vec<Action>,
        fresh: &Plan,
        live: &Live,
        observed_at: Instant,
    ) -> usize {
        let mut added = 0;
        for action in allowed {
            if action.deferred || action.op == Op::Wait {
                continue;
            }
            let blocked_by_dep = action.after.iter().any(|dep| {
                fresh
                    .actions
                    .iter()
                    .any(|a| &a.id == dep && a.op != Op::Wait)
            });
            if blocked_by_dep {
                continue;
            }
            let key = attempt_key(&action);
            let since_observed = |at: Option<&Instant>| at.is_some_and(|t| *t >= observed_at);
            if since_observed(self.completed_at.get(&key))
                || since_observed(self.failed_at.get(&key))
            {
                continue;
            }
            let shows = fingerprint(live, &action);
            let repeated = self
                .repeats
                .get(&key)
                .is_some_and(|(fp, n)| *n >= MAX_REPEATS && *fp == shows);
            if repeated {
                if self.stopped_keys.insert(key) {
                    self.stopped.push(format!(
                        "stopped: {} {} for {} was sent {MAX_REPEATS} times without a change in what Stripe shows; not sent again",
                        action.op.as_str(),
                        action
                            .job
                            .as_deref()
                            .or(action.session.as_deref())
                            .unwrap_or("(new job)"),
                        action.entry.as_deref().unwrap_or("(unmanaged)"),
                    ));
                }
                continue;
            }
            if self.enqueue(action) {
                self.offered_on.insert(key, shows);
                added += 1;
            }
        }
        added
    }

    /// The entries of the writes stopped by [`MAX_REPEATS`].
    fn stopped_entries(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .stopped_keys
            .iter()
            .filter_map(|k| k.split('|').next().map(str::to_string))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The approved writes not started, one line each ("run prj_1 for dsr-1").
    fn remaining(&self) -> Vec<String> {
        let queued = self.first.iter().chain(&self.follow_ups).chain(&self.queue);
        let deferred = self
            .approved
            .actions
            .iter()
            .filter(|a| a.op != Op::Wait && !self.results.contains_key(&a.id));
        let mut seen = HashSet::new();
        queued
            .chain(deferred)
            .filter(|a| seen.insert(a.id.clone()))
            .map(|a| {
                format!(
                    "{} {} for {}",
                    a.op.as_str(),
                    a.job
                        .as_deref()
                        .or(a.session.as_deref())
                        .unwrap_or("(new job)"),
                    a.entry.as_deref().unwrap_or("(unmanaged)")
                )
            })
            .collect()
    }

    fn idle(&self) -> bool {
        self.follow_ups.is_empty()
            && self.queue.is_empty()
            && self.in_flight.is_empty()
            && self.first.is_empty()
    }

    /// How long until the next look, while writes are going on. More runs waiting for a
    /// slot than an endpoint takes in a second keep it busy, so reads can wait
    /// ([`BUSY_OBSERVE`]); with fewer but creates waiting, the next runs are looked for
    /// every [`ACTIVE_OBSERVE`] (a second's creates are ready a second later); with
    /// nothing waiting, `tail`.
    fn pace(&self, tail: Duration) -> Duration {
        if self.follow_ups.len() > RUNS_QUEUED {
            BUSY_OBSERVE
        } else if !self.queue.is_empty() {
            ACTIVE_OBSERVE
        } else {
            tail
        }
    }
}

/// What one observation round brought back.
enum Round {
    /// A full observation, made for this round plan.
    Full(RoundPlan, Live),
    /// The jobs that changed since the last round.
    Partial(Delta),
}

type Observation<'a> = Pin<Box<dyn Future<Output = (Instant, Result<Round, StripeError>)> + 'a>>;

/// Carries out `approved` (already shown, guarded and approved), re-observing and
/// re-planning until converged, blocked, or (with `--wait`) the time is up. `observed` is
/// the observation `approved` was planned from: the loop's picture starts there.
#[allow(clippy::too_many_arguments)]
pub async fn converge(
    client: &Client,
    target: &Target,
    desired: &Desired,
    observed: Live,
    approved: &Plan,
    opts: &ApplyOptions,
    audit: &Mutex<AuditLog>,
    reporter: &dyn Reporter,
) -> Result<ApplyReport, ApplyError> {
    let deadline = opts.wait.map(|w| Instant::now() + w);
    interrupt::arm();
    // Provenance: the log is read once; the creates of this run come from the handle.
    let mut provenance = match audit.lock() {
        Ok(log) => ProvenanceIndex::load(&log),
        Err(poisoned) => ProvenanceIndex::load(&poisoned.into_inner()),
    };
    // Read once per run: the account cannot change under an apply.
    let account = observed.account.clone();
    // The loop's picture is the observation itself, not a copy of it; with room for the
    // jobs this run's creates make, so that the first one does not double a vector of an
    // account's 100,000 jobs (a second copy of it while it moves, and half of it unused).
    let mut observed = observed;
    let creates = approved
        .actions
        .iter()
        .filter(|a| a.op == Op::Create)
        .count();
    observed.jobs.reserve_exact(2 * creates);
    let mut watch = Watch::new(observed);
    let parallelism = opts.parallelism.max(1);
    let mut book = Book::new(approved);
    let mut running = FuturesUnordered::new();
    let mut observing: Option<Observation<'_>> = None;
    // Whether the round in flight reads the redacting jobs (a full one, or a slow one).
    let mut read_redacting = false;
    let mut next_observe = Instant::now() + ACTIVE_OBSERVE;
    let mut idle_pause = Duration::from_secs(1);
    let mut tail_pause = TAIL_OBSERVE;
    let mut writes_since_look = 0usize;
    let parallel = client.endpoints_in_parallel();
    let mut last_look = Instant::now();
    let mut last_slow_look = Instant::now();
    // How long validation and redaction take, learnt from the looks; and the reads the
    // looks for ready jobs may spend.
    let mut phases = Phases::default();
    let mut budget = ReadBudget::new(
        approved.actions.iter().filter(|a| a.op != Op::Wait).count(),
        approved
            .actions
            .iter()
            .filter(|a| a.op == Op::Create)
            .count(),
    );
    // Set when the next round must read everything (before apply stops on it).
    let mut full_next = false;
    let mut busy_rounds = 0usize;
    let mut last: Option<Plan> = None;
    let mut last_not_approved: Vec<Action> = Vec::new();
    // Set by a signal or the end of `--wait`: no new write starts, the ones in flight
    // finish (and are recorded), then apply ends with this.
    let mut stopping: Option<Ending> = None;
    let total = book.first.len();
    if total == 0 {
        next_observe = Instant::now();
        // Nothing to write now: the plan just shown is the state of things, unless
        // `--wait` asks to watch Stripe-side work finish.
        if let Some(ending) = decide(approved, &[], &[], &[], deadline, false) {
            reporter.finish();
            return Ok(ApplyReport {
                ending,
                performed: Vec::new(),
                not_approved: Vec::new(),
                last: approved.clone(),
                stopped: Vec::new(),
                remaining: Vec::new(),
            });
        }
    } else {
        // Every write the plan approved, deferred follow-ups included.
        let writes = approved.actions.iter().filter(|a| a.op != Op::Wait).count();
        reporter.batch(writes);
    }

    loop {
        if stopping.is_none() {
            if let Some(signal) = interrupt::requested() {
                stopping = Some(Ending::Interrupted { signal });
            } else if deadline.is_some_and(|d| Instant::now() >= d) {
                // `--wait` bounds the whole apply, busy or not.
                stopping = Some(Ending::TimedOut);
            }
        }
        if let Some(ending) = stopping {
            if running.is_empty() {
                reporter.finish();
                // A clean stop keeps what this run learnt for the next one.
                remember(client, &opts.observe, &watch.into_live());
                let remaining = book.remaining();
                return Ok(ApplyReport {
                    ending,
                    performed: book.performed,
                    not_approved: last_not_approved,
                    last: last.unwrap_or_else(|| approved.clone()),
                    stopped: book.stopped,
                    remaining,
                });
            }
            observing = None;
        } else {
            book.promote();
            while running.len() < parallelism {
                let Some(action) = book.start() else { break };
                reporter.action_started(&action);
                running.push(async move {
                    let result = perform(client, target, &action, audit).await;
                    (action, result)
                });
            }
            let nothing_to_do = running.is_empty() && book.idle();
            let now = Instant::now();
            let creating = book.creates_in_flight > 0 || !book.queue.is_empty();
            // Once nothing is created any more, the last validations end when the
            // fastest seen so far says: look then, not a look later.
            if let Some(due) = phases.validation_due().filter(|_| !creating) {
                if last_look < due && watch.awaits_validation() {
                    next_observe = next_observe.min(due);
                }
            }
            // A run endpoint about to go idle while jobs validate: look for ready ones
            // before it does (an endpoint left idle never makes the time up: the runs
            // come as fast as the creates, at the same limit).
            let eager = parallel
                && book.follow_ups.len() <= LOW_WATER
                && now >= last_look + MIN_LOOK
                && budget.allows_a_look()
                && watch.awaits_validation();
            if observing.is_none() && (now >= next_observe || eager) {
                last_look = now;
                let writes_waiting = !(book.queue.is_empty() && book.follow_ups.is_empty());
                // In live pacing, redacting jobs are read only once no write waits and no
                // validation is waited on: each look's page already shows the newest of
                // them, and a look that reads down to the oldest costs pages (and time)
                // that the looks for ready jobs need; a ready job found late makes every
                // run after it late.
                let slow = if parallel {
                    !writes_waiting && !watch.awaits_validation()
                } else {
                    !writes_waiting || now >= last_slow_look + SLOW_EVERY
                };
                if slow {
                    last_slow_look = now;
                }
                let plan = if full_next || (nothing_to_do && !watch.has_work()) {
                    full_next = false;
                    watch.plan_full()
                } else {
                    watch.plan_round(slow)
                };
                budget.spend(plan.requests());
                read_redacting = slow || plan.full;
                let account = account.as_ref();
                writes_since_look = 0;
                observing = Some(Box::pin(async move {
                    let at = Instant::now();
                    let round = if plan.full {
                        observe_with_account(client, desired, &opts.observe, account)
                            .await
                            .map(|live| Round::Full(plan, live))
                    } else {
                        watch::fetch(client, plan, opts.observe.concurrency)
                            .await
                            .map(Round::Partial)
                    };
                    (at, round)
                }));
            }
        }
        let deadline_at = deadline.unwrap_or_else(|| Instant::now() + MAX_POLL);

        tokio::select! {
            Some((action, result)) = running.next(), if !running.is_empty() => {
                let result = result?;
                reporter.action_finished(&action, &result);
                let outcome = match &result {
                    ActionResult::Done { target: Some(t), status, .. } => Some(WriteOutcome::Answered {
                        target: t.clone(),
                        status: status.clone(),
                    }),
                    ActionResult::Done { target: None, .. } | ActionResult::Failed(_) => {
                        Some(WriteOutcome::Unsure)
                    }
                    ActionResult::Skipped(_) => None,
                };
                if let Some(outcome) = outcome {
                    if let WriteOutcome::Answered { target, status: Some(status) } = &outcome {
                        phases.answered(target, &JobStatus::from(status.as_str()), Instant::now());
                    }
                    watch.note_write(action.op, action.job.as_deref(), action.session.as_deref(), &outcome);
                    budget.wrote(action.op == Op::Create);
                }
                book.record(action, result);
                writes_since_look += 1;
                let due = !parallel
                    && writes_since_look >= WRITES_PER_LOOK
                    && book.follow_ups.len() <= RUNS_QUEUED;
                if due || (running.is_empty() && book.idle()) {
                    // Enough writes went for a read, or the last one is done: look now
                    // rather than at the next tick.
                    next_observe = next_observe.min(Instant::now());
                }
            }
            (observed_at, round) = async {
                match observing.as_mut() {
                    Some(f) => f.await,
                    None => std::future::pending().await,
                }
            }, if observing.is_some() && stopping.is_none() => {
                observing = None;
                let (was_full, changed) = match round? {
                    Round::Full(plan, live) => {
                        watch.reset(live, &plan);
                        (true, 0)
                    }
                    Round::Partial(delta) => (false, watch.apply(delta)),
                };
                phases.looked(observed_at, read_redacting, |id| watch.status(id));
                match audit.lock() {
                    Ok(log) => provenance.catch_up(&log),
                    Err(poisoned) => provenance.catch_up(&poisoned.into_inner()),
                }
                provenance.facts(watch.live()).put_into(watch.live_mut());
                let live = watch.live();
                let fresh = plan::plan(desired, live, &opts.planning);
                for entry in &fresh.entries {
                    reporter.entry_state(&entry.name, &summary::entry_state(entry));
                }
                let (allowed, not_approved) = plan::approved_actions(approved, &fresh);
                let added = book.offer(allowed, &fresh, live, observed_at);
                if added > 0 {
                    busy_rounds += 1;
                }
                tail_pause = if changed > 0 || added > 0 {
                    TAIL_OBSERVE
                } else {
                    (tail_pause * 3 / 2).min(MAX_POLL)
                };
                let idle = added == 0 && running.is_empty() && book.idle();
                let out_of_rounds = opts.wait.is_none() && busy_rounds >= ROUNDS_WITHOUT_WAIT;
                if idle || out_of_rounds {
                    let ending = decide(&fresh, &not_approved, &book.stopped_entries(), &book.performed, deadline, out_of_rounds);
                    // An entry whose job succeeded cannot change again: when every entry
                    // has, the picture is enough. Anything else is decided on a full
                    // observation.
                    let all_converged = fresh.entries.iter().all(|e| e.outcome == Outcome::Converged);
                    let confirm = !was_full && !all_converged && !out_of_rounds
                        && (ending.is_some() || !watch.has_work());
                    if confirm {
                        full_next = true;
                        next_observe = Instant::now();
                    } else if let Some(ending) = ending {
                        reporter.finish();
                        remember(client, &opts.observe, &watch.into_live());
                        return Ok(ApplyReport {
                            ending,
                            performed: book.performed,
                            not_approved,
                            last: fresh,
                            stopped: book.stopped,
                            remaining: Vec::new(),
                        });
                    } else if watch.has_work() {
                        // Stripe-side work is moving: watch it, no full observation; when
                        // only redactions are left, look when the last should be over.
                        let now = Instant::now();
                        next_observe = match phases.redaction_due() {
                            Some(at) if !watch.has_work_besides_redacting() => {
                                if at > now {
                                    at
                                } else if now < at + TAIL_OBSERVE * 4 {
                                    // The look at the due time came a little early.
                                    now + DUE_RETRY
                                } else {
                                    now + tail_pause
                                }
                            }
                            _ => now + tail_pause,
                        };
                    } else {
                        let mut pause = idle_pause;
                        if let Some(d) = deadline {
                            pause = pause.min(d.saturating_duration_since(Instant::now()));
                        }
                        full_next = true;
                        next_observe = Instant::now() + pause;
                        idle_pause = (idle_pause * 2).min(MAX_POLL);
                    }
                } else {
                    idle_pause = Duration::from_secs(1);
                    let creating = book.creates_in_flight > 0 || !book.queue.is_empty();
                    next_observe = if parallel && !creating && !watch.has_work_besides_redacting() {
                        // The last runs are going and nothing else moves: the last one's
                        // answer brings the next look (which reads the redacting jobs;
                        // the one after is when the last redaction should be over).
                        Instant::now() + BUSY_OBSERVE
                    } else {
                        Instant::now() + book.pace(tail_pause)
                    };
                }
                last = Some(fresh);
                last_not_approved = not_approved;
            }
            _ = tokio::time::sleep_until(next_observe.into()), if observing.is_none() && stopping.is_none() => {}
            _ = tokio::time::sleep_until(deadline_at.into()), if deadline.is_some() && stopping.is_none() => {}
            _ = interrupt::wait(), if stopping.is_none() => {}
        }
    }
}

/// Whether to stop after an idle observation, and how.
fn decide(
    fresh: &Plan,
    not_approved: &[Action],
    stopped_entries: &[String],
    performed: &[(Action, ActionResult)],
    deadline: Option<Instant>,
    force: bool,
) -> Option<Ending> {
    let needs_new_plan = |name: &str| {
        not_approved
            .iter()
            .any(|a| a.entry.as_deref() == Some(name))
            || stopped_entries.iter().any(|e| e == name)
    };
    let settled = fresh.entries.iter().all(|e| {
        matches!(
            e.outcome,
            Outcome::Converged | Outcome::Blocked | Outcome::Scheduled
        ) || needs_new_plan(&e.name)
    });
    let any_blocked = fresh.entries.iter().any(|e| e.outcome == Outcome::Blocked);
    let failed = performed.iter().any(|(a, r)| {
        matches!(r, ActionResult::Failed(_))
            && fresh.entries.iter().any(|e| {
                Some(&e.name) == a.entry.as_ref()
                    && !matches!(
                        e.outcome,
                        Outcome::Converged | Outcome::Waiting | Outcome::Scheduled
                    )
            })
    });
    let plain = if any_blocked {
        Ending::Blocked
    } else {
        Ending::Done
    };
    // A write that failed is retried in a later round (with a fresh key when Stripe
    // answered it) for as long as `--wait` allows: only a failure still standing when the
    // run ends makes it fail. Without `--wait` there is no later round.
    let ending = if failed { Ending::Failed } else { plain };
    if settled || force {
        Some(ending)
    } else {
        match deadline {
            None => Some(ending),
            Some(d) if Instant::now() >= d => Some(if failed {
                Ending::Failed
            } else {
                Ending::TimedOut
            }),
            Some(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{ObjectKind, ObjectRef};
    use crate::manifest::desired::{
        AccountSpec, Behavior, DesiredState, Entry, Location, Mode, Via,
    };

    fn desired(n: usize) -> Desired {
        Desired {
            account: AccountSpec {
                mode: Mode::Test,
                id: None,
                connected_account: None,
            },
            entries: (0..n)
                .map(|i| Entry {
                    deadline: Default::default(),
                    allowed_fixes: Vec::new(),
                    name: format!("dsr-{i}"),
                    ticket: None,
                    objects: vec![ObjectRef::new(ObjectKind::Customers, format!("cus_{i}"))],
                    validation_behavior: Behavior::Error,
                    state: DesiredState::Redacted,
                    via: Via::RedactionJob,
                    location: Location {
                        file: "m.yaml".into(),
                        line: i + 1,
                        column: 1,
                    },
                })
                .collect(),
            digest: "d".into(),
        }
    }

    fn done(job: &str, status: &str) -> ActionResult {
        ActionResult::Done {
            target: Some(job.into()),
            status: Some(status.into()),
            replayed: false,
        }
    }

    /// A create answered `ready` makes its run the next action started, ahead of the
    /// creates still queued, so that creates and runs proceed together (issue 6: 1,000
    /// entries in about the time 1,000 creates take, not twice that).
    #[test]
    fn a_ready_jobs_run_starts_before_the_remaining_creates() {
        let approved = plan::plan(&desired(3), &Live::default(), &plan::Options::default());
        let mut book = Book::new(&approved);
        book.promote();
        let first = book.start().expect("a create");
        assert_eq!(first.op, Op::Create);
        book.record(first.clone(), done("prj_0", "ready"));
        let next = book.start().expect("the run");
        assert_eq!(next.op, Op::Run);
        assert_eq!(next.job.as_deref(), Some("prj_0"));
        assert_eq!(next.entry, first.entry);
        let after = book.start().expect("another create");
        assert_eq!(after.op, Op::Create);
        assert_ne!(after.entry, first.entry);
    }

    /// With both runs and creates waiting, the slots are shared: they alternate instead
    /// of one kind taking every slot (issue 6's apply bench).
    #[test]
    fn runs_and_creates_alternate_when_both_wait() {
        let approved = plan::plan(&desired(4), &Live::default(), &plan::Options::default());
        let mut book = Book::new(&approved);
        book.promote();
        let c0 = book.start().expect("create 0");
        let c1 = book.start().expect("create 1");
        book.record(c0, done("prj_0", "ready"));
        book.record(c1, done("prj_1", "ready"));
        let ops: Vec<(Op, Option<String>)> = std::iter::from_fn(|| book.start())
            .map(|a| (a.op, a.entry))
            .collect();
        assert_eq!(
            ops,
            [
                (Op::Run, Some("dsr-0".to_string())),
                (Op::Create, Some("dsr-2".to_string())),
                (Op::Run, Some("dsr-1".to_string())),
                (Op::Create, Some("dsr-3".to_string())),
            ]
        );
    }

    /// Without follow-ups, creates start in plan order, each once.
    #[test]
    fn creates_start_in_plan_order_once_each() {
        let approved = plan::plan(&desired(3), &Live::default(), &plan::Options::default());
        let mut book = Book::new(&approved);
        book.promote();
        let mut started = Vec::new();
        while let Some(a) = book.start() {
            started.push(a.entry.unwrap_or_default());
        }
        assert_eq!(started, ["dsr-0", "dsr-1", "dsr-2"]);
        assert!(!book.idle(), "three creates are in flight");
    }
}
