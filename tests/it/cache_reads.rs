//! What the terminal-job cache saves across runs of the real binary (each run is a new
//! process, so nothing is remembered in memory between them): the creation time of a
//! failed job's erroring transaction is read once, and a cache edited to lie about it is
//! refused.

use crate::common::{guide_manifest, text, with_fixtures, Emu, Workdir, GUIDE_FIXTURES};

/// The guide's customer, whose open PaymentIntent failed a job's validation three hours
/// ago: the plan dates Stripe's 90-day risk period by the PaymentIntent's `created`.
fn failed_guide_job() -> Emu {
    Emu::start(with_fixtures(&format!(
        "{GUIDE_FIXTURES}jobs:\n  - {{objects: {{customers: [cus_guide]}}, status: failed, age: 3h}}\n"
    )))
}

/// `plan m.yaml`, returning (stdout, stderr) and the PaymentIntent retrieves it sent.
fn plan(wd: &Workdir, emu: &Emu, extra: &[&str]) -> (String, String, u64) {
    emu.reset_stats();
    let out = wd
        .cmd(emu)
        .arg("plan")
        .args(extra)
        .arg("m.yaml")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    (
        text(&out.stdout),
        text(&out.stderr),
        emu.stats().route("GET /v1/payment_intents/:id"),
    )
}

#[test]
fn a_transaction_dated_once_is_not_read_again_by_the_next_run() {
    let emu = failed_guide_job();
    let wd = Workdir::new();
    wd.write("m.yaml", &guide_manifest("dsr-guide", "error"));

    let (first, _, cold) = plan(&wd, &emu, &[]);
    assert_eq!(cold, 1, "the first run dates the PaymentIntent");
    let (second, _, warm) = plan(&wd, &emu, &[]);
    assert_eq!(warm, 0, "the second run reads its date from the cache");
    assert_eq!(first, second);
    // Without the cache the next run must ask again: the count above is the cache's doing.
    let (uncached, _, asked) = plan(&wd, &emu, &["--no-cache"]);
    assert_eq!(asked, 1);
    assert_eq!(uncached, first);
}

/// Someone who can write the workspace but lacks the API key moves the transaction's
/// creation time back by a year, which would make the risk period look over: the cache
/// fails its authentication, is discarded, and the transaction is read from Stripe again.
#[test]
fn a_cache_that_lies_about_a_creation_time_is_refused() {
    let emu = failed_guide_job();
    let wd = Workdir::new();
    wd.write("m.yaml", &guide_manifest("dsr-guide", "error"));
    let (truth, _, _) = plan(&wd, &emu, &[]);

    let path = wd.cache_file();
    let original = std::fs::read_to_string(&path).unwrap();
    let (before, after) = original.split_once("\"pi_guide\":").unwrap();
    let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
    let created: i64 = digits.parse().unwrap();
    let lie = format!(
        "{before}\"pi_guide\":{}{}",
        created - 365 * 86_400,
        &after[digits.len()..]
    );
    std::fs::write(&path, lie).unwrap();

    let (stdout, stderr, asked) = plan(&wd, &emu, &[]);
    assert!(stderr.contains("job cache discarded"), "{stderr}");
    assert_eq!(asked, 1, "the creation time is read from Stripe again");
    assert_eq!(stdout, truth);
}

/// An apply writes the cache when it starts (its first observation) and appends what it
/// learnt when it ends (the jobs it made, now terminal): the file is not written over,
/// and the next plan reads from it what a full listing shows.
#[test]
fn an_apply_appends_what_it_learnt_to_the_cache() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    let objects = "      customers: [cus_a1, cus_a2]\n";
    wd.write("m.yaml", &crate::common::manifest("dsr-1", objects, ""));
    wd.apply_wait(&emu).assert().success();
    let text_of = |wd: &Workdir| std::fs::read_to_string(wd.cache_file()).unwrap();
    // The header, the first observation's base (no job yet), the job apply made.
    let log = text_of(&wd);
    assert_eq!(log.lines().count(), 3, "{log}");
    assert!(log.lines().nth(2).unwrap().contains("cus_a1"), "{log}");

    let (cached, _, _) = plan(&wd, &emu, &[]);
    let (listed, _, _) = plan(&wd, &emu, &["--no-cache"]);
    assert!(cached.contains("No changes"), "{cached}");
    assert_eq!(cached, listed);
}
