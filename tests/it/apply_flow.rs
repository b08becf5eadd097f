//! End-to-end: `apply` against the emulator, driven only by manifests, as a user would.

use crate::common::every_id_exists;
use std::time::Duration;

use crate::common::{manifest, stdout_of_exit, text, Emu, Workdir, TEST_KEY};
use redactctl::emulator::Config;

fn statuses(emu: &Emu) -> Vec<String> {
    let mut s: Vec<String> = emu
        .jobs()
        .iter()
        .map(|j| j["status"].as_str().unwrap_or("").to_string())
        .collect();
    s.sort();
    s
}

#[test]
fn apply_redacts_then_a_rerun_sends_no_write() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-1", "      customers: [cus_A1]\n", ""),
    );
    let out = wd.apply_wait(&emu).output().unwrap();
    let stdout = stdout_of_exit(&out, 0);
    assert!(stdout.contains("1 to create"), "{stdout}");
    assert!(stdout.contains("every entry converged"), "{stdout}");
    assert_eq!(statuses(&emu), ["succeeded"]);

    emu.reset_stats();
    let out = wd.apply_wait(&emu).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(emu.writes(), 0, "a converged rerun must not write");
    assert_eq!(emu.jobs().len(), 1, "no duplicate job");
}

#[test]
fn two_phase_review_validates_first_and_runs_only_when_flipped() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    let objects = "      customers: [cus_B1, cus_B2]\n";
    wd.write(
        "m.yaml",
        &manifest("dsr-2", objects, "    state: validated\n"),
    );
    let out = wd.apply_wait(&emu).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(statuses(&emu), ["ready"], "validated, nothing destroyed");
    assert!(!text(&out.stdout).contains("! run job"));

    wd.write(
        "m.yaml",
        &manifest("dsr-2", objects, "    state: redacted\n"),
    );
    let plan = wd.cmd(&emu).args(["plan", "m.yaml"]).output().unwrap();
    let plan_text = text(&plan.stdout);
    assert!(plan_text.contains("1 to run"), "{plan_text}");
    assert!(plan_text.contains("1 irreversible"), "{plan_text}");
    let out = wd.apply_wait(&emu).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(statuses(&emu), ["succeeded"]);
}

#[test]
fn removing_an_object_from_a_validated_job_replaces_it() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest(
            "dsr-3",
            "      customers: [cus_C1, cus_C2]\n",
            "    state: validated\n",
        ),
    );
    let out = wd.apply_wait(&emu).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    wd.write(
        "m.yaml",
        &manifest(
            "dsr-3",
            "      customers: [cus_C1]\n",
            "    state: validated\n",
        ),
    );
    let out = wd.apply_wait(&emu).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("replace"),
        "{}",
        text(&out.stdout)
    );
    let jobs = emu.jobs();
    let mut live: Vec<(String, Vec<String>)> = jobs
        .iter()
        .map(|j| {
            let ids = j["objects"]["customers"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (j["status"].as_str().unwrap_or("").to_string(), ids)
        })
        .collect();
    live.sort();
    assert_eq!(
        live,
        vec![
            (
                "canceled".to_string(),
                vec!["cus_C1".to_string(), "cus_C2".to_string()]
            ),
            ("ready".to_string(), vec!["cus_C1".to_string()]),
        ]
    );
}

#[test]
fn state_canceled_cancels_a_pre_run_job() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    let objects = "      customers: [cus_D1]\n";
    wd.write(
        "m.yaml",
        &manifest("dsr-4", objects, "    state: validated\n"),
    );
    wd.apply_wait(&emu).assert().code(0);
    wd.write(
        "m.yaml",
        &manifest("dsr-4", objects, "    state: canceled\n"),
    );
    let out = wd.apply_wait(&emu).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(statuses(&emu), ["canceled"]);
}

#[test]
fn without_a_terminal_apply_refuses_unless_auto_approved() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-5", "      customers: [cus_E1]\n", ""),
    );
    let out = wd.cmd(&emu).args(["apply", "m.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--auto-approve"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(emu.writes(), 0);
    assert!(emu.jobs().is_empty());
}

#[test]
fn a_live_key_for_a_test_manifest_is_refused_before_any_request() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-6", "      customers: [cus_F1]\n", ""),
    );
    let commands: [&[&str]; 3] = [
        &["plan", "m.yaml"],
        &["apply", "--auto-approve", "m.yaml"],
        &["status", "m.yaml"],
    ];
    for command in commands {
        let out = wd
            .cmd(&emu)
            .env("STRIPE_API_KEY", "sk_live_e2eSECRETmarker")
            .args(command)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{command:?}");
        assert!(
            text(&out.stderr).contains("live mode key"),
            "{}",
            text(&out.stderr)
        );
    }
    assert_eq!(emu.stats().total, 0, "not a single request");
}

#[test]
fn a_key_of_another_account_is_refused_before_any_write() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        "version: 1\naccount:\n  mode: test\n  id: acct_NotThisOne\nredactions:\n  - name: dsr-7\n    objects:\n      customers: [cus_G1]\n",
    );
    let out = wd
        .cmd(&emu)
        .args(["apply", "--auto-approve", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("acct_NotThisOne"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(emu.writes(), 0);
}

#[test]
fn max_irreversible_caps_the_plan() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        "version: 1\naccount:\n  mode: test\nredactions:\n  - name: a\n    objects:\n      customers: [cus_H1]\n  - name: b\n    objects:\n      customers: [cus_H2]\n  - name: c\n    objects:\n      customers: [cus_H3]\n",
    );
    let out = wd
        .cmd(&emu)
        .args([
            "apply",
            "--auto-approve",
            "--max-irreversible",
            "2",
            "m.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--max-irreversible"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(emu.writes(), 0);
    wd.cmd(&emu)
        .args([
            "apply",
            "--auto-approve",
            "--max-irreversible",
            "3",
            "--wait=60s",
            "m.yaml",
        ])
        .assert()
        .code(0);
    assert_eq!(statuses(&emu), ["succeeded", "succeeded", "succeeded"]);
}

#[test]
fn wait_running_out_exits_4() {
    let emu = Emu::start(Config {
        redaction_delay: Duration::from_secs(3600),
        ..every_id_exists()
    });
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-8", "      customers: [cus_I1]\n", ""),
    );
    let out = wd
        .cmd(&emu)
        .args(["apply", "--auto-approve", "--wait=2s", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stdout));
    assert_eq!(statuses(&emu), ["redacting"]);
    // Without --wait, Stripe-side work left is success.
    let out = wd
        .cmd(&emu)
        .args(["apply", "--auto-approve", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn the_audit_log_has_one_line_per_write_and_no_key() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        "version: 1\naccount:\n  mode: test\nredactions:\n  - name: a\n    objects:\n      customers: [cus_J1]\n  - name: b\n    objects:\n      customers: [cus_J2]\n",
    );
    wd.cmd(&emu)
        .args([
            "apply",
            "--auto-approve",
            "--wait=60s",
            "--audit-log",
            "audit/log.jsonl",
            "m.yaml",
        ])
        .assert()
        .code(0);
    let log = wd.read("audit/log.jsonl");
    let all: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Written ahead: each write's intent, then its outcome.
    let (intents, lines): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|l| l["outcome"] == "intent");
    assert_eq!(intents.len(), lines.len(), "{log}");
    assert_eq!(lines.len() as u64, emu.writes());
    assert_eq!(lines.len(), 4, "two creates and two runs:\n{log}");
    for line in &lines {
        assert!(line["request_id"]
            .as_str()
            .unwrap_or("")
            .starts_with("req_"));
        assert!(line["idempotency_key"].as_str().is_some());
        assert!(line["job"].as_str().unwrap_or("").starts_with("prj_"));
    }
    assert!(!log.contains(TEST_KEY));
    assert!(!log.contains("e2eSECRETmarker"));
}

#[test]
fn a_saved_plan_is_refused_when_stale_and_nothing_changes() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    let objects = "      customers: [cus_K1]\n";
    wd.write(
        "m.yaml",
        &manifest("dsr-9", objects, "    state: validated\n"),
    );
    wd.apply_wait(&emu).assert().code(0);
    wd.write(
        "m.yaml",
        &manifest("dsr-9", objects, "    state: redacted\n"),
    );
    wd.cmd(&emu)
        .args(["plan", "--out", "run.plan.json", "m.yaml"])
        .assert()
        .code(0);
    // Someone cancels the job behind the plan's back.
    let job = emu.jobs()[0]["id"].as_str().unwrap().to_string();
    emu.post(&format!("/v1/privacy/redaction_jobs/{job}/cancel"), &[]);
    emu.reset_stats();
    let out = wd
        .cmd(&emu)
        .args(["apply", "run.plan.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("stale plan"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(emu.writes(), 0);

    // A plan made before the manifests changed is stale too.
    wd.cmd(&emu)
        .args(["plan", "--out", "second.plan.json", "m.yaml"])
        .assert()
        .code(0);
    wd.write(
        "m.yaml",
        &manifest("dsr-9", objects, "    state: validated\n"),
    );
    let out = wd
        .cmd(&emu)
        .args(["apply", "second.plan.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("stale plan"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(emu.writes(), 0);
}

#[test]
fn a_fresh_saved_plan_is_applied_without_a_prompt() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-10", "      customers: [cus_L1]\n", ""),
    );
    wd.cmd(&emu)
        .args(["plan", "--out", "p.json", "m.yaml"])
        .assert()
        .code(0);
    assert_eq!(emu.writes(), 0, "plan never writes");
    let out = wd
        .cmd(&emu)
        .args(["apply", "--wait=60s", "p.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(statuses(&emu), ["succeeded"]);
}

#[test]
fn plan_detailed_exitcode_says_whether_there_are_changes() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-11", "      customers: [cus_M1]\n", ""),
    );
    wd.cmd(&emu)
        .args(["plan", "--detailed-exitcode", "m.yaml"])
        .assert()
        .code(2);
    wd.apply_wait(&emu).assert().code(0);
    wd.cmd(&emu)
        .args(["plan", "--detailed-exitcode", "m.yaml"])
        .assert()
        .code(0);
    wd.write("bad.yaml", "version: 1\naccount: {mode: test}\nredactions:\n  - name: x\n    objects:\n      customers: [pi_wrong]\n");
    wd.cmd(&emu)
        .args(["plan", "--detailed-exitcode", "bad.yaml"])
        .assert()
        .code(1);
}

#[test]
fn a_targeted_saved_plan_touches_only_its_entries() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        "version: 1\naccount:\n  mode: test\nredactions:\n  - name: only-me\n    objects:\n      customers: [cus_T1]\n  - name: not-me\n    objects:\n      customers: [cus_T2]\n",
    );
    wd.cmd(&emu)
        .args(["plan", "--target", "only-me", "--out", "p.json", "m.yaml"])
        .assert()
        .code(0);
    let out = wd
        .cmd(&emu)
        .args(["apply", "--wait=60s", "p.json"])
        .output()
        .unwrap();
    let stdout = stdout_of_exit(&out, 0);
    assert!(!stdout.contains("not-me"), "{stdout}");
    let jobs = emu.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["objects"]["customers"][0], "cus_T1");
    assert_eq!(jobs[0]["status"], "succeeded");
}

/// `--local` keeps its own audit log beside the embedded emulator's state, and every record
/// says where the write went, what sent it, which plan and whose approval.
#[test]
fn local_runs_keep_their_own_audit_log_and_every_record_names_its_context() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-local", "      customers: [cus_L1]\n", ""),
    );
    let out = wd
        .cmd(&emu)
        .env("GITHUB_ACTOR", "octo-reviewer")
        .args(["apply", "--local", "--auto-approve", "--wait=60s", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !wd.path().join(".redactctl/audit.jsonl").exists(),
        "the real audit log is untouched"
    );
    let log = wd.read(".redactctl/local/audit.jsonl");
    let records: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        records.len() >= 4,
        "intent and outcome of create and run: {log}"
    );
    for r in &records {
        assert_eq!(r["api_base"], "local:.redactctl/local", "{r}");
        assert_eq!(r["redactctl_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(r["plan_digest"].as_str().map(str::len), Some(64), "{r}");
        assert_eq!(r["approved_by"], "octo-reviewer (--auto-approve)");
    }
}
