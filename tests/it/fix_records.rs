//! The fixes a `fix` run applies are irreversible changes to objects no manifest names:
//! once a plan listed them and its apply ran them, the apply summary, the audit log and the
//! receipt each name every one (Stripe's guide: a customer with an open PaymentIntent and
//! an attached PaymentMethod).

use crate::common::{scrub_base, stdout_of_exit, text, with_fixtures, Emu, Workdir};
use crate::receipts::stable;
use redactctl::apply::audit::read_log;

const GUIDE_FIXTURES: &str = r#"
objects:
  - id: cus_guide
    related: [pi_guide, pm_guide]
  - id: pi_guide
    state: requires_payment_method
  - id: pm_guide
    state: attached
"#;

const FIX_MANIFEST: &str = "version: 1\naccount:\n  mode: test\nredactions:\n  - name: dsr-guide\n    ticket: DSR-7\n    validation_behavior: fix\n    objects:\n      customers: [cus_guide]\n";

const FIXES: [&str; 2] = [
    "cancel PaymentIntent pi_guide",
    "detach PaymentMethod pm_guide",
];

#[test]
fn the_fixes_a_run_applied_are_in_the_summary_the_audit_log_and_the_receipt() {
    let emu = Emu::start(with_fixtures(GUIDE_FIXTURES));
    let wd = Workdir::new();
    wd.write("m.yaml", FIX_MANIFEST);

    // The job is created under `error`; its errors are the preview.
    let out = wd.apply_wait(&emu).output().unwrap();
    assert_eq!(emu.jobs()[0]["status"], "failed", "{}", text(&out.stdout));

    // The plan lists both fixes; it is saved and that file is what gets applied.
    let out = wd
        .cmd(&emu)
        .args(["plan", "--out", "plan.json", "m.yaml"])
        .output()
        .unwrap();
    let plan = text(&out.stdout);
    for fix in FIXES {
        assert!(
            plan.contains(&format!("fix: {fix}  [IRREVERSIBLE]")),
            "{plan}"
        );
    }
    let out = wd
        .cmd(&emu)
        .args(["apply", "--wait=60s", "plan.json"])
        .output()
        .unwrap();
    let stdout = stdout_of_exit(&out, 0);
    assert_eq!(emu.jobs()[0]["status"], "succeeded");

    // The summary names each fix the run applied.
    let summary = &stdout[stdout.find("Apply summary:").unwrap_or(0)..];
    for fix in FIXES {
        assert!(summary.contains(fix), "{summary}");
    }
    insta::assert_snapshot!(stable(&scrub_base(summary, &emu)));

    // The audit log's run record carries them.
    let (records, _) = read_log(&wd.path().join(".redactctl/audit.jsonl")).unwrap();
    let run = records
        .iter()
        .find(|r| r.action == "run" && r.outcome == "ok")
        .expect("a run record");
    let mut fixes = run.fixes.clone();
    fixes.sort();
    assert_eq!(fixes, FIXES);

    // And so does the receipt.
    let out = wd
        .cmd(&emu)
        .args(["report", "--format", "json", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let on_receipt: Vec<&str> = v["receipts"][0]["fixes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str())
        .collect();
    for fix in FIXES {
        assert!(on_receipt.contains(&fix), "{on_receipt:?}");
    }
}
