//! Stripe's guide ("Complete a redaction job"), driven entirely by manifests and `apply`,
//! and identity-session redaction.

use crate::common::{stdout_of_exit, text, with_fixtures, Emu, Workdir, GUIDE_FIXTURES};

fn emu_with(fixtures: &str) -> Emu {
    Emu::start(with_fixtures(fixtures))
}

fn guide_manifest(behavior: &str) -> String {
    crate::common::guide_manifest("dsr-guide", behavior)
}

#[test]
fn the_guides_walkthrough_as_manifests() {
    let emu = emu_with(GUIDE_FIXTURES);
    let wd = Workdir::new();
    wd.write("m.yaml", &guide_manifest("error"));

    // Create: validation fails on the unfinalized PaymentIntent; a person must act.
    let out = wd.apply_wait(&emu).output().unwrap();
    let stdout = stdout_of_exit(&out, 3);
    assert!(stdout.contains("blocked"), "{stdout}");
    let jobs = emu.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["status"], "failed");

    // The plan shows the error and the object it is about.
    let out = wd.cmd(&emu).args(["plan", "m.yaml"]).output().unwrap();
    let plan = text(&out.stdout);
    assert!(plan.contains("invalid_state"), "{plan}");
    assert!(plan.contains("pi_guide"), "{plan}");

    // Switch to `fix`: update + validate, and the run will cancel the PaymentIntent.
    wd.write("m.yaml", &guide_manifest("fix"));
    let out = wd.cmd(&emu).args(["plan", "m.yaml"]).output().unwrap();
    let plan = text(&out.stdout);
    assert!(plan.contains("~ update"), "{plan}");
    assert!(plan.contains("↻ validate"), "{plan}");
    assert!(plan.contains("cancel PaymentIntent pi_guide"), "{plan}");

    let out = wd.apply_wait(&emu).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let jobs = emu.jobs();
    assert_eq!(jobs.len(), 1, "the same job was fixed, not a new one");
    assert_eq!(jobs[0]["status"], "succeeded");
    assert_eq!(jobs[0]["validation_behavior"], "fix");
}

#[test]
fn identity_sessions_are_redacted_one_by_one() {
    let emu = emu_with(
        r#"
objects:
  - {id: vs_verified, state: verified}
  - {id: vs_waiting, state: requires_action}
"#,
    );
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        "version: 1\naccount:\n  mode: test\nredactions:\n  - name: kyc-1\n    via: identity_redact\n    objects:\n      identity_verification_sessions: [vs_verified, vs_waiting]\n",
    );
    let out = wd.cmd(&emu).args(["plan", "m.yaml"]).output().unwrap();
    let plan = text(&out.stdout);
    assert!(plan.contains("2 to redact"), "{plan}");
    assert!(plan.contains("vs_waiting"), "{plan}");
    assert!(
        plan.to_lowercase().contains("cancel"),
        "the session canceled by redaction is shown: {plan}"
    );

    let out = wd.apply_wait(&emu).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    for id in ["vs_verified", "vs_waiting"] {
        let s = emu.get(&format!(
            "{}/v1/identity/verification_sessions/{id}",
            emu.base
        ));
        assert_eq!(s["redaction"]["status"], "redacted", "{id}: {s}");
    }
    emu.reset_stats();
    wd.cmd(&emu)
        .args(["apply", "--auto-approve", "m.yaml"])
        .assert()
        .code(0);
    assert_eq!(emu.writes(), 0, "redacted sessions are not redacted again");
}
