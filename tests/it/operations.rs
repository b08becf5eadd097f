//! Receipts, status, completions and the man page.

use crate::common::{manifest, text, Emu, Workdir};

#[test]
fn report_gives_receipts_in_three_formats() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-r", "      customers: [cus_P1]\n", ""),
    );
    wd.apply_wait(&emu).assert().code(0);
    let job = emu.jobs()[0]["id"].as_str().unwrap().to_string();

    let out = wd
        .cmd(&emu)
        .args(["report", "--format", "json", "m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v["receipts"][0];
    assert_eq!(r["entry"], "dsr-r");
    assert_eq!(r["ticket"], "DSR-1");
    assert_eq!(r["state"], "converged");
    assert_eq!(r["desired"], "redacted");
    assert_eq!(r["redacted"], 1);
    assert_eq!(r["jobs"][0]["id"], job.as_str());
    let steps: Vec<&str> = r["jobs"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["create", "run"]);

    let out = wd
        .cmd(&emu)
        .args(["report", "--format", "csv", "m.yaml"])
        .output()
        .unwrap();
    let csv = text(&out.stdout);
    assert!(csv.starts_with("entry,ticket,state,certified,"), "{csv}");
    assert_eq!(csv.lines().count(), 3, "header + create + run:\n{csv}");

    let out = wd
        .cmd(&emu)
        .args(["report", "--format", "markdown", "m.yaml"])
        .output()
        .unwrap();
    let md = text(&out.stdout);
    assert!(md.contains("| dsr-r | DSR-1 | converged |"), "{md}");
}

#[test]
fn status_shows_one_row_per_entry() {
    let emu = Emu::instant();
    let wd = Workdir::new();
    wd.write(
        "m.yaml",
        &manifest("dsr-s", "      customers: [cus_Q1]\n", ""),
    );
    let out = wd.cmd(&emu).args(["status", "m.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("dsr-s"));
    wd.apply_wait(&emu).assert().code(0);
    let out = wd
        .cmd(&emu)
        .args(["status", "--format", "json", "m.yaml"])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(stdout.contains("succeeded"), "{stdout}");
    assert!(stdout.contains("dsr-s"), "{stdout}");
}

#[test]
fn completions_and_man_page_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let out = assert_cmd::Command::cargo_bin("redactctl")
            .unwrap()
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let s = text(&out.stdout);
        assert!(s.contains("redactctl") && s.contains("apply"), "{shell}");
    }
    let out = assert_cmd::Command::cargo_bin("redactctl")
        .unwrap()
        .arg("man")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains(".TH"));
}
