//! Manifests: the YAML model, loading files, directories and multi-document YAML with
//! source locations, merging `account`/`defaults`, and the checks `validate` runs.
//!
//! `load` is the one entry point: every command that reads manifests calls it, so that
//! `validate`, `plan` and `apply` accept and refuse exactly the same files, and report
//! every problem at once with file, line and column.

mod checks;
mod convert;
pub mod desired;
pub mod diagnostic;
mod digest;
pub mod files;
pub mod ids;
pub mod lint;
pub mod model;
mod source;
mod yaml;

use std::path::PathBuf;

pub use desired::{AccountSpec, Behavior, Desired, DesiredState, Entry, Location, Via};
pub use diagnostic::{count_line, render_diagnostics, Diagnostic, Severity};
pub use model::schema_json;

use files::{FindError, ReadError};
use source::{Files, SourceFile};

/// What the manifests declare, and the warnings found on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub desired: Desired,
    pub warnings: Vec<Diagnostic>,
}

/// Why the manifests cannot be used: every error and every warning, in the order found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFailure {
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadFailure {
    /// How many of the diagnostics are errors (at least one).
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
}

impl std::fmt::Display for LoadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&render_diagnostics(&self.diagnostics, false))
    }
}

impl std::error::Error for LoadFailure {}

/// Loads manifest files and directories (recursively, `*.yaml`/`*.yml`, sorted), checks
/// them, and resolves defaults. A file found in a directory that is not a redactctl
/// manifest (none of its documents has `version`, `account`, `defaults` or `redactions`)
/// is skipped with a warning; a file named explicitly is always loaded.
pub fn load(paths: &[PathBuf]) -> Result<Loaded, LoadFailure> {
    let mut diags = Vec::new();
    let (inputs, find_errors) = files::find_inputs(paths);
    for e in find_errors {
        let hint = match &e {
            FindError::Missing(_) => Some("check the path; give files or directories of manifests"),
            FindError::EmptyDirectory(_) => Some("manifests are files ending in .yaml or .yml"),
            FindError::Io(..) => None,
        };
        let d = Diagnostic::error(e.to_string());
        diags.push(match hint {
            Some(h) => d.with_hint(h),
            None => d,
        });
    }

    let mut files = Files::default();
    let mut parsed = Vec::new();
    // Entries streamed out of the files, one `DocOut` per file.
    let mut raw_entries = Vec::new();
    let mut manifests_per_arg = vec![0usize; paths.len()];
    let mut directory_args: Vec<bool> = vec![false; paths.len()];
    // A path that could not be found, or a file that could not be read or parsed, may
    // hold the `account`: its absence is then not reported.
    let mut file_failed = !diags.is_empty();
    for input in &inputs {
        if !input.explicit {
            directory_args[input.arg] = true;
        }
        let text = match files::read_text(&input.path) {
            Ok(text) => text,
            Err(e) => {
                diags.push(read_error(&input.path, e));
                file_failed = true;
                // Counted, so that a directory of one bad file is not also "empty".
                manifests_per_arg[input.arg] += 1;
                continue;
            }
        };
        let file = files.files.len();
        files.files.push(SourceFile::new(input.path.clone(), text));
        let src = &files.files[file].text;
        let first_diag = diags.len();
        let mut streamed = Vec::new();
        let parsed_file = yaml::parse_streaming(src, "redactions", |item| {
            streamed.extend(convert::convert_entry(&files, file, &item, &mut diags));
        });
        let streamed_any = !streamed.is_empty();
        raw_entries.push(convert::DocOut {
            entries: streamed,
            ..Default::default()
        });
        match parsed_file {
            Err(e) => {
                manifests_per_arg[input.arg] += 1;
                file_failed = true;
                let place = files.place_of_mark(file, e.mark);
                let d = files.error(e.message, place);
                diags.push(match e.hint {
                    Some(h) => d.with_hint(h),
                    None => d,
                });
            }
            Ok(docs) => {
                let docs: Vec<_> = docs.docs.into_iter().filter(|d| !d.is_null()).collect();
                let is_manifest = streamed_any || docs.iter().any(convert::looks_like_manifest);
                if !input.explicit && !is_manifest {
                    diags.push(
                        Diagnostic::warning(format!(
                            "skipped: not a redactctl manifest: `{}`",
                            input.path.display()
                        ))
                        .with_hint("manifests have `version`, `account`, `defaults` or `redactions` at the top"),
                    );
                    continue;
                }
                manifests_per_arg[input.arg] += 1;
                if docs.is_empty() {
                    let d = Diagnostic::error(format!(
                        "`{}` is empty: no manifest document in it",
                        input.path.display()
                    ))
                    .at(
                        files.location(files.place_of_mark(
                            file,
                            yaml::Mark {
                                line: 1,
                                column: 1,
                                index: 0,
                            },
                        )),
                        None,
                        1,
                    )
                    .with_hint("a manifest starts with `version: 1`");
                    diags.push(d);
                    continue;
                }
                for doc in &docs {
                    parsed.push(convert::convert_document(&files, file, doc, &mut diags));
                }
            }
        }
        // Streamed entries were checked before their document's top level: restore
        // source order within the file.
        diags[first_diag..].sort_by_key(|d| d.location.as_ref().map(|l| (l.line, l.column)));
    }
    parsed.append(&mut raw_entries);
    for (arg, path) in paths.iter().enumerate() {
        if directory_args[arg] && manifests_per_arg[arg] == 0 {
            diags.push(
                Diagnostic::error(format!(
                    "no redactctl manifests in directory `{}`",
                    path.display()
                ))
                .with_hint("every YAML file there was skipped; see the warnings above"),
            );
        }
    }

    let complete = !file_failed;
    let (account, entries) = checks::check(&files, parsed, complete, &mut diags);
    match account {
        Some(account) if !diags.iter().any(Diagnostic::is_error) => {
            let digest = digest::digest(&account, &entries);
            Ok(Loaded {
                desired: Desired {
                    account,
                    entries,
                    digest,
                },
                warnings: diags,
            })
        }
        _ => Err(LoadFailure { diagnostics: diags }),
    }
}

fn read_error(path: &std::path::Path, e: ReadError) -> Diagnostic {
    match &e {
        ReadError::NotUtf8 { line, column, .. } => Diagnostic::error(e.to_string())
            .at(
                Location {
                    file: path.to_path_buf(),
                    line: *line,
                    column: *column,
                },
                None,
                1,
            )
            .with_hint("save the file as UTF-8"),
        ReadError::Binary(_) => Diagnostic::error(e.to_string())
            .with_hint("manifests are YAML text files; check the path"),
        ReadError::Io(..) | ReadError::TooLarge(_) => Diagnostic::error(e.to_string()),
    }
}
