//! The example CI workflows' steps, run against the emulator with the same commands: on the
//! pull request `validate` (no key) and `plan --out` with a read-only restricted key; on merge
//! `apply PLANFILE` with the write key, appending to the audit branch's log; then the receipts
//! regenerated from that log. A plan that went stale between review and merge is refused and
//! changes nothing.

use crate::common::{manifest, text, Emu, Workdir, TEST_KEY};

/// A restricted key of the same account as the harness's secret key (the emulator derives
/// the account from what follows the mode prefix).
const READ_KEY: &str = "rk_test_e2eSECRETmarker0123456789";
const WRITE_KEY: &str = TEST_KEY;

/// One workflow step through the action: it creates the directory of `--out` first.
fn step(wd: &Workdir, emu: &Emu, key: Option<&str>, args: &[&str]) -> std::process::Output {
    std::fs::create_dir_all(wd.path().join("plan")).expect("plan/ can be made");
    let mut cmd = wd.cmd(emu);
    match key {
        Some(k) => cmd.env("STRIPE_API_KEY", k),
        None => cmd.env_remove("STRIPE_API_KEY"),
    };
    cmd.args(args).output().expect("redactctl runs")
}

#[test]
fn the_reviewed_plan_is_what_merge_applies() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "redactions/dsr-1.yaml",
        &manifest("dsr-1", "      customers: [cus_CIflow1]\n", ""),
    );

    // Pull request: validate needs no key; plan with the read-only key writes nothing.
    let out = step(&wd, &emu, None, &["validate", "redactions/"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let pr_plan = [
        "plan",
        "redactions/",
        "--out",
        "plan/plan.json",
        "--format",
        "markdown",
        "--max-bytes",
        "60000",
        "--detailed-exitcode",
    ];
    let out = step(&wd, &emu, Some(READ_KEY), &pr_plan);
    assert_eq!(
        out.status.code(),
        Some(2),
        "changes to review: {}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("dsr-1"),
        "the comment shows the entry"
    );
    assert_eq!(emu.writes(), 0, "planning wrote nothing");
    let saved: serde_json::Value =
        serde_json::from_str(&wd.read("plan/plan.json")).expect("the saved plan is JSON");
    assert_eq!(saved["summary"]["create"], 1);
    assert_eq!(saved["summary"]["run"], 1);

    // Merge: exactly that file, with the write key and the audit branch's log.
    let merge = [
        "apply",
        "plan/plan.json",
        "--wait=60s",
        "--audit-log",
        ".audit/audit.jsonl",
    ];
    let out = step(&wd, &emu, Some(WRITE_KEY), &merge);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let jobs = emu.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["status"], "succeeded");
    let log = wd.read(".audit/audit.jsonl");
    let outcomes = log
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("\"outcome\":\"intent\""))
        .count();
    assert_eq!(outcomes, 2, "create and run are recorded: {log}");
    assert!(!log.contains("e2eSECRETmarker"), "no key in the log");

    // Receipts from the kept log, with the read-only key.
    let out = step(
        &wd,
        &emu,
        Some(READ_KEY),
        &[
            "report",
            "redactions/",
            "--audit-log",
            ".audit/audit.jsonl",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let job = jobs[0]["id"].as_str().expect("job id");
    assert!(text(&out.stdout).contains(job), "the receipt names the job");

    // The scheduled run's plan: nothing left to do.
    let out = step(
        &wd,
        &emu,
        Some(READ_KEY),
        &["plan", "redactions/", "--detailed-exitcode"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn a_plan_made_before_another_merge_is_refused_and_nothing_changes() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "redactions/dsr-1.yaml",
        &manifest("dsr-1", "      customers: [cus_CIstale1]\n", ""),
    );
    let out = step(
        &wd,
        &emu,
        Some(READ_KEY),
        &["plan", "redactions/", "--out", "plan/plan.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // Another pull request merged first: main's manifests are not the ones reviewed.
    wd.write(
        "redactions/dsr-2.yaml",
        &manifest("dsr-2", "      customers: [cus_CIstale2]\n", ""),
    );
    let out = step(
        &wd,
        &emu,
        Some(WRITE_KEY),
        &[
            "apply",
            "plan/plan.json",
            "--audit-log",
            ".audit/audit.jsonl",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("stale plan"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(emu.writes(), 0, "a stale plan changes nothing");
}

#[test]
fn a_plan_file_claiming_other_manifests_is_refused() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "redactions/dsr-1.yaml",
        &manifest("dsr-1", "      customers: [cus_CItamper1]\n", ""),
    );
    let out = step(
        &wd,
        &emu,
        Some(READ_KEY),
        &["plan", "redactions/", "--out", "plan/plan.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut plan: serde_json::Value =
        serde_json::from_str(&wd.read("plan/plan.json")).expect("JSON");
    plan["desired_digest"] = serde_json::Value::String("0".repeat(64));
    wd.write("plan/plan.json", &plan.to_string());
    let out = step(&wd, &emu, Some(WRITE_KEY), &["apply", "plan/plan.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("stale plan"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(emu.writes(), 0);
}

/// A plan file is input from outside the reviewed code: every action must be one the
/// manifests it names produce, or nothing is sent.
#[test]
fn a_plan_file_edited_to_name_other_objects_is_refused() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "redactions/dsr-1.yaml",
        &manifest("dsr-1", "      customers: [cus_CIdeclared]\n", ""),
    );
    let out = step(
        &wd,
        &emu,
        Some(READ_KEY),
        &["plan", "redactions/", "--out", "plan/plan.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let edited = wd
        .read("plan/plan.json")
        .replace("cus_CIdeclared", "cus_CIundeclared");
    wd.write("plan/plan.json", &edited);
    let out = step(&wd, &emu, Some(WRITE_KEY), &["apply", "plan/plan.json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert_eq!(emu.writes(), 0, "no job for an object no manifest declares");
    assert!(
        text(&out.stderr).contains("actions the manifests do not ask for"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_run_appended_to_the_plan_of_a_validated_entry_is_refused() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "redactions/dsr-1.yaml",
        &manifest(
            "dsr-1",
            "      customers: [cus_CIvalidated]\n",
            "    state: validated\n",
        ),
    );
    let out = step(
        &wd,
        &emu,
        Some(READ_KEY),
        &["plan", "redactions/", "--out", "plan/plan.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut plan: serde_json::Value =
        serde_json::from_str(&wd.read("plan/plan.json")).expect("JSON");
    let actions = plan["actions"].as_array_mut().expect("actions");
    let create = actions
        .iter()
        .find(|a| a["op"] == "create")
        .cloned()
        .expect("the plan creates the job");
    assert!(
        actions.iter().all(|a| a["op"] != "run"),
        "a validated entry is not run"
    );
    let mut run = create.clone();
    run["id"] = serde_json::Value::String("dsr-1/run-1".into());
    run["op"] = serde_json::Value::String("run".into());
    run["deferred"] = serde_json::Value::Bool(true);
    run["after"] = serde_json::json!([create["id"].clone()]);
    actions.push(run);
    wd.write("plan/plan.json", &plan.to_string());
    let out = step(
        &wd,
        &emu,
        Some(WRITE_KEY),
        &["apply", "plan/plan.json", "--wait=30s"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("run `dsr-1/run-1`"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(emu.writes(), 0, "the whole file is refused, the create too");
}
