//! Relabeling table tests: each case is the YAML a user would write, an
//! input label set, and the expected output (None: dropped). Expected values
//! follow Prometheus's documented semantics.

use vigil::model::Labels;
use vigil::scrape::relabel::{RelabelConfig, process};

fn labels(s: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(s.iter().copied())
}

fn run(yaml: &str, input: &[(&str, &str)]) -> Option<Labels> {
    let cfgs: Vec<RelabelConfig> = yaml_serde::from_str(yaml).expect("valid relabel yaml");
    process(labels(input), &cfgs)
}

#[test]
fn relabel_table() {
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, &str, Vec<(&str, &str)>, Option<Vec<(&str, &str)>>)> = vec![
        (
            "replace with defaults copies the joined value",
            "- source_labels: [a, b]\n  target_label: c\n",
            vec![("a", "x"), ("b", "y")],
            Some(vec![("a", "x"), ("b", "y"), ("c", "x;y")]),
        ),
        (
            "replace with captures and custom separator",
            "- source_labels: [a, b]\n  separator: '-'\n  regex: '(.)-(.*)'\n  target_label: c\n  replacement: '${2}_$1'\n",
            vec![("a", "x"), ("b", "yz")],
            Some(vec![("a", "x"), ("b", "yz"), ("c", "yz_x")]),
        ),
        (
            "regex is anchored: a partial match does not replace",
            "- source_labels: [a]\n  regex: 'bc'\n  target_label: c\n  replacement: hit\n",
            vec![("a", "abcd")],
            Some(vec![("a", "abcd")]),
        ),
        (
            "an empty replacement deletes the target",
            "- source_labels: [a]\n  regex: '.*'\n  target_label: b\n  replacement: ''\n",
            vec![("a", "1"), ("b", "2")],
            Some(vec![("a", "1")]),
        ),
        (
            "target label from a capture",
            "- source_labels: [a]\n  regex: '(.*)=(.*)'\n  target_label: '$1'\n  replacement: '$2'\n",
            vec![("a", "zone=eu")],
            Some(vec![("a", "zone=eu"), ("zone", "eu")]),
        ),
        (
            "an invalid expanded target leaves the set alone",
            "- source_labels: [a]\n  regex: '(.*)'\n  target_label: '$1'\n",
            vec![("a", "9bad")],
            Some(vec![("a", "9bad")]),
        ),
        (
            "keep drops non-matching sets",
            "- source_labels: [job]\n  regex: 'api|web'\n  action: keep\n",
            vec![("job", "db")],
            None,
        ),
        (
            "keep passes matching sets",
            "- source_labels: [job]\n  regex: 'api|web'\n  action: keep\n",
            vec![("job", "web")],
            Some(vec![("job", "web")]),
        ),
        (
            "drop on a missing label matches the empty string",
            "- source_labels: [missing]\n  regex: ''\n  action: drop\n",
            vec![("job", "web")],
            None,
        ),
        (
            "action names are case-insensitive",
            "- source_labels: [job]\n  regex: web\n  action: Drop\n",
            vec![("job", "web")],
            None,
        ),
        (
            "labeldrop removes names matching the regex",
            "- regex: 'tmp_.*'\n  action: labeldrop\n",
            vec![("tmp_a", "1"), ("tmp_b", "2"), ("keep", "3")],
            Some(vec![("keep", "3")]),
        ),
        (
            "labelkeep keeps only matching names",
            "- regex: '__name__|job'\n  action: labelkeep\n",
            vec![("__name__", "up"), ("job", "j"), ("other", "x")],
            Some(vec![("__name__", "up"), ("job", "j")]),
        ),
        (
            "labelmap copies matching names with the replacement",
            "- regex: '__meta_sd_label_(.+)'\n  action: labelmap\n",
            vec![("__meta_sd_label_team", "core"), ("x", "1")],
            Some(vec![
                ("__meta_sd_label_team", "core"),
                ("team", "core"),
                ("x", "1"),
            ]),
        ),
        (
            "lowercase",
            "- source_labels: [a]\n  target_label: b\n  action: lowercase\n",
            vec![("a", "MiXeD")],
            Some(vec![("a", "MiXeD"), ("b", "mixed")]),
        ),
        (
            "keepequal keeps when the target equals the source",
            "- source_labels: [a]\n  target_label: b\n  action: keepequal\n",
            vec![("a", "1"), ("b", "2")],
            None,
        ),
        (
            "steps run in order and the last drop wins",
            "- source_labels: [a]\n  target_label: b\n- source_labels: [b]\n  regex: '1'\n  action: drop\n",
            vec![("a", "1")],
            None,
        ),
        (
            "dropping every label drops the set",
            "- regex: '.*'\n  action: labeldrop\n",
            vec![("a", "1")],
            None,
        ),
    ];
    let mut failures = Vec::new();
    for (name, yaml, input, want) in cases {
        let got = run(yaml, &input);
        let want = want.map(|w| labels(&w));
        if got != want {
            failures.push(format!("{name}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// hashmod spreads values over the modulus deterministically: the same
/// value always lands in the same bucket, and many values use every bucket.
#[test]
fn hashmod_is_stable_and_spread() {
    let yaml = "- source_labels: [a]\n  modulus: 4\n  target_label: shard\n  action: hashmod\n";
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..64 {
        let v = format!("host-{i}:9100");
        let first = run(yaml, &[("a", &v)]).unwrap();
        let second = run(yaml, &[("a", &v)]).unwrap();
        assert_eq!(first, second);
        let shard: u64 = first.get("shard").unwrap().parse().unwrap();
        assert!(shard < 4);
        seen.insert(shard);
    }
    assert_eq!(seen.len(), 4);
}

/// md5("foo") = acbd18db4cc2f85cedef654fccc4a4d8; the low 8 bytes
/// 0xedef654fccc4a4d8 mod 10 is the bucket Prometheus computes.
#[test]
fn hashmod_uses_the_low_md5_bytes() {
    let yaml = "- source_labels: [a]\n  modulus: 10\n  target_label: shard\n  action: hashmod\n";
    let expected = 0xedef_654f_ccc4_a4d8_u64 % 10;
    let got = run(yaml, &[("a", "foo")]).unwrap();
    assert_eq!(got.get("shard"), Some(expected.to_string().as_str()));
}

#[test]
fn invalid_relabel_configs_are_rejected_with_prometheus_messages() {
    let cases = [
        (
            "- action: hashmod\n  target_label: x\n",
            "requires non-zero modulus",
        ),
        (
            "- action: replace\n  source_labels: [a]\n",
            "requires 'target_label' value",
        ),
        (
            "- action: labeldrop\n  regex: a\n  target_label: b\n",
            "requires only 'regex'",
        ),
        ("- action: explode\n", "unknown relabel action"),
        ("- regex: '('\n", "invalid regex"),
        (
            "- source_labels: [a]\n  target_label: b\n  colour: red\n",
            "unknown field `colour`",
        ),
    ];
    for (yaml, want) in cases {
        let err = yaml_serde::from_str::<Vec<RelabelConfig>>(yaml)
            .err()
            .unwrap_or_else(|| panic!("{yaml:?} should be rejected"));
        assert!(err.to_string().contains(want), "{yaml:?}: {err}");
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn action() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "replace",
            "keep",
            "drop",
            "labelmap",
            "labeldrop",
            "labelkeep",
            "lowercase",
            "uppercase",
            "hashmod",
            "keepequal",
            "dropequal",
        ])
    }

    fn step() -> impl Strategy<Value = String> {
        (
            action(),
            prop::collection::vec("[a-c_]{1,3}", 0..3),
            prop::sample::select(vec!["(.*)", "a(.*)", "(.+)_(.+)", "[ab]+", "", ".*c"]),
            prop::sample::select(vec!["$1", "${2}x", "$0", "$$", "lit", "$name", ""]),
            "[a-c_]{1,3}",
        )
            .prop_map(|(action, sources, regex, replacement, target)| {
                let needs_only_regex = matches!(action, "labeldrop" | "labelkeep");
                let equal = matches!(action, "keepequal" | "dropequal");
                let mut y = format!("- action: {action}\n  regex: '{regex}'\n");
                if !needs_only_regex {
                    y.push_str(&format!("  source_labels: [{}]\n", sources.join(", ")));
                    y.push_str(&format!("  target_label: {target}\n"));
                }
                if !needs_only_regex && !equal {
                    y.push_str(&format!("  replacement: '{replacement}'\n"));
                }
                if action == "hashmod" {
                    y.push_str("  modulus: 7\n");
                }
                if equal {
                    y = format!(
                        "- action: {action}\n  source_labels: [{}]\n  target_label: {target}\n",
                        sources.join(", ")
                    );
                }
                y
            })
    }

    proptest! {
        /// Any valid relabel chain over any label set returns a proper
        /// label set (sorted, unique names, no empty values) or drops it;
        /// it never panics.
        #[test]
        fn relabeling_never_panics_and_keeps_labels_well_formed(
            steps in prop::collection::vec(step(), 1..4),
            pairs in prop::collection::vec(("[a-c_]{1,3}", "[a-c_ ]{0,4}"), 0..6),
        ) {
            let yaml = steps.concat();
            let cfgs: Vec<RelabelConfig> = match yaml_serde::from_str(&yaml) {
                Ok(c) => c,
                Err(_) => return Ok(()), // a combination Prometheus rejects too
            };
            let input = Labels::from_pairs(pairs);
            if let Some(out) = process(input, &cfgs) {
                let names: Vec<&str> = out.iter().map(|l| l.name.as_str()).collect();
                prop_assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
                prop_assert!(out.iter().all(|l| !l.value.is_empty()));
                prop_assert!(!out.is_empty());
            }
        }
    }
}
