//! One series in the head: its label set, and its samples in chunks.
//!
//! ```text
//! MemSeries { labels, fingerprint, id, handle }
//!   data: Mutex<SeriesData>
//!     closed: [Chunk 0][Chunk 1]...[Chunk n-1]   full, immutable, oldest first
//!     open:   Chunk n                             appendable, newest samples
//! ```
//!
//! Appends take only this series' lock, so scrape loops writing different
//! series never wait on each other and a query reading one series blocks one
//! appender for the time it takes to decode that series' chunks.

use parking_lot::Mutex;

use super::chunk::{Chunk, ChunkRef, OpenChunk};
use super::packed::PackedLabels;
use super::wal::codec::{Cursor, put_uvarint};
use super::{AppendError, SeriesRef};
use crate::model::{Labels, Sample};

/// Samples per chunk before a new one is cut: Prometheus's 120 keeps a chunk
/// around 2 h at a 1 min interval and compresses within a few % of longer
/// chunks, while keeping the cost of decoding a chunk for a short range low.
pub const SAMPLES_PER_CHUNK: u16 = 120;

/// A series in the head. Shared as `Arc<MemSeries>` by the shard map, the
/// scrape caches and in-flight queries.
#[derive(Debug)]
pub struct MemSeries {
    /// Postings id: unique, increasing in creation order.
    pub(crate) id: u64,
    /// The [`SeriesRef`] handed to appenders (shard, slot, generation).
    pub(crate) handle: u64,
    pub(crate) fingerprint: u64,
    /// The series' reference in the write-ahead log: the next unused one
    /// when this process created it, the logged reference when replay did
    /// (so the log's older segments and its newer ones agree).
    pub(crate) wal_ref: u64,
    pub(crate) labels: PackedLabels,
    pub(crate) data: Mutex<SeriesData>,
}

impl MemSeries {
    /// Starts loading the memory the next append to this series writes,
    /// when nobody holds its lock (a hint: it never waits).
    pub(crate) fn prefetch_append(&self) {
        if let Some(data) = self.data.try_lock()
            && let Some(open) = &data.open
        {
            super::prefetch::prefetch(open.tail());
        }
    }

    pub(crate) fn new(
        id: u64,
        handle: u64,
        fingerprint: u64,
        wal_ref: u64,
        labels: &Labels,
    ) -> Self {
        MemSeries {
            id,
            handle,
            fingerprint,
            wal_ref,
            labels: PackedLabels::new(labels),
            data: Mutex::new(SeriesData::default()),
        }
    }

    /// The label set (unpacked: allocates).
    pub fn labels(&self) -> Labels {
        self.labels.to_labels()
    }

    /// The handle for [`crate::store::Appender::append_ref`], valid for
    /// the life of the series in the head.
    pub fn series_ref(&self) -> SeriesRef {
        SeriesRef(self.handle)
    }

    /// What this series' samples cost, for memory figures.
    pub fn memory(&self) -> SeriesMemory {
        let data = self.data.lock();
        SeriesMemory {
            samples: data.chunks().map(|c| usize::from(c.num_samples())).sum(),
            chunks: data.num_chunks(),
            payload_bytes: data.chunk_bytes(),
            label_bytes: self.labels.heap_bytes(),
            heap_bytes: data.closed.capacity() * std::mem::size_of::<Chunk>()
                + data.closed.iter().map(Chunk::heap_bytes).sum::<usize>()
                + data.open.as_ref().map_or(0, OpenChunk::heap_bytes),
        }
    }
}

/// Memory of one series' samples.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeriesMemory {
    pub samples: usize,
    pub chunks: usize,
    /// Encoded sample bytes.
    pub payload_bytes: usize,
    /// Heap held for the samples: payload capacity plus chunk headers.
    pub heap_bytes: usize,
    /// Heap held by the packed label set.
    pub label_bytes: usize,
}

/// What one append did, for the head's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored; `new_chunk` when it opened a chunk.
    Stored { new_chunk: bool, bytes_added: usize },
    /// Same timestamp and bit-identical value as the newest sample: accepted
    /// and ignored, as Prometheus does for re-scraped samples.
    Duplicate,
}

/// The samples of a series. `removed` is set when retention drops the series
/// from the head, so holders of a stale `Arc` (scrape caches) notice.
#[derive(Debug, Default)]
pub struct SeriesData {
    closed: Vec<Chunk>,
    open: Option<OpenChunk>,
    pub(crate) removed: bool,
}

impl SeriesData {
    /// Appends `(t, v)`, enforcing Prometheus's in-order rules.
    pub fn append(&mut self, t: i64, v: f64) -> Result<Appended, AppendError> {
        // The scale a new chunk starts its search from: the scale of the
        // chunk it follows, one more if that chunk could not take `v`.
        let mut min_scale = 0;
        if let Some(open) = &mut self.open {
            let (last_t, last_v) = open.last();
            if t < last_t {
                return Err(AppendError::OutOfOrder);
            }
            if t == last_t {
                return if last_v.to_bits() == v.to_bits() {
                    Ok(Appended::Duplicate)
                } else {
                    Err(AppendError::DuplicateTimestamp)
                };
            }
            let full = open.num_samples() >= SAMPLES_PER_CHUNK;
            if !full {
                let before = open.as_ref().byte_len();
                if open.try_append(t, v) {
                    return Ok(Appended::Stored {
                        new_chunk: false,
                        bytes_added: open.as_ref().byte_len() - before,
                    });
                }
            }
            min_scale = open.scale().map_or(0, |s| if full { s } else { s + 1 });
        }
        if let Some(old) = self.open.take() {
            self.closed.push(old.close());
        }
        let mut open = OpenChunk::for_value(v, min_scale);
        let fits = open.try_append(t, v);
        debug_assert!(fits, "a chunk made for a value takes it");
        let bytes_added = open.as_ref().byte_len();
        self.open = Some(open);
        Ok(Appended::Stored {
            new_chunk: true,
            bytes_added,
        })
    }

    /// Newest timestamp, if any sample is stored.
    pub fn max_time(&self) -> Option<i64> {
        self.open.as_ref().map(|c| c.last().0)
    }

    /// Oldest timestamp, if any sample is stored.
    pub fn min_time(&self) -> Option<i64> {
        self.chunks().next().map(|c| c.first_time())
    }

    /// Whether any sample lies in `[mint, maxt]`.
    pub fn has_samples_in(&self, mint: i64, maxt: i64) -> bool {
        // An overlapping chunk whose first or last sample lies in the window
        // answers from its header; only a chunk straddling the whole window
        // is decoded.
        self.chunks()
            .filter(|c| c.first_time() <= maxt && c.last_time() >= mint)
            .any(|c| {
                c.first_time() >= mint
                    || c.last_time() <= maxt
                    || c.iter().any(|s| s.t >= mint && s.t <= maxt)
            })
    }

    /// Pushes the samples in `[mint, maxt]` onto `out`, oldest first.
    pub fn samples_in(&self, mint: i64, maxt: i64, out: &mut Vec<Sample>) {
        for c in self.chunks() {
            if c.last_time() < mint || c.first_time() > maxt {
                continue;
            }
            out.extend(
                c.iter()
                    .skip_while(|s| s.t < mint)
                    .take_while(|s| s.t <= maxt),
            );
        }
    }

    /// Drops whole chunks whose newest sample is older than `mint`. Returns
    /// (chunks dropped, bytes freed). The open chunk goes too when all of it
    /// is old, leaving the series empty for the caller to remove.
    pub fn truncate_before(&mut self, mint: i64) -> (usize, usize) {
        let keep_from = self
            .closed
            .partition_point(|c| c.as_ref().last_time() < mint);
        let mut bytes: usize = self.closed[..keep_from].iter().map(Chunk::heap_bytes).sum();
        let mut dropped = keep_from;
        self.closed.drain(..keep_from);
        if self.closed.is_empty() && self.open.as_ref().is_some_and(|c| c.last().0 < mint) {
            bytes += self.open.as_ref().map_or(0, |c| c.as_ref().byte_len());
            self.open = None;
            dropped += 1;
        }
        (dropped, bytes)
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_none()
    }

    pub fn num_chunks(&self) -> usize {
        self.closed.len() + usize::from(self.open.is_some())
    }

    /// Bytes of chunk payload, for memory accounting.
    pub fn chunk_bytes(&self) -> usize {
        self.chunks().map(|c| c.byte_len()).sum()
    }

    /// The chunks as bytes, for the shutdown snapshot.
    pub(crate) fn persist(&self, out: &mut Vec<u8>) {
        put_uvarint(out, self.closed.len() as u64);
        for c in &self.closed {
            c.persist(out);
        }
        out.push(u8::from(self.open.is_some()));
        if let Some(open) = &self.open {
            open.persist(out);
        }
    }

    /// The inverse of [`SeriesData::persist`]; `None` on other bytes.
    pub(crate) fn restore(c: &mut Cursor<'_>) -> Option<SeriesData> {
        let n = usize::try_from(c.uvarint()?).ok()?;
        let mut closed = Vec::with_capacity(n.min(c.remaining()));
        for _ in 0..n {
            closed.push(Chunk::restore(c)?);
        }
        let open = match c.byte()? {
            0 => None,
            1 => Some(OpenChunk::restore(c)?),
            _ => return None,
        };
        // Every series in the head has an open chunk (closed ones only
        // ever come before it).
        open.as_ref()?;
        Some(SeriesData {
            closed,
            open,
            removed: false,
        })
    }

    fn chunks(&self) -> impl Iterator<Item = ChunkRef<'_>> {
        self.closed
            .iter()
            .map(Chunk::as_ref)
            .chain(self.open.iter().map(OpenChunk::as_ref))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stale_nan;

    fn collect(d: &SeriesData, mint: i64, maxt: i64) -> Vec<(i64, u64)> {
        let mut out = Vec::new();
        d.samples_in(mint, maxt, &mut out);
        out.iter().map(|s| (s.t, s.v.to_bits())).collect()
    }

    #[test]
    fn out_of_order_and_duplicates_follow_prometheus() {
        let mut d = SeriesData::default();
        assert!(matches!(d.append(10, 1.0), Ok(Appended::Stored { .. })));
        assert_eq!(d.append(10, 1.0), Ok(Appended::Duplicate));
        assert_eq!(d.append(10, 2.0), Err(AppendError::DuplicateTimestamp));
        assert_eq!(d.append(9, 1.0), Err(AppendError::OutOfOrder));
        // A NaN re-scraped at the same timestamp is the same bits: accepted.
        assert!(d.append(20, f64::NAN).is_ok());
        assert_eq!(d.append(20, f64::NAN), Ok(Appended::Duplicate));
        // But a stale marker is a different value than an ordinary NaN.
        assert_eq!(
            d.append(20, stale_nan()),
            Err(AppendError::DuplicateTimestamp)
        );
        assert_eq!(collect(&d, 0, 100).len(), 2);
    }

    #[test]
    fn cuts_chunks_and_reads_windows_across_them() {
        let mut d = SeriesData::default();
        for i in 0..1000 {
            d.append(i * 15_000, i as f64).unwrap();
        }
        assert_eq!(
            d.num_chunks(),
            1000usize.div_ceil(SAMPLES_PER_CHUNK as usize)
        );
        let got = collect(&d, 15_000 * 100, 15_000 * 300);
        assert_eq!(got.len(), 201);
        assert_eq!(got[0], (15_000 * 100, 100f64.to_bits()));
        assert_eq!(got[200], (15_000 * 300, 300f64.to_bits()));
        assert!(d.has_samples_in(15_000 * 999, i64::MAX));
        assert!(!d.has_samples_in(15_000 * 999 + 1, i64::MAX));
        assert!(!d.has_samples_in(1, 14_999));
    }

    #[test]
    fn truncation_drops_only_whole_old_chunks() {
        let mut d = SeriesData::default();
        for i in 0..240 {
            d.append(i, 1.0).unwrap();
        }
        // Chunk 0 holds 0..=119: a cut at 119 keeps it (119 is still needed).
        assert_eq!(d.truncate_before(119).0, 0);
        assert_eq!(d.truncate_before(120).0, 1);
        assert_eq!(d.min_time(), Some(120));
        assert_eq!(d.truncate_before(1000).0, 1);
        assert!(d.is_empty());
        assert_eq!(d.max_time(), None);
    }
}
