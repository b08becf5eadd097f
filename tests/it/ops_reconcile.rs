//! The reconcile loop as a library: driven by typed triggers against the in-process
//! emulator, without the command line.

use std::time::Duration;

use redactctl::ops::reconcile::{run_loop, ReconcileRequest, Reconciler, Trigger};
use redactctl::ops::{Session, Silent};
use tokio::sync::mpsc;

use crate::common::{manifest, Emu, Workdir, TEST_KEY};

#[test]
fn passes_follow_triggers_and_stop_on_shutdown() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    let m = wd.write(
        "m.yaml",
        &manifest("dsr-loop", "      customers: [cus_loop]\n", ""),
    );
    let key = wd.write("key", TEST_KEY);
    let session = Session {
        api_key_file: Some(key),
        api_base: emu.base.clone(),
        ..Session::default()
    };
    let request = ReconcileRequest {
        paths: vec![m],
        max_irreversible: 100,
        audit_log: wd.path().join("audit.jsonl"),
        no_cache: true,
        revalidate_every: None,
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let lines = rt.block_on(async {
        let reconciler = Reconciler::start(&session, &request, &Silent)
            .await
            .unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        // A webhook arrives while the first pass runs: one more pass follows it, and a
        // shutdown after that ends the loop without waiting for the (hour-long) interval.
        tx.send(Trigger::Webhook).unwrap();
        let mut lines = Vec::new();
        let passes = run_loop(
            &reconciler,
            Duration::from_secs(3600),
            &mut rx,
            &Silent,
            |line| {
                lines.push(line.clone());
                if line.pass == 2 {
                    tx.send(Trigger::Shutdown).unwrap();
                }
            },
        )
        .await;
        reconciler.close().await;
        assert_eq!(passes, 2);
        lines
    });
    let triggers: Vec<Trigger> = lines.iter().map(|l| l.trigger).collect();
    assert_eq!(triggers, [Trigger::Start, Trigger::Webhook]);
    assert_eq!(lines[0].error, None, "{:?}", lines[0]);
    assert!(
        lines[0].actions >= 1,
        "the first pass wrote: {:?}",
        lines[0]
    );
    assert_eq!(lines[1].converged, 1, "{:?}", lines[1]);
    assert_eq!(lines[1].actions, 0, "nothing left to write: {:?}", lines[1]);
    let jobs = emu.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["status"], "succeeded");
    let audit = wd.read("audit.jsonl");
    assert!(!audit.contains(TEST_KEY));
    assert!(
        audit.lines().count() >= 2,
        "create and run recorded: {audit}"
    );
}
