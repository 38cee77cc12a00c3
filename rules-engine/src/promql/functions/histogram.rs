//! `histogram_quantile` over classic histograms (`_bucket` series with an
//! `le` label), as Prometheus computes it: buckets with the same bound are
//! merged, non-monotonic counts are raised (with an info annotation) and
//! tiny float differences are ignored before interpolating linearly inside
//! the bucket holding the rank.

use std::collections::HashMap;
use std::rc::Rc;

use crate::model::{Labels, METRIC_NAME};
use crate::promql::annotations::msg;
use crate::promql::eval::{Ctx, Elem};

struct Bucket {
    upper: f64,
    count: f64,
}

/// What the quantile computation had to fix, for annotations.
#[derive(Default)]
struct Fixes {
    forced_monotonic: bool,
}

type Group = (Labels, Option<String>, Vec<Bucket>);

/// Groups bucket series by their labels without `le`; series with a bad
/// `le` are left out with Prometheus's warning.
fn group_buckets(ctx: &mut Ctx, elems: Vec<Elem>, pos: &str) -> Vec<Group> {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    for e in elems {
        let name = e.labels.get(METRIC_NAME).map(str::to_string);
        let Some(upper) = e.labels.get("le").and_then(parse_le) else {
            let raw = e.labels.get("le").unwrap_or("");
            ctx.ann.warn(
                &msg::bad_bucket_label(raw, name.as_deref().unwrap_or("")),
                pos,
            );
            continue;
        };
        let mut key = (*e.labels).clone();
        key.remove("le");
        let i = *index.entry(key.clone()).or_insert_with(|| {
            groups.push((key, name, Vec::new()));
            groups.len() - 1
        });
        groups[i].2.push(Bucket { upper, count: e.v });
    }
    groups
}

/// One step of `histogram_quantile(q, buckets)`.
pub(crate) fn quantile_step(ctx: &mut Ctx, q: f64, elems: Vec<Elem>, pos: &str) -> Vec<Elem> {
    let groups = group_buckets(ctx, elems, pos);
    if q.is_nan() || !(0.0..=1.0).contains(&q) {
        ctx.ann.warn(&msg::bad_quantile(q), pos);
    }
    groups
        .into_iter()
        .map(|(labels, name, mut buckets)| {
            let mut fixes = Fixes::default();
            let v = bucket_quantile(q, &mut buckets, &mut fixes);
            if fixes.forced_monotonic {
                ctx.ann
                    .info(&msg::monotonicity(name.as_deref().unwrap_or("")), pos);
            }
            Elem {
                labels: Rc::new(labels),
                v,
                drop_name: true,
            }
        })
        .collect()
}

/// One step of `histogram_fraction(lower, upper, buckets)` on classic
/// histograms: the estimated share of observations in `(lower, upper]`.
pub(crate) fn fraction_step(
    ctx: &mut Ctx,
    lower: f64,
    upper: f64,
    elems: Vec<Elem>,
    pos: &str,
) -> Vec<Elem> {
    group_buckets(ctx, elems, pos)
        .into_iter()
        .map(|(labels, _, mut buckets)| {
            let v = bucket_fraction(lower, upper, &mut buckets);
            Elem {
                labels: Rc::new(labels),
                v,
                drop_name: true,
            }
        })
        .collect()
}

fn bucket_fraction(lower: f64, upper: f64, buckets: &mut Vec<Bucket>) -> f64 {
    buckets.sort_by(|a, b| a.upper.total_cmp(&b.upper));
    if buckets.last().map(|b| b.upper) != Some(f64::INFINITY) {
        return f64::NAN;
    }
    coalesce(buckets);
    ensure_monotonic(buckets, &mut Fixes::default());
    let total = buckets[buckets.len() - 1].count;
    if total == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    (cumulative_at(upper, buckets) - cumulative_at(lower, buckets)) / total
}

/// The estimated number of observations `<= x`: linear inside a bucket;
/// the first bucket starts at 0 when its bound is positive; buckets of
/// infinite width are not interpolated (all or nothing).
fn cumulative_at(x: f64, buckets: &[Bucket]) -> f64 {
    let mut prev = 0.0;
    for (i, b) in buckets.iter().enumerate() {
        let lb = match i {
            0 if b.upper > 0.0 => 0.0,
            0 => f64::NEG_INFINITY,
            _ => buckets[i - 1].upper,
        };
        if x <= b.upper {
            if x <= lb {
                return prev;
            }
            if x == b.upper || lb == f64::NEG_INFINITY {
                return b.count;
            }
            if b.upper == f64::INFINITY {
                return prev;
            }
            return prev + (b.count - prev) * (x - lb) / (b.upper - lb);
        }
        prev = b.count;
    }
    prev
}

/// Parses an `le` value as Prometheus does (Go float syntax incl. `+Inf`).
fn parse_le(s: &str) -> Option<f64> {
    match s.trim() {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        t => t.parse().ok(),
    }
}

fn bucket_quantile(q: f64, buckets: &mut Vec<Bucket>, fixes: &mut Fixes) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.upper.total_cmp(&b.upper));
    if buckets.last().map(|b| b.upper) != Some(f64::INFINITY) {
        return f64::NAN;
    }
    coalesce(buckets);
    ensure_monotonic(buckets, fixes);
    if buckets.len() < 2 {
        return f64::NAN;
    }
    let observations = buckets[buckets.len() - 1].count;
    if observations == 0.0 || observations.is_nan() {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = buckets.partition_point(|bk| bk.count < rank);
    if b == buckets.len() - 1 {
        return buckets[buckets.len() - 2].upper;
    }
    if b == 0 && buckets[0].upper <= 0.0 {
        return buckets[0].upper;
    }
    let (mut start, end, mut count) = (0.0, buckets[b].upper, buckets[b].count);
    if b > 0 {
        start = buckets[b - 1].upper;
        count -= buckets[b - 1].count;
        rank -= buckets[b - 1].count;
    }
    start + (end - start) * (rank / count)
}

/// Merges buckets with the same upper bound by adding their counts.
fn coalesce(buckets: &mut Vec<Bucket>) {
    let mut out: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for b in buckets.drain(..) {
        match out.last_mut() {
            Some(last) if last.upper == b.upper => last.count += b.count,
            _ => out.push(b),
        }
    }
    *buckets = out;
}

/// Raises counts that fall below an earlier bucket's, and treats counts
/// within a relative 1e-12 of the previous as equal.
fn ensure_monotonic(buckets: &mut [Bucket], fixes: &mut Fixes) {
    let Some(first) = buckets.first() else { return };
    let mut prev = first.count;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, 1e-12) {
            b.count = prev;
            continue;
        }
        if curr < prev {
            b.count = prev;
            fixes.forced_monotonic = true;
            continue;
        }
        prev = curr;
    }
}

fn almost_equal(a: f64, b: f64, eps: f64) -> bool {
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < eps * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < eps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs
            .iter()
            .map(|&(upper, count)| Bucket { upper, count })
            .collect()
    }

    #[test]
    fn interpolates_within_bucket() {
        let mut bs = b(&[(1.0, 10.0), (2.0, 20.0), (f64::INFINITY, 20.0)]);
        let q = bucket_quantile(0.75, &mut bs, &mut Fixes::default());
        assert!((q - 1.5).abs() < 1e-12);
    }

    #[test]
    fn fixes_monotonicity() {
        let mut fixes = Fixes::default();
        let mut bs = b(&[(1.0, 10.0), (2.0, 5.0), (f64::INFINITY, 10.0)]);
        bucket_quantile(0.5, &mut bs, &mut fixes);
        assert!(fixes.forced_monotonic);
    }
}
