//! Property tests of the planner over random manifests and random live states: it never
//! gives a held or redacted object to a new job, never exceeds 10 objects per job, never
//! runs what the manifest does not want run, and is deterministic. Also: a fresh plan is
//! never stale, and a plan approves itself.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use proptest::prelude::*;
use redactctl::kinds::{ObjectKind, ObjectRef};
use redactctl::manifest::{AccountSpec, Behavior, Desired, DesiredState, Entry, Location, Via};
use redactctl::observe::Live;
use redactctl::plan::{self, Op, Options, Precondition};
use redactctl::stripe::models::{
    ErroringObject, JobObjects, JobStatus, JobValidationError, Mode, RedactionJob,
};

const POOL: usize = 36;

fn pool(i: usize) -> ObjectRef {
    if i % 6 == 5 {
        ObjectRef::new(ObjectKind::PaymentIntents, format!("pi_{i:02}"))
    } else {
        ObjectRef::new(ObjectKind::Customers, format!("cus_{i:02}"))
    }
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

#[derive(Debug, Clone)]
struct JobSpec {
    objects: Vec<usize>,
    status: usize,
    fix: bool,
    errors: Vec<(bool, usize)>,
}

fn job_spec() -> impl Strategy<Value = JobSpec> {
    (
        proptest::collection::btree_set(0..POOL, 1..=10),
        0..STATUSES.len(),
        any::<bool>(),
        proptest::collection::vec((any::<bool>(), 0..POOL), 0..3),
    )
        .prop_map(|(objects, status, fix, errors)| JobSpec {
            objects: objects.into_iter().collect(),
            status,
            fix,
            errors,
        })
}

#[derive(Debug, Clone)]
struct Scenario {
    /// For each pool object: the entry (0..4) that declares it, or 4 for none.
    owner: Vec<usize>,
    states: Vec<(usize, bool)>,
    jobs: Vec<JobSpec>,
    prune: bool,
    revalidate: bool,
    target: Option<usize>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        proptest::collection::vec(0..5usize, POOL),
        proptest::collection::vec((0..3usize, any::<bool>()), 4),
        proptest::collection::vec(job_spec(), 0..10),
        any::<bool>(),
        any::<bool>(),
        proptest::option::weighted(0.2, 0..4usize),
    )
        .prop_map(
            |(owner, states, jobs, prune, revalidate, target)| Scenario {
                owner,
                states,
                jobs,
                prune,
                revalidate,
                target,
            },
        )
}

fn build(s: &Scenario) -> (Desired, Live, Options) {
    let mut entries = Vec::new();
    for e in 0..4 {
        let objects: Vec<ObjectRef> = (0..POOL)
            .filter(|&i| s.owner[i] == e)
            .map(pool)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if objects.is_empty() {
            continue;
        }
        let (state, fix) = s.states[e];
        entries.push(Entry {
            deadline: Default::default(),
            allowed_fixes: Vec::new(),
            name: format!("e{e}"),
            ticket: None,
            objects,
            validation_behavior: if fix { Behavior::Fix } else { Behavior::Error },
            state: [
                DesiredState::Redacted,
                DesiredState::Validated,
                DesiredState::Canceled,
            ][state],
            via: Via::RedactionJob,
            location: Location {
                file: PathBuf::from("m.yaml"),
                line: e + 1,
                column: 1,
            },
        });
    }
    let mut live = Live::default();
    for (n, spec) in s.jobs.iter().enumerate() {
        let mut map = JobObjects::new();
        for &i in &spec.objects {
            let o = pool(i);
            if let Some(v) = map
                .entry(o.kind.as_str().to_string())
                .or_insert_with(|| Some(Vec::new()))
            {
                v.push(o.id);
            }
        }
        let id = format!("prj_{n:02}");
        let errors: Vec<JobValidationError> = spec
            .errors
            .iter()
            .enumerate()
            .map(|(k, &(locked, i))| JobValidationError {
                id: format!("prjve_{n}_{k}"),
                object: String::new(),
                code: if locked {
                    "locked_by_other_job"
                } else {
                    "invalid_state"
                }
                .into(),
                erroring_object: Some(ErroringObject {
                    id: pool(i).id,
                    object_type: if i % 6 == 5 {
                        "payment_intent"
                    } else {
                        "customer"
                    }
                    .into(),
                }),
                message: String::new(),
            })
            .collect();
        if STATUSES[spec.status] == "failed" && !errors.is_empty() {
            live.validation_errors.insert(id.clone(), errors);
        }
        live.jobs.push(RedactionJob {
            id,
            object: "privacy.redaction_job".into(),
            created: n as i64,
            livemode: false,
            objects: Some(map),
            status: STATUSES[spec.status].into(),
            validation_behavior: Some(if spec.fix { "fix" } else { "error" }.into()),
            validation_errors: None,
        });
    }
    let desired = Desired {
        account: AccountSpec {
            mode: Mode::Test,
            id: None,
            connected_account: None,
        },
        entries,
        digest: "x".into(),
    };
    let opts = Options {
        prune: s.prune,
        targets: s.target.map(|t| vec![format!("e{t}")]).unwrap_or_default(),
        revalidate: s.revalidate,
        ..Options::default()
    };
    (desired, live, opts)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn plans_are_safe_and_deterministic(s in scenario()) {
        let (desired, live, opts) = build(&s);
        let p = plan::plan(&desired, &live, &opts);

        let redacted: HashSet<ObjectRef> = live
            .jobs
            .iter()
            .filter(|j| j.status == JobStatus::Succeeded)
            .flat_map(|j| j.object_refs())
            .collect();
        let mut holders: HashMap<ObjectRef, Vec<String>> = HashMap::new();
        for j in live.jobs.iter().filter(|j| j.status.is_active()) {
            for o in j.object_refs() {
                holders.entry(o).or_default().push(j.id.clone());
            }
        }
        let by_id: HashMap<&str, &plan::Action> =
            p.actions.iter().map(|a| (a.id.as_str(), a)).collect();
        let mut seen_ids = HashSet::new();
        let mut created = HashSet::new();
        for a in &p.actions {
            for dep in &a.after {
                prop_assert!(seen_ids.contains(dep.as_str()), "{} needs later {}", a.id, dep);
            }
            prop_assert!(seen_ids.insert(a.id.as_str()), "duplicate id {}", a.id);
            match a.op {
                Op::Create => {
                    prop_assert!(!a.objects.is_empty() && a.objects.len() <= 10);
                    let except = match &a.precondition {
                        Some(Precondition::Free { except_jobs, .. }) => except_jobs.clone(),
                        other => return Err(TestCaseError::fail(format!("create precondition {other:?}"))),
                    };
                    // Every excepted job is canceled by an action this create waits for.
                    for j in &except {
                        prop_assert!(a.after.iter().any(|d| by_id
                            .get(d.as_str())
                            .is_some_and(|c| c.op == Op::Cancel && c.job.as_deref() == Some(j))));
                    }
                    for o in &a.objects {
                        prop_assert!(!redacted.contains(o), "{} creates redacted {o}", a.id);
                        let held_by_others = holders
                            .get(o)
                            .into_iter()
                            .flatten()
                            .any(|h| !except.contains(h));
                        prop_assert!(!held_by_others, "{} creates held {o}", a.id);
                        prop_assert!(created.insert(o.clone()), "{o} created twice");
                    }
                    let e = desired.entry(a.entry.as_deref().unwrap_or("")).unwrap();
                    prop_assert!(e.state != DesiredState::Canceled);
                    prop_assert!(a.objects.iter().all(|o| e.objects.contains(o)));
                }
                Op::Run => {
                    let e = desired.entry(a.entry.as_deref().unwrap_or(""));
                    prop_assert!(e.is_some_and(|e| e.state == DesiredState::Redacted),
                        "{} runs for an entry that does not want it", a.id);
                    prop_assert!(a.irreversible);
                    if let Some(job) = &a.job {
                        // The job meets this entry's objects and no other entry's.
                        let e = e.unwrap();
                        let j = live.jobs.iter().find(|j| &j.id == job).unwrap();
                        let refs = j.object_refs();
                        prop_assert!(refs.iter().any(|o| e.objects.contains(o)));
                        for other in desired.entries.iter().filter(|x| x.name != e.name) {
                            prop_assert!(!refs.iter().any(|o| other.objects.contains(o)));
                        }
                        // A run never redacts objects the entry no longer declares.
                        prop_assert!(refs.iter().all(|o| e.objects.contains(o)));
                    }
                }
                Op::Cancel => {
                    let j = live.jobs.iter().find(|j| Some(&j.id) == a.job.as_ref()).unwrap();
                    prop_assert!(j.status.is_pre_run(), "cancel of a {} job", j.status);
                }
                _ => {}
            }
            if !opts.targets.is_empty() {
                prop_assert!(a.entry.is_some() && opts.targets.contains(a.entry.as_ref().unwrap()));
            }
        }

        // Deterministic, byte for byte; and the JSON is the plan file.
        let json = plan::render_json(&p);
        prop_assert_eq!(&json, &plan::render_json(&plan::plan(&desired, &live, &opts)));
        prop_assert_eq!(&plan::parse_plan_file(&json).unwrap(), &p);
        // A plan just made is fresh, and approves all of itself.
        prop_assert_eq!(plan::check_preconditions(&p, &live), Vec::<String>::new());
        let (allowed, new) = plan::approved_actions(&p, &p);
        prop_assert_eq!(allowed.len(), p.actions.len());
        prop_assert!(new.is_empty());
        // The views never panic.
        let _ = plan::render_human(&p, true);
        let _ = plan::render_markdown(&p);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// A damaged plan file is an error, never a panic and never a different plan.
    #[test]
    fn damaged_plan_files_are_rejected_not_misread(s in scenario(), cut in 0.0f64..1.0, byte in any::<u8>()) {
        let (desired, live, opts) = build(&s);
        let p = plan::plan(&desired, &live, &opts);
        let json = plan::render_json(&p);
        let at = ((json.len() as f64) * cut) as usize;
        let truncated: String = json.chars().take(at).collect();
        if truncated.trim_end() != json.trim_end() {
            prop_assert!(plan::parse_plan_file(&truncated).is_err());
        }
        let mut bytes = json.clone().into_bytes();
        if !bytes.is_empty() {
            let i = at.min(bytes.len() - 1);
            bytes[i] = byte;
        }
        if let Ok(text) = String::from_utf8(bytes) {
            let same_json = serde_json::from_str::<serde_json::Value>(&text).ok()
                == serde_json::from_str::<serde_json::Value>(&json).ok();
            match plan::parse_plan_file(&text) {
                // A change that leaves the JSON value as it was (a byte replaced by itself,
                // whitespace) reads back as exactly the same plan.
                Ok(read) if same_json => prop_assert_eq!(&read, &p),
                Err(e) if same_json => prop_assert!(false, "an intact plan was refused: {}", e),
                // Any other plan read is one this version wrote itself: it survives its own
                // round trip unchanged.
                Ok(read) => {
                    let again = plan::render_json(&read);
                    prop_assert_eq!(&plan::parse_plan_file(&again).unwrap(), &read);
                }
                Err(_) => {}
            }
        }
    }
}
