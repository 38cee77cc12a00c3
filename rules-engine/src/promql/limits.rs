//! Limits on what an expression may be before it is parsed.
//!
//! The parser we use, everything that walks its syntax tree (type checks,
//! printing, dropping the tree) and our evaluator recurse once per level of
//! nesting, on a thread's fixed stack. Prometheus, written in Go, has growing
//! stacks and no such limit; here an expression nested a few thousand deep
//! (1,500 parentheses, `abs(` 500 deep, `1+1+…` with 2,000 terms) would
//! overflow the stack and abort the whole process. So the text is scanned
//! first, without recursion, for an upper bound of its tree's depth and for
//! its size, and refused as a parse error (`bad_data`) past the limits.
//!
//! The bound counts one level for each bracket pair (`(…)`, a call's or an
//! aggregation's arguments, `[…]`, `{…}`), one for each postfix `[…]`
//! (range or subquery) and one for each operator inside the same brackets
//! (a chain `a or b or c` is a tree as deep as it has operators). It is an
//! upper bound of the tree's depth, so no expression within the limit
//! recurses deeper than it, however its operators associate.

use super::annotations::position;
use super::error::QueryError;

/// Deepest nesting accepted. Hand-written queries and rules stay far below
/// (a dozen is a lot); generated `or` chains of a couple hundred terms fit.
pub const MAX_DEPTH: usize = 256;

/// Longest expression accepted, in bytes: far beyond hand-written queries,
/// room for generated ones (a regex of a few thousand instance names).
/// Parsing time grows with the size times the depth, and a parse error is
/// located by bisection (a few dozen parses of prefixes), so this keeps even
/// a refused expression cheap.
pub const MAX_BYTES: usize = 128 * 1024;

/// Refuses `text` if it is longer than [`MAX_BYTES`] or nested deeper than
/// [`MAX_DEPTH`], with Prometheus's `line:col: parse error: …` form.
pub fn check(text: &str) -> Result<(), QueryError> {
    if text.len() > MAX_BYTES {
        return Err(QueryError::Parse(format!(
            "{}: parse error: expression is {} bytes long, more than the limit of {MAX_BYTES} bytes",
            position(text, floor_char_boundary(text, MAX_BYTES)),
            text.len(),
        )));
    }
    match deepest(text, MAX_DEPTH) {
        Some(at) => Err(QueryError::Parse(format!(
            "{}: parse error: expression nesting depth exceeds the limit of {MAX_DEPTH} \
             (each bracket pair, range or subquery, and operator within the same brackets counts one level)",
            position(text, at),
        ))),
        None => Ok(()),
    }
}

/// One open bracket pair: the bound of the path down to it, counting the
/// operators seen in it so far (`path`), and the largest bound of the pairs
/// closed inside it (`child`).
struct Frame {
    path: usize,
    child: usize,
    braces: bool,
}

/// The byte offset of the token at which the depth bound first exceeds
/// `limit`, or `None` if it never does.
///
/// With frames `f0 … fk` open (`f0` the whole text), the final bound is the
/// largest `path(j) + child(j)` over the scan, where `path(j)` adds one per
/// enclosing pair and per operator seen in each of them. Operators only ever
/// land in the innermost frame and children only close into it, so checking
/// that frame after each token finds the first offending one in O(n).
fn deepest(text: &str, limit: usize) -> Option<usize> {
    let mut stack = vec![Frame {
        path: 1,
        child: 0,
        braces: false,
    }];
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let top = stack.len() - 1;
        match b[i] {
            b'"' | b'\'' | b'`' => i = skip_string(b, i),
            b'#' => {
                i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n);
                continue;
            }
            c @ (b'(' | b'[' | b'{') => {
                if c == b'[' {
                    // A range or subquery is a node around what precedes it.
                    stack[top].path += 1;
                }
                let path = stack[top].path + 1;
                stack.push(Frame {
                    path,
                    child: 0,
                    braces: c == b'{',
                });
                i += 1;
            }
            b')' | b']' | b'}' => {
                i += 1;
                if stack.len() > 1 {
                    let f = stack.pop().unwrap_or(Frame {
                        path: 0,
                        child: 0,
                        braces: false,
                    });
                    let parent = stack.len() - 1;
                    let own = f.path - stack[parent].path + f.child;
                    stack[parent].child = stack[parent].child.max(own);
                }
            }
            _ if stack[top].braces => i += 1,
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'=' | b'!' | b'<' | b'>' => {
                stack[top].path += 1;
                // `==`, `!=`, `<=`, `>=` are one operator.
                i += if b.get(i + 1) == Some(&b'=') { 2 } else { 1 };
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b':' || c == b'.' => {
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b':' | b'.'))
                {
                    i += 1;
                }
                let word = &text[start..i];
                if ["and", "or", "unless", "atan2"]
                    .iter()
                    .any(|k| word.eq_ignore_ascii_case(k))
                {
                    stack[top].path += 1;
                }
            }
            _ => i += 1,
        }
        let f = stack.last()?;
        if f.path + f.child > limit {
            return Some(start);
        }
    }
    None
}

/// The offset just past the string literal starting at `i` (or the end of
/// the text if it is not closed); backslash escapes except in raw strings.
fn skip_string(b: &[u8], i: usize) -> usize {
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' if q != b'`' => j += 2,
            c if c == q => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

/// The largest char boundary of `s` at or before `at`.
fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(text: &str) -> usize {
        (1..10_000)
            .find(|&l| deepest(text, l).is_none())
            .unwrap_or(usize::MAX)
    }

    #[test]
    fn bounds_the_tree_depth() {
        assert_eq!(depth("up"), 1);
        assert_eq!(depth("a + b"), 2);
        assert_eq!(depth("(a + b)"), 3);
        assert_eq!(depth("a or b or c"), 3);
        assert_eq!(depth("abs(abs(x))"), 3);
        assert_eq!(depth("x[5m]"), 3);
        assert_eq!(depth(r#"sum by (job) (rate(x{a="(((("}[5m]))"#), 5);
        assert_eq!(depth("1e+5"), 2);
        // Brackets inside strings, comments and label braces do not count.
        assert_eq!(depth("x{a=\"((((\", b!=\"c\"} # ((((\n"), 2);
    }

    #[test]
    fn refuses_the_issue_examples() {
        let cases = [
            format!("{}1{}", "(".repeat(1500), ")".repeat(1500)),
            format!("{}x{}", "abs(".repeat(500), ")".repeat(500)),
            format!("{}x{}", "sum(".repeat(1000), ")".repeat(1000)),
            vec!["1"; 2000].join("+"),
            vec!["vector(1)"; 20_000].join(" or "),
            vec!["x"; 300].join(" AND "),
        ];
        for q in cases {
            let err = check(&q).unwrap_err().to_string();
            assert!(
                err.contains("parse error: expression") && err.contains("limit of"),
                "{err}"
            );
        }
    }

    #[test]
    fn accepts_up_to_the_limit() {
        let q = format!(
            "{}x{}",
            "(".repeat(MAX_DEPTH - 1),
            ")".repeat(MAX_DEPTH - 1)
        );
        assert!(check(&q).is_ok());
        let q = format!("({q})");
        let err = check(&q).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("1:{MAX_DEPTH}: parse error")),
            "{err}"
        );
        assert!(check(&vec!["x"; MAX_DEPTH].join(" or ")).is_ok());
        assert!(check(&vec!["x"; MAX_DEPTH + 1].join(" or ")).is_err());
    }

    #[test]
    fn refuses_long_text_with_its_position() {
        let q = format!("x{{a=\"{}\"}}", "é".repeat(MAX_BYTES));
        let err = check(&q).unwrap_err().to_string();
        assert!(err.contains("more than the limit of 131072 bytes"), "{err}");
    }
}
