//! Chunk segment files, `chunks/000001`, `000002`, ... (see
//! `tsdb/docs/format/chunks.md`):
//!
//! ```text
//! magic 0x85BD40DD <4> | version 1 <1> | padding <3>
//! (len <uvarint> | encoding <1> | data <len> | CRC32C(encoding, data) <4>)*
//! ```
//!
//! A chunk reference is `segment index << 32 | offset in the segment`, the
//! index counting segment files from 0 in name order.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::enc::{put_uvarint, uvarint};
use super::error::{BlockError, IoContext};
use super::mmap::MappedFile;

pub const CHUNKS_DIR: &str = "chunks";
const MAGIC: u32 = 0x85BD_40DD;
const VERSION: u8 = 1;
const HEADER_LEN: u64 = 8;
/// Prometheus's default segment size (`DefaultChunkSegmentSize`).
pub const SEGMENT_SIZE: u64 = 512 << 20;

/// Appends chunks to numbered segment files, cutting a new file when the
/// next chunk would pass the segment size.
pub struct ChunkWriter {
    dir: PathBuf,
    segment_size: u64,
    /// Index (from 0) of the open segment.
    seq: u64,
    out: Option<(PathBuf, BufWriter<File>)>,
    pos: u64,
    bytes_written: u64,
}

impl ChunkWriter {
    /// Creates `dir` (the block's `chunks/`).
    pub fn create(dir: &Path) -> Result<Self, BlockError> {
        Self::with_segment_size(dir, SEGMENT_SIZE)
    }

    pub fn with_segment_size(dir: &Path, segment_size: u64) -> Result<Self, BlockError> {
        fs::create_dir_all(dir).at(dir)?;
        Ok(ChunkWriter {
            dir: dir.to_path_buf(),
            segment_size,
            seq: 0,
            out: None,
            pos: 0,
            bytes_written: 0,
        })
    }

    fn cut(&mut self) -> Result<(), BlockError> {
        if self.out.is_some() {
            self.finish_segment()?;
            self.seq += 1;
        }
        let path = self.dir.join(format!("{:06}", self.seq + 1));
        let f = File::create(&path).at(&path)?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        let mut header = MAGIC.to_be_bytes().to_vec();
        header.extend_from_slice(&[VERSION, 0, 0, 0]);
        w.write_all(&header).at(&path)?;
        self.pos = HEADER_LEN;
        self.out = Some((path, w));
        Ok(())
    }

    /// Writes one chunk and returns its reference.
    pub fn write(&mut self, encoding: u8, data: &[u8]) -> Result<u64, BlockError> {
        let mut head = Vec::with_capacity(11);
        put_uvarint(&mut head, data.len() as u64);
        head.push(encoding);
        let size = head.len() as u64 + data.len() as u64 + 4;
        if self.out.is_none() || (self.pos > HEADER_LEN && self.pos + size > self.segment_size) {
            self.cut()?;
        }
        let crc = crc32c::crc32c_append(crc32c::crc32c(&[encoding]), data);
        let reference = self.seq << 32 | self.pos;
        let (path, w) = self.out.as_mut().expect("a segment is open after cut");
        w.write_all(&head).at(path)?;
        w.write_all(data).at(path)?;
        w.write_all(&crc.to_be_bytes()).at(path)?;
        self.pos += size;
        self.bytes_written += size;
        Ok(reference)
    }

    fn finish_segment(&mut self) -> Result<(), BlockError> {
        if let Some((path, w)) = self.out.take() {
            let f = w
                .into_inner()
                .map_err(|e| BlockError::io(&path, e.into_error()))?;
            f.sync_all().at(&path)?;
        }
        Ok(())
    }

    /// Flushes and syncs the last segment.
    pub fn close(mut self) -> Result<u64, BlockError> {
        self.finish_segment()?;
        Ok(self.bytes_written)
    }
}

/// The segments of one block, mapped.
#[derive(Debug)]
pub struct ChunkReader {
    segments: Vec<MappedFile>,
}

impl ChunkReader {
    /// Maps every numbered file of `dir` and checks its header.
    pub fn open(dir: &Path) -> Result<Self, BlockError> {
        let mut names: Vec<String> = Vec::new();
        for entry in fs::read_dir(dir).at(dir)? {
            let name = entry.at(dir)?.file_name().to_string_lossy().into_owned();
            if name.parse::<u64>().is_ok() {
                names.push(name);
            }
        }
        names.sort();
        let mut segments = Vec::with_capacity(names.len());
        for name in names {
            let seg = MappedFile::open(&dir.join(name))?;
            let b = seg.bytes();
            if b.len() < HEADER_LEN as usize {
                return Err(BlockError::corrupt(
                    seg.path(),
                    0,
                    "segment shorter than its header",
                ));
            }
            if u32::from_be_bytes([b[0], b[1], b[2], b[3]]) != MAGIC {
                return Err(BlockError::corrupt(seg.path(), 0, "bad magic number"));
            }
            if b[4] != VERSION {
                return Err(BlockError::corrupt(
                    seg.path(),
                    4,
                    format!("unknown version {}", b[4]),
                ));
            }
            segments.push(seg);
        }
        Ok(ChunkReader { segments })
    }

    /// Total bytes of the segment files.
    pub fn size(&self) -> u64 {
        self.segments.iter().map(MappedFile::size).sum()
    }

    /// See [`MappedFile::release`].
    pub fn release(&self) {
        for s in &self.segments {
            s.release();
        }
    }

    /// The encoding and data of the chunk at `reference`, its checksum
    /// verified.
    pub fn chunk(&self, reference: u64) -> Result<(u8, &[u8]), BlockError> {
        let seq = (reference >> 32) as usize;
        let off = (reference & 0xffff_ffff) as usize;
        let Some(seg) = self.segments.get(seq) else {
            let path = self
                .segments
                .first()
                .map_or(Path::new(CHUNKS_DIR), |s| s.path());
            return Err(BlockError::corrupt(
                path,
                off as u64,
                format!(
                    "chunk reference {reference:#x} names segment {seq}, the block has {}",
                    self.segments.len()
                ),
            ));
        };
        let b = seg.bytes();
        let corrupt = |what: &str| BlockError::corrupt(seg.path(), off as u64, what);
        if off < HEADER_LEN as usize || off >= b.len() {
            return Err(corrupt("chunk offset outside the segment"));
        }
        let (len, n) = uvarint(&b[off..]).ok_or_else(|| corrupt("invalid chunk length"))?;
        let start = off + n;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(1 + l + 4))
            .filter(|&e| e <= b.len())
            .ok_or_else(|| corrupt("chunk runs past the end of the segment"))?;
        let body = &b[start..end - 4];
        let want = u32::from_be_bytes(b[end - 4..end].try_into().expect("4 bytes"));
        if crc32c::crc32c(body) != want {
            return Err(corrupt("chunk checksum mismatch"));
        }
        Ok((body[0], &body[1..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_cut_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let cdir = dir.path().join(CHUNKS_DIR);
        let mut w = ChunkWriter::with_segment_size(&cdir, 64).unwrap();
        let datas: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 20 + usize::from(i)]).collect();
        let refs: Vec<u64> = datas.iter().map(|d| w.write(1, d).unwrap()).collect();
        w.close().unwrap();
        assert_eq!(refs[0], 8);
        assert!(refs.windows(2).all(|p| p[0] < p[1]));
        assert!(cdir.join("000002").exists(), "small segments were cut");
        let r = ChunkReader::open(&cdir).unwrap();
        for (d, &reference) in datas.iter().zip(&refs) {
            assert_eq!(r.chunk(reference).unwrap(), (1, d.as_slice()));
        }
        assert!(r.chunk(99 << 32).is_err());
        assert!(r.chunk(3).is_err());
    }

    #[test]
    fn flipped_byte_fails_the_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let cdir = dir.path().join(CHUNKS_DIR);
        let mut w = ChunkWriter::create(&cdir).unwrap();
        let reference = w.write(1, &[1, 2, 3, 4, 5]).unwrap();
        w.close().unwrap();
        let seg = cdir.join("000001");
        let mut b = fs::read(&seg).unwrap();
        let last = b.len() - 6;
        b[last] ^= 1;
        fs::write(&seg, &b).unwrap();
        let r = ChunkReader::open(&cdir).unwrap();
        let e = r.chunk(reference).unwrap_err();
        assert!(e.to_string().contains("000001"), "{e}");
        assert!(e.to_string().contains("checksum"), "{e}");
    }
}
