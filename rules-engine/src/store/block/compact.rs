//! Compaction: Prometheus's leveled planner (`tsdb/compact.go`) and the
//! merge of several blocks into one.
//!
//! Ranges grow 2 h, 6 h, 18 h, ... (×3) up to the largest that fits the
//! maximum block duration: 10 % of the retention, at most 31 days. The
//! planner merges overlapping blocks first; otherwise, leaving out the
//! newest block (so a fresh block stays as written for a while), the first
//! group of at least two blocks that fills an aligned range, or lies wholly
//! before the newest block; otherwise a big block with more than 5 %
//! tombstones is rewritten on its own.

use std::collections::BTreeSet;
use std::path::Path;

use ulid::Ulid;

use super::error::BlockError;
use super::merge::merge_samples;
use super::meta::{BlockMeta, Compaction};
use super::reader::Block;
use super::retention::delete_block;
use super::writer::BlockWriter;
use crate::model::Labels;
use crate::store::SeriesSamples;

pub const HOUR_MS: i64 = 3_600_000;
/// Prometheus's default smallest block: 2 h.
pub const DEFAULT_BLOCK_RANGE_MS: i64 = 2 * HOUR_MS;
const MAX_BLOCK_DURATION_MS: i64 = 31 * 24 * HOUR_MS;

/// The compaction ranges for a smallest block of `min_block_ms` and the
/// given retention, as Prometheus derives them (`ExponentialBlockRanges`
/// cut at the max block duration).
pub fn block_ranges(min_block_ms: i64, retention_ms: Option<i64>) -> Vec<i64> {
    let mut max = MAX_BLOCK_DURATION_MS;
    if let Some(r) = retention_ms.filter(|&r| r > 0) {
        max = max.min(r / 10);
    }
    max = max.max(min_block_ms);
    let mut out = Vec::new();
    let mut r = min_block_ms;
    for _ in 0..10 {
        if r > max {
            break;
        }
        out.push(r);
        r = r.saturating_mul(3);
    }
    out
}

/// The blocks to merge next (by ULID, oldest first), or none.
pub fn plan(metas: &[BlockMeta], ranges: &[i64]) -> Vec<Ulid> {
    let mut ms: Vec<&BlockMeta> = metas.iter().collect();
    ms.sort_by_key(|m| m.min_time);
    let overlapping = overlapping(&ms);
    if !overlapping.is_empty() {
        return overlapping;
    }
    if ms.is_empty() {
        return Vec::new();
    }
    ms.pop(); // The newest block stays as it is for now.
    let picked = select(&ms, ranges);
    if !picked.is_empty() {
        return picked;
    }
    for m in ms.iter().rev() {
        let big = ranges.get(ranges.len() / 2).copied().unwrap_or(i64::MAX);
        let s = &m.stats;
        if m.max_time - m.min_time < big {
            if s.num_tombstones > 0 && s.num_tombstones >= s.num_series {
                return vec![m.ulid];
            }
            break;
        }
        if s.num_tombstones as f64 / (s.num_series + 1) as f64 > 0.05 {
            return vec![m.ulid];
        }
    }
    Vec::new()
}

/// Blocks whose ranges overlap, in the first overlapping run.
fn overlapping(ms: &[&BlockMeta]) -> Vec<Ulid> {
    let mut out = Vec::new();
    let Some(first) = ms.first() else {
        return out;
    };
    let mut max = first.max_time;
    for (i, m) in ms.iter().enumerate().skip(1) {
        if m.min_time < max {
            if out.is_empty() {
                out.push(ms[i - 1].ulid);
            }
            out.push(m.ulid);
        } else if !out.is_empty() {
            break;
        }
        max = max.max(m.max_time);
    }
    out
}

fn select(ms: &[&BlockMeta], ranges: &[i64]) -> Vec<Ulid> {
    let Some(newest) = ms.last() else {
        return Vec::new();
    };
    let high = newest.min_time;
    for &range in ranges.iter().skip(1) {
        for group in split_by_range(ms, range) {
            if group.iter().any(|m| m.compaction.failed) {
                continue;
            }
            let mint = group[0].min_time;
            let maxt = group[group.len() - 1].max_time;
            if group.len() > 1 && (maxt - mint == range || maxt <= high) {
                return group.iter().map(|m| m.ulid).collect();
            }
        }
    }
    Vec::new()
}

/// Groups consecutive blocks that fall within one aligned range of size
/// `tr`; blocks crossing a range boundary are in no group.
fn split_by_range<'a>(ms: &[&'a BlockMeta], tr: i64) -> Vec<Vec<&'a BlockMeta>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < ms.len() {
        let m = ms[i];
        let t0 = m.min_time.div_euclid(tr) * tr;
        if m.max_time > t0 + tr {
            i += 1;
            continue;
        }
        let mut group = Vec::new();
        while i < ms.len() && ms[i].max_time <= t0 + tr {
            group.push(ms[i]);
            i += 1;
        }
        if !group.is_empty() {
            out.push(group);
        }
    }
    out
}

/// The meta of the block merging `sources`: their whole range, the highest
/// level plus one, their sources, and themselves as parents.
pub fn merged_meta(sources: &[&BlockMeta]) -> BlockMeta {
    let ulid = Ulid::new();
    let mut meta = BlockMeta::new(ulid, i64::MAX, i64::MIN);
    let mut origin = BTreeSet::new();
    let mut level = 0;
    for m in sources {
        meta.min_time = meta.min_time.min(m.min_time);
        meta.max_time = meta.max_time.max(m.max_time);
        level = level.max(m.compaction.level);
        origin.extend(m.compaction.sources.iter().copied());
    }
    meta.compaction = Compaction {
        level: level + 1,
        sources: origin.into_iter().collect(),
        parents: sources.iter().map(|m| m.desc()).collect(),
        ..Compaction::default()
    };
    meta
}

/// Merges `blocks` into one new block in `data_dir`, then deletes them.
/// Samples at the same time in several blocks are kept once (from the
/// first block listed). The sources go only after the new block is in
/// place; if no sample is left (all deleted), no block is written and the
/// sources are deleted. Callers swap the returned block in for the
/// sources in their list of open blocks.
pub fn compact(data_dir: &Path, blocks: &[&Block]) -> Result<Option<BlockMeta>, BlockError> {
    let metas: Vec<&BlockMeta> = blocks.iter().map(|b| b.meta()).collect();
    let mut writer = BlockWriter::with_meta(data_dir, merged_meta(&metas))?;
    let mut cursors: Vec<_> = blocks.iter().map(|b| b.all_series().peekable()).collect();
    loop {
        // The smallest labels among the blocks' next series.
        let mut next: Option<Labels> = None;
        for c in cursors.iter_mut() {
            match c.peek() {
                Some(Ok(s)) if next.as_ref().is_none_or(|n| &s.labels < n) => {
                    next = Some(s.labels.clone())
                }
                Some(Err(_)) => {
                    return Err(c.next().expect("peeked").expect_err("peeked an error"));
                }
                _ => {}
            }
        }
        let Some(labels) = next else { break };
        let mut lists = Vec::new();
        for c in cursors.iter_mut() {
            if c.peek()
                .is_some_and(|s| s.as_ref().is_ok_and(|s| s.labels == labels))
            {
                let SeriesSamples { samples, .. } = c.next().expect("peeked")?;
                lists.push(samples);
            }
        }
        writer.add_series(&labels, &merge_samples(lists))?;
    }
    let meta = writer.commit()?;
    for m in &metas {
        delete_block(data_dir, m.ulid)?;
    }
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sample;
    use crate::store::Querier;
    use crate::store::block::write_block;

    const H: i64 = HOUR_MS;

    fn meta(i: u64, min: i64, max: i64) -> BlockMeta {
        BlockMeta::new(Ulid::from_parts(i, 0), min, max)
    }

    fn ids(v: &[Ulid]) -> Vec<u64> {
        v.iter().map(|u| u.timestamp_ms()).collect()
    }

    #[test]
    fn ranges_follow_retention() {
        // 15 days: blocks of at most 36 h.
        assert_eq!(
            block_ranges(2 * H, Some(15 * 24 * H)),
            [2 * H, 6 * H, 18 * H]
        );
        assert_eq!(
            block_ranges(2 * H, Some(30 * 24 * H)),
            [2 * H, 6 * H, 18 * H, 54 * H]
        );
        assert_eq!(block_ranges(2 * H, None).last(), Some(&(486 * H)));
        assert_eq!(block_ranges(2 * H, Some(H)), [2 * H]);
    }

    #[test]
    fn planner_picks_full_ranges_and_leaves_the_newest() {
        let r = block_ranges(2 * H, Some(15 * 24 * H));
        // Three 2 h blocks fill 0-6 h, and a fourth block exists after them.
        let ms = [
            meta(1, 0, 2 * H),
            meta(2, 2 * H, 4 * H),
            meta(3, 4 * H, 6 * H),
            meta(4, 6 * H, 8 * H),
        ];
        assert_eq!(ids(&plan(&ms, &r)), [1, 2, 3]);
        // Without the fourth, the third is the newest and stays, and the
        // first two neither fill 6 h nor end before the second's start.
        assert!(plan(&ms[..3], &r).is_empty());
        // One block: nothing to do.
        assert!(plan(&ms[..1], &r).is_empty());
        // Overlaps come first.
        let ms = [
            meta(1, 0, 2 * H),
            meta(2, H, 3 * H),
            meta(3, 10 * H, 12 * H),
        ];
        assert_eq!(ids(&plan(&ms, &r)), [1, 2]);
        // Already merged 6 h blocks go on to 18 h.
        let ms = [
            meta(1, 0, 6 * H),
            meta(2, 6 * H, 12 * H),
            meta(3, 12 * H, 18 * H),
            meta(4, 18 * H, 20 * H),
        ];
        assert_eq!(ids(&plan(&ms, &r)), [1, 2, 3]);
    }

    #[test]
    fn merge_dedups_levels_up_and_replaces_sources() {
        let dir = tempfile::tempdir().unwrap();
        let a = Labels::from_pairs([("__name__", "a")]);
        let b = Labels::from_pairs([("__name__", "b")]);
        let s = |ts: &[i64]| {
            ts.iter()
                .map(|&t| Sample { t, v: t as f64 })
                .collect::<Vec<_>>()
        };
        let (a1, a2, bs) = (s(&[1, 2, 3]), s(&[3, 4, 5]), s(&[10, 11]));
        let m1 = write_block(dir.path(), 0, 10, [(&a, a1.as_slice())])
            .unwrap()
            .unwrap();
        let m2 = write_block(
            dir.path(),
            3,
            20,
            [(&a, a2.as_slice()), (&b, bs.as_slice())],
        )
        .unwrap()
        .unwrap();
        let b1 = Block::open(&dir.path().join(m1.ulid.to_string())).unwrap();
        let b2 = Block::open(&dir.path().join(m2.ulid.to_string())).unwrap();
        let meta = compact(dir.path(), &[&b1, &b2]).unwrap().unwrap();
        assert!(!dir.path().join(m1.ulid.to_string()).exists());
        assert!(!dir.path().join(m2.ulid.to_string()).exists());
        assert_eq!(
            (meta.min_time, meta.max_time, meta.compaction.level),
            (0, 20, 2)
        );
        let mut want_sources = vec![m1.ulid, m2.ulid];
        want_sources.sort();
        assert_eq!(meta.compaction.sources, want_sources);
        assert_eq!(meta.compaction.parents, [m1.desc(), m2.desc()]);
        let merged = Block::open(&dir.path().join(meta.ulid.to_string())).unwrap();
        let got = merged.select(&[], i64::MIN, i64::MAX);
        assert_eq!(got[0].samples, s(&[1, 2, 3, 4, 5]));
        assert_eq!(got[1].samples, bs);
        assert_eq!(merged.meta().stats.num_samples, 7);
    }
}
