//! Which evals touch native histograms (out of scope: skipped and counted).

use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{Expr, VectorSelector};
use vigil::model::{Labels, METRIC_NAME, Matcher};

use super::mem_store::MemStore;
use super::script::SeriesLine;

/// Records the native series a `load` creates: lines with `{{...}}` values
/// and, for `load_with_nhcb`, the histogram `X` built from `X_bucket`.
pub fn record_native(store: &mut MemStore, series: &[SeriesLine], nhcb: bool) {
    for s in series {
        if s.native {
            store.add_native(&s.labels);
        }
        if !nhcb {
            continue;
        }
        let name = s.labels.metric_name().unwrap_or("");
        for suffix in ["_bucket", "_count", "_sum"] {
            if let Some(base) = name.strip_suffix(suffix) {
                let mut l: Labels = s.labels.clone();
                l.set(METRIC_NAME, base);
                l.remove("le");
                store.add_native(&l);
            }
        }
    }
}

/// Whether any selector of `expr` matches a native-histogram series.
pub fn touches_native(store: &MemStore, expr: &str) -> bool {
    let Ok(ast) = promql_parser::parser::parse(expr) else {
        // Unparsable here (newer syntax): judge by the metric names used.
        return store
            .native_names()
            .iter()
            .any(|n| expr.contains(n.as_str()));
    };
    let mut found = false;
    walk(&ast, &mut |vs| {
        found |= matchers(vs).iter().any(|ms| store.selects_native(ms))
    });
    found
}

fn matchers(vs: &VectorSelector) -> Vec<Vec<Matcher>> {
    let groups: Vec<&Vec<promql_parser::label::Matcher>> = if vs.matchers.or_matchers.is_empty() {
        vec![&vs.matchers.matchers]
    } else {
        vs.matchers.or_matchers.iter().collect()
    };
    groups
        .into_iter()
        .map(|g| {
            let mut out: Vec<Matcher> = g
                .iter()
                .filter_map(|m| match m.op {
                    PMatchOp::Equal => Some(Matcher::equal(&m.name, &m.value)),
                    PMatchOp::NotEqual => Some(Matcher::not_equal(&m.name, &m.value)),
                    PMatchOp::Re(_) => Matcher::regex(&m.name, &m.value).ok(),
                    PMatchOp::NotRe(_) => Matcher::not_regex(&m.name, &m.value).ok(),
                })
                .collect();
            if let Some(n) = &vs.name {
                out.push(Matcher::equal(METRIC_NAME, n));
            }
            out
        })
        .collect()
}

fn walk(e: &Expr, f: &mut impl FnMut(&VectorSelector)) {
    match e {
        Expr::VectorSelector(vs) => f(vs),
        Expr::MatrixSelector(ms) => f(&ms.vs),
        Expr::Subquery(sq) => walk(&sq.expr, f),
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
        Expr::Call(c) => c.args.args.iter().for_each(|a| walk(a, f)),
        _ => {}
    }
}
