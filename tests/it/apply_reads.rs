//! What apply reads while it converges: the jobs that can have moved, not the account's
//! history, and the account once.

use std::time::Duration;

use redactctl::emulator::{Config, Fixtures};

use crate::common::{every_id_exists, Emu, Workdir};

/// `n` terminal jobs older than anything the apply makes.
fn history(n: usize) -> Fixtures {
    let mut y = String::from("jobs:\n");
    for i in 0..n {
        y += &format!(
            "  - {{objects: {{customers: [cus_old{i}]}}, status: succeeded, age: {}h}}\n",
            5 + i / 100
        );
    }
    serde_yaml::from_str(&y).unwrap()
}

fn manifest(entries: usize) -> String {
    let mut text = String::from("version: 1\naccount:\n  mode: test\nredactions:\n");
    for i in 0..entries {
        text += &format!(
            "  - name: dsr-{i}\n    ticket: DSR-{i}\n    objects:\n      customers: [cus_new{i}]\n"
        );
    }
    text
}

/// An apply in an account of 5,000 terminal jobs lists them once (its first observation:
/// 50 pages without a cache), then only what moves: a page per round, not the history
/// again on every round; and it reads the account once.
#[test]
fn converging_rereads_what_moves_not_the_history() {
    let emu = Emu::start(Config {
        fixtures: Some(history(5_000)),
        validation_delay: Duration::from_millis(300),
        redaction_delay: Duration::from_millis(300),
        ..every_id_exists()
    });
    let wd = Workdir::new();
    wd.write("m.yaml", &manifest(10));
    let out = wd
        .cmd(&emu)
        .args([
            "apply",
            "--auto-approve",
            "--wait=60s",
            "--no-cache",
            "m.yaml",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Counted before the test's own listing below.
    let stats = emu.stats();
    let ours: Vec<String> = emu
        .jobs()
        .iter()
        .filter(|j| {
            j["objects"]["customers"][0]
                .as_str()
                .is_some_and(|c| c.starts_with("cus_new"))
        })
        .map(|j| j["status"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(ours, vec!["succeeded".to_string(); 10], "{stdout}");

    assert_eq!(stats.route("GET /v1/account"), 1, "{:?}", stats.by_route);
    let lists = stats.route("GET /v1/privacy/redaction_jobs");
    // 51 pages for the first observation; every later full one would cost as many again.
    assert!(
        (51..=51 + 40).contains(&lists),
        "{lists} list calls: {:?}",
        stats.by_route
    );
}
