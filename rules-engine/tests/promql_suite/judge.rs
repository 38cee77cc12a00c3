//! Judging results as the reference runner does: 1e-6 relative tolerance,
//! NaN equals NaN, series matched by their whole label set.

use std::collections::HashMap;

use vigil::model::{Labels, is_stale_nan};
use vigil::promql::{QueryOutput, Value};

use super::script::{AnnExpect, EvalCmd, Expected, SeriesLine};

/// Prometheus's `almost.Equal(a, b, 1e-6)` plus the NaN rules of the runner.
pub fn float_eq(a: f64, b: f64) -> bool {
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    let eps = 1e-6;
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < eps * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < eps
}

fn check_ann(kind: &str, want: &AnnExpect, got: &[String]) -> Result<(), String> {
    if want.none && !got.is_empty() {
        return Err(format!("unexpected {kind} annotations: {got:?}"));
    }
    if want.some && got.is_empty() {
        return Err(format!("expected {kind} annotation, got none"));
    }
    for t in &want.texts {
        if !got.iter().any(|g| t.matches(g)) {
            return Err(format!(
                "no {kind} annotation matches expectation; got {got:?}"
            ));
        }
    }
    let unmatched = got
        .iter()
        .find(|g| !want.texts.iter().any(|t| t.matches(g)));
    if let (false, Some(g)) = (want.texts.is_empty(), unmatched) {
        return Err(format!("unexpected {kind} annotation {g:?}"));
    }
    Ok(())
}

pub fn check_annotations(e: &EvalCmd, out: &QueryOutput) -> Result<(), String> {
    check_ann("warn", &e.warn, &out.warnings)?;
    check_ann("info", &e.info, &out.infos)
}

/// Compares an instant query's value with the expectation.
pub fn check_instant(e: &EvalCmd, v: &Value) -> Result<(), String> {
    match (&e.expected, v) {
        (Expected::Scalar(want), Value::Scalar(_, got)) => cmp_val(*want, *got, "scalar"),
        (Expected::String(want), Value::String(_, got)) => (want == got)
            .then_some(())
            .ok_or_else(|| format!("expected string {want:?}, got {got:?}")),
        (Expected::Series(want), Value::Matrix(got)) if e.range_vector.is_some() => {
            let (from, to, step) = e.range_vector.unwrap_or_default();
            check_matrix(want, got, from, to, step)
        }
        (Expected::Series(want), Value::Vector(got)) if e.range_vector.is_none() => {
            let got: Vec<(Labels, f64)> = got.iter().map(|(l, s)| (l.clone(), s.v)).collect();
            check_vector(want, &got, e.ordered)
        }
        (_, other) => Err(format!("unexpected result type {}", other.type_name())),
    }
}

fn cmp_val(want: f64, got: f64, what: &str) -> Result<(), String> {
    if float_eq(want, got) {
        Ok(())
    } else {
        Err(format!("{what}: expected {want}, got {got}"))
    }
}

/// Compares an instant vector (labels, value) with the expected lines.
pub fn check_vector(
    want: &[SeriesLine],
    got: &[(Labels, f64)],
    ordered: bool,
) -> Result<(), String> {
    if want.len() != got.len() {
        return Err(format!(
            "expected {} samples, got {}: {}",
            want.len(),
            got.len(),
            show(got)
        ));
    }
    let index: HashMap<&Labels, (usize, f64)> = got
        .iter()
        .enumerate()
        .map(|(i, (l, v))| (l, (i, *v)))
        .collect();
    for (i, w) in want.iter().enumerate() {
        let Some(&(pos, v)) = index.get(&w.labels) else {
            return Err(format!("missing {}; got {}", w.labels, show(got)));
        };
        if ordered && pos != i {
            return Err(format!("{} at position {pos}, expected {i}", w.labels));
        }
        let expected = w.values.first().copied().flatten().unwrap_or(f64::NAN);
        cmp_val(expected, v, &w.labels.to_string())?;
    }
    Ok(())
}

fn show(got: &[(Labels, f64)]) -> String {
    let parts: Vec<String> = got
        .iter()
        .take(6)
        .map(|(l, v)| format!("{l} {v}"))
        .collect();
    parts.join(", ")
}

/// Compares a matrix with expected lines holding one slot per step.
pub fn check_matrix(
    want: &[SeriesLine],
    got: &[vigil::store::SeriesSamples],
    from: i64,
    to: i64,
    step: i64,
) -> Result<(), String> {
    let want: Vec<&SeriesLine> = want
        .iter()
        .filter(|w| w.values.iter().any(Option::is_some))
        .collect();
    if want.len() != got.len() {
        let names: Vec<String> = got.iter().map(|s| s.labels.to_string()).collect();
        return Err(format!(
            "expected {} series, got {}: {names:?}",
            want.len(),
            got.len()
        ));
    }
    if got.windows(2).any(|p| p[0].labels >= p[1].labels) {
        return Err("matrix series are not sorted by labels".into());
    }
    for w in want {
        let Some(g) = got.iter().find(|g| g.labels == w.labels) else {
            return Err(format!("missing series {}", w.labels));
        };
        let expected: Vec<(i64, f64)> = w
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (from + i as i64 * step, v)))
            .filter(|(t, _)| *t <= to)
            .collect();
        if expected.len() != g.samples.len() {
            let pts: Vec<(i64, f64)> = g.samples.iter().map(|s| (s.t, s.v)).collect();
            return Err(format!(
                "{}: expected points {expected:?}, got {pts:?}",
                w.labels
            ));
        }
        for ((t, v), s) in expected.iter().zip(&g.samples) {
            if *t != s.t || !float_eq(*v, s.v) {
                return Err(format!(
                    "{}: expected {v}@{t}, got {}@{}",
                    w.labels, s.v, s.t
                ));
            }
        }
    }
    Ok(())
}
