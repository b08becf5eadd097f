//! Deadlines of deletion requests, through the real binary: `validate` refuses unlawful
//! extensions and impossible dates with file and line; `plan` and `status` show each
//! entry's due date and days left; `status --fail-on` gives its own exit code. The date is
//! frozen with `REDACTCTL_TODAY` so that the snapshots never age.

use std::fs;
use std::path::Path;

use assert_cmd::Command;

/// The frozen "today" of every test here.
const TODAY: &str = "2026-03-10";

fn redactctl(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("redactctl").unwrap();
    cmd.current_dir(dir)
        .env("REDACTCTL_TODAY", TODAY)
        .env_remove("STRIPE_API_KEY")
        .env_remove("STRIPE_API_BASE")
        .arg("--color=never");
    cmd
}

#[test]
fn validate_reports_unlawful_extensions_and_impossible_dates_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("requests.yaml"),
        "version: 1
account: {mode: test}
defaults:
  regulation: gdpr
  require_received: true
redactions:
  - name: dsr-late-notice
    received: 2026-01-31
    extension:
      until: 2026-04-30
      reason: several systems to search
      notified: 2026-03-01
    objects: {customers: [cus_1]}
  - name: dsr-no-date
    objects: {customers: [cus_2]}
  - name: dsr-future
    regulation: ccpa
    received: 2026-03-11
    objects: {customers: [cus_3]}
  - name: dsr-lgpd-extended
    regulation: lgpd
    received: 2026-03-01
    extension: {until: 2026-03-30, reason: backlog, notified: 2026-03-02}
    objects: {customers: [cus_4]}
  - name: dsr-bad-day
    received: 2026-02-29
    objects: {customers: [cus_5]}
",
    )
    .unwrap();
    let out = redactctl(dir.path())
        .args(["validate", "requests.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(String::from_utf8(out.stderr).unwrap());
}

#[test]
fn validate_accepts_lawful_deadlines() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("requests.yaml"),
        "version: 1
account: {mode: test}
defaults: {regulation: ccpa, require_received: true}
redactions:
  - name: dsr-extended
    received: 2026-01-01
    extension: {until: 2026-04-01, reason: several systems to search, notified: 2026-02-15}
    objects: {customers: [cus_1]}
  - name: dsr-gdpr-month-end
    regulation: gdpr
    received: 2026-01-31
    extension: {until: 2026-04-28, reason: complex request, notified: 2026-02-28}
    objects: {customers: [cus_2]}
  - name: dsr-custom
    regulation: custom
    received: 2026-03-01
    due: 2026-06-01
    objects: {customers: [cus_3]}
",
    )
    .unwrap();
    let out = redactctl(dir.path())
        .args(["validate", "requests.yaml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn a_malformed_today_override_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("m.yaml"),
        "version: 1\naccount: {mode: test}\nredactions: []\n",
    )
    .unwrap();
    let out = redactctl(dir.path())
        .env("REDACTCTL_TODAY", "2026-02-30")
        .args(["validate", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("REDACTCTL_TODAY"), "{stderr}");
}

mod against_the_emulator {
    use super::TODAY;
    use crate::common::{text, Emu, Workdir};

    /// On 2026-03-10: one request 10 days overdue, one due tomorrow, one extended to May,
    /// one without a deadline.
    const MANIFEST: &str = "version: 1
account: {mode: test}
redactions:
  - name: dsr-extended
    ticket: DSR-3
    regulation: gdpr
    received: 2026-02-01
    extension: {until: 2026-05-01, reason: several systems to search, notified: 2026-02-20}
    objects: {customers: [cus_D3]}
  - name: dsr-no-deadline
    objects: {customers: [cus_D4]}
  - name: dsr-overdue
    ticket: DSR-1
    regulation: gdpr
    received: 2026-01-31
    objects: {customers: [cus_D1]}
  - name: dsr-soon
    ticket: DSR-2
    regulation: ccpa
    received: 2026-01-25
    objects: {customers: [cus_D2]}
";

    fn setup() -> (Emu, Workdir) {
        let emu = Emu::instant();
        let wd = Workdir::new();
        wd.write("m.yaml", MANIFEST);
        (emu, wd)
    }

    fn run(wd: &Workdir, emu: &Emu, args: &[&str]) -> (Option<i32>, String, String) {
        let out = wd
            .cmd(emu)
            .env("REDACTCTL_TODAY", TODAY)
            .args(args)
            .output()
            .unwrap();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    }

    #[test]
    fn plan_shows_due_dates_and_puts_late_requests_first() {
        let (emu, wd) = setup();
        let (code, human, stderr) = run(&wd, &emu, &["plan", "m.yaml"]);
        assert_eq!(code, Some(0), "{stderr}");
        insta::assert_snapshot!("plan_human", crate::common::scrub_base(&human, &emu));
        let (_, markdown, _) = run(&wd, &emu, &["plan", "--format", "markdown", "m.yaml"]);
        insta::assert_snapshot!("plan_markdown", crate::common::scrub_base(&markdown, &emu));
        let (_, json, _) = run(&wd, &emu, &["plan", "--format", "json", "m.yaml"]);
        let plan: serde_json::Value = serde_json::from_str(&json).unwrap();
        let entry = |name: &str| {
            plan["entries"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == name)
                .unwrap()
                .clone()
        };
        let overdue = entry("dsr-overdue");
        assert_eq!(overdue["deadline"]["due"], "2026-02-28");
        assert_eq!(overdue["deadline"]["days_left"], -10);
        assert_eq!(overdue["deadline"]["urgency"], "overdue");
        assert_eq!(overdue["deadline"]["as_of"], TODAY);
        let extended = entry("dsr-extended");
        assert_eq!(extended["deadline"]["due"], "2026-05-01");
        assert_eq!(extended["deadline"]["extended_from"], "2026-03-01");
        assert_eq!(extended["deadline"]["urgency"], "on_track");
        assert_eq!(entry("dsr-soon")["deadline"]["urgency"], "due_soon");
        assert!(entry("dsr-no-deadline").get("deadline").is_none());
    }

    #[test]
    fn status_shows_due_dates_and_fail_on_gives_exit_6() {
        let (emu, wd) = setup();
        let (code, human, stderr) = run(&wd, &emu, &["status", "m.yaml"]);
        assert_eq!(code, Some(0), "{stderr}");
        insta::assert_snapshot!("status_human", human);

        let (_, json, _) = run(&wd, &emu, &["status", "--format", "json", "m.yaml"]);
        let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(rows[2]["name"], "dsr-overdue");
        assert_eq!(rows[2]["deadline"]["days_left"], -10);
        assert_eq!(rows[3]["deadline"]["due"], "2026-03-11");
        assert!(rows[1].get("deadline").is_none());

        let (code, _, stderr) = run(&wd, &emu, &["status", "--fail-on", "overdue", "m.yaml"]);
        assert_eq!(code, Some(6), "{stderr}");
        assert!(
            stderr.contains("dsr-overdue") && !stderr.contains("dsr-soon"),
            "{stderr}"
        );

        let (code, _, stderr) = run(
            &wd,
            &emu,
            &["status", "--fail-on", "due-within=7d", "m.yaml"],
        );
        assert_eq!(code, Some(6), "{stderr}");
        assert!(stderr.contains("dsr-overdue, dsr-soon"), "{stderr}");
        assert!(!stderr.contains("dsr-extended"), "{stderr}");

        let (code, _, stderr) = run(&wd, &emu, &["status", "--fail-on", "soon", "m.yaml"]);
        assert_eq!(code, Some(2), "a bad condition is a usage error: {stderr}");
    }

    #[test]
    fn a_redacted_request_no_longer_counts_as_overdue() {
        let (emu, wd) = setup();
        let out = wd
            .apply_wait(&emu)
            .env("REDACTCTL_TODAY", TODAY)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let (code, human, stderr) = run(&wd, &emu, &["status", "--fail-on", "overdue", "m.yaml"]);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(human.contains("2026-02-28 (done)"), "{human}");
        assert!(!human.contains("OVERDUE"), "{human}");
    }
}

#[test]
fn the_library_loader_judges_future_dates_against_the_day_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.yaml");
    fs::write(
        &path,
        "version: 1
account: {mode: test}
redactions:
  - name: dsr-1
    regulation: lgpd
    received: 2026-03-11
    objects: {customers: [cus_1]}
",
    )
    .unwrap();
    let paths = [path];
    let day = |s: &str| Some(s.parse::<redactctl::deadline::Date>().unwrap());
    let refused = redactctl::manifest::load_as_of(&paths, day("2026-03-10")).unwrap_err();
    assert!(refused.to_string().contains("in the future"), "{refused}");
    let loaded = redactctl::manifest::load_as_of(&paths, day("2026-03-11")).unwrap();
    let spec = &loaded.desired.entries[0].deadline;
    let due = redactctl::deadline::deadline(spec).unwrap().effective_due();
    assert_eq!(due.to_string(), "2026-03-26");
}
