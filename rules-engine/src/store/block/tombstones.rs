//! The `tombstones` file: deleted time ranges per series, as Prometheus's
//! `tsdb/tombstones` writes it (see `tsdb/docs/format/tombstones.md`):
//!
//! ```text
//! magic 0x0130BA30 <4> | version 1 <1> | (series ref <uvarint> mint <varint> maxt <varint>)* | CRC32C <4>
//! ```
//!
//! The checksum covers the entries, not the magic or the version byte.
//! Ranges are inclusive at both ends.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use super::enc::{Decbuf, put_uvarint, put_varint};
use super::error::{BlockError, IoContext};

pub const TOMBSTONES_FILE: &str = "tombstones";
const MAGIC: u32 = 0x0130_BA30;
const VERSION: u8 = 1;

/// Deleted `[mint, maxt]` ranges by series reference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tombstones {
    by_series: BTreeMap<u64, Vec<(i64, i64)>>,
}

impl Tombstones {
    pub fn is_empty(&self) -> bool {
        self.by_series.is_empty()
    }

    /// Number of ranges, as `meta.json`'s `numTombstones` counts them.
    pub fn len(&self) -> usize {
        self.by_series.values().map(Vec::len).sum()
    }

    pub fn add(&mut self, series: u64, mint: i64, maxt: i64) {
        self.by_series.entry(series).or_default().push((mint, maxt));
    }

    /// The ranges deleted from `series`.
    pub fn get(&self, series: u64) -> &[(i64, i64)] {
        self.by_series.get(&series).map_or(&[], Vec::as_slice)
    }

    /// Whether `t` of `series` is deleted.
    pub fn covers(&self, series: u64, t: i64) -> bool {
        self.get(series).iter().any(|&(a, b)| a <= t && t <= b)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut body = vec![VERSION];
        for (&series, ranges) in &self.by_series {
            for &(mint, maxt) in ranges {
                put_uvarint(&mut body, series);
                put_varint(&mut body, mint);
                put_varint(&mut body, maxt);
            }
        }
        let mut out = MAGIC.to_be_bytes().to_vec();
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32c::crc32c(&body[1..]).to_be_bytes());
        out
    }

    pub fn decode(b: &[u8], path: &Path) -> Result<Self, BlockError> {
        let corrupt = |at: usize, what: &str| BlockError::corrupt(path, at as u64, what);
        if b.len() < 9 {
            return Err(corrupt(0, "file shorter than its header and checksum"));
        }
        if u32::from_be_bytes([b[0], b[1], b[2], b[3]]) != MAGIC {
            return Err(corrupt(0, "bad magic number"));
        }
        if b[4] != VERSION {
            return Err(corrupt(4, format!("unknown version {}", b[4]).as_str()));
        }
        let body = &b[5..b.len() - 4];
        let want = u32::from_be_bytes(b[b.len() - 4..].try_into().expect("4 bytes"));
        if crc32c::crc32c(body) != want {
            return Err(corrupt(b.len() - 4, "checksum mismatch"));
        }
        let mut t = Tombstones::default();
        let mut d = Decbuf::new(body);
        while d.remaining() > 0 {
            let entry =
                (|| Ok::<_, super::enc::DecodeError>((d.uvarint()?, d.varint()?, d.varint()?)))();
            let (s, mint, maxt) = entry.map_err(|e| corrupt(5 + e.at, e.what))?;
            t.add(s, mint, maxt);
        }
        Ok(t)
    }

    /// Reads `<dir>/tombstones`; a block without the file has none.
    pub fn read(dir: &Path) -> Result<Self, BlockError> {
        let path = dir.join(TOMBSTONES_FILE);
        match fs::read(&path) {
            Ok(b) => Self::decode(&b, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(BlockError::io(&path, e)),
        }
    }

    /// Writes `<dir>/tombstones` through a synced temporary file.
    pub fn write(&self, dir: &Path) -> Result<(), BlockError> {
        let path = dir.join(TOMBSTONES_FILE);
        let tmp = dir.join(format!("{TOMBSTONES_FILE}.tmp"));
        let mut f = fs::File::create(&tmp).at(&tmp)?;
        f.write_all(&self.encode()).at(&tmp)?;
        f.sync_all().at(&tmp)?;
        drop(f);
        fs::rename(&tmp, &path).at(&path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_prometheus_bytes() {
        // An empty tombstones file as Prometheus writes it: magic, version,
        // CRC32C of nothing (0).
        let b = Tombstones::default().encode();
        assert_eq!(b, [0x01, 0x30, 0xBA, 0x30, 0x01, 0, 0, 0, 0]);
    }

    #[test]
    fn round_trip_and_damage() {
        let mut t = Tombstones::default();
        t.add(3, -5, 10);
        t.add(3, 100, 200);
        t.add(17, i64::MIN, i64::MAX);
        let b = t.encode();
        let p = Path::new("blk/tombstones");
        assert_eq!(Tombstones::decode(&b, p).unwrap(), t);
        assert!(t.covers(3, 150) && !t.covers(3, 50) && t.covers(17, 0));
        assert_eq!(t.len(), 3);
        for i in 0..b.len() {
            let mut m = b.clone();
            m[i] ^= 0x10;
            assert!(Tombstones::decode(&m, p).is_err(), "flip at {i}");
            assert!(Tombstones::decode(&b[..i], p).is_err(), "cut at {i}");
        }
    }
}
