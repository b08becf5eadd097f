//! Idempotency keys against what Stripe really does: the same objects under two entry names
//! make one job; a keyed error that Stripe replays for 24 hours does not stick an entry;
//! a crash between sending and recording retries with the same key and duplicates nothing.
//!
//! Stripe's replay of errors is played by a small proxy in front of the emulator (the
//! emulator on this branch replays only successes): it answers the first `run` with a 400
//! and replays that 400 to every later request with the same key, as Stripe does.

use std::collections::{BTreeMap, HashMap};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use redactctl::emulator::Config;

use crate::common::{Emu, Workdir, TEST_KEY};

/// One POST the proxy saw: path, idempotency key, status answered.
#[derive(Debug, Clone)]
struct Post {
    path: String,
    key: String,
    status: u16,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    /// Answer the first `run` with a 400 (and replay it for its key).
    fail_first_run: Arc<AtomicBool>,
    /// Forward creates, then never answer (the client is killed meanwhile).
    hang_creates: Arc<AtomicBool>,
    creates_hung: Arc<AtomicUsize>,
    replay: Arc<Mutex<HashMap<String, (u16, String)>>>,
    posts: Arc<Mutex<Vec<Post>>>,
}

const RUN_400: &str = r#"{"error":{"type":"invalid_request_error","code":"invalid_state","message":"This job cannot be run while it is validating."}}"#;

async fn handle(
    State(p): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let is_post = method == Method::POST;
    if is_post {
        let saved = p.replay.lock().unwrap().get(&key).cloned();
        if let Some((status, body)) = saved {
            p.posts.lock().unwrap().push(Post { path, key, status });
            return (
                StatusCode::from_u16(status).unwrap(),
                [
                    ("content-type", "application/json"),
                    ("idempotent-replayed", "true"),
                    ("stripe-should-retry", "false"),
                ],
                body,
            )
                .into_response();
        }
        if path.ends_with("/run") && p.fail_first_run.swap(false, Ordering::SeqCst) {
            p.replay
                .lock()
                .unwrap()
                .insert(key.clone(), (400, RUN_400.to_string()));
            p.posts.lock().unwrap().push(Post {
                path,
                key,
                status: 400,
            });
            return (
                StatusCode::BAD_REQUEST,
                [("content-type", "application/json")],
                RUN_400,
            )
                .into_response();
        }
    }
    let target = format!(
        "{}{}",
        p.upstream,
        uri.path_and_query().map(|x| x.as_str()).unwrap_or("/")
    );
    let mut req = p.http.request(method, target).body(body.to_vec());
    for (name, value) in &headers {
        if name == "host" || name == "content-length" {
            continue;
        }
        req = req.header(name, value);
    }
    let Ok(resp) = req.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = resp.status().as_u16();
    let mut out = HeaderMap::new();
    for (name, value) in resp.headers() {
        if name == "content-length" || name == "transfer-encoding" || name == "connection" {
            continue;
        }
        out.insert(name.clone(), value.clone());
    }
    let bytes = resp.bytes().await.unwrap_or_default();
    if is_post {
        p.posts.lock().unwrap().push(Post {
            path: path.clone(),
            key,
            status,
        });
        if path == "/v1/privacy/redaction_jobs" && p.hang_creates.load(Ordering::SeqCst) {
            // The create reached Stripe; its answer never reaches the client.
            p.creates_hung.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<()>().await;
        }
    }
    (StatusCode::from_u16(status).unwrap(), out, bytes).into_response()
}

struct Running {
    _rt: tokio::runtime::Runtime,
    base: String,
    proxy: Proxy,
}

fn start_proxy(emu: &Emu) -> Running {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let proxy = Proxy {
        upstream: emu.base.clone(),
        http: reqwest::Client::new(),
        fail_first_run: Arc::new(AtomicBool::new(false)),
        hang_creates: Arc::new(AtomicBool::new(false)),
        creates_hung: Arc::new(AtomicUsize::new(0)),
        replay: Arc::new(Mutex::new(HashMap::new())),
        posts: Arc::new(Mutex::new(Vec::new())),
    };
    let app = Router::new().fallback(handle).with_state(proxy.clone());
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Running {
        _rt: rt,
        base,
        proxy,
    }
}

fn apply(wd: &Workdir, base: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_redactctl"));
    cmd.current_dir(wd.path())
        .env("STRIPE_API_KEY", TEST_KEY)
        .env("STRIPE_API_BASE", base)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .args(["-q", "apply", "--auto-approve", "--no-cache"])
        .args(extra)
        .arg("m.yaml")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Non-canceled jobs holding each customer, with their statuses.
fn holders(emu: &Emu) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for job in emu.jobs() {
        let status = job["status"].as_str().unwrap_or("").to_string();
        if status == "canceled" {
            continue;
        }
        for id in job["objects"]["customers"].as_array().into_iter().flatten() {
            out.entry(id.as_str().unwrap_or("").to_string())
                .or_default()
                .push(status.clone());
        }
    }
    out
}

fn audit_lines(wd: &Workdir) -> Vec<serde_json::Value> {
    wd.read(".redactctl/audit.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Stripe answered the run with a 400 and replays it for its key: the next attempt uses a
/// fresh key, so the entry converges instead of failing for a day.
#[test]
fn a_400_on_run_replayed_by_stripe_does_not_stick_the_entry() {
    let emu = Emu::instant();
    let proxy = start_proxy(&emu);
    proxy.proxy.fail_first_run.store(true, Ordering::SeqCst);
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        "version: 1\naccount:\n  mode: test\nredactions:\n  - name: dsr-1\n    objects:\n      customers: [cus_R1]\n",
    );
    let mut converged = false;
    for _ in 0..2 {
        let out = apply(&wd, &proxy.base, &["--wait=30s"]).output().unwrap();
        if out.status.code() == Some(0)
            && holders(&emu).get("cus_R1") == Some(&vec!["succeeded".to_string()])
        {
            converged = true;
            break;
        }
    }
    let posts = proxy.proxy.posts.lock().unwrap().clone();
    assert!(converged, "the entry is stuck: {posts:#?}");
    let runs: Vec<&Post> = posts.iter().filter(|p| p.path.ends_with("/run")).collect();
    assert_eq!(runs[0].status, 400, "{runs:#?}");
    let last = runs.last().unwrap();
    assert_eq!(last.status, 200, "{runs:#?}");
    assert_ne!(last.key, runs[0].key, "a fresh key after the error");
    // The audit log records the failed attempt and the next one, each written ahead.
    let lines = audit_lines(&wd);
    let run_outcomes: Vec<(String, u64)> = lines
        .iter()
        .filter(|l| l["action"] == "run" && l["outcome"] != "intent")
        .map(|l| {
            (
                l["outcome"]
                    .as_str()
                    .unwrap_or("")
                    .chars()
                    .take(5)
                    .collect(),
                l["attempt"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        run_outcomes,
        vec![("error".to_string(), 0), ("ok".to_string(), 1)]
    );
}

/// The process is killed after its create reached Stripe and before the answer (and the
/// outcome line) came back: the rerun sends the same key, Stripe replays, one job.
#[test]
fn a_crash_between_send_and_record_retries_with_the_same_key() {
    let emu = Emu::start(crate::common::every_id_exists());
    let proxy = start_proxy(&emu);
    proxy.proxy.hang_creates.store(true, Ordering::SeqCst);
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        "version: 1\naccount:\n  mode: test\nredactions:\n  - name: dsr-1\n    objects:\n      customers: [cus_K1]\n",
    );
    let mut child = apply(&wd, &proxy.base, &["--wait=30s"]).spawn().unwrap();
    let started = Instant::now();
    while proxy.proxy.creates_hung.load(Ordering::SeqCst) == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "no create");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Written ahead: the intent is there, the outcome is not.
    let lines = audit_lines(&wd);
    let creates: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["action"] == "create").collect();
    assert_eq!(creates.len(), 1, "{lines:#?}");
    assert_eq!(creates[0]["outcome"], "intent");
    assert_eq!(holders(&emu).get("cus_K1").map(Vec::len), Some(1));

    proxy.proxy.hang_creates.store(false, Ordering::SeqCst);
    let out = apply(&wd, &proxy.base, &["--wait=30s"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let posts = proxy.proxy.posts.lock().unwrap().clone();
    let create_keys: Vec<&str> = posts
        .iter()
        .filter(|p| p.path == "/v1/privacy/redaction_jobs")
        .map(|p| p.key.as_str())
        .collect();
    // Either the rerun saw the job and sent no create, or it sent the same key.
    assert!(
        create_keys.iter().all(|k| *k == create_keys[0]),
        "{create_keys:?}"
    );
    assert_eq!(
        holders(&emu).get("cus_K1"),
        Some(&vec!["succeeded".to_string()]),
        "one job, no duplicate"
    );
}

/// A rename in a pull request while the scheduled apply runs: the same objects under two
/// entry names, applied at once by two processes, make one job per object.
#[test]
fn two_applies_of_the_same_objects_under_different_names_make_one_job_each() {
    let n = 30;
    let emu = Emu::start(Config {
        validation_delay: Duration::from_millis(200),
        redaction_delay: Duration::from_millis(200),
        ..crate::common::every_id_exists()
    });
    let manifest = |prefix: &str| {
        let mut s = String::from("version: 1\naccount:\n  mode: test\nredactions:\n");
        for i in 0..n {
            s.push_str(&format!(
                "  - name: {prefix}-{i:03}\n    objects:\n      customers: [cus_N{i:03}]\n"
            ));
        }
        s
    };
    let (old, new) = (Workdir::new(), Workdir::new());
    old.write("m.yaml", &manifest("scheduled"));
    new.write("m.yaml", &manifest("renamed"));
    let a = apply(&old, &emu.base, &["--wait=120s"]).spawn().unwrap();
    let b = apply(&new, &emu.base, &["--wait=120s"]).spawn().unwrap();
    let a = a.wait_with_output().unwrap();
    let b = b.wait_with_output().unwrap();
    assert_eq!(
        (a.status.code(), b.status.code()),
        (Some(0), Some(0)),
        "{}\n{}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    let held = holders(&emu);
    for i in 0..n {
        let id = format!("cus_N{i:03}");
        assert_eq!(
            held.get(&id),
            Some(&vec!["succeeded".to_string()]),
            "{id} must be in exactly one job"
        );
    }
}
