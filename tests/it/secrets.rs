//! The API key never leaves the process: every command, at the highest verbosity, with a key
//! holding a unique marker; the marker appears in no output and no file.

use std::time::Duration;

use crate::common::{manifest, text, Emu, Workdir};
use redactctl::emulator::Config;

const MARKER: &str = "QzX9MARKERkeepSECRET";

#[test]
fn the_key_appears_in_no_output_and_no_file() {
    let state = tempfile::tempdir().unwrap();
    let state_file = state.path().join("emulator-state.json");
    let emu = Emu::start(Config {
        state_file: Some(state_file.clone()),
        ..Config::default()
    });
    let key = format!("sk_test_{MARKER}");
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-1", "      customers: [cus_S1]\n", ""),
    );
    let runs: Vec<Vec<&str>> = vec![
        vec!["validate", "m.yaml"],
        vec!["plan", "--out", "p.json", "m.yaml"],
        vec!["plan", "--format", "json", "m.yaml"],
        vec!["plan", "--format", "markdown", "m.yaml"],
        vec!["apply", "--auto-approve", "--wait=60s", "m.yaml"],
        vec!["status", "m.yaml"],
        vec!["status", "--format", "json", "m.yaml"],
        vec!["report", "--format", "json", "m.yaml"],
        vec!["report", "--format", "csv", "m.yaml"],
        vec!["apply", "--auto-approve", "p.json"],
    ];
    let mut seen = String::new();
    for args in &runs {
        let out = wd
            .cmd(&emu)
            .env("STRIPE_API_KEY", &key)
            .arg("-vvv")
            .args(args)
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        seen.push_str(&text(&out.stdout));
        seen.push_str(&text(&out.stderr));
    }
    // The trace level really was on (otherwise this test proves nothing).
    assert!(seen.contains("TRACE") || seen.contains("DEBUG"), "{seen}");
    assert!(!seen.contains(MARKER), "key leaked to stdout/stderr");

    // With the key in a file instead of the environment.
    wd.write("key.txt", &format!("{key}\n"));
    let out = wd
        .cmd(&emu)
        .env_remove("STRIPE_API_KEY")
        .args(["-vvv", "--api-key-file", "key.txt", "status", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains(MARKER) && !text(&out.stderr).contains(MARKER));

    drop(emu); // flushes the emulator's state file
    let mut files = vec![state_file];
    for entry in walk(wd.path()) {
        if !entry.ends_with("key.txt") {
            files.push(entry);
        }
    }
    for f in files {
        let bytes = std::fs::read(&f).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(MARKER),
            "key leaked into {}",
            f.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
