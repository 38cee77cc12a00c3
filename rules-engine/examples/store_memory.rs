//! Memory figures of the head: N synthetic series (default 100k) scraped
//! every 15 s for 2 h, appended in-process. Prints bytes per sample in
//! chunks and the per-series overhead.
//!
//! `cargo run --release -p vigil --example store_memory [series] [hours] [jitter_ms]`

#[path = "../benches/support/synth.rs"]
mod synth;

use std::time::Instant;

use vigil::store::{Appender, Head, HeadOptions, SeriesMemory, SeriesRef};

fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| {
            v.trim()
                .trim_end_matches(" kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

fn arg<T: std::str::FromStr>(i: usize, default: T) -> T {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let n: usize = arg(1, 100_000);
    let hours: f64 = arg(2, 2.0);
    let jitter_ms: i64 = arg(3, 0);
    let scrapes = (hours * 3600.0 / 15.0) as i64;

    let mut synth = synth::Synth::new(n);
    let rss_before = rss_bytes();
    let head = Head::new(HeadOptions::default());
    let mut refs = vec![SeriesRef::NONE; n];
    let t0 = 1_700_000_000_000i64;
    let start = Instant::now();
    let mut rng = 1u64;
    for k in 0..scrapes {
        synth.step();
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let jitter = if jitter_ms > 0 {
            (rng >> 33) as i64 % (2 * jitter_ms + 1) - jitter_ms
        } else {
            0
        };
        let t = t0 + k * 15_000 + jitter;
        for (r, s) in refs.iter_mut().zip(&synth.series) {
            *r = head
                .append_ref(*r, &s.labels, t, s.value)
                .expect("in order");
        }
    }
    let elapsed = start.elapsed();
    let rss_after = rss_bytes();

    let mut total = SeriesMemory::default();
    let mut by_kind: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for (r, s) in refs.iter().zip(&synth.series) {
        let m = head.series_by_ref(*r).expect("live series").memory();
        total.samples += m.samples;
        total.chunks += m.chunks;
        total.payload_bytes += m.payload_bytes;
        total.heap_bytes += m.heap_bytes;
        total.label_bytes += m.label_bytes;
        let kind = match s.kind {
            synth::Kind::Counter { per_scrape } if per_scrape < 1.0 => "idle counter",
            synth::Kind::Counter { .. } => "counter",
            synth::Kind::CpuSeconds { .. } => "cpu seconds counter",
            synth::Kind::IntGauge => "integer gauge",
            synth::Kind::FloatGauge { decimals: true, .. } => "float gauge, 3 decimals",
            synth::Kind::FloatGauge { .. } => "float gauge, full precision",
            synth::Kind::Constant => "constant",
        };
        let e = by_kind.entry(kind).or_default();
        e.0 += m.samples;
        e.1 += m.payload_bytes;
    }
    let stats = head.stats();
    let rss = rss_after.saturating_sub(rss_before);
    let samples = total.samples as f64;
    println!(
        "series: {n}, scrapes: {scrapes} (15 s), jitter: ±{jitter_ms} ms, samples: {}",
        total.samples
    );
    println!(
        "append time: {:.2?} ({:.2} M samples/s, one thread)",
        elapsed,
        samples / elapsed.as_secs_f64() / 1e6
    );
    println!("chunks: {} (stats: {})", total.chunks, stats.chunks);
    println!(
        "bytes/sample, chunk payload:            {:.3}",
        total.payload_bytes as f64 / samples
    );
    println!(
        "bytes/sample, chunk heap incl. headers: {:.3}",
        total.heap_bytes as f64 / samples
    );
    for (kind, (s, b)) in &by_kind {
        println!("  {kind:<20} {:.3} bytes/sample", *b as f64 / *s as f64);
    }
    println!("head RSS growth: {:.1} MiB", rss as f64 / 1048576.0);
    println!(
        "per-series overhead (RSS growth minus chunk heap, / series): {:.0} bytes",
        (rss as f64 - total.heap_bytes as f64) / n as f64
    );
    println!(
        "  of which packed labels: {:.0} bytes",
        total.label_bytes as f64 / n as f64
    );
    println!(
        "  of which postings index (estimate): {:.0} bytes",
        head.index_heap_bytes() as f64 / n as f64
    );
}
