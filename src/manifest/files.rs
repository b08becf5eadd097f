//! Finding and reading manifest files: each path on the command line is a file or a
//! directory searched recursively for `*.yaml`/`*.yml` in sorted order (so every run sees
//! the same files in the same order). Reading refuses what is not UTF-8 text, with the
//! place of the first bad byte.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::io_limits::{self, LimitedReadError, Special};

/// Files larger than this are refused: a 100,000-entry manifest is about 10 MiB, and the
/// loader keeps a file's text in memory. Counted as bytes are read (never from metadata,
/// which says 0 for devices, FIFOs and process substitution).
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// One file to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub path: PathBuf,
    /// Named on the command line (always loaded), rather than found in a directory (skipped
    /// when it is not a redactctl manifest).
    pub explicit: bool,
    /// Index of the command-line path it came from.
    pub arg: usize,
}

/// Why a command-line path yields no files.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FindError {
    #[error("no such file or directory: `{0}`")]
    Missing(PathBuf),
    #[error("cannot read `{0}`: {1}")]
    Io(PathBuf, String),
    #[error("no manifest files (*.yaml, *.yml) in directory `{0}`")]
    EmptyDirectory(PathBuf),
}

/// Why a file's text cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReadError {
    #[error("cannot read `{0}`: {1}")]
    Io(PathBuf, String),
    /// It holds a NUL byte, at `line`:`column` (the first one), so the diagnostic can
    /// point at it like every other problem in a file.
    #[error("`{path}` is a binary file, not a YAML manifest")]
    Binary {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    #[error("`{path}` is not valid UTF-8 text (first bad byte at line {line}, column {column})")]
    NotUtf8 {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    #[error("`{0}` is larger than {max} MiB", max = MAX_FILE_BYTES / 1024 / 1024)]
    TooLarge(PathBuf),
}

/// Expands command-line paths into files, in order, without repeating a file named twice.
/// Problems are returned alongside the files found, so every one is reported.
pub fn find_inputs(paths: &[PathBuf]) -> (Vec<Input>, Vec<FindError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (arg, path) in paths.iter().enumerate() {
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                errors.push(FindError::Missing(path.clone()));
                continue;
            }
            Err(e) => {
                errors.push(FindError::Io(path.clone(), e.to_string()));
                continue;
            }
        };
        if meta.is_dir() {
            let mut found = Vec::new();
            if let Err(e) = walk(path, &mut found) {
                errors.push(e);
                continue;
            }
            if found.is_empty() {
                errors.push(FindError::EmptyDirectory(path.clone()));
            }
            for file in found {
                if seen.insert(canonical(&file)) {
                    inputs.push(Input {
                        path: file,
                        explicit: false,
                        arg,
                    });
                }
            }
        } else if seen.insert(canonical(path)) {
            inputs.push(Input {
                path: path.clone(),
                explicit: true,
                arg,
            });
        }
    }
    (inputs, errors)
}

fn canonical(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Collects `*.yaml`/`*.yml` under `dir`, sorted. Hidden entries (`.git`, `.redactctl`)
/// are skipped, and symbolic links to directories are not followed (no loops).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), FindError> {
    let read = fs::read_dir(dir).map_err(|e| FindError::Io(dir.to_path_buf(), e.to_string()))?;
    let mut entries: Vec<PathBuf> = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| FindError::Io(dir.to_path_buf(), e.to_string()))?;
        entries.push(entry.path());
    }
    entries.sort();
    for path in entries {
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        let Ok(link_meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if link_meta.is_dir() {
            walk(&path, out)?;
        } else if is_yaml(&path) && fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            out.push(path);
        }
    }
    Ok(())
}

/// Whether the file name ends in `.yaml` or `.yml`.
pub fn is_yaml(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// Reads a file as UTF-8 text (a leading byte-order mark is dropped). Only regular files:
/// see [`read_input`] for paths named on the command line.
pub fn read_text(path: &Path) -> Result<String, ReadError> {
    read_text_bounded(path, Special::Refuse)
}

/// Reads one input: a file named explicitly may be a pipe or a device (`<(…)`), read within
/// the same limit; a file found in a directory must be a regular file.
pub fn read_input(input: &Input) -> Result<String, ReadError> {
    let special = if input.explicit {
        Special::Allow
    } else {
        Special::Refuse
    };
    read_text_bounded(&input.path, special)
}

/// Reads up to [`MAX_FILE_BYTES`], counting bytes as they come, and stops early at the
/// first NUL byte (the file is binary: `/dev/zero` ends at once, not after 256 MiB).
fn read_text_bounded(path: &Path, special: Special) -> Result<String, ReadError> {
    let limited = |e: LimitedReadError| match e {
        LimitedReadError::TooLarge { .. } => ReadError::TooLarge(path.to_path_buf()),
        LimitedReadError::Io { message, .. } => ReadError::Io(path.to_path_buf(), message),
        LimitedReadError::NotRegular { kind, .. } => ReadError::Io(
            path.to_path_buf(),
            format!("it is a {kind}, not a regular file"),
        ),
        LimitedReadError::NoWriter { .. } => ReadError::Io(
            path.to_path_buf(),
            "it is a FIFO that nothing writes to".to_string(),
        ),
    };
    let mut file = io_limits::open_checked(path, special).map_err(limited)?;
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(path.to_path_buf(), e.to_string())),
        };
        if bytes.len() as u64 + n as u64 > MAX_FILE_BYTES {
            return Err(ReadError::TooLarge(path.to_path_buf()));
        }
        bytes.extend_from_slice(&chunk[..n]);
        if chunk[..n].contains(&0) {
            break;
        }
    }
    decode(path, bytes)
}

/// The pure half of `read_text`.
pub fn decode(path: &Path, bytes: Vec<u8>) -> Result<String, ReadError> {
    if let Some(nul) = bytes.iter().position(|b| *b == 0) {
        let (line, column) = position_after(&String::from_utf8_lossy(&bytes[..nul]));
        return Err(ReadError::Binary {
            path: path.to_path_buf(),
            line,
            column,
        });
    }
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            Ok(lone_cr_to_lf(text))
        }
        Err(e) => {
            let bad = e.utf8_error().valid_up_to();
            let good = &e.as_bytes()[..bad];
            // `good` is valid UTF-8 by construction.
            let (line, column) = position_after(std::str::from_utf8(good).unwrap_or_default());
            Err(ReadError::NotUtf8 {
                path: path.to_path_buf(),
                line,
                column,
            })
        }
    }
}

/// The 1-based line and column (in characters) just after `prefix`, counting line breaks
/// as YAML does.
fn position_after(prefix: &str) -> (usize, usize) {
    let prefix = lone_cr_to_lf(prefix.to_string());
    let line = prefix.matches('\n').count() + 1;
    let column = prefix.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// Turns every `\r` not followed by `\n` into `\n`. YAML (and yaml-rust2) takes a lone
/// `\r` as a line break, so without this every line number after one would disagree with
/// the file's lines as the diagnostics show them. Byte offsets and meaning are unchanged.
fn lone_cr_to_lf(text: String) -> String {
    if !text.contains('\r') {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() != Some(&'\n') {
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_binary_and_non_utf8() {
        let p = Path::new("x.yaml");
        assert_eq!(
            decode(p, b"a: 1\nb: \xff\0".to_vec()),
            Err(ReadError::Binary {
                path: p.into(),
                line: 2,
                column: 5
            })
        );
        assert_eq!(
            decode(p, b"a: 1\nb: \xff\n".to_vec()),
            Err(ReadError::NotUtf8 {
                path: p.into(),
                line: 2,
                column: 4
            })
        );
        assert_eq!(
            decode(p, "\u{feff}a: 1".as_bytes().to_vec()).unwrap(),
            "a: 1"
        );
    }

    #[test]
    fn a_lone_carriage_return_is_a_line_break() {
        let p = Path::new("x.yaml");
        assert_eq!(
            decode(p, b"a: 1\rb: 2\r\nc: 3\r".to_vec()).unwrap(),
            "a: 1\nb: 2\r\nc: 3\n"
        );
        assert_eq!(
            decode(p, b"a: 1\rb: \xff".to_vec()),
            Err(ReadError::NotUtf8 {
                path: p.into(),
                line: 2,
                column: 4
            })
        );
    }

    #[test]
    fn walks_directories_sorted_skipping_hidden_and_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("b/c")).unwrap();
        fs::create_dir_all(root.join(".git")).unwrap();
        for f in [
            "b/c/z.yml",
            "a.yaml",
            "b/y.YAML",
            "notes.txt",
            ".git/x.yaml",
        ] {
            fs::write(root.join(f), "x: 1").unwrap();
        }
        let (inputs, errors) = find_inputs(&[root.to_path_buf(), root.join("a.yaml")]);
        assert!(errors.is_empty());
        let names: Vec<_> = inputs
            .iter()
            .map(|i| i.path.strip_prefix(root).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            names,
            vec![
                PathBuf::from("a.yaml"),
                PathBuf::from("b/c/z.yml"),
                PathBuf::from("b/y.YAML")
            ]
        );
        assert!(inputs.iter().all(|i| !i.explicit));
    }

    #[test]
    fn reports_missing_paths_and_empty_directories() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.yaml");
        let (inputs, errors) = find_inputs(&[missing.clone(), dir.path().to_path_buf()]);
        assert!(inputs.is_empty());
        assert_eq!(
            errors,
            vec![
                FindError::Missing(missing),
                FindError::EmptyDirectory(dir.path().to_path_buf())
            ]
        );
    }
}
