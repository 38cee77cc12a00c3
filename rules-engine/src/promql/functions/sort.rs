//! `sort`, `sort_desc`, `sort_by_label` and `sort_by_label_desc`: order an
//! instant vector (only meaningful for instant queries).

use std::cmp::Ordering;

use crate::promql::eval::Elem;

/// Orders by value, ascending for `sort` and descending for `sort_desc`,
/// NaN last in both, as Prometheus does.
pub(crate) fn sort_by_value(elems: &mut [Elem], desc: bool) {
    elems.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ if desc => b.v.partial_cmp(&a.v).unwrap_or(Ordering::Equal),
        _ => a.v.partial_cmp(&b.v).unwrap_or(Ordering::Equal),
    });
}

/// Sorts by the values of `names` in natural order (digit runs compare as
/// numbers), then by the whole label set.
pub(crate) fn sort_by_labels(elems: &mut [Elem], names: &[String], desc: bool) {
    elems.sort_by(|a, b| {
        let mut ord = Ordering::Equal;
        for n in names {
            let (x, y) = (a.labels.get(n).unwrap_or(""), b.labels.get(n).unwrap_or(""));
            ord = natural_cmp(x, y);
            if ord != Ordering::Equal {
                break;
            }
        }
        let ord = ord.then_with(|| a.labels.cmp(&b.labels));
        if desc { ord.reverse() } else { ord }
    });
}

/// Natural string order: runs of digits compare by numeric value.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return Ordering::Equal,
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let (nx, rx) = split_digits(x);
                let (ny, ry) = split_digits(y);
                let (tx, ty) = (trim_zeros(nx), trim_zeros(ny));
                let ord = tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty));
                if ord != Ordering::Equal {
                    return ord;
                }
                (x, y) = (rx, ry);
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                (x, y) = (&x[1..], &y[1..]);
            }
        }
    }
}

fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    s.split_at(n)
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b'0').count();
    &s[n..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        assert_eq!(natural_cmp("a2", "a10"), Ordering::Less);
        assert_eq!(natural_cmp("b", "a10"), Ordering::Greater);
        assert_eq!(natural_cmp("x", "x"), Ordering::Equal);
    }
}
