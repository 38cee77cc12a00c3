//! `info(v, {data=~".*"})` (experimental): Prometheus accepts a second
//! argument whose matchers all match the empty string; the parser we use
//! rejects such selectors. Before parsing, a reserved always-true matcher
//! is added to that selector; `functions::info` removes it again.

/// The reserved label of the added matcher.
pub(crate) const INFO_LABEL: &str = "__vigil_info__";

/// Adds `__vigil_info__="1"` to the braces of every `info(..., {...})`.
pub(crate) fn rewrite(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 20);
    let mut rest = q;
    while let Some(open) = find_info_call(rest) {
        let Some(brace) = second_arg_brace(&rest[open..]).map(|b| open + b) else {
            out.push_str(&rest[..open + 1]);
            rest = &rest[open + 1..];
            continue;
        };
        out.push_str(&rest[..=brace]);
        let empty = rest[brace + 1..].trim_start().starts_with('}');
        out.push_str(&format!(
            "{INFO_LABEL}=\"1\"{}",
            if empty { "" } else { "," }
        ));
        rest = &rest[brace + 1..];
    }
    out.push_str(rest);
    out
}

/// Index of the `(` of the next `info(` call outside strings.
fn find_info_call(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut quote = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == b'\\' && q != b'`' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if matches!(c, b'"' | b'\'' | b'`') => quote = Some(c),
            None if b[i..].starts_with(b"info") && (i == 0 || !is_ident(b[i - 1])) => {
                let after = s.get(i + 4..).unwrap_or("").trim_start();
                if after.starts_with('(') {
                    return Some(s.len() - after.len());
                }
            }
            None => {}
        }
        i += 1;
    }
    None
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

/// Given text starting at `info(`'s parenthesis, the index of the `{` that
/// opens a bare second-argument selector, if there is one.
fn second_arg_brace(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let (mut depth, mut quote, mut i) = (0i32, None, 0);
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == b'\\' && q != b'`' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'"' | b'\'' | b'`' => quote = Some(c),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return None;
                    }
                }
                b',' if depth == 1 => {
                    let after = &s[i + 1..];
                    let trimmed = after.trim_start();
                    return trimmed.starts_with('{').then(|| s.len() - trimmed.len());
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_the_reserved_matcher() {
        assert_eq!(
            rewrite(r#"info(m, {data=~".*"})"#),
            r#"info(m, {__vigil_info__="1",data=~".*"})"#
        );
        assert_eq!(rewrite("info(rate(x[5m]))"), "info(rate(x[5m]))");
        assert_eq!(rewrite("info(m, {})"), r#"info(m, {__vigil_info__="1"})"#);
        assert_eq!(rewrite("build_info{a=\"b\"}"), "build_info{a=\"b\"}");
    }
}
