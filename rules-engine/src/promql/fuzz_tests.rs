//! Property test: random expressions over a small store never panic; each
//! either evaluates or returns an error value.

use proptest::prelude::*;

use super::{Engine, EngineOptions};
use crate::model::{Labels, Matcher, Sample, stale_nan};
use crate::store::{Querier, SeriesSamples};

/// Three series over ten minutes, with a NaN, an Inf, a reset and a
/// staleness marker.
pub(super) struct Small(Vec<SeriesSamples>);

impl Small {
    pub(super) fn new() -> Self {
        let mk = |pairs: &[(&str, &str)], f: &dyn Fn(i64) -> f64| SeriesSamples {
            labels: Labels::from_pairs(pairs.iter().copied()),
            samples: (0..40)
                .map(|i| Sample {
                    t: i * 15_000,
                    v: f(i),
                })
                .collect(),
        };
        Small(vec![
            mk(
                &[("__name__", "foo_total"), ("job", "a"), ("le", "1")],
                &|i| (i % 17) as f64,
            ),
            mk(
                &[("__name__", "foo_total"), ("job", "b"), ("le", "+Inf")],
                &|i| {
                    if i == 20 { stale_nan() } else { i as f64 * 2.5 }
                },
            ),
            mk(&[("__name__", "bar"), ("job", "a")], &|i| match i {
                5 => f64::NAN,
                9 => f64::INFINITY,
                _ => -(i as f64),
            }),
        ])
    }
}

impl Querier for Small {
    fn select(&self, ms: &[Matcher], mint: i64, maxt: i64) -> Vec<SeriesSamples> {
        self.0
            .iter()
            .filter(|s| {
                ms.iter()
                    .all(|m| m.matches(s.labels.get(&m.name).unwrap_or("")))
            })
            .map(|s| SeriesSamples {
                labels: s.labels.clone(),
                samples: s
                    .samples
                    .iter()
                    .filter(|p| p.t >= mint && p.t <= maxt)
                    .copied()
                    .collect(),
            })
            .filter(|s| !s.samples.is_empty())
            .collect()
    }
    fn series(&self, ms: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        self.select(ms, mint, maxt)
            .into_iter()
            .map(|s| s.labels)
            .collect()
    }
    fn label_names(&self, _: &[Matcher], _: i64, _: i64) -> Vec<String> {
        Vec::new()
    }
    fn label_values(&self, _: &str, _: &[Matcher], _: i64, _: i64) -> Vec<String> {
        Vec::new()
    }
}

fn vector_leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("foo_total".to_string()),
        Just("bar".to_string()),
        Just(r#"foo_total{job=~"a|b"}"#.to_string()),
        Just("foo_total offset 1m".to_string()),
        Just("bar @ 120".to_string()),
        Just("nothing".to_string()),
    ]
}

fn scalar_leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        (-3.0f64..3.0).prop_map(|f| format!("{f:.2}")),
        Just("NaN".to_string()),
        Just("Inf".to_string()),
        Just("0".to_string()),
        Just("time()".to_string()),
    ]
}

/// A range function over a selector, in any of the range modes.
fn range_call() -> impl Strategy<Value = String> {
    let f = prop::sample::select(vec![
        "rate",
        "irate",
        "increase",
        "delta",
        "deriv",
        "resets",
        "changes",
        "avg_over_time",
        "stddev_over_time",
        "last_over_time",
        "absent_over_time",
        "mad_over_time",
    ]);
    let range = prop::sample::select(vec!["1m", "5m", "30s", "1m+30s", "step()*2"]);
    let mode = prop::sample::select(vec!["", " anchored", " smoothed"]);
    (f, vector_leaf(), range, mode).prop_map(|(f, v, r, m)| format!("{f}({v}[{r}]{m})"))
}

fn binary_op() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "+",
        "-",
        "*",
        "/",
        "%",
        "^",
        "==",
        ">",
        "<= bool",
        "and",
        "or",
        "unless",
        "atan2",
        "+ on(job)",
        "* ignoring(le) group_left",
        "- fill(0)",
    ])
}

fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![vector_leaf(), scalar_leaf(), range_call()];
    leaf.prop_recursive(4, 32, 3, |inner| {
        let vec_fn = prop::sample::select(vec![
            "abs",
            "ceil",
            "sqrt",
            "ln",
            "sgn",
            "sort_desc",
            "absent",
            "timestamp",
            "year",
            "scalar",
            "vector",
            "exp",
            "info",
        ]);
        let agg = prop::sample::select(vec!["sum", "avg", "max", "stddev", "count", "group"]);
        let k_agg =
            prop::sample::select(vec!["topk", "bottomk", "quantile", "limitk", "limit_ratio"]);
        prop_oneof![
            (vec_fn, inner.clone()).prop_map(|(f, e)| format!("{f}({e})")),
            (agg, inner.clone()).prop_map(|(a, e)| format!("{a} by (job) ({e})")),
            (k_agg, scalar_leaf(), inner.clone()).prop_map(|(a, k, e)| format!("{a}({k}, {e})")),
            (inner.clone(), binary_op(), inner.clone())
                .prop_map(|(l, o, r)| format!("({l}) {o} ({r})")),
            inner
                .clone()
                .prop_map(|e| format!("max_over_time(({e})[3m:30s] @ 60 offset -1m)")),
            (scalar_leaf(), inner.clone())
                .prop_map(|(q, e)| format!("histogram_quantile({q}, {e})")),
            inner.prop_map(|e| format!(r#"label_replace({e}, "x", "$1", "job", "(.*)")"#)),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_expressions_never_panic(e in expr(), t in 0i64..700_000, step in 1i64..120_000) {
        let store = Small::new();
        let engine = Engine::new(EngineOptions { max_samples: 100_000, ..EngineOptions::default() });
        let _ = engine.instant(&store, &e, t);
        let _ = engine.range(&store, &e, t, t + 10 * step, step);
    }
}
