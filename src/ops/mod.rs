//! The use cases, one module each: validate, plan, apply, reconcile, status, report and the
//! embedded emulator's reset. Each takes a typed request and returns a typed outcome; none
//! parses arguments or prints. What a use case has to say while it runs (manifest
//! warnings, notes, the plan before approval, apply progress) goes to an [`Events`] sink the
//! caller passes in; `src/cli` renders outcomes and maps them to exit codes.
//!
//! One apply pipeline ([`apply::pipeline`]) serves `apply PATHS`, `apply PLANFILE` and every
//! reconcile pass; how approval is obtained is an [`apply::Approval`] value.

pub mod apply;
pub mod emulator;
mod error;
pub mod find;
pub mod plan;
pub mod reconcile;
pub mod report;
mod saved_check;
pub mod session;
pub mod status;
pub mod validate;

pub use error::{messages, one_line, OpsError};
pub use session::{Connection, Prepared, Session};

use crate::apply::progress::{QuietReporter, Reporter};
use crate::manifest::Diagnostic;
use crate::plan::Plan;

/// What a use case reports while it runs. Every method has a do-nothing default, so a
/// test (or a quiet caller) implements only what it wants to see.
pub trait Events: Send + Sync {
    /// Warnings found while loading the manifests (errors come back as
    /// [`OpsError::Manifest`]).
    fn manifest_warnings(&self, _warnings: &[Diagnostic]) {}
    /// A line worth telling the operator (e.g. that the embedded emulator is used).
    fn note(&self, _message: &str) {}
    /// The plan apply is about to carry out, before guards and approval.
    fn plan_ready(&self, _plan: &Plan) {}
    /// Where apply's progress events go.
    fn progress(&self) -> &dyn Reporter {
        &QuietReporter
    }
}

/// Events nobody listens to.
pub struct Silent;

impl Events for Silent {}
