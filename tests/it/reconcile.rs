//! The reconcile loop: several passes against the emulator with delays, a manifest edited
//! between passes, webhook triggers (genuine, forged, replayed, stale), and SIGTERM.

use crate::common::every_id_exists;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::{manifest, Emu, Workdir, TEST_KEY};
use redactctl::emulator::{Config, WebhookTarget};
use redactctl::reconcile::signature;
use serde_json::Value;

const SECRET: &str = "whsec_reconcile_test";

fn spawn_reconcile(emu: &Emu, wd: &Workdir, extra: &[&str]) -> (Child, mpsc::Receiver<Value>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_redactctl"))
        .current_dir(wd.path())
        .env("STRIPE_API_KEY", TEST_KEY)
        .env("STRIPE_API_BASE", &emu.base)
        .env("STRIPE_WEBHOOK_SECRET", SECRET)
        .env("NO_COLOR", "1")
        .args(["reconcile", "--auto-approve"])
        .args(extra)
        .arg("m.yaml")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if tx.send(v).is_err() {
                    break;
                }
            }
        }
    });
    (child, rx)
}

fn sigterm(child: &mut Child) -> Option<i32> {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("reconcile did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn next_pass(rx: &mpsc::Receiver<Value>) -> Value {
    rx.recv_timeout(Duration::from_secs(60))
        .expect("a pass line within 60 s")
}

#[test]
fn passes_converge_a_manifest_edited_between_them() {
    let emu = Emu::start(Config {
        validation_delay: Duration::from_millis(300),
        redaction_delay: Duration::from_millis(300),
        ..every_id_exists()
    });
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("first", "      customers: [cus_R1]\n", ""),
    );
    let (mut child, rx) = spawn_reconcile(&emu, &wd, &["--interval", "1s"]);
    let first = next_pass(&rx);
    assert_eq!(first["pass"], 1);
    assert_eq!(first["trigger"], "start");
    assert!(first["error"].is_null(), "{first}");
    // Edit the manifests while the loop runs: a second entry appears.
    wd.write(
        "m.yaml",
        "version: 1\naccount:\n  mode: test\nredactions:\n  - name: first\n    ticket: DSR-1\n    objects:\n      customers: [cus_R1]\n  - name: second\n    objects:\n      customers: [cus_R2]\n",
    );
    let mut last = first;
    let mut passes = 1;
    while passes < 3 || last["converged"] != 2 {
        last = next_pass(&rx);
        passes += 1;
        assert!(passes < 40, "no convergence after 40 passes: {last}");
    }
    assert_eq!(last["entries"], 2);
    assert_eq!(sigterm(&mut child), Some(0));
    let statuses: Vec<String> = emu
        .jobs()
        .iter()
        .map(|j| j["status"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(statuses, ["succeeded", "succeeded"]);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn signed_webhooks_trigger_a_pass_and_bad_ones_are_rejected() {
    let port = free_port();
    let emu = Emu::start(Config {
        validation_delay: Duration::from_millis(500),
        redaction_delay: Duration::from_millis(500),
        webhook: Some(WebhookTarget {
            url: format!("http://127.0.0.1:{port}/webhooks"),
            secret: SECRET.to_string(),
        }),
        ..every_id_exists()
    });
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("hooked", "      customers: [cus_W1]\n", ""),
    );
    let listen = format!("127.0.0.1:{port}");
    let (mut child, rx) = spawn_reconcile(&emu, &wd, &["--interval", "1h", "--listen", &listen]);
    assert_eq!(next_pass(&rx)["trigger"], "start");
    // The interval is an hour: only the emulator's webhooks can start the next passes.
    let second = next_pass(&rx);
    assert_eq!(second["trigger"], "webhook", "{second}");

    // Forged, stale and replayed deliveries.
    let url = format!("http://{listen}/webhooks");
    let body = r#"{"id":"evt_test_1","object":"event","type":"privacy.redaction_job.ready","data":{"object":{}}}"#;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let send = |sig: String| -> u16 {
        rt.block_on(async {
            reqwest::Client::new()
                .post(&url)
                .header("Stripe-Signature", sig)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };
    assert_eq!(
        send(signature::sign(body.as_bytes(), b"whsec_forged", now)),
        400
    );
    assert_eq!(
        send(signature::sign(
            body.as_bytes(),
            SECRET.as_bytes(),
            now - 3600
        )),
        400
    );
    let good = signature::sign(body.as_bytes(), SECRET.as_bytes(), now);
    assert_eq!(send(good.clone()), 200);
    assert_eq!(send(good), 200, "a replay is acknowledged");
    assert_eq!(sigterm(&mut child), Some(0));
}

#[test]
fn reconcile_requires_auto_approve() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write("m.yaml", &manifest("x", "      customers: [cus_X1]\n", ""));
    let out = Command::new(env!("CARGO_BIN_EXE_redactctl"))
        .current_dir(wd.path())
        .env("STRIPE_API_KEY", TEST_KEY)
        .env("STRIPE_API_BASE", &emu.base)
        .args(["reconcile", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--auto-approve"));
    assert_eq!(emu.stats().total, 0);
}
