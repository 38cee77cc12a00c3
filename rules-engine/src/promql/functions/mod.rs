//! Function calls: dispatch by name to one file per family.

pub(crate) mod counters;
pub(crate) mod extended;
pub(crate) mod histogram;
pub(crate) mod info;
pub(crate) mod labels;
pub(crate) mod math;
pub(crate) mod over_time;
pub(crate) mod range;
pub(crate) mod sort;
pub(crate) mod stats;
pub(crate) mod time;

use std::rc::Rc;

use promql_parser::parser::value::ValueType;
use promql_parser::parser::{Call, Expr};

use crate::model::Labels;
use crate::promql::annotations::msg;
use crate::promql::error::QueryError;
use crate::promql::eval::{
    Ctx, Elem, Steps, Val, eval_scalar, eval_string, eval_vector, selectors,
};

/// Evaluates a function call at every step.
pub(crate) fn eval_call(ctx: &mut Ctx, steps: &Steps, c: &Call) -> Result<Val, QueryError> {
    let name = c.func.name;
    let args: Vec<&Expr> = c.args.args.iter().map(|a| a.as_ref()).collect();
    if args.iter().any(|a| a.value_type() == ValueType::Matrix) {
        return range::eval_range_fn(ctx, steps, name, &args);
    }
    match name {
        "time" => Ok(Val::Scalar(steps.iter().map(|t| t as f64 / 1e3).collect())),
        "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; steps.len()])),
        // Experimental: the query's own start, end, step and range (s).
        "start" | "end" | "step" | "range" => {
            let v = match name {
                "start" => ctx.query_start,
                "end" => ctx.query_end,
                "step" => ctx.query_step,
                _ => ctx.query_end - ctx.query_start,
            };
            Ok(Val::Scalar(vec![v as f64 / 1e3; steps.len()]))
        }
        "vector" => {
            let s = eval_scalar(ctx, steps, args[0])?;
            Ok(Val::Vector(s.into_iter().map(|v| vec![plain(v)]).collect()))
        }
        "scalar" => {
            let v = eval_vector(ctx, steps, args[0])?;
            Ok(Val::Scalar(
                v.iter()
                    .map(|e| if e.len() == 1 { e[0].v } else { f64::NAN })
                    .collect(),
            ))
        }
        "timestamp" => timestamp(ctx, steps, args[0]),
        "info" => info::eval_info(ctx, steps, &args),
        "absent" => absent(ctx, steps, args[0]),
        "label_replace" | "label_join" => label_fn(ctx, steps, name, &args),
        "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc" => {
            sort_fn(ctx, steps, c, &args)
        }
        "histogram_quantile" => histogram_quantile(ctx, steps, &args),
        "histogram_quantiles" => histogram_quantiles(ctx, steps, &args),
        // Experimental: Go's math.Min / math.Max of two scalars.
        "min_of" | "max_of" => {
            let a = eval_scalar(ctx, steps, args[0])?;
            let b = eval_scalar(ctx, steps, args[1])?;
            let f = if name == "min_of" {
                math::go_min
            } else {
                math::go_max
            };
            Ok(Val::Scalar(
                a.iter().zip(&b).map(|(&x, &y)| f(x, y)).collect(),
            ))
        }
        "histogram_fraction" => histogram_fraction(ctx, steps, &args),
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => {
            // These read native histograms only; float samples are ignored.
            for a in &args {
                crate::promql::eval::eval(ctx, steps, a)?;
            }
            Ok(Val::Vector(vec![Vec::new(); steps.len()]))
        }
        "round" | "clamp" | "clamp_min" | "clamp_max" => param_math(ctx, steps, name, &args),
        _ if time::date_fn(name, 0.0).is_some() => date(ctx, steps, name, &args),
        _ if math::unary(name, 0.0).is_some() => {
            let v = eval_vector(ctx, steps, args[0])?;
            Ok(Val::Vector(map_values(v, |x| {
                math::unary(name, x).unwrap_or(f64::NAN)
            })))
        }
        _ => Err(QueryError::exec(format!(
            "function {name:?} is not supported"
        ))),
    }
}

fn plain(v: f64) -> Elem {
    Elem {
        labels: Rc::new(Labels::empty()),
        v,
        drop_name: false,
    }
}

/// Applies `f` to every value and marks the name for removal.
fn map_values(steps: Vec<Vec<Elem>>, f: impl Fn(f64) -> f64) -> Vec<Vec<Elem>> {
    steps
        .into_iter()
        .map(|es| {
            es.into_iter()
                .map(|mut e| {
                    e.v = f(e.v);
                    e.drop_name = true;
                    e
                })
                .collect()
        })
        .collect()
}

pub(crate) fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

/// `timestamp(v)`: a selector's sample timestamps, else the step time.
fn timestamp(ctx: &mut Ctx, steps: &Steps, arg: &Expr) -> Result<Val, QueryError> {
    let v = match unwrap_parens(arg) {
        Expr::VectorSelector(vs) => match selectors::eval_vector(ctx, steps, vs, true)? {
            Val::Vector(v) => v,
            _ => Vec::new(),
        },
        other => {
            let mut v = eval_vector(ctx, steps, other)?;
            for (i, es) in v.iter_mut().enumerate() {
                es.iter_mut().for_each(|e| e.v = steps.t(i) as f64 / 1e3);
            }
            v
        }
    };
    Ok(Val::Vector(map_values(v, |x| x)))
}

/// The labels `absent` gives its result: the selector's equality matchers
/// (other than the name), a label matched twice being left out.
pub(crate) fn absent_labels(arg: &Expr) -> Labels {
    let vs = match arg {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::empty(),
    };
    let mut out = Labels::empty();
    let mut seen = std::collections::HashSet::new();
    for m in &vs.matchers.matchers {
        if m.name == crate::model::METRIC_NAME {
            continue;
        }
        let eq = matches!(m.op, promql_parser::label::MatchOp::Equal);
        if eq && !seen.contains(&m.name) {
            out.set(&m.name, &m.value);
            seen.insert(m.name.clone());
        } else {
            out.remove(&m.name);
        }
    }
    out
}

fn absent(ctx: &mut Ctx, steps: &Steps, arg: &Expr) -> Result<Val, QueryError> {
    let v = eval_vector(ctx, steps, arg)?;
    let labels = Rc::new(absent_labels(arg));
    Ok(Val::Vector(
        v.into_iter()
            .map(|es| {
                if es.is_empty() {
                    vec![Elem {
                        labels: labels.clone(),
                        v: 1.0,
                        drop_name: false,
                    }]
                } else {
                    Vec::new()
                }
            })
            .collect(),
    ))
}

fn label_fn(ctx: &mut Ctx, steps: &Steps, name: &str, args: &[&Expr]) -> Result<Val, QueryError> {
    let v = eval_vector(ctx, steps, args[0])?;
    let mut strs = Vec::new();
    for a in &args[1..] {
        strs.push(eval_string(ctx, steps, a)?);
    }
    let out = if name == "label_replace" {
        labels::label_replace(v, &strs[0], &strs[1], &strs[2], &strs[3])?
    } else {
        labels::label_join(v, &strs[0], &strs[1], &strs[2..])?
    };
    Ok(Val::Vector(out))
}

fn sort_fn(ctx: &mut Ctx, steps: &Steps, c: &Call, args: &[&Expr]) -> Result<Val, QueryError> {
    let name = c.func.name;
    let mut v = eval_vector(ctx, steps, args[0])?;
    let mut names = Vec::new();
    for a in &args[1..] {
        names.push(eval_string(ctx, steps, a)?);
    }
    if ctx.query_start != ctx.query_end {
        let pos = ctx.pos_of(name);
        ctx.ann.warn(msg::SORT_RANGE, &pos);
    }
    for es in v.iter_mut() {
        match name {
            "sort" => sort::sort_by_value(es, false),
            "sort_desc" => sort::sort_by_value(es, true),
            "sort_by_label" => sort::sort_by_labels(es, &names, false),
            _ => sort::sort_by_labels(es, &names, true),
        }
    }
    Ok(Val::Vector(v))
}

fn histogram_quantile(ctx: &mut Ctx, steps: &Steps, args: &[&Expr]) -> Result<Val, QueryError> {
    let q = eval_scalar(ctx, steps, args[0])?;
    let v = eval_vector(ctx, steps, args[1])?;
    let pos = ctx.pos_of_expr(args[1]);
    let out = v
        .into_iter()
        .zip(q)
        .map(|(es, q)| histogram::quantile_step(ctx, q, es, &pos))
        .collect();
    Ok(Val::Vector(out))
}

/// `histogram_quantiles(v, "label", q1, q2, ...)` (experimental): one
/// `histogram_quantile` per φ, told apart by `label="φ"`.
fn histogram_quantiles(ctx: &mut Ctx, steps: &Steps, args: &[&Expr]) -> Result<Val, QueryError> {
    let v = eval_vector(ctx, steps, args[0])?;
    let label = eval_string(ctx, steps, args[1])?;
    let mut qs = Vec::new();
    for a in &args[2..] {
        qs.push(eval_scalar(ctx, steps, a)?);
    }
    let pos = ctx.pos_of_expr(args[0]);
    let mut out = Vec::with_capacity(v.len());
    for (i, es) in v.into_iter().enumerate() {
        let mut step_out = Vec::new();
        for q in &qs {
            for mut e in histogram::quantile_step(ctx, q[i], es.clone(), &pos) {
                let mut l = (*e.labels).clone();
                l.set(&label, &crate::promql::eval::fmt_go_float(q[i]));
                e.labels = Rc::new(l);
                step_out.push(e);
            }
        }
        out.push(step_out);
    }
    Ok(Val::Vector(out))
}

fn histogram_fraction(ctx: &mut Ctx, steps: &Steps, args: &[&Expr]) -> Result<Val, QueryError> {
    let lo = eval_scalar(ctx, steps, args[0])?;
    let hi = eval_scalar(ctx, steps, args[1])?;
    let v = eval_vector(ctx, steps, args[2])?;
    let pos = ctx.pos_of_expr(args[2]);
    let out = v
        .into_iter()
        .enumerate()
        .map(|(i, es)| histogram::fraction_step(ctx, lo[i], hi[i], es, &pos))
        .collect();
    Ok(Val::Vector(out))
}

/// `round`, `clamp`, `clamp_min`, `clamp_max` with their scalar parameters.
fn param_math(ctx: &mut Ctx, steps: &Steps, name: &str, args: &[&Expr]) -> Result<Val, QueryError> {
    let v = eval_vector(ctx, steps, args[0])?;
    let mut ps = Vec::new();
    for a in &args[1..] {
        ps.push(eval_scalar(ctx, steps, a)?);
    }
    let out = v
        .into_iter()
        .enumerate()
        .map(|(i, es)| {
            let p: Vec<f64> = ps.iter().map(|p| p[i]).collect();
            if name == "clamp" && p[1] < p[0] {
                return Vec::new();
            }
            map_values(vec![es], |x| match name {
                "round" => math::round(x, p.first().copied().unwrap_or(1.0)),
                "clamp" => math::go_max(p[0], math::go_min(p[1], x)),
                "clamp_min" => math::go_max(p[0], x),
                _ => math::go_min(p[0], x),
            })
            .pop()
            .unwrap_or_default()
        })
        .collect();
    Ok(Val::Vector(out))
}

/// Date functions; without an argument they read `vector(time())`.
fn date(ctx: &mut Ctx, steps: &Steps, name: &str, args: &[&Expr]) -> Result<Val, QueryError> {
    let v = match args.first() {
        Some(a) => eval_vector(ctx, steps, a)?,
        None => steps.iter().map(|t| vec![plain(t as f64 / 1e3)]).collect(),
    };
    Ok(Val::Vector(map_values(v, |x| {
        if x.is_finite() {
            time::date_fn(name, x).unwrap_or(f64::NAN)
        } else {
            f64::NAN
        }
    })))
}
