//! Functions over range vectors: evaluates the range argument once for the
//! whole query, then computes each series' window at each step.

use std::rc::Rc;

use promql_parser::parser::Expr;
use promql_parser::parser::value::ValueType;

use super::extended::{self, ExtWindow};
use super::{absent_labels, counters, over_time};
use crate::model::METRIC_NAME;
use crate::model::Sample;
use crate::promql::annotations::msg;
use crate::promql::error::QueryError;
use crate::promql::eval::subquery::{RangeArg, eval_range_arg};
use crate::promql::eval::{Ctx, Elem, RangeSeries, Steps, Val, eval_scalar};
use crate::promql::range_modes::RangeMode;

/// Per-step inputs of one window computation.
struct Window<'a> {
    samples: &'a [Sample],
    start: i64,
    end: i64,
    /// The evaluation time of the step (for `predict_linear`).
    t: i64,
    params: &'a [f64],
}

pub(crate) fn eval_range_fn(
    ctx: &mut Ctx,
    steps: &Steps,
    name: &str,
    args: &[&Expr],
) -> Result<Val, QueryError> {
    let mi = args
        .iter()
        .position(|a| a.value_type() == ValueType::Matrix)
        .unwrap_or(0);
    let mut params: Vec<Vec<f64>> = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i != mi {
            params.push(eval_scalar(ctx, steps, a)?);
        }
    }
    let arg = eval_range_arg(ctx, steps, args[mi])?;
    arg.mode.check(name)?;
    if name == "absent_over_time" {
        return Ok(absent_over_time(&arg, args[mi], steps));
    }
    let pos = ctx.pos_of_expr(args[mi]);
    if name == "quantile_over_time" {
        warn_quantile(ctx, &params[0], &arg, &pos);
    }
    let keep_name = matches!(name, "last_over_time" | "first_over_time");
    let mut out: Vec<Vec<Elem>> = vec![Vec::new(); steps.len()];
    for s in &arg.series {
        let mut computed = false;
        for (i, slot) in out.iter_mut().enumerate() {
            if let Some(v) = step_value(ctx, name, &arg, s, i, &params, steps)? {
                computed = true;
                slot.push(Elem {
                    labels: s.labels.clone(),
                    v,
                    drop_name: s.drop_name || !keep_name,
                });
            }
        }
        if computed && matches!(name, "rate" | "increase") {
            annotate_non_counter(ctx, s, &pos);
        }
        ctx.check_deadline()?;
    }
    Ok(Val::Vector(out))
}

/// The value of series `s` at step `i`, if any.
pub(crate) fn step_value(
    ctx: &Ctx,
    name: &str,
    arg: &RangeArg,
    s: &RangeSeries,
    i: usize,
    params: &[Vec<f64>],
    steps: &Steps,
) -> Result<Option<f64>, QueryError> {
    let (start, end) = (arg.refs[i] - arg.range, arg.refs[i]);
    if arg.mode != RangeMode::Plain {
        let lookback = ctx.opts.lookback_delta.as_millis() as i64;
        let w = ExtWindow {
            samples: &s.samples,
            start,
            end,
            lookback,
        };
        return Ok(extended::compute(name, arg.mode, &w));
    }
    window_value(name, arg.window(s, i), (start, end), i, params, steps)
}

/// The value of a plain window `(start, end]` holding `samples` at step
/// `i`, if any.
pub(crate) fn window_value(
    name: &str,
    samples: &[Sample],
    (start, end): (i64, i64),
    i: usize,
    params: &[Vec<f64>],
    steps: &Steps,
) -> Result<Option<f64>, QueryError> {
    if samples.is_empty() {
        return Ok(None);
    }
    let p: Vec<f64> = params.iter().map(|p| p[i]).collect();
    let w = Window {
        samples,
        start,
        end,
        t: steps.t(i),
        params: &p,
    };
    compute(name, &w)
}

fn compute(name: &str, w: &Window) -> Result<Option<f64>, QueryError> {
    let s = w.samples;
    Ok(match name {
        "rate" => counters::extrapolated_rate(s, w.start, w.end, true, true),
        "increase" => counters::extrapolated_rate(s, w.start, w.end, true, false),
        "delta" => counters::extrapolated_rate(s, w.start, w.end, false, false),
        "irate" => counters::instant_value(s, true),
        "idelta" => counters::instant_value(s, false),
        "resets" => Some(counters::resets(s)),
        "changes" => Some(counters::changes(s)),
        "deriv" => counters::deriv(s),
        "predict_linear" => counters::predict_linear(s, w.t, w.params[0]),
        "quantile_over_time" => over_time::quantile_over_time(w.params[0], s),
        "double_exponential_smoothing" => {
            if s.len() >= 2 {
                check_factor("smoothing factor", "sf", w.params[0])?;
                check_factor("trend factor", "tf", w.params[1])?;
            }
            over_time::double_exponential_smoothing(s, w.params[0], w.params[1])
        }
        _ => match over_time::over_time(name, s) {
            Some(v) => Some(v),
            None => {
                return Err(QueryError::exec(format!(
                    "function {name:?} is not supported"
                )));
            }
        },
    })
}

fn check_factor(what: &str, short: &str, f: f64) -> Result<(), QueryError> {
    if f <= 0.0 || f >= 1.0 || f.is_nan() {
        return Err(QueryError::exec(format!(
            "invalid {what}. Expected: 0 < {short} < 1, got: {f:.6}"
        )));
    }
    Ok(())
}

/// Prometheus's info for `rate`/`increase` over a metric whose name does
/// not look like a counter's.
pub(crate) fn annotate_non_counter(ctx: &mut Ctx, s: &RangeSeries, pos: &str) {
    let Some(name) = s.labels.get(METRIC_NAME) else {
        return;
    };
    let counter_like = ["_total", "_sum", "_count", "_bucket"]
        .iter()
        .any(|suf| name.ends_with(suf));
    if !counter_like {
        ctx.ann.info(&msg::not_counter(name), pos);
    }
}

fn warn_quantile(ctx: &mut Ctx, qs: &[f64], arg: &RangeArg, pos: &str) {
    if arg.series.is_empty() {
        return;
    }
    if let Some(&q) = qs.iter().find(|q| q.is_nan() || !(0.0..=1.0).contains(*q)) {
        ctx.ann.warn(&msg::bad_quantile(q), pos);
    }
}

/// `absent_over_time`: 1 at the steps where no series has a point in its
/// window, labelled like `absent`.
fn absent_over_time(arg: &RangeArg, expr: &Expr, steps: &Steps) -> Val {
    let labels = Rc::new(absent_labels(expr));
    let out = (0..steps.len())
        .map(|i| {
            if arg.series.iter().any(|s| !arg.window(s, i).is_empty()) {
                Vec::new()
            } else {
                vec![Elem {
                    labels: labels.clone(),
                    v: 1.0,
                    drop_name: false,
                }]
            }
        })
        .collect();
    Val::Vector(out)
}
