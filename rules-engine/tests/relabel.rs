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
