//! Checking a saved plan against the manifests it names. A plan file is input from outside
//! the reviewed code: anyone who can write it could add a run, or point a create at an
//! object no manifest declares. So before anything is sent, apply re-plans from the
//! manifests (whose digest the file carries) and the live state with the file's recorded
//! options, and every action of the file must be one that re-plan produces. Fields a
//! reviewer reads but the planner derives (irreversibility) are taken from the re-plan.

use crate::kinds::ObjectRef;
use crate::plan::{Action, FixPreview, Plan};

/// What must agree between a saved action and a planned one: the op, the entry, the job or
/// session, the objects, the behaviour set, the fixes and the adoption.
fn same_action(saved: &Action, planned: &Action) -> bool {
    saved.op == planned.op
        && saved.entry == planned.entry
        && saved.job == planned.job
        && saved.session == planned.session
        && saved.validation_behavior == planned.validation_behavior
        && saved.adopt == planned.adopt
        && sorted_objects(&saved.objects) == sorted_objects(&planned.objects)
        && sorted_fixes(&saved.fixes) == sorted_fixes(&planned.fixes)
}

fn sorted_objects(objects: &[ObjectRef]) -> Vec<&ObjectRef> {
    let mut v: Vec<&ObjectRef> = objects.iter().collect();
    v.sort();
    v
}

fn sorted_fixes(fixes: &[FixPreview]) -> Vec<String> {
    let mut v: Vec<String> = fixes
        .iter()
        .map(|f| {
            format!(
                "{:?}|{}|{}|{}",
                f.kind, f.object.object_type, f.object.id, f.preapproved
            )
        })
        .collect();
    v.sort();
    v
}

/// One line naming a saved action, for the refusal.
fn describe(a: &Action) -> String {
    let what = a
        .job
        .clone()
        .or_else(|| a.session.clone())
        .unwrap_or_else(|| {
            a.objects
                .iter()
                .map(|o| o.id.clone())
                .collect::<Vec<_>>()
                .join(", ")
        });
    format!(
        "{} `{}` ({}{})",
        a.op.as_str(),
        a.id,
        a.entry
            .as_deref()
            .map(|e| format!("entry {e}: "))
            .unwrap_or_else(|| "no entry: ".into()),
        what
    )
}

/// The actions of a saved plan that the manifests and the live state do not produce, each
/// described as the reviewer saw it, one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("\n  "))]
pub struct UnderivableActions(pub Vec<String>);

/// Checks every action of `saved` against `replanned` (each planned action answers for at
/// most one saved action, so a duplicated action is refused too). On success returns the
/// saved plan with every derived field the reviewer does not control taken from the
/// re-plan; otherwise the actions the manifests cannot produce.
pub fn check_saved_actions(saved: &Plan, replanned: &Plan) -> Result<Plan, UnderivableActions> {
    let mut used = vec![false; replanned.actions.len()];
    let mut checked = saved.clone();
    let mut refused = Vec::new();
    for action in &mut checked.actions {
        let found = replanned
            .actions
            .iter()
            .enumerate()
            .find(|(i, p)| !used[*i] && same_action(action, p));
        match found {
            Some((i, planned)) => {
                used[i] = true;
                action.irreversible = planned.irreversible;
                action.lock_release = planned.lock_release;
                action.scheduled = planned.scheduled;
            }
            None => refused.push(describe(action)),
        }
    }
    if refused.is_empty() {
        Ok(checked)
    } else {
        Err(UnderivableActions(refused))
    }
}
