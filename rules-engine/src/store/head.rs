//! The in-memory head: every series, its chunks and the postings index,
//! behind the [`Appender`] and [`Querier`] seams.
//!
//! ```text
//!             fingerprint & mask                     id & mask
//! Labels ──► shards[i]: RwLock<Shard> ◄──────────── postings (id lists)
//!              by_fp:   fp     -> Arc<MemSeries>      (collisions aside)
//!              by_id:   id     -> Arc<MemSeries>      (queries)
//!              slots:   [slot] -> Arc<MemSeries>      (appends by SeriesRef)
//!                                     └ Mutex<SeriesData> (chunks)
//! ```
//!
//! A series id (the postings entry) and its [`SeriesRef`] handle both keep
//! the shard number in their low bits, so fingerprint, id and handle all lead
//! to the same shard. Locks are taken in one order, shard then index then
//! series data; appends to known series take only a shard read lock and the
//! series' own mutex.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::RwLock;

use super::index::PostingsIndex;
use super::select::select_postings;
use super::series::{Appended, MemSeries};
use super::shard::{SHARD_BITS, SHARDS, Shard};
use super::stats::{Counters, HeadStats, Tally};
use super::wal::WalWriter;
use super::{AppendError, Appender, BatchItem, Querier, SeriesRef, SeriesSamples};
use crate::model::{Labels, Matcher};

/// How the head keeps its data.
#[derive(Debug, Clone)]
pub struct HeadOptions {
    /// How far behind the newest appended sample data is kept. Whole chunks
    /// entirely older than that are dropped; `Duration::MAX` keeps all.
    pub retention: Duration,
    /// Truncation runs when the newest sample has moved this far past the
    /// last truncation point, so its cost (a pass over all series) is paid
    /// once in a while and not per append.
    pub truncate_every: Duration,
}

impl Default for HeadOptions {
    fn default() -> Self {
        HeadOptions {
            retention: Duration::from_secs(6 * 3600),
            truncate_every: Duration::from_secs(60),
        }
    }
}

impl HeadOptions {
    /// Keeps every sample (for tests and the PromQL conformance runner).
    pub fn unlimited() -> Self {
        HeadOptions {
            retention: Duration::MAX,
            ..Self::default()
        }
    }

    fn retention_ms(&self) -> Option<i64> {
        let ms = self.retention.as_millis();
        (ms < i64::MAX as u128).then_some(ms as i64)
    }
}

#[derive(Debug, Default)]
struct IndexState {
    postings: PostingsIndex,
    next_id: u64,
    /// The last log reference handed out (see [`Head::lookup_or_create`]).
    next_wal_ref: u64,
}

/// The in-memory time-series store. Share it as `Arc<Head>`.
#[derive(Debug)]
pub struct Head {
    opts: HeadOptions,
    pub(crate) shards: Box<[RwLock<Shard>]>,
    index: RwLock<IndexState>,
    pub(crate) counters: Counters,
    /// Samples older than this are rejected: they would be truncated.
    min_valid: AtomicI64,
    /// Newest timestamp appended, which drives retention.
    max_time: AtomicI64,
    /// The head's oldest time as Prometheus keeps it (`i64::MAX`: nothing
    /// yet): lowered by appends, raised to the cut by a truncation (a
    /// chunk that straddles the cut keeps a few older samples, which do
    /// not count). Enough to decide when to cut a block, without a pass
    /// over every series each time.
    min_time_bound: AtomicI64,
    truncating: AtomicBool,
    /// The write-ahead log every append goes through once attached (after
    /// replay, which must not log again what it reads).
    wal: OnceLock<Arc<WalWriter>>,
    /// Held for reading by each logged batch from its commit to the end of
    /// its application, so [`Head::quiesced`] can name a log position
    /// that everything before has reached the head (a running snapshot
    /// starts its replay there).
    commit_gate: RwLock<()>,
}

impl Default for Head {
    fn default() -> Self {
        Self::new(HeadOptions::default())
    }
}

impl Head {
    pub fn new(opts: HeadOptions) -> Self {
        Head {
            opts,
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            index: RwLock::default(),
            counters: Counters::default(),
            min_valid: AtomicI64::new(i64::MIN),
            max_time: AtomicI64::new(i64::MIN),
            min_time_bound: AtomicI64::new(i64::MAX),
            truncating: AtomicBool::new(false),
            wal: OnceLock::new(),
            commit_gate: RwLock::new(()),
        }
    }

    /// Logs every append from now on to `wal`. Attach once, after replay.
    pub fn attach_wal(&self, wal: Arc<WalWriter>) {
        let _ = self.wal.set(wal);
    }

    /// The attached write-ahead log, if any.
    pub fn wal(&self) -> Option<&Arc<WalWriter>> {
        self.wal.get()
    }

    /// Runs `f` while no logged batch is between its commit and the end
    /// of its application: a log position read inside is one that every
    /// batch before it has been applied up to.
    pub(crate) fn quiesced<T>(&self, f: impl FnOnce() -> T) -> T {
        let _gate = self.commit_gate.write();
        f()
    }

    /// Held by a logged batch from its commit to the end of its
    /// application (see [`Head::quiesced`]).
    pub(crate) fn commit_gate(&self) -> parking_lot::RwLockReadGuard<'_, ()> {
        self.commit_gate.read()
    }

    /// The oldest time the head still accepts (retention's cut).
    pub fn min_valid_time(&self) -> Option<i64> {
        Some(self.min_valid.load(Ordering::Relaxed)).filter(|&t| t != i64::MIN)
    }

    /// Makes every series id assigned from now on exceed `wal_ref`, so a
    /// new series never takes a reference the log already used.
    pub(crate) fn reserve_refs_through(&self, wal_ref: u64) {
        let mut ix = self.index.write();
        ix.next_wal_ref = ix.next_wal_ref.max(wal_ref);
    }

    pub fn options(&self) -> &HeadOptions {
        &self.opts
    }

    /// The self-metrics snapshot for `/metrics`.
    pub fn stats(&self) -> HeadStats {
        self.counters.snapshot()
    }

    /// Newest timestamp appended, if any.
    pub fn max_time(&self) -> Option<i64> {
        Some(self.max_time.load(Ordering::Relaxed)).filter(|&t| t != i64::MIN)
    }

    /// The series with exactly these labels, created when new. Not
    /// logged: appends go through [`Appender`]; this is for replay and
    /// tests.
    pub(crate) fn get_or_create(&self, labels: &Labels) -> Arc<MemSeries> {
        self.get_or_create_fp(labels.fingerprint(), labels)
    }

    /// [`Head::get_or_create`] with the fingerprint given, so tests can
    /// force collisions.
    pub(crate) fn get_or_create_fp(&self, fp: u64, labels: &Labels) -> Arc<MemSeries> {
        self.lookup_or_create(fp, labels, None).0
    }

    /// The series with these labels, and whether this call created it.
    /// A new series takes `wal_ref` as its log reference when given (a
    /// replayed series), else the next unused one: references are dense
    /// (1, 2, 3, …) as Prometheus's are, which replay relies on for speed.
    pub(crate) fn lookup_or_create(
        &self,
        fp: u64,
        labels: &Labels,
        wal_ref: Option<u64>,
    ) -> (Arc<MemSeries>, bool) {
        let shard = &self.shards[(fp as usize) & (SHARDS - 1)];
        if let Some(s) = shard.read().find(fp, labels) {
            return (s.clone(), false);
        }
        let mut shard_w = shard.write();
        if let Some(s) = shard_w.find(fp, labels) {
            return (s.clone(), false);
        }
        let handle = shard_w.alloc_handle(fp);
        let series = {
            let mut ix = self.index.write();
            ix.next_id += 1;
            let id = (ix.next_id << SHARD_BITS) | (fp & (SHARDS as u64 - 1));
            ix.postings.add(id, labels);
            let wal_ref = wal_ref.unwrap_or_else(|| {
                ix.next_wal_ref += 1;
                ix.next_wal_ref
            });
            Arc::new(MemSeries::new(id, handle, fp, wal_ref, labels))
        };
        shard_w.insert(series.clone());
        Counters::add(&self.counters.series, 1);
        Counters::add(&self.counters.series_created, 1);
        (series, true)
    }

    /// Puts a series with its chunks (from a snapshot) into the head. When
    /// the series already has samples, the snapshot's are dropped.
    pub(crate) fn install(
        &self,
        wal_ref: u64,
        labels: &Labels,
        restored: super::series::SeriesData,
    ) -> Arc<MemSeries> {
        let (series, _) = self.lookup_or_create(labels.fingerprint(), labels, Some(wal_ref));
        let max_t = {
            let mut data = series.data.lock();
            if !data.is_empty() {
                return series.clone();
            }
            Counters::add(&self.counters.chunks, restored.num_chunks() as u64);
            Counters::add(&self.counters.chunk_bytes, restored.chunk_bytes() as u64);
            *data = restored;
            self.note_min_time(data.min_time());
            data.max_time()
        };
        if let Some(t) = max_t {
            self.note_time(t);
        }
        series
    }

    /// Appends to a series obtained from [`Head::get_or_create`], without
    /// logging. Returns `Ok(false)` when retention has removed the series
    /// meanwhile: look it up again.
    pub(crate) fn append_to(
        &self,
        series: &MemSeries,
        t: i64,
        v: f64,
    ) -> Result<bool, AppendError> {
        let mut tally = Tally::default();
        let result = self.append_series(series, t, v, &mut tally);
        self.finish(&tally);
        result
    }

    /// Flushes a tally and applies retention for the newest time it saw.
    /// Never call with a shard lock held: truncation takes them for writing.
    pub(crate) fn finish(&self, tally: &Tally) {
        tally.flush(&self.counters);
        self.note_min_time(tally.min_t);
        if let Some(t) = tally.max_t {
            self.note_time(t);
        }
    }

    /// Flushes a tally's counts only: replay's appliers run side by side,
    /// and retention applied for one's newest time would cut samples
    /// another has yet to apply; replay applies it once, at its end.
    pub(crate) fn count(&self, tally: &Tally) {
        tally.flush(&self.counters);
        self.note_min_time(tally.min_t);
    }

    /// Lowers [`Head::min_time_bound`] to `t`; a plain load first, since
    /// nearly every batch is newer than the head's oldest sample.
    fn note_min_time(&self, t: Option<i64>) {
        if let Some(t) = t
            && t < self.min_time_bound.load(Ordering::Relaxed)
        {
            self.min_time_bound.fetch_min(t, Ordering::Relaxed);
        }
    }

    /// See the field: the oldest time appended, or the last cut when
    /// later (`None`: nothing was ever appended).
    pub fn min_time_bound(&self) -> Option<i64> {
        Some(self.min_time_bound.load(Ordering::Relaxed)).filter(|&t| t != i64::MAX)
    }

    /// Appends one sample, counting into `tally` (see [`Head::finish`]).
    pub(crate) fn append_series(
        &self,
        series: &MemSeries,
        t: i64,
        v: f64,
        tally: &mut Tally,
    ) -> Result<bool, AppendError> {
        if t < self.min_valid.load(Ordering::Relaxed) {
            tally.too_old += 1;
            return Err(AppendError::TooOld);
        }
        let mut data = series.data.lock();
        if data.removed {
            return Ok(false);
        }
        let result = data.append(t, v);
        drop(data);
        counted(result, t, tally)
    }

    /// Appends a series' samples in order under one lock (replay, which
    /// groups them), counting as [`Head::append_series`] does.
    pub(crate) fn append_series_run(
        &self,
        series: &MemSeries,
        samples: &[(i64, f64)],
        tally: &mut Tally,
    ) {
        let min_valid = self.min_valid.load(Ordering::Relaxed);
        let mut data = series.data.lock();
        if data.removed {
            return;
        }
        for &(t, v) in samples {
            if t < min_valid {
                tally.too_old += 1;
                continue;
            }
            // A rejection was counted when the sample was first appended;
            // after a running snapshot, the log also repeats samples the
            // snapshot already holds. Neither is counted again.
            let appended = data.append(t, v);
            if appended.is_ok() {
                let _ = counted(appended, t, tally);
            }
        }
    }

    /// Advances the newest time and truncates when it has moved far enough.
    fn note_time(&self, t: i64) {
        // A plain load first: all but the first sample of a scrape share its
        // timestamp, and a read-modify-write per sample stalls the pipeline.
        if t <= self.max_time.load(Ordering::Relaxed) {
            return;
        }
        let prev = self.max_time.fetch_max(t, Ordering::Relaxed);
        if t <= prev {
            return;
        }
        let Some(retention) = self.opts.retention_ms() else {
            return;
        };
        let mint = t.saturating_sub(retention);
        let every = self.opts.truncate_every.as_millis().min(i64::MAX as u128) as i64;
        let last = self.min_valid.load(Ordering::Relaxed);
        if last != i64::MIN && mint < last.saturating_add(every) {
            return;
        }
        if self
            .truncating
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            self.truncate(mint);
            self.truncating.store(false, Ordering::Release);
        }
    }

    /// Drops chunks entirely older than `mint`, then series left empty
    /// (from the index too), and rejects samples older than `mint` from now
    /// on. Returns the number of series removed.
    pub fn truncate(&self, mint: i64) -> usize {
        self.min_valid.fetch_max(mint, Ordering::Relaxed);
        // Nothing older than `mint` is accepted from now on. A max never
        // undoes an append's lowering that raced with it: those are at or
        // after `mint`.
        if self.min_time_bound.load(Ordering::Relaxed) != i64::MAX {
            self.min_time_bound.fetch_max(mint, Ordering::Relaxed);
        }
        Counters::add(&self.counters.truncations, 1);
        let mut removed: Vec<Arc<MemSeries>> = Vec::new();
        let (mut chunks, mut bytes) = (0, 0);
        for shard in self.shards.iter() {
            let mut shard = shard.write();
            let mut empty = Vec::new();
            for s in shard.by_id.values() {
                let mut data = s.data.lock();
                let (c, b) = data.truncate_before(mint);
                chunks += c;
                bytes += b;
                if data.is_empty() {
                    data.removed = true;
                    empty.push(s.clone());
                }
            }
            for s in &empty {
                shard.remove(s);
            }
            removed.extend(empty);
        }
        if !removed.is_empty() {
            let mut ix = self.index.write();
            ix.postings
                .remove(removed.iter().map(|s| (s.id, s.labels.iter())));
        }
        Counters::sub(&self.counters.chunks, chunks as u64);
        Counters::add(&self.counters.chunks_removed, chunks as u64);
        Counters::sub(&self.counters.chunk_bytes, bytes as u64);
        Counters::sub(&self.counters.series, removed.len() as u64);
        Counters::add(&self.counters.series_removed, removed.len() as u64);
        let count = removed.len();
        if count > 0 {
            // An append batch may still hold pointers to these series
            // (`batch.rs`): free them once every batch pinned now is done.
            let guard = crossbeam_epoch::pin();
            guard.defer(move || drop(removed));
            guard.flush();
        }
        count
    }

    /// Whether a series with exactly these labels is in the head.
    pub fn contains(&self, labels: &Labels) -> bool {
        let fp = labels.fingerprint();
        self.shards[(fp as usize) & (SHARDS - 1)]
            .read()
            .find(fp, labels)
            .is_some()
    }

    /// The live series behind a handle from [`Appender::append_ref`].
    pub fn series_by_ref(&self, sref: SeriesRef) -> Option<Arc<MemSeries>> {
        let shard = self.shards[(sref.0 as usize) & (SHARDS - 1)].read();
        shard.by_handle(sref.0).cloned()
    }

    /// The series matching `matchers`, in reference order.
    pub(crate) fn matching_series(&self, matchers: &[Matcher]) -> Vec<Arc<MemSeries>> {
        let refs = select_postings(&self.index.read().postings, matchers);
        let mut out = Vec::with_capacity(refs.len());
        let mut i = 0;
        // Refs are sorted but interleave shards; take each shard's read lock
        // once per run of refs in that shard.
        while i < refs.len() {
            let shard_no = (refs[i] as usize) & (SHARDS - 1);
            let shard = self.shards[shard_no].read();
            while i < refs.len() && (refs[i] as usize) & (SHARDS - 1) == shard_no {
                if let Some(s) = shard.by_id.get(&refs[i]) {
                    out.push(s.clone());
                }
                i += 1;
            }
        }
        out
    }

    fn matching_in_window(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Vec<Arc<MemSeries>> {
        let mut v = self.matching_series(matchers);
        v.retain(|s| s.data.lock().has_samples_in(mint, maxt));
        v
    }

    /// The oldest sample time in the head (a pass over every series).
    pub fn min_time(&self) -> Option<i64> {
        let mut min: Option<i64> = None;
        self.for_each_series(|s| {
            if let Some(t) = s.data.lock().min_time() {
                min = Some(min.map_or(t, |m| m.min(t)));
            }
        });
        min
    }

    /// Every series (to write them out as a block).
    pub(crate) fn all_series(&self) -> Vec<Arc<MemSeries>> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            out.extend(shard.read().by_id.values().cloned());
        }
        out
    }

    /// Visits every series (for memory accounting and diagnostics).
    pub fn for_each_series(&self, mut f: impl FnMut(&MemSeries)) {
        for shard in self.shards.iter() {
            for s in shard.read().by_id.values() {
                f(s);
            }
        }
    }

    /// Approximate heap bytes of the postings index.
    pub fn index_heap_bytes(&self) -> usize {
        self.index.read().postings.heap_bytes()
    }
}

impl Appender for Head {
    fn append(&self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        self.append_ref(SeriesRef::NONE, labels, t, v).map(|_| ())
    }

    fn append_batch(&self, items: &mut [BatchItem<'_>]) {
        self.append_batch_impl(items);
    }

    fn append_ref(
        &self,
        sref: SeriesRef,
        labels: &Labels,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef, AppendError> {
        if self.wal.get().is_some() {
            // Logged appends take the batch path: log, then apply.
            let mut items = [BatchItem::new(sref, labels, t, v)];
            self.append_batch_impl(&mut items);
            let [item] = items;
            return item.result.map(|()| item.sref);
        }
        if sref != SeriesRef::NONE {
            // The shard's read lock is held across the append so the lookup
            // needs no reference count traffic on the series.
            let mut tally = Tally::default();
            let shard = self.shards[(sref.0 as usize) & (SHARDS - 1)].read();
            let result = match shard.by_handle(sref.0) {
                Some(series) => self.append_series(series, t, v, &mut tally),
                None => Ok(false),
            };
            drop(shard);
            self.finish(&tally);
            if result? {
                return Ok(sref);
            }
        }
        loop {
            let series = self.get_or_create(labels);
            if self.append_to(&series, t, v)? {
                return Ok(series.series_ref());
            }
        }
    }
}

impl Querier for Head {
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<SeriesSamples> {
        let mut out: Vec<SeriesSamples> = Vec::new();
        for s in self.matching_series(matchers) {
            let mut samples = Vec::new();
            s.data.lock().samples_in(mint, maxt, &mut samples);
            if !samples.is_empty() {
                out.push(SeriesSamples {
                    labels: s.labels.to_labels(),
                    samples,
                });
            }
        }
        out
    }

    fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        let mut out: Vec<Labels> = self
            .matching_in_window(matchers, mint, maxt)
            .iter()
            .map(|s| s.labels.to_labels())
            .collect();
        out.sort_unstable();
        out
    }

    fn label_names(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for s in self.matching_in_window(matchers, mint, maxt) {
            for (name, _) in s.labels.iter() {
                if !seen.contains(name) {
                    seen.insert(name.to_string());
                    names.push(name.to_string());
                }
            }
        }
        names.sort_unstable();
        names
    }

    fn label_values(&self, name: &str, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<String> {
        let mut values: Vec<String> = self
            .matching_in_window(matchers, mint, maxt)
            .iter()
            .filter_map(|s| s.labels.get(name).map(str::to_string))
            .collect();
        values.sort_unstable();
        values.dedup();
        values
    }
}

/// Counts an append's outcome into `tally`; `Ok(true)` when the sample is
/// stored (or was already).
fn counted(
    result: Result<Appended, AppendError>,
    t: i64,
    tally: &mut Tally,
) -> Result<bool, AppendError> {
    match result {
        Ok(Appended::Stored {
            new_chunk,
            bytes_added,
        }) => {
            tally.appended += 1;
            tally.chunk_bytes += bytes_added as u64;
            tally.new_chunks += u64::from(new_chunk);
            tally.max_t = Some(tally.max_t.map_or(t, |m| m.max(t)));
            tally.min_t = Some(tally.min_t.map_or(t, |m| m.min(t)));
            Ok(true)
        }
        Ok(Appended::Duplicate) => Ok(true),
        Err(e) => {
            match e {
                AppendError::OutOfOrder => tally.out_of_order += 1,
                AppendError::DuplicateTimestamp => tally.duplicate_timestamp += 1,
                AppendError::TooOld => tally.too_old += 1,
            }
            Err(e)
        }
    }
}
