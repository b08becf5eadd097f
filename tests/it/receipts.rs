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
        "version: 1\naccount:\n  mode: test\nredactions:\n  - name: dsr-blocked\n    ticket: DSR-2\n    objects:\n      customers: [cus_blocked]\n  - name: dsr-canceled\n    ticket: DSR-3\n    state: {canceled_state}\n    objects:\n      customers: [cus_canceled]\n  - name: dsr-done\n    ticket: DSR-1\n    objects:\n      customers: [cus_done]\n"
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
        } else {
            None
        };
        match kind {
            // Times and timestamps depend on when each step fell within its second: one
            // placeholder for all of them keeps snapshots stable.
            Some(kind @ ("TIME" | "UNIX")) => {
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

fn run(wd: &Workdir, emu: &Emu, args: &[&str]) -> String {
    let out = wd.cmd(emu).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
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

    insta::assert_snapshot!("report_json", stable(&json));
    insta::assert_snapshot!(
        "report_markdown",
        stable(&run(
            &wd,
            &emu,
            &["report", "--format", "markdown", "m.yaml"]
        ))
    );
    insta::assert_snapshot!(
        "report_csv",
        stable(&run(&wd, &emu, &["report", "--format", "csv", "m.yaml"]))
    );
    insta::assert_snapshot!("status_json", stable(&status));
    insta::assert_snapshot!(
        "status_human",
        stable(&run(&wd, &emu, &["status", "m.yaml"]))
    );
}

#[test]
fn the_placeholders_number_ids_in_order() {
    assert_eq!(
        stable("prj_9 then req_x, prj_9 and prj_2 at 2026-11-27T09:00:00Z: (1764234000) ::"),
        "[JOB_1] then [REQ_1], [JOB_1] and [JOB_2] at [TIME]: ([UNIX]) ::"
    );
}
