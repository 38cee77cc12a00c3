//! The dashboards' PromQL: Grafana variables expanded to values that parse,
//! then parsed with promql-parser, the metric names collected and the
//! DESIGN.md mistakes looked for in the syntax tree.

use std::collections::BTreeSet;
use std::time::Duration;

use promql_parser::label::{METRIC_NAME, MatchOp};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{self, Expr, VectorSelector};
use promql_parser::util::{ExprVisitor, walk_expr};

/// What `$__rate_interval` becomes: a duration no panel would write by
/// hand, so that a range found in the tree can be traced back to it.
const RATE_INTERVAL: Duration = Duration::from_secs(61);
/// What `$__range` becomes (one second short of a day, for the same reason).
const RANGE: Duration = Duration::from_secs(86_399);

/// Grafana's built-in variables, longest first so that `$__range_s` is not
/// read as `$__range` followed by `_s`.
const BUILT_INS: &[(&str, &str)] = &[
    ("__rate_interval_ms", "61000"),
    ("__rate_interval", "61s"),
    ("__interval_ms", "15000"),
    ("__interval", "15s"),
    ("__range_ms", "86399000"),
    ("__range_s", "86399"),
    ("__range", "86399s"),
];

/// What the built-ins become for queries sent to a live server scraping
/// every second: ranges that hold enough samples.
const LIVE_BUILT_INS: &[(&str, &str)] = &[
    ("__rate_interval_ms", "10000"),
    ("__rate_interval", "10s"),
    ("__interval_ms", "2000"),
    ("__interval", "2s"),
    ("__range_ms", "120000"),
    ("__range_s", "120"),
    ("__range", "2m"),
];

/// Replaces `$name`, `${name}` and `[[name]]` of the built-ins and of the
/// dashboard's own `variables` (with `var_<name>`, which fits inside the
/// label matchers where they belong and breaks parsing anywhere else).
/// A `$` left over is an unknown variable: an error.
pub fn expand(expr: &str, variables: &[String]) -> Result<String, String> {
    expand_with(expr, BUILT_INS, variables, |n| format!("var_{n}"))
}

/// The query as Grafana sends it with every variable on "All" (`.*`).
pub fn expand_live(expr: &str, variables: &[String]) -> Result<String, String> {
    expand_with(expr, LIVE_BUILT_INS, variables, |_| ".*".to_string())
}

fn expand_with(
    expr: &str,
    built_ins: &[(&str, &str)],
    variables: &[String],
    value: impl Fn(&str) -> String,
) -> Result<String, String> {
    let mut pairs: Vec<(String, String)> = built_ins
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    pairs.extend(variables.iter().map(|n| (n.clone(), value(n))));
    pairs.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    let mut out = expr.to_string();
    for (name, value) in &pairs {
        out = out.replace(&format!("${{{name}}}"), value);
        out = out.replace(&format!("[[{name}]]"), value);
        out = replace_bare(&out, name, value);
    }
    match out.find('$') {
        Some(i) => Err(format!("unknown variable at {:?}", &out[i..])),
        None => Ok(out),
    }
}

/// `$name` not followed by another identifier character.
fn replace_bare(text: &str, name: &str, value: &str) -> String {
    let pattern = format!("${name}");
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(&pattern) {
        let after = &rest[i + pattern.len()..];
        let continues = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        out.push_str(&rest[..i]);
        out.push_str(if continues { &pattern } else { value });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// What one expression names and what is wrong with it.
#[derive(Default)]
pub struct Analysis {
    pub names: BTreeSet<String>,
    pub problems: Vec<String>,
}

/// Parses an expanded expression and checks it. A parse error is `Err`.
pub fn analyse(expanded: &str) -> Result<Analysis, String> {
    let expr = parser::parse(expanded)?;
    let mut a = Analysis::default();
    if matches!(expr.value_type(), ValueType::Matrix | ValueType::String) {
        a.problems
            .push("a panel query must give an instant vector or a scalar".into());
    }
    walk_expr(&mut a, &expr).map_err(|e: String| e)?;
    Ok(a)
}

/// The metric name of a selector, from its name or an `__name__="..."`.
fn metric_name(vs: &VectorSelector) -> Option<String> {
    vs.name.clone().or_else(|| {
        vs.matchers
            .matchers
            .iter()
            .find(|m| m.name == METRIC_NAME && matches!(m.op, MatchOp::Equal))
            .map(|m| m.value.clone())
    })
}

/// Every metric name under `expr`.
fn names_in(expr: &Expr) -> BTreeSet<String> {
    let mut a = Analysis::default();
    let _ = walk_expr(&mut a, expr);
    a.names
}

/// Strips parentheses and a trailing comparison with a number (`x > 0`, the
/// guard against dividing by zero) to reach what is being divided.
fn operand(expr: &Expr) -> &Expr {
    match expr {
        Expr::Paren(p) => operand(&p.expr),
        Expr::Binary(b)
            if b.op.is_comparison_operator() && matches!(*b.rhs, Expr::NumberLiteral(_)) =>
        {
            operand(&b.lhs)
        }
        other => other,
    }
}

fn unparen(expr: &Expr) -> &Expr {
    match expr {
        Expr::Paren(p) => unparen(&p.expr),
        other => other,
    }
}

/// An aggregation, or arithmetic on aggregations and numbers only.
fn aggregated(expr: &Expr) -> bool {
    match operand(expr) {
        Expr::Aggregate(_) | Expr::NumberLiteral(_) => true,
        Expr::Binary(b) => aggregated(&b.lhs) && aggregated(&b.rhs),
        _ => false,
    }
}

impl ExprVisitor for Analysis {
    type Error = String;

    fn pre_visit(&mut self, expr: &Expr) -> Result<bool, String> {
        match expr {
            Expr::VectorSelector(vs) => self.selector(vs),
            Expr::MatrixSelector(ms) => {
                self.selector(&ms.vs);
                if ms.range != RATE_INTERVAL && ms.range != RANGE {
                    self.problems.push(format!(
                        "range [{:?}] on {:?}: use $__rate_interval or $__range",
                        ms.range,
                        metric_name(&ms.vs)
                    ));
                }
            }
            Expr::Call(call) if matches!(call.func.name, "rate" | "irate") => {
                if let Some(Expr::MatrixSelector(ms)) = call.args.args.first().map(|a| &**a)
                    && ms.range != RATE_INTERVAL
                {
                    self.problems
                        .push(format!("{}() must use [$__rate_interval]", call.func.name));
                }
            }
            Expr::Binary(b) if b.op.to_string() == "/" => self.division(&b.lhs, &b.rhs),
            _ => {}
        }
        Ok(true)
    }
}

impl Analysis {
    fn selector(&mut self, vs: &VectorSelector) {
        match metric_name(vs) {
            Some(n) => {
                self.names.insert(n);
            }
            None => self.problems.push(format!("selector {vs} names no metric")),
        }
    }

    /// DESIGN.md's known mistakes in ratios: dividing by `maxmemory` that
    /// may be 0, and dividing per-label series of one family by the same
    /// family without summing both sides (each 5xx series over itself).
    fn division(&mut self, lhs: &Expr, rhs: &Expr) {
        if let Expr::VectorSelector(vs) = unparen(rhs)
            && metric_name(vs).as_deref() == Some("redis_config_maxmemory")
        {
            self.problems
                .push("divides by redis_config_maxmemory without `> 0` (0 means no limit)".into());
        }
        let shared: Vec<String> = names_in(lhs)
            .intersection(&names_in(rhs))
            .cloned()
            .collect();
        let summed = aggregated(lhs) && aggregated(rhs);
        if !shared.is_empty() && !summed {
            self.problems.push(format!(
                "ratio of {shared:?} over itself: sum both sides by the labels meant before dividing"
            ));
        }
    }
}
