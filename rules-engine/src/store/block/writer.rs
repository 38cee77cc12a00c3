//! Writes one block: series go in sorted by labels, chunks stream to
//! `chunks/`, and `commit` adds the index, `meta.json` and `tombstones`,
//! syncs, and renames `<ULID>.tmp-for-creation` to `<ULID>`, so a crash at
//! any point leaves either no block or a whole one (leftover temporary
//! directories are removed by [`super::scan`]).

use std::fs;
use std::path::{Path, PathBuf};

use ulid::Ulid;

use super::chunks::{CHUNKS_DIR, ChunkWriter};
use super::compact::DEFAULT_BLOCK_RANGE_MS;
use super::error::{BlockError, IoContext};
use super::index::{ChunkMeta, IndexSeries, write_index};
use super::meta::BlockMeta;
use super::tombstones::Tombstones;
use super::xor::{ENCODING_XOR, XorEncoder};
use crate::model::{Labels, Sample};

/// Suffix of a block directory being written.
pub const TMP_FOR_CREATION: &str = ".tmp-for-creation";
/// Samples per chunk at most, by default (Prometheus's head aims at 120).
pub const SAMPLES_PER_CHUNK: usize = 120;
/// The hard limit of Prometheus's head (`2 * samplesPerChunk`), reached
/// when its predicted chunk end was too late.
pub const PROMETHEUS_MAX_SAMPLES_PER_CHUNK: usize = 240;
pub const INDEX_FILE: &str = "index";

pub struct BlockWriter {
    parent: PathBuf,
    tmp: PathBuf,
    meta: BlockMeta,
    chunks: Option<ChunkWriter>,
    series: Vec<(Labels, Vec<ChunkMeta>)>,
    chunk_range: i64,
    max_samples: usize,
    committed: bool,
}

/// Where Prometheus's head cuts a series into chunks
/// (`memSeries.appendPreprocessor`): at the end of each aligned
/// `chunk_range`, and, once a chunk has 30 samples, at a time predicted to
/// spread the range's samples evenly over chunks of about 120; never past
/// `max_samples`. Cutting where Prometheus does makes chunks as it
/// would write them, so a block reads (and compresses) like its own; with
/// `max_samples` at [`PROMETHEUS_MAX_SAMPLES_PER_CHUNK`] the cuts are
/// exactly Prometheus's.
pub fn chunk_bounds(
    samples: &[Sample],
    chunk_range: i64,
    max_samples: usize,
) -> Vec<std::ops::Range<usize>> {
    let range_end = |t: i64| ((t / chunk_range) * chunk_range).saturating_add(chunk_range);
    let mut out = Vec::new();
    let Some(first) = samples.first() else {
        return out;
    };
    let (mut start, mut next_at) = (0, range_end(first.t));
    for (i, s) in samples.iter().enumerate().skip(1) {
        let n = i - start;
        if n == SAMPLES_PER_CHUNK / 4 {
            // computeChunkEndTime
            let (lo, cur) = (samples[start].t, samples[i - 1].t);
            let k = (next_at - lo) / ((cur - lo + 1) * 4);
            if k > 1 {
                next_at = lo + (next_at - lo) / k;
            }
        }
        if s.t >= next_at || n >= max_samples {
            out.push(start..i);
            start = i;
            next_at = range_end(s.t);
        }
    }
    out.push(start..samples.len());
    out
}

impl BlockWriter {
    /// Starts a level-1 block for samples in `[min_time, max_time)` under
    /// the data directory `parent`.
    pub fn create(parent: &Path, min_time: i64, max_time: i64) -> Result<Self, BlockError> {
        Self::with_meta(parent, BlockMeta::new(Ulid::new(), min_time, max_time))
    }

    /// Starts a block with a prepared meta (compaction sets level, sources
    /// and parents); its stats are filled in on commit.
    pub fn with_meta(parent: &Path, meta: BlockMeta) -> Result<Self, BlockError> {
        if meta.max_time <= meta.min_time {
            return Err(BlockError::invalid(
                parent,
                format!("empty block range [{}, {})", meta.min_time, meta.max_time),
            ));
        }
        let tmp = parent.join(format!("{}{TMP_FOR_CREATION}", meta.ulid));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).at(&tmp)?;
        }
        fs::create_dir_all(&tmp).at(&tmp)?;
        let chunks = ChunkWriter::create(&tmp.join(CHUNKS_DIR))?;
        Ok(BlockWriter {
            parent: parent.to_path_buf(),
            tmp,
            meta,
            chunks: Some(chunks),
            series: Vec::new(),
            chunk_range: DEFAULT_BLOCK_RANGE_MS,
            max_samples: SAMPLES_PER_CHUNK,
            committed: false,
        })
    }

    /// The head's chunk range that chunk cuts align to (default 2 h, as
    /// Prometheus's head; promtool's backfill uses twice the block range).
    pub fn set_chunk_range(&mut self, ms: i64) {
        self.chunk_range = ms.max(1);
    }

    /// The most samples a chunk takes ([`SAMPLES_PER_CHUNK`] unless set;
    /// at most 65535, what a chunk header can count).
    pub fn set_max_samples_per_chunk(&mut self, n: usize) {
        self.max_samples = n.clamp(1, usize::from(u16::MAX));
    }

    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// Adds a series. Labels must sort after the previous series'; samples
    /// must be in strictly increasing time order within the block's range.
    /// A series without samples is left out, as Prometheus does.
    pub fn add_series(&mut self, labels: &Labels, samples: &[Sample]) -> Result<(), BlockError> {
        if let Some((last, _)) = self.series.last()
            && last >= labels
        {
            return Err(BlockError::invalid(
                &self.tmp,
                format!("series {labels} added after {last}: series must be added in label order"),
            ));
        }
        if labels.is_empty() {
            return Err(BlockError::invalid(&self.tmp, "series without labels"));
        }
        if samples.is_empty() {
            return Ok(());
        }
        let (lo, hi) = (self.meta.min_time, self.meta.max_time);
        for (i, s) in samples.iter().enumerate() {
            if s.t < lo || s.t >= hi {
                return Err(BlockError::invalid(
                    &self.tmp,
                    format!(
                        "{labels}: sample at {} outside the block's range [{lo}, {hi})",
                        s.t
                    ),
                ));
            }
            if i > 0 && samples[i - 1].t >= s.t {
                return Err(BlockError::invalid(
                    &self.tmp,
                    format!("{labels}: samples out of order at {}", s.t),
                ));
            }
        }
        let writer = self
            .chunks
            .as_mut()
            .expect("chunk writer open until commit");
        let mut metas = Vec::with_capacity(samples.len().div_ceil(SAMPLES_PER_CHUNK));
        for bounds in chunk_bounds(samples, self.chunk_range, self.max_samples) {
            let part = &samples[bounds];
            let mut enc = XorEncoder::new();
            for s in part {
                enc.append(s.t, s.v);
            }
            let reference = writer.write(ENCODING_XOR, &enc.bytes())?;
            metas.push(ChunkMeta {
                mint: part[0].t,
                maxt: part[part.len() - 1].t,
                reference,
            });
        }
        self.meta.stats.num_samples += samples.len() as u64;
        self.meta.stats.num_chunks += metas.len() as u64;
        self.meta.stats.num_series += 1;
        self.series.push((labels.clone(), metas));
        Ok(())
    }

    /// Finishes the block and moves it into place. Returns `None` (and
    /// leaves nothing behind) when no sample was added.
    pub fn commit(mut self) -> Result<Option<BlockMeta>, BlockError> {
        let chunks = self.chunks.take().expect("chunk writer open until commit");
        chunks.close()?;
        if self.meta.stats.num_samples == 0 {
            return Ok(None);
        }
        let series: Vec<IndexSeries<'_>> = self
            .series
            .iter()
            .map(|(labels, chunks)| IndexSeries { labels, chunks })
            .collect();
        write_index(&self.tmp.join(INDEX_FILE), &series)?;
        Tombstones::default().write(&self.tmp)?;
        self.meta.write(&self.tmp)?;
        sync_dir(&self.tmp.join(CHUNKS_DIR))?;
        sync_dir(&self.tmp)?;
        let dest = self.parent.join(self.meta.ulid.to_string());
        fs::rename(&self.tmp, &dest).at(&dest)?;
        sync_dir(&self.parent)?;
        self.committed = true;
        Ok(Some(self.meta.clone()))
    }
}

impl Drop for BlockWriter {
    /// An abandoned or failed write leaves no temporary directory.
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Makes a directory's entries (new files, renames) durable.
pub fn sync_dir(dir: &Path) -> Result<(), BlockError> {
    fs::File::open(dir).and_then(|f| f.sync_all()).at(dir)
}

/// Writes one level-1 block of `series` (sorted by labels, samples in
/// time order) into `parent`; `None` when there is no sample.
pub fn write_block<'a>(
    parent: &Path,
    min_time: i64,
    max_time: i64,
    series: impl IntoIterator<Item = (&'a Labels, &'a [Sample])>,
) -> Result<Option<BlockMeta>, BlockError> {
    let mut w = BlockWriter::create(parent, min_time, max_time)?;
    for (labels, samples) in series {
        w.add_series(labels, samples)?;
    }
    w.commit()
}
