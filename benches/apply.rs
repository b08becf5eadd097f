//! `cargo bench --bench apply`: apply end to end. The real `redactctl` binary applies a
//! generated manifest of N single-customer entries (create, then run: 2 × N writes) against
//! an in-process emulator with Stripe-like costs — 50 ms latency, 1 s validation, 2 s
//! redaction, 25 requests/s per endpoint — in two pacings:
//!
//! - **live**: the emulator allows 100 requests/s per key and the client is paced at 100
//!   (`--client-rate-limit 100`). Floor: the last create cannot be sent before N / 25 s (one
//!   endpoint at 25/s), then its validation and redaction: N / 25 + 1 + 2 s.
//! - **test**: the emulator allows 25 requests/s per key (Stripe's sandbox) and the client
//!   uses its test-mode default (25). Floor: every request the run made / 25 s (and the
//!   writes alone need 2 × N / 25 s).
//!
//! N comes from `REDACTCTL_BENCH_N` (a comma-separated list, e.g. `100,1000,3000`; default
//! `100`, so a plain `cargo bench --bench apply` is quick), the pacings from
//! `REDACTCTL_BENCH_PACING` (`live`, `test`, or `live,test`, the default). Prints the
//! requests by endpoint and by status (429s) as the emulator counted them, reads as a share
//! of writes, the wall time of the apply process, its floor and the ratio, and the
//! process's peak memory (VmHWM, polled from /proc while it runs).
//!
//! `REDACTCTL_BENCH_HISTORY` (e.g. `100000`) seeds the account with that many terminal jobs,
//! older than anything the apply makes, and warms the terminal-job cache with one
//! `redactctl plan` before the measured apply (not counted): the apply in a large account,
//! to compare with the same apply in an empty one.
//!
//! The API key is handed to the child through `STRIPE_API_KEY` and never printed.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use redactctl::emulator::{spawn, Config};

const LATENCY: Duration = Duration::from_millis(50);
const VALIDATION: Duration = Duration::from_secs(1);
const REDACTION: Duration = Duration::from_secs(2);
/// Stripe's per-endpoint limit.
const ENDPOINT_RATE: f64 = 25.0;

/// How the account and the client are paced.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pacing {
    Live,
    Test,
}

impl Pacing {
    fn name(self) -> &'static str {
        match self {
            Pacing::Live => "live",
            Pacing::Test => "test",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Pacing::Live => "sk_live_benchApply0123456789abcdef",
            Pacing::Test => "sk_test_benchApply0123456789abcdef",
        }
    }

    /// The account's limit, which the emulator enforces.
    fn account_rate(self) -> u32 {
        match self {
            Pacing::Live => 100,
            Pacing::Test => 25,
        }
    }
}

fn manifest(n: usize, pacing: Pacing) -> String {
    let mut text = format!(
        "version: 1\naccount:\n  mode: {}\nredactions:\n",
        pacing.name()
    );
    for i in 0..n {
        let _ = write!(
            text,
            "  - name: dsr-{i:05}\n    ticket: DSR-{i}\n    objects:\n      customers: [cus_bench{i:06}]\n"
        );
    }
    text
}

/// The peak resident set (VmHWM, KiB) of a running process; `None` once it has exited.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// What the run did, second by second: actions finished, from apply's progress lines.
#[derive(Default)]
struct Timeline {
    /// (seconds since start, "create"/"run"/other op) of each finished action.
    finished: Vec<(f64, String)>,
}

impl Timeline {
    fn record(&mut self, at: Duration, line: &str) {
        // Progress lines read `dsr-00001: create job for cus_…: done → prj_… (ready)`.
        let Some((_, rest)) = line.split_once(": ") else {
            return;
        };
        if !line.contains(": done") {
            return;
        }
        let op = rest.split_whitespace().next().unwrap_or("").to_string();
        self.finished.push((at.as_secs_f64(), op));
    }

    fn count(&self, op: &str) -> usize {
        self.finished.iter().filter(|(_, o)| o == op).count()
    }

    fn last(&self, op: &str) -> f64 {
        self.finished
            .iter()
            .filter(|(_, o)| o == op)
            .map(|(t, _)| *t)
            .fold(0.0, f64::max)
    }

    /// Creates and runs finished in each 5-second slice.
    fn print(&self) {
        let end = self.last("create").max(self.last("run"));
        let slices = (end / 5.0).ceil() as usize;
        println!("actions finished per 5 s (creates/runs):");
        let mut line = String::from(" ");
        for k in 0..slices {
            let lo = k as f64 * 5.0;
            let hi = lo + 5.0;
            let n = |op: &str| {
                self.finished
                    .iter()
                    .filter(|(t, o)| o == op && *t >= lo && *t < hi)
                    .count()
            };
            let _ = write!(line, " {:>3.0}s:{}/{}", lo, n("create"), n("run"));
        }
        println!("{line}");
        println!(
            "last create finished at {:.1} s, last run at {:.1} s",
            self.last("create"),
            self.last("run")
        );
    }
}

/// Runs the binary to completion, polling its VmHWM every 20 ms (the high-water mark only
/// grows, so the last reading is the peak to within the final 20 ms), and timestamps its
/// progress lines (stderr) as they arrive.
fn run_apply(
    dir: &Path,
    base_url: &str,
    n: usize,
    pacing: Pacing,
) -> (ExitStatus, Duration, u64, Timeline) {
    let stdout = std::fs::File::create(dir.join("stdout.txt")).expect("stdout file");
    let t0 = Instant::now();
    let max_irreversible = n.to_string();
    let mut args = vec![
        "apply",
        "--auto-approve",
        "--wait=30m",
        "--max-irreversible",
        max_irreversible.as_str(),
        "--color",
        "never",
        "--api-base",
        base_url,
    ];
    if pacing == Pacing::Live {
        args.extend(["--client-rate-limit", "100"]);
    }
    args.push("redactions.yaml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_redactctl"))
        .current_dir(dir)
        .args(&args)
        .env("STRIPE_API_KEY", pacing.key())
        .env_remove("REDACTCTL_RATE_LIMIT")
        .env_remove("REDACTCTL_ENDPOINT_RATE_LIMIT")
        .env_remove("STRIPE_API_BASE")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start redactctl");
    let pid = child.id();
    let pipe = child.stderr.take().expect("stderr pipe");
    let log_path = dir.join("stderr.txt");
    let reader = std::thread::spawn(move || {
        let mut log = std::fs::File::create(log_path).expect("stderr file");
        let mut timeline = Timeline::default();
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            timeline.record(t0.elapsed(), &line);
            let _ = writeln!(log, "{:9.3} {line}", t0.elapsed().as_secs_f64());
        }
        timeline
    });
    let mut peak = 0;
    let (status, wall) = loop {
        if let Some(kib) = vm_hwm_kib(pid) {
            peak = peak.max(kib);
        }
        match child.try_wait().expect("wait for redactctl") {
            Some(status) => break (status, t0.elapsed()),
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let timeline = reader.join().expect("stderr reader");
    (status, wall, peak, timeline)
}

/// The numbers a case is judged by.
struct Figures {
    wall: Duration,
    floor: Duration,
    reads: u64,
    writes: u64,
}

fn floor(n: usize, pacing: Pacing, total_requests: u64) -> Duration {
    match pacing {
        Pacing::Live => Duration::from_secs_f64(n as f64 / ENDPOINT_RATE) + VALIDATION + REDACTION,
        Pacing::Test => Duration::from_secs_f64(total_requests as f64 / 25.0),
    }
}

/// `n` succeeded jobs in the key's mode, one a minute, the newest a day old.
fn history(n: usize, pacing: Pacing) -> redactctl::emulator::Fixtures {
    use redactctl::emulator::fixtures::FixtureJob;
    let jobs = (0..n)
        .map(|i| FixtureJob {
            objects: std::collections::BTreeMap::from([(
                redactctl::emulator::kinds::Kind::Customers,
                vec![format!("cus_hist{i:07}")],
            )]),
            status: Some(serde_json::from_value(serde_json::json!("succeeded")).expect("status")),
            validation_behavior: None,
            mode: Some(serde_json::from_value(serde_json::json!(pacing.name())).expect("mode")),
            account: None,
            age: Some(format!("{}m", 24 * 60 + n - i)),
        })
        .collect();
    redactctl::emulator::Fixtures {
        jobs,
        ..Default::default()
    }
}

/// `redactctl plan` once, unmeasured: fills the terminal-job cache of `dir`.
fn warm_cache(dir: &Path, base_url: &str, pacing: Pacing) {
    let mut args = vec!["plan", "--color", "never", "--api-base", base_url];
    if pacing == Pacing::Live {
        args.extend(["--client-rate-limit", "100"]);
    }
    args.push("redactions.yaml");
    let t0 = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_redactctl"))
        .current_dir(dir)
        .args(&args)
        .env("STRIPE_API_KEY", pacing.key())
        .env_remove("STRIPE_API_BASE")
        .stdin(Stdio::null())
        .output()
        .expect("run redactctl plan");
    println!(
        "cache warmed by one `redactctl plan` in {:.1} s ({}; not measured)",
        t0.elapsed().as_secs_f64(),
        out.status
    );
}

fn case(n: usize, pacing: Pacing) -> Figures {
    let history_jobs: usize = std::env::var("REDACTCTL_BENCH_HISTORY")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(0);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("redactions.yaml"), manifest(n, pacing))
        .expect("write manifest");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let emu = rt
        .block_on(spawn(
            Config {
                rate_limit: pacing.account_rate(),
                endpoint_rate_limit: 25,
                latency: LATENCY,
                validation_delay: VALIDATION,
                redaction_delay: REDACTION,
                // Not about existence: every id exists.
                unknown_objects: redactctl::emulator::UnknownObjects::Exist,
                fixtures: (history_jobs > 0).then(|| history(history_jobs, pacing)),
                ..Config::default()
            },
            "127.0.0.1:0".parse().expect("addr"),
        ))
        .expect("emulator");
    if history_jobs > 0 {
        println!("== the account holds {history_jobs} terminal jobs");
        warm_cache(dir.path(), &emu.base_url(), pacing);
        emu.reset_stats();
    }
    println!(
        "== apply N = {n}, {} pacing: emulator at {} req/s per key, 25 req/s per endpoint, {} ms latency, {} s validation, {} s redaction",
        pacing.name(),
        pacing.account_rate(),
        LATENCY.as_millis(),
        VALIDATION.as_secs(),
        REDACTION.as_secs(),
    );
    let (status, wall, peak, timeline) = run_apply(dir.path(), &emu.base_url(), n, pacing);
    let stats = emu.stats();
    rt.block_on(emu.shutdown());

    if !status.success() {
        let err = std::fs::read_to_string(dir.path().join("stderr.txt")).unwrap_or_default();
        let tail: Vec<&str> = err.lines().rev().take(20).collect();
        eprintln!("redactctl apply exited with {status}; last lines of stderr:");
        for line in tail.iter().rev() {
            eprintln!("  {line}");
        }
    }
    let out = std::fs::read_to_string(dir.path().join("stdout.txt")).unwrap_or_default();
    if let Some(line) = out.lines().rev().find(|l| !l.trim().is_empty()) {
        println!("apply's last line: {}", line.trim());
    }
    println!("{status}");
    println!("requests by endpoint (emulator):");
    for (route, count) in &stats.by_route {
        println!("  {route:<56} {count:>6}");
    }
    println!("  {:<56} {:>6}", "total", stats.total);
    let reads: u64 = stats
        .by_route
        .iter()
        .filter(|(r, _)| r.starts_with("GET "))
        .map(|(_, c)| c)
        .sum();
    let writes = stats.total - reads;
    println!(
        "reads {reads}, writes {writes}: reads are {:.1} % of writes",
        if writes > 0 {
            reads as f64 * 100.0 / writes as f64
        } else {
            f64::NAN
        }
    );
    let by_status: Vec<String> = stats
        .by_status
        .iter()
        .map(|(s, c)| format!("{s}={c}"))
        .collect();
    println!("responses by status: {}", by_status.join(" "));
    println!(
        "429s seen: {}",
        stats.by_status.get(&429).copied().unwrap_or(0)
    );
    println!("busiest second: {} requests", stats.max_per_second());
    println!(
        "actions finished: {} creates, {} runs",
        timeline.count("create"),
        timeline.count("run")
    );
    timeline.print();
    if let Ok(keep) = std::env::var("REDACTCTL_BENCH_KEEP_LOG") {
        // For diagnosis: apply's progress lines, each prefixed with seconds since start.
        let _ = std::fs::copy(
            dir.path().join("stderr.txt"),
            format!("{keep}.{n}.{}", pacing.name()),
        );
    }
    let floor = floor(n, pacing, stats.total);
    let floor_text = match pacing {
        Pacing::Live => format!(
            "last create at {n}/25 s + {} s validation + {} s redaction",
            VALIDATION.as_secs(),
            REDACTION.as_secs()
        ),
        Pacing::Test => format!(
            "{} requests / 25 per s (the writes alone: {:.1} s)",
            stats.total,
            writes as f64 / 25.0
        ),
    };
    println!(
        "wall time {:.2} s, floor {:.2} s ({floor_text}), ratio {:.3}",
        wall.as_secs_f64(),
        floor.as_secs_f64(),
        wall.as_secs_f64() / floor.as_secs_f64()
    );
    println!("peak memory of the apply process (VmHWM): {peak} KiB");
    Figures {
        wall,
        floor,
        reads,
        writes,
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::var("REDACTCTL_BENCH_N")
        .unwrap_or_else(|_| "100".into())
        .split(',')
        .filter_map(|s| s.trim().replace('_', "").parse().ok())
        .filter(|n| *n > 0)
        .collect();
    let pacings: Vec<Pacing> = std::env::var("REDACTCTL_BENCH_PACING")
        .unwrap_or_else(|_| "live,test".into())
        .split(',')
        .filter_map(|p| match p.trim() {
            "live" => Some(Pacing::Live),
            "test" => Some(Pacing::Test),
            _ => None,
        })
        .collect();
    let mut summary = Vec::new();
    for &n in &sizes {
        for &pacing in &pacings {
            let f = case(n, pacing);
            summary.push(format!(
                "  N={n:<5} {:<4}  wall {:>8.2} s  floor {:>8.2} s  ratio {:.3}  reads/writes {:.1} %",
                pacing.name(),
                f.wall.as_secs_f64(),
                f.floor.as_secs_f64(),
                f.wall.as_secs_f64() / f.floor.as_secs_f64(),
                f.reads as f64 * 100.0 / f.writes.max(1) as f64,
            ));
        }
    }
    println!("summary:");
    for line in summary {
        println!("{line}");
    }
}
