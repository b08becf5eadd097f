//! The guards that stand before the first write: the key's mode and account must be the
//! manifests', and the plan may not destroy more than the operator allowed.

use crate::manifest::AccountSpec;
use crate::stripe::models::{Account, Mode};

/// A guard refused: apply (or plan) must stop before any write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("the API key is a {key} mode key but the manifests declare `account.mode: {declared}`; refusing before any request (use a {declared} mode key)")]
    ModeMismatch { key: Mode, declared: Mode },
    #[error("the API key belongs to account {actual} but the manifests declare `account.id: {declared}`; refusing before any write")]
    AccountMismatch { actual: String, declared: String },
    #[error("the plan holds {count} irreversible actions, more than --max-irreversible {max}; split the change or raise the limit deliberately")]
    TooManyIrreversible { count: usize, max: usize },
}

/// The key's mode must equal `account.mode` (checked before any request is sent).
pub fn check_mode(key_mode: Mode, account: &AccountSpec) -> Result<(), GuardError> {
    if key_mode == account.mode {
        Ok(())
    } else {
        Err(GuardError::ModeMismatch {
            key: key_mode,
            declared: account.mode,
        })
    }
}

/// The key's account must equal `account.id` when the manifests give one.
pub fn check_account(actual: Option<&Account>, account: &AccountSpec) -> Result<(), GuardError> {
    match (&account.id, actual) {
        (Some(declared), Some(actual)) if &actual.id != declared => {
            Err(GuardError::AccountMismatch {
                actual: actual.id.clone(),
                declared: declared.clone(),
            })
        }
        _ => Ok(()),
    }
}

/// At most `max` irreversible actions (runs and redactions, deferred ones included).
pub fn check_irreversible(count: usize, max: usize) -> Result<(), GuardError> {
    if count > max {
        Err(GuardError::TooManyIrreversible { count, max })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(mode: Mode, id: Option<&str>) -> AccountSpec {
        AccountSpec {
            mode,
            id: id.map(str::to_string),
            connected_account: None,
        }
    }

    #[test]
    fn a_live_key_is_refused_for_a_test_manifest() {
        let err = check_mode(Mode::Live, &spec(Mode::Test, None)).unwrap_err();
        assert!(err.to_string().contains("live mode key"));
        assert!(check_mode(Mode::Test, &spec(Mode::Test, None)).is_ok());
    }

    #[test]
    fn another_account_is_refused() {
        let acct = Account {
            id: "acct_other".into(),
            object: "account".into(),
        };
        assert!(check_account(Some(&acct), &spec(Mode::Test, Some("acct_1"))).is_err());
        assert!(check_account(Some(&acct), &spec(Mode::Test, None)).is_ok());
        assert!(check_account(Some(&acct), &spec(Mode::Test, Some("acct_other"))).is_ok());
    }

    #[test]
    fn irreversible_cap_is_inclusive() {
        assert!(check_irreversible(100, 100).is_ok());
        assert!(check_irreversible(101, 100).is_err());
    }
}
