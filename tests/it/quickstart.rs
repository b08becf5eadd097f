//! The README's quickstart command, run exactly as printed (with the binary this test
//! suite built standing in for `cargo run --release --`, which would only rebuild it).

use std::path::Path;
use std::time::Duration;

fn readme_quickstart_args() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with("cargo run --release -- apply --local"))
        .expect("the README prints the quickstart command");
    line.trim_start_matches("cargo run --release --")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_readme_quickstart_converges_on_the_embedded_emulator() {
    let args = readme_quickstart_args();
    assert_eq!(
        args,
        [
            "apply",
            "--local",
            "--auto-approve",
            "--wait",
            "examples/quickstart.yaml"
        ]
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("examples")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart.yaml"),
        dir.path().join("examples/quickstart.yaml"),
    )
    .unwrap();
    let run = || {
        assert_cmd::Command::cargo_bin("redactctl")
            .unwrap()
            .current_dir(dir.path())
            .env_remove("STRIPE_API_KEY")
            .env("NO_COLOR", "1")
            .args(&args)
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("no Stripe account is touched"), "{stderr}");
    assert!(stdout.contains("1 to create"), "{stdout}");
    assert!(stdout.contains("every entry converged"), "{stdout}");
    assert!(dir.path().join(".redactctl/local").is_dir());

    // The state persists: a second run has nothing to do.
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("No changes"), "{stdout}");

    // `emulator reset --local` forgets it.
    assert_cmd::Command::cargo_bin("redactctl")
        .unwrap()
        .current_dir(dir.path())
        .args(["emulator", "reset", "--local"])
        .assert()
        .code(0);
    assert!(!dir.path().join(".redactctl/local").exists());
}
