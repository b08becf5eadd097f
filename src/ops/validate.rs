//! `validate`: the offline checks, no key and no request.

use std::path::PathBuf;

use crate::manifest::{self, Diagnostic};

/// What the checks found.
#[derive(Debug, Clone)]
pub struct ValidateOutcome {
    /// Errors and warnings, in the order found (warnings only when `valid`).
    pub diagnostics: Vec<Diagnostic>,
    /// Entries declared (0 when invalid).
    pub entries: usize,
    pub valid: bool,
}

/// Loads and checks the manifests at `paths`.
pub fn validate(paths: &[PathBuf]) -> ValidateOutcome {
    match manifest::load(paths) {
        Ok(loaded) => ValidateOutcome {
            diagnostics: loaded.warnings,
            entries: loaded.desired.entries.len(),
            valid: true,
        },
        Err(failure) => ValidateOutcome {
            diagnostics: failure.diagnostics,
            entries: 0,
            valid: false,
        },
    }
}
