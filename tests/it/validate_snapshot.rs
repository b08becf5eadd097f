//! Snapshot of what a person sees from `redactctl validate` on a manifest with several
//! problems across two files: a change in the rendering is a reviewed diff.

use std::fs;

use assert_cmd::Command;

#[test]
fn human_output_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("requests")).unwrap();
    fs::write(
        dir.path().join("requests/account.yaml"),
        "version: 1\naccount:\n  mode: test\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("requests/dsr-142.yaml"),
        "# yaml-language-server: $schema=../schemas/manifest.schema.json
version: 1
redactions:
  - name: dsr-142
    ticket: jane.doe@example.com
    validation_behaviour: fix
    objects:
      customers: [cus_1, pi_123]
  - name: dsr-143
    objects:
      customers:
        - cus_1
",
    )
    .unwrap();
    let out = Command::cargo_bin("redactctl")
        .unwrap()
        .current_dir(dir.path())
        .args(["--color=never", "validate", "requests"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "");
    insta::assert_snapshot!(String::from_utf8(out.stderr).unwrap());
}
