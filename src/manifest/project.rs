//! The project file, `redactctl.yaml` at the repository root: it names the manifest roots,
//! so that a command given no paths loads the whole manifest set. Only a run that loaded the
//! whole set may `--prune`: pruning from a subset would cancel the jobs of the manifests that
//! were left out.
//!
//! ```yaml
//! redactctl_project: 1
//! manifests: [requests/, legacy/cleanup.yaml]
//! ```
//!
//! The file has no `version`/`redactions` key, so a manifest directory that contains it
//! does not mistake it for a manifest.

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

/// The project file's name, looked up from the working directory upwards.
pub const PROJECT_FILE: &str = "redactctl.yaml";

/// The project-file format this version reads.
pub const PROJECT_VERSION: u32 = 1;

/// Largest project file read: it holds a few paths.
const MAX_BYTES: u64 = 64 * 1024;

/// A loaded project file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The project file itself.
    pub file: PathBuf,
    /// The manifest roots, joined to the project file's directory, in the order written.
    pub manifests: Vec<PathBuf>,
}

/// Why a project file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("cannot read the project file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the project file {path} is larger than {MAX_BYTES} bytes")]
    TooLarge { path: PathBuf },
    #[error("the project file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("the project file {path} has `redactctl_project: {found}`; this redactctl reads {PROJECT_VERSION}")]
    Version { path: PathBuf, found: u32 },
    #[error("the project file {path} names no manifest root (`manifests: [requests/]`)")]
    NoManifests { path: PathBuf },
    #[error("the project file {path} names `{root}`, which is not a relative path inside the repository")]
    OutsideRoot { path: PathBuf, root: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectDoc {
    redactctl_project: u32,
    manifests: Vec<String>,
}

/// The nearest `redactctl.yaml` in `start` or one of its parents.
pub fn find_project(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(PROJECT_FILE))
        .find(|p| p.is_file())
}

/// Reads and checks a project file.
pub fn load_project(path: &Path) -> Result<Project, ProjectError> {
    let read = |source| ProjectError::Read {
        path: path.to_path_buf(),
        source,
    };
    // Counted as read (a FIFO's metadata says 0 bytes), and only a regular file.
    let text =
        crate::io_limits::read_text_limited(path, MAX_BYTES, crate::io_limits::Special::Refuse)
            .map_err(|e| match e {
                crate::io_limits::LimitedReadError::TooLarge { .. } => ProjectError::TooLarge {
                    path: path.to_path_buf(),
                },
                other => read(other.into_io()),
            })?;
    parse_project(path, &text)
}

/// Parses a project file's text (`path` names it in errors and anchors the roots).
pub fn parse_project(path: &Path, text: &str) -> Result<Project, ProjectError> {
    let doc: ProjectDoc = serde_yaml::from_str(text).map_err(|e| ProjectError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if doc.redactctl_project != PROJECT_VERSION {
        return Err(ProjectError::Version {
            path: path.to_path_buf(),
            found: doc.redactctl_project,
        });
    }
    if doc.manifests.is_empty() {
        return Err(ProjectError::NoManifests {
            path: path.to_path_buf(),
        });
    }
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut manifests = Vec::with_capacity(doc.manifests.len());
    for root in doc.manifests {
        let rel = Path::new(&root);
        let inside = !root.is_empty()
            && rel
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !inside {
            return Err(ProjectError::OutsideRoot {
                path: path.to_path_buf(),
                root,
            });
        }
        manifests.push(dir.join(rel));
    }
    Ok(Project {
        file: path.to_path_buf(),
        manifests,
    })
}

impl Project {
    /// Whether `paths` (what a command was given) load the whole manifest set: no paths
    /// (the project's roots are loaded), or exactly the project's roots. What
    /// `plan::Options::whole_manifest_set` must be set from.
    pub fn is_whole_set(&self, paths: &[PathBuf]) -> bool {
        if paths.is_empty() {
            return true;
        }
        let norm = |p: &Path| -> PathBuf {
            p.components()
                .filter(|c| !matches!(c, Component::CurDir))
                .collect()
        };
        let mut given: Vec<PathBuf> = paths.iter().map(|p| norm(p)).collect();
        let mut roots: Vec<PathBuf> = self.manifests.iter().map(|p| norm(p)).collect();
        given.sort();
        given.dedup();
        roots.sort();
        roots.dedup();
        given == roots
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Project, ProjectError> {
        parse_project(Path::new("repo/redactctl.yaml"), text)
    }

    #[test]
    fn roots_are_anchored_at_the_project_file() {
        let p = parse("redactctl_project: 1\nmanifests: [requests/, legacy/a.yaml]\n").unwrap();
        assert_eq!(
            p.manifests,
            [
                PathBuf::from("repo/requests/"),
                PathBuf::from("repo/legacy/a.yaml")
            ]
        );
    }

    #[test]
    fn bad_project_files_are_refused_with_the_reason() {
        for (text, want) in [
            ("redactctl_project: 2\nmanifests: [a]\n", "reads 1"),
            (
                "redactctl_project: 1\nmanifests: []\n",
                "names no manifest root",
            ),
            (
                "redactctl_project: 1\nmanifests: [../other]\n",
                "not a relative path",
            ),
            (
                "redactctl_project: 1\nmanifests: [/etc]\n",
                "not a relative path",
            ),
            (
                "redactctl_project: 1\nmanifests: [a]\nprune: true\n",
                "unknown field",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn only_the_project_roots_are_the_whole_set() {
        let p = parse("redactctl_project: 1\nmanifests: [requests, legacy]\n").unwrap();
        assert!(p.is_whole_set(&[]));
        assert!(p.is_whole_set(&[
            PathBuf::from("repo/legacy"),
            PathBuf::from("./repo/requests"),
        ]));
        assert!(!p.is_whole_set(&[PathBuf::from("repo/requests")]));
    }

    #[test]
    fn the_nearest_project_file_is_found_upwards() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("requests/2026");
        std::fs::create_dir_all(&sub).unwrap();
        assert_eq!(find_project(&sub), None);
        let file = dir.path().join(PROJECT_FILE);
        std::fs::write(&file, "redactctl_project: 1\nmanifests: [requests]\n").unwrap();
        assert_eq!(find_project(&sub), Some(file.clone()));
        assert_eq!(
            load_project(&file).unwrap().manifests,
            [dir.path().join("requests")]
        );
    }
}
