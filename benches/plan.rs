//! `cargo bench --bench plan`: 10,000 entries against 10,000 live jobs. Prints the time
//! of `plan()` (goal: < 1 s in release) and of each view, staleness and approval checks.
//! Everything measured is single-threaded and pure, so elapsed time is CPU time; the
//! process CPU time from /proc is printed too where available.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use redactctl::kinds::{ObjectKind, ObjectRef};
use redactctl::manifest::{AccountSpec, Behavior, Desired, DesiredState, Entry, Location, Via};
use redactctl::observe::Live;
use redactctl::plan::{self, Options};
use redactctl::stripe::models::{
    ErroringObject, JobObjects, JobValidationError, Mode, RedactionJob,
};

const ENTRIES: usize = 10_000;
const STATUSES: [&str; 8] = [
    "created",
    "validating",
    "ready",
    "failed",
    "redacting",
    "succeeded",
    "canceling",
    "canceled",
];

fn scenario() -> (Desired, Live) {
    let mut entries = Vec::with_capacity(ENTRIES);
    let mut live = Live::default();
    for i in 0..ENTRIES {
        let n = 1 + i % 3;
        let mut objects: Vec<ObjectRef> = (0..n)
            .map(|k| ObjectRef::new(ObjectKind::Customers, format!("cus_{i:05}_{k}")))
            .collect();
        objects.push(ObjectRef::new(
            ObjectKind::PaymentIntents,
            format!("pi_{i:05}"),
        ));
        objects.sort();
        entries.push(Entry {
            deadline: Default::default(),
            allowed_fixes: Vec::new(),
            name: format!("dsr-{i:05}"),
            ticket: Some(format!("DSR-{i}")),
            objects: objects.clone(),
            validation_behavior: if i % 2 == 0 {
                Behavior::Fix
            } else {
                Behavior::Error
            },
            state: if i % 5 == 0 {
                DesiredState::Validated
            } else {
                DesiredState::Redacted
            },
            via: Via::RedactionJob,
            location: Location {
                file: PathBuf::from("redactions.yaml"),
                line: i * 6 + 1,
                column: 5,
            },
        });
        // One job per entry, on all but one of its objects (a create for the rest).
        let status = STATUSES[i % STATUSES.len()];
        let mut map = JobObjects::new();
        for o in objects.iter().take(objects.len() - 1) {
            if let Some(v) = map
                .entry(o.kind.as_str().to_string())
                .or_insert_with(|| Some(Vec::new()))
            {
                v.push(o.id.clone());
            }
        }
        let id = format!("prj_{i:05}");
        if status == "failed" {
            live.validation_errors.insert(
                id.clone(),
                vec![JobValidationError {
                    id: format!("prjve_{i}"),
                    object: String::new(),
                    code: "invalid_state".into(),
                    erroring_object: Some(ErroringObject {
                        id: format!("pi_{i:05}"),
                        object_type: "payment_intent".into(),
                    }),
                    message: "not finalized".into(),
                }],
            );
        }
        live.jobs.push(RedactionJob {
            id,
            object: "privacy.redaction_job".into(),
            created: i as i64,
            livemode: false,
            objects: Some(map),
            status: status.into(),
            validation_behavior: Some("error".into()),
            validation_errors: None,
        });
    }
    let desired = Desired {
        account: AccountSpec {
            mode: Mode::Test,
            id: Some("acct_1".into()),
            connected_account: None,
        },
        entries,
        digest: "bench".into(),
    };
    (desired, live)
}

/// User + system CPU time of this process, from /proc (Linux), in clock ticks of 10 ms.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

fn measure<T>(label: &str, runs: usize, mut f: impl FnMut() -> T) -> T {
    let mut times = Vec::with_capacity(runs);
    let cpu0 = cpu_time();
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed());
    }
    let cpu = match (cpu0, cpu_time()) {
        (Some(a), Some(b)) => format!(
            "{:.1} ms cpu/run",
            (b - a).as_secs_f64() * 1e3 / runs as f64
        ),
        _ => "cpu n/a".to_string(),
    };
    times.sort();
    println!(
        "{label:<44} min {:>8.1} ms  median {:>8.1} ms  ({cpu}, {runs} runs)",
        times[0].as_secs_f64() * 1e3,
        times[runs / 2].as_secs_f64() * 1e3,
    );
    match last {
        Some(v) => v,
        None => f(),
    }
}

fn main() {
    let (desired, live) = scenario();
    println!(
        "redactctl plan bench: {} entries, {} live jobs",
        desired.entries.len(),
        live.jobs.len()
    );
    let opts = Options::default();
    let p = measure("plan()", 5, || plan::plan(&desired, &live, &opts));
    println!(
        "  -> {} actions, {} blocked entries",
        p.actions.len(),
        p.entries.iter().filter(|e| !e.blocked.is_empty()).count()
    );
    let human = measure("render_human (no colour)", 3, || {
        plan::render_human(&p, false)
    });
    let json = measure("render_json", 3, || plan::render_json(&p));
    let md = measure("render_markdown", 3, || plan::render_markdown(&p));
    println!(
        "  -> human {} KiB, json {} KiB, markdown {} KiB",
        human.len() / 1024,
        json.len() / 1024,
        md.len() / 1024
    );
    measure("parse_plan_file", 3, || {
        plan::parse_plan_file(&json).map(|p| p.actions.len())
    })
    .ok();
    measure("check_preconditions", 3, || {
        plan::check_preconditions(&p, &live).len()
    });
    measure("approved_actions", 3, || {
        plan::approved_actions(&p, &p).0.len()
    });
    measure("status_rows", 3, || {
        plan::status_rows(&desired, &live).len()
    });
}
