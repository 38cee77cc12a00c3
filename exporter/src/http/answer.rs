//! The body of a `/metrics` answer: the text, gzipped when the scraper
//! accepts it (Prometheus always does).
//!
//! The text goes to the compressor (on its own thread, see `gzip.rs`) in
//! pieces of [`CHUNK`] bytes as it is written, so a full stack's 300 KB of
//! text does not sit in memory whole (it was mapped, faulted in and
//! unmapped on every scrape), and the compressed answer is built in one
//! buffer. tower-http's compression
//! layer did the same work through an async stream of small buffers, which
//! cost about as much again as the compression itself (`perf` during
//! `scripts/bench/exporter`).

use std::io;

use super::gzip;
use crate::encode::{Format, write_gathered};
use crate::registry::Gathered;

/// How much text is handed to the compressor at a time.
const CHUNK: usize = 32 * 1024;

/// A chunk's buffer: a family's lines may go past `CHUNK` before the
/// encoder hands it over.
const CHUNK_CAPACITY: usize = CHUNK + 4 * 1024;

/// The compressed answer's first allocation (a full stack's is ~60 KB).
const OUT_CAPACITY: usize = 64 * 1024;

/// The answer's bytes: gzip at zlib's fastest level when `gzip` (on a
/// 250 KB body the default level cost ~4.5 ms, more than collecting
/// PostgreSQL, for a body only ~15 % smaller), else the text itself.
pub async fn body(gathered: &Gathered, format: Format, gzip: bool) -> io::Result<Vec<u8>> {
    if !gzip {
        return Ok(text(gathered, format).into_bytes());
    }
    let piped = gzip::piped(OUT_CAPACITY, |send| {
        let mut text = String::with_capacity(CHUNK_CAPACITY);
        write_gathered(gathered, format, &mut text, CHUNK, &mut |piece| {
            send(std::mem::replace(
                piece,
                String::with_capacity(CHUNK_CAPACITY),
            ));
        });
    });
    match piped {
        Some(piped) => piped.finish().await,
        None => gzip_inline(gathered, format),
    }
}

/// The whole text at once.
fn text(gathered: &Gathered, format: Format) -> String {
    let mut text = String::new();
    write_gathered(gathered, format, &mut text, usize::MAX, &mut |_| {});
    text
}

/// The gzipped answer written and compressed on the caller's thread (when
/// no compressor thread could be started).
fn gzip_inline(gathered: &Gathered, format: Format) -> io::Result<Vec<u8>> {
    gzip::with_writer(OUT_CAPACITY, |writer| {
        writer.write(text(gathered, format).as_bytes())
    })
}

/// Whether an `Accept-Encoding` header (all its lines) accepts gzip:
/// `gzip` or `x-gzip` with a q-value above 0, or, when neither is named,
/// `*` with a q-value above 0 (RFC 9110, 12.5.3).
pub fn accepts_gzip<'a>(lines: impl Iterator<Item = &'a str>) -> bool {
    let mut named: Option<bool> = None;
    let mut any = false;
    for line in lines {
        for item in line.split(',') {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("").to_ascii_lowercase();
            let mut q = 1.0f32;
            for p in parts {
                if let Some((k, v)) = p.split_once('=')
                    && k.trim().eq_ignore_ascii_case("q")
                {
                    q = v.trim().parse().unwrap_or(0.0);
                }
            }
            match coding.as_str() {
                "gzip" | "x-gzip" => named = Some(named.unwrap_or(false) || q > 0.0),
                "*" => any |= q > 0.0,
                _ => {}
            }
        }
    }
    named.unwrap_or(any)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::metrics::{Family, labels};

    fn gathered() -> Gathered {
        let mut g = Gathered::default();
        let a = g.target(&labels(&[("server", "a:1")]));
        let b = g.target(&labels(&[("server", "b:2")]));
        for (target, n) in [(a, 3000), (b, 2000)] {
            let mut f = Family::counter("pg_x_total", "help");
            for i in 0..n {
                f.push(labels(&[("datname", &format!("db{i}"))]), i as f64);
            }
            g.add(f, Some(target));
        }
        g.push(Family::gauge("vigil_exporter_scrapes", "h").single(1.0));
        g
    }

    #[tokio::test]
    async fn gzip_inflates_to_the_plain_text() {
        let g = gathered();
        let plain = body(&g, Format::Text, false).await.unwrap();
        assert!(plain.len() > 2 * CHUNK, "several chunks: {}", plain.len());
        let zipped = body(&g, Format::Text, true).await.unwrap();
        assert_eq!(gzip_inline(&g, Format::Text).unwrap(), zipped);
        assert_eq!(&zipped[..2], &[0x1f, 0x8b]);
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(&zipped[..])
            .read_to_end(&mut inflated)
            .unwrap();
        assert_eq!(inflated, plain);
        let text = String::from_utf8(plain).unwrap();
        assert!(text.contains("pg_x_total{datname=\"db2999\",server=\"a:1\"} 2999\n"));
        assert!(text.contains("pg_x_total{datname=\"db0\",server=\"b:2\"} 0\n"));
        assert_eq!(text.matches("# TYPE pg_x_total").count(), 1);
        let om = body(&g, Format::OpenMetrics, false).await.unwrap();
        assert!(om.ends_with(b"# EOF\n"));
    }

    #[test]
    fn accept_encoding() {
        let accepts = |lines: &[&str]| accepts_gzip(lines.iter().copied());
        assert!(accepts(&["gzip"]));
        assert!(accepts(&["deflate, GZip;q=0.5"]));
        assert!(accepts(&["identity", "x-gzip"]));
        assert!(accepts(&["*"]));
        assert!(accepts(&["br;q=1.0, *;q=0.1"]));
        assert!(!accepts(&[]));
        assert!(!accepts(&["identity"]));
        assert!(!accepts(&["gzip;q=0"]));
        assert!(!accepts(&["*, gzip;q=0"]));
        assert!(!accepts(&["*;q=0"]));
        assert!(!accepts(&["gzip;q=nonsense"]));
    }
}
