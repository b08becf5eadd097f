//! `OpsError`: why a use case stopped. The message says what the use case was doing; the
//! cause hangs off `#[source]` and is printed by the CLI as `Caused by:` lines.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::apply::audit::AuditError;
use crate::apply::guards::GuardError;
use crate::apply::ApplyError;
use crate::emulator::EmulatorError;
use crate::manifest::LoadFailure;
use crate::plan::PlanFileError;
use crate::stripe::key::KeyError;
use crate::stripe::StripeError;

/// Why a use case could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The manifests have errors; the diagnostics say which (the CLI prints them, not an
    /// `error:` line).
    #[error("the manifests have {} error(s)", .0.errors())]
    Manifest(LoadFailure),
    #[error("--target names no entry of the manifests: {}", .0.join(", "))]
    UnknownTargets(Vec<String>),
    #[error("cannot read the Stripe API key")]
    Key(#[source] KeyError),
    #[error(transparent)]
    Guard(#[from] GuardError),
    #[error("cannot create {}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot remove {}", path.display())]
    RemoveDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the embedded emulator")]
    LocalEmulator(#[source] EmulatorError),
    #[error("cannot set up the Stripe client")]
    Client(#[source] Box<StripeError>),
    #[error("cannot read the Stripe account's state")]
    Observe(#[source] Box<StripeError>),
    #[error("cannot read {}", path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("refusing a live-mode key against {base}, which is not Stripe's API (it came from STRIPE_API_BASE, not the command line); nothing was sent — unset STRIPE_API_BASE, or pass --api-base on the command line if this is deliberate")]
    LiveAgainstOtherBase { base: String },
    #[error("cannot tell today's date")]
    Today(#[source] crate::deadline::clock::TodayError),
    #[error("cannot look the address up")]
    Find(#[source] crate::find::FindError),
    #[error("cannot write the manifest entry")]
    FindEntry(#[source] crate::find::entry::EntryError),
    #[error("cannot read the e-mail address")]
    FindInput(#[source] crate::find::IdentifierError),
    #[error("cannot read the plan file {}", path.display())]
    PlanFileRead {
        path: PathBuf,
        #[source]
        source: crate::io_limits::LimitedReadError,
    },
    #[error("cannot use the plan file {}", path.display())]
    PlanFile {
        path: PathBuf,
        #[source]
        source: PlanFileError,
    },
    #[error("refusing the plan file {}", path.display())]
    PlanSignature {
        path: PathBuf,
        #[source]
        source: crate::plan::SignatureError,
    },
    #[error("cannot use the plan-signing key")]
    PlanKey(#[source] crate::plan::PlanKeyError),
    #[error("the plan file names no manifests; create it with `redactctl plan PATHS --out FILE`")]
    PlanFileWithoutManifests,
    #[error("stale plan: the manifests changed since the plan was made; nothing was changed — run `redactctl plan` again")]
    ManifestsChanged,
    /// The saved plan was made against another account, mode or API base.
    #[error("the plan file was made for {saw}, but this run talks to {now}; nothing was sent — make the plan again against this account")]
    PlanElsewhere { saw: String, now: String },
    /// The saved plan holds actions the manifests and the live state do not produce.
    #[error("the plan file holds actions the manifests do not ask for; nothing was sent — make the plan again with `redactctl plan --out`:\n  {0}")]
    PlanFileNotDerivable(super::saved_check::UnderivableActions),
    /// Planning options that must not be used on what was loaded (`--prune`).
    #[error(transparent)]
    Scope(#[from] crate::plan::ScopeError),
    #[error("cannot use the project file")]
    Project(#[source] crate::manifest::project::ProjectError),
    #[error("no manifest paths given and no project file ({}) here or above; name the manifests, or add a project file listing their roots", crate::manifest::project::PROJECT_FILE)]
    NoPathsNoProject,
    #[error("cannot write the plan file {}", path.display())]
    SavePlan {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("apply cancelled: the plan was not approved; nothing was changed")]
    Declined,
    #[error("no terminal to ask for approval; review the plan and rerun with --auto-approve, or apply a saved plan file (`plan --out FILE`, then `apply FILE`); nothing was changed")]
    NoTerminal,
    #[error(transparent)]
    Apply(Box<ApplyError>),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("cannot read the audit log {}", path.display())]
    ReadAudit {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reconcile applies without asking; pass --auto-approve to confirm that every pass may apply what the manifests say")]
    ReconcileNeedsApproval,
    #[error("--listen needs the webhook signing secret in STRIPE_WEBHOOK_SECRET")]
    WebhookSecretMissing,
    #[error("cannot listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("`account` changed since reconcile started; restart it to use the new account")]
    AccountChanged,
}

impl From<ApplyError> for OpsError {
    fn from(e: ApplyError) -> Self {
        OpsError::Apply(Box::new(e))
    }
}

/// The messages of an error and of each of its causes, outermost first. A cause whose
/// message the previous one already ends with (an error that prints its source inline) is
/// left out, so that nothing is said twice.
pub fn messages(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out: Vec<String> = vec![error.to_string()];
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        let said = out.last().is_some_and(|prev| prev.ends_with(&text));
        if !said && !text.is_empty() {
            out.push(text);
        }
        next = cause.source();
    }
    out
}

/// The whole chain on one line (`outer: cause: cause`), for JSON lines and logs.
pub fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    messages(error).join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_follow_the_message_once_each() {
        let e = OpsError::PlanFileRead {
            path: "p.json".into(),
            source: crate::io_limits::LimitedReadError::TooLarge {
                path: "p.json".into(),
                max: 10,
            },
        };
        assert_eq!(
            messages(&e),
            [
                "cannot read the plan file p.json",
                "`p.json` is larger than 10 bytes"
            ]
        );
        assert_eq!(
            one_line(&e),
            "cannot read the plan file p.json: `p.json` is larger than 10 bytes"
        );
    }

    #[test]
    fn a_cause_already_printed_inline_is_not_repeated() {
        let e = OpsError::Audit(AuditError::Open {
            path: "a.jsonl".into(),
            source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
        });
        assert_eq!(messages(&e), ["cannot open the audit log a.jsonl: denied"]);
    }
}
