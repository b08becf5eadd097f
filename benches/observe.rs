//! `cargo bench --bench observe`: one `Live` snapshot of an emulated account with 10,000
//! jobs (300 of them failed), with the client's default pacing (25 req/s in test mode),
//! without pacing, and with the terminal-job cache (cold, then warm). Prints the requests
//! made (the emulator's count and the client's), wall time and peak memory (VmHWM).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use redactctl::emulator::fixtures::{FixtureJob, FixtureObject};
use redactctl::emulator::kinds::Kind;
use redactctl::emulator::{spawn, Clock, Config, EmulatorHandle, Fixtures};
use redactctl::manifest::desired::{AccountSpec, Desired, Mode};
use redactctl::observe::{observe, ObserveOptions};
use redactctl::stripe::models::JobStatus;
use redactctl::stripe::{ApiKey, Client, ClientConfig};

const JOBS: usize = 10_000;
const KEY: &str = "sk_test_benchObserve0123456789abcdef";

fn fixtures() -> Fixtures {
    let mut objects = Vec::new();
    let mut jobs = Vec::new();
    for i in 0..JOBS {
        let customer = format!("cus_{i}");
        let status = match i % 100 {
            0..=2 => "failed",
            3..=5 => "ready",
            6..=15 => "canceled",
            _ => "succeeded",
        };
        if status == "failed" || status == "ready" {
            // An open PaymentIntent: failed jobs show it as their validation error.
            objects.push(object(&customer, None, vec![format!("pi_{i}")]));
            objects.push(object(
                &format!("pi_{i}"),
                Some("requires_payment_method"),
                vec![],
            ));
        }
        jobs.push(FixtureJob {
            objects: BTreeMap::from([(Kind::Customers, vec![customer])]),
            status: Some(serde_json::from_value(serde_json::json!(status)).expect("status")),
            validation_behavior: None,
            mode: None,
            account: None,
            // One job a minute over the last week.
            age: Some(format!("{}m", JOBS - i)),
        });
    }
    Fixtures {
        objects,
        jobs,
        ..Fixtures::default()
    }
}

fn object(id: &str, state: Option<&str>, related: Vec<String>) -> FixtureObject {
    serde_json::from_value(serde_json::json!({"id": id, "state": state, "related": related}))
        .expect("fixture object")
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn desired() -> Desired {
    Desired {
        account: AccountSpec {
            mode: Mode::Test,
            id: None,
            connected_account: None,
        },
        entries: Vec::new(),
        digest: String::new(),
    }
}

async fn run(emu: &EmulatorHandle, label: &str, paced: bool, opts: &ObserveOptions) {
    let mut cfg = ClientConfig::new(emu.base_url(), ApiKey::parse(KEY).expect("key"));
    if !paced {
        cfg.rate_limit = Some(0);
        cfg.endpoint_rate_limit = 0;
    }
    let client = Client::new(cfg).expect("client");
    emu.reset_stats();
    let t0 = Instant::now();
    let live = observe(&client, &desired(), opts).await.expect("observe");
    let wall = t0.elapsed();
    let stats = emu.stats();
    let failed = live
        .jobs
        .iter()
        .filter(|j| j.status == JobStatus::Failed)
        .count();
    println!(
        "{label:<28} jobs={} failed={failed} errors_read={} requests: client={} emulator={} (list={}, validation_errors={}, retrieve={}, account={}) wall={:.2?} VmHWM={} KiB",
        live.jobs.len(),
        live.validation_errors.len(),
        client.requests_sent(),
        stats.total,
        stats.route("GET /v1/privacy/redaction_jobs"),
        stats.route("GET /v1/privacy/redaction_jobs/:id/validation_errors"),
        stats.route("GET /v1/privacy/redaction_jobs/:id"),
        stats.route("GET /v1/account"),
        wall,
        peak_rss_kib(),
    );
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let t0 = Instant::now();
        let emu = spawn(
            Config {
                fixtures: Some(fixtures()),
                clock: Clock::manual(1_800_000_000),
                // Not about existence: every id exists.
                unknown_objects: redactctl::emulator::UnknownObjects::Exist,
                ..Config::default()
            },
            "127.0.0.1:0".parse().expect("addr"),
        )
        .await
        .expect("emulator");
        println!(
            "emulator seeded with {} jobs in {:.2?}",
            emu.job_count(),
            t0.elapsed()
        );
        let plain = ObserveOptions {
            read_account: false,
            ..ObserveOptions::default()
        };
        run(&emu, "paced (25 req/s)", true, &plain).await;
        run(&emu, "unpaced", false, &plain).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let cached = ObserveOptions {
            read_account: false,
            cache_dir: Some(dir.path().to_path_buf()),
            ..ObserveOptions::default()
        };
        run(&emu, "paced, cache cold", true, &cached).await;
        run(&emu, "paced, cache warm", true, &cached).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
        emu.shutdown().await;
    });
}
