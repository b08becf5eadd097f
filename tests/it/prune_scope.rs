//! `--prune` only with the whole manifest set: the project file `redactctl.yaml` names the
//! manifest roots; a run given a subset of them, or `--target`, may not prune, and nothing
//! is sent.

use crate::common::{manifest, text, Emu, Workdir};

fn project(wd: &Workdir) {
    wd.write(
        "redactctl.yaml",
        "redactctl_project: 1\nmanifests: [a/, b/]\n",
    );
    wd.write(
        "a/dsr-1.yaml",
        &manifest("dsr-1", "      customers: [cus_PSone]\n", ""),
    );
    wd.write(
        "b/dsr-2.yaml",
        &manifest("dsr-2", "      customers: [cus_PStwo]\n", ""),
    );
}

#[test]
fn prune_on_a_subset_of_the_manifests_is_refused_with_nothing_sent() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    project(&wd);
    for args in [
        &["apply", "--auto-approve", "--prune", "a/"][..],
        &["plan", "--prune", "a/"][..],
        &["apply", "--auto-approve", "--prune", "--target", "dsr-1"][..],
    ] {
        let out = wd.cmd(&emu).args(args).output().expect("runs");
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stdout)
        );
        assert!(
            text(&out.stderr).contains("--prune"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(emu.writes(), 0, "nothing sent");
    assert_eq!(emu.stats().total, 0, "refused before observing");
}

#[test]
fn without_paths_the_project_roots_are_the_whole_set_and_may_prune() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    project(&wd);
    let out = wd
        .cmd(&emu)
        .args(["plan", "--prune", "--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON plan");
    let names: Vec<&str> = plan["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(names, ["dsr-1", "dsr-2"], "both roots loaded");
    assert_eq!(plan["options"]["whole_manifest_set"], true);
    // Naming exactly the roots is the whole set too.
    let out = wd
        .cmd(&emu)
        .args(["plan", "--prune", "b/", "a/"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
