//! The one-series-at-a-time evaluation of aggregated range functions
//! (`eval/fused.rs`) against the general path: `op by (...) (f(x[w]))` is
//! evaluated fused, `op by (...) (f(x[w]) * 1)` (the same values) is not,
//! and both must give the same series, points, bits and annotations.

use super::{Engine, EngineOptions, QueryError, Value};
use crate::model::{Labels, stale_nan};
use crate::store::{Appender, Head, HeadOptions};

/// Counters with resets, gaps, a staleness marker and a gauge-named
/// series, over two jobs and several instances.
fn head() -> Head {
    let head = Head::new(HeadOptions::unlimited());
    for i in 0..12i64 {
        let name = if i == 11 { "y_gauge" } else { "x_total" };
        let job = format!("job{}", i % 3);
        let inst = format!("i{i}");
        let labels = Labels::from_pairs([
            ("__name__", name),
            ("job", job.as_str()),
            ("instance", inst.as_str()),
        ]);
        let mut v = (i * 7) as f64 + 0.1;
        for k in 0..200i64 {
            // Series start late or stop early, skip samples, reset.
            if k < i * 3 || (i == 4 && k > 150) || (k + i) % 11 == 0 {
                continue;
            }
            v = if (k + 3 * i) % 47 == 0 {
                0.3
            } else {
                v + (k % 5) as f64 * 1.7 + 0.01 * i as f64
            };
            let value = if i == 5 && k == 100 { stale_nan() } else { v };
            head.append(&labels, k * 15_000 + i * 7, value)
                .expect("append");
        }
    }
    head
}

/// A range result as comparable bits.
fn bits(v: &Value) -> Vec<(Labels, Vec<(i64, u64)>)> {
    match v {
        Value::Matrix(m) => m
            .iter()
            .map(|s| {
                let pts = s.samples.iter().map(|p| (p.t, p.v.to_bits())).collect();
                (s.labels.clone(), pts)
            })
            .collect(),
        other => panic!("not a matrix: {other:?}"),
    }
}

#[test]
fn fused_aggregations_equal_the_general_path() {
    let head = head();
    let e = Engine::default();
    let mut compared = 0;
    for op in ["sum", "count", "min", "max", "group"] {
        for grouping in [
            "",
            " by (job)",
            " without (instance)",
            " by (__name__, job)",
        ] {
            for f in [
                "rate(x_total[1m])",
                "increase({__name__=~\"x_total|y_gauge\"}[2m])",
                "max_over_time(x_total[45s])",
                "last_over_time(x_total[1m])",
                "delta(x_total[3m] offset 1m)",
                "predict_linear(x_total[2m], 60)",
            ] {
                let fused = format!("{op}{grouping} ({f})");
                let general = format!("{op}{grouping} ({f} * 1)");
                for (start, end, step) in [
                    (0, 3_000_000, 15_000),
                    (200_000, 2_000_000, 70_000),
                    (1_500_000, 1_500_000, 1),
                ] {
                    let a = e.range(&head, &fused, start, end, step);
                    let b = e.range(&head, &general, start, end, step);
                    if f.starts_with("last_over_time") && grouping == " by (__name__, job)" {
                        // `* 1` drops the name that last_over_time keeps.
                        assert!(a.is_ok(), "{fused}: {a:?}");
                        continue;
                    }
                    let at = format!("{fused} at {start}..{end}/{step}");
                    match (a, b) {
                        (Ok(a), Ok(b)) => {
                            assert_eq!(bits(&a.value), bits(&b.value), "{at}");
                            assert_eq!(a.infos, b.infos, "{at}");
                            assert_eq!(a.warnings, b.warnings, "{at}");
                            compared += 1;
                        }
                        // Both refuse (names dropped from `by (__name__)` groups).
                        (a, b) => assert_eq!(a.map(|_| ()), b.map(|_| ()), "{at}"),
                    }
                }
            }
        }
    }
    assert!(compared >= 5 * 3 * 6 * 3, "{compared} answers compared");
}

#[test]
fn instant_queries_keep_the_group_order() {
    let head = head();
    let e = Engine::default();
    for q in [
        "sum by (instance) (rate(x_total[1m]))",
        "max without (job) (rate(x_total[2m]))",
    ] {
        let a = e.instant(&head, q, 1_800_000).expect(q);
        let general = q.replace("]))", "]) * 1)");
        let b = e.instant(&head, &general, 1_800_000).expect(&general);
        assert_eq!(a.value, b.value, "{q}");
    }
}

#[test]
fn fused_aggregations_keep_the_sample_limits() {
    let head = head();
    for max_samples in [10, 500, 2_000] {
        let e = Engine::new(EngineOptions {
            max_samples,
            ..EngineOptions::default()
        });
        for (fused, general) in [
            ("sum(rate(x_total[10m]))", "sum(rate(x_total[10m]) * 1)"),
            (
                "count by (job) (last_over_time(x_total[1m]))",
                "count by (job) (last_over_time(x_total[1m]) * 1)",
            ),
        ] {
            let a = e
                .range(&head, fused, 0, 3_000_000, 60_000)
                .map(|o| bits(&o.value));
            let b = e
                .range(&head, general, 0, 3_000_000, 60_000)
                .map(|o| bits(&o.value));
            assert_eq!(a, b, "{fused} with max_samples {max_samples}");
        }
    }
    let e = Engine::new(EngineOptions {
        max_samples: 10,
        ..EngineOptions::default()
    });
    let err = e
        .range(&head, "sum(rate(x_total[10m]))", 0, 3_000_000, 60_000)
        .unwrap_err();
    assert_eq!(err, QueryError::TooManySamples("query execution"));
}
