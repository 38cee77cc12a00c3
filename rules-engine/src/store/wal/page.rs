//! Page framing of a segment, as Prometheus's WAL lays it out (see
//! `FORMAT.md`): 32 KiB pages, each record split into fragments that never
//! cross a page, each fragment `type(1) len(2, BE) crc32c(4, BE) data`.
//! A page with fewer than 7 bytes left is padded with zeros.

/// Bytes in a page.
pub const PAGE_SIZE: usize = 32 * 1024;
/// A fragment's header: type, length, CRC32C.
pub const HEADER_SIZE: usize = 7;

/// Fragment types (the low 3 bits of the type byte).
pub const PAGE_TERM: u8 = 0;
pub const FULL: u8 = 1;
pub const FIRST: u8 = 2;
pub const MIDDLE: u8 = 3;
pub const LAST: u8 = 4;
/// Flag bits of the type byte.
pub const SNAPPY: u8 = 1 << 3;
pub const ZSTD: u8 = 1 << 4;
/// Bits no version of the format up to now sets.
pub const RESERVED: u8 = 0b1110_0000;
pub const TYPE_MASK: u8 = 0b0000_0111;

/// Where the writer is within its segment.
#[derive(Debug, Clone, Copy)]
pub struct PageFramer {
    /// Bytes used in the current page.
    fill: usize,
    /// Whole pages written before the current one.
    done_pages: usize,
    pages_per_segment: usize,
}

impl PageFramer {
    /// A framer at the start of an empty segment of `segment_size` bytes.
    pub fn new(segment_size: usize) -> Self {
        PageFramer {
            fill: 0,
            done_pages: 0,
            pages_per_segment: (segment_size / PAGE_SIZE).max(1),
        }
    }

    /// Bytes framed into this segment so far.
    pub fn offset(&self) -> u64 {
        (self.done_pages * PAGE_SIZE + self.fill) as u64
    }

    pub fn is_empty(&self) -> bool {
        self.offset() == 0
    }

    /// Whether a record of `len` bytes still fits in this segment. Records
    /// never span segments; one larger than a whole segment gets a segment
    /// of its own.
    pub fn fits(&self, len: usize) -> bool {
        let (fill, done) = if PAGE_SIZE - self.fill < HEADER_SIZE {
            (0, self.done_pages + 1)
        } else {
            (self.fill, self.done_pages)
        };
        if done >= self.pages_per_segment {
            return false;
        }
        let in_page = PAGE_SIZE - fill - HEADER_SIZE;
        let later_pages = (PAGE_SIZE - HEADER_SIZE) * (self.pages_per_segment - done - 1);
        len <= in_page + later_pages
    }

    /// Appends `rec`'s fragments (with `flags` in each type byte) to `out`.
    pub fn frame(&mut self, rec: &[u8], flags: u8, out: &mut Vec<u8>) {
        self.pad_if_full(out);
        let mut rest = rec;
        let mut first = true;
        loop {
            let room = PAGE_SIZE - self.fill - HEADER_SIZE;
            let (part, tail) = rest.split_at(rest.len().min(room));
            let kind = match (first, tail.is_empty()) {
                (true, true) => FULL,
                (true, false) => FIRST,
                (false, true) => LAST,
                (false, false) => MIDDLE,
            };
            out.push(kind | flags);
            out.extend_from_slice(&(part.len() as u16).to_be_bytes());
            out.extend_from_slice(&crc32c::crc32c(part).to_be_bytes());
            out.extend_from_slice(part);
            self.fill += HEADER_SIZE + part.len();
            self.pad_if_full(out);
            rest = tail;
            first = false;
            if rest.is_empty() {
                return;
            }
        }
    }

    /// Pads the current page to its end (before the segment is closed), so
    /// every segment but the newest is made of whole pages.
    pub fn pad_page(&mut self, out: &mut Vec<u8>) {
        if self.fill > 0 {
            out.resize(out.len() + PAGE_SIZE - self.fill, 0);
            self.fill = 0;
            self.done_pages += 1;
        }
    }

    fn pad_if_full(&mut self, out: &mut Vec<u8>) {
        if PAGE_SIZE - self.fill < HEADER_SIZE {
            self.pad_page(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_never_cross_pages_and_pages_are_padded() {
        let mut f = PageFramer::new(4 * PAGE_SIZE);
        let mut out = Vec::new();
        f.frame(&vec![7u8; PAGE_SIZE - HEADER_SIZE - 3], 0, &mut out);
        // Three bytes left: less than a header, so the page was padded.
        assert_eq!(out.len(), PAGE_SIZE);
        assert_eq!(f.offset(), PAGE_SIZE as u64);
        f.frame(&vec![1u8; PAGE_SIZE], SNAPPY, &mut out);
        // FIRST fills page 2, LAST starts page 3.
        assert_eq!(out[PAGE_SIZE], FIRST | SNAPPY);
        assert_eq!(out[2 * PAGE_SIZE], LAST | SNAPPY);
        assert_eq!(out.len(), 2 * PAGE_SIZE + HEADER_SIZE + HEADER_SIZE);
    }

    #[test]
    fn fits_counts_the_pages_left() {
        let f = PageFramer::new(2 * PAGE_SIZE);
        assert!(f.fits(2 * (PAGE_SIZE - HEADER_SIZE)));
        assert!(!f.fits(2 * (PAGE_SIZE - HEADER_SIZE) + 1));
    }
}
