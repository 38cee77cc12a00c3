//! Just enough of block-style YAML's shape (indentation and `- ` items) to
//! find where a list item starts and ends. The parser gives positions only
//! for its own first error; this lets the loader skip a rejected item and
//! lets later checks point at the item they reject. Flow-style lists
//! (`[a, b]`) are not items here, so errors in them are reported one at a
//! time.

use std::ops::Range;

struct Line<'a> {
    indent: usize,
    content: &'a str,
}

fn lines(text: &str) -> Vec<Option<Line<'_>>> {
    text.lines()
        .map(|l| {
            let content = l.trim_start_matches(' ');
            if content.trim().is_empty() || content.starts_with('#') {
                None
            } else {
                Some(Line {
                    indent: l.len() - content.len(),
                    content,
                })
            }
        })
        .collect()
}

fn is_item(content: &str) -> bool {
    content == "-" || content.starts_with("- ")
}

/// The lines (0-based, end exclusive) of the outermost list item that
/// contains 1-based `line`, or `None` when the line is in no item.
pub fn enclosing_item(text: &str, line: usize) -> Option<Range<usize>> {
    let ls = lines(text);
    let last = ls.len().checked_sub(1)?;
    let start = line.saturating_sub(1).min(last);
    let mut bound = usize::MAX;
    let mut found = None;
    for (j, l) in ls[..=start].iter().enumerate().rev() {
        let Some(l) = l else { continue };
        if l.indent < bound {
            if is_item(l.content) {
                found = Some((j, l.indent));
            }
            bound = l.indent;
            if l.indent == 0 {
                break;
            }
        }
    }
    let (first, indent) = found?;
    let end = ls[first + 1..]
        .iter()
        .position(|l| l.as_ref().is_some_and(|l| l.indent <= indent))
        .map_or(ls.len(), |k| first + 1 + k);
    Some(first..end)
}

/// The top-level section and index of the outermost list item holding
/// 1-based `line`: `("apps", 2)`.
pub fn item_index(text: &str, line: usize) -> Option<(String, usize)> {
    let item = enclosing_item(text, line)?;
    let ls = lines(text);
    let indent = ls[item.start].as_ref()?.indent;
    let mut index = 0;
    for l in ls[..item.start].iter().rev().flatten() {
        if l.indent == indent && is_item(l.content) {
            index += 1;
        } else if l.indent == 0 && !is_item(l.content) {
            let key = l.content.split(':').next()?.trim();
            return Some((key.to_string(), index));
        }
    }
    None
}

/// `text` with the given lines emptied (line count unchanged).
pub fn blank_lines(text: &str, range: Range<usize>) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if range.contains(&i) {
            if l.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(l);
        }
    }
    out
}

/// 1-based line and column of the top-level key `section:`.
pub fn key_position(text: &str, section: &str) -> Option<(usize, usize)> {
    lines(text).iter().enumerate().find_map(|(i, l)| {
        let l = l.as_ref()?;
        (l.indent == 0 && starts_with_key(l.content, section)).then_some((i + 1, 1))
    })
}

/// 1-based line and column of item `index` of the top-level list `section`,
/// or of its `key` when written.
pub fn item_position(
    text: &str,
    section: &str,
    index: usize,
    key: Option<&str>,
) -> Option<(usize, usize)> {
    let ls = lines(text);
    let (head, _) = key_position(text, section)?;
    let mut item_indent = None;
    let mut items = Vec::new();
    for (j, l) in ls.iter().enumerate().skip(head) {
        let Some(l) = l else { continue };
        if l.indent == 0 && !is_item(l.content) {
            break;
        }
        if is_item(l.content) && *item_indent.get_or_insert(l.indent) == l.indent {
            items.push(j);
        }
    }
    let first = *items.get(index)?;
    let end = items.get(index + 1).copied().unwrap_or(ls.len());
    let item = ls[first].as_ref()?;
    if let Some(key) = key {
        for (j, l) in ls.iter().enumerate().take(end).skip(first) {
            let Some(l) = l else { continue };
            let (body, col) = match l.content.strip_prefix("- ") {
                Some(rest) => (
                    rest.trim_start(),
                    l.indent + 2 + rest.len() - rest.trim_start().len(),
                ),
                None => (l.content, l.indent),
            };
            if starts_with_key(body, key) {
                return Some((j + 1, col + 1));
            }
        }
    }
    Some((first + 1, item.indent + 1))
}

fn starts_with_key(content: &str, key: &str) -> bool {
    content
        .strip_prefix(key)
        .is_some_and(|rest| rest.trim_start().starts_with(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "global:\n  timeout: 5s\napps:\n  # first\n  - url: a\n    labels:\n      - x\n  - name: b\n    url: b\nredis:\n- url: r\n";

    #[test]
    fn finds_the_outermost_item() {
        assert_eq!(enclosing_item(DOC, 7), Some(4..7));
        assert_eq!(enclosing_item(DOC, 9), Some(7..9));
        assert_eq!(enclosing_item(DOC, 11), Some(10..11));
        assert_eq!(enclosing_item(DOC, 2), None);
        assert_eq!(item_index(DOC, 7), Some(("apps".into(), 0)));
        assert_eq!(item_index(DOC, 9), Some(("apps".into(), 1)));
        assert_eq!(item_index(DOC, 11), Some(("redis".into(), 0)));
    }

    #[test]
    fn blanks_keep_line_numbers() {
        let t = blank_lines(DOC, 4..7);
        assert_eq!(t.lines().count(), DOC.lines().count());
        assert!(!t.contains("url: a"));
    }

    #[test]
    fn locates_items_and_keys() {
        assert_eq!(item_position(DOC, "apps", 0, None), Some((5, 3)));
        assert_eq!(item_position(DOC, "apps", 0, Some("url")), Some((5, 5)));
        assert_eq!(item_position(DOC, "apps", 1, Some("url")), Some((9, 5)));
        assert_eq!(item_position(DOC, "apps", 1, Some("nope")), Some((8, 3)));
        assert_eq!(item_position(DOC, "apps", 2, None), None);
        assert_eq!(item_position(DOC, "redis", 0, Some("url")), Some((11, 3)));
        assert_eq!(key_position(DOC, "redis"), Some((10, 1)));
    }
}
