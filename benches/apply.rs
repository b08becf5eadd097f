//! `cargo bench --bench apply`: issue 6's goal, end to end. The real `redactctl` binary
//! applies a generated manifest of 1,000 single-customer entries (create, then run: 2,000
//! writes) against an in-process emulator set like live mode — 100 requests/s per key,
//! 25 requests/s per endpoint, 50 ms latency, no validation or redaction delay.
//!
//! The bound: creates and runs are two endpoints limited to 25 requests/s each, so 1,000 of
//! each take at least 40 s even when they overlap perfectly. Goal: wall time ≤ 1.15 × 40 s.
//! Prints the requests by endpoint and by status (429s) as the emulator counted them, the
//! wall time of the apply process, the ratio to the bound, and the process's peak memory
//! (VmHWM, polled from /proc while it runs).
//!
//! The API key is handed to the child through `STRIPE_API_KEY` and never printed.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use redactctl::emulator::{spawn, Config};

const ENTRIES: usize = 1_000;
/// Two endpoints (create, run) × 1,000 requests at 25 requests/s each, overlapping.
const BOUND: Duration = Duration::from_secs(40);
const GOAL_RATIO: f64 = 1.15;
const KEY: &str = "sk_live_benchApply0123456789abcdef";

fn manifest() -> String {
    let mut text = String::from("version: 1\naccount:\n  mode: live\nredactions:\n");
    for i in 0..ENTRIES {
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
fn run_apply(dir: &Path, base_url: &str) -> (ExitStatus, Duration, u64, Timeline) {
    let stdout = std::fs::File::create(dir.join("stdout.txt")).expect("stdout file");
    let t0 = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_redactctl"))
        .current_dir(dir)
        .args([
            "apply",
            "--auto-approve",
            "--wait=10m",
            "--max-irreversible",
            "1000",
            "--client-rate-limit",
            "100",
            "--color",
            "never",
            "--api-base",
            base_url,
            "redactions.yaml",
        ])
        .env("STRIPE_API_KEY", KEY)
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

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("redactions.yaml"), manifest()).expect("write manifest");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let emu = rt
        .block_on(spawn(
            Config {
                rate_limit: 100,
                endpoint_rate_limit: 25,
                latency: Duration::from_millis(50),
                // Not about existence: every id exists.
                unknown_objects: redactctl::emulator::UnknownObjects::Exist,
                ..Config::default()
            },
            "127.0.0.1:0".parse().expect("addr"),
        ))
        .expect("emulator");
    println!(
        "redactctl apply bench: {ENTRIES} entries (1 customer each), emulator at 100 req/s per key, 25 req/s per endpoint, 50 ms latency"
    );
    let (status, wall, peak, timeline) = run_apply(dir.path(), &emu.base_url());
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
    println!("exit status: {status}");
    println!("requests by endpoint (emulator):");
    for (route, n) in &stats.by_route {
        println!("  {route:<56} {n:>6}");
    }
    println!("  {:<56} {:>6}", "total", stats.total);
    let by_status: Vec<String> = stats
        .by_status
        .iter()
        .map(|(s, n)| format!("{s}={n}"))
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
        let _ = std::fs::copy(dir.path().join("stderr.txt"), keep);
    }
    let ratio = wall.as_secs_f64() / BOUND.as_secs_f64();
    println!(
        "wall time {:.2} s, bound {:.0} s, ratio {ratio:.3} (goal <= {GOAL_RATIO}) {}",
        wall.as_secs_f64(),
        BOUND.as_secs_f64(),
        if ratio <= GOAL_RATIO {
            "OK"
        } else {
            "OVER GOAL"
        }
    );
    println!("peak memory of the apply process (VmHWM): {peak} KiB");
}
