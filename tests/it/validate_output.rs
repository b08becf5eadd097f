//! What `redactctl validate` prints and returns: the verdict on stdout, warnings alone
//! exit 0, `--format json` for machines, problems across files with both places.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&path, text).unwrap();
    path
}

fn run(args: &[&str], paths: &[&Path]) -> (i32, String, String) {
    let out = Command::cargo_bin("redactctl")
        .unwrap()
        .arg("--color=never")
        .arg("validate")
        .args(args)
        .args(paths)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const ACCOUNT: &str = "version: 1\naccount: {mode: test}\n";

#[test]
fn warnings_alone_exit_zero() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "m.yaml",
        &format!("{ACCOUNT}redactions:\n  - name: dsr-1\n    ticket: jane.doe@example.com\n    objects: {{customers: [cus_1]}}\n  - name: call-415-555-0100\n    objects: {{customers: [cus_2]}}\n"),
    );
    let (code, stdout, stderr) = run(&[], &[&f]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: `ticket` looks like it contains an e-mail address"),
        "{stderr}"
    );
    assert!(stderr.contains("m.yaml:5:13"), "{stderr}");
    assert!(
        stderr.contains("warning: `name` looks like it contains a phone number"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: 2 warnings in the manifests"),
        "{stderr}"
    );
    assert_eq!(stdout, "valid: 2 entries (2 warnings in the manifests)\n");
}

#[test]
fn json_output_for_machines() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.yaml",
        &format!("{ACCOUNT}redactions:\n  - name: dsr-1\n    objects: {{customers: [cus_1]}}\n"),
    );
    let b = write(
        dir.path(),
        "b.yaml",
        "version: 1\nredactions:\n  - name: dsr-1\n    objects: {customers: [cus_2]}\n",
    );
    let (code, stdout, stderr) = run(&["--format", "json"], &[&a, &b]);
    assert_eq!(code, 1);
    assert_eq!(stderr, "");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"], 1);
    assert_eq!(v["warnings"], 0);
    assert_eq!(v["entries"], 0);
    let d = &v["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["message"], "duplicate entry name `dsr-1`");
    assert!(d["file"].as_str().unwrap().ends_with("b.yaml"));
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(3), Some(11))
    );
    assert!(d["hint"].as_str().unwrap().contains("unique"));
    let r = &d["related"][0];
    assert!(r["file"].as_str().unwrap().ends_with("a.yaml"));
    assert_eq!(
        (r["line"].as_u64(), r["column"].as_u64()),
        (Some(4), Some(11))
    );
    assert_eq!(r["message"], "first used here");

    let (code, stdout, _) = run(&["--format", "json"], &[&a]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (v["valid"].as_bool(), v["entries"].as_u64()),
        (Some(true), Some(1))
    );
    assert_eq!(v["diagnostics"], serde_json::json!([]));
}

#[test]
fn an_object_in_two_entries_shows_both_places() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "r/a.yaml",
        &format!(
            "{ACCOUNT}redactions:\n  - name: dsr-1\n    objects: {{customers: [cus_1, cus_9]}}\n"
        ),
    );
    write(
        dir.path(),
        "r/b.yaml",
        "version: 1\nredactions:\n  - name: dsr-2\n    objects:\n      customers: [cus_9]\n",
    );
    let (code, _, stderr) = run(&[], &[a.parent().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("object `cus_9` is in two entries: `dsr-1` and `dsr-2`"),
        "{stderr}"
    );
    assert!(stderr.contains("b.yaml:5:19"), "{stderr}");
    assert!(stderr.contains("a.yaml:5:34"), "{stderr}");
    assert!(stderr.contains("also in entry `dsr-1`"), "{stderr}");
}

#[test]
fn conflicting_account_or_defaults_between_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.yaml",
        "version: 1\naccount: {mode: test}\ndefaults: {state: validated}\n",
    );
    let b = write(
        dir.path(),
        "b.yaml",
        "version: 1\naccount:\n  mode: live\ndefaults:\n  state: redacted\nredactions:\n  - name: x\n    objects: {customers: [cus_1]}\n",
    );
    let (code, _, stderr) = run(&[], &[&a, &b]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("conflicting `account`: it differs from an earlier one"),
        "{stderr}"
    );
    assert!(stderr.contains("b.yaml:2:1"), "{stderr}");
    assert!(stderr.contains("a.yaml:2:1"), "{stderr}");
    assert!(stderr.contains("conflicting `defaults`"), "{stderr}");
    assert!(stderr.contains("b.yaml:4:1"), "{stderr}");
}

#[test]
fn identity_redact_misuse() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "m.yaml",
        &format!("{ACCOUNT}redactions:\n  - name: kyc\n    via: identity_redact\n    state: validated\n    objects:\n      identity_verification_sessions: [vs_1]\n      customers: [cus_1]\n"),
    );
    let (code, _, stderr) = run(&[], &[&f]);
    assert_eq!(code, 1);
    assert!(stderr.contains("not `customers`"), "{stderr}");
    assert!(stderr.contains("m.yaml:9:7"), "{stderr}");
    assert!(stderr.contains("with `state: validated`"), "{stderr}");
    assert!(stderr.contains("m.yaml:6:12"), "{stderr}");
}

#[test]
fn missing_account_version_and_empty_entries() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "m.yaml",
        "redactions:\n  - name: a\n    objects: {}\n  - name: b\n    objects:\n      customers: []\n  - ticket: T-1\n    objects: {customers: [cus_1]}\n",
    );
    let (code, _, stderr) = run(&[], &[&f]);
    assert_eq!(code, 1);
    for needle in [
        "missing `version`",
        "m.yaml:1:1",
        "entry `a` names no objects",
        "m.yaml:3:5",
        "entry `b` names no objects",
        "m.yaml:6:7",
        "redaction entry without `name`",
        "m.yaml:7:5",
        "no `account` in the manifests",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in:\n{stderr}");
    }
}

#[test]
fn colour_follows_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "m.yaml", "version: 3\n");
    let out = Command::cargo_bin("redactctl")
        .unwrap()
        .args(["--color=always", "validate"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("\x1b["));
    let (_, _, stderr) = run(&[], &[&f]);
    assert!(!stderr.contains('\x1b'));
}
