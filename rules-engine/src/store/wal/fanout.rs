//! Replay's appliers: while the caller's thread reads and decodes the log,
//! one thread per core applies its samples to the head, each owning the
//! series whose log reference falls in its shard (as Prometheus does).
//!
//! Why: applying is most of replay's time, and most of that is waiting on
//! memory (each sample touches its series, and the head holds far more
//! series than the caches do). Threads wait in parallel, so restart time
//! after a crash falls with the cores. A series and its samples always go
//! to the same thread through one ordered channel, so each series still
//! sees its samples in log order. Batches are large (several samples of
//! each series) so that an applier can group them by series.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

use super::applier;
use super::record::SampleEntry;
use crate::store::{Head, MemSeries};

/// Items handed over at once, at least: enough that the channel costs
/// nothing per sample.
const MIN_BATCH: usize = 8192;
/// Samples per series a batch aims at, so that an applier grouping a
/// batch by series (see `applier.rs`) visits each series once for that many.
const SAMPLES_PER_SERIES: usize = 4;
/// Items handed over at once, at most (8 MiB), whatever the series count:
/// replay's buffers must stay small next to the head they fill.
const MAX_BATCH: usize = 1 << 18;
/// Batches that may wait per applier before the reader blocks.
const QUEUED: usize = 1;
/// Consecutive references that go to the same applier: series created
/// together sit side by side in memory, and two threads writing to
/// neighbours would fight over their cache lines.
const RUN: u64 = 64;

/// What an applier is handed, with the reference as a key dense within
/// its applier (see [`Fanout::route`]).
pub(super) enum Item {
    Series(u64, Arc<MemSeries>),
    Sample(u64, i64, f64),
}

struct Shard<'scope> {
    pending: Vec<Item>,
    /// Series named to this applier so far (sizes its batches).
    series: usize,
    tx: SyncSender<Vec<Item>>,
    /// Emptied batches coming back, so the reader reuses their memory
    /// instead of faulting in fresh pages for every batch.
    spent: Receiver<Vec<Item>>,
    worker: ScopedJoinHandle<'scope, Applied>,
}

/// What the appliers report when done.
#[derive(Default)]
pub(super) struct Applied {
    /// Samples whose reference no series record named.
    pub unknown_refs: u64,
    /// The newest time applied, for retention.
    pub max_t: Option<i64>,
}

/// Spreads series and samples over the appliers.
pub(super) struct Fanout<'scope> {
    shards: Vec<Shard<'scope>>,
}

impl<'scope> Fanout<'scope> {
    /// Starts one applier per available core (at least one).
    pub(super) fn start<'env>(scope: &'scope Scope<'scope, 'env>, head: &'env Head) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        let shards = (0..threads)
            .map(|i| {
                let (tx, rx) = sync_channel(QUEUED);
                let (spent_tx, spent) = sync_channel(QUEUED + 1);
                let worker = std::thread::Builder::new()
                    .name(format!("wal-replay-{i}"))
                    .spawn_scoped(scope, move || applier::run(head, rx, spent_tx))
                    .expect("spawning a replay thread");
                Shard {
                    pending: Vec::with_capacity(MIN_BATCH),
                    series: 0,
                    tx,
                    spent,
                    worker,
                }
            })
            .collect();
        Fanout { shards }
    }

    /// `wal_ref` names `series` from now on.
    pub(super) fn series(&mut self, wal_ref: u64, series: Arc<MemSeries>) {
        let (shard, key) = self.route(wal_ref);
        self.shards[shard].series += 1;
        self.push(shard, Item::Series(key, series));
    }

    #[inline]
    pub(super) fn sample(&mut self, e: SampleEntry) {
        let (shard, key) = self.route(e.wal_ref);
        self.push(shard, Item::Sample(key, e.t, e.v));
    }

    /// The applier of `wal_ref` (runs of [`RUN`] references take turns),
    /// and its key there: its rank among that applier's references.
    #[inline]
    fn route(&self, wal_ref: u64) -> (usize, u64) {
        let n = self.shards.len() as u64;
        let run = wal_ref / RUN;
        ((run % n) as usize, (run / n) * RUN + wal_ref % RUN)
    }

    #[inline]
    fn push(&mut self, shard: usize, item: Item) {
        let shard = &mut self.shards[shard];
        shard.pending.push(item);
        let size = (shard.series * SAMPLES_PER_SERIES).clamp(MIN_BATCH, MAX_BATCH);
        if shard.pending.len() >= size {
            let next = match shard.spent.try_recv() {
                Ok(mut spent) => {
                    spent.reserve(size);
                    spent
                }
                Err(_) => Vec::with_capacity(size),
            };
            let batch = std::mem::replace(&mut shard.pending, next);
            // A closed channel means its applier panicked; `finish` says so.
            let _ = shard.tx.send(batch);
        }
    }

    /// Applies what is left and waits for every applier.
    pub(super) fn finish(self) -> Applied {
        let mut total = Applied::default();
        for shard in self.shards {
            let Shard {
                pending,
                tx,
                worker,
                ..
            } = shard;
            let _ = tx.send(pending);
            drop(tx);
            match worker.join() {
                Ok(a) => {
                    total.unknown_refs += a.unknown_refs;
                    total.max_t = total.max_t.max(a.max_t);
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        total
    }
}
