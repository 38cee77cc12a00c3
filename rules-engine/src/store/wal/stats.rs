//! The log's self-metrics (`vigil_tsdb_wal_*`), plain atomics read into a
//! [`WalStats`] snapshot by `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of the log's counters and gauges.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WalStats {
    /// Records written (`vigil_tsdb_wal_records_written_total`).
    pub records_written: u64,
    /// Bytes written to segments, framing included.
    pub bytes_written: u64,
    /// Writes that failed (disk full, I/O error): their samples stayed in
    /// memory only.
    pub write_failures: u64,
    /// Damaged records or files met at replay or checkpoint.
    pub corruptions: u64,
    pub fsyncs: u64,
    pub fsync_seconds: f64,
    /// The segment being written.
    pub segment_current: u64,
    /// Checkpoints written and segments folded into them.
    pub checkpoints: u64,
    pub checkpoint_failures: u64,
    pub truncated_segments: u64,
    /// The last replay: its duration, what it read, and samples whose
    /// series it never saw (a lost segment).
    pub replay_seconds: f64,
    pub replayed_segments: u64,
    pub replayed_series: u64,
    pub replayed_samples: u64,
    pub replay_unknown_refs: u64,
    /// Whether the last start loaded a head snapshot.
    pub snapshot_loaded: bool,
    /// Head snapshots written (running and at shutdown), failed, and the
    /// last one's size and duration.
    pub snapshots: u64,
    pub snapshot_failures: u64,
    pub snapshot_bytes: u64,
    pub snapshot_seconds: f64,
}

/// The live counters behind [`WalStats`].
#[derive(Debug, Default)]
pub struct WalCounters {
    pub records_written: AtomicU64,
    pub bytes_written: AtomicU64,
    pub write_failures: AtomicU64,
    pub corruptions: AtomicU64,
    pub fsyncs: AtomicU64,
    pub fsync_nanos: AtomicU64,
    pub segment_current: AtomicU64,
    pub checkpoints: AtomicU64,
    pub checkpoint_failures: AtomicU64,
    pub truncated_segments: AtomicU64,
    pub replay_nanos: AtomicU64,
    pub replayed_segments: AtomicU64,
    pub replayed_series: AtomicU64,
    pub replayed_samples: AtomicU64,
    pub replay_unknown_refs: AtomicU64,
    pub snapshot_loaded: AtomicU64,
    pub snapshots: AtomicU64,
    pub snapshot_failures: AtomicU64,
    pub snapshot_bytes: AtomicU64,
    pub snapshot_nanos: AtomicU64,
}

impl WalCounters {
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Relaxed);
    }

    pub fn snapshot(&self) -> WalStats {
        let get = |c: &AtomicU64| c.load(Relaxed);
        WalStats {
            records_written: get(&self.records_written),
            bytes_written: get(&self.bytes_written),
            write_failures: get(&self.write_failures),
            corruptions: get(&self.corruptions),
            fsyncs: get(&self.fsyncs),
            fsync_seconds: get(&self.fsync_nanos) as f64 / 1e9,
            segment_current: get(&self.segment_current),
            checkpoints: get(&self.checkpoints),
            checkpoint_failures: get(&self.checkpoint_failures),
            truncated_segments: get(&self.truncated_segments),
            replay_seconds: get(&self.replay_nanos) as f64 / 1e9,
            replayed_segments: get(&self.replayed_segments),
            replayed_series: get(&self.replayed_series),
            replayed_samples: get(&self.replayed_samples),
            replay_unknown_refs: get(&self.replay_unknown_refs),
            snapshot_loaded: get(&self.snapshot_loaded) != 0,
            snapshots: get(&self.snapshots),
            snapshot_failures: get(&self.snapshot_failures),
            snapshot_bytes: get(&self.snapshot_bytes),
            snapshot_seconds: get(&self.snapshot_nanos) as f64 / 1e9,
        }
    }
}
