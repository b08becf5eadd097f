//! The personal-data lint: manifests live in git, forever, so they must carry Stripe ids and
//! opaque ticket numbers, never the person the request is about. This flags strings in
//! `name` and `ticket` that look like an e-mail address, a phone number or a person's name,
//! and — scanning each file's raw lines, since comments are not in the parsed tree —
//! comments that carry any of them and object ids that embed an e-mail address
//! (`cus_jane.doe@example.com`). It is a warning (a heuristic can be wrong), pure, and
//! cheap enough for 100,000 entries.

use std::path::Path;

use super::desired::Location;
use super::diagnostic::Diagnostic;

/// What a string looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalData {
    Email,
    Phone,
    /// Two capitalised words that are not common manifest vocabulary (`Jane Doe`).
    Name,
}

impl PersonalData {
    /// "an e-mail address" / "a phone number".
    pub fn describe(self) -> &'static str {
        match self {
            PersonalData::Email => "an e-mail address",
            PersonalData::Phone => "a phone number",
            PersonalData::Name => "a person's name",
        }
    }
}

/// The first kind of personal data `text` seems to contain.
pub fn find_personal_data(text: &str) -> Option<PersonalData> {
    if text.contains('@') && looks_like_email(text) {
        return Some(PersonalData::Email);
    }
    // Every phone shape below has at least 7 digits.
    if text.bytes().filter(u8::is_ascii_digit).count() >= 7 && looks_like_phone(text) {
        return Some(PersonalData::Phone);
    }
    if person_name_span(text).is_some() {
        return Some(PersonalData::Name);
    }
    None
}

fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

/// `local@domain.tld` anywhere in the text: a non-empty local part, a domain with at least
/// one dot and a top-level part of two letters or more.
fn looks_like_email(text: &str) -> bool {
    email_span(text).is_some()
}

/// The first e-mail address in `text`: (first char, char count).
fn email_span(text: &str) -> Option<(usize, usize)> {
    let chars: Vec<char> = text.chars().collect();
    for (at, _) in chars.iter().enumerate().filter(|(_, c)| **c == '@') {
        let local = at > 0 && is_local_char(chars[at - 1]);
        if !local {
            continue;
        }
        let domain: String = chars[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
            .collect();
        let domain = domain.trim_end_matches('.');
        let mut labels = domain.split('.');
        let first = labels.next().unwrap_or("");
        let rest: Vec<&str> = labels.collect();
        if !first.is_empty()
            && rest
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
            && rest.iter().all(|l| !l.is_empty())
        {
            let start = chars[..at]
                .iter()
                .rposition(|c| !is_local_char(*c))
                .map_or(0, |i| i + 1);
            return Some((start, at + 1 + domain.chars().count() - start));
        }
    }
    None
}

/// Phone-number shapes: `+` and 7–15 digits (separators allowed), `(415) 555-0100`,
/// three groups 3-3-4 (`415-555-0100`, `415.555.0100`), or a bare run of 10–15 digits.
/// Dates and ticket numbers such as `dsr-2026-0142` do not match.
fn looks_like_phone(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts = c == '+' || c == '(' || c.is_ascii_digit();
        let after_alnum = i > 0 && chars[i - 1].is_ascii_alphanumeric();
        if !starts || after_alnum {
            i += 1;
            continue;
        }
        // The run: digits and phone separators, from here.
        let mut j = i;
        while j < chars.len()
            && (chars[j].is_ascii_digit() || matches!(chars[j], ' ' | '-' | '.' | '(' | ')' | '+'))
        {
            j += 1;
        }
        let run: String = chars[i..j].iter().collect();
        let run = run.trim_end_matches([' ', '-', '.', '(', '+']);
        if run_is_phone(run) && !chars.get(j).is_some_and(|c| c.is_ascii_alphabetic()) {
            return true;
        }
        i = j.max(i + 1);
    }
    false
}

fn run_is_phone(run: &str) -> bool {
    let digits = run.chars().filter(|c| c.is_ascii_digit()).count();
    if run.starts_with('+') {
        return (7..=15).contains(&digits);
    }
    let groups: Vec<&str> = run
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    if run.starts_with('(') && run.contains(')') && (10..=15).contains(&digits) {
        return true;
    }
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    if lens.len() >= 3 && lens[lens.len() - 3..] == [3, 3, 4] {
        return true;
    }
    groups.len() == 1 && run.chars().all(|c| c.is_ascii_digit()) && (10..=15).contains(&digits)
}

/// Capitalised words common in manifests and their comments, never taken for a name.
#[rustfmt::skip]
const NOT_NAMES: &[&str] = &[
    "a", "account", "accounts", "all", "also", "an", "and", "api", "apply", "approved", "april",
    "august", "bad", "card", "cardholder", "cards", "charge", "charges", "checkout", "ci",
    "cleanup", "connect", "connected", "customer", "customers", "dashboard", "data", "december",
    "deletion", "directory", "do", "each", "entries", "entry", "every", "example", "february",
    "file", "files", "find", "first", "for", "found", "friday", "from", "github", "good",
    "guest", "here", "identity", "if", "in", "intent", "intents", "invoice", "invoices",
    "issuing", "it", "its", "january", "job", "jobs", "july", "june", "keep", "language",
    "last", "legal", "list", "live", "looked", "manifest", "manifests", "march", "may", "mode",
    "monday", "my", "name", "names", "new", "next", "not", "note", "november", "october", "of",
    "on", "once", "one", "only", "or", "other", "our", "payment", "per", "plan", "please",
    "privacy", "pull", "quickstart", "radar", "received", "redaction", "redactions", "request",
    "requests", "review", "reviewed", "route", "routes", "run", "same", "saturday", "schema",
    "search", "second", "see", "september", "server", "session", "sessions", "stripe",
    "subscription", "subscriptions", "sunday", "support", "team", "test", "that", "the", "then",
    "there", "these", "this", "thursday", "ticket", "tickets", "to", "tuesday", "two", "use",
    "validate", "value", "verification", "wednesday", "when", "with", "your",
];

/// `Jane`, `O'Brien`, `Smith-Jones`: a capital, then lowercase letters (2+ chars).
fn is_name_word(w: &str) -> bool {
    let mut chars = w.chars();
    chars.next().is_some_and(|c| c.is_uppercase())
        && w.chars().count() >= 2
        && chars.all(|c| c.is_lowercase() || matches!(c, '\'' | '-') || c.is_uppercase())
        && w.chars().skip(1).any(char::is_lowercase)
        && !NOT_NAMES.contains(&w.to_lowercase().as_str())
}

/// The first two adjacent name-like words (`Jane Doe`): (first char, char count).
fn person_name_span(text: &str) -> Option<(usize, usize)> {
    let chars: Vec<char> = text.chars().collect();
    // Words: (start, end) in chars, split on anything but letters, `'` and `-`.
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_alphabetic() {
            let start = i;
            while i < chars.len() && (chars[i].is_alphabetic() || matches!(chars[i], '\'' | '-')) {
                i += 1;
            }
            words.push((start, i));
        } else {
            i += 1;
        }
    }
    let word = |(a, b): (usize, usize)| chars[a..b].iter().collect::<String>();
    words.windows(2).find_map(|pair| {
        let (a, b) = (pair[0], pair[1]);
        let only_blank_between = chars[a.1..b.0].iter().all(|c| *c == ' ');
        (only_blank_between && b.0 > a.1 && is_name_word(&word(a)) && is_name_word(&word(b)))
            .then_some((a.0, b.1 - a.0))
    })
}

/// Splits a raw YAML line into its content and its comment (the `#` that starts a
/// comment: at the line's start or after a blank, outside quotes): (content, comment
/// start in chars).
fn comment_start(line: &str) -> Option<usize> {
    let (mut single, mut double) = (false, false);
    let mut prev = ' ';
    for (i, c) in line.chars().enumerate() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev.is_whitespace() => return Some(i),
            _ => {}
        }
        prev = c;
    }
    None
}

/// The raw-text half of the lint, for one file: personal data in comments, and object ids
/// that embed an e-mail address. Each finding is a warning at its line and column.
pub fn scan_source(path: &Path, text: &str) -> Vec<Diagnostic> {
    const HINT: &str = "manifests live in git: comments and ids carry Stripe ids and ticket numbers, never the person's details (`redactctl find` writes entries without them)";
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let at = |column: usize, width: usize, message: String| {
            Diagnostic::warning(message)
                .at(
                    Location {
                        file: path.to_path_buf(),
                        line: n + 1,
                        column: column + 1,
                    },
                    Some(line.to_string()),
                    width,
                )
                .with_hint(HINT)
        };
        let comment = comment_start(line);
        if let Some(c) = comment {
            let body: String = line.chars().skip(c).collect();
            let found = email_span(&body)
                .map(|s| (PersonalData::Email, s))
                .or_else(|| {
                    (body.bytes().filter(u8::is_ascii_digit).count() >= 7
                        && looks_like_phone(&body))
                    .then(|| (PersonalData::Phone, (0, body.chars().count())))
                })
                .or_else(|| person_name_span(&body).map(|s| (PersonalData::Name, s)));
            if let Some((what, (start, width))) = found {
                out.push(at(
                    c + start,
                    width,
                    format!("a comment looks like it contains {}", what.describe()),
                ));
            }
        }
        let content: String = line.chars().take(comment.unwrap_or(usize::MAX)).collect();
        // An id-like token (`cus_…`) holding an address; `name` and `ticket` values are
        // linted on the parsed tree.
        if let Some((start, width)) = email_span(&content) {
            let token_start = content
                .chars()
                .take(start)
                .collect::<Vec<_>>()
                .iter()
                .rposition(|c| c.is_whitespace() || matches!(c, '[' | ',' | '{' | '\'' | '"' | ':'))
                .map_or(0, |i| i + 1);
            let token: String = content.chars().skip(token_start).collect();
            let prefix = token.split('_').next().unwrap_or("");
            let id_like = token.contains('_')
                && !prefix.is_empty()
                && prefix.chars().all(|c| c.is_ascii_lowercase());
            if id_like {
                out.push(at(
                    token_start,
                    start + width - token_start,
                    "an object id looks like it embeds an e-mail address".to_string(),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_email_addresses() {
        for s in [
            "jane.doe@example.com",
            "dsr for bob+x@mail.example.org",
            "a@b.io",
        ] {
            assert_eq!(find_personal_data(s), Some(PersonalData::Email), "{s}");
        }
        for s in ["DSR-142", "@team", "a@b", "x@y.1"] {
            assert_eq!(find_personal_data(s), None, "{s}");
        }
    }

    #[test]
    fn finds_phone_numbers() {
        for s in [
            "+1 415 555 0100",
            "+44 20 7946 0958",
            "call-415-555-0100",
            "(415) 555-0100",
            "415.555.0100",
            "4155550100",
        ] {
            assert_eq!(find_personal_data(s), Some(PersonalData::Phone), "{s}");
        }
    }

    #[test]
    fn leaves_ticket_numbers_and_dates_alone() {
        for s in [
            "dsr-2026-0142",
            "DSR-142",
            "kyc-cleanup-7",
            "2026-01-15",
            "JIRA-12345",
            "req.2026.11.22",
            "cus_Q2x7a9b3c4d5e6",
        ] {
            assert_eq!(find_personal_data(s), None, "{s}");
        }
    }

    #[test]
    fn finds_person_names_but_not_manifest_words() {
        for s in ["DSR-142 Jane Doe", "for Pat O'Brien", "Anna-Lena Smith"] {
            assert_eq!(find_personal_data(s), Some(PersonalData::Name), "{s}");
        }
        for s in [
            "Customer Search",
            "The first pull request",
            "DSR-142",
            "Stripe Dashboard",
            "DSR JIRA",
            "Bad Name",
        ] {
            assert_eq!(find_personal_data(s), None, "{s}");
        }
    }

    #[test]
    fn scans_comments_and_ids_with_line_and_column() {
        let text = "version: 1 # owner@example.com\n# asked by Jane Doe\n# call +1 415 555 0100\nredactions:\n  - name: a # fine\n    objects:\n      customers: [cus_1, cus_jane.doe@example.com]\n    ticket: 'a # not a comment jane@example.com'\n";
        let d = scan_source(Path::new("m.yaml"), text);
        let got: Vec<(usize, usize, usize, &str)> = d
            .iter()
            .map(|d| {
                let l = d.location.as_ref().unwrap();
                (l.line, l.column, d.span_len, d.message.as_str())
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    1,
                    14,
                    17,
                    "a comment looks like it contains an e-mail address"
                ),
                (2, 12, 8, "a comment looks like it contains a person's name"),
                (3, 1, 22, "a comment looks like it contains a phone number"),
                (
                    7,
                    26,
                    24,
                    "an object id looks like it embeds an e-mail address"
                ),
            ]
        );
    }
}
