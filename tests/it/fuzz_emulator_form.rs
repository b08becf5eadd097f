//! Hostile bodies for the emulator's form parser (issue #7, item 4). The emulator's own
//! proptests feed it a few hundred random bodies; these tests feed 100,000 (four tests of
//! 25,000): random bytes, bracket soup (`a[b][][c]=`, `%5B`, unbalanced brackets), very
//! long keys, many pairs, nesting around the depth limit, and encodings of generated
//! trees in both bracket styles.
//!
//! Asserted for every body: no panic; an error names the key it refuses; a parsed tree
//! has no more values than the body has pairs (a huge index allocates nothing); and any
//! tree the parser returns, encoded again with explicit indexes, parses back to itself.
//! Generated trees must parse to exactly the tree encoded. Failures print the seed, the
//! case and the body; set `FUZZ_SEED=<u64>` to explore other seeds.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::common::fuzz::{self, fuzz_seed, seed};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redactctl::emulator::form::{self, Node};

type Tree = BTreeMap<String, Node>;

/// Encodes a tree as a form body with explicit list indexes (`a[0][b]=x`), the SDKs' style.
fn encode(tree: &Tree) -> String {
    fn walk(prefix: &str, node: &Node, out: &mut url::form_urlencoded::Serializer<'_, String>) {
        match node {
            Node::Value(v) => {
                out.append_pair(prefix, v);
            }
            Node::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), item, out);
                }
            }
            Node::Map(map) => {
                for (k, item) in map {
                    walk(&format!("{prefix}[{k}]"), item, out);
                }
            }
        }
    }
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, node) in tree {
        walk(name, node, &mut out);
    }
    out.finish()
}

fn values(node: &Node) -> usize {
    match node {
        Node::Value(_) => 1,
        Node::List(items) => items.iter().map(values).sum(),
        Node::Map(map) => map.values().map(values).sum(),
    }
}

/// Parses `body`, failing the test on a panic or a broken promise of the parser. Returns
/// the tree when the body parsed.
fn check(body: &[u8], seed: u64, case: usize) -> Option<Tree> {
    let fail = |why: String| -> ! {
        panic!(
            "seed {seed} (FUZZ_SEED={:?}) case {case}: {why}\n--- body ({} bytes) ---\n{}",
            fuzz_seed(),
            body.len(),
            String::from_utf8_lossy(&body[..body.len().min(4000)])
        )
    };
    let parsed = catch_unwind(AssertUnwindSafe(|| form::parse(body))).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        fail(format!("form::parse panicked: {msg}"))
    });
    match parsed {
        Err(e) => {
            if e.param.is_empty() || !e.message.contains(&e.param) {
                fail(format!("the error does not name its key: {e:?}"));
            }
            let named = url::form_urlencoded::parse(body).any(|(k, _)| k == e.param.as_str());
            if !named {
                fail(format!(
                    "the error names a key the body does not have: {e:?}"
                ));
            }
            None
        }
        Ok(tree) => {
            let pairs = body.split(|b| *b == b'&').count();
            let n: usize = tree.values().map(values).sum();
            if n > pairs || tree.keys().any(String::is_empty) {
                fail(format!("{n} values from {pairs} pairs: {tree:?}"));
            }
            let again = encode(&tree);
            match form::parse(again.as_bytes()) {
                Ok(back) if back == tree => {}
                other => fail(format!(
                    "the tree does not survive encoding again as {again:?}: {other:?}\n{tree:?}"
                )),
            }
            Some(tree)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Bodies

/// Pieces that mean something to the parser or to URL decoding.
const PIECES: &[&str] = &[
    "[",
    "]",
    "[]",
    "][",
    "[[",
    "]]",
    "%5B",
    "%5D",
    "%5b",
    "%5d",
    "%5B%5D",
    "=",
    "==",
    "&",
    "&&",
    "+",
    "%",
    "%2",
    "%zz",
    "%00",
    "%FF",
    "%C3",
    "%E2%82",
    "%26",
    "%3D",
    "0",
    "1",
    "18446744073709551615",
    "18446744073709551616",
    "999999999999999999",
    "-1",
    "a",
    "b",
    "objects",
    "customers",
    "expand",
    "metadata",
    "[0]",
    "[1]",
    "[99999999999999999]",
    "[customers]",
    "[][]",
    "é",
    "💥",
    ";",
    "#",
    "?",
    " ",
    "\0",
    "\u{feff}",
];

fn soup(rng: &mut StdRng) -> Vec<u8> {
    let n = rng.gen_range(0..60);
    let mut out = String::new();
    for _ in 0..n {
        out.push_str(PIECES[rng.gen_range(0..PIECES.len())]);
    }
    out.into_bytes()
}

fn random_bytes(rng: &mut StdRng) -> Vec<u8> {
    let n = rng.gen_range(0..300);
    (0..n).map(|_| rng.gen()).collect()
}

fn word(rng: &mut StdRng) -> String {
    let alphabet: Vec<char> = "abcxyz_-.~ é💥&=+%#/?".chars().collect();
    let n = rng.gen_range(1..10);
    let w: String = (0..n)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
        .collect();
    // Keys that are short digit runs are indexes, not keys: keep them letters-first.
    format!("k{w}")
}

fn node(rng: &mut StdRng, depth: usize) -> Node {
    if depth == 0 || rng.gen_bool(0.4) {
        let v = if rng.gen_bool(0.2) {
            String::new()
        } else {
            word(rng)
        };
        return Node::Value(v);
    }
    let n = rng.gen_range(1..4);
    if rng.gen_bool(0.5) {
        Node::List((0..n).map(|_| node(rng, depth - 1)).collect())
    } else {
        Node::Map((0..n).map(|_| (word(rng), node(rng, depth - 1))).collect())
    }
}

/// A generated tree, and a body encoding it in a random mix of styles: raw or
/// percent-encoded brackets, `[]` for lists of values, indexes given out of order.
fn tree_and_body(rng: &mut StdRng) -> (Tree, Vec<u8>) {
    let tree: Tree = (0..rng.gen_range(1..5))
        .map(|_| {
            let depth = rng.gen_range(0..5);
            (word(rng), node(rng, depth))
        })
        .collect();
    let mut pairs: Vec<(String, String)> = Vec::new();
    fn walk(rng: &mut StdRng, prefix: String, node: &Node, out: &mut Vec<(String, String)>) {
        match node {
            Node::Value(v) => out.push((prefix, v.clone())),
            Node::List(items) => {
                let all_values = items.iter().all(|i| matches!(i, Node::Value(_)));
                let append = all_values && rng.gen_bool(0.5);
                // Indexes may have gaps: only their order counts.
                let step = rng.gen_range(1..1000u64);
                for (i, item) in items.iter().enumerate() {
                    let seg = if append {
                        String::new()
                    } else {
                        (i as u64 * step).to_string()
                    };
                    walk(rng, format!("{prefix}[{seg}]"), item, out);
                }
            }
            Node::Map(map) => {
                for (k, item) in map {
                    walk(rng, format!("{prefix}[{k}]"), item, out);
                }
            }
        }
    }
    for (name, n) in &tree {
        walk(rng, name.clone(), n, &mut pairs);
    }
    // Explicit indexes may come in any order; appended items must keep theirs.
    if pairs.iter().all(|(k, _)| !k.contains("[]")) && rng.gen_bool(0.5) {
        for i in (1..pairs.len()).rev() {
            let j = rng.gen_range(0..=i);
            pairs.swap(i, j);
        }
    }
    let raw_brackets = rng.gen_bool(0.5);
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let key = if raw_brackets {
                // Encode each part but keep the brackets as typed by curl users.
                k.split_inclusive(['[', ']'])
                    .map(|part| {
                        let (text, bracket) = match part.char_indices().last() {
                            Some((i, c @ ('[' | ']'))) => (&part[..i], Some(c)),
                            _ => (part, None),
                        };
                        let mut s = enc(text);
                        if let Some(c) = bracket {
                            s.push(c);
                        }
                        s
                    })
                    .collect()
            } else {
                enc(k)
            };
            format!("{key}={}", enc(v))
        })
        .collect();
    (tree, body.join("&").into_bytes())
}

/// One edit that keeps the body hostile: a piece inserted, a range deleted or repeated.
fn mutate(rng: &mut StdRng, body: &mut Vec<u8>) {
    let len = body.len();
    let at = |rng: &mut StdRng| if len == 0 { 0 } else { rng.gen_range(0..=len) };
    match rng.gen_range(0..4) {
        0 => {
            let i = at(rng);
            let piece = PIECES[rng.gen_range(0..PIECES.len())].as_bytes();
            body.splice(i..i, piece.iter().copied());
        }
        1 if len > 0 => {
            let i = rng.gen_range(0..len);
            let n = rng.gen_range(1..=(len - i).min(8));
            body.drain(i..i + n);
        }
        2 if len > 0 => {
            let i = rng.gen_range(0..len);
            body[i] = rng.gen();
        }
        _ => body.truncate(at(rng)),
    }
}

/// Very long keys, very many pairs, or nesting just under, at and over the limit.
fn big(rng: &mut StdRng) -> Vec<u8> {
    match rng.gen_range(0..4) {
        0 => {
            let key = "k".repeat(rng.gen_range(1_000..20_000));
            format!("{key}[{key}][]={key}").into_bytes()
        }
        1 => {
            let n = rng.gen_range(500..3000);
            (0..n)
                .map(|i| match i % 4 {
                    0 => format!("a[]={i}"),
                    1 => format!("b[{}]=x", i * 7919 % 10_007),
                    2 => format!("c[k{}][z]=y", i % 50),
                    _ => format!("d{i}=v"),
                })
                .collect::<Vec<_>>()
                .join("&")
                .into_bytes()
        }
        2 => {
            let depth = rng.gen_range(14..19);
            let seg = if rng.gen_bool(0.5) { "[x]" } else { "[]" };
            format!("a{}=1", seg.repeat(depth)).into_bytes()
        }
        _ => "[".repeat(rng.gen_range(1..5000)).into_bytes(),
    }
}

fn run(default_seed: u64) {
    let cases = fuzz::cases();
    let seed = seed(default_seed);
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut parsed, mut generated) = (0, 0);
    for case in 0..cases {
        let body = match case % 10 {
            0 | 1 => random_bytes(&mut rng),
            2..=4 => soup(&mut rng),
            5..=7 => {
                let (tree, body) = tree_and_body(&mut rng);
                match check(&body, seed, case) {
                    Some(got) if got == tree => {}
                    other => panic!(
                        "seed {seed} (FUZZ_SEED={:?}) case {case}: {} parsed as {other:?}, not as {tree:?}",
                        fuzz_seed(),
                        String::from_utf8_lossy(&body)
                    ),
                }
                generated += 1;
                continue;
            }
            8 => {
                let (_, mut body) = tree_and_body(&mut rng);
                for _ in 0..rng.gen_range(1..4) {
                    mutate(&mut rng, &mut body);
                }
                body
            }
            _ if case % 100 == 9 => big(&mut rng),
            _ => {
                let mut body = soup(&mut rng);
                mutate(&mut rng, &mut body);
                body
            }
        };
        parsed += usize::from(check(&body, seed, case).is_some());
    }
    eprintln!("seed {seed}: {generated} generated trees round-tripped; {parsed} of {} other bodies parsed", cases - generated);
    assert!(parsed > 0 && parsed < cases - generated, "{parsed} parsed");
}

#[test]
fn random_form_bodies_never_panic() {
    run(0xf0a4_0000_0001);
}

#[test]
fn more_random_form_bodies_never_panic() {
    run(0xf0a4_0000_0002);
}

#[test]
fn still_more_random_form_bodies_never_panic() {
    run(0xf0a4_0000_0003);
}

#[test]
fn yet_more_random_form_bodies_never_panic() {
    run(0xf0a4_0000_0004);
}

/// The limits hold exactly where documented: 16 levels of brackets parse, 17 do not; a
/// huge index makes a one-item list.
#[test]
fn nesting_limit_and_huge_indexes() {
    let at = |depth: usize| format!("a{}=1", "[x]".repeat(depth));
    assert!(check(at(16).as_bytes(), 0, 16).is_some());
    assert!(check(at(17).as_bytes(), 0, 17).is_none());
    assert!(
        check(b"a[]]=2", 0, 0).is_none(),
        "unbalanced `a[]]` accepted"
    );
    assert!(
        check(b"a%5B%5D%5D=2", 0, 0).is_none(),
        "unbalanced `a%5B%5D%5D` accepted"
    );
    let tree = check(b"a[999999999999999999]=1", 0, 0).unwrap();
    assert_eq!(tree["a"], Node::List(vec![Node::Value("1".into())]));
}
