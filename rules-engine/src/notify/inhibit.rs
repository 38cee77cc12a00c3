//! Inhibition: a firing source alert suppresses target alerts that agree
//! with it on the `equal` labels (Alertmanager 0.25 `inhibit/`). Pure: the
//! caller passes the current alerts and the instant.
//!
//! An alert that matches both the source and the target side of a rule
//! cannot be inhibited by an alert that also matches both sides, or two
//! such alerts would silence each other.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::alert::{Alert, Status};
use crate::model::{Labels, Matcher};
use crate::notify::route::config::{AmRegex, InhibitRuleConfig, LabelName, MatcherList};
use crate::notify::route::matchers::matches_all;

/// One built inhibit rule.
#[derive(Debug, Clone)]
pub struct InhibitRule {
    pub source: Vec<Matcher>,
    pub target: Vec<Matcher>,
    pub equal: Vec<String>,
}

impl InhibitRule {
    /// Old (`source_match`, `source_match_re`) and new (`source_matchers`)
    /// forms together, as Alertmanager merges them.
    pub fn build(c: &InhibitRuleConfig) -> InhibitRule {
        InhibitRule {
            source: side(&c.source_match, &c.source_match_re, &c.source_matchers),
            target: side(&c.target_match, &c.target_match_re, &c.target_matchers),
            equal: c.equal.iter().map(|l| l.0.clone()).collect(),
        }
    }
}

/// One side's matchers from its three spellings.
fn side(
    eq: &BTreeMap<LabelName, String>,
    re: &BTreeMap<LabelName, AmRegex>,
    lists: &[MatcherList],
) -> Vec<Matcher> {
    let mut out: Vec<Matcher> = eq.iter().map(|(k, v)| Matcher::equal(&k.0, v)).collect();
    for (k, r) in re {
        out.push(r.matcher(&k.0));
    }
    out.extend(lists.iter().flat_map(|l| l.0.iter().cloned()));
    out
}

/// Why an alert is inhibited: the rule and the source alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inhibited {
    pub rule: usize,
    pub source_fingerprint: u64,
}

/// Whether `target` is inhibited at `now` given every alert the pipeline
/// holds (resolved ones are ignored as sources).
pub fn inhibited_by(
    rules: &[InhibitRule],
    alerts: &[Alert],
    target: &Labels,
    now: DateTime<Utc>,
) -> Option<Inhibited> {
    for (i, rule) in rules.iter().enumerate() {
        if !matches_all(&rule.target, target) {
            continue;
        }
        let target_is_source_too = matches_all(&rule.source, target);
        let found = alerts.iter().find(|s| {
            s.status_at(now) == Status::Firing
                && matches_all(&rule.source, &s.labels)
                && !(target_is_source_too && matches_all(&rule.target, &s.labels))
                && rule
                    .equal
                    .iter()
                    .all(|n| s.labels.get(n).unwrap_or("") == target.get(n).unwrap_or(""))
        });
        if let Some(s) = found {
            return Some(Inhibited {
                rule: i,
                source_fingerprint: s.fingerprint(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rules(yaml: &str) -> Vec<InhibitRule> {
        let text = format!("route: {{receiver: r}}\nreceivers: [{{name: r}}]\n{yaml}");
        let loaded = crate::notify::route::parse_str("t.yml", &text, &|_| None).unwrap();
        loaded
            .config
            .inhibit_rules
            .iter()
            .map(InhibitRule::build)
            .collect()
    }

    fn alert(pairs: &[(&str, &str)], ends: Option<i64>) -> Alert {
        Alert {
            labels: Labels::from_pairs(pairs.iter().copied()),
            annotations: Labels::empty(),
            starts_at: Utc.timestamp_opt(0, 0).unwrap(),
            ends_at: ends.map(|s| Utc.timestamp_opt(s, 0).unwrap()),
            generator_url: String::new(),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1000, 0).unwrap()
    }

    const CRIT_OVER_WARN: &str = "inhibit_rules:\n- source_matchers: [severity=\"critical\"]\n  target_matchers: [severity=\"warning\"]\n  equal: [cluster]\n";

    #[test]
    fn source_suppresses_target_with_equal_labels() {
        let r = rules(CRIT_OVER_WARN);
        let src = alert(&[("severity", "critical"), ("cluster", "eu")], None);
        let alerts = [src.clone()];
        let warn_eu = Labels::from_pairs([("severity", "warning"), ("cluster", "eu")]);
        let warn_us = Labels::from_pairs([("severity", "warning"), ("cluster", "us")]);
        let got = inhibited_by(&r, &alerts, &warn_eu, now()).unwrap();
        assert_eq!(got.rule, 0);
        assert_eq!(got.source_fingerprint, src.fingerprint());
        assert_eq!(inhibited_by(&r, &alerts, &warn_us, now()), None);
    }

    #[test]
    fn missing_equal_label_on_both_sides_counts_as_equal() {
        let r = rules(CRIT_OVER_WARN);
        let alerts = [alert(&[("severity", "critical")], None)];
        let warn = Labels::from_pairs([("severity", "warning")]);
        assert!(inhibited_by(&r, &alerts, &warn, now()).is_some());
    }

    #[test]
    fn resolved_sources_do_not_inhibit() {
        let r = rules(CRIT_OVER_WARN);
        let warn = Labels::from_pairs([("severity", "warning")]);
        let ended = [alert(&[("severity", "critical")], Some(1000))];
        assert_eq!(inhibited_by(&r, &ended, &warn, now()), None);
        let ending_later = [alert(&[("severity", "critical")], Some(1001))];
        assert!(inhibited_by(&r, &ending_later, &warn, now()).is_some());
    }

    #[test]
    fn alerts_matching_both_sides_do_not_inhibit_each_other() {
        let r =
            rules("inhibit_rules:\n- source_match: {team: db}\n  target_match_re: {team: 'd.*'}\n");
        let a = alert(&[("team", "db"), ("x", "1")], None);
        let b = Labels::from_pairs([("team", "db"), ("x", "2")]);
        assert_eq!(inhibited_by(&r, std::slice::from_ref(&a), &b, now()), None);
        // A target that is not also a source is inhibited by the same alert.
        let dev = Labels::from_pairs([("team", "dev")]);
        assert!(inhibited_by(&r, &[a], &dev, now()).is_some());
    }
}
