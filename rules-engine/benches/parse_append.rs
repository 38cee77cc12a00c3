//! Parse + append of a 100k-series exposition body, the scrape hot path:
//! parse with [`vigil::parse::Parser`], look the raw series text up in a
//! scrape cache (as the scraper does), append by series reference.
//!
//! `cargo bench -p vigil --bench parse_append`

#[path = "support/synth.rs"]
mod synth;

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vigil::model::Labels;
use vigil::parse::{Entry, ParseOptions, Parser};
use vigil::store::wal::{Wal, WalOptions};
use vigil::store::{Appender, BatchItem, Head, HeadOptions, SeriesCache, SeriesRef};

/// The allocator the `vigil` binary runs with, so the figure is the
/// binary's (each scrape allocates its batch vectors, a few MB, anew).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const SERIES: usize = 100_000;
/// Distinct bodies cycled through, so values change between scrapes.
const BODIES: usize = 8;

fn bodies() -> Vec<Vec<u8>> {
    let mut synth = synth::Synth::new(SERIES);
    let mut out = Vec::new();
    let mut text = String::new();
    for _ in 0..BODIES {
        synth.step();
        synth.exposition(&mut text);
        out.push(text.clone().into_bytes());
    }
    out
}

/// The scraper's cache: raw series text -> (store reference, label set).
type Cache = SeriesCache<Labels>;

/// One scrape as the scraper would do it: parse, resolve each raw series
/// through the cache (building labels only for new ones), then append the
/// whole scrape in one batch.
fn ingest(head: &Head, cache: &mut Cache, body: &[u8], t: i64) -> usize {
    let mut p = Parser::new(body, ParseOptions::default());
    let mut pending: Vec<(usize, i64, f64)> = Vec::with_capacity(SERIES);
    cache.begin_scrape();
    while let Some(entry) = p.next() {
        let Entry::Sample(s) = entry.expect("valid body") else {
            continue;
        };
        let pos = match cache.lookup(s.series) {
            Some(pos) => pos,
            None => cache.insert(s.series, SeriesRef::NONE, s.to_labels()),
        };
        pending.push((pos, s.timestamp.unwrap_or(t), s.value));
    }
    let mut items: Vec<BatchItem<'_>> = pending
        .iter()
        .map(|&(pos, t, v)| {
            let slot = cache.slot(pos);
            BatchItem::new(slot.sref, &slot.value, t, v)
        })
        .collect();
    head.append_batch(&mut items);
    let refs: Vec<SeriesRef> = items
        .iter()
        .map(|it| it.result.clone().map(|()| it.sref).expect("append"))
        .collect();
    drop(items);
    for (&(pos, _, _), sref) in pending.iter().zip(refs) {
        cache.slot_mut(pos).sref = sref;
    }
    cache.end_scrape(|_| {});
    pending.len()
}

fn bench(c: &mut Criterion) {
    let bodies = bodies();
    let mut g = c.benchmark_group("scrape_100k_series");
    g.throughput(Throughput::Elements(SERIES as u64));
    g.sample_size(20).measurement_time(Duration::from_secs(20));

    g.bench_function("parse_only", |b| {
        let mut k = 0;
        b.iter(|| {
            k += 1;
            Parser::new(&bodies[k % BODIES], ParseOptions::default())
                .for_each_sample(|s| {
                    std::hint::black_box(s.value);
                })
                .expect("valid body")
        })
    });

    // Steady state: series known, samples appended at a new timestamp each
    // iteration; 30 min retention keeps memory flat over long runs.
    let head = Head::new(HeadOptions {
        retention: Duration::from_secs(1800),
        ..HeadOptions::default()
    });
    let mut cache = Cache::default();
    let mut t = 1_700_000_000_000i64;
    ingest(&head, &mut cache, &bodies[0], t);
    let mut k = 0;
    g.bench_function("parse_and_append", |b| {
        b.iter(|| {
            k += 1;
            t += 15_000;
            ingest(&head, &mut cache, &bodies[k % BODIES], t)
        })
    });

    // The same with the write-ahead log attached (default options: snappy,
    // fsync every second in the background): the log's share of a scrape.
    let dir = tempfile::tempdir().expect("temp dir");
    let logged = Arc::new(Head::new(HeadOptions {
        retention: Duration::from_secs(1800),
        ..HeadOptions::default()
    }));
    let (_wal, _) = Wal::open(dir.path(), &logged, WalOptions::default()).expect("wal");
    let mut cache = Cache::default();
    ingest(&logged, &mut cache, &bodies[0], t);
    g.bench_function("parse_and_append_logged", |b| {
        b.iter(|| {
            k += 1;
            t += 15_000;
            ingest(&logged, &mut cache, &bodies[k % BODIES], t)
        })
    });

    g.bench_function("first_scrape_creates_series", |b| {
        b.iter_with_large_drop(|| {
            let head = Head::new(HeadOptions::default());
            let mut cache = Cache::default();
            ingest(&head, &mut cache, &bodies[0], 1_700_000_000_000);
            (head, cache)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
