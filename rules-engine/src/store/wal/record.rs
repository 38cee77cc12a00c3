//! Prometheus's WAL record types (see `FORMAT.md`): series records name a
//! series once, sample records carry `(ref, t, v)` triples as deltas from
//! the record's first sample. Records of other types (tombstones,
//! exemplars, metadata, native histograms) are recognised and skipped.

use super::codec::{Cursor, MAX_VARINT_LEN, put_str, put_uvarint, write_varint};

pub const SERIES: u8 = 1;
pub const SAMPLES: u8 = 2;

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty record")]
    Empty,
    #[error("malformed {kind} record after {entries} entries")]
    Malformed { kind: &'static str, entries: usize },
}

/// One decoded record, borrowing the record's bytes.
#[derive(Debug)]
pub enum Record<'a> {
    Series(SeriesEntries<'a>),
    Samples(SampleEntries<'a>),
    /// A type vigil does not apply (tombstones, exemplars, metadata,
    /// histograms, or a type from a newer Prometheus).
    Other(u8),
}

/// Splits a record into its type and entries.
pub fn decode(rec: &[u8]) -> Result<Record<'_>, DecodeError> {
    let (&kind, body) = rec.split_first().ok_or(DecodeError::Empty)?;
    Ok(match kind {
        SERIES => Record::Series(SeriesEntries {
            c: Cursor::new(body),
            n: 0,
        }),
        SAMPLES => Record::Samples(SampleEntries::new(body)?),
        other => Record::Other(other),
    })
}

/// One series of a series record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesEntry<'a> {
    pub wal_ref: u64,
    /// (name, value) pairs as logged (sorted by name when vigil or
    /// Prometheus wrote them).
    pub labels: Vec<(&'a str, &'a str)>,
}

/// The series of a series record, in order.
#[derive(Debug)]
pub struct SeriesEntries<'a> {
    c: Cursor<'a>,
    n: usize,
}

impl<'a> Iterator for SeriesEntries<'a> {
    type Item = Result<SeriesEntry<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.c.is_empty() {
            return None;
        }
        let entry = self.read();
        if entry.is_none() {
            // Nothing after a malformed entry can be trusted.
            self.c = Cursor::new(&[]);
        }
        self.n += 1;
        Some(entry.ok_or(DecodeError::Malformed {
            kind: "series",
            entries: self.n - 1,
        }))
    }
}

impl<'a> SeriesEntries<'a> {
    fn read(&mut self) -> Option<SeriesEntry<'a>> {
        let wal_ref = self.c.be64()?;
        let n = usize::try_from(self.c.uvarint()?).ok()?;
        // Each pair takes at least two bytes: a larger count is damage.
        if n > self.c.remaining() / 2 {
            return None;
        }
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            labels.push((self.c.str()?, self.c.str()?));
        }
        Some(SeriesEntry { wal_ref, labels })
    }
}

/// One sample of a samples record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleEntry {
    pub wal_ref: u64,
    pub t: i64,
    pub v: f64,
}

/// The samples of a samples record, in order.
#[derive(Debug)]
pub struct SampleEntries<'a> {
    c: Cursor<'a>,
    base_ref: u64,
    base_t: i64,
    n: usize,
}

impl<'a> SampleEntries<'a> {
    fn new(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut c = Cursor::new(body);
        // An empty samples record is valid (Prometheus writes none, but
        // nothing forbids it).
        let (base_ref, base_t) = if c.is_empty() {
            (0, 0)
        } else {
            let bad = DecodeError::Malformed {
                kind: "samples",
                entries: 0,
            };
            (c.be64().ok_or(bad.clone())?, c.be64().ok_or(bad)? as i64)
        };
        Ok(SampleEntries {
            c,
            base_ref,
            base_t,
            n: 0,
        })
    }
}

impl Iterator for SampleEntries<'_> {
    type Item = Result<SampleEntry, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.c.is_empty() {
            return None;
        }
        let entry = (|| {
            let dref = self.c.varint()?;
            let dt = self.c.varint()?;
            let v = f64::from_bits(self.c.be64()?);
            Some(SampleEntry {
                wal_ref: self.base_ref.wrapping_add(dref as u64),
                t: self.base_t.wrapping_add(dt),
                v,
            })
        })();
        if entry.is_none() {
            self.c = Cursor::new(&[]);
        }
        self.n += 1;
        Some(entry.ok_or(DecodeError::Malformed {
            kind: "samples",
            entries: self.n - 1,
        }))
    }
}

/// Appends a series record's entries to `out` (call [`start_series`] once
/// first); `labels` yields `n` pairs.
pub fn put_series<'a>(
    out: &mut Vec<u8>,
    wal_ref: u64,
    n: usize,
    labels: impl Iterator<Item = (&'a str, &'a str)>,
) {
    out.extend_from_slice(&wal_ref.to_be_bytes());
    put_uvarint(out, n as u64);
    for (name, value) in labels {
        put_str(out, name);
        put_str(out, value);
    }
}

/// Starts a series record in `out` (which must be empty).
pub fn start_series(out: &mut Vec<u8>) {
    out.push(SERIES);
}

/// Builds a samples record: the first sample is the base the others are
/// deltas from.
#[derive(Debug, Default)]
pub struct SamplesRecord {
    buf: Vec<u8>,
    base: Option<(u64, i64)>,
}

impl SamplesRecord {
    pub fn clear(&mut self) {
        self.buf.clear();
        self.base = None;
    }

    pub fn is_empty(&self) -> bool {
        self.base.is_none()
    }

    #[inline]
    pub fn push(&mut self, wal_ref: u64, t: i64, v: f64) {
        let (base_ref, base_t) = *self.base.get_or_insert_with(|| {
            self.buf.push(SAMPLES);
            self.buf.extend_from_slice(&wal_ref.to_be_bytes());
            self.buf.extend_from_slice(&t.to_be_bytes());
            (wal_ref, t)
        });
        // Encoded on the stack and copied once: a capacity check per
        // sample instead of one per byte (this runs for every scraped
        // sample).
        let mut entry = [0u8; 2 * MAX_VARINT_LEN + 8];
        let mut n = write_varint(&mut entry, 0, wal_ref.wrapping_sub(base_ref) as i64);
        n = write_varint(&mut entry, n, t.wrapping_sub(base_t));
        entry[n..n + 8].copy_from_slice(&v.to_bits().to_be_bytes());
        self.buf.extend_from_slice(&entry[..n + 8]);
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn samples_of(rec: &[u8]) -> Vec<(u64, i64, u64)> {
        match decode(rec).unwrap() {
            Record::Samples(s) => s
                .map(|e| e.map(|e| (e.wal_ref, e.t, e.v.to_bits())))
                .collect::<Result<_, _>>()
                .unwrap(),
            other => panic!("not samples: {other:?}"),
        }
    }

    proptest! {
        #[test]
        fn samples_round_trip(samples: Vec<(u64, i64, u64)>) {
            let mut r = SamplesRecord::default();
            for &(s, t, v) in &samples {
                r.push(s, t, f64::from_bits(v));
            }
            if samples.is_empty() {
                prop_assert!(r.is_empty());
            } else {
                prop_assert_eq!(samples_of(r.bytes()), samples);
            }
        }

        #[test]
        fn damaged_records_decode_to_errors_not_panics(rec: Vec<u8>) {
            if let Ok(r) = decode(&rec) {
                match r {
                    Record::Series(s) => s.for_each(drop),
                    Record::Samples(s) => s.for_each(drop),
                    Record::Other(_) => {}
                }
            }
        }
    }

    #[test]
    fn series_round_trip() {
        let mut rec = Vec::new();
        start_series(&mut rec);
        put_series(
            &mut rec,
            7,
            2,
            [("__name__", "up"), ("job", "a")].into_iter(),
        );
        put_series(&mut rec, 9, 1, [("__name__", "x")].into_iter());
        let Record::Series(s) = decode(&rec).unwrap() else {
            panic!()
        };
        let got: Vec<_> = s.map(Result::unwrap).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].wal_ref, 7);
        assert_eq!(got[0].labels, [("__name__", "up"), ("job", "a")]);
        assert_eq!(got[1].labels, [("__name__", "x")]);
    }

    /// Bytes as Prometheus's record encoder lays them out for
    /// `[{ref 1, t 1000, v 1.5}, {ref 3, t 1015, v -2}]`.
    #[test]
    fn samples_match_prometheus_layout() {
        let mut r = SamplesRecord::default();
        r.push(1, 1000, 1.5);
        r.push(3, 1015, -2.0);
        let mut want = vec![2u8];
        want.extend_from_slice(&1u64.to_be_bytes());
        want.extend_from_slice(&1000u64.to_be_bytes());
        want.extend_from_slice(&[0, 0]);
        want.extend_from_slice(&1.5f64.to_bits().to_be_bytes());
        want.extend_from_slice(&[4, 30]);
        want.extend_from_slice(&(-2.0f64).to_bits().to_be_bytes());
        assert_eq!(r.bytes(), want.as_slice());
    }
}
