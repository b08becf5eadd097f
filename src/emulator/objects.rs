//! Retrieving the objects a redaction job names or reaches (`GET /v1/charges/:id`,
//! `/v1/payment_intents/:id`, …): the shape Stripe gives every object (`id`, `object`,
//! `created`, `livemode`) plus the status the graph holds. A client reads `created` to date
//! the 90-day risk period. Customers and verification sessions have their own modules.
//!
//! A restricted key holds permissions per resource; a key that only has the redaction-job
//! permissions cannot read these objects and gets Stripe's 403, which names the permission
//! that would allow the request ([`read_permission`]).

use serde_json::{json, Map, Value};

use super::graph::ObjectRecord;
use super::state::{NsKey, StateError, World};

/// `created` of an object the fixtures describe without `created` or `age` (and of an id
/// that exists only because unknown objects exist): 2010-01-01T00:00:00Z, long before any
/// clock a test or demo sets, so such an object is never in the 90-day risk period —
/// the same reading the validation rules give a missing `created`.
pub const LONG_AGO: i64 = 1_262_304_000;

/// One retrievable resource: the path after `/v1/`, the object type Stripe names it, and
/// the restricted-key permission that reads it.
struct Resource {
    path: &'static [&'static str],
    object: &'static str,
    permission: &'static str,
}

const RESOURCES: &[Resource] = &[
    Resource {
        path: &["charges"],
        object: "charge",
        permission: "rak_charge_read",
    },
    Resource {
        path: &["payment_intents"],
        object: "payment_intent",
        permission: "rak_payment_intent_read",
    },
    Resource {
        path: &["invoices"],
        object: "invoice",
        permission: "rak_invoice_read",
    },
    Resource {
        path: &["setup_intents"],
        object: "setup_intent",
        permission: "rak_setup_intent_read",
    },
    Resource {
        path: &["subscriptions"],
        object: "subscription",
        permission: "rak_subscription_read",
    },
    Resource {
        path: &["refunds"],
        object: "refund",
        permission: "rak_refund_read",
    },
    Resource {
        path: &["disputes"],
        object: "dispute",
        permission: "rak_dispute_read",
    },
    Resource {
        path: &["payment_methods"],
        object: "payment_method",
        permission: "rak_payment_method_read",
    },
    Resource {
        path: &["checkout", "sessions"],
        object: "checkout.session",
        permission: "rak_checkout_session_read",
    },
    Resource {
        path: &["issuing", "cards"],
        object: "issuing.card",
        permission: "rak_issuing_card_read",
    },
    Resource {
        path: &["issuing", "cardholders"],
        object: "issuing.cardholder",
        permission: "rak_issuing_cardholder_read",
    },
    Resource {
        path: &["radar", "value_list_items"],
        object: "radar.value_list_item",
        permission: "rak_radar_value_list_item_read",
    },
];

/// `GET /v1/<resource>/:id` for a retrievable resource: the Stripe object type and the id.
/// `segs` are the path's segments after the leading slash (`["v1", "charges", "ch_1"]`).
pub fn parse(segs: &[&str]) -> Option<(&'static str, String)> {
    let (v1, rest) = segs.split_first()?;
    let (id, path) = rest.split_last()?;
    if *v1 != "v1" || id.is_empty() {
        return None;
    }
    RESOURCES
        .iter()
        .find(|r| r.path == path)
        .map(|r| (r.object, (*id).to_string()))
}

/// The route template of a resource (`/v1/charges/:id`), for stats and rate limits.
pub fn template(object: &str) -> String {
    let path = RESOURCES
        .iter()
        .find(|r| r.object == object)
        .map(|r| r.path.join("/"))
        .unwrap_or_default();
    format!("/v1/{path}/:id")
}

/// The restricted-key permission that reads objects of this type.
pub fn read_permission(object: &str) -> &'static str {
    RESOURCES
        .iter()
        .find(|r| r.object == object)
        .map_or("rak_read", |r| r.permission)
}

/// The object `id` of type `object` in namespace `ns`: 404 `resource_missing` when it does
/// not exist or is of another type (`GET /v1/charges/pi_1`), as on Stripe.
pub fn retrieve(
    world: &mut World,
    ns: &NsKey,
    object: &'static str,
    id: &str,
) -> Result<Value, StateError> {
    let missing = || StateError::NotFound {
        kind: object,
        id: id.to_string(),
    };
    let known = world.ns_mut(ns).object(id).cloned();
    let record = match known {
        Some(r) => r,
        None if world.object_exists(ns, id) => ObjectRecord::unknown(id),
        None => return Err(missing()),
    };
    if record.object_type != object {
        return Err(missing());
    }
    Ok(render(&record, ns.livemode))
}

/// Stripe's common fields, and the status the graph holds for the object.
fn render(record: &ObjectRecord, livemode: bool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(record.id));
    m.insert("object".into(), json!(record.object_type));
    m.insert("created".into(), json!(record.created.unwrap_or(LONG_AGO)));
    m.insert("livemode".into(), json!(livemode));
    if let Some(state) = &record.state {
        m.insert("status".into(), json!(state));
    }
    m.insert("metadata".into(), json!({}));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_resources() {
        assert_eq!(
            parse(&["v1", "charges", "ch_1"]),
            Some(("charge", "ch_1".to_string()))
        );
        assert_eq!(
            parse(&["v1", "checkout", "sessions", "cs_test_1"]),
            Some(("checkout.session", "cs_test_1".to_string()))
        );
        assert_eq!(parse(&["v1", "charges"]), None);
        assert_eq!(parse(&["v1", "widgets", "w_1"]), None);
        assert_eq!(template("payment_intent"), "/v1/payment_intents/:id");
        assert_eq!(read_permission("charge"), "rak_charge_read");
    }

    #[test]
    fn retrieve_dates_objects_and_refuses_the_wrong_type() {
        let young = ObjectRecord {
            created: Some(1_800_000_000),
            state: Some("succeeded".into()),
            ..ObjectRecord::unknown("ch_young")
        };
        let mut w = World::new("s", vec![young, ObjectRecord::unknown("pi_old")]);
        let ns = NsKey::test();
        let ch = retrieve(&mut w, &ns, "charge", "ch_young").unwrap();
        assert_eq!(ch["object"], "charge");
        assert_eq!(ch["created"], 1_800_000_000);
        assert_eq!(ch["livemode"], false);
        assert_eq!(ch["status"], "succeeded");
        let pi = retrieve(&mut w, &ns, "payment_intent", "pi_old").unwrap();
        assert_eq!(pi["created"], LONG_AGO);
        assert!(retrieve(&mut w, &ns, "charge", "pi_old").is_err());
        assert!(retrieve(&mut w, &ns, "charge", "ch_nobody").is_err());
    }
}
