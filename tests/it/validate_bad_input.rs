//! `redactctl validate` on bad input: each case asserts the message, the location
//! (`file:line:col`) and exit code 1, through the real binary.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn validate(paths: &[&Path]) -> assert_cmd::assert::Assert {
    let mut cmd = Command::cargo_bin("redactctl").unwrap();
    cmd.arg("--color=never").arg("validate").args(paths);
    cmd.assert()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&path, text).unwrap();
    path
}

/// Asserts exit 1 and that stderr holds every needle.
fn fails_with(paths: &[&Path], needles: &[&str]) -> String {
    let out = validate(paths).code(1).get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    for n in needles {
        assert!(stderr.contains(n), "missing {n:?} in:\n{stderr}");
    }
    stderr
}

const GOOD_HEAD: &str = "version: 1\naccount: {mode: test}\nredactions:\n";

#[test]
fn tabs_are_a_syntax_error_at_the_tab() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "bad.yaml",
        "version: 1\naccount:\n\tmode: test\n",
    );
    fails_with(
        &[&f],
        &[
            "error: YAML syntax error",
            "tab",
            "bad.yaml:3:1",
            "hint: indent YAML with spaces",
        ],
    );
}

#[test]
fn unclosed_quotes_point_at_the_opening_quote() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{GOOD_HEAD}  - name: \"dsr-1\n    objects: {{customers: [cus_1]}}\n");
    let f = write(dir.path(), "bad.yaml", &text);
    fails_with(
        &[&f],
        &["unclosed quote", "bad.yaml:4:11", "4 |   - name: \"dsr-1"],
    );
}

#[test]
fn a_document_that_is_a_list_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "list.yaml", "- name: a\n- name: b\n");
    fails_with(
        &[&f],
        &[
            "a manifest document must be a mapping",
            "found a list",
            "list.yaml:1:1",
        ],
    );
}

#[test]
fn an_empty_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "empty.yaml", "");
    fails_with(
        &[&f],
        &["is empty: no manifest document in it", "empty.yaml:1:1"],
    );
    let g = write(dir.path(), "comments.yaml", "# nothing here yet\n");
    fails_with(&[&g], &["is empty", "comments.yaml:1:1"]);
}

#[test]
fn a_directory_without_manifests_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    write(&empty, "notes.txt", "not yaml");
    fails_with(
        &[&empty],
        &["no manifest files (*.yaml, *.yml) in directory", "empty"],
    );

    // Only YAML that is not ours: each is skipped with a warning, then the error.
    let ci = dir.path().join("ci");
    write(
        &ci,
        "workflow.yml",
        "on: [push]\njobs:\n  x: {runs-on: ubuntu-latest}\n",
    );
    fails_with(
        &[&ci],
        &[
            "warning: skipped: not a redactctl manifest",
            "workflow.yml",
            "error: no redactctl manifests in directory",
        ],
    );
}

#[test]
fn a_missing_path_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.yaml");
    let stderr = fails_with(
        &[&missing],
        &["error: no such file or directory", "nope.yaml"],
    );
    // The account may be in the missing file: no second, misleading error.
    assert!(!stderr.contains("no `account`"), "{stderr}");
    assert!(
        stderr.contains("error: 1 error in the manifests"),
        "{stderr}"
    );
}

#[test]
fn a_binary_or_non_utf8_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("blob.yaml");
    fs::write(&bin, [0x7f, b'E', b'L', b'F', 0, 1, 2, 3]).unwrap();
    fails_with(
        &[&bin],
        &["is a binary file, not a YAML manifest", "blob.yaml"],
    );
    let latin1 = dir.path().join("latin1.yaml");
    fs::write(&latin1, b"version: 1\nticket: caf\xe9\n").unwrap();
    fails_with(&[&latin1], &["not valid UTF-8", "latin1.yaml:2:12"]);
}

#[test]
fn a_billion_laughs_alias_bomb_fails_fast_without_expanding() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("version: 1\naccount: {mode: test}\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..40 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let f = write(dir.path(), "bomb.yaml", &text);
    // 10^40 nodes if expanded: finishing at all shows nothing was expanded.
    fails_with(
        &[&f],
        &[
            "YAML aliases (`*name`) are not supported in manifests",
            "bomb.yaml:4:10",
        ],
    );
}

#[test]
fn wrong_types_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{GOOD_HEAD}  - name: dsr-1\n    objects: cus_1\n");
    let f = write(dir.path(), "types.yaml", &text);
    fails_with(
        &[&f],
        &[
            "`objects` must be a mapping of object kind to a list of ids; found a string",
            "types.yaml:5:14",
            "hint: write `objects: {customers: [cus_1]}`",
        ],
    );
    let text = format!("{GOOD_HEAD}  - name: dsr-1\n    objects: {{customers: cus_1}}\n");
    let g = write(dir.path(), "list.yaml", &text);
    fails_with(
        &[&g],
        &[
            "`customers` must be a list of ids; found a string",
            "list.yaml:5:26",
            "write `customers: [cus_1]`",
        ],
    );
}

#[test]
fn duplicate_keys_show_both_places() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{GOOD_HEAD}  - name: dsr-1\n    objects: {{customers: [cus_1]}}\n    name: dsr-2\n"
    );
    let f = write(dir.path(), "dup.yaml", &text);
    fails_with(
        &[&f],
        &[
            "duplicate field `name` in a redaction entry",
            "dup.yaml:6:5",
            "dup.yaml:4:5",
            "first written here",
        ],
    );
}

#[test]
fn ids_with_whitespace_or_a_newline_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{GOOD_HEAD}  - name: dsr-1\n    objects:\n      customers: [cus_1 cus_2, \"cus_3\\n\"]\n"
    );
    let f = write(dir.path(), "ids.yaml", &text);
    fails_with(
        &[&f],
        &[
            "id `cus_1 cus_2` contains whitespace",
            "ids.yaml:6:19",
            "id `cus_3\\n` contains a line break",
            "ids.yaml:6:32",
        ],
    );
}

#[test]
fn a_non_manifest_named_explicitly_is_loaded_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "workflow.yml", "on: [push]\njobs: {}\n");
    fails_with(
        &[&f],
        &[
            "unknown field `on` in a manifest",
            "workflow.yml:1:1",
            "missing `version`",
        ],
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let text = "version: 2\naccount: {mode: tset}\nredactions:\n  - name: Bad Name\n    objects: {customer: [cus_1]}\n  - name: ok\n    objects: {customers: [pi_1]}\n    colour: blue\n";
    let f = write(dir.path(), "many.yaml", text);
    let stderr = fails_with(
        &[&f],
        &[
            "unsupported manifest version `2`",
            "many.yaml:1:10",
            "invalid `mode` value `tset`",
            "did you mean `test`?",
            "invalid entry name `Bad Name`",
            "unknown object kind `customer`",
            "did you mean `customers`?",
            "id `pi_1` does not look like a Customer id",
            "move it under `payment_intents:`",
            "unknown field `colour` in a redaction entry",
        ],
    );
    assert!(
        stderr.contains("error: 6 errors in the manifests"),
        "{stderr}"
    );
}
