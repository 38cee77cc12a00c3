//! Resolving label matchers to a sorted list of series references, the way
//! Prometheus's `PostingsForMatchers` does:
//!
//! - a matcher that rejects the empty string (`job="api"`, `code=~"5.."`,
//!   `env!=""`) selects the union of the postings of the values it accepts;
//! - a matcher that accepts the empty string (`env!="prod"`, `x=~".*"`,
//!   `x=""`) also selects series lacking the label, so it cannot enumerate
//!   its series: it subtracts the series whose value it rejects instead;
//! - the selecting lists are intersected smallest first, and the whole index
//!   is scanned only when no matcher selects (every matcher accepts "").

use std::borrow::Cow;

use crate::model::{MatchOp, Matcher};

use super::index::PostingsIndex;

/// An inverted index matchers can be resolved against: the head's
/// in-memory [`PostingsIndex`] or a block's index file.
pub trait PostingsSource {
    /// The series carrying `name="value"`, sorted (empty when none do).
    fn postings(&self, name: &str, value: &str) -> Cow<'_, [u64]>;
    /// Sorted, deduplicated union of the postings of the values of `name`
    /// that `keep` accepts.
    fn postings_where(&self, name: &str, keep: &dyn Fn(&str) -> bool) -> Vec<u64>;
    /// Every series, sorted.
    fn all(&self) -> Cow<'_, [u64]>;
}

impl PostingsSource for PostingsIndex {
    fn postings(&self, name: &str, value: &str) -> Cow<'_, [u64]> {
        Cow::Borrowed(PostingsIndex::postings(self, name, value))
    }

    fn postings_where(&self, name: &str, keep: &dyn Fn(&str) -> bool) -> Vec<u64> {
        union(self.values(name).filter(|(v, _)| keep(v)).map(|(_, p)| p))
    }

    fn all(&self) -> Cow<'_, [u64]> {
        Cow::Borrowed(PostingsIndex::all(self))
    }
}

/// The series matching all `matchers`, sorted. No matchers selects all.
pub fn select_postings<S: PostingsSource + ?Sized>(ix: &S, matchers: &[Matcher]) -> Vec<u64> {
    let mut selecting: Vec<Vec<u64>> = Vec::new();
    let mut excluding: Vec<Vec<u64>> = Vec::new();
    for m in matchers {
        if m.matches_empty() {
            excluding.push(union_of_values(ix, m, |v| !m.matches(v)));
        } else {
            let list = match &m.op {
                MatchOp::Equal => ix.postings(&m.name, &m.value).into_owned(),
                MatchOp::Regex(_) => match literal_alternatives(&m.value) {
                    Some(alts) => {
                        let lists: Vec<Cow<'_, [u64]>> =
                            alts.iter().map(|v| ix.postings(&m.name, v)).collect();
                        union(lists.iter().map(|l| &l[..]))
                    }
                    None => union_of_values(ix, m, |v| m.matches(v)),
                },
                _ => union_of_values(ix, m, |v| m.matches(v)),
            };
            if list.is_empty() {
                return Vec::new();
            }
            selecting.push(list);
        }
    }
    selecting.sort_by_key(Vec::len);
    let mut result = match selecting.split_first() {
        None => ix.all().into_owned(),
        Some((first, rest)) => rest.iter().fold(first.clone(), |acc, l| intersect(&acc, l)),
    };
    for ex in excluding.iter().filter(|e| !e.is_empty()) {
        result = subtract(&result, ex);
    }
    result
}

fn union_of_values<S: PostingsSource + ?Sized>(
    ix: &S,
    m: &Matcher,
    keep: impl Fn(&str) -> bool,
) -> Vec<u64> {
    ix.postings_where(&m.name, &keep)
}

/// `a|b|c` made only of plain characters: the values can be looked up
/// directly instead of testing the regex against every value of the label.
fn literal_alternatives(pattern: &str) -> Option<Vec<&str>> {
    const META: &[char] = &[
        '\\', '.', '+', '*', '?', '(', ')', '[', ']', '{', '}', '^', '$',
    ];
    if pattern.contains(META) {
        return None;
    }
    Some(pattern.split('|').filter(|a| !a.is_empty()).collect())
}

/// Sorted, deduplicated union of sorted lists.
fn union<'a>(lists: impl Iterator<Item = &'a [u64]>) -> Vec<u64> {
    let lists: Vec<&[u64]> = lists.filter(|l| !l.is_empty()).collect();
    match lists.len() {
        0 => Vec::new(),
        1 => lists[0].to_vec(),
        _ => {
            let mut out: Vec<u64> = lists.concat();
            out.sort_unstable();
            out.dedup();
            out
        }
    }
}

/// Intersection of two sorted lists; galloping when one is much shorter.
fn intersect(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut out = Vec::with_capacity(small.len());
    if small.len() * 16 < large.len() {
        let mut rest = large;
        for &x in small {
            let i = rest.partition_point(|&y| y < x);
            if rest.get(i) == Some(&x) {
                out.push(x);
            }
            rest = &rest[i..];
        }
        return out;
    }
    let (mut i, mut j) = (0, 0);
    while i < small.len() && j < large.len() {
        match small[i].cmp(&large[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(small[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Sorted `a` without the elements of sorted `b`.
fn subtract(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if b.get(j) != Some(&x) {
            out.push(x);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;

    fn index() -> PostingsIndex {
        let mut ix = PostingsIndex::default();
        let series: [&[(&str, &str)]; 5] = [
            &[("__name__", "http"), ("job", "api"), ("code", "200")],
            &[("__name__", "http"), ("job", "api"), ("code", "500")],
            &[("__name__", "http"), ("job", "db")],
            &[("__name__", "up"), ("job", "api")],
            &[("__name__", "up"), ("job", "db"), ("env", "prod")],
        ];
        for (i, s) in series.iter().enumerate() {
            ix.add(i as u64, &Labels::from_pairs(s.iter().copied()));
        }
        ix
    }

    fn sel(ms: &[Matcher]) -> Vec<u64> {
        select_postings(&index(), ms)
    }

    #[test]
    fn equality_and_inequality() {
        assert_eq!(sel(&[Matcher::equal("__name__", "http")]), [0, 1, 2]);
        assert_eq!(
            sel(&[
                Matcher::equal("__name__", "http"),
                Matcher::not_equal("job", "api")
            ]),
            [2]
        );
        assert_eq!(sel(&[Matcher::equal("job", "nope")]), [] as [u64; 0]);
    }

    #[test]
    fn matchers_accepting_empty_select_series_lacking_the_label() {
        // code != "200": series 2 has no code label, so it matches.
        assert_eq!(
            sel(&[
                Matcher::equal("__name__", "http"),
                Matcher::not_equal("code", "200")
            ]),
            [1, 2]
        );
        // env="" means "no env label".
        assert_eq!(sel(&[Matcher::equal("env", "")]), [0, 1, 2, 3]);
        assert_eq!(
            sel(&[Matcher::regex("env", "prod|").unwrap()]),
            [0, 1, 2, 3, 4]
        );
        // env!="" means "has an env label".
        assert_eq!(sel(&[Matcher::not_equal("env", "")]), [4]);
    }

    #[test]
    fn regexes_are_anchored_and_literal_sets_are_looked_up() {
        assert_eq!(sel(&[Matcher::regex("code", "5..").unwrap()]), [1]);
        assert_eq!(
            sel(&[Matcher::regex("code", "20").unwrap()]),
            [] as [u64; 0]
        );
        assert_eq!(sel(&[Matcher::regex("code", "200|500").unwrap()]), [0, 1]);
        assert_eq!(
            sel(&[
                Matcher::equal("job", "api"),
                Matcher::not_regex("code", "2..").unwrap()
            ]),
            [1, 3]
        );
        assert_eq!(sel(&[Matcher::regex("__name__", ".+").unwrap()]).len(), 5);
        assert_eq!(sel(&[]).len(), 5);
    }

    #[test]
    fn set_operations() {
        assert_eq!(intersect(&[1, 3, 5, 7], &[3, 4, 5]), [3, 5]);
        let big: Vec<u64> = (0..1000).collect();
        assert_eq!(intersect(&[5, 999, 2000], &big), [5, 999]);
        assert_eq!(subtract(&[1, 2, 3, 4], &[2, 4, 6]), [1, 3]);
        assert_eq!(union([&[1u64, 4][..], &[2, 4]].into_iter()), [1, 2, 4]);
    }
}
