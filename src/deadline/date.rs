//! A calendar date (proleptic Gregorian, no time zone) and the two kinds of arithmetic the
//! laws use: whole days, and calendar months clamped to the month's end.
//!
//! Why not a date crate: the arithmetic needed is small, must follow one documented rule
//! for month ends (`docs/deadlines.md`), and a dependency would cost every engineer's
//! build on a shared machine. Days are counted from 1970-01-01 (civil-from-days after
//! Howard Hinnant's public-domain algorithms).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Earliest and latest years accepted when parsing: anything else is a typo, not a date a
/// deletion request was received on.
const MIN_YEAR: i32 = 1970;
const MAX_YEAR: i32 = 9999;

/// A day in the calendar, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Days since 1970-01-01.
    days: i64,
}

/// Why a text is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("`{0}` is not a date written YYYY-MM-DD")]
    Format(String),
    #[error("`{0}` is not a day of the calendar")]
    NoSuchDay(String),
    #[error("`{0}` is outside the years {MIN_YEAR}-{MAX_YEAR}")]
    Year(String),
}

impl Date {
    /// The date of year `y`, month `m` (1-12), day `d`; `None` when there is no such day.
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Date> {
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        Some(Date {
            days: days_from_civil(y, m, d),
        })
    }

    /// The UTC day of a Unix timestamp (seconds). Stripe's timestamps are UTC; so are
    /// completion days in receipts.
    pub fn from_unix(secs: i64) -> Date {
        Date {
            days: secs.div_euclid(86_400),
        }
    }

    /// Year, month (1-12) and day (1-31).
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.days)
    }

    /// This date plus `n` days (`n` may be negative).
    pub fn add_days(self, n: i64) -> Date {
        Date {
            days: self.days + n,
        }
    }

    /// The same day-of-month `n` calendar months later; when that month is shorter, its
    /// last day (31 January + 1 month = 28 or 29 February). The rule of Regulation (EEC,
    /// Euratom) No 1182/71, Art. 3(2)(c), which GDPR periods follow.
    pub fn add_months(self, n: u32) -> Date {
        let (y, m, d) = self.ymd();
        let index = i64::from(y) * 12 + i64::from(m - 1) + i64::from(n);
        let year = index.div_euclid(12) as i32;
        let month = index.rem_euclid(12) as u32 + 1;
        let day = d.min(days_in_month(year, month));
        Date {
            days: days_from_civil(year, month, day),
        }
    }

    /// Days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: Date) -> i64 {
        later.days - self.days
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl FromStr for Date {
    type Err = DateError;

    /// Exactly `YYYY-MM-DD` (what YAML and ISO 8601 call a date): no time, no zone.
    fn from_str(s: &str) -> Result<Date, DateError> {
        let bytes = s.as_bytes();
        let shaped = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shaped {
            return Err(DateError::Format(s.to_string()));
        }
        let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
        let (y, m, d) = (num(0..4) as i32, num(5..7), num(8..10));
        if !(MIN_YEAR..=MAX_YEAR).contains(&y) {
            return Err(DateError::Year(s.to_string()));
        }
        Date::from_ymd(y, m, d).ok_or_else(|| DateError::NoSuchDay(s.to_string()))
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Date {
    fn schema_name() -> Cow<'static, str> {
        "Date".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A calendar date, YYYY-MM-DD.",
            "type": "string",
            "format": "date",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        })
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in month `m` (1-12) of year `y`.
pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((y + i64::from(m <= 2)) as i32, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_round_trip() {
        for s in [
            "1970-01-01",
            "2024-02-29",
            "2026-12-31",
            "2000-02-29",
            "9999-12-31",
        ] {
            assert_eq!(d(s).to_string(), s);
        }
        assert_eq!(Date::from_unix(0), d("1970-01-01"));
        assert_eq!(Date::from_unix(1_767_225_599), d("2025-12-31"));
        assert_eq!(Date::from_unix(1_767_225_600), d("2026-01-01"));
    }

    #[test]
    fn refuses_what_is_not_a_day() {
        for s in [
            "2026-02-29",
            "1900-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "2026-1-5",
            "26-01-05",
            "2026/01/05",
            "2026-01-05T10:00:00Z",
            "1969-12-31",
            "",
            "２０２６-01-05",
        ] {
            assert!(s.parse::<Date>().is_err(), "{s} parsed");
        }
    }

    #[test]
    fn adds_calendar_months_clamping_to_the_month_end() {
        let cases = [
            ("2026-01-15", 1, "2026-02-15"),
            ("2026-01-31", 1, "2026-02-28"),
            ("2028-01-31", 1, "2028-02-29"),
            ("2100-01-31", 1, "2100-02-28"),
            ("2000-01-31", 1, "2000-02-29"),
            ("2026-03-31", 1, "2026-04-30"),
            ("2026-12-31", 1, "2027-01-31"),
            ("2026-11-30", 3, "2027-02-28"),
            ("2026-01-31", 3, "2026-04-30"),
            ("2026-02-28", 1, "2026-03-28"),
            ("2026-08-31", 0, "2026-08-31"),
            ("2026-05-31", 12, "2027-05-31"),
        ];
        for (from, n, want) in cases {
            assert_eq!(d(from).add_months(n), d(want), "{from} + {n} months");
        }
    }

    #[test]
    fn adds_days_across_months_years_and_leap_days() {
        let cases = [
            ("2026-01-01", 45, "2026-02-15"),
            ("2028-02-01", 45, "2028-03-17"),
            ("2026-02-01", 45, "2026-03-18"),
            ("2026-12-01", 45, "2027-01-15"),
            ("2026-03-01", -1, "2026-02-28"),
            ("2028-03-01", -1, "2028-02-29"),
        ];
        for (from, n, want) in cases {
            assert_eq!(d(from).add_days(n), d(want), "{from} + {n} days");
            assert_eq!(d(from).days_until(d(want)), n);
        }
    }
}
