//! When apply looks at Stripe while it converges: how long validation and redaction take,
//! learnt from what the looks see, and how many looks the reads budget allows.
//!
//! A job's run can start only once a look has seen it `ready`, and runs, like creates, go
//! at most 25 per second: a run that starts late never catches up, so every ready job
//! found late makes the whole apply later. Looking more often finds ready jobs sooner but
//! costs reads, which are kept near 4.5 % of the writes ([`ReadBudget`]): in live pacing
//! (creates and runs at 25/s each) that is a look every 0.45 s.
//!
//! When nothing is created any more, apply does not need a look every so often, only one
//! when the last jobs should be done: [`Phases`] learns, from the looks, how long after a
//! create's (or a run's) answer a look first sees the job `ready` (or `succeeded`), and
//! names that moment for the last job still waited on.
//!
//! Everything here is pure and takes the time as an argument, so it is unit-tested with
//! made-up instants.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::stripe::models::JobStatus;

/// Reads allowed per write answered: below the 5 % the reads of an apply must stay under,
/// with room for the first observation and the looks at the end (which read the redacting
/// jobs the looks' pages did not show finished: up to a page per 100 jobs).
const READS_PER_WRITE: f64 = 0.039;
/// Looks allowed before any write was answered (the first jobs' validation must be seen).
const READS_AT_START: f64 = 2.0;

/// The reads apply's looks may still spend: a share of the writes answered so far.
///
/// A create is counted for every write the plan makes per create (its run, in the usual
/// plan): while only creates go, at the start, their runs are still to come, and looks
/// spent evenly from the start find the first ready jobs as soon as the later ones (a
/// run endpoint left idle early is time lost for the whole apply).
#[derive(Debug, Clone)]
pub struct ReadBudget {
    /// Writes the plan makes per create (at least 1).
    per_create: f64,
    creates: usize,
    writes: usize,
    spent: usize,
}

impl ReadBudget {
    /// A budget for a plan of `writes` writes, `creates` of them creates.
    pub fn new(writes: usize, creates: usize) -> ReadBudget {
        ReadBudget {
            per_create: if creates > 0 {
                (writes as f64 / creates as f64).max(1.0)
            } else {
                1.0
            },
            creates: 0,
            writes: 0,
            spent: 0,
        }
    }

    /// A write was answered (or failed).
    pub fn wrote(&mut self, create: bool) {
        self.writes += 1;
        if create {
            self.creates += 1;
        }
    }

    /// A look that sends `requests` requests was made.
    pub fn spend(&mut self, requests: usize) {
        self.spent += requests;
    }

    /// Whether a look of one request fits in the budget now.
    pub fn allows_a_look(&self) -> bool {
        let earned = (self.writes as f64).max(self.creates as f64 * self.per_create);
        READS_AT_START + earned * READS_PER_WRITE >= (self.spent + 1) as f64
    }
}

/// How long after its answer a job that a write started is first seen past its phase,
/// counted from the create's (or run's) answer to when the look was sent: what matters for
/// when to send the next one (a look is answered with the state at the time Stripe handles
/// it, after the request's latency).
///
/// Each look tells, for each job it read, whether the phase was over that long after the
/// job's answer. The shortest "over" is an upper bound of the phase; but the moment an
/// answer is noted can be late (the loop was busy), which makes it too short. The longest
/// "not over yet" is a lower bound that a late note cannot push up. The phase is taken as
/// the larger of the two, plus a margin.
#[derive(Debug, Clone, Default)]
pub struct Phases {
    validation: Phase,
    redaction: Phase,
}

/// One phase: the jobs in it (when their answer came), and what the looks saw.
#[derive(Debug, Clone, Default)]
struct Phase {
    started: HashMap<String, Instant>,
    /// The shortest time after which a look saw a job past the phase.
    over: Option<Duration>,
    /// The longest time after which a look still saw a job in it.
    under: Option<Duration>,
}

impl Phase {
    fn looked(&mut self, at: Instant, read: bool, still: impl Fn(&str) -> Option<bool>) {
        let (mut over, mut under) = (self.over, self.under);
        self.started.retain(|id, answered| {
            let after = at.saturating_duration_since(*answered);
            match still(id) {
                Some(true) => {
                    if read {
                        under = Some(under.map_or(after, |d| d.max(after)));
                    }
                    true
                }
                Some(false) => {
                    over = Some(over.map_or(after, |d| d.min(after)));
                    false
                }
                // Not in the picture yet (a create answered while the look was on its
                // way): the next look will tell.
                None => true,
            }
        });
        (self.over, self.under) = (over, under);
    }

    /// When a look should be sent to see every job in the phase past it.
    fn due(&self) -> Option<Instant> {
        let took = match (self.over, self.under) {
            (None, _) => return None,
            (Some(over), under) => over.max(under.unwrap_or_default()),
        };
        self.started
            .values()
            .max()
            .map(|at| *at + took + DUE_MARGIN)
    }
}

/// Time added to a learnt phase before the look that should see it over: the jobs' own
/// spread and the answers' jitter (an answer noted late makes the shortest phase seen
/// shorter than it was: by 35 ms, in one bench run, which made the look a little early).
const DUE_MARGIN: Duration = Duration::from_millis(50);

impl Phases {
    /// A write on `job` was answered at `at` with `status`: a create (or validate)
    /// answered `validating` starts a validation, a run answered `redacting` a redaction.
    pub fn answered(&mut self, job: &str, status: &JobStatus, at: Instant) {
        match status {
            JobStatus::Created | JobStatus::Validating => {
                self.validation.started.insert(job.to_string(), at);
            }
            JobStatus::Redacting => {
                self.redaction.started.insert(job.to_string(), at);
            }
            _ => {}
        }
    }

    /// A look sent at `looked_at` was folded into the picture; `status` gives each job's
    /// status there (`None`: not in the picture yet, it is kept). Every look reads the
    /// validating jobs;
    /// `read_redacting`: this one read the redacting ones too (else a job still shown
    /// redacting may have been done, unseen).
    pub fn looked<'a>(
        &mut self,
        looked_at: Instant,
        read_redacting: bool,
        status: impl Fn(&str) -> Option<&'a JobStatus>,
    ) {
        self.validation.looked(looked_at, true, |id| {
            status(id).map(|s| matches!(s, JobStatus::Created | JobStatus::Validating))
        });
        self.redaction.looked(looked_at, read_redacting, |id| {
            status(id).map(|s| *s == JobStatus::Redacting)
        });
    }

    /// When a look should be sent to see every job whose validation is waited on over:
    /// `None` while none is, or before any validation was seen to end.
    pub fn validation_due(&self) -> Option<Instant> {
        self.validation.due()
    }

    /// Likewise for redaction.
    pub fn redaction_due(&self) -> Option<Instant> {
        self.redaction.due()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_budget_grows_with_the_writes() {
        let mut b = ReadBudget::new(0, 0);
        assert!(b.allows_a_look(), "the first looks are allowed");
        b.spend(2);
        assert!(!b.allows_a_look());
        for _ in 0..22 {
            b.wrote(false);
        }
        assert!(!b.allows_a_look(), "a look costs more than 22 writes earn");
        for _ in 0..3 {
            b.wrote(false);
        }
        assert!(!b.allows_a_look(), "nor 25");
        b.wrote(false);
        assert!(b.allows_a_look(), "26 writes earn a look");
        b.spend(1);
        assert!(!b.allows_a_look());
        // Over a whole plan of creates and their runs, reads stay under 5 % of the writes.
        let mut b = ReadBudget::new(2_000, 1_000);
        let mut reads = 0;
        for i in 0..2_000 {
            b.wrote(i < 1_000);
            if b.allows_a_look() {
                b.spend(1);
                reads += 1;
            }
        }
        assert!(reads <= 100 - 5, "{reads} reads for 2,000 writes");
    }

    /// While only creates go, each earns the reads of its run too: looks are as frequent
    /// at the start as later.
    #[test]
    fn a_create_earns_for_the_writes_that_follow_it() {
        let mut b = ReadBudget::new(2_000, 1_000);
        b.spend(2);
        for _ in 0..12 {
            b.wrote(true);
        }
        assert!(!b.allows_a_look());
        b.wrote(true);
        assert!(
            b.allows_a_look(),
            "13 creates and their 13 runs earn a look"
        );
    }

    #[test]
    fn the_last_job_is_due_when_the_fastest_seen_took_after_its_answer() {
        let t0 = Instant::now();
        let mut p = Phases::default();
        assert_eq!(p.validation_due(), None);
        p.answered("prj_a", &JobStatus::Validating, t0);
        p.answered("prj_b", &JobStatus::Validating, t0 + ms(40));
        p.answered("prj_c", &JobStatus::Validating, t0 + ms(80));
        assert_eq!(p.validation_due(), None, "nothing seen yet");
        let mut seen: HashMap<&str, JobStatus> = HashMap::from([
            ("prj_a", JobStatus::Ready),
            ("prj_b", JobStatus::Validating),
            ("prj_c", JobStatus::Validating),
        ]);
        // A look sent 1 s after the first answer sees only the first ready.
        p.looked(t0 + ms(1_000), false, |id| seen.get(id));
        assert_eq!(p.validation_due(), Some(t0 + ms(80 + 1_000) + DUE_MARGIN));
        // The next look sees the second one 990 ms after its answer: that is the phase.
        seen.insert("prj_b", JobStatus::Failed);
        p.looked(t0 + ms(1_030), false, |id| seen.get(id));
        assert_eq!(p.validation_due(), Some(t0 + ms(80 + 990) + DUE_MARGIN));
        seen.insert("prj_c", JobStatus::Ready);
        p.looked(t0 + ms(1_500), false, |id| seen.get(id));
        assert_eq!(p.validation_due(), None, "no validation is waited on");
    }

    /// An answer noted late makes a job look faster than it was; a job seen still in the
    /// phase longer after its answer than that bounds the phase from below.
    #[test]
    fn a_job_still_seen_in_its_phase_bounds_it_from_below() {
        let t0 = Instant::now();
        let mut p = Phases::default();
        // Answered at 0 but noted at 200 ms (the loop was busy).
        p.answered("prj_late", &JobStatus::Validating, t0 + ms(200));
        p.answered("prj_b", &JobStatus::Validating, t0 + ms(40));
        p.answered("prj_c", &JobStatus::Validating, t0 + ms(400));
        let mut seen: HashMap<&str, JobStatus> = HashMap::from([
            ("prj_late", JobStatus::Ready),
            ("prj_b", JobStatus::Validating),
            ("prj_c", JobStatus::Validating),
        ]);
        p.looked(t0 + ms(1_000), false, |id| seen.get(id));
        // Seen ready 800 ms after its note, but prj_b was still validating 960 ms after.
        assert_eq!(p.validation_due(), Some(t0 + ms(400 + 960) + DUE_MARGIN));
        seen.insert("prj_b", JobStatus::Ready);
        p.looked(t0 + ms(1_100), false, |id| seen.get(id));
        assert_eq!(p.validation_due(), Some(t0 + ms(400 + 960) + DUE_MARGIN));
    }

    /// A create answered while a look was on its way is not in what the look read: it is
    /// still waited on, and the last validation is due after its answer.
    #[test]
    fn a_job_the_picture_lacks_yet_is_still_waited_on() {
        let t0 = Instant::now();
        let mut p = Phases::default();
        p.answered("prj_a", &JobStatus::Validating, t0);
        p.answered("prj_new", &JobStatus::Validating, t0 + ms(990));
        let seen: HashMap<&str, JobStatus> = HashMap::from([("prj_a", JobStatus::Ready)]);
        p.looked(t0 + ms(1_000), false, |id| seen.get(id));
        assert_eq!(p.validation_due(), Some(t0 + ms(990 + 1_000) + DUE_MARGIN));
    }

    #[test]
    fn redaction_is_learnt_apart_from_validation_and_only_from_looks_that_read_it() {
        let t0 = Instant::now();
        let mut p = Phases::default();
        p.answered("prj_c", &JobStatus::Redacting, t0);
        p.answered("prj_a", &JobStatus::Redacting, t0 + ms(1_000));
        p.answered("prj_b", &JobStatus::Redacting, t0 + ms(2_000));
        p.answered("prj_d", &JobStatus::Succeeded, t0 + ms(2_100));
        let mut seen: HashMap<&str, JobStatus> = HashMap::from([
            ("prj_a", JobStatus::Redacting),
            ("prj_b", JobStatus::Redacting),
            ("prj_c", JobStatus::Redacting),
        ]);
        // A look that did not read the redacting jobs: what the picture shows of them is
        // old (prj_c may well be done), so it says nothing about how long redaction takes.
        p.looked(t0 + ms(3_000), false, |id| seen.get(id));
        assert_eq!(p.redaction_due(), None);
        seen.insert("prj_a", JobStatus::Succeeded);
        seen.insert("prj_c", JobStatus::Succeeded);
        p.looked(t0 + ms(3_100), true, |id| seen.get(id));
        assert_eq!(
            p.redaction_due(),
            Some(t0 + ms(2_000 + 2_100) + DUE_MARGIN),
            "prj_a took at most 2.1 s; prj_c's 3 s unread do not count"
        );
        assert_eq!(p.validation_due(), None);
    }
}
