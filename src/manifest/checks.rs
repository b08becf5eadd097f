//! Checks that need every document at once: `account` and `defaults` agree wherever they
//! are repeated, names are unique, an object belongs to one entry only, `via:
//! identity_redact` is used as Stripe allows; then defaults are applied and entries sorted.
//! Every problem names both places when two are involved.

use std::collections::hash_map::Entry as Slot;
use std::collections::HashMap;

use crate::deadline::{self, Date, DeadlineSpec, Extension, Field};
use crate::kinds::{ObjectKind, ObjectRef};

use super::convert::{DefaultsSpec, DocOut, Placed, RawEntry};
use super::desired::{AccountSpec, Behavior, DesiredState, Entry, Via};
use super::diagnostic::{Diagnostic, Severity};
use super::source::{Files, Place};

/// Merges the documents into the account and the resolved entries (sorted by name, objects
/// sorted and deduplicated). Appends problems to `diags`; the account is `None` when no
/// document gives one.
///
/// `complete` says whether every file could be read and parsed; when one could not, a
/// missing `account` is not reported (it may be in that file).
///
/// `today` judges dates in the future (`None`: not judged).
pub fn check(
    files: &Files,
    docs: Vec<DocOut>,
    complete: bool,
    today: Option<Date>,
    diags: &mut Vec<Diagnostic>,
) -> (Option<AccountSpec>, Vec<Entry>) {
    let mut account: Option<Placed<AccountSpec>> = None;
    let mut defaults: Option<Placed<DefaultsSpec>> = None;
    let mut raw = Vec::new();
    let mut account_written = false;
    for doc in docs {
        account_written |= doc.account_written;
        if let Some(a) = doc.account {
            agree(files, &mut account, a, "account", diags);
        }
        if let Some(d) = doc.defaults {
            agree(files, &mut defaults, d, "defaults", diags);
        }
        raw.extend(doc.entries);
    }
    let defaults = defaults.map(|d| d.value).unwrap_or_default();

    let mut names: HashMap<&str, Place> = HashMap::with_capacity(raw.len());
    let total_objects = raw.iter().map(|e| e.objects.len()).sum();
    let mut owners: HashMap<&ObjectRef, (usize, Place)> = HashMap::with_capacity(total_objects);
    let mut entries = Vec::with_capacity(raw.len());
    let mut resolved = Vec::with_capacity(raw.len());
    for (index, e) in raw.iter().enumerate() {
        match names.entry(e.name.value.as_str()) {
            Slot::Occupied(first) => {
                let d = files.error(
                    format!("duplicate entry name `{}`", e.name.value),
                    e.name.at,
                );
                let d = files
                    .relate(d, *first.get(), "first used here")
                    .with_hint("names must be unique over every manifest file; rename one entry");
                diags.push(d);
            }
            Slot::Vacant(slot) => {
                slot.insert(e.name.at);
            }
        }
        for o in &e.objects {
            match owners.entry(&o.value) {
                Slot::Vacant(slot) => {
                    slot.insert((index, o.at));
                }
                Slot::Occupied(first) => {
                    let (owner, first_at) = *first.get();
                    if owner == index {
                        let d = files.diag(
                            Severity::Warning,
                            format!(
                                "`{}` is listed twice in entry `{}`",
                                o.value.id, e.name.value
                            ),
                            o.at,
                        );
                        diags.push(
                            files
                                .relate(d, first_at, "first listed here")
                                .with_hint("remove one of them"),
                        );
                    } else {
                        let d = files.error(
                            format!(
                                "object `{}` is in two entries: `{}` and `{}`",
                                o.value.id, raw[owner].name.value, e.name.value
                            ),
                            o.at,
                        );
                        let d = files
                            .relate(
                                d,
                                first_at,
                                format!("also in entry `{}`", raw[owner].name.value),
                            )
                            .with_hint(
                                "an object belongs to one entry only; remove it from one of them",
                            );
                        diags.push(d);
                    }
                }
            }
        }

        let validation_behavior = e
            .validation_behavior
            .as_ref()
            .map(|p| p.value)
            .or(defaults.validation_behavior)
            .unwrap_or(Behavior::Error);
        let state = e
            .state
            .as_ref()
            .map(|p| p.value)
            .or(defaults.state)
            .unwrap_or(DesiredState::Redacted);
        let via = e
            .via
            .as_ref()
            .map(|p| p.value)
            .or(defaults.via)
            .unwrap_or(Via::RedactionJob);
        if via == Via::IdentityRedact {
            let from = if e.via.is_some() {
                ""
            } else {
                " (from `defaults`)"
            };
            for k in e
                .kinds
                .iter()
                .filter(|k| k.value != ObjectKind::IdentityVerificationSessions)
            {
                let d = files.error(
                    format!(
                        "entry `{}` uses `via: identity_redact`{from}, which redacts identity verification sessions only, not `{}`",
                        e.name.value, k.value
                    ),
                    k.at,
                );
                diags.push(
                    d.with_hint("move these objects to another entry with `via: redaction_job`"),
                );
            }
            if state == DesiredState::Validated {
                let at = e
                    .state
                    .as_ref()
                    .map(|s| s.at)
                    .or(e.via.as_ref().map(|v| v.at))
                    .unwrap_or(e.name.at);
                let d = files.error(
                    format!(
                        "entry `{}` combines `via: identity_redact`{from} with `state: validated`; identity redaction has no validation step",
                        e.name.value
                    ),
                    at,
                );
                diags.push(d.with_hint(
                    "use `state: redacted`, or `via: redaction_job` for a two-phase review",
                ));
            }
        }
        let deadline = deadline_spec(e, &defaults);
        if !e.deadline_unreadable {
            let require = defaults.require_received.unwrap_or(false);
            for p in deadline::check(&deadline, require, today) {
                let severity = if p.error {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                let d = files.diag(
                    severity,
                    format!("entry `{}`: {}", e.name.value, p.message),
                    field_place(e, p.field),
                );
                diags.push(d.with_hint(p.hint));
            }
        }
        let allowed_fixes = e
            .allowed_fixes
            .clone()
            .or_else(|| defaults.allowed_fixes.clone())
            .unwrap_or_default();
        resolved.push((validation_behavior, state, via, deadline, allowed_fixes));
    }
    drop(names);
    drop(owners);
    // Moves the strings out of the raw entries instead of copying them.
    for (e, (validation_behavior, state, via, deadline, allowed_fixes)) in
        raw.into_iter().zip(resolved)
    {
        let mut objects: Vec<ObjectRef> = e.objects.into_iter().map(|o| o.value).collect();
        objects.sort();
        objects.dedup();
        entries.push(Entry {
            allowed_fixes,
            location: files.location(e.name.at),
            name: e.name.value,
            ticket: e.ticket.map(|t| t.value),
            objects,
            validation_behavior,
            state,
            via,
            deadline,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));

    if account.is_none() && complete && !account_written {
        diags.push(
            Diagnostic::error("no `account` in the manifests")
                .with_hint("add `account: {mode: test}` (or `mode: live`) to one of the files"),
        );
    }
    (account.map(|a| a.value), entries)
}

/// An entry's deadline fields with `defaults.regulation` applied.
fn deadline_spec(e: &RawEntry, defaults: &DefaultsSpec) -> DeadlineSpec {
    DeadlineSpec {
        regulation: e
            .regulation
            .as_ref()
            .map(|r| r.value)
            .or(defaults.regulation),
        received: e.received.as_ref().map(|r| r.value),
        due: e.due.as_ref().map(|d| d.value),
        extension: e.extension.as_ref().map(|x| Extension {
            until: x.until.value,
            reason: x.reason.value.clone(),
            notified: x.notified.value,
        }),
    }
}

/// Where a deadline problem points: the field when written, else the entry's name.
fn field_place(e: &RawEntry, field: Field) -> Place {
    let ext = e.extension.as_ref();
    let at = match field {
        Field::Regulation => e.regulation.as_ref().map(|r| r.at),
        Field::Received => e.received.as_ref().map(|r| r.at),
        Field::Due => e.due.as_ref().map(|d| d.at),
        Field::Extension => ext.map(|x| x.at),
        Field::ExtensionUntil => ext.map(|x| x.until.at),
        Field::ExtensionNotified => ext.map(|x| x.notified.at),
    };
    at.unwrap_or(e.name.at)
}

/// Keeps the first `what` and reports every later one that differs from it.
fn agree<T: PartialEq>(
    files: &Files,
    first: &mut Option<Placed<T>>,
    next: Placed<T>,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) {
    match first {
        None => *first = Some(next),
        Some(f) if f.value == next.value => {}
        Some(f) => {
            let d = files.error(
                format!("conflicting `{what}`: it differs from an earlier one"),
                next.at,
            );
            let d = files
                .relate(d, f.at, format!("the first `{what}` is here"))
                .with_hint(format!(
                    "`{what}` must be equal wherever it is repeated; keep it in one file"
                ));
            diags.push(d);
        }
    }
}
