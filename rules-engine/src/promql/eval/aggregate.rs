//! Aggregation operators (`sum`, `avg`, `min`, `max`, `count`, `group`,
//! `stddev`, `stdvar`, `quantile`, `count_values`, `topk`, `bottomk`,
//! `limitk`, `limit_ratio`) with `by` / `without`, as Prometheus evaluates
//! them: Kahan-compensated sums, NaN ordering of `min`/`max`, and
//! `__name__` kept by `by (__name__)` until delayed removal.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use promql_parser::parser::token::*;
use promql_parser::parser::{AggregateExpr, Expr, LabelModifier};

use super::{Ctx, Elem, Steps, Val, eval_scalar, eval_string, eval_vector, fmt_go_float};
use crate::model::{Labels, METRIC_NAME};
use crate::promql::annotations::msg;
use crate::promql::error::QueryError;
use crate::promql::functions::stats::{kahan_inc, quantile_sorted, sort_go};
use crate::promql::go_float::go_float;
use crate::promql::parse::{go_quote, valid_label_name};

/// The per-step parameter of an aggregation.
enum Param {
    None,
    Scalar(Vec<f64>),
    Str(String),
}

pub(crate) fn eval_aggregate(
    ctx: &mut Ctx,
    steps: &Steps,
    a: &AggregateExpr,
) -> Result<Val, QueryError> {
    if let Some(v) = super::fused::try_eval(ctx, steps, a)? {
        return Ok(v);
    }
    let op = a.op.id();
    let param = eval_param(ctx, steps, op, a.param.as_deref())?;
    let input = eval_vector(ctx, steps, &a.expr)?;
    let pos = a
        .param
        .as_ref()
        .map(|p| ctx.pos_of_expr(p))
        .unwrap_or_default();
    let mut out = Vec::with_capacity(input.len());
    let mut grouper = Grouper::new(&a.modifier);
    for (i, elems) in input.into_iter().enumerate() {
        let p = match &param {
            Param::Scalar(v) => Some(v[i]),
            _ => None,
        };
        let step_out = match op {
            T_TOPK | T_BOTTOMK | T_LIMITK | T_LIMIT_RATIO => {
                select_k(ctx, op, p.unwrap_or(f64::NAN), &mut grouper, elems, &pos)?
            }
            T_COUNT_VALUES => {
                let Param::Str(label) = &param else {
                    unreachable!("count_values has a string")
                };
                count_values(label, &a.modifier, elems)?
            }
            _ => aggregate_groups(ctx, op, p, &mut grouper, elems, &pos),
        };
        out.push(step_out);
    }
    Ok(Val::Vector(out))
}

fn eval_param(
    ctx: &mut Ctx,
    steps: &Steps,
    op: TokenId,
    p: Option<&Expr>,
) -> Result<Param, QueryError> {
    let Some(p) = p else { return Ok(Param::None) };
    Ok(match op {
        T_COUNT_VALUES => Param::Str(eval_string(ctx, steps, p)?),
        T_TOPK | T_BOTTOMK | T_LIMITK | T_LIMIT_RATIO | T_QUANTILE => {
            Param::Scalar(eval_scalar(ctx, steps, p)?)
        }
        _ => Param::None,
    })
}

/// The labels of the group an element falls in.
pub(crate) fn group_key(labels: &Labels, modifier: &Option<LabelModifier>) -> Labels {
    match modifier {
        Some(LabelModifier::Include(by)) => Labels::from_sorted(
            labels
                .iter()
                .filter(|l| by.labels.contains(&l.name))
                .cloned()
                .collect(),
        ),
        Some(LabelModifier::Exclude(without)) => Labels::from_sorted(
            labels
                .iter()
                .filter(|l| l.name != METRIC_NAME && !without.labels.contains(&l.name))
                .cloned()
                .collect(),
        ),
        None => Labels::empty(),
    }
}

/// Splits elements into groups. Each element's group is found by hashing
/// the grouping labels in place; the group's label set is built once, for
/// its first member, so a step of N series allocates per group, not per
/// series.
pub(super) struct Grouper<'m> {
    modifier: &'m Option<LabelModifier>,
}

impl<'m> Grouper<'m> {
    pub(super) fn new(modifier: &'m Option<LabelModifier>) -> Self {
        Grouper { modifier }
    }

    /// Whether `name` is one of the labels the group is made of.
    fn keeps(&self, name: &str) -> bool {
        match self.modifier {
            Some(LabelModifier::Include(by)) => by.labels.iter().any(|l| l == name),
            Some(LabelModifier::Exclude(without)) => {
                name != METRIC_NAME && !without.labels.iter().any(|l| l == name)
            }
            None => false,
        }
    }

    /// A hash of the grouping labels of `labels`; equal groups hash equal.
    pub(super) fn hash(&self, labels: &Labels) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for l in labels.iter().filter(|l| self.keeps(&l.name)) {
            l.hash(&mut h);
        }
        h.finish()
    }

    /// Whether `labels` falls in the group whose label set is `key`.
    pub(super) fn same_group(&self, labels: &Labels, key: &Labels) -> bool {
        let mut kept = labels.iter().filter(|l| self.keeps(&l.name));
        key.iter().all(|k| kept.next() == Some(k)) && kept.next().is_none()
    }

    /// The groups of one step, in order of first appearance.
    fn groups(&mut self, elems: Vec<Elem>) -> Vec<(Rc<Labels>, Vec<Elem>)> {
        // Hash -> indexes into `out`; several only on a hash collision.
        let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
        let mut out: Vec<(Rc<Labels>, Vec<Elem>)> = Vec::new();
        for e in elems {
            let slots = index.entry(self.hash(&e.labels)).or_default();
            match slots
                .iter()
                .find(|&&i| self.same_group(&e.labels, &out[i].0))
            {
                Some(&i) => out[i].1.push(e),
                None => {
                    slots.push(out.len());
                    out.push((Rc::new(group_key(&e.labels, self.modifier)), vec![e]));
                }
            }
        }
        out
    }
}

fn aggregate_groups(
    ctx: &mut Ctx,
    op: TokenId,
    param: Option<f64>,
    grouper: &mut Grouper,
    elems: Vec<Elem>,
    pos: &str,
) -> Vec<Elem> {
    if op == T_QUANTILE {
        let q = param.unwrap_or(f64::NAN);
        if q.is_nan() || !(0.0..=1.0).contains(&q) {
            ctx.ann.warn(&msg::bad_quantile(q), pos);
        }
    }
    grouper
        .groups(elems)
        .into_iter()
        .map(|(key, members)| {
            let drop_name = members.iter().any(|e| e.drop_name);
            let values: Vec<f64> = members.iter().map(|e| e.v).collect();
            Elem {
                labels: key,
                v: reduce(op, param, &values),
                drop_name,
            }
        })
        .collect()
}

/// One group's value.
fn reduce(op: TokenId, param: Option<f64>, vs: &[f64]) -> f64 {
    match op {
        T_SUM => kahan_sum(vs),
        T_AVG => mean(vs),
        T_COUNT => vs.len() as f64,
        T_GROUP => 1.0,
        T_MIN => vs
            .iter()
            .copied()
            .fold(f64::NAN, |m, v| if m.is_nan() || v < m { v } else { m }),
        T_MAX => vs
            .iter()
            .copied()
            .fold(f64::NAN, |m, v| if m.is_nan() || v > m { v } else { m }),
        T_STDDEV => variance(vs).sqrt(),
        T_STDVAR => variance(vs),
        T_QUANTILE => {
            let mut sorted = vs.to_vec();
            sort_go(&mut sorted);
            quantile_sorted(param.unwrap_or(f64::NAN), &sorted)
        }
        _ => f64::NAN,
    }
}

/// Neumaier-compensated sum, as Prometheus's `sum` computes it.
pub(crate) fn kahan_sum(vs: &[f64]) -> f64 {
    let (mut s, mut c) = (0.0, 0.0);
    for &v in vs {
        (s, c) = kahan_inc(v, s, c);
    }
    if s.is_infinite() { s } else { s + c }
}

/// The mean: a compensated sum divided by the count, switching to an
/// incremental mean when the sum would overflow (Prometheus's `avg`).
pub(crate) fn mean(vs: &[f64]) -> f64 {
    let sum = kahan_sum(vs);
    if !sum.is_infinite() || vs.iter().any(|v| v.is_infinite()) {
        return sum / vs.len() as f64;
    }
    let (mut m, mut c) = (0.0, 0.0);
    for (i, &v) in vs.iter().enumerate() {
        let n = (i + 1) as f64;
        let delta = v / n - (m + c) / n;
        (m, c) = kahan_inc(delta, m, c);
    }
    m + c
}

/// Population variance by Welford's method with compensation.
pub(crate) fn variance(vs: &[f64]) -> f64 {
    let (mut n, mut m, mut c, mut acc) = (0.0, 0.0, 0.0, 0.0);
    for &v in vs {
        n += 1.0;
        let delta = v - (m + c);
        (m, c) = kahan_inc(delta / n, m, c);
        acc += delta * (v - (m + c));
    }
    acc / n
}

/// `topk`, `bottomk`, `limitk` and `limit_ratio`: they keep whole series.
fn select_k(
    ctx: &mut Ctx,
    op: TokenId,
    p: f64,
    grouper: &mut Grouper,
    elems: Vec<Elem>,
    pos: &str,
) -> Result<Vec<Elem>, QueryError> {
    if op == T_LIMIT_RATIO {
        return limit_ratio(ctx, p, elems, pos);
    }
    if p.is_nan() {
        return Err(QueryError::exec("Parameter value is NaN"));
    }
    let k = if p >= usize::MAX as f64 {
        usize::MAX
    } else if p < 1.0 {
        0
    } else {
        p as usize
    };
    let mut out = Vec::new();
    for (_, mut members) in grouper.groups(elems) {
        match op {
            T_TOPK => members.sort_by(|a, b| order_desc(a.v, b.v)),
            T_BOTTOMK => members.sort_by(|a, b| order_asc(a.v, b.v)),
            _ => {}
        }
        members.truncate(k);
        out.extend(members);
    }
    Ok(out)
}

/// Descending, NaN last (what `topk` prefers least).
fn order_desc(a: f64, b: f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        _ => b.partial_cmp(&a).unwrap_or(std::cmp::Ordering::Equal),
    }
}

/// Ascending, NaN last.
fn order_asc(a: f64, b: f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        _ => a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal),
    }
}

/// `limit_ratio(r, v)`: a deterministic sample of series chosen by label
/// hash; `r` and `-(1 - r)` pick complementary sets.
fn limit_ratio(
    ctx: &mut Ctx,
    mut r: f64,
    elems: Vec<Elem>,
    pos: &str,
) -> Result<Vec<Elem>, QueryError> {
    if r.is_nan() {
        return Err(QueryError::exec("Ratio value is NaN"));
    }
    if !(-1.0..=1.0).contains(&r) {
        let capped = r.clamp(-1.0, 1.0);
        ctx.ann.warn(
            &format!(
                "ratio value should be between -1 and 1, got {}, capping to {}",
                go_float(r),
                go_float(capped)
            ),
            pos,
        );
        r = capped;
    }
    if r == 0.0 {
        return Ok(Vec::new());
    }
    Ok(elems
        .into_iter()
        .filter(|e| {
            let offset = e.labels.fingerprint() as f64 / u64::MAX as f64;
            (r >= 0.0 && offset < r) || (r < 0.0 && offset >= 1.0 + r)
        })
        .collect())
}

/// `count_values("label", v)`: counts elements per distinct value, the value
/// written into `label` as Go formats floats.
fn count_values(
    label: &str,
    modifier: &Option<LabelModifier>,
    elems: Vec<Elem>,
) -> Result<Vec<Elem>, QueryError> {
    if !valid_label_name(label) {
        return Err(QueryError::exec(format!(
            "invalid label name {}",
            go_quote(label)
        )));
    }
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<Elem> = Vec::new();
    for e in elems {
        let mut key = group_key(&e.labels, modifier);
        key.set(label, &fmt_go_float(e.v));
        match index.get(&key) {
            Some(&i) => out[i].v += 1.0,
            None => {
                index.insert(key.clone(), out.len());
                out.push(Elem {
                    labels: Rc::new(key),
                    v: 1.0,
                    drop_name: false,
                });
            }
        }
    }
    Ok(out)
}
