//! A workspace someone else can write to: the terminal-job cache under `.redactctl/cache/`
//! must never make a plan lie — not when it came from another server, not when it was
//! edited.

use std::path::PathBuf;

use crate::common::{manifest, text, Emu, Workdir};

fn cache_file(wd: &Workdir) -> PathBuf {
    let dir = wd.path().join(".redactctl/cache");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.remove(0)
}

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
    assert!(cache_file(&wd).exists());
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
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{stdout}\n{}",
        text(&out.stderr)
    );
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
    let path = cache_file(&wd);
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
