//! Deadlines of deletion requests, through the real binary: `validate` refuses unlawful
//! extensions and impossible dates with file and line; `plan` and `status` show each
//! entry's due date and days left; `status --fail-on` gives its own exit code. The date is
//! frozen with `REDACTCTL_TODAY` so that the snapshots never age.

use std::fs;
use std::path::Path;

use assert_cmd::Command;

/// The frozen "today" of every test here.
const TODAY: &str = "2026-03-10";

fn redactctl(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("redactctl").unwrap();
    cmd.current_dir(dir)
        .env("REDACTCTL_TODAY", TODAY)
        .env_remove("STRIPE_API_KEY")
        .env_remove("STRIPE_API_BASE")
        .arg("--color=never");
    cmd
}

#[test]
fn validate_reports_unlawful_extensions_and_impossible_dates_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("requests.yaml"),
        "version: 1
account: {mode: test}
defaults:
  regulation: gdpr
  require_received: true
redactions:
  - name: dsr-late-notice
    received: 2026-01-31
    extension:
      until: 2026-04-30
      reason: several systems to search
      notified: 2026-03-01
    objects: {customers: [cus_1]}
  - name: dsr-no-date
    objects: {customers: [cus_2]}
  - name: dsr-future
    regulation: ccpa
    received: 2026-03-11
    objects: {customers: [cus_3]}
  - name: dsr-lgpd-extended
    regulation: lgpd
    received: 2026-03-01
    extension: {until: 2026-03-30, reason: backlog, notified: 2026-03-02}
    objects: {customers: [cus_4]}
  - name: dsr-bad-day
    received: 2026-02-29
    objects: {customers: [cus_5]}
",
    )
    .unwrap();
    let out = redactctl(dir.path())
        .args(["validate", "requests.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8(out.stderr).unwrap());
}

#[test]
fn validate_accepts_lawful_deadlines() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("requests.yaml"),
        "version: 1
account: {mode: test}
defaults: {regulation: ccpa, require_received: true}
redactions:
  - name: dsr-extended
    received: 2026-01-01
    extension: {until: 2026-04-01, reason: several systems to search, notified: 2026-02-15}
    objects: {customers: [cus_1]}
  - name: dsr-gdpr-month-end
    regulation: gdpr
    received: 2026-01-31
    extension: {until: 2026-04-28, reason: complex request, notified: 2026-02-28}
    objects: {customers: [cus_2]}
  - name: dsr-custom
    regulation: custom
    received: 2026-03-01
    due: 2026-06-01
    objects: {customers: [cus_3]}
",
    )
    .unwrap();
    let out = redactctl(dir.path())
        .args(["validate", "requests.yaml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn a_malformed_today_override_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("m.yaml"),
        "version: 1\naccount: {mode: test}\nredactions: []\n",
    )
    .unwrap();
    let out = redactctl(dir.path())
        .env("REDACTCTL_TODAY", "2026-02-30")
        .args(["validate", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("REDACTCTL_TODAY"), "{stderr}");
}
