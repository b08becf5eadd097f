//! Operations of the emulator: faults (500s and dropped connections, before and after the
//! change), rate limits, stats, persistence across restarts, signed webhooks.

use crate::common::every_id_exists;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use redactctl::emulator::{spawn, Clock, Config, EmulatorError, Stats, WebhookTarget};
use sha2::Sha256;

use crate::emulator_support::{start, Api};

const T0: i64 = 1_800_000_000;

/// Sends `n` creates with distinct idempotency keys while faults are on, then retries each
/// with its key once faults are off. Returns how many retries were replays.
async fn create_through_faults(
    api: &Api,
    emu: &redactctl::emulator::EmulatorHandle,
    n: usize,
    expect_network_error: bool,
) -> usize {
    for i in 0..n {
        let r = api
            .post_builder(
                "/v1/privacy/redaction_jobs",
                &format!("objects[customers][]=cus_f{i}"),
            )
            .header("Idempotency-Key", format!("create-{i}"))
            .send()
            .await;
        match r {
            Err(e) => assert!(expect_network_error, "unexpected network error {e}"),
            Ok(resp) if expect_network_error => {
                panic!(
                    "expected a dropped connection, got a {} response",
                    resp.status()
                );
            }
            Ok(resp) => {
                assert_eq!(resp.status().as_u16(), 500);
                // `false` when the 500 came after the change (saved under the key and
                // replayed), `true` when it came before.
                let retry = resp.headers()["stripe-should-retry"].clone();
                assert!(retry == "true" || retry == "false");
                let body: serde_json::Value =
                    serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
                assert_eq!(body["error"]["type"], "api_error");
            }
        }
    }
    emu.set_faults(0.0, 0.0);
    let mut replays = 0;
    for i in 0..n {
        let r = api
            .post_idem(
                "/v1/privacy/redaction_jobs",
                &format!("objects[customers][]=cus_f{i}"),
                &format!("create-{i}"),
            )
            .await;
        if r.header("idempotent-replayed") == Some("true") {
            replays += 1;
            // A 500 after the change is saved and replayed, as Stripe does.
            assert_eq!(r.status, if expect_network_error { 200 } else { 500 });
        } else {
            assert_eq!(r.status, 200);
        }
    }
    replays
}

async fn all_job_objects(api: &Api) -> Vec<String> {
    let page = api
        .get("/v1/privacy/redaction_jobs?limit=100&expand[]=data.objects")
        .await;
    page.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["objects"]["customers"][0].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn fivehundreds_before_and_after_the_change_are_safe_to_retry() {
    let emu = start(Config {
        fail_rate: 1.0,
        seed: 3,
        ..every_id_exists()
    })
    .await;
    let api = Api::new(&emu);
    let n = 20;
    let replays = create_through_faults(&api, &emu, n, false).await;
    // Some 500s came after the job was created (the retry replays it), some before.
    assert!(replays > 0 && replays < n, "replays: {replays}");
    let objects = all_job_objects(&api).await;
    let unique: HashSet<&String> = objects.iter().collect();
    assert_eq!(
        objects.len(),
        n,
        "one job per request: none lost, none duplicated"
    );
    assert_eq!(unique.len(), n);
    // Every first attempt, and every replay of a 500 saved after the change.
    assert_eq!(
        emu.stats().by_status.get(&500).copied(),
        Some((n + replays) as u64)
    );
}

#[tokio::test]
async fn dropped_connections_are_network_errors_and_safe_to_retry() {
    let emu = start(Config {
        drop_rate: 1.0,
        seed: 11,
        ..every_id_exists()
    })
    .await;
    let api = Api::new(&emu);
    let n = 20;
    let replays = create_through_faults(&api, &emu, n, true).await;
    assert!(replays > 0 && replays < n, "replays: {replays}");
    let objects = all_job_objects(&api).await;
    let unique: HashSet<&String> = objects.iter().collect();
    assert_eq!(objects.len(), n);
    assert_eq!(unique.len(), n);
    assert_eq!(emu.stats().by_status.get(&0).copied(), Some(n as u64));
}

#[tokio::test]
async fn rate_limits_answer_429_rate_limit() {
    let emu = start(Config {
        rate_limit: 5,
        ..every_id_exists()
    })
    .await;
    let api = Api::new(&emu);
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move { api.get("/v1/account").await }));
    }
    let mut ok = 0;
    let mut limited = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            200 => ok += 1,
            429 => {
                limited += 1;
                assert_eq!(r.error_code(), Some("rate_limit"));
                assert_eq!(r.body["error"]["type"], "invalid_request_error");
            }
            s => panic!("unexpected {s}"),
        }
    }
    // At most 5 per wall-clock second in which requests arrived.
    let seconds = emu.stats().per_second.len();
    assert!(
        ok >= 5 && ok <= 5 * seconds,
        "admitted {ok} over {seconds} s"
    );
    assert_eq!(ok + limited, 30);
    // Another account (another key, declared nowhere: an account of its own) has its
    // own budget.
    assert_eq!(
        api.with_key("sk_test_someoneElse")
            .get("/v1/account")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn endpoint_rate_limit_is_per_endpoint() {
    let emu = start(Config {
        endpoint_rate_limit: 4,
        ..every_id_exists()
    })
    .await;
    let api = Api::new(&emu);
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let api = api.clone();
        tasks.push(tokio::spawn(
            async move { api.get("/v1/account").await.status },
        ));
    }
    let mut admitted = 0;
    for t in tasks {
        if t.await.unwrap() == 200 {
            admitted += 1;
        }
    }
    let seconds = emu.stats().per_second.len();
    assert!(
        admitted >= 4 && admitted <= 4 * seconds,
        "admitted {admitted} over {seconds} s"
    );
    // Another endpoint has its own budget, even right after the burst.
    for _ in 0..3 {
        assert_eq!(api.get("/v1/privacy/redaction_jobs").await.status, 200);
    }
    assert_eq!(
        emu.stats().by_status.get(&429).copied().unwrap_or(0),
        12 - admitted as u64
    );
}

#[tokio::test]
async fn stats_by_route_and_reset() {
    let emu = start(every_id_exists()).await;
    let api = Api::new(&emu);
    let id = api.create("objects[customers][]=cus_s").await.id();
    api.action(&id, "run").await;
    api.action(&id, "run").await; // 400: already running
    api.get(&format!("/v1/privacy/redaction_jobs/{id}")).await;
    let stats: Stats = serde_json::from_slice(
        &reqwest::get(format!("{}/_emulator/stats", emu.base_url()))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stats.total, 4, "the stats route itself is not counted");
    assert_eq!(stats.route("POST /v1/privacy/redaction_jobs"), 1);
    assert_eq!(stats.route("POST /v1/privacy/redaction_jobs/:id/run"), 2);
    assert_eq!(stats.route("GET /v1/privacy/redaction_jobs/:id"), 1);
    assert_eq!(stats.by_status[&200], 3);
    assert_eq!(stats.by_status[&400], 1);
    assert_eq!(stats.per_second.values().sum::<u64>(), 4);
    assert_eq!(stats, emu.stats());
    let reset = reqwest::Client::new()
        .post(format!("{}/_emulator/stats/reset", emu.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(emu.stats(), Stats::default());
    api.get("/v1/account").await;
    assert_eq!(emu.stats().total, 1);
    emu.reset_stats();
    assert_eq!(emu.stats().total, 0);
}

#[tokio::test]
async fn state_persists_across_restart_and_keeps_advancing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("emulator-state.json");
    let clock = Clock::manual(T0);
    let config = Config {
        state_file: Some(path.clone()),
        validation_delay: Duration::from_secs(60),
        clock: clock.clone(),
        ..every_id_exists()
    };
    let emu = start(config.clone()).await;
    let api = Api::new(&emu);
    let created = api
        .post_idem(
            "/v1/privacy/redaction_jobs",
            "objects[customers][]=cus_p",
            "persist-1",
        )
        .await;
    let id = created.id();
    let live = api
        .with_key("sk_live_persist")
        .create("objects[customers][]=cus_p")
        .await
        .id();
    emu.shutdown().await;
    assert!(path.exists());

    // Time passes while the emulator is down.
    clock.advance(Duration::from_secs(120));
    let emu = start(config.clone()).await;
    let api = Api {
        base: emu.base_url(),
        ..api
    };
    let job = api.job(&id).await;
    assert_eq!(job.status, 200);
    assert_eq!(job.body["status"], "ready");
    assert_eq!(job.body["objects"]["customers"][0], "cus_p");
    assert_eq!(
        api.with_key("sk_live_persist").job(&live).await.body["livemode"],
        true
    );
    // Idempotency keys survive too.
    let replay = api
        .post_idem(
            "/v1/privacy/redaction_jobs",
            "objects[customers][]=cus_p",
            "persist-1",
        )
        .await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.id(), id);
    // So do locks: a second job on the same customer is locked out.
    let second = api.create("objects[customers][]=cus_p").await.id();
    clock.advance(Duration::from_secs(60));
    let s = api.job(&second).await;
    assert_eq!(
        s.body["validation_errors"]["data"][0]["code"],
        "locked_by_other_job"
    );
    emu.shutdown().await;

    // A corrupt file is an error, never a silent reset.
    std::fs::write(&path, b"{ not json").unwrap();
    let err = spawn(config, "127.0.0.1:0".parse().unwrap())
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, EmulatorError::CorruptState { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"{ not json");
}

type Received = Arc<Mutex<Vec<(String, String)>>>;

/// A webhook endpoint that records (Stripe-Signature, body).
async fn webhook_receiver() -> (String, Received) {
    let received: Received = Arc::new(Mutex::new(Vec::new()));
    let r = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let r = r.clone();
            async move {
                let sig = headers
                    .get("stripe-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                r.lock().unwrap().push((sig, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), received)
}

fn verify(secret: &str, header: &str, body: &str) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = Some(x.to_string()),
            Some(("v1", x)) => v1 = Some(x.to_string()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes()) == v1
}

async fn wait_for(received: &Received, n: usize) -> Vec<(String, String)> {
    for _ in 0..200 {
        if received.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    received.lock().unwrap().clone()
}

#[tokio::test]
async fn signed_webhooks_for_job_and_session_transitions() {
    let (url, received) = webhook_receiver().await;
    let secret = "whsec_emulatorTest";
    let emu = start(Config {
        webhook: Some(WebhookTarget {
            url,
            secret: secret.to_string(),
        }),
        // Real (short) delays: the ticker must emit `ready` with no request.
        validation_delay: Duration::from_millis(300),
        ..every_id_exists()
    })
    .await;
    let api = Api::new(&emu);
    let id = api.create("objects[customers][]=cus_w").await.id();
    let events = wait_for(&received, 2).await;
    let types: Vec<String> = events
        .iter()
        .map(|(_, b)| {
            serde_json::from_str::<serde_json::Value>(b).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        types,
        vec![
            "privacy.redaction_job.created",
            "privacy.redaction_job.ready"
        ]
    );
    api.action(&id, "run").await;
    api.post("/v1/identity/verification_sessions/vs_w/redact", "")
        .await;
    let events = wait_for(&received, 4).await;
    let mut types = Vec::new();
    for (sig, body) in &events {
        assert!(verify(secret, sig, body), "bad signature {sig}");
        assert!(!verify("whsec_wrong", sig, body));
        let e: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(e["object"], "event");
        assert!(e["id"].as_str().unwrap().starts_with("evt_"));
        types.push(e["type"].as_str().unwrap().to_string());
        if e["type"] == "privacy.redaction_job.succeeded" {
            assert_eq!(e["data"]["object"]["id"], id.as_str());
            assert_eq!(e["data"]["object"]["status"], "succeeded");
        }
        if e["data"]["object"]["object"] == "privacy.redaction_job" {
            // Events carry the object unexpanded, as a plain retrieve shows it.
            assert!(e["data"]["object"].get("objects").is_none(), "{e}");
        }
    }
    assert!(
        types.contains(&"privacy.redaction_job.succeeded".to_string()),
        "{types:?}"
    );
    assert!(
        types.contains(&"identity.verification_session.redacted".to_string()),
        "{types:?}"
    );

    // A failing validation sends `.validation_error`; a cancel sends `.canceled`.
    // cus_w is redacted now, so this job fails validation.
    let failing = api.create("objects[customers][]=cus_w").await.id();
    let events = wait_for(&received, 6).await;
    assert!(events
        .iter()
        .any(|(_, b)| b.contains("privacy.redaction_job.validation_error")));
    assert_eq!(api.action(&failing, "cancel").await.status, 200);
    let events = wait_for(&received, 7).await;
    assert!(events
        .iter()
        .any(|(_, b)| b.contains("privacy.redaction_job.canceled")));
    emu.shutdown().await;
}

#[tokio::test]
async fn customers_made_through_the_api_outlive_a_restart_with_a_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("emulator-state.json");
    let config = Config {
        state_file: Some(path.clone()),
        clock: Clock::manual(T0),
        ..Config::default()
    };
    let emu = start(config.clone()).await;
    let api = Api::new(&emu);
    let made = api
        .post("/v1/customers", "email=kept%40example.com&name=Kept")
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let id = made.id();
    emu.shutdown().await;

    let emu = start(config).await;
    let api = Api {
        base: emu.base_url(),
        ..api
    };
    let read = api.get(&format!("/v1/customers/{id}")).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["email"], "kept@example.com");
    let listed = api.get("/v1/customers?email=kept%40example.com").await;
    assert_eq!(listed.body["data"][0]["id"], id.as_str());
}
