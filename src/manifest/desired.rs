//! `Desired`: what the manifests ask for, after loading, merging and checking. This is the
//! planner's input; it carries no YAML and no HTTP, only resolved values and where each
//! entry was written (so that plans and errors can point back at the file).

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::deadline::DeadlineSpec;
pub use crate::domain::{Behavior, Mode};
use crate::kinds::ObjectRef;

/// A place in a manifest file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// Where an entry should end up.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DesiredState {
    /// Created and validated; nothing destroyed (the first half of a two-phase review).
    Validated,
    /// Run to completion: the data is gone.
    Redacted,
    /// Jobs canceled before running; objects released.
    Canceled,
}

impl DesiredState {
    pub fn as_str(self) -> &'static str {
        match self {
            DesiredState::Validated => "validated",
            DesiredState::Redacted => "redacted",
            DesiredState::Canceled => "canceled",
        }
    }
}

/// Which Stripe mechanism redacts an entry.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The Redaction Jobs API (default).
    RedactionJob,
    /// `POST /v1/identity/verification_sessions/:id/redact`, one call per session.
    IdentityRedact,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::RedactionJob => "redaction_job",
            Via::IdentityRedact => "identity_redact",
        }
    }
}

/// The account the manifests are about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSpec {
    pub mode: Mode,
    pub id: Option<String>,
    pub connected_account: Option<String>,
}

/// One redaction request, with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub ticket: Option<String>,
    /// Sorted by kind then id, without duplicates.
    pub objects: Vec<ObjectRef>,
    pub validation_behavior: Behavior,
    pub state: DesiredState,
    pub via: Via,
    /// Where the entry's `name` was written.
    pub location: Location,
    /// When the request was received, under which law, and any extension (empty when the
    /// entry says nothing about its deadline). Not part of the digest: it changes no
    /// action.
    #[serde(default, skip_serializing_if = "DeadlineSpec::is_empty")]
    pub deadline: DeadlineSpec,
    /// Kinds of fix the reviewed manifest pre-approves (entry, else `defaults`), sorted,
    /// without duplicates. A fix of another kind still needs a plan that shows it.
    #[serde(default)]
    pub allowed_fixes: Vec<crate::manifest::FixKind>,
}

/// Everything the loaded manifests declare. Entries are sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Desired {
    pub account: AccountSpec,
    pub entries: Vec<Entry>,
    /// SHA-256 (hex) over the canonical form of `account` and `entries` (not over file
    /// bytes: comments and formatting do not make a saved plan stale).
    pub digest: String,
}

impl Desired {
    /// The entry with this name.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.entries[i])
    }
}
