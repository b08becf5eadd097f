//! `cargo bench --bench plan_live`: issue 7 item 8, `plan` end to end — observe (through
//! the real client, with its default test-mode pacing of 25 requests/s), plan, and render —
//! against an in-process emulator limited like Stripe's test mode (25 requests/s per key and
//! per endpoint, no latency).
//!
//! (a) 10,000 entries against 10,000 jobs, with the terminal-job cache cold, then warm;
//! (b) 1,000 entries against 100,000 historical (terminal) jobs and 100 active ones: cold
//!     (to fill the cache), then warm — the goal is at most 12 requests, 0.5 s and 100 MB
//!     when nothing changed;
//! (c) 500 entries whose jobs the cache last saw `redacting` and that finished while nobody
//!     observed (10,000 older terminal jobs): the goal is at most 20 requests.
//!
//! `REDACTCTL_BENCH_CASES` picks the cases (`matching,history,unobserved`, the default, or
//! any of them).
//!
//! The emulator runs in this process; each measured plan runs in a child process (this
//! binary again) so that its peak memory (VmHWM) is its own, not the emulator's. Prints
//! the requests (the emulator's count and the client's), wall time, peak memory, and the
//! ratio of the wall time to the bound the rate limit imposes (requests / 25 per second).
//! The emulator's clock is frozen, so nothing changes between the cold and warm runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use redactctl::emulator::fixtures::{FixtureJob, FixtureObject};
use redactctl::emulator::{spawn, Clock, Config, Fixtures};
use redactctl::kinds::{ObjectKind, ObjectRef};
use redactctl::manifest::{AccountSpec, Behavior, Desired, DesiredState, Entry, Location, Via};
use redactctl::observe::cache::{Binding, JobCache, MAC_PURPOSE};
use redactctl::observe::{observe, ObserveOptions};
use redactctl::plan::{self, Options};
use redactctl::stripe::models::Mode;
use redactctl::stripe::{ApiKey, Client, ClientConfig};

const KEY: &str = "sk_test_benchPlanLive0123456789abcdef";
/// Stripe's test-mode limit, which the emulator enforces here.
const RATE: f64 = 25.0;
const CASE_VAR: &str = "REDACTCTL_BENCH_PLAN_LIVE";

/// One scenario: how many entries, and the jobs the account holds.
#[derive(Clone, Copy)]
enum Scenario {
    /// 10,000 entries, one job each.
    Matching,
    /// 1,000 entries; 100,000 terminal jobs and 100 active ones.
    History,
    /// 500 entries whose jobs finish (redacting → succeeded) between two plans; 10,000
    /// older terminal jobs.
    Unobserved,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Matching => "matching",
            Scenario::History => "history",
            Scenario::Unobserved => "unobserved",
        }
    }

    fn parse(s: &str) -> Option<Scenario> {
        match s {
            "matching" => Some(Scenario::Matching),
            "history" => Some(Scenario::History),
            "unobserved" => Some(Scenario::Unobserved),
            _ => None,
        }
    }

    fn entries(self) -> usize {
        match self {
            Scenario::Matching => 10_000,
            Scenario::History => 1_000,
            Scenario::Unobserved => 500,
        }
    }
}

fn customer(i: usize) -> String {
    format!("cus_bench{i:07}")
}

fn job(customer: String, status: &str, age_minutes: usize) -> FixtureJob {
    FixtureJob {
        objects: BTreeMap::from([(redactctl::emulator::kinds::Kind::Customers, vec![customer])]),
        status: Some(serde_json::from_value(serde_json::json!(status)).expect("status")),
        validation_behavior: None,
        mode: None,
        account: None,
        age: Some(format!("{age_minutes}m")),
    }
}

fn object(id: &str, state: Option<&str>, related: Vec<String>) -> FixtureObject {
    serde_json::from_value(serde_json::json!({"id": id, "state": state, "related": related}))
        .expect("fixture object")
}

/// A failed job needs an object that fails validation: an open PaymentIntent.
fn failing_customer(objects: &mut Vec<FixtureObject>, customer: &str, i: usize) {
    let pi = format!("pi_bench{i:07}");
    objects.push(object(customer, None, vec![pi.clone()]));
    objects.push(object(&pi, Some("requires_payment_method"), vec![]));
}

fn fixtures(scenario: Scenario) -> Fixtures {
    let mut objects = Vec::new();
    let mut jobs = Vec::new();
    match scenario {
        Scenario::Matching => {
            // One job a minute; 3% failed, 3% ready, 10% canceled, the rest succeeded.
            let n = scenario.entries();
            for i in 0..n {
                let status = match i % 100 {
                    0..=2 => "failed",
                    3..=5 => "ready",
                    6..=15 => "canceled",
                    _ => "succeeded",
                };
                if status == "failed" || status == "ready" {
                    failing_customer(&mut objects, &customer(i), i);
                }
                jobs.push(job(customer(i), status, n - i));
            }
        }
        Scenario::History => {
            // 100,000 terminal jobs, one a minute (the newest 900 are the manifest's first
            // 900 entries, redacted long ago), then 100 active jobs for the last 100 entries.
            let historical = 100_000;
            let entries = scenario.entries();
            let active = 100;
            for h in 0..historical {
                let age = historical + active - h;
                let in_manifest = h >= historical - (entries - active);
                let (id, status) = if in_manifest {
                    (customer(h - (historical - (entries - active))), "succeeded")
                } else {
                    let status = if h % 10 == 0 { "canceled" } else { "succeeded" };
                    (format!("cus_hist{h:07}"), status)
                };
                jobs.push(job(id, status, age));
            }
            for k in 0..active {
                let i = entries - active + k;
                let status = ["ready", "validating", "redacting", "failed"][k % 4];
                if status == "failed" {
                    failing_customer(&mut objects, &customer(i), i);
                }
                jobs.push(job(customer(i), status, active - k));
            }
        }
        Scenario::Unobserved => {
            // 10,000 terminal jobs (5 h and older), then the 500 entries' jobs, redacting
            // since 2 h ago (they finish 1 h after the emulator starts: see `bench`).
            for h in 0..10_000 {
                jobs.push(job(
                    format!("cus_hist{h:07}"),
                    "succeeded",
                    300 + 10_000 - h,
                ));
            }
            for i in 0..scenario.entries() {
                jobs.push(job(customer(i), "redacting", 120));
            }
        }
    }
    Fixtures {
        objects,
        jobs,
        ..Fixtures::default()
    }
}

fn desired(scenario: Scenario) -> Desired {
    let entries = (0..scenario.entries())
        .map(|i| Entry {
            deadline: Default::default(),
            allowed_fixes: Vec::new(),
            name: format!("dsr-{i:07}"),
            ticket: Some(format!("DSR-{i}")),
            objects: vec![ObjectRef::new(ObjectKind::Customers, customer(i))],
            validation_behavior: Behavior::Error,
            state: DesiredState::Redacted,
            via: Via::RedactionJob,
            location: Location {
                file: PathBuf::from("redactions.yaml"),
                line: i * 5 + 1,
                column: 5,
            },
        })
        .collect();
    Desired {
        account: AccountSpec {
            mode: Mode::Test,
            id: None,
            connected_account: None,
        },
        entries,
        digest: "bench".into(),
    }
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

/// The measured part, in a child process: observe + plan + render, as `redactctl plan` does.
/// Prints one `key=value` line for the parent.
fn child(spec: &str) {
    let mut parts = spec.splitn(3, '|');
    let scenario = parts
        .next()
        .and_then(Scenario::parse)
        .expect("scenario in the case spec");
    let base = parts.next().expect("base url in the case spec").to_string();
    let cache = PathBuf::from(parts.next().expect("cache dir in the case spec"));
    let desired = desired(scenario);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let client =
        Client::new(ClientConfig::new(base, ApiKey::parse(KEY).expect("key"))).expect("client");
    let opts = ObserveOptions {
        cache_dir: Some(cache),
        ..ObserveOptions::default()
    };
    let t0 = Instant::now();
    let live = rt
        .block_on(observe(&client, &desired, &opts))
        .expect("observe");
    let observed = t0.elapsed();
    let p = plan::plan(&desired, &live, &Options::default());
    let text = plan::render_human(&p, false);
    let wall = t0.elapsed();
    // The plan's own peak, before the cache is loaded and stored again to time it below.
    let peak = peak_rss_kib();
    let planned = wall - observed;
    let (load, store) = cache_costs(&client, &opts, &live);
    println!(
        "jobs={} actions={} rendered_bytes={} client_requests={} observe_ms={:.1} plan_ms={:.1} wall_ms={:.1} cache_load_ms={load:.1} cache_store_ms={store:.1} vmhwm_kib={peak}",
        live.jobs.len(),
        p.actions.len(),
        text.len(),
        client.requests_sent(),
        observed.as_secs_f64() * 1e3,
        planned.as_secs_f64() * 1e3,
        wall.as_secs_f64() * 1e3,
    );
}

/// After the measured run, times what the observation did with the terminal-job cache:
/// loading the file, and storing it again (to a scratch path), in milliseconds.
fn cache_costs(
    client: &Client,
    opts: &ObserveOptions,
    live: &redactctl::observe::Live,
) -> (f64, f64) {
    let (Some(dir), Some(account)) = (&opts.cache_dir, &live.account) else {
        return (f64::NAN, f64::NAN);
    };
    let path = JobCache::path(dir, &account.id, Mode::Test);
    let t = Instant::now();
    let binding = Binding {
        api_base: client.api_base(),
        account: &account.id,
        mode: Mode::Test,
    };
    let mac_key = client.derived_key(MAC_PURPOSE);
    let Some(cache) = JobCache::load(&path, &binding, &mac_key) else {
        return (f64::NAN, f64::NAN);
    };
    let load = t.elapsed().as_secs_f64() * 1e3;
    let scratch = dir.join("scratch").join("cache.json");
    let t = Instant::now();
    let stored = cache.store(&scratch, &mac_key);
    let store = t.elapsed().as_secs_f64() * 1e3;
    let _ = std::fs::remove_dir_all(dir.join("scratch"));
    (load, if stored.is_ok() { store } else { f64::NAN })
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .unwrap_or("?")
}

fn run_case(
    emu: &redactctl::emulator::EmulatorHandle,
    scenario: Scenario,
    cache: &Path,
    label: &str,
) {
    emu.reset_stats();
    let spec = format!("{}|{}|{}", scenario.name(), emu.base_url(), cache.display());
    let exe = std::env::current_exe().expect("current exe");
    // The emulator keeps serving on the runtime's worker threads while this thread waits.
    let out = Command::new(exe)
        .env(CASE_VAR, spec)
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().find(|l| l.starts_with("jobs=")) else {
        eprintln!(
            "{label}: child failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    };
    let stats = emu.stats();
    let wall_ms: f64 = field(line, "wall_ms").parse().unwrap_or(f64::NAN);
    let bound_s = stats.total as f64 / RATE;
    println!(
        "{label:<34} requests={:<5} (client {:<5}, 429s {}) wall={:>8.2} s  bound={:>6.2} s  ratio={:.2}  VmHWM={} KiB  jobs={} actions={} (observe {:.2} s, plan+render {:.2} s)",
        stats.total,
        field(line, "client_requests"),
        stats.by_status.get(&429).copied().unwrap_or(0),
        wall_ms / 1e3,
        bound_s,
        if bound_s > 0.0 { wall_ms / 1e3 / bound_s } else { f64::NAN },
        field(line, "vmhwm_kib"),
        field(line, "jobs"),
        field(line, "actions"),
        field(line, "observe_ms").parse::<f64>().unwrap_or(f64::NAN) / 1e3,
        field(line, "plan_ms").parse::<f64>().unwrap_or(f64::NAN) / 1e3,
    );
    let routes: Vec<String> = stats
        .by_route
        .iter()
        .map(|(r, n)| format!("{r}: {n}"))
        .collect();
    println!(
        "{:<34}   by route: {}; cache file load {} ms, store {} ms (timed after the run)",
        "",
        routes.join(", "),
        field(line, "cache_load_ms"),
        field(line, "cache_store_ms")
    );
}

fn bench(rt: &tokio::runtime::Runtime, scenario: Scenario, title: &str) {
    let t0 = Instant::now();
    let emu = rt
        .block_on(spawn(
            Config {
                fixtures: Some(fixtures(scenario)),
                // Frozen clock and long delays: nothing changes between the runs.
                clock: Clock::manual(1_800_000_000),
                validation_delay: Duration::from_secs(3600),
                // (c): the jobs, redacting since 2 h ago, finish 1 h after the start.
                redaction_delay: Duration::from_secs(match scenario {
                    Scenario::Unobserved => 3 * 3600,
                    _ => 3600,
                }),
                cancel_delay: Duration::from_secs(3600),
                rate_limit: 25,
                endpoint_rate_limit: 25,
                // Not about existence: every id exists.
                unknown_objects: redactctl::emulator::UnknownObjects::Exist,
                ..Config::default()
            },
            "127.0.0.1:0".parse().expect("addr"),
        ))
        .expect("emulator");
    println!(
        "{title}: emulator seeded with {} jobs in {:.2?}",
        emu.job_count(),
        t0.elapsed()
    );
    let cache = tempfile::tempdir().expect("tempdir");
    run_case(&emu, scenario, cache.path(), "  cache cold (full list)");
    if let Scenario::Unobserved = scenario {
        // The 500 redacting jobs finish while nobody observes.
        emu.clock().advance(Duration::from_secs(2 * 3600));
        run_case(
            &emu,
            scenario,
            cache.path(),
            "  after 500 finished unobserved",
        );
        run_case(&emu, scenario, cache.path(), "  cache warm, again");
    } else {
        run_case(&emu, scenario, cache.path(), "  cache warm");
        run_case(&emu, scenario, cache.path(), "  cache warm, again");
    }
    rt.block_on(emu.shutdown());
}

fn main() {
    if let Ok(spec) = std::env::var(CASE_VAR) {
        child(&spec);
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    println!(
        "redactctl plan_live bench: observe + plan + render_human, client paced at 25 req/s, emulator limited to 25 req/s (test mode), no latency"
    );
    let cases = std::env::var("REDACTCTL_BENCH_CASES")
        .unwrap_or_else(|_| "matching,history,unobserved".into());
    for case in cases.split(',').filter_map(|c| Scenario::parse(c.trim())) {
        let title = match case {
            Scenario::Matching => "(a) 10,000 entries / 10,000 jobs",
            Scenario::History => "(b) 1,000 entries / 100,000 terminal + 100 active jobs",
            Scenario::Unobserved => {
                "(c) 500 entries whose jobs finished unobserved / 10,000 terminal jobs"
            }
        };
        bench(&rt, case, title);
    }
}
