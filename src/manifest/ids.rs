//! Checks on object ids and entry names: pure string rules, so they are unit-tested
//! without files. A wrong id in a manifest would make Stripe refuse the whole job (or,
//! worse, name the wrong kind of object), so it is caught before any request.

use crate::kinds::ObjectKind;

use super::model::{ID_MAX, NAME_MAX};

/// Why an id cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdProblem {
    Empty,
    /// A space, tab or other blank (the char's position, 0-based).
    Whitespace(usize),
    /// A line break.
    Newline(usize),
    /// Another control character.
    Control(usize),
    /// Longer than `ID_MAX` characters (the length).
    TooLong(usize),
    /// The prefix is not this kind's; `belongs_to` is the kind whose prefix it has, if any.
    WrongPrefix {
        belongs_to: Option<ObjectKind>,
    },
}

/// Checks `id` as an id of `kind`.
pub fn check_id(kind: ObjectKind, id: &str) -> Result<(), IdProblem> {
    if id.is_empty() {
        return Err(IdProblem::Empty);
    }
    for (i, c) in id.chars().enumerate() {
        if c == '\n' || c == '\r' {
            return Err(IdProblem::Newline(i));
        }
        if c.is_whitespace() {
            return Err(IdProblem::Whitespace(i));
        }
        if c.is_control() {
            return Err(IdProblem::Control(i));
        }
    }
    let len = id.chars().count();
    if len > ID_MAX {
        return Err(IdProblem::TooLong(len));
    }
    if !kind.accepts_id(id) {
        return Err(IdProblem::WrongPrefix {
            belongs_to: owner_of_prefix(id),
        });
    }
    Ok(())
}

/// The kind whose prefix `id` carries (the longest matching prefix wins: `ich_` before `ic_`).
pub fn owner_of_prefix(id: &str) -> Option<ObjectKind> {
    ObjectKind::ALL
        .into_iter()
        .flat_map(|k| k.prefixes().iter().map(move |p| (k, *p)))
        .filter(|(_, p)| id.starts_with(p))
        .max_by_key(|(_, p)| p.len())
        .map(|(k, _)| k)
}

/// "`cus_`" or "`ch_` or `py_`".
pub fn prefixes_text(kind: ObjectKind) -> String {
    kind.prefixes()
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The message and hint for an id problem.
pub fn describe(kind: ObjectKind, id: &str, problem: &IdProblem) -> (String, String) {
    let shown = id.escape_debug().to_string();
    match problem {
        IdProblem::Empty => (
            format!("empty id in `{kind}`"),
            "remove the empty item, or write the id".into(),
        ),
        IdProblem::Whitespace(_) => (
            format!("id `{shown}` contains whitespace"),
            "ids have no spaces; separate ids in a list with commas: `[cus_1, cus_2]`".into(),
        ),
        IdProblem::Newline(_) => (
            format!("id `{shown}` contains a line break"),
            "remove the line break; ids are single words".into(),
        ),
        IdProblem::Control(_) => (
            format!("id `{shown}` contains a control character"),
            "retype the id; it holds an invisible character".into(),
        ),
        IdProblem::TooLong(n) => (
            format!("id in `{kind}` is {n} characters long (at most {ID_MAX})"),
            "Stripe ids are short; check what was pasted here".into(),
        ),
        IdProblem::WrongPrefix { belongs_to } => {
            let name = kind.object_type_name();
            let message = format!(
                "id `{shown}` does not look like a {name} id ({name} ids start with {})",
                prefixes_text(kind)
            );
            let hint = match belongs_to {
                Some(other) => format!("move it under `{other}:`"),
                None => format!("check the id; `{kind}` lists {name} ids"),
            };
            (message, hint)
        }
    }
}

/// Why an entry name is not allowed, or `None` when it is fine. Names become part of
/// idempotency keys, plans and file names, so they are kept to a safe alphabet.
pub fn name_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Some("is empty".into());
    };
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return Some("must start with a lowercase letter or a digit".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return Some(format!(
            "contains `{}`; only lowercase letters, digits, `.`, `_` and `-` are allowed",
            bad.escape_debug()
        ));
    }
    let len = name.chars().count();
    if len > NAME_MAX {
        return Some(format!("is {len} characters long (at most {NAME_MAX})"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_good_ids() {
        assert_eq!(check_id(ObjectKind::Customers, "cus_Q2x7a9"), Ok(()));
        assert_eq!(check_id(ObjectKind::Charges, "py_old"), Ok(()));
        assert_eq!(check_id(ObjectKind::IssuingCards, "ic_1"), Ok(()));
    }

    #[test]
    fn finds_the_kind_a_wrong_id_belongs_to() {
        assert_eq!(
            check_id(ObjectKind::Customers, "pi_123"),
            Err(IdProblem::WrongPrefix {
                belongs_to: Some(ObjectKind::PaymentIntents)
            })
        );
        assert_eq!(
            owner_of_prefix("ich_1"),
            Some(ObjectKind::IssuingCardholders)
        );
        assert_eq!(owner_of_prefix("ic_1"), Some(ObjectKind::IssuingCards));
        assert_eq!(owner_of_prefix("zz_1"), None);
        let (msg, hint) = describe(
            ObjectKind::Customers,
            "pi_123",
            &IdProblem::WrongPrefix {
                belongs_to: Some(ObjectKind::PaymentIntents),
            },
        );
        assert_eq!(
            msg,
            "id `pi_123` does not look like a Customer id (Customer ids start with `cus_`)"
        );
        assert_eq!(hint, "move it under `payment_intents:`");
    }

    #[test]
    fn refuses_blanks_breaks_controls_and_garbage() {
        let k = ObjectKind::Customers;
        assert_eq!(check_id(k, ""), Err(IdProblem::Empty));
        assert_eq!(check_id(k, "cus_1 cus_2"), Err(IdProblem::Whitespace(5)));
        assert_eq!(check_id(k, "cus_1\n"), Err(IdProblem::Newline(5)));
        assert_eq!(check_id(k, "cus_\u{7}"), Err(IdProblem::Control(4)));
        let long = format!("cus_{}", "a".repeat(300));
        assert_eq!(check_id(k, &long), Err(IdProblem::TooLong(304)));
    }

    #[test]
    fn names_follow_the_pattern() {
        assert_eq!(name_problem("dsr-2026-0142"), None);
        assert_eq!(name_problem("a.b_c-9"), None);
        assert!(name_problem("").is_some());
        assert!(name_problem("-a").is_some());
        assert!(name_problem("DSR-1").is_some());
        assert!(name_problem("a b").is_some());
        assert!(name_problem(&"a".repeat(64)).is_none());
        assert!(name_problem(&"a".repeat(65)).is_some());
    }
}
