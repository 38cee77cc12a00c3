//! The query engine: parses an expression, evaluates it over a [`Querier`]
//! as an instant or range query, and shapes the result as Prometheus's API
//! does (delayed `__name__` removal, duplicate-series check, sorted matrix).
//! Every entry point parses and evaluates on a thread with a large stack
//! ([`super::worker::large_stack`]), whoever calls it.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use promql_parser::parser::Expr;

use super::annotations::Annotations;
use super::cancel::CancelFlag;
use super::error::QueryError;
use super::eval::{self, Ctx, Elem, Steps, Val, output_labels};
use super::parse::parse_for_query;
use super::value::{QueryOutput, Value};
use super::worker::large_stack;
use crate::model::{Labels, Sample};
use crate::store::{Querier, SeriesSamples};

/// Most steps a range query may have (Prometheus: 11,000).
const MAX_POINTS_PER_SERIES: i64 = 11_000;

/// Engine settings, with Prometheus's defaults.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (5m).
    pub lookback_delta: Duration,
    /// The most points a query may hold at once (Prometheus: 50 000 000).
    pub max_samples: usize,
    /// Evaluation is aborted after this long (2m).
    pub timeout: Duration,
    /// Step of subqueries that give none (`x[1h:]`): the rule evaluation
    /// interval in Prometheus, 1m by default.
    pub subquery_step: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta: Duration::from_secs(300),
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            subquery_step: Duration::from_secs(60),
        }
    }
}

/// Evaluates PromQL. Cheap to share; holds no per-query state.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    opts: EngineOptions,
}

impl Engine {
    pub fn new(opts: EngineOptions) -> Self {
        Engine { opts }
    }

    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// An instant query at `t` (ms since the epoch).
    pub fn instant(&self, q: &dyn Querier, expr: &str, t: i64) -> Result<QueryOutput, QueryError> {
        self.instant_with(q, expr, t, &CancelFlag::new())
    }

    /// [`Engine::instant`] that stops with `canceled` once `cancel` is set.
    pub fn instant_with(
        &self,
        q: &dyn Querier,
        expr: &str,
        t: i64,
        cancel: &CancelFlag,
    ) -> Result<QueryOutput, QueryError> {
        large_stack(|| {
            let ast = parse_for_query(expr, 0, 0)?;
            let steps = Steps {
                start: t,
                end: t,
                step: 1,
            };
            self.run(q, expr, &ast, steps, false, cancel)
        })
    }

    /// A range query from `start` to `end` every `step` (all ms).
    pub fn range(
        &self,
        q: &dyn Querier,
        expr: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryOutput, QueryError> {
        self.range_with(q, expr, (start, end, step), &CancelFlag::new())
    }

    /// A range query over `(start, end, step)` (ms) that stops with
    /// `canceled` once `cancel` is set. Only scalar and instant-vector
    /// expressions are allowed, as in Prometheus.
    pub fn range_with(
        &self,
        q: &dyn Querier,
        expr: &str,
        (start, end, step): (i64, i64, i64),
        cancel: &CancelFlag,
    ) -> Result<QueryOutput, QueryError> {
        large_stack(|| self.range_here(q, expr, (start, end, step), cancel))
    }

    fn range_here(
        &self,
        q: &dyn Querier,
        expr: &str,
        (start, end, step): (i64, i64, i64),
        cancel: &CancelFlag,
    ) -> Result<QueryOutput, QueryError> {
        if step <= 0 {
            return Err(QueryError::Parse(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
        }
        if end < start {
            return Err(QueryError::Parse(
                "end timestamp must not be before start time".into(),
            ));
        }
        // Prometheus's API limit, which also bounds per-step allocations.
        if (end - start) / step >= MAX_POINTS_PER_SERIES {
            return Err(QueryError::Parse(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into(),
            ));
        }
        let ast = parse_for_query(expr, step, end - start)?;
        let ty = ast.value_type().to_string();
        if ty != "scalar" && ty != "vector" {
            let shown = if ty == "matrix" {
                "range vector".to_string()
            } else {
                ty
            };
            return Err(QueryError::Parse(format!(
                "invalid expression type \"{shown}\" for range query, must be Scalar or instant Vector"
            )));
        }
        self.run(q, expr, &ast, Steps { start, end, step }, true, cancel)
    }

    /// Evaluates an already parsed expression as an instant query (for the
    /// rule engine, which parses its rules once).
    pub fn instant_expr(
        &self,
        q: &dyn Querier,
        ast: &Expr,
        t: i64,
    ) -> Result<QueryOutput, QueryError> {
        large_stack(|| {
            let text = ast.to_string();
            let steps = Steps {
                start: t,
                end: t,
                step: 1,
            };
            self.run(q, &text, ast, steps, false, &CancelFlag::new())
        })
    }

    fn run(
        &self,
        q: &dyn Querier,
        text: &str,
        ast: &Expr,
        steps: Steps,
        is_range: bool,
        cancel: &CancelFlag,
    ) -> Result<QueryOutput, QueryError> {
        let mut ctx = Ctx {
            querier: q,
            opts: &self.opts,
            query: text,
            query_start: steps.start,
            query_end: steps.end,
            query_step: if is_range { steps.step } else { 0 },
            deadline: Instant::now() + self.opts.timeout,
            cancel,
            ann: Annotations::default(),
            depth: 0,
        };
        let val = eval::eval(&mut ctx, &steps, ast)?;
        let value = if is_range {
            to_matrix(val, &steps)?
        } else {
            to_instant(val, steps.start)?
        };
        Ok(QueryOutput {
            value,
            warnings: ctx.ann.warnings,
            infos: ctx.ann.infos,
        })
    }
}

fn duplicate_labelset() -> QueryError {
    QueryError::exec("vector cannot contain metrics with the same labelset")
}

/// The result of an instant query.
fn to_instant(val: Val, t: i64) -> Result<Value, QueryError> {
    Ok(match val {
        Val::Scalar(v) => Value::Scalar(t, v.first().copied().unwrap_or(f64::NAN)),
        Val::Str(s) => Value::String(t, s),
        Val::Vector(mut steps) => {
            let elems = steps.pop().unwrap_or_default();
            let out = finish_vector(elems, t)?;
            Value::Vector(out)
        }
        Val::Matrix(series) => {
            let mut out: Vec<SeriesSamples> = series
                .into_iter()
                .map(|s| SeriesSamples {
                    labels: output_labels(&s.labels, s.drop_name),
                    samples: s.samples,
                })
                .collect();
            out.sort_by(|a, b| a.labels.cmp(&b.labels));
            if out.windows(2).any(|w| w[0].labels == w[1].labels) {
                return Err(duplicate_labelset());
            }
            Value::Matrix(out)
        }
    })
}

/// Removes names marked for removal and rejects duplicate label sets.
fn finish_vector(elems: Vec<Elem>, t: i64) -> Result<Vec<(Labels, Sample)>, QueryError> {
    let mut seen = std::collections::HashSet::with_capacity(elems.len());
    let mut out = Vec::with_capacity(elems.len());
    for e in elems {
        let labels = output_labels(&e.labels, e.drop_name);
        if !seen.insert(labels.clone()) {
            return Err(duplicate_labelset());
        }
        out.push((labels, Sample { t, v: e.v }));
    }
    Ok(out)
}

/// The result of a range query: one series per label set, sorted. Output
/// labels are computed once per distinct input label set.
fn to_matrix(val: Val, steps: &Steps) -> Result<Value, QueryError> {
    let per_step = match val {
        Val::Scalar(v) => {
            let pts = v
                .into_iter()
                .enumerate()
                .map(|(i, v)| Sample { t: steps.t(i), v })
                .collect();
            return Ok(Value::Matrix(vec![SeriesSamples {
                labels: Labels::empty(),
                samples: pts,
            }]));
        }
        Val::Vector(per_step) => per_step,
        _ => {
            return Err(QueryError::exec(
                "range query must be scalar or instant vector",
            ));
        }
    };
    let mut slot_of: HashMap<(*const Labels, bool), usize> = HashMap::new();
    let mut by_labels: HashMap<Labels, usize> = HashMap::new();
    let mut series: Vec<SeriesSamples> = Vec::new();
    for (i, elems) in per_step.iter().enumerate() {
        let t = steps.t(i);
        for e in elems {
            let slot = *slot_of
                .entry((Rc::as_ptr(&e.labels), e.drop_name))
                .or_insert_with(|| {
                    let labels = output_labels(&e.labels, e.drop_name);
                    *by_labels.entry(labels.clone()).or_insert_with(|| {
                        series.push(SeriesSamples {
                            labels,
                            samples: Vec::new(),
                        });
                        series.len() - 1
                    })
                });
            let samples = &mut series[slot].samples;
            if samples.last().is_some_and(|s| s.t == t) {
                return Err(duplicate_labelset());
            }
            samples.push(Sample { t, v: e.v });
        }
    }
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(Value::Matrix(series))
}
