//! The block `index` file, format version 2 (see
//! `tsdb/docs/format/index.md` in Prometheus's repository):
//!
//! ```text
//! magic 0xBAAAD700 <4> | version 2 <1>
//! symbols          len <4> | count <4> | (len <uvarint> | str)* | CRC32C <4>
//! series           per series, 16-byte aligned (id = offset / 16):
//!                  len <uvarint> | #labels | (name ref, value ref)* | #chunks
//!                  | mint <varint> | maxt-mint | ref | (mint-prev maxt | maxt-mint | ref delta <varint>)*
//!                  | CRC32C <4>
//! label indices    per label name, 4-aligned: len | 1 | #values | value refs <4 each> | CRC
//! postings         per (name, value), 4-aligned, first the all-series list ("", ""):
//!                  len | #series | series ids <4 each> | CRC
//! label offset table     len | count | (1 | name | offset <uvarint>)* | CRC
//! postings offset table  len | count | (2 | name | value | offset <uvarint>)* | CRC
//! TOC              six section offsets <8 each> | CRC32C <4>
//! ```
//!
//! Every `len` counts the bytes after it up to the checksum, and the
//! checksum covers exactly those bytes.

pub mod reader;
pub mod writer;

pub use reader::IndexReader;
pub use writer::{IndexSeries, encode_index, write_index};

pub(crate) const MAGIC: u32 = 0xBAAA_D700;
pub(crate) const VERSION: u8 = 2;
pub(crate) const TOC_LEN: usize = 6 * 8 + 4;

/// Where a chunk is and what time it covers (both ends inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMeta {
    pub mint: i64,
    pub maxt: i64,
    /// Segment index << 32 | offset, see `chunks.rs`.
    pub reference: u64,
}

impl ChunkMeta {
    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.mint <= maxt && mint <= self.maxt
    }
}

/// The table of contents: the start of each section.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Toc {
    pub symbols: u64,
    pub series: u64,
    pub label_indices: u64,
    pub label_indices_table: u64,
    pub postings: u64,
    pub postings_table: u64,
}
