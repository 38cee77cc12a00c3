//! A compressed chunk of float samples: delta-of-delta timestamps and XOR
//! floats, after Facebook's Gorilla paper (Pelkonen et al., VLDB 2015), with
//! timestamp buckets tuned for scrape jitter.
//!
//! ```text
//! struct: first_t (i64, not in the payload) | n samples (u16) | appender state
//! payload bits, sample 0:  value: 64 raw bits
//!               sample i:  dod(t) | xor(v)
//!
//! dod = (t_i - t_{i-1}) - (t_{i-1} - t_{i-2})   (the first delta counts as a dod from 0)
//!   0                  '0'
//!   fits in  7 bits    '10'   + 7-bit two's complement   (scrape jitter of ms)
//!   fits in 14 bits    '110'  + 14 bits                  (±8 s)
//!   fits in 20 bits    '1110' + 20 bits                  (±8.7 min)
//!   otherwise          '1111' + 64 bits                  (wrapping: any i64 jump)
//!
//! xor = bits(v_i) ^ bits(v_{i-1})
//!   0                                   '0'
//!   fits the previous [lead, trail]     '10' + the meaningful bits
//!   otherwise                           '11' + lead (5 bits) + len (6 bits, 64 as 0) + bits
//! ```
//!
//! Values are compared and stored as bit patterns, so every NaN payload,
//! including Prometheus's staleness marker, comes back bit for bit.

use super::bits::{BitReader, BitWriter};
use crate::model::Sample;

/// Marks "no previous XOR window" in the appender and reader state.
const NO_WINDOW: u8 = 0xff;

/// An appendable chunk. A closed chunk is the same struct, shrunk.
#[derive(Debug, Clone)]
pub struct Chunk {
    w: BitWriter,
    n: u16,
    leading: u8,
    trailing: u8,
    first_t: i64,
    last_t: i64,
    last_delta: i64,
    last_v: u64,
}

impl Default for Chunk {
    fn default() -> Self {
        Self::new()
    }
}

impl Chunk {
    pub fn new() -> Self {
        Chunk {
            w: BitWriter::new(),
            n: 0,
            leading: NO_WINDOW,
            trailing: 0,
            first_t: 0,
            last_t: 0,
            last_delta: 0,
            last_v: 0,
        }
    }

    /// Appends a sample. The caller guarantees `t` is later than the last
    /// one (the series enforces ordering; the encoding itself would accept
    /// any `t`, since deltas wrap).
    pub fn append(&mut self, t: i64, v: f64) {
        let bits = v.to_bits();
        if self.n == 0 {
            self.first_t = t;
            self.w.write_bits(bits, 64);
        } else {
            let delta = t.wrapping_sub(self.last_t);
            write_dod(&mut self.w, delta.wrapping_sub(self.last_delta));
            self.last_delta = delta;
            self.write_xor(bits ^ self.last_v);
        }
        self.last_t = t;
        self.last_v = bits;
        self.n += 1;
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

    /// The first sample's timestamp (meaningless while empty).
    pub fn first_time(&self) -> i64 {
        self.first_t
    }

    /// The newest sample (meaningless while empty).
    pub fn last(&self) -> (i64, f64) {
        (self.last_t, f64::from_bits(self.last_v))
    }

    /// Encoded payload size in bytes.
    pub fn byte_len(&self) -> usize {
        self.w.byte_len()
    }

    /// Heap bytes held, which exceeds `byte_len` while the chunk is open.
    pub fn heap_bytes(&self) -> usize {
        self.w.capacity()
    }

    /// Releases spare capacity once the chunk is full.
    pub fn shrink(&mut self) {
        self.w.shrink_to_fit();
    }

    pub fn iter(&self) -> ChunkIter<'_> {
        ChunkIter::new(self)
    }
}

fn write_dod(w: &mut BitWriter, dod: i64) {
    if dod == 0 {
        w.write_bit(false);
        return;
    }
    for (prefix, prefix_len, bits) in [(0b10, 2, 7), (0b110, 3, 14), (0b1110, 4, 20)] {
        let half = 1i64 << (bits - 1);
        if (-half..half).contains(&dod) {
            w.write_bits(prefix, prefix_len);
            w.write_bits(dod as u64, bits);
            return;
        }
    }
    w.write_bits(0b1111, 4);
    w.write_bits(dod as u64, 64);
}

fn read_dod(r: &mut BitReader<'_>) -> i64 {
    let mut ones = 0;
    while ones < 4 && r.read_bit() {
        ones += 1;
    }
    let bits: u8 = match ones {
        0 => return 0,
        1 => 7,
        2 => 14,
        3 => 20,
        _ => 64,
    };
    let raw = r.read_bits(bits);
    // Sign-extend the two's complement value of `bits` bits.
    let shift = 64 - u32::from(bits);
    ((raw << shift) as i64) >> shift
}

/// Decodes a chunk's samples, oldest first.
#[derive(Debug, Clone)]
pub struct ChunkIter<'a> {
    r: BitReader<'a>,
    remaining: u16,
    first: bool,
    t: i64,
    delta: i64,
    v: u64,
    leading: u8,
    trailing: u8,
}

impl<'a> ChunkIter<'a> {
    pub fn new(c: &'a Chunk) -> Self {
        ChunkIter {
            r: BitReader::new(c.w.bytes()),
            remaining: c.n,
            first: true,
            t: c.first_t,
            delta: 0,
            v: 0,
            leading: NO_WINDOW,
            trailing: 0,
        }
    }

    fn read_xor(&mut self) {
        if !self.r.read_bit() {
            return;
        }
        if self.r.read_bit() {
            self.leading = self.r.read_bits(5) as u8;
            let mut len = self.r.read_bits(6) as u8;
            if len == 0 {
                len = 64;
            }
            self.trailing = 64 - self.leading - len;
        }
        let len = 64 - self.leading - self.trailing;
        self.v ^= self.r.read_bits(len) << self.trailing;
    }
}

impl Iterator for ChunkIter<'_> {
    type Item = Sample;

    #[inline]
    fn next(&mut self) -> Option<Sample> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        if self.first {
            self.first = false;
            self.v = self.r.read_bits(64);
        } else {
            self.delta = self.delta.wrapping_add(read_dod(&mut self.r));
            self.t = self.t.wrapping_add(self.delta);
            self.read_xor();
        }
        Some(Sample {
            t: self.t,
            v: f64::from_bits(self.v),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining as usize, Some(self.remaining as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{STALE_NAN_BITS, stale_nan};
    use proptest::prelude::*;

    fn round_trip(samples: &[(i64, u64)]) -> Vec<(i64, u64)> {
        let mut c = Chunk::new();
        for &(t, v) in samples {
            c.append(t, f64::from_bits(v));
        }
        c.iter().map(|s| (s.t, s.v.to_bits())).collect()
    }

    proptest! {
        #[test]
        fn arbitrary_ascending_samples_round_trip_bit_exact(
            start in any::<i64>(),
            steps in proptest::collection::vec((0u64..u64::MAX / 256, any::<u64>()), 0..120),
        ) {
            let mut t = start;
            let mut samples = Vec::new();
            for (step, v) in steps {
                samples.push((t, v));
                t = t.saturating_add(step as i64 + 1);
            }
            prop_assert_eq!(round_trip(&samples), samples);
        }

        #[test]
        fn jittered_scrapes_round_trip(
            jitter in proptest::collection::vec(-20_000i64..20_000, 1..120),
            values in proptest::collection::vec(prop_oneof![
                any::<f64>(), Just(f64::NAN), Just(stale_nan()), Just(0.0), Just(-0.0),
                Just(f64::INFINITY), Just(f64::NEG_INFINITY)], 120),
        ) {
            let samples: Vec<(i64, u64)> = jitter.iter().enumerate()
                .map(|(i, j)| (1_700_000_000_000 + i as i64 * 30_000 + j, values[i].to_bits()))
                .collect();
            prop_assert_eq!(round_trip(&samples), samples);
        }
    }

    #[test]
    fn staleness_marker_and_negative_zero_survive() {
        let samples = [
            (1000, 1.5f64.to_bits()),
            (2000, STALE_NAN_BITS),
            (3000, f64::NAN.to_bits()),
            (4000, (-0.0f64).to_bits()),
            (5000, 0.0f64.to_bits()),
        ];
        assert_eq!(round_trip(&samples), samples);
    }

    #[test]
    fn regular_constant_series_costs_about_two_bits_per_sample() {
        let mut c = Chunk::new();
        for i in 0..120 {
            c.append(1_700_000_000_000 + i * 15_000, 42.0);
        }
        // 64 bits for the first value, 24 + 1 for the second sample (its
        // delta is a dod from 0), then 2 bits (dod 0, xor 0) per sample.
        assert_eq!(c.byte_len(), (64 + 24 + 1 + 118 * 2usize).div_ceil(8));
        assert_eq!(c.last(), (1_700_000_000_000 + 119 * 15_000, 42.0));
    }
}
