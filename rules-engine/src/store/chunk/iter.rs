//! Decoding a chunk's samples, oldest first (the inverse of
//! [`super::OpenChunk::try_append`]).

use super::encoding::{TIME_BUCKETS, VALUE_BUCKETS, from_decimal, read_bucketed};
use super::{NO_WINDOW, XOR};
use crate::model::Sample;
use crate::store::bits::BitReader;

#[derive(Debug, Clone)]
pub struct ChunkIter<'a> {
    r: BitReader<'a>,
    remaining: u16,
    first: bool,
    mode: u8,
    t: i64,
    delta: i64,
    v: u64,
    m: i64,
    mdelta: i64,
    leading: u8,
    trailing: u8,
}

impl<'a> ChunkIter<'a> {
    pub(super) fn new(data: &'a [u8], n: u16, mode: u8, first_t: i64) -> Self {
        ChunkIter {
            r: BitReader::new(data),
            remaining: n,
            first: true,
            mode,
            t: first_t,
            delta: 0,
            v: 0,
            m: 0,
            mdelta: 0,
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
            // Corrupt input must not underflow: clamp instead of panicking.
            self.trailing = 64u8.saturating_sub(self.leading).saturating_sub(len);
        }
        let len = 64u8
            .saturating_sub(self.leading)
            .saturating_sub(self.trailing);
        self.v ^= self
            .r
            .read_bits(len)
            .checked_shl(u32::from(self.trailing))
            .unwrap_or(0);
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
            let raw = self.r.read_bits(64);
            self.v = raw;
            self.m = raw as i64;
        } else {
            self.delta = self
                .delta
                .wrapping_add(read_bucketed(&mut self.r, TIME_BUCKETS));
            self.t = self.t.wrapping_add(self.delta);
            if self.mode == XOR {
                self.read_xor();
            } else {
                self.mdelta = self
                    .mdelta
                    .wrapping_add(read_bucketed(&mut self.r, VALUE_BUCKETS));
                self.m = self.m.wrapping_add(self.mdelta);
            }
        }
        let v = if self.mode == XOR {
            f64::from_bits(self.v)
        } else {
            from_decimal(self.m, self.mode)
        };
        Some(Sample { t: self.t, v })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining as usize, Some(self.remaining as usize))
    }
}
