//! The byte-level pieces of the log's records: Go's `binary.PutUvarint`
//! (LEB128) and `binary.PutVarint` (zig-zag) integers, big-endian fixed
//! width words, and a bounds-checked reader over a record.
//!
//! Written here, not taken from a crate: replay decodes two varints per
//! sample at ten million samples a second, and a reader that returns
//! `None` at the first byte out of bounds (never a panic on a damaged
//! record) is a dozen lines.

/// Appends `v` as an unsigned LEB128 varint.
#[inline]
pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The longest a 64-bit varint gets.
pub const MAX_VARINT_LEN: usize = 10;

/// Writes `v` zig-zag encoded (as Go's `binary.PutVarint`) into `out` at
/// `at`; returns where it ends.
/// `out` must have [`MAX_VARINT_LEN`] bytes from `at` on.
#[inline]
pub fn write_varint(out: &mut [u8], mut at: usize, v: i64) -> usize {
    let mut u = ((v << 1) ^ (v >> 63)) as u64;
    while u >= 0x80 {
        out[at] = (u as u8) | 0x80;
        u >>= 7;
        at += 1;
    }
    out[at] = u as u8;
    at + 1
}

/// Appends a length-prefixed string.
pub fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Reads a record front to back; every read returns `None` past the end
/// or on a malformed varint.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    #[inline]
    pub fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    #[inline]
    pub fn be64(&mut self) -> Option<u64> {
        let bytes = self.buf.get(self.pos..self.pos + 8)?;
        self.pos += 8;
        Some(u64::from_be_bytes(bytes.try_into().ok()?))
    }

    #[inline]
    pub fn uvarint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return None;
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    #[inline]
    pub fn varint(&mut self) -> Option<i64> {
        let u = self.uvarint()?;
        Some(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let b = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(b)
    }

    pub fn str(&mut self) -> Option<&'a str> {
        let n = usize::try_from(self.uvarint()?).ok()?;
        std::str::from_utf8(self.bytes(n)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn put_varint(out: &mut Vec<u8>, v: i64) {
        let mut tmp = [0u8; MAX_VARINT_LEN];
        let n = write_varint(&mut tmp, 0, v);
        out.extend_from_slice(&tmp[..n]);
    }

    proptest! {
        #[test]
        fn varints_round_trip(u: u64, i: i64) {
            let mut buf = Vec::new();
            put_uvarint(&mut buf, u);
            put_varint(&mut buf, i);
            let mut c = Cursor::new(&buf);
            prop_assert_eq!(c.uvarint(), Some(u));
            prop_assert_eq!(c.varint(), Some(i));
            prop_assert!(c.is_empty());
        }

        #[test]
        fn any_bytes_read_without_panicking(buf: Vec<u8>) {
            let mut c = Cursor::new(&buf);
            while c.uvarint().is_some() {}
            let mut c = Cursor::new(&buf);
            let _ = (c.str(), c.be64(), c.varint());
        }
    }

    #[test]
    fn matches_go_encodings() {
        // binary.PutVarint(-1) == 0x01, (1) == 0x02, PutUvarint(300) == ac 02.
        let mut buf = Vec::new();
        put_varint(&mut buf, -1);
        put_varint(&mut buf, 1);
        put_uvarint(&mut buf, 300);
        assert_eq!(buf, [0x01, 0x02, 0xac, 0x02]);
    }
}
