//! Every mistake DESIGN.md lists is flagged on the documents' original
//! rules (rules/original/seed.rules.yml), and the corrected rules
//! (rules/stack.rules.yml, rules/slo.rules.yml) get none.

use std::path::Path;

use super::{Catalog, RuleLint, lint_file};

fn lints(file: &str) -> Vec<RuleLint> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(file);
    let f = crate::rules::check_file(&path).unwrap();
    lint_file(&f, &Catalog::builtin())
}

/// The sorted lint ids of a file holding one alert `A` with `expr` (and
/// no `for:`).
fn alert_lint_ids(expr: &str) -> Vec<&'static str> {
    let text = format!("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: '{expr}'\n");
    let f = crate::rules::check_text("t.yml", &text).unwrap();
    let mut ids: Vec<&str> = lint_file(&f, &Catalog::builtin())
        .iter()
        .map(|l| l.lint.id)
        .collect();
    ids.sort();
    ids
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
    assert!(slo.is_empty(), "{slo:#?}");
    // The failover rules read today's families (Sentinel, slots, the
    // archiver); their event alerts say `for: 0s`.
    let failover = lints("rules/failover.rules.yml");
    assert!(failover.is_empty(), "{failover:#?}");
}

#[test]
fn multi_window_alerts_need_no_for() {
    let ids = |expr: &str| -> Vec<&'static str> {
        alert_lint_ids(expr)
            .into_iter()
            .filter(|id| *id == "alert-without-for")
            .collect()
    };
    let windows = "avg_over_time(haproxy_backend_up[1h]) < 0.99 and avg_over_time(haproxy_backend_up[5m]) < 0.99";
    assert!(ids(windows).is_empty());
    assert!(ids(&format!("({windows}) or ({windows})")).is_empty());
    // One window alone, or `and` with a plain gauge, still fires on a blip.
    assert_eq!(
        ids("avg_over_time(haproxy_backend_up[5m]) < 0.99"),
        ["alert-without-for"]
    );
    assert_eq!(
        ids("avg_over_time(haproxy_backend_up[5m]) < 0.99 and haproxy_up == 1"),
        ["alert-without-for"]
    );
}

#[test]
fn an_explicit_for_0s_is_a_deliberate_event_alert() {
    let ids = |for_line: &str| -> Vec<&'static str> {
        let text =
            format!("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: pg_up == 0\n{for_line}");
        let f = crate::rules::check_text("t.yml", &text).unwrap();
        lint_file(&f, &Catalog::builtin())
            .iter()
            .map(|l| l.lint.id)
            .collect()
    };
    assert_eq!(ids(""), ["alert-without-for"]);
    assert!(ids("    for: 0s\n").is_empty());
    assert!(ids("    for: 2m\n").is_empty());
}

#[test]
fn rate_of_a_gauge_and_missing_for() {
    assert_eq!(
        alert_lint_ids("rate(pg_up[5m]) > 0"),
        ["alert-without-for", "rate-on-gauge"]
    );
}
