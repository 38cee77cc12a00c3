//! The drill's rule file, generated from the repository's
//! `rules/failover.rules.yml` and the `stack-availability` group of
//! `rules/stack.rules.yml` (DatabaseDown, RedisDown, the apps' alerts): every
//! group, expression, label and annotation as written, with time scaled down
//! tenfold so the drill takes
//! seconds instead of minutes: each `for` and each range selector's window
//! (`[5m]` becomes `[30s]`). Scaling both keeps the rules' proportions: an
//! alert that waits 30 s for a failover to finish still waits ten times a
//! failover's usual length in the drill.
//!
//! Except where the wait is for another program's clock that the drill
//! cannot scale: see [`UNSCALED_FOR`].

use std::path::Path;

use serde_json::{Value, json};
use vigil::config::units::PromDuration;

/// How much shorter every duration is in the drill.
pub const SCALE: i64 = 10;
/// Alerts whose `for` stays as written. RedisSplitBrain waits for Sentinel
/// to turn the old master into a replica, which Sentinel does when it next
/// reads the old master's INFO (every 10 s outside a failover): a tenth of
/// its 30 s would page on every correct failover.
pub const UNSCALED_FOR: &[&str] = &["RedisSplitBrain"];
/// Rule groups run every second, as the scrapes.
pub const INTERVAL: &str = "1s";

/// The other file's group the drill runs: the stack's availability
/// alerts. The others (latency, error ratios, lag on an idle primary) are
/// not what the drill is about.
pub const STACK_GROUP: &str = "stack-availability";

/// The rule file's text (JSON, which is YAML to vigil).
pub fn drill_rules() -> String {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
    let failover = vigil::rules::check_file(&rules.join("failover.rules.yml"))
        .expect("rules/failover.rules.yml loads");
    let stack = vigil::rules::check_file(&rules.join("stack.rules.yml"))
        .expect("rules/stack.rules.yml loads");
    let availability = stack
        .groups
        .iter()
        .find(|g| g.name == STACK_GROUP)
        .unwrap_or_else(|| panic!("group {STACK_GROUP} missing from rules/stack.rules.yml"));
    let groups: Vec<Value> = failover
        .groups
        .iter()
        .chain([availability])
        .map(|g| {
            let rules: Vec<Value> = g
                .rules
                .iter()
                .map(|r| {
                    let expr = scale_ranges(r.expr.as_deref().unwrap_or_default());
                    let mut rule = match (&r.alert, &r.record) {
                        (Some(alert), _) => json!({"alert": alert, "expr": expr}),
                        (None, Some(record)) => json!({"record": record, "expr": expr}),
                        (None, None) => panic!("a rule without alert or record in {}", g.name),
                    };
                    match r.for_ {
                        Some(d) if UNSCALED_FOR.contains(&r.name()) => {
                            rule["for"] = json!(format!("{}ms", d.as_millis()));
                        }
                        Some(d) => rule["for"] = json!(scaled(d)),
                        None => {}
                    }
                    if !r.labels.is_empty() {
                        rule["labels"] = json!(r.labels);
                    }
                    if !r.annotations.is_empty() {
                        rule["annotations"] = json!(r.annotations);
                    }
                    rule
                })
                .collect();
            json!({"name": g.name, "interval": INTERVAL, "rules": rules})
        })
        .collect();
    json!({ "groups": groups }).to_string()
}

/// `d / SCALE` in milliseconds, at least one.
fn scaled(d: PromDuration) -> String {
    format!("{}ms", (d.as_millis() / SCALE).max(1))
}

/// Every `[duration]` of `expr` scaled down. A bracket whose content is not
/// a duration (a `[` in a label value) is kept and the search goes on.
fn scale_ranges(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let Some(close) = rest.find(']') else { break };
        if let Ok(d) = PromDuration::parse(&rest[..close]) {
            out.push_str(&scaled(d));
            rest = &rest[close..];
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn ranges_are_scaled_and_the_rest_kept() {
    assert_eq!(
        scale_ranges("max_over_time(x[5m]) == 1 and rate(y{a=\"[b\"}[15m]) > 0"),
        "max_over_time(x[30000ms]) == 1 and rate(y{a=\"[b\"}[90000ms]) > 0"
    );
    assert_eq!(scale_ranges("x"), "x");
}
