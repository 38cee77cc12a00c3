//! Numeric building blocks shared by aggregations and range functions.

use crate::model::Sample;

/// One step of Neumaier's compensated summation (Prometheus's
/// `kahanSumInc`): returns the new sum and compensation.
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// Go's `sort.Float64s` order: NaN before every number.
pub(crate) fn sort_go(v: &mut [f64]) {
    v.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    });
}

/// The φ-quantile of sorted values by linear interpolation between closest
/// ranks, as Prometheus's `quantile`: φ < 0 gives -Inf, φ > 1 gives +Inf.
pub(crate) fn quantile_sorted(q: f64, sorted: &[f64]) -> f64 {
    if sorted.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    let n = sorted.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    sorted[lower as usize] * (1.0 - weight) + sorted[upper as usize] * weight
}

/// Least-squares fit of value over time (seconds relative to
/// `intercept_t`), with compensated sums; a constant series has slope 0.
pub(crate) fn linear_regression(samples: &[Sample], intercept_t: i64) -> (f64, f64) {
    let init = samples[0].v;
    let const_y = samples.iter().all(|s| s.v == init);
    if const_y {
        return if init.is_infinite() {
            (f64::NAN, f64::NAN)
        } else {
            (0.0, init)
        };
    }
    let mut acc = [(0.0, 0.0); 4]; // x, y, xy, x²
    let mut n = 0.0;
    for s in samples {
        n += 1.0;
        let x = (s.t - intercept_t) as f64 / 1e3;
        for (slot, inc) in acc.iter_mut().zip([x, s.v, x * s.v, x * x]) {
            *slot = kahan_inc(inc, slot.0, slot.1);
        }
    }
    let [sx, sy, sxy, sx2] = acc.map(|(s, c)| s + c);
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    let intercept = sy / n - slope * sx / n;
    (slope, intercept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(0.5, &v), 2.5);
        assert_eq!(quantile_sorted(0.0, &v), 1.0);
        assert_eq!(quantile_sorted(1.0, &v), 4.0);
        assert_eq!(quantile_sorted(-1.0, &v), f64::NEG_INFINITY);
    }

    #[test]
    fn regression_finds_slope() {
        let s: Vec<Sample> = (0..5)
            .map(|i| Sample {
                t: i * 1000,
                v: 2.0 * i as f64 + 1.0,
            })
            .collect();
        let (slope, icpt) = linear_regression(&s, 0);
        assert!((slope - 2.0).abs() < 1e-12);
        assert!((icpt - 1.0).abs() < 1e-12);
    }

    #[test]
    fn kahan_compensates() {
        let (s, c) = [1.0, 1e100, 1.0, -1e100]
            .iter()
            .fold((0.0, 0.0), |(s, c), &v| kahan_inc(v, s, c));
        assert_eq!(s + c, 2.0);
    }
}
