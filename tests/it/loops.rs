//! Loops never spin: a write that Stripe keeps answering without a visible change is
//! stopped after a few tries and reported (exit 5), and `--wait` bounds the whole apply.

use std::time::{Duration, Instant};

use crate::common::{stdout_of_exit, text, Emu, Workdir};
use redactctl::emulator::{Config, Fixtures};

/// A customer whose PaymentIntent is not finalized: validation under `error` fails, every
/// time, with the same error.
const FIXTURES: &str = r#"
objects:
  - id: cus_loop
    related: [pi_loop]
  - id: pi_loop
    state: requires_payment_method
"#;

const MANIFEST: &str = "version: 1\naccount:\n  mode: test\nredactions:\n  - name: dsr-loop\n    objects:\n      customers: [cus_loop]\n";

fn validates(emu: &Emu) -> u64 {
    emu.stats()
        .by_route
        .iter()
        .filter(|(route, _)| route.ends_with("/validate"))
        .map(|(_, n)| *n)
        .sum()
}

#[test]
fn a_revalidation_that_changes_nothing_is_stopped_and_reported() {
    let fixtures: Fixtures = serde_yaml::from_str(FIXTURES).expect("fixtures");
    let emu = Emu::start(Config {
        fixtures: Some(fixtures),
        ..Config::default()
    });
    let wd = Workdir::new();
    wd.write("m.yaml", MANIFEST);
    let out = wd.apply_wait(&emu).output().expect("runs");
    assert_eq!(out.status.code(), Some(3), "blocked: {}", text(&out.stdout));
    let before = validates(&emu);

    let started = Instant::now();
    let out = wd
        .cmd(&emu)
        .args([
            "apply",
            "--auto-approve",
            "--revalidate",
            "--wait=60s",
            "m.yaml",
        ])
        .output()
        .expect("runs");
    let stdout = stdout_of_exit(&out, 5);
    assert!(stdout.contains("stopped: validate"), "{stdout}");
    assert!(
        validates(&emu) - before <= 3,
        "at most 3 tries, not a loop: {}",
        validates(&emu) - before
    );
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "stopped, not timed out"
    );
}

#[test]
fn wait_bounds_the_whole_apply() {
    let emu = Emu::start(Config {
        validation_delay: Duration::from_secs(3600),
        ..crate::common::every_id_exists()
    });
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &crate::common::manifest("dsr-slow", "      customers: [cus_slow]\n", ""),
    );
    let started = Instant::now();
    let out = wd
        .cmd(&emu)
        .args(["apply", "--auto-approve", "--wait=3s", "m.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stdout));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "bounded by --wait: {:?}",
        started.elapsed()
    );
    assert!(text(&out.stdout).contains("--wait ran out"));
}
