//! The emulator's pure state machine: redaction jobs and their transitions, locks, the
//! object graph, identity sessions and namespaces. No I/O and no clock: every operation
//! takes `now_ms`, and time-driven transitions (validation, redaction, canceling, session
//! redaction) are derived from the timestamp at which each phase started, so a state
//! loaded from disk advances by itself to wherever time has moved.
//!
//! Validation outcomes are decided when validation *starts* (create or validate) and
//! revealed when it ends; locks are taken at that moment. Requests are serialized, so
//! "who holds an object first" is always well defined.
//!
//! Layout, one concern per file: [`jobs`] is the job state machine (statuses, actions,
//! time-driven transitions); `objects` is the object graph of a namespace and who holds
//! what (locks); `rules` decides what a validation finds; [`idempotency`] stores the
//! results of keyed requests; `sessions` is the identity-session redaction path. This
//! file holds the namespaces and the world that owns them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::graph::ObjectRecord;

pub mod idempotency;
pub mod jobs;
mod objects;
mod rules;
pub mod sessions;
#[cfg(test)]
mod tests;

pub use idempotency::{IdempotentResult, IDEMPOTENCY_TTL_MS};
pub use jobs::{Behavior, Delays, Job, StateError, Status, ValidationError, MAX_ROOTS};

/// What happened, for webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A job was created.
    JobCreated,
    /// Validation passed.
    JobReady,
    /// Redaction finished.
    JobSucceeded,
    /// Cancel finished.
    JobCanceled,
    /// Validation failed.
    JobValidationError,
    /// A verification session's redaction finished.
    SessionRedacted,
}

impl EventKind {
    /// Stripe's event type.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::JobCreated => "privacy.redaction_job.created",
            EventKind::JobReady => "privacy.redaction_job.ready",
            EventKind::JobSucceeded => "privacy.redaction_job.succeeded",
            EventKind::JobCanceled => "privacy.redaction_job.canceled",
            EventKind::JobValidationError => "privacy.redaction_job.validation_error",
            EventKind::SessionRedacted => "identity.verification_session.redacted",
        }
    }
}

/// One event: its kind, where, and the id of the object it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// Where.
    pub ns: NsKey,
    /// The job or session id.
    pub subject: String,
    /// Unix ms at which the transition happened.
    pub at_ms: i64,
}

/// A namespace: test or live mode, and the connected account (`Stripe-Account`) if any.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NsKey {
    /// Live mode.
    pub livemode: bool,
    /// The `Stripe-Account`, if any.
    pub account: Option<String>,
}

impl NsKey {
    /// Test mode, no connected account.
    pub fn test() -> NsKey {
        NsKey {
            livemode: false,
            account: None,
        }
    }
}

impl fmt::Display for NsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.livemode { "live" } else { "test" })?;
        if let Some(a) = &self.account {
            write!(f, "/{a}")?;
        }
        Ok(())
    }
}

/// A namespace that is neither `live`, `test`, nor one of them with `/ACCOUNT`.
#[derive(Debug, thiserror::Error)]
#[error("bad namespace `{0}`: expected live, test, live/ACCOUNT or test/ACCOUNT")]
pub struct BadNamespace(String);

impl FromStr for NsKey {
    type Err = BadNamespace;
    fn from_str(s: &str) -> Result<Self, BadNamespace> {
        let (mode, account) = match s.split_once('/') {
            Some((m, a)) => (m, Some(a.to_string())),
            None => (s, None),
        };
        let livemode = match mode {
            "live" => true,
            "test" => false,
            _ => return Err(BadNamespace(s.to_string())),
        };
        Ok(NsKey { livemode, account })
    }
}

impl Serialize for NsKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for NsKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Everything in one namespace.
#[derive(Debug, Default, Clone)]
pub struct Namespace {
    /// Jobs by (created, seq): iterating backwards is newest first.
    jobs: BTreeMap<(i64, u64), Job>,
    index: HashMap<String, (i64, u64)>,
    /// Jobs whose status ends by itself.
    transient: BTreeSet<(i64, u64)>,
    /// Job keys by status, so that a status-filtered list costs what it returns rather
    /// than a walk over the whole history (kept in step by `insert_job` and `moved`).
    by_status: HashMap<Status, BTreeSet<(i64, u64)>>,
    /// Object id → ids of active jobs reaching it.
    holders: HashMap<String, BTreeSet<String>>,
    objects: HashMap<String, ObjectRecord>,
    /// Sessions whose redaction is `processing`.
    sessions_processing: BTreeSet<String>,
    /// Idempotency key → first result.
    pub idempotency: HashMap<String, IdempotentResult>,
}

/// The serialized form of a namespace.
#[derive(Serialize, Deserialize)]
struct NamespaceData {
    jobs: Vec<Job>,
    objects: BTreeMap<String, ObjectRecord>,
    #[serde(default)]
    idempotency: BTreeMap<String, IdempotentResult>,
}

impl Serialize for Namespace {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Seq<'a, I: Iterator + Clone>(&'a I);
        impl<I> Serialize for Seq<'_, I>
        where
            I: Iterator + Clone,
            I::Item: Serialize,
        {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(self.0.clone())
            }
        }
        let objects: BTreeMap<&String, &ObjectRecord> = self.objects.iter().collect();
        let idem: BTreeMap<&String, &IdempotentResult> = self.idempotency.iter().collect();
        let mut st = s.serialize_struct("Namespace", 3)?;
        st.serialize_field("jobs", &Seq(&self.jobs.values()))?;
        st.serialize_field("objects", &objects)?;
        st.serialize_field("idempotency", &idem)?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Namespace {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let data = NamespaceData::deserialize(d)?;
        let mut ns = Namespace {
            objects: data.objects.into_iter().collect(),
            idempotency: data.idempotency.into_iter().collect(),
            ..Namespace::default()
        };
        for job in data.jobs {
            ns.insert_job(job);
        }
        let processing: Vec<String> = ns
            .objects
            .values()
            .filter(|o| {
                o.redaction
                    .as_ref()
                    .is_some_and(|r| r.status == "processing")
            })
            .map(|o| o.id.clone())
            .collect();
        ns.sessions_processing.extend(processing);
        Ok(ns)
    }
}

/// Every namespace, plus what is needed to mint ids and seed new namespaces.
#[derive(Debug, Serialize, Deserialize)]
pub struct World {
    /// Format version of the persisted state.
    pub version: u32,
    /// Random per world: ids of different worlds differ.
    salt: String,
    next_seq: u64,
    /// Fixture objects every new namespace starts with.
    #[serde(default)]
    template: Vec<ObjectRecord>,
    namespaces: BTreeMap<NsKey, Namespace>,
    /// Events not yet taken by [`World::drain_events`].
    #[serde(skip)]
    events: Vec<Event>,
    /// Rules set by the configuration, not persisted (a restart may change them).
    #[serde(skip)]
    policy: Policy,
}

/// A job reaching more related objects than this fails with `too_many_objects` (Stripe
/// documents the code but not the number: an invented default, configurable).
pub const DEFAULT_MAX_RELATED_OBJECTS: usize = 1_000;

/// The configurable rules of the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// `true`: ids that no fixture describes exist (redactable, nothing related), the
    /// forgiving mode for benchmarks and quick trials. `false` (Stripe's behaviour): they
    /// do not exist.
    pub unknown_objects_exist: bool,
    /// Above this many reached objects (roots and related), validation fails with
    /// `too_many_objects`.
    pub max_related_objects: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            unknown_objects_exist: false,
            max_related_objects: DEFAULT_MAX_RELATED_OBJECTS,
        }
    }
}

/// The persisted format's version.
pub const STATE_VERSION: u32 = 1;

impl World {
    /// An empty world whose namespaces start with `template` objects.
    pub fn new(salt: impl Into<String>, template: Vec<ObjectRecord>) -> World {
        World {
            version: STATE_VERSION,
            salt: salt.into(),
            next_seq: 1,
            template: template.into_iter().map(ObjectRecord::normalized).collect(),
            namespaces: BTreeMap::new(),
            events: Vec::new(),
            policy: Policy::default(),
        }
    }

    /// Sets the configurable rules (after a load too: they are not persisted).
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
    }

    /// The configurable rules.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Whether object `id` exists in namespace `key` (described by the fixtures, touched
    /// by a job, or any id when the policy says unknown objects exist).
    pub fn object_exists(&mut self, key: &NsKey, id: &str) -> bool {
        self.policy.unknown_objects_exist || self.ns_mut(key).object(id).is_some()
    }

    fn mint(&mut self, prefix: &str) -> (String, u64) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let digest = Sha256::digest(format!("{}:{seq}", self.salt).as_bytes());
        let body: String = digest
            .iter()
            .take(12)
            .map(|b| {
                const ALPHABET: &[u8] =
                    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
                char::from(ALPHABET[usize::from(*b) % ALPHABET.len()])
            })
            .collect();
        (format!("{prefix}{body}{seq:x}"), seq)
    }

    /// A fresh id with `prefix` (`evt_`, `req_`…), unique in this world.
    pub fn new_id(&mut self, prefix: &str) -> String {
        self.mint(prefix).0
    }

    /// The namespace, created on first use. An account's namespace starts as a copy of
    /// the mode's template namespace (account `None`: what the fixtures seed for every
    /// account, objects and jobs), or with the template objects when there is none.
    pub fn ns_mut(&mut self, key: &NsKey) -> &mut Namespace {
        if !self.namespaces.contains_key(key) {
            let base = NsKey {
                livemode: key.livemode,
                account: None,
            };
            let seed = match self.namespaces.get(&base) {
                Some(t) if key.account.is_some() => {
                    let mut ns = t.clone();
                    ns.idempotency.clear();
                    ns
                }
                _ => Namespace {
                    objects: self
                        .template
                        .iter()
                        .map(|o| (o.id.clone(), o.clone()))
                        .collect(),
                    ..Namespace::default()
                },
            };
            self.namespaces.insert(key.clone(), seed);
        }
        self.namespaces.entry(key.clone()).or_default()
    }

    /// The namespace, if it exists (read-only callers should [`World::advance`] first).
    pub fn ns(&self, key: &NsKey) -> Option<&Namespace> {
        self.namespaces.get(key)
    }

    /// Adds an object to one namespace (fixtures with a namespace).
    pub fn put_object(&mut self, key: &NsKey, object: ObjectRecord) {
        let object = object.normalized();
        self.ns_mut(key).objects.insert(object.id.clone(), object);
    }

    /// Materializes every time-driven transition up to `now_ms` in one namespace.
    pub fn advance(&mut self, key: &NsKey, now_ms: i64, delays: &Delays) {
        let mut events = std::mem::take(&mut self.events);
        self.ns_mut(key).advance(key, now_ms, delays, &mut events);
        self.events = events;
    }

    /// Materializes every namespace (the webhook ticker).
    pub fn advance_all(&mut self, now_ms: i64, delays: &Delays) {
        let mut events = std::mem::take(&mut self.events);
        // Templates (account `None`) are not an account: their jobs' events would be
        // duplicates of the events of each account's copy.
        for (key, ns) in self.namespaces.iter_mut() {
            if key.account.is_some() {
                ns.advance(key, now_ms, delays, &mut events);
            }
        }
        self.events = events;
    }

    /// Takes the events produced since the last call.
    pub fn drain_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Total jobs over every namespace.
    pub fn job_count(&self) -> usize {
        self.namespaces.values().map(Namespace::len).sum()
    }
}
