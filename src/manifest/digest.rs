//! The digest of what the manifests ask for: SHA-256 over a canonical JSON form of the
//! account and the entries, without source locations. A saved plan records it, so
//! reformatting or moving an entry to another file does not make the plan stale, while any
//! change of meaning does.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::kinds::ObjectRef;

use super::desired::{AccountSpec, Behavior, DesiredState, Entry, Via};
use super::model::FixKind;

#[derive(Serialize)]
struct CanonicalEntry<'a> {
    name: &'a str,
    ticket: Option<&'a str>,
    objects: &'a [ObjectRef],
    validation_behavior: Behavior,
    state: DesiredState,
    via: Via,
    /// Pre-approved fixes change what a plan approves; left out when empty so that the
    /// digests of manifests without them stay as they were.
    #[serde(skip_serializing_if = "<[FixKind]>::is_empty")]
    allowed_fixes: &'a [FixKind],
}

#[derive(Serialize)]
struct Canonical<'a> {
    account: &'a AccountSpec,
    entries: Vec<CanonicalEntry<'a>>,
}

/// SHA-256 (lowercase hex) of the canonical JSON of `account` and `entries` (which the
/// loader has already sorted: entries by name, objects by kind then id).
pub fn digest(account: &AccountSpec, entries: &[Entry]) -> String {
    let canonical = Canonical {
        account,
        entries: entries
            .iter()
            .map(|e| CanonicalEntry {
                name: &e.name,
                ticket: e.ticket.as_deref(),
                objects: &e.objects,
                validation_behavior: e.validation_behavior,
                state: e.state,
                via: e.via,
                allowed_fixes: &e.allowed_fixes,
            })
            .collect(),
    };
    let mut writer = std::io::BufWriter::with_capacity(1 << 16, HashWriter(Sha256::new()));
    // Serializing plain structs, strings and enums into a hasher cannot fail, nor can
    // flushing into it.
    let _ = serde_json::to_writer(&mut writer, &canonical);
    match writer.into_inner() {
        Ok(HashWriter(hasher)) => hex::encode(hasher.finalize()),
        Err(_) => String::new(),
    }
}

/// Feeds the JSON straight into the hasher: no copy of the whole canonical form in memory.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::ObjectKind;
    use crate::manifest::desired::{Location, Mode};

    fn entry(line: usize) -> Entry {
        Entry {
            deadline: Default::default(),
            allowed_fixes: Vec::new(),
            name: "a".into(),
            ticket: None,
            objects: vec![ObjectRef::new(ObjectKind::Customers, "cus_1")],
            validation_behavior: Behavior::Error,
            state: DesiredState::Redacted,
            via: Via::RedactionJob,
            location: Location {
                file: format!("f{line}.yaml").into(),
                line,
                column: 1,
            },
        }
    }

    #[test]
    fn ignores_locations_but_not_meaning() {
        let account = AccountSpec {
            mode: Mode::Test,
            id: None,
            connected_account: None,
        };
        let a = digest(&account, &[entry(1)]);
        assert_eq!(a.len(), 64);
        assert_eq!(a, digest(&account, &[entry(7)]));
        let mut changed = entry(1);
        changed.validation_behavior = Behavior::Fix;
        assert_ne!(a, digest(&account, &[changed]));
        // Pre-approving fixes changes what a plan approves.
        let mut changed = entry(1);
        changed.allowed_fixes = vec![FixKind::VoidInvoice];
        assert_ne!(a, digest(&account, &[changed]));
        let live = AccountSpec {
            mode: Mode::Live,
            ..account.clone()
        };
        assert_ne!(a, digest(&live, &[entry(1)]));
    }
}
