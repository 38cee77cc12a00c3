//! `info(v, {selector})` (experimental): enriches series with the data
//! labels of info metrics (`target_info` by default) that share their
//! identifying labels `instance` and `job`.

use std::collections::HashMap;
use std::rc::Rc;

use promql_parser::parser::Expr;
use promql_parser::parser::value::ValueType;

use crate::model::{Labels, METRIC_NAME, MatchOp, Matcher};
use crate::promql::error::QueryError;
use crate::promql::eval::selectors::{lookback_sample, matcher_sets, min_max, ref_time};
use crate::promql::eval::{Ctx, Elem, Steps, Val, eval_vector};
use crate::promql::info_arg::INFO_LABEL;
use crate::store::SeriesSamples;

const IDENTIFYING: [&str; 2] = ["instance", "job"];

/// The info selector split into `__name__` matchers and data matchers.
struct InfoSelector {
    names: Vec<Matcher>,
    data: Vec<Matcher>,
}

impl InfoSelector {
    fn from_arg(arg: Option<&Expr>) -> Result<Self, QueryError> {
        let mut all = match arg.map(super::unwrap_parens) {
            Some(Expr::VectorSelector(vs)) => {
                matcher_sets(vs)?.into_iter().next().unwrap_or_default()
            }
            _ => Vec::new(),
        };
        all.retain(|m| m.name != INFO_LABEL);
        let (mut names, data): (Vec<Matcher>, Vec<Matcher>) =
            all.drain(..).partition(|m| m.name == METRIC_NAME);
        if names.is_empty() {
            names.push(Matcher::equal(METRIC_NAME, "target_info"));
        } else if !names.iter().any(is_positive) {
            // Only negative name matchers: candidates are still info metrics.
            let info = Matcher::regex(METRIC_NAME, ".+_info")
                .map_err(|e| QueryError::exec(e.to_string()))?;
            names.push(info);
        }
        Ok(InfoSelector { names, data })
    }

    /// Base series that are themselves info series pass through: those
    /// matching all `__name__` matchers, at least one of them positive.
    fn is_info_series(&self, l: &Labels) -> bool {
        let name = l.metric_name().unwrap_or("");
        let positive = self.names.iter().any(is_positive);
        positive && self.names.iter().all(|m| m.matches(name))
    }

    fn wants(&self, label: &str) -> bool {
        self.data.is_empty() || self.data.iter().any(|m| m.name == label)
    }
}

fn is_positive(m: &Matcher) -> bool {
    matches!(m.op, MatchOp::Equal | MatchOp::Regex(_))
}

fn identity(l: &Labels) -> Vec<String> {
    IDENTIFYING
        .iter()
        .map(|n| l.get(n).unwrap_or("").to_string())
        .collect()
}

pub(crate) fn eval_info(ctx: &mut Ctx, steps: &Steps, args: &[&Expr]) -> Result<Val, QueryError> {
    let base = eval_vector(ctx, steps, args[0])?;
    let sel = InfoSelector::from_arg(args.get(1).copied())?;
    let times: Vec<i64> = steps.iter().map(|t| shifted(ctx, args[0], t)).collect();
    let infos = select_infos(ctx, &times, &sel)?;
    let lookback = ctx.opts.lookback_delta.as_millis() as i64;
    let mut out = Vec::with_capacity(base.len());
    for (i, elems) in base.into_iter().enumerate() {
        let t = times[i];
        let mut by_id: HashMap<Vec<String>, Vec<&Labels>> = HashMap::new();
        for s in &infos {
            if lookback_sample(&s.samples, t, lookback).is_some() {
                by_id
                    .entry(identity(&s.labels))
                    .or_default()
                    .push(&s.labels);
            }
        }
        out.push(
            elems
                .into_iter()
                .filter_map(|e| enrich(&sel, &by_id, e))
                .collect(),
        );
    }
    Ok(Val::Vector(out))
}

/// The time the base samples were read at for step time `t`: info series
/// are matched as of the same `@` / `offset`-shifted time.
fn shifted(ctx: &Ctx, e: &Expr, t: i64) -> i64 {
    match e {
        Expr::VectorSelector(vs) => ref_time(ctx, &vs.at, &vs.offset, t),
        Expr::MatrixSelector(ms) => ref_time(ctx, &ms.vs.at, &ms.vs.offset, t),
        Expr::Subquery(sq) => shifted(ctx, &sq.expr, ref_time(ctx, &sq.at, &sq.offset, t)),
        Expr::Paren(p) => shifted(ctx, &p.expr, t),
        Expr::Unary(u) => shifted(ctx, &u.expr, t),
        Expr::Aggregate(a) => shifted(ctx, &a.expr, t),
        Expr::Call(c) => c
            .args
            .args
            .iter()
            .find(|a| matches!(a.value_type(), ValueType::Vector | ValueType::Matrix))
            .map_or(t, |a| shifted(ctx, a, t)),
        _ => t,
    }
}

fn select_infos(
    ctx: &mut Ctx,
    times: &[i64],
    sel: &InfoSelector,
) -> Result<Vec<SeriesSamples>, QueryError> {
    let (lo, hi) = min_max(times);
    let lookback = ctx.opts.lookback_delta.as_millis() as i64;
    let matchers: Vec<Matcher> = sel.names.iter().chain(&sel.data).cloned().collect();
    ctx.check_deadline()?;
    Ok(ctx.querier.select(&matchers, lo - lookback + 1, hi))
}

/// Adds the wanted data labels of the matching info series; drops the
/// element when none matches and a data matcher rejects empty values.
fn enrich(
    sel: &InfoSelector,
    by_id: &HashMap<Vec<String>, Vec<&Labels>>,
    mut e: Elem,
) -> Option<Elem> {
    if sel.is_info_series(&e.labels) {
        return Some(e);
    }
    let Some(infos) = by_id.get(&identity(&e.labels)) else {
        return sel.data.iter().all(Matcher::matches_empty).then_some(e);
    };
    let mut labels = (*e.labels).clone();
    for info in infos {
        for l in info.iter() {
            let skip = l.name == METRIC_NAME || IDENTIFYING.contains(&l.name.as_str());
            if !skip && sel.wants(&l.name) && labels.get(&l.name).is_none() {
                labels.set(&l.name, &l.value);
            }
        }
    }
    e.labels = Rc::new(labels);
    Some(e)
}
