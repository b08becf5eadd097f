//! A small YAML tree that remembers where every node was written.
//!
//! serde_yaml gives no per-node locations, and every manifest error must point at a line and
//! column, so the loader reads yaml-rust2's event stream and builds this tree itself.
//! Aliases are never expanded (so an alias bomb costs nothing): each is kept as an
//! [`NodeKind::Alias`] placeholder and reported by the converter. Nesting is bounded, so a
//! hostile document cannot exhaust the stack either.

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deeper nesting than any manifest needs (a manifest is 4 levels deep); bounds the work
/// and the stack depth of dropping the tree.
pub const MAX_DEPTH: usize = 32;

/// A position in the source: 1-based line and column (in characters), and the character
/// index from the start of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mark {
    pub line: usize,
    pub column: usize,
    pub index: usize,
}

impl Mark {
    fn from_marker(m: &Marker) -> Self {
        Mark {
            line: m.line(),
            column: m.col() + 1,
            index: m.index(),
        }
    }
}

/// How a scalar was written; quoting changes what a value means (`"1"` is a string).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|` or `>` block scalars.
    Block,
}

/// A node's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    Scalar {
        value: String,
        style: ScalarStyle,
    },
    Seq(Vec<Node>),
    /// Keys and values in document order (duplicates kept, so they can be reported).
    Map(Vec<(Node, Node)>),
    /// `*name`, not expanded.
    Alias,
}

/// A node and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    pub mark: Mark,
}

impl Node {
    /// Whether the node is YAML's null (`~`, `null`, or nothing at all).
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { value, style: ScalarStyle::Plain }
            if matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The scalar's text, if the node is a scalar.
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// What kind of thing the node is, for "expected …, found …" messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            _ if self.is_null() => "nothing (null)",
            NodeKind::Scalar { .. } => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
            NodeKind::Alias => "an alias",
        }
    }
}

/// A YAML syntax error, with the parser's message and where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    pub mark: Mark,
    pub hint: Option<String>,
}

/// Every document of a file, in order (`---` separates documents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Documents {
    pub docs: Vec<Node>,
}

enum Frame {
    Seq(Mark, Vec<Node>),
    Map(Mark, Vec<(Node, Node)>, Option<Node>),
}

/// Parses `src` into documents, stopping at the first syntax error (YAML cannot be
/// resynchronised reliably after one).
#[cfg(test)]
pub fn parse(src: &str) -> Result<Documents, SyntaxError> {
    parse_streaming(src, "", |_| {})
}

/// Like `parse`, but every item of the top-level list under the key `stream_key` (the
/// manifest's `redactions`) is handed to `on_item` as soon as it is complete, instead of
/// being kept in the tree (that list is left empty). A 100,000-entry manifest then never
/// holds more than one entry's tree at a time.
pub fn parse_streaming(
    src: &str,
    stream_key: &str,
    mut on_item: impl FnMut(Node),
) -> Result<Documents, SyntaxError> {
    let mut parser = Parser::new_from_str(src);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    loop {
        let (event, marker) = parser
            .next_token()
            .map_err(|e| syntax_error(src, e.info(), e.marker()))?;
        let mark = Mark::from_marker(&marker);
        let node = match event {
            Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {
                continue
            }
            Event::Scalar(value, style, _, _) => Node {
                kind: NodeKind::Scalar {
                    value,
                    style: match style {
                        TScalarStyle::Plain => ScalarStyle::Plain,
                        TScalarStyle::SingleQuoted => ScalarStyle::SingleQuoted,
                        TScalarStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
                        TScalarStyle::Literal | TScalarStyle::Folded => ScalarStyle::Block,
                    },
                },
                mark,
            },
            Event::Alias(_) => Node {
                kind: NodeKind::Alias,
                mark,
            },
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(SyntaxError {
                        message: format!("nesting deeper than {MAX_DEPTH} levels"),
                        mark,
                        hint: Some("a manifest is at most 4 levels deep".into()),
                    });
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq(mark, Vec::new())
                } else {
                    Frame::Map(mark, Vec::new(), None)
                });
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(mark, items)) => Node {
                    kind: NodeKind::Seq(items),
                    mark,
                },
                _ => return Err(unbalanced(mark)),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(start, entries, _)) => Node {
                    // A block mapping's start event is marked after its first key (a flow
                    // mapping's at its `{`): the mapping begins at whichever comes first.
                    mark: entries
                        .first()
                        .map(|(k, _)| k.mark)
                        .filter(|k| k.index < start.index)
                        .unwrap_or(start),
                    kind: NodeKind::Map(entries),
                },
                _ => return Err(unbalanced(mark)),
            },
        };
        if let [Frame::Map(_, _, Some(key)), Frame::Seq(..)] = stack.as_slice() {
            if !stream_key.is_empty() && key.as_scalar() == Some(stream_key) {
                on_item(node);
                continue;
            }
        }
        match stack.last_mut() {
            None => docs.push(node),
            Some(Frame::Seq(_, items)) => items.push(node),
            Some(Frame::Map(_, entries, pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => entries.push((key, node)),
            },
        }
    }
    Ok(Documents { docs })
}

fn unbalanced(mark: Mark) -> SyntaxError {
    SyntaxError {
        message: "unbalanced YAML structure".into(),
        mark,
        hint: None,
    }
}

/// Turns a scanner error into a message people understand, pointing at the real culprit:
/// yaml-rust2 marks tab errors where the scalar began, not at the tab.
fn syntax_error(src: &str, info: &str, marker: &Marker) -> SyntaxError {
    let mut mark = Mark::from_marker(marker);
    if info.contains("tab") {
        if let Some(tab) = first_tab_from_line(src, mark.line) {
            mark = tab;
        }
        return SyntaxError {
            message: format!("YAML syntax error: {info}"),
            mark,
            hint: Some("indent YAML with spaces; tabs are not allowed here".into()),
        };
    }
    if info.contains("quoted scalar") {
        return SyntaxError {
            message: format!("YAML syntax error: unclosed quote ({info})"),
            mark,
            hint: Some("close the string with the same quote it starts with".into()),
        };
    }
    SyntaxError {
        message: format!("YAML syntax error: {info}"),
        mark,
        hint: None,
    }
}

/// The first tab at or after the start of `line` (1-based).
fn first_tab_from_line(src: &str, line: usize) -> Option<Mark> {
    let mut cur_line = 1;
    let mut col = 1;
    for (index, c) in src.chars().enumerate() {
        if cur_line >= line && c == '\t' {
            return Some(Mark {
                line: cur_line,
                column: col,
                index,
            });
        }
        if c == '\n' {
            cur_line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(node: &Node) -> (&str, usize, usize) {
        (node.as_scalar().unwrap(), node.mark.line, node.mark.column)
    }

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let docs = parse(
            "version: 1\nredactions:\n  - name: a\n    objects: {customers: [cus_1, \"cus_2\"]}\n",
        )
        .unwrap();
        let NodeKind::Map(top) = &docs.docs[0].kind else {
            panic!()
        };
        assert_eq!(scalar(&top[0].0), ("version", 1, 1));
        assert_eq!(scalar(&top[0].1), ("1", 1, 10));
        let NodeKind::Seq(items) = &top[1].1.kind else {
            panic!()
        };
        let NodeKind::Map(entry) = &items[0].kind else {
            panic!()
        };
        assert_eq!(items[0].mark.line, 3);
        assert_eq!(items[0].mark.column, 5);
        assert_eq!(scalar(&entry[0].1), ("a", 3, 11));
        let NodeKind::Map(objects) = &entry[1].1.kind else {
            panic!()
        };
        let NodeKind::Seq(ids) = &objects[0].1.kind else {
            panic!()
        };
        assert_eq!(scalar(&ids[1]), ("cus_2", 4, 34));
        assert_eq!((objects_node_col(&entry[1].1)), 14);
    }

    fn objects_node_col(n: &Node) -> usize {
        n.mark.column
    }

    #[test]
    fn streams_top_level_list_items() {
        let mut seen = Vec::new();
        let docs = parse_streaming(
            "version: 1\nredactions:\n  - {name: a}\n  - name: b\nother: [x]\n",
            "redactions",
            |n| seen.push(n.mark.line),
        )
        .unwrap();
        assert_eq!(seen, vec![3, 4]);
        let NodeKind::Map(top) = &docs.docs[0].kind else {
            panic!()
        };
        assert_eq!(top[1].1.kind, NodeKind::Seq(vec![]));
        assert!(matches!(&top[2].1.kind, NodeKind::Seq(v) if v.len() == 1));
    }

    #[test]
    fn keeps_duplicate_keys_and_several_documents() {
        let docs = parse("a: 1\na: 2\n---\nb: 3\n").unwrap();
        assert_eq!(docs.docs.len(), 2);
        let NodeKind::Map(m) = &docs.docs[0].kind else {
            panic!()
        };
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn tab_errors_point_at_the_tab() {
        let err = parse("a: 1\n\tb: 2\n").unwrap_err();
        assert_eq!((err.mark.line, err.mark.column), (2, 1));
        assert!(err.hint.unwrap().contains("spaces"));
    }

    #[test]
    fn unclosed_quotes_are_named() {
        let err = parse("x:\n  c: 'abc\n  b: 1\n").unwrap_err();
        assert!(err.message.contains("unclosed quote"), "{}", err.message);
        assert_eq!((err.mark.line, err.mark.column), (2, 6));
    }

    #[test]
    fn aliases_are_not_expanded() {
        let docs = parse("a: &x [1, 2]\nb: *x\n").unwrap();
        let NodeKind::Map(m) = &docs.docs[0].kind else {
            panic!()
        };
        assert_eq!(m[1].1.kind, NodeKind::Alias);
    }

    #[test]
    fn deep_nesting_is_refused() {
        // Deeper than ours but within the scanner's own limit: our error.
        let src = "[".repeat(MAX_DEPTH + 5);
        let err = parse(&src).unwrap_err();
        assert!(err.message.contains("nesting"), "{}", err.message);
        // Far deeper: the scanner refuses first; either way an error, not a crash.
        assert!(parse(&"[".repeat(100_000)).is_err());
    }

    #[test]
    fn empty_input_has_no_documents() {
        assert!(parse("").unwrap().docs.is_empty());
        assert!(parse("# only a comment\n").unwrap().docs.is_empty());
    }
}
