//! Receipts as one self-contained HTML page fit to print: inline CSS, no external assets,
//! no scripts, one section per request (each starting a new printed page). Every value is
//! escaped: ids and tickets come from files a user controls.

use std::fmt::Write;

use super::render::{completion_phrase, confirmation, due_of};
use super::{Receipt, Receipts};

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#111}\
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #999}\
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #bbb;padding:.2em .5em;text-align:left;vertical-align:top}\
code{font-family:monospace;font-size:.9em}.late{color:#a00;font-weight:bold}\
.unconfirmed{color:#a00;font-weight:bold}section{margin-top:1.5em}\
@media print{section+section{page-break-before:always}body{margin:1cm}}";

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page.
pub fn render_html(doc: &Receipts) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Redaction receipts</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>Redaction receipts</h1>\n"
    );
    let _ = writeln!(
        out,
        "<table><tr><th>Account</th><td><code>{}</code></td></tr><tr><th>Mode</th><td>{}</td></tr><tr><th>Manifests' commit</th><td><code>{}</code></td></tr></table>",
        esc(doc.account.as_deref().unwrap_or("unknown")),
        esc(&doc.mode),
        esc(doc.commit.as_deref().unwrap_or("unknown")),
    );
    for r in &doc.receipts {
        section(&mut out, r);
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn row(out: &mut String, name: &str, value_html: &str) {
    let _ = writeln!(out, "<tr><th>{}</th><td>{value_html}</td></tr>", esc(name));
}

fn section(out: &mut String, r: &Receipt) {
    let _ = writeln!(out, "<section>\n<h2>{}</h2>", esc(&r.entry));
    if !r.certified {
        let _ = writeln!(
            out,
            "<p class=\"unconfirmed\">Unconfirmed: Stripe did not confirm every job below; this receipt certifies nothing.</p>"
        );
    }
    out.push_str("<table>\n");
    row(out, "Ticket", &esc(r.ticket.as_deref().unwrap_or("")));
    row(out, "State", &esc(&r.state));
    if let Some(d) = &r.deadline {
        row(
            out,
            "Regulation",
            &esc(d.regulation.as_deref().unwrap_or("none")),
        );
        row(
            out,
            "Received",
            &esc(d.received.as_deref().unwrap_or("unknown")),
        );
        row(out, "Due", &esc(d.due.as_deref().unwrap_or("unknown")));
        if let Some(e) = &d.extension {
            row(
                out,
                "Extension",
                &esc(&format!(
                    "until {} ({}), requester notified {}",
                    e.until, e.reason, e.notified
                )),
            );
        }
        if let Some(due) = due_of(r) {
            row(out, "Date that counts", &esc(&due));
        }
    }
    match &r.completion {
        Some(c) => {
            let class = if c.late { " class=\"late\"" } else { "" };
            row(
                out,
                "Completed at",
                &format!(
                    "{} by <code>{}</code> — <span{class}>{}</span><br><small>{}</small>",
                    esc(&c.at),
                    esc(&c.job),
                    esc(&completion_phrase(r)),
                    esc(&c.source)
                ),
            );
        }
        None => row(out, "Completed at", "not completed"),
    }
    row(
        out,
        "Objects",
        &r.objects
            .iter()
            .map(|o| format!("<code>{}</code>", esc(o)))
            .collect::<Vec<_>>()
            .join(", "),
    );
    row(
        out,
        "Fixes applied",
        &esc(&if r.fixes.is_empty() {
            "none recorded".to_string()
        } else {
            r.fixes.join("; ")
        }),
    );
    row(
        out,
        "Approved by",
        &esc(&if r.approved_by.is_empty() {
            "not recorded".to_string()
        } else {
            r.approved_by.join(", ")
        }),
    );
    out.push_str("</table>\n");
    if !r.jobs.is_empty() {
        out.push_str("<table>\n<tr><th>Job</th><th>Status</th><th>Stripe</th><th>Step</th><th>Time</th><th>Outcome</th></tr>\n");
        for j in &r.jobs {
            let conf = confirmation(j);
            let class = if j.confirmed {
                ""
            } else {
                " class=\"unconfirmed\""
            };
            let head = format!(
                "<td><code>{}</code></td><td>{}</td><td{class}>{}</td>",
                esc(&j.id),
                esc(&j.status),
                esc(&conf)
            );
            if j.steps.is_empty() {
                let _ = writeln!(out, "<tr>{head}<td></td><td></td><td></td></tr>");
            }
            for s in &j.steps {
                let _ = writeln!(
                    out,
                    "<tr>{head}<td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&s.action),
                    esc(&s.time),
                    esc(&s.outcome)
                );
            }
        }
        out.push_str("</table>\n");
    }
    if !r.audit_records.is_empty() {
        out.push_str("<p>Audit records (SHA-256):</p>\n<ul>\n");
        for d in &r.audit_records {
            let _ = writeln!(out, "<li><code>{}</code></li>", esc(d));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        assert_eq!(esc("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }

    #[test]
    fn the_page_loads_nothing_and_runs_nothing() {
        let page = render_html(&Receipts {
            account: Some("acct_1".into()),
            mode: "test".into(),
            commit: None,
            receipts: Vec::new(),
        });
        for banned in ["<script", "src=", "href=", "@import", "url("] {
            assert!(!page.contains(banned), "{banned} in {page}");
        }
    }
}
