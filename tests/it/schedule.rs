//! Stripe's 90-day risk period as a schedule, through the real binary against the
//! emulator: a charge 30 days old is planned as `scheduled: eligible on DATE` (not blocked,
//! exit codes that say so, the due/eligible line when the date falls after the request's
//! due date); once the emulator's clock passes the date, one `reconcile --once` pass (or
//! `apply --wait`) revalidates and runs the job without a manifest change. And
//! `reconcile --revalidate-every` retries a job that needs a person once per period, not
//! in a loop.

use std::time::Duration;

use redactctl::emulator::{Clock, Config, Fixtures};
use serde_json::Value;

use crate::common::{scrub_base, text, Emu, Workdir};

/// The emulator's start: 2027-01-15T08:00:00Z.
const T0: i64 = 1_800_000_000;
/// The day deadlines are computed for (`REDACTCTL_TODAY`): the emulator's first day.
const TODAY: &str = "2027-01-15";
/// 90 days after the charge (30 days old at T0) was created.
const ELIGIBLE: &str = "2027-03-16";

fn emu(fixtures: &str) -> Emu {
    let fixtures: Fixtures = serde_yaml::from_str(fixtures).unwrap();
    fixtures.check().unwrap();
    Emu::start(Config {
        fixtures: Some(fixtures),
        clock: Clock::manual(T0),
        ..Config::default()
    })
}

const CHARGE: &str = "objects:\n  - id: ch_recent\n    state: succeeded\n    age: 30d\n";

/// A GDPR request received on 2027-01-10 (due 2027-02-10), for a charge that is 30 days
/// old: Stripe's 90 days end after the due date.
const MANIFEST: &str = "version: 1
account:
  mode: test
redactions:
  - name: dsr-charge
    ticket: DSR-9
    regulation: gdpr
    received: 2027-01-10
    objects:
      charges: [ch_recent]
";

fn run(wd: &Workdir, emu: &Emu, args: &[&str]) -> (Option<i32>, String, String) {
    run_on(TODAY, wd, emu, args)
}

fn run_on(today: &str, wd: &Workdir, emu: &Emu, args: &[&str]) -> (Option<i32>, String, String) {
    let out = wd
        .cmd(emu)
        .env("REDACTCTL_TODAY", today)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        scrub_base(&text(&out.stdout), emu),
        text(&out.stderr),
    )
}

/// One `reconcile --once` pass, which must succeed: its JSON line, parsed and as text.
fn reconcile_once(wd: &Workdir, emu: &Emu) -> (Value, String) {
    let (code, line, err) = run(
        wd,
        emu,
        &["reconcile", "--once", "--auto-approve", "m.yaml"],
    );
    assert_eq!(code, Some(0), "{err}");
    (serde_json::from_str(line.trim()).unwrap(), line)
}

fn job_status(emu: &Emu) -> String {
    let jobs = emu.jobs();
    assert_eq!(jobs.len(), 1, "one job, never a second: {jobs:?}");
    jobs[0]["status"].as_str().unwrap_or_default().to_string()
}

/// `apply` creates the job, which fails on the risk period: the entry is scheduled, and
/// apply ends at once (it does not wait 90 days) with exit 0, saying what it left.
fn apply_until_scheduled(wd: &Workdir, emu: &Emu) {
    let started = std::time::Instant::now();
    let (code, out, err) = run(
        wd,
        emu,
        &["apply", "--auto-approve", "--wait=60s", "m.yaml"],
    );
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "apply --wait must not wait for a scheduled entry"
    );
    assert!(
        out.contains(&format!("scheduled: eligible on {ELIGIBLE}")),
        "{out}"
    );
    assert!(out.contains("the rest is scheduled"), "{out}");
    // The look that saw the job fail dated the charge too: the progress never calls the
    // entry blocked on its way to scheduled.
    assert!(err.contains("dsr-charge: scheduled: eligible on"), "{err}");
    assert!(!err.contains("dsr-charge: blocked"), "{err}");
    assert_eq!(job_status(emu), "failed");
}

#[test]
fn a_charge_30_days_old_is_scheduled_for_the_day_its_risk_period_ends() {
    let emu = emu(CHARGE);
    let wd = Workdir::new();
    wd.write("m.yaml", MANIFEST);
    apply_until_scheduled(&wd, &emu);

    let (code, out, err) = run(&wd, &emu, &["plan", "--detailed-exitcode", "m.yaml"]);
    assert_eq!(code, Some(0), "nothing to send, nothing blocked: {err}");
    let job = emu.jobs()[0]["id"].as_str().unwrap().to_string();
    insta::assert_snapshot!(out.replace(&job, "[JOB]"));

    let (code, json, _) = run(&wd, &emu, &["plan", "--format", "json", "m.yaml"]);
    assert_eq!(code, Some(0));
    let plan: Value = serde_json::from_str(&json).unwrap();
    let entry = &plan["entries"][0];
    assert_eq!(entry["outcome"], "scheduled");
    assert_eq!(entry["scheduled"][0]["eligible_on"], ELIGIBLE);
    assert_eq!(entry["scheduled"][0]["eligible_at"], T0 + 60 * 86_400);
    assert_eq!(entry["scheduled"][0]["objects"][0]["id"], "ch_recent");
    assert_eq!(plan["actions"].as_array().map(Vec::len), Some(0));

    let (code, md, _) = run(&wd, &emu, &["plan", "--format", "markdown", "m.yaml"]);
    assert_eq!(code, Some(0));
    assert!(md.contains("1 scheduled (90-day risk period)"), "{md}");
    assert!(
        md.contains("> **Eligible after the due date: 1 request"),
        "counted at the top: {md}"
    );
    assert!(
        md.contains("due 2027-02-10, eligible 2027-03-16"),
        "the late line is in the PR comment: {md}"
    );

    let (code, status, err) = run(&wd, &emu, &["status", "m.yaml"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        status.contains(&format!("scheduled: eligible on {ELIGIBLE}")),
        "{status}"
    );
    assert!(
        status.contains("Eligible after the due date: 1 request"),
        "{status}"
    );
    assert!(
        status.contains("dsr-charge  due 2027-02-10, eligible 2027-03-16"),
        "{status}"
    );
    // Scheduled is not overdue (yet), but CI can ask about the delay.
    let (code, _, _) = run(&wd, &emu, &["status", "--fail-on", "overdue", "m.yaml"]);
    assert_eq!(code, Some(0));
    let (code, _, err) = run(
        &wd,
        &emu,
        &["status", "--fail-on", "eligible-after-due", "m.yaml"],
    );
    assert_eq!(code, Some(6), "{err}");
    assert!(err.contains("dsr-charge"), "{err}");
    let (_, status_json, _) = run(&wd, &emu, &["status", "--format", "json", "m.yaml"]);
    let rows: Value = serde_json::from_str(&status_json).unwrap();
    assert_eq!(rows[0]["state"], "scheduled");
    assert_eq!(rows[0]["eligible_on"], ELIGIBLE);
}

#[test]
fn past_the_date_one_reconcile_pass_revalidates_and_runs_it_without_a_manifest_change() {
    let emu = emu(CHARGE);
    let wd = Workdir::new();
    wd.write("m.yaml", MANIFEST);
    apply_until_scheduled(&wd, &emu);

    // A pass the day before: nothing to do.
    emu.advance(Duration::from_secs(59 * 86_400));
    let (pass, line) = reconcile_once(&wd, &emu);
    assert_eq!(pass["scheduled"], 1, "{line}");
    assert_eq!(pass["actions"], 0, "{line}");
    assert_eq!(job_status(&emu), "failed");

    // The day after the date: the pass revalidates and runs the job.
    emu.advance(Duration::from_secs(2 * 86_400));
    let (pass, line) = reconcile_once(&wd, &emu);
    assert_eq!(pass["error"], Value::Null, "{line}");
    assert_eq!(pass["not_approved"], 0, "{line}");
    assert!(
        matches!(job_status(&emu).as_str(), "redacting" | "succeeded"),
        "{line}"
    );
    let audit = wd.read(".redactctl/audit.jsonl");
    assert!(audit.contains("\"action\":\"validate\""), "{audit}");
    assert!(audit.contains("\"action\":\"run\""), "{audit}");
    assert_eq!(wd.read("m.yaml"), MANIFEST);
}

#[test]
fn past_the_date_apply_wait_revalidates_and_runs_it() {
    let emu = emu(CHARGE);
    let wd = Workdir::new();
    wd.write("m.yaml", MANIFEST);
    apply_until_scheduled(&wd, &emu);
    emu.advance(Duration::from_secs(61 * 86_400));
    let (code, out, err) = run_on(
        "2027-03-17",
        &wd,
        &emu,
        &["apply", "--auto-approve", "--wait=60s", "m.yaml"],
    );
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("90-day risk period ended"), "{out}");
    assert_eq!(job_status(&emu), "succeeded");
    // apply shows the due date the way plan does, and that the request completed late.
    assert!(
        out.contains("deadline: gdpr, received 2027-01-10, due 2027-02-10 (35 days overdue)"),
        "{out}"
    );
    assert!(
        out.contains("completed late (35 days after due 2027-02-10)"),
        "{out}"
    );
}

#[test]
fn apply_shows_days_left_while_the_request_is_open() {
    let emu = emu(CHARGE);
    let wd = Workdir::new();
    wd.write("m.yaml", MANIFEST);
    let (code, out, err) = run(
        &wd,
        &emu,
        &["apply", "--auto-approve", "--wait=60s", "m.yaml"],
    );
    assert_eq!(code, Some(0), "{out}\n{err}");
    let summary = &out[out.find("Apply summary:").expect("a summary")..];
    assert!(
        summary.contains("due 2027-02-10 (26 days left); due 2027-02-10, eligible 2027-03-16"),
        "{summary}"
    );
}

/// A customer whose validation always fails on something only a person can resolve.
const STUCK: &str = "objects:
  - id: cus_stuck
    error:
      code: invalid_cascading_source
      message: The customer's default source cannot be redacted. Remove it in the Dashboard.
";

fn validates(wd: &Workdir) -> usize {
    wd.read(".redactctl/audit.jsonl")
        .lines()
        .filter(|l| l.contains("\"action\":\"validate\"") && l.contains("\"outcome\":\"ok\""))
        .count()
}

/// `reconcile --revalidate-every` on the emulator's system clock: its times and the audit
/// log's are one clock, as Stripe's and the machine's are, so the period is short and real.
#[test]
fn revalidate_every_revalidates_once_per_period_not_in_a_loop() {
    let fixtures: Fixtures = serde_yaml::from_str(STUCK).unwrap();
    let emu = Emu::start(Config {
        fixtures: Some(fixtures),
        ..Config::default()
    });
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        "version: 1\naccount:\n  mode: test\nredactions:\n  - name: dsr-stuck\n    objects:\n      customers: [cus_stuck]\n",
    );
    let (code, out, err) = run(
        &wd,
        &emu,
        &["apply", "--auto-approve", "--wait=60s", "m.yaml"],
    );
    assert_eq!(code, Some(3), "a person must act: {out}\n{err}");
    let pass = |wd: &Workdir| {
        let (code, line, err) = run(
            wd,
            &emu,
            &[
                "reconcile",
                "--once",
                "--auto-approve",
                "--revalidate-every",
                "5s",
                "m.yaml",
            ],
        );
        assert_eq!(code, Some(0), "{err}");
        serde_json::from_str::<Value>(line.trim()).unwrap()
    };
    // Within the period: no revalidation.
    assert_eq!(pass(&wd)["actions"], 0);
    assert_eq!(validates(&wd), 0);
    // A period later: one revalidation; a pass right after does not repeat it.
    std::thread::sleep(Duration::from_millis(5_500));
    let first = pass(&wd);
    assert_eq!(first["actions"], 1, "{first}");
    assert_eq!(first["blocked"], 1, "it failed again: {first}");
    assert_eq!(validates(&wd), 1);
    assert_eq!(pass(&wd)["actions"], 0);
    assert_eq!(validates(&wd), 1);
    assert_eq!(job_status(&emu), "failed");
    // Another period: once more.
    std::thread::sleep(Duration::from_millis(5_500));
    assert_eq!(pass(&wd)["actions"], 1);
    assert_eq!(validates(&wd), 2);
}

#[test]
fn a_key_that_cannot_read_the_charge_leaves_it_blocked_and_names_the_permission() {
    let emu = emu(&format!(
        "accounts:\n  - id: acct_1Jobs\n    redaction_only_keys: [rk_test_jobsOnlyKey1]\n{CHARGE}"
    ));
    let wd = Workdir::new();
    wd.write("m.yaml", MANIFEST);
    let out = wd
        .cmd(&emu)
        .env("REDACTCTL_TODAY", TODAY)
        .env("STRIPE_API_KEY", "rk_test_jobsOnlyKey1")
        .args(["apply", "--auto-approve", "--wait=60s", "m.yaml"])
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert_eq!(
        stderr.matches("'rak_charge_read' permission").count(),
        1,
        "said once, however often apply looks: {stderr}"
    );
    assert!(
        stderr.contains("the API key needs read access to charges"),
        "{stderr}"
    );
    assert!(!stderr.contains("jobsOnlyKey1"), "the key is never shown");
    let (code, plan, _) = {
        let out = wd
            .cmd(&emu)
            .env("REDACTCTL_TODAY", TODAY)
            .env("STRIPE_API_KEY", "rk_test_jobsOnlyKey1")
            .args(["plan", "m.yaml"])
            .output()
            .unwrap();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    assert_eq!(code, Some(0));
    assert!(plan.contains("blocked"), "{plan}");
    assert!(plan.contains("needs read access to charges"), "{plan}");
}

#[test]
fn the_receipt_of_a_scheduled_request_says_when_it_becomes_eligible() {
    let emu = emu(CHARGE);
    let wd = Workdir::new();
    wd.write("m.yaml", MANIFEST);
    apply_until_scheduled(&wd, &emu);
    let (code, receipt, err) = run(&wd, &emu, &["report", "m.yaml"]);
    assert_eq!(code, Some(0), "{receipt}\n{err}");
    assert!(
        receipt.contains(&format!("scheduled: eligible on {ELIGIBLE}")),
        "{receipt}"
    );
}
