//! The subset of Stripe's search query language that `GET /v1/customers/search` needs:
//! `email`, `name` and `metadata['key']` clauses with `:` (exact, case-insensitive for
//! `email` and `name`) or `~` (substring, at least 3 characters), joined by `AND` or `OR`
//! (not both in one query, as on Stripe). Values are single- or double-quoted; a backslash
//! escapes a quote or a backslash. Anything else is Stripe's 400 for the `query` parameter.
//! Pure: parsing and matching only.

/// Stripe's message for a query it cannot parse. It never echoes the query: a query
/// carries the person's contact details.
pub const UNPARSABLE: &str = "We were unable to parse your search query. Try using the format `metadata[\"key\"]:\"value\"` to query for metadata or `key:\"value\"` to query for other fields.";

/// Why a query is refused (a 400 on `query`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Not the grammar at all.
    #[error("{UNPARSABLE}")]
    Unparsable,
    /// A field customers cannot be searched by (or the emulator does not model).
    #[error("Field `{0}` is an unsupported search field for resource `customers`. See https://stripe.com/docs/search#query-fields-for-customers for a list of supported fields.")]
    UnsupportedField(String),
    /// `AND` and `OR` in one query.
    #[error("Search queries cannot contain both AND and OR.")]
    MixedConnectives,
    /// A `~` value shorter than three characters.
    #[error("Substring matching (`~`) requires a value of at least 3 characters.")]
    ShortSubstring,
    /// More clauses than Stripe accepts.
    #[error("Search queries can contain at most 10 clauses.")]
    TooManyClauses,
}

/// What a clause looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// `email`.
    Email,
    /// `name`.
    Name,
    /// `metadata['key']`.
    Metadata(String),
}

/// `:` or `~`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Exact match.
    Exact,
    /// Substring match.
    Contains,
}

/// One `field:value` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// The field.
    pub field: Field,
    /// The operator.
    pub op: Op,
    /// The unquoted value.
    pub value: String,
}

/// A parsed query: clauses joined all by `AND` (`any == false`) or all by `OR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The clauses.
    pub clauses: Vec<Clause>,
    /// `OR` rather than `AND`.
    pub any: bool,
}

/// What a searched object offers to a query.
pub trait Searchable {
    /// Its e-mail address.
    fn email(&self) -> Option<&str>;
    /// Its name.
    fn name(&self) -> Option<&str>;
    /// One metadata value.
    fn metadata(&self, key: &str) -> Option<&str>;
}

impl Query {
    /// Whether `obj` matches.
    pub fn matches(&self, obj: &impl Searchable) -> bool {
        let hit = |c: &Clause| {
            let (have, fold) = match &c.field {
                Field::Email => (obj.email(), true),
                Field::Name => (obj.name(), true),
                Field::Metadata(k) => (obj.metadata(k), false),
            };
            let Some(have) = have else { return false };
            let (have, want) = if fold {
                (have.to_lowercase(), c.value.to_lowercase())
            } else {
                (have.to_string(), c.value.clone())
            };
            match c.op {
                Op::Exact => have == want,
                Op::Contains => have.contains(&want),
            }
        };
        if self.any {
            self.clauses.iter().any(hit)
        } else {
            self.clauses.iter().all(hit)
        }
    }
}

/// Parses a customer search query.
pub fn parse(query: &str) -> Result<Query, QueryError> {
    let mut p = Parser {
        chars: query.chars().collect(),
        pos: 0,
    };
    let mut clauses = vec![p.clause()?];
    let mut connective: Option<bool> = None;
    loop {
        p.skip_ws();
        if p.at_end() {
            break;
        }
        let any = match p.word().as_str() {
            "AND" => false,
            "OR" => true,
            _ => return Err(QueryError::Unparsable),
        };
        if connective.is_some_and(|c| c != any) {
            return Err(QueryError::MixedConnectives);
        }
        connective = Some(any);
        clauses.push(p.clause()?);
        if clauses.len() > 10 {
            return Err(QueryError::TooManyClauses);
        }
    }
    Ok(Query {
        clauses,
        any: connective.unwrap_or(false),
    })
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// A run of letters, digits and underscores.
    fn word(&mut self) -> String {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn clause(&mut self) -> Result<Clause, QueryError> {
        self.skip_ws();
        let name = self.word();
        let field = match name.as_str() {
            "" => return Err(QueryError::Unparsable),
            "email" => Field::Email,
            "name" => Field::Name,
            "metadata" => {
                if self.peek() != Some('[') {
                    return Err(QueryError::Unparsable);
                }
                self.pos += 1;
                let key = self.quoted()?;
                if self.peek() != Some(']') {
                    return Err(QueryError::Unparsable);
                }
                self.pos += 1;
                Field::Metadata(key)
            }
            other => return Err(QueryError::UnsupportedField(other.to_string())),
        };
        let op = match self.peek() {
            Some(':') => Op::Exact,
            Some('~') => Op::Contains,
            _ => return Err(QueryError::Unparsable),
        };
        self.pos += 1;
        let value = self.quoted()?;
        if op == Op::Contains && value.chars().count() < 3 {
            return Err(QueryError::ShortSubstring);
        }
        Ok(Clause { field, op, value })
    }

    /// A `'…'` or `"…"` string; `\` escapes the next character.
    fn quoted(&mut self) -> Result<String, QueryError> {
        let quote = match self.peek() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(QueryError::Unparsable),
        };
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(QueryError::Unparsable),
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c) => out.push(c),
                        None => return Err(QueryError::Unparsable),
                    }
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct C(
        &'static str,
        &'static str,
        Vec<(&'static str, &'static str)>,
    );
    impl Searchable for C {
        fn email(&self) -> Option<&str> {
            Some(self.0)
        }
        fn name(&self) -> Option<&str> {
            Some(self.1)
        }
        fn metadata(&self, key: &str) -> Option<&str> {
            self.2.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
        }
    }

    #[test]
    fn email_is_exact_and_case_insensitive() {
        let c = C("Jane.Doe@Example.com", "Jane Doe", vec![]);
        assert!(parse("email:'jane.doe@example.com'").unwrap().matches(&c));
        assert!(!parse("email:'jane@example.com'").unwrap().matches(&c));
        assert!(parse("email~\"doe@ex\"").unwrap().matches(&c));
    }

    #[test]
    fn escapes_connectives_and_metadata() {
        let c = C("o'brien@example.com", "Pat O'Brien", vec![("ref", "A1")]);
        assert!(parse(r"email:'o\'brien@example.com'").unwrap().matches(&c));
        assert!(parse("name:'pat o''")
            .map(|q| q.matches(&c))
            .is_err_and(|e| e == QueryError::Unparsable));
        let q = parse("metadata['ref']:'A1' AND name:\"Pat O'Brien\"").unwrap();
        assert!(q.matches(&c) && !q.any);
        assert!(parse("metadata['ref']:'a1' OR email:'x@y.z'")
            .map(|q| !q.matches(&c) && q.any)
            .unwrap());
    }

    #[test]
    fn refuses_what_stripe_refuses() {
        assert_eq!(
            parse("email:'a@b.c' AND name:'x' OR name:'y'"),
            Err(QueryError::MixedConnectives)
        );
        assert_eq!(
            parse("phone:'+1555'"),
            Err(QueryError::UnsupportedField("phone".into()))
        );
        assert_eq!(parse("email~'ab'"), Err(QueryError::ShortSubstring));
        for bad in [
            "",
            "email",
            "email:jane",
            "email:'x' AND",
            "email:'x' NOT y",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(!QueryError::Unparsable.to_string().contains("jane"));
    }
}
