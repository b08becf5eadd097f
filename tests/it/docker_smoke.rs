//! `.ci/docker-smoke` never fails CI for what the machine lacks, and never passes a broken
//! image. Driven with a stand-in `docker` on PATH (a shell script that records its calls),
//! so the test needs neither Docker nor a network, and changes nothing.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::text;

/// A stand-in `docker`: logs each call; `FAKE_DOCKER` picks how it behaves.
const FAKE_DOCKER: &str = r#"#!/usr/bin/env bash
echo "$*" >> "$FAKE_DOCKER_LOG"
case "$FAKE_DOCKER:$1" in
    no-daemon:info) echo "Cannot connect to the Docker daemon" >&2; exit 1 ;;
    *:info) exit 0 ;;
    no-network:image|hang:image|broken:image) exit 1 ;;
    no-network:pull)
        echo "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host" >&2
        exit 1 ;;
    hang:pull) exec sleep 30 ;;
    broken:pull) exit 0 ;;
    *:build) echo "error: cargo build failed" >&2; exit 1 ;;
    *) exit 0 ;;
esac
"#;

fn run(mode: &str) -> (Output, String) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin/");
    let docker = bin.join("docker");
    std::fs::write(&docker, FAKE_DOCKER).expect("the stand-in docker");
    std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let log = dir.path().join("calls.log");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/docker-smoke");
    let out = std::process::Command::new("bash")
        .arg(script)
        .env("PATH", path)
        .env("FAKE_DOCKER", mode)
        .env("FAKE_DOCKER_LOG", &log)
        .env("DOCKER_SMOKE_PULL_TIMEOUT", "1")
        .output()
        .expect("bash runs the script");
    let calls = std::fs::read_to_string(&log).unwrap_or_default();
    (out, calls)
}

#[test]
fn no_daemon_skips_at_once() {
    let (out, calls) = run("no-daemon");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("docker-smoke: skipped (no usable Docker daemon"));
    assert_eq!(calls.trim(), "info", "nothing else was tried");
}

#[test]
fn base_images_that_cannot_be_pulled_skip_before_any_build() {
    let (out, calls) = run("no-network");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("skipped (cannot pull the base image docker/dockerfile:1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("no such host"),
        "the reason is shown: {stdout}"
    );
    assert!(!calls.contains("build"), "{calls}");
}

#[test]
fn a_pull_that_hangs_is_cut_off_by_the_timeout_and_skips() {
    let started = std::time::Instant::now();
    let (out, calls) = run("hang");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("within 1s: timed out"),
        "{}",
        text(&out.stdout)
    );
    assert!(!calls.contains("build"), "{calls}");
    // Generous: the stand-in sleeps 30 s; the timeout is 1 s.
    assert!(started.elapsed().as_secs() < 20);
}

#[test]
fn once_the_base_images_are_here_a_failed_build_fails() {
    let (out, calls) = run("broken");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("docker-smoke: docker build failed"));
    for image in [
        "pull --quiet docker/dockerfile:1",
        "pull --quiet rust:",
        "pull --quiet gcr.io/distroless/static-debian12:nonroot",
    ] {
        assert!(calls.contains(image), "{image} in {calls}");
    }
    assert!(!calls.contains('$'), "ARG defaults are filled in: {calls}");
    assert!(
        !calls.contains("pull --quiet build"),
        "a stage is not an image"
    );
}
