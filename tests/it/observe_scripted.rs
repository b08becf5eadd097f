//! `observe` against a small stateful fake of the Stripe routes it reads (axum on
//! 127.0.0.1:0): which requests it makes, and what `Live` holds.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use redactctl::kinds::{ObjectKind, ObjectRef};
use redactctl::manifest::desired::{
    AccountSpec, Behavior, Desired, DesiredState, Entry, Location, Mode, Via,
};
use redactctl::observe::{observe, ObserveOptions};
use redactctl::stripe::models::JobStatus;
use redactctl::stripe::{ApiKey, Client, ClientConfig};
use serde_json::{json, Value};

const JOBS: usize = 230;

#[derive(Clone, Default)]
struct Fake {
    jobs: Arc<Mutex<Vec<Value>>>,
    hits: Arc<Mutex<BTreeMap<String, u32>>>,
}

impl Fake {
    fn hit(&self, route: &str) {
        *self
            .hits
            .lock()
            .unwrap()
            .entry(route.to_string())
            .or_default() += 1;
    }
}

/// Job `i`: its class decides status, behaviour and embedded errors.
fn job(i: usize) -> Value {
    let err = |n: usize| json!({"id": format!("prjve_{i}_{n}"), "object": "privacy.redaction_job_validation_error", "code": "invalid_state", "erroring_object": {"id": format!("pi_{i}"), "object_type": "payment_intent"}, "message": "not finalized"});
    let (status, behavior, embedded) = match i % 10 {
        0 => ("failed", Value::Null, Value::Null),
        1 => (
            "ready",
            json!("fix"),
            json!({"object": "list", "data": [err(0)], "has_more": false, "url": "/x"}),
        ),
        2 => ("ready", json!("error"), Value::Null),
        3 => (
            "failed",
            Value::Null,
            json!({"object": "list", "data": [err(0)], "has_more": true, "url": "/x"}),
        ),
        4 => ("quarantined", Value::Null, Value::Null),
        _ => ("succeeded", Value::Null, Value::Null),
    };
    json!({
        "id": format!("prj_{i:04}"),
        "object": "privacy.redaction_job",
        // One job a minute, two in the same second: the id breaks ties.
        "created": 1_700_000_000 + (i as i64 / 2) * 60,
        "livemode": false,
        "objects": {"customers": [format!("cus_{i}")]},
        "status": status,
        "validation_behavior": behavior,
        "validation_errors": embedded,
    })
}

async fn account(State(f): State<Fake>) -> Json<Value> {
    f.hit("account");
    Json(json!({"id": "acct_1", "object": "account"}))
}

async fn list(State(f): State<Fake>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    f.hit("list");
    if q.get("expand[0]").map(String::as_str) != Some("data.objects") {
        return (StatusCode::BAD_REQUEST, "objects not expanded").into_response();
    }
    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(10);
    // Newest first: the fake keeps jobs in id order and serves them reversed.
    let jobs = f.jobs.lock().unwrap().clone();
    let newest_first: Vec<&Value> = jobs
        .iter()
        .rev()
        .filter(|j| q.get("status").is_none_or(|s| j["status"] == s.as_str()))
        .collect();
    let start = match q.get("starting_after") {
        Some(after) => newest_first
            .iter()
            .position(|j| j["id"] == after.as_str())
            .map_or(0, |p| p + 1),
        None => 0,
    };
    let page: Vec<&Value> = newest_first[start..].iter().take(limit).copied().collect();
    Json(json!({"object": "list", "url": "/v1/privacy/redaction_jobs", "has_more": start + limit < newest_first.len(), "data": page})).into_response()
}

async fn retrieve(State(f): State<Fake>, Path(id): Path<String>) -> Response {
    f.hit("retrieve");
    let jobs = f.jobs.lock().unwrap().clone();
    match jobs.into_iter().find(|j| j["id"] == id.as_str()) {
        Some(j) => Json(j).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn errors(State(f): State<Fake>, Path(id): Path<String>) -> Json<Value> {
    f.hit("validation_errors");
    let data: Vec<Value> = (0..3)
        .map(|n| json!({"id": format!("prjve_{id}_{n}"), "object": "privacy.redaction_job_validation_error", "code": if n == 2 { "brand_new_code" } else { "locked_by_other_job" }, "erroring_object": null, "message": "held"}))
        .collect();
    Json(json!({"object": "list", "url": "/x", "has_more": false, "data": data}))
}

async fn session(State(f): State<Fake>, Path(id): Path<String>) -> Response {
    f.hit("session");
    if id == "vs_1" {
        Json(json!({"id": "vs_1", "object": "identity.verification_session", "created": 1, "livemode": false, "status": "verified", "redaction": null})).into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"type": "invalid_request_error", "code": "resource_missing", "message": "No such verification session"}})),
        )
            .into_response()
    }
}

async fn start() -> (String, Fake) {
    let fake = Fake {
        jobs: Arc::new(Mutex::new((0..JOBS).map(job).collect())),
        ..Fake::default()
    };
    let app = Router::new()
        .route("/v1/account", get(account))
        .route("/v1/privacy/redaction_jobs", get(list))
        .route("/v1/privacy/redaction_jobs/{id}", get(retrieve))
        .route(
            "/v1/privacy/redaction_jobs/{id}/validation_errors",
            get(errors),
        )
        .route("/v1/identity/verification_sessions/{id}", get(session))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), fake)
}

fn desired() -> Desired {
    let vs = |id: &str| ObjectRef::new(ObjectKind::IdentityVerificationSessions, id);
    let entry = |name: &str, via, objects| Entry {
        deadline: Default::default(),
        allowed_fixes: Vec::new(),
        name: name.into(),
        ticket: None,
        objects,
        validation_behavior: Behavior::Error,
        state: DesiredState::Redacted,
        via,
        location: Location {
            file: "m.yaml".into(),
            line: 1,
            column: 1,
        },
    };
    Desired {
        account: AccountSpec {
            mode: Mode::Test,
            id: None,
            connected_account: None,
        },
        entries: vec![
            entry("kyc", Via::IdentityRedact, vec![vs("vs_1"), vs("vs_gone")]),
            entry(
                "other",
                Via::RedactionJob,
                vec![ObjectRef::new(ObjectKind::Customers, "cus_1")],
            ),
        ],
        digest: String::new(),
    }
}

fn client(base: &str) -> Client {
    let mut cfg = ClientConfig::new(
        base,
        ApiKey::parse("sk_test_0123456789abcdefghijkl").unwrap(),
    );
    cfg.rate_limit = Some(0);
    cfg.endpoint_rate_limit = 0;
    Client::new(cfg).unwrap()
}

#[tokio::test]
async fn observe_reads_everything_the_planner_needs_and_nothing_more() {
    let (base, fake) = start().await;
    let c = client(&base);
    let live = observe(&c, &desired(), &ObserveOptions::default())
        .await
        .unwrap();

    assert_eq!(live.account.as_ref().map(|a| a.id.as_str()), Some("acct_1"));
    assert_eq!(live.mode, Some(Mode::Test));
    assert!(live.observed_at > 0);

    // Every job, once, sorted by (created, id), objects expanded, unknown status kept.
    assert_eq!(live.jobs.len(), JOBS);
    let keys: Vec<(i64, &str)> = live
        .jobs
        .iter()
        .map(|j| (j.created, j.id.as_str()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(keys, sorted);
    assert!(live.jobs.iter().all(|j| j.objects.is_some()));
    assert_eq!(
        live.job("prj_0004").map(|j| j.status.clone()),
        Some(JobStatus::Unknown("quarantined".into()))
    );

    // Errors for failed jobs and ready+fix jobs only; embedded complete lists are reused.
    let expect: Vec<String> = (0..JOBS)
        .filter(|i| matches!(i % 10, 0 | 1 | 3))
        .map(|i| format!("prj_{i:04}"))
        .collect();
    assert_eq!(
        live.validation_errors.keys().cloned().collect::<Vec<_>>(),
        expect
    );
    assert_eq!(live.validation_errors["prj_0001"].len(), 1);
    // A failed job without an embedded list costs no request: it has no errors to show.
    assert_eq!(live.validation_errors["prj_0000"].len(), 0);
    assert_eq!(live.validation_errors["prj_0003"].len(), 3);
    assert_eq!(
        live.validation_errors["prj_0003"][2].code.as_str(),
        "brand_new_code"
    );

    // The missing session is absent, the other present.
    assert_eq!(live.sessions.keys().collect::<Vec<_>>(), vec!["vs_1"]);

    let hits = fake.hits.lock().unwrap().clone();
    // Only the failed jobs whose embedded list says `has_more` cost a request.
    let failed_without_complete_list = (0..JOBS).filter(|i| i % 10 == 3).count() as u32;
    assert_eq!(hits.get("account"), Some(&1));
    assert_eq!(hits.get("list"), Some(&3));
    assert_eq!(
        hits.get("validation_errors"),
        Some(&failed_without_complete_list)
    );
    assert_eq!(hits.get("session"), Some(&2));
    assert_eq!(
        c.requests_sent(),
        u64::from(1 + 3 + failed_without_complete_list + 2)
    );
}

#[tokio::test]
async fn observe_skips_the_account_when_not_asked_and_fails_on_server_errors() {
    let (base, fake) = start().await;
    let opts = ObserveOptions {
        read_account: false,
        ..ObserveOptions::default()
    };
    let live = observe(&client(&base), &desired(), &opts).await.unwrap();
    assert!(live.account.is_none());
    assert_eq!(fake.hits.lock().unwrap().get("account"), None);

    // A server that cannot list jobs makes the whole observation fail: a partial Live
    // would make the planner create duplicates.
    let unreachable = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut cfg = ClientConfig::new(
        format!("http://{unreachable}"),
        ApiKey::parse("sk_test_0123456789abcdefghijkl").unwrap(),
    );
    cfg.retry.max_attempts = 1;
    let err = observe(&Client::new(cfg).unwrap(), &desired(), &opts)
        .await
        .unwrap_err();
    assert!(
        matches!(err, redactctl::stripe::StripeError::Network { .. }),
        "{err:?}"
    );
}

/// Requests by route since the last call.
fn take_hits(fake: &Fake) -> BTreeMap<String, u32> {
    std::mem::take(&mut *fake.hits.lock().unwrap())
}

#[tokio::test]
async fn the_terminal_job_cache_saves_requests_and_is_never_wrong() {
    let (base, fake) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let cached = ObserveOptions {
        read_account: false,
        cache_dir: Some(dir.path().join("cache")),
        ..ObserveOptions::default()
    };
    let uncached = ObserveOptions {
        read_account: true,
        ..ObserveOptions::default()
    };
    let c = client(&base);
    let d = desired();

    // First run: no cache yet, so a full listing; the cache is written.
    let first = observe(&c, &d, &cached).await.unwrap();
    let hits = take_hits(&fake);
    assert_eq!(hits.get("list"), Some(&3));
    let file = dir.path().join("cache").join("jobs-acct_1-test.json");
    assert!(file.exists());
    // The account is read for the cache key even though not asked for.
    assert_eq!(
        first.account.as_ref().map(|a| a.id.as_str()),
        Some("acct_1")
    );

    // Nothing changed. The oldest job is still active (failed), so every job is listed
    // newest first down to it: 3 pages, fewer than one page of recent jobs, one list per
    // active status and one retrieve per `quarantined` job (a status no list covers) older
    // than that page would cost. Every active job is in those pages: nothing is retrieved.
    let second = observe(&c, &d, &cached).await.unwrap();
    let hits = take_hits(&fake);
    assert_eq!(hits.get("list"), Some(&3));
    assert_eq!(hits.get("retrieve"), None);
    assert_eq!(second.jobs, first.jobs);
    assert_eq!(second.validation_errors, first.validation_errors);

    // Changes: a ready job ran to success, a failed one was canceled, a job was created.
    {
        let mut jobs = fake.jobs.lock().unwrap();
        jobs[2]["status"] = json!("succeeded");
        jobs[10]["status"] = json!("canceled");
        let mut new = job(JOBS);
        new["status"] = json!("validating");
        jobs.push(new);
    }
    let third = observe(&c, &d, &cached).await.unwrap();
    take_hits(&fake);
    let truth = observe(&c, &d, &uncached).await.unwrap();
    assert_eq!(third.jobs, truth.jobs);
    assert_eq!(third.validation_errors, truth.validation_errors);
    assert_eq!(
        third.job("prj_0002").map(|j| j.status.as_str()),
        Some("succeeded")
    );
    assert_eq!(third.jobs.len(), JOBS + 1);
    // The changes were appended to the cache, not written over it: read back, it gives
    // the same answer.
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 3);
    let again = observe(&c, &d, &cached).await.unwrap();
    assert_eq!(again.jobs, truth.jobs);
    assert_eq!(again.validation_errors, truth.validation_errors);

    // A damaged cache only costs a full listing.
    std::fs::write(&file, b"{not json").unwrap();
    take_hits(&fake);
    let fourth = observe(&c, &d, &cached).await.unwrap();
    assert_eq!(take_hits(&fake).get("list"), Some(&3));
    assert_eq!(fourth.jobs, truth.jobs);
}
