//! `redactctl emulator serve` as a user runs it: the startup line, serving requests,
//! a clean stop on SIGTERM that leaves the state file written.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[cfg(unix)]
#[tokio::test]
async fn serve_prints_where_it_listens_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let fixtures = dir.path().join("fixtures.yaml");
    std::fs::write(
        &fixtures,
        "objects:\n  - {id: pi_cli, state: requires_action}\n",
    )
    .unwrap();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("redactctl"))
        .args([
            "emulator",
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--validation-delay",
            "0s",
        ])
        .arg("--state")
        .arg(&state)
        .arg("--fixtures")
        .arg(&fixtures)
        .env_remove("STRIPE_WEBHOOK_SECRET")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(
        line.starts_with("emulator listening on http://127.0.0.1:"),
        "{line}"
    );
    assert!(line.contains("sk_test_"), "{line}");
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_string();

    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{base}/v1/privacy/redaction_jobs"))
        .bearer_auth("sk_test_cli")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("objects[payment_intents][]=pi_cli")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let job: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    // The fixtures were loaded: the PaymentIntent is not finalized.
    let resp = client
        .get(format!("{base}/v1/privacy/redaction_jobs/{id}"))
        .bearer_auth("sk_test_cli")
        .send()
        .await
        .unwrap();
    let job: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(job["status"], "failed");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    let mut rest = String::new();
    for l in stderr.lines() {
        rest.push_str(&l.unwrap());
        rest.push('\n');
    }
    assert!(rest.contains("shutting down"), "{rest}");
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(saved.contains(&id), "the state file holds the job");
    assert!(!saved.contains("sk_test_cli"), "the key is never written");
}

#[test]
fn a_corrupt_state_file_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(&state, "garbage").unwrap();
    let out = Command::new(assert_cmd::cargo::cargo_bin("redactctl"))
        .args(["emulator", "serve", "--addr", "127.0.0.1:0"])
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("corrupt") && err.contains("state.json"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&state).unwrap(), "garbage");
}
