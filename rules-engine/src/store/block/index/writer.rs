//! Writes an index in the section order and with the padding, lengths and
//! checksums Prometheus 2.42's `index.Writer` produces, so `promtool tsdb
//! analyze/dump` and Prometheus read it as their own.
//!
//! The index is built in memory (its size is a small fraction of the
//! chunks') and written in one go.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::Write;
use std::path::Path;

use super::super::enc::{put_be32, put_be64, put_uvarint, put_uvarint_str, put_varint};
use super::super::error::{BlockError, IoContext};
use super::{ChunkMeta, MAGIC, Toc, VERSION};
use crate::model::Labels;

/// One series of the index: labels and chunk metas, chunks in time order.
#[derive(Debug, Clone, Copy)]
pub struct IndexSeries<'a> {
    pub labels: &'a Labels,
    pub chunks: &'a [ChunkMeta],
}

/// Pads `out` with zeros to a multiple of `n`.
fn pad(out: &mut Vec<u8>, n: usize) {
    while !out.len().is_multiple_of(n) {
        out.push(0);
    }
}

/// Appends `len <4> | body | CRC32C(body) <4>`.
fn put_section(out: &mut Vec<u8>, body: &[u8]) -> Result<(), String> {
    let len = u32::try_from(body.len()).map_err(|_| "index section exceeds 4 GiB".to_string())?;
    put_be32(out, len);
    out.extend_from_slice(body);
    put_be32(out, crc32c::crc32c(body));
    Ok(())
}

/// Label name -> value -> ids of the series carrying the pair.
type Postings<'a> = BTreeMap<&'a str, BTreeMap<&'a str, Vec<u32>>>;

/// Builds the index for `series`, which must be sorted by labels with no
/// duplicates.
pub fn encode_index(series: &[IndexSeries<'_>]) -> Result<Vec<u8>, String> {
    for w in series.windows(2) {
        if w[0].labels >= w[1].labels {
            return Err(format!(
                "series out of order: {} is not after {}",
                w[1].labels, w[0].labels
            ));
        }
    }
    let mut out = Vec::new();
    put_be32(&mut out, MAGIC);
    out.push(VERSION);
    let mut toc = Toc {
        symbols: out.len() as u64,
        ..Toc::default()
    };
    let symbol_ref = write_symbols(&mut out, series)?;
    toc.series = out.len() as u64;
    let (all, postings) = write_series(&mut out, series, &symbol_ref)?;
    toc.label_indices = out.len() as u64;
    let label_index_offsets = write_label_indices(&mut out, &postings, &symbol_ref)?;
    toc.postings = out.len() as u64;
    let postings_offsets = write_postings(&mut out, &all, &postings)?;

    toc.label_indices_table = out.len() as u64;
    let mut body = Vec::new();
    put_be32(&mut body, label_index_offsets.len() as u32);
    for (name, off) in &label_index_offsets {
        put_uvarint(&mut body, 1);
        put_uvarint_str(&mut body, name);
        put_uvarint(&mut body, *off);
    }
    put_section(&mut out, &body)?;

    toc.postings_table = out.len() as u64;
    body.clear();
    put_be32(&mut body, postings_offsets.len() as u32);
    for (name, value, off) in &postings_offsets {
        put_uvarint(&mut body, 2);
        put_uvarint_str(&mut body, name);
        put_uvarint_str(&mut body, value);
        put_uvarint(&mut body, *off);
    }
    put_section(&mut out, &body)?;

    let start = out.len();
    for x in [
        toc.symbols,
        toc.series,
        toc.label_indices,
        toc.label_indices_table,
        toc.postings,
        toc.postings_table,
    ] {
        put_be64(&mut out, x);
    }
    let crc = crc32c::crc32c(&out[start..]);
    put_be32(&mut out, crc);
    Ok(out)
}

/// Every name and value, sorted, referenced by position; plus the empty
/// string, which Prometheus always lists (the key of the all-series
/// postings list). Returns each symbol's reference.
fn write_symbols<'a>(
    out: &mut Vec<u8>,
    series: &[IndexSeries<'a>],
) -> Result<HashMap<&'a str, u32>, String> {
    let symbols: BTreeSet<&str> = series
        .iter()
        .flat_map(|s| {
            s.labels
                .iter()
                .flat_map(|l| [l.name.as_str(), l.value.as_str()])
        })
        .chain([""])
        .collect();
    let mut body = Vec::new();
    put_be32(&mut body, symbols.len() as u32);
    for s in &symbols {
        put_uvarint_str(&mut body, s);
    }
    put_section(out, &body)?;
    Ok(symbols
        .into_iter()
        .enumerate()
        .map(|(i, s)| (s, i as u32))
        .collect())
}

/// The series entries, 16-byte aligned; returns their ids and postings.
fn write_series<'a>(
    out: &mut Vec<u8>,
    series: &[IndexSeries<'a>],
    symbol_ref: &HashMap<&str, u32>,
) -> Result<(Vec<u32>, Postings<'a>), String> {
    let mut all: Vec<u32> = Vec::with_capacity(series.len());
    let mut postings = Postings::new();
    let mut body = Vec::new();
    for s in series {
        pad(out, 16);
        let id = u32::try_from(out.len() / 16)
            .map_err(|_| "index exceeds 64 GiB of series".to_string())?;
        all.push(id);
        body.clear();
        encode_series(&mut body, s, symbol_ref)?;
        put_uvarint(out, body.len() as u64);
        out.extend_from_slice(&body);
        put_be32(out, crc32c::crc32c(&body));
        for l in s.labels {
            postings
                .entry(&l.name)
                .or_default()
                .entry(&l.value)
                .or_default()
                .push(id);
        }
    }
    Ok((all, postings))
}

/// One label index per name, 4-byte aligned (unused by readers since
/// Prometheus 2.x, written for compatibility); returns their offsets.
fn write_label_indices<'a>(
    out: &mut Vec<u8>,
    postings: &Postings<'a>,
    symbol_ref: &HashMap<&str, u32>,
) -> Result<Vec<(&'a str, u64)>, String> {
    let mut offsets = Vec::with_capacity(postings.len());
    let mut body = Vec::new();
    for (name, values) in postings {
        pad(out, 4);
        offsets.push((*name, out.len() as u64));
        body.clear();
        put_be32(&mut body, 1);
        put_be32(&mut body, values.len() as u32);
        for v in values.keys() {
            put_be32(&mut body, symbol_ref[v]);
        }
        put_section(out, &body)?;
    }
    Ok(offsets)
}

/// The postings lists, 4-byte aligned: the all-series list first, then by
/// name and value. Returns each list's key and offset.
fn write_postings<'a>(
    out: &mut Vec<u8>,
    all: &[u32],
    postings: &Postings<'a>,
) -> Result<Vec<(&'a str, &'a str, u64)>, String> {
    let mut offsets = Vec::new();
    let lists = std::iter::once(("", "", all)).chain(
        postings
            .iter()
            .flat_map(|(n, vs)| vs.iter().map(move |(v, ids)| (*n, *v, ids.as_slice()))),
    );
    let mut body = Vec::new();
    for (name, value, ids) in lists {
        pad(out, 4);
        offsets.push((name, value, out.len() as u64));
        body.clear();
        put_be32(&mut body, ids.len() as u32);
        for &id in ids {
            put_be32(&mut body, id);
        }
        put_section(out, &body)?;
    }
    Ok(offsets)
}

fn encode_series(
    body: &mut Vec<u8>,
    s: &IndexSeries<'_>,
    symbol_ref: &HashMap<&str, u32>,
) -> Result<(), String> {
    put_uvarint(body, s.labels.len() as u64);
    for l in s.labels {
        put_uvarint(body, u64::from(symbol_ref[l.name.as_str()]));
        put_uvarint(body, u64::from(symbol_ref[l.value.as_str()]));
    }
    put_uvarint(body, s.chunks.len() as u64);
    let mut prev: Option<&ChunkMeta> = None;
    for c in s.chunks {
        if c.maxt < c.mint {
            return Err(format!(
                "{}: chunk maxt {} before mint {}",
                s.labels, c.maxt, c.mint
            ));
        }
        match prev {
            None => {
                put_varint(body, c.mint);
                put_uvarint(body, (c.maxt - c.mint) as u64);
                put_uvarint(body, c.reference);
            }
            Some(p) => {
                if c.mint <= p.maxt || c.reference <= p.reference {
                    return Err(format!("{}: chunks overlap or are out of order", s.labels));
                }
                put_uvarint(body, (c.mint - p.maxt) as u64);
                put_uvarint(body, (c.maxt - c.mint) as u64);
                put_varint(body, c.reference as i64 - p.reference as i64);
            }
        }
        prev = Some(c);
    }
    Ok(())
}

/// Writes the index for `series` to `path` and syncs it; returns its size.
pub fn write_index(path: &Path, series: &[IndexSeries<'_>]) -> Result<u64, BlockError> {
    let bytes = encode_index(series).map_err(|what| BlockError::invalid(path, what))?;
    let mut f = File::create(path).at(path)?;
    f.write_all(&bytes).at(path)?;
    f.sync_all().at(path)?;
    Ok(bytes.len() as u64)
}
