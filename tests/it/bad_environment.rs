//! A hostile environment: each case is one clear error line, exit 1, and no partial plan
//! file.

use std::time::Duration;

use crate::common::{manifest, text, Emu, Workdir, TEST_KEY};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Router;

/// Serves `answer` to every request on 127.0.0.1:0, on a runtime of its own.
struct FakeServer {
    _rt: tokio::runtime::Runtime,
    base: String,
}

fn fake<F>(answer: F) -> FakeServer
where
    F: Fn() -> axum::response::Response + Clone + Send + Sync + 'static,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let base = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().fallback(move || {
            let answer = answer.clone();
            async move { answer() }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    });
    FakeServer { _rt: rt, base }
}

fn plan_against(base: &str) -> (std::process::Output, Workdir) {
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-1", "      customers: [cus_1]\n", ""),
    );
    let out = assert_cmd::Command::cargo_bin("redactctl")
        .unwrap()
        .current_dir(wd.path())
        .env("STRIPE_API_KEY", TEST_KEY)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .args(["plan", "--out", "p.json", "--api-base", base, "m.yaml"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    (out, wd)
}

fn assert_one_line_error(out: &std::process::Output, wd: &Workdir, needle: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "exactly one error line:\n{stderr}");
    // The error line says what failed; its `Caused by:` lines say why.
    let chain: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.starts_with("error"))
        .take_while(|l| l.starts_with("error") || l.starts_with("Caused by: "))
        .collect();
    assert!(
        chain.iter().any(|l| l.to_lowercase().contains(needle)),
        "`{needle}` in: {chain:?}"
    );
    assert!(!stderr.contains(TEST_KEY));
    assert!(!wd.path().join("p.json").exists(), "no plan file");
    let leftovers: Vec<_> = std::fs::read_dir(wd.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "m.yaml" && n != ".redactctl")
        .collect();
    assert!(leftovers.is_empty(), "partial files: {leftovers:?}");
}

#[test]
fn an_unreachable_api_base_is_one_error() {
    // Bind then drop: the port is closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (out, wd) = plan_against(&format!("http://127.0.0.1:{port}"));
    assert_one_line_error(&out, &wd, "connect");
}

#[test]
fn a_tls_failure_is_one_error() {
    // A plain-HTTP server spoken to over https: the handshake fails.
    let server = fake(|| "hello".into_response());
    let base = server.base.replace("http://", "https://");
    let (out, wd) = plan_against(&base);
    assert_one_line_error(&out, &wd, "");
}

#[test]
fn an_html_answer_is_one_error() {
    let server = fake(|| {
        (
            StatusCode::OK,
            [("content-type", "text/html")],
            "<html><body>Bad gateway</body></html>",
        )
            .into_response()
    });
    let (out, wd) = plan_against(&server.base);
    assert_one_line_error(&out, &wd, "");
}

#[test]
fn truncated_json_is_one_error() {
    let server = fake(|| {
        (
            StatusCode::OK,
            [("content-type", "application/json")],
            "{\"object\": \"list\", \"data\": [{\"id\": \"prj_",
        )
            .into_response()
    });
    let (out, wd) = plan_against(&server.base);
    assert_one_line_error(&out, &wd, "");
}

#[test]
fn a_401_is_one_error_naming_no_key() {
    let server = fake(|| {
        (
            StatusCode::UNAUTHORIZED,
            [("content-type", "application/json")],
            r#"{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****6789"}}"#,
        )
            .into_response()
    });
    let (out, wd) = plan_against(&server.base);
    assert_one_line_error(&out, &wd, "401");
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_for_the_audit_log_stops_apply_with_one_error() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-1", "      customers: [cus_1]\n", ""),
    );
    let out = wd
        .cmd(&emu)
        .args([
            "apply",
            "--auto-approve",
            "--audit-log",
            "/dev/full",
            "m.yaml",
        ])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("audit log"), "{stderr}");
    // The log is probed before the first write: nothing was sent without a record.
    assert_eq!(emu.writes(), 0, "apply wrote to Stripe without a record");
    assert_eq!(emu.stats().total, 0, "the log is probed before any request");
}
