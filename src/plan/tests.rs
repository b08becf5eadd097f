//! Planner unit tests: one per row of DESIGN.md's planning table, plus ownership,
//! conflicts, chunking, prune, targets, sessions, staleness, approval and keys.

use std::path::PathBuf;

use super::*;
use crate::kinds::{ObjectKind, ObjectRef};
use crate::manifest::{
    AccountSpec, Behavior, Desired, DesiredState, Entry, FixKind, Location, Via,
};
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
fn ch(id: &str) -> ObjectRef {
    ObjectRef::new(ObjectKind::Charges, id)
}
fn vs(id: &str) -> ObjectRef {
    ObjectRef::new(ObjectKind::IdentityVerificationSessions, id)
}

fn entry(name: &str, objects: &[ObjectRef], state: DesiredState, behavior: Behavior) -> Entry {
    let mut objects = objects.to_vec();
    objects.sort();
    Entry {
        deadline: Default::default(),
        allowed_fixes: Vec::new(),
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
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let p = go(
        &d,
        &live(vec![job("prj_1", 1, "created", "fix", &[cus("cus_1")])]),
    );
    assert_eq!(
        ops(&p, "a"),
        vec![
            (Op::Update, j("prj_1"), false),
            (Op::Wait, j("prj_1"), false),
            (Op::Run, j("prj_1"), true)
        ]
    );
    assert_eq!(p.actions[0].validation_behavior, Some(Behavior::Error));
    assert!(p.actions[2].after.contains(&p.actions[0].id));
}

#[test]
fn a_fix_entry_is_created_with_error_so_that_its_fixes_can_be_shown() {
    let d = desired(vec![entry(
        "a",
        &[cus("cus_1")],
        DesiredState::Redacted,
        Behavior::Fix,
    )]);
    let p = go(&d, &live(vec![]));
    assert_eq!(p.actions[0].op, Op::Create);
    assert_eq!(p.actions[0].validation_behavior, Some(Behavior::Error));
    // Its validating job stays in `error`: no switch before a plan showed the fixes.
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
    assert!(p.actions[1].fixes.is_empty());
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
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let p = go(
        &d,
        &live(vec![job("prj_1", 1, "ready", "fix", &[cus("cus_1")])]),
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

/// The job that held the lock named the locked object, and no manifest declares anything
/// it names: it is still recognised as the holder that is now done (not some other active
/// job, through a related object), however the planner stores the jobs that are neither
/// an entry's nor active.
#[test]
fn a_lock_released_by_a_finished_job_of_no_entry_is_revalidated() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let mut l = live(vec![
        job("prj_0", 1, "succeeded", "error", &[ch("ch_9")]),
        job("prj_1", 2, "failed", "error", &[cus("cus_1")]),
        // Active, naming nothing of the lock: a holder only if no job named the object.
        job("prj_2", 3, "validating", "error", &[cus("cus_2")]),
    ]);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![verr("prjve_1", "locked_by_other_job", "charge", "ch_9")],
    );
    let p = go(&d, &l);
    assert_eq!(
        ops(&p, "a"),
        vec![
            (Op::Validate, j("prj_1"), false),
            (Op::Run, j("prj_1"), true)
        ]
    );
}

#[test]
fn failed_job_whose_lock_is_still_held_waits_on_the_holder_by_name() {
    // The customer's job reaches the charge that the charge entry's job holds.
    let d = desired(vec![
        redacted("cust", &[cus("cus_1")]),
        redacted("charge", &[ch("ch_1")]),
    ]);
    let mut l = live(vec![
        job("prj_0", 1, "ready", "error", &[ch("ch_1")]),
        job("prj_1", 2, "failed", "error", &[cus("cus_1")]),
    ]);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![verr("prjve_1", "locked_by_other_job", "charge", "ch_1")],
    );
    let p = go(&d, &l);
    assert_eq!(
        ops(&p, "cust"),
        vec![
            (Op::Wait, j("prj_1"), false),
            (Op::Validate, j("prj_1"), true),
            (Op::Run, j("prj_1"), true)
        ]
    );
    let wait = p
        .actions
        .iter()
        .find(|a| a.entry.as_deref() == Some("cust"))
        .unwrap();
    assert_eq!(wait.reason, "waiting on prj_0 (entry charge, status ready)");
    assert_eq!(wait.lock_holders[0].objects, vec!["ch_1".to_string()]);
    assert!(wait.lock_holders[0].direct);
    assert_eq!(ent(&p, "cust").outcome, Outcome::Waiting);
    assert!(ent(&p, "cust").blocked.is_empty());
    // Not a revalidation loop: nothing is sent while the holder is active.
    assert!(p
        .actions
        .iter()
        .filter(|a| a.entry.as_deref() == Some("cust"))
        .all(|a| a.op == Op::Wait || a.deferred));
}

#[test]
fn a_lock_held_through_a_related_object_waits_on_every_possible_holder() {
    let d = desired(vec![redacted("cust", &[cus("cus_1")])]);
    let mut l = live(vec![
        job("prj_0", 1, "redacting", "error", &[cus("cus_7")]),
        job("prj_1", 2, "failed", "error", &[cus("cus_1")]),
        // A job that failed on a lock holds nothing.
        job("prj_2", 3, "failed", "error", &[cus("cus_8")]),
    ]);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![verr(
            "prjve_1",
            "locked_by_other_job",
            "payment_method",
            "pm_1",
        )],
    );
    l.validation_errors.insert(
        "prj_2".into(),
        vec![verr("prjve_2", "locked_by_other_job", "customer", "cus_8")],
    );
    let p = go(&d, &l);
    let wait = &p.actions[0];
    assert_eq!(wait.op, Op::Wait);
    assert_eq!(
        wait.lock_holders
            .iter()
            .map(|h| (h.job.as_str(), h.direct))
            .collect::<Vec<_>>(),
        [("prj_0", false)]
    );
    assert!(
        wait.reason.contains("through a related object"),
        "{}",
        wait.reason
    );
}

#[test]
fn once_the_holder_is_done_one_revalidation_is_planned() {
    let d = desired(vec![
        redacted("cust", &[cus("cus_1")]),
        redacted("charge", &[ch("ch_1")]),
    ]);
    let mut l = live(vec![
        job("prj_0", 1, "canceled", "error", &[ch("ch_1")]),
        job("prj_1", 2, "failed", "error", &[cus("cus_1")]),
        // An unrelated active job: the known holder is done, so it is not waited on.
        job("prj_9", 3, "ready", "error", &[cus("cus_unrelated")]),
    ]);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![verr("prjve_1", "locked_by_other_job", "charge", "ch_1")],
    );
    let p = go(&d, &l);
    let cust: Vec<&Action> = p
        .actions
        .iter()
        .filter(|a| a.entry.as_deref() == Some("cust"))
        .collect();
    assert_eq!(cust.len(), 2);
    assert_eq!((cust[0].op, cust[0].deferred), (Op::Validate, false));
    assert!(cust[0].lock_release);
    assert!(!cust[0].irreversible);
    assert_eq!(cust[0].lock_holders[0].job, "prj_0");
    assert_eq!(cust[1].op, Op::Run);

    // An apply that approved creating and running the entry's job may revalidate once.
    let approved = go(&d, &live(vec![]));
    let (allowed, new) = approved_actions(&approved, &p);
    assert!(
        allowed
            .iter()
            .any(|a| a.op == Op::Validate && a.entry.as_deref() == Some("cust")),
        "{new:?}"
    );
    // Without approval for the entry, the revalidation is new work.
    let other = go(
        &desired(vec![redacted("charge", &[ch("ch_1")])]),
        &live(vec![]),
    );
    let (allowed, _) = approved_actions(&other, &p);
    assert!(!allowed.iter().any(|a| a.op == Op::Validate));
}

#[test]
fn a_holder_that_redacted_the_entrys_objects_converges_it() {
    let d = desired(vec![
        redacted("order", &[pi("pi_5")]),
        redacted("charge", &[ch("ch_1")]),
    ]);
    // The charge entry's job failed on the charge, held by a job that names the charge and
    // the order's PaymentIntent; that job then succeeded.
    let mut l = live(vec![
        job("prj_0", 1, "succeeded", "error", &[ch("ch_1"), pi("pi_5")]),
        job("prj_1", 2, "failed", "error", &[ch("ch_1")]),
    ]);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![verr("prjve_1", "locked_by_other_job", "charge", "ch_1")],
    );
    let p = go(&d, &l);
    let e = ent(&p, "charge");
    assert!(ops(&p, "charge").is_empty(), "{:?}", ops(&p, "charge"));
    assert_eq!(e.outcome, Outcome::Converged);
    assert_eq!(
        e.redacted_by,
        vec![RedactedBy {
            job: "prj_0".into(),
            entry: None,
            objects: vec![ch("ch_1")],
        }]
    );
    let text = render_human(&p, false);
    assert!(
        text.contains("redacted by prj_0 (unmanaged): Charge ch_1"),
        "{text}"
    );
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
            ..Options::default()
        },
    );
    assert_eq!(p.entries.len(), 1);
    assert_eq!(p.entries[0].name, "b");
    assert!(p.actions.iter().all(|a| a.entry.as_deref() == Some("b")));
    assert!(p.unmanaged.is_empty());
    assert_eq!(p.warnings.len(), 2);
    assert!(p.warnings[0].contains("zzz"));
    assert!(p.warnings[1].contains("do not mix"));
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
    // The job was switched to fix: the re-plan wants an update before the run.
    let fresh = go(
        &d,
        &live(vec![job("prj_1", 1, "ready", "fix", &[cus("cus_1")])]),
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
fn a_run_approved_after_a_switch_back_to_error_stays_approved_once_the_switch_is_done() {
    // The plan saw the job validating under `fix`; the manifest says `error`: switch back,
    // wait, run. Once the switch is done the re-plan shows the same run under `error`:
    // the run that was approved, not new work.
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let saved = go(
        &d,
        &live(vec![job("prj_1", 1, "validating", "fix", &[cus("cus_1")])]),
    );
    assert!(saved.actions.iter().any(|a| a.op == Op::Update));
    let fresh = go(
        &d,
        &live(vec![job(
            "prj_1",
            1,
            "validating",
            "error",
            &[cus("cus_1")],
        )]),
    );
    let (allowed, new) = approved_actions(&saved, &fresh);
    assert!(new.is_empty(), "{new:?}");
    assert!(allowed.iter().any(|a| a.op == Op::Run), "{allowed:?}");
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
    // The entry's name is not part of the key: the same objects declared under another
    // name (a rename racing an apply) make the same request, which Stripe runs once.
    let mut other_entry = create.clone();
    other_entry.entry = Some("b".into());
    assert_eq!(k, other_entry.idempotency_key("acct_1", Mode::Test));
    // Each attempt after an error has its own key; attempt 0 is the plain key.
    assert_eq!(k, create.idempotency_key_attempt("acct_1", Mode::Test, 0));
    let retry = create.idempotency_key_attempt("acct_1", Mode::Test, 1);
    assert_ne!(k, retry);
    assert_ne!(
        retry,
        create.idempotency_key_attempt("acct_1", Mode::Test, 2)
    );
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
    let mut l = live(vec![job("prj_1", 1, "failed", "error", &[cus("cus_1")])]);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![verr("prjve_1", "invalid_state", "payment_intent", "pi_9")],
    );
    let text = render_human(&go(&d, &l), false);
    assert!(text.contains("~ update job prj_1"), "{text}");
    assert!(text.contains("- validation_behavior: error\n"), "{text}");
    assert!(text.contains("+ validation_behavior: fix\n"), "{text}");
    assert!(
        text.contains("! run job prj_1  [IRREVERSIBLE, deferred]"),
        "{text}"
    );
}

#[test]
fn errors_embedded_in_the_job_are_used_when_none_were_listed() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let mut failed = job("prj_1", 1, "failed", "error", &[cus("cus_1")]);
    failed.validation_errors = Some(Box::new(crate::stripe::models::List {
        object: "list".into(),
        data: vec![verr("prjve_1", "invalid_state", "invoice", "in_1")],
        has_more: false,
        url: String::new(),
    }));
    let p = go(&d, &live(vec![failed]));
    let e = ent(&p, "a");
    assert_eq!(e.jobs[0].errors.len(), 1);
    assert_eq!(
        e.blocked[0].errors[0].fix.as_deref(),
        Some("void Invoice in_1")
    );
}

// ---- deadlines in status ----

#[test]
fn status_rows_on_a_day_carry_deadlines_and_flag_jobs_stuck_over_30_days() {
    use crate::deadline::{Date, DeadlineSpec, Regulation, Urgency};
    let today: Date = "2026-03-10".parse().unwrap();
    let day = |s: &str| Date::from_unix(0).days_until(s.parse().unwrap()) * 86_400;
    let with_deadline = |mut e: Entry, received: &str| {
        e.deadline = DeadlineSpec {
            regulation: Some(Regulation::Ccpa),
            received: Some(received.parse().unwrap()),
            ..DeadlineSpec::default()
        };
        e
    };
    let d = desired(vec![
        with_deadline(redacted("a", &[cus("cus_1")]), "2026-01-01"),
        with_deadline(redacted("b", &[cus("cus_2")]), "2026-01-01"),
        with_deadline(redacted("c", &[cus("cus_3")]), "2026-03-01"),
    ]);
    let l = live(vec![
        job(
            "prj_1",
            day("2026-01-05"),
            "succeeded",
            "error",
            &[cus("cus_1")],
        ),
        job(
            "prj_2",
            day("2026-02-01"),
            "validating",
            "error",
            &[cus("cus_2")],
        ),
        job(
            "prj_3",
            day("2026-02-08"),
            "redacting",
            "error",
            &[cus("cus_3")],
        ),
    ]);
    let rows = status_rows_on(&d, &l, today, 7);
    let urgency: Vec<Option<Urgency>> = rows
        .iter()
        .map(|r| r.deadline.as_ref().unwrap().urgency)
        .collect();
    // a: converged, so done although its date has passed; b: due 2026-02-15, open.
    assert_eq!(
        urgency,
        vec![None, Some(Urgency::Overdue), Some(Urgency::OnTrack)]
    );
    assert_eq!(rows[1].stuck_jobs.len(), 1);
    assert_eq!(rows[1].stuck_jobs[0].id, "prj_2");
    assert_eq!(rows[1].stuck_jobs[0].days, 37);
    // 30 days exactly is within Stripe's limit.
    assert!(rows[2].stuck_jobs.is_empty());
    let table = render_status_human(&rows, false);
    assert!(
        table.contains("warning: job prj_2 of b has been validating for 37 days"),
        "{table}"
    );
    assert_eq!(failing_rows(&rows, &[FailOn::Overdue]), vec!["b"]);
    assert!(failing_rows(&rows, &[]).is_empty());
    // Without a day, no deadlines: the table reads as before.
    assert!(status_rows(&d, &l).iter().all(|r| r.deadline.is_none()));
}

#[test]
fn fail_on_conditions_parse() {
    assert_eq!("overdue".parse::<FailOn>(), Ok(FailOn::Overdue));
    assert_eq!("due-within=7d".parse::<FailOn>(), Ok(FailOn::DueWithin(7)));
    assert_eq!(
        "eligible-after-due".parse::<FailOn>(),
        Ok(FailOn::EligibleAfterDue)
    );
    assert_eq!("due-within=0".parse::<FailOn>(), Ok(FailOn::DueWithin(0)));
    for bad in ["late", "due-within=", "due-within=7w", "due-within=-1d"] {
        assert!(bad.parse::<FailOn>().is_err(), "{bad}");
    }
    assert_eq!(FailOn::window(&[]), 7);
    assert_eq!(
        FailOn::window(&[FailOn::Overdue, FailOn::DueWithin(14)]),
        14
    );
}
// ---- fix previews ------------------------------------------------------------------

fn fix_entry(name: &str, objects: &[ObjectRef]) -> Entry {
    entry(name, objects, DesiredState::Redacted, Behavior::Fix)
}

/// The guide's customer: its job failed under `error` on an open PaymentIntent and an
/// attached PaymentMethod.
fn guide_live(errors: &[(&str, &str, &str)]) -> Live {
    let mut l = live(vec![job("prj_1", 1, "failed", "error", &[cus("cus_1")])]);
    l.validation_errors.insert(
        "prj_1".into(),
        errors
            .iter()
            .enumerate()
            .map(|(i, (code, ty, id))| verr(&format!("prjve_{i}"), code, ty, id))
            .collect(),
    );
    l
}

const GUIDE_ERRORS: &[(&str, &str, &str)] = &[
    ("invalid_state", "payment_intent", "pi_1"),
    ("invalid_state", "payment_method", "pm_1"),
];

#[test]
fn a_fix_preview_lists_every_fix_each_irreversible_and_counted() {
    let d = desired(vec![fix_entry("a", &[cus("cus_1")])]);
    let p = go(&d, &guide_live(GUIDE_ERRORS));
    let e = ent(&p, "a");
    let fixes: Vec<&str> = e.fixes.iter().map(|f| f.description.as_str()).collect();
    assert_eq!(
        fixes,
        ["cancel PaymentIntent pi_1", "detach PaymentMethod pm_1"]
    );
    let run = p.actions.iter().find(|a| a.op == Op::Run).unwrap();
    assert_eq!(run.fixes.len(), 2);
    assert_eq!(run.irreversible_effects(), 3, "the run and its two fixes");
    assert_eq!(p.summary.irreversible, 3);
    assert_eq!(p.summary.fixes, 2);
    assert_eq!(p.irreversible_count(), 3);
    // The switch to fix commits to the same fixes but destroys nothing itself.
    let update = p.actions.iter().find(|a| a.op == Op::Update).unwrap();
    assert_eq!(update.fixes, run.fixes);
    assert_eq!(update.irreversible_effects(), 0);
}

#[test]
fn a_fix_preview_is_approved_only_for_exactly_the_fixes_it_listed() {
    let d = desired(vec![fix_entry("a", &[cus("cus_1")])]);
    let approved = go(&d, &guide_live(GUIDE_ERRORS));
    // Same errors: everything is approved.
    let fresh = go(&d, &guide_live(GUIDE_ERRORS));
    let (allowed, new) = approved_actions(&approved, &fresh);
    assert_eq!(allowed.len(), 3);
    assert!(new.is_empty());
    // A new fixable error since approval: the switch, revalidation and run all stop.
    let mut more = GUIDE_ERRORS.to_vec();
    more.push(("invalid_state", "invoice", "in_1"));
    let fresh = go(&d, &guide_live(&more));
    let (allowed, new) = approved_actions(&approved, &fresh);
    assert!(allowed.is_empty(), "{allowed:?}");
    assert_eq!(
        new.iter().map(|a| a.op).collect::<Vec<_>>(),
        [Op::Update, Op::Validate, Op::Run]
    );
    // After the switch the ready job's run applies the approved fixes.
    let mut l = live(vec![job("prj_1", 1, "ready", "fix", &[cus("cus_1")])]);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![
            verr("prjve_0", "invalid_state", "payment_intent", "pi_1"),
            verr("prjve_1", "invalid_state", "payment_method", "pm_1"),
        ],
    );
    let fresh = go(&d, &l);
    let (allowed, _) = approved_actions(&approved, &fresh);
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0].op, Op::Run);
    assert_eq!(allowed[0].fixes.len(), 2);
}

#[test]
fn a_plan_that_showed_no_fixes_does_not_approve_them() {
    let d = desired(vec![fix_entry("a", &[cus("cus_1")])]);
    // What `--auto-approve` approved on the first apply: create (under error) and run.
    let approved = go(&d, &live(vec![]));
    assert_eq!(
        approved.actions[0].validation_behavior,
        Some(Behavior::Error)
    );
    assert_eq!(approved.summary.fixes, 0);
    let fresh = go(&d, &guide_live(GUIDE_ERRORS));
    let (allowed, new) = approved_actions(&approved, &fresh);
    assert!(allowed.is_empty(), "{allowed:?}");
    assert_eq!(new.len(), 3);
}

#[test]
fn allowed_fixes_pre_approve_only_their_kinds() {
    let mut e = fix_entry("a", &[cus("cus_1")]);
    e.allowed_fixes = vec![FixKind::CancelPaymentIntent, FixKind::DetachPaymentMethod];
    let d = desired(vec![e.clone()]);
    let approved = go(&d, &live(vec![]));
    let fresh = go(&d, &guide_live(GUIDE_ERRORS));
    assert!(ent(&fresh, "a").fixes.iter().all(|f| f.preapproved));
    let (allowed, new) = approved_actions(&approved, &fresh);
    assert_eq!(
        allowed.iter().map(|a| a.op).collect::<Vec<_>>(),
        [Op::Update, Op::Validate, Op::Run]
    );
    assert!(new.is_empty());
    // A fix of another kind still needs a plan that shows it.
    e.allowed_fixes = vec![FixKind::CancelPaymentIntent];
    let d = desired(vec![e]);
    let approved = go(&d, &live(vec![]));
    let fresh = go(&d, &guide_live(GUIDE_ERRORS));
    let (allowed, _) = approved_actions(&approved, &fresh);
    assert!(allowed.is_empty(), "{allowed:?}");
}

#[test]
fn a_fix_entry_with_an_unfixable_error_is_blocked_not_switched() {
    let d = desired(vec![fix_entry("a", &[cus("cus_1")])]);
    let p = go(
        &d,
        &guide_live(&[
            ("invalid_state", "payment_intent", "pi_1"),
            ("invalid_cascading_source", "charge", "ch_1"),
        ]),
    );
    assert!(ops(&p, "a").is_empty(), "{:?}", ops(&p, "a"));
    assert_eq!(ent(&p, "a").outcome, Outcome::Blocked);
}

#[test]
fn a_ready_fix_job_runs_with_the_fixes_its_errors_list() {
    let d = desired(vec![fix_entry("a", &[cus("cus_1")])]);
    let mut l = live(vec![job("prj_1", 1, "ready", "fix", &[cus("cus_1")])]);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![verr("prjve_0", "invalid_state", "invoice", "in_1")],
    );
    let p = go(&d, &l);
    assert_eq!(ops(&p, "a"), vec![(Op::Run, j("prj_1"), false)]);
    assert_eq!(p.actions[0].fixes[0].description, "void Invoice in_1");
    // Ready under `error`: validation found nothing to fix; it runs as it is.
    let p = go(
        &d,
        &live(vec![job("prj_1", 1, "ready", "error", &[cus("cus_1")])]),
    );
    assert_eq!(ops(&p, "a"), vec![(Op::Run, j("prj_1"), false)]);
    assert!(p.actions[0].fixes.is_empty());
}

#[test]
fn the_risk_period_is_dated_from_the_objects_creation() {
    let d = desired(vec![fix_entry("a", &[cus("cus_1")])]);
    let mut l = guide_live(&[("invalid_state", "payment_intent", "pi_1")]);
    l.observed_at = 100 * 86_400;
    l.object_created.insert("pi_1".into(), 95 * 86_400);
    let p = go(&d, &l);
    assert!(ent(&p, "a").fixes.is_empty(), "no fix exists for time");
    assert_eq!(ent(&p, "a").outcome, Outcome::Scheduled);
    let hint = &ent(&p, "a").jobs[0].errors[0].hint;
    assert!(hint.contains("90-day risk period"), "{hint}");
    // Older than 90 days when the job was validated: the same error is fixable.
    l.jobs[0].created = 96 * 86_400;
    l.object_created.insert("pi_1".into(), 5 * 86_400);
    let p = go(&d, &l);
    assert_eq!(ent(&p, "a").fixes.len(), 1);
}

// ---- the 90-day risk period as a schedule ------------------------------------------------

const DAY: i64 = 86_400;

/// A charge entry whose job (created on day 100) failed on the risk period of ch_1,
/// created on day 70: eligible on day 160.
fn risk_live(observed_day: i64) -> Live {
    let mut l = live(vec![job(
        "prj_1",
        100 * DAY,
        "failed",
        "error",
        &[ch("ch_1")],
    )]);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![verr("prjve_1", "invalid_state", "charge", "ch_1")],
    );
    l.object_created.insert("ch_1".into(), 70 * DAY);
    l.observed_at = observed_day * DAY;
    l
}

#[test]
fn the_risk_period_is_scheduled_for_its_end_not_blocked() {
    let d = desired(vec![redacted("a", &[ch("ch_1")])]);
    let p = go(&d, &risk_live(130));
    let e = ent(&p, "a");
    assert_eq!(e.outcome, Outcome::Scheduled);
    assert!(e.blocked.is_empty(), "{:?}", e.blocked);
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    assert!(!p.has_changes() && !p.is_blocked());
    assert_eq!(e.scheduled.len(), 1);
    assert_eq!(e.scheduled[0].eligible_at, 160 * DAY);
    assert_eq!(
        e.eligible_on(),
        Some(crate::deadline::Date::from_unix(160 * DAY))
    );
    assert_eq!(
        e.state_text(),
        format!(
            "scheduled: eligible on {}",
            crate::deadline::Date::from_unix(160 * DAY)
        )
    );
    assert!(
        e.jobs[0].errors[0]
            .hint
            .contains("revalidates the job by itself"),
        "{}",
        e.jobs[0].errors[0].hint
    );
}

#[test]
fn on_the_eligible_date_the_revalidation_is_planned_and_implied_by_the_entry() {
    let d = desired(vec![redacted("a", &[ch("ch_1")])]);
    let p = go(&d, &risk_live(160));
    assert_eq!(
        ops(&p, "a"),
        vec![
            (Op::Validate, j("prj_1"), false),
            (Op::Run, j("prj_1"), true)
        ]
    );
    assert!(p.actions[0].scheduled && !p.actions[0].is_irreversible());
    assert_eq!(ent(&p, "a").outcome, Outcome::Changes);
    // An apply that approved a plan made before the date may send it: the entry implies it.
    let before = go(&d, &risk_live(130));
    let (allowed, new) = approved_actions(&before, &p);
    assert_eq!(
        allowed.iter().map(|a| a.op).collect::<Vec<_>>(),
        vec![Op::Validate],
        "{new:?}"
    );
    // The run it leads to is irreversible: not approved by a plan that had no run.
    assert_eq!(new.iter().map(|a| a.op).collect::<Vec<_>>(), vec![Op::Run]);
}

#[test]
fn an_error_from_a_validation_after_the_period_ended_is_not_rescheduled() {
    let d = desired(vec![redacted("a", &[ch("ch_1")])]);
    let mut l = risk_live(170);
    // redactctl revalidated on day 161: the charge was 91 days old then.
    l.validated_at.insert("prj_1".into(), 161 * DAY);
    let p = go(&d, &l);
    assert!(ops(&p, "a").is_empty(), "no loop: {:?}", ops(&p, "a"));
    assert_eq!(ent(&p, "a").outcome, Outcome::Blocked);
}

#[test]
fn an_undated_transaction_stays_blocked_and_says_what_the_key_needs() {
    let d = desired(vec![redacted("a", &[ch("ch_1")])]);
    let mut l = risk_live(130);
    l.object_created.clear();
    let p = go(&d, &l);
    let e = ent(&p, "a");
    assert_eq!(e.outcome, Outcome::Blocked);
    let hint = &e.jobs[0].errors[0].hint;
    assert!(hint.contains("read access to charges"), "{hint}");
}

#[test]
fn a_risk_period_next_to_an_error_a_person_must_resolve_is_blocked() {
    let d = desired(vec![redacted("a", &[ch("ch_1")])]);
    let mut l = risk_live(130);
    l.validation_errors.get_mut("prj_1").unwrap().push(verr(
        "prjve_2",
        "invalid_cascading_source",
        "charge",
        "ch_1",
    ));
    let p = go(&d, &l);
    assert_eq!(ent(&p, "a").outcome, Outcome::Blocked);
    assert!(ent(&p, "a").scheduled.is_empty());
}

// ---- --revalidate-every ------------------------------------------------------------------

/// A job (created on day 10) that failed on an error only a person can resolve.
fn manual_live(observed: i64) -> Live {
    let mut l = live(vec![job(
        "prj_1",
        10 * DAY,
        "failed",
        "error",
        &[cus("cus_1")],
    )]);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![verr(
            "prjve_1",
            "invalid_cascading_source",
            "customer",
            "cus_1",
        )],
    );
    l.observed_at = observed;
    l
}

fn every_day() -> Options {
    Options {
        revalidate_every: Some(DAY as u64),
        ..Options::default()
    }
}

#[test]
fn revalidate_every_revalidates_once_per_period_from_the_last_validation() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    // Within a day of the job's creation: blocked, and it says when it will be retried.
    let p = plan(&d, &manual_live(10 * DAY + 3600), &every_day());
    assert!(ops(&p, "a").is_empty());
    assert_eq!(ent(&p, "a").outcome, Outcome::Blocked);
    assert!(
        ent(&p, "a").blocked[0]
            .resolve
            .iter()
            .any(|r| r.contains("--revalidate-every")),
        "{:?}",
        ent(&p, "a").blocked[0].resolve
    );
    // A day later: one revalidation (and the run once it is ready).
    let mut l = manual_live(11 * DAY);
    let p = plan(&d, &l, &every_day());
    assert_eq!(
        ops(&p, "a"),
        vec![
            (Op::Validate, j("prj_1"), false),
            (Op::Run, j("prj_1"), true)
        ]
    );
    // It was revalidated (the audit log says when) and failed again: not again that day.
    l.validated_at.insert("prj_1".into(), 11 * DAY);
    l.observed_at = 11 * DAY + 600;
    assert!(ops(&plan(&d, &l, &every_day()), "a").is_empty());
    l.observed_at = 12 * DAY;
    assert_eq!(ops(&plan(&d, &l, &every_day()), "a").len(), 2);
    // Without the option: never by itself.
    assert!(ops(&go(&d, &l), "a").is_empty());
}

#[test]
fn revalidate_every_leaves_locks_and_the_risk_period_to_their_own_rules() {
    let d = desired(vec![redacted("a", &[ch("ch_1")])]);
    let p = plan(&d, &risk_live(130), &every_day());
    assert!(ops(&p, "a").is_empty(), "{:?}", ops(&p, "a"));
    assert_eq!(ent(&p, "a").outcome, Outcome::Scheduled);
}

#[test]
fn an_unknown_object_type_gets_stripes_fix_not_a_guessed_verb() {
    let d = desired(vec![fix_entry("a", &[cus("cus_1")])]);
    let p = go(
        &d,
        &guide_live(&[("invalid_state", "subscription", "sub_1")]),
    );
    assert_eq!(
        ent(&p, "a").fixes[0].description,
        "Stripe's fix for subscription sub_1"
    );
    assert_eq!(p.summary.fixes, 1);
}

// ---- provenance, adoption, conflicts ---------------------------------------------------

fn with_provenance(mut l: Live, created: &[(&str, &[ObjectRef])]) -> Live {
    l.created_by_redactctl = Some(
        created
            .iter()
            .map(|(j, o)| (j.to_string(), o.to_vec()))
            .collect(),
    );
    l
}

#[test]
fn running_a_job_created_outside_redactctl_is_an_adoption() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let jobs = vec![job(
        "prj_1",
        1_700_000_000,
        "ready",
        "error",
        &[cus("cus_1")],
    )];
    let p = go(&d, &with_provenance(live(jobs.clone()), &[]));
    let run = &p.actions[0];
    assert_eq!(run.op, Op::Run);
    assert_eq!(
        run.adopt.as_ref().map(Adoption::describe).as_deref(),
        Some("adopt prj_1 (created outside redactctl at 2023-11-14T22:13:20Z)")
    );
    assert_eq!(p.summary.adopt, 1);
    assert_eq!(p.summary.irreversible, 2, "the run and the adoption");
    assert_eq!(ent(&p, "a").jobs[0].provenance, Provenance::Outside);
    // The audit log records its create: no adoption.
    let p = go(
        &d,
        &with_provenance(live(jobs.clone()), &[("prj_1", &[cus("cus_1")])]),
    );
    assert!(p.actions[0].adopt.is_none());
    assert_eq!(ent(&p, "a").jobs[0].provenance, Provenance::Redactctl);
    // No audit log: unknown, planned as before.
    let p = go(&d, &live(jobs));
    assert!(p.actions[0].adopt.is_none());
    assert_eq!(ent(&p, "a").jobs[0].provenance, Provenance::Unknown);
}

#[test]
fn an_approval_without_the_adoption_does_not_cover_it() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let jobs = vec![job("prj_1", 1, "ready", "error", &[cus("cus_1")])];
    let approved = go(&d, &live(jobs.clone()));
    let fresh = go(&d, &with_provenance(live(jobs), &[]));
    let (allowed, new) = approved_actions(&approved, &fresh);
    assert!(allowed.is_empty());
    assert_eq!(new[0].op, Op::Run);
}

#[test]
fn an_outside_job_naming_undeclared_objects_is_a_conflict_never_replaced() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let jobs = vec![job(
        "prj_1",
        1_700_000_000,
        "ready",
        "error",
        &[cus("cus_1"), cus("cus_other")],
    )];
    let p = go(&d, &with_provenance(live(jobs.clone()), &[]));
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    let b = &ent(&p, "a").blocked[0];
    assert!(
        b.problem.contains("created outside redactctl")
            && b.problem
                .contains("Customer cus_other, which no manifest declares"),
        "{}",
        b.problem
    );
    assert!(b.resolve[0].contains("--cancel-conflicting prj_1"));
    // Named: canceled (an adoption), then the declared object gets its own job.
    let p = plan(
        &d,
        &with_provenance(live(jobs.clone()), &[]),
        &Options {
            cancel_conflicting: vec!["prj_1".into()],
            ..Options::default()
        },
    );
    assert_eq!(
        ops(&p, "a").iter().map(|o| o.0).collect::<Vec<_>>(),
        [Op::Cancel, Op::Create, Op::Run]
    );
    assert!(p.actions[0].adopt.is_some());
    // redactctl's own job with an object the manifest dropped is still replaced.
    let p = go(
        &d,
        &with_provenance(live(jobs), &[("prj_1", &[cus("cus_1"), cus("cus_other")])]),
    );
    assert!(p.actions[0].replace && p.actions[0].adopt.is_none());
}

#[test]
fn prune_never_cancels_an_outside_job_that_names_declared_objects() {
    let d = desired(vec![
        redacted("a", &[cus("cus_1")]),
        redacted("b", &[cus("cus_2")]),
    ]);
    let l = with_provenance(
        live(vec![
            job("prj_7", 1, "failed", "error", &[cus("cus_1"), cus("cus_2")]),
            job("prj_8", 2, "ready", "error", &[cus("cus_77")]),
        ]),
        &[],
    );
    let prune = Options {
        prune: true,
        whole_manifest_set: true,
        ..Options::default()
    };
    let p = plan(&d, &l, &prune);
    let cancels: Vec<Option<String>> = p
        .actions
        .iter()
        .filter(|a| a.op == Op::Cancel)
        .map(|a| a.job.clone())
        .collect();
    assert_eq!(cancels, [j("prj_8")]);
    assert!(
        p.actions[0].adopt.is_some(),
        "pruning an outside job adopts it"
    );
    let b = &ent(&p, "a").blocked[0];
    assert!(
        b.problem.contains("created outside redactctl"),
        "{}",
        b.problem
    );
    let p = plan(
        &d,
        &l,
        &Options {
            cancel_conflicting: vec!["prj_7".into()],
            ..Options::default()
        },
    );
    assert!(p
        .actions
        .iter()
        .any(|a| a.op == Op::Cancel && a.job == j("prj_7")));
}

#[test]
fn an_issuing_card_job_matches_by_what_redactctl_asked_for() {
    let card = ObjectRef::new(ObjectKind::IssuingCards, "ic_1");
    let d = desired(vec![redacted("card", std::slice::from_ref(&card))]);
    // Stripe reads the job back without the card.
    let l = live(vec![job("prj_1", 1, "succeeded", "error", &[])]);
    let p = go(&d, &l);
    assert_eq!(
        p.actions[0].op,
        Op::Create,
        "without provenance: a second job"
    );
    let l = with_provenance(l, &[("prj_1", std::slice::from_ref(&card))]);
    let p = go(&d, &l);
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    assert_eq!(ent(&p, "card").outcome, Outcome::Converged);
    assert_eq!(ent(&p, "card").redacted, vec![card]);
}

#[test]
fn provenance_is_built_from_audit_records() {
    use crate::apply::audit::AuditRecord;
    let rec = AuditRecord {
        entry: Some("a".into()),
        job: Some("prj_1".into()),
        objects: vec![cus("cus_1")],
        idempotency_key: "k".into(),
        ..AuditRecord::sample("create", "ok")
    };
    let mut l = live(vec![job("prj_1", 1, "ready", "error", &[cus("cus_1")])]);
    l.created_by_redactctl = Some(provenance_from_audit(&[rec]));
    let p = go(&desired(vec![redacted("a", &[cus("cus_1")])]), &l);
    assert!(p.actions[0].adopt.is_none());
}

// ---- what the views show before anything irreversible ---------------------------------

/// One plan with a fix preview, a lock wait, an adoption and a conflict.
fn irreversible_effects_plan() -> Plan {
    let d = desired(vec![
        fix_entry("guide", &[cus("cus_guide")]),
        redacted("cust", &[cus("cus_1")]),
        redacted("charge", &[ch("ch_1")]),
        redacted("outside", &[cus("cus_5")]),
        redacted("mixed", &[cus("cus_6")]),
    ]);
    let mut l = live(vec![
        job(
            "prj_guide",
            1_800_000_000,
            "failed",
            "error",
            &[cus("cus_guide")],
        ),
        job(
            "prj_charge",
            1_800_000_001,
            "redacting",
            "error",
            &[ch("ch_1")],
        ),
        job(
            "prj_cust",
            1_800_000_002,
            "failed",
            "error",
            &[cus("cus_1")],
        ),
        job("prj_out", 1_700_000_000, "ready", "error", &[cus("cus_5")]),
        job(
            "prj_mixed",
            1_700_000_100,
            "ready",
            "error",
            &[cus("cus_6"), cus("cus_stranger")],
        ),
    ]);
    l.validation_errors.insert(
        "prj_guide".into(),
        vec![
            verr("prjve_1", "invalid_state", "payment_intent", "pi_guide"),
            verr("prjve_2", "invalid_state", "payment_method", "pm_guide"),
        ],
    );
    l.validation_errors.insert(
        "prj_cust".into(),
        vec![verr("prjve_3", "locked_by_other_job", "charge", "ch_1")],
    );
    let l = with_provenance(
        l,
        &[
            ("prj_guide", &[cus("cus_guide")]),
            ("prj_charge", &[ch("ch_1")]),
            ("prj_cust", &[cus("cus_1")]),
        ],
    );
    go(&d, &l)
}

#[test]
fn human_view_of_fixes_locks_adoptions_and_conflicts() {
    insta::assert_snapshot!(
        "irreversible_effects_human",
        render_human(&irreversible_effects_plan(), false)
    );
}

#[test]
fn markdown_view_of_fixes_locks_adoptions_and_conflicts() {
    insta::assert_snapshot!(
        "irreversible_effects_markdown",
        render_markdown(&irreversible_effects_plan())
    );
}

#[test]
fn a_validated_fix_entry_shows_its_fixes_and_switches_nothing() {
    let d = desired(vec![entry(
        "a",
        &[cus("cus_1")],
        DesiredState::Validated,
        Behavior::Fix,
    )]);
    let p = go(&d, &guide_live(GUIDE_ERRORS));
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    let e = ent(&p, "a");
    assert_eq!(e.outcome, Outcome::Converged);
    assert_eq!(e.fixes.len(), 2);
    assert_eq!(p.summary.irreversible, 0, "nothing runs in this plan");
}

#[test]
fn a_ready_fix_job_whose_errors_stripe_no_longer_lists_runs_the_fixes_shown() {
    let d = desired(vec![fix_entry("a", &[cus("cus_1")])]);
    let approved = go(&d, &guide_live(GUIDE_ERRORS));
    let fresh = go(
        &d,
        &live(vec![job("prj_1", 1, "ready", "fix", &[cus("cus_1")])]),
    );
    assert!(ent(&fresh, "a").warnings[0].contains("cannot be shown"));
    let (allowed, new) = approved_actions(&approved, &fresh);
    assert!(new.is_empty(), "{new:?}");
    assert_eq!(allowed[0].op, Op::Run);
    let fixes: Vec<&str> = allowed[0]
        .fixes
        .iter()
        .map(|f| f.description.as_str())
        .collect();
    assert_eq!(
        fixes,
        ["cancel PaymentIntent pi_1", "detach PaymentMethod pm_1"]
    );
    // A plan that never showed fixes does not approve such a run.
    let plain = go(
        &desired(vec![redacted("a", &[cus("cus_1")])]),
        &live(vec![job("prj_1", 1, "ready", "error", &[cus("cus_1")])]),
    );
    let (allowed, _) = approved_actions(&plain, &fresh);
    assert!(allowed.is_empty());
    // The plan that saw the job itself (and warned) approves what it showed.
    let (allowed, _) = approved_actions(&fresh, &fresh);
    assert_eq!(allowed.len(), 1);
}

#[test]
fn a_held_lock_is_waited_on_even_next_to_other_errors() {
    let d = desired(vec![
        fix_entry("cust", &[cus("cus_1")]),
        redacted("charge", &[ch("ch_1")]),
    ]);
    let mut l = live(vec![
        job("prj_0", 1, "redacting", "error", &[ch("ch_1")]),
        job("prj_1", 2, "failed", "error", &[cus("cus_1")]),
    ]);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![
            verr("prjve_1", "locked_by_other_job", "charge", "ch_1"),
            verr("prjve_2", "invalid_state", "payment_intent", "pi_1"),
            // The same object twice: still every error fixable.
            verr("prjve_3", "invalid_state", "payment_intent", "pi_1"),
        ],
    );
    let p = go(&d, &l);
    assert_eq!(ops(&p, "cust")[0], (Op::Wait, j("prj_1"), false));
    assert_eq!(ent(&p, "cust").outcome, Outcome::Waiting);
    // Once the holder is done, the fixable errors get their preview.
    l.jobs[0].status = "succeeded".into();
    l.validation_errors.insert(
        "prj_1".into(),
        vec![
            verr("prjve_2", "invalid_state", "payment_intent", "pi_1"),
            verr("prjve_3", "invalid_state", "payment_intent", "pi_1"),
        ],
    );
    let p = go(&d, &l);
    assert_eq!(
        ops(&p, "cust").iter().map(|o| o.0).collect::<Vec<_>>(),
        [Op::Update, Op::Validate, Op::Run]
    );
    assert_eq!(ent(&p, "cust").fixes.len(), 1);
}

/// The Markdown view under a byte budget.
mod markdown_budget;

// ---- objects Stripe did not find ----

fn missing(l: &mut Live, object: ObjectRef, asked: &[ObjectRef]) {
    let mut asked = asked.to_vec();
    asked.sort();
    l.missing_objects.insert(
        object.id.clone(),
        crate::observe::MissingObject {
            object,
            asked,
            time: "2026-11-27T08:00:00Z".into(),
            request_id: Some("req_404".into()),
        },
    );
}

#[test]
fn a_create_refused_for_a_missing_object_is_blocked_not_proposed_again() {
    let d = desired(vec![redacted("a", &[cus("cus_gone"), cus("cus_ok")])]);
    let mut l = live(vec![]);
    missing(&mut l, cus("cus_gone"), &[cus("cus_gone"), cus("cus_ok")]);
    let p = go(&d, &l);
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    let e = &p.entries[0];
    assert_eq!(e.outcome, Outcome::Blocked);
    assert_eq!(e.blocked[0].problem, "object not found: cus_gone");
    assert!(
        e.blocked[0].resolve.iter().any(|r| r.contains("manifest")),
        "{:?}",
        e.blocked[0].resolve
    );
    assert!(!p.has_changes());

    // `--revalidate` sends the create again (the object may exist now).
    let again = plan(
        &d,
        &l,
        &Options {
            revalidate: true,
            ..Options::default()
        },
    );
    assert_eq!(ops(&again, "a")[0].0, Op::Create);
}

#[test]
fn a_changed_entry_gets_its_create_with_a_warning_and_a_fixed_one_just_its_create() {
    let mut l = live(vec![]);
    missing(&mut l, cus("cus_gone"), &[cus("cus_gone")]);
    // Another object added next to the missing one: a different create, proposed.
    let grown = go(
        &desired(vec![redacted("a", &[cus("cus_gone"), cus("cus_new")])]),
        &l,
    );
    assert_eq!(ops(&grown, "a")[0].0, Op::Create);
    assert!(
        grown.entries[0]
            .warnings
            .iter()
            .any(|w| w.contains("cus_gone")),
        "{:?}",
        grown.entries[0].warnings
    );
    // The id corrected: nothing about the old one.
    let fixed = go(&desired(vec![redacted("a", &[cus("cus_right")])]), &l);
    assert_eq!(ops(&fixed, "a")[0].0, Op::Create);
    assert_eq!(fixed.entries[0].outcome, Outcome::Changes);
    assert!(fixed.entries[0].blocked.is_empty());
}

#[test]
fn a_validation_error_naming_a_missing_object_says_object_not_found() {
    let d = desired(vec![redacted("a", &[cus("cus_1")])]);
    let mut l = live(vec![job("prj_1", 1, "failed", "error", &[cus("cus_1")])]);
    l.validation_errors.insert(
        "prj_1".into(),
        vec![verr("ve_1", "resource_missing", "customer", "cus_1")],
    );
    let p = go(&d, &l);
    let e = &p.entries[0];
    assert_eq!(e.outcome, Outcome::Blocked);
    assert!(
        e.blocked[0].problem.starts_with("object not found: cus_1"),
        "{}",
        e.blocked[0].problem
    );
}
