//! The webhook listener under a slow-client flood (127.0.0.1 only): a thousand connections
//! that send half a request and stall are closed at their deadline, and a valid, signed
//! event is still served.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redactctl::reconcile::listener::{serve_with_limits, Limits};
use redactctl::reconcile::signature;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

const SECRET: &[u8] = b"whsec_hostile_listener";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_slow_connections_are_closed_and_a_valid_event_is_served() {
    let trigger = Arc::new(Notify::new());
    let limits = Limits {
        max_connections: 256,
        read_deadline: Duration::from_millis(500),
        ..Limits::default()
    };
    let (addr, _task) = serve_with_limits(
        "127.0.0.1:0".parse().unwrap(),
        SECRET.to_vec(),
        trigger.clone(),
        std::future::pending(),
        limits,
    )
    .await
    .unwrap();

    // Slowloris: a request line and one header, then nothing.
    let mut slow = Vec::new();
    for _ in 0..1000 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(s);
    }

    let started = Instant::now();
    let body = br#"{"id":"evt_slow_1","type":"privacy.redaction_job.ready"}"#;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let sig = signature::sign(body, SECRET, now);
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/"))
        .header("stripe-signature", sig)
        .body(body.to_vec())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("the valid event is served despite the flood");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.text().await.unwrap().starts_with("accepted"));
    tokio::time::timeout(Duration::from_secs(1), trigger.notified())
        .await
        .expect("the event triggered a pass");
    assert!(started.elapsed() < Duration::from_secs(20));

    // Every slow connection was closed by the server (EOF or reset), none left open.
    let mut buf = [0u8; 1024];
    for s in &mut slow {
        let closed = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a slow connection is still open");
    }
}
