//! SIGINT during apply: no new write starts, the one in flight finishes and is recorded,
//! the summary says what was done and what was not started, exit 130; a rerun finishes the
//! work without duplicating anything.
#![cfg(unix)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{stdout_of_exit, text, Emu, TEST_KEY};
use redactctl::emulator::Config;

const ENTRIES: usize = 8;

fn manifest() -> String {
    let mut m = String::from("version: 1\naccount:\n  mode: test\nredactions:\n");
    for i in 0..ENTRIES {
        m.push_str(&format!(
            "  - name: dsr-{i}\n    objects:\n      customers: [cus_SIG{i}]\n"
        ));
    }
    m
}

fn apply(emu: &Emu, dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("redactctl"));
    cmd.current_dir(dir)
        .env("STRIPE_API_KEY", TEST_KEY)
        .env("STRIPE_API_BASE", &emu.base)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .args([
            "apply",
            "--auto-approve",
            "--wait=120s",
            "--parallelism",
            "1",
            "m.yaml",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

#[test]
fn sigint_mid_apply_finishes_in_flight_writes_and_prints_the_summary() {
    let emu = Emu::start(Config {
        latency: Duration::from_millis(300),
        ..crate::common::every_id_exists()
    });
    let wd = crate::common::Workdir::new();
    wd.write("m.yaml", &manifest());
    let child = apply(&emu, wd.path()).spawn().expect("redactctl starts");
    let started = Instant::now();
    while emu.writes() < 2 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let out = child.wait_with_output().expect("redactctl ends");
    let stdout = stdout_of_exit(&out, 130);
    assert!(stdout.contains("Apply interrupted"), "{stdout}");
    assert!(stdout.contains("Not started"), "{stdout}");
    let jobs_after_signal = emu.jobs().len();
    assert!(jobs_after_signal < ENTRIES, "stopped early: {stdout}");

    // Every write sent has its outcome recorded: no intent without an answer.
    let log = wd.read(".redactctl/audit.jsonl");
    let records: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let intents = records.iter().filter(|r| r["outcome"] == "intent").count();
    let outcomes = records.len() - intents;
    assert_eq!(intents, outcomes, "{log}");

    // A rerun finishes the work and duplicates nothing.
    let out = apply(&emu, wd.path()).output().expect("rerun");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(emu.jobs().len(), ENTRIES, "one job per entry");
}
