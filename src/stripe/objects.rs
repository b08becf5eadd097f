//! Retrieving an object a validation error names (a charge, a payment intent, an
//! invoice…) for the one field redactctl needs from it: `created`, which dates Stripe's
//! 90-day risk period. The key needs read access to the object's resource; without it
//! Stripe answers 403 and names the permission.

use reqwest::Method;
use serde::Deserialize;

use super::client::{Client, Request, Sent};
use super::encode::Params;
use super::error::StripeError;

/// The fields every Stripe object has, as far as redactctl reads them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ObjectHeader {
    pub id: String,
    #[serde(default)]
    pub object: String,
    /// Unix seconds.
    pub created: i64,
}

/// The retrieve endpoint of an object type (`erroring_object.object_type`): the route
/// template and the path before the id. `None`: a type redactctl does not retrieve.
fn endpoint(object_type: &str) -> Option<(&'static str, &'static [&'static str])> {
    Some(match object_type {
        "charge" => ("/v1/charges/:id", &["v1", "charges"]),
        "payment_intent" => ("/v1/payment_intents/:id", &["v1", "payment_intents"]),
        "invoice" => ("/v1/invoices/:id", &["v1", "invoices"]),
        "refund" => ("/v1/refunds/:id", &["v1", "refunds"]),
        "dispute" => ("/v1/disputes/:id", &["v1", "disputes"]),
        "setup_intent" => ("/v1/setup_intents/:id", &["v1", "setup_intents"]),
        "subscription" => ("/v1/subscriptions/:id", &["v1", "subscriptions"]),
        "checkout.session" => ("/v1/checkout/sessions/:id", &["v1", "checkout", "sessions"]),
        _ => return None,
    })
}

impl Client {
    /// `GET /v1/<resource>/:id` for an object of `object_type`; `Ok(None)` when redactctl
    /// knows no retrieve endpoint for the type.
    pub async fn retrieve_object(
        &self,
        object_type: &str,
        id: &str,
    ) -> Result<Option<Sent<ObjectHeader>>, StripeError> {
        let Some((route, path)) = endpoint(object_type) else {
            return Ok(None);
        };
        let mut segments: Vec<&str> = path.to_vec();
        segments.push(id);
        self.send(Request {
            method: Method::GET,
            route,
            segments,
            query: Params::new(),
            form: Params::new(),
            idempotency_key: None,
        })
        .await
        .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transaction_type_has_an_endpoint() {
        for t in crate::plan::TRANSACTION_TYPES {
            assert!(endpoint(t).is_some(), "{t}");
        }
        assert_eq!(
            endpoint("checkout.session").map(|e| e.1.join("/")),
            Some("v1/checkout/sessions".to_string())
        );
        assert!(endpoint("customer").is_none());
    }
}
