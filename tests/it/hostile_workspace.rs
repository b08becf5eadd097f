//! A workspace someone else can write to: the terminal-job cache under `.redactctl/cache/`
//! must never make a plan lie — not when it came from another server, not when it was
//! edited.

use crate::common::{manifest, stdout_of_exit, text, Emu, Workdir};

/// Converged on one emulator, the same directory and key pointed at a fresh one: the
/// plan must create the job again, not report "No changes" from the cache.
#[test]
fn a_cache_from_another_server_does_not_make_the_plan_lie() {
    let first = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-1", "      customers: [cus_moved1]\n", ""),
    );
    wd.apply_wait(&first).assert().success();
    assert!(wd.cache_file().exists());
    let plan = wd.cmd(&first).args(["plan", "m.yaml"]).output().unwrap();
    assert!(
        text(&plan.stdout).contains("No changes"),
        "{}",
        text(&plan.stdout)
    );

    let second = Emu::instant();
    let out = wd
        .cmd(&second)
        .args(["plan", "--detailed-exitcode", "m.yaml"])
        .output()
        .unwrap();
    let stdout = stdout_of_exit(&out, 2);
    assert!(stdout.contains("+ create"), "{stdout}");
}

/// An appended fake `succeeded` job covering a declared object: the cache fails its
/// authentication, is discarded with a warning, and the entry is not "converged".
#[test]
fn an_edited_cache_is_discarded_and_the_entry_is_not_converged() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-1", "      customers: [cus_real1]\n", ""),
    );
    wd.apply_wait(&emu).assert().success();
    let path = wd.cache_file();
    let original = std::fs::read_to_string(&path).unwrap();
    let poisoned = original.replacen(
        "\"terminal\":[",
        "\"terminal\":[{\"id\":\"prj_POISON\",\"object\":\"privacy.redaction_job\",\"created\":1,\"livemode\":false,\"objects\":{\"customers\":[\"cus_victim\"]},\"status\":\"succeeded\",\"validation_behavior\":null,\"validation_errors\":null},",
        1,
    );
    assert_ne!(poisoned, original, "the cache lists terminal jobs");
    std::fs::write(&path, poisoned).unwrap();

    wd.write(
        "m.yaml",
        &format!(
            "{}  - name: dsr-2\n    objects:\n      customers: [cus_victim]\n",
            manifest("dsr-1", "      customers: [cus_real1]\n", "")
        ),
    );
    let out = wd
        .cmd(&emu)
        .args(["plan", "--detailed-exitcode", "m.yaml"])
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stdout.contains("+ create"), "{stdout}");
    assert!(stdout.contains("cus_victim"), "{stdout}");
    assert!(!stdout.contains("prj_POISON"), "{stdout}");
    assert!(stderr.contains("job cache discarded"), "{stderr}");
    // The file was rewritten from what Stripe said: the fake job is gone.
    assert!(!std::fs::read_to_string(&path)
        .unwrap()
        .contains("prj_POISON"));
}

/// `validate` on a path whose metadata says 0 bytes but that never ends: it stops with a
/// clear error at once instead of reading until the kernel kills it.
#[cfg(unix)]
#[test]
fn validate_dev_zero_ends_with_an_error_at_once() {
    let wd = Workdir::new();
    let started = std::time::Instant::now();
    let out = assert_cmd::Command::cargo_bin("redactctl")
        .unwrap()
        .current_dir(wd.path())
        .env("NO_COLOR", "1")
        .args(["validate", "/dev/zero"])
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("/dev/zero"), "{stderr}");
    assert!(stderr.contains("binary file"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// A FIFO fed without end (`yes`-like writer) and a FIFO nobody writes to: both end with a
/// clear error, the first at the size cap (bounded memory), the second after the open
/// deadline.
#[cfg(unix)]
#[test]
fn validate_a_fifo_ends_with_an_error() {
    use std::io::Write;
    let wd = Workdir::new();
    let fifo = wd.path().join("m.yaml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        return;
    }
    let validate = || {
        assert_cmd::Command::cargo_bin("redactctl")
            .unwrap()
            .current_dir(wd.path())
            .env("NO_COLOR", "1")
            .args(["validate", "m.yaml"])
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap()
    };
    // Nobody writes.
    let out = validate();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("FIFO"), "{}", text(&out.stderr));

    // Endless YAML comments: only the cap stops it.
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&writer_path) else {
            return;
        };
        let line = b"# padding padding padding padding padding padding padding padding\n";
        let block: Vec<u8> = line.repeat(1024);
        while f.write_all(&block).is_ok() {}
    });
    let out = validate();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("larger than"), "{stderr}");
    writer.join().unwrap();
}

/// Ids a reviewer cannot see: a right-to-left override, a zero-width space and a
/// byte-order mark inside ids are `validate` errors with file and line that name each
/// character by its code point.
#[test]
fn invisible_characters_in_ids_are_named_by_code_point() {
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        "version: 1\naccount:\n  mode: test\nredactions:\n  - name: dsr-1\n    objects:\n      customers: [\"cus_1\u{202E}2\", \"cus_\u{200B}3\"]\n      payment_intents:\n        - \"pi_\u{FEFF}4\"\n        - pi_5-6\n",
    );
    let out = assert_cmd::Command::cargo_bin("redactctl")
        .unwrap()
        .current_dir(wd.path())
        .args(["--color=never", "validate", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    for code in ["U+202E", "U+200B", "U+FEFF", "U+002D"] {
        assert!(stderr.contains(code), "{code}: {stderr}");
    }
    insta::assert_snapshot!(stderr);
}

/// What `report` calls before certifying a job: Stripe's word in this run. A job id taken
/// from a file (a cache, a log) that Stripe does not know is `None`, never certified.
#[test]
fn confirming_jobs_with_stripe_rejects_jobs_it_does_not_know() {
    use redactctl::observe::confirm::confirm_jobs;
    use redactctl::stripe::{ApiKey, Client, ClientConfig};
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-1", "      customers: [cus_conf1]\n", ""),
    );
    wd.apply_wait(&emu).assert().success();
    let real = emu.jobs()[0]["id"].as_str().unwrap().to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = Client::new(ClientConfig::new(
        &emu.base,
        ApiKey::parse(crate::common::TEST_KEY).unwrap(),
    ))
    .unwrap();
    let confirmed = rt
        .block_on(confirm_jobs(
            &client,
            [real.clone(), "prj_POISON".to_string(), real.clone()],
            4,
        ))
        .unwrap();
    assert_eq!(confirmed.len(), 2);
    assert_eq!(
        confirmed[&real].as_ref().map(|j| j.status.as_str()),
        Some("succeeded")
    );
    assert!(confirmed["prj_POISON"].is_none());
}

/// A FIFO planted where the cache file is: the plan does not hang on it; the cache is
/// discarded with a warning and every job is listed.
#[cfg(unix)]
#[test]
fn a_fifo_in_place_of_the_cache_is_discarded_not_waited_on() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-1", "      customers: [cus_fifo1]\n", ""),
    );
    wd.apply_wait(&emu).assert().success();
    let path = wd.cache_file();
    std::fs::remove_file(&path).unwrap();
    let made = std::process::Command::new("mkfifo").arg(&path).status();
    if !made.is_ok_and(|s| s.success()) {
        return;
    }
    let out = wd
        .cmd(&emu)
        .args(["plan", "m.yaml"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("No changes"), "{stdout}");
    assert!(stderr.contains("job cache discarded"), "{stderr}");
    assert!(stderr.contains("FIFO"), "{stderr}");
}

/// A FIFO that nothing reads, planted where the audit log goes: `apply` stops with a clear
/// error within the open's deadline, and sends nothing, instead of waiting for ever.
#[cfg(unix)]
#[test]
fn a_fifo_in_place_of_the_audit_log_stops_apply_before_any_request() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-1", "      customers: [cus_fifo2]\n", ""),
    );
    std::fs::create_dir_all(wd.path().join(".redactctl")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(wd.path().join(".redactctl/audit.jsonl"))
        .status();
    if !made.is_ok_and(|s| s.success()) {
        return;
    }
    let out = wd
        .apply_wait(&emu)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("cannot open the audit log"), "{stderr}");
    assert!(stderr.contains("nothing reads from"), "{stderr}");
    let stats = emu.stats();
    assert_eq!(
        stats.route("POST /v1/privacy/redaction_jobs"),
        0,
        "{stats:?}"
    );
}
