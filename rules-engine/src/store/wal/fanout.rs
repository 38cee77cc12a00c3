//! Replay's appliers: while the caller's thread reads and decodes the log,
//! one thread per core applies its samples to the head, each owning the
//! series whose log reference falls in its shard (as Prometheus does).
//!
//! Why: applying is most of replay's time, and most of that is waiting on
//! memory (each sample touches its series, and the head holds far more
//! series than the caches do). Threads wait in parallel, so restart time
//! after a crash falls with the cores. A series and its samples always go
//! to the same thread through one ordered channel, so each series still
//! sees its samples in log order.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

use super::record::SampleEntry;
use super::refs::RefTable;
use crate::store::prefetch::prefetch_all;
use crate::store::stats::Tally;
use crate::store::{Head, MemSeries};

/// Items handed over at once: large enough that the channel costs nothing
/// per sample, small enough to keep appliers busy from the first record.
const BATCH: usize = 8192;
/// Batches that may wait per applier before the reader blocks.
const QUEUED: usize = 4;
/// Consecutive references that go to the same applier: series created
/// together sit side by side in memory, and two threads writing to
/// neighbours would fight over their cache lines.
const RUN: u64 = 64;
/// How many items ahead an applier asks for its series' memory.
const PREFETCH_DISTANCE: usize = 8;
/// Appends counted before they are flushed to the head's counters.
const FLUSH_EVERY: u64 = 1 << 16;

/// What an applier is handed, with the reference as a key dense within
/// its applier (see [`Fanout::route`]).
enum Item {
    Series(u64, Arc<MemSeries>),
    Sample(u64, i64, f64),
}

struct Shard<'scope> {
    pending: Vec<Item>,
    tx: SyncSender<Vec<Item>>,
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
                let worker = std::thread::Builder::new()
                    .name(format!("wal-replay-{i}"))
                    .spawn_scoped(scope, move || apply(head, rx))
                    .expect("spawning a replay thread");
                Shard {
                    pending: Vec::with_capacity(BATCH),
                    tx,
                    worker,
                }
            })
            .collect();
        Fanout { shards }
    }

    /// `wal_ref` names `series` from now on.
    pub(super) fn series(&mut self, wal_ref: u64, series: Arc<MemSeries>) {
        let (shard, key) = self.route(wal_ref);
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
        if shard.pending.len() >= BATCH {
            let batch = std::mem::replace(&mut shard.pending, Vec::with_capacity(BATCH));
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

/// One applier: its shard's series, and their samples in log order.
fn apply(head: &Head, batches: Receiver<Vec<Item>>) -> Applied {
    let mut refs = RefTable::default();
    let mut tally = Tally::default();
    let mut applied = Applied::default();
    for batch in batches {
        for (i, item) in batch.iter().enumerate() {
            // Two steps ahead of the sample being applied: the series
            // (its lock and open chunk), then the byte its append writes.
            if let Some(Item::Sample(key, ..)) = batch.get(i + 2 * PREFETCH_DISTANCE)
                && let Some(s) = refs.get(*key)
            {
                prefetch_all(&s.data);
            }
            if let Some(Item::Sample(key, ..)) = batch.get(i + PREFETCH_DISTANCE)
                && let Some(s) = refs.get(*key)
            {
                s.prefetch_append();
            }
            match *item {
                Item::Series(key, ref series) => refs.insert(key, series.clone()),
                // Rejections (out of order, too old) are what the live
                // append decided too.
                Item::Sample(key, t, v) => match refs.get(key) {
                    Some(s) => {
                        let _ = head.append_series(s, t, v, &mut tally);
                    }
                    None => applied.unknown_refs += 1,
                },
            }
        }
        if tally.appended >= FLUSH_EVERY {
            applied.max_t = applied.max_t.max(tally.max_t);
            head.count(&std::mem::take(&mut tally));
        }
    }
    applied.max_t = applied.max_t.max(tally.max_t);
    head.count(&tally);
    applied
}
