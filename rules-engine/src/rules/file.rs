//! The rule file format: Prometheus's `groups:` … `rules:` YAML, read into
//! plain data. Unknown keys are errors (promtool reads strictly too), so a
//! misspelt `anotations:` is reported instead of silently dropped. YAML
//! and durations are read as promtool reads them ([`super::yaml`]).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::yaml;
pub use super::yaml::YamlError;
use crate::model::units::PromDuration;

/// One rule file as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    #[serde(default)]
    pub groups: Vec<GroupDef>,
}

/// A group: rules evaluated in order at one interval.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDef {
    pub name: String,
    /// How often the group runs; the global evaluation interval when unset.
    #[serde(default, deserialize_with = "yaml::opt_duration")]
    pub interval: Option<PromDuration>,
    /// Most alerts (or recorded series) one rule may produce; 0 is no limit.
    /// Signed because promtool accepts negative values (treated as 0).
    #[serde(default)]
    pub limit: i64,
    /// Queries run this far in the past, for data that arrives late
    /// (Prometheus 2.53+; Debian's promtool 2.42 rejects the key).
    #[serde(default, deserialize_with = "yaml::opt_duration")]
    pub query_offset: Option<PromDuration>,
    /// Labels added to every rule's output (Prometheus 3.0+).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub rules: Vec<RuleDef>,
}

/// One rule as written: an alerting rule has `alert`, a recording rule
/// `record`. Both are kept optional here so that validation can say which
/// one is missing or doubled, with the rule's position.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    #[serde(default)]
    pub record: Option<String>,
    #[serde(default)]
    pub alert: Option<String>,
    #[serde(default)]
    pub expr: Option<String>,
    #[serde(default, rename = "for", deserialize_with = "yaml::opt_duration")]
    pub for_: Option<PromDuration>,
    #[serde(default, deserialize_with = "yaml::opt_duration")]
    pub keep_firing_for: Option<PromDuration>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl RuleDef {
    /// The rule's name: the alert name or the recorded metric name.
    pub fn name(&self) -> &str {
        self.alert
            .as_deref()
            .or(self.record.as_deref())
            .unwrap_or("")
    }
}

/// Reads a rule file's YAML: its first document, as promtool does. An
/// empty file is an empty rule file. Errors carry yaml_serde's position
/// when it has one.
pub fn parse_yaml(text: &str) -> Result<RuleFile, YamlError> {
    yaml::first_document::<RuleFile>(text).map(Option::unwrap_or_default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_groups_and_both_rule_kinds() {
        let f = parse_yaml(
            "groups:\n- name: g\n  interval: 30s\n  rules:\n  - record: a:b\n    expr: up\n  - alert: A\n    expr: up == 0\n    for: 1m\n    labels: {severity: page}\n",
        )
        .unwrap();
        let g = &f.groups[0];
        assert_eq!(g.interval, Some(PromDuration::from_secs(30)));
        assert_eq!(g.rules[0].name(), "a:b");
        assert_eq!(g.rules[1].for_, Some(PromDuration::from_secs(60)));
        assert_eq!(g.rules[1].labels["severity"], "page");
    }

    #[test]
    fn unknown_keys_and_bare_numbers_are_errors() {
        let e =
            parse_yaml("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    foo: 1\n")
                .unwrap_err();
        assert!(e.message.contains("foo"), "{e}");
        assert!(e.pos.is_some());
        assert!(parse_yaml("groups:\n- name: g\n  interval: 15\n").is_err());
    }

    #[test]
    fn zero_durations_anchors_and_merge_keys() {
        let f = parse_yaml(
            "groups:\n- name: g\n  interval: 0s\n  rules:\n  - alert: A\n    expr: up\n    for: 0m\n    labels: &l {severity: page}\n  - alert: B\n    expr: up\n    keep_firing_for: 0h0m\n    labels:\n      <<: *l\n      team: db\n",
        )
        .unwrap();
        let g = &f.groups[0];
        assert_eq!(g.interval, Some(PromDuration::from_secs(0)));
        assert_eq!(g.rules[0].for_, Some(PromDuration::from_secs(0)));
        assert_eq!(g.rules[1].keep_firing_for, Some(PromDuration::from_secs(0)));
        assert_eq!(g.rules[1].labels["severity"], "page");
        assert_eq!(g.rules[1].labels["team"], "db");
    }

    #[test]
    fn empty_file_has_no_groups() {
        assert_eq!(parse_yaml("").unwrap(), RuleFile::default());
        assert_eq!(parse_yaml("# nothing\n").unwrap(), RuleFile::default());
    }
}
