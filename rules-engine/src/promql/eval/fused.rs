//! An aggregation of a range function over a matrix selector, such as
//! `sum by (job) (rate(x[5m]))`, evaluated one series at a time.
//!
//! The general path builds the function's whole result first: one element
//! per series and step (50k series × 2016 steps of a 7-day range query at
//! a 5-minute step is 100 million elements, gigabytes), then groups every
//! step's elements by hashing their labels again. Here each selected
//! series is read from the store ([`Querier::select_each`]), its group
//! found once, its value at every step computed and folded into that
//! group's per-step accumulator, and dropped: memory is one series'
//! samples plus one accumulator per group and step, whatever the range.
//!
//! The answer is the general path's: the same step values
//! ([`step_value`]), folded in the order the series come (Prometheus's
//! compensated sum, its NaN handling of `min`/`max`), groups listed at
//! each step in the order of their first member there, the same
//! annotations and the same sample limits (selected samples, and the
//! points the function's result would have held).
//!
//! [`Querier::select_each`]: crate::store::Querier::select_each

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::rc::Rc;

use promql_parser::parser::token::{T_COUNT, T_GROUP, T_MAX, T_MIN, T_SUM, TokenId};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{AggregateExpr, Expr};

use super::aggregate::{Grouper, group_key};
use super::selectors::matcher_sets;
use super::subquery::{RangeArg, matrix_plan, range_series};
use super::{Ctx, Elem, Steps, Val, eval_scalar};
use crate::model::Labels;
use crate::promql::error::QueryError;
use crate::promql::functions::range::{annotate_non_counter, step_value, window_value};
use crate::promql::functions::unwrap_parens;
use crate::promql::range_modes::RangeMode;

/// One group's running value at one step.
#[derive(Debug, Clone, Copy)]
struct Acc {
    /// The sum (`sum`), or the minimum / maximum so far.
    value: f64,
    /// The sum's compensation term.
    comp: f64,
    /// Members so far.
    count: u32,
    /// Position of the first member in the order series came in.
    first: u32,
}

const EMPTY: Acc = Acc {
    value: f64::NAN,
    comp: 0.0,
    count: 0,
    first: 0,
};

struct Group {
    labels: Rc<Labels>,
    steps: Vec<Acc>,
}

/// Evaluates `a` one series at a time when it has the shape this handles;
/// `None` sends it down the general path.
pub(crate) fn try_eval(
    ctx: &mut Ctx,
    steps: &Steps,
    a: &AggregateExpr,
) -> Result<Option<Val>, QueryError> {
    let op = a.op.id();
    if !matches!(op, T_SUM | T_COUNT | T_GROUP | T_MIN | T_MAX) || a.param.is_some() {
        return Ok(None);
    }
    let Expr::Call(call) = unwrap_parens(&a.expr) else {
        return Ok(None);
    };
    let name = call.func.name;
    // Both need every series of a step at once.
    if matches!(name, "absent_over_time" | "quantile_over_time") {
        return Ok(None);
    }
    let args: Vec<&Expr> = call.args.args.iter().map(|a| a.as_ref()).collect();
    let Some(mi) = args
        .iter()
        .position(|a| a.value_type() == ValueType::Matrix)
    else {
        return Ok(None);
    };
    let Expr::MatrixSelector(ms) = unwrap_parens(args[mi]) else {
        return Ok(None); // a subquery
    };
    // Evaluated as `eval_range_fn` does: parameters, the selector, the mode.
    let mut params: Vec<Vec<f64>> = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        if i != mi {
            params.push(eval_scalar(ctx, steps, arg)?);
        }
    }
    let plan = matrix_plan(ctx, steps, ms);
    let sets = matcher_sets(&plan.vs)?;
    let [matchers] = sets.as_slice() else {
        return Ok(None); // `or` groups: unioned by labels first
    };
    ctx.check_deadline()?;
    let arg = RangeArg {
        series: Vec::new(),
        range: plan.range,
        refs: plan.refs,
        mode: plan.mode,
    };
    arg.mode.check(name)?;
    let pos = ctx.pos_of_expr(args[mi]);
    let keep_name = matches!(name, "last_over_time" | "first_over_time");
    let sliding = arg.mode == RangeMode::Plain && arg.refs.is_sorted();

    let grouper = Grouper::new(&a.modifier);
    let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let (mut selected, mut points, mut seq) = (0usize, 0usize, 0u32);
    let mut failed: Option<QueryError> = None;
    let querier = ctx.querier;
    querier.select_each(matchers, plan.mint, plan.maxt, &mut |s| {
        let r = (|| {
            selected += s.samples.len();
            ctx.check_samples(selected)?;
            let s = range_series(s);
            let slots = index.entry(grouper.hash(&s.labels)).or_default();
            let g = match slots
                .iter()
                .find(|&&i| grouper.same_group(&s.labels, &groups[i].labels))
            {
                Some(&i) => i,
                None => {
                    slots.push(groups.len());
                    groups.push(Group {
                        labels: Rc::new(group_key(&s.labels, &a.modifier)),
                        steps: vec![EMPTY; steps.len()],
                    });
                    groups.len() - 1
                }
            };
            let mut computed = false;
            let accs = &mut groups[g].steps;
            if sliding {
                // Windows move forward with the steps: two cursors instead
                // of two binary searches per step.
                let (mut lo, mut hi) = (0, 0);
                let p = &s.samples;
                for (i, &end) in arg.refs.iter().enumerate() {
                    let start = end - arg.range;
                    while lo < p.len() && p[lo].t <= start {
                        lo += 1;
                    }
                    hi = hi.max(lo);
                    while hi < p.len() && p[hi].t <= end {
                        hi += 1;
                    }
                    if let Some(v) =
                        window_value(name, &p[lo..hi], (start, end), i, &params, steps)?
                    {
                        computed = true;
                        points += 1;
                        fold(op, &mut accs[i], v, seq);
                    }
                }
            } else {
                for (i, acc) in accs.iter_mut().enumerate() {
                    if let Some(v) = step_value(ctx, name, &arg, &s, i, &params, steps)? {
                        computed = true;
                        points += 1;
                        fold(op, acc, v, seq);
                    }
                }
            }
            if computed && matches!(name, "rate" | "increase") {
                annotate_non_counter(ctx, &s, &pos);
            }
            seq = seq.saturating_add(1);
            ctx.check_deadline()
        })();
        match r {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                failed = Some(e);
                ControlFlow::Break(())
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    // What the general path checks on the function's result.
    ctx.check_samples(points)?;
    Ok(Some(Val::Vector(finish(
        op,
        &groups,
        steps.len(),
        !keep_name,
    ))))
}

/// Adds member value `v`, the `seq`-th series, to one group and step.
fn fold(op: TokenId, acc: &mut Acc, v: f64, seq: u32) {
    if acc.count == 0 {
        acc.first = seq;
    }
    acc.count += 1;
    match op {
        T_SUM => {
            if acc.count == 1 {
                acc.value = 0.0;
            }
            (acc.value, acc.comp) =
                crate::promql::functions::stats::kahan_inc(v, acc.value, acc.comp);
        }
        T_MIN if acc.value.is_nan() || v < acc.value => acc.value = v,
        T_MAX if acc.value.is_nan() || v > acc.value => acc.value = v,
        _ => {} // count and group only count
    }
}

/// Each step's groups, in the order of their first member at that step.
fn finish(op: TokenId, groups: &[Group], steps: usize, drop_name: bool) -> Vec<Vec<Elem>> {
    (0..steps)
        .map(|i| {
            let mut present: Vec<(u32, Elem)> = groups
                .iter()
                .filter(|g| g.steps[i].count > 0)
                .map(|g| {
                    let acc = g.steps[i];
                    let v = match op {
                        T_SUM if acc.value.is_infinite() => acc.value,
                        T_SUM => acc.value + acc.comp,
                        T_COUNT => f64::from(acc.count),
                        T_GROUP => 1.0,
                        _ => acc.value,
                    };
                    let e = Elem {
                        labels: g.labels.clone(),
                        v,
                        drop_name,
                    };
                    (acc.first, e)
                })
                .collect();
            present.sort_by_key(|(first, _)| *first);
            present.into_iter().map(|(_, e)| e).collect()
        })
        .collect()
}
