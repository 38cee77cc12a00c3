//! Lint warnings for `vigil check rules`: rules that parse but cannot do
//! what they say. Each lint catches one of the mistakes DESIGN.md lists
//! (found in the documents' original rules) and says how to fix it. Metric
//! names, types and label names come from [`Catalog`].

mod catalog;

use std::collections::HashSet;

use promql_parser::parser::Expr;

use super::file::{RuleDef, RuleFile};
pub use catalog::Catalog;

/// Gauges whose 0 means "no limit": dividing by them gives +Inf.
const ZERO_MEANS_UNLIMITED: &[&str] = &["redis_config_maxmemory"];

/// One warning: a stable id, what is wrong, and the suggested fix.
#[derive(Debug, Clone, PartialEq)]
pub struct Lint {
    pub id: &'static str,
    pub message: String,
    pub fix: String,
}

/// A lint on one rule of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleLint {
    pub group: String,
    pub rule: String,
    pub lint: Lint,
}

/// Lints every rule of a validated file.
pub fn lint_file(file: &RuleFile, catalog: &Catalog) -> Vec<RuleLint> {
    let recorded: HashSet<&str> = file
        .groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter_map(|r| r.record.as_deref())
        .collect();
    let mut out = Vec::new();
    for g in &file.groups {
        for r in &g.rules {
            for lint in lint_rule(r, &recorded, catalog) {
                out.push(RuleLint {
                    group: g.name.clone(),
                    rule: r.name().to_string(),
                    lint,
                });
            }
        }
    }
    out
}

fn lint(id: &'static str, message: String, fix: &str) -> Lint {
    Lint {
        id,
        message,
        fix: fix.to_string(),
    }
}

/// Lints one rule.
pub fn lint_rule(r: &RuleDef, recorded: &HashSet<&str>, catalog: &Catalog) -> Vec<Lint> {
    let mut out = Vec::new();
    let text = r.expr.as_deref().unwrap_or("");
    let Ok(expr) = crate::promql::parse_expr(text) else {
        return out;
    };
    // An explicit `for: 0s` says the alert is meant to fire at once (an
    // event, such as a failover); only a missing `for:` is flagged.
    if r.alert.is_some() && r.for_.is_none() && !multi_window(&expr) {
        out.push(lint(
            "alert-without-for",
            "the alert fires on a single evaluation".into(),
            "add `for:` (e.g. `for: 1m`) so a blip does not page, or `for: 0s` if it is meant to",
        ));
    }
    walk(&expr, &mut |e| check_node(e, recorded, catalog, &mut out));
    let is_ratio = text.contains('/') && !text.contains("100");
    let prints_percent = r.annotations.values().any(|v| {
        let squeezed: String = v.chars().filter(|c| !c.is_whitespace()).collect();
        squeezed.contains("$value}}%")
    });
    if r.alert.is_some() && is_ratio && prints_percent {
        out.push(lint(
            "ratio-printed-as-percent",
            "the annotation prints a ratio (0 to 1) followed by `%`".into(),
            "print it with `{{ $value | humanizePercentage }}`",
        ));
    }
    out.dedup();
    out
}

fn walk(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match e {
        Expr::Aggregate(a) => {
            walk(&a.expr, f);
            if let Some(p) = &a.param {
                walk(p, f);
            }
        }
        Expr::Unary(u) => walk(&u.expr, f),
        Expr::Binary(b) => {
            walk(&b.lhs, f);
            walk(&b.rhs, f);
        }
        Expr::Paren(p) => walk(&p.expr, f),
        Expr::Subquery(s) => walk(&s.expr, f),
        Expr::Call(c) => c.args.args.iter().for_each(|a| walk(a, f)),
        Expr::MatrixSelector(m) => f(&Expr::VectorSelector(m.vs.clone())),
        _ => {}
    }
}

/// A multi-window condition (the SRE workbook's burn-rate alerts): `A and
/// B`, each side reading over a window of its own, or an `or` of such
/// conditions. The long window is the hold that `for:` would give, and the
/// short one lets the alert resolve soon after the cause ends; a `for:`
/// would only delay the page.
fn multi_window(e: &Expr) -> bool {
    use promql_parser::parser::token::{T_LAND, T_LOR};
    match unparen(e) {
        Expr::Binary(b) if b.op.id() == T_LOR => multi_window(&b.lhs) && multi_window(&b.rhs),
        Expr::Binary(b) if b.op.id() == T_LAND => {
            reads_over_a_window(&b.lhs) && reads_over_a_window(&b.rhs)
        }
        _ => false,
    }
}

/// Whether `e` reads a range (`avg_over_time(x[1h])`, `rate(x[5m])`) or a
/// recorded series (`level:metric:operations`, whose name says its window
/// by the naming convention).
fn reads_over_a_window(e: &Expr) -> bool {
    let mut found = false;
    walk(e, &mut |node| match node {
        Expr::MatrixSelector(_) | Expr::Subquery(_) => found = true,
        Expr::VectorSelector(vs) => {
            found |= vs.name.as_deref().is_some_and(|n| n.contains(':'));
        }
        _ => {}
    });
    found
}

fn unparen(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unparen(&p.expr),
        other => other,
    }
}

/// The metric a side of an operator reads directly: a selector, or a
/// range function over one (`rate(x[5m])`), with no aggregation.
fn plain_metric(e: &Expr) -> Option<&str> {
    match unparen(e) {
        Expr::VectorSelector(vs) => vs.name.as_deref(),
        Expr::Call(c) => match c.args.args.first().map(|a| unparen(a)) {
            Some(Expr::MatrixSelector(m)) => m.vs.name.as_deref(),
            _ => None,
        },
        _ => None,
    }
}

fn check_node(e: &Expr, recorded: &HashSet<&str>, catalog: &Catalog, out: &mut Vec<Lint>) {
    match e {
        Expr::VectorSelector(vs) => {
            if let Some(name) = vs.name.as_deref()
                && !recorded.contains(name)
                && !catalog.known(name)
            {
                out.push(lint(
                    "unknown-metric",
                    format!("no known source emits `{name}`"),
                    "use the exporter's metric name (see exporter/contract-deviations.tsv and the contract catalog)",
                ));
            }
        }
        Expr::Call(c) if matches!(c.func.name, "rate" | "irate" | "increase") => {
            if let Some(Expr::MatrixSelector(m)) = c.args.args.first().map(|a| unparen(a))
                && let Some(name) = m.vs.name.as_deref()
                && let Some((ty, _)) = catalog.lookup(name)
                && ty == "gauge"
            {
                out.push(lint(
                    "rate-on-gauge",
                    format!("`{}` of `{name}`, which is a gauge", c.func.name),
                    "use `deriv` or `delta` for gauges, or a counter",
                ));
            }
        }
        Expr::Binary(b) => check_binary(b, catalog, out),
        _ => {}
    }
}

fn check_binary(b: &promql_parser::parser::BinaryExpr, catalog: &Catalog, out: &mut Vec<Lint>) {
    let op = b.op.to_string();
    let lhs = unparen(&b.lhs);
    if matches!(op.as_str(), "<" | "<=" | "==")
        && let Expr::Aggregate(a) = lhs
        && a.op.to_string() == "count"
    {
        out.push(lint(
            "count-of-nothing",
            "`count(...)` of no series is no result, so this cannot fire when nothing matches"
                .into(),
            "write `(count(...) or vector(0))` before comparing",
        ));
    }
    if op == "/"
        && let Expr::VectorSelector(vs) = unparen(&b.rhs)
        && let Some(name) = vs.name.as_deref()
        && ZERO_MEANS_UNLIMITED.contains(&name)
    {
        out.push(lint(
            "division-by-zero-gauge",
            format!("`{name}` is 0 when there is no limit; dividing by it gives +Inf"),
            &format!("divide by `({name} > 0)` to leave unlimited instances out"),
        ));
    }
    let matching = b.modifier.as_ref().and_then(|m| m.matching.as_ref());
    let (Some(l), Some(r)) = (plain_metric(&b.lhs), plain_metric(&b.rhs)) else {
        return;
    };
    if matching.is_some() || !matches!(op.as_str(), "/" | "*" | "+" | "-") {
        return;
    }
    if l == r {
        out.push(lint(
            "ratio-of-itself",
            format!("each `{l}` series is matched with itself, so the ratio is 1 wherever the numerator exists"),
            "sum both sides by the labels you mean first: `sum by (...) (…) / sum by (...) (…)`",
        ));
    } else if let (Some((_, ll)), Some((_, rl))) = (catalog.lookup(l), catalog.lookup(r))
        && ll != rl
    {
        let only: Vec<&String> = ll
            .iter()
            .chain(rl)
            .filter(|n| !(ll.contains(n) && rl.contains(n)))
            .collect();
        out.push(lint(
            "labels-never-match",
            format!("`{l}` and `{r}` have different labels ({only:?} on one side only), so no series match"),
            "aggregate both sides to the same labels, or match with `on(...)`",
        ));
    }
}

#[cfg(test)]
mod tests;
