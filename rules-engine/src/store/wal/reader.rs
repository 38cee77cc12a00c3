//! Reads the records of one segment (or checkpoint segment) back from its
//! bytes, checking every fragment's CRC32C and the fragment sequence, and
//! saying exactly where and why it stopped.

use super::page::{
    FIRST, FULL, HEADER_SIZE, LAST, MIDDLE, PAGE_SIZE, PAGE_TERM, RESERVED, SNAPPY, TYPE_MASK, ZSTD,
};

/// Why reading a segment stopped before its end, or skipped a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The segment ends inside a record: the writer was stopped while
    /// writing it. Everything before `offset` is good.
    #[error("torn record at offset {offset}: the segment ends inside it")]
    Torn { offset: u64 },
    /// The bytes at `offset` are not a valid record.
    #[error("corrupt record at offset {offset}: {reason}")]
    Corrupt { offset: u64, reason: String },
    /// A valid record this version cannot decode (a newer compression or
    /// flag); reading goes on after it.
    #[error("record at offset {offset} is in a format this version does not read: {reason}")]
    Unsupported { offset: u64, reason: String },
}

/// Iterates a segment's records. Call [`SegmentReader::next_record`] until
/// it returns `None`; a `Torn` or `Corrupt` error ends the segment.
pub struct SegmentReader<'a> {
    data: &'a [u8],
    pos: usize,
    frags: Vec<u8>,
    record: Vec<u8>,
    done: bool,
}

impl<'a> SegmentReader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self::starting_at(data, 0)
    }

    /// A reader from `offset`, which must be a record boundary (where a
    /// previous reader's [`SegmentReader::offset`] stood).
    pub fn starting_at(data: &'a [u8], offset: u64) -> Self {
        SegmentReader {
            data,
            pos: usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(data.len()),
            frags: Vec::new(),
            record: Vec::new(),
            done: false,
        }
    }

    /// Offset just past the last record returned.
    pub fn offset(&self) -> u64 {
        self.pos as u64
    }

    /// The next record, or `None` at the end of the segment.
    pub fn next_record(&mut self) -> Option<Result<&[u8], FrameError>> {
        if self.done {
            return None;
        }
        match self.read() {
            Ok(Some(compressed)) => match self.decompress(compressed) {
                Ok(()) => Some(Ok(&self.record)),
                Err(e) => Some(Err(e)),
            },
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                if !matches!(e, FrameError::Unsupported { .. }) {
                    self.done = true;
                }
                Some(Err(e))
            }
        }
    }

    /// Reads one record's fragments into `frags`; returns the compression
    /// flags, or `None` at a clean end.
    fn read(&mut self) -> Result<Option<u8>, FrameError> {
        self.frags.clear();
        let start = self.pos as u64;
        let mut expect_first = true;
        loop {
            let Some(&head) = self.data.get(self.pos) else {
                return if expect_first {
                    Ok(None)
                } else {
                    Err(FrameError::Torn { offset: start })
                };
            };
            let kind = head & TYPE_MASK;
            if kind == PAGE_TERM {
                self.skip_padding(start, expect_first)?;
                continue;
            }
            let corrupt = |reason: String| FrameError::Corrupt {
                offset: start,
                reason,
            };
            let page_left = PAGE_SIZE - self.pos % PAGE_SIZE;
            if page_left < HEADER_SIZE {
                return Err(corrupt("a record header crosses a page boundary".into()));
            }
            let Some(header) = self.data.get(self.pos..self.pos + HEADER_SIZE) else {
                return Err(FrameError::Torn { offset: start });
            };
            let len = usize::from(u16::from_be_bytes([header[1], header[2]]));
            let crc = u32::from_be_bytes([header[3], header[4], header[5], header[6]]);
            if len > page_left - HEADER_SIZE {
                return Err(corrupt(format!(
                    "fragment of {len} bytes overruns its page"
                )));
            }
            let body_at = self.pos + HEADER_SIZE;
            let Some(part) = self.data.get(body_at..body_at + len) else {
                return Err(FrameError::Torn { offset: start });
            };
            if crc32c::crc32c(part) != crc {
                return Err(corrupt("checksum mismatch".into()));
            }
            let valid = match kind {
                FULL | FIRST => expect_first,
                MIDDLE | LAST => !expect_first,
                _ => false,
            };
            if !valid {
                return Err(corrupt(format!("unexpected fragment type {kind}")));
            }
            self.frags.extend_from_slice(part);
            self.pos = body_at + len;
            if kind == FULL || kind == LAST {
                let flags = head & !TYPE_MASK;
                if flags & (RESERVED | ZSTD) != 0 {
                    return Err(FrameError::Unsupported {
                        offset: start,
                        reason: format!("flags {flags:#04x} (zstd or newer)"),
                    });
                }
                return Ok(Some(flags));
            }
            expect_first = false;
        }
    }

    /// Skips the zeros that end a page; anything else there is damage.
    fn skip_padding(&mut self, start: u64, expect_first: bool) -> Result<(), FrameError> {
        let end = (self.pos / PAGE_SIZE + 1) * PAGE_SIZE;
        let pad = &self.data[self.pos..end.min(self.data.len())];
        if pad.iter().any(|&b| b != 0) {
            return Err(FrameError::Corrupt {
                offset: self.pos as u64,
                reason: "non-zero byte in page padding".into(),
            });
        }
        if !expect_first {
            return Err(FrameError::Corrupt {
                offset: start,
                reason: "page padding inside a record".into(),
            });
        }
        self.pos = end.min(self.data.len());
        Ok(())
    }

    fn decompress(&mut self, flags: u8) -> Result<(), FrameError> {
        self.record.clear();
        if flags & SNAPPY == 0 {
            std::mem::swap(&mut self.record, &mut self.frags);
            return Ok(());
        }
        let bad = |e: snap::Error| FrameError::Corrupt {
            offset: self.pos as u64,
            reason: format!("snappy: {e}"),
        };
        let len = snap::raw::decompress_len(&self.frags).map_err(bad)?;
        self.record.resize(len, 0);
        snap::raw::Decoder::new()
            .decompress(&self.frags, &mut self.record)
            .map_err(bad)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::page::PageFramer;
    use super::*;
    use proptest::prelude::*;

    fn framed(records: &[Vec<u8>], flags: u8) -> Vec<u8> {
        let mut f = PageFramer::new(1 << 20);
        let mut out = Vec::new();
        for r in records {
            f.frame(r, flags, &mut out);
        }
        out
    }

    fn read_all(data: &[u8]) -> (Vec<Vec<u8>>, Option<FrameError>) {
        let mut r = SegmentReader::new(data);
        let mut got = Vec::new();
        while let Some(rec) = r.next_record() {
            match rec {
                Ok(rec) => got.push(rec.to_vec()),
                Err(e) => return (got, Some(e)),
            }
        }
        (got, None)
    }

    #[test]
    fn reads_back_records_of_every_size() {
        let records: Vec<Vec<u8>> = [0, 1, 100, PAGE_SIZE - 7, PAGE_SIZE, 3 * PAGE_SIZE + 5]
            .iter()
            .map(|&n| (0..n).map(|i| (i % 251) as u8).collect())
            .collect();
        assert_eq!(read_all(&framed(&records, 0)), (records, None));
    }

    #[test]
    fn snappy_records_are_decompressed() {
        let rec = vec![5u8; 10_000];
        let packed = snap::raw::Encoder::new().compress_vec(&rec).unwrap();
        assert_eq!(read_all(&framed(&[packed], SNAPPY)), (vec![rec], None));
    }

    #[test]
    fn a_cut_inside_the_last_record_is_torn_at_its_start() {
        let records = vec![vec![1u8; 50], vec![2u8; 40_000]];
        let data = framed(&records, 0);
        let second = HEADER_SIZE + 50;
        for cut in second + 1..data.len() {
            let (got, err) = read_all(&data[..cut]);
            assert_eq!(got, records[..1], "cut at {cut}");
            assert_eq!(
                err,
                Some(FrameError::Torn {
                    offset: second as u64
                })
            );
        }
    }

    #[test]
    fn a_flipped_byte_is_corruption_at_its_record() {
        let records = vec![vec![1u8; 50], vec![2u8; 50], vec![3u8; 50]];
        let mut data = framed(&records, 0);
        data[HEADER_SIZE + 50 + HEADER_SIZE + 10] ^= 0x40;
        let (got, err) = read_all(&data);
        assert_eq!(got, records[..1]);
        assert!(matches!(err, Some(FrameError::Corrupt { offset, .. }) if offset == 57));
    }

    proptest! {
        #[test]
        fn any_bytes_are_read_without_panicking(data: Vec<u8>, flip in 0usize..4096) {
            let _ = read_all(&data);
            let mut good = framed(&[data.clone(), vec![9; 3000]], 0);
            let i = flip % good.len();
            good[i] ^= 0xff;
            let _ = read_all(&good);
        }
    }
}
