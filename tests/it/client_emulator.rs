//! The client against the emulator on 127.0.0.1:0: every call, paging, retries through
//! injected faults without duplicates, giving up, the rate limiter, and log hygiene.

use crate::common::every_id_exists;
use std::collections::BTreeSet;
use std::time::Duration;

use futures::future::join_all;
use redactctl::emulator::{spawn, Clock, Config, EmulatorHandle, Fixtures};
use redactctl::kinds::{ObjectKind, ObjectRef};
use redactctl::stripe::models::{
    JobStatus, SessionRedactionStatus, ValidationBehavior, ValidationErrorCode,
    VerificationSessionStatus,
};
use redactctl::stripe::{ApiKey, Client, ClientConfig, RetryPolicy, StripeError};

const KEY: &str = "sk_test_51ClientEmulatorSecret0123456789";
const T0: i64 = 1_800_000_000;

async fn start(config: Config) -> EmulatorHandle {
    spawn(config, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

/// A client with fast retries and no rate limit (the tests that check pacing set their own).
fn client(emu: &EmulatorHandle, max_attempts: u32) -> Client {
    let mut cfg = ClientConfig::new(emu.base_url(), ApiKey::parse(KEY).unwrap());
    cfg.retry = RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(20),
        max_total: Duration::from_secs(30),
    };
    cfg.rate_limit = Some(0);
    cfg.endpoint_rate_limit = 0;
    Client::new(cfg).unwrap()
}

fn cus(id: &str) -> ObjectRef {
    ObjectRef::new(ObjectKind::Customers, id)
}

fn fixtures(yaml: &str) -> Fixtures {
    serde_yaml::from_str(yaml).unwrap()
}

#[tokio::test]
async fn every_call_against_the_emulator() {
    let clock = Clock::manual(T0);
    let emu = start(Config {
        validation_delay: Duration::from_secs(30),
        redaction_delay: Duration::from_secs(60),
        cancel_delay: Duration::from_secs(10),
        session_redaction_delay: Duration::from_secs(3600),
        fixtures: Some(fixtures(
            "objects:\n  - {id: cus_a, related: [pi_open]}\n  - {id: pi_open, state: requires_payment_method}\n",
        )),
        clock: clock.clone(),
        ..every_id_exists()
    })
    .await;
    let c = client(&emu, 1);

    let account = c.retrieve_account().await.unwrap();
    assert!(account.value.id.starts_with("acct_"));
    assert!(account
        .request_id
        .as_deref()
        .is_some_and(|r| r.starts_with("req_")));

    // create → validating → failed (open PaymentIntent, behaviour error)
    let created = c
        .create_job(&[cus("cus_a")], None, "create-a")
        .await
        .unwrap();
    let a = created.value.id.clone();
    assert_eq!(created.value.status, JobStatus::Validating);
    assert!(!created.replayed);
    let again = c
        .create_job(&[cus("cus_a")], None, "create-a")
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.value.id, a);
    clock.advance(Duration::from_secs(30));
    let failed = c.retrieve_job(&a).await.unwrap().value;
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.object_refs(), vec![cus("cus_a")]);
    let errors = c.list_validation_errors(&a).await.unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, ValidationErrorCode::InvalidState);
    assert_eq!(
        errors[0].erroring_object.as_ref().map(|o| o.id.as_str()),
        Some("pi_open")
    );

    // update to fix → validate → ready → run → succeeded
    let updated = c
        .update_job(&a, &ValidationBehavior::Fix, "update-a")
        .await
        .unwrap();
    assert_eq!(
        updated.value.validation_behavior,
        Some(ValidationBehavior::Fix)
    );
    let validating = c.validate_job(&a, "validate-a").await.unwrap();
    assert_eq!(validating.value.status, JobStatus::Validating);
    clock.advance(Duration::from_secs(30));
    assert_eq!(
        c.retrieve_job(&a).await.unwrap().value.status,
        JobStatus::Ready
    );
    let running = c.run_job(&a, "run-a").await.unwrap();
    assert_eq!(running.value.status, JobStatus::Redacting);
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        c.retrieve_job(&a).await.unwrap().value.status,
        JobStatus::Succeeded
    );

    // a second job, canceled
    let b = c
        .create_job(
            &[cus("cus_b"), ObjectRef::new(ObjectKind::Invoices, "in_b")],
            Some(&ValidationBehavior::Error),
            "create-b",
        )
        .await
        .unwrap()
        .value
        .id;
    clock.advance(Duration::from_secs(30));
    let canceling = c.cancel_job(&b, "cancel-b").await.unwrap();
    assert_eq!(canceling.value.status, JobStatus::Canceling);
    clock.advance(Duration::from_secs(10));

    // A wrong-state action is a typed 400 naming the request.
    let err = c.run_job(&b, "run-b").await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.request_id().is_some_and(|r| r.starts_with("req_")));
    // An unknown job is a 404.
    assert!(c.retrieve_job("prj_nope").await.unwrap_err().is_not_found());

    // Lists: everything, and by status, objects expanded.
    let all = c.list_jobs(None).await.unwrap();
    let ids: BTreeSet<&str> = all.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids, BTreeSet::from([a.as_str(), b.as_str()]));
    assert!(all.iter().all(|j| j.objects.is_some()));
    let canceled = c.list_jobs(Some(&JobStatus::Canceled)).await.unwrap();
    assert_eq!(canceled.len(), 1);
    assert_eq!(canceled[0].id, b);
    assert_eq!(
        canceled[0].object_refs(),
        vec![cus("cus_b"), ObjectRef::new(ObjectKind::Invoices, "in_b")]
    );

    // Identity sessions.
    let s = c.retrieve_session("vs_new").await.unwrap().value;
    assert_eq!(s.status, VerificationSessionStatus::Verified);
    assert_eq!(s.redaction, None);
    let r = c
        .redact_session("vs_new", "redact-vs_new")
        .await
        .unwrap()
        .value;
    assert_eq!(
        r.redaction.map(|r| r.status),
        Some(SessionRedactionStatus::Processing)
    );

    emu.shutdown().await;
}

#[tokio::test]
async fn the_emulator_names_itself_and_the_client_notices() {
    let emu = start(every_id_exists()).await;
    let c = client(&emu, 1);
    assert!(!c.talks_to_emulator(), "nothing was asked yet");
    c.retrieve_account().await.unwrap();
    assert!(c.talks_to_emulator());
    emu.shutdown().await;
}

#[tokio::test]
async fn auto_paging_lists_350_jobs_in_4_requests() {
    let jobs: String = (0..350)
        .map(|i| format!("  - {{objects: {{customers: [cus_{i}]}}, status: succeeded}}\n"))
        .collect();
    let emu = start(Config {
        fixtures: Some(fixtures(&format!("jobs:\n{jobs}"))),
        clock: Clock::manual(T0),
        ..every_id_exists()
    })
    .await;
    let c = client(&emu, 1);
    let listed = c.list_jobs(None).await.unwrap();
    let ids: BTreeSet<&str> = listed.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(listed.len(), 350);
    assert_eq!(ids.len(), 350);
    let objects: BTreeSet<ObjectRef> = listed.iter().flat_map(|j| j.object_refs()).collect();
    assert_eq!(objects.len(), 350);
    assert_eq!(emu.stats().route("GET /v1/privacy/redaction_jobs"), 4);
    assert_eq!(c.requests_sent(), 4);
    emu.shutdown().await;
}

/// What a caller of `create_job` does with an unknown outcome: look, adopt the job if it
/// is there, and only then create under a fresh key. Returns the job and whether any
/// create ended with an unknown outcome.
async fn create_looking_first(c: &Client, object: &ObjectRef, key: &str) -> (String, bool) {
    let mut unknown = false;
    for attempt in 0..10 {
        let key = if attempt == 0 {
            key.to_string()
        } else {
            format!("{key}-fresh-{attempt}")
        };
        match c.create_job(std::slice::from_ref(object), None, &key).await {
            Ok(sent) => return (sent.value.id, unknown),
            Err(e) if e.is_outcome_unknown() => {
                unknown = true;
                let jobs = c.list_jobs(None).await.unwrap();
                if let Some(job) = jobs.iter().find(|j| j.object_refs().contains(object)) {
                    return (job.id.clone(), unknown);
                }
            }
            Err(e) => panic!("a create failed for a reason other than an unknown outcome: {e}"),
        }
    }
    panic!("no job for {object:?} after 10 looking creates");
}

#[tokio::test]
async fn a_500_after_the_create_is_an_unknown_outcome_that_the_same_key_cannot_resolve() {
    // Every request fails: half before the change (retried), half after it (saved and
    // replayed under the key, `Stripe-Should-Retry: false`).
    let emu = start(Config {
        seed: 3,
        fail_rate: 1.0,
        clock: Clock::manual(T0),
        ..every_id_exists()
    })
    .await;
    let c = client(&emu, 12);
    let err = c
        .create_job(&[cus("cus_unknown")], None, "create-unknown")
        .await
        .unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(err.status(), Some(500));
    assert!(err.request_id().is_some_and(|r| r.starts_with("req_")));
    // Stripe made the job before the 500.
    emu.set_faults(0.0, 0.0);
    assert_eq!(emu.job_count(), 1);
    // The same key gets the saved 500 again: no retry under it recovers the job.
    let again = c
        .create_job(&[cus("cus_unknown")], None, "create-unknown")
        .await
        .unwrap_err();
    assert!(again.is_outcome_unknown(), "{again:?}");
    assert_eq!(emu.job_count(), 1, "a replay makes nothing");
    // Looking first finds it; nothing is created twice.
    let (id, unknown) = create_looking_first(&c, &cus("cus_unknown"), "create-unknown").await;
    assert!(unknown);
    assert_eq!(
        c.retrieve_job(&id).await.unwrap().value.object_refs(),
        vec![cus("cus_unknown")]
    );
    assert_eq!(emu.job_count(), 1);

    // A 4xx is Stripe's refusal, not an unknown outcome: nothing was made.
    let refused = c
        .create_job(&[cus("pi_not_a_customer")], None, "refused")
        .await
        .unwrap_err();
    assert_eq!(refused.status(), Some(400), "{refused:?}");
    assert!(!refused.is_outcome_unknown(), "{refused:?}");
    assert_eq!(emu.job_count(), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn creates_through_500s_and_drops_make_exactly_one_job_each_when_the_caller_looks_first() {
    let emu = start(Config {
        seed: 7,
        fail_rate: 0.2,
        drop_rate: 0.1,
        clock: Clock::manual(T0),
        ..every_id_exists()
    })
    .await;
    let c = client(&emu, 12);
    let creates = (0..40).map(|i| {
        let c = c.clone();
        async move {
            let object = cus(&format!("cus_{i}"));
            let (id, unknown) = create_looking_first(&c, &object, &format!("create-{i}")).await;
            (i, unknown, id)
        }
    });
    let results = join_all(creates).await;
    let unknown = results.iter().filter(|(_, u, _)| *u).count();
    let stats = emu.stats();
    // Faults really happened: 500s and dropped connections (status 0), and some creates
    // ended with an unknown outcome.
    assert!(
        stats.by_status.get(&500).copied().unwrap_or(0) >= 3,
        "{stats:?}"
    );
    assert!(
        stats.by_status.get(&0).copied().unwrap_or(0) >= 1,
        "{stats:?}"
    );
    assert!(unknown >= 1, "{stats:?}");
    emu.set_faults(0.0, 0.0);
    let jobs = c.list_jobs(None).await.unwrap();
    assert_eq!(emu.job_count(), 40, "exactly one job per object: {jobs:#?}");
    let objects: BTreeSet<ObjectRef> = jobs.iter().flat_map(|j| j.object_refs()).collect();
    assert_eq!(objects.len(), 40);
    for (i, _, id) in &results {
        let job = jobs.iter().find(|j| &j.id == id).unwrap();
        assert_eq!(job.object_refs(), vec![cus(&format!("cus_{i}"))]);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn giving_up_after_the_cap_is_a_typed_error() {
    let emu = start(Config {
        fail_rate: 1.0,
        clock: Clock::manual(T0),
        ..every_id_exists()
    })
    .await;
    let c = client(&emu, 3);
    // A read: its 500s all say a retry may succeed (a keyed write's 500 after the change
    // says `Stripe-Should-Retry: false`, and the client rightly stops at once).
    let err = c.retrieve_account().await.unwrap_err();
    match &err {
        StripeError::Api {
            status,
            kind,
            request_id,
            ..
        } => {
            assert_eq!(*status, 500);
            assert_eq!(kind, "api_error");
            assert!(request_id.as_deref().is_some_and(|r| r.starts_with("req_")));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(emu.stats().total, 3);

    emu.set_faults(0.0, 1.0);
    let err = c.retrieve_account().await.unwrap_err();
    assert!(
        matches!(err, StripeError::Network { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(emu.stats().total, 6);
    // Whatever the faults, a keyed create makes at most one job.
    emu.set_faults(1.0, 0.0);
    let _ = c.create_job(&[cus("cus_1")], None, "k-1").await;
    emu.set_faults(0.0, 0.0);
    assert!(c.list_jobs(None).await.unwrap().len() <= 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn the_rate_limiter_holds_the_configured_rate_and_sees_no_429() {
    // The emulator refuses more than 10 requests per second per key and per endpoint; the
    // client is set to 8, with 8 requests in flight, and asked for 32 at once.
    let emu = start(Config {
        rate_limit: 10,
        endpoint_rate_limit: 10,
        clock: Clock::manual(T0),
        ..every_id_exists()
    })
    .await;
    let mut cfg = ClientConfig::new(emu.base_url(), ApiKey::parse(KEY).unwrap());
    cfg.rate_limit = Some(8);
    cfg.endpoint_rate_limit = 8;
    cfg.retry.max_attempts = 1;
    let c = Client::new(cfg).unwrap();
    let calls = (0..32).map(|_| {
        let c = c.clone();
        async move { c.retrieve_account().await }
    });
    for r in join_all(calls).await {
        r.unwrap();
    }
    let stats = emu.stats();
    assert_eq!(stats.total, 32);
    assert_eq!(stats.by_status.get(&429), None, "{stats:?}");
    // Unpaced, all 32 would land in one second. Paced, each second the emulator counted
    // holds 8 (9 at worst, if the machine delays one request by more than the limiter's
    // slack after it was released), and 32 requests span at least four seconds.
    assert!(stats.max_per_second() <= 9, "{stats:?}");
    assert!(stats.per_second.len() >= 4, "{stats:?}");
    emu.shutdown().await;
}
