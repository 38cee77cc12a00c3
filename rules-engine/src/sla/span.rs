//! Half-open time spans in integer milliseconds since the Unix epoch.
//!
//! Every SLA quantity is a sum of span lengths, so spans are `[start, end)`:
//! two adjacent spans share no millisecond and their lengths add up exactly.

use serde::Serialize;

/// `[start, end)` in milliseconds since the epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Span {
    pub start: i64,
    pub end: i64,
}

impl Span {
    pub const fn new(start: i64, end: i64) -> Self {
        Span { start, end }
    }

    /// Length in milliseconds; zero for an empty or inverted span.
    pub fn len_ms(self) -> i64 {
        (self.end - self.start).max(0)
    }

    pub fn is_empty(self) -> bool {
        self.end <= self.start
    }

    /// The common part, if any.
    pub fn intersect(self, other: Span) -> Option<Span> {
        let s = Span::new(self.start.max(other.start), self.end.min(other.end));
        (!s.is_empty()).then_some(s)
    }
}

/// Sorts spans and merges those that overlap or touch, dropping empty ones.
pub fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|s| !s.is_empty());
    spans.sort();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

/// `span` minus every span of `holes` (which must be merged: sorted,
/// disjoint). The pieces come back in order.
pub fn subtract(span: Span, holes: &[Span]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut cursor = span.start;
    for h in holes {
        if h.end <= cursor {
            continue;
        }
        if h.start >= span.end {
            break;
        }
        if h.start > cursor {
            out.push(Span::new(cursor, h.start));
        }
        cursor = cursor.max(h.end);
    }
    if cursor < span.end {
        out.push(Span::new(cursor, span.end));
    }
    out
}

/// Total length of merged spans inside `within`.
pub fn covered_ms(spans: &[Span], within: Span) -> i64 {
    spans
        .iter()
        .filter_map(|s| s.intersect(within))
        .map(Span::len_ms)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_overlapping_and_touching() {
        let m = merge(vec![
            Span::new(5, 7),
            Span::new(0, 2),
            Span::new(2, 3),
            Span::new(6, 9),
            Span::new(4, 4),
        ]);
        assert_eq!(m, vec![Span::new(0, 3), Span::new(5, 9)]);
    }

    #[test]
    fn subtracts_holes() {
        let holes = merge(vec![Span::new(2, 4), Span::new(6, 12), Span::new(-5, 1)]);
        assert_eq!(
            subtract(Span::new(0, 10), &holes),
            vec![Span::new(1, 2), Span::new(4, 6)]
        );
        assert_eq!(covered_ms(&holes, Span::new(0, 10)), 1 + 2 + 4);
    }
}
