//! What the plan shows before anything irreversible, against the emulator: a
//! `validation_behavior: fix` entry destroys nothing that a plan did not show, and a lock
//! through a related object is waited on and revalidated once, within one apply.

use crate::common::{stdout_of_exit, text, with_fixtures, Emu, Workdir, GUIDE_FIXTURES};

const FIX_MANIFEST: &str = "version: 1\naccount:\n  mode: test\nredactions:\n  - name: dsr-guide\n    validation_behavior: fix\n    objects:\n      customers: [cus_guide]\n";

#[test]
fn fixes_run_only_after_a_plan_that_listed_them() {
    let emu = Emu::start(with_fixtures(GUIDE_FIXTURES));
    let wd = Workdir::new();
    wd.write("m.yaml", FIX_MANIFEST);

    // The first plan has no job to read errors from: it shows no fix.
    let out = wd.cmd(&emu).args(["plan", "m.yaml"]).output().unwrap();
    let plan = text(&out.stdout);
    assert!(!plan.contains("pi_guide"), "{plan}");
    assert!(
        plan.contains("created with validation_behavior: error"),
        "{plan}"
    );

    // Approving that plan creates the job under `error` and runs nothing irreversible.
    let out = wd.apply_wait(&emu).output().unwrap();
    let jobs = emu.jobs();
    assert_eq!(jobs.len(), 1, "{}", text(&out.stdout));
    assert_eq!(jobs[0]["validation_behavior"], "error");
    assert_eq!(jobs[0]["status"], "failed", "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("cancel PaymentIntent pi_guide")
            || text(&out.stdout).contains("shown first"),
        "the fixes are reported as not done: {}",
        text(&out.stdout)
    );

    // The next plan lists the fix, irreversible and counted.
    let out = wd.cmd(&emu).args(["plan", "m.yaml"]).output().unwrap();
    let plan = text(&out.stdout);
    assert!(
        plan.contains("fixes the run will apply (1, each irreversible)"),
        "{plan}"
    );
    assert!(
        plan.contains("fix: cancel PaymentIntent pi_guide  [IRREVERSIBLE]"),
        "{plan}"
    );
    assert!(plan.contains("2 irreversible (including 1 fix)"), "{plan}");

    // Approving the plan that listed it switches the job, revalidates and runs it.
    let out = wd.apply_wait(&emu).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let jobs = emu.jobs();
    assert_eq!(jobs.len(), 1, "the same job, not a new one");
    assert_eq!(jobs[0]["status"], "succeeded");
    assert_eq!(jobs[0]["validation_behavior"], "fix");
    // The record shows the fix the run applied, on the run's own lines.
    let log = wd.read(".redactctl/audit.jsonl");
    let run_with_fix = log
        .lines()
        .filter(|l| l.contains("\"action\":\"run\""))
        .any(|l| l.contains("\"fixes\":[") && l.contains("pi_guide"));
    assert!(run_with_fix, "{log}");
}

/// A customer entry and an entry for that customer's charge: the customer's job reaches the
/// charge another job holds.
const LOCK_FIXTURES: &str = r#"
objects:
  - id: cus_lock
    related: [ch_lock]
  - id: ch_lock
"#;

const LOCK_MANIFEST: &str = "version: 1\naccount:\n  mode: test\nredactions:\n  - name: charge\n    objects:\n      charges: [ch_lock]\n  - name: cust\n    objects:\n      customers: [cus_lock]\n";

#[test]
fn a_lock_through_a_related_object_converges_in_one_apply() {
    let emu = Emu::start(with_fixtures(LOCK_FIXTURES));
    let wd = Workdir::new();
    wd.write("m.yaml", LOCK_MANIFEST);
    // One action at a time: the charge's job (first in the manifest) is made first and
    // holds the charge, so the customer's job is the one that meets the lock. (Two creates
    // at once reach Stripe in either order; had the customer's come first, the charge
    // entry would converge as redacted by it, with no revalidation to count.)
    let out = wd
        .cmd(&emu)
        .args([
            "apply",
            "--auto-approve",
            "--wait=60s",
            "--parallelism=1",
            "m.yaml",
        ])
        .output()
        .unwrap();
    let stdout = stdout_of_exit(&out, 0);
    assert!(!stdout.contains("Not done"), "{stdout}");
    // The customer's job failed on the lock and was revalidated once, in the same apply.
    assert_eq!(stdout.matches("validate prj_").count(), 1, "{stdout}");
    let jobs = emu.jobs();
    assert!(
        jobs.iter().all(|j| j["status"] == "succeeded"),
        "{stdout}\n{jobs:#?}"
    );
    assert_eq!(jobs.len(), 2, "no second job for either entry: {jobs:#?}");
}
