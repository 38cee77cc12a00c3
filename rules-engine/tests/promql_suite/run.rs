//! Runs one eval the way the reference runner does: as written, with `@`
//! pinned at several evaluation times, and as a range query around `t`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::parser::{AtModifier, Expr};
use vigil::model::Labels;
use vigil::promql::{Engine, Value};

use super::judge::{check_annotations, check_instant, check_matrix, check_vector};
use super::mem_store::MemStore;
use super::script::{EvalCmd, Expected, Kind};

/// Runs the eval; `Err` describes the first mismatch.
pub fn run_eval(engine: &Engine, store: &MemStore, e: &EvalCmd) -> Result<(), String> {
    let res = match e.kind {
        Kind::Instant(t) => engine.instant(store, &e.expr, t),
        Kind::Range { start, end, step } => engine.range(store, &e.expr, start, end, step),
    };
    if let Some(want) = &e.fail {
        return match res {
            Ok(_) => Err("expected failure, query succeeded".into()),
            Err(err) => match want {
                Some(m) if !m.matches(&err.to_string()) => Err(format!("wrong error: {err}")),
                _ => Ok(()),
            },
        };
    }
    let out = res.map_err(|err| format!("query failed: {err}"))?;
    check_annotations(e, &out)?;
    match e.kind {
        Kind::Range { start, end, step } => match (&e.expected, &out.value) {
            (Expected::Series(want), Value::Matrix(got)) => {
                check_matrix(want, got, start, end, step)
            }
            (Expected::Scalar(v), Value::Matrix(got)) => {
                let line = super::script::SeriesLine {
                    labels: Labels::empty(),
                    values: vec![Some(*v); got.first().map_or(0, |s| s.samples.len())],
                    native: false,
                };
                check_matrix(&[line], got, start, end, step)
            }
            (_, other) => Err(format!("unexpected range result {}", other.type_name())),
        },
        Kind::Instant(t) => {
            check_instant(e, &out.value)?;
            check_at_pinned(engine, store, e, t)?;
            check_as_range(engine, store, e, t)
        }
    }
}

const TIME_DEPENDENT: [&str; 17] = [
    "time(",
    "timestamp(",
    "predict_linear(",
    "day_of_month(",
    "day_of_week(",
    "day_of_year(",
    "days_in_month(",
    "hour(",
    "minute(",
    "month(",
    "year(",
    "start(",
    "end(",
    "range(",
    "step(",
    "start()",
    "end()",
];

/// Whether `expr` calls any of the functions in `words` (given as `name(`).
fn uses_any(expr: &str, words: &[&str]) -> bool {
    let names: Vec<String> = words
        .iter()
        .map(|w| regex::escape(w.trim_end_matches(['(', ')'])))
        .collect();
    let re = regex::Regex::new(&format!(r"(?i)\b({})\s*\(", names.join("|"))).unwrap();
    re.is_match(expr)
}

fn at_time(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis((-ms) as u64)
    }
}

/// Sets `@ t` on every selector and subquery lacking one; below a subquery
/// that has (or now gets) an `@`, nothing is changed.
pub fn pin_at(e: &mut Expr, t: SystemTime) {
    match e {
        Expr::VectorSelector(vs) => {
            vs.at.get_or_insert(AtModifier::At(t));
        }
        Expr::MatrixSelector(ms) => {
            ms.vs.at.get_or_insert(AtModifier::At(t));
        }
        Expr::Subquery(sq) => {
            sq.at.get_or_insert(AtModifier::At(t));
        }
        Expr::Aggregate(a) => {
            pin_at(&mut a.expr, t);
            if let Some(p) = a.param.as_mut() {
                pin_at(p, t);
            }
        }
        Expr::Unary(u) => pin_at(&mut u.expr, t),
        Expr::Binary(b) => {
            pin_at(&mut b.lhs, t);
            pin_at(&mut b.rhs, t);
        }
        Expr::Paren(p) => pin_at(&mut p.expr, t),
        Expr::Call(c) => c.args.args.iter_mut().for_each(|a| pin_at(a, t)),
        _ => {}
    }
}

fn check_at_pinned(engine: &Engine, store: &MemStore, e: &EvalCmd, t: i64) -> Result<(), String> {
    if uses_any(&e.expr, &TIME_DEPENDENT) {
        return Ok(());
    }
    let Ok(mut ast) = promql_parser::parser::parse(&e.expr) else {
        return Ok(());
    };
    pin_at(&mut ast, at_time(t));
    let times = if t == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![-10 * t, 0, t / 5, t, 10 * t]
    };
    for at in times {
        let out = engine
            .instant_expr(store, &ast, at)
            .map_err(|err| format!("with @ pinned, at {at}ms: {err}"))?;
        check_instant(e, &out.value).map_err(|m| format!("with @ pinned, at {at}ms: {m}"))?;
    }
    Ok(())
}

fn check_as_range(engine: &Engine, store: &MemStore, e: &EvalCmd, t: i64) -> Result<(), String> {
    let skip = e.ordered
        || e.range_vector.is_some()
        || matches!(e.expected, Expected::String(_))
        || uses_any(&e.expr, &["start(", "end(", "range(", "step("]);
    if skip {
        return Ok(());
    }
    let out = engine
        .range(store, &e.expr, t - 60_000, t + 60_000, 60_000)
        .map_err(|err| format!("as range query: {err}"))?;
    let Value::Matrix(series) = out.value else {
        return Err("range query gave no matrix".into());
    };
    let mid: Vec<(Labels, f64)> = series
        .iter()
        .filter_map(|s| {
            s.samples
                .iter()
                .find(|p| p.t == t)
                .map(|p| (s.labels.clone(), p.v))
        })
        .collect();
    let res = match &e.expected {
        Expected::Scalar(v) => check_vector(
            &[super::script::SeriesLine {
                labels: Labels::empty(),
                values: vec![Some(*v)],
                native: false,
            }],
            &mid,
            false,
        ),
        Expected::Series(want) => check_vector(want, &mid, false),
        Expected::String(_) => Ok(()),
    };
    res.map_err(|m| format!("as range query: {m}"))
}
