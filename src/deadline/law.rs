//! The laws' clocks: how long each regulation gives to answer a deletion request, how far
//! it may be extended, and by when the extension must be notified. One table, so that the
//! rules, their sources and the docs (`docs/deadlines.md`) are read in one place.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use super::date::Date;

/// The regulation a deletion request was made under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regulation {
    Gdpr,
    Ccpa,
    Vcdpa,
    Cpa,
    Ctdpa,
    Lgpd,
    Pipeda,
    /// No law known to redactctl: the entry gives `due:` itself.
    Custom,
}

/// A length of time as a law writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Days(u32),
    /// Calendar months, clamped to the month's end (`Date::add_months`).
    Months(u32),
}

impl Period {
    fn after(self, d: Date) -> Date {
        match self {
            Period::Days(n) => d.add_days(i64::from(n)),
            Period::Months(n) => d.add_months(n),
        }
    }
}

/// One law's clock. The extension, when allowed, must be notified no later than the end of
/// the base period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Time to answer, from the day of receipt.
    pub base: Period,
    /// How much longer an extension may give; `None`: no extension.
    pub extension: Option<Period>,
    /// Where the rule comes from.
    pub source: &'static str,
}

impl Regulation {
    /// Every regulation, in the order the docs list them.
    pub const ALL: [Regulation; 8] = [
        Regulation::Gdpr,
        Regulation::Ccpa,
        Regulation::Vcdpa,
        Regulation::Cpa,
        Regulation::Ctdpa,
        Regulation::Lgpd,
        Regulation::Pipeda,
        Regulation::Custom,
    ];

    /// The name written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Regulation::Gdpr => "gdpr",
            Regulation::Ccpa => "ccpa",
            Regulation::Vcdpa => "vcdpa",
            Regulation::Cpa => "cpa",
            Regulation::Ctdpa => "ctdpa",
            Regulation::Lgpd => "lgpd",
            Regulation::Pipeda => "pipeda",
            Regulation::Custom => "custom",
        }
    }

    /// The law's clock; `None` for `custom`.
    pub fn rule(self) -> Option<Rule> {
        let (base, extension, source) = match self {
            Regulation::Gdpr => (
                Period::Months(1),
                Some(Period::Months(2)),
                "GDPR Art. 12(3); months per Regulation 1182/71 Art. 3(2)(c)",
            ),
            Regulation::Ccpa => (
                Period::Days(45),
                Some(Period::Days(45)),
                "Cal. Civ. Code § 1798.130(a)(2); 11 CCR § 7021(b)",
            ),
            Regulation::Vcdpa => (
                Period::Days(45),
                Some(Period::Days(45)),
                "Va. Code § 59.1-577(B)(1)",
            ),
            Regulation::Cpa => (
                Period::Days(45),
                Some(Period::Days(45)),
                "C.R.S. § 6-1-1306",
            ),
            Regulation::Ctdpa => (
                Period::Days(45),
                Some(Period::Days(45)),
                "Conn. Gen. Stat. § 42-518(c)(1)",
            ),
            Regulation::Lgpd => (Period::Days(15), None, "LGPD (Lei 13.709/2018) Art. 19, II"),
            Regulation::Pipeda => (
                Period::Days(30),
                Some(Period::Days(30)),
                "PIPEDA s. 8(3) and 8(4)",
            ),
            Regulation::Custom => return None,
        };
        Some(Rule {
            base,
            extension,
            source,
        })
    }
}

impl std::fmt::Display for Regulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl JsonSchema for Regulation {
    fn schema_name() -> Cow<'static, str> {
        "Regulation".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = Regulation::ALL.iter().map(|r| r.as_str()).collect();
        json_schema!({
            "description": "The law the request was made under; it sets the due date (`custom`: the entry's `due:`). docs/deadlines.md lists each rule and its source.",
            "type": "string",
            "enum": names,
        })
    }
}

impl Rule {
    /// The due date without extension.
    pub fn due(&self, received: Date) -> Date {
        self.base.after(received)
    }

    /// The latest date an extension may reach. For calendar months the two readings of
    /// "extended by two further months" (from receipt: +3 months; from the first due date:
    /// +1 then +2 months) differ at month ends (31 Jan: 30 Apr or 28 Apr); the earlier is
    /// taken, so that an extension redactctl accepts is valid under both.
    pub fn max_extension(&self, received: Date) -> Option<Date> {
        let ext = self.extension?;
        Some(match (self.base, ext) {
            (Period::Months(b), Period::Months(e)) => {
                let from_receipt = received.add_months(b + e);
                let chained = self.due(received).add_months(e);
                from_receipt.min(chained)
            }
            (base, ext) => ext.after(base.after(received)),
        })
    }

    /// The last day on which an extension may be notified: the end of the base period.
    pub fn notify_by(&self, received: Date) -> Date {
        self.due(received)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn due_dates_and_maximum_extensions_per_regulation() {
        // (regulation, received, due, latest extension)
        let cases: &[(Regulation, &str, &str, Option<&str>)] = &[
            (
                Regulation::Gdpr,
                "2026-03-10",
                "2026-04-10",
                Some("2026-06-10"),
            ),
            (
                Regulation::Gdpr,
                "2026-01-31",
                "2026-02-28",
                Some("2026-04-28"),
            ),
            (
                Regulation::Gdpr,
                "2028-01-31",
                "2028-02-29",
                Some("2028-04-29"),
            ),
            (
                Regulation::Gdpr,
                "2026-12-31",
                "2027-01-31",
                Some("2027-03-31"),
            ),
            (
                Regulation::Gdpr,
                "2026-08-31",
                "2026-09-30",
                Some("2026-11-30"),
            ),
            (
                Regulation::Gdpr,
                "2026-10-31",
                "2026-11-30",
                Some("2027-01-30"),
            ),
            (
                Regulation::Ccpa,
                "2026-01-01",
                "2026-02-15",
                Some("2026-04-01"),
            ),
            (
                Regulation::Ccpa,
                "2028-02-01",
                "2028-03-17",
                Some("2028-05-01"),
            ),
            (
                Regulation::Vcdpa,
                "2026-11-20",
                "2027-01-04",
                Some("2027-02-18"),
            ),
            (
                Regulation::Cpa,
                "2026-11-20",
                "2027-01-04",
                Some("2027-02-18"),
            ),
            (
                Regulation::Ctdpa,
                "2026-11-20",
                "2027-01-04",
                Some("2027-02-18"),
            ),
            (Regulation::Lgpd, "2026-12-20", "2027-01-04", None),
            (
                Regulation::Pipeda,
                "2026-02-15",
                "2026-03-17",
                Some("2026-04-16"),
            ),
            (
                Regulation::Pipeda,
                "2028-02-15",
                "2028-03-16",
                Some("2028-04-15"),
            ),
        ];
        for (reg, received, due, max) in cases {
            let rule = reg.rule().unwrap();
            assert_eq!(rule.due(d(received)), d(due), "{reg} due for {received}");
            assert_eq!(
                rule.max_extension(d(received)),
                max.map(d),
                "{reg} max for {received}"
            );
            assert_eq!(rule.notify_by(d(received)), d(due));
        }
        assert!(Regulation::Custom.rule().is_none());
    }

    #[test]
    fn every_regulation_but_custom_cites_a_source() {
        for reg in Regulation::ALL {
            match reg.rule() {
                Some(rule) => assert!(!rule.source.is_empty(), "{reg}"),
                None => assert_eq!(reg, Regulation::Custom),
            }
        }
    }
}
