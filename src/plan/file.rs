//! Reading a saved plan file and describing its format. A plan file is approval for
//! exactly its actions, so reading one must never guess: wrong version or bad JSON is a
//! clear error with line and column, never a panic or a partial plan.

use serde::Deserialize;

use super::model::{Plan, FORMAT_VERSION};

/// Why a plan file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanFileError {
    /// Not JSON at all, or not a JSON object.
    #[error("not a redactctl plan file: {message} at line {line}, column {column}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// A JSON object without `format_version`.
    #[error("not a redactctl plan file: `format_version` is missing")]
    MissingVersion,
    /// Written by another version of redactctl.
    #[error(
        "plan file format_version {found} is not supported (this redactctl reads {supported}); \
         re-create the plan with this version"
    )]
    UnsupportedVersion { found: u64, supported: u32 },
    /// The right version, but a field is missing or has the wrong type.
    #[error("invalid plan file: {message} at line {line}, column {column}")]
    Invalid {
        line: usize,
        column: usize,
        message: String,
    },
}

#[derive(Deserialize)]
struct VersionProbe {
    format_version: Option<serde_json::Value>,
}

/// Parses a plan file written by `plan --out` (or `--format json`). Never panics.
pub fn parse_plan_file(text: &str) -> Result<Plan, PlanFileError> {
    let probe: VersionProbe = serde_json::from_str(text).map_err(|e| PlanFileError::Syntax {
        line: e.line(),
        column: column(&e),
        message: strip_position(&e),
    })?;
    match probe.format_version {
        None => return Err(PlanFileError::MissingVersion),
        Some(v) => match v.as_u64() {
            Some(n) if n == u64::from(FORMAT_VERSION) => {}
            Some(n) => {
                return Err(PlanFileError::UnsupportedVersion {
                    found: n,
                    supported: FORMAT_VERSION,
                })
            }
            None => {
                return Err(PlanFileError::Invalid {
                    line: 1,
                    column: 1,
                    message: format!("`format_version` must be a number, found {v}"),
                })
            }
        },
    }
    serde_json::from_str(text).map_err(|e| PlanFileError::Invalid {
        line: e.line(),
        column: column(&e),
        message: strip_position(&e),
    })
}

/// serde_json's column, but at least 1: it says column 0 when the error comes right after
/// a line break (the end of `{\n`, an empty file), and editors count from 1.
fn column(e: &serde_json::Error) -> usize {
    e.column().max(1)
}

/// serde_json's message without its own " at line L column C" suffix (we print ours).
fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The JSON Schema of the plan file and JSON view (`schemas/plan.schema.json`), pretty,
/// with a trailing newline.
pub fn plan_schema_json() -> String {
    let schema = schemars::schema_for!(Plan);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = parse_plan_file("{\n  \"format_version\": 1,\n  oops\n}").unwrap_err();
        match err {
            PlanFileError::Syntax { line, column, .. } => {
                assert_eq!((line, column), (3, 3));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            parse_plan_file(""),
            Err(PlanFileError::Syntax {
                line: 1,
                column: 1,
                ..
            })
        ));
        let err = parse_plan_file("{\n  \"format_version\": 1,\n").unwrap_err();
        assert!(
            matches!(
                err,
                PlanFileError::Syntax {
                    line: 3,
                    column: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(matches!(
            parse_plan_file("[1,2]"),
            Err(PlanFileError::Syntax { .. })
        ));
    }

    #[test]
    fn version_is_checked_before_the_rest() {
        assert_eq!(
            parse_plan_file("{\"actions\": 5}"),
            Err(PlanFileError::MissingVersion)
        );
        let err = parse_plan_file("{\"format_version\": 9, \"actions\": 5}").unwrap_err();
        assert_eq!(
            err,
            PlanFileError::UnsupportedVersion {
                found: 9,
                supported: FORMAT_VERSION
            }
        );
        assert!(err.to_string().contains("format_version 9"));
        // A plan saved before plans recorded their options and where they looked is a
        // clear error, not a plan applied with guessed options.
        let old = parse_plan_file("{\"format_version\": 1, \"actions\": []}").unwrap_err();
        assert!(matches!(
            old,
            PlanFileError::UnsupportedVersion { found: 1, .. }
        ));
        assert!(old.to_string().contains("re-create the plan"), "{old}");
        assert!(matches!(
            parse_plan_file("{\"format_version\": \"1\"}"),
            Err(PlanFileError::Invalid { .. })
        ));
    }

    #[test]
    fn missing_fields_are_reported_with_position() {
        let err = parse_plan_file("{\"format_version\": 2}").unwrap_err();
        match &err {
            PlanFileError::Invalid { message, line, .. } => {
                assert!(message.contains("missing field"), "{message}");
                assert_eq!(*line, 1);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(!err.to_string().contains("at line 1 column"), "{err}");
    }
}
