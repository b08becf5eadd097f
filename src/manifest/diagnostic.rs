//! Diagnostics: what `validate`, `plan` and `apply` show when a manifest is wrong. One
//! type for errors and warnings, rendered like rustc (`file:line:col`, the offending line,
//! a caret under the culprit, a one-line hint) so people find the problem without
//! searching. Rendering is pure: the source line is captured when the diagnostic is made.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use super::desired::Location;

/// How bad a diagnostic is: any error makes loading fail (exit 1); warnings alone do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The manifests cannot be used as they are.
    Error,
    /// Worth a look (personal data, a skipped file), but nothing stops.
    Warning,
}

impl Severity {
    /// The word shown before the message.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found in the manifests, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// Where the culprit is written; `None` for problems with no place (a missing path,
    /// no `account` anywhere).
    pub location: Option<Location>,
    /// The text of `location`'s line, shown under the header.
    pub source_line: Option<String>,
    /// A one-line suggestion, shown as `= hint: …`.
    pub hint: Option<String>,
    /// Other places involved (the first definition of a duplicate), each with a note.
    pub related: Vec<(Location, String)>,
    /// How many characters the caret covers at `location` (at least 1).
    pub span_len: usize,
    /// For each `related` entry, in the same order: its source line and caret width, so
    /// both places of a duplicate are shown, not only named.
    pub related_source: Vec<(Option<String>, usize)>,
}

impl Diagnostic {
    /// A diagnostic with a message only; add a place and a hint with the builders.
    pub fn new(severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            message: message.into(),
            location: None,
            source_line: None,
            hint: None,
            related: Vec::new(),
            span_len: 1,
            related_source: Vec::new(),
        }
    }

    /// An error with a message only.
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(Severity::Error, message)
    }

    /// A warning with a message only.
    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, message)
    }

    /// Points the diagnostic at `location`, showing `source_line` with a caret of
    /// `span_len` characters.
    pub fn at(mut self, location: Location, source_line: Option<String>, span_len: usize) -> Self {
        self.location = Some(location);
        self.source_line = source_line;
        self.span_len = span_len.max(1);
        self
    }

    /// Adds the one-line hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds another place involved, with its note.
    pub fn with_related(
        mut self,
        location: Location,
        note: impl Into<String>,
        source_line: Option<String>,
        span_len: usize,
    ) -> Self {
        self.related.push((location, note.into()));
        self.related_source.push((source_line, span_len.max(1)));
        self
    }

    /// Whether this diagnostic makes loading fail.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic like rustc: header, `--> file:line:col`, the line with a caret,
    /// each related place the same way, then the hint. Ends with a newline.
    pub fn render(&self, color: bool) -> String {
        let p = Palette::new(color, self.severity);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}{}{}: {}{}{}",
            p.level.render(),
            self.severity.as_str(),
            p.level.render_reset(),
            p.bold.render(),
            self.message,
            p.bold.render_reset()
        );
        // Width of the line-number gutter: the widest line number shown.
        let gutter = std::iter::once(self.location.as_ref())
            .chain(self.related.iter().map(|(l, _)| Some(l)))
            .flatten()
            .map(|l| l.line.to_string().len())
            .max()
            .unwrap_or(1);
        if let Some(loc) = &self.location {
            snippet(
                &mut out,
                &p,
                p.level,
                gutter,
                "-->",
                loc,
                self.source_line.as_deref(),
                self.span_len,
                None,
            );
        }
        for (i, (loc, note)) in self.related.iter().enumerate() {
            let (line, width) = self
                .related_source
                .get(i)
                .map(|(l, w)| (l.as_deref(), *w))
                .unwrap_or((None, 1));
            snippet(
                &mut out,
                &p,
                p.note,
                gutter,
                ":::",
                loc,
                line,
                width,
                Some(note),
            );
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(
                out,
                "{}{} ={} {}hint{}: {}",
                p.gutter.render(),
                " ".repeat(gutter),
                p.gutter.render_reset(),
                p.bold.render(),
                p.bold.render_reset(),
                hint
            );
        }
        out
    }
}

/// The styles used by `render`; all plain when colour is off.
struct Palette {
    level: Style,
    note: Style,
    bold: Style,
    gutter: Style,
}

impl Palette {
    fn new(color: bool, severity: Severity) -> Self {
        if !color {
            let plain = Style::new();
            return Palette {
                level: plain,
                note: plain,
                bold: plain,
                gutter: plain,
            };
        }
        let level_color = match severity {
            Severity::Error => AnsiColor::Red,
            Severity::Warning => AnsiColor::Yellow,
        };
        Palette {
            level: Style::new().bold().fg_color(Some(level_color.into())),
            note: Style::new().bold().fg_color(Some(AnsiColor::Cyan.into())),
            bold: Style::new().bold(),
            gutter: Style::new().bold().fg_color(Some(AnsiColor::Blue.into())),
        }
    }
}

/// Writes `--> file:line:col`, the source line and a caret line (with `note` after the
/// caret, for related places).
#[allow(clippy::too_many_arguments)]
fn snippet(
    out: &mut String,
    p: &Palette,
    caret_style: Style,
    gutter: usize,
    arrow: &str,
    loc: &Location,
    source_line: Option<&str>,
    span_len: usize,
    note: Option<&str>,
) {
    let pad = " ".repeat(gutter);
    let _ = writeln!(
        out,
        "{}{pad}{arrow}{} {loc}",
        p.gutter.render(),
        p.gutter.render_reset()
    );
    let Some(text) = source_line else {
        if let Some(note) = note {
            let _ = writeln!(
                out,
                "{}{pad} ={} note: {note}",
                p.gutter.render(),
                p.gutter.render_reset()
            );
        }
        return;
    };
    let (shown, caret_col, caret_width) = expand_tabs(text, loc.column, span_len);
    let _ = writeln!(
        out,
        "{}{pad} |{}",
        p.gutter.render(),
        p.gutter.render_reset()
    );
    let _ = writeln!(
        out,
        "{}{:>gutter$} |{} {}",
        p.gutter.render(),
        loc.line,
        p.gutter.render_reset(),
        shown
    );
    let note = note.map(|n| format!(" {n}")).unwrap_or_default();
    let _ = writeln!(
        out,
        "{}{pad} |{} {}{}{}{}{}",
        p.gutter.render(),
        p.gutter.render_reset(),
        " ".repeat(caret_col),
        caret_style.render(),
        "^".repeat(caret_width),
        note,
        caret_style.render_reset()
    );
}

/// Replaces tabs by four spaces (so the caret lines up whatever the terminal's tab stops)
/// and strips control characters; returns the shown text, and the caret's 0-based column
/// and width in the shown text. `column` is 1-based, in characters.
fn expand_tabs(text: &str, column: usize, span_len: usize) -> (String, usize, usize) {
    let start = column.saturating_sub(1);
    let end = start + span_len.max(1);
    let mut shown = String::with_capacity(text.len());
    let mut caret_col = None;
    let mut caret_end = None;
    let mut width = 0usize;
    for (i, c) in text.chars().enumerate() {
        if i == start {
            caret_col = Some(width);
        }
        if i == end {
            caret_end = Some(width);
        }
        match c {
            '\t' => {
                shown.push_str("    ");
                width += 4;
            }
            c if c.is_control() => {
                shown.push('\u{FFFD}');
                width += 1;
            }
            c => {
                shown.push(c);
                width += 1;
            }
        }
    }
    let caret_col = caret_col.unwrap_or(width);
    let caret_end = caret_end.unwrap_or(width.max(caret_col + 1));
    let caret_width = caret_end.saturating_sub(caret_col).max(1);
    (shown.trim_end().to_string(), caret_col, caret_width)
}

/// Renders every diagnostic (errors first as they were found, then warnings, each in
/// source order) and a closing count line, e.g. `error: 2 errors and 1 warning in the
/// manifests`. Empty when there is nothing to say.
pub fn render_diagnostics(diags: &[Diagnostic], color: bool) -> String {
    if diags.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for d in diags {
        out.push_str(&d.render(color));
        out.push('\n');
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let severity = if errors > 0 {
        Severity::Error
    } else {
        Severity::Warning
    };
    let p = Palette::new(color, severity);
    let _ = writeln!(
        out,
        "{}{}{}: {}{}{}",
        p.level.render(),
        severity.as_str(),
        p.level.render_reset(),
        p.bold.render(),
        count_line(errors, warnings),
        p.bold.render_reset()
    );
    out
}

/// "2 errors and 1 warning in the manifests" / "1 warning in the manifests".
pub fn count_line(errors: usize, warnings: usize) -> String {
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("1 {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    match (errors, warnings) {
        (0, w) => format!("{} in the manifests", plural(w, "warning")),
        (e, 0) => format!("{} in the manifests", plural(e, "error")),
        (e, w) => format!(
            "{} and {} in the manifests",
            plural(e, "error"),
            plural(w, "warning")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn loc(line: usize, column: usize) -> Location {
        Location {
            file: PathBuf::from("requests/dsr-142.yaml"),
            line,
            column,
        }
    }

    #[test]
    fn renders_like_rustc() {
        let d = Diagnostic::error(
            "id `pi_123` does not look like a customer id (customer ids start with `cus_`)",
        )
        .at(
            loc(9, 26),
            Some("      customers: [cus_1, pi_123]".into()),
            6,
        )
        .with_hint("move it under `payment_intents:`");
        let expected = "\
error: id `pi_123` does not look like a customer id (customer ids start with `cus_`)
 --> requests/dsr-142.yaml:9:26
  |
9 |       customers: [cus_1, pi_123]
  |                          ^^^^^^
  = hint: move it under `payment_intents:`
";
        assert_eq!(d.render(false), expected);
    }

    #[test]
    fn shows_both_places_of_a_duplicate() {
        let d = Diagnostic::error("duplicate entry name `a`")
            .at(loc(12, 11), Some("  - name: a".into()), 1)
            .with_related(
                loc(3, 11),
                "first defined here",
                Some("  - name: a".into()),
                1,
            );
        let text = d.render(false);
        assert!(text.contains(" --> requests/dsr-142.yaml:12:11"), "{text}");
        assert!(text.contains(" ::: requests/dsr-142.yaml:3:11"), "{text}");
        assert!(text.contains("^ first defined here"), "{text}");
        assert!(text.contains(" 3 |   - name: a"), "{text}");
    }

    #[test]
    fn tabs_do_not_misplace_the_caret() {
        let (shown, col, width) = expand_tabs("\tb: 2", 1, 1);
        assert_eq!(shown, "    b: 2");
        assert_eq!((col, width), (0, 4));
        let (_, col, _) = expand_tabs("\tb: 2", 2, 1);
        assert_eq!(col, 4);
    }

    #[test]
    fn colour_only_when_asked() {
        let d = Diagnostic::warning("w").at(loc(1, 1), Some("x".into()), 1);
        assert!(!d.render(false).contains('\x1b'));
        assert!(d.render(true).contains('\x1b'));
    }

    #[test]
    fn closing_line_counts_errors_and_warnings() {
        let diags = vec![
            Diagnostic::error("a"),
            Diagnostic::warning("b"),
            Diagnostic::error("c"),
        ];
        let text = render_diagnostics(&diags, false);
        assert!(text.ends_with("error: 2 errors and 1 warning in the manifests\n"));
        assert_eq!(
            render_diagnostics(&[Diagnostic::warning("x")], false),
            "warning: x\n\nwarning: 1 warning in the manifests\n"
        );
    }
}
