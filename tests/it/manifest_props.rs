//! Properties of `manifest::load` over generated input: it never panics, whatever the bytes;
//! every located diagnostic points inside the file; and a generated valid manifest loads
//! with the same entries and digest whether written in block or flow style.

use std::fs;

use proptest::prelude::*;
use redactctl::kinds::ObjectKind;
use redactctl::manifest;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 128,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn never_panics_and_points_inside_the_file(
        text in "(version: 1\n|account: \\{mode: test\\}\n|redactions:\n|  - name: [a-z]{1,4}\n|    objects: \\{customers: \\[cus_1\\]\\}\n|[ a-z_:\\-\\[\\]{}#&*!|>'\"\t\n0-9@.,?~]{0,40})*"
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.yaml");
        fs::write(&path, &text).unwrap();
        let lines = text.split('\n').count().max(1);
        let diagnostics = match manifest::load(std::slice::from_ref(&path)) {
            Ok(loaded) => loaded.warnings,
            Err(failure) => {
                prop_assert!(failure.errors() > 0);
                failure.diagnostics
            }
        };
        for d in &diagnostics {
            if let Some(l) = &d.location {
                prop_assert!(l.line >= 1 && l.line <= lines + 1, "{:?} in {:?}", l, text);
                prop_assert!(l.column >= 1);
            }
            let _ = d.render(true);
        }
    }

    #[test]
    fn block_and_flow_styles_load_the_same(
        entries in prop::collection::btree_map(
            "[a-z][a-z0-9-]{0,10}",
            (prop::collection::btree_set(0usize..10, 1..4), prop::collection::vec("[A-Za-z0-9]{1,12}", 1..4), any::<bool>()),
            1..8,
        )
    ) {
        let mut block = String::from("version: 1\naccount:\n  mode: test\nredactions:\n");
        let mut flow = String::from("{version: 1, account: {mode: test}, redactions: [");
        for (n, (name, (kinds, ids, fix))) in entries.iter().enumerate() {
            block.push_str(&format!("  - name: {name}\n    objects:\n"));
            flow.push_str(&format!("{{name: \"{name}\", objects: {{"));
            for k in kinds {
                let kind = ObjectKind::ALL[*k];
                let prefix = kind.prefixes()[0];
                let list: Vec<String> = ids.iter().map(|id| format!("{prefix}{n}{id}")).collect();
                block.push_str(&format!("      {kind}:\n"));
                for id in &list {
                    block.push_str(&format!("        - {id}\n"));
                }
                flow.push_str(&format!("{kind}: [{}], ", list.join(", ")));
            }
            flow.push('}');
            if *fix {
                block.push_str("    validation_behavior: fix\n");
                flow.push_str(", validation_behavior: fix");
            }
            flow.push_str("}, ");
        }
        flow.push_str("]}\n");
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("block.yaml");
        let b = dir.path().join("flow.yaml");
        fs::write(&a, &block).unwrap();
        fs::write(&b, &flow).unwrap();
        let one = manifest::load(&[a]).map_err(|f| TestCaseError::fail(f.to_string()))?;
        let two = manifest::load(&[b]).map_err(|f| TestCaseError::fail(f.to_string()))?;
        prop_assert_eq!(one.desired.entries.len(), entries.len());
        prop_assert_eq!(&one.desired.digest, &two.desired.digest);
        for (x, y) in one.desired.entries.iter().zip(&two.desired.entries) {
            prop_assert_eq!(&x.name, &y.name);
            prop_assert_eq!(&x.objects, &y.objects);
            prop_assert!(x.objects.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
