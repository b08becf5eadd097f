//! Every relative link in the README, the changelog and `docs/` leads somewhere: the file or
//! directory exists and, for a `#fragment` into a Markdown file, a heading has that anchor
//! (GitHub's slugs). A newcomer who follows a link never lands on a 404.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Markdown files whose links are checked: README, CHANGELOG and everything in docs/.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md"), root().join("CHANGELOG.md")];
    pages.extend(pages_in_docs());
    pages
}

/// Every Markdown page in docs/, sorted.
fn pages_in_docs() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("a readable docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    docs
}

/// Lines outside fenced code blocks, with inline code spans blanked out.
fn prose_lines(text: &str) -> Vec<(usize, String)> {
    let mut in_fence = false;
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let mut out = String::with_capacity(line.len());
        let mut in_code = false;
        for c in line.chars() {
            if c == '`' {
                in_code = !in_code;
                out.push('`');
            } else {
                out.push(if in_code { ' ' } else { c });
            }
        }
        lines.push((n + 1, out));
    }
    lines
}

/// The targets of inline links `[text](target)` on prose lines, with their line numbers.
fn link_targets(text: &str) -> Vec<(usize, String)> {
    let mut targets = Vec::new();
    for (n, line) in prose_lines(text) {
        let mut rest = line.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end].split_whitespace().next().unwrap_or("");
            targets.push((n, target.to_string()));
            rest = &after[end..];
        }
    }
    targets
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every anchor a Markdown page offers, duplicates numbered as GitHub does (`-1`, `-2`).
fn anchors(text: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#');
        if !heading.starts_with(' ') {
            continue;
        }
        let base = slug(heading);
        let mut candidate = base.clone();
        let mut k = 0;
        while seen.contains(&candidate) {
            k += 1;
            candidate = format!("{base}-{k}");
        }
        seen.insert(candidate);
    }
    seen
}

/// What is wrong with the links of one page, one line per broken link.
fn broken_links(page: &Path, text: &str) -> Vec<String> {
    let dir = page.parent().expect("a page has a directory");
    let mut broken = Vec::new();
    for (line, target) in link_targets(text) {
        if target.is_empty()
            || target.starts_with("http://")
            || target.starts_with("https://")
            || target.starts_with("mailto:")
        {
            continue;
        }
        let (path, fragment) = match target.split_once('#') {
            Some((p, f)) => (p, Some(f)),
            None => (target.as_str(), None),
        };
        let file = if path.is_empty() {
            page.to_path_buf()
        } else {
            dir.join(path)
        };
        let shown = format!("{}:{line}: `{target}`", page.display());
        if !file.exists() {
            broken.push(format!("{shown}: no such file"));
            continue;
        }
        if let Some(fragment) = fragment {
            if file.extension().is_some_and(|e| e == "md") {
                let target_text = std::fs::read_to_string(&file).expect("a readable page");
                if !anchors(&target_text).contains(fragment) {
                    broken.push(format!("{shown}: no heading with that anchor"));
                }
            }
        }
    }
    broken
}

#[test]
fn every_relative_link_in_the_readme_and_docs_resolves() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("a readable page");
        broken.extend(broken_links(&page, &text));
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_readme_stays_short_and_links_into_docs() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let lines = readme.lines().count();
    assert!(
        lines < 150,
        "README.md has {lines} lines; move detail into docs/"
    );
    for page in [
        "docs/index.md",
        "docs/manifest.md",
        "docs/commands.md",
        "docs/ci.md",
    ] {
        assert!(
            readme.contains(&format!("]({page}")),
            "README.md does not link {page}"
        );
    }
}

#[test]
fn a_missing_file_or_anchor_is_reported() {
    let page = root().join("docs/index.md");
    let text = "See [gone](no-such-page.md), [bad anchor](ci.md#no-such-heading), \
                [fine](ci.md#the-github-action) and `[in code](nowhere.md)`.\n\
                ```\n[in a fence](nowhere.md)\n```\n";
    let broken = broken_links(&page, text);
    assert_eq!(broken.len(), 2, "{broken:#?}");
    assert!(broken[0].contains("no-such-page.md") && broken[0].contains("no such file"));
    assert!(broken[1].contains("no-such-heading") && broken[1].contains("anchor"));
}

#[test]
fn anchors_follow_github_slugs() {
    let a = anchors(
        "# Title\n## `redactctl validate PATHS…`\n## Applying: `redactctl apply`\n## Title\n",
    );
    for want in [
        "title",
        "redactctl-validate-paths",
        "applying-redactctl-apply",
        "title-1",
    ] {
        assert!(a.contains(want), "{want} not in {a:?}");
    }
}

#[test]
fn the_readme_and_docs_name_no_issue_numbers() {
    let mut found = Vec::new();
    let mut pages = vec![root().join("README.md")];
    pages.extend(pages_in_docs());
    for page in pages {
        let text = std::fs::read_to_string(&page).expect("a readable page");
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            for marker in ["issue ", "issue #", "(#", " #"] {
                let mut rest = lower.as_str();
                while let Some(i) = rest.find(marker) {
                    rest = &rest[i + marker.len()..];
                    if rest.starts_with(|c: char| c.is_ascii_digit()) {
                        found.push(format!("{}:{}: {line}", page.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "history belongs in CHANGELOG.md:\n{}",
        found.join("\n")
    );
}
