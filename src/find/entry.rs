//! The manifest entry `find --write` produces: ids grouped by kind, the ticket, and a
//! comment with the dates and the routes used — nothing about the person. Rendering,
//! appending to an existing file and checking the result with the real manifest loader
//! are pure (text in, text out); [`write_file`] is the one function that touches disk.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::kinds::ObjectKind;
use crate::manifest::{self, ids, lint};
use crate::stripe::models::Mode;

/// What goes into the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySpec {
    /// The ticket (`DSR-200`); the entry's name is derived from it.
    pub ticket: String,
    /// When the request was received (`YYYY-MM-DD`).
    pub received: String,
    /// When the lookup ran (RFC 3339).
    pub looked_up_at: String,
    /// The routes and their hit counts, for the comment.
    pub routes: String,
    /// The ids, by kind.
    pub objects: BTreeMap<ObjectKind, Vec<String>>,
}

/// Why no entry can be written. Messages name the file, the ticket or the entry name,
/// never the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("the ticket `{0}` gives no usable entry name (names are lowercase letters, digits, `.`, `_`, `-`)")]
    BadTicket(String),
    #[error("the ticket looks like it contains {0}: give the request's ticket number, not the person's details")]
    PersonalTicket(&'static str),
    #[error("`--received {0}` is not a date (YYYY-MM-DD)")]
    BadDate(String),
    #[error("{} already has an entry named `{name}`", path.display())]
    Duplicate { path: PathBuf, name: String },
    #[error("cannot append to {}: its `redactions:` is not the last block list of the file; add the entry by hand", path.display())]
    NotAppendable { path: PathBuf },
    #[error("Stripe returned an id that cannot go in a manifest (`{0}`)")]
    BadId(String),
    #[error("the entry would not validate:\n{0}")]
    Invalid(String),
    #[error("cannot {what} {}: {message}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        message: String,
    },
}

/// The entry name for a ticket: `DSR-200` → `dsr-200`.
pub fn entry_name(ticket: &str) -> Result<String, EntryError> {
    if let Some(found) = lint::find_personal_data(ticket) {
        return Err(EntryError::PersonalTicket(found.describe()));
    }
    let mapped: String = ticket
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name: String = mapped
        .trim_start_matches(['.', '_', '-'])
        .chars()
        .take(64)
        .collect();
    match ids::name_problem(&name) {
        None => Ok(name),
        Some(_) => Err(EntryError::BadTicket(ticket.to_string())),
    }
}

/// Checks `--received`: `YYYY-MM-DD`, a real date.
pub fn check_date(date: &str) -> Result<(), EntryError> {
    let shape = date.len() == 10
        && date.chars().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    if shape && humantime::parse_rfc3339_weak(&format!("{date} 00:00:00")).is_ok() {
        Ok(())
    } else {
        Err(EntryError::BadDate(date.to_string()))
    }
}

/// A YAML scalar: plain when it is safe, single-quoted otherwise.
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// The entry, its list item at `indent` spaces.
pub fn render_entry(spec: &EntrySpec, indent: usize) -> Result<String, EntryError> {
    let name = entry_name(&spec.ticket)?;
    check_date(&spec.received)?;
    let p = " ".repeat(indent);
    let mut s = String::new();
    s.push_str(&format!(
        "{p}# {}: received {}; looked up {} with `redactctl find`\n",
        spec.ticket.replace(['\n', '\r'], " "),
        spec.received,
        spec.looked_up_at
    ));
    s.push_str(&format!("{p}# routes: {}\n", spec.routes));
    s.push_str(&format!("{p}- name: {name}\n"));
    s.push_str(&format!("{p}  ticket: {}\n", scalar(spec.ticket.trim())));
    s.push_str(&format!("{p}  objects:\n"));
    for (kind, list) in &spec.objects {
        for id in list {
            if ids::check_id(*kind, id).is_err()
                || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(EntryError::BadId(id.escape_debug().to_string()));
            }
        }
        s.push_str(&format!("{p}    {kind}: [{}]\n", list.join(", ")));
    }
    Ok(s)
}

/// A new manifest file holding the entry; `account` is written when `mode` is given
/// (not when another file of the directory declares it).
pub fn new_file(spec: &EntrySpec, mode: Option<Mode>) -> Result<String, EntryError> {
    let mut s = String::from("version: 1\n");
    if let Some(m) = mode {
        s.push_str(&format!("account:\n  mode: {}\n", m.as_str()));
    }
    s.push_str("redactions:\n");
    s.push_str(&render_entry(spec, 2)?);
    Ok(s)
}

fn is_top_level_key(line: &str) -> bool {
    line.chars()
        .next()
        .is_some_and(|c| !c.is_whitespace() && c != '#' && c != '-')
        || line.starts_with("---")
}

/// `existing` with the entry appended to its `redactions:` block list (added when the
/// file has none).
pub fn append(existing: &str, spec: &EntrySpec, path: &Path) -> Result<String, EntryError> {
    let name = entry_name(&spec.ticket)?;
    let lines: Vec<&str> = existing.lines().collect();
    let taken = lines.iter().any(|l| {
        let t = l.trim_start().trim_start_matches("- ").trim_start();
        t.strip_prefix("name:")
            .map(|v| v.trim().trim_matches(['\'', '"']) == name)
            .unwrap_or(false)
    });
    if taken {
        return Err(EntryError::Duplicate {
            path: path.to_path_buf(),
            name,
        });
    }
    let mut out = existing.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    let block = lines.iter().position(|l| {
        l.strip_prefix("redactions:")
            .is_some_and(|rest| rest.trim().is_empty() || rest.trim().starts_with('#'))
    });
    match block {
        None if lines.iter().any(|l| l.starts_with("redactions:")) => {
            Err(EntryError::NotAppendable {
                path: path.to_path_buf(),
            })
        }
        None => {
            out.push_str("redactions:\n");
            out.push_str(&render_entry(spec, 2)?);
            Ok(out)
        }
        Some(i) => {
            if lines[i + 1..].iter().any(|l| is_top_level_key(l)) {
                return Err(EntryError::NotAppendable {
                    path: path.to_path_buf(),
                });
            }
            let indent = lines[i + 1..]
                .iter()
                .find(|l| l.trim_start().starts_with("- "))
                .map_or(2, |l| l.len() - l.trim_start().len());
            out.push_str(&render_entry(spec, indent)?);
            Ok(out)
        }
    }
}

/// Checks `text` with the real loader, as `validate` would (a missing `account` is fine:
/// another file of the directory may hold it).
pub fn check_text(path: &Path, text: &str) -> Result<(), EntryError> {
    match manifest::load_bytes(path, text.as_bytes().to_vec()) {
        Ok(_) => Ok(()),
        Err(failure) => {
            let errors: Vec<_> = failure
                .diagnostics
                .into_iter()
                .filter(|d| d.is_error() && !d.message.starts_with("no `account`"))
                .collect();
            if errors.is_empty() {
                Ok(())
            } else {
                Err(EntryError::Invalid(manifest::render_diagnostics(
                    &errors, false,
                )))
            }
        }
    }
}

/// Whether a sibling YAML file of `path` declares `account:` (then a new file leaves it out).
pub fn sibling_declares_account(path: &Path) -> bool {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(read) = std::fs::read_dir(dir) else {
        return false;
    };
    read.flatten().any(|e| {
        let p = e.path();
        p != path
            && manifest::files::is_yaml(&p)
            && crate::io_limits::read_text_limited(
                &p,
                manifest::files::MAX_FILE_BYTES,
                crate::io_limits::Special::Refuse,
            )
            .is_ok_and(|t| t.lines().any(|l| l.starts_with("account:")))
    })
}

/// Writes `text` to `path` atomically (a temporary file in the same directory, renamed).
pub fn write_file(path: &Path, text: &str) -> Result<(), EntryError> {
    let io = |what: &'static str, e: &dyn std::fmt::Display| EntryError::Io {
        what,
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| io("create the directory of", &e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| io("write", &e))?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.flush())
        .map_err(|e| io("write", &e))?;
    tmp.persist(path).map_err(|e| io("write", &e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> EntrySpec {
        EntrySpec {
            ticket: "DSR-200".into(),
            received: "2026-11-27".into(),
            looked_up_at: "2026-11-27T09:00:00Z".into(),
            routes: "email (1), search (2), checkout (1)".into(),
            objects: BTreeMap::from([
                (ObjectKind::Customers, vec!["cus_A".into(), "cus_B".into()]),
                (ObjectKind::CheckoutSessions, vec!["cs_test_1".into()]),
            ]),
        }
    }

    #[test]
    fn a_new_file_validates_and_carries_ids_ticket_and_dates() {
        let text = new_file(&spec(), Some(Mode::Test)).unwrap();
        assert_eq!(
            text,
            "version: 1\naccount:\n  mode: test\nredactions:\n  # DSR-200: received 2026-11-27; looked up 2026-11-27T09:00:00Z with `redactctl find`\n  # routes: email (1), search (2), checkout (1)\n  - name: dsr-200\n    ticket: DSR-200\n    objects:\n      checkout_sessions: [cs_test_1]\n      customers: [cus_A, cus_B]\n"
        );
        let loaded = manifest::load_bytes(Path::new("m.yaml"), text.into_bytes()).unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        assert_eq!(loaded.desired.entries[0].name, "dsr-200");
    }

    #[test]
    fn appends_at_the_files_indentation_and_refuses_duplicates() {
        let existing = "version: 1\naccount: {mode: test}\nredactions:\n- name: dsr-1\n  objects: {customers: [cus_Z]}";
        let out = append(existing, &spec(), Path::new("m.yaml")).unwrap();
        assert!(
            out.contains("\n- name: dsr-200\n  ticket: DSR-200\n"),
            "{out}"
        );
        check_text(Path::new("m.yaml"), &out).unwrap();
        let e = append(&out, &spec(), Path::new("m.yaml")).unwrap_err();
        assert!(matches!(e, EntryError::Duplicate { .. }));
        let no_block = append("version: 1\n", &spec(), Path::new("m.yaml")).unwrap();
        check_text(Path::new("m.yaml"), &no_block).unwrap();
        let later_key = "redactions:\n  - name: a\n    objects: {customers: [cus_1]}\ndefaults:\n  state: redacted\n";
        assert!(matches!(
            append(later_key, &spec(), Path::new("m.yaml")),
            Err(EntryError::NotAppendable { .. })
        ));
    }

    #[test]
    fn refuses_personal_tickets_bad_dates_and_odd_ids() {
        let mut s = spec();
        s.ticket = "jane@example.com".into();
        let e = render_entry(&s, 2).unwrap_err();
        assert!(!e.to_string().contains("jane"));
        let mut s = spec();
        s.received = "27/11/2026".into();
        assert!(matches!(render_entry(&s, 2), Err(EntryError::BadDate(_))));
        let mut s = spec();
        s.objects = BTreeMap::from([(ObjectKind::Customers, vec!["cus_x]\n- y".into()])]);
        assert!(matches!(render_entry(&s, 2), Err(EntryError::BadId(_))));
        assert_eq!(entry_name("Ticket #42").unwrap(), "ticket--42");
        assert!(check_date("2026-02-30").is_err());
    }
}
