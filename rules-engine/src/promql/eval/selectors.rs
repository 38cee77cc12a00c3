//! Instant and range vector selectors: matchers, `offset`, `@`, the lookback
//! window and staleness markers, with Prometheus 3.x's left-open windows.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{AtModifier, Offset, VectorSelector};

use super::{Ctx, Elem, Steps, Val};
use crate::model::{METRIC_NAME, Matcher, Sample, is_stale_nan};
use crate::promql::error::QueryError;
use crate::store::SeriesSamples;

/// Milliseconds since the epoch of a `SystemTime` (negative before it).
pub(crate) fn system_time_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

pub(crate) fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => d.as_millis() as i64,
        Some(Offset::Neg(d)) => -(d.as_millis() as i64),
    }
}

/// The time a selector or subquery looks at for the evaluation step `t`:
/// the `@` time if any (`start()`/`end()` are the query's), minus `offset`.
pub(crate) fn ref_time(ctx: &Ctx, at: &Option<AtModifier>, offset: &Option<Offset>, t: i64) -> i64 {
    let base = match at {
        None => t,
        Some(AtModifier::Start) => ctx.query_start,
        Some(AtModifier::End) => ctx.query_end,
        Some(AtModifier::At(st)) => system_time_ms(*st),
    };
    base - offset_ms(offset)
}

/// The selector's matcher sets: one set, or several for `{a="1" or b="2"}`.
pub(crate) fn matcher_sets(vs: &VectorSelector) -> Result<Vec<Vec<Matcher>>, QueryError> {
    let mut sets = Vec::new();
    if vs.matchers.or_matchers.is_empty() {
        sets.push(convert(vs, &vs.matchers.matchers)?);
    } else {
        for group in &vs.matchers.or_matchers {
            sets.push(convert(vs, group)?);
        }
    }
    Ok(sets)
}

fn convert(
    vs: &VectorSelector,
    ms: &[promql_parser::label::Matcher],
) -> Result<Vec<Matcher>, QueryError> {
    let mut out = Vec::with_capacity(ms.len() + 1);
    if let Some(name) = &vs.name {
        out.push(Matcher::equal(METRIC_NAME, name.clone()));
    }
    for m in ms {
        let conv = match m.op {
            PMatchOp::Equal => Matcher::equal(&m.name, &m.value),
            PMatchOp::NotEqual => Matcher::not_equal(&m.name, &m.value),
            PMatchOp::Re(_) => {
                Matcher::regex(&m.name, &m.value).map_err(|e| QueryError::exec(e.to_string()))?
            }
            PMatchOp::NotRe(_) => Matcher::not_regex(&m.name, &m.value)
                .map_err(|e| QueryError::exec(e.to_string()))?,
        };
        out.push(conv);
    }
    Ok(out)
}

/// Reads every series the selector matches with samples in `[mint, maxt]`,
/// in the querier's order; `or` groups are unioned (sorted by labels).
pub(crate) fn select(
    ctx: &Ctx,
    vs: &VectorSelector,
    mint: i64,
    maxt: i64,
) -> Result<Vec<SeriesSamples>, QueryError> {
    ctx.check_deadline()?;
    let sets = matcher_sets(vs)?;
    let series = if sets.len() == 1 {
        ctx.querier.select(&sets[0], mint, maxt)
    } else {
        let mut by_labels = BTreeMap::new();
        for set in &sets {
            for s in ctx.querier.select(set, mint, maxt) {
                by_labels.entry(s.labels.clone()).or_insert(s);
            }
        }
        by_labels.into_values().collect()
    };
    ctx.check_samples(series.iter().map(|s| s.samples.len()).sum())?;
    Ok(series)
}

/// The sample an instant selector sees at `r`: the newest in the lookback
/// window `(r - lookback, r]`, unless it is a staleness marker.
pub(crate) fn lookback_sample(samples: &[Sample], r: i64, lookback: i64) -> Option<Sample> {
    let idx = samples.partition_point(|s| s.t <= r);
    let s = *samples.get(idx.checked_sub(1)?)?;
    (s.t > r - lookback && !is_stale_nan(s.v)).then_some(s)
}

/// Evaluates an instant vector selector at every step. With `timestamps`,
/// the value is the sample's own timestamp in seconds (for `timestamp()`).
pub(crate) fn eval_vector(
    ctx: &mut Ctx,
    steps: &Steps,
    vs: &VectorSelector,
    timestamps: bool,
) -> Result<Val, QueryError> {
    let refs: Vec<i64> = steps
        .iter()
        .map(|t| ref_time(ctx, &vs.at, &vs.offset, t))
        .collect();
    let lookback = ctx.opts.lookback_delta.as_millis() as i64;
    let (lo, hi) = min_max(&refs);
    let series = select(ctx, vs, lo - lookback + 1, hi)?;
    let mut out: Vec<Vec<Elem>> = vec![Vec::new(); steps.len()];
    for s in series {
        let labels = Rc::new(s.labels);
        for (i, &r) in refs.iter().enumerate() {
            if let Some(sample) = lookback_sample(&s.samples, r, lookback) {
                let v = if timestamps {
                    sample.t as f64 / 1000.0
                } else {
                    sample.v
                };
                out[i].push(Elem {
                    labels: labels.clone(),
                    v,
                    drop_name: false,
                });
            }
        }
    }
    Ok(Val::Vector(out))
}

pub(crate) fn min_max(refs: &[i64]) -> (i64, i64) {
    let lo = refs.iter().copied().min().unwrap_or(0);
    let hi = refs.iter().copied().max().unwrap_or(0);
    (lo, hi)
}
