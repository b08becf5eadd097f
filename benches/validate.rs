//! `cargo bench --bench validate`: loads a generated 100,000-entry manifest (one file, and
//! the same entries split over 1,000 files) with `manifest::load`, and prints the time and
//! the process's peak memory (VmHWM). Goal: under 2 s and under 300 MB in a release build.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Instant;

const ENTRIES: usize = 100_000;

/// One entry, written the way people write them (block style, 3 objects, a ticket).
fn entry(out: &mut String, i: usize) {
    let _ = write!(
        out,
        "  - name: dsr-{i:07}\n    ticket: DSR-{i}\n    objects:\n      customers: [cus_{i:014}]\n      payment_intents:\n        - pi_{i:022}\n        - pi_{i:021}x\n"
    );
}

fn generate_one(dir: &Path) -> u64 {
    let mut text = String::from(
        "version: 1\naccount:\n  mode: test\ndefaults:\n  validation_behavior: fix\nredactions:\n",
    );
    for i in 0..ENTRIES {
        entry(&mut text, i);
    }
    let path = dir.join("big.yaml");
    fs::write(&path, &text).expect("write the manifest");
    text.len() as u64
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

fn time_load(label: &str, path: &Path) {
    let start = Instant::now();
    let loaded =
        redactctl::manifest::load(&[path.to_path_buf()]).expect("the generated manifest is valid");
    let elapsed = start.elapsed();
    assert_eq!(loaded.desired.entries.len(), ENTRIES);
    println!(
        "{label:<28} {ENTRIES} entries  {:>8.1} ms  peak RSS so far {:.1} MB",
        elapsed.as_secs_f64() * 1000.0,
        peak_mb().unwrap_or(f64::NAN)
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let one = dir.path().join("one");
    let many = dir.path().join("many");
    fs::create_dir_all(&one).expect("mkdir");
    fs::create_dir_all(&many).expect("mkdir");
    let bytes = generate_one(&one);
    generate_many(&many, 1000);
    println!(
        "manifest: {ENTRIES} entries, {:.1} MB of YAML; peak RSS before loading {:.1} MB",
        bytes as f64 / 1e6,
        peak_mb().unwrap_or(f64::NAN)
    );
    time_load("load (1 file)", &one.join("big.yaml"));
    time_load("load (1,001 files, dir walk)", &many);
    println!("goal: < 2000 ms and < 300 MB (release)");
}
