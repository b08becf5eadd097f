//! Signed plan files: with `REDACTCTL_PLAN_KEY` set, `plan --out` signs the file and
//! `apply FILE` applies only a file whose signature matches; an edited file, a file signed
//! with another key and an unsigned file are refused before anything is sent. The key is
//! never printed nor written.

use crate::common::{manifest, text, Emu, Workdir, TEST_KEY};

const PLAN_KEY: &str = "planKEYsecret-4f1c0a9e7b3d2c1f";
const OTHER_PLAN_KEY: &str = "anotherPlanKey-99aa88bb77cc66dd";

/// Plans one entry into `p.json`, signed with `key` (unsigned with `None`), then resets
/// the emulator's counters so that what apply sends is all they show.
fn saved_plan(emu: &Emu, wd: &Workdir, key: Option<&str>) -> String {
    wd.write(
        "m.yaml",
        &manifest("dsr-signed", "      customers: [cus_Sig1]\n", ""),
    );
    let mut cmd = wd.cmd(emu);
    cmd.env_remove("REDACTCTL_PLAN_KEY");
    if let Some(k) = key {
        cmd.env("REDACTCTL_PLAN_KEY", k);
    }
    let out = cmd
        .args(["plan", "--out", "p.json", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    emu.reset_stats();
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

fn apply(emu: &Emu, wd: &Workdir, key: Option<&str>) -> (Option<i32>, String) {
    let mut cmd = wd.cmd(emu);
    cmd.env_remove("REDACTCTL_PLAN_KEY");
    if let Some(k) = key {
        cmd.env("REDACTCTL_PLAN_KEY", k);
    }
    let out = cmd
        .args(["apply", "--wait=60s", "p.json"])
        .output()
        .unwrap();
    (
        out.status.code(),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

/// Refused: exit 1, the reason named, no request at all, the key nowhere.
fn assert_refused(emu: &Emu, code: Option<i32>, output: &str, reason: &str) {
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains(reason), "{output}");
    assert_eq!(emu.stats().total, 0, "nothing is sent: {output}");
    assert!(emu.jobs().is_empty());
    assert!(!output.contains(PLAN_KEY) && !output.contains(OTHER_PLAN_KEY));
}

#[test]
fn a_plan_signed_in_one_job_is_applied_in_another_with_the_same_key() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    let shown = saved_plan(&emu, &wd, Some(PLAN_KEY));
    let file = wd.read("p.json");
    assert!(file.contains("\"signature\": \"hmac-sha256:"), "{file}");
    for secret in [PLAN_KEY, TEST_KEY] {
        assert!(!file.contains(secret) && !shown.contains(secret));
    }
    let (code, output) = apply(&emu, &wd, Some(PLAN_KEY));
    assert_eq!(code, Some(0), "{output}");
    assert!(!output.contains(PLAN_KEY));
    let jobs = emu.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["status"], "succeeded");
}

#[test]
fn an_edited_signed_plan_is_refused_with_nothing_sent() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    saved_plan(&emu, &wd, Some(PLAN_KEY));
    let edited = wd.read("p.json").replace("cus_Sig1", "cus_VICTIM");
    assert!(edited.contains("cus_VICTIM"));
    wd.write("p.json", &edited);
    let (code, output) = apply(&emu, &wd, Some(PLAN_KEY));
    assert_refused(&emu, code, &output, "does not match its contents");
}

#[test]
fn a_plan_signed_with_another_key_is_refused_with_nothing_sent() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    saved_plan(&emu, &wd, Some(OTHER_PLAN_KEY));
    let (code, output) = apply(&emu, &wd, Some(PLAN_KEY));
    assert_refused(&emu, code, &output, "does not match its contents");
}

#[test]
fn an_unsigned_plan_is_refused_when_the_key_is_set() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    saved_plan(&emu, &wd, None);
    assert!(!wd.read("p.json").contains("signature"));
    let (code, output) = apply(&emu, &wd, Some(PLAN_KEY));
    assert_refused(&emu, code, &output, "the plan file is not signed");
}

#[test]
fn a_signed_plan_without_the_key_cannot_be_checked_and_is_refused() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    saved_plan(&emu, &wd, Some(PLAN_KEY));
    let (code, output) = apply(&emu, &wd, None);
    assert_refused(&emu, code, &output, "cannot be checked");
    // Without a key anywhere, plan files are unsigned and applied as before.
    saved_plan(&emu, &wd, None);
    let (code, output) = apply(&emu, &wd, None);
    assert_eq!(code, Some(0), "{output}");
}

#[test]
fn an_empty_or_short_key_is_an_error_that_does_not_show_it() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-signed", "      customers: [cus_Sig1]\n", ""),
    );
    for (key, says) in [("", "set but empty"), ("shortKEY9", "too short")] {
        let out = wd
            .cmd(&emu)
            .env("REDACTCTL_PLAN_KEY", key)
            .args(["plan", "--out", "p.json", "m.yaml"])
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        if !key.is_empty() {
            assert!(!stderr.contains(key), "{stderr}");
        }
        assert!(!wd.path().join("p.json").exists(), "no unsigned file left");
    }
}
