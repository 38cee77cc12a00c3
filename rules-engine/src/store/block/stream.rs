//! [`Querier::select_each`] over the head and the blocks: series handed
//! out one at a time, so a query reducing them (an aggregation of a range
//! function) holds one series' samples at a time instead of every
//! selected series' samples over the whole range (weeks of them).
//!
//! Each block lists its series in label order, so the blocks' series are
//! merged like sorted lists: the smallest label set among the blocks'
//! current series is read from every block holding it, merged in time
//! with the head's samples of that series, and handed out. The head (a
//! few hours, in memory) is selected whole first and looked up by labels;
//! its series no block holds follow at the end, in the head's order.
//!
//! A block that fails a read (a chunk checksum) is recorded as
//! [`Block::select`] records it and left out from there on; what was
//! already handed out keeps its samples.

use std::collections::HashMap;
use std::ops::ControlFlow;

use super::error::BlockError;
use super::index::ChunkMeta;
use super::merge::merge_samples;
use super::reader::Block;
use crate::model::{Labels, Matcher, Sample};
use crate::store::select::select_postings;
use crate::store::{Querier, SeriesSamples};

/// One block's position in its matching series.
struct Cursor<'a> {
    block: &'a Block,
    ids: std::vec::IntoIter<u64>,
    /// The current series: id, labels, chunks.
    current: Option<(u64, Labels, Vec<ChunkMeta>)>,
}

impl Cursor<'_> {
    fn advance(&mut self) -> Result<(), BlockError> {
        self.current = match self.ids.next() {
            Some(id) => {
                let (labels, chunks) = self.block.index().series(id)?;
                Some((id, labels, chunks))
            }
            None => None,
        };
        Ok(())
    }
}

/// Hands every series of `head` and `blocks` (newest first: the first
/// holder of a timestamp wins) matching `matchers` with samples in
/// `[mint, maxt]` to `each`, until it breaks.
pub fn select_each(
    head: &dyn Querier,
    blocks: &[&Block],
    matchers: &[Matcher],
    mint: i64,
    maxt: i64,
    each: &mut dyn FnMut(SeriesSamples) -> ControlFlow<()>,
) {
    let mut head_order: Vec<Labels> = Vec::new();
    let mut in_head: HashMap<Labels, Vec<Sample>> = HashMap::new();
    for s in head.select(matchers, mint, maxt) {
        head_order.push(s.labels.clone());
        in_head.insert(s.labels, s.samples);
    }
    let mut cursors: Vec<Cursor<'_>> = Vec::new();
    for &block in blocks.iter().filter(|b| b.overlaps(mint, maxt)) {
        let mut c = Cursor {
            block,
            ids: select_postings(block.index(), matchers).into_iter(),
            current: None,
        };
        match c.advance() {
            Ok(()) => cursors.push(c),
            Err(e) => block.record_failure(e),
        }
    }
    let flow = merge_blocks(&mut cursors, &mut in_head, mint, maxt, each);
    for b in blocks {
        b.release();
    }
    if flow.is_break() {
        return;
    }
    for labels in head_order {
        if let Some(samples) = in_head.remove(&labels)
            && each(SeriesSamples { labels, samples }).is_break()
        {
            return;
        }
    }
}

/// The blocks' series in label order, each merged with its head part.
fn merge_blocks(
    cursors: &mut Vec<Cursor<'_>>,
    in_head: &mut HashMap<Labels, Vec<Sample>>,
    mint: i64,
    maxt: i64,
    each: &mut dyn FnMut(SeriesSamples) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut holders: Vec<usize> = Vec::new();
    loop {
        cursors.retain(|c| c.current.is_some());
        // The blocks whose current series has the smallest labels.
        holders.clear();
        for (i, c) in cursors.iter().enumerate() {
            let Some((_, labels, _)) = &c.current else {
                continue;
            };
            match holders.first().and_then(|&h| cursors[h].current.as_ref()) {
                Some((_, min, _)) if labels > min => {}
                Some((_, min, _)) if labels == min => holders.push(i),
                _ => {
                    holders.clear();
                    holders.push(i);
                }
            }
        }
        let Some(&first) = holders.first() else {
            return ControlFlow::Continue(());
        };
        let labels = cursors[first]
            .current
            .as_ref()
            .map(|(_, l, _)| l.clone())
            .unwrap_or_default();
        let mut lists: Vec<Vec<Sample>> = Vec::with_capacity(holders.len() + 1);
        if let Some(h) = in_head.remove(&labels) {
            lists.push(h);
        }
        for &i in &holders {
            let c = &mut cursors[i];
            let read = match &c.current {
                Some((id, _, chunks)) => c.block.read_samples(*id, chunks, mint, maxt),
                None => Ok(Vec::new()),
            };
            let advanced = read.and_then(|samples| {
                lists.push(samples);
                c.advance()
            });
            if let Err(e) = advanced {
                c.block.record_failure(e);
                c.current = None;
            }
        }
        let samples = merge_samples(lists);
        if !samples.is_empty() && each(SeriesSamples { labels, samples }).is_break() {
            return ControlFlow::Break(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::block::tests::sample_series;
    use crate::store::block::{MergeQuerier, write_block};
    use crate::store::{Appender, Head, HeadOptions};

    /// The sample series cut into three blocks by time (the middle one
    /// overlapping its neighbours, some series missing from some blocks),
    /// a head holding the newest samples again plus a series of its own.
    fn stores(dir: &std::path::Path) -> (Arc<Head>, Vec<Block>) {
        let series = sample_series();
        let cuts = [
            (0, 1_500_000),
            (1_200_000, 3_000_000),
            (3_000_000, 10_000_000),
        ];
        let mut blocks = Vec::new();
        for (k, &(lo, hi)) in cuts.iter().enumerate() {
            let parts: Vec<(Labels, Vec<Sample>)> = series
                .iter()
                .enumerate()
                .filter(|(i, _)| (i + k) % 4 != 0)
                .map(|(_, (l, s))| {
                    let s = s
                        .iter()
                        .copied()
                        .filter(|x| x.t >= lo && x.t < hi)
                        .collect();
                    (l.clone(), s)
                })
                .collect();
            let meta = write_block(dir, lo, hi, parts.iter().map(|(l, s)| (l, s.as_slice())))
                .unwrap()
                .unwrap();
            blocks.push(Block::open(&dir.join(meta.ulid.to_string())).unwrap());
        }
        let head = Arc::new(Head::new(HeadOptions::unlimited()));
        for (l, s) in series.iter().step_by(3) {
            for x in &s[280..] {
                head.append(l, x.t, x.v).unwrap();
            }
        }
        let own = Labels::from_pairs([("__name__", "a_total"), ("instance", "head")]);
        head.append(&own, 4_000_000, 1.0).unwrap();
        (head, blocks)
    }

    fn collect(
        head: &Head,
        blocks: &[&Block],
        ms: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Vec<SeriesSamples> {
        let mut out = Vec::new();
        select_each(head, blocks, ms, mint, maxt, &mut |s| {
            out.push(s);
            ControlFlow::Continue(())
        });
        out
    }

    #[test]
    fn streams_what_the_merge_querier_selects() {
        let dir = tempfile::tempdir().unwrap();
        let (head, blocks) = stores(dir.path());
        let newest_first: Vec<&Block> = blocks.iter().rev().collect();
        let merged = MergeQuerier::new(
            std::iter::once(head.clone() as Arc<dyn Querier>)
                .chain(
                    blocks
                        .iter()
                        .rev()
                        .map(|b| Arc::new(Block::open(b.dir()).unwrap()) as Arc<dyn Querier>),
                )
                .collect(),
        );
        let windows = [
            (i64::MIN, i64::MAX),
            (1_000_000, 3_500_000),
            (2_000_000, 2_100_000),
            (9_000_000, 9_999_999),
        ];
        let selections = [
            vec![],
            vec![Matcher::equal("__name__", "a_total")],
            vec![Matcher::not_equal("instance", "i1")],
        ];
        for (mint, maxt) in windows {
            for ms in &selections {
                let mut want = merged.select(ms, mint, maxt);
                want.sort_by(|a, b| a.labels.cmp(&b.labels));
                let got = collect(&head, &newest_first, ms, mint, maxt);
                // Blocks' series come in label order, then the head's own.
                let mut sorted = got.clone();
                sorted.sort_by(|a, b| a.labels.cmp(&b.labels));
                assert_eq!(sorted, want, "{ms:?} in {mint}..{maxt}");
                let from_blocks = got
                    .iter()
                    .take_while(|s| s.labels.get("instance") != Some("head"));
                assert!(
                    from_blocks
                        .clone()
                        .zip(from_blocks.skip(1))
                        .all(|(a, b)| a.labels < b.labels)
                );
            }
        }
    }

    #[test]
    fn stops_when_told_and_leaves_a_damaged_block_out() {
        let dir = tempfile::tempdir().unwrap();
        let (head, blocks) = stores(dir.path());
        let newest_first: Vec<&Block> = blocks.iter().rev().collect();
        let mut seen = 0;
        select_each(
            head.as_ref(),
            &newest_first,
            &[],
            i64::MIN,
            i64::MAX,
            &mut |_| {
                seen += 1;
                if seen == 2 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        assert_eq!(seen, 2);

        // Damage every chunk of the oldest block: its samples are left out,
        // the failure is recorded, the others still answer.
        let seg = blocks[0].dir().join("chunks/000001");
        let mut bytes = std::fs::read(&seg).unwrap();
        for b in bytes.iter_mut().skip(8) {
            *b ^= 0x55;
        }
        std::fs::write(&seg, &bytes).unwrap();
        let damaged = Block::open(blocks[0].dir()).unwrap();
        let with_damage: Vec<&Block> = vec![&blocks[2], &blocks[1], &damaged];
        let got = collect(&head, &with_damage, &[], i64::MIN, i64::MAX);
        assert!(damaged.failure().is_some(), "the damage is recorded");
        let undamaged: Vec<&Block> = vec![&blocks[2], &blocks[1]];
        let want = collect(&head, &undamaged, &[], i64::MIN, i64::MAX);
        assert_eq!(got, want);
    }
}
