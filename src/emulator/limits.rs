//! Fault injection and rate limiting: which requests get a 429, a 500 (before or after
//! the change is applied) or a dropped connection. Deterministic for a given seed so that
//! tests of client retries are reproducible.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally.
    None,
    /// 500 without applying the change.
    FailBefore,
    /// Apply the change (and store its idempotent result), then answer 500.
    FailAfter,
    /// Close the connection without applying the change.
    DropBefore,
    /// Apply the change (and store its idempotent result), then close the connection.
    DropAfter,
}

/// Random faults at configurable rates.
#[derive(Debug)]
pub struct Faults {
    /// Fraction answered 500.
    pub fail_rate: f64,
    /// Fraction dropped.
    pub drop_rate: f64,
    rng: StdRng,
}

impl Faults {
    /// Rates clamped to 0..=1; `seed` makes the draws reproducible.
    pub fn new(fail_rate: f64, drop_rate: f64, seed: u64) -> Faults {
        Faults {
            fail_rate: clamp(fail_rate),
            drop_rate: clamp(drop_rate),
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Changes the rates (the sequence of random draws continues).
    pub fn set(&mut self, fail_rate: f64, drop_rate: f64) {
        self.fail_rate = clamp(fail_rate);
        self.drop_rate = clamp(drop_rate);
    }

    /// Draws the fault for the next request. Half of the faults of each kind happen after
    /// the change was applied.
    pub fn roll(&mut self) -> Fault {
        if self.fail_rate <= 0.0 && self.drop_rate <= 0.0 {
            return Fault::None;
        }
        let x: f64 = self.rng.gen();
        let after: bool = self.rng.gen();
        if x < self.drop_rate {
            if after {
                Fault::DropAfter
            } else {
                Fault::DropBefore
            }
        } else if x < self.drop_rate + self.fail_rate {
            if after {
                Fault::FailAfter
            } else {
                Fault::FailBefore
            }
        } else {
            Fault::None
        }
    }
}

fn clamp(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(0.0, 1.0)
    }
}

/// Fixed one-second windows (wall clock) per key, and per key and endpoint.
#[derive(Debug, Default)]
pub struct RateLimiter {
    /// Requests per key per second (0: off).
    pub per_key: u32,
    /// Requests per key and endpoint per second (0: off).
    pub per_endpoint: u32,
    keys: HashMap<String, (i64, u32)>,
    endpoints: HashMap<(String, String), (i64, u32)>,
}

impl RateLimiter {
    /// A limiter with these limits (0: off).
    pub fn new(per_key: u32, per_endpoint: u32) -> RateLimiter {
        RateLimiter {
            per_key,
            per_endpoint,
            ..RateLimiter::default()
        }
    }

    /// Admits (and counts) a request in wall-clock second `second`, or refuses it.
    /// Refused requests are not counted.
    pub fn admit(&mut self, key: &str, route: &str, second: i64) -> bool {
        if self.per_key == 0 && self.per_endpoint == 0 {
            return true;
        }
        let k = self.keys.entry(key.to_string()).or_insert((second, 0));
        if k.0 != second {
            *k = (second, 0);
        }
        let e = self
            .endpoints
            .entry((key.to_string(), route.to_string()))
            .or_insert((second, 0));
        if e.0 != second {
            *e = (second, 0);
        }
        if (self.per_key > 0 && k.1 >= self.per_key)
            || (self.per_endpoint > 0 && e.1 >= self.per_endpoint)
        {
            return false;
        }
        k.1 += 1;
        e.1 += 1;
        if self.keys.len() > 10_000 {
            self.keys.retain(|_, (s, _)| *s == second);
            self.endpoints.retain(|_, (s, _)| *s == second);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_and_endpoint_limits_reset_each_second() {
        let mut r = RateLimiter::new(5, 3);
        let admitted = (0..10).filter(|_| r.admit("k", "POST /a", 100)).count();
        assert_eq!(admitted, 3, "endpoint limit");
        let other = (0..10).filter(|_| r.admit("k", "POST /b", 100)).count();
        assert_eq!(other, 2, "global limit leaves 5 - 3");
        assert!(r.admit("other-key", "POST /a", 100));
        assert!(r.admit("k", "POST /a", 101));
        assert!(RateLimiter::new(0, 0).admit("k", "r", 1));
    }

    #[test]
    fn faults_follow_rates_and_seed() {
        let mut none = Faults::new(0.0, 0.0, 1);
        assert!((0..100).all(|_| none.roll() == Fault::None));
        let mut all = Faults::new(1.0, 0.0, 7);
        let draws: Vec<Fault> = (0..200).map(|_| all.roll()).collect();
        assert!(draws
            .iter()
            .all(|f| matches!(f, Fault::FailBefore | Fault::FailAfter)));
        assert!(draws.contains(&Fault::FailAfter) && draws.contains(&Fault::FailBefore));
        let a: Vec<Fault> = {
            let mut f = Faults::new(0.3, 0.3, 42);
            (0..50).map(|_| f.roll()).collect()
        };
        let b: Vec<Fault> = {
            let mut f = Faults::new(0.3, 0.3, 42);
            (0..50).map(|_| f.roll()).collect()
        };
        assert_eq!(a, b);
        let drops = a
            .iter()
            .filter(|f| matches!(f, Fault::DropBefore | Fault::DropAfter))
            .count();
        assert!(drops > 5 && drops < 30);
    }
}
