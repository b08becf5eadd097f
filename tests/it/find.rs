//! `redactctl find` against the emulator: each route's case, the manifest it writes, the
//! exit code when nothing matches, and that the person's address ends up nowhere — no
//! file, no log line at trace level, no plan, no audit line. Also the personal-data lint
//! on what people might write by hand.

use std::path::Path;

use crate::common::{text, Emu, Workdir};
use redactctl::emulator::{Config, Fixtures};

/// The address no output and no file may contain.
const MARKER: &str = "zq7marker.person@example.com";

/// Inside the API key, which must not show up either.
const KEY_MARKER: &str = "Kq8KEYmarkerFIND";

const FIXTURES: &str = r#"
customers:
  - {id: cus_Exact1, email: zq7marker.person@example.com, age: 400d, related: [ch_1a, ch_1b, pi_1a, in_1a, sub_1a]}
  - {id: cus_Cased2, email: ZQ7Marker.Person@Example.com, age: 200d}
  - {id: cus_Other3, email: someone.else@example.com}
  - {id: cus_Solo4, email: solo@example.com, related: [pi_4]}
checkout_sessions:
  - {id: cs_test_Guest1, email: guest.only@example.com}
  - {id: cs_test_Paid2, email: zq7marker.person@example.com, customer: cus_Exact1}
"#;

fn emu_with(extra: &str) -> Emu {
    let fixtures: Fixtures = serde_yaml::from_str(&format!("{FIXTURES}{extra}")).unwrap();
    Emu::start(Config {
        fixtures: Some(fixtures),
        ..Config::default()
    })
}

/// `find` with `email` on standard input and `args`.
fn find(wd: &Workdir, emu: &Emu, email: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = wd
        .cmd(emu)
        .arg("find")
        .args(args)
        .write_stdin(format!("{email}\n"))
        .output()
        .unwrap();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn one_customer_is_written_with_its_counts() {
    let emu = emu_with("");
    let wd = Workdir::new();
    let (code, out, err) = find(
        &wd,
        &emu,
        "solo@example.com",
        &[
            "--write",
            "requests/dsr-7.yaml",
            "--ticket",
            "DSR-7",
            "--received",
            "2026-11-20",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("cus_Solo4") && out.contains("1 payment_intents"),
        "{out}"
    );
    let written = wd.read("requests/dsr-7.yaml");
    assert!(
        written.contains(
            "  - name: dsr-7\n    ticket: DSR-7\n    objects:\n      customers: [cus_Solo4]\n"
        ),
        "{written}"
    );
    assert!(
        written.contains("received 2026-11-20; looked up "),
        "{written}"
    );
    assert!(
        written.contains("# routes: email (1), search (1), checkout (0)"),
        "{written}"
    );
    assert!(!written.contains("solo@"), "{written}");
}

#[test]
fn a_customer_found_only_by_search_is_listed_with_a_case_warning() {
    let emu = emu_with("");
    let wd = Workdir::new();
    let (code, out, err) = find(
        &wd,
        &emu,
        MARKER,
        &["--write", "m.yaml", "--ticket", "DSR-8"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let written = wd.read("m.yaml");
    assert!(
        written.contains(
            "checkout_sessions: [cs_test_Paid2]\n      customers: [cus_Cased2, cus_Exact1]\n"
        ),
        "{written}"
    );
    assert!(
        out.contains("another letter case") && out.contains("cus_Cased2"),
        "{out}"
    );
    assert!(
        out.contains("2 charges, 1 payment_intents, 1 invoices, 1 subscriptions"),
        "{out}"
    );
    assert!(!written.contains("cus_Other3"), "{written}");
}

#[test]
fn a_guest_checkout_alone_is_found() {
    let emu = emu_with("");
    let wd = Workdir::new();
    let (code, out, err) = find(
        &wd,
        &emu,
        "guest.only@example.com",
        &["--write", "m.yaml", "--ticket", "DSR-9"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("guest checkout (no customer)"), "{out}");
    let written = wd.read("m.yaml");
    assert!(
        written.contains("    objects:\n      checkout_sessions: [cs_test_Guest1]\n"),
        "{written}"
    );
    assert!(!written.contains("customers:"), "{written}");
}

#[test]
fn no_hit_exits_7_and_writes_nothing() {
    let emu = emu_with("");
    let wd = Workdir::new();
    wd.write("m.yaml", "version: 1\naccount: {mode: test}\nredactions:\n  - name: a\n    objects: {customers: [cus_Z]}\n");
    let before = wd.read("m.yaml");
    let (code, out, err) = find(
        &wd,
        &emu,
        "nobody@example.com",
        &["--write", "m.yaml", "--ticket", "DSR-10"],
    );
    assert_eq!(code, Some(7), "{out}{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(wd.read("m.yaml"), before);
    let (code, ..) = find(
        &wd,
        &emu,
        "nobody@example.com",
        &["--write", "new.yaml", "--ticket", "DSR-10"],
    );
    assert_eq!(code, Some(7));
    assert!(!wd.path().join("new.yaml").exists());
}

#[test]
fn refused_search_is_reported_and_the_other_routes_carry_on() {
    let emu = emu_with("customer_search: {enabled: false}\n");
    let wd = Workdir::new();
    let (code, out, err) = find(
        &wd,
        &emu,
        MARKER,
        &["--write", "m.yaml", "--ticket", "DSR-11"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("refused by the account"), "{out}");
    assert!(out.contains("customer search did not run"), "{out}");
    let written = wd.read("m.yaml");
    assert!(written.contains("customers: [cus_Exact1]\n"), "{written}");
    assert!(written.contains("search (refused)"), "{written}");
}

#[test]
fn the_address_is_never_taken_from_the_command_line() {
    let emu = emu_with("");
    let wd = Workdir::new();
    let out = wd.cmd(&emu).args(["find", MARKER]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // From a file works.
    wd.write("who.txt", &format!("{MARKER}\n"));
    let out = wd
        .cmd(&emu)
        .args(["find", "--from-file", "who.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("cus_Exact1"));
}

/// Every file under `dir`, recursively, as text.
fn all_files(dir: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            all_files(&p, out);
        } else if p.file_name().is_some_and(|n| n != "who.txt") {
            let bytes = std::fs::read(&p).unwrap_or_default();
            out.push((
                p.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
}

#[test]
fn the_address_appears_in_no_file_log_plan_or_audit_line() {
    // The test's own key and the harness's belong to one account, so that the harness
    // sees the job the binary created.
    let emu = emu_with(&format!(
        "accounts:\n  - id: acct_1FindTest\n    keys: [{}, sk_test_{KEY_MARKER}]\n",
        crate::common::TEST_KEY
    ));
    let wd = Workdir::new();
    wd.write("who.txt", &format!("{MARKER}\n"));
    let runs: Vec<Vec<&str>> = vec![
        vec![
            "find",
            "--from-file",
            "who.txt",
            "--write",
            "requests/dsr-12.yaml",
            "--ticket",
            "DSR-12",
        ],
        vec!["validate", "requests/dsr-12.yaml"],
        vec!["plan", "--out", "plan.json", "requests/dsr-12.yaml"],
        vec!["plan", "--format", "markdown", "requests/dsr-12.yaml"],
        vec![
            "apply",
            "--auto-approve",
            "--wait=60s",
            "--audit-log",
            "audit.jsonl",
            "requests/dsr-12.yaml",
        ],
    ];
    let mut seen = String::new();
    for args in &runs {
        let out = wd
            .cmd(&emu)
            .env("RUST_LOG", "trace")
            .env("STRIPE_API_KEY", format!("sk_test_{KEY_MARKER}"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        seen.push_str(&text(&out.stdout));
        seen.push_str(&text(&out.stderr));
    }
    assert!(seen.contains("TRACE"), "trace logging was not on");
    assert!(!seen.contains(KEY_MARKER), "the key leaked");
    assert!(seen.contains("lookup"), "the lookups log their own lines");
    let forms = ["zq7marker", "zq7marker.person%40", "ZQ7Marker"];
    for f in forms {
        assert!(
            !seen.to_lowercase().contains(&f.to_lowercase()),
            "{f} in output:\n{seen}"
        );
    }
    let mut files = Vec::new();
    all_files(wd.path(), &mut files);
    assert!(files.iter().any(|(p, _)| p.ends_with("audit.jsonl")));
    assert!(files.iter().any(|(p, _)| p.ends_with("plan.json")));
    for (path, body) in files {
        assert!(
            !body.to_lowercase().contains("zq7marker"),
            "the address is in {path}"
        );
    }
    assert_eq!(
        emu.jobs().len(),
        1,
        "apply created the job: {:#?}",
        emu.jobs()
    );
}

#[test]
fn the_written_entry_validates_and_plans_next_to_an_account_file() {
    let emu = emu_with("");
    let wd = Workdir::new();
    wd.write(
        "requests/account.yaml",
        "version: 1\naccount:\n  mode: test\n",
    );
    let (code, out, err) = find(
        &wd,
        &emu,
        MARKER,
        &["--write", "requests/dsr-13.yaml", "--ticket", "DSR-13"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(!wd.read("requests/dsr-13.yaml").contains("account:"));
    let v = wd
        .cmd(&emu)
        .args(["validate", "requests"])
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stderr));
    assert!(!text(&v.stderr).contains("warning"), "{}", text(&v.stderr));
    let p = wd.cmd(&emu).args(["plan", "requests"]).output().unwrap();
    assert_eq!(p.status.code(), Some(0), "{}", text(&p.stderr));
    let plan = text(&p.stdout);
    assert!(
        plan.contains("dsr-13") && plan.contains("cus_Exact1") && plan.contains("create"),
        "{plan}"
    );
    // A second request appends to the same file.
    let (code, ..) = find(
        &wd,
        &emu,
        "solo@example.com",
        &["--write", "requests/dsr-13.yaml", "--ticket", "DSR-14"],
    );
    assert_eq!(code, Some(0));
    let v = wd
        .cmd(&emu)
        .args(["validate", "requests"])
        .output()
        .unwrap();
    assert!(text(&v.stdout).contains("2 entries"), "{}", text(&v.stdout));
}

#[test]
fn lint_flags_personal_data_people_write_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "# yaml-language-server: $schema=../schemas/manifest.schema.json
# request from jane.doe@example.com, see ticket
version: 1
account:
  mode: test # call back on +1 415 555 0100
redactions:
  # Asked by Jane Doe on the phone
  - name: dsr-142
    ticket: DSR-142 Jane Doe
    objects:
      customers: [cus_1, cus_jane.doe@example.com]
",
    )
    .unwrap();
    let out = assert_cmd::Command::cargo_bin("redactctl")
        .unwrap()
        .current_dir(dir.path())
        .args(["--color=never", "validate", "m.yaml"])
        .output()
        .unwrap();
    // The e-mail inside an id is also not an id (Stripe's ids are ASCII letters, digits
    // and `_`): an error, beside the personal-data warning.
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(text(&out.stderr));
}

#[test]
fn a_customer_just_created_is_found_by_search_only_after_the_index_lag() {
    let fixtures: Fixtures = serde_yaml::from_str("customer_search: {index_lag: 60s}\n").unwrap();
    let emu = Emu::start(Config {
        fixtures: Some(fixtures),
        clock: redactctl::emulator::Clock::manual(1_800_000_000),
        ..Config::default()
    });
    let created = emu.post(
        "/v1/customers",
        &[("email", "Lag.Person%40example.com"), ("name", "Lag")],
    );
    let id = created["id"].as_str().unwrap().to_string();
    let wd = Workdir::new();
    // Another letter case: only search could find it, and the index is behind.
    let (code, out, _) = find(&wd, &emu, "lag.person@example.com", &[]);
    assert_eq!(code, Some(7), "{out}");
    emu.advance(std::time::Duration::from_secs(61));
    let (code, out, _) = find(&wd, &emu, "lag.person@example.com", &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&id) && out.contains("via search"), "{out}");
    // The exact route saw it at once.
    let (code, out, _) = find(&wd, &emu, "Lag.Person@example.com", &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("via email+search"), "{out}");
}

#[test]
fn the_emulator_answers_the_lookup_routes_like_stripe() {
    let emu = emu_with("");
    let search = emu.get(&format!(
        "{}/v1/customers/search?query=email%3A%27zq7marker.person%40example.com%27&limit=1",
        emu.base
    ));
    assert_eq!(search["object"], "search_result");
    assert_eq!(search["has_more"], true);
    assert_eq!(search["next_page"], "page_1");
    let bad = emu.get(&format!(
        "{}/v1/customers/search?query=created%3E1",
        emu.base
    ));
    assert_eq!(bad["error"]["type"], "invalid_request_error");
    assert_eq!(bad["error"]["param"], "query");
    let unknown = emu.get(&format!("{}/v1/customers?emial=x", emu.base));
    assert_eq!(unknown["error"]["code"], "parameter_unknown");
    let page = emu.get(&format!(
        "{}/v1/charges?customer=cus_Exact1&limit=1",
        emu.base
    ));
    assert_eq!(page["object"], "list");
    assert_eq!(page["has_more"], true);
    let stats = emu.stats();
    for route in [
        "GET /v1/customers/search",
        "GET /v1/customers",
        "GET /v1/charges",
    ] {
        assert!(
            stats.by_route.contains_key(route),
            "{route}: {:?}",
            stats.by_route
        );
    }
}
