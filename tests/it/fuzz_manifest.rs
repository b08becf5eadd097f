//! Hostile input for the manifest loader (issue #7, item 4): 100,000 generated inputs
//! (four tests of 25,000, so the two cores share them), half of them mutations of every
//! file under `examples/`, half grammar-generated manifests. Each goes through
//! `manifest::load_bytes`, the loader `load` uses minus the disk read. Asserted for every
//! input: no panic, and every diagnostic points at a line ≥ 1 and column ≥ 1 of the file
//! (inside it), except the few that by nature have no place (see `UNLOCATED`).
//!
//! Every run uses the same seeds, so a failure reproduces; the failure message gives the
//! seed, the case number and the input. To explore further, set `FUZZ_SEED=<u64>`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use crate::common::fuzz::{self, fuzz_seed, seed};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redactctl::kinds::ObjectKind;
use redactctl::manifest::{self, Diagnostic};

/// Diagnostics that have no place by nature, matched on their message: an absence over
/// every file. (`load` also has "no such file or directory", "no manifest files in
/// directory" and "no redactctl manifests in directory", about paths rather than text,
/// which in-memory input cannot produce.)
const UNLOCATED: [&str; 1] = ["no `account` in the manifests"];

/// Every file under `examples/` (manifests, fixtures and the CI workflows), sorted.
fn examples() -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                walk(&p, out);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.push((p, bytes));
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"),
        &mut out,
    );
    assert!(out.len() >= 8, "examples/ went missing: {out:?}");
    out
}

/// Loads `bytes` under `label`, failing the test (with seed, case and input) on a panic or
/// on a diagnostic without a proper place. Returns whether the input loaded.
fn check(label: &Path, bytes: &[u8], seed: u64, case: usize) -> bool {
    let fail = |why: String| -> ! {
        panic!(
            "seed {seed} (FUZZ_SEED={:?}) case {case}: {why}\n--- input ({} bytes) ---\n{}\n--- as bytes ---\n{:?}",
            fuzz_seed(),
            bytes.len(),
            String::from_utf8_lossy(bytes),
            bytes
        )
    };
    let result = catch_unwind(AssertUnwindSafe(|| {
        manifest::load_bytes(label, bytes.to_vec())
    }))
    .unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        fail(format!("the loader panicked: {msg}"))
    });
    let (ok, diags) = match result {
        Ok(loaded) => {
            for e in &loaded.desired.entries {
                if e.location.line < 1 || e.location.column < 1 {
                    fail(format!("entry `{}` at {:?}", e.name, e.location));
                }
            }
            (true, loaded.warnings)
        }
        Err(failure) => {
            if failure.errors() == 0 {
                fail(format!(
                    "a failure without an error: {:?}",
                    failure.diagnostics
                ));
            }
            (false, failure.diagnostics)
        }
    };
    // A file of n line breaks has n + 1 lines.
    let text = String::from_utf8_lossy(bytes);
    // Lines as YAML sees them: `\r\n`, `\r` and `\n` each end one.
    let lines: Vec<usize> = text
        .replace("\r\n", "\n")
        .split(['\n', '\r'])
        .map(|l| l.chars().count())
        .collect();
    for d in &diags {
        if let Err(why) = located(d, label, &lines) {
            fail(format!("{why}: {d:?}"));
        }
    }
    // Rendering (carets under tabs, wide characters, lines past the end) must not panic
    // either. It costs as much as loading in a debug build: one case in four is rendered
    // (25,000 over the four tests).
    if case % 4 == 0 {
        let _ = manifest::render_diagnostics(&diags, case % 8 == 0);
    }
    ok
}

/// Whether `d` points inside `label` (or is one of the `UNLOCATED` kinds): at a line of
/// the file, and at most one column past that line's last character. `lines` holds the
/// number of characters of each line.
fn located(d: &Diagnostic, label: &Path, lines: &[usize]) -> Result<(), String> {
    let Some(loc) = &d.location else {
        return if UNLOCATED.iter().any(|m| d.message.contains(m)) {
            Ok(())
        } else {
            Err("a diagnostic without a location".into())
        };
    };
    let places = std::iter::once(loc).chain(d.related.iter().map(|(l, _)| l));
    for l in places {
        if l.file != label {
            return Err(format!("located in another file {:?}", l.file));
        }
        let width = l.line.checked_sub(1).and_then(|i| lines.get(i));
        match width {
            Some(w) if l.column >= 1 && l.column <= w + 1 => {}
            _ => {
                return Err(format!(
                    "location {}:{} is outside the input ({} lines, that one {width:?} long)",
                    l.line,
                    l.column,
                    lines.len()
                ))
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Mutations of real files

/// Characters that mean something to YAML, plus whitespace and bytes that are not text.
const SIGNIFICANT: &[&[u8]] = &[
    b":",
    b"-",
    b"[",
    b"]",
    b"{",
    b"}",
    b"&",
    b"*",
    b"!",
    b"|",
    b">",
    b"'",
    b"\"",
    b"#",
    b"%",
    b"@",
    b"`",
    b",",
    b"?",
    b"\t",
    b"\n",
    b"\r",
    b" ",
    b"\0",
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b"\xef\xbb\xbf",
    b"---\n",
    b"...\n",
    b": ",
    b"- ",
    b"&a ",
    b"*a",
    b"!!str ",
    b"!!binary ",
    b"<<: *a\n",
    b"\\",
    b"\"\\u",
    b"\\x",
    b"\xf0\x9f\x92\xa9",
    b"\x1b[31m",
    b"\x7f",
    b"~",
    b"null",
    b"0x",
    b"1e999",
    b"-.inf",
    b".nan",
    b"99999999999999999999",
];

/// One random edit of `buf`, in place.
fn mutate_once(rng: &mut StdRng, buf: &mut Vec<u8>, others: &[(PathBuf, Vec<u8>)]) {
    let len = buf.len();
    let at = |rng: &mut StdRng| if len == 0 { 0 } else { rng.gen_range(0..=len) };
    match rng.gen_range(0..12) {
        // Flip bits of a byte.
        0 if len > 0 => {
            let i = rng.gen_range(0..len);
            buf[i] ^= 1 << rng.gen_range(0..8);
        }
        // Replace a byte by any byte.
        1 if len > 0 => {
            let i = rng.gen_range(0..len);
            buf[i] = rng.gen();
        }
        // Delete a range.
        2 if len > 0 => {
            let i = rng.gen_range(0..len);
            let n = rng.gen_range(1..=(len - i).min(16));
            buf.drain(i..i + n);
        }
        // Insert YAML-significant text.
        3 | 4 => {
            let i = at(rng);
            let s = SIGNIFICANT[rng.gen_range(0..SIGNIFICANT.len())];
            buf.splice(i..i, s.iter().copied());
        }
        // Truncate.
        5 => {
            let i = at(rng);
            buf.truncate(i);
        }
        // Swap two lines, duplicate a line, or delete a line.
        6..=8 => {
            let mut lines: Vec<Vec<u8>> = buf.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            let n = lines.len();
            let (a, b) = (rng.gen_range(0..n), rng.gen_range(0..n));
            match rng.gen_range(0..3) {
                0 => lines.swap(a, b),
                1 => {
                    let dup = lines[a].clone();
                    lines.insert(b, dup);
                }
                _ => {
                    lines.remove(a);
                }
            }
            *buf = lines.join(&b'\n');
        }
        // Change a line's indentation.
        9 => {
            let mut lines: Vec<Vec<u8>> = buf.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            let a = rng.gen_range(0..lines.len());
            if rng.gen_bool(0.5) {
                let pad = if rng.gen_bool(0.8) { b' ' } else { b'\t' };
                let n = rng.gen_range(1..5);
                lines[a].splice(0..0, std::iter::repeat_n(pad, n));
            } else {
                let n = lines[a].iter().take_while(|b| **b == b' ').count();
                lines[a].drain(..rng.gen_range(0..=n));
            }
            *buf = lines.join(&b'\n');
        }
        // Splice in lines of another example.
        10 => {
            let (_, other) = &others[rng.gen_range(0..others.len())];
            let lines: Vec<&[u8]> = other.split(|b| *b == b'\n').collect();
            let from = rng.gen_range(0..lines.len());
            let to = (from + rng.gen_range(1..6)).min(lines.len());
            let mut piece = lines[from..to].join(&b'\n');
            piece.push(b'\n');
            let i = at(rng);
            buf.splice(i..i, piece);
        }
        // Repeat a chunk (duplicated keys, entries, documents).
        _ if len > 0 => {
            let i = rng.gen_range(0..len);
            let n = rng.gen_range(1..=(len - i).min(200));
            let chunk = buf[i..i + n].to_vec();
            let j = at(rng);
            buf.splice(j..j, chunk);
        }
        _ => buf.extend_from_slice(b"version: 1\n"),
    }
}

fn run_mutations(default_seed: u64) {
    let cases = fuzz::cases();
    let seed = seed(default_seed);
    let mut rng = StdRng::seed_from_u64(seed);
    let examples = examples();
    // The unmutated examples themselves: the manifests among them load.
    for (i, (path, bytes)) in examples.iter().enumerate() {
        let ok = check(path, bytes, seed, i);
        let is_manifest = !path.components().any(|c| c.as_os_str() == "ci")
            && !path.ends_with("emulator/fixtures.yaml");
        let alone_ok = !path.to_string_lossy().contains("requests/dsr");
        assert_eq!(ok, is_manifest && alone_ok, "{}", path.display());
    }
    let mut loaded = 0;
    for case in 0..cases {
        let (path, original) = &examples[case % examples.len()];
        let mut buf = original.clone();
        for _ in 0..rng.gen_range(1..=4) {
            mutate_once(&mut rng, &mut buf, &examples);
        }
        loaded += usize::from(check(path, &buf, seed, case));
    }
    // The mutations are neither all fatal nor all harmless: both paths are exercised.
    eprintln!("seed {seed}: {loaded} of {cases} mutated examples loaded");
    assert!(
        loaded > cases / 20 && loaded < cases * 19 / 20,
        "{loaded} of {cases} loaded"
    );
}

#[test]
fn mutated_examples_never_panic_and_every_error_is_located() {
    run_mutations(0x7eda_c700_0001);
}

#[test]
fn more_mutated_examples_never_panic_and_every_error_is_located() {
    run_mutations(0x7eda_c700_0002);
}

// ---------------------------------------------------------------------------------------
// Grammar-generated manifests

/// Builds random YAML text from a small grammar: real keys and values most of the time,
/// wrong types, unknown keys, odd ids, anchors and aliases, several documents, flow and
/// block style, deep nesting.
struct Gen<'a> {
    rng: &'a mut StdRng,
    out: String,
}

impl Gen<'_> {
    fn pick<'s>(&mut self, items: &[&'s str]) -> &'s str {
        items[self.rng.gen_range(0..items.len())]
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }

    /// A scalar, mostly plausible.
    fn scalar(&mut self) -> String {
        match self.rng.gen_range(0..14) {
            0 => String::new(),
            1 => "~".into(),
            2 => self.rng.gen::<i64>().to_string(),
            3 => format!("{}", self.rng.gen::<f64>()),
            4 => self
                .pick(&["true", "false", "yes", "no", "on", ".inf", "0x1F", "1e3"])
                .into(),
            5 => format!("\"{}\"", self.word().replace('"', "\\\"")),
            6 => format!("'{}'", self.word().replace('\'', "''")),
            7 => "x".repeat(self.rng.gen_range(1..300)),
            8 => self
                .pick(&[
                    "é",
                    "名前",
                    "\u{200b}",
                    "🙂",
                    "a\\tb",
                    "\"\\u00e9\"",
                    "\"\\x00\"",
                ])
                .into(),
            9 => self.id(),
            10 => format!("*{}", self.pick(&["a", "b", "missing"])),
            11 => format!(
                "!!{} {}",
                self.pick(&["str", "int", "map", "binary", "weird"]),
                self.word()
            ),
            _ => self.word(),
        }
    }

    fn word(&mut self) -> String {
        let n = self.rng.gen_range(1..12);
        (0..n)
            .map(|_| {
                let c = self.rng.gen_range(0..40u8);
                match c {
                    0..=25 => (b'a' + c) as char,
                    26..=35 => (b'0' + c - 26) as char,
                    36 => '-',
                    37 => '_',
                    38 => '.',
                    _ => '/',
                }
            })
            .collect()
    }

    /// An object id: right prefix, wrong prefix, empty suffix, odd characters, or huge.
    fn id(&mut self) -> String {
        let kind = ObjectKind::ALL[self.rng.gen_range(0..ObjectKind::ALL.len())];
        let prefix = kind.prefixes()[0];
        match self.rng.gen_range(0..8) {
            0 => prefix.to_string(),
            1 => format!("{prefix}{}", "Z".repeat(self.rng.gen_range(100..400))),
            2 => format!(
                "{}{}",
                self.pick(&["xx_", "cus", "_", "CUS_", "pi-"]),
                self.word()
            ),
            3 => format!("\"{prefix}{} \"", self.word()),
            _ => format!("{prefix}{}", self.word()),
        }
    }

    fn kind_name(&mut self) -> String {
        if self.chance(0.85) {
            ObjectKind::ALL[self.rng.gen_range(0..ObjectKind::ALL.len())].to_string()
        } else {
            self.pick(&[
                "customer",
                "Customers",
                "accounts",
                "",
                "objects",
                "\"customers\"",
            ])
            .into()
        }
    }

    /// Any value, up to `depth` levels of nesting.
    fn any_value(&mut self, depth: usize) -> Value {
        if depth == 0 || self.chance(0.5) {
            return Value::Scalar(self.scalar());
        }
        let n = self.rng.gen_range(0..4);
        if self.chance(0.5) {
            Value::Seq((0..n).map(|_| self.any_value(depth - 1)).collect())
        } else {
            Value::Map(
                (0..n)
                    .map(|_| (self.word(), self.any_value(depth - 1)))
                    .collect(),
            )
        }
    }

    fn objects(&mut self) -> Value {
        if self.chance(0.1) {
            return self.any_value(3);
        }
        let kinds = self.rng.gen_range(0..4);
        Value::Map(
            (0..kinds)
                .map(|_| {
                    let ids = if self.chance(0.1) {
                        self.any_value(2)
                    } else {
                        let n = self.rng.gen_range(0..6);
                        Value::Seq((0..n).map(|_| Value::Scalar(self.id())).collect())
                    };
                    (self.kind_name(), ids)
                })
                .collect(),
        )
    }

    fn entry(&mut self) -> Value {
        let mut fields: Vec<(String, Value)> = Vec::new();
        if self.chance(0.9) {
            let name = if self.chance(0.8) {
                format!("dsr-{}", self.word())
            } else {
                self.scalar()
            };
            fields.push(("name".into(), Value::Scalar(name)));
        }
        if self.chance(0.5) {
            fields.push(("ticket".into(), Value::Scalar(self.scalar())));
        }
        if self.chance(0.9) {
            fields.push(("objects".into(), self.objects()));
        }
        let optional = [
            (
                "validation_behavior",
                &["error", "fix", "ignore", "FIX", ""][..],
            ),
            ("state", &["redacted", "validated", "canceled", "done"][..]),
            ("via", &["redaction_job", "identity_redact", "api"][..]),
        ];
        for (key, values) in optional {
            if self.chance(0.3) {
                let v = if self.chance(0.9) {
                    self.pick(values).to_string()
                } else {
                    self.scalar()
                };
                fields.push((key.into(), Value::Scalar(v)));
            }
        }
        if self.chance(0.1) {
            fields.push((self.word(), self.any_value(2)));
        }
        if self.chance(0.05) && !fields.is_empty() {
            let dup = fields[self.rng.gen_range(0..fields.len())].clone();
            fields.push(dup);
        }
        if self.chance(0.05) {
            return self.any_value(2);
        }
        Value::Map(fields)
    }

    fn document(&mut self) -> Value {
        let mut top: Vec<(String, Value)> = Vec::new();
        if self.chance(0.9) {
            let v = if self.chance(0.9) {
                "1".into()
            } else {
                self.scalar()
            };
            top.push(("version".into(), Value::Scalar(v)));
        }
        if self.chance(0.85) {
            let mut acct = vec![(
                "mode".to_string(),
                Value::Scalar(self.pick(&["test", "live", "sandbox", ""]).into()),
            )];
            if self.chance(0.3) {
                let id = format!("{}{}", self.pick(&["acct_", "acc_", ""]), self.word());
                acct.push(("id".into(), Value::Scalar(id)));
            }
            if self.chance(0.2) {
                acct.push((
                    "connected_account".into(),
                    Value::Scalar(format!("acct_{}", self.word())),
                ));
            }
            let acct = if self.chance(0.05) {
                self.any_value(2)
            } else {
                Value::Map(acct)
            };
            top.push(("account".into(), acct));
        }
        if self.chance(0.3) {
            let mut d = Vec::new();
            for (k, vs) in [
                ("validation_behavior", &["error", "fix", "x"][..]),
                ("state", &["redacted", "validated", "canceled"][..]),
                ("via", &["redaction_job", "identity_redact"][..]),
            ] {
                if self.chance(0.5) {
                    d.push((k.to_string(), Value::Scalar(self.pick(vs).into())));
                }
            }
            top.push(("defaults".into(), Value::Map(d)));
        }
        if self.chance(0.9) {
            let n = self.rng.gen_range(0..6);
            let entries = if self.chance(0.05) {
                self.any_value(2)
            } else {
                Value::Seq((0..n).map(|_| self.entry()).collect())
            };
            top.push(("redactions".into(), entries));
        }
        if self.chance(0.1) {
            top.push((self.word(), self.any_value(3)));
        }
        if self.chance(0.03) {
            // Deeper than the loader accepts.
            let mut v = Value::Scalar("deep".into());
            for _ in 0..self.rng.gen_range(20..80) {
                v = if self.chance(0.5) {
                    Value::Seq(vec![v])
                } else {
                    Value::Map(vec![("k".into(), v)])
                };
            }
            top.push(("deep".into(), v));
        }
        Value::Map(top)
    }

    /// Writes `v` in block style at `indent`, with the occasional flow collection, anchor.
    fn block(&mut self, v: &Value, indent: usize) {
        let pad = " ".repeat(indent);
        match v {
            Value::Scalar(s) => {
                self.out.push(' ');
                self.out.push_str(s);
                self.out.push('\n');
            }
            _ if self.chance(0.1) => {
                self.out.push(' ');
                self.flow(v);
                self.out.push('\n');
            }
            Value::Seq(items) if items.is_empty() => self.out.push_str(" []\n"),
            Value::Map(items) if items.is_empty() => self.out.push_str(" {}\n"),
            Value::Seq(items) => {
                if self.chance(0.05) {
                    self.out.push_str(" &a");
                }
                self.out.push('\n');
                for item in items {
                    self.out.push_str(&pad);
                    self.out.push('-');
                    self.block(item, indent + 2);
                }
            }
            Value::Map(items) => {
                if self.chance(0.05) {
                    self.out.push_str(" &b");
                }
                self.out.push('\n');
                for (k, item) in items {
                    self.out.push_str(&pad);
                    self.out.push_str(k);
                    self.out.push(':');
                    self.block(item, indent + 2);
                }
            }
        }
    }

    fn flow(&mut self, v: &Value) {
        match v {
            Value::Scalar(s) => self.out.push_str(s),
            Value::Seq(items) => {
                self.out.push('[');
                for item in items {
                    self.flow(item);
                    self.out.push_str(", ");
                }
                self.out.push(']');
            }
            Value::Map(items) => {
                self.out.push('{');
                for (k, item) in items {
                    self.out.push_str(k);
                    self.out.push_str(": ");
                    self.flow(item);
                    self.out.push_str(", ");
                }
                self.out.push('}');
            }
        }
    }
}

#[derive(Clone, Debug)]
enum Value {
    Scalar(String),
    Seq(Vec<Value>),
    Map(Vec<(String, Value)>),
}

fn generate(rng: &mut StdRng) -> String {
    let mut g = Gen {
        rng,
        out: String::new(),
    };
    if g.chance(0.2) {
        g.out.push_str("# generated\n");
    }
    let docs = if g.chance(0.85) {
        1
    } else {
        g.rng.gen_range(0..4)
    };
    for i in 0..docs {
        if i > 0 || g.chance(0.1) {
            g.out.push_str("---\n");
        }
        let doc = g.document();
        if g.chance(0.15) {
            g.flow(&doc);
            g.out.push('\n');
        } else if let Value::Map(items) = &doc {
            for (k, v) in items {
                g.out.push_str(k);
                g.out.push(':');
                g.block(v, 2);
            }
        }
    }
    g.out
}

fn run_generated(default_seed: u64) {
    let cases = fuzz::cases();
    let seed = seed(default_seed);
    let mut rng = StdRng::seed_from_u64(seed);
    let label = Path::new("generated/manifest.yaml");
    let mut loaded = 0;
    let mut bytes = 0;
    for case in 0..cases {
        let text = generate(&mut rng);
        bytes += text.len();
        loaded += usize::from(check(label, text.as_bytes(), seed, case));
    }
    eprintln!(
        "seed {seed}: {loaded} of {cases} generated manifests loaded; {} bytes on average",
        bytes / cases
    );
    assert!(
        loaded > cases / 50 && loaded < cases * 19 / 20,
        "{loaded} of {cases} loaded"
    );
}

#[test]
fn generated_manifests_never_panic_and_every_error_is_located() {
    run_generated(0x7eda_c700_0003);
}

#[test]
fn more_generated_manifests_never_panic_and_every_error_is_located() {
    run_generated(0x7eda_c700_0004);
}

/// `load_bytes` is `load` without the disk: same result for a file and for its bytes, for
/// the examples and for broken versions of them.
#[test]
fn load_bytes_agrees_with_load() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let examples = examples();
    for (n, (_, bytes)) in examples.iter().enumerate() {
        for round in 0..5 {
            let mut buf = bytes.clone();
            for _ in 0..round {
                mutate_once(&mut rng, &mut buf, &examples);
            }
            let path = dir.path().join(format!("m{n}-{round}.yaml"));
            std::fs::write(&path, &buf).unwrap();
            let from_disk = manifest::load(std::slice::from_ref(&path));
            let in_memory = manifest::load_bytes(&path, buf);
            assert_eq!(from_disk, in_memory, "{}", path.display());
        }
    }
}

/// The located-ness check itself rejects what it should.
#[test]
fn the_location_check_can_fail() {
    let label = Path::new("m.yaml");
    let lines = [4, 0, 6];
    assert!(located(&Diagnostic::error("boom"), label, &lines).is_err());
    assert!(located(
        &Diagnostic::error("no `account` in the manifests"),
        label,
        &lines
    )
    .is_ok());
    let at = |line, column| {
        Diagnostic::error("x").at(
            manifest::Location {
                file: label.into(),
                line,
                column,
            },
            None,
            1,
        )
    };
    assert!(located(&at(1, 1), label, &lines).is_ok());
    assert!(located(&at(1, 5), label, &lines).is_ok());
    assert!(located(&at(2, 1), label, &lines).is_ok());
    assert!(located(&at(3, 7), label, &lines).is_ok());
    assert!(located(&at(0, 1), label, &lines).is_err());
    assert!(located(&at(1, 0), label, &lines).is_err());
    assert!(located(&at(1, 6), label, &lines).is_err());
    assert!(located(&at(2, 2), label, &lines).is_err());
    assert!(located(&at(4, 1), label, &lines).is_err());
}
