//! The drill's rule file, generated from the repository's
//! `rules/stack.rules.yml`: its `stack-availability` group with every
//! expression, label and annotation as written and only `for` shortened,
//! so the drill checks the rules users run, in seconds instead of minutes.
//! The other groups stay out: their alerts (replication lag on an idle
//! primary, latency and error ratios) are not what the drill is about, and
//! with short `for`s they would fire on an idle test stack.

use std::path::Path;

use serde_json::{Value, json};

pub const GROUP: &str = "stack-availability";
/// Every alert's `for` in the drill: long enough to see `pending` first.
pub const DRILL_FOR: &str = "2s";

/// The rule file's text (JSON, which is YAML to vigil).
pub fn drill_rules() -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/stack.rules.yml");
    let file = vigil::rules::check_file(&repo).expect("rules/stack.rules.yml loads");
    let group = file
        .groups
        .iter()
        .find(|g| g.name == GROUP)
        .unwrap_or_else(|| panic!("group {GROUP} missing from rules/stack.rules.yml"));
    let rules: Vec<Value> = group
        .rules
        .iter()
        .filter_map(|r| {
            let alert = r.alert.as_deref()?;
            Some(json!({
                "alert": alert,
                "expr": r.expr,
                "for": DRILL_FOR,
                "labels": r.labels,
                "annotations": r.annotations,
            }))
        })
        .collect();
    json!({"groups": [{"name": GROUP, "interval": "1s", "rules": rules}]}).to_string()
}

/// The annotation `name` of `alert` as the repository's file writes it.
pub fn annotation(rules: &str, alert: &str, name: &str) -> String {
    let v: Value = serde_json::from_str(rules).unwrap();
    v["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["alert"] == alert)
        .and_then(|r| r["annotations"][name].as_str())
        .unwrap_or_else(|| panic!("{alert} has no {name} annotation"))
        .to_string()
}
