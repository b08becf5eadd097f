//! The identifier a deletion request starts from (an e-mail address), held so that it
//! cannot end up in output by accident: no `Display`, a masked `Debug`, and a
//! [`Identifier::scrub`] that removes it from any text that might carry it (Stripe's error
//! messages, network errors with a URL). Also the pure helpers around it: the search query
//! with Stripe's escaping, and the variants the exact routes would miss.

/// A person's e-mail address, as typed. Never printed, logged or written.
#[derive(Clone, PartialEq, Eq)]
pub struct Identifier(String);

impl std::fmt::Debug for Identifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identifier([hidden])")
    }
}

/// Why the text read is not an identifier. The messages never repeat the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("no identifier was given (the input is empty)")]
    Empty,
    #[error("the identifier does not look like an e-mail address (one `@`, a domain with a dot, no spaces)")]
    NotAnEmail,
    #[error("the input holds more than one line; give one e-mail address")]
    SeveralLines,
}

/// What the exact routes would miss, worth a reviewer's look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Variant {
    /// The identifier has capital letters: exact routes match only this spelling.
    HasCapitals,
    /// The identifier has a `+tag`: the person may also be stored without it.
    HasPlusTag,
}

impl Identifier {
    /// Parses the input (one line, surrounding blanks trimmed).
    pub fn parse(input: &str) -> Result<Identifier, IdentifierError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(IdentifierError::Empty);
        }
        if trimmed.lines().count() > 1 {
            return Err(IdentifierError::SeveralLines);
        }
        let ok = match trimmed.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !trimmed.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if ok {
            Ok(Identifier(trimmed.to_string()))
        } else {
            Err(IdentifierError::NotAnEmail)
        }
    }

    /// The address, for the requests that need it. Callers must not print it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `email:'…'` with Stripe's escaping (a backslash before `'` and `\`).
    pub fn search_query(&self) -> String {
        format!("email:'{}'", escape(&self.0))
    }

    /// Variants of this address that the exact routes would not find.
    pub fn variants(&self) -> Vec<Variant> {
        let mut out = Vec::new();
        if self.0.chars().any(|c| c.is_uppercase()) {
            out.push(Variant::HasCapitals);
        }
        let local = self.0.split('@').next().unwrap_or("");
        if local.contains('+') {
            out.push(Variant::HasPlusTag);
        }
        out
    }

    /// Whether `other` is this address in another letter case (and not the same text).
    pub fn differs_only_in_case(&self, other: &str) -> bool {
        other != self.0 && other.to_lowercase() == self.0.to_lowercase()
    }

    /// `text` with every form of the address replaced by `[identifier]`: as typed, in any
    /// letter case, percent-encoded (in a URL), and escaped for a search query.
    pub fn scrub(&self, text: &str) -> String {
        let encoded =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let forms = [
            self.0.clone(),
            escape(&self.0),
            encoded(&self.0),
            encoded(&escape(&self.0)),
        ];
        let mut out = text.to_string();
        for form in forms.iter().filter(|f| !f.is_empty()) {
            out = replace_caseless(&out, form, "[identifier]");
        }
        out
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Replaces every ASCII-case-insensitive occurrence of `needle`.
fn replace_caseless(hay: &str, needle: &str, with: &str) -> String {
    let lower_hay = hay.to_ascii_lowercase();
    let lower_needle = needle.to_ascii_lowercase();
    let mut out = String::with_capacity(hay.len());
    let mut i = 0;
    while let Some(pos) = lower_hay[i..].find(&lower_needle) {
        out.push_str(&hay[i..i + pos]);
        out.push_str(with);
        i += pos + lower_needle.len();
    }
    out.push_str(&hay[i..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_one_address_and_never_shows_it() {
        let id = Identifier::parse("  Jane.Doe+shop@Example.com\n").unwrap();
        assert_eq!(id.expose(), "Jane.Doe+shop@Example.com");
        assert!(!format!("{id:?}").contains("Jane"));
        assert_eq!(id.variants(), [Variant::HasCapitals, Variant::HasPlusTag]);
        assert_eq!(Identifier::parse(""), Err(IdentifierError::Empty));
        for bad in [
            "jane",
            "jane@example",
            "a b@example.com",
            "@example.com",
            "a@b@c.com",
        ] {
            let e = Identifier::parse(bad).unwrap_err();
            assert!(!e.to_string().contains(bad), "{bad}");
        }
        assert_eq!(
            Identifier::parse("a@b.co\nc@d.co"),
            Err(IdentifierError::SeveralLines)
        );
    }

    #[test]
    fn search_query_escapes_quotes_and_backslashes() {
        let id = Identifier::parse(r"o'bri\en@example.com").unwrap();
        assert_eq!(id.search_query(), r"email:'o\'bri\\en@example.com'");
        let plain = Identifier::parse("jane@example.com").unwrap();
        assert_eq!(plain.search_query(), "email:'jane@example.com'");
        assert!(plain.variants().is_empty());
        assert!(plain.differs_only_in_case("Jane@example.com"));
        assert!(!plain.differs_only_in_case("jane@example.com"));
    }

    #[test]
    fn scrub_removes_every_form() {
        let id = Identifier::parse("o'neil+x@example.com").unwrap();
        let text = "GET /v1/customers?email=o%27neil%2Bx%40example.com failed; query email:'o\\'neil+x@example.com'; O'NEIL+X@EXAMPLE.COM";
        let s = id.scrub(text);
        assert!(!s.to_lowercase().contains("neil"), "{s}");
        assert_eq!(s.matches("[identifier]").count(), 3, "{s}");
    }
}
