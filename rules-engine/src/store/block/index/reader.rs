//! Reads a version-2 index through a memory map.
//!
//! Opening checks the header, the TOC and the checksum of every section,
//! series entry and postings list, and that every postings entry names a
//! series that exists; what stays in memory is one offset per symbol and
//! per label pair (a few hundred for typical label sets, whatever the
//! number of series), and the pages the checks read are handed back to
//! the page cache ([`MappedFile::release`]): an open block costs neither
//! heap nor resident memory per series. After that, lookups only decode
//! bytes already proven sound, so queries cannot meet a checksum failure
//! in the index (chunks are checked when read).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use super::super::enc::{Decbuf, DecodeError};
use super::super::error::BlockError;
use super::super::mmap::MappedFile;
use super::{ChunkMeta, MAGIC, TOC_LEN, Toc, VERSION};
use crate::model::{Label, Labels};

/// A postings offset table entry: where the value's string and its
/// postings list are.
#[derive(Debug, Clone, Copy)]
struct ValueEntry {
    value_at: u64,
    postings_at: u64,
}

#[derive(Debug)]
pub struct IndexReader {
    file: MappedFile,
    symbols: Vec<u32>,
    /// Where the all-series postings list is: the series ids (offsets /
    /// 16) in ascending order, read from the file when needed.
    all_at: u64,
    /// How many series the block has.
    num_series: usize,
    /// Label name -> its values, sorted by value.
    names: BTreeMap<String, Vec<ValueEntry>>,
}

impl IndexReader {
    pub fn open(path: &Path) -> Result<Self, BlockError> {
        let file = MappedFile::open(path)?;
        let mut r = IndexReader {
            file,
            symbols: Vec::new(),
            all_at: 0,
            num_series: 0,
            names: BTreeMap::new(),
        };
        let toc = r.read_toc()?;
        r.read_symbols(toc.symbols)?;
        let series = r.read_series(&toc)?;
        r.read_postings_table(toc.postings_table, &series)?;
        r.check_label_indices(toc.label_indices_table)?;
        r.num_series = series.len();
        r.file.release();
        Ok(r)
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    pub fn size(&self) -> u64 {
        self.file.size()
    }

    fn corrupt(&self, at: usize, what: impl Into<String>) -> BlockError {
        BlockError::corrupt(self.file.path(), at as u64, what)
    }

    fn decode_err(&self, base: usize) -> impl Fn(DecodeError) -> BlockError + '_ {
        move |e| self.corrupt(base + e.at, e.what)
    }

    fn read_toc(&self) -> Result<Toc, BlockError> {
        let b = self.file.bytes();
        if b.len() < 5 + TOC_LEN {
            return Err(self.corrupt(0, "file shorter than header and table of contents"));
        }
        if u32::from_be_bytes([b[0], b[1], b[2], b[3]]) != MAGIC {
            return Err(self.corrupt(0, "bad magic number"));
        }
        if b[4] != VERSION {
            return Err(self.corrupt(4, format!("unsupported index version {}", b[4])));
        }
        let at = b.len() - TOC_LEN;
        let t = &b[at..];
        let want = u32::from_be_bytes(t[48..52].try_into().expect("4 bytes"));
        if crc32c::crc32c(&t[..48]) != want {
            return Err(self.corrupt(at, "table of contents checksum mismatch"));
        }
        let mut d = Decbuf::new(&t[..48]);
        let mut next = || d.be64().map_err(self.decode_err(at));
        let toc = Toc {
            symbols: next()?,
            series: next()?,
            label_indices: next()?,
            label_indices_table: next()?,
            postings: next()?,
            postings_table: next()?,
        };
        for x in [
            toc.symbols,
            toc.series,
            toc.label_indices,
            toc.label_indices_table,
            toc.postings,
            toc.postings_table,
        ] {
            if x < 5 || x > at as u64 {
                return Err(self.corrupt(at, format!("section offset {x} outside the file")));
            }
        }
        Ok(toc)
    }

    /// The body of a `len <4> | body | CRC <4>` section at `off`, checked.
    fn section(&self, off: u64) -> Result<(usize, &[u8]), BlockError> {
        let b = self.file.bytes();
        let off = usize::try_from(off).unwrap_or(usize::MAX);
        let len = b
            .get(off..off.saturating_add(4))
            .map(|x| u32::from_be_bytes(x.try_into().expect("4 bytes")) as usize)
            .ok_or_else(|| self.corrupt(off, "section length outside the file"))?;
        let start = off + 4;
        let end = start
            .checked_add(len)
            .filter(|e| e.saturating_add(4) <= b.len())
            .ok_or_else(|| self.corrupt(off, "section runs past the end of the file"))?;
        let want = u32::from_be_bytes(b[end..end + 4].try_into().expect("4 bytes"));
        if crc32c::crc32c(&b[start..end]) != want {
            return Err(self.corrupt(off, "section checksum mismatch"));
        }
        Ok((start, &b[start..end]))
    }

    fn read_symbols(&mut self, off: u64) -> Result<(), BlockError> {
        let (start, body) = self.section(off)?;
        let mut d = Decbuf::new(body);
        let count = d.be32().map_err(self.decode_err(start))?;
        let mut symbols = Vec::with_capacity((count as usize).min(body.len()));
        for _ in 0..count {
            symbols.push((start + d.pos()) as u32);
            d.uvarint_str().map_err(self.decode_err(start))?;
        }
        self.symbols = symbols;
        Ok(())
    }

    /// Walks the series section, checking each entry; returns the ids.
    fn read_series(&self, toc: &Toc) -> Result<Vec<u64>, BlockError> {
        let b = self.file.bytes();
        let start = toc.series as usize;
        // The section ends where the next one starts.
        let end = [
            toc.label_indices,
            toc.postings,
            toc.label_indices_table,
            toc.postings_table,
        ]
        .into_iter()
        .filter(|&x| x > toc.series)
        .min()
        .unwrap_or(toc.series) as usize;
        let mut pos = start;
        let mut ids = Vec::new();
        while pos < end {
            if b[pos] == 0 {
                pos += 1;
                continue;
            }
            if !pos.is_multiple_of(16) {
                return Err(self.corrupt(pos, "series entry not 16-byte aligned"));
            }
            let id = (pos / 16) as u64;
            let (_, len) = self.series_entry(id)?;
            ids.push(id);
            pos += len;
        }
        Ok(ids)
    }

    /// The checked body of series `id` and the entry's total length.
    fn series_entry(&self, id: u64) -> Result<(&[u8], usize), BlockError> {
        let b = self.file.bytes();
        let off = usize::try_from(id.saturating_mul(16)).unwrap_or(usize::MAX);
        let rest = b
            .get(off..)
            .ok_or_else(|| self.corrupt(off, "series id outside the file"))?;
        let (len, n) = super::super::enc::uvarint(rest)
            .ok_or_else(|| self.corrupt(off, "invalid series length"))?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let total = n
            .checked_add(len)
            .and_then(|x| x.checked_add(4))
            .filter(|&t| t <= rest.len())
            .ok_or_else(|| self.corrupt(off, "series entry runs past the end of the file"))?;
        let body = &rest[n..n + len];
        let want = u32::from_be_bytes(rest[n + len..total].try_into().expect("4 bytes"));
        if crc32c::crc32c(body) != want {
            return Err(self.corrupt(off, "series checksum mismatch"));
        }
        Ok((body, total))
    }

    /// Reads the postings offset table, checking every list against
    /// `series` (the ids of the series section).
    fn read_postings_table(&mut self, off: u64, series: &[u64]) -> Result<(), BlockError> {
        let (start, body) = self.section(off)?;
        let mut d = Decbuf::new(body);
        let count = d.be32().map_err(self.decode_err(start))?;
        let mut names: BTreeMap<String, Vec<ValueEntry>> = BTreeMap::new();
        let mut all_at = None;
        let mut last: Option<(&str, &str)> = None;
        for _ in 0..count {
            let entry_at = start + d.pos();
            let e = (|| {
                let keys = d.uvarint()?;
                let name = d.uvarint_str()?;
                let value_at = start + d.pos();
                let value = d.uvarint_str()?;
                let postings_at = d.uvarint()?;
                Ok((keys, name, value_at, value, postings_at))
            })();
            let (keys, name, value_at, value, postings_at) = e.map_err(self.decode_err(start))?;
            if keys != 2 {
                return Err(
                    self.corrupt(entry_at, format!("postings table entry with {keys} keys"))
                );
            }
            if last.is_some_and(|l| l >= (name, value)) {
                return Err(self.corrupt(entry_at, "postings table not sorted"));
            }
            last = Some((name, value));
            self.check_postings(postings_at, series)?;
            if name.is_empty() {
                all_at = Some(postings_at);
                continue;
            }
            names.entry(name.to_string()).or_default().push(ValueEntry {
                value_at: value_at as u64,
                postings_at,
            });
        }
        let all_at = all_at.ok_or_else(|| self.corrupt(start, "no all-series postings list"))?;
        let all = self.postings_at(all_at);
        if all != series {
            return Err(self.corrupt(
                all_at as usize,
                "all-series postings differ from the series section",
            ));
        }
        self.all_at = all_at;
        self.names = names;
        Ok(())
    }

    /// Label indices are not used for lookups since Prometheus 2.x, but
    /// they are part of the file: check the table and each one's checksum.
    fn check_label_indices(&self, off: u64) -> Result<(), BlockError> {
        let (start, body) = self.section(off)?;
        let mut d = Decbuf::new(body);
        let count = d.be32().map_err(self.decode_err(start))?;
        for _ in 0..count {
            let entry_at = start + d.pos();
            let e = (|| {
                let keys = d.uvarint()?;
                for _ in 0..keys.min(body.len() as u64) {
                    d.uvarint_str()?;
                }
                Ok((keys, d.uvarint()?))
            })();
            let (keys, at) = e.map_err(self.decode_err(start))?;
            if keys != 1 {
                return Err(self.corrupt(
                    entry_at,
                    format!("label index table entry with {keys} keys"),
                ));
            }
            self.section(at)?;
        }
        Ok(())
    }

    /// Checks a postings list: checksum, length, sorted ids of real series.
    fn check_postings(&self, off: u64, series: &[u64]) -> Result<(), BlockError> {
        let (start, body) = self.section(off)?;
        let n = body
            .get(..4)
            .map(|x| u32::from_be_bytes(x.try_into().expect("4 bytes")) as usize)
            .ok_or_else(|| self.corrupt(start, "postings list without a count"))?;
        if body.len() != 4 + 4 * n {
            return Err(self.corrupt(start, "postings list length does not match its count"));
        }
        let mut prev = None;
        for c in body[4..].chunks_exact(4) {
            let id = u64::from(u32::from_be_bytes(c.try_into().expect("4 bytes")));
            if prev.is_some_and(|p| p >= id) {
                return Err(self.corrupt(start, "postings list not sorted"));
            }
            if series.binary_search(&id).is_err() {
                return Err(self.corrupt(
                    start,
                    format!("postings name series {id}, which does not exist"),
                ));
            }
            prev = Some(id);
        }
        Ok(())
    }

    /// A list already checked by [`IndexReader::check_postings`].
    fn postings_at(&self, off: u64) -> Vec<u64> {
        let b = self.file.bytes();
        let start = off as usize + 8;
        let n =
            u32::from_be_bytes(b[off as usize + 4..start].try_into().expect("4 bytes")) as usize;
        b[start..start + 4 * n]
            .chunks_exact(4)
            .map(|c| u64::from(u32::from_be_bytes(c.try_into().expect("4 bytes"))))
            .collect()
    }

    /// A string the open checks proved sound.
    fn str_at(&self, at: usize) -> &str {
        Decbuf::new(&self.file.bytes()[at..])
            .uvarint_str()
            .unwrap_or("")
    }

    fn symbol(&self, r: u32, at: usize) -> Result<&str, BlockError> {
        let off = *self
            .symbols
            .get(r as usize)
            .ok_or_else(|| self.corrupt(at, format!("unknown symbol {r}")))?;
        Ok(self.str_at(off as usize))
    }

    /// Every series id, ascending (which is label order).
    pub fn all_series(&self) -> Vec<u64> {
        self.postings_at(self.all_at)
    }

    /// How many series the block has.
    pub fn num_series(&self) -> usize {
        self.num_series
    }

    /// See [`MappedFile::release`]: after a query, so the pages it read
    /// do not stay in vigil's resident memory.
    pub fn release(&self) {
        self.file.release();
    }

    /// Sorted label names.
    pub fn label_names(&self) -> impl Iterator<Item = &str> {
        self.names.keys().map(String::as_str)
    }

    /// Sorted values of `name`.
    pub fn label_values(&self, name: &str) -> impl Iterator<Item = &str> {
        self.names
            .get(name)
            .into_iter()
            .flatten()
            .map(|e| self.str_at(e.value_at as usize))
    }

    /// The series carrying `name="value"`, ascending.
    pub fn postings(&self, name: &str, value: &str) -> Vec<u64> {
        let Some(values) = self.names.get(name) else {
            return Vec::new();
        };
        match values.binary_search_by(|e| self.str_at(e.value_at as usize).cmp(value)) {
            Ok(i) => self.postings_at(values[i].postings_at),
            Err(_) => Vec::new(),
        }
    }

    /// Sorted union of the postings of the values of `name` that `keep`
    /// accepts.
    pub fn postings_where(&self, name: &str, keep: &dyn Fn(&str) -> bool) -> Vec<u64> {
        let mut out: Vec<u64> = Vec::new();
        let mut lists = 0;
        for e in self.names.get(name).into_iter().flatten() {
            if keep(self.str_at(e.value_at as usize)) {
                out.extend(self.postings_at(e.postings_at));
                lists += 1;
            }
        }
        if lists > 1 {
            out.sort_unstable();
            out.dedup();
        }
        out
    }

    /// Labels and chunk metas of series `id`.
    pub fn series(&self, id: u64) -> Result<(Labels, Vec<ChunkMeta>), BlockError> {
        let (body, _) = self.series_entry(id)?;
        let at = (id * 16) as usize;
        let mut d = Decbuf::new(body);
        let err = self.decode_err(at);
        let n = d.uvarint().map_err(&err)?;
        let mut labels: Vec<Label> = Vec::with_capacity((n as usize).min(body.len()));
        for _ in 0..n {
            let name = self.symbol(d.uvarint32().map_err(&err)?, at)?;
            let value = self.symbol(d.uvarint32().map_err(&err)?, at)?;
            if value.is_empty() || labels.last().is_some_and(|l| l.name.as_str() >= name) {
                return Err(self.corrupt(at, "series labels not sorted, duplicated or empty"));
            }
            labels.push(Label::new(name, value));
        }
        let k = d.uvarint().map_err(&err)?;
        let mut chunks: Vec<ChunkMeta> = Vec::with_capacity((k as usize).min(body.len()));
        for i in 0..k {
            let c = if i == 0 {
                let mint = d.varint().map_err(&err)?;
                let maxt = mint.wrapping_add(d.uvarint().map_err(&err)? as i64);
                ChunkMeta {
                    mint,
                    maxt,
                    reference: d.uvarint().map_err(&err)?,
                }
            } else {
                let p = chunks[chunks.len() - 1];
                let mint = p.maxt.wrapping_add(d.uvarint().map_err(&err)? as i64);
                let maxt = mint.wrapping_add(d.uvarint().map_err(&err)? as i64);
                let reference = (p.reference as i64).wrapping_add(d.varint().map_err(&err)?) as u64;
                ChunkMeta {
                    mint,
                    maxt,
                    reference,
                }
            };
            if c.maxt < c.mint {
                return Err(self.corrupt(at, "chunk ends before it starts"));
            }
            chunks.push(c);
        }
        Ok((Labels::from_sorted(labels), chunks))
    }
}

/// Lets `store::select` resolve matchers against a block's index.
impl crate::store::select::PostingsSource for IndexReader {
    fn postings(&self, name: &str, value: &str) -> Cow<'_, [u64]> {
        Cow::Owned(IndexReader::postings(self, name, value))
    }

    fn postings_where(&self, name: &str, keep: &dyn Fn(&str) -> bool) -> Vec<u64> {
        IndexReader::postings_where(self, name, keep)
    }

    fn all(&self) -> Cow<'_, [u64]> {
        Cow::Owned(self.all_series())
    }
}
