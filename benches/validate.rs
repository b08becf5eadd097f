//! `cargo bench --bench validate`: loads a generated 100,000-entry manifest with
//! `manifest::load` — as one file, and split over 1,000 files plus an account file (a
//! directory walk) — and prints the time and the peak memory (VmHWM) of each. Each case runs
//! in its own child process so that one case's peak does not hide the other's.
//! Goal: under 2 s and under 300 MB per case in a release build.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const ENTRIES: usize = 100_000;
const CASE_VAR: &str = "REDACTCTL_BENCH_CASE";

/// One entry, written the way people write them (block style, a ticket, 3 objects).
fn entry(out: &mut String, i: usize) {
    let _ = write!(
        out,
        "  - name: dsr-{i:07}\n    ticket: DSR-{i}\n    objects:\n      customers: [cus_{i:014}]\n      payment_intents:\n        - pi_{i:022}\n        - pi_{i:021}x\n"
    );
}

fn generate_one(dir: &Path) -> usize {
    let mut text = String::from(
        "version: 1\naccount:\n  mode: test\ndefaults:\n  validation_behavior: fix\nredactions:\n",
    );
    for i in 0..ENTRIES {
        entry(&mut text, i);
    }
    fs::write(dir.join("big.yaml"), &text).expect("write the manifest");
    text.len()
}

fn generate_many(dir: &Path, files: usize) {
    fs::write(
        dir.join("account.yaml"),
        "version: 1\naccount: {mode: test}\n",
    )
    .expect("write");
    let per = ENTRIES / files;
    for f in 0..files {
        let mut text = String::from("version: 1\nredactions:\n");
        for i in f * per..(f + 1) * per {
            entry(&mut text, i);
        }
        fs::write(dir.join(format!("req-{f:04}.yaml")), text).expect("write");
    }
}

/// Peak resident memory of this process in MB (Linux), if known.
fn peak_mb() -> Option<f64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// CPU time (user + system) this process has used, in ms (Linux), if known: on a shared
/// machine, wall-clock time also measures the neighbours.
fn cpu_ms() -> Option<f64> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks * 10.0) // USER_HZ is 100 on Linux
}

/// The child: load one path, print the figures.
fn run_case(path: PathBuf) {
    let start = Instant::now();
    let cpu_start = cpu_ms().unwrap_or(f64::NAN);
    let loaded = redactctl::manifest::load(&[path]).expect("the generated manifest is valid");
    let elapsed = start.elapsed();
    assert_eq!(loaded.desired.entries.len(), ENTRIES);
    println!(
        "{:>7.1} ms wall  {:>6.0} ms cpu  peak RSS {:>6.1} MB",
        elapsed.as_secs_f64() * 1000.0,
        cpu_ms().unwrap_or(f64::NAN) - cpu_start,
        peak_mb().unwrap_or(f64::NAN)
    );
}

fn main() {
    if let Some(path) = std::env::var_os(CASE_VAR) {
        run_case(PathBuf::from(path));
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let one = dir.path().join("one");
    let many = dir.path().join("many");
    fs::create_dir_all(&one).expect("mkdir");
    fs::create_dir_all(&many).expect("mkdir");
    let bytes = generate_one(&one);
    generate_many(&many, 1000);
    println!(
        "manifest::load, {ENTRIES} entries ({:.1} MB of YAML); goal < 2000 ms, < 300 MB",
        bytes as f64 / 1e6
    );
    let exe = std::env::current_exe().expect("own path");
    for (label, path) in [
        ("1 file", one.join("big.yaml")),
        ("1,001 files (dir walk)", many),
    ] {
        for run in 1..=3 {
            let out = Command::new(&exe)
                .env(CASE_VAR, &path)
                .output()
                .expect("run the case");
            print!(
                "{label:<24} run {run}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            if !out.status.success() {
                eprintln!("{}", String::from_utf8_lossy(&out.stderr));
            }
        }
    }
}
