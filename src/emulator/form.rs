//! A panic-free parser for Stripe's form encoding (`application/x-www-form-urlencoded` bodies
//! and query strings) into a tree. Both bracket styles are accepted: `objects[customers][]=a`
//! (curl) and `objects[customers][0]=a` (the SDKs). Any byte string parses to either a tree
//! or a [`FormError`]; it never panics (it is fuzzed with random bodies).

use std::collections::BTreeMap;

use serde::Serialize;

/// One node of a parsed form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Node {
    /// A scalar value (`a=1`).
    Value(String),
    /// A list (`a[]=1&a[]=2` or `a[0]=1&a[1]=2`), in order.
    List(Vec<Node>),
    /// A hash (`a[b]=1`), by key.
    Map(BTreeMap<String, Node>),
}

/// Why a form could not be parsed; `param` is the offending key, as sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FormError {
    /// The key as sent.
    pub param: String,
    /// What is wrong with it.
    pub message: String,
}

/// Intermediate node: lists are kept as index → node until the end so that `[3]` before
/// `[1]` works and huge indexes allocate nothing.
#[derive(Debug)]
enum Build {
    Value(String),
    /// Explicit indexes, plus appended (`[]`) items after them.
    List(BTreeMap<u64, Build>, Vec<Build>),
    Map(BTreeMap<String, Build>),
}

/// A path segment of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(u64),
    Append,
}

/// Parses a whole form. Empty input gives an empty map.
pub fn parse(input: &[u8]) -> Result<BTreeMap<String, Node>, FormError> {
    let mut root: BTreeMap<String, Build> = BTreeMap::new();
    for (key, value) in url::form_urlencoded::parse(input) {
        if key.is_empty() {
            continue;
        }
        let (name, segs) = split_key(&key)?;
        let slot = root.entry(name).or_insert_with(|| empty_for(segs.first()));
        insert(slot, &segs, value.into_owned(), &key)?;
    }
    Ok(root.into_iter().map(|(k, v)| (k, finish(v))).collect())
}

fn empty_for(seg: Option<&Seg>) -> Build {
    match seg {
        None => Build::Value(String::new()),
        Some(Seg::Key(_)) => Build::Map(BTreeMap::new()),
        Some(Seg::Index(_)) | Some(Seg::Append) => Build::List(BTreeMap::new(), Vec::new()),
    }
}

fn conflict(key: &str) -> FormError {
    FormError {
        param: key.to_string(),
        message: format!(
            "Invalid parameter `{key}`: it mixes a value, a list and a hash for the same name."
        ),
    }
}

fn insert(slot: &mut Build, segs: &[Seg], value: String, key: &str) -> Result<(), FormError> {
    let Some((first, rest)) = segs.split_first() else {
        // Leaf: a scalar. A repeated scalar keeps the last value, like Stripe.
        return match slot {
            Build::Value(v) => {
                *v = value;
                Ok(())
            }
            _ => Err(conflict(key)),
        };
    };
    match (slot, first) {
        (Build::Map(map), Seg::Key(k)) => {
            let child = map
                .entry(k.clone())
                .or_insert_with(|| empty_for(rest.first()));
            insert(child, rest, value, key)
        }
        (Build::List(indexed, _), Seg::Index(i)) => {
            let child = indexed.entry(*i).or_insert_with(|| empty_for(rest.first()));
            insert(child, rest, value, key)
        }
        (Build::List(_, appended), Seg::Append) => {
            // `a[][b]=1`: each `[]` starts a new element.
            let mut child = empty_for(rest.first());
            insert(&mut child, rest, value, key)?;
            appended.push(child);
            Ok(())
        }
        _ => Err(conflict(key)),
    }
}

fn finish(b: Build) -> Node {
    match b {
        Build::Value(v) => Node::Value(v),
        Build::Map(m) => Node::Map(m.into_iter().map(|(k, v)| (k, finish(v))).collect()),
        Build::List(indexed, appended) => {
            Node::List(indexed.into_values().chain(appended).map(finish).collect())
        }
    }
}

/// Splits `a[b][0][]` into `a` and its segments.
fn split_key(key: &str) -> Result<(String, Vec<Seg>), FormError> {
    let bad = || FormError {
        param: key.to_string(),
        message: format!("Invalid parameter name `{key}`: unbalanced brackets."),
    };
    let (name, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if name.is_empty() || name.contains(']') {
        return Err(bad());
    }
    let mut segs = Vec::new();
    while !rest.is_empty() {
        if !rest.starts_with('[') {
            return Err(bad());
        }
        let Some(close) = rest.find(']') else {
            return Err(bad());
        };
        let inner = &rest[1..close];
        if inner.contains('[') {
            return Err(bad());
        }
        segs.push(if inner.is_empty() {
            Seg::Append
        } else if !inner.is_empty()
            && inner.len() <= 18
            && inner.bytes().all(|b| b.is_ascii_digit())
        {
            match inner.parse::<u64>() {
                Ok(i) => Seg::Index(i),
                Err(_) => Seg::Key(inner.to_string()),
            }
        } else {
            Seg::Key(inner.to_string())
        });
        rest = &rest[close + 1..];
    }
    if segs.len() > 16 {
        return Err(FormError {
            param: key.to_string(),
            message: format!("Invalid parameter name `{key}`: nested too deeply."),
        });
    }
    Ok((name.to_string(), segs))
}

impl Node {
    /// The scalar, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Value(v) => Some(v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Node {
        Node::Value(s.to_string())
    }

    #[test]
    fn both_bracket_styles_give_the_same_tree() {
        let curl = parse(b"objects[customers][]=cus_1&objects[customers][]=cus_2").unwrap();
        let sdk =
            parse(b"objects%5Bcustomers%5D%5B0%5D=cus_1&objects[customers][1]=cus_2").unwrap();
        assert_eq!(curl, sdk);
        let Node::Map(objects) = &curl["objects"] else {
            panic!("not a map")
        };
        assert_eq!(
            objects["customers"],
            Node::List(vec![v("cus_1"), v("cus_2")])
        );
    }

    #[test]
    fn indexes_are_ordered_and_values_decoded() {
        let f = parse(b"a[1]=second&a[0]=first&b=x+y%21").unwrap();
        assert_eq!(f["a"], Node::List(vec![v("first"), v("second")]));
        assert_eq!(f["b"], v("x y!"));
    }

    #[test]
    fn conflicts_and_bad_brackets_are_errors() {
        assert!(parse(b"a=1&a[b]=2").is_err());
        assert!(parse(b"a[b]=1&a[]=2").is_err());
        assert!(parse(b"a[b=1").is_err());
        assert!(parse(b"[a]=1").is_err());
        assert!(parse(b"a]b=1").is_err());
        let e = parse(b"a[b]x=1").unwrap_err();
        assert_eq!(e.param, "a[b]x");
    }

    #[test]
    fn empty_and_odd_inputs_do_not_fail() {
        assert!(parse(b"").unwrap().is_empty());
        assert!(parse(b"&&=&").unwrap().is_empty());
        assert_eq!(parse(b"a").unwrap()["a"], v(""));
        let huge = parse(b"a[99999999999999999]=1").unwrap();
        assert_eq!(huge["a"], Node::List(vec![v("1")]));
        let long_index = parse(b"a[999999999999999999999999]=1").unwrap();
        assert!(matches!(long_index["a"], Node::Map(_)));
        assert!(parse(&[0xff, 0xfe, b'=', 0x80]).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn never_panics_on_bracket_soup(s in "[a-z\\[\\]0-9=&%]{0,80}") {
            let _ = parse(s.as_bytes());
        }
    }
}
