//! Every mistake DESIGN.md lists is flagged on the documents' original
//! rules (rules/original/seed.rules.yml), and the corrected rules
//! (rules/stack.rules.yml, rules/slo.rules.yml) get no warning except the
//! deliberate ones.

use std::path::Path;

use super::{Catalog, RuleLint, lint_file};

fn lints(file: &str) -> Vec<RuleLint> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(file);
    let f = crate::rules::check_file(&path).unwrap();
    lint_file(&f, &Catalog::builtin())
}

fn ids_for(lints: &[RuleLint], rule: &str) -> Vec<&'static str> {
    let mut ids: Vec<&str> = lints
        .iter()
        .filter(|l| l.rule == rule)
        .map(|l| l.lint.id)
        .collect();
    ids.sort();
    ids
}

#[test]
fn originals_are_flagged() {
    let l = lints("rules/original/seed.rules.yml");
    assert_eq!(
        ids_for(&l, "InsufficientHealthyInstances"),
        ["count-of-nothing"]
    );
    assert_eq!(
        ids_for(&l, "DatabaseConnectionsHigh"),
        ["labels-never-match", "ratio-printed-as-percent"]
    );
    assert_eq!(ids_for(&l, "RedisMemoryHigh"), ["division-by-zero-gauge"]);
    assert_eq!(
        ids_for(&l, "HighErrorRate"),
        ["ratio-of-itself", "unknown-metric"]
    );
    assert_eq!(ids_for(&l, "HighLatency"), ["unknown-metric"]);
    assert_eq!(ids_for(&l, "HighResponseTime"), ["unknown-metric"]);
    assert!(ids_for(&l, "ServiceDown").is_empty());
}

#[test]
fn corrected_rules_are_clean() {
    let stack = lints("rules/stack.rules.yml");
    assert!(stack.is_empty(), "{stack:#?}");
    // Burn-rate alerts fire at once by design: the windows are the hold.
    let slo = lints("rules/slo.rules.yml");
    assert!(
        slo.iter().all(|l| l.lint.id == "alert-without-for"),
        "{slo:#?}"
    );
}

#[test]
fn rate_of_a_gauge_and_missing_for() {
    let f = crate::rules::check_text(
        "t.yml",
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: rate(pg_up[5m]) > 0\n",
    )
    .unwrap();
    let mut ids: Vec<&str> = lint_file(&f, &Catalog::builtin())
        .iter()
        .map(|l| l.lint.id)
        .collect();
    ids.sort();
    assert_eq!(ids, ["alert-without-for", "rate-on-gauge"]);
}
