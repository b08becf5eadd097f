//! `redactctl validate PATHS…`: the offline checks, no key and no request. Human output
//! shows every diagnostic like rustc on stderr and a one-line verdict on stdout; `--format
//! json` prints one JSON document on stdout for machines. Exit 0 when only warnings, 1 on
//! any error.

use serde::Serialize;

use super::args::{ColorChoice, TableFormat, ValidateArgs};
use super::{color, Exit};
use crate::manifest::{count_line, render_diagnostics, Diagnostic, Location, Severity};

/// Version of the JSON output; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
struct JsonRelated<'a> {
    file: String,
    line: usize,
    column: usize,
    message: &'a str,
}

#[derive(Debug, Serialize)]
struct JsonDiagnostic<'a> {
    severity: Severity,
    message: &'a str,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    hint: Option<&'a str>,
    related: Vec<JsonRelated<'a>>,
}

#[derive(Debug, Serialize)]
struct JsonReport<'a> {
    format_version: u32,
    valid: bool,
    errors: usize,
    warnings: usize,
    diagnostics: Vec<JsonDiagnostic<'a>>,
    entries: usize,
}

fn json_diagnostic(d: &Diagnostic) -> JsonDiagnostic<'_> {
    let file = |l: &Location| l.file.display().to_string();
    JsonDiagnostic {
        severity: d.severity,
        message: &d.message,
        file: d.location.as_ref().map(file),
        line: d.location.as_ref().map(|l| l.line),
        column: d.location.as_ref().map(|l| l.column),
        hint: d.hint.as_deref(),
        related: d
            .related
            .iter()
            .map(|(l, message)| JsonRelated {
                file: file(l),
                line: l.line,
                column: l.column,
                message,
            })
            .collect(),
    }
}

/// The JSON report of a validation (what `--format json` prints, without the newline).
pub fn json_report(diagnostics: &[Diagnostic], entries: usize) -> String {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let report = JsonReport {
        format_version: FORMAT_VERSION,
        valid: errors == 0,
        errors,
        warnings: diagnostics.len() - errors,
        diagnostics: diagnostics.iter().map(json_diagnostic).collect(),
        entries,
    };
    serde_json::to_string_pretty(&report).unwrap_or_else(|e| {
        format!("{{\"format_version\": {FORMAT_VERSION}, \"valid\": false, \"error\": \"{e}\"}}")
    })
}

/// Runs `validate`.
pub fn run(args: &ValidateArgs, color_choice: ColorChoice, quiet: bool) -> Exit {
    let outcome = crate::ops::validate::validate(&args.paths);
    let (diagnostics, entries, ok) = (outcome.diagnostics, outcome.entries, outcome.valid);
    match args.format {
        TableFormat::Json => println!("{}", json_report(&diagnostics, entries)),
        TableFormat::Human => {
            let shown: Vec<Diagnostic> = diagnostics
                .iter()
                .filter(|d| !quiet || d.is_error())
                .cloned()
                .collect();
            eprint!(
                "{}",
                render_diagnostics(&shown, color::stderr_enabled(color_choice))
            );
            if ok && !quiet {
                let warnings = diagnostics.len();
                let plural = if entries == 1 { "entry" } else { "entries" };
                if warnings == 0 {
                    println!("valid: {entries} {plural}");
                } else {
                    println!("valid: {entries} {plural} ({})", count_line(0, warnings));
                }
            }
        }
    }
    if ok {
        Exit::Ok
    } else {
        Exit::Error
    }
}
