//! The read-only calls `redactctl find` makes to look a person up: customers by e-mail
//! (exact), customer search, checkout sessions by `customer_details[email]`, and counts
//! of a customer's charges, payment intents, invoices and subscriptions.
//!
//! These requests carry a person's e-mail address in their query string and get it back
//! in their bodies, so they run with logging switched off (the client traces response
//! bodies at `trace` level); each call logs its own line instead: route, status, request
//! id and how many objects came back — never the address.

use reqwest::Method;
use serde::Deserialize;
use tracing::instrument::WithSubscriber;

use super::client::{Client, Request};
use super::encode::Params;
use super::error::StripeError;

/// Pages followed at most per call (100 objects each): a bound on what one lookup reads.
pub const MAX_PAGES: usize = 50;

/// A customer, as far as `find` reads it. Holds the e-mail address in memory only.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct FoundCustomer {
    pub id: String,
    #[serde(default)]
    pub created: i64,
    #[serde(default)]
    pub livemode: bool,
    #[serde(default)]
    pub email: Option<String>,
}

impl std::fmt::Debug for FoundCustomer {
    /// Without the e-mail address: a `{:?}` must not put it in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FoundCustomer")
            .field("id", &self.id)
            .field("created", &self.created)
            .field("livemode", &self.livemode)
            .finish_non_exhaustive()
    }
}

/// A checkout session, as far as `find` reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FoundSession {
    pub id: String,
    #[serde(default)]
    pub created: i64,
    #[serde(default)]
    pub livemode: bool,
    /// The customer it belongs to; `None` for a guest checkout.
    #[serde(default)]
    pub customer: Option<String>,
}

/// What a job on a customer would reach, counted by `find`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Related {
    Charges,
    PaymentIntents,
    Invoices,
    Subscriptions,
}

impl Related {
    /// All four, in display order.
    pub const ALL: [Related; 4] = [
        Related::Charges,
        Related::PaymentIntents,
        Related::Invoices,
        Related::Subscriptions,
    ];

    /// The list endpoint's path segment (`charges`), also the display name.
    pub fn as_str(self) -> &'static str {
        match self {
            Related::Charges => "charges",
            Related::PaymentIntents => "payment_intents",
            Related::Invoices => "invoices",
            Related::Subscriptions => "subscriptions",
        }
    }

    fn route(self) -> &'static str {
        match self {
            Related::Charges => "/v1/charges",
            Related::PaymentIntents => "/v1/payment_intents",
            Related::Invoices => "/v1/invoices",
            Related::Subscriptions => "/v1/subscriptions",
        }
    }
}

#[derive(Deserialize)]
struct Page<T> {
    data: Vec<T>,
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    next_page: Option<String>,
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

/// How the next page is asked for.
enum Cursor {
    /// List endpoints: `starting_after` the last id.
    StartingAfter,
    /// Search endpoints: `page` = the previous page's `next_page`.
    NextPage,
}

impl Client {
    /// `GET /v1/customers?email=…`: exact and case-sensitive, every page.
    pub async fn customers_by_email(&self, email: &str) -> Result<Vec<FoundCustomer>, StripeError> {
        let query = vec![("email".to_string(), email.to_string())];
        self.pages(
            "/v1/customers",
            vec!["v1", "customers"],
            query,
            Cursor::StartingAfter,
            |c: &FoundCustomer| c.id.clone(),
        )
        .await
    }

    /// `GET /v1/customers/search?query=…`: every page (`next_page`).
    pub async fn search_customers(&self, query: &str) -> Result<Vec<FoundCustomer>, StripeError> {
        let q = vec![("query".to_string(), query.to_string())];
        self.pages(
            "/v1/customers/search",
            vec!["v1", "customers", "search"],
            q,
            Cursor::NextPage,
            |c: &FoundCustomer| c.id.clone(),
        )
        .await
    }

    /// `GET /v1/checkout/sessions?customer_details[email]=…`: every page.
    pub async fn checkout_sessions_by_email(
        &self,
        email: &str,
    ) -> Result<Vec<FoundSession>, StripeError> {
        let q = vec![("customer_details[email]".to_string(), email.to_string())];
        self.pages(
            "/v1/checkout/sessions",
            vec!["v1", "checkout", "sessions"],
            q,
            Cursor::StartingAfter,
            |s: &FoundSession| s.id.clone(),
        )
        .await
    }

    /// How many `what` the customer has (`GET /v1/charges?customer=…`, every page).
    pub async fn count_related(&self, what: Related, customer: &str) -> Result<usize, StripeError> {
        let q = vec![("customer".to_string(), customer.to_string())];
        let items = self
            .pages(
                what.route(),
                vec!["v1", what.as_str()],
                q,
                Cursor::StartingAfter,
                |o: &IdOnly| o.id.clone(),
            )
            .await?;
        Ok(items.len())
    }

    /// Every page of a list or search call, with logging off while the requests run.
    async fn pages<T: serde::de::DeserializeOwned>(
        &self,
        route: &'static str,
        segments: Vec<&str>,
        base: Params,
        cursor: Cursor,
        id_of: fn(&T) -> String,
    ) -> Result<Vec<T>, StripeError> {
        let mut all = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = base.clone();
            query.push(("limit".into(), "100".into()));
            if let Some(n) = &next {
                let name = match cursor {
                    Cursor::StartingAfter => "starting_after",
                    Cursor::NextPage => "page",
                };
                query.push((name.into(), n.clone()));
            }
            let sent = self
                .send::<Page<T>>(Request {
                    method: Method::GET,
                    route,
                    segments: segments.clone(),
                    query,
                    form: Params::new(),
                    idempotency_key: None,
                })
                .with_subscriber(tracing::subscriber::NoSubscriber::default())
                .await;
            let sent = match sent {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(
                        route,
                        status = e.status(),
                        request_id = e.request_id().unwrap_or("-"),
                        "lookup failed"
                    );
                    return Err(e);
                }
            };
            tracing::debug!(
                route,
                status = sent.status,
                request_id = sent.request_id.as_deref().unwrap_or("-"),
                objects = sent.value.data.len(),
                "lookup"
            );
            let page = sent.value;
            let following = match cursor {
                Cursor::StartingAfter => page.data.last().map(id_of),
                Cursor::NextPage => page.next_page.clone(),
            };
            all.extend(page.data);
            match following {
                // The cursor must move, or the loop would read the same page forever.
                Some(f) if page.has_more && next.as_ref() != Some(&f) => next = Some(f),
                _ => return Ok(all),
            }
        }
        Err(StripeError::InvalidRequest(format!(
            "{route} returned more than {MAX_PAGES} pages; narrow the lookup"
        )))
    }
}
