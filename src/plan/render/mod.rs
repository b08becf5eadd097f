//! The views of a plan: one plan, three renderings (Terraform keeps planning apart from
//! its views the same way). None of them decides anything.

mod human;
mod markdown;

pub use human::{closing_line, render_human};
pub use markdown::{
    render_markdown, render_markdown_budgeted, MarkdownOptions, DEFAULT_MAX_BYTES, MIN_MAX_BYTES,
};

use super::model::Plan;

/// The JSON view: the plan itself (what `plan --out` saves), pretty, with a trailing
/// newline.
pub fn render_json(plan: &Plan) -> String {
    // Serializing these types cannot fail: every map key is a string.
    let mut s = serde_json::to_string_pretty(plan).unwrap_or_default();
    s.push('\n');
    s
}
