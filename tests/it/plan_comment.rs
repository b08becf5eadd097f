//! `plan --format markdown` through the real binary, as the pull-request workflow runs it:
//! a big change still produces a comment under the budget that says how much it left out,
//! and the saved plan file beside it holds everything. `--out` creates its directory.

use crate::common::{text, Emu, Workdir};

/// One manifest with `n` entries, one customer each.
fn many(n: usize) -> String {
    let mut m = String::from("version: 1\naccount:\n  mode: test\nredactions:\n");
    for i in 0..n {
        m.push_str(&format!(
            "  - name: dsr-{i:04}\n    ticket: DSR-{i}\n    objects:\n      customers: [cus_Many{i:04}]\n"
        ));
    }
    m
}

#[test]
fn a_big_plan_comment_stays_under_max_bytes_and_the_plan_file_has_everything() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write("m.yaml", &many(400));
    let out = wd
        .cmd(&emu)
        .args([
            "plan",
            "m.yaml",
            "--format",
            "markdown",
            "--max-bytes",
            "8000",
            "--out",
            "plan.json",
        ])
        .output()
        .expect("redactctl runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let md = text(&out.stdout);
    assert!(md.len() <= 8_000, "{} bytes", md.len());
    let rows = md.lines().filter(|l| l.starts_with("| `dsr-")).count();
    assert!(rows > 0);
    assert!(
        md.contains(&format!(
            "truncated: {} more entries, full plan in the artifact",
            400 - rows
        )),
        "{md}"
    );
    let saved: serde_json::Value =
        serde_json::from_str(&wd.read("plan.json")).expect("the saved plan is JSON");
    assert_eq!(saved["entries"].as_array().map(Vec::len), Some(400));
}

#[test]
fn the_default_budget_keeps_a_comment_under_githubs_limit() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write("m.yaml", &many(1_000));
    let out = wd
        .cmd(&emu)
        .args(["plan", "m.yaml", "--format", "markdown"])
        .output()
        .expect("redactctl runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let md = text(&out.stdout);
    assert!(md.len() <= 60_000, "{} bytes", md.len());
    assert!(md.contains("full plan in the artifact"));
}

#[test]
fn a_budget_too_small_for_the_summary_is_refused_before_anything_is_read() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write("m.yaml", &many(1));
    let out = wd
        .cmd(&emu)
        .args([
            "plan",
            "m.yaml",
            "--format",
            "markdown",
            "--max-bytes",
            "100",
        ])
        .output()
        .expect("redactctl runs");
    assert_ne!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("--max-bytes"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(emu.stats().total, 0, "no request was sent");
}

#[test]
fn plan_out_creates_the_directory_it_is_given() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write("m.yaml", &many(1));
    let out = wd
        .cmd(&emu)
        .args(["plan", "m.yaml", "--out", "fresh/dir/plan.json"])
        .output()
        .expect("redactctl runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let saved: serde_json::Value =
        serde_json::from_str(&wd.read("fresh/dir/plan.json")).expect("the saved plan is JSON");
    assert_eq!(saved["entries"].as_array().map(Vec::len), Some(1));
}

#[test]
fn plan_out_under_a_file_is_a_clear_error() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write("m.yaml", &many(1));
    wd.write("taken", "a file, not a directory");
    let out = wd
        .cmd(&emu)
        .args(["plan", "m.yaml", "--out", "taken/plan.json"])
        .output()
        .expect("redactctl runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot write the plan file taken/plan.json"),
        "{}",
        text(&out.stderr)
    );
}
