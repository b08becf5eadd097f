//! Conformance of the emulator with Stripe's documented behaviour, driven with raw HTTP
//! (a plain `reqwest` client, not the project's Stripe client). Each test pins one rule
//! where an earlier emulator was kinder than Stripe.

use redactctl::emulator::kinds::Kind;
use redactctl::kinds::ObjectKind;

/// The emulator keeps its own table of kinds (an oracle must not share what it checks);
/// this is where the two tables are compared.
#[test]
fn the_emulator_kinds_table_agrees_with_the_clients() {
    assert_eq!(Kind::ALL.len(), ObjectKind::ALL.len());
    for (ours, theirs) in Kind::ALL.into_iter().zip(ObjectKind::ALL) {
        assert_eq!(ours.wire_name(), theirs.as_str());
        assert_eq!(ours.prefixes(), theirs.prefixes(), "{ours}");
        assert_eq!(theirs.as_str().parse::<Kind>(), Ok(ours));
    }
}

use std::time::Duration;

use redactctl::emulator::{Clock, Config, Fixtures, UnknownObjects};
use serde_json::Value;

use crate::emulator_support::{start, Api, Resp, KEY};

const T0: i64 = 1_800_000_000;
const JOBS: &str = "/v1/privacy/redaction_jobs";

fn fixtures(yaml: &str) -> Fixtures {
    let f: Fixtures = serde_yaml::from_str(yaml).expect("fixtures parse");
    f.check().expect("fixtures are valid");
    f
}

/// A customer with nothing wrong, one with an unfinalized PaymentIntent, one with a
/// 30-day-old charge, and a session of each status.
const OBJECTS: &str = r#"
objects:
  - id: cus_clean
  - id: cus_other
  - id: cus_guide
    related: [pi_guide]
  - id: pi_guide
    state: requires_payment_method
  - id: cus_recent
    related: [ch_recent]
  - id: ch_recent
    state: succeeded
    age: 30d
  - id: ic_card
  - id: vs_input
    state: requires_input
  - id: vs_processing
    state: processing
"#;

fn config(yaml: &str) -> Config {
    Config {
        fixtures: Some(fixtures(yaml)),
        clock: Clock::manual(T0),
        ..Config::default()
    }
}

async fn create(api: &Api, form: &str) -> Resp {
    api.create(form).await
}

async fn status_of(api: &Api, id: &str) -> String {
    api.job(id).await.body["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn with_version(api: &Api, path: &str, version: Option<&str>) -> Resp {
    let mut r = api
        .client
        .get(format!("{}{path}", api.base))
        .bearer_auth(&api.key);
    if let Some(v) = version {
        r = r.header("Stripe-Version", v);
    }
    Api::send(r).await
}

#[tokio::test]
async fn a_handler_error_is_replayed_with_stripes_headers() {
    let emu = start(Config {
        validation_delay: Duration::from_secs(10),
        ..config(OBJECTS)
    })
    .await;
    let api = Api::new(&emu);
    let job = create(&api, "objects[customers][]=cus_clean").await.id();
    let run = format!("{JOBS}/{job}/run");
    // `run` while the job is still validating: a 400 from the endpoint itself.
    let first = api.post_idem(&run, "", "run-key").await;
    assert_eq!(first.status, 400);
    emu.clock().advance(Duration::from_secs(10));
    assert_eq!(status_of(&api, &job).await, "ready");
    // The job could run now, but the key's first result is what Stripe answers.
    let again = api.post_idem(&run, "", "run-key").await;
    assert_eq!(again.status, 400);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        again.header("original-request"),
        first.header("request-id"),
        "Original-Request names the first request"
    );
    assert_eq!(again.header("stripe-should-retry"), Some("false"));
    assert_eq!(status_of(&api, &job).await, "ready", "nothing was run");
    // Another key runs it.
    assert_eq!(api.post_idem(&run, "", "run-key-2").await.status, 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn parameter_errors_are_not_saved_and_other_parameters_are_refused() {
    let emu = start(config(OBJECTS)).await;
    let api = Api::new(&emu);
    let bad = api
        .post_idem(JOBS, "objects[customers][]=cus_clean&colour=red", "k1")
        .await;
    assert_eq!(bad.error_code(), Some("parameter_unknown"));
    // Nothing was saved: the same key with valid parameters executes.
    let ok = api
        .post_idem(JOBS, "objects[customers][]=cus_clean", "k1")
        .await;
    assert_eq!(ok.status, 200);
    assert!(ok.header("idempotent-replayed").is_none());
    let replay = api
        .post_idem(JOBS, "objects[customers][]=cus_clean", "k1")
        .await;
    assert_eq!(replay.id(), ok.id());
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    let other = api
        .post_idem(JOBS, "objects[customers][]=cus_other", "k1")
        .await;
    assert_eq!(other.status, 400);
    assert_eq!(other.body["error"]["type"], "idempotency_error");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_500_after_the_write_is_replayed_and_says_do_not_retry() {
    let emu = start(Config {
        fail_rate: 1.0,
        seed: 7,
        ..config(OBJECTS)
    })
    .await;
    let api = Api::new(&emu);
    let (mut after, mut before) = (0, 0);
    for i in 0..12 {
        emu.set_faults(1.0, 0.0);
        let key = format!("fault-{i}");
        let first = api
            .post_idem(JOBS, "objects[customers][]=cus_clean", &key)
            .await;
        assert_eq!(first.status, 500);
        emu.set_faults(0.0, 0.0);
        let retry = api
            .post_idem(JOBS, "objects[customers][]=cus_clean", &key)
            .await;
        if retry.header("idempotent-replayed") == Some("true") {
            // The write happened: Stripe saved the 500 and replays it.
            after += 1;
            assert_eq!(retry.status, 500, "the 500 is replayed, not the success");
            assert_eq!(first.header("stripe-should-retry"), Some("false"));
            assert_eq!(retry.header("stripe-should-retry"), Some("false"));
        } else {
            // Failed before the endpoint began: nothing saved, the retry executes.
            before += 1;
            assert_eq!(retry.status, 200);
            assert_eq!(first.header("stripe-should-retry"), Some("true"));
        }
    }
    assert!(after > 0 && before > 0, "seed 7 draws both kinds");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_rate_limited_request_says_retry() {
    let emu = start(Config {
        rate_limit: 1,
        ..config(OBJECTS)
    })
    .await;
    let api = Api::new(&emu);
    let mut seen = None;
    for _ in 0..5 {
        let r = api.get(JOBS).await;
        if r.status == 429 {
            seen = Some(r);
            break;
        }
    }
    let r = seen.expect("a 429 within five requests");
    assert_eq!(r.error_code(), Some("rate_limit"));
    assert_eq!(r.header("stripe-should-retry"), Some("true"));
    emu.shutdown().await;
}

#[tokio::test]
async fn issuing_cards_are_accepted_but_do_not_read_back() {
    let emu = start(config(OBJECTS)).await;
    let api = Api::new(&emu);
    let job = create(
        &api,
        "objects[issuing_cards][]=ic_card&objects[customers][]=cus_clean",
    )
    .await;
    assert_eq!(job.status, 200);
    let got = api.job(&job.id()).await;
    let objects = got.body["objects"].as_object().expect("objects expanded");
    assert!(!objects.contains_key("issuing_cards"));
    assert_eq!(objects.len(), 9, "the nine documented fields");
    assert_eq!(got.body["objects"]["customers"][0], "cus_clean");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_job_that_failed_on_a_lock_holds_nothing() {
    let emu = start(config(OBJECTS)).await;
    let api = Api::new(&emu);
    let first = create(&api, "objects[customers][]=cus_clean").await.id();
    assert_eq!(status_of(&api, &first).await, "ready");
    let second = create(&api, "objects[customers][]=cus_clean").await.id();
    assert_eq!(status_of(&api, &second).await, "failed");
    let errors = api.get(&format!("{JOBS}/{second}/validation_errors")).await;
    assert_eq!(errors.body["data"][0]["code"], "locked_by_other_job");
    // The earlier job is released: the failed one must not hold the object in its place.
    assert_eq!(api.action(&first, "cancel").await.status, 200);
    let third = create(&api, "objects[customers][]=cus_clean").await.id();
    assert_eq!(status_of(&api, &third).await, "ready");
    emu.shutdown().await;
}

#[tokio::test]
async fn unknown_objects_do_not_exist_unless_configured() {
    let emu = start(config(OBJECTS)).await;
    let api = Api::new(&emu);
    let r = create(
        &api,
        "objects[customers][]=cus_clean&objects[customers][]=cus_nobody",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), Some("resource_missing"));
    assert_eq!(r.error_param(), Some("objects[customers][1]"));
    assert_eq!(r.body["error"]["message"], "No such customer: 'cus_nobody'");
    let s = api
        .get("/v1/identity/verification_sessions/vs_nobody")
        .await;
    assert_eq!((s.status, s.error_code()), (404, Some("resource_missing")));
    let s = api
        .post("/v1/identity/verification_sessions/vs_nobody/redact", "")
        .await;
    assert_eq!(s.status, 404);
    emu.shutdown().await;

    let lenient = start(Config {
        unknown_objects: UnknownObjects::Exist,
        ..config(OBJECTS)
    })
    .await;
    let api = Api::new(&lenient);
    assert_eq!(
        create(&api, "objects[customers][]=cus_nobody").await.status,
        200
    );
    let s = api
        .get("/v1/identity/verification_sessions/vs_nobody")
        .await;
    assert_eq!(s.body["status"], "verified");
    lenient.shutdown().await;
}

#[tokio::test]
async fn unknown_and_ga_api_versions_are_refused() {
    let emu = start(config(OBJECTS)).await;
    let api = Api::new(&emu);
    assert_eq!(with_version(&api, JOBS, None).await.status, 200);
    assert_eq!(
        with_version(&api, JOBS, Some("2026-09-30.preview"))
            .await
            .status,
        200
    );
    for bad in [
        "2025-03-31.basil",
        "2024-06-20",
        "banana",
        "2026-13-01.preview",
    ] {
        let r = with_version(&api, JOBS, Some(bad)).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.body["error"]["type"], "invalid_request_error");
    }
    // A GA version reaches the GA resources.
    assert_eq!(
        with_version(&api, "/v1/account", Some("2025-03-31.basil"))
            .await
            .status,
        200
    );
    emu.shutdown().await;
}

const ACCOUNTS: &str = r#"
accounts:
  - id: acct_1Platform
    keys: [sk_test_platformOne, sk_test_platformTwo]
    connected: [acct_1Connected]
  - id: acct_1Other
    keys: [sk_test_otherAccount]
objects:
  - id: cus_clean
"#;

#[tokio::test]
async fn keys_belong_to_accounts_and_only_connected_accounts_are_reachable() {
    let emu = start(config(ACCOUNTS)).await;
    let one = Api::new(&emu).with_key("sk_test_platformOne");
    let two = one.with_key("sk_test_platformTwo");
    let other = one.with_key("sk_test_otherAccount");
    assert_eq!(one.get("/v1/account").await.body["id"], "acct_1Platform");
    assert_eq!(two.get("/v1/account").await.body["id"], "acct_1Platform");
    assert_eq!(other.get("/v1/account").await.body["id"], "acct_1Other");
    let job = create(&one, "objects[customers][]=cus_clean").await.id();
    assert_eq!(two.job(&job).await.status, 200, "same account, same jobs");
    let listed = two.get(JOBS).await;
    assert_eq!(listed.body["data"][0]["id"], Value::String(job.clone()));
    let r = other.job(&job).await;
    assert_eq!((r.status, r.error_param()), (404, Some("id")));
    // Connected accounts: only those the fixtures connect.
    let c = one.with_account("acct_1Connected");
    assert_eq!(c.get("/v1/account").await.body["id"], "acct_1Connected");
    let r = one.with_account("acct_1Stranger").get(JOBS).await;
    assert_eq!(r.status, 403);
    let r = other.with_account("acct_1Connected").get(JOBS).await;
    assert_eq!(r.status, 403, "connected to another platform");
    emu.shutdown().await;
}

#[tokio::test]
async fn rate_limits_count_per_account_not_per_key() {
    let emu = start(Config {
        rate_limit: 3,
        ..config(ACCOUNTS)
    })
    .await;
    let one = Api::new(&emu).with_key("sk_test_platformOne");
    let two = one.with_key("sk_test_platformTwo");
    let other = one.with_key("sk_test_otherAccount");
    // Limits count in wall-clock seconds: start at the beginning of one, and try again
    // (in a later second) if a slow machine spread the requests over two.
    let second = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    };
    let mut codes = Vec::new();
    for _ in 0..3 {
        let wait = 1000 - u64::from(second().subsec_millis()) + 5;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let start = second().as_secs();
        codes.clear();
        for api in [&one, &one, &one, &two, &other] {
            codes.push(api.get("/v1/account").await.status);
        }
        if second().as_secs() == start {
            break;
        }
    }
    assert_eq!(codes, vec![200, 200, 200, 429, 200]);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_fix_job_that_became_ready_lists_no_errors_and_runs_after_switching_back() {
    let emu = start(config(OBJECTS)).await;
    let api = Api::new(&emu);
    let job = create(
        &api,
        "objects[customers][]=cus_guide&validation_behavior=fix",
    )
    .await
    .id();
    let got = api.job(&job).await;
    assert_eq!(got.body["status"], "ready");
    assert_eq!(got.body["validation_errors"]["data"], serde_json::json!([]));
    let errors = api.get(&format!("{JOBS}/{job}/validation_errors")).await;
    assert_eq!(errors.body["data"], serde_json::json!([]));
    // An update changes the configuration only: run is still allowed.
    let upd = api
        .post(&format!("{JOBS}/{job}"), "validation_behavior=error")
        .await;
    assert_eq!(upd.body["status"], "ready");
    let run = api.action(&job, "run").await;
    assert_eq!(
        (run.status, run.body["status"].as_str()),
        (200, Some("redacting"))
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn the_ninety_day_error_carries_its_structure() {
    let emu = start(config(OBJECTS)).await;
    let api = Api::new(&emu);
    let job = create(
        &api,
        "objects[customers][]=cus_recent&validation_behavior=fix",
    )
    .await
    .id();
    let got = api.job(&job).await;
    assert_eq!(got.body["status"], "failed");
    let e = &got.body["validation_errors"]["data"][0];
    assert_eq!(e["object"], "privacy.redaction_job_validation_error");
    assert_eq!(e["code"], "invalid_state");
    assert_eq!(
        e["erroring_object"],
        serde_json::json!({"id": "ch_recent", "object_type": "charge"})
    );
    assert!(e["id"].as_str().unwrap_or_default().starts_with("prjve_"));
    emu.shutdown().await;
}

#[tokio::test]
async fn too_many_related_objects_and_duplicate_ids() {
    let emu = start(Config {
        max_related_objects: 3,
        ..config(
            "objects:\n  - id: cus_big\n    related: [pi_1, pi_2, pi_3, pi_4]\n  - id: cus_clean\n",
        )
    })
    .await;
    let api = Api::new(&emu);
    let job = create(&api, "objects[customers][]=cus_big").await.id();
    let got = api.job(&job).await;
    assert_eq!(got.body["status"], "failed");
    let e = &got.body["validation_errors"]["data"][0];
    assert_eq!(e["code"], "too_many_objects");
    assert_eq!(e["erroring_object"], Value::Null);
    let dup = create(
        &api,
        "objects[customers][]=cus_clean&objects[customers][]=cus_clean",
    )
    .await;
    assert_eq!(dup.status, 400);
    assert_eq!(dup.error_param(), Some("objects[customers][1]"));
    emu.shutdown().await;
}

#[tokio::test]
async fn identity_sessions_use_the_sdks_statuses() {
    let emu = start(Config {
        session_redaction_delay: Duration::from_secs(60),
        ..config(OBJECTS)
    })
    .await;
    let api = Api::new(&emu);
    let path = "/v1/identity/verification_sessions/vs_input";
    let r = api.post(&format!("{path}/redact"), "").await;
    assert_eq!(r.body["status"], "requires_input");
    assert_eq!(r.body["redaction"]["status"], "processing");
    emu.clock().advance(Duration::from_secs(60));
    assert_eq!(api.get(path).await.body["redaction"]["status"], "redacted");
    let p = api
        .post(
            "/v1/identity/verification_sessions/vs_processing/redact",
            "",
        )
        .await;
    assert_eq!(p.status, 400);
    let bad =
        serde_yaml::from_str::<Fixtures>("objects: [{id: vs_1, state: sleeping}]").expect("parses");
    assert!(bad.check().is_err(), "not a session status");
    emu.shutdown().await;
}

#[tokio::test]
async fn wire_details_as_stripe_writes_them() {
    let emu = start(config(OBJECTS)).await;
    let api = Api::new(&emu);
    let r = api.get("/v1/nope").await;
    assert_eq!(r.status, 404);
    let msg = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.starts_with("Unrecognized request URL (GET: /v1/nope)."),
        "{msg}"
    );
    let url = r.body["error"]["request_log_url"]
        .as_str()
        .unwrap_or_default();
    let req = r.header("request-id").unwrap_or("missing");
    assert!(
        url.starts_with("https://dashboard.stripe.com/") && url.contains(req),
        "{url}"
    );
    let missing = api.job("prj_nope").await;
    assert_eq!(
        (missing.status, missing.error_code(), missing.error_param()),
        (404, Some("resource_missing"), Some("id"))
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn every_response_names_the_emulator() {
    let emu = start(config(OBJECTS)).await;
    let api = Api::new(&emu);
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        api.get(JOBS).await.header("redactctl-emulator"),
        Some(version)
    );
    assert_eq!(
        api.get("/v1/nope").await.header("redactctl-emulator"),
        Some(version)
    );
    let unauth = api.with_key("nope").get(JOBS).await;
    assert_eq!(unauth.status, 401);
    assert_eq!(unauth.header("redactctl-emulator"), Some(version));
    let stats = Api::send(api.client.get(format!("{}/_emulator/stats", api.base))).await;
    assert_eq!(stats.header("redactctl-emulator"), Some(version));
    let _ = KEY;
    emu.shutdown().await;
}

#[tokio::test]
async fn the_clock_can_be_advanced_and_the_ninety_day_rule_reads_it() {
    let emu = start(config(
        "objects:\n  - id: cus_young\n    related: [ch_young]\n  - id: ch_young\n    state: succeeded\n    age: 89d\n",
    ))
    .await;
    let api = Api::new(&emu);
    let admin = |path: &str| format!("{}/_emulator/{path}", api.base);
    let job = create(&api, "objects[customers][]=cus_young").await.id();
    let got = api.job(&job).await;
    assert_eq!(got.body["status"], "failed");
    let msg = got.body["validation_errors"]["data"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(msg.contains("89 days ago"), "{msg}");
    let clock = Api::send(api.client.get(admin("clock"))).await;
    assert_eq!(clock.body["now"], T0);
    let bad = Api::send(api.client.post(admin("clock/advance?seconds=soon"))).await;
    assert_eq!(bad.status, 400);
    let moved = Api::send(api.client.post(admin("clock/advance?seconds=172800"))).await;
    assert_eq!(moved.status, 200);
    assert_eq!(moved.body["now"], T0 + 172_800);
    // 91 days old now: the same job validates.
    assert_eq!(api.action(&job, "validate").await.status, 200);
    assert_eq!(status_of(&api, &job).await, "ready");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_read_only_restricted_key_cannot_write() {
    let emu = start(config(
        "accounts:\n  - id: acct_1Platform\n    keys: [sk_test_platformOne]\n    read_only_keys: [rk_test_readOnlyKey]\nobjects:\n  - id: cus_clean\n",
    ))
    .await;
    let secret = Api::new(&emu).with_key("sk_test_platformOne");
    let restricted = secret.with_key("rk_test_readOnlyKey");
    let job = create(&secret, "objects[customers][]=cus_clean").await.id();
    assert_eq!(restricted.job(&job).await.status, 200, "reads are allowed");
    let w = create(&restricted, "objects[customers][]=cus_clean").await;
    assert_eq!(w.status, 403);
    let msg = w.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("does not have the required permissions"),
        "{msg}"
    );
    assert!(msg.contains("rk_test_****"), "the key is masked: {msg}");
    assert!(!msg.contains("readOnlyKey"));
    assert_eq!(restricted.action(&job, "cancel").await.status, 403);
    assert_eq!(status_of(&secret, &job).await, "ready");
    let listed = secret.get(JOBS).await;
    assert_eq!(listed.body["data"].as_array().map(Vec::len), Some(1));
    emu.shutdown().await;
}
