//! Parsing and validating expressions without evaluating them.

use promql_parser::parser::Expr;

use super::error::QueryError;

/// First of the private-use code points that stand for bytes of invalid
/// UTF-8 written as `\xNN` escapes (see [`go_byte_escapes`]).
pub(crate) const RAW_BYTE_BASE: u32 = 0x10_FF00;

/// Parses and type-checks a PromQL expression (Prometheus 3.x syntax). The
/// rule engine uses it to validate rule files; errors are `bad_data`.
pub fn parse_expr(text: &str) -> Result<Expr, QueryError> {
    parse_for_query(text, 0, 0)
}

/// Parses for a query with the given step and range (ms), which duration
/// expressions (`step()`, `range()`) may refer to.
pub(crate) fn parse_for_query(text: &str, step_ms: i64, range_ms: i64) -> Result<Expr, QueryError> {
    super::limits::check(text)?;
    let text = go_byte_escapes(text);
    let text = super::durations::rewrite(&text, step_ms, range_ms).map_err(QueryError::Parse)?;
    let text = super::range_modes::rewrite(&text);
    let text = super::info_arg::rewrite(&text);
    promql_parser::parser::parse(&text).map_err(|msg| {
        // Positions refer to the rewritten text, which equals the input
        // unless it used the syntax the rewrites handle.
        let parses = |s: &str| promql_parser::parser::parse(s).is_ok();
        QueryError::Parse(super::parse_errors::locate(&text, &msg, parses))
    })
}

/// In Go (and so in PromQL) `"\xc3\xa9"` is the bytes of `é` and `"\xff"`
/// is an invalid byte; the parser we use reads each `\xNN` as a code point.
/// This rewrites runs of high `\xNN` escapes inside quoted strings: valid
/// UTF-8 becomes the characters it encodes, each invalid byte a private-use
/// code point that label-name checks reject and error texts show as `\xNN`.
fn go_byte_escapes(text: &str) -> String {
    if !text.contains("\\x") {
        return text.to_string();
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut i, mut quote) = (0, None::<u8>);
    while i < b.len() {
        let c = b[i];
        match quote {
            None if c == b'"' || c == b'\'' || c == b'`' => quote = Some(c),
            Some(q) if c == q => quote = None,
            Some(q) if q != b'`' && c == b'\\' => {
                let (bytes, used) = high_bytes(&b[i..]);
                if !bytes.is_empty() {
                    push_bytes(&mut out, &bytes);
                    i += used;
                    continue;
                }
                // Any other escape: copy the backslash and the escaped char.
                out.push('\\');
                i += 1;
                if let Some(ch) = text[i..].chars().next() {
                    out.push(ch);
                    i += ch.len_utf8();
                }
                continue;
            }
            _ => {}
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// The run of `\xNN` escapes with NN >= 0x80 at the start of `b`.
fn high_bytes(b: &[u8]) -> (Vec<u8>, usize) {
    let mut bytes = Vec::new();
    let mut i = 0;
    while b.len() >= i + 4 && b[i] == b'\\' && b[i + 1] == b'x' {
        let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap_or("");
        match u8::from_str_radix(hex, 16) {
            Ok(v) if v >= 0x80 => bytes.push(v),
            _ => break,
        }
        i += 4;
    }
    (bytes, i)
}

fn push_bytes(out: &mut String, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match std::str::from_utf8(bytes) {
            Ok(s) => return push_escaped(out, s),
            Err(e) => {
                let (good, rest) = bytes.split_at(e.valid_up_to());
                push_escaped(out, std::str::from_utf8(good).unwrap_or(""));
                let bad = e.error_len().unwrap_or(rest.len());
                for &byte in &rest[..bad] {
                    out.push_str(&format!("\\U{:08x}", RAW_BYTE_BASE + u32::from(byte)));
                }
                bytes = &rest[bad..];
            }
        }
    }
}

fn push_escaped(out: &mut String, s: &str) {
    for ch in s.chars() {
        out.push_str(&format!("\\U{:08x}", u32::from(ch)));
    }
}

/// Go's `%q` of a string that may hold raw bytes from [`go_byte_escapes`].
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        let cp = u32::from(ch);
        if (RAW_BYTE_BASE + 0x80..=RAW_BYTE_BASE + 0xff).contains(&cp) {
            out.push_str(&format!("\\x{:02x}", cp - RAW_BYTE_BASE));
        } else {
            out.extend(ch.escape_debug());
        }
    }
    out.push('"');
    out
}

/// Whether `name` is a valid label name: non-empty UTF-8 (Prometheus 3).
pub(crate) fn valid_label_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| (RAW_BYTE_BASE + 0x80..=RAW_BYTE_BASE + 0xff).contains(&u32::from(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage() {
        assert!(parse_expr("sum(").is_err());
        assert!(parse_expr("rate(foo[5m])").is_ok());
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(s in "[a-z_{}()\\[\\]:\"'`\\\\xé0-9+*/^ ,=~!@-]{0,40}") {
            let _ = parse_expr(&s);
            let _ = parse_for_query(&s, 15_000, 3_600_000);
        }

        #[test]
        fn token_soup_never_panics(toks in proptest::collection::vec(proptest::sample::select(vec![
            "foo", "{a=\"é\"}", "[", "]", "5m", ":", "1m", "offset", "-", "(", ")", "step()",
            "anchored", "smoothed", "@", "start()", "rate(", "sum", "by", "+", "2", "\"\\xff\"",
            "min_of(", ",", "^", "}", "{", "`", "'",
        ]), 0..16)) {
            let s = toks.join(" ");
            let _ = parse_for_query(&s, 15_000, 3_600_000);
            let _ = parse_for_query(&toks.concat(), 0, 0);
        }
    }

    #[test]
    fn go_byte_strings() {
        let Ok(Expr::StringLiteral(s)) = parse_expr(r#""\xc3\xa9""#) else {
            panic!()
        };
        assert_eq!(s.val, "é");
        let Ok(Expr::StringLiteral(s)) = parse_expr(r#""a\xc5z""#) else {
            panic!()
        };
        assert!(!valid_label_name(&s.val));
        assert_eq!(go_quote(&s.val), r#""a\xc5z""#);
        let Ok(Expr::StringLiteral(s)) = parse_expr(r#"`\xff`"#) else {
            panic!()
        };
        assert_eq!(s.val, r"\xff");
    }
}
