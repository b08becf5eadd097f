//! Where a receipt's evidence comes from: the audit log's lines with their SHA-256
//! digests (so an auditor can check the receipt against the log it cites), the fields a
//! record may carry beyond the typed ones (fixes, who approved), and the git commit of the
//! manifests.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::apply::audit::AuditRecord;

/// One audit log line, parsed, with the digest of its exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLine {
    pub record: AuditRecord,
    /// SHA-256 (hex) of the line as written, without its newline.
    pub digest: String,
    /// The fixes the record says were applied (`fixes`: strings, or objects described by
    /// their fields), empty when it names none.
    pub fixes: Vec<String>,
    /// Who approved the write (`approved_by`), when the record says.
    pub approved_by: Option<String>,
}

impl AuditLine {
    /// Parses one line; `None` when it is not an audit record.
    pub fn parse(line: &str) -> Option<AuditLine> {
        let record: AuditRecord = serde_json::from_str(line).ok()?;
        let value: Value = serde_json::from_str(line).ok()?;
        let fixes = match value.get("fixes") {
            Some(Value::Array(items)) => items.iter().map(describe_fix).collect(),
            _ => Vec::new(),
        };
        let approved_by = value
            .get("approved_by")
            .and_then(Value::as_str)
            .map(str::to_string);
        Some(AuditLine {
            record,
            digest: hex::encode(Sha256::digest(line.as_bytes())),
            fixes,
            approved_by,
        })
    }
}

/// A fix as one line: a string as written; an object as its `description`, else its
/// fields `key=value` in order.
fn describe_fix(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(map) => match map.get("description").and_then(Value::as_str) {
            Some(d) => d.to_string(),
            None => map
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect::<Vec<_>>()
                .join(" "),
        },
        other => other.to_string(),
    }
}

/// Reads every line of the log: the records, and the line numbers that did not parse (a
/// torn last line after a crash does not hide the rest; an overlong line is one that did
/// not parse). A missing log has no records.
pub fn read_audit(path: &Path) -> std::io::Result<(Vec<AuditLine>, Vec<usize>)> {
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    let Some(mut log) = crate::apply::audit::log_lines(path)? else {
        return Ok((lines, bad));
    };
    while let Some((number, line)) = log.next_line()? {
        let text = line.map(std::str::from_utf8);
        if let Some(Ok(t)) = text {
            if t.trim().is_empty() {
                continue;
            }
        }
        match text.and_then(Result::ok).and_then(AuditLine::parse) {
            Some(l) => lines.push(l),
            None => bad.push(number),
        }
    }
    Ok((lines, bad))
}

/// The git commit of the manifests: CI's own variable (`GITHUB_SHA`, `CI_COMMIT_SHA`)
/// when set, else `git rev-parse HEAD` run where the first manifest lives; `None` when
/// neither answers (not a repository, no git).
pub fn manifests_commit(first_manifest: Option<&Path>) -> Option<String> {
    for var in ["GITHUB_SHA", "CI_COMMIT_SHA"] {
        if let Some(v) = std::env::var(var).ok().filter(|v| is_commit(v.trim())) {
            return Some(v.trim().to_string());
        }
    }
    let dir = first_manifest
        .map(|p| {
            if p.is_dir() {
                p
            } else {
                p.parent().unwrap_or(p)
            }
        })
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "HEAD"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let sha = String::from_utf8(out.stdout).ok()?;
    let sha = sha.trim();
    (out.status.success() && is_commit(sha)).then(|| sha.to_string())
}

/// A commit id as git prints it: 7 to 64 hex digits (a variable set to anything else is
/// not trusted as one).
fn is_commit(s: &str) -> bool {
    (7..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"time":"2026-11-27T09:00:00Z","action":"run","entry":"e","job":"prj_1","objects":[],"idempotency_key":"k","outcome":"ok","mode":"test","fixes":["cancel PaymentIntent pi_1","void Invoice in_1"],"approved_by":"ci:alice"}"#;

    #[test]
    fn a_line_gives_its_digest_fixes_and_approver() {
        let l = AuditLine::parse(LINE).unwrap();
        assert_eq!(l.digest, hex::encode(Sha256::digest(LINE.as_bytes())));
        assert_eq!(l.fixes, ["cancel PaymentIntent pi_1", "void Invoice in_1"]);
        assert_eq!(l.approved_by.as_deref(), Some("ci:alice"));
        assert_eq!(l.record.job.as_deref(), Some("prj_1"));
    }

    #[test]
    fn only_hex_counts_as_a_commit() {
        assert!(is_commit("0123abcd"));
        assert!(!is_commit("main"));
        assert!(!is_commit("abc"));
    }
}
