//! Jobs created outside redactctl (a plain HTTP call, as a script or the Dashboard would):
//! with an audit log, apply shows acting on them as an adoption, counted as irreversible,
//! and never cancels a job that also names objects no manifest declares.

use crate::common::{manifest, stdout_of_exit, text, Emu, Workdir};

/// An audit log exists (empty: redactctl created nothing yet).
fn with_audit_log(wd: &Workdir) {
    wd.write(".redactctl/audit.jsonl", "");
}

fn outside_job(emu: &Emu, objects: &[&str]) -> String {
    let keys: Vec<String> = (0..objects.len())
        .map(|i| format!("objects[customers][{i}]"))
        .collect();
    let form: Vec<(&str, &str)> = keys
        .iter()
        .map(String::as_str)
        .zip(objects.iter().copied())
        .collect();
    let job = emu.post("/v1/privacy/redaction_jobs", &form);
    job["id"]
        .as_str()
        .expect("the emulator made a job")
        .to_string()
}

fn status_of(emu: &Emu, job: &str) -> String {
    emu.get(&format!("{}/v1/privacy/redaction_jobs/{job}", emu.base))["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn an_outside_job_is_run_only_when_the_approved_plan_shows_its_adoption() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    with_audit_log(&wd);
    wd.write(
        "m.yaml",
        &manifest("dsr-1", "      customers: [cus_PVout]\n", ""),
    );
    let job = outside_job(&emu, &["cus_PVout"]);

    // One irreversible effect allowed: the run alone would fit, the adoption does not.
    let out = wd
        .cmd(&emu)
        .args([
            "apply",
            "--auto-approve",
            "--wait=20s",
            "--max-irreversible",
            "1",
            "m.yaml",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains(&format!("adopt {job}")),
        "the plan shows the adoption: {}",
        text(&out.stdout)
    );
    assert_ne!(status_of(&emu, &job), "succeeded", "not run");

    // `--auto-approve` approves the plan that showed the adoption.
    let out = wd.apply_wait(&emu).output().expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(status_of(&emu, &job), "succeeded");
}

#[test]
fn an_outside_job_naming_undeclared_objects_is_not_canceled() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    with_audit_log(&wd);
    wd.write(
        "m.yaml",
        &manifest("dsr-1", "      customers: [cus_PVmine]\n", ""),
    );
    let job = outside_job(&emu, &["cus_PVmine", "cus_PVnotmine"]);
    let out = wd
        .cmd(&emu)
        .args(["apply", "--auto-approve", "--wait=20s", "m.yaml"])
        .output()
        .expect("runs");
    assert!(
        text(&out.stdout).contains("which no manifest declares"),
        "the true reason: {}",
        text(&out.stdout)
    );
    assert_ne!(status_of(&emu, &job), "canceled");
    let log = wd.read(".redactctl/audit.jsonl");
    assert!(
        !log.lines()
            .any(|l| l.contains(&job) && l.contains("\"cancel\"")),
        "no cancel sent: {log}"
    );
}

/// Stripe's job object has no `issuing_cards` field: a card entry's job reads back naming
/// none of its objects. redactctl knows the job by what it asked for (its audit log), so the
/// entry converges with one job, and a second apply makes no other.
#[test]
fn a_card_entry_converges_with_one_job_though_cards_do_not_read_back() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("cards", "      issuing_cards: [ic_1Lost]\n", ""),
    );
    stdout_of_exit(&wd.apply_wait(&emu).output().unwrap(), 0);
    let jobs = emu.jobs();
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!(jobs[0]["status"], "succeeded");
    assert!(
        jobs[0]["objects"].get("issuing_cards").is_none(),
        "the job reads back without the card, as on Stripe: {jobs:#?}"
    );

    let plan = wd
        .cmd(&emu)
        .args(["plan", "--detailed-exitcode", "m.yaml"])
        .output()
        .unwrap();
    stdout_of_exit(&plan, 0);
    stdout_of_exit(&wd.apply_wait(&emu).output().unwrap(), 0);
    assert_eq!(emu.jobs().len(), 1, "no second job for the card");
}
