//! Planner unit tests: one per row of DESIGN.md's planning table, plus ownership,
//! conflicts, chunking, prune, targets, sessions, staleness, approval and keys.

use std::path::PathBuf;

use super::*;
use crate::kinds::{ObjectKind, ObjectRef};
use crate::manifest::{AccountSpec, Behavior, Desired, DesiredState, Entry, Location, Via};
use crate::observe::Live;
use crate::stripe::models::{
    Account, ErroringObject, JobObjects, JobStatus, JobValidationError, Mode, RedactionJob,
    SessionRedaction, VerificationSession,
};

fn cus(id: &str) -> ObjectRef {
    ObjectRef::new(ObjectKind::Customers, id)
}
fn pi(id: &str) -> ObjectRef {
    ObjectRef::new(ObjectKind::PaymentIntents, id)
}
fn vs(id: &str) -> ObjectRef {
    ObjectRef::new(ObjectKind::IdentityVerificationSessions, id)
}

fn entry(name: &str, objects: &[ObjectRef], state: DesiredState, behavior: Behavior) -> Entry {
    let mut objects = objects.to_vec();
    objects.sort();
    Entry {
        name: name.into(),
        ticket: Some(format!("T-{name}")),
        objects,
        validation_behavior: behavior,
        state,
        via: Via::RedactionJob,
        location: Location {
            file: PathBuf::from("redactions.yaml"),
            line: 3,
            column: 5,
        },
    }
}

fn redacted(name: &str, objects: &[ObjectRef]) -> Entry {
    entry(name, objects, DesiredState::Redacted, Behavior::Error)
}

fn desired(mut entries: Vec<Entry>) -> Desired {
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Desired {
        account: AccountSpec {
            mode: Mode::Test,
            id: Some("acct_1".into()),
            connected_account: None,
        },
        entries,
        digest: "d1".into(),
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

fn live(jobs: Vec<RedactionJob>) -> Live {
    Live {
        account: Some(Account {
            id: "acct_1".into(),
            object: "account".into(),
        }),
        mode: Some(Mode::Test),
        jobs,
        ..Live::default()
    }
}

fn verr(id: &str, code: &str, ty: &str, obj: &str) -> JobValidationError {
    JobValidationError {
        id: id.into(),
        object: "privacy.redaction_job_validation_error".into(),
        code: code.into(),
        erroring_object: Some(ErroringObject {
            id: obj.into(),
            object_type: ty.into(),
        }),
        message: format!("{code} on {obj}"),
    }
}

fn go(d: &Desired, l: &Live) -> Plan {
    plan(d, l, &Options::default())
}

/// (op, job, deferred) of an entry's actions, in order.
fn ops(p: &Plan, entry: &str) -> Vec<(Op, Option<String>, bool)> {
    p.actions
        .iter()
        .filter(|a| a.entry.as_deref() == Some(entry))
        .map(|a| (a.op, a.job.clone(), a.deferred))
        .collect()
}

fn ent<'p>(p: &'p Plan, name: &str) -> &'p EntryPlan {
    p.entries.iter().find(|e| e.name == name).unwrap()
}

fn j(id: &str) -> Option<String> {
    Some(id.to_string())
}

// ---- state: redacted, row by row ----

#[test]
fn uncovered_objects_get_created_then_run_once_ready() {
    let d = desired(vec![redacted("a", &[cus("cus_1"), pi("pi_1")])]);
    let p = go(&d, &live(vec![]));
    assert_eq!(
        ops(&p, "a"),
        vec![(Op::Create, None, false), (Op::Run, None, true)]
    );
    let (create, run) = (&p.actions[0], &p.actions[1]);
    assert_eq!(create.objects, vec![cus("cus_1"), pi("pi_1")]);
    assert_eq!(create.validation_behavior, Some(Behavior::Error));
    assert_eq!(run.after, vec![create.id.clone()]);
    assert!(run.irreversible && !create.irreversible);
    assert_eq!(ent(&p, "a").outcome, Outcome::Changes);
    assert_eq!(p.summary.create, 1);
    assert_eq!(p.summary.run, 1);
    assert_eq!(p.summary.irreversible, 1);
}

#[test]
fn more_than_ten_objects_are_chunked_by_kind_then_id() {
    let objects: Vec<ObjectRef> = (0..23).map(|i| cus(&format!("cus_{i:02}"))).collect();
    let d = desired(vec![redacted("a", &objects)]);
    let p = go(&d, &live(vec![]));
    let creates: Vec<&Action> = p.actions.iter().filter(|a| a.op == Op::Create).collect();
    assert_eq!(
        creates.iter().map(|a| a.objects.len()).collect::<Vec<_>>(),
        vec![10, 10, 3]
    );
    assert_eq!(creates[0].objects[0], cus("cus_00"));
    assert_eq!(creates[2].objects[2], cus("cus_22"));
    assert_eq!(p.summary.run, 3);
}

#[test]
fn validating_job_waits_then_runs() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let p = go(
        &d,
        &live(vec![job(
            "prj_1",
            1,
            "validating",
            "error",
            &[cus("cus_1")],
        )]),
    );
    assert_eq!(
        ops(&p, "a"),
        vec![(Op::Wait, j("prj_1"), false), (Op::Run, j("prj_1"), true)]
    );
    assert_eq!(ent(&p, "a").outcome, Outcome::Waiting);
}

#[test]
fn created_job_with_other_behavior_is_updated_first() {
    let d = desired(vec![entry(
        "a",
        &[cus("cus_1")],
        DesiredState::Redacted,
        Behavior::Fix,
    )]);
    let p = go(
        &d,
        &live(vec![job("prj_1", 1, "created", "error", &[cus("cus_1")])]),
    );
    assert_eq!(
        ops(&p, "a"),
        vec![
            (Op::Update, j("prj_1"), false),
            (Op::Wait, j("prj_1"), false),
            (Op::Run, j("prj_1"), true)
        ]
    );
    assert_eq!(p.actions[0].validation_behavior, Some(Behavior::Fix));
    assert!(p.actions[2].after.contains(&p.actions[0].id));
}

#[test]
fn ready_job_runs_irreversibly() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let p = go(
        &d,
        &live(vec![job("prj_1", 1, "ready", "error", &[cus("cus_1")])]),
    );
    assert_eq!(ops(&p, "a"), vec![(Op::Run, j("prj_1"), false)]);
    assert!(p.actions[0].irreversible);
    assert_eq!(
        p.actions[0].precondition,
        Some(Precondition::Job {
            job: "prj_1".into(),
            status: JobStatus::Ready,
            validation_behavior: "error".into()
        })
    );
}

#[test]
fn ready_job_with_other_behavior_is_updated_then_run() {
    let d = desired(vec![entry(
        "a",
        &[cus("cus_1")],
        DesiredState::Redacted,
        Behavior::Fix,
    )]);
    let p = go(
        &d,
        &live(vec![job("prj_1", 1, "ready", "error", &[cus("cus_1")])]),
    );
    assert_eq!(
        ops(&p, "a"),
        vec![
            (Op::Update, j("prj_1"), false),
            (Op::Run, j("prj_1"), false)
        ]
    );
    assert_eq!(p.actions[1].after, vec![p.actions[0].id.clone()]);
}

#[test]
fn failed_job_with_other_behavior_is_updated_validated_and_shows_fixes() {
    let d = desired(vec![entry(
        "a",
        &[cus("cus_1")],
        DesiredState::Redacted,
        Behavior::Fix,
    )]);
    let mut l = live(vec![job("prj_1", 1, "failed", "error", &[cus("cus_1")])]);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![
            verr("prjve_1", "invalid_state", "payment_intent", "pi_9"),
            verr("prjve_2", "invalid_state", "customer", "cus_1"),
        ],
    );
    let p = go(&d, &l);
    assert_eq!(
        ops(&p, "a"),
        vec![
            (Op::Update, j("prj_1"), false),
            (Op::Validate, j("prj_1"), false),
            (Op::Run, j("prj_1"), true)
        ]
    );
    assert_eq!(p.actions[1].after, vec![p.actions[0].id.clone()]);
    assert_eq!(
        p.actions[2].side_effects,
        vec![
            "cancel PaymentIntent pi_9".to_string(),
            "delete Customer cus_1".to_string()
        ]
    );
    assert!(ent(&p, "a").blocked.is_empty());
}

#[test]
fn failed_job_whose_lock_is_gone_is_revalidated() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let mut l = live(vec![
        job(
            "prj_0",
            1,
            "canceled",
            "error",
            &[cus("cus_1"), cus("cus_x")],
        ),
        job("prj_1", 2, "failed", "error", &[cus("cus_1")]),
    ]);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![verr("prjve_1", "locked_by_other_job", "customer", "cus_1")],
    );
    let p = go(&d, &l);
    assert_eq!(
        ops(&p, "a"),
        vec![
            (Op::Validate, j("prj_1"), false),
            (Op::Run, j("prj_1"), true)
        ]
    );
    assert_eq!(p.actions[0].key_context, vec!["prjve_1".to_string()]);
}

#[test]
fn failed_job_whose_lock_is_still_held_is_blocked() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let mut l = live(vec![
        job(
            "prj_0",
            1,
            "validating",
            "error",
            &[cus("cus_1"), cus("cus_x")],
        ),
        job("prj_1", 2, "failed", "error", &[cus("cus_1")]),
    ]);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![verr("prjve_1", "locked_by_other_job", "customer", "cus_1")],
    );
    let p = go(&d, &l);
    assert!(!p.actions.iter().any(|a| a.op == Op::Validate));
    assert_eq!(ent(&p, "a").outcome, Outcome::Blocked);
}

#[test]
fn failed_job_with_other_errors_is_blocked_with_every_error_and_a_resolution() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let mut l = live(vec![job("prj_1", 1, "failed", "error", &[cus("cus_1")])]);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![
            verr("prjve_1", "invalid_state", "payment_intent", "pi_9"),
            verr("prjve_2", "locked_by_other_job", "customer", "cus_1"),
        ],
    );
    let p = go(&d, &l);
    assert!(ops(&p, "a").is_empty());
    let e = ent(&p, "a");
    assert_eq!(e.outcome, Outcome::Blocked);
    assert_eq!(e.blocked.len(), 1);
    assert_eq!(e.blocked[0].errors.len(), 2);
    let resolve = &e.blocked[0].resolve;
    assert_eq!(resolve.len(), 3, "{resolve:?}");
    assert!(
        resolve[0].contains("validation_behavior: fix")
            && resolve[0].contains("cancel PaymentIntent pi_9")
    );
    assert!(resolve[1].contains("lock is gone"));
    assert!(resolve[2].contains("--revalidate"));

    let p = plan(
        &d,
        &l,
        &Options {
            revalidate: true,
            ..Options::default()
        },
    );
    assert_eq!(
        ops(&p, "a"),
        vec![
            (Op::Validate, j("prj_1"), false),
            (Op::Run, j("prj_1"), true)
        ]
    );
    assert!(ent(&p, "a").blocked.is_empty());
}

#[test]
fn redacting_and_canceling_jobs_are_waited_for() {
    let d = desired(vec![
        redacted("a", &[cus("cus_1")]),
        redacted("b", &[cus("cus_2")]),
    ]);
    let p = go(
        &d,
        &live(vec![
            job("prj_1", 1, "redacting", "error", &[cus("cus_1")]),
            job("prj_2", 2, "canceling", "error", &[cus("cus_2")]),
        ]),
    );
    assert_eq!(ops(&p, "a"), vec![(Op::Wait, j("prj_1"), false)]);
    assert_eq!(ops(&p, "b"), vec![(Op::Wait, j("prj_2"), false)]);
    assert!(!p.has_changes());
    assert_eq!(ent(&p, "b").outcome, Outcome::Waiting);
}

#[test]
fn succeeded_job_means_converged() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let p = go(
        &d,
        &live(vec![job("prj_1", 1, "succeeded", "error", &[cus("cus_1")])]),
    );
    assert!(p.actions.is_empty());
    let e = ent(&p, "a");
    assert_eq!(e.outcome, Outcome::Converged);
    assert_eq!(e.redacted, vec![cus("cus_1")]);
    assert!(render_human(&p, false).contains("No changes."));
}

#[test]
fn pre_run_job_with_undeclared_objects_is_replaced() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let p = go(
        &d,
        &live(vec![job(
            "prj_1",
            1,
            "ready",
            "error",
            &[cus("cus_1"), cus("cus_2")],
        )]),
    );
    assert_eq!(
        ops(&p, "a"),
        vec![
            (Op::Cancel, j("prj_1"), false),
            (Op::Create, None, true),
            (Op::Run, None, true)
        ]
    );
    let (cancel, create) = (&p.actions[0], &p.actions[1]);
    assert!(cancel.replace && create.replace);
    assert_eq!(create.objects, vec![cus("cus_1")]);
    assert_eq!(create.after, vec![cancel.id.clone()]);
    assert_eq!(
        create.precondition,
        Some(Precondition::Free {
            objects: vec![cus("cus_1")],
            except_jobs: vec!["prj_1".into()]
        })
    );
    assert!(render_human(&p, false).contains("-/+ replace job prj_1"));
}

#[test]
fn validating_job_with_undeclared_objects_is_canceled_once_validation_ends() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let p = go(
        &d,
        &live(vec![job(
            "prj_1",
            1,
            "validating",
            "error",
            &[cus("cus_1"), cus("cus_2")],
        )]),
    );
    assert_eq!(
        ops(&p, "a"),
        vec![
            (Op::Wait, j("prj_1"), false),
            (Op::Cancel, j("prj_1"), true),
            (Op::Create, None, true),
            (Op::Run, None, true)
        ]
    );
    assert_eq!(p.actions[1].after, vec![p.actions[0].id.clone()]);
}

#[test]
fn redacted_undeclared_objects_are_a_warning_not_an_action() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    for status in ["redacting", "succeeded"] {
        let p = go(
            &d,
            &live(vec![job(
                "prj_1",
                1,
                status,
                "error",
                &[cus("cus_1"), cus("cus_2")],
            )]),
        );
        assert!(!p.actions.iter().any(|a| a.op != Op::Wait), "{status}");
        let w = &ent(&p, "a").warnings;
        assert_eq!(w.len(), 1, "{status}");
        assert!(
            w[0].contains("cus_2") && w[0].contains("irreversible"),
            "{w:?}"
        );
    }
}

// ---- state: validated, canceled ----

#[test]
fn validated_state_creates_without_run_and_ready_is_converged() {
    let d = desired(vec![entry(
        "a",
        &[cus("cus_1"), cus("cus_2")],
        DesiredState::Validated,
        Behavior::Error,
    )]);
    let p = go(&d, &live(vec![]));
    assert_eq!(ops(&p, "a"), vec![(Op::Create, None, false)]);
    let p = go(
        &d,
        &live(vec![job(
            "prj_1",
            1,
            "ready",
            "error",
            &[cus("cus_1"), cus("cus_2")],
        )]),
    );
    assert!(p.actions.is_empty());
    assert_eq!(ent(&p, "a").outcome, Outcome::Converged);
    let p = go(
        &d,
        &live(vec![job(
            "prj_1",
            1,
            "validating",
            "error",
            &[cus("cus_1"), cus("cus_2")],
        )]),
    );
    assert_eq!(ops(&p, "a"), vec![(Op::Wait, j("prj_1"), false)]);
}

#[test]
fn canceled_state_cancels_pre_run_jobs() {
    let d = desired(vec![entry(
        "a",
        &[cus("cus_1"), cus("cus_2"), cus("cus_3")],
        DesiredState::Canceled,
        Behavior::Error,
    )]);
    let p = go(
        &d,
        &live(vec![
            job("prj_1", 1, "ready", "error", &[cus("cus_1")]),
            job("prj_2", 2, "validating", "error", &[cus("cus_2")]),
            job("prj_3", 3, "canceled", "error", &[cus("cus_3")]),
        ]),
    );
    assert_eq!(
        ops(&p, "a"),
        vec![
            (Op::Cancel, j("prj_1"), false),
            (Op::Wait, j("prj_2"), false),
            (Op::Cancel, j("prj_2"), true)
        ]
    );
    assert!(!p.actions.iter().any(|a| a.op == Op::Create));
}

#[test]
fn canceled_state_with_a_run_job_is_blocked() {
    let d = desired(vec![entry(
        "a",
        &[cus("cus_1")],
        DesiredState::Canceled,
        Behavior::Error,
    )]);
    for status in ["redacting", "succeeded"] {
        let p = go(
            &d,
            &live(vec![job("prj_1", 1, status, "error", &[cus("cus_1")])]),
        );
        assert!(p.actions.is_empty());
        let e = ent(&p, "a");
        assert_eq!(e.outcome, Outcome::Blocked, "{status}");
        assert!(e.blocked[0].problem.contains("cannot undo"));
    }
}

// ---- ownership, conflicts, prune, targets ----

#[test]
fn a_job_spanning_two_entries_is_unmanaged_and_blocks_both() {
    let d = desired(vec![
        redacted("a", &[cus("cus_1")]),
        redacted("b", &[cus("cus_2")]),
    ]);
    let p = go(
        &d,
        &live(vec![job(
            "prj_1",
            1,
            "ready",
            "error",
            &[cus("cus_1"), cus("cus_2")],
        )]),
    );
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    assert_eq!(p.unmanaged.len(), 1);
    assert_eq!(
        p.unmanaged[0].entries,
        vec!["a".to_string(), "b".to_string()]
    );
    for name in ["a", "b"] {
        let e = ent(&p, name);
        assert_eq!(e.outcome, Outcome::Blocked);
        assert!(e.jobs.is_empty());
        assert!(e.blocked[0].problem.contains("prj_1"), "{:?}", e.blocked);
    }
}

#[test]
fn ownership_follows_objects_across_entries() {
    let d = desired(vec![
        redacted("a", &[cus("cus_1"), cus("cus_2")]),
        redacted("b", &[cus("cus_3")]),
    ]);
    let p = go(
        &d,
        &live(vec![
            job("prj_1", 1, "ready", "error", &[cus("cus_1"), cus("cus_9")]),
            job("prj_2", 2, "ready", "error", &[cus("cus_3")]),
        ]),
    );
    assert_eq!(ent(&p, "a").jobs[0].id, "prj_1");
    assert_eq!(ent(&p, "b").jobs[0].id, "prj_2");
    // prj_1 names cus_9 which no entry declares: replace, still owned by a.
    assert_eq!(ops(&p, "a")[0], (Op::Cancel, j("prj_1"), false));
    assert_eq!(ops(&p, "b"), vec![(Op::Run, j("prj_2"), false)]);
}

#[test]
fn objects_held_by_an_unmanaged_job_are_in_conflict() {
    let d = desired(vec![
        redacted("a", &[cus("cus_1"), cus("cus_2")]),
        redacted("b", &[cus("cus_3")]),
    ]);
    let l = live(vec![
        job(
            "prj_9",
            1,
            "redacting",
            "error",
            &[cus("cus_1"), cus("cus_3")],
        ),
        job("prj_8", 2, "ready", "error", &[cus("cus_77")]),
    ]);
    let p = go(&d, &l);
    let creates: Vec<&Action> = p.actions.iter().filter(|a| a.op == Op::Create).collect();
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0].objects, vec![cus("cus_2")]);
    assert_eq!(ent(&p, "a").outcome, Outcome::Blocked);
    assert!(ent(&p, "a").blocked[0].problem.contains("prj_9"));
    assert_eq!(
        p.unmanaged
            .iter()
            .map(|u| u.id.as_str())
            .collect::<Vec<_>>(),
        vec!["prj_9", "prj_8"]
    );
    assert!(p.unmanaged[1].entries.is_empty());
}

#[test]
fn prune_cancels_unmanaged_ready_and_failed_jobs_and_frees_their_objects() {
    let d = desired(vec![
        redacted("a", &[cus("cus_1")]),
        redacted("b", &[cus("cus_2")]),
    ]);
    let l = live(vec![
        job("prj_7", 1, "failed", "error", &[cus("cus_1"), cus("cus_2")]),
        job("prj_8", 2, "ready", "error", &[cus("cus_77")]),
        job("prj_9", 3, "redacting", "error", &[cus("cus_78")]),
    ]);
    let p = go(&d, &l);
    assert!(!p.actions.iter().any(|a| a.op == Op::Cancel));
    let p = plan(
        &d,
        &l,
        &Options {
            prune: true,
            ..Options::default()
        },
    );
    let cancels: Vec<&Action> = p.actions.iter().filter(|a| a.op == Op::Cancel).collect();
    assert_eq!(
        cancels.iter().map(|a| a.job.clone()).collect::<Vec<_>>(),
        vec![j("prj_7"), j("prj_8")]
    );
    assert!(cancels.iter().all(|a| a.entry.is_none()));
    let create_a = p
        .actions
        .iter()
        .find(|a| a.op == Op::Create && a.entry.as_deref() == Some("a"))
        .unwrap();
    assert_eq!(create_a.after, vec![cancels[0].id.clone()]);
    assert!(create_a.deferred && !create_a.replace);
    assert_eq!(ent(&p, "a").outcome, Outcome::Changes);
    // Prune comes first in execution order.
    assert_eq!(p.actions[0].op, Op::Cancel);
}

#[test]
fn targets_plan_only_named_entries_and_turn_prune_off() {
    let d = desired(vec![
        redacted("a", &[cus("cus_1")]),
        redacted("b", &[cus("cus_2")]),
    ]);
    let l = live(vec![job("prj_8", 2, "ready", "error", &[cus("cus_77")])]);
    let p = plan(
        &d,
        &l,
        &Options {
            prune: true,
            targets: vec!["b".into(), "zzz".into()],
            revalidate: false,
        },
    );
    assert_eq!(p.entries.len(), 1);
    assert_eq!(p.entries[0].name, "b");
    assert!(p.actions.iter().all(|a| a.entry.as_deref() == Some("b")));
    assert!(p.unmanaged.is_empty());
    assert_eq!(p.warnings.len(), 1);
    assert!(p.warnings[0].contains("zzz"));
}

#[test]
fn chunking_is_stable_objects_in_jobs_never_move() {
    let objects: Vec<ObjectRef> = (0..12).map(|i| cus(&format!("cus_{i:02}"))).collect();
    let d = desired(vec![redacted("a", &objects)]);
    // A job already holds the 5 objects in the middle.
    let held: Vec<ObjectRef> = objects[3..8].to_vec();
    let p = go(
        &d,
        &live(vec![job("prj_1", 1, "validating", "error", &held)]),
    );
    let creates: Vec<&Action> = p.actions.iter().filter(|a| a.op == Op::Create).collect();
    assert_eq!(creates.len(), 1);
    let mut want: Vec<ObjectRef> = objects[..3].to_vec();
    want.extend_from_slice(&objects[8..]);
    assert_eq!(creates[0].objects, want);
}

#[test]
fn canceled_jobs_release_objects_and_change_the_create_key() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let before = go(&d, &live(vec![]));
    let after = go(
        &d,
        &live(vec![job("prj_1", 1, "canceled", "error", &[cus("cus_1")])]),
    );
    assert_eq!(ops(&after, "a")[0], (Op::Create, None, false));
    assert_eq!(after.actions[0].key_context, vec!["prj_1".to_string()]);
    assert_ne!(
        before.actions[0].idempotency_key("acct_1", Mode::Test),
        after.actions[0].idempotency_key("acct_1", Mode::Test)
    );
    assert!(after.entries[0].jobs.is_empty());
}

#[test]
fn unknown_status_waits_and_holds_its_objects() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let p = go(
        &d,
        &live(vec![job(
            "prj_1",
            1,
            "quarantined",
            "error",
            &[cus("cus_1")],
        )]),
    );
    assert_eq!(ops(&p, "a"), vec![(Op::Wait, j("prj_1"), false)]);
    assert!(ent(&p, "a").warnings[0].contains("quarantined"));
}

// ---- identity sessions ----

fn session(id: &str, status: &str, redaction: Option<&str>) -> VerificationSession {
    VerificationSession {
        id: id.into(),
        object: "identity.verification_session".into(),
        created: 1,
        livemode: false,
        status: status.into(),
        redaction: redaction.map(|r| SessionRedaction { status: r.into() }),
    }
}

#[test]
fn identity_sessions_are_redacted_waited_for_or_blocked() {
    let mut e = redacted(
        "k",
        &[
            vs("vs_1"),
            vs("vs_2"),
            vs("vs_3"),
            vs("vs_4"),
            vs("vs_5"),
            vs("vs_6"),
        ],
    );
    e.via = Via::IdentityRedact;
    let d = desired(vec![e]);
    let mut l = live(vec![]);
    for s in [
        session("vs_1", "verified", None),
        session("vs_2", "requires_action", None),
        session("vs_3", "verified", Some("processing")),
        session("vs_4", "verified", Some("redacted")),
        session("vs_5", "canceled", None),
    ] {
        l.sessions.insert(s.id.clone(), s);
    }
    let p = go(&d, &l);
    let got: Vec<(Op, Option<String>)> = p
        .actions
        .iter()
        .map(|a| (a.op, a.session.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Op::Redact, j("vs_1")),
            (Op::Redact, j("vs_2")),
            (Op::Wait, j("vs_3"))
        ]
    );
    assert!(p.actions[0].irreversible && p.actions[0].side_effects.is_empty());
    assert_eq!(
        p.actions[1].side_effects,
        vec!["cancels VerificationSession vs_2 (requires_action)".to_string()]
    );
    let e = ent(&p, "k");
    assert_eq!(e.redacted, vec![vs("vs_4")]);
    let problems: Vec<&str> = e.blocked.iter().map(|b| b.problem.as_str()).collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("vs_5"));
    assert!(problems[1].contains("no such session: vs_6"));
    assert_eq!(p.summary.redact, 2);
    assert_eq!(p.summary.irreversible, 2);
    assert!(closing_line(&p).contains("2 to redact"));
}

// ---- staleness ----

#[test]
fn a_fresh_plan_has_no_stale_reasons() {
    let d = desired(vec![
        redacted("a", &[cus("cus_1")]),
        redacted("b", &[cus("cus_2")]),
    ]);
    let l = live(vec![job("prj_1", 1, "ready", "error", &[cus("cus_1")])]);
    let p = go(&d, &l);
    assert!(check_preconditions(&p, &l).is_empty());
}

#[test]
fn a_changed_job_makes_the_plan_stale() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let l = live(vec![job("prj_1", 1, "ready", "error", &[cus("cus_1")])]);
    let p = go(&d, &l);
    let moved = live(vec![job("prj_1", 1, "redacting", "error", &[cus("cus_1")])]);
    let reasons = check_preconditions(&p, &moved);
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].contains("prj_1 is now redacting"));
    let gone = live(vec![]);
    assert!(check_preconditions(&p, &gone)[0].contains("no longer exists"));
    let updated = live(vec![job("prj_1", 1, "ready", "fix", &[cus("cus_1")])]);
    assert!(check_preconditions(&p, &updated)[0].contains("validation_behavior fix"));
}

#[test]
fn a_new_job_holding_the_objects_makes_a_create_stale() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let p = go(&d, &live(vec![]));
    let reasons = check_preconditions(
        &p,
        &live(vec![job("prj_5", 1, "created", "error", &[cus("cus_1")])]),
    );
    assert_eq!(reasons.len(), 1);
    assert!(reasons[0].contains("held by job prj_5"), "{reasons:?}");
    let reasons = check_preconditions(
        &p,
        &live(vec![job("prj_5", 1, "succeeded", "error", &[cus("cus_1")])]),
    );
    assert!(reasons[0].contains("redacted since"), "{reasons:?}");
}

#[test]
fn deferred_actions_tolerate_stripe_side_progress_only() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let p = go(
        &d,
        &live(vec![job(
            "prj_1",
            1,
            "validating",
            "error",
            &[cus("cus_1")],
        )]),
    );
    let ready = live(vec![job("prj_1", 1, "ready", "error", &[cus("cus_1")])]);
    assert!(check_preconditions(&p, &ready).is_empty());
    let canceled = live(vec![job("prj_1", 1, "canceled", "error", &[cus("cus_1")])]);
    assert!(!check_preconditions(&p, &canceled).is_empty());
}

#[test]
fn another_account_or_mode_makes_the_plan_stale() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let p = go(&d, &live(vec![]));
    let mut l = live(vec![]);
    l.account = Some(Account {
        id: "acct_2".into(),
        object: String::new(),
    });
    l.mode = Some(Mode::Live);
    let reasons = check_preconditions(&p, &l);
    assert_eq!(reasons.len(), 2, "{reasons:?}");
}

// ---- approval ----

#[test]
fn approved_plan_allows_the_deferred_run_of_a_job_it_created() {
    let d = desired(vec![redacted("a", &[cus("cus_1"), pi("pi_1")])]);
    let saved = go(&d, &live(vec![]));
    let objects = [cus("cus_1"), pi("pi_1")];
    let fresh = go(&d, &live(vec![job("prj_1", 1, "ready", "error", &objects)]));
    let (allowed, new) = approved_actions(&saved, &fresh);
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0].op, Op::Run);
    assert_eq!(allowed[0].job, j("prj_1"));
    assert!(new.is_empty());
}

#[test]
fn new_work_found_by_a_re_plan_is_reported_not_allowed() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let saved = go(
        &d,
        &live(vec![job("prj_1", 1, "ready", "error", &[cus("cus_1")])]),
    );
    // The manifest now says fix: the re-plan wants an update before the run.
    let d2 = desired(vec![entry(
        "a",
        &[cus("cus_1")],
        DesiredState::Redacted,
        Behavior::Fix,
    )]);
    let fresh = go(
        &d2,
        &live(vec![job("prj_1", 1, "ready", "error", &[cus("cus_1")])]),
    );
    let (allowed, new) = approved_actions(&saved, &fresh);
    assert!(allowed.is_empty(), "{allowed:?}");
    // The update is new; the run needs it first, so it is not allowed either.
    assert_eq!(
        new.iter().map(|a| a.op).collect::<Vec<_>>(),
        vec![Op::Update, Op::Run]
    );
}

#[test]
fn an_approved_signature_allows_one_action_only() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let saved = go(&d, &live(vec![]));
    let mut fresh = saved.clone();
    let mut dup = fresh.actions[0].clone();
    dup.id = "a/create-2".into();
    fresh.actions.push(dup);
    let (allowed, new) = approved_actions(&saved, &fresh);
    assert_eq!(allowed.len(), 2);
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].id, "a/create-2");
}

// ---- idempotency keys ----

#[test]
fn idempotency_keys_are_deterministic_and_distinguish_what_matters() {
    let d = desired(vec![redacted("a", &[cus("cus_1"), pi("pi_1")])]);
    let p = go(&d, &live(vec![]));
    let create = &p.actions[0];
    let k = create.idempotency_key("acct_1", Mode::Test);
    assert!(k.starts_with("redactctl-") && k.len() <= 255);
    assert_eq!(
        k,
        go(&d, &live(vec![])).actions[0].idempotency_key("acct_1", Mode::Test)
    );
    assert_ne!(k, create.idempotency_key("acct_2", Mode::Test));
    assert_ne!(k, create.idempotency_key("acct_1", Mode::Live));
    let mut reordered = create.clone();
    reordered.objects.reverse();
    assert_eq!(k, reordered.idempotency_key("acct_1", Mode::Test));
    let mut fix = create.clone();
    fix.validation_behavior = Some(Behavior::Fix);
    assert_ne!(k, fix.idempotency_key("acct_1", Mode::Test));
    let mut other_entry = create.clone();
    other_entry.entry = Some("b".into());
    assert_ne!(k, other_entry.idempotency_key("acct_1", Mode::Test));
    // The action id is not part of the key: a re-plan may renumber.
    let mut renumbered = create.clone();
    renumbered.id = "a/create-7".into();
    assert_eq!(k, renumbered.idempotency_key("acct_1", Mode::Test));
}

#[test]
fn job_action_keys_include_the_job_and_validate_keys_the_errors() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let l1 = live(vec![job("prj_1", 1, "ready", "error", &[cus("cus_1")])]);
    let l2 = live(vec![job("prj_2", 1, "ready", "error", &[cus("cus_1")])]);
    let k1 = go(&d, &l1).actions[0].idempotency_key("acct_1", Mode::Test);
    let k2 = go(&d, &l2).actions[0].idempotency_key("acct_1", Mode::Test);
    assert_ne!(k1, k2);

    let mut l = live(vec![job("prj_1", 1, "failed", "error", &[cus("cus_1")])]);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![verr("prjve_1", "locked_by_other_job", "customer", "cus_1")],
    );
    let first = go(&d, &l).actions[0].clone();
    assert_eq!(first.op, Op::Validate);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![verr("prjve_2", "locked_by_other_job", "customer", "cus_1")],
    );
    let second = go(&d, &l).actions[0].clone();
    assert_ne!(
        first.idempotency_key("acct_1", Mode::Test),
        second.idempotency_key("acct_1", Mode::Test)
    );
}

#[test]
fn action_ids_are_unique_and_after_points_backwards() {
    let objects: Vec<ObjectRef> = (0..25).map(|i| cus(&format!("cus_{i:02}"))).collect();
    let d = desired(vec![
        redacted("a", &objects[..15]),
        entry("b", &objects[15..], DesiredState::Redacted, Behavior::Fix),
    ]);
    let l = live(vec![
        job("prj_1", 1, "validating", "error", &objects[15..17]),
        job(
            "prj_2",
            2,
            "ready",
            "error",
            &[objects[17].clone(), cus("cus_zz")],
        ),
    ]);
    let p = go(&d, &l);
    let mut seen = std::collections::HashSet::new();
    for a in &p.actions {
        for dep in &a.after {
            assert!(seen.contains(dep), "{} depends on later {dep}", a.id);
        }
        assert!(seen.insert(a.id.clone()), "duplicate id {}", a.id);
    }
}

#[test]
fn plan_json_round_trips_through_the_plan_file_parser() {
    let d = desired(vec![
        redacted("a", &[cus("cus_1")]),
        redacted("b", &[cus("cus_2")]),
    ]);
    let l = live(vec![job(
        "prj_1",
        1,
        "quarantined",
        "shred",
        &[cus("cus_1")],
    )]);
    let p = go(&d, &l);
    let text = render_json(&p);
    assert!(text.ends_with('\n'));
    assert_eq!(parse_plan_file(&text).unwrap(), p);
}

#[test]
fn status_rows_summarise_each_entry() {
    let d = desired(vec![
        redacted("a", &[cus("cus_1"), cus("cus_2")]),
        redacted("b", &[cus("cus_3")]),
        redacted("c", &[cus("cus_4")]),
    ]);
    let l = live(vec![
        job(
            "prj_1",
            1,
            "succeeded",
            "error",
            &[cus("cus_1"), cus("cus_2")],
        ),
        job("prj_2", 2, "redacting", "error", &[cus("cus_3")]),
    ]);
    let rows = status_rows(&d, &l);
    let got: Vec<(&str, &str, usize, usize)> = rows
        .iter()
        .map(|r| (r.name.as_str(), r.state.as_str(), r.redacted, r.declared))
        .collect();
    assert_eq!(
        got,
        vec![
            ("a", "converged", 2, 2),
            ("b", "in progress", 0, 1),
            ("c", "pending", 0, 1)
        ]
    );
    assert_eq!(
        rows[1].jobs,
        vec![("prj_2".to_string(), JobStatus::Redacting)]
    );
    let table = render_status_human(&rows, false);
    assert!(table.starts_with("NAME"));
    assert!(table.contains("prj_2 redacting"));
    assert!(!table.contains('\u{1b}'));
    assert!(render_status_human(&rows, true).contains('\u{1b}'));
    let json: serde_json::Value = serde_json::from_str(&render_status_json(&rows)).unwrap();
    assert_eq!(json[1]["jobs"][0]["status"], "redacting");
    assert_eq!(json[0]["state"], "converged");
}

// ---- views ----

#[test]
fn closing_line_says_what_remains_when_nothing_is_to_be_sent() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let converged = go(
        &d,
        &live(vec![job("prj_1", 1, "succeeded", "error", &[cus("cus_1")])]),
    );
    assert_eq!(
        closing_line(&converged),
        "No changes. Stripe matches the manifests."
    );
    let waiting = go(
        &d,
        &live(vec![job("prj_1", 1, "redacting", "error", &[cus("cus_1")])]),
    );
    assert_eq!(
        closing_line(&waiting),
        "No changes. Waiting on Stripe for 1 job or session."
    );
    let mut l = live(vec![job("prj_1", 1, "failed", "error", &[cus("cus_1")])]);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![verr("prjve_1", "invalid_state", "charge", "ch_1")],
    );
    let blocked = go(&d, &l);
    assert!(blocked.is_blocked() && !blocked.has_changes());
    assert_eq!(
        closing_line(&blocked),
        "No changes. 1 entry is blocked: a person must act."
    );
    let changes = go(&d, &live(vec![]));
    assert_eq!(
        closing_line(&changes),
        "Plan: 1 to create, 0 to update, 0 to validate, 1 to run, 0 to cancel; 1 irreversible."
    );
    assert!(render_human(&changes, false).ends_with(&format!("{}\n", closing_line(&changes))));
}

#[test]
fn markdown_escapes_table_cells_and_balances_sections() {
    let mut e = redacted("a", &[cus("cus_1")]);
    e.ticket = Some("DSR|142".into());
    let d = desired(vec![e]);
    let md = render_markdown(&go(&d, &live(vec![])));
    assert!(md.contains("DSR\\|142"), "{md}");
    assert!(md.contains("<details><summary><code>a</code>: pending</summary>"));
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count()
    );
    assert!(md.contains("> [!CAUTION]"));
}

#[test]
fn human_view_shows_the_behavior_change_as_before_and_after() {
    let d = desired(vec![entry(
        "a",
        &[cus("cus_1")],
        DesiredState::Redacted,
        Behavior::Fix,
    )]);
    let text = render_human(
        &go(
            &d,
            &live(vec![job("prj_1", 1, "ready", "error", &[cus("cus_1")])]),
        ),
        false,
    );
    assert!(text.contains("~ update job prj_1"), "{text}");
    assert!(text.contains("- validation_behavior: error\n"), "{text}");
    assert!(text.contains("+ validation_behavior: fix\n"), "{text}");
    assert!(text.contains("! run job prj_1  [IRREVERSIBLE]"), "{text}");
}

#[test]
fn errors_embedded_in_the_job_are_used_when_none_were_listed() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let mut failed = job("prj_1", 1, "failed", "error", &[cus("cus_1")]);
    failed.validation_errors = Some(crate::stripe::models::List {
        object: "list".into(),
        data: vec![verr("prjve_1", "invalid_state", "invoice", "in_1")],
        has_more: false,
        url: String::new(),
    });
    let p = go(&d, &live(vec![failed]));
    let e = ent(&p, "a");
    assert_eq!(e.jobs[0].errors.len(), 1);
    assert_eq!(
        e.blocked[0].errors[0].fix.as_deref(),
        Some("void Invoice in_1")
    );
}
