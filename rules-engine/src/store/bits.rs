//! A most-significant-bit-first bit stream over bytes, the substrate of the
//! Gorilla chunk encoding. Written here rather than taken from a crate
//! because the chunk needs exactly two operations (append n bits, read n
//! bits) and their cost is the append hot path: a generic bitstream crate
//! adds a dependency without removing code.

/// Appends bits to a growing byte buffer.
#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    buf: Vec<u8>,
    /// Bits still free in the last byte (0 when the buffer is byte-aligned).
    free: u8,
}

impl BitWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the low `n` bits of `value`, most significant first.
    #[inline]
    pub fn write_bits(&mut self, value: u64, mut n: u8) {
        debug_assert!(n <= 64);
        while n > 0 {
            if self.free == 0 {
                self.buf.push(0);
                self.free = 8;
            }
            let take = n.min(self.free);
            // The next `take` bits of `value`, counted from the top of the n.
            let chunk = ((value >> (n - take)) & ((1u64 << take) - 1)) as u8;
            let last = self.buf.len() - 1;
            self.buf[last] |= chunk << (self.free - take);
            self.free -= take;
            n -= take;
        }
    }

    #[inline]
    pub fn write_bit(&mut self, bit: bool) {
        self.write_bits(u64::from(bit), 1);
    }

    /// Where the next bit goes (for a prefetch hint).
    pub fn tail(&self) -> *const u8 {
        self.buf
            .as_ptr()
            .wrapping_add(self.buf.len().saturating_sub(1))
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Bits still free in the last byte (for a snapshot of the writer).
    pub fn free_bits(&self) -> u8 {
        self.free
    }

    /// A writer continuing after `buf` with `free` bits left in its last
    /// byte (the inverse of [`BitWriter::bytes`] and
    /// [`BitWriter::free_bits`]). `None` when they do not fit together.
    pub fn resume(buf: Vec<u8>, free: u8) -> Option<Self> {
        (free < 8 && (free == 0 || !buf.is_empty())).then_some(BitWriter { buf, free })
    }

    /// Bytes of heap the buffer holds (capacity, not length).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

/// Reads bits written by [`BitWriter`]. Reading past the end yields zero
/// bits; callers bound their reads by the sample count they stored.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    buf: &'a [u8],
    /// Position in bits from the start of `buf`.
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        BitReader { buf, pos: 0 }
    }

    #[inline]
    pub fn read_bit(&mut self) -> bool {
        let byte = self.buf.get(self.pos / 8).copied().unwrap_or(0);
        let bit = (byte >> (7 - (self.pos % 8))) & 1;
        self.pos += 1;
        bit == 1
    }

    /// Reads `n` bits (at most 64) as the low bits of a `u64`.
    #[inline]
    pub fn read_bits(&mut self, mut n: u8) -> u64 {
        debug_assert!(n <= 64);
        let mut out: u64 = 0;
        while n > 0 {
            let byte = self.buf.get(self.pos / 8).copied().unwrap_or(0);
            let used = (self.pos % 8) as u8;
            let avail = 8 - used;
            let take = n.min(avail);
            let bits = (byte >> (avail - take)) & (((1u16 << take) - 1) as u8);
            out = (out << take) | u64::from(bits);
            self.pos += take as usize;
            n -= take;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn bits_round_trip(items in proptest::collection::vec((any::<u64>(), 0u8..=64), 0..200)) {
            let mut w = BitWriter::new();
            for &(v, n) in &items {
                w.write_bits(v, n);
            }
            let mut r = BitReader::new(w.bytes());
            for &(v, n) in &items {
                let mask = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
                prop_assert_eq!(r.read_bits(n), v & mask);
            }
        }
    }

    #[test]
    fn single_bits_pack_msb_first() {
        let mut w = BitWriter::new();
        for b in [true, false, true, true, false, false, false, false, true] {
            w.write_bit(b);
        }
        assert_eq!(w.bytes(), &[0b1011_0000, 0b1000_0000]);
        let mut r = BitReader::new(w.bytes());
        assert!(r.read_bit());
        assert!(!r.read_bit());
        assert_eq!(r.read_bits(7), 0b110_0001);
    }
}
