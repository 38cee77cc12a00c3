//! Compressed chunks of float samples: delta-of-delta timestamps, and values
//! either XOR-coded as in Facebook's Gorilla (Pelkonen et al., VLDB 2015) or,
//! when they are short decimals, as delta-of-delta integers.
//!
//! ```text
//! header (not in the payload): first_t, last_t, n, mode (XOR or decimal scale s)
//! payload, sample 0:  value: 64 raw bits (XOR: the f64 bits; decimal: m as i64)
//!          sample i:  bucketed dod(t) | value code
//!
//! dod(t) = (t_i - t_{i-1}) - (t_{i-1} - t_{i-2})   (the first delta is a dod from 0)
//!   0 '0' | ±2^6 '10'+7 | ±2^13 '110'+14 | ±2^19 '1110'+20 | '1111'+64   (wrapping)
//!
//! XOR mode: x = bits(v_i) ^ bits(v_{i-1})
//!   0 '0' | within the previous [lead, trail] '10'+bits | '11'+lead(5)+len(6, 64 as 0)+bits
//!
//! decimal mode (v = m / 10^s exactly, s in 0..=9): dod(m), bucketed
//!   0 '0' | ±2^5 '10'+6 | ±2^9 '110'+10 | ±2^15 '1110'+16 | ±2^31 '11110'+32 | '11111'+64
//! ```
//!
//! Why the decimal mode: exporters print counters and gauges as short
//! decimals ("1234", "0.25", "1234.56"). XOR of two such doubles still
//! spans most of the mantissa once the low digits change, while their
//! scaled integers differ by a few units: a counter moving by about 100 per
//! scrape costs ~13 bits instead of ~20, CPU seconds in 0.01 steps ~12
//! instead of ~40. A value that does not fit the chunk's scale (NaN, the
//! staleness marker, a full-precision ratio) ends the chunk early and the
//! next chunk picks its mode from that value; [`OpenChunk::try_append`]
//! reports it.
//!
//! Values are stored as bit patterns in both modes, so every NaN payload,
//! including Prometheus's staleness marker, and -0.0 come back exactly.

mod encoding;
mod iter;
mod persist;
#[cfg(test)]
mod tests;

pub use iter::ChunkIter;

use encoding::{TIME_BUCKETS, VALUE_BUCKETS, find_scale, to_decimal, write_bucketed};

use super::bits::BitWriter;

/// The chunk's value coding: XOR, or decimal with this many digits.
const XOR: u8 = u8::MAX;
/// Marks "no previous XOR window" in the appender and reader state.
const NO_WINDOW: u8 = 0xff;

/// A chunk being appended to. [`OpenChunk::close`] makes it a compact
/// [`Chunk`].
#[derive(Debug, Clone)]
pub struct OpenChunk {
    w: BitWriter,
    n: u16,
    mode: u8,
    leading: u8,
    trailing: u8,
    first_t: i64,
    last_t: i64,
    last_delta: i64,
    last_v: u64,
    last_m: i64,
    last_mdelta: i64,
}

impl OpenChunk {
    /// Where the next append writes (for a prefetch hint).
    pub(crate) fn tail(&self) -> *const u8 {
        self.w.tail()
    }

    /// A chunk whose mode suits `first_v`: decimal with the smallest scale
    /// of at least `min_scale` that stores it exactly, else XOR.
    pub fn for_value(first_v: f64, min_scale: u8) -> Self {
        let mode = find_scale(first_v, min_scale).unwrap_or(XOR);
        OpenChunk {
            w: BitWriter::new(),
            n: 0,
            mode,
            leading: NO_WINDOW,
            trailing: 0,
            first_t: 0,
            last_t: 0,
            last_delta: 0,
            last_v: 0,
            last_m: 0,
            last_mdelta: 0,
        }
    }

    /// An XOR chunk, which accepts any value.
    pub fn xor() -> Self {
        Self::for_value(f64::NAN, 0)
    }

    /// The decimal scale, or `None` in XOR mode.
    pub fn scale(&self) -> Option<u8> {
        (self.mode != XOR).then_some(self.mode)
    }

    /// Appends a sample, or returns `false` (changing nothing) when the value
    /// does not fit a decimal chunk's scale. The caller keeps `t` ascending;
    /// the encoding itself would take any `t`, as deltas wrap.
    pub fn try_append(&mut self, t: i64, v: f64) -> bool {
        let bits = v.to_bits();
        let m = if self.mode == XOR {
            0
        } else {
            match to_decimal(v, self.mode) {
                Some(m) => m,
                None => return false,
            }
        };
        if self.n == 0 {
            self.first_t = t;
            let raw = if self.mode == XOR { bits } else { m as u64 };
            self.w.write_bits(raw, 64);
        } else {
            let delta = t.wrapping_sub(self.last_t);
            write_bucketed(
                &mut self.w,
                delta.wrapping_sub(self.last_delta),
                TIME_BUCKETS,
            );
            self.last_delta = delta;
            if self.mode == XOR {
                self.write_xor(bits ^ self.last_v);
            } else {
                let mdelta = m.wrapping_sub(self.last_m);
                write_bucketed(
                    &mut self.w,
                    mdelta.wrapping_sub(self.last_mdelta),
                    VALUE_BUCKETS,
                );
                self.last_mdelta = mdelta;
            }
        }
        self.last_t = t;
        self.last_v = bits;
        self.last_m = m;
        self.n += 1;
        true
    }

    fn write_xor(&mut self, xor: u64) {
        if xor == 0 {
            self.w.write_bit(false);
            return;
        }
        // 5 bits hold the leading count: cap at 31, the rest are coded as
        // meaningful bits.
        let lz = (xor.leading_zeros() as u8).min(31);
        let tz = xor.trailing_zeros() as u8;
        if self.leading != NO_WINDOW && lz >= self.leading && tz >= self.trailing {
            self.w.write_bits(0b10, 2);
            let len = 64 - self.leading - self.trailing;
            self.w.write_bits(xor >> self.trailing, len);
        } else {
            let len = 64 - lz - tz;
            self.w.write_bits(0b11, 2);
            self.w.write_bits(u64::from(lz), 5);
            self.w.write_bits(u64::from(len % 64), 6);
            self.w.write_bits(xor >> tz, len);
            self.leading = lz;
            self.trailing = tz;
        }
    }

    pub fn num_samples(&self) -> u16 {
        self.n
    }

    /// The newest sample (meaningless while empty).
    pub fn last(&self) -> (i64, f64) {
        (self.last_t, f64::from_bits(self.last_v))
    }

    /// Heap bytes held, which exceeds the payload while the chunk grows.
    pub fn heap_bytes(&self) -> usize {
        self.w.capacity()
    }

    pub fn as_ref(&self) -> ChunkRef<'_> {
        ChunkRef {
            data: self.w.bytes(),
            n: self.n,
            mode: self.mode,
            first_t: self.first_t,
            last_t: self.last_t,
        }
    }

    /// The compact immutable form: payload and header only, ~40 bytes of
    /// header instead of the appender's ~100.
    pub fn close(self) -> Chunk {
        Chunk {
            data: self.w.bytes().into(),
            first_t: self.first_t,
            last_t: self.last_t,
            n: self.n,
            mode: self.mode,
        }
    }
}

/// A full (or cut) chunk: immutable.
#[derive(Debug, Clone)]
pub struct Chunk {
    data: Box<[u8]>,
    first_t: i64,
    last_t: i64,
    n: u16,
    mode: u8,
}

impl Chunk {
    pub fn as_ref(&self) -> ChunkRef<'_> {
        ChunkRef {
            data: &self.data,
            n: self.n,
            mode: self.mode,
            first_t: self.first_t,
            last_t: self.last_t,
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.data.len()
    }
}

/// A read-only view of either kind of chunk.
#[derive(Debug, Clone, Copy)]
pub struct ChunkRef<'a> {
    data: &'a [u8],
    n: u16,
    mode: u8,
    first_t: i64,
    last_t: i64,
}

impl<'a> ChunkRef<'a> {
    pub fn first_time(&self) -> i64 {
        self.first_t
    }

    pub fn last_time(&self) -> i64 {
        self.last_t
    }

    pub fn num_samples(&self) -> u16 {
        self.n
    }

    /// Encoded payload size in bytes.
    pub fn byte_len(&self) -> usize {
        self.data.len()
    }

    pub fn iter(&self) -> ChunkIter<'a> {
        ChunkIter::new(self.data, self.n, self.mode, self.first_t)
    }
}
