//! Loading YAML configuration with every error located at `file:line:column`.
//!
//! serde stops at the first error. To report every error of a file in one
//! go (what `check-config` promises), a failing block-list item (one target
//! of a section) is blanked out and the text parsed again, until it parses or
//! an error lies outside any list item. Blanked lines stay as empty lines, so
//! later errors keep their real line numbers. A YAML syntax error stops the
//! search: what follows it cannot be trusted.

use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::env;
use crate::outline;

/// One error at a place in a file. `line` and `column` are 1-based; 0 means
/// the error is about the file as a whole (it cannot be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

/// Every error found in a configuration file, one per line when shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<Located>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl ConfigErrors {
    pub fn one(file: &str, line: usize, column: usize, message: impl Into<String>) -> Self {
        ConfigErrors(vec![Located {
            file: file.to_string(),
            line,
            column,
            message: message.into(),
        }])
    }
}

/// A parsed document together with its expanded text, so that later checks
/// (secrets files, URLs, duplicates) can point at the item they reject with
/// [`Parsed::locate_item`].
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    pub value: T,
    pub file: String,
    /// The text `value` was parsed from: the expanded file, with the items
    /// a partial parse rejected blanked out (lines keep their numbers).
    pub text: String,
    /// The expanded file as written.
    pub source: String,
}

/// What a partial parse gives: every error, and the document without the
/// rejected items when the rest parses, so that later checks (building
/// targets) can report their errors in the same run.
#[derive(Debug)]
pub struct Partial<T> {
    pub parsed: Option<Parsed<T>>,
    pub errors: Vec<Located>,
}

impl<T> Parsed<T> {
    /// The index in the file as written of item `index` of `section` in
    /// `value` (they differ when a partial parse left items out).
    pub fn original_index(&self, section: &str, index: usize) -> usize {
        outline::item_position(&self.text, section, index, None)
            .and_then(|(line, _)| outline::item_index(&self.source, line))
            .filter(|(s, _)| s == section)
            .map_or(index, |(_, i)| i)
    }

    /// An error at item `index` of the top-level list `section` (at `key`
    /// within it when that key is written there).
    pub fn error_at(
        &self,
        section: &str,
        index: usize,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> Located {
        let (line, column) = outline::item_position(&self.text, section, index, key)
            .or_else(|| outline::key_position(&self.text, section))
            .unwrap_or((0, 0));
        Located {
            file: self.file.clone(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// Reads, expands (`${ENV}` from the process environment) and parses a file.
pub fn load_yaml<T: DeserializeOwned>(path: &Path) -> Result<Parsed<T>, ConfigErrors> {
    into_result(load_yaml_partial(path))
}

/// [`load_yaml`], keeping what parses (see [`Partial`]).
pub fn load_yaml_partial<T: DeserializeOwned>(path: &Path) -> Partial<T> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse_yaml_partial(&file, &text, &|name| std::env::var(name).ok()),
        Err(e) => Partial {
            parsed: None,
            errors: ConfigErrors::one(&file, 0, 0, format!("cannot read: {e}")).0,
        },
    }
}

/// Expands `${ENV}` with `lookup` and parses `text`, which came from `file`.
pub fn parse_yaml<T: DeserializeOwned>(
    file: &str,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Parsed<T>, ConfigErrors> {
    into_result(parse_yaml_partial(file, text, lookup))
}

fn into_result<T>(partial: Partial<T>) -> Result<Parsed<T>, ConfigErrors> {
    match partial {
        Partial {
            parsed: Some(parsed),
            errors,
        } if errors.is_empty() => Ok(parsed),
        Partial { errors, .. } => Err(ConfigErrors(errors)),
    }
}

/// [`parse_yaml`], keeping what parses (see [`Partial`]).
pub fn parse_yaml_partial<T: DeserializeOwned>(
    file: &str,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Partial<T> {
    let expanded = match env::expand(text, lookup) {
        Ok(e) => e,
        Err(errs) => {
            let errors = errs
                .into_iter()
                .map(|e| Located {
                    file: file.to_string(),
                    line: e.line,
                    column: e.column,
                    message: e.message,
                })
                .collect();
            return Partial {
                parsed: None,
                errors,
            };
        }
    };
    let locate = |e: &yaml_serde::Error| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), expanded.original_column(l.line(), l.column())))
            .unwrap_or((0, 0));
        Located {
            file: file.to_string(),
            line,
            column,
            message: original_index(&expanded.text, line, strip_position(&e.to_string())),
        }
    };
    // Syntax first: an error here is the only one worth reporting.
    if let Err(e) = yaml_serde::from_str::<yaml_serde::Value>(&expanded.text) {
        return Partial {
            parsed: None,
            errors: vec![locate(&e)],
        };
    }
    let mut work = expanded.text.clone();
    let mut errors: Vec<Located> = Vec::new();
    // Each round blanks one item; a file has far fewer items than this.
    for _ in 0..256 {
        match yaml_serde::from_str::<T>(&work) {
            Ok(value) => {
                let parsed = Parsed {
                    value,
                    file: file.to_string(),
                    text: work,
                    source: expanded.text.clone(),
                };
                return Partial {
                    parsed: Some(parsed),
                    errors,
                };
            }
            Err(e) => {
                let located = locate(&e);
                let line = e.location().map(|l| l.line()).unwrap_or(0);
                if errors.contains(&located) {
                    break;
                }
                errors.push(located);
                match outline::enclosing_item(&work, line) {
                    Some(lines) => work = outline::blank_lines(&work, lines),
                    None => break,
                }
            }
        }
    }
    Partial {
        parsed: None,
        errors,
    }
}

/// Items blanked in earlier rounds shift the index yaml_serde puts in its
/// path (`apps[1].url`); the index is taken from the original text instead.
fn original_index(text: &str, line: usize, message: String) -> String {
    let Some((section, index)) = outline::item_index(text, line) else {
        return message;
    };
    let prefix = format!("{section}[");
    let Some(rest) = message.strip_prefix(&prefix) else {
        return message;
    };
    match rest.split_once(']') {
        Some((n, tail)) if n.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{prefix}{index}]{tail}")
        }
        _ => message,
    }
}

/// yaml_serde appends " at line L column C" to its messages; the location is
/// already in front of ours.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i)
            if message[i + 9..]
                .split_once(" column ")
                .is_some_and(|(l, c)| {
                    l.bytes().all(|b| b.is_ascii_digit()) && c.bytes().all(|b| b.is_ascii_digit())
                }) =>
        {
            message[..i].to_string()
        }
        _ => message.to_string(),
    }
}

/// For config sections that are lists: a key written with nothing after it
/// (`apps:`), or a list whose items were all rejected, is an empty list.
pub fn seq_or_null<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        #[serde(default, deserialize_with = "seq_or_null")]
        apps: Vec<App>,
        #[serde(default)]
        timeout: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct App {
        url: String,
        #[serde(default)]
        weight: u32,
    }

    fn parse(text: &str) -> Result<Parsed<Doc>, ConfigErrors> {
        parse_yaml("c.yml", text, &|n| (n == "URL").then(|| "http://x".into()))
    }

    #[test]
    fn parses_with_env() {
        let doc = parse("timeout: 2\napps:\n  - url: ${URL}\n    weight: 3\n")
            .unwrap()
            .value;
        assert_eq!(doc.apps[0].url, "http://x");
        assert_eq!((doc.timeout, doc.apps[0].weight), (Some(2), 3));
    }

    #[test]
    fn reports_every_bad_item() {
        let text = "timeout: 3\napps:\n  - url: a\n    colour: red\n  - url: b\n  - weight: x\n    url: c\n";
        let errs = parse(text).unwrap_err().0;
        let shown: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(shown[0].starts_with("c.yml:4:5: apps[0]: unknown field `colour`"));
        assert!(shown[1].starts_with("c.yml:6:13: apps[2].weight: invalid type"));
    }

    #[test]
    fn unknown_top_level_key_is_one_error() {
        let errs = parse("apps:\nbogus: 1\n").unwrap_err().0;
        assert_eq!(errs.len(), 1);
        assert_eq!((errs[0].line, errs[0].column), (2, 1));
    }

    #[test]
    fn syntax_error_is_located() {
        let errs = parse("apps:\n  - url: [a\n").unwrap_err().0;
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, 3, "{errs:?}");
    }

    #[test]
    fn unset_env_is_located() {
        let errs = parse("apps:\n  - url: ${NOPE}\n").unwrap_err().0;
        assert_eq!(errs[0].to_string().split(": ").next(), Some("c.yml:2:10"));
    }

    #[test]
    fn partial_parse_keeps_the_good_items_with_their_original_index() {
        let text = "apps:\n  - url: a\n    colour: red\n  - url: b\n";
        let p: Partial<Doc> = parse_yaml_partial("c.yml", text, &|_| None);
        assert_eq!(p.errors.len(), 1);
        let parsed = p.parsed.unwrap();
        assert_eq!(parsed.value.apps.len(), 1);
        assert_eq!(parsed.value.apps[0].url, "b");
        assert_eq!(parsed.original_index("apps", 0), 1);
        let e = parsed.error_at("apps", 0, Some("url"), "bad");
        assert_eq!((e.line, e.column), (4, 5));
    }

    #[test]
    fn strips_the_trailing_position() {
        assert_eq!(strip_position("x at line 3 column 4"), "x");
        assert_eq!(strip_position("x at line three"), "x at line three");
    }
}
