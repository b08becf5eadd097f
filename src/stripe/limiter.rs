//! Client-side rate limiting, so that a healthy run never sees a 429: one budget per key
//! (global: Stripe's account limit, 100 requests/s live and 25 in test mode by default, see
//! [`default_account_limit`]) and one per endpoint (route template, 25/s), both enforced
//! before a request is sent.
//!
//! Writes come first: while a write (any method but `GET`) is waiting for the global budget,
//! a read does not take the slot it is waiting for. An apply's creates and runs are what
//! its duration is made of; its reads only tell it when to run, and can wait a slot.
//!
//! The arithmetic ([`Gcra`], [`Budgets`]) is pure and takes the current time as an
//! argument, so it is unit-tested with a fake clock; [`RateLimiter`] wraps it in a mutex and
//! sleeps on the real clock.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::models::Mode;

/// Stripe's account-wide limit in `mode`: 100 requests/s live, 25 in test mode (the
/// sandbox). The limiter's slack (see [`SLACK`]) keeps a client at this setting under it.
pub fn default_account_limit(mode: Mode) -> u32 {
    match mode {
        Mode::Live => 100,
        Mode::Test => 25,
    }
}

/// Stripe's per-endpoint limit: 25 requests/s on one route.
pub const DEFAULT_ENDPOINT_LIMIT: u32 = 25;

/// A write that has not asked again this long after it was due is gone (its request was
/// dropped): it no longer holds reads back.
const WRITE_FORGOTTEN_AFTER: Duration = Duration::from_millis(50);

/// Whether a rate-limit key (`"GET /v1/…"`) is a read; everything else is a write.
fn is_read(route: &str) -> bool {
    route.starts_with("GET ")
}

/// The window a server counts a rate in.
const WINDOW: Duration = Duration::from_secs(1);

/// By how much any `rate + 1` requests of one budget span more than [`WINDOW`], as sent.
///
/// A server that counts requests in one-second windows (fixed, as the emulator's, or
/// sliding) sees `rate + 1` of them in one window only if the first of them reaches it
/// more than this much later, relative to when it was sent, than the last: the slack is
/// the margin for that difference in transit (the request's way through the client's
/// runtime, the network, the server's queue). It is checked on the actual send times
/// (see [`Gcra`]'s window log), so a request that leaves late does not eat into it.
///
/// It is also what the pacing costs: 25 requests/s become 25 per 1.005 s, so 1,000 creates
/// take 40.2 s rather than 40. It was 20 ms (2 %, 0.8 s per 1,000 creates), half of which
/// a late send could use up; 5 ms with the send times checked never drew a 429 from the
/// emulator in the apply benches (live and test pacing, up to 6,000 writes each).
pub const SLACK: Duration = Duration::from_millis(5);

/// How many intervals late a request may go and still keep the schedule (see
/// [`Gcra::take`]): 160 ms at 25 requests/s.
const LATE_INTERVALS_KEPT: u32 = 4;

/// One rate, as the generic cell rate algorithm plus a log of the last sends: requests are
/// spaced `interval` = `(WINDOW + SLACK) / rate` apart, with up to `burst` requests allowed
/// back to back after a quiet period, and no request goes less than `WINDOW + SLACK` after
/// the one `rate` requests before it.
///
/// The spacing keeps requests even (a server sees a steady stream, not bursts); the log is
/// the guarantee that no one-second window holds more than `rate`, whatever the spacing
/// allowed. With it, a request that goes late keeps the schedule (the next is due one
/// interval after this one's scheduled time, see [`Gcra::take`]), so late wake-ups are
/// not lost for good, and still no `rate + 1` sends span less than `WINDOW + SLACK`.
#[derive(Debug, Clone, PartialEq)]
pub struct Gcra {
    interval: Duration,
    tolerance: Duration,
    /// Theoretical arrival time of the next request, as an offset from the limiter's epoch.
    tat: Duration,
    /// How many requests one window may hold.
    rate: usize,
    /// When each of the last `rate` requests was sent, oldest first.
    sent: VecDeque<Duration>,
}

impl Gcra {
    /// A limit of `per_second` requests per second (at least 1) with the given burst.
    pub fn new(per_second: u32, burst: u32) -> Gcra {
        let per_second = per_second.max(1);
        let interval = (WINDOW + SLACK) / per_second;
        Gcra {
            interval,
            tolerance: interval * burst.max(1).saturating_sub(1),
            tat: Duration::ZERO,
            rate: per_second as usize,
            sent: VecDeque::with_capacity(per_second as usize),
        }
    }

    /// How long a request arriving at `now` must wait (zero: it may go now).
    pub fn wait(&self, now: Duration) -> Duration {
        let spacing = self.tat.saturating_sub(self.tolerance).saturating_sub(now);
        let window = match self.sent.front() {
            Some(oldest) if self.sent.len() >= self.rate => {
                (*oldest + WINDOW + SLACK).saturating_sub(now)
            }
            _ => Duration::ZERO,
        };
        spacing.max(window)
    }

    /// Records a request sent at `now` (call only when [`Gcra::wait`] returned zero).
    ///
    /// A request that goes late (a timer firing late, a task scheduled late, a thread
    /// blocked on a disk write: a few milliseconds, often, sometimes a hundred) keeps the
    /// schedule if it is at most [`LATE_INTERVALS_KEPT`] intervals late: the next one is
    /// due `interval` after this one's scheduled time, not after its actual one, so the
    /// few that were held back go soon after one another until the schedule is met again.
    /// Otherwise every late wake-up is lost for good, and a busy machine spends 10% more
    /// time than the rate requires (44.7 ms between creates instead of 40.8 were measured
    /// so). The log of sends still holds any `rate + 1` of them `WINDOW + SLACK` apart. A
    /// request later than that (the budget was idle) starts a new schedule.
    pub fn take(&mut self, now: Duration) {
        let from = if now > self.tat + self.interval * LATE_INTERVALS_KEPT {
            now
        } else {
            self.tat
        };
        self.tat = from + self.interval;
        if self.sent.len() >= self.rate {
            self.sent.pop_front();
        }
        self.sent.push_back(now);
    }
}

/// The global budget and the per-endpoint budgets, checked and taken together so that a
/// request never consumes one budget while it waits for the other.
#[derive(Debug, Clone)]
pub struct Budgets {
    global: Option<Gcra>,
    endpoint_rate: u32,
    endpoints: HashMap<String, Gcra>,
    /// Writes refused for now, by route: when each may go (the latest asked).
    writes_due: HashMap<String, Duration>,
}

impl Budgets {
    /// `global`: requests per second per key (0: unlimited); `endpoint`: per route
    /// template (0: unlimited).
    pub fn new(global: u32, endpoint: u32) -> Budgets {
        Budgets {
            global: (global > 0).then(|| Gcra::new(global, 1)),
            endpoint_rate: endpoint,
            endpoints: HashMap::new(),
            writes_due: HashMap::new(),
        }
    }

    /// Takes one request of `route` at `now` if both budgets allow it; otherwise returns how
    /// long to wait before asking again. A read also waits while a write is due within one
    /// global interval (writes first).
    pub fn try_take(&mut self, route: &str, now: Duration) -> Result<(), Duration> {
        let global_wait = self.global.as_ref().map_or(Duration::ZERO, |g| g.wait(now));
        let endpoint_wait = if self.endpoint_rate > 0 {
            self.endpoints
                .get(route)
                .map_or(Duration::ZERO, |g| g.wait(now))
        } else {
            Duration::ZERO
        };
        let wait = global_wait.max(endpoint_wait);
        let read = is_read(route);
        if !wait.is_zero() {
            if !read {
                let due = now + wait;
                let slot = self.writes_due.entry(route.to_string()).or_insert(due);
                *slot = (*slot).max(due);
            }
            return Err(wait);
        }
        if read {
            if let Some(yield_for) = self.write_ahead(now) {
                return Err(yield_for);
            }
        } else {
            self.writes_due.remove(route);
        }
        if let Some(g) = self.global.as_mut() {
            g.take(now);
        }
        if self.endpoint_rate > 0 {
            let rate = self.endpoint_rate;
            self.endpoints
                .entry(route.to_string())
                .or_insert_with(|| Gcra::new(rate, 1))
                .take(now);
        }
        Ok(())
    }

    /// Whether a request of `route` at `now` would have to wait for a budget (nothing is
    /// taken).
    pub fn would_wait(&self, route: &str, now: Duration) -> bool {
        let global = self.global.as_ref().is_some_and(|g| !g.wait(now).is_zero());
        let endpoint = self.endpoint_rate > 0
            && self
                .endpoints
                .get(route)
                .is_some_and(|g| !g.wait(now).is_zero());
        global || endpoint
    }

    /// How long a read arriving at `now` must leave the global budget to a waiting write:
    /// `None` when no write is due within one global interval (or there is no global
    /// budget: then reads take nothing from writes). Writes that stopped asking are
    /// forgotten.
    fn write_ahead(&mut self, now: Duration) -> Option<Duration> {
        let interval = self.global.as_ref()?.interval;
        self.writes_due
            .retain(|_, due| now.saturating_sub(*due) < WRITE_FORGOTTEN_AFTER);
        let next = self.writes_due.values().min()?;
        (*next < now + interval).then(|| next.saturating_sub(now).max(interval / 4))
    }
}

/// The budgets on the real (tokio) clock, shared by every clone of a client.
#[derive(Debug)]
pub struct RateLimiter {
    epoch: Instant,
    budgets: Mutex<Budgets>,
}

impl RateLimiter {
    /// See [`Budgets::new`].
    pub fn new(global: u32, endpoint: u32) -> RateLimiter {
        RateLimiter {
            epoch: Instant::now(),
            budgets: Mutex::new(Budgets::new(global, endpoint)),
        }
    }

    /// Takes a request of `route` from both budgets if they allow it now; otherwise
    /// returns how long to wait before asking again (nothing is taken). The client calls
    /// this while holding a concurrency permit and releases the permit to wait, so that a
    /// request waiting for one endpoint's budget never holds a slot another endpoint's
    /// request could use.
    pub fn try_acquire(&self, route: &str) -> Result<(), Duration> {
        let now = self.epoch.elapsed();
        // A poisoned lock only means another task panicked mid-update; the budget
        // arithmetic is still consistent, so keep going.
        let mut budgets = self.budgets.lock().unwrap_or_else(|e| e.into_inner());
        budgets.try_take(route, now)
    }

    /// Whether a request of `route` would have to wait now (nothing is taken).
    pub fn would_wait(&self, route: &str) -> bool {
        let now = self.epoch.elapsed();
        let budgets = self.budgets.lock().unwrap_or_else(|e| e.into_inner());
        budgets.would_wait(route, now)
    }

    /// Waits until a request of `route` may be sent, and takes it from both budgets.
    pub async fn acquire(&self, route: &str) {
        while let Err(wait) = self.try_acquire(route) {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    /// A read and a write both waiting for the global budget: the write goes first, the
    /// read right after; a read with no write waiting is not held back.
    #[test]
    fn writes_take_the_global_slot_before_waiting_reads() {
        let mut b = Budgets::new(10, 0);
        // 100.5 ms between requests. A read takes the first slot.
        assert_eq!(b.try_take("GET /v1/r", ms(0)), Ok(()));
        // A write and a read both arrive and must wait for the next slot (100.5 ms).
        assert_eq!(b.try_take("POST /v1/w", ms(10)), Err(us(90_500)));
        assert_eq!(b.try_take("GET /v1/r", ms(20)), Err(us(80_500)));
        // At 101 ms the read wakes first: the slot is the write's.
        assert!(b.try_take("GET /v1/r", ms(101)).is_err());
        assert_eq!(b.try_take("POST /v1/w", ms(102)), Ok(()));
        // Then the read goes at the following slot.
        assert_eq!(b.try_take("GET /v1/r", ms(201)), Ok(()));
        // Nobody waiting: reads go as the rate allows.
        assert_eq!(b.try_take("GET /v1/r", ms(302)), Ok(()));
    }

    /// Asking whether a request would wait takes nothing from either budget.
    #[test]
    fn would_wait_peeks_without_taking() {
        let mut b = Budgets::new(0, 25);
        assert!(!b.would_wait("POST /v1/w", ms(0)));
        assert!(!b.would_wait("POST /v1/w", ms(0)), "nothing was taken");
        assert_eq!(b.try_take("POST /v1/w", ms(0)), Ok(()));
        assert!(b.would_wait("POST /v1/w", ms(10)), "its endpoint is spent");
        assert!(
            !b.would_wait("POST /v1/other", ms(10)),
            "another endpoint is not"
        );
        assert!(!b.would_wait("POST /v1/w", ms(41)));
    }

    /// A write whose request was dropped while waiting does not hold reads back for long.
    #[test]
    fn a_write_that_stopped_asking_is_forgotten() {
        let mut b = Budgets::new(10, 0);
        assert_eq!(b.try_take("POST /v1/w", ms(0)), Ok(()));
        assert!(b.try_take("POST /v1/w", ms(1)).is_err());
        // The write never comes back; 50 ms after its slot, the read gets it.
        assert!(b.try_take("GET /v1/r", ms(101)).is_err());
        assert_eq!(b.try_take("GET /v1/r", ms(160)), Ok(()));
    }

    /// A stream of writes and reads under one global budget: every write is sent before
    /// any read that was waiting with it, and the rate still holds.
    #[test]
    fn under_contention_reads_wait_for_the_writes() {
        let mut b = Budgets::new(25, 0);
        let mut now = Duration::ZERO;
        let mut writes_left = 50;
        let mut sent: Vec<(Duration, bool)> = Vec::new();
        // One writer and one reader always waiting; the reader polls first each time.
        while writes_left > 0 {
            if b.try_take("GET /v1/r", now).is_ok() {
                sent.push((now, false));
            }
            match b.try_take("POST /v1/w", now) {
                Ok(()) => {
                    sent.push((now, true));
                    writes_left -= 1;
                }
                Err(w) => now += w.min(ms(5)).max(ms(1)),
            }
        }
        let reads = sent.iter().filter(|(_, w)| !w).count();
        assert!(reads <= 1, "reads took {reads} write slots");
        let times: Vec<Duration> = sent.iter().map(|(t, _)| *t).collect();
        assert!(max_in_any_second(&times) <= 25);
    }

    #[test]
    fn stripes_limits_are_the_defaults() {
        assert_eq!(default_account_limit(Mode::Live), 100);
        assert_eq!(default_account_limit(Mode::Test), 25);
        assert_eq!(DEFAULT_ENDPOINT_LIMIT, 25);
    }

    /// Drives the budgets with a fake clock: every request of `routes` is sent as soon as
    /// it is allowed; returns the send times.
    fn simulate(b: &mut Budgets, routes: &[&str]) -> Vec<Duration> {
        let mut now = Duration::ZERO;
        let mut sent = Vec::new();
        for r in routes {
            loop {
                match b.try_take(r, now) {
                    Ok(()) => {
                        sent.push(now);
                        break;
                    }
                    Err(w) => now += w,
                }
            }
        }
        sent
    }

    fn max_in_any_second(times: &[Duration]) -> usize {
        times
            .iter()
            .map(|&start| {
                times
                    .iter()
                    .filter(|&&t| t >= start && t < start + ms(1000))
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn global_rate_is_never_exceeded_in_any_second() {
        let mut b = Budgets::new(25, 0);
        let sent = simulate(&mut b, &["GET /a"; 200]);
        assert_eq!(max_in_any_second(&sent), 25);
        // 200 requests at 25/s take 199 intervals of 40.2 ms (40 ms + 0.5 % slack).
        assert_eq!(*sent.last().unwrap(), us(40_200 * 199));
        // Even if some reach the server up to the slack later than the others, no window
        // holds more than 25.
        let late: Vec<Duration> = sent
            .iter()
            .enumerate()
            .map(|(i, t)| if i % 25 == 0 { *t + SLACK - us(1) } else { *t })
            .collect();
        assert_eq!(max_in_any_second(&late), 25);
    }

    #[test]
    fn endpoint_budget_is_per_route() {
        let mut b = Budgets::new(0, 10);
        let routes: Vec<&str> = (0..40)
            .map(|i| if i % 2 == 0 { "POST /x" } else { "POST /y" })
            .collect();
        let sent = simulate(&mut b, &routes);
        let xs: Vec<Duration> = sent.iter().step_by(2).copied().collect();
        let ys: Vec<Duration> = sent.iter().skip(1).step_by(2).copied().collect();
        assert_eq!(max_in_any_second(&xs), 10);
        assert_eq!(max_in_any_second(&ys), 10);
        // Two routes together go twice as fast as one alone.
        assert_eq!(max_in_any_second(&sent), 20);
    }

    #[test]
    fn the_stricter_budget_wins_and_waiting_does_not_consume() {
        let mut b = Budgets::new(4, 2);
        assert_eq!(b.try_take("r", ms(0)), Ok(()));
        // The endpoint budget (2/s) asks for 502.5 ms; the global one (4/s) only 251.25.
        assert_eq!(b.try_take("r", ms(0)), Err(us(502_500)));
        // Another route only waits for the global budget, which the refusal did not use.
        assert_eq!(b.try_take("s", us(251_250)), Ok(()));
        assert_eq!(b.try_take("r", us(502_500)), Ok(()));
    }

    #[test]
    fn burst_allows_back_to_back_requests_after_a_pause() {
        let mut g = Gcra::new(10, 3);
        for _ in 0..3 {
            assert_eq!(g.wait(ms(1000)), Duration::ZERO);
            g.take(ms(1000));
        }
        assert_eq!(g.wait(ms(1000)), us(100_500));
    }

    #[test]
    fn zero_means_unlimited() {
        let mut b = Budgets::new(0, 0);
        for _ in 0..1000 {
            assert_eq!(b.try_take("r", Duration::ZERO), Ok(()));
        }
    }

    /// `try_acquire` takes nothing when it refuses, and one endpoint's exhausted budget
    /// does not refuse another endpoint.
    #[tokio::test]
    async fn try_acquire_refuses_without_taking_and_per_endpoint() {
        let l = RateLimiter::new(0, 1);
        assert_eq!(l.try_acquire("GET /a"), Ok(()));
        let wait = l
            .try_acquire("GET /a")
            .expect_err("the endpoint's budget is spent");
        assert!(wait > Duration::ZERO && wait <= WINDOW + SLACK);
        // Refusals took nothing: the wait does not grow.
        let again = l.try_acquire("GET /a").expect_err("still spent");
        assert!(again <= wait);
        assert_eq!(l.try_acquire("GET /b"), Ok(()));
    }

    /// A request up to four intervals late keeps the schedule; a later one restarts it.
    #[test]
    fn small_lateness_keeps_the_schedule() {
        let mut g = Gcra::new(25, 1);
        g.take(ms(0));
        assert_eq!(g.wait(ms(0)), us(40_200));
        // Sent 5 ms late: the next is still due one interval after the scheduled time.
        g.take(us(45_200));
        assert_eq!(g.wait(ms(80)), us(400));
        // Sent 100 ms late: still on the schedule, so the next may go at once.
        g.take(ms(180) + us(400));
        assert_eq!(g.wait(ms(181)), Duration::ZERO);
        g.take(ms(181));
        // Sent 300 ms late: a new schedule from now.
        g.take(ms(600));
        assert_eq!(g.wait(ms(601)), us(39_200));
    }

    /// A late request keeps the schedule, but the request `rate` after it waits until a
    /// full window and the slack have passed since it actually went.
    #[test]
    fn the_window_log_holds_any_rate_plus_one_requests_apart() {
        let mut g = Gcra::new(25, 1);
        // The first goes 30 ms late; the next 25 go on its kept schedule.
        g.take(ms(30));
        let mut scheduled = us(40_200);
        for _ in 0..24 {
            let now = scheduled.max(ms(30) + g.wait(ms(30)));
            assert!(g.wait(now).is_zero());
            g.take(now);
            scheduled += us(40_200);
        }
        // The 26th is due by the schedule at 1,005 ms, but the first went at 30 ms.
        assert_eq!(g.wait(us(1_005_000)), ms(30));
        assert!(g.wait(ms(1_035)).is_zero());
    }

    /// With senders that wake up late by pseudo-random amounts (0 to 15 ms, sometimes
    /// much more), no one-second window ever holds more than the rate.
    #[test]
    fn late_senders_never_exceed_the_rate_in_any_second() {
        let mut b = Budgets::new(25, 25);
        let mut now = Duration::ZERO;
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut sent = Vec::new();
        while sent.len() < 2_000 {
            match b.try_take("POST /v1/x", now) {
                Ok(()) => sent.push(now),
                Err(w) => {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let late = match (seed >> 33) % 20 {
                        0 => 200_000,
                        n => n * 750,
                    };
                    now += w + Duration::from_micros(late);
                }
            }
        }
        assert!(max_in_any_second(&sent) <= 25);
    }
}
