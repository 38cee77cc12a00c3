//! Prometheus's XOR float chunk (`chunkenc.EncXOR`), bit for bit as
//! Prometheus 2.42 writes it, so blocks written here read in Prometheus and
//! theirs read here. This is not the head's own chunk encoding
//! (`store::chunk`), which differs in its time buckets and value modes.
//!
//! ```text
//! num_samples <u16 BE> | t0 <varint> | v0 <64 bits> | t1-t0 <uvarint> | v1 <xor>
//!                      | dod(t2) <varbit_ts> | v2 <xor> | ... | padding to a byte
//! varbit_ts: 0 | 10 +14 bits | 110 +17 bits | 1110 +20 bits | 1111 +64 bits
//! xor:       0 (same) | 10 + bits in the previous window
//!                     | 11 + leading <5> + significant bits <6, 64 as 0> + bits
//! ```
//!
//! Times and deltas use wrapping arithmetic as Go's does, so any `i64`
//! sequence (negative or irregular deltas included) round-trips.

use crate::model::Sample;

/// The chunk encoding byte of XOR float chunks in segment files.
pub const ENCODING_XOR: u8 = 1;

/// Go's `chunkenc.bstream` writer, replicated because its byte layout is
/// part of the format: a whole byte written at a byte boundary leaves an
/// empty byte after it, which Prometheus keeps at the end of a chunk.
#[derive(Debug, Clone, Default)]
struct GoBits {
    stream: Vec<u8>,
    /// Bits still free in the last byte of `stream`.
    count: u8,
}

impl GoBits {
    fn write_bit(&mut self, bit: bool) {
        if self.count == 0 {
            self.stream.push(0);
            self.count = 8;
        }
        if bit {
            let i = self.stream.len() - 1;
            self.stream[i] |= 1 << (self.count - 1);
        }
        self.count -= 1;
    }

    fn write_byte(&mut self, byte: u8) {
        if self.count == 0 {
            self.stream.push(0);
            self.count = 8;
        }
        let i = self.stream.len() - 1;
        self.stream[i] |= byte >> (8 - self.count);
        // The rest of the byte (nothing when count is 8) starts a new one.
        self.stream
            .push(((u16::from(byte) << self.count) & 0xff) as u8);
    }

    /// Writes the low `n` bits of `u`, most significant first.
    fn write_bits(&mut self, u: u64, n: u8) {
        if n == 0 {
            return;
        }
        let mut u = u << (64 - u32::from(n));
        let mut n = n;
        while n >= 8 {
            self.write_byte((u >> 56) as u8);
            u <<= 8;
            n -= 8;
        }
        while n > 0 {
            self.write_bit(u >> 63 == 1);
            u <<= 1;
            n -= 1;
        }
    }
}

/// Builds one XOR chunk sample by sample.
#[derive(Debug, Clone)]
pub struct XorEncoder {
    bits: GoBits,
    n: u16,
    t: i64,
    v: u64,
    t_delta: u64,
    /// Leading zeros of the current XOR window; 0xff before the first one.
    leading: u8,
    trailing: u8,
}

impl Default for XorEncoder {
    fn default() -> Self {
        XorEncoder {
            bits: GoBits::default(),
            n: 0,
            t: 0,
            v: 0,
            t_delta: 0,
            leading: 0xff,
            trailing: 0,
        }
    }
}

impl XorEncoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        usize::from(self.n)
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Appends a sample. Returns `false` (and appends nothing) when the
    /// chunk already holds the 65535 samples its header can count.
    pub fn append(&mut self, t: i64, v: f64) -> bool {
        let vb = v.to_bits();
        let mut t_delta = 0;
        match self.n {
            u16::MAX => return false,
            0 => {
                let mut buf = Vec::with_capacity(10);
                super::enc::put_varint(&mut buf, t);
                for b in buf {
                    self.bits.write_byte(b);
                }
                self.bits.write_bits(vb, 64);
            }
            1 => {
                t_delta = t.wrapping_sub(self.t) as u64;
                let mut buf = Vec::with_capacity(10);
                super::enc::put_uvarint(&mut buf, t_delta);
                for b in buf {
                    self.bits.write_byte(b);
                }
                self.write_value(vb);
            }
            _ => {
                t_delta = t.wrapping_sub(self.t) as u64;
                let dod = t_delta.wrapping_sub(self.t_delta) as i64;
                self.write_dod(dod);
                self.write_value(vb);
            }
        }
        self.t = t;
        self.v = vb;
        self.t_delta = t_delta;
        self.n += 1;
        true
    }

    fn write_dod(&mut self, dod: i64) {
        let b = &mut self.bits;
        if dod == 0 {
            b.write_bit(false);
        } else if bit_range(dod, 14) {
            b.write_bits(0b10, 2);
            b.write_bits(dod as u64, 14);
        } else if bit_range(dod, 17) {
            b.write_bits(0b110, 3);
            b.write_bits(dod as u64, 17);
        } else if bit_range(dod, 20) {
            b.write_bits(0b1110, 4);
            b.write_bits(dod as u64, 20);
        } else {
            b.write_bits(0b1111, 4);
            b.write_bits(dod as u64, 64);
        }
    }

    fn write_value(&mut self, vb: u64) {
        let delta = vb ^ self.v;
        let b = &mut self.bits;
        if delta == 0 {
            b.write_bit(false);
            return;
        }
        b.write_bit(true);
        // At most 31: the field has 5 bits.
        let leading = (delta.leading_zeros() as u8).min(31);
        let trailing = delta.trailing_zeros() as u8;
        if self.leading != 0xff && leading >= self.leading && trailing >= self.trailing {
            b.write_bit(false);
            b.write_bits(delta >> self.trailing, 64 - self.leading - self.trailing);
            return;
        }
        self.leading = leading;
        self.trailing = trailing;
        b.write_bit(true);
        b.write_bits(u64::from(leading), 5);
        let sig = 64 - leading - trailing;
        // 64 significant bits are written as 0 in the 6-bit field.
        b.write_bits(u64::from(sig), 6);
        b.write_bits(delta >> trailing, sig);
    }

    /// The chunk's bytes: the sample count, then the bit stream.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.bits.stream.len());
        out.extend_from_slice(&self.n.to_be_bytes());
        out.extend_from_slice(&self.bits.stream);
        out
    }
}

/// Whether `x` fits Prometheus's `nbits` dod bucket: `-(2^(n-1)-1) ..= 2^(n-1)`
/// (the top value is read back as positive, see `docs/bstream.md`).
fn bit_range(x: i64, nbits: u8) -> bool {
    -((1i64 << (nbits - 1)) - 1) <= x && x <= 1i64 << (nbits - 1)
}

/// Encodes samples into one chunk (at most 65535 of them).
pub fn encode(samples: &[Sample]) -> Vec<u8> {
    let mut e = XorEncoder::new();
    for s in samples {
        if !e.append(s.t, s.v) {
            break;
        }
    }
    e.bytes()
}

/// Why a chunk could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("XOR chunk: {what} at sample {sample}")]
pub struct XorError {
    pub sample: usize,
    pub what: &'static str,
}

/// Reads bits MSB first, failing instead of inventing bits past the end.
struct Bits<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn bits(&mut self, n: u8) -> Option<u64> {
        if n == 0 {
            return Some(0);
        }
        let wanted = usize::from(n);
        if self.pos + wanted > self.b.len() * 8 {
            return None;
        }
        // Fast path: the bits lie in the 8 bytes from the current one.
        let (byte, used) = (self.pos / 8, self.pos % 8);
        if let Some(w) = self.b.get(byte..byte + 8)
            && used + wanted <= 64
        {
            let w = u64::from_be_bytes(w.try_into().expect("8 bytes"));
            self.pos += wanted;
            return Some((w << used) >> (64 - wanted));
        }
        let mut out = 0u64;
        let mut left = n;
        while left > 0 {
            let byte = self.b[self.pos / 8];
            let used = (self.pos % 8) as u8;
            let take = left.min(8 - used);
            let chunk = (byte >> (8 - used - take)) & ((1u16 << take) - 1) as u8;
            out = (out << take) | u64::from(chunk);
            self.pos += usize::from(take);
            left -= take;
        }
        Some(out)
    }

    fn bit(&mut self) -> Option<bool> {
        self.bits(1).map(|b| b == 1)
    }

    fn uvarint(&mut self) -> Option<u64> {
        let mut x = 0u64;
        for i in 0..10 {
            let byte = self.bits(8)?;
            if i == 9 && byte > 1 {
                return None;
            }
            x |= (byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                return Some(x);
            }
        }
        None
    }
}

/// Decodes every sample of a chunk's data (the bytes after the encoding
/// byte). Damaged data gives an error, never a panic.
pub fn decode(chunk: &[u8]) -> Result<Vec<Sample>, XorError> {
    let mut out = Vec::new();
    decode_into(chunk, i64::MIN, i64::MAX, &mut out)?;
    Ok(out)
}

/// Decodes a chunk's data, appending to `out` the samples in `[mint,
/// maxt]` (the whole chunk is still read, so damage anywhere in it is an
/// error): a query's reads decode straight into one buffer per series.
pub fn decode_into(
    chunk: &[u8],
    mint: i64,
    maxt: i64,
    out: &mut Vec<Sample>,
) -> Result<(), XorError> {
    let err = |sample, what| XorError { sample, what };
    if chunk.len() < 2 {
        return Err(err(0, "missing sample count"));
    }
    let n = usize::from(u16::from_be_bytes([chunk[0], chunk[1]]));
    // Each sample takes at least two bits; reject counts the data cannot hold.
    if n > 1 && (chunk.len() - 2) * 4 < n {
        return Err(err(0, "sample count larger than the data"));
    }
    let mut r = Bits {
        b: &chunk[2..],
        pos: 0,
    };
    out.reserve(n);
    let (mut t, mut v, mut t_delta) = (0i64, 0u64, 0u64);
    let (mut leading, mut trailing) = (0u8, 0u8);
    for i in 0..n {
        let eof = || err(i, "unexpected end of data");
        match i {
            0 => {
                let u = r.uvarint().ok_or_else(eof)?;
                t = ((u >> 1) as i64) ^ -((u & 1) as i64);
                v = r.bits(64).ok_or_else(eof)?;
            }
            _ => {
                if i == 1 {
                    t_delta = r.uvarint().ok_or_else(eof)?;
                } else {
                    let dod = read_dod(&mut r).ok_or_else(eof)?;
                    t_delta = (t_delta as i64).wrapping_add(dod) as u64;
                }
                t = t.wrapping_add(t_delta as i64);
                v = read_value(&mut r, v, &mut leading, &mut trailing).map_err(|w| err(i, w))?;
            }
        }
        if t >= mint && t <= maxt {
            out.push(Sample {
                t,
                v: f64::from_bits(v),
            });
        }
    }
    Ok(())
}

fn read_dod(r: &mut Bits<'_>) -> Option<i64> {
    let mut prefix = 0u8;
    for _ in 0..4 {
        if !r.bit()? {
            break;
        }
        prefix += 1;
    }
    let size = match prefix {
        0 => return Some(0),
        1 => 14,
        2 => 17,
        3 => 20,
        _ => return r.bits(64).map(|b| b as i64),
    };
    let mut bits = r.bits(size)?;
    // Values above 2^(size-1) are negative numbers in `size` bits.
    if bits > 1 << (size - 1) {
        bits = bits.wrapping_sub(1 << size);
    }
    Some(bits as i64)
}

fn read_value(
    r: &mut Bits<'_>,
    v: u64,
    leading: &mut u8,
    trailing: &mut u8,
) -> Result<u64, &'static str> {
    const EOF: &str = "unexpected end of data";
    if !r.bit().ok_or(EOF)? {
        return Ok(v);
    }
    let mbits = if !r.bit().ok_or(EOF)? {
        64 - *leading - *trailing
    } else {
        let l = r.bits(5).ok_or(EOF)? as u8;
        let mut m = r.bits(6).ok_or(EOF)? as u8;
        if m == 0 {
            m = 64;
        }
        if l + m > 64 {
            return Err("value window wider than 64 bits");
        }
        *leading = l;
        *trailing = 64 - l - m;
        m
    };
    let x = r.bits(mbits).ok_or(EOF)?;
    Ok(v ^ (x << *trailing))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stale_nan;
    use proptest::prelude::*;

    fn same(a: &[Sample], b: &[Sample]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.t == y.t && x.v.to_bits() == y.v.to_bits())
    }

    #[test]
    fn matches_bytes_prometheus_writes() {
        // Reference stream built by hand from xor.go's rules for
        // (1000, 1.0), (2000, 1.0), (3000, 2.0), (4001, 2.0).
        let s = [
            Sample { t: 1000, v: 1.0 },
            Sample { t: 2000, v: 1.0 },
            Sample { t: 3000, v: 2.0 },
            Sample { t: 4001, v: 2.0 },
        ];
        let b = encode(&s);
        // count 4; varint(1000) = d0 0f; 1.0 = 3ff0000000000000; uvarint(1000) = e8 07
        assert_eq!(&b[..2], &[0, 4]);
        assert_eq!(&b[2..4], &[0xd0, 0x0f]);
        assert_eq!(&b[4..12], &1.0f64.to_bits().to_be_bytes());
        assert_eq!(&b[12..14], &[0xe8, 0x07]);
        // Then: v1 same: 0; dod 0: 0; v2 1.0^2.0 = 0x7ff0..: '1' '1' leading 1
        // (00001) sig 11 (001011) bits 11111111111; dod 1: '10' + 14 bits of 1;
        // v3 same: 0.
        let mut w = crate::store::bits::BitWriter::new();
        w.write_bits(0b0, 1);
        w.write_bits(0b0, 1);
        w.write_bits(0b11, 2);
        w.write_bits(1, 5);
        w.write_bits(11, 6);
        w.write_bits(0x7ff, 11);
        w.write_bits(0b10, 2);
        w.write_bits(1, 14);
        w.write_bits(0, 1);
        assert_eq!(&b[14..], w.bytes());
        assert!(same(&decode(&b).unwrap(), &s));
    }

    #[test]
    fn special_values_round_trip() {
        let vals = [
            0.0,
            -0.0,
            f64::NAN,
            stale_nan(),
            f64::from_bits(0x7ff8_0000_0000_0001),
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            f64::MAX,
            5e-324,
        ];
        let s: Vec<Sample> = vals
            .iter()
            .enumerate()
            .map(|(i, &v)| Sample {
                t: i as i64 * 15_000,
                v,
            })
            .collect();
        assert!(same(&decode(&encode(&s)).unwrap(), &s));
    }

    #[test]
    fn dod_bucket_edges_round_trip() {
        let mut s = vec![Sample { t: 0, v: 0.0 }, Sample { t: 10, v: 0.0 }];
        let mut delta = 10i64;
        for nbits in [14u32, 17, 20] {
            for dod in [
                1i64 << (nbits - 1),
                -((1i64 << (nbits - 1)) - 1),
                -(1i64 << (nbits - 1)),
            ] {
                delta += dod;
                let t = s.last().unwrap().t + delta;
                s.push(Sample { t, v: 1.0 });
            }
        }
        assert!(same(&decode(&encode(&s)).unwrap(), &s));
    }

    #[test]
    fn damaged_chunks_are_errors() {
        let s: Vec<Sample> = (0..50)
            .map(|i| Sample {
                t: i * 1000 + (i % 3),
                v: (i as f64).sqrt(),
            })
            .collect();
        let b = encode(&s);
        for cut in 0..b.len() {
            // Never a panic; a cut chunk either errors or (cut in padding) decodes.
            let _ = decode(&b[..cut]);
        }
        assert!(decode(&b[..b.len() / 2]).is_err());
        assert!(decode(&[]).is_err());
    }

    fn any_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<u64>().prop_map(f64::from_bits),
            Just(stale_nan()),
            Just(-0.0),
            (-1000i32..1000).prop_map(f64::from),
            (0u64..1_000_000).prop_map(|x| x as f64 * 0.25),
        ]
    }

    fn series() -> impl Strategy<Value = Vec<Sample>> {
        let step = prop_oneof![
            Just(15_000i64),
            -5_000_000i64..5_000_000,
            any::<i64>().prop_map(|x| x >> 8),
            any::<i64>(),
        ];
        (
            any::<i64>(),
            proptest::collection::vec((step, any_f64()), 0..300),
        )
            .prop_map(|(t0, steps)| {
                let mut t = t0;
                steps
                    .into_iter()
                    .map(|(d, v)| {
                        t = t.wrapping_add(d);
                        Sample { t, v }
                    })
                    .collect()
            })
    }

    proptest! {
        #[test]
        fn round_trips_every_bit_pattern(s in series()) {
            let b = encode(&s);
            prop_assert!(same(&decode(&b).unwrap(), &s));
        }

        #[test]
        fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&b);
        }
    }
}
