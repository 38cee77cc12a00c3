//! Rough timings of typical dashboard queries over the real head (ignored
//! by default; run with `cargo test -p vigil --lib promql::perf -- --ignored
//! --nocapture`). Prints figures; asserts nothing about time.

use std::time::Instant;

use super::{Engine, Value};
use crate::model::Labels;
use crate::store::{Appender, Head, HeadOptions};

fn build(series: usize, points: i64) -> Head {
    let head = Head::new(HeadOptions::unlimited());
    let les = ["0.1", "0.5", "1", "+Inf"];
    for i in 0..series {
        let job = format!("job{}", i % 10);
        let inst = format!("i{i}");
        let le = les[i % les.len()];
        let labels = Labels::from_pairs([
            ("__name__", "x_bucket"),
            ("job", job.as_str()),
            ("instance", inst.as_str()),
            ("le", le),
        ]);
        for k in 0..points {
            head.append(&labels, k * 15_000, (k * (1 + i as i64 % 7)) as f64)
                .expect("append");
        }
    }
    head
}

#[test]
#[ignore]
fn dashboard_queries() {
    let head = build(4000, 240);
    let engine = Engine::default();
    let end = 239 * 15_000;
    let t0 = Instant::now();
    let m = [crate::model::Matcher::equal("__name__", "x_bucket")];
    let n: usize = crate::store::Querier::select(&head, &m, 0, end)
        .iter()
        .map(|s| s.samples.len())
        .sum();
    println!("select alone: {:?} ({n} samples)", t0.elapsed());
    for q in [
        "sum by (job) (rate(x_bucket[5m]))",
        "topk(10, rate(x_bucket[5m]))",
        "histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))",
        "rate(x_bucket[5m]) / on(instance, le, job) rate(x_bucket[5m])",
    ] {
        let t0 = Instant::now();
        let out = engine.instant(&head, q, end).expect("instant");
        let inst = t0.elapsed();
        let t0 = Instant::now();
        let r = engine
            .range(&head, q, end - 3_600_000 + 300_000, end, 60_000)
            .expect("range");
        let n = match r.value {
            Value::Matrix(m) => m.len(),
            _ => 0,
        };
        println!(
            "{q}: instant {inst:?} ({}), range {:?} ({n} series)",
            out.value.type_name(),
            t0.elapsed()
        );
    }
}
