//! The client against servers that misbehave on purpose (in-process, 127.0.0.1:0): a list
//! whose cursor never advances and a body that never ends must stop with a clear error,
//! quickly and in bounded memory, instead of looping or growing for ever.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redactctl::stripe::{ApiKey, Client, ClientConfig, StripeError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const KEY: &str = "sk_test_51HostileNetwork0123456789abcdXYZ";

fn client(base: &str) -> Client {
    let mut cfg = ClientConfig::new(base, ApiKey::parse(KEY).unwrap());
    cfg.rate_limit = Some(0);
    cfg.endpoint_rate_limit = 0;
    cfg.retry.max_attempts = 2;
    cfg.retry.base_delay = Duration::from_millis(1);
    Client::new(cfg).unwrap()
}

/// Reads one request head (the tests send only GETs).
async fn read_head(sock: &mut tokio::net::TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.windows(4).any(|w| w == b"\r\n\r\n") {
            return true;
        }
    }
}

/// Serves every connection with `respond`; counts requests.
async fn serve<F, Fut>(respond: F) -> (String, Arc<AtomicUsize>)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let respond = respond.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                if read_head(&mut sock).await {
                    counter.fetch_add(1, Ordering::SeqCst);
                    respond(sock).await;
                }
            });
        }
    });
    (format!("http://{addr}"), hits)
}

/// Every request gets the same page of two jobs and `has_more: true`: a naive auto-pager
/// follows `starting_after` for ever.
#[tokio::test]
async fn a_list_whose_cursor_does_not_advance_stops_with_a_clear_error() {
    let (base, hits) = serve(|mut sock| async move {
        let job = |id: &str| format!(r#"{{"id":"{id}","object":"privacy.redaction_job","created":1,"livemode":false,"status":"succeeded","objects":{{"customers":["cus_1"]}}}}"#);
        let body = format!(
            r#"{{"object":"list","data":[{},{}],"has_more":true,"url":"/v1/privacy/redaction_jobs"}}"#,
            job("prj_a"),
            job("prj_b")
        );
        let out = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = sock.write_all(out.as_bytes()).await;
    })
    .await;
    let started = Instant::now();
    let err = client(&base).list_jobs(None).await.unwrap_err();
    assert!(matches!(err, StripeError::Hostile { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("cursor does not advance"), "{text}");
    assert!(text.contains("prj_a"), "{text}");
    assert_eq!(hits.load(Ordering::SeqCst), 2, "stops at the first repeat");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// A 200 whose body never ends (no length, bytes for ever): the client stops reading at
/// its cap instead of growing without bound, and does not retry.
#[tokio::test]
async fn an_endless_body_stops_at_the_cap_with_a_clear_error() {
    let (base, hits) = serve(|mut sock| async move {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"object\":\"list\",\"data\":[";
        if sock.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let filler = vec![b' '; 64 * 1024];
        // Until the client hangs up.
        while sock.write_all(&filler).await.is_ok() {}
    })
    .await;
    let mut cfg = ClientConfig::new(&base, ApiKey::parse(KEY).unwrap());
    cfg.rate_limit = Some(0);
    cfg.endpoint_rate_limit = 0;
    cfg.max_body_bytes = 1024 * 1024;
    let c = Client::new(cfg).unwrap();
    let started = Instant::now();
    let err = c.list_jobs(None).await.unwrap_err();
    assert!(matches!(err, StripeError::Hostile { .. }), "{err:?}");
    assert!(
        err.to_string().contains("longer than 1048576 bytes"),
        "{err}"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "an endless body is not retried"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// A server that accepts and then says nothing: the idle timeout ends the attempt long
/// before the 80-second whole-request timeout.
#[tokio::test]
async fn a_server_that_never_answers_times_out_on_the_idle_timeout() {
    let (base, _hits) = serve(|sock| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(sock);
    })
    .await;
    let mut cfg = ClientConfig::new(&base, ApiKey::parse(KEY).unwrap());
    cfg.rate_limit = Some(0);
    cfg.endpoint_rate_limit = 0;
    cfg.retry.max_attempts = 1;
    cfg.idle_timeout = Duration::from_millis(300);
    let started = Instant::now();
    let err = Client::new(cfg)
        .unwrap()
        .retrieve_account()
        .await
        .unwrap_err();
    assert!(matches!(err, StripeError::Network { .. }), "{err:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
