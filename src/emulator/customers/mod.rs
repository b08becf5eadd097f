//! Customers with e-mail addresses, guest checkout sessions and the objects hanging off a
//! customer (charges, payment intents, invoices, subscriptions): what a person looks up
//! before a deletion request becomes a manifest. Its own state (the [`Directory`]), its
//! own routes and fixtures keys, apart from the redaction-job state machine.
//!
//! Routes, answering like Stripe (lists newest first with `limit`, `starting_after`,
//! `ending_before`; searches as `search_result` objects with `next_page`):
//! `GET /v1/customers?email=` (exact, case-sensitive), `GET /v1/customers/search?query=`
//! (see [`super::search`]; eventually consistent: a customer becomes searchable an
//! index lag after creation; an account may have search refused), `POST /v1/customers`,
//! `GET /v1/customers/:id`, `GET /v1/checkout/sessions?customer_details[email]=`, and
//! `GET /v1/{charges,payment_intents,invoices,subscriptions}?customer=`.

mod api;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::fixtures::{FixtureError, FixtureMode, Fixtures};
use super::search::Searchable;
use super::state::NsKey;

pub use api::{dispatch, render_customer, render_session, Route};

/// How customer search behaves (fixtures key `customer_search`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSettings {
    /// `false`: every search is refused, as for accounts Stripe does not offer search to.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// How long after creation a customer becomes searchable (`0s` by default; Stripe
    /// says up to an hour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_lag: Option<String>,
    /// Connected accounts whose searches are refused (the platform keeps search).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused_accounts: Vec<String>,
}

fn yes() -> bool {
    true
}

impl Default for SearchSettings {
    fn default() -> Self {
        SearchSettings {
            enabled: true,
            index_lag: None,
            refused_accounts: Vec::new(),
        }
    }
}

/// A customer in the fixtures (key `customers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureCustomer {
    /// `cus_…`.
    pub id: String,
    /// Its e-mail address, as stored (case kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// Age at start (`400d`); default: created at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<String>,
    /// Charges (`ch_`), payment intents (`pi_`), invoices (`in_`) and subscriptions
    /// (`sub_`) of this customer, listed by `?customer=`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    /// `false`: not in the search index yet, whatever the lag.
    #[serde(default = "yes")]
    pub indexed: bool,
    /// Only in this mode; absent: test mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<FixtureMode>,
    /// Only on this connected account; absent: the platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// A checkout session in the fixtures (key `checkout_sessions`): a guest checkout has an
/// e-mail address and no customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureCheckoutSession {
    /// `cs_test_…` / `cs_live_…`.
    pub id: String,
    /// `customer_details.email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The customer it belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// Age at start; default: created at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<String>,
    /// Only in this mode; absent: test mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<FixtureMode>,
    /// Only on this connected account; absent: the platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// A customer as the emulator holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// `cus_…`.
    pub id: String,
    /// Creation, unix ms.
    pub created_ms: i64,
    /// E-mail address.
    pub email: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Metadata.
    pub metadata: BTreeMap<String, String>,
    /// When it becomes searchable (unix ms); `None`: never.
    pub searchable_from_ms: Option<i64>,
    /// Related object ids.
    pub related: Vec<String>,
}

impl Searchable for Customer {
    fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }
}

/// A checkout session as the emulator holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckoutSession {
    /// `cs_…`.
    pub id: String,
    /// Creation, unix ms.
    pub created_ms: i64,
    /// `customer_details.email`.
    pub email: Option<String>,
    /// Its customer.
    pub customer: Option<String>,
}

/// One namespace's customers and sessions, newest last.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Space {
    customers: Vec<Customer>,
    sessions: Vec<CheckoutSession>,
}

/// Every namespace's customers and sessions, and the search settings.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    spaces: BTreeMap<NsKey, Space>,
    settings: SearchSettings,
    index_lag_ms: i64,
}

fn ns_of(mode: Option<FixtureMode>, account: Option<&str>) -> NsKey {
    NsKey {
        livemode: mode == Some(FixtureMode::Live),
        account: account.map(str::to_string),
    }
}

fn age_ms(age: Option<&str>) -> i64 {
    age.and_then(|a| humantime::parse_duration(a).ok())
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Checks the fixtures keys of this module (ages and lags parse, ids have their prefix).
pub fn check_fixtures(f: &Fixtures) -> Result<(), FixtureError> {
    let age_ok = |what: &str, a: &Option<String>| match a {
        Some(a) => humantime::parse_duration(a).map(|_| ()).map_err(|e| {
            FixtureError(format!(
                "{what}: `{a}` is not a duration ({e}); try 30d or 2h"
            ))
        }),
        None => Ok(()),
    };
    for c in &f.customers {
        if !c.id.starts_with("cus_") {
            return Err(format!("customer `{}`: ids start with cus_", c.id).into());
        }
        age_ok(&format!("customer {}", c.id), &c.age)?;
    }
    for s in &f.checkout_sessions {
        if !s.id.starts_with("cs_") {
            return Err(format!("checkout session `{}`: ids start with cs_", s.id).into());
        }
        age_ok(&format!("checkout session {}", s.id), &s.age)?;
    }
    if let Some(s) = &f.customer_search {
        age_ok("customer_search.index_lag", &s.index_lag)?;
    }
    Ok(())
}

impl Directory {
    /// The directory the fixtures describe, at `now_ms`. Fixture customers are indexed
    /// from their creation plus the lag (unless `indexed: false`).
    pub fn from_fixtures(f: &Fixtures, now_ms: i64) -> Directory {
        let settings = f.customer_search.clone().unwrap_or_default();
        let mut d = Directory {
            index_lag_ms: age_ms(settings.index_lag.as_deref()),
            settings,
            ..Directory::default()
        };
        let mut customers: Vec<(NsKey, Customer)> = f
            .customers
            .iter()
            .map(|c| {
                let created_ms = now_ms - age_ms(c.age.as_deref());
                let customer = Customer {
                    id: c.id.clone(),
                    created_ms,
                    email: c.email.clone(),
                    name: c.name.clone(),
                    metadata: c.metadata.clone(),
                    searchable_from_ms: c.indexed.then_some(created_ms + d.index_lag_ms),
                    related: c.related.clone(),
                };
                (ns_of(c.mode, c.account.as_deref()), customer)
            })
            .collect();
        customers.sort_by_key(|(_, c)| c.created_ms);
        for (ns, c) in customers {
            d.spaces.entry(ns).or_default().customers.push(c);
        }
        let mut sessions: Vec<(NsKey, CheckoutSession)> = f
            .checkout_sessions
            .iter()
            .map(|s| {
                let session = CheckoutSession {
                    id: s.id.clone(),
                    created_ms: now_ms - age_ms(s.age.as_deref()),
                    email: s.email.clone(),
                    customer: s.customer.clone(),
                };
                (ns_of(s.mode, s.account.as_deref()), session)
            })
            .collect();
        sessions.sort_by_key(|(_, s)| s.created_ms);
        for (ns, s) in sessions {
            d.spaces.entry(ns).or_default().sessions.push(s);
        }
        d
    }

    /// What `--state` saves: the customers and sessions of every namespace (the search
    /// settings come from the configuration, as the job world's rules do).
    pub fn spaces(&self) -> &BTreeMap<NsKey, Space> {
        &self.spaces
    }

    /// This directory with the customers and sessions a state file saved, in place of the
    /// fixtures' (a saved world already began from them; customers made since are kept).
    pub fn with_spaces(mut self, spaces: BTreeMap<NsKey, Space>) -> Directory {
        self.spaces = spaces;
        self
    }

    fn space(&self, ns: &NsKey) -> Option<&Space> {
        self.spaces.get(ns)
    }

    /// Gives an account's namespace its copy of the mode's template (what the fixtures
    /// declare without an account), the first time the account is seen: as the job world
    /// does, every account starts with the fixtures' objects.
    pub fn ensure_space(&mut self, ns: &NsKey) {
        if ns.account.is_none() || self.spaces.contains_key(ns) {
            return;
        }
        let template = NsKey {
            livemode: ns.livemode,
            account: None,
        };
        let copy = self.spaces.get(&template).cloned().unwrap_or_default();
        self.spaces.insert(ns.clone(), copy);
    }

    fn search_refused(&self, ns: &NsKey) -> bool {
        !self.settings.enabled
            || ns
                .account
                .as_ref()
                .is_some_and(|a| self.settings.refused_accounts.contains(a))
    }
}
