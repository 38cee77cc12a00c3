//! Chunks to bytes and back, for the head snapshot written at shutdown:
//! a closed chunk as its header and payload, an open chunk with its whole
//! appender state so appends continue after a restart exactly as before.
//!
//! ```text
//! closed: first_t(8) last_t(8) n(2) mode(1) len(uvarint) payload
//! open:   the same, then free_bits(1) leading(1) trailing(1)
//!         last_delta(8) last_v(8) last_m(8) last_mdelta(8)
//! ```

use super::{Chunk, OpenChunk};
use crate::store::bits::BitWriter;
use crate::store::wal::codec::{Cursor, put_uvarint};

fn put_header(out: &mut Vec<u8>, first_t: i64, last_t: i64, n: u16, mode: u8, data: &[u8]) {
    out.extend_from_slice(&first_t.to_be_bytes());
    out.extend_from_slice(&last_t.to_be_bytes());
    out.extend_from_slice(&n.to_be_bytes());
    out.push(mode);
    put_uvarint(out, data.len() as u64);
    out.extend_from_slice(data);
}

/// (first_t, last_t, n, mode, payload)
type Header = (i64, i64, u16, u8, Vec<u8>);

fn read_header(c: &mut Cursor<'_>) -> Option<Header> {
    let first_t = c.be64()? as i64;
    let last_t = c.be64()? as i64;
    let n = u16::from_be_bytes([c.byte()?, c.byte()?]);
    let mode = c.byte()?;
    let len = usize::try_from(c.uvarint()?).ok()?;
    Some((first_t, last_t, n, mode, c.bytes(len)?.to_vec()))
}

impl Chunk {
    pub fn persist(&self, out: &mut Vec<u8>) {
        put_header(
            out,
            self.first_t,
            self.last_t,
            self.n,
            self.mode,
            &self.data,
        );
    }

    /// `None` on bytes [`Chunk::persist`] did not write.
    pub fn restore(c: &mut Cursor<'_>) -> Option<Chunk> {
        let (first_t, last_t, n, mode, data) = read_header(c)?;
        Some(Chunk {
            data: data.into(),
            first_t,
            last_t,
            n,
            mode,
        })
    }
}

impl OpenChunk {
    pub fn persist(&self, out: &mut Vec<u8>) {
        put_header(
            out,
            self.first_t,
            self.last_t,
            self.n,
            self.mode,
            self.w.bytes(),
        );
        out.push(self.w.free_bits());
        out.push(self.leading);
        out.push(self.trailing);
        for word in [
            self.last_delta as u64,
            self.last_v,
            self.last_m as u64,
            self.last_mdelta as u64,
        ] {
            out.extend_from_slice(&word.to_be_bytes());
        }
    }

    /// `None` on bytes [`OpenChunk::persist`] did not write.
    pub fn restore(c: &mut Cursor<'_>) -> Option<OpenChunk> {
        let (first_t, last_t, n, mode, data) = read_header(c)?;
        let free = c.byte()?;
        let (leading, trailing) = (c.byte()?, c.byte()?);
        Some(OpenChunk {
            w: BitWriter::resume(data, free)?,
            n,
            mode,
            leading,
            trailing,
            first_t,
            last_t,
            last_delta: c.be64()? as i64,
            last_v: c.be64()?,
            last_m: c.be64()? as i64,
            last_mdelta: c.be64()? as i64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restored_open_chunk_appends_as_the_original_would() {
        let mut a = OpenChunk::for_value(1.5, 0);
        for i in 0..50 {
            assert!(a.try_append(i * 15_000, 1.5 + f64::from(i as i32) * 0.5));
        }
        let mut bytes = Vec::new();
        a.persist(&mut bytes);
        let mut b = OpenChunk::restore(&mut Cursor::new(&bytes)).unwrap();
        for i in 50..100 {
            let (t, v) = (i * 15_000, 1.5 + f64::from(i as i32) * 0.5);
            assert_eq!(a.try_append(t, v), b.try_append(t, v));
        }
        assert_eq!(
            a.as_ref().iter().collect::<Vec<_>>(),
            b.as_ref().iter().collect::<Vec<_>>()
        );
        let closed = a.close();
        let mut bytes = Vec::new();
        closed.persist(&mut bytes);
        let back = Chunk::restore(&mut Cursor::new(&bytes)).unwrap();
        assert_eq!(back.as_ref().iter().count(), 100);
    }

    #[test]
    fn garbage_restores_to_none_not_a_panic() {
        for len in 0..64 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37) as u8).collect();
            let _ = OpenChunk::restore(&mut Cursor::new(&junk));
            let _ = Chunk::restore(&mut Cursor::new(&junk));
        }
    }
}
