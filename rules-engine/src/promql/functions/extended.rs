//! `rate`, `increase`, `delta`, `changes` and `resets` over `anchored` and
//! `smoothed` range selectors (experimental in Prometheus 3.x). Neither
//! extrapolates: anchored windows start at the last sample at or before the
//! window start; smoothed windows take values at both edges interpolated
//! between the neighbouring samples (counter resets corrected first).

use super::counters;
use crate::model::Sample;
use crate::promql::range_modes::RangeMode;

/// One window of a series read in an extended mode.
pub(crate) struct ExtWindow<'a> {
    /// All points of the series, oldest first.
    pub samples: &'a [Sample],
    pub start: i64,
    pub end: i64,
    /// How far beyond the edges a neighbouring sample may lie (ms).
    pub lookback: i64,
}

/// The function's value, or `None` when the window itself has no point.
pub(crate) fn compute(name: &str, mode: RangeMode, w: &ExtWindow) -> Option<f64> {
    let s = w.samples;
    let lo = s.partition_point(|p| p.t <= w.start);
    let hi = s.partition_point(|p| p.t <= w.end);
    if lo >= hi {
        return None;
    }
    let before = lo
        .checked_sub(1)
        .map(|i| s[i])
        .filter(|p| p.t > w.start - w.lookback);
    let counter = name != "delta";
    let range_secs = (w.end - w.start) as f64 / 1e3;
    let change = if mode == RangeMode::Anchored {
        let mut pts: Vec<Sample> = before.into_iter().collect();
        pts.extend_from_slice(&s[lo..hi]);
        match name {
            "changes" => return Some(counters::changes(&pts)),
            "resets" => return Some(counters::resets(&pts)),
            _ => corrected(&pts, counter).last().copied().unwrap_or(0.0) - pts[0].v,
        }
    } else {
        let after = s.get(hi).copied().filter(|p| p.t < w.end + w.lookback);
        smoothed_change(before, &s[lo..hi], after, w, counter)
    };
    Some(if name == "rate" {
        change / range_secs
    } else {
        change
    })
}

/// Values with counter resets corrected (each drop adds the value before
/// it to everything after), so differences are increases.
fn corrected(pts: &[Sample], counter: bool) -> Vec<f64> {
    let mut offset = 0.0;
    let mut out = Vec::with_capacity(pts.len());
    for (i, p) in pts.iter().enumerate() {
        if counter && i > 0 && p.v < pts[i - 1].v {
            offset += pts[i - 1].v;
        }
        out.push(p.v + offset);
    }
    out
}

fn smoothed_change(
    before: Option<Sample>,
    inside: &[Sample],
    after: Option<Sample>,
    w: &ExtWindow,
    counter: bool,
) -> f64 {
    let mut pts: Vec<Sample> = before.into_iter().collect();
    pts.extend_from_slice(inside);
    pts.extend(after);
    let vals = corrected(&pts, counter);
    let first = usize::from(before.is_some());
    let last = first + inside.len() - 1;
    let at_start = match before {
        Some(_) => interpolate(pts[0].t, vals[0], pts[1].t, vals[1], w.start),
        None => vals[first],
    };
    let at_end = match after {
        Some(_) => interpolate(
            pts[last].t,
            vals[last],
            pts[last + 1].t,
            vals[last + 1],
            w.end,
        ),
        None => vals[last],
    };
    at_end - at_start
}

fn interpolate(t0: i64, v0: f64, t1: i64, v1: f64, t: i64) -> f64 {
    if t1 == t0 {
        return v1;
    }
    v0 + (v1 - v0) * (t - t0) as f64 / (t1 - t0) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(vs: &[(i64, f64)]) -> Vec<Sample> {
        vs.iter().map(|&(t, v)| Sample { t: t * 1000, v }).collect()
    }

    #[test]
    fn anchored_and_smoothed_increase() {
        // 1..5 every 15s, then 9..13.
        let s = pts(&[
            (0, 1.0),
            (15, 2.0),
            (30, 3.0),
            (45, 4.0),
            (60, 5.0),
            (75, 9.0),
            (90, 10.0),
        ]);
        let w = ExtWindow {
            samples: &s,
            start: 20_000,
            end: 80_000,
            lookback: 300_000,
        };
        assert_eq!(compute("increase", RangeMode::Anchored, &w), Some(7.0));
        let v = compute("increase", RangeMode::Smoothed, &w).unwrap();
        assert!((v - 7.0).abs() < 1e-9, "{v}");
    }
}
