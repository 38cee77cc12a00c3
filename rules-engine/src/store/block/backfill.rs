//! Backfilling: OpenMetrics text with timestamps into blocks, as `promtool
//! tsdb create-blocks-from openmetrics` does (`cmd/promtool/backfill.go`):
//! blocks of 2 h (or the largest ×3 range within `--max-block-duration`),
//! aligned to multiples of the range; each block spans its first to its
//! last sample (+1 ms); chunks are cut where promtool's head cuts them
//! (up to 240 samples), so the blocks match promtool's. A sample older than its series' previous one, or a
//! different value at the same time, is an error, as in Prometheus's head.

use std::collections::BTreeMap;
use std::path::Path;

use super::compact::{DEFAULT_BLOCK_RANGE_MS, block_ranges};
use super::error::BlockError;
use super::meta::BlockMeta;
use super::writer::{BlockWriter, PROMETHEUS_MAX_SAMPLES_PER_CHUNK};
use crate::model::{Labels, Sample};
use crate::parse::{Entry, Format, ParseError, ParseOptions, Parser};

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("parse: {0}")]
    Parse(#[from] ParseError),
    #[error("expected timestamp for series {0}, got none")]
    NoTimestamp(Labels),
    #[error("add sample: out of order sample for series {labels} at {t}")]
    OutOfOrder { labels: Labels, t: i64 },
    #[error("add sample: duplicate sample for timestamp {t} of series {labels}")]
    Duplicate { labels: Labels, t: i64 },
    #[error(transparent)]
    Block(#[from] BlockError),
}

/// promtool's `getCompatibleBlockDuration`: 2 h, or the largest ×3 range
/// not above `max_block_ms`.
pub fn block_duration(max_block_ms: Option<i64>) -> i64 {
    match max_block_ms {
        Some(max) if max > DEFAULT_BLOCK_RANGE_MS => {
            let ranges = block_ranges(DEFAULT_BLOCK_RANGE_MS, None);
            ranges
                .iter()
                .copied()
                .filter(|&r| r <= max)
                .max()
                .unwrap_or(DEFAULT_BLOCK_RANGE_MS)
        }
        _ => DEFAULT_BLOCK_RANGE_MS,
    }
}

/// Reads every sample of `input`, per series in file order.
fn read_series(input: &[u8]) -> Result<BTreeMap<Labels, Vec<Sample>>, BackfillError> {
    let mut series: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
    let mut parser = Parser::new(input, ParseOptions::new(Format::OpenMetrics));
    while let Some(entry) = parser.next() {
        let Entry::Sample(s) = entry? else { continue };
        let labels = s.to_labels();
        let Some(t) = s.timestamp else {
            return Err(BackfillError::NoTimestamp(labels));
        };
        let samples = series.entry(labels).or_default();
        match samples.last() {
            Some(last) if t < last.t => {
                let labels = s.to_labels();
                return Err(BackfillError::OutOfOrder { labels, t });
            }
            Some(last) if t == last.t => {
                if last.v.to_bits() != s.value.to_bits() {
                    let labels = s.to_labels();
                    return Err(BackfillError::Duplicate { labels, t });
                }
            }
            _ => samples.push(Sample { t, v: s.value }),
        }
    }
    Ok(series)
}

/// Writes the blocks for `input` into `output` (created if missing) and
/// returns their metas, oldest first.
pub fn create_blocks_from_openmetrics(
    input: &[u8],
    output: &Path,
    max_block_ms: Option<i64>,
) -> Result<Vec<BlockMeta>, BackfillError> {
    let series = read_series(input)?;
    std::fs::create_dir_all(output).map_err(|e| BlockError::io(output, e))?;
    let duration = block_duration(max_block_ms);
    // The aligned ranges that hold samples, each with its first and last.
    let mut ranges: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for s in series.values().flatten() {
        let start = s.t.div_euclid(duration) * duration;
        let r = ranges.entry(start).or_insert((s.t, s.t));
        r.0 = r.0.min(s.t);
        r.1 = r.1.max(s.t);
    }
    let mut metas = Vec::new();
    for (start, (first, last)) in ranges {
        let end = start + duration;
        let mut w = BlockWriter::create(output, first, last + 1)?;
        // promtool's block writer runs a head twice the block range wide,
        // whose chunks may reach 240 samples: cut as it does, so that the
        // blocks are the same as promtool's, byte for byte.
        w.set_chunk_range(2 * duration);
        w.set_max_samples_per_chunk(PROMETHEUS_MAX_SAMPLES_PER_CHUNK);
        for (labels, samples) in &series {
            let lo = samples.partition_point(|s| s.t < start);
            let hi = samples.partition_point(|s| s.t < end);
            w.add_series(labels, &samples[lo..hi])?;
        }
        if let Some(meta) = w.commit()? {
            metas.push(meta);
        }
    }
    Ok(metas)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Querier;
    use crate::store::block::Block;

    #[test]
    fn splits_into_aligned_two_hour_blocks() {
        let dir = tempfile::tempdir().unwrap();
        // 7200 s is a block boundary.
        let input = "# TYPE x gauge\nx{a=\"1\"} 1 7000\nx{a=\"1\"} 2 7199.999\nx{a=\"1\"} 3 7200\nx{a=\"2\"} 4 10000.5\n# EOF\n";
        let metas = create_blocks_from_openmetrics(input.as_bytes(), dir.path(), None).unwrap();
        assert_eq!(metas.len(), 2);
        assert_eq!(
            (metas[0].min_time, metas[0].max_time),
            (7_000_000, 7_200_000)
        );
        assert_eq!(
            (metas[1].min_time, metas[1].max_time),
            (7_200_000, 10_000_501)
        );
        let b = Block::open(&dir.path().join(metas[1].ulid.to_string())).unwrap();
        assert_eq!(b.select(&[], i64::MIN, i64::MAX).len(), 2);
    }

    #[test]
    fn errors_like_promtool() {
        let dir = tempfile::tempdir().unwrap();
        let run =
            |s: &str| create_blocks_from_openmetrics(s.as_bytes(), dir.path(), None).unwrap_err();
        assert!(matches!(run("x 1\n# EOF\n"), BackfillError::NoTimestamp(_)));
        assert!(matches!(
            run("x 1 10\nx 1 9\n# EOF\n"),
            BackfillError::OutOfOrder { .. }
        ));
        assert!(matches!(
            run("x 1 10\nx 2 10\n# EOF\n"),
            BackfillError::Duplicate { .. }
        ));
        assert!(matches!(run("x 1 10\n"), BackfillError::Parse(_)));
        assert_eq!(block_duration(Some(7 * 24 * 3_600_000)), 162 * 3_600_000);
        assert_eq!(block_duration(Some(3_600_000)), 2 * 3_600_000);
    }
}
