//! Persistent history in Prometheus's own TSDB block format, so that
//! `promtool tsdb`, Prometheus and Thanos read vigil's data directory and
//! vigil reads theirs.
//!
//! ```text
//! data dir/
//!   01H...ULID/            one block: an immutable time range [minTime, maxTime)
//!     meta.json            identity, range, counts, compaction history   (meta.rs)
//!     index                symbols, series, postings, TOC                (index/)
//!     chunks/000001 ...    XOR chunks, CRC32C each                       (chunks.rs, xor.rs)
//!     tombstones           deleted ranges per series                     (tombstones.rs)
//!   01H...ULID.tmp-for-creation/   a block being written (removed by scan)
//!   01H...ULID.tmp-for-deletion/   a block being deleted (removed by scan)
//!   wal/                   the head's write-ahead log (store::wal, not here)
//! ```
//!
//! # API for the head and the server
//!
//! - Cut a head range into a block: [`BlockWriter::create`]`(data_dir,
//!   mint, maxt_exclusive)`, then [`BlockWriter::add_series`] for each
//!   series in label order with its samples in the range, then
//!   [`BlockWriter::commit`] (index, meta, tombstones, fsync, rename). A
//!   writer dropped before commit removes its temporary directory. After
//!   commit returns, the range may be dropped from the head and the WAL.
//! - At start: [`scan::open_dir`] opens every block of the data
//!   directory, returns the sound ones sorted by time and reports the
//!   corrupt ones (path and error, for `vigil_tsdb_corrupt_blocks` and the
//!   log) without deleting them; it removes leftover temporary directories.
//! - Queries: [`Block`] implements [`crate::store::Querier`];
//!   [`MergeQuerier`] reads the head and the blocks as one store (series
//!   with equal labels merged in time order, duplicate timestamps dropped).
//!   A block whose chunk fails its checksum during a query is left out of
//!   that answer and remembers the failure ([`Block::failure`]).
//! - In the background: [`compact::plan`] picks blocks to merge with
//!   Prometheus's leveled planner ([`compact::block_ranges`] gives its
//!   ranges: 2 h × 3ⁿ up to 10 % of retention or 31 days), and
//!   [`compact::compact`] merges them into one new block, deleting the
//!   sources only after the new one is in place. [`retention::expired`]
//!   names the blocks beyond the time or size limits, oldest first, and
//!   [`retention::delete_block`] removes one (renamed to
//!   `.tmp-for-deletion` first, so a crash never leaves half a block).
//! - Nothing here locks: callers keep one writer per range and swap their
//!   list of open blocks (e.g. `Arc<[Arc<Block>]>`) after compaction or
//!   retention, dropping old `Block`s once no query holds them.
//!
//! # FORMAT notes
//!
//! The formats are Prometheus's, documented in its repository under
//! `tsdb/docs/format/` (`index.md`, `chunks.md`, `tombstones.md`); the
//! details that the documents leave open follow Prometheus 2.42's code
//! (`tsdb/index/index.go`, `tsdb/chunks/chunks.go`, `tsdb/chunkenc/xor.go`,
//! `tsdb/block.go`):
//!
//! - All integers are big-endian; varints are Go's (`encoding/binary`).
//!   Checksums are CRC32C (Castagnoli), stored big-endian.
//! - Index version 2: symbols are referenced by position; series by
//!   `offset / 16` (entries are 16-byte aligned); postings lists and label
//!   indices are 4-byte aligned; the all-series postings list has the key
//!   `("", "")` and comes first. A section's `len` excludes itself and the
//!   checksum, and the checksum covers exactly `len` bytes (for symbols
//!   this includes the symbol count).
//! - Chunk references are `segment index << 32 | byte offset`, the index
//!   counted from 0 for `chunks/000001`. A chunk's checksum covers its
//!   encoding byte and data. Chunks are cut where Prometheus's head cuts
//!   them (`writer::chunk_bounds`), at most 120 samples by default; the
//!   backfill allows Prometheus's 240 so its blocks equal promtool's.
//! - XOR chunks: see `xor.rs`; the time buckets are 14, 17, 20 and 64 bits
//!   and a bucket of n bits holds `-(2^(n-1)-1) ..= 2^(n-1)`.
//! - `meta.json` is version 1, tab-indented; `maxTime` is exclusive, so a
//!   block cut from the head for samples up to `t` ends at `t + 1`.
//! - The tombstones checksum leaves out the magic and version byte.

pub mod backfill;
pub mod chunks;
pub mod compact;
mod enc;
pub mod error;
pub mod index;
pub mod merge;
pub mod meta;
mod mmap;
pub mod reader;
pub mod retention;
pub mod scan;
pub mod stream;
#[cfg(test)]
mod tests;
pub mod tombstones;
pub mod writer;
pub mod xor;

pub use error::BlockError;
pub use merge::MergeQuerier;
pub use meta::{BlockDesc, BlockMeta, BlockStats, Compaction};
pub use reader::Block;
pub use retention::{Retention, TMP_FOR_DELETION};
pub use tombstones::Tombstones;
pub use writer::{BlockWriter, TMP_FOR_CREATION, write_block};
