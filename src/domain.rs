//! The one vocabulary redactctl speaks: mode, job status, validation behaviour, object kinds
//! and references, and Stripe's per-job object limit. The manifest, the planner, the client
//! and the views all use these types, so that what a manifest means never depends on how
//! HTTP spells it; the client maps its wire models onto them (`stripe::models` re-exports
//! them under their old names). The emulator keeps its own table on purpose: an oracle must
//! not share what it checks.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

pub use crate::kinds::{ObjectKind, ObjectRef};

/// Most root objects Stripe accepts in one redaction job.
pub const MAX_OBJECTS_PER_JOB: usize = 10;

/// Defines a string enum that round-trips values it does not know.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($variant,)+
            /// A value this version of redactctl does not know; kept as sent.
            Unknown(String),
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unknown(s) => s.as_str(),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $($text => $name::$variant,)+
                    _ => $name::Unknown(s),
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name::from(s.to_string())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use open_enum;

open_enum! {
    /// A redaction job's status (STRIPE_API.md).
    JobStatus {
        Created => "created",
        Validating => "validating",
        Ready => "ready",
        Failed => "failed",
        Redacting => "redacting",
        Succeeded => "succeeded",
        Canceling => "canceling",
        Canceled => "canceled",
    }
}

impl JobStatus {
    /// `created`, `validating`, `ready`, `failed`: nothing has been destroyed yet.
    pub fn is_pre_run(&self) -> bool {
        matches!(
            self,
            JobStatus::Created | JobStatus::Validating | JobStatus::Ready | JobStatus::Failed
        )
    }

    /// Pre-run plus `redacting` and `canceling`: the job holds its objects. Unknown
    /// statuses count as active, so that an object is never given to a second job by
    /// mistake.
    pub fn is_active(&self) -> bool {
        self.is_pre_run()
            || matches!(
                self,
                JobStatus::Redacting | JobStatus::Canceling | JobStatus::Unknown(_)
            )
    }

    /// `succeeded` and `canceled` never change again (they may be cached).
    pub fn is_terminal(&self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Canceled)
    }
}

/// Test or live mode, decided by the key's prefix and carried by every object.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Test,
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// The manifest's `validation_behavior`, the planner's decision and the value sent to
// Stripe are this one type (its doc comment is the manifest schema's description).
/// How a job treats fixable validation errors, as declared.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Behavior {
    /// Fixable problems fail validation; a person fixes them (Stripe's default).
    Error,
    /// Fixable problems are fixed when the job runs (e.g. an open PaymentIntent is canceled).
    Fix,
}

impl Behavior {
    pub fn as_str(self) -> &'static str {
        match self {
            Behavior::Error => "error",
            Behavior::Fix => "fix",
        }
    }

    /// Reads Stripe's value leniently: a behaviour this version does not know reads as
    /// unset (Stripe's default, `error`) instead of making the whole job unreadable.
    pub fn lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Behavior>, D::Error> {
        let raw: Option<String> = Option::deserialize(d)?;
        Ok(raw.and_then(|s| s.parse().ok()))
    }
}

/// A behaviour name that is neither `error` nor `fix`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown validation behaviour `{0}` (expected error or fix)")]
pub struct UnknownBehavior(pub String);

impl FromStr for Behavior {
    type Err = UnknownBehavior;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "error" => Ok(Behavior::Error),
            "fix" => Ok(Behavior::Fix),
            other => Err(UnknownBehavior(other.to_string())),
        }
    }
}

/// Test and fixture shorthand (`"fix".into()`): `fix` is [`Behavior::Fix`], anything else
/// Stripe's default, [`Behavior::Error`]. Code reading input parses with `FromStr` instead.
impl From<&str> for Behavior {
    fn from(s: &str) -> Self {
        s.parse().unwrap_or(Behavior::Error)
    }
}

impl fmt::Display for Behavior {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behavior_reads_both_spellings_and_refuses_others() {
        assert_eq!("fix".parse::<Behavior>(), Ok(Behavior::Fix));
        assert_eq!("error".parse::<Behavior>(), Ok(Behavior::Error));
        assert!("shred".parse::<Behavior>().is_err());
    }

    #[test]
    fn unknown_statuses_are_kept_and_count_as_active() {
        let s = JobStatus::from("quarantined");
        assert_eq!(s.as_str(), "quarantined");
        assert!(s.is_active());
        assert!(!s.is_terminal());
    }
}
