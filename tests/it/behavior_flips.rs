//! Switching an entry's `validation_behavior` back and forth within one hour, through the
//! real binary: each switch takes effect in Stripe (the emulator), none is answered from
//! Stripe's idempotency store, and none is refused as a reused key.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::{guide_manifest, text, with_fixtures, Emu, Workdir, GUIDE_FIXTURES};
use redactctl::apply::audit::read_log;
use redactctl::emulator::{Clock, Config};

const T0: i64 = 1_800_000_000;

fn manifest(behavior: &str) -> String {
    guide_manifest("dsr-flip", behavior)
}

fn job(emu: &Emu) -> serde_json::Value {
    let jobs = emu.jobs();
    assert_eq!(jobs.len(), 1, "the same job, never a new one: {jobs:#?}");
    jobs[0].clone()
}

#[test]
fn error_fix_error_fix_within_one_hour_takes_effect_every_time() {
    // Validation takes five emulated minutes, and the clock only moves when the test says:
    // the job is still validating when the next switch comes, except where the test lets
    // validation end (so that the next switch to `fix` follows a plan showing the fix).
    let emu = Emu::start(Config {
        clock: Clock::manual(T0),
        validation_delay: Duration::from_secs(5 * 60),
        ..with_fixtures(GUIDE_FIXTURES)
    });
    let wd = Workdir::new();
    let apply = |behavior: &str| {
        wd.write("m.yaml", &manifest(behavior));
        let out = wd
            .cmd(&emu)
            .args(["apply", "--auto-approve", "m.yaml"])
            .output()
            .unwrap();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };

    // The job is created under `error` and fails on the open PaymentIntent.
    let (code, stdout, stderr) = apply("error");
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    emu.advance(Duration::from_secs(6 * 60));
    assert_eq!(job(&emu)["status"], "failed");

    // Each edit, a minute or ten after the last, all within the hour. `validates`: the
    // clock then lets the validation started by the switch end before the next edit.
    let steps = [
        ("fix", 60, "validating"),
        ("error", 6 * 60, "failed"),
        ("fix", 60, "validating"),
        ("error", 60, "validating"),
    ];
    let mut elapsed = 6 * 60;
    for (behavior, then_advance, status_after) in steps {
        let (code, stdout, stderr) = apply(behavior);
        assert_eq!(
            code,
            Some(0),
            "switch to {behavior}: Stripe-side work left, nothing approved undone\n{stdout}\n{stderr}"
        );
        let now = job(&emu);
        assert_eq!(
            now["validation_behavior"], behavior,
            "switch to {behavior} took no effect:\n{stdout}"
        );
        emu.advance(Duration::from_secs(then_advance));
        elapsed += then_advance;
        assert_eq!(job(&emu)["status"], status_after, "after {behavior}");
    }
    assert!(elapsed < 3600, "all within one emulated hour");

    // Four updates, each carried out fresh under a key of its own: no replay, no 400.
    let (records, _) = read_log(&wd.path().join(".redactctl/audit.jsonl")).unwrap();
    let updates: Vec<_> = records
        .iter()
        .filter(|r| r.action == "update" && r.outcome != "intent")
        .collect();
    assert_eq!(updates.len(), 4, "{updates:#?}");
    for u in &updates {
        assert_eq!(u.outcome, "ok", "{u:#?}");
        assert_eq!(u.http_status, Some(200), "{u:#?}");
    }
    let keys: BTreeSet<_> = updates.iter().map(|u| u.idempotency_key.as_str()).collect();
    assert_eq!(keys.len(), 4, "each switch under a key of its own");
    assert!(
        records.iter().all(|r| r.outcome != "replayed"),
        "{records:#?}"
    );
    let stats = emu.stats();
    assert_eq!(stats.by_status.get(&400), None, "{stats:?}");
    // Nothing irreversible happened: the run each `fix` plan approved waits for a ready job.
    assert_ne!(job(&emu)["status"], "succeeded");
}
