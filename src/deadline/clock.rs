//! "Today", read once at the edge. `REDACTCTL_TODAY=YYYY-MM-DD` overrides the system
//! clock: for tests and for runs that must be reproducible (re-rendering yesterday's
//! status). Everything else takes the date as an argument.

use std::time::{SystemTime, UNIX_EPOCH};

use super::date::{Date, DateError};

/// The environment variable that overrides the clock.
pub const TODAY_ENV: &str = "REDACTCTL_TODAY";

/// `REDACTCTL_TODAY` holds something that is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{TODAY_ENV} must be a date written YYYY-MM-DD: {0}")]
pub struct TodayError(#[source] pub DateError);

/// Today's date in UTC, or `REDACTCTL_TODAY` when set (and not empty).
pub fn today() -> Result<Date, TodayError> {
    match std::env::var(TODAY_ENV) {
        Ok(text) if !text.trim().is_empty() => today_from(Some(&text), system_now()),
        _ => today_from(None, system_now()),
    }
}

/// `today` with its inputs made explicit (the override, the Unix time now).
pub fn today_from(over: Option<&str>, now_secs: i64) -> Result<Date, TodayError> {
    match over {
        Some(text) => text.trim().parse().map_err(TodayError),
        None => Ok(Date::from_unix(now_secs)),
    }
}

fn system_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_override_wins_and_is_validated() {
        let now = 1_767_225_600; // 2026-01-01
        assert_eq!(today_from(None, now).unwrap().to_string(), "2026-01-01");
        assert_eq!(
            today_from(Some("2027-03-04"), now).unwrap().to_string(),
            "2027-03-04"
        );
        let err = today_from(Some("tomorrow"), now).unwrap_err();
        assert!(err.to_string().contains("REDACTCTL_TODAY"), "{err}");
    }
}
