//! The promises the CI guide makes about the example workflows, checked on the files users
//! copy: no write key reachable from a pull request, merge applies the saved plan and never
//! re-plans, every action and the tool pinned, least privilege, one apply at a time, a plan
//! comment that fits GitHub's limit, the audit log kept. (`actionlint` in `.ci/run` checks
//! that the files are valid workflows; this checks what they do.)

use std::path::PathBuf;

use serde_yaml::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(rel: &str) -> (String, Value) {
    let text = std::fs::read_to_string(root().join(rel)).expect("the workflow exists");
    let yaml = serde_yaml::from_str(&text).expect("the workflow is YAML");
    (text, yaml)
}

const EXAMPLES: &[&str] = &[
    "examples/ci/github/redactctl-plan.yml",
    "examples/ci/github/redactctl-apply.yml",
    "examples/ci/github/redactctl-converge.yml",
    "examples/ci/github/redactctl-audit.yml",
];

const OURS: &[&str] = &[".github/workflows/ci.yml", ".github/workflows/release.yml"];

fn jobs(wf: &Value) -> Vec<(String, &Value)> {
    wf["jobs"]
        .as_mapping()
        .expect("jobs")
        .iter()
        .map(|(k, v)| (k.as_str().expect("job id").to_string(), v))
        .collect()
}

/// Every `uses:` value in a document, wherever it stands.
fn uses(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, v) in m {
                if k.as_str() == Some("uses") {
                    if let Some(s) = v.as_str() {
                        out.push(s.to_string());
                    }
                }
                uses(v, out);
            }
        }
        Value::Sequence(s) => s.iter().for_each(|v| uses(v, out)),
        _ => {}
    }
}

/// The `run:` scripts of a job, joined.
fn scripts(job: &Value) -> String {
    job["steps"]
        .as_sequence()
        .map(|steps| {
            steps
                .iter()
                .filter_map(|s| s["run"].as_str().or_else(|| s["with"]["args"].as_str()))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn is_sha_pinned(reference: &str) -> bool {
    let Some((_, rev)) = reference.split_once('@') else {
        return false;
    };
    rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit())
}

#[test]
fn every_action_is_pinned_by_commit_sha() {
    let mut unpinned = Vec::new();
    for rel in EXAMPLES.iter().chain(OURS).chain(&["action.yml"]) {
        let (_, wf) = load(rel);
        let mut all = Vec::new();
        uses(&wf, &mut all);
        for u in all {
            if !u.starts_with("./") && !is_sha_pinned(&u) {
                unpinned.push(format!("{rel}: {u}"));
            }
        }
    }
    assert!(
        unpinned.is_empty(),
        "not pinned by commit SHA:\n{}",
        unpinned.join("\n")
    );
}

#[test]
fn the_tool_is_pinned_by_version_and_checksum_never_built_from_a_branch() {
    for rel in EXAMPLES {
        let (text, wf) = load(rel);
        assert!(
            !text.contains("cargo install"),
            "{rel} builds the tool instead of installing a release"
        );
        if text.contains("redactctl/redactctl@") {
            let version = wf["env"]["REDACTCTL_VERSION"]
                .as_str()
                .expect("REDACTCTL_VERSION");
            assert!(version.split('.').count() == 3, "{rel}: version {version}");
            let sha = wf["env"]["REDACTCTL_SHA256"]
                .as_str()
                .expect("REDACTCTL_SHA256");
            assert!(
                sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                "{rel}: {sha}"
            );
        }
    }
    let (action, _) = load("action.yml");
    assert!(
        action.contains("checksum mismatch"),
        "the action verifies the archive"
    );
}

#[test]
fn every_workflow_starts_with_no_permissions_and_each_job_asks_for_its_own() {
    for rel in EXAMPLES.iter().chain(OURS) {
        let (_, wf) = load(rel);
        assert_eq!(
            wf["permissions"].as_mapping().map(|m| m.len()),
            Some(0),
            "{rel}: top-level `permissions: {{}}`"
        );
        for (id, job) in jobs(&wf) {
            assert!(
                job["permissions"].is_mapping(),
                "{rel}: job `{id}` declares its permissions"
            );
        }
    }
}

#[test]
fn no_write_key_is_reachable_from_a_pull_request() {
    let (text, wf) = load("examples/ci/github/redactctl-plan.yml");
    assert!(wf["on"]["pull_request"].is_mapping());
    assert!(!text.contains("STRIPE_WRITE_KEY") && !text.contains("secrets.STRIPE_API_KEY"));
    assert!(
        !text.contains("pull_request_target"),
        "pull_request_target would run with secrets"
    );
    for (id, job) in jobs(&wf) {
        assert!(
            job["environment"].is_null(),
            "plan job `{id}` enters an environment"
        );
        let perms = job["permissions"].as_mapping().expect("permissions");
        for (scope, level) in perms {
            // The job that runs the pull request's files writes nothing.
            if level.as_str() == Some("write") {
                assert_eq!(scope.as_str(), Some("pull-requests"), "{id}: {scope:?}");
                assert!(
                    !job["steps"]
                        .as_sequence()
                        .expect("steps")
                        .iter()
                        .any(|s| s["uses"]
                            .as_str()
                            .is_some_and(|u| u.starts_with("actions/checkout"))),
                    "the job that may comment checks out no pull-request code"
                );
                assert!(
                    !scripts(job).contains("redactctl "),
                    "the commenting job runs no redactctl"
                );
            }
        }
    }
    // Everywhere else, the write key only ever comes from an environment.
    for rel in EXAMPLES {
        let (_, wf) = load(rel);
        for (id, job) in jobs(&wf) {
            let job_text = serde_yaml::to_string(job).expect("yaml");
            if job_text.contains("STRIPE_WRITE_KEY") {
                assert!(
                    job["environment"].is_string(),
                    "{rel}: job `{id}` reads the write key outside an environment"
                );
            }
        }
    }
}

#[test]
fn merge_applies_the_saved_plan_and_never_re_plans() {
    let (text, wf) = load("examples/ci/github/redactctl-apply.yml");
    let (_, apply) = jobs(&wf)
        .into_iter()
        .find(|(id, _)| id == "apply")
        .expect("apply job");
    assert_eq!(apply["environment"].as_str(), Some("stripe-apply"));
    let steps = apply["steps"].as_sequence().expect("steps");
    let commands: Vec<(&str, &str)> = steps
        .iter()
        .filter_map(|s| {
            Some((
                s["with"]["command"].as_str()?,
                s["with"]["args"].as_str().unwrap_or(""),
            ))
        })
        .collect();
    assert_eq!(commands.len(), 1, "{commands:?}");
    assert_eq!(commands[0].0, "apply");
    assert!(
        commands[0].1.starts_with("plan/plan.json "),
        "applies the downloaded plan file: {commands:?}"
    );
    assert!(
        !text.contains("--auto-approve"),
        "nothing applies an unreviewed plan"
    );
    assert!(!text.contains("command: plan"), "merge never re-plans");
    assert!(
        text.contains("gh run download"),
        "the plan comes from the plan run's artifact"
    );
    assert!(
        text.contains("stale plan"),
        "a stale plan gets instructions"
    );
}

#[test]
fn nothing_applies_manifests_directly() {
    for rel in EXAMPLES {
        let (text, _) = load(rel);
        assert!(!text.contains("--auto-approve"), "{rel}");
        assert!(!text.contains("apply redactions/"), "{rel}");
    }
}

#[test]
fn one_apply_at_a_time_and_plans_cancel_superseded_runs() {
    for rel in [
        "examples/ci/github/redactctl-apply.yml",
        "examples/ci/github/redactctl-converge.yml",
    ] {
        let (_, wf) = load(rel);
        assert_eq!(
            wf["concurrency"]["group"].as_str(),
            Some("redactctl-stripe-writes"),
            "{rel}"
        );
        assert_eq!(
            wf["concurrency"]["cancel-in-progress"].as_bool(),
            Some(false),
            "{rel}"
        );
    }
    let (_, wf) = load("examples/ci/github/redactctl-plan.yml");
    let group = wf["concurrency"]["group"].as_str().expect("group");
    assert!(group.contains("pull_request.number"), "{group}");
    assert_eq!(
        wf["concurrency"]["cancel-in-progress"].as_bool(),
        Some(true)
    );
}

#[test]
fn the_plan_comment_stays_under_githubs_limit_and_is_updated_in_place() {
    let (text, wf) = load("examples/ci/github/redactctl-plan.yml");
    let (_, plan) = jobs(&wf)
        .into_iter()
        .find(|(id, _)| id == "plan")
        .expect("plan job");
    let args = plan["steps"]
        .as_sequence()
        .expect("steps")
        .iter()
        .find(|s| s["with"]["command"].as_str() == Some("plan"))
        .and_then(|s| s["with"]["args"].as_str())
        .expect("a plan step");
    assert!(args.contains("--format markdown"), "{args}");
    // redactctl keeps the plan under the budget; the comment adds a marker and a footer.
    let budget: usize = args
        .split_whitespace()
        .skip_while(|a| *a != "--max-bytes")
        .nth(1)
        .expect("the plan step sets --max-bytes")
        .parse()
        .expect("a number");
    assert!(budget + 2_000 < 65_536, "{budget}");
    assert!(
        !text.contains("head -c") && !text.contains("budget="),
        "the plan is not cut in shell (that can split an entry or a code block)"
    );
    assert!(
        text.contains("--method PATCH"),
        "an existing comment is edited, not duplicated"
    );
    assert!(
        text.contains("upload-artifact"),
        "the whole plan is kept as an artifact"
    );
}

/// The steps of a job, by name.
fn step<'a>(job: &'a Value, name: &str) -> &'a Value {
    job["steps"]
        .as_sequence()
        .expect("steps")
        .iter()
        .find(|s| s["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("a step named {name:?}"))
}

fn job<'a>(wf: &'a Value, id: &str) -> &'a Value {
    let job = &wf["jobs"][id];
    assert!(job.is_mapping(), "a job `{id}`");
    job
}

/// A step whose failure must fail its job: no `continue-on-error`, no `|| true`, and a
/// script that stops at the first failing command, pipes included.
fn assert_fails_honestly(rel: &str, step: &Value) {
    let name = step["name"].as_str().unwrap_or("(unnamed)");
    assert!(
        step["continue-on-error"].is_null(),
        "{rel}: `{name}` hides its failure"
    );
    if let Some(script) = step["run"].as_str() {
        assert!(
            script.trim_start().starts_with("set -euo pipefail"),
            "{rel}: `{name}` does not stop at the first failure"
        );
        assert!(
            !script.contains("|| true") && !script.contains("|| :"),
            "{rel}: `{name}` swallows a failure"
        );
        assert!(
            !script.contains("| head"),
            "{rel}: `{name}`: `head` closing a pipe early can fail the step for nothing (SIGPIPE)"
        );
    }
    if step["uses"]
        .as_str()
        .is_some_and(|u| u.starts_with("actions/upload-artifact"))
    {
        assert_eq!(
            step["with"]["if-no-files-found"].as_str(),
            Some("error"),
            "{rel}: `{name}` succeeds with nothing uploaded"
        );
    }
}

#[test]
fn posting_the_comment_and_keeping_the_audit_log_fail_the_job_when_they_fail() {
    let rel = "examples/ci/github/redactctl-plan.yml";
    let (_, wf) = load(rel);
    assert_fails_honestly(
        rel,
        step(job(&wf, "comment"), "Post or update the plan comment"),
    );
    assert_fails_honestly(rel, step(job(&wf, "plan"), "Keep the saved plan"));

    for (rel, id) in [
        ("examples/ci/github/redactctl-apply.yml", "apply"),
        ("examples/ci/github/redactctl-converge.yml", "converge"),
    ] {
        let (_, wf) = load(rel);
        let j = job(&wf, id);
        assert_fails_honestly(rel, step(j, "Regenerate the receipts"));
        assert_fails_honestly(rel, step(j, "Keep the audit log for the recording job"));
        // The recording job is a job of this workflow: its failure turns the run red.
        assert!(job(&wf, "record")["continue-on-error"].is_null(), "{rel}");
    }
    let rel = "examples/ci/github/redactctl-audit.yml";
    let (text, wf) = load(rel);
    assert_fails_honestly(rel, step(job(&wf, "commit"), "Commit the audit log"));
    assert!(
        !text.contains("cp -n"),
        "{rel}: `cp -n` exits 0 or 1 on an existing file depending on the coreutils version"
    );
}

#[test]
fn no_step_or_job_of_the_examples_hides_a_failure() {
    for rel in EXAMPLES {
        let (_, wf) = load(rel);
        for (id, j) in jobs(&wf) {
            assert!(
                j["continue-on-error"].is_null(),
                "{rel}: job `{id}` hides its failure"
            );
            for s in j["steps"].as_sequence().into_iter().flatten() {
                assert!(
                    s["continue-on-error"].is_null(),
                    "{rel}: a step of `{id}` hides its failure"
                );
                // One-line commands fail on their own; longer scripts must stop at the first
                // failing command.
                if let Some(script) = s["run"].as_str().filter(|r| r.trim().lines().count() > 1) {
                    assert!(
                        script.trim_start().starts_with("set -euo pipefail"),
                        "{rel}: `{}` in `{id}`",
                        s["name"].as_str().unwrap_or("(unnamed)")
                    );
                }
            }
        }
    }
}

#[test]
fn every_apply_keeps_its_audit_log() {
    for rel in [
        "examples/ci/github/redactctl-apply.yml",
        "examples/ci/github/redactctl-converge.yml",
    ] {
        let (text, wf) = load(rel);
        assert!(
            text.contains("--audit-log .audit/audit.jsonl"),
            "{rel}: appends to the audit branch's log"
        );
        assert!(
            text.contains("redactctl report"),
            "{rel}: regenerates the receipts"
        );
        let record = jobs(&wf)
            .into_iter()
            .find(|(id, _)| id == "record")
            .map(|(_, j)| j.clone())
            .expect("a record job");
        assert_eq!(
            record["uses"].as_str(),
            Some("./.github/workflows/redactctl-audit.yml"),
            "{rel}"
        );
    }
    let (text, _) = load("examples/ci/github/redactctl-audit.yml");
    assert!(
        text.contains("cmp -s -n"),
        "the committed log is append-only"
    );
    assert!(
        !text.contains("STRIPE_"),
        "the recording job holds no Stripe key"
    );
}

#[test]
fn the_scheduled_run_treats_waiting_as_success_and_starts_nothing_new() {
    let (text, _) = load("examples/ci/github/redactctl-converge.yml");
    assert!(
        text.contains("ok-exit-codes: \"0 3 4\""),
        "3 and 4 are not failures on schedule"
    );
    assert!(text.contains("Keep only follow-ups of approved plans"));
    assert!(
        text.contains("gh issue create") && text.contains("gh issue edit"),
        "one issue, updated"
    );
}
