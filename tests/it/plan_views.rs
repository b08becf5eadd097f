//! Snapshot tests of what users see: the human plan (no colour), the JSON plan and the
//! Markdown comment for one rich scenario that exercises every kind of action, a
//! blocked entry, a replace, identity sessions and unmanaged jobs. A change in the output
//! is then a reviewed diff. Also keeps `schemas/plan.schema.json` fresh.

use std::path::PathBuf;

use redactctl::kinds::{ObjectKind, ObjectRef};
use redactctl::manifest::{AccountSpec, Behavior, Desired, DesiredState, Entry, Location, Via};
use redactctl::observe::Live;
use redactctl::plan::{self, Op, Options, Outcome};
use redactctl::stripe::models::{
    Account, ErroringObject, JobObjects, JobValidationError, Mode, RedactionJob, SessionRedaction,
    VerificationSession,
};

fn obj(kind: ObjectKind, id: &str) -> ObjectRef {
    ObjectRef::new(kind, id)
}
fn cus(id: &str) -> ObjectRef {
    obj(ObjectKind::Customers, id)
}

fn entry(
    name: &str,
    ticket: Option<&str>,
    objects: Vec<ObjectRef>,
    state: DesiredState,
    behavior: Behavior,
    line: usize,
) -> Entry {
    let mut objects = objects;
    objects.sort();
    Entry {
        deadline: Default::default(),
        allowed_fixes: Vec::new(),
        name: name.into(),
        ticket: ticket.map(str::to_string),
        objects,
        validation_behavior: behavior,
        state,
        via: Via::RedactionJob,
        location: Location {
            file: PathBuf::from("redactions/2026.yaml"),
            line,
            column: 11,
        },
    }
}

fn job(
    id: &str,
    created: i64,
    status: &str,
    behavior: &str,
    objects: &[ObjectRef],
) -> RedactionJob {
    let mut map = JobObjects::new();
    for o in objects {
        if let Some(v) = map
            .entry(o.kind.as_str().to_string())
            .or_insert_with(|| Some(Vec::new()))
        {
            v.push(o.id.clone());
        }
    }
    RedactionJob {
        id: id.into(),
        object: "privacy.redaction_job".into(),
        created,
        livemode: false,
        objects: Some(map),
        status: status.into(),
        validation_behavior: Some(behavior.into()),
        validation_errors: None,
    }
}

fn verr(id: &str, code: &str, ty: &str, obj: &str, message: &str) -> JobValidationError {
    JobValidationError {
        id: id.into(),
        object: "privacy.redaction_job_validation_error".into(),
        code: code.into(),
        erroring_object: Some(ErroringObject {
            id: obj.into(),
            object_type: ty.into(),
        }),
        message: message.into(),
    }
}

fn session(id: &str, status: &str, redaction: Option<&str>) -> VerificationSession {
    VerificationSession {
        id: id.into(),
        object: "identity.verification_session".into(),
        created: 1_700_000_000,
        livemode: false,
        status: status.into(),
        redaction: redaction.map(|r| SessionRedaction { status: r.into() }),
    }
}

/// Nine entries and eight live jobs: every rule a reviewer is likely to meet.
fn scenario() -> (Desired, Live) {
    use DesiredState::*;
    let mut kyc = entry(
        "kyc-cleanup-7",
        None,
        vec![
            obj(ObjectKind::IdentityVerificationSessions, "vs_1"),
            obj(ObjectKind::IdentityVerificationSessions, "vs_2"),
            obj(ObjectKind::IdentityVerificationSessions, "vs_3"),
        ],
        Redacted,
        Behavior::Error,
        60,
    );
    kyc.via = Via::IdentityRedact;
    let mut entries = vec![
        entry(
            "dsr-2026-0142",
            Some("DSR-142"),
            vec![
                cus("cus_1"),
                cus("cus_2"),
                obj(ObjectKind::PaymentIntents, "pi_123"),
            ],
            Redacted,
            Behavior::Fix,
            4,
        ),
        entry(
            "dsr-2026-0150",
            Some("DSR-150"),
            (0..12).map(|i| cus(&format!("cus_15{i:02}"))).collect(),
            Validated,
            Behavior::Error,
            12,
        ),
        entry(
            "dsr-2026-0151",
            Some("DSR-151"),
            vec![cus("cus_151")],
            Redacted,
            Behavior::Error,
            20,
        ),
        entry(
            "dsr-2026-0160",
            Some("DSR-160"),
            vec![obj(ObjectKind::Charges, "ch_160")],
            Redacted,
            Behavior::Fix,
            26,
        ),
        entry(
            "dsr-2026-0170",
            Some("DSR-170"),
            vec![cus("cus_70")],
            Redacted,
            Behavior::Error,
            32,
        ),
        entry(
            "dsr-2026-0180",
            Some("DSR-180"),
            vec![cus("cus_80")],
            Canceled,
            Behavior::Error,
            38,
        ),
        entry(
            "dsr-2026-0190",
            Some("DSR-190"),
            vec![cus("cus_90")],
            Redacted,
            Behavior::Error,
            44,
        ),
        entry(
            "dsr-2026-0200",
            Some("DSR-200"),
            vec![cus("cus_200"), cus("cus_201")],
            Redacted,
            Behavior::Error,
            50,
        ),
        kyc,
    ];
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let desired = Desired {
        account: AccountSpec {
            mode: Mode::Test,
            id: Some("acct_1Example".into()),
            connected_account: None,
        },
        entries,
        digest: "4f2a9c0e7b".into(),
    };
    let mut live = Live {
        account: Some(Account {
            id: "acct_1Example".into(),
            object: "account".into(),
        }),
        mode: Some(Mode::Test),
        jobs: vec![
            job(
                "prj_A",
                100,
                "failed",
                "error",
                &[cus("cus_1"), obj(ObjectKind::PaymentIntents, "pi_123")],
            ),
            job("prj_B", 101, "ready", "error", &[cus("cus_151")]),
            job(
                "prj_C",
                102,
                "failed",
                "fix",
                &[obj(ObjectKind::Charges, "ch_160")],
            ),
            job(
                "prj_D",
                103,
                "ready",
                "error",
                &[cus("cus_70"), cus("cus_71")],
            ),
            job("prj_E", 104, "validating", "error", &[cus("cus_80")]),
            job("prj_F", 105, "succeeded", "error", &[cus("cus_90")]),
            job(
                "prj_G",
                106,
                "redacting",
                "error",
                &[cus("cus_200"), cus("cus_90")],
            ),
            job("prj_H", 107, "ready", "error", &[cus("cus_888")]),
        ],
        observed_at: 1_800_000_000,
        ..Live::default()
    };
    live.validation_errors.insert(
        "prj_A".into(),
        vec![
            verr(
                "prjve_A1",
                "invalid_state",
                "payment_intent",
                "pi_123",
                "This PaymentIntent is not in a final state.",
            ),
            verr(
                "prjve_A2",
                "invalid_state",
                "customer",
                "cus_1",
                "This Customer is not deleted.",
            ),
        ],
    );
    live.validation_errors.insert(
        "prj_C".into(),
        vec![verr(
            "prjve_C1",
            "invalid_state",
            "charge",
            "ch_160",
            "Transactions can only be redacted 90 days after they were created.",
        )],
    );
    for s in [
        session("vs_1", "verified", None),
        session("vs_2", "requires_action", None),
        session("vs_3", "verified", Some("processing")),
    ] {
        live.sessions.insert(s.id.clone(), s);
    }
    (desired, live)
}

fn rich_plan() -> plan::Plan {
    let (d, l) = scenario();
    plan::plan(&d, &l, &Options::default())
}

#[test]
fn the_scenario_covers_every_kind_of_action_and_outcome() {
    let p = rich_plan();
    for op in [
        Op::Create,
        Op::Update,
        Op::Validate,
        Op::Run,
        Op::Cancel,
        Op::Redact,
        Op::Wait,
    ] {
        assert!(p.actions.iter().any(|a| a.op == op), "no {op:?}");
    }
    for o in [
        Outcome::Converged,
        Outcome::Changes,
        Outcome::Waiting,
        Outcome::Blocked,
    ] {
        assert!(p.entries.iter().any(|e| e.outcome == o), "no {o:?}");
    }
}

#[test]
fn human_view_snapshot() {
    let text = plan::render_human(&rich_plan(), false);
    assert!(!text.contains('\u{1b}'), "colour without being asked");
    insta::assert_snapshot!("human", text);
}

#[test]
fn human_view_colours_only_when_asked() {
    let p = rich_plan();
    let coloured = plan::render_human(&p, true);
    assert!(coloured.contains('\u{1b}'));
    // Same text once the escapes are stripped.
    let mut plain = String::new();
    let mut in_escape = false;
    for c in coloured.chars() {
        match (in_escape, c) {
            (false, '\u{1b}') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, c) => plain.push(c),
        }
    }
    assert_eq!(plain, plan::render_human(&p, false));
}

#[test]
fn human_view_closing_line_is_exact() {
    let text = plan::render_human(&rich_plan(), false);
    let last = text.lines().last().unwrap();
    assert_eq!(
        last,
        "Plan: 5 to create, 1 to update, 1 to validate, 5 to run, 2 to cancel, 2 to redact; 9 irreversible (including 2 fixes)."
    );
}

#[test]
fn json_view_snapshot_and_round_trip() {
    let p = rich_plan();
    let json = plan::render_json(&p);
    assert_eq!(plan::parse_plan_file(&json).unwrap(), p);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["format_version"], plan::FORMAT_VERSION);
    insta::assert_snapshot!("json", json);
}

#[test]
fn markdown_view_snapshot() {
    let md = plan::render_markdown(&rich_plan());
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
    assert_eq!(md.matches("```").count() % 2, 0);
    insta::assert_snapshot!("markdown", md);
}

/// What a reviewer sees when the plan is bigger than the comment: the summary, the entries
/// that fit, and how many more are in the artifact.
#[test]
fn markdown_view_cut_to_a_small_budget_snapshot() {
    let options = plan::MarkdownOptions {
        max_bytes: 4_096,
        all_entries: false,
    };
    let md = plan::render_markdown_budgeted(&rich_plan(), options);
    assert!(md.len() <= 4_096, "{}", md.len());
    assert!(md.contains("more entries, full plan in the artifact"));
    insta::assert_snapshot!("markdown_cut", md);
}

#[test]
fn markdown_view_with_all_entries_shows_the_converged_ones() {
    let options = plan::MarkdownOptions {
        all_entries: true,
        ..plan::MarkdownOptions::default()
    };
    let all = plan::render_markdown_budgeted(&rich_plan(), options);
    let changed = plan::render_markdown(&rich_plan());
    assert!(all.contains("<code>dsr-2026-0190</code>: converged"));
    assert!(!changed.contains("<code>dsr-2026-0190</code>"));
}

#[test]
fn committed_plan_schema_is_fresh() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/plan.schema.json");
    let want = plan::plan_schema_json();
    if std::env::var_os("REDACTCTL_UPDATE_SCHEMAS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "schemas/plan.schema.json is stale: run `REDACTCTL_UPDATE_SCHEMAS=1 cargo test --test plan_views`"
    );
}

/// The schema tells script authors which top-level fields a plan file must have; the plan
/// reader must agree: a file without a field the schema requires is refused, and a file
/// without a field the schema leaves optional is still read.
#[test]
fn the_schemas_required_fields_are_what_the_plan_reader_requires() {
    let schema: serde_json::Value = serde_json::from_str(&plan::plan_schema_json()).unwrap();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    let value: serde_json::Value = serde_json::from_str(&plan::render_json(&rich_plan())).unwrap();
    let fields: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    assert!(
        required.len() > 3,
        "the schema requires fields: {required:?}"
    );
    for field in &fields {
        let mut without = value.clone();
        without.as_object_mut().unwrap().remove(field);
        let read = plan::parse_plan_file(&without.to_string());
        if required.contains(&field.as_str()) {
            assert!(read.is_err(), "a plan without required `{field}` was read");
        } else {
            assert!(
                read.is_ok(),
                "a plan without optional `{field}` was refused: {read:?}"
            );
        }
    }
}
