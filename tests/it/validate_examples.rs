//! Every shipped example validates with the real binary: each file on its own, the
//! `examples/requests/` directory, and `examples/` as a whole (which also holds YAML that
//! is not a manifest, skipped with a warning). Examples carry the schema line with the
//! right relative path.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn validate_ok(path: &Path) {
    let out = Command::cargo_bin("redactctl")
        .unwrap()
        .current_dir(root())
        .args(["--color=never", "validate"])
        .arg(path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{}:\n{stderr}", path.display());
    assert!(!stderr.contains("error"), "{}:\n{stderr}", path.display());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("valid: "));
}

/// The example manifests (not `examples/ci/`, not the emulator fixtures).
fn example_files() -> Vec<PathBuf> {
    let mut files = vec![
        PathBuf::from("examples/quickstart.yaml"),
        PathBuf::from("examples/two-phase.yaml"),
        PathBuf::from("examples/bulk.yaml"),
        PathBuf::from("examples/identity.yaml"),
    ];
    let mut requests: Vec<PathBuf> = fs::read_dir(root().join("examples/requests"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .strip_prefix(root())
                .unwrap()
                .to_path_buf()
        })
        .collect();
    requests.sort();
    files.extend(requests);
    files
}

#[test]
fn each_example_file_validates() {
    for f in example_files() {
        if f.starts_with("examples/requests") {
            continue; // only valid with account.yaml, checked as a directory below
        }
        validate_ok(&f);
    }
}

#[test]
fn the_requests_directory_validates() {
    validate_ok(Path::new("examples/requests"));
    validate_ok(Path::new("examples/requests/"));
}

#[test]
fn the_whole_examples_directory_validates() {
    validate_ok(Path::new("examples/"));
}

#[test]
fn examples_carry_the_schema_line_with_the_right_relative_path() {
    for f in example_files() {
        let text = fs::read_to_string(root().join(&f)).unwrap();
        let first = text.lines().next().unwrap();
        let rel = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{} lacks the schema line", f.display()));
        let schema = root().join(&f).parent().unwrap().join(rel);
        assert!(
            schema.canonicalize().unwrap()
                == root()
                    .join("schemas/manifest.schema.json")
                    .canonicalize()
                    .unwrap(),
            "{}: {rel} does not lead to schemas/manifest.schema.json",
            f.display()
        );
    }
}

#[test]
fn bulk_example_has_more_than_ten_objects_in_one_entry() {
    let loaded = redactctl::manifest::load(&[root().join("examples/bulk.yaml")]).unwrap();
    assert_eq!(loaded.desired.entries.len(), 1);
    assert!(loaded.desired.entries[0].objects.len() > 10);
}
