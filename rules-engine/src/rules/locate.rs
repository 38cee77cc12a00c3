//! Where groups and rules sit in a rule file, so errors can say
//! `file:line:column` as promtool does.
//!
//! yaml_serde does not expose node positions, so this reads the block-style
//! YAML that rule files are written in line by line: a group is a `name:`
//! key at the least indentation any `name:` key has, a rule begins at an
//! `alert:`/`record:`/`expr:` key preceded by `- ` at the rule indentation
//! (the least any of those keys has), and label or annotation maps, being
//! deeper, are ignored. When the layout does not match the parsed file
//! (flow style, anchors), positions are left out rather than guessed.

use super::file::RuleFile;

/// A 1-based line and column of a value.
pub type Pos = (usize, usize);

/// Positions of one rule's values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RulePos {
    /// Of the `alert` or `record` value (the rule's name).
    pub name: Option<Pos>,
    /// Of the `expr` value.
    pub expr: Option<Pos>,
}

/// Positions of one group's `name` value and of its rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupPos {
    pub name: Option<Pos>,
    pub rules: Vec<RulePos>,
}

/// One `key: value` found at the start of a line (after an optional `- `).
struct Key<'a> {
    key: &'a str,
    line: usize,
    col: usize,
    value_col: usize,
    item: bool,
}

fn keys(text: &str) -> Vec<Key<'_>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let mut rest = &line[indent..];
        let mut col = indent + 1;
        let item = rest.starts_with("- ");
        if item {
            let after = rest[1..].trim_start_matches(' ');
            col += rest.len() - after.len();
            rest = after;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (key, tail) = rest.split_at(end);
        let Some(after_colon) = tail.trim_start_matches(' ').strip_prefix(':') else {
            continue;
        };
        if key.is_empty() {
            continue;
        }
        let value = after_colon.trim_start_matches(' ');
        let value_col = col + (rest.len() - value.len());
        out.push(Key {
            key,
            line: i + 1,
            col,
            value_col,
            item,
        });
    }
    out
}

/// Finds the positions of every group and rule of `file`, parsed from
/// `text`. Returns one entry per group; a group whose layout could not be
/// matched gets empty positions.
pub fn locate(text: &str, file: &RuleFile) -> Vec<GroupPos> {
    let found = scan(text);
    let shape_matches = found.len() == file.groups.len()
        && found
            .iter()
            .zip(&file.groups)
            .all(|(p, g)| p.rules.len() == g.rules.len());
    if shape_matches {
        found
    } else {
        vec![GroupPos::default(); file.groups.len()]
    }
}

fn scan(text: &str) -> Vec<GroupPos> {
    let keys = keys(text);
    let group_col = keys.iter().filter(|k| k.key == "name").map(|k| k.col).min();
    let rule_col = keys
        .iter()
        .filter(|k| matches!(k.key, "alert" | "record" | "expr"))
        .map(|k| k.col)
        .min();
    let mut groups: Vec<GroupPos> = Vec::new();
    for k in &keys {
        if Some(k.col) == group_col && k.key == "name" {
            groups.push(GroupPos {
                name: Some((k.line, k.value_col)),
                rules: Vec::new(),
            });
            continue;
        }
        if Some(k.col) != rule_col || !matches!(k.key, "alert" | "record" | "expr") {
            continue;
        }
        let Some(group) = groups.last_mut() else {
            continue;
        };
        if k.item || group.rules.is_empty() {
            group.rules.push(RulePos::default());
        }
        if let Some(rule) = group.rules.last_mut() {
            let pos = Some((k.line, k.value_col));
            match k.key {
                "expr" => rule.expr = pos,
                _ => rule.name = rule.name.or(pos),
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::file::parse_yaml;

    #[test]
    fn finds_groups_and_rule_values() {
        let text = "groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up == 0\n    labels:\n      alert: x\n  - expr: up\n    record: r\n- name: b\n  rules: []\n";
        let pos = locate(text, &parse_yaml(text).unwrap());
        assert_eq!(pos[0].name, Some((2, 9)));
        assert_eq!(
            pos[0].rules,
            vec![
                RulePos {
                    name: Some((4, 12)),
                    expr: Some((5, 11))
                },
                RulePos {
                    name: Some((9, 13)),
                    expr: Some((8, 11))
                },
            ]
        );
        assert_eq!(pos[1].name, Some((10, 9)));
    }

    #[test]
    fn flow_style_gets_no_positions() {
        let text = "groups: [{name: a, rules: [{alert: A, expr: up}]}]\n";
        let pos = locate(text, &parse_yaml(text).unwrap());
        assert_eq!(pos, vec![GroupPos::default()]);
    }
}
