//! One replay applier: the samples of its shard's series, applied batch by
//! batch, grouped by series.
//!
//! Why grouped: a batch holds several scrapes' worth of samples of each of
//! the applier's series. Applied in log order, every sample visits its
//! series' memory (the lock, the open chunk), which is out of cache each
//! time since the head holds far more series than the caches do; grouped,
//! a series is visited once per batch and its samples are appended while
//! its memory is hot. A counting sort by key (keys are dense) groups them
//! and keeps each series' samples in log order.

use std::sync::mpsc::{Receiver, SyncSender};

use super::fanout::{Applied, Item};
use super::refs::RefTable;
use crate::store::Head;
use crate::store::prefetch::prefetch_all;
use crate::store::stats::Tally;

/// How many keys ahead the series' memory is asked for.
const PREFETCH_DISTANCE: usize = 8;
/// Appends counted before they are flushed to the head's counters.
const FLUSH_EVERY: u64 = 1 << 16;

/// Applies every batch `batches` delivers, handing each back emptied
/// through `spent`; returns when the channel closes.
pub(super) fn run(
    head: &Head,
    batches: Receiver<Vec<Item>>,
    spent: SyncSender<Vec<Item>>,
) -> Applied {
    let mut applier = Applier {
        head,
        refs: RefTable::default(),
        tally: Tally::default(),
        applied: Applied::default(),
        samples: Vec::new(),
        ends: Vec::new(),
        sorted: Vec::new(),
    };
    for mut batch in batches {
        applier.apply(&mut batch);
        // The reader may not want it back (it is done): then it is dropped.
        let _ = spent.try_send(batch);
    }
    applier.flush();
    applier.applied
}

struct Applier<'h> {
    head: &'h Head,
    refs: RefTable,
    tally: Tally,
    applied: Applied,
    /// The batch's samples as (key, t, v), in log order.
    samples: Vec<(u64, i64, f64)>,
    /// Per key: where its samples end in `sorted`.
    ends: Vec<u32>,
    /// The batch's samples grouped by key.
    sorted: Vec<(i64, f64)>,
}

impl Applier<'_> {
    fn apply(&mut self, batch: &mut Vec<Item>) {
        self.samples.clear();
        let mut max_key = 0;
        for item in batch.drain(..) {
            match item {
                Item::Series(key, series) => self.refs.insert(key, series),
                Item::Sample(key, t, v) => {
                    max_key = max_key.max(key);
                    self.samples.push((key, t, v));
                }
            }
        }
        // Keys far beyond the batch's size (a log numbered sparsely) would
        // make the counting table huge: those batches go one by one.
        if max_key > (self.samples.len() as u64).saturating_mul(4) + (1 << 20) {
            for i in 0..self.samples.len() {
                let (key, t, v) = self.samples[i];
                self.append_run(key, &[(t, v)]);
            }
        } else {
            self.apply_grouped(max_key as usize);
        }
        if self.tally.appended >= FLUSH_EVERY {
            self.flush();
        }
    }

    fn apply_grouped(&mut self, max_key: usize) {
        let ends = &mut self.ends;
        ends.clear();
        ends.resize(max_key + 1, 0);
        for &(key, ..) in &self.samples {
            ends[key as usize] += 1;
        }
        // Counts to starts, then (after placing) starts to ends.
        let mut total = 0;
        for slot in ends.iter_mut() {
            let count = *slot;
            *slot = total;
            total += count;
        }
        self.sorted.clear();
        self.sorted.resize(self.samples.len(), (0, 0.0));
        for &(key, t, v) in &self.samples {
            let at = &mut ends[key as usize];
            self.sorted[*at as usize] = (t, v);
            *at += 1;
        }
        let sorted = std::mem::take(&mut self.sorted);
        let ends = std::mem::take(&mut self.ends);
        let mut start = 0;
        for (key, &end) in ends.iter().enumerate() {
            let end = end as usize;
            if let Some(s) = self.refs.get((key + 2 * PREFETCH_DISTANCE) as u64) {
                prefetch_all(&s.data);
            }
            if let Some(s) = self.refs.get((key + PREFETCH_DISTANCE) as u64) {
                s.prefetch_append();
            }
            if end > start {
                self.append_run(key as u64, &sorted[start..end]);
            }
            start = end;
        }
        self.sorted = sorted;
        self.ends = ends;
    }

    fn append_run(&mut self, key: u64, samples: &[(i64, f64)]) {
        match self.refs.get(key) {
            // Rejections (out of order, too old) are what the live append
            // decided too.
            Some(s) => self.head.append_series_run(s, samples, &mut self.tally),
            None => self.applied.unknown_refs += samples.len() as u64,
        }
    }

    /// Counts into the head; retention waits for the end of replay (see
    /// [`Head::count`]).
    fn flush(&mut self) {
        self.applied.max_t = self.applied.max_t.max(self.tally.max_t);
        self.head.count(&std::mem::take(&mut self.tally));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::sync_channel;

    use super::*;
    use crate::model::{Labels, Matcher};
    use crate::store::{HeadOptions, Querier};

    fn samples_of(head: &Head, name: &str) -> Vec<(i64, f64)> {
        let got = head.select(&[Matcher::equal("__name__", name)], i64::MIN, i64::MAX);
        got.into_iter()
            .flat_map(|s| s.samples.into_iter().map(|p| (p.t, p.v)))
            .collect()
    }

    /// Interleaved series come out each in log order, for dense keys
    /// (grouped) and for keys too far apart to count (one by one); a key
    /// no series names is counted, not applied.
    #[test]
    fn each_series_gets_its_samples_in_log_order() {
        for far in [false, true] {
            let head = Head::new(HeadOptions::default());
            let (a, b) = (
                Labels::from_pairs([("__name__", "a")]),
                Labels::from_pairs([("__name__", "b")]),
            );
            let key_b = if far { u64::MAX / 2 } else { 3 };
            let mut batch = vec![
                Item::Series(1, head.get_or_create(&a)),
                Item::Series(key_b, head.get_or_create(&b)),
            ];
            for i in 0..5 {
                batch.push(Item::Sample(1, i * 1000, i as f64));
                batch.push(Item::Sample(key_b, i * 1000, -(i as f64)));
                batch.push(Item::Sample(2, i * 1000, 0.0));
            }
            let (tx, rx) = sync_channel(1);
            tx.send(batch).unwrap();
            drop(tx);
            let (spent, _) = sync_channel(1);
            let applied = run(&head, rx, spent);
            assert_eq!(applied.unknown_refs, 5, "far: {far}");
            assert_eq!(applied.max_t, Some(4000));
            let want = |sign: f64| {
                (0..5)
                    .map(|i| (i * 1000, sign * i as f64))
                    .collect::<Vec<_>>()
            };
            assert_eq!(samples_of(&head, "a"), want(1.0), "far: {far}");
            assert_eq!(samples_of(&head, "b"), want(-1.0), "far: {far}");
        }
    }
}
