//! Appending a whole scrape at once.
//!
//! Appending sample by sample costs several atomic read-modify-writes each
//! (shard lock, series lock, counters, newest time), and on x86 each one
//! waits for the memory accesses before it: with 100k series out of cache,
//! that serialises the misses. A batch takes every shard's read lock once
//! per block of samples, counts into a local tally flushed once, and leaves
//! only the series' own lock per sample.

use super::shard::{SHARDS, Shard};
use super::stats::Tally;
use super::{AppendError, BatchItem, Head, SeriesRef};

/// Samples per block: long enough to amortise taking 16 shard locks, short
/// enough that a writer (series creation, truncation) waits at most a block.
const BLOCK: usize = 4096;

impl Head {
    /// See [`super::Appender::append_batch`].
    pub(crate) fn append_batch_impl(&self, items: &mut [BatchItem<'_>]) {
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
            let series = self.get_or_create(&labels);
            if self.append_series(&series, it.t, it.v, tally)? {
                it.sref = series.series_ref();
                return Ok(());
            }
        }
    }
}
