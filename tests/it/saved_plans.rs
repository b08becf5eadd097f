//! Saved plans are bound to where they were made and checked, not trusted: another
//! account's key is refused, a plan file's `irreversible` flag is not believed, and an old
//! plan format is a clear error — each with nothing sent.

use crate::common::{manifest, text, Emu, Workdir};
use crate::receipts::stable;

/// Another key of the same mode: the emulator derives a different account from it.
const OTHER_KEY: &str = "sk_test_anotherAccountKey0123456789";

fn saved_plan(emu: &Emu, wd: &Workdir) {
    wd.write(
        "m.yaml",
        &manifest("dsr-saved", "      customers: [cus_S1]\n", ""),
    );
    wd.cmd(emu)
        .args(["plan", "--out", "p.json", "m.yaml"])
        .assert()
        .code(0);
    emu.reset_stats();
}

#[test]
fn a_saved_plan_applied_under_another_accounts_key_is_refused_with_nothing_sent() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    saved_plan(&emu, &wd);
    let out = wd
        .cmd(&emu)
        .env("STRIPE_API_KEY", OTHER_KEY)
        .args(["apply", "p.json"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the plan file was made for"), "{stderr}");
    assert!(!stderr.contains(OTHER_KEY));
    assert_eq!(emu.writes(), 0);
    assert!(emu.jobs().is_empty());
    let base = emu.base.clone();
    insta::assert_snapshot!(
        "another_account_error",
        stable(&stderr.replace(&base, "[API_BASE]"))
    );
}

#[test]
fn a_plan_files_irreversible_flag_is_not_believed() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    saved_plan(&emu, &wd);
    let edited = wd
        .read("p.json")
        .replace("\"irreversible\": true", "\"irreversible\": false");
    assert!(edited.contains("\"op\": \"run\""), "the plan runs a job");
    wd.write("p.json", &edited);
    let out = wd
        .cmd(&emu)
        .args(["apply", "--max-irreversible", "0", "p.json"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--max-irreversible 0"), "{stderr}");
    assert_eq!(emu.writes(), 0);
}

#[test]
fn a_plan_file_of_the_old_format_is_a_clear_error() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    saved_plan(&emu, &wd);
    let old = wd
        .read("p.json")
        .replacen("\"format_version\": 2", "\"format_version\": 1", 1);
    wd.write("p.json", &old);
    let out = wd.cmd(&emu).args(["apply", "p.json"]).output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(emu.writes(), 0);
    insta::assert_snapshot!("old_plan_format_error", stderr);
}

#[test]
fn the_plans_first_line_says_where_the_writes_go() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-where", "      customers: [cus_W1]\n", ""),
    );
    let out = wd.cmd(&emu).args(["plan", "m.yaml"]).output().unwrap();
    let stdout = text(&out.stdout);
    let first = stdout.lines().next().unwrap_or_default();
    assert_eq!(
        first.replace(&emu.base, "[API_BASE]"),
        "redactctl plan: an emulator (not Stripe) at [API_BASE], account acct_5b4edd9a98a19017, test mode"
    );
}

#[test]
fn the_apply_summary_names_what_was_done() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-summary", "      customers: [cus_Y1]\n", ""),
    );
    let out = wd.apply_wait(&emu).output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let summary = &stdout[stdout.find("Apply summary:").unwrap_or(0)..];
    insta::assert_snapshot!("apply_summary", stable(summary));
}
