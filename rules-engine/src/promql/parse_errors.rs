//! Positions for parse errors. The parser we use reports what went wrong
//! but not where; Prometheus answers `1:5: parse error: ...`. The position
//! is the first token whose prefix can no longer be completed into a valid
//! expression.

use super::annotations::position;

/// What is tried after a prefix to complete it: nothing, an operand, the
/// end of a string, a matcher's value, a duration or a range; each followed
/// by the brackets the prefix leaves open ([`closers`]), however deep.
const TAILS: [&str; 8] = ["", " 1", " x", "\"", "\"\"", "=\"\"", " 1m", "[1m]"];

/// `line:col: parse error: msg` for `text`, whose parse failed with `msg`.
pub(crate) fn locate(text: &str, msg: &str, parses: impl Fn(&str) -> bool) -> String {
    let starts = token_starts(text);
    let completable = |k: usize| {
        let end = starts.get(k + 1).copied().unwrap_or(text.len());
        TAILS.iter().any(|t| {
            let mut s = format!("{}{t}", &text[..end]);
            s.push_str(&closers(&s));
            parses(&s)
        })
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

/// The closing brackets for those `text` leaves open, innermost first
/// (brackets in string literals do not count).
fn closers(text: &str) -> String {
    let mut open = Vec::new();
    let mut quote = None;
    let mut escaped = false;
    for c in text.chars() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(q) if c == '\\' && q != '`' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' | '`' => quote = Some(c),
                '(' => open.push(')'),
                '[' => open.push(']'),
                '{' => open.push('}'),
                ')' | ']' | '}' => {
                    open.pop();
                }
                _ => {}
            },
        }
    }
    open.iter().rev().collect()
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
        let matchers: Vec<String> = (0..3000).map(|i| format!("l{i}=\"v\"")).collect();
        let q = format!("x{{{}}} bar", matchers.join(", "));
        let err = crate::promql::parse_expr(&q).unwrap_err().to_string();
        assert!(err.contains("parse error: unexpected \"bar\""), "{err}");
    }

    #[test]
    fn deep_prefixes_are_completed() {
        let deep = format!("{}x{}", "(".repeat(100), ")".repeat(100));
        let err = crate::promql::parse_expr(&format!("{deep} + {deep} +")).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("parse error: unexpected end of input"),
            "{err}"
        );
        assert_eq!(closers(r#"sum(rate(x{a="(}"#), "}))");
    }
}
