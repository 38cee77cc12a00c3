//! YAML as promtool reads rule and rule-test files (Go's yaml.v3):
//!
//! - only the first document of a multi-document file counts; what follows
//!   the second `---` is not even parsed;
//! - anchors and aliases, and merge keys (`<<: *common`, `<<: [*a, *b]`)
//!   whose keys fill in what the mapping does not set itself;
//! - durations written with any unit may be zero (`for: 0m`, `0h0m`), as
//!   Prometheus's `model.ParseDuration` allows.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::model::units::PromDuration;

/// A YAML syntax or shape error, with the position yaml_serde gives.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// 1-based line and column, when known.
    pub pos: Option<(usize, usize)>,
    pub message: String,
}

impl From<yaml_serde::Error> for YamlError {
    fn from(e: yaml_serde::Error) -> Self {
        YamlError {
            pos: e.location().map(|l| (l.line(), l.column())),
            message: e.to_string(),
        }
    }
}

/// Reads the first YAML document of `text` as a `T`; `None` when the file
/// holds no document (empty, or only comments).
pub fn first_document<T: DeserializeOwned>(text: &str) -> Result<Option<T>, YamlError> {
    first_document_strict(text, &[])
}

/// [`first_document`] for promtool's strict reading of rule-test files
/// (Go's yaml.v2): in the mappings under the keys in `strict_maps` (those
/// read into Go maps), a key that a merge sets again is an error ("already
/// set in map"); elsewhere the written key wins, as in rule files.
pub fn first_document_strict<T: DeserializeOwned>(
    text: &str,
    strict_maps: &[&str],
) -> Result<Option<T>, YamlError> {
    check_flow_depth(text)?;
    let first = || yaml_serde::Deserializer::from_str(text).next();
    let Some(doc) = first() else {
        return Ok(None);
    };
    // A key written twice in one mapping is an error for Go's YAML (a map
    // read by serde would keep the last value silently).
    let mut value = yaml_serde::Value::deserialize(doc)?;
    if !has_merge_key(text) {
        // Typed straight from the text: errors keep their line and column.
        let Some(doc) = first() else {
            return Ok(None);
        };
        return Ok(Option::<T>::deserialize(doc)?);
    }
    // Merge keys are resolved on the generic value first; errors after that
    // have no position (yaml_serde gives none for values).
    resolve_merges(&mut value, "", strict_maps)
        .map_err(|message| YamlError { pos: None, message })?;
    Ok(yaml_serde::from_value::<Option<T>>(value)?)
}

/// Resolves merge keys as Go's YAML does: inner merges first (a merged
/// mapping may merge others), then the mapping's own `<<`, whose keys fill
/// in what the mapping does not set (earlier sources win over later ones).
/// `key` is the key the value sits under.
fn resolve_merges(v: &mut yaml_serde::Value, key: &str, strict: &[&str]) -> Result<(), String> {
    use yaml_serde::Value;
    match v {
        Value::Mapping(m) => {
            for (k, child) in m.iter_mut() {
                resolve_merges(child, k.as_str().unwrap_or(""), strict)?;
            }
            let Some(merge) = m.remove("<<") else {
                return Ok(());
            };
            let sources = match merge {
                Value::Mapping(one) => vec![one],
                Value::Sequence(many) => {
                    many.into_iter()
                        .map(|x| match x {
                            Value::Mapping(one) => Ok(one),
                            _ => Err("map merge requires map or sequence of maps as the value"
                                .to_string()),
                        })
                        .collect::<Result<_, _>>()?
                }
                _ => return Err("map merge requires map or sequence of maps as the value".into()),
            };
            for (k, val) in sources.into_iter().flatten() {
                if !m.contains_key(&k) {
                    m.insert(k, val);
                } else if strict.contains(&key) {
                    let name = k.as_str().unwrap_or("");
                    return Err(format!("key {name:?} already set in map"));
                }
            }
            Ok(())
        }
        Value::Sequence(items) => items
            .iter_mut()
            .try_for_each(|x| resolve_merges(x, key, strict)),
        Value::Tagged(t) => resolve_merges(&mut t.value, key, strict),
        _ => Ok(()),
    }
}

/// Deepest nesting of YAML flow collections (`[…]`, `{…}`) accepted. The
/// YAML parser's work grows with the nesting times the length (libyaml
/// keeps a list per open flow level), so 200,000 nested brackets took
/// minutes; rule and test files nest a handful of levels, and anything
/// deeper than their schema (about 7 levels) is refused by promtool too.
const MAX_FLOW_DEPTH: usize = 64;

/// Refuses flow collections nested deeper than [`MAX_FLOW_DEPTH`] before
/// parsing. Brackets count only inside a flow collection, which starts
/// where a value does (`key: [`, `- {`, a line's start); quoted strings,
/// block scalars (`|`, `>`) and comments are skipped, so templates' `{{ }}`
/// in text do not count.
fn check_flow_depth(text: &str) -> Result<(), YamlError> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    // Indentation of the line that opened a block scalar being skipped.
    let mut block: Option<usize> = None;
    for (n, line) in text.split('\n').enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if let Some(b) = block {
            if line.trim().is_empty() || indent > b {
                continue;
            }
            block = None;
        }
        let mut value_start = quote.is_none() && depth == 0;
        let mut chars = line.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            if let Some(q) = quote {
                if c == '\\' && q == '"' {
                    chars.next();
                } else if c == q {
                    quote = None;
                    value_start = false;
                }
                continue;
            }
            match c {
                ' ' | '\t' | '\r' => continue,
                '#' => break,
                '"' | '\'' if value_start => {
                    quote = Some(c);
                    continue;
                }
                '|' | '>' if value_start && depth == 0 => {
                    block = Some(indent);
                    break;
                }
                '[' | '{' if depth > 0 || value_start => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Err(YamlError {
                            pos: Some((n + 1, line[..at].chars().count() + 1)),
                            message: format!(
                                "YAML collections nested more than {MAX_FLOW_DEPTH} levels deep"
                            ),
                        });
                    }
                    value_start = true;
                    continue;
                }
                ']' | '}' if depth > 0 => depth -= 1,
                ',' if depth > 0 => {
                    value_start = true;
                    continue;
                }
                ':' | '-' if chars.peek().is_none_or(|&(_, d)| d == ' ') => {
                    value_start = true;
                    continue;
                }
                _ => {}
            }
            value_start = false;
        }
    }
    Ok(())
}

/// The text of the first document: up to the line that starts the second
/// (`---`) or ends the first (`...`), for finding positions in it.
pub fn first_document_text(text: &str) -> &str {
    let mut seen_content = false;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let marker = |m: &str| {
            line.strip_prefix(m)
                .is_some_and(|r| r.is_empty() || r.starts_with(char::is_whitespace))
        };
        if seen_content && (marker("---") || marker("...")) {
            return &text[..offset];
        }
        let body = line.trim();
        if !body.is_empty() && !body.starts_with('#') && !marker("---") {
            seen_content = true;
        }
        offset += line.len();
    }
    text
}

/// Whether `text` may use a merge key (`<<:` outside a quoted string is
/// close enough: a false positive only costs the error positions).
fn has_merge_key(text: &str) -> bool {
    text.contains("<<")
}

/// Parses a duration as Prometheus's `model.ParseDuration` does: like
/// [`PromDuration::parse`], and zero with any units (`0m`, `0h0m`, `0ms`).
pub fn parse_duration(s: &str) -> Result<PromDuration, String> {
    if is_zero_duration(s) {
        return Ok(PromDuration(std::time::Duration::ZERO));
    }
    PromDuration::parse(s)
}

/// `[0-9]+unit` repeated, every number zero, units among Prometheus's.
fn is_zero_duration(s: &str) -> bool {
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || !rest[..digits].bytes().all(|b| b == b'0') {
            return false;
        }
        rest = &rest[digits..];
        let unit = ["ms", "y", "w", "d", "h", "m", "s"]
            .into_iter()
            .find(|u| rest.starts_with(u));
        let Some(unit) = unit else { return false };
        rest = &rest[unit.len()..];
    }
    true
}

/// serde `deserialize_with` for a duration field.
pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<PromDuration, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).map_err(serde::de::Error::custom)
}

/// serde `deserialize_with` for an optional duration field (with
/// `#[serde(default)]`, so that a missing key is `None`).
pub fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PromDuration>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| parse_duration(&s).map_err(serde::de::Error::custom))
        .transpose()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn zero_durations_take_any_unit() {
        for s in [
            "0", "0s", "0m", "0h", "0ms", "0d", "0w", "0y", "0h0m", "00m",
        ] {
            assert_eq!(parse_duration(s), Ok(PromDuration::from_secs(0)), "{s}");
        }
        assert_eq!(parse_duration("1m"), Ok(PromDuration::from_secs(60)));
        for s in ["", "0x", "m", "0m1", "-0m", "0.0m", "15"] {
            assert!(parse_duration(s).is_err(), "{s}");
        }
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        a: BTreeMap<String, String>,
        #[serde(default)]
        b: BTreeMap<String, String>,
    }

    #[test]
    fn only_the_first_document_counts() {
        let d: Doc = first_document("a: {x: '1'}\n---\nthis: [is not parsed\n")
            .unwrap()
            .unwrap();
        assert_eq!(d.a["x"], "1");
        assert_eq!(first_document::<Doc>("# nothing\n").unwrap(), None);
        assert_eq!(first_document::<Doc>("").unwrap(), None);
    }

    #[test]
    fn the_first_document_text_ends_at_the_next_marker() {
        assert_eq!(first_document_text("---\na: 1\n---\nb: 2\n"), "---\na: 1\n");
        assert_eq!(first_document_text("a: 1\n...\n"), "a: 1\n");
        assert_eq!(first_document_text("a: '---'\n"), "a: '---'\n");
    }

    #[test]
    fn merge_keys_fill_in_missing_keys() {
        let text = "a: &base {x: '1', y: '2'}\nb:\n  <<: *base\n  y: '3'\n";
        let d: Doc = first_document(text).unwrap().unwrap();
        assert_eq!(d.b["x"], "1");
        assert_eq!(d.b["y"], "3");
    }

    #[test]
    fn nested_merges_resolve_and_strict_maps_refuse_overrides() {
        let text = "a: &x {p: '1'}\nb: &y {<<: *x, q: '2'}\nc: {<<: *y, r: '3'}\n";
        let d: BTreeMap<String, BTreeMap<String, String>> = first_document(text).unwrap().unwrap();
        assert_eq!(d["c"].len(), 3, "{d:?}");
        let text = "a: &x {p: '1'}\nb: {<<: *x, p: '2'}\n";
        let d: BTreeMap<String, BTreeMap<String, String>> = first_document(text).unwrap().unwrap();
        assert_eq!(d["b"]["p"], "2");
        let e = first_document_strict::<BTreeMap<String, BTreeMap<String, String>>>(text, &["b"])
            .unwrap_err();
        assert_eq!(e.message, "key \"p\" already set in map");
    }

    #[test]
    fn deep_flow_nesting_is_refused_quickly() {
        let deep = format!("a: {}{}\n", "[".repeat(200_000), "]".repeat(200_000));
        let e = first_document::<BTreeMap<String, String>>(&deep).unwrap_err();
        assert!(e.message.contains("more than 64 levels"), "{e}");
        assert_eq!(e.pos, Some((1, 68)));
        let ok = format!("a: {}1{}\n", "[".repeat(64), "]".repeat(64));
        assert!(check_flow_depth(&ok).is_ok());
        // Brackets in text, templates, quoted strings and comments.
        let text = format!(
            "a: |\n  {}\n\n  x\nb: \"{}\n  {}\"\nc: x {} y # {}\nd: [\"{}\", '{}']\n",
            "{{ [".repeat(100),
            "[".repeat(100),
            "{{ [".repeat(100),
            "{".repeat(100),
            "[".repeat(100),
            "[".repeat(100),
            "{".repeat(100)
        );
        assert!(check_flow_depth(&text).is_ok(), "{text}");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = first_document::<Doc>("a:\n  x: '1'\n  x: '2'\n").unwrap_err();
        assert!(e.message.contains("duplicate"), "{e}");
        assert_eq!(e.pos.map(|p| p.0), Some(2), "{e}");
    }

    #[test]
    fn errors_keep_their_position_without_merge_keys() {
        let e = first_document::<Doc>("a: {x: '1'}\nc: 2\n").unwrap_err();
        assert_eq!(e.pos.map(|p| p.0), Some(2), "{e}");
    }
}
