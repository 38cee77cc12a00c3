//! The head's self-metrics, declared in one place. Counters are plain atomics
//! (no registry dependency here); the `/metrics` endpoint reads a consistent
//! enough [`HeadStats`] snapshot through [`crate::store::Head::stats`].

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of the head's counters and gauges, for `vigil_tsdb_*` metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeadStats {
    /// Samples stored since start (`vigil_tsdb_head_samples_appended_total`).
    pub samples_appended: u64,
    /// Samples rejected for being older than the series' newest sample.
    pub out_of_order: u64,
    /// Samples rejected for a different value at the newest timestamp.
    pub duplicate_timestamp: u64,
    /// Samples rejected for being older than the retention window.
    pub too_old: u64,
    /// Series in the head now (`vigil_tsdb_head_series`).
    pub series: u64,
    /// Series created since start.
    pub series_created: u64,
    /// Series removed by retention since start.
    pub series_removed: u64,
    /// Chunks in the head now, including each series' open chunk.
    pub chunks: u64,
    /// Chunks created since start.
    pub chunks_created: u64,
    /// Chunks dropped by retention since start.
    pub chunks_removed: u64,
    /// Bytes held by chunk payloads (encoded samples only).
    pub chunk_bytes: u64,
    /// Times retention truncation ran.
    pub truncations: u64,
}

/// The live counters behind [`HeadStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub samples_appended: AtomicU64,
    pub out_of_order: AtomicU64,
    pub duplicate_timestamp: AtomicU64,
    pub too_old: AtomicU64,
    pub series: AtomicU64,
    pub series_created: AtomicU64,
    pub series_removed: AtomicU64,
    pub chunks: AtomicU64,
    pub chunks_created: AtomicU64,
    pub chunks_removed: AtomicU64,
    pub chunk_bytes: AtomicU64,
    pub truncations: AtomicU64,
}

impl Counters {
    pub fn snapshot(&self) -> HeadStats {
        HeadStats {
            samples_appended: self.samples_appended.load(Relaxed),
            out_of_order: self.out_of_order.load(Relaxed),
            duplicate_timestamp: self.duplicate_timestamp.load(Relaxed),
            too_old: self.too_old.load(Relaxed),
            series: self.series.load(Relaxed),
            series_created: self.series_created.load(Relaxed),
            series_removed: self.series_removed.load(Relaxed),
            chunks: self.chunks.load(Relaxed),
            chunks_created: self.chunks_created.load(Relaxed),
            chunks_removed: self.chunks_removed.load(Relaxed),
            chunk_bytes: self.chunk_bytes.load(Relaxed),
            truncations: self.truncations.load(Relaxed),
        }
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        if n != 0 {
            counter.fetch_add(n, Relaxed);
        }
    }

    pub fn sub(counter: &AtomicU64, n: u64) {
        if n != 0 {
            counter.fetch_sub(n, Relaxed);
        }
    }
}

/// Counts of one append or one batch, flushed to [`Counters`] at once so a
/// batch costs a handful of atomic operations instead of several per sample.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub appended: u64,
    pub chunk_bytes: u64,
    pub new_chunks: u64,
    pub out_of_order: u64,
    pub duplicate_timestamp: u64,
    pub too_old: u64,
    /// Newest timestamp stored, which drives retention.
    pub max_t: Option<i64>,
    /// Oldest timestamp stored, for the head's minimum.
    pub min_t: Option<i64>,
}

impl Tally {
    pub fn flush(&self, c: &Counters) {
        Counters::add(&c.samples_appended, self.appended);
        Counters::add(&c.chunk_bytes, self.chunk_bytes);
        Counters::add(&c.chunks, self.new_chunks);
        Counters::add(&c.chunks_created, self.new_chunks);
        Counters::add(&c.out_of_order, self.out_of_order);
        Counters::add(&c.duplicate_timestamp, self.duplicate_timestamp);
        Counters::add(&c.too_old, self.too_old);
    }
}
