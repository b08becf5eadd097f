//! Client-side rate limiting, so that a healthy run never sees a 429: one budget per key
//! (global) and one per endpoint (route template), both enforced before a request is sent.
//!
//! The arithmetic ([`Gcra`], [`Budgets`]) is pure and takes the current time as an
//! argument, so it is unit-tested with a fake clock; [`RateLimiter`] wraps it in a mutex and
//! sleeps on the real clock.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// One second plus the jitter slack (see [`Gcra`]).
const WINDOW_WITH_SLACK: Duration = Duration::from_millis(1020);

/// A request sent at most this late after its scheduled time keeps the schedule (see
/// [`Gcra::take`]). Half of the 20 ms slack; the other half still absorbs network jitter.
const LATENESS_KEPT: Duration = Duration::from_millis(10);

/// One rate, as the generic cell rate algorithm: requests are spaced `interval` apart, with
/// up to `burst` requests allowed back to back after a quiet period.
///
/// With `burst = 1` no one-second window ever holds more than `rate` requests, which is
/// what a server counting per second checks. The spacing is `1.02 s / rate` rather than
/// `1 s / rate`: the 20 ms of slack per second absorbs network jitter, which could otherwise
/// move one request into a server's window that already has `rate` (a 2% cost).
#[derive(Debug, Clone, PartialEq)]
pub struct Gcra {
    interval: Duration,
    tolerance: Duration,
    /// Theoretical arrival time of the next request, as an offset from the limiter's epoch.
    tat: Duration,
}

impl Gcra {
    /// A limit of `per_second` requests per second (at least 1) with the given burst.
    pub fn new(per_second: u32, burst: u32) -> Gcra {
        let interval = WINDOW_WITH_SLACK / per_second.max(1);
        Gcra {
            interval,
            tolerance: interval * burst.max(1).saturating_sub(1),
            tat: Duration::ZERO,
        }
    }

    /// How long a request arriving at `now` must wait (zero: it may go now).
    pub fn wait(&self, now: Duration) -> Duration {
        self.tat.saturating_sub(self.tolerance).saturating_sub(now)
    }

    /// Records a request sent at `now` (call only when [`Gcra::wait`] returned zero).
    ///
    /// A request that goes a little late (a timer firing late, a task scheduled late: a
    /// few milliseconds, often) keeps the schedule: the next one is due `interval` after
    /// this one's scheduled time, not after its actual one. Otherwise every late wake-up
    /// is lost for good, and a busy machine spends 10% more time than the rate requires
    /// (issue 6's apply bench: 44.7 ms between creates instead of 40.8). Any 26 requests
    /// at 25/s still span at least `1.02 s - LATENESS_KEPT` = 1.01 s, so no one-second
    /// window holds more than the rate. A request later than that starts a new schedule.
    pub fn take(&mut self, now: Duration) {
        let from = if now > self.tat + LATENESS_KEPT {
            now
        } else {
            self.tat
        };
        self.tat = from + self.interval;
    }
}

/// The global budget and the per-endpoint budgets, checked and taken together so that a
/// request never consumes one budget while it waits for the other.
#[derive(Debug, Clone)]
pub struct Budgets {
    global: Option<Gcra>,
    endpoint_rate: u32,
    endpoints: HashMap<String, Gcra>,
}

impl Budgets {
    /// `global`: requests per second per key (0: unlimited); `endpoint`: per route
    /// template (0: unlimited).
    pub fn new(global: u32, endpoint: u32) -> Budgets {
        Budgets {
            global: (global > 0).then(|| Gcra::new(global, 1)),
            endpoint_rate: endpoint,
            endpoints: HashMap::new(),
        }
    }

    /// Takes one request of `route` at `now` if both budgets allow it; otherwise returns how
    /// long to wait before asking again.
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
        if !wait.is_zero() {
            return Err(wait);
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
        // 200 requests at 25/s take 199 intervals of 40.8 ms (40 ms + 2% slack).
        assert_eq!(*sent.last().unwrap(), Duration::from_micros(40_800 * 199));
        // Even with 20 ms of jitter on arrival, no window holds more than 25.
        let late: Vec<Duration> = sent
            .iter()
            .enumerate()
            .map(|(i, t)| if i % 25 == 0 { *t + ms(19) } else { *t })
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
        // The endpoint budget (2/s) asks for 510 ms; the global one (4/s) only 255 ms.
        assert_eq!(b.try_take("r", ms(0)), Err(ms(510)));
        // Another route only waits for the global budget, which the refusal did not use.
        assert_eq!(b.try_take("s", ms(255)), Ok(()));
        assert_eq!(b.try_take("r", ms(510)), Ok(()));
    }

    #[test]
    fn burst_allows_back_to_back_requests_after_a_pause() {
        let mut g = Gcra::new(10, 3);
        for _ in 0..3 {
            assert_eq!(g.wait(ms(1000)), Duration::ZERO);
            g.take(ms(1000));
        }
        assert_eq!(g.wait(ms(1000)), ms(102));
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
        assert!(wait > Duration::ZERO && wait <= WINDOW_WITH_SLACK);
        // Refusals took nothing: the wait does not grow.
        let again = l.try_acquire("GET /a").expect_err("still spent");
        assert!(again <= wait);
        assert_eq!(l.try_acquire("GET /b"), Ok(()));
    }

    /// A request a few milliseconds late keeps the schedule; a later one restarts it.
    #[test]
    fn small_lateness_keeps_the_schedule() {
        let mut g = Gcra::new(25, 1);
        g.take(ms(0));
        assert_eq!(g.wait(ms(0)), ms(40) + Duration::from_micros(800));
        // Sent 5 ms late: the next is still due one interval after the scheduled time.
        g.take(ms(45) + Duration::from_micros(800));
        assert_eq!(g.wait(ms(81)), Duration::from_micros(600));
        // Sent 100 ms late: a new schedule from now.
        g.take(ms(181) + Duration::from_micros(600));
        assert_eq!(g.wait(ms(182)), ms(40) + Duration::from_micros(400));
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
