//! Byte-level primitives of Prometheus's on-disk formats: Go's
//! `encoding/binary` varints (LEB128, zig-zag for signed), big-endian
//! integers, CRC32C, and a bounds-checked reader that reports where it ran
//! out instead of panicking.

/// Appends Go's `binary.PutUvarint` encoding of `x`.
pub fn put_uvarint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

/// Appends Go's `binary.PutVarint` (zig-zag) encoding of `x`.
pub fn put_varint(out: &mut Vec<u8>, x: i64) {
    put_uvarint(out, ((x << 1) ^ (x >> 63)) as u64);
}

/// A length-prefixed string (`len <uvarint> | bytes`).
pub fn put_uvarint_str(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

pub fn put_be32(out: &mut Vec<u8>, x: u32) {
    out.extend_from_slice(&x.to_be_bytes());
}

pub fn put_be64(out: &mut Vec<u8>, x: u64) {
    out.extend_from_slice(&x.to_be_bytes());
}

/// Decodes a uvarint at the start of `b`: the value and its length, or
/// `None` when `b` ends first or the value overflows 64 bits.
pub fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut x: u64 = 0;
    for (i, &byte) in b.iter().enumerate().take(10) {
        if i == 9 && byte > 1 {
            return None;
        }
        x |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some((x, i + 1));
        }
    }
    None
}

/// Why a read ran off the rails; the caller adds the file and offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Offset within the decoded slice.
    pub at: usize,
    pub what: &'static str,
}

/// A cursor over a byte slice; every read is bounds-checked.
#[derive(Debug, Clone)]
pub struct Decbuf<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Decbuf<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Decbuf { b, pos: 0 }
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.b.len() - self.pos
    }

    fn err<T>(&self, what: &'static str) -> Result<T, DecodeError> {
        Err(DecodeError { at: self.pos, what })
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return self.err("unexpected end of data");
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn be32(&mut self) -> Result<u32, DecodeError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn be64(&mut self) -> Result<u64, DecodeError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    pub fn uvarint(&mut self) -> Result<u64, DecodeError> {
        match uvarint(&self.b[self.pos..]) {
            Some((x, n)) => {
                self.pos += n;
                Ok(x)
            }
            None => self.err("invalid uvarint"),
        }
    }

    pub fn varint(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// A uvarint that must fit in 32 bits (symbol references).
    pub fn uvarint32(&mut self) -> Result<u32, DecodeError> {
        let at = self.pos;
        let x = self.uvarint()?;
        u32::try_from(x).map_err(|_| DecodeError {
            at,
            what: "value exceeds 32 bits",
        })
    }

    /// A uvarint length followed by that many bytes.
    pub fn uvarint_bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.uvarint()?;
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        self.bytes(n)
    }

    /// Like [`Decbuf::uvarint_bytes`], checked to be UTF-8.
    pub fn uvarint_str(&mut self) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        std::str::from_utf8(self.uvarint_bytes()?).map_err(|_| DecodeError {
            at,
            what: "string is not UTF-8",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn go_varint_vectors() {
        // Values and encodings from Go's encoding/binary tests.
        let mut b = Vec::new();
        put_uvarint(&mut b, 300);
        assert_eq!(b, [0xac, 0x02]);
        b.clear();
        put_varint(&mut b, -1);
        assert_eq!(b, [0x01]);
        b.clear();
        put_varint(&mut b, 1);
        assert_eq!(b, [0x02]);
        b.clear();
        put_uvarint(&mut b, u64::MAX);
        assert_eq!(b.len(), 10);
        assert_eq!(uvarint(&b), Some((u64::MAX, 10)));
        assert_eq!(uvarint(&[0x80, 0x80]), None);
        assert_eq!(uvarint(&[0xff; 10]), None);
    }

    proptest! {
        #[test]
        fn varints_round_trip(u in any::<u64>(), i in any::<i64>()) {
            let mut b = Vec::new();
            put_uvarint(&mut b, u);
            put_varint(&mut b, i);
            let mut d = Decbuf::new(&b);
            prop_assert_eq!(d.uvarint().unwrap(), u);
            prop_assert_eq!(d.varint().unwrap(), i);
            prop_assert_eq!(d.remaining(), 0);
        }

        #[test]
        fn decoding_garbage_never_panics(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut d = Decbuf::new(&b);
            while d.remaining() > 0 {
                if d.uvarint_str().is_err() && d.varint().is_err() {
                    break;
                }
            }
        }
    }
}
