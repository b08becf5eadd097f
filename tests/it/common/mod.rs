//! Shared harness for end-to-end tests: an emulator on 127.0.0.1:0 in its own runtime, a
//! scratch directory per test, and the real `redactctl` binary pointed at both.
#![allow(dead_code)]

pub mod fuzz;

use std::path::{Path, PathBuf};
use std::time::Duration;

use redactctl::emulator::{self, Config, EmulatorHandle, Stats, UnknownObjects};
use serde_json::Value;

/// The configuration for tests that are not about whether objects exist: every
/// well-formed id exists (`unknown_objects: exist`), as arbitrary ids in their manifests
/// assume. Tests about existence use fixtures and the default (`missing`).
pub fn every_id_exists() -> Config {
    Config {
        unknown_objects: UnknownObjects::Exist,
        ..Config::default()
    }
}

/// Stripe's guide ("Complete a redaction job"): a customer whose PaymentIntent is not
/// finalized, which fails validation under `error` and is fixable under `fix`.
pub const GUIDE_FIXTURES: &str = r#"
objects:
  - id: cus_guide
    related: [pi_guide]
  - id: pi_guide
    state: requires_payment_method
"#;

/// An emulator configuration holding only these fixtures (YAML), every other id unknown.
pub fn with_fixtures(yaml: &str) -> Config {
    let fixtures: emulator::Fixtures = serde_yaml::from_str(yaml).unwrap();
    Config {
        fixtures: Some(fixtures),
        ..Config::default()
    }
}

/// A one-entry manifest on the guide's customer.
pub fn guide_manifest(name: &str, behavior: &str) -> String {
    format!(
        "version: 1\naccount:\n  mode: test\nredactions:\n  - name: {name}\n    ticket: DSR-7\n    \
         validation_behavior: {behavior}\n    objects:\n      customers: [cus_guide]\n"
    )
}

/// A test key; tests assert it never shows up anywhere.
pub const TEST_KEY: &str = "sk_test_e2eSECRETmarker0123456789";

/// An emulator running on a runtime owned by the test.
pub struct Emu {
    rt: tokio::runtime::Runtime,
    handle: Option<EmulatorHandle>,
    pub base: String,
}

impl Emu {
    pub fn start(config: Config) -> Emu {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let handle = rt
            .block_on(emulator::spawn(config, "127.0.0.1:0".parse().unwrap()))
            .unwrap();
        let base = handle.base_url();
        Emu {
            rt,
            handle: Some(handle),
            base,
        }
    }

    /// Zero delays: validation and redaction finish at once; every id exists (for the
    /// many tests whose manifests name arbitrary ids and are not about existence).
    pub fn instant() -> Emu {
        Emu::start(every_id_exists())
    }

    pub fn handle(&self) -> &EmulatorHandle {
        self.handle.as_ref().unwrap()
    }

    pub fn stats(&self) -> Stats {
        self.handle().stats()
    }

    pub fn reset_stats(&self) {
        self.handle().reset_stats()
    }

    /// Write requests (POSTs) the emulator has seen since the last reset.
    pub fn writes(&self) -> u64 {
        self.stats()
            .by_route
            .iter()
            .filter(|(route, _)| route.starts_with("POST "))
            .map(|(_, n)| *n)
            .sum()
    }

    /// Every job in the test key's namespace, objects expanded, newest first.
    pub fn jobs(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut url = format!(
                "{}/v1/privacy/redaction_jobs?limit=100&expand[]=data.objects",
                self.base
            );
            if let Some(a) = &after {
                url.push_str(&format!("&starting_after={a}"));
            }
            let page = self.get(&url);
            let data = page["data"].as_array().cloned().unwrap_or_default();
            after = data
                .last()
                .and_then(|j| j["id"].as_str())
                .map(str::to_string);
            out.extend(data);
            if !page["has_more"].as_bool().unwrap_or(false) {
                break;
            }
        }
        out
    }

    pub fn get(&self, url: &str) -> Value {
        self.rt.block_on(async {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(TEST_KEY)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .map(|t| serde_json::from_str::<Value>(&t).unwrap())
                .unwrap()
        })
    }

    /// A POST with form pairs, as a person with curl would send it.
    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        self.rt.block_on(async {
            reqwest::Client::new()
                .post(format!("{}{path}", self.base))
                .bearer_auth(TEST_KEY)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    form.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join("&"),
                )
                .send()
                .await
                .unwrap()
                .text()
                .await
                .map(|t| serde_json::from_str::<Value>(&t).unwrap())
                .unwrap()
        })
    }

    /// Moves the emulator's clock (only with `Clock::manual`).
    pub fn advance(&self, d: Duration) {
        self.handle().clock().advance(d);
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.rt.block_on(h.shutdown());
        }
    }
}

/// A scratch directory holding manifests; the binary runs with it as working directory.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// `redactctl` with the test key, the emulator's base, no colour, in this directory.
    pub fn cmd(&self, emu: &Emu) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("redactctl").unwrap();
        cmd.current_dir(self.dir.path())
            .env("STRIPE_API_KEY", TEST_KEY)
            .env("STRIPE_API_BASE", &emu.base)
            .env("NO_COLOR", "1")
            // Who approved, as audit records and receipts name them: the same everywhere.
            .env("GITHUB_ACTOR", "test-approver")
            .env_remove("RUST_LOG")
            // Plan files are unsigned unless a test signs them.
            .env_remove("REDACTCTL_PLAN_KEY")
            .timeout(Duration::from_secs(120));
        cmd
    }
}

impl Workdir {
    /// The one terminal-job cache file under `.redactctl/cache/` (asserts there is one).
    pub fn cache_file(&self) -> PathBuf {
        let dir = self.path().join(".redactctl/cache");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files.remove(0)
    }

    /// `apply --auto-approve --wait=60s m.yaml`: the converge-everything run most tests make.
    pub fn apply_wait(&self, emu: &Emu) -> assert_cmd::Command {
        let mut cmd = self.cmd(emu);
        cmd.args(["apply", "--auto-approve", "--wait=60s", "m.yaml"]);
        cmd
    }
}

/// A one-entry manifest.
pub fn manifest(name: &str, objects_yaml: &str, extra: &str) -> String {
    format!(
        "version: 1\naccount:\n  mode: test\nredactions:\n  - name: {name}\n    ticket: DSR-1\n    objects:\n{objects_yaml}{extra}"
    )
}

/// The standard output of a run that must have ended with `code`; on another code, fails
/// showing both streams.
pub fn stdout_of_exit(out: &std::process::Output, code: i32) -> String {
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    stdout
}

/// Output of an assert_cmd run as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `text` with the emulator's address (a new port each run) as `[API]`, for snapshots.
pub fn scrub_base(text: &str, emu: &Emu) -> String {
    text.replace(&emu.base, "[API]")
}
