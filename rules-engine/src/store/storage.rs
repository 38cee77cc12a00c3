//! The head, its write-ahead log and the blocks on disk as one store: what
//! vigil runs with when `storage.path` is set.
//!
//! ```text
//! appends ─► Head (recent hours, logged to wal/)
//!              │ every minute: the oldest block range (2 h) once the
//!              │ head spans 1.5 of them, written as a block, then
//!              ▼ dropped from the head (and so from the log)
//!            blocks <ULID>/ ─► compacted 2 h → 6 h → … ─► deleted by retention
//! queries ─► MergeQuerier(head, blocks newest first)
//! ```
//!
//! Block writing, compaction and retention run on the maintenance thread,
//! never on the append or query path; the list of open blocks is swapped
//! whole, so a query keeps the blocks it started with.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use super::block::compact::{block_ranges, compact, plan};
use super::block::retention::{BlockSummary, Retention, delete_block, expired};
use super::block::scan::open_dir;
use super::block::{Block, BlockError, BlockWriter, MergeQuerier};
use super::wal::{ReplayReport, Wal, WalError, WalOptions};
use super::{Head, MemSeries, Querier, SeriesSamples};
use crate::model::{Labels, Matcher, Sample};

/// How blocks are cut and kept.
#[derive(Debug, Clone, Copy)]
pub struct BlockOptions {
    /// The smallest block (Prometheus's `min-block-duration`, 2 h).
    pub block_range_ms: i64,
    /// Delete blocks older than this behind the newest sample.
    pub retention_ms: Option<i64>,
    /// Delete the oldest blocks while everything on disk exceeds this.
    pub retention_bytes: Option<u64>,
}

/// The store of a data directory.
pub struct Storage {
    data_dir: PathBuf,
    head: Arc<Head>,
    wal: Arc<Wal>,
    opts: BlockOptions,
    blocks: RwLock<Arc<Vec<Arc<Block>>>>,
    /// Where the blocks end: the head is cut from here on (it keeps whole
    /// chunks, so some of its samples are older).
    blocks_end: std::sync::atomic::AtomicI64,
    corrupt: AtomicU64,
    /// Blocks cut from the head, compactions and deletions since start.
    pub(crate) counters: StorageCounters,
}

/// Figures for `/metrics`.
#[derive(Debug, Default)]
pub struct StorageCounters {
    pub head_blocks: AtomicU64,
    pub compactions: AtomicU64,
    pub compaction_failures: AtomicU64,
    pub retention_deletions: AtomicU64,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("dir", &self.data_dir)
            .finish()
    }
}

impl Storage {
    /// Locks `data_dir`, opens its blocks (reporting damaged ones, which
    /// are left where they are), replays the log into `head`, and drops
    /// from the head what the blocks already hold.
    pub fn open(
        data_dir: &Path,
        head: &Arc<Head>,
        wal_opts: WalOptions,
        opts: BlockOptions,
    ) -> Result<(Storage, ReplayReport), WalError> {
        let (wal, report) = Wal::open(data_dir, head, wal_opts)?;
        let scan = open_dir(data_dir, false).map_err(|e| WalError::Io {
            dir: data_dir.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
        for c in &scan.corrupt {
            tracing::warn!(block = %c.dir.display(), error = %c.error, "damaged block left out of queries (not deleted)");
        }
        let blocks: Vec<Arc<Block>> = scan.blocks.into_iter().map(Arc::new).collect();
        let blocks_end = blocks.iter().map(|b| b.meta().max_time).max();
        if let Some(end) = blocks_end {
            // A block's maxTime is exclusive: the head keeps from there on.
            head.truncate(end);
        }
        tracing::info!(
            blocks = blocks.len(),
            corrupt = scan.corrupt.len(),
            "blocks opened"
        );
        Ok((
            Storage {
                data_dir: data_dir.to_path_buf(),
                head: head.clone(),
                wal: Arc::new(wal),
                opts,
                blocks: RwLock::new(Arc::new(blocks)),
                blocks_end: std::sync::atomic::AtomicI64::new(blocks_end.unwrap_or(i64::MIN)),
                corrupt: AtomicU64::new(scan.corrupt.len() as u64),
                counters: StorageCounters::default(),
            },
            report,
        ))
    }

    pub fn wal(&self) -> &Arc<Wal> {
        &self.wal
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The open blocks, oldest first.
    pub fn blocks(&self) -> Arc<Vec<Arc<Block>>> {
        self.blocks.read().clone()
    }

    /// Blocks that could not be opened or failed a checksum in a query.
    pub fn corrupt_blocks(&self) -> u64 {
        self.corrupt.load(Ordering::Relaxed)
            + self
                .blocks()
                .iter()
                .filter(|b| b.failure().is_some())
                .count() as u64
    }

    /// Bytes of blocks on disk.
    pub fn blocks_bytes(&self) -> u64 {
        self.blocks().iter().map(|b| b.size()).sum()
    }

    fn querier(&self) -> MergeQuerier {
        let mut parts: Vec<Arc<dyn Querier>> = vec![self.head.clone()];
        parts.extend(
            self.blocks()
                .iter()
                .rev()
                .map(|b| b.clone() as Arc<dyn Querier>),
        );
        MergeQuerier::new(parts)
    }

    /// Cuts blocks from the head, compacts, applies retention, then lets
    /// the log checkpoint what the head dropped. Errors are logged and
    /// counted; the next run tries again.
    pub fn maintain(&self) {
        self.set_aside_failed_blocks();
        while let Some(result) = self.cut_head_block() {
            if let Err(e) = result {
                tracing::warn!(error = %e, "writing a block from the head failed; the head keeps the data");
                break;
            }
        }
        if let Err(e) = self.compact_blocks() {
            self.counters
                .compaction_failures
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "block compaction failed; the source blocks are kept");
        }
        self.apply_retention();
        let _ = self.wal.maintain();
    }

    /// Writes the head's oldest block range as a block once the head spans
    /// one and a half ranges (as Prometheus), then drops it from the head.
    fn cut_head_block(&self) -> Option<Result<(), BlockError>> {
        let range = self.opts.block_range_ms;
        let max_t = self.head.max_time()?;
        let min_t = self
            .head
            .min_time_bound()?
            .max(self.blocks_end.load(Ordering::Relaxed));
        if max_t - min_t <= range / 2 * 3 {
            return None;
        }
        let start = min_t.div_euclid(range) * range;
        let end = start + range;
        Some(self.write_head_range(start.max(min_t), end).map(|_| {
            self.blocks_end.fetch_max(end, Ordering::Relaxed);
            self.head.truncate(end);
            self.counters.head_blocks.fetch_add(1, Ordering::Relaxed);
        }))
    }

    /// Writes the head's samples in `[start, end)` as a block and opens it.
    fn write_head_range(&self, start: i64, end: i64) -> Result<(), BlockError> {
        if let Some(meta) = write_head_block(&self.head, &self.data_dir, start, end)? {
            let block = Block::open(&self.data_dir.join(meta.ulid.to_string()))?;
            tracing::info!(ulid = %meta.ulid, start, end, series = meta.stats.num_series, samples = meta.stats.num_samples, "block written from the head");
            self.swap(|list| list.push(Arc::new(block)));
        }
        Ok(())
    }

    /// Blocks whose chunks failed a checksum in a query leave the list
    /// (and so compaction and retention) but stay on disk for inspection.
    fn set_aside_failed_blocks(&self) {
        let failed: Vec<Arc<Block>> = self
            .blocks()
            .iter()
            .filter(|b| b.failure().is_some())
            .cloned()
            .collect();
        if failed.is_empty() {
            return;
        }
        for b in &failed {
            tracing::warn!(block = %b.dir().display(), error = b.failure().unwrap_or_default(), "damaged block left out of queries (not deleted)");
        }
        self.corrupt
            .fetch_add(failed.len() as u64, Ordering::Relaxed);
        self.swap(|list| list.retain(|b| b.failure().is_none()));
    }

    fn compact_blocks(&self) -> Result<(), BlockError> {
        let ranges = block_ranges(self.opts.block_range_ms, self.opts.retention_ms);
        loop {
            let blocks = self.blocks();
            let metas: Vec<_> = blocks.iter().map(|b| b.meta().clone()).collect();
            let chosen = plan(&metas, &ranges);
            if chosen.is_empty() {
                return Ok(());
            }
            let sources: Vec<&Block> = blocks
                .iter()
                .filter(|b| chosen.contains(&b.meta().ulid))
                .map(|b| b.as_ref())
                .collect();
            let merged = compact(&self.data_dir, &sources)?;
            let opened = match merged {
                Some(meta) => Some(Arc::new(Block::open(
                    &self.data_dir.join(meta.ulid.to_string()),
                )?)),
                None => None,
            };
            self.swap(|list| {
                list.retain(|b| !chosen.contains(&b.meta().ulid));
                list.extend(opened);
            });
            self.counters.compactions.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn apply_retention(&self) {
        let blocks = self.blocks();
        let summaries: Vec<BlockSummary> = blocks
            .iter()
            .map(|b| BlockSummary {
                ulid: b.meta().ulid,
                min_time: b.meta().min_time,
                max_time: b.meta().max_time,
                size: b.size(),
            })
            .collect();
        let newest = self
            .head
            .max_time()
            .or_else(|| summaries.iter().map(|b| b.max_time).max());
        let Some(newest) = newest else { return };
        let policy = Retention {
            max_age_ms: self.opts.retention_ms,
            max_bytes: self.opts.retention_bytes,
        };
        let gone = expired(&summaries, policy, newest, self.wal.disk_bytes());
        if gone.is_empty() {
            return;
        }
        // Out of the list first, so no new query opens them.
        self.swap(|list| list.retain(|b| !gone.contains(&b.meta().ulid)));
        for ulid in gone {
            match delete_block(&self.data_dir, ulid) {
                Ok(()) => {
                    self.counters
                        .retention_deletions
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::info!(%ulid, "block deleted by retention");
                }
                Err(e) => tracing::warn!(%ulid, error = %e, "deleting a block failed"),
            }
        }
    }

    fn swap(&self, change: impl FnOnce(&mut Vec<Arc<Block>>)) {
        let mut guard = self.blocks.write();
        let mut list: Vec<Arc<Block>> = guard.as_ref().clone();
        change(&mut list);
        list.sort_by_key(|b| b.meta().min_time);
        *guard = Arc::new(list);
    }

    /// A backup in `snapshots/<name>/` (Prometheus's admin snapshot): hard
    /// links of every block, plus the head written as one more block.
    /// Returns the name.
    pub fn snapshot(&self, name: &str) -> Result<PathBuf, BlockError> {
        let dir = self.data_dir.join("snapshots").join(name);
        std::fs::create_dir_all(&dir).map_err(|e| BlockError::invalid(&dir, e.to_string()))?;
        for b in self.blocks().iter() {
            let dest = dir.join(b.meta().ulid.to_string());
            link_tree(b.dir(), &dest).map_err(|e| BlockError::invalid(&dest, e.to_string()))?;
        }
        let (Some(min_t), Some(max_t)) = (self.head.min_time(), self.head.max_time()) else {
            return Ok(dir);
        };
        let start = min_t.max(self.blocks_end.load(Ordering::Relaxed));
        if start <= max_t {
            write_head_block(&self.head, &dir, start, max_t + 1)?;
        }
        Ok(dir)
    }

    /// Writes the head snapshot and syncs the log (appends have stopped).
    pub fn shutdown(&self) {
        self.wal.shutdown();
    }
}

/// Writes the head's samples in `[start, end)` as a block under `parent`,
/// series in label order as the block format wants; `None` when there
/// were none.
fn write_head_block(
    head: &Head,
    parent: &Path,
    start: i64,
    end: i64,
) -> Result<Option<super::block::BlockMeta>, BlockError> {
    let mut series: Vec<(Labels, Arc<MemSeries>)> = head
        .all_series()
        .into_iter()
        .map(|s| (s.labels.to_labels(), s))
        .collect();
    series.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut writer = BlockWriter::create(parent, start, end)?;
    let mut samples: Vec<Sample> = Vec::new();
    for (labels, s) in &series {
        samples.clear();
        s.data.lock().samples_in(start, end - 1, &mut samples);
        writer.add_series(labels, &samples)?;
    }
    writer.commit()
}

/// Hard-links every file under `from` into the same tree at `to` (blocks
/// are immutable, so a link is a copy that costs nothing).
fn link_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            link_tree(&e.path(), &dest)?;
        } else {
            std::fs::hard_link(e.path(), dest)?;
        }
    }
    Ok(())
}

impl Querier for Storage {
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<SeriesSamples> {
        self.querier().select(matchers, mint, maxt)
    }

    fn select_each(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        each: &mut dyn FnMut(SeriesSamples) -> ControlFlow<()>,
    ) {
        let blocks = self.blocks();
        let newest_first: Vec<&Block> = blocks.iter().rev().map(|b| b.as_ref()).collect();
        super::block::stream::select_each(
            self.head.as_ref(),
            &newest_first,
            matchers,
            mint,
            maxt,
            each,
        );
    }

    fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        self.querier().series(matchers, mint, maxt)
    }

    fn label_names(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<String> {
        self.querier().label_names(matchers, mint, maxt)
    }

    fn label_values(&self, name: &str, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<String> {
        self.querier().label_values(name, matchers, mint, maxt)
    }
}

/// What queries read: the data directory's store once it is open, the
/// head alone before that or without `storage.path`.
#[derive(Debug, Clone)]
pub struct ReadView {
    pub head: Arc<Head>,
    pub storage: Arc<std::sync::OnceLock<Arc<Storage>>>,
}

impl ReadView {
    fn with<T>(&self, f: impl FnOnce(&dyn Querier) -> T) -> T {
        match self.storage.get() {
            Some(s) => f(s.as_ref()),
            None => f(self.head.as_ref()),
        }
    }
}

impl Querier for ReadView {
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<SeriesSamples> {
        self.with(|q| q.select(matchers, mint, maxt))
    }

    fn select_each(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        each: &mut dyn FnMut(SeriesSamples) -> ControlFlow<()>,
    ) {
        self.with(|q| q.select_each(matchers, mint, maxt, each))
    }

    fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        self.with(|q| q.series(matchers, mint, maxt))
    }

    fn label_names(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<String> {
        self.with(|q| q.label_names(matchers, mint, maxt))
    }

    fn label_values(&self, name: &str, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<String> {
        self.with(|q| q.label_values(name, matchers, mint, maxt))
    }
}

/// Runs [`Storage::maintain`] every `every` on a thread of its own until
/// the returned guard is dropped.
pub fn start_maintenance(storage: &Arc<Storage>, every: std::time::Duration) -> MaintenanceGuard {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let weak = Arc::downgrade(storage);
    let handle = std::thread::Builder::new()
        .name("storage-maintain".into())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(every) {
                let Some(storage) = weak.upgrade() else {
                    return;
                };
                storage.maintain();
            }
        })
        .ok();
    MaintenanceGuard {
        stop: Some(tx),
        handle,
    }
}

/// Stops the maintenance thread when dropped (after its current run).
pub struct MaintenanceGuard {
    stop: Option<std::sync::mpsc::Sender<()>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Drop for MaintenanceGuard {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
