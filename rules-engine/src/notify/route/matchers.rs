//! Alertmanager's matcher strings: `severity="page"`, `team=~"db|cache"`,
//! and lists such as `{a="b", c!="d"}` in routes, inhibit rules and silences.
//!
//! This reproduces the "classic" parser of Alertmanager 0.25 (the version
//! Debian ships and our side-by-side oracle): the value may be quoted or
//! bare, a quoted value understands `\"`, `\\` and `\n` (any other escape is
//! kept literally), and commas inside quotes do not split. Regexes are
//! anchored at both ends and, unlike PromQL's, `.` does not match a newline,
//! because Alertmanager compiles `^(?:re)$` without flags.

use std::cmp::Ordering;
use std::fmt;

use regex::Regex;

use crate::model::{Labels, MatchOp, Matcher};

/// Why a matcher string was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MatcherParseError {
    #[error("bad matcher format: {0:?}")]
    Format(String),
    #[error("matcher value contains unescaped double quote: {0:?}")]
    UnescapedQuote(String),
    #[error("invalid regular expression {value:?} for label {name:?}: {reason}")]
    Regex {
        value: String,
        name: String,
        reason: String,
    },
    #[error("invalid label name {0:?}")]
    LabelName(String),
}

/// Parses one string of the `matchers:` list: optional braces around one or
/// more comma-separated matchers.
pub fn parse_matchers(s: &str) -> Result<Vec<Matcher>, MatcherParseError> {
    let s = s.strip_prefix('{').unwrap_or(s);
    let s = s.strip_suffix('}').unwrap_or(s);
    let mut out = Vec::new();
    for token in split_outside_quotes(s) {
        out.push(parse_matcher(&token)?);
    }
    Ok(out)
}

/// Splits on commas that are not inside a double-quoted value; the last
/// token is dropped when it is blank (a trailing comma is allowed).
fn split_outside_quotes(s: &str) -> Vec<String> {
    let (mut tokens, mut token) = (Vec::new(), String::new());
    let (mut quoted, mut escaped) = (false, false);
    for c in s.chars() {
        match c {
            ',' if !quoted => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            '"' if !escaped => quoted = !quoted,
            '"' => escaped = false,
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        token.push(c);
    }
    if !token.trim().is_empty() {
        tokens.push(token.trim().to_string());
    }
    tokens
}

/// Parses `name op value`, with blanks allowed around each part.
pub fn parse_matcher(s: &str) -> Result<Matcher, MatcherParseError> {
    let bad = || MatcherParseError::Format(s.to_string());
    let t = s.trim();
    let name_end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(t.len());
    let name = &t[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(bad());
    }
    let rest = t[name_end..].trim_start();
    let (op, raw) = ["=~", "!=", "!~", "="]
        .iter()
        .find_map(|op| rest.strip_prefix(op).map(|v| (*op, v.trim())))
        .ok_or_else(bad)?;
    let value = unquote(raw)?;
    build(name, op, &value)
}

/// Removes an opening quote (which then requires the closing one) and
/// resolves escapes the way Alertmanager 0.25 does.
fn unquote(raw: &str) -> Result<String, MatcherParseError> {
    let quote_err = || MatcherParseError::UnescapedQuote(raw.to_string());
    let (body, mut want_close) = match raw.strip_prefix('"') {
        Some(b) => (b, true),
        None => (raw, false),
    };
    let mut value = String::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, e @ ('"' | '\\'))) => value.push(e),
                Some((_, e)) => {
                    value.push('\\');
                    value.push(e);
                }
                None => value.push('\\'),
            },
            '"' => {
                if !want_close || i + 1 < body.len() {
                    return Err(quote_err());
                }
                want_close = false;
            }
            _ => value.push(c),
        }
    }
    if want_close {
        return Err(quote_err());
    }
    Ok(value)
}

/// Builds a matcher with Alertmanager's regex flavour (no dot-all).
pub fn build(name: &str, op: &str, value: &str) -> Result<Matcher, MatcherParseError> {
    let op = match op {
        "=" => MatchOp::Equal,
        "!=" => MatchOp::NotEqual,
        "=~" => MatchOp::Regex(am_regex(name, value)?),
        "!~" => MatchOp::NotRegex(am_regex(name, value)?),
        _ => return Err(MatcherParseError::Format(format!("{name}{op}{value}"))),
    };
    Ok(Matcher {
        name: name.to_string(),
        value: value.to_string(),
        op,
    })
}

fn am_regex(name: &str, value: &str) -> Result<Regex, MatcherParseError> {
    Regex::new(&format!("^(?:{value})$")).map_err(|e| MatcherParseError::Regex {
        value: value.to_string(),
        name: name.to_string(),
        // regex's message draws a caret under the pattern; its last line
        // says what is wrong.
        reason: e.to_string().lines().last().unwrap_or("").to_string(),
    })
}

/// Whether every matcher accepts the label set (a missing label is "").
pub fn matches_all(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}

fn op_str(op: &MatchOp) -> &'static str {
    match op {
        MatchOp::Equal => "=",
        MatchOp::NotEqual => "!=",
        MatchOp::Regex(_) => "=~",
        MatchOp::NotRegex(_) => "!~",
    }
}

fn op_rank(op: &MatchOp) -> u8 {
    match op {
        MatchOp::Equal => 0,
        MatchOp::NotEqual => 1,
        MatchOp::Regex(_) => 2,
        MatchOp::NotRegex(_) => 3,
    }
}

/// Alertmanager's order of matchers within a route: name, then value, then
/// operator. It decides route keys, hence group keys.
pub fn compare(a: &Matcher, b: &Matcher) -> Ordering {
    (a.name.as_str(), a.value.as_str(), op_rank(&a.op)).cmp(&(
        b.name.as_str(),
        b.value.as_str(),
        op_rank(&b.op),
    ))
}

/// Displays a matcher list as Alertmanager prints it in route keys:
/// `{a="b",c=~"d"}` with the value escaped as OpenMetrics does.
pub struct Display<'a>(pub &'a [Matcher]);

impl fmt::Display for Display<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}{}\"", m.name, op_str(&m.op))?;
            for c in m.value.chars() {
                match c {
                    '\\' => f.write_str("\\\\")?,
                    '\n' => f.write_str("\\n")?,
                    '"' => f.write_str("\\\"")?,
                    c => write!(f, "{c}")?,
                }
            }
            f.write_str("\"")?;
        }
        f.write_str("}")
    }
}

/// Whether `s` is a valid label name for the old `match:`/`match_re:` keys
/// and for `group_by` (Prometheus's legacy rule, as Alertmanager 0.25).
pub fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Matcher {
        parse_matcher(s).unwrap()
    }

    #[test]
    fn bare_and_quoted_values() {
        assert_eq!(one("a=b").value, "b");
        assert_eq!(one(r#" a = "b c" "#).value, "b c");
        assert_eq!(one(r#"a="x\"y\\z\n""#).value, "x\"y\\z\n");
        // An unknown escape stays literal, as in Alertmanager.
        assert_eq!(one(r#"a="\d+""#).value, r"\d+");
    }

    #[test]
    fn operators() {
        assert!(matches!(one("a!=b").op, MatchOp::NotEqual));
        assert!(matches!(one("a=~b").op, MatchOp::Regex(_)));
        assert!(matches!(one("a!~b").op, MatchOp::NotRegex(_)));
    }

    #[test]
    fn lists_split_outside_quotes() {
        let ms = parse_matchers(r#"{a="x,y", b!~"1|2",}"#).unwrap();
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[0].value, "x,y");
        assert_eq!(ms[1].name, "b");
    }

    #[test]
    fn rejects_bad_forms() {
        assert!(parse_matcher("=b").is_err());
        assert!(parse_matcher("1a=b").is_err());
        assert!(parse_matcher("a b").is_err());
        assert!(matches!(
            parse_matcher(r#"a="b"#),
            Err(MatcherParseError::UnescapedQuote(_))
        ));
        assert!(matches!(
            parse_matcher(r#"a="b"c""#),
            Err(MatcherParseError::UnescapedQuote(_))
        ));
        assert!(matches!(
            parse_matcher("a=~(("),
            Err(MatcherParseError::Regex { .. })
        ));
    }

    #[test]
    fn regex_is_anchored_without_dot_all() {
        let m = one("a=~b.c");
        assert!(m.matches("bxc"));
        assert!(!m.matches("b\nc"));
        assert!(!m.matches("abxc"));
    }

    #[test]
    fn display_escapes_like_openmetrics() {
        let ms = vec![one(r#"a="q\"\\""#), one("b=~x")];
        assert_eq!(Display(&ms).to_string(), r#"{a="q\"\\",b=~"x"}"#);
    }
}
