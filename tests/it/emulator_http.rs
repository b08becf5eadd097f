//! The emulator over HTTP with a plain client: Stripe's guide end to end, both bracket
//! styles, pagination, every error case, idempotency, namespaces and concurrency.

use crate::common::every_id_exists;
use std::collections::HashSet;
use std::time::Duration;

use redactctl::emulator::{Clock, Config, Fixtures};
use serde_json::{json, Value};

use crate::emulator_support::{start, Api, KEY};

const T0: i64 = 1_800_000_000;

/// The guide's setup: a customer with an unconfirmed PaymentIntent and an old charge.
fn guide_fixtures() -> Fixtures {
    serde_yaml::from_str(
        r#"
objects:
  - id: cus_guide
    related: [pi_guide, ch_old]
  - id: pi_guide
    state: requires_payment_method
  - id: ch_old
    age: 200d
  - id: cus_recent
    related: [ch_recent]
  - id: ch_recent
    age: 30d
"#,
    )
    .unwrap()
}

#[tokio::test]
async fn the_guides_walkthrough() {
    let clock = Clock::manual(T0);
    let emu = start(Config {
        validation_delay: Duration::from_secs(30),
        redaction_delay: Duration::from_secs(60),
        fixtures: Some(guide_fixtures()),
        clock: clock.clone(),
        ..every_id_exists()
    })
    .await;
    let api = Api::new(&emu);

    // Create: validating, behaviour error by default.
    let created = api.create("objects[customers][]=cus_guide").await;
    assert_eq!(created.status, 200);
    let id = created.id();
    assert!(id.starts_with("prj_"));
    assert_eq!(created.body["object"], "privacy.redaction_job");
    assert_eq!(created.body["status"], "validating");
    assert_eq!(created.body["validation_behavior"], "error");
    assert_eq!(created.body["livemode"], false);
    assert_eq!(created.body["created"], T0);
    assert!(created.header("request-id").unwrap().starts_with("req_"));

    // Still validating until the delay has passed.
    assert_eq!(api.job(&id).await.body["status"], "validating");
    clock.advance(Duration::from_secs(30));
    let failed = api.job(&id).await;
    assert_eq!(failed.body["status"], "failed");

    // The guide's validation error, exactly.
    let errors = api
        .get(&format!(
            "/v1/privacy/redaction_jobs/{id}/validation_errors"
        ))
        .await;
    assert_eq!(errors.status, 200);
    assert_eq!(errors.body["object"], "list");
    assert_eq!(errors.body["has_more"], false);
    let data = errors.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    let e = &data[0];
    assert!(e["id"].as_str().unwrap().starts_with("prjve_"));
    assert_eq!(e["object"], "privacy.redaction_job_validation_error");
    assert_eq!(e["code"], "invalid_state");
    assert_eq!(
        e["erroring_object"],
        json!({"id": "pi_guide", "object_type": "payment_intent"})
    );
    assert_eq!(
        e["message"],
        "PaymentIntent is not finalized. Confirm or cancel the PaymentIntent."
    );
    assert_eq!(failed.body["validation_errors"]["data"][0], *e);

    // Update to fix: configuration only, still failed.
    let updated = api
        .post(
            &format!("/v1/privacy/redaction_jobs/{id}"),
            "validation_behavior=fix",
        )
        .await;
    assert_eq!(updated.body["status"], "failed");
    assert_eq!(updated.body["validation_behavior"], "fix");

    // Validate again → validating → ready.
    let v = api.action(&id, "validate").await;
    assert_eq!(v.status, 200);
    assert_eq!(v.body["status"], "validating");
    clock.advance(Duration::from_secs(30));
    let ready = api.job(&id).await;
    assert_eq!(ready.body["status"], "ready");
    // A ready job lists no errors: the fix it will apply is not an error.
    assert_eq!(ready.body["validation_errors"]["data"], json!([]));

    // Run → redacting → succeeded.
    let run = api.action(&id, "run").await;
    assert_eq!(run.body["status"], "redacting");
    // Irreversible: no cancel while redacting.
    let cancel = api.action(&id, "cancel").await;
    assert_eq!(cancel.status, 400);
    clock.advance(Duration::from_secs(60));
    assert_eq!(api.job(&id).await.body["status"], "succeeded");

    // Everything reached is redacted now: a new job on the PaymentIntent fails.
    let again = api.create("objects[payment_intents][]=pi_guide").await;
    clock.advance(Duration::from_secs(30));
    let again = api.job(&again.id()).await;
    assert_eq!(again.body["status"], "failed");
    assert!(again.body["validation_errors"]["data"][0]["message"]
        .as_str()
        .unwrap()
        .contains("already been redacted"));
    emu.shutdown().await;
}

#[tokio::test]
async fn both_bracket_styles_and_basic_auth() {
    let emu = start(every_id_exists()).await;
    let api = Api::new(&emu);
    let curl = api
        .create("objects%5Bcustomers%5D%5B%5D=cus_1&objects[customers][]=cus_2&objects[payment_intents][]=pi_1&expand[]=objects")
        .await;
    let sdk = api
        .create("objects[customers][0]=cus_3&objects[customers][1]=cus_4&objects[payment_intents][0]=pi_2&expand[0]=objects")
        .await;
    assert_eq!(curl.body["objects"]["customers"], json!(["cus_1", "cus_2"]));
    assert_eq!(curl.body["objects"]["payment_intents"], json!(["pi_1"]));
    assert_eq!(sdk.body["objects"]["customers"], json!(["cus_3", "cus_4"]));
    assert_eq!(sdk.body["objects"]["payment_intents"], json!(["pi_2"]));
    assert_eq!(sdk.body["objects"]["charges"], Value::Null);

    // Query strings too, in both styles.
    for q in ["expand[]=objects", "expand%5B0%5D=objects"] {
        let r = api
            .get(&format!("/v1/privacy/redaction_jobs/{}?{q}", sdk.id()))
            .await;
        assert_eq!(
            r.body["objects"]["customers"],
            json!(["cus_3", "cus_4"]),
            "{q}"
        );
    }
    let list = api
        .get("/v1/privacy/redaction_jobs?expand[]=data.objects&limit=1")
        .await;
    assert_eq!(
        list.body["data"][0]["objects"]["customers"],
        json!(["cus_3", "cus_4"])
    );
    let plain = api.get("/v1/privacy/redaction_jobs").await;
    assert!(plain.body["data"][0].get("objects").is_none());

    // curl -u KEY: is HTTP Basic.
    let r = Api::send(
        api.client
            .get(format!(
                "{}/v1/privacy/redaction_jobs/{}",
                api.base,
                curl.id()
            ))
            .basic_auth(KEY, Some("")),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["id"], curl.body["id"]);
}

#[tokio::test]
async fn pagination_across_250_jobs() {
    let clock = Clock::manual(T0);
    let emu = start(Config {
        clock: clock.clone(),
        ..every_id_exists()
    })
    .await;
    let api = Api::new(&emu);
    let mut created = Vec::new();
    for i in 0..250 {
        created.push(
            api.create(&format!("objects[customers][]=cus_p{i}"))
                .await
                .id(),
        );
        if i % 7 == 0 {
            clock.advance(Duration::from_secs(1));
        }
    }
    // Newest first, every job exactly once, pages of 100.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/v1/privacy/redaction_jobs?limit=100&starting_after={a}"),
            None => "/v1/privacy/redaction_jobs?limit=100".to_string(),
        };
        let page = api.get(&path).await;
        assert_eq!(page.body["url"], "/v1/privacy/redaction_jobs");
        let data = page.body["data"].as_array().unwrap();
        seen.extend(data.iter().map(|j| j["id"].as_str().unwrap().to_string()));
        after = seen.last().cloned();
        if page.body["has_more"] == false {
            break;
        }
    }
    let expected: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(seen, expected);

    // Default limit 10; ending_before walks back.
    let first = api.get("/v1/privacy/redaction_jobs").await;
    assert_eq!(first.body["data"].as_array().unwrap().len(), 10);
    let back = api
        .get(&format!(
            "/v1/privacy/redaction_jobs?limit=5&ending_before={}",
            expected[20]
        ))
        .await;
    let back_ids: Vec<&str> = back.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        back_ids,
        expected[15..20]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    assert_eq!(back.body["has_more"], true);

    // Status filter.
    api.action(&created[0], "cancel").await;
    let canceled = api.get("/v1/privacy/redaction_jobs?status=canceled").await;
    let data = canceled.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["id"], created[0].as_str());
    let ready = api
        .get("/v1/privacy/redaction_jobs?status=ready&limit=100")
        .await;
    assert_eq!(ready.body["data"].as_array().unwrap().len(), 100);
    assert_eq!(ready.body["has_more"], true);
}

#[tokio::test]
async fn every_error_case() {
    let clock = Clock::manual(T0);
    let emu = start(Config {
        clock: clock.clone(),
        ..every_id_exists()
    })
    .await;
    let api = Api::new(&emu);
    let check = |r: &crate::emulator_support::Resp,
                 status: u16,
                 code: Option<&str>,
                 param: Option<&str>| {
        assert_eq!(r.status, status, "{}", r.body);
        assert_eq!(r.error_code(), code, "{}", r.body);
        assert_eq!(r.error_param(), param, "{}", r.body);
        assert_eq!(r.body["error"]["type"], "invalid_request_error");
        assert!(r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        assert!(r.header("request-id").is_some());
    };
    check(
        &api.create("").await,
        400,
        Some("parameter_missing"),
        Some("objects"),
    );
    check(
        &api.create("objects[customers][]=cus_1&foo=bar").await,
        400,
        Some("parameter_unknown"),
        Some("foo"),
    );
    check(
        &api.create("objects[customers][]=").await,
        400,
        Some("parameter_invalid_empty"),
        Some("objects[customers][0]"),
    );
    check(
        &api.create("objects[customers][]=cus_1&validation_behavior=")
            .await,
        400,
        Some("parameter_invalid_empty"),
        Some("validation_behavior"),
    );
    check(
        &api.create("objects[customers][]=cus_1&validation_behavior=maybe")
            .await,
        400,
        None,
        Some("validation_behavior"),
    );
    let eleven: String = (0..11)
        .map(|i| format!("objects[customers][]=cus_{i}&"))
        .collect();
    let r = api.create(&eleven).await;
    check(&r, 400, None, Some("objects"));
    assert!(r.body["error"]["message"].as_str().unwrap().contains("10"));
    check(
        &api.create("objects[customers]=a&objects[customers][]=b")
            .await,
        400,
        None,
        Some("objects[customers][]"),
    );

    // Unknown job → 404 resource_missing, on every job route.
    for (m, p) in [
        ("GET", "/v1/privacy/redaction_jobs/prj_missing"),
        ("POST", "/v1/privacy/redaction_jobs/prj_missing"),
        ("POST", "/v1/privacy/redaction_jobs/prj_missing/run"),
        ("POST", "/v1/privacy/redaction_jobs/prj_missing/validate"),
        ("POST", "/v1/privacy/redaction_jobs/prj_missing/cancel"),
        (
            "GET",
            "/v1/privacy/redaction_jobs/prj_missing/validation_errors",
        ),
    ] {
        let r = if m == "GET" {
            api.get(p).await
        } else {
            api.post(p, "").await
        };
        check(&r, 404, Some("resource_missing"), Some("id"));
        assert_eq!(
            r.body["error"]["message"],
            "No such privacy.redaction_job: 'prj_missing'"
        );
    }

    // Wrong status for an action: says which statuses allow it.
    let id = api.create("objects[customers][]=cus_ok").await.id();
    let r = api.action(&id, "validate").await; // ready now (no delay)
    check(&r, 400, None, None);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("`failed`"));
    api.action(&id, "run").await;
    let r = api.action(&id, "run").await;
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("`succeeded`"));
    check(
        &api.post(
            &format!("/v1/privacy/redaction_jobs/{id}"),
            "validation_behavior=fix",
        )
        .await,
        400,
        None,
        None,
    );

    // Lists.
    check(
        &api.get("/v1/privacy/redaction_jobs?limit=0").await,
        400,
        None,
        Some("limit"),
    );
    check(
        &api.get("/v1/privacy/redaction_jobs?limit=101").await,
        400,
        None,
        Some("limit"),
    );
    check(
        &api.get("/v1/privacy/redaction_jobs?limit=ten").await,
        400,
        None,
        Some("limit"),
    );
    check(
        &api.get("/v1/privacy/redaction_jobs?status=done").await,
        400,
        None,
        Some("status"),
    );
    check(
        &api.get("/v1/privacy/redaction_jobs?starting_after=prj_nope")
            .await,
        400,
        Some("resource_missing"),
        Some("starting_after"),
    );
    check(
        &api.get("/v1/privacy/redaction_jobs?expand[]=objects").await,
        400,
        None,
        Some("expand"),
    );
    check(
        &api.get("/v1/privacy/redaction_jobs?created=1").await,
        400,
        Some("parameter_unknown"),
        Some("created"),
    );

    // Unknown URL.
    let r = api.get("/v1/privacy/nothing").await;
    assert_eq!(r.status, 404);
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Unrecognized request URL"));

    // Keys.
    let bad = api
        .with_key("sk_prod_abcdefgh1234")
        .create("objects[customers][]=cus_1")
        .await;
    assert_eq!(bad.status, 401);
    assert_eq!(
        bad.body["error"]["message"],
        "Invalid API Key provided: ****1234"
    );
    let bad = api
        .with_key("pk_test_abcdefgh9876")
        .get("/v1/account")
        .await;
    assert_eq!(bad.status, 401);
    assert_eq!(
        bad.body["error"]["message"],
        "Invalid API Key provided: pk_test_****9876"
    );
    let none = Api::send(api.client.get(format!("{}/v1/account", api.base))).await;
    assert_eq!(none.status, 401);
    assert!(none.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("did not provide an API key"));
    assert!(none.header("request-id").is_some());
}

#[tokio::test]
async fn idempotent_replay_and_changed_body() {
    let emu = start(every_id_exists()).await;
    let api = Api::new(&emu);
    let first = api
        .post_idem(
            "/v1/privacy/redaction_jobs",
            "objects[customers][]=cus_i",
            "key-1",
        )
        .await;
    assert_eq!(first.status, 200);
    assert!(first.header("idempotent-replayed").is_none());
    let again = api
        .post_idem(
            "/v1/privacy/redaction_jobs",
            "objects[customers][]=cus_i",
            "key-1",
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    // The other bracket style is the same request.
    let same = api
        .post_idem(
            "/v1/privacy/redaction_jobs",
            "objects[customers][0]=cus_i",
            "key-1",
        )
        .await;
    assert_eq!(same.header("idempotent-replayed"), Some("true"));
    let changed = api
        .post_idem(
            "/v1/privacy/redaction_jobs",
            "objects[customers][]=cus_j",
            "key-1",
        )
        .await;
    assert_eq!(changed.status, 400);
    assert_eq!(changed.body["error"]["type"], "idempotency_error");
    let list = api.get("/v1/privacy/redaction_jobs").await;
    assert_eq!(
        list.body["data"].as_array().unwrap().len(),
        1,
        "no duplicate job"
    );
    // Keys are per namespace: the live key's first use creates a job.
    let live = api.with_key("sk_live_emulatorTests1234");
    let l = live
        .post_idem(
            "/v1/privacy/redaction_jobs",
            "objects[customers][]=cus_i",
            "key-1",
        )
        .await;
    assert!(l.header("idempotent-replayed").is_none());
    assert_eq!(l.body["livemode"], true);
}

#[tokio::test]
async fn namespaces_and_account() {
    // The test key's account and the account connected to it are declared; every id
    // exists (this test is about namespaces, not existence).
    let accounts: Fixtures = serde_yaml::from_str(
        "accounts:\n  - id: acct_1EmulatorTests\n    keys: [sk_test_emulatorTests1234, sk_live_emulatorTests1234, rk_live_emulatorTests1234]\n    connected: [acct_Connected1]\n",
    )
    .unwrap();
    let emu = start(Config {
        fixtures: Some(accounts),
        ..every_id_exists()
    })
    .await;
    let api = Api::new(&emu);
    let live = api.with_key("rk_live_emulatorTests1234");
    let connected = api.with_account("acct_Connected1");
    let t = api.create("objects[customers][]=cus_n").await;
    let l = live.create("objects[customers][]=cus_n").await;
    let c = connected.create("objects[customers][]=cus_n").await;
    // Same object in three namespaces: no lock conflict, separate lists.
    for (a, r) in [(&api, &t), (&live, &l), (&connected, &c)] {
        assert_eq!(a.job(&r.id()).await.body["status"], "ready");
        let list = a.get("/v1/privacy/redaction_jobs").await;
        let ids: Vec<&str> = list.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![r.id()]);
    }
    assert_eq!(l.body["livemode"], true);
    assert_eq!(api.job(&l.id()).await.status, 404);
    assert_eq!(api.job(&c.id()).await.status, 404);

    // Account ids: stable, shared by test and live keys of one secret, connected = header.
    let a1 = api.get("/v1/account").await;
    let a2 = api
        .with_key("sk_live_emulatorTests1234")
        .get("/v1/account")
        .await;
    assert_eq!(a1.body["object"], "account");
    assert!(a1.body["id"].as_str().unwrap().starts_with("acct_"));
    assert_eq!(a1.body["id"], a2.body["id"]);
    assert_ne!(
        a1.body["id"],
        api.with_key("sk_test_other").get("/v1/account").await.body["id"]
    );
    assert_eq!(
        connected.get("/v1/account").await.body["id"],
        "acct_Connected1"
    );
    let bad = api.with_account("nope").get("/v1/account").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_code(), Some("account_invalid"));
}

#[tokio::test]
async fn lock_conflict_over_http_and_cancel_releases() {
    let emu = start(Config {
        fixtures: Some(guide_fixtures()),
        ..every_id_exists()
    })
    .await;
    let api = Api::new(&emu);
    let first = api
        .create("objects[customers][]=cus_guide&validation_behavior=fix")
        .await
        .id();
    let second = api
        .create("objects[payment_intents][]=pi_guide&validation_behavior=fix")
        .await
        .id();
    let s = api.job(&second).await;
    assert_eq!(s.body["status"], "failed");
    let codes: Vec<&str> = s.body["validation_errors"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"locked_by_other_job"), "{codes:?}");
    assert_eq!(
        api.action(&first, "cancel").await.body["status"],
        "canceling"
    );
    assert_eq!(api.job(&first).await.body["status"], "canceled");
    assert_eq!(api.action(&second, "validate").await.status, 200);
    assert_eq!(api.job(&second).await.body["status"], "ready");
    // 90-day rule: not fixable.
    let recent = api
        .create("objects[customers][]=cus_recent&validation_behavior=fix")
        .await
        .id();
    let r = api.job(&recent).await;
    assert_eq!(r.body["status"], "failed");
    assert_eq!(
        r.body["validation_errors"]["data"][0]["erroring_object"]["id"],
        "ch_recent"
    );
}

#[tokio::test]
async fn hundred_concurrent_clients_lose_and_duplicate_nothing() {
    let emu = start(every_id_exists()).await;
    let api = Api::new(&emu);
    let mut tasks = Vec::new();
    for i in 0..100 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            let api = Api {
                client: reqwest::Client::new(),
                ..api
            };
            api.create(&format!("objects[customers][]=cus_c{i}&expand[]=objects"))
                .await
        }));
    }
    let mut ids = HashSet::new();
    let mut objects = HashSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200);
        ids.insert(r.id());
        objects.insert(
            r.body["objects"]["customers"][0]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(ids.len(), 100);
    assert_eq!(objects.len(), 100);
    let mut listed = HashSet::new();
    let page = api.get("/v1/privacy/redaction_jobs?limit=100").await;
    for j in page.body["data"].as_array().unwrap() {
        listed.insert(j["id"].as_str().unwrap().to_string());
        assert_eq!(
            j["status"], "ready",
            "no lock conflicts between distinct objects"
        );
    }
    assert_eq!(page.body["has_more"], false);
    assert_eq!(listed, ids);
    assert_eq!(emu.job_count(), 100);
}

#[tokio::test]
async fn identity_sessions() {
    let fixtures: Fixtures = serde_yaml::from_str(
        "objects:\n  - {id: vs_action, state: requires_action}\n  - {id: vs_busy, state: processing}\n",
    )
    .unwrap();
    let clock = Clock::manual(T0);
    let emu = start(Config {
        fixtures: Some(fixtures),
        session_redaction_delay: Duration::from_secs(3600),
        clock: clock.clone(),
        ..every_id_exists()
    })
    .await;
    let api = Api::new(&emu);
    let s = api.get("/v1/identity/verification_sessions/vs_new").await;
    assert_eq!(s.body["object"], "identity.verification_session");
    assert_eq!(s.body["status"], "verified");
    assert_eq!(s.body["redaction"], Value::Null);
    let r = api
        .post("/v1/identity/verification_sessions/vs_new/redact", "")
        .await;
    assert_eq!(r.body["redaction"]["status"], "processing");
    let r = api
        .post("/v1/identity/verification_sessions/vs_action/redact", "")
        .await;
    assert_eq!(r.body["status"], "canceled");
    assert_eq!(r.body["redaction"]["status"], "processing");
    let r = api
        .post("/v1/identity/verification_sessions/vs_busy/redact", "")
        .await;
    assert_eq!(r.status, 400);
    clock.advance(Duration::from_secs(3600));
    let s = api.get("/v1/identity/verification_sessions/vs_new").await;
    assert_eq!(s.body["redaction"]["status"], "redacted");
    assert_eq!(s.body["verified_outputs"]["first_name"], "[redacted]");
    assert_eq!(
        api.get("/v1/identity/verification_sessions/cus_1")
            .await
            .status,
        404
    );
}
