//! What a lookup found, route by route, grouped for the manifest and explained for the
//! reviewer: each hit with the routes that found it, its creation date, its mode and the
//! counts of what a job on it would reach; and the warnings about what the exact routes
//! miss. Pure: built from the answers, rendered to text; holds no e-mail address.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::kinds::ObjectKind;

/// A route `find` asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RouteName {
    /// `GET /v1/customers?email=` (exact, case-sensitive).
    CustomersByEmail,
    /// `GET /v1/customers/search?query=email:'…'` (case-insensitive, eventually consistent).
    CustomerSearch,
    /// `GET /v1/checkout/sessions?customer_details[email]=` (guest checkouts).
    CheckoutSessions,
}

impl RouteName {
    /// Every route, in the order they are asked.
    pub const ALL: [RouteName; 3] = [
        RouteName::CustomersByEmail,
        RouteName::CustomerSearch,
        RouteName::CheckoutSessions,
    ];

    /// How the route is shown (without the address).
    pub fn as_str(self) -> &'static str {
        match self {
            RouteName::CustomersByEmail => "GET /v1/customers?email=",
            RouteName::CustomerSearch => "GET /v1/customers/search?query=email:",
            RouteName::CheckoutSessions => "GET /v1/checkout/sessions?customer_details[email]=",
        }
    }

    /// The short name used in the manifest comment and the hit table.
    pub fn short(self) -> &'static str {
        match self {
            RouteName::CustomersByEmail => "email",
            RouteName::CustomerSearch => "search",
            RouteName::CheckoutSessions => "checkout",
        }
    }
}

/// How one route went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteResult {
    /// Answered, with this many hits.
    Answered(usize),
    /// Refused (search not available to the account), with Stripe's message, scrubbed.
    Refused(String),
    /// Could not run (the query was refused, Stripe was unreachable), scrubbed.
    Failed(String),
}

/// One object found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Its kind in a manifest (`customers`, `checkout_sessions`).
    pub kind: ObjectKind,
    pub id: String,
    /// Creation, unix seconds.
    pub created: i64,
    pub livemode: bool,
    /// The routes that returned it.
    pub routes: Vec<RouteName>,
    /// Counts of related objects (customers only), by list name.
    pub counts: Vec<(&'static str, usize)>,
    /// A checkout session's customer; `None` for a guest checkout.
    pub customer: Option<String>,
    /// Its stored address differs from the identifier in letter case.
    pub case_differs: bool,
}

/// Everything a lookup found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Per route, what it answered.
    pub routes: Vec<(RouteName, RouteResult)>,
    /// Hits, by kind then id (as manifests sort objects), each id once.
    pub hits: Vec<Hit>,
    /// Warnings for the reviewer.
    pub warnings: Vec<String>,
    /// When the lookup ran (RFC 3339, seconds).
    pub looked_up_at: String,
}

impl Outcome {
    /// Adds a hit, merging the routes of an id seen before.
    pub fn add(&mut self, hit: Hit) {
        match self
            .hits
            .iter_mut()
            .find(|h| h.id == hit.id && h.kind == hit.kind)
        {
            Some(h) => {
                for r in hit.routes {
                    if !h.routes.contains(&r) {
                        h.routes.push(r);
                    }
                }
                h.case_differs |= hit.case_differs;
            }
            None => self.hits.push(hit),
        }
        self.hits
            .sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    }

    /// The ids by kind, sorted: what the manifest entry lists.
    pub fn grouped(&self) -> BTreeMap<ObjectKind, Vec<String>> {
        let mut out: BTreeMap<ObjectKind, Vec<String>> = BTreeMap::new();
        for h in &self.hits {
            out.entry(h.kind).or_default().push(h.id.clone());
        }
        for ids in out.values_mut() {
            ids.sort();
            ids.dedup();
        }
        out
    }

    /// The routes as one line for the manifest comment: `email (1), search (refused), …`.
    pub fn routes_line(&self) -> String {
        self.routes
            .iter()
            .map(|(r, res)| match res {
                RouteResult::Answered(n) => format!("{} ({n})", r.short()),
                RouteResult::Refused(_) => format!("{} (refused)", r.short()),
                RouteResult::Failed(_) => format!("{} (failed)", r.short()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether anything was found.
    pub fn is_empty(&self) -> bool {
        self.hits.is_empty()
    }
}

/// `YYYY-MM-DD` of a unix time.
pub fn date_of(unix: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()[..10].to_string()
}

/// The human report: one line per route, one per hit, then the warnings.
pub fn render_human(o: &Outcome) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Looked up one e-mail address at {}:", o.looked_up_at);
    for (r, res) in &o.routes {
        let what = match res {
            RouteResult::Answered(1) => "1 hit".to_string(),
            RouteResult::Answered(n) => format!("{n} hits"),
            RouteResult::Refused(m) => format!("refused by the account ({m})"),
            RouteResult::Failed(m) => format!("failed, skipped ({m})"),
        };
        let _ = writeln!(s, "  {:<52} {what}", r.as_str());
    }
    if o.hits.is_empty() {
        let _ = writeln!(s, "\nNo customer or checkout session has this address.");
    } else {
        let _ = writeln!(s, "\nFound:");
    }
    for h in &o.hits {
        let mode = if h.livemode { "live" } else { "test" };
        let via: Vec<&str> = h.routes.iter().map(|r| r.short()).collect();
        let detail = match h.kind {
            ObjectKind::Customers => h
                .counts
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect::<Vec<_>>()
                .join(", "),
            _ => match &h.customer {
                Some(c) => format!("of customer {c}"),
                None => "guest checkout (no customer)".to_string(),
            },
        };
        let case = if h.case_differs {
            " [address differs in letter case]"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "  {:<18} {:<28} created {}  {mode}  via {:<22} {detail}{case}",
            h.kind.as_str(),
            h.id,
            date_of(h.created),
            via.join("+"),
        );
    }
    for w in &o.warnings {
        let _ = writeln!(s, "\nwarning: {w}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(kind: ObjectKind, id: &str, route: RouteName) -> Hit {
        Hit {
            kind,
            id: id.into(),
            created: 1_700_000_000,
            livemode: false,
            routes: vec![route],
            counts: vec![("charges", 2)],
            customer: None,
            case_differs: false,
        }
    }

    #[test]
    fn hits_merge_by_id_and_group_by_kind() {
        let mut o = Outcome::default();
        o.add(hit(
            ObjectKind::Customers,
            "cus_B",
            RouteName::CustomerSearch,
        ));
        o.add(hit(
            ObjectKind::CheckoutSessions,
            "cs_test_1",
            RouteName::CheckoutSessions,
        ));
        o.add(hit(
            ObjectKind::Customers,
            "cus_A",
            RouteName::CustomersByEmail,
        ));
        o.add(hit(
            ObjectKind::Customers,
            "cus_A",
            RouteName::CustomerSearch,
        ));
        assert_eq!(o.hits.len(), 3);
        assert_eq!(o.hits[1].id, "cus_A");
        assert_eq!(
            o.hits[1].routes,
            [RouteName::CustomersByEmail, RouteName::CustomerSearch]
        );
        let g = o.grouped();
        assert_eq!(g[&ObjectKind::Customers], ["cus_A", "cus_B"]);
        assert_eq!(g[&ObjectKind::CheckoutSessions], ["cs_test_1"]);
    }

    #[test]
    fn routes_line_and_report() {
        let mut o = Outcome {
            routes: vec![
                (RouteName::CustomersByEmail, RouteResult::Answered(1)),
                (
                    RouteName::CustomerSearch,
                    RouteResult::Refused("no search".into()),
                ),
                (RouteName::CheckoutSessions, RouteResult::Answered(0)),
            ],
            looked_up_at: "2026-11-27T09:00:00Z".into(),
            ..Outcome::default()
        };
        o.add(hit(
            ObjectKind::Customers,
            "cus_A",
            RouteName::CustomersByEmail,
        ));
        assert_eq!(o.routes_line(), "email (1), search (refused), checkout (0)");
        let text = render_human(&o);
        assert!(
            text.contains("refused by the account (no search)"),
            "{text}"
        );
        assert!(
            text.contains("cus_A") && text.contains("2 charges"),
            "{text}"
        );
        assert_eq!(date_of(1_700_000_000), "2023-11-14");
        o.routes[1].1 = RouteResult::Failed("cannot reach Stripe".into());
        assert_eq!(o.routes_line(), "email (1), search (failed), checkout (0)");
        assert!(render_human(&o).contains("failed, skipped (cannot reach Stripe)"));
    }
}
