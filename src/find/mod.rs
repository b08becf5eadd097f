//! `redactctl find`: from a deletion request's e-mail address to Stripe ids, without the
//! address ever being written anywhere. It asks every route Stripe offers —
//! customers by e-mail (exact), customer search (case-insensitive; may be refused, then
//! the other routes carry on), checkout sessions by e-mail (guest checkouts) — counts
//! what a job on each customer would reach, and warns about the variants the exact
//! routes miss. [`entry`] turns the result into a manifest entry.
//!
//! The address lives in an [`Identifier`]; every error that could carry it (Stripe's
//! messages, network errors) is scrubbed before it leaves this module.

pub mod entry;
pub mod identifier;
pub mod outcome;

pub use identifier::{Identifier, IdentifierError, Variant};
pub use outcome::{render_human, Hit, Outcome, RouteName, RouteResult};

use crate::kinds::ObjectKind;
use crate::stripe::lookup::{FoundCustomer, Related};
use crate::stripe::{Client, StripeError};

/// Why a lookup could not finish. The message never holds the address.
#[derive(Debug, thiserror::Error)]
#[error("{route} failed: {message}")]
pub struct FindError {
    /// The route that failed.
    pub route: &'static str,
    /// What went wrong, scrubbed.
    pub message: String,
}

/// Looks the identifier up through every route; `now` is the lookup time (RFC 3339).
pub async fn lookup(client: &Client, id: &Identifier, now: String) -> Result<Outcome, FindError> {
    let fail = |route: RouteName, e: StripeError| FindError {
        route: route.as_str(),
        message: id.scrub(&e.to_string()),
    };
    let mut out = Outcome {
        looked_up_at: now,
        ..Outcome::default()
    };

    let exact = client
        .customers_by_email(id.expose())
        .await
        .map_err(|e| fail(RouteName::CustomersByEmail, e))?;
    out.routes.push((
        RouteName::CustomersByEmail,
        RouteResult::Answered(exact.len()),
    ));
    let mut customers: Vec<(FoundCustomer, RouteName)> = exact
        .into_iter()
        .map(|c| (c, RouteName::CustomersByEmail))
        .collect();

    let mut search_refused = false;
    match client.search_customers(&id.search_query()).await {
        Ok(found) => {
            out.routes.push((
                RouteName::CustomerSearch,
                RouteResult::Answered(found.len()),
            ));
            customers.extend(found.into_iter().map(|c| (c, RouteName::CustomerSearch)));
        }
        // Not every account may search (and Stripe may be briefly unable to): say so
        // and carry on with the exact routes.
        Err(StripeError::Api { message, param, .. }) if param.as_deref() != Some("query") => {
            search_refused = true;
            out.routes.push((
                RouteName::CustomerSearch,
                RouteResult::Refused(id.scrub(&message)),
            ));
        }
        Err(
            e
            @ (StripeError::Api { .. } | StripeError::Network { .. } | StripeError::Decode { .. }),
        ) => {
            search_refused = true;
            out.routes.push((
                RouteName::CustomerSearch,
                RouteResult::Failed(id.scrub(&e.to_string())),
            ));
        }
        Err(e) => return Err(fail(RouteName::CustomerSearch, e)),
    }

    let sessions = client
        .checkout_sessions_by_email(id.expose())
        .await
        .map_err(|e| fail(RouteName::CheckoutSessions, e))?;
    out.routes.push((
        RouteName::CheckoutSessions,
        RouteResult::Answered(sessions.len()),
    ));

    let mut counted: Vec<String> = Vec::new();
    for (c, route) in customers {
        let case_differs = c
            .email
            .as_deref()
            .is_some_and(|e| id.differs_only_in_case(e));
        let mut counts = Vec::new();
        if !counted.contains(&c.id) {
            for what in Related::ALL {
                let n = client
                    .count_related(what, &c.id)
                    .await
                    .map_err(|e| fail(route, e))?;
                counts.push((what.as_str(), n));
            }
            counted.push(c.id.clone());
        }
        out.add(Hit {
            kind: ObjectKind::Customers,
            id: c.id,
            created: c.created,
            livemode: c.livemode,
            routes: vec![route],
            counts,
            customer: None,
            case_differs,
        });
    }
    for s in sessions {
        out.add(Hit {
            kind: ObjectKind::CheckoutSessions,
            id: s.id,
            created: s.created,
            livemode: s.livemode,
            routes: vec![RouteName::CheckoutSessions],
            counts: Vec::new(),
            customer: s.customer,
            case_differs: false,
        });
    }
    out.warnings = warnings(id, &out, search_refused);
    Ok(out)
}

/// What a reviewer should know about the variants the exact routes miss.
pub fn warnings(id: &Identifier, out: &Outcome, search_refused: bool) -> Vec<String> {
    let mut w = Vec::new();
    let case_hits: Vec<&str> = out
        .hits
        .iter()
        .filter(|h| h.case_differs)
        .map(|h| h.id.as_str())
        .collect();
    if !case_hits.is_empty() {
        w.push(format!(
            "{} stored with the address in another letter case (found by search only, missed by the exact routes): {}; check that it is the same person",
            if case_hits.len() == 1 { "a customer is" } else { "customers are" },
            case_hits.join(", ")
        ));
    }
    if search_refused {
        w.push("customer search did not run (refused or failed), so customers stored with the address in another letter case cannot be found; check the Dashboard".into());
    }
    for v in id.variants() {
        match v {
            Variant::HasCapitals if search_refused => w.push(
                "the address has capital letters and the exact routes are case-sensitive: also try it in lower case".into(),
            ),
            Variant::HasCapitals => {}
            Variant::HasPlusTag => w.push(
                "the address has a +tag: the person may also be stored without it (or with another tag); look that address up too".into(),
            ),
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_name_the_variants_the_exact_routes_miss() {
        let id = Identifier::parse("Jane+shop@example.com").unwrap();
        let mut out = Outcome::default();
        assert_eq!(warnings(&id, &out, false).len(), 1, "the +tag");
        let w = warnings(&id, &out, true);
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w.iter().any(|m| m.contains("lower case")));
        out.add(Hit {
            kind: ObjectKind::Customers,
            id: "cus_1".into(),
            created: 0,
            livemode: false,
            routes: vec![RouteName::CustomerSearch],
            counts: Vec::new(),
            customer: None,
            case_differs: true,
        });
        let w = warnings(&id, &out, false);
        assert!(
            w[0].contains("cus_1") && w[0].contains("letter case"),
            "{w:?}"
        );
        for m in w {
            assert!(!m.to_lowercase().contains("jane"), "{m}");
        }
    }
}
