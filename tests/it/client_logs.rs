//! The API key never appears in any log line, at trace level, whatever happens: retries,
//! 500s, dropped connections, a refused key, an unreachable server. The subscriber is the
//! process-wide default of this test binary (one test only): tracing caches per-callsite
//! interest globally, so a thread-scoped subscriber can miss events that other test threads
//! registered first.

use crate::common::every_id_exists;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redactctl::emulator::{spawn, Clock, Config};
use redactctl::kinds::{ObjectKind, ObjectRef};
use redactctl::stripe::{ApiKey, Client, ClientConfig, RetryPolicy};

const KEY: &str = "sk_test_51ClientLogsSecretKey0123456789";
const OTHER: &str = "rk_live_0000OtherSecretKey9999";

/// A `MakeWriter` that appends every log line to a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn client(base: &str, key: &str, max_attempts: u32) -> Client {
    let mut cfg = ClientConfig::new(base, ApiKey::parse(key).unwrap());
    cfg.retry = RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(10),
        max_total: Duration::from_secs(30),
    };
    cfg.rate_limit = Some(0);
    Client::new(cfg).unwrap()
}

#[tokio::test]
async fn the_key_never_appears_in_any_trace_line() {
    let buffer = Buffer::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(buffer.clone())
        .with_ansi(false)
        .init();

    let emu = spawn(
        Config {
            seed: 3,
            fail_rate: 0.3,
            drop_rate: 0.1,
            clock: Clock::manual(1_800_000_000),
            ..every_id_exists()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let c = client(&emu.base_url(), KEY, 12);
    tracing::debug!(client = ?c, key = ?ApiKey::parse(KEY).unwrap(), "built");
    for i in 0..5 {
        let objects = [ObjectRef::new(ObjectKind::Customers, format!("cus_{i}"))];
        // A 500 saved after the write is replayed, not retried: a create may end in it.
        // This test is about what the log says, not about the outcome.
        let _ = c.create_job(&objects, None, &format!("k-{i}")).await;
    }
    c.list_jobs(None).await.unwrap();
    // Another key (live mode), then a server that is not there.
    emu.set_faults(0.0, 0.0);
    let _ = client(&emu.base_url(), OTHER, 1).retrieve_account().await;
    let gone = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let _ = client(&format!("http://{gone}"), KEY, 2)
        .retrieve_account()
        .await;
    emu.shutdown().await;

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    // The log is real: requests, statuses, retries, bodies, at trace level.
    for expected in [
        "status=200",
        "status=500",
        "retrying",
        "TRACE",
        "cus_4",
        "req_",
    ] {
        assert!(logs.contains(expected), "missing {expected}: {logs}");
    }
    // And never a key, nor a recognisable piece of one, nor the header that carries it.
    for secret in [KEY, OTHER, "ClientLogsSecretKey", "OtherSecretKey"] {
        assert!(!logs.contains(secret), "{secret} leaked");
    }
    assert!(!logs.to_ascii_lowercase().contains("bearer"));
}
