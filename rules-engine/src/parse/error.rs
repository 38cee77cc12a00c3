//! Parse errors, located by line and column so a target's "down" reason
//! points at the offending byte of its body.

/// What is wrong at the reported position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("invalid metric name")]
    InvalidMetricName,
    #[error("invalid label name")]
    InvalidLabelName,
    #[error("expected {0}")]
    Expected(&'static str),
    #[error("unterminated quoted string")]
    UnterminatedString,
    #[error("invalid UTF-8")]
    InvalidUtf8,
    #[error("invalid value {0:?}")]
    InvalidValue(String),
    #[error("invalid timestamp {0:?}")]
    InvalidTimestamp(String),
    #[error("duplicate label name {0:?}")]
    DuplicateLabel(String),
    #[error("more than {0} labels")]
    TooManyLabels(usize),
    #[error("label name longer than {0} bytes")]
    LabelNameTooLong(usize),
    #[error("label value longer than {0} bytes")]
    LabelValueTooLong(usize),
    #[error("unknown metric type {0:?}")]
    UnknownType(String),
    #[error("OpenMetrics body does not end with \"# EOF\"")]
    MissingEof,
    #[error("data after \"# EOF\"")]
    DataAfterEof,
    #[error("empty line (not allowed in OpenMetrics)")]
    EmptyLine,
    #[error("comment other than HELP, TYPE, UNIT or EOF (not allowed in OpenMetrics)")]
    InvalidComment,
    #[error("unexpected text after the sample")]
    TrailingText,
}

/// A parse failure at a 1-based line and column (columns count characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {kind}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub kind: ParseErrorKind,
}

impl ParseError {
    /// An error at byte `offset` of `line_bytes`, the text of line `line`.
    pub(crate) fn at(line: usize, line_bytes: &[u8], offset: usize, kind: ParseErrorKind) -> Self {
        let prefix = &line_bytes[..offset.min(line_bytes.len())];
        let column = 1 + String::from_utf8_lossy(prefix).chars().count();
        ParseError { line, column, kind }
    }
}
