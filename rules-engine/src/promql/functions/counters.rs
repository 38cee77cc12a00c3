//! Counter and gauge rate functions over range vectors: `rate`, `increase`,
//! `delta` (Prometheus's extrapolated rate), `irate`, `idelta`, `resets`,
//! `changes`, `deriv`, `predict_linear`.

use super::stats::linear_regression;
use crate::model::Sample;

/// Prometheus's `extrapolatedRate`: the change over the window `(start,
/// end]` (ms), corrected for counter resets when `counter`, extrapolated to
/// the window edges unless the gap to an edge exceeds 1.1 × the average
/// sample interval (then half an interval), and for counters never below
/// zero; divided by the range in seconds when `per_second`.
pub(crate) fn extrapolated_rate(
    w: &[Sample],
    start: i64,
    end: i64,
    counter: bool,
    per_second: bool,
) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (first, last) = (w[0], w[w.len() - 1]);
    let mut result = last.v - first.v;
    if counter {
        for p in w.windows(2) {
            if p[1].v < p[0].v {
                result += p[0].v;
            }
        }
    }
    let mut to_start = (first.t - start) as f64 / 1e3;
    let mut to_end = (end - last.t) as f64 / 1e3;
    let sampled = (last.t - first.t) as f64 / 1e3;
    let avg = sampled / (w.len() - 1) as f64;
    let threshold = avg * 1.1;
    if to_start >= threshold {
        to_start = avg / 2.0;
    }
    if counter && result > 0.0 && first.v >= 0.0 {
        let to_zero = sampled * (first.v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if per_second {
        factor /= (end - start) as f64 / 1e3;
    }
    Some(result * factor)
}

/// `irate` (per_second) and `idelta`: from the last two samples; `irate`
/// treats a decrease as a counter reset.
pub(crate) fn instant_value(w: &[Sample], per_second: bool) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (prev, last) = (w[w.len() - 2], w[w.len() - 1]);
    let mut result = last.v - prev.v;
    if per_second && last.v < prev.v {
        result = last.v;
    }
    let interval = last.t - prev.t;
    if interval == 0 {
        return None;
    }
    if per_second {
        result /= interval as f64 / 1e3;
    }
    Some(result)
}

/// `resets`: how often the value decreased.
pub(crate) fn resets(w: &[Sample]) -> f64 {
    w.windows(2).filter(|p| p[1].v < p[0].v).count() as f64
}

/// `changes`: how often the value changed (NaN to NaN is no change).
pub(crate) fn changes(w: &[Sample]) -> f64 {
    w.windows(2)
        .filter(|p| !(p[1].v == p[0].v || (p[1].v.is_nan() && p[0].v.is_nan())))
        .count() as f64
}

/// `deriv`: the per-second slope of a least-squares fit.
pub(crate) fn deriv(w: &[Sample]) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    Some(linear_regression(w, w[0].t).0)
}

/// `predict_linear`: the fitted value `secs` seconds after `t` (ms).
pub(crate) fn predict_linear(w: &[Sample], t: i64, secs: f64) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(w, t);
    Some(slope * secs + intercept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(pts: &[(i64, f64)]) -> Vec<Sample> {
        pts.iter().map(|&(t, v)| Sample { t, v }).collect()
    }

    #[test]
    fn rate_of_a_steady_counter() {
        // 0, 10, 20 at 0s, 60s, 120s over (0, 120s]: no gap at the edges
        // beyond the threshold, so extrapolation covers the full window.
        let w = s(&[(60_000, 10.0), (120_000, 20.0)]);
        let r = extrapolated_rate(&w, 0, 120_000, true, true).unwrap();
        assert!((r - 10.0 / 60.0).abs() < 1e-12, "{r}");
    }

    #[test]
    fn reset_is_corrected() {
        let w = s(&[(0, 5.0), (10_000, 1.0), (20_000, 3.0)]);
        assert_eq!(resets(&w), 1.0);
        assert_eq!(instant_value(&w, true), Some(0.2));
    }
}
