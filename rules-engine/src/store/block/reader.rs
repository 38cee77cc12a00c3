//! An open block: its meta, index and chunks (memory-mapped) and
//! tombstones, read as a [`Querier`].
//!
//! [`Block::open`] checks everything but the chunks (see
//! `index/reader.rs`); each chunk's checksum is checked when a query reads
//! it. The `try_*` methods return what went wrong; the [`Querier`] methods,
//! which cannot, log it, remember the first failure ([`Block::failure`],
//! for the corrupt-blocks metric) and answer without this block.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use super::chunks::{CHUNKS_DIR, ChunkReader};
use super::error::BlockError;
use super::index::{ChunkMeta, IndexReader};
use super::meta::BlockMeta;
use super::tombstones::Tombstones;
use super::writer::INDEX_FILE;
use super::xor::{self, ENCODING_XOR};

/// Prometheus's native histogram chunk encodings (`chunkenc`).
const ENCODING_HISTOGRAM: u8 = 2;
const ENCODING_FLOAT_HISTOGRAM: u8 = 3;
use crate::model::{Labels, Matcher, Sample};
use crate::store::select::select_postings;
use crate::store::{Querier, SeriesSamples};

#[derive(Debug)]
pub struct Block {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader,
    chunks: ChunkReader,
    tombstones: Tombstones,
    failure: Mutex<Option<String>>,
}

impl Block {
    /// Opens the block directory `dir`, checking meta, index and segment
    /// headers. Errors name the file at fault.
    pub fn open(dir: &Path) -> Result<Self, BlockError> {
        let meta = BlockMeta::read(dir)?;
        let index = IndexReader::open(&dir.join(INDEX_FILE))?;
        let chunks = ChunkReader::open(&dir.join(CHUNKS_DIR))?;
        let tombstones = Tombstones::read(dir)?;
        Ok(Block {
            dir: dir.to_path_buf(),
            meta,
            index,
            chunks,
            tombstones,
            failure: Mutex::new(None),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    /// Bytes on disk (index, chunks, and the small files), as retention by
    /// size counts them.
    pub fn size(&self) -> u64 {
        let small: u64 = ["meta.json", "tombstones"]
            .iter()
            .filter_map(|f| std::fs::metadata(self.dir.join(f)).ok())
            .map(|m| m.len())
            .sum();
        self.index.size() + self.chunks.size() + small
    }

    /// The first error a query met in this block, if any.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().clone()
    }

    /// Whether the block may hold samples in `[mint, maxt]` (inclusive;
    /// the block's own max time is exclusive).
    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.meta.min_time <= maxt && mint < self.meta.max_time
    }

    pub fn index(&self) -> &IndexReader {
        &self.index
    }

    /// The encoding byte and data of one chunk, checksum checked.
    pub fn chunk_data(&self, c: &ChunkMeta) -> Result<(u8, &[u8]), BlockError> {
        self.chunks.chunk(c.reference)
    }

    /// Samples of one chunk, checksum checked.
    ///
    /// Native histogram chunks (Prometheus's encodings 2 and 3, behind a
    /// feature flag there) have no place in vigil's float samples: they
    /// read as empty, with a warning, rather than failing the block.
    pub fn chunk_samples(&self, c: &ChunkMeta) -> Result<Vec<Sample>, BlockError> {
        let (enc, data) = self.chunks.chunk(c.reference)?;
        let chunk_path = || self.dir.join(CHUNKS_DIR);
        if enc == ENCODING_HISTOGRAM || enc == ENCODING_FLOAT_HISTOGRAM {
            tracing::warn!(block = %self.dir.display(), chunk = c.reference, "native histogram chunk skipped");
            return Ok(Vec::new());
        }
        if enc != ENCODING_XOR {
            return Err(BlockError::corrupt(
                &chunk_path(),
                c.reference,
                format!("chunk encoding {enc} (only XOR float chunks are supported)"),
            ));
        }
        xor::decode(data)
            .map_err(|e| BlockError::corrupt(&chunk_path(), c.reference, e.to_string()))
    }

    /// Labels and samples in `[mint, maxt]` of series `id`, without
    /// deleted ones.
    pub fn series_samples(
        &self,
        id: u64,
        mint: i64,
        maxt: i64,
    ) -> Result<SeriesSamples, BlockError> {
        let (labels, chunks) = self.index.series(id)?;
        let samples = self.read_samples(id, &chunks, mint, maxt)?;
        Ok(SeriesSamples { labels, samples })
    }

    /// The samples in `[mint, maxt]` of series `id` (whose chunks are
    /// `chunks`), without deleted ones: the chunks overlapping the window
    /// decoded straight into one list.
    pub fn read_samples(
        &self,
        id: u64,
        chunks: &[ChunkMeta],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Sample>, BlockError> {
        let mut samples = Vec::new();
        for c in chunks.iter().filter(|c| c.overlaps(mint, maxt)) {
            let (enc, data) = self.chunks.chunk(c.reference)?;
            if enc != ENCODING_XOR {
                samples.extend(self.chunk_samples(c)?); // the error, or nothing
                continue;
            }
            xor::decode_into(data, mint, maxt, &mut samples).map_err(|e| {
                BlockError::corrupt(&self.dir.join(CHUNKS_DIR), c.reference, e.to_string())
            })?;
        }
        if !self.tombstones.get(id).is_empty() {
            samples.retain(|s| !self.tombstones.covers(id, s.t));
        }
        Ok(samples)
    }

    /// Unmaps the pages of the index and chunks that reads touched (see
    /// [`super::mmap::MappedFile::release`]), at the end of a query.
    pub fn release(&self) {
        self.index.release();
        self.chunks.release();
    }

    /// Whether series `id` has a sample in `[mint, maxt]`, decoding only
    /// chunks that straddle the window's edges.
    fn has_samples(
        &self,
        id: u64,
        chunks: &[ChunkMeta],
        mint: i64,
        maxt: i64,
    ) -> Result<bool, BlockError> {
        let deleted = !self.tombstones.get(id).is_empty();
        for c in chunks.iter().filter(|c| c.overlaps(mint, maxt)) {
            if !deleted && c.mint >= mint && c.maxt <= maxt {
                return Ok(true);
            }
            let found = self
                .chunk_samples(c)?
                .iter()
                .any(|s| s.t >= mint && s.t <= maxt && !self.tombstones.covers(id, s.t));
            if found {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub fn try_select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesSamples>, BlockError> {
        if !self.overlaps(mint, maxt) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for id in select_postings(&self.index, matchers) {
            let s = self.series_samples(id, mint, maxt)?;
            if !s.samples.is_empty() {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Label sets of matching series with samples in the window, sorted.
    pub fn try_series(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Labels>, BlockError> {
        if !self.overlaps(mint, maxt) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for id in select_postings(&self.index, matchers) {
            let (labels, chunks) = self.index.series(id)?;
            if self.has_samples(id, &chunks, mint, maxt)? {
                out.push(labels);
            }
        }
        // Series ids ascend in label order.
        Ok(out)
    }

    /// Whether the index's label tables answer for the window exactly:
    /// the block lies inside it and nothing is deleted.
    fn index_answers(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> bool {
        matchers.is_empty()
            && self.tombstones.is_empty()
            && mint <= self.meta.min_time
            && self.meta.max_time - 1 <= maxt
    }

    pub fn try_label_names(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, BlockError> {
        if !self.overlaps(mint, maxt) {
            return Ok(Vec::new());
        }
        if self.index_answers(matchers, mint, maxt) {
            return Ok(self.index.label_names().map(str::to_string).collect());
        }
        let mut names = BTreeSet::new();
        for l in self.try_series(matchers, mint, maxt)? {
            names.extend(l.iter().map(|l| l.name.clone()));
        }
        Ok(names.into_iter().collect())
    }

    pub fn try_label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, BlockError> {
        if !self.overlaps(mint, maxt) {
            return Ok(Vec::new());
        }
        if self.index_answers(matchers, mint, maxt) {
            return Ok(self.index.label_values(name).map(str::to_string).collect());
        }
        let mut values = BTreeSet::new();
        for l in self.try_series(matchers, mint, maxt)? {
            if let Some(v) = l.get(name) {
                values.insert(v.to_string());
            }
        }
        Ok(values.into_iter().collect())
    }

    /// Reads and decodes every chunk: a full check, for scans that must
    /// know a block is sound before relying on it.
    pub fn verify(&self) -> Result<(), BlockError> {
        for id in self.index.all_series() {
            let (_, chunks) = self.index.series(id)?;
            for c in &chunks {
                let (enc, _) = self.chunks.chunk(c.reference)?;
                if enc == ENCODING_HISTOGRAM || enc == ENCODING_FLOAT_HISTOGRAM {
                    continue; // checksum checked; not decoded by vigil
                }
                let samples = self.chunk_samples(c)?;
                let path = self.dir.join(CHUNKS_DIR);
                let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
                    return Err(BlockError::corrupt(&path, c.reference, "empty chunk"));
                };
                if first.t < c.mint || last.t > c.maxt {
                    return Err(BlockError::corrupt(
                        &path,
                        c.reference,
                        "chunk samples outside the times in the index",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every series of the block with all its samples (tombstones
    /// applied), in label order: the input of compaction.
    pub fn all_series(&self) -> impl Iterator<Item = Result<SeriesSamples, BlockError>> + '_ {
        self.index
            .all_series()
            .into_iter()
            .map(|id| self.series_samples(id, i64::MIN, i64::MAX))
    }

    /// Keeps (and logs, once per block) the first failure; the caller
    /// answers without this block. Releases the pages the read touched.
    fn failed<T: Default>(&self, r: Result<T, BlockError>) -> T {
        self.release();
        r.unwrap_or_else(|e| {
            self.record_failure(e);
            T::default()
        })
    }

    /// Keeps (and logs) the first failure of a read, for
    /// [`Block::failure`].
    pub fn record_failure(&self, e: BlockError) {
        let mut f = self.failure.lock();
        if f.is_none() {
            tracing::error!(block = %self.dir.display(), error = %e, "block read failed; left out of queries' answers");
            *f = Some(e.to_string());
        }
    }
}

impl Querier for Block {
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<SeriesSamples> {
        self.failed(self.try_select(matchers, mint, maxt))
    }

    fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        self.failed(self.try_series(matchers, mint, maxt))
    }

    fn label_names(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<String> {
        self.failed(self.try_label_names(matchers, mint, maxt))
    }

    fn label_values(&self, name: &str, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<String> {
        self.failed(self.try_label_values(name, matchers, mint, maxt))
    }
}
