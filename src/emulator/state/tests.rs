//! Unit tests of the state machine.
use super::*;
use crate::emulator::graph::ObjectRecord;
use crate::emulator::kinds::Kind;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

const T0: i64 = 1_800_000_000_000;
const DAY: i64 = 86_400;

/// A world where every id exists (most tests here are not about existence).
fn lenient(salt: &str, template: Vec<ObjectRecord>) -> World {
    let mut w = World::new(salt, template);
    w.set_policy(Policy {
        unknown_objects_exist: true,
        ..Policy::default()
    });
    w
}

fn delays() -> Delays {
    Delays {
        validation: Duration::from_secs(10),
        redaction: Duration::from_secs(20),
        cancel: Duration::from_secs(5),
        session_redaction: Duration::from_secs(30),
    }
}

fn objs(pairs: &[(Kind, &str)]) -> BTreeMap<Kind, Vec<String>> {
    let mut m: BTreeMap<Kind, Vec<String>> = BTreeMap::new();
    for (k, id) in pairs {
        m.entry(*k).or_default().push(id.to_string());
    }
    m
}

fn rec(id: &str, state: Option<&str>, created: Option<i64>, related: &[&str]) -> ObjectRecord {
    ObjectRecord {
        state: state.map(str::to_string),
        created,
        related: related.iter().map(|s| s.to_string()).collect(),
        ..ObjectRecord::unknown(id)
    }
}

/// The guide's customer with an unfinalized PaymentIntent and an old charge.
fn guide_world() -> World {
    lenient(
        "salt",
        vec![
            rec("cus_1", None, None, &["pi_1", "ch_old"]),
            rec("pi_1", Some("requires_payment_method"), None, &[]),
            rec(
                "ch_old",
                Some("succeeded"),
                Some(T0 / 1000 - 200 * DAY),
                &[],
            ),
            rec("cus_recent", None, None, &["ch_new"]),
            rec("ch_new", Some("succeeded"), Some(T0 / 1000 - 30 * DAY), &[]),
        ],
    )
}

fn status(w: &mut World, id: &str, now: i64) -> Status {
    w.job(&NsKey::test(), id, now, &delays()).unwrap().status
}

fn status0(w: &mut World, id: &str, now: i64) -> Status {
    w.job(&NsKey::test(), id, now, &Delays::default())
        .unwrap()
        .status
}

#[test]
fn clean_job_validates_runs_and_succeeds_after_the_delays() {
    let mut w = guide_world();
    let ns = NsKey::test();
    let d = delays();
    let job = w
        .create_job(
            &ns,
            objs(&[(Kind::Customers, "cus_2")]),
            Behavior::Error,
            T0,
            &d,
        )
        .unwrap();
    assert_eq!(job.status, Status::Validating);
    assert!(job.id.starts_with("prj_"));
    assert_eq!(status(&mut w, &job.id, T0 + 9_999), Status::Validating);
    assert_eq!(status(&mut w, &job.id, T0 + 10_000), Status::Ready);
    let run = w.run_job(&ns, &job.id, T0 + 11_000, &d).unwrap();
    assert_eq!(run.status, Status::Redacting);
    assert_eq!(status(&mut w, &job.id, T0 + 30_999), Status::Redacting);
    assert_eq!(status(&mut w, &job.id, T0 + 31_000), Status::Succeeded);
    assert!(w.ns(&ns).unwrap().object("cus_2").unwrap().redacted);
    let kinds: Vec<EventKind> = w.drain_events().iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::JobCreated,
            EventKind::JobReady,
            EventKind::JobSucceeded
        ]
    );
}

#[test]
fn guide_walkthrough_error_then_fix() {
    let mut w = guide_world();
    let ns = NsKey::test();
    let d = delays();
    let job = w
        .create_job(
            &ns,
            objs(&[(Kind::Customers, "cus_1")]),
            Behavior::Error,
            T0,
            &d,
        )
        .unwrap();
    let failed = w.job(&ns, &job.id, T0 + 10_000, &d).unwrap();
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(failed.errors.len(), 1);
    let e = &failed.errors[0];
    assert_eq!(e.code, "invalid_state");
    assert_eq!(e.object_id.as_deref(), Some("pi_1"));
    assert_eq!(e.object_type.as_deref(), Some("payment_intent"));
    assert!(e.id.starts_with("prjve_"));
    // Updating does not revalidate.
    let updated = w
        .update_job(&ns, &job.id, Some(Behavior::Fix), T0 + 11_000, &d)
        .unwrap();
    assert_eq!(updated.status, Status::Failed);
    assert_eq!(updated.behavior, Behavior::Fix);
    let v = w.validate_job(&ns, &job.id, T0 + 12_000, &d).unwrap();
    assert_eq!(v.status, Status::Validating);
    let ready = w.job(&ns, &job.id, T0 + 22_000, &d).unwrap();
    assert_eq!(ready.status, Status::Ready);
    // A ready job lists no errors: the fixable problem is a fix to apply at run.
    assert!(ready.errors.is_empty());
    assert_eq!(ready.fixes.len(), 1);
    assert_eq!(ready.fixes[0].object_id.as_deref(), Some("pi_1"));
    w.run_job(&ns, &job.id, T0 + 23_000, &d).unwrap();
    // The fix is applied at run.
    let pi = w.ns(&ns).unwrap().object("pi_1").unwrap();
    assert_eq!(pi.state.as_deref(), Some("canceled"));
    assert_eq!(status(&mut w, &job.id, T0 + 43_000), Status::Succeeded);
    let ns_ref = w.ns(&ns).unwrap();
    for id in ["cus_1", "pi_1", "ch_old"] {
        assert!(ns_ref.object(id).unwrap().redacted, "{id} redacted");
    }
}

#[test]
fn ready_under_fix_switched_to_error_runs_without_the_fixes() {
    let mut w = guide_world();
    let ns = NsKey::test();
    let d = delays();
    let job = w
        .create_job(
            &ns,
            objs(&[(Kind::Customers, "cus_1")]),
            Behavior::Fix,
            T0,
            &d,
        )
        .unwrap();
    // The behaviour at the end of validation decides.
    w.update_job(&ns, &job.id, Some(Behavior::Error), T0 + 1_000, &d)
        .unwrap();
    assert_eq!(status(&mut w, &job.id, T0 + 10_000), Status::Failed);
    w.update_job(&ns, &job.id, Some(Behavior::Fix), T0 + 10_000, &d)
        .unwrap();
    w.validate_job(&ns, &job.id, T0 + 10_000, &d).unwrap();
    assert_eq!(status(&mut w, &job.id, T0 + 20_000), Status::Ready);
    w.update_job(&ns, &job.id, Some(Behavior::Error), T0 + 20_000, &d)
        .unwrap();
    // An update changes the configuration only: the ready job still runs.
    let run = w.run_job(&ns, &job.id, T0 + 20_000, &d).unwrap();
    assert_eq!(run.status, Status::Redacting);
    let pi = w.ns(&ns).unwrap().object("pi_1").unwrap();
    assert_eq!(pi.state.as_deref(), Some("requires_payment_method"));
}

#[test]
fn ninety_day_rule_fails_even_under_fix() {
    let mut w = guide_world();
    let ns = NsKey::test();
    let d = delays();
    let job = w
        .create_job(
            &ns,
            objs(&[(Kind::Customers, "cus_recent")]),
            Behavior::Fix,
            T0,
            &d,
        )
        .unwrap();
    let j = w.job(&ns, &job.id, T0 + 10_000, &d).unwrap();
    assert_eq!(j.status, Status::Failed);
    assert_eq!(j.errors[0].object_id.as_deref(), Some("ch_new"));
    assert!(j.errors[0].fix_state.is_none());
}

#[test]
fn lock_through_a_related_object_and_cancel_releases_it() {
    let mut w = guide_world();
    let ns = NsKey::test();
    let d = delays();
    let first = w
        .create_job(
            &ns,
            objs(&[(Kind::Customers, "cus_1")]),
            Behavior::Fix,
            T0,
            &d,
        )
        .unwrap();
    // The second job names only the customer's PaymentIntent.
    let second = w
        .create_job(
            &ns,
            objs(&[(Kind::PaymentIntents, "pi_1")]),
            Behavior::Fix,
            T0,
            &d,
        )
        .unwrap();
    let s = w.job(&ns, &second.id, T0 + 10_000, &d).unwrap();
    assert_eq!(s.status, Status::Failed);
    assert!(s.errors.iter().any(|e| e.code == "locked_by_other_job"
        && e.object_id.as_deref() == Some("pi_1")
        && e.message == "This object is being processed by another active job."));
    assert_eq!(status(&mut w, &first.id, T0 + 10_000), Status::Ready);
    // Revalidating while the first job holds the lock fails again.
    w.validate_job(&ns, &second.id, T0 + 11_000, &d).unwrap();
    assert_eq!(status(&mut w, &second.id, T0 + 21_000), Status::Failed);
    // Cancel the first: canceling still holds, canceled releases.
    let c = w.cancel_job(&ns, &first.id, T0 + 22_000, &d).unwrap();
    assert_eq!(c.status, Status::Canceling);
    assert!(!w.ns(&ns).unwrap().holders_of("pi_1").is_empty());
    assert_eq!(status(&mut w, &first.id, T0 + 27_000), Status::Canceled);
    // The second job failed on the lock: it holds nothing, only the earlier job held.
    assert!(w.ns(&ns).unwrap().holders_of("pi_1").is_empty());
    w.validate_job(&ns, &second.id, T0 + 28_000, &d).unwrap();
    assert_eq!(
        w.ns(&ns).unwrap().holders_of("pi_1"),
        vec![second.id.clone()]
    );
    assert_eq!(status(&mut w, &second.id, T0 + 38_000), Status::Ready);
}

#[test]
fn every_refused_transition() {
    let mut w = lenient("s", vec![rec("pi_bad", Some("requires_action"), None, &[])]);
    let ns = NsKey::test();
    let d = delays();
    let make = |w: &mut World, id: &str, now| {
        w.create_job(
            &ns,
            objs(&[(Kind::Customers, id)]),
            Behavior::Error,
            now,
            &d,
        )
        .unwrap()
        .id
    };
    // validating: no run, validate or cancel; update allowed.
    let v = make(&mut w, "cus_v", T0);
    for r in [
        w.run_job(&ns, &v, T0, &d),
        w.validate_job(&ns, &v, T0, &d),
        w.cancel_job(&ns, &v, T0, &d),
    ] {
        assert!(matches!(
            r,
            Err(StateError::WrongStatus {
                status: Status::Validating,
                ..
            })
        ));
    }
    assert!(w.update_job(&ns, &v, Some(Behavior::Fix), T0, &d).is_ok());
    // ready: no validate; update allowed.
    assert_eq!(status(&mut w, &v, T0 + 10_000), Status::Ready);
    assert!(w.validate_job(&ns, &v, T0 + 10_000, &d).is_err());
    assert!(w
        .update_job(&ns, &v, Some(Behavior::Fix), T0 + 10_000, &d)
        .is_ok());
    // failed: no run.
    let f = w
        .create_job(
            &ns,
            objs(&[(Kind::PaymentIntents, "pi_bad")]),
            Behavior::Error,
            T0,
            &d,
        )
        .unwrap()
        .id;
    assert_eq!(status(&mut w, &f, T0 + 10_000), Status::Failed);
    assert!(w.run_job(&ns, &f, T0 + 10_000, &d).is_err());
    assert!(w
        .update_job(&ns, &f, Some(Behavior::Error), T0 + 10_000, &d)
        .is_ok());
    // redacting and succeeded: nothing but reads.
    w.run_job(&ns, &v, T0 + 10_000, &d).unwrap();
    for r in [
        w.run_job(&ns, &v, T0 + 10_000, &d),
        w.cancel_job(&ns, &v, T0 + 10_000, &d),
        w.validate_job(&ns, &v, T0 + 10_000, &d),
        w.update_job(&ns, &v, Some(Behavior::Error), T0 + 10_000, &d),
    ] {
        assert!(matches!(
            r,
            Err(StateError::WrongStatus {
                status: Status::Redacting,
                ..
            })
        ));
    }
    assert_eq!(status(&mut w, &v, T0 + 30_000), Status::Succeeded);
    assert!(w.cancel_job(&ns, &v, T0 + 30_000, &d).is_err());
    assert!(w.run_job(&ns, &v, T0 + 30_000, &d).is_err());
    // canceling and canceled.
    w.cancel_job(&ns, &f, T0 + 10_000, &d).unwrap();
    assert!(w.cancel_job(&ns, &f, T0 + 10_000, &d).is_err());
    assert!(w.validate_job(&ns, &f, T0 + 10_000, &d).is_err());
    assert_eq!(status(&mut w, &f, T0 + 15_000), Status::Canceled);
    for r in [
        w.run_job(&ns, &f, T0 + 15_000, &d),
        w.cancel_job(&ns, &f, T0 + 15_000, &d),
        w.validate_job(&ns, &f, T0 + 15_000, &d),
        w.update_job(&ns, &f, Some(Behavior::Fix), T0 + 15_000, &d),
    ] {
        assert!(matches!(
            r,
            Err(StateError::WrongStatus {
                status: Status::Canceled,
                ..
            })
        ));
    }
    // Unknown ids, too many or no objects.
    assert!(matches!(
        w.run_job(&ns, "prj_nope", T0, &d),
        Err(StateError::NotFound { .. })
    ));
    let many: Vec<(Kind, String)> = (0..11)
        .map(|i| (Kind::Customers, format!("cus_{i}")))
        .collect();
    let mut m: BTreeMap<Kind, Vec<String>> = BTreeMap::new();
    for (k, id) in many {
        m.entry(k).or_default().push(id);
    }
    assert_eq!(
        w.create_job(&ns, m, Behavior::Error, T0, &d).unwrap_err(),
        StateError::TooManyObjects(11)
    );
    assert_eq!(
        w.create_job(&ns, BTreeMap::new(), Behavior::Error, T0, &d)
            .unwrap_err(),
        StateError::NoObjects
    );
}

#[test]
fn redacted_object_cannot_be_redacted_again() {
    let mut w = lenient("s", vec![]);
    let ns = NsKey::test();
    let d = Delays::default();
    let a = w
        .create_job(
            &ns,
            objs(&[(Kind::Customers, "cus_a")]),
            Behavior::Error,
            T0,
            &d,
        )
        .unwrap();
    assert_eq!(status0(&mut w, &a.id, T0), Status::Ready);
    w.run_job(&ns, &a.id, T0, &d).unwrap();
    let b = w
        .create_job(
            &ns,
            objs(&[(Kind::Customers, "cus_a")]),
            Behavior::Fix,
            T0,
            &d,
        )
        .unwrap();
    let b = w.job(&ns, &b.id, T0, &d).unwrap();
    assert_eq!(b.status, Status::Failed);
    assert!(b.errors[0].message.contains("already been redacted"));
}

#[test]
fn seeded_jobs_keep_their_status_and_effects() {
    let mut w = lenient("s", vec![rec("cus_r", None, None, &["pi_r"])]);
    let ns = NsKey::test();
    let d = Delays::default();
    let done = w
        .seed_job(
            &ns,
            objs(&[(Kind::Customers, "cus_r")]),
            Behavior::Error,
            Status::Succeeded,
            T0,
            &d,
        )
        .unwrap();
    assert_eq!(done.status, Status::Succeeded);
    assert!(w.ns(&ns).unwrap().object("pi_r").unwrap().redacted);
    assert!(w.ns(&ns).unwrap().holders_of("pi_r").is_empty());
    let held = w
        .seed_job(
            &ns,
            objs(&[(Kind::Customers, "cus_h")]),
            Behavior::Fix,
            Status::Failed,
            T0,
            &d,
        )
        .unwrap();
    assert_eq!(w.ns(&ns).unwrap().holders_of("cus_h"), vec![held.id]);
    assert!(
        w.drain_events().is_empty(),
        "seeding a settled job sends no event"
    );
    // A `created` job validates like a new one.
    let created = w
        .seed_job(
            &ns,
            objs(&[(Kind::Customers, "cus_new")]),
            Behavior::Error,
            Status::Created,
            T0,
            &delays(),
        )
        .unwrap();
    assert_eq!(status(&mut w, &created.id, T0 + 9_000), Status::Created);
    assert_eq!(status(&mut w, &created.id, T0 + 10_000), Status::Ready);
}

#[test]
fn namespaces_are_separate() {
    let mut w = lenient("s", vec![]);
    let d = Delays::default();
    // Account `None` is the template every account starts from: use real accounts.
    let platform = NsKey {
        livemode: false,
        account: Some("acct_platform".into()),
    };
    let live = NsKey {
        livemode: true,
        account: Some("acct_platform".into()),
    };
    let connected = NsKey {
        livemode: false,
        account: Some("acct_1".into()),
    };
    let a = w
        .create_job(
            &platform,
            objs(&[(Kind::Customers, "cus_a")]),
            Behavior::Error,
            T0,
            &d,
        )
        .unwrap();
    let b = w
        .create_job(
            &live,
            objs(&[(Kind::Customers, "cus_a")]),
            Behavior::Error,
            T0,
            &d,
        )
        .unwrap();
    assert!(b.livemode);
    assert_eq!(
        w.job(&platform, &a.id, T0, &d).unwrap().status,
        Status::Ready
    );
    assert_eq!(w.job(&live, &b.id, T0, &d).unwrap().status, Status::Ready);
    assert!(w.job(&connected, &a.id, T0, &d).is_err());
    assert!(w.job(&live, &a.id, T0, &d).is_err());
}

#[test]
fn list_pages_newest_first_with_cursors_and_status() {
    let mut w = lenient("s", vec![]);
    let ns = NsKey::test();
    let d = Delays::default();
    let mut ids = Vec::new();
    for i in 0..25 {
        let j = w
            .create_job(
                &ns,
                objs(&[(Kind::Customers, &format!("cus_{i}"))]),
                Behavior::Error,
                T0 + i * 500,
                &d,
            )
            .unwrap();
        ids.push(j.id);
    }
    w.advance(&ns, T0 + 100_000, &d);
    let newest: Vec<String> = ids.iter().rev().cloned().collect();
    let n = w.ns(&ns).unwrap();
    let (p1, more) = n.list_jobs(None, 10, None, None).unwrap();
    assert!(more);
    let p1: Vec<String> = p1.iter().map(|j| j.id.clone()).collect();
    assert_eq!(p1, newest[..10]);
    let (p2, _) = n.list_jobs(None, 10, Some(&p1[9]), None).unwrap();
    assert_eq!(
        p2.iter().map(|j| j.id.clone()).collect::<Vec<_>>(),
        newest[10..20]
    );
    let (p3, more) = n.list_jobs(None, 10, Some(&newest[19]), None).unwrap();
    assert_eq!(p3.len(), 5);
    assert!(!more);
    let (back, more) = n.list_jobs(None, 3, None, Some(&newest[10])).unwrap();
    assert_eq!(
        back.iter().map(|j| j.id.clone()).collect::<Vec<_>>(),
        newest[7..10]
    );
    assert!(more);
    let (ready, _) = n.list_jobs(Some(Status::Ready), 100, None, None).unwrap();
    assert_eq!(ready.len(), 25);
    let (none, more) = n.list_jobs(Some(Status::Failed), 100, None, None).unwrap();
    assert!(none.is_empty() && !more);
    assert!(n.list_jobs(None, 10, Some("prj_missing"), None).is_err());
}

#[test]
fn identity_session_redaction() {
    let mut w = lenient(
        "s",
        vec![
            rec("vs_action", Some("requires_action"), None, &[]),
            rec("vs_processing", Some("processing"), None, &[]),
        ],
    );
    let ns = NsKey::test();
    let d = delays();
    let s = w.redact_session(&ns, "vs_unknown", T0, &d).unwrap();
    assert_eq!(s.state.as_deref(), Some("verified"));
    assert_eq!(s.redaction.as_ref().unwrap().status, "processing");
    let s = w.redact_session(&ns, "vs_action", T0, &d).unwrap();
    assert_eq!(s.state.as_deref(), Some("canceled"));
    assert!(matches!(
        w.redact_session(&ns, "vs_processing", T0, &d),
        Err(StateError::SessionWrongStatus(_))
    ));
    let later = w.session(&ns, "vs_unknown", T0 + 30_000, &d);
    assert_eq!(later.unwrap().redaction.unwrap().status, "redacted");
    let events = w.drain_events();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.kind == EventKind::SessionRedacted));
}

/// One random operation of the property test.
#[derive(Debug, Clone)]
enum Op {
    Create(Vec<usize>, bool),
    Update(usize, bool),
    Validate(usize),
    Run(usize),
    Cancel(usize),
    Wait(u64),
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        (proptest::collection::vec(0usize..6, 1..4), any::<bool>())
            .prop_map(|(o, f)| Op::Create(o, f)),
        (0usize..8, any::<bool>()).prop_map(|(j, f)| Op::Update(j, f)),
        (0usize..8).prop_map(Op::Validate),
        (0usize..8).prop_map(Op::Run),
        (0usize..8).prop_map(Op::Cancel),
        (0u64..30).prop_map(Op::Wait),
    ]
}

proptest::proptest! {
    /// Whatever clients do, locks match statuses and no object is ever in two jobs
    /// that passed validation at the same time.
    #[test]
    fn random_operations_keep_the_invariants(ops in proptest::collection::vec(op(), 1..40)) {
        let pool = ["cus_a", "cus_b", "pi_a", "pi_b", "ch_a", "cus_c"];
        let mut w = lenient("p", vec![
            rec("cus_a", None, None, &["pi_a", "ch_a"]),
            rec("cus_b", None, None, &["pi_b"]),
            rec("pi_b", Some("requires_action"), None, &[]),
        ]);
        let ns = NsKey::test();
        let d = delays();
        let mut now = T0;
        let mut ids: Vec<String> = Vec::new();
        let pick = |ids: &Vec<String>, i: usize| ids.get(i % ids.len().max(1)).cloned().unwrap_or_default();
        for op in ops {
            match op {
                Op::Create(objects, fix) => {
                    let mut m: BTreeMap<Kind, Vec<String>> = BTreeMap::new();
                    for o in objects {
                        let id = pool[o];
                        let kind = if id.starts_with("cus_") { Kind::Customers }
                            else if id.starts_with("pi_") { Kind::PaymentIntents }
                            else { Kind::Charges };
                        m.entry(kind).or_default().push(id.to_string());
                    }
                    let b = if fix { Behavior::Fix } else { Behavior::Error };
                    ids.push(w.create_job(&ns, m, b, now, &d).unwrap().id);
                }
                Op::Update(j, fix) => {
                    let b = if fix { Behavior::Fix } else { Behavior::Error };
                    let _ = w.update_job(&ns, &pick(&ids, j), Some(b), now, &d);
                }
                Op::Validate(j) => { let _ = w.validate_job(&ns, &pick(&ids, j), now, &d); }
                Op::Run(j) => { let _ = w.run_job(&ns, &pick(&ids, j), now, &d); }
                Op::Cancel(j) => { let _ = w.cancel_job(&ns, &pick(&ids, j), now, &d); }
                Op::Wait(s) => now += (s * 1000) as i64,
            }
            w.advance(&ns, now, &d);
            let n = w.ns(&ns).unwrap();
            let mut passed: HashMap<&str, &str> = HashMap::new();
            for id in &ids {
                let job = n.job(id).unwrap();
                for o in &job.reached {
                    let held = n.holders_of(o).contains(id);
                    proptest::prop_assert_eq!(held, job.status.is_active() && job.holds, "{} {:?} {}", id, job.status, o);
                    if !job.holds {
                        proptest::prop_assert!(job.pending.iter().chain(&job.errors).any(|e| e.code == "locked_by_other_job"));
                    }
                    if matches!(job.status, Status::Ready | Status::Redacting) {
                        if let Some(other) = passed.insert(o, id) {
                            proptest::prop_assert!(false, "{} in {} and {}", o, other, id);
                        }
                    }
                }
                if job.status == Status::Ready {
                        // A ready job lists no errors; only fixable problems remain, as fixes.
                        proptest::prop_assert!(job.errors.is_empty());
                        proptest::prop_assert!(job.fixes.iter().all(|e| e.fix_state.is_some()));
                    }
                if job.status == Status::Failed {
                    proptest::prop_assert!(!job.errors.is_empty());
                }
            }
        }
    }
}

#[test]
fn state_round_trips_through_json_and_keeps_advancing() {
    let mut w = guide_world();
    let ns = NsKey::test();
    let d = delays();
    let a = w
        .create_job(
            &ns,
            objs(&[(Kind::Customers, "cus_1")]),
            Behavior::Fix,
            T0,
            &d,
        )
        .unwrap();
    let json = serde_json::to_string(&w).unwrap();
    let mut back: World = serde_json::from_str(&json).unwrap();
    assert_eq!(status(&mut back, &a.id, T0 + 10_000), Status::Ready);
    // Locks survive the round trip.
    let b = back
        .create_job(
            &ns,
            objs(&[(Kind::PaymentIntents, "pi_1")]),
            Behavior::Fix,
            T0 + 10_000,
            &d,
        )
        .unwrap();
    assert_eq!(status(&mut back, &b.id, T0 + 20_000), Status::Failed);
    assert_ne!(a.id, b.id);
}

/// Every page of `status` through the index, oldest cursor to newest, equals the full
/// listing filtered by status (newest first), both ways of paging.
fn assert_status_pages_match(n: &Namespace, status: Status) {
    let (all, _) = n.list_jobs(None, usize::MAX, None, None).unwrap();
    let want: Vec<&str> = all
        .iter()
        .filter(|j| j.status == status)
        .map(|j| j.id.as_str())
        .collect();
    let mut got: Vec<&str> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (page, more) = n
            .list_jobs(Some(status), 7, after.as_deref(), None)
            .unwrap();
        got.extend(page.iter().map(|j| j.id.as_str()));
        after = page.last().map(|j| j.id.clone());
        if !more {
            break;
        }
    }
    assert_eq!(got, want, "{status:?}");
    if want.len() > 3 {
        // Paging backwards from the oldest gives the 3 just newer than it, newest first.
        let oldest = want[want.len() - 1];
        let (back, _) = n.list_jobs(Some(status), 3, None, Some(oldest)).unwrap();
        let back: Vec<&str> = back.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(back, want[want.len() - 4..want.len() - 1].to_vec());
    }
}

#[test]
fn listing_by_status_uses_an_index_kept_in_step_with_every_transition() {
    let mut w = lenient("index", Vec::new());
    let ns = NsKey::test();
    let d = delays();
    let mut ids = Vec::new();
    for i in 0..40 {
        let job = w
            .create_job(
                &ns,
                objs(&[(Kind::Customers, &format!("cus_{i}"))]),
                Behavior::Error,
                T0 + i * 1_000,
                &d,
            )
            .unwrap();
        ids.push(job.id);
    }
    // All ready; then a third run, a third canceled, the rest stay ready.
    let now = T0 + 60_000;
    w.advance(&ns, now, &d);
    for (i, id) in ids.iter().enumerate() {
        match i % 3 {
            0 => drop(w.run_job(&ns, id, now, &d).unwrap()),
            1 => drop(w.cancel_job(&ns, id, now, &d).unwrap()),
            _ => {}
        }
    }
    for s in Status::ALL {
        assert_status_pages_match(w.ns(&ns).unwrap(), s);
    }
    // Time moves them on: redacting → succeeded, canceling → canceled.
    w.advance(&ns, now + 60_000, &d);
    let n = w.ns(&ns).unwrap();
    for s in Status::ALL {
        assert_status_pages_match(n, s);
    }
    let count = |s: Status| n.list_jobs(Some(s), 100, None, None).unwrap().0.len();
    assert_eq!(count(Status::Succeeded), 14);
    assert_eq!(count(Status::Canceled), 13);
    assert_eq!(count(Status::Ready), 13);
    assert_eq!(count(Status::Redacting) + count(Status::Canceling), 0);
    // The index holds each job exactly once.
    let indexed: usize = n.by_status.values().map(BTreeSet::len).sum();
    assert_eq!(indexed, n.len());
    // It survives a save and load.
    let text = serde_json::to_string(n).unwrap();
    let back: Namespace = serde_json::from_str(&text).unwrap();
    assert_eq!(back.by_status, n.by_status);
}

#[test]
fn namespaces_are_a_mode_and_an_optional_account() {
    let ns: NsKey = "live/acct_1".parse().unwrap();
    assert_eq!(ns.to_string(), "live/acct_1");
    let refused = "prod".parse::<NsKey>().map(|_| ()).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "bad namespace `prod`: expected live, test, live/ACCOUNT or test/ACCOUNT"
    );
}
