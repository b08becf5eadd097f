//! `manifest::load` as plan and apply use it: defaults resolution, sorting, dedup,
//! locations, the digest, multi-document files, shared account files, skipping of
//! non-manifest YAML in directories.

use std::fs;
use std::path::{Path, PathBuf};

use redactctl::kinds::{ObjectKind, ObjectRef};
use redactctl::manifest::{self, Behavior, DesiredState, Severity, Via};
use redactctl::stripe::models::Mode;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn resolves_defaults_sorts_entries_and_objects() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "m.yaml",
        "version: 1
account: {mode: live, id: acct_1Example, connected_account: acct_2Ex}
defaults: {validation_behavior: fix}
redactions:
  - name: zeta
    objects:
      payment_intents: [pi_2]
      customers: [cus_b, cus_a, cus_b]
  - name: alpha
    ticket: DSR-1
    validation_behavior: error
    state: validated
    objects: {charges: [py_1]}
  - name: kyc
    via: identity_redact
    objects: {identity_verification_sessions: [vs_1]}
",
    );
    let loaded = manifest::load(std::slice::from_ref(&f)).unwrap();
    let d = &loaded.desired;
    assert_eq!(d.account.mode, Mode::Live);
    assert_eq!(d.account.id.as_deref(), Some("acct_1Example"));
    assert_eq!(d.account.connected_account.as_deref(), Some("acct_2Ex"));
    let names: Vec<&str> = d.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["alpha", "kyc", "zeta"]);

    let alpha = d.entry("alpha").unwrap();
    assert_eq!(alpha.ticket.as_deref(), Some("DSR-1"));
    assert_eq!(alpha.validation_behavior, Behavior::Error);
    assert_eq!(alpha.state, DesiredState::Validated);
    assert_eq!(alpha.via, Via::RedactionJob);

    let zeta = d.entry("zeta").unwrap();
    assert_eq!(zeta.validation_behavior, Behavior::Fix, "from defaults");
    assert_eq!(zeta.state, DesiredState::Redacted, "built-in default");
    assert_eq!(
        zeta.objects,
        vec![
            ObjectRef::new(ObjectKind::Customers, "cus_a"),
            ObjectRef::new(ObjectKind::Customers, "cus_b"),
            ObjectRef::new(ObjectKind::PaymentIntents, "pi_2"),
        ]
    );
    assert_eq!(
        (
            zeta.location.file.clone(),
            zeta.location.line,
            zeta.location.column
        ),
        (f.clone(), 5, 11)
    );
    assert_eq!(d.entry("kyc").unwrap().via, Via::IdentityRedact);

    // The object listed twice is a warning, not an error.
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(loaded.warnings[0].severity, Severity::Warning);
    assert!(loaded.warnings[0].message.contains("listed twice"));
}

#[test]
fn the_digest_ignores_formatting_and_files_but_not_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let block = write(
        dir.path(),
        "block.yaml",
        "version: 1\naccount:\n  mode: test\nredactions:\n  - name: a\n    objects:\n      customers:\n        - cus_2\n        - cus_1\n  - name: b\n    objects: {charges: [ch_1]}\n",
    );
    let flow = write(
        dir.path(),
        "split/one.yaml",
        "# comments do not count\nversion: 1\naccount: {mode: test}\nredactions: [{name: b, objects: {charges: [ch_1]}}]\n",
    );
    write(
        dir.path(),
        "split/two.yaml",
        "version: 1\nredactions:\n- name: a\n  state: redacted\n  objects: {customers: [\"cus_1\", 'cus_2']}\n",
    );
    let one = manifest::load(&[block]).unwrap().desired;
    let two = manifest::load(&[flow.parent().unwrap().to_path_buf()])
        .unwrap()
        .desired;
    assert_eq!(one.digest.len(), 64);
    assert_eq!(one.digest, two.digest);
    assert_ne!(one.entries[0].location, two.entries[0].location);

    let changed = write(
        dir.path(),
        "changed.yaml",
        "version: 1\naccount: {mode: test}\nredactions:\n  - {name: a, objects: {customers: [cus_1, cus_2]}, validation_behavior: fix}\n  - {name: b, objects: {charges: [ch_1]}}\n",
    );
    assert_ne!(
        manifest::load(&[changed]).unwrap().desired.digest,
        one.digest
    );
}

#[test]
fn a_shared_account_file_and_multi_document_files_load_together() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "account.yaml",
        "version: 1\naccount: {mode: test}\ndefaults: {state: validated}\n",
    );
    write(
        dir.path(),
        "reqs.yml",
        "version: 1\nredactions: [{name: r1, objects: {customers: [cus_1]}}]\n---\nversion: 1\nredactions: [{name: r2, objects: {customers: [cus_2]}}]\n---\n",
    );
    let loaded = manifest::load(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(loaded.desired.entries.len(), 2);
    assert!(loaded
        .desired
        .entries
        .iter()
        .all(|e| e.state == DesiredState::Validated));
    assert!(loaded.warnings.is_empty());

    // The account file alone is a valid manifest with no entries.
    let alone = manifest::load(&[dir.path().join("account.yaml")]).unwrap();
    assert!(alone.desired.entries.is_empty());
}

#[test]
fn directories_skip_yaml_that_is_not_a_manifest_but_explicit_files_do_not() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.yaml", "version: 1\naccount: {mode: test}\n");
    let workflow = write(
        dir.path(),
        "ci/deploy.yml",
        "name: deploy\non: [push]\njobs: {}\n",
    );
    write(
        dir.path(),
        "fixtures.yaml",
        "objects:\n  - {id: cus_1, type: customer}\n",
    );
    let loaded = manifest::load(&[dir.path().to_path_buf()]).unwrap();
    let skipped: Vec<&str> = loaded
        .warnings
        .iter()
        .map(|w| w.message.as_str())
        .filter(|m| m.starts_with("skipped: not a redactctl manifest"))
        .collect();
    assert_eq!(skipped.len(), 2, "{:?}", loaded.warnings);

    let failure = manifest::load(&[workflow]).unwrap_err();
    assert!(failure.errors() > 0);
    assert!(failure
        .diagnostics
        .iter()
        .any(|d| d.message == "unknown field `name` in a manifest"));
}

#[test]
fn a_file_named_twice_is_loaded_once() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "m.yaml",
        "version: 1\naccount: {mode: test}\nredactions: [{name: a, objects: {customers: [cus_1]}}]\n",
    );
    let loaded = manifest::load(&[f.clone(), dir.path().to_path_buf(), f]).unwrap();
    assert_eq!(loaded.desired.entries.len(), 1);
}

#[test]
fn failures_carry_errors_and_warnings_and_render_with_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "m.yaml",
        "version: 1\naccount: {mode: test}\nredactions:\n  - name: a\n    ticket: +44 20 7946 0958\n    objects: {customers: [cus_1, pi_123]}\n",
    );
    let failure = manifest::load(&[f]).unwrap_err();
    assert_eq!(failure.errors(), 1);
    assert_eq!(failure.diagnostics.len(), 2);
    let text = manifest::render_diagnostics(&failure.diagnostics, false);
    assert!(
        text.contains("6 |     objects: {customers: [cus_1, pi_123]}"),
        "{text}"
    );
    let caret = format!("  | {}^^^^^^\n", " ".repeat(33));
    assert!(text.contains(&caret), "{text}");
    assert!(
        text.ends_with("error: 1 error and 1 warning in the manifests\n"),
        "{text}"
    );
}
