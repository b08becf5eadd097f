//! The client's concurrency permits against the emulator on 127.0.0.1:0: a request that
//! waits for its endpoint's rate budget does not hold a permit meanwhile, so a request to
//! another endpoint, within its budget, is not stuck behind it (issue 6: creates waiting
//! for their budget must not hold back runs and lists).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redactctl::emulator::{spawn, Config};
use redactctl::stripe::{ApiKey, Client, ClientConfig};

const KEY: &str = "sk_test_51ClientPermitsSecret0123456789";

#[tokio::test]
async fn a_request_waiting_for_its_budget_does_not_block_another_endpoint() {
    let emu = spawn(Config::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut cfg = ClientConfig::new(emu.base_url(), ApiKey::parse(KEY).unwrap());
    cfg.rate_limit = Some(0);
    cfg.endpoint_rate_limit = 1;
    cfg.max_concurrency = 1;
    let client = Client::new(cfg).unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));

    // The first account read spends the endpoint's budget for about a second.
    client.retrieve_account().await.unwrap();
    let second_account = {
        let (client, order) = (client.clone(), order.clone());
        tokio::spawn(async move {
            client.retrieve_account().await.unwrap();
            order.lock().unwrap().push("account");
        })
    };
    // Let the second account read take the only permit and start waiting for its budget.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let list = {
        let (client, order) = (client.clone(), order.clone());
        tokio::spawn(async move {
            client.list_jobs(None).await.unwrap();
            order.lock().unwrap().push("list");
        })
    };
    second_account.await.unwrap();
    list.await.unwrap();
    assert_eq!(*order.lock().unwrap(), ["list", "account"]);
    assert_eq!(emu.stats().route("GET /v1/account"), 2);
    emu.shutdown().await;
}
