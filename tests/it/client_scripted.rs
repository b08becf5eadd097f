//! The client against a tiny scripted HTTP server on 127.0.0.1:0, for exact sequences the
//! emulator only produces at random: 500 then 200, a dropped connection, 429 with
//! `Stripe-Should-Retry`, an HTML body, truncated JSON.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redactctl::kinds::{ObjectKind, ObjectRef};
use redactctl::stripe::models::{JobStatus, ValidationBehavior};
use redactctl::stripe::{ApiKey, Client, ClientConfig, RetryPolicy, StripeError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const KEY: &str = "sk_test_51SecretKeyMaterial0123456789abcdXYZ";

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the server does with one request.
enum Step {
    Reply {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Close the connection without answering.
    Drop,
    /// Announce `body`'s length but send only its first half, then close.
    CutOff { status: u16, body: String },
}

fn json(status: u16, body: &str) -> Step {
    Step::Reply {
        status,
        headers: vec![("Request-Id", "req_scripted".to_string())],
        body: body.to_string(),
    }
}

fn with_header(step: Step, name: &'static str, value: &str) -> Step {
    match step {
        Step::Reply {
            status,
            mut headers,
            body,
        } => {
            headers.push((name, value.to_string()));
            Step::Reply {
                status,
                headers,
                body,
            }
        }
        other => other,
    }
}

fn error_body(kind: &str, code: &str, message: &str) -> String {
    format!(r#"{{"error":{{"type":"{kind}","code":"{code}","message":"{message}"}}}}"#)
}

fn job_json(id: &str, created: i64, status: &str) -> String {
    format!(
        r#"{{"id":"{id}","object":"privacy.redaction_job","created":{created},"livemode":false,"status":"{status}","objects":{{"customers":["cus_{id}"]}},"validation_behavior":null,"validation_errors":null}}"#
    )
}

type Script = Box<dyn FnMut(usize, &Seen) -> Step + Send>;

/// Serves `script` (called with the request's index) on 127.0.0.1:0; one request per
/// connection. Returns the base URL and the requests seen.
async fn serve(mut script: Script) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let Some(req) = read_request(&mut sock).await else {
                continue;
            };
            let index = {
                let mut l = log.lock().unwrap();
                l.push(req.clone());
                l.len() - 1
            };
            match script(index, &req) {
                Step::Reply {
                    status,
                    headers,
                    body,
                } => {
                    let mut out = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                        body.len()
                    );
                    for (k, v) in headers {
                        out.push_str(&format!("{k}: {v}\r\n"));
                    }
                    out.push_str("\r\n");
                    out.push_str(&body);
                    let _ = sock.write_all(out.as_bytes()).await;
                }
                Step::Drop => {}
                Step::CutOff { status, body } => {
                    let out = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\nrequest-id: req_cut\r\n\r\n{}",
                        body.len(),
                        &body[..body.len() / 2]
                    );
                    let _ = sock.write_all(out.as_bytes()).await;
                }
            }
            let _ = sock.shutdown().await;
        }
    });
    (format!("http://{addr}"), seen)
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[header_end..]).to_string();
    Some(Seen {
        method,
        target,
        headers,
        body,
    })
}

fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_total: Duration::from_secs(30),
    }
}

fn client(base: &str, max_attempts: u32) -> Client {
    let mut cfg = ClientConfig::new(base, ApiKey::parse(KEY).unwrap());
    cfg.retry = fast_retry(max_attempts);
    cfg.rate_limit = Some(0);
    cfg.endpoint_rate_limit = 0;
    Client::new(cfg).unwrap()
}

fn cus(id: &str) -> ObjectRef {
    ObjectRef::new(ObjectKind::Customers, id)
}

#[tokio::test]
async fn a_500_then_200_is_retried_with_the_same_idempotency_key_and_headers() {
    let (base, seen) = serve(Box::new(|i, _| {
        if i == 0 {
            json(500, &error_body("api_error", "internal", "boom"))
        } else {
            json(200, &job_json("prj_1", 10, "validating"))
        }
    }))
    .await;
    let mut cfg = ClientConfig::new(&base, ApiKey::parse(KEY).unwrap());
    cfg.retry = fast_retry(3);
    cfg.stripe_account = Some("acct_connected".into());
    let c = Client::new(cfg).unwrap();
    let objects = [
        cus("cus_2"),
        ObjectRef::new(ObjectKind::PaymentIntents, "pi_1"),
        cus("cus_1"),
    ];
    let sent = c
        .create_job(&objects, Some(&ValidationBehavior::Fix), "idem-123")
        .await
        .unwrap();
    assert_eq!(sent.value.id, "prj_1");
    assert_eq!(sent.attempts, 2);
    assert_eq!(sent.status, 200);
    assert_eq!(sent.request_id.as_deref(), Some("req_scripted"));
    assert_eq!(c.requests_sent(), 2);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    for r in seen.iter() {
        assert_eq!(r.method, "POST");
        assert_eq!(r.target, "/v1/privacy/redaction_jobs");
        assert_eq!(r.header("idempotency-key"), Some("idem-123"));
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        assert_eq!(
            r.header("stripe-version"),
            Some(redactctl::stripe::DEFAULT_STRIPE_VERSION)
        );
        assert_eq!(r.header("stripe-account"), Some("acct_connected"));
        assert_eq!(
            r.header("user-agent"),
            Some(concat!("redactctl/", env!("CARGO_PKG_VERSION")))
        );
        assert_eq!(
            r.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
    }
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(seen[0].body.as_bytes())
        .into_owned()
        .collect();
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("objects[customers][0]", "cus_1"),
            ("objects[customers][1]", "cus_2"),
            ("objects[payment_intents][0]", "pi_1"),
            ("validation_behavior", "fix"),
        ]
    );
    assert_eq!(seen[0].body, seen[1].body);
}

#[tokio::test]
async fn a_dropped_connection_and_a_cut_off_body_are_retried() {
    let (base, seen) = serve(Box::new(|i, _| match i {
        0 => Step::Drop,
        1 => Step::CutOff {
            status: 200,
            body: job_json("prj_1", 1, "ready"),
        },
        _ => json(200, &job_json("prj_1", 1, "redacting")),
    }))
    .await;
    let c = client(&base, 4);
    let sent = c.run_job("prj_1", "run-prj_1").await.unwrap();
    assert_eq!(sent.value.status, JobStatus::Redacting);
    assert_eq!(sent.attempts, 3);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(seen
        .iter()
        .all(|r| r.target == "/v1/privacy/redaction_jobs/prj_1/run"));
    assert!(seen
        .iter()
        .all(|r| r.header("idempotency-key") == Some("run-prj_1")));
}

#[tokio::test]
async fn should_retry_false_forbids_a_retry_even_on_429() {
    let (base, seen) = serve(Box::new(|_, _| {
        with_header(
            json(
                429,
                &error_body("invalid_request_error", "rate_limit", "Too many requests"),
            ),
            "Stripe-Should-Retry",
            "false",
        )
    }))
    .await;
    let err = client(&base, 5).retrieve_job("prj_1").await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.code(), Some("rate_limit"));
    assert_eq!(err.request_id(), Some("req_scripted"));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn should_retry_true_forces_a_retry_of_a_400() {
    let (base, seen) = serve(Box::new(|i, _| {
        if i == 0 {
            with_header(
                json(
                    400,
                    &error_body("invalid_request_error", "lock_timeout", "busy"),
                ),
                "Stripe-Should-Retry",
                "true",
            )
        } else {
            with_header(
                json(200, &job_json("prj_1", 1, "canceling")),
                "Idempotent-Replayed",
                "true",
            )
        }
    }))
    .await;
    let sent = client(&base, 5)
        .cancel_job("prj_1", "cancel-1")
        .await
        .unwrap();
    assert!(sent.replayed);
    assert_eq!(sent.attempts, 2);
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn client_errors_are_not_retried_and_carry_stripes_fields() {
    let (base, seen) = serve(Box::new(|_, _| {
        json(
            400,
            r#"{"error":{"type":"invalid_request_error","code":"parameter_unknown","param":"foo","message":"Received unknown parameter: foo"}}"#,
        )
    }))
    .await;
    let err = client(&base, 5)
        .update_job("prj_1", &ValidationBehavior::Error, "upd-1")
        .await
        .unwrap_err();
    match &err {
        StripeError::Api {
            status,
            kind,
            code,
            param,
            message,
            request_id,
        } => {
            assert_eq!(*status, 400);
            assert_eq!(kind, "invalid_request_error");
            assert_eq!(code.as_deref(), Some("parameter_unknown"));
            assert_eq!(param.as_deref(), Some("foo"));
            assert_eq!(message, "Received unknown parameter: foo");
            assert_eq!(request_id.as_deref(), Some("req_scripted"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("req_scripted"));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn persistent_5xx_gives_up_after_the_attempt_cap_with_a_typed_error() {
    let (base, seen) = serve(Box::new(|_, _| {
        json(503, &error_body("api_error", "unavailable", "down"))
    }))
    .await;
    let err = client(&base, 4)
        .validate_job("prj_1", "val-1")
        .await
        .unwrap_err();
    assert!(
        matches!(err, StripeError::Api { status: 503, .. }),
        "{err:?}"
    );
    assert_eq!(seen.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn html_and_truncated_json_are_decode_errors() {
    let (base, seen) = serve(Box::new(|i, _| match i {
        0 => json(200, "<html><body>Welcome to nginx</body></html>"),
        1 => json(200, r#"{"id":"acct_1","obj"#),
        _ => json(502, "<html>Bad Gateway</html>"),
    }))
    .await;
    let c = client(&base, 2);
    let html = c.retrieve_account().await.unwrap_err();
    assert!(
        matches!(html, StripeError::Decode { status: 200, .. }),
        "{html:?}"
    );
    assert!(html.to_string().contains("nginx"));
    let truncated = c.retrieve_account().await.unwrap_err();
    assert!(matches!(truncated, StripeError::Decode { status: 200, .. }));
    // A 502 page is retried (5xx), then reported as what it is.
    let gateway = c.retrieve_account().await.unwrap_err();
    assert!(
        matches!(gateway, StripeError::Decode { status: 502, .. }),
        "{gateway:?}"
    );
    assert_eq!(seen.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn an_unreachable_server_is_a_network_error_after_every_attempt() {
    // Bind then drop: the port is (almost certainly) closed.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let c = client(&format!("http://{addr}"), 3);
    let err = c.retrieve_account().await.unwrap_err();
    assert!(
        matches!(err, StripeError::Network { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(c.requests_sent(), 3);
}

#[tokio::test]
async fn bad_requests_are_refused_before_anything_is_sent() {
    let (base, seen) = serve(Box::new(|_, _| json(200, "{}"))).await;
    let c = client(&base, 3);
    let eleven: Vec<ObjectRef> = (0..11).map(|i| cus(&format!("cus_{i}"))).collect();
    assert!(matches!(
        c.create_job(&eleven, None, "k").await,
        Err(StripeError::InvalidRequest(_))
    ));
    assert!(matches!(
        c.create_job(&[], None, "k").await,
        Err(StripeError::InvalidRequest(_))
    ));
    assert!(matches!(
        c.create_job(&[cus("cus_1")], None, "").await,
        Err(StripeError::InvalidRequest(_))
    ));
    assert!(matches!(
        c.run_job("", "k").await,
        Err(StripeError::InvalidRequest(_))
    ));
    assert_eq!(c.requests_sent(), 0);
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn listing_follows_pages_and_expands_objects() {
    // 250 jobs, newest first, served in pages of `limit` after `starting_after`.
    let ids: Vec<String> = (0..250).rev().map(|i| format!("prj_{i:04}")).collect();
    let all = ids.clone();
    let (base, seen) = serve(Box::new(move |_, req| {
        let query = req.target.split_once('?').map(|(_, q)| q).unwrap_or("");
        let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let limit: usize = get("limit").and_then(|l| l.parse().ok()).unwrap_or(10);
        let start = match get("starting_after") {
            Some(after) => all.iter().position(|i| *i == after).unwrap() + 1,
            None => 0,
        };
        let page: Vec<String> = all[start..].iter().take(limit).map(|id| job_json(id, 1, "succeeded")).collect();
        let has_more = start + limit < all.len();
        json(
            200,
            &format!(r#"{{"object":"list","url":"/v1/privacy/redaction_jobs","has_more":{has_more},"data":[{}]}}"#, page.join(",")),
        )
    }))
    .await;
    let c = client(&base, 1);
    let jobs = c.list_jobs(Some(&JobStatus::Succeeded)).await.unwrap();
    let got: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(jobs.iter().all(|j| j.objects.is_some()));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[0].target,
        "/v1/privacy/redaction_jobs?limit=100&status=succeeded&expand%5B0%5D=data.objects"
    );
    assert_eq!(
        seen[2].target,
        "/v1/privacy/redaction_jobs?limit=100&starting_after=prj_0050&status=succeeded&expand%5B0%5D=data.objects"
    );
}

#[tokio::test]
async fn unknown_enum_values_survive_a_round_trip() {
    let (base, _seen) = serve(Box::new(|i, _| match i {
        0 => json(
            200,
            r#"{"id":"prj_1","object":"privacy.redaction_job","created":5,"livemode":false,"status":"quarantined","validation_behavior":"shred","objects":{"customers":["cus_1"],"holograms":["h_1"]},"validation_errors":{"object":"list","url":"/x","has_more":false,"data":[{"id":"prjve_1","object":"privacy.redaction_job_validation_error","code":"brand_new_code","erroring_object":{"id":"h_1","object_type":"hologram"},"message":"new"}]}}"#,
        ),
        _ => json(
            200,
            r#"{"id":"vs_1","object":"identity.verification_session","created":1,"livemode":false,"status":"teleported","redaction":{"status":"shredded"}}"#,
        ),
    }))
    .await;
    let c = client(&base, 1);
    let job = c.retrieve_job("prj_1").await.unwrap().value;
    assert_eq!(job.status, JobStatus::Unknown("quarantined".into()));
    assert!(job.status.is_active());
    assert_eq!(job.unknown_object_kinds(), vec!["holograms".to_string()]);
    let back = serde_json::to_value(&job).unwrap();
    assert_eq!(back["status"], "quarantined");
    // The client maps the wire onto the domain's error|fix: an unknown behaviour reads as
    // unset instead of making the job unreadable.
    assert_eq!(job.validation_behavior, None);
    assert!(back["validation_behavior"].is_null());
    assert_eq!(back["objects"]["holograms"][0], "h_1");
    assert_eq!(
        back["validation_errors"]["data"][0]["code"],
        "brand_new_code"
    );
    let again: redactctl::stripe::models::RedactionJob = serde_json::from_value(back).unwrap();
    assert_eq!(again, job);

    let session = c.retrieve_session("vs_1").await.unwrap().value;
    let back = serde_json::to_value(&session).unwrap();
    assert_eq!(back["status"], "teleported");
    assert_eq!(back["redaction"]["status"], "shredded");
}

#[tokio::test]
async fn a_server_that_does_not_name_itself_is_not_taken_for_the_emulator() {
    let (base, _seen) = serve(Box::new(|_, _| {
        json(200, r#"{"id":"acct_1","object":"account"}"#)
    }))
    .await;
    let c = client(&base, 1);
    c.retrieve_account().await.unwrap();
    assert!(!c.talks_to_emulator());
}
