//! The Markdown view always fits its budget, says what it left out, and shows what a
//! reviewer must approve first.

use super::{cus, desired, go, job, live, redacted};
use crate::plan::{render_markdown, render_markdown_budgeted, MarkdownOptions, Plan};

/// A plan of `n` new entries, one customer each: a create and an irreversible run each.
fn wide(n: usize) -> Plan {
    let entries = (0..n)
        .map(|i| redacted(&format!("dsr-{i:05}"), &[cus(&format!("cus_{i:05}"))]))
        .collect();
    go(&desired(entries), &live(vec![]))
}

fn opts(max_bytes: usize) -> MarkdownOptions {
    MarkdownOptions {
        max_bytes,
        all_entries: false,
    }
}

/// The rows of the entries table.
fn rows(md: &str) -> usize {
    md.lines().filter(|l| l.starts_with("| `")).count()
}

/// `N` from "truncated: N more …", when there is such a line.
fn truncated(md: &str) -> Option<usize> {
    let rest = md.split("truncated: ").nth(1)?;
    rest.split(' ').next()?.parse().ok()
}

/// Every `<details>` closed and every code fence closed: a cut never breaks the comment.
fn assert_balanced(md: &str) {
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count(),
        "{md}"
    );
    assert_eq!(md.matches("```").count() % 2, 0, "{md}");
}

#[test]
fn a_thousand_entries_fit_the_default_budget_and_the_rest_is_counted() {
    let p = wide(1_000);
    let md = render_markdown(&p);
    assert!(md.len() <= 60_000, "{} bytes", md.len());
    assert!(md.starts_with("### redactctl plan"));
    assert!(md.contains("| entries | 1000: 1000 with changes |"), "{md}");
    assert!(md.contains("| irreversible | **1000**"), "{md}");
    let shown = rows(&md);
    assert!(shown > 10, "the budget is used: {shown} rows");
    assert_eq!(truncated(&md), Some(1_000 - shown), "{md}");
    assert!(md.contains("more entries, full plan in the artifact"));
    assert_eq!(
        md.matches("<details><summary>").count(),
        shown,
        "each row shown has its details"
    );
    assert_balanced(&md);
}

#[test]
fn ten_thousand_entries_fit_any_budget() {
    let p = wide(10_000);
    for max in [4_096, 10_000, 60_000, 65_536] {
        let md = render_markdown_budgeted(&p, opts(max));
        assert!(md.len() <= max, "{} > {max}", md.len());
        let shown = rows(&md);
        assert!(shown >= 1, "{max}: at least one entry");
        assert_eq!(truncated(&md), Some(10_000 - shown), "{max}");
        assert!(md.contains("| entries | 10000: 10000 with changes |"));
        assert_balanced(&md);
    }
}

#[test]
fn a_plan_that_fits_is_shown_whole_without_a_truncation_line() {
    let p = wide(3);
    let md = render_markdown(&p);
    assert_eq!(rows(&md), 3);
    assert_eq!(truncated(&md), None, "{md}");
    assert_balanced(&md);
}

#[test]
fn an_entry_whose_details_alone_exceed_the_budget_is_cut_and_says_so() {
    let objects: Vec<_> = (0..3_000).map(|i| cus(&format!("cus_{i:05}"))).collect();
    let huge = redacted("dsr-huge", &objects);
    let small = redacted("dsr-small", &[cus("cus_small")]);
    let p = go(&desired(vec![huge, small]), &live(vec![]));
    let full = render_markdown_budgeted(&p, opts(10_000_000));
    assert!(full.len() > 60_000, "the entry alone is over budget");
    for max in [4_096, 60_000] {
        let md = render_markdown_budgeted(&p, opts(max));
        assert!(md.len() <= max, "{} > {max}", md.len());
        assert!(md.contains("| `dsr-huge` |"), "its row is shown");
        assert!(md.contains("of this entry: see the full plan in the artifact"));
        assert!(md.contains("<code>dsr-huge</code>"));
        // Repeated actions are counted in the row instead of listed.
        assert!(md.contains("+ create ×300"), "{md}");
        assert_eq!(truncated(&md), Some(1), "dsr-small did not fit");
        assert_balanced(&md);
    }
}

#[test]
fn the_budget_holds_for_every_size_in_between() {
    let p = wide(300);
    for max in (4_096..70_000).step_by(997) {
        let md = render_markdown_budgeted(&p, opts(max));
        assert!(md.len() <= max, "{} > {max}", md.len());
        assert_balanced(&md);
        let shown = rows(&md);
        assert_eq!(truncated(&md).unwrap_or(0) + shown, 300, "{max}");
    }
}

#[test]
fn entries_with_nothing_to_do_are_shown_only_when_asked() {
    let d = desired(vec![
        redacted("done", &[cus("cus_1")]),
        redacted("new", &[cus("cus_2")]),
    ]);
    let p = go(
        &d,
        &live(vec![job("prj_1", 1, "succeeded", "error", &[cus("cus_1")])]),
    );
    let md = render_markdown(&p);
    assert!(md.contains("| `new` |"));
    assert!(!md.contains("| `done` |"), "{md}");
    assert!(md.contains("1 entry with nothing to do"), "{md}");
    assert!(md.contains("`--all-entries` shows it"));
    assert_eq!(truncated(&md), None, "left out on purpose is not truncated");

    let all = render_markdown_budgeted(
        &p,
        MarkdownOptions {
            all_entries: true,
            ..MarkdownOptions::default()
        },
    );
    assert!(all.contains("| `done` |") && all.contains("<code>done</code>: converged"));
    assert!(!all.contains("with nothing to do"));
}

#[test]
fn a_budget_below_the_summary_still_holds() {
    let p = wide(10);
    for max in [0, 10, 200] {
        let md = render_markdown_budgeted(&p, opts(max));
        assert!(md.len() <= max, "{} > {max}", md.len());
    }
    let md = render_markdown_budgeted(&p, opts(400));
    assert!(md.contains("truncated: 10 more entries"), "{md}");
}
