//! Appending a whole scrape at once.
//!
//! Appending sample by sample costs several atomic read-modify-writes each
//! (shard lock, series lock, counters, newest time), and on x86 each one
//! waits for the memory accesses before it: with 100k series out of cache,
//! that serialises the misses. A batch takes every shard's read lock once
//! per block of samples, counts into a local tally flushed once, and leaves
//! only the series' own lock per sample.

use std::cell::RefCell;

use super::shard::{SHARDS, Shard};
use super::stats::Tally;
use super::wal::{LogBatch, WalWriter};
use super::{AppendError, BatchItem, Head, MemSeries, SeriesRef};

thread_local! {
    /// Each appending thread's log buffers, kept between batches.
    static LOG_BATCH: RefCell<LogBatch> = RefCell::new(LogBatch::default());
}

/// Samples per block: long enough to amortise taking 16 shard locks, short
/// enough that a writer (series creation, truncation) waits at most a block.
const BLOCK: usize = 4096;

impl Head {
    /// See [`super::Appender::append_batch`].
    pub(crate) fn append_batch_impl(&self, items: &mut [BatchItem<'_>]) {
        let _gate = self.wal().map(|wal| {
            let gate = self.commit_gate();
            self.log_batch(wal, items);
            gate
        });
        for block in items.chunks_mut(BLOCK) {
            let mut tally = Tally::default();
            let mut slow: Vec<usize> = Vec::new();
            {
                let guards: Vec<_> = self.shards.iter().map(|s| s.read()).collect();
                for (i, it) in block.iter_mut().enumerate() {
                    let shard: &Shard = &guards[(it.sref.0 as usize) & (SHARDS - 1)];
                    let series = match it.sref {
                        SeriesRef::NONE => None,
                        sref => shard.by_handle(sref.0),
                    };
                    match series.map(|s| self.append_series(s, it.t, it.v, &mut tally)) {
                        Some(Ok(true)) => it.result = Ok(()),
                        Some(Err(e)) => it.result = Err(e),
                        Some(Ok(false)) | None => slow.push(i),
                    }
                }
            }
            // New series and stale handles, with no shard lock held, in order.
            for i in slow {
                let it = &mut block[i];
                it.result = self.append_new(it, &mut tally);
            }
            self.finish(&tally);
        }
    }

    fn append_new(&self, it: &mut BatchItem<'_>, tally: &mut Tally) -> Result<(), AppendError> {
        let labels = it.labels.get();
        loop {
            let (series, created) = self.lookup_or_create(labels.fingerprint(), &labels, None);
            if created && let Some(wal) = self.wal() {
                // Retention removed the series between logging and now:
                // name the new one in the log too.
                log_series_now(wal, &series);
            }
            if self.append_series(&series, it.t, it.v, tally)? {
                it.sref = series.series_ref();
                return Ok(());
            }
        }
    }

    /// Logs a batch before it is applied: resolves every item's series
    /// (creating new ones, which are empty and so invisible to queries
    /// until their first sample), then commits one series record for the
    /// series created and one samples record for all items, in order.
    fn log_batch(&self, wal: &WalWriter, items: &mut [BatchItem<'_>]) {
        LOG_BATCH.with_borrow_mut(|batch| {
            let mut refs = std::mem::take(&mut batch.refs);
            refs.clear();
            for block in items.chunks(BLOCK) {
                let guards: Vec<_> = self.shards.iter().map(|s| s.read()).collect();
                refs.extend(block.iter().map(|it| {
                    match it.sref {
                        SeriesRef::NONE => 0,
                        sref => guards[(sref.0 as usize) & (SHARDS - 1)]
                            .wal_ref_of(sref.0)
                            .unwrap_or(0),
                    }
                }));
            }
            // References start at 1: 0 is a series still to resolve.
            for (it, wal_ref) in items.iter_mut().zip(refs.iter_mut()) {
                if *wal_ref == 0 {
                    let labels = it.labels.get();
                    let (series, created) =
                        self.lookup_or_create(labels.fingerprint(), &labels, None);
                    if created {
                        batch.series(series.wal_ref, series.labels.len(), series.labels.iter());
                    }
                    it.sref = series.series_ref();
                    *wal_ref = series.wal_ref;
                }
            }
            for (it, &wal_ref) in items.iter().zip(&refs) {
                batch.sample(wal_ref, it.t, it.v);
            }
            wal.commit(batch);
            batch.refs = refs;
        });
    }
}

/// Logs one series record on its own (the rare path).
fn log_series_now(wal: &WalWriter, series: &MemSeries) {
    LOG_BATCH.with_borrow_mut(|batch| {
        batch.series(series.wal_ref, series.labels.len(), series.labels.iter());
        wal.commit(batch);
    });
}
