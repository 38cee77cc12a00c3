//! Replay speed of the write-ahead log: 100k series scraped 40 times
//! (4 M samples, as the scraper logs them: one series record per new
//! series batch, one samples record per scrape), then opened into a fresh
//! head. Scraping resumes only after replay, so its time is a gap in every
//! series; the target is 10 M samples/s on one core.
//!
//! `cargo bench -p vigil --bench wal_replay`

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vigil::model::Labels;
use vigil::store::wal::{SyncPolicy, Wal, WalOptions};
use vigil::store::{Appender, BatchItem, Head, HeadOptions, SeriesRef};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const SERIES: usize = 100_000;
const SCRAPES: i64 = 40;

fn options() -> WalOptions {
    WalOptions {
        sync: SyncPolicy::Never,
        ..WalOptions::default()
    }
}

/// Writes the log once, as a scraper would.
fn write_log(dir: &std::path::Path) {
    let head = Arc::new(Head::new(HeadOptions::unlimited()));
    let (_wal, _) = Wal::open(dir, &head, options()).expect("wal");
    let labels: Vec<Labels> = (0..SERIES)
        .map(|i| {
            Labels::from_pairs([
                ("__name__", format!("bench_metric_{}", i % 50)),
                ("instance", format!("host{}:9100", i / 500)),
                ("job", format!("job{}", i % 10)),
                ("series", i.to_string()),
            ])
        })
        .collect();
    let mut refs = vec![SeriesRef::NONE; SERIES];
    for s in 0..SCRAPES {
        let t = 1_700_000_000_000 + s * 15_000;
        let mut items: Vec<BatchItem> = labels
            .iter()
            .zip(&refs)
            .enumerate()
            .map(|(i, (l, r))| BatchItem::new(*r, l, t, (s * 37 + i as i64 % 1000) as f64))
            .collect();
        head.append_batch(&mut items);
        for (r, it) in refs.iter_mut().zip(&items) {
            *r = it.sref;
        }
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    write_log(dir.path());
    let mut g = c.benchmark_group("wal_replay");
    g.throughput(Throughput::Elements(SERIES as u64 * SCRAPES as u64));
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    g.bench_function("100k_series_x40", |b| {
        // One open at a time (the directory lock), dropped outside the
        // timed part.
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let head = Arc::new(Head::new(HeadOptions::unlimited()));
                let start = std::time::Instant::now();
                let (wal, report) = Wal::open(dir.path(), &head, options()).expect("replay");
                total += start.elapsed();
                assert_eq!(report.samples, SERIES as u64 * SCRAPES as u64);
                drop((wal, head));
            }
            total
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
