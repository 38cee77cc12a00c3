//! The evaluator: walks the AST over a grid of evaluation steps.
//!
//! Every expression is evaluated for all steps of the query at once (an
//! instant query is a range query with one step), which lets selectors read
//! the store once for the whole range plus lookback, as Prometheus's engine
//! does, and then step through the samples.

pub(crate) mod aggregate;
pub(crate) mod binary;
pub(crate) mod fused;
pub(crate) mod selectors;
pub(crate) mod subquery;

use std::rc::Rc;
use std::time::Instant;

use promql_parser::parser::{Expr, UnaryExpr};

use super::annotations::Annotations;
use super::engine::EngineOptions;
use super::error::QueryError;
use super::functions;
use crate::model::{Labels, Sample};
use crate::store::Querier;

/// The grid of evaluation timestamps (ms): `start, start+step, ..., end`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Steps {
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

impl Steps {
    pub fn len(&self) -> usize {
        ((self.end - self.start) / self.step.max(1)) as usize + 1
    }

    pub fn t(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }

    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(|i| self.t(i))
    }
}

/// One sample of an instant vector at one step. `drop_name` is Prometheus 3's
/// delayed `__name__` removal: the name stays for matching and grouping and
/// is removed when the result leaves the engine.
#[derive(Debug, Clone)]
pub(crate) struct Elem {
    pub labels: Rc<Labels>,
    pub v: f64,
    pub drop_name: bool,
}

/// A series with its raw points, as a range vector holds it.
#[derive(Debug, Clone)]
pub(crate) struct RangeSeries {
    pub labels: Rc<Labels>,
    pub drop_name: bool,
    pub samples: Vec<Sample>,
}

/// An evaluated expression over all steps.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    /// One value per step.
    Scalar(Vec<f64>),
    Str(String),
    /// One instant vector per step.
    Vector(Vec<Vec<Elem>>),
    /// A range vector; only produced at the top of an instant query.
    Matrix(Vec<RangeSeries>),
}

/// State shared by the whole evaluation of one query.
pub(crate) struct Ctx<'a> {
    pub querier: &'a dyn Querier,
    pub opts: &'a EngineOptions,
    /// The query text, for annotation positions.
    pub query: &'a str,
    /// Start and end of the top-level query, for `@ start()` / `@ end()`.
    pub query_start: i64,
    pub query_end: i64,
    /// Step of the top-level query (0 for instant queries).
    pub query_step: i64,
    pub deadline: Instant,
    pub cancel: &'a super::cancel::CancelFlag,
    pub ann: Annotations,
    /// How many [`eval`] calls are open: the recursion depth.
    pub depth: usize,
}

impl Ctx<'_> {
    /// Fails with Prometheus's timeout error once the deadline has passed,
    /// or with `canceled` once the caller cancelled.
    pub fn check_deadline(&self) -> Result<(), QueryError> {
        if self.cancel.is_canceled() {
            return Err(QueryError::Canceled("query execution"));
        }
        if Instant::now() > self.deadline {
            return Err(QueryError::Timeout("query execution"));
        }
        Ok(())
    }

    /// Fails when a value would hold more than `max_samples` points.
    pub fn check_samples(&self, n: usize) -> Result<(), QueryError> {
        if n > self.opts.max_samples {
            return Err(QueryError::TooManySamples("query execution"));
        }
        Ok(())
    }

    /// The `line:col` where sub-expression `e` starts: found by its text,
    /// else by its first metric name (the AST carries no positions).
    pub fn pos_of_expr(&self, e: &Expr) -> String {
        let text = e.to_string();
        if self.query.contains(&text) {
            return self.pos_of(&text);
        }
        match first_metric_name(e) {
            Some(n) => self.pos_of(&n),
            None => self.pos_of(""),
        }
    }

    /// The `line:col` of the first occurrence of `needle` in the query.
    pub fn pos_of(&self, needle: &str) -> String {
        let at = if needle.is_empty() {
            0
        } else {
            self.query.find(needle).unwrap_or(0)
        };
        super::annotations::position(self.query, at)
    }
}

/// Evaluates `expr` at every step of `steps`. The recursion is bounded
/// here too ([`super::limits::MAX_DEPTH`]), whatever built the tree:
/// parsing refuses deeper text, so this only fires for a tree made some
/// other way, and then as an error instead of a stack overflow.
pub(crate) fn eval(ctx: &mut Ctx, steps: &Steps, expr: &Expr) -> Result<Val, QueryError> {
    if ctx.depth >= super::limits::MAX_DEPTH {
        return Err(QueryError::Parse(format!(
            "expression nesting depth exceeds the limit of {}",
            super::limits::MAX_DEPTH
        )));
    }
    ctx.depth += 1;
    let val = eval_node(ctx, steps, expr);
    ctx.depth -= 1;
    val
}

fn eval_node(ctx: &mut Ctx, steps: &Steps, expr: &Expr) -> Result<Val, QueryError> {
    ctx.check_deadline()?;
    let val = match expr {
        Expr::NumberLiteral(n) => Val::Scalar(vec![n.val; steps.len()]),
        Expr::StringLiteral(s) => Val::Str(s.val.clone()),
        Expr::Paren(p) => eval(ctx, steps, &p.expr)?,
        Expr::Unary(u) => eval_unary(ctx, steps, u)?,
        Expr::VectorSelector(vs) => selectors::eval_vector(ctx, steps, vs, false)?,
        Expr::MatrixSelector(_) | Expr::Subquery(_) => {
            let arg = subquery::eval_range_arg(ctx, steps, expr)?;
            Val::Matrix(arg.window_at(0))
        }
        Expr::Binary(b) => binary::eval_binary(ctx, steps, b)?,
        Expr::Aggregate(a) => aggregate::eval_aggregate(ctx, steps, a)?,
        Expr::Call(c) => functions::eval_call(ctx, steps, c)?,
        Expr::Extension(_) => return Err(QueryError::exec("unsupported extension expression")),
    };
    ctx.check_samples(val_points(&val))?;
    Ok(val)
}

/// The name of the first selector in `e` that has one.
fn first_metric_name(e: &Expr) -> Option<String> {
    match e {
        Expr::VectorSelector(vs) => vs.name.clone(),
        Expr::MatrixSelector(ms) => ms.vs.name.clone(),
        Expr::Subquery(sq) => first_metric_name(&sq.expr),
        Expr::Paren(p) => first_metric_name(&p.expr),
        Expr::Unary(u) => first_metric_name(&u.expr),
        Expr::Aggregate(a) => first_metric_name(&a.expr),
        Expr::Binary(b) => first_metric_name(&b.lhs).or_else(|| first_metric_name(&b.rhs)),
        Expr::Call(c) => c.args.args.iter().find_map(|a| first_metric_name(a)),
        _ => None,
    }
}

fn val_points(v: &Val) -> usize {
    match v {
        Val::Scalar(_) | Val::Str(_) => 0,
        Val::Vector(steps) => steps.iter().map(Vec::len).sum(),
        Val::Matrix(series) => series.iter().map(|s| s.samples.len()).sum(),
    }
}

/// Unary minus: negates values and (delayed) drops the metric name.
fn eval_unary(ctx: &mut Ctx, steps: &Steps, u: &UnaryExpr) -> Result<Val, QueryError> {
    Ok(match eval(ctx, steps, &u.expr)? {
        Val::Scalar(v) => Val::Scalar(v.into_iter().map(|x| -x).collect()),
        Val::Vector(mut vs) => {
            for e in vs.iter_mut().flatten() {
                e.v = -e.v;
                e.drop_name = true;
            }
            Val::Vector(vs)
        }
        other => other,
    })
}

/// Evaluates an expression that must give an instant vector per step.
pub(crate) fn eval_vector(
    ctx: &mut Ctx,
    steps: &Steps,
    expr: &Expr,
) -> Result<Vec<Vec<Elem>>, QueryError> {
    match eval(ctx, steps, expr)? {
        Val::Vector(v) => Ok(v),
        _ => Err(QueryError::exec("expected instant vector")),
    }
}

/// Evaluates an expression that must give a scalar per step.
pub(crate) fn eval_scalar(
    ctx: &mut Ctx,
    steps: &Steps,
    expr: &Expr,
) -> Result<Vec<f64>, QueryError> {
    match eval(ctx, steps, expr)? {
        Val::Scalar(v) => Ok(v),
        _ => Err(QueryError::exec("expected scalar")),
    }
}

/// Evaluates an expression that must give a string.
pub(crate) fn eval_string(ctx: &mut Ctx, steps: &Steps, expr: &Expr) -> Result<String, QueryError> {
    match eval(ctx, steps, expr)? {
        Val::Str(s) => Ok(s),
        _ => Err(QueryError::exec("expected string")),
    }
}

/// The labels a sample leaves the engine with: without `__name__` when a
/// function or operator dropped it.
pub(crate) fn output_labels(labels: &Labels, drop_name: bool) -> Labels {
    let mut l = labels.clone();
    if drop_name {
        // The type and unit labels describe the metric; they go with its name.
        for n in [crate::model::METRIC_NAME, "__type__", "__unit__"] {
            l.remove(n);
        }
    }
    l
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)` plus Prometheus's spelling of
/// the special values: the shortest decimal that round-trips.
pub(crate) fn fmt_go_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f == f64::INFINITY {
        "+Inf".into()
    } else if f == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{f}")
    }
}
