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
pub mod project;
mod source;
mod yaml;

use std::path::PathBuf;

pub use desired::{AccountSpec, Behavior, Desired, DesiredState, Entry, Location, Via};
pub use diagnostic::{count_line, render_diagnostics, Diagnostic, Severity};
pub use model::{schema_json, FixKind};

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
///
/// Dates in the future (`received:`, `extension.notified:`) are judged against today's
/// date, or `REDACTCTL_TODAY` when set (see `deadline::clock`).
pub fn load(paths: &[PathBuf]) -> Result<Loaded, LoadFailure> {
    let mut loader = Loader::new(paths.len());
    loader.read_clock();
    loader.load_paths(paths)
}

/// `load`, with today's date given instead of read from the clock (`None`: dates in the
/// future are not judged). For callers that read the clock once for a whole run.
pub fn load_as_of(
    paths: &[PathBuf],
    today: Option<crate::deadline::Date>,
) -> Result<Loaded, LoadFailure> {
    let mut loader = Loader::new(paths.len());
    loader.today = today;
    loader.load_paths(paths)
}

impl Loader {
    fn load_paths(mut self, paths: &[PathBuf]) -> Result<Loaded, LoadFailure> {
        let (inputs, find_errors) = files::find_inputs(paths);
        for e in find_errors {
            self.find_error(e);
        }
        for input in &inputs {
            self.load_file(input);
        }
        self.finish(paths)
    }
}

/// Loads one manifest held in memory exactly as `load` loads a file named `label` holding
/// `bytes` (the same decoding, parsing, checks and diagnostics, located at `label`),
/// without touching the disk. Why: fuzz and property tests feed hundreds of thousands of
/// generated manifests through the real loader, and writing each to a file would cost
/// more than loading it.
pub fn load_bytes(label: &std::path::Path, bytes: Vec<u8>) -> Result<Loaded, LoadFailure> {
    let mut loader = Loader::new(1);
    loader.read_clock();
    let input = files::Input {
        path: label.to_path_buf(),
        explicit: true,
        arg: 0,
    };
    loader.load_decoded(&input, files::decode(label, bytes));
    loader.finish(&[label.to_path_buf()])
}

/// The state of one `load`: the files read so far, what their documents declare, and
/// every diagnostic, in the order found.
struct Loader {
    files: Files,
    docs: Vec<convert::DocOut>,
    diags: Vec<Diagnostic>,
    /// Per command-line path: how many manifest files it gave, and whether it is a
    /// directory (a directory that gives none is an error).
    manifests_per_arg: Vec<usize>,
    directory_args: Vec<bool>,
    /// A path that could not be found, or a file that could not be read or parsed, may
    /// hold the `account`: its absence is then not reported.
    incomplete: bool,
    /// The date that `received:` and `notified:` may not be after (`None`: not judged).
    today: Option<crate::deadline::Date>,
}

impl Loader {
    fn new(args: usize) -> Self {
        Loader {
            files: Files::default(),
            docs: Vec::new(),
            diags: Vec::new(),
            manifests_per_arg: vec![0; args],
            directory_args: vec![false; args],
            incomplete: false,
            today: None,
        }
    }

    /// Takes today's date from `deadline::clock`; a bad `REDACTCTL_TODAY` is an error.
    fn read_clock(&mut self) {
        match crate::deadline::clock::today() {
            Ok(today) => self.today = Some(today),
            Err(e) => self
                .diags
                .push(Diagnostic::error(e.to_string()).with_hint(format!(
                    "unset {} to use the system clock",
                    crate::deadline::clock::TODAY_ENV
                ))),
        }
    }

    fn find_error(&mut self, e: FindError) {
        let hint = match &e {
            FindError::Missing(_) => Some("check the path; give files or directories of manifests"),
            FindError::EmptyDirectory(_) => Some("manifests are files ending in .yaml or .yml"),
            FindError::Io(..) => None,
        };
        let d = Diagnostic::error(e.to_string());
        self.diags.push(match hint {
            Some(h) => d.with_hint(h),
            None => d,
        });
        self.incomplete = true;
    }

    /// Reads, parses and converts one file; its diagnostics end up in source order.
    fn load_file(&mut self, input: &files::Input) {
        if !input.explicit {
            self.directory_args[input.arg] = true;
        }
        self.load_decoded(input, files::read_input(input));
    }

    /// Parses and converts one file's text, or reports why it could not be read.
    fn load_decoded(&mut self, input: &files::Input, read: Result<String, ReadError>) {
        let text = match read {
            Ok(text) => text,
            Err(e) => {
                self.diags.push(read_error(&input.path, e));
                self.incomplete = true;
                // Counted, so that a directory of one bad file is not also "empty".
                self.manifests_per_arg[input.arg] += 1;
                return;
            }
        };
        let file = self.files.files.len();
        self.files
            .files
            .push(SourceFile::new(input.path.clone(), text));
        let first_diag = self.diags.len();
        let manifests_before = self.manifests_per_arg[input.arg];
        self.parse_and_convert(file, input);
        if self.manifests_per_arg[input.arg] > manifests_before {
            let raw = &self.files.files[file];
            self.diags.extend(lint::scan_source(&raw.path, &raw.text));
        }
        // Streamed entries were checked before their document's top level: restore
        // source order within the file.
        self.diags[first_diag..].sort_by_key(|d| d.location.as_ref().map(|l| (l.line, l.column)));
    }

    fn parse_and_convert(&mut self, file: usize, input: &files::Input) {
        let Loader { files, diags, .. } = self;
        let mut streamed = Vec::new();
        let parsed = yaml::parse_streaming(&files.files[file].text, "redactions", |item| {
            streamed.extend(convert::convert_entry(files, file, &item, diags));
        });
        let streamed_any = !streamed.is_empty();
        self.docs.push(convert::DocOut {
            entries: streamed,
            ..Default::default()
        });
        let docs = match parsed {
            Ok(docs) => docs,
            Err(e) => {
                self.manifests_per_arg[input.arg] += 1;
                self.incomplete = true;
                let place = self.files.place_of_mark(file, e.mark);
                let d = self.files.error(e.message, place);
                self.diags.push(match e.hint {
                    Some(h) => d.with_hint(h),
                    None => d,
                });
                return;
            }
        };
        let docs: Vec<_> = docs.docs.into_iter().filter(|d| !d.is_null()).collect();
        let is_manifest = streamed_any || docs.iter().any(convert::looks_like_manifest);
        if !input.explicit && !is_manifest {
            self.diags.push(
                Diagnostic::warning(format!(
                    "skipped: not a redactctl manifest: `{}`",
                    input.path.display()
                ))
                .with_hint(
                    "manifests have `version`, `account`, `defaults` or `redactions` at the top",
                ),
            );
            return;
        }
        self.manifests_per_arg[input.arg] += 1;
        if docs.is_empty() {
            let start = Location {
                file: input.path.clone(),
                line: 1,
                column: 1,
            };
            self.diags.push(
                Diagnostic::error(format!(
                    "`{}` is empty: no manifest document in it",
                    input.path.display()
                ))
                .at(start, None, 1)
                .with_hint("a manifest starts with `version: 1`"),
            );
            return;
        }
        for doc in &docs {
            let out = convert::convert_document(&self.files, file, doc, &mut self.diags);
            self.docs.push(out);
        }
    }

    /// The checks across files, then the result.
    fn finish(mut self, paths: &[PathBuf]) -> Result<Loaded, LoadFailure> {
        for (arg, path) in paths.iter().enumerate() {
            if self.directory_args[arg] && self.manifests_per_arg[arg] == 0 {
                self.diags.push(
                    Diagnostic::error(format!(
                        "no redactctl manifests in directory `{}`",
                        path.display()
                    ))
                    .with_hint("every YAML file there was skipped; see the warnings above"),
                );
            }
        }
        let (account, entries) = checks::check(
            &self.files,
            self.docs,
            !self.incomplete,
            self.today,
            &mut self.diags,
        );
        match account {
            Some(account) if !self.diags.iter().any(Diagnostic::is_error) => {
                let digest = digest::digest(&account, &entries);
                Ok(Loaded {
                    desired: Desired {
                        account,
                        entries,
                        digest,
                    },
                    warnings: self.diags,
                })
            }
            _ => Err(LoadFailure {
                diagnostics: self.diags,
            }),
        }
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
        ReadError::Binary { line, column, .. } => Diagnostic::error(e.to_string())
            .at(
                Location {
                    file: path.to_path_buf(),
                    line: *line,
                    column: *column,
                },
                None,
                1,
            )
            .with_hint("manifests are YAML text files; check the path"),
        ReadError::Io(..) | ReadError::TooLarge(_) => Diagnostic::error(e.to_string()),
    }
}
