//! Instant queries over 100k series in the embedded head, the shape of
//! `scripts/bench/query-vs-prometheus` without the HTTP API and the scraper:
//! 10 jobs x 250 instances, each with 20 request counters, a 12-bucket
//! latency histogram (+ `_sum`, `_count`) and 6 queue gauges, sampled every
//! 15 s for 10 minutes. Lets the evaluator be profiled and compared between
//! changes in seconds instead of a side-by-side run.
//!
//! `cargo bench -p vigil --bench query`

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use vigil::model::Labels;
use vigil::promql::Engine;
use vigil::store::{Appender, Head, HeadOptions, SeriesRef};

/// The allocator the `vigil` binary runs with.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const JOBS: usize = 10;
const INSTANCES: usize = 250;
const BUCKETS: [&str; 12] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];
const T0: i64 = 1_700_000_000_000;
const SCRAPES: i64 = 40;
const INTERVAL_MS: i64 = 15_000;

/// The benchmark's queries, the same as the side-by-side script's.
const QUERIES: [(&str, &str); 5] = [
    (
        "sum_by_job_rate",
        "sum by (job) (rate(bench_requests_total[5m]))",
    ),
    ("topk_rate", "topk(10, rate(bench_requests_total[5m]))"),
    (
        "histogram_quantile",
        "histogram_quantile(0.95, sum by (le) (rate(bench_latency_seconds_bucket[5m])))",
    ),
    (
        "sum_by_job_queue",
        "sum by (job, queue) (bench_queue_depth)",
    ),
    ("count", "count(bench_requests_total)"),
];

/// A series' value as a function of the scrape number.
type ValueAt = Box<dyn Fn(i64) -> f64>;

/// Every series of the synthetic target with its values.
fn series() -> Vec<(Labels, ValueAt)> {
    let mut out: Vec<(Labels, ValueAt)> = Vec::new();
    for j in 0..JOBS {
        for i in 0..INSTANCES {
            let job = format!("job{j}");
            let instance = format!("host{i}:9100");
            for h in 0..20 {
                let labels = Labels::from_pairs([
                    ("__name__", "bench_requests_total".to_string()),
                    ("job", job.clone()),
                    ("instance", instance.clone()),
                    ("handler", format!("/h{h}")),
                ]);
                let step = ((j * 7 + i * 3 + h) % 50) as f64;
                out.push((labels, Box::new(move |k| step * k as f64)));
            }
            for (b, le) in BUCKETS.iter().enumerate() {
                let labels = Labels::from_pairs([
                    ("__name__", "bench_latency_seconds_bucket"),
                    ("job", &job),
                    ("instance", &instance),
                    ("le", le),
                ]);
                let step = (b + 1) as f64 * 4.0;
                out.push((labels, Box::new(move |k| step * k as f64)));
            }
            for name in ["bench_latency_seconds_sum", "bench_latency_seconds_count"] {
                let labels = Labels::from_pairs([
                    ("__name__", name),
                    ("job", &job),
                    ("instance", &instance),
                ]);
                out.push((labels, Box::new(move |k| 48.0 * k as f64)));
            }
            for q in 0..6 {
                let labels = Labels::from_pairs([
                    ("__name__", "bench_queue_depth".to_string()),
                    ("job", job.clone()),
                    ("instance", instance.clone()),
                    ("queue", format!("q{q}")),
                ]);
                let seed = (j * 31 + i * 17 + q) as i64;
                out.push((
                    labels,
                    Box::new(move |k| ((seed * 7919 + k * 104_729) % 1000) as f64),
                ));
            }
        }
    }
    out
}

fn filled_head() -> Head {
    let head = Head::new(HeadOptions::default());
    let series = series();
    let mut refs = vec![SeriesRef::NONE; series.len()];
    for k in 0..SCRAPES {
        let t = T0 + k * INTERVAL_MS;
        for ((labels, value), sref) in series.iter().zip(refs.iter_mut()) {
            *sref = head
                .append_ref(*sref, labels, t, value(k))
                .expect("in-order append");
        }
    }
    head
}

fn bench(c: &mut Criterion) {
    let head = filled_head();
    let engine = Engine::default();
    let at = T0 + (SCRAPES - 1) * INTERVAL_MS;
    let mut g = c.benchmark_group("instant_query_100k_series");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    for (name, expr) in QUERIES {
        g.bench_function(name, |b| {
            b.iter(|| engine.instant(&head, expr, at).expect("query"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
