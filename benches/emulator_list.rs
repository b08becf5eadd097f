//! How fast the emulator lists jobs when it holds many: seeds 100,000 jobs (through
//! fixtures, so through the state machine) and times 100-item list pages over HTTP.
//! Goal: p50 well under 5 ms. Run: `cargo bench --bench emulator_list`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use redactctl::emulator::fixtures::{FixtureJob, Fixtures};
use redactctl::emulator::kinds::Kind;
use redactctl::emulator::state::{Behavior, Status};
use redactctl::emulator::{spawn, Config};

const JOBS: usize = 100_000;
const SAMPLES: usize = 500;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn time_pages(client: &reqwest::Client, urls: &[String]) -> (Duration, Duration, usize) {
    let mut times = Vec::with_capacity(urls.len());
    let mut items = 0;
    for url in urls {
        let start = Instant::now();
        let resp = client
            .get(url)
            .bearer_auth("sk_test_bench")
            .send()
            .await
            .expect("list request");
        let body = resp.bytes().await.expect("list body");
        times.push(start.elapsed());
        let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        items += v["data"].as_array().map_or(0, Vec::len);
    }
    times.sort();
    (
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        items / urls.len().max(1),
    )
}

fn main() {
    let statuses = [
        Status::Succeeded,
        Status::Canceled,
        Status::Ready,
        Status::Failed,
    ];
    let jobs: Vec<FixtureJob> = (0..JOBS)
        .map(|i| FixtureJob {
            objects: BTreeMap::from([(Kind::Customers, vec![format!("cus_bench{i}")])]),
            status: Some(statuses[i % statuses.len()]),
            validation_behavior: Some(if i % 2 == 0 {
                Behavior::Error
            } else {
                Behavior::Fix
            }),
            mode: None,
            account: None,
            age: Some(format!("{}s", JOBS - i)),
        })
        .collect();
    let fixtures = Fixtures {
        objects: Vec::new(),
        jobs,
        ..Fixtures::default()
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let seed_start = Instant::now();
        let emu = spawn(
            Config { fixtures: Some(fixtures), unknown_objects: redactctl::emulator::UnknownObjects::Exist, ..Config::default() },
            "127.0.0.1:0".parse().expect("addr"),
        )
        .await
        .expect("emulator");
        println!("seeded {} jobs in {:.2?}", emu.job_count(), seed_start.elapsed());
        let base = emu.base_url();
        let client = reqwest::Client::new();

        // Cursors spread over the whole history (the first pages, the middle, the end).
        let first: serde_json::Value = serde_json::from_slice(
            &client
                .get(format!("{base}/v1/privacy/redaction_jobs?limit=100"))
                .bearer_auth("sk_test_bench")
                .send()
                .await
                .expect("first page")
                .bytes()
                .await
                .expect("body"),
        )
        .expect("JSON");
        let mut cursor = first["data"][99]["id"].as_str().unwrap_or_default().to_string();
        let mut cursors = Vec::new();
        for _ in 0..SAMPLES {
            cursors.push(cursor.clone());
            let page: serde_json::Value = serde_json::from_slice(
                &client
                    .get(format!(
                        "{base}/v1/privacy/redaction_jobs?limit=100&starting_after={cursor}"
                    ))
                    .bearer_auth("sk_test_bench")
                    .send()
                    .await
                    .expect("page")
                    .bytes()
                    .await
                    .expect("body"),
            )
            .expect("JSON");
            match page["data"].as_array().and_then(|d| d.last()) {
                Some(last) if page["has_more"] == true => {
                    cursor = last["id"].as_str().unwrap_or_default().to_string();
                }
                _ => break,
            }
        }

        let cases: Vec<(&str, Vec<String>)> = vec![
            (
                "first page, limit=100",
                (0..SAMPLES).map(|_| format!("{base}/v1/privacy/redaction_jobs?limit=100")).collect(),
            ),
            (
                "starting_after, limit=100",
                cursors
                    .iter()
                    .map(|c| format!("{base}/v1/privacy/redaction_jobs?limit=100&starting_after={c}"))
                    .collect(),
            ),
            (
                "starting_after, limit=100, expand data.objects",
                cursors
                    .iter()
                    .map(|c| {
                        format!("{base}/v1/privacy/redaction_jobs?limit=100&starting_after={c}&expand[]=data.objects")
                    })
                    .collect(),
            ),
            (
                "status=ready, limit=100",
                (0..SAMPLES)
                    .map(|_| format!("{base}/v1/privacy/redaction_jobs?limit=100&status=ready"))
                    .collect(),
            ),
        ];
        println!("list pages over HTTP, server holding {JOBS} jobs ({SAMPLES} samples each):");
        for (name, urls) in cases {
            let (p50, p99, items) = time_pages(&client, &urls).await;
            println!(
                "  {name:<48} p50 {:>7.3} ms  p99 {:>7.3} ms  ({items} items/page)",
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3
            );
        }
        emu.shutdown().await;
    });
}
