//! `${ENV}` expansion in configuration text, before it is parsed as YAML.
//!
//! `${NAME}` is replaced by the variable's value, `${NAME:-default}` by the
//! default when the variable is unset or empty, and `$$` by a literal `$`; any
//! other `$` stays as it is. An unset variable without a default is an error
//! (a silently empty password or URL is worse than refusing to start). Lines
//! that are YAML comments are left alone, so a commented-out `${OLD}` does not
//! fail the load.
//!
//! The value is inserted as text: quote the YAML scalar if it may contain
//! `: ` or `#`. Values with a newline are refused, which keeps every line of
//! the expanded text on the line it came from; [`Expanded::original_column`]
//! maps columns back, so YAML errors still point into the file as written.

/// A problem with one `${...}` reference, at its 1-based line and column in
/// the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// One replaced span on a line, in characters: where it sits in the expanded
/// line and where it came from in the original.
#[derive(Debug, Clone, Copy)]
struct Span {
    new_start: usize,
    new_len: usize,
    orig_start: usize,
    orig_len: usize,
}

/// Expanded text plus what is needed to map its columns back.
#[derive(Debug, Clone)]
pub struct Expanded {
    pub text: String,
    /// Per line (0-based), the replaced spans in order.
    spans: Vec<Vec<Span>>,
}

impl Expanded {
    /// Maps a 1-based column of the expanded text back to the original line.
    /// A column inside a replaced value maps to the start of its `${`.
    pub fn original_column(&self, line: usize, column: usize) -> usize {
        let Some(spans) = line.checked_sub(1).and_then(|l| self.spans.get(l)) else {
            return column;
        };
        let col = column.saturating_sub(1);
        let mut shift: isize = 0;
        for s in spans {
            if col < s.new_start {
                break;
            }
            if col < s.new_start + s.new_len {
                return s.orig_start + 1;
            }
            shift += s.orig_len as isize - s.new_len as isize;
        }
        ((col as isize + shift).max(0) as usize) + 1
    }
}

/// Expands `text` with values from `lookup` (`std::env::var` in production; a
/// map in tests). Returns every error, not just the first.
pub fn expand(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Expanded, Vec<EnvError>> {
    let mut out = String::with_capacity(text.len());
    let mut spans = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let (line_out, line_spans) = if line.trim_start().starts_with('#') {
            (line.to_string(), Vec::new())
        } else {
            expand_line(line, i + 1, lookup, &mut errors)
        };
        out.push_str(&line_out);
        spans.push(line_spans);
    }
    if errors.is_empty() {
        Ok(Expanded { text: out, spans })
    } else {
        Err(errors)
    }
}

fn expand_line(
    line: &str,
    line_no: usize,
    lookup: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<EnvError>,
) -> (String, Vec<Span>) {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut out_len = 0usize;
    let mut spans = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '$' && next == Some('$') {
            spans.push(Span {
                new_start: out_len,
                new_len: 1,
                orig_start: i,
                orig_len: 2,
            });
            out.push('$');
            out_len += 1;
            i += 2;
            continue;
        }
        if c != '$' || next != Some('{') {
            out.push(c);
            out_len += 1;
            i += 1;
            continue;
        }
        let err = |message: String| EnvError {
            line: line_no,
            column: i + 1,
            message,
        };
        let Some(close) = chars[i + 2..].iter().position(|&c| c == '}') else {
            errors.push(err("unterminated `${`: expected `}`".to_string()));
            out.extend(&chars[i..]);
            break;
        };
        let inner: String = chars[i + 2..i + 2 + close].iter().collect();
        let orig_len = close + 3;
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner.as_str(), None),
        };
        let value = if !valid_name(name) {
            errors.push(err(format!(
                "`${{{inner}}}`: expected a variable name of letters, digits and `_`"
            )));
            None
        } else {
            match (lookup(name).filter(|v| !v.is_empty()), default) {
                (Some(v), _) => Some(v),
                (None, Some(d)) => Some(d.to_string()),
                (None, None) => {
                    errors.push(err(format!(
                        "environment variable {name} is not set (use `${{{name}:-default}}` for a default)"
                    )));
                    None
                }
            }
        };
        let value = match value {
            Some(v) if v.contains('\n') || v.contains('\r') => {
                errors.push(err(format!(
                    "environment variable {name} contains a line break, which cannot be inserted into YAML"
                )));
                String::new()
            }
            Some(v) => v,
            None => String::new(),
        };
        let new_len = value.chars().count();
        spans.push(Span {
            new_start: out_len,
            new_len,
            orig_start: i,
            orig_len,
        });
        out.push_str(&value);
        out_len += new_len;
        i += orig_len;
    }
    (out, spans)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db.example".into()),
            "EMPTY" => Some(String::new()),
            "LONG" => Some("0123456789".into()),
            "NL" => Some("a\nb".into()),
            _ => None,
        }
    }

    #[test]
    fn replaces_variables_defaults_and_dollars() {
        let e = expand("a: ${HOST}:${PORT:-5432} $$x $y\n", &env).unwrap();
        assert_eq!(e.text, "a: db.example:5432 $x $y\n");
    }

    #[test]
    fn empty_value_takes_the_default() {
        let e = expand("a: ${EMPTY:-d}\n", &env).unwrap();
        assert_eq!(e.text, "a: d\n");
    }

    #[test]
    fn comments_are_not_expanded() {
        let e = expand("  # ${MISSING}\na: 1\n", &env).unwrap();
        assert_eq!(e.text, "  # ${MISSING}\na: 1\n");
    }

    #[test]
    fn reports_every_unset_variable_with_its_position() {
        let errs = expand("a: ${A}\nb:\n  c: x${B}\n", &env).unwrap_err();
        let pos: Vec<_> = errs.iter().map(|e| (e.line, e.column)).collect();
        assert_eq!(pos, vec![(1, 4), (3, 7)]);
        assert!(errs[1].message.contains("B is not set"));
    }

    #[test]
    fn refuses_bad_names_unterminated_and_line_breaks() {
        let errs = expand("a: ${1x} ${NL} ${HOST\n", &env).unwrap_err();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert_eq!(errs[2].column, 16);
    }

    #[test]
    fn maps_columns_back_to_the_original() {
        // "a: ${LONG} b" -> "a: 0123456789 b"
        let e = expand("a: ${LONG} b\n", &env).unwrap();
        assert_eq!(e.original_column(1, 1), 1);
        assert_eq!(e.original_column(1, 6), 4); // inside the value
        assert_eq!(e.original_column(1, 15), 12); // the `b`: 14 -> 11 (0-based)
        assert_eq!(e.original_column(2, 3), 3);
    }
}
