//! Appends records to the newest segment: frames them into pages, writes
//! each commit with one `pwrite`, rotates segments at their size, and
//! syncs them to disk as the [`SyncPolicy`] says.
//!
//! A commit is written to the file (the page cache) before it returns, so
//! a process crash loses nothing that was committed; only a power loss
//! can, and only what the sync policy leaves unsynced. A write that fails
//! (disk full) is cut back off the file, so what is on disk stays a valid
//! log; its samples stay in memory only, and its series are written again
//! with the next commit so later samples still replay.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::dir::{segment_path, sync_dir};
use super::page::{PageFramer, SNAPPY};
use super::record::{SamplesRecord, put_series, start_series};
use super::stats::WalCounters;

/// 128 MiB, as Prometheus.
pub const DEFAULT_SEGMENT_SIZE: usize = 128 * 1024 * 1024;

/// When the log is flushed from the page cache to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// `fdatasync` at most this often, on a background thread, never on
    /// the append path. A power loss loses at most this much.
    Interval(Duration),
    /// `fdatasync` before every commit returns.
    Always,
    /// Only when a segment is closed and at shutdown; the kernel decides
    /// the rest.
    Never,
}

/// How the log writes.
#[derive(Debug, Clone)]
pub struct WalOptions {
    pub segment_size: usize,
    pub sync: SyncPolicy,
    /// Snappy-compress records (as Prometheus does by default).
    pub compress: bool,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_size: DEFAULT_SEGMENT_SIZE,
            sync: SyncPolicy::Interval(Duration::from_secs(1)),
            compress: true,
        }
    }
}

/// What one append batch logs: the series it created and its samples.
/// Reused across batches to keep its buffers.
#[derive(Debug)]
pub struct LogBatch {
    series: Vec<u8>,
    samples: SamplesRecord,
    /// The batch's time range (`i64::MAX`, `i64::MIN` while empty): plain
    /// integers, as this is updated per sample.
    min_t: i64,
    max_t: i64,
    packed: Vec<u8>,
}

impl Default for LogBatch {
    fn default() -> Self {
        LogBatch {
            series: Vec::new(),
            samples: SamplesRecord::default(),
            min_t: i64::MAX,
            max_t: i64::MIN,
            packed: Vec::new(),
        }
    }
}

impl LogBatch {
    pub fn clear(&mut self) {
        self.series.clear();
        self.samples.clear();
        self.min_t = i64::MAX;
        self.max_t = i64::MIN;
    }

    fn time_range(&self) -> Option<(i64, i64)> {
        (self.min_t <= self.max_t).then_some((self.min_t, self.max_t))
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty() && self.samples.is_empty()
    }

    pub fn series<'a>(
        &mut self,
        wal_ref: u64,
        n: usize,
        labels: impl Iterator<Item = (&'a str, &'a str)>,
    ) {
        if self.series.is_empty() {
            start_series(&mut self.series);
        }
        put_series(&mut self.series, wal_ref, n, labels);
    }

    #[inline]
    pub fn sample(&mut self, wal_ref: u64, t: i64, v: f64) {
        self.samples.push(wal_ref, t, v);
        self.max_t = self.max_t.max(t);
        self.min_t = self.min_t.min(t);
    }
}

/// A closed segment and the newest sample time it holds, so truncation
/// knows which segments only hold data the head has dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentSpan {
    pub index: u32,
    pub max_t: Option<i64>,
}

struct State {
    file: Option<File>,
    /// A second handle on `file` for the syncer, so it syncs unlocked.
    sync_handle: Option<Arc<File>>,
    index: u32,
    file_len: u64,
    framer: PageFramer,
    buf: Vec<u8>,
    /// Series entries whose record failed to write, written first by the
    /// next commit.
    pending_series: Vec<u8>,
    cur_max_t: Option<i64>,
    cur_min_t: Option<i64>,
    closed: Vec<SegmentSpan>,
    /// Closed segments still to be synced.
    to_sync: Vec<Arc<File>>,
    dirty: bool,
    failing: bool,
    /// Tests: the next writes fail half way, as a full disk makes them.
    #[cfg(test)]
    fail_writes: bool,
}

/// The log's writer. Commits from several threads are serialised by one
/// lock held for the framing and the write.
pub struct WalWriter {
    dir: PathBuf,
    opts: WalOptions,
    state: Mutex<State>,
    counters: Arc<WalCounters>,
    stop_syncer: Mutex<Option<(Sender<()>, std::thread::JoinHandle<()>)>>,
}

impl std::fmt::Debug for WalWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalWriter").field("dir", &self.dir).finish()
    }
}

impl WalWriter {
    /// Starts writing at segment `index` (a new file) in `dir`; `closed`
    /// lists the segments already there.
    pub fn open(
        dir: &Path,
        index: u32,
        closed: Vec<SegmentSpan>,
        opts: WalOptions,
        counters: Arc<WalCounters>,
    ) -> std::io::Result<Arc<WalWriter>> {
        let file = create_segment(dir, index)?;
        counters
            .segment_current
            .store(u64::from(index), std::sync::atomic::Ordering::Relaxed);
        let w = Arc::new(WalWriter {
            dir: dir.to_path_buf(),
            state: Mutex::new(State {
                sync_handle: Some(Arc::new(file.try_clone()?)),
                file: Some(file),
                index,
                file_len: 0,
                framer: PageFramer::new(opts.segment_size),
                buf: Vec::new(),
                pending_series: Vec::new(),
                cur_max_t: None,
                cur_min_t: None,
                closed,
                to_sync: Vec::new(),
                dirty: false,
                failing: false,
                #[cfg(test)]
                fail_writes: false,
            }),
            opts,
            counters,
            stop_syncer: Mutex::new(None),
        });
        if let SyncPolicy::Interval(every) = w.opts.sync {
            let (tx, rx) = channel::<()>();
            let weak = Arc::downgrade(&w);
            let handle = std::thread::Builder::new()
                .name("wal-sync".into())
                .spawn(move || {
                    while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(every) {
                        match weak.upgrade() {
                            Some(w) => w.sync_now(),
                            None => return,
                        }
                    }
                })?;
            *w.stop_syncer.lock() = Some((tx, handle));
        }
        Ok(w)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes the batch's records (series first) and clears it. Never
    /// fails: a failed write is counted and logged, and the samples stay
    /// in memory only.
    pub fn commit(&self, batch: &mut LogBatch) {
        if batch.is_empty() {
            return;
        }
        let compress = self.opts.compress;
        let range = batch.time_range();
        let samples = compressed(batch.samples.bytes(), compress, &mut batch.packed);
        let mut st = self.state.lock();
        // Series whose record failed to write go out again first, in the
        // same record as this batch's.
        let series_rec = if st.pending_series.is_empty() {
            std::mem::take(&mut batch.series)
        } else {
            let mut rec = std::mem::take(&mut st.pending_series);
            rec.extend_from_slice(batch.series.get(1..).unwrap_or_default());
            rec
        };
        let mut series_packed = Vec::new();
        let series = compressed(&series_rec, compress, &mut series_packed);
        let records: Vec<(&[u8], u8)> = series.into_iter().chain(samples).collect();
        let result = st.write_records(&records, &self.dir, self.opts.segment_size);
        match result {
            Ok(bytes) => {
                if let Some((min_t, max_t)) = range {
                    st.cur_max_t = Some(st.cur_max_t.map_or(max_t, |m| m.max(max_t)));
                    st.cur_min_t = Some(st.cur_min_t.map_or(min_t, |m| m.min(min_t)));
                }
                WalCounters::add(&self.counters.records_written, records.len() as u64);
                WalCounters::add(&self.counters.bytes_written, bytes);
                self.counters
                    .segment_current
                    .store(u64::from(st.index), std::sync::atomic::Ordering::Relaxed);
                if st.failing {
                    st.failing = false;
                    tracing::info!(dir = %self.dir.display(), "write-ahead log writes resumed");
                }
                match self.opts.sync {
                    SyncPolicy::Always => {
                        let handle = st.sync_handle.clone();
                        if let Some(f) = handle {
                            self.timed_sync(&f);
                        }
                    }
                    SyncPolicy::Interval(_) => st.dirty = true,
                    SyncPolicy::Never => {}
                }
            }
            Err(e) => {
                st.pending_series = series_rec;
                WalCounters::add(&self.counters.write_failures, 1);
                if !st.failing {
                    st.failing = true;
                    tracing::warn!(
                        dir = %self.dir.display(),
                        error = %e,
                        "write-ahead log write failed: new samples are kept in memory only until writes succeed again"
                    );
                }
            }
        }
        drop(st);
        batch.clear();
    }

    /// Syncs what was written since the last sync (and closed segments).
    pub fn sync_now(&self) {
        let (files, current) = {
            let mut st = self.state.lock();
            let files = std::mem::take(&mut st.to_sync);
            let current = std::mem::take(&mut st.dirty)
                .then(|| st.sync_handle.clone())
                .flatten();
            (files, current)
        };
        for f in files.iter().chain(current.iter()) {
            self.timed_sync(f);
        }
    }

    fn timed_sync(&self, f: &File) {
        let start = Instant::now();
        if let Err(e) = f.sync_data() {
            tracing::warn!(dir = %self.dir.display(), error = %e, "write-ahead log fsync failed");
            return;
        }
        WalCounters::add(&self.counters.fsyncs, 1);
        WalCounters::add(
            &self.counters.fsync_nanos,
            start.elapsed().as_nanos() as u64,
        );
    }

    /// The segment being written and where in it the next record goes.
    pub fn position(&self) -> (u32, u64) {
        let st = self.state.lock();
        (st.index, st.file_len)
    }

    /// The oldest sample time in the current segment.
    pub fn current_min_time(&self) -> Option<i64> {
        self.state.lock().cur_min_t
    }

    /// Closes the current segment and starts the next one, returning the
    /// closed one's index (for a checkpoint up to it).
    pub fn cut_segment(&self) -> std::io::Result<u32> {
        let mut st = self.state.lock();
        let closed = st.index;
        st.buf.clear();
        let mut framer = st.framer;
        framer.pad_page(&mut st.buf);
        st.flush_buf()?;
        st.framer = framer;
        st.next_segment(&self.dir, self.opts.segment_size)?;
        Ok(closed)
    }

    /// The closed segments, oldest first.
    pub fn closed_segments(&self) -> Vec<SegmentSpan> {
        self.state.lock().closed.clone()
    }

    /// Forgets closed segments up to `index` (a checkpoint replaced them).
    pub fn forget_up_to(&self, index: u32) {
        self.state.lock().closed.retain(|s| s.index > index);
    }

    /// Stops the syncer and syncs everything (for a clean shutdown).
    pub fn close(&self) {
        if let Some((tx, handle)) = self.stop_syncer.lock().take() {
            drop(tx);
            let _ = handle.join();
        }
        let mut st = self.state.lock();
        st.dirty = true;
        drop(st);
        self.sync_now();
        let _ = sync_dir(&self.dir);
    }
}

#[cfg(test)]
impl WalWriter {
    pub(crate) fn fail_writes(&self, fail: bool) {
        self.state.lock().fail_writes = fail;
    }
}

impl Drop for WalWriter {
    fn drop(&mut self) {
        if let Some((tx, _)) = self.stop_syncer.get_mut().take() {
            drop(tx);
        }
    }
}

impl State {
    /// Frames and writes `records`, rotating as needed; on error the file
    /// is cut back to its last good length.
    fn write_records(
        &mut self,
        records: &[(&[u8], u8)],
        dir: &Path,
        segment_size: usize,
    ) -> std::io::Result<u64> {
        if self.file.is_none() {
            self.next_segment(dir, segment_size)?;
        }
        self.buf.clear();
        let mut saved = self.framer;
        let mut written = 0;
        let result = (|| {
            for &(rec, flags) in records {
                if !self.framer.fits(rec.len()) && !self.framer.is_empty() {
                    self.framer.pad_page(&mut self.buf);
                    written += self.flush_buf()?;
                    self.next_segment(dir, segment_size)?;
                    saved = self.framer;
                }
                self.framer.frame(rec, flags, &mut self.buf);
            }
            written += self.flush_buf()?;
            Ok(written)
        })();
        if result.is_err() {
            self.framer = saved;
        }
        result
    }

    /// Writes `buf` at the end of the segment; on error nothing counts as
    /// written and the partial bytes are cut off.
    fn flush_buf(&mut self) -> std::io::Result<u64> {
        let Some(file) = &self.file else {
            return Err(std::io::Error::other("no open segment"));
        };
        #[cfg(test)]
        if self.fail_writes {
            // Half the bytes land, then the disk is full.
            let _ = file.write_all_at(&self.buf[..self.buf.len() / 2], self.file_len);
            self.buf.clear();
            let _ = file.set_len(self.file_len);
            return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
        }
        if let Err(e) = file.write_all_at(&self.buf, self.file_len) {
            let _ = file.set_len(self.file_len);
            self.buf.clear();
            return Err(e);
        }
        let n = self.buf.len() as u64;
        self.file_len += n;
        self.buf.clear();
        Ok(n)
    }

    /// Closes the current segment (queued for sync) and opens the next.
    fn next_segment(&mut self, dir: &Path, segment_size: usize) -> std::io::Result<()> {
        let next = if self.file.is_some() {
            self.index + 1
        } else {
            self.index
        };
        let file = create_segment(dir, next)?;
        if self.file.take().is_some() {
            self.closed.push(SegmentSpan {
                index: self.index,
                max_t: self.cur_max_t.take(),
            });
            self.cur_min_t = None;
            if let Some(h) = self.sync_handle.take() {
                self.to_sync.push(h);
            }
        }
        self.sync_handle = Some(Arc::new(file.try_clone()?));
        self.file = Some(file);
        self.index = next;
        self.file_len = 0;
        self.framer = PageFramer::new(segment_size);
        Ok(())
    }
}

/// Creates segment `index`. Segments are never reused: an existing file
/// is taken only when empty (a creation that failed half way).
fn create_segment(dir: &Path, index: u32) -> std::io::Result<File> {
    let path = segment_path(dir, index);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    if file.metadata()?.len() != 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("segment {} exists and is not empty", path.display()),
        ));
    }
    let _ = sync_dir(dir);
    Ok(file)
}

/// `rec` snappy-compressed into `scratch` when that is smaller, with the
/// flag to frame it with.
fn compressed<'a>(
    rec: &'a [u8],
    compress: bool,
    scratch: &'a mut Vec<u8>,
) -> Option<(&'a [u8], u8)> {
    if rec.is_empty() {
        return None;
    }
    if compress {
        scratch.resize(snap::raw::max_compress_len(rec.len()), 0);
        if let Ok(n) = snap::raw::Encoder::new().compress(rec, scratch)
            && n < rec.len()
        {
            return Some((&scratch[..n], SNAPPY));
        }
    }
    Some((rec, 0))
}
