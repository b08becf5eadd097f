//! `observe` against the emulator: a small account with jobs in every interesting state,
//! and the requests it costs.

use crate::common::every_id_exists;
use std::time::Duration;

use redactctl::emulator::{spawn, Clock, Config, Fixtures};
use redactctl::kinds::{ObjectKind, ObjectRef};
use redactctl::manifest::desired::{
    AccountSpec, Behavior, Desired, DesiredState, Entry, Location, Mode, Via,
};
use redactctl::observe::{observe, ObserveOptions};
use redactctl::stripe::models::{JobStatus, ValidationErrorCode, VerificationSessionStatus};
use redactctl::stripe::{ApiKey, Client, ClientConfig};

/// 12 succeeded jobs, 3 failed (one open PaymentIntent each), one failed with 20 errors
/// (more than the 10 a job embeds), 2 ready with `fix`, one ready with `error`.
fn fixtures() -> Fixtures {
    let mut y = String::from("objects:\n");
    for i in 0..3 {
        y += &format!("  - {{id: cus_fail{i}, related: [pi_open{i}]}}\n  - {{id: pi_open{i}, state: requires_payment_method}}\n");
        y += &format!("  - {{id: cus_fix{i}, related: [pi_fix{i}]}}\n  - {{id: pi_fix{i}, state: requires_payment_method}}\n");
    }
    for i in 0..10 {
        y += &format!("  - {{id: cus_big{i}, related: [pi_big{i}a, pi_big{i}b]}}\n  - {{id: pi_big{i}a, state: requires_payment_method}}\n  - {{id: pi_big{i}b, state: requires_capture}}\n");
    }
    y += "jobs:\n";
    for i in 0..12 {
        y += &format!(
            "  - {{objects: {{customers: [cus_done{i}]}}, status: succeeded, age: {}h}}\n",
            100 - i
        );
    }
    for i in 0..3 {
        y += &format!("  - {{objects: {{customers: [cus_fail{i}]}}, status: failed, age: 3h}}\n");
    }
    let big: Vec<String> = (0..10).map(|i| format!("cus_big{i}")).collect();
    y += &format!(
        "  - {{objects: {{customers: [{}]}}, status: failed, age: 2h}}\n",
        big.join(", ")
    );
    for i in 0..2 {
        y += &format!("  - {{objects: {{customers: [cus_fix{i}]}}, status: ready, validation_behavior: fix, age: 1h}}\n");
    }
    y += "  - {objects: {customers: [cus_ok]}, status: ready}\n";
    serde_yaml::from_str(&y).unwrap()
}

/// A client of `emu` with this file's test key, retrying at once.
fn client(emu: &redactctl::emulator::EmulatorHandle) -> Client {
    let mut cfg = ClientConfig::new(
        emu.base_url(),
        ApiKey::parse("sk_test_observeEmulator0123456789").unwrap(),
    );
    cfg.retry.base_delay = Duration::from_millis(1);
    Client::new(cfg).unwrap()
}

/// Observation options with the job cache in `dir`.
fn cached_in(dir: &tempfile::TempDir) -> ObserveOptions {
    ObserveOptions {
        cache_dir: Some(dir.path().to_path_buf()),
        ..ObserveOptions::default()
    }
}

/// What a cached observation must agree on with a full listing: every job's id, status
/// and objects, in order.
fn job_keys(live: &redactctl::observe::Live) -> Vec<(String, JobStatus, Vec<ObjectRef>)> {
    live.jobs
        .iter()
        .map(|j| (j.id.clone(), j.status.clone(), j.object_refs()))
        .collect()
}

fn desired() -> Desired {
    let vs = |id: &str| ObjectRef::new(ObjectKind::IdentityVerificationSessions, id);
    Desired {
        account: AccountSpec {
            mode: Mode::Test,
            id: None,
            connected_account: None,
        },
        entries: vec![Entry {
            deadline: Default::default(),
            allowed_fixes: Vec::new(),
            name: "kyc".into(),
            ticket: None,
            objects: vec![vs("vs_a"), vs("vs_b")],
            validation_behavior: Behavior::Error,
            state: DesiredState::Redacted,
            via: Via::IdentityRedact,
            location: Location {
                file: "m.yaml".into(),
                line: 1,
                column: 1,
            },
        }],
        digest: String::new(),
    }
}

#[tokio::test]
async fn observe_reads_the_emulators_account_in_few_requests() {
    let emu = spawn(
        Config {
            fixtures: Some(fixtures()),
            clock: Clock::manual(1_800_000_000),
            ..every_id_exists()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let c = client(&emu);
    let live = observe(&c, &desired(), &ObserveOptions::default())
        .await
        .unwrap();

    assert!(live
        .account
        .as_ref()
        .is_some_and(|a| a.id.starts_with("acct_")));
    assert_eq!(live.jobs.len(), 19);
    let keys: Vec<(i64, &str)> = live
        .jobs
        .iter()
        .map(|j| (j.created, j.id.as_str()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    // Oldest first: the succeeded jobs were created 100 to 89 hours ago.
    assert_eq!(live.jobs[0].status, JobStatus::Succeeded);
    assert!(live.jobs.iter().all(|j| !j.object_refs().is_empty()));

    // Errors of the 4 failed jobs and the 2 ready `fix` jobs, every page of them.
    let with_errors: Vec<&str> = live
        .jobs
        .iter()
        .filter(|j| live.validation_errors.contains_key(&j.id))
        .map(|j| j.status.as_str())
        .collect();
    assert_eq!(
        with_errors,
        vec!["failed", "failed", "failed", "failed", "ready", "ready"]
    );
    let big = live
        .jobs
        .iter()
        .find(|j| j.object_refs().len() == 10)
        .unwrap();
    assert_eq!(live.validation_errors[&big.id].len(), 20);
    assert!(live
        .validation_errors
        .values()
        .flatten()
        .all(|e| e.code == ValidationErrorCode::InvalidState));

    assert_eq!(live.sessions.len(), 2);
    assert_eq!(
        live.sessions["vs_a"].status,
        VerificationSessionStatus::Verified
    );

    // One account, one page of jobs, one list of errors (only the job whose embedded list
    // was incomplete), two sessions, and each payment intent a failed job's errors name
    // once (its creation time dates Stripe's 90-day risk period).
    let stats = emu.stats();
    let dated: std::collections::BTreeSet<&str> = live
        .jobs
        .iter()
        .filter(|j| j.status == JobStatus::Failed)
        .flat_map(|j| live.validation_errors.get(&j.id).into_iter().flatten())
        .filter_map(|e| e.erroring_object.as_ref().map(|o| o.id.as_str()))
        .collect();
    assert!(!dated.is_empty());
    assert_eq!(live.object_created.len(), dated.len());
    assert_eq!(
        stats.route("GET /v1/payment_intents/:id"),
        dated.len() as u64
    );
    assert_eq!(stats.route("GET /v1/account"), 1);
    assert_eq!(stats.route("GET /v1/privacy/redaction_jobs"), 1);
    assert_eq!(
        stats.route("GET /v1/privacy/redaction_jobs/:id/validation_errors"),
        1
    );
    assert_eq!(stats.route("GET /v1/identity/verification_sessions/:id"), 2);
    assert_eq!(stats.total, 5 + dated.len() as u64);
    assert_eq!(c.requests_sent(), 5 + dated.len() as u64);
    emu.shutdown().await;
}

/// 1,000 old terminal jobs, 500 jobs redacting (2 hours old, finishing an hour after the
/// emulator starts), 10 newer terminal jobs.
fn history_fixtures() -> Fixtures {
    let mut y = String::from("jobs:\n");
    for i in 0..1_000 {
        y += &format!(
            "  - {{objects: {{customers: [cus_old{i}]}}, status: succeeded, age: {}h}}\n",
            5 + i / 100
        );
    }
    for i in 0..500 {
        y += &format!("  - {{objects: {{customers: [cus_run{i}]}}, status: redacting, age: 2h}}\n");
    }
    for i in 0..10 {
        y += &format!("  - {{objects: {{customers: [cus_new{i}]}}, status: canceled, age: 1h}}\n");
    }
    serde_yaml::from_str(&y).unwrap()
}

/// The 500 jobs the cache last saw redacting finished while nobody observed: they are found
/// in the `succeeded` list (a page per 100), not with one retrieve each.
#[tokio::test]
async fn a_cached_observation_after_500_jobs_finished_unobserved_costs_few_requests() {
    let emu = spawn(
        Config {
            fixtures: Some(history_fixtures()),
            clock: Clock::manual(1_800_000_000),
            redaction_delay: Duration::from_secs(3 * 3600),
            ..every_id_exists()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let c = client(&emu);
    let dir = tempfile::tempdir().unwrap();
    let cached = cached_in(&dir);
    let mut no_sessions = desired();
    no_sessions.entries.clear();

    let cold = observe(&c, &no_sessions, &cached).await.unwrap();
    let redacting = |live: &redactctl::observe::Live| {
        live.jobs
            .iter()
            .filter(|j| j.status == JobStatus::Redacting)
            .count()
    };
    assert_eq!(redacting(&cold), 500);

    emu.clock().advance(Duration::from_secs(2 * 3600));
    emu.reset_stats();
    let warm = observe(&c, &no_sessions, &cached).await.unwrap();
    let stats = emu.stats();
    assert_eq!(redacting(&warm), 0);
    assert_eq!(
        stats.route("GET /v1/privacy/redaction_jobs/:id"),
        0,
        "{stats:?}"
    );
    assert!(
        stats.total <= 20,
        "{} requests: {:?}",
        stats.total,
        stats.by_route
    );

    // The same answer as a full listing.
    let uncached = observe(&c, &no_sessions, &ObserveOptions::default())
        .await
        .unwrap();
    assert_eq!(job_keys(&warm), job_keys(&uncached));
    emu.shutdown().await;
}

/// A job that failed long ago, under 1,000 newer terminal jobs: listing everything down to
/// it would cost 11 pages, so a warm observation reads one recent page and one list per
/// active status instead, and still sees every job as a full listing does.
#[tokio::test]
async fn an_old_active_job_under_many_newer_ones_is_read_by_its_status() {
    let mut y = String::from(
        "objects:\n  - {id: cus_old, related: [pi_old]}\n  - {id: pi_old, state: requires_payment_method}\njobs:\n  - {objects: {customers: [cus_old]}, status: failed, age: 30h}\n",
    );
    for i in 0..1_000 {
        y += &format!(
            "  - {{objects: {{customers: [cus_done{i}]}}, status: succeeded, age: {}m}}\n",
            1_000 - i
        );
    }
    let emu = spawn(
        Config {
            fixtures: Some(serde_yaml::from_str(&y).unwrap()),
            clock: Clock::manual(1_800_000_000),
            ..every_id_exists()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let c = client(&emu);
    let dir = tempfile::tempdir().unwrap();
    let cached = cached_in(&dir);
    let mut no_sessions = desired();
    no_sessions.entries.clear();

    observe(&c, &no_sessions, &cached).await.unwrap();
    emu.reset_stats();
    let warm = observe(&c, &no_sessions, &cached).await.unwrap();
    let stats = emu.stats();
    // The account, one page of recent jobs, six status lists; the failed job's
    // PaymentIntent was dated by the first observation and is in the cache.
    assert_eq!(
        stats.route("GET /v1/privacy/redaction_jobs"),
        7,
        "{stats:?}"
    );
    assert_eq!(stats.route("GET /v1/privacy/redaction_jobs/:id"), 0);
    assert_eq!(stats.total, 8, "{:?}", stats.by_route);
    assert_eq!(warm.object_created.len(), 1);

    let uncached = observe(&c, &no_sessions, &ObserveOptions::default())
        .await
        .unwrap();
    assert_eq!(job_keys(&warm), job_keys(&uncached));
    assert_eq!(warm.object_created, uncached.object_created);
    emu.shutdown().await;
}
