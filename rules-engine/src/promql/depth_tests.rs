//! Deeply nested and very long expressions: refused past the limits with
//! the limit named, evaluated within a small part of the evaluation
//! thread's stack up to them, and never a crash in between (property test
//! over generated nestings, chains, truncations).

use proptest::prelude::*;

use super::fuzz_tests::Small;
use super::limits::{self, MAX_DEPTH};
use super::{Engine, EngineOptions, worker};

/// An expression of some shape, as a function of its number of levels.
type Shape = fn(usize) -> String;

/// Shapes of nesting, by name.
fn shapes() -> Vec<(&'static str, Shape)> {
    fn wrap(n: usize, open: &str, leaf: &str, close: &str) -> String {
        format!("{}{leaf}{}", open.repeat(n), close.repeat(n))
    }
    vec![
        ("parentheses", |n| wrap(n, "(", "foo_total", ")")),
        ("abs", |n| wrap(n, "abs(", "foo_total", ")")),
        ("sum", |n| wrap(n, "sum(", "foo_total", ")")),
        ("sum by", |n| wrap(n, "sum by (job) (", "foo_total", ")")),
        ("topk", |n| wrap(n, "topk(1, ", "foo_total", ")")),
        ("unary minus", |n| wrap(n, "-(", "foo_total", ")")),
        ("scalar", |n| wrap(n, "vector(scalar(", "foo_total", "))")),
        ("subquery", |n| {
            wrap(n, "max_over_time(", "foo_total", "[1m:])")
        }),
        ("label_replace", |n| {
            wrap(
                n,
                "label_replace(",
                "foo_total",
                r#", "x", "$1", "job", "(.*)")"#,
            )
        }),
        ("histogram_quantile", |n| {
            wrap(n, "histogram_quantile(0.5, ", "foo_total", ")")
        }),
        ("sum chain", |n| vec!["foo_total"; n + 1].join(" + ")),
        ("scalar chain", |n| vec!["1"; n + 1].join("+")),
        ("or chain", |n| vec!["foo_total"; n + 1].join(" or ")),
        ("comparison chain", |n| {
            vec!["foo_total"; n + 1].join(" > bool ")
        }),
        ("right-nested", |n| wrap(n, "foo_total + (", "bar", ")")),
    ]
}

/// The most levels of `shape` the limits accept (they grow monotonically).
fn deepest_accepted(shape: Shape) -> usize {
    let (mut lo, mut hi) = (0, MAX_DEPTH * 2);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if limits::check(&shape(mid)).is_ok() {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// Each shape, as deep as the limits allow, evaluates on a sixteenth of
/// the evaluation thread's stack (a debug build uses about 2 MiB); one
/// level more is refused as `bad_data` naming the limit.
#[test]
fn the_deepest_accepted_expressions_fit_a_sixteenth_of_the_stack() {
    for (name, shape) in shapes() {
        let n = deepest_accepted(shape);
        assert!(n >= MAX_DEPTH / 4 - 2, "{name}: only {n} levels accepted");
        let q = shape(n);
        let evaluated = std::thread::Builder::new()
            .stack_size(worker::STACK_BYTES / 16)
            .spawn(move || {
                // Evaluate here, on this small stack, not on a large one.
                worker::assume_large_stack();
                let e = Engine::new(EngineOptions::default());
                let store = Small::new();
                let instant = e.instant(&store, &q, 300_000).map(|_| ());
                let range = e.range(&store, &q, 0, 300_000, 15_000).map(|_| ());
                (instant, range)
            })
            .unwrap()
            .join()
            .unwrap();
        for r in [evaluated.0, evaluated.1] {
            if let Err(e) = r {
                assert!(!e.to_string().contains("nesting"), "{name}: {e}");
            }
        }
        let err = super::parse_expr(&shape(n + 1)).unwrap_err();
        assert_eq!(err.error_type(), "bad_data");
        assert!(
            err.to_string()
                .contains(&format!("nesting depth exceeds the limit of {MAX_DEPTH}")),
            "{name}: {err}"
        );
    }
}

/// The issue's examples, and deeper, are refused quickly at parse time.
#[test]
fn the_reported_queries_are_refused() {
    for (q, levels) in [("(", 1500), ("abs(", 500), ("sum(", 1000), ("(", 100_000)] {
        let text = format!("{}1{}", q.repeat(levels), ")".repeat(levels));
        let err = super::parse_expr(&text).unwrap_err().to_string();
        assert!(err.contains("limit of"), "{err}");
    }
    for (sep, terms) in [("+", 2000), (" or ", 20_000)] {
        let text = vec!["vector(1)"; terms].join(sep);
        assert!(super::parse_expr(&text).is_err());
    }
}

/// A wrapper around an expression, or a chain of one with an operator.
fn layer() -> impl Strategy<Value = (String, String)> {
    let p = |a: &str, b: &str| (a.to_string(), b.to_string());
    prop::sample::select(vec![
        p("(", ")"),
        p("abs(", ")"),
        p("sum by (job) (", ")"),
        p("-(", ")"),
        p("rate((", ")[5m:1m])"),
        p("max_over_time((", ")[1m:] offset 1m)"),
        p("topk(2, ", ")"),
        p("foo_total + on(job) group_left (", ")"),
        p("(", ") or bar"),
        p("bar unless (", ")"),
        p("label_replace(", r#", "a", "$1", "job", "(.*)")"#),
        p("{", "}"),
        p("[", "]"),
        p("\"", ""),
    ])
}

fn deep_or_long() -> impl Strategy<Value = String> {
    let nested = (prop::collection::vec(layer(), 0..12), 1usize..200).prop_map(|(layers, reps)| {
        let mut q = "foo_total".to_string();
        for _ in 0..reps {
            for (open, close) in &layers {
                q = format!("{open}{q}{close}");
            }
        }
        q
    });
    let op = prop::sample::select(vec![" + ", " or ", " and ", "*", " > bool ", " / on(job) "]);
    let chain = (op, 1usize..3000).prop_map(|(op, n)| vec!["foo_total"; n].join(op));
    let regex = (1usize..20_000).prop_map(|n| format!("foo_total{{job=~\"{}\"}}", "a|".repeat(n)));
    prop_oneof![nested, chain, regex]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// No generated expression, whole or cut anywhere, crashes the parser or
    /// the evaluator; past the limits the error names them.
    #[test]
    fn deep_and_long_expressions_never_crash(q in deep_or_long(), cut in 0.0f64..1.0) {
        let mut end = ((q.len() as f64) * cut) as usize;
        while !q.is_char_boundary(end) {
            end -= 1;
        }
        for text in [q.clone(), q[..end].to_string()] {
            let refused = limits::check(&text).is_err();
            let t = text.clone();
            let results = worker::large_stack(move || {
                let e = Engine::new(EngineOptions::default());
                let store = Small::new();
                let instant = e.instant(&store, &t, 300_000).map(|_| ());
                let range = e.range(&store, &t, 0, 300_000, 15_000).map(|_| ());
                [instant, range]
            });
            for r in results {
                if refused {
                    let err = r.expect_err("refused by the limits");
                    prop_assert!(err.to_string().contains("limit of"), "{}", err);
                }
            }
        }
    }
}
