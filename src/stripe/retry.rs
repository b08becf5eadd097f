//! When to retry and how long to wait: pure functions, unit-tested, used by the client.
//!
//! Retrying writes is safe only because every POST carries the caller's idempotency key:
//! a retry of a request Stripe already applied replays the first response.

use std::time::Duration;

/// How many times, and how patiently, a request is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: never retry).
    pub max_attempts: u32,
    /// The backoff before the second attempt; doubled for each further attempt.
    pub base_delay: Duration,
    /// The largest backoff between two attempts.
    pub max_delay: Duration,
    /// No retry starts once this much time has passed since the first attempt.
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    /// Six attempts, 0.5 s doubling up to 8 s, at most one minute in all: enough to ride
    /// out a lock conflict or a short outage without hanging a CI job.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_total: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The exponential ceiling after `attempt` (1-based) failed attempts.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(30);
        self.base_delay
            .saturating_mul(1u32 << shift)
            .min(self.max_delay)
    }

    /// Full jitter: a uniform delay in `[0, ceiling]`; `unit` is a random number in `[0, 1)`.
    /// Jitter keeps many clients that failed together from retrying together.
    pub fn backoff(&self, attempt: u32, unit: f64) -> Duration {
        self.ceiling(attempt).mul_f64(unit.clamp(0.0, 1.0))
    }

    /// The delay before attempt `attempt + 1`, or `None` when the policy says stop: the
    /// attempts are used up, or the wait would end past `max_total`.
    pub fn next_delay(&self, attempt: u32, elapsed: Duration, unit: f64) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let delay = self.backoff(attempt, unit);
        (elapsed + delay <= self.max_total).then_some(delay)
    }
}

/// Whether a failed attempt may be retried. `status` is `None` for a network failure (no
/// response); `should_retry` is Stripe's `Stripe-Should-Retry` header, which overrides the
/// guess from the status either way.
pub fn is_retryable(status: Option<u16>, should_retry: Option<bool>) -> bool {
    if let Some(explicit) = should_retry {
        return explicit;
    }
    match status {
        None => true,
        Some(s) => s == 409 || s == 429 || s >= 500,
    }
}

/// Parses `Stripe-Should-Retry` (`true`/`false`; anything else counts as absent).
pub fn parse_should_retry(value: Option<&str>) -> Option<bool> {
    match value.map(str::trim) {
        Some(v) if v.eq_ignore_ascii_case("true") => Some(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rules() {
        for s in [409, 429, 500, 502, 503] {
            assert!(is_retryable(Some(s), None), "{s}");
        }
        for s in [400, 401, 402, 403, 404] {
            assert!(!is_retryable(Some(s), None), "{s}");
        }
        assert!(is_retryable(None, None));
    }

    #[test]
    fn should_retry_header_overrides_both_ways() {
        assert!(is_retryable(Some(400), Some(true)));
        assert!(!is_retryable(Some(500), Some(false)));
        assert!(!is_retryable(Some(429), Some(false)));
        assert_eq!(parse_should_retry(Some("true")), Some(true));
        assert_eq!(parse_should_retry(Some("False")), Some(false));
        assert_eq!(parse_should_retry(Some("maybe")), None);
        assert_eq!(parse_should_retry(None), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_full_jitter() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_total: Duration::from_secs(100),
        };
        assert_eq!(p.ceiling(1), Duration::from_millis(100));
        assert_eq!(p.ceiling(2), Duration::from_millis(200));
        assert_eq!(p.ceiling(4), Duration::from_millis(800));
        assert_eq!(p.ceiling(5), Duration::from_millis(1000));
        assert_eq!(p.ceiling(64), Duration::from_millis(1000));
        assert_eq!(p.backoff(3, 0.0), Duration::ZERO);
        assert_eq!(p.backoff(3, 0.5), Duration::from_millis(200));
    }

    #[test]
    fn attempts_and_total_time_are_capped() {
        let p = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
            max_total: Duration::from_secs(5),
        };
        assert_eq!(
            p.next_delay(1, Duration::ZERO, 1.0),
            Some(Duration::from_secs(1))
        );
        assert_eq!(p.next_delay(3, Duration::ZERO, 0.0), None);
        // 4.5 s spent + a 2 s wait would pass 5 s: stop.
        assert_eq!(p.next_delay(2, Duration::from_millis(4500), 1.0), None);
        assert_eq!(
            p.next_delay(2, Duration::from_millis(4500), 0.0),
            Some(Duration::ZERO)
        );
    }
}
