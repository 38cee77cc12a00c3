//! Parsing and validating expressions without evaluating them.

use promql_parser::parser::Expr;

use super::error::QueryError;

/// Parses and type-checks a PromQL expression (Prometheus 3.x syntax). The
/// rule engine uses it to validate rule files; errors are `bad_data`.
pub fn parse_expr(text: &str) -> Result<Expr, QueryError> {
    promql_parser::parser::parse(text).map_err(QueryError::Parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage() {
        assert!(parse_expr("sum(").is_err());
        assert!(parse_expr("rate(foo[5m])").is_ok());
    }
}
