//! The personal-data lint: manifests live in git, forever, so they must carry Stripe ids and
//! opaque ticket numbers, never the person the request is about. This flags strings in
//! `name` and `ticket` that look like an e-mail address or a phone number. It is a warning
//! (a heuristic can be wrong), pure, and cheap enough for 100,000 entries.

/// What a string looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalData {
    Email,
    Phone,
}

impl PersonalData {
    /// "an e-mail address" / "a phone number".
    pub fn describe(self) -> &'static str {
        match self {
            PersonalData::Email => "an e-mail address",
            PersonalData::Phone => "a phone number",
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
    None
}

fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

/// `local@domain.tld` anywhere in the text: a non-empty local part, a domain with at least
/// one dot and a top-level part of two letters or more.
fn looks_like_email(text: &str) -> bool {
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
            return true;
        }
    }
    false
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
}
