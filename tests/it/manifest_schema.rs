//! The committed JSON Schema is exactly what `redactctl schema` prints, and the serde
//! model behind it accepts every example the loader accepts.

use std::fs;
use std::path::PathBuf;

use assert_cmd::Command;
use redactctl::manifest::model::ManifestFile;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_schema_is_up_to_date() {
    let committed =
        fs::read_to_string(root().join("schemas/manifest.schema.json")).unwrap_or_default();
    assert!(
        committed == redactctl::manifest::schema_json(),
        "schemas/manifest.schema.json is stale; regenerate it with:\n\n    cargo run -q -- schema > schemas/manifest.schema.json\n"
    );
}

#[test]
fn schema_command_prints_it() {
    let out = Command::cargo_bin("redactctl")
        .unwrap()
        .arg("schema")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        redactctl::manifest::schema_json()
    );
    let v: serde_json::Value = serde_json::from_str(&redactctl::manifest::schema_json()).unwrap();
    assert_eq!(v["title"], "redactctl manifest");
}

#[test]
fn the_schema_model_accepts_every_example_document() {
    let mut files = vec![
        root().join("examples/quickstart.yaml"),
        root().join("examples/two-phase.yaml"),
        root().join("examples/bulk.yaml"),
        root().join("examples/identity.yaml"),
    ];
    for e in fs::read_dir(root().join("examples/requests")).unwrap() {
        files.push(e.unwrap().path());
    }
    for f in files {
        let text = fs::read_to_string(&f).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let parsed: Result<ManifestFile, _> = serde::Deserialize::deserialize(doc);
            assert!(parsed.is_ok(), "{}: {:?}", f.display(), parsed.err());
        }
    }
}
