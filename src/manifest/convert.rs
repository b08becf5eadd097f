//! From a spanned YAML document to the manifest's values, by hand, collecting every problem
//! instead of stopping at the first: unknown and duplicate fields, wrong types, bad enum
//! values, names and ids. Problems that need several documents (duplicates across files,
//! conflicting `account`) are left to `checks`.

use crate::deadline::{Date, Regulation};
use crate::kinds::ObjectKind;

use super::desired::{AccountSpec, Behavior, DesiredState, Mode, Via};
use super::diagnostic::{Diagnostic, Severity};
use super::model::{
    FixKind, ACCOUNT_FIELDS, DEFAULTS_FIELDS, ENTRY_FIELDS, EXTENSION_FIELDS, TOP_FIELDS, VERSION,
};
use super::source::{Files, Place};
use super::yaml::{Node, NodeKind, ScalarStyle};
use super::{ids, lint};

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed<T> {
    pub value: T,
    pub at: Place,
}

/// `defaults`, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefaultsSpec {
    pub validation_behavior: Option<Behavior>,
    pub state: Option<DesiredState>,
    pub via: Option<Via>,
    pub allowed_fixes: Option<Vec<FixKind>>,
    pub regulation: Option<Regulation>,
    pub require_received: Option<bool>,
}

/// An entry's `extension`, as written (every field is required).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawExtension {
    /// Where `extension:` is written.
    pub at: Place,
    pub until: Placed<Date>,
    pub reason: Placed<String>,
    pub notified: Placed<Date>,
}

/// One entry of `redactions`, before defaults are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    pub name: Placed<String>,
    pub ticket: Option<Placed<String>>,
    /// In the order written; duplicates are kept here and reported by `checks`.
    pub objects: Vec<Placed<crate::kinds::ObjectRef>>,
    /// Where each kind's key is written, for `via` misuse.
    pub kinds: Vec<Placed<ObjectKind>>,
    pub validation_behavior: Option<Placed<Behavior>>,
    pub state: Option<Placed<DesiredState>>,
    pub via: Option<Placed<Via>>,
    pub received: Option<Placed<Date>>,
    pub regulation: Option<Placed<Regulation>>,
    pub due: Option<Placed<Date>>,
    pub extension: Option<RawExtension>,
    /// A deadline field was written but could not be read (already reported): the
    /// deadline checks skip the entry rather than report a "missing" field.
    pub deadline_unreadable: bool,
    pub allowed_fixes: Option<Vec<FixKind>>,
}

/// What one document declares.
#[derive(Debug, Default)]
pub struct DocOut {
    pub account: Option<Placed<AccountSpec>>,
    /// Whether the document has an `account` key at all (even an invalid one).
    pub account_written: bool,
    pub defaults: Option<Placed<DefaultsSpec>>,
    pub entries: Vec<RawEntry>,
}

/// Whether a document has any of the top-level manifest keys (the rule that tells a
/// manifest from other YAML found in a directory).
pub fn looks_like_manifest(doc: &Node) -> bool {
    match &doc.kind {
        NodeKind::Map(entries) => entries
            .iter()
            .any(|(k, _)| k.as_scalar().is_some_and(|k| TOP_FIELDS.contains(&k))),
        _ => false,
    }
}

/// Converts one document of file `file`, appending problems to `diags`.
pub fn convert_document(
    files: &Files,
    file: usize,
    doc: &Node,
    diags: &mut Vec<Diagnostic>,
) -> DocOut {
    let mut cx = Cx { files, file, diags };
    let mut out = DocOut::default();
    report_aliases(&mut cx, doc);
    if !matches!(doc.kind, NodeKind::Map(_)) {
        let d = cx.error(
            format!(
                "a manifest document must be a mapping with `version`, `account`, `defaults` or `redactions`; found {}",
                doc.describe()
            ),
            doc,
        );
        cx.push(d.with_hint("start the document with `version: 1`"));
        return out;
    }
    let Some(fields) = cx.fields(doc, TOP_FIELDS, "a manifest") else {
        return out;
    };
    match fields.get("version") {
        None => {
            let d = cx.error("missing `version`", doc);
            cx.push(d.with_hint("add `version: 1` at the top of the document"));
        }
        Some((_, v)) => cx.version(v),
    }
    if let Some((key, v)) = fields.get("account") {
        if !v.is_null() {
            out.account_written = true;
            out.account = cx.account(key, v);
        }
    }
    if let Some((key, v)) = fields.get("defaults") {
        if !v.is_null() {
            out.defaults = cx.defaults(key, v);
        }
    }
    if let Some((_, v)) = fields.get("redactions") {
        match &v.kind {
            NodeKind::Seq(items) => {
                for item in items {
                    if let Some(entry) = cx.entry(item) {
                        out.entries.push(entry);
                    }
                }
            }
            _ if v.is_null() => {}
            _ => {
                let d = cx.error(
                    format!(
                        "`redactions` must be a list of entries; found {}",
                        v.describe()
                    ),
                    v,
                );
                cx.push(d.with_hint("write each entry as `- name: …` on its own line"));
            }
        }
    }
    out
}

/// Converts one item of a document's `redactions` list (the loader streams them, so that
/// a huge manifest is never held as one tree).
pub fn convert_entry(
    files: &Files,
    file: usize,
    item: &Node,
    diags: &mut Vec<Diagnostic>,
) -> Option<RawEntry> {
    let mut cx = Cx { files, file, diags };
    report_aliases(&mut cx, item);
    cx.entry(item)
}

/// Aliases are never expanded (an alias bomb must cost nothing), so each one is an error.
fn report_aliases(cx: &mut Cx, node: &Node) {
    let mut stack = vec![node];
    let mut reported = 0;
    while let Some(n) = stack.pop() {
        match &n.kind {
            NodeKind::Alias => {
                reported += 1;
                if reported <= 3 {
                    let d = cx.error("YAML aliases (`*name`) are not supported in manifests", n);
                    cx.push(d.with_hint(
                        "write the value out in full: a manifest should read the same to every reviewer",
                    ));
                }
            }
            NodeKind::Seq(items) => stack.extend(items.iter().rev()),
            NodeKind::Map(entries) => {
                for (k, v) in entries.iter().rev() {
                    stack.push(v);
                    stack.push(k);
                }
            }
            NodeKind::Scalar { .. } => {}
        }
    }
}

/// The fields of a mapping that the loader knows, by name: (key node, value node).
struct Fields<'a> {
    found: Vec<(&'static str, &'a Node, &'a Node)>,
}

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> Option<(&'a Node, &'a Node)> {
        self.found
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, k, v)| (*k, *v))
    }
}

struct Cx<'f, 'd> {
    files: &'f Files,
    file: usize,
    diags: &'d mut Vec<Diagnostic>,
}

impl Cx<'_, '_> {
    fn place(&self, node: &Node) -> Place {
        self.files.place(self.file, node)
    }

    fn error(&self, message: impl Into<String>, node: &Node) -> Diagnostic {
        self.files.error(message, self.place(node))
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Checks that `node` is a mapping of known, unique, plain keys; reports every unknown
    /// or repeated key. `None` when `node` is not a mapping at all.
    fn fields<'a>(
        &mut self,
        node: &'a Node,
        allowed: &'static [&'static str],
        what: &str,
    ) -> Option<Fields<'a>> {
        let NodeKind::Map(entries) = &node.kind else {
            let d = self.error(
                format!(
                    "{what} must be a mapping of fields; found {}",
                    node.describe()
                ),
                node,
            );
            self.push(d.with_hint(format!("fields here: {}", allowed.join(", "))));
            return None;
        };
        let mut found: Vec<(&'static str, &'a Node, &'a Node)> = Vec::new();
        for (key, value) in entries {
            let Some(name) = key.as_scalar() else {
                let d = self.error(
                    format!("keys must be plain names; found {}", key.describe()),
                    key,
                );
                self.push(d);
                continue;
            };
            let Some(known) = allowed.iter().find(|a| **a == name) else {
                let mut d = self.error(format!("unknown field `{name}` in {what}"), key);
                d = match suggest(name, allowed) {
                    Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                    None => d.with_hint(format!("fields here: {}", allowed.join(", "))),
                };
                self.push(d);
                continue;
            };
            if let Some((_, first, _)) = found.iter().find(|(n, _, _)| n == known) {
                let d = self.error(format!("duplicate field `{name}` in {what}"), key);
                let d = self
                    .files
                    .relate(d, self.place(first), "first written here")
                    .with_hint("keep one of them");
                self.push(d);
                continue;
            }
            found.push((known, key, value));
        }
        Some(Fields { found })
    }

    fn version(&mut self, v: &Node) {
        match &v.kind {
            NodeKind::Scalar {
                value,
                style: ScalarStyle::Plain,
            } if value == &VERSION.to_string() => {}
            NodeKind::Scalar {
                value,
                style: ScalarStyle::Plain,
            } if value.parse::<u64>().is_ok() => {
                let d = self.error(
                    format!("unsupported manifest version `{value}`: this redactctl reads version {VERSION}"),
                    v,
                );
                self.push(d.with_hint("upgrade redactctl, or write `version: 1`"));
            }
            NodeKind::Scalar { value, style } if *style != ScalarStyle::Plain && value == "1" => {
                let d = self.error("`version` must be the number 1, not a quoted string", v);
                self.push(d.with_hint("write `version: 1` without quotes"));
            }
            _ => {
                let shown = v
                    .as_scalar()
                    .map(|s| format!("`{s}`"))
                    .unwrap_or_else(|| v.describe().to_string());
                let d = self.error(
                    format!("invalid `version` {shown}: expected the number 1"),
                    v,
                );
                self.push(d.with_hint("write `version: 1`"));
            }
        }
    }

    /// A scalar string field; reports other node types.
    fn string(&mut self, field: &str, v: &Node) -> Option<String> {
        match &v.kind {
            NodeKind::Scalar { value, .. } if !v.is_null() => Some(value.clone()),
            _ => {
                let d = self.error(
                    format!("`{field}` must be a string; found {}", v.describe()),
                    v,
                );
                self.push(d);
                None
            }
        }
    }

    /// A field with a fixed set of values.
    fn choice<T: Copy>(
        &mut self,
        field: &str,
        v: &Node,
        choices: &[(&'static str, T)],
    ) -> Option<T> {
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        let Some(text) = v.as_scalar().filter(|_| !v.is_null()) else {
            let d = self.error(
                format!(
                    "`{field}` must be one of {}; found {}",
                    names.join(", "),
                    v.describe()
                ),
                v,
            );
            self.push(d);
            return None;
        };
        if let Some((_, value)) = choices.iter().find(|(n, _)| *n == text) {
            return Some(*value);
        }
        let d = self.error(
            format!(
                "invalid `{field}` value `{text}`: expected one of {}",
                names.join(", ")
            ),
            v,
        );
        let d = match suggest(text, &names) {
            Some(s) => d.with_hint(format!("did you mean `{s}`?")),
            None => d,
        };
        self.push(d);
        None
    }

    fn behavior(&mut self, v: &Node) -> Option<Behavior> {
        self.choice(
            "validation_behavior",
            v,
            &[("error", Behavior::Error), ("fix", Behavior::Fix)],
        )
    }

    /// `allowed_fixes: [cancel_payment_intent, …]`: every item one kind of Stripe's fix
    /// table; sorted, without duplicates.
    fn allowed_fixes(&mut self, v: &Node) -> Option<Vec<FixKind>> {
        let NodeKind::Seq(items) = &v.kind else {
            let d = self.error(
                format!(
                    "`allowed_fixes` must be a list of fix kinds; found {}",
                    v.describe()
                ),
                v,
            );
            self.push(d.with_hint("e.g. `allowed_fixes: [cancel_payment_intent, void_invoice]`"));
            return None;
        };
        let choices: Vec<(&'static str, FixKind)> =
            FixKind::ALL.iter().map(|k| (k.as_str(), *k)).collect();
        let mut out = Vec::new();
        let mut ok = true;
        for item in items {
            match self.choice("allowed_fixes", item, &choices) {
                Some(k) => out.push(k),
                None => ok = false,
            }
        }
        out.sort();
        out.dedup();
        ok.then_some(out)
    }

    fn state(&mut self, v: &Node) -> Option<DesiredState> {
        self.choice(
            "state",
            v,
            &[
                ("validated", DesiredState::Validated),
                ("redacted", DesiredState::Redacted),
                ("canceled", DesiredState::Canceled),
            ],
        )
    }

    fn via(&mut self, v: &Node) -> Option<Via> {
        self.choice(
            "via",
            v,
            &[
                ("redaction_job", Via::RedactionJob),
                ("identity_redact", Via::IdentityRedact),
            ],
        )
    }

    fn regulation(&mut self, v: &Node) -> Option<Regulation> {
        let choices: Vec<(&'static str, Regulation)> =
            Regulation::ALL.iter().map(|r| (r.as_str(), *r)).collect();
        self.choice("regulation", v, &choices)
    }

    /// `true` or `false`, unquoted.
    fn boolean(&mut self, field: &str, v: &Node) -> Option<bool> {
        match &v.kind {
            NodeKind::Scalar {
                value,
                style: ScalarStyle::Plain,
            } if value == "true" || value == "false" => Some(value == "true"),
            _ => {
                let d = self.error(
                    format!(
                        "`{field}` must be `true` or `false`; found {}",
                        v.describe()
                    ),
                    v,
                );
                self.push(d);
                None
            }
        }
    }

    /// A `YYYY-MM-DD` date.
    fn date(&mut self, field: &str, v: &Node) -> Option<Placed<Date>> {
        let text = self.string(field, v)?;
        match text.parse::<Date>() {
            Ok(date) => self.placed(Some(date), v),
            Err(e) => {
                let d = self.error(format!("invalid `{field}`: {e}"), v);
                self.push(d.with_hint(format!("write the date as `{field}: 2026-01-31`")));
                None
            }
        }
    }

    /// `received`, `regulation`, `due` and `extension` of an entry.
    fn deadline_fields(&mut self, fields: &Fields<'_>, entry: &mut RawEntry) {
        let mut unreadable = false;
        for (field, slot) in [("received", &mut entry.received), ("due", &mut entry.due)] {
            if let Some((_, n)) = fields.get(field).filter(|(_, n)| !n.is_null()) {
                *slot = self.date(field, n);
                unreadable |= slot.is_none();
            }
        }
        if let Some((_, n)) = fields.get("regulation").filter(|(_, n)| !n.is_null()) {
            let r = self.regulation(n);
            entry.regulation = self.placed(r, n);
            unreadable |= entry.regulation.is_none();
        }
        if let Some((key, n)) = fields.get("extension").filter(|(_, n)| !n.is_null()) {
            entry.extension = self.extension(key, n);
            unreadable |= entry.extension.is_none();
        }
        entry.deadline_unreadable = unreadable;
    }

    fn extension(&mut self, key: &Node, v: &Node) -> Option<RawExtension> {
        let fields = self.fields(v, EXTENSION_FIELDS, "`extension`")?;
        let mut missing = Vec::new();
        let until = match fields.get("until") {
            Some((_, n)) => self.date("until", n),
            None => {
                missing.push("until");
                None
            }
        };
        let notified = match fields.get("notified") {
            Some((_, n)) => self.date("notified", n),
            None => {
                missing.push("notified");
                None
            }
        };
        let reason = match fields.get("reason") {
            Some((_, n)) => {
                let r = self.string("reason", n);
                if let Some(r) = &r {
                    self.lint_personal_data("extension.reason", r, n);
                }
                self.placed(r, n)
            }
            None => {
                missing.push("reason");
                None
            }
        };
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
            let d = self.error(format!("`extension` is missing {}", list.join(", ")), key);
            self.push(d.with_hint(
                "an extension records `until:` (the new due date), `reason:` and `notified:` (the day the requester was told)",
            ));
        }
        Some(RawExtension {
            at: self.place(key),
            until: until?,
            reason: reason?,
            notified: notified?,
        })
    }

    fn account_id(&mut self, field: &str, v: &Node) -> Option<String> {
        let id = self.string(field, v)?;
        let ok = id.starts_with("acct_")
            && id.len() > 5
            && id.len() <= 255
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ok {
            Some(id)
        } else {
            let d = self.error(
                format!(
                    "`{field}` `{}` is not a Stripe account id",
                    id.escape_debug()
                ),
                v,
            );
            self.push(d.with_hint("account ids look like `acct_1Example`"));
            None
        }
    }

    fn account(&mut self, key: &Node, v: &Node) -> Option<Placed<AccountSpec>> {
        let fields = self.fields(v, ACCOUNT_FIELDS, "`account`")?;
        let mode = match fields.get("mode") {
            Some((_, m)) => self.choice("mode", m, &[("test", Mode::Test), ("live", Mode::Live)]),
            None => {
                let d = self.error("`account` is missing `mode`", key);
                self.push(d.with_hint("add `mode: test` or `mode: live` under `account:`"));
                None
            }
        };
        let id = match fields.get("id") {
            Some((_, n)) if !n.is_null() => self.account_id("id", n),
            _ => None,
        };
        let connected_account = match fields.get("connected_account") {
            Some((_, n)) if !n.is_null() => self.account_id("connected_account", n),
            _ => None,
        };
        Some(Placed {
            value: AccountSpec {
                mode: mode?,
                id,
                connected_account,
            },
            at: self.place(key),
        })
    }

    fn defaults(&mut self, key: &Node, v: &Node) -> Option<Placed<DefaultsSpec>> {
        let fields = self.fields(v, DEFAULTS_FIELDS, "`defaults`")?;
        let mut spec = DefaultsSpec::default();
        if let Some((_, n)) = fields
            .get("validation_behavior")
            .filter(|(_, n)| !n.is_null())
        {
            spec.validation_behavior = self.behavior(n);
        }
        if let Some((_, n)) = fields.get("state").filter(|(_, n)| !n.is_null()) {
            spec.state = self.state(n);
        }
        if let Some((_, n)) = fields.get("via").filter(|(_, n)| !n.is_null()) {
            spec.via = self.via(n);
        }
        if let Some((_, n)) = fields.get("regulation").filter(|(_, n)| !n.is_null()) {
            spec.regulation = self.regulation(n);
        }
        if let Some((_, n)) = fields.get("require_received").filter(|(_, n)| !n.is_null()) {
            spec.require_received = self.boolean("require_received", n);
        }
        if let Some((_, n)) = fields.get("allowed_fixes").filter(|(_, n)| !n.is_null()) {
            spec.allowed_fixes = self.allowed_fixes(n);
        }
        Some(Placed {
            value: spec,
            at: self.place(key),
        })
    }

    /// Warns when a `name` or `ticket` looks like it carries personal data.
    fn lint_personal_data(&mut self, field: &str, text: &str, node: &Node) {
        if let Some(found) = lint::find_personal_data(text) {
            let d = self.files.diag(
                Severity::Warning,
                format!("`{field}` looks like it contains {}", found.describe()),
                self.place(node),
            );
            self.push(d.with_hint(
                "manifests live in git: refer to the request by its ticket number, never by the person's contact details",
            ));
        }
    }

    fn placed<T>(&self, value: Option<T>, node: &Node) -> Option<Placed<T>> {
        value.map(|value| Placed {
            value,
            at: self.place(node),
        })
    }

    /// An entry's name: a string in the safe alphabet (also linted for personal data).
    fn name(&mut self, n: &Node) -> Option<Placed<String>> {
        let name = self.string("name", n)?;
        self.lint_personal_data("name", &name, n);
        match ids::name_problem(&name) {
            None => self.placed(Some(name), n),
            Some(problem) => {
                let d = self.error(
                    format!("invalid entry name `{}`: it {problem}", name.escape_debug()),
                    n,
                );
                self.push(
                    d.with_hint("names match [a-z0-9][a-z0-9._-]{0,63}, e.g. `dsr-2026-0142`"),
                );
                None
            }
        }
    }

    fn entry(&mut self, item: &Node) -> Option<RawEntry> {
        let fields = self.fields(item, ENTRY_FIELDS, "a redaction entry")?;
        let name = match fields.get("name") {
            None => {
                let d = self.error("redaction entry without `name`", item);
                self.push(d.with_hint("give every entry a unique `name:`, e.g. `dsr-2026-0142`"));
                None
            }
            Some((_, n)) => self.name(n),
        };
        let ticket = match fields.get("ticket") {
            Some((_, n)) if !n.is_null() => {
                let t = self.string("ticket", n);
                if let Some(t) = &t {
                    self.lint_personal_data("ticket", t, n);
                }
                self.placed(t, n)
            }
            _ => None,
        };
        let named = name.is_some();
        let mut entry = RawEntry {
            name: name.unwrap_or_else(|| Placed {
                value: String::new(),
                at: self.place(item),
            }),
            ticket,
            objects: Vec::new(),
            kinds: Vec::new(),
            validation_behavior: None,
            state: None,
            via: None,
            received: None,
            regulation: None,
            due: None,
            extension: None,
            deadline_unreadable: false,
            allowed_fixes: None,
        };
        match fields.get("objects") {
            None => {
                let d = self.error("redaction entry without `objects`", item);
                self.push(
                    d.with_hint("list the ids to redact, e.g. `objects: {customers: [cus_…]}`"),
                );
            }
            Some((key, v)) => self.objects(key, v, &mut entry),
        }
        if let Some((_, n)) = fields
            .get("validation_behavior")
            .filter(|(_, n)| !n.is_null())
        {
            let b = self.behavior(n);
            entry.validation_behavior = self.placed(b, n);
        }
        if let Some((_, n)) = fields.get("state").filter(|(_, n)| !n.is_null()) {
            let s = self.state(n);
            entry.state = self.placed(s, n);
        }
        if let Some((_, n)) = fields.get("via").filter(|(_, n)| !n.is_null()) {
            let v = self.via(n);
            entry.via = self.placed(v, n);
        }
        self.deadline_fields(&fields, &mut entry);
        if let Some((_, n)) = fields.get("allowed_fixes").filter(|(_, n)| !n.is_null()) {
            entry.allowed_fixes = self.allowed_fixes(n);
        }
        named.then_some(entry)
    }

    fn objects(&mut self, key: &Node, v: &Node, entry: &mut RawEntry) {
        let NodeKind::Map(kinds) = &v.kind else {
            let what = if v.is_null() { "nothing" } else { v.describe() };
            let d = self.error(
                format!(
                    "`objects` must be a mapping of object kind to a list of ids; found {what}"
                ),
                if v.is_null() { key } else { v },
            );
            let hint = match v
                .as_scalar()
                .filter(|_| !v.is_null())
                .and_then(ids::owner_of_prefix)
            {
                Some(kind) => format!(
                    "write `objects: {{{kind}: [{}]}}`",
                    v.as_scalar().unwrap_or("")
                ),
                None => "write e.g. `objects: {customers: [cus_…]}`".to_string(),
            };
            self.push(d.with_hint(hint));
            return;
        };
        let problems_before = self.diags.len();
        let mut seen_kinds: Vec<(ObjectKind, &Node)> = Vec::new();
        let mut any_id = false;
        for (k, ids_node) in kinds {
            let Some(kind_name) = k.as_scalar() else {
                let d = self.error(
                    format!("object kinds must be plain names; found {}", k.describe()),
                    k,
                );
                self.push(d);
                continue;
            };
            let kind = match kind_name.parse::<ObjectKind>() {
                Ok(kind) => kind,
                Err(_) => {
                    let all: Vec<&str> = ObjectKind::ALL.iter().map(|k| k.as_str()).collect();
                    let d = self.error(format!("unknown object kind `{kind_name}`"), k);
                    let d = match suggest(kind_name, &all) {
                        Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                        None => d.with_hint(format!("kinds: {}", all.join(", "))),
                    };
                    self.push(d);
                    continue;
                }
            };
            if let Some((_, first)) = seen_kinds.iter().find(|(sk, _)| *sk == kind) {
                let d = self.error(format!("duplicate object kind `{kind}`"), k);
                let d = self
                    .files
                    .relate(d, self.place(first), "first written here")
                    .with_hint("merge the two lists");
                self.push(d);
                continue;
            }
            seen_kinds.push((kind, k));
            entry.kinds.push(Placed {
                value: kind,
                at: self.place(k),
            });
            let list: Vec<&Node> = match &ids_node.kind {
                NodeKind::Seq(items) => items.iter().collect(),
                _ if ids_node.is_null() => Vec::new(),
                NodeKind::Scalar { value, .. } => {
                    let d = self.error(
                        format!("`{kind}` must be a list of ids; found a string"),
                        ids_node,
                    );
                    self.push(d.with_hint(format!("write `{kind}: [{value}]`")));
                    any_id = true;
                    continue;
                }
                _ => {
                    let d = self.error(
                        format!(
                            "`{kind}` must be a list of ids; found {}",
                            ids_node.describe()
                        ),
                        ids_node,
                    );
                    self.push(d);
                    continue;
                }
            };
            for id_node in list {
                any_id = true;
                let Some(id) = id_node.as_scalar() else {
                    let d = self.error(
                        format!("expected an id; found {}", id_node.describe()),
                        id_node,
                    );
                    self.push(d);
                    continue;
                };
                let id = if id_node.is_null() { "" } else { id };
                match ids::check_id(kind, id) {
                    Ok(()) => entry.objects.push(Placed {
                        value: crate::kinds::ObjectRef::new(kind, id),
                        at: self.place(id_node),
                    }),
                    Err(problem) => {
                        let (message, hint) = ids::describe(kind, id, &problem);
                        let d = self.error(message, id_node);
                        self.push(d.with_hint(hint));
                    }
                }
            }
        }
        if !any_id && self.diags.len() == problems_before {
            let d = self.error(
                format!("entry `{}` names no objects", entry.name.value),
                if kinds.is_empty() { key } else { v },
            );
            self.push(d.with_hint("list at least one id, or remove the entry"));
        }
    }
}

/// The allowed word closest to `word` (by edit distance), if close enough to be a typo.
pub fn suggest<'a>(word: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    allowed
        .iter()
        .map(|a| (levenshtein(&lower, a), *a))
        .filter(|(d, a)| *d <= (a.len() / 3).max(2) || a.starts_with(&lower) && lower.len() >= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(
            suggest("customer", &["customers", "charges"]),
            Some("customers")
        );
        assert_eq!(
            suggest("valdation_behavior", ENTRY_FIELDS),
            Some("validation_behavior")
        );
        assert_eq!(
            suggest("redact", &["validated", "redacted", "canceled"]),
            Some("redacted")
        );
        assert_eq!(suggest("zebra", &["customers", "charges"]), None);
    }

    fn load(text: &str) -> Result<crate::manifest::Loaded, crate::manifest::LoadFailure> {
        crate::manifest::load_bytes(std::path::Path::new("m.yaml"), text.as_bytes().to_vec())
    }

    #[test]
    fn allowed_fixes_come_from_the_entry_else_the_defaults() {
        let loaded = load(
            "version: 1\naccount: {mode: test}\ndefaults:\n  allowed_fixes: [void_invoice]\n\
             redactions:\n  - name: a\n    objects: {customers: [cus_1]}\n\
             \x20   allowed_fixes: [detach_card, cancel_payment_intent, detach_card]\n\
             \x20 - name: b\n    objects: {customers: [cus_2]}\n",
        )
        .unwrap();
        let e = &loaded.desired.entries;
        assert_eq!(
            e[0].allowed_fixes,
            [FixKind::CancelPaymentIntent, FixKind::DetachCard]
        );
        assert_eq!(e[1].allowed_fixes, [FixKind::VoidInvoice]);
    }

    #[test]
    fn an_unknown_fix_kind_is_an_error_with_a_suggestion() {
        let err = load(
            "version: 1\naccount: {mode: test}\nredactions:\n  - name: a\n\
             \x20   objects: {customers: [cus_1]}\n    allowed_fixes: [void_invoices]\n",
        )
        .unwrap_err();
        let text: Vec<String> = err.diagnostics.iter().map(|d| format!("{d:?}")).collect();
        let text = text.join("\n");
        assert!(text.contains("allowed_fixes"), "{text}");
        assert!(text.contains("void_invoice"), "{text}");
    }
}
