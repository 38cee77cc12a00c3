//! Positions for parse errors. The parser we use reports what went wrong
//! but not where; Prometheus answers `1:5: parse error: ...`. The position
//! is the first token whose prefix can no longer be completed into a valid
//! expression.

use super::annotations::position;

/// Endings tried to complete a prefix: closing brackets, an operand, or a
/// range; enough to keep a valid-so-far prefix valid.
const COMPLETIONS: [&str; 16] = [
    "", ")", "))", ")))", " 1", " 1)", " 1))", " x", " x)", "}", "\"}", "]", "])", " 1m])",
    "[1m])", " x)))",
];

/// `line:col: parse error: msg` for `text`, whose parse failed with `msg`.
pub(crate) fn locate(text: &str, msg: &str, parses: impl Fn(&str) -> bool) -> String {
    let starts = token_starts(text);
    let completable = |k: usize| {
        let end = starts.get(k + 1).copied().unwrap_or(text.len());
        COMPLETIONS
            .iter()
            .any(|c| parses(&format!("{}{c}", &text[..end])))
    };
    // A prefix that cannot be completed stays so when it grows, so the
    // first broken token is found by bisection (O(log n) parses).
    let (mut lo, mut hi) = (0, starts.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if completable(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let error_at = starts.get(lo).copied();
    let (at, detail) = match error_at {
        Some(at) if msg == "invalid promql query" => {
            let tok = text[at..].split_whitespace().next().unwrap_or("");
            (at, format!("unexpected {tok:?}"))
        }
        Some(at) => (at, msg.to_string()),
        None if msg == "invalid promql query" => {
            (text.len(), "unexpected end of input".to_string())
        }
        None => (text.len(), msg.to_string()),
    };
    format!("{}: parse error: {detail}", position(text, at))
}

/// Byte offsets where tokens start: identifiers and numbers, quoted
/// strings, and single punctuation characters; whitespace separates.
fn token_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        starts.push(i);
        if c.is_alphanumeric() || c == '_' || c == '.' || c == ':' {
            while chars
                .next_if(|&(_, d)| d.is_alphanumeric() || d == '_' || d == '.' || d == ':')
                .is_some()
            {}
        } else if matches!(c, '"' | '\'' | '`') {
            let mut escaped = false;
            for (_, d) in chars.by_ref() {
                match d {
                    _ if escaped => escaped = false,
                    '\\' if c != '`' => escaped = true,
                    d if d == c => break,
                    _ => {}
                }
            }
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parses(s: &str) -> bool {
        promql_parser::parser::parse(s).is_ok()
    }

    #[test]
    fn points_at_the_offending_token() {
        assert_eq!(
            locate("foo bar", "invalid promql query", parses),
            "1:5: parse error: unexpected \"bar\""
        );
        assert_eq!(
            locate("sum(foo", "unclosed left parenthesis", parses),
            "1:8: parse error: unclosed left parenthesis"
        );
        assert_eq!(
            locate("1 +", "invalid promql query", parses),
            "1:4: parse error: unexpected end of input"
        );
    }

    #[test]
    fn long_bad_queries_are_located_by_bisection() {
        let q = format!("{} bar", vec!["x"; 3000].join(" + "));
        let err = crate::promql::parse_expr(&q).unwrap_err().to_string();
        assert!(err.contains("parse error: unexpected \"bar\""), "{err}");
    }
}
