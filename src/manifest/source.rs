//! The loaded text of each manifest file, and turning a place in it into a diagnostic
//! (location, the line's text, the caret's width). Places are small `Copy` values while
//! loading; the line text is only looked up when a diagnostic is actually made, so a
//! 100,000-entry manifest with no problems pays nothing for it.

use std::path::PathBuf;

use super::desired::Location;
use super::diagnostic::{Diagnostic, Severity};
use super::yaml::{Mark, Node, NodeKind, ScalarStyle};

/// One manifest file's path and text.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    /// Byte offset of each line's start.
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        SourceFile {
            path,
            text,
            line_starts,
        }
    }

    /// `line`:`column` moved inside the text: yaml-rust2 marks the end of a file that has no
    /// final line break on the line after the last one, where no line can be shown. Such a
    /// place becomes the end of the last line (just past its last character).
    fn inside(&self, line: usize, column: usize) -> (usize, usize) {
        let last = self.line_starts.len();
        if line <= last {
            return (line.max(1), column.max(1));
        }
        let width = self.line(last).map(|l| l.chars().count()).unwrap_or(0);
        (last, width + 1)
    }

    /// The text of a 1-based line, without its line break.
    pub fn line(&self, line: usize) -> Option<&str> {
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        let text = self.text.get(start..end)?;
        Some(text.trim_end_matches(['\n', '\r']))
    }
}

/// A place in one of the loaded files: which file, where, and how wide the culprit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub file: usize,
    pub line: usize,
    pub column: usize,
    pub width: usize,
}

/// Every loaded file, indexed by `Place::file`.
#[derive(Debug, Default)]
pub struct Files {
    pub files: Vec<SourceFile>,
}

impl Files {
    /// The place of `node` in file `file`, with the width of what it spans on its line.
    pub fn place(&self, file: usize, node: &Node) -> Place {
        let place = self.place_as_marked(file, node);
        self.inside(place)
    }

    /// `place` moved inside its file (see `SourceFile::inside`).
    fn inside(&self, place: Place) -> Place {
        match self.files.get(place.file) {
            Some(f) => {
                let (line, column) = f.inside(place.line, place.column);
                Place {
                    line,
                    column,
                    ..place
                }
            }
            None => place,
        }
    }

    fn place_as_marked(&self, file: usize, node: &Node) -> Place {
        // Fast path for the common case (a plain one-line scalar: its text is its width),
        // so a large manifest does not re-read lines it has no problem with.
        if let NodeKind::Scalar {
            value,
            style: ScalarStyle::Plain,
        } = &node.kind
        {
            if !value.is_empty() && !value.contains('\n') {
                return Place {
                    file,
                    line: node.mark.line,
                    column: node.mark.column,
                    width: value.chars().count(),
                };
            }
        }
        let width = self
            .files
            .get(file)
            .and_then(|f| f.line(node.mark.line))
            .map(|line| node_width(line, node))
            .unwrap_or(1);
        Place {
            file,
            line: node.mark.line,
            column: node.mark.column,
            width,
        }
    }

    /// The place of a bare mark (one character wide).
    pub fn place_of_mark(&self, file: usize, mark: Mark) -> Place {
        self.inside(Place {
            file,
            line: mark.line,
            column: mark.column,
            width: 1,
        })
    }

    /// The `Location` of a place.
    pub fn location(&self, place: Place) -> Location {
        Location {
            file: self
                .files
                .get(place.file)
                .map(|f| f.path.clone())
                .unwrap_or_default(),
            line: place.line,
            column: place.column,
        }
    }

    fn line_of(&self, place: Place) -> Option<String> {
        self.files
            .get(place.file)
            .and_then(|f| f.line(place.line))
            .map(str::to_string)
    }

    /// A diagnostic pointing at `place`.
    pub fn diag(&self, severity: Severity, message: impl Into<String>, place: Place) -> Diagnostic {
        Diagnostic::new(severity, message).at(
            self.location(place),
            self.line_of(place),
            place.width,
        )
    }

    /// An error pointing at `place`.
    pub fn error(&self, message: impl Into<String>, place: Place) -> Diagnostic {
        self.diag(Severity::Error, message, place)
    }

    /// Adds `place` as a related place of `diag`, with a note.
    pub fn relate(&self, diag: Diagnostic, place: Place, note: impl Into<String>) -> Diagnostic {
        diag.with_related(self.location(place), note, self.line_of(place), place.width)
    }
}

/// How many characters `node` covers on `line` from its column (at least 1): a quoted
/// string up to its closing quote, a flow collection up to its closing bracket, a plain
/// scalar its own length, a block mapping its first key.
fn node_width(line: &str, node: &Node) -> usize {
    let rest: Vec<char> = line
        .chars()
        .skip(node.mark.column.saturating_sub(1))
        .collect();
    let rest_len = rest.iter().collect::<String>().trim_end().chars().count();
    let width = match (&node.kind, rest.first()) {
        (_, None) => 1,
        (
            NodeKind::Scalar {
                style: ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted,
                ..
            },
            Some(q @ ('"' | '\'')),
        ) => closing_quote(&rest, *q)
            .map(|end| end + 1)
            .unwrap_or(rest_len),
        (NodeKind::Scalar { value, style }, _) => match style {
            ScalarStyle::Plain if !value.contains('\n') => value.chars().count(),
            _ => rest_len,
        },
        (NodeKind::Seq(_) | NodeKind::Map(_), Some('[' | '{')) => closing_bracket(&rest)
            .map(|end| end + 1)
            .unwrap_or(rest_len),
        (NodeKind::Map(entries), _) => entries
            .first()
            .map(|(k, _)| node_width(line, k))
            .unwrap_or(1),
        (NodeKind::Seq(_), _) => 1,
        (NodeKind::Alias, _) => rest
            .iter()
            .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | ']' | '}'))
            .count(),
    };
    width.clamp(1, rest_len.max(1))
}

fn closing_quote(rest: &[char], quote: char) -> Option<usize> {
    let mut i = 1;
    while i < rest.len() {
        let c = rest[i];
        if quote == '"' && c == '\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if quote == '\'' && rest.get(i + 1) == Some(&'\'') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

fn closing_bracket(rest: &[char]) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, &c) in rest.iter().enumerate() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::yaml::parse;

    fn first_value_width(src: &str) -> usize {
        let files = Files {
            files: vec![SourceFile::new("m.yaml".into(), src.to_string())],
        };
        let docs = parse(src).unwrap();
        let NodeKind::Map(m) = &docs.docs[0].kind else {
            panic!()
        };
        files.place(0, &m[0].1).width
    }

    #[test]
    fn carets_cover_the_culprit() {
        assert_eq!(first_value_width("a: pi_123\n"), 6);
        assert_eq!(first_value_width("a: \"pi 123\"  # c\n"), 8);
        assert_eq!(first_value_width("a: 'it''s'\n"), 7);
        assert_eq!(first_value_width("a: [cus_1, \"x]\"]\n"), 13);
        assert_eq!(first_value_width("a: {b: 1}\n"), 6);
        assert_eq!(first_value_width("a:\n  b: 1\n"), 1);
    }

    #[test]
    fn a_place_past_the_end_is_the_end_of_the_last_line() {
        let files = Files {
            files: vec![SourceFile::new("m.yaml".into(), "a: 1\nversion:".into())],
        };
        let mark = |line, column| Mark {
            line,
            column,
            index: 0,
        };
        let at = files.place_of_mark(0, mark(3, 1));
        assert_eq!((at.line, at.column), (2, 9));
        let at = files.place_of_mark(0, mark(2, 3));
        assert_eq!((at.line, at.column), (2, 3));
        // The null value of `version:` at the very end, as yaml-rust2 marks it.
        let docs = parse("a: 1\nversion:").unwrap();
        let NodeKind::Map(m) = &docs.docs[0].kind else {
            panic!()
        };
        assert_eq!(m[1].1.mark.line, 3, "yaml-rust2 changed: revisit `inside`");
        let at = files.place(0, &m[1].1);
        assert_eq!((at.line, at.column), (2, 9));
    }

    #[test]
    fn lines_are_found_by_number() {
        let f = SourceFile::new("m.yaml".into(), "one\r\ntwo\nthree".into());
        assert_eq!(f.line(1), Some("one"));
        assert_eq!(f.line(2), Some("two"));
        assert_eq!(f.line(3), Some("three"));
        assert_eq!(f.line(4), None);
        assert_eq!(f.line(0), None);
    }
}
