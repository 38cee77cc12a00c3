//! Engine-level behaviour: limits, errors and result shapes.

use std::time::Duration;

use super::fuzz_tests::Small;
use super::{Engine, EngineOptions, QueryError, Value};

fn engine() -> Engine {
    Engine::default()
}

#[test]
fn too_many_samples_is_an_error_not_an_allocation() {
    let e = Engine::new(EngineOptions {
        max_samples: 10,
        ..EngineOptions::default()
    });
    let err = e
        .instant(&Small::new(), "foo_total[10m]", 600_000)
        .unwrap_err();
    assert_eq!(err, QueryError::TooManySamples("query execution"));
    assert_eq!(err.error_type(), "execution");
}

#[test]
fn timeout_is_reported() {
    let e = Engine::new(EngineOptions {
        timeout: Duration::ZERO,
        ..EngineOptions::default()
    });
    std::thread::sleep(Duration::from_millis(2));
    let err = e
        .range(&Small::new(), "rate(foo_total[1m])", 0, 600_000, 15_000)
        .unwrap_err();
    assert_eq!(err.to_string(), "query timed out in query execution");
    assert_eq!(err.error_type(), "timeout");
}

#[test]
fn parse_errors_are_bad_data() {
    let err = engine().instant(&Small::new(), "sum(foo", 0).unwrap_err();
    assert_eq!(err.error_type(), "bad_data");
}

#[test]
fn range_query_rejects_range_vectors() {
    let err = engine()
        .range(&Small::new(), "foo_total[5m]", 0, 60_000, 15_000)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector"
    );
}

#[test]
fn duplicate_label_sets_after_name_removal_fail() {
    let q = r#"label_replace({job="a"}, "le", "", "le", ".*") * 1"#;
    let err = engine().instant(&Small::new(), q, 60_000).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vector cannot contain metrics with the same labelset"
    );
}

#[test]
fn shapes_of_results() {
    let q = Small::new();
    let e = engine();
    assert_eq!(
        e.instant(&q, "1 + 2", 5_000).unwrap().value,
        Value::Scalar(5_000, 3.0)
    );
    assert_eq!(
        e.instant(&q, r#""x""#, 0).unwrap().value,
        Value::String(0, "x".into())
    );
    let Value::Matrix(m) = e
        .range(&q, "sum(foo_total)", 0, 60_000, 15_000)
        .unwrap()
        .value
    else {
        panic!("range query gives a matrix");
    };
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].samples.len(), 5);
    let Value::Vector(v) = e.instant(&q, "rate(foo_total[1m])", 120_000).unwrap().value else {
        panic!("rate gives a vector");
    };
    assert_eq!(v.len(), 2);
    assert!(v.iter().all(|(l, _)| l.metric_name().is_none()));
}

#[test]
fn non_counter_info_names_the_metric() {
    let out = engine()
        .instant(&Small::new(), "rate(bar[1m])", 120_000)
        .unwrap();
    assert_eq!(
        out.infos,
        vec![
            "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"bar\" (1:6)"
                .to_string()
        ]
    );
}

#[test]
fn huge_step_counts_are_refused_before_allocating() {
    let q = Small::new();
    let err = engine().range(&q, "1", 0, 1_000_000_000, 1).unwrap_err();
    assert_eq!(err.error_type(), "bad_data");
    let err = engine()
        .instant(&q, "max_over_time(foo_total[10y:1ms])", 0)
        .unwrap_err();
    assert_eq!(err, QueryError::TooManySamples("query execution"));
}

#[test]
fn a_cancelled_query_stops_with_canceled() {
    let flag = super::CancelFlag::new();
    flag.cancel();
    let err = engine()
        .instant_with(&Small::new(), "sum(foo_total)", 0, &flag)
        .unwrap_err();
    assert_eq!(err.error_type(), "canceled");
    let err = engine()
        .range_with(&Small::new(), "1", (0, 60_000, 1_000), &flag)
        .unwrap_err();
    assert_eq!(err.to_string(), "query was canceled in query execution");
}
