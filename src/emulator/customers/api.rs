//! The HTTP side of [`super`]: routes, Stripe's parameter checks and errors, list and
//! search pages, and the JSON of customers, checkout sessions and related objects.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{CheckoutSession, Customer, Directory, Space};
use crate::emulator::api::{ApiError, Ctx};
use crate::emulator::form::Node;
use crate::emulator::search;

type Params = BTreeMap<String, Node>;

/// A route of this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /v1/customers`.
    ListCustomers,
    /// `POST /v1/customers`.
    CreateCustomer,
    /// `GET /v1/customers/search`.
    SearchCustomers,
    /// `GET /v1/customers/:id`.
    GetCustomer(String),
    /// `GET /v1/checkout/sessions`.
    ListCheckoutSessions,
    /// `GET /v1/charges`, `/v1/payment_intents`, `/v1/invoices`, `/v1/subscriptions`:
    /// the id prefix and Stripe object name of what is listed.
    ListRelated(&'static str, &'static str),
}

impl Route {
    /// The route of a request, when it is one of this module's.
    pub fn parse(method: &str, path: &str) -> Option<Route> {
        let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        Some(match (method, segs.as_slice()) {
            ("GET", ["v1", "customers"]) => Route::ListCustomers,
            ("POST", ["v1", "customers"]) => Route::CreateCustomer,
            ("GET", ["v1", "customers", "search"]) => Route::SearchCustomers,
            ("GET", ["v1", "customers", id]) => Route::GetCustomer((*id).to_string()),
            ("GET", ["v1", "checkout", "sessions"]) => Route::ListCheckoutSessions,
            ("GET", ["v1", "charges"]) => Route::ListRelated("ch_", "charge"),
            ("GET", ["v1", "payment_intents"]) => Route::ListRelated("pi_", "payment_intent"),
            ("GET", ["v1", "invoices"]) => Route::ListRelated("in_", "invoice"),
            ("GET", ["v1", "subscriptions"]) => Route::ListRelated("sub_", "subscription"),
            _ => return None,
        })
    }

    /// The template for stats and per-endpoint rate limits.
    pub fn template(&self, method: &str) -> String {
        let t = match self {
            Route::ListCustomers | Route::CreateCustomer => "/v1/customers",
            Route::SearchCustomers => "/v1/customers/search",
            Route::GetCustomer(_) => "/v1/customers/:id",
            Route::ListCheckoutSessions => "/v1/checkout/sessions",
            Route::ListRelated(_, "charge") => "/v1/charges",
            Route::ListRelated(_, "payment_intent") => "/v1/payment_intents",
            Route::ListRelated(_, "invoice") => "/v1/invoices",
            Route::ListRelated(_, _) => "/v1/subscriptions",
        };
        format!("{method} {t}")
    }

    fn url(&self) -> &'static str {
        match self {
            Route::ListCustomers | Route::CreateCustomer | Route::GetCustomer(_) => "/v1/customers",
            Route::SearchCustomers => "/v1/customers/search",
            Route::ListCheckoutSessions => "/v1/checkout/sessions",
            Route::ListRelated(_, "charge") => "/v1/charges",
            Route::ListRelated(_, "payment_intent") => "/v1/payment_intents",
            Route::ListRelated(_, "invoice") => "/v1/invoices",
            Route::ListRelated(_, _) => "/v1/subscriptions",
        }
    }
}

fn only(params: &Params, allowed: &[&str]) -> Result<(), ApiError> {
    match params.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::invalid(
            format!("Received unknown parameter: {k}"),
            Some("parameter_unknown"),
            Some(k),
        )),
        None => Ok(()),
    }
}

fn scalar<'p>(params: &'p Params, name: &str) -> Result<Option<&'p str>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some(Node::Value(v)) => Ok(Some(v)),
        Some(_) => Err(ApiError::invalid(
            format!("Invalid {name}: must be a string"),
            None,
            Some(name),
        )),
    }
}

fn limit(params: &Params) -> Result<usize, ApiError> {
    match scalar(params, "limit")? {
        None => Ok(10),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid(
                "Invalid limit: must be an integer between 1 and 100",
                None,
                Some("limit"),
            )),
        },
    }
}

fn no_expand(params: &Params) -> Result<(), ApiError> {
    match params.get("expand") {
        None => Ok(()),
        Some(Node::List(l)) if l.is_empty() => Ok(()),
        Some(_) => Err(ApiError::invalid(
            "This property cannot be expanded.",
            None,
            Some("expand"),
        )),
    }
}

/// One list page over `items` (oldest first, as held): newest first, with Stripe's
/// cursors.
fn list_page<T>(
    items: &[T],
    id: impl Fn(&T) -> &str,
    params: &Params,
    what: &str,
) -> Result<(Vec<usize>, bool), ApiError> {
    let limit = limit(params)?;
    let after = scalar(params, "starting_after")?;
    let before = scalar(params, "ending_before")?;
    if after.is_some() && before.is_some() {
        return Err(ApiError::invalid(
            "You may only specify one of these parameters: ending_before, starting_after.",
            None,
            Some("ending_before"),
        ));
    }
    // Newest first.
    let order: Vec<usize> = (0..items.len()).rev().collect();
    let pos = |cursor: &str, param: &str| {
        order
            .iter()
            .position(|&i| id(&items[i]) == cursor)
            .ok_or_else(|| {
                ApiError::invalid(
                    format!("No such {what}: '{cursor}'"),
                    Some("resource_missing"),
                    Some(param),
                )
            })
    };
    if let Some(b) = before {
        let end = pos(b, "ending_before")?;
        let start = end.saturating_sub(limit);
        return Ok((order[start..end].to_vec(), start > 0));
    }
    let start = match after {
        Some(a) => pos(a, "starting_after")? + 1,
        None => 0,
    };
    let end = start.saturating_add(limit).min(order.len());
    Ok((order[start..end].to_vec(), end < order.len()))
}

fn list(data: Vec<Value>, has_more: bool, url: &str) -> Value {
    json!({"object": "list", "data": data, "has_more": has_more, "url": url})
}

/// A customer as Stripe shows it.
pub fn render_customer(c: &Customer, livemode: bool) -> Value {
    json!({
        "id": c.id,
        "object": "customer",
        "created": c.created_ms.div_euclid(1000),
        "email": c.email,
        "livemode": livemode,
        "metadata": c.metadata,
        "name": c.name,
    })
}

/// A checkout session as Stripe shows it (the fields `find` reads, and a few more).
pub fn render_session(s: &CheckoutSession, livemode: bool) -> Value {
    json!({
        "id": s.id,
        "object": "checkout.session",
        "created": s.created_ms.div_euclid(1000),
        "customer": s.customer,
        "customer_details": s.email.as_ref().map(|e| json!({"email": e})),
        "livemode": livemode,
        "mode": "payment",
        "status": "complete",
    })
}

/// Runs one request of this module.
pub fn dispatch(
    dir: &mut Directory,
    ctx: &Ctx,
    route: &Route,
    params: &Params,
) -> Result<(u16, Value), ApiError> {
    let ns = ctx.ns;
    dir.ensure_space(ns);
    let live = ns.livemode;
    let empty = Space::default();
    match route {
        Route::ListCustomers => {
            only(
                params,
                &[
                    "email",
                    "limit",
                    "starting_after",
                    "ending_before",
                    "expand",
                ],
            )?;
            no_expand(params)?;
            let email = scalar(params, "email")?;
            let space = dir.space(ns).unwrap_or(&empty);
            let matching: Vec<&Customer> = space
                .customers
                .iter()
                .filter(|c| email.is_none_or(|e| c.email.as_deref() == Some(e)))
                .collect();
            let (idx, more) = list_page(&matching, |c| &c.id, params, "customer")?;
            let data = idx
                .iter()
                .map(|&i| render_customer(matching[i], live))
                .collect();
            Ok((200, list(data, more, route.url())))
        }
        Route::GetCustomer(id) => {
            only(params, &["expand"])?;
            no_expand(params)?;
            let space = dir.space(ns).unwrap_or(&empty);
            match space.customers.iter().find(|c| &c.id == id) {
                Some(c) => Ok((200, render_customer(c, live))),
                None => Err(ApiError {
                    status: 404,
                    kind: "invalid_request_error",
                    code: Some("resource_missing"),
                    param: Some("id".into()),
                    message: format!("No such customer: '{id}'"),
                }),
            }
        }
        Route::CreateCustomer => {
            only(
                params,
                &[
                    "email",
                    "name",
                    "metadata",
                    "description",
                    "phone",
                    "expand",
                ],
            )?;
            no_expand(params)?;
            let text = |k: &str| scalar(params, k).map(|v| v.filter(|s| !s.is_empty()));
            let (email, name) = (text("email")?, text("name")?);
            if email.is_some_and(|e| e.chars().count() > 512) {
                return Err(ApiError::invalid(
                    "Invalid email: must be at most 512 characters",
                    None,
                    Some("email"),
                ));
            }
            let metadata = match params.get("metadata") {
                None => BTreeMap::new(),
                Some(Node::Map(m)) => m
                    .iter()
                    .map(|(k, v)| match v {
                        Node::Value(v) => Ok((k.clone(), v.clone())),
                        _ => Err(ApiError::invalid(
                            "Invalid metadata: values must be strings",
                            None,
                            Some("metadata"),
                        )),
                    })
                    .collect::<Result<_, _>>()?,
                Some(Node::Value(v)) if v.is_empty() => BTreeMap::new(),
                Some(_) => return Err(ApiError::invalid("Invalid hash", None, Some("metadata"))),
            };
            let c = Customer {
                id: crate::emulator::server::random_id("cus_"),
                created_ms: ctx.now_ms,
                email: email.map(str::to_string),
                name: name.map(str::to_string),
                metadata,
                searchable_from_ms: Some(ctx.now_ms + dir.index_lag_ms),
                related: Vec::new(),
            };
            let out = render_customer(&c, live);
            dir.spaces.entry(ns.clone()).or_default().customers.push(c);
            Ok((200, out))
        }
        Route::SearchCustomers => {
            only(params, &["query", "limit", "page", "expand"])?;
            no_expand(params)?;
            if dir.search_refused(ns) {
                return Err(ApiError::invalid(
                    "Search is not available for this account. Use the list endpoints (`GET /v1/customers?email=`) instead.",
                    None,
                    None,
                ));
            }
            let query = match scalar(params, "query")? {
                Some(q) if !q.trim().is_empty() => q,
                _ => {
                    return Err(ApiError::invalid(
                        "Missing required param: query.",
                        Some("parameter_missing"),
                        Some("query"),
                    ))
                }
            };
            let query = search::parse(query)
                .map_err(|e| ApiError::invalid(e.to_string(), None, Some("query")))?;
            let limit = limit(params)?;
            let offset = match scalar(params, "page")? {
                None => 0,
                Some(p) => p
                    .strip_prefix("page_")
                    .and_then(|n| n.parse::<usize>().ok())
                    .ok_or_else(|| {
                        ApiError::invalid("Invalid page: not a page token", None, Some("page"))
                    })?,
            };
            let space = dir.space(ns).unwrap_or(&empty);
            let hits: Vec<&Customer> = space
                .customers
                .iter()
                .rev()
                .filter(|c| c.searchable_from_ms.is_some_and(|t| t <= ctx.now_ms))
                .filter(|c| query.matches(*c))
                .collect();
            let end = offset.saturating_add(limit).min(hits.len());
            let data: Vec<Value> = hits
                .get(offset.min(end)..end)
                .unwrap_or_default()
                .iter()
                .map(|c| render_customer(c, live))
                .collect();
            let has_more = end < hits.len();
            Ok((
                200,
                json!({
                    "object": "search_result",
                    "data": data,
                    "has_more": has_more,
                    "next_page": has_more.then(|| format!("page_{end}")),
                    "url": route.url(),
                }),
            ))
        }
        Route::ListCheckoutSessions => {
            only(
                params,
                &[
                    "customer",
                    "customer_details",
                    "limit",
                    "starting_after",
                    "ending_before",
                    "expand",
                ],
            )?;
            no_expand(params)?;
            let customer = scalar(params, "customer")?;
            let email = match params.get("customer_details") {
                None => None,
                Some(Node::Map(m)) => {
                    if let Some(k) = m.keys().find(|k| k.as_str() != "email") {
                        let p = format!("customer_details[{k}]");
                        return Err(ApiError::invalid(
                            format!("Received unknown parameter: {p}"),
                            Some("parameter_unknown"),
                            Some(&p),
                        ));
                    }
                    match m.get("email") {
                        Some(Node::Value(e)) => Some(e.as_str()),
                        _ => {
                            return Err(ApiError::invalid(
                                "Missing required param: customer_details[email].",
                                Some("parameter_missing"),
                                Some("customer_details[email]"),
                            ))
                        }
                    }
                }
                Some(_) => {
                    return Err(ApiError::invalid(
                        "Invalid hash",
                        None,
                        Some("customer_details"),
                    ))
                }
            };
            let space = dir.space(ns).unwrap_or(&empty);
            let matching: Vec<&CheckoutSession> = space
                .sessions
                .iter()
                .filter(|s| email.is_none_or(|e| s.email.as_deref() == Some(e)))
                .filter(|s| customer.is_none_or(|c| s.customer.as_deref() == Some(c)))
                .collect();
            let (idx, more) = list_page(&matching, |s| &s.id, params, "checkout.session")?;
            let data = idx
                .iter()
                .map(|&i| render_session(matching[i], live))
                .collect();
            Ok((200, list(data, more, route.url())))
        }
        Route::ListRelated(prefix, object) => {
            only(
                params,
                &[
                    "customer",
                    "limit",
                    "starting_after",
                    "ending_before",
                    "expand",
                ],
            )?;
            no_expand(params)?;
            let customer = scalar(params, "customer")?;
            let space = dir.space(ns).unwrap_or(&empty);
            // (id, owner, owner's creation): related objects are listed as created with
            // their customer, in the order the fixtures give them.
            let items: Vec<(&str, &Customer)> = space
                .customers
                .iter()
                .filter(|c| customer.is_none_or(|id| c.id == id))
                .flat_map(|c| {
                    c.related
                        .iter()
                        .filter(|r| r.starts_with(prefix))
                        .map(move |r| (r.as_str(), c))
                })
                .collect();
            let (idx, more) = list_page(&items, |(id, _)| id, params, object)?;
            let data = idx
                .iter()
                .map(|&i| {
                    let (id, c) = items[i];
                    json!({
                        "id": id,
                        "object": object,
                        "created": c.created_ms.div_euclid(1000),
                        "customer": c.id,
                        "livemode": live,
                    })
                })
                .collect();
            Ok((200, list(data, more, route.url())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::SearchSettings;
    use super::*;
    use crate::emulator::fixtures::Fixtures;
    use crate::emulator::form::parse;
    use crate::emulator::state::Delays;
    use crate::emulator::state::NsKey;

    const NOW: i64 = 1_800_000_000_000;

    fn fixtures() -> Fixtures {
        serde_yaml::from_str(
            r#"
customers:
  - {id: cus_A, email: jane@example.com, age: 10d, related: [ch_1, pi_1, in_1, sub_1, ch_2]}
  - {id: cus_B, email: Jane@Example.com, age: 5d}
  - {id: cus_C, email: jane@example.com, indexed: false}
checkout_sessions:
  - {id: cs_test_1, email: guest@example.com}
customer_search: {index_lag: 60s}
"#,
        )
        .unwrap()
    }

    fn run(
        d: &mut Directory,
        method: &str,
        path: &str,
        q: &str,
        now: i64,
    ) -> Result<Value, ApiError> {
        let ns = NsKey::test();
        let delays = Delays::default();
        let ctx = Ctx {
            ns: &ns,
            account_id: "acct_1",
            now_ms: now,
            delays: &delays,
            method,
            path,
        };
        let route = Route::parse(method, path).unwrap();
        dispatch(d, &ctx, &route, &parse(q.as_bytes()).unwrap()).map(|(_, v)| v)
    }

    fn ids(v: &Value) -> Vec<&str> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn list_by_email_is_exact_and_newest_first() {
        let mut d = Directory::from_fixtures(&fixtures(), NOW);
        let v = run(
            &mut d,
            "GET",
            "/v1/customers",
            "email=jane%40example.com",
            NOW,
        )
        .unwrap();
        assert_eq!(ids(&v), ["cus_C", "cus_A"]);
        let v = run(
            &mut d,
            "GET",
            "/v1/customers",
            "email=jane%40example.com&limit=1",
            NOW,
        )
        .unwrap();
        assert_eq!(
            (ids(&v), v["has_more"].as_bool()),
            (vec!["cus_C"], Some(true))
        );
        let v = run(
            &mut d,
            "GET",
            "/v1/customers",
            "email=jane%40example.com&starting_after=cus_C",
            NOW,
        )
        .unwrap();
        assert_eq!(ids(&v), ["cus_A"]);
    }

    #[test]
    fn search_is_case_insensitive_paged_and_lags() {
        let mut d = Directory::from_fixtures(&fixtures(), NOW);
        let q = "query=email%3A%27jane%40example.com%27";
        // cus_C is not indexed.
        let v = run(&mut d, "GET", "/v1/customers/search", q, NOW).unwrap();
        assert_eq!(v["object"], "search_result");
        assert_eq!(ids(&v), ["cus_B", "cus_A"]);
        let v = run(
            &mut d,
            "GET",
            "/v1/customers/search",
            &format!("{q}&limit=1"),
            NOW,
        )
        .unwrap();
        assert_eq!(v["next_page"], "page_1");
        let v = run(
            &mut d,
            "GET",
            "/v1/customers/search",
            &format!("{q}&limit=1&page=page_1"),
            NOW,
        )
        .unwrap();
        assert_eq!(
            (ids(&v), v["has_more"].as_bool()),
            (vec!["cus_A"], Some(false))
        );
        assert_eq!(v["next_page"], Value::Null);
        run(
            &mut d,
            "POST",
            "/v1/customers",
            "email=jane%40example.com&name=Jane",
            NOW,
        )
        .unwrap();
        let v = run(&mut d, "GET", "/v1/customers/search", q, NOW + 30_000).unwrap();
        assert_eq!(ids(&v).len(), 2, "not searchable before the index lag");
        let v = run(&mut d, "GET", "/v1/customers/search", q, NOW + 60_000).unwrap();
        assert_eq!(ids(&v).len(), 3);
        let e = run(
            &mut d,
            "GET",
            "/v1/customers/search",
            "query=phone%3A%271%27",
            NOW,
        )
        .unwrap_err();
        assert_eq!((e.status, e.param.as_deref()), (400, Some("query")));
    }

    #[test]
    fn refused_search_and_guest_sessions_and_related_lists() {
        let mut f = fixtures();
        f.customer_search = Some(SearchSettings {
            enabled: false,
            ..SearchSettings::default()
        });
        let mut d = Directory::from_fixtures(&f, NOW);
        let e = run(
            &mut d,
            "GET",
            "/v1/customers/search",
            "query=email%3A%27a%40b.co%27",
            NOW,
        )
        .unwrap_err();
        assert_eq!(e.status, 400);
        let v = run(
            &mut d,
            "GET",
            "/v1/checkout/sessions",
            "customer_details[email]=guest%40example.com",
            NOW,
        )
        .unwrap();
        assert_eq!(ids(&v), ["cs_test_1"]);
        assert_eq!(v["data"][0]["customer"], Value::Null);
        let e = run(
            &mut d,
            "GET",
            "/v1/checkout/sessions",
            "customer_details[phone]=1",
            NOW,
        )
        .unwrap_err();
        assert_eq!(e.code, Some("parameter_unknown"));
        let v = run(&mut d, "GET", "/v1/charges", "customer=cus_A", NOW).unwrap();
        assert_eq!(ids(&v).len(), 2);
        let v = run(&mut d, "GET", "/v1/subscriptions", "customer=cus_B", NOW).unwrap();
        assert!(ids(&v).is_empty());
        let e = run(
            &mut d,
            "GET",
            "/v1/charges",
            "customer=cus_A&colour=red",
            NOW,
        )
        .unwrap_err();
        assert_eq!(e.param.as_deref(), Some("colour"));
    }
}
