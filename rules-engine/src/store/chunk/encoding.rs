//! Bit-level codes shared by the chunk writer and reader: bucketed
//! delta-of-delta integers, and exact decimal scaling of floats.

use crate::store::bits::{BitReader, BitWriter};

/// Buckets as (prefix, prefix length, payload bits), tried in order after
/// the single `0` bit for zero; past the last comes all ones and 64 bits.
pub type Buckets = [(u64, u8, u8)];

/// Timestamps: scrape jitter (±64 ms), ±8 s, ±8.7 min, anything.
pub const TIME_BUCKETS: &Buckets = &[(0b10, 2, 7), (0b110, 3, 14), (0b1110, 4, 20)];

/// Decimal values: random walks of a few units, counters moving by up to
/// hundreds or tens of thousands of units per scrape, anything.
pub const VALUE_BUCKETS: &Buckets = &[
    (0b10, 2, 6),
    (0b110, 3, 10),
    (0b1110, 4, 16),
    (0b11110, 5, 32),
];

pub fn write_bucketed(w: &mut BitWriter, x: i64, buckets: &Buckets) {
    if x == 0 {
        w.write_bit(false);
        return;
    }
    for &(prefix, prefix_len, bits) in buckets {
        let half = 1i64 << (bits - 1);
        if (-half..half).contains(&x) {
            w.write_bits(prefix, prefix_len);
            w.write_bits(x as u64, bits);
            return;
        }
    }
    w.write_bits(u64::MAX, buckets.len() as u8 + 1);
    w.write_bits(x as u64, 64);
}

pub fn read_bucketed(r: &mut BitReader<'_>, buckets: &Buckets) -> i64 {
    let mut ones = 0;
    while ones <= buckets.len() && r.read_bit() {
        ones += 1;
    }
    let bits = match ones {
        0 => return 0,
        k if k <= buckets.len() => buckets[k - 1].2,
        _ => 64,
    };
    let raw = r.read_bits(bits);
    // Sign-extend the two's complement value of `bits` bits.
    let shift = 64 - u32::from(bits);
    ((raw << shift) as i64) >> shift
}

/// Largest number of decimal digits after the point a chunk stores values
/// with; beyond that values are XOR-coded.
pub const MAX_SCALE: u8 = 9;

const POW10: [f64; MAX_SCALE as usize + 1] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/// Integers up to 2^53 convert to f64 exactly, which the decoding relies on.
const EXACT: f64 = 9_007_199_254_740_992.0;

/// The value `m / 10^scale`, computed the one way both writer and reader use.
#[inline]
pub fn from_decimal(m: i64, scale: u8) -> f64 {
    m as f64 / POW10[scale as usize]
}

/// `m` such that `from_decimal(m, scale)` has exactly `v`'s bits, if any.
/// Exposition values are decimal text ("12.5", "0.001"), and the nearest
/// double to a decimal is what IEEE division of its integer digits by a
/// power of ten yields, so such values round-trip bit for bit; the check
/// makes that a guarantee rather than an assumption.
#[inline]
pub fn to_decimal(v: f64, scale: u8) -> Option<i64> {
    let x = (v * POW10[scale as usize]).round();
    // NaN and infinities fail this too.
    if x.is_nan() || x.abs() >= EXACT {
        return None;
    }
    let m = x as i64;
    (from_decimal(m, scale).to_bits() == v.to_bits()).then_some(m)
}

/// The smallest scale from `from` up that stores `v` exactly.
pub fn find_scale(v: f64, from: u8) -> Option<u8> {
    (from..=MAX_SCALE).find(|&s| to_decimal(v, s).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stale_nan;

    #[test]
    fn decimal_values_find_their_scale() {
        assert_eq!(find_scale(42.0, 0), Some(0));
        assert_eq!(find_scale(12.5, 0), Some(1));
        assert_eq!(find_scale(0.001, 0), Some(3));
        assert_eq!(find_scale("1234.56".parse().unwrap(), 0), Some(2));
        assert_eq!(find_scale(0.1 + 0.2, 0), None);
        assert_eq!(find_scale(1.0 / 3.0, 0), None);
        assert_eq!(find_scale(f64::NAN, 0), None);
        assert_eq!(find_scale(stale_nan(), 0), None);
        assert_eq!(find_scale(f64::INFINITY, 0), None);
        assert_eq!(find_scale(-0.0, 0), None, "-0 must keep its sign bit");
        assert_eq!(find_scale(1e300, 0), None);
        assert_eq!(find_scale(7.0, 3), Some(3));
    }

    #[test]
    fn bucketed_integers_round_trip_at_bucket_edges() {
        let xs = [
            0,
            1,
            -1,
            31,
            -32,
            32,
            -33,
            511,
            -512,
            512,
            i64::MAX,
            i64::MIN,
            1 << 40,
        ];
        for buckets in [TIME_BUCKETS, VALUE_BUCKETS] {
            let mut w = BitWriter::new();
            for &x in &xs {
                write_bucketed(&mut w, x, buckets);
            }
            let mut r = BitReader::new(w.bytes());
            for &x in &xs {
                assert_eq!(read_bucketed(&mut r, buckets), x);
            }
        }
    }
}
