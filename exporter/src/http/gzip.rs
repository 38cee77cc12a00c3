//! gzip (RFC 1952) around a deflate state that is kept from one answer to
//! the next.
//!
//! `flate2::write::GzEncoder` allocates its deflate state (about 300 KB of
//! window, hash chains and buffers, zeroed) for every answer and frees it
//! after: with the heap trimmed after each scrape (see `trimmer.rs`), those
//! pages were faulted in and zeroed again every time, a few percent of the
//! exporter's CPU per scrape (`perf` during `scripts/bench/exporter`).
//! flate2's `GzEncoder` cannot be reset, its raw `Compress` can; the gzip
//! frame around it is ten bytes of header and eight of trailer.
//!
//! Compression runs on a thread of its own ([`piped`]), chunk by chunk,
//! while the runtime's thread is still writing the rest of the text: the
//! two took about as long as each other, one after the other, between the
//! last target's answer and the first byte sent, while the second core
//! was idle.

use std::cell::RefCell;
use std::io;
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver, Sender};

use tokio::sync::oneshot;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// The header: magic, deflate, no flags, no modification time, "fastest
/// compression" (level 1), unknown operating system.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255];

/// Room kept free in the output before each call to the compressor.
const HEADROOM: usize = 16 * 1024;

thread_local! {
    /// One deflate state per thread that answers; reset, never reallocated.
    static DEFLATE: RefCell<Option<Compress>> = const { RefCell::new(None) };
}

/// One gzip member being written into a `Vec`.
pub struct GzipWriter<'a> {
    deflate: &'a mut Compress,
    crc: Crc,
    out: Vec<u8>,
}

/// Runs `write` with a gzip writer over this thread's deflate state and
/// returns the finished member.
pub fn with_writer(
    capacity: usize,
    write: impl FnOnce(&mut GzipWriter<'_>) -> io::Result<()>,
) -> io::Result<Vec<u8>> {
    DEFLATE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let deflate = slot.get_or_insert_with(|| Compress::new(Compression::fast(), false));
        deflate.reset();
        let mut out = Vec::with_capacity(capacity.max(HEADER.len() + HEADROOM));
        out.extend_from_slice(&HEADER);
        let mut writer = GzipWriter {
            deflate,
            crc: Crc::new(),
            out,
        };
        let written = write(&mut writer).and_then(|()| writer.finish());
        if written.is_err() {
            // A state left mid-stream is not trusted again.
            *slot = None;
        }
        written
    })
}

impl GzipWriter<'_> {
    /// Compresses `data` into the member.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.crc.update(data);
        self.deflate_all(data, FlushCompress::None)
    }

    /// Ends the deflate stream and appends the trailer: CRC-32 and length
    /// modulo 2^32, little-endian.
    fn finish(&mut self) -> io::Result<Vec<u8>> {
        self.deflate_all(&[], FlushCompress::Finish)?;
        let mut out = std::mem::take(&mut self.out);
        out.extend_from_slice(&self.crc.sum().to_le_bytes());
        out.extend_from_slice(&self.crc.amount().to_le_bytes());
        Ok(out)
    }

    /// Feeds `input` to the compressor until it has taken all of it (and,
    /// with `Finish`, until the stream has ended), growing the output as
    /// needed.
    fn deflate_all(&mut self, mut input: &[u8], flush: FlushCompress) -> io::Result<()> {
        loop {
            if self.out.capacity() - self.out.len() < HEADROOM {
                self.out.reserve(self.out.capacity().max(HEADROOM));
            }
            let before = self.deflate.total_in();
            let status = self
                .deflate
                .compress_vec(input, &mut self.out, flush)
                .map_err(io::Error::other)?;
            let taken = usize::try_from(self.deflate.total_in() - before)
                .map_err(|_| io::Error::other("deflate took more than it was given"))?;
            input = input.get(taken..).unwrap_or_default();
            let room_left = self.out.capacity() > self.out.len();
            match (flush, status) {
                (_, Status::StreamEnd) => return Ok(()),
                (FlushCompress::Finish, _) => {}
                _ if input.is_empty() && room_left => return Ok(()),
                _ => {}
            }
        }
    }
}

/// One answer to compress: its text's chunks, in order, and where the
/// finished member goes.
struct Job {
    chunks: Receiver<String>,
    done: oneshot::Sender<io::Result<Vec<u8>>>,
    capacity: usize,
}

static COMPRESSOR: OnceLock<Option<Sender<Job>>> = OnceLock::new();

/// An answer whose text has all been handed to the compressor's thread.
pub struct Piped {
    done: oneshot::Receiver<io::Result<Vec<u8>>>,
}

/// Compresses the text that `write` hands over, chunk by chunk, on the
/// compressor's thread while `write` is still producing the rest. `None`
/// (and `write` not called) if that thread cannot be started: the caller
/// then compresses with [`with_writer`]. Answers are compressed one after
/// the other, in the order they came.
pub fn piped(capacity: usize, write: impl FnOnce(&mut dyn FnMut(String))) -> Option<Piped> {
    let jobs = COMPRESSOR.get_or_init(start).as_ref()?;
    let (chunks, receiver) = mpsc::channel();
    let (done, result) = oneshot::channel();
    jobs.send(Job {
        chunks: receiver,
        done,
        capacity,
    })
    .ok()?;
    // A send fails only if the thread has stopped; `finish` reports it.
    write(&mut |chunk| {
        let _ = chunks.send(chunk);
    });
    Some(Piped { done: result })
}

impl Piped {
    /// The finished member, once the compressor has taken every chunk.
    pub async fn finish(self) -> io::Result<Vec<u8>> {
        self.done
            .await
            .unwrap_or_else(|_| Err(io::Error::other("the compressor's thread stopped")))
    }
}

fn start() -> Option<Sender<Job>> {
    let (jobs, receiver) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("gzip".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            while let Ok(job) = receiver.recv() {
                let member = with_writer(job.capacity, |writer| {
                    for chunk in job.chunks.iter() {
                        writer.write(chunk.as_bytes())?;
                    }
                    Ok(())
                });
                let _ = job.done.send(member);
            }
        })
        .map_err(|e| tracing::debug!(error = %e, "no compressor thread; compressing inline"))
        .ok()?;
    Some(jobs)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn inflate(member: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(member)
            .read_to_end(&mut out)
            .expect("a valid gzip member");
        out
    }

    fn text(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| format!("pg_x_total{{datname=\"db{i}\"}} {}\n", i * 7))
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn members_inflate_to_their_input_one_after_another() {
        // The same state serves answer after answer: each must be whole
        // and owe nothing to the one before.
        for n in [0, 1, 50_000, 3] {
            let input = text(n);
            let member = with_writer(1024, |w| {
                for piece in input.chunks(32 * 1024) {
                    w.write(piece)?;
                }
                Ok(())
            })
            .unwrap();
            assert_eq!(&member[..2], &[0x1f, 0x8b]);
            assert_eq!(inflate(&member), input, "{n} lines");
            let len = u32::from_le_bytes(member[member.len() - 4..].try_into().unwrap());
            assert_eq!(len as usize, input.len());
        }
    }

    #[tokio::test]
    async fn piped_answers_inflate_to_their_text_in_order() {
        let texts = [text(20_000), text(0), text(7)];
        let pipes: Vec<Piped> = texts
            .iter()
            .map(|input| {
                piped(1024, |send| {
                    for piece in input.chunks(4096) {
                        send(String::from_utf8(piece.to_vec()).unwrap());
                    }
                })
                .expect("a compressor thread")
            })
            .collect();
        // Finished in reverse: each still gets its own text.
        for (pipe, input) in pipes.into_iter().zip(&texts).rev() {
            let member = pipe.finish().await.unwrap();
            assert_eq!(inflate(&member), *input);
        }
    }

    #[test]
    fn a_failed_answer_leaves_no_state_behind() {
        let failed = with_writer(0, |w| {
            w.write(b"half of an answer")?;
            Err(io::Error::other("the text could not be written"))
        });
        assert!(failed.is_err());
        let member = with_writer(0, |w| w.write(b"next answer\n")).unwrap();
        assert_eq!(inflate(&member), b"next answer\n");
    }
}
