//! Fixtures: a YAML or JSON file that seeds the emulator with objects (type, state,
//! creation time, related objects) and existing jobs, so tests and demos can reproduce
//! situations such as "a customer with an unfinalized PaymentIntent and a 30-day-old
//! charge". Ids not in the fixtures exist too: redactable, with nothing related.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::auth::{check_key, mask, Directory};
use super::graph::{ForcedError, ObjectRecord};
use super::kinds::Kind;
use super::state::sessions::{SESSION_STATUSES, SESSION_TYPE};
use super::state::{Behavior, Delays, NsKey, Status, World};
use super::EmulatorError;

/// The fixtures file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixtures {
    /// Objects of the graph (customers, payment intents, charges, sessions…).
    #[serde(default)]
    pub objects: Vec<FixtureObject>,
    /// Jobs that exist at start.
    #[serde(default)]
    pub jobs: Vec<FixtureJob>,
    /// Customers with e-mail addresses (see [`super::customers`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customers: Vec<super::customers::FixtureCustomer>,
    /// Checkout sessions, guest checkouts included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkout_sessions: Vec<super::customers::FixtureCheckoutSession>,
    /// Customer search: refused, index lag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_search: Option<super::customers::SearchSettings>,
    /// Accounts: which keys belong to them and which accounts are connected to them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<FixtureAccount>,
}

/// One account. A key no account declares belongs to an account of its own (the
/// `--account-id`, or one derived from the key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureAccount {
    /// `acct_…`.
    pub id: String,
    /// Keys of this account (`sk_test_…`, `rk_test_…`): they see the same jobs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// Restricted keys (`rk_test_…`) of this account that may only read: a write answers
    /// 403, as Stripe does for a key without the write permission.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_only_keys: Vec<String>,
    /// Restricted keys (`rk_test_…`) of this account that hold only the redaction-job
    /// permissions: they create and run jobs, but reading a charge, a payment intent… answers
    /// 403 naming the permission it lacks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redaction_only_keys: Vec<String>,
    /// Accounts connected to this one: the only ones its keys may name in `Stripe-Account`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connected: Vec<String>,
}

/// One object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureObject {
    /// The object's id (`cus_…`, `pi_…`).
    pub id: String,
    /// Stripe's object type; inferred from the id prefix when absent.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub object_type: Option<String>,
    /// Its status (`requires_payment_method`, `draft`, `attached`, `requires_action`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Creation time, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    /// Or: its age when the emulator starts (`30d`, `200d`, `2h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<String>,
    /// Objects that belong to it (a customer's payment intents, charges, invoices…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    /// Already redacted.
    #[serde(default)]
    pub redacted: bool,
    /// An unfixable validation error the object always reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ForcedError>,
    /// Only in this mode (`test`/`live`); absent: every namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<FixtureMode>,
    /// Only in this connected account; absent: every namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// `test` or `live`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixtureMode {
    /// Test mode.
    Test,
    /// Live mode.
    Live,
}

/// One existing job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureJob {
    /// Root objects by kind, as in the API.
    pub objects: BTreeMap<Kind, Vec<String>>,
    /// Default `validating` (it validates as a new job would).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Default `error`.
    pub validation_behavior: Option<Behavior>,
    /// Default `test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<FixtureMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The connected account it lives on (default: the platform).
    pub account: Option<String>,
    /// Its age at start (`3d`); default: created at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<String>,
}

/// What is wrong with fixtures: one sentence that names the account, object or job, so
/// that the author of the file can find it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FixtureError(pub String);

impl From<String> for FixtureError {
    fn from(message: String) -> FixtureError {
        FixtureError(message)
    }
}

impl From<&str> for FixtureError {
    fn from(message: &str) -> FixtureError {
        FixtureError(message.to_string())
    }
}

/// Largest fixtures file read (a file named on the command line, so a FIFO is allowed).
pub const MAX_FIXTURES_BYTES: u64 = 256 * 1024 * 1024;

impl Fixtures {
    /// Reads a fixtures file: JSON when it ends in `.json`, YAML otherwise.
    pub fn load(path: &Path) -> Result<Fixtures, EmulatorError> {
        let text = crate::io_limits::read_text_limited(
            path,
            MAX_FIXTURES_BYTES,
            crate::io_limits::Special::Allow,
        )
        .map_err(|e| EmulatorError::Io {
            what: "read the fixtures file",
            path: path.to_path_buf(),
            source: e.into_io(),
        })?;
        let parsed = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            serde_yaml::from_str(&text).map_err(|e| e.to_string())
        };
        let fixtures: Fixtures = parsed.map_err(|message| EmulatorError::Fixtures {
            path: path.to_path_buf(),
            message,
        })?;
        fixtures.check().map_err(|e| EmulatorError::Fixtures {
            path: path.to_path_buf(),
            message: e.0,
        })?;
        Ok(fixtures)
    }

    /// The keys and connected accounts the fixtures declare.
    pub fn directory(&self) -> Directory {
        let mut d = Directory::default();
        for a in &self.accounts {
            for k in &a.keys {
                d.add_key(k, &a.id);
            }
            for k in &a.read_only_keys {
                d.add_read_only_key(k, &a.id);
            }
            for k in &a.redaction_only_keys {
                d.add_redaction_only_key(k, &a.id);
            }
            for c in &a.connected {
                d.connect(&a.id, c);
            }
        }
        d
    }

    /// Checks what serde cannot: ages parse, jobs are well-formed.
    pub fn check(&self) -> Result<(), FixtureError> {
        for a in &self.accounts {
            if !a.id.starts_with("acct_") {
                return Err(format!("account `{}`: an account id starts with acct_", a.id).into());
            }
            if let Some(bad) = a
                .read_only_keys
                .iter()
                .chain(&a.redaction_only_keys)
                .find(|k| !k.starts_with("rk_"))
            {
                return Err(format!(
                    "account {}: `{}` is not a restricted key (rk_…): only those can be read-only",
                    a.id,
                    mask(bad)
                )
                .into());
            }
            if let Some(bad) = a
                .keys
                .iter()
                .chain(&a.read_only_keys)
                .chain(&a.redaction_only_keys)
                .find(|k| check_key(k, None).is_err())
            {
                return Err(format!(
                    "account {}: `{}` is not a secret or restricted key",
                    a.id,
                    mask(bad)
                )
                .into());
            }
        }
        super::customers::check_fixtures(self)?;
        for o in &self.objects {
            if o.id.is_empty() {
                return Err("an object has an empty id".into());
            }
            let record = o.record(0);
            if record.object_type == SESSION_TYPE {
                if let Some(state) = &o.state {
                    if !SESSION_STATUSES.contains(&state.as_str()) {
                        return Err(format!(
                            "object {}: `{state}` is not a verification session status ({})",
                            o.id,
                            SESSION_STATUSES.join(", ")
                        )
                        .into());
                    }
                }
            }
            if let Some(a) = &o.age {
                parse_age(a).map_err(|e| FixtureError(format!("object {}: {e}", o.id)))?;
            }
        }
        for (i, j) in self.jobs.iter().enumerate() {
            let n: usize = j.objects.values().map(Vec::len).sum();
            if n == 0 || n > super::state::MAX_ROOTS {
                return Err(format!("job {i}: must name 1 to 10 objects, names {n}").into());
            }
            for (kind, ids) in &j.objects {
                if let Some(bad) = ids.iter().find(|id| !kind.accepts_id(id)) {
                    return Err(format!("job {i}: `{bad}` is not a {kind} id").into());
                }
            }
            if let Some(a) = &j.age {
                parse_age(a).map_err(|e| FixtureError(format!("job {i}: {e}")))?;
            }
        }
        Ok(())
    }

    /// Objects that go to every namespace.
    pub fn template(&self, now_ms: i64) -> Vec<ObjectRecord> {
        let mut out: Vec<ObjectRecord> = self
            .objects
            .iter()
            .filter(|o| o.mode.is_none() && o.account.is_none())
            .map(|o| o.record(now_ms))
            .collect();
        out.extend(
            self.directory_objects(now_ms)
                .into_iter()
                .filter(|(ns, _)| ns.account.is_none() && !ns.livemode)
                .map(|(_, r)| r),
        );
        out
    }

    /// The customers and checkout sessions of the `customers:`/`checkout_sessions:` keys
    /// as objects a redaction job can name (with their related objects), unless `objects:`
    /// already declares them: what `find` finds, a job can redact.
    fn directory_objects(&self, now_ms: i64) -> Vec<(NsKey, ObjectRecord)> {
        let declared = |id: &str| self.objects.iter().any(|o| o.id == id);
        let created = |age: &Option<String>| {
            age.as_deref()
                .and_then(age_ms)
                .map(|age| (now_ms - age).div_euclid(1000))
                .or(Some(now_ms.div_euclid(1000)))
        };
        let record = |id: &str, object_type: &str, created: Option<i64>, related: Vec<String>| {
            ObjectRecord {
                id: id.to_string(),
                object_type: object_type.to_string(),
                state: None,
                created,
                related,
                redacted: false,
                error: None,
                redaction: None,
            }
        };
        let mut out = Vec::new();
        for c in self.customers.iter().filter(|c| !declared(&c.id)) {
            let ns = ns_of(c.mode, c.account.as_deref());
            out.push((
                ns,
                record(&c.id, "customer", created(&c.age), c.related.clone()),
            ));
        }
        for s in self.checkout_sessions.iter().filter(|s| !declared(&s.id)) {
            let ns = ns_of(s.mode, s.account.as_deref());
            out.push((
                ns,
                record(&s.id, "checkout.session", created(&s.age), Vec::new()),
            ));
        }
        out
    }

    /// Seeds a fresh world: namespaced objects, then jobs (oldest first).
    pub fn apply(
        &self,
        world: &mut World,
        now_ms: i64,
        delays: &Delays,
    ) -> Result<(), FixtureError> {
        for o in self
            .objects
            .iter()
            .filter(|o| o.mode.is_some() || o.account.is_some())
        {
            world.put_object(&ns_of(o.mode, o.account.as_deref()), o.record(now_ms));
        }
        for (ns, record) in self.directory_objects(now_ms) {
            if ns.account.is_some() || ns.livemode {
                world.put_object(&ns, record);
            }
        }
        let mut jobs: Vec<(i64, &FixtureJob)> = self
            .jobs
            .iter()
            .map(|j| (now_ms - j.age.as_deref().and_then(age_ms).unwrap_or(0), j))
            .collect();
        jobs.sort_by_key(|(t, _)| *t);
        for (created_ms, j) in jobs {
            world
                .seed_job(
                    &ns_of(j.mode, j.account.as_deref()),
                    j.objects.clone(),
                    j.validation_behavior.unwrap_or_default(),
                    j.status.unwrap_or(Status::Validating),
                    created_ms,
                    delays,
                )
                .map_err(|e| FixtureError(e.to_string()))?;
        }
        Ok(())
    }
}

fn ns_of(mode: Option<FixtureMode>, account: Option<&str>) -> NsKey {
    NsKey {
        livemode: mode == Some(FixtureMode::Live),
        account: account.map(str::to_string),
    }
}

impl FixtureObject {
    fn record(&self, now_ms: i64) -> ObjectRecord {
        let created = self.created.or_else(|| {
            self.age
                .as_deref()
                .and_then(age_ms)
                .map(|age| (now_ms - age).div_euclid(1000))
        });
        ObjectRecord {
            id: self.id.clone(),
            object_type: self.object_type.clone().unwrap_or_default(),
            state: self.state.clone(),
            created,
            related: self.related.clone(),
            redacted: self.redacted,
            error: self.error.clone(),
            redaction: None,
        }
        .normalized()
    }
}

fn parse_age(s: &str) -> Result<Duration, FixtureError> {
    humantime::parse_duration(s)
        .map_err(|e| FixtureError(format!("`{s}` is not an age ({e}); try 30d or 2h")))
}

/// An age in milliseconds; `None` when it does not parse ([`Fixtures::check`] refuses
/// such fixtures before they are used).
fn age_ms(s: &str) -> Option<i64> {
    parse_age(s)
        .ok()
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
objects:
  - id: cus_guide
    related: [pi_guide, ch_recent]
  - id: pi_guide
    state: requires_payment_method
  - id: ch_recent
    age: 30d
  - id: cus_live_only
    mode: live
jobs:
  - objects: {customers: [cus_other]}
    status: ready
    age: 1d
"#;

    #[test]
    fn yaml_fixtures_seed_objects_and_jobs() {
        let f: Fixtures = serde_yaml::from_str(YAML).unwrap();
        f.check().unwrap();
        let now = 1_800_000_000_000;
        let template = f.template(now);
        assert_eq!(template.len(), 3);
        let ch = template.iter().find(|o| o.id == "ch_recent").unwrap();
        assert_eq!(ch.created, Some(1_800_000_000 - 30 * 86_400));
        assert_eq!(ch.object_type, "charge");
        let mut w = World::new("s", template);
        f.apply(&mut w, now, &Delays::default()).unwrap();
        let test = w.ns(&NsKey::test()).unwrap();
        assert_eq!(test.len(), 1);
        assert!(test.object("cus_live_only").is_none());
        let live = NsKey {
            livemode: true,
            account: None,
        };
        assert!(w.ns(&live).unwrap().object("cus_live_only").is_some());
    }

    #[test]
    fn the_example_file_loads_and_is_not_a_manifest() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/emulator/fixtures.yaml");
        let f = Fixtures::load(&path).unwrap();
        assert!(f.objects.iter().any(|o| o.id == "pi_guide"));
        let raw: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for key in ["version", "account", "defaults", "redactions"] {
            assert!(
                raw.get(key).is_none(),
                "{key} would make it look like a manifest"
            );
        }
        let now = 1_800_000_000_000;
        let mut w = World::new("s", f.template(now));
        f.apply(&mut w, now, &Delays::default()).unwrap();
        assert_eq!(w.job_count(), 2);
    }

    #[test]
    fn bad_fixtures_are_errors() {
        assert!(serde_yaml::from_str::<Fixtures>("objects: [{id: x, colour: red}]").is_err());
        assert!(serde_yaml::from_str::<Fixtures>("redactions: []").is_err());
        let f: Fixtures = serde_yaml::from_str("objects: [{id: ch_1, age: soon}]").unwrap();
        assert!(f.check().is_err());
        let f: Fixtures = serde_yaml::from_str("jobs: [{objects: {customers: [pi_1]}}]").unwrap();
        assert!(f.check().is_err());
    }
}
