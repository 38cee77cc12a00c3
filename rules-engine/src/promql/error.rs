//! Query errors, each mapping to the `errorType` Prometheus's HTTP API returns.

/// Why a query failed. The texts are Prometheus's own, so clients and tests
/// that match on them keep working.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// The expression does not parse or type-check (`bad_data`). The text
    /// carries the position, e.g. `1:5: parse error: ...`.
    #[error("{0}")]
    Parse(String),
    /// The expression is valid but cannot be evaluated (`execution`), e.g.
    /// `many-to-many matching not allowed`.
    #[error("{0}")]
    Execution(String),
    /// Evaluation ran past the engine's timeout (`timeout`).
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    /// The caller gave up (`canceled`).
    #[error("query was canceled in {0}")]
    Canceled(&'static str),
    /// More samples than `max_samples` would be held at once (`execution`).
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(&'static str),
}

impl QueryError {
    /// The `errorType` field of Prometheus's API error responses.
    pub fn error_type(&self) -> &'static str {
        match self {
            QueryError::Parse(_) => "bad_data",
            QueryError::Execution(_) | QueryError::TooManySamples(_) => "execution",
            QueryError::Timeout(_) => "timeout",
            QueryError::Canceled(_) => "canceled",
        }
    }

    pub(crate) fn exec(msg: impl Into<String>) -> Self {
        QueryError::Execution(msg.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_follow_prometheus() {
        assert_eq!(QueryError::Parse("x".into()).error_type(), "bad_data");
        assert_eq!(
            QueryError::Timeout("query execution").error_type(),
            "timeout"
        );
        assert_eq!(
            QueryError::TooManySamples("query execution").to_string(),
            "query processing would load too many samples into memory in query execution"
        );
    }
}
