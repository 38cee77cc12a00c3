//! The `*_over_time` family over range vectors, and
//! `double_exponential_smoothing` (Holt-Winters, renamed in Prometheus 3).

use super::stats::{quantile_sorted, sort_go};
use crate::model::Sample;
use crate::promql::eval::aggregate::{kahan_sum, mean, variance};

fn values(w: &[Sample]) -> Vec<f64> {
    w.iter().map(|s| s.v).collect()
}

/// The aggregate of one window for the single-argument `*_over_time`
/// functions; `None` for an unknown name.
pub(crate) fn over_time(name: &str, w: &[Sample]) -> Option<f64> {
    let last = w.last()?;
    Some(match name {
        "avg_over_time" => mean(&values(w)),
        "sum_over_time" => kahan_sum(&values(w)),
        "count_over_time" => w.len() as f64,
        "min_over_time" => extreme(w, |v, m| v < m).v,
        "max_over_time" => extreme(w, |v, m| v > m).v,
        "last_over_time" => last.v,
        "first_over_time" => w[0].v,
        "present_over_time" => 1.0,
        "stddev_over_time" => variance(&values(w)).sqrt(),
        "stdvar_over_time" => variance(&values(w)),
        "mad_over_time" => mad(w),
        "ts_of_min_over_time" => extreme_last(w, |v, m| v < m).t as f64 / 1e3,
        "ts_of_max_over_time" => extreme_last(w, |v, m| v > m).t as f64 / 1e3,
        "ts_of_last_over_time" => last.t as f64 / 1e3,
        "ts_of_first_over_time" => w[0].t as f64 / 1e3,
        _ => return None,
    })
}

/// The first sample that wins `better` (a NaN is replaced by any number).
fn extreme(w: &[Sample], better: impl Fn(f64, f64) -> bool) -> Sample {
    let mut m = w[0];
    for &s in &w[1..] {
        if better(s.v, m.v) || m.v.is_nan() {
            m = s;
        }
    }
    m
}

/// Like [`extreme`], but ties go to the latest sample.
fn extreme_last(w: &[Sample], better: impl Fn(f64, f64) -> bool) -> Sample {
    let mut m = w[0];
    for &s in &w[1..] {
        if better(s.v, m.v) || s.v == m.v || m.v.is_nan() {
            m = s;
        }
    }
    m
}

/// Median absolute deviation from the median; NaN if any value is NaN.
fn mad(w: &[Sample]) -> f64 {
    let mut v = values(w);
    if v.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    sort_go(&mut v);
    let median = quantile_sorted(0.5, &v);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - median).abs()).collect();
    sort_go(&mut dev);
    quantile_sorted(0.5, &dev)
}

/// `quantile_over_time(q, range)`.
pub(crate) fn quantile_over_time(q: f64, w: &[Sample]) -> Option<f64> {
    if w.is_empty() {
        return None;
    }
    let mut v = values(w);
    sort_go(&mut v);
    Some(quantile_sorted(q, &v))
}

/// `double_exponential_smoothing(range, sf, tf)`: the smoothed value after
/// the last sample, with smoothing factor `sf` and trend factor `tf`.
pub(crate) fn double_exponential_smoothing(w: &[Sample], sf: f64, tf: f64) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let mut s0 = 0.0;
    let mut s1 = w[0].v;
    let mut b = w[1].v - w[0].v;
    for (i, s) in w.iter().enumerate().skip(1) {
        let x = sf * s.v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Some(s1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(vs: &[f64]) -> Vec<Sample> {
        vs.iter()
            .enumerate()
            .map(|(i, &v)| Sample {
                t: i as i64 * 1000,
                v,
            })
            .collect()
    }

    #[test]
    fn min_max_skip_nan() {
        let w = s(&[f64::NAN, 3.0, 1.0]);
        assert_eq!(over_time("min_over_time", &w), Some(1.0));
        assert_eq!(over_time("max_over_time", &w), Some(3.0));
    }

    #[test]
    fn mad_of_simple_set() {
        assert_eq!(
            over_time("mad_over_time", &s(&[1.0, 2.0, 3.0, 4.0, 100.0])),
            Some(1.0)
        );
    }
}
