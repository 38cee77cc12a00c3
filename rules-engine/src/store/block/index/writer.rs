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
    let mut toc = Toc::default();

    // Symbols: every name and value, sorted, referenced by position; plus
    // the empty string, which Prometheus always lists (it is the key of
    // the all-series postings list).
    let symbols: BTreeSet<&str> = series
        .iter()
        .flat_map(|s| {
            s.labels
                .iter()
                .flat_map(|l| [l.name.as_str(), l.value.as_str()])
        })
        .chain([""])
        .collect();
    let symbol_ref: HashMap<&str, u32> = symbols
        .iter()
        .enumerate()
        .map(|(i, &s)| (s, i as u32))
        .collect();
    toc.symbols = out.len() as u64;
    let mut body = Vec::new();
    put_be32(&mut body, symbols.len() as u32);
    for s in &symbols {
        put_uvarint_str(&mut body, s);
    }
    put_section(&mut out, &body)?;

    // Series, 16-byte aligned; postings gathered on the way.
    toc.series = out.len() as u64;
    let mut all: Vec<u32> = Vec::with_capacity(series.len());
    let mut postings: BTreeMap<&str, BTreeMap<&str, Vec<u32>>> = BTreeMap::new();
    for s in series {
        pad(&mut out, 16);
        let id = u32::try_from(out.len() / 16)
            .map_err(|_| "index exceeds 64 GiB of series".to_string())?;
        all.push(id);
        body.clear();
        encode_series(&mut body, s, &symbol_ref)?;
        put_uvarint(&mut out, body.len() as u64);
        out.extend_from_slice(&body);
        put_be32(&mut out, crc32c::crc32c(&body));
        for l in s.labels {
            postings
                .entry(&l.name)
                .or_default()
                .entry(&l.value)
                .or_default()
                .push(id);
        }
    }

    // Label indices (unused by readers since 2.x, written for compatibility).
    toc.label_indices = out.len() as u64;
    let mut label_index_offsets = Vec::with_capacity(postings.len());
    for (name, values) in &postings {
        pad(&mut out, 4);
        label_index_offsets.push((*name, out.len() as u64));
        body.clear();
        put_be32(&mut body, 1);
        put_be32(&mut body, values.len() as u32);
        for v in values.keys() {
            put_be32(&mut body, symbol_ref[v]);
        }
        put_section(&mut out, &body)?;
    }

    // Postings, the all-series list first, then by name and value.
    toc.postings = out.len() as u64;
    let mut postings_offsets: Vec<(&str, &str, u64)> = Vec::new();
    let lists = std::iter::once(("", "", &all)).chain(
        postings
            .iter()
            .flat_map(|(n, vs)| vs.iter().map(move |(v, ids)| (*n, *v, ids))),
    );
    for (name, value, ids) in lists {
        pad(&mut out, 4);
        postings_offsets.push((name, value, out.len() as u64));
        body.clear();
        put_be32(&mut body, ids.len() as u32);
        for &id in ids {
            put_be32(&mut body, id);
        }
        put_section(&mut out, &body)?;
    }

    toc.label_indices_table = out.len() as u64;
    body.clear();
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
