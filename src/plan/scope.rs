//! What a plan may cover: the pure checks on planning options that stand before any
//! observation. `--prune` cancels every unmanaged job, so it is only safe when the plan saw
//! every manifest: from a subset, it would cancel the jobs of the manifests left out.

use super::model::Options;

/// Planning options that must not be combined, or not used on what was loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("--prune needs the whole manifest set: load it from the project file (`redactctl.yaml`, run without paths) so that jobs of manifests not loaded are not canceled")]
    PruneOnSubset,
    #[error("--prune and --target do not mix: a targeted run must not touch anything outside its targets")]
    PruneWithTarget,
}

/// Refuses `--prune` with `--target`, and `--prune` unless the whole manifest set was
/// loaded ([`Options::whole_manifest_set`]).
pub fn check_planning_options(opts: &Options) -> Result<(), ScopeError> {
    if !opts.prune {
        return Ok(());
    }
    if !opts.targets.is_empty() {
        return Err(ScopeError::PruneWithTarget);
    }
    if !opts.whole_manifest_set {
        return Err(ScopeError::PruneOnSubset);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_needs_the_whole_set_and_no_target() {
        let mut o = Options {
            prune: true,
            ..Options::default()
        };
        assert_eq!(check_planning_options(&o), Err(ScopeError::PruneOnSubset));
        o.whole_manifest_set = true;
        assert_eq!(check_planning_options(&o), Ok(()));
        o.targets = vec!["dsr-1".into()];
        assert_eq!(check_planning_options(&o), Err(ScopeError::PruneWithTarget));
        let o = Options {
            targets: vec!["dsr-1".into()],
            ..Options::default()
        };
        assert_eq!(
            check_planning_options(&o),
            Ok(()),
            "no prune: nothing to refuse"
        );
    }
}
