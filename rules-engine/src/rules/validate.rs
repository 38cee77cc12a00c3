//! Validation of a parsed rule file, as Prometheus's `rulefmt` does it, so
//! `vigil check rules` and `promtool check rules` accept and reject the same
//! files. Every problem is reported (not only the first), each with the
//! file, line, column, group and rule it concerns.

use std::collections::HashSet;
use std::fmt;

use super::file::{GroupDef, RuleDef, RuleFile, parse_yaml};
use super::locate::{Pos, RulePos, locate};
use crate::alert::template;

/// One problem in a rule file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct RuleError {
    pub file: String,
    pub pos: Option<Pos>,
    pub group: Option<String>,
    /// 1-based index of the rule in its group, and its name.
    pub rule: Option<(usize, String)>,
    pub message: String,
}

/// promtool's layout: `file:line:col: group "g", rule 1, "A": message`.
impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.file)?;
        if let Some((line, col)) = self.pos {
            write!(f, "{line}:{col}:")?;
        }
        if let Some(g) = &self.group {
            write!(f, " group {g:?},")?;
        }
        if let Some((i, name)) = &self.rule {
            write!(f, " rule {i}, {name:?}:")?;
        }
        write!(f, " {}", self.message)
    }
}

/// Reads and validates one rule file's text. `file` names it in errors.
pub fn check_text(file: &str, text: &str) -> Result<RuleFile, Vec<RuleError>> {
    let parsed = parse_yaml(text).map_err(|e| {
        vec![RuleError {
            file: file.to_string(),
            pos: e.pos,
            group: None,
            rule: None,
            message: e.message,
        }]
    })?;
    let positions = locate(super::yaml::first_document_text(text), &parsed);
    let mut errs = Vec::new();
    let mut seen = HashSet::new();
    for (g, gpos) in parsed.groups.iter().zip(&positions) {
        let at = |pos: Option<Pos>, rule: Option<(usize, String)>, message: String| RuleError {
            file: file.to_string(),
            pos,
            group: rule.as_ref().map(|_| g.name.clone()),
            rule,
            message,
        };
        if g.name.is_empty() {
            errs.push(at(gpos.name, None, "Groupname must not be empty".into()));
        } else if !seen.insert(g.name.as_str()) {
            let msg = format!("groupname: {:?} is repeated in the same file", g.name);
            errs.push(at(gpos.name, None, msg));
        }
        for msg in group_problems(g) {
            let mut e = at(gpos.name, None, msg);
            e.group = Some(g.name.clone());
            errs.push(e);
        }
        for (i, r) in g.rules.iter().enumerate() {
            let rpos = gpos.rules.get(i).cloned().unwrap_or_default();
            for (pos, msg) in rule_problems(r, &rpos) {
                errs.push(at(pos, Some((i + 1, r.name().to_string())), msg));
            }
        }
    }
    if errs.is_empty() {
        Ok(parsed)
    } else {
        Err(errs)
    }
}

/// Reads and validates a rule file from disk.
pub fn check_file(path: &std::path::Path) -> Result<RuleFile, Vec<RuleError>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![RuleError {
            file: name.clone(),
            pos: None,
            group: None,
            rule: None,
            message: e.to_string(),
        }]
    })?;
    check_text(&name, &text)
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
pub fn is_metric_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`
pub fn is_label_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

fn group_problems(g: &GroupDef) -> Vec<String> {
    g.labels
        .keys()
        .filter(|k| !is_label_name(k) || *k == "__name__")
        .map(|k| format!("invalid label name: {k}"))
        .collect()
}

/// Prometheus's `Rule.Validate` plus template parsing, in its order.
fn rule_problems(r: &RuleDef, pos: &RulePos) -> Vec<(Option<Pos>, String)> {
    let mut out = Vec::new();
    let mut add = |p: Option<Pos>, m: String| out.push((p, m));
    match (&r.record, &r.alert) {
        (Some(_), Some(_)) => add(
            pos.name,
            "only one of 'record' and 'alert' must be set".into(),
        ),
        (None, None) => add(pos.name, "one of 'record' or 'alert' must be set".into()),
        _ => {}
    }
    match r.expr.as_deref() {
        None | Some("") => add(pos.name, "field 'expr' must be set in rule".into()),
        Some(e) => {
            if let Err(err) = crate::promql::parse_expr(e) {
                add(pos.expr, format!("could not parse expression: {err}"));
            }
        }
    }
    if let Some(rec) = &r.record {
        if !r.annotations.is_empty() {
            add(
                pos.name,
                "invalid field 'annotations' in recording rule".into(),
            );
        }
        if r.for_.is_some() {
            add(pos.name, "invalid field 'for' in recording rule".into());
        }
        if r.keep_firing_for.is_some() {
            add(
                pos.name,
                "invalid field 'keep_firing_for' in recording rule".into(),
            );
        }
        if !is_metric_name(rec) {
            add(pos.name, format!("invalid recording rule name: {rec}"));
        }
    }
    for k in r.labels.keys() {
        if !is_label_name(k) || k == "__name__" {
            add(pos.name, format!("invalid label name: {k}"));
        }
    }
    for k in r.annotations.keys() {
        if !is_label_name(k) {
            add(pos.name, format!("invalid annotation name: {k}"));
        }
    }
    if let Some(name) = &r.alert {
        let texts = r.labels.iter().map(|(k, v)| ("label", k, v));
        let texts = texts.chain(r.annotations.iter().map(|(k, v)| ("annotation", k, v)));
        for (kind, k, v) in texts {
            if let Err(e) = template::parse_check(name, v) {
                add(pos.name, format!("{kind} {k:?}: {e}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match check_text("f.yml", text) {
            Ok(_) => vec![],
            Err(es) => es.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn errors_carry_position_group_and_rule() {
        let e = errors("groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up ==\n");
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("f.yml:5:11: group \"a\", rule 1, \"A\": could not parse expression:"),
            "{e:?}"
        );
        let e = errors(
            "groups:\n- name: a\n  rules:\n  - record: \"a b\"\n    expr: up\n    for: 1m\n",
        );
        assert_eq!(
            e,
            vec![
                "f.yml:4:13: group \"a\", rule 1, \"a b\": invalid field 'for' in recording rule",
                "f.yml:4:13: group \"a\", rule 1, \"a b\": invalid recording rule name: a b",
            ]
        );
    }

    #[test]
    fn duplicate_and_empty_group_names() {
        let e = errors("groups:\n- name: a\n  rules: []\n- name: a\n  rules: []\n");
        assert_eq!(
            e,
            vec!["f.yml:4:9: groupname: \"a\" is repeated in the same file"]
        );
        assert_eq!(
            errors("groups:\n- name: \"\"\n  rules: []\n"),
            vec!["f.yml:2:9: Groupname must not be empty"]
        );
    }

    #[test]
    fn templates_and_names_are_checked_for_alerts_only() {
        let bad = "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    annotations:\n      s: \"{{ nosuch }}\"\n";
        let e = errors(bad);
        assert!(
            e[0].contains(
                "annotation \"s\": template: __alert_A:1: function \"nosuch\" not defined"
            ),
            "{e:?}"
        );
        let label = "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up\n    labels: {__name__: x, ok: \"{{ $value }}\"}\n";
        assert_eq!(errors(label).len(), 1);
        let fine = "groups:\n- name: a\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n    labels: {x: \"{{ not a template check\"}\n";
        assert!(errors(fine).is_empty());
    }

    #[test]
    fn names() {
        assert!(is_metric_name("job:up:sum") && !is_metric_name("1a") && !is_metric_name(""));
        assert!(is_label_name("_a1") && !is_label_name("a:b") && !is_label_name("a-b"));
    }
}
