//! The emulator's notion of "now". Every time-driven transition is computed from
//! timestamps read from this clock, so tests can use a manual clock and jump hours ahead
//! without sleeping, while `emulator serve` follows the system clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A shared, cloneable clock. Clones see the same time: advancing one advances all.
#[derive(Debug, Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `true`: time only moves through [`Clock::advance`].
    manual: bool,
    /// Milliseconds added to the base (the system time, or 0 for a manual clock).
    offset_ms: AtomicI64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl Clock {
    /// Follows the system clock (plus whatever [`Clock::advance`] added).
    pub fn system() -> Clock {
        Clock {
            inner: Arc::new(Inner {
                manual: false,
                offset_ms: AtomicI64::new(0),
            }),
        }
    }

    /// Starts at `start_unix` seconds and moves only when advanced: for tests that must
    /// cross validation or redaction delays without sleeping.
    pub fn manual(start_unix: i64) -> Clock {
        Clock {
            inner: Arc::new(Inner {
                manual: true,
                offset_ms: AtomicI64::new(start_unix.saturating_mul(1000)),
            }),
        }
    }

    /// Follows the system clock, but starts at `start_unix` seconds (`emulator serve
    /// --now`): time runs from there, and [`Clock::advance`] jumps ahead.
    pub fn starting_at(start_unix: i64) -> Clock {
        let clock = Clock::system();
        clock.inner.offset_ms.store(
            start_unix
                .saturating_mul(1000)
                .saturating_sub(system_now_ms()),
            Ordering::SeqCst,
        );
        clock
    }

    /// Moves time forward by `d` (on a system clock, adds a skew).
    pub fn advance(&self, d: Duration) {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.inner.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Whether this is a manual clock.
    pub fn is_manual(&self) -> bool {
        self.inner.manual
    }

    /// Now, in unix seconds (what Stripe's `created` fields hold).
    pub fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Now, in unix milliseconds: transitions use this so sub-second delays work.
    pub fn now_ms(&self) -> i64 {
        let base = if self.inner.manual {
            0
        } else {
            system_now_ms()
        };
        base.saturating_add(self.inner.offset_ms.load(Ordering::SeqCst))
    }
}

/// The system time in unix milliseconds (0 if the system clock is before 1970).
pub fn system_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced_and_clones_share_time() {
        let c = Clock::manual(1_000);
        let c2 = c.clone();
        assert_eq!(c.now(), 1_000);
        c2.advance(Duration::from_millis(1_500));
        assert_eq!(c.now(), 1_001);
        assert_eq!(c.now_ms(), 1_001_500);
    }

    #[test]
    fn a_clock_starting_at_a_time_runs_from_it() {
        let c = Clock::starting_at(1_000_000);
        assert!(!c.is_manual());
        assert!((c.now() - 1_000_000).abs() <= 5);
        c.advance(Duration::from_secs(86_400));
        assert!((c.now() - 1_086_400).abs() <= 5);
    }

    #[test]
    fn system_clock_is_close_to_system_time() {
        let c = Clock::system();
        assert!((c.now_ms() - system_now_ms()).abs() < 5_000);
        c.advance(Duration::from_secs(3600));
        assert!(c.now_ms() - system_now_ms() > 3_590_000);
    }
}
