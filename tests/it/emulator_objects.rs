//! The emulator's retrieve endpoints for the objects a job names (`GET /v1/charges/:id`,
//! …), driven with raw HTTP: Stripe's shape, `created` from the fixtures, 404 for unknown
//! ids or the wrong type, 403 naming the permission for a restricted key without it, and a
//! `Date` header that follows the emulator's clock.

use std::time::Duration;

use redactctl::emulator::objects::LONG_AGO;
use redactctl::emulator::{Clock, Config, Fixtures};

use crate::emulator_support::{start, Api};

const T0: i64 = 1_800_000_000;

fn config() -> Config {
    let yaml = "accounts:
  - id: acct_1Platform
    keys: [sk_test_emulatorTests1234]
    redaction_only_keys: [rk_test_jobsOnlyKey]
objects:
  - id: ch_recent
    state: succeeded
    age: 30d
  - id: pi_undated
    state: succeeded
  - id: in_draft
    state: draft
    created: 1700000000
";
    let fixtures: Fixtures = serde_yaml::from_str(yaml).unwrap();
    fixtures.check().unwrap();
    Config {
        fixtures: Some(fixtures),
        clock: Clock::manual(T0),
        ..Config::default()
    }
}

#[tokio::test]
async fn objects_read_back_with_stripes_common_fields_and_their_creation_time() {
    let emu = start(config()).await;
    let api = Api::new(&emu);
    let ch = api.get("/v1/charges/ch_recent").await;
    assert_eq!(ch.status, 200, "{:?}", ch.body);
    assert_eq!(ch.body["id"], "ch_recent");
    assert_eq!(ch.body["object"], "charge");
    assert_eq!(ch.body["livemode"], false);
    assert_eq!(ch.body["status"], "succeeded");
    assert_eq!(ch.body["created"], T0 - 30 * 86_400);
    let inv = api.get("/v1/invoices/in_draft").await;
    assert_eq!(inv.body["created"], 1_700_000_000);
    assert_eq!(inv.body["object"], "invoice");
    // Declared without a creation time: long ago, never in the risk period.
    let pi = api.get("/v1/payment_intents/pi_undated").await;
    assert_eq!(pi.body["created"], LONG_AGO);
    emu.shutdown().await;
}

#[tokio::test]
async fn unknown_ids_and_ids_of_another_type_are_404_resource_missing() {
    let emu = start(config()).await;
    let api = Api::new(&emu);
    for path in [
        "/v1/charges/ch_nobody",
        "/v1/charges/pi_undated",
        "/v1/setup_intents/seti_nobody",
    ] {
        let r = api.get(path).await;
        assert_eq!(r.status, 404, "{path}: {:?}", r.body);
        assert_eq!(r.error_code(), Some("resource_missing"), "{path}");
        assert_eq!(r.error_param(), Some("id"), "{path}");
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn a_key_without_read_permission_gets_403_naming_the_permission() {
    let emu = start(config()).await;
    let jobs_only = Api::new(&emu).with_key("rk_test_jobsOnlyKey");
    let r = jobs_only.get("/v1/charges/ch_recent").await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    assert_eq!(r.body["error"]["type"], "invalid_request_error");
    let msg = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("'rak_charge_read' permission"), "{msg}");
    assert!(msg.contains("rk_test_****"), "masked: {msg}");
    assert!(!msg.contains("jobsOnlyKey"), "{msg}");
    // The same key may still work with jobs.
    let job = jobs_only.create("objects[charges][]=ch_recent").await;
    assert_eq!(job.status, 200, "{:?}", job.body);
    emu.shutdown().await;
}

#[tokio::test]
async fn the_date_header_follows_the_emulators_clock() {
    let emu = start(config()).await;
    let api = Api::new(&emu);
    let date = |r: &crate::emulator_support::Resp| {
        let d = r.header("date").expect("a Date header").to_string();
        httpdate::parse_http_date(&d)
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    assert_eq!(date(&api.get("/v1/charges/ch_recent").await), T0);
    emu.clock().advance(Duration::from_secs(61 * 86_400));
    assert_eq!(
        date(&api.get("/v1/charges/ch_recent").await),
        T0 + 61 * 86_400
    );
    emu.shutdown().await;
}
