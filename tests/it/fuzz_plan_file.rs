//! Hostile input for the plan-file loader (issue #7, item 4): 100,000 generated inputs
//! (four tests of 25,000) through `plan::parse_plan_file`. The bases are real plan files:
//! the JSON view snapshot and plans rendered by `plan::render_json` from generated
//! manifests and live states. They are mutated as text (byte edits, JSON-significant
//! characters, truncation, huge numbers, deep nesting) and as JSON trees (a value of
//! another type, a missing or unknown field, a changed `format_version`).
//!
//! Asserted for every input: no panic; a syntax error carries serde_json's line and column
//! (both ≥ 1, inside the text); a plan that is accepted renders back to a file that parses
//! to the same plan. Failures print the seed, the case and the input; set
//! `FUZZ_SEED=<u64>` to explore other seeds.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use crate::common::fuzz::{self, fuzz_seed, seed};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redactctl::kinds::{ObjectKind, ObjectRef};
use redactctl::manifest::{AccountSpec, Behavior, Desired, DesiredState, Entry, Location, Via};
use redactctl::observe::Live;
use redactctl::plan::{self, Options, PlanFileError};
use redactctl::stripe::models::{
    ErroringObject, JobObjects, JobValidationError, Mode, RedactionJob,
};
use serde_json::Value;

/// The JSON view snapshot (`it__plan_views__json.snap`) without insta's header.
fn snapshot_plan() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/snapshots/it__plan_views__json.snap"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let body = text.splitn(3, "---\n").nth(2).unwrap();
    assert!(body.starts_with("{\n  \"format_version\": 2"), "{body:.80}");
    body.to_string()
}

const STATUSES: [&str; 9] = [
    "created",
    "validating",
    "ready",
    "failed",
    "redacting",
    "succeeded",
    "canceling",
    "canceled",
    "quarantined",
];

fn object(i: usize) -> ObjectRef {
    let kind = ObjectKind::ALL[i % ObjectKind::ALL.len()];
    ObjectRef::new(kind, format!("{}{i:03}", kind.prefixes()[0]))
}

/// A plan over a random manifest (up to 3 entries) and live state (up to 3 jobs, some
/// failed with validation errors), rendered as the plan file `plan --out` writes.
fn generated_plan(rng: &mut StdRng) -> String {
    const POOL: usize = 16;
    let owner: Vec<usize> = (0..POOL).map(|_| rng.gen_range(0..4)).collect();
    let mut entries = Vec::new();
    for e in 0..3 {
        let mut objects: Vec<ObjectRef> =
            (0..POOL).filter(|&i| owner[i] == e).map(object).collect();
        objects.sort();
        if objects.is_empty() {
            continue;
        }
        entries.push(Entry {
            deadline: Default::default(),
            allowed_fixes: Vec::new(),
            name: format!("dsr-{e}"),
            ticket: rng.gen_bool(0.5).then(|| format!("DSR-{e}")),
            objects,
            validation_behavior: if rng.gen_bool(0.5) {
                Behavior::Fix
            } else {
                Behavior::Error
            },
            state: [
                DesiredState::Redacted,
                DesiredState::Validated,
                DesiredState::Canceled,
            ][rng.gen_range(0..3)],
            via: Via::RedactionJob,
            location: Location {
                file: PathBuf::from("requests/m.yaml"),
                line: e * 5 + 3,
                column: 11,
            },
        });
    }
    let mut live = Live::default();
    for n in 0..rng.gen_range(0..4) {
        let mut map = JobObjects::new();
        let members: Vec<usize> = (0..rng.gen_range(1..6))
            .map(|_| rng.gen_range(0..POOL))
            .collect();
        for &i in &members {
            let o = object(i);
            if let Some(v) = map
                .entry(o.kind.as_str().to_string())
                .or_insert_with(|| Some(Vec::new()))
            {
                if !v.contains(&o.id) {
                    v.push(o.id);
                }
            }
        }
        let id = format!("prj_{n:02}");
        let status = STATUSES[rng.gen_range(0..STATUSES.len())];
        if status == "failed" {
            let errors = members
                .iter()
                .take(2)
                .enumerate()
                .map(|(k, &i)| JobValidationError {
                    id: format!("prjve_{n}_{k}"),
                    object: "privacy.redaction_job_validation_error".into(),
                    code: if k == 0 {
                        "invalid_state"
                    } else {
                        "locked_by_other_job"
                    }
                    .into(),
                    erroring_object: Some(ErroringObject {
                        id: object(i).id,
                        object_type: "customer".into(),
                    }),
                    message: "This object is not in a final state.".into(),
                })
                .collect();
            live.validation_errors.insert(id.clone(), errors);
        }
        live.jobs.push(RedactionJob {
            id,
            object: "privacy.redaction_job".into(),
            created: n as i64,
            livemode: false,
            objects: Some(map),
            status: status.into(),
            validation_behavior: Some(if rng.gen_bool(0.5) { "fix" } else { "error" }.into()),
            validation_errors: None,
        });
    }
    let desired = Desired {
        account: AccountSpec {
            mode: Mode::Test,
            id: rng.gen_bool(0.5).then(|| "acct_1Example".to_string()),
            connected_account: None,
        },
        entries,
        digest: format!("{:010x}", rng.gen::<u64>() >> 24),
    };
    let opts = Options {
        prune: rng.gen_bool(0.5),
        targets: Vec::new(),
        revalidate: rng.gen_bool(0.2),
        ..Options::default()
    };
    let mut p = plan::plan(&desired, &live, &opts);
    p.manifest_paths = vec![PathBuf::from("requests/")];
    plan::render_json(&p)
}

/// Parses `text`, failing the test (with seed, case and input) on a panic or a broken
/// promise of `parse_plan_file`. Returns whether the plan was accepted.
fn check(text: &str, seed: u64, case: usize) -> bool {
    let fail = |why: String| -> ! {
        panic!(
            "seed {seed} (FUZZ_SEED={:?}) case {case}: {why}\n--- input ({} bytes) ---\n{text}",
            fuzz_seed(),
            text.len()
        )
    };
    let parsed =
        catch_unwind(AssertUnwindSafe(|| plan::parse_plan_file(text))).unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            fail(format!("parse_plan_file panicked: {msg}"))
        });
    // serde_json counts columns in bytes.
    let lines: Vec<usize> = text.split('\n').map(str::len).collect();
    let inside = |line: usize, column: usize| {
        line >= 1 && column >= 1 && lines.get(line - 1).is_some_and(|w| column <= w + 1)
    };
    match parsed {
        Ok(plan) => {
            if plan.format_version != plan::FORMAT_VERSION {
                fail(format!("accepted format_version {}", plan.format_version));
            }
            let again = plan::render_json(&plan);
            match plan::parse_plan_file(&again) {
                Ok(back) if back == plan => {}
                other => fail(format!("the accepted plan does not round-trip: {other:?}")),
            }
            true
        }
        Err(e) => {
            let shown = e.to_string();
            if shown.matches(" at line ").count() > 1 {
                fail(format!("position given twice: {shown}"));
            }
            match &e {
                PlanFileError::Syntax {
                    line,
                    column,
                    message,
                } => {
                    if message.is_empty() || !inside(*line, *column) {
                        fail(format!("syntax error not located inside the text: {e:?}"));
                    }
                }
                PlanFileError::Invalid {
                    line,
                    column,
                    message,
                } => {
                    if message.is_empty() || !inside(*line, *column) {
                        fail(format!("invalid plan not located inside the text: {e:?}"));
                    }
                }
                PlanFileError::MissingVersion => {
                    // `"format_version": null` counts as missing.
                    let json: Option<Value> = serde_json::from_str(text).ok();
                    let version = json.as_ref().and_then(|v| v.get("format_version"));
                    if version.is_some_and(|v| !v.is_null()) {
                        fail("`format_version` is there".into());
                    }
                }
                PlanFileError::UnsupportedVersion { found, .. } => {
                    if *found == u64::from(plan::FORMAT_VERSION) {
                        fail("the current version called unsupported".into());
                    }
                }
            }
            false
        }
    }
}

// ---------------------------------------------------------------------------------------
// Text mutations

const SIGNIFICANT: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "\\",
    "\\u",
    "\\ud800",
    "\n",
    "\t",
    " ",
    "\0",
    "null",
    "true",
    "-",
    "0",
    "1e999",
    "-1e-999",
    "18446744073709551616",
    "-9223372036854775809",
    "1.5",
    "NaN",
    "Infinity",
    "\u{feff}",
    "é",
    "💥",
    "//",
    "/*",
    "'",
];

fn mutate_text(rng: &mut StdRng, text: &mut String) {
    // Edits at char boundaries, so the text stays a valid `&str` (the loader takes `&str`).
    let len = text.len();
    let at = |rng: &mut StdRng, text: &String| {
        let mut i = if len == 0 { 0 } else { rng.gen_range(0..=len) };
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let span = |rng: &mut StdRng, text: &String, i: usize, max: usize| {
        let mut j = (i + rng.gen_range(1..=max)).min(len);
        while !text.is_char_boundary(j) {
            j -= 1;
        }
        j
    };
    match rng.gen_range(0..8) {
        0 if len > 0 => {
            let i = at(rng, text);
            let j = span(rng, text, i, 1);
            let c = char::from(rng.gen_range(0x20u8..0x7f)).to_string();
            text.replace_range(i..j, &c);
        }
        1 if len > 0 => {
            let i = at(rng, text);
            let j = span(rng, text, i, 24);
            text.replace_range(i..j, "");
        }
        2 | 3 => {
            let i = at(rng, text);
            text.insert_str(i, SIGNIFICANT[rng.gen_range(0..SIGNIFICANT.len())]);
        }
        4 => {
            let i = at(rng, text);
            text.truncate(i);
        }
        5 => {
            // Deep nesting where a value may start.
            let i = at(rng, text);
            let depth = rng.gen_range(100..3000);
            let (open, close) = if rng.gen_bool(0.5) {
                ("[", "]")
            } else {
                ("{\"a\":", "}")
            };
            let mut nest = open.repeat(depth);
            if rng.gen_bool(0.5) {
                nest.push_str(&close.repeat(depth));
            }
            text.insert_str(i, &nest);
        }
        6 if len > 0 => {
            // Repeat a chunk (duplicate keys, repeated array items).
            let i = at(rng, text);
            let j = span(rng, text, i, 300);
            let chunk = text[i..j].to_string();
            let k = at(rng, text);
            text.insert_str(k, &chunk);
        }
        _ => {
            // A digit becomes a huge, negative or fractional number.
            let i = at(rng, text);
            if let Some(d) = text[i..].find(|c: char| c.is_ascii_digit()) {
                let huge = [
                    "99999999999999999999999",
                    "-1",
                    "4294967296",
                    "1e400",
                    "0.5",
                ];
                let k = i + d;
                text.replace_range(k..k + 1, huge[rng.gen_range(0..huge.len())]);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tree mutations

/// A value of some type, for replacing another.
fn any_value(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..10) {
        0 => Value::Null,
        1 => Value::Bool(rng.gen()),
        2 => Value::from(rng.gen::<i64>()),
        3 => Value::from(u64::MAX),
        4 => serde_json::json!(1.5),
        5 => Value::from("cus_1"),
        6 => Value::from(""),
        7 => Value::Array(vec![Value::from("x"), Value::Null]),
        8 => serde_json::json!({"kind": "customers", "id": "cus_1"}),
        _ => Value::from("💥\u{0}\"\\"),
    }
}

/// A random node of `v` (by a walk from the root), as a mutable reference.
fn random_node<'a>(rng: &mut StdRng, v: &'a mut Value) -> &'a mut Value {
    let descend = match v {
        Value::Array(a) if !a.is_empty() => rng.gen_bool(0.7),
        Value::Object(o) if !o.is_empty() => rng.gen_bool(0.8),
        _ => false,
    };
    if !descend {
        return v;
    }
    match v {
        Value::Array(a) => {
            let i = rng.gen_range(0..a.len());
            random_node(rng, &mut a[i])
        }
        Value::Object(o) => {
            let i = rng.gen_range(0..o.len());
            let (_, child) = o.iter_mut().nth(i).unwrap();
            random_node(rng, child)
        }
        _ => v,
    }
}

fn mutate_tree(rng: &mut StdRng, root: &mut Value) {
    match rng.gen_range(0..6) {
        // Another type (or value) in place of a node.
        0 | 1 => *random_node(rng, root) = any_value(rng),
        // A field or an item goes missing.
        2 => match random_node(rng, root) {
            Value::Object(o) if !o.is_empty() => {
                let i = rng.gen_range(0..o.len());
                if let Some(key) = o.keys().nth(i).cloned() {
                    o.shift_remove(&key);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                let i = rng.gen_range(0..a.len());
                a.remove(i);
            }
            other => *other = Value::Null,
        },
        // An unknown field, or an extra item.
        3 => match random_node(rng, root) {
            Value::Object(o) => {
                o.insert("unexpected_field".into(), any_value(rng));
            }
            Value::Array(a) => a.push(any_value(rng)),
            _ => {}
        },
        // Another format_version.
        4 => {
            let versions = [
                Value::from(0),
                Value::from(2),
                Value::from(-1),
                serde_json::json!(1.0),
                Value::from("1"),
                Value::Null,
                Value::from(u64::MAX),
            ];
            if let Value::Object(o) = root {
                o.insert(
                    "format_version".into(),
                    versions[rng.gen_range(0..versions.len())].clone(),
                );
            }
        }
        // Another string where a string was (an unknown enum variant, an odd id).
        _ => {
            let node = random_node(rng, root);
            if node.is_string() {
                let odd = [
                    "deleted",
                    "CREATE",
                    "",
                    "prj_",
                    "cus_1",
                    "redacted ",
                    "\u{202e}",
                ];
                *node = Value::from(odd[rng.gen_range(0..odd.len())]);
            }
        }
    }
}

fn run(default_seed: u64, bases: usize) {
    let cases = fuzz::cases();
    let seed = seed(default_seed);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut sources = vec![snapshot_plan()];
    for _ in 0..bases {
        sources.push(generated_plan(&mut rng));
    }
    // The bases themselves are valid plan files.
    for (i, s) in sources.iter().enumerate() {
        assert!(check(s, seed, i), "base {i} is refused:\n{s}");
    }
    let trees: Vec<Value> = sources
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
    let mut accepted = 0;
    for case in 0..cases {
        // The large snapshot is parsed in one case of 32; the small generated plans
        // carry the volume.
        let base = if case % 32 == 0 { 0 } else { 1 + case % bases };
        let tree_mutated = rng.gen_bool(0.5);
        let mut text = if tree_mutated {
            let mut tree = trees[base].clone();
            for _ in 0..rng.gen_range(1..=3) {
                mutate_tree(&mut rng, &mut tree);
            }
            if rng.gen_bool(0.5) {
                serde_json::to_string_pretty(&tree).unwrap()
            } else {
                serde_json::to_string(&tree).unwrap()
            }
        } else {
            sources[base].clone()
        };
        for _ in 0..rng.gen_range(usize::from(!tree_mutated)..=3) {
            mutate_text(&mut rng, &mut text);
        }
        accepted += usize::from(check(&text, seed, case));
    }
    eprintln!("seed {seed}: {accepted} of {cases} mutated plan files accepted");
    assert!(
        accepted > 0 && accepted < cases / 2,
        "{accepted} of {cases} accepted"
    );
}

#[test]
fn mutated_plan_files_never_panic_and_syntax_errors_are_located() {
    run(0x91a0_0000_0001, 12);
}

#[test]
fn more_mutated_plan_files_never_panic_and_syntax_errors_are_located() {
    run(0x91a0_0000_0002, 12);
}

#[test]
fn still_more_mutated_plan_files_never_panic_and_syntax_errors_are_located() {
    run(0x91a0_0000_0003, 12);
}

#[test]
fn yet_more_mutated_plan_files_never_panic_and_syntax_errors_are_located() {
    run(0x91a0_0000_0004, 12);
}

/// The odd inputs named in the issue, one by one: each is refused with a reason, and the
/// syntax errors say where.
#[test]
fn hand_picked_hostile_plan_files_are_refused_with_a_place() {
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_obj = format!(
        "{{\"format_version\": 1, \"entries\": {}",
        "{\"a\":".repeat(50_000)
    );
    let cases = [
        "",
        "{",
        "{\n",
        "{\n  \"format_version\": 1,\n",
        "null",
        "[]",
        "\"plan\"",
        "{\"format_version\": 1e999}",
        "{\"format_version\": 18446744073709551616}",
        "{\"format_version\": -1}",
        "{\"format_version\": 1, \"format_version\": 1}",
        "{\"format_version\": 1, \"actions\": [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}",
        "\u{feff}{\"format_version\": 1}",
        deep.as_str(),
        deep_obj.as_str(),
    ];
    for (i, text) in cases.iter().enumerate() {
        assert!(!check(text, 0, i), "accepted: {text:.80}");
    }
    // A syntax error at the start of an empty last line is placed at its column 1.
    match plan::parse_plan_file("{\n") {
        Err(PlanFileError::Syntax { line, column, .. }) => assert_eq!((line, column), (2, 1)),
        other => panic!("{other:?}"),
    }
}
