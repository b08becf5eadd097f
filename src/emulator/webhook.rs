//! Signed webhook events, as Stripe sends them: `Stripe-Signature: t=TS,v1=HEX` where HEX
//! is HMAC-SHA256(secret, "TS.PAYLOAD"). Delivery is best effort with a few retries.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::mpsc;

/// Where events go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    /// The endpoint URL.
    pub url: String,
    /// The endpoint secret (`whsec_…`); never logged.
    pub secret: String,
}

/// The `Stripe-Signature` header value for `payload` signed at `timestamp`.
pub fn signature_header(secret: &str, timestamp: i64, payload: &str) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, payload))
}

/// HEX(HMAC_SHA256(secret, "TIMESTAMP.PAYLOAD")).
pub fn sign(secret: &str, timestamp: i64, payload: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(format!("{timestamp}.{payload}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A Stripe event object.
pub fn event_json(
    id: &str,
    kind: &str,
    created: i64,
    livemode: bool,
    account: Option<&str>,
    object: Value,
) -> Value {
    let mut e = json!({
        "id": id,
        "object": "event",
        "api_version": crate::emulator::API_VERSION,
        "created": created,
        "data": {"object": object},
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": kind,
    });
    if let (Some(a), Some(m)) = (account, e.as_object_mut()) {
        m.insert("account".into(), json!(a));
    }
    e
}

/// Sends queued payloads (already-serialized events) one by one, in order.
pub async fn deliver(target: WebhookTarget, mut rx: mpsc::UnboundedReceiver<String>) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("webhooks disabled: cannot build an HTTP client: {e}");
            return;
        }
    };
    while let Some(payload) = rx.recv().await {
        for attempt in 0..3u32 {
            let ts = crate::emulator::clock::system_now_ms().div_euclid(1000);
            let res = client
                .post(&target.url)
                .header("Content-Type", "application/json")
                .header(
                    "Stripe-Signature",
                    signature_header(&target.secret, ts, &payload),
                )
                .body(payload.clone())
                .send()
                .await;
            match res {
                Ok(r) if r.status().is_success() => break,
                Ok(r) => tracing::warn!("webhook endpoint answered {}", r.status()),
                Err(e) => tracing::warn!("webhook delivery failed: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_hmac() {
        // HMAC-SHA256("whsec_test", "1700000000.{}") computed independently.
        let header = signature_header("whsec_test", 1_700_000_000, "{}");
        assert!(header.starts_with("t=1700000000,v1="));
        let hexpart = header.split("v1=").nth(1).unwrap();
        assert_eq!(hexpart.len(), 64);
        assert_eq!(
            hexpart,
            "35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
        assert_ne!(hexpart, sign("whsec_other", 1_700_000_000, "{}"));
        assert_ne!(hexpart, sign("whsec_test", 1_700_000_001, "{}"));
    }

    #[test]
    fn event_shape() {
        let e = event_json(
            "evt_1",
            "privacy.redaction_job.ready",
            5,
            false,
            Some("acct_1"),
            json!({"id": "prj_1"}),
        );
        assert_eq!(e["object"], "event");
        assert_eq!(e["type"], "privacy.redaction_job.ready");
        assert_eq!(e["data"]["object"]["id"], "prj_1");
        assert_eq!(e["account"], "acct_1");
    }
}
