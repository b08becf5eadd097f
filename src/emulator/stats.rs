//! Request counters, read at `GET /_emulator/stats`: tests and benchmarks use them to see
//! how many requests a client sent, to which endpoints, at what rate, and what came back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Counts of `/v1` requests since start or the last reset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// All `/v1` requests.
    pub total: u64,
    /// By route template, e.g. `POST /v1/privacy/redaction_jobs/:id/run`.
    pub by_route: BTreeMap<String, u64>,
    /// By HTTP status; `0` counts dropped connections.
    pub by_status: BTreeMap<u16, u64>,
    /// Wall-clock unix second → requests received in it.
    pub per_second: BTreeMap<i64, u64>,
}

/// Seconds of `per_second` history kept.
const KEEP_SECONDS: i64 = 3600;

impl Stats {
    /// Counts an arriving request.
    pub fn record_request(&mut self, route: &str, second: i64) {
        self.total += 1;
        *self.by_route.entry(route.to_string()).or_default() += 1;
        *self.per_second.entry(second).or_default() += 1;
        if self.per_second.len() as i64 > KEEP_SECONDS {
            let cutoff = second - KEEP_SECONDS;
            self.per_second.retain(|s, _| *s > cutoff);
        }
    }

    /// Counts the answer (`0`: dropped).
    pub fn record_status(&mut self, status: u16) {
        *self.by_status.entry(status).or_default() += 1;
    }

    /// The highest number of requests seen in one second.
    pub fn max_per_second(&self) -> u64 {
        self.per_second.values().copied().max().unwrap_or(0)
    }

    /// Requests to one route template.
    pub fn route(&self, template: &str) -> u64 {
        self.by_route.get(template).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_route_status_and_second() {
        let mut s = Stats::default();
        s.record_request("GET /v1/account", 10);
        s.record_request("GET /v1/account", 10);
        s.record_request("POST /v1/privacy/redaction_jobs", 11);
        s.record_status(200);
        s.record_status(0);
        assert_eq!(s.total, 3);
        assert_eq!(s.route("GET /v1/account"), 2);
        assert_eq!(s.max_per_second(), 2);
        assert_eq!(s.by_status[&0], 1);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Stats>(&json).unwrap(), s);
    }
}
