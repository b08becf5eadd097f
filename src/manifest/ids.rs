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
    /// A character Stripe never writes in an id: ids are ASCII letters, digits and `_`.
    /// Invisible ones (U+202E, U+200B, U+FEFF…) are named by code point, so a reviewer can
    /// see what the diff hides.
    NotIdChar {
        index: usize,
        ch: char,
    },
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
        if c == ' ' || c == '\t' {
            return Err(IdProblem::Whitespace(i));
        }
        if c.is_ascii_control() {
            return Err(IdProblem::Control(i));
        }
        if !(c.is_ascii_alphanumeric() || c == '_') {
            return Err(IdProblem::NotIdChar { index: i, ch: c });
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

/// The Unicode name of a character that shows as nothing (or nearly nothing) in an editor
/// or a diff; `None` for a character that can be seen.
pub fn invisible_name(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{00A0}' => "NO-BREAK SPACE",
        '\u{00AD}' => "SOFT HYPHEN",
        '\u{034F}' => "COMBINING GRAPHEME JOINER",
        '\u{061C}' => "ARABIC LETTER MARK",
        '\u{115F}' => "HANGUL CHOSEONG FILLER",
        '\u{1160}' => "HANGUL JUNGSEONG FILLER",
        '\u{180E}' => "MONGOLIAN VOWEL SEPARATOR",
        '\u{2000}'..='\u{200A}' => "SPACE",
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{200C}' => "ZERO WIDTH NON-JOINER",
        '\u{200D}' => "ZERO WIDTH JOINER",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{2028}' => "LINE SEPARATOR",
        '\u{2029}' => "PARAGRAPH SEPARATOR",
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{202F}' => "NARROW NO-BREAK SPACE",
        '\u{205F}' => "MEDIUM MATHEMATICAL SPACE",
        '\u{2060}' => "WORD JOINER",
        '\u{2061}'..='\u{2064}' => "INVISIBLE OPERATOR",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        '\u{3000}' => "IDEOGRAPHIC SPACE",
        '\u{3164}' => "HANGUL FILLER",
        '\u{FE00}'..='\u{FE0F}' => "VARIATION SELECTOR",
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE",
        '\u{FFA0}' => "HALFWIDTH HANGUL FILLER",
        '\u{E0000}'..='\u{E007F}' => "TAG CHARACTER",
        _ => return None,
    })
}

/// `U+202E RIGHT-TO-LEFT OVERRIDE (invisible)` or `` `é` (U+00E9) ``.
fn name_char(c: char) -> String {
    let code = format!("U+{:04X}", c as u32);
    match invisible_name(c) {
        Some(name) => format!("{code} {name} (invisible)"),
        None if c.is_control() || c.is_whitespace() => format!("{code} (invisible)"),
        None => format!("`{c}` ({code})"),
    }
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
        IdProblem::NotIdChar { index, ch } => (
            format!(
                "id `{shown}` contains {} at character {}",
                name_char(*ch),
                index + 1
            ),
            "Stripe ids hold only ASCII letters, digits and `_`; retype the id rather than pasting it"
                .into(),
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
    fn ids_are_ascii_letters_digits_and_underscores_and_invisibles_are_named() {
        let k = ObjectKind::Customers;
        assert_eq!(check_id(k, "cus_AbC_123"), Ok(()));
        assert_eq!(
            check_id(ObjectKind::CheckoutSessions, "cs_test_a1B2"),
            Ok(())
        );
        for (id, index, ch) in [
            ("cus_1\u{202E}2", 5, '\u{202E}'),
            ("cus_\u{200B}1", 4, '\u{200B}'),
            ("\u{FEFF}cus_1", 0, '\u{FEFF}'),
            ("cus_1\u{00A0}", 5, '\u{00A0}'),
            ("cus_é", 4, 'é'),
            ("cus_1-2", 5, '-'),
        ] {
            assert_eq!(
                check_id(k, id),
                Err(IdProblem::NotIdChar { index, ch }),
                "{id:?}"
            );
        }
        let (msg, hint) = describe(
            k,
            "cus_1\u{202E}2",
            &IdProblem::NotIdChar {
                index: 5,
                ch: '\u{202E}',
            },
        );
        assert_eq!(
            msg,
            "id `cus_1\\u{202e}2` contains U+202E RIGHT-TO-LEFT OVERRIDE (invisible) at character 6"
        );
        assert!(hint.contains("ASCII letters, digits and `_`"));
        let (msg, _) = describe(k, "cus_é", &IdProblem::NotIdChar { index: 4, ch: 'é' });
        assert_eq!(msg, "id `cus_é` contains `é` (U+00E9) at character 5");
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
