//! An object that does not exist, against the strict emulator (as on Stripe, a create
//! naming it is refused with 400 `resource_missing`): the plan shows the entry as
//! "object not found", blocked with advice, and proposes no create until the manifest
//! changes; the apply summary names it too.

use crate::common::{manifest, stdout_of_exit, text, Emu, Workdir};
use redactctl::emulator::{Config, Fixtures};

fn strict_emu() -> Emu {
    let fixtures: Fixtures = serde_yaml::from_str("objects:\n  - id: cus_real\n").unwrap();
    Emu::start(Config {
        fixtures: Some(fixtures),
        ..Config::default()
    })
}

fn entry(id: &str) -> String {
    manifest("dsr-typo", &format!("      customers: [{id}]\n"), "")
}

#[test]
fn a_missing_object_is_its_own_blocked_state_until_the_manifest_changes() {
    let emu = strict_emu();
    let wd = Workdir::new();
    wd.write("m.yaml", &entry("cus_nowhere"));

    // The create is refused; the summary says why, per entry.
    let out = wd.apply_wait(&emu).output().unwrap();
    let stdout = stdout_of_exit(&out, 1);
    assert!(
        stdout.contains("now blocked: object not found: cus_nowhere"),
        "{stdout}"
    );
    assert!(emu.jobs().is_empty());

    // The next plan shows the state and proposes nothing.
    let out = wd
        .cmd(&emu)
        .args(["plan", "--detailed-exitcode", "m.yaml"])
        .output()
        .unwrap();
    let plan = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "no changes to make: {plan}");
    assert!(
        plan.contains("⨯ blocked: object not found: cus_nowhere"),
        "{plan}"
    );
    assert!(plan.contains("correct or remove cus_nowhere"), "{plan}");
    assert!(!plan.contains("+ create job"), "{plan}");

    // A rerun sends nothing and says a person must act.
    emu.reset_stats();
    let out = wd.apply_wait(&emu).output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("object not found: cus_nowhere"), "{stdout}");
    assert_eq!(emu.writes(), 0, "no create sent again");

    // The manifest corrected: the create is proposed and converges.
    wd.write("m.yaml", &entry("cus_real"));
    let out = wd.apply_wait(&emu).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let jobs = emu.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["status"], "succeeded");
}
