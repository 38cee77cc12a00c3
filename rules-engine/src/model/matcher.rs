//! Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus's semantics: regexes
//! are fully anchored, `.` matches newlines (Prometheus 3.x), and a missing
//! label matches as the empty string.

use regex::Regex;

#[derive(Debug, Clone)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex(Regex),
    NotRegex(Regex),
}

#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub value: String,
    pub op: MatchOp,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid regular expression {pattern:?} in matcher for {name:?}: {source}")]
pub struct MatcherError {
    pub name: String,
    pub pattern: String,
    #[source]
    pub source: regex::Error,
}

impl Matcher {
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Matcher {
            name: name.into(),
            value: value.into(),
            op: MatchOp::Equal,
        }
    }

    pub fn not_equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Matcher {
            name: name.into(),
            value: value.into(),
            op: MatchOp::NotEqual,
        }
    }

    /// `name =~ pattern`, anchored at both ends as Prometheus does.
    pub fn regex(
        name: impl Into<String>,
        pattern: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let (name, value) = (name.into(), pattern.into());
        let re = compile_anchored(&name, &value)?;
        Ok(Matcher {
            name,
            value,
            op: MatchOp::Regex(re),
        })
    }

    /// `name !~ pattern`, anchored at both ends as Prometheus does.
    pub fn not_regex(
        name: impl Into<String>,
        pattern: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let (name, value) = (name.into(), pattern.into());
        let re = compile_anchored(&name, &value)?;
        Ok(Matcher {
            name,
            value,
            op: MatchOp::NotRegex(re),
        })
    }

    /// Whether a label value (the empty string when the label is absent)
    /// satisfies this matcher.
    pub fn matches(&self, value: &str) -> bool {
        match &self.op {
            MatchOp::Equal => value == self.value,
            MatchOp::NotEqual => value != self.value,
            MatchOp::Regex(re) => re.is_match(value),
            MatchOp::NotRegex(re) => !re.is_match(value),
        }
    }

    /// Whether the matcher accepts the empty string, that is, series that
    /// lack the label. Selecting by such matchers alone needs a full scan.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}

fn compile_anchored(name: &str, pattern: &str) -> Result<Regex, MatcherError> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .dot_matches_new_line(true)
        .build()
        .map_err(|source| MatcherError {
            name: name.to_string(),
            pattern: pattern.to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_is_fully_anchored() {
        let m = Matcher::regex("job", "api").unwrap();
        assert!(m.matches("api"));
        assert!(!m.matches("api-2"));
        assert!(!m.matches("my-api"));
    }

    #[test]
    fn dot_matches_newline() {
        let m = Matcher::regex("x", "a.b").unwrap();
        assert!(m.matches("a\nb"));
    }

    #[test]
    fn absent_label_is_empty_value() {
        assert!(Matcher::not_equal("x", "1").matches_empty());
        assert!(Matcher::regex("x", ".*").unwrap().matches_empty());
        assert!(!Matcher::regex("x", ".+").unwrap().matches_empty());
    }
}
