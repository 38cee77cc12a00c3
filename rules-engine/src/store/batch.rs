//! Appending a whole scrape at once.
//!
//! ```text
//! resolve   slot arrays only, shard read locks per block: item -> (series, log ref)
//! log       new series created and named; one series + one samples record
//! apply     through the resolved pointers, prefetching a few items ahead
//! ```
//!
//! Appending sample by sample costs several atomic read-modify-writes each
//! (shard lock, series lock, counters, newest time), and on x86 each one
//! waits for the memory accesses before it: with 100k series out of cache,
//! that serialises the misses. So a batch first resolves every item from
//! the shards' slot arrays (plain loads the CPU overlaps, under each
//! shard's read lock taken once per block), and only then takes each
//! series' own lock, with the next series' memory already on its way.
//!
//! The pointers outlive the shard locks: a series that retention removes
//! meanwhile is marked removed (its append falls back to a fresh lookup)
//! and freed only once every batch pinned before the removal is done
//! (`crossbeam-epoch`, see [`Head::truncate`]).

use std::cell::RefCell;

use super::prefetch::prefetch;
use super::shard::{SHARDS, Shard};
use super::stats::Tally;
use super::wal::{LogBatch, WalWriter};
use super::{AppendError, BatchItem, Head, MemSeries, SeriesRef};

/// An item's series as resolved before the append: null when the item
/// names no current series yet (new, or its handle went stale).
#[derive(Clone, Copy)]
struct Resolved {
    series: *const MemSeries,
    /// The series' log reference (0 while unresolved; references start
    /// at 1).
    wal_ref: u64,
}

impl Resolved {
    const NONE: Resolved = Resolved {
        series: std::ptr::null(),
        wal_ref: 0,
    };
}

thread_local! {
    /// Each appending thread's log buffers, kept between batches.
    static LOG_BATCH: RefCell<LogBatch> = RefCell::new(LogBatch::default());
    /// Each appending thread's resolved items, kept between batches.
    static RESOLVED: RefCell<Vec<Resolved>> = const { RefCell::new(Vec::new()) };
}

/// Samples per block: long enough to amortise taking 16 shard locks, short
/// enough that a writer (series creation, truncation) waits at most a block.
const BLOCK: usize = 4096;

/// How many items ahead the apply loop asks for a series' memory: about
/// the misses a core keeps in flight, while the series lock of the item at
/// hand is taken.
const PREFETCH_AHEAD: usize = 8;

impl Head {
    /// See [`super::Appender::append_batch`].
    pub(crate) fn append_batch_impl(&self, items: &mut [BatchItem<'_>]) {
        // Every pointer resolved below stays valid until this guard drops.
        let _pinned = crossbeam_epoch::pin();
        RESOLVED.with_borrow_mut(|resolved| {
            resolved.clear();
            self.resolve(items, resolved);
            let _gate = self.wal().map(|wal| {
                let gate = self.commit_gate();
                self.log_batch(wal, items, resolved);
                gate
            });
            self.apply(items, resolved);
        });
    }

    /// Reads each item's series and log reference from the slot arrays.
    fn resolve(&self, items: &[BatchItem<'_>], out: &mut Vec<Resolved>) {
        for block in items.chunks(BLOCK) {
            let guards: Vec<_> = self.shards.iter().map(|s| s.read()).collect();
            out.extend(block.iter().map(|it| match it.sref {
                SeriesRef::NONE => Resolved::NONE,
                sref => {
                    let shard: &Shard = &guards[(sref.0 as usize) & (SHARDS - 1)];
                    shard
                        .resolve(sref.0)
                        .map_or(Resolved::NONE, |(series, wal_ref)| Resolved {
                            series,
                            wal_ref,
                        })
                }
            }));
        }
    }

    /// Appends every item through its resolved series, block by block;
    /// items without one (new series, stale handles, series removed since
    /// they were resolved) go the slow way after their block, in order.
    fn apply(&self, items: &mut [BatchItem<'_>], resolved: &[Resolved]) {
        for (block, res) in items.chunks_mut(BLOCK).zip(resolved.chunks(BLOCK)) {
            let mut tally = Tally::default();
            let mut slow: Vec<usize> = Vec::new();
            for (i, it) in block.iter_mut().enumerate() {
                if let Some(ahead) = res.get(i + PREFETCH_AHEAD)
                    && !ahead.series.is_null()
                {
                    // SAFETY: resolved under the epoch guard the caller
                    // holds, so the series is not freed; this only
                    // computes a field's address.
                    prefetch(unsafe { &raw const (*ahead.series).data });
                }
                // SAFETY: as above; null reads as `None`.
                let series = unsafe { res[i].series.as_ref() };
                match series.map(|s| self.append_series(s, it.t, it.v, &mut tally)) {
                    Some(Ok(true)) => it.result = Ok(()),
                    Some(Err(e)) => it.result = Err(e),
                    Some(Ok(false)) | None => slow.push(i),
                }
            }
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

    /// Logs a batch before it is applied: resolves the items still
    /// without a series (creating new ones, which are empty and so
    /// invisible to queries until their first sample), then commits one
    /// series record for the series created and one samples record for
    /// all items, in order.
    fn log_batch(&self, wal: &WalWriter, items: &mut [BatchItem<'_>], resolved: &mut [Resolved]) {
        LOG_BATCH.with_borrow_mut(|batch| {
            for (it, res) in items.iter_mut().zip(resolved.iter_mut()) {
                if res.series.is_null() {
                    let labels = it.labels.get();
                    let (series, created) =
                        self.lookup_or_create(labels.fingerprint(), &labels, None);
                    if created {
                        batch.series(series.wal_ref, series.labels.len(), series.labels.iter());
                    }
                    it.sref = series.series_ref();
                    // The shard keeps the series; if retention removes it
                    // before the append, the epoch guard keeps its memory.
                    *res = Resolved {
                        series: std::sync::Arc::as_ptr(&series),
                        wal_ref: series.wal_ref,
                    };
                }
            }
            for (it, res) in items.iter().zip(resolved.iter()) {
                batch.sample(res.wal_ref, it.t, it.v);
            }
            wal.commit(batch);
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
