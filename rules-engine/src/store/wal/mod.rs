//! The write-ahead log: every append is logged before it is applied, so
//! a restart (a crash, a kill, an upgrade) loses nothing the head held.
//!
//! ```text
//! <storage.path>/
//!   lock                              one process per directory (pid inside)
//!   wal/00000000 00000001 ...         segments (Prometheus's WAL format)
//!   wal/checkpoint.00000041/          what older segments still held
//!   wal/corrupt-<time>/               damaged data moved aside at replay
//!   vigil-snapshot.<seg>.<offset>/    the head at a point of the log
//! ```
//!
//! [`Wal::open`] locks the directory, loads the newest snapshot when there
//! is one, replays the log after it into the head, then attaches a writer
//! so appends from then on are logged. [`Wal::maintain`] cuts segments,
//! folds old ones into a checkpoint as retention moves, and writes a head
//! snapshot when the log has grown enough since the last (so a crash
//! replays a short tail, see `schedule.rs`); [`Wal::shutdown`] writes one
//! at exit. The byte format is in `FORMAT.md` beside this file.

mod applier;
mod checkpoint;
pub(crate) mod codec;
mod dir;
mod fanout;
mod lock;
mod page;
mod reader;
mod record;
mod refs;
mod replay;
mod schedule;
mod snapshot;
mod stats;
#[cfg(test)]
mod tests;
mod writer;

pub use checkpoint::CheckpointStats;
pub use lock::{DirLock, LockError};
pub use reader::FrameError;
pub use replay::ReplayReport;
pub use snapshot::{LogPosition, Written as SnapshotWritten};
pub use stats::WalStats;
pub use writer::{LogBatch, SegmentSpan, SyncPolicy, WalOptions, WalWriter};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use parking_lot::Mutex;
use schedule::SnapshotSchedule;
use stats::WalCounters;

use super::Head;

/// Why the log could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("storage.path {dir}: {source}")]
    Io {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The log of one data directory, attached to its head.
pub struct Wal {
    data_dir: PathBuf,
    wal_dir: PathBuf,
    head: Arc<Head>,
    writer: Arc<WalWriter>,
    counters: Arc<WalCounters>,
    /// Cut a segment once its oldest sample is this old, so checkpoints
    /// can fold it away even when it is far from full.
    segment_span: i64,
    /// When the next running snapshot is due; locked while one is written
    /// (maintenance and shutdown never write two at once).
    schedule: Mutex<SnapshotSchedule>,
    _lock: DirLock,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal").field("dir", &self.wal_dir).finish()
    }
}

impl Wal {
    /// Locks `data_dir`, restores the head from the snapshot and the log,
    /// and attaches a writer to `head`. Damage in the log is reported in
    /// the returned report (and moved aside), never an error.
    pub fn open(
        data_dir: &Path,
        head: &Arc<Head>,
        opts: WalOptions,
    ) -> Result<(Wal, ReplayReport), WalError> {
        let io = |source| WalError::Io {
            dir: data_dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let lock = DirLock::acquire(data_dir)?;
        let wal_dir = data_dir.join("wal");
        std::fs::create_dir_all(&wal_dir).map_err(io)?;
        remove_temporaries(&wal_dir);
        let counters = Arc::new(WalCounters::default());
        let started = Instant::now();

        let mut schedule = SnapshotSchedule::default();
        let report = std::thread::scope(|scope| {
            let mut replayer = replay::Replayer::new(scope, head);
            let from = load_snapshot(data_dir, &wal_dir, &mut replayer, head, &counters).map(
                |(pos, bytes)| {
                    schedule.written(0, bytes);
                    pos
                },
            );
            let replayed = replay::replay(&wal_dir, &mut replayer, from, &counters);
            // Every applier is joined before an error is returned.
            let report = replayer.finish();
            replayed.map(|()| report)
        })
        .map_err(io)?;
        let seconds = started.elapsed().as_secs_f64();
        record_replay(&counters, &report, seconds);

        let writer = WalWriter::open(
            &wal_dir,
            report.next_segment,
            report.spans.clone(),
            opts,
            counters.clone(),
        )
        .map_err(io)?;
        head.attach_wal(writer.clone());
        let retention = head.options().retention.as_millis().min(i64::MAX as u128) as i64;
        let report = ReplayReport { seconds, ..report };
        Ok((
            Wal {
                data_dir: data_dir.to_path_buf(),
                wal_dir,
                head: head.clone(),
                writer,
                counters,
                segment_span: (retention / 6).max(60_000),
                schedule: Mutex::new(schedule),
                _lock: lock,
            },
            report,
        ))
    }

    pub fn stats(&self) -> WalStats {
        self.counters.snapshot()
    }

    /// Bytes of the log on disk (segments and checkpoints).
    pub fn disk_bytes(&self) -> u64 {
        dir::size_of(&self.wal_dir)
    }

    pub fn dir(&self) -> &Path {
        &self.wal_dir
    }

    /// Cuts the current segment when it holds data older than a sixth of
    /// the head's window, then folds every closed segment that only holds
    /// data older than the head's cut into a checkpoint, then writes a
    /// head snapshot when one is due. Run it now and then (vigil does
    /// every minute), off the append path.
    pub fn maintain(&self) -> std::io::Result<Option<CheckpointStats>> {
        let checkpoint = self.fold_old_segments();
        self.snapshot_if_due();
        checkpoint
    }

    /// Writes a head snapshot while appends go on, once the log has grown
    /// enough since the last one (see `schedule.rs`).
    fn snapshot_if_due(&self) {
        let log_bytes = self.counters.bytes_written.load(Ordering::Relaxed);
        if self.schedule.lock().due(log_bytes) {
            self.snapshot_running();
        }
    }

    /// Writes a head snapshot while appends go on: it ends at a log
    /// position every batch before which is in the head (batches after it
    /// that it also holds are skipped at replay).
    pub fn snapshot_running(&self) -> Option<snapshot::Written> {
        let mut schedule = self.schedule.lock();
        let log_bytes = self.counters.bytes_written.load(Ordering::Relaxed);
        let (segment, offset) = self.head.quiesced(|| self.writer.position());
        // The snapshot is synced: the log up to its position must be too,
        // or a power loss could leave a snapshot ahead of the log.
        self.writer.sync_now();
        let written = self.write_snapshot(LogPosition { segment, offset }, "running")?;
        schedule.written(log_bytes, written.bytes);
        Some(written)
    }

    /// Writes a snapshot ending at `pos`, counting and logging it.
    fn write_snapshot(&self, pos: LogPosition, why: &'static str) -> Option<snapshot::Written> {
        let started = Instant::now();
        match snapshot::write(&self.data_dir, &self.head, pos) {
            Ok(written) => {
                let seconds = started.elapsed().as_secs_f64();
                WalCounters::add(&self.counters.snapshots, 1);
                self.counters
                    .snapshot_bytes
                    .store(written.bytes, Ordering::Relaxed);
                self.counters
                    .snapshot_nanos
                    .store((seconds * 1e9) as u64, Ordering::Relaxed);
                tracing::info!(
                    path = %written.path.display(),
                    bytes = written.bytes,
                    seconds,
                    why,
                    "head snapshot written"
                );
                Some(written)
            }
            Err(e) => {
                WalCounters::add(&self.counters.snapshot_failures, 1);
                tracing::warn!(error = %e, why, "head snapshot failed; a restart replays the log from the last good one");
                None
            }
        }
    }

    fn fold_old_segments(&self) -> std::io::Result<Option<CheckpointStats>> {
        let Some(max_t) = self.head.max_time() else {
            return Ok(None);
        };
        let (index, len) = self.writer.position();
        if len > 0
            && let Some(first) = self.writer.current_min_time()
            && max_t - first >= self.segment_span
        {
            self.writer.cut_segment()?;
            tracing::debug!(segment = index, "write-ahead log segment cut");
        }
        let Some(mint) = self.head.min_valid_time() else {
            return Ok(None);
        };
        let through = self
            .writer
            .closed_segments()
            .iter()
            .take_while(|s| s.max_t.is_none_or(|t| t < mint))
            .map(|s| s.index)
            .last();
        let Some(through) = through else {
            return Ok(None);
        };
        let result = checkpoint::create(&self.wal_dir, through, mint, &self.head, &self.counters);
        match &result {
            Ok(stats) => {
                self.writer.forget_up_to(through);
                snapshot::remove_through(&self.data_dir, through);
                tracing::info!(
                    through,
                    series = stats.series,
                    samples = stats.samples,
                    segments = stats.segments_removed,
                    "write-ahead log checkpoint written"
                );
            }
            Err(e) => {
                WalCounters::add(&self.counters.checkpoint_failures, 1);
                tracing::warn!(error = %e, "write-ahead log checkpoint failed; segments kept");
            }
        }
        result.map(Some)
    }

    /// Writes the shutdown snapshot (call once appends have stopped) and
    /// syncs the log.
    pub fn shutdown(&self) {
        let _schedule = self.schedule.lock();
        self.writer.close();
        let (segment, offset) = self.writer.position();
        self.write_snapshot(LogPosition { segment, offset }, "shutdown");
    }
}

/// Loads the newest usable snapshot; returns where the log continues
/// after it and the snapshot's size, or `None` to replay from the
/// checkpoint.
fn load_snapshot(
    data_dir: &Path,
    wal_dir: &Path,
    replayer: &mut replay::Replayer<'_, '_>,
    head: &Head,
    counters: &WalCounters,
) -> Option<((u32, u64), u64)> {
    let (path, pos) = snapshot::list(data_dir).pop()?;
    // The segment the snapshot ends in must still be there, and no
    // checkpoint may have folded it.
    let checkpoint = dir::last_checkpoint(wal_dir).ok().flatten().map(|(i, _)| i);
    let usable = dir::segment_path(wal_dir, pos.segment).exists()
        && checkpoint.is_none_or(|c| c < pos.segment);
    if !usable {
        tracing::info!(snapshot = %path.display(), "head snapshot is older than the log; replaying the log");
        let _ = std::fs::remove_dir_all(&path);
        return None;
    }
    match snapshot::load(&path, replayer, head) {
        Ok((series, bytes)) => {
            counters.snapshot_loaded.store(1, Ordering::Relaxed);
            tracing::info!(snapshot = %path.display(), series, "head snapshot loaded");
            Some(((pos.segment, pos.offset), bytes))
        }
        Err(e) => {
            WalCounters::add(&counters.corruptions, 1);
            tracing::warn!(error = %e, "head snapshot unusable; replaying the whole log");
            None
        }
    }
}

/// Half-written checkpoints from a crash.
fn remove_temporaries(wal_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(wal_dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("checkpoint.") && name.ends_with(".tmp") {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn record_replay(c: &WalCounters, r: &ReplayReport, seconds: f64) {
    c.replay_nanos
        .store((seconds * 1e9) as u64, Ordering::Relaxed);
    c.replayed_segments.store(r.segments, Ordering::Relaxed);
    c.replayed_series.store(r.series, Ordering::Relaxed);
    c.replayed_samples.store(r.samples, Ordering::Relaxed);
    c.replay_unknown_refs
        .store(r.unknown_refs, Ordering::Relaxed);
}
