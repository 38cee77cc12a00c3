//! Range vectors as function arguments: matrix selectors (`foo[5m]`) and
//! subqueries (`expr[30m:1m]`), with Prometheus 3.x's left-open windows
//! `(t - range, t]`.

use std::collections::BTreeMap;
use std::rc::Rc;

use promql_parser::parser::{Expr, MatrixSelector, SubqueryExpr, VectorSelector};

use super::selectors::{min_max, ref_time, select};
use super::{Ctx, RangeSeries, Steps, Val, eval};
use crate::model::{Labels, Sample, is_stale_nan};
use crate::promql::error::QueryError;
use crate::promql::range_modes::{RangeMode, take_mode};
use crate::store::SeriesSamples;

/// A range vector for every step: the series' points plus, per step, the
/// end of its window (`refs`); each window is `(ref - range, ref]`.
pub(crate) struct RangeArg {
    pub series: Vec<RangeSeries>,
    pub range: i64,
    pub refs: Vec<i64>,
    pub mode: RangeMode,
}

impl RangeArg {
    /// The points of `s` inside the window of step `i`.
    pub fn window<'s>(&self, s: &'s RangeSeries, i: usize) -> &'s [Sample] {
        let r = self.refs[i];
        let lo = s.samples.partition_point(|p| p.t <= r - self.range);
        let hi = s.samples.partition_point(|p| p.t <= r);
        &s.samples[lo..hi.max(lo)]
    }

    /// The range vector at step `i`, leaving out series with no points.
    pub fn window_at(&self, i: usize) -> Vec<RangeSeries> {
        self.series
            .iter()
            .filter_map(|s| {
                let w = self.window(s, i);
                (!w.is_empty()).then(|| RangeSeries {
                    labels: s.labels.clone(),
                    drop_name: s.drop_name,
                    samples: w.to_vec(),
                })
            })
            .collect()
    }
}

/// Evaluates a range-vector expression for every step of `steps`.
pub(crate) fn eval_range_arg(
    ctx: &mut Ctx,
    steps: &Steps,
    expr: &Expr,
) -> Result<RangeArg, QueryError> {
    match expr {
        Expr::MatrixSelector(ms) => eval_matrix_selector(ctx, steps, ms),
        Expr::Subquery(sq) => eval_subquery(ctx, steps, sq),
        Expr::Paren(p) => eval_range_arg(ctx, steps, &p.expr),
        _ => Err(QueryError::exec("expected range vector")),
    }
}

/// What a matrix selector reads for a whole query: its selector (range
/// mode matcher taken out), the window length, each step's window end and
/// the time span to select.
pub(crate) struct MatrixPlan {
    pub vs: VectorSelector,
    pub mode: RangeMode,
    pub range: i64,
    pub refs: Vec<i64>,
    pub mint: i64,
    pub maxt: i64,
}

pub(crate) fn matrix_plan(ctx: &Ctx, steps: &Steps, ms: &MatrixSelector) -> MatrixPlan {
    let mut vs = ms.vs.clone();
    let mode = take_mode(&mut vs);
    let range = ms.range.as_millis() as i64;
    let refs: Vec<i64> = steps
        .iter()
        .map(|t| ref_time(ctx, &vs.at, &vs.offset, t))
        .collect();
    let (lo, hi) = min_max(&refs);
    // Anchored and smoothed windows also read a sample on either side.
    let extra = match mode {
        RangeMode::Plain => 0,
        _ => ctx.opts.lookback_delta.as_millis() as i64,
    };
    MatrixPlan {
        vs,
        mode,
        range,
        refs,
        mint: lo - range - extra + 1,
        maxt: hi + extra,
    }
}

/// A selected series as a range vector holds it.
pub(crate) fn range_series(s: SeriesSamples) -> RangeSeries {
    RangeSeries {
        labels: Rc::new(s.labels),
        drop_name: false,
        // Staleness markers end a series but are never points of a range.
        samples: s
            .samples
            .into_iter()
            .filter(|p| !is_stale_nan(p.v))
            .collect(),
    }
}

fn eval_matrix_selector(
    ctx: &mut Ctx,
    steps: &Steps,
    ms: &MatrixSelector,
) -> Result<RangeArg, QueryError> {
    let plan = matrix_plan(ctx, steps, ms);
    let selected = select(ctx, &plan.vs, plan.mint, plan.maxt)?;
    Ok(RangeArg {
        series: selected.into_iter().map(range_series).collect(),
        range: plan.range,
        refs: plan.refs,
        mode: plan.mode,
    })
}

/// Evaluates the inner expression once, on steps aligned to multiples of the
/// subquery step (as Prometheus aligns them), covering every outer window.
fn eval_subquery(ctx: &mut Ctx, steps: &Steps, sq: &SubqueryExpr) -> Result<RangeArg, QueryError> {
    let range = sq.range.as_millis() as i64;
    let step = match sq.step {
        Some(s) if !s.is_zero() => s.as_millis() as i64,
        _ => ctx.opts.subquery_step.as_millis() as i64,
    }
    .max(1);
    let refs: Vec<i64> = steps
        .iter()
        .map(|t| ref_time(ctx, &sq.at, &sq.offset, t))
        .collect();
    let (lo, hi) = min_max(&refs);
    let mint = lo - range;
    let start = mint.div_euclid(step) * step + if mint.rem_euclid(step) == 0 { 0 } else { step };
    if start > hi {
        return Ok(RangeArg {
            series: Vec::new(),
            range,
            refs,
            mode: RangeMode::Plain,
        });
    }
    // Each inner step holds at least one value: bound them before allocating.
    ctx.check_samples(((hi - start) / step) as usize)?;
    let inner = Steps {
        start,
        end: hi,
        step,
    };
    let val = eval(ctx, &inner, &sq.expr)?;
    let series = to_series(val, &inner);
    Ok(RangeArg {
        series,
        range,
        refs,
        mode: RangeMode::Plain,
    })
}

/// Turns per-step results into series of points, sorted by labels.
pub(crate) fn to_series(val: Val, steps: &Steps) -> Vec<RangeSeries> {
    match val {
        Val::Scalar(vs) => vec![RangeSeries {
            labels: Rc::new(Labels::empty()),
            drop_name: false,
            samples: vs
                .into_iter()
                .enumerate()
                .map(|(i, v)| Sample { t: steps.t(i), v })
                .collect(),
        }],
        Val::Vector(per_step) => {
            let mut by_labels: BTreeMap<Rc<Labels>, RangeSeries> = BTreeMap::new();
            for (i, elems) in per_step.into_iter().enumerate() {
                for e in elems {
                    let entry = by_labels
                        .entry(e.labels.clone())
                        .or_insert_with(|| RangeSeries {
                            labels: e.labels.clone(),
                            drop_name: e.drop_name,
                            samples: Vec::new(),
                        });
                    entry.drop_name |= e.drop_name;
                    entry.samples.push(Sample {
                        t: steps.t(i),
                        v: e.v,
                    });
                }
            }
            by_labels.into_values().collect()
        }
        Val::Matrix(series) => series,
        Val::Str(_) => Vec::new(),
    }
}
