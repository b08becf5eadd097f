//! What users see, as reviewed snapshots: each test runs the real binary (against an
//! in-process emulator where it needs one) and snapshots its exit code, stdout and stderr,
//! with what changes from run to run (the emulator's address, job and request ids, times)
//! replaced by placeholders. A change in any of these outputs is then a reviewed diff.

use crate::common::{manifest, scrub_base, text, Emu, Workdir};
use crate::receipts::stable;

/// Exit code, stdout and stderr of `args` run in `wd` against `emu`, made stable.
fn run(wd: &Workdir, emu: &Emu, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = wd.cmd(emu);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.args(args).output().unwrap();
    let shown = format!(
        "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    stable(&scrub_base(&shown, emu)).replace(&wd.path().display().to_string(), "[DIR]")
}

fn one_customer(wd: &Workdir) {
    wd.write(
        "m.yaml",
        &manifest("dsr-1", "      customers: [cus_Snap1]\n", ""),
    );
}

#[test]
fn plan_of_a_new_entry() {
    let (emu, wd) = (Emu::instant(), Workdir::new());
    one_customer(&wd);
    insta::assert_snapshot!(run(&wd, &emu, &["plan", "m.yaml"], &[]));
}

#[test]
fn plan_when_nothing_is_left_to_do() {
    let (emu, wd) = (Emu::instant(), Workdir::new());
    one_customer(&wd);
    let out = wd.apply_wait(&emu).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!(run(
        &wd,
        &emu,
        &["plan", "--detailed-exitcode", "m.yaml"],
        &[]
    ));
}

#[test]
fn apply_then_its_summary() {
    let (emu, wd) = (Emu::instant(), Workdir::new());
    one_customer(&wd);
    // Progress (stderr) depends on when each observation falls: only stdout is snapshot.
    let shown = run(
        &wd,
        &emu,
        &["apply", "--auto-approve", "--wait=60s", "m.yaml"],
        &[],
    );
    let stdout = shown.split("--- stderr").next().unwrap_or_default();
    insta::assert_snapshot!(stdout);
}

#[test]
fn apply_without_a_terminal_or_approval_is_refused() {
    let (emu, wd) = (Emu::instant(), Workdir::new());
    one_customer(&wd);
    insta::assert_snapshot!(run(&wd, &emu, &["apply", "m.yaml"], &[]));
    assert_eq!(emu.writes(), 0, "nothing was sent");
}

#[test]
fn a_key_of_the_other_mode_is_refused() {
    let (emu, wd) = (Emu::instant(), Workdir::new());
    one_customer(&wd);
    insta::assert_snapshot!(run(
        &wd,
        &emu,
        &["plan", "m.yaml"],
        &[("STRIPE_API_KEY", "sk_live_snapshotLIVEkey000000")]
    ));
    assert_eq!(emu.stats().total, 0, "no request at all");
}

#[test]
fn no_key_at_all() {
    let (emu, wd) = (Emu::instant(), Workdir::new());
    one_customer(&wd);
    let mut cmd = wd.cmd(&emu);
    let out = cmd
        .env_remove("STRIPE_API_KEY")
        .args(["plan", "m.yaml"])
        .output()
        .unwrap();
    insta::assert_snapshot!(format!(
        "exit: {:?}\n--- stderr\n{}",
        out.status.code(),
        text(&out.stderr)
    ));
}

#[test]
fn an_unknown_target() {
    let (emu, wd) = (Emu::instant(), Workdir::new());
    one_customer(&wd);
    insta::assert_snapshot!(run(
        &wd,
        &emu,
        &["plan", "--target=dsr-nope", "m.yaml"],
        &[]
    ));
}

#[test]
fn more_irreversible_actions_than_allowed() {
    let (emu, wd) = (Emu::instant(), Workdir::new());
    one_customer(&wd);
    insta::assert_snapshot!(run(
        &wd,
        &emu,
        &[
            "apply",
            "--auto-approve",
            "--max-irreversible",
            "0",
            "m.yaml"
        ],
        &[]
    ));
    assert_eq!(emu.writes(), 0, "nothing was sent");
}

#[test]
fn a_stale_saved_plan() {
    let (emu, wd) = (Emu::instant(), Workdir::new());
    one_customer(&wd);
    let out = wd
        .cmd(&emu)
        .args(["plan", "--out", "plan.json", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    wd.write(
        "m.yaml",
        &manifest("dsr-1", "      customers: [cus_Snap2]\n", ""),
    );
    insta::assert_snapshot!(run(&wd, &emu, &["apply", "plan.json"], &[]));
    assert_eq!(emu.writes(), 0, "nothing was sent");
}

#[test]
fn status_after_apply() {
    let (emu, wd) = (Emu::instant(), Workdir::new());
    one_customer(&wd);
    let out = wd.apply_wait(&emu).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!(run(&wd, &emu, &["status", "m.yaml"], &[]));
}

#[test]
fn validate_errors_are_located() {
    let (emu, wd) = (Emu::instant(), Workdir::new());
    wd.write(
        "m.yaml",
        "version: 1\naccount:\n  mode: test\nredactions:\n  - name: Bad Name\n    objects:\n      customers: [pi_123]\n    colour: blue\n",
    );
    insta::assert_snapshot!(run(&wd, &emu, &["validate", "m.yaml"], &[]));
}

#[test]
fn the_plan_file_names_the_place_it_was_made_for() {
    let (emu, wd) = (Emu::instant(), Workdir::new());
    one_customer(&wd);
    let out = wd
        .cmd(&emu)
        .args(["plan", "--out", "plan.json", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_str(&wd.read("plan.json")).unwrap();
    let observed = stable(&scrub_base(
        &serde_json::to_string_pretty(&plan["observed"]).unwrap(),
        &emu,
    ));
    insta::assert_snapshot!(observed);
}

fn live_manifest(wd: &Workdir) {
    wd.write(
        "m.yaml",
        "version: 1\naccount:\n  mode: live\nredactions:\n  - name: dsr-1\n    objects:\n      customers: [cus_Snap1]\n",
    );
}

#[test]
fn a_live_key_against_an_emulator_left_in_the_environment_is_refused() {
    let (emu, wd) = (Emu::instant(), Workdir::new());
    live_manifest(&wd);
    insta::assert_snapshot!(run(
        &wd,
        &emu,
        &["apply", "--auto-approve", "m.yaml"],
        &[("STRIPE_API_KEY", "sk_live_snapshotLIVEkey000000")]
    ));
    assert_eq!(emu.stats().total, 0, "nothing was sent");
}

#[test]
fn a_base_given_on_the_command_line_is_used_and_named_as_an_emulator() {
    let (emu, wd) = (Emu::instant(), Workdir::new());
    live_manifest(&wd);
    let shown = run(
        &wd,
        &emu,
        &["plan", "--api-base", &emu.base, "m.yaml"],
        &[("STRIPE_API_KEY", "sk_live_snapshotLIVEkey000000")],
    );
    assert!(shown.starts_with("exit: Some(0)"), "{shown}");
    let first = shown.lines().nth(2).unwrap_or_default().to_string();
    insta::assert_snapshot!(first);
}
