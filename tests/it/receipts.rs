//! Receipts and status agree with the planner: one classification of each entry. A
//! canceled entry, a blocked one and a redacted one each read the same in `status` and in
//! every receipt format (snapshots, with ids and times replaced by stable placeholders).

use redactctl::emulator::{Config, Fixtures};

use crate::common::{text, Emu, Workdir};

const FIXTURES: &str = r#"
objects:
  - id: cus_blocked
    related: [pi_open]
  - id: pi_open
    state: requires_payment_method
  - id: cus_canceled
  - id: cus_done
"#;

fn manifest(canceled_state: &str) -> String {
    format!(
        "version: 1\naccount:\n  mode: test\nredactions:\n  - name: dsr-blocked\n    ticket: DSR-2\n    objects:\n      customers: [cus_blocked]\n  - name: dsr-canceled\n    ticket: DSR-3\n    state: {canceled_state}\n    objects:\n      customers: [cus_canceled]\n  - name: dsr-done\n    ticket: DSR-1\n    regulation: gdpr\n    received: 2020-01-06\n    extension:\n      until: 2020-03-06\n      reason: several systems to search\n      notified: 2020-01-20\n    objects:\n      customers: [cus_done]\n"
    )
}

/// Replaces what changes from run to run: job and request ids with numbered placeholders
/// (in order of first appearance), times and Unix timestamps with `[TIME]` and `[UNIX]`.
pub fn stable(s: &str) -> String {
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut out = String::new();
    let mut rest = s;
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ':';
    while let Some(c) = rest.chars().next() {
        if !is_word(c) {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let end = rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
        // A trailing colon (`at TIME: ok`) is punctuation, not part of the word.
        let word = match rest[..end].trim_end_matches(':') {
            "" => &rest[..end],
            trimmed => trimmed,
        };
        rest = &rest[word.len()..];
        let kind = if word.starts_with("prj_") {
            Some("JOB")
        } else if word.starts_with("req_") {
            Some("REQ")
        } else if word.len() >= 20 && word.starts_with("20") && word.ends_with('Z') {
            Some("TIME")
        } else if word.len() == 10 && word.chars().all(|c| c.is_ascii_digit()) {
            Some("UNIX")
        } else if word.len() == 64 && word.chars().all(|c| c.is_ascii_hexdigit()) {
            Some("SHA256")
        } else {
            None
        };
        match kind {
            // Times and timestamps depend on when each step fell within its second: one
            // placeholder for all of them keeps snapshots stable.
            // Digests cover lines holding times, so they change with them.
            Some(kind @ ("TIME" | "UNIX" | "SHA256")) => {
                out.push('[');
                out.push_str(kind);
                out.push(']');
            }
            Some(kind) => {
                let n = seen.iter().filter(|(_, k)| k.starts_with(kind)).count();
                let label = match seen.iter().find(|(w, _)| w == word) {
                    Some((_, label)) => label.clone(),
                    None => {
                        let label = format!("{kind}_{}", n + 1);
                        seen.push((word.to_string(), label.clone()));
                        label
                    }
                };
                out.push('[');
                out.push_str(&label);
                out.push(']');
            }
            None => out.push_str(word),
        }
    }
    out
}

fn scenario() -> (Emu, Workdir) {
    let fixtures: Fixtures = serde_yaml::from_str(FIXTURES).unwrap();
    let emu = Emu::start(Config {
        fixtures: Some(fixtures),
        ..Config::default()
    });
    let wd = Workdir::new();
    // First the canceled entry is only validated (its job exists), then canceled.
    wd.write("m.yaml", &manifest("validated"));
    wd.apply_wait(&emu).output().unwrap();
    wd.write("m.yaml", &manifest("canceled"));
    let out = wd.apply_wait(&emu).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    (emu, wd)
}

/// The commit CI names in these tests (as `GITHUB_SHA`).
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// `redactctl` in the workdir, with CI's commit variable set as CI sets it, and a fixed
/// "today" for the days left that `status` shows.
fn cmd(wd: &Workdir, emu: &Emu) -> assert_cmd::Command {
    let mut cmd = wd.cmd(emu);
    cmd.env("GITHUB_SHA", COMMIT)
        .env_remove("CI_COMMIT_SHA")
        .env("REDACTCTL_TODAY", "2026-06-01");
    cmd
}

fn run(wd: &Workdir, emu: &Emu, args: &[&str]) -> String {
    let out = cmd(wd, emu).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// What snapshots hold: stable placeholders, day counts included.
fn snap(s: &str) -> String {
    stable(&scrub_days(s))
}

/// How many days late a request completed grows with the calendar (the receipts' requests
/// were received in 2020): `[DAYS]` in place of the count after `"days_late": ` and
/// `late (`.
fn scrub_days(s: &str) -> String {
    let mut out = s.to_string();
    for prefix in ["\"days_late\": ", "late ("] {
        let mut done = String::new();
        let mut rest = out.as_str();
        while let Some(i) = rest.find(prefix) {
            let start = i + prefix.len();
            done.push_str(&rest[..start]);
            let digits = rest[start..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len() - start);
            if digits > 0 {
                done.push_str("[DAYS]");
            }
            rest = &rest[start + digits..];
        }
        done.push_str(rest);
        out = done;
    }
    out
}

#[test]
fn receipts_and_status_use_the_planners_classification() {
    let (emu, wd) = scenario();
    let json = run(&wd, &emu, &["report", "--format", "json", "m.yaml"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let states: Vec<(&str, &str)> = v["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["entry"].as_str().unwrap(), r["state"].as_str().unwrap()))
        .collect();
    // Neither the canceled nor the blocked entry is "in progress".
    assert_eq!(
        states,
        [
            ("dsr-blocked", "blocked"),
            ("dsr-canceled", "converged"),
            ("dsr-done", "converged")
        ]
    );
    let status = run(&wd, &emu, &["status", "--format", "json", "m.yaml"]);
    let s: serde_json::Value = serde_json::from_str(&status).unwrap();
    let status_states: Vec<(&str, &str)> = s
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["state"].as_str().unwrap()))
        .collect();
    assert_eq!(status_states, states, "status and receipts agree");

    insta::assert_snapshot!("report_json", snap(&json));
    insta::assert_snapshot!(
        "report_markdown",
        snap(&run(
            &wd,
            &emu,
            &["report", "--format", "markdown", "m.yaml"]
        ))
    );
    insta::assert_snapshot!(
        "report_csv",
        snap(&run(&wd, &emu, &["report", "--format", "csv", "m.yaml"]))
    );
    insta::assert_snapshot!(
        "report_html",
        snap(&run(&wd, &emu, &["report", "--format", "html", "m.yaml"]))
    );
    insta::assert_snapshot!("status_json", snap(&status));
    insta::assert_snapshot!("status_human", snap(&run(&wd, &emu, &["status", "m.yaml"])));
}

#[test]
fn day_counts_that_grow_with_the_calendar_are_replaced() {
    assert_eq!(
        scrub_days("\"days_late\": 2400, completed late (12 days after 2020-03-06), \"days_late\": 0"),
        "\"days_late\": [DAYS], completed late ([DAYS] days after 2020-03-06), \"days_late\": [DAYS]"
    );
}

#[test]
fn the_placeholders_number_ids_in_order() {
    assert_eq!(
        stable("prj_9 then req_x, prj_9 and prj_2 at 2026-11-27T09:00:00Z: (1764234000) ::"),
        "[JOB_1] then [REQ_1], [JOB_1] and [JOB_2] at [TIME]: ([UNIX]) ::"
    );
}

#[test]
fn a_receipt_says_when_the_request_was_due_and_that_it_was_completed_late() {
    let (emu, wd) = scenario();
    let json = run(&wd, &emu, &["report", "--format", "json", "m.yaml"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["commit"], COMMIT, "the manifests' commit comes from CI");
    assert_eq!(v["mode"], "test");
    let done = &v["receipts"][2];
    assert_eq!(done["entry"], "dsr-done");
    assert_eq!(done["certified"], true);
    assert_eq!(done["deadline"]["regulation"], "gdpr");
    assert_eq!(done["deadline"]["received"], "2020-01-06");
    assert_eq!(done["deadline"]["due"], "2020-02-06");
    assert_eq!(done["deadline"]["extension"]["until"], "2020-03-06");
    let completion = &done["completion"];
    assert_eq!(
        completion["due"], "2020-03-06",
        "the extension's date counts"
    );
    assert_eq!(completion["late"], true);
    assert_eq!(completion["job"], done["jobs"][0]["id"]);
    // Every record the receipt used is cited by the digest of its exact line.
    let log = wd.read(".redactctl/audit.jsonl");
    let cited = done["audit_records"].as_array().unwrap();
    assert!(!cited.is_empty());
    for digest in cited {
        let found = log.lines().any(|l| {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(l.as_bytes())) == digest.as_str().unwrap()
        });
        assert!(found, "{digest} is not the digest of a line of the log");
    }
    // The entries not completed have no completion.
    assert!(v["receipts"][0]["completion"].is_null());
}

#[test]
fn a_job_stripe_does_not_know_is_not_certified() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &crate::common::manifest("dsr-r", "      customers: [cus_R1]\n", ""),
    );
    wd.apply_wait(&emu).assert().code(0);
    // A record of a job that never existed at Stripe, appended to the log.
    let mut log = wd.read(".redactctl/audit.jsonl");
    log.push_str(
        r#"{"time":"2026-01-02T03:04:05Z","action":"run","entry":"dsr-r","job":"prj_forged","objects":[{"kind":"customers","id":"cus_R1"}],"idempotency_key":"k-forged","outcome":"ok","mode":"test"}"#,
    );
    log.push('\n');
    wd.write(".redactctl/audit.jsonl", &log);

    let out = cmd(&wd, &emu)
        .args(["report", "--format", "json", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not certified"),
        "{}",
        text(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v["receipts"][0];
    assert_eq!(r["certified"], false);
    let forged = r["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == "prj_forged")
        .expect("the recorded job is shown");
    assert_eq!(forged["confirmed"], false);
    assert!(
        forged["unconfirmed_reason"]
            .as_str()
            .unwrap()
            .contains("404"),
        "{forged}"
    );
    // The real job is still confirmed.
    assert!(r["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|j| j["id"] != "prj_forged" && j["confirmed"] == true));

    let out = cmd(&wd, &emu)
        .args(["report", "--format", "markdown", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let md = text(&out.stdout);
    assert!(
        md.contains("`prj_forged` — unknown, unconfirmed: Stripe does not know this job"),
        "{md}"
    );
}

/// Headless Chromium, when installed (`.ci/run` installs it).
const CHROMIUM: &str = "/usr/bin/chromium";

/// The text a reader sees in a page rendered by Chromium: its DOM after loading, tags
/// removed.
fn rendered_text(page: &std::path::Path) -> String {
    let out = std::process::Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dom = text(&out.stdout);
    let mut visible = String::new();
    let mut in_tag = false;
    let body = dom.split("<body").nth(1).unwrap_or(&dom);
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                visible.push(' ');
            }
            c if !in_tag => visible.push(c),
            _ => {}
        }
    }
    visible.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_html_receipt_reads_right_in_a_browser() {
    if !std::path::Path::new(CHROMIUM).exists() {
        eprintln!("skipped: {CHROMIUM} is not installed (`.ci/run` installs it)");
        return;
    }
    let (emu, wd) = scenario();
    let html = run(&wd, &emu, &["report", "--format", "html", "m.yaml"]);
    let page = wd.write("receipt.html", &html);
    let seen = rendered_text(&page);
    for expected in [
        "Ticket DSR-1",
        "Due 2020-02-06",
        "Date that counts 2020-03-06",
        "completed late",
        "Ticket DSR-2",
        "Ticket DSR-3",
    ] {
        assert!(seen.contains(expected), "{expected:?} not seen in: {seen}");
    }
    // The style sheet is not shown as text.
    assert!(!seen.contains("font-family"), "{seen}");
}

#[test]
fn fixes_and_approvers_the_audit_log_records_appear_on_every_receipt_format() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &crate::common::manifest("dsr-f", "      customers: [cus_F1]\n", ""),
    );
    wd.apply_wait(&emu).assert().code(0);
    let job = emu.jobs()[0]["id"].as_str().unwrap().to_string();
    // A record of the run as an apply that applied a fix writes it.
    let mut log = wd.read(".redactctl/audit.jsonl");
    log.push_str(&format!(
        r#"{{"time":"2026-01-02T03:04:05Z","action":"run","entry":"dsr-f","job":"{job}","objects":[],"idempotency_key":"k-fix","outcome":"ok","mode":"test","fixes":["cancel PaymentIntent pi_F1"],"approved_by":"ci:reviewer"}}"#
    ));
    log.push('\n');
    wd.write(".redactctl/audit.jsonl", &log);

    let json = run(&wd, &emu, &["report", "--format", "json", "m.yaml"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["receipts"][0]["fixes"][0], "cancel PaymentIntent pi_F1");
    let approvers = v["receipts"][0]["approved_by"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        approvers.iter().any(|a| a == "ci:reviewer"),
        "{approvers:?}"
    );
    assert!(
        approvers
            .iter()
            .any(|a| a == "test-approver (--auto-approve)"),
        "the apply's own records name who approved: {approvers:?}"
    );
    for format in ["markdown", "csv", "html"] {
        let out = run(&wd, &emu, &["report", "--format", format, "m.yaml"]);
        assert!(
            out.contains("cancel PaymentIntent pi_F1"),
            "{format}: {out}"
        );
        assert!(out.contains("ci:reviewer"), "{format}: {out}");
    }
}

#[test]
fn without_ci_variables_the_commit_is_the_manifests_git_head() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &crate::common::manifest("dsr-g", "      customers: [cus_G1]\n", ""),
    );
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .current_dir(wd.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .output()
    };
    let committed = git(&["init", "-q"]).is_ok_and(|o| o.status.success())
        && git(&["add", "m.yaml"]).is_ok_and(|o| o.status.success())
        && git(&["commit", "-q", "-m", "m"]).is_ok_and(|o| o.status.success());
    if !committed {
        eprintln!("skipped: git is not usable here");
        return;
    }
    let head = git(&["rev-parse", "HEAD"]).unwrap();
    let head = text(&head.stdout).trim().to_string();
    let out = wd
        .cmd(&emu)
        .env_remove("GITHUB_SHA")
        .env_remove("CI_COMMIT_SHA")
        .args(["report", "--format", "json", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["commit"], head.as_str());
}
